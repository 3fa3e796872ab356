/* creds.h — internal to awsconf: the credential providers of the chain.
 * Each fills *c (which the caller releases) and returns 1 when it answered,
 * 0 when it is not configured (nothing to try; err may say why), or -1 with
 * err when it is configured but failed.  No error message holds a secret. */
#ifndef KIN_CREDS_H
#define KIN_CREDS_H

#include <stddef.h>
#include <stdint.h>
#include "awsconf.h"

int kin_creds_env(const struct kin_aws *a, struct kin_creds *c, char *err);
int kin_creds_profile(const struct kin_aws *a, struct kin_creds *c,
    char *err);
int kin_creds_web_identity(const struct kin_aws *a, struct kin_creds *c,
    char *err);
int kin_creds_ecs(const struct kin_aws *a, struct kin_creds *c, char *err);
int kin_creds_imds(const struct kin_aws *a, struct kin_creds *c, char *err);

/* Credentials JSON as credential_process (process=1: Version 1,
 * SessionToken) or ECS/IMDS (Token, optional Code) write it.  what names the
 * source in errors. */
int kin_creds_from_json(const char *js, size_t n, int process,
    const char *what, struct kin_creds *c, char *err);

/* "2026-11-25T18:05:53Z" (fraction and numeric offset allowed) to
 * microseconds since the epoch; -1 if malformed. */
int kin_creds_time(const char *s, size_t n, int64_t *us);
int64_t kin_creds_now_us(void);

/* Value of an environment variable, NULL when unset or empty. */
const char *kin_env(const char *name);

#endif
