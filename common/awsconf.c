/* awsconf.c — region, endpoint and profile the way the AWS SDKs pick them
 * (DESIGN.md section 3), the shared config/credentials file reader, and the
 * credential chain with its refresh.  The providers live in creds.c and
 * creds_http.c. */
#include "awsconf.h"
#include "creds.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define REFRESH_AHEAD_US (5LL * 60 * 1000000)   /* SDKs refresh 5 min early */

const char *
kin_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

void
kin_creds_release(struct kin_creds *c)
{
	if (c == NULL)
		return;
	if (c->secret != NULL)
		OPENSSL_cleanse(c->secret, strlen(c->secret));
	if (c->token != NULL)
		OPENSSL_cleanse(c->token, strlen(c->token));
	free(c->akid);
	free(c->secret);
	free(c->token);
	memset(c, 0, sizeof *c);
}

int
kin_creds_copy(struct kin_creds *dst, const struct kin_creds *src, char *err)
{
	memset(dst, 0, sizeof *dst);
	dst->akid = src->akid ? strdup(src->akid) : NULL;
	dst->secret = src->secret ? strdup(src->secret) : NULL;
	dst->token = src->token ? strdup(src->token) : NULL;
	dst->expires_us = src->expires_us;
	dst->source = src->source;
	if ((src->akid && !dst->akid) || (src->secret && !dst->secret) ||
	    (src->token && !dst->token)) {
		kin_creds_release(dst);
		return kin_seterr(err, "credentials: out of memory");
	}
	return 0;
}

/* ---- shared config and credentials files ---- */

static const char *
home_dir(void)
{
	const char *h = kin_env("HOME");
	struct passwd *pw;

	if (h != NULL)
		return h;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : "/";
}

const char *
kin_config_path(char *buf, size_t n)
{
	const char *p = kin_env("AWS_CONFIG_FILE");

	if (p != NULL)
		snprintf(buf, n, "%s", p);
	else
		snprintf(buf, n, "%s/.aws/config", home_dir());
	return buf;
}

const char *
kin_credentials_path(char *buf, size_t n)
{
	const char *p = kin_env("AWS_SHARED_CREDENTIALS_FILE");

	if (p != NULL)
		snprintf(buf, n, "%s", p);
	else
		snprintf(buf, n, "%s/.aws/credentials", home_dir());
	return buf;
}

/* A leading "~/" in the path variables means the home directory, as the
 * SDKs expand it. */
static FILE *
open_cfg(const char *path)
{
	char full[4096];

	if (path[0] == '~' && path[1] == '/') {
		snprintf(full, sizeof full, "%s%s", home_dir(), path + 1);
		return fopen(full, "r");
	}
	return fopen(path, "r");
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

/* "[ profile   x ] # note" -> "profile x" in out; 0, or -1 if not a
 * section line. */
static int
section_name(char *line, char *out, size_t n)
{
	char *close = strchr(line, ']');
	size_t o = 0;
	int space = 0;

	if (line[0] != '[' || close == NULL)
		return -1;
	*close = '\0';
	for (char *p = line + 1; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			space = o > 0;
			continue;
		}
		if (space && o + 1 < n)
			out[o++] = ' ';
		space = 0;
		if (o + 1 < n)
			out[o++] = *p;
	}
	out[o] = '\0';
	return 0;
}

/* Scan path; for the section, the last value of key.  *found_section set
 * when the section exists at all. */
static char *
ini_scan(const char *path, const char *section, const char *key,
    int *found_section)
{
	char line[8192], name[512];
	int in = 0;
	char *val = NULL;
	FILE *f;

	*found_section = 0;
	if (path == NULL || (f = open_cfg(path)) == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL) {
		char *s, *eq, *k, *v;

		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* overlong line: skip the rest of it */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t')
			continue;   /* sub-property or continuation */
		s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			in = section_name(s, name, sizeof name) == 0 &&
			    strcmp(name, section) == 0;
			if (in)
				*found_section = 1;
			continue;
		}
		if (!in || key == NULL || (eq = strchr(s, '=')) == NULL)
			continue;
		*eq = '\0';
		k = trim(s);
		if (strcasecmp(k, key) != 0)
			continue;
		v = eq + 1;
		/* an inline comment needs a blank before it */
		for (char *p = v; *p; p++)
			if ((*p == '#' || *p == ';') && p > v &&
			    (p[-1] == ' ' || p[-1] == '\t')) {
				*p = '\0';
				break;
			}
		v = trim(v);
		free(val);
		val = strdup(v);
	}
	OPENSSL_cleanse(line, sizeof line);
	fclose(f);
	return val;
}

char *
kin_ini_get(const char *path, const char *section, const char *key)
{
	int found;

	return ini_scan(path, section, key, &found);
}

int
kin_ini_has(const char *path, const char *section)
{
	int found;

	free(ini_scan(path, section, NULL, &found));
	return found;
}

char *
kin_config_get(const char *profile, const char *key)
{
	char path[4096], sect[512];
	char *v;

	kin_config_path(path, sizeof path);
	snprintf(sect, sizeof sect, "profile %s", profile);
	v = kin_ini_get(path, sect, key);
	if (v == NULL && strcmp(profile, "default") == 0)
		v = kin_ini_get(path, "default", key);
	return v;
}

/* ---- settings ---- */

static char *
xstrdup(const char *s, char *err)
{
	char *r = strdup(s);

	if (r == NULL)
		kin_seterr(err, "aws settings: out of memory");
	return r;
}

/* AWS_ENDPOINT_URL_<SERVICE>: the service id upper-cased, blanks and
 * dashes as '_' (the SDKs' service-specific endpoint rule). */
static void
service_env_name(const char *service, char *out, size_t n)
{
	size_t o = (size_t)snprintf(out, n, "AWS_ENDPOINT_URL_");

	for (const char *p = service; *p && o + 1 < n; p++)
		out[o++] = (*p == ' ' || *p == '-') ? '_' :
		    (char)toupper((unsigned char)*p);
	out[o] = '\0';
}

int
kin_aws_endpoint_for(const char *service, const char *region,
    const char *cli, char **out, char *err)
{
	char name[128], buf[512];
	const char *e = cli, *ign = kin_env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	size_t n;

	if (e != NULL && e[0] == '\0')
		e = NULL;
	if (e == NULL && !(ign != NULL && strcasecmp(ign, "true") == 0)) {
		service_env_name(service, name, sizeof name);
		e = kin_env(name);
		if (e == NULL)
			e = kin_env("AWS_ENDPOINT_URL");
	}
	if (e == NULL) {
		/* China regions live under amazonaws.com.cn */
		snprintf(buf, sizeof buf, "https://%s.%s.amazonaws.com%s",
		    service, region, strncmp(region, "cn-", 3) == 0 ? ".cn" : "");
		e = buf;
	} else if (strncasecmp(e, "http://", 7) != 0 &&
	    strncasecmp(e, "https://", 8) != 0) {
		return kin_seterr(err, "endpoint '%s': not an http:// or https:// "
		    "URL", e);
	}
	if ((*out = xstrdup(e, err)) == NULL)
		return -1;
	n = strlen(*out);
	while (n > 8 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return 0;
}

static int
valid_region(const char *r)
{
	if (r[0] == '\0' || strlen(r) > 64)
		return 0;
	for (const char *p = r; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
	return 1;
}

int
kin_aws_init(struct kin_aws *a, const char *service, const char *region,
    const char *endpoint, const char *profile, char *err)
{
	char *cfg_region = NULL, *v;
	const char *r;

	memset(a, 0, sizeof *a);
	a->provider = -1;
	a->max_attempts = 3;
	if (pthread_mutex_init(&a->lock, NULL) != 0)
		return kin_seterr(err, "aws settings: cannot create a mutex");
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (profile == NULL || profile[0] == '\0')
		profile = kin_env("AWS_PROFILE");
	if ((a->profile = xstrdup(profile ? profile : "default", err)) == NULL)
		goto fail;

	r = region && region[0] ? region : kin_env("AWS_REGION");
	if (r == NULL)
		r = kin_env("AWS_DEFAULT_REGION");
	if (r == NULL)
		r = cfg_region = kin_config_get(a->profile, "region");
	if (r == NULL || r[0] == '\0') {
		kin_seterr(err, "no region: use --region, AWS_REGION, "
		    "AWS_DEFAULT_REGION or region in profile '%s'", a->profile);
		goto fail;
	}
	if (!valid_region(r)) {
		kin_seterr(err, "region '%s': not a region name", r);
		goto fail;
	}
	if ((a->region = xstrdup(r, err)) == NULL)
		goto fail;
	if (kin_aws_endpoint_for(service, a->region, endpoint, &a->endpoint,
	    err) < 0)
		goto fail;

	if ((r = kin_env("AWS_CA_BUNDLE")) != NULL)
		a->ca_bundle = xstrdup(r, err);
	else
		a->ca_bundle = kin_config_get(a->profile, "ca_bundle");

	v = NULL;
	r = kin_env("AWS_MAX_ATTEMPTS");
	if (r == NULL)
		r = v = kin_config_get(a->profile, "max_attempts");
	if (r != NULL) {
		char *end;
		errno = 0;
		long n = strtol(r, &end, 10);
		if (errno != 0 || end == r || *end != '\0' || n < 1 || n > 100) {
			kin_seterr(err, "max attempts '%s': not a whole number "
			    "from 1 to 100", r);
			free(v);
			goto fail;
		}
		a->max_attempts = (int)n;
	}
	free(v);
	free(cfg_region);
	return 0;
fail:
	free(cfg_region);
	kin_aws_release(a);
	return -1;
}

void
kin_aws_release(struct kin_aws *a)
{
	free(a->region);
	free(a->endpoint);
	free(a->profile);
	free(a->ca_bundle);
	kin_creds_release(&a->creds);
	pthread_mutex_destroy(&a->lock);
	curl_global_cleanup();
	memset(a, 0, sizeof *a);
	a->provider = -1;
}

/* ---- the chain ---- */

static const struct {
	const char *name;
	int (*fn)(const struct kin_aws *, struct kin_creds *, char *);
} chain[] = {
	{ "environment", kin_creds_env },
	{ "shared files", kin_creds_profile },
	{ "web identity", kin_creds_web_identity },
	{ "container (ECS)", kin_creds_ecs },
	{ "instance metadata (IMDS)", kin_creds_imds },
};
#define NCHAIN (sizeof chain / sizeof chain[0])

/* First provider that answers.  A configured provider that fails stops the
 * chain with its error, as the SDKs do; when nothing is configured the
 * error lists what was tried. */
static int
load_chain(const struct kin_aws *a, struct kin_creds *c, int *which,
    char *err)
{
	char why[KIN_ERRLEN];

	for (size_t i = 0; i < NCHAIN; i++) {
		why[0] = '\0';
		int rc = chain[i].fn(a, c, why);
		if (rc == 1) {
			*which = (int)i;
			return 0;
		}
		kin_creds_release(c);
		if (rc < 0)
			return kin_seterr(err, "%s", why);
	}
	return kin_seterr(err, "no credentials: tried the environment, "
	    "profile '%s', web identity, container and instance metadata "
	    "(%s)", a->profile, why[0] ? why : "not found");
}

int64_t
kin_creds_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
kin_aws_creds(struct kin_aws *a, struct kin_creds *out, char *err)
{
	struct kin_creds fresh = { 0 };
	int rc = -1, which = -1;
	int64_t now = kin_creds_now_us();

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&a->lock);
	if (a->have_creds && (a->creds.expires_us == 0 ||
	    a->creds.expires_us - now > REFRESH_AHEAD_US)) {
		rc = kin_creds_copy(out, &a->creds, err);
		goto out;
	}
	if (a->have_creds && a->provider >= 0) {
		/* refresh through the provider that answered before */
		char why[KIN_ERRLEN] = "";
		int r = chain[a->provider].fn(a, &fresh, why);
		if (r == 1) {
			which = a->provider;
		} else {
			kin_creds_release(&fresh);
			if (a->creds.expires_us > now) {
				/* not expired yet: keep using them */
				rc = kin_creds_copy(out, &a->creds, err);
				goto out;
			}
			kin_seterr(err, "%s", r < 0 ? why :
			    "credentials expired and their source is gone");
			goto out;
		}
	} else if (load_chain(a, &fresh, &which, err) < 0) {
		goto out;
	}
	kin_creds_release(&a->creds);
	a->creds = fresh;
	a->have_creds = 1;
	a->provider = which;
	rc = kin_creds_copy(out, &a->creds, err);
out:
	pthread_mutex_unlock(&a->lock);
	return rc;
}
