/* fuzz_base64.c — kin_b64_decode on any bytes; kin_b64_encode of any bytes
 * decodes back to them.  A failed decode leaves the buffer as it was. */
#include "fuzz.h"
#include "base64.h"
#include "buf.h"
#include "err.h"

#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct kin_buf a, b, c;
	char err[KIN_ERRLEN];

	kin_buf_init(&a, 4 * size + 64);
	kin_buf_init(&b, 4 * size + 64);
	kin_buf_init(&c, 4 * size + 64);

	/* decode after a prefix: what is there already must stay */
	FUZZ_CHECK(kin_buf_adds(&a, "pre", err) == 0);
	if (kin_b64_decode(&a, s, size, err) == 0) {
		FUZZ_CHECK(size % 4 == 0);
		FUZZ_CHECK(a.len - 3 <= size / 4 * 3);
		FUZZ_CHECK(a.len - 3 + 2 >= size / 4 * 3);
		/* and the decoded bytes encode to something that decodes
		 * to them again (the input may have had stray low bits) */
		FUZZ_CHECK(kin_b64_encode(&b, a.p + 3, a.len - 3, err) == 0);
		FUZZ_CHECK(b.len == size);
		FUZZ_CHECK(kin_b64_decode(&c, b.p, b.len, err) == 0);
		FUZZ_CHECK(c.len == a.len - 3 &&
		    fuzz_same(c.p, a.p + 3, c.len));
	} else {
		FUZZ_CHECK(a.len == 3 && memcmp(a.p, "pre", 4) == 0);
	}

	kin_buf_reset(&b);
	kin_buf_reset(&c);
	FUZZ_CHECK(kin_b64_encode(&b, data, size, err) == 0);
	FUZZ_CHECK(b.len == kin_b64_enclen(size) && b.p[b.len] == '\0');
	FUZZ_CHECK(kin_b64_decode(&c, b.p, b.len, err) == 0);
	FUZZ_CHECK(c.len == size && fuzz_same(c.p, data, size));

	kin_buf_release(&a);
	kin_buf_release(&b);
	kin_buf_release(&c);
	return 0;
}
