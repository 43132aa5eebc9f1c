/* simagent.h: an agent's messages published by a test from a plain MQTT client (a simulated
 * agent): the encoded birth, heartbeat, event and status on their topics, each at QoS 1 and
 * waited for (an acknowledged update). Shared by the chaos and the collector integration suites. */
#ifndef HEARTWIRE_TEST_SIMAGENT_H
#define HEARTWIRE_TEST_SIMAGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/mqtt.h"

/* Publishes json (len bytes, borrowed) on {root}/m/{mid}/s/{sid}/{kind} (HW_T_*) at QoS 1 and
 * waits up to timeout_ms for the PUBACK. Returns 0, or -1 after printing why. */
int hwt_sim_pub(hw_mqtt_t *m, const char *root, int kind, const char *mid, const char *sid, const char *json, size_t len,
		bool retain, int timeout_ms);

/* A birth of session sid on machine mid for project, with epoch, seq 0, the current time and
 * interval_ms. Returns 0 or -1 (printed). */
int hwt_sim_birth(hw_mqtt_t *m, const char *root, const char *mid, const char *sid, const char *project, int64_t epoch,
		int interval_ms, int timeout_ms);

/* A heartbeat with epoch, seq, the current time and interval_ms. Returns 0 or -1 (printed). */
int hwt_sim_hb(hw_mqtt_t *m, const char *root, const char *mid, const char *sid, int64_t epoch, int64_t seq, int interval_ms,
		int timeout_ms);

#endif
