/* ratelimit.c — continuous-refill token buckets. */
#include "ratelimit.h"

void bucket_init(struct bucket *b, double rate, int64_t now_us)
{
	b->rate = rate > 0 ? rate : 0;
	b->cap = b->rate;
	b->tokens = b->cap;
	b->last_us = now_us;
}

double bucket_level(struct bucket *b, int64_t now_us)
{
	if (b->rate <= 0)
		return 1e18;
	if (now_us > b->last_us) {
		b->tokens += b->rate * (double)(now_us - b->last_us) / 1e6;
		if (b->tokens > b->cap)
			b->tokens = b->cap;
		b->last_us = now_us;
	}
	return b->tokens;
}

void bucket_take(struct bucket *b, double cost)
{
	if (b->rate > 0)
		b->tokens -= cost;
}

int64_t bucket_wait_us(const struct bucket *b, int64_t now_us, double need)
{
	double have;

	if (b->rate <= 0)
		return 0;
	if (need > b->cap)
		need = b->cap;
	have = b->tokens;
	if (now_us > b->last_us)
		have += b->rate * (double)(now_us - b->last_us) / 1e6;
	if (have >= need)
		return 0;
	return (int64_t)((need - have) / b->rate * 1e6) + 1;
}
