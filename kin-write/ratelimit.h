/* ratelimit.h — token buckets, one pair per shard (records/s and bytes/s),
 * like the KPL's per-shard limiter, so a hot stream is slowed down here
 * rather than throttled by the service. */
#ifndef KW_RATELIMIT_H
#define KW_RATELIMIT_H

#include <stdint.h>

/* Kinesis' write limits per shard (PutRecords documentation). */
#define KW_SHARD_RECORDS_PER_S 1000.0
#define KW_SHARD_BYTES_PER_S (1024.0 * 1024.0)

struct bucket {
	double rate;       /* tokens per second; 0 = unlimited */
	double cap;        /* at most one second's worth */
	double tokens;     /* may go below 0: a debt paid back by refill */
	int64_t last_us;
};

void bucket_init(struct bucket *b, double rate, int64_t now_us);
static inline int bucket_unlimited(const struct bucket *b)
{
	return b->rate <= 0;
}
/* Tokens there now (refilled first); a huge number when unlimited. */
double bucket_level(struct bucket *b, int64_t now_us);
void bucket_take(struct bucket *b, double cost);
/* Microseconds until the bucket holds need tokens (need is capped at the
 * bucket's size); 0 if it does now. */
int64_t bucket_wait_us(const struct bucket *b, int64_t now_us, double need);

#endif
