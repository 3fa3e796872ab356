/* kinesis_ops.c — the control-plane calls: streams and shards, listed,
 * described, created, deleted and resharded. */
#include "kinesis.h"
#include "kinesis_int.h"
#include "err.h"
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PAGES 100000

void
kin_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
kin_shards_free(struct kin_shard *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(s[i].id);
		free(s[i].parent);
		free(s[i].adjacent_parent);
		free(s[i].hash_start);
		free(s[i].hash_end);
		free(s[i].seq_start);
		free(s[i].seq_end);
	}
	free(s);
}

void
kin_stream_summary_release(struct kin_stream_summary *s)
{
	free(s->name);
	free(s->arn);
	free(s->status);
	free(s->mode);
	free(s->encryption);
	memset(s, 0, sizeof *s);
}

/* Grow *v (elements of size sz) to hold at least need. */
static int
grow(void **v, size_t *cap, size_t need, size_t sz, char *err)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if ((nv = realloc(*v, ncap * sz)) == NULL)
		return kin_seterr(err, "kinesis: out of memory");
	*v = nv;
	*cap = ncap;
	return 0;
}

int
kin_list_streams(struct kin_client *c, char ***names, size_t *n,
    struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	char **v = NULL, *next = NULL, e2[KIN_ERRLEN];
	size_t nv = 0, cap = 0;
	int more = 1;

	*names = NULL;
	*n = 0;
	for (int page = 0; more && page < MAX_PAGES; page++) {
		int arr, t, hm;
		kin_buf_reset(&c->body);
		/* NextToken when the service gives one; older servers (and
		 * kinesalite) page by the last name instead */
		if (next != NULL && kin_body_str(&c->body, "NextToken", next,
		    err) < 0)
			goto fail;
		if (next == NULL && nv > 0 && kin_body_str(&c->body,
		    "ExclusiveStartStreamName", v[nv - 1], err) < 0)
			goto fail;
		if (kin_body_end(&c->body, err) < 0)
			goto fail;
		free(next);
		next = NULL;
		if (kin_call_ex(c, "ListStreams", NULL, KIN_CALL_JSON, c->body.p, c->body.len,
		    &c->resp, ae, err) < 0 ||
		    kin_resp_json(c, "ListStreams", NULL, ae, err) < 0)
			goto fail;
		arr = kin_json_get(j, 0, "StreamNames");
		if (arr < 0 || j->tok[arr].type != JSMN_ARRAY) {
			kin_bad_response("ListStreams", NULL, "no StreamNames",
			    ae, err);
			goto fail;
		}
		if (grow((void **)&v, &cap, nv + (size_t)j->tok[arr].size + 1,
		    sizeof *v, err) < 0)
			goto fail;
		t = arr + 1;
		for (int k = 0; k < j->tok[arr].size; k++) {
			if (j->tok[t].type != JSMN_STRING ||
			    (v[nv] = kin_json_strdup(j, t, e2)) == NULL) {
				kin_bad_response("ListStreams", NULL,
				    "StreamNames holds a non-string", ae, err);
				goto fail;
			}
			nv++;
			t = kin_json_skip(j, t);
		}
		if (kin_field_dup(j, 0, "NextToken", &next, e2) < 0) {
			kin_bad_response("ListStreams", NULL, e2, ae, err);
			goto fail;
		}
		t = kin_json_get(j, 0, "HasMoreStreams");
		more = t >= 0 && kin_json_bool(j, t, &hm, NULL) == 0 && hm &&
		    (next != NULL || j->tok[arr].size > 0);
	}
	free(next);
	*names = v;
	*n = nv;
	return 0;
fail:
	free(next);
	kin_strv_free(v, nv);
	return -1;
}

static int
parse_shard(const struct kin_json *j, int obj, struct kin_shard *s,
    char *err)
{
	int hk, sr;

	memset(s, 0, sizeof *s);
	if (j->tok[obj].type != JSMN_OBJECT)
		return kin_seterr(err, "a shard is not an object");
	if (kin_field_dup(j, obj, "ShardId", &s->id, err) < 0 ||
	    kin_field_dup(j, obj, "ParentShardId", &s->parent, err) < 0 ||
	    kin_field_dup(j, obj, "AdjacentParentShardId", &s->adjacent_parent,
	    err) < 0)
		return -1;
	if (s->id == NULL)
		return kin_seterr(err, "a shard has no ShardId");
	hk = kin_json_get(j, obj, "HashKeyRange");
	sr = kin_json_get(j, obj, "SequenceNumberRange");
	if (hk < 0 || sr < 0)
		return kin_seterr(err, "shard '%s' has no key or sequence range",
		    s->id);
	if (kin_field_dup(j, hk, "StartingHashKey", &s->hash_start, err) < 0 ||
	    kin_field_dup(j, hk, "EndingHashKey", &s->hash_end, err) < 0 ||
	    kin_field_dup(j, sr, "StartingSequenceNumber", &s->seq_start,
	    err) < 0 ||
	    kin_field_dup(j, sr, "EndingSequenceNumber", &s->seq_end, err) < 0)
		return -1;
	if (s->hash_start == NULL || s->hash_end == NULL || s->seq_start == NULL)
		return kin_seterr(err, "shard '%s' has an incomplete range",
		    s->id);
	return 0;
}

/* One pass over all pages; -2 when the service says the token expired. */
static int
list_shards_once(struct kin_client *c, const char *stream,
    const char *filter, struct kin_shard **out, size_t *n,
    struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	struct kin_shard *v = NULL;
	size_t nv = 0, cap = 0;
	char *next = NULL, *prev = NULL, e2[KIN_ERRLEN];

	for (int page = 0; page < MAX_PAGES; page++) {
		int arr, t;
		kin_buf_reset(&c->body);
		/* with NextToken the request must not name the stream (nor
		 * carry a filter): the token says it all */
		if (next != NULL) {
			if (kin_body_str(&c->body, "NextToken", next, err) < 0)
				goto fail;
		} else {
			if (kin_body_str(&c->body, "StreamName", stream, err) < 0)
				goto fail;
			if (filter != NULL && (kin_body_raw(&c->body,
			    "ShardFilter", "{\"Type\":", err) < 0 ||
			    kin_json_put_str(&c->body, filter, strlen(filter),
			    err) < 0 || kin_buf_addc(&c->body, '}', err) < 0))
				goto fail;
		}
		if (kin_body_end(&c->body, err) < 0)
			goto fail;
		free(prev);
		prev = next;
		next = NULL;
		if (kin_call_ex(c, "ListShards", stream, KIN_CALL_JSON, c->body.p,
		    c->body.len, &c->resp, ae, err) < 0) {
			if (prev != NULL && ae != NULL &&
			    ae->kind == KIN_AWS_EXPIRED_ITERATOR) {
				free(prev);
				kin_shards_free(v, nv);
				return -2;
			}
			goto fail;
		}
		if (kin_resp_json(c, "ListShards", stream, ae, err) < 0)
			goto fail;
		arr = kin_json_get(j, 0, "Shards");
		if (arr < 0 || j->tok[arr].type != JSMN_ARRAY) {
			kin_bad_response("ListShards", stream, "no Shards", ae,
			    err);
			goto fail;
		}
		if (grow((void **)&v, &cap, nv + (size_t)j->tok[arr].size + 1,
		    sizeof *v, err) < 0)
			goto fail;
		t = arr + 1;
		for (int k = 0; k < j->tok[arr].size; k++) {
			if (parse_shard(j, t, &v[nv], e2) < 0) {
				nv++;
				kin_bad_response("ListShards", stream, e2, ae,
				    err);
				goto fail;
			}
			nv++;
			t = kin_json_skip(j, t);
		}
		if (kin_field_dup(j, 0, "NextToken", &next, e2) < 0) {
			kin_bad_response("ListShards", stream, e2, ae, err);
			goto fail;
		}
		/* a server that ignores paging hands the same token back */
		if (next == NULL || (prev != NULL && strcmp(next, prev) == 0))
			break;
	}
	free(next);
	free(prev);
	*out = v;
	*n = nv;
	return 0;
fail:
	free(next);
	free(prev);
	kin_shards_free(v, nv);
	return -1;
}

int
kin_list_shards(struct kin_client *c, const char *stream,
    const char *filter, struct kin_shard **out, size_t *n,
    struct kin_awserr *ae, char *err)
{
	struct kin_awserr tmp;
	int rc;

	if (ae == NULL)
		ae = &tmp;
	*out = NULL;
	*n = 0;
	/* ExpiredNextTokenException (the listing took over 300 s): start
	 * over, a few times at most */
	for (int i = 0; i < 3; i++)
		if ((rc = list_shards_once(c, stream, filter, out, n, ae,
		    err)) != -2)
			return rc;
	return -1;
}

int
kin_describe_stream_summary(struct kin_client *c, const char *stream,
    struct kin_stream_summary *out, struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	char e2[KIN_ERRLEN];
	int64_t v;
	int s, m;

	memset(out, 0, sizeof *out);
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_end(&c->body, err) < 0)
		return -1;
	if (kin_call_ex(c, "DescribeStreamSummary", stream,
	    KIN_CALL_JSON, c->body.p,
	    c->body.len, &c->resp, ae, err) < 0 ||
	    kin_resp_json(c, "DescribeStreamSummary", stream, ae, err) < 0)
		return -1;
	s = kin_json_get(j, 0, "StreamDescriptionSummary");
	if (s < 0 || j->tok[s].type != JSMN_OBJECT)
		return kin_bad_response("DescribeStreamSummary", stream,
		    "no StreamDescriptionSummary", ae, err);
	if (kin_field_dup(j, s, "StreamName", &out->name, e2) < 0 ||
	    kin_field_dup(j, s, "StreamARN", &out->arn, e2) < 0 ||
	    kin_field_dup(j, s, "StreamStatus", &out->status, e2) < 0 ||
	    kin_field_dup(j, s, "EncryptionType", &out->encryption, e2) < 0 ||
	    ((m = kin_json_get(j, s, "StreamModeDetails")) >= 0 &&
	    kin_field_dup(j, m, "StreamMode", &out->mode, e2) < 0))
		goto bad;
	if (out->status == NULL) {
		snprintf(e2, sizeof e2, "no StreamStatus");
		goto bad;
	}
	out->open_shards = kin_field_int(j, s, "OpenShardCount", &v) == 0 ?
	    (int)v : -1;
	out->retention_hours = kin_field_int(j, s, "RetentionPeriodHours",
	    &v) == 0 ? (int)v : -1;
	return 0;
bad:
	kin_stream_summary_release(out);
	return kin_bad_response("DescribeStreamSummary", stream, e2, ae, err);
}

/* A call whose answer carries nothing we need. */
static int
simple_call(struct kin_client *c, const char *op, const char *stream,
    struct kin_awserr *ae, char *err)
{
	if (kin_body_end(&c->body, err) < 0)
		return -1;
	return kin_call_ex(c, op, stream, 0, c->body.p, c->body.len, &c->resp,
	    ae, err);
}

int
kin_create_stream(struct kin_client *c, const char *stream, int shards,
    struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_int(&c->body, "ShardCount", shards, err) < 0)
		return -1;
	return simple_call(c, "CreateStream", stream, ae, err);
}

int
kin_delete_stream(struct kin_client *c, const char *stream,
    struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0)
		return -1;
	return simple_call(c, "DeleteStream", stream, ae, err);
}

int
kin_update_shard_count(struct kin_client *c, const char *stream, int target,
    struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_int(&c->body, "TargetShardCount", target, err) < 0 ||
	    kin_body_str(&c->body, "ScalingType", "UNIFORM_SCALING", err) < 0)
		return -1;
	return simple_call(c, "UpdateShardCount", stream, ae, err);
}

int
kin_merge_shards(struct kin_client *c, const char *stream, const char *shard,
    const char *adjacent, struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_str(&c->body, "ShardToMerge", shard, err) < 0 ||
	    kin_body_str(&c->body, "AdjacentShardToMerge", adjacent, err) < 0)
		return -1;
	return simple_call(c, "MergeShards", stream, ae, err);
}

int
kin_split_shard(struct kin_client *c, const char *stream, const char *shard,
    const char *new_start_hash, struct kin_awserr *ae, char *err)
{
	kin_buf_reset(&c->body);
	if (kin_body_str(&c->body, "StreamName", stream, err) < 0 ||
	    kin_body_str(&c->body, "ShardToSplit", shard, err) < 0 ||
	    kin_body_str(&c->body, "NewStartingHashKey", new_start_hash,
	    err) < 0)
		return -1;
	return simple_call(c, "SplitShard", stream, ae, err);
}

int
kin_wait_active(struct kin_client *c, const char *stream, int64_t timeout_ms,
    struct kin_awserr *ae, char *err)
{
	struct kin_stream_summary s;
	int64_t deadline = kin_now_mono_us() + timeout_ms * 1000, pause = 50;
	char status[32] = "";

	for (;;) {
		if (kin_describe_stream_summary(c, stream, &s, ae, err) < 0)
			return -1;
		int active = strcmp(s.status, "ACTIVE") == 0;
		snprintf(status, sizeof status, "%s", s.status);
		kin_stream_summary_release(&s);
		if (active)
			return 0;
		if (kin_now_mono_us() + pause * 1000 > deadline)
			break;
		struct timespec ts = { (time_t)(pause / 1000),
		    (long)(pause % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		if (pause < 1000)
			pause *= 2;
	}
	if (ae != NULL) {
		memset(ae, 0, sizeof *ae);
		ae->kind = KIN_AWS_IN_USE;
		snprintf(ae->type, sizeof ae->type, "%s", "Timeout");
		snprintf(ae->message, sizeof ae->message, "still %s", status);
	}
	return kin_seterr(err, "DescribeStreamSummary('%s'): still %s after "
	    "%lld ms", stream, status, (long long)timeout_ms);
}
