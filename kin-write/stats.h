/* stats.h — kin-write's --metrics: one CloudWatch Embedded Metric Format
 * line every --metrics-interval and at exit (common/metrics.h).  Counters,
 * in user records: records_in (read), records_out (acknowledged),
 * dead_letters, retries (records sent again), throttles (records refused
 * for throughput), barriers (committed); gauges: records_pending (read,
 * not yet done) and bytes_pending.  They come from the writer's own totals
 * at each line, so nothing is counted twice on the hot path.
 * Ownership: struct stats is the caller's (stats_init ... stats_release;
 * release is safe on a zeroed struct). */
#ifndef KW_STATS_H
#define KW_STATS_H

#include <stdint.h>

#include "batch.h"
#include "metrics.h"

struct stats {
	struct kin_metrics m;
	int on;
	int in, out, dead, retries, throttles, barriers, pending, pbytes;
	uint64_t l_in, l_out, l_dead, l_retries, l_throttles;
};

int stats_init(struct stats *s, const char *path, int64_t interval_ms,
    const char *stream, char *err);
void stats_release(struct stats *s);
/* A line when one is due (flush: now). */
void stats_tick(struct stats *s, const struct writer *w, int flush);
void stats_barrier(struct stats *s);
/* SIGHUP: a new interval. */
void stats_set_interval(struct stats *s, int64_t ms);

#endif
