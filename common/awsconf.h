/* awsconf.h — AWS settings and credentials, read the way the SDKs read them
 * (DESIGN.md section 3).
 * Ownership: struct kin_aws is the caller's; kin_aws_init() fills it,
 * kin_aws_release() frees everything it holds.  Secrets live only here and
 * in struct kin_creds; nothing in this module prints them. */
#ifndef KIN_AWSCONF_H
#define KIN_AWSCONF_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

struct kin_creds {
	char *akid;
	char *secret;
	char *token;         /* NULL unless temporary */
	int64_t expires_us;  /* 0 = does not expire */
	const char *source;  /* "env", "profile", "process", "web-identity",
	                        "ecs", "imds" (static string) */
};

void kin_creds_release(struct kin_creds *c);
int kin_creds_copy(struct kin_creds *dst, const struct kin_creds *src,
    char *err);

struct kin_aws {
	char *region;
	char *endpoint;     /* full URL, no trailing slash */
	char *profile;      /* profile name in use ("default" if none) */
	char *ca_bundle;    /* AWS_CA_BUNDLE or NULL */
	int max_attempts;   /* AWS_MAX_ATTEMPTS, default 3 */
	int no_verify_ssl;  /* --no-verify-ssl: set by the client, loopback
	                       endpoints only */
	/* credentials cache, refreshed by kin_aws_creds() */
	pthread_mutex_t lock;
	struct kin_creds creds;
	int have_creds;
	int provider;       /* index of the provider that answered, -1 none */
};

/* region/endpoint/profile: command-line values or NULL.  Fails (err) when no
 * region can be found; the caller exits 78.  service is "kinesis" (it picks
 * AWS_ENDPOINT_URL_KINESIS and the default host). */
int kin_aws_init(struct kin_aws *a, const char *service, const char *region,
    const char *endpoint, const char *profile, char *err);
void kin_aws_release(struct kin_aws *a);

/* Endpoint of service: cli, else AWS_ENDPOINT_URL_<SERVICE> (upper-cased,
 * '-' as '_'), AWS_ENDPOINT_URL, else https://SERVICE.REGION.amazonaws.com;
 * the variables are skipped when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true.
 * A malloc'd URL without trailing slash into *out; -1 with err when it is
 * not http(s). */
int kin_aws_endpoint_for(const char *service, const char *region,
    const char *cli, char **out, char *err);

/* Current credentials (copied into *out, caller releases), loading them
 * through the chain on first use and refreshing them when they expire within
 * 5 minutes.  -1 with err when no provider answers (exit 78). Thread-safe. */
int kin_aws_creds(struct kin_aws *a, struct kin_creds *out, char *err);

/* Shared config/credentials file lookup: value of key in the section whose
 * bracketed name is section (blanks around and inside normalised, so
 * "[ profile  x ]" is "profile x").  Section names are case-sensitive, keys
 * are not; '#' and ';' start comment lines, and after a blank they end a
 * value; indented lines are sub-properties and never match.  The last
 * occurrence wins.  Returns a malloc'd string, NULL if absent.  Exposed for
 * tests. */
char *kin_ini_get(const char *path, const char *section, const char *key);
/* 1 if the file has a section of that name. */
int kin_ini_has(const char *path, const char *section);

/* key of profile in the config file: [profile NAME], or [default] /
 * [profile default] for "default".  malloc'd or NULL. */
char *kin_config_get(const char *profile, const char *key);
/* Paths in use: AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE
 * or ~/.aws/credentials, into buf[n]. */
const char *kin_config_path(char *buf, size_t n);
const char *kin_credentials_path(char *buf, size_t n);

#endif
