/* test_agent_common.h: helpers for the agent's integration suites: a recording MQTT
 * subscriber, spawning the real heartwire-agent binary, and payload lookups. Header-only,
 * included by tests/integration/test_agent_*.c. */
#ifndef HEARTWIRE_TEST_AGENT_COMMON_H
#define HEARTWIRE_TEST_AGENT_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/agentmsg.h"
#include "heartwire/clock.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"
#include "hooksock.h"
#include "hwtest.h"
#include "servers.h"

#define REC_MAX 4096

/* One received message. */
typedef struct rec {
	int kind; /* hw_topic_kind */
	char id[HW_ID_MAX + 1];
	char *payload; /* NUL-terminated copy */
	size_t len;
	bool retained;
	int64_t at_ms; /* hwt_now_ms() when popped */
} rec_t;

/* A subscriber that records everything under {root}/#. */
typedef struct sub {
	hw_mqtt_t *m;
	char root[HW_TOPIC_ROOT_MAX + 1];
	char filter[HW_TOPIC_MAX];
	rec_t recs[REC_MAX];
	int n;
} sub_t;

static inline int sub_open_ex(sub_t *s, const char *url, const char *root, const char *filter, bool durable)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	memset(s, 0, sizeof(*s));
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(s->filter, sizeof(s->filter), "%s", filter);
	hwt_unique_name(id, sizeof(id), "tsub");
	o.url = url;
	o.client_id = id;
	o.clean_start = !durable;
	o.session_expiry_s = durable ? 600 : 0;
	o.max_inflight = 1000;
	if(hw_mqtt_new(&s->m, &o, &err) != HW_OK || hw_mqtt_connect(s->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(s->m, filter, 1, &err) != HW_OK){
		fprintf(stderr, "subscriber: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline int sub_open(sub_t *s, const char *url, const char *root)
{
	char filter[HW_TOPIC_MAX];

	snprintf(filter, sizeof(filter), "%s/#", root);
	return sub_open_ex(s, url, root, filter, false);
}

/* Reconnects a durable subscriber after a broker restart (its session and queue survive). */
static inline int sub_reconnect(sub_t *s, int timeout_ms)
{
	hw_error_t err;
	int64_t end = hwt_now_ms() + timeout_ms;

	while(hwt_now_ms() < end){
		if(hw_mqtt_connected(s->m)) return 0;
		if(hw_mqtt_connect(s->m, NULL, &err) == HW_OK) return 0;
		hwt_sleep_ms(20);
	}
	return -1;
}

/* Pops every queued message into recs. Returns the count. */
static inline int sub_pump(sub_t *s)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(s->m)) != NULL){
		hw_topic_t t;
		if(s->n < REC_MAX && hw_topic_parse(s->root, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK){
			rec_t *r = &s->recs[s->n++];
			r->kind = t.kind;
			memcpy(r->id, t.id, sizeof(r->id));
			r->payload = malloc(msg->len + 1);
			memcpy(r->payload, msg->payload, msg->len);
			r->payload[msg->len] = '\0';
			r->len = msg->len;
			r->retained = msg->retained;
			r->at_ms = hwt_now_ms();
		}
		hw_mqtt_msg_free(msg);
	}
	return s->n;
}

static inline void sub_close(sub_t *s)
{
	if(s->m){
		hw_mqtt_disconnect(s->m, 500);
		hw_mqtt_free(s->m);
	}
	for(int i = 0; i < s->n; i++) free(s->recs[i].payload);
	memset(s, 0, sizeof(*s));
}

/* The number of messages of kind for session (NULL: any). */
static inline int sub_count(sub_t *s, int kind, const char *session)
{
	int c = 0;

	sub_pump(s);
	for(int i = 0; i < s->n; i++){
		if(s->recs[i].kind == kind && (!session || strcmp(s->recs[i].id, session) == 0)) c++;
	}
	return c;
}

/* The index of the k-th (0-based; -1: last) message of kind for session, or -1. */
static inline int sub_find(sub_t *s, int kind, const char *session, int k)
{
	int c = 0, last = -1;

	sub_pump(s);
	for(int i = 0; i < s->n; i++){
		if(s->recs[i].kind != kind || (session && strcmp(s->recs[i].id, session) != 0)) continue;
		if(c++ == k) return i;
		last = i;
	}
	return k < 0 ? last : -1;
}

/* Index of the first ev of session with type (and, for exit, any), after index from; -1. */
static inline int sub_find_ev(sub_t *s, const char *session, int type, int from, hw_ev_t *out)
{
	sub_pump(s);
	for(int i = from < 0 ? 0 : from; i < s->n; i++){
		hw_ev_t ev;
		if(s->recs[i].kind != HW_T_EV || strcmp(s->recs[i].id, session) != 0) continue;
		if(hw_ev_decode(s->recs[i].payload, s->recs[i].len, &ev, NULL) != HW_OK) continue;
		if(ev.type == type){
			if(out) *out = ev;
			return i;
		}
	}
	return -1;
}

/* The status with the given kind (HW_STATUS_*) for session, newest first; -1. */
static inline int sub_find_status(sub_t *s, const char *session, int status, hw_status_t *out)
{
	sub_pump(s);
	for(int i = s->n - 1; i >= 0; i--){
		hw_status_t st;
		if(s->recs[i].kind != HW_T_STATUS || strcmp(s->recs[i].id, session) != 0 || s->recs[i].len == 0) continue;
		if(hw_status_decode(s->recs[i].payload, s->recs[i].len, &st, NULL) != HW_OK) continue;
		if(st.status == status){
			if(out) *out = st;
			return i;
		}
	}
	return -1;
}

/* Publishes (retained or not) from the subscriber's connection and waits for the PUBACK. */
static inline int sub_publish(sub_t *s, const char *topic, const char *payload, bool retain)
{
	hw_error_t err;

	if(hw_mqtt_publish_wait(s->m, topic, payload, strlen(payload), 1, retain, 3000, &err) != HW_OK){
		fprintf(stderr, "publish %s: %s\n", topic, err.msg);
		return -1;
	}
	return 0;
}

/* The path of the real agent binary. */
static inline const char *agent_bin(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/agent/heartwire-agent", hwt_build_dir());
	return path;
}

/* An agent run: its pid, log and the arguments it got. */
typedef struct agent_proc {
	pid_t pid;
	char log[256];
	char state_dir[256];
} agent_proc_t;

/* Starts `heartwire-agent run` with the given options (NULL-terminated, borrowed) and CMD
 * after "--". Returns 0 or -1. */
static inline int agent_start(agent_proc_t *a, const char *dir, const char *url, const char *const *opts, const char *const *cmd)
{
	const char *argv[64];
	int n = 0;
	static int counter;

	snprintf(a->log, sizeof(a->log), "%s/agent-%d.log", dir, counter++);
	snprintf(a->state_dir, sizeof(a->state_dir), "%s/state", dir);
	argv[n++] = agent_bin();
	argv[n++] = "run";
	argv[n++] = "--broker";
	argv[n++] = url;
	argv[n++] = "--state-dir";
	argv[n++] = a->state_dir;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	while(opts && *opts && n < 50) argv[n++] = *opts++;
	argv[n++] = "--";
	while(cmd && *cmd && n < 63) argv[n++] = *cmd++;
	argv[n] = NULL;
	a->pid = hwt_spawn(argv, a->log);
	return a->pid > 0 ? 0 : -1;
}

/* Waits for the agent to exit; returns its shell exit code, or -1 on timeout. */
static inline int agent_wait(agent_proc_t *a, int timeout_ms)
{
	int st = 0;

	if(hwt_wait_pid(a->pid, timeout_ms, &st) != 0){
		hwt_print_tail(a->log, 30);
		return -1;
	}
	a->pid = 0;
	if(WIFEXITED(st)) return WEXITSTATUS(st);
	if(WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return -1;
}

/* True when file path holds text. */
static inline bool file_contains(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char buf[8192];
	size_t n;
	bool found = false;

	if(!f) return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	found = strstr(buf, text) != NULL;
	return found;
}

/* Counts the occurrences of text in file path. */
static inline int file_count(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t n;
	int c = 0;

	if(!f) return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	for(char *p = strstr(buf, text); p; p = strstr(p + 1, text)) c++;
	return c;
}

/* Reads the first line of a file into buf (without the newline); 0 when it had one. */
static inline int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if(!f) return -1;
	if(!fgets(buf, (int)len, f)){
		fclose(f);
		return -1;
	}
	fclose(f);
	n = strlen(buf);
	if(n == 0 || buf[n - 1] != '\n') return -1; /* not completely written yet */
	buf[n - 1] = '\0';
	return 0;
}

/* Sends one hook datagram to the agent's socket, as `heartwire-agent hook` would. */
static inline int send_hook(const char *sock, const char *event, const char *sid, int source)
{
	hw_hook_t h = HW_HOOK_INIT;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	snprintf(h.event, sizeof(h.event), "%s", event);
	if(sid) snprintf(h.session_id, sizeof(h.session_id), "%s", sid);
	h.source = source;
	if(hw_hook_encode(&h, &buf, &n, &err) != HW_OK) return -1;
	rc = hw_hooksock_send(sock, buf, n, &err);
	free(buf);
	return rc == HW_OK ? 0 : -1;
}

#endif
