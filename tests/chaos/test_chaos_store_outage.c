/* test_chaos_store_outage.c: the database goes away under a running fleet: stopped (SIGSTOP)
 * then continued, and killed (SIGKILL) then restarted. Meanwhile sessions end, agents die and
 * acknowledged agent events arrive. The collector must keep tracking in memory and publishing
 * (the retained states move during the outage), buffer the writes within its bound, and the
 * database must converge to the truth afterwards: every session document right, every
 * acknowledged event in the log, every audit log one chain. A third round uses a buffer far too
 * small for the outage: writes are dropped and counted (audit events in between are lost), and
 * every session document still converges, those of sessions that ended while their writes were
 * being dropped included (they are re-written from memory). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"

#define INTERVAL 1000
#define N_RUN 8
#define N_END 4  /* two exit 0, two exit 6, during the outage */
#define N_KILL 2 /* agent SIGKILLed during the outage */
#define N_ALL (N_RUN + N_END + N_KILL)
#define N_EVENTS 300

static ch_env_t env;
static ch_db_t db;

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(env.store.external){
		fprintf(stderr, "the store outage suite needs a store it starts itself (HEARTWIRE_TEST_MONGO_URI is set)\n");
		return -1;
	}
	return ch_db_open(&db, &env);
}

static int suite_cleanup(void)
{
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

typedef enum { OUT_STOP, OUT_KILL } outage_t;

static long summary_num(ch_watch_t *w, const char *key)
{
	char k[64];
	const char *p;

	ch_pump(w);
	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(w->summary, k);
	return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

static void outage_round(const char *tag, outage_t kind, const char *buffer)
{
	const char *extra[] = {"--store-buffer", buffer, NULL};
	char trig[300], end0[400], end6[400], cid[64];
	const char *run_cmd[] = {"sleep", "600", NULL};
	const char *end0_cmd[] = {"sh", "-c", end0, NULL};
	const char *end6_cmd[] = {"sh", "-c", end6, NULL};
	pid_t agents[N_ALL];
	char sids[N_ALL][32], hand[32];
	ch_coll_t coll;
	ch_watch_t w;
	hw_mqtt_t *pub;
	bool small = strcmp(buffer, "100000") != 0;
	int fd, status;

	snprintf(cid, sizeof(cid), "chaos-store-%s", tag);
	CU_ASSERT_FATAL(ch_coll_start(&env, &coll, cid, NULL, extra) == 0);
	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, 128) == 0);
	snprintf(trig, sizeof(trig), "%s/%s-end", env.dir, tag);
	snprintf(end0, sizeof(end0), "while [ ! -e %s ]; do sleep 0.05; done; exit 0", trig);
	snprintf(end6, sizeof(end6), "while [ ! -e %s ]; do sleep 0.05; done; exit 6", trig);
	for(int i = 0; i < N_ALL; i++){
		const char *const *cmd = run_cmd;
		if(i >= N_RUN && i < N_RUN + N_END) cmd = (i - N_RUN) % 2 ? end6_cmd : end0_cmd;
		snprintf(sids[i], sizeof(sids[i]), "%s-%02d", tag, i);
		agents[i] = ch_agent(&env, NULL, "m-st", sids[i], INTERVAL, NULL, cmd);
		CU_ASSERT_FATAL(agents[i] > 0);
	}
	for(int i = 0; i < N_ALL; i++) CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));
	/* a hand-made session whose acknowledged events must all reach the log */
	snprintf(hand, sizeof(hand), "%s-hand", tag);
	pub = ch_client(env.broker.url, "chpub", NULL);
	CU_ASSERT_FATAL(pub != NULL);
	CU_ASSERT_FATAL(ch_pub_birth(pub, "m-st", hand, 1, 60000) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_db_is(&db, hand, "starting", NULL), 20000));

	/* the outage */
	if(kind == OUT_STOP) CU_ASSERT_FATAL(hwt_store_pause(&env.store) == 0);
	if(kind == OUT_KILL) CU_ASSERT_FATAL(hwt_store_kill(&env.store) == 0);
	fd = open(trig, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	for(int i = N_RUN + N_END; i < N_ALL; i++){
		CU_ASSERT(hwt_kill_wait(agents[i], SIGKILL, 5000) >= 0);
		agents[i] = 0;
	}
	for(int k = 1; k <= N_EVENTS; k++) CU_ASSERT(ch_pub_ev(pub, "m-st", hand, 1, k, HW_EV_ACTION, "chaos") == 0);
	CU_ASSERT(ch_pub_ev(pub, "m-st", hand, 1, N_EVENTS + 1, HW_EV_IDLE, NULL) == 0);
	/* tracking and publishing go on without the database */
	for(int i = N_RUN; i < N_RUN + N_END; i++){
		int code = (i - N_RUN) % 2 ? 6 : 0;
		CU_ASSERT(HWT_WAIT_UNTIL(
				ch_is(&w, sids[i], code ? HW_STATE_CRASHED : HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 10000));
		CU_ASSERT_EQUAL(hwt_wait_pid(agents[i], 10000, &status), 0);
		agents[i] = 0;
	}
	for(int i = N_RUN + N_END; i < N_ALL; i++)
		CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_LOST, HW_CAUSE_WILL), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, hand, HW_STATE_IDLE, -1), 10000));
	hwt_sleep_ms(4000); /* a few more heartbeats while the database is away */
	for(int i = 0; i < N_RUN; i++) CU_ASSERT(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1));
	if(small){
		CU_ASSERT(HWT_WAIT_UNTIL(summary_num(&w, "store_dropped") > 0, 10000));
	}else{
		CU_ASSERT_EQUAL(summary_num(&w, "store_dropped"), 0);
	}

	/* back */
	if(kind == OUT_STOP) CU_ASSERT_FATAL(hwt_store_resume(&env.store) == 0);
	if(kind == OUT_KILL) CU_ASSERT_FATAL(hwt_store_start(&env.store) == 0);

	/* the database converges to the truth */
	for(int i = 0; i < N_ALL; i++){
		const char *st = "active", *ca = NULL, *final = "active/none";
		if(i >= N_RUN && i < N_RUN + N_END){
			bool crash = (i - N_RUN) % 2;
			st = crash ? "crashed" : "completed";
			ca = "exit_code";
			final = crash ? "crashed/exit_code" : "completed/exit_code";
		}else if(i >= N_RUN + N_END){
			st = "lost";
			ca = "will";
			final = "lost/will";
		}
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sids[i], st, ca), 60000));
		if(!small) CU_ASSERT(ch_db_chain_wait(&db, sids[i], final, 20000) == 0);
	}
	/* the hand-made session sends nothing after its idle event: like the ended ones, only the
	 * re-write from memory brings it to the database when its writes were dropped */
	CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, hand, "idle", NULL), 30000));
	if(!small){
		/* every acknowledged event is in the log, once */
		int64_t missing = 0;
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_agent_event(&db, hand, 1, N_EVENTS + 1) == 1, 30000));
		for(int k = 1; k <= N_EVENTS + 1; k++) missing += ch_db_agent_event(&db, hand, 1, k) != 1;
		CU_ASSERT_EQUAL(missing, 0);
		if(missing) fprintf(stderr, "%s: %lld acknowledged events missing from the log\n", tag, (long long)missing);
	}
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	if(kind == OUT_KILL){
		/* a stopped server only makes the write wait (socket timeout 30 s); a killed one fails it */
		CU_ASSERT(ch_log_count(coll.log, "database write failed") >= 1);
		CU_ASSERT(ch_log_count(coll.log, "database back after") >= 1);
	}
	if(small){
		CU_ASSERT(ch_log_count(coll.log, "store buffer full") >= 1);
	}else{
		CU_ASSERT_EQUAL(ch_log_count(coll.log, "store buffer full"), 0);
	}
	if(CU_get_number_of_failures() > 0) hwt_print_tail(coll.log, 40);

	for(int i = 0; i < N_ALL; i++){
		if(agents[i] > 0) hwt_kill_wait(agents[i], SIGTERM, 5000);
	}
	hw_mqtt_free(pub);
	ch_watch_close(&w);
	ch_coll_kill(&coll, SIGTERM);
}

static void TEST_store_stopped_then_continued(void)
{
	outage_round("sstop", OUT_STOP, "100000");
}

static void TEST_store_killed_then_restarted(void)
{
	outage_round("skill", OUT_KILL, "100000");
}

static void TEST_store_outage_beyond_the_buffer_still_converges(void)
{
	outage_round("ssmall", OUT_KILL, "40");
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_store_stopped_then_continued),
		HWTEST(TEST_store_killed_then_restarted),
		HWTEST(TEST_store_outage_beyond_the_buffer_still_converges),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_store_outage", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
