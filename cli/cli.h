/* cli.h: the heartwire CLI's options (main.c declares the table) and its commands
 * (commands.c): ls, show, events, fail, clear, claim, release, pause, unpause. */
#ifndef HEARTWIRE_CLI_CLI_H
#define HEARTWIRE_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/ids.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

#define EXIT_OK 0
#define EXIT_REFUSED 1
#define EXIT_USAGE 2

struct cli_cfg {
	char broker[300];
	char username[HW_ID_MAX + 1];
	char password[256];
	char password_file[1024];
	char cafile[1024];
	char topic_root[HW_TOPIC_ROOT_MAX + 1];
	int timeout_ms;
	int color;
	bool json;
	bool once;
	bool help;
	bool version;
	/* filters and command parameters (command line only) */
	char states[512]; /* --state, repeatable, joined with commas */
	char project[HW_ID_MAX + 1];
	char machine[HW_ID_MAX + 1];
	char slot[HW_ID_MAX + 1];
	char since[64];
	int64_t limit; /* 0: the collector's default */
	bool all;
	char reason[HW_TEXT_MAX + 1];
	char until[64];
	char claimant[HW_ID_MAX + 1];
	int64_t lease_ms; /* 0: the collector's default */
	char token[HW_ID_MAX + 1];
};

/* True when colours are on for stdout (--color always, or auto and stdout is a terminal). */
bool hw_cli_color(const struct cli_cfg *c);

/* Runs command `cmd` (argv[0]) with its positional arguments argv[1..argc-1]. Returns the exit
 * status: EXIT_OK, EXIT_REFUSED (the collector refused, or no collector/broker answered; a
 * message is on stderr) or EXIT_USAGE. -1 when cmd is not one of these commands. */
int hw_cli_run(struct cli_cfg *c, const char *cmd, int argc, char **argv);

#endif
