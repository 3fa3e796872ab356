/* test_deagg.c — KPL de-aggregation against aggregates built here from the
 * format description, and the records that must pass through as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "deagg.h"
#include "t.h"

struct enc {
	unsigned char b[4096];
	size_t n;
};

static void
put(struct enc *e, const void *p, size_t n)
{
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

static void
varint(struct enc *e, unsigned long long v)
{
	while (v > 127) {
		e->b[e->n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	e->b[e->n++] = (unsigned char)v;
}

static void
field_bytes(struct enc *e, unsigned num, const void *p, size_t n)
{
	varint(e, num << 3 | 2);
	varint(e, n);
	put(e, p, n);
}

static void
field_int(struct enc *e, unsigned num, unsigned long long v)
{
	varint(e, num << 3);
	varint(e, v);
}

static void
record(struct enc *e, unsigned kix, const char *data, int extra)
{
	struct enc r = { .n = 0 };

	field_int(&r, 1, kix);
	if (extra) {
		struct enc tag = { .n = 0 };
		field_int(&r, 2, 0);
		field_bytes(&tag, 1, "t", 1);
		field_bytes(&tag, 2, "v", 1);
		field_bytes(&r, 4, tag.b, tag.n);
		/* an unknown fixed64 and fixed32 field */
		varint(&r, 9 << 3 | 1);
		put(&r, "12345678", 8);
		varint(&r, 10 << 3 | 5);
		put(&r, "1234", 4);
	}
	field_bytes(&r, 3, data, strlen(data));
	field_bytes(e, 3, r.b, r.n);
}

/* magic + pb + MD5(pb) into out */
static size_t
wrap(const struct enc *pb, unsigned char *out, int bad_md5)
{
	unsigned int mdlen;

	memcpy(out, "\xF3\x89\x9A\xC2", 4);
	memcpy(out + 4, pb->b, pb->n);
	EVP_Digest(pb->b, pb->n, out + 4 + pb->n, &mdlen, EVP_md5(), NULL);
	if (bad_md5)
		out[4 + pb->n] ^= 1;
	return 4 + pb->n + 16;
}

static int
rec_is(const struct deagg *d, size_t i, const char *key, const char *data)
{
	return i < d->n && d->r[i].keylen == strlen(key) &&
	    memcmp(d->r[i].key, key, d->r[i].keylen) == 0 &&
	    d->r[i].len == strlen(data) &&
	    memcmp(d->r[i].data, data, d->r[i].len) == 0;
}

int
main(void)
{
	struct deagg d;
	struct enc pb;
	unsigned char agg[8192];
	size_t n;

	deagg_init(&d);

	/* keys first, three records */
	pb.n = 0;
	field_bytes(&pb, 1, "kA", 2);
	field_bytes(&pb, 1, "kB", 2);
	record(&pb, 0, "a1", 0);
	record(&pb, 1, "b1", 0);
	record(&pb, 0, "", 0);
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_OK);
	T_CHECK(d.n == 3);
	T_CHECK(rec_is(&d, 0, "kA", "a1"));
	T_CHECK(rec_is(&d, 1, "kB", "b1"));
	T_CHECK(rec_is(&d, 2, "kA", ""));

	/* tables after the records, hash key table, tags, unknown fields */
	pb.n = 0;
	record(&pb, 1, "x", 1);
	record(&pb, 0, "y", 1);
	field_bytes(&pb, 1, "k0", 2);
	field_bytes(&pb, 1, "k1", 2);
	field_bytes(&pb, 2, "1234", 4);
	varint(&pb, 15 << 3);
	varint(&pb, 300);
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_OK);
	T_CHECK(d.n == 2 && rec_is(&d, 0, "k1", "x") && rec_is(&d, 1, "k0", "y"));

	/* an aggregate of nothing */
	pb.n = 0;
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_OK && d.n == 0);

	/* a wrong MD5: not an aggregate */
	pb.n = 0;
	field_bytes(&pb, 1, "k", 1);
	record(&pb, 0, "z", 0);
	n = wrap(&pb, agg, 1);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_RAW);

	/* no magic, too short, magic alone */
	T_CHECK(deagg_parse(&d, "plain", 5) == DEAGG_RAW);
	T_CHECK(deagg_parse(&d, "", 0) == DEAGG_RAW);
	T_CHECK(deagg_parse(&d, "\xF3\x89\x9A\xC2", 4) == DEAGG_RAW);

	/* right MD5 over bytes that are no AggregatedRecord */
	pb.n = 0;
	field_bytes(&pb, 1, "k", 1);
	record(&pb, 5, "z", 0);              /* key index out of range */
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	put(&pb, "\x1a\x05\x08", 3);         /* record cut short */
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	field_bytes(&pb, 1, "k", 1);
	field_bytes(&pb, 3, "\x08\x00", 2);  /* record without data */
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	varint(&pb, 1 << 3);                 /* key table as a varint */
	varint(&pb, 1);
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	put(&pb, "\x0b", 1);                 /* a group */
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	put(&pb, "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	n = wrap(&pb, agg, 0);               /* an 11-byte varint */
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);
	pb.n = 0;
	put(&pb, "\x0a\x7f", 2);             /* length past the end */
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_BAD);

	/* many records: the arrays grow */
	pb.n = 0;
	field_bytes(&pb, 1, "k", 1);
	for (int i = 0; i < 200; i++)
		record(&pb, 0, "r", 0);
	n = wrap(&pb, agg, 0);
	T_CHECK(deagg_parse(&d, (char *)agg, n) == DEAGG_OK && d.n == 200);
	T_CHECK(rec_is(&d, 199, "k", "r"));

	deagg_release(&d);
	T_DONE();
}
