/* record.c — one input line: a control line (passed on in order, with
 * the state written on a barrier), or a data record taken apart by the
 * scanner, checked, keyed, timed and added to its windows; bad and late
 * records are counted, reported once per kind and kept in side files. */
#include "file.h"
#include "run.h"
#include "json.h"
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG KW_PROG

const char *bad_what[BAD_N] = {
	"not a JSON object", "invalid JSON", "nested too deeply",
	"line too long", "missing key field", "missing time field",
	"bad time", "missing field", "not a number", "too many keys",
};

int
side_open(struct side *s, const char *path, char *err)
{
	s->path = path;
	kin_buf_init(&s->b, (size_t)1 << 30);
	s->fd = -1;
	if (path == NULL)
		return 0;
	s->fd = kin_open_append_private(path);
	if (s->fd < 0 && errno == ELOOP)
		return kin_seterr(err, "cannot open '%s': a symbolic link: "
		    "refused", path);
	if (s->fd < 0)
		return kin_seterrno(err, errno, "cannot open '%s'", path);
	return 0;
}

int
side_flush(struct side *s)
{
	size_t off = 0;

	while (s->fd >= 0 && off < s->b.len) {
		ssize_t n = write(s->fd, s->b.p + off, s->b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			kin_warn(PROG, "cannot write to '%s': %s", s->path,
			    strerror(errno));
			close(s->fd);
			s->fd = -1;
			kin_buf_reset(&s->b);
			return -1;
		}
		off += (size_t)n;
	}
	kin_buf_reset(&s->b);
	return 0;
}

int
side_close(struct side *s)
{
	int rc = side_flush(s);

	if (s->fd >= 0 && close(s->fd) < 0) {
		kin_warn(PROG, "cannot write to '%s': %s", s->path,
		    strerror(errno));
		rc = -1;
	}
	s->fd = -1;
	kin_buf_release(&s->b);
	return rc;
}

static void
side_line(struct side *s, const char *p, size_t n)
{
	char err[KIN_ERRLEN];

	if (s->fd < 0)
		return;
	if (kin_buf_add(&s->b, p, n, err) < 0 ||
	    kin_buf_addc(&s->b, '\n', err) < 0) {
		/* over the ceiling: write what is there, then this line */
		if (side_flush(s) < 0)
			return;
		if (kin_buf_add(&s->b, p, n, err) < 0 ||
		    kin_buf_addc(&s->b, '\n', err) < 0)
			return;
	}
	if (s->b.len >= (1 << 16))
		(void)side_flush(s);
}

void
bad_record_at(struct run *r, long long lineno, enum bad_kind k,
    const char *detail, const char *p, size_t n)
{
	if (r->bad[k]++ == 0) {
		r->bad_first[k] = lineno;
		r->bad_src[k] = r->src;
		if (!r->o->cli.quiet)
			kin_warn(PROG, "%s:%lld: %s%s%s (reported once; later "
			    "ones are counted)", r->src, lineno, bad_what[k],
			    detail ? " " : "", detail ? detail : "");
	} else if (r->o->cli.verbose) {
		kin_warn(PROG, "%s:%lld: %s%s%s", r->src, lineno,
		    bad_what[k], detail ? " " : "", detail ? detail : "");
	}
	side_line(&r->errf, p, n);
}

void
bad_record(struct run *r, enum bad_kind k, const char *detail,
    const char *p, size_t n)
{
	bad_record_at(r, r->lineno, k, detail, p, n);
}

static char quoted[300];

static const char *
qname(const char *s)
{
	snprintf(quoted, sizeof quoted, "'%s'", s);
	return quoted;
}

/* ---- control lines (DESIGN.md section 1 and 4) */

int
save_state(struct run *r, const char *id, size_t idlen, char *err)
{
	return state_save(r->o->state, &r->w, id, idlen, r->fingerprint, err);
}

/* A fresh window set with r's options, holding nothing. */
static int
win_fresh(struct run *r, struct win *fresh, char *err)
{
	memset(fresh, 0, sizeof *fresh);
	fresh->size = r->w.size, fresh->slide = r->w.slide;
	fresh->gran = r->w.gran, fresh->gap = r->w.gap;
	fresh->lateness = r->w.lateness, fresh->delay = r->w.delay;
	fresh->proctime = r->w.proctime;
	fresh->max_keys = r->w.max_keys;
	return win_init(fresh, &r->g, &r->em, err);
}

static void
note_barrier(struct run *r, const char *id, size_t idlen)
{
	r->seen_barrier = 1;
	r->seen_end = 0;     /* a new run needs its own end */
	free(r->last_barrier);
	r->last_barrier = NULL;
	r->last_barrier_len = 0;
	if (id && (r->last_barrier = malloc(idlen)) != NULL) {
		memcpy(r->last_barrier, id, idlen);
		r->last_barrier_len = idlen;
	}
}

/* restore: the state of that barrier, or none at all without an id. */
static int
restore(struct run *r, const char *id, size_t idlen, char *err)
{
	struct win fresh;
	int rc;

	if (win_fresh(r, &fresh, err) < 0)
		return -1;
	if (id != NULL) {
		rc = state_load(r->o->state, &fresh, r->fingerprint, id, idlen,
		    err);
		if (rc == 0)
			kin_seterr(err, "restore %.*s: no state file '%s' (nor "
			    "'%s.prev')", (int)idlen, id, r->o->state,
			    r->o->state);
		if (rc <= 0) {
			/* Going on empty would drop the windows that barrier
			 * holds: stop, and say so. */
			win_release(&fresh);
			r->fail_status = KIN_EX_DATAERR;
			return -1;
		}
	}
	win_release(&r->w);
	r->w = fresh;
	note_barrier(r, id, idlen);
	/* Saved again as the newest: the next barrier's save keeps it as
	 * FILE.prev, where a restore to it can still find it, whatever the
	 * files held of barriers that were never committed. */
	return id != NULL ? save_state(r, id, idlen, err) : 0;
}

static int
control_line(struct run *r, const char *p, size_t n, char *err)
{
	struct kin_ctl c;
	int rc = 0;
	const char *id = NULL;
	size_t idlen = 0;
	char why[KIN_ERRLEN];

	r->controls++;
	kin_ctl_init(&c);
	/* one that does not parse is passed on like any unknown type */
	if (kin_ctl_parse(&c, p, n, 0, why) == 0) {
		if (c.has_id) {
			id = c.id_raw;
			idlen = c.id_rawlen;
		}
		if (c.type == KIN_CTL_BARRIER) {
			note_barrier(r, id, idlen);
			/* Results before the barrier go out first: the
			 * snapshot holds only what is not out yet. */
			if (r->o->state && ((rc = emit_flush(&r->em, err)) < 0 ||
			    (rc = save_state(r, id, idlen, err)) < 0))
				goto out;
		} else if (c.type == KIN_CTL_END) {
			r->seen_end = 1;
			if ((rc = win_flush(&r->w, err)) < 0)
				goto out;
			/* Whatever follows is a new run: time starts over. */
			r->w.wm = r->w.fired = r->w.max_ts = INT64_MIN;
			r->w.have_ts = 0;
			r->w.due_dirty = 1;
		} else if (c.type == KIN_CTL_RESTORE) {
			/* upstream runs barriers: an EOF without end is its
			 * death from now on, even before the first barrier */
			if (!r->o->state)
				note_barrier(r, id, idlen);
			else if ((rc = restore(r, id, idlen, err)) < 0)
				goto out;
		}
	}
	(void)side_flush(&r->latef);
	(void)side_flush(&r->errf);
	rc = emit_raw(&r->em, p, n, err);
	if (rc == 0)
		rc = emit_raw(&r->em, "\n", 1, err);
	if (rc == 0)
		rc = emit_flush(&r->em, err);
out:
	kin_ctl_release(&c);
	return rc;
}

/* ---- one data record */

/* Appends the encoded key to k (callers start it empty, or at the end of
 * an arena of keys). */
static int
build_key(struct run *r, struct kin_buf *k, const struct fval *v, char *err)
{
	/* the key is bytes with lengths, never a C string */
	for (int i = 0; i < r->nkey; i++) {
		const struct fval *f = &v[r->keyslot[i]];
		size_t at = k->len;
		uint32_t l;

		if (k->cap - k->len < 5 + (size_t)f->n + 2 &&
		    kin_buf_reserve(k, 5 + f->n + 2, err) < 0)
			return -1;
		k->len += 5;
		if (f->type == FV_STR && !f->esc) {
			k->p[at] = 's';
			memcpy(k->p + k->len, f->p, f->n);
			k->len += f->n;
		} else if (f->type == FV_STR) {
			k->p[at] = 's';
			if (kin_json_unescape(f->p, f->n, k, err) < 0)
				return -1;
		} else {
			const char *p;
			size_t n;

			k->p[at] = 'r';
			fval_raw(f, &p, &n);
			memcpy(k->p + k->len, p, n);
			k->len += n;
		}
		l = (uint32_t)(k->len - at - 5);
		memcpy(k->p + at + 1, &l, 4);
	}
	return 0;
}

/* Records go through a short queue: read and checked on the way in, added
 * to their windows on the way out.  While a record waits, the hash slot,
 * the key and the pane it will touch are fetched into the cache, so with a
 * million keys the memory waits of several records overlap.  The order of
 * records is unchanged; anything that must see all records before it (a
 * control line, a read that may move the buffer, the clock, the end)
 * drains the queue first. */

/* The rest of a scanned line: numbers, time, key, hash.  0 when it is
 * ready to queue; else its bad kind (the slot of the field in *slot).
 * Nothing here changes the run: the reader thread calls it too, with a
 * copy of the live key count (only a hint), an arena of keys and no ts
 * (the time parser stays with the main thread). */
int
kw_prep(struct run *r, const struct fval *v, double *num, int64_t *ts,
    struct kin_buf *key, uint64_t *h, int *keyready, uint32_t live,
    int *slot, char *err)
{
	size_t base = key->len;

	for (int i = 0; i < r->g.nnum; i++)
		if (fval_num(&v[r->g.numfield[i]], &num[i]) < 0) {
			*slot = r->g.numfield[i];
			return 1 + BAD_NOTNUM;
		}
	if (ts == NULL) {
		/* the reader thread: time is parsed by the main thread */
	} else if (r->timeslot >= 0) {
		if (time_parse(&r->tp, &v[r->timeslot], ts) < 0) {
			*slot = r->timeslot;
			return 1 + BAD_TIME;
		}
	} else {
		*ts = r->now_ms;
	}
	/* One plain string key, few keys: dequeue finds its id by its text
	 * (key_id); else the encoded key and its hash now, so the key map
	 * can be fetched ahead. */
	*keyready = 0;
	if (r->nkey == 1 && v[r->keyslot[0]].type == FV_STR &&
	    !v[r->keyslot[0]].esc && v[r->keyslot[0]].n <= 16 &&
	    live <= KW_KCACHE_KEYS && !r->o->has_gap)
		return 0;
	if (build_key(r, key, v, err) < 0) {
		key->len = base;
		*slot = -1;
		return 1 + BAD_JSON;
	}
	*h = kw_hash(key->p ? key->p + base : "", key->len - base);
	*keyready = 1;
	return 0;
}

static int
prep(struct run *r, struct pend *q, int *slot, char *err)
{
	q->key.len = 0;
	q->wready = 0;
	return kw_prep(r, q->v, q->num, &q->ts, &q->key, &q->h, &q->keyready,
	    r->w.km.live, slot, err);
}

/* Queue the record prepared at the tail. */
static void
commit(struct run *r, struct pend *q, const char *p, size_t n)
{
	q->line = p;
	q->len = n;
	q->lineno = r->lineno;
	if (r->w.km.slot && q->keyready)
		__builtin_prefetch(&r->w.km.slot[(uint32_t)q->h & r->w.km.mask]);
	r->qn++;
}

/* Take a line apart and queue it; bad lines are reported here. */
static int
enqueue(struct run *r, const char *p, size_t n, char *err)
{
	struct pend *q = &r->q[(r->qhead + r->qn) % KW_QUEUE];
	struct fval *v = q->v;
	int rc, slot;

	rc = scan_record(&r->sc, p, n, v);
	if (rc != SCAN_OK) {
		bad_record(r, rc == SCAN_NOTOBJ ? BAD_NOTOBJ : rc == SCAN_DEEP ?
		    BAD_DEEP : BAD_JSON, NULL, p, n);
		return 0;
	}
	for (int i = 0; i < r->nreq; i++) {
		int s = r->req[i];

		if (v[s].type == FV_NONE) {
			enum bad_kind k = BAD_NOFIELD;

			for (int j = 0; j < r->nkey; j++)
				if (r->keyslot[j] == s)
					k = BAD_NOKEY;
			if (s == r->timeslot)
				k = BAD_NOTIME;
			bad_record(r, k, qname(r->sc.name[s]), p, n);
			return 0;
		}
	}
	rc = prep(r, q, &slot, err);
	if (rc > 0) {
		bad_record(r, (enum bad_kind)(rc - 1), slot >= 0 ?
		    qname(r->sc.name[slot]) : "(key)", p, n);
		return 0;
	}
	commit(r, q, p, n);
	return 0;
}

/* Fetch ahead for the queued record at position i (0 = oldest). */
static void
prefetch_stage(struct run *r, int i, int stage)
{
	const struct pend *q = &r->q[(r->qhead + i) % KW_QUEUE];
	const struct keymap *m = &r->w.km;
	uint64_t sl;
	uint32_t id;

	if (m->slot == NULL || !q->keyready)
		return;
	sl = m->slot[(uint32_t)q->h & m->mask];
	id = (uint32_t)sl;
	if (id == 0 || (uint32_t)(sl >> 32) != (uint32_t)(q->h >> 32) ||
	    id >= m->nk)
		return;
	if (stage == 1) {
		__builtin_prefetch(&m->k[id]);
	} else if (m->k[id].tail != 0 && m->k[id].tail < r->w.npool) {
		const struct pane *pn = win_pane(&r->w, m->k[id].tail);

		__builtin_prefetch(pn);
		__builtin_prefetch(pane_st(&r->w, pn));
	}
}

/* Key ids of recent one-string keys, by their text: most runs have few
 * keys, and then a record's key needs neither its encoded bytes nor their
 * hash.  An entry is only a guess, checked against the key map. */
static inline struct kcache *
kc_slot(struct run *r, uint64_t w0, uint64_t w1, uint32_t n)
{
	return &r->kc[((w0 ^ w1 * 0x9e3779b97f4a7c15ULL ^ n) *
	    0xbf58476d1ce4e5b9ULL) >> (64 - KW_KCACHE_BITS)];
}

/* The id of the record's key, new or not; 0 and *full when the key is
 * new and --max-keys keys are live, 0 alone when out of memory (err). */
static uint32_t
key_id(struct run *r, struct pend *q, int *full, char *err)
{
	struct keymap *m = &r->w.km;
	struct kcache *c = NULL;
	uint64_t w0 = 0, w1 = 0;
	uint32_t kid;
	int created;

	*full = 0;
	if (!q->keyready) {
		const struct fval *f = &q->v[r->keyslot[0]];

		if (q->wready)
			w0 = q->w0, w1 = q->w1;
		else
			words16(f->p, f->n, &w0, &w1);
		c = kc_slot(r, w0, w1, f->n);
		if (c->n == f->n && c->w0 == w0 && c->w1 == w1 &&
		    c->kid < m->nk) {
			const struct kkey *k = &m->k[c->kid];
			const char *kb = kkey_bytes(k);
			uint64_t x0, x1;

			if (k->len == f->n + 5 && kb[0] == 's') {
				words16(kb + 5, f->n, &x0, &x1);
				if (x0 == w0 && x1 == w1)
					return c->kid;
			}
		}
		q->key.len = 0;
		if (build_key(r, &q->key, q->v, err) < 0)
			return 0;
		q->h = kw_hash(q->key.p ? q->key.p : "", q->key.len);
		q->keyready = 1;
	}
	kid = keymap_find(m, q->key.p ? q->key.p : "", q->key.len, q->h);
	if (kid == 0) {
		if (r->w.max_keys && m->live >= r->w.max_keys) {
			*full = 1;
			return 0;
		}
		kid = keymap_get(m, q->key.p ? q->key.p : "", q->key.len, q->h,
		    &created);
		if (kid == 0) {
			kin_seterr(err, "out of memory");
			return 0;
		}
	}
	if (c != NULL) {
		c->w0 = w0;
		c->w1 = w1;
		c->n = q->v[r->keyslot[0]].n;
		c->kid = kid;
	}
	return kid;
}

/* A record of a new key over --max-keys: rejected like a bad one. */
static void
key_full(struct run *r, const struct pend *q)
{
	char what[48];

	snprintf(what, sizeof what, "(--max-keys %llu)",
	    (unsigned long long)r->w.max_keys);
	bad_record_at(r, q->lineno, BAD_MAXKEYS, what, q->line, q->len);
}

/* Add the oldest queued record to its windows. */
static int
dequeue(struct run *r, char *err)
{
	struct pend *q = &r->q[r->qhead];
	struct recin in;
	int rc, full = 0;

	r->qhead = (r->qhead + 1) % KW_QUEUE;
	r->qn--;
	in.ts = q->ts;
	in.v = q->v;
	in.num = q->num;
	in.seq = r->w.seq + 1;
	in.line = q->line;
	in.linelen = q->len;
	if (r->w.gap) {
		if (!q->keyready) {
			q->key.len = 0;
			if (build_key(r, &q->key, q->v, err) < 0)
				return -1;
			q->h = kw_hash(q->key.p ? q->key.p : "", q->key.len);
		}
		rc = win_add(&r->w, q->key.p ? q->key.p : "", q->key.len, q->h,
		    &in, err);
		full = rc == 2;
	} else if (win_late(&r->w, in.ts)) {
		rc = 1;
	} else {
		uint32_t kid = key_id(r, q, &full, err);

		rc = kid ? win_add_id(&r->w, kid, &in, err) : full ? 2 : -1;
	}
	if (rc < 0)
		return -1;
	if (full) {
		/* Its time still moves the watermark: else input of new keys
		 * only would hold every window, and every key, open. */
		key_full(r, q);
	} else {
		r->w.seq++;
		r->records++;
	}
	if (rc == 1) {
		r->late++;
		if (r->o->cli.verbose > 1)
			kin_warn(PROG, "%s:%lld: late record", r->src,
			    q->lineno);
		side_line(&r->latef, q->line, q->len);
		return 0;
	}
	if (r->timeslot >= 0 && (!r->w.have_ts || in.ts > r->w.max_ts)) {
		r->w.have_ts = 1;
		r->w.max_ts = in.ts;
		if (win_advance(&r->w, in.ts - r->w.delay, err) < 0)
			return -1;
	}
	return 0;
}

int
kw_drain(struct run *r, char *err)
{
	while (r->qn > 0)
		if (dequeue(r, err) < 0)
			return -1;
	return 0;
}

/* A record was queued: fetch ahead for the ones before it, and add the
 * oldest once the queue is full.  The newest had its slot fetched; the
 * one 5 places older gets its key, the one 10 older its pane. */
static inline int
step(struct run *r, char *err)
{
	if (r->qn > 5)
		prefetch_stage(r, r->qn - 1 - 5, 1);
	if (r->qn > 10)
		prefetch_stage(r, r->qn - 1 - 10, 2);
	if (r->qn == KW_QUEUE - 1)
		return dequeue(r, err);
	return 0;
}

int
kw_line(struct run *r, const char *p, size_t n, char *err)
{
	if ((++r->lineno & 0xffff) == 0)
		progress(r);
	r->bytes += n + 1;
	if (n > 0 && p[0] == 0x1e)
		return kw_drain(r, err) < 0 ? -1 : control_line(r, p, n, err);
	/* Blank lines separate nothing in NDJSON: skipped silently. */
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	if (i == n)
		return 0;
	if (enqueue(r, p, n, err) < 0)
		return -1;
	return step(r, err);
}

/* Lines shaped like the last one (scan.c), read straight from the
 * buffer: the scanner finds each line's end as it goes, so no search for
 * the newline and no second pass.  A line it cannot take whole (another
 * shape, a value to check, a control line) stops it untouched, for
 * kw_line.  At most max lines; *taken says how many.  Returns where it
 * stopped, or NULL (err). */
const char *
kw_lines(struct run *r, const char *p, const char *e, size_t max,
    size_t *taken, char *err)
{
	uint64_t all = r->sc.nf >= 64 ? ~(uint64_t)0 :
	    ((uint64_t)1 << r->sc.nf) - 1;
	size_t k = 0;

	/* Only a shape that holds every field needed. */
	if (!r->sc.shape.ok || (r->sc.shape.slots & all) != all)
		goto out;
	for (; k < max && p < e; k++) {
		struct pend *q = &r->q[(r->qhead + r->qn) % KW_QUEUE];
		const char *end = scan_line(&r->sc, p, e, q->v);
		int slot;

		/* over the ceiling: the slow way says so (as for a pipe) */
		if (end == NULL || (size_t)(end - p) > KW_LINE_MAX ||
		    prep(r, q, &slot, err) != 0)
			break;
		if ((++r->lineno & 0xffff) == 0)
			progress(r);
		r->sc.fast++;
		r->bytes += (size_t)(end - p) + 1;
		commit(r, q, p, (size_t)(end - p));
		if (step(r, err) < 0)
			return NULL;
		p = end + (end < e);
	}
out:
	*taken = k;
	return p;
}

/* A batch from the reader thread: each tuple goes where kw_line would
 * have taken its line, so records, bad lines and control lines keep the
 * order and the timing of one thread.  Tuples are copied into the queue:
 * the batch goes back to the reader as soon as this returns. */
int
kw_batch(struct run *r, const struct batch *b, char *err)
{
	size_t nf = b->nf, nnum = b->nnum;

	r->bytes += b->bytes;
	for (size_t i = 0; i < b->n; i++) {
		const unsigned char *rp = b->rec + i * b->stride;
		const struct tup *t = (const struct tup *)(const void *)rp;
		const struct cfv *cf = (const struct cfv *)(const void *)(t + 1);
		const double *num = (const double *)(const void *)(cf + nf);
		long long ln = r->lineno + 1 + t->skip;
		struct pend *q;

		if ((ln >> 16) != (r->lineno >> 16))
			progress(r);
		r->lineno = ln;
		switch (t->kind) {
		case TU_REC:
			q = &r->q[(r->qhead + r->qn) % KW_QUEUE];
			for (size_t j = 0; j < nf; j++) {
				q->v[j].p = t->line + cf[j].off;
				q->v[j].n = cf[j].nt >> 8;
				q->v[j].type = (uint8_t)(cf[j].nt & 15);
				q->v[j].esc = (uint8_t)(cf[j].nt >> 4 & 1);
				q->v[j].dok = 0;
			}
			/* numbers, time and key were checked in order */
			q->ts = t->ts;
			for (size_t j = 0; j < nnum; j++)
				q->num[j] = num[j];
			q->keyready = t->keyready;
			q->key.len = 0;
			q->wready = !t->keyready;
			if (t->keyready) {
				uint32_t ko = t->u.k.koff, kl = t->u.k.klen;

				memcpy(&q->h, b->keys.p + ko + kl, sizeof q->h);
				if (kl > 0 && kin_buf_add(&q->key,
				    b->keys.p + ko, kl, err) < 0)
					return -1;
			} else {
				q->w0 = t->u.w[0];
				q->w1 = t->u.w[1];
			}
			commit(r, q, t->line, t->len);
			if (step(r, err) < 0)
				return -1;
			break;
		case TU_BAD:
			bad_record(r, (enum bad_kind)t->bad, t->slot == -2 ? NULL :
			    t->slot == -1 ? "(key)" : qname(r->sc.name[t->slot]),
			    t->line, t->len);
			break;
		case TU_CTL:
			if (kw_drain(r, err) < 0 ||
			    control_line(r, t->line, t->len, err) < 0)
				return -1;
			break;
		default:
			bad_record(r, BAD_LONG, NULL, t->line, 0);
			break;
		}
	}
	return 0;
}
