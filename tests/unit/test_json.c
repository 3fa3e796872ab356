/* test_json.c — reading (validation, tokens, lookups, unescaping, numbers)
 * and writing (string escapes, shortest round-trip numbers). */
#include "t.h"
#include "err.h"
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static char err[KIN_ERRLEN];

#define S(lit) lit, sizeof(lit) - 1

static void
test_is_value(void)
{
	static const struct { const char *s; size_t n; int ok; } cases[] = {
		{ S("{}"), 1 }, { S("[]"), 1 }, { S("0"), 1 }, { S("-0"), 1 },
		{ S("1.5e-3"), 1 }, { S("1E+9"), 1 }, { S("true"), 1 },
		{ S("false"), 1 }, { S("null"), 1 }, { S("\"\""), 1 },
		{ S(" \t\r\n{\"a\" : [1, 2.5, \"x\", null]}\n"), 1 },
		{ S("\"\\u00e9\\n\\/\""), 1 }, { S("\"\xc3\xa9\""), 1 },
		{ S("\"\xf0\x9f\x98\x80\""), 1 },
		{ S("{\"a\":{\"b\":{\"c\":[[[]]]}}}"), 1 },
		{ S(""), 0 }, { S("   "), 0 }, { S("{"), 0 }, { S("}"), 0 },
		{ S("[1 2]"), 0 }, { S("[1,]"), 0 }, { S("{\"a\":1,}"), 0 },
		{ S("{\"a\" 1}"), 0 }, { S("{a:1}"), 0 }, { S("{1:1}"), 0 },
		{ S("tru"), 0 }, { S("trueish"), 0 }, { S("nul"), 0 },
		{ S("01"), 0 }, { S("1."), 0 }, { S(".5"), 0 }, { S("+1"), 0 },
		{ S("-"), 0 }, { S("1e"), 0 }, { S("0x10"), 0 }, { S("NaN"), 0 },
		{ S("{} {}"), 0 }, { S("1 2"), 0 }, { S("'a'"), 0 },
		{ S("\"a"), 0 }, { S("\"\\x\""), 0 }, { S("\"\\u12\""), 0 },
		{ S("\"\\u12g4\""), 0 }, { S("\"a\tb\""), 0 },   /* raw tab */
		{ S("\"a\nb\""), 0 }, { S("\"\x01\""), 0 },
		{ S("\"\xc0\xaf\""), 0 },        /* overlong '/' */
		{ S("\"\xe0\x80\xaf\""), 0 },    /* overlong, 3 bytes */
		{ S("\"\xf0\x80\x80\xaf\""), 0 },/* overlong, 4 bytes */
		{ S("\"\xed\xa0\x80\""), 0 },    /* encoded surrogate */
		{ S("\"\xf4\x90\x80\x80\""), 0 },/* past U+10FFFF */
		{ S("\"\xff\""), 0 }, { S("\"\x80\""), 0 }, { S("\"\xc3\""), 0 },
		{ S("{\"a\":1}\0"), 0 },         /* NUL after the value */
		{ S("[\"a\0b\"]"), 0 },
		{ S("\xef\xbb\xbf{}"), 0 },      /* BOM is not JSON */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T_CHECKF(kin_json_is_value(cases[i].s, cases[i].n) ==
		    cases[i].ok, "case %zu '%.*s'", i, (int)cases[i].n,
		    cases[i].s);

	/* deep nesting is refused, not a stack overflow */
	{
		size_t n = 100000;
		char *deep = malloc(2 * n);
		memset(deep, '[', n);
		memset(deep + n, ']', n);
		T_CHECK(!kin_json_is_value(deep, 2 * n));
		T_CHECK(kin_json_is_value(deep + n - 500, 1000));
		free(deep);
	}
}

static void
test_utf8(void)
{
	static const struct { const char *s; size_t n; int ok; } cases[] = {
		{ S(""), 1 }, { S("plain ascii, longer than eight bytes"), 1 },
		{ S("\xc2\x80"), 1 }, { S("\xdf\xbf"), 1 },
		{ S("\xe0\xa0\x80"), 1 }, { S("\xef\xbf\xbf"), 1 },
		{ S("\xed\x9f\xbf"), 1 },              /* U+D7FF */
		{ S("\xee\x80\x80"), 1 },              /* U+E000 */
		{ S("\xf0\x90\x80\x80"), 1 }, { S("\xf4\x8f\xbf\xbf"), 1 },
		{ S("abcdefgh\xc3\xa9"), 1 },
		{ S("\0"), 1 },                        /* NUL is valid UTF-8 */
		{ S("\x80"), 0 }, { S("\xbf"), 0 }, { S("\xc0\x80"), 0 },
		{ S("\xc1\xbf"), 0 }, { S("\xc2"), 0 }, { S("\xc2\x41"), 0 },
		{ S("\xe0\x9f\xbf"), 0 }, { S("\xed\xa0\x80"), 0 },
		{ S("\xed\xbf\xbf"), 0 }, { S("\xe1\x80"), 0 },
		{ S("\xf0\x8f\xbf\xbf"), 0 }, { S("\xf4\x90\x80\x80"), 0 },
		{ S("\xf5\x80\x80\x80"), 0 }, { S("\xf8\x88\x80\x80\x80"), 0 },
		{ S("\xfe"), 0 }, { S("\xff"), 0 },
		{ S("abcdefghijklmnop\xff"), 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		T_CHECKF(kin_utf8_valid(cases[i].s, cases[i].n) == cases[i].ok,
		    "utf8 case %zu", i);
}

static void
test_lookup(void)
{
	struct kin_json j;
	const char *js = "{\"Records\":[{\"Data\":\"aGk=\",\"SequenceNumber\":"
	    "\"4962\",\"ApproximateArrivalTimestamp\":1.7000000001E9,"
	    "\"Nested\":{\"x\":[1,[2,3],{\"y\":null}]}},{\"Data\":\"\"}],"
	    "\"NextShardIterator\":\"AAA\",\"MillisBehindLatest\":0,"
	    "\"ok\":true,\"no\":false,\"neg\":-9223372036854775808,"
	    "\"big\":9223372036854775808,\"frac\":1.5,\"e\":\"\\\"q\"}";
	int recs, r0, r1, t, nest, x;
	size_t n;
	const char *raw;
	double d;
	int64_t i64;
	int b;
	char *s;

	kin_json_init(&j, 1000);
	T_CHECKF(kin_json_parse(&j, js, strlen(js), err) == 0, "%s", err);
	T_CHECK(j.tok[0].type == JSMN_OBJECT);
	recs = kin_json_get(&j, 0, "Records");
	T_CHECK(recs > 0 && j.tok[recs].type == JSMN_ARRAY &&
	    j.tok[recs].size == 2);
	r0 = kin_json_at(&j, recs, 0);
	r1 = kin_json_at(&j, recs, 1);
	T_CHECK(kin_json_at(&j, recs, 2) == -1);
	T_CHECK(kin_json_at(&j, recs, -1) == -1);
	T_CHECK(r1 == kin_json_skip(&j, r0));
	s = kin_json_strdup(&j, kin_json_get(&j, r0, "Data"), err);
	T_STREQ(s, "aGk=");
	free(s);
	s = kin_json_strdup(&j, kin_json_get(&j, r1, "Data"), err);
	T_STREQ(s, "");
	free(s);
	t = kin_json_get(&j, r0, "ApproximateArrivalTimestamp");
	T_CHECK(kin_json_num(&j, t, &d, err) == 0 && d == 1700000000.1);
	T_CHECK(kin_json_int64(&j, t, &i64, err) == -1);
	/* a key that is inside a nested object is not found at the top */
	T_CHECK(kin_json_get(&j, 0, "Data") == -1);
	T_CHECK(kin_json_get(&j, 0, "x") == -1);
	T_CHECK(kin_json_get(&j, recs, "Data") == -1);   /* not an object */
	nest = kin_json_get(&j, r0, "Nested");
	x = kin_json_get(&j, nest, "x");
	T_CHECK(j.tok[kin_json_at(&j, x, 1)].type == JSMN_ARRAY);
	T_CHECK(kin_json_get(&j, kin_json_at(&j, x, 2), "y") > 0);
	raw = kin_json_raw(&j, kin_json_get(&j, kin_json_at(&j, x, 2), "y"),
	    &n);
	T_CHECK(n == 4 && memcmp(raw, "null", 4) == 0);
	/* lookups after a nested value still find later keys */
	s = kin_json_strdup(&j, kin_json_get(&j, 0, "NextShardIterator"), err);
	T_STREQ(s, "AAA");
	free(s);
	T_CHECK(kin_json_int64(&j, kin_json_get(&j, 0, "MillisBehindLatest"),
	    &i64, err) == 0 && i64 == 0);
	T_CHECK(kin_json_int64(&j, kin_json_get(&j, 0, "neg"), &i64, err) ==
	    0 && i64 == INT64_MIN);
	T_CHECK(kin_json_int64(&j, kin_json_get(&j, 0, "big"), &i64, err) ==
	    -1);
	T_CHECKF(strstr(err, "out of range") != NULL, "%s", err);
	T_CHECK(kin_json_int64(&j, kin_json_get(&j, 0, "frac"), &i64, err) ==
	    -1);
	T_CHECK(kin_json_bool(&j, kin_json_get(&j, 0, "ok"), &b, err) == 0 &&
	    b == 1);
	T_CHECK(kin_json_bool(&j, kin_json_get(&j, 0, "no"), &b, err) == 0 &&
	    b == 0);
	T_CHECK(kin_json_bool(&j, kin_json_get(&j, 0, "frac"), &b, err) == -1);
	T_CHECK(kin_json_num(&j, kin_json_get(&j, 0, "ok"), &d, err) == -1);
	T_CHECK(kin_json_num(&j, kin_json_get(&j, 0, "e"), &d, err) == -1);
	T_CHECK(kin_json_eq(&j, kin_json_get(&j, 0, "NextShardIterator"),
	    "AAA"));
	T_CHECK(!kin_json_eq(&j, kin_json_get(&j, 0, "NextShardIterator"),
	    "AA"));
	s = kin_json_strdup(&j, kin_json_get(&j, 0, "e"), err);
	T_STREQ(s, "\"q");
	free(s);
	/* out-of-range indexes are harmless */
	T_CHECK(kin_json_get(&j, -1, "a") == -1);
	T_CHECK(kin_json_get(&j, 9999, "a") == -1);
	T_CHECK(kin_json_raw(&j, 9999, &n) == NULL && n == 0);
	T_CHECK(kin_json_strdup(&j, 9999, err) == NULL);

	/* a bare value at the top, including jsmn-strict's awkward case of a
	 * primitive with nothing after it */
	T_CHECK(kin_json_parse(&j, S("  42 "), err) == 0 && j.ntok == 1);
	T_CHECK(kin_json_int64(&j, 0, &i64, err) == 0 && i64 == 42);
	T_CHECK(kin_json_parse(&j, S("-1.25e2"), err) == 0);
	T_CHECK(kin_json_num(&j, 0, &d, err) == 0 && d == -125);
	T_CHECK(kin_json_parse(&j, S("true"), err) == 0 &&
	    kin_json_bool(&j, 0, &b, err) == 0 && b == 1);
	T_CHECK(kin_json_parse(&j, S("\"s\""), err) == 0 &&
	    kin_json_eq(&j, 0, "s"));
	/* a long number goes through the heap path */
	{
		char longnum[200];
		memset(longnum, '0', sizeof longnum);
		longnum[0] = '1';
		longnum[1] = '.';
		T_CHECK(kin_json_parse(&j, longnum, sizeof longnum, err) == 0);
		T_CHECK(kin_json_num(&j, 0, &d, err) == 0 && d == 1.0);
	}
	T_CHECK(kin_json_parse(&j, S("1e400"), err) == 0);
	T_CHECK(kin_json_num(&j, 0, &d, err) == -1);

	/* invalid texts: one error each, with a position */
	T_CHECK(kin_json_parse(&j, S("{\"a\":1,}"), err) == -1);
	T_STREQ(err, "json: invalid at byte 7");
	T_CHECK(kin_json_parse(&j, S("{\"a\":"), err) == -1);
	T_STREQ(err, "json: invalid: ends too soon");
	T_CHECK(kin_json_parse(&j, S(""), err) == -1);
	T_CHECK(kin_json_parse(&j, S("[1 2]"), err) == -1);
	T_CHECK(j.ntok == 0);
	kin_json_release(&j);
}

static void
test_ceiling(void)
{
	struct kin_json j;
	char big[4096];
	size_t n = 0;

	/* 1 array + 1000 numbers = 1001 tokens */
	big[n++] = '[';
	for (int i = 0; i < 1000; i++) {
		big[n++] = (char)('0' + i % 10);
		big[n++] = ',';
	}
	big[n - 1] = ']';

	kin_json_init(&j, 1001);
	T_CHECKF(kin_json_parse(&j, big, n, err) == 0, "%s", err);
	T_CHECK(j.ntok == 1001 && j.cap == 1001);
	T_CHECK(j.tok[0].size == 1000);
	T_CHECK(kin_json_at(&j, 0, 999) == 1000);
	kin_json_release(&j);

	kin_json_init(&j, 1000);
	T_CHECK(kin_json_parse(&j, big, n, err) == -1);
	T_STREQ(err, "json: more than 1000 tokens");
	T_CHECK(j.cap == 1000);
	/* the same struct still parses what fits */
	T_CHECK(kin_json_parse(&j, S("{\"a\":[1,2]}"), err) == 0 &&
	    j.ntok == 5);
	kin_json_release(&j);

	kin_json_init(&j, 3);
	T_CHECK(kin_json_parse(&j, S("{\"a\":1}"), err) == 0 && j.ntok == 3);
	T_CHECK(kin_json_parse(&j, S("{\"a\":[1]}"), err) == -1);
	kin_json_release(&j);
}

static void
test_unescape(void)
{
	static const struct { const char *in; size_t n; const char *out;
	    size_t on; } good[] = {
		{ S("plain"), S("plain") },
		{ S(""), S("") },
		{ S("a\\\"b\\\\c\\/d"), S("a\"b\\c/d") },
		{ S("\\b\\f\\n\\r\\t"), S("\b\f\n\r\t") },
		{ S("\\u0041\\u00e9\\u20AC"), S("A\xc3\xa9\xe2\x82\xac") },
		{ S("\\u0000"), S("\0") },
		{ S("\\ud83d\\ude00"), S("\xf0\x9f\x98\x80") },
		{ S("\\uD83D\\uDE00x"), S("\xf0\x9f\x98\x80x") },
		{ S("\\udbff\\udfff"), S("\xf4\x8f\xbf\xbf") },
		{ S("\\ud800\\udc00"), S("\xf0\x90\x80\x80") },
		{ S("\xc3\xa9t\xc3\xa9"), S("\xc3\xa9t\xc3\xa9") },
	};
	static const struct { const char *in; size_t n; const char *why; } bad[] = {
		{ S("\\ud83d"), "lone high surrogate" },
		{ S("\\ud83dx"), "lone high surrogate" },
		{ S("\\ud83d\\u0041"), "lone high surrogate" },
		{ S("\\ud83d\\ud83d"), "lone high surrogate" },
		{ S("\\ude00"), "lone low surrogate" },
		{ S("\\ude00\\ud83d"), "lone low surrogate" },
		{ S("\\u12"), "bad \\u escape" },
		{ S("\\u12xy"), "bad \\u escape" },
		{ S("\\x41"), "bad escape" },
		{ S("\\"), "ends in" },
		{ S("\xc0\xaf"), "not valid UTF-8" },
		{ S("\xed\xa0\x80"), "not valid UTF-8" },
		{ S("ok\xff"), "not valid UTF-8" },
		{ S("a\nb"), "control character" },
	};
	struct kin_buf b;

	kin_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		kin_buf_reset(&b);
		int rc = kin_json_unescape(good[i].in, good[i].n, &b, err);
		T_CHECKF(rc == 0 && b.len == good[i].on &&
		    memcmp(b.p ? b.p : "", good[i].out, good[i].on) == 0,
		    "unescape '%s' rc %d len %zu", good[i].in, rc, b.len);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		kin_buf_reset(&b);
		err[0] = '\0';
		int rc = kin_json_unescape(bad[i].in, bad[i].n, &b, err);
		T_CHECKF(rc == -1 && strstr(err, bad[i].why) != NULL,
		    "unescape '%s' rc %d err '%s'", bad[i].in, rc, err);
	}
	/* the output ceiling holds */
	kin_buf_release(&b);
	kin_buf_init(&b, 3);
	T_CHECK(kin_json_unescape(S("abcd"), &b, err) == -1);
	kin_buf_release(&b);

	/* strdup refuses a NUL in the middle; str keeps it */
	{
		struct kin_json j;
		char *s;

		kin_json_init(&j, 10);
		T_CHECK(kin_json_parse(&j, S("[\"a\\u0000b\"]"), err) == 0);
		s = kin_json_strdup(&j, 1, err);
		T_CHECK(s == NULL);
		T_CHECKF(strstr(err, "NUL") != NULL, "%s", err);
		kin_buf_init(&b, 100);
		T_CHECK(kin_json_str(&j, 1, &b, err) == 0 && b.len == 3 &&
		    memcmp(b.p, "a\0b", 3) == 0);
		T_CHECK(kin_json_str(&j, 0, &b, err) == -1);  /* array */
		kin_buf_release(&b);
		kin_json_release(&j);
	}
}

static void
test_put_str(void)
{
	static const struct { const char *in; size_t n; const char *out; }
	cases[] = {
		{ S(""), "\"\"" },
		{ S("plain"), "\"plain\"" },
		{ S("q\"b\\s/"), "\"q\\\"b\\\\s/\"" },
		{ S("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"" },
		{ S("\x01\x1f\0"), "\"\\u0001\\u001f\\u0000\"" },
		{ S("\x7f"), "\"\x7f\"" },
		{ S("\xc3\xa9\xf0\x9f\x98\x80"), "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
		{ S("a\xffz"), "\"a\\ufffdz\"" },
		{ S("\xc0\xaf"), "\"\\ufffd\\ufffd\"" },
		{ S("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"" },
		{ S("\xe2\x82"), "\"\\ufffd\\ufffd\"" },
		{ S("\x1e{\"kin\":1}"), "\"\\u001e{\\\"kin\\\":1}\"" },
	};
	struct kin_buf b;

	kin_buf_init(&b, 1 << 16);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kin_buf_reset(&b);
		T_CHECK(kin_json_put_str(&b, cases[i].in, cases[i].n, err) == 0);
		T_STREQ(b.p, cases[i].out);
		/* whatever went in, what comes out is valid JSON */
		T_CHECK(kin_json_is_value(b.p, b.len));
	}
	/* every byte value survives a write/read round trip when valid */
	{
		struct kin_json j;
		struct kin_buf back;
		char all[128];

		for (int c = 0; c < 128; c++)
			all[c] = (char)c;
		kin_buf_reset(&b);
		T_CHECK(kin_json_put_str(&b, all, sizeof all, err) == 0);
		kin_json_init(&j, 4);
		T_CHECKF(kin_json_parse(&j, b.p, b.len, err) == 0, "%s", err);
		kin_buf_init(&back, 1024);
		T_CHECK(kin_json_str(&j, 0, &back, err) == 0 &&
		    back.len == sizeof all &&
		    memcmp(back.p, all, sizeof all) == 0);
		kin_buf_release(&back);
		kin_json_release(&j);
	}
	kin_buf_release(&b);
	kin_buf_init(&b, 4);
	T_CHECK(kin_json_put_str(&b, S("toolong"), err) == -1);
	kin_buf_release(&b);
}

static void
test_put_num(void)
{
	static const struct { double v; const char *out; } cases[] = {
		{ 0, "0" }, { -0.0, "-0" }, { 1, "1" }, { -1.5, "-1.5" },
		{ 0.1, "0.1" }, { 1.0 / 3, "0.3333333333333333" },
		{ 2.0 / 3, "0.6666666666666666" }, { 0.3, "0.3" },
		{ 0.1 + 0.2, "0.30000000000000004" }, { 100, "100" },
		{ 1e21, "1e+21" }, { 1e-7, "1e-07" },
		{ 1700000000.123, "1700000000.123" },
		{ 9007199254740993.0, "9007199254740992" },
		{ 5e-324, "4.94065645841247e-324" },  /* reads back as 5e-324 */
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ NAN, "null" }, { INFINITY, "null" }, { -INFINITY, "null" },
	};
	struct kin_buf b;

	kin_buf_init(&b, 1 << 16);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		kin_buf_reset(&b);
		T_CHECK(kin_json_put_num(&b, cases[i].v, err) == 0);
		T_STREQ(b.p, cases[i].out);
		T_CHECK(kin_json_is_value(b.p, b.len));
	}
	/* round trip of many doubles */
	{
		uint64_t x = 0x9E3779B97F4A7C15ULL;
		int ok = 1;
		for (int i = 0; i < 20000; i++) {
			double v, back;
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(&v, &x, sizeof v);
			if (!isfinite(v))
				continue;
			kin_buf_reset(&b);
			kin_json_put_num(&b, v, err);
			back = strtod(b.p, NULL);
			if (memcmp(&back, &v, sizeof v) != 0 ||
			    !kin_json_is_value(b.p, b.len))
				ok = 0;
		}
		T_CHECK(ok);
	}
	kin_buf_release(&b);
}

int
main(void)
{
	test_is_value();
	test_utf8();
	test_lookup();
	test_ceiling();
	test_unescape();
	test_put_str();
	test_put_num();
	T_DONE();
}
