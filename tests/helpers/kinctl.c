/* kinctl — a small Kinesis control tool built from common/, for the tests
 * and the demo: create, delete, list and reshard streams, put and get a few
 * records.  Settings come as for every kin program (DESIGN.md section 3). */
#include "cli.h"
#include "err.h"
#include "kinesis.h"
#include "parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "kinctl"
#define WAIT_MS 60000

struct opts {
	struct kin_cli cli;
	const char *filter;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: kinctl [-v] [--region R] [--endpoint-url URL] [--profile P] "
	    "COMMAND ARG...\n"
	    "  create STREAM SHARDS      create and wait until ACTIVE\n"
	    "  delete STREAM             delete and wait until gone\n"
	    "  list-streams\n"
	    "  list-shards [--filter TYPE] STREAM\n"
	    "                            id, hash range, parents, open/closed\n"
	    "  describe STREAM\n"
	    "  split STREAM SHARD HASH   split at HASH, wait until ACTIVE\n"
	    "  merge STREAM SHARD ADJACENT\n"
	    "  reshard STREAM COUNT      UpdateShardCount, wait until ACTIVE\n"
	    "  put STREAM KEY DATA...    one record per DATA; prints shard, seq\n"
	    "  get STREAM SHARD [MAX]    data from TRIM_HORIZON, one per line\n");
	exit(status);
}

static void
trace(void *ctx, const char *line)
{
	(void)ctx;
	kin_warn(PROG, "%s", line);
}

static int
fail(const char *what, const struct kin_awserr *ae, const char *err)
{
	kin_warn(PROG, "%s: %s", what, err);
	return kin_exit_status(ae);
}

static int
count_arg(const char *s, long long min, long long max, const char *what)
{
	char err[KIN_ERRLEN];
	long long v;

	if (kin_parse_int(s, min, max, &v, err) < 0) {
		kin_warn(PROG, "bad %s: %s", what, err);
		exit(KIN_EX_USAGE);
	}
	return (int)v;
}

static int
wait_gone(struct kin_client *c, const char *stream, char *err)
{
	struct kin_stream_summary s;
	struct kin_awserr ae;
	int64_t deadline = kin_now_mono_us() + (int64_t)WAIT_MS * 1000;

	for (;;) {
		if (kin_describe_stream_summary(c, stream, &s, &ae, err) < 0)
			return ae.kind == KIN_AWS_NOT_FOUND ? 0 : -1;
		kin_stream_summary_release(&s);
		if (kin_now_mono_us() > deadline)
			return kin_seterr(err, "stream '%s' still there after "
			    "%d ms", stream, WAIT_MS);
		usleep(50000);
	}
}

static int
cmd_get(struct kin_client *c, const char *stream, const char *shard, int max)
{
	struct kin_records rec;
	struct kin_awserr ae;
	char err[KIN_ERRLEN], *iter = NULL;
	int got = 0, rc = 0;

	if (kin_get_shard_iterator(c, stream, shard, "TRIM_HORIZON", NULL, 0,
	    &iter, &ae, err) < 0)
		return fail("cannot get a shard iterator", &ae, err);
	kin_records_init(&rec);
	/* until the shard ends, MAX records came, or a page is empty at the
	 * tip of the shard */
	while (iter != NULL && (max == 0 || got < max)) {
		if (kin_get_records(c, iter, max ? max - got : 0, &rec, &ae,
		    err) < 0) {
			rc = fail("cannot get records", &ae, err);
			break;
		}
		for (size_t i = 0; i < rec.n; i++) {
			fwrite(rec.r[i].data, 1, rec.r[i].len, stdout);
			putchar('\n');
		}
		got += (int)rec.n;
		free(iter);
		iter = rec.next_iter;
		rec.next_iter = NULL;
		if (rec.n == 0 && rec.millis_behind <= 0)
			break;
	}
	free(iter);
	kin_records_release(&rec);
	return rc;
}

static int
cmd_put(struct kin_client *c, const char *stream, const char *key,
    char **data, int n)
{
	struct kin_put_entry *e = calloc((size_t)n, sizeof *e);
	struct kin_put_result *res = calloc((size_t)n, sizeof *res);
	struct kin_awserr ae;
	char err[KIN_ERRLEN];
	int failed = 0, rc = 0;

	if (e == NULL || res == NULL)
		kin_die(PROG, KIN_EX_SOFTWARE, "out of memory");
	for (int i = 0; i < n; i++) {
		e[i].data = data[i];
		e[i].len = strlen(data[i]);
		e[i].key = key;
	}
	if (kin_put_records(c, stream, e, (size_t)n, res, &failed, &ae,
	    err) < 0) {
		rc = fail("cannot put records", &ae, err);
	} else {
		for (int i = 0; i < n; i++)
			if (res[i].code[0])
				printf("failed\t%s\t%s\n", res[i].code,
				    res[i].message);
			else
				printf("%s\t%s\n", res[i].shard, res[i].seq);
		if (failed > 0) {
			kin_warn(PROG, "%d of %d records failed", failed, n);
			rc = KIN_EX_UNAVAILABLE;
		}
	}
	free(e);
	free(res);
	return rc;
}

static int
run(struct kin_client *c, const struct opts *o, int argc, char **argv)
{
	const char *cmd = argv[0];
	struct kin_awserr ae;
	char err[KIN_ERRLEN];

#define NEED(n) do { if (argc != (n) + 1) usage(KIN_EX_USAGE); } while (0)
	if (strcmp(cmd, "create") == 0) {
		NEED(2);
		int shards = count_arg(argv[2], 1, 100000, "shard count");
		if (kin_create_stream(c, argv[1], shards, &ae, err) < 0)
			return fail("cannot create stream", &ae, err);
		if (kin_wait_active(c, argv[1], WAIT_MS, &ae, err) < 0)
			return fail("stream did not become active", &ae, err);
	} else if (strcmp(cmd, "delete") == 0) {
		NEED(1);
		if (kin_delete_stream(c, argv[1], &ae, err) < 0)
			return fail("cannot delete stream", &ae, err);
		if (wait_gone(c, argv[1], err) < 0) {
			kin_warn(PROG, "cannot confirm deletion: %s", err);
			return KIN_EX_TEMPFAIL;
		}
	} else if (strcmp(cmd, "list-streams") == 0) {
		char **names;
		size_t n;
		NEED(0);
		if (kin_list_streams(c, &names, &n, &ae, err) < 0)
			return fail("cannot list streams", &ae, err);
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		kin_strv_free(names, n);
	} else if (strcmp(cmd, "list-shards") == 0) {
		struct kin_shard *s;
		size_t n;
		NEED(1);
		if (kin_list_shards(c, argv[1], o->filter, &s, &n, &ae, err) < 0)
			return fail("cannot list shards", &ae, err);
		for (size_t i = 0; i < n; i++)
			printf("%s\t%s\t%s\t%s\t%s\t%s\n", s[i].id,
			    s[i].hash_start, s[i].hash_end,
			    s[i].parent ? s[i].parent : "-",
			    s[i].adjacent_parent ? s[i].adjacent_parent : "-",
			    s[i].seq_end ? "closed" : "open");
		kin_shards_free(s, n);
	} else if (strcmp(cmd, "describe") == 0) {
		struct kin_stream_summary s;
		NEED(1);
		if (kin_describe_stream_summary(c, argv[1], &s, &ae, err) < 0)
			return fail("cannot describe stream", &ae, err);
		printf("name\t%s\narn\t%s\nstatus\t%s\nshards\t%d\n"
		    "retention\t%d\nmode\t%s\nencryption\t%s\n", s.name ?
		    s.name : "-", s.arn ? s.arn : "-", s.status, s.open_shards,
		    s.retention_hours, s.mode ? s.mode : "-",
		    s.encryption ? s.encryption : "-");
		kin_stream_summary_release(&s);
	} else if (strcmp(cmd, "split") == 0) {
		NEED(3);
		if (kin_split_shard(c, argv[1], argv[2], argv[3], &ae, err) < 0)
			return fail("cannot split shard", &ae, err);
		if (kin_wait_active(c, argv[1], WAIT_MS, &ae, err) < 0)
			return fail("stream did not become active", &ae, err);
	} else if (strcmp(cmd, "merge") == 0) {
		NEED(3);
		if (kin_merge_shards(c, argv[1], argv[2], argv[3], &ae, err) < 0)
			return fail("cannot merge shards", &ae, err);
		if (kin_wait_active(c, argv[1], WAIT_MS, &ae, err) < 0)
			return fail("stream did not become active", &ae, err);
	} else if (strcmp(cmd, "reshard") == 0) {
		NEED(2);
		int n = count_arg(argv[2], 1, 100000, "shard count");
		if (kin_update_shard_count(c, argv[1], n, &ae, err) < 0)
			return fail("cannot update the shard count", &ae, err);
		if (kin_wait_active(c, argv[1], WAIT_MS, &ae, err) < 0)
			return fail("stream did not become active", &ae, err);
	} else if (strcmp(cmd, "put") == 0) {
		if (argc < 4 || argc - 3 > KIN_MAX_PUT_RECORDS)
			usage(KIN_EX_USAGE);
		return cmd_put(c, argv[1], argv[2], argv + 3, argc - 3);
	} else if (strcmp(cmd, "get") == 0) {
		if (argc != 3 && argc != 4)
			usage(KIN_EX_USAGE);
		return cmd_get(c, argv[1], argv[2], argc == 4 ?
		    count_arg(argv[3], 1, 10000, "record count") : 0);
	} else {
		kin_warn(PROG, "unknown command '%s'", cmd);
		usage(KIN_EX_USAGE);
	}
#undef NEED
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "region",       required_argument, NULL, KIN_OPT_REGION },
		{ "endpoint-url", required_argument, NULL, KIN_OPT_ENDPOINT },
		{ "profile",      required_argument, NULL, KIN_OPT_PROFILE },
		{ "verbose",      no_argument,       NULL, 'v' },
		{ "help",         no_argument,       NULL, 'h' },
		{ "filter",       required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o;
	struct kin_client c;
	char err[KIN_ERRLEN];
	int ch, rc;

	memset(&o, 0, sizeof o);
	kin_cli_init(&o.cli, PROG);
	/* options may come before the command or right after it */
	while ((ch = getopt_long(argc, argv, "+vhf:", longopts, NULL)) != -1) {
		if (kin_cli_apply(&o.cli, ch, optarg))
			continue;
		if (ch == 'h')
			usage(0);
		if (ch == 'f')
			o.filter = optarg;
		else
			usage(KIN_EX_USAGE);
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage(KIN_EX_USAGE);
	if (argc > 1 && strcmp(argv[1], "--filter") == 0 && argc > 2) {
		o.filter = argv[2];
		memmove(argv + 1, argv + 3, (size_t)(argc - 3) * sizeof *argv);
		argc -= 2;
	}
	if (kin_client_init(&c, &o.cli, err) < 0) {
		kin_warn(PROG, "%s", err);
		kin_cli_release(&o.cli);
		return KIN_EX_CONFIG;
	}
	kin_client_set_trace(&c, o.cli.verbose, trace, NULL);
	rc = run(&c, &o, argc, argv);
	kin_client_release(&c);
	kin_cli_release(&o.cli);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		kin_warn(PROG, "cannot write to stdout");
		return KIN_EX_IOERR;
	}
	return rc;
}
