/* test_query_group.c: queries and commands to a collector group (--group) with the real
 * heartwire-collector, mosquitto and a MongoDB-compatible store: two collectors of one group
 * subscribe to q/ and cmd/ through $share/{group}/, so every request gets exactly one reply and
 * every command runs once (MQTT 5 response topic + correlation data, and a real MQTT 3.1.1
 * client's JSON reply_to/corr, both through the shared subscription); a third member of the
 * share takes its part of the requests instead of doubling them; the leader is SIGKILLed and the
 * other collector answers, knowing the pause the first one stored; a standby's death changes
 * nothing. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../chaos/chaos.h"
#include "rawmqtt.h"

#define GROUP "qgroup"
#define LEASE "2000"
#define N_REQ 20  /* requests of each kind per round */
#define N_SESS 60 /* crashed sessions: three rounds of N_REQ commands */
#define MAX_REQ 128
#define QUIET_MS 1500 /* after the last reply: a duplicate would have come by then */
#define LONG_IV 3600000

static ch_env_t env;
static ch_watch_t w;
static ch_coll_t ca, cb;
static hw_mqtt_t *pub;

static const char *const group_args[] = {"--group", GROUP, "--leader-lease-ms", LEASE, NULL};

/* ------------------------------------------------------------------ requests and their replies */

typedef struct greq {
	char corr[48]; /* prefix (< 24) + "-" + an int */
	int replies;   /* replies that carried this correlation */
	bool ok;       /* of the first reply */
	char code[HW_ID_MAX + 1];
	char state[32]; /* "state" of the first reply's data ("" if none) */
	int64_t count;  /* "count" of the first reply's data (-1 if none) */
	bool paused;    /* "paused":true in the first reply's data */
} greq_t;

typedef struct grq {
	hw_mqtt_t *m;       /* MQTT 5: response topic + correlation data */
	hwt_mqpool_t *pool; /* MQTT 3.1.1: JSON reply_to + corr */
	hwt_mq_t *c311;
	char reply[160];    /* the MQTT 5 client's reply topic */
	char reply311[160]; /* the MQTT 3.1.1 client's */
	char prefix[24];
	greq_t r[MAX_REQ];
	int n;
	int strays;      /* replies with an unknown correlation */
	int64_t last_ms; /* when the last reply came */
} grq_t;

/* Counts one reply (payload borrowed) under corr (NULL: take the JSON "corr"). */
static void grq_note(grq_t *g, const char *corr, size_t corr_len, const void *payload, size_t len)
{
	hw_reply_t rep = HW_REPLY_INIT;
	hw_error_t err;
	greq_t *q = NULL;

	if(hw_reply_decode(payload, len, &rep, &err) != HW_OK){
		fprintf(stderr, "undecodable reply: %s\n", err.msg);
		g->strays++;
		return;
	}
	if(!corr){
		corr = rep.corr;
		corr_len = strlen(rep.corr);
	}
	for(int i = 0; i < g->n; i++){
		if(strlen(g->r[i].corr) == corr_len && memcmp(g->r[i].corr, corr, corr_len) == 0) q = &g->r[i];
	}
	g->last_ms = hwt_now_ms();
	if(!q){
		g->strays++;
	}else if(q->replies++ == 0){
		q->ok = rep.ok;
		snprintf(q->code, sizeof(q->code), "%s", rep.ok ? "" : rep.code_name);
		if(rep.ok){
			char *p = NULL;
			if(hw_reply_string(&rep, "state", q->state, sizeof(q->state), NULL) != HW_OK) q->state[0] = '\0';
			if(hw_reply_int(&rep, "count", &q->count, NULL) != HW_OK) q->count = -1;
			if(hw_reply_member(&rep, "paused", &p, NULL, NULL) == HW_OK) q->paused = strcmp(p, "true") == 0;
			free(p);
		}
	}
	hw_reply_cleanup(&rep);
}

static void on_311(hwt_mq_t *c, const char *topic, size_t topic_len, const void *payload, size_t len, bool retained, void *ud)
{
	(void)c;
	(void)topic;
	(void)topic_len;
	(void)retained;
	grq_note(ud, NULL, 0, payload, len);
}

static int grq_open(grq_t *g, const char *prefix)
{
	hw_error_t err;
	hwt_mq_conn_opts_t o = {0};
	char id[64];

	memset(g, 0, sizeof(*g));
	snprintf(g->prefix, sizeof(g->prefix), "%s", prefix);
	g->m = ch_client(env.broker.url, "gq", NULL);
	if(!g->m) return -1;
	hwt_unique_name(id, sizeof(id), "gq5");
	snprintf(g->reply, sizeof(g->reply), CH_ROOT "/reply/test/%s", id);
	hwt_unique_name(id, sizeof(id), "gq311");
	snprintf(g->reply311, sizeof(g->reply311), CH_ROOT "/reply/test/%s", id);
	if(hw_mqtt_subscribe(g->m, g->reply, 1, &err) != HW_OK){
		fprintf(stderr, "requester: %s\n", err.msg);
		return -1;
	}
	if(hwt_mqpool_new(&g->pool, on_311) != 0) return -1;
	o.host = "127.0.0.1";
	o.port = env.broker.port;
	o.client_id = id;
	o.keepalive_s = 30;
	o.clean = true;
	o.ud = g;
	g->c311 = hwt_mq_connect(g->pool, &o);
	if(!g->c311 || !hwt_mqpool_wait_connected(g->pool, 10000) || hwt_mq_subscribe(g->c311, g->reply311, 1) != 0) return -1;
	for(int64_t end = hwt_now_ms() + 10000; !hwt_mq_subscribed(g->c311) && hwt_now_ms() < end;) hwt_mqpool_run(g->pool, 20);
	return hwt_mq_subscribed(g->c311) ? 0 : -1;
}

static void grq_close(grq_t *g)
{
	hw_mqtt_free(g->m);
	hwt_mqpool_free(g->pool);
	g->m = NULL;
	g->pool = NULL;
}

static void grq_reset(grq_t *g)
{
	g->n = 0;
	g->strays = 0;
}

/* Sends json (an object) to {root}/{what}.
 * mqtt5: with the response topic and correlation data; else from the MQTT 3.1.1 client with
 * reply_to and corr added to the JSON. Returns the request's index, -1 on failure. */
static int grq_send(grq_t *g, const char *what, const char *json, bool mqtt5)
{
	char topic[HW_TOPIC_MAX], payload[1024];
	greq_t *q;
	hw_error_t err;

	if(g->n >= MAX_REQ) return -1;
	q = &g->r[g->n];
	memset(q, 0, sizeof(*q));
	q->count = -1;
	/* formatted on the stack: GCC's sanitizer build wrongly sees q as possibly NULL here */
	{
		char corr[sizeof(q->corr)];
		snprintf(corr, sizeof(corr), "%s-%d", g->prefix, g->n);
		memcpy(q->corr, corr, sizeof(corr));
	}
	snprintf(topic, sizeof(topic), CH_ROOT "/%s", what);
	if(mqtt5){
		if(hw_mqtt_publish_req(g->m, topic, json, strlen(json), 1, g->reply, q->corr, strlen(q->corr), &err) != HW_OK){
			fprintf(stderr, "request: %s\n", err.msg);
			return -1;
		}
	}else{
		/* json is "{...}": put reply_to and corr in front of its members */
		snprintf(payload, sizeof(payload), "{\"reply_to\":\"%s\",\"corr\":\"%s\"%s%s", g->reply311, q->corr,
				strcmp(json, "{}") ? "," : "", json + 1);
		if(hwt_mq_publish(g->c311, topic, payload, strlen(payload), 1, false) != 0) return -1;
		hwt_mqpool_run(g->pool, 0);
	}
	return g->n++;
}

/* Takes the replies both clients hold, waiting up to wait_ms for the first. */
static void grq_pump(grq_t *g, int wait_ms)
{
	hw_mqtt_msg_t *msg;

	hw_mqtt_wait(g->m, wait_ms);
	while((msg = hw_mqtt_next(g->m))){
		grq_note(g, msg->corr, msg->corr_len, msg->payload, msg->len);
		hw_mqtt_msg_free(msg);
	}
	hwt_mqpool_run(g->pool, 0);
}

/* Takes replies until every request has one and nothing more came for QUIET_MS, or timeout_ms
 * passed. Returns the number of requests with exactly one reply. */
static int grq_collect(grq_t *g, int timeout_ms)
{
	int64_t end = hwt_now_ms() + timeout_ms;
	int exact = 0;

	g->last_ms = hwt_now_ms();
	while(hwt_now_ms() < end){
		bool all = true;
		grq_pump(g, 10);
		hwt_mqpool_run(g->pool, 10);
		for(int i = 0; i < g->n; i++) all = all && g->r[i].replies > 0;
		if(all && hwt_now_ms() - g->last_ms >= QUIET_MS) break;
	}
	for(int i = 0; i < g->n; i++){
		if(g->r[i].replies == 1) exact++;
		else if(g->r[i].replies > 1) fprintf(stderr, "request %s: %d replies\n", g->r[i].corr, g->r[i].replies);
	}
	return exact;
}

/* One request, its reply (exactly one, within timeout_ms) in *out; false otherwise. */
static bool grq_one(grq_t *g, const char *what, const char *json, int timeout_ms, greq_t *out)
{
	grq_reset(g);
	if(grq_send(g, what, json, true) != 0) return false;
	if(grq_collect(g, timeout_ms) != 1) return false;
	*out = g->r[0];
	return true;
}

/* ------------------------------------------------------------------ sessions */

static char sids[N_SESS][32];

/* A crashed session of project qg: birth, then an exit with code 3. */
static int seed_crashed(const char *sid)
{
	hw_birth_t b = HW_BIRTH_INIT;
	hw_ev_t ev = HW_EV_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(b.session, sizeof(b.session), "%.64s", sid);
	snprintf(b.machine, sizeof(b.machine), "qg-m");
	snprintf(b.project, sizeof(b.project), "qg");
	b.epoch = 1;
	b.ts = hw_time_ms();
	b.interval_ms = LONG_IV;
	if(hw_birth_encode(&b, &json, &len, NULL) != HW_OK) return -1;
	rc = ch_pub(pub, HW_T_BIRTH, "qg-m", sid, json, len, false);
	free(json);
	if(rc != 0) return rc;
	snprintf(ev.session, sizeof(ev.session), "%.64s", sid);
	ev.epoch = 1;
	ev.seq = 1;
	ev.ts = hw_time_ms();
	ev.type = HW_EV_EXIT;
	ev.exit.code = 3;
	if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
	rc = ch_pub(pub, HW_T_EV, "qg-m", sid, json, len, false);
	free(json);
	return rc;
}

/* Sends N_REQ q/sessions (every other one over MQTT 3.1.1) and N_REQ commands on sessions
 * first .. first + N_REQ - 1 (fail, clear, claim in turn), then checks that each got exactly
 * one reply and that each result is right: in the replies and in the retained states. */
static void round_of_requests(grq_t *g, int first, const char *who)
{
	static const char *const verbs[] = {"cmd/fail", "cmd/clear", "cmd/claim"};
	static const char *const want[] = {"failed", "cleared", "recovering"};
	static const int wstate[] = {HW_STATE_FAILED, HW_STATE_CLEARED, HW_STATE_RECOVERING};
	int idx[2 * N_REQ];

	grq_reset(g);
	for(int i = 0; i < N_REQ; i++){
		char json[256];
		idx[2 * i] = grq_send(g, "q/sessions", "{\"project\":\"qg\",\"limit\":1000}", i % 2 == 0);
		if(i % 3 == 2)
			snprintf(json, sizeof(json), "{\"session\":\"%s\",\"claimant\":\"qg-restarter\"}", sids[first + i]);
		else snprintf(json, sizeof(json), "{\"session\":\"%s\",\"reason\":\"test %s\"}", sids[first + i], who);
		idx[2 * i + 1] = grq_send(g, verbs[i % 3], json, i % 2 == 1);
		CU_ASSERT_FATAL(idx[2 * i] >= 0 && idx[2 * i + 1] >= 0);
	}
	CU_ASSERT_EQUAL(grq_collect(g, 30000), 2 * N_REQ);
	CU_ASSERT_EQUAL(g->strays, 0);
	for(int i = 0; i < N_REQ; i++){
		greq_t *q = &g->r[idx[2 * i]], *c = &g->r[idx[2 * i + 1]];
		CU_ASSERT(q->ok);
		CU_ASSERT_EQUAL(q->count, N_SESS);
		CU_ASSERT(c->ok);
		if(!c->ok) fprintf(stderr, "%s %s: %s\n", verbs[i % 3], sids[first + i], c->code);
		CU_ASSERT_STRING_EQUAL(c->state, want[i % 3]);
	}
	for(int i = 0; i < N_REQ; i++) CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, sids[first + i], wstate[i % 3], -1), 10000));
}

/* ------------------------------------------------------------------ suite */

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	env.startup_grace_ms = 500;
	if(ch_watch_open(&w, env.broker.url, 256) != 0) return -1;
	pub = ch_client(env.broker.url, "qgpub", NULL);
	return pub ? 0 : -1;
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0){
		hwt_print_tail(ca.log, 30);
		hwt_print_tail(cb.log, 30);
	}
	ch_coll_kill(&ca, SIGTERM);
	ch_coll_kill(&cb, SIGTERM);
	hw_mqtt_free(pub);
	ch_watch_close(&w);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static bool log_has(const ch_coll_t *c, const char *needle)
{
	return ch_log_count(c->log, needle) > 0;
}

/* The retained global pause says paused (true) or not. */
static bool pause_retained(bool paused)
{
	hw_mqtt_t *m = ch_client(env.broker.url, "qgpause", NULL);
	hw_error_t err;
	int64_t end = hwt_now_ms() + 2000;
	int seen = -1;

	if(!m || hw_mqtt_subscribe(m, CH_ROOT "/state/pause", 1, &err) != HW_OK){
		hw_mqtt_free(m);
		return false;
	}
	while(seen < 0 && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 20);
		while((msg = hw_mqtt_next(m))){
			if(msg->len > 0){
				char text[1024];
				snprintf(text, sizeof(text), "%.*s", (int)msg->len, (const char *)msg->payload);
				seen = strstr(text, "\"paused\":true") != NULL;
			}
			hw_mqtt_msg_free(msg);
		}
	}
	hw_mqtt_free(m);
	return seen == (paused ? 1 : 0);
}

/* True once q/sessions counts every seeded session. */
static bool all_stored(grq_t *g)
{
	greq_t one = {0};

	return grq_one(g, "q/sessions", "{\"project\":\"qg\",\"limit\":1000}", 8000, &one) && one.count == N_SESS;
}

/* Two collectors of one group: N_REQ queries and N_REQ commands, each answered once. */
static void TEST_each_request_answered_once(void)
{
	grq_t g;

	CU_ASSERT_FATAL(ch_coll_start(&env, &ca, "qg-ca", NULL, group_args) == 0);
	CU_ASSERT_FATAL(ch_coll_spawn(&env, &cb, "qg-cb", NULL, group_args) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(log_has(&cb, "standing by: collector qg-ca leads"), 15000));
	for(int i = 0; i < N_SESS; i++){
		snprintf(sids[i], sizeof(sids[i]), "qg-%02d", i);
		CU_ASSERT_FATAL(seed_crashed(sids[i]) == 0);
	}
	for(int i = 0; i < N_SESS; i++)
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sids[i], HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 15000));
	CU_ASSERT_FATAL(grq_open(&g, "r1") == 0);
	/* every session in the store before the queries count them */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(all_stored(&g), 30000));
	round_of_requests(&g, 0, "qg-ca");
	grq_close(&g);
}

/* A client that joins the share (as a second member subscribed at the same time would) gets its
 * part of the requests, and the collector answers only the others: never both. */
static void TEST_another_member_of_the_share_takes_its_part(void)
{
	hw_mqtt_t *member = ch_client(env.broker.url, "qgmember", NULL);
	hw_error_t err;
	grq_t g;
	int taken = 0, answered = 0, both = 0;
	bool got[MAX_REQ] = {0};

	CU_ASSERT_FATAL(member != NULL);
	CU_ASSERT_FATAL(hw_mqtt_subscribe(member, "$share/" GROUP "/" CH_ROOT "/q/+", 1, &err) == HW_OK);
	CU_ASSERT_FATAL(hw_mqtt_subscribe(member, "$share/" GROUP "/" CH_ROOT "/cmd/+", 1, &err) == HW_OK);
	CU_ASSERT_FATAL(grq_open(&g, "r2") == 0);
	for(int i = 0; i < N_REQ; i++)
		CU_ASSERT_FATAL(grq_send(&g, i % 2 ? "cmd/fail" : "q/stats", i % 2 ? "{\"session\":\"qg-none\"}" : "{}", true) >=
				0);
	/* replies come only for what the collector took: wait for the member's part, then quiet */
	for(int64_t end = hwt_now_ms() + 10000; hwt_now_ms() < end;){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(member, 20);
		while((msg = hw_mqtt_next(member))){
			for(int i = 0; i < g.n; i++){
				if(msg->corr_len == strlen(g.r[i].corr) && memcmp(msg->corr, g.r[i].corr, msg->corr_len) == 0){
					taken += !got[i];
					got[i] = true;
				}
			}
			hw_mqtt_msg_free(msg);
		}
		grq_pump(&g, 0);
		answered = 0;
		for(int i = 0; i < g.n; i++) answered += g.r[i].replies > 0;
		if(taken + answered >= N_REQ) break;
	}
	/* a duplicate, or a late answer to a request the member took, would come by now */
	for(int64_t end = hwt_now_ms() + QUIET_MS; hwt_now_ms() < end;) grq_pump(&g, 20);
	answered = 0;
	for(int i = 0; i < g.n; i++){
		answered += g.r[i].replies > 0;
		both += got[i] && g.r[i].replies > 0;
		CU_ASSERT(g.r[i].replies <= 1);
		if(g.r[i].replies) CU_ASSERT_STRING_EQUAL(g.r[i].code, i % 2 ? "unknown_session" : "");
	}
	printf("\n    %d requests: the collector answered %d, the other member took %d\n", N_REQ, answered, taken);
	CU_ASSERT_EQUAL(both, 0);
	CU_ASSERT_EQUAL(taken + answered, N_REQ);
	CU_ASSERT(taken > 0 && answered > 0);
	hw_mqtt_free(member);
	grq_close(&g);
}

/* The leader stores a pause and dies (SIGKILL): the other one leads, knows the pause, answers
 * every request once; a standby's death changes nothing. */
static void TEST_leader_killed_the_other_answers(void)
{
	greq_t one = {0};
	grq_t g;
	int64_t t_kill;

	CU_ASSERT_FATAL(ca.pid > 0 && cb.pid > 0);
	CU_ASSERT_FATAL(grq_open(&g, "r3") == 0);
	CU_ASSERT_FATAL(grq_one(&g, "cmd/pause", "{\"reason\":\"rate limit\"}", 8000, &one));
	CU_ASSERT(one.ok);
	CU_ASSERT(HWT_WAIT_UNTIL(pause_retained(true), 5000));

	t_kill = hwt_now_ms();
	ch_coll_kill(&ca, SIGKILL);
	CU_ASSERT_FATAL(ch_presence_wait(env.broker.url, cb.id, "online", 30000) == 0);
	CU_ASSERT(log_has(&cb, "leading group " GROUP));
	/* it answers; the pause it loaded from the store is in force */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(grq_one(&g, "q/stats", "{}", 500, &one) && one.ok, 20000));
	printf("\n    leader SIGKILLed -> the other one answers after %lld ms (lease %s ms)\n",
			(long long)(hwt_now_ms() - t_kill), LEASE);
	CU_ASSERT(one.paused);
	CU_ASSERT(pause_retained(true));
	round_of_requests(&g, N_REQ, "qg-cb");

	/* the first one comes back as a standby and is SIGKILLed: the leader answers on */
	CU_ASSERT_FATAL(ch_coll_spawn(&env, &ca, "qg-ca", NULL, group_args) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(log_has(&ca, "standing by: collector qg-cb leads"), 15000));
	ch_coll_kill(&ca, SIGKILL);
	round_of_requests(&g, 2 * N_REQ, "qg-cb");
	CU_ASSERT(grq_one(&g, "cmd/unpause", "{}", 8000, &one) && one.ok);
	CU_ASSERT(HWT_WAIT_UNTIL(pause_retained(false), 5000));
	grq_close(&g);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_each_request_answered_once),
		HWTEST(TEST_another_member_of_the_share_takes_its_part),
		HWTEST(TEST_leader_killed_the_other_answers),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("query_group", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
