/* kinesis.h — the Kinesis Data Streams JSON 1.1 API over http, sigv4 and
 * retry.  Ownership: struct kin_client is the caller's (init/release); it
 * owns one HTTP connection, so use one client per thread (kin_client_clone
 * shares the settings and credentials of another).  Every out-parameter
 * struct has a *_release.  Calls return 0, or -1 with *ae typed and err as
 * "Op('stream'): Type: message" (plus " (after N attempts)" when retried). */
#ifndef KIN_KINESIS_H
#define KIN_KINESIS_H

#include <stddef.h>
#include <stdint.h>
#include "awsconf.h"
#include "buf.h"
#include "cli.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "retry.h"
#include "sigv4.h"

#define KIN_MAX_RECORD (1024 * 1024)   /* data + partition key */
#define KIN_MAX_PUT_RECORDS 500
#define KIN_MAX_PUT_BYTES (5 * 1024 * 1024)

struct kin_awserr {
	enum kin_aws_kind kind;
	long status;          /* HTTP status, 0 for transport failures */
	char type[128];       /* e.g. "ResourceNotFoundException" */
	char message[256];
	int attempts;
};

struct kin_client {
	struct kin_aws *aws;  /* shared; owned when owns_aws */
	int owns_aws;
	struct kin_http http;
	struct kin_sigv4_cache sig;
	struct kin_retry retry;
	char host[256];       /* from the endpoint, for the Host header */
	char path[256];       /* the endpoint's path, "/" for all of AWS */
	char url[512];        /* endpoint + "/" */
	kin_trace_fn trace;
	void *trace_ctx;
	int verbose;          /* 1 retries, 2 one line per request, 3 headers */
	long long fixed_now;  /* signing clock for tests; 0 = the real one */
	/* the service spoken (NULL = Kinesis): SigV4 name, X-Amz-Target
	 * prefix and content type; static strings */
	const char *service;
	const char *target_prefix;
	const char *content_type;
	struct kin_json json; /* response parser, reused between calls */
	struct kin_buf body;  /* request body, reused between calls */
	struct kin_buf resp;  /* response body, reused between calls */
};

/* Reads settings as DESIGN.md section 3 from cli (region, endpoint,
 * profile).  -1 with err on a configuration problem (caller exits 78). */
int kin_client_init(struct kin_client *c, const struct kin_cli *cli,
    char *err);
/* A client for another AWS service on the same JSON protocol, e.g.
 * DynamoDB: ("dynamodb", "DynamoDB_20120810.",
 * "application/x-amz-json-1.0"); the strings must outlive the client.
 * Region and profile come from cli; endpoint is the service's own
 * command-line value or NULL (then AWS_ENDPOINT_URL_<SERVICE>, ...). */
int kin_client_init_service(struct kin_client *c, const struct kin_cli *cli,
    const char *service, const char *target_prefix, const char *content_type,
    const char *endpoint, char *err);
/* A new connection sharing src's settings and credentials. */
int kin_client_clone(struct kin_client *dst, const struct kin_client *src,
    char *err);
void kin_client_release(struct kin_client *c);
/* Trace through fn(ctx, line): verbose 1 notes retries, 2 adds one line
 * per request (status, sizes, time), 3 adds headers and bodies.  Every line
 * has passed kin_redact. */
void kin_client_set_trace(struct kin_client *c, int verbose, kin_trace_fn fn,
    void *ctx);

/* Headers for a signed call of op with body (for callers that drive their
 * own transfers, e.g. curl multi).  Fills hdr[0..*n) (at most 8) whose
 * strings live in store (caller-owned buffer, reset here, released by the
 * caller).  POST them to c->url.  -1 with err when there are no credentials
 * (exit 78). */
int kin_client_sign(struct kin_client *c, const char *op, const void *body,
    size_t len, struct kin_header *hdr, size_t *n, struct kin_buf *store,
    char *err);
/* Classify a finished response: 0 for 2xx, else -1 with ae and err. */
int kin_client_check(const char *op, long status, const char *errortype,
    const char *body, size_t len, struct kin_awserr *ae, char *err);

/* One JSON call with retries; response body into resp (reset first; its
 * ceiling caps the response).  On failure resp holds the last answer. */
int kin_call(struct kin_client *c, const char *op, const char *body,
    size_t len, struct kin_buf *resp, struct kin_awserr *ae, char *err);
/* Same, with subject (a stream name, or NULL) named in err, and flags. */
#define KIN_CALL_NO_THROTTLE_RETRY 1  /* throttling comes back at once */
#define KIN_CALL_JSON 2  /* a 2xx answer that is not a JSON object is a
                            failed attempt, retried as a dropped
                            connection would be (kin_call sets it) */
int kin_call_ex(struct kin_client *c, const char *op, const char *subject,
    int flags, const char *body, size_t len, struct kin_buf *resp,
    struct kin_awserr *ae, char *err);

/* ---- typed operations ---- */

struct kin_shard {
	char *id;
	char *parent;           /* NULL if none */
	char *adjacent_parent;  /* NULL if none */
	char *hash_start;       /* decimal strings, 0 .. 2^128-1 */
	char *hash_end;
	char *seq_start;
	char *seq_end;          /* NULL while the shard is open */
};
void kin_shards_free(struct kin_shard *s, size_t n);

/* All shards (follows NextToken).  filter: NULL, or a ShardFilter Type
 * such as "AT_LATEST" / "AT_TRIM_HORIZON" / "FROM_TRIM_HORIZON". */
int kin_list_shards(struct kin_client *c, const char *stream,
    const char *filter, struct kin_shard **out, size_t *n,
    struct kin_awserr *ae, char *err);
int kin_list_streams(struct kin_client *c, char ***names, size_t *n,
    struct kin_awserr *ae, char *err);
void kin_strv_free(char **v, size_t n);

struct kin_stream_summary {
	char *name, *arn, *status;     /* status: CREATING ACTIVE UPDATING ... */
	int open_shards;
	int retention_hours;
	char *mode;                    /* PROVISIONED / ON_DEMAND, may be NULL */
	char *encryption;              /* NONE / KMS, may be NULL */
};
void kin_stream_summary_release(struct kin_stream_summary *s);
int kin_describe_stream_summary(struct kin_client *c, const char *stream,
    struct kin_stream_summary *out, struct kin_awserr *ae, char *err);

int kin_create_stream(struct kin_client *c, const char *stream, int shards,
    struct kin_awserr *ae, char *err);
int kin_delete_stream(struct kin_client *c, const char *stream,
    struct kin_awserr *ae, char *err);
/* Poll DescribeStreamSummary until ACTIVE or timeout_ms passes. */
int kin_wait_active(struct kin_client *c, const char *stream,
    int64_t timeout_ms, struct kin_awserr *ae, char *err);
int kin_update_shard_count(struct kin_client *c, const char *stream,
    int target, struct kin_awserr *ae, char *err);
int kin_merge_shards(struct kin_client *c, const char *stream,
    const char *shard, const char *adjacent, struct kin_awserr *ae,
    char *err);
int kin_split_shard(struct kin_client *c, const char *stream,
    const char *shard, const char *new_start_hash, struct kin_awserr *ae,
    char *err);

/* type: TRIM_HORIZON LATEST AT_SEQUENCE_NUMBER AFTER_SEQUENCE_NUMBER
 * AT_TIMESTAMP; seq for the sequence types; ts_ms for AT_TIMESTAMP.
 * *iter is malloc'd. */
int kin_get_shard_iterator(struct kin_client *c, const char *stream,
    const char *shard, const char *type, const char *seq, int64_t ts_ms,
    char **iter, struct kin_awserr *ae, char *err);

struct kin_record {
	char *data;            /* decoded bytes (NUL after them) */
	size_t len;
	char *key;             /* PartitionKey */
	char *seq;             /* SequenceNumber */
	int64_t arrival_ms;    /* ApproximateArrivalTimestamp */
};

struct kin_child_shard {
	char *id;
	char **parents;
	size_t nparents;
};

struct kin_records {
	struct kin_record *r;
	size_t n, cap;
	char *next_iter;            /* NULL when the shard is closed and read */
	int64_t millis_behind;      /* -1 if absent */
	struct kin_child_shard *children;
	size_t nchildren;
	struct kin_buf store;       /* holds decoded bytes */
};
void kin_records_init(struct kin_records *o);
void kin_records_release(struct kin_records *o);

/* One GetRecords call, retried for transport errors and 5xx only
 * (throttling and expired iterators come back typed so the reader decides).
 * out is emptied first and its memory reused. */
int kin_get_records(struct kin_client *c, const char *iter, int limit,
    struct kin_records *out, struct kin_awserr *ae, char *err);
/* Parse a 200 GetRecords response with parser j (kin_json_init'ed; its
 * ceiling must allow ~16 tokens a record). */
int kin_get_records_parse(struct kin_json *j, const char *body, size_t len,
    struct kin_records *out, char *err);

struct kin_put_entry {
	const void *data;
	size_t len;
	const char *key;
	const char *hash;      /* ExplicitHashKey or NULL */
};

struct kin_put_result {
	char seq[128];         /* empty when failed */
	char shard[64];
	char code[64];         /* ErrorCode, empty on success */
	char message[192];
};

/* Build the PutRecords request body into body (reset first):
 * {"StreamName":S,"Records":[{"Data":B64,"PartitionKey":K[,"ExplicitHashKey":H]},...]}.
 * Checks the service's limits first: 1..500 records, keys of 1..256
 * characters, data + key <= 1 MiB each and 5 MiB in all, decimal hash keys. */
int kin_put_records_body(struct kin_buf *body, const char *stream,
    const struct kin_put_entry *e, size_t n, char *err);
/* Parse a 200 PutRecords response into res[0..n); *failed = the records
 * without a sequence number (an ErrorCode, or "MissingSequenceNumber"),
 * counted from the records themselves rather than trusting
 * FailedRecordCount.  -1 when the body is not a well-formed answer for n
 * records. */
int kin_put_records_parse(const char *body, size_t len, size_t n,
    struct kin_put_result *res, int *failed, char *err);
/* Both of the above plus one kin_call (whole-request retries only). */
int kin_put_records(struct kin_client *c, const char *stream,
    const struct kin_put_entry *e, size_t n, struct kin_put_result *res,
    int *failed, struct kin_awserr *ae, char *err);

/* Map a call failure to the exit status DESIGN.md section 2 asks for:
 * not found, access, KMS, configuration 78; throttling, 5xx, transport and
 * limits (after retries) 69; resource in use, expired iterator 75; invalid
 * request 65. */
int kin_exit_status(const struct kin_awserr *ae);

#endif
