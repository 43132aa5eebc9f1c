/* test_query.c: queries and commands over MQTT against the real heartwire-collector, a real
 * mosquitto and a real MongoDB-compatible store: every query and filter, paging that returns each
 * session exactly once while sessions change, error codes, 8 racing claims, lease expiry,
 * release, fail/clear with their audit events, pause/unpause, MQTT 3.1.1 reply_to/corr and a
 * request without a reply path. Sessions are seeded with real agent messages (the shared codec)
 * and a real heartwire-agent. */
#include <pthread.h>
#include <stdatomic.h>

#include "heartwire/agentmsg.h"
#include "test_collector_common.h"
/* the CLI's reader of reply data (pure C, no library), compiled in */
#include "../../cli/jsonscan.c"

#define LONG_IV 3600000 /* no deadline fires during a test */

static tc_env_t env;
static tc_pub_t pub;

/* ------------------------------------------------------------------ a requester (tc_rq_* in test_collector_common.h) */

/* Asks and returns the error code name ("" when ok). */
static const char *tq_code(tc_rq_t *q, const char *what, const char *payload)
{
	static char code[HW_ID_MAX + 1];
	hw_reply_t r;

	if(tc_rq_ask(q, what, payload, &r) != 0) return "(no reply)";
	snprintf(code, sizeof(code), "%s", r.ok ? "" : r.code_name);
	hw_reply_cleanup(&r);
	return code;
}

/* Asks; true when the reply is ok and holds needle (then *r is kept for the caller, who cleans
 * it up), else cleans up and returns false. */
static bool reply_has(tc_rq_t *q, const char *what, const char *payload, const char *needle, hw_reply_t *r)
{
	if(tc_rq_ask(q, what, payload, r) == 0 && r->ok && strstr(r->data, needle)) return true;
	hw_reply_cleanup(r);
	return false;
}

/* Pages q/sessions with filter members (JSON without braces, may be "") and limit; stores every
 * session id in ids (up to max); returns the count, -1 on failure. dup counts repeats. */
static int tq_all(tc_rq_t *q, const char *filter, int limit, char ids[][HW_ID_MAX + 1], int max, int *pages)
{
	char cursor[HW_CURSOR_MAX + 1] = "", payload[1024];
	int n = 0;

	if(pages) *pages = 0;
	for(;;){
		hw_reply_t r;
		hw_js_t data, list, s;
		size_t pos = 0;
		snprintf(payload, sizeof(payload), "{%s%s\"limit\":%d%s%s%s}", filter, filter[0] ? "," : "", limit,
				cursor[0] ? ",\"cursor\":\"" : "", cursor, cursor[0] ? "\"" : "");
		if(!tc_rq_ok(q, "q/sessions", payload, &r)){
			hw_reply_cleanup(&r);
			return -1;
		}
		if(pages) (*pages)++;
		data = hw_js_of(r.data);
		if(hw_js_member(data, "sessions", &list)){
			while(hw_js_next(list, &pos, &s)){
				if(n < max) hw_js_str_member(s, "session", ids[n], HW_ID_MAX + 1);
				n++;
			}
		}
		hw_js_str_member(data, "next_cursor", cursor, sizeof(cursor));
		hw_reply_cleanup(&r);
		if(!cursor[0]) return n;
	}
}

static int tq_count(tc_rq_t *q, const char *filter)
{
	static char ids[600][HW_ID_MAX + 1];

	return tq_all(q, filter, 1000, ids, 600, NULL);
}

/* ------------------------------------------------------------------ seeding with agent messages */

enum { SEED_STARTING, SEED_ACTIVE, SEED_CRASHED, SEED_LOST, SEED_COMPLETED };

static int seed(const char *mid, const char *sid, const char *project, const char *slot, int what)
{
	hw_birth_t b = HW_BIRTH_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(b.session, sizeof(b.session), "%s", sid);
	snprintf(b.machine, sizeof(b.machine), "%s", mid);
	snprintf(b.project, sizeof(b.project), "%s", project);
	snprintf(b.slot, sizeof(b.slot), "%s", slot);
	snprintf(b.task, sizeof(b.task), "task of %s", sid);
	b.epoch = 1;
	b.ts = hw_time_ms();
	b.interval_ms = LONG_IV;
	if(hw_birth_encode(&b, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&pub, HW_T_BIRTH, mid, sid, json, len, false);
	free(json);
	if(rc != 0) return rc;
	if(what == SEED_ACTIVE) return tc_pub_hb(&pub, mid, sid, 1, 1, LONG_IV);
	if(what == SEED_CRASHED || what == SEED_COMPLETED){
		hw_ev_t ev = HW_EV_INIT;
		snprintf(ev.session, sizeof(ev.session), "%s", sid);
		ev.epoch = 1;
		ev.seq = 1;
		ev.ts = hw_time_ms();
		ev.type = HW_EV_EXIT;
		ev.exit.code = what == SEED_CRASHED ? 3 : 0;
		if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
		rc = tc_pub_raw(&pub, HW_T_EV, mid, sid, json, len, false);
		free(json);
		return rc;
	}
	if(what == SEED_LOST) return tc_pub_status(&pub, mid, sid, HW_STATUS_LOST, 1, 0);
	return 0;
}

/* The stored state of sid, as q/session answers it. */
static bool session_is(tc_rq_t *q, const char *sid, const char *state)
{
	char payload[128], st[32] = "";
	hw_reply_t r;
	hw_js_t doc;

	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"limit\":1}", sid);
	if(tc_rq_ask(q, "q/session", payload, &r) != 0) return false;
	if(r.ok && hw_js_member(hw_js_of(r.data), "session", &doc)) hw_js_str_member(doc, "state", st, sizeof(st));
	if(getenv("TQ_DEBUG") && strcmp(st, state) != 0)
		fprintf(stderr, "%lld %s: %s (%s)\n", (long long)hwt_now_ms(), sid, st, r.ok ? "" : r.code_name);
	hw_reply_cleanup(&r);
	return strcmp(st, state) == 0;
}

/* ------------------------------------------------------------------ suite */

static int suite_init(void)
{
	static const char *const extra[] = {"--lease-ms", "60000", NULL};

	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, extra) != 0) return -1;
	return tc_pub_open(&pub, env.broker.url);
}

static int suite_cleanup(void)
{
	tc_pub_close(&pub);
	tc_env_stop(&env);
	return 0;
}

/* ------------------------------------------------------------------ tests */

static void TEST_each_query_and_filter(void)
{
	tc_rq_t q;
	hw_reply_t r;
	hw_js_t data, v;
	char name[64];
	static const struct {
		const char *sid, *mid, *project, *slot;
		int what;
	} fleet[] = {
			{"f-a1", "fm-1", "fp-web", "1", SEED_ACTIVE},
			{"f-a2", "fm-1", "fp-web", "2", SEED_ACTIVE},
			{"f-a3", "fm-2", "fp-api", "1", SEED_ACTIVE},
			{"f-c1", "fm-1", "fp-web", "3", SEED_CRASHED},
			{"f-c2", "fm-2", "fp-api", "2", SEED_CRASHED},
			{"f-l1", "fm-2", "fp-web", "4", SEED_LOST},
			{"f-s1", "fm-1", "fp-api", "5", SEED_STARTING},
			{"f-d1", "fm-2", "fp-api", "3", SEED_COMPLETED},
	};
	int64_t t0 = hw_time_ms();

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	for(size_t i = 0; i < sizeof(fleet) / sizeof(fleet[0]); i++)
		CU_ASSERT_FATAL(seed(fleet[i].mid, fleet[i].sid, fleet[i].project, fleet[i].slot, fleet[i].what) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tq_count(&q, "\"project\":\"fp-web\"") == 4 &&
					tq_count(&q, "\"project\":\"fp-api\"") == 4 && session_is(&q, "f-c1", "crashed") &&
					session_is(&q, "f-l1", "lost") && session_is(&q, "f-a3", "active") &&
					session_is(&q, "f-d1", "completed"),
			15000));
	/* states: one, several */
	CU_ASSERT_EQUAL(tq_count(&q, "\"states\":[\"crashed\"],\"project\":\"fp-web\""), 1);
	CU_ASSERT_EQUAL(tq_count(&q, "\"states\":[\"active\",\"crashed\"],\"machine\":\"fm-2\""), 2);
	CU_ASSERT_EQUAL(tq_count(&q, "\"states\":[\"lost\",\"completed\",\"starting\"],\"project\":\"fp-api\""), 2);
	/* project, machine, slot and their combinations */
	CU_ASSERT_EQUAL(tq_count(&q, "\"machine\":\"fm-1\""), 4);
	CU_ASSERT_EQUAL(tq_count(&q, "\"machine\":\"fm-1\",\"slot\":\"3\""), 1);
	CU_ASSERT_EQUAL(tq_count(&q, "\"project\":\"fp-api\",\"slot\":\"1\""), 1);
	CU_ASSERT_EQUAL(tq_count(&q, "\"project\":\"nobody\""), 0);
	/* updated_since: in the future nothing, from before the seeding all eight */
	snprintf(name, sizeof(name), "\"updated_since\":%lld,\"project\":\"fp-web\"", (long long)(hw_time_ms() + 60000));
	CU_ASSERT_EQUAL(tq_count(&q, name), 0);
	snprintf(name, sizeof(name), "\"updated_since\":%lld,\"machine\":\"fm-2\"", (long long)(t0 - 1000));
	CU_ASSERT_EQUAL(tq_count(&q, name), 4);
	/* sorted by id, and limit cuts a page with a cursor */
	{
		char ids[8][HW_ID_MAX + 1];
		int pages;
		CU_ASSERT_EQUAL(tq_all(&q, "\"project\":\"fp-web\"", 3, ids, 8, &pages), 4);
		CU_ASSERT_EQUAL(pages, 2);
		CU_ASSERT_STRING_EQUAL(ids[0], "f-a1");
		CU_ASSERT_STRING_EQUAL(ids[1], "f-a2");
		CU_ASSERT_STRING_EQUAL(ids[2], "f-c1");
		CU_ASSERT_STRING_EQUAL(ids[3], "f-l1");
	}
	/* session: the document and its newest events, oldest first */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/session", "{\"session\":\"f-c1\",\"limit\":2}", &r));
	data = hw_js_of(r.data);
	CU_ASSERT(hw_js_path(data, "session.state", &v) && hw_js_string(v, name, sizeof(name)) && strcmp(name, "crashed") == 0);
	CU_ASSERT(hw_js_path(data, "session.exit.code", &v));
	CU_ASSERT(hw_js_member(data, "events", &v));
	{
		size_t pos = 0, n = 0;
		hw_js_t ev, to;
		char last[32] = "";
		while(hw_js_next(v, &pos, &ev)){
			n++;
			if(hw_js_path(ev, "to.state", &to)) hw_js_string(to, last, sizeof(last));
		}
		CU_ASSERT_EQUAL(n, 2);
		CU_ASSERT_STRING_EQUAL(last, "crashed"); /* the newest is last */
	}
	hw_reply_cleanup(&r);
	/* events of a session: its transitions and agent events in time order */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/events", "{\"session\":\"f-c1\"}", &r));
	{
		size_t pos = 0;
		hw_js_t list, ev;
		char kinds[256] = "";
		CU_ASSERT(hw_js_member(hw_js_of(r.data), "events", &list));
		while(hw_js_next(list, &pos, &ev)){
			char k[32], t[32];
			hw_js_str_member(ev, "kind", k, sizeof(k));
			hw_js_str_member(ev, "input", t, sizeof(t));
			if(!t[0]) hw_js_str_member(ev, "type", t, sizeof(t));
			snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s:%s ", k, t);
		}
		CU_ASSERT_PTR_NOT_NULL(strstr(kinds, "transition:birth "));
		CU_ASSERT_PTR_NOT_NULL(strstr(kinds, "agent:exit "));
		CU_ASSERT_PTR_NOT_NULL(strstr(kinds, "transition:exit_code "));
	}
	hw_reply_cleanup(&r);
	/* projects and machines: the rollups */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(reply_has(&q, "q/projects", "{\"project\":\"fp-web\"}", "\"crashed\":1", &r), 10000));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"project\":\"fp-web\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"lost\":1"));
	hw_reply_cleanup(&r);
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/projects", "{}", &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"fp-api\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"fp-web\""));
	hw_reply_cleanup(&r);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(reply_has(&q, "q/machines", "{\"machine\":\"fm-2\"}", "\"sessions\":4", &r), 10000));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"machine\":\"fm-2\""));
	hw_reply_cleanup(&r);
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/machines", "{\"machine\":\"fm-none\"}"), "unknown_session");
	/* stats: the collector's counters, by project or machine */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/stats", "{\"project\":\"fp-web\"}", &r));
	data = hw_js_of(r.data);
	CU_ASSERT(hw_js_path(data, "counts.active", &v) && v.n == 1 && v.p[0] == '2');
	CU_ASSERT(hw_js_path(data, "counts.crashed", &v) && v.n == 1 && v.p[0] == '1');
	CU_ASSERT(hw_js_member(data, "detections", &v));
	CU_ASSERT(hw_js_path(data, "rates.received_per_s_10s", &v));
	CU_ASSERT(hw_js_int_member(data, "received", 0) >= 8);
	hw_reply_cleanup(&r);
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/stats", "", &r)); /* an empty payload is {} */
	CU_ASSERT(hw_js_int_member(hw_js_of(r.data), "sessions", 0) >= 8);
	CU_ASSERT(hw_js_path(hw_js_of(r.data), "detections.crashed", &v));
	hw_reply_cleanup(&r);
	tc_rq_close(&q);
}

/* A second client keeps changing sessions while the first pages through them. */
static atomic_int churn_stop;

static void *churn(void *arg)
{
	int64_t seq = 2;

	(void)arg;
	while(!atomic_load(&churn_stop)){
		char sid[32];
		snprintf(sid, sizeof(sid), "pg-%03d", (int)(seq * 7 % 250));
		tc_pub_hb(&pub, "pgm", sid, 1, seq++, LONG_IV);
		hwt_sleep_ms(20); /* FerretDB writes a few hundred documents a second: keep the store in step */
	}
	return NULL;
}

static void TEST_paging_returns_every_session_once(void)
{
	static char ids[400][HW_ID_MAX + 1];
	tc_rq_t q;
	pthread_t th;
	int n, pages;
	bool seen[250] = {false};
	int dups = 0, foreign = 0;

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	for(int i = 0; i < 250; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "pg-%03d", i);
		CU_ASSERT_FATAL(seed("pgm", sid, "pg-proj", "1", SEED_STARTING) == 0);
	}
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(tq_count(&q, "\"project\":\"pg-proj\"") == 250, 90000));
	atomic_store(&churn_stop, 0);
	CU_ASSERT_FATAL(pthread_create(&th, NULL, churn, NULL) == 0);
	n = tq_all(&q, "\"machine\":\"pgm\"", 40, ids, 400, &pages);
	atomic_store(&churn_stop, 1);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(n, 250);
	CU_ASSERT(pages >= 7); /* 250 / 40, more if a page hit the reply size budget */
	for(int i = 0; i < n && i < 400; i++){
		int k = -1;
		if(sscanf(ids[i], "pg-%d", &k) != 1 || k < 0 || k >= 250){
			foreign++;
			continue;
		}
		if(seen[k]) dups++;
		seen[k] = true;
		if(i > 0) CU_ASSERT(strcmp(ids[i - 1], ids[i]) < 0); /* sorted by id */
	}
	CU_ASSERT_EQUAL(dups, 0);
	CU_ASSERT_EQUAL(foreign, 0);
	for(int k = 0; k < 250; k++) CU_ASSERT(seen[k]);
	/* the next tests start once the store caught up with the churn */
	CU_ASSERT_FATAL(seed("pgm", "pg-marker", "pg-proj", "1", SEED_STARTING) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(session_is(&q, "pg-marker", "starting"), 60000));
	tc_rq_close(&q);
}

static void TEST_bad_filters_and_unknown_sessions(void)
{
	tc_rq_t q;
	hw_reply_t r;

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"states\":[\"sleeping\"]}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"limit\":0}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"limit\":5000}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"project\":\"a b\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"machine\":\"m/1\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"cursor\":\"e1.bm9wZQ\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"cursor\":\"garbage!\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/events", "{\"session\":\"x y\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/stats", "{\"project\":\"a\",\"machine\":\"b\"}"), "bad_filter");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/session", "{\"session\":\"bad id\"}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/session", "{}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/session", "{\"session\":\"no-such-session\"}"), "unknown_session");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/fail", "{\"session\":\"no-such-session\"}"), "unknown_session");
	CU_ASSERT_STRING_EQUAL(
			tq_code(&q, "cmd/claim", "{\"session\":\"no-such-session\",\"claimant\":\"x\"}"), "unknown_session");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/claim", "{\"session\":\"s-1\"}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/reboot", "{}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/sessions", "{}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "{\"$where\":1}"), "bad_request");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "q/sessions", "not json"), "bad_request");
	/* the message names what is wrong */
	CU_ASSERT_FATAL(tc_rq_ask(&q, "q/sessions", "{\"states\":[\"sleeping\"]}", &r) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "sleeping"));
	hw_reply_cleanup(&r);
	tc_rq_close(&q);
}

/* MQTT 3.1.1 requesters: reply_to and corr in the JSON; both given: the MQTT 5 properties win; no
 * reply path: executed, no reply. */
static void TEST_reply_paths(void)
{
	hw_mqtt_t *m = NULL;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64], reply[160], payload[512];
	hw_mqtt_msg_t *msg = NULL;
	hw_reply_t r;
	tc_rq_t q;
	int64_t end;

	hwt_unique_name(id, sizeof(id), "tq311");
	snprintf(reply, sizeof(reply), TC_ROOT "/reply/test/%s", id);
	o.url = env.broker.url;
	o.client_id = id;
	CU_ASSERT_FATAL(hw_mqtt_new(&m, &o, &err) == HW_OK && hw_mqtt_connect(m, NULL, &err) == HW_OK &&
			hw_mqtt_subscribe(m, reply, 1, &err) == HW_OK);
	snprintf(payload, sizeof(payload), "{\"limit\":0,\"reply_to\":\"%s\",\"corr\":\"req-7\"}", reply);
	CU_ASSERT_FATAL(hw_mqtt_publish(m, TC_ROOT "/q/sessions", payload, strlen(payload), 1, false, &err) == HW_OK);
	end = hwt_now_ms() + 8000;
	while(!msg && hwt_now_ms() < end){
		hw_mqtt_wait(m, 50);
		msg = hw_mqtt_next(m);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_FATAL(hw_reply_decode(msg->payload, msg->len, &r, &err) == HW_OK);
	CU_ASSERT(!r.ok);
	CU_ASSERT_STRING_EQUAL(r.code_name, "bad_filter");
	CU_ASSERT_STRING_EQUAL(r.corr, "req-7"); /* even for a refused request */
	hw_reply_cleanup(&r);
	hw_mqtt_msg_free(msg);
	msg = NULL;
	snprintf(payload, sizeof(payload), "{\"reply_to\":\"%s\",\"corr\":\"req-8\"}", reply);
	CU_ASSERT_FATAL(hw_mqtt_publish(m, TC_ROOT "/q/stats", payload, strlen(payload), 1, false, &err) == HW_OK);
	end = hwt_now_ms() + 8000;
	while(!msg && hwt_now_ms() < end){
		hw_mqtt_wait(m, 50);
		msg = hw_mqtt_next(m);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_FATAL(hw_reply_decode(msg->payload, msg->len, &r, &err) == HW_OK);
	CU_ASSERT(r.ok);
	CU_ASSERT_STRING_EQUAL(r.corr, "req-8");
	hw_reply_cleanup(&r);
	hw_mqtt_msg_free(msg);
	hw_mqtt_free(m);

	/* both: the MQTT 5 response topic wins, its correlation data comes back, no "corr" member */
	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/stats", "{\"reply_to\":\"" TC_ROOT "/reply/test/elsewhere\",\"corr\":\"json\"}", &r));
	CU_ASSERT_STRING_EQUAL(r.corr, "");
	hw_reply_cleanup(&r);
	/* a reply topic outside {root}/reply/ is never answered, but the command runs */
	CU_ASSERT_FATAL(seed("rp-m", "rp-1", "rp", "1", SEED_CRASHED) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "rp-1", "crashed"), 10000));
	{
		hw_mqtt_t *p = pub.m;
		const char *fail = "{\"session\":\"rp-1\",\"reason\":\"no reply path\"}";
		CU_ASSERT_FATAL(hw_mqtt_publish(p, TC_ROOT "/cmd/fail", fail, strlen(fail), 1, false, &err) == HW_OK);
		fail = "{\"session\":\"rp-1\",\"reply_to\":\"" TC_ROOT "/state/s/rp-1\"}";
		CU_ASSERT_FATAL(hw_mqtt_publish(p, TC_ROOT "/cmd/clear", fail, strlen(fail), 1, false, &err) == HW_OK);
	}
	CU_ASSERT(HWT_WAIT_UNTIL(session_is(&q, "rp-1", "cleared"), 10000));
	tc_rq_close(&q);
}

/* ------------------------------------------------------------------ claims */

typedef struct claimer {
	pthread_barrier_t *go;
	int idx;
	char sid[32];
	bool ok;
	char code[HW_ID_MAX + 1];
	char token[HW_ID_MAX + 1];
	int rc;
} claimer_t;

static void *claim_thread(void *arg)
{
	claimer_t *cl = arg;
	tc_rq_t q;
	hw_reply_t r;
	char payload[256];

	cl->rc = -1;
	if(tc_rq_open(&q, env.broker.url) != 0){
		pthread_barrier_wait(cl->go);
		return NULL;
	}
	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"claimant\":\"restarter-%d\",\"lease_ms\":30000}", cl->sid,
			cl->idx);
	pthread_barrier_wait(cl->go);
	if(tc_rq_ask(&q, "cmd/claim", payload, &r) == 0){
		cl->rc = 0;
		cl->ok = r.ok;
		snprintf(cl->code, sizeof(cl->code), "%s", r.code_name);
		if(r.ok) hw_js_str_member(hw_js_of(r.data), "token", cl->token, sizeof(cl->token));
		hw_reply_cleanup(&r);
	}
	tc_rq_close(&q);
	return NULL;
}

static void TEST_eight_racing_claims_one_winner(void)
{
	pthread_barrier_t go;
	pthread_t th[8];
	claimer_t cl[8];
	int winners = 0, conflicts = 0;
	tc_rq_t q;

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	CU_ASSERT_FATAL(seed("cl-m", "race-1", "cl", "1", SEED_CRASHED) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "race-1", "crashed"), 10000));
	pthread_barrier_init(&go, NULL, 8);
	for(int i = 0; i < 8; i++){
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].go = &go;
		cl[i].idx = i;
		snprintf(cl[i].sid, sizeof(cl[i].sid), "race-1");
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, claim_thread, &cl[i]) == 0);
	}
	for(int i = 0; i < 8; i++) pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	for(int i = 0; i < 8; i++){
		CU_ASSERT_EQUAL(cl[i].rc, 0);
		if(cl[i].ok){
			winners++;
			CU_ASSERT(cl[i].token[0] != '\0');
		}else if(strcmp(cl[i].code, "conflict") == 0){
			conflicts++;
		}else{
			fprintf(stderr, "claimer %d: %s\n", i, cl[i].code);
		}
	}
	CU_ASSERT_EQUAL(winners, 1);
	CU_ASSERT_EQUAL(conflicts, 7);
	CU_ASSERT(HWT_WAIT_UNTIL(session_is(&q, "race-1", "recovering"), 5000));
	/* the document names the winner and its token */
	{
		hw_reply_t r;
		CU_ASSERT_FATAL(tc_rq_ok(&q, "q/session", "{\"session\":\"race-1\",\"limit\":1}", &r));
		for(int i = 0; i < 8; i++){
			if(cl[i].ok) CU_ASSERT_PTR_NOT_NULL(strstr(r.data, cl[i].token));
		}
		hw_reply_cleanup(&r);
	}
	tc_rq_close(&q);
}

static void TEST_lease_expiry_release_and_tokens(void)
{
	tc_rq_t q;
	hw_reply_t r;
	char token1[HW_ID_MAX + 1], token2[HW_ID_MAX + 1], payload[256];

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	CU_ASSERT_FATAL(seed("cl-m", "lease-1", "cl", "2", SEED_LOST) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "lease-1", "lost"), 10000));
	/* a live session cannot be claimed, a completed one neither */
	CU_ASSERT_FATAL(seed("cl-m", "lease-live", "cl", "3", SEED_ACTIVE) == 0);
	CU_ASSERT_FATAL(seed("cl-m", "lease-done", "cl", "4", SEED_COMPLETED) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(
			session_is(&q, "lease-live", "active") && session_is(&q, "lease-done", "completed"), 10000));
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/claim", "{\"session\":\"lease-live\",\"claimant\":\"a\"}"), "not_recoverable");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/claim", "{\"session\":\"lease-done\",\"claimant\":\"a\"}"), "not_recoverable");
	/* claim with a short lease (long enough for the two conflicting requests below to be
	 * answered inside it on a loaded machine: each costs a few store round trips) */
	int64_t claimed_at = hwt_now_ms();
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/claim", "{\"session\":\"lease-1\",\"claimant\":\"m-a\",\"lease_ms\":3000}", &r));
	hw_js_str_member(hw_js_of(r.data), "token", token1, sizeof(token1));
	CU_ASSERT_EQUAL(hw_js_int_member(hw_js_of(r.data), "generation", 0), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"stored\":true"));
	hw_reply_cleanup(&r);
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/claim", "{\"session\":\"lease-1\",\"claimant\":\"m-b\"}"), "conflict");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/clear", "{\"session\":\"lease-1\"}"), "conflict");
	CU_ASSERT(hwt_now_ms() - claimed_at < 3000); /* else the conflicts above proved nothing */
	/* the lease runs out: another claimer gets the next generation */
	{
		int64_t left = claimed_at + 3100 - hwt_now_ms();
		if(left > 0) hwt_sleep_ms((int)left);
	}
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/claim", "{\"session\":\"lease-1\",\"claimant\":\"m-b\",\"lease_ms\":60000}", &r));
	hw_js_str_member(hw_js_of(r.data), "token", token2, sizeof(token2));
	CU_ASSERT_EQUAL(hw_js_int_member(hw_js_of(r.data), "generation", 0), 2);
	CU_ASSERT(strcmp(token1, token2) != 0);
	hw_reply_cleanup(&r);
	/* release: a wrong token and the expired one are conflicts; the right one frees it */
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/release", "{\"session\":\"lease-1\",\"token\":\"wrong-token\"}"), "conflict");
	snprintf(payload, sizeof(payload), "{\"session\":\"lease-1\",\"token\":\"%s\"}", token1);
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/release", payload), "conflict");
	snprintf(payload, sizeof(payload), "{\"session\":\"lease-1\",\"token\":\"%s\"}", token2);
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/release", payload, &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"state\":\"cleared\""));
	hw_reply_cleanup(&r);
	CU_ASSERT(session_is(&q, "lease-1", "cleared"));
	/* released: claimable at once */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/claim", "{\"session\":\"lease-1\",\"claimant\":\"m-c\"}", &r));
	CU_ASSERT_EQUAL(hw_js_int_member(hw_js_of(r.data), "generation", 0), 3);
	hw_reply_cleanup(&r);
	/* an idle lease expires by itself (the collector's timer): back to cleared */
	CU_ASSERT_FATAL(seed("cl-m", "lease-2", "cl", "5", SEED_CRASHED) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "lease-2", "crashed"), 10000));
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/claim", "{\"session\":\"lease-2\",\"claimant\":\"m-a\",\"lease_ms\":300}", &r));
	hw_reply_cleanup(&r);
	CU_ASSERT(session_is(&q, "lease-2", "recovering"));
	CU_ASSERT(HWT_WAIT_UNTIL(session_is(&q, "lease-2", "cleared"), 5000));
	tc_rq_close(&q);
}

/* ------------------------------------------------------------------ fail, clear */

static bool has_event(tc_rq_t *q, const char *sid, const char *needle1, const char *needle2)
{
	char payload[128];
	hw_reply_t r;
	bool found = false;

	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"limit\":1000}", sid);
	if(tc_rq_ask(q, "q/events", payload, &r) != 0) return false;
	if(r.ok){
		hw_js_t list, ev;
		size_t pos = 0;
		hw_js_member(hw_js_of(r.data), "events", &list);
		while(!found && hw_js_next(list, &pos, &ev)){
			char *one = strndup(ev.p, ev.n);
			found = one && strstr(one, needle1) && (!needle2 || strstr(one, needle2));
			free(one);
		}
	}
	hw_reply_cleanup(&r);
	return found;
}

/* The newest retained state/s/{id} payload and the alerts of one session. */
typedef struct one_watch {
	hw_mqtt_t *m;
	char state[8192];
	char alerts[4096];
} one_watch_t;

static int one_open(one_watch_t *w, const char *sid)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64], t1[HW_TOPIC_MAX], t2[HW_TOPIC_MAX];

	memset(w, 0, sizeof(*w));
	hwt_unique_name(id, sizeof(id), "tqone");
	snprintf(t1, sizeof(t1), TC_ROOT "/state/s/%s", sid);
	snprintf(t2, sizeof(t2), TC_ROOT "/alert/s/%s", sid);
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_mqtt_new(&w->m, &o, &err) != HW_OK || hw_mqtt_connect(w->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, t1, 1, &err) != HW_OK || hw_mqtt_subscribe(w->m, t2, 1, &err) != HW_OK)
		return -1;
	return 0;
}

/* True when the retained state holds needle (and, if given, an alert holds alert). */
static bool one_has(one_watch_t *w, const char *needle, const char *alert)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(w->m))){
		if(strstr(msg->topic, "/state/s/")){
			snprintf(w->state, sizeof(w->state), "%.*s", (int)msg->len, (const char *)msg->payload);
		}else{
			size_t o = strlen(w->alerts);
			snprintf(w->alerts + o, sizeof(w->alerts) - o, "%.*s\n", (int)msg->len, (const char *)msg->payload);
		}
		hw_mqtt_msg_free(msg);
	}
	return strstr(w->state, needle) && (!alert || strstr(w->alerts, alert));
}

static void TEST_fail_and_clear_with_audit(void)
{
	tc_rq_t q;
	one_watch_t *w = calloc(1, sizeof(*w));
	hw_reply_t r;
	const char *cmd[] = {"sh", "-c", "exit 3", NULL};
	pid_t agent;

	CU_ASSERT_FATAL(w && one_open(w, "fc-1") == 0);
	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	/* a real agent whose child exits 3 */
	agent = tc_agent(&env, "fc-m", "fc-1", 200, cmd);
	CU_ASSERT_FATAL(agent > 0);
	CU_ASSERT_FATAL(hwt_wait_pid(agent, 15000, NULL) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "fc-1", "crashed"), 10000));
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/fail", "{\"session\":\"fc-1\",\"reason\":\"the branch was deleted\"}", &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"state\":\"failed\",\"cause\":\"operator\",\"from\":\"crashed\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"stored\":true"));
	hw_reply_cleanup(&r);
	CU_ASSERT(session_is(&q, "fc-1", "failed"));
	CU_ASSERT(HWT_WAIT_UNTIL(one_has(w, "\"state\":\"failed\",\"cause\":\"operator\"", "\"alert\":\"failed\""), 5000));
	/* again: nothing changes, still ok */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/fail", "{\"session\":\"fc-1\"}", &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"changed\":false"));
	hw_reply_cleanup(&r);
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/claim", "{\"session\":\"fc-1\",\"claimant\":\"x\"}"), "not_recoverable");
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/clear", "{\"session\":\"fc-1\",\"reason\":\"ready again\"}", &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"state\":\"cleared\",\"cause\":\"operator\",\"from\":\"failed\""));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL(one_has(w, "\"state\":\"cleared\",\"cause\":\"operator\"", NULL), 5000));
	/* the events log has both, as transitions and as commands with their reasons */
	CU_ASSERT(HWT_WAIT_UNTIL(has_event(&q, "fc-1", "\"input\":\"cmd_fail\"", NULL) &&
					has_event(&q, "fc-1", "\"input\":\"cmd_clear\"", NULL),
			5000));
	CU_ASSERT(has_event(&q, "fc-1", "\"cmd\":\"fail\"", "the branch was deleted"));
	CU_ASSERT(has_event(&q, "fc-1", "\"cmd\":\"clear\"", "ready again"));
	/* what the table refuses */
	CU_ASSERT_FATAL(seed("fc-m", "fc-live", "fc", "2", SEED_ACTIVE) == 0);
	CU_ASSERT_FATAL(seed("fc-m", "fc-done", "fc", "3", SEED_COMPLETED) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(session_is(&q, "fc-live", "active") && session_is(&q, "fc-done", "completed"), 10000));
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/clear", "{\"session\":\"fc-live\"}"), "not_recoverable");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/fail", "{\"session\":\"fc-done\"}"), "not_recoverable");
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/clear", "{\"session\":\"fc-done\"}"), "not_recoverable");
	/* a live session can be failed by an operator */
	CU_ASSERT_STRING_EQUAL(tq_code(&q, "cmd/fail", "{\"session\":\"fc-live\"}"), "");
	CU_ASSERT(session_is(&q, "fc-live", "failed"));
	hw_mqtt_free(w->m);
	free(w);
	tc_rq_close(&q);
}

/* ------------------------------------------------------------------ pause */

typedef struct retained {
	char pause[1024];
	char project[4096];
} retained_t;

static void take_retained(hw_mqtt_t *m, retained_t *rt)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(m))){
		if(strcmp(msg->topic, TC_ROOT "/state/pause") == 0)
			snprintf(rt->pause, sizeof(rt->pause), "%.*s", (int)msg->len, (const char *)msg->payload);
		else snprintf(rt->project, sizeof(rt->project), "%.*s", (int)msg->len, (const char *)msg->payload);
		hw_mqtt_msg_free(msg);
	}
}

static void TEST_pause_and_unpause(void)
{
	hw_mqtt_t *m = NULL;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];
	retained_t rt;
	tc_rq_t q;
	hw_reply_t r;
	hw_pause_t p;

	char since[96];

	memset(&rt, 0, sizeof(rt));
	snprintf(since, sizeof(since), "{\"updated_since\":%lld,\"limit\":1000}", (long long)hw_time_ms() - 1000);
	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	hwt_unique_name(id, sizeof(id), "tqpause");
	o.url = env.broker.url;
	o.client_id = id;
	CU_ASSERT_FATAL(hw_mqtt_new(&m, &o, &err) == HW_OK && hw_mqtt_connect(m, NULL, &err) == HW_OK &&
			hw_mqtt_subscribe(m, TC_ROOT "/state/pause", 1, &err) == HW_OK &&
			hw_mqtt_subscribe(m, TC_ROOT "/state/p/pz-proj", 1, &err) == HW_OK);
	/* global, with a resume time */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/pause", "{\"reason\":\"API rate limit\",\"resume_at\":4102444800000}", &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"scope\":\"global\""));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL((take_retained(m, &rt), strstr(rt.pause, "API rate limit") != NULL), 5000));
	CU_ASSERT_FATAL(hw_pause_decode(rt.pause, strlen(rt.pause), &p, &err) == HW_OK);
	CU_ASSERT(p.paused);
	CU_ASSERT_EQUAL(p.resume_at, 4102444800000LL);
	CU_ASSERT(hw_pause_active(&p, hw_time_ms()));
	/* a project with no session yet: its rollup carries the pause */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/pause", "{\"project\":\"pz-proj\",\"reason\":\"maintenance\"}", &r));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL((take_retained(m, &rt), strstr(rt.project, "maintenance") != NULL), 5000));
	CU_ASSERT_FATAL(hw_pause_from_project(rt.project, strlen(rt.project), &p, &err) == HW_OK);
	CU_ASSERT(p.paused);
	/* unpause both */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/unpause", "{}", &r));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL((take_retained(m, &rt), strstr(rt.pause, "\"paused\":false") != NULL), 5000));
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/unpause", "{\"project\":\"pz-proj\"}", &r));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL(
			(take_retained(m, &rt), rt.project[0] == '\0' || strstr(rt.project, "\"pause\"") == NULL), 5000));
	/* paused again, then the collector restarts: it loads the pause and republishes it */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/pause", "{\"project\":\"pz-proj\",\"reason\":\"still down\"}", &r));
	hw_reply_cleanup(&r);
	CU_ASSERT(HWT_WAIT_UNTIL((take_retained(m, &rt), strstr(rt.project, "still down") != NULL), 5000));
	tc_collector_kill(&env, SIGTERM);
	memset(&rt, 0, sizeof(rt));
	CU_ASSERT_FATAL(tc_collector_start(&env, NULL) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL((take_retained(m, &rt), strstr(rt.project, "still down") != NULL), 5000));
	/* and the audit has every pause */
	CU_ASSERT_FATAL(tc_rq_ok(&q, "q/events", since, &r));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"cmd\":\"pause\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.data, "\"cmd\":\"unpause\""));
	hw_reply_cleanup(&r);
	hw_mqtt_free(m);
	tc_rq_close(&q);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_each_query_and_filter),
		HWTEST(TEST_paging_returns_every_session_once),
		HWTEST(TEST_bad_filters_and_unknown_sessions),
		HWTEST(TEST_reply_paths),
		HWTEST(TEST_eight_racing_claims_one_winner),
		HWTEST(TEST_lease_expiry_release_and_tokens),
		HWTEST(TEST_fail_and_clear_with_audit),
		HWTEST(TEST_pause_and_unpause),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	hwtest_suite("query", suite_init, suite_cleanup, cases);
	return hwtest_run();
}
