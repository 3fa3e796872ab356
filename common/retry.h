/* retry.h — the AWS SDKs' "standard" retry mode: capped exponential
 * backoff with full jitter and a retry quota (token bucket), retrying only
 * throttling, 5xx, and transport failures. */
#ifndef KIN_RETRY_H
#define KIN_RETRY_H

#include <stdint.h>

/* What an AWS call's failure was, from status, __type and transport. */
enum kin_aws_kind {
	KIN_AWS_OK = 0,
	KIN_AWS_THROTTLED,        /* ProvisionedThroughputExceeded, Throttling,
	                             LimitExceeded on data calls, 429 */
	KIN_AWS_EXPIRED_ITERATOR,
	KIN_AWS_NOT_FOUND,        /* ResourceNotFoundException */
	KIN_AWS_IN_USE,           /* ResourceInUseException */
	KIN_AWS_LIMIT,            /* LimitExceededException (control plane) */
	KIN_AWS_KMS,              /* KMS* exceptions */
	KIN_AWS_ACCESS,           /* AccessDenied, UnrecognizedClient, signature */
	KIN_AWS_VALIDATION,       /* InvalidArgument, ValidationException, 4xx */
	KIN_AWS_INTERNAL,         /* 5xx, InternalFailure, ServiceUnavailable */
	KIN_AWS_TRANSPORT,        /* connect, reset, timeout, truncated, bad JSON */
	KIN_AWS_OTHER,
};

struct kin_retry {
	int max_attempts;   /* total tries, >= 1 (AWS_MAX_ATTEMPTS, default 3) */
	int base_ms;        /* 100 for throttling, 50 otherwise in the SDKs */
	int cap_ms;         /* 20000 */
	int quota;          /* tokens left, starts at 500 */
	uint64_t rng;       /* xorshift state */
};

void kin_retry_init(struct kin_retry *r, int max_attempts, uint64_t seed);
/* Map (HTTP status, __type short name) to a kind. status 0 = transport. */
enum kin_aws_kind kin_aws_classify(long status, const char *type);
const char *kin_aws_kind_name(enum kin_aws_kind k);
int kin_aws_retryable(enum kin_aws_kind k);
/* Delay before try number attempt+1 (attempt >= 1): uniform in
 * [0, min(cap, base * 2^(attempt-1))]. */
int64_t kin_retry_delay_ms(struct kin_retry *r, enum kin_aws_kind k,
    int attempt);
/* Spend retry tokens (5, or 10 for timeouts); 0 when the quota is empty and
 * the caller must give up. */
int kin_retry_acquire(struct kin_retry *r, enum kin_aws_kind k);
/* A success refunds one token (up to the start value). */
void kin_retry_success(struct kin_retry *r);
/* Uniform 64-bit random number from r's generator. */
uint64_t kin_retry_rand(struct kin_retry *r);

#endif
