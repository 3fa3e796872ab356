/* resp.c — one-pass reader of {"FailedRecordCount":N,"Records":[{...}]}
 * (PutRecords, JSON 1.1).  Strict where it matters (structure, the count
 * of records), lenient where the library is the judge anyway: on anything
 * odd it returns -1 and the caller asks kin_put_records_parse(). */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "resp.h"

struct scan {
	const char *p, *end;
};

static void ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int eat(struct scan *s, char c)
{
	ws(s);
	if (s->p >= s->end || *s->p != c)
		return -1;
	s->p++;
	return 0;
}

/* The first '"' or '\\' in [p, end), or end: one pass, 16 bytes a step
 * where SSE2 is there (a sequence number is 56 digits, and two memchr
 * calls per string cost more than the scan). */
static const char *quote_or_backslash(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');

	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, q),
		    _mm_cmpeq_epi8(v, b)));
		if (m)
			return p + __builtin_ctz((unsigned)m);
		p += 16;
	}
#endif
	while (p < end && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* A string: out and n get its raw text between the quotes; esc says whether
 * it holds a backslash. */
static int str(struct scan *s, const char **out, size_t *n, int *esc)
{
	const char *q;

	if (eat(s, '"') < 0)
		return -1;
	*esc = 0;
	q = quote_or_backslash(s->p, s->end);
	if (q < s->end && *q == '\\') {
		/* escapes: walk it (error texts only) */
		*esc = 1;
		for (; q < s->end && *q != '"'; q++)
			if (*q == '\\' && ++q >= s->end)
				return -1;
	}
	if (q >= s->end)
		return -1;
	*out = s->p;
	*n = (size_t)(q - s->p);
	s->p = q + 1;
	return 0;
}

/* Copy a raw string into dst (NUL-terminated, cut to fit), undoing the
 * simple escapes; \uXXXX becomes '?' (these are error texts for people). */
static void unescape(char *dst, size_t cap, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 1 < cap; i++) {
		char c = s[i];
		if (c == '\\' && i + 1 < n) {
			c = s[++i];
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': c = '?'; i += 4; break;
			default: break;   /* \" \\ \/ */
			}
		}
		dst[o++] = c;
	}
	dst[o] = '\0';
}

static int skip_value(struct scan *s, int depth);

static int skip_container(struct scan *s, char open, char close, int depth)
{
	const char *k;
	size_t n;
	int esc;

	if (depth > 32 || eat(s, open) < 0)
		return -1;
	ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	for (;;) {
		if (open == '{' && (str(s, &k, &n, &esc) < 0 ||
		    eat(s, ':') < 0))
			return -1;
		if (skip_value(s, depth + 1) < 0)
			return -1;
		ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		return eat(s, close);
	}
}

static int skip_value(struct scan *s, int depth)
{
	const char *v;
	size_t n;
	int esc;

	ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '"':
		return str(s, &v, &n, &esc);
	case '{':
		return skip_container(s, '{', '}', depth);
	case '[':
		return skip_container(s, '[', ']', depth);
	default:
		/* number, true, false, null */
		v = s->p;
		while (s->p < s->end && *s->p &&
		    strchr("0123456789+-.eEtruefalsn", *s->p))
			s->p++;
		return s->p > v ? 0 : -1;
	}
}

static int keyis(const char *k, size_t n, const char *want)
{
	return strlen(want) == n && memcmp(k, want, n) == 0;
}

static int record(struct scan *s, struct kw_result *r)
{
	const char *k, *v;
	size_t kn, vn;
	int esc, seq = 0;

	/* not memset: code and msg are most of the struct, and hardly ever
	 * used */
	r->ok = 0;
	r->shard = NULL;
	r->shardlen = 0;
	r->code[0] = '\0';
	r->msg[0] = '\0';
	if (eat(s, '{') < 0)
		return -1;
	ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		if (str(s, &k, &kn, &esc) < 0 || esc || eat(s, ':') < 0)
			return -1;
		ws(s);
		if (s->p < s->end && *s->p == '"') {
			if (str(s, &v, &vn, &esc) < 0)
				return -1;
			if (keyis(k, kn, "SequenceNumber")) {
				seq = vn > 0;
			} else if (keyis(k, kn, "ShardId")) {
				if (esc)
					return -1;
				r->shard = v;
				r->shardlen = vn;
			} else if (keyis(k, kn, "ErrorCode")) {
				unescape(r->code, sizeof(r->code), v, vn);
			} else if (keyis(k, kn, "ErrorMessage")) {
				unescape(r->msg, sizeof(r->msg), v, vn);
			}
		} else if (skip_value(s, 1) < 0) {
			return -1;
		}
		ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (eat(s, '}') < 0)
			return -1;
		break;
	}
	/* written only with a sequence number and no error code */
	r->ok = seq && !r->code[0];
	if (!r->ok && !r->code[0])
		memcpy(r->code, "MissingSequenceNumber",
		    sizeof("MissingSequenceNumber"));
	return 0;
}

int kw_parse_put_response(const char *body, size_t len, size_t n,
    struct kw_result *res, int *failed)
{
	struct scan s = { body, body + len };
	const char *k;
	size_t kn, i = 0, j;
	int esc, have = 0;

	*failed = 0;
	if (eat(&s, '{') < 0)
		return -1;
	for (;;) {
		if (str(&s, &k, &kn, &esc) < 0 || esc || eat(&s, ':') < 0)
			return -1;
		if (keyis(k, kn, "Records")) {
			if (have || eat(&s, '[') < 0)
				return -1;
			have = 1;
			ws(&s);
			if (s.p < s.end && *s.p == ']') {
				s.p++;
			} else {
				for (;;) {
					if (i >= n || record(&s, &res[i]) < 0)
						return -1;
					i++;
					ws(&s);
					if (s.p < s.end && *s.p == ',') {
						s.p++;
						continue;
					}
					if (eat(&s, ']') < 0)
						return -1;
					break;
				}
			}
		} else if (skip_value(&s, 1) < 0) {
			return -1;
		}
		ws(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			continue;
		}
		if (eat(&s, '}') < 0)
			return -1;
		break;
	}
	ws(&s);
	if (s.p != s.end || !have || i != n)
		return -1;
	for (j = 0; j < n; j++)
		if (!res[j].ok)
			(*failed)++;
	return 0;
}
