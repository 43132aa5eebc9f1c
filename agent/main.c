/* main.c: heartwire-agent: `run` supervises a session, `hook` is the Claude Code hook command,
 * `resume` restarts a recoverable session. */
#include <stdio.h>
#include <string.h>

#include "hook.h"
#include "resume.h"

#ifndef HW_AGENT_TLS
#define HW_AGENT_TLS 1
#endif
#include "run.h"

static void usage(FILE *out)
{
	fprintf(out,
			"usage: heartwire-agent COMMAND [options]\n\n"
			"commands:\n"
			"  run [options] -- CMD [ARGS...]  supervise CMD as a heartwire session (see run --help)\n"
			"  hook                            Claude Code hook: stdin JSON to the running agent\n"
			"  resume SESSION [options]        restart a recoverable session, resuming its Claude session\n"
			"                                  (see resume --help)\n\n"
			"  -h, --help                      show this help\n"
			"  -V, --version                   show the version\n");
}

int main(int argc, char **argv)
{
	if(argc < 2){
		usage(stderr);
		return HW_EXIT_USAGE;
	}
	if(strcmp(argv[1], "run") == 0) return hw_agent_run(argc - 1, argv + 1, HW_AGENT_TLS != 0);
	if(strcmp(argv[1], "hook") == 0) return hw_agent_hook(argc - 1, argv + 1);
	if(strcmp(argv[1], "resume") == 0) return hw_agent_resume(argc - 1, argv + 1, HW_AGENT_TLS != 0);
	if(strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0){
		usage(stdout);
		return 0;
	}
	if(strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0){
		printf("heartwire-agent %s\n", HW_VERSION);
		return 0;
	}
	fprintf(stderr, "heartwire-agent: unknown command '%s'; allowed: run, hook, resume (see heartwire-agent --help)\n",
			argv[1]);
	return HW_EXIT_USAGE;
}
