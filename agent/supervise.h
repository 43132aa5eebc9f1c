/* supervise.h: the child process: fork/exec in its own process group, terminal foreground
 * handling, signal forwarding through a signalfd, reaping, and exit-status mapping. */
#ifndef HEARTWIRE_AGENT_SUPERVISE_H
#define HEARTWIRE_AGENT_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "heartwire/error.h"

/* The exit status the agent uses for its own failures before a child ran (like env(1)). */
#define HW_SUP_EXIT_SELF 125
/* The exit status when CMD was found but could not be executed, and when it was not found. */
#define HW_SUP_EXIT_NOEXEC 126
#define HW_SUP_EXIT_NOTFOUND 127

/* What hw_sup_handle() saw: a bit set. */
typedef enum hw_sup_event {
	HW_SUP_NONE = 0,
	HW_SUP_EXITED = 1,    /* the child ended: hw_sup_t.status holds the wait status */
	HW_SUP_STOPPED = 2,   /* the child was stopped by a signal (and the agent with it, on a tty) */
	HW_SUP_CONTINUED = 4, /* the child continued */
	HW_SUP_FORWARDED = 8, /* a signal was forwarded to the child's process group */
	HW_SUP_SIGNALED = 16  /* a forwardable signal arrived while there was no child */
} hw_sup_event;

/* Descriptors tracked for inheritance (see hw_sup_init). */
#define HW_SUP_FD_TRACK 4096

/* The supervisor of one child. Caller-owned: hw_sup_init() ... hw_sup_cleanup(). */
typedef struct hw_sup {
	int sigfd;                                    /* signalfd for SIGCHLD and the forwarded signals; poll it */
	sigset_t oldmask;                             /* the mask before hw_sup_init, restored in the child and at cleanup */
	bool tty;                                     /* stdin is a terminal and the agent is in its foreground group */
	pid_t agent_pgrp;                             /* the agent's own process group (to take the terminal back) */
	pid_t pid;                                    /* the running child, 0 when none */
	bool exited;                                  /* the last child ended; status is valid */
	int status;                                   /* wait status of the last child */
	int last_signal;                              /* the last SIGINT/SIGTERM/SIGHUP/SIGQUIT received (0: none) */
	int sigint_count;                             /* SIGINT/SIGTERM/SIGHUP/SIGQUIT received, for logs */
	unsigned char inherited[HW_SUP_FD_TRACK / 8]; /* fds open before hw_sup_init: the child's too */
} hw_sup_t;

/* Blocks SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTTOU and SIGTTIN in the calling
 * thread (call it first in main, before any thread exists, so every later thread inherits
 * the mask) and opens a non-blocking signalfd for the first five. Ignores SIGPIPE (the child
 * gets the default back). Records which descriptors the agent inherited: the child gets those
 * (and stdin/stdout/stderr) and none the agent opened itself, such as the MQTT library's
 * socket, which would otherwise keep a killed agent's connection open and hold back its will.
 * Returns HW_OK or HW_ERR_IO. */
int hw_sup_init(hw_sup_t *s, hw_error_t *err);

/* Starts argv[0] (searched in PATH) with argv, in a new process group; when s->tty, the
 * child's group becomes the terminal's foreground group before exec. env_extra is a
 * NULL-terminated list of "NAME=value" strings set in the child's environment (borrowed).
 * stdin, stdout and stderr are inherited untouched. The child gets the agent's original
 * signal mask and default dispositions back. Returns HW_OK (s->pid set), HW_ERR_IO when
 * fork failed, HW_ERR_NOTFOUND when exec failed with ENOENT (the child has been reaped,
 * s->status holds exit 127), HW_ERR_INVAL when exec failed otherwise (exit 126). */
int hw_sup_start(hw_sup_t *s, char *const argv[], char *const env_extra[], hw_error_t *err);

/* Reads the signalfd and reaps: forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to the child's
 * process group, records a stop or a continue, and the exit of the child. Call when sigfd is
 * readable (or at any time: it never blocks, except that on a tty a stopped child stops the
 * agent too, until both are continued, as a shell job would). Returns the hw_sup_event bits
 * of what happened (0: nothing). */
int hw_sup_handle(hw_sup_t *s);

/* Sends sig to the child's process group (no-op without a child). Returns 0 or -1. */
int hw_sup_kill(hw_sup_t *s, int sig);

/* Closes the signalfd, takes the terminal back when needed, and restores the signal mask. */
void hw_sup_cleanup(hw_sup_t *s);

/* The shell's exit status for a wait status: the exit code, or 128 + the signal number. */
int hw_sup_exit_code(int status);

/* Splits a wait status into an exit code and a signal; the other is -1. */
void hw_sup_split(int status, int *code, int *sig);

#endif
