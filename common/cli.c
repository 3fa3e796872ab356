/* cli.c — the options all four programs share, and the --config reader
 * that lets a KEY=VALUE file say what a long option would. */
#include "cli.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef KIN_VERSION
#define KIN_VERSION "unknown"
#endif

void
kin_cli_init(struct kin_cli *c, const char *prog)
{
	memset(c, 0, sizeof *c);
	c->prog = prog;
}

void
kin_cli_release(struct kin_cli *c)
{
	free(c->stream);
	free(c->region);
	free(c->endpoint);
	free(c->profile);
	free(c->config);
	c->stream = c->region = c->endpoint = c->profile = c->config = NULL;
}

static int
set_str(char **dst, const char *arg)
{
	char *s = strdup(arg != NULL ? arg : "");

	if (s == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 1;
}

int
kin_cli_apply(struct kin_cli *c, int opt, const char *arg)
{
	switch (opt) {
	case 's':
		return set_str(&c->stream, arg);
	case KIN_OPT_REGION:
		return set_str(&c->region, arg);
	case KIN_OPT_ENDPOINT:
		return set_str(&c->endpoint, arg);
	case KIN_OPT_PROFILE:
		return set_str(&c->profile, arg);
	case KIN_OPT_CONFIG:
		return set_str(&c->config, arg);
	case 'v':
		c->verbose++;
		return 1;
	case 'q':
		c->quiet = 1;
		return 1;
	case KIN_OPT_NO_VERIFY_SSL:
		c->no_verify_ssl = 1;
		return 1;
	default:
		return 0;
	}
}

void
kin_cli_version(const struct kin_cli *c)
{
	printf("%s %s\n", c->prog, KIN_VERSION);
}

/* ---- config file ---------------------------------------------------- */

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* 1 for true/yes/on/1, 0 for false/no/off/0, -1 otherwise. */
static int
truth(const char *v)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

static const struct option *
find_option(const struct option *longopts, const char *name)
{
	for (const struct option *o = longopts; o != NULL && o->name != NULL;
	    o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* One KEY=VALUE line, already trimmed and split. */
static int
config_line(const char *key, const char *val,
    const struct option *longopts, const struct kin_alias *aliases,
    int (*apply)(void *ctx, int val, const char *arg, char *err), void *ctx,
    char *err)
{
	const struct option *o;
	const char *name = key, *arg = val;
	char aerr[KIN_ERRLEN];

	/* "--stream=x" reads like "stream=x" */
	if (name[0] == '-' && name[1] == '-')
		name += 2;
	for (const struct kin_alias *a = aliases; a != NULL && a->name != NULL;
	    a++) {
		if (strcmp(a->name, key) == 0) {
			/* a property meant for another program of the
			 * pipeline: accepted, and not ours to apply */
			if (a->option == NULL)
				return 0;
			name = a->option;
			if (a->value != NULL)
				arg = a->value;
			break;
		}
	}
	if (strcmp(name, "config") == 0 || strcmp(name, "help") == 0 ||
	    strcmp(name, "version") == 0)
		return kin_seterr(err, "'%s' cannot be set in a config file",
		    key);
	o = find_option(longopts, name);
	if (o == NULL)
		return kin_seterr(err, "unknown key '%s'", key);
	switch (o->has_arg) {
	case no_argument: {
		int t = truth(arg);
		if (t < 0)
			return kin_seterr(err, "'%s' takes true or false, not "
			    "'%s'", key, arg);
		if (t == 0)
			return 0;
		arg = NULL;
		break;
	}
	case required_argument:
		if (*arg == '\0')
			return kin_seterr(err, "'%s' needs a value", key);
		break;
	default:        /* optional_argument */
		if (*arg == '\0')
			arg = NULL;
		break;
	}
	if (o->flag != NULL) {
		*o->flag = o->val;
		return 0;
	}
	aerr[0] = '\0';
	if (apply(ctx, o->val, arg, aerr) < 0)
		return kin_seterr(err, "%s: %s", key,
		    aerr[0] != '\0' ? aerr : "invalid value");
	return 0;
}

int
kin_config_load(const char *path, const struct option *longopts,
    const struct kin_alias *aliases,
    int (*apply)(void *ctx, int val, const char *arg, char *err), void *ctx,
    char *err)
{
	FILE *f;
	char *line = NULL, *s, *eq, lerr[KIN_ERRLEN];
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int rc = 0;

	f = fopen(path, "re");
	if (f == NULL)
		return kin_seterrno(err, errno, "cannot open config file '%s'",
		    path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (memchr(line, '\0', (size_t)n) != NULL) {
			rc = kin_seterr(err, "%s:%ld: NUL byte in line", path,
			    lineno);
			break;
		}
		s = trim(line);
		/* a UTF-8 byte order mark on the first line is not a key */
		if (lineno == 1 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s = trim(s + 3);
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			rc = kin_seterr(err, "%s:%ld: expected KEY=VALUE", path,
			    lineno);
			break;
		}
		*eq = '\0';
		if (config_line(trim(s), trim(eq + 1), longopts, aliases, apply,
		    ctx, lerr) < 0) {
			rc = kin_seterr(err, "%s:%ld: %s", path, lineno, lerr);
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = kin_seterrno(err, errno, "cannot read config file '%s'",
		    path);
	free(line);
	fclose(f);
	return rc;
}

int
kin_set_str(char **dst, const char *arg, char *err)
{
	char *s = strdup(arg);

	if (s == NULL)
		return kin_seterr(err, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}
