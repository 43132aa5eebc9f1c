/* test_collector_flood.c: 100,000 malformed or hostile payloads at a running heartwire-collector
 * (real mosquitto, real MongoDB-compatible store): every entry of the hostile corpus at least
 * once plus random payloads, on valid agent topics of random sessions, QoS 0, as fast as one
 * publisher can. The collector must stay up (PID alive, /healthz answers), its memory growth
 * must stay bounded (VmRSS), no session may be created, its counters must account for every
 * message it received (invalid by reason = received), and its log must stay small (bad-input
 * lines are rate-limited). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"
#include "httpc.h"
#include "promtext.h"
#include "test_collector_common.h"

#define FLOOD_TOTAL 100000
#define RANDOM_CAP 600 /* bytes of one random payload at most */
#define RSS_GROWTH_MAX_KB (32 * 1024)
#define LOG_MAX_BYTES (1024 * 1024)
#define PACKET_MAX 131000 /* the test broker's max_packet_size is 131072: larger disconnects */

static tc_env_t env;
static tc_watch_t w;
static int http_port;
static char listen_at[64];

static int suite_init(void)
{
	const char *extra[] = {"--http-listen", listen_at, NULL};

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

/* ------------------------------------------------------------------ helpers */

/* The collector's counters from one /metrics scrape. */
typedef struct counts {
	double received, ingested, invalid_sum;
	double by_reason[HW_R__COUNT];
} counts_t;

static int scrape(counts_t *c)
{
	hwt_http_resp_t r;
	char series[128];
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if(hwt_http(http_port, "GET", "/metrics", 5000, &r) != 0) return -1;
	if(r.status == 200 && hwt_prom_value(r.body, "heartwire_messages_received_total", &c->received) &&
			hwt_prom_value(r.body, "heartwire_messages_ingested_total", &c->ingested)){
		rc = 0;
		for(int i = 0; i < HW_R__COUNT; i++){
			snprintf(series, sizeof(series), "heartwire_messages_invalid_total{reason=\"%s\"}", hw_reason_name(i));
			if(hwt_prom_value(r.body, series, &c->by_reason[i])) c->invalid_sum += c->by_reason[i];
		}
	}
	hwt_http_free(&r);
	return rc;
}

/* VmRSS of pid in kB, -1 when unreadable. */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if(!f) return -1;
	while(fgets(line, sizeof(line), f)){
		if(strncmp(line, "VmRSS:", 6) == 0){
			char *end;
			kb = strtol(line + 6, &end, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}

static long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if(!f) return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return n;
}

/* True when the file (read whole; it is small) holds needle. */
static bool log_has(const char *path, const char *needle)
{
	long n = file_size(path);
	char *buf;
	FILE *f;
	bool found = false;

	if(n < 0) return false;
	buf = malloc((size_t)n + 1);
	f = fopen(path, "rb");
	if(buf && f){
		size_t got = fread(buf, 1, (size_t)n, f);
		buf[got] = '\0';
		found = strstr(buf, needle) != NULL;
	}
	if(f) fclose(f);
	free(buf);
	return found;
}

static int healthz(void)
{
	hwt_http_resp_t r;
	int status;

	if(hwt_http(http_port, "GET", "/healthz", 5000, &r) != 0) return -1;
	status = r.status;
	hwt_http_free(&r);
	return status;
}

/* A random session id of 10 characters from the id alphabet. */
static void random_id(uint64_t *rs, char *buf)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for(int i = 0; i < 10; i++) buf[i] = alpha[hwt_rand_next(rs) % (sizeof(alpha) - 1)];
	buf[10] = '\0';
}

static const int agent_kinds[] = {HW_T_BIRTH, HW_T_HB, HW_T_EV, HW_T_STATUS};

/* Publishes at QoS 0 without waiting; retries while Paho's buffer is full. */
static int flood_pub(hw_mqtt_t *m, const char *topic, const void *p, size_t len)
{
	hw_error_t err;
	int64_t end = hwt_now_ms() + 10000;
	int rc;

	while((rc = hw_mqtt_publish(m, topic, p, len, 0, false, &err)) == HW_ERR_AGAIN && hwt_now_ms() < end) hwt_sleep_ms(1);
	if(rc != HW_OK) fprintf(stderr, "flood publish %s: %s\n", topic, err.msg);
	return rc == HW_OK ? 0 : -1;
}

/* ------------------------------------------------------------------ the test */

static void TEST_flood_of_hostile_payloads(void)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char cid[64], topic[70000], sid[16];
	unsigned char rbuf[RANDOM_CAP];
	uint64_t rs = 0x5eedf100dULL;
	counts_t c0, c1;
	long rss0, rss1, log0, log1;
	int64_t sessions0, t0, t_sent, last_change;
	size_t ncorpus = hwt_hostile_count(), sent = 0, skipped = 0, oversize = 0, corpus_sent = 0, empty_status = 0;
	double prev;

	CU_ASSERT_FATAL(ncorpus >= 160);
	CU_ASSERT_FATAL(scrape(&c0) == 0);
	rss0 = rss_kb(env.collector);
	log0 = file_size(env.log);
	sessions0 = tc_db_count(&env, "sessions", NULL);
	CU_ASSERT_FATAL(rss0 > 0 && log0 >= 0 && sessions0 >= 0);

	hwt_unique_name(cid, sizeof(cid), "tcflood");
	o.url = env.broker.url;
	o.client_id = cid;
	o.max_inflight = 1000;
	CU_ASSERT_FATAL(hw_mqtt_new(&m, &o, &err) == HW_OK && hw_mqtt_connect(m, NULL, &err) == HW_OK);

	t0 = hwt_now_ms();
	/* every corpus entry once */
	for(size_t i = 0; i < ncorpus; i++){
		const hwt_hostile_t *h = hwt_hostile_at(i);
		char *p = NULL;
		size_t len = 0, tlen = 0;
		if(hwt_hostile_payload(h, &p, &len) != 0){
			CU_FAIL("out of memory building a corpus payload");
			continue;
		}
		if(h->target == HWT_H_TOPIC){
			if(!hwt_hostile_publishable(h) || hwt_hostile_topic(h, TC_ROOT, NULL, topic, sizeof(topic), &tlen) != 0 ||
					tlen + len > PACKET_MAX){
				skipped++;
				free(p);
				continue;
			}
		}else{
			int kind = h->target <= HWT_H_STATUS ? agent_kinds[h->target] : HW_T_HB;
			random_id(&rs, sid);
			if(hw_topic_build(topic, sizeof(topic), TC_ROOT, kind, "flood-m", sid, &err) != HW_OK){
				CU_FAIL("topic build");
				free(p);
				continue;
			}
			if(len > PACKET_MAX){
				skipped++;
				free(p);
				continue;
			}
			if(len > HW_MSG_MAX_BYTES) oversize++; /* the broker's message_size_limit drops it */
		}
		if(flood_pub(m, topic, p, len) == 0){
			sent++;
			corpus_sent++;
		}
		free(p);
	}
	/* the rest: random payloads */
	while(sent < FLOOD_TOTAL){
		size_t len = hwt_random_payload(&rs, rbuf, sizeof(rbuf));
		int kind = agent_kinds[hwt_rand_next(&rs) % 4];
		random_id(&rs, sid);
		/* an empty status clears a retained status: legal, ignored, not counted as invalid */
		if(len == 0 && kind == HW_T_STATUS) empty_status++;
		if(hw_topic_build(topic, sizeof(topic), TC_ROOT, kind, "flood-m", sid, &err) != HW_OK){
			CU_FAIL("topic build");
			break;
		}
		if(flood_pub(m, topic, rbuf, len) != 0){
			CU_FAIL("flood publish failed");
			break;
		}
		sent++;
	}
	t_sent = hwt_now_ms();
	/* Wait until the collector's received counter stops moving (or accounts for all). */
	prev = -1;
	last_change = hwt_now_ms();
	while(hwt_now_ms() - last_change < 2000 && hwt_now_ms() - t_sent < 60000){
		if(scrape(&c1) != 0) break;
		if(c1.received != prev){
			prev = c1.received;
			last_change = hwt_now_ms();
		}
		if(c1.received - c0.received >= (double)(sent - oversize)) break;
		hwt_sleep_ms(200);
	}
	hw_mqtt_disconnect(m, 2000);
	hw_mqtt_free(m);

	/* the collector is up and answers */
	CU_ASSERT(kill(env.collector, 0) == 0);
	CU_ASSERT_EQUAL(healthz(), 200);
	CU_ASSERT_FATAL(scrape(&c1) == 0);
	rss1 = rss_kb(env.collector);
	log1 = file_size(env.log);
	{
		double received = c1.received - c0.received, invalid = c1.invalid_sum - c0.invalid_sum;
		fprintf(stderr,
				"flood: %zu payloads sent (%zu corpus entries, %zu corpus topics skipped as unpublishable, "
				"%zu over the broker's size limit) in %lld ms; collector received %.0f, invalid %.0f, ingested "
				"%.0f; "
				"VmRSS %ld -> %ld kB (+%ld kB); log %ld -> %ld bytes; drained after %lld ms\n",
				sent, corpus_sent, skipped, oversize, (long long)(t_sent - t0), received, invalid,
				c1.ingested - c0.ingested, rss0, rss1, rss1 - rss0, log0, log1,
				(long long)(hwt_now_ms() - t_sent));
		for(int r = 0; r < HW_R__COUNT; r++){
			double d = c1.by_reason[r] - c0.by_reason[r];
			if(d > 0) fprintf(stderr, "flood: invalid{reason=\"%s\"} +%.0f\n", hw_reason_name(r), d);
		}
		CU_ASSERT_EQUAL(sent, FLOOD_TOTAL);
		CU_ASSERT(corpus_sent + skipped == ncorpus);
		/* QoS 0: the broker may drop some under load; most must arrive */
		CU_ASSERT(received >= 0.9 * (double)(sent - oversize));
		CU_ASSERT(received <= (double)sent);
		/* every message received is accounted for: invalid by reason, except the empty
		 * status payloads (a retained status being cleared), which pass as ingested */
		fprintf(stderr, "flood: %zu empty status payloads sent\n", empty_status);
		CU_ASSERT_EQUAL(invalid + (c1.ingested - c0.ingested), received);
		CU_ASSERT(c1.ingested - c0.ingested <= (double)empty_status);
		CU_ASSERT(invalid >= received - (double)empty_status);
	}
	CU_ASSERT(rss1 > 0 && rss1 - rss0 < RSS_GROWTH_MAX_KB);
	CU_ASSERT(log1 >= 0 && log1 < LOG_MAX_BYTES);
	/* no session was created: none in the database, no retained state */
	CU_ASSERT_EQUAL(tc_db_count(&env, "sessions", NULL), sessions0);
	tc_pump(&w);
	CU_ASSERT_EQUAL(w.ns, 0);
	/* the suppressed lines are summarised once the flood is over */
	CU_ASSERT(HWT_WAIT_UNTIL(log_has(env.log, "log lines about invalid or refused messages"), 5000));
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_flood_of_hostile_payloads),
		HWTEST_END
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_flood", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
