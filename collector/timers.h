/* timers.h: the collector's deadlines: a binary min-heap of intrusive timers, so the next
 * deadline is O(1) to read and arming, moving or cancelling one is O(log n); no scans. */
#ifndef HEARTWIRE_COLLECTOR_TIMERS_H
#define HEARTWIRE_COLLECTOR_TIMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

#define HW_TIMER_IDLE ((size_t)-1)

/* One deadline, embedded in the object it belongs to (a session). Initialise with
 * HW_TIMER_INIT; the heap only borrows it. */
typedef struct hw_timer {
	int64_t at;     /* monotonic ms when it fires */
	size_t idx;     /* position in the heap, HW_TIMER_IDLE when not armed */
	uint64_t order; /* arming order: equal deadlines fire first-armed first */
} hw_timer_t;
/* clang-format off */
#define HW_TIMER_INIT {0, HW_TIMER_IDLE, 0}
/* clang-format on */

/* Caller-owned: hw_timers_init() ... hw_timers_cleanup(). Not thread-safe. */
typedef struct hw_timers {
	hw_timer_t **heap;
	size_t len, cap;
	uint64_t armed; /* arming counter for order */
} hw_timers_t;

/* Initialises an empty heap. Returns HW_OK (it allocates lazily). */
int hw_timers_init(hw_timers_t *h, hw_error_t *err);

/* Frees the heap array; the timers themselves belong to their owners and are left idle. */
void hw_timers_cleanup(hw_timers_t *h);

/* Arms t to fire at `at`, or moves it there when it is already armed. Returns HW_OK or
 * HW_ERR_NOMEM (t is then left as it was). */
int hw_timers_set(hw_timers_t *h, hw_timer_t *t, int64_t at, hw_error_t *err);

/* Disarms t; a no-op when it is not armed. */
void hw_timers_cancel(hw_timers_t *h, hw_timer_t *t);

/* True while t is armed. */
bool hw_timer_armed(const hw_timer_t *t);

/* The earliest armed timer (borrowed, still armed), or NULL when none is. */
hw_timer_t *hw_timers_peek(const hw_timers_t *h);

/* Disarms and returns the earliest timer whose deadline is <= now, or NULL. */
hw_timer_t *hw_timers_pop_due(hw_timers_t *h, int64_t now);

/* Milliseconds from now until the earliest deadline: 0 when one is due, -1 when none is
 * armed, else at most max_ms (use it as a poll timeout). */
int hw_timers_timeout(const hw_timers_t *h, int64_t now, int max_ms);

/* Number of armed timers. */
size_t hw_timers_len(const hw_timers_t *h);

#endif
