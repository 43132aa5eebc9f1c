/* hook.h: `heartwire-agent hook`: the Claude Code hook command. Reads the hook JSON on stdin
 * (bounded in size and time), keeps what the agent needs and sends it as one datagram to
 * $HEARTWIRE_HOOK_SOCKET. Never blocks Claude and always exits 0. */
#ifndef HEARTWIRE_AGENT_HOOK_H
#define HEARTWIRE_AGENT_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/error.h"

/* How long the hook waits for its stdin to reach EOF, in total. */
#define HW_HOOK_READ_MS 1000

/* Reads fd until EOF, at most max bytes kept (the rest is read and thrown away, and
 * *truncated set), giving up at deadline_ms (hw_mono_ms clock; *truncated set too). *out is
 * heap memory the caller frees with free(), NUL-terminated, *len bytes. Returns HW_OK,
 * HW_ERR_IO or HW_ERR_NOMEM. */
int hw_hook_read(int fd, size_t max, int64_t deadline_ms, char **out, size_t *len, int *truncated, hw_error_t *err);

/* Runs `heartwire-agent hook`; argv[0] is "hook". Returns 0 always (warnings on stderr). */
int hw_agent_hook(int argc, char **argv);

/* Prints `hook --help`. */
void hw_agent_hook_usage(FILE *out);

#endif
