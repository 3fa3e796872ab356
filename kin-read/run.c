/* run.c — kin-read's main thread: discover shards, start the workers
 * (poll.c), then wait for signals and for the discovery, checkpoint and
 * progress deadlines until the run ends, and save the checkpoint. */
#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
#include "ckpt.h"
#include "efo_src.h"
#include "err.h"
#include "kinesis.h"
#include "lease_owner.h"
#include "list.h"
#include "out.h"
#include "poll.h"
#include "reload.h"
#include "shards.h"
#include "stats.h"

#define BARRIER_POLL_US 50000        /* the checkpoint file, while waiting */
#define BARRIER_PATIENCE_US 60000000 /* then say that nothing commits */
#define BARRIER_FINAL_WAIT_US 30000000

static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	kin_warn(PROG, "%s", line);
}

static int64_t
wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct run {
	struct opts *o;
	struct kin_client *c;
	struct table t;
	struct owner owner;
	struct static_owner so;
	struct kin_ckpt ck;
	int have_ck;
	struct writer w;
	struct out_cfg oc;
	struct reader r;
	int64_t started_us;
	struct stats st;
	struct barriers bar;       /* barrier mode: o->barrier_ms > 0 */
	int ck_lock;               /* the checkpoint's lock when we write it */
	struct lease_owner lo;     /* --lease-table */
	struct efo_src efo;        /* --efo */
};

static int
save_checkpoint(struct run *rn, char *err)
{
	struct kin_ckpt_entry *e;
	size_t n;
	int rc;

	if (table_snapshot(&rn->t, &e, &n) < 0)
		return kin_seterr(err, "out of memory");
	rc = kin_ckpt_save(rn->o->checkpoint, rn->o->cli.stream, -1, e, n,
	    err);
	free(e);
	return rc;
}

/* ListShards and merge.  0, or -1 with err and *ae. */
static int
discover(struct run *rn, int initial, struct kin_awserr *ae, char *err)
{
	struct kin_shard *s = NULL;
	size_t n = 0;
	struct merge_cfg m;

	memset(ae, 0, sizeof *ae);
	if (kin_list_shards(rn->c, rn->o->cli.stream, NULL, &s, &n, ae,
	    err) < 0)
		return -1;
	m.from = &rn->o->from;
	m.ckpt = rn->have_ck ? &rn->ck : NULL;
	m.initial = initial;
	size_t added = table_merge(&rn->t, s, n, &m);
	if (added > 0 && rn->o->cli.verbose >= 2)
		kin_warn(PROG, "stream '%s': %zu new shard%s", rn->o->cli.stream,
		    added, added == 1 ? "" : "s");
	kin_shards_free(s, n);
	return 0;
}

static void
progress(struct run *rn, long long *last_count, uint64_t *last_bytes,
    int64_t *last_us)
{
	long long count;
	uint64_t bytes;
	int64_t now = mono_us(), behind = -1;
	const char *who = NULL;
	size_t reading = 0;
	double dt;

	writer_stats(&rn->w, &count, &bytes);
	pthread_mutex_lock(&rn->t.lock);
	for (size_t i = 0; i < rn->t.n; i++) {
		struct shard *s = rn->t.v[i];
		if (!s->owned || s->state != SH_READY)
			continue;
		reading++;
		if (s->millis_behind > behind) {
			behind = s->millis_behind;
			who = s->id;
		}
	}
	pthread_mutex_unlock(&rn->t.lock);
	dt = (double)(now - *last_us) / 1e6;
	if (dt <= 0)
		dt = 1;
	kin_warn(PROG, "%lld records, %.0f records/s, %.1f KiB/s, %zu shard%s "
	    "reading, at most %" PRId64 " ms behind%s%s%s", count,
	    (double)(count - *last_count) / dt,
	    (double)(bytes - *last_bytes) / dt / 1024, reading,
	    reading == 1 ? "" : "s", behind < 0 ? 0 : behind,
	    who ? " (" : "", who ? who : "", who ? ")" : "");
	*last_count = count;
	*last_bytes = bytes;
	*last_us = now;
}

/* 1 when every shard this process reads is closed and read to its end and
 * no other shard can come to it (an explicit --shard list). */
static int
explicit_all_done(struct run *rn)
{
	int owned = 0, done = 1;

	if (rn->o->nshards == 0)
		return 0;
	pthread_mutex_lock(&rn->t.lock);
	for (size_t i = 0; i < rn->t.n; i++) {
		if (!rn->t.v[i]->owned)
			continue;
		owned++;
		if (rn->t.v[i]->state != SH_DONE)
			done = 0;
	}
	pthread_mutex_unlock(&rn->t.lock);
	return owned > 0 && done;
}

/* A barrier is due: write it if the one before is committed, else look
 * at the checkpoint file again soon.  Returns when to come back. */
static int64_t
barrier_turn(struct run *rn, int64_t now)
{
	char err[KIN_ERRLEN];
	const struct opts *o = rn->o;

	if (!barriers_ready(&rn->bar) && barriers_poll(&rn->bar, err) < 0 &&
	    !o->cli.quiet)
		kin_warn(PROG, "%s", err);
	if (!barriers_ready(&rn->bar)) {
		if (!rn->bar.warned && !o->cli.quiet &&
		    now - rn->bar.emitted_us > BARRIER_PATIENCE_US) {
			kin_warn(PROG, "barrier %" PRId64 " is not committed to "
			    "'%s' after %ds: the next waits (is 'kin-write "
			    "--checkpoint %s' at the end of the pipeline?)",
			    rn->bar.emitted, o->checkpoint,
			    (int)(BARRIER_PATIENCE_US / 1000000), o->checkpoint);
			rn->bar.warned = 1;
		}
		return now + BARRIER_POLL_US;
	}
	if (barriers_emit(&rn->bar, err) < 0) {
		if (rn->w.err == EPIPE) {
			pthread_mutex_lock(&rn->r.lock);
			rn->r.broken_pipe = 1;
			pthread_mutex_unlock(&rn->r.lock);
			reader_stop(&rn->r);
		} else {
			reader_fail(&rn->r, KIN_EX_IOERR, "%s", err);
		}
		return now + o->barrier_ms * 1000;
	}
	if (o->cli.verbose >= 2)
		kin_warn(PROG, "barrier %" PRId64, rn->bar.emitted);
	return now + o->barrier_ms * 1000;
}

/* A normal end in barrier mode: the final positions as one more barrier
 * before `end`, so the next run starts after them — once the barrier
 * before is committed (waited for a while), else the next run repeats
 * from the last committed one. */
static int
last_barrier(struct run *rn, const sigset_t *set, char *err)
{
	int64_t until = mono_us() + BARRIER_FINAL_WAIT_US;

	while (!barriers_ready(&rn->bar) && mono_us() < until) {
		struct timespec ts = { 0, BARRIER_POLL_US * 1000 };
		struct pollfd pf = { STDOUT_FILENO, 0, 0 };
		int sig;

		(void)barriers_poll(&rn->bar, err);
		if (barriers_ready(&rn->bar))
			break;
		/* whoever reads our output is gone: nothing will commit */
		if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLERR | POLLHUP)))
			break;
		sig = sigtimedwait(set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM)
			break;    /* stop waiting: the end still goes out */
	}
	if (!barriers_ready(&rn->bar)) {
		if (rn->o->cli.verbose >= 1)
			kin_warn(PROG, "barrier %" PRId64 " not committed: no "
			    "final barrier", rn->bar.emitted);
		return 0;
	}
	return barriers_emit(&rn->bar, err);
}

int
run(struct opts *o)
{
	struct run rn;
	struct kin_client client;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	sigset_t set;
	int status = KIN_EX_OK, normal_end = 0, interrupted = 0, st2;

	memset(&rn, 0, sizeof rn);
	rn.o = o;
	rn.c = &client;

	/* Workers and libcurl's threads inherit this mask: the main thread
	 * alone takes signals, in sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (!o->list)
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (kin_client_init(&client, &o->cli, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	kin_client_set_trace(&client, o->cli.verbose, trace, NULL);
	if (o->list) {
		status = o->lease_table ? lease_list(o, &client) :
		    list_main(o, &client);
		kin_client_release(&client);
		return status;
	}

	kin_ckpt_init(&rn.ck);
	rn.ck_lock = -1;
	if (o->checkpoint != NULL && o->barrier_ms == 0) {
		/* we write the file: one writer at a time (ckpt.h) */
		int rc = kin_ckpt_lock(o->checkpoint, &rn.ck_lock, err);
		if (rc <= 0) {
			if (rc == 0)
				kin_warn(PROG, "checkpoint '%s' is in use: another "
				    "process holds '%s.lock'", o->checkpoint,
				    o->checkpoint);
			else
				kin_warn(PROG, "%s", err);
			status = rc == 0 ? KIN_EX_TEMPFAIL : KIN_EX_IOERR;
			goto out_ck;
		}
	}
	if (o->checkpoint != NULL) {
		int rc = kin_ckpt_load(&rn.ck, o->checkpoint, err);
		if (rc < 0) {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_DATAERR;
			goto out_ck;
		}
		rn.have_ck = rc == 1;
		if (rn.have_ck && strcmp(rn.ck.stream, o->cli.stream) != 0) {
			kin_warn(PROG, "checkpoint '%s' is for stream '%s', not "
			    "'%s'", o->checkpoint, rn.ck.stream, o->cli.stream);
			status = KIN_EX_CONFIG;
			goto out_ck;
		}
	}

	rn.so.ids = o->shards;
	rn.so.nids = o->nshards;
	rn.so.i = o->index_i;
	rn.so.n = o->index_n;
	static_owner_init(&rn.owner, &rn.so);
	if (o->lease_table != NULL) {
		if (lease_owner_init(&rn.lo, o, &client, &status, err) < 0) {
			kin_warn(PROG, "%s", err);
			goto out_ck;
		}
		lease_owner_bind(&rn.owner, &rn.lo);
	}
	if (table_init(&rn.t, &rn.owner) < 0) {
		kin_warn(PROG, "cannot set up the shard table");
		status = KIN_EX_SOFTWARE;
		goto out_ck;
	}
	if (o->lease_table != NULL)
		lease_owner_attach(&rn.lo, &rn.t);
	writer_init(&rn.w, STDOUT_FILENO, o->count);
	barriers_init(&rn.bar, o->checkpoint ? o->checkpoint : "",
	    o->cli.stream, &rn.t, &rn.w, rn.have_ck ? rn.ck.barrier : -1);
	out_fmt_init(&rn.oc.fmt);
	rn.oc.mode = o->mode;
	rn.oc.stream = o->cli.stream;
	if (o->mode == OUT_FORMAT && out_fmt_parse(&rn.oc.fmt, o->format,
	    err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_USAGE;
		goto out_table;
	}
	if (reader_init(&rn.r, o, &rn.t, &rn.w, &rn.oc, &client,
	    o->cli.stream, err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_SOFTWARE;
		goto out_table;
	}
	if (stats_init(&rn.st, o, &rn.r, err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_CONFIG;
		goto out_reader_nostats;
	}
	rn.bar.met = &rn.st.m;
	rn.bar.mi_barriers = rn.st.barriers;
	/* -e: the tip is where the stream was now */
	if (o->exit_at_end)
		rn.r.pin_ms = wall_now_ms();
	rn.r.until_ms = o->until_ms;
	if (o->efo != NULL && efo_src_init(&rn.efo, &rn.r, &status, err) < 0) {
		kin_warn(PROG, "%s", err);
		goto out_reader;
	}

	if (discover(&rn, 1, &ae, err) < 0) {
		kin_warn(PROG, "cannot list shards of stream '%s': %s",
		    o->cli.stream, err);
		status = kin_exit_status(&ae);
		goto out_reader;
	}
	for (size_t i = 0; i < o->nshards; i++) {
		pthread_mutex_lock(&rn.t.lock);
		struct shard *s = table_find_locked(&rn.t, o->shards[i]);
		pthread_mutex_unlock(&rn.t.lock);
		if (s == NULL) {
			kin_warn(PROG, "stream '%s' has no shard '%s'",
			    o->cli.stream, o->shards[i]);
			status = KIN_EX_CONFIG;
			goto out_reader;
		}
	}

	/* a checkpoint that cannot be written should stop us now, not after
	 * hours of reading */
	if (o->checkpoint != NULL && o->barrier_ms == 0 &&
	    save_checkpoint(&rn, err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_IOERR;
		goto out_reader;
	}
	/* barrier mode: kin-write owns the file; we say where we resume */
	if (o->barrier_ms > 0) {
		int busy;

		if (barriers_start(&rn.bar, &busy, err) < 0) {
			kin_warn(PROG, "%s", err);
			status = busy ? KIN_EX_TEMPFAIL : KIN_EX_IOERR;
			goto out_reader;
		}
		if (o->cli.verbose >= 1)
			kin_warn(PROG, "barrier mode: %s", rn.bar.committed >= 0 ?
			    "restore from the committed barrier" :
			    "no committed barrier: restore from nothing");
	}

	if (o->lease_table != NULL && o->barrier_ms > 0)
		lease_owner_barriers(&rn.lo, rn.have_ck ? &rn.ck : NULL);
	if ((o->lease_table != NULL && lease_owner_start(&rn.lo, err) < 0) ||
	    (o->efo != NULL && efo_src_start(&rn.efo, err) < 0)) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_UNAVAILABLE;
		goto out_reader;
	}

	int64_t now = mono_us();
	int64_t next_disc = now + o->discovery_ms * 1000;
	int64_t disc_retry = now;
	int64_t next_ck = now + o->checkpoint_ms * 1000;
	int ck_failed = 0;
	int64_t next_prog = now + 1000000, prog_us = now;
	long long prog_count = 0;
	uint64_t prog_bytes = 0;
	int finite = o->exit_at_end || o->until_ms >= 0;
	int64_t next_bar = now + o->barrier_ms * 1000;

	for (;;) {
		now = mono_us();
		if (reader_over(&rn.r))
			break;
		/* read together: a shard that ends asks for a discovery in
		 * the same breath, so "nothing active" never hides its
		 * children */
		pthread_mutex_lock(&rn.t.lock);
		int need = rn.t.need_discovery;
		int pending = rn.t.owner_pending;  /* leases to come */
		size_t active = 0;
		for (size_t i = 0; i < rn.t.n; i++)
			if (rn.t.v[i]->owned && rn.t.v[i]->state == SH_READY)
				active++;
		pthread_mutex_unlock(&rn.t.lock);
		if ((need || now >= next_disc) && now >= disc_retry) {
			if (need) {
				pthread_mutex_lock(&rn.t.lock);
				rn.t.need_discovery = 0;
				pthread_mutex_unlock(&rn.t.lock);
			}
			if (discover(&rn, 0, &ae, err) < 0) {
				if (ae.kind == KIN_AWS_NOT_FOUND) {
					reader_fail(&rn.r, kin_exit_status(&ae),
					    "stream '%s' was deleted while "
					    "reading: %s",
					    o->cli.stream, err);
					break;
				}
				if (!o->cli.quiet)
					kin_warn(PROG, "cannot list shards of "
					    "stream '%s': %s", o->cli.stream, err);
				if (need) {
					pthread_mutex_lock(&rn.t.lock);
					rn.t.need_discovery = 1;
					pthread_mutex_unlock(&rn.t.lock);
				}
				disc_retry = now + 1000000;
			} else {
				next_disc = now + o->discovery_ms * 1000;
			}
			continue;
		}
		if (!need && !pending && ((finite && active == 0) ||
		    explicit_all_done(&rn))) {
			normal_end = 1;
			break;
		}
		if (o->efo == NULL &&
		    reader_grow(&rn.r, active ? active : 1, err) < 0) {
			reader_fail(&rn.r, KIN_EX_SOFTWARE, "%s", err);
			break;
		}
		if (o->barrier_ms > 0 && now >= next_bar)
			next_bar = barrier_turn(&rn, now);
		stats_tick(&rn.st, &rn.w, &rn.t, 0);
		if (o->checkpoint != NULL && o->barrier_ms == 0 && now >= next_ck) {
			/* a checkpoint that cannot be saved stops the run:
			 * going on would print records nobody can resume
			 * after (the old file stays as it was) */
			if (save_checkpoint(&rn, err) < 0) {
				ck_failed = 1;
				reader_fail(&rn.r, KIN_EX_IOERR, "%s", err);
				break;
			}
			next_ck = now + o->checkpoint_ms * 1000;
		}
		if (o->cli.verbose >= 1 && now >= next_prog) {
			progress(&rn, &prog_count, &prog_bytes, &prog_us);
			next_prog = now + 1000000;
		}

		int64_t wake = next_disc;
		if (wake < disc_retry)
			wake = disc_retry;
		if (o->checkpoint != NULL && o->barrier_ms == 0 && next_ck < wake)
			wake = next_ck;
		if (o->barrier_ms > 0 && next_bar < wake)
			wake = next_bar;
		int64_t due = stats_due_in(&rn.st);
		if (due >= 0 && now + due < wake)
			wake = now + due;
		if (o->cli.verbose >= 1 && next_prog < wake)
			wake = next_prog;
		int64_t wait = wake - mono_us();
		if (wait < 1000)
			wait = 1000;
		struct timespec ts = { wait / 1000000, (wait % 1000000) * 1000 };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM) {
			interrupted = 1;
			break;
		}
		if (sig == SIGHUP) {
			int64_t old = o->barrier_ms;

			reload(o, &rn.st);
			if (o->barrier_ms != old)
				next_bar = mono_us() + o->barrier_ms * 1000;
		}
	}
	(void)interrupted;

	if (rn.r.full)
		normal_end = 1;
	reader_stop(&rn.r);
	if (reader_join(&rn.r, 15000) < 0)
		kin_warn(PROG, "a shard reader did not stop within 15s");
	if (o->efo != NULL)
		efo_src_stop(&rn.efo);
	/* in barrier mode the leases wait for the last barrier's commit */
	if (o->lease_table != NULL && o->barrier_ms == 0 &&
	    lease_owner_stop(&rn.lo, err) < 0) {
		kin_warn(PROG, "%s", err);
		if (status == KIN_EX_OK)
			status = KIN_EX_UNAVAILABLE;
	}
	if (o->checkpoint != NULL && o->barrier_ms == 0 && !ck_failed &&
	    save_checkpoint(&rn, err) < 0) {
		kin_warn(PROG, "%s", err);
		if (status == KIN_EX_OK)
			status = KIN_EX_IOERR;
	}
	if (o->cli.verbose >= 1)
		progress(&rn, &prog_count, &prog_bytes, &prog_us);
	if (rn.r.failed)
		status = rn.r.status;
	else if (normal_end && !rn.r.broken_pipe &&
	    ((o->barrier_ms > 0 && last_barrier(&rn, &set, err) < 0) ||
	    out_end(&rn.w, o->barrier_ms > 0, err) < 0)) {
		if (rn.w.err == EPIPE) {
			/* the reader went away: nothing more to say */
		} else {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_IOERR;
		}
	}
	if (o->lease_table != NULL && o->barrier_ms > 0) {
		(void)barriers_poll(&rn.bar, err);
		if (lease_owner_stop(&rn.lo, err) < 0) {
			kin_warn(PROG, "%s", err);
			if (status == KIN_EX_OK)
				status = KIN_EX_UNAVAILABLE;
		}
	}
out_reader:
	stats_tick(&rn.st, &rn.w, &rn.t, 1);
	stats_release(&rn.st);
out_reader_nostats:
	if (o->efo != NULL && efo_src_release(&rn.efo, &st2, err) < 0) {
		kin_warn(PROG, "%s", err);
		if (status == KIN_EX_OK)
			status = st2;
	}
	if (o->lease_table != NULL)
		lease_owner_halt(&rn.lo);
	reader_release(&rn.r);
out_table:
	out_fmt_release(&rn.oc.fmt);
	writer_release(&rn.w);
	/* the workers are gone (or stuck, then the process ends anyway) */
	if (rn.r.nworkers == 0)
		table_release(&rn.t);
out_ck:
	if (o->lease_table != NULL)
		lease_owner_release(&rn.lo);
	barriers_release(&rn.bar);
	kin_ckpt_unlock(rn.ck_lock);
	kin_ckpt_release(&rn.ck);
	kin_client_release(&client);
	return status;
}
