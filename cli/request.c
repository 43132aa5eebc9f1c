/* request.c: MQTT 5 request/response for the heartwire CLI (see request.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/clock.h"

#include "request.h"

/* Takes in the collectors' retained presence messages. */
static void note_presence(hw_cli_conn_t *cc, const hw_mqtt_msg_t *msg)
{
	hw_topic_t t;

	if(hw_topic_parse(cc->root, msg->topic, strlen(msg->topic), &t, NULL) != HW_OK || t.kind != HW_T_COLLECTOR) return;
	if(msg->len == 6 && memcmp(msg->payload, "online", 6) == 0){
		size_t o = strlen(cc->online_ids);
		cc->online++;
		if(o + strlen(t.id) + 3 < sizeof(cc->online_ids))
			snprintf(cc->online_ids + o, sizeof(cc->online_ids) - o, "%s%s", o ? ", " : "", t.id);
	}
}

int hw_cli_connect(hw_cli_conn_t *cc, const hw_cli_conn_opts_t *o, hw_error_t *err)
{
	hw_mqtt_opts_t mo = HW_MQTT_OPTS_INIT;
	char filter[HW_TOPIC_MAX];
	int rc;

	memset(cc, 0, sizeof(*cc));
	snprintf(cc->root, sizeof(cc->root), "%s", o->root);
	cc->timeout_ms = o->timeout_ms;
	snprintf(cc->client_id, sizeof(cc->client_id), "hw-cli-%ld-%06lld", (long)getpid(), (long long)(hw_mono_us() % 1000000));
	/* The broker's ACL lets a user read {root}/reply/{user}/# only (docs/security.md). */
	snprintf(cc->reply_topic, sizeof(cc->reply_topic), "%s/reply/%s/%s", o->root,
			o->username && o->username[0] ? o->username : "cli", cc->client_id);
	mo.url = o->url;
	mo.client_id = cc->client_id;
	mo.username = o->username && o->username[0] ? o->username : NULL;
	mo.password = o->password && o->password[0] ? o->password : NULL;
	mo.cafile = o->cafile && o->cafile[0] ? o->cafile : NULL;
	mo.connect_timeout_ms = o->timeout_ms;
	rc = hw_mqtt_new(&cc->m, &mo, err);
	if(rc == HW_OK) rc = hw_mqtt_connect(cc->m, NULL, err);
	if(rc == HW_OK) rc = hw_mqtt_subscribe(cc->m, cc->reply_topic, 1, err);
	if(rc == HW_OK) rc = hw_topic_filter(filter, sizeof(filter), o->root, HW_T_COLLECTOR, NULL, NULL, err);
	if(rc == HW_OK) rc = hw_mqtt_subscribe(cc->m, filter, 1, err);
	if(rc != HW_OK){
		hw_mqtt_free(cc->m);
		cc->m = NULL;
	}
	return rc;
}

int hw_cli_request(hw_cli_conn_t *cc, const hw_request_t *req, hw_reply_t *out, hw_error_t *err)
{
	char topic[HW_TOPIC_MAX], corr[HW_ID_MAX + 32];
	char *payload = NULL;
	size_t len;
	int64_t deadline;
	int rc;

	*out = (hw_reply_t)HW_REPLY_INIT;
	rc = hw_topic_build(topic, sizeof(topic), cc->root, hw_verb_is_command(req->verb) ? HW_T_COMMAND : HW_T_QUERY, NULL,
			hw_verb_name(req->verb), err);
	if(rc != HW_OK) return rc;
	rc = hw_request_encode(req, &payload, &len, err);
	if(rc != HW_OK) return rc;
	snprintf(corr, sizeof(corr), "%s-%llu", cc->client_id, (unsigned long long)++cc->seq);
	rc = hw_mqtt_publish_req(cc->m, topic, payload, len, 1, cc->reply_topic, corr, strlen(corr), err);
	free(payload);
	if(rc != HW_OK) return rc;
	deadline = hw_mono_ms() + cc->timeout_ms;
	for(;;){
		hw_mqtt_msg_t *msg;
		int64_t left = deadline - hw_mono_ms();
		while((msg = hw_mqtt_next(cc->m))){
			bool mine = strcmp(msg->topic, cc->reply_topic) == 0 && msg->corr_len == strlen(corr) &&
					memcmp(msg->corr, corr, msg->corr_len) == 0;
			if(!mine){
				note_presence(cc, msg);
				hw_mqtt_msg_free(msg);
				continue;
			}
			rc = hw_reply_decode(msg->payload, msg->len, out, err);
			hw_mqtt_msg_free(msg);
			return rc;
		}
		if(!hw_mqtt_connected(cc->m)) return hw_error_set(err, HW_ERR_MQTT, "lost the connection to the broker");
		if(left <= 0) break;
		hw_mqtt_wait(cc->m, left > 100 ? 100 : (int)left);
	}
	if(!cc->online)
		return hw_error_set(err, HW_ERR_TIMEOUT,
				"no reply within %d ms: no collector is online (nothing says "
				"'online' under %s/collector/); is heartwire-collector running?",
				cc->timeout_ms, cc->root);
	return hw_error_set(err, HW_ERR_TIMEOUT,
			"no reply within %d ms from the collector (online: %s); it may be "
			"busy, or the broker refused the request (commands need a user with the operator role)",
			cc->timeout_ms, cc->online_ids);
}

void hw_cli_close(hw_cli_conn_t *cc)
{
	if(!cc->m) return;
	hw_mqtt_disconnect(cc->m, 500);
	hw_mqtt_free(cc->m);
	cc->m = NULL;
}
