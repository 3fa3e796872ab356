/* test_retry.c — AWS standard retry mode: classification, backoff bounds,
 * retry quota. */
#include "t.h"
#include "retry.h"

#include <stdint.h>

static void
test_classify(void)
{
	static const struct {
		long status;
		const char *type;
		enum kin_aws_kind kind;
		int retry;
	} cases[] = {
		{ 200, NULL, KIN_AWS_OK, 0 },
		{ 204, "", KIN_AWS_OK, 0 },
		{ 400, "ProvisionedThroughputExceededException", KIN_AWS_THROTTLED, 1 },
		{ 400, "ThrottlingException", KIN_AWS_THROTTLED, 1 },
		{ 400, "KMSThrottlingException", KIN_AWS_THROTTLED, 1 },
		{ 400, "LimitExceededException", KIN_AWS_LIMIT, 1 },
		{ 400, "com.amazonaws.kinesis.v20131202#LimitExceededException",
		    KIN_AWS_LIMIT, 1 },
		{ 429, NULL, KIN_AWS_THROTTLED, 1 },
		{ 400, "ExpiredIteratorException", KIN_AWS_EXPIRED_ITERATOR, 0 },
		{ 400, "ExpiredNextTokenException", KIN_AWS_EXPIRED_ITERATOR, 0 },
		{ 400, "ResourceNotFoundException", KIN_AWS_NOT_FOUND, 0 },
		{ 400, "prefix#ResourceNotFoundException", KIN_AWS_NOT_FOUND, 0 },
		{ 400, "ResourceInUseException", KIN_AWS_IN_USE, 0 },
		{ 400, "KMSDisabledException", KIN_AWS_KMS, 0 },
		{ 400, "KMSSomethingNewException", KIN_AWS_KMS, 0 },
		{ 400, "AccessDeniedException", KIN_AWS_ACCESS, 0 },
		{ 400, "UnrecognizedClientException", KIN_AWS_ACCESS, 0 },
		{ 403, "InvalidSignatureException", KIN_AWS_ACCESS, 0 },
		{ 403, NULL, KIN_AWS_ACCESS, 0 },
		{ 400, "InvalidArgumentException", KIN_AWS_VALIDATION, 0 },
		{ 400, "ValidationException", KIN_AWS_VALIDATION, 0 },
		{ 400, "SerializationException", KIN_AWS_VALIDATION, 0 },
		{ 400, "SomethingUnheardOf", KIN_AWS_VALIDATION, 0 },
		{ 400, NULL, KIN_AWS_VALIDATION, 0 },
		{ 413, "", KIN_AWS_VALIDATION, 0 },
		{ 404, NULL, KIN_AWS_NOT_FOUND, 0 },
		{ 500, "InternalFailure", KIN_AWS_INTERNAL, 1 },
		{ 503, "ServiceUnavailable", KIN_AWS_INTERNAL, 1 },
		{ 500, NULL, KIN_AWS_INTERNAL, 1 },
		{ 502, NULL, KIN_AWS_INTERNAL, 1 },
		{ 503, NULL, KIN_AWS_INTERNAL, 1 },
		{ 504, "", KIN_AWS_INTERNAL, 1 },
		{ 501, NULL, KIN_AWS_OTHER, 0 },
		{ 500, "ThrottlingException", KIN_AWS_THROTTLED, 1 },
		{ 0, NULL, KIN_AWS_TRANSPORT, 1 },
		{ 302, NULL, KIN_AWS_OTHER, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum kin_aws_kind k = kin_aws_classify(cases[i].status,
		    cases[i].type);
		T_CHECKF(k == cases[i].kind, "%ld %s: got %s, want %s",
		    cases[i].status, cases[i].type ? cases[i].type : "(null)",
		    kin_aws_kind_name(k), kin_aws_kind_name(cases[i].kind));
		T_CHECKF(kin_aws_retryable(k) == cases[i].retry,
		    "%ld %s: retryable %d", cases[i].status,
		    cases[i].type ? cases[i].type : "(null)",
		    kin_aws_retryable(k));
	}
	T_CHECK(kin_aws_retryable(KIN_AWS_TIMEOUT));
	T_CHECK(!kin_aws_retryable(KIN_AWS_CONFIG));
	T_CHECK(!kin_aws_retryable(KIN_AWS_OK));
}

static void
test_backoff(void)
{
	struct kin_retry r;

	kin_retry_init(&r, 0, 42);
	T_CHECK(r.max_attempts == 3);
	kin_retry_init(&r, 7, 42);
	T_CHECK(r.max_attempts == 7);
	for (int attempt = 1; attempt <= 12; attempt++) {
		for (int throttled = 0; throttled <= 1; throttled++) {
			enum kin_aws_kind k = throttled ? KIN_AWS_THROTTLED :
			    KIN_AWS_INTERNAL;
			int64_t base = throttled ? r.throttle_base_ms : r.base_ms;
			int64_t ceil = base << (attempt - 1);
			int64_t lo = INT64_MAX, hi = -1;
			if (ceil > r.cap_ms)
				ceil = r.cap_ms;
			for (int i = 0; i < 4000; i++) {
				int64_t d = kin_retry_delay_ms(&r, k, attempt);
				if (d < lo)
					lo = d;
				if (d > hi)
					hi = d;
			}
			T_CHECKF(lo >= 0 && hi <= ceil, "attempt %d: [%lld, "
			    "%lld] outside [0, %lld]", attempt, (long long)lo,
			    (long long)hi, (long long)ceil);
			/* full jitter really spreads over the range */
			T_CHECKF(lo <= ceil / 10 && hi >= ceil - ceil / 10,
			    "attempt %d: [%lld, %lld] does not cover [0, %lld]",
			    attempt, (long long)lo, (long long)hi,
			    (long long)ceil);
		}
	}
	/* huge attempt numbers stay at the cap, no overflow */
	for (int i = 0; i < 100; i++) {
		int64_t d = kin_retry_delay_ms(&r, KIN_AWS_INTERNAL, 1000);
		T_CHECK(d >= 0 && d <= r.cap_ms);
	}
	/* the first retry after an error waits at most 100 ms; after
	 * throttling at most 1 s */
	T_CHECK(r.base_ms == 100 && r.throttle_base_ms == 1000 &&
	    r.cap_ms == 20000);

	/* different seeds, different sequences; same seed, same sequence */
	struct kin_retry a, b, c;
	kin_retry_init(&a, 3, 1);
	kin_retry_init(&b, 3, 1);
	kin_retry_init(&c, 3, 2);
	int same = 1, diff = 0;
	for (int i = 0; i < 16; i++) {
		uint64_t x = kin_retry_rand(&a), y = kin_retry_rand(&b);
		uint64_t z = kin_retry_rand(&c);
		same &= x == y;
		diff |= x != z;
	}
	T_CHECK(same && diff);
}

static void
test_quota(void)
{
	struct kin_retry r;
	int n = 0;

	kin_retry_init(&r, 3, 7);
	T_CHECK(r.quota == 500);
	while (kin_retry_acquire(&r, KIN_AWS_THROTTLED) == 5)
		n++;
	T_CHECKF(n == 100, "%d retries from a full quota", n);
	T_CHECK(r.quota == 0);
	T_CHECK(kin_retry_acquire(&r, KIN_AWS_INTERNAL) == 0);
	/* successes refund one token each, up to the start value */
	for (int i = 0; i < 4; i++)
		kin_retry_success(&r);
	T_CHECK(r.quota == 4);
	T_CHECK(kin_retry_acquire(&r, KIN_AWS_TRANSPORT) == 0);
	kin_retry_success(&r);
	T_CHECK(kin_retry_acquire(&r, KIN_AWS_TRANSPORT) == 5);
	T_CHECK(r.quota == 0);

	/* timeouts cost 10 */
	kin_retry_init(&r, 3, 7);
	n = 0;
	while (kin_retry_acquire(&r, KIN_AWS_TIMEOUT) == 10)
		n++;
	T_CHECKF(n == 50, "%d timeout retries from a full quota", n);

	/* a success after retries gives their cost back, never above 500 */
	kin_retry_refund(&r, 10);
	T_CHECK(r.quota == 10);
	kin_retry_init(&r, 3, 7);
	kin_retry_refund(&r, 10);
	kin_retry_success(&r);
	T_CHECK(r.quota == 500);
}

int
main(void)
{
	test_classify();
	test_backoff();
	test_quota();
	T_DONE();
}
