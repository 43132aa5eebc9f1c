/* test_collector_timers.c: the deadline heap against a brute-force model: arm, move, cancel and
 * pop in random order always yield the earliest deadline (first armed first among equals). */
#include <stdio.h>
#include <stdlib.h>

#include "hwtest.h"
#include "timers.h"

#define N 500

static uint64_t rng = 88172645463325252ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static void TEST_empty_heap(void)
{
	hw_timers_t h;

	CU_ASSERT_EQUAL(hw_timers_init(&h, NULL), HW_OK);
	CU_ASSERT_PTR_NULL(hw_timers_peek(&h));
	CU_ASSERT_PTR_NULL(hw_timers_pop_due(&h, 1000));
	CU_ASSERT_EQUAL(hw_timers_timeout(&h, 0, 500), -1);
	hw_timers_cleanup(&h);
}

static void TEST_timeout_and_due(void)
{
	hw_timers_t h;
	hw_timer_t a = HW_TIMER_INIT, b = HW_TIMER_INIT;

	hw_timers_init(&h, NULL);
	CU_ASSERT_EQUAL(hw_timers_set(&h, &a, 100, NULL), HW_OK);
	CU_ASSERT_EQUAL(hw_timers_set(&h, &b, 50, NULL), HW_OK);
	CU_ASSERT_EQUAL(hw_timers_timeout(&h, 0, 1000), 50);
	CU_ASSERT_EQUAL(hw_timers_timeout(&h, 0, 20), 20);
	CU_ASSERT_EQUAL(hw_timers_timeout(&h, 60, 1000), 0);
	CU_ASSERT_PTR_NULL(hw_timers_pop_due(&h, 49));
	CU_ASSERT_PTR_EQUAL(hw_timers_pop_due(&h, 50), &b);
	CU_ASSERT(!hw_timer_armed(&b));
	/* moving a timer later and earlier */
	CU_ASSERT_EQUAL(hw_timers_set(&h, &b, 200, NULL), HW_OK);
	CU_ASSERT_EQUAL(hw_timers_set(&h, &a, 300, NULL), HW_OK);
	CU_ASSERT_PTR_EQUAL(hw_timers_peek(&h), &b);
	CU_ASSERT_EQUAL(hw_timers_set(&h, &a, 10, NULL), HW_OK);
	CU_ASSERT_PTR_EQUAL(hw_timers_peek(&h), &a);
	hw_timers_cancel(&h, &a);
	hw_timers_cancel(&h, &a);
	CU_ASSERT_PTR_EQUAL(hw_timers_peek(&h), &b);
	CU_ASSERT_EQUAL(hw_timers_len(&h), 1);
	hw_timers_cleanup(&h);
	CU_ASSERT(!hw_timer_armed(&b));
}

/* The model: an array of (armed, at, order); the earliest is found by a scan. */
static void TEST_random_against_model(void)
{
	static hw_timer_t t[N];
	static bool armed[N];
	static int64_t at[N];
	static uint64_t order[N];
	uint64_t counter = 0;
	hw_timers_t h;
	int bad = 0;

	hw_timers_init(&h, NULL);
	for(int i = 0; i < N; i++){
		t[i] = (hw_timer_t)HW_TIMER_INIT;
		armed[i] = false;
	}
	for(int step = 0; step < 200000; step++){
		uint32_t op = rnd(10), i = rnd(N);
		if(op < 5){
			int64_t when = (int64_t)rnd(1000);
			CU_ASSERT_EQUAL(hw_timers_set(&h, &t[i], when, NULL), HW_OK);
			armed[i] = true;
			at[i] = when;
			order[i] = ++counter;
		}else if(op < 7){
			hw_timers_cancel(&h, &t[i]);
			armed[i] = false;
		}else{
			int64_t now = (int64_t)rnd(1000);
			int best = -1;
			hw_timer_t *got = hw_timers_pop_due(&h, now);
			for(int j = 0; j < N; j++){
				if(!armed[j] || at[j] > now) continue;
				if(best < 0 || at[j] < at[best] || (at[j] == at[best] && order[j] < order[best])) best = j;
			}
			if((best < 0 && got) || (best >= 0 && got != &t[best])) bad++;
			if(best >= 0) armed[best] = false;
		}
		if(step % 1000 == 0){
			size_t n = 0;
			for(int j = 0; j < N; j++) n += armed[j];
			if(n != hw_timers_len(&h)) bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	hw_timers_cleanup(&h);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_empty_heap),
		HWTEST(TEST_timeout_and_due),
		HWTEST(TEST_random_against_model),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_timers", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
