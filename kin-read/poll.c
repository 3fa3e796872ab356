/* poll.c — the pool of workers that read shards (step.c does one call),
 * and the run's outcome: the first failure, a closed stdout, -c reached. */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"

void
reader_kick(struct reader *r)
{
	pthread_kill(r->main_thread, SIGUSR1);
}

static void
stop_locked_all(struct reader *r)
{
	pthread_mutex_lock(&r->t->lock);
	r->t->stop = 1;
	pthread_cond_broadcast(&r->t->cond);
	pthread_mutex_unlock(&r->t->lock);
}

void
reader_fail(struct reader *r, int status, const char *fmt, ...)
{
	va_list ap;
	int first;

	pthread_mutex_lock(&r->lock);
	first = !r->failed && !r->broken_pipe;
	if (first) {
		r->failed = 1;
		r->status = status;
	}
	pthread_mutex_unlock(&r->lock);
	if (first) {
		va_start(ap, fmt);
		kin_vwarn(PROG, fmt, ap);
		va_end(ap);
	}
	stop_locked_all(r);
	reader_kick(r);
}

int
reader_over(struct reader *r)
{
	int over;

	pthread_mutex_lock(&r->lock);
	over = r->failed || r->broken_pipe || r->full;
	pthread_mutex_unlock(&r->lock);
	return over;
}

void
reader_stop(struct reader *r)
{
	stop_locked_all(r);
}

int
reader_init(struct reader *r, const struct opts *o, struct table *t,
    struct writer *w, const struct out_cfg *oc, const struct kin_client *base,
    const char *stream, char *err)
{
	memset(r, 0, sizeof *r);
	r->o = o;
	r->t = t;
	r->w = w;
	r->oc = oc;
	r->base = base;
	r->stream = stream;
	r->pin_ms = -1;
	r->until_ms = -1;
	r->main_thread = pthread_self();
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		return kin_seterr(err, "cannot create a mutex");
	return 0;
}


/* ---- the workers ---- */

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct table *t = wk->r->t;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct shard *pick = NULL;
		int64_t now = mono_us(), next = INT64_MAX;

		for (size_t i = 0; i < t->n; i++) {
			struct shard *s = t->v[i];
			if (!s->owned || s->state != SH_READY || s->busy)
				continue;
			if (s->due_us <= now) {
				if (pick == NULL || s->due_us < pick->due_us)
					pick = s;
			} else if (s->due_us < next) {
				next = s->due_us;
			}
		}
		if (pick == NULL) {
			if (next == INT64_MAX) {
				pthread_cond_wait(&t->cond, &t->lock);
			} else {
				struct timespec ts;
				ts.tv_sec = next / 1000000;
				ts.tv_nsec = (next % 1000000) * 1000;
				pthread_cond_timedwait(&t->cond, &t->lock, &ts);
			}
			continue;
		}
		pick->busy = 1;
		pthread_mutex_unlock(&t->lock);
		shard_step(wk, pick);
		pthread_mutex_lock(&t->lock);
		pick->busy = 0;
		/* others may have slept while this shard was ours */
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* Everything of a worker but its client. */
static void
worker_free(struct worker *wk)
{
	page_release(&wk->pg);
	kin_buf_release(&wk->req);
	kin_buf_release(&wk->resp);
	kin_buf_release(&wk->out);
	deagg_release(&wk->d);
	free(wk->ends);
	free(wk->pos);
	free(wk);
}

int
reader_grow(struct reader *r, size_t want, char *err)
{
	size_t max = (size_t)r->o->threads;

	if (want > max)
		want = max;
	if (want <= r->nworkers)
		return 0;
	struct worker **nv = realloc(r->w_v, want * sizeof *nv);
	if (nv == NULL)
		return kin_seterr(err, "out of memory");
	r->w_v = nv;
	while (r->nworkers < want) {
		struct worker *wk = calloc(1, sizeof *wk);
		if (wk == NULL)
			return kin_seterr(err, "out of memory");
		wk->r = r;
		kin_buf_init(&wk->out, OUT_MAX);
		deagg_init(&wk->d);
		page_init(&wk->pg);
		kin_buf_init(&wk->req, 64 * 1024);
		kin_buf_init(&wk->resp, RESP_MAX);
		if (kin_client_clone(&wk->c, r->base, err) < 0) {
			worker_free(wk);
			return -1;
		}
		if (pthread_create(&wk->th, NULL, worker_main, wk) != 0) {
			kin_client_release(&wk->c);
			worker_free(wk);
			return kin_seterr(err, "cannot start a thread");
		}
		r->w_v[r->nworkers++] = wk;
	}
	return 0;
}

int
reader_join(struct reader *r, int64_t timeout_ms)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	for (size_t i = 0; i < r->nworkers; i++) {
		struct worker *wk = r->w_v[i];
		if (wk == NULL)
			continue;
		if (pthread_timedjoin_np(wk->th, NULL, &ts) != 0) {
			rc = -1;
			continue;
		}
		kin_client_release(&wk->c);
		worker_free(wk);
		r->w_v[i] = NULL;
	}
	return rc;
}

void
reader_release(struct reader *r)
{
	/* workers that did not leave in time still use their memory */
	for (size_t i = 0; i < r->nworkers; i++)
		if (r->w_v[i] != NULL)
			return;
	free(r->w_v);
	r->w_v = NULL;
	r->nworkers = 0;
	pthread_mutex_destroy(&r->lock);
}
