/* stats.c — kin-read's metrics lines (stats.h). */
#include "stats.h"

#include <string.h>

#include "err.h"
#include "parse.h"

int
stats_init(struct stats *s, const struct opts *o, struct reader *r,
    char *err)
{
	struct kin_metrics *m = &s->m;

	memset(s, 0, sizeof *s);
	s->on = o->metrics != NULL;
	if (kin_metrics_init(m, o->metrics, PROG, o->metrics_ms, err) < 0)
		return -1;
	if ((o->cli.stream != NULL &&
	    kin_metrics_set_stream(m, o->cli.stream, err) < 0) ||
	    (r->mi_in = kin_metrics_counter(m, "records_in", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->records = kin_metrics_counter(m, "records_out",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (s->bytes = kin_metrics_counter(m, "bytes_out", KIN_UNIT_BYTES,
	    err)) < 0 ||
	    (r->mi_calls = kin_metrics_counter(m, "get_records",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (r->mi_retries = kin_metrics_counter(m, "retries", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (r->mi_throttles = kin_metrics_counter(m, "throttles",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (r->mi_expired = kin_metrics_counter(m, "expired_iterators",
	    KIN_UNIT_COUNT, err)) < 0 ||
	    (s->barriers = kin_metrics_counter(m, "barriers", KIN_UNIT_COUNT,
	    err)) < 0 ||
	    (s->behind = kin_metrics_gauge(m, "millis_behind_latest",
	    KIN_UNIT_MILLISECONDS, err)) < 0 ||
	    (s->reading = kin_metrics_gauge(m, "shards_reading",
	    KIN_UNIT_COUNT, err)) < 0) {
		kin_metrics_release(m);
		return -1;
	}
	r->met = m;
	return 0;
}

void
stats_release(struct stats *s)
{
	kin_metrics_release(&s->m);
}

void
stats_tick(struct stats *s, struct writer *w, struct table *t, int flush)
{
	char err[KIN_ERRLEN];
	int64_t now = kin_now_wall_us(), behind = 0;
	long long count, reading = 0;
	uint64_t bytes;
	int rc;

	if (!s->on || (!flush && s->m.next_us != 0 && now < s->m.next_us))
		return;
	writer_stats(w, &count, &bytes);
	kin_metrics_add(&s->m, s->records, count - s->last_count);
	kin_metrics_add(&s->m, s->bytes, (long long)(bytes - s->last_bytes));
	s->last_count = count;
	s->last_bytes = bytes;
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++) {
		const struct shard *sh = t->v[i];
		if (!sh->owned || sh->state != SH_READY)
			continue;
		reading++;
		if (sh->millis_behind > behind)
			behind = sh->millis_behind;
	}
	pthread_mutex_unlock(&t->lock);
	kin_metrics_set(&s->m, s->behind, behind);
	kin_metrics_set(&s->m, s->reading, reading);
	rc = flush ? kin_metrics_flush(&s->m, now, err) :
	    kin_metrics_tick(&s->m, now, err);
	if (rc < 0)
		kin_warn(PROG, "metrics: %s", err);
}

int64_t
stats_due_in(const struct stats *s)
{
	int64_t d;

	if (!s->on)
		return -1;
	if (s->m.next_us == 0)
		return 0;
	d = s->m.next_us - kin_now_wall_us();
	return d < 0 ? 0 : d;
}

void
stats_set_interval(struct stats *s, int64_t ms)
{
	int64_t old = s->m.interval_us;

	s->m.interval_us = ms * 1000;
	if (s->m.next_us != 0)
		s->m.next_us += s->m.interval_us - old;
}
