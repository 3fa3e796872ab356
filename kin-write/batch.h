/* batch.h — the writer: user records in, PutRecords requests out, every
 * record accounted for.  Records wait in per-shard queues (and, with
 * --aggregate, per-shard KPL aggregates); a request is filled from the
 * queues, round robin, when 500 records or 5 MiB are ready or the oldest
 * has waited --linger.  A shard has at most one request in flight, so its
 * records reach it in the order read (retries aside: --ordered).  Results come back per record: acknowledged,
 * retried after a back-off with full jitter, or dead-lettered.
 *
 * Barrier accounting: every record carries the number of barriers read
 * before it (its epoch).  The writer counts outstanding records per epoch;
 * a barrier is complete when no record of its epoch or an earlier one is
 * outstanding — "everything before this barrier is acknowledged or
 * dead-lettered" — and is then handed to on_barrier, in input order.
 *
 * Ownership: struct writer is the caller's (writer_init/writer_release);
 * records given to writer_add() are the writer's. */
#ifndef KW_BATCH_H
#define KW_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "deadletter.h"
#include "kinesis.h"
#include "kw.h"
#include "send.h"
#include "shardmap.h"

struct writer_opts {
	int aggregate;
	size_t agg_max;          /* --aggregate-max-size */
	int64_t linger_us;
	int max_in_flight;
	int ordered;
	size_t max_records;      /* per request, <= 500 */
	size_t max_bytes;        /* per request, <= 5 MiB */
	int verbose;
	int quiet;               /* -q: no warnings about single records or
	                            retried failures */
};

struct epoch {
	uint64_t outstanding;    /* records of this epoch not yet done */
	char *barrier;           /* the control line that ended it, or NULL */
	size_t barrier_len;
};

typedef void (*barrier_fn)(void *ctx, const char *line, size_t len);

struct writer {
	struct writer_opts o;
	struct kin_client *c;
	const char *stream;
	struct shardmap map;
	struct sender snd;
	struct deadletter *dl;
	struct kin_retry rt;      /* jitter for back-offs */
	/* counts of user records */
	uint64_t in, acked, dead, retried, throttled;
	uint64_t held;            /* read and not yet done */
	size_t held_bytes;
	size_t queued;            /* krecs in shard queues */
	uint64_t inflight_users;  /* user records in requests in flight */
	size_t inflight_bytes;    /* and their urec_cost() */
	size_t max_buffered;      /* held_bytes ceiling (--max-buffered) */
	/* barriers */
	struct epoch *ep;         /* ring of epochs low .. cur */
	size_t ep_cap;
	uint64_t ep_low, ep_cur;
	barrier_fn on_barrier;
	void *barrier_ctx;
	/* timing */
	int64_t force_until_us;   /* records ready by then go without linger */
	int gfails;               /* whole-request failures in a row */
	int64_t g_not_before_us;  /* their back-off: no request before */
	int refresh;              /* shard map looks stale */
	int64_t last_refresh_us;
	size_t rr;                /* round-robin start */
	int fatal;                /* exit status of a fatal error, or 0 */
	char fatal_msg[KIN_ERRLEN];
};

int writer_init(struct writer *w, const struct writer_opts *o,
    struct kin_client *c, const char *stream, struct deadletter *dl,
    char *err);
void writer_release(struct writer *w);
/* The shard map: ListShards, or a catch-all when that is not allowed.
 * rate_pct: per-shard limits in % of the service's (0 = none). */
int writer_load_shards(struct writer *w, double rate_pct,
    struct kin_awserr *ae, char *err);
/* 1 while more input is welcome: what waits to be sent is less than two
 * full requests per shard, and what is held is under --max-buffered.
 * Reading no further ahead keeps the records in cache and the input's
 * producer paced by the service. */
int writer_want_input(const struct writer *w);
/* Take a record read from input (always taken). */
void writer_add(struct writer *w, struct urec *u);
/* A line that could not become a record: dead-lettered now. */
void writer_bad(struct writer *w, const struct dl_rec *r);
/* A barrier line: ends the current epoch; everything before it goes out
 * without waiting for --linger. */
void writer_barrier(struct writer *w, const char *line, size_t len);
/* End of input (or SIGTERM): flush everything, no more lingering. */
void writer_flush_all(struct writer *w);
/* Expire, aggregate, fill and start requests. */
void writer_pump(struct writer *w);
/* Network: wait at most until something is due, then process replies. */
void writer_wait(struct writer *w, struct curl_waitfd *extra, unsigned n,
    int max_ms);
/* 1 when nothing is queued, aggregating or in flight. */
int writer_idle(const struct writer *w);
/* Give up on everything not yet acknowledged (second SIGTERM). */
void writer_abandon(struct writer *w, const char *reason);

#endif
