/* batch.c — the writer's engine: shard queues, aggregates, linger, barrier
 * accounting, and filling requests; what happens when an answer comes back
 * is in reply.c.  Everything runs on one thread; the network is curl multi
 * (send.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "parse.h"
#include "batch_int.h"

#define KW_RETRY_CAP_MS 5000
#define KW_SHARD_REQUEST_BYTES ((size_t)512 << 10)
#define KW_AHEAD 8   /* krecs fetched ahead while a request is filled */

/* ---- accounting ---- */

void ep_advance(struct writer *w)
{
	while (w->ep_low < w->ep_cur) {
		struct epoch *e = &w->ep[w->ep_low % w->ep_cap];
		if (e->outstanding)
			break;
		if (w->on_barrier)
			w->on_barrier(w->barrier_ctx, e->barrier,
			    e->barrier_len);
		free(e->barrier);
		e->barrier = NULL;
		w->ep_low++;
	}
}

static int ep_grow(struct writer *w)
{
	size_t cap = w->ep_cap * 2;
	struct epoch *n = calloc(cap, sizeof(*n));
	uint64_t e;

	if (!n)
		return -1;
	for (e = w->ep_low; e <= w->ep_cur; e++)
		n[e % cap] = w->ep[e % w->ep_cap];
	free(w->ep);
	w->ep = n;
	w->ep_cap = cap;
	return 0;
}

/* The records of k are done (acknowledged or dead-lettered). */
void krec_done(struct writer *w, const struct krec *k)
{
	w->held -= k->nusers;
	w->held_bytes -= k->ucost;
	if (k->epoch >= w->ep_low && k->epoch <= w->ep_cur)
		w->ep[k->epoch % w->ep_cap].outstanding -= k->nusers;
}

void set_fatal(struct writer *w, int status, const char *msg)
{
	if (!w->fatal) {
		w->fatal = status;
		snprintf(w->fatal_msg, sizeof(w->fatal_msg), "%s", msg);
	}
}

void dead_one(struct writer *w, const struct dl_rec *d)
{
	char err[KIN_ERRLEN];

	if (dl_put(w->dl, d, err) < 0)
		set_fatal(w, KIN_EX_IOERR, err);
	w->dead++;
}

struct dead_ctx {
	struct writer *w;
	const struct krec *k;
	struct dl_rec d;
};

static void dead_sub(void *ctx, size_t i, const char *key, const char *ehk,
    const char *data, size_t dlen)
{
	struct dead_ctx *c = ctx;

	if (i >= c->k->nusers)
		return;
	c->d.lineno = c->k->lines[i];
	c->d.src = c->k->srcs[i];
	c->d.key = key;
	c->d.hash = ehk;
	c->d.data = data;
	c->d.len = dlen;
	dead_one(c->w, &c->d);
}

void dead_krec(struct writer *w, struct krec *k, const char *reason,
    const char *code, const char *msg)
{
	struct dead_ctx c;
	uint64_t before = w->dead;

	memset(&c, 0, sizeof(c));
	c.w = w;
	c.k = k;
	c.d.reason = reason;
	c.d.code = code;
	c.d.message = msg;
	if (k->users) {
		struct urec *u = k->users;
		c.d.src = u->src;
		c.d.lineno = u->lineno;
		c.d.key = u->key;
		c.d.hash = u->ehk;
		c.d.data = u->data;
		c.d.len = u->len;
		dead_one(w, &c.d);
	} else if (agg_each(k->data, k->len, dead_sub, &c) < 0 ||
	    w->dead - before != k->nusers) {
		set_fatal(w, KIN_EX_SOFTWARE, "cannot read back an aggregate "
		    "to dead-letter its records");
		w->dead = before + k->nusers;
	}
	krec_done(w, k);
	krec_free(k);
	ep_advance(w);
}

void acked_krec(struct writer *w, struct krec *k)
{
	w->acked += k->nusers;
	krec_done(w, k);
	krec_free(k);
	ep_advance(w);
}

/* ---- queues ---- */

/* Room for one more in s's ring; -1 when memory ran out. */
static int queue_room(struct shard *s)
{
	size_t cap = s->qcap ? s->qcap * 2 : 256, i;
	struct krec **q;

	if (s->n < s->qcap)
		return 0;
	if (!(q = malloc(cap * sizeof(*q))))
		return -1;
	for (i = 0; i < s->n; i++)
		q[i] = shard_at(s, i);
	free(s->q);
	s->q = q;
	s->qcap = cap;
	s->qhead = 0;
	return 0;
}

static void queue_add(struct writer *w, struct shard *s, struct krec *k,
    int front)
{
	if (queue_room(s) < 0) {
		set_fatal(w, KIN_EX_SOFTWARE, "out of memory");
		dead_krec(w, k, "no-memory", "", "out of memory");
		return;
	}
	k->shard = s;
	k->next = NULL;
	if (front) {
		s->qhead = (s->qhead - 1) & (s->qcap - 1);
		s->q[s->qhead] = k;
	} else {
		s->q[(s->qhead + s->n) & (s->qcap - 1)] = k;
	}
	s->n++;
	s->bytes += krec_cost(k);
	w->queued++;
}

void queue_back(struct writer *w, struct shard *s, struct krec *k)
{
	queue_add(w, s, k, 0);
}

void queue_front(struct writer *w, struct shard *s, struct krec *k)
{
	queue_add(w, s, k, 1);
}

struct krec *queue_pop(struct writer *w, struct shard *s)
{
	struct krec *k;

	if (!s->n)
		return NULL;
	k = s->q[s->qhead];
	s->qhead = (s->qhead + 1) & (s->qcap - 1);
	s->n--;
	s->bytes -= krec_cost(k);
	w->queued--;
	return k;
}

void close_agg(struct writer *w, struct shard *s)
{
	int64_t first = s->agg.first_us;
	struct krec *k;

	if (!s->agg.n)
		return;
	if (!(k = agg_take(&s->agg))) {
		set_fatal(w, KIN_EX_SOFTWARE, "out of memory");
		return;
	}
	k->enq_us = first;
	queue_back(w, s, k);
}

/* ---- set-up ---- */

int writer_init(struct writer *w, const struct writer_opts *o,
    struct kin_client *c, const char *stream, struct deadletter *dl,
    char *err)
{
	memset(w, 0, sizeof(*w));
	w->o = *o;
	w->c = c;
	w->stream = stream;
	w->dl = dl;
	kin_retry_init(&w->rt, 1, (uint64_t)kin_now_wall_us());
	/* A producer's retries are its own loop, bounded by --record-ttl, so
	 * they start sooner than the SDKs' whole-call retries (1 s base when
	 * throttled): the shard's window is short, and our own rate limits
	 * keep us under it. */
	w->rt.base_ms = 50;
	w->rt.throttle_base_ms = 100;
	w->rt.cap_ms = KW_RETRY_CAP_MS;
	w->ep_cap = 16;
	if (!(w->ep = calloc(w->ep_cap, sizeof(*w->ep))))
		return kin_seterr(err, "out of memory");
	shardmap_init(&w->map, 0);
	return sender_init(&w->snd, c, stream, o->max_in_flight, 30000, err);
}

void writer_release(struct writer *w)
{
	uint64_t e;

	sender_release(&w->snd);
	shardmap_release(&w->map);
	if (w->ep)
		for (e = w->ep_low; e <= w->ep_cur; e++)
			free(w->ep[e % w->ep_cap].barrier);
	free(w->ep);
	memset(w, 0, sizeof(*w));
}

int writer_load_shards(struct writer *w, double rate_pct,
    struct kin_awserr *ae, char *err)
{
	w->map.rate_pct = rate_pct;
	if (shardmap_load(&w->map, w->c, w->stream, ae, err) == 0)
		return 0;   /* (the first refresh may follow at once) */
	/* ListShards may be denied to a role that can put: go on without a
	 * map (no per-shard limits), unless aggregation needs it */
	if (!w->o.aggregate && ae->kind == KIN_AWS_ACCESS && ae->status >= 400) {
		if (w->o.verbose)
			kin_warn(KW_PROG, "cannot list shards, going on "
			    "without per-shard rate limits: %s", err);
		return shardmap_unknown(&w->map, err);
	}
	return -1;
}

/* ---- input side ---- */

int writer_want_input(const struct writer *w)
{
	uint64_t waiting = w->held - w->inflight_users;
	size_t wbytes = w->held_bytes - w->inflight_bytes;
	size_t nopen = w->map.nopen ? w->map.nopen : 1;

	if (w->held_bytes >= w->max_buffered)
		return 0;
	if (!w->o.aggregate && waiting >= w->o.max_records * nopen + 500)
		return 0;
	return wbytes < 2 * w->o.max_bytes * nopen;
}

void writer_add(struct writer *w, struct urec *u)
{
	static const struct agg empty;
	struct shard *s = shardmap_find(&w->map, u->hash);
	int64_t now = kw_now();
	struct krec *k;

	w->in++;
	w->held++;
	w->held_bytes += urec_cost(u);
	u->epoch = w->ep_cur;
	w->ep[w->ep_cur % w->ep_cap].outstanding++;
	if (w->o.aggregate) {
		if (agg_size_with(&empty, u) > w->o.agg_max) {
			/* too big to share a record: alone, after what the
			 * shard already holds, so order is kept */
			close_agg(w, s);
		} else {
			if (s->agg.n && agg_size_with(&s->agg, u) >
			    w->o.agg_max)
				close_agg(w, s);
			if (agg_add(&s->agg, u, now) == 0)
				return;
		}
	}
	k = krec_lone(u);
	k->enq_us = now;
	queue_back(w, s, k);
}

void writer_bad(struct writer *w, const struct dl_rec *r)
{
	w->in++;
	dead_one(w, r);
}

void writer_barrier(struct writer *w, const char *line, size_t len)
{
	struct epoch *e;
	size_t i;

	if (w->ep_cur + 1 - w->ep_low >= w->ep_cap && ep_grow(w) < 0) {
		set_fatal(w, KIN_EX_SOFTWARE, "out of memory");
		return;
	}
	/* no aggregate may hold records of two epochs */
	for (i = 0; i < w->map.nall; i++)
		close_agg(w, w->map.all[i]);
	e = &w->ep[w->ep_cur % w->ep_cap];
	if ((e->barrier = malloc(len + 1))) {
		memcpy(e->barrier, line, len);
		e->barrier[len] = '\0';
		e->barrier_len = len;
	}
	w->ep_cur++;
	w->ep[w->ep_cur % w->ep_cap].outstanding = 0;
	w->ep[w->ep_cur % w->ep_cap].barrier = NULL;
	w->force_until_us = kin_now_mono_us();
	ep_advance(w);
}

void writer_flush_all(struct writer *w)
{
	w->force_until_us = INT64_MAX;
}

/* ---- sending ---- */

static void expire(struct writer *w, int64_t now)
{
	size_t i;
	struct krec *k;

	for (i = 0; i < w->map.nopen; i++) {
		struct shard *s = w->map.open[i];
		while ((k = shard_head(s)) && k->deadline_us &&
		    k->deadline_us <= now) {
			char m[320];
			queue_pop(w, s);
			if (k->attempts)
				snprintf(m, sizeof(m), "record-ttl passed "
				    "after %d attempt%s%s%s", k->attempts,
				    k->attempts == 1 ? "" : "s",
				    *krec_msg(k) ? ": " : "", krec_msg(k));
			else
				snprintf(m, sizeof(m), "record-ttl passed "
				    "before it could be sent");
			dead_krec(w, k, "expired", krec_code(k), m);
		}
	}
}

static void close_due_aggs(struct writer *w, int64_t now)
{
	size_t i;

	for (i = 0; i < w->map.nopen; i++) {
		struct shard *s = w->map.open[i];
		if (s->agg.n && (now >= s->agg.first_us + w->o.linger_us ||
		    s->agg.first_us <= w->force_until_us))
			close_agg(w, s);
	}
}

/* How many records this shard could give now, by its own rules: nothing
 * while its head backs off or (--ordered) a request holds its records, and
 * when it is rate limited, nothing until a tenth of a second's tokens have
 * built up — so a backlog goes in fair-sized requests, not one per token. */
static size_t shard_avail(struct writer *w, struct shard *s, int64_t now,
    size_t *bytes)
{
	double r, b, need_r, need_b;
	size_t n = s->n;

	*bytes = 0;
	if (!s->n || s->inflight || s->not_before_us > now ||
	    w->g_not_before_us > now)
		return 0;
	r = bucket_level(&s->rtb, now);
	b = bucket_level(&s->btb, now);
	if (!bucket_unlimited(&s->rtb)) {
		need_r = (double)n < s->rtb.cap / 10 ? (double)n :
		    s->rtb.cap / 10;
		if (need_r < 1)
			need_r = 1;
		if (r < need_r)
			return 0;
		if ((double)n > r)
			n = (size_t)r;
	}
	if (!bucket_unlimited(&s->btb)) {
		need_b = (double)s->bytes < s->btb.cap / 10 ?
		    (double)s->bytes : s->btb.cap / 10;
		if (b < need_b || b <= 0)
			return 0;
	}
	*bytes = s->bytes;
	return n;
}

static int ready_to_send(struct writer *w, int64_t now)
{
	size_t i, cnt = 0, bytes = 0, b;
	int64_t oldest = INT64_MAX;

	for (i = 0; i < w->map.nopen; i++) {
		struct shard *s = w->map.open[i];
		size_t n = shard_avail(w, s, now, &b);
		if (!n)
			continue;
		/* one shard's share of a request is ready */
		if (n >= w->o.max_records || b >= KW_SHARD_REQUEST_BYTES)
			return 1;
		cnt += n;
		bytes += b;
		if (shard_head(s)->enq_us < oldest)
			oldest = shard_head(s)->enq_us;
	}
	if (!cnt)
		return 0;
	if (cnt >= w->o.max_records || bytes >= w->o.max_bytes)
		return 1;
	if (oldest <= w->force_until_us)
		return 1;
	return now >= oldest + w->o.linger_us;
}

static int add_shard(struct req *r, struct shard *s, uint64_t mark)
{
	struct shard **p;

	if (s->mark == mark)
		return 0;
	if (!(r->nshards & (r->nshards - 1)) || !r->shards) {
		size_t cap = r->nshards ? r->nshards * 2 : 8;
		if (!(p = realloc(r->shards, cap * sizeof(*p))))
			return -1;
		r->shards = p;
	}
	r->shards[r->nshards++] = s;
	s->mark = mark;
	return 0;
}

/* --ordered: a request holds at most one record per partition key.
 * PutRecords does not stop at a failed record, so a later record of the
 * same key could land before the retry of an earlier one (PutRecords
 * documentation); with one per key, a failed record is retried before any
 * later record of its key is sent. */
#define KEYSET_SIZE 1024   /* > 2 * 500 */
static struct keyset_slot {
	uint64_t gen;
	uint32_t h;
	const char *key;
} keyset[KEYSET_SIZE];

/* 1 if key was already in the set of generation gen; adds it if not. */
static int keyset_seen(uint64_t gen, const char *key)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	for (i = h & (KEYSET_SIZE - 1); keyset[i].gen == gen;
	    i = (i + 1) & (KEYSET_SIZE - 1))
		if (keyset[i].h == h && strcmp(keyset[i].key, key) == 0)
			return 1;
	keyset[i].gen = gen;
	keyset[i].h = h;
	keyset[i].key = key;
	return 0;
}

/* Fill r from the shards that can give, each taken as far as it goes
 * (round robin over where to start).  Under load a request then holds one
 * shard's records, so every shard has a request in flight; when little is
 * waiting, one request gathers several shards. */
static void fill(struct writer *w, struct req *r, int64_t now)
{
	static uint64_t mark;
	size_t nopen = w->map.nopen, i, bytes = 0, b;
	size_t start = w->rr++ % nopen;

	r->n = 0;
	r->nshards = 0;
	r->users = 0;
	r->ucost = 0;
	mark++;
	for (i = 0; i < nopen && r->n < w->o.max_records; i++) {
		struct shard *s = w->map.open[(start + i) % nopen];
		struct krec *k;
		size_t sbytes = 0;
		if (!shard_avail(w, s, now, &b))
			continue;
		while (r->n < w->o.max_records && (k = shard_head(s))) {
			size_t c;
			/* the records ahead, read long ago, are out of the
			 * cache: ask for them now, not one by one */
			if (s->n > KW_AHEAD) {
				const char *a = (const char *)shard_at(s,
				    KW_AHEAD);
				__builtin_prefetch(a);
				__builtin_prefetch(a + 64);
			}
			c = krec_cost(k);
			/* at most half a second of a shard's 1 MiB/s in one
			 * request: more would be throttled by the service,
			 * and big requests are slow to parse */
			if (sbytes && sbytes + c > KW_SHARD_REQUEST_BYTES)
				break;
			if (bucket_level(&s->rtb, now) < 1 ||
			    bucket_level(&s->btb, now) <= 0)
				break;
			if (bytes + c > w->o.max_bytes)
				break;
			/* --ordered: one aggregate per shard, or one record
			 * per key, in a request */
			if (w->o.ordered && (w->o.aggregate ? s->mark == mark :
			    keyset_seen(mark, k->key)))
				break;
			if (add_shard(r, s, mark) < 0) {
				set_fatal(w, KIN_EX_SOFTWARE, "out of memory");
				return;
			}
			queue_pop(w, s);
			bucket_take(&s->rtb, 1);
			bucket_take(&s->btb, (double)c);
			r->k[r->n++] = k;
			r->users += k->nusers;
			r->ucost += k->ucost;
			bytes += c;
			sbytes += c;
		}
	}
}

void writer_pump(struct writer *w)
{
	int64_t now = kin_now_mono_us();
	char err[KIN_ERRLEN];
	struct req *r;
	size_t i;

	if (w->refresh)
		refresh_map(w, now);
	expire(w, now);
	if (w->o.aggregate)
		close_due_aggs(w, now);
	while (!w->fatal && (r = sender_slot(&w->snd)) &&
	    ready_to_send(w, now)) {
		fill(w, r, now);
		if (!r->n)
			break;
		for (i = 0; i < r->nshards; i++)
			r->shards[i]->inflight++;
		w->inflight_users += r->users;
		w->inflight_bytes += r->ucost;
		if (sender_start(&w->snd, r, err) < 0) {
			struct send_result res;
			memset(&res, 0, sizeof(res));
			res.transport = 1;
			res.curl_err = err;
			on_done(w, r, &res);
			r->n = 0;
			r->nshards = 0;
			break;
		}
	}
}

void writer_wait(struct writer *w, struct curl_waitfd *extra, unsigned n,
    int max_ms)
{
	int64_t now = kin_now_mono_us(), due = now + (int64_t)max_ms * 1000;
	int slot = sender_slot(&w->snd) != NULL;
	size_t i, b;

	for (i = 0; i < w->map.nopen && due > now; i++) {
		struct shard *s = w->map.open[i];
		struct krec *k = shard_head(s);
		if (s->agg.n && s->agg.first_us + w->o.linger_us < due)
			due = s->agg.first_us + w->o.linger_us;
		if (!k)
			continue;
		if (k->deadline_us && k->deadline_us < due)
			due = k->deadline_us;
		if (!slot || s->inflight)
			continue;   /* a reply will wake us */
		if (w->g_not_before_us > now || s->not_before_us > now) {
			int64_t t = w->g_not_before_us > s->not_before_us ?
			    w->g_not_before_us : s->not_before_us;
			if (t < due)
				due = t;
			continue;
		}
		if (!shard_avail(w, s, now, &b)) {
			double need = s->rtb.cap / 10;
			int64_t t = bucket_wait_us(&s->rtb, now,
			    need < 1 ? 1 : need);
			int64_t t2 = bucket_wait_us(&s->btb, now,
			    s->btb.cap / 10);
			if (t2 > t)
				t = t2;
			if (t < 1000)
				t = 1000;
			if (now + t < due)
				due = now + t;
			continue;
		}
		if (k->enq_us + w->o.linger_us < due)
			due = k->enq_us + w->o.linger_us;
	}
	if (max_ms == 0)
		due = now;
	else if (due < now + 1000)
		due = now + 1000;   /* at least 1 ms: never spin */
	sender_wait(&w->snd, extra, n, (int)((due - now + 999) / 1000));
	sender_perform(&w->snd, on_done, w);
}

int writer_idle(const struct writer *w)
{
	size_t i;

	if (w->queued || w->snd.busy)
		return 0;
	for (i = 0; i < w->map.nall; i++)
		if (w->map.all[i]->agg.n)
			return 0;
	return 1;
}

void writer_abandon(struct writer *w, const char *reason)
{
	size_t i;
	int j;
	struct krec *k;

	for (j = 0; j < w->snd.n; j++) {
		struct req *r = &w->snd.r[j];
		if (!r->busy)
			continue;
		curl_multi_remove_handle(w->snd.multi, r->easy);
		r->busy = 0;
		w->snd.busy--;
		for (i = 0; i < r->nshards; i++)
			r->shards[i]->inflight--;
		for (i = 0; i < r->n; i++)
			dead_krec(w, r->k[i], reason, "",
			    "in flight when kin-write was stopped; it may "
			    "also have been put");
		r->n = 0;
		r->nshards = 0;
	}
	for (i = 0; i < w->map.nall; i++) {
		struct shard *s = w->map.all[i];
		close_agg(w, s);
		while ((k = queue_pop(w, s)))
			dead_krec(w, k, reason, "",
			    "not sent before kin-write was stopped");
	}
}
