/* lease.c — KCL lease rows (to and from DynamoDB items), the lease table
 * itself, and the taker's rules as pure functions: observation of
 * counters, expiry, readiness of children, and which leases to take or
 * steal.  The manager that does the writes is lease_mgr.c. */
#include "lease.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

#define A_KEY KIN_LEASE_A_KEY
#define A_OWNER KIN_LEASE_A_OWNER
#define A_COUNTER KIN_LEASE_A_COUNTER
#define A_CHECKPOINT KIN_LEASE_A_CHECKPOINT
#define A_SUBSEQ KIN_LEASE_A_SUBSEQ
#define A_SWITCHES KIN_LEASE_A_SWITCHES
#define A_PARENTS KIN_LEASE_A_PARENTS

void
kin_lease_free(struct kin_lease *l)
{
	free(l->key);
	free(l->owner);
	free(l->checkpoint);
	for (size_t i = 0; i < l->nparents; i++)
		free(l->parents[i]);
	free(l->parents);
	memset(l, 0, sizeof *l);
}

void
kin_leases_free(struct kin_lease *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		kin_lease_free(&v[i]);
	free(v);
}

static int
dup_opt(const char *s, char **out, char *err)
{
	*out = NULL;
	if (s != NULL && (*out = strdup(s)) == NULL)
		return kin_seterr(err, "lease: out of memory");
	return 0;
}

int
kin_lease_from_item(const struct kin_ddb_item *it, struct kin_lease *l,
    char *err)
{
	const struct kin_ddb_attr *p;
	const char *key = kin_ddb_get_s(it, A_KEY);

	memset(l, 0, sizeof *l);
	if (key == NULL)
		return kin_seterr(err, "lease: item without %s", A_KEY);
	/* absent numbers read as 0, as KCL's safeGetLong does */
	(void)kin_ddb_get_n(it, A_COUNTER, &l->counter);
	(void)kin_ddb_get_n(it, A_SUBSEQ, &l->subseq);
	(void)kin_ddb_get_n(it, A_SWITCHES, &l->switches);
	if (dup_opt(key, &l->key, err) < 0 ||
	    dup_opt(kin_ddb_get_s(it, A_OWNER), &l->owner, err) < 0 ||
	    dup_opt(kin_ddb_get_s(it, A_CHECKPOINT), &l->checkpoint, err) < 0)
		goto fail;
	p = kin_ddb_get(it, A_PARENTS);
	if (p != NULL && p->type == KIN_DDB_SS && p->nss > 0) {
		if ((l->parents = calloc(p->nss, sizeof *l->parents)) == NULL) {
			kin_seterr(err, "lease: out of memory");
			goto fail;
		}
		for (size_t i = 0; i < p->nss; i++) {
			if (dup_opt(p->ss[i], &l->parents[i], err) < 0)
				goto fail;
			l->nparents++;
		}
	}
	return 0;
fail:
	kin_lease_free(l);
	return -1;
}

int
kin_lease_to_item(const struct kin_lease *l, struct kin_ddb_item *it,
    char *err)
{
	if (kin_ddb_set_s(it, A_KEY, l->key, err) < 0 ||
	    kin_ddb_set_n(it, A_COUNTER, l->counter, err) < 0 ||
	    (l->owner != NULL &&
	    kin_ddb_set_s(it, A_OWNER, l->owner, err) < 0) ||
	    kin_ddb_set_n(it, A_SWITCHES, l->switches, err) < 0 ||
	    kin_ddb_set_s(it, A_CHECKPOINT, l->checkpoint ? l->checkpoint :
	    KIN_LEASE_TRIM_HORIZON, err) < 0 ||
	    kin_ddb_set_n(it, A_SUBSEQ, l->subseq, err) < 0)
		return -1;
	if (l->nparents > 0 && kin_ddb_set_ss(it, A_PARENTS,
	    (const char *const *)l->parents, l->nparents, err) < 0)
		return -1;
	return 0;
}

int
kin_lease_ensure_table(struct kin_client *ddb, const char *table,
    int64_t timeout_ms, struct kin_awserr *ae, char *err)
{
	char status[32];

	if (kin_ddb_describe_table(ddb, table, status, sizeof status, ae,
	    err) == 0 && strcmp(status, "ACTIVE") == 0)
		return 0;
	if (ae->kind == KIN_AWS_NOT_FOUND &&
	    kin_ddb_create_table(ddb, table, A_KEY, ae, err) < 0 &&
	    ae->kind != KIN_AWS_IN_USE)      /* another worker was first */
		return -1;
	if (ae->kind != KIN_AWS_OK && ae->kind != KIN_AWS_NOT_FOUND &&
	    ae->kind != KIN_AWS_IN_USE)
		return -1;
	return kin_ddb_wait_active(ddb, table, timeout_ms, ae, err);
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(((const struct kin_lease *)a)->key,
	    ((const struct kin_lease *)b)->key);
}

int
kin_lease_scan(struct kin_client *ddb, const char *table,
    struct kin_lease **v, size_t *n, int *pages, struct kin_awserr *ae,
    char *err)
{
	struct kin_ddb_item *items;
	struct kin_lease *out;
	size_t ni, k = 0;
	char e2[KIN_ERRLEN];

	*v = NULL;
	*n = 0;
	if (kin_ddb_scan(ddb, table, 0, &items, &ni, pages, ae, err) < 0)
		return -1;
	if ((out = calloc(ni ? ni : 1, sizeof *out)) == NULL) {
		kin_ddb_items_free(items, ni);
		return kin_seterr(err, "Scan('%s'): out of memory", table);
	}
	for (size_t i = 0; i < ni; i++) {
		/* a row that is not a lease (no leaseKey) cannot be; the
		 * key is the table's hash key */
		if (kin_lease_from_item(&items[i], &out[k], e2) < 0) {
			kin_ddb_items_free(items, ni);
			kin_leases_free(out, k);
			return kin_seterr(err, "Scan('%s'): %s", table, e2);
		}
		k++;
	}
	kin_ddb_items_free(items, ni);
	qsort(out, k, sizeof *out, by_key);
	*v = out;
	*n = k;
	return 0;
}

/* ---- the taker's rules ---- */

static const struct kin_lease *
find(const struct kin_lease *v, size_t n, const char *key)
{
	struct kin_lease k;

	if (n == 0)
		return NULL;
	memset(&k, 0, sizeof k);
	k.key = (char *)key;
	return bsearch(&k, v, n, sizeof *v, by_key);
}

void
kin_lease_observe(struct kin_lease *fresh, size_t n,
    const struct kin_lease *old, size_t nold, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct kin_lease *o = find(old, nold, fresh[i].key);
		if (o != NULL && o->counter == fresh[i].counter)
			fresh[i].seen_ms = o->seen_ms;
		else if (o != NULL || fresh[i].owner != NULL)
			fresh[i].seen_ms = now;
		else
			fresh[i].seen_ms = 0;
	}
}

int
kin_lease_expired(const struct kin_lease *l, int64_t now, int64_t failover_ms)
{
	if (l->owner == NULL)
		return 1;
	return now - l->seen_ms > failover_ms;
}

int
kin_lease_finished(const struct kin_lease *l)
{
	return l->checkpoint != NULL &&
	    strcmp(l->checkpoint, KIN_LEASE_SHARD_END) == 0;
}

int
kin_lease_ready(const struct kin_lease *v, size_t n, size_t i)
{
	for (size_t k = 0; k < v[i].nparents; k++) {
		const struct kin_lease *p = find(v, n, v[i].parents[k]);
		/* a parent without a lease is gone (past retention) or was
		 * never wanted (LATEST): nothing to wait for, as in KCL */
		if (p != NULL && !kin_lease_finished(p))
			return 0;
	}
	return 1;
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static void
shuffle(size_t *a, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rnd(rng) % i), t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

struct count {
	const char *owner;
	int n;
};

size_t
kin_lease_choose(const struct kin_lease *v, size_t n, const char *me,
    int64_t now, int64_t failover_ms, int max_steal, int max_leases,
    uint64_t *rng, size_t *pick, size_t maxpick, struct kin_lease_plan *plan)
{
	struct count *c = NULL;
	size_t *avail = NULL, nav = 0, nc = 0, npick = 0, most = 0;
	int k;

	memset(plan, 0, sizeof *plan);
	if (n == 0 || maxpick == 0)
		return 0;
	c = calloc(n + 1, sizeof *c);
	avail = calloc(n, sizeof *avail);
	if (c == NULL || avail == NULL)
		goto out;
	c[nc++] = (struct count){ me, 0 };
	for (size_t i = 0; i < n; i++) {
		size_t w;
		if (kin_lease_finished(&v[i]) || !kin_lease_ready(v, n, i))
			continue;
		plan->leases++;
		if (!v[i].held && kin_lease_expired(&v[i], now, failover_ms)) {
			avail[nav++] = i;
			continue;
		}
		/* held by us counts as ours whatever the row says */
		const char *o = v[i].held ? me : v[i].owner;
		for (w = 0; w < nc && strcmp(c[w].owner, o) != 0; w++)
			;
		if (w == nc)
			c[nc++] = (struct count){ o, 0 };
		c[w].n++;
	}
	plan->available = (int)nav;
	plan->workers = (int)nc;
	plan->mine = c[0].n;
	if (plan->leases == 0)
		goto out;
	if (plan->workers >= plan->leases)
		plan->target = 1;
	else
		plan->target = plan->leases / plan->workers +
		    (plan->leases % plan->workers != 0);
	if (max_leases > 0 && plan->target > max_leases)
		plan->target = max_leases;
	plan->need = plan->target - plan->mine;
	if (plan->need <= 0)
		goto out;
	if (nav > 0) {
		/* free and expired leases first, in random order so that
		 * workers do not all contend for the same ones */
		shuffle(avail, nav, rng);
		for (size_t i = 0; i < nav && (int)npick < plan->need &&
		    npick < maxpick; i++)
			pick[npick++] = avail[i];
		goto out;
	}
	/* steal from the most loaded worker (ties: the first name) */
	for (size_t w = 1; w < nc; w++)
		if (most == 0 || c[w].n > c[most].n ||
		    (c[w].n == c[most].n &&
		    strcmp(c[w].owner, c[most].owner) < 0))
			most = w;
	if (most == 0 || c[most].n < plan->target)
		goto out;
	k = c[most].n - plan->target;
	if (k > plan->need)
		k = plan->need;
	if (k == 0 && plan->need > 1)
		k = 1;
	if (k > max_steal)
		k = max_steal;
	if (k <= 0)
		goto out;
	nav = 0;
	for (size_t i = 0; i < n; i++)
		if (!v[i].held && v[i].owner != NULL &&
		    strcmp(v[i].owner, c[most].owner) == 0 &&
		    !kin_lease_finished(&v[i]) && kin_lease_ready(v, n, i) &&
		    !kin_lease_expired(&v[i], now, failover_ms))
			avail[nav++] = i;
	shuffle(avail, nav, rng);
	for (size_t i = 0; i < nav && (int)npick < k && npick < maxpick; i++)
		pick[npick++] = avail[i];
	if (npick > 0) {
		plan->steal = 1;
		plan->victim = v[avail[0]].owner;
	}
out:
	free(c);
	free(avail);
	return npick;
}
