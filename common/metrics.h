/* metrics.h — counters and gauges written as CloudWatch Embedded Metric
 * Format lines (--metrics FILE), one JSON object per interval, which
 * CloudWatch Logs turns into metrics with no agent code.
 *
 * Ownership: struct kin_metrics is the caller's.  kin_metrics_init() opens
 * the file (or takes stderr for "-"; a NULL path turns writing off while
 * counting still works, so callers never branch); kin_metrics_release()
 * closes it.  Register every metric before other threads start; after that
 * kin_metrics_add()/kin_metrics_set() may be called from any thread (C11
 * atomics), while kin_metrics_tick()/kin_metrics_flush() belong to one. */
#ifndef KIN_METRICS_H
#define KIN_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* EMF allows 100 metrics in one directive. */
#define KIN_METRICS_MAX 100
#define KIN_METRIC_NAMELEN 64

enum kin_metric_unit {
	KIN_UNIT_COUNT,
	KIN_UNIT_BYTES,
	KIN_UNIT_MILLISECONDS,
};

struct kin_metric {
	char name[KIN_METRIC_NAMELEN];
	enum kin_metric_unit unit;
	int gauge;            /* 1: last value set; 0: counter, sum per interval */
	atomic_llong v;
};

struct kin_metrics {
	int fd;               /* -1: writing off */
	int own_fd;           /* close at release (not for stderr) */
	char path[256];       /* for error messages */
	char prog[64];
	char stream[256];     /* dimension; empty: only "program" */
	char ns[64];          /* namespace, "kin" unless set */
	int64_t interval_us;
	int64_t next_us;      /* next line due; 0 before the first tick */
	int n;
	struct kin_metric m[KIN_METRICS_MAX];
};

/* path: a file (opened O_APPEND|O_CREAT|O_NOFOLLOW|O_CLOEXEC, mode 0600, so
 * log rotation may truncate it in place), "-" for stderr, or NULL for no
 * output.  interval_ms > 0.  prog is the "program" dimension. */
int kin_metrics_init(struct kin_metrics *m, const char *path,
    const char *prog, int64_t interval_ms, char *err);
void kin_metrics_release(struct kin_metrics *m);

/* The "stream" dimension (every line carries program and stream when one
 * is set) and the namespace (default "kin", as the dashboard's
 * MetricsNamespace).  Call before the first tick. */
int kin_metrics_set_stream(struct kin_metrics *m, const char *stream,
    char *err);
int kin_metrics_set_namespace(struct kin_metrics *m, const char *ns,
    char *err);

/* Register a counter (summed over each interval, reset after each line) or
 * a gauge (the last value set, kept).  Names are 1 to 63 characters of
 * [A-Za-z0-9_.-], not "program", "stream" or "_aws"; registering a name
 * again returns the same index (its kind and unit must match).  Returns the
 * index, or -1 with err (bad name, too many metrics). */
int kin_metrics_counter(struct kin_metrics *m, const char *name,
    enum kin_metric_unit unit, char *err);
int kin_metrics_gauge(struct kin_metrics *m, const char *name,
    enum kin_metric_unit unit, char *err);
/* Index of a registered name, or -1. */
int kin_metrics_find(const struct kin_metrics *m, const char *name);

/* Thread-safe; an index < 0 is ignored, so a failed registration costs
 * nothing later. */
static inline void
kin_metrics_add(struct kin_metrics *m, int idx, long long n)
{
	if (idx >= 0 && idx < m->n)
		atomic_fetch_add_explicit(&m->m[idx].v, n, memory_order_relaxed);
}
static inline void
kin_metrics_set(struct kin_metrics *m, int idx, long long v)
{
	if (idx >= 0 && idx < m->n)
		atomic_store_explicit(&m->m[idx].v, v, memory_order_relaxed);
}
/* Current value (counters: since the last line). */
long long kin_metrics_get(struct kin_metrics *m, int idx);

/* Call often with the wall clock (microseconds since the epoch).  The
 * first call starts the first interval; a line is written once an interval
 * has passed, stamped with now_us in milliseconds.  After a pause of
 * several intervals one line covers them all.  Returns 1 when a line was
 * written, 0 when none was due (or writing is off), -1 with err when the
 * write failed: the counters keep their values for the next line, and the
 * program decides whether to go on. */
int kin_metrics_tick(struct kin_metrics *m, int64_t now_us, char *err);
/* Write a line now whatever the interval (at exit, for the last partial
 * interval).  Same returns as tick. */
int kin_metrics_flush(struct kin_metrics *m, int64_t now_us, char *err);

/* The line a tick at now_us would write, without the newline, appended to
 * *out (a struct kin_buf); counters are not reset.  For tests and -v. */
struct kin_buf;
int kin_metrics_format(struct kin_metrics *m, int64_t now_us,
    struct kin_buf *out, char *err);

#endif
