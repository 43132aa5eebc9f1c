/* metrics.c: the collector's metrics and health: the ingest thread's snapshot, Prometheus text
 * and JSON renderings, the health verdict, the HTTP endpoint (the only file that uses
 * libmicrohttpd) and the publisher of the retained {root}/collector/{id}/metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/topics.h"

#include "histo.h"
#include "metrics.h"

#ifndef HW_VERSION
#define HW_VERSION "unknown"
#endif

#define RATE_SLOTS 12 /* one sample a second: enough for a 10 s window */
#define RATE_WINDOW_MS 10000
#define LOOP_STUCK_MIN_MS 3000 /* the ingest loop may sleep 1 s in poll and take a while to drain */
#define PUB_RETRY_MS 250       /* the publisher's pace until its first publication goes out */
#define PUB_MIN_MS 100         /* --metrics-ms below this is taken as this */
#define HTTP_CONNECTIONS 32
#define HTTP_TIMEOUT_S 10

/* ------------------------------------------------------------------ a growing text buffer */

typedef struct mbuf {
	char *p;
	size_t len, cap;
	bool oom;
} mbuf_t;

static void bput(mbuf_t *b, const char *fmt, ...) HW_PRINTF(2, 3);

static void bput(mbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if(b->oom) return;
	for(;;){
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if(n < 0){
			b->oom = true;
			return;
		}
		if(b->p && (size_t)n < room){
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap : 4096;
			char *np;
			while(cap < b->len + (size_t)n + 1) cap *= 2;
			np = realloc(b->p, cap);
			if(!np){
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = cap;
		}
	}
}

/* Hands the buffer to the caller, or frees it and fails. */
static int bdone(mbuf_t *b, char **out, size_t *len, hw_error_t *err)
{
	if(b->oom || !b->p){
		free(b->p);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the metrics");
	}
	*out = b->p;
	*len = b->len;
	return HW_OK;
}

/* A Prometheus label value: backslash, double quote and newline escaped. */
static void bput_label(mbuf_t *b, const char *s)
{
	for(; *s; s++){
		if(*s == '\\') bput(b, "\\\\");
		else if(*s == '"') bput(b, "\\\"");
		else if(*s == '\n') bput(b, "\\n");
		else bput(b, "%c", *s);
	}
}

/* A JSON string, quotes included. */
static void bput_json_str(mbuf_t *b, const char *s)
{
	bput(b, "\"");
	for(; *s; s++){
		unsigned char ch = (unsigned char)*s;
		if(ch == '"' || ch == '\\') bput(b, "\\%c", ch);
		else if(ch < 0x20) bput(b, "\\u%04x", ch);
		else bput(b, "%c", ch);
	}
	bput(b, "\"");
}

/* ------------------------------------------------------------------ health */

static void reason_add(hw_health_t *h, const char *fmt, ...) HW_PRINTF(2, 3);

static void reason_add(hw_health_t *h, const char *fmt, ...)
{
	va_list ap;

	if(h->nreasons >= HW_HEALTH_REASONS_MAX) return;
	va_start(ap, fmt);
	vsnprintf(h->reasons[h->nreasons], sizeof(h->reasons[0]), fmt, ap);
	va_end(ap);
	h->nreasons++;
}

static int64_t store_pending_ms(const hw_metrics_view_t *v)
{
	if(!v->have_store || v->st.busy_since <= 0 || v->now_mono < v->st.busy_since) return 0;
	return v->now_mono - v->st.busy_since;
}

static int64_t loop_age_ms(const hw_metrics_view_t *v)
{
	if(!v->s.valid || v->now_mono < v->s.at_mono) return 0;
	return v->now_mono - v->s.at_mono;
}

void hw_metrics_health(const hw_metrics_view_t *v, hw_health_t *h)
{
	int64_t pending = store_pending_ms(v), age = loop_age_ms(v);
	int64_t stuck = v->health_timeout_ms > LOOP_STUCK_MIN_MS ? v->health_timeout_ms : LOOP_STUCK_MIN_MS;

	memset(h, 0, sizeof(*h));
	h->healthy = h->ready = v->phase == HW_METRICS_RUNNING;
	if(v->phase == HW_METRICS_STARTING)
		reason_add(h, "starting: loading sessions from the database and subscribing to the broker");
	else if(v->phase == HW_METRICS_STOPPING) reason_add(h, "stopping");
	if(v->have_mqtt && !v->mqtt_connected){
		h->healthy = false;
		reason_add(h, "broker: not connected (reconnecting; stall timers are paused)");
	}
	if(pending > v->health_timeout_ms){
		h->healthy = false;
		reason_add(h, "store: a database write has been pending for %lld ms (%s)", (long long)pending,
				v->st.down ? "the database failed; retrying" : "the database does not answer");
	}
	if(v->s.valid && v->s.q_cap > 0 && v->s.q.len >= v->s.q_cap){
		h->healthy = false;
		reason_add(h, "store: buffer full (%zu of %llu writes queued): new writes are dropped", v->s.q.len,
				(unsigned long long)v->s.q_cap);
	}
	if(v->phase == HW_METRICS_RUNNING && (!v->have_mqtt || v->mqtt_connected) && age > stuck){
		h->healthy = h->ready = false;
		reason_add(h, "ingest: the loop has not turned for %lld ms", (long long)age);
	}
}

static const char *phase_name(int phase)
{
	return phase == HW_METRICS_RUNNING ? "running" : phase == HW_METRICS_STOPPING ? "stopping" : "starting";
}

int hw_metrics_health_json(const hw_metrics_view_t *v, const hw_health_t *h, bool ready, char **out, size_t *len, hw_error_t *err)
{
	mbuf_t b = {0};
	bool ok = ready ? h->ready : h->healthy;

	bput(&b, "{\"status\":\"%s\",\"collector\":", ok ? "ok" : "fail");
	bput_json_str(&b, v->id);
	bput(&b,
			",\"phase\":\"%s\",\"broker\":\"%s\",\"store_pending_ms\":%lld,\"store_queued\":%zu,"
			"\"store_bound\":%llu,\"ingest_age_ms\":%lld,\"reasons\":[",
			phase_name(v->phase),
			!v->have_mqtt                       ? "none"
					: v->mqtt_connected ? "connected"
							    : "disconnected",
			(long long)store_pending_ms(v), v->s.q.len, (unsigned long long)v->s.q_cap, (long long)loop_age_ms(v));
	for(int i = 0; i < h->nreasons; i++){
		if(i) bput(&b, ",");
		bput_json_str(&b, h->reasons[i]);
	}
	bput(&b, "]}\n");
	return bdone(&b, out, len, err);
}

/* ------------------------------------------------------------------ Prometheus text */

static void meta(mbuf_t *b, const char *name, const char *type, const char *help)
{
	bput(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void counter(mbuf_t *b, const char *name, const char *help, uint64_t value)
{
	meta(b, name, "counter", help);
	bput(b, "%s %llu\n", name, (unsigned long long)value);
}

static void gauge(mbuf_t *b, const char *name, const char *help, double value)
{
	meta(b, name, "gauge", help);
	bput(b, "%s %.15g\n", name, value);
}

/* The states that raise an alert, in the order of the detections metric. */
static const int alert_states[] = {HW_STATE_STALLED, HW_STATE_LOST, HW_STATE_CRASHED, HW_STATE_FAILED};
#define ALERT_STATES ((int)(sizeof(alert_states) / sizeof(alert_states[0])))

int hw_metrics_prometheus(const hw_metrics_view_t *v, char **out, size_t *len, hw_error_t *err)
{
	const hw_metrics_snap_t *s = &v->s;
	const hw_collector_counts_t *n = &s->n;
	const hw_histo_t *lat = &v->st.write_latency;
	mbuf_t b = {0};
	hw_health_t h;
	uint64_t cum = 0;

	hw_metrics_health(v, &h);
	meta(&b, "heartwire_collector_info", "gauge", "The collector's id and version (always 1).");
	bput(&b, "heartwire_collector_info{collector=\"");
	bput_label(&b, v->id);
	bput(&b, "\",version=\"");
	bput_label(&b, v->version);
	bput(&b, "\"} 1\n");
	gauge(&b, "heartwire_collector_start_time_seconds", "When the collector started, in seconds since the Unix epoch.",
			(double)v->started_wall / 1000.0);
	gauge(&b, "heartwire_collector_healthy", "1 when /healthz answers 200: connected, store and ingest moving.", h.healthy);
	gauge(&b, "heartwire_collector_ready", "1 when /readyz answers 200: start-up finished.", h.ready);

	meta(&b, "heartwire_sessions", "gauge", "Sessions the collector holds, by state.");
	for(int st = HW_STATE_NONE + 1; st < HW_STATE__COUNT; st++)
		bput(&b, "heartwire_sessions{state=\"%s\"} %lld\n", hw_state_name(st), (long long)s->sessions[st]);
	gauge(&b, "heartwire_projects", "Projects with at least one session.", (double)s->projects);
	gauge(&b, "heartwire_machines", "Machines with at least one session.", (double)s->machines);

	meta(&b, "heartwire_detections_total", "counter",
			"Transitions that raised an alert, by new state and cause (lost by will or timeout, stalled, crashed, "
			"failed).");
	for(int i = 0; i < ALERT_STATES; i++){
		int st = alert_states[i];
		for(int ca = 0; ca < HW_CAUSE__COUNT; ca++){
			if(!hw_state_cause_ok(st, ca)) continue;
			bput(&b, "heartwire_detections_total{state=\"%s\",cause=\"%s\"} %llu\n", hw_state_name(st),
					hw_cause_name(ca), (unsigned long long)n->detections[st][ca]);
		}
	}
	counter(&b, "heartwire_false_alarms_total",
			"Stalled or lost sessions that came back in the same epoch (the collector's guess was wrong).",
			n->false_alarms);
	counter(&b, "heartwire_flaps_total", "Stalled or lost sessions that came back with a new connection.", n->flaps);
	counter(&b, "heartwire_transitions_total", "Session state transitions.", n->transitions);
	counter(&b, "heartwire_alerts_total", "Alerts published (detections and recoveries).", n->alerts);
	counter(&b, "heartwire_rebirth_requests_total", "Rebirth requests sent to agents.", n->rebirth_requests);
	counter(&b, "heartwire_sessions_expired_total", "Ended sessions whose retained state was removed after retention.",
			n->forgotten);

	counter(&b, "heartwire_messages_received_total", "Messages taken from the broker.", n->received);
	counter(&b, "heartwire_messages_ingested_total", "Messages that passed validation (received - invalid).",
			n->received >= n->invalid ? n->received - n->invalid : 0);
	meta(&b, "heartwire_messages_invalid_total", "counter", "Messages refused by the topic parser or the codec, by reason.");
	for(int r = 0; r < HW_R__COUNT; r++)
		bput(&b, "heartwire_messages_invalid_total{reason=\"%s\"} %llu\n", hw_reason_name(r),
				(unsigned long long)n->invalid_by_reason[r]);
	meta(&b, "heartwire_refused_total", "counter",
			"Valid messages refused by the collector's own rules, by reason (wrong_machine: a session's message "
			"from another machine's subtree; also counted as invalid with reason mismatch).");
	bput(&b, "heartwire_refused_total{reason=\"wrong_machine\"} %llu\n", (unsigned long long)n->refused_wrong_machine);
	counter(&b, "heartwire_heartbeats_coalesced_total",
			"Heartbeats held back by the per-session rate limit (a repeat within 100 ms of the last one applied).",
			n->hb_coalesced);
	counter(&b, "heartwire_messages_stale_total", "Valid messages ignored as older, duplicate or out of order.", n->stale);
	counter(&b, "heartwire_messages_unknown_session_total", "Agent events for sessions the collector does not know.",
			n->unknown);
	gauge(&b, "heartwire_ingest_messages_per_second", "Messages received per second over the last 10 s.", s->rate_10s);
	gauge(&b, "heartwire_ingest_backlog_messages", "Messages received from the broker, waiting for the ingest loop.",
			(double)v->mqtt_backlog);
	gauge(&b, "heartwire_ingest_loop_age_seconds", "Time since the ingest loop last refreshed these metrics.",
			(double)loop_age_ms(v) / 1000.0);

	gauge(&b, "heartwire_mqtt_connected", "1 while connected to the broker.", v->mqtt_connected);
	counter(&b, "heartwire_mqtt_connection_losses_total", "Broker connections lost.", v->mqtt_losses);
	meta(&b, "heartwire_mqtt_publishes_total", "counter", "Messages published by the ingest loop, by retain flag.");
	bput(&b, "heartwire_mqtt_publishes_total{retained=\"true\"} %llu\n", (unsigned long long)n->published_retained);
	bput(&b, "heartwire_mqtt_publishes_total{retained=\"false\"} %llu\n",
			(unsigned long long)(n->published >= n->published_retained ? n->published - n->published_retained : 0));
	counter(&b, "heartwire_mqtt_publish_failures_total", "Publishes refused (not connected or buffer full); retried.",
			n->publish_failed);

	gauge(&b, "heartwire_store_buffer_ops", "Database writes queued now.", (double)s->q.len);
	gauge(&b, "heartwire_store_buffer_bound_ops", "The store buffer's bound (--store-buffer).", (double)s->q_cap);
	gauge(&b, "heartwire_store_buffer_high_water_ops", "Most database writes ever queued at once.", (double)s->q.high_water);
	counter(&b, "heartwire_store_buffer_dropped_total", "Database writes dropped because the buffer was full.", s->q.dropped);
	counter(&b, "heartwire_store_coalesced_total", "Heartbeat-only session snapshots merged into a queued one.",
			s->q.coalesced);
	meta(&b, "heartwire_store_written_total", "counter", "Documents written to the database, by collection.");
	bput(&b, "heartwire_store_written_total{collection=\"sessions\"} %llu\n", (unsigned long long)v->st.sessions_written);
	bput(&b, "heartwire_store_written_total{collection=\"events\"} %llu\n", (unsigned long long)v->st.events_written);
	bput(&b, "heartwire_store_written_total{collection=\"rollups\"} %llu\n", (unsigned long long)v->st.rollups_written);
	counter(&b, "heartwire_store_stale_total", "Guarded writes refused as older than the stored version (expected).",
			v->st.stale);
	meta(&b, "heartwire_store_errors_total", "counter",
			"Store errors: writes the database rejected for good, and batches retried after a transient failure.");
	bput(&b, "heartwire_store_errors_total{kind=\"rejected\"} %llu\n", (unsigned long long)v->st.rejected);
	bput(&b, "heartwire_store_errors_total{kind=\"transient\"} %llu\n", (unsigned long long)v->st.retries);
	gauge(&b, "heartwire_store_up", "0 while the last database write failed and waits for a retry.",
			v->have_store && !v->st.down);
	gauge(&b, "heartwire_store_pending_seconds", "Age of the batch being written or retried (0 when idle).",
			(double)store_pending_ms(v) / 1000.0);
	counter(&b, "heartwire_store_events_pruned_total", "Events deleted by retention.", v->st.pruned);
	meta(&b, "heartwire_store_write_duration_seconds", "histogram", "Duration of each bulk write to the database.");
	for(int i = 0; i < HW_HISTO_BOUNDS; i++){
		cum += lat->n[i];
		bput(&b, "heartwire_store_write_duration_seconds_bucket{le=\"%g\"} %llu\n", (double)hw_histo_bound_us(i) / 1e6,
				(unsigned long long)cum);
	}
	cum += lat->n[HW_HISTO_BOUNDS];
	bput(&b, "heartwire_store_write_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	bput(&b, "heartwire_store_write_duration_seconds_sum %.6f\n", (double)lat->sum_us / 1e6);
	bput(&b, "heartwire_store_write_duration_seconds_count %llu\n", (unsigned long long)lat->count);
	return bdone(&b, out, len, err);
}

/* ------------------------------------------------------------------ JSON */

int hw_metrics_json(const hw_metrics_view_t *v, char **out, size_t *len, hw_error_t *err)
{
	const hw_metrics_snap_t *s = &v->s;
	const hw_collector_counts_t *n = &s->n;
	const hw_histo_t *lat = &v->st.write_latency;
	mbuf_t b = {0};
	hw_health_t h;
	bool first = true;

	hw_metrics_health(v, &h);
	bput(&b, "{\"v\":1,\"collector\":");
	bput_json_str(&b, v->id);
	bput(&b, ",\"version\":");
	bput_json_str(&b, v->version);
	bput(&b, ",\"at\":%lld,\"started_at\":%lld,\"healthy\":%s,\"ready\":%s,\"reasons\":[", (long long)v->now_wall,
			(long long)v->started_wall, h.healthy ? "true" : "false", h.ready ? "true" : "false");
	for(int i = 0; i < h.nreasons; i++){
		if(i) bput(&b, ",");
		bput_json_str(&b, h.reasons[i]);
	}
	bput(&b, "],\"sessions\":{");
	for(int st = HW_STATE_NONE + 1; st < HW_STATE__COUNT; st++)
		bput(&b, "%s\"%s\":%lld", st > 1 ? "," : "", hw_state_name(st), (long long)s->sessions[st]);
	bput(&b, "},\"projects\":%llu,\"machines\":%llu,\"detections\":{", (unsigned long long)s->projects,
			(unsigned long long)s->machines);
	for(int i = 0; i < ALERT_STATES; i++){
		int st = alert_states[i];
		bool any = false;
		bput(&b, "%s\"%s\":{", i ? "," : "", hw_state_name(st));
		for(int ca = 0; ca < HW_CAUSE__COUNT; ca++){
			if(!hw_state_cause_ok(st, ca)) continue;
			bput(&b, "%s\"%s\":%llu", any ? "," : "", hw_cause_name(ca), (unsigned long long)n->detections[st][ca]);
			any = true;
		}
		bput(&b, "}");
	}
	bput(&b,
			"},\"false_alarms\":%llu,\"flaps\":%llu,\"transitions\":%llu,\"alerts\":%llu,\"rebirth_requests\":%llu,"
			"\"expired\":%llu,",
			(unsigned long long)n->false_alarms, (unsigned long long)n->flaps, (unsigned long long)n->transitions,
			(unsigned long long)n->alerts, (unsigned long long)n->rebirth_requests, (unsigned long long)n->forgotten);
	bput(&b,
			"\"messages\":{\"received\":%llu,\"ingested\":%llu,\"invalid\":%llu,\"stale\":%llu,"
			"\"unknown_session\":%llu,\"rate_10s\":%.3f,\"backlog\":%llu},\"invalid_by_reason\":{",
			(unsigned long long)n->received,
			(unsigned long long)(n->received >= n->invalid ? n->received - n->invalid : 0),
			(unsigned long long)n->invalid, (unsigned long long)n->stale, (unsigned long long)n->unknown, s->rate_10s,
			(unsigned long long)v->mqtt_backlog);
	for(int r = 0; r < HW_R__COUNT; r++){
		if(!n->invalid_by_reason[r]) continue;
		bput(&b, "%s\"%s\":%llu", first ? "" : ",", hw_reason_name(r), (unsigned long long)n->invalid_by_reason[r]);
		first = false;
	}
	bput(&b, "},\"refused\":{\"wrong_machine\":%llu},\"hb_coalesced\":%llu", (unsigned long long)n->refused_wrong_machine,
			(unsigned long long)n->hb_coalesced);
	bput(&b,
			",\"mqtt\":{\"connected\":%s,\"losses\":%llu,\"published\":%llu,\"published_retained\":%llu,"
			"\"publish_failed\":%llu},",
			v->mqtt_connected ? "true" : "false", (unsigned long long)v->mqtt_losses,
			(unsigned long long)n->published, (unsigned long long)n->published_retained,
			(unsigned long long)n->publish_failed);
	bput(&b,
			"\"store\":{\"up\":%s,\"queued\":%zu,\"bound\":%llu,\"high_water\":%zu,\"dropped\":%llu,"
			"\"coalesced\":%llu,\"pending_ms\":%lld,\"written\":{\"sessions\":%llu,\"events\":%llu,\"rollups\":%llu},"
			"\"stale\":%llu,\"rejected\":%llu,\"retries\":%llu,\"pruned\":%llu,",
			v->have_store && !v->st.down ? "true" : "false", s->q.len, (unsigned long long)s->q_cap, s->q.high_water,
			(unsigned long long)s->q.dropped, (unsigned long long)s->q.coalesced, (long long)store_pending_ms(v),
			(unsigned long long)v->st.sessions_written, (unsigned long long)v->st.events_written,
			(unsigned long long)v->st.rollups_written, (unsigned long long)v->st.stale,
			(unsigned long long)v->st.rejected, (unsigned long long)v->st.retries, (unsigned long long)v->st.pruned);
	bput(&b, "\"write_ms\":{\"count\":%llu,\"sum\":%.3f,\"p50\":%.3f,\"p99\":%.3f}}}", (unsigned long long)lat->count,
			(double)lat->sum_us / 1000.0, hw_histo_quantile_us(lat, 0.5) / 1000.0,
			hw_histo_quantile_us(lat, 0.99) / 1000.0);
	return bdone(&b, out, len, err);
}

/* ------------------------------------------------------------------ --http-listen */

static int parse_port(const char *p, int *port, hw_error_t *err)
{
	char *end;
	long v;

	errno = 0;
	v = *p ? strtol(p, &end, 10) : -1;
	if(!*p || errno || *end || v < 0 || v > 65535 || *p == '+' || *p == '-' || *p == ' ')
		return hw_error_set(err, HW_ERR_CONFIG, "'%s' is not a port from 0 to 65535", p);
	*port = (int)v;
	return HW_OK;
}

int hw_metrics_listen_parse(const char *s, bool *enabled, struct sockaddr_storage *sa, socklen_t *salen, hw_error_t *err)
{
	char host[64];
	const char *colon, *portp;
	size_t hn;
	int port, rc;

	*enabled = false;
	if(!s || !*s || strcmp(s, "0") == 0) return HW_OK;
	memset(sa, 0, sizeof(*sa));
	if(s[0] == '['){
		const char *close = strchr(s, ']');
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)sa;
		if(!close || close[1] != ':') return hw_error_set(err, HW_ERR_CONFIG, "'%s' is not [IPV6]:PORT", s);
		hn = (size_t)(close - s - 1);
		if(hn == 0 || hn >= sizeof(host)) return hw_error_set(err, HW_ERR_CONFIG, "'%s' has no valid IPv6 address", s);
		memcpy(host, s + 1, hn);
		host[hn] = '\0';
		if((rc = parse_port(close + 2, &port, err)) != HW_OK) return rc;
		if(inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return hw_error_set(err, HW_ERR_CONFIG, "'%s' is not a numeric IPv6 address", host);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*salen = sizeof(*a6);
	}else{
		struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)sa;
		colon = strrchr(s, ':');
		if(colon && memchr(s, ':', (size_t)(colon - s)))
			return hw_error_set(err, HW_ERR_CONFIG, "'%s': write an IPv6 address in brackets, [::1]:9464", s);
		if(colon){
			hn = (size_t)(colon - s);
			portp = colon + 1;
		}else{
			hn = 0;
			portp = s;
		}
		if(hn >= sizeof(host)) return hw_error_set(err, HW_ERR_CONFIG, "'%s' has no valid IPv4 address", s);
		memcpy(host, s, hn);
		host[hn] = '\0';
		if(!hn) snprintf(host, sizeof(host), "127.0.0.1");
		if((rc = parse_port(portp, &port, err)) != HW_OK) return rc;
		if(inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return hw_error_set(err, HW_ERR_CONFIG, "'%s' is not a numeric IPv4 address (use ADDR:PORT)", host);
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*salen = sizeof(*a4);
	}
	*enabled = true;
	return HW_OK;
}

/* ------------------------------------------------------------------ the metrics object */

typedef struct rate_sample {
	int64_t at;
	uint64_t received;
} rate_sample_t;

struct hw_metrics {
	const hw_collector_cfg_t *cfg; /* borrowed */
	hw_mqtt_t *mqtt;               /* borrowed, may be NULL */
	hw_store_t *st;                /* borrowed, may be NULL */
	int64_t started_wall;
	atomic_int phase;
	pthread_mutex_t lock; /* guards snap */
	hw_metrics_snap_t snap;
	/* the ingest thread's own */
	rate_sample_t ring[RATE_SLOTS];
	int ring_n, ring_head; /* samples held; index of the oldest */
	/* HTTP */
	struct MHD_Daemon *httpd;
	int http_port;
	/* the publisher */
	char topic[HW_TOPIC_MAX];
	pthread_t pub;
	bool pub_running;
	pthread_mutex_t pub_lock;
	pthread_cond_t pub_cond;
	bool pub_stop;
};

void hw_metrics_phase(hw_metrics_t *mx, int phase)
{
	if(mx) atomic_store(&mx->phase, phase);
}

int hw_metrics_http_port(const hw_metrics_t *mx)
{
	return mx ? mx->http_port : 0;
}

/* Messages per second over the last ~10 s, from one sample a second (ingest thread). */
static double rate_update(hw_metrics_t *mx, int64_t now, uint64_t received)
{
	const rate_sample_t *base = NULL;
	int newest = (mx->ring_head + mx->ring_n - 1) % RATE_SLOTS;

	if(mx->ring_n == 0 || now - mx->ring[newest].at >= 1000){
		int at = (mx->ring_head + mx->ring_n) % RATE_SLOTS;
		if(mx->ring_n == RATE_SLOTS){
			at = mx->ring_head;
			mx->ring_head = (mx->ring_head + 1) % RATE_SLOTS;
		}else{
			mx->ring_n++;
		}
		mx->ring[at].at = now;
		mx->ring[at].received = received;
	}
	/* the newest sample at least a window old, else the oldest one */
	for(int i = 0; i < mx->ring_n; i++){
		const rate_sample_t *r = &mx->ring[(mx->ring_head + i) % RATE_SLOTS];
		if(!base || r->at <= now - RATE_WINDOW_MS) base = r;
	}
	if(!base || now <= base->at || received < base->received) return 0;
	return (double)(received - base->received) * 1000.0 / (double)(now - base->at);
}

void hw_metrics_update(hw_metrics_t *mx, const hw_collector_t *c, int64_t now_mono)
{
	hw_storeq_stats_t qs;
	double rate;

	if(!mx || !c) return;
	memset(&qs, 0, sizeof(qs));
	if(c->q) hw_storeq_get_stats(c->q, &qs);
	rate = rate_update(mx, now_mono, c->n.received);
	/* Never wait: a reader holds the lock only for a copy, and the next turn comes soon. */
	if(pthread_mutex_trylock(&mx->lock) != 0) return;
	mx->snap.valid = true;
	mx->snap.at_mono = now_mono;
	mx->snap.n = c->n;
	memcpy(mx->snap.sessions, c->summary, sizeof(mx->snap.sessions));
	mx->snap.projects = hw_map_len(&c->projects);
	mx->snap.machines = hw_map_len(&c->machines);
	mx->snap.q = qs;
	mx->snap.q_cap = c->q ? c->q->cap : 0;
	mx->snap.rate_10s = rate;
	pthread_mutex_unlock(&mx->lock);
}

void hw_metrics_view(hw_metrics_t *mx, hw_metrics_view_t *v)
{
	memset(v, 0, sizeof(*v));
	v->id = mx->cfg->id;
	v->version = HW_VERSION;
	v->phase = atomic_load(&mx->phase);
	v->started_wall = mx->started_wall;
	v->health_timeout_ms = mx->cfg->health_timeout_ms;
	pthread_mutex_lock(&mx->lock);
	v->s = mx->snap;
	pthread_mutex_unlock(&mx->lock);
	if(mx->mqtt){
		v->have_mqtt = true;
		v->mqtt_connected = hw_mqtt_connected(mx->mqtt);
		v->mqtt_losses = hw_mqtt_losses(mx->mqtt);
		v->mqtt_backlog = hw_mqtt_queued(mx->mqtt);
	}
	if(mx->st){
		v->have_store = true;
		hw_store_get_stats(mx->st, &v->st);
	}
	/* read the clocks last: every age computed from them is then >= 0 */
	v->now_mono = hw_mono_ms();
	v->now_wall = hw_time_ms();
}

/* ------------------------------------------------------------------ HTTP (libmicrohttpd) */

static void http_log(void *cls, const char *fmt, va_list ap) HW_PRINTF(2, 0);

static void http_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while(n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
	hw_log(HW_LOG_WARN, "http: %s", line);
}

/* Queues body (malloc'ed; taken over in every case) with status and content type. */
static enum MHD_Result http_reply(struct MHD_Connection *conn, unsigned status, const char *ctype, char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if(!body) return MHD_NO;
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if(!r){
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if(status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result http_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	char *body = strdup(text);

	return http_reply(conn, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
		const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	hw_metrics_t *mx = cls;
	hw_metrics_view_t v;
	hw_health_t h;
	char *body = NULL;
	size_t len = 0;
	bool ready;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if(strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return http_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if(strcmp(url, "/metrics") == 0){
		hw_metrics_view(mx, &v);
		if(hw_metrics_prometheus(&v, &body, &len, NULL) != HW_OK)
			return http_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return http_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
	}
	if(strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0){
		ready = url[1] == 'r';
		hw_metrics_view(mx, &v);
		hw_metrics_health(&v, &h);
		if(hw_metrics_health_json(&v, &h, ready, &body, &len, NULL) != HW_OK)
			return http_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
		return http_reply(conn, (ready ? h.ready : h.healthy) ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
				"application/json", body, len);
	}
	if(strcmp(url, "/") == 0)
		return http_text(conn, MHD_HTTP_OK, "heartwire-collector: /metrics (Prometheus), /healthz, /readyz\n");
	return http_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics, /healthz or /readyz\n");
}

static int http_start(hw_metrics_t *mx, hw_error_t *err)
{
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	bool enabled;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	hw_error_t e;
	int port;

	if(hw_metrics_listen_parse(mx->cfg->http_listen, &enabled, &sa, &salen, &e) != HW_OK)
		return hw_error_set(err, HW_ERR_CONFIG, "--http-listen: %s", e.msg);
	if(!enabled) return HW_OK;
	if(sa.ss_family == AF_INET6){
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)(void *)&sa)->sin6_port);
	}else{
		port = ntohs(((struct sockaddr_in *)(void *)&sa)->sin_port);
	}
	errno = 0;
	mx->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, mx, MHD_OPTION_EXTERNAL_LOGGER, http_log,
			(void *)mx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
			(unsigned int)HTTP_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
			MHD_OPTION_END);
	if(!mx->httpd)
		return hw_error_set(err, HW_ERR_IO, "--http-listen: cannot serve HTTP on %s%s%s", mx->cfg->http_listen,
				errno ? ": " : " (address in use?)", errno ? strerror(errno) : "");
	info = MHD_get_daemon_info(mx->httpd, MHD_DAEMON_INFO_BIND_PORT);
	mx->http_port = info && info->port ? info->port : port;
	return HW_OK;
}

/* ------------------------------------------------------------------ the publisher thread */

/* Publishes the JSON once; true when it went out. */
static bool publish_once(hw_metrics_t *mx)
{
	hw_metrics_view_t v;
	char *json = NULL;
	size_t len;
	bool ok;

	hw_metrics_view(mx, &v);
	if(!v.s.valid || !v.mqtt_connected) return false;
	if(hw_metrics_json(&v, &json, &len, NULL) != HW_OK) return false;
	ok = hw_mqtt_publish(mx->mqtt, mx->topic, json, len, 1, true, NULL) == HW_OK;
	free(json);
	return ok;
}

static void *pub_main(void *arg)
{
	hw_metrics_t *mx = arg;
	int64_t next = hw_mono_ms() + PUB_RETRY_MS;

	pthread_mutex_lock(&mx->pub_lock);
	while(!mx->pub_stop){
		struct timespec ts;
		int64_t now = hw_mono_ms();
		if(now >= next){
			bool ok;
			pthread_mutex_unlock(&mx->pub_lock);
			ok = publish_once(mx);
			pthread_mutex_lock(&mx->pub_lock);
			next = hw_mono_ms() +
					(!ok                                                               ? PUB_RETRY_MS
									: mx->cfg->metrics_ms < PUB_MIN_MS ? PUB_MIN_MS
													   : mx->cfg->metrics_ms);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)((next - now) / 1000);
		ts.tv_nsec += (long)((next - now) % 1000) * 1000000L;
		if(ts.tv_nsec >= 1000000000L){
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&mx->pub_cond, &mx->pub_lock, &ts);
	}
	pthread_mutex_unlock(&mx->pub_lock);
	return NULL;
}

static int pub_start(hw_metrics_t *mx, hw_error_t *err)
{
	pthread_condattr_t ca;
	int rc, e;

	if(mx->cfg->metrics_ms <= 0 || !mx->mqtt) return HW_OK;
	rc = hw_topic_build(mx->topic, sizeof(mx->topic), mx->cfg->topic_root, HW_T_COLLECTOR_METRICS, NULL, mx->cfg->id, err);
	if(rc != HW_OK) return rc;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mx->pub_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&mx->pub_lock, NULL);
	e = pthread_create(&mx->pub, NULL, pub_main, mx);
	if(e != 0){
		pthread_cond_destroy(&mx->pub_cond);
		pthread_mutex_destroy(&mx->pub_lock);
		return hw_error_set(err, HW_ERR_IO, "cannot start the metrics publisher: %s", strerror(e));
	}
	mx->pub_running = true;
	return HW_OK;
}

/* ------------------------------------------------------------------ life cycle */

int hw_metrics_new(hw_metrics_t **out, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_store_t *st, hw_error_t *err)
{
	hw_metrics_t *mx = calloc(1, sizeof(*mx));
	int rc;

	*out = NULL;
	if(!mx) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the metrics");
	mx->cfg = cfg;
	mx->mqtt = mqtt;
	mx->st = st;
	mx->started_wall = hw_time_ms();
	atomic_init(&mx->phase, HW_METRICS_STARTING);
	pthread_mutex_init(&mx->lock, NULL);
	rc = http_start(mx, err);
	if(rc == HW_OK) rc = pub_start(mx, err);
	if(rc != HW_OK){
		hw_metrics_free(mx);
		return rc;
	}
	*out = mx;
	return HW_OK;
}

void hw_metrics_free(hw_metrics_t *mx)
{
	if(!mx) return;
	if(mx->httpd) MHD_stop_daemon(mx->httpd);
	if(mx->pub_running){
		pthread_mutex_lock(&mx->pub_lock);
		mx->pub_stop = true;
		pthread_cond_broadcast(&mx->pub_cond);
		pthread_mutex_unlock(&mx->pub_lock);
		pthread_join(mx->pub, NULL);
		pthread_cond_destroy(&mx->pub_cond);
		pthread_mutex_destroy(&mx->pub_lock);
	}
	pthread_mutex_destroy(&mx->lock);
	free(mx);
}
