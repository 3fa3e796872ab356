/* test_eventstream.c — the event-stream decoder against frames built here
 * from the format description (not with the decoder's own code), fed whole,
 * split at every byte, and corrupted; plus a frame captured from
 * kinesis-mock's SubscribeToShard.
 *
 * Format (AWS "Event stream encoding"): total length u32 BE, headers length
 * u32 BE, CRC-32 of those 8 bytes; headers (name length u8, name, type u8,
 * value: 0 true and 1 false carry none, 2 byte 1, 3 short 2, 4 int 4,
 * 5 long 8, 6 bytes and 7 string u16 BE length + bytes, 8 timestamp 8,
 * 9 uuid 16); payload; CRC-32 of everything before it. */
#include "t.h"
#include "err.h"
#include "eventstream.h"
#include "es_build.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char uuid[16] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
};

/* One header of every type, values at the edges of their ranges. */
static void
all_types(struct frame *f, const char *payload)
{
	memset(f, 0, sizeof *f);
	h_name(f, "t", 0);
	h_name(f, "f", 1);
	h_int(f, "byte", 2, -128, 1);
	h_int(f, "short", 3, -2, 2);
	h_int(f, "int", 4, 2147483647, 4);
	h_int(f, "long", 5, INT64_MIN, 8);
	h_blob(f, "bytes", 6, "\0\1\2\377", 4);
	h_blob(f, ":event-type", 7, "SubscribeToShardEvent", 21);
	h_int(f, "ts", 8, 1700000000123LL, 8);
	h_blob(f, "id", 9, uuid, 16);
	seal(f, payload, strlen(payload));
}

static void
check_all_types(const struct kin_es_msg *m, const char *payload)
{
	const struct kin_es_header *h;
	char s[64];

	T_CHECK(m->nh == 10);
	T_CHECK((h = kin_es_find(m, "t")) && h->type == KIN_ES_TRUE && h->num == 1);
	T_CHECK((h = kin_es_find(m, "f")) && h->type == KIN_ES_FALSE && h->num == 0);
	T_CHECK((h = kin_es_find(m, "byte")) && h->type == KIN_ES_BYTE &&
	    h->num == -128);
	T_CHECK((h = kin_es_find(m, "short")) && h->type == KIN_ES_SHORT &&
	    h->num == -2);
	T_CHECK((h = kin_es_find(m, "int")) && h->type == KIN_ES_INT &&
	    h->num == 2147483647);
	T_CHECK((h = kin_es_find(m, "long")) && h->type == KIN_ES_LONG &&
	    h->num == INT64_MIN);
	T_CHECK((h = kin_es_find(m, "bytes")) && h->type == KIN_ES_BYTES &&
	    h->len == 4 && memcmp(h->val, "\0\1\2\377", 4) == 0);
	T_CHECK((h = kin_es_find(m, "ts")) && h->type == KIN_ES_TIMESTAMP &&
	    h->num == 1700000000123LL);
	T_CHECK((h = kin_es_find(m, "id")) && h->type == KIN_ES_UUID &&
	    h->len == 16 && memcmp(h->val, uuid, 16) == 0);
	T_CHECK(kin_es_is(m, ":event-type", "SubscribeToShardEvent"));
	T_CHECK(!kin_es_is(m, ":event-type", "SubscribeToShard"));
	T_CHECK(!kin_es_is(m, "int", "x"));
	T_STREQ(kin_es_str(m, ":event-type", s, sizeof s),
	    "SubscribeToShardEvent");
	T_STREQ(kin_es_str(m, ":event-type", s, 10), "Subscribe");
	T_STREQ(kin_es_str(m, "missing", s, sizeof s), "");
	T_CHECK(kin_es_find(m, "missing") == NULL);
	T_CHECK(m->len == strlen(payload) &&
	    memcmp(m->payload, payload, m->len) == 0);
}

static void
test_crc(void)
{
	T_CHECK(kin_crc32(0, "", 0) == 0);
	T_CHECK(kin_crc32(0, "123456789", 9) == 0xCBF43926u);
	/* continued over two pieces = over the whole */
	T_CHECK(kin_crc32(kin_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u);
	T_CHECK(crc_bitwise((const unsigned char *)"123456789", 9) ==
	    0xCBF43926u);
}

static void
test_whole(void)
{
	struct frame f;
	struct kin_es d;
	struct kin_es_msg m;
	char err[KIN_ERRLEN];

	all_types(&f, "{\"Records\":[]}");
	kin_es_init(&d, 0);
	T_CHECK(kin_es_next(&d, &m, err) == 0);
	T_CHECK(kin_es_feed(&d, f.b, f.n, err) == 0);
	T_CHECK(kin_es_next(&d, &m, err) == 1);
	check_all_types(&m, "{\"Records\":[]}");
	T_CHECK(m.total == f.n);
	T_CHECK(kin_es_next(&d, &m, err) == 0);
	T_CHECK(kin_es_pending(&d) == 0);

	/* the smallest message: no headers, no payload */
	memset(&f, 0, sizeof f);
	seal(&f, "", 0);
	T_CHECK(f.n == 16);
	T_CHECK(kin_es_feed(&d, f.b, f.n, err) == 0);
	T_CHECK(kin_es_next(&d, &m, err) == 1 && m.nh == 0 && m.len == 0);
	kin_es_release(&d);
}

/* Two messages back to back, cut at every pair of points (three pieces),
 * and fed one byte at a time: always the same two messages. */
static void
test_splits(void)
{
	struct frame a, b;
	unsigned char both[8192];
	size_t n, ok = 0, tries = 0;
	char err[KIN_ERRLEN];

	all_types(&a, "first payload");
	memset(&b, 0, sizeof b);
	h_blob(&b, ":message-type", 7, "event", 5);
	seal(&b, "{\"ContinuationSequenceNumber\":\"1\"}", 34);
	memcpy(both, a.b, a.n);
	memcpy(both + a.n, b.b, b.n);
	n = a.n + b.n;
	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i; j <= n; j += (j < a.n + 20 ? 1 : 7)) {
			struct kin_es d;
			struct kin_es_msg m;
			size_t cut[4] = { 0, i, j, n };
			int got = 0, bad = 0;

			kin_es_init(&d, 4096);
			for (int k = 0; k < 3 && !bad; k++) {
				if (kin_es_feed(&d, both + cut[k],
				    cut[k + 1] - cut[k], err) < 0)
					bad = 1;
				int r = 0;
				while (!bad && (r = kin_es_next(&d, &m, err)) == 1) {
					if (got == 0)
						check_all_types(&m, "first payload");
					else if (!kin_es_is(&m, ":message-type",
					    "event") || m.len != 34)
						bad = 1;
					got++;
				}
				if (r < 0)
					bad = 1;
				/* a message appears exactly when its last
				 * byte has been fed */
				size_t fed = cut[k + 1];
				int want = (fed >= a.n) + (fed >= n);
				if (got != want)
					bad = 1;
			}
			tries++;
			ok += !bad && got == 2 && kin_es_pending(&d) == 0;
			kin_es_release(&d);
		}
	}
	T_CHECKF(ok == tries, "%zu of %zu splits decoded both messages", ok,
	    tries);

	/* one byte at a time */
	{
		struct kin_es d;
		struct kin_es_msg m;
		int got = 0;

		kin_es_init(&d, 0);
		for (size_t i = 0; i < n; i++) {
			T_CHECK(kin_es_feed(&d, both + i, 1, err) == 0);
			while (kin_es_next(&d, &m, err) == 1)
				got++;
		}
		T_CHECK(got == 2);
		kin_es_release(&d);
	}
}

/* Feed f, expect -1 with an error containing want, and stay broken. */
static void
expect_reject(const unsigned char *p, size_t n, size_t max, const char *want)
{
	struct kin_es d;
	struct kin_es_msg m;
	char err[KIN_ERRLEN] = "";
	int r;

	kin_es_init(&d, max);
	T_CHECK(kin_es_feed(&d, p, n, err) == 0);
	r = kin_es_next(&d, &m, err);
	T_CHECKF(r == -1 && strstr(err, want) != NULL, "r=%d err='%s' want "
	    "'%s'", r, err, want);
	/* broken for good: the stream cannot be resynchronised */
	r = kin_es_next(&d, &m, err);
	T_CHECK(r == -1 && strstr(err, want) != NULL);
	T_CHECK(kin_es_feed(&d, p, n, err) == -1);
	kin_es_release(&d);
}

static void
test_corrupt(void)
{
	struct frame f, g;

	all_types(&f, "payload");
	/* every bit of the prelude's first 8 bytes: the prelude CRC catches
	 * it, before any length is believed */
	for (size_t i = 0; i < 64; i++) {
		g = f;
		g.b[i / 8] ^= (unsigned char)(1u << (i % 8));
		expect_reject(g.b, g.n, 0, "prelude CRC");
	}
	/* and a wrong prelude CRC itself, with only the prelude in */
	g = f;
	g.b[9] ^= 0x40;
	expect_reject(g.b, 12, 0, "prelude CRC");
	/* every byte after the prelude: the message CRC catches it */
	for (size_t i = 12; i < f.n; i++) {
		g = f;
		g.b[i] ^= 0x01;
		expect_reject(g.b, g.n, 0, "message CRC");
	}
}

/* A prelude with correct CRC but lengths that cannot be. */
static void
bad_prelude(uint32_t total, uint32_t hlen, size_t max, const char *want)
{
	unsigned char p[12];

	put_be(p, total, 4);
	put_be(p + 4, hlen, 4);
	put_be(p + 8, crc_bitwise(p, 8), 4);
	expect_reject(p, 12, max, want);
}

static void
test_lengths(void)
{
	struct frame f;

	bad_prelude(15, 0, 0, "below the minimum of 16");
	bad_prelude(0, 0, 0, "below the minimum");
	bad_prelude(0xffffffffu, 0, 0, "over the ceiling");
	bad_prelude(4097, 0, 4096, "over the ceiling of 4096");
	bad_prelude(100, 85, 0, "headers length 85 does not fit");
	bad_prelude(1u << 20, 200000, 0, "headers length 200000");

	/* a message just under the ceiling passes, one over it does not */
	memset(&f, 0, sizeof f);
	seal(&f, "0123456789", 10);
	{
		struct kin_es d;
		struct kin_es_msg m;
		char err[KIN_ERRLEN];
		kin_es_init(&d, 26);
		T_CHECK(kin_es_feed(&d, f.b, f.n, err) == 0);
		T_CHECK(kin_es_next(&d, &m, err) == 1 && m.len == 10);
		kin_es_release(&d);
	}
	expect_reject(f.b, f.n, 25, "total length 26 is over the ceiling");

	/* headers that lie about themselves, under valid CRCs */
	memset(&f, 0, sizeof f);
	h_name(&f, "s", 7);
	put_be(f.hdr + f.hn, 50, 2);  /* 50 bytes said, 3 there */
	f.hn += 2;
	memcpy(f.hdr + f.hn, "abc", 3);
	f.hn += 3;
	seal(&f, "", 0);
	expect_reject(f.b, f.n, 0, "header 's' runs past the headers");

	memset(&f, 0, sizeof f);
	h_int(&f, "x", 10, 0, 1);
	seal(&f, "", 0);
	expect_reject(f.b, f.n, 0, "header 'x' has unknown type 10");

	memset(&f, 0, sizeof f);
	f.hdr[f.hn++] = 0;
	f.hdr[f.hn++] = 0;
	seal(&f, "", 0);
	expect_reject(f.b, f.n, 0, "empty name");

	memset(&f, 0, sizeof f);
	f.hdr[f.hn++] = 9;     /* a name of 9 bytes, 2 there */
	f.hdr[f.hn++] = 'a';
	f.hdr[f.hn++] = 'b';
	seal(&f, "", 0);
	expect_reject(f.b, f.n, 0, "header 0 runs past the headers");

	memset(&f, 0, sizeof f);
	h_name(&f, "l", 5);    /* a long with 4 of its 8 bytes */
	memset(f.hdr + f.hn, 0, 4);
	f.hn += 4;
	seal(&f, "", 0);
	expect_reject(f.b, f.n, 0, "header 'l' runs past");
}

/* The first frame kinesis-mock 0.6.2 sent for SubscribeToShard (one
 * record "hello"), captured over HTTP/2 with curl. */
static const char captured_hex[] =
	"000001b10000005b7f60a5140d3a6d6573736167652d74797065070005657665"
	"6e740b3a6576656e742d74797065070015537562736372696265546f53686172"
	"644576656e740d3a636f6e74656e742d747970650700106170706c6963617469"
	"6f6e2f6a736f6e7b225265636f726473223a5b7b22417070726f78696d617465"
	"4172726976616c54696d657374616d70223a313739353633333537352e30332c"
	"2244617461223a22614756736247383d222c22456e6372797074696f6e547970"
	"65223a224e4f4e45222c22506172746974696f6e4b6579223a2261222c225365"
	"7175656e63654e756d626572223a223439363830353630373735383534303333"
	"3733393139353435313136323639313132323838313334393136303834323534"
	"39303032323432227d5d2c22436f6e74696e756174696f6e53657175656e6365"
	"4e756d626572223a223439363830353630373735383534303333373339313935"
	"3435313136323639313132323838313334393136303834323534393030323234"
	"32222c224d696c6c6973426568696e644c6174657374223a302c224368696c64"
	"536861726473223a6e756c6c7d7a687e7e";

static size_t
unhex(const char *s, unsigned char *out)
{
	size_t n = 0;

	for (; s[0] && s[1]; s += 2) {
		char b[3] = { s[0], s[1], 0 };
		out[n++] = (unsigned char)strtoul(b, NULL, 16);
	}
	return n;
}

static void
test_captured(void)
{
	unsigned char b[512], c[512];
	size_t n = unhex(captured_hex, b);
	struct kin_es d;
	struct kin_es_msg m;
	char err[KIN_ERRLEN], s[64];

	T_CHECK(n == 0x1b1);
	kin_es_init(&d, 0);
	T_CHECK(kin_es_feed(&d, b, n, err) == 0);
	T_CHECK(kin_es_next(&d, &m, err) == 1);
	T_STREQ(kin_es_str(&m, ":message-type", s, sizeof s), "event");
	T_STREQ(kin_es_str(&m, ":event-type", s, sizeof s),
	    "SubscribeToShardEvent");
	T_STREQ(kin_es_str(&m, ":content-type", s, sizeof s),
	    "application/json");
	T_CHECK(m.len > 12 && memcmp(m.payload, "{\"Records\":[", 12) == 0);
	T_CHECK(m.payload[m.len - 1] == '}');
	kin_es_release(&d);

	memcpy(c, b, n);
	c[9] ^= 0xff;                  /* the prelude CRC */
	expect_reject(c, n, 0, "prelude CRC");
	memcpy(c, b, n);
	c[n - 1] ^= 0x01;              /* the message CRC */
	expect_reject(c, n, 0, "message CRC 0x7a687e7e does not match "
	    "0x7a687e7f");
	memcpy(c, b, n);
	c[200] ^= 0x20;                /* one bit of the payload */
	expect_reject(c, n, 0, "message 1: message CRC");
}

int
main(void)
{
	test_crc();
	test_whole();
	test_splits();
	test_corrupt();
	test_lengths();
	test_captured();
	T_DONE();
}
