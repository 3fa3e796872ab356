/* value.c — readers for the values the scanner finds: JSON numbers as
 * doubles (exact, as strtod rounds them) and event times (RFC 3339, the
 * zone-less local form, epoch seconds or milliseconds) as UTC ms. */
#include "kw.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

void
fval_raw(const struct fval *v, const char **p, size_t *n)
{
	if (v->type == FV_STR) {
		*p = v->p - 1;
		*n = v->n + 2;
	} else {
		*p = v->p;
		*n = v->n;
	}
}

const double kw_pow10[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Whole text [p, p+n) as a JSON number.  Exact (correctly rounded): a
 * mantissa below 2^53 scaled by at most 10^22 is one IEEE operation
 * (Clinger's fast path); anything else goes through strtod. */
static int
parse_num(const char *p, size_t n, int checked, double *out)
{
	const char *e = p + n;
	const char *s = p;
	uint64_t m = 0;
	int neg = 0, nd = 0, ex = 0, fast = 1;

	if (n == 0 || (!checked && kw_num_end(p, e) != e))
		return -1;
	if (*s == '-')
		neg = 1, s++;
	for (; s < e && *s >= '0' && *s <= '9'; s++) {
		if (nd < 19) {
			m = m * 10 + (uint64_t)(*s - '0');
			if (m)
				nd++;
		} else {
			fast = 0;
		}
	}
	if (s < e && *s == '.') {
		for (s++; s < e && *s >= '0' && *s <= '9'; s++) {
			if (nd < 19) {
				m = m * 10 + (uint64_t)(*s - '0');
				if (m)
					nd++;
				ex--;
			} else {
				fast = 0;
			}
		}
	}
	if (s < e)
		fast = 0;     /* an exponent: leave it to strtod */
	if (fast && m < ((uint64_t)1 << 53) && ex >= -22) {
		double d = (double)m;

		d = ex < 0 ? d / kw_pow10[-ex] : d;
		*out = neg ? -d : d;
		return 0;
	}
	char tmp[64], *end;
	char *big = NULL;
	const char *src = tmp;

	if (n < sizeof tmp) {
		memcpy(tmp, p, n);
		tmp[n] = 0;
	} else {
		big = malloc(n + 1);
		if (big == NULL)
			return -1;
		memcpy(big, p, n);
		big[n] = 0;
		src = big;
	}
	double d = strtod(src, &end);
	int ok = end == src + n;

	free(big);
	if (!ok)
		return -1;
	*out = d;
	return 0;
}

int
fval_num(const struct fval *v, double *out)
{
	if (v->type == FV_NUM && v->dok) {
		*out = v->d;
		return 0;
	}
	if (v->type == FV_NUM)
		return parse_num(v->p, v->n, 1, out);
	if (v->type == FV_STR && !v->esc)
		return parse_num(v->p, v->n, 0, out);
	return -1;
}

void
time_init(struct timeparse *t, enum time_fmt fmt, struct kin_tz *tz)
{
	memset(t, 0, sizeof *t);
	t->fmt = fmt;
	t->tz = tz;
}

static inline int
d2(const char *p)
{
	unsigned a = (unsigned char)p[0] - '0', b = (unsigned char)p[1] - '0';

	return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

static int
days_in_month(int64_t y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

/* "YYYY-MM-DDTHH:MM" to ms since the epoch, read as UTC. */
static int
minute_ms(const char *p, int64_t *ms)
{
	int y1 = d2(p), y2 = d2(p + 2), mo = d2(p + 5), d = d2(p + 8);
	int h = d2(p + 11), mi = d2(p + 14);

	if (y1 < 0 || y2 < 0 || p[4] != '-' || mo < 1 || mo > 12 ||
	    p[7] != '-' || d < 1 ||
	    (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || h < 0 ||
	    h > 23 || p[13] != ':' || mi < 0 || mi > 59)
		return -1;
	int64_t y = y1 * 100 + y2;

	if (d > days_in_month(y, mo))
		return -1;
	*ms = (kin_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60) * 1000;
	return 0;
}

/* Epoch text (seconds or milliseconds, maybe fractional) to ms, floored. */
static int
epoch_ms(const char *p, size_t n, int unit_s, int64_t *ms)
{
	const char *e = p + n, *s = p;
	int neg = 0, nd = 0;
	int64_t ip = 0, fp = 0;
	int fd = 0, frac_nonzero = 0;

	if (kw_num_end(p, e) != e || n == 0)
		return -1;
	if (*s == '-')
		neg = 1, s++;
	for (; s < e && *s >= '0' && *s <= '9'; s++) {
		if (++nd > 16)
			return -1;
		ip = ip * 10 + (*s - '0');
	}
	if (s < e && *s == '.') {
		for (s++; s < e && *s >= '0' && *s <= '9'; s++) {
			if (unit_s && fd < 3) {
				fp = fp * 10 + (*s - '0');
				fd++;
			} else if (*s != '0') {
				frac_nonzero = 1;
			}
		}
	}
	if (s < e) {
		/* An exponent: the double is close enough at ms precision. */
		double d;

		if (parse_num(p, n, 0, &d) < 0)
			return -1;
		d = unit_s ? d * 1000.0 : d;
		if (!(d > -1e16 && d < 1e16))
			return -1;
		int64_t v = (int64_t)d;

		if ((double)v > d)
			v--;
		*ms = v;
		return 0;
	}
	if (unit_s) {
		/* the bound the exponent path keeps: |ms| < 1e16 */
		if (ip >= 10000000000000LL)
			return -1;
		while (fd < 3)
			fp *= 10, fd++;
		ip = ip * 1000 + fp;
	} else {
		fp = 0;
	}
	if (neg)
		ip = -ip - (frac_nonzero ? 1 : 0);
	*ms = ip;
	return 0;
}

static int time_read(struct timeparse *t, const struct fval *v,
    int64_t *out);

/* n (<= 32) equal bytes, in words: no call for a handful of bytes. */
static inline int
same32(const char *a, const char *b, size_t n)
{
	uint64_t x, y, d = 0;

	if (n < 8 || n > 32)
		return n <= 32 && memcmp(a, b, n) == 0;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return (d | (x ^ y)) == 0;
}

int
time_parse(struct timeparse *t, const struct fval *v, int64_t *out)
{
	int64_t ms;

	if (v->type != FV_STR && v->type != FV_NUM)
		return -1;
	if (v->esc)
		return -1;
	/* Records come in bursts with one time: the same text as the last
	 * one read gives the same time. */
	if (v->n == t->last_n && v->type == t->last_type && same32(v->p,
	    t->last, v->n)) {
		*out = t->last_ms;
		return 0;
	}
	if (time_read(t, v, &ms) < 0)
		return -1;
	if (v->n <= 32) {
		memcpy(t->last, v->p, v->n);
		t->last_n = v->n;
		t->last_type = v->type;
		t->last_ms = ms;
	}
	*out = ms;
	return 0;
}

static int
time_read(struct timeparse *t, const struct fval *v, int64_t *out)
{
	int64_t ms;
	enum time_fmt f = t->fmt;

	if (f == TF_AUTO)
		f = v->type == FV_NUM ? TF_EPOCH_S : TF_ISO;
	if (f == TF_EPOCH_S || f == TF_EPOCH_MS) {
		if (epoch_ms(v->p, v->n, f == TF_EPOCH_S, &ms) < 0)
			return -1;
		goto range;
	}
	if (v->type != FV_STR)
		return -1;
	const char *p = v->p, *e = p + v->n;
	size_t n = v->n;
	int sec, zoned = 0;
	int64_t frac = 0, off = 0;

	if (n < 19)
		return -1;
	uint64_t a0, a1, c0, c1;

	memcpy(&a0, p, 8);
	memcpy(&a1, p + 8, 8);
	memcpy(&c0, t->cache, 8);
	memcpy(&c1, t->cache + 8, 8);
	if (!t->cache_ok || a0 != c0 || a1 != c1) {
		if (minute_ms(p, &t->cache_ms) < 0)
			return -1;
		memcpy(t->cache, p, 16);
		t->cache_ok = 1;
		t->cache_zoned = -1;  /* local offset not computed yet */
	}
	if (p[16] != ':' || (sec = d2(p + 17)) < 0 || sec > 60)
		return -1;
	p += 19;
	if (p < e && *p == '.') {
		int nd = 0;

		for (p++; p < e && *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 3)
				frac = frac * 10 + (*p - '0');
		if (nd == 0 || nd > 9)
			return -1;
		for (; nd < 3; nd++)
			frac *= 10;
	}
	if (p == e) {
		zoned = 0;
	} else if ((*p == 'Z' || *p == 'z') && p + 1 == e) {
		zoned = 1;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		size_t rest = (size_t)(e - p - 1);

		if (rest == 5 && p[3] == ':')
			oh = d2(p + 1), om = d2(p + 4);
		else if (rest == 4)
			oh = d2(p + 1), om = d2(p + 3);
		else
			return -1;
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		off = (oh * 3600 + om * 60) * 1000LL;
		if (*p == '-')
			off = -off;
		zoned = 1;
	} else {
		return -1;
	}
	ms = t->cache_ms + sec * 1000LL + frac;
	if (zoned) {
		ms -= off;
	} else if (t->tz != NULL) {
		if (t->cache_zoned < 0) {
			/* Offset of this local minute, once per minute. */
			int64_t u = kin_tz_local_to_utc(t->tz,
			    t->cache_ms * 1000);

			t->cache_zoned = 0;
			off = t->cache_ms - u / 1000;
			t->cache_off = off;
		}
		ms -= t->cache_off;
	}
range:
	if (ms < KW_TIME_MIN || ms > KW_TIME_MAX)
		return -1;
	*out = ms;
	return 0;
}
