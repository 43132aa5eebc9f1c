/* test_chaos_network_silent.c: the network between some agents and the broker goes silent
 * without a reset (a frozen TCP proxy: no FIN, no RST, the connections stay open). Nothing
 * tells the broker (its keepalive backstop is 15 s away); the collector's own timer must
 * declare each silent session stalled within its grace (+ 250 ms), then lost/timeout after a
 * second grace, while the agents on a healthy path stay active. When the network comes back
 * the sessions recover on their own. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"
#include "proxy.h"

#define INTERVAL 1000
#define GRACE (3 * INTERVAL)
#define SLACK_MS 250
#define N_SILENT 8
#define N_HEALTHY 4

static ch_env_t env;
static ch_watch_t w;
static ch_coll_t coll;
static hwt_proxy_t *proxy;

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	env.startup_grace_ms = 1000;
	if(ch_coll_start(&env, &coll, "chaos-net", NULL, NULL) != 0) return -1;
	if(hwt_proxy_start(&proxy, env.broker.port) != 0) return -1;
	return ch_watch_open(&w, env.broker.url, 64);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(coll.log, 60);
	ch_watch_close(&w);
	hwt_proxy_stop(proxy);
	ch_coll_kill(&coll, SIGTERM);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static void TEST_silent_network_is_detected_by_the_collector_timer_within_grace(void)
{
	const char *cmd[] = {"sleep", "600", NULL};
	pid_t agents[N_SILENT + N_HEALTHY];
	char sids[N_SILENT + N_HEALTHY][32];
	int64_t t_freeze, worst_detect = 0, worst_over = 0;

	for(int i = 0; i < N_SILENT + N_HEALTHY; i++){
		bool silent = i < N_SILENT;
		snprintf(sids[i], sizeof(sids[i]), "net-%s-%02d", silent ? "silent" : "ok", i);
		agents[i] = ch_agent(&env, silent ? hwt_proxy_url(proxy) : NULL, "m-net", sids[i], INTERVAL, NULL, cmd);
		CU_ASSERT_FATAL(agents[i] > 0);
	}
	for(int i = 0; i < N_SILENT + N_HEALTHY; i++)
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));
	CU_ASSERT_EQUAL(hwt_proxy_connections(proxy), N_SILENT);
	/* a few heartbeats in steady state */
	hwt_sleep_ms(2 * INTERVAL);

	hwt_proxy_freeze(proxy);
	t_freeze = hwt_now_ms();
	for(int i = 0; i < N_SILENT; i++){
		ch_sess_t *s;
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS), GRACE + 3000));
		s = ch_find(&w, sids[i]);
		if(!s || s->state != HW_STATE_STALLED) continue;
		/* the collector's clock: declared no later than last heartbeat + grace + slack */
		CU_ASSERT(s->state_since - s->last_hb_at >= GRACE - 2); /* wall vs monotonic ms rounding */
		CU_ASSERT(s->state_since - s->last_hb_at <= GRACE + SLACK_MS);
		if(s->state_since - s->last_hb_at - GRACE > worst_over) worst_over = s->state_since - s->last_hb_at - GRACE;
		/* the observer's clock: the last heartbeat went out at most one interval before the freeze */
		CU_ASSERT(s->at_ms - t_freeze <= GRACE + SLACK_MS + 100);
		if(s->at_ms - t_freeze > worst_detect) worst_detect = s->at_ms - t_freeze;
	}
	printf("\n    frozen network -> retained stalled: worst %lld ms after the freeze (grace %d ms); "
	       "declared at most %lld ms after last heartbeat + grace\n",
			(long long)worst_detect, GRACE, (long long)worst_over);
	/* a second grace later: lost/timeout (the broker still has not noticed anything) */
	for(int i = 0; i < N_SILENT; i++)
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_LOST, HW_CAUSE_TIMEOUT), 2 * GRACE + 2000));
	/* the healthy path never flinched */
	for(int i = N_SILENT; i < N_SILENT + N_HEALTHY; i++){
		CU_ASSERT(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1));
		CU_ASSERT_EQUAL(ch_alerts(&w, sids[i], "stalled"), 0);
	}
	for(int i = 0; i < N_SILENT; i++){
		CU_ASSERT(HWT_WAIT_UNTIL(ch_alerts(&w, sids[i], "lost") == 1, 2000));
		CU_ASSERT_EQUAL(ch_alerts(&w, sids[i], "stalled"), 1);
	}
	CU_ASSERT(hwt_proxy_frozen(proxy));
	CU_ASSERT_EQUAL(hwt_proxy_connections(proxy), N_SILENT); /* nothing was closed */

	/* the network comes back: the sessions recover by themselves */
	hwt_proxy_thaw(proxy);
	for(int i = 0; i < N_SILENT; i++){
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 30000));
		CU_ASSERT(HWT_WAIT_UNTIL(ch_alerts(&w, sids[i], "recovered") == 1, 5000));
	}
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	for(int i = 0; i < N_SILENT + N_HEALTHY; i++) hwt_kill_wait(agents[i], SIGTERM, 5000);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_silent_network_is_detected_by_the_collector_timer_within_grace),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_network_silent", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
