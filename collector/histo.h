/* histo.h: a fixed-bucket latency histogram (Prometheus-style upper bounds, 0.5 ms to 30 s)
 * with quantile estimates. Plain data: the owner supplies the locking. */
#ifndef HEARTWIRE_COLLECTOR_HISTO_H
#define HEARTWIRE_COLLECTOR_HISTO_H

#include <stdint.h>

/* Number of finite upper bounds; bucket HW_HISTO_BOUNDS is +Inf. */
#define HW_HISTO_BOUNDS 15

/* Observations per bucket (not cumulative), their count and their sum. Zero it to start. */
typedef struct hw_histo {
	uint64_t n[HW_HISTO_BOUNDS + 1];
	uint64_t count;
	uint64_t sum_us;
} hw_histo_t;

/* The upper bound of bucket i (0 <= i < HW_HISTO_BOUNDS) in microseconds; -1 for any other i
 * (the +Inf bucket has none). The bounds grow strictly. */
int64_t hw_histo_bound_us(int i);

/* Counts one observation of us microseconds (negative counts as 0) in h. */
void hw_histo_observe(hw_histo_t *h, int64_t us);

/* Estimates the q-quantile (0 <= q <= 1) in microseconds, interpolating linearly inside the
 * bucket that holds it, as Prometheus' histogram_quantile does; an estimate that falls in the
 * +Inf bucket is the largest finite bound. 0 when h is empty. */
double hw_histo_quantile_us(const hw_histo_t *h, double q);

#endif
