/* worker.h — what poll.c (the pool of workers) and step.c (one call on
 * one shard) share: a worker's memory.  Ownership: poll.c creates and frees
 * workers; a worker's buffers are its own thread's alone. */
#ifndef KIN_READ_WORKER_H
#define KIN_READ_WORKER_H

#include <pthread.h>
#include <stddef.h>

#include "buf.h"
#include "deagg.h"
#include "kinesis.h"
#include "page.h"
#include "poll.h"
#include "shards.h"

#define OUT_MAX (128u * 1024 * 1024)  /* one page as -J lines */
#define RESP_MAX (32u * 1024 * 1024)  /* 10 MiB of data in base64 */

struct bpos {
	const char *seq;
	long sub;
	int more;
};

struct worker {
	struct reader *r;
	struct kin_client c;
	pthread_t th;
	struct kin_buf out;
	size_t *ends;
	struct bpos *pos;
	size_t cap;
	struct deagg d;
	struct page pg;            /* reused: its memory stays between pages */
	struct kin_buf req, resp;
};

/* One step on shard s, which this worker holds (s->busy): an iterator if
 * it has none, one GetRecords call, the page printed, the shard updated. */
void shard_step(struct worker *wk, struct shard *s);
/* Print what page rs holds (up to the pin) and update shard s from it
 * (position, end, children): the part of a step after the read, shared
 * with efo_src.c.  0, or 1 when the table's gate refused the records (the
 * lease is gone): nothing was printed and the shard's next read starts
 * again from its last record printed. */
int shard_take_page(struct worker *wk, struct shard *s,
    const struct page *rs);

#endif
