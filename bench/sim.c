/* sim.c: heartwire's load simulator and collector benchmark driver.
 *
 *   hwbench_sim load --broker URL [--sessions N] [--seconds S] [--rate R] [--prefix P]
 *                    [--machine M] [--wait-ms MS]
 *       N simulated agents in this one process, one MQTT connection each (with its will),
 *       each announcing itself (retained online status, birth) and then sending QoS 1
 *       heartbeats, R per second in total (0: as fast as the broker takes them) for S
 *       seconds, then an idle event as an end marker. --wait-ms waits for the collector to
 *       have published every session as idle, which gives the collector's sustained ingest
 *       rate (every heartbeat of a session is taken in before its idle event).
 *   hwbench_sim count --broker URL [--machine M] [--quiet-ms MS] [--wait-ms MS]
 *       A plain subscriber to the heartbeats (QoS 1) that only counts: the broker's own
 *       delivery ceiling for the same load, measured in the same run. Run it in its own
 *       process next to `load`; it ends after quiet-ms without a heartbeat.
 *   hwbench_sim kill --broker URL --agent PATH [--kills N] [--interval-ms MS] [--state-dir D]
 *       N times: start the real heartwire-agent, wait until its session is active in the
 *       retained state, SIGKILL it, and time until the retained state says lost/will.
 *   hwbench_sim stop --broker URL --agent PATH [--stops N] [--interval-ms MS] [--state-dir D]
 *       N times: SIGSTOP the agent and time until the retained state says stalled.
 *   hwbench_sim ready --broker URL --collector ID [--wait-ms MS]
 *       Waits until collector ID's retained presence says "online" (exit 0) or times out.
 *   hwbench_sim port
 *       Prints a free TCP port on 127.0.0.1 (for the scripts' servers).
 *
 * Results go to stdout as "metric<TAB>value<TAB>unit<TAB>samples" lines (bench/run-collector
 * turns them into bench/results/collector.tsv), progress to stderr. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"
#include "servers.h"

#define ROOT HW_TOPIC_ROOT_DEFAULT

typedef struct opts {
	const char *broker;
	const char *agent;
	const char *prefix;
	const char *machine;
	const char *state_dir;
	long sessions, seconds, rate, kills, interval_ms, wait_ms, quiet_ms;
} opts_t;

static int die(const char *what, const char *arg)
{
	fprintf(stderr, "hwbench_sim: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
	return 2;
}

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

/* Nearest-rank percentile of n sorted values. */
static double pct(const double *v, int n, double p)
{
	int k = (int)((p / 100.0) * n + 0.999999);

	if(k < 1) k = 1;
	if(k > n) k = n;
	return v[k - 1];
}

static hw_mqtt_t *client(const char *url, const char *prefix, int max_inflight, const hw_mqtt_will_t *will)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[64];

	hwt_unique_name(id, sizeof(id), prefix);
	o.url = url;
	o.client_id = id;
	o.max_inflight = max_inflight;
	o.keepalive_s = 60;
	if(hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, will, &err) != HW_OK){
		fprintf(stderr, "hwbench_sim: connect %s: %s\n", url, err.msg);
		hw_mqtt_free(m);
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------------ load */

/* Watches state/s/{prefix}* until every one of n sessions is idle at epoch; returns the
 * monotonic us when the last one got there, or 0 on timeout. */
static int64_t wait_idle(hw_mqtt_t *w, const char *prefix, long n, int64_t epoch, long timeout_ms)
{
	bool *idle = calloc((size_t)n, sizeof(*idle));
	long done = 0;
	int64_t end = hw_mono_ms() + timeout_ms, last = 0;
	size_t plen = strlen(prefix);

	while(idle && done < n && hw_mono_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(w, 50);
		while((msg = hw_mqtt_next(w))){
			hw_topic_t t;
			hw_session_t d = HW_SESSION_INIT;
			long i;
			char *endp;
			if(msg->len && hw_topic_parse(ROOT, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK &&
					strncmp(t.id, prefix, plen) == 0 && (i = strtol(t.id + plen, &endp, 10), *endp == '\0') &&
					i >= 0 && i < n && hw_session_decode(msg->payload, msg->len, &d, NULL) == HW_OK){
				if(!idle[i] && d.state == HW_STATE_IDLE && d.epoch == epoch){
					idle[i] = true;
					done++;
					last = hw_mono_us();
				}
				hw_session_cleanup(&d);
			}
			hw_mqtt_msg_free(msg);
		}
	}
	free(idle);
	return done == n ? last : 0;
}

static int pub(hw_mqtt_t *m, int kind, const char *machine, const char *sid, const char *json, int len, bool retain)
{
	char topic[HW_TOPIC_MAX];

	if(hw_topic_build(topic, sizeof(topic), ROOT, kind, machine, sid, NULL) != HW_OK) return -1;
	for(int tries = 0; tries < 10000; tries++){
		int rc = hw_mqtt_publish(m, topic, json, (size_t)len, 1, retain, NULL);
		if(rc == HW_OK) return 0;
		if(rc != HW_ERR_AGAIN) return -1;
		usleep(200); /* Paho's buffer is full: let the broker drain it */
	}
	return -1;
}

static int cmd_load(const opts_t *o)
{
	long n = o->sessions;
	hw_mqtt_t **ms = calloc((size_t)n, sizeof(*ms));
	int64_t *seq = calloc((size_t)n, sizeof(*seq));
	int64_t epoch = hw_time_ms() / 1000; /* newer than any earlier run's */
	char sid[HW_ID_MAX + 1], buf[512], status_topic[HW_TOPIC_MAX];
	hw_mqtt_t *watch = NULL;
	uint64_t sent = 0;
	int64_t t0, t_end, done_us = 0;
	int len, rc = 1;

	if(!ms || !seq) return die("out of memory", NULL);
	if(o->wait_ms > 0){
		hw_error_t err;
		watch = client(o->broker, "simwatch", 65535, NULL);
		if(!watch || hw_mqtt_subscribe(watch, ROOT "/state/s/+", 1, &err) != HW_OK)
			return die("watcher subscribe failed", NULL);
	}
	fprintf(stderr, "sim: connecting %ld sessions (epoch %" PRId64 ")\n", n, epoch);
	for(long i = 0; i < n; i++){
		hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
		char will_json[160];
		snprintf(sid, sizeof(sid), "%s%ld", o->prefix, i);
		hw_topic_build(status_topic, sizeof(status_topic), ROOT, HW_T_STATUS, o->machine, sid, NULL);
		len = snprintf(will_json, sizeof(will_json),
				"{\"v\":1,\"session\":\"%s\",\"status\":\"lost\",\"epoch\":%" PRId64 "}", sid, epoch);
		will.topic = status_topic;
		will.payload = will_json;
		will.len = (size_t)len;
		ms[i] = client(o->broker, "simagent", 1000, &will);
		if(!ms[i]) goto cleanup;
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"status\":\"online\",\"epoch\":%" PRId64 ",\"ts\":%" PRId64 "}",
				sid, epoch, hw_time_ms());
		pub(ms[i], HW_T_STATUS, o->machine, sid, buf, len, true);
		/* a long interval: the benchmark measures ingest, not stall timers */
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"machine\":\"%s\",\"project\":\"bench\",\"epoch\":%" PRId64
				",\"seq\":0,"
				"\"ts\":%" PRId64 ",\"interval_ms\":60000,\"agent\":\"hwbench_sim\"}",
				sid, o->machine, epoch, hw_time_ms());
		pub(ms[i], HW_T_BIRTH, o->machine, sid, buf, len, false);
	}
	fprintf(stderr, "sim: sending heartbeats for %ld s (rate %ld/s, 0 = unpaced)\n", o->seconds, o->rate);
	t0 = hw_mono_us();
	t_end = t0 + o->seconds * 1000000LL;
	for(long i = 0;; i = (i + 1) % n){
		int64_t now = hw_mono_us();
		if(now >= t_end) break;
		if(o->rate > 0){
			int64_t due = (int64_t)((double)(now - t0) * (double)o->rate / 1e6);
			if((int64_t)sent >= due){
				usleep(500);
				continue;
			}
		}
		snprintf(sid, sizeof(sid), "%s%ld", o->prefix, i);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRId64 ",\"ts\":%" PRId64 ","
				"\"interval_ms\":60000,\"state\":\"active\",\"progress\":{\"prompts\":1,\"tools\":%" PRId64 ","
				"\"last_activity_ts\":%" PRId64 "}}",
				sid, epoch, seq[i] + 1, hw_time_ms(), seq[i] + 1, hw_time_ms());
		seq[i]++;
		if(pub(ms[i], HW_T_HB, o->machine, sid, buf, len, false) != 0){
			fprintf(stderr, "sim: publish failed\n");
			goto cleanup;
		}
		sent++;
	}
	/* the end marker: an idle event, published at once by the collector (a transition) */
	for(long i = 0; i < n; i++){
		snprintf(sid, sizeof(sid), "%s%ld", o->prefix, i);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"epoch\":%" PRId64 ",\"seq\":%" PRId64 ",\"ts\":%" PRId64
				",\"type\":\"idle\"}",
				sid, epoch, ++seq[i], hw_time_ms());
		pub(ms[i], HW_T_EV, o->machine, sid, buf, len, false);
	}
	emit("load_sessions", (double)n, "sessions", 1);
	emit("load_offered_hb_per_s", (double)sent * 1e6 / (double)(hw_mono_us() - t0), "hb/s", (long)sent);
	if(watch){
		done_us = wait_idle(watch, o->prefix, n, epoch, o->wait_ms);
		if(done_us) emit("collector_ingest_hb_per_s", (double)sent * 1e6 / (double)(done_us - t0), "hb/s", (long)sent);
		else fprintf(stderr, "sim: the collector did not publish every session as idle within %ld ms\n", o->wait_ms);
	}
	rc = 0;
cleanup:
	/* end every simulated session cleanly: ended (exit 0), then DISCONNECT (no will) */
	for(long i = 0; i < n; i++){
		if(!ms[i]) continue;
		snprintf(sid, sizeof(sid), "%s%ld", o->prefix, i);
		len = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"status\":\"ended\",\"epoch\":%" PRId64 ",\"ts\":%" PRId64 ","
				"\"exit\":{\"code\":0,\"signal\":null}}",
				sid, epoch, hw_time_ms());
		hw_topic_build(status_topic, sizeof(status_topic), ROOT, HW_T_STATUS, o->machine, sid, NULL);
		hw_mqtt_publish_wait(ms[i], status_topic, buf, (size_t)len, 1, true, 5000, NULL);
	}
	for(long i = 0; i < n; i++){
		if(!ms[i]) continue;
		hw_mqtt_disconnect(ms[i], 200);
		hw_mqtt_free(ms[i]);
	}
	hw_mqtt_free(watch);
	free(ms);
	free(seq);
	return rc;
}

/* ------------------------------------------------------------------ count */

static int cmd_count(const opts_t *o)
{
	hw_mqtt_t *m = client(o->broker, "simcount", 65535, NULL);
	char filter[HW_TOPIC_MAX];
	hw_error_t err;
	uint64_t n = 0;
	int64_t first = 0, last = 0, end = hw_mono_ms() + (o->wait_ms ? o->wait_ms : 600000);
	long quiet = o->quiet_ms ? o->quiet_ms : 3000;

	snprintf(filter, sizeof(filter), "%s/m/%s/s/+/hb", ROOT, o->machine);
	if(!m || hw_mqtt_subscribe(m, filter, 1, &err) != HW_OK) return die("counter subscribe failed", NULL);
	printf("ready\n");
	fflush(stdout);
	while(hw_mono_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while((msg = hw_mqtt_next(m))){
			last = hw_mono_us();
			if(!n) first = last;
			n++;
			hw_mqtt_msg_free(msg);
		}
		if(n && hw_mono_us() - last > quiet * 1000LL) break;
	}
	hw_mqtt_free(m);
	if(n < 2 || last <= first) return die("the counter saw no heartbeats", NULL);
	emit("broker_delivery_hb_per_s", (double)n * 1e6 / (double)(last - first), "hb/s", (long)n);
	return 0;
}

/* ------------------------------------------------------------------ kill / stop */

/* The retained state of one session, as the watcher last saw it. */
typedef struct seen {
	bool got;
	int state, cause;
	int64_t at_us, pid, last_hb_at, state_since, epoch;
} seen_t;

/* Pops everything queued on w; updates *s for session sid. */
static void watch_pump(hw_mqtt_t *w, const char *sid, seen_t *s)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(w))){
		hw_topic_t t;
		hw_session_t d = HW_SESSION_INIT;
		int64_t now = hw_mono_us();
		if(msg->len && hw_topic_parse(ROOT, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK &&
				strcmp(t.id, sid) == 0 && hw_session_decode(msg->payload, msg->len, &d, NULL) == HW_OK){
			s->got = true;
			s->state = d.state;
			s->cause = d.cause;
			s->at_us = now;
			s->pid = d.pid;
			s->last_hb_at = d.last_hb_at;
			s->state_since = d.state_since;
			s->epoch = d.epoch;
			hw_session_cleanup(&d);
		}
		hw_mqtt_msg_free(msg);
	}
}

/* Waits until the session is in state (cause < 0: any); returns the receive time in us or 0. */
static int64_t watch_until(hw_mqtt_t *w, const char *sid, seen_t *s, int state, int cause, int timeout_ms)
{
	int64_t end = hw_mono_ms() + timeout_ms;

	for(;;){
		watch_pump(w, sid, s);
		if(s->got && s->state == state && (cause < 0 || s->cause == cause)) return s->at_us;
		if(hw_mono_ms() >= end) return 0;
		hw_mqtt_wait(w, 20);
	}
}

static pid_t start_agent(const opts_t *o, const char *sid)
{
	char iv[32];
	const char *argv[24];
	int n = 0;

	snprintf(iv, sizeof(iv), "%ld", o->interval_ms);
	argv[n++] = o->agent;
	argv[n++] = "run";
	argv[n++] = "--broker";
	argv[n++] = o->broker;
	argv[n++] = "--machine";
	argv[n++] = o->machine;
	argv[n++] = "--session";
	argv[n++] = sid;
	argv[n++] = "--project";
	argv[n++] = "bench";
	argv[n++] = "--interval-ms";
	argv[n++] = iv;
	argv[n++] = "--state-dir";
	argv[n++] = o->state_dir;
	argv[n++] = "--log-level";
	argv[n++] = "error";
	argv[n++] = "--";
	argv[n++] = "sleep";
	argv[n++] = "600";
	argv[n] = NULL;
	return hwt_spawn(argv, NULL);
}

static int cmd_kill_or_stop(const opts_t *o, bool stop)
{
	hw_mqtt_t *w = client(o->broker, "simkw", 65535, NULL);
	double *lat = calloc((size_t)o->kills, sizeof(*lat)), *over = calloc((size_t)o->kills, sizeof(*over));
	int ok = 0;
	hw_error_t err;
	long grace = 3 * o->interval_ms;

	if(!w || !lat || !over || hw_mqtt_subscribe(w, ROOT "/state/s/+", 1, &err) != HW_OK) return die("watcher failed", NULL);
	for(long k = 0; k < o->kills; k++){
		char sid[HW_ID_MAX + 1];
		seen_t s = {0};
		pid_t a;
		int64_t t0, t1;
		snprintf(sid, sizeof(sid), "%s%d-%ld", o->prefix, (int)getpid(), k);
		a = start_agent(o, sid);
		if(a <= 0) return die("cannot start the agent", NULL);
		/* steady state: active, and a few heartbeats in */
		if(!watch_until(w, sid, &s, HW_STATE_ACTIVE, -1, 10000)){
			fprintf(stderr, "sim: %s never became active\n", sid);
			hwt_kill_wait(a, SIGKILL, 2000);
			continue;
		}
		if(stop){
			int64_t until = hw_mono_ms() + 2 * o->interval_ms + (hw_mono_ms() % o->interval_ms);
			while(hw_mono_ms() < until){
				hw_mqtt_wait(w, 10);
				watch_pump(w, sid, &s);
			}
		}
		t0 = hw_mono_us();
		kill(a, stop ? SIGSTOP : SIGKILL);
		if(stop) t1 = watch_until(w, sid, &s, HW_STATE_STALLED, HW_CAUSE_MISSED_HEARTBEATS, (int)(grace + 5000));
		else t1 = watch_until(w, sid, &s, HW_STATE_LOST, HW_CAUSE_WILL, 5000);
		if(t1){
			lat[ok] = (double)(t1 - t0) / 1000.0;
			over[ok] = (double)(s.state_since - s.last_hb_at - grace);
			ok++;
		}else{
			fprintf(stderr, "sim: %s: no %s state\n", sid, stop ? "stalled" : "lost");
		}
		hwt_kill_wait(a, SIGKILL, 5000);
		if(s.pid > 1) kill((pid_t)s.pid, SIGKILL);
		if((k + 1) % 10 == 0) fprintf(stderr, "sim: %ld/%ld\n", k + 1, o->kills);
	}
	hw_mqtt_free(w);
	if(ok == 0){
		free(lat);
		free(over);
		return die("no sample", NULL);
	}
	qsort(lat, (size_t)ok, sizeof(*lat), cmp_double);
	qsort(over, (size_t)ok, sizeof(*over), cmp_double);
	if(stop){
		emit("sigstop_to_stalled_p50_ms", pct(lat, ok, 50), "ms", ok);
		emit("sigstop_to_stalled_p99_ms", pct(lat, ok, 99), "ms", ok);
		emit("sigstop_to_stalled_max_ms", lat[ok - 1], "ms", ok);
		emit("stall_after_grace_p50_ms", pct(over, ok, 50), "ms", ok);
		emit("stall_after_grace_p99_ms", pct(over, ok, 99), "ms", ok);
		emit("stall_grace_ms", (double)grace, "ms", 1);
	}else{
		emit("sigkill_to_lost_p50_ms", pct(lat, ok, 50), "ms", ok);
		emit("sigkill_to_lost_p99_ms", pct(lat, ok, 99), "ms", ok);
		emit("sigkill_to_lost_max_ms", lat[ok - 1], "ms", ok);
	}
	free(lat);
	free(over);
	return ok == o->kills ? 0 : 1;
}

/* ------------------------------------------------------------------ ready */

static int cmd_ready(const opts_t *o)
{
	hw_mqtt_t *m = client(o->broker, "simready", 100, NULL);
	char topic[HW_TOPIC_MAX];
	hw_error_t err;
	int64_t end = hw_mono_ms() + (o->wait_ms ? o->wait_ms : 15000);

	if(!m) return 1;
	if(hw_topic_build(topic, sizeof(topic), ROOT, HW_T_COLLECTOR, NULL, o->prefix, &err) != HW_OK ||
			hw_mqtt_subscribe(m, topic, 1, &err) != HW_OK){
		hw_mqtt_free(m);
		return die("cannot watch the collector:", err.msg);
	}
	while(hw_mono_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while((msg = hw_mqtt_next(m))){
			bool online = msg->len == 6 && memcmp(msg->payload, "online", 6) == 0;
			hw_mqtt_msg_free(msg);
			if(online){
				hw_mqtt_free(m);
				return 0;
			}
		}
	}
	hw_mqtt_free(m);
	return die("the collector did not come online:", o->prefix);
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f,
			"usage: hwbench_sim load|count|kill|stop|ready --broker URL [options] | hwbench_sim port\n"
			"  load: --sessions N (100) --seconds S (10) --rate R (0 = unpaced) --prefix P --machine M --wait-ms MS\n"
			"  count: --machine M --quiet-ms MS (3000) --wait-ms MS (600000)\n"
			"  kill: --agent PATH --kills N (50) --interval-ms MS (200) --state-dir DIR --prefix P --machine M\n"
			"  stop: --agent PATH --stops N (20) --interval-ms MS (200) --state-dir DIR --prefix P --machine M\n"
			"  ready: --collector ID --wait-ms MS (15000)\n");
}

int main(int argc, char **argv)
{
	opts_t o = {.prefix = "sim-",
			.machine = "bench",
			.state_dir = "/tmp/hwbench-state",
			.sessions = 100,
			.seconds = 10,
			.kills = 50,
			.interval_ms = 200};
	const char *cmd;

	if(argc < 2){
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if(strcmp(cmd, "port") == 0){
		int port = hwt_free_port();
		if(port <= 0) return die("no free port", NULL);
		printf("%d\n", port);
		return 0;
	}
	if(strcmp(cmd, "stop") == 0) o.kills = 20;
	for(int i = 2; i < argc; i++){
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long *num = NULL, min = 0, max = 0;
		if(!v) return die("option needs a value:", a);
		i++;
		if(strcmp(a, "--broker") == 0) o.broker = v;
		else if(strcmp(a, "--agent") == 0) o.agent = v;
		else if(strcmp(a, "--prefix") == 0 || strcmp(a, "--collector") == 0) o.prefix = v;
		else if(strcmp(a, "--machine") == 0) o.machine = v;
		else if(strcmp(a, "--state-dir") == 0) o.state_dir = v;
		else if(strcmp(a, "--sessions") == 0){
			num = &o.sessions;
			min = 1;
			max = 100000;
		}else if(strcmp(a, "--seconds") == 0){
			num = &o.seconds;
			min = 1;
			max = 3600;
		}else if(strcmp(a, "--rate") == 0){
			num = &o.rate;
			min = 0;
			max = 10000000;
		}else if(strcmp(a, "--kills") == 0 || strcmp(a, "--stops") == 0){
			num = &o.kills;
			min = 1;
			max = 100000;
		}else if(strcmp(a, "--interval-ms") == 0){
			num = &o.interval_ms;
			min = 100;
			max = 3600000;
		}else if(strcmp(a, "--wait-ms") == 0){
			num = &o.wait_ms;
			min = 0;
			max = 3600000;
		}else if(strcmp(a, "--quiet-ms") == 0){
			num = &o.quiet_ms;
			min = 100;
			max = 600000;
		}else{
			usage(stderr);
			return die("unknown option", a);
		}
		if(num && !parse_long(v, min, max, num)) return die("bad number:", v);
	}
	if(!o.broker) return die("--broker is required", NULL);
	if(strcmp(cmd, "load") == 0) return cmd_load(&o);
	if(strcmp(cmd, "count") == 0) return cmd_count(&o);
	if(strcmp(cmd, "ready") == 0) return cmd_ready(&o);
	if(strcmp(cmd, "kill") == 0 || strcmp(cmd, "stop") == 0){
		if(!o.agent) return die("--agent is required", NULL);
		return cmd_kill_or_stop(&o, strcmp(cmd, "stop") == 0);
	}
	usage(stderr);
	return die("unknown command", cmd);
}
