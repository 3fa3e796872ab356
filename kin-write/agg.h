/* agg.h — KPL aggregation: many user records of one shard in one Kinesis
 * record, in the KPL's wire format (aggregation-format.md of
 * amazon-kinesis-producer): magic F3 89 9A C2, an AggregatedRecord protobuf
 * (partition key table = 1, explicit hash key table = 2, records = 3), then
 * the MD5 of the protobuf bytes.
 * Ownership: struct agg is the caller's (agg_init/agg_release).  A record
 * added is copied into the encoding and freed at once (only the first is
 * kept, for when it stays alone), so an aggregate's records are never
 * walked again; agg_each() reads them back out of the bytes when they must
 * be dead-lettered. */
#ifndef KW_AGG_H
#define KW_AGG_H

#include <stddef.h>
#include <stdint.h>
#include "kw.h"

#define KW_AGG_MAGIC "\xF3\x89\x9A\xC2"
#define KW_AGG_OVERHEAD (4 + 16)   /* magic + MD5 */

struct agg_keys {              /* a string table with dedup */
	struct agg_slot {
		uint32_t h, idx;
		uint32_t off, len;     /* the string, in its table's bytes */
	} *tab;
	size_t cap;                /* power of two, 0 before first use */
	uint32_t n;
};

struct agg_bytes {
	unsigned char *p;
	size_t len, cap;
};

struct agg {
	struct agg_bytes pkt;      /* field 1 entries: partition key table */
	struct agg_bytes eht;      /* field 2 entries: explicit hash keys */
	struct agg_bytes recs;     /* field 3 entries: the records */
	struct agg_keys pk, eh;    /* dedup of the two tables */
	struct urec *first;        /* kept until the aggregate is taken */
	long long *lines;          /* each record's input line and name */
	const char **srcs;
	size_t lcap;
	uint32_t n;
	int64_t first_us;          /* when the first record was added */
	int64_t deadline_us;       /* the earliest, 0 = none */
	size_t ucost;              /* urec_cost() of the records */
};

void agg_init(struct agg *a);
void agg_release(struct agg *a);   /* frees a held record too */
/* Size of the Kinesis record if u were added (magic + protobuf + MD5);
 * for an empty aggregate, the size of u alone as an aggregate. */
size_t agg_size_with(const struct agg *a, const struct urec *u);
/* Current encoded size (0 when empty). */
size_t agg_size(const struct agg *a);
/* Add u (taken over, and freed unless it is the first).  -1 only when
 * memory runs out (u is not taken). */
int agg_add(struct agg *a, struct urec *u, int64_t now_us);
/* Hand the records over as one krec and empty the aggregate: a lone record
 * goes out as itself, unaggregated (as the KPL does); more become a KPL
 * record with partition key "a" and the explicit hash key of the first
 * record.  NULL when empty or out of memory (then nothing is lost: the
 * aggregate still holds them). */
struct krec *agg_take(struct agg *a);

/* Call fn for each record of an aggregate made by agg_take (key and hash
 * key NUL-terminated, valid during the call).  -1 if buf is not one. */
int agg_each(const char *buf, size_t len,
    void (*fn)(void *ctx, size_t i, const char *key, const char *ehk,
    const char *data, size_t dlen), void *ctx);

/* Encode whole records: exposed for the unit test. */
size_t kw_varint(unsigned char *p, uint64_t v);
size_t kw_varint_len(uint64_t v);

#endif
