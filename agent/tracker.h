/* tracker.h: what the hooks tell about Claude: the Claude session id chain (newest last),
 * prompt and tool counters, idleness, the transcript path; turns each hook into events. */
#ifndef HEARTWIRE_AGENT_TRACKER_H
#define HEARTWIRE_AGENT_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/agentmsg.h"
#include "heartwire/msg.h"

/* Claude session ids kept in memory (the oldest fall off; the collector keeps the full chain). */
#define HW_TRACK_CHAIN_MAX 32
/* Events one hook can produce. */
#define HW_TRACK_EV_MAX 2

/* Caller-owned; zero it with hw_tracker_init(). */
typedef struct hw_tracker {
	hw_sid_entry_t chain[HW_TRACK_CHAIN_MAX]; /* oldest first; at = agent clock, ms */
	size_t chain_len;
	hw_progress_t progress;           /* prompts, tools, last_activity_ts (agent clock) */
	bool idle;                        /* Claude stopped and waits (Stop seen, nothing since) */
	char transcript[HW_PATH_MAX + 1]; /* newest transcript path from the hooks */
	char cwd[HW_PATH_MAX + 1];        /* newest cwd from the hooks */
	uint64_t hooks;                   /* hook calls seen */
	int64_t activity_mono;            /* monotonic ms of the last hook (0: none) */
} hw_tracker_t;

void hw_tracker_init(hw_tracker_t *t);

/* The newest Claude session id, or "" when none is known. Borrowed from t. */
const char *hw_tracker_sid(const hw_tracker_t *t);

/* Applies one hook seen at now_ms (wall clock, for timestamps) and mono_ms (monotonic, for
 * progress) and writes the events it produces into evs (HW_TRACK_EV_MAX entries; the caller
 * fills session, epoch and seq). Returns how many (0..HW_TRACK_EV_MAX). Rules:
 *  - a new session_id (or SessionStart) -> claude_sid (source from SessionStart, else startup
 *    for the first id and resume after), with the transcript path;
 *  - UserPromptSubmit -> prompts + 1, progress event; PostToolUse -> tools + 1, no event;
 *  - Stop -> idle event (idle until the next prompt or tool); SessionStart -> only claude_sid;
 *  - every other hook (PreToolUse, Notification, SessionEnd, PreCompact, ...) -> hook event
 *    with the detail or tool name as text. */
size_t hw_tracker_apply(hw_tracker_t *t, const hw_hook_t *h, int64_t now_ms, int64_t mono_ms, hw_ev_t *evs);

#endif
