/* scan.c — the record parser of kin-window's hot path: one pass over a
 * line finds the few top-level fields a run needs, without tokenizing the
 * rest, while checking that the line is one JSON object.  Also the number
 * and event-time readers for the values it finds. */
#include "kw.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

void
scan_init(struct scanner *s)
{
	memset(s, 0, sizeof *s);
	kin_buf_init(&s->tmp, KW_LINE_MAX);
}

void
scan_release(struct scanner *s)
{
	kin_buf_release(&s->tmp);
}

int
scan_field(struct scanner *s, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < s->nf; i++)
		if (s->len[i] == n && memcmp(s->name[i], name, n) == 0)
			return i;
	if (s->nf == KW_MAXFIELDS)
		return -1;
	s->name[s->nf] = name;
	s->len[s->nf] = (uint32_t)n;
	s->lenmask |= (uint64_t)1 << (n & 63);
	return s->nf++;
}

static inline const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p is just past the opening quote; returns the closing quote or NULL.
 * *esc is set when a backslash occurs.  Short strings (names, tickers,
 * times) go byte by byte; past 32 bytes memchr takes over. */
static inline const char *
str_end(const char *p, const char *e, uint8_t *esc)
{
	const char *stop = e - p > 32 ? p + 32 : e;

	/* Eight bytes at a time while none is a quote or a backslash
	 * (the classic "has a zero byte" test on v ^ '"' and v ^ '\\'). */
	while (stop - p >= 8) {
		uint64_t v, q, b;

		memcpy(&v, p, 8);
		q = v ^ 0x2222222222222222ULL;
		b = v ^ 0x5c5c5c5c5c5c5c5cULL;
		if (((q - 0x0101010101010101ULL) & ~q) & 0x8080808080808080ULL ||
		    ((b - 0x0101010101010101ULL) & ~b) & 0x8080808080808080ULL)
			break;
		p += 8;
	}
	while (p < stop) {
		if (*p == '"')
			return p;
		if (*p == '\\') {
			*esc = 1;
			p += 2;
			continue;
		}
		p++;
	}
	while (p < e) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		const char *b = memchr(p, '\\', q ? (size_t)(q - p) :
		    (size_t)(e - p));

		if (b == NULL)
			return q;
		/* An escape before the next quote: skip it and go on. */
		*esc = 1;
		p = b + 2;
	}
	return NULL;
}

/* A JSON number at p; returns its end or NULL. */
static inline const char *
num_end(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p == e)
		return NULL;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	} else {
		return NULL;
	}
	if (p < e && *p == '.') {
		p++;
		if (p == e || *p < '0' || *p > '9')
			return NULL;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || *p < '0' || *p > '9')
			return NULL;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

/* Skip an object or array starting at p ('{' or '['): brackets must
 * balance and match, strings are skipped whole; what lies between is not
 * checked further.  Returns the end or NULL; *deep on too much nesting. */
static const char *
nested_end(const char *p, const char *e, int *deep)
{
	uint64_t stack[KW_MAXDEPTH / 64];
	int d = 0;

	for (; p < e; p++) {
		switch (*p) {
		case '{':
		case '[':
			if (d == KW_MAXDEPTH) {
				*deep = 1;
				return NULL;
			}
			if (*p == '{')
				stack[d >> 6] |= (uint64_t)1 << (d & 63);
			else
				stack[d >> 6] &= ~((uint64_t)1 << (d & 63));
			d++;
			break;
		case '}':
		case ']': {
			if (d == 0)
				return NULL;
			d--;
			int obj = (stack[d >> 6] >> (d & 63)) & 1;

			if (obj != (*p == '}'))
				return NULL;
			if (d == 0)
				return p + 1;
			break;
		}
		case '"': {
			uint8_t esc = 0;
			const char *q = str_end(p + 1, e, &esc);

			if (q == NULL)
				return NULL;
			p = q;
			break;
		}
		default:
			break;
		}
	}
	return NULL;
}

static int
match_name(const struct scanner *s, const char *p, size_t n)
{
	if (!((s->lenmask >> (n & 63)) & 1))
		return -1;
	for (int i = 0; i < s->nf; i++)
		if (s->len[i] == n && s->name[i][0] == p[0] &&
		    memcmp(s->name[i], p, n) == 0)
			return i;
	return -1;
}

/* Append the bytes [a, b) as the literal before value i of the shape
 * being learnt (i == n: the tail). */
static void
learn_lit(struct shape *L, int i, const char *a, const char *b)
{
	size_t k = (size_t)(b - a);

	if (!L->ok || i > KW_SHAPE_MAX || L->used + k > KW_SHAPE_LIT) {
		L->ok = 0;
		return;
	}
	memcpy(L->lit + L->used, a, k);
	L->off[i] = L->used;
	L->len[i] = (uint16_t)k;
	L->used = (uint16_t)(L->used + k);
}

static int
scan_slow(struct scanner *s, const char *p, size_t n, struct fval *out)
{
	const char *e = p + n, *prev = p;
	int deep = 0;
	struct shape *L = &s->learn;

	L->ok = 1;
	L->n = 0;
	L->used = 0;

	for (int i = 0; i < s->nf; i++)
		out[i].type = FV_NONE;
	p = skip_ws(p, e);
	if (p == e || *p != '{')
		return SCAN_NOTOBJ;
	p = skip_ws(p + 1, e);
	if (p < e && *p == '}') {
		p++;
		goto tail;
	}
	for (;;) {
		const char *name, *q;
		uint8_t esc = 0;
		int slot;
		struct fval v;

		if (p == e || *p != '"')
			return SCAN_BADJSON;
		name = p + 1;
		q = str_end(name, e, &esc);
		if (q == NULL)
			return SCAN_BADJSON;
		if (!esc) {
			slot = match_name(s, name, (size_t)(q - name));
		} else {
			char err[KIN_ERRLEN];

			kin_buf_reset(&s->tmp);
			if (kin_json_unescape(name, (size_t)(q - name), &s->tmp,
			    err) < 0)
				return SCAN_BADJSON;
			slot = match_name(s, s->tmp.p ? s->tmp.p : "",
			    s->tmp.len);
		}
		p = skip_ws(q + 1, e);
		if (p == e || *p != ':')
			return SCAN_BADJSON;
		p = skip_ws(p + 1, e);
		if (p == e)
			return SCAN_BADJSON;
		v.esc = 0;
		if (esc || L->n == KW_SHAPE_MAX)
			L->ok = 0;
		learn_lit(L, L->n, prev, p);
		switch (*p) {
		case '"':
			q = str_end(p + 1, e, &v.esc);
			if (q == NULL)
				return SCAN_BADJSON;
			v.type = FV_STR;
			v.p = p + 1;
			v.n = (uint32_t)(q - p - 1);
			p = q + 1;
			break;
		case '{':
		case '[':
			q = nested_end(p, e, &deep);
			if (q == NULL)
				return deep ? SCAN_DEEP : SCAN_BADJSON;
			v.type = *p == '{' ? FV_OBJ : FV_ARR;
			v.p = p;
			v.n = (uint32_t)(q - p);
			p = q;
			break;
		case 't':
			if (e - p < 4 || memcmp(p, "true", 4) != 0)
				return SCAN_BADJSON;
			v.type = FV_LIT, v.p = p, v.n = 4, p += 4;
			break;
		case 'f':
			if (e - p < 5 || memcmp(p, "false", 5) != 0)
				return SCAN_BADJSON;
			v.type = FV_LIT, v.p = p, v.n = 5, p += 5;
			break;
		case 'n':
			if (e - p < 4 || memcmp(p, "null", 4) != 0)
				return SCAN_BADJSON;
			v.type = FV_LIT, v.p = p, v.n = 4, p += 4;
			break;
		default:
			q = num_end(p, e);
			if (q == NULL)
				return SCAN_BADJSON;
			v.type = FV_NUM;
			v.p = p;
			v.n = (uint32_t)(q - p);
			p = q;
			break;
		}
		if (slot >= 0)
			out[slot] = v;   /* a repeated name: the last one wins */
		if (v.esc || v.type == FV_OBJ || v.type == FV_ARR)
			L->ok = 0;
		if (L->ok) {
			L->slot[L->n] = (int8_t)slot;
			L->type[L->n] = v.type;
			L->n++;
		}
		prev = p;
		p = skip_ws(p, e);
		if (p == e)
			return SCAN_BADJSON;
		if (*p == ',') {
			p = skip_ws(p + 1, e);
			continue;
		}
		if (*p != '}')
			return SCAN_BADJSON;
		p++;
		break;
	}
tail:
	p = skip_ws(p, e);
	if (p != e)
		return SCAN_BADJSON;
	learn_lit(L, L->n, prev, e);
	if (L->ok && L->n > 0)
		s->shape = *L;
	return SCAN_OK;
}

/* A line shaped like the last one: compare the bytes around the values,
 * check each value.  1 when it matched, 0 when the slow path must read
 * it. */
static inline int
lit_eq(const char *a, const char *b, size_t n)
{
	while (n >= 8) {
		uint64_t x, y;

		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
		a += 8, b += 8, n -= 8;
	}
	if (n >= 4) {
		uint32_t x, y, x2, y2;

		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		memcpy(&x2, a + n - 4, 4);
		memcpy(&y2, b + n - 4, 4);
		return x == y && x2 == y2;
	}
	for (; n; n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

static int
scan_fast(const struct scanner *s, const char *p, size_t n, struct fval *out)
{
	const struct shape *S = &s->shape;
	const char *e = p + n, *q;

	for (int i = 0; i < S->n; i++) {
		struct fval v;

		if ((size_t)(e - p) < S->len[i] ||
		    !lit_eq(p, S->lit + S->off[i], S->len[i]))
			return 0;
		p += S->len[i];
		if (p == e)
			return 0;
		v.esc = 0;
		switch (S->type[i]) {
		case FV_STR:
			if (*p != '"')
				return 0;
			q = str_end(p + 1, e, &v.esc);
			if (q == NULL || v.esc)
				return 0;
			v.p = p + 1;
			v.n = (uint32_t)(q - p - 1);
			p = q + 1;
			break;
		case FV_NUM:
			q = num_end(p, e);
			if (q == NULL)
				return 0;
			v.p = p;
			v.n = (uint32_t)(q - p);
			p = q;
			break;
		default:
			if (e - p >= 4 && (memcmp(p, "true", 4) == 0 ||
			    memcmp(p, "null", 4) == 0))
				v.n = 4;
			else if (e - p >= 5 && memcmp(p, "false", 5) == 0)
				v.n = 5;
			else
				return 0;
			v.p = p;
			p += v.n;
			break;
		}
		v.type = S->type[i];
		if (S->slot[i] >= 0)
			out[S->slot[i]] = v;
	}
	return (size_t)(e - p) == S->len[S->n] &&
	    lit_eq(p, S->lit + S->off[S->n], S->len[S->n]);
}

int
scan_record(struct scanner *s, const char *p, size_t n, struct fval *out)
{
	if (s->shape.ok) {
		for (int i = 0; i < s->nf; i++)
			out[i].type = FV_NONE;
		if (scan_fast(s, p, n, out)) {
			s->fast++;
			return SCAN_OK;
		}
	}
	s->slow++;
	return scan_slow(s, p, n, out);
}

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

static const double pow10tab[23] = {
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

	if (n == 0 || (!checked && num_end(p, e) != e))
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

		d = ex < 0 ? d / pow10tab[-ex] : d;
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

	if (num_end(p, e) != e || n == 0)
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

int
time_parse(struct timeparse *t, const struct fval *v, int64_t *out)
{
	int64_t ms;
	enum time_fmt f = t->fmt;

	if (v->type != FV_STR && v->type != FV_NUM)
		return -1;
	if (v->esc)
		return -1;
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
