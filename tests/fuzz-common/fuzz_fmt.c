/* fuzz_fmt.c — kin-read's -f/--format parser and renderer (kin-read/out.c)
 * against a reference written here from man/kin-read.1's description of
 * the format language.  The input is: one byte choosing the record (of a
 * few fixed ones) and the output buffer's ceiling, then the format as it
 * would come from argv (up to its first NUL).  Properties:
 *   - out_fmt_parse accepts exactly the formats the reference accepts;
 *   - out_line renders exactly the reference's bytes after what the buffer
 *     already held, or refuses a line that would hold a newline of the data
 *     or key (OUT_UNSAFE_NL) or begin with 0x1E from a field
 *     (OUT_UNSAFE_RS), or fails at the ceiling; on any refusal the buffer
 *     is as it was.  ASan watches every read and write. */
#include "fuzz.h"
#include "buf.h"
#include "err.h"
#include "out.h"

#define RS 0x1e

static const struct out_rec recs[] = {
	{ "shardId-000000000001", "49590338271490256608559692538361571095921575989136588898",
	  0, "user-42", 7, "{\"SEQ\":17,\"price\":101.5}", 25, 1700000000123 },
	{ "shardId-000000000000", "1", 3, "k\nk", 3, "two\nlines", 9, 0 },
	{ "s", "2", 12, "\x1ekey", 4, "\x1e{\"kin\":\"end\"}", 14, -1 },
	{ "", "", 0, "", 0, "", 0, 253402300799999 },
	{ "shardId-000000000002", "3", 1, "%d\\n", 4, "nul\0byte", 8, 86399999 },
};
#define NRECS (sizeof recs / sizeof recs[0])
/* what %t gives for each record's arrival time */
static const char *const rfc[NRECS] = {
	"2023-11-14T22:13:20.123Z", "1970-01-01T00:00:00.000Z",
	"1969-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z",
	"1970-01-01T23:59:59.999Z",
};

static int
hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void
add(char *o, size_t *n, const void *p, size_t len)
{
	memcpy(o + *n, p, len);
	*n += len;
}

/* Reference: 1 and the line in o/on, 0 when the format is refused,
 * OUT_UNSAFE_* when the record cannot be a line with it. */
static int
reference(const char *s, const struct out_rec *r, const char *t, char *o,
    size_t *on)
{
	size_t n = strlen(s);
	int unsafe = 0, lead_lit = -1;   /* does the line begin with a literal */
	char num[32];

	*on = 0;
	for (size_t i = 0; i < n; i++) {
		int lit = 0;

		if (s[i] == '%' || s[i] == '\\') {
			if (i + 1 == n)
				return 0;
		}
		if (s[i] == '%') {
			switch (s[++i]) {
			case 'd':
				if (memchr(r->data, '\n', r->len))
					unsafe = OUT_UNSAFE_NL;
				add(o, on, r->data, r->len);
				break;
			case 'k':
				if (memchr(r->key, '\n', r->keylen))
					unsafe = OUT_UNSAFE_NL;
				add(o, on, r->key, r->keylen);
				break;
			case 's': add(o, on, r->seq, strlen(r->seq)); break;
			case 'S': add(o, on, r->shard, strlen(r->shard)); break;
			case 'T':
				add(o, on, num, (size_t)snprintf(num, sizeof num,
				    "%lld", (long long)r->arrival_ms));
				break;
			case 't': add(o, on, t, strlen(t)); break;
			case 'n':
				add(o, on, num, (size_t)snprintf(num, sizeof num,
				    "%ld", r->sub));
				break;
			case '%': add(o, on, "%", 1); lit = 1; break;
			default: return 0;
			}
		} else if (s[i] == '\\') {
			char c;

			switch (s[++i]) {
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if (i + 2 >= n || hex(s[i + 1]) < 0 ||
				    hex(s[i + 2]) < 0)
					return 0;
				c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
				i += 2;
				break;
			default: return 0;
			}
			add(o, on, &c, 1);
			lit = 1;
		} else {
			add(o, on, &s[i], 1);
			lit = 1;
		}
		/* the first piece of the format, even when it rendered empty */
		if (lead_lit < 0)
			lead_lit = lit;
	}
	if (unsafe)
		return unsafe;
	/* a line that begins with RS is a control line: only the format's
	 * own first literal byte may make it so */
	if (*on > 0 && (unsigned char)o[0] == RS && lead_lit != 1)
		return OUT_UNSAFE_RS;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "earlier line\n";
	const struct out_rec *r;
	struct out_cfg c;
	struct kin_buf b;
	char err[KIN_ERRLEN], *fmt, *want;
	size_t wantn, max, longest;
	int ref, rc, prc;

	if (size < 1)
		return 0;
	r = &recs[data[0] % NRECS];
	/* high bits: the ceiling, unlimited or a small one that cuts lines */
	max = data[0] < 0x80 ? (size_t)1 << 24 :
	    sizeof prefix - 1 + (size_t)(data[0] & 0x7f) / NRECS;
	if ((fmt = malloc(size)) == NULL)
		return 0;
	memcpy(fmt, data + 1, size - 1);
	fmt[size - 1] = '\0';
	/* the longest any piece renders: 56 digits of a sequence number */
	longest = 64;
	if ((want = malloc(strlen(fmt) * longest + 1)) == NULL) {
		free(fmt);
		return 0;
	}
	ref = reference(fmt, r, rfc[r - recs], want, &wantn);

	memset(&c, 0, sizeof c);
	c.mode = OUT_FORMAT;
	c.stream = "in";
	out_fmt_init(&c.fmt);
	prc = out_fmt_parse(&c.fmt, fmt, err);
	FUZZ_CHECK((prc == 0) == (ref != 0));
	if (prc == 0) {
		kin_buf_init(&b, max);
		FUZZ_CHECK(kin_buf_adds(&b, prefix, err) == 0);
		rc = out_line(&c, r, &b, err);
		if (rc == 0) {
			FUZZ_CHECK(ref == 1);
			FUZZ_CHECK(b.len == sizeof prefix - 1 + wantn);
			FUZZ_CHECK(fuzz_same(b.p + sizeof prefix - 1, want,
			    wantn));
			FUZZ_CHECK(b.len <= max);
		} else {
			/* the ceiling may stop a line before the field
			 * that makes it unsafe is reached */
			FUZZ_CHECK(rc == -1 ? ref != 0 && wantn > max -
			    (sizeof prefix - 1) : rc == ref);
			FUZZ_CHECK(b.len == sizeof prefix - 1);
		}
		FUZZ_CHECK(memcmp(b.p, prefix, sizeof prefix - 1) == 0);
		kin_buf_release(&b);
	}
	out_fmt_release(&c.fmt);
	free(want);
	free(fmt);
	return 0;
}
