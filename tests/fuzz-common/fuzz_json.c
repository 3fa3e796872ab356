/* fuzz_json.c — kin_json_parse on any bytes, then every accessor on every
 * token: strings unescaped (kin_json_str, kin_json_strdup), numbers,
 * booleans, skips and lookups.  Properties: the RFC 8259 pre-check and the
 * parser agree, every string of a valid text unescapes (a lone surrogate
 * aside), and a string written by kin_json_put_str parses back to the same
 * bytes. */
#include "fuzz.h"
#include "buf.h"
#include "err.h"
#include "json.h"

#include <errno.h>
#include <string.h>

/* Token i as a NUL-terminated copy (caller frees), for strtod/strtoll. */
static char *
cstr(const struct kin_json *j, int i)
{
	size_t n;
	const char *s = kin_json_raw(j, i, &n);
	char *c = malloc(n + 1);

	FUZZ_CHECK(c != NULL);
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static void
walk(const struct kin_json *j)
{
	struct kin_buf b;
	char err[KIN_ERRLEN], *num;

	kin_buf_init(&b, 1 << 20);
	for (int i = 0; i < j->ntok; i++) {
		const jsmntok_t *t = &j->tok[i];
		size_t len;
		double d;
		int64_t v;
		int bo;

		FUZZ_CHECK(t->start >= 0 && t->end >= t->start &&
		    (size_t)t->end <= j->len);
		FUZZ_CHECK(kin_json_skip(j, i) > i &&
		    kin_json_skip(j, i) <= j->ntok);
		(void)kin_json_raw(j, i, &len);
		switch (t->type) {
		case JSMN_STRING:
			kin_buf_reset(&b);
			/* every string of a valid text unescapes, but for a
			 * lone surrogate (RFC 8259 section 8.2 lets it parse) */
			if (kin_json_str(j, i, &b, err) < 0)
				FUZZ_CHECK(strstr(err, "surrogate") != NULL);
			free(kin_json_strdup(j, i, err));
			(void)kin_json_eq(j, i, "Records");
			break;
		case JSMN_PRIMITIVE:
			num = cstr(j, i);
			if (kin_json_num(j, i, &d, err) == 0)
				FUZZ_CHECK(d == strtod(num, NULL));
			if (kin_json_int64(j, i, &v, err) == 0) {
				errno = 0;
				FUZZ_CHECK(v == strtoll(num, NULL, 10) &&
				    errno == 0);
			}
			free(num);
			(void)kin_json_bool(j, i, &bo, err);
			break;
		case JSMN_OBJECT:
			(void)kin_json_get(j, i, "Data");
			(void)kin_json_get(j, i, "");
			break;
		case JSMN_ARRAY:
			(void)kin_json_at(j, i, 0);
			(void)kin_json_at(j, i, t->size);
			break;
		default:
			break;
		}
	}
	kin_buf_release(&b);
}

/* put_str then parse: valid UTF-8 comes back byte for byte. */
static void
roundtrip(const char *s, size_t n)
{
	struct kin_buf b, u;
	struct kin_json j;
	char err[KIN_ERRLEN];

	kin_buf_init(&b, 8 * n + 16);
	kin_buf_init(&u, 3 * n + 16);   /* U+FFFD is 3 bytes */
	kin_json_init(&j, 16);
	FUZZ_CHECK(kin_json_put_str(&b, s, n, err) == 0);
	FUZZ_CHECK(kin_json_is_value(b.p, b.len));
	FUZZ_CHECK(kin_json_parse(&j, b.p, b.len, err) == 0);
	FUZZ_CHECK(j.ntok == 1 && j.tok[0].type == JSMN_STRING);
	FUZZ_CHECK(kin_json_str(&j, 0, &u, err) == 0);
	if (kin_utf8_valid(s, n))
		FUZZ_CHECK(u.len == n && fuzz_same(u.p, s, n));
	kin_json_release(&j);
	kin_buf_release(&u);
	kin_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct kin_json j;
	char err[KIN_ERRLEN];
	int ok, valid = kin_json_is_value(s, size);

	(void)kin_utf8_valid(s, size);
	kin_json_init(&j, 4096);
	ok = kin_json_parse(&j, s, size, err) == 0;
	/* only the token ceiling may turn a valid text down */
	if (ok)
		FUZZ_CHECK(valid);
	else if (valid)
		FUZZ_CHECK(strstr(err, "tokens") != NULL);
	if (ok)
		walk(&j);
	kin_json_release(&j);
	roundtrip(s, size);
	return 0;
}
