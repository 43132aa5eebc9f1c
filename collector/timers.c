/* timers.c: a binary min-heap of intrusive deadlines keyed by (at, arming order). */
#include <stdlib.h>

#include "timers.h"

int hw_timers_init(hw_timers_t *h, hw_error_t *err)
{
	(void)err;
	h->heap = NULL;
	h->len = h->cap = 0;
	h->armed = 0;
	return HW_OK;
}

void hw_timers_cleanup(hw_timers_t *h)
{
	if(!h) return;
	for(size_t i = 0; i < h->len; i++) h->heap[i]->idx = HW_TIMER_IDLE;
	free(h->heap);
	h->heap = NULL;
	h->len = h->cap = 0;
}

static bool timer_less(const hw_timer_t *a, const hw_timer_t *b)
{
	if(a->at != b->at) return a->at < b->at;
	return a->order < b->order;
}

static void heap_place(hw_timers_t *h, size_t i, hw_timer_t *t)
{
	h->heap[i] = t;
	t->idx = i;
}

static void sift_up(hw_timers_t *h, size_t i)
{
	hw_timer_t *t = h->heap[i];

	while(i > 0){
		size_t parent = (i - 1) / 2;
		if(!timer_less(t, h->heap[parent])) break;
		heap_place(h, i, h->heap[parent]);
		i = parent;
	}
	heap_place(h, i, t);
}

static void sift_down(hw_timers_t *h, size_t i)
{
	hw_timer_t *t = h->heap[i];

	for(;;){
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const hw_timer_t *best = t;
		if(l < h->len && timer_less(h->heap[l], best)){
			m = l;
			best = h->heap[l];
		}
		if(r < h->len && timer_less(h->heap[r], best)) m = r;
		if(m == i) break;
		heap_place(h, i, h->heap[m]);
		i = m;
	}
	heap_place(h, i, t);
}

int hw_timers_set(hw_timers_t *h, hw_timer_t *t, int64_t at, hw_error_t *err)
{
	if(t->idx != HW_TIMER_IDLE){
		bool earlier = at < t->at;
		t->at = at;
		t->order = ++h->armed;
		/* A later order can only sink it among equals; sift both ways to be exact. */
		if(earlier) sift_up(h, t->idx);
		else sift_down(h, t->idx);
		return HW_OK;
	}
	if(h->len == h->cap){
		size_t cap = h->cap ? h->cap * 2 : 256;
		hw_timer_t **heap = realloc(h->heap, cap * sizeof(*heap));
		if(!heap) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the timer heap");
		h->heap = heap;
		h->cap = cap;
	}
	t->at = at;
	t->order = ++h->armed;
	heap_place(h, h->len++, t);
	sift_up(h, t->idx);
	return HW_OK;
}

void hw_timers_cancel(hw_timers_t *h, hw_timer_t *t)
{
	size_t i = t->idx;
	hw_timer_t *last;

	if(i == HW_TIMER_IDLE) return;
	t->idx = HW_TIMER_IDLE;
	last = h->heap[--h->len];
	if(i == h->len) return;
	heap_place(h, i, last);
	if(i > 0 && timer_less(last, h->heap[(i - 1) / 2])) sift_up(h, i);
	else sift_down(h, i);
}

bool hw_timer_armed(const hw_timer_t *t)
{
	return t->idx != HW_TIMER_IDLE;
}

hw_timer_t *hw_timers_peek(const hw_timers_t *h)
{
	return h->len ? h->heap[0] : NULL;
}

hw_timer_t *hw_timers_pop_due(hw_timers_t *h, int64_t now)
{
	hw_timer_t *t = hw_timers_peek(h);

	if(!t || t->at > now) return NULL;
	hw_timers_cancel(h, t);
	return t;
}

int hw_timers_timeout(const hw_timers_t *h, int64_t now, int max_ms)
{
	const hw_timer_t *t = hw_timers_peek(h);
	int64_t d;

	if(!t) return -1;
	d = t->at - now;
	if(d <= 0) return 0;
	return d > max_ms ? max_ms : (int)d;
}

size_t hw_timers_len(const hw_timers_t *h)
{
	return h->len;
}
