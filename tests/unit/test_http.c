/* test_http.c — http.c and kin_call against a scripted loopback server:
 * keep-alive reuse, x-amzn-ErrorType, the body ceiling, truncation, refused
 * connections, timeouts, and retries as the standard mode wants them. */
#include "t.h"
#include "http.h"
#include "kinesis.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { SEND, SEND_CLOSE, HANG };

/* The server adds Content-Length from body, unless head already has one
 * (to send a lie on purpose). */
struct step {
	int mode;
	const char *head;   /* status line and headers, "\r\n" each */
	const char *body;
};

struct server {
	int lfd, port;
	pthread_t th;
	const struct step *steps;
	int nsteps, next;
	int conns, reqs;
	char last[16384];
	char bodies[16384];   /* every request body, one a line */
};

#define OK2 "HTTP/1.1 200 OK\r\n", "{}"
#define E503 "HTTP/1.1 503 Service Unavailable\r\n", \
    "{\"__type\":\"ServiceUnavailable\"}"
#define E400V "HTTP/1.1 400 Bad Request\r\n", \
    "{\"__type\":\"ValidationException\",\"message\":\"bad value!\"}"
#define E400T "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: " \
    "ThrottlingException:http://internal.amazon.com/coral/\r\n", ""

/* Read one request (headers and Content-Length body) into s->last. */
static int
read_request(int fd, struct server *s)
{
	char req[sizeof s->last];
	size_t len = 0;
	char *end;

	for (;;) {
		ssize_t r;
		req[len] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(req, "\r\nContent-Length:");
			size_t want = (size_t)(end + 4 - req);
			if (cl != NULL && cl < end)
				want += strtoul(cl + 17, NULL, 10);
			if (len >= want) {
				size_t bl = strlen(s->bodies), n;
				memcpy(s->last, req, len + 1);
				n = len - (size_t)(end + 4 - req);
				if (bl + n + 2 < sizeof s->bodies) {
					memcpy(s->bodies + bl, end + 4, n);
					memcpy(s->bodies + bl + n, "\n", 2);
				}
				return 1;
			}
		}
		if (len >= sizeof req - 1)
			return 0;
		r = read(fd, req + len, sizeof req - 1 - len);
		if (r <= 0)
			return 0;
		len += (size_t)r;
	}
}

static void *
serve(void *arg)
{
	struct server *s = arg;

	while (s->next < s->nsteps) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		s->conns++;
		while (s->next < s->nsteps && read_request(fd, s)) {
			const struct step *st = &s->steps[s->next++];
			s->reqs++;
			if (st->mode == HANG) {
				char b;
				struct pollfd p = { fd, POLLIN, 0 };
				while (poll(&p, 1, 5000) > 0 && read(fd, &b, 1) > 0)
					;
				break;
			}
			char resp[8192];
			int n = snprintf(resp, sizeof resp, "%s%s%zu\r\n\r\n%s",
			    st->head, strcasestr(st->head, "Content-Length") ?
			    "X-Pad: " : "Content-Length: ", strlen(st->body),
			    st->body);
			if (write(fd, resp, (size_t)n) < 0)
				break;
			if (st->mode == SEND_CLOSE)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void
server_start(struct server *s, const struct step *steps, int n)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;
	int one = 1;

	memset(s, 0, sizeof *s);
	s->steps = steps;
	s->nsteps = n;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(s->lfd, 8) < 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("server");
		exit(2);
	}
	s->port = ntohs(a.sin_port);
	pthread_create(&s->th, NULL, serve, s);
}

static void
server_stop(struct server *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->th, NULL);
}

static const struct kin_header hdrs[] = {
	{ "Content-Type", "application/x-amz-json-1.1" },
	{ "X-Amz-Target", "Kinesis_20131202.ListStreams" },
	{ "X-Empty", "" },
};

static int
one(struct kin_http *h, struct server *s, const char *method,
    struct kin_http_resp *r, enum kin_http_fail *fail, char *err)
{
	char url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
	return kin_http_do(h, method, url, hdrs, 3, "{}", 2, r, fail, err);
}

static char big[301];

static void
test_http(void)
{
	memset(big, 'x', 300);
	const struct step steps[] = {
		{ SEND, OK2 }, { SEND, OK2 }, { SEND, OK2 }, { SEND, E400T },
		{ SEND, "HTTP/1.1 200 OK\r\n", big },
		{ SEND_CLOSE, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n",
		    "short" },
		{ HANG, NULL, NULL },
		{ SEND, OK2 },
	};
	struct kin_http_cfg cfg = { .timeout_ms = 500, .max_body = 200 };
	struct kin_http h;
	struct kin_http_resp r;
	struct server s;
	enum kin_http_fail fail;
	char err[KIN_ERRLEN];

	server_start(&s, steps, sizeof steps / sizeof steps[0]);
	T_CHECK(kin_http_init(&h, &cfg, err) == 0);
	kin_http_resp_init(&r, 1 << 20);
	for (int i = 0; i < 3; i++) {
		T_CHECK(one(&h, &s, i == 1 ? "GET" : "POST", &r, &fail, err) == 0);
		T_CHECK(r.status == 200 && r.body.len == 2 &&
		    strcmp(r.body.p, "{}") == 0);
	}
	T_CHECKF(s.conns == 1, "%d connections for 3 requests", s.conns);
	T_CHECK(strncmp(s.last, "POST / HTTP/1.1\r\n", 17) == 0);
	T_CHECK(strstr(s.last, "\r\nX-Amz-Target: Kinesis_20131202.ListStreams"
	    "\r\n") != NULL);
	T_CHECK(strstr(s.last, "\r\nX-Empty:\r\n") != NULL);
	T_CHECK(strcasestr(s.last, "\r\nExpect:") == NULL);
	T_CHECK(strstr(s.last, "\r\n\r\n{}") != NULL);

	T_CHECK(one(&h, &s, "POST", &r, &fail, err) == 0);
	T_CHECK(r.status == 400);
	T_STREQ(r.errortype, "ThrottlingException");

	T_CHECK(one(&h, &s, "POST", &r, &fail, err) < 0);
	T_CHECKF(fail == KIN_HTTP_FAIL_TOOBIG, "fail %d: %s", fail, err);
	T_CHECK(strstr(err, "larger than 200 bytes") != NULL);

	T_CHECK(one(&h, &s, "POST", &r, &fail, err) < 0);
	T_CHECKF(fail == KIN_HTTP_FAIL_IO, "fail %d: %s", fail, err);

	T_CHECK(one(&h, &s, "PUT", &r, &fail, err) < 0);
	T_CHECKF(fail == KIN_HTTP_FAIL_TIMEOUT, "fail %d: %s", fail, err);
	T_CHECK(r.seconds < 2.0);

	T_CHECK(one(&h, &s, "PUT", &r, &fail, err) == 0);
	T_CHECK(strncmp(s.last, "PUT / HTTP/1.1\r\n", 16) == 0);
	server_stop(&s);

	/* nobody listens there any more */
	T_CHECK(one(&h, &s, "POST", &r, &fail, err) < 0);
	T_CHECKF(fail == KIN_HTTP_FAIL_CONNECT, "fail %d: %s", fail, err);
	kin_http_resp_release(&r);
	kin_http_release(&h);
}

struct lines {
	char buf[65536];
	size_t len;
};

static void
collect(void *ctx, const char *line)
{
	struct lines *l = ctx;
	size_t n = strlen(line);

	if (l->len + n + 2 < sizeof l->buf) {
		memcpy(l->buf + l->len, line, n);
		l->len += n;
		l->buf[l->len++] = '\n';
		l->buf[l->len] = '\0';
	}
}

static int
client_for(struct kin_client *c, struct server *s)
{
	char url[64], err[KIN_ERRLEN];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
	setenv("AWS_ENDPOINT_URL_KINESIS", url, 1);
	if (kin_client_init(c, NULL, err) < 0) {
		fprintf(stderr, "client: %s\n", err);
		return -1;
	}
	c->retry.base_ms = 1;
	c->retry.throttle_base_ms = 1;
	return 0;
}

static void
test_call(void)
{
	static const struct step retry_ok[] = {
		{ SEND, E503 }, { SEND_CLOSE, "HTTP/1.1 200 OK\r\nContent-Length:"
		    " 9\r\n", "{" }, { SEND, OK2 },
		{ SEND, E400V },
		{ SEND, E400T },
		{ SEND, E400T }, { SEND, OK2 },
		{ SEND, E503 }, { SEND, E503 }, { SEND, E503 },
	};
	struct kin_client c;
	struct kin_awserr ae;
	struct kin_buf resp;
	struct server s;
	struct lines tr;
	char err[KIN_ERRLEN];

	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIsecretKEY", 1);
	setenv("AWS_SESSION_TOKEN", "SessionTokenSECRET", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_MAX_ATTEMPTS", "3", 1);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_PROFILE");

	server_start(&s, retry_ok, sizeof retry_ok / sizeof retry_ok[0]);
	if (client_for(&c, &s) < 0) {
		T_CHECK(0);
		server_stop(&s);
		return;
	}
	T_CHECK(c.retry.max_attempts == 3);
	memset(&tr, 0, sizeof tr);
	kin_client_set_trace(&c, 3, collect, &tr);
	kin_buf_init(&resp, 1 << 20);

	/* 503, a reset mid-body, then success: three tries, quota refunded */
	T_CHECKF(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) == 0,
	    "%s", err);
	T_CHECK(ae.attempts == 3 && ae.kind == KIN_AWS_OK);
	T_CHECK(resp.len == 2);
	T_CHECK(c.retry.quota == KIN_RETRY_QUOTA);
	T_CHECK(s.reqs == 3 && s.conns == 2);
	T_CHECK(strstr(s.last, "X-Amz-Target: Kinesis_20131202.ListStreams") !=
	    NULL);
	T_CHECK(strstr(s.last, "Content-Type: application/x-amz-json-1.1") !=
	    NULL);
	T_CHECK(strstr(s.last, "X-Amz-Security-Token: SessionTokenSECRET") !=
	    NULL);
	T_CHECK(strstr(s.last, "Authorization: AWS4-HMAC-SHA256 Credential="
	    "AKIDEXAMPLE/") != NULL);
	/* the trace has the traffic, and none of the secrets */
	const char *sig = strstr(s.last, "Signature=");
	T_CHECK(sig != NULL);
	if (sig != NULL) {
		char sigval[65];
		memcpy(sigval, sig + 10, 64);
		sigval[64] = '\0';
		T_CHECK(strstr(tr.buf, sigval) == NULL);
	}
	T_CHECK(strstr(tr.buf, "> Authorization: REDACTED") != NULL);
	T_CHECK(strstr(tr.buf, "> X-Amz-Security-Token: REDACTED") != NULL);
	T_CHECK(strstr(tr.buf, "Kinesis_20131202.ListStreams: 200") != NULL);
	T_CHECK(strstr(tr.buf, "retry 1 of 2") != NULL);
	T_CHECK(strstr(tr.buf, "wJalrXUtnFEMIsecretKEY") == NULL);
	T_CHECK(strstr(tr.buf, "SessionTokenSECRET") == NULL);
	kin_client_set_trace(&c, 0, NULL, NULL);

	/* a validation error is never retried */
	T_CHECK(kin_call_ex(&c, "ListShards", "s1", 0, "{}", 2, &resp, &ae,
	    err) < 0);
	T_CHECK(ae.attempts == 1 && ae.kind == KIN_AWS_VALIDATION);
	T_STREQ(err, "ListShards('s1'): ValidationException: bad value!");
	T_CHECK(s.reqs == 4);

	/* throttling comes straight back when the caller asks */
	T_CHECK(kin_call_ex(&c, "GetRecords", NULL, KIN_CALL_NO_THROTTLE_RETRY,
	    "{}", 2, &resp, &ae, err) < 0);
	T_CHECK(ae.attempts == 1 && ae.kind == KIN_AWS_THROTTLED);
	T_STREQ(ae.type, "ThrottlingException");
	/* ... and is retried otherwise */
	T_CHECK(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) == 0);
	T_CHECK(ae.attempts == 2);

	/* a clone shares settings and credentials, has its own connection */
	struct kin_client c2;
	T_CHECK(kin_client_clone(&c2, &c, err) == 0);
	T_CHECK(c2.aws == c.aws && !c2.owns_aws && c2.http.curl != c.http.curl);
	T_STREQ(c2.url, c.url);
	kin_client_release(&c2);

	/* out of attempts */
	T_CHECK(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) < 0);
	T_CHECK(ae.attempts == 3 && ae.kind == KIN_AWS_INTERNAL);
	T_CHECK(ae.status == 503);
	T_STREQ(err, "ListStreams: ServiceUnavailable (after 3 attempts)");
	T_CHECK(kin_exit_status(&ae) == KIN_EX_UNAVAILABLE);
	T_CHECK(c.retry.quota == KIN_RETRY_QUOTA - 10);
	T_CHECK(s.reqs == 10);
	server_stop(&s);

	/* a dead endpoint: transport failure after the retries */
	T_CHECK(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) < 0);
	T_CHECK(ae.kind == KIN_AWS_TRANSPORT && ae.attempts == 3);
	T_CHECK(kin_exit_status(&ae) == KIN_EX_UNAVAILABLE);

	/* an empty quota stops retries at once */
	c.retry.quota = 0;
	T_CHECK(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) < 0);
	T_CHECK(ae.attempts == 1);
	T_CHECK(strstr(err, "retry quota") != NULL);
	kin_buf_release(&resp);
	kin_client_release(&c);

	/* no credentials at all: a configuration failure */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_ENDPOINT_URL_KINESIS", "http://127.0.0.1:9", 1);
	setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "", 1);
	T_CHECK(kin_client_init(&c, NULL, err) == 0);
	kin_buf_init(&resp, 1 << 20);
	T_CHECK(kin_call(&c, "ListStreams", "{}", 2, &resp, &ae, err) < 0);
	T_CHECKF(ae.kind == KIN_AWS_CONFIG, "%s: %s",
	    kin_aws_kind_name(ae.kind), err);
	T_CHECK(kin_exit_status(&ae) == KIN_EX_CONFIG);
	kin_buf_release(&resp);
	kin_client_release(&c);

	/* endpoints: host header and URL */
	static const struct { const char *ep, *host, *url; } eps[] = {
		{ "http://127.0.0.1:4567", "127.0.0.1:4567",
		    "http://127.0.0.1:4567/" },
		{ "https://kinesis.eu-west-1.amazonaws.com:443",
		    "kinesis.eu-west-1.amazonaws.com",
		    "https://kinesis.eu-west-1.amazonaws.com/" },
		{ "HTTP://h:80/", "h", "http://h/" },
		{ "http://h:8080/base/", "h:8080", "http://h:8080/base" },
	};
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "x", 1);
	for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
		setenv("AWS_ENDPOINT_URL_KINESIS", eps[i].ep, 1);
		T_CHECKF(kin_client_init(&c, NULL, err) == 0, "%s", err);
		T_STREQ(c.host, eps[i].host);
		T_STREQ(c.url, eps[i].url);
		kin_client_release(&c);
	}
	setenv("AWS_ENDPOINT_URL_KINESIS", "http://user@h/", 1);
	T_CHECK(kin_client_init(&c, NULL, err) < 0);
}

#define SHARD(id, lo, hi) "{\"ShardId\":\"" id "\",\"HashKeyRange\":" \
    "{\"StartingHashKey\":\"" lo "\",\"EndingHashKey\":\"" hi "\"}," \
    "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"1\"}}"

static void
test_paging(void)
{
	static const struct step steps[] = {
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"Shards\":[" SHARD("s0", "0",
		    "9") "],\"NextToken\":\"tok\\/1\"}" },
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"Shards\":[" SHARD("s1", "10",
		    "19") "," SHARD("s2", "20", "29") "]}" },
		/* the token expired: the listing starts over */
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"Shards\":[" SHARD("s0", "0",
		    "9") "],\"NextToken\":\"old\"}" },
		{ SEND, "HTTP/1.1 400 Bad Request\r\n",
		    "{\"__type\":\"ExpiredNextTokenException\"}" },
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"Shards\":[" SHARD("s0", "0",
		    "9") "]}" },
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"StreamNames\":[\"a\",\"b\"],"
		    "\"HasMoreStreams\":true}" },
		{ SEND, "HTTP/1.1 200 OK\r\n", "{\"StreamNames\":[\"c\"],"
		    "\"HasMoreStreams\":false}" },
	};
	struct kin_client c;
	struct kin_shard *sh;
	struct kin_awserr ae;
	struct server s;
	char err[KIN_ERRLEN], **names;
	size_t n;

	server_start(&s, steps, sizeof steps / sizeof steps[0]);
	if (client_for(&c, &s) < 0) {
		T_CHECK(0);
		server_stop(&s);
		return;
	}
	T_CHECKF(kin_list_shards(&c, "st", "AT_LATEST", &sh, &n, &ae,
	    err) == 0, "%s", err);
	T_CHECK(n == 3);
	if (n == 3) {
		T_STREQ(sh[2].id, "s2");
		T_STREQ(sh[2].hash_start, "20");
		T_CHECK(sh[2].seq_end == NULL && sh[2].parent == NULL);
	}
	kin_shards_free(sh, n);
	/* a request with NextToken names no stream and no filter */
	T_STREQ(s.bodies, "{\"StreamName\":\"st\",\"ShardFilter\":{\"Type\":"
	    "\"AT_LATEST\"}}\n{\"NextToken\":\"tok/1\"}\n");

	s.bodies[0] = '\0';
	T_CHECKF(kin_list_shards(&c, "st", NULL, &sh, &n, &ae, err) == 0,
	    "%s", err);
	T_CHECK(n == 1);
	kin_shards_free(sh, n);
	T_STREQ(s.bodies, "{\"StreamName\":\"st\"}\n{\"NextToken\":\"old\"}\n"
	    "{\"StreamName\":\"st\"}\n");

	s.bodies[0] = '\0';
	T_CHECKF(kin_list_streams(&c, &names, &n, &ae, err) == 0, "%s", err);
	T_CHECK(n == 3);
	if (n == 3)
		T_STREQ(names[2], "c");
	kin_strv_free(names, n);
	T_STREQ(s.bodies, "{}\n{\"ExclusiveStartStreamName\":\"b\"}\n");
	server_stop(&s);
	kin_client_release(&c);
}

int
main(void)
{
	test_http();
	test_call();
	test_paging();
	T_DONE();
}
