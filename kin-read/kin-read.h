/* kin-read.h — what kin-read's files share: the parsed options and the
 * start position of a shard.  The files: main.c options, run.c the main
 * thread, shards.c the shard table and who owns which shard, poll.c the
 * worker pool, step.c one GetRecords call on one shard, page.c parsing its
 * answer, deagg.c KPL records, out.c output lines and the one writer,
 * list.c -L; lease_owner.c --lease-table (lease_list.c its -L), efo_src.c
 * --efo; the checkpoint file is common/ckpt.c. */
#ifndef KIN_READ_H
#define KIN_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt.h"
#include "cli.h"

#define PROG "kin-read"

/* Shard positions are common/ckpt.h's (the checkpoint file and barrier
 * lines share them); kin-read's short names for them: */
#define SEQ_MAX KIN_SEQ_MAX
#define POS_NONE KIN_POS_NONE
#define POS_TRIM KIN_POS_TRIM
#define POS_LATEST KIN_POS_LATEST
#define POS_AT_TS KIN_POS_AT_TS
#define POS_AT_SEQ KIN_POS_AT_SEQ
#define POS_AFTER KIN_POS_AFTER

enum out_mode { OUT_RAW, OUT_JSON, OUT_FORMAT };

struct opts {
	struct kin_cli cli;
	struct kin_pos from;           /* -o/--from, default latest */
	int64_t until_ms;          /* --until, -1 if none */
	int exit_at_end;           /* -e */
	long long count;           /* -c, -1 if none */
	int limit;                 /* --limit, GetRecords Limit */
	char **shards;             /* --shard, repeatable */
	size_t nshards;
	long index_i, index_n;     /* --shard-index I/N, n = 0 if none */
	int list;                  /* -L */
	enum out_mode mode;        /* -J, -f */
	char *format;              /* -f FMT */
	char *checkpoint;          /* --checkpoint FILE */
	int64_t checkpoint_ms;     /* --checkpoint-interval */
	int64_t discovery_ms;      /* --discovery-interval */
	int64_t idle_ms;           /* --idle-wait */
	int threads;               /* --threads: concurrent GetRecords */
	int64_t barrier_ms;        /* --barrier-interval, 0 if none */
	char *metrics;             /* --metrics FILE or "-" */
	int64_t metrics_ms;        /* --metrics-interval */
	char *lease_table;         /* --lease-table: shards shared by leases */
	char *worker_id;           /* --worker-id, NULL for host:pid:random */
	int64_t failover_ms;       /* --failover-time */
	char *efo;                 /* --efo: enhanced fan-out consumer name */
	int efo_deregister;        /* --efo-deregister */
	/* SIGHUP (reload.c): main.c's parser again — the config file, then
	 * the command line over it — into fresh, which the caller releases
	 * with release.  0, or -1 with err. */
	int (*reparse)(const struct opts *o, struct opts *fresh, char *err);
	void (*release)(struct opts *o);
	int argc;
	char **argv;
};

#endif
