/* fmt.h — the hand-written number formatting of trade-gen's hot loop, with
 * the byte-exact rules of the Python original: round(x, 2) then repr().
 * Everything writes forward from p and returns the new end; callers make
 * sure there is room (TG_LINE_MAX per record). */
#ifndef TG_FMT_H
#define TG_FMT_H

#include <stdint.h>
#include <string.h>

/* "00".."99" back to back. */
static inline const char *
tg_pairs(void)
{
	static const char t[] =
	    "0001020304050607080910111213141516171819"
	    "2021222324252627282930313233343536373839"
	    "4041424344454647484950515253545556575859"
	    "6061626364656667686970717273747576777879"
	    "8081828384858687888990919293949596979899";
	return t;
}

static inline char *
tg_put2(char *p, unsigned v)
{
	memcpy(p, tg_pairs() + 2 * v, 2);
	return p + 2;
}

/* v in decimal, no padding. */
static inline char *
tg_put_u64(char *p, uint64_t v)
{
	char tmp[20], *e = tmp + sizeof tmp, *s = e;

	while (v >= 100) {
		s -= 2;
		memcpy(s, tg_pairs() + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		s -= 2;
		memcpy(s, tg_pairs() + 2 * v, 2);
	} else {
		*--s = (char)('0' + v);
	}
	memcpy(p, s, (size_t)(e - s));
	return p + (e - s);
}

/* v zero-padded to width w (v must fit). */
static inline char *
tg_put_u64w(char *p, uint64_t v, int w)
{
	for (int i = w - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + w;
}

/*
 * Python's round(x, 2) for 0 <= x < 2^53, as a whole number of cents.
 * CPython rounds the exact binary value of x correctly to 2 decimals, ties
 * to even (floatobject.c double_round via _Py_dg_dtoa mode 3), so neither
 * x*100 in floating point nor printf("%.2f") gives it; integers do: x is
 * m * 2^-sh exactly, so x*100 = (100*m) * 2^-sh with 100*m < 2^60.
 * Python's result is the double nearest cents/100, and repr() of that
 * double is cents/100 written out (see tg_put_price).
 */
static inline uint64_t
tg_round_cents(double x)
{
	uint64_t bits, m, v, q, r, half;
	int e, sh;

	if (!(x > 0))
		return 0;
	memcpy(&bits, &x, sizeof bits);
	e = (int)(bits >> 52 & 0x7ff);
	m = bits & ((1ULL << 52) - 1);
	if (e == 0)
		e = 1;                  /* subnormal */
	else
		m |= 1ULL << 52;
	sh = 1075 - e;                  /* x = m * 2^-sh */
	v = m * 100;
	if (sh <= 0)
		return v;               /* whole number; callers stay below 2^53 */
	if (sh >= 64)
		return 0;               /* v < 2^60 <= half */
	q = v >> sh;
	r = v & ((1ULL << sh) - 1);
	half = 1ULL << (sh - 1);
	if (r > half || (r == half && (q & 1)))
		q++;
	return q;
}

/*
 * repr() of the double nearest cents/100: the shortest string that reads
 * back as the same double.  For fewer than 16 significant digits that is
 * the decimal itself with trailing zeros dropped, keeping one digit after
 * the point: 7.0, 42.1, 42.17, 0.05, 100.0 (Python switches to exponent
 * form only below 1e-4 or from 1e16, outside what trade-gen prints).
 */
static inline char *
tg_put_price(char *p, uint64_t cents)
{
	unsigned frac = (unsigned)(cents % 100);

	p = tg_put_u64(p, cents / 100);
	*p++ = '.';
	*p++ = (char)('0' + frac / 10);
	if (frac % 10)
		*p++ = (char)('0' + frac % 10);
	return p;
}

#endif
