/* backoff.c: capped exponential backoff with equal jitter. */
#include "backoff.h"

void hw_backoff_init(hw_backoff_t *b, int64_t base_ms, int64_t cap_ms, uint64_t seed)
{
	if(base_ms < 1) base_ms = 1;
	if(cap_ms < base_ms) cap_ms = base_ms;
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	b->attempts = 0;
	b->rng = seed ? seed : 1;
}

/* xorshift64: good enough to spread reconnects of many agents. */
static uint64_t next_rand(hw_backoff_t *b)
{
	uint64_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	b->rng = x;
	return x;
}

int64_t hw_backoff_next(hw_backoff_t *b)
{
	int64_t d = b->base_ms, half;

	for(int i = 0; i < b->attempts && d < b->cap_ms; i++) d *= 2;
	if(d > b->cap_ms) d = b->cap_ms;
	if(b->attempts < 62) b->attempts++;
	half = d / 2;
	return d - half + (int64_t)(next_rand(b) % (uint64_t)(half + 1));
}

void hw_backoff_reset(hw_backoff_t *b)
{
	b->attempts = 0;
}
