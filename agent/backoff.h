/* backoff.h: capped exponential backoff with jitter, for reconnects and restarts. */
#ifndef HEARTWIRE_AGENT_BACKOFF_H
#define HEARTWIRE_AGENT_BACKOFF_H

#include <stdint.h>

/* Caller-owned state; no allocation. */
typedef struct hw_backoff {
	int64_t base_ms; /* the first delay's ceiling */
	int64_t cap_ms;  /* no delay exceeds this */
	int attempts;    /* delays handed out since the last reset */
	uint64_t rng;    /* xorshift state */
} hw_backoff_t;

/* Initialises with base and cap (1 <= base <= cap) and a seed for the jitter (0 picks 1). */
void hw_backoff_init(hw_backoff_t *b, int64_t base_ms, int64_t cap_ms, uint64_t seed);

/* The next delay: uniformly in [d/2, d] where d = min(cap, base * 2^attempts) ("equal
 * jitter": spread out, but never much shorter than the exponential step). */
int64_t hw_backoff_next(hw_backoff_t *b);

/* Back to the first step, after a success. */
void hw_backoff_reset(hw_backoff_t *b);

#endif
