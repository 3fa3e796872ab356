/* fuzz.h — what the libFuzzer targets in tests/fuzz-common share.
 * A failed property is a crash: libFuzzer keeps the input that caused it. */
#ifndef KIN_FUZZ_H
#define KIN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, \
		    __LINE__, #cond); \
		abort(); \
	} \
} while (0)

/* memcmp that allows n == 0 with NULL pointers (an empty kin_buf). */
static inline int
fuzz_same(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* 1 if the JSON text s[0..n) is valid and one of its objects names a key
 * twice: RFC 8259 section 4 leaves the meaning of that open, so two
 * parsers may each take a different value and both be right. */
int fuzz_dup_keys(const char *s, size_t n);

#endif
