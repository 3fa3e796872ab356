/* main.c — kin-read: every shard of a Kinesis data stream to stdout.
 * The options (command line and --config) into struct opts, validated;
 * run.c does the rest. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kin-read.h"
#include "parse.h"
#include "run.h"

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
	OPT_BARRIER_INTERVAL,
	OPT_METRICS,
	OPT_METRICS_INTERVAL,
	OPT_LEASE_TABLE,
	OPT_WORKER_ID,
	OPT_FAILOVER_TIME,
	OPT_EFO,
	OPT_EFO_DEREGISTER,
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
	{ "barrier-interval",    required_argument, NULL,
	  OPT_BARRIER_INTERVAL },
	{ "metrics",             required_argument, NULL, OPT_METRICS },
	{ "metrics-interval",    required_argument, NULL, OPT_METRICS_INTERVAL },
	{ "lease-table",         required_argument, NULL, OPT_LEASE_TABLE },
	{ "worker-id",           required_argument, NULL, OPT_WORKER_ID },
	{ "failover-time",       required_argument, NULL, OPT_FAILOVER_TIME },
	{ "efo",                 required_argument, NULL, OPT_EFO },
	{ "efo-deregister",      no_argument,       NULL, OPT_EFO_DEREGISTER },
	KIN_CLI_LONGOPTS,
	KIN_CLI_NET_LONGOPTS,
	{ NULL, 0, NULL, 0 },
};
static const char shortopts[] = KIN_CLI_SHORTOPTS "o:ec:LJf:";

/* The original job's runtime properties (DESIGN.md section 3).  One
 * properties file serves the whole pipeline: the ones for other programs
 * are accepted in the config file and ignored. */
static const struct kin_alias aliases[] = {
	{ "inputStreamName", "stream", NULL },
	{ "aws.region", "region", NULL },
	{ "outputStreamName", NULL, NULL },
	{ "AggregationEnabled", NULL, NULL },
	{ "Partition", NULL, NULL },
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	fputs("usage: kin-read [-eJqv] [-c count] [-f format] [-o position] "
	    "-s stream\n"
	    "                [--barrier-interval duration] [--checkpoint file]\n"
	    "                [--checkpoint-interval duration] [--config file]\n"
	    "                [--discovery-interval duration] [--efo name]\n"
	    "                [--efo-deregister] [--endpoint-url url]\n"
	    "                [--failover-time duration] [--idle-wait duration]\n"
	    "                [--lease-table name] [--limit n] "
	    "[--metrics file]\n"
	    "                [--metrics-interval duration] [--no-verify-ssl]\n"
	    "                [--profile name]\n"
	    "                [--region region] [--shard id] [--shard-index i/n]\n"
	    "                [--threads n] [--until time] [--worker-id id]\n"
	    "       kin-read -L [-Jqv] [-s stream] [--config file] "
	    "[--endpoint-url url]\n"
	    "                [--lease-table name] [--profile name] "
	    "[--region region]\n"
	    "       kin-read -h | -V\n", f);
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
	o->metrics_ms = 60000;
	o->failover_ms = 10000;   /* the KCL's default */
}

static void
opts_release(struct opts *o)
{
	free(o->metrics);
	for (size_t i = 0; i < o->nshards; i++)
		free(o->shards[i]);
	free(o->shards);
	free(o->format);
	free(o->checkpoint);
	free(o->lease_table);
	free(o->worker_id);
	free(o->efo);
	kin_cli_release(&o->cli);
}

static int
parse_from(struct kin_pos *p, const char *s, char *err)
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
		if (!kin_seq_valid(v))
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

/* A name for --lease-table (a DynamoDB table), --worker-id or --efo (a
 * stream consumer): min..max bytes, no control characters. */
static int
set_name(char **dst, const char *opt, const char *arg, size_t min,
    size_t max, char *err)
{
	size_t n = strlen(arg);

	if (n < min || n > max)
		return kin_seterr(err, "bad --%s '%s': %zu to %zu characters",
		    opt, arg, min, max);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 0x20 || arg[i] == 0x7f)
			return kin_seterr(err, "bad --%s: a control character",
			    opt);
	free(*dst);
	if ((*dst = strdup(arg)) == NULL)
		return kin_seterr(err, "out of memory");
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
	case OPT_BARRIER_INTERVAL:
		return parse_duration("barrier-interval", arg, 10,
		    &o->barrier_ms, err);
	case OPT_METRICS:
		free(o->metrics);
		if ((o->metrics = strdup(arg)) == NULL)
			return kin_seterr(err, "out of memory");
		return 0;
	case OPT_METRICS_INTERVAL:
		return parse_duration("metrics-interval", arg, 1,
		    &o->metrics_ms, err);
	case OPT_LEASE_TABLE:
		return set_name(&o->lease_table, "lease-table", arg, 3, 255, err);
	case OPT_WORKER_ID:
		return set_name(&o->worker_id, "worker-id", arg, 1, 128, err);
	case OPT_FAILOVER_TIME:
		return parse_duration("failover-time", arg, 1000,
		    &o->failover_ms, err);
	case OPT_EFO:
		return set_name(&o->efo, "efo", arg, 1, 128, err);
	case OPT_EFO_DEREGISTER:
		o->efo_deregister = 1;
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
			if (kin_config_load(o->cli.config, longopts,
			    aliases, apply, o, err) < 0) {
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
	if (o->lease_table != NULL && (o->nshards > 0 || o->index_n > 0 ||
	    (o->checkpoint != NULL && o->barrier_ms == 0))) {
		kin_warn(PROG, "--lease-table decides the shards and keeps the "
		    "checkpoints: no --shard, --shard-index, nor --checkpoint "
		    "but with --barrier-interval");
		return KIN_EX_USAGE;
	}
	if (o->lease_table == NULL && (o->worker_id != NULL ||
	    o->failover_ms != 10000)) {
		kin_warn(PROG, "--worker-id and --failover-time need "
		    "--lease-table");
		return KIN_EX_USAGE;
	}
	if (o->efo_deregister && o->efo == NULL) {
		kin_warn(PROG, "--efo-deregister needs --efo");
		return KIN_EX_USAGE;
	}
	if (o->nshards > 0 && o->index_n > 0) {
		kin_warn(PROG, "--shard and --shard-index cannot be used together");
		return KIN_EX_USAGE;
	}
	if (o->barrier_ms > 0 && o->checkpoint == NULL) {
		kin_warn(PROG, "--barrier-interval needs --checkpoint (the file "
		    "kin-write commits the barriers to)");
		return KIN_EX_USAGE;
	}
	if (o->barrier_ms > 0 && o->list) {
		kin_warn(PROG, "-L and --barrier-interval cannot be used "
		    "together");
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

static int
opts_reparse(const struct opts *o, struct opts *fresh, char *err)
{
	int argc = o->argc, c;
	char **argv = o->argv;

	opts_init(fresh);
	/* the config file named on the command line, then the command
	 * line over it, as at the start */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG && kin_cli_apply(&fresh->cli, c, optarg) &&
		    fresh->cli.config != NULL &&
		    kin_config_load(fresh->cli.config, longopts, aliases,
		    apply, fresh, err) < 0)
			return -1;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c != KIN_OPT_CONFIG && c != '?' && c != 'h' && c != 'V' &&
		    apply(fresh, c, optarg, err) < 0)
			return -1;
	opterr = 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int status;

	opts_init(&o);
	o.argc = argc;
	o.argv = argv;
	o.reparse = opts_reparse;
	o.release = opts_release;
	status = parse_args(&o, argc, argv);
	if (status < 0 && o.cli.no_verify_ssl)
		kin_warn(PROG, "--no-verify-ssl: TLS certificates are NOT "
		    "verified (allowed for a loopback endpoint only)");
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
