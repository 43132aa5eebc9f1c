/* opts.h: the options of `heartwire-agent run`: the table for the shared config loader,
 * the derived defaults (machine from the host name, generated session, state directory,
 * grace) and the checks that run before anything is published. */
#ifndef HEARTWIRE_AGENT_OPTS_H
#define HEARTWIRE_AGENT_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/config.h"
#include "heartwire/error.h"
#include "heartwire/ids.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

enum { HW_RESTART_NO = 0, HW_RESTART_ON_FAILURE };
enum { HW_WHEN_PAUSED_WAIT = 0, HW_WHEN_PAUSED_FAIL };

/* Every option of `run`; filled by hw_agent_opts_load(). */
typedef struct hw_agent_cfg {
	char broker[512];
	char username[256];
	char password[512]; /* HEARTWIRE_PASSWORD or the config file only, never argv */
	char password_file[1024];
	char cafile[1024];
	char topic_root[HW_TOPIC_ROOT_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char slot[HW_ID_MAX + 1];
	char session[HW_ID_MAX + 1];
	char project[HW_ID_MAX + 1];
	char task[HW_TEXT_MAX + 1];
	int64_t interval_ms;
	int64_t grace_ms; /* 0 on input: 3 intervals */
	int hb_qos;       /* QoS of heartbeats (0 or 1); births, events and statuses are QoS 1 */
	int keepalive_s;
	int64_t no_progress_ms; /* 0: never */
	int restart;            /* HW_RESTART_* */
	int max_restarts;
	int when_paused; /* HW_WHEN_PAUSED_* */
	char state_dir[1024];
	int event_buffer;
	int log_level;
	int log_format;
	bool help;
} hw_agent_cfg_t;

/* Loads the options of `run` from defaults, the config file, HEARTWIRE_* and argv (argv[0] is
 * "run"), then derives what was left unset and checks everything together. *cmd_index gets
 * the index in argv of CMD (argc when absent). Returns HW_OK, or HW_ERR_CONFIG with a
 * message naming the option and what is allowed (exit status 2). With --help set, returns
 * HW_OK after loading, without deriving or checking. */
int hw_agent_opts_load(hw_agent_cfg_t *cfg, int argc, char **argv, int *cmd_index, hw_error_t *err);

/* The second half of hw_agent_opts_load, for commands that load the run options themselves
 * (`resume`): derives what was left unset (machine, session, grace, password from its file,
 * state directory) and checks the options together. Returns HW_OK or HW_ERR_CONFIG naming
 * the option. */
int hw_agent_opts_derive(hw_agent_cfg_t *cfg, hw_error_t *err);

/* The option table of `run` (static; offsets into hw_agent_cfg_t), ending with HW_OPT_END. */
const hw_opt_t *hw_agent_run_opts(void);

/* Prints the options part of `run --help`. */
void hw_agent_opts_usage(FILE *out);

/* Writes a valid machine id derived from name (a host name) into dst (HW_ID_MAX + 1 bytes):
 * characters outside the id alphabet become '-', cut at 64; "localhost" when empty. */
void hw_machine_from_host(char *dst, const char *name);

/* Writes a new session id ("s-" + 8 hex digits of time + 8 random hex digits) into dst. */
void hw_session_generate(char *dst);

/* Reads a password file (first line, without the newline; at most len - 1 bytes) into buf.
 * Returns HW_OK or HW_ERR_CONFIG naming the file. */
int hw_password_read(const char *path, char *buf, size_t len, hw_error_t *err);

#endif
