/* ckpt.h — shard positions and the checkpoint file (DESIGN.md section 4).
 * Per shard: where to resume (the last user record delivered: sequence and
 * sub-sequence number) or that the shard was closed and read to its end.
 * The same per-shard forms travel in `barrier` control lines (control.h).
 *
 * Who writes the file: `kin-read --checkpoint` alone writes it itself; in
 * barrier mode `kin-write --checkpoint` writes it (a barrier's positions,
 * once everything before the barrier is acknowledged) and kin-read only
 * reads it.  The writer holds an exclusive lock on FILE.lock for its run
 * (kin_ckpt_lock), so a second writer on the same file is refused, never
 * interleaved.  Writes are atomic: temp file, fsync, rename, fsync of the
 * directory, mode 0600.
 *
 * Ownership: struct kin_ckpt is the caller's (kin_ckpt_init, then load or
 * parse ..., kin_ckpt_release); it owns its entries and their ids.  Entries
 * handed to kin_ckpt_save/kin_ckpt_put_shards are only read. */
#ifndef KIN_CKPT_H
#define KIN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/* Kinesis sequence numbers are decimal strings of up to 128 digits. */
#define KIN_SEQ_MAX 129

/* Where a shard's reading starts (or resumes). */
enum kin_pos_kind {
	KIN_POS_NONE = 0,
	KIN_POS_TRIM,        /* TRIM_HORIZON */
	KIN_POS_LATEST,      /* LATEST */
	KIN_POS_AT_TS,       /* AT_TIMESTAMP ts_ms */
	KIN_POS_AT_SEQ,      /* AT_SEQUENCE_NUMBER seq */
	KIN_POS_AFTER,       /* after user record (seq, sub): AFTER_SEQUENCE_
	                        NUMBER when the record was delivered whole
	                        (more == 0), else AT_SEQUENCE_NUMBER skipping
	                        sub-records <= sub */
};

struct kin_pos {
	enum kin_pos_kind kind;
	int64_t ts_ms;
	long sub;
	int more;
	char seq[KIN_SEQ_MAX];
};

struct kin_ckpt_entry {
	char *id;              /* shard id */
	int done;              /* closed and read to its end */
	struct kin_pos pos;    /* when !done: KIN_POS_AFTER, _AT_SEQ, _AT_TS
	                          or _TRIM */
};

struct kin_ckpt {
	char *stream;
	int64_t barrier;       /* the barrier these positions are, or -1 */
	struct kin_ckpt_entry *e;
	size_t n;
};

void kin_ckpt_init(struct kin_ckpt *c);
void kin_ckpt_release(struct kin_ckpt *c);
/* 1 loaded, 0 when the file does not exist (c stays empty), -1 with err
 * when it cannot be read or is not a checkpoint. */
int kin_ckpt_load(struct kin_ckpt *c, const char *path, char *err);
const struct kin_ckpt_entry *kin_ckpt_find(const struct kin_ckpt *c,
    const char *id);
/* Replace path with these entries (barrier -1: none), atomically. */
int kin_ckpt_save(const char *path, const char *stream, int64_t barrier,
    const struct kin_ckpt_entry *e, size_t n, char *err);

/* The "shards" list as JSON, one entry a line: "[\n{...},\n{...}\n]". */
int kin_ckpt_put_shards(struct kin_buf *b, const struct kin_ckpt_entry *e,
    size_t n, char *err);
/* Take the list at token arr of j into c (appended to c->e). */
int kin_ckpt_parse_shards(struct kin_ckpt *c, const struct kin_json *j,
    int arr, char *err);
/* 1 if s is a sequence number (1 to 128 decimal digits). */
int kin_seq_valid(const char *s);

/* The writer's lock: an exclusive, non-blocking flock(2) on path.lock
 * (created mode 0600), held until kin_ckpt_unlock or exit.  1 with *fd
 * set, 0 when another process holds it, -1 with err. */
int kin_ckpt_lock(const char *path, int *fd, char *err);
void kin_ckpt_unlock(int fd);
/* 1 when nobody holds the lock now (it is taken and let go at once), 0
 * when someone does, -1 with err. */
int kin_ckpt_lock_free(const char *path, char *err);

#endif
