/* base64.c — RFC 4648 section 4 (standard alphabet, '=' padding), the form
 * Kinesis' JSON protocol carries record data in. */
#include "base64.h"
#include "err.h"

#include <stdint.h>
#include <string.h>

static const char enc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for the alphabet, 64 for '=', 255 for anything else. */
static const unsigned char dec[256] = {
#define X 255
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, 64, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

size_t
kin_b64_enclen(size_t n)
{
	return (n + 2) / 3 * 4;
}

int
kin_b64_encode(struct kin_buf *out, const void *in, size_t n, char *err)
{
	const unsigned char *p = in;
	size_t len = kin_b64_enclen(n), i = 0;
	char *o;

	if (n > (SIZE_MAX - 3) / 4 * 3)
		return kin_seterr(err, "base64: input too large");
	if (kin_buf_reserve(out, len, err) < 0)
		return -1;
	o = out->p + out->len;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
		    p[i + 2];
		*o++ = enc[v >> 18];
		*o++ = enc[(v >> 12) & 63];
		*o++ = enc[(v >> 6) & 63];
		*o++ = enc[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = enc[v >> 18];
		*o++ = enc[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = enc[v >> 18];
		*o++ = enc[(v >> 12) & 63];
		*o++ = enc[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len += len;
	out->p[out->len] = '\0';
	return 0;
}

int
kin_b64_decode(struct kin_buf *out, const char *s, size_t n, char *err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, pad = 0, olen;
	char *o;

	if (n % 4 != 0)
		return kin_seterr(err, "base64: length %zu is not a multiple "
		    "of 4", n);
	if (n == 0)
		return 0;
	if (p[n - 1] == '=')
		pad = p[n - 2] == '=' ? 2 : 1;
	olen = n / 4 * 3 - pad;
	if (kin_buf_reserve(out, olen, err) < 0)
		return -1;
	o = out->p + out->len;
	for (i = 0; i < n; i += 4) {
		unsigned a = dec[p[i]], b = dec[p[i + 1]], c = dec[p[i + 2]],
		    d = dec[p[i + 3]];
		size_t bad;

		if ((a | b | c | d) < 64) {
			uint32_t v = a << 18 | b << 12 | c << 6 | d;
			*o++ = (char)(v >> 16);
			*o++ = (char)(v >> 8);
			*o++ = (char)v;
			continue;
		}
		/* Only the last group may hold '=': "xx==" or "xxx=". */
		if (i + 4 == n && a < 64 && b < 64 && c == 64 && d == 64) {
			*o++ = (char)((a << 2) | (b >> 4));
			continue;
		}
		if (i + 4 == n && a < 64 && b < 64 && c < 64 && d == 64) {
			uint32_t v = a << 18 | b << 12 | c << 6;
			*o++ = (char)(v >> 16);
			*o++ = (char)(v >> 8);
			continue;
		}
		out->p[out->len] = '\0';   /* leave the buffer as it was */
		bad = i;
		while (bad < i + 3 && dec[p[bad]] < 64)
			bad++;
		if (dec[p[bad]] == 64)
			return kin_seterr(err, "base64: misplaced '=' at "
			    "offset %zu", bad);
		return kin_seterr(err, "base64: invalid character at "
		    "offset %zu", bad);
	}
	out->len += olen;
	out->p[out->len] = '\0';
	return 0;
}
