/* states.h: session states and causes, their stable wire names, and their classes.
 * The transition table itself lives in the collector (collector/sessions.c). */
#ifndef HEARTWIRE_STATES_H
#define HEARTWIRE_STATES_H

#include <stdbool.h>

#include "heartwire/error.h"

typedef enum hw_state {
	HW_STATE_NONE = 0, /* not known yet */
	HW_STATE_STARTING,
	HW_STATE_ACTIVE,
	HW_STATE_IDLE,
	HW_STATE_RECOVERING,
	HW_STATE_STALLED,
	HW_STATE_LOST,
	HW_STATE_CRASHED,
	HW_STATE_COMPLETED,
	HW_STATE_FAILED,
	HW_STATE_CLEARED,
	HW_STATE__COUNT
} hw_state;

typedef enum hw_cause {
	HW_CAUSE_NONE = 0,
	HW_CAUSE_MISSED_HEARTBEATS, /* stalled */
	HW_CAUSE_NO_PROGRESS,       /* stalled */
	HW_CAUSE_CHILD_STOPPED,     /* stalled */
	HW_CAUSE_WILL,              /* lost */
	HW_CAUSE_TIMEOUT,           /* lost */
	HW_CAUSE_EXIT_CODE,         /* crashed (non-zero) or completed (0) */
	HW_CAUSE_SIGNAL,            /* crashed */
	HW_CAUSE_END,               /* completed by an end event */
	HW_CAUSE_OPERATOR,          /* failed, cleared */
	HW_CAUSE_NOT_RESUMABLE,     /* failed */
	HW_CAUSE_RESTART_LIMIT,     /* failed */
	HW_CAUSE__COUNT
} hw_cause;

/* Stable lower-case names ("stalled", "missed_heartbeats"); "none" for the zero values. */
const char *hw_state_name(int state);
const char *hw_cause_name(int cause);

/* Parse a name back; HW_ERR_INVAL naming the value and the allowed names otherwise. */
int hw_state_parse(const char *s, int *state, hw_error_t *err);
int hw_cause_parse(const char *s, int *cause, hw_error_t *err);

/* completed, failed: nothing moves a session out of these but clear (from failed). */
bool hw_state_terminal(int state);
/* stalled, lost, crashed, cleared: may be restarted or resumed. */
bool hw_state_recoverable(int state);
/* starting, active, idle, recovering: the agent is believed to be running it. */
bool hw_state_live(int state);
/* True when cause is one of the causes DESIGN.md allows for state. */
bool hw_state_cause_ok(int state, int cause);

#endif
