/* storeq.h: the bounded queue between the ingest thread and the store thread, with
 * per-session coalescing of snapshots: heartbeat-only snapshots merge into the session's newest
 * queued one (latest wins, in its place); barriers (births, deaths, exits, transitions) are
 * never coalesced into each other, so each is written, in order. Thread-safe. */
#ifndef HEARTWIRE_COLLECTOR_STOREQ_H
#define HEARTWIRE_COLLECTOR_STOREQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"

#include "map.h"

typedef enum hw_op_kind {
	HW_OP_SESSION = 0, /* upsert a session document, guarded by version */
	HW_OP_EVENT,       /* insert an events document with a deterministic _id */
	HW_OP_ROLLUP,      /* upsert a projects / machines document, guarded by version */
	HW_OP_PRUNE,       /* delete events older than `before` */
	HW_OP__COUNT
} hw_op_kind;

typedef enum hw_coll { HW_COLL_PROJECTS = 0, HW_COLL_MACHINES } hw_coll;

typedef enum hw_evkind {
	HW_EVK_TRANSITION = 0, /* the session moved from one (state, cause) to another */
	HW_EVK_AGENT           /* an agent event (ev topic), as received */
} hw_evkind;

#define HW_EVENT_ID_MAX 200

/* One row of the events collection. Made by hw_event_rec_new() as one allocation sized to fit
 * (strings and the agent event inside it); freed with free(). Transitions carry no agent event,
 * so a queued transition costs ~150 bytes, not the ~2 KB of a decoded event. */
typedef struct hw_event_rec {
	const char *id; /* deterministic: replaying the same messages makes the same ids */
	const char *session;
	const char *machine;
	const char *project; /* "" when unknown */
	int kind;            /* hw_evkind */
	int64_t at;          /* collector receive time, ms since the Unix epoch */
	int64_t epoch;
	int64_t seq; /* -1 when the trigger had none */
	/* HW_EVK_TRANSITION */
	int from_state, from_cause, to_state, to_cause;
	const char *input; /* static name of the input (hw_input_name) */
	/* HW_EVK_AGENT: the decoded event (inside this allocation); NULL for transitions */
	const hw_ev_t *ev;
} hw_event_rec_t;

/* Allocates an event record holding copies of id (cut at HW_EVENT_ID_MAX - 1 bytes), session,
 * machine and project (NULL is ""), and of ev when not NULL (an agent event). Every other field
 * is zero. Caller frees with free() (or hands it to an op, which owns it). NULL when out of
 * memory. */
hw_event_rec_t *hw_event_rec_new(
		const char *id, const char *session, const char *machine, const char *project, const hw_ev_t *ev);

/* One queued write. Owned by the queue once pushed; freed with hw_op_free(). */
typedef struct hw_op {
	struct hw_op *next;
	int kind;               /* hw_op_kind */
	bool barrier;           /* HW_OP_SESSION: a transition, never coalesced with a later snapshot */
	int coll;               /* HW_OP_ROLLUP: hw_coll */
	char id[HW_ID_MAX + 1]; /* session, project or machine id */
	int64_t version;        /* guard of HW_OP_SESSION / HW_OP_ROLLUP */
	int64_t birth_epoch;    /* HW_OP_SESSION: stored beside the document */
	char *json;             /* HW_OP_SESSION / HW_OP_ROLLUP: the document as JSON (owned) */
	size_t len;
	hw_event_rec_t *ev; /* HW_OP_EVENT (owned) */
	int64_t before;     /* HW_OP_PRUNE: ms since the Unix epoch */
} hw_op_t;

/* Allocates a zeroed op of kind; NULL when out of memory. */
hw_op_t *hw_op_new(int kind);

/* Frees an op, its JSON and its event. NULL is a no-op. */
void hw_op_free(hw_op_t *op);

/* Frees a list of ops linked by next. */
void hw_op_free_list(hw_op_t *head);

typedef struct hw_storeq_stats {
	uint64_t pushed;    /* ops accepted (including coalesced ones) */
	uint64_t coalesced; /* session snapshots merged into a pending one */
	uint64_t dropped;   /* ops refused because the buffer was full */
	uint64_t taken;     /* ops handed to the store thread */
	size_t len;         /* ops queued now */
	size_t high_water;  /* most ops ever queued at once */
} hw_storeq_stats_t;

/* Caller-owned: hw_storeq_init() ... hw_storeq_cleanup(). */
typedef struct hw_storeq {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled on push and close */
	hw_op_t *head, *tail;
	size_t cap;
	hw_map_t pending; /* session id -> its newest snapshot still queued (barrier or not) */
	bool closed;
	hw_storeq_stats_t stats;
} hw_storeq_t;

/* Initialises an empty queue holding at most cap ops (>= 1). HW_OK, HW_ERR_INVAL, HW_ERR_NOMEM. */
int hw_storeq_init(hw_storeq_t *q, size_t cap, hw_error_t *err);

/* Frees every queued op and the queue's resources. No thread may use q any more. */
void hw_storeq_cleanup(hw_storeq_t *q);

/* Queues op, taking ownership in every case. A HW_OP_SESSION snapshot merges into the
 * session's newest snapshot still queued (its content replaced by the newer one, in its place in
 * the queue), unless both are barriers: a heartbeat-only snapshot into anything, a barrier into
 * a heartbeat-only one (which becomes the barrier). So a session holds at most one queued
 * snapshot per barrier, however long the database is behind.
 * Returns HW_OK; HW_ERR_AGAIN when the queue is full (the op is freed and counted as dropped);
 * HW_ERR_STATE after hw_storeq_close (freed too). */
int hw_storeq_push(hw_storeq_t *q, hw_op_t *op, hw_error_t *err);

/* Takes up to max ops, oldest first, waiting up to timeout_ms (-1 forever) for the first one.
 * Returns the list (caller frees with hw_op_free_list) and its length in *n; NULL when none
 * came (timeout, or closed and empty). */
hw_op_t *hw_storeq_take(hw_storeq_t *q, size_t max, int timeout_ms, size_t *n);

/* Wakes every waiting taker; pushes fail from now on; ops already queued can still be taken. */
void hw_storeq_close(hw_storeq_t *q);

/* Ops queued now. */
size_t hw_storeq_len(hw_storeq_t *q);

/* A snapshot of the counters. */
void hw_storeq_get_stats(hw_storeq_t *q, hw_storeq_stats_t *out);

#endif
