/* efo.h — enhanced fan-out: stream consumers (register, describe, list,
 * deregister) and SubscribeToShard, many shards at once over one HTTP/2
 * connection (libcurl multi), each answer an AWS event stream
 * (eventstream.h) decoded as it arrives.
 * Ownership: struct kin_consumer and struct kin_efo are the caller's
 * (kin_consumer_release, kin_efo_init/kin_efo_release).  An event handed out
 * by kin_efo_next() is the session's and stays valid until the next
 * kin_efo_next() or kin_efo_release().  A session is driven by one thread;
 * only kin_efo_wakeup() may be called from another. */
#ifndef KIN_EFO_H
#define KIN_EFO_H

#include <stddef.h>
#include <stdint.h>

#include "kinesis.h"

struct kin_consumer {
	char *name;
	char *arn;            /* ConsumerARN: what SubscribeToShard wants */
	char *status;         /* CREATING, ACTIVE, DELETING */
	char *stream_arn;     /* NULL when the answer did not say */
	int64_t created_ms;   /* ConsumerCreationTimestamp, 0 if absent */
};
void kin_consumer_release(struct kin_consumer *c);
void kin_consumers_free(struct kin_consumer *v, size_t n);

/* The control-plane calls, as the API has them.  A consumer is named by
 * consumer_arn, or by stream_arn and name (pass NULL for the other). */
int kin_register_stream_consumer(struct kin_client *c, const char *stream_arn,
    const char *name, struct kin_consumer *out, struct kin_awserr *ae,
    char *err);
int kin_describe_stream_consumer(struct kin_client *c, const char *stream_arn,
    const char *name, const char *consumer_arn, struct kin_consumer *out,
    struct kin_awserr *ae, char *err);
int kin_deregister_stream_consumer(struct kin_client *c,
    const char *stream_arn, const char *name, const char *consumer_arn,
    struct kin_awserr *ae, char *err);
/* All consumers of a stream (follows NextToken). */
int kin_list_stream_consumers(struct kin_client *c, const char *stream_arn,
    struct kin_consumer **out, size_t *n, struct kin_awserr *ae, char *err);

/* Consumer name of stream (a stream name): registered when absent, used
 * when present, and waited for until ACTIVE (DescribeStreamConsumer, at most
 * timeout_ms; one being deleted is waited out, then registered again).
 * out->stream_arn is always set.  -1 with ae/err (time-out: kind
 * KIN_AWS_TIMEOUT). */
int kin_efo_consumer(struct kin_client *c, const char *stream,
    const char *name, int64_t timeout_ms, struct kin_consumer *out,
    struct kin_awserr *ae, char *err);

/* ---- subscriptions ---- */

struct kin_efo_cfg {
	size_t max_message;   /* ceiling on one event, default 32 MiB */
	size_t max_buffered;  /* per shard: decoded bytes held before its
	                         transfer is paused (HTTP/2 flow control then
	                         stops the server), default 8 MiB */
	int64_t idle_ms;      /* no byte on a running (unpaused) subscription
	                         for this long: resubscribe; default 35 s (the
	                         service sends an event at least every 5 s) */
	int64_t retry_ms;     /* first back-off, doubled up to retry_cap_ms
	                         with full jitter; defaults 500 and 10000 */
	int64_t retry_cap_ms;
	int max_failures;     /* failed subscribes in a row before the shard
	                         is given up with an ERROR event; default 12 */
	int64_t connect_timeout_ms;  /* default 5000 */
	int64_t max_life_ms;  /* end each subscription after this long and
	                         go on from its continuation, as the service
	                         does after 5 minutes; 0 = leave it to the
	                         service (tests use it to resubscribe often) */
};

enum kin_efo_kind {
	KIN_EFO_RECORDS,      /* one SubscribeToShardEvent: recs->r[0..n) (may
	                         be none: a heartbeat), continuation,
	                         millis_behind */
	KIN_EFO_END,          /* the shard is closed and read to its end: its
	                         last records, if any, are in recs->r (the
	                         service's final event carries them), and
	                         recs->children names its children (empty
	                         when the server did not say: list the
	                         shards).  The subscription is gone. */
	KIN_EFO_ERROR,        /* the shard's subscription failed for good: not
	                         found, access, bad request, or max_failures
	                         retries; ae and err say why.  It is gone. */
};

struct kin_efo_event {
	enum kin_efo_kind kind;
	const char *shard;
	const struct kin_records *recs;  /* never NULL */
	const char *continuation;  /* resume AFTER_SEQUENCE_NUMBER it (it
	                              may name no record); NULL at END/ERROR */
	int64_t millis_behind;     /* -1 if absent */
	const struct kin_awserr *ae;     /* ERROR */
	const char *err;                 /* ERROR: "SubscribeToShard('id'):
	                                    why" */
};

struct kin_efo_sub;

struct kin_efo {
	struct kin_client c;       /* a clone of the caller's: signing, probes */
	struct kin_efo_cfg cfg;
	char *stream;
	char *consumer_arn;
	void *multi;               /* CURLM * */
	struct kin_efo_sub **v;
	size_t n, cap;
	size_t rr;                 /* where the next event search starts */
	void *held;                /* the event handed out, freed on the next
	                              call */
	char cur_shard[256];       /* its shard */
	struct kin_json json;      /* event parser */
	int woken;                 /* kin_efo_wakeup was called (atomic) */
	unsigned long long subscribes, resubscribes, events, records;
	unsigned long long pauses;
	unsigned long long handed;  /* events handed out by kin_efo_next */
	/* what the transfers ran on: HTTP/2 ones, and the distinct local
	 * ports (connections) seen, to show the streams were multiplexed */
	unsigned long long h2;
	long ports[64];
	size_t nports;
};

/* A session reading stream (a name) through consumer_arn, with settings,
 * credentials and trace taken from base (cloned).  cfg may be NULL. */
int kin_efo_init(struct kin_efo *e, const struct kin_client *base,
    const char *stream, const char *consumer_arn,
    const struct kin_efo_cfg *cfg, char *err);
void kin_efo_release(struct kin_efo *e);

/* Start reading shard at type (TRIM_HORIZON LATEST AT_SEQUENCE_NUMBER
 * AFTER_SEQUENCE_NUMBER AT_TIMESTAMP) with seq or ts_ms.  It goes on by
 * itself (a new subscription every 5 minutes, after failures, from the last
 * ContinuationSequenceNumber received) until END, ERROR or unsubscribe.
 * -1 with err when shard is already subscribed or on bad arguments. */
int kin_efo_subscribe(struct kin_efo *e, const char *shard, const char *type,
    const char *seq, int64_t ts_ms, char *err);
/* Stop reading shard now, dropping what is buffered for it. */
void kin_efo_unsubscribe(struct kin_efo *e, const char *shard);
/* Tell the session shard is closed (ListShards shows an ending sequence
 * number).  For servers that keep a closed shard's subscription open
 * without ChildShards (kinesis-mock): its next empty event then makes the
 * session check with GetRecords from the last record received, and END
 * comes once nothing is left. */
void kin_efo_closed(struct kin_efo *e, const char *shard);
/* Shards subscribed (not yet ended, failed or unsubscribed). */
size_t kin_efo_active(const struct kin_efo *e);
/* 1 if shard is one of them. */
int kin_efo_has(const struct kin_efo *e, const char *shard);

/* The next event of any shard, in order within each shard, waiting at
 * most timeout_ms (0 = do not wait).  1 with *ev; 0 when the time passed
 * (or kin_efo_wakeup was called); -1 with err when the session itself
 * cannot go on (out of memory, libcurl failed). */
int kin_efo_next(struct kin_efo *e, int64_t timeout_ms,
    struct kin_efo_event *ev, char *err);
/* Make a kin_efo_next waiting in another thread return 0 soon. */
void kin_efo_wakeup(struct kin_efo *e);

#endif
