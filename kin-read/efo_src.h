/* efo_src.h — --efo NAME: shards read through enhanced fan-out
 * (common/efo.h: SubscribeToShard over HTTP/2) instead of the GetRecords
 * workers of poll.c.  One thread drives the session: it subscribes every
 * shard the table says is ready and this process reads, from its last
 * record printed or its start; hands each event to step.c's page code
 * (de-aggregation, output, -e/--until, the shard's position, a closed
 * shard's children), so everything after the read is the same as with
 * polling; and unsubscribes shards that stopped or were lost.
 * Ownership: struct efo_src is the caller's (init ... release); it borrows
 * the reader (options, table, writer, output), which must outlive it. */
#ifndef KIN_READ_EFO_SRC_H
#define KIN_READ_EFO_SRC_H

#include <pthread.h>

#include "efo.h"
#include "poll.h"

struct efo_sub_state;
struct worker;

struct efo_src {
	struct reader *r;
	struct kin_client c;       /* control plane: register, deregister */
	struct kin_consumer con;
	struct kin_efo e;
	int have_c, have_con, have_e;
	struct worker *wk;         /* the page code's buffers */
	struct efo_sub_state *v;   /* shards subscribed */
	size_t n, cap;
	pthread_t th;
	int running;
	unsigned long long events, records;
};

/* Register (or find) the consumer o->efo of the stream and wait until it
 * is ACTIVE; set up the session.  -1 with err and *status. */
int efo_src_init(struct efo_src *x, struct reader *r, int *status,
    char *err);
int efo_src_start(struct efo_src *x, char *err);
/* Wait for the thread to leave (after reader_stop). */
void efo_src_stop(struct efo_src *x);
/* The session closed; with --efo-deregister the consumer deregistered.
 * -1 with err and *status when that failed. */
int efo_src_release(struct efo_src *x, int *status, char *err);

#endif
