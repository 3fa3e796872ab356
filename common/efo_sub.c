/* efo_sub.c — one SubscribeToShard transfer: the signed request, a write
 * callback that feeds the event-stream decoder and queues parsed events
 * (or pauses the transfer while the shard's queue is full), exception
 * messages, what to do when the transfer ends, and the end-of-shard probe
 * for servers that never send ChildShards on a subscription. */
#include "efo_int.h"
#include "kinesis_int.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERRBODY_MAX (64 * 1024)

/* s into dst[n], cut to fit */
static void
cut_copy(char *dst, size_t n, const char *s)
{
	size_t k = strlen(s);

	if (k >= n)
		k = n - 1;
	memcpy(dst, s, k);
	dst[k] = '\0';
}

static void
set_why(struct kin_efo_sub *s, enum kin_aws_kind kind, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_why(struct kin_efo_sub *s, enum kin_aws_kind kind, const char *type,
    const char *fmt, ...)
{
	char what[KIN_ERRLEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	memset(&s->ae, 0, sizeof s->ae);
	s->ae.kind = kind;
	cut_copy(s->ae.type, sizeof s->ae.type, type ? type : "");
	cut_copy(s->ae.message, sizeof s->ae.message, what);
	n = snprintf(s->why, sizeof s->why, "SubscribeToShard('%s'): ",
	    s->shard);
	if (n > 0 && (size_t)n < sizeof s->why)
		cut_copy(s->why + n, sizeof s->why - (size_t)n, what);
	s->failed = 1;
}

/* StartingPosition from the continuation, else what was asked. */
static int
build_body(struct kin_efo_sub *s, char *err)
{
	struct kin_efo *e = s->e;
	struct kin_buf pos;
	const char *type = s->cont ? "AFTER_SEQUENCE_NUMBER" : s->type;
	const char *seq = s->cont ? s->cont : s->seq;
	int rc = -1;

	kin_buf_init(&pos, 4096);
	kin_buf_reset(&s->body);
	if (kin_body_str(&pos, "Type", type, err) < 0)
		goto out;
	if (strstr(type, "SEQUENCE") != NULL && (seq == NULL ||
	    kin_body_str(&pos, "SequenceNumber", seq, err) < 0))
		goto out;
	if (strcmp(type, "AT_TIMESTAMP") == 0) {
		int64_t sec = s->ts_ms / 1000, ms = s->ts_ms % 1000;
		char ts[40];
		if (ms < 0) {
			ms += 1000;
			sec--;
		}
		snprintf(ts, sizeof ts, "%lld.%03lld", (long long)sec,
		    (long long)ms);
		if (kin_body_raw(&pos, "Timestamp", ts, err) < 0)
			goto out;
	}
	if (kin_body_end(&pos, err) < 0 ||
	    kin_body_str(&s->body, "ConsumerARN", e->consumer_arn, err) < 0 ||
	    kin_body_str(&s->body, "ShardId", s->shard, err) < 0 ||
	    kin_body_raw(&s->body, "StartingPosition", pos.p, err) < 0 ||
	    kin_body_end(&s->body, err) < 0)
		goto out;
	kin_efo_trace(e, 2, "SubscribeToShard('%s') %s%s%s", s->shard, type,
	    seq && strstr(type, "SEQUENCE") ? " " : "",
	    seq && strstr(type, "SEQUENCE") ? seq : "");
	rc = 0;
out:
	kin_buf_release(&pos);
	return rc;
}

/* A SubscribeToShardEvent payload, parsed into a queued event. */
static int
on_event(struct kin_efo_sub *s, const unsigned char *p, size_t n)
{
	struct kin_efo *e = s->e;
	struct kin_json *j = &e->json;
	struct efo_ev *ev;
	char e2[KIN_ERRLEN], *text;
	int t;

	if ((ev = calloc(1, sizeof *ev)) == NULL ||
	    (text = malloc(n + 1)) == NULL) {
		free(ev);
		set_why(s, KIN_AWS_OTHER, NULL, "out of memory");
		return -1;
	}
	memcpy(text, p, n);
	text[n] = '\0';
	kin_records_init(&ev->recs);
	if (kin_json_parse(j, text, n, e2) < 0 || j->ntok == 0 ||
	    j->tok[0].type != JSMN_OBJECT)
		goto bad;
	t = kin_json_get(j, 0, "ContinuationSequenceNumber");
	if (t >= 0 && j->tok[t].type == JSMN_STRING &&
	    (ev->cont = kin_json_strdup(j, t, e2)) == NULL)
		goto bad;
	if (kin_get_records_parse(j, text, n, &ev->recs, e2) < 0)
		goto bad;
	free(text);
	ev->bytes = n;
	/* no continuation: the shard is closed and this was its end
	 * (the service then names the children) */
	ev->kind = ev->cont != NULL ? KIN_EFO_RECORDS : KIN_EFO_END;
	if (ev->cont != NULL) {
		free(s->cont);
		s->cont = strdup(ev->cont);
	}
	if (ev->recs.n > 0) {
		free(s->last_seq);
		s->last_seq = strdup(ev->recs.r[ev->recs.n - 1].seq);
	}
	if ((ev->cont != NULL && s->cont == NULL) ||
	    (ev->recs.n > 0 && s->last_seq == NULL)) {
		kin_records_release(&ev->recs);
		free(ev->cont);
		free(ev);
		set_why(s, KIN_AWS_OTHER, NULL, "out of memory");
		return -1;
	}
	e->events++;
	e->records += ev->recs.n;
	s->events_now++;
	s->failures = 0;
	if (s->closed && ev->recs.n == 0 && ev->kind == KIN_EFO_RECORDS)
		s->probe = 1;
	kin_efo_push(s, ev);
	if (ev->kind == KIN_EFO_END) {
		s->finished = 1;
		return -1;      /* nothing more to read here */
	}
	return 0;
bad:
	free(text);
	kin_records_release(&ev->recs);
	free(ev->cont);
	free(ev);
	set_why(s, KIN_AWS_TRANSPORT, "BadResponse", "bad event: %s", e2);
	return -1;
}

/* One whole message: 0 to go on, -1 to stop the transfer. */
static int
on_message(struct kin_efo_sub *s, const struct kin_es_msg *m)
{
	char mtype[32], etype[128], msg[256];
	struct kin_awserr ae;
	char e2[KIN_ERRLEN];

	kin_es_str(m, ":message-type", mtype, sizeof mtype);
	if (strcmp(mtype, "event") == 0) {
		kin_es_str(m, ":event-type", etype, sizeof etype);
		if (strcmp(etype, "SubscribeToShardEvent") == 0)
			return on_event(s, m->payload, m->len);
		return 0;  /* initial-response, or one we do not know */
	}
	if (strcmp(mtype, "exception") == 0) {
		kin_es_str(m, ":exception-type", etype, sizeof etype);
		/* typed like an HTTP error of that __type */
		(void)kin_client_check("SubscribeToShard", 400, etype,
		    (const char *)m->payload, m->len, &ae, e2);
		set_why(s, ae.kind, ae.type, "%s%s%s", ae.type,
		    ae.message[0] ? ": " : "", ae.message);
		return -1;
	}
	if (strcmp(mtype, "error") == 0) {
		kin_es_str(m, ":error-code", etype, sizeof etype);
		kin_es_str(m, ":error-message", msg, sizeof msg);
		set_why(s, kin_aws_classify(500, etype), etype, "%s: %s", etype,
		    msg);
		return -1;
	}
	return 0;
}

/* HTTP version and local port of a transfer that got its answer. */
static void
note_conn(struct kin_efo_sub *s)
{
	struct kin_efo *e = s->e;
	long ver = 0, port = 0;
	size_t i;

	curl_easy_getinfo(s->easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(s->easy, CURLINFO_LOCAL_PORT, &port);
	if (ver == CURL_HTTP_VERSION_2_0)
		e->h2++;
	for (i = 0; i < e->nports && e->ports[i] != port; i++)
		;
	if (i == e->nports && i < sizeof e->ports / sizeof e->ports[0])
		e->ports[e->nports++] = port;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct kin_efo_sub *s = ud;
	struct kin_efo *e = s->e;
	struct kin_es_msg m;
	size_t n = size * nmemb;
	char e2[KIN_ERRLEN];
	int r;

	if (s->stop)
		return 0;
	if (s->status == 0) {
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
		note_conn(s);
	}
	if (s->status != 200) {
		size_t room = ERRBODY_MAX - s->errbody.len;
		(void)kin_buf_add(&s->errbody, p, n < room ? n : room, NULL);
		return n;
	}
	/* back-pressure: leave the bytes with curl until the caller has
	 * taken enough of this shard's events */
	if (s->qbytes >= e->cfg.max_buffered) {
		if (!s->paused)
			e->pauses++;
		s->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	s->data_us = kin_efo_mono_us();
	if (kin_es_feed(&s->dec, p, n, e2) < 0) {
		set_why(s, KIN_AWS_TRANSPORT, "BadResponse", "%s", e2);
		s->stop = 1;
		return 0;
	}
	while ((r = kin_es_next(&s->dec, &m, e2)) == 1) {
		if (on_message(s, &m) < 0) {
			s->stop = 1;
			return 0;
		}
	}
	if (r < 0) {
		set_why(s, KIN_AWS_TRANSPORT, "BadResponse", "%s", e2);
		s->stop = 1;
		return 0;
	}
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct kin_efo_sub *s = ud;
	size_t n = size * nmemb, k = 16;

	/* x-amzn-ErrorType: "Type:http://..." -> "Type" */
	if (n > k + 1 && strncasecmp(p, "x-amzn-ErrorType", k) == 0 &&
	    p[k] == ':') {
		size_t i = k + 1, len;
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		len = strcspn(p + i, ":\r\n");
		if (len > n - i)
			len = n - i;
		if (len >= sizeof s->ae.type)
			len = sizeof s->ae.type - 1;
		memcpy(s->ae.type, p + i, len);
		s->ae.type[len] = '\0';
	}
	return n;
}

int
kin_efo_start(struct kin_efo_sub *s)
{
	struct kin_efo *e = s->e;
	struct kin_header hdr[8];
	char line[8192], err[KIN_ERRLEN];
	size_t nh;
	CURL *c;

	s->status = 0;
	s->stop = s->failed = s->paused = 0;
	s->events_now = 0;
	memset(&s->ae, 0, sizeof s->ae);
	s->why[0] = '\0';
	kin_buf_reset(&s->errbody);
	kin_es_reset(&s->dec);
	if (build_body(s, err) < 0) {
		set_why(s, KIN_AWS_OTHER, NULL, "%s", err);
		return -1;
	}
	if (kin_client_sign(&e->c, "SubscribeToShard", s->body.p, s->body.len,
	    hdr, &nh, &s->store, err) < 0) {
		set_why(s, KIN_AWS_CONFIG, NULL, "%s", err);
		return -1;
	}
	for (size_t i = 0; i < nh; i++) {
		struct curl_slist *l;
		snprintf(line, sizeof line, "%s: %s", hdr[i].name, hdr[i].value);
		if ((l = curl_slist_append(s->hdrs, line)) == NULL)
			goto oom;
		s->hdrs = l;
	}
	if ((c = curl_easy_init()) == NULL)
		goto oom;
	s->easy = c;
	curl_easy_setopt(c, CURLOPT_URL, e->c.url);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, s->body.p);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)s->body.len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->hdrs);
	/* HTTP/2 over TLS, multiplexed with the other shards' streams once
	 * the first connection says it can; HTTP/1.1 on plain http */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)e->cfg.connect_timeout_ms);
	/* the service ends a subscription after 5 minutes */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 330000L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (e->c.aws->no_verify_ssl) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (e->c.aws->ca_bundle != NULL && *e->c.aws->ca_bundle != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, e->c.aws->ca_bundle);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
		kin_efo_drop(s);
		goto oom;
	}
	s->data_us = s->started_us = kin_efo_mono_us();
	e->subscribes++;
	return 0;
oom:
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	set_why(s, KIN_AWS_OTHER, NULL, "cannot set up a transfer");
	return -1;
}

void
kin_efo_drop(struct kin_efo_sub *s)
{
	if (s->easy != NULL) {
		curl_multi_remove_handle(s->e->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->hdrs);
	s->hdrs = NULL;
	s->paused = 0;
}

/* Subscribing again can help for these; not for a missing stream or
 * consumer, refused access or a bad request. */
static int
worth_retrying(enum kin_aws_kind k)
{
	return kin_aws_retryable(k) || k == KIN_AWS_IN_USE ||
	    k == KIN_AWS_OTHER;
}

static void
back_off(struct kin_efo_sub *s)
{
	struct kin_efo *e = s->e;
	int64_t ms = e->cfg.retry_ms;

	if (++s->failures >= e->cfg.max_failures || !worth_retrying(s->ae.kind)) {
		kin_efo_give_up(s);
		return;
	}
	for (int i = 1; i < s->failures && ms < e->cfg.retry_cap_ms; i++)
		ms *= 2;
	if (ms > e->cfg.retry_cap_ms)
		ms = e->cfg.retry_cap_ms;
	/* half fixed, half jitter: never hammering, never in step */
	ms = ms / 2 + (int64_t)(kin_retry_rand(&e->c.retry) %
	    (uint64_t)(ms / 2 + 1));
	s->due_us = kin_efo_mono_us() + ms * 1000;
	kin_efo_trace(e, 1, "%s; retry %d of %d in %lld ms", s->why,
	    s->failures, e->cfg.max_failures - 1, (long long)ms);
}

void
kin_efo_done(struct kin_efo_sub *s, CURLcode rc)
{
	struct kin_efo *e = s->e;
	long status = s->status;

	if (status == 0 && s->easy != NULL)
		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	kin_efo_drop(s);
	if (s->finished)
		return;
	if (s->failed) {
		back_off(s);
	} else if (rc != CURLE_OK) {
		enum kin_aws_kind k = KIN_AWS_TRANSPORT;
		if (rc == CURLE_OPERATION_TIMEDOUT)
			k = KIN_AWS_TIMEOUT;
		else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
		    rc == CURLE_SSL_CACERT_BADFILE)
			k = KIN_AWS_CONFIG;
		set_why(s, k, NULL, "%s", curl_easy_strerror(rc));
		back_off(s);
	} else if (status != 200) {
		struct kin_awserr ae;
		char e2[KIN_ERRLEN];
		(void)kin_client_check("SubscribeToShard", status, s->ae.type,
		    s->errbody.p, s->errbody.len, &ae, e2);
		if (ae.type[0] != '\0')
			set_why(s, ae.kind, ae.type, "%s%s%s", ae.type,
			    ae.message[0] ? ": " : "", ae.message);
		else
			set_why(s, ae.kind, NULL, "HTTP %ld%s%s", status,
			    ae.message[0] ? ": " : "", ae.message);
		back_off(s);
	} else if (kin_es_pending(&s->dec) > 0) {
		set_why(s, KIN_AWS_TRANSPORT, NULL, "the stream ended inside a "
		    "message (%zu bytes of it)", kin_es_pending(&s->dec));
		back_off(s);
	} else if (s->events_now == 0) {
		/* ended without a single event: do not spin on it */
		set_why(s, KIN_AWS_TRANSPORT, NULL, "the stream ended with no "
		    "event");
		back_off(s);
	} else {
		/* the 5-minute end: on from the continuation, now */
		e->resubscribes++;
		s->due_us = 0;
		kin_efo_trace(e, 2, "SubscribeToShard('%s'): ended after %lu "
		    "events; subscribing again", s->shard, s->events_now);
	}
}

void
kin_efo_probe(struct kin_efo_sub *s)
{
	struct kin_efo *e = s->e;
	struct kin_records recs;
	struct kin_awserr ae;
	char err[KIN_ERRLEN], *iter = NULL;
	const char *type = s->last_seq ? "AFTER_SEQUENCE_NUMBER" : s->type;
	const char *seq = s->last_seq ? s->last_seq : s->seq;
	struct efo_ev *ev;

	s->probe = 0;
	s->probe_us = kin_efo_mono_us();
	kin_records_init(&recs);
	if (kin_get_shard_iterator(&e->c, e->stream, s->shard, type, seq,
	    s->ts_ms, &iter, &ae, err) < 0 ||
	    kin_get_records(&e->c, iter, 1, &recs, &ae, err) < 0) {
		kin_efo_trace(e, 1, "end probe: %s", err);
		goto out;
	}
	if (recs.n > 0 || recs.next_iter != NULL)
		goto out;      /* not at its end yet */
	if ((ev = calloc(1, sizeof *ev)) == NULL)
		goto out;
	ev->kind = KIN_EFO_END;
	ev->recs = recs;   /* its children, if the server named them */
	kin_records_init(&recs);
	kin_efo_drop(s);
	s->finished = 1;
	kin_efo_push(s, ev);
	kin_efo_trace(e, 2, "SubscribeToShard('%s'): closed and read to its "
	    "end (GetRecords)", s->shard);
out:
	free(iter);
	kin_records_release(&recs);
}
