/* fuzz_time.c — the one parser for times, durations, sizes and numbers
 * (common/parse.c) on any text.  The first byte picks the options of
 * kin_parse_time_us (zone-less allowed or not, a local offset); a time
 * that parses and lies in years 0..9999 formats with kin_format_time_ms
 * and parses back to the same millisecond. */
#include "fuzz.h"
#include "err.h"
#include "parse.h"

#include <limits.h>
#include <string.h>

static int64_t
floor_ms(int64_t us)
{
	return us / 1000 - (us % 1000 < 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[KIN_ERRLEN], out[64], *s;
	int64_t us, us2, ms;
	uint64_t bytes;
	long long v;
	double d;
	long off;
	int nozone;

	if (size < 1)
		return 0;
	nozone = data[0] & 1;
	off = ((long)(data[0] >> 1) - 64) * 900;   /* -16h..+15h45 */
	data++;
	size--;

	/* exactly size bytes, no NUL after them */
	if (kin_parse_time_us((const char *)data, size, nozone, off, &us,
	    err) == 0) {
		size_t n = kin_format_time_ms(out, sizeof out, us);

		FUZZ_CHECK(n < sizeof out && out[n] == '\0');
		if (us >= -62167219200000000LL && us < 253402300800000000LL) {
			FUZZ_CHECK(kin_parse_time_us(out, n, 0, 0, &us2,
			    err) == 0);
			FUZZ_CHECK(us2 == floor_ms(us) * 1000);
		}
	}

	/* the C-string parsers get a NUL-terminated copy */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (kin_parse_duration_ms(s, &ms, err) == 0)
		FUZZ_CHECK(ms >= 0);
	(void)kin_parse_size(s, &bytes, err);
	if (kin_parse_int(s, -1000, 1000, &v, err) == 0)
		FUZZ_CHECK(v >= -1000 && v <= 1000);
	(void)kin_parse_int(s, LLONG_MIN, LLONG_MAX, &v, err);
	(void)kin_parse_double(s, &d, err);
	free(s);
	return 0;
}
