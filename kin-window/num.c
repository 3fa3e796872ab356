/* num.c — numbers as text, fast: the shortest decimal that reads back as
 * the same double, for JSON and for Java's Double.toString (the original
 * job's output).  A 15-digit fast path covers prices and most values; the
 * rest go through printf and strtod. */
#include "kw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double p10[9] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8 };

/* The fewest decimals k <= 8 such that an integer m over 10^k reads back
 * as |v| (m < 10^15 < 2^53 and 10^k exact, so m / 10^k is one correctly rounded
 * division: exactly what strtod makes of the text).  For 1e-4 <= |v| <
 * 1e15 this is the shortest round-trip form, the one %.15g..%.17g finds
 * far more slowly.  -1 when v needs more. */
static int
fast_decimal(double v, uint64_t *m, int *k)
{
	double a = fabs(v);

	if (!(a >= 1e-4 && a < 1e15))
		return -1;
	for (int i = 0; i <= 8; i++) {
		double sc = a * p10[i], r;

		/* at most 15 digits: then the text is unique (no two
		 * 15-digit decimals round to one double) */
		if (sc >= 999999999999999.5)
			return -1;
		r = (double)(uint64_t)(sc + 0.5);
		if (r / p10[i] == a) {
			*m = (uint64_t)r;
			*k = i;
			return 0;
		}
	}
	return -1;
}

size_t
kw_u64_str(char *dst, uint64_t m)
{
	char t[24];
	size_t n = 0, o = 0;

	do {
		t[n++] = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	while (n)
		dst[o++] = t[--n];
	return o;
}

/* v as the shortest JSON number; 0 when it has no fast form. */
size_t
json_num_fast(char *dst, double v)
{
	uint64_t m;
	int k;
	size_t o = 0, n;
	char d[24];

	if (fast_decimal(v, &m, &k) < 0)
		return 0;
	if (v < 0)
		dst[o++] = '-';
	n = kw_u64_str(d, m);
	if (k == 0) {
		memcpy(dst + o, d, n);
		return o + n;
	}
	if (n <= (size_t)k) {
		dst[o++] = '0';
		dst[o++] = '.';
		for (size_t i = n; i < (size_t)k; i++)
			dst[o++] = '0';
		memcpy(dst + o, d, n);
		return o + n;
	}
	memcpy(dst + o, d, n - (size_t)k);
	o += n - (size_t)k;
	dst[o++] = '.';
	memcpy(dst + o, d + n - (size_t)k, (size_t)k);
	return o + (size_t)k;
}

/* ---- Java's Double.toString, JDK 19+ (Giulietti's specification): the
 * shortest decimal that reads back as the same double, at least 2 digits
 * considered when 1 would do, closest to the exact value; plain notation
 * for 1e-3 <= |v| < 1e7, else d.dddEn. */
static int
shortest_digits(double v, char *dig, int *exp10)
{
	char buf[48], *p;
	int p_used = 17, n = 0, k;
	uint64_t m;

	if (fast_decimal(v, &m, &k) == 0) {
		/* Far from the subnormals one digit never needs a second. */
		n = (int)kw_u64_str(dig, m);
		*exp10 = n - 1 - k;
		while (n > 1 && dig[n - 1] == '0')
			n--;
		dig[n] = 0;
		return n;
	}

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v) {
			p_used = prec;
			break;
		}
	}
	if (p_used == 1)
		snprintf(buf, sizeof buf, "%.1e", v);
	else if (p_used == 17)
		snprintf(buf, sizeof buf, "%.16e", v);
	for (p = buf; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			dig[n++] = *p;
	*exp10 = (int)strtol(p + 1, NULL, 10);
	while (n > 1 && dig[n - 1] == '0')
		n--;
	dig[n] = 0;
	return n;
}

size_t
java_double(char *dst, double v)
{
	char dig[24];
	size_t o = 0;
	int n, e;

	if (isnan(v))
		return (size_t)snprintf(dst, 32, "NaN");
	if (isinf(v))
		return (size_t)snprintf(dst, 32, v > 0 ? "Infinity" :
		    "-Infinity");
	if (signbit(v))
		dst[o++] = '-';
	v = fabs(v);
	if (v == 0) {
		memcpy(dst + o, "0.0", 4);
		return o + 3;
	}
	n = shortest_digits(v, dig, &e);
	if (v >= 1e-3 && v < 1e7) {
		if (e >= 0) {
			for (int i = 0; i <= e; i++)
				dst[o++] = i < n ? dig[i] : '0';
			dst[o++] = '.';
			if (n > e + 1)
				for (int i = e + 1; i < n; i++)
					dst[o++] = dig[i];
			else
				dst[o++] = '0';
		} else {
			dst[o++] = '0';
			dst[o++] = '.';
			for (int i = 0; i < -e - 1; i++)
				dst[o++] = '0';
			for (int i = 0; i < n; i++)
				dst[o++] = dig[i];
		}
	} else {
		dst[o++] = dig[0];
		dst[o++] = '.';
		if (n > 1)
			for (int i = 1; i < n; i++)
				dst[o++] = dig[i];
		else
			dst[o++] = '0';
		o += (size_t)snprintf(dst + o, 8, "E%d", e);
	}
	dst[o] = 0;
	return o;
}

