/* test_sigv4.c — the signer against every header-* case of the official
 * SigV4 vectors (tests/data/sigv4/, or $KIN_SIGV4_DIR): canonical request,
 * string to sign, signature and Authorization header, byte for byte. */
#include "t.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awsconf.h"
#include "buf.h"
#include "err.h"
#include "json.h"
#include "sigv4.h"

#define NCASES 38   /* folders in the published v4 suite */

static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char path[1024];
	struct kin_buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	kin_buf_init(&b, 1 << 20);
	kin_buf_add(&b, "", 0, NULL);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (kin_buf_add(&b, chunk, n, NULL) < 0)
			break;
	fclose(f);
	return kin_buf_detach(&b, len);
}

struct req {
	char *method, *path, *query;
	struct kin_header h[32];
	char *names[32], *values[32];
	size_t nh;
	char *body;
	size_t body_len;
};

static void
req_free(struct req *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->nh; i++) {
		free(r->names[i]);
		free(r->values[i]);
	}
	free(r->body);
}

/* request.txt: "METHOD target HTTP/1.1", headers (a line starting with a
 * blank continues the previous value, kept with its line break), a blank
 * line, then the body as-is.  The target may hold spaces (get-space-*). */
static int
parse_request(const char *t, size_t len, struct req *r)
{
	const char *end = t + len, *eol, *sp, *http, *q;

	memset(r, 0, sizeof *r);
	eol = memchr(t, '\n', len);
	if (eol == NULL)
		return -1;
	sp = memchr(t, ' ', (size_t)(eol - t));
	http = NULL;
	for (const char *p = eol - 1; p > t; p--)
		if (*p == ' ') {
			http = p;
			break;
		}
	if (sp == NULL || http == NULL || http <= sp)
		return -1;
	r->method = strndup(t, (size_t)(sp - t));
	q = memchr(sp + 1, '?', (size_t)(http - sp - 1));
	if (q != NULL) {
		r->path = strndup(sp + 1, (size_t)(q - sp - 1));
		r->query = strndup(q + 1, (size_t)(http - q - 1));
	} else {
		r->path = strndup(sp + 1, (size_t)(http - sp - 1));
	}
	for (t = eol + 1; t < end; t = eol + 1) {
		eol = memchr(t, '\n', (size_t)(end - t));
		if (eol == NULL)
			eol = end;
		size_t ll = (size_t)(eol - t);
		if (ll > 0 && t[ll - 1] == '\r')
			ll--;
		if (ll == 0) {
			if (eol < end) {
				r->body_len = (size_t)(end - eol - 1);
				r->body = strndup(eol + 1, r->body_len);
			}
			break;
		}
		if ((t[0] == ' ' || t[0] == '\t') && r->nh > 0) {
			char *v = r->values[r->nh - 1];
			size_t vl = strlen(v);
			char *nv = malloc(vl + 1 + ll + 1);
			memcpy(nv, v, vl);
			nv[vl] = '\n';
			memcpy(nv + vl + 1, t, ll);
			nv[vl + 1 + ll] = '\0';
			free(v);
			r->values[r->nh - 1] = nv;
			continue;
		}
		const char *colon = memchr(t, ':', ll);
		if (colon == NULL || r->nh == 32)
			return -1;
		r->names[r->nh] = strndup(t, (size_t)(colon - t));
		r->values[r->nh] = strndup(colon + 1, ll - (size_t)(colon - t) - 1);
		r->nh++;
		if (eol == end)
			break;
	}
	for (size_t i = 0; i < r->nh; i++) {
		r->h[i].name = r->names[i];
		r->h[i].value = r->values[i];
	}
	return 0;
}

static char *
jstr(struct kin_json *j, int obj, const char *key)
{
	char err[KIN_ERRLEN];
	int i = kin_json_get(j, obj, key);

	return i < 0 ? NULL : kin_json_strdup(j, i, err);
}

static int
jbool(struct kin_json *j, int obj, const char *key)
{
	char err[KIN_ERRLEN];
	int i = kin_json_get(j, obj, key), v = 0;

	if (i < 0 || kin_json_bool(j, i, &v, err) < 0)
		return 0;
	return v;
}

/* Value of "Authorization:" in the expected signed request. */
static char *
auth_line(const char *signed_req)
{
	const char *p = strstr(signed_req, "\nAuthorization:");
	const char *e;

	if (p == NULL)
		return NULL;
	p += strlen("\nAuthorization:");
	e = strchr(p, '\n');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

/* Returns 1 when every comparison for the case passed. */
static int
run_case(const char *dir, const char *name)
{
	char cdir[1024], err[KIN_ERRLEN] = "";
	char *ctx, *reqt, *want_cr, *want_sts, *want_sig, *want_signed, *want_auth;
	size_t ctxlen = 0, reqlen = 0;
	struct kin_json j;
	struct req rq;
	struct kin_creds cr = { 0 };
	struct kin_sigv4_req sr = { 0 };
	struct kin_sigv4_out out;
	struct kin_sigv4_cache cache;
	char *region, *service, *ts;
	struct tm tm = { 0 };
	int failed0 = t_failed, rc;

	snprintf(cdir, sizeof cdir, "%s/%s", dir, name);
	ctx = slurp(cdir, "context.json", &ctxlen);
	reqt = slurp(cdir, "request.txt", &reqlen);
	want_cr = slurp(cdir, "header-canonical-request.txt", NULL);
	want_sts = slurp(cdir, "header-string-to-sign.txt", NULL);
	want_sig = slurp(cdir, "header-signature.txt", NULL);
	want_signed = slurp(cdir, "header-signed-request.txt", NULL);
	T_CHECKF(ctx && reqt && want_cr && want_sts && want_sig && want_signed,
	    "%s: missing files", name);
	if (!(ctx && reqt && want_cr && want_sts && want_sig && want_signed))
		return 0;
	want_auth = auth_line(want_signed);

	kin_json_init(&j, 256);
	rc = kin_json_parse(&j, ctx, ctxlen, err);
	T_CHECKF(rc == 0, "%s: context.json: %s", name, err);
	int creds = kin_json_get(&j, 0, "credentials");
	T_CHECKF(creds >= 0, "%s: no credentials", name);
	cr.akid = jstr(&j, creds, "access_key_id");
	cr.secret = jstr(&j, creds, "secret_access_key");
	cr.token = jstr(&j, creds, "token");
	region = jstr(&j, 0, "region");
	service = jstr(&j, 0, "service");
	ts = jstr(&j, 0, "timestamp");
	T_CHECKF(ts && strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL,
	    "%s: timestamp", name);

	T_CHECKF(parse_request(reqt, reqlen, &rq) == 0, "%s: request.txt",
	    name);
	sr.method = rq.method;
	sr.path = rq.path;
	sr.query = rq.query;
	sr.headers = rq.h;
	sr.nheaders = rq.nh;
	sr.payload = rq.body;
	sr.payload_len = rq.body_len;
	sr.normalize_path = jbool(&j, 0, "normalize");
	sr.sign_body = jbool(&j, 0, "sign_body");
	sr.omit_token = jbool(&j, 0, "omit_session_token");

	kin_sigv4_cache_init(&cache);
	kin_sigv4_out_init(&out);
	rc = kin_sigv4_sign(&sr, &cr, region, service, (long long)timegm(&tm),
	    &cache, &out, err);
	T_CHECKF(rc == 0, "%s: sign: %s", name, err);
	if (rc == 0) {
		if (strcmp(out.canonical.p, want_cr) != 0)
			fprintf(stderr, "-- %s canonical request:\n%s\n-- want:\n%s\n",
			    name, out.canonical.p, want_cr);
		T_STREQ(out.canonical.p, want_cr);
		T_STREQ(out.string_to_sign.p, want_sts);
		T_STREQ(out.signature, want_sig);
		T_STREQ(out.authorization.p, want_auth);
		/* the cached key signs the same request the same way */
		char sig1[65];
		memcpy(sig1, out.signature, sizeof sig1);
		T_CHECK(cache.valid);
		rc = kin_sigv4_sign(&sr, &cr, region, service,
		    (long long)timegm(&tm), &cache, &out, err);
		T_CHECK(rc == 0 && strcmp(sig1, out.signature) == 0);
	}
	kin_sigv4_out_release(&out);
	req_free(&rq);
	free(cr.akid);
	free(cr.secret);
	free(cr.token);
	free(region);
	free(service);
	free(ts);
	kin_json_release(&j);
	free(ctx);
	free(reqt);
	free(want_cr);
	free(want_sts);
	free(want_sig);
	free(want_signed);
	free(want_auth);
	return t_failed == failed0;
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_vectors(void)
{
	const char *dir = getenv("KIN_SIGV4_DIR");
	char *names[256];
	size_t n = 0, pass = 0;
	struct dirent *de;
	DIR *d;

	if (dir == NULL)
		dir = "tests/data/sigv4";
	d = opendir(dir);
	T_CHECKF(d != NULL, "cannot open %s (run from the repository root)",
	    dir);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < 256) {
		char p[1024];
		snprintf(p, sizeof p, "%s/%s/header-signature.txt", dir,
		    de->d_name);
		FILE *f = fopen(p, "r");
		if (f == NULL)
			continue;
		fclose(f);
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, namecmp);
	for (size_t i = 0; i < n; i++) {
		pass += (size_t)run_case(dir, names[i]);
		free(names[i]);
	}
	fprintf(stderr, "sigv4 vectors: %zu of %zu cases pass\n", pass, n);
	T_CHECKF(n == NCASES, "found %zu cases, want %d", n, NCASES);
	T_CHECK(pass == n);
}

/* The key cache: same scope and secret reuse it; a new secret or day
 * derives a new one. */
static void
test_cache(void)
{
	struct kin_header h[] = {
		{ "Host", "kinesis.eu-west-1.amazonaws.com" },
		{ "Content-Type", "application/x-amz-json-1.1" },
		{ "X-Amz-Target", "Kinesis_20131202.ListStreams" },
	};
	struct kin_sigv4_req r = { .method = "POST", .path = "/",
	    .headers = h, .nheaders = 3, .payload = "{}", .payload_len = 2,
	    .normalize_path = 1 };
	struct kin_creds a = { .akid = "AKIDEXAMPLE",
	    .secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
	struct kin_creds b = { .akid = "AKIDEXAMPLE",
	    .secret = "anotherSecretKeyExample0000000000000000" };
	struct kin_sigv4_cache c;
	struct kin_sigv4_out o;
	char err[KIN_ERRLEN], s1[65], s2[65];
	unsigned char k1[32];

	kin_sigv4_cache_init(&c);
	kin_sigv4_out_init(&o);
	T_CHECK(kin_sigv4_sign(&r, &a, "eu-west-1", "kinesis", 1440938160,
	    &c, &o, err) == 0);
	T_CHECK(c.valid);
	T_STREQ(c.scope, "20150830/eu-west-1/kinesis/aws4_request");
	memcpy(k1, c.key, 32);
	memcpy(s1, o.signature, 65);
	T_CHECK(kin_sigv4_sign(&r, &b, "eu-west-1", "kinesis", 1440938160,
	    &c, &o, err) == 0);
	T_CHECK(memcmp(k1, c.key, 32) != 0);
	memcpy(s2, o.signature, 65);
	T_CHECK(strcmp(s1, s2) != 0);
	/* without a cache the same signature comes out */
	T_CHECK(kin_sigv4_sign(&r, &a, "eu-west-1", "kinesis", 1440938160,
	    NULL, &o, err) == 0);
	T_STREQ(o.signature, s1);
	/* next day: new scope */
	T_CHECK(kin_sigv4_sign(&r, &a, "eu-west-1", "kinesis",
	    1440938160 + 86400, &c, &o, err) == 0);
	T_STREQ(c.scope, "20150831/eu-west-1/kinesis/aws4_request");
	T_STREQ(o.amz_date, "20150831T123600Z");
	/* the secret is in no output */
	T_CHECK(strstr(o.canonical.p, a.secret) == NULL);
	T_CHECK(strstr(o.string_to_sign.p, a.secret) == NULL);
	T_CHECK(strstr(o.authorization.p, a.secret) == NULL);
	/* X-Amz-Date given by the caller is replaced, not signed twice */
	struct kin_header h2[] = { { "Host", "h" }, { "X-Amz-Date", "x" } };
	r.headers = h2;
	r.nheaders = 2;
	T_CHECK(kin_sigv4_sign(&r, &a, "eu-west-1", "kinesis", 1440938160,
	    &c, &o, err) == 0);
	T_CHECK(strstr(o.canonical.p, "x-amz-date:x") == NULL);
	T_CHECK(strstr(o.authorization.p, "SignedHeaders=host;x-amz-date,")
	    != NULL);
	/* missing credentials fail with a message and no crash */
	struct kin_creds none = { 0 };
	T_CHECK(kin_sigv4_sign(&r, &none, "eu-west-1", "kinesis", 0, &c, &o,
	    err) == -1);
	T_CHECK(strstr(err, "credentials") != NULL);
	kin_sigv4_out_release(&o);
	kin_sigv4_cache_release(&c);
	T_CHECK(!c.valid);
}

static void
test_sha256(void)
{
	char hex[65];

	kin_sha256_hex("", 0, hex);
	T_STREQ(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	kin_sha256_hex("abc", 3, hex);
	T_STREQ(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int
main(void)
{
	test_sha256();
	test_vectors();
	test_cache();
	T_DONE();
}
