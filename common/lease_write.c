/* lease_write.c — the lease manager's conditional writes, one lease each:
 * renew, take, checkpoint, release; as the KCL's DynamoDBLeaseRefresher
 * makes them (the same conditions and updates, as expressions). */
#include "lease.h"
#include "lease_int.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* First failure wins: keep it for the caller. */
void
kin_lease_note(int *rc, struct kin_awserr *ae, char *err,
    const struct kin_awserr *a2, const char *e2)
{
	if (*rc == 0) {
		if (ae != NULL)
			*ae = *a2;
		memcpy(err, e2, KIN_ERRLEN);
	}
	*rc = -1;
}

static int
key_item(struct kin_ddb_item *k, const char *shard, char *err)
{
	kin_ddb_item_init(k);
	return kin_ddb_set_s(k, KIN_LEASE_A_KEY, shard, err);
}

/* One conditional UpdateItem of shard; 0, KIN_DDB_CONDITION or -1. */
static int
update(struct kin_lease_mgr *m, const char *shard, const char *upd,
    const char *cond, const char *const *names, struct kin_ddb_item *vals,
    struct kin_awserr *ae, char *err)
{
	struct kin_ddb_item key;
	struct kin_ddb_expr x = { upd, cond, names, vals };
	int rc;

	if (key_item(&key, shard, err) < 0) {
		kin_ddb_item_release(&key);
		return -1;
	}
	m->st.requests++;
	rc = kin_ddb_update_item(m->ddb, m->table, &key, &x, ae, err);
	if (rc < 0)
		m->st.failed++;
	kin_ddb_item_release(&key);
	return rc;
}

/* After a condition failed on a retried call, the first try may have
 * been applied (KCL renewLease does the same check): is the row what our
 * write would have made it? */
static int
applied(struct kin_lease_mgr *m, const char *shard, int64_t counter,
    const char *owner, const char *checkpoint)
{
	struct kin_ddb_item key, it;
	struct kin_awserr ae;
	struct kin_lease l;
	char err[KIN_ERRLEN];
	int found = 0, ok = 0;

	kin_ddb_item_init(&it);
	if (key_item(&key, shard, err) == 0) {
		m->st.requests++;
		if (kin_ddb_get_item(m->ddb, m->table, &key, &it, &found, &ae,
		    err) == 0 && found &&
		    kin_lease_from_item(&it, &l, err) == 0) {
			int same = owner == NULL ? l.owner == NULL :
			    l.owner != NULL && strcmp(l.owner, owner) == 0;
			ok = l.counter == counter && same &&
			    (checkpoint == NULL || (l.checkpoint != NULL &&
			    strcmp(l.checkpoint, checkpoint) == 0));
			kin_lease_free(&l);
		}
	}
	kin_ddb_item_release(&key);
	kin_ddb_item_release(&it);
	return ok;
}

static int
vals_counter(struct kin_ddb_item *v, const char *me, int64_t old, char *err)
{
	kin_ddb_item_init(v);
	return kin_ddb_set_n(v, ":o", old, err) < 0 ||
	    kin_ddb_set_n(v, ":n", old + 1, err) < 0 ||
	    kin_ddb_set_s(v, ":me", me, err) < 0 ? -1 : 0;
}

/* Renew held lease h: 0, 1 lost, -1 failed. */
int
kin_lease_renew(struct kin_lease_mgr *m, struct kin_lease_held *h,
    struct kin_awserr *ae, char *err)
{
	static const char *const names[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, NULL };
	struct kin_ddb_item v;
	int64_t t = kin_lease_now(m);
	int rc;

	if (vals_counter(&v, m->worker, h->counter, err) < 0) {
		kin_ddb_item_release(&v);
		return -1;
	}
	m->st.renewals++;
	rc = update(m, h->shard, "SET #c = :n", "#c = :o AND #w = :me", names,
	    &v, ae, err);
	kin_ddb_item_release(&v);
	if (rc == KIN_DDB_CONDITION && ae->attempts > 1 &&
	    applied(m, h->shard, h->counter + 1, m->worker, NULL))
		rc = 0;
	if (rc == 0) {
		h->counter++;
		h->renewed_ms = t;
	}
	return rc == KIN_DDB_CONDITION ? 1 : rc;
}

/* Take lease l (counter condition, as KCL takeLease): 0, 1 lost the race,
 * -1 failed. */
int
kin_lease_take(struct kin_lease_mgr *m, const struct kin_lease *l,
    struct kin_awserr *ae, char *err)
{
	static const char *const names[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, NULL };
	static const char *const names_sw[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, "#s", KIN_LEASE_A_SWITCHES, NULL };
	struct kin_ddb_item v;
	int sw = l->owner != NULL && strcmp(l->owner, m->worker) != 0;
	int rc = -1;

	if (vals_counter(&v, m->worker, l->counter, err) == 0 &&
	    (!sw || kin_ddb_set_n(&v, ":one", 1, err) == 0))
		rc = update(m, l->key,
		    sw ? "SET #w = :me, #c = :n ADD #s :one" :
		    "SET #w = :me, #c = :n", "#c = :o", sw ? names_sw : names,
		    &v, ae, err);
	kin_ddb_item_release(&v);
	if (rc == KIN_DDB_CONDITION && ae->attempts > 1 &&
	    applied(m, l->key, l->counter + 1, m->worker, NULL))
		rc = 0;
	return rc == KIN_DDB_CONDITION ? 1 : rc;
}

int
kin_lease_evict(struct kin_lease_mgr *m, struct kin_lease_held *h,
    struct kin_awserr *ae, char *err)
{
	static const char *const names[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, NULL };
	struct kin_ddb_item v;
	int rc = -1;

	if (vals_counter(&v, m->worker, h->counter, err) == 0) {
		m->st.releases++;
		rc = update(m, h->shard, "SET #c = :n REMOVE #w",
		    "#c = :o AND #w = :me", names, &v, ae, err);
	}
	kin_ddb_item_release(&v);
	return rc == KIN_DDB_CONDITION ? 1 : rc;
}

int
kin_lease_checkpoint(struct kin_lease_mgr *m, const char *shard,
    const char *seq, int64_t subseq, struct kin_awserr *ae, char *err)
{
	static const char *const names[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, "#cp", KIN_LEASE_A_CHECKPOINT,
	    "#sub", KIN_LEASE_A_SUBSEQ, "#s", KIN_LEASE_A_SWITCHES, NULL };
	struct kin_lease_held *h = kin_lease_held_find(m, shard);
	struct kin_ddb_item v;
	struct kin_awserr tmp;
	int end = strcmp(seq, KIN_LEASE_SHARD_END) == 0, rc = -1;
	int64_t t;
	char *cp;

	if (ae == NULL)
		ae = &tmp;
	memset(ae, 0, sizeof *ae);
	if (h == NULL || !h->active) {
		kin_seterr(err, "checkpoint('%s'): lease not held", shard);
		return KIN_LEASE_LOST;
	}
	if ((cp = strdup(seq)) == NULL)
		return kin_seterr(err, "lease: out of memory");
	t = kin_lease_now(m);
	if (vals_counter(&v, m->worker, h->counter, err) == 0 &&
	    kin_ddb_set_s(&v, ":cp", seq, err) == 0 &&
	    kin_ddb_set_n(&v, ":sub", subseq, err) == 0 &&
	    kin_ddb_set_n(&v, ":zero", 0, err) == 0) {
		m->st.checkpoints++;
		/* KCL updateLease: the checkpoint bumps the counter too */
		rc = update(m, shard, end ? "SET #cp = :cp, #sub = :sub, "
		    "#s = :zero, #c = :n REMOVE #w" :
		    "SET #cp = :cp, #sub = :sub, #s = :zero, #c = :n",
		    "#c = :o AND #w = :me", names, &v, ae, err);
	}
	kin_ddb_item_release(&v);
	if (rc == KIN_DDB_CONDITION && ae->attempts > 1 &&
	    applied(m, shard, h->counter + 1, end ? NULL : m->worker, seq))
		rc = 0;
	if (rc == 0) {
		h->counter++;
		h->renewed_ms = t;
		free(h->checkpoint);
		h->checkpoint = cp;
		h->subseq = subseq;
		if (end) {
			kin_lease_drop(m, (size_t)(h - m->held),
			    kin_lease_now(m), "finished");
			m->next_take = 0;  /* its children may be ready */
		}
		return 0;
	}
	free(cp);
	if (rc == KIN_DDB_CONDITION) {
		kin_lease_drop(m, (size_t)(h - m->held), kin_lease_now(m),
		    "taken");
		return KIN_LEASE_LOST;
	}
	return -1;
}

int
kin_lease_release_all(struct kin_lease_mgr *m, struct kin_awserr *ae,
    char *err)
{
	static const char *const names[] = { "#c", KIN_LEASE_A_COUNTER,
	    "#w", KIN_LEASE_A_OWNER, NULL };
	struct kin_awserr a2;
	char e2[KIN_ERRLEN];
	int rc = 0;

	if (ae != NULL)
		memset(ae, 0, sizeof *ae);
	for (size_t i = m->nheld; i-- > 0;) {
		struct kin_ddb_item v;
		int r = -1;
		kin_ddb_item_init(&v);
		if (kin_ddb_set_s(&v, ":me", m->worker, e2) == 0 &&
		    kin_ddb_set_n(&v, ":one", 1, e2) == 0) {
			m->st.releases++;
			/* KCL evictLease: conditioned on the owner only */
			r = update(m, m->held[i].shard,
			    "SET #c = #c + :one REMOVE #w", "#w = :me", names,
			    &v, &a2, e2);
		}
		kin_ddb_item_release(&v);
		if (r < 0)
			kin_lease_note(&rc, ae, err, &a2, e2);
		kin_lease_drop(m, i, kin_lease_now(m), "released");
	}
	return rc;
}
