/* agentmsg.h: the payloads only the agent speaks besides birth/hb/ev/status: Claude Code's
 * hook payload (and the small datagram the hook command hands to the agent), the agent's
 * `cmd` topic, and the pause object of state/pause and state/p/{project}. json-c stays in
 * shared/msg_agent.c. */
#ifndef HEARTWIRE_AGENTMSG_H
#define HEARTWIRE_AGENTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/ids.h"
#include "heartwire/msg.h"

/* ------------------------------------------------------------------ Claude Code hooks */

/* Largest hook payload read from stdin (PostToolUse carries the tool's whole response). */
#define HW_HOOK_STDIN_MAX (4 * 1024 * 1024)
/* Nesting accepted in a Claude payload (tool_input/tool_response are arbitrary JSON). */
#define HW_HOOK_DEPTH_MAX 64
/* Largest hook datagram (hw_hook_encode output) the agent accepts. */
#define HW_HOOK_DGRAM_MAX 16384
/* Longest tool name kept (longer ones are cut). */
#define HW_TOOL_MAX 64

/* What the agent needs from one hook call. Strings are empty when absent. */
typedef struct hw_hook {
	char event[HW_HOOK_MAX + 1];      /* hook_event_name: 1-32 of [A-Za-z] ("PostToolUse"); required */
	char session_id[HW_ID_MAX + 1];   /* Claude's session id (session_id), when a valid id */
	char transcript[HW_PATH_MAX + 1]; /* transcript_path, when absolute and <= HW_PATH_MAX */
	char cwd[HW_PATH_MAX + 1];        /* cwd, when absolute and <= HW_PATH_MAX */
	char tool[HW_TOOL_MAX + 1];       /* tool_name (printable ASCII, cut at HW_TOOL_MAX) */
	char detail[HW_TEXT_MAX + 1];     /* Notification "message", SessionEnd "reason",
					   * PreCompact "trigger" (cut at a UTF-8 boundary) */
	int source;                       /* SessionStart "source" as hw_sid_source; -1 when absent or unknown */
	int64_t t0_us;                    /* datagram only: CLOCK_MONOTONIC us when the hook command
					   * started (latency measurement); 0 when absent */
} hw_hook_t;
/* clang-format off */
#define HW_HOOK_INIT {.source = -1}
/* clang-format on */

/* Parses a Claude Code hook payload (len bytes at buf, borrowed; <= HW_HOOK_STDIN_MAX, nesting
 * <= HW_HOOK_DEPTH_MAX). Lenient, because Claude's payload is not ours: unknown keys and any
 * content of tool_input/tool_response are ignored; a field with a wrong type, an invalid
 * session id or a relative path is left empty. Refuses (HW_ERR_DECODE, reason) only what
 * gives nothing usable: EMPTY, TOO_LARGE, BAD_JSON, TOO_DEEP, NOT_OBJECT, and MISSING_KEY /
 * BAD_VALUE for an absent or malformed hook_event_name. *out owns no heap memory. */
int hw_hook_parse(const void *buf, size_t len, hw_hook_t *out, hw_error_t *err);

/* Encodes h (borrowed) as the hook datagram: {"v":1,"hook_event_name":..,"session_id":..,
 * "transcript_path":..,"cwd":..,"tool_name":..,"detail":..,"source":..,"t0_us":..} with empty
 * fields left out. Caller frees *out with free(). HW_ERR_INVAL when h->event is not valid,
 * HW_ERR_NOMEM. */
int hw_hook_encode(const hw_hook_t *h, char **out, size_t *outlen, hw_error_t *err);

/* Decodes a hook datagram strictly (<= HW_HOOK_DGRAM_MAX, "v" 1, valid UTF-8, hook_event_name
 * required, every field checked as in hw_hook_t). HW_ERR_DECODE with a reason otherwise. */
int hw_hook_decode(const void *buf, size_t len, hw_hook_t *out, hw_error_t *err);

/* ------------------------------------------------------------------ pause */

/* A global (state/pause) or project (the "pause" member of state/p/{project}) pause:
 * {"v":1,"paused":true,"reason":"rate limit","resume_at":1763712000000,"by":"ops"}.
 * resume_at null (0 here) means until unpaused. */
typedef struct hw_pause {
	bool paused;
	char reason[HW_TEXT_MAX + 1]; /* optional */
	int64_t resume_at;            /* ms since the Unix epoch; 0 = none (JSON null) */
	char by[HW_ID_MAX + 1];       /* optional: who paused (printable, no spaces required) */
} hw_pause_t;
/* clang-format off */
#define HW_PAUSE_INIT {0}
/* clang-format on */

/* Encodes p (borrowed); caller frees *out with free(). HW_ERR_INVAL for a value the decoder
 * would refuse (reason longer than HW_TEXT_MAX, negative resume_at, bad by). */
int hw_pause_encode(const hw_pause_t *p, char **out, size_t *outlen, hw_error_t *err);

/* Decodes a pause object (<= HW_MSG_MAX_BYTES): "paused" (bool) required; reason (text),
 * resume_at (int >= 0 or null), by (<= 64 printable ASCII) optional; "v" optional but 1 when
 * present. HW_ERR_DECODE with a reason otherwise. *out owns no heap memory. */
int hw_pause_decode(const void *buf, size_t len, hw_pause_t *out, hw_error_t *err);

/* Reads the pause of a project rollup (state/p/{project}, <= HW_DOC_MAX_BYTES): its "pause"
 * member, decoded as by hw_pause_decode; an absent or null "pause" is "not paused". Other
 * members are not checked. HW_ERR_DECODE when the payload is not an object or the pause
 * member is malformed. */
int hw_pause_from_project(const void *buf, size_t len, hw_pause_t *out, hw_error_t *err);

/* True when p pauses starts at now_ms: paused and (no resume_at or resume_at > now_ms). */
bool hw_pause_active(const hw_pause_t *p, int64_t now_ms);

/* ------------------------------------------------------------------ agent commands */

/* The commands m/{machine}/s/{session}/cmd carries to one agent. */
typedef enum hw_agent_cmd {
	HW_CMD_REBIRTH = 0, /* publish birth and status again (a collector that lost track) */
	HW_CMD_STOP,        /* end the session: signal the child (default SIGTERM) */
	HW_CMD_PAUSE,       /* pause or unpause local restarts of this session */
	HW_CMD__COUNT
} hw_agent_cmd;

/* {"v":1,"cmd":"rebirth"|"stop"|"pause", "reason":.., "by":.., "signal":N (stop),
 *  "paused":bool, "resume_at":ms|null (pause)}. */
typedef struct hw_cmd {
	int cmd;                      /* hw_agent_cmd */
	char reason[HW_TEXT_MAX + 1]; /* optional */
	char by[HW_ID_MAX + 1];       /* optional */
	int signal;                   /* stop: 1..64, 0 = the default (SIGTERM) */
	hw_pause_t pause;             /* pause: paused (required), resume_at, reason, by */
} hw_cmd_t;
/* clang-format off */
#define HW_CMD_INIT {0}
/* clang-format on */

/* "rebirth", "stop", "pause"; "unknown" when out of range. */
const char *hw_cmd_name(int cmd);

/* Encodes c (borrowed); caller frees *out with free(). HW_ERR_INVAL for what the decoder
 * would refuse. */
int hw_cmd_encode(const hw_cmd_t *c, char **out, size_t *outlen, hw_error_t *err);

/* Decodes a cmd payload strictly (<= HW_MSG_MAX_BYTES, "v" 1, "cmd" one of the names,
 * "paused" required for pause, "signal" 1..64). HW_ERR_DECODE with a reason otherwise. */
int hw_cmd_decode(const void *buf, size_t len, hw_cmd_t *out, hw_error_t *err);

/* Copies at most max bytes of the n bytes at src into dst (max + 1 bytes), cutting at a UTF-8
 * character boundary, and NUL-terminates. Returns the bytes copied. */
size_t hw_text_cut(char *dst, size_t max, const char *src, size_t n);

#endif
