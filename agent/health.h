/* health.h: the agent's own view of the child for each heartbeat: active, idle, or stalled
 * (child stopped, or no progress: no CPU, no hook, no transcript growth for a while). */
#ifndef HEARTWIRE_AGENT_HEALTH_H
#define HEARTWIRE_AGENT_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* One sample of the signals of progress. */
typedef struct hw_health_sample {
	char proc;                /* /proc state letter, '?' when unknown */
	int64_t cpu_ms;           /* child CPU time (with waited-for children) */
	uint64_t hooks;           /* hook calls seen so far */
	int64_t transcript_size;  /* -1 when unknown */
	int64_t transcript_mtime; /* ns since the epoch, -1 when unknown */
	bool idle;                /* Claude said Stop and nothing happened since */
} hw_health_sample_t;

/* Caller-owned state; hw_health_init() first. */
typedef struct hw_health {
	int64_t no_progress_ms; /* 0 disables the no_progress check */
	bool have_last;
	hw_health_sample_t last;
	int64_t progress_mono; /* monotonic ms when progress was last seen */
} hw_health_t;

/* Starts tracking at mono_ms (counts as progress). */
void hw_health_init(hw_health_t *h, int64_t no_progress_ms, int64_t mono_ms);

/* Takes a sample at mono_ms and returns the state and cause for the heartbeat:
 * HW_STATE_STALLED/HW_CAUSE_CHILD_STOPPED when the child is stopped (T, t);
 * HW_STATE_IDLE when Claude is idle (waiting for a prompt is not a stall);
 * HW_STATE_STALLED/HW_CAUSE_NO_PROGRESS when CPU, hooks and the transcript have not moved for
 * no_progress_ms; else HW_STATE_ACTIVE/HW_CAUSE_NONE. */
void hw_health_eval(hw_health_t *h, const hw_health_sample_t *s, int64_t mono_ms, int *state, int *cause);

#endif
