/* shards.h — the shards kin-read knows about, which of them this process
 * reads, and in what order: a child shard is read only after each of its
 * parents has been read to its end.
 * Ownership: struct table is the caller's (init/release); it owns its
 * shards, which live until table_release (workers keep pointers to them).
 * Every table_* function takes t->lock itself unless it says "_locked". */
#ifndef KIN_READ_SHARDS_H
#define KIN_READ_SHARDS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "kin-read.h"
#include "kinesis.h"

/* Who reads which shard.  The static owner below answers from --shard and
 * --shard-index; a lease-based owner (a lease table shared by several
 * processes) can implement the same three calls later. */
struct owner_ops {
	/* 1 if this process reads shard id (number: the NNN of shardId-NNN,
	 * i.e. its place among every shard the stream has had).  Asked once,
	 * when the shard is first seen. */
	int (*claim)(void *ctx, const char *id, long number);
	/* For a parent this process does not read: 1 once whoever reads it
	 * has read it to its end, so its children may start. */
	int (*parent_finished)(void *ctx, const char *id);
	/* This process read shard id to its end (a lease owner marks the
	 * lease SHARD_END and lets it go). */
	void (*finished)(void *ctx, const char *id);
};

struct owner {
	const struct owner_ops *ops;
	void *ctx;
};

struct static_owner {
	char **ids;            /* --shard, borrowed; NULL/0 for all */
	size_t nids;
	long i, n;             /* --shard-index I/N; n == 0 for none */
};
/* o answers from so (which must outlive o). */
void static_owner_init(struct owner *o, struct static_owner *so);

enum shard_state {
	SH_WAITING,            /* a parent has not been read to its end */
	SH_READY,              /* being read */
	SH_DONE,               /* closed and read to its end */
	SH_STOPPED,            /* reached the -e pin or --until */
};

struct shard {
	char *id, *parent, *adjacent;
	long number;
	int owned;
	int closed;            /* listed with an ending sequence number */
	int lineage;           /* in the checkpoint, or a descendant of one */
	enum shard_state state;
	const struct kin_ckpt_entry *ck;  /* its checkpoint entry, or NULL */
	/* Under the table lock: */
	struct kin_pos start;      /* where reading begins */
	struct kin_pos last;       /* last user record written (POS_AFTER), or
	                          POS_NONE */
	struct kin_pos committed;  /* barrier mode: its position in the last
	                              barrier committed, or POS_NONE */
	int committed_done;        /* ... which had it read to its end */
	int64_t millis_behind;
	long long records;
	int busy;              /* a worker is reading it */
	int64_t due_us;        /* monotonic time of its next call */
	/* The busy worker's alone: */
	char *iter;
	int skip;              /* drop sub-records <= skip_sub of skip_seq */
	char skip_seq[SEQ_MAX];
	long skip_sub;
	int64_t last_call_us;
	int throttles;         /* calls refused or failed in a row */
	int empty_tip;         /* empty pages at the tip in a row (-e, --until
	                          stop at the second) */
	int64_t failing_since_us;  /* 0, or when calls began to fail */
	int limit_cap;         /* 0, or a smaller --limit after an answer
	                          too large to take (halved each time) */
	/* With --lease-table (lease_owner.c): its records may be written
	 * until this monotonic ms, 0 = not at all; read and written with
	 * __atomic builtins, checked by t->gate. */
	int64_t lease_until_ms;
};

struct table {
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* CLOCK_MONOTONIC; broadcast on any change */
	struct shard **v;      /* sorted by id */
	size_t n, cap;
	struct owner *owner;
	int need_discovery;    /* a shard ended: look for its children */
	int stop;              /* workers leave */
	/* NULL, or whether shard s's records may be written now (its lease
	 * is valid), asked with the writer held: a refused page is dropped
	 * and the shard read again from its last record written. */
	int (*gate)(const void *s);
	int owner_pending;     /* the owner may yet hand this process shards
	                          (leases being taken): not the end of -e */
};

int table_init(struct table *t, struct owner *owner);
void table_release(struct table *t);

struct merge_cfg {
	const struct kin_pos *from;   /* -o for shards there at the start */
	const struct kin_ckpt *ckpt;  /* NULL or the loaded checkpoint */
	int initial;              /* the first discovery */
};
/* Take a ListShards answer: add the shards not yet known (deciding whether
 * this process reads them and where each begins), note the ones now
 * closed, and start the children whose parents are done.  Returns the
 * number of shards added. */
size_t table_merge(struct table *t, const struct kin_shard *s, size_t n,
    const struct merge_cfg *m);
/* A GetRecords answer named a child shard (the real service does on a
 * closed shard's last page). Lock held. */
void table_add_child_locked(struct table *t, const char *id,
    char *const *parents, size_t nparents);
/* Start every waiting shard whose parents are finished. Lock held. */
void table_update_locked(struct table *t);
struct shard *table_find_locked(struct table *t, const char *id);

/* Shards this process reads that are not finished (done or stopped). */
size_t table_active(struct table *t);
/* Entries for the checkpoint file, ids borrowed from the table: *out is
 * malloc'd (caller frees the array only). */
int table_snapshot(struct table *t, struct kin_ckpt_entry **out, size_t *n);

/* Monotonic clock in microseconds (the one t->cond waits on). */
int64_t mono_us(void);

#endif
