/* efo_src.c — --efo: the thread that reads the shards this process owns
 * through SubscribeToShard and hands each event to step.c's page code. */
#include "efo_src.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "worker.h"

struct efo_sub_state {
	char *id;
	int told_closed;           /* kin_efo_closed said */
};

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct efo_sub_state *
sub_find(struct efo_src *x, const char *id)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].id, id) == 0)
			return &x->v[i];
	return NULL;
}

static void
sub_remove(struct efo_src *x, const char *id)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->v[i].id, id) == 0) {
			free(x->v[i].id);
			x->v[i] = x->v[--x->n];
			return;
		}
}

static int
sub_add(struct efo_src *x, const char *id)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 16;
		struct efo_sub_state *nv = realloc(x->v, nc * sizeof *nv);
		if (nv == NULL)
			return -1;
		x->v = nv;
		x->cap = nc;
	}
	if ((x->v[x->n].id = strdup(id)) == NULL)
		return -1;
	x->v[x->n++].told_closed = 0;
	return 0;
}

/* Subscribe shard s (table lock held) from its last record printed, else
 * its start: the position rules of step.c's open_iterator. */
static int
subscribe(struct efo_src *x, struct shard *s, char *err)
{
	const struct kin_pos *p = s->last.kind == POS_AFTER ? &s->last :
	    &s->start;
	const char *type, *seq = NULL;
	int64_t ts = 0;

	s->skip = 0;
	switch (p->kind) {
	case POS_TRIM:
		type = "TRIM_HORIZON";
		break;
	case POS_LATEST:
		type = "LATEST";
		ts = wall_ms();
		break;
	case POS_AT_TS:
		type = "AT_TIMESTAMP";
		ts = p->ts_ms;
		break;
	case POS_AT_SEQ:
		type = "AT_SEQUENCE_NUMBER";
		seq = p->seq;
		break;
	case POS_AFTER:
		seq = p->seq;
		if (p->more) {
			/* part of an aggregate is out: read it again, drop
			 * the sub-records already printed */
			type = "AT_SEQUENCE_NUMBER";
			s->skip = 1;
			memcpy(s->skip_seq, p->seq, sizeof s->skip_seq);
			s->skip_sub = p->sub;
		} else {
			type = "AFTER_SEQUENCE_NUMBER";
		}
		break;
	default:
		return kin_seterr(err, "shard '%s' has no start position",
		    s->id);
	}
	if (kin_efo_subscribe(&x->e, s->id, type, seq,
	    p->kind == POS_AT_TS ? ts : 0, err) < 0)
		return -1;
	if (sub_add(x, s->id) < 0) {
		kin_efo_unsubscribe(&x->e, s->id);
		return kin_seterr(err, "out of memory");
	}
	if (p->kind == POS_LATEST) {
		/* a resubscription must not skip what arrives from now on */
		s->start.kind = POS_AT_TS;
		s->start.ts_ms = ts;
	}
	if (__atomic_load_n(&x->r->o->cli.verbose, __ATOMIC_RELAXED) >= 2)
		kin_warn(PROG, "shard '%s': subscribing from %s%s%s", s->id,
		    type, seq ? " " : "", seq ? seq : "");
	return 0;
}

/* Make the subscriptions match the table: ready shards this process reads
 * are subscribed, others not.  -1 when the reader is stopping or failed. */
static int
sync_subs(struct efo_src *x)
{
	struct table *t = x->r->t;
	char err[KIN_ERRLEN];
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (t->stop) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	for (size_t i = x->n; i-- > 0;) {
		struct efo_sub_state *u = &x->v[i];
		struct shard *s = table_find_locked(t, u->id);
		if (s == NULL || !s->owned || s->state != SH_READY) {
			kin_efo_unsubscribe(&x->e, u->id);
			free(u->id);
			x->v[i] = x->v[--x->n];
			continue;
		}
		if (s->closed && !u->told_closed) {
			kin_efo_closed(&x->e, u->id);
			u->told_closed = 1;
		}
	}
	for (size_t i = 0; i < t->n && rc == 0; i++) {
		struct shard *s = t->v[i];
		if (!s->owned || s->state != SH_READY || s->busy ||
		    sub_find(x, s->id) != NULL)
			continue;
		if (subscribe(x, s, err) < 0) {
			rc = -1;
			break;
		}
		if (s->closed) {
			kin_efo_closed(&x->e, s->id);
			x->v[x->n - 1].told_closed = 1;
		}
	}
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		reader_fail(x->r, KIN_EX_SOFTWARE, "%s", err);
	return rc;
}

static void
handle(struct efo_src *x, const struct kin_efo_event *ev)
{
	struct reader *r = x->r;
	struct table *t = r->t;
	struct shard *s;
	struct page pg;
	int res, news = 0;

	if (sub_find(x, ev->shard) == NULL)
		return;   /* unsubscribed since */
	if (ev->kind == KIN_EFO_ERROR) {
		sub_remove(x, ev->shard);
		reader_fail(r, kin_exit_status(ev->ae), "cannot read shard "
		    "'%s' through enhanced fan-out: %s", ev->shard, ev->err);
		return;
	}
	pthread_mutex_lock(&t->lock);
	s = table_find_locked(t, ev->shard);
	if (s == NULL || !s->owned || s->state != SH_READY) {
		pthread_mutex_unlock(&t->lock);
		return;   /* sync_subs drops it */
	}
	s->busy = 1;
	pthread_mutex_unlock(&t->lock);

	memset(&pg, 0, sizeof pg);
	pg.r = ev->recs->r;
	pg.n = ev->recs->n;
	pg.millis_behind = ev->millis_behind;
	if (ev->kind == KIN_EFO_END) {
		pg.next_iter = NULL;
		pg.children = ev->recs->children;
		pg.nchildren = ev->recs->nchildren;
	} else {
		/* not an iterator: step.c only asks whether there is one */
		pg.next_iter = "efo";
	}
	x->events++;
	res = shard_take_page(x->wk, s, &pg);

	pthread_mutex_lock(&t->lock);
	s->busy = 0;
	/* the tip as the subscription saw it: with the event's records out,
	 * the shard has caught up (polling learns it from an empty page) */
	if (res == 0 && s->state == SH_READY && ev->kind == KIN_EFO_RECORDS &&
	    ev->recs->n > 0 && ev->millis_behind == 0 &&
	    (r->pin_ms >= 0 || (r->until_ms >= 0 && wall_ms() > r->until_ms))) {
		s->state = SH_STOPPED;
		news = 1;
	}
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	x->records += ev->recs->n;
	if (ev->kind == KIN_EFO_END) {
		sub_remove(x, ev->shard);
	} else if (res != 0) {
		/* not ours to print now: start again from the last record
		 * printed if it comes back */
		kin_efo_unsubscribe(&x->e, ev->shard);
		sub_remove(x, ev->shard);
	}
	if (news) {
		if (__atomic_load_n(&r->o->cli.verbose, __ATOMIC_RELAXED) >= 2)
			kin_warn(PROG, "shard '%s': caught up", ev->shard);
		reader_kick(r);
	}
}

static void *
efo_main(void *arg)
{
	struct efo_src *x = arg;
	struct kin_efo_event ev;
	char err[KIN_ERRLEN];

	while (sync_subs(x) == 0) {
		int rc = kin_efo_next(&x->e, 200, &ev, err);
		if (rc < 0) {
			reader_fail(x->r, KIN_EX_SOFTWARE, "enhanced fan-out: %s",
			    err);
			break;
		}
		if (rc > 0)
			handle(x, &ev);
	}
	return NULL;
}

int
efo_src_init(struct efo_src *x, struct reader *r, int *status, char *err)
{
	const struct opts *o = r->o;
	struct kin_awserr ae;
	char why[KIN_ERRLEN];

	memset(x, 0, sizeof *x);
	x->r = r;
	*status = KIN_EX_SOFTWARE;
	if (kin_client_clone(&x->c, r->base, err) < 0)
		return -1;
	x->have_c = 1;
	memset(&ae, 0, sizeof ae);
	if (kin_efo_consumer(&x->c, o->cli.stream, o->efo, 60000, &x->con,
	    &ae, why) < 0) {
		*status = kin_exit_status(&ae);
		return kin_seterr(err, "cannot register stream consumer '%s' "
		    "of stream '%s': %s", o->efo, o->cli.stream, why);
	}
	x->have_con = 1;
	if (o->cli.verbose >= 1)
		kin_warn(PROG, "stream consumer '%s': %s", o->efo, x->con.arn);
	if (kin_efo_init(&x->e, &x->c, o->cli.stream, x->con.arn, NULL,
	    err) < 0)
		return -1;
	x->have_e = 1;
	if ((x->wk = calloc(1, sizeof *x->wk)) == NULL)
		return kin_seterr(err, "out of memory");
	x->wk->r = r;
	kin_buf_init(&x->wk->out, OUT_MAX);
	deagg_init(&x->wk->d);
	page_init(&x->wk->pg);
	kin_buf_init(&x->wk->req, 1024);
	kin_buf_init(&x->wk->resp, 1024);
	*status = KIN_EX_OK;
	return 0;
}

int
efo_src_start(struct efo_src *x, char *err)
{
	if (pthread_create(&x->th, NULL, efo_main, x) != 0)
		return kin_seterr(err, "cannot start a thread");
	x->running = 1;
	return 0;
}

void
efo_src_stop(struct efo_src *x)
{
	if (!x->running)
		return;
	kin_efo_wakeup(&x->e);
	pthread_join(x->th, NULL);
	x->running = 0;
}

int
efo_src_release(struct efo_src *x, int *status, char *err)
{
	const struct opts *o;
	struct kin_awserr ae;
	char why[KIN_ERRLEN];
	int rc = 0;

	if (x->r == NULL)
		return 0;
	o = x->r->o;

	if (x->have_e) {
		if (o->cli.verbose >= 1)
			kin_warn(PROG, "enhanced fan-out: %llu events, %llu "
			    "records, %llu subscribes, %llu resubscribes, "
			    "http2 %llu", x->events, x->records,
			    x->e.subscribes, x->e.resubscribes, x->e.h2);
		kin_efo_release(&x->e);
	}
	if (x->have_con && o->efo_deregister) {
		memset(&ae, 0, sizeof ae);
		if (kin_deregister_stream_consumer(&x->c, NULL, NULL,
		    x->con.arn, &ae, why) < 0) {
			*status = kin_exit_status(&ae);
			rc = kin_seterr(err, "cannot deregister stream consumer "
			    "'%s': %s", o->efo, why);
		}
	}
	if (x->have_con)
		kin_consumer_release(&x->con);
	if (x->have_c)
		kin_client_release(&x->c);
	if (x->wk != NULL) {
		kin_buf_release(&x->wk->out);
		deagg_release(&x->wk->d);
		page_release(&x->wk->pg);
		kin_buf_release(&x->wk->req);
		kin_buf_release(&x->wk->resp);
		free(x->wk->ends);
		free(x->wk->pos);
		free(x->wk);
	}
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].id);
	free(x->v);
	memset(x, 0, sizeof *x);
	return rc;
}
