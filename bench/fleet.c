/* fleet.c: heartwire's fleet benchmark driver: N simulated sessions in this one process, one MQTT
 * connection each (tests/lib/rawmqtt: one epoll loop, so 10,000 connections cost little), with
 * their wills, against a running broker, collector and store. bench/run-fleet starts those and
 * runs the phases:
 *
 *   hwbench_fleet ceiling --port P --sessions N --seconds S [--qos Q]
 *       the broker's own delivery ceiling: N connections publish heartbeats (QoS Q, default 0)
 *       under a topic root the collector does not read, and one plain subscriber here counts
 *       deliveries (at most 4,000 sent and not delivered, or at QoS 1 not acknowledged).
 *   hwbench_fleet ingest --port P --sessions N --seconds S [--qos Q] [--collector ID] --mongo URI --db DB
 *       N sessions register and publish heartbeats (QoS Q) unpaced for S seconds, then an idle
 *       event each. Windows: at QoS 1 at most 4,000 not acknowledged by the broker; with
 *       --collector at most 100,000 sent and not yet counted by the collector (its retained
 *       collector/ID/metrics: run it with --metrics-ms 1000). The collector's sustained ingest
 *       is every heartbeat it received (its own count, so a QoS 0 heartbeat the broker dropped
 *       is not counted) divided by the time until it published the last session idle; then
 *       the time until the database holds every session idle with its last heartbeat
 *       (progress.tools = that heartbeat's seq): persisted in coalesced form, one document per
 *       session reflecting the newest heartbeat (--persist-wait-s caps it).
 *   hwbench_fleet hold --port P --sessions N --kill K --interval-ms I
 *       N sessions register and heartbeat every I ms; once the collector tracks all of them,
 *       prints "tracked" (run-fleet reads the collector's memory then), then drops K connections
 *       at once (TCP reset, no DISCONNECT): every one must turn lost/will; reports the time to
 *       the last one and the per-session detection latency (drop -> retained lost) p50/p99,
 *       under the heartbeat load of the others.
 *   hwbench_fleet soak --port P --sessions N --seconds S --interval-ms I
 *       N sessions heartbeating for S seconds (run-fleet samples the collector's memory).
 *   hwbench_fleet exits --port P --agent PATH --state-dir D --runs R
 *       R real heartwire-agent runs whose child exits 3 after a moment: child exit -> retained
 *       crashed/exit_code latency (the child writes its exit time just before it exits).
 *
 * Results: "metric<TAB>value<TAB>unit<TAB>samples" lines on stdout; progress on stderr. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"
#include "rawmqtt.h"
#include "servers.h"

#define ROOT HW_TOPIC_ROOT_DEFAULT

typedef struct opts {
	int port;
	long sessions, seconds, kill, interval_ms, runs, persist_s, qos;
	const char *mongo, *db, *agent, *state_dir, *tag, *collector;
} opts_t;

/* ------------------------------------------------------------------ helpers */

static void emit(const char *metric, double value, const char *unit, long n)
{
	printf("%s\t%.3f\t%s\t%ld\n", metric, value, unit, n);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
	long k;

	if(n <= 0) return 0;
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	k = (long)((p / 100.0) * (double)n + 0.999999);
	if(k < 1) k = 1;
	if(k > n) k = n;
	return v[k - 1];
}

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ the watcher */

/* What the watcher keeps of each simulated session's retained state. */
typedef struct seen {
	int state, cause;
	int64_t at_us; /* monotonic us of the last change of state */
} seen_t;

typedef struct fleet {
	const opts_t *o;
	hwt_mqpool_t *pool;
	hwt_mq_t **c; /* one connection per session */
	int64_t *seq;
	seen_t *seen;
	char prefix[32];
	char machine[64];
	int64_t epoch;
	long counted; /* ceiling: deliveries counted */
	int64_t first_us, last_us;
	char metrics_topic[HW_TOPIC_MAX]; /* ingest: the collector's retained counters */
	long long metrics_received;       /* its messages.received, -1 before the first */
	int64_t metrics_at_us;            /* when that arrived (monotonic) */
} fleet_t;

static fleet_t *g_fleet;

/* Parses "<prefix><n>" from the end of a state/s topic; -1 when it is not one of ours. */
static long sess_index(const fleet_t *f, const char *topic, size_t tl)
{
	static const char mid[] = "/state/s/";
	size_t rl = strlen(ROOT), pl = strlen(f->prefix);
	long v = 0;

	if(tl <= rl + sizeof(mid) - 1 + pl || memcmp(topic, ROOT, rl) != 0 || memcmp(topic + rl, mid, sizeof(mid) - 1) != 0)
		return -1;
	topic += rl + sizeof(mid) - 1;
	tl -= rl + sizeof(mid) - 1;
	if(memcmp(topic, f->prefix, pl) != 0) return -1;
	for(size_t i = pl; i < tl; i++){
		if(topic[i] < '0' || topic[i] > '9') return -1;
		v = v * 10 + (topic[i] - '0');
	}
	return v < f->o->sessions ? v : -1;
}

/* Parses "<prefix><n>" (a session id); -1 when it is not one of ours. */
static long sess_index_id(const fleet_t *f, const char *id)
{
	size_t pl = strlen(f->prefix);
	long v = 0;

	if(strncmp(id, f->prefix, pl) != 0 || !id[pl]) return -1;
	for(const char *p = id + pl; *p; p++){
		if(*p < '0' || *p > '9') return -1;
		v = v * 10 + (*p - '0');
	}
	return v < f->o->sessions ? v : -1;
}

/* Finds "key":"value" in a JSON payload (len bytes) and copies value into out. */
static bool json_str(const char *p, size_t len, const char *key, char *out, size_t outlen)
{
	char k[40];
	size_t kl = (size_t)snprintf(k, sizeof(k), "\"%s\":\"", key);

	for(size_t i = 0; i + kl < len; i++){
		if(memcmp(p + i, k, kl) == 0){
			size_t j = 0;
			i += kl;
			while(i < len && p[i] != '"' && j + 1 < outlen) out[j++] = p[i++];
			out[j] = '\0';
			return true;
		}
	}
	return false;
}

static void on_msg(hwt_mq_t *c, const char *topic, size_t tl, const void *payload, size_t len, bool retained, void *ud)
{
	fleet_t *f = g_fleet;
	char st[24], ca[24];
	long i;
	int state, cause;

	(void)c;
	(void)retained;
	(void)ud;
	if(!f) return;
	if(tl > 9 && memcmp(topic, "bench/cei", 9) == 0){
		int64_t now = hw_mono_us();
		if(!f->counted) f->first_us = now;
		f->last_us = now;
		f->counted++;
		return;
	}
	if(f->metrics_topic[0] && tl == strlen(f->metrics_topic) && memcmp(topic, f->metrics_topic, tl) == 0){
		const char *p = payload, *k = "\"received\":";
		size_t kl = strlen(k);
		for(size_t j = 0; j + kl < len; j++){
			if(memcmp(p + j, k, kl) != 0) continue;
			f->metrics_received = 0;
			for(j += kl; j < len && p[j] >= '0' && p[j] <= '9'; j++)
				f->metrics_received = f->metrics_received * 10 + (p[j] - '0');
			f->metrics_at_us = hw_mono_us();
			break;
		}
		return;
	}
	i = sess_index(f, topic, tl);
	if(i < 0 || len == 0) return;
	if(!json_str(payload, len, "state", st, sizeof(st)) || !json_str(payload, len, "cause", ca, sizeof(ca))) return;
	if(hw_state_parse(st, &state, NULL) != HW_OK || hw_cause_parse(ca, &cause, NULL) != HW_OK) return;
	if(f->seen[i].state != state || f->seen[i].cause != cause){
		f->seen[i].state = state;
		f->seen[i].cause = cause;
		f->seen[i].at_us = hw_mono_us();
	}
}

static long count_in(const fleet_t *f, long from, long to, int state, int cause)
{
	long n = 0;

	for(long i = from; i < to; i++) n += f->seen[i].state == state && (cause < 0 || f->seen[i].cause == cause);
	return n;
}

/* ------------------------------------------------------------------ sessions */

static int fleet_open(fleet_t *f, const opts_t *o, const char *tag, bool watch)
{
	hwt_mq_conn_opts_t co = {.host = "127.0.0.1",
			.port = o->port,
			.keepalive_s = 60,
			.clean = true,
			.will_qos = 1,
			.will_retain = true};
	char cid[64];

	memset(f, 0, sizeof(*f));
	f->o = o;
	g_fleet = f;
	snprintf(f->prefix, sizeof(f->prefix), "%s%d-", tag, (int)getpid() % 100000);
	snprintf(f->machine, sizeof(f->machine), "fleet-%s", tag);
	f->epoch = hw_time_ms() / 1000;
	f->c = calloc((size_t)o->sessions + 1, sizeof(*f->c));
	f->seq = calloc((size_t)o->sessions, sizeof(*f->seq));
	f->seen = calloc((size_t)o->sessions, sizeof(*f->seen));
	if(!f->c || !f->seq || !f->seen || hwt_mqpool_new(&f->pool, on_msg) != 0) return -1;
	if(watch){
		hwt_mq_t *w;
		snprintf(cid, sizeof(cid), "fleetwatch-%d", (int)getpid());
		co.client_id = cid;
		w = hwt_mq_connect(f->pool, &co);
		if(!w || hwt_mq_subscribe(w, ROOT "/state/s/+", 1) != 0) return -1;
		f->c[o->sessions] = w;
	}
	return 0;
}

static void fleet_close(fleet_t *f)
{
	hwt_mqpool_free(f->pool);
	free(f->c);
	free(f->seq);
	free(f->seen);
	g_fleet = NULL;
}

static void sid_of(const fleet_t *f, long i, char *sid, size_t len)
{
	snprintf(sid, len, "%s%ld", f->prefix, i);
}

/* Runs the loop while more than max bytes wait to be written (back-pressure). */
static void drain(fleet_t *f, size_t max)
{
	while(hwt_mqpool_pending(f->pool) > max) hwt_mqpool_run(f->pool, 1);
	hwt_mqpool_run(f->pool, 0);
}

/* Unpaced load, but never more than UNACKED_MAX QoS 1 heartbeats the broker has not taken yet:
 * the offered rate is then what the broker accepts, instead of whatever the kernel's socket
 * buffers absorb (which only builds a backlog that says nothing). */
#define UNACKED_MAX 4000

static void window(fleet_t *f)
{
	while(hwt_mqpool_unacked(f->pool) > UNACKED_MAX) hwt_mqpool_run(f->pool, 1);
}

/* The ceiling's window at QoS 0 (no PUBACKs): end to end, at most UNACKED_MAX heartbeats sent
 * and not yet delivered to the counting subscriber in this process. */
static void window_delivered(fleet_t *f, uint64_t sent)
{
	while(sent > (uint64_t)f->counted + UNACKED_MAX){
		long before = f->counted;
		hwt_mqpool_run(f->pool, 1);
		if(f->counted == before && hwt_mqpool_pending(f->pool) == 0 && hwt_mqpool_run(f->pool, 200) == 0 &&
				f->counted == before)
			break; /* nothing moves: a QoS 0 delivery was dropped; do not wait forever */
	}
}

/* The ingest's end-to-end window: at most E2E_MAX heartbeats sent and not yet counted by the
 * collector (its retained counters, every --metrics-ms: keep that well under
 * E2E_MAX / rate). Without it, QoS 0 heartbeats would pile up in the broker as fast as this
 * process can write them, and the offered rate would say nothing about the collector. recv0
 * is the collector's count at the start (< 0: no counters, no window). */
#define E2E_MAX 100000

static void window_collector(fleet_t *f, long long recv0, uint64_t sent, int64_t until_us)
{
	if(recv0 < 0) return;
	while(f->metrics_received >= 0 && (long long)sent - (f->metrics_received - recv0) > E2E_MAX && hw_mono_us() < until_us)
		hwt_mqpool_run(f->pool, 5);
}

/* CPU time of this process (user + system), us. */
static int64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* Connects sessions [0, n) with their wills, then each publishes its retained online status and
 * its birth. Returns 0 once every connection is up and every message acknowledged. */
static int register_all(fleet_t *f, long n, long interval_ms)
{
	hwt_mq_conn_opts_t co = {.host = "127.0.0.1",
			.port = f->o->port,
			.keepalive_s = 120,
			.clean = true,
			.will_qos = 1,
			.will_retain = true};
	char sid[64], cid[160], topic[HW_TOPIC_MAX], will[192], buf[512];
	int64_t t0 = hw_mono_ms();

	for(long i = 0; i < n; i++){
		sid_of(f, i, sid, sizeof(sid));
		snprintf(cid, sizeof(cid), "hw-%s-%s", f->machine, sid);
		hw_topic_build(topic, sizeof(topic), ROOT, HW_T_STATUS, f->machine, sid, NULL);
		snprintf(will, sizeof(will), "{\"v\":1,\"session\":\"%s\",\"status\":\"lost\",\"epoch\":%" PRId64 "}", sid,
				f->epoch);
		co.client_id = cid;
		co.will_topic = topic;
		co.will_payload = will;
		co.will_len = strlen(will);
		f->c[i] = hwt_mq_connect(f->pool, &co);
		if(!f->c[i]){
			fprintf(stderr, "fleet: cannot open connection %ld: %s\n", i, strerror(errno));
			return -1;
		}
		if(i % 500 == 499) hwt_mqpool_run(f->pool, 0);
	}
	if(!hwt_mqpool_wait_connected(f->pool, 60000)){
		fprintf(stderr, "fleet: only %zu of %ld connections came up\n", hwt_mqpool_connected(f->pool), n);
		return -1;
	}
	for(long i = 0; i < n; i++){
		int len;
		sid_of(f, i, sid, sizeof(sid));
		hw_topic_build(topic, sizeof(topic), ROOT, HW_T_STATUS, f->machine, sid, NULL);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"status\":\"online\",\"epoch\":%" PRId64 ",\"ts\":%" PRId64 "}",
				sid, f->epoch, hw_time_ms());
		hwt_mq_publish(f->c[i], topic, buf, (size_t)len, 1, true);
		hw_topic_build(topic, sizeof(topic), ROOT, HW_T_BIRTH, f->machine, sid, NULL);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"machine\":\"%s\",\"project\":\"fleet-p%ld\",\"epoch\":%" PRId64
				",\"seq\":0,\"ts\":%" PRId64
				",\"pid\":%ld,\"cwd\":\"/srv/fleet\",\"argv\":[\"claude\"],\"interval_ms\":%ld,"
				"\"agent\":\"hwbench_fleet\"}",
				sid, f->machine, i % 50, f->epoch, hw_time_ms(), 10000 + i, interval_ms);
		hwt_mq_publish(f->c[i], topic, buf, (size_t)len, 1, false);
		if(i % 200 == 199) drain(f, 1 << 20);
	}
	if(!hwt_mqpool_wait_acked(f->pool, 120000)){
		fprintf(stderr, "fleet: registrations not acknowledged\n");
		return -1;
	}
	fprintf(stderr, "fleet: %ld sessions registered in %lld ms\n", n, (long long)(hw_mono_ms() - t0));
	return 0;
}

static int heartbeat(fleet_t *f, long i, int qos, const char *root)
{
	char sid[64], topic[HW_TOPIC_MAX], buf[512];
	int64_t now;
	int len;

	sid_of(f, i, sid, sizeof(sid));
	if(hw_topic_build(topic, sizeof(topic), root, HW_T_HB, f->machine, sid, NULL) != HW_OK) return -1;
	f->seq[i]++;
	now = hw_time_ms();
	/* progress.tools is the seq: the persisted check knows each session's last heartbeat by it */
	len = snprintf(buf, sizeof(buf),
			"{\"v\":1,\"session\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRId64 ",\"ts\":%" PRId64 ","
			"\"interval_ms\":%ld,\"state\":\"active\",\"child\":{\"pid\":%ld,\"proc\":\"S\",\"cpu_ms\":%" PRId64 "},"
			"\"progress\":{\"prompts\":3,\"tools\":%" PRId64 ",\"last_activity_ts\":%" PRId64 "}}",
			sid, f->epoch, f->seq[i], now, f->o->interval_ms, 10000 + i, f->seq[i], f->seq[i], now);
	return hwt_mq_publish(f->c[i], topic, buf, (size_t)len, qos, false);
}

/* Waits until every session in [from, to) is in (state, cause) in the retained state; returns the
 * monotonic us of the last one, 0 on timeout. */
static int64_t wait_state(fleet_t *f, long from, long to, int state, int cause, int timeout_ms)
{
	int64_t end = hw_mono_ms() + timeout_ms, last = 0;

	for(;;){
		if(count_in(f, from, to, state, cause) == to - from){
			for(long i = from; i < to; i++){
				if(f->seen[i].at_us > last) last = f->seen[i].at_us;
			}
			return last;
		}
		if(hw_mono_ms() >= end) return 0;
		hwt_mqpool_run(f->pool, 5);
	}
}

/* Keeps sessions [0, n) heartbeating once per interval, spread evenly over it. */
static void pace(fleet_t *f, long n, int64_t *round_start, long *idx, uint64_t *sent)
{
	int64_t now = hw_mono_us(), iv = f->o->interval_ms * 1000;
	long target = (long)((now - *round_start) * n / iv);

	if(target > n) target = n;
	while(*idx < target){
		if(heartbeat(f, *idx, 1, ROOT) == 0 && sent) (*sent)++;
		(*idx)++;
	}
	if(*idx >= n && now - *round_start >= iv){
		*round_start += iv;
		if(now - *round_start > iv) *round_start = now;
		*idx = 0;
	}
}

/* ------------------------------------------------------------------ phases */

static int cmd_ceiling(const opts_t *o)
{
	fleet_t f;
	hwt_mq_conn_opts_t co = {.host = "127.0.0.1", .port = o->port, .keepalive_s = 60, .clean = true};
	char cid[64], sid[64];
	hwt_mq_t *sub;
	uint64_t sent = 0;
	int64_t t0, end;

	if(fleet_open(&f, o, "c", false) != 0) return 1;
	snprintf(cid, sizeof(cid), "fleetcount-%d", (int)getpid());
	co.client_id = cid;
	sub = hwt_mq_connect(f.pool, &co);
	if(!sub || hwt_mq_subscribe(sub, "bench/ceiling/m/+/s/+/hb", 1) != 0) return 1;
	for(long i = 0; i < o->sessions; i++){
		sid_of(&f, i, sid, sizeof(sid));
		snprintf(cid, sizeof(cid), "fleetceil-%d-%ld", (int)getpid(), i);
		co.client_id = cid;
		f.c[i] = hwt_mq_connect(f.pool, &co);
		if(!f.c[i]) return 1;
	}
	if(!hwt_mqpool_wait_connected(f.pool, 30000) || !hwt_mqpool_wait_acked(f.pool, 10000)) return 1;
	t0 = hw_mono_us();
	end = t0 + o->seconds * 1000000LL;
	while(hw_mono_us() < end){
		for(long i = 0; i < o->sessions; i++){
			if(heartbeat(&f, i, (int)o->qos, "bench/ceiling") == 0) sent++;
			if(i % 64 == 63){
				if(o->qos) window(&f);
				else window_delivered(&f, sent);
			}
		}
		drain(&f, 4u << 20);
	}
	/* let the subscriber's backlog in */
	for(int64_t quiet = hw_mono_ms() + 3000; hw_mono_ms() < quiet;){
		long before = f.counted;
		hwt_mqpool_run(f.pool, 50);
		if(f.counted != before) quiet = hw_mono_ms() + 1000;
	}
	emit("broker_ceiling_sent_hb_per_s", (double)sent * 1e6 / (double)(end - t0), "hb/s", (long)sent);
	if(f.counted > 1 && f.last_us > f.first_us)
		emit("broker_ceiling_delivered_hb_per_s", (double)f.counted * 1e6 / (double)(f.last_us - f.first_us), "hb/s",
				f.counted);
	fleet_close(&f);
	return 0;
}

/* Sessions of machine m in the database that are idle and whose document holds their last
 * heartbeat (progress.tools is the heartbeat's seq: last[i] for session i): persisted in
 * coalesced form, one document per session reflecting the newest heartbeat. */
static long db_persisted(mongoc_client_t *mc, const fleet_t *f, const int64_t *last)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(mc, f->o->db, "sessions");
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	const bson_t *doc;
	mongoc_cursor_t *cur;
	long n = 0;

	BSON_APPEND_UTF8(&filter, "machine", f->machine);
	BSON_APPEND_UTF8(&filter, "state", "idle");
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	BSON_APPEND_INT32(&proj, "progress.tools", 1);
	bson_append_document_end(&opts, &proj);
	cur = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		long i;
		if(!bson_iter_init_find(&it, doc, "_id") || !BSON_ITER_HOLDS_UTF8(&it)) continue;
		i = sess_index_id(f, bson_iter_utf8(&it, NULL));
		if(i < 0 || !bson_iter_init(&it, doc) || !bson_iter_find_descendant(&it, "progress.tools", &it)) continue;
		if(BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_DOUBLE(&it))
			n += bson_iter_as_int64(&it) == last[i];
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&opts);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return n;
}

/* Runs the pool until a metrics message of the collector arrives after since_us (monotonic);
 * returns its messages.received, -1 after timeout_ms. */
static long long metrics_after(fleet_t *f, int64_t since_us, int timeout_ms)
{
	int64_t end = hw_mono_ms() + timeout_ms;

	if(!f->metrics_topic[0]) return -1;
	while(f->metrics_received < 0 || f->metrics_at_us <= since_us){
		if(hw_mono_ms() >= end) return -1;
		hwt_mqpool_run(f->pool, 20);
	}
	return f->metrics_received;
}

static int cmd_ingest(const opts_t *oo)
{
	fleet_t f;
	uint64_t sent = 0;
	int64_t t0, end, done, cpu0, cpu1, *last;
	long long recv0 = -1, recv1 = -1;
	char sid[64], topic[HW_TOPIC_MAX], buf[256];
	opts_t io = *oo;
	const opts_t *o = &io;

	/* a long interval: the sessions stay idle (no stall) while the database catches up */
	io.interval_ms = 600000;
	if(fleet_open(&f, o, "i", true) != 0) return 1;
	last = calloc((size_t)o->sessions, sizeof(*last));
	if(!last) return 1;
	f.metrics_received = -1;
	if(o->collector){
		/* the collector's own count of what it received: QoS 0 heartbeats a broker dropped are
		 * not counted as ingested */
		char presence[HW_TOPIC_MAX];
		if(hw_topic_build(presence, sizeof(presence), ROOT, HW_T_COLLECTOR, NULL, o->collector, NULL) != HW_OK ||
				(size_t)snprintf(f.metrics_topic, sizeof(f.metrics_topic), "%s/metrics", presence) >=
						sizeof(f.metrics_topic))
			return 1;
		if(hwt_mq_subscribe(f.c[o->sessions], f.metrics_topic, 0) != 0) return 1;
	}
	if(register_all(&f, o->sessions, io.interval_ms) != 0) return 1;
	if(!wait_state(&f, 0, o->sessions, HW_STATE_STARTING, -1, 60000)){
		fprintf(stderr, "fleet: the collector did not register every session\n");
		return 1;
	}
	/* every registration is applied (the retained states are out): the next counters hold them */
	recv0 = metrics_after(&f, hw_mono_us(), 30000);
	fprintf(stderr, "fleet: ingest: %ld sessions, unpaced QoS %ld heartbeats for %ld s\n", o->sessions, o->qos, o->seconds);
	cpu0 = cpu_us();
	t0 = hw_mono_us();
	end = t0 + o->seconds * 1000000LL;
	while(hw_mono_us() < end){
		for(long i = 0; i < o->sessions; i++){
			if(heartbeat(&f, i, (int)o->qos, ROOT) == 0) sent++;
			if(i % 64 == 63){
				window(&f);
				window_collector(&f, recv0, sent, end);
			}
		}
		drain(&f, 4u << 20);
	}
	for(long i = 0; i < o->sessions; i++){
		int len;
		last[i] = f.seq[i];
		sid_of(&f, i, sid, sizeof(sid));
		hw_topic_build(topic, sizeof(topic), ROOT, HW_T_EV, f.machine, sid, NULL);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRId64 ",\"ts\":%" PRId64
				",\"type\":\"idle\"}",
				sid, f.epoch, ++f.seq[i], hw_time_ms());
		hwt_mq_publish(f.c[i], topic, buf, (size_t)len, 1, false);
	}
	cpu1 = cpu_us();
	emit("ingest_sessions", (double)o->sessions, "sessions", 1);
	emit("ingest_qos", (double)o->qos, "qos", 1);
	emit("ingest_offered_hb_per_s", (double)sent * 1e6 / (double)(end - t0), "hb/s", (long)sent);
	if(sent) emit("ingest_sim_cpu_us_per_hb", (double)(cpu1 - cpu0) / (double)sent, "us", (long)sent);
	done = wait_state(&f, 0, o->sessions, HW_STATE_IDLE, -1, 300000);
	if(!done){
		fprintf(stderr, "fleet: the collector did not publish every session idle\n");
		return 1;
	}
	if(recv0 >= 0) recv1 = metrics_after(&f, done, 30000);
	if(recv1 >= 0){
		/* received in between: the heartbeats and one idle event per session */
		long long got = recv1 - recv0 - o->sessions;
		emit("ingest_collector_received_hb", (double)got, "hb", (long)sent);
		emit("ingest_dropped_hb", (double)((long long)sent - got), "hb", (long)sent);
		emit("ingest_collector_hb_per_s", (double)got * 1e6 / (double)(done - t0), "hb/s", (long)got);
	}else{
		fprintf(stderr, "fleet: no counters from the collector: counting every heartbeat sent as received\n");
		emit("ingest_collector_hb_per_s", (double)sent * 1e6 / (double)(done - t0), "hb/s", (long)sent);
	}
	if(o->mongo){
		mongoc_client_t *mc;
		long n = 0;
		int64_t pend = hw_mono_ms() + o->persist_s * 1000;
		mongoc_init();
		mc = mongoc_client_new(o->mongo);
		while(mc && (n = db_persisted(mc, &f, last)) < o->sessions && hw_mono_ms() < pend){
			hwt_mqpool_run(f.pool, 0);
			sleep(1);
		}
		if(n == o->sessions) emit("ingest_persisted_after_s", (double)(hw_mono_us() - done) / 1e6, "s", n);
		else
			fprintf(stderr,
					"fleet: only %ld of %ld sessions idle with their last heartbeat in the database after "
					"%ld s\n",
					n, o->sessions, o->persist_s);
		emit("ingest_persisted_sessions", (double)n, "sessions", o->sessions);
		if(mc) mongoc_client_destroy(mc);
	}
	for(long i = 0; i < o->sessions; i++) hwt_mq_disconnect(f.c[i]);
	free(last);
	fleet_close(&f);
	return 0;
}

static int cmd_hold(const opts_t *o)
{
	fleet_t f;
	double *lat;
	long k = o->kill < o->sessions ? o->kill : o->sessions, got;
	int64_t t_drop, last, next_round;
	long idx = 0;

	if(fleet_open(&f, o, "h", true) != 0 || register_all(&f, o->sessions, o->interval_ms) != 0) return 1;
	if(!wait_state(&f, 0, o->sessions, HW_STATE_STARTING, -1, 300000)){
		fprintf(stderr, "fleet: the collector did not register every session (%ld starting)\n",
				count_in(&f, 0, o->sessions, HW_STATE_STARTING, -1));
		return 1;
	}
	/* one heartbeat each: active; then the steady load, spread over the interval */
	for(long i = 0; i < o->sessions; i++) heartbeat(&f, i, 1, ROOT);
	drain(&f, 0);
	if(!wait_state(&f, 0, o->sessions, HW_STATE_ACTIVE, -1, 120000)) return 1;
	emit("hold_sessions_tracked", (double)o->sessions, "sessions", o->sessions);
	printf("tracked\n");
	fflush(stdout);
	next_round = hw_mono_us();
	/* run-fleet reads the collector's memory now; a few seconds of steady heartbeats */
	for(int64_t until = hw_mono_ms() + 5000; hw_mono_ms() < until;){
		pace(&f, o->sessions, &next_round, &idx, NULL);
		hwt_mqpool_run(f.pool, 2);
	}
	/* the kill storm: the last k connections drop at once */
	t_drop = hw_mono_us();
	for(long i = o->sessions - k; i < o->sessions; i++) hwt_mq_abort(f.c[i]);
	last = 0;
	if(idx > o->sessions - k) idx = o->sessions - k;
	for(int64_t end = hw_mono_ms() + 30000; hw_mono_ms() < end;){
		pace(&f, o->sessions - k, &next_round, &idx, NULL);
		hwt_mqpool_run(f.pool, 2);
		if(count_in(&f, o->sessions - k, o->sessions, HW_STATE_LOST, HW_CAUSE_WILL) == k) break;
	}
	lat = calloc((size_t)k, sizeof(*lat));
	got = 0;
	for(long i = o->sessions - k; i < o->sessions; i++){
		if(f.seen[i].state != HW_STATE_LOST || f.seen[i].cause != HW_CAUSE_WILL) continue;
		lat[got++] = (double)(f.seen[i].at_us - t_drop) / 1000.0;
		if(f.seen[i].at_us > last) last = f.seen[i].at_us;
	}
	emit("storm_dropped", (double)k, "sessions", k);
	emit("storm_lost", (double)got, "sessions", got);
	if(got){
		emit("storm_last_lost_ms", (double)(last - t_drop) / 1000.0, "ms", got);
		emit("storm_detect_p50_ms", pct(lat, got, 50), "ms", got);
		emit("storm_detect_p99_ms", pct(lat, got, 99), "ms", got);
	}
	/* no session that stayed connected was touched */
	emit("storm_bystanders_not_active", (double)(o->sessions - k - count_in(&f, 0, o->sessions - k, HW_STATE_ACTIVE, -1)),
			"sessions", o->sessions - k);
	free(lat);
	for(long i = 0; i < o->sessions - k; i++) hwt_mq_disconnect(f.c[i]);
	fleet_close(&f);
	return got == k ? 0 : 1;
}

static int cmd_soak(const opts_t *o)
{
	fleet_t f;
	int64_t end, next_round;
	long idx = 0;
	uint64_t sent = 0;

	if(fleet_open(&f, o, "s", true) != 0 || register_all(&f, o->sessions, o->interval_ms) != 0) return 1;
	printf("soaking\n");
	fflush(stdout);
	next_round = hw_mono_us();
	end = hw_mono_ms() + o->seconds * 1000;
	while(hw_mono_ms() < end){
		pace(&f, o->sessions, &next_round, &idx, &sent);
		hwt_mqpool_run(f.pool, 5);
	}
	emit("soak_heartbeats", (double)sent, "hb", (long)sent);
	emit("soak_sessions_active_at_end", (double)count_in(&f, 0, o->sessions, HW_STATE_ACTIVE, -1), "sessions", o->sessions);
	for(long i = 0; i < o->sessions; i++) hwt_mq_disconnect(f.c[i]);
	fleet_close(&f);
	return 0;
}

/* The real agent: child exit -> retained crashed/exit_code. */
static int cmd_exits(const opts_t *o)
{
	fleet_t f;
	double *lat = calloc((size_t)o->runs, sizeof(*lat));
	long ok = 0;

	if(!lat || fleet_open(&f, o, "x", true) != 0) return 1;
	f.o = o;
	for(long r = 0; r < o->runs && r < o->sessions; r++){
		char sid[64], mark[512], script[700], port[32];
		const char *argv[24];
		int n = 0;
		pid_t a;
		FILE *fp;
		long long exit_us = 0;
		sid_of(&f, r, sid, sizeof(sid));
		snprintf(mark, sizeof(mark), "%s/exit-%ld", o->state_dir, r);
		unlink(mark);
		/* the child ends with a non-zero code right after writing the wall clock */
		snprintf(script, sizeof(script), "sleep 0.6; date +%%s%%N > %s; exit 3", mark);
		snprintf(port, sizeof(port), "mqtt://127.0.0.1:%d", o->port);
		argv[n++] = o->agent;
		argv[n++] = "run";
		argv[n++] = "--broker";
		argv[n++] = port;
		argv[n++] = "--machine";
		argv[n++] = f.machine;
		argv[n++] = "--session";
		argv[n++] = sid;
		argv[n++] = "--interval-ms";
		argv[n++] = "1000";
		argv[n++] = "--state-dir";
		argv[n++] = o->state_dir;
		argv[n++] = "--log-level";
		argv[n++] = "error";
		argv[n++] = "--";
		argv[n++] = "sh";
		argv[n++] = "-c";
		argv[n++] = script;
		argv[n] = NULL;
		a = hwt_spawn(argv, NULL);
		if(a <= 0) return 1;
		if(!wait_state(&f, r, r + 1, HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE, 15000)){
			fprintf(stderr, "fleet: %s never crashed\n", sid);
			hwt_kill_wait(a, SIGKILL, 2000);
			continue;
		}
		{
			/* the retained state's arrival, on the wall clock of the child's mark */
			int64_t seen_wall = wall_us() - (hw_mono_us() - f.seen[r].at_us);
			fp = fopen(mark, "r");
			if(fp && fscanf(fp, "%lld", &exit_us) == 1){
				exit_us /= 1000; /* ns -> us */
				lat[ok++] = (double)(seen_wall - exit_us) / 1000.0;
			}
			if(fp) fclose(fp);
		}
		hwt_wait_pid(a, 5000, NULL);
	}
	if(ok){
		emit("agent_exit_to_retained_p50_ms", pct(lat, ok, 50), "ms", ok);
		emit("agent_exit_to_retained_p99_ms", pct(lat, ok, 99), "ms", ok);
		emit("agent_exit_to_retained_max_ms", lat[ok - 1], "ms", ok);
	}
	free(lat);
	fleet_close(&f);
	return ok == o->runs ? 0 : 1;
}

/* ------------------------------------------------------------------ main */

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if(errno || end == s || *end || v < min || v > max) return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	opts_t o = {.sessions = 1000,
			.seconds = 10,
			.kill = 1000,
			.interval_ms = 5000,
			.runs = 30,
			.persist_s = 120,
			.state_dir = "/tmp"};
	long port = 0;
	struct rlimit rl;
	const char *cmd;

	if(argc < 2){
		fprintf(stderr, "usage: hwbench_fleet ceiling|ingest|hold|soak|exits --port P [options]\n");
		return 2;
	}
	cmd = argv[1];
	for(int i = 2; i + 1 < argc; i += 2){
		const char *a = argv[i], *v = argv[i + 1];
		bool ok = true;
		if(!strcmp(a, "--port")) ok = parse_long(v, 1, 65535, &port);
		else if(!strcmp(a, "--sessions")) ok = parse_long(v, 1, 100000, &o.sessions);
		else if(!strcmp(a, "--seconds")) ok = parse_long(v, 1, 86400, &o.seconds);
		else if(!strcmp(a, "--kill")) ok = parse_long(v, 1, 100000, &o.kill);
		else if(!strcmp(a, "--interval-ms")) ok = parse_long(v, 100, 3600000, &o.interval_ms);
		else if(!strcmp(a, "--runs")) ok = parse_long(v, 1, 10000, &o.runs);
		else if(!strcmp(a, "--persist-wait-s")) ok = parse_long(v, 0, 86400, &o.persist_s);
		else if(!strcmp(a, "--qos")) ok = parse_long(v, 0, 1, &o.qos);
		else if(!strcmp(a, "--collector")) o.collector = v;
		else if(!strcmp(a, "--mongo")) o.mongo = v;
		else if(!strcmp(a, "--db")) o.db = v;
		else if(!strcmp(a, "--agent")) o.agent = v;
		else if(!strcmp(a, "--state-dir")) o.state_dir = v;
		else ok = false;
		if(!ok){
			fprintf(stderr, "hwbench_fleet: bad option %s %s\n", a, v);
			return 2;
		}
	}
	o.port = (int)port;
	if(!o.port){
		fprintf(stderr, "hwbench_fleet: --port is required\n");
		return 2;
	}
	/* one descriptor per session */
	if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max){
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	if(!strcmp(cmd, "ceiling")) return cmd_ceiling(&o);
	if(!strcmp(cmd, "ingest")) return cmd_ingest(&o);
	if(!strcmp(cmd, "hold")) return cmd_hold(&o);
	if(!strcmp(cmd, "soak")) return cmd_soak(&o);
	if(!strcmp(cmd, "exits")){
		if(!o.agent) return 2;
		o.sessions = o.runs;
		return cmd_exits(&o);
	}
	fprintf(stderr, "hwbench_fleet: unknown command %s\n", cmd);
	return 2;
}
