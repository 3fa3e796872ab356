/* run.h — trade-gen's schedule: when each record is due and what event
 * time it carries.  Record i belongs to tick k = i / batch; tick k is due
 * k * batch / rate seconds after the start, as an offset from one fixed
 * origin on CLOCK_MONOTONIC, so waiting never accumulates drift.  With
 * simulated set nothing waits and the event time is start + that offset. */
#ifndef TG_RUN_H
#define TG_RUN_H

#include <signal.h>
#include <stdint.h>

#include "gen.h"
#include "metrics.h"
#include "out.h"

struct tg_plan {
	double rate;        /* records per second */
	uint64_t batch;     /* records per tick */
	uint64_t limit;     /* records in all, 0 for no limit */
	int simulated;      /* no waiting: event time from the schedule */
	int has_start;      /* event times begin at start_us */
	int64_t start_us;   /* UTC */
	int header;         /* CSV header line first */
	int verbose;        /* progress on stderr */
	/* SIGHUP: when *hup is set, reload(reload_ctx) reads the config
	 * again and may change rate and verbose (and clears *hup). */
	const volatile sig_atomic_t *hup;
	void (*reload)(void *ctx);
	void *reload_ctx;
	/* --metrics: records_out and bytes_out are added per written chunk
	 * and a line goes out at most once per interval, checked against
	 * CLOCK_MONOTONIC after each chunk; NULL for none. */
	struct kin_metrics *met;
	int mi_records, mi_bytes;
};

/* Offset of tick k from the start, microseconds. */
int64_t tg_plan_tick_us(const struct tg_plan *p, uint64_t k);
/* How many records are due before dur_us has passed. */
uint64_t tg_plan_records_within(const struct tg_plan *p, int64_t dur_us);
/* Generate until the limit, a stop request or a closed stdout.  Returns an
 * exit status (KIN_EX_OK, or KIN_EX_IOERR / KIN_EX_DATAERR with err
 * filled). */
int tg_run(struct tg_gen *g, struct tg_out *o, const struct tg_plan *p,
    const volatile sig_atomic_t *stop, char *err);

#endif
