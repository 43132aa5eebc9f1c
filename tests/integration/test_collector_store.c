/* test_collector_store.c: heartwire-collector's persistence against a real MongoDB-compatible
 * store: replaying the same messages changes nothing; a database outage is survived with
 * nothing lost that fits the buffer; a full buffer is logged and every session is re-written
 * once the database is back. Agent messages are made with the shared codec. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "test_collector_common.h"

static tc_env_t env;
static tc_watch_t w;
static tc_pub_t p;

static int suite_init(void)
{
	mongoc_init();
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	if(tc_pub_open(&p, env.broker.url) != 0) return -1;
	return tc_watch_open(&w, env.broker.url);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 80);
	tc_pub_close(&p);
	tc_watch_close(&w);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static int pub_ev(const char *mid, const char *sid, int64_t epoch, int64_t seq, int type, int code)
{
	hw_ev_t ev = HW_EV_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(ev.session, sizeof(ev.session), "%s", sid);
	ev.epoch = epoch;
	ev.seq = seq;
	ev.ts = hw_time_ms();
	ev.type = type;
	if(type == HW_EV_TASK) snprintf(ev.text, sizeof(ev.text), "task %lld", (long long)seq);
	if(type == HW_EV_EXIT) ev.exit.code = code;
	if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&p, HW_T_EV, mid, sid, json, len, false);
	free(json);
	return rc;
}

/* One short run of a session: birth, two heartbeats, a task event, an exit with code. */
static int pub_run(const char *sid, int64_t epoch, int code)
{
	if(tc_pub_birth(&p, "mx", sid, epoch, 1000) != 0) return -1;
	if(tc_pub_hb(&p, "mx", sid, epoch, 1, 1000) != 0) return -1;
	if(tc_pub_hb(&p, "mx", sid, epoch, 2, 1000) != 0) return -1;
	if(pub_ev("mx", sid, epoch, 3, HW_EV_TASK, 0) != 0) return -1;
	return pub_ev("mx", sid, epoch, 4, HW_EV_EXIT, code);
}

static void TEST_replaying_the_same_messages_changes_nothing(void)
{
	int64_t events, version;
	tc_state_t *s;

	CU_ASSERT_FATAL(pub_run("rp-1", 7, 2) == 0);
	CU_ASSERT_FATAL(tc_pub_status(&p, "mx", "rp-1", HW_STATUS_ENDED, 7, 2) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "rp-1", HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 5000));
	/* transitions: none->starting, starting->active, active->crashed; agent events: task, exit */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_db_count(&env, "events", "rp-1") == 5, 10000));
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_db_is(&env, "rp-1", "crashed", "exit_code"), 10000));
	s = tc_find(&w, "rp-1");
	version = s->version;
	events = tc_db_count(&env, "events", "rp-1");
	/* the same messages again, then a marker session to know they were all taken in */
	CU_ASSERT_FATAL(pub_run("rp-1", 7, 2) == 0);
	CU_ASSERT_FATAL(tc_pub_status(&p, "mx", "rp-1", HW_STATUS_ENDED, 7, 2) == 0);
	CU_ASSERT_FATAL(pub_run("rp-marker", 1, 0) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "rp-marker", HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "rp-marker", "completed", "exit_code"), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_count(&env, "events", "rp-marker") == 5, 10000));
	tc_pump(&w);
	s = tc_find(&w, "rp-1");
	CU_ASSERT_EQUAL(s->version, version);
	CU_ASSERT_EQUAL(tc_db_count(&env, "events", "rp-1"), events);
	CU_ASSERT(tc_db_is(&env, "rp-1", "crashed", "exit_code"));
	CU_ASSERT_EQUAL(tc_alerts(&w, "rp-1", "crashed"), 1);
}

static bool log_has(const char *needle)
{
	FILE *f = fopen(env.log, "r");
	char line[2048];
	bool found = false;

	if(!f) return false;
	while(!found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static bool all_in_db(const char *prefix, int n, const char *state)
{
	char id[64];

	for(int i = 0; i < n; i++){
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		if(!tc_db_is(&env, id, state, NULL)) return false;
	}
	return true;
}

static void TEST_database_outage_loses_nothing_that_fits(void)
{
	/* over 100 sessions, so the flush after the outage holds over 100 upserts (FerretDB 1.24
	 * deadlocks on one update command that large; the store splits bulks) */
	enum { N = 120 };
	char id[64];

	CU_ASSERT_FATAL(hwt_store_kill(&env.store) == 0);
	for(int i = 0; i < N; i++){
		snprintf(id, sizeof(id), "out-%d", i);
		CU_ASSERT_FATAL(pub_run(id, 1, i % 2 ? 0 : 5) == 0);
	}
	/* the collector keeps working without its database */
	for(int i = 0; i < N; i++){
		snprintf(id, sizeof(id), "out-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, id, i % 2 ? HW_STATE_COMPLETED : HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 5000));
	}
	CU_ASSERT(HWT_WAIT_UNTIL(log_has("database write failed"), 15000));
	CU_ASSERT_FATAL(hwt_store_start(&env.store) == 0);
	for(int i = 0; i < N; i++){
		snprintf(id, sizeof(id), "out-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, id, i % 2 ? "completed" : "crashed", "exit_code"), 30000));
		/* every transition and agent event made it too */
		CU_ASSERT(HWT_WAIT_UNTIL(tc_db_count(&env, "events", id) == 5, 10000));
	}
	CU_ASSERT(log_has("database back after"));
}

static void TEST_full_buffer_is_logged_and_sessions_are_rewritten(void)
{
	enum { N = 60 };
	const char *extra[] = {"--store-buffer", "20", NULL};
	char id[64];

	/* a collector with a tiny buffer */
	tc_collector_kill(&env, SIGTERM);
	CU_ASSERT_FATAL(tc_collector_start(&env, extra) == 0);
	CU_ASSERT_FATAL(hwt_store_kill(&env.store) == 0);
	for(int i = 0; i < N; i++){
		snprintf(id, sizeof(id), "full-%d", i);
		CU_ASSERT_FATAL(pub_run(id, 1, 0) == 0);
	}
	CU_ASSERT(HWT_WAIT_UNTIL(log_has("store buffer full"), 10000));
	for(int i = 0; i < N; i++){
		snprintf(id, sizeof(id), "full-%d", i);
		CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, id, HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 5000));
	}
	CU_ASSERT_FATAL(hwt_store_start(&env.store) == 0);
	/* sessions are re-written from memory: every one ends up right */
	CU_ASSERT(HWT_WAIT_UNTIL(all_in_db("full-", N, "completed"), 60000));
	CU_ASSERT(HWT_WAIT_UNTIL(log_has("store buffer has room again"), 10000));
	/* and the collector is still the same process */
	CU_ASSERT(kill(env.collector, 0) == 0);
}

static void TEST_heartbeat_without_birth_asks_for_a_rebirth(void)
{
	hw_mqtt_t *m = NULL;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64], filter[HW_TOPIC_MAX];
	bool got = false;
	int64_t end;

	hwt_unique_name(id, sizeof(id), "tccmd");
	o.url = env.broker.url;
	o.client_id = id;
	snprintf(filter, sizeof(filter), "%s/m/mq/s/nobirth/cmd", TC_ROOT);
	CU_ASSERT_FATAL(hw_mqtt_new(&m, &o, &err) == HW_OK && hw_mqtt_connect(m, NULL, &err) == HW_OK &&
			hw_mqtt_subscribe(m, filter, 1, &err) == HW_OK);
	CU_ASSERT_FATAL(tc_pub_hb(&p, "mq", "nobirth", 5, 3, 1000) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "nobirth", HW_STATE_ACTIVE, -1), 5000));
	end = hwt_now_ms() + 5000;
	while(!got && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while((msg = hw_mqtt_next(m))){
			hw_cmd_t cmd = HW_CMD_INIT;
			if(hw_cmd_decode(msg->payload, msg->len, &cmd, &err) == HW_OK && cmd.cmd == HW_CMD_REBIRTH) got = true;
			hw_mqtt_msg_free(msg);
		}
	}
	CU_ASSERT(got);
	/* the birth arrives: its metadata is merged, no more requests are needed */
	CU_ASSERT_FATAL(tc_pub_birth(&p, "mq", "nobirth", 5, 1000) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, "nobirth", "active", NULL), 10000));
	hw_mqtt_free(m);
}

static void TEST_ended_retained_state_is_removed_after_retention(void)
{
	const char *extra[] = {"--retention-ms", "1000", NULL};
	tc_state_t *s;

	tc_collector_kill(&env, SIGTERM);
	CU_ASSERT_FATAL(tc_collector_start(&env, extra) == 0);
	CU_ASSERT_FATAL(pub_run("ret-1", 1, 0) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, "ret-1", HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 5000));
	CU_ASSERT(HWT_WAIT_UNTIL((tc_pump(&w), !tc_find(&w, "ret-1")->present), 5000));
	s = tc_find(&w, "ret-1");
	CU_ASSERT(!s->present);
	/* the document stays in the database */
	CU_ASSERT(tc_db_is(&env, "ret-1", "completed", "exit_code"));
}

/* Events older than --events-retention-days are deleted by the collector (FerretDB 1.x has no
 * TTL indexes): an old one goes, a recent one stays. */
static void TEST_old_events_are_pruned(void)
{
	mongoc_client_t *mc = mongoc_client_new(env.store.uri);
	mongoc_collection_t *coll = mongoc_client_get_collection(mc, env.db, "events");
	bson_t old = BSON_INITIALIZER, recent = BSON_INITIALIZER;
	bson_error_t berr;
	const char *extra[] = {"--events-retention-days", "30", NULL};

	BSON_APPEND_UTF8(&old, "_id", "prune-me");
	BSON_APPEND_UTF8(&old, "session", "pr-1");
	BSON_APPEND_DATE_TIME(&old, "at", hw_time_ms() - 31LL * 86400000);
	BSON_APPEND_UTF8(&recent, "_id", "keep-me");
	BSON_APPEND_UTF8(&recent, "session", "pr-1");
	BSON_APPEND_DATE_TIME(&recent, "at", hw_time_ms() - 29LL * 86400000);
	CU_ASSERT_FATAL(mongoc_collection_insert_one(coll, &old, NULL, NULL, &berr));
	CU_ASSERT_FATAL(mongoc_collection_insert_one(coll, &recent, NULL, NULL, &berr));
	CU_ASSERT_EQUAL(tc_db_count(&env, "events", "pr-1"), 2);
	/* a (re)started collector prunes at once, then hourly */
	tc_collector_kill(&env, SIGTERM);
	CU_ASSERT_FATAL(tc_collector_start(&env, extra) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_count(&env, "events", "pr-1") == 1, 10000));
	{
		bson_t f = BSON_INITIALIZER;
		BSON_APPEND_UTF8(&f, "_id", "keep-me");
		CU_ASSERT_EQUAL(mongoc_collection_count_documents(coll, &f, NULL, NULL, NULL, &berr), 1);
		bson_destroy(&f);
	}
	bson_destroy(&old);
	bson_destroy(&recent);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(mc);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_replaying_the_same_messages_changes_nothing),
		HWTEST(TEST_database_outage_loses_nothing_that_fits),
		HWTEST(TEST_full_buffer_is_logged_and_sessions_are_rewritten),
		HWTEST(TEST_heartbeat_without_birth_asks_for_a_rebirth),
		HWTEST(TEST_ended_retained_state_is_removed_after_retention),
		HWTEST(TEST_old_events_are_pruned),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_store", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
