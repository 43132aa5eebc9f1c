/* run.c: `heartwire-agent run`: one thread, one poll() loop over the signalfd, the hook socket
 * and the MQTT wrapper's fd, with the timeout set by the next heartbeat, reconnect or restart
 * deadline. Births, heartbeats, events and the status all come from this loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heartwire/agentmsg.h"
#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

#include "backoff.h"
#include "epoch.h"
#include "health.h"
#include "hooksock.h"
#include "opts.h"
#include "procstat.h"
#include "queue.h"
#include "run.h"
#include "supervise.h"
#include "tracker.h"

#define AGENT_NAME "heartwire-agent " HW_VERSION
#define RECONNECT_BASE_MS 200
#define RECONNECT_CAP_MS 30000
#define RESTART_BASE_MS 1000
#define RESTART_CAP_MS 60000
#define FINAL_TIMEOUT_MS 2000  /* delivering the exit, the ended status and the DISCONNECT */
#define FINAL_CONNECT_MS 30000 /* broker down at the child's exit: keep trying to report it this long */
#define PAUSE_RECHECK_MS 60000 /* re-read the clock while waiting on a pause without resume time */
#define HOOKS_PER_WAKEUP 64

/* Where the agent is in the life of the session. */
enum phase {
	PH_START,   /* the child is to be started at start_at (pause permitting) */
	PH_RUNNING, /* the child runs */
	PH_DONE     /* the child ended for good: publish the end and leave */
};

typedef struct agent {
	hw_agent_cfg_t cfg;
	char **cmd; /* borrowed from argv */
	int cmd_argc;
	char cwd[HW_PATH_MAX + 1];
	char client_id[160];
	char t_birth[HW_TOPIC_MAX], t_hb[HW_TOPIC_MAX], t_ev[HW_TOPIC_MAX], t_status[HW_TOPIC_MAX];
	char t_cmd[HW_TOPIC_MAX], t_pause[HW_TOPIC_MAX], t_ppause[HW_TOPIC_MAX];

	hw_sup_t sup;
	hw_mqtt_t *mqtt;
	bool connected;
	bool taken_over;  /* another agent took the client id: never reconnect */
	bool conn_warned; /* one warning per outage */
	bool born;        /* a birth went out on this connection */
	int64_t epoch, seq;
	hw_backoff_t conn_backoff;
	int64_t connect_at; /* monotonic ms of the next connect attempt; 0 = none */

	hw_queue_t evq; /* hw_ev_t * waiting for the broker */
	hw_tracker_t track;
	hw_health_t health;
	int hook_fd;
	char hook_path[128];

	int phase;
	int64_t start_at; /* PH_START: monotonic ms to (re)start the child */
	bool first_start;
	bool started; /* a start of the child was attempted */
	bool pause_logged;
	int run;               /* the run number of the current child (births carry it) */
	int restarts;          /* restarts so far (--max-restarts) */
	hw_run_plan_t *plan;   /* resume's plan, or NULL (borrowed) */
	bool resuming;         /* the current child is a resume attempt (plan) */
	int64_t child_started; /* monotonic ms of the current child's start */
	bool stop_requested;   /* a forwarded signal or a stop command: never restart */
	hw_backoff_t restart_backoff;
	hw_pause_t pause_global, pause_project, pause_local;
	int exit_status; /* the process exit status once PH_DONE */
	int64_t next_hb; /* monotonic ms */
} agent_t;

/* ------------------------------------------------------------------ publishing */

/* Encodes and publishes a status; wait_ms > 0 waits for the PUBACK. */
static int publish_status(agent_t *a, int status, const hw_exit_t *ex, int wait_ms)
{
	hw_status_t st = HW_STATUS_INIT;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	memcpy(st.session, a->cfg.session, sizeof(st.session));
	st.status = status;
	st.epoch = a->epoch;
	st.ts = hw_time_ms();
	if(ex){
		st.has_exit = true;
		st.exit = *ex;
	}
	rc = hw_status_encode(&st, &buf, &n, &err);
	if(rc != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "cannot encode status: %s", err.msg);
		return rc;
	}
	if(wait_ms > 0) rc = hw_mqtt_publish_wait(a->mqtt, a->t_status, buf, n, 1, true, wait_ms, &err);
	else rc = hw_mqtt_publish(a->mqtt, a->t_status, buf, n, 1, true, &err);
	if(rc != HW_OK) hw_logs(HW_LOG_WARN, a->cfg.session, "status %s not sent: %s", hw_status_name(status), err.msg);
	free(buf);
	return rc;
}

static void publish_birth(agent_t *a)
{
	hw_birth_t b = HW_BIRTH_INIT;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;

	memcpy(b.session, a->cfg.session, sizeof(b.session));
	memcpy(b.machine, a->cfg.machine, sizeof(b.machine));
	memcpy(b.slot, a->cfg.slot, sizeof(b.slot));
	memcpy(b.project, a->cfg.project, sizeof(b.project));
	memcpy(b.task, a->cfg.task, sizeof(b.task));
	memcpy(b.cwd, a->cwd, sizeof(b.cwd));
	snprintf(b.claude_sid, sizeof(b.claude_sid), "%s", hw_tracker_sid(&a->track));
	snprintf(b.agent, sizeof(b.agent), "%s", AGENT_NAME);
	b.epoch = a->epoch;
	b.seq = a->seq;
	b.ts = hw_time_ms();
	b.pid = a->sup.pid;
	b.interval_ms = a->cfg.interval_ms;
	b.grace_ms = a->cfg.grace_ms;
	b.run = a->run;
	b.argv = a->cmd;
	b.argc = (size_t)a->cmd_argc;
	b.chain = a->track.chain;
	b.chain_len = a->track.chain_len;
	if(a->plan){
		snprintf(b.claim_token, sizeof(b.claim_token), "%s", a->plan->claim_token ? a->plan->claim_token : "");
		if(a->resuming) snprintf(b.resumed_from, sizeof(b.resumed_from), "%s", a->plan->resume_sid);
	}
	if(hw_birth_encode(&b, &buf, &n, &err) != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "cannot encode birth: %s", err.msg);
		return;
	}
	if(hw_mqtt_publish(a->mqtt, a->t_birth, buf, n, 1, false, &err) == HW_OK){
		a->seq++;
		a->born = true;
	}else{
		hw_logs(HW_LOG_WARN, a->cfg.session, "birth not sent: %s", err.msg);
	}
	free(buf);
}

/* Publishes one event with the connection's epoch and the next seq. Returns HW_OK, HW_ERR_AGAIN
 * (not connected: keep it) or another code (the event cannot be sent: drop it). */
static int publish_ev(agent_t *a, hw_ev_t *ev)
{
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;
	int rc;

	memcpy(ev->session, a->cfg.session, sizeof(ev->session));
	ev->epoch = a->epoch;
	ev->seq = a->seq;
	rc = hw_ev_encode(ev, &buf, &n, &err);
	if(rc != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "dropping a %s event that cannot be encoded: %s", hw_ev_type_name(ev->type),
				err.msg);
		return rc;
	}
	rc = hw_mqtt_publish(a->mqtt, a->t_ev, buf, n, 1, false, &err);
	free(buf);
	if(rc == HW_OK) a->seq++;
	else if(rc != HW_ERR_AGAIN) hw_logs(HW_LOG_WARN, a->cfg.session, "event not sent: %s", err.msg);
	return rc == HW_ERR_AGAIN ? HW_ERR_AGAIN : rc;
}

/* Sends the buffered events in order while connected; what cannot go yet stays. */
static void flush_events(agent_t *a)
{
	hw_ev_t *ev;

	if(!a->connected || !a->born) return;
	while((ev = hw_queue_peek(&a->evq)) != NULL){
		int rc = publish_ev(a, ev);
		if(rc == HW_ERR_AGAIN) return;
		free(hw_queue_pop(&a->evq));
	}
}

/* Queues a copy of ev (session, epoch and seq are filled when it is sent) and flushes. */
static void emit(agent_t *a, const hw_ev_t *ev)
{
	hw_ev_t *copy = malloc(sizeof(*copy));

	if(!copy){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "out of memory: %s event lost", hw_ev_type_name(ev->type));
		return;
	}
	*copy = *ev;
	if(copy->ts == 0) copy->ts = hw_time_ms();
	hw_queue_push(&a->evq, copy);
	flush_events(a);
}

static void publish_hb(agent_t *a)
{
	hw_hb_t hb = HW_HB_INIT;
	hw_health_sample_t s = {.proc = '?', .transcript_size = -1, .transcript_mtime = -1};
	hw_procstat_t ps;
	hw_error_t err;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int64_t now = hw_mono_ms();

	if(a->sup.pid > 0 && hw_procstat_read(a->sup.pid, &ps, NULL) == HW_OK){
		s.proc = ps.state;
		s.cpu_ms = ps.cpu_ms;
		hb.has_child = true;
		hb.child.pid = (int)a->sup.pid;
		hb.child.proc = ps.state;
		hb.child.cpu_ms = ps.cpu_ms;
	}
	s.hooks = a->track.hooks;
	s.idle = a->track.idle;
	if(a->track.transcript[0] && stat(a->track.transcript, &st) == 0){
		s.transcript_size = (int64_t)st.st_size;
		s.transcript_mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	if(a->sup.pid > 0){
		hw_health_eval(&a->health, &s, now, &hb.state, &hb.cause);
	}else{
		hb.state = HW_STATE_IDLE; /* between a child's exit and its restart */
	}
	if(!a->connected || !a->born) return; /* heartbeats are never buffered */
	memcpy(hb.session, a->cfg.session, sizeof(hb.session));
	memcpy(hb.task, a->cfg.task, sizeof(hb.task));
	hb.epoch = a->epoch;
	hb.seq = a->seq;
	hb.ts = hw_time_ms();
	hb.interval_ms = a->cfg.interval_ms;
	hb.grace_ms = a->cfg.grace_ms;
	hb.has_progress = true;
	hb.progress = a->track.progress;
	hb.dropped = (int64_t)a->evq.dropped_total;
	if(hw_hb_encode(&hb, &buf, &n, &err) != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "cannot encode heartbeat: %s", err.msg);
		return;
	}
	if(hw_mqtt_publish(a->mqtt, a->t_hb, buf, n, a->cfg.hb_qos, false, &err) == HW_OK) a->seq++;
	free(buf);
}

/* ------------------------------------------------------------------ connection */

/* After a connect and once the child exists: status online, birth, the drop count, the
 * buffered events, in this order. */
static void announce(agent_t *a)
{
	uint64_t dropped;

	if(!a->connected || a->born) return;
	publish_status(a, HW_STATUS_ONLINE, NULL, 0);
	publish_birth(a);
	dropped = hw_queue_take_dropped(&a->evq);
	if(dropped > 0){
		hw_ev_t ev = HW_EV_INIT;
		ev.type = HW_EV_ACTION;
		ev.ts = hw_time_ms();
		snprintf(ev.text, sizeof(ev.text), "heartwire: %llu events dropped while the broker was unreachable",
				(unsigned long long)dropped);
		if(publish_ev(a, &ev) != HW_OK) hw_logs(HW_LOG_WARN, a->cfg.session, "%s", ev.text);
	}
	flush_events(a);
	a->next_hb = hw_mono_ms() + a->cfg.interval_ms;
}

/* Subscribes to the pause topics and then to the cmd topic: the broker answers in order, so
 * when the last SUBACK is in, the retained pauses are already queued. */
static void subscribe_all(agent_t *a)
{
	hw_error_t err;

	if(hw_mqtt_subscribe(a->mqtt, a->t_pause, 1, &err) != HW_OK)
		hw_logs(HW_LOG_WARN, a->cfg.session, "cannot subscribe to %s: %s", a->t_pause, err.msg);
	if(a->t_ppause[0] && hw_mqtt_subscribe(a->mqtt, a->t_ppause, 1, &err) != HW_OK)
		hw_logs(HW_LOG_WARN, a->cfg.session, "cannot subscribe to %s: %s", a->t_ppause, err.msg);
	if(hw_mqtt_subscribe(a->mqtt, a->t_cmd, 1, &err) != HW_OK)
		hw_logs(HW_LOG_WARN, a->cfg.session, "cannot subscribe to %s: %s", a->t_cmd, err.msg);
}

/* Key rotation: the password file is read again before every connect attempt, so a rotated
 * key (hw-keys rotate) is used at the next reconnect without restarting the session. A file
 * that cannot be read keeps the password read before. */
static void reload_password(agent_t *a)
{
	char pw[sizeof(a->cfg.password)];
	hw_error_t err;

	if(!a->cfg.password_file[0]) return;
	if(hw_password_read(a->cfg.password_file, pw, sizeof(pw), &err) != HW_OK){
		hw_logs(HW_LOG_WARN, a->cfg.session, "%s; keeping the password read before", err.msg);
		return;
	}
	if(strcmp(pw, a->cfg.password) != 0 && hw_mqtt_set_password(a->mqtt, pw, &err) == HW_OK){
		memcpy(a->cfg.password, pw, sizeof(pw));
		hw_logs(HW_LOG_INFO, a->cfg.session, "password file %s changed: the new password is used from now on",
				a->cfg.password_file);
	}
	explicit_bzero(pw, sizeof(pw));
}

/* One connect attempt with a new epoch and its will. Returns HW_OK when connected. */
static int connect_once(agent_t *a)
{
	hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
	hw_status_t st = HW_STATUS_INIT;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;
	int64_t epoch;
	int rc;

	reload_password(a);
	rc = hw_epoch_next(a->cfg.state_dir, a->cfg.session, &epoch, &err);
	if(rc != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "cannot take a new epoch: %s", err.msg);
		return rc;
	}
	memcpy(st.session, a->cfg.session, sizeof(st.session));
	st.status = HW_STATUS_LOST;
	st.epoch = epoch;
	if((rc = hw_status_encode(&st, &buf, &n, &err)) != HW_OK){
		hw_logs(HW_LOG_ERROR, a->cfg.session, "cannot encode the will: %s", err.msg);
		return rc;
	}
	will.topic = a->t_status;
	will.payload = buf;
	will.len = n;
	will.qos = 1;
	will.retain = true;
	rc = hw_mqtt_connect(a->mqtt, &will, &err);
	free(buf);
	if(rc != HW_OK){
		if(!a->conn_warned)
			hw_logs(HW_LOG_WARN, a->cfg.session,
					"broker %s unreachable (%s); the session runs on and "
					"reconnects in the background",
					a->cfg.broker, err.msg);
		a->conn_warned = true;
		return rc;
	}
	a->epoch = epoch;
	a->seq = 0;
	a->connected = true;
	a->born = false;
	hw_backoff_reset(&a->conn_backoff);
	a->connect_at = 0;
	hw_logs(a->conn_warned ? HW_LOG_WARN : HW_LOG_INFO, a->cfg.session, "connected to %s, epoch %lld", a->cfg.broker,
			(long long)epoch);
	a->conn_warned = false;
	subscribe_all(a);
	return HW_OK;
}

/* Before reconnecting after a loss: was the session taken over? Paho 1.3.12 often reports a
 * broker's DISCONNECT 0x8E as a plain socket loss (it sees the close before the packet), so
 * the reason code cannot be relied on. A second, short-lived connection with another client
 * id and no will reads the retained status: "online" with a newer epoch than ours means
 * another agent runs this session now, and reconnecting would throw it off (ping-pong). */
static bool probe_taken_over(agent_t *a)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *p = NULL;
	hw_mqtt_msg_t *msg;
	char id[200];
	bool taken = false;
	hw_error_t err;

	snprintf(id, sizeof(id), "%s-probe-%ld", a->client_id, (long)getpid());
	o.url = a->cfg.broker;
	o.client_id = id;
	o.username = a->cfg.username[0] ? a->cfg.username : NULL;
	o.password = a->cfg.password[0] ? a->cfg.password : NULL;
	o.cafile = a->cfg.cafile[0] ? a->cfg.cafile : NULL;
	o.keepalive_s = a->cfg.keepalive_s;
	o.connect_timeout_ms = 2000;
	hw_logs(HW_LOG_DEBUG, a->cfg.session, "probing the retained status before reconnecting");
	if(hw_mqtt_new(&p, &o, &err) != HW_OK || hw_mqtt_connect(p, NULL, &err) != HW_OK){
		hw_logs(HW_LOG_DEBUG, a->cfg.session, "probe: %s", err.msg);
		goto cleanup;
	}
	/* The second SUBACK comes after the retained message of the first subscription. */
	if(hw_mqtt_subscribe(p, a->t_status, 1, &err) != HW_OK || hw_mqtt_subscribe(p, a->t_cmd, 0, &err) != HW_OK){
		hw_logs(HW_LOG_DEBUG, a->cfg.session, "probe: %s", err.msg);
		goto cleanup;
	}
	while((msg = hw_mqtt_next(p)) != NULL){
		hw_status_t st;
		if(strcmp(msg->topic, a->t_status) == 0 && msg->len > 0 &&
				hw_status_decode(msg->payload, msg->len, &st, NULL) == HW_OK && st.status == HW_STATUS_ONLINE &&
				st.epoch > a->epoch)
			taken = true;
		hw_mqtt_msg_free(msg);
	}
	hw_mqtt_disconnect(p, 500);
cleanup:
	hw_mqtt_free(p);
	hw_logs(HW_LOG_DEBUG, a->cfg.session, "probe done: %s", taken ? "taken over" : "not taken over");
	return taken;
}

static void schedule_reconnect(agent_t *a)
{
	if(a->taken_over) return;
	a->connect_at = hw_mono_ms() + hw_backoff_next(&a->conn_backoff);
}

/* The wrapper said the connection ended: decide whether to come back. */
static void on_lost(agent_t *a)
{
	hw_error_t err;

	a->connected = false;
	a->born = false;
	hw_mqtt_last_error(a->mqtt, &err);
	/* MQTT 5 reason 0x8E: another connection with our client id took the session over. */
	if(strstr(err.msg, "(0x8e)")){
		a->taken_over = true;
		a->connect_at = 0;
		hw_logs(HW_LOG_WARN, a->cfg.session,
				"another agent took this session over (%s); not reconnecting, "
				"still supervising the child",
				err.msg);
		return;
	}
	hw_logs(HW_LOG_WARN, a->cfg.session, "%s; reconnecting with a new epoch", err.msg[0] ? err.msg : "connection lost");
	a->conn_warned = true;
	schedule_reconnect(a);
}

/* ------------------------------------------------------------------ pause and commands */

/* The pause in force now (global, then project, then a local pause command), or NULL. */
static const hw_pause_t *active_pause(agent_t *a, const char **scope)
{
	int64_t now = hw_time_ms();

	if(hw_pause_active(&a->pause_global, now)){
		*scope = "global";
		return &a->pause_global;
	}
	if(hw_pause_active(&a->pause_project, now)){
		*scope = "project";
		return &a->pause_project;
	}
	if(hw_pause_active(&a->pause_local, now)){
		*scope = "session";
		return &a->pause_local;
	}
	return NULL;
}

/* Writes a one-line description of a pause for people. */
static void describe_pause(const hw_pause_t *p, const char *scope, const char *project, char *buf, size_t len)
{
	char when[32];
	int64_t left;

	if(p->resume_at > 0){
		left = (p->resume_at - hw_time_ms()) / 1000;
		if(left < 0) left = 0;
		hw_time_iso(p->resume_at, when, sizeof(when));
		snprintf(buf, len, "%s pause%s%s: %s%s%s; resumes at %s (in %lldm%02llds)", scope,
				strcmp(scope, "project") == 0 ? " of " : "", strcmp(scope, "project") == 0 ? project : "",
				p->reason[0] ? p->reason : "no reason given", p->by[0] ? ", by " : "", p->by, when,
				(long long)(left / 60), (long long)(left % 60));
	}else{
		snprintf(buf, len, "%s pause%s%s: %s%s%s; no resume time (until unpaused)", scope,
				strcmp(scope, "project") == 0 ? " of " : "", strcmp(scope, "project") == 0 ? project : "",
				p->reason[0] ? p->reason : "no reason given", p->by[0] ? ", by " : "", p->by);
	}
}

static void handle_cmd(agent_t *a, const hw_mqtt_msg_t *msg)
{
	hw_cmd_t c;
	hw_error_t err;

	if(hw_cmd_decode(msg->payload, msg->len, &c, &err) != HW_OK){
		hw_logs(HW_LOG_WARN, a->cfg.session, "ignoring a bad command: %s", err.msg);
		return;
	}
	hw_logs(HW_LOG_INFO, a->cfg.session, "command %s%s%s", hw_cmd_name(c.cmd), c.by[0] ? " by " : "", c.by);
	switch(c.cmd){
	case HW_CMD_REBIRTH:
		if(a->connected && a->phase == PH_RUNNING){
			a->born = false;
			announce(a);
		}
		break;
	case HW_CMD_STOP:
		a->stop_requested = true;
		if(a->sup.pid > 0) hw_sup_kill(&a->sup, c.signal > 0 ? c.signal : SIGTERM);
		else if(a->phase == PH_START){
			a->phase = PH_DONE;
			a->exit_status = 0;
		}
		break;
	case HW_CMD_PAUSE:
		a->pause_local = c.pause;
		if(a->phase == PH_START) a->start_at = hw_mono_ms();
		break;
	}
}

/* Handles everything the wrapper queued, then notices a lost connection. */
static void drain_mqtt(agent_t *a)
{
	hw_mqtt_msg_t *msg;
	hw_error_t err;

	while((msg = hw_mqtt_next(a->mqtt)) != NULL){
		if(strcmp(msg->topic, a->t_cmd) == 0){
			handle_cmd(a, msg);
		}else if(strcmp(msg->topic, a->t_pause) == 0 || (a->t_ppause[0] && strcmp(msg->topic, a->t_ppause) == 0)){
			bool global = strcmp(msg->topic, a->t_pause) == 0;
			hw_pause_t p = HW_PAUSE_INIT;
			int rc = HW_OK;
			if(msg->len > 0){
				rc = global ? hw_pause_decode(msg->payload, msg->len, &p, &err)
					    : hw_pause_from_project(msg->payload, msg->len, &p, &err);
			}
			if(rc != HW_OK){
				hw_logs(HW_LOG_WARN, a->cfg.session, "ignoring a bad pause on %s: %s", msg->topic, err.msg);
			}else{
				*(global ? &a->pause_global : &a->pause_project) = p;
				if(a->phase == PH_START) a->start_at = hw_mono_ms();
			}
		}
		hw_mqtt_msg_free(msg);
	}
	if(a->connected && !hw_mqtt_connected(a->mqtt)) on_lost(a);
}

/* ------------------------------------------------------------------ the child */

/* Returns once everything published before is at the broker: a QoS 1 heartbeat (idle: between
 * two children) is acknowledged only after the messages before it on this connection (the
 * broker handles them in order). Waiting for that is much faster than a DISCONNECT's timeout,
 * which Paho checks every few seconds. */
static void sync_broker(agent_t *a)
{
	hw_hb_t hb = HW_HB_INIT;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;

	if(!a->born) return;
	memcpy(hb.session, a->cfg.session, sizeof(hb.session));
	memcpy(hb.task, a->cfg.task, sizeof(hb.task));
	hb.state = HW_STATE_IDLE;
	hb.epoch = a->epoch;
	hb.seq = a->seq;
	hb.ts = hw_time_ms();
	hb.interval_ms = a->cfg.interval_ms;
	hb.grace_ms = a->cfg.grace_ms;
	hb.has_progress = true;
	hb.progress = a->track.progress;
	hb.dropped = (int64_t)a->evq.dropped_total;
	if(hw_hb_encode(&hb, &buf, &n, &err) != HW_OK) return;
	if(hw_mqtt_publish_wait(a->mqtt, a->t_hb, buf, n, 1, false, FINAL_TIMEOUT_MS, &err) == HW_OK) a->seq++;
	else hw_logs(HW_LOG_WARN, a->cfg.session, "before the restart: %s", err.msg);
	free(buf);
}

/* A restarted child is a new run, and the collector sees a new run only under a new epoch
 * (after an exit its table ignores births of the same epoch). So the connection is renewed
 * before a restart: a clean DISCONNECT (no will; what is queued goes out first), then a
 * connect with the next epoch and its will. */
static void renew_epoch(agent_t *a)
{
	if(!a->connected || a->taken_over) return;
	sync_broker(a);
	hw_mqtt_disconnect(a->mqtt, 0);
	a->connected = false;
	a->born = false;
	if(connect_once(a) == HW_OK) drain_mqtt(a);
	else schedule_reconnect(a);
}

/* resume's fallback: the resumed child failed fast (a non-zero exit or a signal other than
 * SIGINT within the probe window, and nobody asked it to stop). Reports the failure (and,
 * at the limit, that the session is not resumable) as action events of the failed run, and
 * starts the fresh command at once. Returns true when it did. */
static bool fall_back(agent_t *a, int sig)
{
	hw_run_plan_t *p = a->plan;
	int64_t ran = hw_mono_ms() - a->child_started;
	hw_ev_t ev = HW_EV_INIT;
	char how[64];

	a->resuming = false;
	if(!p->fresh || p->probe_ms <= 0 || a->exit_status == 0 || sig == SIGINT || a->stop_requested || ran > p->probe_ms)
		return false;
	p->fell_back = true;
	p->resume_exit = a->exit_status;
	p->resume_ms = ran;
	if(sig > 0) snprintf(how, sizeof(how), "killed by signal %d", sig);
	else snprintf(how, sizeof(how), "exited with %d", a->exit_status);
	ev.type = HW_EV_ACTION;
	ev.ts = hw_time_ms();
	snprintf(ev.text, sizeof(ev.text),
			"%s Claude session %s: %s after %lld ms; starting a fresh session "
			"(resume failure %lld of %lld)",
			HW_ACTION_RESUME_FAILED, p->resume_sid, how, (long long)ran, (long long)p->failures + 1,
			(long long)p->max_failures);
	emit(a, &ev);
	fprintf(stderr,
			"heartwire-agent: session %s: resuming Claude session %s failed (%s after %lld ms); "
			"starting a fresh Claude session\n",
			a->cfg.session, p->resume_sid, how, (long long)ran);
	if(p->failures + 1 >= p->max_failures){
		ev.ts = hw_time_ms();
		snprintf(ev.text, sizeof(ev.text), "%s %lld resume failures (limit %lld)", HW_ACTION_NOT_RESUMABLE,
				(long long)p->failures + 1, (long long)p->max_failures);
		emit(a, &ev);
		fprintf(stderr, "heartwire-agent: session %s: %lld resume failures: marked not resumable\n", a->cfg.session,
				(long long)p->failures + 1);
	}
	a->cmd = p->fresh;
	a->cmd_argc = p->fresh_argc;
	a->phase = PH_START;
	a->start_at = hw_mono_ms();
	return true;
}

static void child_exited(agent_t *a)
{
	hw_ev_t ev = HW_EV_INIT;
	int code, sig;
	bool failed;

	hw_sup_split(a->sup.status, &code, &sig);
	ev.type = HW_EV_EXIT;
	ev.ts = hw_time_ms();
	ev.exit.code = code;
	ev.exit.signal = sig;
	if(sig > 0) snprintf(ev.text, sizeof(ev.text), "killed by signal %d (%s)", sig, strsignal(sig));
	emit(a, &ev);
	a->exit_status = hw_sup_exit_code(a->sup.status);
	failed = a->exit_status != 0;
	hw_logs(failed ? HW_LOG_WARN : HW_LOG_INFO, a->cfg.session, "child %s %d", sig > 0 ? "killed by signal" : "exited with",
			sig > 0 ? sig : code);
	if(a->resuming && fall_back(a, sig)) return;
	/* SIGINT is the terminal's Ctrl-C, which goes to the child's group and not to us: the
	 * user's wish to stop, not a failure. */
	if(failed && sig != SIGINT && a->cfg.restart == HW_RESTART_ON_FAILURE && !a->stop_requested &&
			a->restarts < a->cfg.max_restarts){
		int64_t delay = hw_backoff_next(&a->restart_backoff);
		a->restarts++;
		hw_logs(HW_LOG_WARN, a->cfg.session, "restarting the child in %lld ms (restart %d of %d)", (long long)delay,
				a->restarts, a->cfg.max_restarts);
		a->phase = PH_START;
		a->start_at = hw_mono_ms() + delay;
		return;
	}
	a->phase = PH_DONE;
}

/* Starts the child when its time has come and no pause holds it. */
static void try_start(agent_t *a)
{
	char env_session[HW_ID_MAX + 32], env_sock[200], env_machine[HW_ID_MAX + 32], env_sid[HW_ID_MAX + 32];
	char *env[5];
	int nenv = 0;
	const hw_pause_t *p;
	const char *scope = "";
	char desc[HW_TEXT_MAX + 256];
	hw_error_t err;
	int rc;

	if((p = active_pause(a, &scope)) != NULL){
		describe_pause(p, scope, a->cfg.project, desc, sizeof(desc));
		if(a->first_start && a->cfg.when_paused == HW_WHEN_PAUSED_FAIL){
			fprintf(stderr, "heartwire-agent: session %s not started: %s\n", a->cfg.session, desc);
			a->exit_status = HW_EXIT_PAUSED;
			a->phase = PH_DONE;
			return;
		}
		if(!a->pause_logged) fprintf(stderr, "heartwire-agent: session %s waits: %s\n", a->cfg.session, desc);
		a->pause_logged = true;
		a->start_at = hw_mono_ms() + PAUSE_RECHECK_MS;
		if(p->resume_at > 0){
			int64_t until = p->resume_at - hw_time_ms() + 1;
			if(until < PAUSE_RECHECK_MS) a->start_at = hw_mono_ms() + (until > 0 ? until : 0);
		}
		return;
	}
	if(a->pause_logged) fprintf(stderr, "heartwire-agent: session %s: pause over, starting\n", a->cfg.session);
	a->pause_logged = false;
	if(!a->first_start){
		a->run++;
		renew_epoch(a);
	}
	snprintf(env_session, sizeof(env_session), "HEARTWIRE_SESSION=%s", a->cfg.session);
	snprintf(env_sock, sizeof(env_sock), "HEARTWIRE_HOOK_SOCKET=%s", a->hook_path);
	snprintf(env_machine, sizeof(env_machine), "HEARTWIRE_MACHINE=%s", a->cfg.machine);
	env[nenv++] = env_session;
	env[nenv++] = env_machine;
	if(a->hook_fd >= 0) env[nenv++] = env_sock;
	if(a->resuming){
		snprintf(env_sid, sizeof(env_sid), "HEARTWIRE_RESUME_SID=%s", a->plan->resume_sid);
		env[nenv++] = env_sid;
	}
	env[nenv] = NULL;
	a->first_start = false;
	a->started = true;
	a->child_started = hw_mono_ms();
	rc = hw_sup_start(&a->sup, a->cmd, env, &err);
	hw_health_init(&a->health, a->cfg.no_progress_ms, hw_mono_ms());
	if(rc != HW_OK){
		fprintf(stderr, "heartwire-agent: %s\n", err.msg);
		a->stop_requested = true; /* a command that cannot run will not run on a retry either */
		announce(a);
		child_exited(a);
		return;
	}
	hw_logs(HW_LOG_INFO, a->cfg.session, "child %ld started: %s (run %d)", (long)a->sup.pid, a->cmd[0], a->run);
	a->phase = PH_RUNNING;
	a->born = false; /* a new child is a new birth */
	announce(a);
}

/* ------------------------------------------------------------------ hooks */

static void handle_hooks(agent_t *a)
{
	char buf[HW_HOOKSOCK_DGRAM_MAX];
	hw_ev_t evs[HW_TRACK_EV_MAX];
	hw_hook_t h;
	hw_error_t err;

	for(int i = 0; i < HOOKS_PER_WAKEUP; i++){
		ssize_t n = hw_hooksock_recv(a->hook_fd, buf, sizeof(buf));
		size_t k;
		if(n == 0) return;
		if(n < 0){
			hw_logs(HW_LOG_WARN, a->cfg.session, "dropping an unreadable or oversized hook datagram");
			continue;
		}
		if(hw_hook_decode(buf, (size_t)n, &h, &err) != HW_OK){
			hw_logs(HW_LOG_WARN, a->cfg.session, "ignoring a bad hook datagram: %s", err.msg);
			continue;
		}
		if(hw_log_enabled(HW_LOG_DEBUG))
			hw_logs(HW_LOG_DEBUG, a->cfg.session, "hook %s latency_us=%lld", h.event,
					h.t0_us > 0 ? (long long)(hw_mono_us() - h.t0_us) : -1LL);
		k = hw_tracker_apply(&a->track, &h, hw_time_ms(), hw_mono_ms(), evs);
		for(size_t j = 0; j < k; j++) emit(a, &evs[j]);
	}
}

/* ------------------------------------------------------------------ setup and loop */

static void free_ev(void *p)
{
	free(p);
}

/* Builds the topics and the client id. */
static int setup_names(agent_t *a, hw_error_t *err)
{
	const char *root = a->cfg.topic_root, *m = a->cfg.machine, *s = a->cfg.session;
	int rc;

	if((rc = hw_topic_build(a->t_birth, HW_TOPIC_MAX, root, HW_T_BIRTH, m, s, err)) != HW_OK) return rc;
	if((rc = hw_topic_build(a->t_hb, HW_TOPIC_MAX, root, HW_T_HB, m, s, err)) != HW_OK) return rc;
	if((rc = hw_topic_build(a->t_ev, HW_TOPIC_MAX, root, HW_T_EV, m, s, err)) != HW_OK) return rc;
	if((rc = hw_topic_build(a->t_status, HW_TOPIC_MAX, root, HW_T_STATUS, m, s, err)) != HW_OK) return rc;
	if((rc = hw_topic_build(a->t_cmd, HW_TOPIC_MAX, root, HW_T_CMD, m, s, err)) != HW_OK) return rc;
	if((rc = hw_topic_build(a->t_pause, HW_TOPIC_MAX, root, HW_T_STATE_PAUSE, NULL, NULL, err)) != HW_OK) return rc;
	if(a->cfg.project[0] &&
			(rc = hw_topic_build(a->t_ppause, HW_TOPIC_MAX, root, HW_T_STATE_PROJECT, NULL, a->cfg.project, err)) !=
					HW_OK)
		return rc;
	snprintf(a->client_id, sizeof(a->client_id), "hw-%s-%s", m, s);
	return HW_OK;
}

/* The poll timeout: until the nearest deadline. */
static int next_timeout(agent_t *a)
{
	int64_t now = hw_mono_ms(), t = a->next_hb;

	if(a->connect_at > 0 && a->connect_at < t) t = a->connect_at;
	if(a->phase == PH_START && a->start_at < t) t = a->start_at;
	if(t <= now) return 0;
	if(t - now > 3600000) return 3600000;
	return (int)(t - now);
}

/* Publishes the end: the exit event (already queued), the retained ended status, then a clean
 * DISCONNECT so no will fires. One last connect attempt when the broker was away. */
/* The child ended while the broker is unreachable (restarting, say): without its end the
 * session would turn stalled and lost/timeout, a wrong state. So keep reconnecting with the
 * usual backoff for up to FINAL_CONNECT_MS; a signal to the agent cuts the wait short. */
static void connect_for_exit(agent_t *a)
{
	int64_t until = hw_mono_ms() + FINAL_CONNECT_MS;

	while(!a->connected){
		struct pollfd pfd = {.fd = a->sup.sigfd, .events = POLLIN};
		int64_t wait;
		if(connect_once(a) == HW_OK){
			drain_mqtt(a);
			return;
		}
		wait = hw_backoff_next(&a->conn_backoff);
		if(hw_mono_ms() + wait > until) wait = until - hw_mono_ms();
		if(wait <= 0 || poll(&pfd, 1, (int)wait) > 0) return;
	}
}

static void finish(agent_t *a)
{
	hw_exit_t ex = HW_EXIT_INIT;
	int code, sig;

	if(!a->mqtt || a->taken_over) return;
	/* Two tries: a connection that looks fine but no longer carries anything (a frozen broker
	 * or network, noticed by no keepalive yet) does not acknowledge the ended status; it is
	 * dropped and the end is reported again over a new connection (a new epoch). */
	for(int attempt = 0; attempt < 2; attempt++){
		if(!a->connected){
			if(a->started) connect_for_exit(a);
			else if(connect_once(a) == HW_OK) drain_mqtt(a);
		}
		if(!a->connected){
			hw_logs(HW_LOG_WARN, a->cfg.session,
					"broker unreachable at exit: the end of the session is not reported");
			return;
		}
		if(!a->started) break;
		if(!a->born) announce(a);
		flush_events(a);
		hw_sup_split(a->sup.status, &code, &sig);
		ex.code = code;
		ex.signal = sig;
		if(publish_status(a, HW_STATUS_ENDED, &ex, FINAL_TIMEOUT_MS) == HW_OK || attempt == 1) break;
		hw_logs(HW_LOG_WARN, a->cfg.session, "the broker did not acknowledge the end: reconnecting to report it again");
		hw_mqtt_disconnect(a->mqtt, 100);
		a->connected = false;
		a->born = false;
	}
	/* A session that never started (paused, stopped, interrupted) leaves only a clean
	 * disconnect behind. */
	hw_mqtt_disconnect(a->mqtt, FINAL_TIMEOUT_MS);
	a->connected = false;
}

static int run_loop(agent_t *a)
{
	struct pollfd pfd[3];

	while(a->phase != PH_DONE){
		int nfd = 0, ev, timeout = next_timeout(a);
		int64_t now;

		pfd[nfd++] = (struct pollfd){.fd = a->sup.sigfd, .events = POLLIN};
		pfd[nfd++] = (struct pollfd){.fd = a->mqtt ? hw_mqtt_fd(a->mqtt) : -1, .events = POLLIN};
		pfd[nfd++] = (struct pollfd){.fd = a->hook_fd, .events = POLLIN};
		if(poll(pfd, (nfds_t)nfd, timeout) < 0 && errno != EINTR){
			hw_logs(HW_LOG_ERROR, a->cfg.session, "poll: %s", strerror(errno));
			return HW_ERR_IO;
		}
		if(a->mqtt) drain_mqtt(a);
		if(pfd[2].revents & POLLIN) handle_hooks(a);
		ev = hw_sup_handle(&a->sup);
		if(ev & (HW_SUP_FORWARDED | HW_SUP_SIGNALED)){
			a->stop_requested = true;
			hw_logs(HW_LOG_INFO, a->cfg.session, "signal %d %s", a->sup.last_signal,
					a->sup.pid > 0 ? "forwarded to the child" : "with no child: giving up");
			if(a->phase == PH_START){
				a->exit_status = 128 + a->sup.last_signal;
				a->phase = PH_DONE;
			}
		}
		if(ev & HW_SUP_EXITED) child_exited(a);
		if(ev & (HW_SUP_STOPPED | HW_SUP_CONTINUED)) a->next_hb = hw_mono_ms(); /* report T at once */
		if(a->phase == PH_DONE) break;
		now = hw_mono_ms();
		if(a->connect_at > 0 && now >= a->connect_at && !a->connected && a->epoch > 0 && probe_taken_over(a)){
			a->taken_over = true;
			a->connect_at = 0;
			hw_logs(HW_LOG_WARN, a->cfg.session,
					"another agent took this session over (its status is online with "
					"a newer epoch); not reconnecting, still supervising the child");
		}
		if(a->connect_at > 0 && now >= a->connect_at && !a->connected){
			if(connect_once(a) == HW_OK){
				drain_mqtt(a);
				if(a->phase == PH_RUNNING) announce(a);
			}else{
				schedule_reconnect(a);
			}
		}
		if(a->phase == PH_START && hw_mono_ms() >= a->start_at) try_start(a);
		now = hw_mono_ms();
		if(now >= a->next_hb){
			publish_hb(a);
			a->next_hb += a->cfg.interval_ms;
			if(a->next_hb <= now) a->next_hb = now + a->cfg.interval_ms;
		}
	}
	return HW_OK;
}

void hw_agent_run_usage(FILE *out)
{
	fprintf(out,
			"usage: heartwire-agent run [options] -- CMD [ARGS...]\n\n"
			"Runs CMD as a supervised session: its own process group, signals forwarded, stdin/stdout/stderr\n"
			"passed through, the agent's exit status is CMD's (128+N for a signal). Publishes birth, heartbeats,\n"
			"events and a retained status over MQTT 5, with a last will that marks the session lost.\n"
			"CMD gets HEARTWIRE_SESSION, HEARTWIRE_MACHINE and HEARTWIRE_HOOK_SOCKET in its environment, for\n"
			"`heartwire-agent hook` (Claude Code hooks).\n\n"
			"Exit status: CMD's; 2 usage error; 3 paused with --when-paused fail; 125 agent failure before\n"
			"CMD ran; 126 CMD not executable; 127 CMD not found.\n\noptions:\n");
	hw_agent_opts_usage(out);
}

void hw_agent_exec_tls(int argc, char **argv)
{
	char self[4096], path[4200];
	char **nargv = calloc((size_t)argc + 2, sizeof(*nargv));
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if(!nargv || n <= 0) goto fail;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if(!slash) goto fail;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/heartwire-agent-tls", self);
	nargv[0] = path;
	for(int i = 0; i < argc; i++) nargv[i + 1] = argv[i];
	execv(path, nargv);
	fprintf(stderr, "heartwire-agent %s: --broker mqtts:// needs %s: %s\n", argc > 0 ? argv[0] : "run", path,
			strerror(errno));
fail:
	free(nargv);
}

/* Frees what a session holds (the hook socket, the client, the buffer, the supervisor) and a. */
static void agent_free(agent_t *a)
{
	if(a->hook_fd >= 0) hw_hooksock_close(a->hook_fd, a->hook_path);
	hw_mqtt_free(a->mqtt);
	hw_queue_cleanup(&a->evq);
	hw_sup_cleanup(&a->sup);
	free(a);
}

static agent_t *agent_new(void)
{
	agent_t *a = calloc(1, sizeof(*a));

	if(!a) return NULL;
	a->hook_fd = -1;
	a->phase = PH_START;
	a->first_start = true;
	return a;
}

/* resume's plan: the run number, the Claude chain the tracker starts from (so the births
 * carry it) and the note for the first birth. */
static void apply_plan(agent_t *a)
{
	hw_run_plan_t *p = a->plan;
	size_t n, from;

	if(!p) return;
	a->run = (int)p->run;
	a->resuming = p->resume_sid && p->resume_sid[0];
	n = p->chain_len < HW_TRACK_CHAIN_MAX ? p->chain_len : HW_TRACK_CHAIN_MAX;
	from = p->chain_len - n;
	for(size_t i = 0; i < n; i++) a->track.chain[i] = p->chain[from + i];
	a->track.chain_len = n;
	if(p->note && p->note[0]){
		hw_ev_t ev = HW_EV_INIT;
		ev.type = HW_EV_ACTION;
		ev.ts = hw_time_ms();
		snprintf(ev.text, sizeof(ev.text), "%s", p->note);
		emit(a, &ev); /* queued: it follows the first birth */
	}
}

/* The session once its options are loaded: names, state directory, event buffer, connection,
 * the loop, the end. Returns the exit status; agent_free() releases what it opened. */
static int run_session(agent_t *a)
{
	hw_mqtt_opts_t mo = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	int64_t last_epoch;

	hw_log_init("agent", a->cfg.log_level, a->cfg.log_format, stderr);
	if(!getcwd(a->cwd, sizeof(a->cwd))) a->cwd[0] = '\0';
	if(setup_names(a, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent run: %s\n", err.msg);
		return HW_EXIT_USAGE;
	}
	/* The state directory must work before anything is published: epochs are never reused. */
	if(hw_epoch_peek(a->cfg.state_dir, a->cfg.session, &last_epoch, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent run: --state-dir: %s\n", err.msg);
		return HW_SUP_EXIT_SELF;
	}
	if(hw_queue_init(&a->evq, (size_t)a->cfg.event_buffer, free_ev, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent run: %s\n", err.msg);
		return HW_SUP_EXIT_SELF;
	}
	hw_tracker_init(&a->track);
	apply_plan(a);
	hw_backoff_init(&a->conn_backoff, RECONNECT_BASE_MS, RECONNECT_CAP_MS, (uint64_t)hw_mono_us() ^ (uint64_t)getpid());
	hw_backoff_init(&a->restart_backoff, RESTART_BASE_MS, RESTART_CAP_MS, (uint64_t)hw_mono_us() * 31u);

	mo.url = a->cfg.broker;
	mo.client_id = a->client_id;
	mo.username = a->cfg.username[0] ? a->cfg.username : NULL;
	mo.password = a->cfg.password[0] ? a->cfg.password : NULL;
	mo.cafile = a->cfg.cafile[0] ? a->cfg.cafile : NULL;
	mo.keepalive_s = a->cfg.keepalive_s;
	/* A connect blocks the loop: keep it short next to the heartbeat interval. */
	mo.connect_timeout_ms =
			(int)(a->cfg.interval_ms < 3000 ? 3000 : (a->cfg.interval_ms > 10000 ? 10000 : a->cfg.interval_ms));
	if(hw_mqtt_new(&a->mqtt, &mo, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent run: --broker: %s\n", err.msg);
		return err.code == HW_ERR_INVAL ? HW_EXIT_USAGE : HW_SUP_EXIT_SELF;
	}
	if(hw_hooksock_path(a->hook_path, sizeof(a->hook_path), a->cfg.session, getpid(), &err) != HW_OK ||
			hw_hooksock_open(a->hook_path, &a->hook_fd, &err) != HW_OK){
		hw_logs(HW_LOG_WARN, a->cfg.session, "no hook socket, Claude hooks will not be seen: %s", err.msg);
		a->hook_path[0] = '\0';
	}

	/* Connect first, to read the retained pauses before starting; a broker that is down does
	 * not hold the session back. */
	if(connect_once(a) == HW_OK) drain_mqtt(a);
	else schedule_reconnect(a);
	a->start_at = hw_mono_ms();
	a->next_hb = hw_mono_ms() + a->cfg.interval_ms;
	try_start(a);
	if(run_loop(a) != HW_OK && a->sup.pid > 0){
		/* The loop cannot go on: do not orphan the child silently. */
		hw_sup_kill(&a->sup, SIGTERM);
	}
	finish(a);
	return a->exit_status;
}

int hw_agent_run_session(const hw_agent_cfg_t *cfg, hw_sup_t *sup, char **cmd, int cmd_argc, hw_run_plan_t *plan)
{
	agent_t *a = agent_new();
	int status;

	if(!a){
		fprintf(stderr, "heartwire-agent: out of memory\n");
		hw_sup_cleanup(sup);
		return HW_SUP_EXIT_SELF;
	}
	a->sup = *sup;
	a->cfg = *cfg;
	a->cmd = cmd;
	a->cmd_argc = cmd_argc;
	a->plan = plan;
	status = run_session(a);
	agent_free(a);
	return status;
}

int hw_agent_run(int argc, char **argv, bool tls)
{
	agent_t *a = agent_new();
	hw_error_t err;
	int cmd_index = argc, rc, status = HW_SUP_EXIT_SELF;
	char **orig;

	if(!a){
		fprintf(stderr, "heartwire-agent: out of memory\n");
		return HW_SUP_EXIT_SELF;
	}
	orig = calloc((size_t)argc + 1, sizeof(*orig));
	if(!orig){
		free(a);
		return HW_SUP_EXIT_SELF;
	}
	memcpy(orig, argv, sizeof(*orig) * (size_t)argc);
	/* Signals are blocked before any thread exists, so Paho's threads inherit the mask. */
	if(hw_sup_init(&a->sup, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent: %s\n", err.msg);
		free(a);
		free(orig);
		return HW_SUP_EXIT_SELF;
	}
	rc = hw_agent_opts_load(&a->cfg, argc, argv, &cmd_index, &err);
	if(rc != HW_OK){
		fprintf(stderr, "heartwire-agent run: %s\n(see heartwire-agent run --help)\n", err.msg);
		status = HW_EXIT_USAGE;
		goto cleanup;
	}
	if(a->cfg.help){
		hw_agent_run_usage(stdout);
		status = 0;
		goto cleanup;
	}
	if(cmd_index >= argc){
		fprintf(stderr,
				"heartwire-agent run: missing the command; usage: heartwire-agent run [options] -- CMD "
				"[ARGS...]\n");
		status = HW_EXIT_USAGE;
		goto cleanup;
	}
	a->cmd = argv + cmd_index;
	a->cmd_argc = argc - cmd_index;
	if(a->cmd_argc > HW_ARGV_MAX){
		fprintf(stderr, "heartwire-agent run: the command has %d arguments; at most %d\n", a->cmd_argc, HW_ARGV_MAX);
		status = HW_EXIT_USAGE;
		goto cleanup;
	}
	for(int i = 0; i < a->cmd_argc; i++){
		if(strlen(a->cmd[i]) > HW_ARG_MAX){
			fprintf(stderr, "heartwire-agent run: command argument %d is longer than %d bytes\n", i, HW_ARG_MAX);
			status = HW_EXIT_USAGE;
			goto cleanup;
		}
	}
	if(!tls && strncmp(a->cfg.broker, "mqtts://", 8) == 0){
		/* Nothing has been opened that the TLS program would inherit but the signalfd
		 * (close-on-exec); give the signal mask back so it starts as we did. */
		hw_sup_cleanup(&a->sup);
		hw_agent_exec_tls(argc, orig);
		free(orig);
		free(a);
		return HW_SUP_EXIT_SELF;
	}
	status = run_session(a);
cleanup:
	agent_free(a);
	free(orig);
	return status;
}
