/* retry.c — AWS "standard" retry mode (as the SDKs and Tools reference guide
 * describes it): which failures to retry, how long to wait, and the retry
 * quota that stops a client from piling retries onto a struggling service. */
#include "retry.h"

#include <stddef.h>
#include <string.h>

void
kin_retry_init(struct kin_retry *r, int max_attempts, uint64_t seed)
{
	if (max_attempts < 1)
		max_attempts = 3;
	r->max_attempts = max_attempts;
	/* Java SDK v2 standard strategy: 100 ms base, 1 s when throttled,
	 * backoff capped at 20 s. */
	r->base_ms = 100;
	r->throttle_base_ms = 1000;
	r->cap_ms = 20000;
	r->quota = KIN_RETRY_QUOTA;
	/* splitmix64 of the seed, so small seeds give unrelated streams */
	seed += 0x9e3779b97f4a7c15ULL;
	seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9ULL;
	seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebULL;
	seed ^= seed >> 31;
	r->rng = seed ? seed : 0x2545f4914f6cdd1dULL;
}

uint64_t
kin_retry_rand(struct kin_retry *r)
{
	/* xorshift64* */
	uint64_t x = r->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

struct type_kind {
	const char *type;
	enum kin_aws_kind kind;
};

/* Throttling and transient codes as botocore's standard mode lists them,
 * plus the Kinesis-specific ones from the API reference. */
static const struct type_kind types[] = {
	{ "ProvisionedThroughputExceededException", KIN_AWS_THROTTLED },
	{ "ThrottlingException", KIN_AWS_THROTTLED },
	{ "Throttling", KIN_AWS_THROTTLED },
	{ "ThrottledException", KIN_AWS_THROTTLED },
	{ "RequestThrottledException", KIN_AWS_THROTTLED },
	{ "TooManyRequestsException", KIN_AWS_THROTTLED },
	{ "RequestLimitExceeded", KIN_AWS_THROTTLED },
	{ "BandwidthLimitExceeded", KIN_AWS_THROTTLED },
	{ "RequestThrottled", KIN_AWS_THROTTLED },
	{ "SlowDown", KIN_AWS_THROTTLED },
	{ "PriorRequestNotComplete", KIN_AWS_THROTTLED },
	{ "EC2ThrottledException", KIN_AWS_THROTTLED },
	{ "TransactionInProgressException", KIN_AWS_THROTTLED },
	{ "KMSThrottlingException", KIN_AWS_THROTTLED },
	{ "LimitExceededException", KIN_AWS_LIMIT },
	{ "ExpiredIteratorException", KIN_AWS_EXPIRED_ITERATOR },
	{ "ExpiredNextTokenException", KIN_AWS_EXPIRED_ITERATOR },
	{ "ResourceNotFoundException", KIN_AWS_NOT_FOUND },
	{ "ResourceInUseException", KIN_AWS_IN_USE },
	{ "KMSDisabledException", KIN_AWS_KMS },
	{ "KMSInvalidStateException", KIN_AWS_KMS },
	{ "KMSAccessDeniedException", KIN_AWS_KMS },
	{ "KMSNotFoundException", KIN_AWS_KMS },
	{ "KMSOptInRequired", KIN_AWS_KMS },
	{ "AccessDeniedException", KIN_AWS_ACCESS },
	{ "AccessDenied", KIN_AWS_ACCESS },
	{ "UnrecognizedClientException", KIN_AWS_ACCESS },
	{ "InvalidSignatureException", KIN_AWS_ACCESS },
	{ "SignatureDoesNotMatch", KIN_AWS_ACCESS },
	{ "IncompleteSignature", KIN_AWS_ACCESS },
	{ "IncompleteSignatureException", KIN_AWS_ACCESS },
	{ "MissingAuthenticationToken", KIN_AWS_ACCESS },
	{ "MissingAuthenticationTokenException", KIN_AWS_ACCESS },
	{ "InvalidClientTokenId", KIN_AWS_ACCESS },
	{ "ExpiredToken", KIN_AWS_ACCESS },
	{ "ExpiredTokenException", KIN_AWS_ACCESS },
	{ "RequestExpired", KIN_AWS_ACCESS },
	{ "InvalidArgumentException", KIN_AWS_VALIDATION },
	{ "ValidationException", KIN_AWS_VALIDATION },
	{ "SerializationException", KIN_AWS_VALIDATION },
	{ "InvalidParameterException", KIN_AWS_VALIDATION },
	{ "InvalidParameterValue", KIN_AWS_VALIDATION },
	{ "MissingParameter", KIN_AWS_VALIDATION },
	{ "UnknownOperationException", KIN_AWS_VALIDATION },
	{ "InternalFailure", KIN_AWS_INTERNAL },
	{ "InternalFailureException", KIN_AWS_INTERNAL },
	{ "InternalServerError", KIN_AWS_INTERNAL },
	{ "InternalError", KIN_AWS_INTERNAL },
	{ "InternalServiceException", KIN_AWS_INTERNAL },
	{ "ServiceUnavailable", KIN_AWS_INTERNAL },
	{ "ServiceUnavailableException", KIN_AWS_INTERNAL },
	{ "RequestTimeout", KIN_AWS_INTERNAL },
	{ "RequestTimeoutException", KIN_AWS_INTERNAL },
	{ "IDPCommunicationError", KIN_AWS_INTERNAL },
};

enum kin_aws_kind
kin_aws_classify(long status, const char *type)
{
	const char *hash;

	if (status >= 200 && status < 300)
		return KIN_AWS_OK;
	if (type != NULL && (hash = strrchr(type, '#')) != NULL)
		type = hash + 1;
	if (type != NULL && *type != '\0') {
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcmp(type, types[i].type) == 0)
				return types[i].kind;
		/* a name we do not know: the status decides, but a KMS
		 * failure is still a KMS failure */
		if (strncmp(type, "KMS", 3) == 0)
			return KIN_AWS_KMS;
	}
	if (status == 0)
		return KIN_AWS_TRANSPORT;
	if (status == 429)
		return KIN_AWS_THROTTLED;
	if (status == 401 || status == 403)
		return KIN_AWS_ACCESS;
	if (status == 404)
		return KIN_AWS_NOT_FOUND;
	if (status == 408)
		return KIN_AWS_INTERNAL;
	if (status >= 400 && status < 500)
		return KIN_AWS_VALIDATION;
	/* 500 502 503 504 are the transient ones; 501 and friends are not */
	if (status == 500 || status == 502 || status == 503 || status == 504)
		return KIN_AWS_INTERNAL;
	return KIN_AWS_OTHER;
}

const char *
kin_aws_kind_name(enum kin_aws_kind k)
{
	switch (k) {
	case KIN_AWS_OK:		return "ok";
	case KIN_AWS_THROTTLED:		return "throttled";
	case KIN_AWS_EXPIRED_ITERATOR:	return "expired iterator";
	case KIN_AWS_NOT_FOUND:		return "not found";
	case KIN_AWS_IN_USE:		return "resource in use";
	case KIN_AWS_LIMIT:		return "limit exceeded";
	case KIN_AWS_KMS:		return "KMS failure";
	case KIN_AWS_ACCESS:		return "access denied";
	case KIN_AWS_VALIDATION:	return "invalid request";
	case KIN_AWS_INTERNAL:		return "service failure";
	case KIN_AWS_TRANSPORT:		return "transport failure";
	case KIN_AWS_TIMEOUT:		return "timeout";
	case KIN_AWS_CONFIG:		return "configuration";
	case KIN_AWS_OTHER:		return "other failure";
	}
	return "unknown";
}

int
kin_aws_retryable(enum kin_aws_kind k)
{
	switch (k) {
	case KIN_AWS_THROTTLED:
	case KIN_AWS_LIMIT:
	case KIN_AWS_INTERNAL:
	case KIN_AWS_TRANSPORT:
	case KIN_AWS_TIMEOUT:
		return 1;
	default:
		return 0;
	}
}

int64_t
kin_retry_delay_ms(struct kin_retry *r, enum kin_aws_kind k, int attempt)
{
	int64_t base, ceil;

	base = (k == KIN_AWS_THROTTLED || k == KIN_AWS_LIMIT) ?
	    r->throttle_base_ms : r->base_ms;
	if (attempt < 1)
		attempt = 1;
	ceil = base;
	/* base * 2^(attempt-1), stopping at the cap before it can overflow */
	for (int i = 1; i < attempt && ceil < r->cap_ms; i++)
		ceil *= 2;
	if (ceil > r->cap_ms)
		ceil = r->cap_ms;
	if (ceil <= 0)
		return 0;
	/* full jitter: uniform over [0, ceil] */
	return (int64_t)(kin_retry_rand(r) % (uint64_t)(ceil + 1));
}

int
kin_retry_acquire(struct kin_retry *r, enum kin_aws_kind k)
{
	int cost = k == KIN_AWS_TIMEOUT ? KIN_RETRY_TIMEOUT_COST :
	    KIN_RETRY_COST;

	if (r->quota < cost)
		return 0;
	r->quota -= cost;
	return cost;
}

void
kin_retry_refund(struct kin_retry *r, int tokens)
{
	if (tokens < 0)
		return;
	r->quota += tokens;
	if (r->quota > KIN_RETRY_QUOTA)
		r->quota = KIN_RETRY_QUOTA;
}

void
kin_retry_success(struct kin_retry *r)
{
	kin_retry_refund(r, 1);
}
