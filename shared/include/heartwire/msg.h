/* msg.h: the message codec: agent messages (birth, hb, ev, status), the session document,
 * query/command requests and their replies, to and from compact JSON (json-c, confined to
 * shared/msg*.c).
 *
 * Decoders are strict. They take a buffer and its length (MQTT payloads are not
 * NUL-terminated) and refuse, with HW_ERR_DECODE and hw_error_t.reason set:
 *   HW_R_EMPTY        zero-length payload
 *   HW_R_TOO_LARGE    payload over its limit (HW_MSG_MAX_BYTES for agent messages and
 *                     requests), or a string over its length limit (text, path, argv entry)
 *   HW_R_BAD_UTF8     invalid UTF-8 (overlong, surrogate, > U+10FFFF), a NUL byte, a \u0000
 *                     escape or a lone surrogate escape
 *   HW_R_BAD_JSON     not parseable JSON, a raw control character in a string, trailing garbage
 *   HW_R_TOO_DEEP     nesting deeper than HW_MSG_MAX_DEPTH (the top-level object is depth 1)
 *   HW_R_NOT_OBJECT   the top level is not an object
 *   HW_R_BAD_VERSION  "v" missing or not the integer 1
 *   HW_R_MISSING_KEY  a required key is absent
 *   HW_R_WRONG_TYPE   a key has the wrong JSON type (a double or a string where an integer is
 *                     meant, ...)
 *   HW_R_BAD_KEY      any key, at any depth, is empty, starts with '$' or contains '.'
 *   HW_R_BAD_ID       an id is not 1-64 of [A-Za-z0-9._:-]
 *   HW_R_OUT_OF_RANGE an integer is outside its range (or outside int64)
 *   HW_R_BAD_VALUE    a string is not one of its allowed values, or values contradict
 *                     each other (exit with both code and signal)
 *   HW_R_TOO_MANY     an array or object has too many members
 * Unknown (but safe) keys are ignored, for forward compatibility.
 *
 * Encoders produce compact JSON that the matching decoder accepts and that decodes back to
 * the same struct: every encoder checks its output with its decoder and returns HW_ERR_INVAL
 * (with the decoder's reason and message) for a struct that would be refused.
 *
 * Strings in structs are NUL-terminated, fixed-size buffers; an empty string means "absent"
 * for optional keys. argv and chain arrays are heap-allocated by decoders and freed by the
 * matching _cleanup function. */
#ifndef HEARTWIRE_MSG_H
#define HEARTWIRE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/ids.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"

#define HW_MSG_VERSION 1
#define HW_MSG_MAX_BYTES 65536                /* agent messages and requests */
#define HW_MSG_MAX_DEPTH 8                    /* nesting levels; the top-level object is level 1 */
#define HW_DOC_MAX_BYTES (1024 * 1024)        /* a session document */
#define HW_REPLY_MAX_BYTES (64 * 1024 * 1024) /* a reply (a page of up to 1000 documents) */
#define HW_REPLY_MAX_DEPTH 16
#define HW_MSG_MAX_MEMBERS 256     /* members of any one object (agent messages, requests, documents) */
#define HW_REPLY_MAX_MEMBERS 65536 /* members of any one object in a reply */
#define HW_TEXT_MAX 512            /* task and event text, bytes */
#define HW_PATH_MAX 1024           /* cwd, transcript, bytes */
#define HW_ARGV_MAX 256            /* argv entries */
#define HW_ARG_MAX 4096            /* bytes of one argv entry */
#define HW_AGENT_MAX 64            /* agent version string: printable ASCII */
#define HW_HOOK_MAX 32             /* hook event name: [A-Za-z] */
#define HW_CHAIN_MAX 256           /* Claude session id chain entries in a session document */
#define HW_CURSOR_MAX 256          /* opaque paging cursor */
#define HW_REPLY_TO_MAX 256        /* reply topic of an MQTT 3.1.1 request */
#define HW_CORR_MAX 128            /* correlation string of an MQTT 3.1.1 request */
#define HW_INTERVAL_MIN_MS 100
#define HW_INTERVAL_MAX_MS 3600000
#define HW_GRACE_MAX_MS 86400000 /* grace_ms: 0 (default, 3 intervals) .. 1 day */
#define HW_PID_MAX 4194304       /* 2^22, Linux's pid_max ceiling */
#define HW_LIMIT_DEFAULT 100
#define HW_LIMIT_MAX 1000
#define HW_LEASE_MAX_MS 86400000 /* lease_ms: 1 .. 1 day; 0 = collector default */

/* ------------------------------------------------------------------ small parts */

/* A child's exit: exactly one of code (0..255) and signal (1..64) is >= 0, the other -1
 * (JSON null). */
typedef struct hw_exit {
	int code;
	int signal;
} hw_exit_t;
/* clang-format off */
#define HW_EXIT_INIT {-1, -1}
/* clang-format on */

/* Hook and transcript activity counters. In the session document last_activity_ts is
 * written as "last_activity_at". All >= 0. */
typedef struct hw_progress {
	int64_t prompts;
	int64_t tools;
	int64_t last_activity_ts;
} hw_progress_t;

/* The supervised child as the agent sees it in /proc. */
typedef struct hw_child {
	int pid;        /* 1..HW_PID_MAX */
	char proc;      /* /proc state letter: R S D T t Z X I ... (one ASCII letter) */
	int64_t cpu_ms; /* user + system CPU time, >= 0 */
} hw_child_t;

typedef enum hw_ev_type {
	HW_EV_TASK = 0,
	HW_EV_CLAUDE_SID,
	HW_EV_HOOK,
	HW_EV_IDLE,
	HW_EV_PROGRESS,
	HW_EV_ACTION,
	HW_EV_GOAL,
	HW_EV_END,
	HW_EV_EXIT,
	HW_EV__COUNT
} hw_ev_type;

/* Why Claude's session id changed (Claude Code's SessionStart "source"). */
typedef enum hw_sid_source { HW_SID_STARTUP = 0, HW_SID_RESUME, HW_SID_COMPACT, HW_SID_CLEAR, HW_SID__COUNT } hw_sid_source;

/* The agent-side status (retained m/{machine}/s/{session}/status; the will says lost). */
typedef enum hw_status_kind { HW_STATUS_ONLINE = 0, HW_STATUS_LOST, HW_STATUS_ENDED, HW_STATUS__COUNT } hw_status_kind;

/* Stable wire names ("claude_sid", "compact", "ended"); "unknown" when out of range. */
const char *hw_ev_type_name(int type);
const char *hw_sid_source_name(int source);
const char *hw_status_name(int status);

/* Parse a wire name (NUL-terminated, borrowed). HW_ERR_INVAL with reason HW_R_BAD_VALUE and a
 * message listing the allowed names otherwise. */
int hw_ev_type_parse(const char *s, int *type, hw_error_t *err);
int hw_sid_source_parse(const char *s, int *source, hw_error_t *err);
int hw_status_parse(const char *s, int *status, hw_error_t *err);

/* ------------------------------------------------------------------ birth */

/* One Claude session id in the chain, oldest first (the session document's claude.chain and
 * the birth's chain). */
typedef struct hw_sid_entry {
	char sid[HW_ID_MAX + 1];
	int64_t at; /* ms since the Unix epoch (collector clock in the document, agent clock in a birth) */
	int source; /* hw_sid_source */
} hw_sid_entry_t;

/* m/{machine}/s/{session}/birth. Required: session, machine, epoch, seq, ts, interval_ms
 * (HW_INTERVAL_MIN_MS..HW_INTERVAL_MAX_MS). Optional (empty / 0 = absent): slot, project,
 * claude_sid, resumed_from (ids), task (<= HW_TEXT_MAX bytes), cwd (<= HW_PATH_MAX), pid
 * (1..HW_PID_MAX), grace_ms (0..HW_GRACE_MAX_MS), agent (<= 64 printable ASCII), run (>= 0),
 * argv (<= HW_ARGV_MAX strings of <= HW_ARG_MAX bytes), claim_token (id: the fencing token of
 * the claim a restarter holds; lets the session move to this machine), chain (<= HW_CHAIN_MAX
 * entries {sid, at, source}, oldest first: the Claude session ids the agent knows, so a
 * collector that lost the session gets the whole chain back). */
typedef struct hw_birth {
	char session[HW_ID_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char slot[HW_ID_MAX + 1];
	char project[HW_ID_MAX + 1];
	char task[HW_TEXT_MAX + 1];
	char cwd[HW_PATH_MAX + 1];
	char claude_sid[HW_ID_MAX + 1];
	char agent[HW_AGENT_MAX + 1];
	char resumed_from[HW_ID_MAX + 1];
	int64_t epoch;
	int64_t seq;
	int64_t ts;
	int64_t pid;
	int64_t interval_ms;
	int64_t grace_ms;
	int64_t run;
	char **argv; /* argc NUL-terminated strings; decoder-allocated, or borrowed for encode */
	size_t argc;
	char claim_token[HW_ID_MAX + 1];
	hw_sid_entry_t *chain; /* chain_len entries, oldest first; decoder-allocated, or borrowed for encode */
	size_t chain_len;      /* <= HW_CHAIN_MAX */
} hw_birth_t;
/* clang-format off */
#define HW_BIRTH_INIT {{0}}
/* clang-format on */

/* Encodes b (borrowed) into *out (NUL-terminated compact JSON, *outlen bytes without the NUL;
 * outlen may be NULL). Caller frees *out with free(). HW_ERR_INVAL (reason set) when b would
 * be refused by hw_birth_decode (including a result over HW_MSG_MAX_BYTES), HW_ERR_NOMEM. */
int hw_birth_encode(const hw_birth_t *b, char **out, size_t *outlen, hw_error_t *err);

/* Decodes len bytes at buf (borrowed, need not be NUL-terminated) into *out, which is
 * overwritten without being freed first. On success the caller owns out->argv and out->chain
 * and frees them with hw_birth_cleanup(); on failure *out is left cleaned (HW_BIRTH_INIT) and
 * nothing needs freeing. HW_ERR_DECODE with a reason, or HW_ERR_NOMEM. */
int hw_birth_decode(const void *buf, size_t len, hw_birth_t *out, hw_error_t *err);

/* Frees a decoded birth's argv and chain and resets *b to HW_BIRTH_INIT. NULL is a no-op. Do
 * not call it on a struct whose argv or chain you own yourself. */
void hw_birth_cleanup(hw_birth_t *b);

/* ------------------------------------------------------------------ hb */

/* m/{machine}/s/{session}/hb. Required: session, epoch, seq, ts, interval_ms. Optional: state
 * (active|idle|stalled; absent = active), cause (none|no_progress|child_stopped; absent =
 * none), task, grace_ms, child {pid, proc, cpu_ms}, progress {prompts, tools,
 * last_activity_ts} (all members of child and progress required), dropped (>= 0: events the
 * agent's buffer dropped since it started; absent = 0). */
typedef struct hw_hb {
	char session[HW_ID_MAX + 1];
	char task[HW_TEXT_MAX + 1];
	int64_t epoch;
	int64_t seq;
	int64_t ts;
	int64_t interval_ms;
	int64_t grace_ms;
	int state; /* hw_state: HW_STATE_ACTIVE, HW_STATE_IDLE or HW_STATE_STALLED */
	int cause; /* hw_cause: HW_CAUSE_NONE, HW_CAUSE_NO_PROGRESS or HW_CAUSE_CHILD_STOPPED */
	bool has_child;
	hw_child_t child;
	bool has_progress;
	hw_progress_t progress;
	int64_t dropped; /* events dropped by the agent's buffer since it started; 0 is not written */
} hw_hb_t;
/* clang-format off */
#define HW_HB_INIT {.state = HW_STATE_ACTIVE, .cause = HW_CAUSE_NONE}
/* clang-format on */

/* As hw_birth_encode/decode; an hb owns no heap memory, hw_hb_cleanup only resets it. */
int hw_hb_encode(const hw_hb_t *hb, char **out, size_t *outlen, hw_error_t *err);
int hw_hb_decode(const void *buf, size_t len, hw_hb_t *out, hw_error_t *err);
void hw_hb_cleanup(hw_hb_t *hb);

/* ------------------------------------------------------------------ ev */

/* m/{machine}/s/{session}/ev. Required: session, epoch, seq, ts, type, and per type:
 *   task        "task" (text, -> text)
 *   claude_sid  "claude_sid" (id) and "source" (startup|resume|compact|clear)
 *   hook        "hook" (1..32 of [A-Za-z])
 *   progress    "progress" {prompts, tools, last_activity_ts}
 *   exit        "exit" {"code": int|null, "signal": int|null}, exactly one non-null
 *   idle, action, goal, end: nothing more
 * Optional on every type: "text" (<= HW_TEXT_MAX; not used by task) and "transcript"
 * (<= HW_PATH_MAX). */
typedef struct hw_ev {
	char session[HW_ID_MAX + 1];
	int64_t epoch;
	int64_t seq;
	int64_t ts;
	int type;                         /* hw_ev_type */
	char text[HW_TEXT_MAX + 1];       /* task text (task), detail (idle, action, goal, end, ...) */
	char claude_sid[HW_ID_MAX + 1];   /* claude_sid */
	int sid_source;                   /* hw_sid_source, claude_sid */
	char hook[HW_HOOK_MAX + 1];       /* hook event name ("PreToolUse"), hook */
	char transcript[HW_PATH_MAX + 1]; /* any type */
	hw_progress_t progress;           /* progress */
	hw_exit_t exit;                   /* exit */
} hw_ev_t;
/* clang-format off */
#define HW_EV_INIT {.exit = HW_EXIT_INIT}
/* clang-format on */

/* Prefixes of `action` event texts that mean something to the collector (written by
 * `heartwire-agent resume`, docs/recovery.md): "resume_failed: ..." counts one failed resume
 * of the session's newest Claude session (claude.resume_failures + 1); "not_resumable: ..."
 * marks the session not resumable (claude.resumable = false). The rest of the text is for
 * people. */
#define HW_ACTION_RESUME_FAILED "resume_failed:"
#define HW_ACTION_NOT_RESUMABLE "not_resumable:"

/* As hw_birth_encode/decode; an ev owns no heap memory, hw_ev_cleanup only resets it. */
int hw_ev_encode(const hw_ev_t *ev, char **out, size_t *outlen, hw_error_t *err);
int hw_ev_decode(const void *buf, size_t len, hw_ev_t *out, hw_error_t *err);
void hw_ev_cleanup(hw_ev_t *ev);

/* ------------------------------------------------------------------ status */

/* m/{machine}/s/{session}/status (retained). Required: session, epoch, status; ts for online
 * and ended (optional for lost, 0 = absent); exit for ended (and only for ended). */
typedef struct hw_status {
	char session[HW_ID_MAX + 1];
	int status; /* hw_status_kind */
	int64_t epoch;
	int64_t ts;
	bool has_exit;
	hw_exit_t exit;
} hw_status_t;
/* clang-format off */
#define HW_STATUS_INIT {.exit = HW_EXIT_INIT}
/* clang-format on */

/* As hw_birth_encode/decode; a status owns no heap memory, hw_status_cleanup only resets it. */
int hw_status_encode(const hw_status_t *st, char **out, size_t *outlen, hw_error_t *err);
int hw_status_decode(const void *buf, size_t len, hw_status_t *out, hw_error_t *err);
void hw_status_cleanup(hw_status_t *st);

/* Checks that a decoded agent message belongs to the topic it came on: topic->id must equal
 * session and, when machine is not NULL (birth), topic->machine must equal machine. All
 * borrowed. HW_ERR_DECODE with HW_R_MISMATCH otherwise. */
int hw_msg_check_topic(const hw_topic_t *topic, const char *session, const char *machine, hw_error_t *err);

/* ------------------------------------------------------------------ session document */

/* The session document (DESIGN.md): MongoDB `sessions` and the retained state/s/{session}.
 * JSON: {"v":1,"session":..,"machine":..,"slot":..,"project":..,"task":..,"state":"stalled",
 * "cause":"missed_heartbeats","state_since":..,"epoch":..,"seq":..,"run":..,"started_at":..,
 * "last_hb_at":..,"interval_ms":..,"grace_ms":..,"deadline_at":..,"pid":..,"cwd":..,
 * "argv":[..],"agent":..,"claude":{"sid":..,"chain":[{"sid":..,"at":..,"source":"resume"}],
 * "resumable":true,"resume_failures":0},"progress":{"prompts":..,"tools":..,
 * "last_activity_at":..},"exit":{"code":..,"signal":..,"at":..},"ended_at":..,
 * "recovery":{"claimed_by":..,"lease_until":..,"token":..,"attempts":..},"version":..,
 * "updated_at":..}. Times are ms since the Unix epoch, 0 = never. Empty strings are omitted;
 * "exit" only when has_exit. Required on decode: v, session, machine, state, epoch, version,
 * updated_at.
 * task and cwd are sized to fit (a tracked session usually holds a few dozen bytes of each,
 * and the collector keeps one document per session): NULL means empty, so read them with
 * hw_session_task() and hw_session_cwd(), and change an owned document's with
 * hw_session_set_task() and hw_session_set_cwd(). */
typedef struct hw_session {
	char session[HW_ID_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char slot[HW_ID_MAX + 1];
	char project[HW_ID_MAX + 1];
	char *task; /* <= HW_TEXT_MAX bytes or NULL; heap (decoder) or borrowed (encoder) */
	char *cwd;  /* <= HW_PATH_MAX bytes or NULL; heap (decoder) or borrowed (encoder) */
	char agent[HW_AGENT_MAX + 1];
	int state; /* hw_state */
	int cause; /* hw_cause */
	int64_t state_since;
	int64_t epoch;
	int64_t seq;
	int64_t run;
	int64_t started_at;
	int64_t last_hb_at;
	int64_t interval_ms; /* 0 (unknown) or HW_INTERVAL_MIN_MS..HW_INTERVAL_MAX_MS */
	int64_t grace_ms;    /* 0..HW_GRACE_MAX_MS */
	int64_t deadline_at;
	int64_t pid; /* 0 (unknown) or 1..HW_PID_MAX */
	char **argv; /* heap (decoder) or borrowed (encoder) */
	size_t argc;
	struct {
		char sid[HW_ID_MAX + 1]; /* newest Claude session id */
		hw_sid_entry_t *chain;   /* heap (decoder) or borrowed (encoder), oldest first */
		size_t chain_len;        /* <= HW_CHAIN_MAX */
		bool resumable;
		int64_t resume_failures;
	} claude;
	hw_progress_t progress;
	bool has_exit;
	hw_exit_t exit;
	int64_t exit_at;
	int64_t ended_at;
	struct {
		char claimed_by[HW_ID_MAX + 1];
		int64_t lease_until;
		char token[HW_ID_MAX + 1];
		int64_t attempts;
	} recovery;
	int64_t version;
	int64_t updated_at;
} hw_session_t;
/* clang-format off */
#define HW_SESSION_INIT {.exit = HW_EXIT_INIT}
/* clang-format on */

/* Encodes s (borrowed) as the retained session document; caller frees *out with free().
 * HW_ERR_INVAL (reason set) when hw_session_decode would refuse it, HW_ERR_NOMEM. */
int hw_session_encode(const hw_session_t *s, char **out, size_t *outlen, hw_error_t *err);

/* Decodes a session document (<= HW_DOC_MAX_BYTES, depth <= HW_MSG_MAX_DEPTH). On success the
 * caller frees task, cwd, argv and claude.chain with hw_session_cleanup(); on failure nothing
 * needs freeing. An absent or empty task or cwd decodes as NULL (no allocation). */
int hw_session_decode(const void *buf, size_t len, hw_session_t *out, hw_error_t *err);

/* Frees a decoded session's task, cwd, argv and chain and resets *s to HW_SESSION_INIT.
 * NULL: no-op. */
void hw_session_cleanup(hw_session_t *s);

/* The session's task and working directory, "" when it has none (NULL). Borrowed from s until
 * it changes. */
static inline const char *hw_session_task(const hw_session_t *s)
{
	return s->task ? s->task : "";
}

static inline const char *hw_session_cwd(const hw_session_t *s)
{
	return s->cwd ? s->cwd : "";
}

/* Sets the task (<= HW_TEXT_MAX bytes) or cwd (<= HW_PATH_MAX bytes) of a document that owns
 * its strings (decoded, or built only with these setters; never one that borrows them for the
 * encoder) to a copy of text (borrowed). NULL or "" frees the old string and leaves NULL. An
 * equal text changes nothing and allocates nothing; a different one reallocates only when the
 * length changes. HW_ERR_INVAL when text is too long, HW_ERR_NOMEM; on failure the old value
 * is kept. */
int hw_session_set_task(hw_session_t *s, const char *text, hw_error_t *err);
int hw_session_set_cwd(hw_session_t *s, const char *path, hw_error_t *err);

/* ------------------------------------------------------------------ requests */

/* The {verb} of q/{verb} (queries) and cmd/{verb} (commands). */
typedef enum hw_verb {
	HW_VERB_NONE = 0,
	HW_VERB_SESSIONS, /* q: filters states, project, machine, slot, updated_since; limit, cursor */
	HW_VERB_SESSION,  /* q: session (required) */
	HW_VERB_EVENTS,   /* q: session (optional), updated_since, limit, cursor */
	HW_VERB_PROJECTS, /* q: project (optional), limit, cursor */
	HW_VERB_MACHINES, /* q: machine (optional), limit, cursor */
	HW_VERB_STATS,    /* q: project, machine (optional) */
	HW_VERB_FAIL,     /* cmd: session (required), reason */
	HW_VERB_CLEAR,    /* cmd: session (required), reason */
	HW_VERB_CLAIM,    /* cmd: session, claimant (required), lease_ms */
	HW_VERB_RELEASE,  /* cmd: session, token (required) */
	HW_VERB_PAUSE,    /* cmd: project (optional; absent = global), reason, resume_at */
	HW_VERB_UNPAUSE,  /* cmd: project (optional) */
	HW_VERB__COUNT
} hw_verb;

/* "sessions", "claim", ...; "unknown" when out of range. */
const char *hw_verb_name(int verb);
/* True for the cmd/ verbs (fail .. unpause), false for q/ verbs. */
bool hw_verb_is_command(int verb);
/* Parses a verb name (borrowed) of the given topic kind (HW_T_QUERY or HW_T_COMMAND; any other
 * kind accepts both). HW_ERR_INVAL with reason HW_R_BAD_VALUE for an unknown verb or one of
 * the other kind. */
int hw_verb_parse(int kind, const char *name, int *verb, hw_error_t *err);

/* Every parameter any verb takes; fields a verb does not use are ignored. JSON keys are the
 * field names; states is an array of state names ("states":["stalled","lost"]). */
typedef struct hw_request {
	int verb;        /* hw_verb (from the topic, not the payload) */
	unsigned states; /* bitmask of 1u << hw_state; 0 = any */
	char project[HW_ID_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char slot[HW_ID_MAX + 1];
	char session[HW_ID_MAX + 1];
	int64_t updated_since;              /* ms, 0 = no filter */
	int64_t limit;                      /* 1..HW_LIMIT_MAX, default HW_LIMIT_DEFAULT */
	char cursor[HW_CURSOR_MAX + 1];     /* opaque, from a previous reply */
	char reason[HW_TEXT_MAX + 1];       /* fail, clear, pause */
	int64_t resume_at;                  /* pause: ms, 0 = until unpaused */
	int64_t lease_ms;                   /* claim: 0 = collector default, else 1..HW_LEASE_MAX_MS */
	char token[HW_ID_MAX + 1];          /* release: the fencing token from claim */
	char claimant[HW_ID_MAX + 1];       /* claim: who restarts it (a machine id) */
	char reply_to[HW_REPLY_TO_MAX + 1]; /* MQTT 3.1.1 clients: reply topic, no wildcards */
	char corr[HW_CORR_MAX + 1];         /* MQTT 3.1.1 clients: correlation string */
} hw_request_t;
/* clang-format off */
#define HW_REQUEST_INIT {.limit = HW_LIMIT_DEFAULT}
/* clang-format on */

/* Encodes req's parameters (borrowed; verb must be set, it selects the required ones) as the
 * payload of q/{verb} or cmd/{verb}; caller frees *out with free(). HW_ERR_INVAL (reason set)
 * when hw_request_decode would refuse it. */
int hw_request_encode(const hw_request_t *req, char **out, size_t *outlen, hw_error_t *err);

/* Decodes a request payload (<= HW_MSG_MAX_BYTES) for verb `verb` (the topic's {verb} level,
 * borrowed) arriving on a topic of kind `kind` (HW_T_QUERY, HW_T_COMMAND, or 0 for either).
 * "v" is optional but must be 1 when present. An unknown verb, or one of the other kind, is
 * HW_R_BAD_VALUE; a missing required parameter is HW_R_MISSING_KEY; a reply_to with '+' or
 * '#' is HW_R_WILDCARD. *out owns no heap memory. */
int hw_request_decode(int kind, const char *verb, const void *buf, size_t len, hw_request_t *out, hw_error_t *err);

/* ------------------------------------------------------------------ replies */

/* Stable error codes of replies; names from hw_reply_code_name ("unknown_session"). */
typedef enum hw_reply_code {
	HW_REPLY_BAD_REQUEST = 0,
	HW_REPLY_UNKNOWN_SESSION,
	HW_REPLY_BAD_FILTER,
	HW_REPLY_CONFLICT,
	HW_REPLY_NOT_RECOVERABLE,
	HW_REPLY_FORBIDDEN,
	HW_REPLY_INTERNAL,
	HW_REPLY_UNAVAILABLE,
	HW_REPLY__COUNT
} hw_reply_code;

/* The stable name; "internal" when out of range. */
const char *hw_reply_code_name(int code);
/* Parses a name; HW_ERR_INVAL with HW_R_BAD_VALUE when unknown. */
int hw_reply_code_parse(const char *name, int *code, hw_error_t *err);
/* The reply code for a heartwire return code: DECODE/INVAL -> bad_request, NOTFOUND ->
 * unknown_session, CONFLICT -> conflict, STATE -> not_recoverable, FORBIDDEN -> forbidden,
 * STORE/AGAIN/TIMEOUT/MQTT -> unavailable, anything else -> internal. */
int hw_reply_code_from_rc(int rc);

/* Encodes {"ok":true, ...members of data_json...} into *out (caller frees with free()).
 * data_json (borrowed, NUL-terminated) is a JSON object whose members are copied in, or NULL
 * for none; it must not hold "ok", "error" or "corr", and must pass the strict reader that
 * hw_reply_decode uses (with room for "ok" and "corr"), so every encoded reply decodes. corr (borrowed, NULL or "" for none,
 * <= HW_CORR_MAX) is added as "corr" for MQTT 3.1.1 requesters. HW_ERR_INVAL for a data_json
 * that is not an object or holds a reserved key, HW_ERR_NOMEM. */
int hw_reply_encode_ok(const char *data_json, const char *corr, char **out, size_t *outlen, hw_error_t *err);

/* Encodes {"ok":false,"error":{"code":"<name>","message":"<message>"}} (plus "corr" when
 * given). message (borrowed) is truncated to HW_TEXT_MAX bytes at a UTF-8 boundary; invalid
 * UTF-8 in it is replaced by '?'. HW_ERR_INVAL for a code out of range. */
int hw_reply_encode_error(int code, const char *message, const char *corr, char **out, size_t *outlen, hw_error_t *err);

/* A decoded reply. */
typedef struct hw_reply {
	bool ok;
	int code;                      /* hw_reply_code when !ok; -1 for a name this build does not know */
	char code_name[HW_ID_MAX + 1]; /* the code's name as received */
	char message[HW_TEXT_MAX + 1];
	char corr[HW_CORR_MAX + 1];
	char *data; /* compact JSON object of the other members ("{}" if none); heap */
	size_t data_len;
} hw_reply_t;
/* clang-format off */
#define HW_REPLY_INIT {.code = -1}
/* clang-format on */

/* Decodes a reply (<= HW_REPLY_MAX_BYTES, depth <= HW_REPLY_MAX_DEPTH, objects of at most
 * HW_REPLY_MAX_MEMBERS members): "ok" (bool) required;
 * when false, "error" {code (a name of [a-z_]), message} required. On success the caller frees
 * out->data with hw_reply_cleanup(). */
int hw_reply_decode(const void *buf, size_t len, hw_reply_t *out, hw_error_t *err);

/* Frees data and resets *r to HW_REPLY_INIT. NULL is a no-op. */
void hw_reply_cleanup(hw_reply_t *r);

/* Reading the members of a decoded reply's data (r borrowed; key borrowed, a top-level
 * member name). Each returns HW_ERR_NOTFOUND when the member is absent (or JSON null), and
 * HW_ERR_DECODE with HW_R_WRONG_TYPE when it has another type. */

/* The member as compact JSON in *out (NUL-terminated; caller frees with free()), *outlen its
 * length (outlen may be NULL): e.g. the session document of a q/session reply. HW_ERR_NOMEM. */
int hw_reply_member(const hw_reply_t *r, const char *key, char **out, size_t *outlen, hw_error_t *err);

/* A string member copied into dst (size bytes, NUL included); HW_ERR_DECODE with
 * HW_R_TOO_LARGE when it does not fit. */
int hw_reply_string(const hw_reply_t *r, const char *key, char *dst, size_t size, hw_error_t *err);

/* An integer member (a JSON integer, not a double or a string). */
int hw_reply_int(const hw_reply_t *r, const char *key, int64_t *out, hw_error_t *err);

#endif
