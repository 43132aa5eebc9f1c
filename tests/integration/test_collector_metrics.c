/* test_collector_metrics.c: heartwire-collector's metrics and health against a real mosquitto,
 * a real MongoDB-compatible store and the real heartwire-agent: /metrics scraped with a plain
 * socket HTTP client and checked line by line against the Prometheus text format 0.0.4; sessions
 * by state follow an agent that starts and is SIGKILLed (lost by will counted); invalid messages
 * counted by reason; the retained {root}/collector/{id}/metrics JSON; /healthz and /readyz 200
 * while up, 503 while the store is frozen (SIGSTOP) and while the broker is stopped, then back
 * to 200. */
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpc.h"
#include "promtext.h"
#include "test_collector_common.h"

#define INTERVAL 200
#define HEALTH_TIMEOUT_MS 1500

static tc_env_t env;
static tc_watch_t w;
static int http_port;
static char listen_at[64];

static int suite_init(void)
{
	const char *extra[] = {"--http-listen", listen_at, "--metrics-ms", "300", "--health-timeout-ms", "1500", NULL};

	mongoc_init();
	if(tc_env_start(&env) != 0) return -1;
	http_port = hwt_free_port();
	if(http_port <= 0) return -1;
	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", http_port);
	if(tc_collector_start(&env, extra) != 0) return -1;
	return tc_watch_open(&w, env.broker.url);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 80);
	tc_watch_close(&w);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

/* ------------------------------------------------------------------ scraping */

/* GET /metrics; returns the body (caller frees) when the status is 200 and the text passes
 * the format check, else NULL (after saying why). */
static char *scrape(void)
{
	hwt_http_resp_t r;
	char why[256];

	if(hwt_http(http_port, "GET", "/metrics", 5000, &r) != 0) return NULL;
	if(r.status != 200){
		fprintf(stderr, "/metrics answered %d\n", r.status);
		hwt_http_free(&r);
		return NULL;
	}
	if(hwt_prom_check(r.body, r.len, why, sizeof(why)) < 0){
		fprintf(stderr, "/metrics is not valid Prometheus text: %s\n", why);
		hwt_http_free(&r);
		return NULL;
	}
	return r.body;
}

/* One sample's value from a fresh scrape; NAN when it cannot be had. */
static double metric(const char *series)
{
	char *text = scrape();
	double v = NAN;

	if(text && !hwt_prom_value(text, series, &v)) v = NAN;
	free(text);
	return v;
}

/* GET path; returns the status (-1 on failure) and copies the body into body. */
static int get(const char *path, char *body, size_t len)
{
	hwt_http_resp_t r;
	int status;

	body[0] = '\0';
	if(hwt_http(http_port, "GET", path, 5000, &r) != 0) return -1;
	status = r.status;
	snprintf(body, len, "%s", r.body ? r.body : "");
	hwt_http_free(&r);
	return status;
}

static bool health_is(int want, const char *needle)
{
	char body[2048];

	return get("/healthz", body, sizeof(body)) == want && (!needle || strstr(body, needle));
}

/* Kills the supervised child of a session whose agent was killed (it would linger). */
static void kill_child(const char *sid)
{
	tc_state_t *s = tc_find(&w, sid);

	if(s && s->pid > 1) kill((pid_t)s->pid, SIGKILL);
}

/* ------------------------------------------------------------------ tests */

static void TEST_metrics_parse_and_name_every_family(void)
{
	static const char *const families[] = {"heartwire_collector_info", "heartwire_sessions", "heartwire_detections_total",
			"heartwire_false_alarms_total", "heartwire_messages_received_total", "heartwire_messages_ingested_total",
			"heartwire_messages_invalid_total", "heartwire_ingest_messages_per_second",
			"heartwire_store_write_duration_seconds", "heartwire_store_buffer_ops",
			"heartwire_store_buffer_bound_ops", "heartwire_store_errors_total", "heartwire_mqtt_connected",
			"heartwire_mqtt_connection_losses_total", "heartwire_mqtt_publishes_total",
			"heartwire_collector_healthy"};
	hwt_http_resp_t r;
	char why[256], ct[128], info[160];
	const char *p;
	int n;

	CU_ASSERT_EQUAL_FATAL(hwt_http(http_port, "GET", "/metrics", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(hwt_http_header(&r, "Content-Type", ct, sizeof(ct)), "text/plain; version=0.0.4; charset=utf-8");
	n = hwt_prom_check(r.body, r.len, why, sizeof(why));
	if(n < 0) fprintf(stderr, "\n  %s\n", why);
	CU_ASSERT(n > 50);
	for(size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++){
		if(!hwt_prom_has_metric(r.body, families[i])) fprintf(stderr, "\n  no metric %s\n", families[i]);
		CU_ASSERT(hwt_prom_has_metric(r.body, families[i]));
	}
	/* every sample has the heartwire_ prefix */
	for(p = r.body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL){
		if(*p != '#' && *p != '\n' && *p) CU_ASSERT_EQUAL(strncmp(p, "heartwire_", 10), 0);
	}
	snprintf(info, sizeof(info), "heartwire_collector_info{collector=\"%s\",version=\"%s\"} 1\n", env.id, HW_VERSION);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, info));
	{
		double v = NAN;
		CU_ASSERT(hwt_prom_value(r.body, "heartwire_mqtt_connected", &v) && v == 1);
		CU_ASSERT(hwt_prom_value(r.body, "heartwire_store_buffer_bound_ops", &v) && v == 100000);
		CU_ASSERT(hwt_prom_value(r.body, "heartwire_collector_healthy", &v) && v == 1);
	}
	hwt_http_free(&r);
}

static void TEST_healthz_and_readyz_ok_while_up(void)
{
	char body[2048];
	json_object *o, *x;

	CU_ASSERT_EQUAL(get("/healthz", body, sizeof(body)), 200);
	o = json_tokener_parse(body);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "status", &x) && strcmp(json_object_get_string(x), "ok") == 0);
	CU_ASSERT(json_object_object_get_ex(o, "broker", &x) && strcmp(json_object_get_string(x), "connected") == 0);
	CU_ASSERT(json_object_object_get_ex(o, "reasons", &x) && json_object_array_length(x) == 0);
	json_object_put(o);
	CU_ASSERT_EQUAL(get("/readyz", body, sizeof(body)), 200);
	CU_ASSERT_EQUAL(get("/nothing-here", body, sizeof(body)), 404);
}

static void TEST_sessions_by_state_follow_an_agent(void)
{
	const char *cmd[] = {"sleep", "60", NULL};
	double a0 = metric("heartwire_sessions{state=\"active\"}");
	double l0 = metric("heartwire_sessions{state=\"lost\"}");
	double d0 = metric("heartwire_detections_total{state=\"lost\",cause=\"will\"}");
	double r0 = metric("heartwire_messages_received_total");
	pid_t a;

	CU_ASSERT_FATAL(!isnan(a0) && !isnan(l0) && !isnan(d0) && !isnan(r0));
	a = tc_agent(&env, "m1", "s-metrics", INTERVAL, cmd);
	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-metrics", HW_STATE_ACTIVE, -1), 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_sessions{state=\"active\"}") == a0 + 1, 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_messages_received_total") > r0 + 3, 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_messages_ingested_total") > r0 + 3, 5000));
	/* heartbeats every 200 ms: the 10 s rate becomes positive, and writes reach the database */
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_ingest_messages_per_second") > 0, 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_store_written_total{collection=\"sessions\"}") > 0, 5000));
	CU_ASSERT(metric("heartwire_store_write_duration_seconds_count") > 0);

	CU_ASSERT_EQUAL(hwt_kill_wait(a, SIGKILL, 5000), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-metrics", HW_STATE_LOST, HW_CAUSE_WILL), 5000));
	kill_child("s-metrics");
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_sessions{state=\"lost\"}") == l0 + 1, 5000));
	CU_ASSERT_EQUAL(metric("heartwire_sessions{state=\"active\"}"), a0);
	CU_ASSERT_EQUAL(metric("heartwire_detections_total{state=\"lost\",cause=\"will\"}"), d0 + 1);
	CU_ASSERT_EQUAL(metric("heartwire_detections_total{state=\"lost\",cause=\"timeout\"}"), 0);
	CU_ASSERT(metric("heartwire_mqtt_publishes_total{retained=\"true\"}") > 0);
}

static void TEST_invalid_messages_counted_by_reason(void)
{
	tc_pub_t p;
	double b0 = metric("heartwire_messages_invalid_total{reason=\"bad_json\"}");
	double v0 = metric("heartwire_messages_invalid_total{reason=\"bad_version\"}");

	CU_ASSERT_FATAL(!isnan(b0) && !isnan(v0));
	CU_ASSERT_EQUAL_FATAL(tc_pub_open(&p, env.broker.url), 0);
	CU_ASSERT_EQUAL(tc_pub_raw(&p, HW_T_HB, "m1", "s-bad", "{nope", 5, false), 0);
	CU_ASSERT_EQUAL(tc_pub_raw(&p, HW_T_HB, "m1", "s-bad", "{\"v\":9}", 7, false), 0);
	tc_pub_close(&p);
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_messages_invalid_total{reason=\"bad_json\"}") == b0 + 1, 5000));
	CU_ASSERT(HWT_WAIT_UNTIL(metric("heartwire_messages_invalid_total{reason=\"bad_version\"}") == v0 + 1, 5000));
}

/* Waits up to timeout_ms for a message on the subscribed metrics topic; returns it or NULL. */
static hw_mqtt_msg_t *next_metrics(hw_mqtt_t *m, int timeout_ms)
{
	int64_t end = hwt_now_ms() + timeout_ms;
	hw_mqtt_msg_t *msg;

	while(hwt_now_ms() < end){
		if((msg = hw_mqtt_next(m))) return msg;
		hw_mqtt_wait(m, 50);
	}
	return hw_mqtt_next(m);
}

static int64_t json_int(json_object *o, const char *a, const char *b, const char *c)
{
	json_object *x = o;

	if(a && !json_object_object_get_ex(x, a, &x)) return -1;
	if(b && !json_object_object_get_ex(x, b, &x)) return -1;
	if(c && !json_object_object_get_ex(x, c, &x)) return -1;
	return json_object_get_int64(x);
}

static void TEST_retained_metrics_topic(void)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_mqtt_msg_t *msg;
	hw_error_t err;
	hw_topic_t t;
	char topic[HW_TOPIC_MAX], cid[64];
	json_object *doc, *x;
	int64_t at1;

	CU_ASSERT_EQUAL_FATAL(hw_topic_build(topic, sizeof(topic), TC_ROOT, HW_T_COLLECTOR_METRICS, NULL, env.id, &err), HW_OK);
	hwt_unique_name(cid, sizeof(cid), "tcmx");
	o.url = env.broker.url;
	o.client_id = cid;
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&m, &o, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(m, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_subscribe(m, topic, 1, &err), HW_OK);
	msg = next_metrics(m, 3000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT(msg->retained); /* the broker's retained copy comes first */
	CU_ASSERT_EQUAL(hw_topic_parse(TC_ROOT, msg->topic, strlen(msg->topic), &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t.kind, HW_T_COLLECTOR_METRICS);
	CU_ASSERT_STRING_EQUAL(t.id, env.id);
	doc = json_tokener_parse((const char *)msg->payload);
	if(!doc) fprintf(stderr, "\n  not JSON: %.200s\n", (const char *)msg->payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(json_int(doc, "v", NULL, NULL), 1);
	CU_ASSERT(json_object_object_get_ex(doc, "collector", &x) && strcmp(json_object_get_string(x), env.id) == 0);
	CU_ASSERT(json_object_object_get_ex(doc, "healthy", &x) && json_object_get_boolean(x));
	CU_ASSERT(json_int(doc, "sessions", "lost", NULL) >= 1);
	CU_ASSERT(json_int(doc, "detections", "lost", "will") >= 1);
	CU_ASSERT(json_int(doc, "messages", "received", NULL) > 0);
	CU_ASSERT(json_int(doc, "invalid_by_reason", "bad_json", NULL) >= 1);
	CU_ASSERT_EQUAL(json_int(doc, "store", "bound", NULL), 100000);
	CU_ASSERT(json_object_object_get_ex(doc, "mqtt", &x) && json_object_object_get_ex(x, "connected", &x) &&
			json_object_get_boolean(x));
	at1 = json_int(doc, "at", NULL, NULL);
	CU_ASSERT(at1 > 0);
	json_object_put(doc);
	hw_mqtt_msg_free(msg);
	/* and it keeps coming, every --metrics-ms (300 ms here) */
	msg = next_metrics(m, 3000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	CU_ASSERT_FALSE(msg->retained);
	doc = json_tokener_parse((const char *)msg->payload);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT(json_int(doc, "at", NULL, NULL) > at1);
	json_object_put(doc);
	hw_mqtt_msg_free(msg);
	hw_mqtt_free(m);
}

static void TEST_healthz_503_while_the_store_is_frozen(void)
{
	const char *cmd[] = {"sleep", "60", NULL};
	char body[2048];
	int64_t t0;
	pid_t a;

	if(env.store.external){
		/* A server the harness did not start cannot be frozen: the broker test below still runs. */
		CU_ASSERT_EQUAL(hwt_store_pause(&env.store), -1);
		return;
	}
	/* a live session keeps the store writing (heartbeat snapshots every --store-flush-ms) */
	a = tc_agent(&env, "m1", "s-frozen", INTERVAL, cmd);
	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-frozen", HW_STATE_ACTIVE, -1), 10000));
	CU_ASSERT(health_is(200, NULL));
	CU_ASSERT_EQUAL_FATAL(hwt_store_pause(&env.store), 0);
	t0 = hwt_now_ms();
	CU_ASSERT(HWT_WAIT_UNTIL(health_is(503, "store: a database write has been pending"), 15000));
	/* not before the timeout */
	CU_ASSERT(hwt_now_ms() - t0 >= HEALTH_TIMEOUT_MS - 100);
	CU_ASSERT_EQUAL(get("/healthz", body, sizeof(body)), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"status\":\"fail\""));
	/* /metrics still answers at once, and says so */
	t0 = hwt_now_ms();
	CU_ASSERT(metric("heartwire_store_pending_seconds") >= HEALTH_TIMEOUT_MS / 1000.0);
	CU_ASSERT(hwt_now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(metric("heartwire_collector_healthy"), 0);
	/* the ingest loop never waits for the database: the session stays live meanwhile */
	CU_ASSERT(tc_is(&w, "s-frozen", HW_STATE_ACTIVE, -1));
	CU_ASSERT_EQUAL(get("/readyz", body, sizeof(body)), 200);
	CU_ASSERT_EQUAL_FATAL(hwt_store_resume(&env.store), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(health_is(200, "\"status\":\"ok\""), 20000));
	CU_ASSERT_EQUAL(metric("heartwire_collector_healthy"), 1);
	CU_ASSERT_EQUAL(metric("heartwire_store_pending_seconds") < 1.0, 1);
	CU_ASSERT_EQUAL(hwt_kill_wait(a, SIGKILL, 5000), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(tc_is(&w, "s-frozen", HW_STATE_LOST, HW_CAUSE_WILL), 5000));
	kill_child("s-frozen");
}

/* Last: the watcher's connection does not survive the broker's stop. */
static void TEST_healthz_503_while_the_broker_is_down(void)
{
	double losses0 = metric("heartwire_mqtt_connection_losses_total");

	CU_ASSERT_FATAL(!isnan(losses0));
	CU_ASSERT(health_is(200, NULL));
	CU_ASSERT_EQUAL_FATAL(hwt_broker_stop(&env.broker), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(health_is(503, "broker: not connected"), 5000));
	CU_ASSERT_EQUAL(metric("heartwire_mqtt_connected"), 0);
	CU_ASSERT_EQUAL(metric("heartwire_collector_healthy"), 0);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&env.broker, NULL), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(health_is(200, "\"broker\":\"connected\""), 20000));
	CU_ASSERT_EQUAL(metric("heartwire_mqtt_connected"), 1);
	CU_ASSERT(metric("heartwire_mqtt_connection_losses_total") >= losses0 + 1);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_metrics_parse_and_name_every_family),
		HWTEST(TEST_healthz_and_readyz_ok_while_up),
		HWTEST(TEST_sessions_by_state_follow_an_agent),
		HWTEST(TEST_invalid_messages_counted_by_reason),
		HWTEST(TEST_retained_metrics_topic),
		HWTEST(TEST_healthz_503_while_the_store_is_frozen),
		HWTEST(TEST_healthz_503_while_the_broker_is_down),
		HWTEST_END
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_metrics", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
