/* store_query.h: the database side of queries and commands (collector/store_query.c, with
 * mongo-c-driver): paged reads of sessions, events, projects and machines as reply JSON, the
 * claim fence (the `leases` collection), pauses and the command audit. Called from the
 * request workers (collector/query.c), never from the ingest thread. Thread-safe: every call
 * takes its own client from the store's pool. */
#ifndef HEARTWIRE_COLLECTOR_STORE_QUERY_H
#define HEARTWIRE_COLLECTOR_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/agentmsg.h"
#include "heartwire/error.h"
#include "heartwire/msg.h"

typedef struct hw_qstore hw_qstore_t;

/* Creates the query store on its own mongoc_client_pool_t (uri and db copied; db as checked by
 * hw_store_new). No I/O yet. mongoc_init() must have been called. Returns HW_OK and *out
 * (free with hw_qstore_free), HW_ERR_CONFIG for a bad URI, HW_ERR_NOMEM. */
int hw_qstore_new(hw_qstore_t **out, const char *uri, const char *db, hw_error_t *err);

/* Frees the pool. NULL is a no-op. No call may be running. */
void hw_qstore_free(hw_qstore_t *qs);

/* ------------------------------------------------------------------ queries */

/* Each query writes the members of its reply's data as one JSON object into *out (caller frees
 * with free()), at most `budget` bytes: a page ends early (with "next_cursor") rather than
 * grow past it, because the broker refuses larger messages. Returns HW_OK; HW_ERR_INVAL with
 * reason HW_R_BAD_VALUE for a cursor that is not one of this query's (bad_filter);
 * HW_ERR_NOTFOUND (unknown_session: no such session, project or machine); HW_ERR_STORE (the
 * database failed: unavailable); HW_ERR_NOMEM; HW_ERR_INVAL for one document larger than the
 * budget. */

/* q/sessions: {"sessions":[documents as in state/s/{id}],"count":n,"next_cursor":".."} in _id
 * order, filtered by req->states, project, machine, slot and updated_since. */
int hw_qstore_sessions(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err);

/* q/session: {"session":{document},"events":[its newest req->limit events, oldest first]}. */
int hw_qstore_session(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err);

/* q/events: {"events":[..],"count":n,"next_cursor":".."} in (at, id) order, of req->session
 * (or of everything when empty), at or after req->updated_since. An event is {"id","kind",
 * "session","machine","project","at","epoch","seq", and per kind: transition "from","to"
 * {state,cause},"input"; agent "type","agent_ts",...; command "cmd","reason",...}. */
int hw_qstore_events(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err);

/* q/projects (machines false) and q/machines (machines true): {"projects":[rollups],"count":n,
 * "next_cursor":".."} in id order; req->project (req->machine) selects one, and is then
 * HW_ERR_NOTFOUND when there is none. */
int hw_qstore_rollups(hw_qstore_t *qs, bool machines, const hw_request_t *req, size_t budget, char **out, hw_error_t *err);

/* Reads one session document (into *doc, decoded: caller frees with hw_session_cleanup) and
 * the epoch of its birth metadata. HW_ERR_NOTFOUND, HW_ERR_STORE, HW_ERR_DECODE (unreadable). */
int hw_qstore_get_session(hw_qstore_t *qs, const char *id, hw_session_t *doc, int64_t *birth_epoch, hw_error_t *err);

/* The stored version of a session (0 when there is no document). HW_ERR_STORE. */
int hw_qstore_session_version(hw_qstore_t *qs, const char *id, int64_t *version, hw_error_t *err);

/* ------------------------------------------------------------------ the claim fence */

/* One claim of a session: generation g is the document {_id: "{session}:{g, 12 digits}"} of
 * `leases`. */
typedef struct hw_lease {
	int64_t generation;        /* 1, 2, ...: the fencing number */
	char token[HW_ID_MAX + 1]; /* "g{generation}-{16 hex}" */
	char claimant[HW_ID_MAX + 1];
	int64_t at;          /* when it was taken, ms */
	int64_t lease_until; /* ms */
	bool released;
} hw_lease_t;

/* Takes the next generation of the session's lease for claimant, for lease_ms from now: reads
 * the newest generation g; when it is still held (not released, lease_until > now) returns
 * HW_ERR_CONFLICT with *out describing the holder; else inserts generation g + 1. The insert
 * of a unique _id is the fence: of several claimers racing (any collectors), exactly one
 * inserts it; the others get a duplicate key and HW_ERR_CONFLICT. Returns HW_OK with *out,
 * HW_ERR_CONFLICT, HW_ERR_STORE. */
int hw_qstore_lease_claim(hw_qstore_t *qs, const char *session, const char *claimant, int64_t lease_ms, int64_t now,
		hw_lease_t *out, hw_error_t *err);

/* Releases the session's newest lease when token is its token (already released: HW_OK too).
 * HW_ERR_CONFLICT when the token is not the newest generation's (a stale or wrong token) or
 * there is no claim at all; HW_ERR_STORE. *out (may be NULL) describes the newest lease. */
int hw_qstore_lease_release(
		hw_qstore_t *qs, const char *session, const char *token, int64_t now, hw_lease_t *out, hw_error_t *err);

/* ------------------------------------------------------------------ pauses and the audit */

/* Stores the global pause (project NULL) or a project's in `pauses` (replacing it). */
int hw_qstore_pause_put(hw_qstore_t *qs, const char *project, const hw_pause_t *p, int64_t now, hw_error_t *err);

/* Receives one stored pause (project NULL for the global one); borrowed for the call. */
typedef void (*hw_qstore_pause_fn)(void *ctx, const char *project, const hw_pause_t *p);

/* Calls fn for every stored pause. HW_ERR_STORE. */
int hw_qstore_pause_load(hw_qstore_t *qs, hw_qstore_pause_fn fn, void *ctx, hw_error_t *err);

/* One command in the audit log (the `events` collection, kind "command"). Strings empty and
 * numbers < 0 when absent. */
typedef struct hw_audit {
	const char *cmd; /* verb name */
	char session[HW_ID_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char project[HW_ID_MAX + 1];
	int64_t at;
	char reason[HW_TEXT_MAX + 1];
	char claimant[HW_ID_MAX + 1];
	int64_t generation;
	int from_state, from_cause, to_state, to_cause; /* -1: no transition */
	int paused;                                     /* pause/unpause: 1/0; -1 otherwise */
	int64_t resume_at;
} hw_audit_t;

/* Initialises a to "nothing" with cmd and at. */
void hw_audit_init(hw_audit_t *a, const char *cmd, int64_t at);

/* Inserts the audit event (a fresh _id each time). HW_ERR_STORE. */
int hw_qstore_audit(hw_qstore_t *qs, const hw_audit_t *a, hw_error_t *err);

#endif
