/* test_broker.c: the MQTT wrapper (shared/mqtt.c) against a real mosquitto: properties, retained, wills, sessions, reconnects. */
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heartwire/mqtt.h"
#include "hwtest.h"
#include "servers.h"

/*
 * Every test starts its own clients with unique ids and topics under hwt/<unique>/ on one
 * broker for the suite (tests that break a broker start their own). Waits are on messages
 * or state changes with deadlines; the only fixed wait is the window in which a message
 * must NOT arrive, and it always follows a marker message that proves the broker got there.
 *
 * A will needs a connection that dies without DISCONNECT, so this executable doubles as the
 * client to kill: `test_broker --will-child URL ID WILL_TOPIC READY_TOPIC [DELAY_S]` connects
 * with the will "lost N" (and a will delay, with a session expiry, when DELAY_S is given),
 * publishes the retained ready message "N" and, after every connection loss, connects again
 * on the same handle with the next N (the agent's reconnect pattern).
 */

static hwt_broker_t broker = HWT_BROKER_INIT;
static char self_exe[PATH_MAX];

/* ---- helpers ----------------------------------------------------------------------------- */

static hw_mqtt_t *client_opts(const char *url, const char *prefix, char *id, size_t idlen, bool clean, uint32_t expiry)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char buf[96];

	if(!id){
		id = buf;
		idlen = sizeof(buf);
	}
	hwt_unique_name(id, idlen, prefix);
	o.url = url;
	o.client_id = id;
	o.clean_start = clean;
	o.session_expiry_s = expiry;
	o.connect_timeout_ms = 5000;
	if(hw_mqtt_new(&m, &o, &err) != HW_OK){
		fprintf(stderr, "hw_mqtt_new: %s\n", err.msg);
		return NULL;
	}
	return m;
}

/* A connected client with a fresh id and no will; NULL (and a message) on failure. */
static hw_mqtt_t *client_up(const char *prefix)
{
	hw_mqtt_t *m = client_opts(broker.url, prefix, NULL, 0, true, 0);
	hw_error_t err;

	if(!m) return NULL;
	if(hw_mqtt_connect(m, NULL, &err) != HW_OK){
		fprintf(stderr, "connect %s: %s\n", broker.url, err.msg);
		hw_mqtt_free(m);
		return NULL;
	}
	return m;
}

static int sub(hw_mqtt_t *m, const char *filter, int qos)
{
	hw_error_t err;
	int rc = hw_mqtt_subscribe(m, filter, qos, &err);

	if(rc) fprintf(stderr, "subscribe %s: %s\n", filter, err.msg);
	return rc;
}

static int pubw(hw_mqtt_t *m, const char *topic, const char *payload, int qos, bool retain)
{
	hw_error_t err;
	int rc = hw_mqtt_publish_wait(m, topic, payload, strlen(payload), qos, retain, 5000, &err);

	if(rc) fprintf(stderr, "publish %s: %s\n", topic, err.msg);
	return rc;
}

/* The next message on topic (others are dropped) within timeout_ms; caller frees. */
static hw_mqtt_msg_t *wait_msg(hw_mqtt_t *m, const char *topic, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	hw_mqtt_msg_t *msg;

	for(;;){
		while((msg = hw_mqtt_next(m))){
			if(strcmp(msg->topic, topic) == 0) return msg;
			hw_mqtt_msg_free(msg);
		}
		int64_t left = deadline - hwt_now_ms();
		if(left <= 0) return NULL;
		hw_mqtt_wait(m, (int)left);
	}
}

/* Waits for a message on topic whose payload is exactly want (others are dropped). */
static bool wait_payload(hw_mqtt_t *m, const char *topic, const char *want, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;

	for(;;){
		int64_t left = deadline - hwt_now_ms();
		hw_mqtt_msg_t *msg;
		bool match;

		if(left <= 0) return false;
		msg = wait_msg(m, topic, (int)left);
		if(!msg) return false;
		match = msg->len == strlen(want) && memcmp(msg->payload, want, msg->len) == 0;
		hw_mqtt_msg_free(msg);
		if(match) return true;
	}
}

/* Waits until the client has seen its connection go away. */
static bool wait_lost(hw_mqtt_t *m, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	hw_mqtt_msg_t *msg;

	while(hw_mqtt_connected(m)){
		int64_t left = deadline - hwt_now_ms();
		if(left <= 0) return false;
		hw_mqtt_wait(m, (int)left);
		while((msg = hw_mqtt_next(m))) hw_mqtt_msg_free(msg);
	}
	return true;
}

/* Connects, retrying (paced, not synchronising) while a restarted broker comes up. */
static int connect_retry(hw_mqtt_t *m, const hw_mqtt_will_t *will, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	hw_error_t err;
	int rc;

	while((rc = hw_mqtt_connect(m, will, &err)) != HW_OK){
		if(hwt_now_ms() >= deadline){
			fprintf(stderr, "reconnect: %s\n", err.msg);
			return rc;
		}
		hwt_sleep_ms(50);
	}
	return HW_OK;
}

static bool fd_readable(hw_mqtt_t *m, int timeout_ms)
{
	struct pollfd p = {.fd = hw_mqtt_fd(m), .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void topic_of(char *buf, size_t len, const char *base, const char *leaf)
{
	snprintf(buf, len, "hwt/%s/%s", base, leaf);
}

static pid_t spawn_will_child(const char *id, const char *will_topic, const char *ready_topic, const char *delay)
{
	const char *argv[] = {self_exe, "--will-child", broker.url, id, will_topic, ready_topic, delay, NULL};

	return hwt_spawn(argv, NULL);
}

/* ---- the killable child ---------------------------------------------------------------- */

static int will_child(int argc, char **argv)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_will_t w = HW_MQTT_WILL_INIT;
	int64_t end = hwt_now_ms() + 60000; /* never outlive a hung test */
	hw_mqtt_msg_t *msg;
	hw_mqtt_t *m;
	hw_error_t err;
	char will[32], ready[32], *end_p = NULL;
	long delay = 0;

	if(argc != 6 && argc != 7) return 2;
	if(argc == 7){
		delay = strtol(argv[6], &end_p, 10);
		if(*end_p || delay < 1 || delay > 60) return 2;
		o.session_expiry_s = 60; /* the broker waits min(will delay, session expiry) */
	}
	o.url = argv[2];
	o.client_id = argv[3];
	if(hw_mqtt_new(&m, &o, &err) != HW_OK){
		fprintf(stderr, "will-child: %s\n", err.msg);
		return 3;
	}
	for(int epoch = 1; hwt_now_ms() < end; epoch++){
		snprintf(will, sizeof(will), "lost %d", epoch);
		snprintf(ready, sizeof(ready), "%d", epoch);
		w.topic = argv[4];
		w.payload = will;
		w.len = strlen(will);
		w.qos = 1;
		w.retain = false;
		w.will_delay_s = (uint32_t)delay;
		if(connect_retry(m, &w, 20000) != HW_OK) return 4;
		if(hw_mqtt_publish_wait(m, argv[5], ready, strlen(ready), 1, true, 5000, &err) != HW_OK){
			fprintf(stderr, "will-child: %s\n", err.msg);
			return 5;
		}
		while(hw_mqtt_connected(m) && hwt_now_ms() < end){
			hw_mqtt_wait(m, 1000);
			while((msg = hw_mqtt_next(m))) hw_mqtt_msg_free(msg);
		}
	}
	hw_mqtt_free(m);
	return 0;
}

/* ---- suite --------------------------------------------------------------------------- */

static int suite_init(void)
{
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);

	if(n <= 0) return -1;
	self_exe[n] = '\0';
	if(hwt_broker_start(&broker, NULL) != 0) return -1;
	printf("\nbroker: %s (pid %d)\n", broker.url, (int)broker.pid);
	return 0;
}

static int suite_cleanup(void)
{
	hwt_broker_cleanup(&broker);
	return 0;
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Bad options are refused before anything touches the network; an idle client is sane. */
static void TEST_options_and_idle_client(void)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;

	o.url = "http://127.0.0.1:1883";
	o.client_id = "x";
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mqtt://"));
	CU_ASSERT_PTR_NULL(m);
	o.url = "mqtt://";
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	o.url = broker.url;
	o.client_id = "";
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	o.client_id = "x";
	o.max_inflight = 0;
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	o.max_inflight = 65536;
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	o.max_inflight = 65535;
	o.password = "secret";
	CU_ASSERT_EQUAL(hw_mqtt_new(&m, &o, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NULL(strstr(err.msg, "secret"));
	o.password = NULL;

	m = client_opts(broker.url, "hwt_idle", NULL, 0, true, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT(hw_mqtt_fd(m) >= 0);
	CU_ASSERT_FALSE(hw_mqtt_connected(m));
	CU_ASSERT_FALSE(fd_readable(m, 0));
	CU_ASSERT_PTR_NULL(hw_mqtt_next(m));
	CU_ASSERT_EQUAL(hw_mqtt_wait(m, 10), 0);
	CU_ASSERT_EQUAL(hw_mqtt_publish(m, "hwt/x", "a", 1, 0, false, &err), HW_ERR_AGAIN);
	CU_ASSERT_EQUAL(hw_mqtt_publish(m, "hwt/+", "a", 1, 0, false, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_mqtt_publish(m, "hwt/x", "a", 1, 3, false, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_mqtt_subscribe(m, "hwt/#", 1, &err), HW_ERR_AGAIN);
	CU_ASSERT_EQUAL(hw_mqtt_disconnect(m, 100), HW_OK);
	hw_mqtt_free(m);
	hw_mqtt_free(NULL);
	hw_mqtt_msg_free(NULL);
}

/* a. MQTT 5 request/response properties survive the broker, in both directions. */
static void TEST_roundtrip_properties(void)
{
	static const unsigned char corr[] = {0x00, 0x01, 0xff, 'x', 0x00};
	static const char payload[] = "{\"v\":1}\0tail"; /* MQTT payloads may hold NULs */
	hw_mqtt_t *req = client_up("hwt_req"), *rsp = client_up("hwt_rsp");
	char base[64], qtopic[128], rtopic[128];
	hw_mqtt_msg_t *msg;
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(rsp);
	hwt_unique_name(base, sizeof(base), "rr");
	topic_of(qtopic, sizeof(qtopic), base, "q/sessions");
	topic_of(rtopic, sizeof(rtopic), base, "reply/42");
	CU_ASSERT_EQUAL_FATAL(sub(rsp, qtopic, 1), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(req, rtopic, 1), HW_OK);

	CU_ASSERT_EQUAL(hw_mqtt_publish_req(req, qtopic, payload, sizeof(payload) - 1, 1, rtopic, corr, sizeof(corr), &err),
			HW_OK);
	CU_ASSERT_TRUE(fd_readable(rsp, 5000)); /* the owner's poll() loop wakes up */
	msg = wait_msg(rsp, qtopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, sizeof(payload) - 1);
	CU_ASSERT_EQUAL(memcmp(msg->payload, payload, sizeof(payload) - 1), 0);
	CU_ASSERT_EQUAL(((char *)msg->payload)[msg->len], '\0');
	CU_ASSERT_EQUAL(msg->qos, 1);
	CU_ASSERT_FALSE(msg->retained);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg->response_topic);
	CU_ASSERT_STRING_EQUAL(msg->response_topic, rtopic);
	CU_ASSERT_EQUAL_FATAL(msg->corr_len, sizeof(corr));
	CU_ASSERT_EQUAL(memcmp(msg->corr, corr, sizeof(corr)), 0);

	/* the reply: correlation data only, to the response topic the request named */
	CU_ASSERT_EQUAL(hw_mqtt_publish_req(
					rsp, msg->response_topic, "{\"ok\":true}", 11, 1, NULL, msg->corr, msg->corr_len, &err),
			HW_OK);
	hw_mqtt_msg_free(msg);
	CU_ASSERT_PTR_NULL(hw_mqtt_next(rsp));
	CU_ASSERT_FALSE(fd_readable(rsp, 0)); /* drained: the fd is quiet again */

	msg = wait_msg(req, rtopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 11);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "{\"ok\":true}", 11), 0);
	CU_ASSERT_PTR_NULL(msg->response_topic);
	CU_ASSERT_EQUAL_FATAL(msg->corr_len, sizeof(corr));
	CU_ASSERT_EQUAL(memcmp(msg->corr, corr, sizeof(corr)), 0);
	hw_mqtt_msg_free(msg);

	/* QoS 0 publish_wait returns once the message is written */
	CU_ASSERT_EQUAL(hw_mqtt_publish_wait(req, qtopic, "q0", 2, 0, false, 5000, &err), HW_OK);
	msg = wait_msg(rsp, qtopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->qos, 0);
	CU_ASSERT_EQUAL(msg->len, 2);
	hw_mqtt_msg_free(msg);

	/* a plain publish carries no properties */
	CU_ASSERT_EQUAL(hw_mqtt_publish(req, qtopic, "", 0, 0, false, &err), HW_OK);
	msg = wait_msg(rsp, qtopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 0);
	CU_ASSERT_EQUAL(msg->qos, 0);
	CU_ASSERT_PTR_NULL(msg->response_topic);
	CU_ASSERT_PTR_NULL(msg->corr);
	hw_mqtt_msg_free(msg);

	CU_ASSERT_EQUAL(hw_mqtt_disconnect(req, 1000), HW_OK);
	CU_ASSERT_FALSE(hw_mqtt_connected(req));
	CU_ASSERT_EQUAL(hw_mqtt_losses(req), 0);
	hw_mqtt_free(req);
	hw_mqtt_free(rsp);
}

/* b. A retained message reaches a later subscriber with retained=true; an empty retained
 * publish clears it. */
static void TEST_retained_survives_reconnect(void)
{
	hw_mqtt_t *pub = client_up("hwt_rpub"), *s1 = client_up("hwt_rs1"), *s2, *s3;
	char base[64], topic[128];
	hw_mqtt_msg_t *msg;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
	hwt_unique_name(base, sizeof(base), "ret");
	topic_of(topic, sizeof(topic), base, "status");
	CU_ASSERT_EQUAL_FATAL(pubw(pub, topic, "online 7", 1, true), HW_OK);

	CU_ASSERT_EQUAL_FATAL(sub(s1, topic, 1), HW_OK);
	msg = wait_msg(s1, topic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_TRUE(msg->retained);
	CU_ASSERT_EQUAL(msg->len, 8);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "online 7", 8), 0);
	hw_mqtt_msg_free(msg);
	CU_ASSERT_EQUAL(hw_mqtt_disconnect(s1, 1000), HW_OK);
	hw_mqtt_free(s1);

	s2 = client_up("hwt_rs2"); /* a new client: a new session */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
	CU_ASSERT_EQUAL_FATAL(sub(s2, topic, 1), HW_OK);
	msg = wait_msg(s2, topic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_TRUE(msg->retained);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "online 7", 8), 0);
	hw_mqtt_msg_free(msg);

	/* clear it: the live subscriber sees the empty message, a new one sees nothing retained */
	CU_ASSERT_EQUAL_FATAL(pubw(pub, topic, "", 1, true), HW_OK);
	msg = wait_msg(s2, topic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 0);
	hw_mqtt_msg_free(msg);

	s3 = client_up("hwt_rs3");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s3);
	CU_ASSERT_EQUAL_FATAL(sub(s3, topic, 1), HW_OK);
	/* A retained message would be queued at SUBSCRIBE, before this later publish. */
	CU_ASSERT_EQUAL_FATAL(pubw(pub, topic, "marker", 1, false), HW_OK);
	msg = wait_msg(s3, topic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_FALSE(msg->retained);
	CU_ASSERT_EQUAL(msg->len, 6);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "marker", 6), 0);
	hw_mqtt_msg_free(msg);

	hw_mqtt_free(pub);
	hw_mqtt_free(s2);
	hw_mqtt_free(s3);
}

/* c. A killed client's will is published at once; a clean disconnect publishes none. */
static void TEST_last_will(void)
{
	hw_mqtt_t *w = client_up("hwt_watch"), *clean;
	hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
	char base[64], wtopic[128], rtopic[128], ctopic[128], cid[96];
	hw_mqtt_msg_t *msg;
	int64_t t_kill, latency;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	hwt_unique_name(base, sizeof(base), "will");
	topic_of(wtopic, sizeof(wtopic), base, "status");
	topic_of(rtopic, sizeof(rtopic), base, "ready");
	topic_of(ctopic, sizeof(ctopic), base, "clean");
	CU_ASSERT_EQUAL_FATAL(sub(w, wtopic, 1), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(w, rtopic, 1), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(w, ctopic, 1), HW_OK);

	hwt_unique_name(cid, sizeof(cid), "hwt_child");
	pid = spawn_will_child(cid, wtopic, rtopic, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE_FATAL(wait_payload(w, rtopic, "1", 10000));
	t_kill = hwt_now_ms();
	CU_ASSERT(hwt_kill_wait(pid, SIGKILL, 5000) >= 0);
	msg = wait_msg(w, wtopic, 5000);
	latency = hwt_now_ms() - t_kill;
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 6);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "lost 1", 6), 0);
	CU_ASSERT_EQUAL(msg->qos, 1);
	hw_mqtt_msg_free(msg);
	CU_ASSERT(latency < 2000); /* the broker sees the reset at once; no keepalive involved */
	printf("[will %lld ms after SIGKILL] ", (long long)latency);

	/* clean disconnect: no will */
	clean = client_opts(broker.url, "hwt_clean", NULL, 0, true, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clean);
	will.topic = ctopic;
	will.payload = "lost";
	will.len = 4;
	CU_ASSERT_EQUAL_FATAL(connect_retry(clean, &will, 5000), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_disconnect(clean, 1000), HW_OK);
	CU_ASSERT_FALSE(hw_mqtt_connected(clean));
	CU_ASSERT_EQUAL(hw_mqtt_losses(clean), 0);
	hw_mqtt_free(clean);
	CU_ASSERT_EQUAL_FATAL(pubw(w, ctopic, "marker", 1, false), HW_OK);
	msg = wait_msg(w, ctopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 6);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "marker", 6), 0);
	hw_mqtt_msg_free(msg);
	/* the window in which a late will would show up (nothing else is published there) */
	msg = wait_msg(w, ctopic, 300);
	CU_ASSERT_PTR_NULL(msg);
	hw_mqtt_msg_free(msg);
	hw_mqtt_free(w);
}

/* The MQTT 5 will delay holds the will back (the agent's optional flap damping). */
static void TEST_will_delay(void)
{
	hw_mqtt_t *w = client_up("hwt_dwatch");
	char base[64], wtopic[128], rtopic[128], cid[96];
	hw_mqtt_msg_t *msg;
	int64_t t_kill, latency;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	hwt_unique_name(base, sizeof(base), "wdelay");
	topic_of(wtopic, sizeof(wtopic), base, "status");
	topic_of(rtopic, sizeof(rtopic), base, "ready");
	CU_ASSERT_EQUAL_FATAL(sub(w, wtopic, 1), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(w, rtopic, 1), HW_OK);
	hwt_unique_name(cid, sizeof(cid), "hwt_dchild");
	pid = spawn_will_child(cid, wtopic, rtopic, "2");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE_FATAL(wait_payload(w, rtopic, "1", 10000));
	t_kill = hwt_now_ms();
	CU_ASSERT(hwt_kill_wait(pid, SIGKILL, 5000) >= 0);
	msg = wait_msg(w, wtopic, 8000);
	latency = hwt_now_ms() - t_kill;
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 6);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "lost 1", 6), 0);
	hw_mqtt_msg_free(msg);
	CU_ASSERT(latency >= 900); /* held back (mosquitto counts the 2 s delay in whole seconds) */
	CU_ASSERT(latency < 6000);
	printf("[delayed will %lld ms after SIGKILL] ", (long long)latency);
	hw_mqtt_free(w);
}

/* d. A persistent session keeps QoS 1 messages published while its client is away. */
static void TEST_persistent_session(void)
{
	hw_mqtt_t *s, *pub = client_up("hwt_ppub");
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	char base[64], topic[128], id[96], payload[16];
	hw_mqtt_msg_t *msg;
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	hwt_unique_name(base, sizeof(base), "sess");
	topic_of(topic, sizeof(topic), base, "ev");
	s = client_opts(broker.url, "hwt_psub", id, sizeof(id), false, 300);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(s, NULL, &err), HW_OK);
	CU_ASSERT_FALSE(hw_mqtt_session_present(s));
	CU_ASSERT_EQUAL_FATAL(sub(s, topic, 1), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_disconnect(s, 1000), HW_OK);
	hw_mqtt_free(s); /* a new process would come back with a new handle */

	for(int i = 0; i < 5; i++){
		snprintf(payload, sizeof(payload), "m%d", i);
		CU_ASSERT_EQUAL_FATAL(pubw(pub, topic, payload, 1, false), HW_OK);
	}

	o.url = broker.url;
	o.client_id = id;
	o.clean_start = false;
	o.session_expiry_s = 300;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&s, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(s, NULL, &err), HW_OK);
	CU_ASSERT_TRUE(hw_mqtt_session_present(s));
	for(int i = 0; i < 5; i++) { /* no new SUBSCRIBE: the session kept it */
		snprintf(payload, sizeof(payload), "m%d", i);
		msg = wait_msg(s, topic, 5000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		CU_ASSERT_EQUAL(msg->len, strlen(payload));
		CU_ASSERT_EQUAL(memcmp(msg->payload, payload, msg->len), 0);
		CU_ASSERT_EQUAL(msg->qos, 1);
		hw_mqtt_msg_free(msg);
	}
	hw_mqtt_free(s);

	/* clean_start ends the session: nothing was kept this time */
	o.clean_start = true;
	o.session_expiry_s = 0;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&s, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(s, NULL, &err), HW_OK);
	CU_ASSERT_FALSE(hw_mqtt_session_present(s));
	hw_mqtt_free(s);
	hw_mqtt_free(pub);
}

/* e. After a broker restart the same handle reconnects with a new will, and the new will
 * (not the old one) is what the broker publishes when that client dies. */
static void TEST_reconnect_new_will_after_restart(void)
{
	hw_mqtt_t *w = client_up("hwt_rwatch"), *a;
	hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
	char base[64], wtopic[128], rtopic[128], atopic[128], cid[96];
	hw_mqtt_msg_t *msg;
	hw_error_t err;
	pid_t pid;

	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	hwt_unique_name(base, sizeof(base), "rst");
	topic_of(wtopic, sizeof(wtopic), base, "status");
	topic_of(rtopic, sizeof(rtopic), base, "ready");
	topic_of(atopic, sizeof(atopic), base, "a");
	CU_ASSERT_EQUAL_FATAL(sub(w, rtopic, 1), HW_OK);

	hwt_unique_name(cid, sizeof(cid), "hwt_rchild");
	pid = spawn_will_child(cid, wtopic, rtopic, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_TRUE_FATAL(wait_payload(w, rtopic, "1", 10000));

	a = client_opts(broker.url, "hwt_ra", NULL, 0, true, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	will.topic = atopic;
	will.payload = "lost 1";
	will.len = 6;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(a, &will, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_connect(a, &will, &err), HW_ERR_STATE);
	while((msg = hw_mqtt_next(a))) hw_mqtt_msg_free(msg); /* drain the connect's state change */

	CU_ASSERT_EQUAL_FATAL(hwt_broker_restart(&broker), 0);

	/* the loss shows on the fd, in the state and the counters */
	CU_ASSERT_TRUE(fd_readable(a, 5000));
	CU_ASSERT_TRUE_FATAL(wait_lost(a, 5000));
	CU_ASSERT_EQUAL(hw_mqtt_losses(a), 1);
	hw_mqtt_last_error(a, &err);
	CU_ASSERT_EQUAL(err.code, HW_ERR_MQTT);
	CU_ASSERT(strlen(err.msg) > 0);
	CU_ASSERT_EQUAL(hw_mqtt_publish(a, atopic, "x", 1, 1, false, &err), HW_ERR_AGAIN);

	/* same handle, new will */
	will.payload = "lost 2";
	CU_ASSERT_EQUAL_FATAL(connect_retry(a, &will, 10000), HW_OK);
	CU_ASSERT_TRUE(hw_mqtt_connected(a));
	hw_mqtt_last_error(a, &err);
	CU_ASSERT_EQUAL(err.code, HW_OK);
	CU_ASSERT_EQUAL(pubw(a, atopic, "after restart", 1, false), HW_OK);

	/* the watcher lost its connection too: it reconnects and subscribes again */
	CU_ASSERT_TRUE_FATAL(wait_lost(w, 5000));
	CU_ASSERT_EQUAL_FATAL(connect_retry(w, NULL, 10000), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(w, wtopic, 1), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(w, rtopic, 1), HW_OK);
	CU_ASSERT_TRUE_FATAL(wait_payload(w, rtopic, "2", 20000)); /* the child reconnected (retained) */

	CU_ASSERT(hwt_kill_wait(pid, SIGKILL, 5000) >= 0);
	msg = wait_msg(w, wtopic, 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 6);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "lost 2", 6), 0); /* the new will, not the first one */
	hw_mqtt_msg_free(msg);

	hw_mqtt_free(a);
	hw_mqtt_free(w);
}

/* Broker refusals come back as reason codes: an over-size publish is refused, the
 * connection survives. */
static void TEST_publish_refused_reason(void)
{
	hw_mqtt_t *m = client_up("hwt_big");
	size_t big = 70000; /* test.conf: message_size_limit 65536 */
	char *payload = calloc(1, big);
	hw_error_t err;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
	memset(payload, 'a', big);
	rc = hw_mqtt_publish_wait(m, "hwt/big/x", payload, big, 1, false, 5000, &err);
	CU_ASSERT_EQUAL(rc, HW_ERR_MQTT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "refused by the broker"));
	printf("[%s] ", err.msg);
	CU_ASSERT_TRUE(hw_mqtt_connected(m));
	CU_ASSERT_EQUAL(pubw(m, "hwt/big/x", "small", 1, false), HW_OK);
	free(payload);
	hw_mqtt_free(m);
}

/* Nothing listening: a quick, clear failure (no hang until a timeout). */
static void TEST_connect_refused(void)
{
	char url[64];
	hw_mqtt_t *m;
	hw_error_t err;
	int64_t t0;
	int rc;

	snprintf(url, sizeof(url), "mqtt://127.0.0.1:%d", hwt_free_port());
	m = client_opts(url, "hwt_nobody", NULL, 0, true, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	t0 = hwt_now_ms();
	rc = hw_mqtt_connect(m, NULL, &err);
	CU_ASSERT_EQUAL(rc, HW_ERR_MQTT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "127.0.0.1"));
	CU_ASSERT(hwt_now_ms() - t0 < 3000);
	CU_ASSERT_FALSE(hw_mqtt_connected(m));
	hw_mqtt_free(m);
}

/* A frozen broker: connect times out on our deadline; after the broker thaws the same
 * handle connects (the abandoned attempt is cleaned up, not left half-connected). */
static void TEST_connect_timeout_then_recover(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[96];
	int64_t t0;
	int rc;

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	hwt_unique_name(id, sizeof(id), "hwt_frozen");
	o.url = b.url;
	o.client_id = id;
	o.connect_timeout_ms = 2000;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&m, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_pause(&b), 0);
	t0 = hwt_now_ms();
	rc = hw_mqtt_connect(m, NULL, &err);
	CU_ASSERT_EQUAL(rc, HW_ERR_TIMEOUT);
	CU_ASSERT(hwt_now_ms() - t0 >= 1900);
	CU_ASSERT(hwt_now_ms() - t0 < 3000); /* our deadline, not Paho's 3 s timer */
	CU_ASSERT_FALSE(hw_mqtt_connected(m));
	CU_ASSERT_EQUAL(hwt_broker_resume(&b), 0);
	CU_ASSERT_EQUAL(connect_retry(m, NULL, 15000), HW_OK);
	CU_ASSERT_TRUE(hw_mqtt_connected(m));
	CU_ASSERT_EQUAL(pubw(m, "hwt/frozen/x", "ok", 1, false), HW_OK);
	hw_mqtt_free(m);
	hwt_broker_cleanup(&b);
}

/* Passwords and ACLs: refusals become HW_ERR_FORBIDDEN with the broker's reason. */
static void TEST_auth_and_acl(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	char dir[256], pw[320], acl[320], conf[1024], id[96];
	const char *argv[] = {"mosquitto_passwd", "-b", pw, "alice", "s3cret", NULL};
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	FILE *f;
	int status = -1;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(hwt_tmpdir(dir, sizeof(dir), "hwt_auth"), 0);
	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(acl, sizeof(acl), "%s/acl", dir);
	f = fopen(pw, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	pid = hwt_spawn(argv, NULL);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(hwt_wait_pid(pid, 10000, &status), 0);
	CU_ASSERT_EQUAL_FATAL(status, 0);
	f = fopen(acl, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("user alice\ntopic readwrite hwt/ok/#\ntopic read hwt/ro/#\n", f);
	fclose(f);
	snprintf(conf, sizeof(conf),
			"per_listener_settings false\nallow_anonymous false\npassword_file %s\nacl_file %s\n"
			"listener 1883 127.0.0.1\npersistence false\nlog_dest stderr\n",
			pw, acl);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start_text(&b, conf), 0);

	hwt_unique_name(id, sizeof(id), "hwt_alice");
	o.url = b.url;
	o.client_id = id;
	o.username = "alice";
	o.password = "wrong";
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&m, &o, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_connect(m, NULL, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT(strstr(err.msg, "not authorized") || strstr(err.msg, "bad user name or password"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "wrong"));
	printf("[%s] ", err.msg);
	hw_mqtt_free(m);

	o.password = "s3cret";
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&m, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(m, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_publish_wait(m, "hwt/ok/x", "y", 1, 1, false, 5000, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_publish_wait(m, "hwt/ro/x", "y", 1, 1, false, 5000, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not authorized"));
	/* mosquitto 2.0.11 grants every SUBSCRIBE and applies read ACLs at delivery, so there
	 * is no SUBACK refusal to provoke here; the subscription itself must work. */
	CU_ASSERT_EQUAL(hw_mqtt_subscribe(m, "hwt/ro/#", 1, &err), HW_OK);
	CU_ASSERT_TRUE(hw_mqtt_connected(m));
	hw_mqtt_free(m);
	hwt_broker_cleanup(&b);
}

static atomic_int trace_lines, trace_connect_info;

static void trace_cb(int level, const char *line)
{
	atomic_fetch_add(&trace_lines, 1);
	if(strstr(line, "-> CONNECT") && level == HW_MQTT_TRACE_INFO) atomic_store(&trace_connect_info, 1);
}

/* Paho's trace reaches the hook (protocol lines at INFO) and stops when it is removed. */
static void TEST_trace_hook(void)
{
	hw_mqtt_t *m;
	int n;

	hw_mqtt_trace(trace_cb, HW_MQTT_TRACE_INFO);
	m = client_up("hwt_trace");
	CU_ASSERT_PTR_NOT_NULL(m);
	hw_mqtt_free(m);
	hw_mqtt_trace(NULL, HW_MQTT_TRACE_INFO);
	CU_ASSERT(atomic_load(&trace_lines) > 0);
	CU_ASSERT_EQUAL(atomic_load(&trace_connect_info), 1);
	n = atomic_load(&trace_lines);
	m = client_up("hwt_notrace");
	CU_ASSERT_PTR_NOT_NULL(m);
	hw_mqtt_free(m);
	CU_ASSERT_EQUAL(atomic_load(&trace_lines), n);
}

/* Runs argv to completion (deadline 20 s); 0 when it exited 0. */
static int run(const char *const argv[], const char *log)
{
	pid_t pid = hwt_spawn(argv, log);
	int status = -1;

	if(pid <= 0) return -1;
	if(hwt_wait_pid(pid, 20000, &status) != 0){
		hwt_kill_wait(pid, SIGKILL, 1000);
		return -1;
	}
	return status == 0 ? 0 : -1;
}

/* mqtts:// with the CA file verifies the broker (certificate and host name) and works end
 * to end; without the CA, or with a certificate for another name, the connect fails. */
static void TEST_tls(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	char dir[256], key[320], crt[320], key2[320], crt2[320], log[320], conf[2048], url[64], id[96];
	const char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			"-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out",
			crt, NULL};
	/* a certificate for another host name, served on a second listener */
	const char *argv2[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
			"-days", "2", "-subj", "/CN=other.invalid", "-addext", "subjectAltName=DNS:other.invalid", "-keyout",
			key2, "-out", crt2, NULL};
	hw_mqtt_t *m = NULL, *s = NULL;
	hw_mqtt_msg_t *msg;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hwt_tmpdir(dir, sizeof(dir), "hwt_tls"), 0);
	snprintf(key, sizeof(key), "%s/server.key", dir);
	snprintf(crt, sizeof(crt), "%s/server.crt", dir);
	snprintf(key2, sizeof(key2), "%s/other.key", dir);
	snprintf(crt2, sizeof(crt2), "%s/other.crt", dir);
	snprintf(log, sizeof(log), "%s/openssl.log", dir);
	CU_ASSERT_EQUAL_FATAL(run(argv, log), 0);
	CU_ASSERT_EQUAL_FATAL(run(argv2, log), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(key, 0644), 0); /* mosquitto may drop root privileges */
	CU_ASSERT_EQUAL_FATAL(chmod(key2, 0644), 0);
	snprintf(conf, sizeof(conf),
			"per_listener_settings false\nallow_anonymous true\npersistence false\nlog_dest stderr\n"
			"listener 8883 127.0.0.1\ncertfile %s\nkeyfile %s\n"
			"listener 8884 127.0.0.1\ncertfile %s\nkeyfile %s\n",
			crt, key, crt2, key2);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start_text(&b, conf), 0);
	CU_ASSERT_EQUAL_FATAL(b.nports, 2);
	snprintf(url, sizeof(url), "mqtts://127.0.0.1:%d", b.port);

	hwt_unique_name(id, sizeof(id), "hwt_tls_ok");
	o.url = url;
	o.client_id = id;
	o.cafile = crt;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&m, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(m, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_subscribe(m, "hwt/tls/x", 1, &err), HW_OK);
	CU_ASSERT_EQUAL(pubw(m, "hwt/tls/x", "over tls", 1, false), HW_OK);
	msg = wait_msg(m, "hwt/tls/x", 5000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_EQUAL(msg->len, 8);
	CU_ASSERT_EQUAL(memcmp(msg->payload, "over tls", 8), 0);
	hw_mqtt_msg_free(msg);

	hwt_unique_name(id, sizeof(id), "hwt_tls_noca");
	o.cafile = NULL; /* system CAs: the self-signed broker is not trusted */
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&s, &o, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_connect(s, NULL, &err), HW_ERR_MQTT);
	printf("[untrusted: %s] ", err.msg);
	CU_ASSERT_FALSE(hw_mqtt_connected(s));
	hw_mqtt_free(s);

	/* a trusted certificate for another name: host verification refuses it */
	snprintf(url, sizeof(url), "mqtts://127.0.0.1:%d", b.ports[1]);
	hwt_unique_name(id, sizeof(id), "hwt_tls_name");
	o.cafile = crt2;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&s, &o, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_connect(s, NULL, &err), HW_ERR_MQTT);
	CU_ASSERT_FALSE(hw_mqtt_connected(s));
	hw_mqtt_free(s);
	hw_mqtt_free(m);
	hwt_broker_cleanup(&b);
}

typedef struct pub_thread {
	hw_mqtt_t *m;
	const char *topic;
	int id, n, failures;
} pub_thread_t;

static void *pub_thread_main(void *arg)
{
	pub_thread_t *t = arg;
	char payload[32];
	hw_error_t err;

	for(int i = 0; i < t->n; i++){
		snprintf(payload, sizeof(payload), "%d:%d", t->id, i);
		if(hw_mqtt_publish_wait(t->m, t->topic, payload, strlen(payload), 1, false, 10000, &err) != HW_OK) t->failures++;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Several threads publish on one handle (the collector's shape) while a subscriber reads;
 * every message arrives, and a QoS 0 publish costs microseconds. */
static void TEST_threads_and_publish_cost(void)
{
	enum { THREADS = 4, PER = 250, N0 = 5000, NRTT = 200 };
	hw_mqtt_t *pub = client_up("hwt_mpub"), *s = client_up("hwt_msub");
	pub_thread_t t[THREADS];
	pthread_t tid[THREADS];
	char base[64], topic[128], t0topic[128];
	static unsigned char seen[THREADS][PER];
	static int64_t cost[N0];
	int64_t rtt[NRTT];
	hw_mqtt_msg_t *msg;
	hw_error_t err;
	int got = 0, dup = 0, a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	hwt_unique_name(base, sizeof(base), "mt");
	topic_of(topic, sizeof(topic), base, "ev");
	topic_of(t0topic, sizeof(t0topic), base, "hb");
	CU_ASSERT_EQUAL_FATAL(sub(s, topic, 1), HW_OK);
	memset(seen, 0, sizeof(seen));
	for(int i = 0; i < THREADS; i++){
		t[i] = (pub_thread_t){.m = pub, .topic = topic, .id = i, .n = PER};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, pub_thread_main, &t[i]), 0);
	}
	while(got < THREADS * PER){
		msg = wait_msg(s, topic, 10000);
		if(!msg) break;
		if(sscanf(msg->payload, "%d:%d", &a, &b) == 2 && a >= 0 && a < THREADS && b >= 0 && b < PER){
			if(seen[a][b]) dup++;
			else {
				seen[a][b] = 1;
				got++;
			}
		}
		hw_mqtt_msg_free(msg);
	}
	for(int i = 0; i < THREADS; i++){
		pthread_join(tid[i], NULL);
		CU_ASSERT_EQUAL(t[i].failures, 0);
	}
	CU_ASSERT_EQUAL(got, THREADS * PER);
	CU_ASSERT_EQUAL(dup, 0);

	/* QoS 0 publish cost, measured per call from one thread */
	for(int i = 0; i < N0; i++){
		int64_t t1 = now_ns();
		int rc = hw_mqtt_publish(pub, t0topic, "{\"v\":1,\"seq\":1}", 16, 0, false, &err);
		cost[i] = now_ns() - t1;
		if(rc != HW_OK){
			CU_FAIL("QoS 0 publish failed");
			break;
		}
	}
	qsort(cost, N0, sizeof(cost[0]), cmp_i64);
	/* QoS 1 publish_wait round trip (PUBACK) */
	for(int i = 0; i < NRTT; i++){
		int64_t t1 = now_ns();
		CU_ASSERT_EQUAL(hw_mqtt_publish_wait(pub, t0topic, "x", 1, 1, false, 5000, &err), HW_OK);
		rtt[i] = now_ns() - t1;
	}
	qsort(rtt, NRTT, sizeof(rtt[0]), cmp_i64);
	printf("[QoS0 publish: median %.1f us, p99 %.1f us, max %.1f us; QoS1 PUBACK rtt median %.0f us, p99 %.0f us] ",
			cost[N0 / 2] / 1e3, cost[N0 * 99 / 100] / 1e3, cost[N0 - 1] / 1e3, rtt[NRTT / 2] / 1e3,
			rtt[NRTT * 99 / 100] / 1e3);
	CU_ASSERT(cost[N0 / 2] < 50000);          /* median under 50 us, even in a Debug/ASan build */
	CU_ASSERT(cost[N0 * 99 / 100] < 5000000); /* p99 under 5 ms, even on a busy 2-core box */
	hw_mqtt_free(pub);
	hw_mqtt_free(s);
}

int main(int argc, char **argv)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_options_and_idle_client),
		HWTEST(TEST_roundtrip_properties),
		HWTEST(TEST_retained_survives_reconnect),
		HWTEST(TEST_last_will),
		HWTEST(TEST_will_delay),
		HWTEST(TEST_persistent_session),
		HWTEST(TEST_publish_refused_reason),
		HWTEST(TEST_connect_refused),
		HWTEST(TEST_trace_hook),
		HWTEST(TEST_threads_and_publish_cost),
		HWTEST(TEST_reconnect_new_will_after_restart),
		HWTEST(TEST_connect_timeout_then_recover),
		HWTEST(TEST_auth_and_acl),
		HWTEST(TEST_tls),
		HWTEST_END
	};
	/* clang-format on */

	if(argc >= 2 && strcmp(argv[1], "--will-child") == 0) return will_child(argc, argv);
	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("broker", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
