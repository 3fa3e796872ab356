/* out.h — stdout for trade-gen: one big buffer of whole lines handed to
 * write(2) in large chunks.  A reader that goes away (EPIPE) is a normal
 * end; a stop request (SIGINT/SIGTERM) during a blocked write finishes the
 * line under way and drops the rest, so output always ends with a newline.
 * Ownership: struct tg_out is the caller's; tg_out_init() allocates the
 * buffer, tg_out_release() frees it. */
#ifndef TG_OUT_H
#define TG_OUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct tg_out {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
	size_t high;        /* flush once len passes this */
	uint64_t bytes;     /* written so far */
};

enum { TG_OUT_OK = 0, TG_OUT_CLOSED = 1, TG_OUT_ERR = -1 };

/* A buffer of cap bytes, flushed at cap - reserve (room for one more
 * record). */
int tg_out_init(struct tg_out *o, int fd, size_t cap, size_t reserve,
    char *err);
void tg_out_release(struct tg_out *o);
/* Write all buffered bytes: TG_OUT_OK, TG_OUT_CLOSED (the reader went
 * away), or TG_OUT_ERR with err filled. */
int tg_out_flush(struct tg_out *o, const volatile sig_atomic_t *stop,
    char *err);

#endif
