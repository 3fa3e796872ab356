/* json.c — JSON in and out.  Texts are checked against RFC 8259 first
 * (jsmn alone accepts "[1 2]", "tru" and raw control characters), then
 * tokenized by jsmn into a growing token array with a ceiling. */
#include "json.h"
#include "err.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 1000
#define JSON_MIN_TOKENS 64

/* ---- UTF-8 ---------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (< e), or 0 if invalid: no
 * overlongs, no surrogates, nothing past U+10FFFF (RFC 3629 table). */
static size_t
utf8_seq(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];
	size_t avail = (size_t)(e - p);

	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (avail < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;       /* overlong */
		if (c == 0xED && p[1] > 0x9F)
			return 0;       /* UTF-16 surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 ||
		    (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;       /* overlong */
		if (c == 0xF4 && p[1] > 0x8F)
			return 0;       /* past U+10FFFF */
		return 4;
	}
	return 0;
}

int
kin_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		/* ASCII runs eight bytes at a time */
		while (e - p >= 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			if (w & 0x8080808080808080ULL)
				break;
			p += 8;
		}
		if (p >= e)
			break;
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t l = utf8_seq(p, e);
		if (l == 0)
			return 0;
		p += l;
	}
	return 1;
}

/* ---- RFC 8259 checker ----------------------------------------------- */

struct chk {
	const unsigned char *p, *e, *start;
	int depth;
};

static void
chk_ws(struct chk *c)
{
	while (c->p < c->e && (*c->p == ' ' || *c->p == '\n' ||
	    *c->p == '\r' || *c->p == '\t'))
		c->p++;
}

static int
hexval(unsigned char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

static int
chk_string(struct chk *c)
{
	c->p++;         /* opening quote */
	while (c->p < c->e) {
		unsigned ch = *c->p;

		if (ch == '"') {
			c->p++;
			return 0;
		}
		if (ch < 0x20)
			return -1;
		if (ch == '\\') {
			if (c->e - c->p < 2)
				return -1;
			switch (c->p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				c->p += 2;
				break;
			case 'u':
				if (c->e - c->p < 6)
					return -1;
				for (int k = 2; k < 6; k++)
					if (hexval(c->p[k]) < 0)
						return -1;
				c->p += 6;
				break;
			default:
				return -1;
			}
		} else if (ch < 0x80) {
			c->p++;
		} else {
			size_t l = utf8_seq(c->p, c->e);
			if (l == 0)
				return -1;
			c->p += l;
		}
	}
	return -1;
}

static int
chk_digits(struct chk *c)
{
	const unsigned char *s = c->p;

	while (c->p < c->e && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > s ? 0 : -1;
}

static int
chk_number(struct chk *c)
{
	if (c->p < c->e && *c->p == '-')
		c->p++;
	if (c->p < c->e && *c->p == '0')
		c->p++;
	else if (chk_digits(c) < 0)
		return -1;
	if (c->p < c->e && *c->p == '.') {
		c->p++;
		if (chk_digits(c) < 0)
			return -1;
	}
	if (c->p < c->e && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->e && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (chk_digits(c) < 0)
			return -1;
	}
	return 0;
}

static int
chk_word(struct chk *c, const char *w, size_t n)
{
	if ((size_t)(c->e - c->p) < n || memcmp(c->p, w, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int chk_value(struct chk *c);

static int
chk_container(struct chk *c, unsigned char close)
{
	if (++c->depth > JSON_MAX_DEPTH)
		return -1;
	c->p++;
	chk_ws(c);
	if (c->p < c->e && *c->p == close) {
		c->p++;
		c->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (c->p >= c->e || *c->p != '"' || chk_string(c) < 0)
				return -1;
			chk_ws(c);
			if (c->p >= c->e || *c->p != ':')
				return -1;
			c->p++;
			chk_ws(c);
		}
		if (chk_value(c) < 0)
			return -1;
		chk_ws(c);
		if (c->p >= c->e)
			return -1;
		if (*c->p == close) {
			c->p++;
			c->depth--;
			return 0;
		}
		if (*c->p != ',')
			return -1;
		c->p++;
		chk_ws(c);
	}
}

static int
chk_value(struct chk *c)
{
	if (c->p >= c->e)
		return -1;
	switch (*c->p) {
	case '{': return chk_container(c, '}');
	case '[': return chk_container(c, ']');
	case '"': return chk_string(c);
	case 't': return chk_word(c, "true", 4);
	case 'f': return chk_word(c, "false", 5);
	case 'n': return chk_word(c, "null", 4);
	default:
		if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
			return chk_number(c);
		return -1;
	}
}

/* Offset of the first error in s[0..n), or (size_t)-1 if it is exactly one
 * JSON value with only blanks around it. */
static size_t
check_text(const char *s, size_t n)
{
	struct chk c;

	c.p = c.start = (const unsigned char *)s;
	c.e = c.p + n;
	c.depth = 0;
	chk_ws(&c);
	if (chk_value(&c) < 0)
		return (size_t)(c.p - c.start);
	chk_ws(&c);
	if (c.p != c.e)
		return (size_t)(c.p - c.start);
	return (size_t)-1;
}

int
kin_json_is_value(const char *s, size_t n)
{
	return check_text(s, n) == (size_t)-1;
}

/* ---- tokens --------------------------------------------------------- */

void
kin_json_init(struct kin_json *j, int max_tokens)
{
	j->tok = NULL;
	j->ntok = j->cap = 0;
	j->max = max_tokens > 0 ? max_tokens : 1;
	j->js = NULL;
	j->len = 0;
}

void
kin_json_release(struct kin_json *j)
{
	free(j->tok);
	j->tok = NULL;
	j->ntok = j->cap = 0;
}

static int
grow_tokens(struct kin_json *j, char *err)
{
	int ncap;
	jsmntok_t *nt;

	if (j->cap >= j->max)
		return kin_seterr(err, "json: more than %d tokens", j->max);
	ncap = j->cap ? j->cap : JSON_MIN_TOKENS / 2;
	ncap = ncap > j->max / 2 ? j->max : ncap * 2;
	nt = realloc(j->tok, sizeof *nt * (size_t)ncap);
	if (nt == NULL)
		return kin_seterr(err, "json: out of memory for %d tokens",
		    ncap);
	j->tok = nt;
	j->cap = ncap;
	return 0;
}

int
kin_json_parse(struct kin_json *j, const char *js, size_t len, char *err)
{
	jsmn_parser p;
	size_t bad, i;
	int r;

	j->ntok = 0;
	j->js = js;
	j->len = len;
	if (len > (size_t)INT_MAX / 2)
		return kin_seterr(err, "json: text of %zu bytes is too long",
		    len);
	bad = check_text(js, len);
	if (bad != (size_t)-1) {
		if (bad >= len)
			return kin_seterr(err, "json: invalid: ends too soon");
		return kin_seterr(err, "json: invalid at byte %zu", bad);
	}
	if (j->cap == 0 && grow_tokens(j, err) < 0)
		return -1;
	/* jsmn's strict mode wants a delimiter after a primitive, so a text
	 * that is one bare number or literal gets its token here. */
	for (i = 0; i < len && (js[i] == ' ' || js[i] == '\n' ||
	    js[i] == '\r' || js[i] == '\t'); i++)
		;
	if (js[i] != '{' && js[i] != '[' && js[i] != '"') {
		size_t e = i;
		while (e < len && js[e] != ' ' && js[e] != '\n' &&
		    js[e] != '\r' && js[e] != '\t')
			e++;
		j->tok[0].type = JSMN_PRIMITIVE;
		j->tok[0].start = (int)i;
		j->tok[0].end = (int)e;
		j->tok[0].size = 0;
		j->ntok = 1;
		return 0;
	}
	jsmn_init(&p);
	for (;;) {
		r = jsmn_parse(&p, js, len, j->tok, (unsigned)j->cap);
		if (r != JSMN_ERROR_NOMEM)
			break;
		/* jsmn resumes where it stopped once given more tokens */
		if (grow_tokens(j, err) < 0)
			return -1;
	}
	if (r < 0)
		return kin_seterr(err, "json: invalid (tokenizer error %d)", r);
	j->ntok = r;
	return 0;
}

int
kin_json_skip(const struct kin_json *j, int i)
{
	int end, k;

	if (i < 0 || i >= j->ntok)
		return j->ntok;
	end = j->tok[i].end;
	for (k = i + 1; k < j->ntok && j->tok[k].start < end; k++)
		;
	return k;
}

int
kin_json_get(const struct kin_json *j, int obj, const char *key)
{
	int k, n;

	if (obj < 0 || obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return -1;
	n = j->tok[obj].size;
	k = obj + 1;
	for (int m = 0; m < n && k + 1 < j->ntok; m++) {
		if (kin_json_eq(j, k, key))
			return k + 1;
		k = kin_json_skip(j, k + 1);
	}
	return -1;
}

int
kin_json_at(const struct kin_json *j, int arr, int n)
{
	int k;

	if (arr < 0 || arr >= j->ntok || j->tok[arr].type != JSMN_ARRAY ||
	    n < 0 || n >= j->tok[arr].size)
		return -1;
	k = arr + 1;
	for (int m = 0; m < n; m++)
		k = kin_json_skip(j, k);
	return k < j->ntok ? k : -1;
}

const char *
kin_json_raw(const struct kin_json *j, int i, size_t *len)
{
	if (i < 0 || i >= j->ntok) {
		*len = 0;
		return NULL;
	}
	*len = (size_t)(j->tok[i].end - j->tok[i].start);
	return j->js + j->tok[i].start;
}

int
kin_json_eq(const struct kin_json *j, int i, const char *s)
{
	size_t n;

	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_STRING)
		return 0;
	n = (size_t)(j->tok[i].end - j->tok[i].start);
	return strlen(s) == n && memcmp(j->js + j->tok[i].start, s, n) == 0;
}

/* ---- strings -------------------------------------------------------- */

static int
hex4(const char *s, unsigned *v)
{
	unsigned x = 0;

	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)s[k]);
		if (h < 0)
			return -1;
		x = x << 4 | (unsigned)h;
	}
	*v = x;
	return 0;
}

static int
put_utf8(struct kin_buf *out, unsigned cp, char *err)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return kin_buf_add(out, u, n, err);
}

int
kin_json_unescape(const char *s, size_t n, struct kin_buf *out, char *err)
{
	size_t i = 0;

	while (i < n) {
		const char *bs = memchr(s + i, '\\', n - i);
		size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
		unsigned cp, lo;
		char c;

		if (run > 0) {
			if (!kin_utf8_valid(s + i, run))
				return kin_seterr(err, "json: string is not "
				    "valid UTF-8");
			for (size_t k = 0; k < run; k++)
				if ((unsigned char)s[i + k] < 0x20)
					return kin_seterr(err, "json: control "
					    "character in a string");
			if (kin_buf_add(out, s + i, run, err) < 0)
				return -1;
			i += run;
		}
		if (i >= n)
			break;
		if (i + 1 >= n)
			return kin_seterr(err, "json: string ends in '\\'");
		switch (s[i + 1]) {
		case '"': c = '"'; break;
		case '\\': c = '\\'; break;
		case '/': c = '/'; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (n - i < 6 || hex4(s + i + 2, &cp) < 0)
				return kin_seterr(err, "json: bad \\u escape");
			i += 6;
			if (cp >= 0xDC00 && cp <= 0xDFFF)
				return kin_seterr(err, "json: lone low "
				    "surrogate \\u%04X", cp);
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* a pair: \uD83D\uDE00 is U+1F600 */
				if (n - i < 6 || s[i] != '\\' ||
				    s[i + 1] != 'u' || hex4(s + i + 2, &lo) < 0 ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return kin_seterr(err, "json: lone high "
					    "surrogate \\u%04X", cp);
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) +
				    (lo - 0xDC00);
			}
			if (put_utf8(out, cp, err) < 0)
				return -1;
			continue;
		default:
			return kin_seterr(err, "json: bad escape '\\%c'",
			    s[i + 1] >= 0x20 && s[i + 1] < 0x7f ? s[i + 1] :
			    '?');
		}
		if (kin_buf_addc(out, c, err) < 0)
			return -1;
		i += 2;
	}
	return 0;
}

int
kin_json_str(const struct kin_json *j, int i, struct kin_buf *out, char *err)
{
	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_STRING)
		return kin_seterr(err, "json: not a string");
	return kin_json_unescape(j->js + j->tok[i].start,
	    (size_t)(j->tok[i].end - j->tok[i].start), out, err);
}

char *
kin_json_strdup(const struct kin_json *j, int i, char *err)
{
	struct kin_buf b;
	char *s;

	kin_buf_init(&b, j->len + 1);
	if (kin_json_str(j, i, &b, err) < 0) {
		kin_buf_release(&b);
		return NULL;
	}
	if (b.len > 0 && memchr(b.p, '\0', b.len) != NULL) {
		kin_buf_release(&b);
		kin_seterr(err, "json: string holds a NUL byte");
		return NULL;
	}
	if (b.p == NULL) {
		s = strdup("");
		if (s == NULL)
			kin_seterr(err, "json: out of memory");
		return s;
	}
	return kin_buf_detach(&b, NULL);
}

/* ---- numbers -------------------------------------------------------- */

static int
number_token(const struct kin_json *j, int i, const char **s, size_t *n,
    char *err)
{
	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_PRIMITIVE)
		return kin_seterr(err, "json: not a number");
	*s = j->js + j->tok[i].start;
	*n = (size_t)(j->tok[i].end - j->tok[i].start);
	if (*n == 0 || !(**s == '-' || (**s >= '0' && **s <= '9')))
		return kin_seterr(err, "json: not a number");
	return 0;
}

int
kin_json_num(const struct kin_json *j, int i, double *out, char *err)
{
	char small[64], *tmp = small, *end;
	const char *s;
	size_t n;
	double v;

	if (number_token(j, i, &s, &n, err) < 0)
		return -1;
	if (n >= sizeof small) {
		tmp = malloc(n + 1);
		if (tmp == NULL)
			return kin_seterr(err, "json: out of memory");
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	if (tmp != small)
		free(tmp);
	if (!isfinite(v))
		return kin_seterr(err, "json: number '%.*s' out of range",
		    (int)(n > 40 ? 40 : n), s);
	*out = v;
	return 0;
}

int
kin_json_int64(const struct kin_json *j, int i, int64_t *out, char *err)
{
	const char *s;
	size_t n, k = 0;
	uint64_t v = 0, lim;
	int neg = 0;

	if (number_token(j, i, &s, &n, err) < 0)
		return -1;
	if (s[0] == '-') {
		neg = 1;
		k = 1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; k < n; k++) {
		unsigned d = (unsigned)(s[k] - '0');
		if (d > 9)
			return kin_seterr(err, "json: '%.*s' is not a whole "
			    "number", (int)(n > 40 ? 40 : n), s);
		if (v > (lim - d) / 10)
			return kin_seterr(err, "json: number '%.*s' out of "
			    "range", (int)(n > 40 ? 40 : n), s);
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int
kin_json_bool(const struct kin_json *j, int i, int *out, char *err)
{
	size_t n;
	const char *s = kin_json_raw(j, i, &n);

	if (s != NULL && j->tok[i].type == JSMN_PRIMITIVE) {
		if (n == 4 && memcmp(s, "true", 4) == 0) {
			*out = 1;
			return 0;
		}
		if (n == 5 && memcmp(s, "false", 5) == 0) {
			*out = 0;
			return 0;
		}
	}
	return kin_seterr(err, "json: not true or false");
}

/* ---- writer --------------------------------------------------------- */

int
kin_json_put_str(struct kin_buf *b, const char *s, size_t n, char *err)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	if (kin_buf_reserve(b, n + 2, err) < 0)
		return -1;
	b->p[b->len++] = '"';
	while (p < e) {
		const unsigned char *r = p;
		char esc[8];
		size_t el = 2;

		while (p < e && *p >= 0x20 && *p < 0x80 && *p != '"' &&
		    *p != '\\')
			p++;
		if (p > r && kin_buf_add(b, r, (size_t)(p - r), err) < 0)
			return -1;
		if (p >= e)
			break;
		if (*p >= 0x80) {
			size_t l = utf8_seq(p, e);
			if (l == 0) {
				if (kin_buf_add(b, "\\ufffd", 6, err) < 0)
					return -1;
				p++;
			} else {
				if (kin_buf_add(b, p, l, err) < 0)
					return -1;
				p += l;
			}
			continue;
		}
		esc[0] = '\\';
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			el = 6;
			break;
		}
		if (kin_buf_add(b, esc, el, err) < 0)
			return -1;
		p++;
	}
	return kin_buf_addc(b, '"', err);
}

int
kin_json_put_num(struct kin_buf *b, double v, char *err)
{
	char tmp[40];
	int n = 0;

	if (!isfinite(v))
		return kin_buf_add(b, "null", 4, err);
	/* The shortest of 15, 16, 17 significant digits that reads back as
	 * the same double (17 always does). */
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	if (n < 0 || (size_t)n >= sizeof tmp)
		return kin_seterr(err, "json: cannot format number");
	return kin_buf_add(b, tmp, (size_t)n, err);
}
