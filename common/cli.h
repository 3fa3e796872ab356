/* cli.h — the options every program shares (DESIGN.md section 2 and 3) and
 * the --config file reader.  Each program keeps its own struct opts and
 * embeds a struct kin_cli in it. */
#ifndef KIN_CLI_H
#define KIN_CLI_H

#include <getopt.h>

/* Long-only option values shared by all programs (short ones are letters). */
enum {
	KIN_OPT_REGION = 1000,
	KIN_OPT_ENDPOINT,
	KIN_OPT_PROFILE,
	KIN_OPT_CONFIG,
	KIN_OPT_NO_VERIFY_SSL,
	KIN_OPT_FIRST_PROG = 1100,  /* programs number their own from here */
};

struct kin_cli {
	const char *prog;
	char *stream;      /* -s/--stream (owned: strdup'd) */
	char *region;      /* --region */
	char *endpoint;    /* --endpoint-url */
	char *profile;     /* --profile */
	char *config;      /* --config FILE */
	int verbose;       /* -v, repeatable */
	int quiet;         /* -q */
	int no_verify_ssl; /* --no-verify-ssl (loopback endpoints only) */
};

/* For a program's struct option table: */
#define KIN_CLI_LONGOPTS \
	{ "stream",       required_argument, NULL, 's' }, \
	{ "region",       required_argument, NULL, KIN_OPT_REGION }, \
	{ "endpoint-url", required_argument, NULL, KIN_OPT_ENDPOINT }, \
	{ "profile",      required_argument, NULL, KIN_OPT_PROFILE }, \
	{ "config",       required_argument, NULL, KIN_OPT_CONFIG }, \
	{ "verbose",      no_argument,       NULL, 'v' }, \
	{ "quiet",        no_argument,       NULL, 'q' }, \
	{ "help",         no_argument,       NULL, 'h' }, \
	{ "version",      no_argument,       NULL, 'V' }
#define KIN_CLI_SHORTOPTS "s:vqhV"
/* The programs that talk to the service add this one too. */
#define KIN_CLI_NET_LONGOPTS \
	{ "no-verify-ssl", no_argument,     NULL, KIN_OPT_NO_VERIFY_SSL }

void kin_cli_init(struct kin_cli *c, const char *prog);
void kin_cli_release(struct kin_cli *c);
/* Apply a shared option: returns 1 if opt was one (handled), 0 if not,
 * -1 when out of memory.  'h' and 'V' are left to the program. */
int kin_cli_apply(struct kin_cli *c, int opt, const char *arg);
/* Replace the owned string *dst with a copy of arg (for option values
 * that may be set twice: command line, config file, reload). */
int kin_set_str(char **dst, const char *arg, char *err);
/* Print "prog VERSION" to stdout. */
void kin_cli_version(const struct kin_cli *c);

/* Config file aliases: the original Flink job's runtime properties. */
struct kin_alias {
	const char *name;    /* e.g. "inputStreamName" */
	const char *option;  /* long option it stands for, e.g. "stream";
	                        NULL: accepted and ignored (a property of the
	                        original job that another program applies) */
	const char *value;   /* fixed argument to use instead, or NULL */
};

/* Read FILE of KEY=VALUE lines ('#' comments, blank lines, optional spaces
 * around '=', no quoting; the value is the rest of the line).  Each KEY is
 * a long option of longopts, with or without "--", or an alias;
 * apply(ctx, val, arg, err) is called with the option's val and arg (NULL
 * for no_argument options, where VALUE must be true/false/yes/no/on/off/
 * 1/0 and only true values apply; NULL for an empty optional_argument).
 * An option with a flag pointer is set directly.  "config", "help" and
 * "version" are refused.  apply returns 0, or -1 with its err filled.
 * Returns 0, or -1 with err as "FILE:LINE: why" (an unknown key is named). */
int kin_config_load(const char *path, const struct option *longopts,
    const struct kin_alias *aliases,
    int (*apply)(void *ctx, int val, const char *arg, char *err), void *ctx,
    char *err);

#endif
