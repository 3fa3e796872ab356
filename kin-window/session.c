/* session.c — session windows (--gap), as Flink's
 * EventTimeSessionWindows: each record opens [t, t + gap) for its key,
 * windows that overlap or touch (TimeWindow.intersects) merge, and lateness
 * is judged on the merged window.  Due times (fire at end - 1, then clean
 * up after the allowed lateness) sit in a min-heap; entries that a merge
 * made stale are recognised by the session's generation and skipped. */
#include "kw.h"

#include <stdlib.h>
#include <string.h>

static int
heap_push(struct win *w, int64_t when, int64_t end, uint32_t key,
    uint32_t pane, uint32_t gen, uint32_t kind)
{
	size_t i;

	if (w->nheap == w->capheap) {
		size_t nc = w->capheap ? w->capheap * 2 : 256;
		struct sheap *nh = realloc(w->heap, nc * sizeof *nh);

		if (nh == NULL)
			return -1;
		w->heap = nh;
		w->capheap = nc;
	}
	i = w->nheap++;
	while (i > 0 && w->heap[(i - 1) / 2].when > when) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = (struct sheap){ when, end, key, pane, gen, kind };
	return 0;
}

static struct sheap
heap_pop(struct win *w)
{
	struct sheap top = w->heap[0], last = w->heap[--w->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && w->heap[c + 1].when < w->heap[c].when)
			c++;
		if (w->heap[c].when >= last.when)
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->nheap)
		w->heap[i] = last;
	return top;
}

static int
sess_valid(const struct win *w, const struct sheap *h)
{
	const struct pane *p;

	if (h->pane == 0 || h->pane >= w->npool)
		return 0;
	p = win_pane(w, h->pane);
	return p->key == h->key && SX(p)->gen == h->gen && SX(p)->end == h->end;
}

static void
sess_unlink(struct win *w, uint32_t kid, uint32_t id)
{
	struct kkey *k = &w->km.k[kid];
	uint32_t prev = 0, c = k->head;

	while (c && c != id) {
		prev = c;
		c = win_pane(w, c)->next;
	}
	if (c == 0)
		return;
	if (prev)
		win_pane(w, prev)->next = win_pane(w, c)->next;
	else
		k->head = win_pane(w, c)->next;
	if (k->tail == c)
		k->tail = prev;
	k->npanes--;
}

static void
sess_drop(struct win *w, uint32_t kid, uint32_t id)
{
	sess_unlink(w, kid, id);
	pane_free(w, id);
	if (w->km.k[kid].npanes == 0)
		keymap_del(&w->km, kid);
}

int
sess_schedule(struct win *w, uint32_t kid, uint32_t id)
{
	struct pane *p = win_pane(w, id);
	int64_t late = w->proctime ? 0 : w->lateness;

	SX(p)->gen = ++w->gen;   /* unique: a reused pane never matches */
	if (SX(p)->end - 1 > w->wm)
		return heap_push(w, SX(p)->end - 1, SX(p)->end, kid, id, SX(p)->gen, 0);
	return heap_push(w, SX(p)->end - 1 + late, SX(p)->end, kid, id, SX(p)->gen, 1);
}

static int
cmp_due(const void *a, const void *b)
{
	const struct sheap *x = a, *y = b;

	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return cmp_keys(&x->key, &y->key);
}

static int
sess_fire(struct win *w, uint32_t kid, uint32_t id, char *err)
{
	struct pane *p = win_pane(w, id);
	const struct kkey *k = &w->km.k[kid];

	SX(p)->fired = 1;
	return emit_window(w->em, kkey_bytes(k), k->len, p->start, SX(p)->end,
	    p->count, pane_st(w, p), err);
}

int
sess_advance(struct win *w, char *err)
{
	struct sheap *due = NULL;
	size_t ndue = 0, cap = 0;
	int rc = 0;
	int64_t late = w->proctime ? 0 : w->lateness;

	while (w->nheap && (w->wm == INT64_MAX || w->heap[0].when <= w->wm)) {
		struct sheap h = heap_pop(w);

		if (!sess_valid(w, &h))
			continue;
		if (h.kind == 1) {
			sess_drop(w, h.key, h.pane);
			continue;
		}
		if (ndue == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct sheap *nd = realloc(due, nc * sizeof *nd);

			if (nd == NULL) {
				free(due);
				return kin_seterr(err, "out of memory");
			}
			due = nd;
			cap = nc;
		}
		due[ndue++] = h;
	}
	if (ndue > 1) {
		sort_km = &w->km;
		qsort(due, ndue, sizeof *due, cmp_due);
	}
	for (size_t i = 0; i < ndue && rc == 0; i++) {
		struct pane *p = win_pane(w, due[i].pane);

		rc = sess_fire(w, due[i].key, due[i].pane, err);
		if (rc < 0)
			break;
		/* Its clean-up time may have passed in the same step: then
		 * it goes now, before any later record (Flink runs both
		 * timers on this watermark). */
		if (late == 0 || w->wm == INT64_MAX ||
		    SX(p)->end - 1 + late <= w->wm) {
			sess_drop(w, due[i].key, due[i].pane);
		} else {
			SX(p)->gen = ++w->gen;
			if (heap_push(w, SX(p)->end - 1 + late, SX(p)->end,
			    due[i].key, due[i].pane, SX(p)->gen, 1) < 0)
				rc = kin_seterr(err, "out of memory");
		}
	}
	free(due);
	return rc;
}

/* Flink's TimeWindow.intersects: touching sessions merge too. */
int
sess_add(struct win *w, const char *key, size_t klen, uint64_t h,
    const struct recin *r, char *err)
{
	int64_t ns = r->ts, ne = r->ts + w->gap, ms = ns, me = ne;
	int64_t late = w->proctime ? 0 : w->lateness;
	uint32_t kid = 0, target = 0;
	int created;

	/* Lateness is judged on the merged window, as Flink does. */
	kid = keymap_find(&w->km, key, klen, h);
	if (w->wm != INT64_MIN && !w->proctime) {
		for (uint32_t id = kid ? w->km.k[kid].head : 0; id;
		    id = win_pane(w, id)->next) {
			struct pane *p = win_pane(w, id);

			if (p->start <= ne && SX(p)->end >= ns) {
				if (p->start < ms)
					ms = p->start;
				if (SX(p)->end > me)
					me = SX(p)->end;
			}
		}
		if (me - 1 + late <= w->wm)
			return 1;
	}
	if (kid == 0) {
		if (w->max_keys && w->km.live >= w->max_keys)
			return 2;
		kid = keymap_get(&w->km, key, klen, h, &created);
		if (kid == 0)
			return kin_seterr(err, "out of memory");
	}
	/* Merge every overlapping session into the first one. */
	struct kkey *k = &w->km.k[kid];
	int changed = 0;

	for (uint32_t id = k->head, nx; id; id = nx) {
		struct pane *p = win_pane(w, id);

		nx = p->next;
		if (!(p->start <= ne && SX(p)->end >= ns))
			continue;
		if (target == 0) {
			target = id;
			continue;
		}
		struct pane *t = win_pane(w, target);

		agg_merge(w->g, pane_st(w, t), t->count, pane_st(w, p), p->count, 1);
		t->count += p->count;
		if (p->start < t->start)
			t->start = p->start;
		if (SX(p)->end > SX(t)->end)
			SX(t)->end = SX(p)->end;
		sess_unlink(w, kid, id);
		pane_free(w, id);
		k = &w->km.k[kid];
		changed = 1;
	}
	if (target == 0) {
		target = pane_new(w, kid);
		if (target == 0)
			return kin_seterr(err, "out of memory");
		k = &w->km.k[kid];
		struct pane *p = win_pane(w, target);

		p->start = ns;
		SX(p)->end = ne;
		/* insert sorted by start */
		uint32_t prev = 0, c = k->head;

		while (c && win_pane(w, c)->start <= ns) {
			prev = c;
			c = win_pane(w, c)->next;
		}
		p->next = c;
		if (prev)
			win_pane(w, prev)->next = target;
		else
			k->head = target;
		if (c == 0)
			k->tail = target;
		k->npanes++;
		changed = 1;
	}
	struct pane *t = win_pane(w, target);
	int64_t old_end = SX(t)->end, old_start = t->start;

	if (ns < t->start)
		t->start = ns;
	if (ne > SX(t)->end)
		SX(t)->end = ne;
	agg_update(w->g, pane_st(w, t), t->count, r);
	t->count++;
	if (changed || SX(t)->end != old_end || t->start != old_start) {
		if (sess_schedule(w, kid, target) < 0)
			return kin_seterr(err, "out of memory");
	}
	/* A late record inside the lateness re-fires its session now. */
	if (!w->proctime && SX(t)->end - 1 <= w->wm)
		return sess_fire(w, kid, target, err) < 0 ? -1 : 0;
	return 0;
}

