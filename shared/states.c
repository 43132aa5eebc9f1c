/* states.c: names and classes of session states and causes. */
#include <string.h>

#include "heartwire/states.h"

/* clang-format off */
static const char *const state_names[HW_STATE__COUNT] = {
	"none", "starting", "active", "idle", "recovering", "stalled", "lost", "crashed", "completed",
	"failed", "cleared",
};
/* clang-format on */

/* clang-format off */
static const char *const cause_names[HW_CAUSE__COUNT] = {
	"none", "missed_heartbeats", "no_progress", "child_stopped", "will", "timeout", "exit_code",
	"signal", "end", "operator", "not_resumable", "restart_limit",
};
/* clang-format on */

const char *hw_state_name(int state)
{
	if(state < 0 || state >= HW_STATE__COUNT) return "unknown";
	return state_names[state];
}

const char *hw_cause_name(int cause)
{
	if(cause < 0 || cause >= HW_CAUSE__COUNT) return "unknown";
	return cause_names[cause];
}

int hw_state_parse(const char *s, int *state, hw_error_t *err)
{
	for(int i = 1; s && i < HW_STATE__COUNT; i++){
		if(strcmp(s, state_names[i]) == 0){
			*state = i;
			return HW_OK;
		}
	}
	return hw_error_set(err, HW_ERR_INVAL,
			"state '%s' is not one of starting, active, idle, recovering, stalled, lost, crashed, "
			"completed, failed, cleared",
			s ? s : "");
}

int hw_cause_parse(const char *s, int *cause, hw_error_t *err)
{
	for(int i = 0; s && i < HW_CAUSE__COUNT; i++){
		if(strcmp(s, cause_names[i]) == 0){
			*cause = i;
			return HW_OK;
		}
	}
	return hw_error_set(err, HW_ERR_INVAL,
			"cause '%s' is not one of none, missed_heartbeats, no_progress, child_stopped, will, "
			"timeout, exit_code, signal, end, operator, not_resumable, restart_limit",
			s ? s : "");
}

bool hw_state_terminal(int state)
{
	return state == HW_STATE_COMPLETED || state == HW_STATE_FAILED;
}

bool hw_state_recoverable(int state)
{
	return state == HW_STATE_STALLED || state == HW_STATE_LOST || state == HW_STATE_CRASHED || state == HW_STATE_CLEARED;
}

bool hw_state_live(int state)
{
	return state == HW_STATE_STARTING || state == HW_STATE_ACTIVE || state == HW_STATE_IDLE || state == HW_STATE_RECOVERING;
}

bool hw_state_cause_ok(int state, int cause)
{
	switch(state){
	case HW_STATE_STALLED:
		return cause == HW_CAUSE_MISSED_HEARTBEATS || cause == HW_CAUSE_NO_PROGRESS || cause == HW_CAUSE_CHILD_STOPPED;
	case HW_STATE_LOST:
		return cause == HW_CAUSE_WILL || cause == HW_CAUSE_TIMEOUT;
	case HW_STATE_CRASHED:
		return cause == HW_CAUSE_EXIT_CODE || cause == HW_CAUSE_SIGNAL;
	case HW_STATE_COMPLETED:
		return cause == HW_CAUSE_EXIT_CODE || cause == HW_CAUSE_END;
	case HW_STATE_FAILED:
		return cause == HW_CAUSE_OPERATOR || cause == HW_CAUSE_NOT_RESUMABLE || cause == HW_CAUSE_RESTART_LIMIT;
	case HW_STATE_CLEARED:
		return cause == HW_CAUSE_OPERATOR;
	default:
		return cause == HW_CAUSE_NONE;
	}
}
