/* hooksock.h: the local unix datagram socket between `heartwire-agent hook` (client) and
 * the running agent (server), announced to the child as HEARTWIRE_HOOK_SOCKET. */
#ifndef HEARTWIRE_AGENT_HOOKSOCK_H
#define HEARTWIRE_AGENT_HOOKSOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "heartwire/error.h"

/* Longest datagram the agent accepts (the client sends a few hundred bytes, at most ~9 KB). */
#define HW_HOOKSOCK_DGRAM_MAX 16384

/* Writes the socket path for this agent into buf (len >= 108 is enough):
 * $XDG_RUNTIME_DIR/heartwire/{session}.{pid}.sock, or /tmp/heartwire-{uid}/... when
 * XDG_RUNTIME_DIR is unset or the path would not fit a sockaddr_un. */
int hw_hooksock_path(char *buf, size_t len, const char *session, pid_t pid, hw_error_t *err);

/* Creates the socket's directory (0700; refuses one owned by another user or writable by
 * others), removes a stale file at path, binds a non-blocking close-on-exec datagram socket
 * there with mode 0600 and returns its fd in *fd (caller closes with hw_hooksock_close()).
 * Returns HW_OK, HW_ERR_INVAL (path too long) or HW_ERR_IO. */
int hw_hooksock_open(const char *path, int *fd, hw_error_t *err);

/* Receives one datagram into buf (len bytes); returns its length, 0 when none is waiting,
 * -1 on error. A datagram longer than len is truncated and reported as -1. */
ssize_t hw_hooksock_recv(int fd, void *buf, size_t len);

/* Closes fd and removes path (either may be -1 / NULL). */
void hw_hooksock_close(int fd, const char *path);

/* Sends one datagram to the socket at path without blocking. Returns HW_OK;
 * HW_ERR_NOTFOUND when nobody listens there (no file, or refused); HW_ERR_AGAIN when the
 * agent's queue is full; HW_ERR_INVAL for a bad path; HW_ERR_IO otherwise. */
int hw_hooksock_send(const char *path, const void *buf, size_t len, hw_error_t *err);

#endif
