/* efo.c — an enhanced fan-out session: one curl multi handle carrying a
 * SubscribeToShard per shard (multiplexed on one HTTP/2 connection), the
 * timers that resubscribe, back off and notice silent streams, and the
 * queue of decoded events handed out one at a time by kin_efo_next(). */
#include "efo_int.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TOKENS (1 << 21)     /* 10 000 records at ~14 tokens each */

int64_t
kin_efo_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
kin_efo_trace(struct kin_efo *e, int lvl, const char *fmt, ...)
{
	char line[KIN_ERRLEN + 128], red[KIN_ERRLEN + 128];
	va_list ap;

	if (e->c.trace == NULL || e->c.verbose < lvl)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	kin_redact(line, red, sizeof red);
	e->c.trace(e->c.trace_ctx, red);
}

static void
ev_free(struct efo_ev *ev)
{
	if (ev == NULL)
		return;
	kin_records_release(&ev->recs);
	free(ev->cont);
	free(ev);
}

void
kin_efo_push(struct kin_efo_sub *s, struct efo_ev *ev)
{
	ev->next = NULL;
	if (s->tail != NULL)
		s->tail->next = ev;
	else
		s->head = ev;
	s->tail = ev;
	s->qbytes += ev->bytes;
}

void
kin_efo_give_up(struct kin_efo_sub *s)
{
	struct efo_ev *ev = calloc(1, sizeof *ev);

	kin_efo_drop(s);
	s->finished = 1;
	if (ev == NULL)
		return;   /* the caller learns nothing; kin_efo_next reports */
	ev->kind = KIN_EFO_ERROR;
	kin_records_init(&ev->recs);
	ev->ae = s->ae;
	snprintf(ev->err, sizeof ev->err, "%s", s->why);
	kin_efo_push(s, ev);
}

int
kin_efo_init(struct kin_efo *e, const struct kin_client *base,
    const char *stream, const char *consumer_arn,
    const struct kin_efo_cfg *cfg, char *err)
{
	memset(e, 0, sizeof *e);
	if (cfg != NULL)
		e->cfg = *cfg;
	if (e->cfg.max_message == 0)
		e->cfg.max_message = KIN_ES_DEFAULT_MAX;
	if (e->cfg.max_buffered == 0)
		e->cfg.max_buffered = 8u << 20;
	if (e->cfg.idle_ms <= 0)
		e->cfg.idle_ms = 35000;
	if (e->cfg.retry_ms <= 0)
		e->cfg.retry_ms = 500;
	if (e->cfg.retry_cap_ms <= 0)
		e->cfg.retry_cap_ms = 10000;
	if (e->cfg.max_failures <= 0)
		e->cfg.max_failures = 12;
	if (e->cfg.connect_timeout_ms <= 0)
		e->cfg.connect_timeout_ms = 5000;
	kin_json_init(&e->json, MAX_TOKENS);
	if (kin_client_clone(&e->c, base, err) < 0)
		goto fail;
	e->stream = strdup(stream);
	e->consumer_arn = strdup(consumer_arn);
	if (e->stream == NULL || e->consumer_arn == NULL) {
		kin_seterr(err, "efo: out of memory");
		goto fail;
	}
	if ((e->multi = curl_multi_init()) == NULL) {
		kin_seterr(err, "efo: cannot create a curl multi handle");
		goto fail;
	}
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	return 0;
fail:
	kin_efo_release(e);
	return -1;
}

static void
sub_free(struct kin_efo_sub *s)
{
	struct efo_ev *ev, *next;

	kin_efo_drop(s);
	for (ev = s->head; ev != NULL; ev = next) {
		next = ev->next;
		ev_free(ev);
	}
	kin_buf_release(&s->body);
	kin_buf_release(&s->store);
	kin_buf_release(&s->errbody);
	kin_es_release(&s->dec);
	free(s->shard);
	free(s->seq);
	free(s->cont);
	free(s->last_seq);
	free(s);
}

void
kin_efo_release(struct kin_efo *e)
{
	for (size_t i = 0; i < e->n; i++)
		sub_free(e->v[i]);
	free(e->v);
	ev_free(e->held);
	if (e->multi != NULL)
		curl_multi_cleanup(e->multi);
	if (e->c.aws != NULL)
		kin_client_release(&e->c);
	kin_json_release(&e->json);
	free(e->stream);
	free(e->consumer_arn);
	memset(e, 0, sizeof *e);
}

static size_t
find(const struct kin_efo *e, const char *shard)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->v[i]->shard, shard) == 0)
			return i;
	return (size_t)-1;
}

static void
remove_at(struct kin_efo *e, size_t i)
{
	sub_free(e->v[i]);
	memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof *e->v);
	e->n--;
	if (e->rr > i)
		e->rr--;
}

int
kin_efo_subscribe(struct kin_efo *e, const char *shard, const char *type,
    const char *seq, int64_t ts_ms, char *err)
{
	struct kin_efo_sub *s;

	if (find(e, shard) != (size_t)-1)
		return kin_seterr(err, "SubscribeToShard('%s'): already "
		    "subscribed", shard);
	if (strlen(shard) >= sizeof e->cur_shard || strlen(type) >= 32)
		return kin_seterr(err, "SubscribeToShard('%s'): bad shard or "
		    "position", shard);
	if (strstr(type, "SEQUENCE") != NULL && (seq == NULL || *seq == '\0'))
		return kin_seterr(err, "SubscribeToShard('%s'): %s needs a "
		    "sequence number", shard, type);
	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 16;
		struct kin_efo_sub **nv = realloc(e->v, nc * sizeof *nv);
		if (nv == NULL)
			return kin_seterr(err, "efo: out of memory");
		e->v = nv;
		e->cap = nc;
	}
	if ((s = calloc(1, sizeof *s)) == NULL)
		return kin_seterr(err, "efo: out of memory");
	s->e = e;
	snprintf(s->type, sizeof s->type, "%s", type);
	s->ts_ms = ts_ms;
	kin_buf_init(&s->body, 64 * 1024);
	kin_buf_init(&s->store, 64 * 1024);
	kin_buf_init(&s->errbody, 64 * 1024 + 1);
	kin_es_init(&s->dec, e->cfg.max_message);
	s->shard = strdup(shard);
	if (seq != NULL)
		s->seq = strdup(seq);
	if (s->shard == NULL || (seq != NULL && s->seq == NULL)) {
		sub_free(s);
		return kin_seterr(err, "efo: out of memory");
	}
	e->v[e->n++] = s;     /* subscribed on the next kin_efo_next */
	return 0;
}

void
kin_efo_unsubscribe(struct kin_efo *e, const char *shard)
{
	size_t i = find(e, shard);

	if (i != (size_t)-1)
		remove_at(e, i);
}

void
kin_efo_closed(struct kin_efo *e, const char *shard)
{
	size_t i = find(e, shard);

	if (i != (size_t)-1)
		e->v[i]->closed = 1;
}

size_t
kin_efo_active(const struct kin_efo *e)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++)
		k += !e->v[i]->finished;
	return k;
}

int
kin_efo_has(const struct kin_efo *e, const char *shard)
{
	size_t i = find(e, shard);

	return i != (size_t)-1 && !e->v[i]->finished;
}

void
kin_efo_wakeup(struct kin_efo *e)
{
	__atomic_store_n(&e->woken, 1, __ATOMIC_SEQ_CST);
	if (e->multi != NULL)
		curl_multi_wakeup(e->multi);
}

/* The oldest event of the next shard that has one, round robin so a busy
 * shard cannot starve the others. */
static int
pop(struct kin_efo *e, struct kin_efo_event *out)
{
	for (size_t k = 0; k < e->n; k++) {
		size_t i = (e->rr + k) % e->n;
		struct kin_efo_sub *s = e->v[i];
		struct efo_ev *ev = s->head;

		if (ev == NULL)
			continue;
		s->head = ev->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->qbytes -= ev->bytes;
		e->held = ev;
		snprintf(e->cur_shard, sizeof e->cur_shard, "%s", s->shard);
		memset(out, 0, sizeof *out);
		out->kind = ev->kind;
		out->shard = e->cur_shard;
		out->recs = &ev->recs;
		out->continuation = ev->kind == KIN_EFO_RECORDS ? ev->cont : NULL;
		out->millis_behind = ev->recs.millis_behind;
		out->ae = &ev->ae;
		out->err = ev->err;
		e->rr = i + 1;
		e->handed++;
		if (s->finished && s->head == NULL) {
			remove_at(e, i);
		} else if (s->paused && s->easy != NULL &&
		    s->qbytes <= e->cfg.max_buffered / 2) {
			/* may run the write callback at once */
			s->paused = 0;
			curl_easy_pause(s->easy, CURLPAUSE_CONT);
		}
		return 1;
	}
	return 0;
}

/* Start due subscriptions, stop silent ones, run end probes; the time of
 * the next such thing (absolute, us) into *next. */
static void
tend(struct kin_efo *e, int64_t now, int64_t *next)
{
	int64_t idle = e->cfg.idle_ms * 1000;

	for (size_t i = 0; i < e->n; i++) {
		struct kin_efo_sub *s = e->v[i];

		if (s->finished)
			continue;
		if (s->easy == NULL) {
			if (s->due_us > now) {
				if (s->due_us < *next)
					*next = s->due_us;
				continue;
			}
			if (kin_efo_start(s) < 0)
				kin_efo_give_up(s);
			continue;
		}
		if (s->probe && now - s->probe_us >= 1000000)
			kin_efo_probe(s);
		if (s->finished || s->easy == NULL)
			continue;
		if (e->cfg.max_life_ms > 0 && s->events_now > 0 &&
		    now - s->started_us >= e->cfg.max_life_ms * 1000) {
			/* as the service's 5-minute end: on at once from the
			 * continuation (what was decoded is queued) */
			kin_efo_drop(s);
			e->resubscribes++;
			if (kin_efo_start(s) < 0)
				kin_efo_give_up(s);
			continue;
		}
		if (s->paused) {
			s->data_us = now;   /* silence is ours, not the server's */
		} else if (now - s->data_us > idle) {
			s->failed = 1;
			s->ae.kind = KIN_AWS_TIMEOUT;
			snprintf(s->why, sizeof s->why, "SubscribeToShard('%s'): "
			    "nothing received for %lld ms", s->shard,
			    (long long)e->cfg.idle_ms);
			kin_efo_done(s, CURLE_OPERATION_TIMEDOUT);
			continue;
		}
		if (s->data_us + idle < *next)
			*next = s->data_us + idle;
	}
}

/* Finished transfers. */
static void
reap(struct kin_efo *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		char *p = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		if (p != NULL)
			kin_efo_done((struct kin_efo_sub *)(void *)p,
			    m->data.result);
	}
}

int
kin_efo_next(struct kin_efo *e, int64_t timeout_ms, struct kin_efo_event *ev,
    char *err)
{
	int64_t now = kin_efo_mono_us(), deadline = now + timeout_ms * 1000;
	int running;
	CURLMcode mc;

	ev_free(e->held);
	e->held = NULL;
	for (;;) {
		int64_t next = deadline, wait_ms;

		/* curl runs on every call, events queued or not, so the
		 * connection is served (pings, other shards) while the caller
		 * works through a backlog, and a shard whose queue is full is
		 * paused by its write callback rather than read on */
		tend(e, now, &next);
		mc = curl_multi_perform(e->multi, &running);
		if (mc != CURLM_OK)
			return kin_seterr(err, "efo: curl: %s",
			    curl_multi_strerror(mc));
		reap(e);
		if (pop(e, ev))
			return 1;
		now = kin_efo_mono_us();
		if (now >= deadline ||
		    __atomic_exchange_n(&e->woken, 0, __ATOMIC_SEQ_CST))
			return 0;
		if (next < now)
			next = now;
		wait_ms = (next - now + 999) / 1000;
		if (wait_ms > 1000)
			wait_ms = 1000;
		mc = curl_multi_poll(e->multi, NULL, 0, (int)wait_ms, NULL);
		if (mc != CURLM_OK)
			return kin_seterr(err, "efo: curl: %s",
			    curl_multi_strerror(mc));
		now = kin_efo_mono_us();
	}
}
