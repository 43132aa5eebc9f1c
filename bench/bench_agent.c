/* bench_agent.c: measures heartwire-agent against a private mosquitto: peak memory (VmHWM),
 * CPU per hour at a 5 s heartbeat interval (measured for a while and extrapolated), hook round
 * trips, and the will delay after SIGKILL. Prints one "metric<TAB>value<TAB>unit<TAB>target<TAB>
 * note" line per number on stdout; bench/run-agent turns them into bench/results/agent.tsv.
 *
 *   hwbench_bench_agent [--cpu-seconds N] [--hooks N] [--kills N]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"
#include "servers.h"

static const char *ROOT = "heartwire/v1";
static hwt_broker_t broker = HWT_BROKER_INIT;
static char dir[160];

static const char *agent_bin(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/agent/heartwire-agent", hwt_build_dir());
	return path;
}

/* ------------------------------------------------------------------ a subscriber */

typedef struct sub {
	hw_mqtt_t *m;
} sub_t;

static int sub_open(sub_t *s, const char *filter)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	hwt_unique_name(id, sizeof(id), "bsub");
	o.url = broker.url;
	o.client_id = id;
	o.max_inflight = 1000;
	if(hw_mqtt_new(&s->m, &o, &err) != HW_OK || hw_mqtt_connect(s->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(s->m, filter, 1, &err) != HW_OK){
		fprintf(stderr, "bench: subscriber: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Waits up to timeout_ms for a message on a topic of kind for session; copies the payload
 * into buf. Returns the arrival time in us (hw_mono_us), or -1. */
static int64_t sub_wait(sub_t *s, int kind, const char *session, char *buf, size_t len, int timeout_ms)
{
	int64_t end = hw_mono_ms() + timeout_ms;

	for(;;){
		hw_mqtt_msg_t *msg;
		while((msg = hw_mqtt_next(s->m)) != NULL){
			hw_topic_t t;
			int64_t now = hw_mono_us();
			bool hit = hw_topic_parse(ROOT, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK && t.kind == kind &&
					strcmp(t.id, session) == 0 && msg->len > 0 && !msg->retained;
			if(hit && buf){
				size_t n = msg->len < len - 1 ? msg->len : len - 1;
				memcpy(buf, msg->payload, n);
				buf[n] = '\0';
			}
			hw_mqtt_msg_free(msg);
			if(hit) return now;
		}
		if(hw_mono_ms() >= end) return -1;
		hw_mqtt_wait(s->m, (int)(end - hw_mono_ms()));
	}
}

static void sub_close(sub_t *s)
{
	hw_mqtt_disconnect(s->m, 500);
	hw_mqtt_free(s->m);
}

/* ------------------------------------------------------------------ processes */

/* Starts an agent for session with CMD `sleep 3600`; extra options (NULL-terminated). */
static pid_t start_agent(const char *session, const char *const *extra, const char *log)
{
	const char *argv[32];
	char state[256];
	int n = 0;

	snprintf(state, sizeof(state), "%s/state", dir);
	argv[n++] = agent_bin();
	argv[n++] = "run";
	argv[n++] = "--broker";
	argv[n++] = broker.url;
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--session";
	argv[n++] = session;
	while(extra && *extra && n < 26) argv[n++] = *extra++;
	argv[n++] = "--";
	argv[n++] = "sleep";
	argv[n++] = "3600";
	argv[n] = NULL;
	return hwt_spawn(argv, log);
}

/* Reads "Key:   N kB" from /proc/pid/status. */
static long status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if(!f) return -1;
	while(fgets(line, sizeof(line), f)){
		if(strncmp(line, key, kl) == 0 && line[kl] == ':'){
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

/* The agent's own CPU (utime + stime, fields 14 and 15 of /proc/pid/stat) in ms. */
static double cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY);
	if(fd < 0) return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if(n <= 0) return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if(!p) return -1;
	/* after ") ": state is field 3; skip fields 3..13 */
	p += 2;
	for(int f = 3; f < 14 && p; f++){
		p = strchr(p, ' ');
		if(p) p++;
	}
	if(!p || sscanf(p, "%llu %llu", &ut, &st) != 2) return -1;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* The agent's CPU time in ms with nanosecond resolution: the sum of the first field of
 * /proc/pid/task/TID/schedstat over its threads (Paho's included). -1 when unavailable. */
static double cpu_ms_precise(pid_t pid)
{
	char path[320], line[128];
	unsigned long long total = 0;
	struct dirent *e;
	DIR *d;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	d = opendir(path);
	if(!d) return -1;
	while((e = readdir(d)) != NULL){
		FILE *f;
		if(e->d_name[0] < '0' || e->d_name[0] > '9') continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%s/schedstat", (long)pid, e->d_name);
		f = fopen(path, "r");
		if(!f) continue;
		if(fgets(line, sizeof(line), f)){
			total += strtoull(line, NULL, 10);
			seen++;
		}
		fclose(f);
	}
	closedir(d);
	return seen ? (double)total / 1e6 : -1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n sorted values, nearest rank. */
static double pct(const int64_t *v, int n, double p)
{
	int k;

	if(n <= 0) return -1;
	k = (int)((p / 100.0) * n + 0.999999) - 1;
	if(k < 0) k = 0;
	if(k >= n) k = n - 1;
	return (double)v[k];
}

/* Runs `heartwire-agent hook` with payload on stdin and HEARTWIRE_HOOK_SOCKET=sock; returns
 * the wall time in us from fork to exit (the hook's exit status in *status). */
static int64_t run_hook(const char *sock, const char *payload, int *status)
{
	int in[2];
	int64_t t0 = hw_mono_us();
	pid_t pid;
	ssize_t w;

	if(pipe(in) != 0) return -1;
	pid = fork();
	if(pid == 0){
		int devnull = open("/dev/null", O_WRONLY);
		dup2(in[0], 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(in[0]);
		close(in[1]);
		setenv("HEARTWIRE_HOOK_SOCKET", sock, 1);
		execl(agent_bin(), agent_bin(), "hook", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	w = write(in[1], payload, strlen(payload));
	(void)w;
	close(in[1]);
	waitpid(pid, status, 0);
	return hw_mono_us() - t0;
}

/* Collects the agent's own "latency_us=N" log values (hook start to agent receipt). */
static int agent_latencies(const char *log, int64_t *out, int max)
{
	FILE *f = fopen(log, "r");
	char line[1024];
	int n = 0;

	if(!f) return 0;
	while(n < max && fgets(line, sizeof(line), f)){
		char *p = strstr(line, "latency_us=");
		if(p){
			long long v = strtoll(p + 11, NULL, 10);
			if(v >= 0) out[n++] = v;
		}
	}
	fclose(f);
	return n;
}

static void emit(const char *metric, double value, const char *unit, const char *target, const char *note)
{
	printf("%s\t%.3f\t%s\t%s\t%s\n", metric, value, unit, target, note);
	fflush(stdout);
}

/* ------------------------------------------------------------------ the benchmarks */

/* Memory and CPU at the default 5 s interval, with some hook traffic so the event path is
 * touched too. */
static int bench_idle(int seconds, int hooks_per_min)
{
	char session[64], log[256], sock[256] = "";
	const char *extra[] = {"--interval-ms", "5000", "--log-level", "info", NULL};
	double c0, c1;
	int64_t t0, t1, next_hook;
	long hwm, rss;
	pid_t pid;
	sub_t s;
	char filter[HW_TOPIC_MAX];

	hwt_unique_name(session, sizeof(session), "bidle");
	snprintf(log, sizeof(log), "%s/idle.log", dir);
	snprintf(filter, sizeof(filter), "%s/m/+/s/%s/#", ROOT, session);
	if(sub_open(&s, filter) != 0) return -1;
	pid = start_agent(session, extra, log);
	if(pid <= 0 || sub_wait(&s, HW_T_BIRTH, session, NULL, 0, 5000) < 0){
		fprintf(stderr, "bench: idle agent did not start\n");
		hwt_print_tail(log, 20);
		return -1;
	}
	/* the hook socket: the agent's pid is in its name */
	{
		char pattern[256];
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if(xdg && *xdg) snprintf(pattern, sizeof(pattern), "%s/heartwire/%s.%ld.sock", xdg, session, (long)pid);
		else snprintf(pattern, sizeof(pattern), "/tmp/heartwire-%ld/%s.%ld.sock", (long)getuid(), session, (long)pid);
		if(access(pattern, F_OK) == 0) snprintf(sock, sizeof(sock), "%s", pattern);
	}
	c0 = cpu_ms_precise(pid);
	if(c0 < 0) c0 = cpu_ms(pid);
	t0 = hw_mono_ms();
	next_hook = t0;
	while((t1 = hw_mono_ms()) - t0 < (int64_t)seconds * 1000){
		if(sock[0] && hooks_per_min > 0 && t1 >= next_hook){
			int st;
			run_hook(sock,
					"{\"hook_event_name\":\"PostToolUse\",\"session_id\":\"bench-sid\",\"tool_name\":"
					"\"Bash\"}",
					&st);
			next_hook += 60000 / hooks_per_min;
		}
		sub_wait(&s, HW_T_HB, session, NULL, 0, 1000);
	}
	c1 = cpu_ms_precise(pid);
	if(c1 < 0) c1 = cpu_ms(pid);
	hwm = status_kb(pid, "VmHWM");
	rss = status_kb(pid, "VmRSS");
	emit("agent_vmhwm", (double)hwm / 1024.0, "MiB", "<= 3",
			"peak RSS of heartwire-agent run (VmHWM), Paho threads included");
	emit("agent_vmrss", (double)rss / 1024.0, "MiB", "-", "RSS at the end of the idle run");
	{
		char note[200];
		double per_hour = (c1 - c0) / ((double)(t1 - t0) / 1000.0) * 3600.0;
		snprintf(note, sizeof(note),
				"all threads' CPU (schedstat) over %d s at interval 5 s with %d hooks/min, "
				"extrapolated to 1 h (%.2f ms measured)",
				seconds, hooks_per_min, c1 - c0);
		emit("agent_cpu_per_hour", per_hour / 1000.0, "s/h", "-", note);
	}
	hwt_kill_wait(pid, SIGTERM, 3000);
	sub_close(&s);
	return 0;
}

/* Hook round trips: the hook command's own wall time, its start to the agent's receipt (the
 * agent logs it), and its start to the resulting ev arriving at a subscriber. */
static int bench_hooks(int n)
{
	char session[64], log[256], sock[256], filter[HW_TOPIC_MAX];
	const char *extra[] = {"--interval-ms", "5000", "--log-level", "debug", NULL};
	int64_t *wall = calloc((size_t)n, sizeof(int64_t)), *to_ev = calloc((size_t)n, sizeof(int64_t));
	int64_t *agent = calloc((size_t)n, sizeof(int64_t));
	int nw = 0, ne = 0, na, failures = 0;
	pid_t pid;
	sub_t s;

	hwt_unique_name(session, sizeof(session), "bhook");
	snprintf(log, sizeof(log), "%s/hooks.log", dir);
	snprintf(filter, sizeof(filter), "%s/m/+/s/%s/#", ROOT, session);
	if(!wall || !to_ev || !agent || sub_open(&s, filter) != 0) return -1;
	pid = start_agent(session, extra, log);
	{
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if(xdg && *xdg) snprintf(sock, sizeof(sock), "%s/heartwire/%s.%ld.sock", xdg, session, (long)pid);
		else snprintf(sock, sizeof(sock), "/tmp/heartwire-%ld/%s.%ld.sock", (long)getuid(), session, (long)pid);
	}
	if(pid <= 0 || !HWT_WAIT_UNTIL(access(sock, F_OK) == 0, 5000)){
		fprintf(stderr, "bench: hook agent did not start\n");
		return -1;
	}
	/* measure the steady state: the agent is connected and has announced the session */
	if(sub_wait(&s, HW_T_BIRTH, session, NULL, 0, 5000) < 0){
		fprintf(stderr, "bench: hook agent did not connect\n");
		return -1;
	}
	for(int i = 0; i < n; i++){
		int st = 0;
		int64_t t0 = hw_mono_us(), w, arrived;
		/* UserPromptSubmit: one progress event per call */
		w = run_hook(sock, "{\"hook_event_name\":\"UserPromptSubmit\",\"session_id\":\"bench-sid\",\"prompt\":\"x\"}",
				&st);
		if(!WIFEXITED(st) || WEXITSTATUS(st) != 0) failures++;
		wall[nw++] = w;
		arrived = sub_wait(&s, HW_T_EV, session, NULL, 0, 2000);
		if(arrived > 0) to_ev[ne++] = arrived - t0;
	}
	hwt_kill_wait(pid, SIGTERM, 3000);
	na = agent_latencies(log, agent, n);
	qsort(wall, (size_t)nw, sizeof(int64_t), cmp_i64);
	qsort(to_ev, (size_t)ne, sizeof(int64_t), cmp_i64);
	qsort(agent, (size_t)na, sizeof(int64_t), cmp_i64);
	{
		char note[160];
		snprintf(note, sizeof(note), "%d calls of `heartwire-agent hook` (fork+exec to exit), %d non-zero exits", nw,
				failures);
		emit("hook_wall_p50", pct(wall, nw, 50) / 1000.0, "ms", "-", note);
		emit("hook_wall_p99", pct(wall, nw, 99) / 1000.0, "ms", "-", note);
		snprintf(note, sizeof(note),
				"%d calls: from fork of the hook command to the ev at a subscriber (upper bound of the round "
				"trip)",
				ne);
		emit("hook_to_ev_p50", pct(to_ev, ne, 50) / 1000.0, "ms", "-", note);
		emit("hook_to_ev_p99", pct(to_ev, ne, 99) / 1000.0, "ms", "<= 5", note);
		snprintf(note, sizeof(note), "%d calls: from the hook command's start (after exec) to the agent having the event",
				na);
		emit("hook_to_agent_p50", pct(agent, na, 50) / 1000.0, "ms", "-", note);
		emit("hook_to_agent_p99", pct(agent, na, 99) / 1000.0, "ms", "<= 5", note);
	}
	sub_close(&s);
	free(wall);
	free(to_ev);
	free(agent);
	return 0;
}

/* Will delay: SIGKILL the agent, time until the broker's retained "lost" reaches a subscriber. */
static int bench_wills(int kills)
{
	int64_t *d = calloc((size_t)kills, sizeof(int64_t));
	int nd = 0;
	sub_t s;
	char filter[HW_TOPIC_MAX];

	snprintf(filter, sizeof(filter), "%s/m/+/s/+/#", ROOT);
	if(!d || sub_open(&s, filter) != 0) return -1;
	for(int i = 0; i < kills; i++){
		char session[64], log[256], buf[4096];
		const char *extra[] = {"--log-level", "warn", NULL};
		hw_birth_t b;
		int64_t t_kill, t_will;
		pid_t pid;

		hwt_unique_name(session, sizeof(session), "bwill");
		snprintf(log, sizeof(log), "%s/will.log", dir);
		pid = start_agent(session, extra, log);
		if(pid <= 0 || sub_wait(&s, HW_T_BIRTH, session, buf, sizeof(buf), 5000) < 0){
			fprintf(stderr, "bench: agent %d did not start\n", i);
			continue;
		}
		if(hw_birth_decode(buf, strlen(buf), &b, NULL) != HW_OK) continue;
		t_kill = hw_mono_us();
		kill(pid, SIGKILL);
		t_will = sub_wait(&s, HW_T_STATUS, session, buf, sizeof(buf), 5000);
		if(t_will > 0 && strstr(buf, "\"lost\"")) d[nd++] = t_will - t_kill;
		hwt_kill_wait(pid, 0, 1000);
		kill((pid_t)b.pid, SIGKILL); /* the orphaned `sleep` */
		hw_birth_cleanup(&b);
	}
	qsort(d, (size_t)nd, sizeof(int64_t), cmp_i64);
	{
		char note[160];
		snprintf(note, sizeof(note), "%d SIGKILLs of a connected agent: kill to the retained status lost at a subscriber",
				nd);
		emit("will_delay_p50", pct(d, nd, 50) / 1000.0, "ms", "-", note);
		emit("will_delay_p99", pct(d, nd, 99) / 1000.0, "ms", "<= 50", note);
	}
	sub_close(&s);
	free(d);
	return nd == kills ? 0 : -1;
}

int main(int argc, char **argv)
{
	int cpu_seconds = 120, hooks = 200, kills = 60, rc = 0;

	for(int i = 1; i + 1 < argc; i += 2){
		if(strcmp(argv[i], "--cpu-seconds") == 0) cpu_seconds = (int)strtol(argv[i + 1], NULL, 10);
		else if(strcmp(argv[i], "--hooks") == 0) hooks = (int)strtol(argv[i + 1], NULL, 10);
		else if(strcmp(argv[i], "--kills") == 0) kills = (int)strtol(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--cpu-seconds N] [--hooks N] [--kills N]\n", argv[0]);
			return 2;
		}
	}
	if(cpu_seconds < 10 || hooks < 10 || kills < 10){
		fprintf(stderr, "bench: --cpu-seconds, --hooks and --kills must be at least 10\n");
		return 2;
	}
	if(access(agent_bin(), X_OK) != 0){
		fprintf(stderr, "bench: %s is not built\n", agent_bin());
		return 1;
	}
	if(hwt_tmpdir(dir, sizeof(dir), "hw_bench_agent_") != 0 || hwt_broker_start(&broker, NULL) != 0) return 1;
	printf("metric\tvalue\tunit\ttarget\tnote\n");
	if(bench_hooks(hooks) != 0) rc = 1;
	if(bench_wills(kills) != 0) rc = 1;
	if(bench_idle(cpu_seconds, 6) != 0) rc = 1;
	hwt_broker_cleanup(&broker);
	return rc;
}
