/* rawmqtt.h: a minimal MQTT 3.1.1 client for load and chaos tools: thousands of connections in
 * one thread on one epoll set, wills, QoS 0/1 publish, subscribe, and an abort that drops a
 * connection without DISCONNECT (so the broker publishes its will). Not a product client: no
 * TLS, no QoS 2, no persistence, no reconnect. */
#ifndef HEARTWIRE_TEST_RAWMQTT_H
#define HEARTWIRE_TEST_RAWMQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hwt_mqpool hwt_mqpool_t;
typedef struct hwt_mq hwt_mq_t;

/* Called for every PUBLISH a connection receives (topic and payload borrowed for the call;
 * the payload is not NUL-terminated). A QoS 1 message is acknowledged after the call. */
typedef void (*hwt_mq_msg_fn)(
		hwt_mq_t *c, const char *topic, size_t topic_len, const void *payload, size_t len, bool retained, void *ud);

typedef struct hwt_mq_conn_opts {
	const char *host; /* numeric IPv4, e.g. "127.0.0.1" */
	int port;
	const char *client_id;  /* copied */
	int keepalive_s;        /* 0: none; otherwise PINGREQ after keepalive_s / 2 without a write */
	bool clean;             /* clean session */
	const char *will_topic; /* NULL: no will; will fields are copied */
	const void *will_payload;
	size_t will_len;
	int will_qos;
	bool will_retain;
	void *ud; /* returned by hwt_mq_ud */
} hwt_mq_conn_opts_t;

/* Counters of a connection. */
typedef struct hwt_mq_stats {
	uint64_t published; /* PUBLISH packets queued */
	uint64_t qos1_sent; /* of which QoS 1 */
	uint64_t acked;     /* PUBACKs received */
	uint64_t received;  /* PUBLISH packets received */
} hwt_mq_stats_t;

/* A new pool (one epoll set); fn is called for received messages (may be NULL). 0 or -1. */
int hwt_mqpool_new(hwt_mqpool_t **out, hwt_mq_msg_fn fn);

/* Aborts every connection and frees the pool. NULL is a no-op. */
void hwt_mqpool_free(hwt_mqpool_t *p);

/* Starts a connection (non-blocking TCP connect, CONNECT queued). NULL on a local failure.
 * The connection belongs to the pool; it is connected once hwt_mq_connected says so. */
hwt_mq_t *hwt_mq_connect(hwt_mqpool_t *p, const hwt_mq_conn_opts_t *o);

/* Does the I/O of every connection for up to timeout_ms (0: what is ready now). Returns the
 * number of connections that closed (by the broker or an error) during the call, -1 on error. */
int hwt_mqpool_run(hwt_mqpool_t *p, int timeout_ms);

/* Runs the pool until every connection is connected (true) or closed/timeout (false). */
bool hwt_mqpool_wait_connected(hwt_mqpool_t *p, int timeout_ms);

/* Runs the pool until every QoS 1 publish of every connection is acknowledged, or timeout. */
bool hwt_mqpool_wait_acked(hwt_mqpool_t *p, int timeout_ms);

/* Connections in the pool, and of those, connected ones. */
size_t hwt_mqpool_count(const hwt_mqpool_t *p);
size_t hwt_mqpool_connected(const hwt_mqpool_t *p);

/* Bytes queued and not yet written, over every connection (back-pressure for load loops). */
size_t hwt_mqpool_pending(const hwt_mqpool_t *p);

/* QoS 1 publishes of every connection not acknowledged yet (back-pressure from the broker). */
uint64_t hwt_mqpool_unacked(const hwt_mqpool_t *p);

/* Queues a PUBLISH (qos 0 or 1) and writes what the socket takes now. Returns 0, or -1 when
 * the connection is closed or the arguments are bad. */
int hwt_mq_publish(hwt_mq_t *c, const char *topic, const void *payload, size_t len, int qos, bool retain);

/* Queues a SUBSCRIBE for one filter. 0 or -1. */
int hwt_mq_subscribe(hwt_mq_t *c, const char *filter, int qos);

/* True once the subscription requests sent so far are acknowledged (SUBACK). */
bool hwt_mq_subscribed(const hwt_mq_t *c);

bool hwt_mq_connected(const hwt_mq_t *c);
bool hwt_mq_closed(const hwt_mq_t *c);
void *hwt_mq_ud(const hwt_mq_t *c);
void hwt_mq_stats(const hwt_mq_t *c, hwt_mq_stats_t *out);

/* Sends DISCONNECT (the broker drops the will) and closes. The connection stays in the pool,
 * closed, until the pool is freed. */
void hwt_mq_disconnect(hwt_mq_t *c);

/* Drops the connection without DISCONNECT, with a TCP reset (SO_LINGER 0): to the broker it is
 * a dead client, and it publishes the will at once. */
void hwt_mq_abort(hwt_mq_t *c);

#endif
