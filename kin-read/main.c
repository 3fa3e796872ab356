/* main.c — kin-read: every shard of a Kinesis data stream to stdout.
 * Options into struct opts, validation, then run(): discover shards, start
 * the workers (poll.c), and wait for signals, discovery, checkpoint and
 * progress deadlines until the run ends. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "err.h"
#include "kin-read.h"
#include "kinesis.h"
#include "list.h"
#include "out.h"
#include "parse.h"
#include "poll.h"
#include "shards.h"

enum {
	OPT_UNTIL = KIN_OPT_FIRST_PROG,
	OPT_LIMIT,
	OPT_SHARD,
	OPT_SHARD_INDEX,
	OPT_CHECKPOINT,
	OPT_CHECKPOINT_INTERVAL,
	OPT_DISCOVERY_INTERVAL,
	OPT_IDLE_WAIT,
	OPT_THREADS,
};

static const struct option longopts[] = {
	{ "from",                required_argument, NULL, 'o' },
	{ "until",               required_argument, NULL, OPT_UNTIL },
	{ "exit-at-end",         no_argument,       NULL, 'e' },
	{ "count",               required_argument, NULL, 'c' },
	{ "limit",               required_argument, NULL, OPT_LIMIT },
	{ "shard",               required_argument, NULL, OPT_SHARD },
	{ "shard-index",         required_argument, NULL, OPT_SHARD_INDEX },
	{ "list",                no_argument,       NULL, 'L' },
	{ "json",                no_argument,       NULL, 'J' },
	{ "format",              required_argument, NULL, 'f' },
	{ "checkpoint",          required_argument, NULL, OPT_CHECKPOINT },
	{ "checkpoint-interval", required_argument, NULL,
	  OPT_CHECKPOINT_INTERVAL },
	{ "discovery-interval",  required_argument, NULL,
	  OPT_DISCOVERY_INTERVAL },
	{ "idle-wait",           required_argument, NULL, OPT_IDLE_WAIT },
	{ "threads",             required_argument, NULL, OPT_THREADS },
	KIN_CLI_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};
static const char shortopts[] = KIN_CLI_SHORTOPTS "o:ec:LJf:";

/* The original job's runtime properties (DESIGN.md section 3). */
static const struct kin_alias aliases[] = {
	{ "inputStreamName", "stream", NULL },
	{ "aws.region", "region", NULL },
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	fputs("usage: kin-read [-eJqv] [-c count] [-f format] [-o position] "
	    "-s stream\n"
	    "                [--checkpoint file] [--checkpoint-interval duration]\n"
	    "                [--config file] [--discovery-interval duration]\n"
	    "                [--endpoint-url url] [--idle-wait duration] "
	    "[--limit n]\n"
	    "                [--profile name] [--region region] [--shard id]\n"
	    "                [--shard-index i/n] [--threads n] [--until time]\n"
	    "       kin-read -L [-Jqv] [-s stream] [--config file] "
	    "[--endpoint-url url]\n"
	    "                [--profile name] [--region region]\n"
	    "       kin-read -h | -V\n", f);
}

static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	kin_warn(PROG, "%s", line);
}

static void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof *o);
	kin_cli_init(&o->cli, PROG);
	o->from.kind = POS_LATEST;
	o->until_ms = -1;
	o->count = -1;
	o->limit = 10000;
	o->mode = OUT_RAW;
	o->checkpoint_ms = 5000;
	o->discovery_ms = 10000;
	o->idle_ms = 200;   /* FlinkKinesisConsumer's default poll interval */
	o->threads = 16;
}

static void
opts_release(struct opts *o)
{
	for (size_t i = 0; i < o->nshards; i++)
		free(o->shards[i]);
	free(o->shards);
	free(o->format);
	free(o->checkpoint);
	kin_cli_release(&o->cli);
}

static int
valid_seq(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= SEQ_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
parse_from(struct pos *p, const char *s, char *err)
{
	int64_t us;
	char why[KIN_ERRLEN];
	const char *v;

	memset(p, 0, sizeof *p);
	if (strcmp(s, "latest") == 0) {
		p->kind = POS_LATEST;
	} else if (strcmp(s, "trim-horizon") == 0) {
		p->kind = POS_TRIM;
	} else if (strncmp(s, "at-timestamp:", 13) == 0) {
		v = s + 13;
		if (kin_parse_time_us(v, strlen(v), 0, 0, &us, why) < 0)
			return kin_seterr(err, "bad --from '%s': %s", s, why);
		p->kind = POS_AT_TS;
		p->ts_ms = us / 1000;
	} else if (strncmp(s, "at-sequence:", 12) == 0 ||
	    strncmp(s, "after-sequence:", 15) == 0) {
		int at = s[1] == 't';
		v = s + (at ? 12 : 15);
		if (!valid_seq(v))
			return kin_seterr(err, "bad --from '%s': a sequence "
			    "number is up to 128 decimal digits", s);
		p->kind = at ? POS_AT_SEQ : POS_AFTER;
		memcpy(p->seq, v, strlen(v) + 1);
	} else {
		return kin_seterr(err, "bad --from '%s': expected latest, "
		    "trim-horizon, at-timestamp:TIME, at-sequence:SEQ or "
		    "after-sequence:SEQ", s);
	}
	return 0;
}

static int
parse_duration(const char *name, const char *s, int64_t min, int64_t *ms,
    char *err)
{
	char why[KIN_ERRLEN];

	if (kin_parse_duration_ms(s, ms, why) < 0)
		return kin_seterr(err, "bad --%s '%s': %s", name, s, why);
	if (*ms < min)
		return kin_seterr(err, "bad --%s '%s': at least %" PRId64 "ms",
		    name, s, min);
	return 0;
}

static int
parse_index(struct opts *o, const char *s, char *err)
{
	const char *slash = strchr(s, '/');
	char a[32], why[KIN_ERRLEN];
	long long i, n;

	if (slash == NULL || (size_t)(slash - s) >= sizeof a)
		return kin_seterr(err, "bad --shard-index '%s': expected I/N", s);
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	if (kin_parse_int(slash + 1, 1, 100000, &n, why) < 0 ||
	    kin_parse_int(a, 0, n - 1, &i, why) < 0)
		return kin_seterr(err, "bad --shard-index '%s': expected I/N "
		    "with 0 <= I < N", s);
	o->index_i = (long)i;
	o->index_n = (long)n;
	return 0;
}

/* One option, from the command line or the config file. */
static int
apply(void *ctx, int val, const char *arg, char *err)
{
	struct opts *o = ctx;
	char why[KIN_ERRLEN];
	long long v;
	int64_t us;

	switch (val) {
	case 'o':
		return parse_from(&o->from, arg, err);
	case OPT_UNTIL:
		if (kin_parse_time_us(arg, strlen(arg), 0, 0, &us, why) < 0)
			return kin_seterr(err, "bad --until '%s': %s", arg, why);
		o->until_ms = us / 1000;
		return 0;
	case 'e':
		o->exit_at_end = 1;
		return 0;
	case 'c':
		if (kin_parse_int(arg, 1, INT64_MAX, &v, why) < 0)
			return kin_seterr(err, "bad --count '%s': %s", arg, why);
		o->count = v;
		return 0;
	case OPT_LIMIT:
		if (kin_parse_int(arg, 1, 10000, &v, why) < 0)
			return kin_seterr(err, "bad --limit '%s': %s", arg, why);
		o->limit = (int)v;
		return 0;
	case OPT_SHARD: {
		char **nv = realloc(o->shards, (o->nshards + 1) * sizeof *nv);
		if (nv == NULL)
			return kin_seterr(err, "out of memory");
		o->shards = nv;
		if ((o->shards[o->nshards] = strdup(arg)) == NULL)
			return kin_seterr(err, "out of memory");
		o->nshards++;
		return 0;
	}
	case OPT_SHARD_INDEX:
		return parse_index(o, arg, err);
	case 'L':
		o->list = 1;
		return 0;
	case 'J':
		o->mode = OUT_JSON;
		return 0;
	case 'f':
		free(o->format);
		if ((o->format = strdup(arg)) == NULL)
			return kin_seterr(err, "out of memory");
		o->mode = OUT_FORMAT;
		return 0;
	case OPT_CHECKPOINT:
		free(o->checkpoint);
		if ((o->checkpoint = strdup(arg)) == NULL)
			return kin_seterr(err, "out of memory");
		return 0;
	case OPT_CHECKPOINT_INTERVAL:
		return parse_duration("checkpoint-interval", arg, 1,
		    &o->checkpoint_ms, err);
	case OPT_DISCOVERY_INTERVAL:
		return parse_duration("discovery-interval", arg, 100,
		    &o->discovery_ms, err);
	case OPT_IDLE_WAIT:
		return parse_duration("idle-wait", arg, 0, &o->idle_ms, err);
	case OPT_THREADS:
		if (kin_parse_int(arg, 1, 256, &v, why) < 0)
			return kin_seterr(err, "bad --threads '%s': %s", arg, why);
		o->threads = (int)v;
		return 0;
	default:
		if (kin_cli_apply(&o->cli, val, arg))
			return 0;
		return kin_seterr(err, "unknown option");
	}
}

/* Parse argv (and --config first, so the command line wins).
 * Returns -1 to go on, else an exit status. */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	char err[KIN_ERRLEN];
	int c, seen_j = 0, seen_f = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG && kin_cli_apply(&o->cli, c, optarg) &&
		    o->cli.config != NULL) {
			if (kin_config_load(o->cli.config, longopts, aliases,
			    apply, o, err) < 0) {
				kin_warn(PROG, "%s", err);
				return KIN_EX_CONFIG;
			}
		}
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return fflush(stdout) == 0 ? KIN_EX_OK : KIN_EX_IOERR;
		case 'V':
			kin_cli_version(&o->cli);
			return fflush(stdout) == 0 ? KIN_EX_OK : KIN_EX_IOERR;
		case '?':
			usage(stderr);
			return KIN_EX_USAGE;
		case KIN_OPT_CONFIG:
			continue;
		case 'J':
			seen_j = 1;
			break;
		case 'f':
			seen_f = 1;
			break;
		}
		if (apply(o, c, optarg, err) < 0) {
			kin_warn(PROG, "%s", err);
			return KIN_EX_USAGE;
		}
	}
	if (optind < argc) {
		kin_warn(PROG, "unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return KIN_EX_USAGE;
	}
	if (seen_j && seen_f) {
		kin_warn(PROG, "-J and -f cannot be used together");
		return KIN_EX_USAGE;
	}
	if (!o->list && o->cli.stream == NULL) {
		kin_warn(PROG, "no stream: use -s/--stream");
		usage(stderr);
		return KIN_EX_USAGE;
	}
	if (o->nshards > 0 && o->index_n > 0) {
		kin_warn(PROG, "--shard and --shard-index cannot be used together");
		return KIN_EX_USAGE;
	}
	if ((o->from.kind == POS_AT_SEQ || o->from.kind == POS_AFTER) &&
	    o->nshards != 1) {
		kin_warn(PROG, "a sequence number belongs to one shard: "
		    "--from %s needs exactly one --shard",
		    o->from.kind == POS_AT_SEQ ? "at-sequence" : "after-sequence");
		return KIN_EX_USAGE;
	}
	return -1;
}

/* ---- the run ---- */

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
	struct ckpt ck;
	int have_ck;
	struct writer w;
	struct out_cfg oc;
	struct reader r;
	int64_t started_us;
};

static int
save_checkpoint(struct run *rn, char *err)
{
	struct ckpt_entry *e;
	size_t n;
	int rc;

	if (table_snapshot(&rn->t, &e, &n) < 0)
		return kin_seterr(err, "out of memory");
	rc = ckpt_save(rn->o->checkpoint, rn->o->cli.stream, e, n, err);
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

static int
run(struct opts *o)
{
	struct run rn;
	struct kin_client client;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	sigset_t set;
	int status = KIN_EX_OK, normal_end = 0, interrupted = 0;

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
		status = list_main(o, &client);
		kin_client_release(&client);
		return status;
	}

	ckpt_init(&rn.ck);
	if (o->checkpoint != NULL) {
		int rc = ckpt_load(&rn.ck, o->checkpoint, err);
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
	if (table_init(&rn.t, &rn.owner) < 0) {
		kin_warn(PROG, "cannot set up the shard table");
		status = KIN_EX_SOFTWARE;
		goto out_ck;
	}
	writer_init(&rn.w, STDOUT_FILENO, o->count);
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
	/* -e: the tip is where the stream was now */
	if (o->exit_at_end)
		rn.r.pin_ms = wall_now_ms();
	rn.r.until_ms = o->until_ms;

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
	if (o->checkpoint != NULL && save_checkpoint(&rn, err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_IOERR;
		goto out_reader;
	}

	int64_t now = mono_us();
	int64_t next_disc = now + o->discovery_ms * 1000;
	int64_t disc_retry = now;
	int64_t next_ck = now + o->checkpoint_ms * 1000;
	int64_t next_prog = now + 1000000, prog_us = now;
	long long prog_count = 0;
	uint64_t prog_bytes = 0;
	int finite = o->exit_at_end || o->until_ms >= 0;

	for (;;) {
		now = mono_us();
		if (reader_over(&rn.r))
			break;
		/* read together: a shard that ends asks for a discovery in
		 * the same breath, so "nothing active" never hides its
		 * children */
		pthread_mutex_lock(&rn.t.lock);
		int need = rn.t.need_discovery;
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
		if (!need && ((finite && active == 0) ||
		    explicit_all_done(&rn))) {
			normal_end = 1;
			break;
		}
		if (reader_grow(&rn.r, active ? active : 1, err) < 0) {
			reader_fail(&rn.r, KIN_EX_SOFTWARE, "%s", err);
			break;
		}
		if (o->checkpoint != NULL && now >= next_ck) {
			if (save_checkpoint(&rn, err) < 0)
				kin_warn(PROG, "%s", err);
			next_ck = now + o->checkpoint_ms * 1000;
		}
		if (o->cli.verbose >= 1 && now >= next_prog) {
			progress(&rn, &prog_count, &prog_bytes, &prog_us);
			next_prog = now + 1000000;
		}

		int64_t wake = next_disc;
		if (wake < disc_retry)
			wake = disc_retry;
		if (o->checkpoint != NULL && next_ck < wake)
			wake = next_ck;
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
		/* SIGHUP: nothing of kin-read's can change while it runs */
	}
	(void)interrupted;

	if (rn.r.full)
		normal_end = 1;
	reader_stop(&rn.r);
	if (reader_join(&rn.r, 15000) < 0)
		kin_warn(PROG, "a shard reader did not stop within 15s");
	if (o->checkpoint != NULL && save_checkpoint(&rn, err) < 0) {
		kin_warn(PROG, "%s", err);
		if (status == KIN_EX_OK)
			status = KIN_EX_IOERR;
	}
	if (o->cli.verbose >= 1)
		progress(&rn, &prog_count, &prog_bytes, &prog_us);
	if (rn.r.failed)
		status = rn.r.status;
	else if (normal_end && !rn.r.broken_pipe &&
	    out_end(&rn.w, 0, err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_IOERR;
	}
out_reader:
	reader_release(&rn.r);
out_table:
	out_fmt_release(&rn.oc.fmt);
	writer_release(&rn.w);
	/* the workers are gone (or stuck, then the process ends anyway) */
	if (rn.r.nworkers == 0)
		table_release(&rn.t);
out_ck:
	ckpt_release(&rn.ck);
	kin_client_release(&client);
	return status;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int status;

	opts_init(&o);
	status = parse_args(&o, argc, argv);
	if (status < 0)
		status = run(&o);
	opts_release(&o);
	/* data goes out with write(2); this catches a late stdout failure */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			kin_warn(PROG, "cannot write to stdout: %s",
			    strerror(errno));
			if (status == KIN_EX_OK)
				status = KIN_EX_IOERR;
		}
	}
	return status;
}
