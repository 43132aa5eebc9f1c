/* request.h: the CLI's side of MQTT 5 request/response: one connection, a reply topic of its own
 * ({root}/reply/{user}/{client id}), requests with correlation data, replies matched to them,
 * and the collectors' presence to explain a missing reply. */
#ifndef HEARTWIRE_CLI_REQUEST_H
#define HEARTWIRE_CLI_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

typedef struct hw_cli_conn {
	hw_mqtt_t *m;
	char root[HW_TOPIC_ROOT_MAX + 1];
	char client_id[HW_ID_MAX + 1];
	char reply_topic[HW_TOPIC_MAX + 2 * HW_ID_MAX];
	int timeout_ms;
	int online; /* collectors whose retained presence says "online" */
	char online_ids[256];
	uint64_t seq;
} hw_cli_conn_t;

typedef struct hw_cli_conn_opts {
	const char *url, *username, *password, *cafile, *root; /* borrowed */
	int timeout_ms;                                        /* connect, and each reply */
} hw_cli_conn_opts_t;

/* Connects, subscribes to the reply topic and to {root}/collector/+. HW_OK; the connect errors of
 * hw_mqtt_connect (message in err). */
int hw_cli_connect(hw_cli_conn_t *cc, const hw_cli_conn_opts_t *o, hw_error_t *err);

/* Sends req (borrowed; req->verb selects q/ or cmd/) with a fresh correlation and waits up to the
 * timeout for its reply, decoded into *out (caller frees with hw_reply_cleanup; out->ok may be
 * false: the collector refused). HW_ERR_TIMEOUT with a message that says whether any collector
 * is online; HW_ERR_MQTT (lost the broker); HW_ERR_DECODE (an unreadable reply). */
int hw_cli_request(hw_cli_conn_t *cc, const hw_request_t *req, hw_reply_t *out, hw_error_t *err);

/* Disconnects and frees. Safe on a zeroed struct. */
void hw_cli_close(hw_cli_conn_t *cc);

#endif
