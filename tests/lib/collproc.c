/* collproc.c: a heartwire-collector process for the tests (collproc.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "heartwire/mqtt.h"
#include "heartwire/topics.h"

#include "collproc.h"
#include "servers.h"

#define COLLPROC_ARGV_MAX 64

pid_t hwt_collproc_spawn(const hwt_collproc_t *p)
{
	char bin[512], grace[32], flush[32], store_flush[32], rollup[32];
	const char *argv[COLLPROC_ARGV_MAX];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/collector/heartwire-collector", hwt_build_dir());
	snprintf(grace, sizeof(grace), "%d", p->startup_grace_ms);
	snprintf(flush, sizeof(flush), "%d", p->flush_ms);
	snprintf(store_flush, sizeof(store_flush), "%d", p->store_flush_ms);
	snprintf(rollup, sizeof(rollup), "%d", p->rollup_ms);
	argv[n++] = bin;
	argv[n++] = "--broker";
	argv[n++] = p->broker;
	argv[n++] = "--mongo-uri";
	argv[n++] = p->mongo_uri;
	argv[n++] = "--db";
	argv[n++] = p->db;
	argv[n++] = "--id";
	argv[n++] = p->id;
	argv[n++] = "--startup-grace-ms";
	argv[n++] = grace;
	argv[n++] = "--flush-ms";
	argv[n++] = flush;
	argv[n++] = "--store-flush-ms";
	argv[n++] = store_flush;
	argv[n++] = "--rollup-ms";
	argv[n++] = rollup;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for(int i = 0; p->extra && p->extra[i] && n < COLLPROC_ARGV_MAX - 1; i++) argv[n++] = p->extra[i];
	argv[n] = NULL;
	return hwt_spawn(argv, p->log);
}

int hwt_collproc_presence_wait(const char *url, const char *root, const char *id, const char *want, int timeout_ms)
{
	hw_mqtt_t *m = NULL;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char cid[64], topic[HW_TOPIC_MAX];
	bool seen = false;
	int64_t end;

	hwt_unique_name(cid, sizeof(cid), "presence");
	o.url = url;
	o.client_id = cid;
	snprintf(topic, sizeof(topic), "%s/collector/%s", root, id);
	if(hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(m, topic, 1, &err) != HW_OK){
		fprintf(stderr, "presence watch: %s\n", err.msg);
		hw_mqtt_free(m);
		return -1;
	}
	end = hwt_now_ms() + timeout_ms;
	while(!seen && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while((msg = hw_mqtt_next(m))){
			if(msg->len == strlen(want) && memcmp(msg->payload, want, msg->len) == 0) seen = true;
			hw_mqtt_msg_free(msg);
		}
	}
	hw_mqtt_free(m);
	return seen ? 0 : -1;
}
