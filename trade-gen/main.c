/* trade-gen — synthetic stock trades on stdout, one JSON object (or CSV
 * row) per line: a drop-in, faster and reproducible replacement for the
 * original Python generator (see trade-gen(1)). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "gen.h"
#include "metrics.h"
#include "out.h"
#include "parse.h"
#include "run.h"
#include "tickers.h"

static const char *prog = "trade-gen";

/* The original: 5 records a second, 100001 rounds. */
#define DEFAULT_RATE 5.0
#define DEFAULT_BATCH 5
#define DEFAULT_COUNT 500005
#define OUT_BUFSIZE (256 * 1024)
#define DURATION_MAX_MS (1000000LL * 86400000)

enum {
	OPT_SEED = KIN_OPT_FIRST_PROG,
	OPT_TICKERS_FILE,
	OPT_KEYS,
	OPT_PRICE_MODEL,
	OPT_FIELDS,
	OPT_UTC,
	OPT_TZ,
	OPT_START,
	OPT_SIMULATED,
	OPT_DISORDER,
	OPT_LATE,
	OPT_LATE_BY,
	OPT_HEADER,
	OPT_METRICS,
	OPT_METRICS_INTERVAL,
};

static const struct option longopts[] = {
	{ "count",        required_argument, NULL, 'n' },
	{ "duration",     required_argument, NULL, 'd' },
	{ "rate",         required_argument, NULL, 'r' },
	{ "batch",        required_argument, NULL, 'b' },
	{ "seed",         required_argument, NULL, OPT_SEED },
	{ "tickers",      required_argument, NULL, 't' },
	{ "tickers-file", required_argument, NULL, OPT_TICKERS_FILE },
	{ "keys",         required_argument, NULL, OPT_KEYS },
	{ "price-model",  required_argument, NULL, OPT_PRICE_MODEL },
	{ "fields",       required_argument, NULL, OPT_FIELDS },
	{ "utc",          no_argument,       NULL, OPT_UTC },
	{ "tz",           required_argument, NULL, OPT_TZ },
	{ "start",        required_argument, NULL, OPT_START },
	{ "simulated",    no_argument,       NULL, OPT_SIMULATED },
	{ "disorder",     required_argument, NULL, OPT_DISORDER },
	{ "late",         required_argument, NULL, OPT_LATE },
	{ "late-by",      required_argument, NULL, OPT_LATE_BY },
	{ "format",       required_argument, NULL, 'f' },
	{ "header",       no_argument,       NULL, OPT_HEADER },
	{ "metrics",      required_argument, NULL, OPT_METRICS },
	{ "metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL },
	{ "config",       required_argument, NULL, KIN_OPT_CONFIG },
	{ "verbose",      no_argument,       NULL, 'v' },
	{ "quiet",        no_argument,       NULL, 'q' },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};
static const char shortopts[] = "n:d:r:b:t:f:vqhV";

/* The original job's runtime properties (DESIGN.md section 3) are for the
 * programs that talk to Kinesis: one properties file serves the whole
 * pipeline, so in trade-gen's config file they are accepted and ignored. */
static const struct kin_alias aliases[] = {
	{ "inputStreamName", NULL, NULL },
	{ "outputStreamName", NULL, NULL },
	{ "aws.region", NULL, NULL },
	{ "AggregationEnabled", NULL, NULL },
	{ "Partition", NULL, NULL },
	{ NULL, NULL, NULL },
};

struct opts {
	struct kin_cli cli;
	long long count;        /* -1: not given */
	int64_t duration_ms;    /* -1: not given */
	double rate;            /* 0: not given */
	long long batch;        /* 0: not given */
	int seed_set;
	unsigned long long seed;
	char *tickers;          /* -t, owned */
	char *tickers_file;     /* owned */
	long long keys;
	enum tg_model model;
	int fields[TG_FIELDS_MAX];
	int nfields;
	int utc;
	char *tz;               /* owned */
	char *start;            /* owned */
	int simulated;
	int64_t disorder_ms;
	double late;
	int64_t late_by_ms;
	enum tg_format format;
	int header;
	char *metrics;          /* owned */
	int64_t metrics_ms;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: trade-gen [-hqVv] [-b n] [-d duration] [-f json | csv] "
	    "[-n count] [-r rate]\n"
	    "                 [-t list] [--config file] [--disorder duration] "
	    "[--fields list]\n"
	    "                 [--header] [--keys k] [--late fraction] "
	    "[--late-by duration]\n"
	    "                 [--metrics file] [--metrics-interval duration]\n"
	    "                 [--price-model uniform | walk] [--seed n] "
	    "[--simulated]\n"
	    "                 [--start time] [--tickers-file file] "
	    "[--tz zone | --utc]\n");
}

static void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof *o);
	kin_cli_init(&o->cli, prog);
	o->count = -1;
	o->duration_ms = -1;
	o->model = TG_UNIFORM;
	o->format = TG_JSON;
	o->late_by_ms = 60000;
	o->metrics_ms = 60000;
}

static void
opts_release(struct opts *o)
{
	kin_cli_release(&o->cli);
	free(o->tickers);
	free(o->tickers_file);
	free(o->tz);
	free(o->start);
	free(o->metrics);
}

static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static int
parse_fields(struct opts *o, const char *arg, char *err)
{
	const char *s = arg;

	o->nfields = 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		int f;

		if (n == 3 && memcmp(s, "QTY", 3) == 0)
			f = TG_FIELD_QTY;
		else if (n == 3 && memcmp(s, "SEQ", 3) == 0)
			f = TG_FIELD_SEQ;
		else
			return kin_seterr(err, "unknown field '%.*s' (QTY, SEQ)",
			    (int)n, s);
		for (int i = 0; i < o->nfields; i++)
			if (o->fields[i] == f)
				return kin_seterr(err, "field '%.*s' given twice",
				    (int)n, s);
		o->fields[o->nfields++] = f;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* A duration from min_ms to a million days (so microsecond arithmetic on
 * event times cannot overflow). */
static int
parse_duration(const char *arg, int64_t min_ms, int64_t *ms, char *err)
{
	if (kin_parse_duration_ms(arg, ms, err) < 0)
		return -1;
	if (*ms < min_ms)
		return kin_seterr(err, "duration must be at least %lldms",
		    (long long)min_ms);
	if (*ms > DURATION_MAX_MS)
		return kin_seterr(err, "duration must be at most 1000000d");
	return 0;
}

/* One option, from the command line or the config file: 0, or -1 with
 * err saying what is wrong with arg. */
static int
apply_opt(struct opts *o, int opt, const char *arg, char *err)
{
	long long v;

	switch (opt) {
	case 'n':
		return kin_parse_int(arg, 0, INT64_MAX, &o->count, err);
	case 'd':
		return parse_duration(arg, 1, &o->duration_ms, err);
	case 'r':
		if (kin_parse_double(arg, &o->rate, err) < 0)
			return -1;
		if (!(o->rate >= 0.001 && o->rate <= 1e9))
			return kin_seterr(err, "rate '%s' is not between 0.001 "
			    "and 1000000000 records/s", arg);
		return 0;
	case 'b':
		return kin_parse_int(arg, 1, 100000000, &o->batch, err);
	case OPT_SEED:
		if (kin_parse_int(arg, 0, INT64_MAX, &v, err) < 0)
			return -1;
		o->seed = (unsigned long long)v;
		o->seed_set = 1;
		return 0;
	case 't':
		return kin_set_str(&o->tickers, arg, err);
	case OPT_TICKERS_FILE:
		return kin_set_str(&o->tickers_file, arg, err);
	case OPT_KEYS:
		return kin_parse_int(arg, 1, TG_TICKERS_MAX, &o->keys, err);
	case OPT_PRICE_MODEL:
		if (strcmp(arg, "uniform") == 0)
			o->model = TG_UNIFORM;
		else if (strcmp(arg, "walk") == 0)
			o->model = TG_WALK;
		else
			return kin_seterr(err, "unknown price model '%s' "
			    "(uniform, walk)", arg);
		return 0;
	case OPT_FIELDS:
		return parse_fields(o, arg, err);
	case OPT_UTC:
		o->utc = 1;
		return 0;
	case OPT_TZ:
		return kin_set_str(&o->tz, arg, err);
	case OPT_START:
		return kin_set_str(&o->start, arg, err);
	case OPT_SIMULATED:
		o->simulated = 1;
		return 0;
	case OPT_DISORDER:
		return parse_duration(arg, 0, &o->disorder_ms, err);
	case OPT_LATE:
		if (kin_parse_double(arg, &o->late, err) < 0)
			return -1;
		if (!(o->late >= 0 && o->late <= 1))
			return kin_seterr(err, "fraction '%s' is not between 0 "
			    "and 1", arg);
		return 0;
	case OPT_LATE_BY:
		return parse_duration(arg, 1, &o->late_by_ms, err);
	case 'f':
		if (strcmp(arg, "json") == 0)
			o->format = TG_JSON;
		else if (strcmp(arg, "csv") == 0)
			o->format = TG_CSV;
		else
			return kin_seterr(err, "unknown format '%s' (json, csv)",
			    arg);
		return 0;
	case OPT_HEADER:
		o->header = 1;
		return 0;
	case OPT_METRICS:
		return kin_set_str(&o->metrics, arg, err);
	case OPT_METRICS_INTERVAL:
		if (kin_parse_duration_ms(arg, &o->metrics_ms, err) < 0)
			return -1;
		if (o->metrics_ms < 1)
			return kin_seterr(err, "metrics interval %s is under "
			    "1ms", arg);
		return 0;
	default:
		if (kin_cli_apply(&o->cli, opt, arg) < 0)
			return kin_seterr(err, "out of memory");
		return 0;
	}
}

static int
config_apply(void *ctx, int val, const char *arg, char *err)
{
	return apply_opt(ctx, val, arg, err);
}

static const char *
opt_name(int opt)
{
	for (const struct option *l = longopts; l->name != NULL; l++)
		if (l->val == opt)
			return l->name;
	return "?";
}

/* Returns -1 to go on, else the exit status. */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	char err[KIN_ERRLEN];
	const char *config = NULL;
	int c;

	/* The config file first, so the command line overrides it. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG)
			config = optarg;
	if (config != NULL && kin_config_load(config, longopts, aliases,
	    config_apply, o, err) < 0) {
		kin_warn(prog, "%s", err);
		return KIN_EX_CONFIG;
	}
	optind = 0;
	opterr = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return KIN_EX_OK;
		case 'V':
			kin_cli_version(&o->cli);
			return KIN_EX_OK;
		case '?':
			usage(stderr);
			return KIN_EX_USAGE;
		default:
			if (apply_opt(o, c, optarg, err) < 0) {
				kin_warn(prog, "invalid --%s '%s': %s",
				    opt_name(c), optarg ? optarg : "", err);
				return KIN_EX_USAGE;
			}
		}
	}
	if (optind < argc) {
		kin_warn(prog, "unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return KIN_EX_USAGE;
	}
	return -1;
}

static int
validate(const struct opts *o)
{
	const char *why = NULL;

	if (o->utc && o->tz != NULL)
		why = "--utc and --tz exclude each other";
	else if (o->tickers != NULL && o->tickers_file != NULL)
		why = "--tickers and --tickers-file exclude each other";
	else if (o->keys > 0 && (o->tickers != NULL || o->tickers_file != NULL))
		why = "--keys excludes --tickers and --tickers-file";
	else if (o->header && o->format != TG_CSV)
		why = "--header needs --format csv";
	if (why != NULL) {
		kin_warn(prog, "%s", why);
		return KIN_EX_USAGE;
	}
	return -1;
}

/* Event times begin here: --start (a zone-less time is in the output
 * zone), else now. */
static int
start_time(const struct opts *o, struct tg_evtime *et, int64_t *us)
{
	char err[KIN_ERRLEN];
	size_t len;

	if (o->start == NULL) {
		*us = kin_now_wall_us();
		return 0;
	}
	len = strlen(o->start);
	if (kin_parse_time_us(o->start, len, 0, 0, us, err) == 0)
		return 0;
	if (kin_parse_time_us(o->start, len, 1, 0, us, err) < 0) {
		kin_warn(prog, "invalid --start '%s': %s", o->start, err);
		return -1;
	}
	*us = tg_evtime_local_to_utc(et, *us);
	return 0;
}

static uint64_t
random_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
		s = (uint64_t)kin_now_wall_us() ^ ((uint64_t)getpid() << 32);
	return s & INT64_MAX;   /* so that --seed can repeat it */
}

static volatile sig_atomic_t stop, hup;
static int g_argc;
static char **g_argv;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;        /* no SA_RESTART: wake sleep, write */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	/* A closed pipe shows as EPIPE from write(2): a quiet end. */
	signal(SIGPIPE, SIG_IGN);
}

/* A bigger pipe means fewer wake-ups of both ends; refusal is harmless. */
static void
grow_pipe(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
}

/* SIGHUP: the config file again, the command line over it.  What can
 * change while generating: the log level (-v, -q) and, on the wall clock,
 * --rate (the schedule goes on from the record due now).  Everything else
 * shapes the records and needs a restart. */
struct reload_ctx {
	struct opts *o;
	struct tg_plan *plan;
};

static void
reload(void *ctx)
{
	struct reload_ctx *rc = ctx;
	struct opts *o = rc->o, n;
	char err[KIN_ERRLEN];
	const char *config = NULL;
	int c, changed = 0, bad = 0;

	hup = 0;
	opts_init(&n);
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(g_argc, g_argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG)
			config = optarg;
	if (config == NULL) {
		kin_warn(prog, "SIGHUP: no --config file to read again");
		goto out;
	}
	if (kin_config_load(config, longopts, aliases, config_apply, &n,
	    err) < 0) {
		kin_warn(prog, "SIGHUP: config not reloaded: %s", err);
		goto out;
	}
	optind = 0;
	while ((c = getopt_long(g_argc, g_argv, shortopts, longopts, NULL)) != -1)
		if (c != KIN_OPT_CONFIG && c != '?' && c != 'h' && c != 'V' &&
		    apply_opt(&n, c, optarg, err) < 0)
			bad = 1;
	if (bad)
		goto out;
	if (n.cli.verbose != o->cli.verbose || n.cli.quiet != o->cli.quiet) {
		kin_warn(prog, "config reloaded: log level %sverbose %d -> "
		    "%sverbose %d", o->cli.quiet ? "quiet, " : "",
		    o->cli.verbose, n.cli.quiet ? "quiet, " : "", n.cli.verbose);
		o->cli.verbose = n.cli.verbose;
		o->cli.quiet = n.cli.quiet;
		rc->plan->verbose = n.cli.verbose;
		changed = 1;
	}
	if (n.rate != o->rate) {
		double to = n.rate > 0 ? n.rate : DEFAULT_RATE;

		if (rc->plan->simulated) {
			kin_warn(prog, "config reloaded: --rate cannot change "
			    "with --simulated (event times follow it): restart "
			    "to apply it");
		} else {
			kin_warn(prog, "config reloaded: --rate %g -> %g",
			    rc->plan->rate, to);
			o->rate = n.rate;
			rc->plan->rate = to;
		}
		changed = 1;
	}
	n.cli.verbose = o->cli.verbose;
	n.cli.quiet = o->cli.quiet;
	n.rate = o->rate;
	if (n.count != o->count || n.duration_ms != o->duration_ms ||
	    n.batch != o->batch || n.seed_set != o->seed_set ||
	    n.seed != o->seed || n.keys != o->keys || n.model != o->model ||
	    n.nfields != o->nfields || memcmp(n.fields, o->fields,
	    sizeof n.fields) != 0 || n.utc != o->utc ||
	    n.simulated != o->simulated || n.disorder_ms != o->disorder_ms ||
	    n.late != o->late || n.late_by_ms != o->late_by_ms ||
	    n.format != o->format || n.header != o->header ||
	    !same(n.tickers, o->tickers) ||
	    !same(n.tickers_file, o->tickers_file) || !same(n.tz, o->tz) ||
	    !same(n.start, o->start) || !same(n.metrics, o->metrics) ||
	    n.metrics_ms != o->metrics_ms) {
		kin_warn(prog, "config reloaded: options that shape the records "
		    "changed; they apply at the next start");
		changed = 1;
	}
	if (!changed && o->cli.verbose)
		kin_warn(prog, "config reloaded: nothing changed");
out:
	opterr = 1;
	opts_release(&n);
}

static int
run(struct opts *o)
{
	char err[KIN_ERRLEN];
	struct tg_evtime et;
	struct tg_ticker *tk = NULL;
	uint64_t ntk = 0;
	struct tg_gen g;
	struct tg_out out;
	struct tg_plan plan;
	struct kin_metrics met;
	enum tg_zone zone;
	uint64_t seed;
	int st;

	zone = o->utc ? TG_ZONE_UTC : o->tz ? TG_ZONE_NAMED : TG_ZONE_LOCAL;
	if (tg_evtime_init(&et, zone, o->tz, err) < 0) {
		kin_warn(prog, "invalid --tz '%s': %s", o->tz, err);
		return KIN_EX_USAGE;
	}
	memset(&plan, 0, sizeof plan);
	plan.rate = o->rate > 0 ? o->rate : DEFAULT_RATE;
	plan.batch = o->batch > 0 ? (uint64_t)o->batch :
	    o->rate > 0 ? 1 : DEFAULT_BATCH;
	plan.simulated = o->simulated;
	plan.has_start = o->start != NULL;
	plan.header = o->header;
	plan.verbose = o->cli.verbose;
	if (start_time(o, &et, &plan.start_us) < 0) {
		tg_evtime_release(&et);
		return KIN_EX_USAGE;
	}
	if (o->count < 0 && o->duration_ms < 0)
		plan.limit = DEFAULT_COUNT;
	else if (o->count > 0)
		plan.limit = (uint64_t)o->count;
	if (o->duration_ms > 0) {
		uint64_t d = tg_plan_records_within(&plan,
		    o->duration_ms * 1000);
		if (plan.limit == 0 || d < plan.limit)
			plan.limit = d;
	}

	if (o->keys == 0) {
		st = o->tickers_file != NULL ?
		    tg_tickers_file(o->tickers_file, &tk, &ntk, err) :
		    tg_tickers_list(o->tickers != NULL ? o->tickers :
		    "AMZN,GOOG,AZRE,ORCL,BABA", &tk, &ntk, err);
		if (st < 0) {
			kin_warn(prog, "%s", err);
			tg_evtime_release(&et);
			return o->tickers_file != NULL ? KIN_EX_CONFIG :
			    KIN_EX_USAGE;
		}
	}
	seed = o->seed_set ? o->seed : random_seed();
	if (o->cli.verbose && !o->seed_set)
		kin_warn(prog, "seed %llu", (unsigned long long)seed);
	if (tg_gen_init(&g, seed, tk, ntk, (uint64_t)o->keys, o->model,
	    o->format, o->fields, o->nfields, &et, err) < 0) {
		kin_warn(prog, "%s", err);
		tg_evtime_release(&et);
		return KIN_EX_SOFTWARE;
	}
	g.disorder_us = o->disorder_ms * 1000;
	g.late_p = o->late;
	g.late_by_us = o->late_by_ms * 1000;
	if (tg_out_init(&out, STDOUT_FILENO, OUT_BUFSIZE, TG_LINE_MAX,
	    err) < 0) {
		kin_warn(prog, "%s", err);
		tg_gen_release(&g);
		tg_evtime_release(&et);
		return KIN_EX_SOFTWARE;
	}
	if (o->metrics != NULL) {
		if (kin_metrics_init(&met, o->metrics, prog, o->metrics_ms,
		    err) < 0 ||
		    (plan.mi_records = kin_metrics_counter(&met, "records_out",
		    KIN_UNIT_COUNT, err)) < 0 ||
		    (plan.mi_bytes = kin_metrics_counter(&met, "bytes_out",
		    KIN_UNIT_BYTES, err)) < 0) {
			kin_warn(prog, "--metrics: %s", err);
			kin_metrics_release(&met);
			tg_out_release(&out);
			tg_gen_release(&g);
			tg_evtime_release(&et);
			return KIN_EX_CONFIG;
		}
		plan.met = &met;
	}
	struct reload_ctx rctx = { o, &plan };

	plan.hup = &hup;
	plan.reload = reload;
	plan.reload_ctx = &rctx;
	signals();
	if (plan.simulated)
		grow_pipe(STDOUT_FILENO);
	st = tg_run(&g, &out, &plan, &stop, err);
	if (st != KIN_EX_OK)
		kin_warn(prog, "%s", err);
	/* Output integrity: a failure only close(2) reports is a failure. */
	if (close(STDOUT_FILENO) < 0 && errno != EINTR && st == KIN_EX_OK &&
	    errno != EBADF) {
		kin_warn(prog, "cannot write to stdout: %s", strerror(errno));
		st = KIN_EX_IOERR;
	}
	if (plan.met != NULL)
		kin_metrics_release(&met);
	tg_out_release(&out);
	tg_gen_release(&g);
	tg_evtime_release(&et);
	return st;
}

int
main(int argc, char **argv)
{
	struct opts o;
	int st;

	opts_init(&o);
	g_argc = argc;
	g_argv = argv;
	if ((st = parse_args(&o, argc, argv)) < 0 && (st = validate(&o)) < 0)
		st = run(&o);
	opts_release(&o);
	/* --help and --version wrote through stdio: check that it got out. */
	if ((fflush(stdout) == EOF || ferror(stdout)) && errno != EPIPE) {
		kin_warn(prog, "cannot write to stdout: %s", strerror(errno));
		if (st == KIN_EX_OK)
			st = KIN_EX_IOERR;
	}
	return st;
}
