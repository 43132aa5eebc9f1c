/* test_collector_metrics.c: unit tests of the collector's metrics (collector/metrics.c,
 * collector/histo.c) without a broker or a database: --http-listen parsing, the latency
 * histogram, the Prometheus text (checked by a strict format checker, itself shown to catch
 * broken text), the JSON, the health verdicts, the 10 s rate, and the HTTP server on a free
 * loopback port. */
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/clock.h"
#include "heartwire/topics.h"
#include "httpc.h"
#include "hwtest.h"
#include "metrics.h"
#include "promtext.h"

/* ------------------------------------------------------------------ --http-listen */

static void TEST_listen_parse(void)
{
	struct sockaddr_storage sa;
	socklen_t len = 0;
	bool on = true;
	hw_error_t err;
	static const char *const bad[] = {"x", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "1.2.3:80", "localhost:9464",
			"::1:9464", "[::1]", "[::1]9464", "[zz]:1", "127.0.0.1:80x", "127.0.0.1: 80", ":+80"};

	CU_ASSERT_EQUAL(hw_metrics_listen_parse("", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_FALSE(on);
	on = true;
	CU_ASSERT_EQUAL(hw_metrics_listen_parse("0", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_FALSE(on);
	CU_ASSERT_EQUAL(hw_metrics_listen_parse("127.0.0.1:9464", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_TRUE(on);
	CU_ASSERT_EQUAL(sa.ss_family, AF_INET);
	CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)(void *)&sa)->sin_port), 9464);
	CU_ASSERT_EQUAL(len, sizeof(struct sockaddr_in));
	CU_ASSERT_EQUAL(hw_metrics_listen_parse("9465", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_EQUAL(ntohl(((struct sockaddr_in *)(void *)&sa)->sin_addr.s_addr), INADDR_LOOPBACK);
	CU_ASSERT_EQUAL(hw_metrics_listen_parse("0.0.0.0:1", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_metrics_listen_parse("[::1]:9464", &on, &sa, &len, &err), HW_OK);
	CU_ASSERT_EQUAL(sa.ss_family, AF_INET6);
	CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in6 *)(void *)&sa)->sin6_port), 9464);
	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		hw_error_clear(&err);
		if(hw_metrics_listen_parse(bad[i], &on, &sa, &len, &err) != HW_ERR_CONFIG)
			fprintf(stderr, "\n  '%s' was accepted\n", bad[i]);
		CU_ASSERT_EQUAL(hw_metrics_listen_parse(bad[i], &on, &sa, &len, &err), HW_ERR_CONFIG);
		CU_ASSERT(err.msg[0] != '\0');
	}
}

/* ------------------------------------------------------------------ the histogram */

static void TEST_histogram(void)
{
	hw_histo_t h;

	memset(&h, 0, sizeof(h));
	CU_ASSERT_EQUAL(hw_histo_quantile_us(&h, 0.5), 0);
	for(int i = 1; i < HW_HISTO_BOUNDS; i++) CU_ASSERT(hw_histo_bound_us(i) > hw_histo_bound_us(i - 1));
	CU_ASSERT_EQUAL(hw_histo_bound_us(HW_HISTO_BOUNDS), -1);
	CU_ASSERT_EQUAL(hw_histo_bound_us(-1), -1);
	/* 100 observations of 1.5 ms (bucket (1, 2.5] ms) and one of 60 s (+Inf) */
	for(int i = 0; i < 100; i++) hw_histo_observe(&h, 1500);
	hw_histo_observe(&h, 60000000);
	hw_histo_observe(&h, -5); /* counts as 0 */
	CU_ASSERT_EQUAL(h.count, 102);
	CU_ASSERT_EQUAL(h.n[0], 1);
	CU_ASSERT_EQUAL(h.n[2], 100);
	CU_ASSERT_EQUAL(h.n[HW_HISTO_BOUNDS], 1);
	CU_ASSERT_EQUAL(h.sum_us, 100 * 1500 + 60000000);
	{
		double p50 = hw_histo_quantile_us(&h, 0.5);
		double p100 = hw_histo_quantile_us(&h, 1.0);
		CU_ASSERT(p50 > 1000 && p50 <= 2500);
		CU_ASSERT_EQUAL(p100, (double)hw_histo_bound_us(HW_HISTO_BOUNDS - 1));
	}
}

/* ------------------------------------------------------------------ a view */

static hw_metrics_view_t sample_view(void)
{
	hw_metrics_view_t v;

	memset(&v, 0, sizeof(v));
	v.id = "coll-\"1\""; /* never a valid id, but the renderers must escape whatever they get */
	v.version = "0.1.0";
	v.phase = HW_METRICS_RUNNING;
	v.now_mono = 100000;
	v.now_wall = 1763712000000;
	v.started_wall = 1763711000123;
	v.health_timeout_ms = 10000;
	v.s.valid = true;
	v.s.at_mono = 99900;
	v.s.n.received = 1000;
	v.s.n.invalid = 3;
	v.s.n.invalid_by_reason[HW_R_BAD_JSON] = 2;
	v.s.n.invalid_by_reason[HW_R_BAD_ID] = 1;
	v.s.n.detections[HW_STATE_LOST][HW_CAUSE_WILL] = 4;
	v.s.n.detections[HW_STATE_STALLED][HW_CAUSE_MISSED_HEARTBEATS] = 2;
	v.s.n.false_alarms = 1;
	v.s.n.published = 50;
	v.s.n.published_retained = 40;
	v.s.sessions[HW_STATE_ACTIVE] = 7;
	v.s.sessions[HW_STATE_LOST] = 2;
	v.s.projects = 3;
	v.s.machines = 2;
	v.s.q.len = 5;
	v.s.q.high_water = 90;
	v.s.q_cap = 100;
	v.s.rate_10s = 12.5;
	v.have_mqtt = true;
	v.mqtt_connected = true;
	v.mqtt_losses = 2;
	v.have_store = true;
	v.st.sessions_written = 11;
	v.st.retries = 1;
	hw_histo_observe(&v.st.write_latency, 800);
	hw_histo_observe(&v.st.write_latency, 3000);
	hw_histo_observe(&v.st.write_latency, 40000000);
	return v;
}

static double value(const char *text, const char *series)
{
	double d = NAN;

	if(!hwt_prom_value(text, series, &d)) fprintf(stderr, "\n  no sample %s\n", series);
	return d;
}

static void TEST_prometheus_text_is_valid(void)
{
	hw_metrics_view_t v = sample_view();
	char *text = NULL, why[256];
	size_t len = 0;
	double d = 0;
	int n;

	CU_ASSERT_EQUAL_FATAL(hw_metrics_prometheus(&v, &text, &len, NULL), HW_OK);
	CU_ASSERT_EQUAL(strlen(text), len);
	n = hwt_prom_check(text, len, why, sizeof(why));
	if(n < 0) fprintf(stderr, "\n  %s\n", why);
	CU_ASSERT(n > 50);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "heartwire_collector_info{collector=\"coll-\\\"1\\\"\",version=\"0.1.0\"} 1\n"));
	CU_ASSERT_EQUAL(value(text, "heartwire_sessions{state=\"active\"}"), 7);
	CU_ASSERT_EQUAL(value(text, "heartwire_sessions{state=\"lost\"}"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_detections_total{state=\"lost\",cause=\"will\"}"), 4);
	CU_ASSERT_EQUAL(value(text, "heartwire_detections_total{state=\"lost\",cause=\"timeout\"}"), 0);
	CU_ASSERT_EQUAL(value(text, "heartwire_detections_total{state=\"stalled\",cause=\"missed_heartbeats\"}"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_detections_total{state=\"crashed\",cause=\"signal\"}"), 0);
	/* only the causes a state may have */
	CU_ASSERT_FALSE(hwt_prom_value(text, "heartwire_detections_total{state=\"lost\",cause=\"signal\"}", &d));
	CU_ASSERT_EQUAL(value(text, "heartwire_false_alarms_total"), 1);
	CU_ASSERT_EQUAL(value(text, "heartwire_messages_received_total"), 1000);
	CU_ASSERT_EQUAL(value(text, "heartwire_messages_ingested_total"), 997);
	CU_ASSERT_EQUAL(value(text, "heartwire_messages_invalid_total{reason=\"bad_json\"}"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_messages_invalid_total{reason=\"mismatch\"}"), 0);
	CU_ASSERT_EQUAL(value(text, "heartwire_ingest_messages_per_second"), 12.5);
	CU_ASSERT(fabs(value(text, "heartwire_ingest_loop_age_seconds") - 0.1) < 1e-9);
	CU_ASSERT_EQUAL(value(text, "heartwire_mqtt_publishes_total{retained=\"true\"}"), 40);
	CU_ASSERT_EQUAL(value(text, "heartwire_mqtt_publishes_total{retained=\"false\"}"), 10);
	CU_ASSERT_EQUAL(value(text, "heartwire_mqtt_connection_losses_total"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_buffer_ops"), 5);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_buffer_bound_ops"), 100);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_errors_total{kind=\"transient\"}"), 1);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_write_duration_seconds_bucket{le=\"0.001\"}"), 1);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_write_duration_seconds_bucket{le=\"0.005\"}"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_write_duration_seconds_bucket{le=\"30\"}"), 2);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_write_duration_seconds_bucket{le=\"+Inf\"}"), 3);
	CU_ASSERT_EQUAL(value(text, "heartwire_store_write_duration_seconds_count"), 3);
	CU_ASSERT(fabs(value(text, "heartwire_store_write_duration_seconds_sum") - 40.0038) < 1e-6);
	CU_ASSERT(fabs(value(text, "heartwire_collector_start_time_seconds") - 1763711000.123) < 1e-6);
	CU_ASSERT_EQUAL(value(text, "heartwire_collector_healthy"), 1);
	free(text);
}

/* The checker must be able to say no: every broken text here is refused. */
static void TEST_format_checker_catches_faults(void)
{
	/* clang-format off */
	static const char *const bad[] = {
		"a_total 1\n",                                                        /* no TYPE */
		"# TYPE a counter\na 1",                                              /* no final newline */
		"# TYPE a counter\na one\n",                                          /* not a number */
		"# TYPE a counter\na -1\n",                                           /* negative counter */
		"# TYPE a gauge\na 1\na 2\n",                                         /* series twice */
		"# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\n",                         /* a split by b's TYPE */
		"# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n", /* a not contiguous */
		"# TYPE a gauge\na{x=\"1} 1\n",                                       /* label not closed */
		"# TYPE a gauge\na{x=\"\\q\"} 1\n",                                   /* bad escape */
		"# TYPE a gauge\na{1x=\"1\"} 1\n",                                    /* bad label name */
		"# TYPE a gauge\na{x=1} 1\n",                                         /* unquoted */
		"# TYPE a gauge\na 1 2 3\n",                                          /* junk */
		"# TYPE a gauge\na 1\n# HELP a late\n",                               /* HELP after samples */
		"# TYPE a gauge\n# TYPE a counter\na 1\n",                            /* two TYPEs */
		"# TYPE a widget\na 1\n",                                             /* unknown type */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_count 2\n",             /* no +Inf */
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 3\n",          /* count differs */
		"# TYPE h histogram\nh_bucket 2\n",                                   /* no le */
		"# TYPE h histogram\nh 2\n",                                          /* bare histogram sample */
		"# TYPE a gauge\na 1\r\n",                                            /* CR */
		"# HELP a x\n",                                                       /* HELP without TYPE */
	};
	/* clang-format on */
	char why[256];

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		int rc = hwt_prom_check(bad[i], strlen(bad[i]), why, sizeof(why));
		if(rc >= 0) fprintf(stderr, "\n  case %zu accepted: %s\n", i, bad[i]);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT(why[0] != '\0');
	}
	{
		const char *good = "# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
				   "h_sum 3.5\nh_count 2\n# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\n"
				   "# TYPE g gauge\ng{a=\"x\\\"y\\\\z\\n\",b=\"\"} -Inf 1700000000000\n";
		int rc = hwt_prom_check(good, strlen(good), why, sizeof(why));
		if(rc < 0) fprintf(stderr, "\n  good text refused: %s\n", why);
		CU_ASSERT_EQUAL(rc, 8);
	}
}

/* ------------------------------------------------------------------ JSON */

static void TEST_json_decodes(void)
{
	hw_metrics_view_t v = sample_view();
	char *text = NULL;
	size_t len;
	json_object *o, *x, *y;

	v.id = "coll-1";
	CU_ASSERT_EQUAL_FATAL(hw_metrics_json(&v, &text, &len, NULL), HW_OK);
	CU_ASSERT_EQUAL(strncmp(text, "{\"v\":1,", 7), 0);
	o = json_tokener_parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "collector", &x) && strcmp(json_object_get_string(x), "coll-1") == 0);
	CU_ASSERT(json_object_object_get_ex(o, "healthy", &x) && json_object_get_boolean(x));
	CU_ASSERT(json_object_object_get_ex(o, "sessions", &x) && json_object_object_get_ex(x, "active", &y) &&
			json_object_get_int64(y) == 7);
	CU_ASSERT(json_object_object_get_ex(o, "detections", &x) && json_object_object_get_ex(x, "lost", &y) &&
			json_object_object_get_ex(y, "will", &x) && json_object_get_int64(x) == 4);
	CU_ASSERT(json_object_object_get_ex(o, "messages", &x) && json_object_object_get_ex(x, "rate_10s", &y) &&
			json_object_get_double(y) == 12.5);
	CU_ASSERT(json_object_object_get_ex(o, "invalid_by_reason", &x) && json_object_object_get_ex(x, "bad_json", &y) &&
			json_object_get_int64(y) == 2);
	CU_ASSERT(json_object_object_get_ex(o, "store", &x) && json_object_object_get_ex(x, "write_ms", &y) &&
			json_object_object_get_ex(y, "p50", &x) && json_object_get_double(x) > 1.0 &&
			json_object_get_double(x) <= 5.0);
	json_object_put(o);
	free(text);
}

/* ------------------------------------------------------------------ health */

static bool has_reason(const hw_health_t *h, const char *needle)
{
	for(int i = 0; i < h->nreasons; i++){
		if(strstr(h->reasons[i], needle)) return true;
	}
	return false;
}

static void TEST_health_verdicts(void)
{
	hw_metrics_view_t v = sample_view();
	hw_health_t h;
	char *body;
	size_t len;

	hw_metrics_health(&v, &h);
	CU_ASSERT(h.healthy && h.ready && h.nreasons == 0);

	v = sample_view();
	v.phase = HW_METRICS_STARTING;
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && !h.ready && has_reason(&h, "starting"));

	v = sample_view();
	v.mqtt_connected = false;
	v.s.at_mono = 0; /* a loop that waits for the broker is not called stuck */
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && h.ready && has_reason(&h, "broker") && !has_reason(&h, "ingest"));

	v = sample_view();
	v.st.busy_since = v.now_mono - 10001;
	v.st.down = true;
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && has_reason(&h, "store: a database write has been pending for 10001 ms"));
	v.st.busy_since = v.now_mono - 9999; /* within the timeout: fine */
	hw_metrics_health(&v, &h);
	CU_ASSERT(h.healthy);

	v = sample_view();
	v.s.q.len = v.s.q_cap;
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && has_reason(&h, "buffer full"));

	v = sample_view();
	v.s.at_mono = v.now_mono - 10001;
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && !h.ready && has_reason(&h, "ingest"));

	v = sample_view();
	v.phase = HW_METRICS_STOPPING;
	v.mqtt_connected = false;
	hw_metrics_health(&v, &h);
	CU_ASSERT(!h.healthy && !h.ready && has_reason(&h, "stopping") && has_reason(&h, "broker"));
	CU_ASSERT_EQUAL_FATAL(hw_metrics_health_json(&v, &h, false, &body, &len, NULL), HW_OK);
	{
		json_object *o = json_tokener_parse(body), *x;
		CU_ASSERT_PTR_NOT_NULL_FATAL(o);
		CU_ASSERT(json_object_object_get_ex(o, "status", &x) && strcmp(json_object_get_string(x), "fail") == 0);
		CU_ASSERT(json_object_object_get_ex(o, "reasons", &x) && json_object_array_length(x) == 2);
		json_object_put(o);
	}
	free(body);
}

/* ------------------------------------------------------------------ the object, the rate, HTTP */

static hw_collector_cfg_t cfg;

static void TEST_update_and_rate(void)
{
	hw_metrics_t *mx = NULL;
	hw_collector_t c;
	hw_metrics_view_t v;
	hw_error_t err;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.id, sizeof(cfg.id), "c1");
	snprintf(cfg.topic_root, sizeof(cfg.topic_root), HW_TOPIC_ROOT_DEFAULT);
	cfg.health_timeout_ms = 10000;
	CU_ASSERT_EQUAL_FATAL(hw_metrics_new(&mx, &cfg, NULL, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_metrics_http_port(mx), 0);
	CU_ASSERT_EQUAL_FATAL(hw_collector_init(&c, &cfg, NULL, NULL, &err), HW_OK);
	hw_metrics_view(mx, &v);
	CU_ASSERT_FALSE(v.s.valid);
	/* 100 messages a second for 20 s, then nothing for 12 s */
	for(int t = 0; t <= 20; t++){
		c.n.received = (uint64_t)t * 100;
		hw_metrics_update(mx, &c, 1000000 + t * 1000);
	}
	hw_metrics_view(mx, &v);
	CU_ASSERT(v.s.valid);
	CU_ASSERT_EQUAL(v.s.n.received, 2000);
	CU_ASSERT(fabs(v.s.rate_10s - 100.0) < 0.01);
	for(int t = 21; t <= 32; t++) hw_metrics_update(mx, &c, 1000000 + t * 1000);
	hw_metrics_view(mx, &v);
	CU_ASSERT(v.s.rate_10s < 0.01);
	c.summary[HW_STATE_CRASHED] = 3;
	c.n.detections[HW_STATE_CRASHED][HW_CAUSE_SIGNAL] = 3;
	hw_metrics_update(mx, &c, 1040000);
	hw_metrics_view(mx, &v);
	CU_ASSERT_EQUAL(v.s.sessions[HW_STATE_CRASHED], 3);
	CU_ASSERT_EQUAL(v.s.n.detections[HW_STATE_CRASHED][HW_CAUSE_SIGNAL], 3);
	hw_metrics_update(NULL, &c, 0); /* no-op */
	hw_metrics_phase(NULL, HW_METRICS_RUNNING);
	hw_collector_cleanup(&c);
	hw_metrics_free(mx);
	hw_metrics_free(NULL);
}

static void TEST_http_server(void)
{
	hw_metrics_t *mx = NULL, *other = NULL;
	hw_collector_t c;
	hwt_http_resp_t r;
	hw_error_t err;
	char why[256], ct[128];
	int port;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.id, sizeof(cfg.id), "c1");
	snprintf(cfg.topic_root, sizeof(cfg.topic_root), HW_TOPIC_ROOT_DEFAULT);
	snprintf(cfg.http_listen, sizeof(cfg.http_listen), "127.0.0.1:0");
	cfg.health_timeout_ms = 10000;
	CU_ASSERT_EQUAL_FATAL(hw_metrics_new(&mx, &cfg, NULL, NULL, &err), HW_OK);
	port = hw_metrics_http_port(mx);
	CU_ASSERT_FATAL(port > 0);
	/* the same port again: a clear error, not a crash */
	{
		hw_collector_cfg_t cfg2 = cfg;
		snprintf(cfg2.http_listen, sizeof(cfg2.http_listen), "127.0.0.1:%d", port);
		CU_ASSERT_EQUAL(hw_metrics_new(&other, &cfg2, NULL, NULL, &err), HW_ERR_IO);
		CU_ASSERT_PTR_NULL(other);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--http-listen"));
	}
	/* starting: unhealthy, not ready */
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/healthz", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"fail\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "starting"));
	CU_ASSERT_STRING_EQUAL(hwt_http_header(&r, "Content-Type", ct, sizeof(ct)), "application/json");
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/readyz", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	hwt_http_free(&r);
	/* running, with a fresh snapshot */
	CU_ASSERT_EQUAL_FATAL(hw_collector_init(&c, &cfg, NULL, NULL, &err), HW_OK);
	c.summary[HW_STATE_ACTIVE] = 2;
	hw_metrics_update(mx, &c, hw_mono_ms());
	hw_metrics_phase(mx, HW_METRICS_RUNNING);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/healthz", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"status\":\"ok\""));
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/readyz", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/metrics", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(hwt_http_header(&r, "Content-Type", ct, sizeof(ct)), "text/plain; version=0.0.4; charset=utf-8");
	CU_ASSERT(hwt_prom_check(r.body, r.len, why, sizeof(why)) > 0);
	CU_ASSERT_EQUAL(value(r.body, "heartwire_sessions{state=\"active\"}"), 2);
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "HEAD", "/metrics", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.len, 0);
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "POST", "/metrics", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT_STRING_EQUAL(hwt_http_header(&r, "Allow", ct, sizeof(ct)), "GET, HEAD");
	hwt_http_free(&r);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/nothing", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 404);
	hwt_http_free(&r);
	hw_metrics_phase(mx, HW_METRICS_STOPPING);
	CU_ASSERT_EQUAL_FATAL(hwt_http(port, "GET", "/readyz", 5000, &r), 0);
	CU_ASSERT_EQUAL(r.status, 503);
	hwt_http_free(&r);
	hw_collector_cleanup(&c);
	hw_metrics_free(mx);
	/* stopped: nothing listens any more */
	CU_ASSERT_NOT_EQUAL(hwt_http(port, "GET", "/healthz", 1000, &r), 0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_listen_parse),
		HWTEST(TEST_histogram),
		HWTEST(TEST_prometheus_text_is_valid),
		HWTEST(TEST_format_checker_catches_faults),
		HWTEST(TEST_json_decodes),
		HWTEST(TEST_health_verdicts),
		HWTEST(TEST_update_and_rate),
		HWTEST(TEST_http_server),
		HWTEST_END
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_metrics", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
