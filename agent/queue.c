/* queue.c: the bounded drop-oldest FIFO behind the agent's event buffer. */
#include <stdlib.h>
#include <string.h>

#include "queue.h"

int hw_queue_init(hw_queue_t *q, size_t cap, void (*free_fn)(void *), hw_error_t *err)
{
	memset(q, 0, sizeof(*q));
	if(cap < 1 || cap > 1000000) return hw_error_set(err, HW_ERR_INVAL, "queue capacity must be 1-1000000");
	q->items = calloc(cap, sizeof(*q->items));
	if(!q->items) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a queue of %zu", cap);
	q->cap = cap;
	q->free_fn = free_fn;
	return HW_OK;
}

void hw_queue_push(hw_queue_t *q, void *item)
{
	if(q->len == q->cap){
		void *old = hw_queue_pop(q);
		if(q->free_fn) q->free_fn(old);
		q->dropped++;
		q->dropped_total++;
	}
	q->items[(q->head + q->len) % q->cap] = item;
	q->len++;
}

void *hw_queue_peek(const hw_queue_t *q)
{
	return q->len ? q->items[q->head] : NULL;
}

void *hw_queue_pop(hw_queue_t *q)
{
	void *item;

	if(!q->len) return NULL;
	item = q->items[q->head];
	q->items[q->head] = NULL;
	q->head = (q->head + 1) % q->cap;
	q->len--;
	return item;
}

size_t hw_queue_len(const hw_queue_t *q)
{
	return q->len;
}

uint64_t hw_queue_take_dropped(hw_queue_t *q)
{
	uint64_t d = q->dropped;

	q->dropped = 0;
	return d;
}

void hw_queue_cleanup(hw_queue_t *q)
{
	void *item;

	if(!q->items) return;
	while((item = hw_queue_pop(q)) != NULL){
		if(q->free_fn) q->free_fn(item);
	}
	free(q->items);
	q->items = NULL;
	q->cap = 0;
}
