/* test_collector_common.h: helpers for the collector's integration suites: spawning the real
 * heartwire-collector and heartwire-agent, a watcher of the retained session states and alerts,
 * a publisher of hand-made agent messages (shared codec), and MongoDB lookups with
 * mongo-c-driver. Header-only, included by tests/integration/test_collector_*.c. */
#ifndef HEARTWIRE_TEST_COLLECTOR_COMMON_H
#define HEARTWIRE_TEST_COLLECTOR_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"
#include "hwtest.h"
#include "servers.h"
#include "collproc.h"
#include "simagent.h"

#define TC_ROOT HW_TOPIC_ROOT_DEFAULT
#define TC_MAX_SESS 256
#define TC_MAX_ALERTS 1024

/* ------------------------------------------------------------------ the environment */

typedef struct tc_env {
	hwt_broker_t broker;
	hwt_store_t store;
	char dir[256]; /* temp dir: logs, agent state */
	char db[64];
	char id[64];   /* collector id */
	char log[320]; /* collector log */
	pid_t collector;
	int grace_ms; /* --startup-grace-ms */
} tc_env_t;

static inline int tc_env_start(tc_env_t *e)
{
	memset(e, 0, sizeof(*e));
	e->grace_ms = 300;
	if(hwt_tmpdir(e->dir, sizeof(e->dir), "hwcoll") != 0) return -1;
	if(hwt_broker_start(&e->broker, NULL) != 0) return -1;
	if(hwt_store_start(&e->store) != 0) return -1;
	hwt_unique_name(e->db, sizeof(e->db), "tc");
	hwt_unique_name(e->id, sizeof(e->id), "coll");
	snprintf(e->log, sizeof(e->log), "%s/collector.log", e->dir);
	return 0;
}

/* Starts heartwire-collector against the env's broker and store; extra (NULL-terminated,
 * may be NULL) adds arguments. Returns 0 once it announced itself online (retained
 * collector/{id}), within 15 s. */
static inline int tc_collector_start(tc_env_t *e, const char *const *extra)
{
	hwt_collproc_t p = {.broker = e->broker.url,
			.mongo_uri = e->store.uri,
			.db = e->db,
			.id = e->id,
			.startup_grace_ms = e->grace_ms,
			.flush_ms = 100,
			.store_flush_ms = 200,
			.rollup_ms = 50,
			.extra = extra,
			.log = e->log};

	e->collector = hwt_collproc_spawn(&p);
	if(e->collector <= 0) return -1;
	if(hwt_collproc_presence_wait(e->broker.url, TC_ROOT, e->id, "online", 15000) != 0){
		fprintf(stderr, "collector did not come online\n");
		hwt_print_tail(e->log, 40);
		return -1;
	}
	return 0;
}

static inline void tc_collector_kill(tc_env_t *e, int sig)
{
	if(e->collector > 0) hwt_kill_wait(e->collector, sig, 8000);
	e->collector = 0;
}

static inline void tc_env_stop(tc_env_t *e)
{
	tc_collector_kill(e, SIGTERM);
	if(e->store.pid || e->store.external) hwt_store_drop_db(&e->store, e->db);
	hwt_store_cleanup(&e->store);
	hwt_broker_cleanup(&e->broker);
}

/* ------------------------------------------------------------------ the watcher */

typedef struct tc_state {
	char id[HW_ID_MAX + 1];
	bool present; /* false after a zero-length retained publish */
	int state, cause;
	int64_t epoch, last_hb_at, state_since, version, pid;
	bool has_exit;
	hw_exit_t exit;
	int64_t at_ms; /* hwt_now_ms() when received */
	int updates;
} tc_state_t;

typedef struct tc_alert {
	char id[HW_ID_MAX + 1];
	char alert[24];
	bool false_alarm;
	int64_t at_ms;
} tc_alert_t;

typedef struct tc_watch {
	hw_mqtt_t *m;
	tc_state_t s[TC_MAX_SESS];
	int ns;
	tc_alert_t a[TC_MAX_ALERTS];
	int na;
	char summary[4096];
} tc_watch_t;

static inline int tc_watch_open(tc_watch_t *w, const char *url)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	memset(w, 0, sizeof(*w));
	hwt_unique_name(id, sizeof(id), "tcwatch");
	o.url = url;
	o.client_id = id;
	o.max_inflight = 1000;
	if(hw_mqtt_new(&w->m, &o, &err) != HW_OK || hw_mqtt_connect(w->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, TC_ROOT "/state/#", 1, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, TC_ROOT "/alert/#", 1, &err) != HW_OK){
		fprintf(stderr, "watcher: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline void tc_watch_close(tc_watch_t *w)
{
	hw_mqtt_free(w->m);
	w->m = NULL;
}

static inline tc_state_t *tc_find(tc_watch_t *w, const char *id)
{
	for(int i = 0; i < w->ns; i++){
		if(strcmp(w->s[i].id, id) == 0) return &w->s[i];
	}
	return NULL;
}

/* Takes in everything queued; returns the number of messages. */
static inline int tc_pump(tc_watch_t *w)
{
	hw_mqtt_msg_t *msg;
	int n = 0;

	while((msg = hw_mqtt_next(w->m))){
		hw_topic_t t;
		hw_error_t err;
		n++;
		if(hw_topic_parse(TC_ROOT, msg->topic, strlen(msg->topic), &t, &err) == HW_OK){
			if(t.kind == HW_T_STATE_SESSION){
				tc_state_t *s = tc_find(w, t.id);
				if(!s && w->ns < TC_MAX_SESS){
					s = &w->s[w->ns++];
					snprintf(s->id, sizeof(s->id), "%s", t.id);
				}
				if(s && msg->len == 0){
					s->present = false;
					s->updates++;
				}else if(s){
					hw_session_t d = HW_SESSION_INIT;
					if(hw_session_decode(msg->payload, msg->len, &d, &err) == HW_OK){
						s->present = true;
						s->state = d.state;
						s->cause = d.cause;
						s->epoch = d.epoch;
						s->last_hb_at = d.last_hb_at;
						s->state_since = d.state_since;
						s->version = d.version;
						s->pid = d.pid;
						s->has_exit = d.has_exit;
						s->exit = d.exit;
						s->at_ms = hwt_now_ms();
						s->updates++;
						hw_session_cleanup(&d);
					}else{
						fprintf(stderr, "watcher: bad session document: %s\n", err.msg);
					}
				}
			}else if(t.kind == HW_T_ALERT && w->na < TC_MAX_ALERTS){
				tc_alert_t *a = &w->a[w->na++];
				const char *p = strstr((const char *)msg->payload, "\"alert\":\"");
				snprintf(a->id, sizeof(a->id), "%s", t.id);
				if(p) sscanf(p + 9, "%23[a-z_]", a->alert);
				a->false_alarm = strstr((const char *)msg->payload, "\"false_alarm\":true") != NULL;
				a->at_ms = hwt_now_ms();
			}else if(t.kind == HW_T_STATE_SUMMARY){
				snprintf(w->summary, sizeof(w->summary), "%.*s", (int)msg->len, (const char *)msg->payload);
			}
		}
		hw_mqtt_msg_free(msg);
	}
	return n;
}

/* True when the retained state of id is (state, cause); cause < 0 accepts any. */
static inline bool tc_is(tc_watch_t *w, const char *id, int state, int cause)
{
	tc_state_t *s;

	tc_pump(w);
	s = tc_find(w, id);
	return s && s->present && s->state == state && (cause < 0 || s->cause == cause);
}

static inline int tc_alerts(tc_watch_t *w, const char *id, const char *alert)
{
	int n = 0;

	tc_pump(w);
	for(int i = 0; i < w->na; i++){
		if(strcmp(w->a[i].id, id) == 0 && strcmp(w->a[i].alert, alert) == 0) n++;
	}
	return n;
}

/* ------------------------------------------------------------------ the real agent */

/* Starts heartwire-agent run for session sid on machine mid with CMD (NULL-terminated).
 * interval_ms 200 unless 0. */
static inline pid_t tc_agent(tc_env_t *e, const char *mid, const char *sid, int interval_ms, const char *const *cmd)
{
	char bin[512], iv[32], state[300], log[400];
	const char *argv[40];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/agent/heartwire-agent", hwt_build_dir());
	snprintf(iv, sizeof(iv), "%d", interval_ms ? interval_ms : 200);
	snprintf(state, sizeof(state), "%s/agent-state", e->dir);
	snprintf(log, sizeof(log), "%s/agent-%s.log", e->dir, sid);
	argv[n++] = bin;
	argv[n++] = "run";
	argv[n++] = "--broker";
	argv[n++] = e->broker.url;
	argv[n++] = "--machine";
	argv[n++] = mid;
	argv[n++] = "--session";
	argv[n++] = sid;
	argv[n++] = "--project";
	argv[n++] = "proj";
	argv[n++] = "--interval-ms";
	argv[n++] = iv;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	argv[n++] = "--";
	for(int i = 0; cmd[i] && n < 38; i++) argv[n++] = cmd[i];
	argv[n] = NULL;
	return hwt_spawn(argv, log);
}

/* ------------------------------------------------------------------ a hand-made agent */

typedef struct tc_pub {
	hw_mqtt_t *m;
} tc_pub_t;

static inline int tc_pub_open(tc_pub_t *p, const char *url)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	hwt_unique_name(id, sizeof(id), "tcpub");
	o.url = url;
	o.client_id = id;
	o.max_inflight = 1000;
	if(hw_mqtt_new(&p->m, &o, &err) != HW_OK || hw_mqtt_connect(p->m, NULL, &err) != HW_OK){
		fprintf(stderr, "publisher: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline int tc_pub_raw(tc_pub_t *p, int kind, const char *mid, const char *sid, const char *json, size_t len, bool retain)
{
	return hwt_sim_pub(p->m, TC_ROOT, kind, mid, sid, json, len, retain, 5000);
}

static inline int tc_pub_birth(tc_pub_t *p, const char *mid, const char *sid, int64_t epoch, int interval_ms)
{
	return hwt_sim_birth(p->m, TC_ROOT, mid, sid, "proj", epoch, interval_ms, 5000);
}

static inline int tc_pub_hb(tc_pub_t *p, const char *mid, const char *sid, int64_t epoch, int64_t seq, int interval_ms)
{
	return hwt_sim_hb(p->m, TC_ROOT, mid, sid, epoch, seq, interval_ms, 5000);
}

static inline int tc_pub_status(tc_pub_t *p, const char *mid, const char *sid, int status, int64_t epoch, int code)
{
	hw_status_t st = HW_STATUS_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(st.session, sizeof(st.session), "%s", sid);
	st.status = status;
	st.epoch = epoch;
	st.ts = status == HW_STATUS_LOST ? 0 : hw_time_ms();
	if(status == HW_STATUS_ENDED){
		st.has_exit = true;
		st.exit.code = code;
	}
	if(hw_status_encode(&st, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(p, HW_T_STATUS, mid, sid, json, len, true);
	free(json);
	return rc;
}

static inline void tc_pub_close(tc_pub_t *p)
{
	hw_mqtt_free(p->m);
	p->m = NULL;
}

/* ------------------------------------------------------------------ a requester */

/* A client that sends q/ and cmd/ requests with the MQTT 5 response topic and reads replies. */
typedef struct tc_rq {
	hw_mqtt_t *m;
	char reply[160];
	unsigned seq;
} tc_rq_t;

static inline int tc_rq_open(tc_rq_t *q, const char *url)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	memset(q, 0, sizeof(*q));
	hwt_unique_name(id, sizeof(id), "tq");
	snprintf(q->reply, sizeof(q->reply), TC_ROOT "/reply/test/%s", id);
	o.url = url;
	o.client_id = id;
	if(hw_mqtt_new(&q->m, &o, &err) != HW_OK || hw_mqtt_connect(q->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(q->m, q->reply, 1, &err) != HW_OK){
		fprintf(stderr, "requester: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline void tc_rq_close(tc_rq_t *q)
{
	hw_mqtt_free(q->m);
	q->m = NULL;
}

/* Sends payload to {root}/{what} ("q/sessions") with the MQTT 5 response topic and waits for the
 * reply (decoded into *r; caller cleans up). 0 when a reply came within 8 s. */
static inline int tc_rq_ask(tc_rq_t *q, const char *what, const char *payload, hw_reply_t *r)
{
	char topic[HW_TOPIC_MAX], corr[32];
	hw_error_t err;
	int64_t end;

	*r = (hw_reply_t)HW_REPLY_INIT;
	snprintf(topic, sizeof(topic), TC_ROOT "/%s", what);
	snprintf(corr, sizeof(corr), "c%u", ++q->seq);
	if(hw_mqtt_publish_req(q->m, topic, payload, strlen(payload), 1, q->reply, corr, strlen(corr), &err) != HW_OK){
		fprintf(stderr, "request: %s\n", err.msg);
		return -1;
	}
	end = hwt_now_ms() + 8000;
	while(hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(q->m, 50);
		while((msg = hw_mqtt_next(q->m))){
			bool mine = msg->corr_len == strlen(corr) && memcmp(msg->corr, corr, msg->corr_len) == 0;
			int rc = mine ? hw_reply_decode(msg->payload, msg->len, r, &err) : HW_OK;
			hw_mqtt_msg_free(msg);
			if(!mine) continue;
			if(rc != HW_OK){
				fprintf(stderr, "reply: %s\n", err.msg);
				return -1;
			}
			return 0;
		}
	}
	fprintf(stderr, "no reply to %s %s\n", what, payload);
	return -1;
}

/* Asks and expects ok: true with the reply in *r (caller cleans up); false (printed) on no reply
 * or an error reply. */
static inline bool tc_rq_ok(tc_rq_t *q, const char *what, const char *payload, hw_reply_t *r)
{
	if(tc_rq_ask(q, what, payload, r) != 0) return false;
	if(!r->ok) fprintf(stderr, "%s %s: %s: %s\n", what, payload, r->code_name, r->message);
	return r->ok;
}

/* ------------------------------------------------------------------ the database */

/* Reads sessions/{id} into the out fields; returns 0 when found. */
static inline int tc_db_session(const tc_env_t *e, const char *id, char *state, size_t slen, char *cause, size_t clen,
		int64_t *epoch, int *exit_code)
{
	mongoc_client_t *c = mongoc_client_new(e->store.uri);
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *doc;
	int rc = -1;

	if(!c) return -1;
	coll = mongoc_client_get_collection(c, e->db, "sessions");
	BSON_APPEND_UTF8(&filter, "_id", id);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	if(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		rc = 0;
		if(bson_iter_init_find(&it, doc, "state") && BSON_ITER_HOLDS_UTF8(&it))
			snprintf(state, slen, "%s", bson_iter_utf8(&it, NULL));
		if(bson_iter_init_find(&it, doc, "cause") && BSON_ITER_HOLDS_UTF8(&it))
			snprintf(cause, clen, "%s", bson_iter_utf8(&it, NULL));
		if(epoch && bson_iter_init_find(&it, doc, "epoch")) *epoch = bson_iter_as_int64(&it);
		if(exit_code){
			*exit_code = -1;
			if(bson_iter_init_find(&it, doc, "exit") && BSON_ITER_HOLDS_DOCUMENT(&it)){
				bson_iter_t sub;
				if(bson_iter_recurse(&it, &sub) && bson_iter_find(&sub, "code") && !BSON_ITER_HOLDS_NULL(&sub))
					*exit_code = (int)bson_iter_as_int64(&sub);
			}
		}
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return rc;
}

/* True when the stored session id is in (state, cause). */
static inline bool tc_db_is(const tc_env_t *e, const char *id, const char *state, const char *cause)
{
	char st[32] = "", ca[32] = "";

	if(tc_db_session(e, id, st, sizeof(st), ca, sizeof(ca), NULL, NULL) != 0) return false;
	return strcmp(st, state) == 0 && (!cause || strcmp(ca, cause) == 0);
}

/* Counts documents in a collection matching {session: id} (or all when id is NULL). */
static inline int64_t tc_db_count(const tc_env_t *e, const char *coll_name, const char *id)
{
	mongoc_client_t *c = mongoc_client_new(e->store.uri);
	mongoc_collection_t *coll;
	bson_t filter = BSON_INITIALIZER;
	bson_error_t berr;
	int64_t n;

	if(!c) return -1;
	coll = mongoc_client_get_collection(c, e->db, coll_name);
	if(id) BSON_APPEND_UTF8(&filter, "session", id);
	n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL, &berr);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return n;
}

#endif
