/* agg.h — KPL aggregation: many user records of one shard in one Kinesis
 * record, in the KPL's wire format (aggregation-format.md of
 * amazon-kinesis-producer): magic F3 89 9A C2, an AggregatedRecord protobuf
 * (partition key table = 1, explicit hash key table = 2, records = 3), then
 * the MD5 of the protobuf bytes.
 * Ownership: struct agg is the caller's (agg_init/agg_release); it holds
 * the user records added until agg_take() hands them over in a krec. */
#ifndef KW_AGG_H
#define KW_AGG_H

#include <stddef.h>
#include <stdint.h>
#include "kw.h"

#define KW_AGG_MAGIC "\xF3\x89\x9A\xC2"
#define KW_AGG_OVERHEAD (4 + 16)   /* magic + MD5 */

struct agg_keys {              /* a string table with dedup */
	struct agg_slot { uint32_t h, idx; const char *s; uint32_t len; } *tab;
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
	struct urec *first, *last;
	uint32_t n;
	int64_t first_us;          /* when the first record was added */
};

void agg_init(struct agg *a);
void agg_release(struct agg *a);   /* frees held urecs too */
/* Size of the Kinesis record if u were added (magic + protobuf + MD5);
 * for an empty aggregate, the size of u alone as an aggregate. */
size_t agg_size_with(const struct agg *a, const struct urec *u);
/* Current encoded size (0 when empty). */
size_t agg_size(const struct agg *a);
/* Add u (taken over).  -1 only when memory runs out (u is not taken). */
int agg_add(struct agg *a, struct urec *u, int64_t now_us);
/* Hand the records over as one krec and empty the aggregate: a lone record
 * goes out as itself, unaggregated (as the KPL does); more become a KPL
 * record with partition key "a" and the explicit hash key of the first
 * record.  NULL when empty or out of memory (then nothing is lost: the
 * aggregate still holds them). */
struct krec *agg_take(struct agg *a);

/* Encode whole records: exposed for the unit test. */
size_t kw_varint(unsigned char *p, uint64_t v);
size_t kw_varint_len(uint64_t v);

#endif
