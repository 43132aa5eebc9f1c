/* metrics.h: the collector's metrics and health: a snapshot of the ingest thread's counters
 * (taken without ever making that thread wait), their Prometheus text and JSON renderings, the
 * health verdict, the HTTP endpoint (GET /metrics, /healthz, /readyz; collector/metrics.c is the
 * only file with libmicrohttpd) and the retained {root}/collector/{id}/metrics publisher.
 *
 * Threads. hw_metrics_update runs on the ingest thread and only ever try-locks the snapshot.
 * libmicrohttpd's own thread answers HTTP, and a publisher thread publishes the JSON; both read
 * the snapshot under its lock, and the MQTT connection and store counters through their
 * thread-safe getters, and never touch the collector itself. */
#ifndef HEARTWIRE_COLLECTOR_METRICS_H
#define HEARTWIRE_COLLECTOR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "heartwire/error.h"
#include "heartwire/mqtt.h"
#include "heartwire/states.h"

#include "collector.h"
#include "store.h"
#include "storeq.h"

/* Where the collector is in its life (hw_metrics_phase). */
typedef enum hw_metrics_phase {
	HW_METRICS_STARTING = 0, /* loading sessions from the database, first broker connection */
	HW_METRICS_RUNNING,      /* loaded and subscribed: the ingest loop runs */
	HW_METRICS_STOPPING      /* a signal came: draining */
} hw_metrics_phase_t;

/* What the ingest thread copies out of the collector (hw_metrics_update). */
typedef struct hw_metrics_snap {
	bool valid;      /* false until the first update */
	int64_t at_mono; /* hw_mono_ms() of the copy */
	hw_collector_counts_t n;
	int64_t sessions[HW_STATE__COUNT]; /* sessions in memory, by state */
	uint64_t projects, machines;
	hw_storeq_stats_t q;
	uint64_t q_cap;  /* the store buffer's bound; 0 without a store */
	double rate_10s; /* messages received per second over the last ~10 s */
} hw_metrics_snap_t;

/* Everything one rendering needs: the snapshot, and what other threads own, read at once. */
typedef struct hw_metrics_view {
	const char *id;             /* collector id (borrowed) */
	const char *version;        /* heartwire version (borrowed) */
	int phase;                  /* hw_metrics_phase_t */
	int64_t now_mono, now_wall; /* hw_mono_ms(), hw_time_ms() */
	int64_t started_wall;       /* hw_time_ms() at start-up */
	int64_t health_timeout_ms;  /* --health-timeout-ms */
	hw_metrics_snap_t s;
	bool have_mqtt;
	bool mqtt_connected;
	uint64_t mqtt_losses;
	uint64_t mqtt_backlog; /* received, waiting for the ingest loop */
	bool have_store;
	hw_store_stats_t st;
} hw_metrics_view_t;

#define HW_HEALTH_REASONS_MAX 6

/* The health verdict of a view. */
typedef struct hw_health {
	bool healthy; /* /healthz: running, connected to the broker, store writer and ingest loop moving */
	bool ready;   /* /readyz: start-up finished (sessions loaded, subscribed) and not stopping */
	int nreasons; /* why not healthy (or not ready) */
	char reasons[HW_HEALTH_REASONS_MAX][160];
} hw_health_t;

/* Judges v into *h: unhealthy while starting or stopping, while the broker connection is down,
 * while a store batch has been pending (written or retried) for more than v->health_timeout_ms,
 * while the store buffer is full, and while the broker is connected but the ingest loop has not
 * refreshed the snapshot for more than max(health_timeout_ms, 3 s). Pure. */
void hw_metrics_health(const hw_metrics_view_t *v, hw_health_t *h);

/* Renders v as Prometheus text exposition format 0.0.4 (# HELP and # TYPE for every metric,
 * heartwire_ prefix). Returns HW_OK and *out (NUL-terminated, *len bytes; caller frees with
 * free()), or HW_ERR_NOMEM. */
int hw_metrics_prometheus(const hw_metrics_view_t *v, char **out, size_t *len, hw_error_t *err);

/* Renders v as the JSON object of {root}/collector/{id}/metrics ({"v":1,"collector":..., see
 * docs/protocol.md}). Returns HW_OK and *out (caller frees with free()), or HW_ERR_NOMEM. */
int hw_metrics_json(const hw_metrics_view_t *v, char **out, size_t *len, hw_error_t *err);

/* Renders the body of /healthz or /readyz (ready: true) as JSON: {"status":"ok"|"fail",
 * "reasons":[...],...}. Returns HW_OK and *out (caller frees with free()), or HW_ERR_NOMEM. */
int hw_metrics_health_json(
		const hw_metrics_view_t *v, const hw_health_t *h, bool ready, char **out, size_t *len, hw_error_t *err);

/* Parses --http-listen: "" or "0" (off: *enabled false), "PORT" (127.0.0.1), "IPV4:PORT",
 * "[IPV6]:PORT" or "*:PORT" (every IPv4 address); numeric addresses only, port 0-65535 (0: any
 * free port). Fills *sa and *salen when enabled. Returns HW_OK or HW_ERR_CONFIG saying what is
 * wrong (without the option's name). */
int hw_metrics_listen_parse(const char *s, bool *enabled, struct sockaddr_storage *sa, socklen_t *salen, hw_error_t *err);

typedef struct hw_metrics hw_metrics_t;

/* Creates the metrics of a collector configured by cfg (borrowed; --http-listen, --metrics-ms,
 * --health-timeout-ms, --id, --topic-root), reading mqtt and st (borrowed, either may be NULL;
 * both must outlive the metrics). Starts the HTTP server when --http-listen is set and the
 * publisher thread when --metrics-ms > 0. Returns HW_OK and *out (free with hw_metrics_free),
 * HW_ERR_CONFIG for a bad --http-listen, HW_ERR_IO when the address cannot be bound (named in
 * err) or a thread cannot start, HW_ERR_NOMEM. */
int hw_metrics_new(hw_metrics_t **out, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_store_t *st, hw_error_t *err);

/* The HTTP port actually bound (useful with port 0), or 0 when HTTP is off. */
int hw_metrics_http_port(const hw_metrics_t *mx);

/* Sets the phase (hw_metrics_phase_t); any thread. NULL mx is a no-op. */
void hw_metrics_phase(hw_metrics_t *mx, int phase);

/* Ingest thread only: copies c's counters (borrowed for the call) into the snapshot when the
 * snapshot's lock is free, else skips (the next turn copies). now_mono is hw_mono_ms(). Cheap:
 * call it every loop turn. NULL mx is a no-op. */
void hw_metrics_update(hw_metrics_t *mx, const hw_collector_t *c, int64_t now_mono);

/* Fills *v from the snapshot and the live getters (any thread). */
void hw_metrics_view(hw_metrics_t *mx, hw_metrics_view_t *v);

/* Stops the HTTP server and the publisher thread and frees mx. NULL is a no-op. */
void hw_metrics_free(hw_metrics_t *mx);

#endif
