/* reader.c — a big mapped file on two threads.  The reader thread takes
 * lines apart (scanner, numbers, event time, key) into batches of
 * fixed-size tuples; the main thread adds records to their windows, fires
 * and writes, exactly as kw_line would have on one thread.  At most NBATCH
 * batches are in flight: the reader waits for one to come back. */
#include "run.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NBATCH 3
#define BATCH_RECS 4096
#define BATCH_BYTES ((size_t)1 << 19)  /* records of a batch */
#define BATCH_KEYS ((size_t)1 << 20)   /* a batch closes past this */
#define MIN_SIZE ((size_t)16 << 20)    /* smaller files: one thread */
#define SPIN 8000                      /* polls before sleeping */

/* What the threads share.  A batch belongs to the reader until it
 * publishes it (pub++) and to the main thread from then until it gives it
 * back (done++); pub and done are sequentially consistent atomics, so
 * what was written to a batch before is seen after.  A thread with
 * nothing to do polls a while, then sleeps on cv; the other wakes it
 * when it sees a sleeper after moving its counter (no lost wake-up: each
 * side writes its own atomic before reading the other's). */
struct feed {
	/* The reader's own copy of the run: the scanner it moves on, and
	 * the options and slots it reads, on cache lines the main thread
	 * never writes (a shared line would cost a miss per record). */
	struct run rr;
	const char *p, *e;         /* the mapped input */
	long long lineno;          /* reader: lines so far */
	struct slot { _Alignas(128) struct batch b; } b[NBATCH];
	_Alignas(128) _Atomic uint64_t pub;   /* reader's */
	_Atomic int eof;
	_Alignas(128) _Atomic uint64_t done;  /* main thread's */
	_Atomic int stop;
	_Atomic uint32_t live;     /* live keys, a hint for kw_prep */
	const char *pos;           /* reader: where it stopped (at eof) */
	_Alignas(128) pthread_mutex_t mu;
	pthread_cond_t cv;
	_Atomic int sleepers;
};

int
use_thread(struct run *r, size_t size)
{
	const char *env = getenv("KIN_WINDOW_THREADS");
	cpu_set_t cs;

	/* Processing time reads the clock between lines: one thread. */
	if (r->w.proctime || r->timeslot < 0)
		return 0;
	if (env != NULL && strcmp(env, "0") == 0)
		return 0;
	if (env != NULL && strcmp(env, "1") == 0)
		return 2;
	if (env != NULL && strcmp(env, "flip") == 0)   /* for tests */
		return 3;
	if (size < MIN_SIZE)
		return 0;
	if (sched_getaffinity(0, sizeof cs, &cs) == 0 && CPU_COUNT(&cs) < 2)
		return 0;
	return 1;
}

static inline void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static int
main_ready(struct feed *f, uint64_t done)
{
	return atomic_load(&f->pub) > done || atomic_load(&f->eof);
}

static int
reader_ready(struct feed *f, uint64_t pub)
{
	return atomic_load(&f->done) + NBATCH > pub || atomic_load(&f->stop);
}

/* Wait until ready(f, arg). */
static void
await(struct feed *f, int (*ready)(struct feed *, uint64_t), uint64_t arg)
{
	for (int i = 0; i < SPIN; i++) {
		if (ready(f, arg))
			return;
		/* on a shared CPU, let the other thread on */
		if (i % 64 == 63)
			sched_yield();
		else
			relax();
	}
	pthread_mutex_lock(&f->mu);
	atomic_fetch_add(&f->sleepers, 1);
	while (!ready(f, arg))
		pthread_cond_wait(&f->cv, &f->mu);
	atomic_fetch_sub(&f->sleepers, 1);
	pthread_mutex_unlock(&f->mu);
}

/* After moving a counter: wake the other thread if it sleeps. */
static void
wake(struct feed *f)
{
	if (atomic_load(&f->sleepers) > 0) {
		pthread_mutex_lock(&f->mu);
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
	}
}

/* Pack a record's fields (slots 0..nf-1 of v) after its tuple. */
static void
pack(struct batch *b, struct tup *t, const struct fval *v)
{
	struct cfv *cf = (struct cfv *)(void *)(t + 1);

	for (size_t j = 0; j < b->nf; j++) {
		cf[j].off = (uint32_t)(v[j].p - t->line);
		cf[j].nt = v[j].n << 8 | (uint32_t)v[j].esc << 4 | v[j].type;
	}
}

/* kw_prep for the reader: numbers, time and key (its hash after it in
 * the keys arena, or the words of a short one).  0 or 1 + bad kind. */
static int
prep(struct run *r, struct batch *b, struct tup *t, const struct fval *v,
    uint32_t live, int *slot)
{
	char err[KIN_ERRLEN];
	double *num = (double *)(void *)((struct cfv *)(void *)(t + 1) +
	    b->nf);
	size_t at = b->keys.len;
	uint64_t h = 0;
	int keyready = 0, rc;

	rc = kw_prep(r, v, num, &t->ts, &b->keys, &h, &keyready, live, slot,
	    err);
	t->keyready = (uint8_t)keyready;
	if (rc != 0 || !keyready) {
		b->keys.len = at;
		if (rc == 0) {
			const struct fval *k = &v[r->keyslot[0]];

			words16(k->p, k->n, &t->u.w[0], &t->u.w[1]);
		}
		return rc;
	}
	t->u.k.koff = (uint32_t)at;
	t->u.k.klen = (uint32_t)(b->keys.len - at);
	if (kin_buf_add(&b->keys, &h, sizeof h, err) < 0) {
		b->keys.len = at;
		*slot = -1;
		return 1 + BAD_JSON;
	}
	return 0;
}

/* prep's most common case, short: numbers read while scanned, a time
 * and one short plain key (the main thread finds it by its text).  1 when
 * done, 0 for prep. */
static inline int
quick(struct run *r, struct batch *b, struct tup *t,
    const struct fval *v, int qok)
{
	double *num = (double *)(void *)((struct cfv *)(void *)(t + 1) +
	    b->nf);
	const struct fval *k = &v[r->keyslot[0]];

	/* qok: one key, no gap, few live keys (the batch's) */
	if (!qok || k->type != FV_STR || k->esc || k->n > 16)
		return 0;
	for (int i = 0; i < r->g.nnum; i++) {
		const struct fval *x = &v[r->g.numfield[i]];

		if (x->type != FV_NUM || !x->dok)
			return 0;
		num[i] = x->d;
	}
	if (!time_parse_last(&r->tp, &v[r->timeslot], &t->ts) &&
	    time_parse(&r->tp, &v[r->timeslot], &t->ts) < 0)
		return 0;
	t->keyready = 0;
	words16(k->p, k->n, &t->u.w[0], &t->u.w[1]);
	return 1;
}

/* One line the slow way, as kw_line and enqueue take it: a tuple at the
 * end of b, or nothing (a blank line: *skip counts it). */
static void
slow_line(struct feed *f, struct batch *b, const char *p, size_t n,
    uint32_t live, uint32_t *skip)
{
	struct run *r = &f->rr;
	struct tup *t = (struct tup *)(void *)(b->rec + b->n * b->stride);
	struct fval v[KW_MAXFIELDS + 1];
	size_t i = 0;
	int rc, slot;

	f->lineno++;
	b->bytes += n + 1;
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	if (i == n) {   /* blank (a control line starts with 0x1e) */
		(*skip)++;
		return;
	}
	t->line = p;
	t->len = (uint32_t)n;
	t->skip = *skip;
	*skip = 0;
	b->n++;
	if (p[0] == 0x1e) {
		t->kind = TU_CTL;
		return;
	}
	t->kind = TU_BAD;
	t->slot = -2;
	rc = scan_record(&r->sc, p, n, v);
	if (rc != SCAN_OK) {
		t->bad = rc == SCAN_NOTOBJ ? BAD_NOTOBJ : rc == SCAN_DEEP ?
		    BAD_DEEP : BAD_JSON;
		return;
	}
	for (int k = 0; k < r->nreq; k++) {
		int s = r->req[k];

		if (v[s].type == FV_NONE) {
			t->bad = BAD_NOFIELD;
			for (int j = 0; j < r->nkey; j++)
				if (r->keyslot[j] == s)
					t->bad = BAD_NOKEY;
			if (s == r->timeslot)
				t->bad = BAD_NOTIME;
			t->slot = (int8_t)s;
			return;
		}
	}
	rc = prep(r, b, t, v, live, &slot);
	if (rc > 0) {
		t->bad = (uint8_t)(rc - 1);
		t->slot = (int8_t)slot;
		return;
	}
	t->kind = TU_REC;
	t->bad = 0;
	pack(b, t, v);
}

static void *
reader(void *arg)
{
	struct feed *f = arg;
	struct run *r = &f->rr;
	const char *p = f->p, *e = f->e;
	uint64_t all = r->sc.nf >= 64 ? ~(uint64_t)0 :
	    ((uint64_t)1 << r->sc.nf) - 1, pub = 0;
	uint32_t skip = 0;
	struct fval v[KW_MAXFIELDS + 1];

	while (p < e) {
		struct batch *b;
		uint32_t live;
		int qok;

		await(f, reader_ready, pub);
		if (atomic_load(&f->stop))
			break;
		b = &f->b[pub % NBATCH].b;
		live = atomic_load_explicit(&f->live, memory_order_relaxed);
		qok = r->nkey == 1 && !r->o->has_gap && live <= KW_KCACHE_KEYS;
		b->keys.len = 0;
		/* The counts stay in registers (stores to the tuples could
		 * alias them); the slow way works on b and f. */
		size_t n = 0, cap = b->cap, stride = b->stride;
		uint64_t bytes = 0, fast = 0;
		long long ln = f->lineno;
		int shaped = r->sc.shape.ok && (r->sc.shape.slots & all) == all;

		while (p < e && n < cap && b->keys.len < BATCH_KEYS) {
			struct tup *t = (struct tup *)(void *)(b->rec +
			    n * stride);
			const char *end, *nl;
			size_t len;
			int slot;

			/* Lines of the last shape (kw_lines); scan_line
			 * prefetches what is ahead. */
			if (shaped &&
			    (end = scan_line(&r->sc, p, e, v)) != NULL &&
			    (size_t)(end - p) <= KW_LINE_MAX &&
			    (quick(r, b, t, v, qok) ||
			    prep(r, b, t, v, live, &slot) == 0)) {
				fast++;
				t->kind = TU_REC;
				t->bad = 0;
				t->line = p;
				t->len = (uint32_t)(end - p);
				t->skip = skip;
				skip = 0;
				pack(b, t, v);
				ln++;
				bytes += (size_t)(end - p) + 1;
				n++;
				p = end + (end < e);
				continue;
			}
			/* One line the slow way (mapped_lines, kw_line). */
			b->n = n;
			b->bytes = bytes;
			f->lineno = ln;
			nl = memchr(p, '\n', (size_t)(e - p));
			len = nl ? (size_t)(nl - p) : (size_t)(e - p);
			if (len > KW_LINE_MAX) {
				t->kind = TU_LONG;
				t->line = p;
				t->len = 0;
				t->skip = skip;
				skip = 0;
				f->lineno++;
				b->n++;
			} else {
				slow_line(f, b, p, len, live, &skip);
			}
			p += len + (nl != NULL);
			n = b->n;
			bytes = b->bytes;
			ln = f->lineno;
			/* the slow way may have learnt a new shape */
			shaped = r->sc.shape.ok &&
			    (r->sc.shape.slots & all) == all;
		}
		b->n = n;
		b->bytes = bytes;
		f->lineno = ln;
		r->sc.fast += fast;
		atomic_store(&f->pub, ++pub);
		wake(f);
	}
	f->pos = p;
	atomic_store(&f->eof, 1);
	wake(f);
	return NULL;
}

static void
feed_release(struct feed *f)
{
	for (int i = 0; i < NBATCH; i++) {
		free(f->b[i].b.rec);
		kin_buf_release(&f->b[i].b.keys);
	}
	kin_buf_release(&f->rr.sc.tmp);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static struct feed *
feed_new(struct run *r, const char *p, size_t n)
{
	struct feed *f = aligned_alloc(128, sizeof *f);
	size_t nf = (size_t)r->sc.nf, nnum = (size_t)r->g.nnum;
	size_t stride = sizeof(struct tup) + nf * sizeof(struct cfv) +
	    nnum * sizeof(double), cap = BATCH_BYTES / stride;

	if (f == NULL)
		return NULL;
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	/* Only the scanner's name buffer is written through a pointer. */
	f->rr = *r;
	kin_buf_init(&f->rr.sc.tmp, KW_LINE_MAX);
	if (cap > BATCH_RECS)
		cap = BATCH_RECS;
	if (cap < 64)
		cap = 64;
	f->p = p;
	f->e = p + n;
	f->lineno = r->lineno;
	for (int i = 0; i < NBATCH; i++) {
		struct batch *b = &f->b[i].b;

		b->cap = cap;
		b->stride = stride;
		b->nf = nf;
		b->nnum = nnum;
		/* a key is at most a line: room for one past the mark */
		kin_buf_init(&b->keys, BATCH_KEYS + KW_LINE_MAX + 64);
		b->rec = aligned_alloc(64, (cap * stride + 63) & ~(size_t)63);
		if (b->rec == NULL) {
			feed_release(f);
			return NULL;
		}
	}
	atomic_init(&f->live, r->w.km.live);
	return f;
}

/* Does the second thread pay?  Only when the two threads run at once:
 * on a machine whose other CPU is busy they take turns on one, and one
 * thread alone is faster.  Every PROBE batches: CPU time of the two
 * threads over wall time; NPOOR poor ones in a row and the run goes on
 * alone.  Each thread's own clock: the process's clock counts another
 * thread's running time only at a scheduler tick (up to 4 ms late), and
 * PROBE batches take about 3 ms, so it often saw the reader idle when it
 * was not, and the run went on alone for a stretch. */
#define PROBE 16
#define NPOOR 3
struct probe {
	int64_t wall, cpu;         /* ns at the last look */
	clockid_t rclock;          /* the reader thread's CPU clock */
	int poor, looks;
};

static int64_t
ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
pays(struct probe *pr)
{
	int64_t w = ns(CLOCK_MONOTONIC), c = ns(CLOCK_THREAD_CPUTIME_ID) +
	    ns(pr->rclock);
	int64_t dw = w - pr->wall, dc = c - pr->cpu;

	pr->wall = w;
	pr->cpu = c;
	if (pr->looks++ == 0)      /* the first includes the start */
		return 1;
	/* 1.25 CPUs busy: the reader runs beside the main thread */
	pr->poor = 4 * dc < 5 * dw ? pr->poor + 1 : 0;
	return pr->poor < NPOOR;
}

/* The main thread maps the pages the reader is about to read (it has
 * time to spare while the reader scans; a page fault in the reader costs
 * the run its time).  Up to AHEAD bytes past the batch just taken, a
 * POPULATE chunk at a time; never past e.  *upto: mapped so far (page
 * aligned), NULL when the kernel cannot. */
#define POPULATE ((size_t)2 << 20)
#define AHEAD ((size_t)6 << 20)
static void
populate(const char **upto, const char *at, const char *e)
{
#ifdef MADV_POPULATE_READ
	while (*upto != NULL && *upto < e && (size_t)(*upto - at) < AHEAD) {
		size_t n = (size_t)(e - *upto) < POPULATE ? (size_t)(e - *upto) :
		    POPULATE;

		if (madvise((void *)(uintptr_t)*upto, n, MADV_POPULATE_READ) < 0) {
			*upto = NULL;   /* an older kernel: the reader faults */
			return;
		}
		*upto += n;
	}
#else
	(void)at, (void)e;
	*upto = NULL;
#endif
}

int
run_threaded(struct run *r, const char *p, const char *e, int mode,
    const char **dropped, const char **at, char *err)
{
	struct feed *f = feed_new(r, p, (size_t)(e - p));
	const char *prev = p, *mapped;
	struct probe pr = { 0, 0, CLOCK_PROCESS_CPUTIME_ID, 0, 0 };
	sigset_t all, old;
	pthread_t th;
	uint64_t done = 0;
	int rc = IN_EOF, started;

	*at = p;
	if (f == NULL)
		return IN_EOF;
	/* from the page of p (the mapping is page aligned) */
	mapped = p - ((uintptr_t)p & 4095);
	/* Signals (SIGTERM) are for the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	started = pthread_create(&th, NULL, reader, f) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!started) {
		feed_release(f);
		return IN_EOF;
	}
	if (pthread_getcpuclockid(th, &pr.rclock) != 0)
		mode = mode == 1 ? 2 : mode;   /* no clock: no probe */
	for (;;) {
		struct batch *b;

		await(f, main_ready, done);
		/* eof first: then pub is final */
		if (atomic_load(&f->eof) && atomic_load(&f->pub) == done)
			break;
		b = &f->b[done % NBATCH].b;
		if (got_term) {
			rc = IN_TERM;
			break;
		}
		if (kw_batch(r, b, err) < 0) {
			rc = IN_ERR;
			break;
		}
		atomic_store_explicit(&f->live, r->w.km.live,
		    memory_order_relaxed);
		/* Read pages go back up to the batch before this one: the
		 * queue may still hold a few records of it. */
		if (b->n > 0) {
			give_back(dropped, prev);
			prev = ((const struct tup *)(const void *)b->rec)->line;
			populate(&mapped, prev, e);
		}
		atomic_store(&f->done, ++done);
		wake(f);
		/* Not paying: the reader stops after its batch; the ones it
		 * published are still taken, then one thread goes on. */
		if (mode != 2 && done % PROBE == 0 && !atomic_load(&f->stop) &&
		    (!pays(&pr) || mode == 3)) {
			atomic_store(&f->stop, 1);
			wake(f);
		}
	}
	atomic_store(&f->stop, 1);
	wake(f);
	pthread_join(th, NULL);
	if (rc == IN_EOF) {
		*at = f->pos;
		r->lineno = f->lineno;   /* blank lines before pos count */
	}
	/* The shape learnt goes on. */
	r->sc.shape = f->rr.sc.shape;
	r->sc.learn = f->rr.sc.learn;
	r->sc.fast = f->rr.sc.fast;
	r->sc.slow = f->rr.sc.slow;
	feed_release(f);
	return rc;
}
