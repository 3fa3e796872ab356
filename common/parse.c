/* parse.c — numbers, durations, sizes and RFC 3339 times: the one parser
 * every option and every event-time field goes through.  Times are parsed
 * by hand (no sscanf, no mktime): kin-window reads millions per second. */
#include "parse.h"
#include "err.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Inputs are quoted in messages, cut short so a huge argument cannot bury
 * the reason. */
#define QLEN 64

int
kin_parse_int(const char *s, long long min, long long max, long long *out,
    char *err)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return kin_seterr(err, "bad number '': empty");
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return kin_seterr(err, "bad number '%.*s': not a whole number",
		    QLEN, s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return kin_seterr(err, "bad number '%.*s': not a whole number",
		    QLEN, s);
	if (errno == ERANGE || v < min || v > max)
		return kin_seterr(err, "bad number '%.*s': out of range "
		    "[%lld, %lld]", QLEN, s, min, max);
	*out = v;
	return 0;
}

int
kin_parse_double(const char *s, double *out, char *err)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0')
		return kin_seterr(err, "bad number '': empty");
	if (!(*s == '-' || *s == '+' || *s == '.' || (*s >= '0' && *s <= '9')))
		return kin_seterr(err, "bad number '%.*s': not a number",
		    QLEN, s);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0')
		return kin_seterr(err, "bad number '%.*s': not a number",
		    QLEN, s);
	if (!isfinite(v) || errno == ERANGE)
		return kin_seterr(err, "bad number '%.*s': out of range",
		    QLEN, s);
	*out = v;
	return 0;
}

/* A decimal "123.456" at *pp: integer part and up to 18 fraction digits
 * (further digits are dropped).  Returns 0, or -1 when there is no digit
 * or the integer part overflows uint64. */
struct decimal {
	uint64_t ip;
	uint64_t frac;     /* fraction digits as an integer */
	uint64_t fscale;   /* 10^(number of fraction digits kept) */
};

static int
scan_decimal(const char **pp, struct decimal *d)
{
	const char *p = *pp;
	int digits = 0, fd = 0;

	d->ip = 0;
	d->frac = 0;
	d->fscale = 1;
	while (*p >= '0' && *p <= '9') {
		unsigned dig = (unsigned)(*p - '0');
		if (d->ip > (UINT64_MAX - dig) / 10)
			return -1;
		d->ip = d->ip * 10 + dig;
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (fd < 18) {
				d->frac = d->frac * 10 + (uint64_t)(*p - '0');
				d->fscale *= 10;
				fd++;
			}
			p++;
			digits++;
		}
	}
	if (digits == 0)
		return -1;
	*pp = p;
	return 0;
}

/* d * unit, rounded to the nearest whole number; -1 on overflow. */
static int
scale_decimal(const struct decimal *d, uint64_t unit, uint64_t *out)
{
	uint64_t whole, part;
	unsigned __int128 f;

	if (d->ip != 0 && unit > UINT64_MAX / d->ip)
		return -1;
	whole = d->ip * unit;
	f = (unsigned __int128)d->frac * unit;
	part = (uint64_t)((f + d->fscale / 2) / d->fscale);
	if (whole > UINT64_MAX - part)
		return -1;
	*out = whole + part;
	return 0;
}

int
kin_parse_duration_ms(const char *s, int64_t *ms, char *err)
{
	static const struct { const char *name; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	const char *p = s;
	uint64_t total = 0, part;
	struct decimal d;
	int n = 0;

	if (s == NULL || *s == '\0')
		return kin_seterr(err, "bad duration '': empty");
	/* "1h30m" is a sum of parts; a lone bare number means seconds. */
	while (*p != '\0') {
		uint64_t unit = 0;
		size_t ul = 0;

		if (scan_decimal(&p, &d) < 0)
			return kin_seterr(err, "bad duration '%.*s': expected a "
			    "number with a unit (250ms, 30s, 5m, 1h, 2d)",
			    QLEN, s);
		while (p[ul] >= 'a' && p[ul] <= 'z')
			ul++;
		if (ul == 0) {
			if (n > 0 || *p != '\0')
				return kin_seterr(err, "bad duration '%.*s': "
				    "missing unit (ms, s, m, h, d)", QLEN, s);
			unit = 1000;
		} else {
			for (size_t i = 0; i < sizeof units / sizeof units[0];
			    i++)
				if (strlen(units[i].name) == ul &&
				    memcmp(units[i].name, p, ul) == 0)
					unit = units[i].ms;
			if (unit == 0)
				return kin_seterr(err, "bad duration '%.*s': "
				    "unknown unit '%.*s' (use ms, s, m, h, d)",
				    QLEN, s, (int)ul, p);
			p += ul;
		}
		if (scale_decimal(&d, unit, &part) < 0 ||
		    total > (uint64_t)INT64_MAX - part ||
		    total + part > (uint64_t)INT64_MAX)
			return kin_seterr(err, "bad duration '%.*s': too large",
			    QLEN, s);
		total += part;
		n++;
	}
	*ms = (int64_t)total;
	return 0;
}

int
kin_parse_size(const char *s, uint64_t *bytes, char *err)
{
	const char *p = s;
	struct decimal d;
	uint64_t unit = 1, v;

	if (s == NULL || *s == '\0')
		return kin_seterr(err, "bad size '': empty");
	if (scan_decimal(&p, &d) < 0)
		return kin_seterr(err, "bad size '%.*s': expected a number "
		    "with an optional K, M or G", QLEN, s);
	switch (*p) {
	case 'k': case 'K': unit = 1024; p++; break;
	case 'm': case 'M': unit = 1024 * 1024; p++; break;
	case 'g': case 'G': unit = 1024 * 1024 * 1024; p++; break;
	default: break;
	}
	/* "64K", "64KB", "64KiB" and "512B" all read the same. */
	if (unit > 1 && p[0] == 'i' && p[1] == 'B')
		p += 2;
	else if (*p == 'B' || *p == 'b')
		p++;
	if (*p != '\0')
		return kin_seterr(err, "bad size '%.*s': unknown suffix '%.*s' "
		    "(use K, M or G)", QLEN, s, QLEN, p);
	/* Fractions of a byte are dropped, not rounded up. */
	if (d.ip != 0 && unit > UINT64_MAX / d.ip)
		return kin_seterr(err, "bad size '%.*s': too large", QLEN, s);
	v = d.ip * unit;
	{
		unsigned __int128 f = (unsigned __int128)d.frac * unit;
		uint64_t part = (uint64_t)(f / d.fscale);
		if (v > UINT64_MAX - part)
			return kin_seterr(err, "bad size '%.*s': too large",
			    QLEN, s);
		v += part;
	}
	*bytes = v;
	return 0;
}

/* ---- calendar ---------------------------------------------------------
 * Proleptic Gregorian days <-> civil dates, by 400-year eras (the method
 * Howard Hinnant describes in "chrono-compatible low-level date
 * algorithms"); March-based years put the leap day at the end. */

int64_t
kin_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	if (m <= 2)
		y -= 1;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;                                  /* [0, 399] */
	doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

void
kin_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

static int
days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dm[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 29;
	return dm[m - 1];
}

/* ---- RFC 3339 ---------------------------------------------------------- */

static inline int
dig(unsigned char c)
{
	return (unsigned)(c - '0') <= 9 ? c - '0' : -1;
}

/* n digits at s into *v; -1 if any is not a digit. */
static inline int
digits(const char *s, int n, int *v)
{
	int x = 0;

	for (int i = 0; i < n; i++) {
		int c = dig((unsigned char)s[i]);
		if (c < 0)
			return -1;
		x = x * 10 + c;
	}
	*v = x;
	return 0;
}

static int
bad_time(char *err, const char *s, size_t len, const char *why)
{
	return kin_seterr(err, "bad time '%.*s': %s",
	    (int)(len > QLEN ? QLEN : len), s, why);
}

int
kin_parse_time_us(const char *s, size_t len, int allow_nozone,
    long local_offset_s, int64_t *us, char *err)
{
	int Y, M, D, h, mi, sec, oh, om;
	int64_t frac = 0, days, t;
	long off;
	size_t i;

	/* YYYY-MM-DDTHH:MM:SS is 19 bytes, fixed positions. */
	if (len < 19)
		return bad_time(err, s, len, "too short for "
		    "YYYY-MM-DDTHH:MM:SS");
	if (digits(s, 4, &Y) < 0 || s[4] != '-' || digits(s + 5, 2, &M) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, &D) < 0)
		return bad_time(err, s, len, "expected a date YYYY-MM-DD");
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return bad_time(err, s, len, "expected 'T' after the date");
	if (digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) < 0)
		return bad_time(err, s, len, "expected a time HH:MM:SS");
	if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, (unsigned)M))
		return bad_time(err, s, len, "no such date");
	/* Second 60 is a leap second (RFC 3339 5.7); it reads as the next
	 * second, the way POSIX time has to. */
	if (h > 23 || mi > 59 || sec > 60)
		return bad_time(err, s, len, "no such time of day");
	i = 19;
	if (i < len && s[i] == '.') {
		int nd = 0;

		i++;
		while (i < len && dig((unsigned char)s[i]) >= 0) {
			if (nd < 6)
				frac = frac * 10 + dig((unsigned char)s[i]);
			nd++;
			i++;
		}
		if (nd == 0)
			return bad_time(err, s, len, "no digits after '.'");
		if (nd > 9)
			return bad_time(err, s, len, "more than 9 fraction "
			    "digits");
		for (int k = nd; k < 6; k++)
			frac *= 10;
	}
	if (i == len) {
		if (!allow_nozone)
			return bad_time(err, s, len, "no time zone (Z or "
			    "+HH:MM)");
		off = local_offset_s;
	} else if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
		off = 0;
	} else if (s[i] == '+' || s[i] == '-') {
		/* +HH:MM; +HHMM (strftime's %z) is read too. */
		size_t rest = len - i - 1;
		const char *o = s + i + 1;

		if (rest == 5 && o[2] == ':') {
			if (digits(o, 2, &oh) < 0 || digits(o + 3, 2, &om) < 0)
				return bad_time(err, s, len, "bad zone offset");
		} else if (rest == 4) {
			if (digits(o, 2, &oh) < 0 || digits(o + 2, 2, &om) < 0)
				return bad_time(err, s, len, "bad zone offset");
		} else {
			return bad_time(err, s, len, "bad zone offset, "
			    "expected +HH:MM");
		}
		if (oh > 23 || om > 59)
			return bad_time(err, s, len, "zone offset out of "
			    "range");
		off = (long)(oh * 3600 + om * 60);
		if (s[i] == '-')
			off = -off;
	} else {
		return bad_time(err, s, len, "unexpected text after the time");
	}
	days = kin_days_from_civil(Y, (unsigned)M, (unsigned)D);
	t = days * 86400 + h * 3600 + mi * 60 + sec - off;
	*us = t * 1000000 + frac;
	return 0;
}

/* Floor division for times before 1970. */
static inline int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

size_t
kin_format_time_ms(char *dst, size_t n, int64_t us)
{
	char tmp[48];
	int64_t ms = floordiv(us, 1000), secs = floordiv(ms, 1000);
	int64_t days = floordiv(secs, 86400), y;
	int sod = (int)(secs - days * 86400), msec = (int)(ms - secs * 1000);
	unsigned m, d;
	size_t len;

	kin_civil_from_days(days, &y, &m, &d);
	if (y >= 0 && y <= 9999) {
		char *p = tmp;
		int hh = sod / 3600, mm = sod / 60 % 60, ss = sod % 60;

		*p++ = (char)('0' + y / 1000);
		*p++ = (char)('0' + y / 100 % 10);
		*p++ = (char)('0' + y / 10 % 10);
		*p++ = (char)('0' + y % 10);
		*p++ = '-';
		*p++ = (char)('0' + m / 10);
		*p++ = (char)('0' + m % 10);
		*p++ = '-';
		*p++ = (char)('0' + d / 10);
		*p++ = (char)('0' + d % 10);
		*p++ = 'T';
		*p++ = (char)('0' + hh / 10);
		*p++ = (char)('0' + hh % 10);
		*p++ = ':';
		*p++ = (char)('0' + mm / 10);
		*p++ = (char)('0' + mm % 10);
		*p++ = ':';
		*p++ = (char)('0' + ss / 10);
		*p++ = (char)('0' + ss % 10);
		*p++ = '.';
		*p++ = (char)('0' + msec / 100);
		*p++ = (char)('0' + msec / 10 % 10);
		*p++ = (char)('0' + msec % 10);
		*p++ = 'Z';
		len = (size_t)(p - tmp);
	} else {
		/* Out of RFC 3339's range: still readable, never truncated
		 * silently. */
		int r = snprintf(tmp, sizeof tmp,
		    "%lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
		    sod / 3600, sod / 60 % 60, sod % 60, msec);
		len = r < 0 ? 0 : (size_t)r;
	}
	if (n == 0)
		return 0;
	if (len >= n)
		len = n - 1;
	memcpy(dst, tmp, len);
	dst[len] = '\0';
	return len;
}

int64_t
kin_now_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
kin_now_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
