/* stats.c — kin-write's metrics lines (stats.h). */
#include "stats.h"

#include <string.h>

#include "err.h"
#include "kw.h"
#include "parse.h"

int
stats_init(struct stats *s, const char *path, int64_t interval_ms,
    const char *stream, char *err)
{
	struct kin_metrics *m = &s->m;

	memset(s, 0, sizeof *s);
	s->on = path != NULL;
	if (kin_metrics_init(m, path, KW_PROG, interval_ms, err) < 0 ||
	    kin_metrics_set_stream(m, stream, err) < 0 ||
	    (s->in = kin_metrics_counter(m, "records_in", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->out = kin_metrics_counter(m, "records_out", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->dead = kin_metrics_counter(m, "dead_letters", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->retries = kin_metrics_counter(m, "retries", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->throttles = kin_metrics_counter(m, "throttles",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (s->barriers = kin_metrics_counter(m, "barriers", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->pending = kin_metrics_gauge(m, "records_pending",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (s->pbytes = kin_metrics_gauge(m, "bytes_pending", KIN_UNIT_BYTES,
	    err)) < 0) {
		kin_metrics_release(m);
		memset(s, 0, sizeof *s);
		return -1;
	}
	return 0;
}

void
stats_release(struct stats *s)
{
	kin_metrics_release(&s->m);
}

#define DELTA(idx, cur, last) do { \
	kin_metrics_add(&s->m, (idx), (long long)((cur) - (last))); \
	(last) = (cur); \
} while (0)

void
stats_tick(struct stats *s, const struct writer *w, int flush)
{
	char err[KIN_ERRLEN];
	int64_t now;
	int rc;

	if (!s->on)
		return;
	now = kin_now_wall_us();
	if (!flush && s->m.next_us != 0 && now < s->m.next_us)
		return;
	DELTA(s->in, w->in, s->l_in);
	DELTA(s->out, w->acked, s->l_out);
	DELTA(s->dead, w->dead, s->l_dead);
	DELTA(s->retries, w->retried, s->l_retries);
	DELTA(s->throttles, w->throttled, s->l_throttles);
	kin_metrics_set(&s->m, s->pending, (long long)w->held);
	kin_metrics_set(&s->m, s->pbytes, (long long)w->held_bytes);
	rc = flush ? kin_metrics_flush(&s->m, now, err) :
	    kin_metrics_tick(&s->m, now, err);
	if (rc < 0)
		kin_warn(KW_PROG, "metrics: %s", err);
}

void
stats_barrier(struct stats *s)
{
	kin_metrics_add(&s->m, s->barriers, 1);
}

void
stats_set_interval(struct stats *s, int64_t ms)
{
	int64_t old = s->m.interval_us;

	s->m.interval_us = ms * 1000;
	if (s->m.next_us != 0)
		s->m.next_us += s->m.interval_us - old;
}
