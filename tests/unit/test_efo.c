/* test_efo.c — the enhanced fan-out session (common/efo.c) against a
 * scripted loopback server speaking HTTP/1.1 (as kinesis-mock's plain port
 * does), for what the real servers cannot be made to do on cue: the
 * service's ChildShards end, a resubscription after the stream ends, an
 * exception event, a corrupt or cut frame mid-stream, an error answer, a
 * silent stream, a reader slow enough to pause the transfer, and the end
 * probe for a closed shard.  Frames come from es_build.h. */
#include "t.h"
#include "base64.h"
#include "efo.h"
#include "err.h"
#include "es_build.h"
#include "efo_srv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { S_RESUB = 1, S_INUSE, S_CRC, S_CUT, S_NOTFOUND, S_EXC_FATAL,
    S_PAUSE, S_IDLE, S_PROBE };

/* ---- frames ---- */

static struct frame F;

static void
ev_frame(struct frame *f, const char *type, const char *payload)
{
	memset(f->hdr, 0, sizeof f->hdr);
	f->hn = 0;
	h_str(f, ":message-type", "event");
	h_str(f, ":event-type", type);
	h_str(f, ":content-type", "application/json");
	seal(f, payload, strlen(payload));
}

/* A SubscribeToShardEvent: records "data@seq" separated by spaces, cont
 * or NULL, children JSON array text or NULL. */
static void
ev_records(struct frame *f, const char *recs, const char *cont,
    const char *children)
{
	static char p[200 * 1024];
	char one[160 * 1024], *copy = strdup(recs), *save = NULL, *r;
	size_t n = 0;
	int first = 1;

	n += (size_t)snprintf(p + n, sizeof p - n, "{\"Records\":[");
	for (r = strtok_r(copy, " ", &save); r != NULL;
	    r = strtok_r(NULL, " ", &save)) {
		char *at = strchr(r, '@');
		struct kin_buf b;
		kin_buf_init(&b, sizeof one);
		kin_b64_encode(&b, r, (size_t)(at - r), NULL);
		snprintf(one, sizeof one, "%s{\"Data\":\"%s\",\"PartitionKey\":"
		    "\"k\",\"SequenceNumber\":\"%s\","
		    "\"ApproximateArrivalTimestamp\":1.7E9}", first ? "" : ",",
		    b.p ? b.p : "", at + 1);
		kin_buf_release(&b);
		n += (size_t)snprintf(p + n, sizeof p - n, "%s", one);
		first = 0;
	}
	free(copy);
	n += (size_t)snprintf(p + n, sizeof p - n, "]");
	if (cont != NULL)
		n += (size_t)snprintf(p + n, sizeof p - n,
		    ",\"ContinuationSequenceNumber\":\"%s\"", cont);
	n += (size_t)snprintf(p + n, sizeof p - n, ",\"MillisBehindLatest\":0");
	if (children != NULL)
		n += (size_t)snprintf(p + n, sizeof p - n, ",\"ChildShards\":%s",
		    children);
	snprintf(p + n, sizeof p - n, "}");
	ev_frame(f, "SubscribeToShardEvent", p);
}

static void
ev_exception(struct frame *f, const char *type, const char *msg)
{
	char p[256];

	memset(f->hdr, 0, sizeof f->hdr);
	f->hn = 0;
	h_str(f, ":message-type", "exception");
	h_str(f, ":exception-type", type);
	h_str(f, ":content-type", "application/json");
	snprintf(p, sizeof p, "{\"message\":\"%s\"}", msg);
	seal(f, p, strlen(p));
}

static void
send_frame(int fd)
{
	chunk(fd, F.b, F.n);
}

#define CHILD2 "[{\"ShardId\":\"shardId-2\",\"ParentShards\":[\"shardId-1\"]," \
	"\"HashKeyRange\":{\"StartingHashKey\":\"0\",\"EndingHashKey\":\"9\"}}]"

/* ---- the scripts: request idx of the running scenario ---- */

static void
script(int fd, int idx, const char *target)
{
	int k;

	switch (S.scenario) {
	case S_RESUB:
		stream_head(fd);
		if (idx == 0) {
			ev_frame(&F, "initial-response", "{}");
			send_frame(fd);
			ev_records(&F, "d1@1 d2@2", "c2", NULL);
			send_frame(fd);
			ev_records(&F, "d3@3", "c3", NULL);
			send_frame(fd);
		} else {
			ev_records(&F, "d4@4", NULL, CHILD2);
			send_frame(fd);
		}
		stream_end(fd);
		break;
	case S_INUSE:
		stream_head(fd);
		if (idx < 2) {
			ev_exception(&F, "ResourceInUseException", "busy");
		} else {
			ev_records(&F, "d1@1", "c1", NULL);
			send_frame(fd);
			ev_records(&F, "d2@2", NULL, "[]");
		}
		send_frame(fd);
		stream_end(fd);
		break;
	case S_CRC:
	case S_CUT:
		stream_head(fd);
		if (idx == 0) {
			ev_records(&F, "d1@1", "c1", NULL);
			send_frame(fd);
			ev_records(&F, "d9@9", "c9", NULL);
			if (S.scenario == S_CRC) {
				F.b[F.n - 10] ^= 0x01;
				send_frame(fd);
			} else {
				chunk(fd, F.b, F.n / 2);
			}
		} else {
			ev_records(&F, "d2@2", NULL, "[]");
			send_frame(fd);
		}
		stream_end(fd);
		break;
	case S_NOTFOUND:
		json_answer(fd, 400, "ResourceNotFoundException",
		    "{\"__type\":\"ResourceNotFoundException\",\"message\":"
		    "\"Consumer not found\"}");
		break;
	case S_EXC_FATAL:
		stream_head(fd);
		ev_exception(&F, "AccessDeniedException", "no");
		send_frame(fd);
		stream_end(fd);
		break;
	case S_PAUSE:
		stream_head(fd);
		for (k = 0; k < 40; k++) {
			static char big[20001];
			char rec[20100], cont[16];
			memset(big, 'a' + k % 26, 20000);
			snprintf(rec, sizeof rec, "%s@%d", big, k + 1);
			snprintf(cont, sizeof cont, "c%d", k + 1);
			ev_records(&F, rec, k < 39 ? cont : NULL,
			    k < 39 ? NULL : "[]");
			if (chunk(fd, F.b, F.n) < 0)
				break;
		}
		stream_end(fd);
		break;
	case S_IDLE:
		stream_head(fd);
		if (idx == 0) {
			struct timespec ts;
			ev_frame(&F, "initial-response", "{}");
			send_frame(fd);
			/* silent until the client comes back, 5 s at most */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 5;
			pthread_mutex_lock(&S.lock);
			while (!S.release && pthread_cond_timedwait(&S.cond,
			    &S.lock, &ts) == 0)
				;
			pthread_mutex_unlock(&S.lock);
		} else {
			pthread_mutex_lock(&S.lock);
			S.held_open = !S.release;
			S.release = 1;
			pthread_cond_broadcast(&S.cond);
			pthread_mutex_unlock(&S.lock);
			ev_records(&F, "d1@1", NULL, "[]");
			send_frame(fd);
		}
		stream_end(fd);
		break;
	case S_PROBE:
		if (strstr(target, "GetShardIterator") != NULL) {
			json_answer(fd, 200, NULL, "{\"ShardIterator\":\"IT\"}");
			break;
		}
		if (strstr(target, "GetRecords") != NULL) {
			json_answer(fd, 200, NULL, "{\"Records\":[],"
			    "\"MillisBehindLatest\":0,\"ChildShards\":"
			    CHILD2 "}");
			break;
		}
		stream_head(fd);
		ev_records(&F, "d1@5", "c5", NULL);
		send_frame(fd);
		/* a closed shard kept open, as kinesis-mock does */
		for (k = 0; k < 200; k++) {
			struct timespec ts = { 0, 20000000L };
			ev_records(&F, "", "c5", NULL);
			if (chunk(fd, F.b, F.n) < 0)
				break;
			nanosleep(&ts, NULL);
		}
		stream_end(fd);
		break;
	}
}

/* ---- the client side ---- */

static struct kin_client C;

static void
client_init(void)
{
	struct kin_cli cli;
	char url[64], err[KIN_ERRLEN];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", S.port);
	memset(&cli, 0, sizeof cli);
	cli.endpoint = url;
	if (kin_client_init(&C, &cli, err) < 0) {
		fprintf(stderr, "test_efo: %s\n", err);
		exit(2);
	}
}

static void
session(struct kin_efo *e, size_t max_buffered, int64_t idle_ms)
{
	struct kin_efo_cfg cfg;
	char err[KIN_ERRLEN];

	memset(&cfg, 0, sizeof cfg);
	cfg.retry_ms = 10;
	cfg.retry_cap_ms = 40;
	cfg.max_buffered = max_buffered;
	cfg.idle_ms = idle_ms;
	client_init();
	T_CHECK(kin_efo_init(e, &C, "s", "arn:consumer", &cfg, err) == 0);
	T_CHECK(kin_efo_subscribe(e, "shardId-1", "TRIM_HORIZON", NULL, 0,
	    err) == 0);
}

static void
session_end(struct kin_efo *e)
{
	kin_efo_release(e);
	kin_client_release(&C);
	srv_stop();
}

/* Events until END or ERROR (or 10 s): data of every record appended to
 * got ("d1 d2 "), the last event in *last. */
static int
drain(struct kin_efo *e, char *got, size_t n, struct kin_efo_event *last)
{
	struct timespec t0, t1;
	char err[KIN_ERRLEN];
	int events = 0;

	got[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int r = kin_efo_next(e, 200, last, err);
		T_CHECKF(r >= 0, "%s", err);
		if (r < 0)
			return events;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r == 0) {
			if (t1.tv_sec - t0.tv_sec > 10)
				return events;
			continue;
		}
		events++;
		for (size_t i = 0; i < last->recs->n; i++) {
			size_t k = strlen(got);
			snprintf(got + k, n - k, "%.*s ",
			    (int)(last->recs->r[i].len < 3 ? last->recs->r[i].len
			    : 3), last->recs->r[i].data);
		}
		if (last->kind != KIN_EFO_RECORDS)
			return events;
	}
}

static void
test_resubscribe_and_children(void)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256];

	srv_start(S_RESUB);
	session(&e, 0, 0);
	drain(&e, got, sizeof got, &ev);
	T_STREQ(got, "d1 d2 d3 d4 ");
	T_CHECK(ev.kind == KIN_EFO_END);
	T_CHECK(ev.recs->nchildren == 1 &&
	    strcmp(ev.recs->children[0].id, "shardId-2") == 0 &&
	    ev.recs->children[0].nparents == 1 &&
	    strcmp(ev.recs->children[0].parents[0], "shardId-1") == 0);
	T_STREQ(ev.shard, "shardId-1");
	T_CHECK(ev.continuation == NULL);
	T_CHECK(kin_efo_active(&e) == 0 && !kin_efo_has(&e, "shardId-1"));
	T_CHECK(S.nreq == 2);
	T_STREQ(S.target[0], "Kinesis_20131202.SubscribeToShard");
	T_CHECK(strstr(S.head[0], "Authorization: AWS4-HMAC-SHA256 ") != NULL);
	T_STREQ(S.body[0], "{\"ConsumerARN\":\"arn:consumer\",\"ShardId\":"
	    "\"shardId-1\",\"StartingPosition\":{\"Type\":\"TRIM_HORIZON\"}}");
	/* after the stream ended: on from the last continuation */
	T_STREQ(S.body[1], "{\"ConsumerARN\":\"arn:consumer\",\"ShardId\":"
	    "\"shardId-1\",\"StartingPosition\":{\"Type\":"
	    "\"AFTER_SEQUENCE_NUMBER\",\"SequenceNumber\":\"c3\"}}");
	T_CHECK(e.resubscribes == 1 && e.subscribes == 2);
	session_end(&e);
}

static void
test_in_use_retries(void)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256];

	srv_start(S_INUSE);
	session(&e, 0, 0);
	drain(&e, got, sizeof got, &ev);
	T_STREQ(got, "d1 d2 ");
	T_CHECK(ev.kind == KIN_EFO_END && ev.recs->nchildren == 0);
	T_CHECK(S.nreq == 3);
	/* no continuation yet: the position asked for, each time */
	T_CHECK(strstr(S.body[2], "TRIM_HORIZON") != NULL);
	session_end(&e);
}

static void
test_bad_frames(int scenario)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256];

	srv_start(scenario);
	session(&e, 0, 0);
	drain(&e, got, sizeof got, &ev);
	/* d9 was in the broken frame: never handed out, read again after
	 * c1 (here the server then has d2) */
	T_STREQ(got, "d1 d2 ");
	T_CHECK(ev.kind == KIN_EFO_END);
	T_CHECK(S.nreq == 2);
	T_CHECK(strstr(S.body[1], "{\"Type\":\"AFTER_SEQUENCE_NUMBER\","
	    "\"SequenceNumber\":\"c1\"}") != NULL);
	session_end(&e);
}

static void
test_fatal(int scenario, enum kin_aws_kind kind, const char *msg)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256], err[KIN_ERRLEN];

	srv_start(scenario);
	session(&e, 0, 0);
	drain(&e, got, sizeof got, &ev);
	T_CHECK(ev.kind == KIN_EFO_ERROR);
	T_CHECK(ev.ae->kind == kind);
	T_CHECKF(strstr(ev.err, msg) != NULL, "%s", ev.err);
	/* given up: not asked again */
	T_CHECK(kin_efo_next(&e, 100, &ev, err) == 0);
	T_CHECK(S.nreq == 1 && kin_efo_active(&e) == 0);
	session_end(&e);
}

static void
test_pause(void)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256];
	int events;

	srv_start(S_PAUSE);
	session(&e, 1, 0);
	events = drain(&e, got, sizeof got, &ev);
	T_CHECKF(events == 40, "%d events", events);
	T_CHECK(ev.kind == KIN_EFO_END);
	T_CHECK(strncmp(got, "aaa bbb ccc ddd ", 16) == 0);
	/* the queue holds one event: what comes behind it waits in curl */
	T_CHECKF(e.pauses >= 1, "%llu pauses", e.pauses);
	fprintf(stderr, "test_pause: %llu pauses for 40 events\n", e.pauses);
	T_CHECK(S.nreq == 1);
	session_end(&e);
}

static void
test_idle(void)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256];

	srv_start(S_IDLE);
	session(&e, 0, 300);
	drain(&e, got, sizeof got, &ev);
	T_STREQ(got, "d1 ");
	T_CHECK(ev.kind == KIN_EFO_END);
	T_CHECK(S.nreq == 2);
	/* the client gave up on the silent stream, not the server */
	T_CHECK(S.held_open == 1);
	session_end(&e);
}

static void
test_probe(void)
{
	struct kin_efo e;
	struct kin_efo_event ev;
	char got[256], err[KIN_ERRLEN];
	int r;

	srv_start(S_PROBE);
	session(&e, 0, 0);
	while ((r = kin_efo_next(&e, 2000, &ev, err)) == 1 &&
	    ev.recs->n == 0)
		;
	T_CHECK(r == 1 && ev.recs->n == 1 && ev.kind == KIN_EFO_RECORDS);
	T_STREQ(ev.continuation, "c5");
	kin_efo_closed(&e, "shardId-1");
	drain(&e, got, sizeof got, &ev);
	T_CHECK(ev.kind == KIN_EFO_END);
	T_CHECK(ev.recs->nchildren == 1 &&
	    strcmp(ev.recs->children[0].id, "shardId-2") == 0);
	T_CHECK(S.nreq == 3);
	T_STREQ(S.target[1], "Kinesis_20131202.GetShardIterator");
	T_CHECK(strstr(S.body[1], "\"ShardIteratorType\":"
	    "\"AFTER_SEQUENCE_NUMBER\",\"StartingSequenceNumber\":\"5\"") !=
	    NULL);
	T_STREQ(S.target[2], "Kinesis_20131202.GetRecords");
	session_end(&e);
}

static void
test_api(void)
{
	struct kin_efo e;
	char err[KIN_ERRLEN];

	srv_start(S_RESUB);
	client_init();
	T_CHECK(kin_efo_init(&e, &C, "s", "arn:c", NULL, err) == 0);
	T_CHECK(kin_efo_subscribe(&e, "a", "AT_SEQUENCE_NUMBER", NULL, 0,
	    err) < 0 && strstr(err, "needs a sequence number") != NULL);
	T_CHECK(kin_efo_subscribe(&e, "a", "LATEST", NULL, 0, err) == 0);
	T_CHECK(kin_efo_subscribe(&e, "a", "LATEST", NULL, 0, err) < 0 &&
	    strstr(err, "already subscribed") != NULL);
	T_CHECK(kin_efo_has(&e, "a") && kin_efo_active(&e) == 1);
	kin_efo_unsubscribe(&e, "a");
	T_CHECK(!kin_efo_has(&e, "a") && kin_efo_active(&e) == 0);
	kin_efo_wakeup(&e);
	T_CHECK(kin_efo_next(&e, 5000, &(struct kin_efo_event){ 0 }, err) ==
	    0);
	session_end(&e);
}

int
main(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	unsetenv("AWS_ENDPOINT_URL_KINESIS");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_PROFILE");
	test_api();
	test_resubscribe_and_children();
	test_in_use_retries();
	test_bad_frames(S_CRC);
	test_bad_frames(S_CUT);
	test_fatal(S_NOTFOUND, KIN_AWS_NOT_FOUND, "SubscribeToShard('shardId-1'):"
	    " ResourceNotFoundException: Consumer not found");
	test_fatal(S_EXC_FATAL, KIN_AWS_ACCESS, "AccessDeniedException: no");
	test_pause();
	test_idle();
	test_probe();
	T_DONE();
}
