/* resume.h: `heartwire-agent resume SESSION`: restarts a recoverable session from its stored
 * state (q/session) under a claim (cmd/claim), resuming its newest Claude session, with a
 * fallback to a fresh Claude session. The pure parts (the command substitution, the
 * resume-or-fresh decision, the options) are separate functions, tested without a server. */
#ifndef HEARTWIRE_AGENT_RESUME_H
#define HEARTWIRE_AGENT_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"

#include "opts.h"

/* The default --resume-args: Claude Code's flag and the newest Claude session id. */
#define HW_RESUME_ARGS_DEFAULT "--resume {claude_sid}"

/* --resume-mode: how the stored command becomes the resume command. */
typedef enum hw_resume_mode {
	HW_RESUME_INSERT = 0, /* drop Claude's resume flags, insert the --resume-args words after argv[0] */
	HW_RESUME_REPLACE,    /* argv[0] followed by the --resume-args words only */
	HW_RESUME_NONE        /* the stored command unchanged (the id is in HEARTWIRE_RESUME_SID) */
} hw_resume_mode;

/* Every option of `resume`: the options of `run` (less --session, --project, --slot and
 * --task, which come from the stored session) and resume's own. */
typedef struct hw_resume_cfg {
	hw_agent_cfg_t run;                /* first member: the run table's offsets point into it */
	char session[HW_ID_MAX + 1];       /* the positional SESSION */
	char resume_args[HW_TEXT_MAX + 1]; /* --resume-args TEMPLATE */
	bool resume_args_set;              /* given in the config file, the environment or argv */
	bool interval_set, grace_set;      /* --interval-ms / --grace-ms given (else the stored ones) */
	int mode;                          /* hw_resume_mode */
	int64_t probe_ms;                  /* --resume-probe-ms: a failure within this long falls back */
	int64_t max_failures;              /* --max-resume-failures */
	int64_t stale_ms;                  /* --stale-ms: 0 = never stale */
	int64_t lease_ms;                  /* --lease-ms: 0 = the collector's default */
	int64_t timeout_ms;                /* --request-timeout-ms: connect + reply */
	char request_username[256];        /* --request-username (default: --username) */
	char request_password[512];        /* HEARTWIRE_REQUEST_PASSWORD / file / --request-password-file */
	char request_password_file[1024];
	char cwd[HW_PATH_MAX + 1]; /* --cwd: instead of the stored working directory */
	bool dry_run;              /* --dry-run: query and print, claim and start nothing */
} hw_resume_cfg_t;

/* Loads the options of `resume` (argv[0] is "resume"; argv may be reordered) from defaults,
 * the config file, HEARTWIRE_* and argv, requires exactly one positional SESSION (a valid id),
 * and derives and checks the run options (hw_agent_opts_derive). Returns HW_OK, or
 * HW_ERR_CONFIG naming the option (exit status 2). With --help set, returns HW_OK at once. */
int hw_resume_opts_load(hw_resume_cfg_t *cfg, int argc, char **argv, hw_error_t *err);

/* Prints `resume --help` to out. */
void hw_resume_usage(FILE *out);

/* True when argv0's base name is "claude". */
bool hw_resume_is_claude(const char *argv0);

/* Checks a --resume-args template: words separated by spaces, each of which may hold the
 * placeholders {claude_sid} and {session}; a '{' that starts neither is refused. At least one
 * word. Returns HW_OK or HW_ERR_CONFIG saying what is wrong (borrowed). */
int hw_resume_template_check(const char *tmpl, hw_error_t *err);

/* A heap argv: n strings, NULL-terminated (v[n] == NULL) when n > 0; free with hw_argv_free(). */
typedef struct hw_argv {
	char **v;
	size_t n;
} hw_argv_t;

/* Frees the strings and the array and zeroes *a. NULL or an empty one is a no-op. */
void hw_argv_free(hw_argv_t *a);

/* How the stored command is turned into commands (all borrowed). */
typedef struct hw_resume_spec {
	int mode;            /* hw_resume_mode */
	const char *tmpl;    /* checked by hw_resume_template_check */
	bool tmpl_set;       /* the template was given: insert it even when argv[0] is not claude */
	const char *session; /* for {session} */
} hw_resume_spec_t;

/* From the stored command argv (argc >= 1 entries, borrowed) builds:
 *  - *fresh: the command without any resume arguments. In insert and replace mode, the words
 *    of an earlier substitution right after argv[0] (the template with any id in place of
 *    {claude_sid}) are dropped and, for claude, so are --resume/-r (and a value that does not
 *    start with '-'), --resume=ID, --continue/-c and --session-id ID (never after "--"); in
 *    none mode, and for a command that cannot be substituted, it is argv unchanged.
 *  - *resume (when sid is a non-empty id and the command can be substituted: mode none, or
 *    claude, or a given template): insert: argv[0], the template words with sid, the rest of
 *    the fresh command; replace: argv[0] and the template words; none: argv unchanged. Else
 *    *resume is left empty (n == 0).
 * Caller frees both with hw_argv_free(). Returns HW_OK; HW_ERR_INVAL when a result would have
 * more than HW_ARGV_MAX words or a word over HW_ARG_MAX bytes, or argc is 0; HW_ERR_NOMEM
 * (nothing to free on failure). */
int hw_resume_commands(char *const *argv, size_t argc, const hw_resume_spec_t *spec, const char *sid, hw_argv_t *resume,
		hw_argv_t *fresh, hw_error_t *err);

/* The decision's limits. */
typedef struct hw_resume_policy {
	int64_t max_failures; /* resume failures at which the session is no longer resumed (>= 1) */
	int64_t stale_ms;     /* the newest Claude session id older than this is not resumed; 0: never */
} hw_resume_policy_t;

enum { HW_RESUME_ACT_RESUME = 0, HW_RESUME_ACT_FRESH };

/* What resume will do, and why, in words for people (and for the not_resumable report). */
typedef struct hw_resume_decision {
	int action;                /* HW_RESUME_ACT_RESUME or HW_RESUME_ACT_FRESH */
	bool mark_not_resumable;   /* report the session not resumable (limit or staleness reached) */
	char sid[HW_ID_MAX + 1];   /* the Claude session id to resume ("" when none is known) */
	int64_t sid_age_ms;        /* how old its chain entry is; -1 when unknown */
	char why[HW_TEXT_MAX + 1]; /* why it starts fresh ("" when it resumes) */
} hw_resume_decision_t;

/* Decides from the stored document doc (borrowed) at wall time now_ms, given whether a resume
 * command could be built (can_resume) and the policy, in this order: no Claude session id
 * known, or no resume command -> fresh; the document says not resumable -> fresh; at least
 * max_failures resume failures -> fresh and mark not resumable; the newest id's chain entry
 * older than stale_ms -> fresh and mark not resumable; else resume the newest id. */
void hw_resume_decide(const hw_session_t *doc, bool can_resume, const hw_resume_policy_t *policy, int64_t now_ms,
		hw_resume_decision_t *out);

/* Runs `heartwire-agent resume SESSION [options]`; argv[0] is "resume". tls as for
 * hw_agent_run. Returns the exit status: the child's as for run (the fresh child's after a
 * fallback), 0 for --dry-run and --help, 1 when the collector refuses (unknown session, not
 * recoverable, conflict, ...) or cannot be reached, 2 for usage errors, 125 for the agent's
 * own failures before a child ran (state directory, working directory). */
int hw_agent_resume(int argc, char **argv, bool tls);

#endif
