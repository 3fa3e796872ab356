/* sigv4.h — AWS Signature Version 4 over OpenSSL's libcrypto.
 * Given a request and credentials, produce the canonical request, the string
 * to sign and the Authorization header exactly as the official vectors do.
 * Ownership: struct kin_sigv4_cache is the caller's (init/release); the
 * strings in struct kin_sigv4_out are buffers it owns (release). */
#ifndef KIN_SIGV4_H
#define KIN_SIGV4_H

#include <stddef.h>
#include "awsconf.h"
#include "buf.h"

struct kin_header {
	const char *name;
	const char *value;
};

struct kin_sigv4_req {
	const char *method;        /* "POST" */
	const char *path;          /* as on the request line, before '?' */
	const char *query;         /* after '?', or NULL */
	const struct kin_header *headers;  /* includes Host; X-Amz-Date and
	                                      X-Amz-Security-Token are added */
	size_t nheaders;
	const void *payload;
	size_t payload_len;
	int normalize_path;        /* 1 for every service but S3 */
	int sign_body;             /* add and sign x-amz-content-sha256 */
	int omit_token;            /* leave X-Amz-Security-Token out of the
	                              signature (the caller still sends it),
	                              as the vectors' post-sts-header-after */
};

/* Derived signing key, cached per (secret, date, region, service): deriving
 * it costs four HMACs, signing a request only one.  Not locked: one cache
 * per thread (one per kin_client).  Holds the secret's SHA-256, never the
 * secret, and the derived key (good for that day, region and service only);
 * kin_sigv4_cache_release wipes it. */
struct kin_sigv4_cache {
	char scope[128];
	unsigned char secret_hash[32];
	unsigned char key[32];
	int valid;
};

struct kin_sigv4_out {
	struct kin_buf canonical;      /* canonical request */
	struct kin_buf string_to_sign;
	struct kin_buf authorization;  /* value of the Authorization header */
	char amz_date[17];             /* YYYYMMDDTHHMMSSZ */
	char signature[65];
	char payload_sha256[65];       /* x-amz-content-sha256 when sign_body */
};

void kin_sigv4_cache_init(struct kin_sigv4_cache *c);
void kin_sigv4_cache_release(struct kin_sigv4_cache *c);
void kin_sigv4_out_init(struct kin_sigv4_out *o);
void kin_sigv4_out_release(struct kin_sigv4_out *o);

/* now_s: seconds since the epoch (the clock is a parameter so tests can fix
 * it).  Returns 0 or -1 with err.  The path is signed as given, each byte
 * outside RFC 3986's unreserved set (and '/') percent-encoded once more, so
 * pass the path as it goes on the request line.  Query parameters are
 * decoded, re-encoded and sorted.  Caller-given X-Amz-Date, Authorization
 * and X-Amz-Security-Token headers are ignored; the caller sends
 * X-Amz-Date: out->amz_date, X-Amz-Security-Token: cr->token (if any),
 * x-amz-content-sha256: out->payload_sha256 (if sign_body) and
 * Authorization: out->authorization.p. */
int kin_sigv4_sign(const struct kin_sigv4_req *r, const struct kin_creds *cr,
    const char *region, const char *service, long long now_s,
    struct kin_sigv4_cache *cache, struct kin_sigv4_out *out, char *err);

/* Lower-case hex SHA-256 of p[0..n) into hex[65]. */
void kin_sha256_hex(const void *p, size_t n, char hex[65]);

#endif
