/* lease.h — shard leases in a DynamoDB table, kept the way the Kinesis
 * Client Library keeps them (its table schema and protocol), so any number
 * of readers on any number of hosts share a stream's shards and KCL tools
 * can read the table.
 *
 * Protocol (KCL's DynamoDBLeaseTaker/Renewer/Refresher):
 * - a lease per shard, created with attribute_not_exists(leaseKey);
 * - the holder renews by incrementing leaseCounter on the condition that
 *   it still has the value the holder last wrote (every failover/3);
 * - others see a lease as expired when its counter has not moved for the
 *   failover time by their own observation (scan after scan), and take it
 *   with the same counter condition; free leases are taken at once;
 * - balance: the target is ceil(live leases / workers); a worker below it
 *   takes free or expired leases first, else steals at most max_steal (1)
 *   per pass from the most loaded worker;
 * - checkpoints are conditioned on the counter (and increment it);
 * - a clean shutdown removes leaseOwner, so others take them at once;
 * - a child shard's lease is taken only after the checkpoint of every
 *   parent that has a lease is SHARD_END.
 * One addition for "never two readers": a stolen lease is only reported
 * readable (GAINED) once the victim's own validity must have run out
 * (first sight of the counter it held + failover); the holder treats a
 * lease it could not renew for 0.9 x failover as lost.
 *
 * Ownership: struct kin_lease members are owned by it (kin_lease_free);
 * struct kin_lease_mgr is the caller's (init/release) and borrows the
 * DynamoDB client, which must outlive it.  The manager is driven from one
 * thread (the one that emits records, so kin_lease_holds is checked where
 * records leave).  Times are milliseconds of the manager's clock:
 * kin_lease_clock_ms() (CLOCK_MONOTONIC) unless cfg.clock says otherwise;
 * every `now` passed in must come from that clock.
 *
 * A reader's loop, in short:
 *   init: kin_ddb_init, kin_lease_ensure_table, kin_lease_mgr_init,
 *         kin_lease_sync_shards (again every minute or so);
 *   loop: kin_lease_tick; for each kin_lease_next_event: GAINED -> start
 *         the shard at ev.checkpoint/ev.subseq, LOST -> stop it at once,
 *         dropping what it has not emitted; before emitting a shard's
 *         records, kin_lease_holds; now and then kin_lease_checkpoint
 *         (KIN_LEASE_LOST -> stop the shard); at a closed shard's end,
 *         kin_lease_checkpoint(SHARD_END); sleep up to kin_lease_next_due;
 *   stop: stop reading, checkpoint, kin_lease_release_all,
 *         kin_lease_mgr_release. */
#ifndef KIN_LEASE_H
#define KIN_LEASE_H

#include <stddef.h>
#include <stdint.h>
#include "dynamodb.h"
#include "kinesis.h"

#define KIN_LEASE_TRIM_HORIZON "TRIM_HORIZON"
#define KIN_LEASE_LATEST "LATEST"
#define KIN_LEASE_SHARD_END "SHARD_END"
#define KIN_LEASE_LOST 1          /* kin_lease_checkpoint: not ours any more */
#define KIN_LEASE_IDLEN 129       /* shard ids, sequence numbers, workers */

/* The KCL's attribute names (its DynamoDBLeaseSerializer). */
#define KIN_LEASE_A_KEY "leaseKey"
#define KIN_LEASE_A_OWNER "leaseOwner"
#define KIN_LEASE_A_COUNTER "leaseCounter"
#define KIN_LEASE_A_CHECKPOINT "checkpoint"
#define KIN_LEASE_A_SUBSEQ "checkpointSubSequenceNumber"
#define KIN_LEASE_A_SWITCHES "ownerSwitchesSinceCheckpoint"
#define KIN_LEASE_A_PARENTS "parentShardId"

/* One row of the table; the KCL attribute name and type in comments. */
struct kin_lease {
	char *key;            /* leaseKey (S, hash key): the shard id */
	char *owner;          /* leaseOwner (S), NULL when nobody holds it */
	int64_t counter;      /* leaseCounter (N) */
	char *checkpoint;     /* checkpoint (S): a sequence number or
	                         TRIM_HORIZON, LATEST, SHARD_END; NULL absent */
	int64_t subseq;       /* checkpointSubSequenceNumber (N) */
	int64_t switches;     /* ownerSwitchesSinceCheckpoint (N) */
	char **parents;       /* parentShardId (SS) */
	size_t nparents;
	/* local, never stored: */
	int64_t seen_ms;      /* first sight of this counter value here; 0 for
	                         a lease first seen free (never renewed) */
	int held;             /* held by this worker (the manager's view) */
};

void kin_lease_free(struct kin_lease *l);
void kin_leases_free(struct kin_lease *v, size_t n);
int kin_lease_from_item(const struct kin_ddb_item *it, struct kin_lease *l,
    char *err);
int kin_lease_to_item(const struct kin_lease *l, struct kin_ddb_item *it,
    char *err);

/* Create the table (on-demand, hash key leaseKey) unless it exists, and
 * wait until it is ACTIVE. */
int kin_lease_ensure_table(struct kin_client *ddb, const char *table,
    int64_t timeout_ms, struct kin_awserr *ae, char *err);
/* All leases (a consistent scan), sorted by key; *pages as kin_ddb_scan. */
int kin_lease_scan(struct kin_client *ddb, const char *table,
    struct kin_lease **v, size_t *n, int *pages, struct kin_awserr *ae,
    char *err);

/* ---- the taker's rules, pure (unit-tested with a fake clock) ---- */

/* Carry seen_ms from the previous scan old[] into fresh[] (KCL
 * updateAllLeases): same counter keeps it, a new counter is seen now, a
 * lease new to us is seen now if owned, never (0) if free. */
void kin_lease_observe(struct kin_lease *fresh, size_t n,
    const struct kin_lease *old, size_t nold, int64_t now);
/* Free, or owned but its counter has not moved for failover_ms. */
int kin_lease_expired(const struct kin_lease *l, int64_t now,
    int64_t failover_ms);
int kin_lease_finished(const struct kin_lease *l);      /* SHARD_END */
/* 1 when every parent of v[i] that has a lease in v is finished. */
int kin_lease_ready(const struct kin_lease *v, size_t n, size_t i);

struct kin_lease_plan {
	int leases;           /* live: not finished, parents finished */
	int workers;          /* owners of unexpired live leases, and me */
	int target;
	int mine;
	int need;             /* target - mine */
	int available;        /* free or expired, ready, not held */
	int steal;            /* 1 when the picks are steals */
	const char *victim;   /* the worker stolen from (points into v) */
};

/* Which leases worker me should try to take now (KCL computeLeasesToTake):
 * indices into v in pick[0..return), at most maxpick.  max_steal >= 1;
 * max_leases 0 = no limit.  rng: xorshift state for the shuffles. */
size_t kin_lease_choose(const struct kin_lease *v, size_t n, const char *me,
    int64_t now, int64_t failover_ms, int max_steal, int max_leases,
    uint64_t *rng, size_t *pick, size_t maxpick, struct kin_lease_plan *plan);

/* ---- the manager a reader drives from its loop ---- */

struct kin_lease_cfg {
	const char *table;
	const char *worker;       /* this worker's id (leaseOwner) */
	int64_t failover_ms;      /* 0 = 10000 (KCL's default) */
	int64_t renew_ms;         /* 0 = failover / 3 */
	int64_t taker_ms;         /* 0 = failover; a pass that took or stole
	                             anything is followed by one after renew_ms */
	int max_steal;            /* 0 = 1 */
	int max_leases;           /* 0 = no limit */
	const char *initial;      /* checkpoint of new leases of shards with no
	                             parent lease: NULL = TRIM_HORIZON; LATEST
	                             makes leases for open shards only */
	int64_t (*clock)(void *ctx);  /* ms; NULL = CLOCK_MONOTONIC */
	void *clock_ctx;
	uint64_t seed;            /* 0 = from time and pid */
};

enum kin_lease_evtype { KIN_LEASE_EV_GAINED = 1, KIN_LEASE_EV_LOST };

struct kin_lease_event {
	enum kin_lease_evtype type;
	char shard[KIN_LEASE_IDLEN];
	int64_t counter;          /* leaseCounter held (GAINED) / last held */
	char checkpoint[KIN_LEASE_IDLEN]; /* GAINED: where to resume */
	int64_t subseq;
	int64_t at_ms;            /* readable from / not readable after */
	const char *why;          /* GAINED: "free" "expired" "stolen";
	                             LOST: "taken" "expired" "deleted"
	                             "released" "finished" */
	char from[KIN_LEASE_IDLEN]; /* GAINED: previous owner, "" if none */
};

struct kin_lease_held {
	char *shard;
	int64_t counter;          /* value in the table, as last written */
	int64_t renewed_ms;       /* sent time of the last successful write */
	int64_t start_ms;         /* readable from (after the fence) */
	int active;               /* GAINED reported */
	char *checkpoint;
	int64_t subseq;
	char *from;
	const char *how;
};

struct kin_lease_stats {
	long requests;            /* DynamoDB requests, all kinds */
	long renewals, takes, steals, scans, checkpoints, releases, creates;
	long failed;              /* requests that failed (not conditions) */
	long lost;                /* leases lost to others or to time */
};

struct kin_lease_mgr {
	char *table, *worker, *initial;
	int64_t failover_ms, renew_ms, taker_ms, guard_ms;
	int max_steal, max_leases;
	int64_t (*clock)(void *);
	void *clock_ctx;
	struct kin_client *ddb;   /* borrowed */
	struct kin_lease *all;    /* last scan, with observations */
	size_t nall;
	struct kin_lease_held *held;
	size_t nheld, capheld;
	struct kin_lease_event *ev;
	size_t evhead, nev, capev;
	int64_t next_take;
	uint64_t rng;
	struct kin_lease_stats st;
};

int kin_lease_mgr_init(struct kin_lease_mgr *m, struct kin_client *ddb,
    const struct kin_lease_cfg *cfg, char *err);
/* Frees memory only: leases still held stay in the table until they
 * expire (use kin_lease_release_all first for a clean stop). */
void kin_lease_mgr_release(struct kin_lease_mgr *m);

int64_t kin_lease_clock_ms(void);

/* Create the leases of shards that have none (shards as kin_list_shards
 * gives them).  Call at start and now and then (KCL: every minute) to pick
 * up resharding. */
int kin_lease_sync_shards(struct kin_lease_mgr *m,
    const struct kin_shard *s, size_t n, struct kin_awserr *ae, char *err);

/* Do what is due at now: drop leases not renewed in time, renew, run a
 * taker pass, report fenced leases readable.  *changed is set when events
 * were queued.  -1 with err (and ae) for the first request that failed;
 * the rest of the tick still ran, so the caller may warn and go on. */
int kin_lease_tick(struct kin_lease_mgr *m, int64_t now, int *changed,
    struct kin_awserr *ae, char *err);
/* Ms until the next tick has work (0 = now). */
int64_t kin_lease_next_due(const struct kin_lease_mgr *m, int64_t now);
/* Pop the oldest event into ev: 1, or 0 when there is none. */
int kin_lease_next_event(struct kin_lease_mgr *m, struct kin_lease_event *ev);
/* The readable shards: up to max pointers (valid until the next call into
 * the manager) into shards; returns how many there are. */
size_t kin_lease_owned(const struct kin_lease_mgr *m, const char **shards,
    size_t max);
/* 1 when shard may be read and emitted right now: held, fenced, and
 * renewed recently enough.  Check it before emitting a shard's records. */
int kin_lease_holds(const struct kin_lease_mgr *m, const char *shard,
    int64_t now);
/* Store a checkpoint (seq: a sequence number or SHARD_END) in the lease,
 * conditioned on the counter we hold; it counts as a renewal.  SHARD_END
 * also gives the lease up.  0, -1 with err (still held), or KIN_LEASE_LOST
 * (not ours: stop reading the shard; a LOST event is queued). */
int kin_lease_checkpoint(struct kin_lease_mgr *m, const char *shard,
    const char *seq, int64_t subseq, struct kin_awserr *ae, char *err);
/* Give every lease up (leaseOwner removed), for a clean stop; call after
 * the reader stopped reading and wrote its checkpoints.  LOST events
 * ("released") are queued. */
int kin_lease_release_all(struct kin_lease_mgr *m, struct kin_awserr *ae,
    char *err);

#endif
