/* test_cli.c — shared options and the KEY=VALUE config file: keys, the
 * Flink job's aliases, booleans, comments, and errors naming FILE:LINE. */
#include "t.h"
#include "cli.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[KIN_ERRLEN];

enum { OPT_BATCH = KIN_OPT_FIRST_PROG, OPT_AGG, OPT_COLOR, OPT_KEY };

static int dry_run;

static const struct option longopts[] = {
	KIN_CLI_LONGOPTS,
	{ "batch-size", required_argument, NULL, OPT_BATCH },
	{ "aggregate", no_argument, NULL, OPT_AGG },
	{ "color", optional_argument, NULL, OPT_COLOR },
	{ "partition-key", required_argument, NULL, OPT_KEY },
	{ "dry-run", no_argument, &dry_run, 1 },
	{ NULL, 0, NULL, 0 },
};

static const struct kin_alias aliases[] = {
	{ "inputStreamName", "stream", NULL },
	{ "aws.region", "region", NULL },
	{ "AggregationEnabled", "aggregate", NULL },
	{ "Partition", "partition-key", NULL },
	{ "Fixed", "color", "always" },
	{ "outputStreamName", NULL, NULL },   /* another program's */
	{ NULL, NULL, NULL },
};

struct seen {
	struct kin_cli cli;
	long batch;
	int agg;
	char color[32];
	char key[64];
	int calls;
};

static int
apply(void *ctx, int val, const char *arg, char *e)
{
	struct seen *s = ctx;

	s->calls++;
	switch (kin_cli_apply(&s->cli, val, arg)) {
	case 1:
		return 0;
	case -1:
		return kin_seterr(e, "out of memory");
	}
	switch (val) {
	case OPT_BATCH:
		if (strcmp(arg, "bad") == 0)
			return kin_seterr(e, "bad number '%s'", arg);
		s->batch = strtol(arg, NULL, 10);
		return 0;
	case OPT_AGG:
		s->agg = arg == NULL ? 1 : -1;
		return 0;
	case OPT_COLOR:
		snprintf(s->color, sizeof s->color, "%s", arg ? arg : "(null)");
		return 0;
	case OPT_KEY:
		snprintf(s->key, sizeof s->key, "%s", arg);
		return 0;
	case 'h':
		return kin_seterr(e, "help reached apply");
	}
	return kin_seterr(e, "unexpected option %d", val);
}

static char path[64];

static void
write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof path, "/tmp/kin-cli-XXXXXX");
	int fd = mkstemp(path);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
}

static int
load(const char *text, struct seen *s)
{
	int rc;

	memset(s, 0, sizeof *s);
	kin_cli_init(&s->cli, "kin-test");
	dry_run = 0;
	write_conf(text);
	err[0] = '\0';
	rc = kin_config_load(path, longopts, aliases, apply, s, err);
	unlink(path);
	return rc;
}

static void
test_apply(void)
{
	struct kin_cli c;

	kin_cli_init(&c, "kin-read");
	T_STREQ(c.prog, "kin-read");
	T_CHECK(c.stream == NULL && c.verbose == 0 && c.quiet == 0);
	T_CHECK(kin_cli_apply(&c, 's', "one") == 1);
	T_CHECK(kin_cli_apply(&c, 's', "two") == 1);     /* replaces */
	T_STREQ(c.stream, "two");
	T_CHECK(kin_cli_apply(&c, KIN_OPT_REGION, "eu-west-1") == 1);
	T_CHECK(kin_cli_apply(&c, KIN_OPT_ENDPOINT, "http://127.0.0.1:1") == 1);
	T_CHECK(kin_cli_apply(&c, KIN_OPT_PROFILE, "p") == 1);
	T_CHECK(kin_cli_apply(&c, KIN_OPT_CONFIG, "/etc/kin.conf") == 1);
	T_CHECK(kin_cli_apply(&c, 'v', NULL) == 1);
	T_CHECK(kin_cli_apply(&c, 'v', NULL) == 1);
	T_CHECK(kin_cli_apply(&c, 'q', NULL) == 1);
	T_CHECK(kin_cli_apply(&c, 'h', NULL) == 0);
	T_CHECK(kin_cli_apply(&c, 'V', NULL) == 0);
	T_CHECK(kin_cli_apply(&c, 'x', "y") == 0);
	T_STREQ(c.region, "eu-west-1");
	T_STREQ(c.endpoint, "http://127.0.0.1:1");
	T_STREQ(c.profile, "p");
	T_STREQ(c.config, "/etc/kin.conf");
	T_CHECK(c.verbose == 2 && c.quiet == 1);
	kin_cli_release(&c);
	T_CHECK(c.stream == NULL && c.region == NULL);
	kin_cli_release(&c);       /* twice is harmless */
}

static void
test_version(void)
{
	struct kin_cli c;
	char out[128] = "";
	int p[2], saved;
	ssize_t n;

	kin_cli_init(&c, "kin-write");
	fflush(stdout);
	T_CHECK(pipe(p) == 0);
	saved = dup(STDOUT_FILENO);
	dup2(p[1], STDOUT_FILENO);
	kin_cli_version(&c);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], out, sizeof out - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	T_STREQ(out, "kin-write " KIN_VERSION "\n");
}

static void
test_config_good(void)
{
	struct seen s;

	T_CHECKF(load(
	    "# a comment\n"
	    "\n"
	    "   # indented comment\n"
	    "stream=orders\n"
	    "  region = eu-central-1  \n"
	    "batch-size=500\r\n"
	    "--endpoint-url=http://127.0.0.1:4567/a=b\n"
	    "aggregate = yes\n"
	    "color=\n"
	    "partition-key = value with spaces\n"
	    "dry-run=TRUE\n"
	    "verbose=true\n"
	    "verbose=1\n"
	    "quiet=no\n",
	    &s) == 0, "%s", err);
	T_STREQ(s.cli.stream, "orders");
	T_STREQ(s.cli.region, "eu-central-1");
	T_STREQ(s.cli.endpoint, "http://127.0.0.1:4567/a=b");
	T_CHECK(s.batch == 500);
	T_CHECK(s.agg == 1);
	T_STREQ(s.color, "(null)");
	T_STREQ(s.key, "value with spaces");
	T_CHECK(dry_run == 1);
	T_CHECK(s.cli.verbose == 2 && s.cli.quiet == 0);
	kin_cli_release(&s.cli);

	/* the original job's runtime properties */
	T_CHECKF(load(
	    "\xef\xbb\xbfinputStreamName=trades\n"
	    "aws.region=us-east-1\n"
	    "AggregationEnabled=false\n"
	    "Partition=symbol\n"
	    "Fixed=whatever\n", &s) == 0, "%s", err);
	T_STREQ(s.cli.stream, "trades");
	T_STREQ(s.cli.region, "us-east-1");
	T_CHECK(s.agg == 0);            /* false: not applied at all */
	T_STREQ(s.key, "symbol");
	T_STREQ(s.color, "always");
	kin_cli_release(&s.cli);

	/* later lines win; an empty file is fine */
	T_CHECK(load("stream=a\nstream=b\n", &s) == 0);
	T_STREQ(s.cli.stream, "b");
	kin_cli_release(&s.cli);
	T_CHECK(load("", &s) == 0 && s.calls == 0);
	T_CHECK(load("no newline at end=1", &s) == -1);
	kin_cli_release(&s.cli);
	T_CHECK(load("stream=last", &s) == 0);
	T_STREQ(s.cli.stream, "last");
	kin_cli_release(&s.cli);
	/* a property for another program is accepted and not applied */
	T_CHECK(load("outputStreamName=out\nstream=in\n", &s) == 0);
	T_CHECK(s.calls == 1);
	T_STREQ(s.cli.stream, "in");
	kin_cli_release(&s.cli);
}

static void
test_config_bad(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "stream=a\nnosuch=1\n", ":2: unknown key 'nosuch'" },
		{ "stream=a\n\njust words\n", ":3: expected KEY=VALUE" },
		{ "aggregate=maybe\n", ":1: 'aggregate' takes true or false, "
		    "not 'maybe'" },
		{ "stream=\n", ":1: 'stream' needs a value" },
		{ "batch-size=bad\n", ":1: batch-size: bad number 'bad'" },
		{ "config=/etc/other\n", ":1: 'config' cannot be set in a "
		    "config file" },
		{ "help=true\n", ":1: 'help' cannot be set" },
		{ "version=1\n", ":1: 'version' cannot be set" },
		{ "=x\n", ":1: unknown key ''" },
		{ "Stream=a\n", ":1: unknown key 'Stream'" },
		{ "-s=a\n", ":1: unknown key '-s'" },
		{ "inputstreamname=a\n", ":1: unknown key 'inputstreamname'" },
	};
	struct seen s;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rc = load(cases[i].text, &s);
		char want[256];

		snprintf(want, sizeof want, "%s%s", path, cases[i].want);
		T_CHECKF(rc == -1 && strncmp(err, want, strlen(want)) == 0,
		    "case %zu: got '%s' want '%s'", i, err, want);
		kin_cli_release(&s.cli);
	}
	/* a NUL byte in a line */
	{
		FILE *f;
		memset(&s, 0, sizeof s);
		snprintf(path, sizeof path, "/tmp/kin-cli-XXXXXX");
		f = fdopen(mkstemp(path), "w");
		fwrite("stream=a\0b\n", 1, 11, f);
		fclose(f);
		T_CHECK(kin_config_load(path, longopts, aliases, apply, &s,
		    err) == -1);
		T_CHECKF(strstr(err, ":1: NUL byte") != NULL, "%s", err);
		unlink(path);
		kin_cli_release(&s.cli);
	}
	T_CHECK(kin_config_load("/nonexistent/kin.conf", longopts, aliases,
	    apply, &s, err) == -1);
	T_STREQ(err, "cannot open config file '/nonexistent/kin.conf': "
	    "No such file or directory");
	T_CHECK(kin_config_load("/", longopts, NULL, apply, &s, err) == -1);
	T_CHECKF(strstr(err, "Is a directory") != NULL, "%s", err);
}

int
main(void)
{
	test_apply();
	test_version();
	test_config_good();
	test_config_bad();
	T_DONE();
}
