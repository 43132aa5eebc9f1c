/* sessions.h: the session state machine (the transition table, in sessions.c only) and the
 * in-memory session it drives: ordering by (epoch, seq), field updates from births,
 * heartbeats, events and statuses, deadlines. Pure logic: no I/O, times passed in. */
#ifndef HEARTWIRE_COLLECTOR_SESSIONS_H
#define HEARTWIRE_COLLECTOR_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"

#include "timers.h"

/* A row of the table: every (state, cause) pair a session can be in. The cause is part of
 * the row because it changes what may happen next (a will is final for its epoch, a timeout
 * is not; an end event is overruled by the exit of the same epoch). */
typedef enum hw_row {
	HW_ROW_NONE = 0, /* unknown session */
	HW_ROW_STARTING,
	HW_ROW_ACTIVE,
	HW_ROW_IDLE,
	HW_ROW_RECOVERING,
	HW_ROW_STALLED_MISSED,      /* stalled / missed_heartbeats (collector timer) */
	HW_ROW_STALLED_NO_PROGRESS, /* stalled / no_progress (agent) */
	HW_ROW_STALLED_CHILD,       /* stalled / child_stopped (agent) */
	HW_ROW_LOST_WILL,           /* lost / will */
	HW_ROW_LOST_TIMEOUT,        /* lost / timeout (collector timer) */
	HW_ROW_CRASHED_EXIT,        /* crashed / exit_code */
	HW_ROW_CRASHED_SIGNAL,      /* crashed / signal */
	HW_ROW_COMPLETED_EXIT,      /* completed / exit_code */
	HW_ROW_COMPLETED_END,       /* completed / end */
	HW_ROW_FAILED_OPERATOR,
	HW_ROW_FAILED_NOT_RESUMABLE,
	HW_ROW_FAILED_RESTART_LIMIT,
	HW_ROW_CLEARED, /* cleared / operator */
	HW_ROW__COUNT
} hw_row;

/* The table's answer when an input changes nothing: stale, duplicate or not applicable. */
#define HW_ROW_IGNORE (-1)

/* What happened, as the state machine sees it. */
typedef enum hw_input {
	HW_IN_BIRTH = 0,        /* birth */
	HW_IN_HB_ACTIVE,        /* heartbeat, agent says active */
	HW_IN_HB_IDLE,          /* heartbeat, agent says idle */
	HW_IN_HB_NO_PROGRESS,   /* heartbeat, agent says stalled / no_progress */
	HW_IN_HB_CHILD_STOPPED, /* heartbeat, agent says stalled / child_stopped */
	HW_IN_EV_IDLE,          /* idle event */
	HW_IN_EV_END,           /* end event, or an ended status without an exit */
	HW_IN_EXIT_OK,          /* exit event or ended status: code 0 */
	HW_IN_EXIT_CODE,        /* exit event or ended status: code != 0 */
	HW_IN_EXIT_SIGNAL,      /* exit event or ended status: killed by a signal */
	HW_IN_ONLINE,           /* status online (the agent connected) */
	HW_IN_WILL,             /* status lost (the broker published the will) */
	HW_IN_TIMER,            /* the session's deadline passed (collector) */
	HW_IN__COUNT
} hw_input;

/* How the message's epoch compares with the session's. */
typedef enum hw_rel { HW_REL_OLDER = 0, HW_REL_SAME, HW_REL_NEWER, HW_REL__COUNT } hw_rel;

/* The row of (state, cause), or -1 for a pair DESIGN.md does not allow. */
int hw_row_of(int state, int cause);

/* The (state, cause) of a row (HW_ROW_NONE gives HW_STATE_NONE, HW_CAUSE_NONE). */
void hw_row_split(int row, int *state, int *cause);

/* "stalled/missed_heartbeats", "active", ... (the names used in docs/state-machine.md);
 * "ignore" for HW_ROW_IGNORE, "unknown" out of range. */
const char *hw_row_name(int row);

/* "birth", "hb_active", ... (the column names of docs/state-machine.md); "unknown" out of range. */
const char *hw_input_name(int input);

/* "older", "same", "newer". */
const char *hw_rel_name(int rel);

/* The transition table: the row a session in `row` moves to on `input` whose epoch relates
 * to the session's by `rel`, or HW_ROW_IGNORE. Total over every (row, input, rel). */
int hw_fsm_next(int row, int input, int rel);

/* Inputs that carry a seq ordered within their epoch (birth, heartbeats, idle): at the same
 * epoch they apply only when their seq is higher than the last one applied. The others (end,
 * exit, statuses, timer) are ordered by the table itself. */
bool hw_input_sequenced(int input);

/* Alert and counter rules derived from a transition (docs/state-machine.md, "Alerts"). */
/* An alert names the new state when the state changed into stalled, lost, crashed or failed. */
bool hw_fsm_alerts(int from_row, int to_row);
/* "recovered": from stalled or lost back to a live state. */
bool hw_fsm_recovered(int from_row, int to_row);
/* A false alarm: recovered within the same epoch from the collector's own guess
 * (missed_heartbeats, timeout). */
bool hw_fsm_false_alarm(int from_row, int to_row, int rel);
/* A flap: recovered by a newer epoch (the agent reconnected). */
bool hw_fsm_flap(int from_row, int to_row, int rel);

/* Defaults used when a session did not say. */
#define HW_INTERVAL_DEFAULT_MS 5000
#define HW_GRACE_INTERVALS 3

/* One session as the collector holds it. Caller-owned: hw_sess_init() ... hw_sess_cleanup().
 * doc.task, doc.cwd, doc.argv and doc.claude.chain are owned (heap) by the session. */
typedef struct hw_sess {
	hw_session_t doc;
	int64_t birth_epoch; /* epoch whose birth metadata doc holds; -1 for none */
	int64_t state_seq;   /* seq of the last sequenced input applied in doc.epoch; -1 none */
	int64_t data_seq;    /* seq of the newest message whose fields were applied; -1 none */
	/* bookkeeping for the collector loop (ingest.c); sessions.c never touches it */
	hw_timer_t timer;
	int64_t rebirth_at;        /* monotonic ms of the last rebirth request, 0 never */
	int64_t published_version; /* version last published retained, 0 never */
	int64_t stored_version;    /* version last queued for the store, 0 never */
	bool in_dirty[2];          /* linked in the loop's dirty lists (publish, store) */
	bool store_lost;           /* a snapshot could not be queued (buffer full) */
	struct hw_sess *dirty_next[2];
	char rollup_project[HW_ID_MAX + 1]; /* where the session is counted in the rollups */
	char rollup_machine[HW_ID_MAX + 1];
	int rollup_state;
	int64_t hb_applied_at;   /* monotonic ms of the last heartbeat applied, 0 never */
	int hb_input;            /* its hw_input (heartbeat rate limit, ingest.c) */
	hw_hb_t *hb_pending;     /* the newest heartbeat held back by the rate limit (owned,
				  * free()), applied at hb_applied_at + HW_HB_MIN_GAP_MS */
	int64_t hb_pending_now;  /* wall ms when it arrived */
	struct hw_sess *hb_next; /* the loop's list of sessions with a pending heartbeat */
	bool hb_linked;          /* in that list */
} hw_sess_t;

/* The result of applying one input. */
typedef struct hw_step {
	int input; /* hw_input, or -1 for a message the table does not see (data event) */
	int rel;   /* hw_rel */
	int from_row;
	int to_row; /* == from_row when nothing moved */
	int64_t from_epoch;
	int64_t trigger_seq; /* seq of the triggering message, -1 when it has none */
	bool stale;          /* refused: older epoch, duplicate or reordered seq, or ignored by the table */
	bool changed;        /* the document changed (version bumped) */
	bool transition;     /* the row changed */
	bool alert;          /* publish an alert named after the new state */
	bool recovered;      /* publish a "recovered" alert */
	bool false_alarm;
	bool flap;
	bool barrier;    /* a birth, death, exit or transition: the store must not coalesce it away */
	bool need_birth; /* the session has no birth for its epoch (ask the agent for a rebirth) */
} hw_step_t;

/* Initialises an empty session `id` seen under machine `machine` (both copied, checked by the
 * caller), in HW_ROW_NONE. */
void hw_sess_init(hw_sess_t *s, const char *id, const char *machine);

/* Frees task, cwd, argv and chain (the rest of doc stays readable). NULL is a no-op. */
void hw_sess_cleanup(hw_sess_t *s);

/* Takes over a decoded document (loaded from the store): *doc is moved into s (its task, cwd,
 * argv and chain now belong to s; *doc is reset). birth_epoch as stored (-1 unknown). */
void hw_sess_adopt(hw_sess_t *s, hw_session_t *doc, int64_t birth_epoch);

/* The current row. */
int hw_sess_row(const hw_sess_t *s);

/* Effective grace in ms: grace_ms, else HW_GRACE_INTERVALS x interval (default interval). */
int64_t hw_sess_grace(const hw_sess_t *s);

/* Apply a message received at wall time now (ms since the Unix epoch). The message is
 * borrowed and must have passed the codec and its topic check. *st describes the outcome.
 * Returns HW_OK, or HW_ERR_NOMEM (the session is then consistent but may miss its cwd, a new
 * task, argv or a chain entry; a heartbeat keeps the old task). */
int hw_sess_birth(hw_sess_t *s, const hw_birth_t *b, int64_t now, hw_step_t *st, hw_error_t *err);
void hw_sess_hb(hw_sess_t *s, const hw_hb_t *hb, int64_t now, hw_step_t *st);
int hw_sess_ev(hw_sess_t *s, const hw_ev_t *ev, int64_t now, hw_step_t *st, hw_error_t *err);
void hw_sess_status(hw_sess_t *s, const hw_status_t *stt, int64_t now, hw_step_t *st);

/* Apply the session's deadline passing at wall time now. */
void hw_sess_timer(hw_sess_t *s, int64_t now, hw_step_t *st);

/* The input a message stands for (for the table), or -1 for data events. */
int hw_input_of_hb(const hw_hb_t *hb);
int hw_input_of_ev(const hw_ev_t *ev);
int hw_input_of_status(const hw_status_t *st);

/* ------------------------------------------------------------------ operator commands */

/* What operators and restarters do to a session (cmd/fail, clear, claim, release) and a
 * claim's lease running out. They have their own table (hw_fsm_command) beside the agent's:
 * they carry no epoch, and they are the only inputs that make a session failed (by an
 * operator), cleared or recovering. Numbered after hw_input, so hw_input_name names both
 * and an audit event says which one moved the session. */
typedef enum hw_cmd_input {
	HW_CIN_FAIL = HW_IN__COUNT, /* cmd/fail: give up on the session (terminal) */
	HW_CIN_CLEAR,               /* cmd/clear: reset it, ready for a restart */
	HW_CIN_CLAIM,               /* cmd/claim: a restarter took the lease */
	HW_CIN_RELEASE,             /* cmd/release: the restarter gave the lease back */
	HW_CIN_EXPIRE,              /* the lease ran out without a new run */
	HW_CIN__END
} hw_cmd_input;

/* Cells of the command table besides a row and HW_ROW_IGNORE. */
#define HW_ROW_REFUSE (-2) /* not allowed from this row (reply not_recoverable) */
#define HW_ROW_BUSY (-3)   /* someone holds the claim (reply conflict) */

/* The command table: the row a session in `row` moves to on command input `cin`
 * (hw_cmd_input), HW_ROW_IGNORE (nothing to do: already there), HW_ROW_REFUSE or HW_ROW_BUSY.
 * Total over every (row, cin). */
int hw_fsm_command(int row, int cin);

/* Applies command input cin at wall time now: moves the session as hw_fsm_command says, bumps
 * its version and updated_at, recomputes its deadline (none in the rows commands lead to).
 * st->to_row is the cell (HW_ROW_REFUSE and HW_ROW_BUSY included, with nothing changed);
 * st->alert is set for a change into failed; a command never counts as a recovery, a false
 * alarm or a flap. A command has no agent seq: st->trigger_seq is the new version, which
 * keeps the audit event of every command distinct. The caller sets what the command carries
 * (recovery fields) before calling. */
void hw_sess_command(hw_sess_t *s, int cin, int64_t now, hw_step_t *st);

#endif
