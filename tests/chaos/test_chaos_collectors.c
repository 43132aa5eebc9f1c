/* test_chaos_collectors.c: two collectors of one group (--group: a $share group with a leadership
 * lease in the database) over the same database, under load. The leader is SIGKILLed while
 * sessions run, end and crash; the other takes over and carries on. Afterwards: every final
 * state right (retained and stored), every audit log one chain, a stall declared once (not once
 * per collector), no retained state ever went backwards, and the restarted collector stands by
 * until the new leader dies in turn. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"

#define INTERVAL 1000
#define N_RUN 10
#define N_END 3   /* exit 0 while no collector leads */
#define N_CRASH 3 /* exit 4 while no collector leads */
#define N_ALL (N_RUN + N_END + N_CRASH)
#define LEASE "2000"

static ch_env_t env;
static ch_watch_t w;
static ch_db_t db;
static ch_coll_t ca, cb;

static const char *const group_args[] = {"--group", "chaosgroup", "--leader-lease-ms", LEASE, NULL};

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(ch_db_open(&db, &env) != 0) return -1;
	return ch_watch_open(&w, env.broker.url, 256);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0){
		hwt_print_tail(ca.log, 40);
		hwt_print_tail(cb.log, 40);
	}
	ch_coll_kill(&ca, SIGTERM);
	ch_coll_kill(&cb, SIGTERM);
	ch_watch_close(&w);
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static bool log_has(const ch_coll_t *c, const char *needle)
{
	return ch_log_count(c->log, needle) > 0;
}

static void TEST_leader_killed_under_load_the_other_carries_on(void)
{
	char trig[300], end_sh[400], crash_sh[400], sim[512], sids[N_ALL][32];
	const char *run_cmd[] = {"sleep", "600", NULL};
	const char *end_cmd[] = {"sh", "-c", end_sh, NULL};
	const char *crash_cmd[] = {"sh", "-c", crash_sh, NULL};
	const char *stall_cmd[] = {"sleep", "600", NULL};
	pid_t agents[N_ALL], staller, staller2, load;
	int fd, status;
	int64_t t_kill, t_led;

	/* A leads, B stands by */
	CU_ASSERT_FATAL(ch_coll_start(&env, &ca, "chaos-ca", NULL, group_args) == 0);
	CU_ASSERT_FATAL(ch_coll_spawn(&env, &cb, "chaos-cb", NULL, group_args) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(log_has(&cb, "standing by: collector chaos-ca leads"), 15000));

	snprintf(trig, sizeof(trig), "%s/end", env.dir);
	snprintf(end_sh, sizeof(end_sh), "while [ ! -e %s ]; do sleep 0.05; done; exit 0", trig);
	snprintf(crash_sh, sizeof(crash_sh), "while [ ! -e %s ]; do sleep 0.05; done; exit 4", trig);
	for(int i = 0; i < N_ALL; i++){
		snprintf(sids[i], sizeof(sids[i]), "grp-%s-%02d", i < N_RUN ? "run" : i < N_RUN + N_END ? "end" : "crash", i);
		agents[i] = ch_agent(&env, NULL, i % 2 ? "m-g1" : "m-g2", sids[i], INTERVAL, NULL,
				i < N_RUN                           ? run_cmd
						: i < N_RUN + N_END ? end_cmd
								    : crash_cmd);
		CU_ASSERT_FATAL(agents[i] > 0);
	}
	staller = ch_agent(&env, NULL, "m-g1", "grp-stall", INTERVAL, NULL, stall_cmd);
	staller2 = ch_agent(&env, NULL, "m-g2", "grp-stall2", INTERVAL, NULL, stall_cmd);
	CU_ASSERT_FATAL(staller > 0 && staller2 > 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall2", HW_STATE_ACTIVE, -1), 20000));
	for(int i = 0; i < N_ALL; i++) CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall", HW_STATE_ACTIVE, -1), 20000));

	/* a stall with two collectors up: declared once */
	CU_ASSERT_FATAL(kill(staller, SIGSTOP) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall", HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS), 3 * INTERVAL + 3000));
	hwt_sleep_ms(INTERVAL);
	CU_ASSERT_EQUAL(ch_alerts(&w, "grp-stall", "stalled"), 1);
	CU_ASSERT_FATAL(kill(staller, SIGCONT) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall", HW_STATE_ACTIVE, -1), 10000));

	/* load, then the leader dies; sessions end while nobody leads */
	snprintf(sim, sizeof(sim), "%s/bench/hwbench_sim", hwt_build_dir());
	{
		const char *argv[] = {sim, "load", "--broker", env.broker.url, "--sessions", "40", "--seconds", "12", "--rate",
				"800", "--prefix", "grpload-", "--machine", "m-gload", NULL};
		char log[400];
		snprintf(log, sizeof(log), "%s/load.log", env.dir);
		load = hwt_spawn(argv, log);
		CU_ASSERT_FATAL(load > 0);
	}
	hwt_sleep_ms(2500);
	/* a second agent freezes right before the leader dies: its stall spans the takeover */
	CU_ASSERT_FATAL(kill(staller2, SIGSTOP) == 0);
	t_kill = hwt_now_ms();
	ch_coll_kill(&ca, SIGKILL);
	fd = open(trig, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);

	/* B takes over: the lease runs out, B takes it, waits a lease, loads and subscribes */
	CU_ASSERT_FATAL(ch_presence_wait(env.broker.url, cb.id, "online", 30000) == 0);
	t_led = hwt_now_ms();
	printf("\n    leader SIGKILLed -> the other one leads after %lld ms (lease %s ms)\n", (long long)(t_led - t_kill), LEASE);
	CU_ASSERT(log_has(&cb, "leading group chaosgroup"));
	CU_ASSERT_EQUAL(hwt_wait_pid(load, 60000, &status), 0);

	/* the truth, retained and stored */
	for(int i = 0; i < N_ALL; i++){
		int st = i < N_RUN ? HW_STATE_ACTIVE : i < N_RUN + N_END ? HW_STATE_COMPLETED : HW_STATE_CRASHED;
		const char *sname = i < N_RUN ? "active" : i < N_RUN + N_END ? "completed" : "crashed";
		const char *final = i < N_RUN ? "active/none" : i < N_RUN + N_END ? "completed/exit_code" : "crashed/exit_code";
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], st, i < N_RUN ? -1 : HW_CAUSE_EXIT_CODE), 20000));
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sids[i], sname, i < N_RUN ? NULL : "exit_code"), 30000));
		CU_ASSERT(ch_db_chain_wait(&db, sids[i], final, 20000) == 0);
		if(i < N_RUN){
			CU_ASSERT_EQUAL(ch_alerts(&w, sids[i], "stalled"), 0);
			CU_ASSERT_EQUAL(ch_alerts(&w, sids[i], "lost"), 0);
		}
		if(i >= N_RUN){
			CU_ASSERT_EQUAL(hwt_wait_pid(agents[i], 10000, &status), 0);
			agents[i] = 0;
		}
	}
	for(int i = 0; i < 40; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "grpload-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sid, HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 20000));
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sid, "completed", "exit_code"), 30000));
	}
	CU_ASSERT_EQUAL(ch_alerts(&w, "grp-stall", "stalled"), 1);
	CU_ASSERT(ch_db_chain_wait(&db, "grp-stall", "active/none", 10000) == 0);
	/* the stall across the takeover: declared by the new leader, once */
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall2", HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS) ||
					ch_is(&w, "grp-stall2", HW_STATE_LOST, -1),
			20000));
	CU_ASSERT_EQUAL(ch_alerts(&w, "grp-stall2", "stalled"), 1);

	/* A comes back: it stands by; then B dies and A leads again */
	CU_ASSERT_FATAL(ch_coll_spawn(&env, &ca, "chaos-ca", NULL, group_args) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(ch_log_count(ca.log, "standing by: collector chaos-cb leads") > 0, 15000));
	ch_coll_kill(&cb, SIGKILL);
	CU_ASSERT(ch_presence_wait(env.broker.url, ca.id, "online", 30000) == 0);
	for(int i = 0; i < N_RUN; i++){
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));
		CU_ASSERT_EQUAL(ch_alerts(&w, sids[i], "stalled"), 0);
	}
	hwt_sleep_ms(2 * INTERVAL);
	for(int i = 0; i < N_RUN; i++) CU_ASSERT(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1));
	/* the frozen one: still one stall alert after three leaders, and one lost at most */
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "grp-stall2", HW_STATE_LOST, -1), 20000));
	CU_ASSERT_EQUAL(ch_alerts(&w, "grp-stall2", "stalled"), 1);
	CU_ASSERT_EQUAL(ch_alerts(&w, "grp-stall2", "lost"), 1);
	{
		/* lost/timeout by the timer, then lost/will once the broker's keepalive gives up on it */
		ch_sess_t *s2 = ch_find(&w, "grp-stall2");
		char final[48];
		snprintf(final, sizeof(final), "lost/%s", s2 ? hw_cause_name(s2->cause) : "timeout");
		CU_ASSERT(ch_db_chain_wait(&db, "grp-stall2", final, 20000) == 0);
	}
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	for(int i = 0; i < N_ALL; i++){
		if(agents[i] > 0) hwt_kill_wait(agents[i], SIGTERM, 5000);
	}
	hwt_kill_wait(staller, SIGTERM, 5000);
	kill(staller2, SIGCONT);
	hwt_kill_wait(staller2, SIGTERM, 5000);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_leader_killed_under_load_the_other_carries_on),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_collectors", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
