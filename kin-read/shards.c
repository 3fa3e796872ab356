/* shards.c — the shard table: discovery results merged in, ownership asked
 * of a struct owner, and parent-before-child ordering (a child starts only
 * when each parent has been read to its end, so per-key order survives
 * splits and merges, as the KCL does it). */
#include "shards.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- the static owner: --shard, --shard-index, or every shard ---- */

static int
static_claim(void *ctx, const char *id, long number)
{
	struct static_owner *so = ctx;

	if (so->nids > 0) {
		for (size_t i = 0; i < so->nids; i++)
			if (strcmp(so->ids[i], id) == 0)
				return 1;
		return 0;
	}
	if (so->n > 0)
		return number >= 0 && number % so->n == so->i;
	return 1;
}

/* Without a shared table nobody can tell, so a parent read by another
 * process counts as finished: order across processes needs a lease owner. */
static int
static_parent_finished(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return 1;
}

static void
static_finished(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
}

static const struct owner_ops static_ops = {
	static_claim, static_parent_finished, static_finished,
};

void
static_owner_init(struct owner *o, struct static_owner *so)
{
	o->ops = &static_ops;
	o->ctx = so;
}

/* ---- the table ---- */

int
table_init(struct table *t, struct owner *owner)
{
	pthread_condattr_t ca;

	memset(t, 0, sizeof *t);
	t->owner = owner;
	if (pthread_mutex_init(&t->lock, NULL) != 0)
		return -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&t->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&t->lock);
		return -1;
	}
	pthread_condattr_destroy(&ca);
	return 0;
}

static void
shard_free(struct shard *s)
{
	free(s->id);
	free(s->parent);
	free(s->adjacent);
	free(s->iter);
	free(s);
}

void
table_release(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		shard_free(t->v[i]);
	free(t->v);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	t->v = NULL;
	t->n = t->cap = 0;
}

static size_t
lower_bound(struct table *t, const char *id)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->v[mid]->id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct shard *
table_find_locked(struct table *t, const char *id)
{
	size_t i;

	if (id == NULL)
		return NULL;
	i = lower_bound(t, id);
	return i < t->n && strcmp(t->v[i]->id, id) == 0 ? t->v[i] : NULL;
}

/* shardId-000000000007 -> 7; -1 for ids of another shape. */
static long
shard_number(const char *id)
{
	const char *p = strrchr(id, '-');
	char *end;
	long v;

	if (p == NULL || p[1] < '0' || p[1] > '9')
		return -1;
	errno = 0;
	v = strtol(p + 1, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	return v;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Insert a new shard (not owned yet, waiting). NULL when out of memory. */
static struct shard *
insert(struct table *t, const char *id, const char *parent,
    const char *adjacent)
{
	struct shard *s;
	size_t at;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		struct shard **nv = realloc(t->v, ncap * sizeof *nv);
		if (nv == NULL)
			return NULL;
		t->v = nv;
		t->cap = ncap;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->id = strdup(id);
	s->parent = dup_or_null(parent);
	s->adjacent = dup_or_null(adjacent);
	if (s->id == NULL || (parent && !s->parent) ||
	    (adjacent && !s->adjacent)) {
		shard_free(s);
		return NULL;
	}
	s->number = shard_number(id);
	s->state = SH_WAITING;
	s->millis_behind = -1;
	at = lower_bound(t, id);
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof *t->v);
	t->v[at] = s;
	t->n++;
	if (s->number < 0)
		s->number = (long)at;
	return s;
}

static int
parent_lineage(struct table *t, const struct shard *s)
{
	const struct shard *p = table_find_locked(t, s->parent);
	const struct shard *a = table_find_locked(t, s->adjacent);

	return (p != NULL && p->lineage) || (a != NULL && a->lineage);
}

/* Decide where a newly seen shard that this process reads begins. */
static void
place(struct table *t, struct shard *s, const struct merge_cfg *m)
{
	const struct kin_ckpt_entry *e = m->ckpt ? kin_ckpt_find(m->ckpt, s->id) : NULL;

	s->ck = e;
	if (e != NULL) {
		s->lineage = 1;
		if (e->done) {
			s->state = SH_DONE;
			return;
		}
		s->start = e->pos;
		if (e->pos.kind == POS_AFTER)
			s->last = e->pos;
		return;
	}
	if (parent_lineage(t, s) || (m->ckpt != NULL &&
	    ((s->parent && kin_ckpt_find(m->ckpt, s->parent)) ||
	    (s->adjacent && kin_ckpt_find(m->ckpt, s->adjacent))))) {
		/* a child of a shard we were reading: from its beginning,
		 * whatever -o says, or records would be lost */
		s->lineage = 1;
		s->start.kind = POS_TRIM;
		return;
	}
	if (!m->initial) {
		/* created while we run: every record in it is new */
		s->start.kind = POS_TRIM;
		return;
	}
	s->start = *m->from;
	/* a shard closed before we started has nothing after LATEST */
	if (s->start.kind == POS_LATEST && s->closed)
		s->state = SH_DONE;
}

static int
parent_done(struct table *t, const char *id)
{
	struct shard *p;

	if (id == NULL)
		return 1;
	p = table_find_locked(t, id);
	if (p == NULL)
		return 1;  /* past the retention period, or never listed */
	if (p->owned)
		return p->state == SH_DONE;
	return t->owner->ops->parent_finished(t->owner->ctx, id);
}

void
table_update_locked(struct table *t)
{
	int64_t now = mono_us();
	int changed = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct shard *s = t->v[i];
		if (!s->owned || s->state != SH_WAITING)
			continue;
		if (parent_done(t, s->parent) && parent_done(t, s->adjacent)) {
			s->state = SH_READY;
			s->due_us = now;
			changed = 1;
		}
	}
	if (changed)
		pthread_cond_broadcast(&t->cond);
}

size_t
table_merge(struct table *t, const struct kin_shard *ks, size_t n,
    const struct merge_cfg *m)
{
	size_t added = 0;

	pthread_mutex_lock(&t->lock);
	/* Parents sort before their children (ids are numbered in creation
	 * order), so placing in id order sees each parent's lineage first. */
	struct kin_shard **order = malloc((n ? n : 1) * sizeof *order);
	if (order == NULL) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (struct kin_shard *)&ks[i];
	for (size_t i = 1; i < n; i++) {
		struct kin_shard *x = order[i];
		size_t j = i;
		while (j > 0 && strcmp(order[j - 1]->id, x->id) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kin_shard *k = order[i];
		struct shard *s = table_find_locked(t, k->id);

		if (s != NULL) {
			/* known: it may have closed, or have come from a
			 * ChildShards list without its parents' full data */
			if (k->seq_end != NULL)
				s->closed = 1;
			continue;
		}
		s = insert(t, k->id, k->parent, k->adjacent_parent);
		if (s == NULL)
			continue;
		added++;
		s->closed = k->seq_end != NULL;
		s->owned = t->owner->ops->claim(t->owner->ctx, s->id, s->number);
		if (s->owned)
			place(t, s, m);
		else if (m->ckpt != NULL)
			s->ck = kin_ckpt_find(m->ckpt, s->id);
	}
	free(order);
	table_update_locked(t);
	pthread_mutex_unlock(&t->lock);
	return added;
}

void
table_add_child_locked(struct table *t, const char *id, char *const *parents,
    size_t nparents)
{
	struct shard *s;

	if (table_find_locked(t, id) != NULL)
		return;
	s = insert(t, id, nparents > 0 ? parents[0] : NULL,
	    nparents > 1 ? parents[1] : NULL);
	if (s == NULL)
		return;
	s->owned = t->owner->ops->claim(t->owner->ctx, s->id, s->number);
	if (s->owned) {
		s->lineage = parent_lineage(t, s);
		s->start.kind = POS_TRIM;
	}
	table_update_locked(t);
}

size_t
table_active(struct table *t)
{
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->owned && t->v[i]->state == SH_READY)
			n++;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int
table_snapshot(struct table *t, struct kin_ckpt_entry **out, size_t *n)
{
	struct kin_ckpt_entry *e;
	size_t k = 0;

	pthread_mutex_lock(&t->lock);
	e = calloc(t->n ? t->n : 1, sizeof *e);
	if (e == NULL) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct shard *s = t->v[i];

		if (!s->owned) {
			/* someone else's entry in this file: keep it */
			if (s->ck != NULL)
				e[k++] = *s->ck;
			continue;
		}
		e[k].id = s->id;
		if (s->state == SH_DONE) {
			e[k++].done = 1;
		} else if (s->last.kind == POS_AFTER) {
			e[k++].pos = s->last;
		} else if (s->start.kind != POS_NONE &&
		    s->start.kind != POS_LATEST) {
			e[k++].pos = s->start;
		}
		/* a shard still to start at LATEST has no position yet */
	}
	pthread_mutex_unlock(&t->lock);
	*out = e;
	*n = k;
	return 0;
}
