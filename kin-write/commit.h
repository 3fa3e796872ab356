/* commit.h — kin-write's side of checkpoint barriers (DESIGN.md section 4):
 * with --checkpoint FILE, a barrier whose records are all acknowledged or
 * dead-lettered (batch.h) has its positions written to FILE, atomically
 * (common/ckpt.h), in input order.  kin-write is the file's one writer in
 * barrier mode: it holds FILE.lock from the first control line it reads
 * (a `restore` or a barrier: upstream's kin-read has checked the lock was
 * free by then) until it exits; a second one is refused.
 * Barrier mode starts with that first `restore` or barrier: from then on
 * an input that ends without `end` means upstream died — what was read is
 * still sent, but nothing past the last barrier is committed, and kin-write
 * exits 75.
 * Ownership: struct commit is the caller's (commit_init ... commit_release). */
#ifndef KW_COMMIT_H
#define KW_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct commit {
	const char *path;          /* --checkpoint, or NULL */
	int lock_fd;               /* FILE.lock once taken, else -1 */
	int mode;                  /* a restore or barrier was read */
	int ended;                 /* `end` read after the last barrier */
	int64_t last;              /* last barrier committed, or -1 */
	uint64_t committed;        /* barriers committed this run */
	int fatal;                 /* exit status of a failure, or 0 */
	char why[KIN_ERRLEN];      /* its message */
};

void commit_init(struct commit *c, const char *path);
void commit_release(struct commit *c);
/* A control line (with its RS, without the newline) as it is read.  The
 * first restore or barrier takes the lock.  0, or -1 with c->fatal and
 * c->why set. */
int commit_control(struct commit *c, const char *line, size_t len);
/* A barrier that is complete: everything read before it is acknowledged
 * or dead-lettered.  Its positions go to the file.  0, or -1 with
 * c->fatal (74 when the file cannot be written) and c->why set. */
int commit_barrier(struct commit *c, const char *line, size_t len);

#endif
