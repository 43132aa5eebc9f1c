/* queue.h: a bounded FIFO of owned items that drops (and counts) the oldest when full:
 * the agent's buffer of events produced while the broker is unreachable. */
#ifndef HEARTWIRE_AGENT_QUEUE_H
#define HEARTWIRE_AGENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

/* A ring of item pointers. Caller-owned: hw_queue_init() ... hw_queue_cleanup(). */
typedef struct hw_queue {
	void **items;
	size_t cap, head, len;
	uint64_t dropped;        /* items dropped because the queue was full, since the last take */
	uint64_t dropped_total;  /* all items ever dropped */
	void (*free_fn)(void *); /* frees one item (dropped ones and leftovers at cleanup) */
} hw_queue_t;

/* Initialises an empty queue of at most cap items (1..1000000) whose items are freed with
 * free_fn (NULL: not freed). Returns HW_OK, HW_ERR_INVAL or HW_ERR_NOMEM. */
int hw_queue_init(hw_queue_t *q, size_t cap, void (*free_fn)(void *), hw_error_t *err);

/* Appends item, taking ownership; when full, frees the oldest item first and counts it as
 * dropped. Never fails. */
void hw_queue_push(hw_queue_t *q, void *item);

/* The oldest item (still owned by the queue), or NULL when empty. */
void *hw_queue_peek(const hw_queue_t *q);

/* Removes and returns the oldest item (caller owns it now), or NULL when empty. */
void *hw_queue_pop(hw_queue_t *q);

/* Items queued. */
size_t hw_queue_len(const hw_queue_t *q);

/* Returns the number of items dropped since the last call, and resets it. */
uint64_t hw_queue_take_dropped(hw_queue_t *q);

/* Frees every item left and the ring. */
void hw_queue_cleanup(hw_queue_t *q);

#endif
