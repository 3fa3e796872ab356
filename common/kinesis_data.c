/* kinesis_data.c — the data-plane calls: shard iterators, GetRecords and
 * PutRecords.  These run at hundreds of thousands of records a second, so
 * bodies are built by direct appends and responses parsed in one pass. */
#include "kinesis.h"
#include "kinesis_int.h"
#include "base64.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MAX (64u << 20)

int
kin_get_shard_iterator(struct kin_client *c, const char *stream,
    const char *shard, const char *type, const char *seq, int64_t ts_ms,
    char **iter, struct kin_awserr *ae, char *err)
{
	char e2[KIN_ERRLEN], ts[32];

	*iter = NULL;
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_str(&c->body, "ShardId", shard, err) < 0 ||
	    kin_body_str(&c->body, "ShardIteratorType", type, err) < 0)
		return -1;
	if (seq != NULL && strstr(type, "SEQUENCE") != NULL &&
	    kin_body_str(&c->body, "StartingSequenceNumber", seq, err) < 0)
		return -1;
	if (strcmp(type, "AT_TIMESTAMP") == 0) {
		/* epoch seconds with the milliseconds as a fraction */
		int64_t s = ts_ms / 1000, ms = ts_ms % 1000;
		if (ms < 0) {
			ms += 1000;
			s--;
		}
		snprintf(ts, sizeof ts, "%lld.%03lld", (long long)s,
		    (long long)ms);
		if (kin_body_raw(&c->body, "Timestamp", ts, err) < 0)
			return -1;
	}
	if (kin_body_end(&c->body, err) < 0)
		return -1;
	if (kin_call_ex(c, "GetShardIterator", shard, KIN_CALL_JSON, c->body.p,
	    c->body.len, &c->resp, ae, err) < 0 ||
	    kin_resp_json(c, "GetShardIterator", shard, ae, err) < 0)
		return -1;
	if (kin_field_dup(&c->json, 0, "ShardIterator", iter, e2) < 0)
		return kin_bad_response("GetShardIterator", shard, e2, ae, err);
	if (*iter == NULL)
		return kin_bad_response("GetShardIterator", shard,
		    "no ShardIterator", ae, err);
	return 0;
}

void
kin_records_init(struct kin_records *o)
{
	memset(o, 0, sizeof *o);
	o->millis_behind = -1;
	kin_buf_init(&o->store, STORE_MAX);
}

static void
children_free(struct kin_records *o)
{
	for (size_t i = 0; i < o->nchildren; i++) {
		free(o->children[i].id);
		for (size_t k = 0; k < o->children[i].nparents; k++)
			free(o->children[i].parents[k]);
		free(o->children[i].parents);
	}
	free(o->children);
	o->children = NULL;
	o->nchildren = 0;
}

/* Empty o, keeping the record array and the store for the next page. */
static void
records_clear(struct kin_records *o)
{
	children_free(o);
	free(o->next_iter);
	o->next_iter = NULL;
	o->n = 0;
	o->millis_behind = -1;
	kin_buf_reset(&o->store);
}

void
kin_records_release(struct kin_records *o)
{
	records_clear(o);
	free(o->r);
	kin_buf_release(&o->store);
	memset(o, 0, sizeof *o);
	o->millis_behind = -1;
}

static int
parse_children(const struct kin_json *j, int arr, struct kin_records *o,
    char *err)
{
	int t = arr + 1;

	/* kinesis-mock sends "ChildShards":null for "none" */
	if (j->tok[arr].type == JSMN_PRIMITIVE &&
	    j->tok[arr].end - j->tok[arr].start == 4 &&
	    memcmp(j->js + j->tok[arr].start, "null", 4) == 0)
		return 0;
	if (j->tok[arr].type != JSMN_ARRAY)
		return kin_seterr(err, "ChildShards is not an array");
	if (j->tok[arr].size == 0)
		return 0;
	o->children = calloc((size_t)j->tok[arr].size, sizeof *o->children);
	if (o->children == NULL)
		return kin_seterr(err, "out of memory");
	for (int k = 0; k < j->tok[arr].size; k++, t = kin_json_skip(j, t)) {
		struct kin_child_shard *ch = &o->children[o->nchildren++];
		int p, q;
		if (j->tok[t].type != JSMN_OBJECT)
			return kin_seterr(err, "a child shard is not an object");
		if (kin_field_dup(j, t, "ShardId", &ch->id, err) < 0)
			return -1;
		if (ch->id == NULL)
			return kin_seterr(err, "a child shard has no ShardId");
		p = kin_json_get(j, t, "ParentShards");
		if (p < 0 || j->tok[p].type != JSMN_ARRAY || j->tok[p].size == 0)
			continue;
		ch->parents = calloc((size_t)j->tok[p].size, sizeof *ch->parents);
		if (ch->parents == NULL)
			return kin_seterr(err, "out of memory");
		q = p + 1;
		for (int m = 0; m < j->tok[p].size; m++, q = kin_json_skip(j, q)) {
			if (j->tok[q].type != JSMN_STRING ||
			    (ch->parents[ch->nparents] = kin_json_strdup(j, q,
			    err)) == NULL)
				return kin_seterr(err, "bad ParentShards");
			ch->nparents++;
		}
	}
	return 0;
}

/* One record object into r, its bytes appended to o->store (reserved by
 * the caller so the store never moves while pointers are taken). */
static int
parse_record(const struct kin_json *j, int obj, struct kin_records *o,
    struct kin_record *r, struct kin_buf *tmp, char *err)
{
	struct kin_buf *st = &o->store;
	int data = -1, key = -1, seq = -1, ts = -1, k = obj + 1;
	size_t off;

	if (j->tok[obj].type != JSMN_OBJECT)
		return kin_seterr(err, "a record is not an object");
	/* one pass over the fields instead of a lookup for each */
	for (int m = 0; m < j->tok[obj].size; m++) {
		const jsmntok_t *t = &j->tok[k];
		const char *name = j->js + t->start;
		size_t nl = (size_t)(t->end - t->start);
		if (nl == 4 && memcmp(name, "Data", 4) == 0)
			data = k + 1;
		else if (nl == 12 && memcmp(name, "PartitionKey", 12) == 0)
			key = k + 1;
		else if (nl == 14 && memcmp(name, "SequenceNumber", 14) == 0)
			seq = k + 1;
		else if (nl == 27 && memcmp(name,
		    "ApproximateArrivalTimestamp", 27) == 0)
			ts = k + 1;
		k = kin_json_skip(j, k + 1);
	}
	if (data < 0 || key < 0 || seq < 0 || j->tok[data].type != JSMN_STRING ||
	    j->tok[key].type != JSMN_STRING || j->tok[seq].type != JSMN_STRING)
		return kin_seterr(err, "a record lacks Data, PartitionKey or "
		    "SequenceNumber");

	off = st->len;
	{
		const char *s = j->js + j->tok[data].start;
		size_t n = (size_t)(j->tok[data].end - j->tok[data].start);
		/* base64 needs no escapes, but "\/" is legal JSON */
		if (memchr(s, '\\', n) != NULL) {
			kin_buf_reset(tmp);
			if (kin_json_unescape(s, n, tmp, err) < 0)
				return -1;
			s = tmp->p;
			n = tmp->len;
		}
		if (kin_b64_decode(st, s, n, err) < 0 ||
		    kin_buf_addc(st, '\0', err) < 0)
			return -1;
	}
	r->data = st->p + off;
	r->len = st->len - off - 1;
	off = st->len;
	if (kin_json_str(j, key, st, err) < 0 || kin_buf_addc(st, '\0', err) < 0)
		return -1;
	r->key = st->p + off;
	off = st->len;
	if (kin_json_str(j, seq, st, err) < 0 || kin_buf_addc(st, '\0', err) < 0)
		return -1;
	r->seq = st->p + off;
	r->arrival_ms = 0;
	if (ts >= 0) {
		/* epoch seconds with a fraction: 1.700000000123E9 */
		double v;
		if (kin_json_num(j, ts, &v, err) < 0)
			return -1;
		r->arrival_ms = (int64_t)llround(v * 1000.0);
	}
	return 0;
}

int
kin_get_records_parse(struct kin_json *j, const char *body, size_t len,
    struct kin_records *out, char *err)
{
	struct kin_buf tmp;
	const char *base;
	size_t count;
	int arr, t, rc = -1;
	int64_t v;

	records_clear(out);
	if (kin_json_parse(j, body, len, err) < 0)
		return -1;
	if (j->ntok == 0 || j->tok[0].type != JSMN_OBJECT)
		return kin_seterr(err, "not a JSON object");
	arr = kin_json_get(j, 0, "Records");
	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return kin_seterr(err, "no Records");
	count = (size_t)j->tok[arr].size;
	if (count > out->cap) {
		struct kin_record *nr = realloc(out->r, count * sizeof *nr);
		if (nr == NULL)
			return kin_seterr(err, "out of memory for %zu records",
			    count);
		out->r = nr;
		out->cap = count;
	}
	/* decoded data, keys and sequence numbers are never longer than
	 * their JSON text: reserve once, and the pointers stay valid */
	if (kin_buf_reserve(&out->store, len + 3 * count + 1, err) < 0)
		return -1;
	base = out->store.p;
	kin_buf_init(&tmp, len + 1);
	t = arr + 1;
	for (size_t k = 0; k < count; k++, t = kin_json_skip(j, t)) {
		if (parse_record(j, t, out, &out->r[k], &tmp, err) < 0)
			goto out;
		out->n++;
	}
	if (out->store.p != base) {
		kin_seterr(err, "records store moved");
		goto out;
	}
	t = kin_json_get(j, 0, "NextShardIterator");
	if (t >= 0 && j->tok[t].type == JSMN_STRING &&
	    (out->next_iter = kin_json_strdup(j, t, err)) == NULL)
		goto out;
	if (kin_field_int(j, 0, "MillisBehindLatest", &v) == 0)
		out->millis_behind = v;
	t = kin_json_get(j, 0, "ChildShards");
	if (t >= 0 && parse_children(j, t, out, err) < 0)
		goto out;
	rc = 0;
out:
	kin_buf_release(&tmp);
	if (rc < 0)
		records_clear(out);
	return rc;
}

int
kin_get_records(struct kin_client *c, const char *iter, int limit,
    struct kin_records *out, struct kin_awserr *ae, char *err)
{
	char e2[KIN_ERRLEN];

	records_clear(out);
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "ShardIterator", iter, err) < 0 ||
	    (limit > 0 && kin_body_int(&c->body, "Limit", limit, err) < 0) ||
	    kin_body_end(&c->body, err) < 0)
		return -1;
	if (kin_call_ex(c, "GetRecords", NULL,
	    KIN_CALL_NO_THROTTLE_RETRY | KIN_CALL_JSON,
	    c->body.p, c->body.len, &c->resp, ae, err) < 0)
		return -1;
	if (kin_get_records_parse(&c->json, c->resp.p, c->resp.len, out,
	    e2) < 0)
		return kin_bad_response("GetRecords", NULL, e2, ae, err);
	return 0;
}

/* Partition keys are at most 256 Unicode characters. */
static size_t
utf8_chars(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

int
kin_put_records_body(struct kin_buf *body, const char *stream,
    const struct kin_put_entry *e, size_t n, char *err)
{
	size_t need = 64 + strlen(stream) * 6, total = 0;

	if (n == 0 || n > KIN_MAX_PUT_RECORDS)
		return kin_seterr(err, "PutRecords('%s'): %zu records (want 1 "
		    "to %d)", stream, n, KIN_MAX_PUT_RECORDS);
	for (size_t i = 0; i < n; i++) {
		size_t kl = e[i].key ? strlen(e[i].key) : 0;
		if (kl == 0 || utf8_chars(e[i].key, kl) > 256)
			return kin_seterr(err, "PutRecords('%s'): record %zu: "
			    "partition key must be 1 to 256 characters", stream,
			    i);
		if (e[i].len + kl > KIN_MAX_RECORD)
			return kin_seterr(err, "PutRecords('%s'): record %zu: "
			    "%zu bytes of data and key, over the limit of %d",
			    stream, i, e[i].len + kl, KIN_MAX_RECORD);
		if (e[i].hash != NULL && (e[i].hash[0] == '\0' ||
		    strlen(e[i].hash) > 39 ||
		    strspn(e[i].hash, "0123456789") != strlen(e[i].hash)))
			return kin_seterr(err, "PutRecords('%s'): record %zu: "
			    "explicit hash key '%s' is not a decimal 128-bit "
			    "number", stream, i, e[i].hash);
		total += e[i].len + kl;
		need += kin_b64_enclen(e[i].len) + kl * 6 + 64 +
		    (e[i].hash ? strlen(e[i].hash) + 24 : 0);
	}
	if (total > KIN_MAX_PUT_BYTES)
		return kin_seterr(err, "PutRecords('%s'): %zu bytes in one "
		    "request, over the limit of %d", stream, total,
		    KIN_MAX_PUT_BYTES);
	kin_buf_reset(body);
	if (kin_buf_reserve(body, need, err) < 0)
		return -1;
	if (kin_buf_add(body, "{\"StreamName\":", 14, err) < 0 ||
	    kin_json_put_str(body, stream, strlen(stream), err) < 0 ||
	    kin_buf_add(body, ",\"Records\":[", 12, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (kin_buf_add(body, i ? ",{\"Data\":\"" : "{\"Data\":\"",
		    i ? 10 : 9, err) < 0 ||
		    kin_b64_encode(body, e[i].data, e[i].len, err) < 0 ||
		    kin_buf_add(body, "\",\"PartitionKey\":", 17, err) < 0 ||
		    kin_json_put_str(body, e[i].key, strlen(e[i].key), err) < 0)
			return -1;
		if (e[i].hash != NULL &&
		    (kin_buf_add(body, ",\"ExplicitHashKey\":\"", 20, err) < 0 ||
		    kin_buf_adds(body, e[i].hash, err) < 0 ||
		    kin_buf_addc(body, '"', err) < 0))
			return -1;
		if (kin_buf_addc(body, '}', err) < 0)
			return -1;
	}
	return kin_buf_add(body, "]}", 2, err);
}

/* String field into a fixed buffer (cut to fit); "" when absent. */
static int
field_copy(const struct kin_json *j, int t, char *dst, size_t n,
    struct kin_buf *tmp, char *err)
{
	const char *s;
	size_t len;

	dst[0] = '\0';
	if (t < 0 || j->tok[t].type != JSMN_STRING)
		return 0;
	s = j->js + j->tok[t].start;
	len = (size_t)(j->tok[t].end - j->tok[t].start);
	if (memchr(s, '\\', len) != NULL) {
		kin_buf_reset(tmp);
		if (kin_json_unescape(s, len, tmp, err) < 0)
			return -1;
		s = tmp->p;
		len = tmp->len;
	}
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int
kin_put_records_parse(const char *body, size_t len, size_t n,
    struct kin_put_result *res, int *failed, char *err)
{
	struct kin_json j;
	struct kin_buf tmp;
	int arr, t, rc = -1, nfail = 0;

	*failed = 0;
	kin_json_init(&j, (int)(n * 12 + 64));
	kin_buf_init(&tmp, 64 * 1024);
	if (kin_json_parse(&j, body, len, err) < 0)
		goto out;
	if (j.ntok == 0 || j.tok[0].type != JSMN_OBJECT) {
		kin_seterr(err, "not a JSON object");
		goto out;
	}
	arr = kin_json_get(&j, 0, "Records");
	if (arr < 0 || j.tok[arr].type != JSMN_ARRAY ||
	    (size_t)j.tok[arr].size != n) {
		kin_seterr(err, "Records does not hold the %zu records sent", n);
		goto out;
	}
	t = arr + 1;
	for (size_t i = 0; i < n; i++, t = kin_json_skip(&j, t)) {
		struct kin_put_result *r = &res[i];
		if (j.tok[t].type != JSMN_OBJECT) {
			kin_seterr(err, "record %zu is not an object", i);
			goto out;
		}
		if (field_copy(&j, kin_json_get(&j, t, "SequenceNumber"),
		    r->seq, sizeof r->seq, &tmp, err) < 0 ||
		    field_copy(&j, kin_json_get(&j, t, "ShardId"), r->shard,
		    sizeof r->shard, &tmp, err) < 0 ||
		    field_copy(&j, kin_json_get(&j, t, "ErrorCode"), r->code,
		    sizeof r->code, &tmp, err) < 0 ||
		    field_copy(&j, kin_json_get(&j, t, "ErrorMessage"),
		    r->message, sizeof r->message, &tmp, err) < 0)
			goto out;
		/* a record counts as written only with a sequence number and
		 * no error code, whatever FailedRecordCount says */
		if (r->code[0] != '\0' || r->seq[0] == '\0') {
			if (r->code[0] == '\0')
				snprintf(r->code, sizeof r->code, "%s",
				    "MissingSequenceNumber");
			r->seq[0] = '\0';
			nfail++;
		}
	}
	*failed = nfail;
	rc = 0;
out:
	kin_buf_release(&tmp);
	kin_json_release(&j);
	return rc;
}

int
kin_put_records(struct kin_client *c, const char *stream,
    const struct kin_put_entry *e, size_t n, struct kin_put_result *res,
    int *failed, struct kin_awserr *ae, char *err)
{
	char e2[KIN_ERRLEN];

	*failed = 0;
	if (kin_put_records_body(&c->body, stream, e, n, err) < 0) {
		if (ae != NULL) {
			memset(ae, 0, sizeof *ae);
			ae->kind = KIN_AWS_VALIDATION;
		}
		return -1;
	}
	if (kin_call_ex(c, "PutRecords", stream, KIN_CALL_JSON, c->body.p, c->body.len,
	    &c->resp, ae, err) < 0)
		return -1;
	if (kin_put_records_parse(c->resp.p, c->resp.len, n, res, failed,
	    e2) < 0)
		return kin_bad_response("PutRecords", stream, e2, ae, err);
	return 0;
}
