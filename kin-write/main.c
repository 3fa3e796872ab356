/* kin-write — put lines into a Kinesis data stream: batched, optionally
 * KPL-aggregated, rate limited per shard, retried, and nothing read is
 * dropped without a trace (DESIGN.md sections 1, 2 and 4).
 * main.c: options, set-up, the event loop, exit status. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "cli.h"
#include "commit.h"
#include "deadletter.h"
#include "err.h"
#include "input.h"
#include "kinesis.h"
#include "parse.h"
#include "stats.h"

enum {
	OPT_KEEP_NEWLINE = KIN_OPT_FIRST_PROG,
	OPT_RANDOM_KEY,
	OPT_HASH_FIELD,
	OPT_AGGREGATE,
	OPT_AGG_MAX,
	OPT_LINGER,
	OPT_MAX_IN_FLIGHT,
	OPT_RATE_LIMIT,
	OPT_RECORD_TTL,
	OPT_ORDERED,
	OPT_DEAD_LETTER,
	OPT_MAX_BUFFERED,
	OPT_REQUEST_TIMEOUT,
	OPT_BATCH_RECORDS,
	OPT_CHECKPOINT,
	OPT_METRICS,
	OPT_METRICS_INTERVAL,
	OPT_IGNORED,
};

struct opts {
	struct kin_cli cli;
	struct input_opts in;
	struct writer_opts w;
	char *key, *key_field, *hash_field, *dead_letter;
	char *checkpoint, *metrics;
	int64_t metrics_ms;
	double rate_pct;
	uint64_t max_buffered;
	int64_t request_timeout_ms;
	int keymodes;
};

static const struct option longopts[] = {
	KIN_CLI_LONGOPTS,
	KIN_CLI_NET_LONGOPTS,
	{ "envelope",           no_argument,       NULL, 'J' },
	{ "null",               no_argument,       NULL, '0' },
	{ "delimiter",          required_argument, NULL, 'D' },
	{ "keep-newline",       no_argument,       NULL, OPT_KEEP_NEWLINE },
	{ "partition-key",      required_argument, NULL, 'k' },
	{ "key-field",          required_argument, NULL, 'K' },
	{ "random-key",         no_argument,       NULL, OPT_RANDOM_KEY },
	{ "hash-key-field",     required_argument, NULL, OPT_HASH_FIELD },
	{ "aggregate",          no_argument,       NULL, OPT_AGGREGATE },
	{ "aggregate-max-size", required_argument, NULL, OPT_AGG_MAX },
	{ "linger",             required_argument, NULL, OPT_LINGER },
	{ "max-in-flight",      required_argument, NULL, OPT_MAX_IN_FLIGHT },
	{ "batch-records",      required_argument, NULL, OPT_BATCH_RECORDS },
	{ "rate-limit",         required_argument, NULL, OPT_RATE_LIMIT },
	{ "record-ttl",         required_argument, NULL, OPT_RECORD_TTL },
	{ "ordered",            no_argument,       NULL, OPT_ORDERED },
	{ "dead-letter",        required_argument, NULL, OPT_DEAD_LETTER },
	{ "max-buffered",       required_argument, NULL, OPT_MAX_BUFFERED },
	{ "request-timeout",    required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "checkpoint",         required_argument, NULL, OPT_CHECKPOINT },
	{ "metrics",            required_argument, NULL, OPT_METRICS },
	{ "metrics-interval",   required_argument, NULL, OPT_METRICS_INTERVAL },
	{ NULL, 0, NULL, 0 }
};
#define SHORTOPTS KIN_CLI_SHORTOPTS "J0D:k:K:"

/* The original job's runtime properties.  One properties file serves the
 * whole pipeline, so the reader's input stream is accepted and ignored. */
static const struct kin_alias aliases[] = {
	{ "outputStreamName",   "stream",        NULL },
	{ "aws.region",         "region",        NULL },
	{ "AggregationEnabled", "aggregate",     NULL },
	{ "Partition",          "partition-key", NULL },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: kin-write [-0Jqv] -s stream [-D delim] [-k key | -K field | --random-key]\n"
"                 [--hash-key-field field] [--keep-newline] [--aggregate]\n"
"                 [--aggregate-max-size size] [--linger duration]\n"
"                 [--max-in-flight n] [--batch-records n] [--rate-limit percent]\n"
"                 [--record-ttl duration] [--ordered] [--dead-letter file]\n"
"                 [--max-buffered size] [--request-timeout duration]\n"
"                 [--checkpoint file] [--metrics file]\n"
"                 [--metrics-interval duration]\n"
"                 [--region region] [--endpoint-url url] [--no-verify-ssl]\n"
"                 [--profile name] [--config file] [file ...]\n"
"       kin-write -h | -V\n");
}

static int parse_delim(const char *s, int *out, char *err)
{
	if (s[0] && !s[1]) {
		*out = (unsigned char)s[0];
		return 0;
	}
	if (s[0] == '\\' && s[1] && !s[2]) {
		switch (s[1]) {
		case 'n': *out = '\n'; return 0;
		case 't': *out = '\t'; return 0;
		case 'r': *out = '\r'; return 0;
		case '0': *out = 0; return 0;
		case '\\': *out = '\\'; return 0;
		}
	}
	if (s[0] == '\\' && s[1] == 'x' && strlen(s) == 4) {
		long long v;
		char hex[8];
		snprintf(hex, sizeof(hex), "%s", s + 2);
		char *end;
		v = strtoll(hex, &end, 16);
		if (*end == '\0' && v >= 0 && v <= 255) {
			*out = (int)v;
			return 0;
		}
	}
	return kin_seterr(err, "delimiter '%s' is not one byte (a character, "
	    "\\n, \\t, \\r, \\0 or \\xNN)", s);
}

/* One option, from the command line or the config file. */
static int apply(void *ctx, int opt, const char *arg, char *err)
{
	struct opts *o = ctx;
	long long n;
	int64_t ms;
	uint64_t sz;
	int r = kin_cli_apply(&o->cli, opt, arg);

	if (r < 0)
		return kin_seterr(err, "out of memory");
	if (r > 0)
		return 0;
	switch (opt) {
	case 'J':
		o->in.envelope = 1;
		return 0;
	case '0':
		o->in.delim = 0;
		return 0;
	case 'D':
		return parse_delim(arg, &o->in.delim, err);
	case OPT_KEEP_NEWLINE:
		o->in.keep_newline = 1;
		return 0;
	case 'k':
		if (!*arg)
			return kin_seterr(err, "the partition key is empty");
		o->keymodes |= 1;
		return kin_set_str(&o->key, arg, err);
	case 'K':
		if (!*arg)
			return kin_seterr(err, "the key field is empty");
		o->keymodes |= 2;
		return kin_set_str(&o->key_field, arg, err);
	case OPT_RANDOM_KEY:
		o->keymodes |= 4;
		o->in.random_key = 1;
		return 0;
	case OPT_HASH_FIELD:
		if (!*arg)
			return kin_seterr(err, "the hash key field is empty");
		return kin_set_str(&o->hash_field, arg, err);
	case OPT_AGGREGATE:
		o->w.aggregate = 1;
		return 0;
	case OPT_AGG_MAX:
		if (kin_parse_size(arg, &sz, err) < 0)
			return -1;
		if (sz < 256 || sz > KIN_MAX_RECORD - 1)
			return kin_seterr(err, "aggregate size %s is out of "
			    "range (256 to 1048575 bytes)", arg);
		o->w.agg_max = (size_t)sz;
		return 0;
	case OPT_LINGER:
		if (kin_parse_duration_ms(arg, &ms, err) < 0)
			return -1;
		if (ms > 60000)
			return kin_seterr(err, "linger %s is over 1 minute",
			    arg);
		o->w.linger_us = ms * 1000;
		return 0;
	case OPT_MAX_IN_FLIGHT:
		if (kin_parse_int(arg, 1, 256, &n, err) < 0)
			return -1;
		o->w.max_in_flight = (int)n;
		return 0;
	case OPT_BATCH_RECORDS:
		if (kin_parse_int(arg, 1, KIN_MAX_PUT_RECORDS, &n, err) < 0)
			return -1;
		o->w.max_records = (size_t)n;
		return 0;
	case OPT_RATE_LIMIT:
		if (kin_parse_int(arg, 0, 10000, &n, err) < 0)
			return -1;
		o->rate_pct = (double)n;
		return 0;
	case OPT_RECORD_TTL:
		if (kin_parse_duration_ms(arg, &ms, err) < 0)
			return -1;
		o->in.ttl_us = ms * 1000;
		return 0;
	case OPT_ORDERED:
		o->w.ordered = 1;
		return 0;
	case OPT_DEAD_LETTER:
		return kin_set_str(&o->dead_letter, arg, err);
	case OPT_MAX_BUFFERED:
		if (kin_parse_size(arg, &sz, err) < 0)
			return -1;
		if (sz < (uint64_t)8 << 20)
			return kin_seterr(err, "max-buffered %s is under 8M",
			    arg);
		o->max_buffered = sz;
		return 0;
	case OPT_REQUEST_TIMEOUT:
		if (kin_parse_duration_ms(arg, &ms, err) < 0)
			return -1;
		if (ms < 100)
			return kin_seterr(err, "request timeout %s is under "
			    "100ms", arg);
		o->request_timeout_ms = ms;
		return 0;
	case OPT_CHECKPOINT:
		return kin_set_str(&o->checkpoint, arg, err);
	case OPT_METRICS:
		return kin_set_str(&o->metrics, arg, err);
	case OPT_METRICS_INTERVAL:
		if (kin_parse_duration_ms(arg, &ms, err) < 0)
			return -1;
		if (ms < 1)
			return kin_seterr(err, "metrics interval %s is under "
			    "1ms", arg);
		o->metrics_ms = ms;
		return 0;
	case OPT_IGNORED:
		return 0;
	}
	return kin_seterr(err, "unknown option");
}

static void opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	kin_cli_init(&o->cli, KW_PROG);
	o->in.delim = '\n';
	o->in.ttl_us = 30 * 1000000LL;
	o->w.agg_max = 50 * 1024;   /* KPL AggregationMaxSize */
	o->w.linger_us = 100 * 1000; /* KPL RecordMaxBufferedTime */
	o->w.max_in_flight = 8;
	o->w.max_records = KIN_MAX_PUT_RECORDS;
	o->w.max_bytes = KIN_MAX_PUT_BYTES;
	o->rate_pct = 100;
	o->max_buffered = (uint64_t)64 << 20;
	o->request_timeout_ms = 30000;
	o->metrics_ms = 60000;
}

static void opts_release(struct opts *o)
{
	kin_cli_release(&o->cli);
	free(o->key);
	free(o->key_field);
	free(o->hash_field);
	free(o->dead_letter);
	free(o->checkpoint);
	free(o->metrics);
}

/* The config file's keys: the long options, and the reader's input stream
 * (one properties file serves the whole pipeline), ignored. */
static const struct option *config_options(void)
{
	static struct option cfopts[sizeof(longopts) / sizeof(longopts[0]) + 1];
	size_t k = sizeof(longopts) / sizeof(longopts[0]) - 1;

	if (cfopts[0].name == NULL) {
		memcpy(cfopts, longopts, sizeof(longopts));
		cfopts[k].name = "inputStreamName";
		cfopts[k].has_arg = required_argument;
		cfopts[k].flag = NULL;
		cfopts[k].val = OPT_IGNORED;
		memset(&cfopts[k + 1], 0, sizeof(cfopts[k + 1]));
	}
	return cfopts;
}

/* SIGHUP: the config file again, then the command line over it, into n
 * (the caller releases it); *found says whether there was a config file.
 * 0, or -1 with err. */
static int reparse(int argc, char **argv, struct opts *n, int *found,
    char *err)
{
	int c, i;

	opts_init(n);
	*found = 0;
	for (i = 1; i < argc; i++) {
		const char *cf = NULL;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cf = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			cf = argv[i] + 9;
		if (cf)
			*found = 1;
		if (cf && kin_config_load(cf, config_options(), aliases, apply,
		    n, err) < 0)
			return -1;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1)
		if (c != '?' && c != 'h' && c != 'V' && c != KIN_OPT_CONFIG &&
		    apply(n, c, optarg, err) < 0)
			return -1;
	opterr = 1;
	if ((n->keymodes & 1) + !!(n->keymodes & 2) + !!(n->keymodes & 4) > 1)
		return kin_seterr(err, "-k, -K and --random-key exclude each "
		    "other");
	return 0;
}

/* Options: the config file first (found in a first pass), then the
 * command line, which wins. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	char err[KIN_ERRLEN];
	int c, i;

	opterr = 0;
	for (i = 1; i < argc; i++) {
		const char *cf = NULL;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cf = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			cf = argv[i] + 9;
		if (cf) {
			if (kin_config_load(cf, config_options(), aliases,
			    apply, o, err) < 0) {
				kin_warn(KW_PROG, "%s", err);
				return KIN_EX_CONFIG;
			}
		}
	}
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, SHORTOPTS, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(fflush(stdout) == 0 ? 0 : KIN_EX_IOERR);
		case 'V':
			kin_cli_version(&o->cli);
			exit(fflush(stdout) == 0 ? 0 : KIN_EX_IOERR);
		case '?':
			usage(stderr);
			return KIN_EX_USAGE;
		case KIN_OPT_CONFIG:
			break;   /* read above */
		default:
			if (apply(o, c, optarg, err) < 0) {
				const struct option *lo;
				const char *name = NULL;
				for (lo = longopts; lo->name; lo++)
					if (lo->val == c)
						name = lo->name;
				kin_warn(KW_PROG, "invalid --%s: %s",
				    name ? name : "option", err);
				return KIN_EX_USAGE;
			}
		}
	}
	return 0;
}

static int validate(struct opts *o)
{
	int m = o->keymodes;

	if (!o->cli.stream || !*o->cli.stream) {
		kin_warn(KW_PROG, "no stream: give -s/--stream");
		usage(stderr);
		return KIN_EX_USAGE;
	}
	if ((m & 1) + !!(m & 2) + !!(m & 4) > 1) {
		kin_warn(KW_PROG, "-k, -K and --random-key exclude each other");
		return KIN_EX_USAGE;
	}
	if (o->in.envelope && o->in.keep_newline) {
		kin_warn(KW_PROG, "--keep-newline has no meaning with -J "
		    "(the envelope holds the data)");
		return KIN_EX_USAGE;
	}
	o->in.key = o->key;
	o->in.key_field = o->key_field;
	o->in.hash_field = o->hash_field;
	o->w.verbose = o->cli.verbose;
	o->w.quiet = o->cli.quiet;
	return 0;
}

/* ---- signals: a self-pipe, so the event loop sees them ---- */

static int sigpipe_fd[2] = { -1, -1 };
static volatile sig_atomic_t got_stop, got_hup;

static void on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

	if (sig == SIGHUP)
		got_hup++;
	else
		got_stop++;
	if (sigpipe_fd[1] >= 0)
		(void)!write(sigpipe_fd[1], &c, 1);
	errno = e;
}

static int setup_signals(char *err)
{
	struct sigaction sa;
	int i;

	if (pipe(sigpipe_fd) < 0)
		return kin_seterrno(err, errno, "pipe");
	for (i = 0; i < 2; i++) {
		int fl = fcntl(sigpipe_fd[i], F_GETFL);
		fcntl(sigpipe_fd[i], F_SETFL, fl | O_NONBLOCK);
		fcntl(sigpipe_fd[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

/* ---- the loop ---- */

struct run {
	struct opts *o;
	struct writer w;
	struct input in;
	struct deadletter dl;
	struct commit cm;
	struct stats st;
	int in_done;
	int in_eof;               /* the input ended (not a signal) */
	uint64_t barriers;
	int argc;                 /* for SIGHUP */
	char **argv;
	int agg_pending;          /* SIGHUP: --aggregate to set, or -1 */
};

/* Every record before the barrier is acknowledged or dead-lettered: its
 * positions are committed (with --checkpoint). */
static void on_barrier(void *ctx, const char *line, size_t len)
{
	struct run *r = ctx;

	r->barriers++;
	if (r->o->cli.verbose >= 2)
		kin_warn(KW_PROG, "barrier acknowledged: %.*s",
		    (int)(len > 200 ? 200 : len - 1), line + 1);
	if (commit_barrier(&r->cm, line, len) < 0)
		return;   /* run_loop sees r->cm.fatal */
	stats_barrier(&r->st);
}

static void progress(struct run *r, int64_t now, int64_t *last,
    uint64_t *last_acked)
{
	struct writer *w = &r->w;
	double dt = (double)(now - *last) / 1e6;

	kin_warn(KW_PROG, "in %llu, acked %llu, dead-lettered %llu, "
	    "pending %llu, retried %llu, %.0f records/s",
	    (unsigned long long)w->in, (unsigned long long)w->acked,
	    (unsigned long long)w->dead, (unsigned long long)w->held,
	    (unsigned long long)w->retried,
	    dt > 0 ? (double)(w->acked - *last_acked) / dt : 0.0);
	*last = now;
	*last_acked = w->acked;
}

static int same_str(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static const char *keydesc(const struct opts *o, char *buf, size_t n)
{
	if (o->key)
		snprintf(buf, n, "-k '%s'", o->key);
	else if (o->key_field)
		snprintf(buf, n, "-K '%s'", o->key_field);
	else
		snprintf(buf, n, "random");
	return buf;
}

/* Swap in a new string option (NULL allowed). */
static void take_str(char **dst, char **src)
{
	free(*dst);
	*dst = *src;
	*src = NULL;
}

/* Aggregation changes where no aggregate is open: right after a barrier
 * (which closes them all), or when nothing is pending at all. */
static void apply_aggregate(struct run *r)
{
	if (r->agg_pending < 0)
		return;
	r->w.o.aggregate = r->agg_pending;
	r->o->w.aggregate = r->agg_pending;
	kin_warn(KW_PROG, "config reloaded: aggregation is now %s",
	    r->agg_pending ? "on" : "off");
	r->agg_pending = -1;
}

/* SIGHUP: read the config again; apply the log level, the partition key
 * (-k, -K, --random-key), aggregation, --linger and --metrics-interval;
 * log each change, and name what needs a restart: the stream (records in
 * flight and the checkpoint belong to it), the region, endpoint, files,
 * limits. */
static void reload(struct run *r)
{
	struct opts *o = r->o, n;
	char err[KIN_ERRLEN];
	int changed = 0, found;

	if (reparse(r->argc, r->argv, &n, &found, err) < 0) {
		kin_warn(KW_PROG, "SIGHUP: config not reloaded: %s", err);
		opts_release(&n);
		return;
	}
	if (!found) {
		kin_warn(KW_PROG, "SIGHUP: no --config file to read again");
		opts_release(&n);
		return;
	}
	if (n.cli.verbose != o->cli.verbose || n.cli.quiet != o->cli.quiet) {
		kin_warn(KW_PROG, "config reloaded: log level %sverbose %d -> "
		    "%sverbose %d", o->cli.quiet ? "quiet, " : "",
		    o->cli.verbose, n.cli.quiet ? "quiet, " : "", n.cli.verbose);
		o->cli.verbose = n.cli.verbose;
		o->cli.quiet = n.cli.quiet;
		r->w.o.verbose = n.cli.verbose;
		r->w.o.quiet = n.cli.quiet;
		changed = 1;
	}
	if (n.keymodes != o->keymodes || !same_str(n.key, o->key) ||
	    !same_str(n.key_field, o->key_field)) {
		char was[300], now[300];

		kin_warn(KW_PROG, "config reloaded: partition key %s -> %s",
		    keydesc(o, was, sizeof(was)), keydesc(&n, now, sizeof(now)));
		take_str(&o->key, &n.key);
		take_str(&o->key_field, &n.key_field);
		o->keymodes = n.keymodes;
		o->in.key = o->key;
		o->in.key_field = o->key_field;
		o->in.random_key = n.in.random_key;
		changed = 1;
	}
	if (n.w.aggregate != o->w.aggregate) {
		r->agg_pending = n.w.aggregate;
		if (writer_idle(&r->w))
			apply_aggregate(r);
		else
			kin_warn(KW_PROG, "config reloaded: aggregation turns "
			    "%s at the next barrier or when nothing is pending",
			    n.w.aggregate ? "on" : "off");
		changed = 1;
	}
	if (n.w.linger_us != o->w.linger_us) {
		kin_warn(KW_PROG, "config reloaded: --linger %lldms -> %lldms",
		    (long long)(o->w.linger_us / 1000),
		    (long long)(n.w.linger_us / 1000));
		o->w.linger_us = r->w.o.linger_us = n.w.linger_us;
		changed = 1;
	}
	if (n.metrics_ms != o->metrics_ms) {
		kin_warn(KW_PROG, "config reloaded: --metrics-interval %lldms "
		    "-> %lldms", (long long)o->metrics_ms,
		    (long long)n.metrics_ms);
		o->metrics_ms = n.metrics_ms;
		stats_set_interval(&r->st, n.metrics_ms);
		changed = 1;
	}
	if (!same_str(n.cli.stream, o->cli.stream)) {
		kin_warn(KW_PROG, "config reloaded: the stream cannot change "
		    "while kin-write runs (records in flight and the "
		    "checkpoint belong to '%s'): restart to apply it",
		    o->cli.stream);
		changed = 1;
	}
	if (!same_str(n.cli.region, o->cli.region) ||
	    !same_str(n.cli.endpoint, o->cli.endpoint) ||
	    !same_str(n.cli.profile, o->cli.profile) ||
	    !same_str(n.checkpoint, o->checkpoint) ||
	    !same_str(n.metrics, o->metrics) ||
	    !same_str(n.dead_letter, o->dead_letter) ||
	    !same_str(n.hash_field, o->hash_field) ||
	    n.in.envelope != o->in.envelope || n.in.delim != o->in.delim ||
	    n.in.keep_newline != o->in.keep_newline ||
	    n.in.ttl_us != o->in.ttl_us || n.rate_pct != o->rate_pct ||
	    n.w.agg_max != o->w.agg_max ||
	    n.w.max_in_flight != o->w.max_in_flight ||
	    n.w.ordered != o->w.ordered ||
	    n.w.max_records != o->w.max_records ||
	    n.max_buffered != o->max_buffered ||
	    n.request_timeout_ms != o->request_timeout_ms) {
		kin_warn(KW_PROG, "config reloaded: options other than the log "
		    "level, partition key, aggregation, --linger and "
		    "--metrics-interval changed; they apply at the next start");
		changed = 1;
	}
	if (!changed && o->cli.verbose)
		kin_warn(KW_PROG, "config reloaded: nothing changed");
	opts_release(&n);
}

/* Read what input there is (a bounded amount, so replies are served). */
static int read_input(struct run *r, int *poll_fd)
{
	char err[KIN_ERRLEN];
	struct in_item it;
	int i;

	*poll_fd = -1;
	for (i = 0; i < 4096; i++) {
		if (!(i & 255))
			kw_tick();
		if (!writer_want_input(&r->w) || r->w.fatal)
			return 0;
		switch (input_next(&r->in, &it, err)) {
		case IN_REC:
			if (r->cm.mode && !r->in.lines.had_delim) {
				/* a last line cut short: upstream died while
				 * writing it, and a restart brings it again */
				if (!r->o->cli.quiet)
					kin_warn(KW_PROG, "line %lld has no "
					    "newline at the end of the input: "
					    "upstream stopped in the middle of "
					    "it; not put", it.lineno);
				urec_free(it.u);
				break;
			}
			writer_add(&r->w, it.u);
			break;
		case IN_BAD: {
			struct dl_rec d;
			const char *src = it.src && strcmp(it.src, "-") ?
			    it.src : "stdin";
			/* -q: the dead letter, the counts and the exit
			 * status are the trace */
			if (!r->o->cli.quiet)
				kin_warn(KW_PROG, "dead-lettered line %lld of "
				    "%s%s%s: %s", it.lineno, src == it.src ?
				    "'" : "", src, src == it.src ? "'" : "",
				    it.msg);
			memset(&d, 0, sizeof(d));
			d.reason = it.reason;
			d.code = "";
			d.message = it.msg;
			d.src = it.src;
			d.lineno = it.lineno;
			d.key = it.key;
			d.data = it.data;
			d.len = it.len;
			writer_bad(&r->w, &d);
			break;
		}
		case IN_CONTROL:
			if (commit_control(&r->cm, it.data, it.len) < 0)
				return 0;     /* run_loop stops */
			if (strcmp(it.ctype, "barrier") == 0) {
				writer_barrier(&r->w, it.data, it.len);
				apply_aggregate(r);   /* none is open now */
			}
			else if (r->o->cli.verbose >= 2)
				kin_warn(KW_PROG, "control line %lld (%s) is "
				    "not data: not put", it.lineno,
				    it.ctype[0] ? it.ctype : "unreadable");
			break;
		case IN_AGAIN:
			*poll_fd = it.fd;
			return 0;
		case IN_EOF:
			r->in_done = 1;
			r->in_eof = 1;
			writer_flush_all(&r->w);
			return 0;
		case IN_ERR:
			kin_warn(KW_PROG, "%s", err);
			r->in_done = 1;
			writer_flush_all(&r->w);
			return KIN_EX_IOERR;
		}
	}
	return 1;   /* more may be there at once */
}

static int run_loop(struct run *r)
{
	struct writer *w = &r->w;
	int64_t last_prog = kin_now_mono_us();
	uint64_t last_acked = 0;
	int status = 0, stops = 0;

	for (;;) {
		struct curl_waitfd fds[2];
		unsigned nfds = 0;
		int poll_fd = -1, more = 0, rc;
		int64_t now;

		kw_tick();
		if (!r->in_done && !w->fatal) {
			rc = read_input(r, &poll_fd);
			if (rc == 1)
				more = 1;
			else if (rc > 1 && !status)
				status = rc;
		}
		if ((w->fatal || r->cm.fatal) && !r->in_done) {
			r->in_done = 1;
			writer_flush_all(w);
		}
		if (r->agg_pending >= 0 && writer_idle(w))
			apply_aggregate(r);
		writer_pump(w);
		if (r->in_done && writer_idle(w))
			break;
		if (w->fatal == KIN_EX_IOERR) {
			/* the dead-letter file broke: nothing can be kept */
			writer_abandon(w, "aborted");
			break;
		}
		if (poll_fd >= 0) {
			fds[nfds].fd = poll_fd;
			fds[nfds].events = CURL_WAIT_POLLIN;
			fds[nfds++].revents = 0;
		}
		fds[nfds].fd = sigpipe_fd[0];
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
		writer_wait(w, fds, nfds, more ? 0 : 1000);
		if (got_hup) {
			char buf[16];
			while (read(sigpipe_fd[0], buf, sizeof(buf)) > 0)
				;
			got_hup = 0;
			reload(r);
		}
		if (got_stop > stops) {
			char buf[16];
			while (read(sigpipe_fd[0], buf, sizeof(buf)) > 0)
				;
			stops = got_stop;
			if (!r->in_done) {
				if (r->o->cli.verbose)
					kin_warn(KW_PROG, "stopping: sending "
					    "what was read");
				r->in_done = 1;
				writer_flush_all(w);
			} else if (stops >= 2) {
				kin_warn(KW_PROG, "stopped again: "
				    "dead-lettering what is not yet "
				    "acknowledged");
				writer_abandon(w, "interrupted");
				break;
			}
		}
		now = kin_now_mono_us();
		if (r->o->cli.verbose && now - last_prog >= 1000000)
			progress(r, now, &last_prog, &last_acked);
		stats_tick(&r->st, w, 0);
	}
	return status;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct kin_client client;
	struct kin_awserr ae;
	struct run r;
	char err[KIN_ERRLEN];
	int status, files = 0;

	opts_init(&o);
	if ((status = parse_args(&o, argc, argv)) != 0 ||
	    (status = validate(&o)) != 0) {
		opts_release(&o);
		return status;
	}
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.argc = argc;
	r.argv = argv;
	r.agg_pending = -1;
	commit_init(&r.cm, o.checkpoint);
	if (o.cli.no_verify_ssl)
		kin_warn(KW_PROG, "--no-verify-ssl: TLS certificates are NOT "
		    "verified (allowed for a loopback endpoint only)");
	if (kin_client_init(&client, &o.cli, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		opts_release(&o);
		return KIN_EX_CONFIG;
	}
	if (input_init(&r.in, &o.in, argv + optind, argc - optind, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		status = 66;   /* EX_NOINPUT */
		goto out_client;
	}
	files = 1;
	if (dl_open(&r.dl, o.dead_letter, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		status = KIN_EX_CONFIG;
		goto out_input;
	}
	if (writer_init(&r.w, &o.w, &client, o.cli.stream, &r.dl, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		status = KIN_EX_SOFTWARE;
		goto out_dl;
	}
	r.w.on_barrier = on_barrier;
	r.w.barrier_ctx = &r;
	if (stats_init(&r.st, o.metrics, o.metrics_ms, o.cli.stream, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		status = KIN_EX_CONFIG;
		goto out_writer;
	}
	r.w.snd.timeout_ms = (long)o.request_timeout_ms;
	r.w.max_buffered = (size_t)o.max_buffered;
	memset(&ae, 0, sizeof(ae));
	if (writer_load_shards(&r.w, o.rate_pct, &ae, err) < 0) {
		if (ae.kind == KIN_AWS_NOT_FOUND)
			kin_warn(KW_PROG, "stream '%s' not found: %s",
			    o.cli.stream, err);
		else
			kin_warn(KW_PROG, "%s", err);
		status = kin_exit_status(&ae);
		goto out_writer;
	}
	if (o.cli.verbose >= 2)
		kin_warn(KW_PROG, "stream '%s': %zu open shards%s",
		    o.cli.stream, r.w.map.nopen, r.w.map.known ? "" :
		    " (map unknown)");
	if (setup_signals(err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		status = KIN_EX_SOFTWARE;
		goto out_writer;
	}
	status = run_loop(&r);
	if (r.w.fatal) {
		kin_warn(KW_PROG, "%s", r.w.fatal_msg);
		status = r.w.fatal;
	} else if (r.cm.fatal) {
		kin_warn(KW_PROG, "%s", r.cm.why);
		status = r.cm.fatal;
	} else if (r.cm.mode && r.in_eof && !r.cm.ended) {
		/* DESIGN.md 4: upstream died; nothing past its last barrier
		 * is committed, and a restart resumes from there */
		if (!o.cli.quiet && r.cm.last >= 0)
			kin_warn(KW_PROG, "input ended without an 'end' control "
			    "line: upstream stopped early; checkpoint left at "
			    "barrier %lld", (long long)r.cm.last);
		else if (!o.cli.quiet)
			kin_warn(KW_PROG, "input ended without an 'end' control "
			    "line: upstream stopped early; %s", o.checkpoint ?
			    "checkpoint left as it was" :
			    "what was read is sent");
		if (!status)
			status = KIN_EX_TEMPFAIL;
	}
	stats_tick(&r.st, &r.w, 1);
	if (o.cli.verbose)
		kin_warn(KW_PROG, "in %llu, acked %llu, dead-lettered %llu",
		    (unsigned long long)r.w.in, (unsigned long long)r.w.acked,
		    (unsigned long long)r.w.dead);
	if (!status && r.w.dead)
		status = KIN_EX_DEADLETTER;
out_writer:
	stats_release(&r.st);
	writer_release(&r.w);
	commit_release(&r.cm);
out_dl:
	if (dl_close(&r.dl, err) < 0) {
		kin_warn(KW_PROG, "%s", err);
		if (!status || status == KIN_EX_DEADLETTER)
			status = KIN_EX_IOERR;
	}
out_input:
	if (files)
		input_release(&r.in);
out_client:
	kin_client_release(&client);
	opts_release(&o);
	return status;
}
