/* http.c — requests over one kept-alive libcurl easy handle: timeouts, TLS
 * verification, a ceiling on response bodies, the x-amzn-ErrorType header,
 * transport failures sorted into a few kinds, and a redacted trace. */
#include "http.h"
#include "err.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRACE_LINE 2048
#define TRACE_BODY 1024

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void
global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One transfer: where its body goes and how much of it may come. */
struct xfer {
	struct kin_http *h;
	struct kin_http_resp *r;
	size_t max;
	int oom;
};

static void
clean(char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void
trace_text(struct kin_http *h, const char *prefix, const char *s, size_t len)
{
	char red[TRACE_LINE], line[TRACE_LINE + 8];

	/* redact all of s before anything is cut, so a cut can never leave
	 * half a secret behind */
	kin_redactn(s, len, red, sizeof red);
	snprintf(line, sizeof line, "%s%s", prefix, red);
	clean(line);
	h->cfg.trace(h->cfg.trace_ctx, line);
}

static void
trace_body(struct kin_http *h, const char *prefix, const char *p, size_t len)
{
	char out[TRACE_BODY + 64];
	size_t n;

	if (len == 0)
		return;
	n = (size_t)snprintf(out, sizeof out, "%s%zu bytes: ", prefix, len);
	kin_redactn(p, len, out + n, TRACE_BODY);
	if (strlen(out + n) + 1 >= TRACE_BODY)
		memcpy(out + strlen(out), "...", 4);
	clean(out);
	h->cfg.trace(h->cfg.trace_ctx, out);
}

static int
on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *ud)
{
	struct kin_http *h = ud;
	const char *prefix;
	size_t i, start;

	(void)c;
	switch (type) {
	case CURLINFO_TEXT:		prefix = "* "; break;
	case CURLINFO_HEADER_IN:	prefix = "< "; break;
	case CURLINFO_HEADER_OUT:	prefix = "> "; break;
	default:			return 0;
	}
	for (start = i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		size_t end = i;
		if (end > start && data[end - 1] == '\r')
			end--;
		if (end > start)
			trace_text(h, prefix, data + start, end - start);
		start = i + 1;
	}
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (n > x->max || x->r->body.len > x->max - n) {
		x->r->toobig = 1;
		return 0;   /* abort: CURLE_WRITE_ERROR */
	}
	if (kin_buf_add(&x->r->body, p, n, NULL) < 0) {
		x->oom = 1;
		return 0;
	}
	return n;
}

static int
header_is(const char *line, size_t n, const char *name, const char **val,
    size_t *vlen)
{
	size_t nl = strlen(name);

	if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
		return 0;
	line += nl + 1;
	n -= nl + 1;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
	    line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*val = line;
	*vlen = n;
	return 1;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb, vlen;
	const char *v;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue or a redirect) */
		x->r->errortype[0] = '\0';
	} else if (header_is(p, n, "x-amzn-ErrorType", &v, &vlen)) {
		/* "Type:http://internal.amazon.com/..." -> "Type" */
		const char *colon = memchr(v, ':', vlen);
		if (colon != NULL)
			vlen = (size_t)(colon - v);
		if (vlen >= sizeof x->r->errortype)
			vlen = sizeof x->r->errortype - 1;
		memcpy(x->r->errortype, v, vlen);
		x->r->errortype[vlen] = '\0';
	} else if (header_is(p, n, "Content-Length", &v, &vlen)) {
		/* size the buffer once instead of doubling into it */
		char num[24];
		unsigned long long cl;
		char *end;
		if (vlen > 0 && vlen < sizeof num) {
			memcpy(num, v, vlen);
			num[vlen] = '\0';
			cl = strtoull(num, &end, 10);
			if (*end == '\0' && cl <= x->max && cl > x->r->body.len)
				(void)kin_buf_reserve(&x->r->body,
				    (size_t)cl - x->r->body.len, NULL);
		}
	}
	return n;
}

int
kin_http_init(struct kin_http *h, const struct kin_http_cfg *cfg, char *err)
{
	CURL *c;

	memset(h, 0, sizeof *h);
	if (cfg != NULL)
		h->cfg = *cfg;
	if (h->cfg.connect_timeout_ms <= 0)
		h->cfg.connect_timeout_ms = 2000;
	if (h->cfg.timeout_ms <= 0)
		h->cfg.timeout_ms = 10000;
	if (h->cfg.max_body == 0)
		h->cfg.max_body = 16u << 20;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return kin_seterr(err, "http: cannot initialise libcurl: %s",
		    curl_easy_strerror(global_rc));
	if ((c = curl_easy_init()) == NULL)
		return kin_seterr(err, "http: cannot create a curl handle");
	h->curl = c;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curlerr);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->cfg.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->cfg.timeout_ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->cfg.no_verify ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->cfg.no_verify ? 0L : 2L);
	if (h->cfg.ca_bundle != NULL && *h->cfg.ca_bundle != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg.ca_bundle);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, h);
	return 0;
}

void
kin_http_release(struct kin_http *h)
{
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

void
kin_http_resp_init(struct kin_http_resp *r, size_t max_body)
{
	memset(r, 0, sizeof *r);
	kin_buf_init(&r->body, max_body);
}

void
kin_http_resp_release(struct kin_http_resp *r)
{
	kin_buf_release(&r->body);
}

static enum kin_http_fail
classify(CURLcode rc, const struct xfer *x)
{
	switch (rc) {
	case CURLE_OK:
		return KIN_HTTP_FAIL_NONE;
	case CURLE_OPERATION_TIMEDOUT:
		return KIN_HTTP_FAIL_TIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return KIN_HTTP_FAIL_CONNECT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return KIN_HTTP_FAIL_TLS;
	case CURLE_WRITE_ERROR:
		if (x->r->toobig)
			return KIN_HTTP_FAIL_TOOBIG;
		return x->oom ? KIN_HTTP_FAIL_OTHER : KIN_HTTP_FAIL_IO;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_SSL_SHUTDOWN_FAILED:
		return KIN_HTTP_FAIL_IO;
	default:
		return KIN_HTTP_FAIL_OTHER;
	}
}

static const char *
header_value(const struct kin_header *hdrs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(hdrs[i].name, name) == 0)
			return hdrs[i].value;
	return NULL;
}

/* "Name: value", or "Name;" which is how curl sends an empty value. */
static struct curl_slist *
build_headers(const struct kin_header *hdrs, size_t n, char *err)
{
	struct curl_slist *l = NULL, *t;
	struct kin_buf b;

	kin_buf_init(&b, 64 * 1024);
	for (size_t i = 0; i < n; i++) {
		kin_buf_reset(&b);
		if (kin_buf_adds(&b, hdrs[i].name, err) < 0 ||
		    kin_buf_adds(&b, *hdrs[i].value ? ": " : ";", err) < 0 ||
		    kin_buf_adds(&b, hdrs[i].value, err) < 0)
			goto fail;
		if ((t = curl_slist_append(l, b.p)) == NULL)
			goto oom;
		l = t;
	}
	/* no 100-continue round trip before large PutRecords bodies */
	if ((t = curl_slist_append(l, "Expect:")) == NULL)
		goto oom;
	kin_buf_release(&b);
	return t;
oom:
	kin_seterr(err, "http: out of memory for headers");
fail:
	kin_buf_release(&b);
	curl_slist_free_all(l);
	return NULL;
}

int
kin_http_do(struct kin_http *h, const char *method, const char *url,
    const struct kin_header *hdrs, size_t nhdrs, const void *body,
    size_t len, struct kin_http_resp *r, enum kin_http_fail *fail,
    char *err)
{
	CURL *c = h->curl;
	struct curl_slist *hl;
	struct xfer x;
	CURLcode rc;
	int tracing = h->cfg.trace != NULL, verbose;
	char safe_url[512];
	const char *target;

	*fail = KIN_HTTP_FAIL_OTHER;
	kin_buf_reset(&r->body);
	r->status = 0;
	r->errortype[0] = '\0';
	r->seconds = 0;
	r->toobig = 0;
	x.h = h;
	x.r = r;
	x.max = r->body.max < h->cfg.max_body ? r->body.max : h->cfg.max_body;
	x.oom = 0;
	if ((hl = build_headers(hdrs, nhdrs, err)) == NULL)
		return -1;

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, (char *)NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
		    strcmp(method, "POST") == 0 ? NULL : method);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	verbose = tracing && h->cfg.trace_headers;
	curl_easy_setopt(c, CURLOPT_VERBOSE, (long)verbose);
	h->curlerr[0] = '\0';
	if (verbose)
		trace_body(h, "> body ", body, len);

	rc = curl_easy_perform(c);

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
	curl_slist_free_all(hl);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r->seconds);
	kin_redact(url, safe_url, sizeof safe_url);
	target = header_value(hdrs, nhdrs, "X-Amz-Target");
	if (target == NULL)
		target = "";
	*fail = classify(rc, &x);
	if (rc != CURLE_OK) {
		const char *why = h->curlerr[0] ? h->curlerr :
		    curl_easy_strerror(rc);
		if (*fail == KIN_HTTP_FAIL_TOOBIG)
			kin_seterr(err, "%s %s: response larger than %zu bytes",
			    method, safe_url, x.max);
		else
			kin_seterr(err, "%s %s: %s", method, safe_url, why);
		if (tracing) {
			char line[TRACE_LINE];
			snprintf(line, sizeof line, "%s %s %s: failed after "
			    "%.1f ms: %s", method, safe_url, target,
			    r->seconds * 1000, err);
			trace_text(h, "", line, strlen(line));
		}
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (tracing) {
		char line[TRACE_LINE];
		if (verbose)
			trace_body(h, "< body ", r->body.p, r->body.len);
		snprintf(line, sizeof line, "%s %s %s: %ld%s%s, %zu bytes out, "
		    "%zu bytes in, %.1f ms", method, safe_url, target,
		    r->status, r->errortype[0] ? " " : "", r->errortype, len,
		    r->body.len, r->seconds * 1000);
		trace_text(h, "", line, strlen(line));
	}
	return 0;
}
