/* scan.c — the record parser of kin-window's hot path: one pass over a
 * line finds the few top-level fields a run needs, without tokenizing the
 * rest, while checking that the line is one JSON object.  Also the number
 * and event-time readers for the values it finds. */
#include "kw.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* SSE2 is part of every x86_64: 16 bytes compared at once, the matches
 * as a bit mask.  Other targets use the portable code below. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define KW_SSE2 1
#endif
/* The byte-wise code that finishes near the end of the input, where 16
 * bytes are not on hand: out of line with SSE2, so scan_line stays small
 * (no registers and constants set up for what runs once a file). */
#if defined(KW_SSE2) && defined(__GNUC__)
#define KW_TAIL __attribute__((noinline, cold))
#else
#define KW_TAIL inline
#endif

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
const char *
kw_num_end(const char *p, const char *e)
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

	/* A literal never holds a newline: scan_line finds line ends. */
	if (!L->ok || i > KW_SHAPE_MAX || L->used + k > KW_SHAPE_LIT ||
	    memchr(a, '\n', k) != NULL) {
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
	L->slots = 0;

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
		v.dok = 0;
		if (esc || L->n == KW_SHAPE_MAX)
			L->ok = 0;
		/* A string's quotes belong to the literals around it. */
		learn_lit(L, L->n, prev, *p == '"' ? p + 1 : p);
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
			q = kw_num_end(p, e);
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
			if (slot >= 0)
				L->slots |= (uint64_t)1 << slot;
			L->type[L->n] = v.type;
			L->n++;
		}
		prev = v.type == FV_STR ? p - 1 : p;
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
 * check each value. */
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

/* Bytes of v that are '"', '\\' or below 0x20 (so '\n'): nonzero when
 * there is one (the "has a zero byte" test, and its "has a byte below n"
 * form). */
static inline uint64_t
str_stop(uint64_t v)
{
	uint64_t q = v ^ 0x2222222222222222ULL, b = v ^ 0x5c5c5c5c5c5c5c5cULL;

	return (((q - 0x0101010101010101ULL) & ~q) |
	    ((b - 0x0101010101010101ULL) & ~b) |
	    ((v - 0x2020202020202020ULL) & ~v)) & 0x8080808080808080ULL;
}

#ifdef KW_SSE2
static inline __m128i
load16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Bit i: p[i] is '"', '\\' or '\n' (the bytes that end a plain string). */
static inline unsigned
stops16(const char *p)
{
	__m128i v = load16(p);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
}

/* The value of the k digits in the first k bytes of w (1 <= k <= 8; w
 * as read from memory, little endian: the first digit in the lowest
 * byte): the digits moved to the top of the word, then neighbours
 * combined, two digits per 16 bits, four per 32, eight in all.  No step
 * carries across its lanes: 10*9+9, 100*99+99 and 10000*9999+9999 fit. */
static inline uint64_t
digits8(uint64_t w, int k)
{
	w -= 0x3030303030303030ULL;     /* the k digits do not borrow */
	w <<= (8 - k) * 8;
	w = (w * 10 + (w >> 8)) & 0x00ff00ff00ff00ffULL;
	w = (w * 100 + (w >> 16)) & 0x0000ffff0000ffffULL;
	return (w * 10000 + (w >> 32)) & 0xffffffffULL;
}
#endif

static KW_TAIL int
lit_tail(const char *p, const char *e, const char *l, size_t n)
{
	return (size_t)(e - p) >= n && lit_eq(p, l, n);
}

/* The n bytes at p (e - p are on hand) are those at l (l has 16 bytes
 * readable past any of its first n: struct shape pads lit). */
static inline int
lit_at(const char *p, const char *e, const char *l, size_t n)
{
#ifdef KW_SSE2
	while (e - p >= 16) {
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    load16(p), load16(l)));

		if (n <= 16)
			return ((m ^ 0xffffu) & ((1u << n) - 1)) == 0;
		if (m != 0xffffu)
			return 0;
		p += 16, l += 16, n -= 16;
	}
#endif
	return lit_tail(p, e, l, n);
}

/* str_plain_end eight bytes at a time, or byte by byte. */
static KW_TAIL const char *
str_plain_tail(const char *p, const char *e)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The lowest flagged byte of str_stop is a true stop byte (each
	 * test borrows only upwards): go straight to it. */
	while (e - p >= 8) {
		uint64_t v, m;

		memcpy(&v, p, 8);
		if ((m = str_stop(v)) == 0) {
			p += 8;
			continue;
		}
		p += __builtin_ctzll(m) >> 3;
		if (*p == '"')
			return p;
		if (*p == '\\' || *p == '\n')
			return NULL;
		p++;    /* another control byte: not ours to judge here */
	}
	for (; p < e; p++) {
		if (*p == '"')
			return p;
		if (*p == '\\' || *p == '\n')
			return NULL;
	}
	return NULL;
#else
	for (;;) {
		while (e - p >= 8) {
			uint64_t v;

			memcpy(&v, p, 8);
			if (str_stop(v))
				break;
			p += 8;
		}
		if (p == e)
			return NULL;
		/* A stop byte is within 8 (or the line nears e). */
		for (const char *stop = e - p > 8 ? p + 8 : e; p < stop; p++) {
			if (*p == '"')
				return p;
			if (*p == '\\' || *p == '\n')
				return NULL;
		}
	}
#endif
}

/* The end of a string without escapes nor a newline, p just past the
 * opening quote: its closing quote, or NULL for anything else (the slow
 * path decides).  Or the first '\\' or '\n' instead of NULL: the caller
 * compares the literal after the string, which begins with the quote. */
static inline const char *
str_plain_end(const char *p, const char *e)
{
#ifdef KW_SSE2
	/* 16 bytes at a time while 16 remain before e: the first stop byte
	 * is the lowest bit of the mask. */
	while (e - p >= 16) {
		unsigned m = stops16(p);

		if (m != 0)
			return p + __builtin_ctz(m);
		p += 16;
	}
#endif
	return str_plain_tail(p, e);
}

/* A JSON number at p, its value read on the way when that is exact:
 * at most 15 digits and no exponent make a mantissa below 2^53 and a
 * power of ten up to 1e15, so one division rounds correctly, exactly as
 * strtod would (Clinger's fast path); else *dok = 0 and fval_num reads the
 * text.  Sets v->p (and v->d); returns the end or NULL. */
static KW_TAIL const char *
num_scalar(const char *p, const char *e, struct fval *v, unsigned *dok)
{
	uint64_t m = 0;
	int nd = 0, fd = 0, neg = 0;

	v->p = p;
	if (p < e && *p == '-')
		neg = 1, p++;
	if (p == e)
		return NULL;
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		for (; p < e && *p >= '0' && *p <= '9'; p++, nd++)
			m = m * 10 + (uint64_t)(*p - '0');
	} else {
		return NULL;
	}
	if (p < e && *p == '.') {
		p++;
		if (p == e || *p < '0' || *p > '9')
			return NULL;
		for (; p < e && *p >= '0' && *p <= '9'; p++, nd++, fd++)
			m = m * 10 + (uint64_t)(*p - '0');
	}
	*dok = 1;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p = kw_num_end(v->p, e);
		if (p == NULL)
			return NULL;
		*dok = 0;
	}
	if (nd > 15)
		*dok = 0;
	if (*dok) {
		double d = fd ? (double)m / kw_pow10[fd] : (double)m;

		v->d = neg ? -d : d;
	}
	return p;
}


static inline const char *
num_read(const char *p, const char *e, struct fval *v, unsigned *dok)
{
#ifdef KW_SSE2
	int neg = 0;

	v->p = p;
	if (p < e && *p == '-')
		neg = 1, p++;
	/* 16 bytes on hand: the digits in a mask; a number of at most 8
	 * bytes (the point taken out) is read at once (digits8). */
	if (e - p >= 16) {
		__m128i d = _mm_sub_epi8(load16(p), _mm_set1_epi8('0'));
		unsigned dm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(
		    _mm_min_epu8(d, _mm_set1_epi8(9)), d));
		int a, f = 0, k;
		uint64_t w, lo;
		double x;

		if (!(dm & 1))
			return NULL;
		a = *p == '0' ? 1 : __builtin_ctz(~dm);
		if (a > 8)      /* (then p[a] may be past the 16) */
			return num_scalar(v->p, e, v, dok);
		k = a;
		if (p[a] == '.') {
			f = __builtin_ctz(~(dm >> (a + 1)));
			if (f == 0)
				return NULL;
			k = a + 1 + f;
		}
		if (k > 8 || (p[k] | 0x20) == 'e')
			return num_scalar(v->p, e, v, dok);
		memcpy(&w, p, 8);
		if (f) {        /* the point out: the digits after move down */
			lo = ((uint64_t)1 << (8 * a)) - 1;
			w = (w & lo) | ((w >> 8) & ~lo);
		}
		/* a + f <= 8 digits: 15 at most, Clinger's fast path holds */
		x = (double)digits8(w, a + f);
		x = f ? x / kw_pow10[f] : x;
		*dok = 1;
		v->d = neg ? -x : x;
		return p + k;
	}
	return num_scalar(v->p, e, v, dok);
#else
	return num_scalar(p, e, v, dok);
#endif
}

/* n, type, esc = 0 and dok of v.  Little endian: one 8-byte store, so a
 * reader's load of any of them (or of type and esc at once, as the
 * compiler likes to) is served from the store buffer; separate byte
 * stores read back by one wider load stall until they reach the cache. */
static inline void
fv_meta(struct fval *v, uint32_t n, unsigned type, unsigned dok)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t w = (uint64_t)n | (uint64_t)type << 32 | (uint64_t)dok << 48;

#define FV_AT(f) (offsetof(struct fval, f) - offsetof(struct fval, n))
	_Static_assert(FV_AT(type) == 4 && FV_AT(esc) == 5 &&
	    FV_AT(dok) == 6 && FV_AT(d) >= 8,
	    "struct fval: n, type, esc and dok in one word");
#undef FV_AT
	memcpy((char *)v + offsetof(struct fval, n), &w, 8);
#else
	v->n = n;
	v->type = (uint8_t)type;
	v->esc = 0;
	v->dok = (uint8_t)dok;
#endif
}

const char *
scan_line(const struct scanner *s, const char *p, const char *e,
    struct fval *out)
{
	const struct shape *S = &s->shape;
	const char *q;
	struct fval spare = { 0 };   /* values the run does not use */

	/* The input is read faster than the hardware fetches it (callers
	 * read line after line: kw_lines, the reader thread). */
	__builtin_prefetch(p + 2048);

	/* Each value is written in place, its n, type, esc and dok in one
	 * store (fv_meta).  A line that fails leaves its slots half
	 * written: the slow path rewrites them. */
	for (int i = 0; i < S->n; i++) {
		struct fval *v = S->slot[i] >= 0 ? &out[S->slot[i]] : &spare;
		unsigned dok = 0;
		uint32_t n;

		if (!lit_at(p, e, S->lit + S->off[i], S->len[i]))
			return NULL;
		p += S->len[i];
		switch (S->type[i]) {
		case FV_STR:    /* the literal held the opening quote */
			q = str_plain_end(p, e);
			if (q == NULL)
				return NULL;
			v->p = p;
			break;
		case FV_NUM:
			q = num_read(p, e, v, &dok);
			if (q == NULL)
				return NULL;
			break;
		default:
			if (e - p >= 4 && (memcmp(p, "true", 4) == 0 ||
			    memcmp(p, "null", 4) == 0))
				q = p + 4;
			else if (e - p >= 5 && memcmp(p, "false", 5) == 0)
				q = p + 5;
			else
				return NULL;
			v->p = p;
			break;
		}
		n = (uint32_t)(q - p);
		fv_meta(v, n, S->type[i], dok);
		p = q;  /* a string: the next literal holds its end quote */
	}
	if (!lit_at(p, e, S->lit + S->off[S->n], S->len[S->n]))
		return NULL;
	p += S->len[S->n];
	return p == e || *p == '\n' ? p : NULL;
}

int
scan_record(struct scanner *s, const char *p, size_t n, struct fval *out)
{
	if (s->shape.ok) {
		for (int i = 0; i < s->nf; i++)
			out[i].type = FV_NONE;
		if (scan_line(s, p, p + n, out) == p + n) {
			s->fast++;
			return SCAN_OK;
		}
	}
	s->slow++;
	return scan_slow(s, p, n, out);
}
