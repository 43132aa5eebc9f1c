/* sessions.c: the session state machine: THE transition table (the only one; docs/state-machine.md
 * is checked against it by tests/unit/test_collector_fsm.c) and how messages drive a session. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions.h"

/* ------------------------------------------------------------------ the table */

#define IGN HW_ROW_IGNORE
#define STA HW_ROW_STARTING
#define ACT HW_ROW_ACTIVE
#define IDL HW_ROW_IDLE
#define SMH HW_ROW_STALLED_MISSED
#define SNP HW_ROW_STALLED_NO_PROGRESS
#define SCS HW_ROW_STALLED_CHILD
#define LWI HW_ROW_LOST_WILL
#define LTO HW_ROW_LOST_TIMEOUT
#define CEX HW_ROW_CRASHED_EXIT
#define CSG HW_ROW_CRASHED_SIGNAL
#define OEX HW_ROW_COMPLETED_EXIT
#define OEN HW_ROW_COMPLETED_END

/* Same epoch (and, for sequenced inputs, a higher seq than the last one applied).
 * Reading guide: live rows follow the agent; a will is final for its epoch except against
 * the run's own ending (end, exit); an end event is overruled by its epoch's exit; exits
 * are final; recovering, failed and cleared ignore the old epoch entirely. */
/* clang-format off */
static const signed char fsm_same[HW_ROW__COUNT][HW_IN__COUNT] = {
	/*                                 birth hb_act hb_idl hb_np hb_cs ev_idl ev_end ex_ok ex_cd ex_sg online will timer */
	[HW_ROW_NONE]                  = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_STARTING]              = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, SMH},
	[HW_ROW_ACTIVE]                = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, SMH},
	[HW_ROW_IDLE]                  = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, SMH},
	[HW_ROW_RECOVERING]            = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_STALLED_MISSED]        = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, LTO},
	[HW_ROW_STALLED_NO_PROGRESS]   = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, SMH},
	[HW_ROW_STALLED_CHILD]         = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, SMH},
	[HW_ROW_LOST_WILL]             = {IGN, IGN, IGN, IGN, IGN, IGN, OEN, OEX, CEX, CSG, IGN, IGN, IGN},
	[HW_ROW_LOST_TIMEOUT]          = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, IGN, LWI, IGN},
	[HW_ROW_CRASHED_EXIT]          = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_CRASHED_SIGNAL]        = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_COMPLETED_EXIT]        = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_COMPLETED_END]         = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, OEX, CEX, CSG, IGN, IGN, IGN},
	[HW_ROW_FAILED_OPERATOR]       = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_FAILED_NOT_RESUMABLE]  = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_FAILED_RESTART_LIMIT]  = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_CLEARED]               = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
};
/* clang-format on */

/* Newer epoch: a new connection, so a new run of the session. Whatever the old epoch
 * ended as, the new one starts from its own first message; only failed (an operator's or
 * the restart policy's final word) refuses it until it is cleared. The timer has no epoch. */
/* clang-format off */
static const signed char fsm_newer[HW_ROW__COUNT][HW_IN__COUNT] = {
	/*                                 birth hb_act hb_idl hb_np hb_cs ev_idl ev_end ex_ok ex_cd ex_sg online will timer */
	[HW_ROW_NONE]                  = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_STARTING]              = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_ACTIVE]                = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_IDLE]                  = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_RECOVERING]            = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_STALLED_MISSED]        = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_STALLED_NO_PROGRESS]   = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_STALLED_CHILD]         = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_LOST_WILL]             = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_LOST_TIMEOUT]          = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_CRASHED_EXIT]          = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_CRASHED_SIGNAL]        = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_COMPLETED_EXIT]        = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_COMPLETED_END]         = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
	[HW_ROW_FAILED_OPERATOR]       = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_FAILED_NOT_RESUMABLE]  = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_FAILED_RESTART_LIMIT]  = {IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN, IGN},
	[HW_ROW_CLEARED]               = {STA, ACT, IDL, SNP, SCS, IDL, OEN, OEX, CEX, CSG, STA, LWI, IGN},
};
/* clang-format on */

/* Older epoch: always ignored (a stale will, a late heartbeat of a dead connection). */

int hw_fsm_next(int row, int input, int rel)
{
	if(row < 0 || row >= HW_ROW__COUNT || input < 0 || input >= HW_IN__COUNT) return HW_ROW_IGNORE;
	switch(rel){
	case HW_REL_SAME:
		return fsm_same[row][input];
	case HW_REL_NEWER:
		return fsm_newer[row][input];
	default:
		return HW_ROW_IGNORE;
	}
}

/* ------------------------------------------------------------------ names and rows */

static const struct {
	int state, cause;
	const char *name;
} rows[HW_ROW__COUNT] = {
		[HW_ROW_NONE] = {HW_STATE_NONE, HW_CAUSE_NONE, "none"},
		[HW_ROW_STARTING] = {HW_STATE_STARTING, HW_CAUSE_NONE, "starting"},
		[HW_ROW_ACTIVE] = {HW_STATE_ACTIVE, HW_CAUSE_NONE, "active"},
		[HW_ROW_IDLE] = {HW_STATE_IDLE, HW_CAUSE_NONE, "idle"},
		[HW_ROW_RECOVERING] = {HW_STATE_RECOVERING, HW_CAUSE_NONE, "recovering"},
		[HW_ROW_STALLED_MISSED] = {HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS, "stalled/missed_heartbeats"},
		[HW_ROW_STALLED_NO_PROGRESS] = {HW_STATE_STALLED, HW_CAUSE_NO_PROGRESS, "stalled/no_progress"},
		[HW_ROW_STALLED_CHILD] = {HW_STATE_STALLED, HW_CAUSE_CHILD_STOPPED, "stalled/child_stopped"},
		[HW_ROW_LOST_WILL] = {HW_STATE_LOST, HW_CAUSE_WILL, "lost/will"},
		[HW_ROW_LOST_TIMEOUT] = {HW_STATE_LOST, HW_CAUSE_TIMEOUT, "lost/timeout"},
		[HW_ROW_CRASHED_EXIT] = {HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE, "crashed/exit_code"},
		[HW_ROW_CRASHED_SIGNAL] = {HW_STATE_CRASHED, HW_CAUSE_SIGNAL, "crashed/signal"},
		[HW_ROW_COMPLETED_EXIT] = {HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE, "completed/exit_code"},
		[HW_ROW_COMPLETED_END] = {HW_STATE_COMPLETED, HW_CAUSE_END, "completed/end"},
		[HW_ROW_FAILED_OPERATOR] = {HW_STATE_FAILED, HW_CAUSE_OPERATOR, "failed/operator"},
		[HW_ROW_FAILED_NOT_RESUMABLE] = {HW_STATE_FAILED, HW_CAUSE_NOT_RESUMABLE, "failed/not_resumable"},
		[HW_ROW_FAILED_RESTART_LIMIT] = {HW_STATE_FAILED, HW_CAUSE_RESTART_LIMIT, "failed/restart_limit"},
		[HW_ROW_CLEARED] = {HW_STATE_CLEARED, HW_CAUSE_OPERATOR, "cleared/operator"},
};

/* clang-format off */
static const char *const input_names[HW_IN__COUNT] = {
	"birth", "hb_active", "hb_idle", "hb_no_progress", "hb_child_stopped", "ev_idle", "ev_end",
	"exit_ok", "exit_code", "exit_signal", "online", "will", "timer",
};
/* clang-format on */

static const char *const rel_names[HW_REL__COUNT] = {"older", "same", "newer"};

int hw_row_of(int state, int cause)
{
	for(int r = 0; r < HW_ROW__COUNT; r++){
		if(rows[r].state == state && rows[r].cause == cause) return r;
	}
	return -1;
}

void hw_row_split(int row, int *state, int *cause)
{
	if(row < 0 || row >= HW_ROW__COUNT) row = HW_ROW_NONE;
	*state = rows[row].state;
	*cause = rows[row].cause;
}

const char *hw_row_name(int row)
{
	if(row == HW_ROW_IGNORE) return "ignore";
	if(row < 0 || row >= HW_ROW__COUNT) return "unknown";
	return rows[row].name;
}

/* clang-format off */
static const char *const cmd_input_names[HW_CIN__END - HW_IN__COUNT] = {
	"cmd_fail", "cmd_clear", "cmd_claim", "cmd_release", "lease_expired",
};
/* clang-format on */

const char *hw_input_name(int input)
{
	if(input >= HW_IN__COUNT && input < HW_CIN__END) return cmd_input_names[input - HW_IN__COUNT];
	if(input < 0 || input >= HW_IN__COUNT) return "unknown";
	return input_names[input];
}

const char *hw_rel_name(int rel)
{
	if(rel < 0 || rel >= HW_REL__COUNT) return "unknown";
	return rel_names[rel];
}

bool hw_input_sequenced(int input)
{
	switch(input){
	case HW_IN_BIRTH:
	case HW_IN_HB_ACTIVE:
	case HW_IN_HB_IDLE:
	case HW_IN_HB_NO_PROGRESS:
	case HW_IN_HB_CHILD_STOPPED:
	case HW_IN_EV_IDLE:
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ derived rules */

static int row_state(int row)
{
	return (row >= 0 && row < HW_ROW__COUNT) ? rows[row].state : HW_STATE_NONE;
}

static int row_cause(int row)
{
	return (row >= 0 && row < HW_ROW__COUNT) ? rows[row].cause : HW_CAUSE_NONE;
}

bool hw_fsm_alerts(int from_row, int to_row)
{
	int to = row_state(to_row);

	if(to == row_state(from_row)) return false;
	return to == HW_STATE_STALLED || to == HW_STATE_LOST || to == HW_STATE_CRASHED || to == HW_STATE_FAILED;
}

bool hw_fsm_recovered(int from_row, int to_row)
{
	int from = row_state(from_row);

	return (from == HW_STATE_STALLED || from == HW_STATE_LOST) && hw_state_live(row_state(to_row));
}

bool hw_fsm_false_alarm(int from_row, int to_row, int rel)
{
	int cause = row_cause(from_row);

	return rel == HW_REL_SAME && hw_fsm_recovered(from_row, to_row) &&
			(cause == HW_CAUSE_MISSED_HEARTBEATS || cause == HW_CAUSE_TIMEOUT);
}

bool hw_fsm_flap(int from_row, int to_row, int rel)
{
	return rel == HW_REL_NEWER && hw_fsm_recovered(from_row, to_row);
}

/* ------------------------------------------------------------------ the session */

void hw_sess_init(hw_sess_t *s, const char *id, const char *machine)
{
	memset(s, 0, sizeof(*s));
	s->doc = (hw_session_t)HW_SESSION_INIT;
	snprintf(s->doc.session, sizeof(s->doc.session), "%s", id);
	snprintf(s->doc.machine, sizeof(s->doc.machine), "%s", machine);
	s->doc.claude.resumable = true;
	s->birth_epoch = -1;
	s->state_seq = -1;
	s->data_seq = -1;
	s->timer = (hw_timer_t)HW_TIMER_INIT;
	s->rollup_state = HW_STATE_NONE;
}

/* Frees what the document owns (task, cwd, argv, chain) and leaves the rest as it was: the
 * session's id stays readable after hw_sess_cleanup. */
static void doc_free_heap(hw_session_t *d)
{
	free(d->task);
	d->task = NULL;
	free(d->cwd);
	d->cwd = NULL;
	for(size_t i = 0; i < d->argc; i++) free(d->argv[i]);
	free(d->argv);
	d->argv = NULL;
	d->argc = 0;
	free(d->claude.chain);
	d->claude.chain = NULL;
	d->claude.chain_len = 0;
}

void hw_sess_cleanup(hw_sess_t *s)
{
	if(!s) return;
	doc_free_heap(&s->doc);
}

void hw_sess_adopt(hw_sess_t *s, hw_session_t *doc, int64_t birth_epoch)
{
	doc_free_heap(&s->doc);
	s->doc = *doc;
	*doc = (hw_session_t)HW_SESSION_INIT;
	s->birth_epoch = birth_epoch;
	/* A restarted collector knows only the newest seq; both guards resume from it. */
	s->state_seq = s->doc.seq;
	s->data_seq = s->doc.seq;
}

int hw_sess_row(const hw_sess_t *s)
{
	int r = hw_row_of(s->doc.state, s->doc.cause);

	return r < 0 ? HW_ROW_NONE : r;
}

int64_t hw_sess_grace(const hw_sess_t *s)
{
	int64_t iv = s->doc.interval_ms > 0 ? s->doc.interval_ms : HW_INTERVAL_DEFAULT_MS;

	return s->doc.grace_ms > 0 ? s->doc.grace_ms : HW_GRACE_INTERVALS * iv;
}

static void step_begin(hw_step_t *st, const hw_sess_t *s, int input)
{
	memset(st, 0, sizeof(*st));
	st->input = input;
	st->rel = HW_REL_SAME;
	st->from_row = hw_sess_row(s);
	st->to_row = st->from_row;
	st->from_epoch = s->doc.epoch;
	st->trigger_seq = -1;
}

static int rel_of(const hw_sess_t *s, int64_t epoch)
{
	if(s->doc.state == HW_STATE_NONE || epoch > s->doc.epoch) return HW_REL_NEWER;
	return epoch == s->doc.epoch ? HW_REL_SAME : HW_REL_OLDER;
}

/* Moves s to row `to` at wall time now and fills the derived flags of st. */
static void sess_move(hw_sess_t *s, int to, int64_t now, hw_step_t *st)
{
	int old_state = s->doc.state, state, cause;

	hw_row_split(to, &state, &cause);
	s->doc.state = state;
	s->doc.cause = cause;
	if(state != old_state) s->doc.state_since = now;
	if(state == HW_STATE_COMPLETED || state == HW_STATE_CRASHED || state == HW_STATE_FAILED){
		if(state != old_state) s->doc.ended_at = now;
	}else if(hw_state_live(state)){
		s->doc.ended_at = 0;
	}
	st->to_row = to;
	st->transition = true;
	st->barrier = true;
	st->alert = hw_fsm_alerts(st->from_row, to);
	st->recovered = hw_fsm_recovered(st->from_row, to);
	st->false_alarm = hw_fsm_false_alarm(st->from_row, to, st->rel);
	st->flap = hw_fsm_flap(st->from_row, to, st->rel);
}

/* Runs the table for one input with the message's epoch and seq (-1: none). Returns true
 * when the input was accepted (and applied to state, epoch and seq). */
static bool sess_table(hw_sess_t *s, int input, int64_t epoch, int64_t seq, int64_t now, hw_step_t *st)
{
	int to;

	st->rel = rel_of(s, epoch);
	st->trigger_seq = seq;
	to = hw_fsm_next(st->from_row, input, st->rel);
	if(to == HW_ROW_IGNORE){
		st->stale = true;
		return false;
	}
	if(st->rel == HW_REL_SAME && hw_input_sequenced(input) && seq <= s->state_seq){
		st->stale = true;
		return false;
	}
	if(st->rel == HW_REL_NEWER){
		s->doc.epoch = epoch;
		s->doc.seq = 0;
		s->state_seq = -1;
		s->data_seq = -1;
		/* A new run: the old run's ending no longer describes the session. */
		s->doc.has_exit = false;
		s->doc.exit = (hw_exit_t)HW_EXIT_INIT;
		s->doc.exit_at = 0;
	}
	if(hw_input_sequenced(input)) s->state_seq = seq;
	if(seq > s->doc.seq) s->doc.seq = seq;
	if(to != st->from_row) sess_move(s, to, now, st);
	st->changed = true;
	return true;
}

/* Recomputes deadline_at from the row: the stall deadline for live and agent-stalled rows,
 * the lost deadline (a second grace) for stalled/missed_heartbeats, none otherwise. */
static void sess_deadline(hw_sess_t *s)
{
	int64_t g = hw_sess_grace(s), base = s->doc.last_hb_at;

	switch(hw_sess_row(s)){
	case HW_ROW_STARTING:
	case HW_ROW_ACTIVE:
	case HW_ROW_IDLE:
	case HW_ROW_STALLED_NO_PROGRESS:
	case HW_ROW_STALLED_CHILD:
		s->doc.deadline_at = base + g;
		break;
	case HW_ROW_STALLED_MISSED:
		/* a second grace: from the last heartbeat, and never less than one grace after the
		 * stall was declared (after a start-up grace both would otherwise pass at once) */
		s->doc.deadline_at = base + 2 * g;
		if(s->doc.state_since + g > s->doc.deadline_at) s->doc.deadline_at = s->doc.state_since + g;
		break;
	default:
		s->doc.deadline_at = 0;
		break;
	}
}

/* Ends an apply: version (a hybrid clock: > the previous one and >= the wall clock, so a
 * session recreated later never writes an older version than its past), updated_at,
 * deadline, need_birth. */
static void sess_finish(hw_sess_t *s, int64_t now, hw_step_t *st)
{
	if(st->changed){
		int64_t v = s->doc.version + 1;
		s->doc.version = v > now ? v : now;
		s->doc.updated_at = now;
		sess_deadline(s);
	}
	st->need_birth = s->birth_epoch != s->doc.epoch && hw_state_live(s->doc.state);
}

/* Appends a Claude session id to the chain (dropping the oldest beyond HW_CHAIN_MAX) and
 * makes it the newest, unless it already is. */
static int sess_chain_add(hw_sess_t *s, const char *sid, int source, int64_t now, bool *changed, hw_error_t *err)
{
	hw_session_t *d = &s->doc;
	hw_sid_entry_t *e;

	if(!sid[0] || strcmp(d->claude.sid, sid) == 0) return HW_OK;
	snprintf(d->claude.sid, sizeof(d->claude.sid), "%s", sid);
	*changed = true;
	if(d->claude.chain_len == HW_CHAIN_MAX){
		memmove(d->claude.chain, d->claude.chain + 1, (HW_CHAIN_MAX - 1) * sizeof(*d->claude.chain));
		d->claude.chain_len--;
	}else{
		hw_sid_entry_t *c = realloc(d->claude.chain, (d->claude.chain_len + 1) * sizeof(*c));
		if(!c) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the Claude session chain");
		d->claude.chain = c;
	}
	e = &d->claude.chain[d->claude.chain_len++];
	memset(e, 0, sizeof(*e));
	snprintf(e->sid, sizeof(e->sid), "%s", sid);
	e->at = now;
	e->source = source;
	return HW_OK;
}

/* Keeps the first failure of several independent updates in *rc. */
static void first_error(int *rc, int next)
{
	if(*rc == HW_OK) *rc = next;
}

static int sess_set_argv(hw_sess_t *s, char *const *argv, size_t argc, hw_error_t *err)
{
	hw_session_t *d = &s->doc;
	char **v = NULL;

	if(argc){
		v = calloc(argc, sizeof(*v));
		if(!v) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for argv");
		for(size_t i = 0; i < argc; i++){
			v[i] = strdup(argv[i]);
			if(!v[i]){
				for(size_t j = 0; j < i; j++) free(v[j]);
				free(v);
				return hw_error_set(err, HW_ERR_NOMEM, "out of memory for argv");
			}
		}
	}
	for(size_t i = 0; i < d->argc; i++) free(d->argv[i]);
	free(d->argv);
	d->argv = v;
	d->argc = argc;
	return HW_OK;
}

int hw_sess_birth(hw_sess_t *s, const hw_birth_t *b, int64_t now, hw_step_t *st, hw_error_t *err)
{
	hw_session_t *d = &s->doc;
	int rc = HW_OK;

	step_begin(st, s, HW_IN_BIRTH);
	if(sess_table(s, HW_IN_BIRTH, b->epoch, b->seq, now, st)) d->last_hb_at = now;
	st->barrier = true;
	/* The birth's metadata describes its epoch: merge it once per epoch even when the state
	 * already moved on (a heartbeat overtook the birth), never for another epoch. */
	if(b->epoch == d->epoch && s->birth_epoch != b->epoch && d->state != HW_STATE_NONE){
		bool newer_data = b->seq > s->data_seq;
		bool changed = false;
		snprintf(d->slot, sizeof(d->slot), "%s", b->slot);
		snprintf(d->project, sizeof(d->project), "%s", b->project);
		rc = hw_session_set_cwd(d, b->cwd, err);
		snprintf(d->agent, sizeof(d->agent), "%s", b->agent);
		d->pid = b->pid;
		d->run = b->run;
		d->started_at = now;
		if(newer_data){
			if(b->task[0]) first_error(&rc, hw_session_set_task(d, b->task, rc == HW_OK ? err : NULL));
			d->interval_ms = b->interval_ms;
			d->grace_ms = b->grace_ms;
			s->data_seq = b->seq;
		}
		first_error(&rc, sess_set_argv(s, b->argv, b->argc, rc == HW_OK ? err : NULL));
		/* The birth's chain (the agent's view, oldest first) fills a document that has none: a
		 * collector that lost the session, or never saw its claude_sid events, gets the chain
		 * back. A chain the document has is kept as the events built it (merging two partial
		 * views could reorder it). */
		if(d->claude.chain_len == 0){
			for(size_t i = 0; rc == HW_OK && i < b->chain_len; i++){
				/* the agent's time of the entry (never in the future): the staleness of a
				 * resume is measured from it */
				int64_t at = b->chain[i].at > 0 && b->chain[i].at < now ? b->chain[i].at : now;
				rc = sess_chain_add(s, b->chain[i].sid, b->chain[i].source, at, &changed, err);
			}
		}
		if(rc == HW_OK){
			rc = sess_chain_add(s, b->claude_sid, b->resumed_from[0] ? HW_SID_RESUME : HW_SID_STARTUP, now, &changed,
					err);
		}
		s->birth_epoch = b->epoch;
		st->changed = true;
		st->stale = false;
	}
	sess_finish(s, now, st);
	return rc;
}

int hw_input_of_hb(const hw_hb_t *hb)
{
	switch(hb->state){
	case HW_STATE_IDLE:
		return HW_IN_HB_IDLE;
	case HW_STATE_STALLED:
		return hb->cause == HW_CAUSE_CHILD_STOPPED ? HW_IN_HB_CHILD_STOPPED : HW_IN_HB_NO_PROGRESS;
	default:
		return HW_IN_HB_ACTIVE;
	}
}

void hw_sess_hb(hw_sess_t *s, const hw_hb_t *hb, int64_t now, hw_step_t *st)
{
	hw_session_t *d = &s->doc;
	int input = hw_input_of_hb(hb);

	step_begin(st, s, input);
	if(sess_table(s, input, hb->epoch, hb->seq, now, st)){
		d->last_hb_at = now;
		if(hb->seq > s->data_seq){
			s->data_seq = hb->seq;
			/* out of memory keeps the old task (the next heartbeat carries it again) */
			if(hb->task[0]) (void)hw_session_set_task(d, hb->task, NULL);
			d->interval_ms = hb->interval_ms;
			if(hb->grace_ms > 0) d->grace_ms = hb->grace_ms;
			if(hb->has_progress) d->progress = hb->progress;
			if(hb->has_child) d->pid = hb->child.pid;
		}
	}
	sess_finish(s, now, st);
}

int hw_input_of_ev(const hw_ev_t *ev)
{
	switch(ev->type){
	case HW_EV_IDLE:
		return HW_IN_EV_IDLE;
	case HW_EV_END:
		return HW_IN_EV_END;
	case HW_EV_EXIT:
		if(ev->exit.signal >= 0) return HW_IN_EXIT_SIGNAL;
		return ev->exit.code == 0 ? HW_IN_EXIT_OK : HW_IN_EXIT_CODE;
	default:
		return -1;
	}
}

/* Fields carried by events that do not move the state (task, claude_sid, progress), applied
 * when the event is the newest of the session's epoch. */
static int sess_ev_fields(hw_sess_t *s, const hw_ev_t *ev, int64_t now, hw_step_t *st, hw_error_t *err)
{
	hw_session_t *d = &s->doc;
	bool changed = false;
	int rc = HW_OK;

	if(d->state == HW_STATE_NONE || d->state == HW_STATE_FAILED || ev->epoch != d->epoch || ev->seq <= s->data_seq){
		st->stale = true;
		return HW_OK;
	}
	s->data_seq = ev->seq;
	if(ev->seq > d->seq) d->seq = ev->seq;
	switch(ev->type){
	case HW_EV_TASK:
		if(strcmp(hw_session_task(d), ev->text) != 0){
			rc = hw_session_set_task(d, ev->text, err);
			changed = rc == HW_OK;
		}
		break;
	case HW_EV_CLAUDE_SID:
		rc = sess_chain_add(s, ev->claude_sid, ev->sid_source, now, &changed, err);
		break;
	case HW_EV_PROGRESS:
		d->progress = ev->progress;
		changed = true;
		break;
	case HW_EV_ACTION:
		/* heartwire-agent resume reports its outcome (docs/recovery.md). Replays cannot count
		 * twice: an event applies once, by its (epoch, seq). */
		if(strncmp(ev->text, HW_ACTION_RESUME_FAILED, strlen(HW_ACTION_RESUME_FAILED)) == 0){
			d->claude.resume_failures++;
			changed = true;
		}else if(strncmp(ev->text, HW_ACTION_NOT_RESUMABLE, strlen(HW_ACTION_NOT_RESUMABLE)) == 0){
			d->claude.resumable = false;
			changed = true;
		}
		break;
	default:
		break;
	}
	if(changed) st->changed = true;
	return rc;
}

int hw_sess_ev(hw_sess_t *s, const hw_ev_t *ev, int64_t now, hw_step_t *st, hw_error_t *err)
{
	hw_session_t *d = &s->doc;
	int input = hw_input_of_ev(ev);
	int rc;

	step_begin(st, s, input);
	st->trigger_seq = ev->seq;
	if(input < 0){
		st->rel = rel_of(s, ev->epoch);
		rc = sess_ev_fields(s, ev, now, st, err);
		sess_finish(s, now, st);
		return rc;
	}
	if(sess_table(s, input, ev->epoch, ev->seq, now, st)){
		if(input == HW_IN_EV_IDLE) d->last_hb_at = now;
		if(ev->type == HW_EV_EXIT){
			d->has_exit = true;
			d->exit = ev->exit;
			d->exit_at = now;
		}
		if(ev->seq > s->data_seq) s->data_seq = ev->seq;
		if(input != HW_IN_EV_IDLE) st->barrier = true;
	}
	sess_finish(s, now, st);
	return HW_OK;
}

int hw_input_of_status(const hw_status_t *stt)
{
	switch(stt->status){
	case HW_STATUS_ONLINE:
		return HW_IN_ONLINE;
	case HW_STATUS_LOST:
		return HW_IN_WILL;
	default:
		if(!stt->has_exit) return HW_IN_EV_END;
		if(stt->exit.signal >= 0) return HW_IN_EXIT_SIGNAL;
		return stt->exit.code == 0 ? HW_IN_EXIT_OK : HW_IN_EXIT_CODE;
	}
}

void hw_sess_status(hw_sess_t *s, const hw_status_t *stt, int64_t now, hw_step_t *st)
{
	hw_session_t *d = &s->doc;
	int input = hw_input_of_status(stt);

	step_begin(st, s, input);
	if(sess_table(s, input, stt->epoch, -1, now, st)){
		st->barrier = true;
		if(input == HW_IN_ONLINE) d->last_hb_at = now;
		if(stt->status == HW_STATUS_ENDED && stt->has_exit){
			d->has_exit = true;
			d->exit = stt->exit;
			d->exit_at = now;
		}
	}
	sess_finish(s, now, st);
}

void hw_sess_timer(hw_sess_t *s, int64_t now, hw_step_t *st)
{
	int to;

	step_begin(st, s, HW_IN_TIMER);
	st->trigger_seq = s->doc.seq;
	to = hw_fsm_next(st->from_row, HW_IN_TIMER, HW_REL_SAME);
	if(to == HW_ROW_IGNORE){
		st->stale = true;
	}else{
		if(to != st->from_row) sess_move(s, to, now, st);
		st->changed = true;
	}
	sess_finish(s, now, st);
}

/* ------------------------------------------------------------------ operator commands */

#define REF HW_ROW_REFUSE
#define BSY HW_ROW_BUSY
#define FOP HW_ROW_FAILED_OPERATOR
#define CLR HW_ROW_CLEARED
#define REC HW_ROW_RECOVERING

/* Reading guide: fail ends anything not already ended; clear resets what is recoverable or
 * failed; claim takes what is recoverable; a held claim makes clear and claim wait (busy);
 * release and an expired lease hand a claimed session back as cleared. Completed is final. */
/* clang-format off */
static const signed char fsm_command[HW_ROW__COUNT][HW_CIN__END - HW_IN__COUNT] = {
	/*                                 fail clear claim release expire */
	[HW_ROW_NONE]                  = {REF, REF, REF, IGN, IGN},
	[HW_ROW_STARTING]              = {FOP, REF, REF, IGN, IGN},
	[HW_ROW_ACTIVE]                = {FOP, REF, REF, IGN, IGN},
	[HW_ROW_IDLE]                  = {FOP, REF, REF, IGN, IGN},
	[HW_ROW_RECOVERING]            = {FOP, BSY, BSY, CLR, CLR},
	[HW_ROW_STALLED_MISSED]        = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_STALLED_NO_PROGRESS]   = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_STALLED_CHILD]         = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_LOST_WILL]             = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_LOST_TIMEOUT]          = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_CRASHED_EXIT]          = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_CRASHED_SIGNAL]        = {FOP, CLR, REC, IGN, IGN},
	[HW_ROW_COMPLETED_EXIT]        = {REF, REF, REF, IGN, IGN},
	[HW_ROW_COMPLETED_END]         = {REF, REF, REF, IGN, IGN},
	[HW_ROW_FAILED_OPERATOR]       = {IGN, CLR, REF, IGN, IGN},
	[HW_ROW_FAILED_NOT_RESUMABLE]  = {IGN, CLR, REF, IGN, IGN},
	[HW_ROW_FAILED_RESTART_LIMIT]  = {IGN, CLR, REF, IGN, IGN},
	[HW_ROW_CLEARED]               = {FOP, IGN, REC, IGN, IGN},
};
/* clang-format on */

int hw_fsm_command(int row, int cin)
{
	if(row < 0 || row >= HW_ROW__COUNT || cin < HW_IN__COUNT || cin >= HW_CIN__END) return HW_ROW_REFUSE;
	return fsm_command[row][cin - HW_IN__COUNT];
}

void hw_sess_command(hw_sess_t *s, int cin, int64_t now, hw_step_t *st)
{
	int to;

	step_begin(st, s, cin);
	to = hw_fsm_command(st->from_row, cin);
	st->to_row = to;
	if(to < 0){
		st->stale = to == HW_ROW_IGNORE;
		if(to == HW_ROW_IGNORE) st->to_row = st->from_row;
		return;
	}
	if(to != st->from_row) sess_move(s, to, now, st);
	st->recovered = false;
	st->false_alarm = false;
	st->flap = false;
	st->changed = true;
	st->barrier = true;
	sess_finish(s, now, st);
	st->trigger_seq = s->doc.version;
}
