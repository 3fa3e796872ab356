/* sigv4.c — AWS Signature Version 4 (header form) over OpenSSL libcrypto.
 * Follows the published signing steps and the aws-c-auth test vectors in
 * tests/data/sigv4/: canonical request, string to sign, derived key, HMAC. */
#include "sigv4.h"
#include "err.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define CANON_MAX (4u << 20)   /* headers of a Kinesis call are far smaller */
#define SMALL_MAX 8192

static const char hexd[] = "0123456789abcdef";

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexd[p[i] >> 4];
		out[2 * i + 1] = hexd[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* SHA-256 fetched from the provider once: EVP_sha256() and HMAC() look it
 * up again on every call, which costs more than hashing a short string. */
static const EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *
sha256_md(void)
{
	pthread_once(&g_sha256_once, sha256_fetch);
	return g_sha256 ? g_sha256 : EVP_sha256();
}

static int
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	return EVP_Digest(p, n, out, &len, sha256_md(), NULL) == 1 &&
	    len == 32 ? 0 : -1;
}

void
kin_sha256_hex(const void *p, size_t n, char hex[65])
{
	unsigned char md[32];

	if (sha256(p, n, md) < 0)
		memset(md, 0, sizeof md);
	tohex(md, 32, hex);
}

/* HMAC-SHA256 as RFC 2104 writes it, over the digest fetched once. */
static int
hmac(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[32])
{
	unsigned char k[64], pad[64], inner[32];
	unsigned int len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int rc = -1;

	memset(k, 0, sizeof k);
	if (c == NULL)
		return -1;
	if (klen > sizeof k) {
		if (sha256(key, klen, k) < 0)
			goto out;
	} else if (klen > 0) {
		memcpy(k, key, klen);
	}
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	if (EVP_DigestInit_ex(c, sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, sizeof pad) != 1 ||
	    EVP_DigestUpdate(c, msg, n) != 1 ||
	    EVP_DigestFinal_ex(c, inner, &len) != 1 || len != 32)
		goto out;
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	if (EVP_DigestInit_ex(c, sha256_md(), NULL) != 1 ||
	    EVP_DigestUpdate(c, pad, sizeof pad) != 1 ||
	    EVP_DigestUpdate(c, inner, sizeof inner) != 1 ||
	    EVP_DigestFinal_ex(c, out, &len) != 1 || len != 32)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	EVP_MD_CTX_free(c);
	return rc;
}

void
kin_sigv4_cache_init(struct kin_sigv4_cache *c)
{
	memset(c, 0, sizeof *c);
}

void
kin_sigv4_cache_release(struct kin_sigv4_cache *c)
{
	OPENSSL_cleanse(c, sizeof *c);
}

void
kin_sigv4_out_init(struct kin_sigv4_out *o)
{
	kin_buf_init(&o->canonical, CANON_MAX);
	kin_buf_init(&o->string_to_sign, SMALL_MAX);
	kin_buf_init(&o->authorization, SMALL_MAX);
	o->amz_date[0] = o->signature[0] = o->payload_sha256[0] = '\0';
}

void
kin_sigv4_out_release(struct kin_sigv4_out *o)
{
	kin_buf_release(&o->canonical);
	kin_buf_release(&o->string_to_sign);
	kin_buf_release(&o->authorization);
}

/* RFC 3986 unreserved characters pass; everything else is %XX (upper-case
 * hex, as SigV4 requires). */
static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
uri_encode(struct kin_buf *b, const char *s, size_t n, int keep_slash,
    char *err)
{
	static const char HEX[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			if (kin_buf_addc(b, (char)c, err) < 0)
				return -1;
		} else {
			char e[3] = { '%', HEX[c >> 4], HEX[c & 15] };
			if (kin_buf_add(b, e, 3, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into b; a '%' not followed by two hex digits is
 * kept as a literal byte (and so encoded as %25 later). */
static int
uri_decode(struct kin_buf *b, const char *s, size_t n, char *err)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		}
		if (kin_buf_addc(b, c, err) < 0)
			return -1;
	}
	return 0;
}

/* Canonical URI.  With normalize (every service but S3): empty and "."
 * segments dropped, ".." removes the previous one, a trailing slash kept
 * (vectors get-slashes-normalized, get-relative-normalized). */
static int
canon_path(struct kin_buf *out, const char *path, int normalize, char *err)
{
	size_t n = path ? strlen(path) : 0;
	const char **seg = NULL;
	size_t *segn = NULL, nseg = 0;
	int rc = -1;

	if (n == 0)
		return kin_buf_addc(out, '/', err);
	if (!normalize)
		return uri_encode(out, path, n, 1, err);

	seg = malloc((n + 1) * sizeof *seg);
	segn = malloc((n + 1) * sizeof *segn);
	if (seg == NULL || segn == NULL) {
		kin_seterr(err, "sigv4: out of memory");
		goto out;
	}
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		size_t len = j - i;
		if (len == 0 || (len == 1 && path[i] == '.')) {
			/* skip */
		} else if (len == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (nseg > 0)
				nseg--;
		} else {
			seg[nseg] = path + i;
			segn[nseg++] = len;
		}
		i = j + 1;
	}
	if (kin_buf_addc(out, '/', err) < 0)
		goto out;
	for (size_t k = 0; k < nseg; k++) {
		if (k > 0 && kin_buf_addc(out, '/', err) < 0)
			goto out;
		if (uri_encode(out, seg[k], segn[k], 0, err) < 0)
			goto out;
	}
	if (nseg > 0 && path[n - 1] == '/' && kin_buf_addc(out, '/', err) < 0)
		goto out;
	rc = 0;
out:
	free(seg);
	free(segn);
	return rc;
}

struct qparam {
	char *key;    /* encoded */
	char *val;    /* encoded */
};

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->val, y->val);
}

/* Decode then encode one key or value, so "ሴ" and "%E1%88%B4" sign alike
 * (vectors get-vanilla-utf8-query, get-vanilla-query-order-encoded). */
static char *
requote(const char *s, size_t n, char *err)
{
	struct kin_buf d, e;

	kin_buf_init(&d, CANON_MAX);
	kin_buf_init(&e, CANON_MAX);
	if (uri_decode(&d, s, n, err) < 0 ||
	    uri_encode(&e, d.p ? d.p : "", d.len, 0, err) < 0 ||
	    kin_buf_add(&e, "", 0, err) < 0) {
		kin_buf_release(&d);
		kin_buf_release(&e);
		return NULL;
	}
	kin_buf_release(&d);
	return kin_buf_detach(&e, NULL);
}

static int
canon_query(struct kin_buf *out, const char *q, char *err)
{
	struct qparam *p = NULL;
	size_t np = 0, cap = 0, n;
	int rc = -1;

	if (q == NULL || *q == '\0')
		return 0;
	n = strlen(q);
	for (size_t i = 0; i <= n;) {
		size_t j = i, eq;
		while (j < n && q[j] != '&')
			j++;
		if (j > i) {
			if (np == cap) {
				size_t nc = cap ? cap * 2 : 8;
				struct qparam *t = realloc(p, nc * sizeof *p);
				if (t == NULL) {
					kin_seterr(err, "sigv4: out of memory");
					goto out;
				}
				p = t;
				cap = nc;
			}
			eq = i;
			while (eq < j && q[eq] != '=')
				eq++;
			p[np].key = requote(q + i, eq - i, err);
			p[np].val = eq < j ?
			    requote(q + eq + 1, j - eq - 1, err) :
			    requote("", 0, err);
			np++;
			if (p[np - 1].key == NULL || p[np - 1].val == NULL)
				goto out;
		}
		i = j + 1;
	}
	qsort(p, np, sizeof *p, qparam_cmp);
	for (size_t k = 0; k < np; k++) {
		if (kin_buf_printf(out, err, "%s%s=%s", k ? "&" : "",
		    p[k].key, p[k].val) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t k = 0; k < np; k++) {
		free(p[k].key);
		free(p[k].val);
	}
	free(p);
	return rc;
}

struct chdr {
	char *name;     /* lower-case */
	char *value;    /* trimmed, blanks collapsed */
	size_t order;   /* position given, so duplicates keep their order */
};

static int
chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int
isblank_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

/* Value as SigV4 wants it: outer blanks trimmed, each inner run of blanks
 * (folded line breaks included, vector get-header-value-multiline) one
 * space.  Quoted strings are not special (vector get-header-value-trim). */
static char *
norm_value(const char *v)
{
	size_t n = strlen(v), o = 0;
	char *r = malloc(n + 1);
	int pending = 0;

	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (isblank_ws(v[i])) {
			pending = o > 0;
			continue;
		}
		if (pending)
			r[o++] = ' ';
		pending = 0;
		r[o++] = v[i];
	}
	r[o] = '\0';
	return r;
}

static char *
lower_dup(const char *s)
{
	size_t n = strlen(s);
	char *r = malloc(n + 1);

	if (r == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		r[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') :
		    s[i];
	/* a name is a token; blanks around it are not part of it */
	while (n > 0 && isblank_ws(r[n - 1]))
		n--;
	r[n] = '\0';
	return r;
}

static int
chdr_add(struct chdr *h, size_t *n, const char *name, const char *value,
    char *err)
{
	h[*n].name = lower_dup(name);
	h[*n].value = norm_value(value ? value : "");
	h[*n].order = *n;
	(*n)++;
	if (h[*n - 1].name == NULL || h[*n - 1].value == NULL)
		return kin_seterr(err, "sigv4: out of memory");
	return 0;
}

/* Canonical headers block and the signed-headers list.  Duplicate names
 * are joined with ',' in the order given (vector get-header-value-order). */
static int
canon_headers(const struct kin_sigv4_req *r, const struct kin_creds *cr,
    const char *amz_date, const char *payload_hex, struct kin_buf *out,
    struct kin_buf *signed_list, char *err)
{
	size_t cap = r->nheaders + 3, n = 0;
	struct chdr *h = calloc(cap, sizeof *h);
	int rc = -1;

	if (h == NULL)
		return kin_seterr(err, "sigv4: out of memory");
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *nm = r->headers[i].name;
		if (nm == NULL)
			continue;
		if (strcasecmp(nm, "x-amz-date") == 0 ||
		    strcasecmp(nm, "authorization") == 0 ||
		    strcasecmp(nm, "x-amz-security-token") == 0 ||
		    (r->sign_body && strcasecmp(nm, "x-amz-content-sha256") == 0))
			continue;
		if (chdr_add(h, &n, nm, r->headers[i].value, err) < 0)
			goto out;
	}
	if (chdr_add(h, &n, "x-amz-date", amz_date, err) < 0)
		goto out;
	if (cr->token != NULL && cr->token[0] != '\0' && !r->omit_token &&
	    chdr_add(h, &n, "x-amz-security-token", cr->token, err) < 0)
		goto out;
	if (r->sign_body &&
	    chdr_add(h, &n, "x-amz-content-sha256", payload_hex, err) < 0)
		goto out;
	qsort(h, n, sizeof *h, chdr_cmp);
	for (size_t i = 0; i < n; i++) {
		int same = i > 0 && strcmp(h[i].name, h[i - 1].name) == 0;
		if (same) {
			if (kin_buf_printf(out, err, ",%s", h[i].value) < 0)
				goto out;
			continue;
		}
		if (i > 0 && (kin_buf_addc(out, '\n', err) < 0 ||
		    kin_buf_addc(signed_list, ';', err) < 0))
			goto out;
		if (kin_buf_printf(out, err, "%s:%s", h[i].name, h[i].value) < 0 ||
		    kin_buf_adds(signed_list, h[i].name, err) < 0)
			goto out;
	}
	if (n > 0 && kin_buf_addc(out, '\n', err) < 0)
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	return rc;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"), reused while secret, date, region and service match. */
static int
signing_key(struct kin_sigv4_cache *c, const char *secret, const char *scope,
    const char *date, const char *region, const char *service,
    unsigned char key[32], char *err)
{
	unsigned char sh[32], k1[32], k2[32];
	size_t slen = strlen(secret);
	char *ks;
	int rc = -1;

	if (sha256(secret, slen, sh) < 0)
		return kin_seterr(err, "sigv4: SHA-256 failed");
	if (c != NULL && c->valid && strcmp(c->scope, scope) == 0 &&
	    CRYPTO_memcmp(c->secret_hash, sh, 32) == 0) {
		memcpy(key, c->key, 32);
		return 0;
	}
	ks = malloc(slen + 5);
	if (ks == NULL)
		return kin_seterr(err, "sigv4: out of memory");
	memcpy(ks, "AWS4", 4);
	memcpy(ks + 4, secret, slen + 1);
	if (hmac(ks, slen + 4, date, strlen(date), k1) < 0 ||
	    hmac(k1, 32, region, strlen(region), k2) < 0 ||
	    hmac(k2, 32, service, strlen(service), k1) < 0 ||
	    hmac(k1, 32, "aws4_request", 12, key) < 0) {
		kin_seterr(err, "sigv4: HMAC failed");
		goto out;
	}
	if (c != NULL && strlen(scope) < sizeof c->scope) {
		memcpy(c->scope, scope, strlen(scope) + 1);
		memcpy(c->secret_hash, sh, 32);
		memcpy(c->key, key, 32);
		c->valid = 1;
	}
	rc = 0;
out:
	OPENSSL_cleanse(ks, slen + 4);
	free(ks);
	OPENSSL_cleanse(k1, sizeof k1);
	OPENSSL_cleanse(k2, sizeof k2);
	return rc;
}

int
kin_sigv4_sign(const struct kin_sigv4_req *r, const struct kin_creds *cr,
    const char *region, const char *service, long long now_s,
    struct kin_sigv4_cache *cache, struct kin_sigv4_out *out, char *err)
{
	struct kin_buf signed_list;
	char date[9], scope[160], canon_hex[65];
	unsigned char key[32], sig[32];
	struct tm tm;
	time_t t = (time_t)now_s;
	int rc = -1;

	if (cr == NULL || cr->akid == NULL || cr->secret == NULL ||
	    cr->akid[0] == '\0' || cr->secret[0] == '\0')
		return kin_seterr(err, "sigv4: no credentials to sign with");
	if (r->method == NULL || region == NULL || service == NULL ||
	    region[0] == '\0' || service[0] == '\0')
		return kin_seterr(err, "sigv4: method, region and service are "
		    "required");
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out->amz_date, sizeof out->amz_date, "%Y%m%dT%H%M%SZ",
	    &tm) != 16)
		return kin_seterr(err, "sigv4: cannot format time %lld", now_s);
	memcpy(date, out->amz_date, 8);
	date[8] = '\0';
	if ((size_t)snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date,
	    region, service) >= sizeof scope)
		return kin_seterr(err, "sigv4: region or service name too long");

	kin_sha256_hex(r->payload ? r->payload : "", r->payload ? r->payload_len :
	    0, out->payload_sha256);

	kin_buf_reset(&out->canonical);
	kin_buf_reset(&out->string_to_sign);
	kin_buf_reset(&out->authorization);
	kin_buf_init(&signed_list, SMALL_MAX);

	struct kin_buf *c = &out->canonical;
	if (kin_buf_adds(c, r->method, err) < 0 || kin_buf_addc(c, '\n', err) < 0 ||
	    canon_path(c, r->path, r->normalize_path, err) < 0 ||
	    kin_buf_addc(c, '\n', err) < 0 ||
	    canon_query(c, r->query, err) < 0 || kin_buf_addc(c, '\n', err) < 0 ||
	    canon_headers(r, cr, out->amz_date, out->payload_sha256, c,
	    &signed_list, err) < 0 ||
	    kin_buf_addc(c, '\n', err) < 0 ||
	    kin_buf_add(c, signed_list.p, signed_list.len, err) < 0 ||
	    kin_buf_printf(c, err, "\n%s", out->payload_sha256) < 0)
		goto out;

	kin_sha256_hex(c->p, c->len, canon_hex);
	if (kin_buf_printf(&out->string_to_sign, err,
	    "AWS4-HMAC-SHA256\n%s\n%s\n%s", out->amz_date, scope, canon_hex) < 0)
		goto out;

	if (signing_key(cache, cr->secret, scope, date, region, service, key,
	    err) < 0)
		goto out;
	if (hmac(key, 32, out->string_to_sign.p, out->string_to_sign.len,
	    sig) < 0) {
		kin_seterr(err, "sigv4: HMAC failed");
		goto out;
	}
	tohex(sig, 32, out->signature);
	if (kin_buf_printf(&out->authorization, err,
	    "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	    cr->akid, scope, signed_list.p, out->signature) < 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof key);
	kin_buf_release(&signed_list);
	return rc;
}
