/* collector.h: the collector's core, owned by its one ingest thread: the session table, the
 * deadlines, the rollups, what to publish and what to store for each message. main.c wires it
 * to MQTT and the store; without MQTT (mqtt == NULL, for tests) it only skips publishing. */
#ifndef HEARTWIRE_COLLECTOR_COLLECTOR_H
#define HEARTWIRE_COLLECTOR_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/agentmsg.h"
#include "heartwire/error.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/topics.h"

#include "map.h"
#include "sessions.h"
#include "storeq.h"
#include "timers.h"

/* Every option of heartwire-collector (collector/opts.c declares the table). */
typedef struct hw_collector_cfg {
	char broker[512];
	char username[256];
	char password[256];
	char password_file[1024];
	char cafile[1024];
	char topic_root[HW_TOPIC_ROOT_MAX + 1];
	char mongo_uri[1024];
	char db[64];
	char id[HW_ID_MAX + 1];
	int64_t retention_ms;          /* retained states of ended sessions are removed after this */
	int64_t events_retention_days; /* events are deleted after this many days; 0 = keep */
	int64_t store_buffer;          /* writes buffered for the database */
	int64_t startup_grace_ms;      /* no stall is declared this soon after a (re)connect */
	int64_t flush_ms;              /* heartbeat-only changes: publish interval */
	int64_t store_flush_ms;        /* heartbeat-only changes: store interval */
	int64_t rollup_ms;             /* project, machine and summary rollups: publish interval */
	int64_t rebirth_min_ms;        /* per session, at most one rebirth request this often */
	int max_inflight;              /* MQTT QoS 1 messages in flight */
	char http_listen[128];         /* ADDR:PORT of /metrics, /healthz, /readyz; "" or "0": off */
	int64_t metrics_ms;            /* retained {root}/collector/{id}/metrics interval; 0: off */
	int64_t health_timeout_ms;     /* /healthz fails when a store write or the ingest loop waits longer */
	int64_t lease_ms;              /* cmd/claim: the lease when the request names none */
	char group[HW_ID_MAX + 1];     /* several collectors: the group ("" = alone); docs/scaling.md */
	int64_t leader_lease_ms;       /* several collectors: the leadership lease */
	int log_level;                 /* hw_log_level */
	int log_format;                /* hw_log_format */
	bool help;
	bool version;
} hw_collector_cfg_t;

/* A project or machine rollup. */
typedef struct hw_rollup {
	char id[HW_ID_MAX + 1];
	int64_t counts[HW_STATE__COUNT];
	int64_t total;
	int64_t version;
	bool dirty;
	bool has_pause; /* projects: paused (cmd/pause); the rollup's "pause" member */
	hw_pause_t pause;
} hw_rollup_t;

/* Counters (also in state/summary). */
typedef struct hw_collector_counts {
	uint64_t received; /* messages popped from MQTT */
	uint64_t invalid;  /* refused by the topic parser or the codec */
	uint64_t invalid_by_reason[HW_R__COUNT];
	uint64_t stale;   /* older, duplicate or ignored by the table */
	uint64_t unknown; /* data events for sessions we do not know */
	uint64_t transitions;
	uint64_t alerts;
	uint64_t false_alarms;
	uint64_t flaps;
	uint64_t rebirth_requests;
	uint64_t published;
	uint64_t published_retained; /* of published: with the retain flag */
	uint64_t publish_failed;
	uint64_t store_dropped;                                /* writes refused by a full store buffer */
	uint64_t forgotten;                                    /* ended sessions whose retained state was removed */
	uint64_t refused_wrong_machine;                        /* messages for a session from another machine's subtree
								* (also counted in invalid_by_reason[HW_R_MISMATCH]) */
	uint64_t hb_coalesced;                                 /* heartbeats not applied one by one: same session and kind,
								* closer than HW_HB_MIN_GAP_MS to the last one applied
								* (the newest is applied when the gap has passed) */
	uint64_t detections[HW_STATE__COUNT][HW_CAUSE__COUNT]; /* alerting transitions, by new state and cause */
} hw_collector_counts_t;

typedef struct hw_collector {
	const hw_collector_cfg_t *cfg; /* borrowed */
	hw_mqtt_t *mqtt;               /* borrowed; NULL: publish nothing */
	hw_storeq_t *q;                /* borrowed; NULL: store nothing */
	hw_map_t sessions;             /* id -> hw_sess_t* (owned) */
	hw_map_t projects;             /* id -> hw_rollup_t* (owned) */
	hw_map_t machines;
	int64_t summary[HW_STATE__COUNT];
	bool summary_dirty;
	hw_timers_t timers;
	hw_sess_t *dirty[2];                                       /* sessions with heartbeat-only changes: [HW_DIRTY_PUB] to
								    * publish, [HW_DIRTY_STORE] to store */
	int64_t grace_until;                                       /* monotonic ms: no stall deadline fires before this */
	int64_t next_flush, next_store, next_rollup, next_summary; /* monotonic ms */
	bool rollups_dirty;                                        /* some project or machine rollup changed */
	bool store_resync;                                         /* some session snapshots were dropped: re-queue when room */
	bool store_full_logged;
	double rebirth_tokens;    /* global rebirth request budget (token bucket) */
	int64_t rebirth_refill;   /* monotonic ms of the last refill */
	hw_log_limit_t bad_limit; /* log lines about bad input */
	hw_sess_t *hb_pending;    /* sessions holding a rate-limited heartbeat (hb_next) */
	hw_collector_counts_t n;
} hw_collector_t;

/* Per-session heartbeat rate limit: a heartbeat of the same epoch and kind as the last one
 * applied, arriving sooner than this after it while the session is live, is held back (and
 * counted); only the newest held one is applied, once this gap has passed. Agents never send
 * faster than HW_INTERVAL_MIN_MS, so only a flood or a replay is affected. */
#define HW_HB_MIN_GAP_MS HW_INTERVAL_MIN_MS

#define HW_DIRTY_PUB 0
#define HW_DIRTY_STORE 1

/* Initialises c with cfg, mqtt and q (all borrowed, may be NULL for mqtt and q). Returns
 * HW_OK or HW_ERR_NOMEM. */
int hw_collector_init(hw_collector_t *c, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_storeq_t *q, hw_error_t *err);

/* Frees every session and rollup. NULL is a no-op. */
void hw_collector_cleanup(hw_collector_t *c);

/* Adds a session loaded from the store (takes over *doc's heap members; *doc is left cleaned),
 * arming its deadline no earlier than the start-up grace. A hw_store_load_fn. */
int hw_collector_adopt(void *c, hw_session_t *doc, int64_t birth_epoch, hw_error_t *err);

/* Reconciles with the retained state of session id (payload borrowed; len 0 is a removed
 * state: ignored): the broker keeps the newest state the collector published, which may be
 * newer than the database (writes still queued when the previous collector died). When its
 * version is newer than the session's in memory (or the session is unknown), it replaces it,
 * counts as published and is queued for the database. Returns HW_OK, HW_ERR_DECODE (an
 * unreadable document: nothing changed) or HW_ERR_NOMEM. */
int hw_collector_retained(hw_collector_t *c, const char *id, const void *payload, size_t len, hw_error_t *err);

/* Starts (or restarts, after a reconnect) the grace period at now_mono: no stall deadline
 * fires before now_mono + startup_grace_ms; every armed one is pushed back to it. */
void hw_collector_grace(hw_collector_t *c, int64_t now_mono);

/* Handles one received message (borrowed) at wall time now (ms since the Unix epoch) and
 * monotonic time now_mono. Invalid input is counted and logged (rate-limited), never fatal. */
void hw_collector_handle(hw_collector_t *c, const char *topic, const void *payload, size_t len, int64_t now, int64_t now_mono);

/* Runs every deadline due at now_mono (stalls, timeouts, retention of ended sessions). */
void hw_collector_timers(hw_collector_t *c, int64_t now, int64_t now_mono);

/* Publishes and stores what is due: heartbeat-only changes are published every flush_ms and
 * stored every store_flush_ms, rollups every rollup_ms, snapshots dropped by a full store
 * buffer are re-queued once it has room. force: all now. */
void hw_collector_flush(hw_collector_t *c, int64_t now, int64_t now_mono, bool force);

/* Marks every session and rollup for republishing (after a reconnect: the broker may have
 * lost retained messages). */
void hw_collector_republish_all(hw_collector_t *c);

/* Milliseconds until the next deadline or flush, at most max_ms: the ingest poll timeout. */
int hw_collector_timeout(const hw_collector_t *c, int64_t now_mono, int max_ms);

/* The session (borrowed) or NULL. */
hw_sess_t *hw_collector_find(const hw_collector_t *c, const char *id);

/* What follows a command's step (collector/command.c), as after a message: counters, rollups,
 * deadline, retained state, store writes, the transition event, alerts. s and st borrowed. */
void hw_collector_after(hw_collector_t *c, hw_sess_t *s, const hw_step_t *st, int64_t now, int64_t now_mono);

/* Sets (p, copied) or removes (NULL) the pause of a project: kept in its rollup (created when
 * the project has no session yet, and kept while it is paused) and published as the rollup's
 * "pause" member with the next rollup flush. Returns HW_OK or HW_ERR_NOMEM. */
int hw_collector_project_pause(hw_collector_t *c, const char *project, const hw_pause_t *p);

/* Builds the summary JSON (state/summary) into *out; caller frees with free(). */
int hw_collector_summary_json(const hw_collector_t *c, int64_t now, char **out, size_t *len, hw_error_t *err);

/* ------------------------------------------------------------------ publish.c */

/* Alert payload for a session's transition: {"v":1,"alert":..,"session":..,"machine":..,
 * "project":..,"state":..,"cause":..,"from":..,"from_cause":..,"epoch":..,"at":..,
 * "false_alarm":bool,"collector":..}. Writes into buf (len bytes); returns the length, or
 * -1 when it does not fit. ids only: nothing needs escaping. */
int hw_alert_json(char *buf, size_t len, const char *alert, const hw_sess_t *s, int from_state, int from_cause, bool false_alarm,
		int64_t now, const char *collector);

/* Project / machine rollup payload: {"v":1,"project"|"machine":id,"state":..,"sessions":n,
 * "live":n,"counts":{state:n,...},"version":..,"updated_at":..}. kind_key is "project" or
 * "machine". Returns the length or -1. */
int hw_rollup_json(char *buf, size_t len, const char *kind_key, const hw_rollup_t *r, int64_t now);

/* The rollup's headline: "attention" (something stalled, lost or crashed), "active" (something
 * live), else "quiet". */
const char *hw_rollup_state(const int64_t counts[HW_STATE__COUNT]);

/* Publishes payload on the topic of kind/machine/id under the configured root; counts it.
 * Returns HW_OK, HW_ERR_AGAIN (not connected or buffer full: try later), or another error. */
int hw_collector_publish(hw_collector_t *c, int kind, const char *machine, const char *id, const void *payload, size_t len,
		int qos, bool retain);

#endif
