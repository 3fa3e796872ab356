/* creds_http.c — the credential providers that ask a service over HTTP:
 * STS AssumeRoleWithWebIdentity, ECS container credentials and EC2
 * instance metadata (IMDSv2).  Plain libcurl easy handles: these calls are
 * rare and small, and must not depend on the Kinesis HTTP client. */
#include "creds.h"
#include "buf.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#define ANSWER_MAX (64 * 1024)
#define TOKEN_FILE_MAX (64 * 1024)

struct hreq {
	const char *what;          /* names the call in errors */
	const char *method;
	const char *url;
	struct curl_slist *hdrs;
	const char *body;
	long connect_ms, total_ms;
	int noproxy;               /* link-local services never via a proxy */
	const char *ca_bundle;
};

static size_t
on_data(char *p, size_t sz, size_t n, void *u)
{
	struct kin_buf *b = u;

	if (kin_buf_add(b, p, sz * n, NULL) < 0)
		return 0;   /* over the ceiling: curl stops with a write error */
	return sz * n;
}

/* 0 when an HTTP answer came (*status set), -1 with err on transport
 * failure. */
static int
http(const struct hreq *q, struct kin_buf *out, long *status, char *err)
{
	CURL *h = curl_easy_init();
	CURLcode rc;

	*status = 0;
	if (h == NULL)
		return kin_seterr(err, "%s: cannot create a curl handle", q->what);
	curl_easy_setopt(h, CURLOPT_URL, q->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, q->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, q->total_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kin/" KIN_VERSION);
	if (q->hdrs != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, q->hdrs);
	if (q->noproxy)
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (q->ca_bundle != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, q->ca_bundle);
	if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? q->body : "");
	} else if (strcmp(q->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (rc == CURLE_WRITE_ERROR)
		return kin_seterr(err, "%s (%s): answer over %d bytes", q->what,
		    q->url, ANSWER_MAX);
	if (rc != CURLE_OK)
		return kin_seterr(err, "%s (%s): %s", q->what, q->url,
		    curl_easy_strerror(rc));
	return 0;
}

/* A small secret file (a token), blanks at the end removed.  malloc'd. */
static char *
read_token_file(const char *path, const char *what, char *err)
{
	struct kin_buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		kin_seterrno(err, errno, "%s: cannot read token file '%s'", what,
		    path);
		return NULL;
	}
	kin_buf_init(&b, TOKEN_FILE_MAX);
	kin_buf_add(&b, "", 0, NULL);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (kin_buf_add(&b, chunk, n, NULL) < 0) {
			fclose(f);
			OPENSSL_cleanse(b.p, b.len);
			kin_buf_release(&b);
			kin_seterr(err, "%s: token file '%s' is over %d bytes",
			    what, path, TOKEN_FILE_MAX);
			return NULL;
		}
	OPENSSL_cleanse(chunk, sizeof chunk);
	fclose(f);
	while (b.len > 0 && isspace((unsigned char)b.p[b.len - 1]))
		b.p[--b.len] = '\0';
	if (b.len == 0 || memchr(b.p, '\0', b.len) != NULL) {
		kin_buf_release(&b);
		kin_seterr(err, "%s: token file '%s' is empty or binary", what,
		    path);
		return NULL;
	}
	return kin_buf_detach(&b, NULL);
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

/* ---- STS AssumeRoleWithWebIdentity ---- */

/* Text of the first <tag>...</tag> after from, XML entities decoded.
 * malloc'd, or NULL. */
static char *
xml_text(const char *doc, const char *tag)
{
	char open[64], close[64];
	const char *s, *e;
	char *r, *o;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if ((s = strstr(doc, open)) == NULL)
		return NULL;
	s += strlen(open);
	if ((e = strstr(s, close)) == NULL)
		return NULL;
	if ((r = malloc((size_t)(e - s) + 1)) == NULL)
		return NULL;
	for (o = r; s < e; s++) {
		static const struct { const char *ent; char c; } ents[] = {
			{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
			{ "&quot;", '"' }, { "&apos;", '\'' },
		};
		size_t k;
		for (k = 0; k < sizeof ents / sizeof ents[0]; k++) {
			size_t l = strlen(ents[k].ent);
			if ((size_t)(e - s) >= l && memcmp(s, ents[k].ent, l) == 0)
				break;
		}
		if (k < sizeof ents / sizeof ents[0]) {
			*o++ = ents[k].c;
			s += strlen(ents[k].ent) - 1;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return r;
}

static int
form_add(struct kin_buf *b, CURL *h, const char *k, const char *v, char *err)
{
	char *ev = curl_easy_escape(h, v, 0);
	int rc;

	if (ev == NULL)
		return kin_seterr(err, "web identity: out of memory");
	rc = kin_buf_printf(b, err, "%s%s=%s", b->len ? "&" : "", k, ev);
	OPENSSL_cleanse(ev, strlen(ev));
	curl_free(ev);
	return rc;
}

int
kin_creds_web_identity(const struct kin_aws *a, struct kin_creds *c,
    char *err)
{
	const char *file = kin_env("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char *role = kin_env("AWS_ROLE_ARN");
	const char *name = kin_env("AWS_ROLE_SESSION_NAME");
	static const char *what = "web identity (STS AssumeRoleWithWebIdentity)";
	char sess[64], *tok = NULL, *url = NULL, *exp = NULL;
	struct kin_buf body, ans;
	struct hreq q = { .what = what, .method = "POST", .connect_ms = 5000,
	    .total_ms = 15000, .ca_bundle = a->ca_bundle };
	long status;
	int rc = -1;
	CURL *h;

	if (file == NULL && role == NULL)
		return 0;
	if (file == NULL || role == NULL)
		return kin_seterr(err, "web identity: %s is set but %s is not",
		    file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
		    file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
	if (name == NULL) {
		snprintf(sess, sizeof sess, "kin-%lld", (long long)time(NULL));
		name = sess;
	}
	if ((tok = read_token_file(file, "web identity", err)) == NULL)
		return -1;
	/* the STS endpoint follows the same rules as any service's */
	if (kin_aws_endpoint_for("sts", a->region, NULL, &url, err) < 0) {
		free_secret(tok);
		return -1;
	}
	char full[600];
	snprintf(full, sizeof full, "%s/", url);
	q.url = full;
	kin_buf_init(&body, TOKEN_FILE_MAX * 4);
	kin_buf_init(&ans, ANSWER_MAX);
	h = curl_easy_init();
	if (h == NULL ||
	    form_add(&body, h, "Action", "AssumeRoleWithWebIdentity", err) < 0 ||
	    form_add(&body, h, "Version", "2011-06-15", err) < 0 ||
	    form_add(&body, h, "RoleArn", role, err) < 0 ||
	    form_add(&body, h, "RoleSessionName", name, err) < 0 ||
	    form_add(&body, h, "WebIdentityToken", tok, err) < 0)
		goto out;
	q.body = body.p;
	q.hdrs = curl_slist_append(NULL, "Content-Type: "
	    "application/x-www-form-urlencoded; charset=utf-8");
	q.hdrs = curl_slist_append(q.hdrs, "Accept: text/xml");
	if (http(&q, &ans, &status, err) < 0)
		goto out;
	kin_buf_add(&ans, "", 0, NULL);
	if (status != 200) {
		char *code = xml_text(ans.p, "Code");
		char *msg = xml_text(ans.p, "Message");
		kin_seterr(err, "%s: HTTP %ld%s%.64s%s%.200s", what, status,
		    code ? ": " : "", code ? code : "", msg ? ": " : "",
		    msg ? msg : "");
		free(code);
		free(msg);
		goto out;
	}
	c->akid = xml_text(ans.p, "AccessKeyId");
	c->secret = xml_text(ans.p, "SecretAccessKey");
	c->token = xml_text(ans.p, "SessionToken");
	exp = xml_text(ans.p, "Expiration");
	if (c->akid == NULL || c->secret == NULL || c->token == NULL ||
	    c->akid[0] == '\0' || c->secret[0] == '\0') {
		kin_seterr(err, "%s: answer lacks AccessKeyId, SecretAccessKey "
		    "or SessionToken", what);
		goto out;
	}
	if (exp != NULL && kin_creds_time(exp, strlen(exp), &c->expires_us) < 0) {
		kin_seterr(err, "%s: Expiration is not an ISO 8601 time", what);
		goto out;
	}
	c->source = "web-identity";
	rc = 1;
out:
	curl_slist_free_all(q.hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	if (body.p != NULL)
		OPENSSL_cleanse(body.p, body.len);
	if (ans.p != NULL)
		OPENSSL_cleanse(ans.p, ans.len);
	kin_buf_release(&body);
	kin_buf_release(&ans);
	free_secret(tok);
	free(url);
	free(exp);
	return rc;
}

/* ---- ECS container credentials ---- */

/* Plain http only to the hosts the SDKs allow: loopback, the ECS and EKS
 * Pod Identity link-local addresses; https anywhere. */
static int
container_url_ok(const char *url, char *err)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int ok = 0;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		kin_seterr(err, "container credentials: '%s' is not a URL", url);
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0 ||
	    (strcasecmp(scheme, "http") == 0 &&
	    (strncmp(host, "127.", 4) == 0 || strcmp(host, "localhost") == 0 ||
	    strcmp(host, "[::1]") == 0 || strcmp(host, "169.254.170.2") == 0 ||
	    strcmp(host, "169.254.170.23") == 0 ||
	    strcasecmp(host, "[fd00:ec2::23]") == 0)))
		ok = 1;
	else
		kin_seterr(err, "container credentials: '%s': plain http is "
		    "only allowed to a loopback or the container agent's "
		    "address", url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok ? 0 : -1;
}

/* GET the keys at q->url into c; ans holds the answer (wiped by the
 * caller).  1 on success, -1 with err. */
static int
fetch_keys(const struct hreq *q, struct kin_buf *ans, const char *source,
    struct kin_creds *c, char *err)
{
	long status;

	if (http(q, ans, &status, err) < 0)
		return -1;
	if (status != 200)
		return kin_seterr(err, "%s (%s): HTTP %ld", q->what, q->url,
		    status);
	if (kin_creds_from_json(ans->p ? ans->p : "", ans->len, 0, q->what,
	    c, err) < 0)
		return -1;
	c->source = source;
	return 1;
}

/* "NAME: TOKEN" as a header line, or NULL with err (the token must not
 * break the line). */
static char *
token_header(const char *name, const char *tok, const char *what, char *err)
{
	size_t n = strlen(name) + strlen(tok) + 3;
	char *hdr;

	if (strpbrk(tok, "\r\n") != NULL) {
		kin_seterr(err, "%s: token holds a line break", what);
		return NULL;
	}
	if ((hdr = malloc(n)) == NULL) {
		kin_seterr(err, "%s: out of memory", what);
		return NULL;
	}
	snprintf(hdr, n, "%s: %s", name, tok);
	return hdr;
}

int
kin_creds_ecs(const struct kin_aws *a, struct kin_creds *c, char *err)
{
	const char *rel = kin_env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = kin_env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tokfile = kin_env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tokenv = kin_env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	static const char *what = "container credentials";
	char url[2048], *tok = NULL, *hdr = NULL;
	struct hreq q = { .what = what, .method = "GET", .url = url,
	    .connect_ms = 2000, .total_ms = 5000, .noproxy = 1,
	    .ca_bundle = a->ca_bundle };
	struct kin_buf ans;
	int rc;

	if (rel == NULL && full == NULL)
		return 0;
	if (rel != NULL) {
		/* the ECS agent's fixed address */
		snprintf(url, sizeof url, "http://169.254.170.2%s%s",
		    rel[0] == '/' ? "" : "/", rel);
	} else {
		snprintf(url, sizeof url, "%s", full);
		if (container_url_ok(url, err) < 0)
			return -1;
	}
	/* the token file wins over the variable (EKS rotates the file) */
	if (tokfile != NULL) {
		if ((tok = read_token_file(tokfile, what, err)) == NULL)
			return -1;
	} else if (tokenv != NULL && (tok = strdup(tokenv)) == NULL) {
		return kin_seterr(err, "%s: out of memory", what);
	}
	if (tok != NULL) {
		if ((hdr = token_header("Authorization", tok, what, err)) ==
		    NULL) {
			free_secret(tok);
			return -1;
		}
		q.hdrs = curl_slist_append(NULL, hdr);
	}
	q.hdrs = curl_slist_append(q.hdrs, "Accept: application/json");
	kin_buf_init(&ans, ANSWER_MAX);
	rc = fetch_keys(&q, &ans, "ecs", c, err);
	curl_slist_free_all(q.hdrs);
	free_secret(hdr);
	free_secret(tok);
	if (ans.p != NULL)
		OPENSSL_cleanse(ans.p, ans.len);
	kin_buf_release(&ans);
	return rc;
}

/* ---- EC2 instance metadata, IMDSv2 ---- */

int
kin_creds_imds(const struct kin_aws *a, struct kin_creds *c, char *err)
{
	const char *off = kin_env("AWS_EC2_METADATA_DISABLED");
	const char *ep = kin_env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = kin_env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	static const char *what = "instance metadata";
	char base[512], url[1024], *tok = NULL, *hdr = NULL, *role = NULL;
	struct hreq q = { .what = what, .url = url, .connect_ms = 1000,
	    .total_ms = 1000, .noproxy = 1, .ca_bundle = a->ca_bundle };
	struct kin_buf ans;
	long status;
	int rc = -1;
	size_t n;

	if (off != NULL && strcasecmp(off, "true") == 0) {
		kin_seterr(err, "instance metadata: disabled by "
		    "AWS_EC2_METADATA_DISABLED");
		return 0;
	}
	if (ep == NULL)
		ep = mode != NULL && strcasecmp(mode, "IPv6") == 0 ?
		    "http://[fd00:ec2::254]" : "http://169.254.169.254";
	snprintf(base, sizeof base, "%s", ep);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	kin_buf_init(&ans, ANSWER_MAX);

	/* IMDSv2: a session token first (PUT), then the role and its keys */
	snprintf(url, sizeof url, "%s/latest/api/token", base);
	q.method = "PUT";
	q.hdrs = curl_slist_append(NULL,
	    "X-aws-ec2-metadata-token-ttl-seconds: 21600");
	if (http(&q, &ans, &status, err) < 0 || status != 200) {
		/* nothing there (not on EC2): not an error, the chain ends */
		if (status != 0)
			kin_seterr(err, "%s (%s): token request got HTTP %ld",
			    what, url, status);
		rc = 0;
		goto out;
	}
	curl_slist_free_all(q.hdrs);
	q.hdrs = NULL;
	tok = kin_buf_detach(&ans, NULL);
	if (tok == NULL || tok[0] == '\0') {
		kin_seterr(err, "%s (%s): bad session token", what, url);
		goto out;
	}
	if ((hdr = token_header("X-aws-ec2-metadata-token", tok, what,
	    err)) == NULL)
		goto out;
	q.hdrs = curl_slist_append(NULL, hdr);
	q.method = "GET";

	snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/",
	    base);
	if (http(&q, &ans, &status, err) < 0)
		goto out;
	if (status == 404) {
		kin_seterr(err, "%s: no IAM role attached to this instance",
		    what);
		rc = 0;
		goto out;
	}
	if (status != 200) {
		kin_seterr(err, "%s (%s): HTTP %ld", what, url, status);
		goto out;
	}
	role = kin_buf_detach(&ans, NULL);
	if (role != NULL) {
		role[strcspn(role, "\r\n")] = '\0';
		char *r = role;
		while (*r == ' ')
			r++;
		memmove(role, r, strlen(r) + 1);
	}
	if (role == NULL || role[0] == '\0' || strpbrk(role, "/?#% ") != NULL) {
		kin_seterr(err, "%s: bad role name", what);
		goto out;
	}
	snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/"
	    "%s", base, role);
	rc = fetch_keys(&q, &ans, "imds", c, err);
out:
	curl_slist_free_all(q.hdrs);
	free_secret(hdr);
	free_secret(tok);
	free(role);
	if (ans.p != NULL)
		OPENSSL_cleanse(ans.p, ans.len);
	kin_buf_release(&ans);
	return rc;
}
