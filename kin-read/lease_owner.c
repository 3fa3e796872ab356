/* lease_owner.c — kin-read's shards shared through a lease table: the
 * owner the shard table asks, and the thread that drives the lease
 * manager (common/lease.h) and turns its events into shards gained and
 * lost, with the checkpoints written into the leases.  -L --lease-table is
 * in lease_list.c. */
#include "lease_owner.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dynamodb.h"
#include "err.h"
#include "parse.h"

/* A gained lease the table could not take yet (a worker still had the
 * shard in hand, or the shard is not listed yet). */
struct lease_gain {
	char shard[KIN_LEASE_IDLEN];
	char checkpoint[KIN_LEASE_IDLEN];
	int64_t subseq;
};

static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	kin_warn(PROG, "%s", line);
}

static void
vlog(const struct lease_owner *lo, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
vlog(const struct lease_owner *lo, int level, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_load_n(&lo->o->cli.verbose, __ATOMIC_RELAXED) < level)
		return;
	va_start(ap, fmt);
	kin_vwarn(PROG, fmt, ap);
	va_end(ap);
}

/* Options SIGHUP may change (reload.c) are read whole. */
static int
quiet(const struct lease_owner *lo)
{
	return __atomic_load_n(&lo->o->cli.quiet, __ATOMIC_RELAXED);
}

static int64_t
opt_ms(const int64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* A failure the thread goes on after: said at most every 10 s. */
static void
complain(struct lease_owner *lo, const char *what, const char *err)
{
	int64_t now = kin_lease_clock_ms();

	if (quiet(lo) || (lo->warned_ms != 0 && now - lo->warned_ms < 10000))
		return;
	lo->warned_ms = now;
	kin_warn(PROG, "lease table '%s': %s: %s", lo->o->lease_table, what,
	    err);
}

/* ---- the owner the shard table asks ---- */

/* Nothing is read until its lease is gained. */
static int
lease_claim(void *ctx, const char *id, long number)
{
	(void)ctx;
	(void)id;
	(void)number;
	return 0;
}

/* A child's lease is only taken once every parent's lease says
 * SHARD_END (the manager's rule, KCL's), so a child this process holds
 * never waits for a parent read elsewhere. */
static int
lease_parent_finished(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return 1;
}

/* With lo->lock held. */
static int
grow_ended(struct lease_owner *lo)
{
	size_t nc = lo->capended ? lo->capended * 2 : 8;
	char **nv = realloc(lo->ended, nc * sizeof *nv);

	if (nv == NULL)
		return -1;
	lo->ended = nv;
	lo->capended = nc;
	return 0;
}

static void
queue_end(struct lease_owner *lo, const char *id)
{
	char *dup = strdup(id);

	if (dup == NULL)
		return;   /* the lease stays at the last checkpoint: re-read */
	pthread_mutex_lock(&lo->lock);
	if (lo->nended == lo->capended && grow_ended(lo) < 0) {
		pthread_mutex_unlock(&lo->lock);
		free(dup);
		return;
	}
	lo->ended[lo->nended++] = dup;
	lo->sync_now = 1;     /* its children's leases */
	pthread_cond_signal(&lo->cond);
	pthread_mutex_unlock(&lo->lock);
}

/* Called with the table lock held: queue SHARD_END for the thread. */
static void
lease_finished(void *ctx, const char *id)
{
	struct lease_owner *lo = ctx;

	queue_end(lo, id);
	/* -e must not end before the children had their chance */
	if (lo->t != NULL)
		lo->t->owner_pending = 1;
}

static const struct owner_ops lease_ops = {
	lease_claim, lease_parent_finished, lease_finished,
};

void
lease_owner_bind(struct owner *ow, struct lease_owner *lo)
{
	ow->ops = &lease_ops;
	ow->ctx = lo;
}

int
lease_gate(const void *p)
{
	const struct shard *s = p;

	return kin_lease_clock_ms() <
	    __atomic_load_n(&s->lease_until_ms, __ATOMIC_ACQUIRE);
}

/* ---- set-up ---- */

static void
default_worker(char *out, size_t n)
{
	char host[256];
	unsigned r = (unsigned)(kin_now_wall_us() ^ (int64_t)getpid() << 16);

	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	/* the KCL makes a random id per run; a person can still read this */
	snprintf(out, n, "%.64s:%ld:%06x", host, (long)getpid(),
	    r & 0xffffffu);
}

int
lease_owner_init(struct lease_owner *lo, const struct opts *o,
    const struct kin_client *kc, int *status, char *err)
{
	struct kin_lease_cfg cfg;
	struct kin_awserr ae;
	pthread_condattr_t ca;

	memset(lo, 0, sizeof *lo);
	lo->o = o;
	*status = KIN_EX_SOFTWARE;
	if (pthread_mutex_init(&lo->lock, NULL) != 0)
		return kin_seterr(err, "cannot create a mutex");
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&lo->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		pthread_mutex_destroy(&lo->lock);
		return kin_seterr(err, "cannot create a condition variable");
	}
	pthread_condattr_destroy(&ca);
	lo->have_mgr = -1;    /* the locks exist: release may run */
	if (o->worker_id != NULL)
		snprintf(lo->worker, sizeof lo->worker, "%s", o->worker_id);
	else
		default_worker(lo->worker, sizeof lo->worker);
	*status = KIN_EX_CONFIG;
	if (kin_client_clone(&lo->kc, kc, err) < 0)
		return -1;
	lo->have_kc = 1;
	if (kin_ddb_init(&lo->ddb, &o->cli, NULL, err) < 0)
		return -1;
	lo->have_ddb = 1;
	kin_client_set_trace(&lo->ddb, o->cli.verbose, trace, NULL);
	memset(&ae, 0, sizeof ae);
	if (kin_lease_ensure_table(&lo->ddb, o->lease_table, 60000, &ae,
	    err) < 0) {
		char why[KIN_ERRLEN];
		snprintf(why, sizeof why, "%s", err);
		*status = kin_exit_status(&ae);
		return kin_seterr(err, "cannot set up lease table '%s': %s",
		    o->lease_table, why);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.table = o->lease_table;
	cfg.worker = lo->worker;
	cfg.failover_ms = o->failover_ms;
	switch (o->from.kind) {
	case POS_TRIM:
		cfg.initial = KIN_LEASE_TRIM_HORIZON;
		break;
	case POS_AT_TS:
		/* the KCL's sentinel: each reader starts at its own -o */
		cfg.initial = "AT_TIMESTAMP";
		break;
	default:
		cfg.initial = KIN_LEASE_LATEST;
		break;
	}
	*status = KIN_EX_USAGE;
	if (kin_lease_mgr_init(&lo->m, &lo->ddb, &cfg, err) < 0)
		return -1;
	lo->have_mgr = 1;
	*status = KIN_EX_OK;
	return 0;
}

void
lease_owner_attach(struct lease_owner *lo, struct table *t)
{
	lo->t = t;
	pthread_mutex_lock(&t->lock);
	t->gate = lease_gate;
	t->owner_pending = 1;     /* until the first taker pass */
	pthread_mutex_unlock(&t->lock);
}

void
lease_owner_barriers(struct lease_owner *lo, const struct kin_ckpt *ck)
{
	lo->barrier = 1;
	lo->ck = ck;
}

void
lease_owner_halt(struct lease_owner *lo)
{
	if (!lo->running)
		return;
	pthread_mutex_lock(&lo->lock);
	lo->stop = 1;
	pthread_cond_signal(&lo->cond);
	pthread_mutex_unlock(&lo->lock);
	pthread_join(lo->th, NULL);
	lo->running = 0;
}

void
lease_owner_release(struct lease_owner *lo)
{
	if (lo->have_mgr == 0)
		return;
	lease_owner_halt(lo);
	if (lo->have_mgr > 0)
		kin_lease_mgr_release(&lo->m);
	if (lo->have_ddb)
		kin_client_release(&lo->ddb);
	if (lo->have_kc)
		kin_client_release(&lo->kc);
	for (size_t i = 0; i < lo->nended; i++)
		free(lo->ended[i]);
	free(lo->ended);
	free(lo->pend);
	pthread_cond_destroy(&lo->cond);
	pthread_mutex_destroy(&lo->lock);
	memset(lo, 0, sizeof *lo);
}

/* ---- from the lease to the table ---- */

static const struct kin_lease_held *
held(const struct lease_owner *lo, const char *shard)
{
	for (size_t i = 0; i < lo->m.nheld; i++)
		if (strcmp(lo->m.held[i].shard, shard) == 0)
			return &lo->m.held[i];
	return NULL;
}

/* Until when shard's records may be written (kin_lease_holds' rule as a
 * deadline); 0 when not at all. */
static int64_t
valid_until(const struct lease_owner *lo, const char *shard)
{
	const struct kin_lease_held *h = held(lo, shard);

	if (h == NULL || !h->active)
		return 0;
	return h->renewed_ms + lo->m.failover_ms - lo->m.guard_ms;
}

/* Where a shard resumes from its lease's checkpoint: the KCL's sentinels,
 * or the last user record delivered (sequence and sub-sequence number,
 * read again from its record and skipped up to that sub-record, which
 * covers aggregates and plain records alike).  1 when it is finished, -1
 * when the checkpoint is not one of those. */
static int
lease_pos(const struct opts *o, const char *cp, int64_t subseq,
    struct kin_pos *p)
{
	memset(p, 0, sizeof *p);
	if (strcmp(cp, KIN_LEASE_SHARD_END) == 0)
		return 1;
	if (strcmp(cp, KIN_LEASE_TRIM_HORIZON) == 0) {
		p->kind = POS_TRIM;
	} else if (strcmp(cp, KIN_LEASE_LATEST) == 0) {
		p->kind = POS_LATEST;
	} else if (strcmp(cp, "AT_TIMESTAMP") == 0) {
		if (o->from.kind == POS_AT_TS)
			*p = o->from;
		else
			p->kind = POS_TRIM;
	} else if (kin_seq_valid(cp) && subseq >= 0 && subseq <= 0x7fffffff) {
		p->kind = POS_AFTER;
		memcpy(p->seq, cp, strlen(cp) + 1);
		p->sub = (long)subseq;
		p->more = 1;
	} else {
		p->kind = POS_TRIM;
		return -1;
	}
	return 0;
}

/* Sequence numbers are decimal strings: longer is later. */
static int
seq_cmp(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na != nb)
		return na < nb ? -1 : 1;
	return strcmp(a, b);
}

/* Barrier mode: where this pipeline's own checkpoint has shard id further
 * on than its lease (the lease is written after the file is committed; a
 * stop in between leaves it behind), resume from the file, whose state
 * kin-window restores: the records in between are in that state already.
 * A lease further on was moved by another worker since: it wins.  Returns
 * 1 when the file has the shard read to its end, else 0 with *p updated. */
static int
later_of_file(const struct lease_owner *lo, const char *id,
    struct kin_pos *p)
{
	if (!lo->barrier || lo->ck == NULL)
		return 0;
	for (size_t i = 0; i < lo->ck->n; i++) {
		const struct kin_ckpt_entry *e = &lo->ck->e[i];
		if (strcmp(e->id, id) != 0)
			continue;
		if (e->done)
			return 1;
		if (e->pos.kind != POS_AFTER)
			return 0;
		if (p->kind != POS_AFTER || seq_cmp(e->pos.seq, p->seq) > 0 ||
		    (seq_cmp(e->pos.seq, p->seq) == 0 && e->pos.sub > p->sub))
			*p = e->pos;
		return 0;
	}
	return 0;
}

static void
ask_sync(struct lease_owner *lo)
{
	pthread_mutex_lock(&lo->lock);
	lo->sync_now = 1;
	pthread_mutex_unlock(&lo->lock);
}

/* Hand gained shard g to the table.  0 done, 1 not yet. */
static int
apply_gain(struct lease_owner *lo, const struct lease_gain *g)
{
	struct table *t = lo->t;
	struct shard *s;
	struct kin_pos p;
	int fin = lease_pos(lo->o, g->checkpoint, g->subseq, &p);
	int64_t until = valid_until(lo, g->shard);

	if (fin != 1 && later_of_file(lo, g->shard, &p))
		fin = 1;

	pthread_mutex_lock(&t->lock);
	s = table_find_locked(t, g->shard);
	if (s == NULL || s->busy) {
		pthread_mutex_unlock(&t->lock);
		if (s == NULL)
			ask_sync(lo);
		return 1;
	}
	free(s->iter);
	s->iter = NULL;
	s->skip = 0;
	s->throttles = 0;
	s->empty_tip = 0;
	s->millis_behind = -1;
	memset(&s->last, 0, sizeof s->last);
	memset(&s->committed, 0, sizeof s->committed);
	s->committed_done = 0;
	if (fin == 1) {
		s->state = SH_DONE;
		s->committed_done = lo->barrier;
	} else {
		s->start = p;
		if (p.kind == POS_AFTER)
			s->last = s->committed = p;
		s->state = SH_WAITING;
	}
	__atomic_store_n(&s->lease_until_ms, until, __ATOMIC_RELEASE);
	s->owned = 1;
	s->due_us = mono_us();
	table_update_locked(t);
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (fin < 0 && !quiet(lo))
		kin_warn(PROG, "lease of shard '%s': checkpoint '%s' is not a "
		    "sequence number or TRIM_HORIZON, LATEST, AT_TIMESTAMP, "
		    "SHARD_END: reading from TRIM_HORIZON", g->shard,
		    g->checkpoint);
	return 0;
}

static void
drop_pending(struct lease_owner *lo, const char *shard)
{
	for (size_t i = 0; i < lo->npend; i++)
		if (strcmp(lo->pend[i].shard, shard) == 0) {
			lo->pend[i] = lo->pend[--lo->npend];
			return;
		}
}

static void
add_pending(struct lease_owner *lo, const struct lease_gain *g)
{
	drop_pending(lo, g->shard);
	if (lo->npend == lo->cappend) {
		size_t nc = lo->cappend ? lo->cappend * 2 : 8;
		struct lease_gain *nv = realloc(lo->pend, nc * sizeof *nv);
		if (nv == NULL)
			return;   /* the lease is held unread until it is lost */
		lo->pend = nv;
		lo->cappend = nc;
	}
	lo->pend[lo->npend++] = *g;
}

/* Shard lost: no more of its records may go out, at once. */
static void
apply_loss(struct lease_owner *lo, const char *shard)
{
	struct table *t = lo->t;
	struct shard *s;

	drop_pending(lo, shard);
	pthread_mutex_lock(&t->lock);
	s = table_find_locked(t, shard);
	if (s != NULL) {
		__atomic_store_n(&s->lease_until_ms, 0, __ATOMIC_RELEASE);
		s->owned = 0;
		if (!s->busy) {
			free(s->iter);
			s->iter = NULL;
		}
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
}

static void
events(struct lease_owner *lo)
{
	struct kin_lease_event ev;

	while (kin_lease_next_event(&lo->m, &ev)) {
		if (ev.type == KIN_LEASE_EV_GAINED) {
			struct lease_gain g;

			memcpy(g.shard, ev.shard, sizeof g.shard);
			memcpy(g.checkpoint, ev.checkpoint, sizeof g.checkpoint);
			g.subseq = ev.subseq;
			lo->gained++;
			vlog(lo, 1, "lease of shard '%s' gained (%s%s%s), "
			    "reading from %s", ev.shard, ev.why,
			    ev.from[0] ? " from " : "", ev.from, ev.checkpoint);
			if (apply_gain(lo, &g) != 0)
				add_pending(lo, &g);
		} else {
			lo->lost++;
			vlog(lo, 1, "lease of shard '%s' lost (%s)", ev.shard,
			    ev.why);
			apply_loss(lo, ev.shard);
		}
	}
}

static void
retry_pending(struct lease_owner *lo)
{
	for (size_t i = lo->npend; i-- > 0;) {
		struct lease_gain g = lo->pend[i];
		if (held(lo, g.shard) == NULL) {
			lo->pend[i] = lo->pend[--lo->npend];
			continue;
		}
		if (apply_gain(lo, &g) == 0)
			drop_pending(lo, g.shard);
	}
}

/* Each held shard's deadline, after renewals moved it. */
static void
refresh_gates(struct lease_owner *lo)
{
	struct table *t = lo->t;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < lo->m.nheld; i++) {
		const struct kin_lease_held *h = &lo->m.held[i];
		struct shard *s = table_find_locked(t, h->shard);
		if (s == NULL || !s->owned || !h->active)
			continue;
		__atomic_store_n(&s->lease_until_ms, h->renewed_ms +
		    lo->m.failover_ms - lo->m.guard_ms, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&t->lock);
}

static void
close_gates(struct lease_owner *lo)
{
	struct table *t = lo->t;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n; i++)
		__atomic_store_n(&t->v[i]->lease_until_ms, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->lock);
}

/* ---- checkpoints ---- */

struct pos_out {
	char shard[KIN_LEASE_IDLEN];
	char seq[SEQ_MAX];
	long sub;
};

/* Write into its lease the position of every held shard that moved since
 * its lease's checkpoint.  0, or -1 with err for the first failure. */
static int
write_positions(struct lease_owner *lo, char *err)
{
	struct table *t = lo->t;
	struct pos_out *v;
	size_t n = 0;
	int rc = 0;

	if (lo->m.nheld == 0)
		return 0;
	if ((v = calloc(lo->m.nheld, sizeof *v)) == NULL)
		return kin_seterr(err, "out of memory");
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < lo->m.nheld; i++) {
		const struct kin_lease_held *h = &lo->m.held[i];
		struct shard *s = table_find_locked(t, h->shard);
		/* in barrier mode only what kin-write has committed */
		const struct kin_pos *at = s == NULL ? NULL :
		    lo->barrier ? &s->committed : &s->last;
		if (s == NULL || !s->owned || !h->active ||
		    at->kind != POS_AFTER)
			continue;
		if (h->checkpoint != NULL && strcmp(h->checkpoint,
		    at->seq) == 0 && h->subseq == at->sub)
			continue;
		snprintf(v[n].shard, sizeof v[n].shard, "%s", s->id);
		memcpy(v[n].seq, at->seq, sizeof v[n].seq);
		v[n].sub = at->sub;
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		struct kin_awserr ae;
		char e2[KIN_ERRLEN];
		int r = kin_lease_checkpoint(&lo->m, v[i].shard, v[i].seq,
		    v[i].sub, &ae, e2);
		if (r == 0)
			lo->checkpoints++;
		else if (r < 0 && rc == 0)
			rc = kin_seterr(err, "%s", e2);
		/* KIN_LEASE_LOST: a LOST event is queued */
	}
	free(v);
	events(lo);
	return rc;
}

/* Barrier mode: a committed barrier has shard id read to its end. */
static int
end_committed(struct lease_owner *lo, const char *id)
{
	struct shard *s;
	int done;

	pthread_mutex_lock(&lo->t->lock);
	s = table_find_locked(lo->t, id);
	done = s != NULL && s->committed_done;
	pthread_mutex_unlock(&lo->t->lock);
	return done;
}

/* Back on the list of ends, quietly: no listing for it. */
static void
keep_end(struct lease_owner *lo, char *id)
{
	pthread_mutex_lock(&lo->lock);
	if (lo->nended < lo->capended ||
	    (lo->nended == lo->capended && grow_ended(lo) == 0)) {
		lo->ended[lo->nended++] = id;
		id = NULL;
	}
	pthread_mutex_unlock(&lo->lock);
	free(id);   /* out of memory: the lease stays behind, read again */
}

/* SHARD_END into the leases of the shards read to their end.  Those that
 * failed for a reason worth retrying go back on the list. */
static int
write_ends(struct lease_owner *lo, char *err)
{
	char **v;
	size_t n;
	int rc = 0;

	pthread_mutex_lock(&lo->lock);
	v = lo->ended;
	n = lo->nended;
	lo->ended = NULL;
	lo->nended = lo->capended = 0;
	pthread_mutex_unlock(&lo->lock);
	for (size_t i = 0; i < n; i++) {
		struct kin_awserr ae;
		char e2[KIN_ERRLEN];
		if (lo->barrier && held(lo, v[i]) != NULL &&
		    !end_committed(lo, v[i])) {
			keep_end(lo, v[i]);   /* not before kin-write has it */
			continue;
		}
		int r = kin_lease_checkpoint(&lo->m, v[i], KIN_LEASE_SHARD_END,
		    0, &ae, e2);
		if (r == 0) {
			lo->checkpoints++;
			vlog(lo, 2, "lease of shard '%s': SHARD_END", v[i]);
		}
		if (r < 0) {
			if (rc == 0)
				rc = kin_seterr(err, "%s", e2);
			queue_end(lo, v[i]);   /* again next turn */
		}
		free(v[i]);
	}
	free(v);
	events(lo);
	return rc;
}

/* ---- the thread ---- */

/* List the shards: into the table (so gained shards are there) and into
 * the lease table (leases for new shards). */
static int
sync_shards(struct lease_owner *lo, char *err)
{
	struct kin_shard *s = NULL;
	size_t n = 0;
	struct kin_awserr ae;
	struct merge_cfg mc;
	int rc;

	memset(&ae, 0, sizeof ae);
	if (kin_list_shards(&lo->kc, lo->o->cli.stream, NULL, &s, &n, &ae,
	    err) < 0)
		return -1;
	memset(&mc, 0, sizeof mc);
	mc.from = &lo->o->from;
	table_merge(lo->t, s, n, &mc);
	rc = kin_lease_sync_shards(&lo->m, s, n, &ae, err);
	kin_shards_free(s, n);
	events(lo);
	return rc;
}

/* 1 when shards may yet come to this process without taking them from a
 * live reader: a lease taken but still behind its fence, or free or
 * expired leases its taker would take (a dry run of its rules).  -e does
 * not end while they may: after a crash, the dead reader's shards are
 * read by whoever runs next. */
static int
more_to_come(struct lease_owner *lo)
{
	struct kin_lease_plan plan;
	size_t *pick, np;
	uint64_t rng = lo->m.rng;

	for (size_t i = 0; i < lo->m.nheld; i++)
		if (!lo->m.held[i].active)
			return 1;
	if (lo->m.nall == 0)
		return 0;
	if ((pick = calloc(lo->m.nall, sizeof *pick)) == NULL)
		return 0;
	np = kin_lease_choose(lo->m.all, lo->m.nall, lo->worker,
	    kin_lease_clock_ms(), lo->m.failover_ms, lo->m.max_steal,
	    lo->m.max_leases, &rng, pick, lo->m.nall, &plan);
	free(pick);
	return np > 0 && !plan.steal;
}

static void
set_pending(struct lease_owner *lo)
{
	struct table *t = lo->t;
	int more = more_to_come(lo);

	/* table lock, then ours: the order lease_finished takes them in */
	pthread_mutex_lock(&t->lock);
	pthread_mutex_lock(&lo->lock);
	t->owner_pending = more || lo->npend > 0 || lo->nended > 0 ||
	    lo->sync_now;
	pthread_mutex_unlock(&lo->lock);
	pthread_mutex_unlock(&t->lock);
}

/* One turn: ends, listing, the manager's tick, events, gates. */
static void
turn(struct lease_owner *lo, int64_t now)
{
	char err[KIN_ERRLEN];
	struct kin_awserr ae;
	int sync, changed;

	if (write_ends(lo, err) < 0)
		complain(lo, "cannot checkpoint", err);
	pthread_mutex_lock(&lo->lock);
	sync = lo->sync_now;
	lo->sync_now = 0;
	pthread_mutex_unlock(&lo->lock);
	if (sync || now >= lo->next_sync) {
		if (sync_shards(lo, err) < 0) {
			complain(lo, "cannot sync shards", err);
			lo->next_sync = now + 1000;
		} else {
			lo->next_sync = now + opt_ms(&lo->o->discovery_ms);
		}
	}
	if (kin_lease_tick(&lo->m, kin_lease_clock_ms(), &changed, &ae,
	    err) < 0)
		complain(lo, "cannot renew or take leases", err);
	events(lo);
	retry_pending(lo);
	refresh_gates(lo);
	now = kin_lease_clock_ms();
	if (now >= lo->next_ckpt) {
		if (write_positions(lo, err) < 0)
			complain(lo, "cannot checkpoint", err);
		lo->next_ckpt = now + opt_ms(&lo->o->checkpoint_ms);
		refresh_gates(lo);
	}
}

static void *
lease_main(void *arg)
{
	struct lease_owner *lo = arg;

	for (;;) {
		int64_t now = kin_lease_clock_ms(), wake;
		struct timespec ts;

		pthread_mutex_lock(&lo->lock);
		int stop = lo->stop;
		pthread_mutex_unlock(&lo->lock);
		if (stop)
			break;
		turn(lo, now);
		set_pending(lo);
		now = kin_lease_clock_ms();
		wake = now + kin_lease_next_due(&lo->m, now);
		if (wake > lo->next_sync)
			wake = lo->next_sync;
		if (wake > lo->next_ckpt)
			wake = lo->next_ckpt;
		if (wake > now + 1000)
			wake = now + 1000;
		if (lo->npend > 0 && wake > now + 50)
			wake = now + 50;
		if (wake < now + 5)
			wake = now + 5;
		ts.tv_sec = (time_t)(wake / 1000);
		ts.tv_nsec = (long)(wake % 1000) * 1000000L;
		pthread_mutex_lock(&lo->lock);
		if (!lo->stop && !lo->sync_now && lo->nended == 0)
			pthread_cond_timedwait(&lo->cond, &lo->lock, &ts);
		pthread_mutex_unlock(&lo->lock);
	}
	return NULL;
}

int
lease_owner_start(struct lease_owner *lo, char *err)
{
	char why[KIN_ERRLEN];
	int64_t now = kin_lease_clock_ms();

	/* the first listing here: a table we cannot write stops us now */
	if (sync_shards(lo, why) < 0)
		return kin_seterr(err, "lease table '%s': cannot create "
		    "leases: %s", lo->o->lease_table, why);
	lo->next_sync = now + opt_ms(&lo->o->discovery_ms);
	lo->next_ckpt = now + opt_ms(&lo->o->checkpoint_ms);
	vlog(lo, 1, "lease table '%s': worker '%s'", lo->o->lease_table,
	    lo->worker);
	if (pthread_create(&lo->th, NULL, lease_main, lo) != 0)
		return kin_seterr(err, "cannot start a thread");
	lo->running = 1;
	return 0;
}

int
lease_owner_stop(struct lease_owner *lo, char *err)
{
	struct kin_awserr ae;
	char e2[KIN_ERRLEN];
	int rc = 0;

	lease_owner_halt(lo);
	if (lo->t == NULL || lo->have_mgr <= 0)
		return 0;
	/* nothing more goes out, whatever a stuck reader tries */
	close_gates(lo);
	if (write_ends(lo, e2) < 0)
		rc = kin_seterr(err, "lease table '%s': %s",
		    lo->o->lease_table, e2);
	if (write_positions(lo, e2) < 0 && rc == 0)
		rc = kin_seterr(err, "lease table '%s': %s",
		    lo->o->lease_table, e2);
	if (kin_lease_release_all(&lo->m, &ae, e2) < 0 && rc == 0)
		rc = kin_seterr(err, "lease table '%s': cannot release "
		    "leases: %s", lo->o->lease_table, e2);
	events(lo);
	vlog(lo, 1, "lease table '%s': worker '%s' gained %ld, lost %ld, "
	    "%ld checkpoints, %ld DynamoDB requests", lo->o->lease_table,
	    lo->worker, lo->gained, lo->lost, lo->checkpoints,
	    lo->m.st.requests);
	return rc;
}
