/* send.c — several PutRecords in flight through curl multi.  The library's
 * kin_call is one blocking request at a time; here requests overlap so
 * throughput is not one round trip per batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "body.h"
#include "err.h"
#include "parse.h"
#include "send.h"

#define KW_RESP_MAX ((size_t)4 << 20)
#define KW_RECV_BUF (256L * 1024)
#define KW_SEND_BUF (1024L * 1024)

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb;

	if (kin_buf_add(&r->resp, p, n, NULL) < 0)
		return 0;   /* over the ceiling: curl fails the transfer */
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct req *r = ud;
	size_t n = size * nmemb, k = sizeof("x-amzn-ErrorType:") - 1, e;

	if (n > k && strncasecmp(p, "x-amzn-ErrorType:", k) == 0) {
		const char *v = p + k;
		while (v < p + n && (*v == ' ' || *v == '\t'))
			v++;
		e = (size_t)(p + n - v);
		while (e && (v[e - 1] == '\r' || v[e - 1] == '\n' ||
		    v[e - 1] == ' '))
			e--;
		if (e >= sizeof(r->errortype))
			e = sizeof(r->errortype) - 1;
		memcpy(r->errortype, v, e);
		r->errortype[e] = '\0';
	}
	return n;
}

static void setup_easy(struct sender *s, struct req *r)
{
	CURL *e = r->easy;

	curl_easy_setopt(e, CURLOPT_URL, s->c->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	/* a 500-record answer (about 50 KiB) in one read, a body in few
	 * writes: fewer system calls and wake-ups per request than curl's
	 * 16 KiB and 64 KiB (options it may refuse; then its own stay) */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, KW_RECV_BUF);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, KW_SEND_BUF);
	if (s->c->aws && s->c->aws->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->c->aws->ca_bundle);
	/* the client has refused it for anything but a loopback endpoint */
	if (s->c->aws && s->c->aws->no_verify_ssl) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

int sender_init(struct sender *s, struct kin_client *c, const char *stream,
    int slots, long timeout_ms, char *err)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->c = c;
	s->stream = stream;
	s->timeout_ms = timeout_ms;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return kin_seterr(err, "cannot start libcurl");
	if (!(s->multi = curl_multi_init()))
		return kin_seterr(err, "cannot start libcurl");
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, (long)slots + 2);
	if (!(s->r = calloc((size_t)slots, sizeof(*s->r))))
		return kin_seterr(err, "out of memory");
	s->n = slots;
	for (i = 0; i < slots; i++) {
		struct req *r = &s->r[i];
		kin_buf_init(&r->body, (size_t)8 << 20);
		kin_buf_init(&r->resp, KW_RESP_MAX);
		kin_buf_init(&r->store, 64 * 1024);
		if (!(r->k = calloc(KIN_MAX_PUT_RECORDS, sizeof(*r->k))) ||
		    !(r->easy = curl_easy_init()))
			return kin_seterr(err, "out of memory");
		setup_easy(s, r);
	}
	return 0;
}

void sender_release(struct sender *s)
{
	int i;

	for (i = 0; s->r && i < s->n; i++) {
		struct req *r = &s->r[i];
		if (r->easy) {
			if (r->busy)
				curl_multi_remove_handle(s->multi, r->easy);
			curl_easy_cleanup(r->easy);
		}
		curl_slist_free_all(r->hdrs);
		kin_buf_release(&r->body);
		kin_buf_release(&r->resp);
		kin_buf_release(&r->store);
		free(r->k);
		free(r->shards);
	}
	free(s->r);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	memset(s, 0, sizeof(*s));
}

struct req *sender_slot(struct sender *s)
{
	int i;

	if (s->busy >= s->n)
		return NULL;
	for (i = 0; i < s->n; i++)
		if (!s->r[i].busy)
			return &s->r[i];
	return NULL;
}

int sender_start(struct sender *s, struct req *r, char *err)
{
	struct kin_header h[10];
	size_t nh = 0, i;
	char line[8192];
	CURL *e = r->easy;

	kin_buf_reset(&r->store);
	if (kw_put_body(&r->body, s->stream, r->k, r->n, err) < 0)
		return -1;
	if (kin_client_sign(s->c, "PutRecords", r->body.p, r->body.len, h,
	    &nh, &r->store, err) < 0)
		return -1;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	for (i = 0; i < nh; i++) {
		struct curl_slist *l;
		snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
		if (!(l = curl_slist_append(r->hdrs, line)))
			goto nomem;
		r->hdrs = l;
	}
	{
		/* no 100-continue round trip for bodies over 1 MiB */
		struct curl_slist *l = curl_slist_append(r->hdrs, "Expect:");
		if (!l)
			goto nomem;
		r->hdrs = l;
	}
	kin_buf_reset(&r->resp);
	r->errortype[0] = '\0';
	r->curl_err[0] = '\0';
	/* the rest was set once, in sender_init: the URL is not parsed again */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.p);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->body.len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	if (curl_multi_add_handle(s->multi, e) != CURLM_OK)
		return kin_seterr(err, "cannot start a request");
	r->busy = 1;
	r->start_us = kin_now_mono_us();
	s->busy++;
	s->requests++;
	return 0;
nomem:
	return kin_seterr(err, "out of memory");
}

void sender_perform(struct sender *s, send_done_fn done, void *ctx)
{
	int running, left;
	CURLMsg *m;

	curl_multi_perform(s->multi, &running);
	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct req *r = NULL;
		struct send_result res;
		double t = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		    (char **)&r);
		memset(&res, 0, sizeof(res));
		if (m->data.result != CURLE_OK) {
			res.transport = 1;
			res.curl_err = r->curl_err[0] ? r->curl_err :
			    curl_easy_strerror(m->data.result);
		} else {
			curl_easy_getinfo(m->easy_handle,
			    CURLINFO_RESPONSE_CODE, &res.status);
		}
		curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME, &t);
		res.seconds = t;
		res.errortype = r->errortype;
		res.body = r->resp.p ? r->resp.p : "";
		res.len = r->resp.len;
		curl_multi_remove_handle(s->multi, m->easy_handle);
		r->busy = 0;
		s->busy--;
		done(ctx, r, &res);
		r->n = 0;
		r->nshards = 0;
	}
}

void sender_wait(struct sender *s, struct curl_waitfd *extra, unsigned n,
    int timeout_ms)
{
	int numfds;

	if (timeout_ms < 0)
		timeout_ms = 0;
	curl_multi_poll(s->multi, extra, n, timeout_ms, &numfds);
}
