/* page.c — parsing GetRecords answers.  The fast path reads
 *   {"Records":[{"SequenceNumber":"...","ApproximateArrivalTimestamp":N,
 *   "Data":"<base64>","PartitionKey":"...","EncryptionType":"..."},...],
 *   "NextShardIterator":"...","MillisBehindLatest":N}
 * in any field order, with blanks anywhere JSON allows them, strings
 * without escapes and keys in printable ASCII; the first thing it does not
 * expect sends the whole answer to kin_get_records_parse.  It exists for
 * CPU: one pass with memchr instead of a validation pass, a token pass and
 * lookups (issue 5 asks for 10x less CPU per record than the SDKs). */
#include "page.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "err.h"

#define STORE_CEILING (64u << 20)
#define JSON_TOKENS (1 << 21)

void
page_init(struct page *pg)
{
	memset(pg, 0, sizeof *pg);
	pg->millis_behind = -1;
	kin_buf_init(&pg->store, STORE_CEILING);
	kin_records_init(&pg->rs);
	kin_json_init(&pg->json, JSON_TOKENS);
}

void
page_release(struct page *pg)
{
	free(pg->fr);
	kin_buf_release(&pg->store);
	kin_records_release(&pg->rs);
	kin_json_release(&pg->json);
	memset(pg, 0, sizeof *pg);
	pg->millis_behind = -1;
}

static void
page_empty(struct page *pg)
{
	pg->r = NULL;
	pg->n = 0;
	pg->next_iter = NULL;
	pg->millis_behind = -1;
	pg->children = NULL;
	pg->nchildren = 0;
	pg->fast = 0;
	kin_buf_reset(&pg->store);
}

struct cur {
	const char *p, *end;
};

static void
ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' ||
	    *c->p == '\r' || *c->p == '\t'))
		c->p++;
}

static int
lit(struct cur *c, char ch)
{
	ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 1;
	}
	return 0;
}

/* A string with no escapes in it. */
static int
str(struct cur *c, const char **s, size_t *n)
{
	const char *q;

	if (!lit(c, '"'))
		return -1;
	q = memchr(c->p, '"', (size_t)(c->end - c->p));
	if (q == NULL || memchr(c->p, '\\', (size_t)(q - c->p)) != NULL)
		return -1;
	*s = c->p;
	*n = (size_t)(q - c->p);
	c->p = q + 1;
	return 0;
}

static int
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

static int
digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
is_num(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' ||
	    ch == 'E' || ch == '+' || ch == '-';
}

/* A non-negative integer. */
static int
integer(struct cur *c, int64_t *v)
{
	int64_t x = 0;
	const char *start;

	ws(c);
	start = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (x > (INT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (*c->p - '0');
		c->p++;
	}
	if (c->p == start || (c->p - start > 1 && *start == '0') ||
	    (c->p < c->end && is_num(*c->p)))
		return -1;
	*v = x;
	return 0;
}

/* Epoch seconds as JSON writes them (1795633224.436, 1.795633224436E9) to
 * milliseconds, in exact decimal arithmetic. */
static int
seconds_ms(struct cur *c, int64_t *ms)
{
	int64_t m = 0;
	int sig = 0, frac = 0, e = 0, esign = 1, any = 0;

	ws(c);
	if (c->p < c->end && *c->p == '0' && c->p + 1 < c->end &&
	    c->p[1] >= '0' && c->p[1] <= '9')
		return -1;
	for (int in_frac = 0; c->p < c->end; c->p++) {
		char ch = *c->p;
		if (ch == '.' && !in_frac && any) {
			in_frac = 1;
			if (c->p + 1 >= c->end || c->p[1] < '0' || c->p[1] > '9')
				return -1;
			continue;
		}
		if (ch < '0' || ch > '9')
			break;
		any = 1;
		if (m == 0 && ch == '0') {
			if (in_frac)
				frac++;
			continue;
		}
		if (++sig > 18)
			return -1;
		m = m * 10 + (ch - '0');
		if (in_frac)
			frac++;
	}
	if (!any)
		return -1;
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			esign = *c->p++ == '-' ? -1 : 1;
		if (c->p >= c->end || *c->p < '0' || *c->p > '9')
			return -1;
		while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
			e = e * 10 + (*c->p++ - '0');
			if (e > 40)
				return -1;
		}
	}
	if (c->p < c->end && is_num(*c->p))
		return -1;
	int d = esign * e - frac + 3;
	if (d >= 0) {
		for (; d > 0; d--) {
			if (m > INT64_MAX / 10)
				return -1;
			m *= 10;
		}
	} else {
		int64_t p10 = 1;
		if (d < -18)
			return -1;
		for (; d < 0; d++)
			p10 *= 10;
		/* the service sends whole milliseconds; anything finer is
		 * left to the library, which rounds through a double */
		if (m % p10 != 0)
			return -1;
		m /= p10;
	}
	/* past 2^50 ms (year 37648) the library's double is no longer
	 * exact to the millisecond: leave such a time to it */
	if (m > (int64_t)1 << 50)
		return -1;
	*ms = m;
	return 0;
}

static int
lit_null(struct cur *c)
{
	ws(c);
	if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
		c->p += 4;
		return 0;
	}
	return -1;
}

#define KEYIS(s, n, lit) ((n) == sizeof(lit) - 1 && memcmp(s, lit, n) == 0)

/* Copy s[0..n) and a NUL into the store (room was reserved). */
static char *
keep(struct kin_buf *b, const char *s, size_t n)
{
	char *at = b->p + b->len;

	memcpy(at, s, n);
	at[n] = '\0';
	b->len += n + 1;
	return at;
}

static int
record(struct page *pg, struct cur *c, struct kin_record *r)
{
	const char *data = NULL, *key = NULL, *seq = NULL, *s;
	size_t dn = 0, kn = 0, sn = 0, n;
	int have_ts = 0;
	char err[KIN_ERRLEN];

	if (!lit(c, '{'))
		return -1;
	r->arrival_ms = 0;
	do {
		const char *f;
		size_t fn;

		if (str(c, &f, &fn) < 0 || !lit(c, ':'))
			return -1;
		if (KEYIS(f, fn, "SequenceNumber")) {
			if (str(c, &seq, &sn) < 0 || !digits(seq, sn))
				return -1;
		} else if (KEYIS(f, fn, "ApproximateArrivalTimestamp")) {
			if (seconds_ms(c, &r->arrival_ms) < 0)
				return -1;
			have_ts = 1;
		} else if (KEYIS(f, fn, "Data")) {
			if (str(c, &data, &dn) < 0)
				return -1;
		} else if (KEYIS(f, fn, "PartitionKey")) {
			if (str(c, &key, &kn) < 0 || !printable(key, kn))
				return -1;
		} else if (KEYIS(f, fn, "EncryptionType")) {
			if (str(c, &s, &n) < 0 || !printable(s, n))
				return -1;
		} else {
			return -1;
		}
	} while (lit(c, ','));
	(void)have_ts;
	if (!lit(c, '}') || data == NULL || key == NULL || seq == NULL)
		return -1;
	size_t off = pg->store.len;
	if (kin_b64_decode(&pg->store, data, dn, err) < 0)
		return -1;
	r->len = pg->store.len - off;
	r->data = pg->store.p + off;
	pg->store.p[pg->store.len++] = '\0';
	r->key = keep(&pg->store, key, kn);
	r->seq = keep(&pg->store, seq, sn);
	return 0;
}

int
page_parse_fast(struct page *pg, const char *body, size_t len)
{
	struct cur c = { body, body + len };
	const char *base;
	int have_records = 0;
	char err[KIN_ERRLEN];

	page_empty(pg);
	/* what the store keeps (decoded data, keys, sequence numbers and
	 * the iterator, each with a NUL) is never longer than its JSON text
	 * with quotes: one reservation, and pointers into it stay put */
	if (kin_buf_reserve(&pg->store, len + 64, err) < 0)
		return 1;
	base = pg->store.p;
	if (!lit(&c, '{'))
		goto slow;
	do {
		const char *f, *s;
		size_t fn, n;

		if (str(&c, &f, &fn) < 0 || !lit(&c, ':'))
			goto slow;
		if (KEYIS(f, fn, "Records")) {
			if (have_records || !lit(&c, '['))
				goto slow;
			have_records = 1;
			if (lit(&c, ']'))
				continue;
			do {
				if (pg->n == pg->fcap) {
					size_t ncap = pg->fcap ? pg->fcap * 2 : 1024;
					struct kin_record *nr = realloc(pg->fr,
					    ncap * sizeof *nr);
					if (nr == NULL)
						goto slow;
					pg->fr = nr;
					pg->fcap = ncap;
				}
				if (record(pg, &c, &pg->fr[pg->n]) < 0)
					goto slow;
				pg->n++;
			} while (lit(&c, ','));
			if (!lit(&c, ']'))
				goto slow;
		} else if (KEYIS(f, fn, "NextShardIterator")) {
			if (lit_null(&c) == 0) {
				pg->next_iter = NULL;
				continue;
			}
			if (str(&c, &s, &n) < 0 || n == 0 || !printable(s, n))
				goto slow;
			pg->next_iter = keep(&pg->store, s, n);
		} else if (KEYIS(f, fn, "MillisBehindLatest")) {
			if (integer(&c, &pg->millis_behind) < 0)
				goto slow;
		} else {
			goto slow;   /* ChildShards, or something new */
		}
	} while (lit(&c, ','));
	if (!lit(&c, '}') || !have_records)
		goto slow;
	ws(&c);
	if (c.p != c.end || pg->store.p != base)
		goto slow;
	pg->r = pg->fr;
	pg->fast = 1;
	return 0;
slow:
	page_empty(pg);
	return 1;
}

int
page_parse(struct page *pg, const char *body, size_t len, char *err)
{
	if (page_parse_fast(pg, body, len) == 0)
		return 0;
	if (kin_get_records_parse(&pg->json, body, len, &pg->rs, err) < 0)
		return -1;
	pg->r = pg->rs.r;
	pg->n = pg->rs.n;
	pg->next_iter = pg->rs.next_iter;
	pg->millis_behind = pg->rs.millis_behind;
	pg->children = pg->rs.children;
	pg->nchildren = pg->rs.nchildren;
	return 0;
}
