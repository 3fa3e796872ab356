/* stats.h — kin-read's --metrics: one CloudWatch Embedded Metric Format
 * line every --metrics-interval (common/metrics.h).  Counters: records_in
 * (user records taken from GetRecords pages), records_out, bytes_out, get_records, retries, throttles, expired_iterators, barriers;
 * gauges: millis_behind_latest (the most any shard read here is behind),
 * shards_reading.  Workers count their calls straight into the metrics;
 * records and bytes come from the writer's totals at each line.
 * Ownership: struct stats is the caller's (stats_init ... stats_release). */
#ifndef KIN_READ_STATS_H
#define KIN_READ_STATS_H

#include <stdint.h>

#include "kin-read.h"
#include "metrics.h"
#include "out.h"
#include "poll.h"
#include "shards.h"

struct stats {
	struct kin_metrics m;
	int on;                    /* --metrics given */
	int records, bytes, behind, reading, barriers;
	long long last_count;
	uint64_t last_bytes;
};

/* Registers the metrics and hands the workers' indexes to r. */
int stats_init(struct stats *s, const struct opts *o, struct reader *r,
    char *err);
void stats_release(struct stats *s);
/* A line when one is due (flush: now, at the end).  A failed write is
 * reported once per failure and the run goes on. */
void stats_tick(struct stats *s, struct writer *w, struct table *t,
    int flush);
/* Microseconds (monotonic) until the next line is due, or -1 when off. */
int64_t stats_due_in(const struct stats *s);
/* SIGHUP: a new interval. */
void stats_set_interval(struct stats *s, int64_t ms);

#endif
