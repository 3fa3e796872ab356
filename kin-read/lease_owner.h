/* lease_owner.h — --lease-table: which shards this process reads is decided
 * by shard leases in a DynamoDB table shared with other kin-read processes
 * (common/lease.h, the KCL's protocol), and checkpoints go into the leases.
 *
 * A thread of its own drives the lease manager: it lists the shards
 * (creating their leases), renews, takes and steals leases, hands each
 * shard gained to the shard table with the lease's checkpoint as its start
 * and takes each shard lost away, writes the shards' positions into their
 * leases every --checkpoint-interval, and SHARD_END for the shards read to
 * their end.  The lease manager is single-threaded; only this thread (and,
 * once it has stopped, the caller of lease_owner_stop) calls it.
 *
 * The fence: a shard's records may go to stdout only while its lease is
 * valid — held, past the fence of a steal, and renewed within the failover
 * time less a guard.  The thread keeps that deadline in each shard
 * (shard->lease_until_ms); lease_gate() checks it where records leave, with
 * the writer's lock held, so nothing is written once the lease could be
 * someone else's, even by a writer that waited for a blocked stdout.
 *
 * Ownership: struct lease_owner is the caller's (init ... release); it
 * borrows the options and, once attached, the table, which must outlive
 * it. */
#ifndef KIN_READ_LEASE_OWNER_H
#define KIN_READ_LEASE_OWNER_H

#include <pthread.h>
#include <stdint.h>

#include "kin-read.h"
#include "kinesis.h"
#include "lease.h"
#include "shards.h"

struct lease_gain;

struct lease_owner {
	const struct opts *o;
	struct table *t;
	struct kin_client kc;      /* ListShards, the thread's own */
	struct kin_client ddb;
	struct kin_lease_mgr m;
	int have_kc, have_ddb, have_mgr;
	char worker[KIN_LEASE_IDLEN];
	pthread_t th;
	int running;
	pthread_mutex_t lock;      /* the fields below it; taken after the
	                              table lock, never before */
	pthread_cond_t cond;       /* CLOCK_MONOTONIC */
	int stop;
	int sync_now;              /* list shards at the next turn */
	char **ended;              /* shards read to their end: SHARD_END */
	size_t nended, capended;
	/* Barrier mode (--checkpoint with --barrier-interval): the leases
	 * get the positions of committed barriers only, never of records
	 * merely written, and SHARD_END once a committed barrier has the
	 * shard at its end; ck (borrowed) is the file loaded at the start. */
	int barrier;
	const struct kin_ckpt *ck;
	/* the thread's alone (the caller's after lease_owner_stop) */
	struct lease_gain *pend;   /* gains waiting for a shard to be free */
	size_t npend, cappend;
	int64_t next_sync, next_ckpt, warned_ms;
	long gained, lost, checkpoints;
};

/* Settings from o (lease table, worker id, failover time, -o), the
 * DynamoDB client, the table created if absent, the manager.  -1 with err
 * and *status (an exit status). */
int lease_owner_init(struct lease_owner *lo, const struct opts *o,
    const struct kin_client *kc, int *status, char *err);
/* ow asks lo (claim nothing, parents finished as the leases say, SHARD_END
 * when a shard is read to its end). */
void lease_owner_bind(struct owner *ow, struct lease_owner *lo);
/* Use t (its shards get gated). */
void lease_owner_attach(struct lease_owner *lo, struct table *t);
/* Barrier mode, before lease_owner_start: ck is the pipeline's checkpoint
 * as loaded (NULL if none), kept by the caller until release. */
void lease_owner_barriers(struct lease_owner *lo, const struct kin_ckpt *ck);
/* Start the thread. */
int lease_owner_start(struct lease_owner *lo, char *err);
/* Stop the thread; then, the readers having stopped, close every shard's
 * gate, write the last positions and give every lease up.  -1 with err
 * when a checkpoint or the release failed (the leases then expire). */
int lease_owner_stop(struct lease_owner *lo, char *err);
/* Stop the thread only (an error path; lease_owner_stop does it too). */
void lease_owner_halt(struct lease_owner *lo);
void lease_owner_release(struct lease_owner *lo);

/* 1 when shard s (a struct shard *) may be written now.  For
 * writer_put_if. */
int lease_gate(const void *s);

/* -L --lease-table: the leases, their owners, counters and checkpoints.
 * Returns the exit status. */
int lease_list(const struct opts *o, struct kin_client *kc);

#endif
