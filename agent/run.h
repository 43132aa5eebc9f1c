/* run.h: `heartwire-agent run`: supervises one session and makes its life visible over MQTT. */
#ifndef HEARTWIRE_AGENT_RUN_H
#define HEARTWIRE_AGENT_RUN_H

#include <stdbool.h>
#include <stdio.h>

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

#endif
