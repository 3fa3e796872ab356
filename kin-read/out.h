/* out.h — turning a record into its output line, and the one writer that
 * puts lines on stdout so that lines from concurrent shards never mix.
 * Ownership: struct out_fmt and struct writer are the caller's
 * (init/parse ... release). */
#ifndef KIN_READ_OUT_H
#define KIN_READ_OUT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "kin-read.h"

/* One user record, as it will be printed. */
struct out_rec {
	const char *shard;
	const char *seq;
	long sub;              /* sub-sequence number, 0 if not aggregated */
	const char *key;
	size_t keylen;
	const char *data;
	size_t len;
	int64_t arrival_ms;
};

/* -f FMT, parsed once into a list of literal pieces and fields. */
enum fmt_kind {
	F_LIT, F_DATA, F_KEY, F_SEQ, F_SHARD, F_TS_MS, F_TS_RFC, F_SUB,
};
struct fmt_op {
	enum fmt_kind kind;
	size_t off, len;       /* F_LIT: lit[off..off+len) */
};
struct out_fmt {
	struct fmt_op *ops;
	size_t n;
	char *lit;             /* literal bytes, escapes already decoded */
	size_t litlen;
	int lit_rs;            /* the format itself begins with 0x1E */
};

void out_fmt_init(struct out_fmt *f);
void out_fmt_release(struct out_fmt *f);
/* Parse FMT: %d data, %k key, %s sequence, %S shard, %T arrival ms,
 * %t arrival RFC 3339, %n sub-sequence, %% a percent sign; \n \r \t \\
 * \xNN escapes.  -1 with err on anything else. */
int out_fmt_parse(struct out_fmt *f, const char *s, char *err);

struct out_cfg {
	enum out_mode mode;
	const char *stream;
	struct out_fmt fmt;
};

enum {
	OUT_UNSAFE_NL = -2,    /* data (or key) holds a newline */
	OUT_UNSAFE_RS = -3,    /* the line would begin with 0x1E */
};
/* Append r's line (with its '\n') to b.  0, -1 with err when b's ceiling
 * is reached, or OUT_UNSAFE_* when the record cannot be one line in this
 * mode (b is then unchanged). */
int out_line(const struct out_cfg *c, const struct out_rec *r,
    struct kin_buf *b, char *err);
/* Why an OUT_UNSAFE_* record was refused, for the message. */
const char *out_unsafe_why(int rc);

/* The writer: one lock, one fd, the -c budget.  Writers take turns in
 * the order they arrived (a ticket taken before the lock): a plain mutex
 * let a worker that had just written come back from its next GetRecords
 * and take the lock again before the woken sibling ran, so under a slow
 * stdout one shard got more turns than the other and they drifted apart.
 * A writer alone never waits for its siblings. */
struct writer {
	pthread_mutex_t lock;
	pthread_cond_t turn;   /* signalled when serving moves on */
	unsigned long next;    /* the next ticket (atomic, taken unlocked) */
	unsigned long serving; /* the ticket whose turn it is (under lock) */
	int fd;
	long long limit;       /* -c, or -1 */
	long long count;       /* records written (stored atomically) */
	uint64_t bytes;        /* bytes written (stored atomically) */
	int err;               /* errno of the first failed write, or 0 */
};

void writer_init(struct writer *w, int fd, long long limit);
void writer_release(struct writer *w);
/* Write the first records of a batch in one go: record i of p ends at
 * ends[i].  Returns how many records were written — n, or fewer once the -c
 * budget is spent (0 when it already was) — or -1 when the write failed
 * (w->err says why; EPIPE means the reader went away). */
long writer_put(struct writer *w, const char *p, const size_t *ends,
    size_t n);
/* The same, then done(ctx, written) while the writer is still held when
 * written > 0: what the caller records there (a shard's position) is
 * exactly what a control line written after it sees. */
long writer_put_cb(struct writer *w, const char *p, const size_t *ends,
    size_t n, void (*done)(void *ctx, long written), void *ctx);
/* The same, but first gate(g) with the writer held: when it says no,
 * nothing is written and WRITER_REFUSED comes back.  A lease's fence is
 * checked here rather than before waiting for the writer, so a reader that
 * waited behind a blocked stdout writes nothing once its lease may be
 * another process's; and again before each piece of about WRITER_PIECE
 * bytes (whole records) of a long batch: when it says no there, the
 * records written so far are returned (and done(ctx, them)) and *cut is
 * set.  cut may be NULL. */
#define WRITER_REFUSED (-2)
#define WRITER_PIECE (64u * 1024)
long writer_put_gated(struct writer *w, const char *p, const size_t *ends,
    size_t n, int (*gate)(const void *g), const void *g,
    void (*done)(void *ctx, long written), void *ctx, int *cut);
/* A control line, built by make(ctx, b, err) into b (reset first) while
 * the writer is held, so nothing comes between what it describes and it;
 * not counted as a record.  0, or -1 with err (a write failure sets w->err
 * too). */
int writer_control(struct writer *w, struct kin_buf *b,
    int (*make)(void *ctx, struct kin_buf *b, char *err), void *ctx,
    char *err);
/* The counters, without waiting for a write in progress (each is whole,
 * the two may be a batch apart). */
void writer_stats(struct writer *w, long long *count, uint64_t *bytes);
/* 1 once the -c budget is spent; never waits for a write in progress. */
int writer_full(struct writer *w);

/* kin-read's end of a normal run (-e, --until, -c).  DESIGN.md section 4:
 * in barrier mode (--barrier-interval) it prints the `end` control line;
 * without barriers it prints nothing. */
int out_end(struct writer *w, int barrier_mode, char *err);

#endif
