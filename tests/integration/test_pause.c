/* test_pause.c: a pause set through the real collector (cmd/pause, cmd/unpause over MQTT 5
 * request/response, as an operator would) holds back the real heartwire-agent: `run
 * --when-paused fail` exits 3 with a message that names the pause (reason, resume time), and
 * `run --when-paused wait` starts its child only after `unpause`; per project too. Real
 * mosquitto, real MongoDB-compatible store. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/agentmsg.h"
#include "test_collector_common.h"

static tc_env_t env;

/* ------------------------------------------------------------------ requests */

/* Sends payload on {root}/cmd/{verb} with an MQTT 5 response topic and correlation data, and
 * waits for the reply. Returns 0 with *rep filled (caller cleans it), -1 otherwise. */
static int request(const char *verb, const char *payload, hw_reply_t *rep)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[64], topic[HW_TOPIC_MAX], reply[HW_TOPIC_MAX + 64];
	int64_t end;
	int rc = -1;

	*rep = (hw_reply_t)HW_REPLY_INIT;
	hwt_unique_name(id, sizeof(id), "tpause");
	snprintf(reply, sizeof(reply), "%s/reply/ops/%s", TC_ROOT, id);
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_topic_build(topic, sizeof(topic), TC_ROOT, HW_T_COMMAND, NULL, verb, &err) != HW_OK ||
			hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(m, reply, 1, &err) != HW_OK ||
			hw_mqtt_publish_req(m, topic, payload, strlen(payload), 1, reply, "c-1", 3, &err) != HW_OK){
		fprintf(stderr, "request %s: %s\n", verb, err.msg);
		goto cleanup;
	}
	end = hwt_now_ms() + 5000;
	while(rc != 0 && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while(rc != 0 && (msg = hw_mqtt_next(m)) != NULL){
			if(strcmp(msg->topic, reply) == 0 && hw_reply_decode(msg->payload, msg->len, rep, &err) == HW_OK){
				CU_ASSERT(msg->corr_len == 3 && memcmp(msg->corr, "c-1", 3) == 0);
				rc = 0;
			}
			hw_mqtt_msg_free(msg);
		}
	}
	if(rc != 0) fprintf(stderr, "request %s: no reply\n", verb);
cleanup:
	hw_mqtt_free(m);
	return rc;
}

/* A command that must succeed. */
static bool command_ok(const char *verb, const char *payload)
{
	hw_reply_t rep;
	bool ok;

	if(request(verb, payload, &rep) != 0) return false;
	ok = rep.ok;
	if(!ok) fprintf(stderr, "cmd/%s refused: %s: %s\n", verb, rep.code_name, rep.message);
	hw_reply_cleanup(&rep);
	return ok;
}

/* ------------------------------------------------------------------ the retained pauses */

typedef struct pw {
	hw_mqtt_t *m;
	hw_pause_t global, project;
	bool have_global, have_project;
} pw_t;

static pw_t pw;

static int pw_open(const char *project)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64], t1[HW_TOPIC_MAX], t2[HW_TOPIC_MAX];

	hwt_unique_name(id, sizeof(id), "tpw");
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_topic_build(t1, sizeof(t1), TC_ROOT, HW_T_STATE_PAUSE, NULL, NULL, &err) != HW_OK ||
			hw_topic_build(t2, sizeof(t2), TC_ROOT, HW_T_STATE_PROJECT, NULL, project, &err) != HW_OK ||
			hw_mqtt_new(&pw.m, &o, &err) != HW_OK || hw_mqtt_connect(pw.m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(pw.m, t1, 1, &err) != HW_OK || hw_mqtt_subscribe(pw.m, t2, 1, &err) != HW_OK){
		fprintf(stderr, "pause watcher: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void pw_pump(void)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(pw.m)) != NULL){
		hw_topic_t t;
		if(hw_topic_parse(TC_ROOT, msg->topic, strlen(msg->topic), &t, NULL) == HW_OK){
			hw_pause_t p = HW_PAUSE_INIT;
			if(t.kind == HW_T_STATE_PAUSE){
				if(msg->len == 0 || hw_pause_decode(msg->payload, msg->len, &p, NULL) == HW_OK){
					pw.global = p;
					pw.have_global = true;
				}
			}else if(t.kind == HW_T_STATE_PROJECT){
				if(msg->len == 0 || hw_pause_from_project(msg->payload, msg->len, &p, NULL) == HW_OK){
					pw.project = p;
					pw.have_project = true;
				}
			}
		}
		hw_mqtt_msg_free(msg);
	}
}

static bool global_paused(bool want)
{
	pw_pump();
	return hw_pause_active(&pw.global, hw_time_ms()) == want && (pw.have_global || !want);
}

static bool project_paused(bool want)
{
	pw_pump();
	return hw_pause_active(&pw.project, hw_time_ms()) == want && (pw.have_project || !want);
}

/* ------------------------------------------------------------------ the agent */

static pid_t run_agent(const char *session, const char *project, const char *when, const char *marker, const char *log)
{
	char bin[512], state[600], script[800];
	const char *argv[] = {bin, "run", "--broker", env.broker.url, "--machine", "m1", "--session", session, "--project",
			project, "--interval-ms", "200", "--state-dir", state, "--when-paused", when, "--log-level", "info", "--",
			"sh", "-c", script, NULL};

	snprintf(bin, sizeof(bin), "%s/agent/heartwire-agent", hwt_build_dir());
	snprintf(state, sizeof(state), "%s/state", env.dir);
	snprintf(script, sizeof(script), "echo started > '%s'", marker);
	return hwt_spawn(argv, log);
}

static int status_of(pid_t pid, const char *log, int timeout_ms)
{
	int st = 0;

	if(hwt_wait_pid(pid, timeout_ms, &st) != 0){
		hwt_print_tail(log, 30);
		hwt_kill_wait(pid, SIGKILL, 2000);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool log_has(const char *log, const char *text)
{
	static char buf[1 << 16];
	FILE *f = fopen(log, "r");
	size_t n;

	if(!f) return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------------ suite */

static int suite_init(void)
{
	mongoc_init();
	setenv("HEARTWIRE_CONFIG", "/dev/null", 1);
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	return pw_open("proj-p");
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 60);
	hw_mqtt_free(pw.m);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

/* A global pause with a resume time: `fail` exits 3 naming the reason and the time; nothing
 * runs; the collector never hears of the session. */
static void TEST_fail_when_paused(void)
{
	char payload[256], log[600], marker[600], when[40];
	int64_t resume_at = hw_time_ms() + 3600000;
	pid_t a;

	snprintf(payload, sizeof(payload), "{\"reason\":\"API rate limit\",\"resume_at\":%lld}", (long long)resume_at);
	CU_ASSERT_FATAL(command_ok("pause", payload));
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(global_paused(true), 5000));
	CU_ASSERT_STRING_EQUAL(pw.global.reason, "API rate limit");
	CU_ASSERT_EQUAL(pw.global.resume_at, resume_at);
	snprintf(log, sizeof(log), "%s/fail.log", env.dir);
	snprintf(marker, sizeof(marker), "%s/fail.started", env.dir);
	a = run_agent("s-pause-fail", "proj-a", "fail", marker, log);
	CU_ASSERT_FATAL(a > 0);
	CU_ASSERT_EQUAL(status_of(a, log, 15000), 3);
	CU_ASSERT_FALSE(exists(marker));
	CU_ASSERT(log_has(log, "not started: global pause: API rate limit"));
	hw_time_iso(resume_at, when, sizeof(when));
	when[16] = '\0'; /* to the minute: "2026-11-21T10:20" */
	CU_ASSERT(log_has(log, "resumes at"));
	CU_ASSERT(log_has(log, when));
	CU_ASSERT_FATAL(command_ok("unpause", "{}"));
	CU_ASSERT(HWT_WAIT_UNTIL(global_paused(false), 5000));
}

/* `wait` holds the child until unpause, then starts it. */
static void TEST_wait_until_unpause(void)
{
	char log[600], marker[600];
	pid_t a;

	CU_ASSERT_FATAL(command_ok("pause", "{\"reason\":\"maintenance\"}"));
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(global_paused(true), 5000));
	snprintf(log, sizeof(log), "%s/wait.log", env.dir);
	snprintf(marker, sizeof(marker), "%s/wait.started", env.dir);
	a = run_agent("s-pause-wait", "proj-a", "wait", marker, log);
	CU_ASSERT_FATAL(a > 0);
	/* It says it waits, and waits. */
	CU_ASSERT(HWT_WAIT_UNTIL(log_has(log, "waits: global pause: maintenance"), 10000));
	CU_ASSERT(log_has(log, "no resume time (until unpaused)"));
	CU_ASSERT_FALSE(exists(marker));
	CU_ASSERT_EQUAL(hwt_wait_pid(a, 300, NULL), -1); /* still there */
	CU_ASSERT_FALSE(exists(marker));
	CU_ASSERT_FATAL(command_ok("unpause", "{}"));
	CU_ASSERT(HWT_WAIT_UNTIL(exists(marker), 10000));
	CU_ASSERT_EQUAL(status_of(a, log, 10000), 0);
	CU_ASSERT(log_has(log, "pause over, starting"));
}

/* A project pause holds that project only. */
static void TEST_project_pause(void)
{
	char log[600], marker[600], log2[600], marker2[600];
	pid_t a, b;

	CU_ASSERT_FATAL(command_ok("pause", "{\"project\":\"proj-p\",\"reason\":\"budget\"}"));
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(project_paused(true), 5000));
	CU_ASSERT_STRING_EQUAL(pw.project.reason, "budget");
	CU_ASSERT_FALSE(global_paused(true));
	snprintf(log, sizeof(log), "%s/proj-fail.log", env.dir);
	snprintf(marker, sizeof(marker), "%s/proj-fail.started", env.dir);
	a = run_agent("s-proj-fail", "proj-p", "fail", marker, log);
	snprintf(log2, sizeof(log2), "%s/proj-other.log", env.dir);
	snprintf(marker2, sizeof(marker2), "%s/proj-other.started", env.dir);
	b = run_agent("s-proj-other", "proj-q", "fail", marker2, log2);
	CU_ASSERT_FATAL(a > 0 && b > 0);
	CU_ASSERT_EQUAL(status_of(a, log, 15000), 3);
	CU_ASSERT(log_has(log, "project pause of proj-p: budget"));
	CU_ASSERT_FALSE(exists(marker));
	CU_ASSERT_EQUAL(status_of(b, log2, 15000), 0);
	CU_ASSERT(exists(marker2));
	CU_ASSERT_FATAL(command_ok("unpause", "{\"project\":\"proj-p\"}"));
	CU_ASSERT(HWT_WAIT_UNTIL(project_paused(false), 5000));
	a = run_agent("s-proj-after", "proj-p", "fail", marker, log);
	CU_ASSERT_EQUAL(status_of(a, log, 15000), 0);
	CU_ASSERT(exists(marker));
}

int main(void)
{
	static const hwtest_case_t cases[] = {
			HWTEST(TEST_fail_when_paused), HWTEST(TEST_wait_until_unpause), HWTEST(TEST_project_pause), HWTEST_END};

	if(hwtest_init() != 0 || hwtest_suite("pause", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
