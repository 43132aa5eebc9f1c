/* simagent.c: an agent's messages published by a test (simagent.h). */
#include <stdio.h>
#include <stdlib.h>

#include "heartwire/clock.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

#include "simagent.h"

int hwt_sim_pub(hw_mqtt_t *m, const char *root, int kind, const char *mid, const char *sid, const char *json, size_t len,
		bool retain, int timeout_ms)
{
	char topic[HW_TOPIC_MAX];
	hw_error_t err;

	if(hw_topic_build(topic, sizeof(topic), root, kind, mid, sid, &err) != HW_OK){
		fprintf(stderr, "topic for %s/%s: %s\n", mid, sid, err.msg);
		return -1;
	}
	if(hw_mqtt_publish_wait(m, topic, json, len, 1, retain, timeout_ms, &err) != HW_OK){
		fprintf(stderr, "publish %s: %s\n", topic, err.msg);
		return -1;
	}
	return 0;
}

int hwt_sim_birth(hw_mqtt_t *m, const char *root, const char *mid, const char *sid, const char *project, int64_t epoch,
		int interval_ms, int timeout_ms)
{
	hw_birth_t b = HW_BIRTH_INIT;
	hw_error_t err;
	char *json;
	size_t len;
	int rc;

	snprintf(b.session, sizeof(b.session), "%s", sid);
	snprintf(b.machine, sizeof(b.machine), "%s", mid);
	snprintf(b.project, sizeof(b.project), "%s", project);
	b.epoch = epoch;
	b.seq = 0;
	b.ts = hw_time_ms();
	b.interval_ms = interval_ms;
	if(hw_birth_encode(&b, &json, &len, &err) != HW_OK){
		fprintf(stderr, "birth of %s: %s\n", sid, err.msg);
		return -1;
	}
	rc = hwt_sim_pub(m, root, HW_T_BIRTH, mid, sid, json, len, false, timeout_ms);
	free(json);
	return rc;
}

int hwt_sim_hb(hw_mqtt_t *m, const char *root, const char *mid, const char *sid, int64_t epoch, int64_t seq, int interval_ms,
		int timeout_ms)
{
	hw_hb_t hb = HW_HB_INIT;
	hw_error_t err;
	char *json;
	size_t len;
	int rc;

	snprintf(hb.session, sizeof(hb.session), "%s", sid);
	hb.epoch = epoch;
	hb.seq = seq;
	hb.ts = hw_time_ms();
	hb.interval_ms = interval_ms;
	if(hw_hb_encode(&hb, &json, &len, &err) != HW_OK){
		fprintf(stderr, "heartbeat of %s: %s\n", sid, err.msg);
		return -1;
	}
	rc = hwt_sim_pub(m, root, HW_T_HB, mid, sid, json, len, false, timeout_ms);
	free(json);
	return rc;
}
