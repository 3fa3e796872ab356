/* leasectl — drives the lease manager (common/lease.h) the way a reader
 * would, without reading records, so tests can watch shard ownership move
 * between workers; and shows a lease table.  Kinesis and DynamoDB settings
 * come from the environment (AWS_ENDPOINT_URL_KINESIS,
 * AWS_ENDPOINT_URL_DYNAMODB, ...), as for every kin program.
 *
 * worker prints one line per change on stdout, flushed at once:
 *   MS WORKER start SHARD COUNTER HOW FROM   (may read SHARD from now)
 *   MS WORKER stop SHARD COUNTER WHY         (no longer reads it)
 *   MS WORKER stats requests=N ...           (with --stats, and at exit)
 * MS is wall-clock milliseconds since the epoch, so lines from several
 * workers on one host can be merged and compared. */
#include "cli.h"
#include "dynamodb.h"
#include "err.h"
#include "kinesis.h"
#include "lease.h"
#include "parse.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "leasectl"

static volatile sig_atomic_t stop;

struct opts {
	int64_t failover_ms, renew_ms, taker_ms, run_ms, ckpt_ms, sync_ms;
	int64_t stats_ms;
	int max_leases, end_closed;
	const char *initial;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: leasectl worker TABLE STREAM WORKER [--failover DUR] "
	    "[--renew DUR]\n"
	    "           [--taker DUR] [--run DUR] [--checkpoint-every DUR] "
	    "[--sync DUR]\n"
	    "           [--stats DUR] [--max-leases N] [--initial POS] "
	    "[--end-closed]\n"
	    "       leasectl show TABLE\n"
	    "       leasectl create TABLE\n"
	    "       leasectl delete-table TABLE\n");
	exit(status);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int
fail(const char *what, const struct kin_awserr *ae, const char *err)
{
	kin_warn(PROG, "%s: %s", what, err);
	return kin_exit_status(ae);
}

/* Monotonic ms (the manager's clock) to wall-clock ms. */
static int64_t mono0, wall0;

static int64_t
wall_of(int64_t mono)
{
	return wall0 + (mono - mono0);
}

static void
print_stats(const char *worker, const struct kin_lease_mgr *m,
    int64_t start, int64_t now)
{
	const struct kin_lease_stats *s = &m->st;

	printf("%" PRId64 " %s stats requests=%ld renewals=%ld takes=%ld "
	    "steals=%ld scans=%ld checkpoints=%ld releases=%ld creates=%ld "
	    "failed=%ld lost=%ld owned=%zu elapsed_ms=%" PRId64 "\n",
	    wall_of(now), worker, s->requests, s->renewals, s->takes,
	    s->steals, s->scans, s->checkpoints, s->releases, s->creates,
	    s->failed, s->lost, kin_lease_owned(m, NULL, 0), now - start);
	fflush(stdout);
}

static void
print_events(const char *worker, struct kin_lease_mgr *m)
{
	struct kin_lease_event e;

	while (kin_lease_next_event(m, &e)) {
		if (e.type == KIN_LEASE_EV_GAINED)
			printf("%" PRId64 " %s start %s %" PRId64 " %s %s\n",
			    wall_of(e.at_ms), worker, e.shard, e.counter, e.why,
			    e.from[0] ? e.from : "-");
		else
			printf("%" PRId64 " %s stop %s %" PRId64 " %s\n",
			    wall_of(e.at_ms), worker, e.shard, e.counter, e.why);
	}
	fflush(stdout);
}

static int
duration(const char *s, int64_t *out)
{
	char err[KIN_ERRLEN];

	if (kin_parse_duration_ms(s, out, err) < 0) {
		kin_warn(PROG, "bad duration '%s': %s", s, err);
		exit(KIN_EX_USAGE);
	}
	return 0;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);   /* a signal cuts it short, as wanted */
}

static const struct kin_shard *
shard_of(const struct kin_shard *s, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s[i].id, id) == 0)
			return &s[i];
	return NULL;
}

/* Checkpoint readable shards: all of them with a made-up, growing
 * sequence number; or (only_end) just the closed ones, with SHARD_END, as
 * if each had been read to its end. */
static void
checkpoint_all(struct kin_lease_mgr *m, const struct kin_shard *sh,
    size_t nsh, int only_end, int64_t now)
{
	const char *own[1024];
	char ids[1024][KIN_LEASE_IDLEN], seq[64], err[KIN_ERRLEN];
	size_t n = kin_lease_owned(m, own, 1024);
	struct kin_awserr ae;

	if (n > 1024)
		n = 1024;
	for (size_t i = 0; i < n; i++)   /* checkpoints may drop leases */
		snprintf(ids[i], sizeof ids[i], "%s", own[i]);
	for (size_t i = 0; i < n; i++) {
		const struct kin_shard *s = shard_of(sh, nsh, ids[i]);
		int closed = s != NULL && s->seq_end != NULL;
		if (only_end && !closed)
			continue;
		if (only_end)
			snprintf(seq, sizeof seq, "%s", KIN_LEASE_SHARD_END);
		else
			snprintf(seq, sizeof seq, "4960%036" PRId64, now);
		if (kin_lease_checkpoint(m, ids[i], seq, 0, &ae, err) < 0)
			kin_warn(PROG, "%s", err);
	}
}

static int
list(struct kin_client *kc, const char *stream, struct kin_shard **sh,
    size_t *nsh)
{
	struct kin_awserr ae;
	char err[KIN_ERRLEN];

	kin_shards_free(*sh, *nsh);
	*sh = NULL;
	*nsh = 0;
	if (kin_list_shards(kc, stream, NULL, sh, nsh, &ae, err) < 0)
		return fail("cannot list shards", &ae, err);
	return 0;
}

static int
worker(const struct opts *o, const char *table, const char *stream,
    const char *id)
{
	struct kin_client kc, dc;
	struct kin_lease_mgr m;
	struct kin_lease_cfg cfg;
	struct kin_shard *sh = NULL;
	size_t nsh = 0;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	int64_t start, now, next_ckpt, next_sync, next_stats, end;
	int st;

	if (kin_client_init(&kc, NULL, err) < 0 ||
	    kin_ddb_init(&dc, NULL, NULL, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	if (kin_lease_ensure_table(&dc, table, 30000, &ae, err) < 0)
		return fail("cannot set up the lease table", &ae, err);
	if ((st = list(&kc, stream, &sh, &nsh)) != 0)
		return st;
	memset(&cfg, 0, sizeof cfg);
	cfg.table = table;
	cfg.worker = id;
	cfg.failover_ms = o->failover_ms;
	cfg.renew_ms = o->renew_ms;
	cfg.taker_ms = o->taker_ms;
	cfg.max_leases = o->max_leases;
	cfg.initial = o->initial;
	if (kin_lease_mgr_init(&m, &dc, &cfg, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_USAGE;
	}
	mono0 = kin_lease_clock_ms();
	wall0 = kin_now_wall_us() / 1000;
	if (kin_lease_sync_shards(&m, sh, nsh, &ae, err) < 0)
		return fail("cannot create leases", &ae, err);
	start = now = kin_lease_clock_ms();
	end = o->run_ms > 0 ? start + o->run_ms : INT64_MAX;
	next_ckpt = o->ckpt_ms > 0 ? start + o->ckpt_ms : INT64_MAX;
	next_sync = o->sync_ms > 0 ? start + o->sync_ms : INT64_MAX;
	next_stats = o->stats_ms > 0 ? start + o->stats_ms : INT64_MAX;
	while (!stop && now < end) {
		if (kin_lease_tick(&m, now, NULL, &ae, err) < 0)
			kin_warn(PROG, "%s", err);
		print_events(id, &m);
		now = kin_lease_clock_ms();
		/* every tick, not only when the leases changed: a
		 * checkpoint that failed (a slow or throttled answer)
		 * must be tried again, or the children wait forever */
		if (o->end_closed)
			checkpoint_all(&m, sh, nsh, 1, now);
		if (now >= next_ckpt) {
			checkpoint_all(&m, sh, nsh, 0, now);
			next_ckpt = now + o->ckpt_ms;
		}
		print_events(id, &m);
		if (now >= next_sync) {
			if (list(&kc, stream, &sh, &nsh) == 0 &&
			    kin_lease_sync_shards(&m, sh, nsh, &ae, err) < 0)
				kin_warn(PROG, "%s", err);
			next_sync = now + o->sync_ms;
		}
		if (now >= next_stats) {
			print_stats(id, &m, start, now);
			next_stats = now + o->stats_ms;
		}
		int64_t due = kin_lease_next_due(&m, now);
		if (due > 100)
			due = 100;
		if (due > 0 && !stop)
			sleep_ms(due);
		now = kin_lease_clock_ms();
	}
	st = 0;
	if (kin_lease_release_all(&m, &ae, err) < 0) {
		kin_warn(PROG, "%s", err);
		st = kin_exit_status(&ae);
	}
	print_events(id, &m);
	print_stats(id, &m, start, kin_lease_clock_ms());
	kin_lease_mgr_release(&m);
	kin_shards_free(sh, nsh);
	kin_client_release(&dc);
	kin_client_release(&kc);
	return st;
}

static int
show(const char *table)
{
	struct kin_client dc;
	struct kin_lease *v;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	size_t n;

	if (kin_ddb_init(&dc, NULL, NULL, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	if (kin_lease_scan(&dc, table, &v, &n, NULL, &ae, err) < 0)
		return fail("cannot read the lease table", &ae, err);
	for (size_t i = 0; i < n; i++) {
		printf("%s %s %" PRId64 " %s %" PRId64 " %" PRId64 " ",
		    v[i].key, v[i].owner ? v[i].owner : "-", v[i].counter,
		    v[i].checkpoint ? v[i].checkpoint : "-", v[i].subseq,
		    v[i].switches);
		for (size_t k = 0; k < v[i].nparents; k++)
			printf("%s%s", k ? "," : "", v[i].parents[k]);
		printf("%s\n", v[i].nparents ? "" : "-");
	}
	kin_leases_free(v, n);
	kin_client_release(&dc);
	return 0;
}

static int
table_cmd(const char *cmd, const char *table)
{
	struct kin_client dc;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	int rc;

	if (kin_ddb_init(&dc, NULL, NULL, err) < 0) {
		kin_warn(PROG, "%s", err);
		return KIN_EX_CONFIG;
	}
	if (strcmp(cmd, "create") == 0)
		rc = kin_lease_ensure_table(&dc, table, 30000, &ae, err);
	else
		rc = kin_ddb_delete_table(&dc, table, &ae, err);
	kin_client_release(&dc);
	return rc < 0 ? fail(cmd, &ae, err) : 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "failover", required_argument, NULL, 'f' },
		{ "renew", required_argument, NULL, 'r' },
		{ "taker", required_argument, NULL, 't' },
		{ "run", required_argument, NULL, 'R' },
		{ "checkpoint-every", required_argument, NULL, 'c' },
		{ "sync", required_argument, NULL, 'S' },
		{ "stats", required_argument, NULL, 's' },
		{ "max-leases", required_argument, NULL, 'm' },
		{ "initial", required_argument, NULL, 'i' },
		{ "end-closed", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct sigaction sa;
	char err[KIN_ERRLEN];
	long long v;
	int ch;

	memset(&o, 0, sizeof o);
	o.failover_ms = 10000;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': duration(optarg, &o.failover_ms); break;
		case 'r': duration(optarg, &o.renew_ms); break;
		case 't': duration(optarg, &o.taker_ms); break;
		case 'R': duration(optarg, &o.run_ms); break;
		case 'c': duration(optarg, &o.ckpt_ms); break;
		case 'S': duration(optarg, &o.sync_ms); break;
		case 's': duration(optarg, &o.stats_ms); break;
		case 'm':
			if (kin_parse_int(optarg, 1, 100000, &v, err) < 0) {
				kin_warn(PROG, "bad --max-leases: %s", err);
				return KIN_EX_USAGE;
			}
			o.max_leases = (int)v;
			break;
		case 'i': o.initial = optarg; break;
		case 'e': o.end_closed = 1; break;
		case 'h': usage(0); break;
		default: usage(KIN_EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(KIN_EX_USAGE);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[0], "worker") == 0 && argc == 4)
		return worker(&o, argv[1], argv[2], argv[3]);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return show(argv[1]);
	if ((strcmp(argv[0], "create") == 0 ||
	    strcmp(argv[0], "delete-table") == 0) && argc == 2)
		return table_cmd(argv[0], argv[1]);
	usage(KIN_EX_USAGE);
}
