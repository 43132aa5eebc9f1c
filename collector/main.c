/* main.c: heartwire-collector: options, start-up (store, load, broker), the ingest loop and a
 * clean shutdown. The ingest loop is the only thread that touches sessions; Paho's threads
 * only queue messages (the MQTT wrapper), the store thread only writes. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/clock.h"
#include "heartwire/config.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/topics.h"

#include "collector.h"
#include "leader.h"
#include "metrics.h"
#include "opts.h"
#include "query.h"
#include "store.h"
#include "storeq.h"

#define DRAIN_PER_TURN 2000 /* messages handled before timers and flushes get a turn */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define STATS_EVERY_MS 60000
/* How often freed heap goes back to the system (see trim_heap). */
#define TRIM_EVERY_MS 5000
#define SHUTDOWN_DRAIN_MS 5000

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Sleeps ms, returning early on a signal. */
static void nap(int ms)
{
	if(!stop_signal) poll(NULL, 0, ms);
}

/* Connects the store, creates the indexes and loads the sessions, retrying until the database
 * answers (or a signal): a collector without its state would only guess. Returns HW_OK, or
 * HW_ERR_AGAIN when interrupted. */
static int store_bring_up(hw_store_t *st, hw_collector_t *c, const hw_collector_cfg_t *cfg)
{
	int backoff = 500, attempt = 0;
	uint64_t skipped = 0;
	hw_error_t err;

	for(;;){
		int64_t since = hw_time_ms() - cfg->retention_ms;
		if(hw_store_prepare(st, &err) == HW_OK &&
				hw_store_load(st, since, hw_collector_adopt, c, &skipped, &err) == HW_OK)
			break;
		if(stop_signal) return HW_ERR_AGAIN;
		if(attempt++ % 10 == 0)
			hw_log(HW_LOG_WARN, "waiting for the database (%s); retrying every %d ms", err.msg, backoff);
		nap(backoff);
		if(stop_signal) return HW_ERR_AGAIN;
		backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
	}
	hw_log(HW_LOG_INFO, "loaded %zu sessions from the database%s", hw_map_len(&c->sessions),
			skipped ? " (some documents were unreadable and skipped)" : "");
	return HW_OK;
}

/* Connects (with the presence will), announces "online", subscribes to the agent topics and
 * marks everything for republishing. Returns HW_OK or the connect/subscribe error. */
static int broker_up(hw_mqtt_t *m, hw_collector_t *c, const hw_collector_cfg_t *cfg, size_t *reconcile, hw_error_t *err)
{
	/* agent topics, then requests: q/+ and cmd/+ (collector/query.c) */
	static const int kinds[] = {HW_T_BIRTH, HW_T_HB, HW_T_EV, HW_T_STATUS, HW_T_QUERY, HW_T_COMMAND};
	char presence[HW_TOPIC_MAX], filter[HW_TOPIC_MAX];
	hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
	int rc;

	rc = hw_topic_build(presence, sizeof(presence), cfg->topic_root, HW_T_COLLECTOR, NULL, cfg->id, err);
	if(rc != HW_OK) return rc;
	will.topic = presence;
	will.payload = "offline";
	will.len = 7;
	will.qos = 1;
	will.retain = true;
	rc = hw_mqtt_connect(m, &will, err);
	if(rc != HW_OK) return rc;
	rc = hw_mqtt_publish(m, presence, "online", 6, 1, true, err);
	/* The retained states first: the newest state published before (possibly newer than the
	 * database, when the previous collector died with writes queued). The unsubscribe is the
	 * barrier: its UNSUBACK comes after every retained message of the subscription, so they
	 * are all queued here, ahead of the agents' messages (hw_collector_retained). */
	if(rc == HW_OK) rc = hw_topic_filter(filter, sizeof(filter), cfg->topic_root, HW_T_STATE_SESSION, NULL, NULL, err);
	if(rc == HW_OK) rc = hw_mqtt_subscribe(m, filter, 1, err);
	if(rc == HW_OK) rc = hw_mqtt_unsubscribe(m, filter, err);
	*reconcile = hw_mqtt_queued(m);
	for(size_t i = 0; rc == HW_OK && i < sizeof(kinds) / sizeof(kinds[0]); i++){
		char shared[HW_TOPIC_MAX + HW_ID_MAX + 16];
		rc = hw_topic_filter(filter, sizeof(filter), cfg->topic_root, kinds[i], NULL, NULL, err);
		/* A group shares births, heartbeats, events and requests ($share: one member gets
		 * each, so a request is answered, and a command executed, once even when two members
		 * are subscribed at the same time). The retained statuses are read by a plain
		 * subscription: a shared one gets no retained messages. */
		if(cfg->group[0] && kinds[i] != HW_T_STATUS) snprintf(shared, sizeof(shared), "$share/%s/%s", cfg->group, filter);
		else snprintf(shared, sizeof(shared), "%s", filter);
		if(rc == HW_OK) rc = hw_mqtt_subscribe(m, shared, 1, err);
	}
	if(rc != HW_OK){
		hw_mqtt_disconnect(m, 1000);
		return rc;
	}
	hw_log(HW_LOG_INFO, "connected to %s as %s (%s session)", cfg->broker, cfg->id,
			hw_mqtt_session_present(m) ? "resumed" : "new");
	/* Deadlines wait one grace period for what the broker still holds for us. */
	hw_collector_grace(c, hw_mono_ms());
	hw_collector_republish_all(c);
	return HW_OK;
}

/* Ends the process at once when a group's leader no longer holds its lease: another member
 * may lead by now, so not one more write or publication may come from here. */
static void still_leader(hw_leader_t *leader, const char *group)
{
	const char *why;

	if(leader && !hw_leader_valid(leader, hw_mono_ms(), &why)){
		hw_log(HW_LOG_ERROR, "no longer the leader of group %s (%s): stopping at once", group, why);
		_Exit(3);
	}
}

/* glibc keeps what the threads free in per-thread arenas: after a burst (thousands of
 * registrations queued for a slow database, then written) the collector would keep the peak
 * resident forever. Two arenas instead of up to 8 per core (the threads that allocate are the
 * main loop, the store thread and Paho's two, and they rarely contend), and a trim every few
 * seconds, keep its memory at what it holds now. */
static void heap_setup(void)
{
#ifdef __GLIBC__
	mallopt(M_ARENA_MAX, 2);
#endif
}

static void trim_heap(int64_t mono, int64_t *next)
{
	if(mono < *next) return;
	*next = mono + TRIM_EVERY_MS;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void log_stats(hw_collector_t *c, hw_store_t *st, hw_storeq_t *q, uint64_t *last_received, int64_t span_ms)
{
	hw_store_stats_t ss;
	hw_storeq_stats_t qs;

	hw_store_get_stats(st, &ss);
	hw_storeq_get_stats(q, &qs);
	hw_log(HW_LOG_INFO,
			"stats: %zu sessions, %.0f msg/s, %llu invalid, %llu stale, %llu transitions, %llu alerts "
			"(%llu false alarms, %llu flaps); store: %llu sessions + %llu events written, %llu stale, "
			"%zu queued (max %zu), %llu coalesced, %llu dropped, %s",
			hw_map_len(&c->sessions),
			span_ms > 0 ? (double)(c->n.received - *last_received) * 1000.0 / (double)span_ms : 0.0,
			(unsigned long long)c->n.invalid, (unsigned long long)c->n.stale, (unsigned long long)c->n.transitions,
			(unsigned long long)c->n.alerts, (unsigned long long)c->n.false_alarms, (unsigned long long)c->n.flaps,
			(unsigned long long)ss.sessions_written, (unsigned long long)ss.events_written,
			(unsigned long long)ss.stale, qs.len, qs.high_water, (unsigned long long)qs.coalesced,
			(unsigned long long)qs.dropped, ss.down ? "database DOWN (retrying)" : "database ok");
	*last_received = c->n.received;
}

int main(int argc, char **argv)
{
	hw_collector_cfg_t cfg;
	hw_collector_t c;
	hw_storeq_t q;
	hw_store_t *st = NULL;
	hw_mqtt_t *m = NULL;
	hw_metrics_t *mx = NULL;
	hw_rq_t rq;
	hw_mqtt_opts_t mo = HW_MQTT_OPTS_INIT;
	hw_store_opts_t so = {0};
	hw_leader_t *leader = NULL;
	size_t reconcile = 0;
	hw_error_t err;
	int status = 1, backoff = RECONNECT_MIN_MS;
	bool q_ready = false, c_ready = false, rq_ready = false, was_connected = false;
	int64_t next_stats, next_trim = 0;
	uint64_t last_received = 0, unwritten;
	char presence[HW_TOPIC_MAX];

	heap_setup();
	if(hw_collector_opts_load(&cfg, argc, argv, &err) != HW_OK){
		fprintf(stderr, "heartwire-collector: %s\n", err.msg);
		return 2;
	}
	if(cfg.help){
		hw_collector_opts_usage(stdout);
		return 0;
	}
	if(cfg.version){
		printf("heartwire-collector %s\n", HW_VERSION);
		return 0;
	}
	hw_log_init("collector", cfg.log_level, cfg.log_format, NULL);
	signals_install();
	hw_store_global_init();
	hw_store_route_driver_log();

	if(hw_storeq_init(&q, (size_t)cfg.store_buffer, &err) != HW_OK) goto fail;
	q_ready = true;
	so.uri = cfg.mongo_uri;
	so.db = cfg.db;
	so.events_retention_ms = cfg.events_retention_days * 86400000LL;
	if(hw_store_new(&st, &so, &q, &err) != HW_OK) goto fail;
	mo.url = cfg.broker;
	mo.client_id = cfg.id;
	mo.username = cfg.username[0] ? cfg.username : NULL;
	mo.password = cfg.password[0] ? cfg.password : NULL;
	mo.cafile = cfg.cafile[0] ? cfg.cafile : NULL;
	mo.clean_start = false; /* the broker keeps our messages while we are away */
	mo.session_expiry_s = 86400;
	if(cfg.group[0]){
		/* In a group, a dead member's session must end with its connection, or the broker
		 * would keep routing its share of the messages into it (docs/scaling.md). */
		mo.clean_start = true;
		mo.session_expiry_s = 0;
	}
	mo.max_inflight = cfg.max_inflight;
	if(hw_mqtt_new(&m, &mo, &err) != HW_OK) goto fail;
	if(hw_collector_init(&c, &cfg, m, &q, &err) != HW_OK) goto fail;
	c_ready = true;
	if(hw_rq_init(&rq, &cfg, m, &err) != HW_OK) goto fail;
	rq_ready = true;
	/* /healthz answers from here on ("starting" until the sessions are loaded and subscribed). */
	if(hw_metrics_new(&mx, &cfg, m, st, &err) != HW_OK) goto fail;
	if(hw_metrics_http_port(mx))
		hw_log(HW_LOG_INFO, "serving /metrics, /healthz and /readyz on %s (port %d)", cfg.http_listen,
				hw_metrics_http_port(mx));
	if(cfg.group[0]){
		/* Several collectors: only the leader loads, subscribes and acts (docs/scaling.md). */
		hw_log(HW_LOG_INFO, "member of group %s: waiting for the leadership lease", cfg.group);
		if(hw_leader_acquire(&leader, cfg.mongo_uri, cfg.db, cfg.group, cfg.id, cfg.leader_lease_ms,
				   (volatile const int *)&stop_signal, &err) != HW_OK){
			if(err.code == HW_ERR_AGAIN){
				status = 0;
				goto shutdown;
			}
			goto fail;
		}
		hw_log(HW_LOG_INFO, "leading group %s", cfg.group);
	}
	/* Deadlines of loaded sessions must wait for the broker's backlog. */
	hw_collector_grace(&c, hw_mono_ms());
	if(store_bring_up(st, &c, &cfg) != HW_OK){
		status = 0;
		goto shutdown;
	}
	if(hw_store_start(st, &err) != HW_OK) goto fail;
	/* queries and commands: the stored pauses, then the workers */
	if(hw_rq_start(&rq, &c, &err) != HW_OK) goto fail;
	hw_log(HW_LOG_INFO, "heartwire-collector %s: database %s, broker %s, topic root %s", HW_VERSION, cfg.db, cfg.broker,
			cfg.topic_root);

	next_stats = hw_mono_ms() + STATS_EVERY_MS;
	while(!stop_signal){
		struct pollfd pfd[2] = {{.fd = hw_mqtt_fd(m), .events = POLLIN}, {.fd = hw_rq_fd(&rq), .events = POLLIN}};
		int64_t now, mono;
		hw_mqtt_msg_t *msg;
		int handled = 0;
		still_leader(leader, cfg.group);
		if(!hw_mqtt_connected(m)){
			if(was_connected){
				hw_mqtt_last_error(m, &err);
				hw_log(HW_LOG_WARN, "broker connection lost (%s); reconnecting; stall timers are paused",
						err.msg[0] ? err.msg : "no reason given");
				was_connected = false;
			}
			if(broker_up(m, &c, &cfg, &reconcile, &err) != HW_OK){
				hw_log(HW_LOG_WARN, "cannot connect to %s: %s (retry in %d ms)", cfg.broker, err.msg, backoff);
				nap(backoff);
				backoff = backoff * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : backoff * 2;
				hw_metrics_update(mx, &c, hw_mono_ms());
				continue;
			}
			was_connected = true;
			backoff = RECONNECT_MIN_MS;
			hw_metrics_phase(mx, HW_METRICS_RUNNING);
		}
		mono = hw_mono_ms();
		/* a group's leader looks at its lease at least every 250 ms */
		if(poll(pfd, 2, hw_collector_timeout(&c, mono, leader ? 250 : 1000)) < 0 && errno != EINTR){
			hw_log(HW_LOG_ERROR, "poll: %s", strerror(errno));
			break;
		}
		/* again after the wait: a leader frozen in poll (SIGSTOP, a paused VM) must not handle
		 * what queued meanwhile when its lease ran out */
		still_leader(leader, cfg.group);
		while(handled < DRAIN_PER_TURN && (msg = hw_mqtt_next(m))){
			hw_topic_t t;
			if(reconcile > 0) reconcile--;
			if(msg->retained && hw_topic_parse(cfg.topic_root, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK &&
					t.kind == HW_T_STATE_SESSION){
				if(hw_collector_retained(&c, t.id, msg->payload, msg->len, &err) != HW_OK)
					hw_logs(HW_LOG_WARN, t.id, "ignoring its retained state: %s", err.msg);
			}else if(!hw_rq_take(&rq, &c, msg, hw_time_ms(), hw_mono_ms())){
				hw_collector_handle(&c, msg->topic, msg->payload, msg->len, hw_time_ms(), hw_mono_ms());
			}
			hw_mqtt_msg_free(msg);
			handled++;
		}
		now = hw_time_ms();
		mono = hw_mono_ms();
		hw_collector_timers(&c, now, mono);
		/* nothing is published before every retained state has been reconciled: an older
		 * document from the database must not overwrite a newer retained one */
		if(reconcile == 0) hw_collector_flush(&c, now, mono, false);
		hw_rq_poll(&rq, &c, now, mono);
		hw_metrics_update(mx, &c, mono);
		trim_heap(mono, &next_trim);
		if(mono >= next_stats){
			log_stats(&c, st, &q, &last_received, mono - next_stats + STATS_EVERY_MS);
			next_stats = mono + STATS_EVERY_MS;
		}
	}
	status = 0;
	hw_log(HW_LOG_INFO, "stopping (signal %d)", (int)stop_signal);
shutdown:
	hw_metrics_phase(mx, HW_METRICS_STOPPING);
	if(c_ready){
		/* Everything in memory that the store has not seen goes into the queue now. */
		hw_collector_flush(&c, hw_time_ms(), hw_mono_ms(), true);
	}
	if(m && hw_mqtt_connected(m)){
		if(hw_topic_build(presence, sizeof(presence), cfg.topic_root, HW_T_COLLECTOR, NULL, cfg.id, NULL) == HW_OK)
			hw_mqtt_publish_wait(m, presence, "offline", 7, 1, true, 1000, NULL);
		hw_mqtt_disconnect(m, 2000);
	}
	if(st){
		unwritten = hw_store_stop(st, SHUTDOWN_DRAIN_MS);
		if(unwritten)
			hw_log(HW_LOG_ERROR, "%llu writes could not reach the database before shutdown",
					(unsigned long long)unwritten);
	}
	goto cleanup;
fail:
	hw_log(HW_LOG_ERROR, "%s", err.msg);
	fprintf(stderr, "heartwire-collector: %s\n", err.msg);
	status = 1;
	if(st) hw_store_stop(st, 0);
cleanup:
	hw_leader_free(leader);
	hw_metrics_free(mx);             /* its threads read the broker connection and the store: stop them first */
	if(rq_ready) hw_rq_cleanup(&rq); /* so do the request workers */
	if(c_ready) hw_collector_cleanup(&c);
	hw_mqtt_free(m);
	hw_store_free(st);
	if(q_ready) hw_storeq_cleanup(&q);
	hw_store_global_cleanup();
	return status;
}
