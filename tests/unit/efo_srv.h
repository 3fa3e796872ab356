/* efo_srv.h — a scripted loopback HTTP/1.1 server for test_efo.c: one
 * thread per connection, one request each (Connection: close), every
 * request's target, head and body recorded in S, and the answer written by
 * the test's script(fd, idx, target). */
#ifndef KIN_EFO_SRV_H
#define KIN_EFO_SRV_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXREQ 32

static void script(int fd, int idx, const char *target);

struct srv {
	int fd, port;
	pthread_t th, conn[MAXREQ];
	int nconn;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int nreq;
	char target[MAXREQ][64];
	char head[MAXREQ][2048];
	char body[MAXREQ][1024];
	int scenario;         /* which script the test runs */
	int held_open;        /* the script's own flags */
	int release;
};

static struct srv S;

static int
says(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

	return w == (ssize_t)n ? 0 : -1;
}

static void
stream_head(int fd)
{
	says(fd, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/vnd.amazon.eventstream\r\nTransfer-Encoding: chunked"
	    "\r\nConnection: close\r\n\r\n");
}

/* One chunk; -1 once the client has gone. */
static int
chunk(int fd, const void *p, size_t n)
{
	char h[32];

	snprintf(h, sizeof h, "%zx\r\n", n);
	if (says(fd, h) < 0)
		return -1;
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	return says(fd, "\r\n");
}

static void
stream_end(int fd)
{
	says(fd, "0\r\n\r\n");
}

static void
json_answer(int fd, int status, const char *errtype, const char *body)
{
	char h[512];

	snprintf(h, sizeof h, "HTTP/1.1 %d X\r\nContent-Type: "
	    "application/x-amz-json-1.1\r\n%s%s%sContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", status,
	    errtype ? "x-amzn-ErrorType: " : "", errtype ? errtype : "",
	    errtype ? ":http://internal.amazon.com/coral/\r\n" : "",
	    strlen(body));
	says(fd, h);
	says(fd, body);
}

static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg, idx;
	char req[8192], target[64] = "", *p;
	size_t n = 0, clen = 0, hl;

	while (n < sizeof req - 1) {
		ssize_t r = recv(fd, req + n, sizeof req - 1 - n, 0);
		if (r <= 0)
			goto out;
		n += (size_t)r;
		req[n] = '\0';
		if ((p = strstr(req, "\r\n\r\n")) != NULL) {
			hl = (size_t)(p + 4 - req);
			char *cl = strcasestr(req, "\r\nContent-Length:");
			if (cl != NULL)
				clen = strtoul(cl + 17, NULL, 10);
			if (n >= hl + clen)
				break;
		}
	}
	if ((p = strcasestr(req, "\r\nX-Amz-Target: ")) != NULL)
		sscanf(p + 16, "%63s", target);
	pthread_mutex_lock(&S.lock);
	idx = S.nreq++;
	if (idx < MAXREQ) {
		p = strstr(req, "\r\n\r\n");
		snprintf(S.target[idx], sizeof S.target[idx], "%s", target);
		snprintf(S.head[idx], sizeof S.head[idx], "%.*s",
		    (int)(p - req), req);
		snprintf(S.body[idx], sizeof S.body[idx], "%s", p + 4);
	}
	pthread_mutex_unlock(&S.lock);
	script(fd, idx, target);
out:
	close(fd);
	return NULL;
}

static void *
accept_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(S.fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&S.lock);
		if (S.nconn < MAXREQ &&
		    pthread_create(&S.conn[S.nconn], NULL, conn_main,
		    (void *)(intptr_t)fd) == 0)
			S.nconn++;
		else
			close(fd);
		pthread_mutex_unlock(&S.lock);
	}
}

static void
srv_start(int scenario)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;

	memset(&S, 0, sizeof S);
	pthread_mutex_init(&S.lock, NULL);
	pthread_cond_init(&S.cond, NULL);
	S.scenario = scenario;
	S.fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(S.fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(S.fd, 16) < 0 ||
	    getsockname(S.fd, (struct sockaddr *)&a, &al) < 0) {
		perror("test_efo: loopback server");
		exit(2);
	}
	S.port = ntohs(a.sin_port);
	pthread_create(&S.th, NULL, accept_main, NULL);
}

static void
srv_stop(void)
{
	shutdown(S.fd, SHUT_RDWR);
	close(S.fd);
	pthread_join(S.th, NULL);
	pthread_mutex_lock(&S.lock);
	S.release = 1;
	pthread_cond_broadcast(&S.cond);
	pthread_mutex_unlock(&S.lock);
	for (int i = 0; i < S.nconn; i++)
		pthread_join(S.conn[i], NULL);
}

#endif
