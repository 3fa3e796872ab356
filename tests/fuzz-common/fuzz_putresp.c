/* fuzz_putresp.c — kin_put_records_parse on any body.  The first byte says
 * how many records the request had (1..256), the rest is the answer.  On
 * success *failed counts exactly the results without a sequence number,
 * and every code and message is a NUL-terminated string. */
#include "fuzz.h"
#include "err.h"
#include "kinesis.h"

#include <string.h>

#define MAXN 256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kin_put_result res[MAXN];
	char err[KIN_ERRLEN];
	size_t n;
	int failed = -1, count = 0;

	if (size < 1)
		return 0;
	n = (size_t)data[0] + 1;
	memset(res, 0xA5, sizeof res);
	if (kin_put_records_parse((const char *)data + 1, size - 1, n, res,
	    &failed, err) < 0)
		return 0;
	FUZZ_CHECK(failed >= 0 && (size_t)failed <= n);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(memchr(res[i].seq, '\0', sizeof res[i].seq) != NULL);
		FUZZ_CHECK(memchr(res[i].shard, '\0', sizeof res[i].shard) != NULL);
		FUZZ_CHECK(memchr(res[i].code, '\0', sizeof res[i].code) != NULL);
		FUZZ_CHECK(memchr(res[i].message, '\0',
		    sizeof res[i].message) != NULL);
		count += res[i].seq[0] == '\0';
	}
	FUZZ_CHECK(count == failed);
	return 0;
}
