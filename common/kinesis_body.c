/* kinesis_body.c — request bodies built by direct appends, and the
 * checks every typed operation makes on a response before reading it. */
#include "kinesis.h"
#include "kinesis_int.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

static void
copy_trunc(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

static int
body_key(struct kin_buf *b, const char *key, char *err)
{
	if (b->len == 0) {
		if (kin_buf_addc(b, '{', err) < 0)
			return -1;
	} else if (b->p[b->len - 1] != '{' && kin_buf_addc(b, ',', err) < 0) {
		return -1;
	}
	if (kin_buf_addc(b, '"', err) < 0 || kin_buf_adds(b, key, err) < 0 ||
	    kin_buf_add(b, "\":", 2, err) < 0)
		return -1;
	return 0;
}

int
kin_body_str(struct kin_buf *b, const char *key, const char *val, char *err)
{
	if (body_key(b, key, err) < 0)
		return -1;
	return kin_json_put_str(b, val, strlen(val), err);
}

int
kin_body_int(struct kin_buf *b, const char *key, long long v, char *err)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%lld", v);

	if (body_key(b, key, err) < 0)
		return -1;
	return kin_buf_add(b, num, (size_t)n, err);
}

int
kin_body_raw(struct kin_buf *b, const char *key, const char *raw, char *err)
{
	if (body_key(b, key, err) < 0)
		return -1;
	return kin_buf_adds(b, raw, err);
}

int
kin_body_end(struct kin_buf *b, char *err)
{
	if (b->len == 0 && kin_buf_addc(b, '{', err) < 0)
		return -1;
	return kin_buf_addc(b, '}', err);
}

int
kin_resp_json(struct kin_client *c, const char *op, const char *subject,
    struct kin_awserr *ae, char *err)
{
	char e2[KIN_ERRLEN];

	if (kin_json_parse(&c->json, c->resp.p ? c->resp.p : "", c->resp.len,
	    e2) == 0 && c->json.ntok > 0 && c->json.tok[0].type == JSMN_OBJECT)
		return 0;
	if (c->json.ntok > 0 && c->json.tok[0].type != JSMN_OBJECT)
		snprintf(e2, sizeof e2, "not a JSON object");
	return kin_bad_response(op, subject, e2, ae, err);
}

int
kin_bad_response(const char *op, const char *subject, const char *why,
    struct kin_awserr *ae, char *err)
{
	char w[256];

	if (subject != NULL)
		snprintf(w, sizeof w, "%s('%s')", op, subject);
	else
		snprintf(w, sizeof w, "%s", op);
	if (ae != NULL) {
		ae->kind = KIN_AWS_TRANSPORT;
		snprintf(ae->type, sizeof ae->type, "%s", "BadResponse");
		copy_trunc(ae->message, sizeof ae->message, why, strlen(why));
	}
	return kin_seterr(err, "%s: bad response: %s", w, why);
}

int
kin_field_dup(const struct kin_json *j, int obj, const char *key, char **out,
    char *err)
{
	int t = kin_json_get(j, obj, key);

	*out = NULL;
	if (t < 0 || j->tok[t].type == JSMN_PRIMITIVE)   /* absent or null */
		return 0;
	if (j->tok[t].type != JSMN_STRING)
		return kin_seterr(err, "%s is not a string", key);
	if ((*out = kin_json_strdup(j, t, err)) == NULL)
		return -1;
	return 0;
}

int
kin_field_int(const struct kin_json *j, int obj, const char *key,
    int64_t *out)
{
	int t = kin_json_get(j, obj, key);

	if (t < 0 || j->tok[t].type != JSMN_PRIMITIVE)
		return -1;
	return kin_json_int64(j, t, out, NULL);
}
