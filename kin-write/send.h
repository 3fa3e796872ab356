/* send.h — PutRecords requests in flight at once over kept-alive
 * connections: one curl multi handle, a fixed set of request slots, each
 * with its own easy handle, body and response buffers (reused), headers
 * signed by kin_client_sign().
 * Ownership: struct sender is the caller's (sender_init/sender_release);
 * a slot's krec array is filled by the caller and handed back on
 * completion. */
#ifndef KW_SEND_H
#define KW_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include "buf.h"
#include "kinesis.h"
#include "kw.h"

struct req {
	CURL *easy;
	struct curl_slist *hdrs;
	struct kin_buf body, resp, store;
	char errortype[128];
	char curl_err[CURL_ERROR_SIZE];
	struct krec **k;            /* records in this request */
	size_t n;
	struct shard **shards;      /* distinct shards in it */
	size_t nshards;
	uint64_t users;             /* user records in it */
	size_t ucost;               /* and their urec_cost() */
	int busy;
	int64_t start_us;
};

struct send_result {
	int transport;              /* 1: no HTTP answer (curl failed) */
	long status;
	const char *errortype;      /* x-amzn-ErrorType, may be "" */
	const char *body;
	size_t len;
	const char *curl_err;       /* transport: why */
	double seconds;
};

typedef void (*send_done_fn)(void *ctx, struct req *r,
    const struct send_result *res);

struct sender {
	CURLM *multi;
	struct req *r;
	int n, busy;
	struct kin_client *c;
	const char *stream;
	long timeout_ms;
	uint64_t requests;          /* started, for -v */
};

int sender_init(struct sender *s, struct kin_client *c, const char *stream,
    int slots, long timeout_ms, char *err);
void sender_release(struct sender *s);
/* A slot that is not busy (its k array holds room for 500), or NULL. */
struct req *sender_slot(struct sender *s);
/* Build, sign and start r's request.  -1 with err when it could not be
 * started (the slot stays free and r->k is untouched). */
int sender_start(struct sender *s, struct req *r, char *err);
/* Move transfers along and call done() for each that finished; the slot is
 * free again when done() returns. */
void sender_perform(struct sender *s, send_done_fn done, void *ctx);
/* Wait for network activity, an extra fd, or timeout_ms. */
void sender_wait(struct sender *s, struct curl_waitfd *extra, unsigned n,
    int timeout_ms);

#endif
