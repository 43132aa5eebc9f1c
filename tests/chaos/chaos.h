/* chaos.h: what the chaos suites share (header-only): the servers, any number of real
 * heartwire-collector processes, real heartwire-agent processes, a watcher of every retained
 * session state and alert that also catches a state going backwards, hand-made agent messages,
 * and MongoDB checks (session documents, the audit log as a transition chain). */
#ifndef HEARTWIRE_TEST_CHAOS_H
#define HEARTWIRE_TEST_CHAOS_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
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

#define CH_ROOT HW_TOPIC_ROOT_DEFAULT

/* ------------------------------------------------------------------ servers */

typedef struct ch_env {
	hwt_broker_t broker;
	hwt_store_t store;
	char dir[256]; /* logs, agent state */
	char db[64];
	int startup_grace_ms;
} ch_env_t;

/* Starts a broker (conf NULL: conf/mosquitto/test.conf) and a store, and names a fresh database. */
static inline int ch_env_start(ch_env_t *e, const char *broker_conf)
{
	memset(e, 0, sizeof(*e));
	e->startup_grace_ms = 3000;
	if(hwt_tmpdir(e->dir, sizeof(e->dir), "hwt-chaos") != 0) return -1;
	if(hwt_broker_start(&e->broker, broker_conf) != 0) return -1;
	if(hwt_store_start(&e->store) != 0) return -1;
	hwt_unique_name(e->db, sizeof(e->db), "ch");
	return 0;
}

static inline void ch_env_stop(ch_env_t *e)
{
	if(e->store.pid || e->store.external) hwt_store_drop_db(&e->store, e->db);
	hwt_store_cleanup(&e->store);
	hwt_broker_cleanup(&e->broker);
}

/* ------------------------------------------------------------------ collectors */

typedef struct ch_coll {
	pid_t pid;
	char id[64];
	char log[400];
} ch_coll_t;

/* Waits up to timeout_ms for collector/{id} to be retained as `want` ("online"/"offline"). */
static inline int ch_presence_wait(const char *url, const char *id, const char *want, int timeout_ms)
{
	return hwt_collproc_presence_wait(url, CH_ROOT, id, want, timeout_ms);
}

/* Starts heartwire-collector `id` on the env's broker (url NULL) or url, with its own log and
 * the env's database; extra: more arguments (NULL-terminated, may be NULL). Returns 0 once it
 * runs (a member of a group may be standing by: see ch_coll_start). */
static inline int ch_coll_spawn(ch_env_t *e, ch_coll_t *c, const char *id, const char *url, const char *const *extra)
{
	hwt_collproc_t p = {.broker = url ? url : e->broker.url,
			.mongo_uri = e->store.uri,
			.db = e->db,
			.startup_grace_ms = e->startup_grace_ms,
			.flush_ms = 200,
			.store_flush_ms = 500,
			.rollup_ms = 100,
			.extra = extra};

	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->log, sizeof(c->log), "%s/%s.log", e->dir, id);
	p.id = c->id;
	p.log = c->log;
	c->pid = hwt_collproc_spawn(&p);
	return c->pid > 0 ? 0 : -1;
}

/* ch_coll_spawn, then waits until it announced itself online (within 30 s). */
static inline int ch_coll_start(ch_env_t *e, ch_coll_t *c, const char *id, const char *url, const char *const *extra)
{
	if(ch_coll_spawn(e, c, id, url, extra) != 0) return -1;
	if(ch_presence_wait(url ? url : e->broker.url, c->id, "online", 30000) != 0){
		fprintf(stderr, "collector %s did not come online\n", c->id);
		hwt_print_tail(c->log, 40);
		return -1;
	}
	return 0;
}

static inline void ch_coll_kill(ch_coll_t *c, int sig)
{
	if(c->pid > 0) hwt_kill_wait(c->pid, sig, 10000);
	c->pid = 0;
}

/* Counts lines of the collector's log that contain needle. */
static inline int ch_log_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;

	if(!f) return 0;
	while(fgets(line, sizeof(line), f)){
		if(strstr(line, needle)) n++;
	}
	fclose(f);
	return n;
}

/* ------------------------------------------------------------------ agents */

/* Starts heartwire-agent run for sid on machine mid against url (NULL: the env's broker),
 * with --interval-ms interval_ms, more options in opts (NULL-terminated, may be NULL), and
 * CMD (NULL-terminated). Its log is DIR/agent-SID.log. */
static inline pid_t ch_agent(ch_env_t *e, const char *url, const char *mid, const char *sid, int interval_ms,
		const char *const *opts, const char *const *cmd)
{
	char bin[512], iv[32], state[600], log[1024];
	const char *argv[64];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/agent/heartwire-agent", hwt_build_dir());
	snprintf(iv, sizeof(iv), "%d", interval_ms);
	snprintf(state, sizeof(state), "%s/agent-state", e->dir);
	snprintf(log, sizeof(log), "%s/agent-%s.log", e->dir, sid);
	argv[n++] = bin;
	argv[n++] = "run";
	argv[n++] = "--broker";
	argv[n++] = url ? url : e->broker.url;
	argv[n++] = "--machine";
	argv[n++] = mid;
	argv[n++] = "--session";
	argv[n++] = sid;
	argv[n++] = "--project";
	argv[n++] = "chaos";
	argv[n++] = "--interval-ms";
	argv[n++] = iv;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	for(int i = 0; opts && opts[i] && n < 50; i++) argv[n++] = opts[i];
	argv[n++] = "--";
	for(int i = 0; cmd[i] && n < 62; i++) argv[n++] = cmd[i];
	argv[n] = NULL;
	return hwt_spawn(argv, log);
}

/* ------------------------------------------------------------------ the watcher */

#define CH_ALERT_KINDS 5
static const char *const ch_alert_names[CH_ALERT_KINDS] = {"stalled", "lost", "crashed", "failed", "recovered"};

typedef struct ch_sess {
	char id[HW_ID_MAX + 1];
	bool present; /* false after a zero-length retained publish */
	int state, cause;
	int64_t epoch, version, last_hb_at, state_since, pid;
	bool has_exit;
	hw_exit_t exit;
	int64_t at_ms; /* hwt_now_ms() of the last update */
	int updates;
	int backwards; /* publications older than one seen before (version went down) */
	int alerts[CH_ALERT_KINDS];
	int false_alarms;
	int64_t first_alert_ms[CH_ALERT_KINDS];
} ch_sess_t;

typedef struct ch_watch {
	hw_mqtt_t *m;
	ch_sess_t *s;
	int ns, cap;
	int *index; /* open addressing: slot -> session index + 1 (0 empty) */
	int index_cap;
	int backwards; /* total */
	char summary[8192];
} ch_watch_t;

static inline unsigned ch_hash(const char *s)
{
	unsigned h = 2166136261u;

	while(*s) h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/* Opens a watcher of state/# and alert/# with room for cap sessions. */
static inline int ch_watch_open(ch_watch_t *w, const char *url, int cap)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	memset(w, 0, sizeof(*w));
	w->cap = cap;
	w->s = calloc((size_t)cap, sizeof(*w->s));
	w->index_cap = 4 * cap;
	w->index = calloc((size_t)w->index_cap, sizeof(*w->index));
	if(!w->s || !w->index) return -1;
	hwt_unique_name(id, sizeof(id), "chwatch");
	o.url = url;
	o.client_id = id;
	o.max_inflight = 65535;
	o.connect_timeout_ms = 10000;
	if(hw_mqtt_new(&w->m, &o, &err) != HW_OK || hw_mqtt_connect(w->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, CH_ROOT "/state/#", 1, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, CH_ROOT "/alert/#", 1, &err) != HW_OK){
		fprintf(stderr, "watcher: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline void ch_watch_close(ch_watch_t *w)
{
	hw_mqtt_free(w->m);
	free(w->s);
	free(w->index);
	memset(w, 0, sizeof(*w));
}

static inline ch_sess_t *ch_find_or_add(ch_watch_t *w, const char *id, bool add)
{
	unsigned slot = ch_hash(id) % (unsigned)w->index_cap;

	for(;;){
		int k = w->index[slot];
		if(k == 0) break;
		if(strcmp(w->s[k - 1].id, id) == 0) return &w->s[k - 1];
		slot = (slot + 1) % (unsigned)w->index_cap;
	}
	if(!add || w->ns >= w->cap) return NULL;
	snprintf(w->s[w->ns].id, sizeof(w->s[w->ns].id), "%s", id);
	w->index[slot] = ++w->ns;
	return &w->s[w->ns - 1];
}

static inline ch_sess_t *ch_find(ch_watch_t *w, const char *id)
{
	return ch_find_or_add(w, id, false);
}

/* Takes in everything queued; returns the number of messages. */
static inline int ch_pump(ch_watch_t *w)
{
	hw_mqtt_msg_t *msg;
	int n = 0;

	while((msg = hw_mqtt_next(w->m))){
		hw_topic_t t;
		hw_error_t err;
		n++;
		if(hw_topic_parse(CH_ROOT, msg->topic, strlen(msg->topic), &t, &err) != HW_OK){
			hw_mqtt_msg_free(msg);
			continue;
		}
		if(t.kind == HW_T_STATE_SESSION){
			ch_sess_t *s = ch_find_or_add(w, t.id, true);
			if(s && msg->len == 0){
				s->present = false;
				s->updates++;
			}else if(s){
				hw_session_t d = HW_SESSION_INIT;
				if(hw_session_decode(msg->payload, msg->len, &d, &err) == HW_OK){
					if(d.version < s->version){
						s->backwards++;
						w->backwards++;
						fprintf(stderr,
								"watcher: %s went backwards: version %lld (%s/%s, epoch %lld) "
								"after %lld "
								"(%s/%s, epoch %lld)\n",
								s->id, (long long)d.version, hw_state_name(d.state),
								hw_cause_name(d.cause), (long long)d.epoch, (long long)s->version,
								hw_state_name(s->state), hw_cause_name(s->cause),
								(long long)s->epoch);
					}else{
						s->present = true;
						s->state = d.state;
						s->cause = d.cause;
						s->epoch = d.epoch;
						s->version = d.version;
						s->last_hb_at = d.last_hb_at;
						s->state_since = d.state_since;
						s->pid = d.pid;
						s->has_exit = d.has_exit;
						s->exit = d.exit;
						s->at_ms = hwt_now_ms();
					}
					s->updates++;
					hw_session_cleanup(&d);
				}else{
					fprintf(stderr, "watcher: bad session document for %s: %s\n", t.id, err.msg);
				}
			}
		}else if(t.kind == HW_T_ALERT){
			ch_sess_t *s = ch_find_or_add(w, t.id, true);
			char name[24] = "";
			const char *p = strstr((const char *)msg->payload, "\"alert\":\"");
			if(s && p){
				sscanf(p + 9, "%23[a-z_]", name);
				for(int k = 0; k < CH_ALERT_KINDS; k++){
					if(strcmp(name, ch_alert_names[k]) != 0) continue;
					if(!s->alerts[k]) s->first_alert_ms[k] = hwt_now_ms();
					s->alerts[k]++;
				}
				if(strstr((const char *)msg->payload, "\"false_alarm\":true")) s->false_alarms++;
			}
		}else if(t.kind == HW_T_STATE_SUMMARY){
			snprintf(w->summary, sizeof(w->summary), "%.*s", (int)msg->len, (const char *)msg->payload);
		}
		hw_mqtt_msg_free(msg);
	}
	return n;
}

/* True when the retained state of id is (state, cause); cause < 0 accepts any. */
static inline bool ch_is(ch_watch_t *w, const char *id, int state, int cause)
{
	ch_sess_t *s;

	ch_pump(w);
	s = ch_find(w, id);
	return s && s->present && s->state == state && (cause < 0 || s->cause == cause);
}

static inline int ch_alerts(ch_watch_t *w, const char *id, const char *alert)
{
	ch_sess_t *s;

	ch_pump(w);
	s = ch_find(w, id);
	if(!s) return 0;
	for(int k = 0; k < CH_ALERT_KINDS; k++){
		if(strcmp(ch_alert_names[k], alert) == 0) return s->alerts[k];
	}
	return 0;
}

/* ------------------------------------------------------------------ hand-made agent messages */

/* A plain MQTT client (no will) with a unique id; NULL after printing why. */
static inline hw_mqtt_t *ch_client(const char *url, const char *prefix, const hw_mqtt_will_t *will)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[64];

	hwt_unique_name(id, sizeof(id), prefix);
	o.url = url;
	o.client_id = id;
	o.max_inflight = 1000;
	o.connect_timeout_ms = 10000;
	if(hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, will, &err) != HW_OK){
		fprintf(stderr, "client %s: %s\n", prefix, err.msg);
		hw_mqtt_free(m);
		return NULL;
	}
	return m;
}

/* Publishes at QoS 1 and waits for the PUBACK (an acknowledged update). */
static inline int ch_pub(hw_mqtt_t *m, int kind, const char *mid, const char *sid, const char *json, size_t len, bool retain)
{
	return hwt_sim_pub(m, CH_ROOT, kind, mid, sid, json, len, retain, 10000);
}

static inline int ch_pub_birth(hw_mqtt_t *m, const char *mid, const char *sid, int64_t epoch, int interval_ms)
{
	return hwt_sim_birth(m, CH_ROOT, mid, sid, "chaos", epoch, interval_ms, 10000);
}

static inline int ch_pub_hb(hw_mqtt_t *m, const char *mid, const char *sid, int64_t epoch, int64_t seq, int interval_ms)
{
	return hwt_sim_hb(m, CH_ROOT, mid, sid, epoch, seq, interval_ms, 10000);
}

/* An agent event of type `type` (HW_EV_*) with text. */
static inline int ch_pub_ev(
		hw_mqtt_t *m, const char *mid, const char *sid, int64_t epoch, int64_t seq, int type, const char *text)
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
	if(text) snprintf(ev.text, sizeof(ev.text), "%s", text);
	if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
	rc = ch_pub(m, HW_T_EV, mid, sid, json, len, false);
	free(json);
	return rc;
}

/* ------------------------------------------------------------------ the database */

typedef struct ch_db {
	mongoc_client_t *c;
	char db[64];
} ch_db_t;

static inline int ch_db_open(ch_db_t *d, const ch_env_t *e)
{
	d->c = mongoc_client_new(e->store.uri);
	snprintf(d->db, sizeof(d->db), "%s", e->db);
	return d->c ? 0 : -1;
}

static inline void ch_db_close(ch_db_t *d)
{
	if(d->c) mongoc_client_destroy(d->c);
	d->c = NULL;
}

/* Reads sessions/{id}: state, cause (names), epoch, exit code (-1 none). 0 when found. */
static inline int ch_db_session(
		ch_db_t *d, const char *id, char *state, size_t slen, char *cause, size_t clen, int64_t *epoch, int *exit_code)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(d->c, d->db, "sessions");
	mongoc_cursor_t *cur;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *doc;
	int rc = -1;

	BSON_APPEND_UTF8(&filter, "_id", id);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	if(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		rc = 0;
		if(state && bson_iter_init_find(&it, doc, "state") && BSON_ITER_HOLDS_UTF8(&it))
			snprintf(state, slen, "%s", bson_iter_utf8(&it, NULL));
		if(cause && bson_iter_init_find(&it, doc, "cause") && BSON_ITER_HOLDS_UTF8(&it))
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
	return rc;
}

/* True when the stored session id is in state (and cause, unless NULL). */
static inline bool ch_db_is(ch_db_t *d, const char *id, const char *state, const char *cause)
{
	char st[32] = "", ca[32] = "";

	if(ch_db_session(d, id, st, sizeof(st), ca, sizeof(ca), NULL, NULL) != 0) return false;
	return strcmp(st, state) == 0 && (!cause || strcmp(ca, cause) == 0);
}

/* Counts documents of coll matching filter (borrowed; NULL: all). -1 on error. */
static inline int64_t ch_db_count(ch_db_t *d, const char *coll_name, const bson_t *filter)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(d->c, d->db, coll_name);
	bson_t empty = BSON_INITIALIZER;
	bson_error_t berr;
	int64_t n = mongoc_collection_count_documents(coll, filter ? filter : &empty, NULL, NULL, NULL, &berr);

	if(n < 0) fprintf(stderr, "count %s: %s\n", coll_name, berr.message);
	bson_destroy(&empty);
	mongoc_collection_destroy(coll);
	return n;
}

/* Agent events of session sid with seq in the events collection (kind agent). */
static inline int64_t ch_db_agent_event(ch_db_t *d, const char *sid, int64_t epoch, int64_t seq)
{
	bson_t f = BSON_INITIALIZER;
	int64_t n;

	BSON_APPEND_UTF8(&f, "session", sid);
	BSON_APPEND_UTF8(&f, "kind", "agent");
	BSON_APPEND_INT64(&f, "epoch", epoch);
	BSON_APPEND_INT64(&f, "seq", seq);
	n = ch_db_count(d, "events", &f);
	bson_destroy(&f);
	return n;
}

#define CH_CHAIN_MAX 256

typedef struct ch_edge {
	char from[48], to[48];
	int64_t at, epoch;
	bool used;
} ch_edge_t;

/* Checks the audit log of session sid: its transition events must form one chain from "none"
 * to final ("state/cause"), each transition exactly once: no duplicate, no gap. Returns 0 when
 * they do; -1 (printing the log when verbose) when they do not. */
static inline int ch_db_chain(ch_db_t *d, const char *sid, const char *final, bool verbose)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(d->c, d->db, "events");
	bson_t f = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	ch_edge_t *e = calloc(CH_CHAIN_MAX, sizeof(*e));
	int n = 0, used = 0, rc = 0;
	char cur_state[48] = "none/none";

	BSON_APPEND_UTF8(&f, "session", sid);
	BSON_APPEND_UTF8(&f, "kind", "transition");
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "at", 1);
	bson_append_document_end(&opts, &sort);
	cur = mongoc_collection_find_with_opts(coll, &f, &opts, NULL);
	while(e && n < CH_CHAIN_MAX && mongoc_cursor_next(cur, &doc)){
		bson_iter_t it, sub;
		char fs[24] = "", fc[24] = "", ts[24] = "", tc[24] = "";
		if(bson_iter_init_find(&it, doc, "from") && bson_iter_recurse(&it, &sub)){
			while(bson_iter_next(&sub)){
				if(strcmp(bson_iter_key(&sub), "state") == 0)
					snprintf(fs, sizeof(fs), "%s", bson_iter_utf8(&sub, NULL));
				if(strcmp(bson_iter_key(&sub), "cause") == 0)
					snprintf(fc, sizeof(fc), "%s", bson_iter_utf8(&sub, NULL));
			}
		}
		if(bson_iter_init_find(&it, doc, "to") && bson_iter_recurse(&it, &sub)){
			while(bson_iter_next(&sub)){
				if(strcmp(bson_iter_key(&sub), "state") == 0)
					snprintf(ts, sizeof(ts), "%s", bson_iter_utf8(&sub, NULL));
				if(strcmp(bson_iter_key(&sub), "cause") == 0)
					snprintf(tc, sizeof(tc), "%s", bson_iter_utf8(&sub, NULL));
			}
		}
		snprintf(e[n].from, sizeof(e[n].from), "%s/%s", fs, fc);
		snprintf(e[n].to, sizeof(e[n].to), "%s/%s", ts, tc);
		if(bson_iter_init_find(&it, doc, "at") && BSON_ITER_HOLDS_DATE_TIME(&it)) e[n].at = bson_iter_date_time(&it);
		if(bson_iter_init_find(&it, doc, "epoch")) e[n].epoch = bson_iter_as_int64(&it);
		n++;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	if(!e) return -1;
	/* walk: from "none", always the earliest unused edge leaving the current state */
	for(;;){
		int pick = -1;
		for(int i = 0; i < n; i++){
			if(!e[i].used && strcmp(e[i].from, cur_state) == 0){
				pick = i;
				break;
			}
		}
		if(pick < 0) break;
		e[pick].used = true;
		used++;
		snprintf(cur_state, sizeof(cur_state), "%s", e[pick].to);
	}
	if(used != n || strcmp(cur_state, final) != 0) rc = -1;
	if(rc != 0 && verbose){
		fprintf(stderr, "audit log of %s is not one chain to %s (%d transitions, %d chained, ends at %s):\n", sid, final,
				n, used, cur_state);
		for(int i = 0; i < n; i++)
			fprintf(stderr, "  %lld epoch %lld: %s -> %s%s\n", (long long)e[i].at, (long long)e[i].epoch, e[i].from,
					e[i].to, e[i].used ? "" : "   <- not in the chain");
	}
	free(e);
	return rc;
}

/* ch_db_chain until it holds (the events are written after the documents) or timeout_ms
 * passes; prints the log when it never held. */
static inline int ch_db_chain_wait(ch_db_t *d, const char *sid, const char *final, int timeout_ms)
{
	if(HWT_WAIT_UNTIL(ch_db_chain(d, sid, final, false) == 0, timeout_ms)) return 0;
	return ch_db_chain(d, sid, final, true);
}

#endif
