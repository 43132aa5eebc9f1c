/* publish.c: what the collector publishes: alert and rollup payloads (ids and numbers only, so
 * built with snprintf) and the one place that turns (kind, ids) into a topic and publishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/log.h"
#include "heartwire/states.h"

#include "collector.h"

int hw_alert_json(char *buf, size_t len, const char *alert, const hw_sess_t *s, int from_state, int from_cause, bool false_alarm,
		int64_t now, const char *collector)
{
	const hw_session_t *d = &s->doc;
	int n = snprintf(buf, len,
			"{\"v\":1,\"alert\":\"%s\",\"session\":\"%s\",\"machine\":\"%s\",\"project\":\"%s\","
			"\"state\":\"%s\",\"cause\":\"%s\",\"from\":\"%s\",\"from_cause\":\"%s\",\"epoch\":%lld,"
			"\"at\":%lld,\"false_alarm\":%s,\"collector\":\"%s\"}",
			alert, d->session, d->machine, d->project, hw_state_name(d->state), hw_cause_name(d->cause),
			hw_state_name(from_state), hw_cause_name(from_cause), (long long)d->epoch, (long long)now,
			false_alarm ? "true" : "false", collector);

	return (n < 0 || (size_t)n >= len) ? -1 : n;
}

const char *hw_rollup_state(const int64_t counts[HW_STATE__COUNT])
{
	int64_t live = 0;

	if(counts[HW_STATE_STALLED] || counts[HW_STATE_LOST] || counts[HW_STATE_CRASHED]) return "attention";
	for(int s = 0; s < HW_STATE__COUNT; s++){
		if(hw_state_live(s)) live += counts[s];
	}
	return live ? "active" : "quiet";
}

int hw_rollup_json(char *buf, size_t len, const char *kind_key, const hw_rollup_t *r, int64_t now)
{
	int64_t live = 0;
	size_t off;
	int n;

	for(int s = 0; s < HW_STATE__COUNT; s++){
		if(hw_state_live(s)) live += r->counts[s];
	}
	n = snprintf(buf, len, "{\"v\":1,\"%s\":\"%s\",\"state\":\"%s\",\"sessions\":%lld,\"live\":%lld,\"counts\":{", kind_key,
			r->id, hw_rollup_state(r->counts), (long long)r->total, (long long)live);
	if(n < 0 || (size_t)n >= len) return -1;
	off = (size_t)n;
	for(int s = 1; s < HW_STATE__COUNT; s++){
		n = snprintf(buf + off, len - off, "%s\"%s\":%lld", s > 1 ? "," : "", hw_state_name(s), (long long)r->counts[s]);
		if(n < 0 || (size_t)n >= len - off) return -1;
		off += (size_t)n;
	}
	if(r->has_pause){
		/* a project's pause (cmd/pause): the codec's encoding, escaped as JSON needs */
		char *pj = NULL;
		size_t pl;
		if(hw_pause_encode(&r->pause, &pj, &pl, NULL) != HW_OK) return -1;
		n = snprintf(buf + off, len - off, "},\"pause\":%s", pj);
		free(pj);
		if(n < 0 || (size_t)n >= len - off) return -1;
		off += (size_t)n;
		n = snprintf(buf + off, len - off, ",\"version\":%lld,\"updated_at\":%lld}", (long long)r->version,
				(long long)now);
	}else{
		n = snprintf(buf + off, len - off, "},\"version\":%lld,\"updated_at\":%lld}", (long long)r->version,
				(long long)now);
	}
	if(n < 0 || (size_t)n >= len - off) return -1;
	return (int)(off + (size_t)n);
}

int hw_collector_publish(hw_collector_t *c, int kind, const char *machine, const char *id, const void *payload, size_t len,
		int qos, bool retain)
{
	char topic[HW_TOPIC_MAX];
	hw_error_t err;
	int rc;

	if(!c->mqtt) return HW_OK;
	rc = hw_topic_build(topic, sizeof(topic), c->cfg->topic_root, kind, machine, id, &err);
	if(rc != HW_OK){
		hw_logs(HW_LOG_ERROR, id, "cannot build a %s topic: %s", hw_topic_kind_name(kind), err.msg);
		return rc;
	}
	rc = hw_mqtt_publish(c->mqtt, topic, payload, len, qos, retain, &err);
	if(rc == HW_OK){
		c->n.published++;
		if(retain) c->n.published_retained++;
	}else{
		c->n.publish_failed++;
		if(rc != HW_ERR_AGAIN) hw_logs(HW_LOG_WARN, topic, "publish failed: %s", err.msg);
	}
	return rc;
}
