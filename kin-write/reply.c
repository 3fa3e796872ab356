/* reply.c — what happens to each record when its request's answer comes
 * back: acknowledged, retried (back to the front of its shard's queue,
 * the shard or the whole writer backing off with full jitter), or
 * dead-lettered; and the shard map refreshed after a reshard. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_int.h"
#include "parse.h"
#include "resp.h"

#define KW_REFRESH_MIN_US 1000000    /* ListShards at most once a second */

static struct kw_result g_res[KIN_MAX_PUT_RECORDS];
static struct kin_put_result g_kres[KIN_MAX_PUT_RECORDS];

/* The answer's records: by the fast scanner, else by the library. */
static int parse_answer(const struct send_result *res, size_t n, int *failed,
    char *err)
{
	size_t i;

	if (kw_parse_put_response(res->body, res->len, n, g_res, failed) == 0)
		return 0;
	if (kin_put_records_parse(res->body, res->len, n, g_kres, failed,
	    err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		struct kw_result *r = &g_res[i];
		memset(r, 0, sizeof(*r));
		r->ok = !g_kres[i].code[0];
		r->shard = g_kres[i].shard;
		r->shardlen = strlen(g_kres[i].shard);
		snprintf(r->code, sizeof(r->code), "%s", g_kres[i].code);
		snprintf(r->msg, sizeof(r->msg), "%s", g_kres[i].message);
	}
	return 0;
}

/* ---- replies ---- */

/* A request's records have left the cache while it was in flight: fetch
 * the line an answer reads (kw.h puts it first in a krec) a few records
 * ahead. */
#define KW_BEHIND 8
static inline void prefetch_krec(const struct krec *k)
{
	__builtin_prefetch(k);
}

static enum kin_aws_kind code_kind(const char *code)
{
	if (strcmp(code, "ProvisionedThroughputExceededException") == 0)
		return KIN_AWS_THROTTLED;
	if (strcmp(code, "InternalFailure") == 0)
		return KIN_AWS_INTERNAL;
	return kin_aws_classify(500, code);
}

/* Back to the front of its queue (callers go backwards through a
 * request, so order is kept); the back-off is the shard's or the
 * request's, not the record's: throttling is per shard. */
static void retry_krec(struct writer *w, struct krec *k,
    enum kin_aws_kind kind, const char *code, const char *msg,
    int64_t now)
{
	struct shard *s;

	k->attempts++;
	krec_set_err(k, code, msg);
	w->retried += k->nusers;
	if (kind == KIN_AWS_THROTTLED)
		w->throttled += k->nusers;
	if (k->deadline_us && now >= k->deadline_us) {
		char m[320];
		snprintf(m, sizeof(m), "record-ttl passed after %d attempt%s%s%s",
		    k->attempts, k->attempts == 1 ? "" : "s",
		    *msg ? ": " : "", msg);
		dead_krec(w, k, "expired", code, m);
		return;
	}
	s = k->shard;
	if (!s->open)
		s = shardmap_find(&w->map, k->hash);
	queue_front(w, s, k);
}

static int64_t backoff_us(struct writer *w, enum kin_aws_kind kind,
    int fails)
{
	return kin_retry_delay_ms(&w->rt, kind, fails > 30 ? 30 : fails) *
	    1000;
}

/* Warnings about failed requests: every one with -vv, else at most one
 * each 5 s (throttling only with -v; none with -q), so a failing service
 * is visible but not a flood. */
static void warn_fail(struct writer *w, enum kin_aws_kind kind,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void warn_fail(struct writer *w, enum kin_aws_kind kind,
    const char *fmt, ...)
{
	static int64_t last;
	int64_t now = kin_now_mono_us();
	va_list ap;

	if (w->o.verbose < 2) {
		if (w->o.quiet)
			return;
		if (kind == KIN_AWS_THROTTLED && w->o.verbose < 1)
			return;
		if (last && now - last < 5000000)
			return;
	}
	last = now;
	va_start(ap, fmt);
	kin_vwarn(KW_PROG, fmt, ap);
	va_end(ap);
}

static void fail_all(struct writer *w, struct req *r, enum kin_aws_kind kind,
    const char *code, const char *msg)
{
	int64_t now = kin_now_mono_us();
	size_t i;

	warn_fail(w, kind, "PutRecords(%s) failed, retrying %zu records: "
	    "%s%s%s", w->stream, r->n, code, *msg ? ": " : "", msg);
	w->gfails++;
	w->g_not_before_us = now + backoff_us(w, kind, w->gfails);
	for (i = r->n; i-- > 0;)
		retry_krec(w, r->k[i], kind, code, msg, now);
}

static void reject_all(struct writer *w, struct req *r, const char *code,
    const char *msg)
{
	size_t i;

	if (!w->o.quiet || w->o.verbose >= 2)
		kin_warn(KW_PROG, "PutRecords(%s) rejected %zu records: "
		    "%s%s%s", w->stream, r->n, code, *msg ? ": " : "", msg);
	for (i = 0; i < r->n; i++)
		dead_krec(w, r->k[i], "rejected", code, msg);
}

void on_done(void *ctx, struct req *r, const struct send_result *res)
{
	struct writer *w = ctx;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	int64_t now = kin_now_mono_us();
	int failed = 0;
	size_t i;

	for (i = 0; i < r->nshards; i++)
		r->shards[i]->inflight--;
	w->inflight_users -= r->users;
	w->inflight_bytes -= r->ucost;
	if (res->transport) {
		fail_all(w, r, KIN_AWS_TRANSPORT, "ConnectionError",
		    res->curl_err ? res->curl_err : "");
		return;
	}
	memset(&ae, 0, sizeof(ae));
	if (kin_client_check("PutRecords", res->status, res->errortype,
	    res->body, res->len, &ae, err) < 0) {
		char code[160];
		snprintf(code, sizeof(code), "%s", ae.type[0] ? ae.type :
		    "HTTP error");
		if (!ae.type[0])
			snprintf(code, sizeof(code), "HTTP %ld", res->status);
		if (kin_aws_retryable(ae.kind))
			fail_all(w, r, ae.kind, code, ae.message);
		else
			reject_all(w, r, code, ae.message);
		return;
	}
	if (parse_answer(res, r->n, &failed, err) < 0) {
		fail_all(w, r, KIN_AWS_TRANSPORT, "BadResponse", err);
		return;
	}
	if (failed) {
		const char *c = "";
		for (i = 0; i < r->n && !*c; i++)
			c = g_res[i].ok ? "" : g_res[i].code;
		warn_fail(w, code_kind(c), "PutRecords(%s): %d of %zu records "
		    "failed (%s), retrying them", w->stream, failed, r->n, c);
	}
	w->gfails = 0;
	/* A shard with failed records backs off by the fewest tries among
	 * them: a shard throttled over and over waits longer each time, one
	 * with a few unlucky records hardly at all. */
	for (i = 0; i < r->nshards; i++)
		r->shards[i]->failed_now = 0;
	for (i = 0; failed && i < r->n; i++) {
		struct shard *s;
		int a;
		if (g_res[i].ok)
			continue;
		s = r->k[i]->shard;
		a = r->k[i]->attempts + 1;
		if (!s->failed_now || a < s->failed_now)
			s->failed_now = a;
		s->fails = i;   /* remember one failing record */
	}
	for (i = 0; i < r->nshards; i++) {
		struct shard *s = r->shards[i];
		if (s->failed_now)
			s->not_before_us = now + backoff_us(w,
			    code_kind(g_res[s->fails].code), s->failed_now);
	}
	/* backwards, so records going back to a queue's front keep order */
	for (i = r->n; i-- > 0;) {
		struct krec *k = r->k[i];
		if (i >= KW_BEHIND)
			prefetch_krec(r->k[i - KW_BEHIND]);
		if (!g_res[i].ok) {
			retry_krec(w, k, code_kind(g_res[i].code),
			    g_res[i].code, g_res[i].msg, now);
			continue;
		}
		if (w->map.known && g_res[i].shard &&
		    (g_res[i].shardlen != strlen(k->shard->id) ||
		    memcmp(g_res[i].shard, k->shard->id, g_res[i].shardlen)))
			w->refresh = 1;
		acked_krec(w, k);
	}
}

/* ---- resharding ---- */

void refresh_map(struct writer *w, int64_t now)
{
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	struct krec *list = NULL, **tail = &list, *k;
	size_t i;

	if (w->last_refresh_us && now - w->last_refresh_us < KW_REFRESH_MIN_US)
		return;
	w->last_refresh_us = now;
	w->refresh = 0;
	if (shardmap_load(&w->map, w->c, w->stream, &ae, err) < 0) {
		if (!w->o.quiet)   /* it is tried again */
			kin_warn(KW_PROG, "cannot refresh the shard map: %s",
			    err);
		return;
	}
	if (w->o.verbose)
		kin_warn(KW_PROG, "shard map of '%s' refreshed: %zu open "
		    "shards", w->stream, w->map.nopen);
	/* route what waits again, each shard's records in their order */
	for (i = 0; i < w->map.nall; i++) {
		struct shard *s = w->map.all[i];
		close_agg(w, s);
		while ((k = queue_pop(w, s))) {
			*tail = k;
			tail = &k->next;
		}
	}
	while ((k = list)) {
		list = k->next;
		queue_back(w, shardmap_find(&w->map, k->hash), k);
	}
}
