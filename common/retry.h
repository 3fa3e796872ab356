/* retry.h — the AWS SDKs' "standard" retry mode: capped exponential
 * backoff with full jitter and a retry quota (token bucket), retrying only
 * throttling, 5xx, and transport failures.
 * Ownership: struct kin_retry is plain data the caller owns (one per client,
 * so one per thread); kin_retry_init() sets it up, nothing to release. */
#ifndef KIN_RETRY_H
#define KIN_RETRY_H

#include <stdint.h>

/* What an AWS call's failure was, from status, __type and transport. */
enum kin_aws_kind {
	KIN_AWS_OK = 0,
	KIN_AWS_THROTTLED,        /* ProvisionedThroughputExceeded, Throttling,
	                             KMSThrottling, 429 */
	KIN_AWS_EXPIRED_ITERATOR, /* ExpiredIterator, ExpiredNextToken */
	KIN_AWS_NOT_FOUND,        /* ResourceNotFoundException */
	KIN_AWS_IN_USE,           /* ResourceInUseException */
	KIN_AWS_LIMIT,            /* LimitExceededException: rate limits on
	                             control calls and shard limits alike */
	KIN_AWS_KMS,              /* KMS* exceptions */
	KIN_AWS_ACCESS,           /* AccessDenied, UnrecognizedClient, signature */
	KIN_AWS_VALIDATION,       /* InvalidArgument, ValidationException, 4xx */
	KIN_AWS_INTERNAL,         /* 5xx, InternalFailure, ServiceUnavailable */
	KIN_AWS_TRANSPORT,        /* connect, reset, truncated, bad JSON */
	KIN_AWS_TIMEOUT,          /* no answer in time (costs more quota) */
	KIN_AWS_CONFIG,           /* no credentials, bad endpoint, TLS trust */
	KIN_AWS_OTHER,
};

struct kin_retry {
	int max_attempts;     /* total tries, >= 1 (AWS_MAX_ATTEMPTS, default 3) */
	int base_ms;          /* backoff base for errors: 100 */
	int throttle_base_ms; /* backoff base for throttling: 1000 */
	int cap_ms;           /* 20000 */
	int quota;            /* tokens left, starts at 500 */
	uint64_t rng;         /* xorshift state */
};

#define KIN_RETRY_QUOTA 500
#define KIN_RETRY_COST 5
#define KIN_RETRY_TIMEOUT_COST 10

/* max_attempts < 1 means the default (3); seed 0 picks a fixed one. */
void kin_retry_init(struct kin_retry *r, int max_attempts, uint64_t seed);
/* Map (HTTP status, __type short name) to a kind. status 0 = transport.
 * type may be NULL or "", or still carry a "namespace#" prefix. */
enum kin_aws_kind kin_aws_classify(long status, const char *type);
const char *kin_aws_kind_name(enum kin_aws_kind k);
/* 1 for throttling, limits, 5xx, transport failures and timeouts. */
int kin_aws_retryable(enum kin_aws_kind k);
/* Delay before try number attempt+1 (attempt >= 1): uniform in
 * [0, min(cap, base * 2^(attempt-1))], base by kind (throttling or not). */
int64_t kin_retry_delay_ms(struct kin_retry *r, enum kin_aws_kind k,
    int attempt);
/* Spend retry tokens (5, or 10 for timeouts); returns the tokens spent, or
 * 0 when the quota cannot pay and the caller must give up. */
int kin_retry_acquire(struct kin_retry *r, enum kin_aws_kind k);
/* A success refunds one token (up to the start value). */
void kin_retry_success(struct kin_retry *r);
/* A success after retries gives back what those retries spent. */
void kin_retry_refund(struct kin_retry *r, int tokens);
/* Uniform 64-bit random number from r's generator. */
uint64_t kin_retry_rand(struct kin_retry *r);

#endif
