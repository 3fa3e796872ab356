/* checkpoint.h — the --checkpoint file: per shard, where to resume (the
 * last user record printed and flushed: sequence and sub-sequence number) or
 * that the shard was closed and read to its end.  Written atomically (temp
 * file, fsync, rename, fsync of the directory) with mode 0600.
 * Ownership: struct ckpt is the caller's (init/load ... release). */
#ifndef KIN_READ_CHECKPOINT_H
#define KIN_READ_CHECKPOINT_H

#include <stddef.h>

#include "kin-read.h"

struct ckpt_entry {
	char *id;              /* shard id */
	int done;              /* closed and read to its end */
	struct pos pos;        /* when !done: POS_AFTER, POS_AT_SEQ, POS_AT_TS
	                          or POS_TRIM */
};

struct ckpt {
	char *stream;
	struct ckpt_entry *e;
	size_t n;
};

void ckpt_init(struct ckpt *c);
void ckpt_release(struct ckpt *c);
/* 1 loaded, 0 when the file does not exist (c stays empty), -1 with err
 * when it cannot be read or is not a checkpoint. */
int ckpt_load(struct ckpt *c, const char *path, char *err);
const struct ckpt_entry *ckpt_find(const struct ckpt *c, const char *id);
/* Replace path with these entries. */
int ckpt_save(const char *path, const char *stream,
    const struct ckpt_entry *e, size_t n, char *err);

#endif
