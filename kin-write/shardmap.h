/* shardmap.h — the stream's open shards by hash range (from ListShards), and
 * each shard's sending state: its queue of ready Kinesis records, its open
 * aggregate and its rate limits.
 * Ownership: struct shardmap owns every struct shard it ever made; a shard
 * closed by resharding stays allocated (requests in flight may point at it)
 * until shardmap_release(). */
#ifndef KW_SHARDMAP_H
#define KW_SHARDMAP_H

#include <stddef.h>
#include "agg.h"
#include "err.h"
#include "kw.h"
#include "ratelimit.h"

struct kin_client;
struct kin_awserr;

struct shard {
	char *id;               /* "" for the catch-all when the map is unknown */
	kw_u128 lo, hi;         /* hash key range, inclusive */
	int open;
	/* sending state */
	struct krec **q;        /* queue of ready krecs: a ring, so a request
	                           can be filled with the next ones fetched
	                           ahead (a list walk waits on each) */
	size_t qcap;            /* a power of two, or 0 */
	size_t qhead;           /* index of the first */
	size_t n;               /* krecs queued */
	size_t bytes;           /* their data + keys */
	struct agg agg;         /* open aggregate (--aggregate) */
	struct bucket rtb, btb; /* records/s and bytes/s */
	int inflight;           /* requests in flight holding its records */
	uint64_t mark;          /* request being filled that holds it */
	int failed_now;         /* scratch while a reply is read: fewest */
	size_t fails;           /* tries of its failed records, and one */
	int64_t not_before_us;  /* back-off after failures */
};

struct shardmap {
	struct shard **open;    /* sorted by lo */
	size_t nopen;
	struct shard **all;
	size_t nall;
	int known;              /* 0: one catch-all shard, no ListShards */
	double rate_pct;        /* per-shard limit in % of the service's; 0 off */
};

/* The i-th krec of s's queue (i < s->n); the first, or NULL. */
static inline struct krec *shard_at(const struct shard *s, size_t i)
{
	return s->q[(s->qhead + i) & (s->qcap - 1)];
}
static inline struct krec *shard_head(const struct shard *s)
{
	return s->n ? shard_at(s, 0) : NULL;
}

void shardmap_init(struct shardmap *m, double rate_pct);
void shardmap_release(struct shardmap *m);
/* ListShards and (re)build the open set, keeping the objects of shards
 * that are still there.  -1 with ae/err on failure (map unchanged). */
int shardmap_load(struct shardmap *m, struct kin_client *c,
    const char *stream, struct kin_awserr *ae, char *err);
/* A single catch-all shard, for when ListShards is not allowed. */
int shardmap_unknown(struct shardmap *m, char *err);
/* The open shard whose range holds h (never NULL once loaded). */
struct shard *shardmap_find(const struct shardmap *m, kw_u128 h);

#endif
