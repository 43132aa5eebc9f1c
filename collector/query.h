/* query.h: the collector's request server: q/{verb} queries and cmd/{verb} commands over MQTT 5
 * request/response (or reply_to/corr in the JSON for MQTT 3.1.1), answered from the database by
 * worker threads so that the ingest thread never waits for it (collector/query.c), and the
 * commands' state machine side on the ingest thread (collector/command.c). */
#ifndef HEARTWIRE_COLLECTOR_QUERY_H
#define HEARTWIRE_COLLECTOR_QUERY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/agentmsg.h"
#include "heartwire/error.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"

#include "collector.h"
#include "map.h"
#include "store_query.h"

/* ------------------------------------------------------------------ paging cursors (pure) */

/* A cursor is "{kind}1.{base64url(key)}": opaque to clients, bound to one query. The key is the
 * last _id of a page (sessions, projects, machines) or "{at}|{_id}" (events). */
#define HW_CURSOR_SESSIONS 's'
#define HW_CURSOR_EVENTS 'e'
#define HW_CURSOR_PROJECTS 'p'
#define HW_CURSOR_MACHINES 'm'
#define HW_EVENT_KEY_MAX 256 /* "{at}|{event _id}" */

/* Encodes key (borrowed) as a cursor of kind into buf (len bytes). Returns HW_OK or HW_ERR_INVAL
 * when it does not fit (or key is empty). */
int hw_cursor_encode(char kind, const char *key, char *buf, size_t len);

/* Decodes a cursor of kind into key (keylen bytes). HW_ERR_INVAL with reason HW_R_BAD_VALUE
 * ("not a cursor of this query") for anything else: another kind, bad base64, a key that is
 * not an id (sessions, projects, machines) or not "{at}|{id}" (events). */
int hw_cursor_decode(char kind, const char *cursor, char *key, size_t keylen, hw_error_t *err);

/* The reply code for a request the decoder refused (err from hw_request_decode): bad_filter
 * when the refused key is one of the query verb's filters (states, project, machine, slot,
 * updated_since, limit, cursor; session for events), else bad_request. */
int hw_request_refusal_code(int verb, const hw_error_t *err);

/* Where a reply goes. */
#define HW_REPLY_TOPIC_MAX 512
#define HW_CORR_BIN_MAX 1024
typedef struct hw_reply_path {
	char topic[HW_REPLY_TOPIC_MAX + 1];  /* "" when the request has none (or an unusable one) */
	bool v5;                             /* from the MQTT 5 response topic (corr is a property) */
	unsigned char corr[HW_CORR_BIN_MAX]; /* v5: correlation data */
	size_t corr_len;
	char json_corr[HW_CORR_MAX + 1]; /* MQTT 3.1.1: "corr", echoed in the reply payload */
} hw_reply_path_t;

/* Checks a reply topic: "{root}/reply/" and at least one more level, no wildcards, no empty
 * level, at most HW_REPLY_TOPIC_MAX bytes. The collector answers nowhere else, so that a
 * request cannot make it publish into the tree. HW_ERR_FORBIDDEN otherwise. */
int hw_reply_topic_check(const char *root, const char *topic, hw_error_t *err);

/* ------------------------------------------------------------------ the request server */

#define HW_RQ_WORKERS 2
#define HW_RQ_QUEUE_MAX 1000          /* jobs waiting for a worker; more: unavailable */
#define HW_RQ_REPLY_MAX 61440         /* bytes of a reply: below the broker's message_size_limit */
#define HW_RQ_LEASE_DEFAULT_MS 600000 /* claim lease when the request names none */
#define HW_RQ_DURABLE_WAIT_MS 2000    /* a command's reply waits this long for its write */
#define HW_RQ_RATE_SLOTS 61           /* one ingest-rate sample per second: 60 s window */

typedef enum hw_job_kind {
	HW_JOB_QUERY = 0, /* worker: run a q/ verb, reply */
	HW_JOB_LOOKUP,    /* worker: read a session that is not in memory -> ingest */
	HW_JOB_CLAIM,     /* worker: the lease fence -> ingest (or reply conflict) */
	HW_JOB_RELEASE,   /* worker: release the lease -> ingest (or reply conflict) */
	HW_JOB_PAUSE,     /* worker: store the pause -> ingest */
	HW_JOB_FINISH,    /* worker: audit, wait until the store has the new version, reply */
	HW_JOB_UNLEASE,   /* worker: release a lease the ingest thread gave up (no reply) */
	HW_JOB__COUNT
} hw_job_kind;

/* One request on its way: from the ingest thread to a worker and, for commands, back. */
typedef struct hw_job {
	struct hw_job *next;
	int kind; /* hw_job_kind */
	hw_request_t req;
	hw_reply_path_t path;
	int64_t now;   /* wall ms when the request was taken */
	int64_t t0_us; /* monotonic us when the request was taken */
	int rc;        /* worker's outcome */
	hw_error_t err;
	hw_session_t doc; /* LOOKUP: the stored session (owned; hw_session_cleanup) */
	int64_t birth_epoch;
	bool has_doc;
	hw_lease_t lease; /* CLAIM, RELEASE: the lease; UNLEASE: the token to release */
	hw_pause_t pause; /* PAUSE */
	hw_audit_t audit; /* FINISH, PAUSE: the audit event */
	bool has_audit;
	char *data;           /* FINISH: the reply data (owned) */
	int64_t wait_version; /* FINISH: reply once sessions/{req.session} has this version */
} hw_job_t;

typedef struct hw_rq_counts {
	uint64_t requests[HW_VERB__COUNT]; /* taken, by verb (0: unknown verb) */
	uint64_t replies_ok;
	uint64_t replies_error[HW_REPLY__COUNT];
	uint64_t no_reply;     /* executed, but no (usable) reply path */
	uint64_t reply_failed; /* the publish of a reply failed */
	uint64_t busy;         /* refused: the worker queue was full */
	uint64_t lease_expiries;
	int64_t latency_us_max; /* slowest request, taken to reply */
} hw_rq_counts_t;

typedef struct hw_rq {
	const hw_collector_cfg_t *cfg; /* borrowed */
	hw_mqtt_t *mqtt;               /* borrowed */
	hw_qstore_t *qs;               /* owned */
	pthread_t workers[HW_RQ_WORKERS];
	int nworkers;
	pthread_mutex_t lock; /* guards the two queues, stopping and n */
	pthread_cond_t cond;
	hw_job_t *todo, *todo_tail; /* for the workers */
	size_t ntodo;
	hw_job_t *done, *done_tail; /* for the ingest thread */
	bool stopping;
	int efd; /* eventfd: readable when done has jobs */
	hw_rq_counts_t n;
	hw_log_limit_t log_limit;
	/* the ingest thread's own */
	hw_pause_t global_pause;
	bool has_global_pause;
	bool pause_published;
	uint64_t seen_losses;
	hw_map_t leased; /* sessions whose lease expiry is watched (values unused) */
	bool leases_scanned;
	int64_t next_lease_check; /* monotonic ms */
	int64_t started_mono;
	int64_t rate_mono[HW_RQ_RATE_SLOTS];
	uint64_t rate_recv[HW_RQ_RATE_SLOTS];
	int rate_n, rate_i;
	int64_t next_sample;
} hw_rq_t;

/* Prepares rq (no threads, no I/O): cfg and mqtt borrowed. HW_OK, HW_ERR_CONFIG (URI),
 * HW_ERR_NOMEM, HW_ERR_IO (eventfd). */
int hw_rq_init(hw_rq_t *rq, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_error_t *err);

/* Loads the stored pauses into c (the global one, and each project's into its rollup), retrying
 * while the database does not answer (up to ~10 s), then starts the workers. Call after the
 * sessions are loaded and before connecting to the broker (the first publications carry the
 * pauses). HW_OK, HW_ERR_STORE, HW_ERR_IO. */
int hw_rq_start(hw_rq_t *rq, hw_collector_t *c, hw_error_t *err);

/* Stops the workers (a job being worked on finishes first; queued ones are dropped unanswered)
 * and frees everything. Safe on an initialised or zeroed rq. */
void hw_rq_cleanup(hw_rq_t *rq);

/* The ingest thread's part for one received message (borrowed): when msg is a q/ or cmd/
 * request, takes it (validates, replies or hands it to a worker) and returns true; false for
 * every other topic (the caller hands it to hw_collector_handle). */
bool hw_rq_take(hw_rq_t *rq, hw_collector_t *c, const hw_mqtt_msg_t *msg, int64_t now, int64_t now_mono);

/* A file descriptor for poll(): readable when workers handed results back. */
int hw_rq_fd(const hw_rq_t *rq);

/* The ingest thread's regular turn: takes the workers' results (commands continue), expires
 * leases, republishes the global pause after a reconnect, samples the ingest rate. */
void hw_rq_poll(hw_rq_t *rq, hw_collector_t *c, int64_t now, int64_t now_mono);

/* A snapshot of the counters (any thread). */
void hw_rq_get_counts(hw_rq_t *rq, hw_rq_counts_t *out);

/* ------------------------------------------------------------------ internal (query.c, command.c) */

/* A zeroed job of kind; NULL when out of memory. */
hw_job_t *hw__job_new(int kind);
/* Frees a job (its doc and data). NULL is a no-op. */
void hw__job_free(hw_job_t *j);

/* Queues a job for the workers (takes ownership). HW_OK, or HW_ERR_AGAIN when the queue is full
 * or stopping (the job is freed then, after answering it "unavailable"). */
int hw__rq_submit(hw_rq_t *rq, hw_job_t *j);

/* Publishes a reply to path (any thread): {"ok":true, ...data_json members} or the error. A
 * path without a topic only counts. */
void hw__rq_reply_ok(hw_rq_t *rq, const hw_job_t *j, const char *data_json);
void hw__rq_reply_error(hw_rq_t *rq, const hw_job_t *j, int code, const char *fmt, ...) HW_PRINTF(4, 5);
/* Replies with the code for rc (hw_reply_code_from_rc) and err's message. */
void hw__rq_reply_rc(hw_rq_t *rq, const hw_job_t *j, int rc, const hw_error_t *err);

/* command.c, on the ingest thread: starts a command (takes ownership of j). */
void hw__cmd_begin(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono);
/* command.c, on the ingest thread: continues a command whose worker part is done (takes j). */
void hw__cmd_done(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono);
/* command.c, on a worker: the database part of a command job. Returns true when the job goes
 * back to the ingest thread, false when it is finished (answered and to be freed). */
bool hw__cmd_work(hw_rq_t *rq, hw_job_t *j);
/* command.c, on the ingest thread: expires leases, republishes the global pause. */
void hw__cmd_tick(hw_rq_t *rq, hw_collector_t *c, int64_t now, int64_t now_mono);
/* command.c: the pause loader's callback (ctx is the collector; rq via c). */
void hw__cmd_pause_loaded(hw_rq_t *rq, hw_collector_t *c, const char *project, const hw_pause_t *p);

#endif
