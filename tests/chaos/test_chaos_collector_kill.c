/* test_chaos_collector_kill.c: the collector is SIGKILLed twice (once while idle sessions run,
 * once while it is still taking in its backlog under load) and restarted, while 24 real agents
 * run and some of their sessions end, crash or lose their agent meanwhile. Afterwards: no
 * false stalled/lost/crashed, every ended session in its true state in the retained state and
 * in the database, every session's audit log one chain with each transition exactly once, and
 * no retained state ever went backwards. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "chaos.h"

#define INTERVAL 1000
#define N_RUN 12  /* keep running throughout */
#define N_END 4   /* exit 0 while the collector is down */
#define N_CRASH 4 /* exit 3 while the collector is down */
#define N_KILL 4  /* agent SIGKILLed while the collector is down */
#define N_ALL (N_RUN + N_END + N_CRASH + N_KILL)

static ch_env_t env;
static ch_watch_t w;
static ch_db_t db;
static ch_coll_t coll;
static pid_t agents[N_ALL];
static char sids[N_ALL][32];
static char trigger[300];

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(ch_db_open(&db, &env) != 0) return -1;
	if(ch_coll_start(&env, &coll, "chaos-kill", NULL, NULL) != 0) return -1;
	return ch_watch_open(&w, env.broker.url, 256);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(coll.log, 60);
	for(int i = 0; i < N_ALL; i++){
		if(agents[i] > 0) hwt_kill_wait(agents[i], SIGTERM, 5000);
	}
	ch_coll_kill(&coll, SIGTERM);
	ch_watch_close(&w);
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static const char *group(int i)
{
	return i < N_RUN ? "run" : i < N_RUN + N_END ? "end" : i < N_RUN + N_END + N_CRASH ? "crash" : "kill";
}

static void kill_child(int i)
{
	ch_sess_t *s = ch_find(&w, sids[i]);

	if(s && s->pid > 1) kill((pid_t)s->pid, SIGKILL);
}

static void TEST_collector_sigkill_twice_while_sessions_run_and_end(void)
{
	char script_end[400], script_crash[400];
	const char *run_cmd[] = {"sleep", "600", NULL};
	const char *end_cmd[] = {"sh", "-c", script_end, NULL};
	const char *crash_cmd[] = {"sh", "-c", script_crash, NULL};
	char sim[512], rate[] = "1500";
	pid_t load;
	int fd, status;

	snprintf(trigger, sizeof(trigger), "%s/end-now", env.dir);
	snprintf(script_end, sizeof(script_end), "while [ ! -e %s ]; do sleep 0.05; done; exit 0", trigger);
	snprintf(script_crash, sizeof(script_crash), "while [ ! -e %s ]; do sleep 0.05; done; exit 3", trigger);
	for(int i = 0; i < N_ALL; i++){
		const char *const *cmd = i < N_RUN || i >= N_RUN + N_END + N_CRASH ? run_cmd
				: i < N_RUN + N_END                                ? end_cmd
										   : crash_cmd;
		snprintf(sids[i], sizeof(sids[i]), "ck-%s-%02d", group(i), i);
		agents[i] = ch_agent(&env, NULL, i % 2 ? "m-a" : "m-b", sids[i], INTERVAL, NULL, cmd);
		CU_ASSERT_FATAL(agents[i] > 0);
	}
	for(int i = 0; i < N_ALL; i++) CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));

	/* round 1: the collector dies; meanwhile 4 sessions complete, 4 crash, 4 agents die */
	ch_coll_kill(&coll, SIGKILL);
	CU_ASSERT(ch_presence_wait(env.broker.url, coll.id, "offline", 5000) == 0);
	fd = open(trigger, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for(int i = N_RUN; i < N_RUN + N_END + N_CRASH; i++){
		CU_ASSERT_EQUAL(hwt_wait_pid(agents[i], 15000, &status), 0);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == (i < N_RUN + N_END ? 0 : 3));
		agents[i] = 0;
	}
	for(int i = N_RUN + N_END + N_CRASH; i < N_ALL; i++){
		CU_ASSERT(hwt_kill_wait(agents[i], SIGKILL, 5000) >= 0);
		agents[i] = 0;
		kill_child(i);
	}
	/* down for longer than a grace period: the running sessions' heartbeats wait in the broker */
	hwt_sleep_ms(3 * INTERVAL + 500);

	/* round 2: back up under load (1500 hb/s from 60 simulated sessions), killed again while it
	 * takes in the backlog, and restarted */
	snprintf(sim, sizeof(sim), "%s/bench/hwbench_sim", hwt_build_dir());
	{
		const char *argv[] = {sim, "load", "--broker", env.broker.url, "--sessions", "60", "--seconds", "12", "--rate",
				rate, "--prefix", "ckload-", "--machine", "m-load", NULL};
		char log[400];
		snprintf(log, sizeof(log), "%s/load.log", env.dir);
		load = hwt_spawn(argv, log);
		CU_ASSERT_FATAL(load > 0);
	}
	CU_ASSERT_FATAL(ch_coll_start(&env, &coll, "chaos-kill", NULL, NULL) == 0);
	hwt_sleep_ms(700);
	ch_coll_kill(&coll, SIGKILL);
	CU_ASSERT(ch_presence_wait(env.broker.url, coll.id, "offline", 5000) == 0);
	hwt_sleep_ms(1500);
	CU_ASSERT_FATAL(ch_coll_start(&env, &coll, "chaos-kill", NULL, NULL) == 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(load, 60000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* the truth, in the retained state */
	for(int i = 0; i < N_ALL; i++){
		int st = HW_STATE_ACTIVE, ca = -1;
		if(i >= N_RUN){
			if(i < N_RUN + N_END){
				st = HW_STATE_COMPLETED;
				ca = HW_CAUSE_EXIT_CODE;
			}else if(i < N_RUN + N_END + N_CRASH){
				st = HW_STATE_CRASHED;
				ca = HW_CAUSE_EXIT_CODE;
			}else{
				st = HW_STATE_LOST;
				ca = HW_CAUSE_WILL;
			}
		}
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], st, ca), 20000));
		if(!ch_is(&w, sids[i], st, ca)) fprintf(stderr, "%s is not %s\n", sids[i], hw_state_name(st));
	}
	/* the simulated sessions all ended cleanly (exit 0), whatever the collector saw of them */
	for(int i = 0; i < 60; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "ckload-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sid, HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 20000));
	}
	/* ... and in the database */
	for(int i = 0; i < N_ALL; i++){
		const char *st = "active", *ca = NULL;
		if(i >= N_RUN){
			if(i < N_RUN + N_END){
				st = "completed";
				ca = "exit_code";
			}else if(i < N_RUN + N_END + N_CRASH){
				st = "crashed";
				ca = "exit_code";
			}else{
				st = "lost";
				ca = "will";
			}
		}
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sids[i], st, ca), 20000));
	}
	for(int i = N_RUN + N_END; i < N_RUN + N_END + N_CRASH; i++){
		int code = -1;
		CU_ASSERT(ch_db_session(&db, sids[i], NULL, 0, NULL, 0, NULL, &code) == 0 && code == 3);
	}

	/* no false alarm: the running sessions were never stalled, lost or crashed */
	for(int i = 0; i < N_ALL; i++){
		ch_sess_t *s = ch_find(&w, sids[i]);
		CU_ASSERT_FATAL(s != NULL);
		CU_ASSERT_EQUAL(s->alerts[0], 0);                                    /* stalled */
		CU_ASSERT_EQUAL(s->alerts[4], 0);                                    /* recovered */
		CU_ASSERT_EQUAL(s->alerts[1], i >= N_RUN + N_END + N_CRASH ? 1 : 0); /* lost: the killed agents only */
		CU_ASSERT_EQUAL(s->alerts[2], (i >= N_RUN + N_END && i < N_RUN + N_END + N_CRASH) ? 1 : 0);
		if(s->alerts[0] || s->alerts[4]) fprintf(stderr, "%s: false stalled/recovered alerts\n", sids[i]);
	}
	/* the audit log: each transition exactly once, one chain to the final state */
	for(int i = 0; i < N_ALL; i++){
		const char *final = i < N_RUN                 ? "active/none"
				: i < N_RUN + N_END           ? "completed/exit_code"
				: i < N_RUN + N_END + N_CRASH ? "crashed/exit_code"
							      : "lost/will";
		CU_ASSERT(ch_db_chain_wait(&db, sids[i], final, 10000) == 0);
	}
	for(int i = 0; i < 60; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "ckload-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sid, "completed", "exit_code"), 20000));
		CU_ASSERT(ch_db_chain_wait(&db, sid, "completed/exit_code", 10000) == 0);
	}
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_collector_sigkill_twice_while_sessions_run_and_end),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_collector_kill", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
