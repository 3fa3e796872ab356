/* poll.h — reading shards: a pool of worker threads (up to --threads), each
 * with its own kin_client, taking whichever ready shard is due next, so a
 * slow shard holds one worker and never the others.  A shard is in one
 * worker's hands at a time, which keeps its records in order.
 * Ownership: struct reader is the caller's (init/release); it borrows the
 * options, table, writer and output settings, which must outlive it. */
#ifndef KIN_READ_POLL_H
#define KIN_READ_POLL_H

#include <pthread.h>
#include <signal.h>

#include "kin-read.h"
#include "kinesis.h"
#include "metrics.h"
#include "out.h"
#include "shards.h"

#define MIN_CALL_GAP_US 200000  /* 5 GetRecords per second per shard */

struct worker;

struct reader {
	const struct opts *o;
	struct table *t;
	struct writer *w;
	const struct out_cfg *oc;
	const struct kin_client *base;
	const char *stream;
	int64_t pin_ms;        /* -e: records that arrived after it end a shard */
	int64_t until_ms;      /* --until, or -1 */
	pthread_t main_thread; /* woken with SIGUSR1 on any news */
	struct kin_metrics *met;   /* NULL, or counters (indexes below) */
	int mi_in, mi_calls, mi_throttles, mi_retries, mi_expired;
	struct worker **w_v;
	size_t nworkers;
	pthread_mutex_t lock;  /* the fields below */
	int status;            /* exit status of the first failure, or 0 */
	int failed;
	int broken_pipe;
	int full;              /* -c reached */
};

int reader_init(struct reader *r, const struct opts *o, struct table *t,
    struct writer *w, const struct out_cfg *oc, const struct kin_client *base,
    const char *stream, char *err);
/* Run up to want workers (never more than --threads). */
int reader_grow(struct reader *r, size_t want, char *err);
/* Ask the workers to leave after what they are doing now. */
void reader_stop(struct reader *r);
/* Wait for them, at most timeout_ms; 0 when all left. */
int reader_join(struct reader *r, int64_t timeout_ms);
void reader_release(struct reader *r);
/* 1 when the run must end: a failure, a closed stdout, or -c reached. */
int reader_over(struct reader *r);
/* Report a failure (first one wins the exit status) and stop. */
void reader_fail(struct reader *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Wake the main thread. */
void reader_kick(struct reader *r);

#endif
