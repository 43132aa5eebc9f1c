/* test_collector_binding.c: the collector binds a session to the machine that registered it,
 * against a real mosquitto, a real MongoDB-compatible store and the real heartwire-collector:
 * birth, hb, ev and status for a known session from another machine's subtree change nothing
 * (document, retained state) and are counted as heartwire_refused_total{reason="wrong_machine"};
 * a birth carrying the session's claim token (cmd/claim) moves it, a wrong token does not;
 * ids such as "$gt" or a {"$ne":null} session never reach a query (counted and dropped), while a
 * dotted id ("a.b") is only ever a value under _id; a heartbeat flood of one session is
 * coalesced by the per-session rate limit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "promtext.h"
#include "test_collector_common.h"

#define INTERVAL 1000

static tc_env_t env;
static tc_watch_t w;
static tc_pub_t pub;
static int http_port;
static char listen_at[64];

static int suite_init(void)
{
	const char *extra[] = {"--http-listen", listen_at, NULL};

	mongoc_init();
	if(tc_env_start(&env) != 0) return -1;
	http_port = hwt_free_port();
	if(http_port <= 0) return -1;
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", http_port);
	if(tc_collector_start(&env, extra) != 0) return -1;
	if(tc_pub_open(&pub, env.broker.url) != 0) return -1;
	return tc_watch_open(&w, env.broker.url);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 80);
	tc_watch_close(&w);
	tc_pub_close(&pub);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

/* ------------------------------------------------------------------ helpers */

/* One sample's value from a fresh /metrics scrape; NAN when it cannot be had. */
static double metric(const char *series)
{
	hwt_http_resp_t r;
	double v = NAN;

	if(hwt_http(http_port, "GET", "/metrics", 5000, &r) != 0) return NAN;
	if(r.status != 200 || !hwt_prom_value(r.body, series, &v)) v = NAN;
	hwt_http_free(&r);
	return v;
}

#define WRONG_MACHINE "heartwire_refused_total{reason=\"wrong_machine\"}"

/* The stored document of id: machine, version and epoch. Returns 0 when found. */
static int db_doc(const char *id, char *machine, size_t mlen, int64_t *version, int64_t *epoch)
{
	mongoc_client_t *c = mongoc_client_new(env.store.uri);
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *doc;
	int rc = -1;

	if(!c) return -1;
	coll = mongoc_client_get_collection(c, env.db, "sessions");
	BSON_APPEND_UTF8(&filter, "_id", id);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	if(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		rc = 0;
		machine[0] = '\0';
		if(bson_iter_init_find(&it, doc, "machine") && BSON_ITER_HOLDS_UTF8(&it))
			snprintf(machine, mlen, "%s", bson_iter_utf8(&it, NULL));
		if(bson_iter_init_find(&it, doc, "version")) *version = bson_iter_as_int64(&it);
		if(bson_iter_init_find(&it, doc, "epoch")) *epoch = bson_iter_as_int64(&it);
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return rc;
}

static bool db_machine_is(const char *id, const char *machine, int64_t epoch)
{
	char m[HW_ID_MAX + 1];
	int64_t v = 0, e = -1;

	return db_doc(id, m, sizeof(m), &v, &e) == 0 && strcmp(m, machine) == 0 && e == epoch;
}

static int64_t db_sessions(void)
{
	return tc_db_count(&env, "sessions", NULL);
}

/* A birth of sid on machine mid; claim_token may be NULL. */
static int pub_birth_claim(const char *mid, const char *sid, int64_t epoch, const char *claim_token)
{
	hw_birth_t b = HW_BIRTH_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(b.session, sizeof(b.session), "%s", sid);
	snprintf(b.machine, sizeof(b.machine), "%s", mid);
	snprintf(b.project, sizeof(b.project), "proj");
	if(claim_token) snprintf(b.claim_token, sizeof(b.claim_token), "%s", claim_token);
	b.epoch = epoch;
	b.seq = 0;
	b.ts = hw_time_ms();
	b.interval_ms = INTERVAL;
	if(hw_birth_encode(&b, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&pub, HW_T_BIRTH, mid, sid, json, len, false);
	free(json);
	return rc;
}

static int pub_ev_exit(const char *mid, const char *sid, int64_t epoch, int64_t seq)
{
	hw_ev_t ev = HW_EV_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(ev.session, sizeof(ev.session), "%s", sid);
	ev.epoch = epoch;
	ev.seq = seq;
	ev.ts = hw_time_ms();
	ev.type = HW_EV_EXIT;
	ev.exit.code = 3;
	ev.exit.signal = -1;
	if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&pub, HW_T_EV, mid, sid, json, len, false);
	free(json);
	return rc;
}

/* Publishes a birth for a fresh sentinel session and waits until its retained state and its
 * document exist: everything the one publisher sent before has then been handled and flushed. */
static bool barrier(void)
{
	char sid[64];

	hwt_unique_name(sid, sizeof(sid), "bind_sentinel");
	if(tc_pub_birth(&pub, "m-sentinel", sid, 1, INTERVAL) != 0) return false;
	return HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_STARTING, -1) && tc_db_is(&env, sid, "starting", NULL), 10000);
}

/* A command (cmd/{verb}) as an operator; fills *rep. Returns 0 when a reply came. */
static int command(const char *verb, const char *payload, hw_reply_t *rep)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[64], topic[HW_TOPIC_MAX], reply[HW_TOPIC_MAX + 64];
	int64_t end;
	int rc = -1;

	*rep = (hw_reply_t)HW_REPLY_INIT;
	hwt_unique_name(id, sizeof(id), "tbq");
	snprintf(reply, sizeof(reply), "%s/reply/ops/%s", TC_ROOT, id);
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_topic_build(topic, sizeof(topic), TC_ROOT, HW_T_COMMAND, NULL, verb, &err) != HW_OK ||
			hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(m, reply, 1, &err) != HW_OK ||
			hw_mqtt_publish_req(m, topic, payload, strlen(payload), 1, reply, "c", 1, &err) != HW_OK){
		fprintf(stderr, "cmd/%s: %s\n", verb, err.msg);
		goto cleanup;
	}
	end = hwt_now_ms() + 5000;
	while(rc != 0 && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while(rc != 0 && (msg = hw_mqtt_next(m)) != NULL){
			if(strcmp(msg->topic, reply) == 0 && hw_reply_decode(msg->payload, msg->len, rep, &err) == HW_OK) rc = 0;
			hw_mqtt_msg_free(msg);
		}
	}
cleanup:
	hw_mqtt_free(m);
	return rc;
}

/* ------------------------------------------------------------------ tests */

/* birth (newer epoch), hb, ev and status of a running session from machine m-b: refused,
 * counted, and neither the document nor the retained state moves. */
static void TEST_other_machine_changes_nothing(void)
{
	char sid[64], m[HW_ID_MAX + 1];
	double refused0, invalid0;
	int64_t v0 = 0, e0 = -1, v1 = 0, e1 = -1, rv0, sessions0;
	tc_state_t *st;

	hwt_unique_name(sid, sizeof(sid), "bind");
	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-a", sid, 5, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", sid, 5, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_ACTIVE, -1) && db_machine_is(sid, "m-a", 5) &&
					tc_db_is(&env, sid, "active", NULL),
			10000));
	CU_ASSERT_FATAL(barrier());
	st = tc_find(&w, sid);
	CU_ASSERT_FATAL(st != NULL);
	rv0 = st->version;
	CU_ASSERT_FATAL(db_doc(sid, m, sizeof(m), &v0, &e0) == 0);
	sessions0 = db_sessions();
	refused0 = metric(WRONG_MACHINE);
	invalid0 = metric("heartwire_messages_invalid_total{reason=\"mismatch\"}");
	CU_ASSERT_FATAL(!isnan(refused0) && !isnan(invalid0));

	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-b", sid, 6, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-b", sid, 5, 2, INTERVAL) == 0);
	CU_ASSERT_FATAL(pub_ev_exit("m-b", sid, 5, 3) == 0);
	CU_ASSERT_FATAL(tc_pub_status(&pub, "m-b", sid, HW_STATUS_ENDED, 5, 1) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(metric(WRONG_MACHINE) == refused0 + 4, 5000));
	CU_ASSERT(barrier());
	/* counted once each, under both names */
	CU_ASSERT_EQUAL(metric(WRONG_MACHINE), refused0 + 4);
	CU_ASSERT_EQUAL(metric("heartwire_messages_invalid_total{reason=\"mismatch\"}"), invalid0 + 4);
	/* nothing moved: retained state, document, sessions */
	tc_pump(&w);
	st = tc_find(&w, sid);
	CU_ASSERT_FATAL(st != NULL);
	CU_ASSERT_EQUAL(st->version, rv0);
	CU_ASSERT_EQUAL(st->epoch, 5);
	CU_ASSERT_EQUAL(st->state, HW_STATE_ACTIVE);
	CU_ASSERT_FATAL(db_doc(sid, m, sizeof(m), &v1, &e1) == 0);
	CU_ASSERT_STRING_EQUAL(m, "m-a");
	CU_ASSERT_EQUAL(v1, v0);
	CU_ASSERT_EQUAL(e1, 5);
	CU_ASSERT(tc_db_is(&env, sid, "active", NULL));
	CU_ASSERT_EQUAL(db_sessions(), sessions0 + 1); /* the second sentinel only */
	/* the owner still drives it */
	CU_ASSERT(tc_pub_hb(&pub, "m-a", sid, 5, 4, INTERVAL) == 0);
	CU_ASSERT(tc_pub_raw(&pub, HW_T_STATUS, "m-b", sid, "", 0, true) == 0); /* clear the retained status */
}

/* A lost session claimed by an operator: a birth from another machine with a wrong token is
 * refused; with the claim's token it moves the session to that machine. */
static void TEST_claim_token_moves_the_session(void)
{
	char sid[64], payload[256], token[HW_ID_MAX + 1] = "";
	hw_reply_t rep;
	double refused0;

	hwt_unique_name(sid, sizeof(sid), "bind_claim");
	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-a", sid, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", sid, 1, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_ACTIVE, -1), 10000));
	CU_ASSERT_FATAL(tc_pub_status(&pub, "m-a", sid, HW_STATUS_LOST, 1, 0) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_LOST, -1) && tc_db_is(&env, sid, "lost", NULL), 10000));
	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"claimant\":\"m-b\",\"lease_ms\":30000}", sid);
	CU_ASSERT_FATAL(command("claim", payload, &rep) == 0);
	CU_ASSERT_FATAL(rep.ok);
	CU_ASSERT_FATAL(hw_reply_string(&rep, "token", token, sizeof(token), NULL) == HW_OK);
	hw_reply_cleanup(&rep);

	refused0 = metric(WRONG_MACHINE);
	CU_ASSERT_FATAL(!isnan(refused0));
	CU_ASSERT_FATAL(pub_birth_claim("m-b", sid, 2, "not-the-token") == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(metric(WRONG_MACHINE) == refused0 + 1, 5000));
	CU_ASSERT(barrier());
	CU_ASSERT(db_machine_is(sid, "m-a", 1));

	CU_ASSERT_FATAL(pub_birth_claim("m-b", sid, 2, token) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(db_machine_is(sid, "m-b", 2), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_STARTING, -1) && tc_find(&w, sid)->epoch == 2, 5000));
	CU_ASSERT_EQUAL(metric(WRONG_MACHINE), refused0 + 1);
	/* now bound to m-b: m-a is the other machine */
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", sid, 2, 1, INTERVAL) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(metric(WRONG_MACHINE) == refused0 + 2, 5000));
	CU_ASSERT(tc_pub_raw(&pub, HW_T_STATUS, "m-a", sid, "", 0, true) == 0);
}

/* Operators and paths as ids: "$gt" in the topic, {"$ne":null} or "$gt" as the payload's
 * session are refused (counted by reason) and create nothing; "a.b" is a legal id and is
 * stored as the value of _id, not as a path (the session "a" is not touched). */
static void TEST_operator_ids_never_reach_a_query(void)
{
	char topic[HW_TOPIC_MAX], sid[48], dotted[64];
	double invalid0, refused0;
	int64_t sessions0;
	hw_error_t err;
	/* clang-format off */
	const char *payloads[] = {
		"{\"v\":1,\"session\":{\"$ne\":null},\"epoch\":1,\"seq\":1,\"ts\":1700000000000,\"interval_ms\":1000}",
		"{\"v\":1,\"session\":\"$gt\",\"epoch\":1,\"seq\":1,\"ts\":1700000000000,\"interval_ms\":1000}",
		"{\"v\":1,\"session\":\"x\",\"epoch\":1,\"seq\":1,\"ts\":1700000000000,\"$where\":\"1\"}",
		"{\"v\":1,\"session\":\"x\",\"epoch\":1,\"seq\":1,\"ts\":1700000000000,\"a.b\":1}",
	};
	/* clang-format on */

	CU_ASSERT_FATAL(barrier());
	sessions0 = db_sessions();
	invalid0 = metric("heartwire_messages_received_total") - metric("heartwire_messages_ingested_total");
	refused0 = metric(WRONG_MACHINE);
	CU_ASSERT_FATAL(!isnan(invalid0) && !isnan(refused0));
	/* topics whose session level is an operator: the broker delivers them, the parser refuses */
	snprintf(topic, sizeof(topic), "%s/m/m-a/s/$gt/hb", TC_ROOT);
	CU_ASSERT(hw_mqtt_publish_wait(pub.m, topic, payloads[1], strlen(payloads[1]), 1, false, 5000, &err) == HW_OK);
	snprintf(topic, sizeof(topic), "%s/m/$ne/s/x/birth", TC_ROOT);
	CU_ASSERT(hw_mqtt_publish_wait(pub.m, topic, payloads[1], strlen(payloads[1]), 1, false, 5000, &err) == HW_OK);
	for(size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
		CU_ASSERT(tc_pub_raw(&pub, HW_T_HB, "m-a", "x", payloads[i], strlen(payloads[i]), false) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(
			metric("heartwire_messages_received_total") - metric("heartwire_messages_ingested_total") == invalid0 + 6,
			5000));
	CU_ASSERT(barrier());
	CU_ASSERT_EQUAL(db_sessions(), sessions0 + 1); /* the sentinel only */
	CU_ASSERT_EQUAL(tc_db_count(&env, "events", "x"), 0);
	CU_ASSERT(tc_find(&w, "x") == NULL && tc_find(&w, "$gt") == NULL);
	CU_ASSERT_EQUAL(metric(WRONG_MACHINE), refused0);

	/* a dotted id is a value: "p" and "p.q" are two documents */
	hwt_unique_name(sid, sizeof(sid), "bind_dot");
	snprintf(dotted, sizeof(dotted), "%s.q", sid);
	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-a", sid, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-a", dotted, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", dotted, 1, 1, INTERVAL) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_db_is(&env, dotted, "active", NULL) && tc_db_is(&env, sid, "starting", NULL), 10000));
	CU_ASSERT(db_machine_is(dotted, "m-a", 1));
}

/* 200 heartbeats of one session as fast as QoS 1 allows: most are coalesced (counted), the
 * session stays active and the newest one is applied once the rate limit's gap has passed. */
static void TEST_heartbeat_flood_is_coalesced(void)
{
	char sid[64];
	double coalesced0, stale0;
	int64_t t0, last_sent = 0;

	hwt_unique_name(sid, sizeof(sid), "bind_hbflood");
	CU_ASSERT_FATAL(tc_pub_birth(&pub, "m-a", sid, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", sid, 1, 1, INTERVAL) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tc_is(&w, sid, HW_STATE_ACTIVE, -1), 10000));
	coalesced0 = metric("heartwire_heartbeats_coalesced_total");
	stale0 = metric("heartwire_messages_stale_total");
	CU_ASSERT_FATAL(!isnan(coalesced0) && !isnan(stale0));
	t0 = hwt_now_ms();
	for(int i = 2; i < 202; i++){
		last_sent = hw_time_ms();
		CU_ASSERT_FATAL(tc_pub_hb(&pub, "m-a", sid, 1, i, INTERVAL) == 0);
	}
	CU_ASSERT(barrier());
	/* the newest held heartbeat was applied once the gap had passed (last one wins) */
	CU_ASSERT(HWT_WAIT_UNTIL((tc_pump(&w), tc_find(&w, sid) && tc_find(&w, sid)->last_hb_at >= last_sent), 3000));
	{
		double c = metric("heartwire_heartbeats_coalesced_total") - coalesced0;
		int64_t ms = hwt_now_ms() - t0;
		/* at most one applied per 100 ms (+1 for the first): the rest coalesced */
		fprintf(stderr, "hb flood: 200 heartbeats in %lld ms, %.0f coalesced\n", (long long)ms, c);
		CU_ASSERT(c >= 200 - (double)(ms / HW_INTERVAL_MIN_MS) - 2);
		CU_ASSERT(c > 0);
	}
	CU_ASSERT(tc_is(&w, sid, HW_STATE_ACTIVE, -1));
	/* a heartbeat after the gap is applied again */
	hwt_sleep_ms(2 * HW_INTERVAL_MIN_MS + 50);
	coalesced0 = metric("heartwire_heartbeats_coalesced_total");
	CU_ASSERT(tc_pub_hb(&pub, "m-a", sid, 1, 500, INTERVAL) == 0);
	CU_ASSERT(barrier());
	CU_ASSERT_EQUAL(metric("heartwire_heartbeats_coalesced_total"), coalesced0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_other_machine_changes_nothing),
		HWTEST(TEST_claim_token_moves_the_session),
		HWTEST(TEST_operator_ids_never_reach_a_query),
		HWTEST(TEST_heartbeat_flood_is_coalesced),
		HWTEST_END
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_binding", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
