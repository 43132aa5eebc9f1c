/* proxy.h: a loopback TCP proxy for chaos tests, which can freeze (stop forwarding without closing
 * anything: a network that goes silent, no FIN, no RST) and thaw. */
#ifndef HEARTWIRE_TEST_PROXY_H
#define HEARTWIRE_TEST_PROXY_H

#include <stdbool.h>

/*
 * The proxy listens on a free port of 127.0.0.1 and, for every connection it accepts, opens one
 * to 127.0.0.1:upstream_port and copies bytes both ways. It runs in its own thread; every
 * function below may be called from the test's main thread while it runs.
 *
 * Frozen, it stops reading and writing every connection and stops accepting new ones (they
 * wait in the listen backlog): both ends see a peer that is silent but never closes, exactly
 * what a pulled cable or a dead NAT entry looks like. Thawed, it carries on where it stopped:
 * nothing is lost or duplicated (unless an end gave up and closed meanwhile).
 */

typedef struct hwt_proxy hwt_proxy_t;

/* Starts a proxy to 127.0.0.1:upstream_port. Returns 0 and *out (stop with hwt_proxy_stop),
 * or -1 after printing why. */
int hwt_proxy_start(hwt_proxy_t **out, int upstream_port);

/* The port the proxy listens on, and "mqtt://127.0.0.1:PORT" (borrowed, lives as long as p). */
int hwt_proxy_port(const hwt_proxy_t *p);
const char *hwt_proxy_url(const hwt_proxy_t *p);

/* Freezes / thaws every connection, present and future. Both return once the proxy thread has
 * taken the change (no byte moves after hwt_proxy_freeze returns). */
void hwt_proxy_freeze(hwt_proxy_t *p);
void hwt_proxy_thaw(hwt_proxy_t *p);
bool hwt_proxy_frozen(const hwt_proxy_t *p);

/* Closes every current connection with a reset (SO_LINGER 0) on both sides; new connections
 * are accepted as usual. Returns once done. */
void hwt_proxy_reset(hwt_proxy_t *p);

/* Connections currently proxied, and accepted since the start. */
int hwt_proxy_connections(const hwt_proxy_t *p);
int hwt_proxy_accepted(const hwt_proxy_t *p);

/* Stops the thread, closes every socket and frees p. NULL is a no-op. */
void hwt_proxy_stop(hwt_proxy_t *p);

#endif
