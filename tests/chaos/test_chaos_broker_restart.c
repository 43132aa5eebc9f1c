/* test_chaos_broker_restart.c: the broker (persistence on) restarts, and freezes for longer
 * than the agents' keepalive, while real agents run and some sessions end during the outage.
 * Afterwards every running session is active again under a newer epoch (the agents reconnected
 * by themselves), the ones that ended meanwhile are completed/crashed with their true exit
 * code, flaps are counted in state/summary exactly as the audit log shows them, each audit log
 * is one chain, and no retained state went backwards. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"

#define INTERVAL 1000
#define N_RUN 12
#define N_END 4 /* end while the broker is down: two exit 0, two exit 5 */
#define N_ALL (N_RUN + N_END)

static ch_env_t env;
static ch_watch_t w;
static ch_db_t db;
static ch_coll_t coll;

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(ch_db_open(&db, &env) != 0) return -1;
	return ch_coll_start(&env, &coll, "chaos-broker", NULL, NULL);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0){
		hwt_print_tail(coll.log, 60);
		hwt_print_tail(env.broker.log, 30);
	}
	ch_coll_kill(&coll, SIGTERM);
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

/* The "flaps" counter of the last state/summary, -1 when none came. */
static long summary_flaps(ch_watch_t *wt)
{
	const char *p;

	ch_pump(wt);
	p = strstr(wt->summary, "\"flaps\":");
	return p ? strtol(p + 8, NULL, 10) : -1;
}

/* Transitions in the audit log of sid that are flaps: from stalled or lost into a live state
 * under a newer epoch (the epoch of the event is the new one; the from-state belongs to the
 * old). Counted by walking the session's transitions in time order. */
static int db_flaps(const char *sid)
{
	mongoc_collection_t *c = mongoc_client_get_collection(db.c, db.db, "events");
	bson_t f = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	int64_t last_epoch = -1;
	int n = 0;

	BSON_APPEND_UTF8(&f, "session", sid);
	BSON_APPEND_UTF8(&f, "kind", "transition");
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "at", 1);
	bson_append_document_end(&opts, &sort);
	cur = mongoc_collection_find_with_opts(c, &f, &opts, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it, sub;
		char from[24] = "", to[24] = "";
		int64_t epoch = 0;
		if(bson_iter_init_find(&it, doc, "epoch")) epoch = bson_iter_as_int64(&it);
		if(bson_iter_init_find(&it, doc, "from") && bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "state"))
			snprintf(from, sizeof(from), "%s", bson_iter_utf8(&sub, NULL));
		if(bson_iter_init_find(&it, doc, "to") && bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "state"))
			snprintf(to, sizeof(to), "%s", bson_iter_utf8(&sub, NULL));
		if(last_epoch >= 0 && epoch > last_epoch && (!strcmp(from, "stalled") || !strcmp(from, "lost")) &&
				(!strcmp(to, "starting") || !strcmp(to, "active") || !strcmp(to, "idle")))
			n++;
		last_epoch = epoch;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	bson_destroy(&opts);
	mongoc_collection_destroy(c);
	return n;
}

/* Runs N_ALL agents (extra agent options in opts), applies the outage (restart: stop, end some
 * sessions, start; or freeze: SIGSTOP for freeze_ms, end some sessions, SIGCONT), and checks. */
static void outage_round(const char *tag, bool freeze, int freeze_ms, const char *const *opts)
{
	char trig[300], end0[400], end5[400];
	const char *run_cmd[] = {"sleep", "600", NULL};
	const char *end0_cmd[] = {"sh", "-c", end0, NULL};
	const char *end5_cmd[] = {"sh", "-c", end5, NULL};
	pid_t agents[N_ALL];
	char sids[N_ALL][32];
	int64_t epochs[N_ALL];
	long flaps0, flaps_db = 0;
	int fd, status;

	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, 128) == 0);
	snprintf(trig, sizeof(trig), "%s/%s-end", env.dir, tag);
	snprintf(end0, sizeof(end0), "while [ ! -e %s ]; do sleep 0.05; done; exit 0", trig);
	snprintf(end5, sizeof(end5), "while [ ! -e %s ]; do sleep 0.05; done; exit 5", trig);
	for(int i = 0; i < N_ALL; i++){
		snprintf(sids[i], sizeof(sids[i]), "%s-%s-%02d", tag, i < N_RUN ? "run" : "end", i);
		agents[i] = ch_agent(&env, NULL, "m-br", sids[i], INTERVAL, opts,
				i < N_RUN                         ? run_cmd
						: (i - N_RUN) % 2 ? end5_cmd
								  : end0_cmd);
		CU_ASSERT_FATAL(agents[i] > 0);
	}
	for(int i = 0; i < N_ALL; i++){
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_ACTIVE, -1), 20000));
		epochs[i] = ch_find(&w, sids[i])->epoch;
	}
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(summary_flaps(&w) >= 0, 5000));
	flaps0 = summary_flaps(&w);
	ch_watch_close(&w);

	CU_ASSERT_FATAL((freeze ? hwt_broker_pause(&env.broker) : hwt_broker_stop(&env.broker)) == 0);
	fd = open(trig, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	hwt_sleep_ms(freeze ? freeze_ms : 2500);
	CU_ASSERT_FATAL((freeze ? hwt_broker_resume(&env.broker) : hwt_broker_start(&env.broker, NULL)) == 0);
	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, 128) == 0);

	/* the sessions that ended during the outage report it once the broker is back */
	for(int i = N_RUN; i < N_ALL; i++){
		int code = (i - N_RUN) % 2 ? 5 : 0;
		CU_ASSERT_EQUAL(hwt_wait_pid(agents[i], 40000, &status), 0);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == code);
		agents[i] = 0;
		CU_ASSERT(HWT_WAIT_UNTIL(
				ch_is(&w, sids[i], code ? HW_STATE_CRASHED : HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 20000));
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sids[i], code ? "crashed" : "completed", "exit_code"), 20000));
	}
	/* the running ones are active again, under a newer epoch (their agents reconnected) */
	for(int i = 0; i < N_RUN; i++){
		CU_ASSERT(HWT_WAIT_UNTIL(
				ch_is(&w, sids[i], HW_STATE_ACTIVE, -1) && ch_find(&w, sids[i])->epoch > epochs[i], 30000));
		CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, sids[i], "active", NULL), 20000));
	}
	/* flaps: counted in state/summary exactly as the audit log shows them */
	for(int i = 0; i < N_ALL; i++){
		const char *final = i < N_RUN ? "active/none" : (i - N_RUN) % 2 ? "crashed/exit_code" : "completed/exit_code";
		CU_ASSERT(ch_db_chain_wait(&db, sids[i], final, 10000) == 0);
		flaps_db += db_flaps(sids[i]);
	}
	CU_ASSERT(HWT_WAIT_UNTIL(summary_flaps(&w) == flaps0 + flaps_db, 5000));
	printf("\n    %s: %ld flaps counted (audit log: %ld)\n", tag, summary_flaps(&w) - flaps0, flaps_db);
	if(freeze) CU_ASSERT(flaps_db >= 1); /* the agents' connections died: lost, then back */
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	for(int i = 0; i < N_ALL; i++){
		if(agents[i] > 0) hwt_kill_wait(agents[i], SIGTERM, 5000);
	}
	ch_watch_close(&w);
}

static void TEST_broker_restart_agents_reconnect_with_new_epochs(void)
{
	outage_round("brst", false, 0, NULL);
}

static void TEST_broker_frozen_longer_than_keepalive_flaps_are_counted(void)
{
	const char *opts[] = {"--keepalive-s", "2", NULL};

	outage_round("bfrz", true, 7000, opts);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_broker_restart_agents_reconnect_with_new_epochs),
		HWTEST(TEST_broker_frozen_longer_than_keepalive_flaps_are_counted),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_broker_restart", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
