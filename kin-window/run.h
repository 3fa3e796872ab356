/* run.h — kin-window's run: the options, the state of one run, and the
 * entry points of record.c (one line: a record or a control line) and
 * input.c (the read loop, clocks and signals). */
#ifndef KW_RUN_H
#define KW_RUN_H

#include <signal.h>
#include <string.h>

#include "kw.h"
#include "cli.h"
#include "metrics.h"

struct opts {
	struct kin_cli cli;
	char *key;
	char **agg;
	int nagg;
	char *ohlc;
	int64_t size, slide, gap, delay, lateness, idle;
	int has_size, has_slide, has_gap, has_idle;
	char *time_field, *tz, *late, *errors, *state, *format;
	enum time_fmt tfmt;
	int envelope;
	char *rename[4];   /* key, start, end, count */
	char *metrics;     /* --metrics FILE or "-" */
	int64_t metrics_interval;
	unsigned long long max_keys;   /* 0: no limit */
};

enum bad_kind { BAD_NOTOBJ, BAD_JSON, BAD_DEEP, BAD_LONG, BAD_NOKEY,
	BAD_NOTIME, BAD_TIME, BAD_NOFIELD, BAD_NOTNUM, BAD_MAXKEYS, BAD_N };
#define KW_QUEUE 16
/* A record read and checked, waiting to be added (record.c). */
struct pend {
	struct fval *v;            /* scanner output, one per field */
	double num[KW_MAXAGGS];
	int64_t ts;
	struct kin_buf key;        /* encoded key and its hash, when */
	uint64_t h;
	int keyready;              /* ... else key_id reads the field */
	int wready;                /* w0, w1: the words of that field */
	uint64_t w0, w1;           /* (words16), from the reader thread */
	const char *line;
	size_t len;
	long long lineno;
};

/* The reader thread (reader.c) hands lines over in batches, in input
 * order: a record taken apart, a bad line, a control line, a line over
 * the ceiling.  Each is a struct tup, then (records) its fields packed as
 * struct cfv and its numbers, at a fixed stride.  A record comes with
 * its event time read and, for a short plain key, the key's text as two
 * words: the main thread need not touch the line itself (the reader's
 * core has it in cache, the main thread's has not).  Lines point into
 * the mapped input. */
enum { TU_REC, TU_BAD, TU_CTL, TU_LONG };
struct tup {
	const char *line;
	int64_t ts;        /* TU_REC: event time, ms */
	union {
		struct { uint32_t koff, klen; } k;  /* keyready: the key in
						     * the batch's keys, its
						     * hash after it */
		uint64_t w[2];  /* else: words16 of the key's text */
	} u;
	uint32_t len;
	uint32_t skip;     /* blank lines just before it */
	uint8_t kind, keyready;
	uint8_t bad;       /* TU_BAD: enum bad_kind */
	int8_t slot;       /* detail of TU_BAD: -2 none, -1 "(key)", slot */
};
/* A struct fval without its number (the numbers come apart). */
struct cfv {
	uint32_t off;      /* from the start of the line */
	uint32_t nt;       /* n << 8 | esc << 4 | type */
};
struct batch {
	unsigned char *rec;   /* records, stride bytes each */
	size_t n, cap, stride, nf, nnum;
	struct kin_buf keys;
	uint64_t bytes;    /* input bytes of its lines */
};

/* Up to 16 bytes as two words, overlapping when n > 8: with n, equal
 * words mean equal bytes, and no byte past p + n is read. */
static inline void
words16(const char *p, size_t n, uint64_t *w0, uint64_t *w1)
{
	uint32_t a, b;

	*w0 = *w1 = 0;
	if (n >= 8) {
		memcpy(w0, p, 8);
		memcpy(w1, p + n - 8, 8);
	} else if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		*w0 = (uint64_t)a << 32 | b;
	} else {
		for (size_t i = 0; i < n; i++)
			*w0 = *w0 << 8 | (unsigned char)p[i];
	}
}

/* Recent keys of one plain string field, by text (record.c). */
#define KW_KCACHE_BITS 6
#define KW_KCACHE_KEYS 4096   /* more live keys: encode and fetch ahead */
struct kcache {
	uint64_t w0, w1;
	uint32_t n, kid;
};

struct run {
	struct opts *o;
	struct scanner sc;
	struct aggs g;
	struct win w;
	struct emitter em;
	struct timeparse tp;
	struct kin_tz tz;
	int has_tz;
	int keyslot[KW_MAXFIELDS], nkey;
	int timeslot;
	int req[KW_MAXFIELDS], nreq;
	struct pend q[KW_QUEUE];
	int qhead, qn;
	struct kcache kc[1 << KW_KCACHE_BITS];
	struct side { int fd; const char *path; struct kin_buf b; } latef, errf;
	const char *src;           /* input name for messages */
	long long lineno;
	uint64_t records, bad[BAD_N], late;
	long long bad_first[BAD_N];
	const char *bad_src[BAD_N];
	uint64_t controls;
	int64_t now_ms;            /* processing time of the current chunk */
	int64_t last_input_wall;   /* proc_ms of the last data record */
	int seen_barrier, seen_end;
	char *last_barrier;
	size_t last_barrier_len;
	char *keynames;            /* --key, split in place */
	char fingerprint[512];
	int64_t progress_us;       /* last -v progress line (monotonic) */
	uint64_t progress_records;
	int fail_status;           /* exit status for a failure, 0: 74 */
	/* --metrics: EMF lines; our counters are copied in at each tick */
	struct kin_metrics met;
	int mi_in, mi_out, mi_late, mi_plate, mi_bad, mi_ctl, mi_bytes,
	    mi_panes, mi_keys, mi_lag, mi_badk[BAD_N];
	uint64_t ms_in, ms_out, ms_late, ms_plate, ms_bad, ms_ctl, ms_bytes,
	    ms_badk[BAD_N];
	uint64_t bytes;
	int metrics_warned;
};

extern volatile sig_atomic_t got_term;
extern const char *bad_what[BAD_N];

/* record.c */
int kw_line(struct run *r, const char *p, size_t n, char *err);
/* Many lines at once, while they have the last line's shape; returns
 * where it stopped (a line for kw_line, or e), NULL on error. */
const char *kw_lines(struct run *r, const char *p, const char *e,
    size_t max, size_t *taken, char *err);
/* The rest of a scanned record (numbers, time unless ts is NULL, key
 * appended to key): 0, or 1 + its bad kind with the field's slot (-1:
 * the key). */
int kw_prep(struct run *r, const struct fval *v, double *num, int64_t *ts,
    struct kin_buf *key, uint64_t *h, int *keyready, uint32_t live,
    int *slot, char *err);
/* Everything in a batch from the reader thread, as kw_line would. */
int kw_batch(struct run *r, const struct batch *b, char *err);
/* Add every queued record (before anything that must follow them). */
int kw_drain(struct run *r, char *err);
void bad_record(struct run *r, enum bad_kind k, const char *detail,
    const char *p, size_t n);
void bad_record_at(struct run *r, long long lineno, enum bad_kind k,
    const char *detail, const char *p, size_t n);
int save_state(struct run *r, const char *id, size_t idlen, char *err);
/* Side files (--late, --errors): buffered appends of whole lines.
 * side_flush writes what is pending; -1 (reported) when a write failed. */
int side_open(struct side *s, const char *path, char *err);
int side_flush(struct side *s);
int side_close(struct side *s);

/* input.c */
enum { IN_EOF = 0, IN_ERR = -1, IN_TERM = -2 };
int64_t wall_ms(void);
int64_t proc_ms(void);     /* processing time (monotonic), ms */
/* -v: a progress line on stderr, at most once a second; and the
 * --metrics line when one is due. */
void progress(struct run *r);
int metrics_setup(struct run *r, char *err);
void metrics_tick(struct run *r, int flush);
int run_fd(struct run *r, int fd, char *err);
/* Mapped input read up to upto: its pages go back from *dropped on. */
void give_back(const char **dropped, const char *upto);

/* reader.c: a mapped file read by a second thread, when that pays.
 * use_thread: 0 one thread (processing time, a small file, one CPU,
 * KIN_WINDOW_THREADS=0); 1 two while they are faster; 2 two throughout
 * (KIN_WINDOW_THREADS=1); 3 two and one by turns, often (=flip, for
 * tests).  run_threaded reads [p, e) as kw_line would until the end, or
 * until two threads are not faster than one (*at: where to go on with
 * one thread; e when done).  It leaves the queue to the caller, and
 * gives pages back as it goes (give_back).
 * Returns IN_*. */
int use_thread(struct run *r, size_t size);
int run_threaded(struct run *r, const char *p, const char *e, int mode,
    const char **dropped, const char **at, char *err);

#endif
