/* lease_mgr.c — the lease manager a reader drives from its loop: creates
 * leases for shards, renews what it holds, runs the taker's passes (the
 * rules are in lease.c), writes checkpoints and releases leases, and tells
 * the reader through events which shards it may read.  Every write is a
 * conditional UpdateItem/PutItem as the KCL's DynamoDBLeaseRefresher
 * does them. */
#include "lease.h"
#include "lease_int.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
kin_lease_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
kin_lease_now(const struct kin_lease_mgr *m)
{
	return m->clock != NULL ? m->clock(m->clock_ctx) : kin_lease_clock_ms();
}

int
kin_lease_mgr_init(struct kin_lease_mgr *m, struct kin_client *ddb,
    const struct kin_lease_cfg *cfg, char *err)
{
	memset(m, 0, sizeof *m);
	if (cfg->table == NULL || cfg->worker == NULL || *cfg->worker == '\0')
		return kin_seterr(err, "lease: a table and a worker id are "
		    "needed");
	if (strlen(cfg->worker) >= KIN_LEASE_IDLEN)
		return kin_seterr(err, "lease: worker id '%s' is too long",
		    cfg->worker);
	m->table = strdup(cfg->table);
	m->worker = strdup(cfg->worker);
	m->initial = strdup(cfg->initial ? cfg->initial :
	    KIN_LEASE_TRIM_HORIZON);
	if (m->table == NULL || m->worker == NULL || m->initial == NULL) {
		kin_lease_mgr_release(m);
		return kin_seterr(err, "lease: out of memory");
	}
	m->failover_ms = cfg->failover_ms > 0 ? cfg->failover_ms : 10000;
	m->renew_ms = cfg->renew_ms > 0 ? cfg->renew_ms : m->failover_ms / 3;
	m->taker_ms = cfg->taker_ms > 0 ? cfg->taker_ms : m->failover_ms;
	/* a holder stops a tenth of the failover time early, so that its
	 * last read ends before anyone else may start */
	m->guard_ms = m->failover_ms / 10;
	m->max_steal = cfg->max_steal > 0 ? cfg->max_steal : 1;
	m->max_leases = cfg->max_leases;
	m->clock = cfg->clock;
	m->clock_ctx = cfg->clock_ctx;
	m->ddb = ddb;
	m->rng = cfg->seed ? cfg->seed : ((uint64_t)time(NULL) << 20) ^
	    (uint64_t)getpid() ^ (uint64_t)(uintptr_t)m;
	m->next_take = 0;
	return 0;
}

static void
held_free(struct kin_lease_held *h)
{
	free(h->shard);
	free(h->checkpoint);
	free(h->from);
}

void
kin_lease_mgr_release(struct kin_lease_mgr *m)
{
	for (size_t i = 0; i < m->nheld; i++)
		held_free(&m->held[i]);
	free(m->held);
	kin_leases_free(m->all, m->nall);
	free(m->ev);
	free(m->table);
	free(m->worker);
	free(m->initial);
	memset(m, 0, sizeof *m);
}

/* ---- held leases and events ---- */

struct kin_lease_held *
kin_lease_held_find(const struct kin_lease_mgr *m, const char *shard)
{
	for (size_t i = 0; i < m->nheld; i++)
		if (strcmp(m->held[i].shard, shard) == 0)
			return &m->held[i];
	return NULL;
}

static void
copy_id(char *dst, const char *s)
{
	snprintf(dst, KIN_LEASE_IDLEN, "%s", s ? s : "");
}

static void
push_ev(struct kin_lease_mgr *m, enum kin_lease_evtype type,
    const struct kin_lease_held *h, int64_t at, const char *why)
{
	struct kin_lease_event *e;

	if (m->evhead > 0 && m->evhead == m->nev)
		m->evhead = m->nev = 0;
	if (m->nev == m->capev) {
		size_t nc = m->capev ? m->capev * 2 : 16;
		void *p = realloc(m->ev, nc * sizeof *m->ev);
		if (p == NULL)
			return;   /* the held set still says the truth */
		m->ev = p;
		m->capev = nc;
	}
	e = &m->ev[m->nev++];
	memset(e, 0, sizeof *e);
	e->type = type;
	copy_id(e->shard, h->shard);
	e->counter = h->counter;
	copy_id(e->checkpoint, h->checkpoint);
	e->subseq = h->subseq;
	e->at_ms = at;
	e->why = why;
	if (type == KIN_LEASE_EV_GAINED)
		copy_id(e->from, h->from);
}

/* Drop held lease i, telling the reader to stop at `at`. */
void
kin_lease_drop(struct kin_lease_mgr *m, size_t i, int64_t at,
    const char *why)
{
	struct kin_lease_held *h = &m->held[i];

	if (h->active)
		push_ev(m, KIN_LEASE_EV_LOST, h, at, why);
	if (strcmp(why, "taken") == 0 || strcmp(why, "expired") == 0 ||
	    strcmp(why, "deleted") == 0)
		m->st.lost++;
	held_free(h);
	m->held[i] = m->held[--m->nheld];
}

static int
held_add(struct kin_lease_mgr *m, const struct kin_lease *l, int64_t counter,
    int64_t renewed, int64_t start, const char *how, char *err)
{
	struct kin_lease_held *h;

	if (m->nheld == m->capheld) {
		size_t nc = m->capheld ? m->capheld * 2 : 16;
		void *p = realloc(m->held, nc * sizeof *m->held);
		if (p == NULL)
			return kin_seterr(err, "lease: out of memory");
		m->held = p;
		m->capheld = nc;
	}
	h = &m->held[m->nheld];
	memset(h, 0, sizeof *h);
	h->shard = strdup(l->key);
	h->checkpoint = strdup(l->checkpoint ? l->checkpoint :
	    KIN_LEASE_TRIM_HORIZON);
	h->from = strdup(l->owner ? l->owner : "");
	if (h->shard == NULL || h->checkpoint == NULL || h->from == NULL) {
		held_free(h);
		return kin_seterr(err, "lease: out of memory");
	}
	h->counter = counter;
	h->subseq = l->subseq;
	h->renewed_ms = renewed;
	h->start_ms = start;
	h->how = how;
	m->nheld++;
	return 0;
}

int
kin_lease_next_event(struct kin_lease_mgr *m, struct kin_lease_event *ev)
{
	if (m->evhead >= m->nev)
		return 0;
	*ev = m->ev[m->evhead++];
	return 1;
}

size_t
kin_lease_owned(const struct kin_lease_mgr *m, const char **shards,
    size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nheld; i++)
		if (m->held[i].active) {
			if (k < max)
				shards[k] = m->held[i].shard;
			k++;
		}
	return k;
}

int
kin_lease_holds(const struct kin_lease_mgr *m, const char *shard,
    int64_t now)
{
	const struct kin_lease_held *h = kin_lease_held_find(m, shard);

	return h != NULL && h->active &&
	    now < h->renewed_ms + m->failover_ms - m->guard_ms;
}

/* ---- the scan, shards, and the taker ---- */

static struct kin_lease *
find(struct kin_lease *v, size_t n, const char *key)
{
	for (size_t lo = 0, hi = n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, v[mid].key);
		if (c == 0)
			return &v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Scan the table: observations carried over, held leases checked against
 * what the table says (someone may have taken one). */
static int
refresh(struct kin_lease_mgr *m, struct kin_awserr *ae, char *err)
{
	struct kin_lease *v;
	size_t n;
	int pages = 1;
	int64_t t;

	m->st.scans++;
	if (kin_lease_scan(m->ddb, m->table, &v, &n, &pages, ae, err) < 0) {
		m->st.requests += pages;
		m->st.failed++;
		return -1;
	}
	m->st.requests += pages;
	t = kin_lease_now(m);
	kin_lease_observe(v, n, m->all, m->nall, t);
	for (size_t i = m->nheld; i-- > 0;) {
		struct kin_lease_held *h = &m->held[i];
		struct kin_lease *l = find(v, n, h->shard);
		if (l == NULL)
			kin_lease_drop(m, i, t, "deleted");
		else if (l->owner == NULL || strcmp(l->owner, m->worker) != 0 ||
		    l->counter != h->counter)
			kin_lease_drop(m, i, t, "taken");
		else
			l->held = 1;
	}
	kin_leases_free(m->all, m->nall);
	m->all = v;
	m->nall = n;
	return 0;
}

static const struct kin_shard *
shard_find(const struct kin_shard *s, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].id, id) == 0)
			return &s[i];
	return NULL;
}

/* Whether shard s gets a lease: always from TRIM_HORIZON; from LATEST only
 * open shards and the descendants of shards that get one. */
static int
wanted(struct kin_lease_mgr *m, const struct kin_shard *all, size_t n,
    const struct kin_shard *s, int depth)
{
	const char *par[2] = { s->parent, s->adjacent_parent };

	if (strcmp(m->initial, KIN_LEASE_LATEST) != 0 || s->seq_end == NULL)
		return 1;
	for (int k = 0; k < 2 && depth < 64; k++) {
		const struct kin_shard *p;
		if (par[k] == NULL)
			continue;
		if (find(m->all, m->nall, par[k]) != NULL)
			return 1;
		if ((p = shard_find(all, n, par[k])) != NULL &&
		    wanted(m, all, n, p, depth + 1))
			return 1;
	}
	return 0;
}

int
kin_lease_sync_shards(struct kin_lease_mgr *m, const struct kin_shard *s,
    size_t n, struct kin_awserr *ae, char *err)
{
	static const char *const names[] = { "#k", KIN_LEASE_A_KEY, NULL };
	struct kin_ddb_expr x = { NULL, "attribute_not_exists(#k)", names,
	    NULL };
	struct kin_awserr a2;
	char e2[KIN_ERRLEN];
	int rc = 0;

	if (refresh(m, ae, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *par[2] = { s[i].parent, s[i].adjacent_parent };
		char *pv[2];
		struct kin_lease l;
		struct kin_ddb_item it;
		int known = 0, r;

		if (find(m->all, m->nall, s[i].id) != NULL ||
		    !wanted(m, s, n, &s[i], 0))
			continue;
		memset(&l, 0, sizeof l);
		l.key = s[i].id;
		for (int k = 0; k < 2; k++) {
			const struct kin_shard *p;
			if (par[k] == NULL)
				continue;
			pv[l.nparents++] = (char *)par[k];
			if (find(m->all, m->nall, par[k]) != NULL ||
			    ((p = shard_find(s, n, par[k])) != NULL &&
			    wanted(m, s, n, p, 0)))
				known = 1;
		}
		l.parents = pv;
		/* a child starts where its parents ended (KCL) */
		l.checkpoint = known ? (char *)KIN_LEASE_TRIM_HORIZON :
		    m->initial;
		kin_ddb_item_init(&it);
		if (kin_lease_to_item(&l, &it, e2) < 0) {
			kin_ddb_item_release(&it);
			memset(&a2, 0, sizeof a2);
			kin_lease_note(&rc, ae, err, &a2, e2);
			break;
		}
		m->st.requests++;
		r = kin_ddb_put_item(m->ddb, m->table, &it, &x, &a2, e2);
		kin_ddb_item_release(&it);
		if (r == 0)
			m->st.creates++;
		else if (r < 0) {
			m->st.failed++;
			kin_lease_note(&rc, ae, err, &a2, e2);
		}
	}
	m->next_take = 0;    /* new leases: a taker pass at the next tick */
	return rc;
}

/* One taker pass: scan, choose, take. */
static int
taker(struct kin_lease_mgr *m, struct kin_awserr *ae, char *err)
{
	struct kin_lease_plan plan;
	size_t *pick, np;
	int64_t t, next;
	int rc = 0;

	if (refresh(m, ae, err) < 0) {
		m->next_take = kin_lease_now(m) + m->renew_ms;
		return -1;
	}
	if ((pick = calloc(m->nall ? m->nall : 1, sizeof *pick)) == NULL)
		return kin_seterr(err, "lease: out of memory");
	t = kin_lease_now(m);
	np = kin_lease_choose(m->all, m->nall, m->worker, t, m->failover_ms,
	    m->max_steal, m->max_leases, &m->rng, pick, m->nall, &plan);
	for (size_t i = 0; i < np; i++) {
		struct kin_lease *l = &m->all[pick[i]];
		struct kin_awserr a2;
		char e2[KIN_ERRLEN];
		int64_t tt = kin_lease_now(m), start;
		int r = kin_lease_take(m, l, &a2, e2);
		if (r < 0)
			kin_lease_note(&rc, ae, err, &a2, e2);
		if (r != 0)
			continue;
		/* the fence: whoever held it may read until its own
		 * validity runs out, failover after it last renewed, and it
		 * renewed before we first saw the counter we took over */
		start = tt;
		if (l->owner != NULL && l->seen_ms + m->failover_ms > start)
			start = l->seen_ms + m->failover_ms;
		const char *how = l->owner == NULL ? "free" :
		    plan.steal ? "stolen" : "expired";
		if (held_add(m, l, l->counter + 1, tt, start, how, e2) < 0) {
			memset(&a2, 0, sizeof a2);
			kin_lease_note(&rc, ae, err, &a2, e2);
			continue;
		}
		if (plan.steal)
			m->st.steals++;
		else
			m->st.takes++;
		free(l->owner);
		l->owner = strdup(m->worker);
		l->counter++;
		l->seen_ms = tt;
		l->held = 1;
	}
	free(pick);
	t = kin_lease_now(m);
	/* while moving toward the target, look again soon; and be there
	 * when the next lease we watch could expire */
	next = t + (np > 0 ? m->renew_ms : m->taker_ms);
	for (size_t i = 0; i < m->nall; i++) {
		const struct kin_lease *l = &m->all[i];
		int64_t exp = l->seen_ms + m->failover_ms + 1;
		if (!l->held && l->owner != NULL && !kin_lease_finished(l) &&
		    exp > t && exp < next)
			next = exp;
	}
	m->next_take = next;
	return rc;
}

int
kin_lease_tick(struct kin_lease_mgr *m, int64_t now, int *changed,
    struct kin_awserr *ae, char *err)
{
	size_t nev = m->nev - m->evhead;
	struct kin_awserr a2;
	char e2[KIN_ERRLEN];
	int rc = 0;

	if (changed != NULL)
		*changed = 0;
	if (ae != NULL)
		memset(ae, 0, sizeof *ae);
	/* a lease we could not renew in time is no longer ours to read;
	 * if it still is ours in the table (we were only late), free it so
	 * that it need not wait out the failover time unread */
	for (size_t i = m->nheld; i-- > 0;) {
		int64_t end = m->held[i].renewed_ms + m->failover_ms -
		    m->guard_ms;
		if (now < end)
			continue;
		if (kin_lease_evict(m, &m->held[i], &a2, e2) < 0)
			kin_lease_note(&rc, ae, err, &a2, e2);
		kin_lease_drop(m, i, end, "expired");
	}
	for (size_t i = m->nheld; i-- > 0;) {
		if (now < m->held[i].renewed_ms + m->renew_ms)
			continue;
		int r = kin_lease_renew(m, &m->held[i], &a2, e2);
		if (r == 1)
			kin_lease_drop(m, i, kin_lease_now(m), "taken");
		else if (r < 0)
			kin_lease_note(&rc, ae, err, &a2, e2);
	}
	if (now >= m->next_take && taker(m, &a2, e2) < 0)
		kin_lease_note(&rc, ae, err, &a2, e2);
	now = kin_lease_now(m);
	for (size_t i = 0; i < m->nheld; i++) {
		struct kin_lease_held *h = &m->held[i];
		if (!h->active && now >= h->start_ms) {
			h->active = 1;
			push_ev(m, KIN_LEASE_EV_GAINED, h, now, h->how);
		}
	}
	if (changed != NULL)
		*changed = m->nev - m->evhead != nev;
	return rc;
}

int64_t
kin_lease_next_due(const struct kin_lease_mgr *m, int64_t now)
{
	int64_t due = m->next_take;

	for (size_t i = 0; i < m->nheld; i++) {
		const struct kin_lease_held *h = &m->held[i];
		if (h->renewed_ms + m->renew_ms < due)
			due = h->renewed_ms + m->renew_ms;
		if (!h->active && h->start_ms < due)
			due = h->start_ms;
	}
	return due > now ? due - now : 0;
}

