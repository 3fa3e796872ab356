/* deagg.c — expanding KPL aggregated records into their user records.
 * Format, as the KPL's aggregation documentation describes it: 4 magic bytes
 * F3 89 9A C2, a protobuf AggregatedRecord, then the 16-byte MD5 of the
 * protobuf bytes.  A record without the magic or whose MD5 does not match is
 * not an aggregate and passes through unchanged (the KCL does the same).
 * The protobuf is parsed by hand: only the fields below are needed.
 *   AggregatedRecord { repeated string partition_key_table = 1;
 *                      repeated string explicit_hash_key_table = 2;
 *                      repeated Record records = 3; }
 *   Record { required uint64 partition_key_index = 1;
 *            optional uint64 explicit_hash_key_index = 2;
 *            required bytes data = 3; repeated Tag tags = 4; } */
#include "deagg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static const unsigned char magic[4] = { 0xF3, 0x89, 0x9A, 0xC2 };
#define MD5_LEN 16

void
deagg_init(struct deagg *d)
{
	memset(d, 0, sizeof *d);
}

void
deagg_release(struct deagg *d)
{
	free(d->r);
	free(d->keys);
	free(d->keyix);
	memset(d, 0, sizeof *d);
}

/* A cursor over protobuf bytes. */
struct pb {
	const unsigned char *p, *end;
};

static int
pb_varint(struct pb *b, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return -1;
		unsigned char c = *b->p++;
		/* the tenth byte may only hold the top bit */
		if (shift == 63 && c > 1)
			return -1;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* Length-delimited field body. */
static int
pb_bytes(struct pb *b, const unsigned char **p, size_t *n)
{
	uint64_t len;

	if (pb_varint(b, &len) < 0 || len > (uint64_t)(b->end - b->p))
		return -1;
	*p = b->p;
	*n = (size_t)len;
	b->p += len;
	return 0;
}

/* Skip a field of an unknown number. Groups (wire types 3, 4) are not used
 * by any aggregator and are refused. */
static int
pb_skip(struct pb *b, unsigned wire)
{
	uint64_t v;
	const unsigned char *p;
	size_t n;

	switch (wire) {
	case 0:
		return pb_varint(b, &v);
	case 1:
		if (b->end - b->p < 8)
			return -1;
		b->p += 8;
		return 0;
	case 2:
		return pb_bytes(b, &p, &n);
	case 5:
		if (b->end - b->p < 4)
			return -1;
		b->p += 4;
		return 0;
	default:
		return -1;
	}
}

static int
grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * size);
	if (nv == NULL)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

/* One Record message: its key index and data.  -1 when malformed. */
static int
parse_record(struct pb *b, uint64_t *kix, const unsigned char **data,
    size_t *len)
{
	int have_kix = 0, have_data = 0;

	while (b->p < b->end) {
		uint64_t tag;

		if (pb_varint(b, &tag) < 0)
			return -1;
		unsigned field = (unsigned)(tag >> 3), wire = tag & 7;
		if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
			return -1;
		if (field == 1) {
			if (wire != 0 || pb_varint(b, kix) < 0)
				return -1;
			have_kix = 1;
		} else if (field == 3) {
			if (wire != 2 || pb_bytes(b, data, len) < 0)
				return -1;
			have_data = 1;
		} else if (field == 2) {
			uint64_t ehk;
			if (wire != 0 || pb_varint(b, &ehk) < 0)
				return -1;
		} else if (pb_skip(b, wire) < 0) {
			return -1;
		}
	}
	return have_kix && have_data ? 0 : -1;
}

int
deagg_parse(struct deagg *d, const char *rec, size_t n)
{
	const unsigned char *u = (const unsigned char *)rec;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct pb b;

	d->n = 0;
	d->nkeys = 0;
	if (n < sizeof magic + MD5_LEN || memcmp(u, magic, sizeof magic) != 0)
		return DEAGG_RAW;
	const unsigned char *pb = u + sizeof magic;
	size_t pblen = n - sizeof magic - MD5_LEN;
	if (!EVP_Digest(pb, pblen, md, &mdlen, EVP_md5(), NULL) ||
	    mdlen != MD5_LEN || memcmp(md, pb + pblen, MD5_LEN) != 0)
		return DEAGG_RAW;

	b.p = pb;
	b.end = pb + pblen;
	while (b.p < b.end) {
		uint64_t tag;
		const unsigned char *p;
		size_t len;

		if (pb_varint(&b, &tag) < 0 || tag >> 3 == 0)
			return DEAGG_BAD;
		unsigned field = (unsigned)(tag >> 3), wire = tag & 7;
		if (field == 1) {
			if (wire != 2 || pb_bytes(&b, &p, &len) < 0)
				return DEAGG_BAD;
			if (grow((void **)&d->keys, &d->capkeys, d->nkeys + 1,
			    sizeof *d->keys) < 0)
				return DEAGG_NOMEM;
			d->keys[d->nkeys].p = (const char *)p;
			d->keys[d->nkeys].n = len;
			d->nkeys++;
		} else if (field == 3) {
			struct pb rb;
			uint64_t kix = 0;
			const unsigned char *data = NULL;
			size_t dlen = 0;

			if (wire != 2 || pb_bytes(&b, &p, &len) < 0)
				return DEAGG_BAD;
			rb.p = p;
			rb.end = p + len;
			if (parse_record(&rb, &kix, &data, &dlen) < 0)
				return DEAGG_BAD;
			if (grow((void **)&d->r, &d->cap, d->n + 1,
			    sizeof *d->r) < 0 ||
			    grow((void **)&d->keyix, &d->capix, d->n + 1,
			    sizeof *d->keyix) < 0)
				return DEAGG_NOMEM;
			/* the table may come after the records: resolve later */
			d->keyix[d->n] = kix;
			d->r[d->n].data = (const char *)data;
			d->r[d->n].len = dlen;
			d->n++;
		} else if (pb_skip(&b, wire) < 0) {
			return DEAGG_BAD;
		}
	}
	for (size_t i = 0; i < d->n; i++) {
		if (d->keyix[i] >= (uint64_t)d->nkeys) {
			d->n = 0;
			return DEAGG_BAD;
		}
		d->r[i].key = d->keys[d->keyix[i]].p;
		d->r[i].keylen = d->keys[d->keyix[i]].n;
	}
	return DEAGG_OK;
}
