/* efoctl — reads a stream through enhanced fan-out (common/efo.h), for the
 * tests: registers the consumer if needed, subscribes to every shard,
 * follows reshards parent before child, and prints each record's data as
 * a line.  It is the proof of the library before kin-read --efo uses it. */
#include "cli.h"
#include "efo.h"
#include "err.h"
#include "kinesis.h"
#include "parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG "efoctl"

struct opts {
	struct kin_cli cli;
	long long count;          /* -n: stop after this many records */
	int64_t timeout_ms;       /* -t: give up after this long */
	int64_t discovery_ms;     /* --discovery */
	int64_t slow_ms;          /* --slow: sleep after each event */
	int64_t life_ms;          /* --life: resubscribe this often */
	long long buffer;         /* --buffer: per-shard bytes before pause */
	const char *from;         /* --from */
	int lng;                  /* -l: shard, seq, data */
	int deregister;           /* --deregister at exit */
	int list;                 /* --list STREAM */
	int stats;                /* --stats to stderr at exit */
};

enum { WAITING, READING, DONE };

struct sh {
	char *id, *parent, *adj;
	int closed, state;
	long long n;
};

struct table {
	struct sh *v;
	size_t n, cap;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: efoctl [-lv] [-n COUNT] [-t DURATION] [--from TYPE] "
	    "[--discovery DURATION]\n"
	    "              [--slow DURATION] [--buffer BYTES] [--life DURATION]\n"
	    "              [--deregister] [--stats] STREAM CONSUMER\n"
	    "       efoctl --list STREAM\n");
	exit(status);
}

static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	kin_warn(PROG, "%s", line);
}

static struct sh *
find(struct table *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

static struct sh *
add(struct table *t, const char *id, const char *parent, const char *adj)
{
	struct sh *s;

	if ((s = find(t, id)) != NULL)
		return s;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		if ((t->v = realloc(t->v, t->cap * sizeof *t->v)) == NULL)
			kin_die(PROG, KIN_EX_SOFTWARE, "out of memory");
	}
	s = &t->v[t->n++];
	memset(s, 0, sizeof *s);
	s->id = strdup(id);
	s->parent = parent ? strdup(parent) : NULL;
	s->adj = adj ? strdup(adj) : NULL;
	if (s->id == NULL)
		kin_die(PROG, KIN_EX_SOFTWARE, "out of memory");
	return s;
}

/* A parent that is not listed (trimmed away) counts as read. */
static int
parent_done(struct table *t, const char *id)
{
	struct sh *p;

	return id == NULL || (p = find(t, id)) == NULL || p->state == DONE;
}

/* Subscribe every waiting shard whose parents are read to their end:
 * roots from --from, children from their start. */
static void
promote(struct table *t, struct kin_efo *e, const struct opts *o)
{
	char err[KIN_ERRLEN];

	for (size_t i = 0; i < t->n; i++) {
		struct sh *s = &t->v[i];
		int root = (s->parent == NULL || find(t, s->parent) == NULL) &&
		    (s->adj == NULL || find(t, s->adj) == NULL);
		if (s->state != WAITING || !parent_done(t, s->parent) ||
		    !parent_done(t, s->adj))
			continue;
		if (kin_efo_subscribe(e, s->id, root ? o->from : "TRIM_HORIZON",
		    NULL, 0, err) < 0)
			kin_die(PROG, KIN_EX_SOFTWARE, "%s", err);
		s->state = READING;
		if (s->closed)
			kin_efo_closed(e, s->id);
	}
}

static int
discover(struct kin_client *c, const char *stream, struct table *t,
    struct kin_efo *e)
{
	struct kin_shard *v;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	size_t n;

	if (kin_list_shards(c, stream, NULL, &v, &n, &ae, err) < 0) {
		kin_warn(PROG, "%s", err);
		/* kinesis-mock rate-limits ListShards as the service does: a
		 * throttle or a dropped connection waits for the next round */
		return kin_aws_retryable(ae.kind) ? 0 : kin_exit_status(&ae);
	}
	for (size_t i = 0; i < n; i++) {
		struct sh *s = add(t, v[i].id, v[i].parent, v[i].adjacent_parent);
		if (v[i].seq_end != NULL && !s->closed) {
			s->closed = 1;
			if (s->state == READING)
				kin_efo_closed(e, s->id);
		}
	}
	kin_shards_free(v, n);
	return 0;
}

static int
list_consumers(struct kin_client *c, const char *stream)
{
	struct kin_stream_summary sum;
	struct kin_consumer *v;
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	size_t n;

	if (kin_describe_stream_summary(c, stream, &sum, &ae, err) < 0 ||
	    kin_list_stream_consumers(c, sum.arn, &v, &n, &ae, err) < 0) {
		kin_warn(PROG, "%s", err);
		return kin_exit_status(&ae);
	}
	for (size_t i = 0; i < n; i++)
		printf("%s\t%s\t%s\n", v[i].name, v[i].status, v[i].arn);
	kin_consumers_free(v, n);
	kin_stream_summary_release(&sum);
	return 0;
}

static void
nap_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
run(struct kin_client *c, const struct opts *o, const char *stream,
    const char *name)
{
	struct kin_consumer con;
	struct kin_efo_cfg cfg;
	struct kin_efo e;
	struct kin_efo_event ev;
	struct kin_awserr ae;
	struct table t = { 0 };
	char err[KIN_ERRLEN];
	int64_t start = kin_now_mono_us(), last_disc = 0;
	long long printed = 0;
	int st = 0, r;

	if (kin_efo_consumer(c, stream, name, 30000, &con, &ae, err) < 0) {
		kin_warn(PROG, "%s", err);
		return kin_exit_status(&ae);
	}
	memset(&cfg, 0, sizeof cfg);
	cfg.max_buffered = (size_t)o->buffer;
	cfg.max_life_ms = o->life_ms;
	if (kin_efo_init(&e, c, stream, con.arn, &cfg, err) < 0) {
		kin_warn(PROG, "%s", err);
		kin_consumer_release(&con);
		return KIN_EX_SOFTWARE;
	}
	while (o->count < 0 || printed < o->count) {
		int64_t now = kin_now_mono_us();
		if (o->timeout_ms > 0 && now - start > o->timeout_ms * 1000) {
			kin_warn(PROG, "timed out after %lld records",
			    printed);
			st = KIN_EX_TEMPFAIL;
			break;
		}
		if (now - last_disc >= o->discovery_ms * 1000) {
			if ((st = discover(c, stream, &t, &e)) != 0)
				break;
			promote(&t, &e, o);
			last_disc = now;
		}
		if ((r = kin_efo_next(&e, 100, &ev, err)) < 0) {
			kin_warn(PROG, "%s", err);
			st = KIN_EX_SOFTWARE;
			break;
		}
		if (r == 0)
			continue;
		struct sh *s = find(&t, ev.shard);
		if (ev.kind == KIN_EFO_ERROR) {
			kin_warn(PROG, "%s", ev.err);
			st = kin_exit_status(ev.ae);
			break;
		}
		for (size_t i = 0; i < ev.recs->n &&
		    (o->count < 0 || printed < o->count); i++) {
			const struct kin_record *rec = &ev.recs->r[i];
			if (o->lng)
				printf("%s\t%s\t", ev.shard, rec->seq);
			fwrite(rec->data, 1, rec->len, stdout);
			putchar('\n');
			printed++;
			if (s != NULL)
				s->n++;
		}
		/* the tests watch the output grow */
		if (ev.recs->n > 0)
			fflush(stdout);
		if (ev.kind == KIN_EFO_END && s != NULL) {
			s->state = DONE;
			for (size_t i = 0; i < ev.recs->nchildren; i++) {
				const struct kin_child_shard *ch =
				    &ev.recs->children[i];
				add(&t, ch->id, ch->nparents > 0 ?
				    ch->parents[0] : NULL, ch->nparents > 1 ?
				    ch->parents[1] : NULL);
			}
			if (o->cli.verbose)
				kin_warn(PROG, "shard '%s' ended after %lld "
				    "records, %zu children", s->id, s->n,
				    ev.recs->nchildren);
			promote(&t, &e, o);
		}
		if (o->slow_ms > 0) {
			fflush(stdout);
			nap_ms(o->slow_ms);
		}
	}
	if (o->stats)
		kin_warn(PROG, "stats: records %lld events %llu handed %llu "
		    "subscribes %llu resubscribes %llu pauses %llu http2 %llu "
		    "connections %zu", printed, e.events, e.handed,
		    e.subscribes, e.resubscribes, e.pauses, e.h2, e.nports);
	kin_efo_release(&e);
	if (o->deregister && kin_deregister_stream_consumer(c, NULL, NULL,
	    con.arn, &ae, err) < 0) {
		kin_warn(PROG, "%s", err);
		if (st == 0)
			st = kin_exit_status(&ae);
	}
	kin_consumer_release(&con);
	for (size_t i = 0; i < t.n; i++) {
		free(t.v[i].id);
		free(t.v[i].parent);
		free(t.v[i].adj);
	}
	free(t.v);
	return st;
}

int
main(int argc, char **argv)
{
	enum { O_FROM = KIN_OPT_FIRST_PROG, O_DISC, O_SLOW, O_BUF, O_DEREG, O_LIST,
	    O_STATS, O_LIFE };
	static const struct option longopts[] = {
		KIN_CLI_LONGOPTS,
		{ "from",       required_argument, NULL, O_FROM },
		{ "discovery",  required_argument, NULL, O_DISC },
		{ "slow",       required_argument, NULL, O_SLOW },
		{ "buffer",     required_argument, NULL, O_BUF },
		{ "deregister", no_argument,       NULL, O_DEREG },
		{ "list",       no_argument,       NULL, O_LIST },
		{ "stats",      no_argument,       NULL, O_STATS },
		{ "life",       required_argument, NULL, O_LIFE },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct kin_client c;
	char err[KIN_ERRLEN];
	int ch, st;

	memset(&o, 0, sizeof o);
	kin_cli_init(&o.cli, PROG);
	o.count = -1;
	o.discovery_ms = 1000;
	o.from = "TRIM_HORIZON";
	while ((ch = getopt_long(argc, argv, "vln:t:h", longopts, NULL)) !=
	    -1) {
		int64_t ms;
		if (kin_cli_apply(&o.cli, ch, optarg))
			continue;
		switch (ch) {
		case 'l':
			o.lng = 1;
			break;
		case 'n':
			if (kin_parse_int(optarg, 0, 1LL << 50, &o.count, err) < 0)
				kin_die(PROG, KIN_EX_USAGE, "bad -n: %s", err);
			break;
		case 't':
		case O_DISC:
		case O_SLOW:
		case O_LIFE:
			if (kin_parse_duration_ms(optarg, &ms, err) < 0)
				kin_die(PROG, KIN_EX_USAGE, "bad duration: %s",
				    err);
			if (ch == 't')
				o.timeout_ms = ms;
			else if (ch == O_DISC)
				o.discovery_ms = ms;
			else if (ch == O_LIFE)
				o.life_ms = ms;
			else
				o.slow_ms = ms;
			break;
		case O_FROM:
			o.from = strcmp(optarg, "latest") == 0 ? "LATEST" :
			    strcmp(optarg, "trim") == 0 ? "TRIM_HORIZON" : optarg;
			break;
		case O_BUF:
			if (kin_parse_int(optarg, 1, 1LL << 32, &o.buffer,
			    err) < 0)
				kin_die(PROG, KIN_EX_USAGE, "bad --buffer: %s",
				    err);
			break;
		case O_DEREG:
			o.deregister = 1;
			break;
		case O_LIST:
			o.list = 1;
			break;
		case O_STATS:
			o.stats = 1;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(KIN_EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != (o.list ? 1 : 2))
		usage(KIN_EX_USAGE);
	if (kin_client_init(&c, &o.cli, err) < 0)
		kin_die(PROG, KIN_EX_CONFIG, "%s", err);
	kin_client_set_trace(&c, o.cli.verbose, trace, NULL);
	st = o.list ? list_consumers(&c, argv[0]) : run(&c, &o, argv[0],
	    argv[1]);
	kin_client_release(&c);
	kin_cli_release(&o.cli);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		kin_warn(PROG, "cannot write stdout");
		return KIN_EX_IOERR;
	}
	return st;
}
