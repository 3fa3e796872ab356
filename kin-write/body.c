/* body.c — the PutRecords body straight from a request's records, in one
 * pass into the slot's reused buffer.  The library's kin_put_records_body()
 * checks every key and length again and takes copies through an entry
 * array; here input.c and batch.c have checked them already, so the body is
 * base64 and plain copies, the same bytes. */
#include <string.h>

#include "base64.h"
#include "body.h"
#include "err.h"
#include "json.h"
#include "kinesis.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Two base64 characters for each 12-bit value. */
static char pair[4096][2];

static void pair_init(void)
{
	static int done;
	int i;

	if (done)
		return;
	for (i = 0; i < 4096; i++) {
		pair[i][0] = b64[i >> 6];
		pair[i][1] = b64[i & 63];
	}
	done = 1;
}

/* Base64 of p[0..n) at o (kin_b64_enclen(n) bytes); returns the end. */
static char *enc(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint32_t v;

	for (; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		memcpy(o, pair[v >> 12], 2);
		memcpy(o + 2, pair[v & 0xfff], 2);
		o += 4;
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		memcpy(o, pair[v >> 12], 2);
		o[2] = '=';
		o[3] = '=';
		o += 4;
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		memcpy(o, pair[v >> 12], 2);
		o[2] = b64[(v >> 6) & 63];
		o[3] = '=';
		o += 4;
	}
	return o;
}

/* 1 if s[0..n) goes into a JSON string as it is (printable ASCII, no
 * quote or backslash): partition keys nearly always do. */
static int plain(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\')
			return 0;
	}
	return 1;
}

#define ADD(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), \
	(o) + sizeof(lit) - 1)

int kw_put_body(struct kin_buf *b, const char *stream,
    struct krec *const *k, size_t n, char *err)
{
	size_t need = 64 + strlen(stream) * 6, i;
	char *o;

	pair_init();
	for (i = 0; i < n; i++)
		need += kin_b64_enclen(k[i]->len) + k[i]->keylen * 6 + 64 +
		    (k[i]->ehk ? strlen(k[i]->ehk) + 24 : 0);
	kin_buf_reset(b);
	if (kin_buf_reserve(b, need, err) < 0 ||
	    kin_buf_add(b, "{\"StreamName\":", 14, err) < 0 ||
	    kin_json_put_str(b, stream, strlen(stream), err) < 0 ||
	    kin_buf_add(b, ",\"Records\":[", 12, err) < 0)
		return -1;
	o = b->p + b->len;
	for (i = 0; i < n; i++) {
		const struct krec *r = k[i];
		if (i + 4 < n) {
			/* its data is not where the krec is */
			__builtin_prefetch(k[i + 4]->data);
			__builtin_prefetch(k[i + 4]->data + 64);
		}
		if (i)
			*o++ = ',';
		o = ADD(o, "{\"Data\":\"");
		o = enc(o, (const unsigned char *)r->data, r->len);
		o = ADD(o, "\",\"PartitionKey\":");
		if (plain(r->key, r->keylen)) {
			*o++ = '"';
			memcpy(o, r->key, r->keylen);
			o += r->keylen;
			*o++ = '"';
		} else {
			/* the rare key to escape: through the library */
			b->len = (size_t)(o - b->p);
			if (kin_json_put_str(b, r->key, r->keylen, err) < 0)
				return -1;
			o = b->p + b->len;
		}
		if (r->ehk) {
			size_t h = strlen(r->ehk);
			o = ADD(o, ",\"ExplicitHashKey\":\"");
			memcpy(o, r->ehk, h);
			o += h;
			*o++ = '"';
		}
		*o++ = '}';
	}
	o = ADD(o, "]}");
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
	return 0;
}
