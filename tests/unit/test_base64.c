/* test_base64.c — RFC 4648 section 10 vectors, round trips of every
 * length, and the inputs a strict decoder must refuse. */
#include "t.h"
#include "base64.h"
#include "err.h"

#include <stdint.h>
#include <string.h>

static char err[KIN_ERRLEN];

static void
test_vectors(void)
{
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "\xfb\xff\xbf", "+/+/" },     /* the last two alphabet chars */
	};
	struct kin_buf b;

	kin_buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		size_t n = strlen(v[i].plain);

		kin_buf_reset(&b);
		T_CHECK(kin_b64_enclen(n) == strlen(v[i].enc));
		T_CHECK(kin_b64_encode(&b, v[i].plain, n, err) == 0);
		T_STREQ(b.p ? b.p : "", v[i].enc);
		kin_buf_reset(&b);
		T_CHECK(kin_b64_decode(&b, v[i].enc, strlen(v[i].enc), err) ==
		    0);
		T_CHECK(b.len == n && memcmp(b.p ? b.p : "", v[i].plain, n) ==
		    0);
	}
	/* appends, never overwrites */
	kin_buf_reset(&b);
	kin_buf_adds(&b, "x:", err);
	T_CHECK(kin_b64_encode(&b, "foo", 3, err) == 0);
	T_CHECK(kin_b64_decode(&b, "YmFy", 4, err) == 0);
	T_STREQ(b.p, "x:Zm9vbar");
	kin_buf_release(&b);
}

static void
test_roundtrip(void)
{
	unsigned char in[600];
	struct kin_buf e, d;
	uint32_t x = 12345;
	int ok = 1;

	for (size_t i = 0; i < sizeof in; i++) {
		x = x * 1103515245 + 12345;
		in[i] = (unsigned char)(x >> 16);
	}
	kin_buf_init(&e, 4096);
	kin_buf_init(&d, 4096);
	for (size_t n = 0; n <= sizeof in; n++) {
		kin_buf_reset(&e);
		kin_buf_reset(&d);
		if (kin_b64_encode(&e, in, n, err) < 0 ||
		    e.len != kin_b64_enclen(n) ||
		    kin_b64_decode(&d, e.p ? e.p : "", e.len, err) < 0 ||
		    d.len != n || (n > 0 && memcmp(d.p, in, n) != 0))
			ok = 0;
	}
	T_CHECK(ok);
	kin_buf_release(&e);
	kin_buf_release(&d);
}

static void
test_bad(void)
{
	static const struct { const char *s; const char *why; } bad[] = {
		{ "Zg", "multiple of 4" }, { "Zg=", "multiple of 4" },
		{ "Zm9vY", "multiple of 4" }, { "Z", "multiple of 4" },
		{ "Zg===", "multiple of 4" },
		{ "Z===", "misplaced '='" }, { "====", "misplaced '='" },
		{ "Zg=a", "misplaced '='" }, { "Zg==Zm9v", "misplaced '='" },
		{ "Zm8=Zm9v", "misplaced '='" }, { "=Zm9", "misplaced '='" },
		{ "Zm9v\n", "multiple of 4" }, { "Zm9 ", "invalid character" },
		{ "Zm-v", "invalid character" }, { "Zm_v", "invalid character" },
		{ "Zm9\x80", "invalid character" }, { "Zm.v", "invalid character" },
		{ "Zm9vYm\0y", "invalid character" },
	};
	struct kin_buf b;

	kin_buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = strlen(bad[i].s);

		if (strcmp(bad[i].s, "Zm9vYm") == 0)
			n = 8;            /* the case with an embedded NUL */
		kin_buf_reset(&b);
		kin_buf_adds(&b, "keep", err);
		err[0] = '\0';
		T_CHECKF(kin_b64_decode(&b, bad[i].s, n, err) == -1 &&
		    strstr(err, bad[i].why) != NULL, "'%s': %s", bad[i].s, err);
		/* the buffer is as it was */
		T_CHECK(b.len == 4 && strcmp(b.p, "keep") == 0);
	}
	kin_b64_decode(&b, "Zm9v!m9v", 8, err);
	T_STREQ(err, "base64: invalid character at offset 4");
	/* non-zero unused bits are accepted (RFC 4648 3.5 lets decoders) */
	kin_buf_reset(&b);
	T_CHECK(kin_b64_decode(&b, "Zh==", 4, err) == 0 && b.len == 1 &&
	    b.p[0] == 'f');
	/* the ceiling holds for both directions */
	kin_buf_release(&b);
	kin_buf_init(&b, 3);
	T_CHECK(kin_b64_encode(&b, "foo", 3, err) == -1);
	T_CHECK(kin_b64_decode(&b, "Zm9vYmFy", 8, err) == -1);
	T_CHECK(kin_b64_decode(&b, "Zm9v", 4, err) == 0 && b.len == 3);
	kin_buf_release(&b);
}

int
main(void)
{
	test_vectors();
	test_roundtrip();
	test_bad();
	T_DONE();
}
