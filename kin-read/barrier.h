/* barrier.h — kin-read's side of checkpoint barriers (DESIGN.md section 4).
 * In barrier mode (--barrier-interval with --checkpoint) kin-read never
 * writes the checkpoint file: kin-write commits each barrier's positions
 * there once everything before it is acknowledged, and kin-read reads the
 * file — at the start, to resume and to say `restore`, and while a barrier
 * is outstanding, to learn that it was committed.
 *
 * One barrier at a time: the next is held back until the one before is
 * committed (Flink's default of one concurrent checkpoint).  kin-window
 * keeps the snapshots of the last two barriers it saw; with at most one
 * uncommitted, the committed one is always among them.
 *
 * Ownership: struct barriers is the caller's (barriers_init ...
 * barriers_release); it borrows the table and writer. */
#ifndef KIN_READ_BARRIER_H
#define KIN_READ_BARRIER_H

#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"
#include "kin-read.h"
#include "metrics.h"
#include "out.h"
#include "shards.h"

struct barriers {
	const char *path;          /* the checkpoint file */
	const char *stream;
	struct table *t;
	struct writer *w;
	int64_t committed;         /* last barrier in the file, or -1 */
	int64_t emitted;           /* last barrier written this run, or -1 */
	int64_t emitted_us;        /* when (monotonic) */
	int warned;                /* "not committed yet" said once */
	struct stat seen;          /* the file when last read */
	struct kin_buf line;
	struct kin_metrics *met;   /* NULL, or where mi_barriers counts */
	int mi_barriers;
};

/* committed: the barrier id of the checkpoint kin-read resumes from, or
 * -1.  The file is read again only when it changes. */
void barriers_init(struct barriers *b, const char *path, const char *stream,
    struct table *t, struct writer *w, int64_t committed);
void barriers_release(struct barriers *b);
/* The start of a run: 0 when nobody else holds the checkpoint's lock (a
 * kin-write of another pipeline would), then `restore` written (with the
 * committed id, or without one: from nothing).  -1 with err; *busy is set
 * when the lock was the reason. */
int barriers_start(struct barriers *b, int *busy, char *err);
/* Read the file again if it changed: committed moves on.  -1 with err
 * when it cannot be read (committed stays). */
int barriers_poll(struct barriers *b, char *err);
/* 1 when a barrier may be written now: none written yet, or the last one
 * is committed. */
int barriers_ready(const struct barriers *b);
/* Write the next barrier with every shard's position.  0, -1 with err. */
int barriers_emit(struct barriers *b, char *err);

#endif
