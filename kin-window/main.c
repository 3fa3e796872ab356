/* kin-window — per-key windowed aggregation of NDJSON records with Flink's
 * window semantics.  main.c: options, the input loop, bad-input
 * accounting, control lines and signals; the rest lives in scan.c
 * (fields), agg.c/sketch.c (aggregates), keymap.c, window.c, out.c and
 * state.c. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG KW_PROG

enum {
	OPT_SIZE = KIN_OPT_FIRST_PROG, OPT_SLIDE, OPT_GAP, OPT_TZ,
	OPT_TIMEFMT, OPT_DELAY, OPT_LATENESS, OPT_LATE, OPT_IDLE, OPT_ERRORS,
	OPT_STATE, OPT_OHLC, OPT_RENAME, OPT_METRICS, OPT_METRICS_INTERVAL,
	OPT_MAX_KEYS,
};

static const struct option longopts[] = {
	KIN_CLI_LONGOPTS,
	{ "key",              required_argument, NULL, 'k' },
	{ "agg",              required_argument, NULL, 'a' },
	{ "ohlc",             required_argument, NULL, OPT_OHLC },
	{ "size",             required_argument, NULL, OPT_SIZE },
	{ "slide",            required_argument, NULL, OPT_SLIDE },
	{ "gap",              required_argument, NULL, OPT_GAP },
	{ "time-field",       required_argument, NULL, 't' },
	{ "time-format",      required_argument, NULL, OPT_TIMEFMT },
	{ "tz",               required_argument, NULL, OPT_TZ },
	{ "max-delay",        required_argument, NULL, OPT_DELAY },
	{ "allowed-lateness", required_argument, NULL, OPT_LATENESS },
	{ "late",             required_argument, NULL, OPT_LATE },
	{ "idle-timeout",     required_argument, NULL, OPT_IDLE },
	{ "errors",           required_argument, NULL, OPT_ERRORS },
	{ "max-keys",         required_argument, NULL, OPT_MAX_KEYS },
	{ "state",            required_argument, NULL, OPT_STATE },
	{ "format",           required_argument, NULL, 'f' },
	{ "envelope",         no_argument,       NULL, 'J' },
	{ "rename",           required_argument, NULL, OPT_RENAME },
	{ "metrics",          required_argument, NULL, OPT_METRICS },
	{ "metrics-interval", required_argument, NULL, OPT_METRICS_INTERVAL },
	{ NULL, 0, NULL, 0 },
};
static const char shortopts[] = KIN_CLI_SHORTOPTS "k:a:t:f:J";

/* The original job's runtime properties: one file can serve the whole
 * pipeline; kin-window takes them and has no use for them. */
static const struct kin_alias aliases[] = {
	{ "inputStreamName", NULL, NULL },
	{ "outputStreamName", NULL, NULL },
	{ "aws.region", "region", NULL },
	{ "AggregationEnabled", NULL, NULL },
	{ "Partition", NULL, NULL },
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	fputs("usage: kin-window [-Jqv] [-k field[,field ...] | none] "
	    "[-a func[:field][=name]]\n"
	    "                  [--ohlc field] --size duration "
	    "[--slide duration] | --gap duration\n"
	    "                  [-t field] [--time-format auto | iso | epoch | "
	    "epoch_ms] [--tz zone]\n"
	    "                  [--max-delay duration] [--allowed-lateness "
	    "duration] [--late file]\n"
	    "                  [--idle-timeout duration] [--errors file] "
	    "[--max-keys n]\n"
	    "                  [--state file] [-f template] [--rename "
	    "name=new]\n"
	    "                  [--metrics file] [--metrics-interval duration] "
	    "[--config file]\n"
	    "                  [file ...]\n"
	    "       kin-window -h | -V\n", f);
}

static int
apply(void *ctx, int c, const char *arg, char *err)
{
	struct opts *o = ctx;
	int64_t *dur = NULL;
	int r = kin_cli_apply(&o->cli, c, arg);

	if (r < 0)
		return kin_seterr(err, "out of memory");
	if (r == 1)
		return 0;
	switch (c) {
	case 'k':
		return kin_set_str(&o->key, arg, err);
	case 'a': {
		char **n = realloc(o->agg, (size_t)(o->nagg + 1) * sizeof *n);

		if (n == NULL)
			return kin_seterr(err, "out of memory");
		o->agg = n;
		o->agg[o->nagg] = NULL;
		if (kin_set_str(&o->agg[o->nagg], arg, err) < 0)
			return -1;
		o->nagg++;
		return 0;
	}
	case OPT_OHLC:
		return kin_set_str(&o->ohlc, arg, err);
	case 't':
		return kin_set_str(&o->time_field, arg, err);
	case OPT_TZ:
		return kin_set_str(&o->tz, arg, err);
	case OPT_LATE:
		return kin_set_str(&o->late, arg, err);
	case OPT_ERRORS:
		return kin_set_str(&o->errors, arg, err);
	case OPT_STATE:
		return kin_set_str(&o->state, arg, err);
	case OPT_METRICS:
		return kin_set_str(&o->metrics, arg, err);
	case OPT_METRICS_INTERVAL:
		dur = &o->metrics_interval;
		break;
	case OPT_MAX_KEYS: {
		long long n;
		char e2[KIN_ERRLEN];

		/* key ids are 32-bit */
		if (kin_parse_int(arg, 1, 1000000000, &n, e2) < 0)
			return kin_seterr(err, "bad --max-keys '%s': %s", arg, e2);
		o->max_keys = (unsigned long long)n;
		return 0;
	}
	case 'f':
		return kin_set_str(&o->format, arg, err);
	case 'J':
		o->envelope = 1;
		return 0;
	case OPT_TIMEFMT:
		if (strcmp(arg, "auto") == 0)
			o->tfmt = TF_AUTO;
		else if (strcmp(arg, "iso") == 0)
			o->tfmt = TF_ISO;
		else if (strcmp(arg, "epoch") == 0)
			o->tfmt = TF_EPOCH_S;
		else if (strcmp(arg, "epoch_ms") == 0)
			o->tfmt = TF_EPOCH_MS;
		else
			return kin_seterr(err, "bad --time-format '%s': expected "
			    "auto, iso, epoch or epoch_ms", arg);
		return 0;
	case OPT_RENAME: {
		static const char *what[] = { "key", "start", "end", "count" };
		const char *eq = strchr(arg, '=');

		for (int i = 0; eq && eq[1] && i < 4; i++)
			if (strlen(what[i]) == (size_t)(eq - arg) &&
			    memcmp(what[i], arg, (size_t)(eq - arg)) == 0)
				return kin_set_str(&o->rename[i], eq + 1, err);
		return kin_seterr(err, "bad --rename '%s': expected key=NAME, "
		    "start=NAME, end=NAME or count=NAME", arg);
	}
	case OPT_SIZE:
		dur = &o->size, o->has_size = 1;
		break;
	case OPT_SLIDE:
		dur = &o->slide, o->has_slide = 1;
		break;
	case OPT_GAP:
		dur = &o->gap, o->has_gap = 1;
		break;
	case OPT_DELAY:
		dur = &o->delay;
		break;
	case OPT_LATENESS:
		dur = &o->lateness;
		break;
	case OPT_IDLE:
		dur = &o->idle, o->has_idle = 1;
		break;
	default:
		return kin_seterr(err, "unknown option");
	}
	char e2[KIN_ERRLEN];

	if (kin_parse_duration_ms(arg, dur, e2) < 0)
		return kin_seterr(err, "%s", e2);
	/* Bounded so window arithmetic on times near year 9999 never
	 * overflows. */
	if (*dur > (int64_t)3650 * 86400000)
		return kin_seterr(err, "duration '%s' is longer than 10 years",
		    arg);
	return 0;
}

volatile sig_atomic_t got_term;

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static void
fingerprint(struct run *r)
{
	size_t o = 0, cap = sizeof r->fingerprint;

	o += (size_t)snprintf(r->fingerprint + o, cap - o,
	    "size=%lld,slide=%lld,gap=%lld,lateness=%lld,time=%s,key=%s,aggs=",
	    (long long)r->w.size, (long long)r->w.slide, (long long)r->w.gap,
	    (long long)r->w.lateness, r->o->time_field ? r->o->time_field :
	    "(processing)", r->o->key ? r->o->key : "TICKER");
	for (int i = 0; i < r->g.n && o < cap; i++)
		o += (size_t)snprintf(r->fingerprint + o, cap - o, "%s%d:%s",
		    i ? ";" : "", (int)r->g.a[i].fn, r->g.a[i].fieldname ?
		    r->g.a[i].fieldname : "");
}

static int
setup(struct run *r, struct opts *o, char *err)
{
	const char *keyspec = o->key ? o->key : "TICKER";

	memset(r, 0, sizeof *r);
	r->o = o;
	r->latef.fd = r->errf.fd = r->met.fd = -1;
	r->timeslot = -1;
	scan_init(&r->sc);
	for (int i = 0; i < KW_QUEUE; i++)
		kin_buf_init(&r->q[i].key, KW_LINE_MAX);
	/* key fields */
	if (strcmp(keyspec, "none") != 0) {
		char *ks = strdup(keyspec), *save = NULL, *f;

		if (ks == NULL)
			return kin_seterr(err, "out of memory");
		r->keynames = ks;
		/* The scanner keeps pointers to the names: ks lives on. */
		for (f = strtok_r(ks, ",", &save); f;
		    f = strtok_r(NULL, ",", &save)) {
			int s = scan_field(&r->sc, f);

			if (s < 0 || r->nkey == KW_MAXFIELDS)
				return kin_seterr(err, "too many key fields");
			r->em.keyname[r->nkey] = f;
			r->keyslot[r->nkey++] = s;
		}
		if (r->nkey == 0)
			return kin_seterr(err, "bad --key '%s'", keyspec);
	}
	if (o->time_field) {
		r->timeslot = scan_field(&r->sc, o->time_field);
		if (r->timeslot < 0)
			return kin_seterr(err, "too many fields");
	}
	for (int i = 0; i < o->nagg; i++)
		if (aggs_add(&r->g, &r->sc, o->agg[i], err) < 0)
			return -1;
	if (o->ohlc) {
		static const char *f[] = { "open", "high", "low", "close" };
		char spec[512];

		for (int i = 0; i < 4; i++) {
			snprintf(spec, sizeof spec, "%s:%s=%s", f[i], o->ohlc,
			    f[i]);
			if (aggs_add(&r->g, &r->sc, spec, err) < 0)
				return -1;
		}
	}
	if (aggs_finish(&r->g, err) < 0)
		return -1;
	/* required fields: keys, time, every aggregate input */
	for (int s = 0; s < r->sc.nf; s++)
		r->req[r->nreq++] = s;
	for (int i = 0; i < KW_QUEUE; i++) {
		r->q[i].v = calloc((size_t)r->sc.nf + 1, sizeof *r->q[i].v);
		if (r->q[i].v == NULL)
			return kin_seterr(err, "out of memory");
	}
	if (o->tz) {
		if (kin_tz_load(&r->tz, o->tz, err) < 0)
			return -1;
		r->has_tz = 1;
	}
	time_init(&r->tp, o->tfmt, r->has_tz ? &r->tz : NULL);
	/* output */
	int nkeyf = r->nkey;
	char *kn[KW_MAXFIELDS];

	memcpy(kn, r->em.keyname, sizeof kn);
	if (emit_init(&r->em, &r->g, STDOUT_FILENO, err) < 0)
		return -1;
	r->em.nkeyf = nkeyf;
	memcpy(r->em.keyname, kn, sizeof kn);
	r->em.envelope = o->envelope;
	r->em.tz = r->has_tz ? &r->tz : NULL;
	if (o->rename[0])
		r->em.name_key = o->rename[0];
	if (o->rename[1])
		r->em.name_start = o->rename[1];
	if (o->rename[2])
		r->em.name_end = o->rename[2];
	if (o->rename[3])
		r->em.name_count = o->rename[3];
	if (o->format && tpl_compile(&r->em, o->format, err) < 0)
		return -1;
	/* windows */
	r->w.proctime = o->time_field == NULL;
	r->w.max_keys = o->max_keys;
	r->w.delay = o->delay;
	r->w.lateness = o->lateness;
	if (o->has_gap) {
		r->w.gap = o->gap;
		r->w.size = r->w.slide = r->w.gran = 1;
	} else {
		int64_t a = o->size, b = o->has_slide ? o->slide : o->size;

		r->w.size = o->size;
		r->w.slide = b;
		while (b) {
			int64_t t = a % b;

			a = b;
			b = t;
		}
		r->w.gran = a;
	}
	if (win_init(&r->w, &r->g, &r->em, err) < 0)
		return -1;
	fingerprint(r);
	if (side_open(&r->latef, o->late, err) < 0 ||
	    side_open(&r->errf, o->errors, err) < 0)
		return -1;
	return 0;
}

static uint64_t
bad_total(const struct run *r)
{
	uint64_t n = 0;

	for (int k = 0; k < BAD_N; k++)
		n += r->bad[k];
	return n;
}

static void
summary(struct run *r)
{
	uint64_t nbad = bad_total(r);
	char msg[1024];
	size_t m = 0;
	if (r->o->cli.verbose)
		kin_warn(PROG, "%llu records in, %llu windows out, %llu late, "
		    "%llu skipped, %llu control lines, peak %llu panes",
		    (unsigned long long)r->records,
		    (unsigned long long)r->em.emitted,
		    (unsigned long long)r->late, (unsigned long long)nbad,
		    (unsigned long long)r->controls,
		    (unsigned long long)r->w.peak_panes);
	if (r->o->cli.quiet || (nbad == 0 && r->late == 0 &&
	    r->w.partly_late == 0))
		return;
	for (int k = 0; k < BAD_N; k++)
		if (r->bad[k])
			m += (size_t)snprintf(msg + m, sizeof msg - m,
			    "%s%llu %s (first at %s:%lld)", m ? ", " : "",
			    (unsigned long long)r->bad[k], bad_what[k],
			    r->bad_src[k], r->bad_first[k]);
	if (nbad)
		kin_warn(PROG, "%llu records skipped: %s%s%s",
		    (unsigned long long)nbad, msg, r->o->errors ?
		    "; written to " : "", r->o->errors ? r->o->errors : "");
	if (r->late)
		kin_warn(PROG, "%llu late records%s%s",
		    (unsigned long long)r->late, r->o->late ?
		    " written to " : " dropped (use --late FILE to keep them)",
		    r->o->late ? r->o->late : "");
	if (r->w.partly_late)
		kin_warn(PROG, "%llu records came after some of their windows "
		    "had fired and are not in those (a longer --max-delay "
		    "waits for them, --allowed-lateness adds them)",
		    (unsigned long long)r->w.partly_late);
}

static void
opts_release(struct opts *o)
{
	kin_cli_release(&o->cli);
	free(o->key);
	for (int i = 0; i < o->nagg; i++)
		free(o->agg[i]);
	free(o->agg);
	free(o->ohlc);
	free(o->time_field);
	free(o->tz);
	free(o->late);
	free(o->errors);
	free(o->state);
	free(o->format);
	for (int i = 0; i < 4; i++)
		free(o->rename[i]);
	free(o->metrics);
	}

static void
run_release(struct run *r)
{
	kin_metrics_release(&r->met);
	win_release(&r->w);
	emit_release(&r->em);
	scan_release(&r->sc);
	aggs_release(&r->g);
	for (int i = 0; i < KW_QUEUE; i++) {
		kin_buf_release(&r->q[i].key);
		free(r->q[i].v);
	}
	free(r->last_barrier);
	free(r->keynames);
	if (r->has_tz)
		kin_tz_release(&r->tz);
}

/* Validate the options, set up, read everything, finish.  Returns the
 * exit status; frees what it set up. */
static int
run_main(struct opts *o, int argc, char **argv)
{
	struct run r;
	char err[KIN_ERRLEN];
	int status = KIN_EX_OK;

	if (o->has_gap == (o->has_size || o->has_slide)) {
		kin_warn(PROG, "give either --size (and --slide) or --gap");
		usage(stderr);
		return KIN_EX_USAGE;
	}
	if (o->has_slide && !o->has_size) {
		kin_warn(PROG, "--slide needs --size");
		return KIN_EX_USAGE;
	}
	if (o->delay && o->time_field == NULL) {
		kin_warn(PROG, "--max-delay needs event time (--time-field)");
		return KIN_EX_USAGE;
	}
	if (o->has_size && o->size <= 0) {
		kin_warn(PROG, "--size must be more than 0");
		return KIN_EX_USAGE;
	}
	if (o->has_slide && (o->slide <= 0 || o->slide > o->size)) {
		kin_warn(PROG, "--slide must be more than 0 and at most --size "
		    "(a slide past the size would drop the records between "
		    "windows)");
		return KIN_EX_USAGE;
	}
	if (o->has_gap && o->gap <= 0) {
		kin_warn(PROG, "--gap must be more than 0");
		return KIN_EX_USAGE;
	}
	if (o->has_slide && o->size % o->slide != 0) {
		int64_t a = o->size, b = o->slide;

		while (b) {
			int64_t t = a % b;

			a = b;
			b = t;
		}
		if (o->size / a > 100000) {
			kin_warn(PROG, "--size %lldms is not a multiple of "
			    "--slide %lldms, and their greatest common divisor "
			    "(%lldms) would make %lld panes per window",
			    (long long)o->size, (long long)o->slide, (long long)a,
			    (long long)(o->size / a));
			return KIN_EX_USAGE;
		}
	}
	if (o->has_idle && o->time_field == NULL) {
		kin_warn(PROG, "--idle-timeout needs event time (--time-field)");
		return KIN_EX_USAGE;
	}
	if (o->lateness && o->time_field == NULL) {
		kin_warn(PROG, "--allowed-lateness needs event time "
		    "(--time-field)");
		return KIN_EX_USAGE;
	}
	if (setup(&r, o, err) < 0) {
		kin_warn(PROG, "%s", err);
		run_release(&r);
		return KIN_EX_USAGE;
	}
	if (metrics_setup(&r, err) < 0) {
		kin_warn(PROG, "%s", err);
		run_release(&r);
		return KIN_EX_CONFIG;
	}
	if (o->state) {
		int lr = state_load(o->state, &r.w, r.fingerprint, NULL, 0, err);

		if (lr < 0) {
			kin_warn(PROG, "%s", err);
			run_release(&r);
			return KIN_EX_CONFIG;
		}
		if (lr == 1 && o->cli.verbose)
			kin_warn(PROG, "state loaded from '%s': %llu panes",
			    o->state, (unsigned long long)r.w.live_panes);
	}

	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);   /* nothing to reload: options are fixed */

	int rc = IN_EOF;

	r.now_ms = proc_ms();
	r.last_input_wall = r.now_ms;
	if (optind == argc) {
		r.src = "stdin";
		rc = run_fd(&r, STDIN_FILENO, err);
	}
	for (int i = optind; i < argc && rc == IN_EOF; i++) {
		int fd = strcmp(argv[i], "-") == 0 ? STDIN_FILENO :
		    open(argv[i], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			kin_warn(PROG, "cannot open '%s': %s", argv[i],
			    strerror(errno));
			status = 66;   /* EX_NOINPUT */
			continue;
		}
		r.src = fd == STDIN_FILENO ? "stdin" : argv[i];
		r.lineno = 0;
		rc = run_fd(&r, fd, err);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	if (rc == IN_ERR) {
		/* A reader that went away (EPIPE) is not worth a word. */
		if (!r.em.epipe)
			kin_warn(PROG, "%s", err);
		if (!r.em.epipe && o->state && !r.seen_barrier &&
		    save_state(&r, NULL, 0, err) < 0)
			kin_warn(PROG, "%s", err);
		status = r.fail_status ? r.fail_status : KIN_EX_IOERR;
	} else if (rc == IN_TERM && o->state) {
		/* Stopped: keep the open windows for the next start.  With
		 * barriers the snapshot of the last one stays: upstream
		 * replays from it, and a snapshot of later records would
		 * count them twice. */
		if (r.seen_barrier) {
			if (o->cli.verbose)
				kin_warn(PROG, "stopped; the state of barrier "
				    "%.*s stays in '%s'",
				    (int)r.last_barrier_len, r.last_barrier ?
				    r.last_barrier : "", o->state);
		} else if (save_state(&r, NULL, 0, err) < 0) {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_IOERR;
		}
	} else if (rc == IN_EOF && r.seen_barrier && !r.seen_end) {
		/* DESIGN.md 4: upstream died; its windows would be wrong. */
		kin_warn(PROG, "input ended after a barrier without an 'end' "
		    "control line: upstream stopped early; open windows not "
		    "fired%s%s", o->state ? ", state kept in " : "",
		    o->state ? o->state : "");
		status = KIN_EX_TEMPFAIL;
	} else {
		/* End of input (or a stop without --state): every open window
		 * fires, so replaying a file gives every window. */
		if (win_flush(&r.w, err) < 0) {
			kin_warn(PROG, "%s", err);
			status = KIN_EX_IOERR;
		}
	}
	if (emit_flush(&r.em, err) < 0 && !r.em.epipe) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_IOERR;
	}
	/* Records were rejected, not merely bad: the results miss keys. */
	if (r.bad[BAD_MAXKEYS] && status == KIN_EX_OK)
		status = KIN_EX_DATAERR;
	/* Bad records are in no result (DESIGN.md 2: 1 for records set
	 * aside); a stop by signal keeps 0, late records are the windows'
	 * rule, not a fault. */
	if (status == KIN_EX_OK && rc != IN_TERM && bad_total(&r) > 0)
		status = 1;
	summary(&r);
	metrics_tick(&r, 1);
	if (side_close(&r.latef) < 0)
		status = KIN_EX_IOERR;
	if (side_close(&r.errf) < 0)
		status = KIN_EX_IOERR;
	run_release(&r);
	return status;
}

int
main(int argc, char **argv)
{
	struct opts o;
	char err[KIN_ERRLEN];
	int c, status;

	memset(&o, 0, sizeof o);
	kin_cli_init(&o.cli, PROG);
	/* --config first, so the command line can override the file. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
		if (c == KIN_OPT_CONFIG && kin_cli_apply(&o.cli, c, optarg) < 0)
			kin_die(PROG, KIN_EX_SOFTWARE, "out of memory");
	if (o.cli.config != NULL &&
	    kin_config_load(o.cli.config, longopts, aliases, apply, &o,
	    err) < 0) {
		kin_warn(PROG, "%s", err);
		status = KIN_EX_CONFIG;
		goto done;
	}
	opterr = 1;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			status = KIN_EX_OK;
			goto done;
		case 'V':
			kin_cli_version(&o.cli);
			status = KIN_EX_OK;
			goto done;
		case '?':
			usage(stderr);
			status = KIN_EX_USAGE;
			goto done;
		case KIN_OPT_CONFIG:
			break;
		default:
			if (apply(&o, c, optarg, err) < 0) {
				kin_warn(PROG, "%s", err);
				status = KIN_EX_USAGE;
				goto done;
			}
		}
	}
	status = run_main(&o, argc, argv);
done:
	opts_release(&o);
	return status;
}
