/* efo_consumer.c — stream consumers for enhanced fan-out: register,
 * describe, list, deregister, and "this name, ACTIVE" for a reader that
 * registers its consumer on first use. */
#include "efo.h"
#include "kinesis_int.h"
#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PAGES 10000

void
kin_consumer_release(struct kin_consumer *c)
{
	free(c->name);
	free(c->arn);
	free(c->status);
	free(c->stream_arn);
	memset(c, 0, sizeof *c);
}

void
kin_consumers_free(struct kin_consumer *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		kin_consumer_release(&v[i]);
	free(v);
}

/* A Consumer / ConsumerDescription object at obj into out. */
static int
parse_consumer(const struct kin_json *j, int obj, struct kin_consumer *out,
    char *err)
{
	int t;
	double v;

	memset(out, 0, sizeof *out);
	if (j->tok[obj].type != JSMN_OBJECT)
		return kin_seterr(err, "a consumer is not an object");
	if (kin_field_dup(j, obj, "ConsumerName", &out->name, err) < 0 ||
	    kin_field_dup(j, obj, "ConsumerARN", &out->arn, err) < 0 ||
	    kin_field_dup(j, obj, "ConsumerStatus", &out->status, err) < 0 ||
	    kin_field_dup(j, obj, "StreamARN", &out->stream_arn, err) < 0)
		goto fail;
	if (out->arn == NULL || out->status == NULL) {
		kin_seterr(err, "a consumer without ConsumerARN or "
		    "ConsumerStatus");
		goto fail;
	}
	t = kin_json_get(j, obj, "ConsumerCreationTimestamp");
	if (t >= 0 && j->tok[t].type == JSMN_PRIMITIVE &&
	    kin_json_num(j, t, &v, NULL) == 0)
		out->created_ms = (int64_t)llround(v * 1000.0);
	return 0;
fail:
	kin_consumer_release(out);
	return -1;
}

/* StreamARN + ConsumerName, or ConsumerARN, into c->body. */
static int
consumer_body(struct kin_client *c, const char *stream_arn, const char *name,
    const char *consumer_arn, char *err)
{
	kin_buf_reset(&c->body);
	if (consumer_arn != NULL) {
		if (kin_body_str(&c->body, "ConsumerARN", consumer_arn, err) < 0)
			return -1;
	} else if (stream_arn != NULL && name != NULL) {
		if (kin_body_str(&c->body, "StreamARN", stream_arn, err) < 0 ||
		    kin_body_str(&c->body, "ConsumerName", name, err) < 0)
			return -1;
	} else {
		return kin_seterr(err, "a consumer wants its ARN, or the "
		    "stream's ARN and its name");
	}
	return kin_body_end(&c->body, err);
}

/* Call op with c->body and parse the object under key into out. */
static int
consumer_call(struct kin_client *c, const char *op, const char *subject,
    const char *key, struct kin_consumer *out, struct kin_awserr *ae,
    char *err)
{
	char e2[KIN_ERRLEN];
	int t;

	if (kin_call_ex(c, op, subject, KIN_CALL_JSON, c->body.p, c->body.len,
	    &c->resp, ae, err) < 0 ||
	    kin_resp_json(c, op, subject, ae, err) < 0)
		return -1;
	t = kin_json_get(&c->json, 0, key);
	if (t < 0) {
		snprintf(e2, sizeof e2, "no %s", key);
		return kin_bad_response(op, subject, e2, ae, err);
	}
	if (parse_consumer(&c->json, t, out, e2) < 0)
		return kin_bad_response(op, subject, e2, ae, err);
	return 0;
}

int
kin_register_stream_consumer(struct kin_client *c, const char *stream_arn,
    const char *name, struct kin_consumer *out, struct kin_awserr *ae,
    char *err)
{
	memset(out, 0, sizeof *out);
	if (consumer_body(c, stream_arn, name, NULL, err) < 0)
		return -1;
	if (consumer_call(c, "RegisterStreamConsumer", name, "Consumer", out,
	    ae, err) < 0)
		return -1;
	if (out->stream_arn == NULL &&
	    (out->stream_arn = strdup(stream_arn)) == NULL) {
		kin_consumer_release(out);
		return kin_seterr(err, "RegisterStreamConsumer: out of memory");
	}
	return 0;
}

int
kin_describe_stream_consumer(struct kin_client *c, const char *stream_arn,
    const char *name, const char *consumer_arn, struct kin_consumer *out,
    struct kin_awserr *ae, char *err)
{
	memset(out, 0, sizeof *out);
	if (consumer_body(c, stream_arn, name, consumer_arn, err) < 0)
		return -1;
	return consumer_call(c, "DescribeStreamConsumer",
	    name != NULL ? name : consumer_arn, "ConsumerDescription", out, ae,
	    err);
}

int
kin_deregister_stream_consumer(struct kin_client *c, const char *stream_arn,
    const char *name, const char *consumer_arn, struct kin_awserr *ae,
    char *err)
{
	const char *subject = name != NULL ? name : consumer_arn;

	if (consumer_body(c, stream_arn, name, consumer_arn, err) < 0)
		return -1;
	return kin_call_ex(c, "DeregisterStreamConsumer", subject, 0,
	    c->body.p, c->body.len, &c->resp, ae, err);
}

int
kin_list_stream_consumers(struct kin_client *c, const char *stream_arn,
    struct kin_consumer **out, size_t *n, struct kin_awserr *ae, char *err)
{
	const struct kin_json *j = &c->json;
	struct kin_consumer *v = NULL;
	size_t nv = 0, cap = 0;
	char *next = NULL, e2[KIN_ERRLEN];
	int page;

	*out = NULL;
	*n = 0;
	for (page = 0; page < MAX_PAGES; page++) {
		int arr, t;

		kin_buf_reset(&c->body);
		if (kin_body_str(&c->body, "StreamARN", stream_arn, err) < 0 ||
		    (next != NULL && kin_body_str(&c->body, "NextToken", next,
		    err) < 0) || kin_body_end(&c->body, err) < 0)
			goto fail;
		free(next);
		next = NULL;
		if (kin_call_ex(c, "ListStreamConsumers", stream_arn,
		    KIN_CALL_JSON,
		    c->body.p, c->body.len, &c->resp, ae, err) < 0 ||
		    kin_resp_json(c, "ListStreamConsumers", stream_arn, ae,
		    err) < 0)
			goto fail;
		arr = kin_json_get(j, 0, "Consumers");
		if (arr < 0 || j->tok[arr].type != JSMN_ARRAY) {
			kin_bad_response("ListStreamConsumers", stream_arn,
			    "no Consumers", ae, err);
			goto fail;
		}
		if (nv + (size_t)j->tok[arr].size > cap) {
			size_t nc = cap ? cap * 2 : 8;
			while (nc < nv + (size_t)j->tok[arr].size)
				nc *= 2;
			struct kin_consumer *nvp = realloc(v, nc * sizeof *nvp);
			if (nvp == NULL) {
				kin_seterr(err, "ListStreamConsumers: out of "
				    "memory");
				goto fail;
			}
			v = nvp;
			cap = nc;
		}
		t = arr + 1;
		for (int k = 0; k < j->tok[arr].size; k++) {
			if (parse_consumer(j, t, &v[nv], e2) < 0) {
				kin_bad_response("ListStreamConsumers",
				    stream_arn, e2, ae, err);
				goto fail;
			}
			nv++;
			t = kin_json_skip(j, t);
		}
		if (kin_field_dup(j, 0, "NextToken", &next, e2) < 0) {
			kin_bad_response("ListStreamConsumers", stream_arn, e2,
			    ae, err);
			goto fail;
		}
		if (next == NULL || j->tok[arr].size == 0)
			break;
	}
	free(next);
	*out = v;
	*n = nv;
	return 0;
fail:
	free(next);
	kin_consumers_free(v, nv);
	return -1;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int
kin_efo_consumer(struct kin_client *c, const char *stream, const char *name,
    int64_t timeout_ms, struct kin_consumer *out, struct kin_awserr *ae,
    char *err)
{
	struct kin_stream_summary sum;
	struct kin_awserr tmp;
	int64_t deadline = mono_ms() + timeout_ms, nap = 100;
	char *stream_arn;

	if (ae == NULL)
		ae = &tmp;
	memset(out, 0, sizeof *out);
	memset(&sum, 0, sizeof sum);
	if (kin_describe_stream_summary(c, stream, &sum, ae, err) < 0)
		return -1;
	stream_arn = sum.arn;
	sum.arn = NULL;
	kin_stream_summary_release(&sum);
	if (stream_arn == NULL)
		return kin_bad_response("DescribeStreamSummary", stream,
		    "no StreamARN", ae, err);
	for (;;) {
		int rc = kin_describe_stream_consumer(c, stream_arn, name, NULL,
		    out, ae, err);
		if (rc < 0 && ae->kind == KIN_AWS_NOT_FOUND) {
			rc = kin_register_stream_consumer(c, stream_arn, name,
			    out, ae, err);
			/* registered by someone else meanwhile: describe it */
			if (rc < 0 && ae->kind == KIN_AWS_IN_USE &&
			    mono_ms() + nap <= deadline) {
				nap_ms(nap);
				continue;
			}
		}
		if (rc < 0)
			break;
		if (strcmp(out->status, "ACTIVE") == 0) {
			if (out->stream_arn == NULL) {
				out->stream_arn = stream_arn;
				stream_arn = NULL;
			}
			free(stream_arn);
			return 0;
		}
		if (mono_ms() + nap > deadline) {
			ae->kind = KIN_AWS_TIMEOUT;
			kin_seterr(err, "DescribeStreamConsumer('%s'): still %s "
			    "after %lld ms", name, out->status,
			    (long long)timeout_ms);
			kin_consumer_release(out);
			break;
		}
		kin_consumer_release(out);
		nap_ms(nap);
		if (nap < 1000)
			nap *= 2;
	}
	free(stream_arn);
	return -1;
}
