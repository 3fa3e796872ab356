/* http.h — one kept-alive libcurl easy handle per connection.
 * Ownership: struct kin_http is the caller's (init/release); a response's
 * body buffer belongs to struct kin_http_resp (init/release).
 * Not thread-safe: one kin_http per thread. */
#ifndef KIN_HTTP_H
#define KIN_HTTP_H

#include <stddef.h>
#include "buf.h"
#include "sigv4.h"

/* Trace sink for -vv/-vvv: one line, no newline, secrets already redacted. */
typedef void (*kin_trace_fn)(void *ctx, const char *line);

struct kin_http_cfg {
	long connect_timeout_ms;   /* default 2000 */
	long timeout_ms;           /* whole request, default 10000 */
	size_t max_body;           /* response ceiling, default 16 MiB */
	const char *ca_bundle;     /* AWS_CA_BUNDLE, or NULL for the system's */
	int no_verify;             /* skip TLS verification (the caller has
	                              made sure the host is loopback) */
	kin_trace_fn trace;        /* NULL = no trace */
	void *trace_ctx;
	int trace_headers;         /* also headers and bodies (-vvv) */
};

struct kin_http {
	void *curl;                /* CURL * */
	struct kin_http_cfg cfg;
	char curlerr[256];         /* CURLOPT_ERRORBUFFER */
};

struct kin_http_resp {
	long status;
	struct kin_buf body;
	char errortype[128];       /* x-amzn-ErrorType header, if any */
	double seconds;            /* total time */
	int toobig;                /* set when the body passed its ceiling */
};

enum kin_http_fail {
	KIN_HTTP_FAIL_NONE = 0,
	KIN_HTTP_FAIL_CONNECT,     /* refused, DNS, TLS handshake */
	KIN_HTTP_FAIL_TIMEOUT,
	KIN_HTTP_FAIL_IO,          /* reset or truncated mid-response */
	KIN_HTTP_FAIL_TOOBIG,      /* body over max_body */
	KIN_HTTP_FAIL_TLS,         /* certificate not trusted, CA bundle bad */
	KIN_HTTP_FAIL_OTHER,       /* bad URL, out of memory, ... */
};

/* Zero fields of cfg take the defaults. */
int kin_http_init(struct kin_http *h, const struct kin_http_cfg *cfg,
    char *err);
void kin_http_release(struct kin_http *h);
void kin_http_resp_init(struct kin_http_resp *r, size_t max_body);
void kin_http_resp_release(struct kin_http_resp *r);

/* Send method to url with the given headers and body.  Returns 0 when any
 * HTTP response arrived (check r->status), or -1 with *fail and err on a
 * transport failure.  The body is capped at the smaller of r->body's and
 * the handle's ceiling. */
int kin_http_do(struct kin_http *h, const char *method, const char *url,
    const struct kin_header *hdrs, size_t nhdrs, const void *body,
    size_t len, struct kin_http_resp *r, enum kin_http_fail *fail,
    char *err);

/* Copy line into out (n bytes, always NUL-terminated) with the values of
 * Authorization, X-Amz-Security-Token and secret-looking fields (JSON, XML
 * or key=value: SecretAccessKey, Token, SessionToken, Signature, ...)
 * replaced by "REDACTED". */
void kin_redact(const char *line, char *out, size_t n);
/* Same on s[0..len), which need not be NUL-terminated. */
void kin_redactn(const char *s, size_t len, char *out, size_t n);

#endif
