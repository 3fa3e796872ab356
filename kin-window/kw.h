/* kw.h — kin-window's internal contracts: the field scanner, aggregates,
 * the key map, the window engine and output.  One program, several files;
 * nothing here is part of libkin. */
#ifndef KW_H
#define KW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "parse.h"

#define KW_PROG "kin-window"
#define KW_MAXFIELDS 32        /* distinct input fields a run can use */
#define KW_MAXAGGS 64
#define KW_MAXDEPTH 512        /* nesting the scanner accepts */
#define KW_LINE_MAX ((size_t)1 << 20) + 4096  /* 1 MiB record + key */
#define KW_TIME_MIN (-62135596800000LL)  /* 0001-01-01, ms */
#define KW_TIME_MAX (253402300799999LL)  /* 9999-12-31, ms */

/* ---- scan.c, value.c: a few top-level fields of a JSON object, one pass */
enum fv_type { FV_NONE = 0, FV_STR, FV_NUM, FV_LIT, FV_OBJ, FV_ARR };
struct fval {
	const char *p;     /* strings: content without quotes; else raw text */
	uint32_t n;
	uint8_t type;      /* enum fv_type */
	uint8_t esc;       /* string has a backslash escape */
	uint8_t dok;       /* numbers: d holds the value (read on the way) */
	double d;
};
/* The shape of the last line read the slow way: the bytes between its
 * values (braces, names, colons, blanks, the quotes of strings) and the
 * kind of each value.  A line with the same bytes around values of the
 * same kinds is the same object with other values: it is read by
 * comparing those bytes. */
#define KW_SHAPE_MAX 16
#define KW_SHAPE_LIT 512
struct shape {
	int ok, n;
	uint16_t off[KW_SHAPE_MAX + 1], len[KW_SHAPE_MAX + 1];  /* n+1: tail */
	int8_t slot[KW_SHAPE_MAX];
	uint8_t type[KW_SHAPE_MAX];
	char lit[KW_SHAPE_LIT + 16];   /* + 16: compared 16 bytes at once */
	uint16_t used;
	uint64_t slots;    /* bit i: field slot i is among the values */
};
struct scanner {
	int nf;
	const char *name[KW_MAXFIELDS];
	uint32_t len[KW_MAXFIELDS];
	uint64_t lenmask;  /* bit (len & 63) set when some name has that len */
	struct kin_buf tmp;   /* unescaped field names */
	struct shape shape, learn;
	uint64_t fast, slow;  /* lines read each way (for -v) */
};
enum scan_rc { SCAN_OK = 0, SCAN_NOTOBJ = -1, SCAN_BADJSON = -2,
	SCAN_DEEP = -3 };
void scan_init(struct scanner *s);
void scan_release(struct scanner *s);
/* Slot of field name (added if new); -1 when KW_MAXFIELDS are used. */
int scan_field(struct scanner *s, const char *name);
int scan_record(struct scanner *s, const char *p, size_t n, struct fval *out);
/* The line at p read as the last shape, its end found on the way: returns
 * the end (the '\n' after the line, or e) or NULL when the line is not of
 * that shape (read it with scan_record).  Fills only the shape's slots. */
const char *scan_line(const struct scanner *s, const char *p, const char *e,
    struct fval *out);
/* End of the JSON number at p, or NULL. */
const char *kw_num_end(const char *p, const char *e);
extern const double kw_pow10[23];   /* 1e0 .. 1e22, exact */
/* A JSON number (or a string holding one) as a double: 0 or -1. */
int fval_num(const struct fval *v, double *out);
/* Raw JSON text of a value (strings with their quotes). */
void fval_raw(const struct fval *v, const char **p, size_t *n);

/* Event time: ISO text (RFC 3339 or zone-less local), epoch numbers. */
enum time_fmt { TF_AUTO = 0, TF_ISO, TF_EPOCH_S, TF_EPOCH_MS };
struct timeparse {
	enum time_fmt fmt;
	struct kin_tz *tz;     /* for zone-less ISO text; NULL = UTC */
	char cache[16];        /* "YYYY-MM-DDTHH:MM" last seen */
	int64_t cache_ms;      /* its start, UTC ms (local minute when tz) */
	int cache_ok;
	int cache_zoned;       /* -1: cache_off not computed for this minute */
	int64_t cache_off;     /* local minus UTC, ms, for zone-less text */
	char last[32];         /* the last text read, and its time */
	uint32_t last_n;       /* 0: none (an empty text never parses) */
	uint8_t last_type;
	int64_t last_ms;
};
void time_init(struct timeparse *t, enum time_fmt fmt, struct kin_tz *tz);
int time_parse(struct timeparse *t, const struct fval *v, int64_t *ms);
/* time_parse's first step, inline for the hot loops: 1 and *ms when v is
 * the text read last (16 to 32 bytes, as ISO times are), else 0. */
static inline int
time_parse_last(const struct timeparse *t, const struct fval *v,
    int64_t *ms)
{
	uint64_t a[4], b[4];
	size_t n = v->n;

	if (n != t->last_n || n < 16 || v->type != t->last_type || v->esc)
		return 0;
	memcpy(&a[0], v->p, 8);
	memcpy(&a[1], v->p + 8, 8);
	memcpy(&a[2], v->p + n - 16, 8);
	memcpy(&a[3], v->p + n - 8, 8);
	memcpy(&b[0], t->last, 8);
	memcpy(&b[1], t->last + 8, 8);
	memcpy(&b[2], t->last + n - 16, 8);
	memcpy(&b[3], t->last + n - 8, 8);
	if (((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) |
	    (a[3] ^ b[3])) != 0)
		return 0;
	*ms = t->last_ms;
	return 1;
}

/* ---- agg.c */
enum agg_fn { AG_COUNT, AG_SUM, AG_MIN, AG_MAX, AG_AVG, AG_FIRST, AG_LAST,
	AG_OPEN, AG_CLOSE, AG_HIGH, AG_LOW, AG_VWAP, AG_STDDEV, AG_PCT,
	AG_MAXBY, AG_MINBY };
struct aggspec {
	enum agg_fn fn;
	int field;          /* scanner slot, -1 for count */
	int field2;         /* vwap quantity slot */
	int numslot;        /* index into the per-record number array */
	int numslot2;
	double q;           /* quantile for AG_PCT */
	int sketch;         /* AG_PCT: spec index owning the sketch */
	size_t off;         /* state offset in a pane */
	char *name;         /* output name (owned) */
	char *fieldname;    /* owned */
};
/* A raw JSON value copied into a pane (first/last, max_by records). */
struct rv {
	char *p;
	uint32_t n, cap;
};
struct sketch;

struct aggs {
	int n;
	struct aggspec a[KW_MAXAGGS];
	size_t size;        /* bytes of aggregate state per pane */
	int nnum;           /* numbers parsed per record */
	int numfield[KW_MAXAGGS];  /* scanner slot of each number */
	int has_rv, has_sketch;
	int need_line;      /* max_by/min_by keep the record */
};
/* One record's inputs to the aggregates. */
struct recin {
	const struct fval *v;     /* scanner output */
	const double *num;        /* parsed numbers, by numslot */
	int64_t ts;               /* event (or processing) time, ms */
	uint64_t seq;             /* arrival number */
	const char *line;         /* the record, for max_by/min_by */
	size_t linelen;
};
/* Parse "FUNC[:FIELD][=NAME]" and add it; -1 with err. */
int aggs_add(struct aggs *g, struct scanner *sc, const char *spec, char *err);
int aggs_finish(struct aggs *g, char *err);   /* layout; after all adds */
void aggs_release(struct aggs *g);
/* State operations on the aggregate part of a pane (size bytes).
 * count is the pane's record count before this record. */
void agg_init(const struct aggs *g, unsigned char *st);
void agg_update(const struct aggs *g, unsigned char *st, uint64_t count,
    const struct recin *r);
/* Merge b into a.  owned: a and b own their buffers and b is dropped
 * after (buffers move); else a borrows b's (a temporary accumulator). */
void agg_merge(const struct aggs *g, unsigned char *a, uint64_t acount,
    unsigned char *b, uint64_t bcount, int owned);
void agg_free(const struct aggs *g, unsigned char *st);  /* owned state */
void agg_clear_borrowed(const struct aggs *g, unsigned char *st);
/* Output value of spec i. */
enum outv_type { OV_NULL, OV_NUM, OV_INT, OV_RAW };
struct outv {
	enum outv_type t;
	double d;
	int64_t i;
	const char *p;
	size_t n;
};
void agg_value(const struct aggs *g, int i, const unsigned char *st,
    uint64_t count, struct outv *o);
/* State file (de)serialisation of one pane's aggregates as JSON array
 * elements appended to b; load reads them back. */
int agg_save(const struct aggs *g, const unsigned char *st,
    struct kin_buf *b, char *err);
struct kin_json;
int agg_load(const struct aggs *g, unsigned char *st,
    const struct kin_json *j, int arr, char *err);

/* DDSketch-style log buckets, relative error KW_SKETCH_ALPHA. */
#define KW_SKETCH_ALPHA 0.0099
struct sketch *sketch_new(void);
void sketch_free(struct sketch *s);
void sketch_clear(struct sketch *s);
void sketch_add(struct sketch *s, double v);
void sketch_merge(struct sketch *a, const struct sketch *b);
double sketch_quantile(const struct sketch *s, double q);
int sketch_save(const struct sketch *s, struct kin_buf *b, char *err);
int sketch_load(struct sketch *s, const struct kin_json *j, int arr);

/* ---- keymap.c: key bytes -> dense id, open addressing */
struct kkey {
	uint64_t hash;
	int64_t mark;          /* last window end that gathered this key */
	uint32_t head, tail;   /* pane list, ascending start; 0 = none */
	uint32_t len;
	uint32_t npanes;
	union { char inl[16]; char *ptr; } b;
};
struct keymap {
	struct kkey *k;        /* k[0] unused: id 0 means none */
	uint32_t nk, capk, freek;  /* freek: free list through head */
	uint64_t *slot;        /* id | hash >> 32 << 32; 0 = empty */
	uint32_t mask;
	uint32_t live;
};
void keymap_init(struct keymap *m);
void keymap_release(struct keymap *m);
uint64_t kw_hash(const char *p, size_t n);
/* Id of key bytes, inserting when absent (*created = 1).  0 on no memory. */
uint32_t keymap_get(struct keymap *m, const char *p, size_t n, uint64_t h,
    int *created);
uint32_t keymap_find(const struct keymap *m, const char *p, size_t n,
    uint64_t h);
void keymap_del(struct keymap *m, uint32_t id);
static inline const char *
kkey_bytes(const struct kkey *k)
{
	return k->len <= sizeof k->b.inl ? k->b.inl : k->b.ptr;
}
/* Keys are encoded as, per field, a type byte ('s' string content, 'r' raw
 * JSON text), a 4-byte length and the bytes.  Order: field by field. */
int key_cmp(const char *a, size_t an, const char *b, size_t bn);

/* ---- window.c */
struct pane {
	int64_t start;      /* pane index, or session start (ms) */
	uint64_t count;
	uint32_t key;       /* 0 when free */
	uint32_t next;      /* next pane of the key; free list when free */
	/* sessions: a struct sess follows; then the aggregate state,
	 * aggs.size bytes, 8-aligned */
};
struct sess {
	int64_t end;        /* ms */
	uint32_t gen;       /* bumped on every change of end */
	uint32_t fired;     /* has fired at least once */
};
#define SX(p) ((struct sess *)(void *)((struct pane *)(uintptr_t)(p) + 1))
struct bucket {
	int64_t idx;
	uint32_t *keys;
	uint32_t n, cap;
};
struct emitter;

struct win {
	const struct aggs *g;
	int64_t size, slide, gran;   /* ms; gran = pane width */
	int64_t gap;                 /* session gap, 0 = sliding/tumbling */
	int64_t lateness;
	int64_t delay;
	int proctime;
	uint64_t max_keys;           /* live keys at most; 0 = no limit */
	/* time */
	int have_ts;
	int64_t max_ts;
	int64_t wm;                  /* INT64_MIN before any record */
	int64_t fired;               /* windows with end <= fired have fired */
	int64_t due;                 /* next firing (watermark value) */
	int64_t cleanup_due;         /* next pane cleanup */
	int due_dirty;               /* recompute due before comparing */
	uint64_t seq;
	int64_t pc_lo, pc_hi, pc_idx, pc_elast;   /* pane_of's last answer */
	int64_t pc_efirst;           /* ... and the end of its first window */
	/* panes */
	unsigned char *pool;
	size_t stride;
	size_t ext;                  /* sizeof(struct sess) for sessions */
	uint32_t npool, cappool, freep;
	struct keymap km;
	struct bucket *bk;
	size_t nbk, capbk;
	/* sessions: heap of (end, key, session pane) */
	struct sheap { int64_t when, end; uint32_t key, pane, gen, kind; } *heap;
	uint32_t gen;                /* last session generation handed out */
	size_t nheap, capheap;
	/* firing */
	struct firekey { uint64_t p1; uint32_t p2, id; } *fire;
	size_t nfire, capfire;
	unsigned char *acc;          /* accumulator, aggs.size bytes */
	struct emitter *em;
	uint64_t live_panes, peak_panes;
	uint64_t outside;            /* records in no window */
	uint64_t partly_late;        /* records added after some of their
	                              * windows were past their lateness */
};
int win_init(struct win *w, const struct aggs *g, struct emitter *em,
    char *err);
void win_release(struct win *w);
static inline struct pane *
win_pane(const struct win *w, uint32_t i)
{
	return (struct pane *)(void *)(w->pool + (size_t)i * w->stride);
}
static inline unsigned char *
pane_st(const struct win *w, const struct pane *p)
{
	return (unsigned char *)(uintptr_t)(p + 1) + w->ext;
}
/* Add a record: key bytes, time.  Returns 0 added, 1 late (all its windows
 * are past lateness), 2 a new key while max_keys are live (not added), -1
 * out of memory (err). */
int win_add(struct win *w, const char *key, size_t klen, uint64_t h,
    const struct recin *r, char *err);
/* The parts of win_add (sliding and tumbling windows only): is a record
 * at t late; add a record that is not late to key id kid. */
int win_late(struct win *w, int64_t t);
int win_add_id(struct win *w, uint32_t kid, const struct recin *r,
    char *err);
/* Move the watermark (event time) or the clock (processing time, now-1)
 * and fire what is due; 0 or -1 (output failed). */
int win_advance(struct win *w, int64_t wm, char *err);
/* Earliest time (event/processing ms) at which something would fire, or
 * INT64_MAX. */
int64_t win_next_due(const struct win *w);
/* Fire everything (end of input). */
int win_flush(struct win *w, char *err);
/* Make a pane as loaded from state (key bytes, start/end, count); returns
 * its aggregate state for the caller to fill, or NULL (err). */
unsigned char *win_load_pane(struct win *w, const char *key, size_t klen,
    int64_t start, int64_t end, uint64_t count, char *err);
/* Shared by window.c and session.c. */
uint32_t pane_new(struct win *w, uint32_t key);
void pane_free(struct win *w, uint32_t id);
extern const struct keymap *sort_km;   /* for cmp_keys under qsort */
int cmp_keys(const void *a, const void *b);
int sess_add(struct win *w, const char *key, size_t klen, uint64_t h,
    const struct recin *r, char *err);
int sess_advance(struct win *w, char *err);
int sess_schedule(struct win *w, uint32_t kid, uint32_t id);
/* Calls fn for every live pane (state saving). */
int win_each(const struct win *w, int (*fn)(void *ctx, const struct kkey *k,
    const struct pane *p), void *ctx);

/* ---- out.c */
enum tpl_kind { TP_LIT, TP_KEY, TP_KEYN, TP_START, TP_END, TP_COUNT,
	TP_AGG };
enum tpl_mod { TM_DEFAULT, TM_JAVA, TM_JSON, TM_MS };
struct tpl_part {
	enum tpl_kind k;
	enum tpl_mod mod;
	int arg;            /* agg index, key field index */
	char *lit;
	size_t litlen;
};
struct emitter {
	const struct aggs *g;
	int nkeyf;             /* key fields, 0 = --key none */
	char *keyname[KW_MAXFIELDS];
	const char *name_key, *name_start, *name_end, *name_count;
	int count_in_aggs;
	struct tpl_part *tpl;  /* NULL: JSON */
	int ntpl;
	int envelope;          /* -J */
	struct kin_tz *tz;     /* output zone, NULL = UTC */
	int fd;
	struct kin_buf out;    /* pending output */
	struct kin_buf scratch;
	uint64_t emitted;
	int failed, epipe;
	char tcache[2][64];    /* the last two times formatted */
	char *jname[KW_MAXAGGS + 4];  /* ,"name": for JSON (owned) */
	size_t jlen[KW_MAXAGGS + 4];
	size_t tcache_n[2];
	int64_t tcache_ms[2];
	int tcache_ok[2], tcache_next;
};
int emit_init(struct emitter *e, const struct aggs *g, int fd, char *err);
void emit_release(struct emitter *e);
int tpl_compile(struct emitter *e, const char *t, char *err);
/* One result line. */
int emit_window(struct emitter *e, const char *key, size_t klen,
    int64_t start, int64_t end, uint64_t count, const unsigned char *st,
    char *err);
int emit_raw(struct emitter *e, const char *p, size_t n, char *err);
int emit_flush(struct emitter *e, char *err);
/* num.c: Java's Double.toString (JDK 19+ rules) into dst (>= 32 bytes). */
size_t java_double(char *dst, double v);
/* v as the shortest JSON number into dst (>= 32 bytes); 0 when v has no
 * fast form (then use kin_json_put_num). */
size_t json_num_fast(char *dst, double v);
/* Decimal digits of m into dst (>= 20 bytes); returns their count. */
size_t kw_u64_str(char *dst, uint64_t m);
/* Key bytes (see key_cmp) as JSON: value, or array for several fields. */
int key_json(struct kin_buf *b, const char *k, size_t n, int nfields,
    char *err);
size_t fmt_time(char *dst, size_t n, int64_t ms, const struct kin_tz *tz);

/* ---- state.c */
int state_save(const char *path, const struct win *w, const char *barrier,
    size_t blen, const char *fingerprint, char *err);
/* Returns 1 loaded, 0 no file, -1 error.  want_barrier NULL = any. */
int state_load(const char *path, struct win *w, const char *fingerprint,
    const char *want_barrier, size_t wblen, char *err);

#endif
