/* awsconf.h — AWS settings and credentials, read the way the SDKs read them
 * (DESIGN.md section 3).
 * Ownership: struct kin_aws is the caller's; kin_aws_init() fills it,
 * kin_aws_release() frees everything it holds.  Secrets live only here and
 * in struct kin_creds; nothing in this module prints them. */
#ifndef KIN_AWSCONF_H
#define KIN_AWSCONF_H

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
	/* credentials cache, refreshed by kin_aws_creds() */
	pthread_mutex_t lock;
	struct kin_creds creds;
	int have_creds;
};

/* region/endpoint/profile: command-line values or NULL.  Fails (err) when no
 * region can be found; the caller exits 78.  service is "kinesis" (it picks
 * AWS_ENDPOINT_URL_KINESIS and the default host). */
int kin_aws_init(struct kin_aws *a, const char *service, const char *region,
    const char *endpoint, const char *profile, char *err);
void kin_aws_release(struct kin_aws *a);

/* Current credentials (copied into *out, caller releases), loading them
 * through the chain on first use and refreshing them when they expire within
 * 5 minutes.  -1 with err when no provider answers (exit 78). Thread-safe. */
int kin_aws_creds(struct kin_aws *a, struct kin_creds *out, char *err);

/* Shared config/credentials file lookup: value of key in [profile] (the
 * config file spells it [profile NAME] except for default).  Returns a
 * malloc'd string, NULL if absent. Exposed for tests. */
char *kin_ini_get(const char *path, const char *section, const char *key);

#endif
