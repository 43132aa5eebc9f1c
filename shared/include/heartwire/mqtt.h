/* mqtt.h: heartwire's MQTT 5 client wrapper (the only code that includes Paho MQTTAsync). */
#ifndef HEARTWIRE_MQTT_H
#define HEARTWIRE_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

/*
 * Threads. Paho runs its own threads; the wrapper never runs user code on them (except the
 * optional trace hook): incoming messages and connection changes are queued and signalled.
 * - hw_mqtt_publish*, hw_mqtt_subscribe, hw_mqtt_unsubscribe, hw_mqtt_next, hw_mqtt_wait,
 *   hw_mqtt_connected, hw_mqtt_fd and the counters may be called from any thread, concurrently.
 * - hw_mqtt_connect and hw_mqtt_disconnect are made by one owner thread at a time (they
 *   change the connection); other threads may keep publishing meanwhile and get
 *   HW_ERR_AGAIN while there is no connection.
 * - hw_mqtt_free is called once, when no other thread uses the handle any more.
 * - Never call a blocking function (connect, subscribe, *_wait) from a Paho callback
 *   (the trace hook is the only one you can be in).
 */

typedef struct hw_mqtt hw_mqtt_t;

/* One received message. Every pointer is owned by the message and lives in the same
 * allocation: caller frees the whole message with hw_mqtt_msg_free(), never a member.
 * payload has len bytes plus a NUL that is not counted in len (the payload itself may
 * contain NULs, so use len). */
typedef struct hw_mqtt_msg {
	char *topic;
	void *payload;
	size_t len;
	int qos;
	bool retained;
	char *response_topic; /* MQTT 5 RESPONSE_TOPIC property, NULL when absent */
	void *corr;           /* MQTT 5 CORRELATION_DATA property, NULL when absent */
	size_t corr_len;
} hw_mqtt_msg_t;

/* Connection options. All strings are borrowed during hw_mqtt_new() and copied. */
typedef struct hw_mqtt_opts {
	const char *url;           /* "mqtt://host:port" or "mqtts://host:port" (also tcp://, ssl://) */
	const char *client_id;     /* required; 1-256 bytes of UTF-8 (hw-{machine}-{session} fits) */
	const char *username;      /* NULL: none */
	const char *password;      /* NULL: none; never logged or put in an error message */
	const char *cafile;        /* mqtts://: CA file (PEM); NULL uses the system's default CAs */
	int keepalive_s;           /* MQTT keepalive; default 10 */
	bool clean_start;          /* MQTT 5 clean start; default true */
	uint32_t session_expiry_s; /* MQTT 5 session expiry interval; default 0 (ends at disconnect) */
	int max_inflight;          /* QoS 1/2 messages in flight; default 20, 1-65535 */
	int max_buffered;          /* publishes Paho may hold before sending; default 65535 */
	int connect_timeout_ms;    /* hw_mqtt_connect deadline; default 5000 */
} hw_mqtt_opts_t;

/* clang-format off */
#define HW_MQTT_OPTS_INIT { NULL, NULL, NULL, NULL, NULL, 10, true, 0, 20, 65535, 5000 }
/* clang-format on */

/* A last will: published by the broker when the connection ends without a DISCONNECT
 * (mosquitto: within a millisecond of a killed client's socket closing). Borrowed during
 * hw_mqtt_connect() (Paho copies it). The broker publishes it after
 * min(will_delay_s, session_expiry_s), so a will delay needs a session expiry too. */
typedef struct hw_mqtt_will {
	const char *topic;
	const void *payload;
	size_t len;
	int qos; /* 0, 1 or 2 */
	bool retain;
	uint32_t will_delay_s; /* MQTT 5 will delay interval; 0: published at once */
} hw_mqtt_will_t;

/* clang-format off */
#define HW_MQTT_WILL_INIT { NULL, NULL, 0, 1, true, 0 }
/* clang-format on */

/* Creates a disconnected client from opts (validated: url scheme, client id, ranges).
 * Returns HW_OK and *out (caller frees with hw_mqtt_free()), HW_ERR_INVAL on bad options,
 * HW_ERR_MQTT when Paho refuses, HW_ERR_IO when the notification fd cannot be made. */
int hw_mqtt_new(hw_mqtt_t **out, const hw_mqtt_opts_t *opts, hw_error_t *err);

/* Disconnects cleanly when connected (waits up to ~0.5 s; the will fires only if that
 * fails), frees every queued message, closes the fd and frees the client. Call once no other
 * thread uses the handle. NULL is a no-op. */
void hw_mqtt_free(hw_mqtt_t *m);

/* Connects with an optional will (NULL: none) and blocks until the CONNACK or the
 * connect timeout. May be called again after a loss (or a disconnect) on the same handle,
 * with a new will; there is no automatic reconnect. Subscriptions are not restored: the
 * owner subscribes again after a connect (unless the session was resumed). After a timeout
 * Paho's attempt may still be running: the next call first waits (up to the connect timeout)
 * for it to end, then gives its own attempt the full timeout; an attempt that succeeds after
 * its caller gave up is closed cleanly (its will is not published). Paho notices a new
 * socket on its next poll cycle, so a reconnect on an idle process can take up to ~1.1 s:
 * keep the connect timeout at 2 s or more. On success the new connection's socket has
 * TCP_NODELAY (Paho never sets it: small publishes would wait ~40 ms for a delayed ACK).
 * will is borrowed. Returns HW_OK; HW_ERR_FORBIDDEN ("not authorized", "bad user name or password");
 * HW_ERR_MQTT (the broker refused: reason in err, or the TCP/TLS connect failed);
 * HW_ERR_TIMEOUT; HW_ERR_INVAL (bad will); HW_ERR_STATE when already connected;
 * HW_ERR_AGAIN when Paho is still finishing a disconnect (try again). */
int hw_mqtt_connect(hw_mqtt_t *m, const hw_mqtt_will_t *will, hw_error_t *err);

/* Replaces the password the next hw_mqtt_connect sends (key rotation: an owner re-reads its
 * password file before reconnecting). password is copied; NULL sends none. Call from the
 * thread that connects, never while hw_mqtt_connect runs. Returns HW_OK, HW_ERR_INVAL (a
 * password without a user name) or HW_ERR_NOMEM (the old password is kept). */
int hw_mqtt_set_password(hw_mqtt_t *m, const char *password, hw_error_t *err);

/* True while connected (after a successful hw_mqtt_connect, until a loss or disconnect). */
bool hw_mqtt_connected(hw_mqtt_t *m);

/* The session_present flag of the last CONNACK (true when a persistent session resumed). */
bool hw_mqtt_session_present(hw_mqtt_t *m);

/* Copies into err why the last connection ended (HW_OK when it was a clean disconnect or
 * there was none yet). */
void hw_mqtt_last_error(hw_mqtt_t *m, hw_error_t *err);

/* Sends DISCONNECT (reason 0, so the broker drops the will), letting in-flight QoS 1/2
 * messages finish for up to timeout_ms (Paho checks that timer every ~3 s, so a disconnect
 * with messages still in flight may take up to timeout_ms + 3.5 s). Queued incoming messages
 * stay queued. Returns HW_OK (also when not connected), HW_ERR_MQTT when Paho refused or
 * HW_ERR_TIMEOUT. */
int hw_mqtt_disconnect(hw_mqtt_t *m, int timeout_ms);

/* Subscribes to a filter at qos (0-2) and waits for the SUBACK (up to the connect timeout).
 * Returns HW_OK; HW_ERR_FORBIDDEN when the broker granted "not authorized"; HW_ERR_MQTT on any
 * other refusal; HW_ERR_AGAIN when not connected; HW_ERR_TIMEOUT. filter is borrowed. */
int hw_mqtt_subscribe(hw_mqtt_t *m, const char *filter, int qos, hw_error_t *err);

/* Unsubscribes from a filter and waits for the UNSUBACK. Same returns as hw_mqtt_subscribe. */
int hw_mqtt_unsubscribe(hw_mqtt_t *m, const char *filter, hw_error_t *err);

/* Queues a publish and returns at once (never waits for the network). Measured on the
 * 2-core dev box, QoS 0, one thread, Debug build: median 1.5-2.5 us, p99 6-13 us per call.
 * topic and payload are borrowed (copied). len 0 is allowed (clears a retained message).
 * Returns HW_OK; HW_ERR_AGAIN when not connected or Paho's buffer is full; HW_ERR_INVAL
 * for a bad topic/qos; HW_ERR_MQTT otherwise. Delivery failures after queuing are not
 * reported (use hw_mqtt_publish_wait when the outcome matters). */
int hw_mqtt_publish(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain, hw_error_t *err);

/* Publishes and waits up to timeout_ms for the broker's answer (PUBACK/PUBCOMP; for QoS 0:
 * until written to the socket). Returns HW_OK; HW_ERR_FORBIDDEN when the broker answered
 * 0x87 "not authorized"; HW_ERR_MQTT with the MQTT 5 reason string for other refusals or
 * a lost connection; HW_ERR_TIMEOUT; and hw_mqtt_publish's errors. All borrowed. */
int hw_mqtt_publish_wait(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain, int timeout_ms,
		hw_error_t *err);

/* As hw_mqtt_publish (not retained), with the MQTT 5 request/response properties:
 * RESPONSE_TOPIC (NULL: none; a reply passes NULL) and CORRELATION_DATA (corr NULL or
 * corr_len 0: none). All borrowed. */
int hw_mqtt_publish_req(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, const char *response_topic,
		const void *corr, size_t corr_len, hw_error_t *err);

/* A file descriptor for poll(): readable while a message is queued or after the connection
 * state changed. To clear it, call hw_mqtt_next() until it returns NULL, then look at
 * hw_mqtt_connected(). Owned by the client: do not read or close it. */
int hw_mqtt_fd(hw_mqtt_t *m);

/* Pops the oldest queued message, or NULL when the queue is empty (which also clears the
 * fd's readiness). Caller frees the message with hw_mqtt_msg_free(). */
hw_mqtt_msg_t *hw_mqtt_next(hw_mqtt_t *m);

/* Waits up to timeout_ms (-1: forever) until a message is queued or the connection state
 * changes after the call started (so check hw_mqtt_connected() before waiting). Returns 1
 * when there is something to look at, 0 on timeout. Several threads may wait at once; it
 * does not consume anything (hw_mqtt_next does). */
int hw_mqtt_wait(hw_mqtt_t *m, int timeout_ms);

/* Messages currently queued (received, not yet popped). */
size_t hw_mqtt_queued(hw_mqtt_t *m);

/* Connection losses seen since hw_mqtt_new (not counting hw_mqtt_disconnect). */
uint64_t hw_mqtt_losses(hw_mqtt_t *m);

/* Frees a message from hw_mqtt_next(); NULL is a no-op. */
void hw_mqtt_msg_free(hw_mqtt_msg_t *msg);

/* Paho trace levels as heartwire sees them (hw_mqtt_trace's level argument); the values
 * match hw_log_level, so a hook may pass level straight to hw_logs. */
typedef enum hw_mqtt_trace_level {
	HW_MQTT_TRACE_DEBUG = 0, /* Paho's maximum, medium and minimum levels */
	HW_MQTT_TRACE_INFO,      /* Paho's protocol level (one line per packet) */
	HW_MQTT_TRACE_WARN,      /* Paho's error level */
	HW_MQTT_TRACE_ERROR      /* Paho's severe and fatal levels */
} hw_mqtt_trace_level;

/* Receives one Paho trace line (borrowed for the call); called on Paho's threads, possibly
 * under Paho's locks: must not block and must not call Paho or the wrapper. */
typedef void (*hw_mqtt_trace_fn)(int level, const char *line);

/* Routes Paho's (process-wide) traces at min_level and above to fn (NULL turns them off),
 * so a binary may forward them to hw_log. Call before creating clients. */
void hw_mqtt_trace(hw_mqtt_trace_fn fn, int min_level);

#endif
