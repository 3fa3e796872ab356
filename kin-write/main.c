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
#include "deadletter.h"
#include "err.h"
#include "input.h"
#include "kinesis.h"
#include "parse.h"

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
	OPT_IGNORED,
};

struct opts {
	struct kin_cli cli;
	struct input_opts in;
	struct writer_opts w;
	char *key, *key_field, *hash_field, *dead_letter;
	double rate_pct;
	uint64_t max_buffered;
	int64_t request_timeout_ms;
	int keymodes;
};

static const struct option longopts[] = {
	KIN_CLI_LONGOPTS,
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
"                 [--region region] [--endpoint-url url] [--profile name]\n"
"                 [--config file] [file ...]\n"
"       kin-write -h | -V\n");
}

static int set_str(char **dst, const char *arg, char *err)
{
	char *s = strdup(arg);

	if (!s)
		return kin_seterr(err, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
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
		return set_str(&o->key, arg, err);
	case 'K':
		if (!*arg)
			return kin_seterr(err, "the key field is empty");
		o->keymodes |= 2;
		return set_str(&o->key_field, arg, err);
	case OPT_RANDOM_KEY:
		o->keymodes |= 4;
		o->in.random_key = 1;
		return 0;
	case OPT_HASH_FIELD:
		if (!*arg)
			return kin_seterr(err, "the hash key field is empty");
		return set_str(&o->hash_field, arg, err);
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
		return set_str(&o->dead_letter, arg, err);
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
}

static void opts_release(struct opts *o)
{
	kin_cli_release(&o->cli);
	free(o->key);
	free(o->key_field);
	free(o->hash_field);
	free(o->dead_letter);
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
			/* the config table knows the reader's input stream */
			static struct option cfopts[sizeof(longopts) /
			    sizeof(longopts[0]) + 1];
			size_t k = sizeof(longopts) / sizeof(longopts[0]) - 1;
			memcpy(cfopts, longopts, sizeof(longopts));
			cfopts[k].name = "inputStreamName";
			cfopts[k].has_arg = required_argument;
			cfopts[k].flag = NULL;
			cfopts[k].val = OPT_IGNORED;
			memset(&cfopts[k + 1], 0, sizeof(cfopts[k + 1]));
			if (kin_config_load(cf, cfopts, aliases, apply, o,
			    err) < 0) {
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
	return 0;
}

/* ---- signals: a self-pipe, so the event loop sees them ---- */

static int sigpipe_fd[2] = { -1, -1 };
static volatile sig_atomic_t got_stop;

static void on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

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
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

/* ---- the loop ---- */

struct run {
	struct opts *o;
	struct writer w;
	struct input in;
	struct deadletter dl;
	int in_done;
	uint64_t barriers;
};

static void on_barrier(void *ctx, const char *line, size_t len)
{
	struct run *r = ctx;

	r->barriers++;
	/* The pipeline issue commits the barrier's positions here. */
	if (r->o->cli.verbose >= 2)
		kin_warn(KW_PROG, "barrier acknowledged: %.*s",
		    (int)(len > 200 ? 200 : len - 1), line + 1);
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
			writer_add(&r->w, it.u);
			break;
		case IN_BAD: {
			struct dl_rec d;
			const char *src = it.src && strcmp(it.src, "-") ?
			    it.src : "stdin";
			kin_warn(KW_PROG, "dead-lettered line %lld of %s%s%s: "
			    "%s", it.lineno, src == it.src ? "'" : "", src,
			    src == it.src ? "'" : "", it.msg);
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
			if (strcmp(it.ctype, "barrier") == 0)
				writer_barrier(&r->w, it.data, it.len);
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
		if (w->fatal && !r->in_done) {
			r->in_done = 1;
			writer_flush_all(w);
		}
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
	}
	if (o.cli.verbose)
		kin_warn(KW_PROG, "in %llu, acked %llu, dead-lettered %llu",
		    (unsigned long long)r.w.in, (unsigned long long)r.w.acked,
		    (unsigned long long)r.w.dead);
	if (!status && r.w.dead)
		status = KIN_EX_DEADLETTER;
out_writer:
	writer_release(&r.w);
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
