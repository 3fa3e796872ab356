/* fuzz_envelope.c — kin-write's -J envelope reader (kin-write/input.c,
 * DESIGN.md section 1) through its public door: input_next() on a pipe, as
 * kin-write reads stdin.  The input's lines are written to the pipe and each
 * item read back is checked against a generic reading of the same line with
 * common/json.c, written here from the design:
 *   - a line beginning with 0x1E is a control line, whatever follows;
 *   - otherwise the line is a record exactly when it is a JSON object with
 *     "data" (a string is the record's text, any other value its JSON text)
 *     or else "data_b64" (a base64 string); "key", when present, a string
 *     of 1 to 256 characters; "hash", when present, a decimal number or
 *     string from 0 to 2^128-1 of at most 39 digits;
 *   - the record then has that data, that key (or a random 16-hex-digit one
 *     with the key's MD5 as hash), the hash in canonical decimal as its
 *     explicit hash key, and the hash Kinesis will use.
 * Not compared (still read, under ASan/UBSan): lines with a member named
 * twice (RFC 8259 section 4 leaves them open) and lines whose top-level
 * member names or "hash" string hold an escape: the reader matches names
 * and hash text as written, a generic reader after unescaping (known,
 * reported; kin-read -J never escapes them). */
#include "fuzz.h"
#include "base64.h"
#include "buf.h"
#include "err.h"
#include "input.h"
#include "json.h"
#include "kinesis.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)

enum { R_REC, R_BAD, R_CONTROL, R_SKIP };

struct want {
	struct kin_buf data, key;
	int have_key, have_hash;
	kw_u128 hash;
};

static kw_u128
md5_u128(const char *s, size_t n)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	kw_u128 v = 0;

	FUZZ_CHECK(EVP_Digest(s, n, md, &len, EVP_md5(), NULL) == 1);
	for (unsigned int i = 0; i < 16; i++)
		v = v << 8 | md[i];
	return v;
}

static int
dec_u128(const char *s, size_t n, kw_u128 *out)
{
	kw_u128 v = 0;

	/* at most 39 digits, as kin-write reads a hash key (Kinesis'
	 * pattern allows no leading zeros, so no more are needed) */
	if (n == 0 || n > 39)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		/* v * 10 + d must stay below 2^128 */
		if (v > (~(kw_u128)0 - (kw_u128)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (kw_u128)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static long
chars(const char *s, size_t n)
{
	long c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* The generic reading of one line. */
static int
reference(const char *line, size_t len, struct want *w)
{
	static struct kin_json j;
	static int ready;
	char err[KIN_ERRLEN];
	int tdata = -1, tb64 = -1, tkey = -1, thash = -1, k;

	if (len > 0 && line[0] == 0x1E)
		return R_CONTROL;
	if (!ready) {
		kin_json_init(&j, 1 << 20);
		ready = 1;
	}
	kin_buf_reset(&w->data);
	kin_buf_reset(&w->key);
	w->have_key = w->have_hash = 0;
	if (kin_json_parse(&j, line, len, err) < 0)
		return strstr(err, "tokens") ? R_SKIP : R_BAD;
	if (j.tok[0].type != JSMN_OBJECT)
		return R_BAD;
	k = 1;
	for (int m = 0; m < j.tok[0].size; m++, k = kin_json_skip(&j, k + 1)) {
		size_t n;
		const char *name = kin_json_raw(&j, k, &n);
		int *slot = NULL;

		if (memchr(name, '\\', n))
			return R_SKIP;
		if (n == 4 && memcmp(name, "data", 4) == 0)
			slot = &tdata;
		else if (n == 8 && memcmp(name, "data_b64", 8) == 0)
			slot = &tb64;
		else if (n == 3 && memcmp(name, "key", 3) == 0)
			slot = &tkey;
		else if (n == 4 && memcmp(name, "hash", 4) == 0)
			slot = &thash;
		if (slot == NULL)
			continue;
		if (*slot >= 0)
			return R_SKIP;
		*slot = k + 1;
	}
	if (tdata >= 0) {
		if (j.tok[tdata].type == JSMN_STRING) {
			if (kin_json_str(&j, tdata, &w->data, err) < 0)
				return R_BAD;
		} else {
			size_t n;
			const char *s = kin_json_raw(&j, tdata, &n);
			FUZZ_CHECK(kin_buf_add(&w->data, s, n, err) == 0);
		}
	} else if (tb64 >= 0) {
		size_t n;
		const char *s = kin_json_raw(&j, tb64, &n);
		if (j.tok[tb64].type != JSMN_STRING ||
		    kin_b64_decode(&w->data, s, n, err) < 0)
			return R_BAD;
	} else {
		return R_BAD;
	}
	if (w->data.len >= KIN_MAX_RECORD)
		return R_BAD;
	if (tkey >= 0) {
		if (j.tok[tkey].type != JSMN_STRING ||
		    kin_json_str(&j, tkey, &w->key, err) < 0)
			return R_BAD;
		if (w->key.len == 0 || chars(w->key.p, w->key.len) > 256 ||
		    !kin_utf8_valid(w->key.p, w->key.len))
			return R_BAD;
		w->have_key = 1;
	}
	if (thash >= 0) {
		size_t n;
		const char *s = kin_json_raw(&j, thash, &n);
		if (j.tok[thash].type == JSMN_STRING && memchr(s, '\\', n))
			return R_SKIP;
		if ((j.tok[thash].type != JSMN_STRING &&
		    j.tok[thash].type != JSMN_PRIMITIVE) ||
		    dec_u128(s, n, &w->hash) < 0)
			return R_BAD;
		w->have_hash = 1;
	}
	if (w->data.len + (w->have_key ? w->key.len : 16) > KIN_MAX_RECORD)
		return R_BAD;
	return R_REC;
}

static void
compare(const struct urec *u, const struct want *w)
{
	FUZZ_CHECK(u->len == w->data.len &&
	    fuzz_same(u->data, w->data.p, w->data.len));
	FUZZ_CHECK(u->data[u->len] == '\0');
	if (w->have_key) {
		FUZZ_CHECK(u->keylen == w->key.len &&
		    fuzz_same(u->key, w->key.p, w->key.len));
	} else {
		FUZZ_CHECK(u->keylen == 16);
		for (size_t i = 0; i < 16; i++)
			FUZZ_CHECK(strchr("0123456789abcdef", u->key[i]) &&
			    u->key[i] != '\0');
	}
	if (w->have_hash) {
		char dec[48];
		kw_u128 v = w->hash;
		size_t i = sizeof dec - 1;

		dec[i] = '\0';
		do {
			dec[--i] = (char)('0' + (int)(v % 10));
			v /= 10;
		} while (v);
		FUZZ_CHECK(u->ehk != NULL && strcmp(u->ehk, dec + i) == 0);
		FUZZ_CHECK(u->hash == w->hash);
	} else {
		FUZZ_CHECK(u->ehk == NULL);
		FUZZ_CHECK(u->hash == md5_u128(u->key, u->keylen));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input in;
	static struct input_opts o = { .envelope = 1, .delim = '\n' };
	static struct want w;
	static int wfd = -1;
	char err[KIN_ERRLEN];
	const char *p = (const char *)data, *end = p + size;
	struct in_item it;
	enum in_rc rc;

	if (wfd < 0) {
		int fds[2];

		/* kin-write reads its stdin: the pipe becomes ours */
		FUZZ_CHECK(pipe(fds) == 0);
		(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
		FUZZ_CHECK(dup2(fds[0], 0) == 0);
		close(fds[0]);
		wfd = fds[1];
		FUZZ_CHECK(input_init(&in, &o, NULL, 0, err) == 0);
		kin_buf_init(&w.data, (size_t)8 << 20);
		kin_buf_init(&w.key, 1 << 20);
	}
	/* the whole input and a final newline must fit in the pipe */
	if (size + 1 > (size_t)fcntl(wfd, F_GETPIPE_SZ))
		return 0;
	if (size > 0)
		FUZZ_CHECK(write(wfd, data, size) == (ssize_t)size);
	FUZZ_CHECK(write(wfd, "\n", 1) == 1);

	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int ref = reference(p, len, &w);

		rc = input_next(&in, &it, err);
		switch (ref) {
		case R_CONTROL:
			FUZZ_CHECK(rc == IN_CONTROL);
			FUZZ_CHECK(it.len == len && fuzz_same(it.data, p, len));
			break;
		case R_BAD:
			FUZZ_CHECK(rc == IN_BAD);
			break;
		case R_REC:
			FUZZ_CHECK(rc == IN_REC);
			compare(it.u, &w);
			break;
		default:
			FUZZ_CHECK(rc == IN_REC || rc == IN_BAD);
			break;
		}
		if (rc == IN_REC)
			urec_free(it.u);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* every line was read: nothing is left in the pipe */
	FUZZ_CHECK(input_next(&in, &it, err) == IN_AGAIN);
	return 0;
}
