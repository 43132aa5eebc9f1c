/* run.h: `heartwire-agent run`: supervises one session and makes its life visible over MQTT. */
#ifndef HEARTWIRE_AGENT_RUN_H
#define HEARTWIRE_AGENT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/msg.h"

#include "opts.h"
#include "supervise.h"

/* Exit status when a pause is set and --when-paused fail. */
#define HW_EXIT_PAUSED 3
/* Exit status for usage errors. */
#define HW_EXIT_USAGE 2

/* Runs `heartwire-agent run [options] -- CMD [ARGS...]`; argv[0] is "run". tls says whether
 * this program's MQTT library speaks TLS; when it does not and the broker is mqtts://, the
 * options are checked and then heartwire-agent-tls (next to this program) is executed with the
 * same arguments. Returns the process exit status: the child's (128 + N for a signal), 2 for
 * usage errors, 3 when paused with --when-paused fail, 125 for the agent's own failures before
 * the child started, 126/127 when CMD cannot be executed / is not found. */
int hw_agent_run(int argc, char **argv, bool tls);

/* Prints `run --help` to out. */
void hw_agent_run_usage(FILE *out);

/* What `heartwire-agent resume` asks of a run. The pointers are borrowed for the call. */
typedef struct hw_run_plan {
	int64_t run;                 /* the first child's run number (the stored run + 1) */
	const char *claim_token;     /* the claim's fencing token, carried by every birth; "" for none */
	const char *resume_sid;      /* the Claude session id the first child resumes (resumed_from of
				      * its birth, HEARTWIRE_RESUME_SID in its environment); "" when it
				      * starts fresh */
	const hw_sid_entry_t *chain; /* the stored Claude chain, oldest first: the tracker starts from
				      * it, so the births carry it */
	size_t chain_len;
	char **fresh; /* the fresh command to fall back to when the resume fails; NULL: none */
	int fresh_argc;
	int64_t probe_ms;     /* a resumed child that fails within this long is a failed resume (0: never) */
	int64_t failures;     /* resume failures counted so far (claude.resume_failures) */
	int64_t max_failures; /* at this many the session is reported not resumable */
	const char *note;     /* an action event text sent after the first birth, or NULL */
	/* filled by the run */
	bool fell_back;    /* the resume failed and the fresh command was started */
	int resume_exit;   /* the failed resume's exit status (when fell_back) */
	int64_t resume_ms; /* how long the failed resume ran (when fell_back) */
} hw_run_plan_t;

/* Runs a session whose options are already loaded and derived: cfg (copied), the supervisor
 * sup (initialised with hw_sup_init() before any thread was started; taken over: it is cleaned
 * up here, the caller must not touch it again), the command cmd (cmd_argc entries, borrowed,
 * checked by the caller against HW_ARGV_MAX and HW_ARG_MAX) in the current working directory,
 * and an optional plan (NULL: a plain run; borrowed, its outputs filled). A restarted or
 * fallen-back child gets a new epoch and a new birth with run + 1. Returns the exit status as
 * hw_agent_run does. */
int hw_agent_run_session(const hw_agent_cfg_t *cfg, hw_sup_t *sup, char **cmd, int cmd_argc, hw_run_plan_t *plan);

/* Executes heartwire-agent-tls from this program's directory with the same arguments (argv[0]
 * is the subcommand: "run", "resume"), for an mqtts:// broker. Returns only on failure, after
 * printing why; argv is borrowed. */
void hw_agent_exec_tls(int argc, char **argv);

#endif
