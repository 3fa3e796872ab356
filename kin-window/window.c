/* window.c — panes and firing, with Flink's window rules: sliding windows
 * start at multiples of the slide (offset 0), hold [start, end), fire once
 * the watermark reaches end - 1 (WindowOperator/EventTimeTrigger), a
 * record is late only when every window it falls in is past end - 1 +
 * allowed lateness, and a late record inside the lateness re-fires its
 * window at once.  Records are kept as per-pane partial aggregates (a pane
 * is gcd(size, slide) wide) and merged when a window fires.  Session
 * windows (--gap) merge per key as Flink's EventTimeSessionWindows do. */
#include "kw.h"

#include <stdlib.h>
#include <string.h>

static inline int64_t
fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int
win_init(struct win *w, const struct aggs *g, struct emitter *em, char *err)
{
	w->g = g;
	w->em = em;
	w->ext = w->gap ? sizeof(struct sess) : 0;
	w->stride = (sizeof(struct pane) + w->ext + g->size + 7) & ~(size_t)7;
	w->wm = INT64_MIN;
	w->fired = INT64_MIN;
	w->max_ts = INT64_MIN;
	w->due = w->cleanup_due = INT64_MAX;
	w->pc_lo = 0;
	w->pc_hi = INT64_MIN;   /* no pane kept yet */
	keymap_init(&w->km);
	w->npool = 1;   /* pane 0 is "none" */
	w->acc = malloc(g->size ? g->size : 1);
	if (w->acc == NULL)
		return kin_seterr(err, "out of memory");
	agg_init(g, w->acc);
	return 0;
}

void
win_release(struct win *w)
{
	for (uint32_t i = 1; i < w->npool; i++) {
		struct pane *p = win_pane(w, i);

		if (p->key != 0)
			agg_free(w->g, pane_st(w, p));
	}
	if (w->acc) {
		/* The accumulator only borrows values: drop them, then free
		 * what it owns (its sketches). */
		agg_clear_borrowed(w->g, w->acc);
		agg_free(w->g, w->acc);
	}
	free(w->acc);
	free(w->pool);
	for (size_t i = 0; i < w->nbk; i++)
		free(w->bk[i].keys);
	free(w->bk);
	free(w->heap);
	free(w->fire);
	keymap_release(&w->km);
}

uint32_t
pane_new(struct win *w, uint32_t key)
{
	uint32_t id;
	struct pane *p;

	if (w->freep) {
		id = w->freep;
		w->freep = win_pane(w, id)->next;
	} else {
		if (w->npool >= w->cappool) {
			uint32_t nc = w->cappool ? w->cappool * 2 : 1024;
			unsigned char *np;

			if (nc <= w->cappool)
				return 0;
			np = realloc(w->pool, (size_t)nc * w->stride);
			if (np == NULL)
				return 0;
			w->pool = np;
			w->cappool = nc;
		}
		id = w->npool++;
	}
	p = win_pane(w, id);
	memset(p, 0, sizeof *p + w->ext);
	p->key = key;
	agg_init(w->g, pane_st(w, p));
	if (++w->live_panes > w->peak_panes)
		w->peak_panes = w->live_panes;
	return id;
}

void
pane_free(struct win *w, uint32_t id)
{
	struct pane *p = win_pane(w, id);

	agg_free(w->g, pane_st(w, p));
	p->key = 0;
	p->next = w->freep;
	w->freep = id;
	w->live_panes--;
}

/* ---- buckets: which keys have a pane at each pane index, sorted */

static size_t
bk_find(const struct win *w, int64_t idx)
{
	size_t lo = 0, hi = w->nbk;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->bk[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
bk_add(struct win *w, int64_t idx, uint32_t key)
{
	size_t i;
	struct bucket *b;

	if (w->nbk > 0 && w->bk[w->nbk - 1].idx == idx)
		i = w->nbk - 1;
	else
		i = bk_find(w, idx);
	if (i == w->nbk || w->bk[i].idx != idx) {
		if (w->nbk == w->capbk) {
			size_t nc = w->capbk ? w->capbk * 2 : 64;
			struct bucket *nb = realloc(w->bk, nc * sizeof *nb);

			if (nb == NULL)
				return -1;
			w->bk = nb;
			w->capbk = nc;
		}
		memmove(w->bk + i + 1, w->bk + i,
		    (w->nbk - i) * sizeof *w->bk);
		w->nbk++;
		memset(&w->bk[i], 0, sizeof w->bk[i]);
		w->bk[i].idx = idx;
		w->due_dirty = 1;
	}
	b = &w->bk[i];
	if (b->n == b->cap) {
		uint32_t nc = b->cap ? b->cap * 2 : 16;
		uint32_t *nk = realloc(b->keys, nc * sizeof *nk);

		if (nk == NULL)
			return -1;
		b->keys = nk;
		b->cap = nc;
	}
	b->keys[b->n++] = key;
	return 0;
}

/* ---- firing */

const struct keymap *sort_km;

int
cmp_keys(const void *a, const void *b)
{
	const struct kkey *x = &sort_km->k[*(const uint32_t *)a];
	const struct kkey *y = &sort_km->k[*(const uint32_t *)b];

	return key_cmp(kkey_bytes(x), x->len, kkey_bytes(y), y->len);
}

/* Sort prefix of a key: its first type byte and 11 content bytes, big
 * endian, so most comparisons never touch the keys themselves. */
static void
key_prefix(const struct kkey *k, struct firekey *f)
{
	const unsigned char *p = (const unsigned char *)kkey_bytes(k);
	unsigned char b[12] = { 0 };
	uint32_t l = 0;

	if (k->len >= 5) {
		memcpy(&l, p + 1, 4);
		b[0] = p[0];
		for (uint32_t i = 0; i < 11 && i < l && 5 + i < k->len; i++)
			b[1 + i] = p[5 + i];
	}
	f->p1 = f->p2 = 0;
	for (int i = 0; i < 8; i++)
		f->p1 = f->p1 << 8 | b[i];
	for (int i = 8; i < 12; i++)
		f->p2 = f->p2 << 8 | b[i];
}

static inline int
fire_lt(const struct firekey *a, const struct firekey *b)
{
	if (a->p1 != b->p1)
		return a->p1 < b->p1;
	if (a->p2 != b->p2)
		return a->p2 < b->p2;
	return cmp_keys(&a->id, &b->id) < 0;
}

/* Quicksort on the prefixes (median of three, insertion sort below 16,
 * the smaller side first so the stack stays shallow): qsort's calls
 * through a pointer cost more than the comparisons at a million keys. */
static void
sort_fire(struct firekey *v, size_t n)
{
	while (n > 16) {
		size_t i = 0, j = n - 1, m = n / 2;
		struct firekey t, piv;

		if (fire_lt(&v[m], &v[0]))
			t = v[m], v[m] = v[0], v[0] = t;
		if (fire_lt(&v[j], &v[0]))
			t = v[j], v[j] = v[0], v[0] = t;
		if (fire_lt(&v[j], &v[m]))
			t = v[j], v[j] = v[m], v[m] = t;
		piv = v[m];
		for (;;) {
			while (fire_lt(&v[i], &piv))
				i++;
			while (fire_lt(&piv, &v[j]))
				j--;
			if (i >= j)
				break;
			t = v[i], v[i] = v[j], v[j] = t;
			i++;
			j--;
		}
		/* [0, j] <= pivot <= [j + 1, n) */
		if (j + 1 < n - j - 1) {
			sort_fire(v, j + 1);
			v += j + 1;
			n -= j + 1;
		} else {
			sort_fire(v + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct firekey t = v[i];
		size_t k = i;

		while (k > 0 && fire_lt(&t, &v[k - 1])) {
			v[k] = v[k - 1];
			k--;
		}
		v[k] = t;
	}
}

static int
fire_push(struct win *w, uint32_t key)
{
	if (w->nfire == w->capfire) {
		size_t nc = w->capfire ? w->capfire * 2 : 256;
		struct firekey *nf = realloc(w->fire, nc * sizeof *nf);

		if (nf == NULL)
			return -1;
		w->fire = nf;
		w->capfire = nc;
	}
	w->fire[w->nfire].id = key;
	key_prefix(&w->km.k[key], &w->fire[w->nfire++]);
	return 0;
}

/* Merge key's panes of the window ending at E and print it. */
static int
emit_key(struct win *w, uint32_t kid, int64_t E, char *err)
{
	const struct kkey *k = &w->km.k[kid];
	int64_t plo = fdiv(E - w->size, w->gran), phi = fdiv(E, w->gran);
	uint64_t count = 0;

	agg_clear_borrowed(w->g, w->acc);
	for (uint32_t id = k->head; id; ) {
		struct pane *p = win_pane(w, id);

		if (p->start >= phi)
			break;
		if (p->start >= plo) {
			agg_merge(w->g, w->acc, count, pane_st(w, p), p->count, 0);
			count += p->count;
		}
		id = p->next;
	}
	if (count == 0)
		return 0;
	return emit_window(w->em, kkey_bytes(k), k->len, E - w->size, E,
	    count, w->acc, err);
}

static int
fire_end(struct win *w, int64_t E, char *err)
{
	int64_t plo = fdiv(E - w->size, w->gran), phi = fdiv(E, w->gran);

	w->nfire = 0;
	for (size_t i = bk_find(w, plo); i < w->nbk && w->bk[i].idx < phi;
	    i++) {
		const struct bucket *b = &w->bk[i];

		for (uint32_t j = 0; j < b->n; j++) {
			struct kkey *k = &w->km.k[b->keys[j]];

			if (j + 8 < b->n)
				__builtin_prefetch(&w->km.k[b->keys[j + 8]]);
			if (k->mark == E)
				continue;
			k->mark = E;
			if (fire_push(w, b->keys[j]) < 0)
				return kin_seterr(err, "out of memory");
		}
	}
	if (w->nfire > 1) {
		sort_km = &w->km;
		sort_fire(w->fire, w->nfire);
	}
	for (size_t i = 0; i < w->nfire; i++) {
		/* Keys and panes are scattered: fetch ahead. */
		if (i + 8 < w->nfire)
			__builtin_prefetch(&w->km.k[w->fire[i + 8].id]);
		if (i + 4 < w->nfire) {
			uint32_t h = w->km.k[w->fire[i + 4].id].head;

			if (h)
				__builtin_prefetch(win_pane(w, h));
		}
		if (emit_key(w, w->fire[i].id, E, err) < 0)
			return -1;
	}
	return 0;
}

/* The end of the latest window holding time t. */
static inline int64_t
last_end(const struct win *w, int64_t t)
{
	return fdiv(t, w->slide) * w->slide + w->size;
}

/* Smallest window end after w->fired that holds data, or INT64_MAX. */
static int64_t
next_end(const struct win *w)
{
	size_t i = 0;

	if (w->fired != INT64_MIN)
		i = bk_find(w, fdiv(w->fired - w->size, w->gran) + 1);
	for (; i < w->nbk; i++) {
		int64_t t = w->bk[i].idx * w->gran, lo, E;

		lo = w->fired != INT64_MIN && w->fired + 1 > t + 1 ?
		    w->fired + 1 : t + 1;
		/* smallest E >= lo with E = size (mod slide) */
		E = w->size + (fdiv(lo - w->size - 1, w->slide) + 1) * w->slide;
		if (E <= last_end(w, t))
			return E;
	}
	return INT64_MAX;
}

static void
drop_key_pane(struct win *w, uint32_t kid, int64_t idx)
{
	struct kkey *k = &w->km.k[kid];
	uint32_t prev = 0, id = k->head;

	while (id && win_pane(w, id)->start != idx) {
		prev = id;
		id = win_pane(w, id)->next;
	}
	if (id == 0)
		return;
	if (prev)
		win_pane(w, prev)->next = win_pane(w, id)->next;
	else
		k->head = win_pane(w, id)->next;
	if (k->tail == id)
		k->tail = prev;
	pane_free(w, id);
	if (--k->npanes == 0)
		keymap_del(&w->km, kid);
}

/* Free panes no window can use any more: past end - 1 + lateness of the
 * last window that holds them. */
static void
cleanup(struct win *w)
{
	size_t n = 0;
	int64_t late = w->proctime ? 0 : w->lateness;

	while (n < w->nbk) {
		struct bucket *b = &w->bk[n];

		if (w->wm != INT64_MAX &&
		    last_end(w, b->idx * w->gran) - 1 + late > w->wm)
			break;
		for (uint32_t j = 0; j < b->n; j++) {
			if (j + 8 < b->n)
				__builtin_prefetch(&w->km.k[b->keys[j + 8]]);
			drop_key_pane(w, b->keys[j], b->idx);
		}
		free(b->keys);
		n++;
	}
	if (n) {
		memmove(w->bk, w->bk + n, (w->nbk - n) * sizeof *w->bk);
		w->nbk -= n;
	}
}

/* The pane of t and the end of its last window: divisions, so the last
 * answer is kept (a pane's times all give the same). */
static inline void
pane_of(struct win *w, int64_t t, int64_t *idx, int64_t *elast)
{
	if (t < w->pc_lo || t >= w->pc_hi) {
		w->pc_idx = fdiv(t, w->gran);
		w->pc_lo = w->pc_idx * w->gran;
		w->pc_hi = w->pc_lo + w->gran;
		w->pc_elast = last_end(w, t);
		w->pc_efirst = w->size + (fdiv(w->pc_lo - w->size, w->slide) +
		    1) * w->slide;
	}
	*idx = w->pc_idx;
	*elast = w->pc_elast;
}

int
win_late(struct win *w, int64_t t)
{
	int64_t late = w->proctime ? 0 : w->lateness, idx, elast;

	if (w->wm == INT64_MIN)
		return 0;
	pane_of(w, t, &idx, &elast);
	return elast - 1 + late <= w->wm;
}

int
win_add(struct win *w, const char *key, size_t klen, uint64_t h,
    const struct recin *r, char *err)
{
	uint32_t kid;
	int created;

	if (w->gap)
		return sess_add(w, key, klen, h, r, err);
	if (win_late(w, r->ts))
		return 1;
	if (w->max_keys && w->km.live >= w->max_keys &&
	    keymap_find(&w->km, key, klen, h) == 0)
		return 2;
	kid = keymap_get(&w->km, key, klen, h, &created);
	if (kid == 0)
		return kin_seterr(err, "out of memory");
	return win_add_id(w, kid, r, err);
}

int
win_add_id(struct win *w, uint32_t kid, const struct recin *r, char *err)
{
	int64_t t = r->ts, late = w->proctime ? 0 : w->lateness, elast, idx;
	uint32_t pid;
	struct kkey *k;
	struct pane *p;

	pane_of(w, t, &idx, &elast);
	k = &w->km.k[kid];
	pid = k->tail;
	if (pid == 0 || win_pane(w, pid)->start != idx) {
		uint32_t prev = 0, c = k->head;

		if (pid && win_pane(w, pid)->start < idx) {
			prev = pid;
			c = 0;
		} else {
			while (c && win_pane(w, c)->start < idx) {
				prev = c;
				c = win_pane(w, c)->next;
			}
		}
		if (c && win_pane(w, c)->start == idx) {
			pid = c;
		} else {
			pid = pane_new(w, kid);
			if (pid == 0 || bk_add(w, idx, kid) < 0)
				return kin_seterr(err, "out of memory");
			k = &w->km.k[kid];
			p = win_pane(w, pid);
			p->start = idx;
			p->next = c;
			if (prev)
				win_pane(w, prev)->next = pid;
			else
				k->head = pid;
			if (c == 0)
				k->tail = pid;
			k->npanes++;
		}
	}
	p = win_pane(w, pid);
	agg_update(w->g, pane_st(w, p), p->count, r);
	p->count++;
	/* Not late, but its first windows are done without it (Flink drops
	 * it from those silently): counted, so the summary can say so. */
	if (!w->proctime && w->wm != INT64_MIN &&
	    w->pc_efirst - 1 + late <= w->wm)
		w->partly_late++;
	/* Windows of this record that already fired but are inside the
	 * allowed lateness fire again now (EventTimeTrigger.onElement). */
	if (!w->proctime && w->wm != INT64_MIN && late > 0) {
		int64_t E = elast - fdiv(elast - t - 1, w->slide) * w->slide;

		for (; E <= elast; E += w->slide) {
			if (E - 1 <= w->wm && E - 1 + late > w->wm) {
				if (emit_key(w, kid, E, err) < 0)
					return -1;
				if (E > w->fired)
					w->fired = E;
				w->due_dirty = 1;
			}
		}
	}
	return 0;
}

static void
recompute_due(struct win *w)
{
	int64_t E = next_end(w), late = w->proctime ? 0 : w->lateness;

	w->due = E == INT64_MAX ? E : E - 1;
	w->cleanup_due = w->nbk ? last_end(w, w->bk[0].idx * w->gran) - 1 +
	    late : INT64_MAX;
	w->due_dirty = 0;
}

/* Every window whose end - 1 the watermark passed is done, data or not:
 * a record that comes later for such a window (through a pane it shares
 * with a newer window) must not fire it — for that window the record is
 * late, or, inside the allowed lateness, fires it itself (win_add).  Only
 * after the due windows fired. */
static void
mark_done(struct win *w, int64_t wm)
{
	if (wm != INT64_MAX) {
		int64_t done = w->size + fdiv(wm + 1 - w->size, w->slide) *
		    w->slide;

		if (done > w->fired)
			w->fired = done;
	}
}

int
win_advance(struct win *w, int64_t wm, char *err)
{
	if (wm <= w->wm)
		return 0;
	w->wm = wm;
	if (w->gap) {
		if (w->nheap && (wm == INT64_MAX || w->heap[0].when <= wm))
			return sess_advance(w, err);
		return 0;
	}
	if (w->due_dirty)
		recompute_due(w);
	if (wm < w->due && wm < w->cleanup_due) {
		/* Nothing to fire: only the frontier moves (see below). */
		mark_done(w, wm);
		return 0;
	}
	for (;;) {
		int64_t E = next_end(w);

		if (E == INT64_MAX || (wm != INT64_MAX && E - 1 > wm))
			break;
		if (fire_end(w, E, err) < 0)
			return -1;
		w->fired = E;
	}
	mark_done(w, wm);
	cleanup(w);
	recompute_due(w);
	return 0;
}

int64_t
win_next_due(const struct win *w)
{
	if (w->gap)   /* stale or clean-up entries only wake early */
		return w->nheap ? w->heap[0].when : INT64_MAX;
	if (w->due_dirty)
		recompute_due((struct win *)(uintptr_t)w);
	return w->due;
}

int
win_flush(struct win *w, char *err)
{
	return win_advance(w, INT64_MAX, err);
}

unsigned char *
win_load_pane(struct win *w, const char *key, size_t klen, int64_t start,
    int64_t end, uint64_t count, char *err)
{
	int created;
	uint32_t kid = keymap_get(&w->km, key, klen, kw_hash(key, klen),
	    &created), pid, prev = 0, c;
	struct kkey *k;
	struct pane *p;

	if (kid != 0 && created && w->max_keys && w->km.live > w->max_keys) {
		kin_seterr(err, "the state holds more than --max-keys %llu keys",
		    (unsigned long long)w->max_keys);
		return NULL;
	}
	if (kid == 0 || (pid = pane_new(w, kid)) == 0) {
		kin_seterr(err, "out of memory");
		return NULL;
	}
	k = &w->km.k[kid];
	for (c = k->head; c && win_pane(w, c)->start < start;
	    c = win_pane(w, c)->next)
		prev = c;
	p = win_pane(w, pid);
	p->start = start;
	if (w->gap)
		SX(p)->end = end;
	p->count = count;
	p->next = c;
	if (prev)
		win_pane(w, prev)->next = pid;
	else
		k->head = pid;
	if (c == 0)
		k->tail = pid;
	k->npanes++;
	if (w->gap) {
		if (sess_schedule(w, kid, pid) < 0) {
			kin_seterr(err, "out of memory");
			return NULL;
		}
	} else if (bk_add(w, start, kid) < 0) {
		kin_seterr(err, "out of memory");
		return NULL;
	}
	return pane_st(w, win_pane(w, pid));
}

int
win_each(const struct win *w, int (*fn)(void *ctx, const struct kkey *k,
    const struct pane *p), void *ctx)
{
	for (uint32_t kid = 1; kid < w->km.nk; kid++) {
		const struct kkey *k = &w->km.k[kid];

		if (k->len == UINT32_MAX)
			continue;
		for (uint32_t id = k->head; id; id = win_pane(w, id)->next)
			if (fn(ctx, k, win_pane(w, id)) < 0)
				return -1;
	}
	return 0;
}
