/* kinesis.c — the Kinesis client: settings, one connection, SigV4 on every
 * request, retries in the AWS standard mode, and failures typed from the
 * service's __type (JSON 1.1 protocol).  The typed operations live in
 * kinesis_ops.c (control plane) and kinesis_data.c (records), bodies and
 * response checks in kinesis_body.c. */
#include "kinesis.h"
#include "kinesis_int.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define SERVICE "kinesis"
#define TARGET_PREFIX "Kinesis_20131202."
#define CONTENT_TYPE "application/x-amz-json-1.1"
#define MAX_TOKENS (1 << 18)          /* 10 000 records at ~14 tokens each */
#define MAX_REQUEST (8u << 20)        /* PutRecords: 5 MiB of data, base64 */
#define MAX_RESPONSE (32u << 20)      /* GetRecords: 10 MiB of data, base64 */

/* Host header and path from "scheme://host[:port][/path]"; the default
 * port is dropped, as the SDKs do before signing. */
static int
parse_endpoint(struct kin_client *c, const char *ep, char *err)
{
	const char *rest, *slash;
	size_t hl, pl;
	int https;

	if (strncasecmp(ep, "https://", 8) == 0) {
		https = 1;
		rest = ep + 8;
	} else if (strncasecmp(ep, "http://", 7) == 0) {
		https = 0;
		rest = ep + 7;
	} else {
		return kin_seterr(err, "endpoint '%s': not an http(s) URL", ep);
	}
	slash = strchr(rest, '/');
	hl = slash ? (size_t)(slash - rest) : strlen(rest);
	if (hl == 0 || strcspn(rest, "@?#") < strlen(rest))
		return kin_seterr(err, "endpoint '%s': want scheme://host[:port]"
		    "[/path]", ep);
	if (https && hl > 4 && memcmp(rest + hl - 4, ":443", 4) == 0)
		hl -= 4;
	else if (!https && hl > 3 && memcmp(rest + hl - 3, ":80", 3) == 0)
		hl -= 3;
	pl = slash ? strlen(slash) : 0;
	while (pl > 1 && slash[pl - 1] == '/')
		pl--;
	if (hl >= sizeof c->host || pl + 2 >= sizeof c->path)
		return kin_seterr(err, "endpoint '%s': too long", ep);
	memcpy(c->host, rest, hl);
	c->host[hl] = '\0';
	if (pl == 0 || (pl == 1 && slash[0] == '/')) {
		memcpy(c->path, "/", 2);
	} else {
		memcpy(c->path, slash, pl);
		c->path[pl] = '\0';
	}
	if ((size_t)snprintf(c->url, sizeof c->url, "%s://%s%s",
	    https ? "https" : "http", c->host, c->path) >= sizeof c->url)
		return kin_seterr(err, "endpoint '%s': too long", ep);
	return 0;
}

/* host[:port] of the endpoint: 127.0.0.0/8, [::1] or localhost. */
static int
loopback_host(const char *host)
{
	size_t n = strcspn(host, host[0] == '[' ? "]" : ":");

	if (host[0] == '[')
		return strncmp(host, "[::1]", 5) == 0;
	return (n == 9 && strncmp(host, "localhost", 9) == 0) ||
	    (n >= 4 && strncmp(host, "127.", 4) == 0 &&
	    strspn(host, "0123456789.") == n);
}

static int
client_setup(struct kin_client *c, struct kin_aws *aws, char *err)
{
	struct kin_http_cfg hc;

	c->aws = aws;
	if (parse_endpoint(c, aws->endpoint, err) < 0)
		return -1;
	memset(&hc, 0, sizeof hc);
	hc.connect_timeout_ms = 2000;
	hc.timeout_ms = 15000;
	hc.max_body = MAX_RESPONSE;
	hc.ca_bundle = aws->ca_bundle;
	if (aws->no_verify_ssl) {
		if (!loopback_host(c->host))
			return kin_seterr(err, "--no-verify-ssl: endpoint '%s' "
			    "is not a loopback address; certificates are "
			    "always verified elsewhere", aws->endpoint);
		hc.no_verify = 1;
	}
	if (kin_http_init(&c->http, &hc, err) < 0)
		return -1;
	kin_sigv4_cache_init(&c->sig);
	kin_retry_init(&c->retry, aws->max_attempts,
	    (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)(uintptr_t)c);
	kin_json_init(&c->json, MAX_TOKENS);
	kin_buf_init(&c->body, MAX_REQUEST);
	kin_buf_init(&c->resp, MAX_RESPONSE);
	return 0;
}

int
kin_client_init_service(struct kin_client *c, const struct kin_cli *cli,
    const char *service, const char *target_prefix, const char *content_type,
    const char *endpoint, char *err)
{
	struct kin_aws *aws;

	memset(c, 0, sizeof *c);
	c->service = service;
	c->target_prefix = target_prefix;
	c->content_type = content_type;
	if ((aws = calloc(1, sizeof *aws)) == NULL)
		return kin_seterr(err, "%s: out of memory", service);
	if (kin_aws_init(aws, service, cli ? cli->region : NULL, endpoint,
	    cli ? cli->profile : NULL, err) < 0) {
		free(aws);
		return -1;
	}
	c->owns_aws = 1;
	aws->no_verify_ssl = cli != NULL && cli->no_verify_ssl;
	if (client_setup(c, aws, err) < 0) {
		kin_client_release(c);
		return -1;
	}
	return 0;
}

int
kin_client_init(struct kin_client *c, const struct kin_cli *cli, char *err)
{
	return kin_client_init_service(c, cli, SERVICE, TARGET_PREFIX,
	    CONTENT_TYPE, cli ? cli->endpoint : NULL, err);
}

int
kin_client_clone(struct kin_client *dst, const struct kin_client *src,
    char *err)
{
	memset(dst, 0, sizeof *dst);
	if (client_setup(dst, src->aws, err) < 0) {
		kin_client_release(dst);
		return -1;
	}
	dst->fixed_now = src->fixed_now;
	dst->service = src->service;
	dst->target_prefix = src->target_prefix;
	dst->content_type = src->content_type;
	kin_client_set_trace(dst, src->verbose, src->trace, src->trace_ctx);
	return 0;
}

void
kin_client_release(struct kin_client *c)
{
	kin_http_release(&c->http);
	kin_json_release(&c->json);
	kin_buf_release(&c->body);
	kin_buf_release(&c->resp);
	if (c->owns_aws && c->aws != NULL) {
		kin_aws_release(c->aws);
		free(c->aws);
	}
	c->aws = NULL;
	c->owns_aws = 0;
}

void
kin_client_set_trace(struct kin_client *c, int verbose, kin_trace_fn fn,
    void *ctx)
{
	c->verbose = fn != NULL ? verbose : 0;
	c->trace = fn;
	c->trace_ctx = ctx;
	c->http.cfg.trace = c->verbose >= 2 ? fn : NULL;
	c->http.cfg.trace_ctx = ctx;
	c->http.cfg.trace_headers = c->verbose >= 3;
}

int
kin_client_sign(struct kin_client *c, const char *op, const void *body,
    size_t len, struct kin_header *hdr, size_t *n, struct kin_buf *store,
    char *err)
{
	struct kin_creds cr;
	struct kin_sigv4_out out;
	struct kin_sigv4_req req;
	struct kin_header in[3];
	size_t off_target, off_date, off_token = 0, off_auth;
	const char *service = c->service ? c->service : SERVICE;
	const char *prefix = c->target_prefix ? c->target_prefix : TARGET_PREFIX;
	const char *ctype = c->content_type ? c->content_type : CONTENT_TYPE;
	int rc = -1;

	memset(&cr, 0, sizeof cr);
	if (kin_aws_creds(c->aws, &cr, err) < 0)
		return -1;
	kin_sigv4_out_init(&out);
	kin_buf_reset(store);
	/* every string goes into store first: it may move while it grows */
	off_target = store->len;
	if (kin_buf_adds(store, prefix, err) < 0 ||
	    kin_buf_adds(store, op, err) < 0 ||
	    kin_buf_addc(store, '\0', err) < 0)
		goto out;
	in[0].name = "Host";
	in[0].value = c->host;
	in[1].name = "Content-Type";
	in[1].value = ctype;
	in[2].name = "X-Amz-Target";
	in[2].value = store->p + off_target;
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.path = c->path;
	req.headers = in;
	req.nheaders = 3;
	req.payload = body;
	req.payload_len = len;
	req.normalize_path = 1;
	if (kin_sigv4_sign(&req, &cr, c->aws->region, service,
	    c->fixed_now ? c->fixed_now : (long long)time(NULL), &c->sig, &out,
	    err) < 0)
		goto out;
	off_date = store->len;
	if (kin_buf_add(store, out.amz_date, strlen(out.amz_date) + 1, err) < 0)
		goto out;
	if (cr.token != NULL && *cr.token != '\0') {
		off_token = store->len;
		if (kin_buf_add(store, cr.token, strlen(cr.token) + 1, err) < 0)
			goto out;
	}
	off_auth = store->len;
	if (kin_buf_add(store, out.authorization.p, out.authorization.len + 1,
	    err) < 0)
		goto out;
	*n = 0;
	hdr[(*n)++] = (struct kin_header){ "Host", c->host };
	hdr[(*n)++] = (struct kin_header){ "Content-Type", ctype };
	hdr[(*n)++] = (struct kin_header){ "X-Amz-Target", store->p + off_target };
	hdr[(*n)++] = (struct kin_header){ "X-Amz-Date", store->p + off_date };
	if (off_token != 0)
		hdr[(*n)++] = (struct kin_header){ "X-Amz-Security-Token",
		    store->p + off_token };
	hdr[(*n)++] = (struct kin_header){ "Authorization", store->p + off_auth };
	rc = 0;
out:
	kin_sigv4_out_release(&out);
	kin_creds_release(&cr);
	return rc;
}

static void
copy_trunc(char *dst, size_t n, const char *s, size_t len)
{
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* "Op('subject'): " into err-sized buffer p */
static void
what(char *p, size_t n, const char *op, const char *subject)
{
	if (subject != NULL)
		snprintf(p, n, "%s('%s')", op, subject);
	else
		snprintf(p, n, "%s", op);
}

/* __type and message of an error body; j may be NULL. */
static void
error_fields(struct kin_json *j, const char *body, size_t len, char *type,
    size_t tn, char *msg, size_t mn)
{
	struct kin_json local;
	struct kin_buf b;
	int t, own = j == NULL;

	if (len == 0 || body == NULL)
		return;
	if (own) {
		kin_json_init(&local, 256);
		j = &local;
	}
	if (kin_json_parse(j, body, len, NULL) == 0 && j->ntok > 0 &&
	    j->tok[0].type == JSMN_OBJECT) {
		kin_buf_init(&b, 4096);
		if ((t = kin_json_get(j, 0, "__type")) >= 0 &&
		    kin_json_str(j, t, &b, NULL) == 0 && b.len > 0) {
			const char *h = strrchr(b.p, '#');
			const char *s = h ? h + 1 : b.p;
			copy_trunc(type, tn, s, strlen(s));
		}
		kin_buf_reset(&b);
		if (((t = kin_json_get(j, 0, "message")) >= 0 ||
		    (t = kin_json_get(j, 0, "Message")) >= 0) &&
		    j->tok[t].type == JSMN_STRING &&
		    kin_json_str(j, t, &b, NULL) == 0)
			copy_trunc(msg, mn, b.p ? b.p : "", b.len);
		kin_buf_release(&b);
	} else {
		/* not JSON (a proxy's HTML page): its first line says enough */
		size_t k = 0;
		while (k < len && k < 120 && body[k] != '\n' && body[k] != '\r')
			k++;
		copy_trunc(msg, mn, body, k);
	}
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (own)
		kin_json_release(&local);
}

static int
check(struct kin_json *j, const char *op, const char *subject, long status,
    const char *errortype, const char *body, size_t len,
    struct kin_awserr *ae, char *err)
{
	char w[256];

	ae->status = status;
	ae->type[0] = ae->message[0] = '\0';
	if (status >= 200 && status < 300) {
		ae->kind = KIN_AWS_OK;
		return 0;
	}
	error_fields(j, body, len, ae->type, sizeof ae->type, ae->message,
	    sizeof ae->message);
	if (ae->type[0] == '\0' && errortype != NULL && *errortype != '\0') {
		const char *h = strrchr(errortype, '#');
		const char *s = h ? h + 1 : errortype;
		copy_trunc(ae->type, sizeof ae->type, s, strlen(s));
	}
	ae->kind = kin_aws_classify(status, ae->type);
	what(w, sizeof w, op, subject);
	if (ae->type[0] != '\0')
		kin_seterr(err, "%s: %s%s%s", w, ae->type,
		    ae->message[0] ? ": " : "", ae->message);
	else
		kin_seterr(err, "%s: HTTP %ld%s%s", w, status,
		    ae->message[0] ? ": " : "", ae->message);
	return -1;
}

int
kin_client_check(const char *op, long status, const char *errortype,
    const char *body, size_t len, struct kin_awserr *ae, char *err)
{
	struct kin_awserr tmp;

	if (ae == NULL)
		ae = &tmp;
	memset(ae, 0, sizeof *ae);
	return check(NULL, op, NULL, status, errortype, body, len, ae, err);
}

static enum kin_aws_kind
fail_kind(enum kin_http_fail f)
{
	switch (f) {
	case KIN_HTTP_FAIL_CONNECT:
	case KIN_HTTP_FAIL_IO:
		return KIN_AWS_TRANSPORT;
	case KIN_HTTP_FAIL_TIMEOUT:
		return KIN_AWS_TIMEOUT;
	case KIN_HTTP_FAIL_TLS:
		return KIN_AWS_CONFIG;
	default:
		return KIN_AWS_OTHER;
	}
}

static void
err_append(char *err, const char *s)
{
	size_t n = strlen(err), k = strlen(s);

	if (k > KIN_ERRLEN - 1 - n)
		k = KIN_ERRLEN - 1 - n;
	memcpy(err + n, s, k);
	err[n + k] = '\0';
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
trace(struct kin_client *c, const char *line)
{
	char out[1024];

	kin_redact(line, out, sizeof out);
	c->trace(c->trace_ctx, out);
}

/* A whole answer that is not a JSON object (garbled on the way, or cut
 * short with a length that matched): 1 if it is one, else 0 with ae as a
 * transport failure, so that it is asked again. */
static int
json_object(struct kin_client *c, const char *op, const char *subject,
    const struct kin_buf *body, struct kin_awserr *ae, char *err)
{
	char e2[KIN_ERRLEN];

	if (kin_json_parse(&c->json, body->p ? body->p : "", body->len,
	    e2) == 0 && c->json.ntok > 0 && c->json.tok[0].type == JSMN_OBJECT)
		return 1;
	if (c->json.ntok > 0 && c->json.tok[0].type != JSMN_OBJECT)
		snprintf(e2, sizeof e2, "not a JSON object");
	(void)kin_bad_response(op, subject, e2, ae, err);
	ae->status = 200;
	return 0;
}

int
kin_call_ex(struct kin_client *c, const char *op, const char *subject,
    int flags, const char *body, size_t len, struct kin_buf *resp,
    struct kin_awserr *ae, char *err)
{
	struct kin_awserr tmp;
	struct kin_header hdr[8];
	struct kin_http_resp r;
	struct kin_buf store;
	enum kin_http_fail fail;
	char w[256], e2[KIN_ERRLEN];
	char errlocal[KIN_ERRLEN];
	size_t nh;
	int spent = 0, rc = -1, attempt;

	if (err == NULL)
		err = errlocal;
	if (ae == NULL)
		ae = &tmp;
	memset(ae, 0, sizeof *ae);
	kin_buf_init(&store, 64 * 1024);
	memset(&r, 0, sizeof r);
	r.body = *resp;   /* the caller's buffer, moved in and back out */
	what(w, sizeof w, op, subject);
	for (attempt = 1;; attempt++) {
		ae->attempts = attempt;
		if (kin_client_sign(c, op, body, len, hdr, &nh, &store, e2) < 0) {
			ae->kind = KIN_AWS_CONFIG;
			ae->status = 0;
			kin_seterr(err, "%s: %s", w, e2);
			break;
		}
		if (kin_http_do(&c->http, "POST", c->url, hdr, nh, body, len, &r,
		    &fail, e2) < 0) {
			ae->kind = fail_kind(fail);
			ae->status = 0;
			ae->type[0] = '\0';
			/* a caller can ask for less (GetRecords' Limit) */
			if (fail == KIN_HTTP_FAIL_TOOBIG)
				snprintf(ae->type, sizeof ae->type,
				    "ResponseTooLarge");
			copy_trunc(ae->message, sizeof ae->message, e2,
			    strlen(e2));
			kin_seterr(err, "%s: %s", w, e2);
		} else if (check(&c->json, op, subject, r.status, r.errortype,
		    r.body.p, r.body.len, ae, err) == 0 &&
		    ((flags & KIN_CALL_JSON) == 0 ||
		    json_object(c, op, subject, &r.body, ae, err))) {
			if (spent > 0)
				kin_retry_refund(&c->retry, spent);
			else
				kin_retry_success(&c->retry);
			rc = 0;
			break;
		}
		if (!kin_aws_retryable(ae->kind) ||
		    ((flags & KIN_CALL_NO_THROTTLE_RETRY) &&
		    (ae->kind == KIN_AWS_THROTTLED || ae->kind == KIN_AWS_LIMIT)))
			break;
		if (attempt >= c->retry.max_attempts)
			break;
		int cost = kin_retry_acquire(&c->retry, ae->kind);
		if (cost == 0) {
			err_append(err, " (retry quota used up)");
			break;
		}
		spent += cost;
		int64_t delay = kin_retry_delay_ms(&c->retry, ae->kind, attempt);
		if (c->trace != NULL && c->verbose >= 1) {
			char line[KIN_ERRLEN + 80];
			snprintf(line, sizeof line, "%s; retry %d of %d in %lld ms",
			    err, attempt, c->retry.max_attempts - 1,
			    (long long)delay);
			trace(c, line);
		}
		sleep_ms(delay);
	}
	if (rc < 0 && attempt > 1) {
		snprintf(e2, sizeof e2, " (after %d attempts)", attempt);
		err_append(err, e2);
	}
	*resp = r.body;
	kin_buf_release(&store);
	return rc;
}

int
kin_call(struct kin_client *c, const char *op, const char *body, size_t len,
    struct kin_buf *resp, struct kin_awserr *ae, char *err)
{
	return kin_call_ex(c, op, NULL, KIN_CALL_JSON, body, len, resp, ae,
	    err);
}

int
kin_exit_status(const struct kin_awserr *ae)
{
	if (ae == NULL)
		return KIN_EX_SOFTWARE;
	switch (ae->kind) {
	case KIN_AWS_OK:
		return KIN_EX_OK;
	case KIN_AWS_NOT_FOUND:
	case KIN_AWS_ACCESS:
	case KIN_AWS_KMS:
	case KIN_AWS_CONFIG:
		return KIN_EX_CONFIG;
	case KIN_AWS_IN_USE:
	case KIN_AWS_EXPIRED_ITERATOR:
		return KIN_EX_TEMPFAIL;
	case KIN_AWS_VALIDATION:
		return KIN_EX_DATAERR;
	case KIN_AWS_THROTTLED:
	case KIN_AWS_LIMIT:
	case KIN_AWS_INTERNAL:
	case KIN_AWS_TRANSPORT:
	case KIN_AWS_TIMEOUT:
	case KIN_AWS_OTHER:
		return KIN_EX_UNAVAILABLE;
	}
	return KIN_EX_UNAVAILABLE;
}
