/* run.c — the generation loops: paced against CLOCK_MONOTONIC, or as fast
 * as the pipe takes it with event times from the schedule (run.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "parse.h"
#include "run.h"

static const char *prog = "trade-gen";

/* How a loop ended: the tg_out_flush() results, and one more. */
enum { RUN_OK = TG_OUT_OK, RUN_CLOSED = TG_OUT_CLOSED, RUN_IOERR = TG_OUT_ERR,
	RUN_RANGE = -2 };

int64_t
tg_plan_tick_us(const struct tg_plan *p, uint64_t k)
{
	double tick = (double)p->batch * 1e6 / p->rate;

	return (int64_t)((double)k * tick);
}

/* Ticks due once el microseconds have passed: those with offset <= el. */
static uint64_t
ticks_due(const struct tg_plan *p, int64_t el)
{
	double tick = (double)p->batch * 1e6 / p->rate;
	uint64_t k;

	if (el < 0)
		return 0;
	k = (uint64_t)((double)el / tick) + 1;
	while (k > 0 && tg_plan_tick_us(p, k - 1) > el)
		k--;
	while (tg_plan_tick_us(p, k) <= el)
		k++;
	return k;
}

uint64_t
tg_plan_records_within(const struct tg_plan *p, int64_t dur_us)
{
	return ticks_due(p, dur_us - 1) * p->batch;
}

struct progress {
	int64_t t0, last;
	uint64_t last_n;
	/* metrics: what was counted so far, next line due (monotonic) */
	uint64_t m_n, m_bytes;
	int64_t m_next;
	int m_warned;
};

/* Counted per chunk, not per record.  A write failure is reported once;
 * the counters keep their values for the next line, as in the other
 * programs. */
static void
metrics(const struct tg_plan *p, struct tg_out *o, struct progress *pr,
    uint64_t n, int flush)
{
	char err[KIN_ERRLEN];
	int64_t now;
	int rc;

	if (p->met == NULL)
		return;
	kin_metrics_add(p->met, p->mi_records, (long long)(n - pr->m_n));
	kin_metrics_add(p->met, p->mi_bytes,
	    (long long)(o->bytes - pr->m_bytes));
	pr->m_n = n;
	pr->m_bytes = o->bytes;
	now = kin_now_mono_us();
	if (!flush && now < pr->m_next)
		return;
	pr->m_next = now + p->met->interval_us;
	rc = flush ? kin_metrics_flush(p->met, kin_now_wall_us(), err) :
	    kin_metrics_tick(p->met, kin_now_wall_us(), err);
	if (rc < 0 && !pr->m_warned) {
		kin_warn(prog, "metrics: %s (kept for the next line)", err);
		pr->m_warned = 1;
	}
}

static void
progress(struct progress *pr, uint64_t n, int64_t now)
{
	if (now - pr->last < 1000000)
		return;
	kin_warn(prog, "%" PRIu64 " records, %.0f records/s", n,
	    (double)(n - pr->last_n) * 1e6 / (double)(now - pr->last));
	pr->last = now;
	pr->last_n = n;
}

/* A flush of what is buffered, if anything. */
static int
flush(struct tg_out *o, const volatile sig_atomic_t *stop, char *err)
{
	if (o->len == 0)
		return RUN_OK;
	return tg_out_flush(o, stop, err);
}

static int
add_record(struct tg_gen *g, struct tg_out *o, int64_t us, char *err)
{
	char *e = tg_gen_record(g, o->buf + o->len, us);

	if (e == NULL)
		return kin_seterr(err, "event time out of range (years 1 to "
		    "9999)");
	o->len = (size_t)(e - o->buf);
	return 0;
}

static int
run_simulated(struct tg_gen *g, struct tg_out *o, const struct tg_plan *p,
    const volatile sig_atomic_t *stop, struct progress *pr, uint64_t *n,
    char *err)
{
	uint64_t i = 0, k = 0, in_tick = 0;
	int64_t t = p->start_us;
	int rc;

	while ((p->limit == 0 || i < p->limit) && !*stop) {
		if (p->hup != NULL && *p->hup)
			p->reload(p->reload_ctx);
		if (in_tick == 0)
			t = p->start_us + tg_plan_tick_us(p, k);
		if (add_record(g, o, t, err) < 0) {
			*n = i;
			return RUN_RANGE;
		}
		i++;
		if (++in_tick == p->batch) {
			in_tick = 0;
			k++;
		}
		if (o->len > o->high) {
			*n = i;
			if ((rc = flush(o, stop, err)) != RUN_OK)
				return rc;
			metrics(p, o, pr, i, 0);
			if (p->verbose)
				progress(pr, i, kin_now_mono_us());
		}
	}
	*n = i;
	return RUN_OK;
}

static int
run_paced(struct tg_gen *g, struct tg_out *o, const struct tg_plan *p,
    const volatile sig_atomic_t *stop, struct progress *pr, uint64_t *n,
    char *err)
{
	int64_t t0 = pr->t0, now, wall = 0;
	uint64_t i = 0, due, burst;
	struct timespec ts;
	int rc;

	for (;;) {
		if (*stop)
			break;
		if (p->hup != NULL && *p->hup) {
			double rate = p->rate;

			p->reload(p->reload_ctx);
			/* a new rate: the schedule goes on from record i */
			if (p->rate != rate)
				t0 = kin_now_mono_us() -
				    tg_plan_tick_us(p, i / p->batch);
		}
		now = kin_now_mono_us();
		due = ticks_due(p, now - t0) * p->batch;
		if (p->limit != 0 && due > p->limit)
			due = p->limit;
		for (burst = 0; i < due && !*stop; burst++) {
			/* The wall clock once per 256 records of a burst: they
			 * are made within microseconds of each other. */
			if ((burst & 255) == 0)
				wall = p->has_start ? p->start_us +
				    (kin_now_mono_us() - t0) : kin_now_wall_us();
			if (add_record(g, o, wall, err) < 0) {
				*n = i;
				return RUN_RANGE;
			}
			i++;
			if (o->len > o->high) {
				*n = i;
				if ((rc = flush(o, stop, err)) != RUN_OK)
					return rc;
				metrics(p, o, pr, i, 0);
			}
		}
		*n = i;
		if ((rc = flush(o, stop, err)) != RUN_OK)
			return rc;
		metrics(p, o, pr, i, 0);
		if (p->verbose)
			progress(pr, i, now);
		if (p->limit != 0 && i >= p->limit)
			break;
		/* Sleep until the next tick, an absolute time: a late wake-up
		 * makes the next burst bigger, never the schedule later. */
		now = t0 + tg_plan_tick_us(p, i / p->batch);
		ts.tv_sec = (time_t)(now / 1000000);
		ts.tv_nsec = (long)(now % 1000000) * 1000;
		while (!*stop && (p->hup == NULL || !*p->hup) &&
		    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
		    NULL) == EINTR)
			;
	}
	return RUN_OK;
}

int
tg_run(struct tg_gen *g, struct tg_out *o, const struct tg_plan *p,
    const volatile sig_atomic_t *stop, char *err)
{
	struct progress pr;
	uint64_t n = 0;
	int64_t end;
	int rc, frc = RUN_IOERR;

	pr.t0 = pr.last = kin_now_mono_us();
	pr.last_n = 0;
	pr.m_n = pr.m_bytes = 0;
	pr.m_next = 0;
	pr.m_warned = 0;
	if (p->header)
		o->len = (size_t)(tg_gen_csv_header(g, o->buf + o->len) - o->buf);
	if (p->simulated)
		rc = run_simulated(g, o, p, stop, &pr, &n, err);
	else
		rc = run_paced(g, o, p, stop, &pr, &n, err);
	if (rc == RUN_OK || rc == RUN_RANGE) {
		/* Whole lines made before an error or a stop still go out. */
		char ferr[KIN_ERRLEN];

		frc = flush(o, stop, ferr);

		if (frc != RUN_OK && rc == RUN_OK) {
			rc = frc;
			if (frc == RUN_IOERR)
				memcpy(err, ferr, KIN_ERRLEN);
		}
	}
	/* The last partial interval; what a failed write did get out
	 * (o->bytes) counts, the records of a failed chunk do not. */
	metrics(p, o, &pr, frc == RUN_OK ? n : pr.m_n, 1);
	if (p->verbose && rc != RUN_IOERR) {
		end = kin_now_mono_us();
		kin_warn(prog, "%" PRIu64 " records in %.3f s, %.0f records/s",
		    n, (double)(end - pr.t0) / 1e6, end > pr.t0 ?
		    (double)n * 1e6 / (double)(end - pr.t0) : 0.0);
	}
	switch (rc) {
	case RUN_OK:
	case RUN_CLOSED:
		return KIN_EX_OK;
	case RUN_IOERR:
		return KIN_EX_IOERR;
	default:
		return KIN_EX_DATAERR;
	}
}
