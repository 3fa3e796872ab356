/* kin-read.h — what kin-read's files share: the parsed options and the
 * start position of a shard.  The files: main.c options, run.c the main
 * thread, shards.c the shard table and who owns which shard, poll.c the
 * worker pool, step.c one GetRecords call on one shard, page.c parsing its
 * answer, deagg.c KPL records, out.c output lines and the one writer,
 * checkpoint.c the checkpoint file, list.c -L. */
#ifndef KIN_READ_H
#define KIN_READ_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

#define PROG "kin-read"

/* Kinesis sequence numbers are decimal strings of up to 128 digits. */
#define SEQ_MAX 129

/* Where a shard's reading starts (or resumes). */
enum pos_kind {
	POS_NONE = 0,
	POS_TRIM,        /* TRIM_HORIZON */
	POS_LATEST,      /* LATEST */
	POS_AT_TS,       /* AT_TIMESTAMP ts_ms */
	POS_AT_SEQ,      /* AT_SEQUENCE_NUMBER seq */
	POS_AFTER,       /* after user record (seq, sub): AFTER_SEQUENCE_NUMBER
	                    when the record was printed whole (more == 0), else
	                    AT_SEQUENCE_NUMBER skipping sub-records <= sub */
};

struct pos {
	enum pos_kind kind;
	int64_t ts_ms;
	long sub;
	int more;
	char seq[SEQ_MAX];
};

enum out_mode { OUT_RAW, OUT_JSON, OUT_FORMAT };

struct opts {
	struct kin_cli cli;
	struct pos from;           /* -o/--from, default latest */
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
};

#endif
