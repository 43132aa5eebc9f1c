/* histo.c: the fixed-bucket latency histogram behind heartwire_store_write_duration_seconds. */
#include "histo.h"

/* 0.5 ms ... 30 s: a loopback write takes ~1 ms, a server under load tens of ms, and a hung
 * server ends at the driver's socket timeout (30 s). */
/* clang-format off */
static const int64_t bounds_us[HW_HISTO_BOUNDS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000,
};
/* clang-format on */

int64_t hw_histo_bound_us(int i)
{
	if(i < 0 || i >= HW_HISTO_BOUNDS) return -1;
	return bounds_us[i];
}

void hw_histo_observe(hw_histo_t *h, int64_t us)
{
	int i = 0;

	if(us < 0) us = 0;
	while(i < HW_HISTO_BOUNDS && us > bounds_us[i]) i++;
	h->n[i]++;
	h->count++;
	h->sum_us += (uint64_t)us;
}

double hw_histo_quantile_us(const hw_histo_t *h, double q)
{
	double rank, below = 0;

	if(h->count == 0) return 0;
	if(q < 0) q = 0;
	if(q > 1) q = 1;
	rank = q * (double)h->count;
	for(int i = 0; i <= HW_HISTO_BOUNDS; i++){
		double in = (double)h->n[i], lo, hi;
		if(in == 0 || below + in < rank){
			below += in;
			continue;
		}
		if(i == HW_HISTO_BOUNDS) return (double)bounds_us[HW_HISTO_BOUNDS - 1];
		lo = i == 0 ? 0 : (double)bounds_us[i - 1];
		hi = (double)bounds_us[i];
		return lo + (hi - lo) * (rank - below) / in;
	}
	return (double)bounds_us[HW_HISTO_BOUNDS - 1];
}
