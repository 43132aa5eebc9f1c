/* test_collector_agent.c: heartwire-collector against a real mosquitto, a real MongoDB-compatible
 * store and the real heartwire-agent: exits, kills, freezes, a stale will, and a collector
 * SIGKILL + restart that must reconcile every session, in the retained state and in the
 * database. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "test_collector_common.h"

#define INTERVAL 200
#define GRACE (3 * INTERVAL)

static tc_env_t env;
static tc_watch_t w;

static int suite_init(void)
{
	mongoc_init();
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	return tc_watch_open(&w, env.broker.url);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 80);
	tc_watch_close(&w);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

/* Kills the supervised child of a session whose agent was killed (it would linger). */
static void kill_child(const char *sid)
{
	tc_state_t *s = tc_find(&w, sid);

	if(s && s->pid > 1) kill((pid_t)s->pid, SIGKILL);
}

static void TEST_exit_0_is_completed(void)
{
	const char *cmd[] = {"sh", "-c", "sleep 0.3; exit 0", NULL};
	pid_t a = tc_agent(&env, "m1", "s-exit0", INTERVAL, cmd);
	int status = -1;

	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-exit0", HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 10000));
	CU_ASSERT_EQUAL(hwt_wait_pid(a, 5000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "s-exit0", "completed", "exit_code"), 10000));
	CU_ASSERT_EQUAL(tc_alerts(&w, "s-exit0", "crashed"), 0);
}

static void TEST_exit_3_is_crashed_exit_code(void)
{
	const char *cmd[] = {"sh", "-c", "sleep 0.3; exit 3", NULL};
	pid_t a = tc_agent(&env, "m1", "s-exit3", INTERVAL, cmd);
	int status = -1, code = -1;
	char st[32] = "", ca[32] = "";
	tc_state_t *s;

	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-exit3", HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 10000));
	s = tc_find(&w, "s-exit3");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT(s->has_exit && s->exit.code == 3 && s->exit.signal < 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(a, 5000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "s-exit3", "crashed", "exit_code"), 10000));
	CU_ASSERT_EQUAL(tc_db_session(&env, "s-exit3", st, sizeof(st), ca, sizeof(ca), NULL, &code), 0);
	CU_ASSERT_EQUAL(code, 3);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_alerts(&w, "s-exit3", "crashed") == 1, 3000));
}

static void TEST_agent_sigkill_is_lost_will(void)
{
	const char *cmd[] = {"sleep", "60", NULL};
	pid_t a = tc_agent(&env, "m1", "s-kill", INTERVAL, cmd);
	int64_t t0;
	tc_state_t *s;

	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "s-kill", HW_STATE_ACTIVE, -1), 10000));
	t0 = hwt_now_ms();
	CU_ASSERT(hwt_kill_wait(a, SIGKILL, 5000) >= 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-kill", HW_STATE_LOST, HW_CAUSE_WILL), 5000));
	s = tc_find(&w, "s-kill");
	printf("\n    agent SIGKILL -> retained lost/will: %lld ms\n", (long long)(s->at_ms - t0));
	CU_ASSERT(s->at_ms - t0 <= 1000);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_alerts(&w, "s-kill", "lost") == 1, 3000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "s-kill", "lost", "will"), 10000));
	kill_child("s-kill");
}

static void TEST_agent_sigstop_stalls_within_grace_and_sigcont_recovers(void)
{
	const char *cmd[] = {"sleep", "60", NULL};
	pid_t a = tc_agent(&env, "m1", "s-stop", INTERVAL, cmd);
	int64_t t0, stalled_at, last_hb, since;
	tc_state_t *s;

	CU_ASSERT_FATAL(a > 0);
	/* a few heartbeats first, so the stall is measured from a steady state */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "s-stop", HW_STATE_ACTIVE, -1) && tc_find(&w, "s-stop")->updates >= 3, 10000));
	t0 = hwt_now_ms();
	CU_ASSERT_FATAL(kill(a, SIGSTOP) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-stop", HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS), GRACE + 2000));
	s = tc_find(&w, "s-stop");
	stalled_at = s->at_ms;
	last_hb = s->last_hb_at;
	since = s->state_since;
	printf("\n    agent SIGSTOP -> retained stalled: %lld ms (grace %d ms); last heartbeat -> stall: %lld ms\n",
			(long long)(stalled_at - t0), GRACE, (long long)(since - last_hb));
	CU_ASSERT(stalled_at - t0 <= GRACE + 250);
	CU_ASSERT(since - last_hb >= GRACE && since - last_hb <= GRACE + 250);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_alerts(&w, "s-stop", "stalled") == 1, 2000));
	CU_ASSERT_FATAL(kill(a, SIGCONT) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-stop", HW_STATE_ACTIVE, -1), 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_alerts(&w, "s-stop", "recovered") == 1, 2000));
	for(int i = 0; i < w.na; i++){
		if(strcmp(w.a[i].id, "s-stop") == 0 && strcmp(w.a[i].alert, "recovered") == 0) CU_ASSERT(w.a[i].false_alarm);
	}
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "s-stop", "active", NULL), 10000));
	hwt_kill_wait(a, SIGTERM, 5000);
	CU_ASSERT(HWT_WAIT_UNTIL(
			tc_is(&w, "s-stop", HW_STATE_CRASHED, HW_CAUSE_SIGNAL) || tc_is(&w, "s-stop", HW_STATE_COMPLETED, -1),
			5000));
}

static void TEST_stale_will_leaves_live_session_alone(void)
{
	const char *cmd[] = {"sleep", "60", NULL};
	pid_t a = tc_agent(&env, "m1", "s-stale", INTERVAL, cmd);
	tc_pub_t p;
	tc_state_t *s;
	int64_t epoch, sent;

	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "s-stale", HW_STATE_ACTIVE, -1), 10000));
	s = tc_find(&w, "s-stale");
	epoch = s->epoch;
	CU_ASSERT_FATAL(epoch >= 1);
	CU_ASSERT_FATAL(tc_pub_open(&p, env.broker.url) == 0);
	/* the will of an older connection, arriving late (retained, as the broker would) */
	CU_ASSERT_FATAL(tc_pub_status(&p, "m1", "s-stale", HW_STATUS_LOST, epoch - 1, 0) == 0);
	sent = hw_time_ms();
	/* wait until the collector has taken heartbeats sent after the will */
	CU_ASSERT(HWT_WAIT_UNTIL((tc_pump(&w), tc_find(&w, "s-stale")->last_hb_at > sent + 2 * INTERVAL), 5000));
	s = tc_find(&w, "s-stale");
	CU_ASSERT_EQUAL(s->state, HW_STATE_ACTIVE);
	CU_ASSERT_EQUAL(s->epoch, epoch);
	CU_ASSERT_EQUAL(tc_alerts(&w, "s-stale", "lost"), 0);
	CU_ASSERT(tc_db_is(&env, "s-stale", "active", NULL));
	/* the agent's own will (same epoch) is not stale */
	CU_ASSERT(hwt_kill_wait(a, SIGKILL, 5000) >= 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-stale", HW_STATE_LOST, HW_CAUSE_WILL), 5000));
	kill_child("s-stale");
	tc_pub_close(&p);
}

static void TEST_collector_sigkill_and_restart_reconciles(void)
{
	const char *run[] = {"sleep", "60", NULL};
	const char *end[] = {"sh", "-c", "sleep 1; exit 0", NULL};
	const char *crash[] = {"sh", "-c", "sleep 1; exit 4", NULL};
	pid_t a_run = tc_agent(&env, "m2", "r-run", INTERVAL, run);
	pid_t a_kill = tc_agent(&env, "m2", "r-kill", INTERVAL, run);
	pid_t a_end, a_crash;
	int64_t restarted;
	int status;

	CU_ASSERT_FATAL(a_run > 0 && a_kill > 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(
			tc_is(&w, "r-run", HW_STATE_ACTIVE, -1) && tc_is(&w, "r-kill", HW_STATE_ACTIVE, -1), 10000));
	/* the collector dies; meanwhile one agent is killed and two sessions end */
	tc_collector_kill(&env, SIGKILL);
	a_end = tc_agent(&env, "m2", "r-end", INTERVAL, end);
	a_crash = tc_agent(&env, "m2", "r-crash", INTERVAL, crash);
	CU_ASSERT(hwt_kill_wait(a_kill, SIGKILL, 5000) >= 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(a_end, 10000, &status), 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(a_crash, 10000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 4);
	/* a new collector process with the same id and database */
	CU_ASSERT_FATAL(tc_collector_start(&env, NULL) == 0);
	restarted = hw_time_ms();
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "r-kill", HW_STATE_LOST, HW_CAUSE_WILL), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "r-end", HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "r-crash", HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "r-run", HW_STATE_ACTIVE, -1), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "r-kill", "lost", "will"), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "r-end", "completed", "exit_code"), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "r-crash", "crashed", "exit_code"), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "r-run", "active", NULL), 10000));
	/* sessions from before the restart are still right */
	CU_ASSERT(tc_db_is(&env, "s-exit3", "crashed", "exit_code"));
	CU_ASSERT(tc_db_is(&env, "s-exit0", "completed", "exit_code"));
	/* the running session was never declared stalled across the restart (start-up grace):
	 * watch it for three grace periods of heartbeats after the restart */
	CU_ASSERT(HWT_WAIT_UNTIL((tc_pump(&w), tc_find(&w, "r-run")->last_hb_at > restarted + 3 * GRACE), 10000));
	CU_ASSERT_EQUAL(tc_alerts(&w, "r-run", "stalled"), 0);
	CU_ASSERT(tc_is(&w, "r-run", HW_STATE_ACTIVE, -1));
	hwt_kill_wait(a_run, SIGTERM, 5000);
	kill_child("r-kill");
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_exit_0_is_completed),
		HWTEST(TEST_exit_3_is_crashed_exit_code),
		HWTEST(TEST_agent_sigkill_is_lost_will),
		HWTEST(TEST_agent_sigstop_stalls_within_grace_and_sigcont_recovers),
		HWTEST(TEST_stale_will_leaves_live_session_alone),
		HWTEST(TEST_collector_sigkill_and_restart_reconciles),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_agent", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
