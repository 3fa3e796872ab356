/* fuzz_putscan.c — kin-write's one-pass PutRecords answer scanner
 * (kin-write/resp.c) against the library's kin_put_records_parse.  The
 * first byte says how many records were sent (1..256).  When the scanner
 * takes an answer, the library takes it too (unless the text is not JSON,
 * which the scanner does not check, or passes the library's token ceiling)
 * and both count the same failures and the same records as written, with
 * the same error codes.
 * Left out: texts with a key given twice in an object (RFC 8259 section 4
 * leaves their meaning open); and, as known and reported, escapes (the
 * scanner does not decode \u in error codes, nor see a lone surrogate) and
 * an empty record object "{}", for which the scanner gives no code where
 * the library says MissingSequenceNumber. */
#include "fuzz.h"
#include "err.h"
#include "json.h"
#include "kinesis.h"
#include "resp.h"

#define MAXN 256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kw_result a[MAXN];
	static struct kin_put_result b[MAXN];
	char err[KIN_ERRLEN];
	const char *body = (const char *)data + 1;
	size_t n, len;
	int fa = -1, fb = -1, ra, rb;

	if (size < 1)
		return 0;
	n = (size_t)data[0] + 1;
	len = size - 1;
	if (memchr(body, '\\', len) != NULL)
		return 0;
	ra = kw_parse_put_response(body, len, n, a, &fa);
	rb = kin_put_records_parse(body, len, n, b, &fb, err);
	if (ra != 0)
		return 0;
	if (rb != 0) {
		FUZZ_CHECK(strstr(err, "tokens") != NULL ||
		    !kin_json_is_value(body, len));
		return 0;
	}
	if (fuzz_dup_keys(body, len))
		return 0;
	FUZZ_CHECK(fa == fb);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(a[i].ok == (b[i].seq[0] != '\0'));
		if (!a[i].ok)
			FUZZ_CHECK(strcmp(a[i].code, b[i].code) == 0 ||
			    (a[i].code[0] == '\0' &&
			    strcmp(b[i].code, "MissingSequenceNumber") == 0));
	}
	return 0;
}
