/* step.c — one GetRecords call on one shard.  Per shard: at most 5 calls a
 * second (the service limit), back to back while behind, an idle wait once
 * caught up, back-off with jitter when throttled, a new iterator from the
 * last printed record on ExpiredIteratorException, and a closed shard read
 * until NextShardIterator is absent (whether the last page carries
 * ChildShards, as the service does, or an empty page ends it, as kinesalite
 * does). */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "json.h"

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
vlog(struct reader *r, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
vlog(struct reader *r, int level, const char *fmt, ...)
{
	va_list ap;

	/* SIGHUP may change the level (run.c): read it whole */
	if (__atomic_load_n(&r->o->cli.verbose, __ATOMIC_RELAXED) < level)
		return;
	va_start(ap, fmt);
	kin_vwarn(PROG, fmt, ap);
	va_end(ap);
}

static void
count(struct reader *r, int idx, long long n)
{
	if (r->met != NULL)
		kin_metrics_add(r->met, idx, n);
}

static int
batch_room(struct worker *wk, size_t need)
{
	if (need <= wk->cap)
		return 0;
	size_t ncap = wk->cap ? wk->cap * 2 : 1024;
	while (ncap < need)
		ncap *= 2;
	size_t *ne = realloc(wk->ends, ncap * sizeof *ne);
	if (ne == NULL)
		return -1;
	wk->ends = ne;
	struct bpos *np = realloc(wk->pos, ncap * sizeof *np);
	if (np == NULL)
		return -1;
	wk->pos = np;
	wk->cap = ncap;
	return 0;
}

/* Back off after throttling: full jitter on a doubling ceiling, never
 * sooner than the per-shard call gap. */
static int64_t
throttle_delay_us(struct worker *wk, struct shard *s)
{
	int k = s->throttles < 16 ? s->throttles : 16;
	int64_t cap_ms = 200LL << (k > 0 ? k - 1 : 0);
	int64_t ms;

	if (cap_ms > 10000)
		cap_ms = 10000;
	ms = (int64_t)(kin_retry_rand(&wk->c.retry) % (uint64_t)(cap_ms + 1));
	if (ms < MIN_CALL_GAP_US / 1000)
		ms = MIN_CALL_GAP_US / 1000;
	return ms * 1000;
}

/* A server restarting, a connection reset, an answer cut short or
 * garbled: the shard is tried again with back-off, from the same
 * iterator or position, so nothing is skipped.  Only when its calls have
 * failed for OUTAGE_US on end does the reader give up on the stream. */
#define OUTAGE_US (60LL * 1000000)

static int
shard_outage(struct worker *wk, struct shard *s, const char *what,
    const char *err)
{
	struct reader *r = wk->r;
	int64_t now = mono_us();

	if (s->failing_since_us == 0)
		s->failing_since_us = now;
	if (now - s->failing_since_us >= OUTAGE_US) {
		reader_fail(r, KIN_EX_UNAVAILABLE, "%s shard '%s' for %lld s: "
		    "%s", what, s->id, (long long)(OUTAGE_US / 1000000), err);
		return -1;
	}
	s->throttles++;
	count(r, r->mi_retries, 1);
	pthread_mutex_lock(&r->t->lock);
	s->due_us = now + throttle_delay_us(wk, s);
	pthread_mutex_unlock(&r->t->lock);
	vlog(r, 1, "shard '%s': %s; trying again", s->id, err);
	return 0;
}

/* ResourceNotFoundException on a shard: the stream was deleted, or the
 * shard went past the retention period between listing and reading.  Tell
 * them apart; a shard that is gone counts as read to its end. */
static void
shard_not_found(struct worker *wk, struct shard *s, const char *why)
{
	struct reader *r = wk->r;
	struct kin_stream_summary sum;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];

	memset(&sum, 0, sizeof sum);
	memset(&ae, 0, sizeof ae);
	if (kin_describe_stream_summary(&wk->c, r->stream, &sum, &ae, err) < 0) {
		if (ae.kind == KIN_AWS_NOT_FOUND)
			reader_fail(r, KIN_EX_CONFIG, "stream '%s' was deleted "
			    "while reading: %s", r->stream, why);
		else
			reader_fail(r, kin_exit_status(&ae), "cannot read shard "
			    "'%s': %s; then: %s", s->id, why, err);
		return;
	}
	kin_stream_summary_release(&sum);
	if (!__atomic_load_n(&r->o->cli.quiet, __ATOMIC_RELAXED))
		kin_warn(PROG, "shard '%s' is gone (past the retention period?): "
		    "%s", s->id, why);
	free(s->iter);
	s->iter = NULL;
	pthread_mutex_lock(&r->t->lock);
	s->state = SH_DONE;
	r->t->owner->ops->finished(r->t->owner->ctx, s->id);
	r->t->need_discovery = 1;
	table_update_locked(r->t);
	pthread_mutex_unlock(&r->t->lock);
	reader_kick(r);
}

/* Get an iterator for s from its last printed record, else its start.
 * 0 done, 1 try later (due set), -1 failed (reported). */
static int
open_iterator(struct worker *wk, struct shard *s)
{
	struct reader *r = wk->r;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	struct kin_pos p;
	const char *type = NULL, *seq = NULL;
	int64_t ts = 0, latest_ms = 0;
	char *iter = NULL;

	pthread_mutex_lock(&r->t->lock);
	p = s->last.kind == POS_AFTER ? s->last : s->start;
	pthread_mutex_unlock(&r->t->lock);
	s->skip = 0;
	switch (p.kind) {
	case POS_TRIM:
		type = "TRIM_HORIZON";
		break;
	case POS_LATEST:
		type = "LATEST";
		latest_ms = wall_ms();
		break;
	case POS_AT_TS:
		type = "AT_TIMESTAMP";
		ts = p.ts_ms;
		break;
	case POS_AT_SEQ:
		type = "AT_SEQUENCE_NUMBER";
		seq = p.seq;
		break;
	case POS_AFTER:
		seq = p.seq;
		if (p.more) {
			/* part of an aggregate was printed: read it again
			 * and drop the sub-records already out */
			type = "AT_SEQUENCE_NUMBER";
			s->skip = 1;
			memcpy(s->skip_seq, p.seq, sizeof s->skip_seq);
			s->skip_sub = p.sub;
		} else {
			type = "AFTER_SEQUENCE_NUMBER";
		}
		break;
	default:
		reader_fail(r, KIN_EX_SOFTWARE, "shard '%s' has no start position",
		    s->id);
		return -1;
	}
	memset(&ae, 0, sizeof ae);
	if (kin_get_shard_iterator(&wk->c, r->stream, s->id, type, seq, ts,
	    &iter, &ae, err) < 0) {
		if (ae.kind == KIN_AWS_THROTTLED) {
			s->throttles++;
			count(r, r->mi_throttles, 1);
			pthread_mutex_lock(&r->t->lock);
			s->due_us = mono_us() + throttle_delay_us(wk, s);
			pthread_mutex_unlock(&r->t->lock);
			vlog(r, 2, "shard '%s': throttled: %s", s->id, err);
			return 1;
		}
		if (ae.kind == KIN_AWS_NOT_FOUND) {
			shard_not_found(wk, s, err);
			return -1;
		}
		if (kin_aws_retryable(ae.kind))
			return shard_outage(wk, s, "cannot get an iterator for",
			    err) < 0 ? -1 : 1;
		reader_fail(r, kin_exit_status(&ae),
		    "cannot get an iterator for shard '%s': %s", s->id, err);
		return -1;
	}
	s->throttles = 0;
	s->failing_since_us = 0;
	free(s->iter);
	s->iter = iter;
	vlog(r, 2, "shard '%s': reading from %s%s%s", s->id, type,
	    seq ? " " : "", seq ? seq : "");
	if (p.kind == POS_LATEST) {
		/* a restart must not skip what arrives from now on */
		pthread_mutex_lock(&r->t->lock);
		s->start.kind = POS_AT_TS;
		s->start.ts_ms = latest_ms;
		pthread_mutex_unlock(&r->t->lock);
	}
	return 0;
}

/* The shard's position moves while the writer is still held, so a barrier
 * (written under the same hold) carries exactly the records before it. */
struct advance {
	struct reader *r;
	struct shard *s;
	struct worker *wk;
};

static void
advance(void *ctx, long put)
{
	struct advance *a = ctx;
	const struct bpos *bp = &a->wk->pos[put - 1];
	struct shard *s = a->s;

	pthread_mutex_lock(&a->r->t->lock);
	s->last.kind = POS_AFTER;
	memcpy(s->last.seq, bp->seq, strlen(bp->seq) + 1);
	s->last.sub = bp->sub;
	s->last.more = bp->more;
	s->records += put;
	pthread_mutex_unlock(&a->r->t->lock);
}

/* The table's gate refused shard s's page: its lease is gone (or lapsed).
 * Nothing of it went out; a later read starts from the last record
 * written, if the shard is still, or again, this process's. */
static int
lease_refused(struct reader *r, struct shard *s)
{
	free(s->iter);
	s->iter = NULL;
	s->skip = 0;
	pthread_mutex_lock(&r->t->lock);
	s->due_us = mono_us() + MIN_CALL_GAP_US;
	pthread_mutex_unlock(&r->t->lock);
	vlog(r, 2, "shard '%s': lease not valid: records dropped", s->id);
	return 1;
}

/* Print what the page holds (up to the pin), then update the shard. */
int
shard_take_page(struct worker *wk, struct shard *s, const struct page *rs)
{
	struct reader *r = wk->r;
	char err[KIN_ERRLEN];
	size_t nb = 0;
	int stopped = 0, unsafe = 0;
	const struct kin_record *bad = NULL;
	long bad_sub = 0;
	int64_t limit_ms = -1;

	if (r->pin_ms >= 0)
		limit_ms = r->pin_ms;
	if (r->until_ms >= 0 && (limit_ms < 0 || r->until_ms < limit_ms))
		limit_ms = r->until_ms;

	kin_buf_reset(&wk->out);
	for (size_t i = 0; i < rs->n && !unsafe; i++) {
		const struct kin_record *k = &rs->r[i];
		struct out_rec o;
		int dr, nsub;

		if (strlen(k->seq) >= SEQ_MAX) {
			reader_fail(r, KIN_EX_DATAERR, "shard '%s': sequence "
			    "number '%.40s...' is longer than 128 digits",
			    s->id, k->seq);
			return 0;
		}
		if (limit_ms >= 0 && k->arrival_ms > limit_ms) {
			stopped = 1;
			break;
		}
		dr = deagg_parse(&wk->d, k->data, k->len);
		if (dr == DEAGG_NOMEM) {
			reader_fail(r, KIN_EX_SOFTWARE, "out of memory");
			return 0;
		}
		if (dr == DEAGG_BAD &&
		    !__atomic_load_n(&r->o->cli.quiet, __ATOMIC_RELAXED))
			kin_warn(PROG, "record '%s' of shard '%s' looks like a "
			    "KPL aggregate but does not parse as one: printed "
			    "as it is", k->seq, s->id);
		nsub = dr == DEAGG_OK ? (int)wk->d.n : 1;
		if (batch_room(wk, nb + (size_t)nsub + 1) < 0) {
			reader_fail(r, KIN_EX_SOFTWARE, "out of memory");
			return 0;
		}
		o.shard = s->id;
		o.seq = k->seq;
		o.arrival_ms = k->arrival_ms;
		for (int j = 0; j < nsub; j++) {
			int rc;

			if (s->skip) {
				if (strcmp(k->seq, s->skip_seq) == 0 &&
				    j <= s->skip_sub)
					continue;
				s->skip = 0;
			}
			o.sub = j;
			if (dr == DEAGG_OK) {
				o.key = wk->d.r[j].key;
				o.keylen = wk->d.r[j].keylen;
				o.data = wk->d.r[j].data;
				o.len = wk->d.r[j].len;
			} else {
				o.key = k->key;
				o.keylen = strlen(k->key);
				o.data = k->data;
				o.len = k->len;
			}
			rc = out_line(r->oc, &o, &wk->out, err);
			if (rc == -1) {
				reader_fail(r, KIN_EX_SOFTWARE,
				    "cannot format record '%s' of shard '%s': %s",
				    k->seq, s->id, err);
				return 0;
			}
			if (rc < 0) {
				unsafe = rc;
				bad = k;
				bad_sub = j;
				break;
			}
			wk->ends[nb] = wk->out.len;
			wk->pos[nb].seq = k->seq;
			wk->pos[nb].sub = j;
			wk->pos[nb].more = j + 1 < nsub;
			nb++;
		}
		/* an aggregate's last sub-records were all skipped */
		if (s->skip && strcmp(k->seq, s->skip_seq) == 0)
			s->skip = 0;
	}

	count(r, r->mi_in, (long long)nb);
	pthread_mutex_lock(&r->t->lock);
	int leaving = r->t->stop;
	pthread_mutex_unlock(&r->t->lock);
	if (leaving)
		return 0;  /* this page is read again after a restart */

	long put = 0;
	int cut = 0;
	if (r->t->gate != NULL && nb == 0 && !r->t->gate(s))
		return lease_refused(r, s);
	if (nb > 0) {
		struct advance ad = { r, s, wk };

		put = writer_put_gated(r->w, wk->out.p, wk->ends, nb,
		    r->t->gate, s, advance, &ad, &cut);
		if (put == WRITER_REFUSED)
			return lease_refused(r, s);
		if (put < 0) {
			if (r->w->err == EPIPE) {
				pthread_mutex_lock(&r->lock);
				r->broken_pipe = 1;
				pthread_mutex_unlock(&r->lock);
				reader_stop(r);
				reader_kick(r);
			} else {
				reader_fail(r, KIN_EX_IOERR,
				    "cannot write to stdout: %s",
				    strerror(r->w->err));
			}
			return 0;
		}
		if (cut)    /* the lease ran out while stdout was slow */
			return lease_refused(r, s);
	}

	if ((size_t)put < nb || writer_full(r->w)) {
		pthread_mutex_lock(&r->lock);
		r->full = 1;
		pthread_mutex_unlock(&r->lock);
		reader_stop(r);
		reader_kick(r);
		return 0;
	}
	if (unsafe) {
		reader_fail(r, KIN_EX_DATAERR,
		    "cannot print record '%s' (sub %ld) of shard '%s' as one "
		    "line: %s; -J prints it safely", bad->seq, bad_sub, s->id,
		    out_unsafe_why(unsafe));
		return 0;
	}

	int64_t now = mono_us();
	int news = 0;
	pthread_mutex_lock(&r->t->lock);
	s->millis_behind = rs->millis_behind;
	if (rs->n > 0)
		s->empty_tip = 0;
	free(s->iter);
	s->iter = NULL;
	if (rs->next_iter != NULL && !stopped)
		s->iter = strdup(rs->next_iter);
	if (stopped) {
		s->state = SH_STOPPED;
		news = 1;
		vlog(r, 2, "shard '%s': reached records after the end time",
		    s->id);
	} else if (rs->next_iter == NULL) {
		/* closed and read to its end: now its children may start */
		s->state = SH_DONE;
		s->closed = 1;
		for (size_t i = 0; i < rs->nchildren; i++)
			table_add_child_locked(r->t, rs->children[i].id,
			    rs->children[i].parents, rs->children[i].nparents);
		r->t->owner->ops->finished(r->t->owner->ctx, s->id);
		r->t->need_discovery = 1;
		table_update_locked(r->t);
		news = 1;
		vlog(r, 2, "shard '%s': read to its end", s->id);
	} else if (s->iter == NULL) {
		pthread_mutex_unlock(&r->t->lock);
		reader_fail(r, KIN_EX_SOFTWARE, "out of memory");
		return 0;
	} else if (rs->n == 0 && rs->millis_behind <= 0) {
		/* caught up with the tip; a page can come back empty with
		 * records behind it (kinesalite says MillisBehindLatest 0
		 * always), so -e and --until believe the second one */
		if ((r->pin_ms >= 0 ||
		    (r->until_ms >= 0 && wall_ms() > r->until_ms)) &&
		    ++s->empty_tip >= 2) {
			s->state = SH_STOPPED;
			news = 1;
			vlog(r, 2, "shard '%s': caught up", s->id);
		} else {
			s->due_us = now + __atomic_load_n(&r->o->idle_ms,
			    __ATOMIC_RELAXED) * 1000;
			if (s->due_us < s->last_call_us + MIN_CALL_GAP_US)
				s->due_us = s->last_call_us + MIN_CALL_GAP_US;
		}
	} else {
		s->due_us = s->last_call_us + MIN_CALL_GAP_US;
	}
	pthread_mutex_unlock(&r->t->lock);
	if (news)
		reader_kick(r);
	return 0;
}

void
shard_step(struct worker *wk, struct shard *s)
{
	struct reader *r = wk->r;
	struct kin_awserr ae;
	char err[KIN_ERRLEN], why[KIN_ERRLEN];

	int v = __atomic_load_n(&r->o->cli.verbose, __ATOMIC_RELAXED);
	if (v != wk->c.verbose && wk->c.trace != NULL)
		kin_client_set_trace(&wk->c, v, wk->c.trace, wk->c.trace_ctx);
	if (s->iter == NULL && open_iterator(wk, s) != 0)
		return;
	int limit = __atomic_load_n(&r->o->limit, __ATOMIC_RELAXED);
	if (s->limit_cap > 0 && s->limit_cap < limit)
		limit = s->limit_cap;
	kin_buf_reset(&wk->req);
	if (kin_buf_adds(&wk->req, "{\"ShardIterator\":", err) < 0 ||
	    kin_json_put_str(&wk->req, s->iter, strlen(s->iter), err) < 0 ||
	    kin_buf_printf(&wk->req, err, ",\"Limit\":%d}", limit) < 0) {
		reader_fail(r, KIN_EX_SOFTWARE, "shard '%s': %s", s->id, err);
		return;
	}
	memset(&ae, 0, sizeof ae);
	s->last_call_us = mono_us();
	int rc = kin_call_ex(&wk->c, "GetRecords", NULL,
	    KIN_CALL_NO_THROTTLE_RETRY, wk->req.p, wk->req.len, &wk->resp, &ae,
	    err);
	count(r, r->mi_calls, 1);
	if (ae.attempts > 1)
		count(r, r->mi_retries, ae.attempts - 1);
	if (rc < 0) {
		if (ae.kind == KIN_AWS_THROTTLED) {
			s->throttles++;
			count(r, r->mi_throttles, 1);
			pthread_mutex_lock(&r->t->lock);
			s->due_us = mono_us() + throttle_delay_us(wk, s);
			pthread_mutex_unlock(&r->t->lock);
			vlog(r, 2, "shard '%s': throttled: %s", s->id, err);
			return;
		}
		if (ae.kind == KIN_AWS_EXPIRED_ITERATOR) {
			count(r, r->mi_expired, 1);
			/* start again right after the last record printed */
			free(s->iter);
			s->iter = NULL;
			vlog(r, 2, "shard '%s': %s", s->id, err);
			return;
		}
		if (ae.kind == KIN_AWS_NOT_FOUND) {
			shard_not_found(wk, s, err);
			return;
		}
		/* The service caps a page at 10 MB, kinesalite does not: an
		 * answer over our ceiling is asked for again, smaller. */
		if (strcmp(ae.type, "ResponseTooLarge") == 0 && limit > 1) {
			s->limit_cap = limit / 2;
			vlog(r, 1, "shard '%s': answer too large; asking for "
			    "%d records at a time", s->id, s->limit_cap);
			return;
		}
		if (kin_aws_retryable(ae.kind)) {
			(void)shard_outage(wk, s, "cannot get records from",
			    err);
			return;
		}
		reader_fail(r, kin_exit_status(&ae),
		    "cannot get records from shard '%s': %s", s->id, err);
		return;
	}
	if (page_parse(&wk->pg, wk->resp.p, wk->resp.len, why) < 0) {
		snprintf(err, sizeof err, "GetRecords: not a GetRecords "
		    "answer: %.400s", why);
		(void)shard_outage(wk, s, "cannot get records from", err);
		return;
	}
	s->throttles = 0;
	s->failing_since_us = 0;
	shard_take_page(wk, s, &wk->pg);
}
