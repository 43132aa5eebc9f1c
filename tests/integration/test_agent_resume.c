/* test_agent_resume.c: `heartwire-agent resume` against a real mosquitto, a real
 * MongoDB-compatible store, the real heartwire-collector (q/session, cmd/claim, cmd/release)
 * and the real heartwire-agent. A fake `claude` on PATH records its argv, sends the hooks a
 * test asks for through the real `heartwire-agent hook` (JSON on stdin, as Claude Code does)
 * and exits with the code the test chose. Covers: the newest Claude session id after
 * SessionStart startup -> compact -> resume and a crash; the fallback to a fresh session when
 * the resume fails, counted; the failure limit and staleness making the session not resumable;
 * refusals (unknown session, a live session, no collector) and --dry-run. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_collector_common.h"

#define INTERVAL 200

static tc_env_t env;
static char bin_dir[400], fake_dir[400], work_dir[400];

/* ------------------------------------------------------------------ the fake claude */

static const char fake_claude[] =
		"#!/bin/sh\n"
		"# fake claude: records argv, cwd and HEARTWIRE_RESUME_SID of each call, sends the hooks of\n"
		"# hooks.N through `heartwire-agent hook`, waits for go.N when wait.N exists, and exits with\n"
		"# resume_exit (when called with --resume) or fresh_exit.\n"
		"d=\"$FAKE_DIR\"\n"
		"n=$(( $(cat \"$d/calls\" 2>/dev/null || echo 0) + 1 ))\n"
		"echo \"$n\" > \"$d/calls.tmp\" && mv \"$d/calls.tmp\" \"$d/calls\"\n"
		": > \"$d/argv.$n.tmp\"\n"
		"resume=0\n"
		"for a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$d/argv.$n.tmp\"; [ \"$a\" = --resume ] && resume=1; done\n"
		"pwd > \"$d/cwd.$n\"\n"
		"printf '%s\\n' \"$HEARTWIRE_RESUME_SID\" > \"$d/env.$n\"\n"
		"mv \"$d/argv.$n.tmp\" \"$d/argv.$n\"\n"
		"if [ -f \"$d/hooks.$n\" ]; then\n"
		"  while IFS= read -r line; do printf '%s' \"$line\" | \"$HW_AGENT\" hook; done < \"$d/hooks.$n\"\n"
		"fi\n"
		"if [ -f \"$d/wait.$n\" ]; then\n"
		"  i=0; while [ ! -f \"$d/go.$n\" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done\n"
		"fi\n"
		"if [ $resume = 1 ]; then exit \"$(cat \"$d/resume_exit\" 2>/dev/null || echo 0)\"; fi\n"
		"exit \"$(cat \"$d/fresh_exit\" 2>/dev/null || echo 0)\"\n";

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if(!f) return -1;
	fputs(text, f);
	return fclose(f);
}

static int read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[600];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if(!f) return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

/* Clears the fake's records and sets the exit codes for the next calls. */
static void fake_reset(int fresh_exit, int resume_exit)
{
	char buf[32];

	hwt_rmtree(fake_dir);
	mkdir(fake_dir, 0700);
	snprintf(buf, sizeof(buf), "%d\n", fresh_exit);
	write_file(fake_dir, "fresh_exit", buf);
	snprintf(buf, sizeof(buf), "%d\n", resume_exit);
	write_file(fake_dir, "resume_exit", buf);
}

static int fake_calls(void)
{
	char buf[32];

	if(read_file(fake_dir, "calls", buf, sizeof(buf)) != 0) return 0;
	return (int)strtol(buf, NULL, 10);
}

/* The argv of call n as one line, words joined by '|'. */
static const char *fake_argv(int n)
{
	static char buf[2048];
	char name[32];

	snprintf(name, sizeof(name), "argv.%d", n);
	if(read_file(fake_dir, name, buf, sizeof(buf)) != 0) return "(no call)";
	for(char *p = buf; *p; p++){
		if(*p == '\n') *p = p[1] ? '|' : '\0';
	}
	return buf;
}

static const char *fake_line(const char *what, int n)
{
	static char buf[1024];
	char name[32];
	size_t l;

	snprintf(name, sizeof(name), "%s.%d", what, n);
	if(read_file(fake_dir, name, buf, sizeof(buf)) != 0) return "(none)";
	l = strlen(buf);
	if(l && buf[l - 1] == '\n') buf[l - 1] = '\0';
	return buf;
}

/* A SessionStart hook payload as Claude Code sends it. */
static void hook_line(char *buf, size_t len, const char *sid, const char *source)
{
	snprintf(buf, len,
			"{\"session_id\":\"%s\",\"transcript_path\":\"/tmp/hw-fake/%s.jsonl\",\"cwd\":\"%s\","
			"\"hook_event_name\":\"SessionStart\",\"source\":\"%s\"}\n",
			sid, sid, work_dir, source);
}

/* ------------------------------------------------------------------ the retained document */

typedef struct dw {
	hw_mqtt_t *m;
	char topic[HW_TOPIC_MAX];
	hw_session_t doc;
	bool have;
} dw_t;

static int dw_open(dw_t *w, const char *session)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_error_t err;
	char id[64];

	memset(w, 0, sizeof(*w));
	w->doc = (hw_session_t)HW_SESSION_INIT;
	hwt_unique_name(id, sizeof(id), "tdw");
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_topic_build(w->topic, sizeof(w->topic), TC_ROOT, HW_T_STATE_SESSION, NULL, session, &err) != HW_OK ||
			hw_mqtt_new(&w->m, &o, &err) != HW_OK || hw_mqtt_connect(w->m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(w->m, w->topic, 1, &err) != HW_OK){
		fprintf(stderr, "doc watcher: %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* Takes the newest retained document in; always true (for use in conditions). */
static bool dw_pump(dw_t *w)
{
	hw_mqtt_msg_t *msg;

	while((msg = hw_mqtt_next(w->m)) != NULL){
		hw_session_t d;
		if(msg->len > 0 && hw_session_decode(msg->payload, msg->len, &d, NULL) == HW_OK){
			hw_session_cleanup(&w->doc);
			w->doc = d;
			w->have = true;
		}
		hw_mqtt_msg_free(msg);
	}
	return true;
}

static void dw_close(dw_t *w)
{
	hw_mqtt_free(w->m);
	hw_session_cleanup(&w->doc);
	memset(w, 0, sizeof(*w));
}

static bool dw_state(dw_t *w, int state)
{
	dw_pump(w);
	return w->have && w->doc.state == state;
}

/* The number of stored action events of session whose text starts with prefix. */
static int db_actions(const char *session, const char *prefix)
{
	mongoc_client_t *c = mongoc_client_new(env.store.uri);
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	bson_t filter = BSON_INITIALIZER;
	const bson_t *doc;
	int n = 0;

	if(!c) return -1;
	coll = mongoc_client_get_collection(c, env.db, "events");
	BSON_APPEND_UTF8(&filter, "session", session);
	BSON_APPEND_UTF8(&filter, "type", "action");
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		if(bson_iter_init_find(&it, doc, "text") && BSON_ITER_HOLDS_UTF8(&it) &&
				strncmp(bson_iter_utf8(&it, NULL), prefix, strlen(prefix)) == 0)
			n++;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return n;
}

/* ------------------------------------------------------------------ the agent */

static const char *agent_path(void)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/agent/heartwire-agent", hwt_build_dir());
	return path;
}

/* Spawns heartwire-agent with args (NULL-terminated) in work_dir; its output goes to log. */
static pid_t agent_spawn(const char *log, const char *const *args)
{
	const char *argv[64];
	char here[1024];
	int n = 0;
	pid_t pid;

	argv[n++] = agent_path();
	for(int i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
	argv[n] = NULL;
	if(!getcwd(here, sizeof(here)) || chdir(work_dir) != 0) return -1;
	pid = hwt_spawn(argv, log);
	if(chdir(here) != 0) return -1;
	return pid;
}

/* Waits for pid; returns its shell exit status or -1 (and prints the log) on a timeout. */
static int agent_status(pid_t pid, const char *log, int timeout_ms)
{
	int st = 0;

	if(pid <= 0) return -1;
	if(hwt_wait_pid(pid, timeout_ms, &st) != 0){
		hwt_print_tail(log, 40);
		hwt_kill_wait(pid, SIGKILL, 2000);
		return -1;
	}
	if(WIFEXITED(st)) return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

static bool log_has(const char *log, const char *text)
{
	static char buf[1 << 18];
	FILE *f = fopen(log, "r");
	size_t n;

	if(!f) return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, text) != NULL;
}

/* Runs the first run of a session on machine: `claude -p "fix the login"` whose hooks report
 * the given SessionStart chain, exiting with fresh_exit (a crash). Waits until the collector
 * stored the crash with the whole chain. */
static int seed(dw_t *w, const char *session, const char *machine, const char *const *sids, const char *const *sources, int nsids,
		int fresh_exit)
{
	char log[600], state[600], iv[16], hooks[4096] = "", line[1024];
	const char *args[] = {"run", "--broker", env.broker.url, "--machine", machine, "--session", session, "--project", "proj",
			"--task", "#7 login", "--interval-ms", iv, "--state-dir", state, "--log-level", "info", "--", "claude",
			"-p", "fix the login", NULL};
	size_t off = 0;
	int rc;

	fake_reset(fresh_exit, 0);
	for(int i = 0; i < nsids; i++){
		hook_line(line, sizeof(line), sids[i], sources[i]);
		off += (size_t)snprintf(hooks + off, sizeof(hooks) - off, "%s", line);
	}
	write_file(fake_dir, "hooks.1", hooks);
	snprintf(iv, sizeof(iv), "%d", INTERVAL);
	snprintf(state, sizeof(state), "%s/state-%s", env.dir, machine);
	snprintf(log, sizeof(log), "%s/seed-%s.log", env.dir, session);
	rc = agent_status(agent_spawn(log, args), log, 20000);
	if(rc != fresh_exit){
		fprintf(stderr, "seed %s: the first run exited %d, not %d\n", session, rc, fresh_exit);
		hwt_print_tail(log, 30);
		return -1;
	}
	if(!HWT_WAIT_UNTIL(dw_state(w, HW_STATE_CRASHED) && w->doc.claude.chain_len == (size_t)nsids, 10000)){
		fprintf(stderr, "seed %s: state %s, chain %zu\n", session, hw_state_name(w->doc.state), w->doc.claude.chain_len);
		return -1;
	}
	return 0;
}

/* Runs `heartwire-agent resume SESSION` on machine with extra options; returns the exit status. */
static int resume(const char *session, const char *machine, const char *log, const char *const *extra)
{
	char state[600], iv[16];
	const char *args[48] = {"resume", session, "--broker", env.broker.url, "--machine", machine, "--state-dir", state,
			"--interval-ms", iv, "--log-level", "info", "--request-timeout-ms", "5000"};
	int n = 14;

	snprintf(iv, sizeof(iv), "%d", INTERVAL);
	snprintf(state, sizeof(state), "%s/state-%s", env.dir, machine);
	for(int i = 0; extra && extra[i] && n < 47; i++) args[n++] = extra[i];
	args[n] = NULL;
	return agent_status(agent_spawn(log, args), log, 60000);
}

/* Sends payload on {root}/cmd/{verb} (MQTT 5 response topic), as another restarter would;
 * returns 0 with the reply in *rep (caller cleans it). */
static int command(const char *verb, const char *payload, hw_reply_t *rep)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char id[64], topic[HW_TOPIC_MAX], reply[HW_TOPIC_MAX + 64];
	int64_t end;
	int rc = -1;

	*rep = (hw_reply_t)HW_REPLY_INIT;
	hwt_unique_name(id, sizeof(id), "trq");
	snprintf(reply, sizeof(reply), "%s/reply/ops/%s", TC_ROOT, id);
	o.url = env.broker.url;
	o.client_id = id;
	if(hw_topic_build(topic, sizeof(topic), TC_ROOT, HW_T_COMMAND, NULL, verb, &err) != HW_OK ||
			hw_mqtt_new(&m, &o, &err) != HW_OK || hw_mqtt_connect(m, NULL, &err) != HW_OK ||
			hw_mqtt_subscribe(m, reply, 1, &err) != HW_OK ||
			hw_mqtt_publish_req(m, topic, payload, strlen(payload), 1, reply, "c", 1, &err) != HW_OK){
		fprintf(stderr, "cmd/%s: %s\n", verb, err.msg);
		goto cleanup;
	}
	end = hwt_now_ms() + 5000;
	while(rc != 0 && hwt_now_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(m, 50);
		while(rc != 0 && (msg = hw_mqtt_next(m)) != NULL){
			if(strcmp(msg->topic, reply) == 0 && hw_reply_decode(msg->payload, msg->len, rep, &err) == HW_OK) rc = 0;
			hw_mqtt_msg_free(msg);
		}
	}
cleanup:
	hw_mqtt_free(m);
	return rc;
}

/* ------------------------------------------------------------------ suite */

static int suite_init(void)
{
	char path[600], p[4096];

	mongoc_init();
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	snprintf(bin_dir, sizeof(bin_dir), "%s/bin", env.dir);
	snprintf(fake_dir, sizeof(fake_dir), "%s/fake", env.dir);
	snprintf(work_dir, sizeof(work_dir), "%s/work dir", env.dir);
	if(mkdir(bin_dir, 0700) != 0 || mkdir(work_dir, 0700) != 0) return -1;
	if(write_file(bin_dir, "claude", fake_claude) != 0) return -1;
	snprintf(path, sizeof(path), "%s/claude", bin_dir);
	if(chmod(path, 0700) != 0) return -1;
	snprintf(p, sizeof(p), "%s:%s", bin_dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", p, 1);
	setenv("FAKE_DIR", fake_dir, 1);
	setenv("HW_AGENT", agent_path(), 1);
	setenv("HEARTWIRE_CONFIG", "/dev/null", 1);
	unsetenv("HEARTWIRE_SESSION");
	unsetenv("HEARTWIRE_HOOK_SOCKET");
	return 0;
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(env.log, 80);
	tc_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static const char *const chain3[] = {"sid-a-startup", "sid-b-compact", "sid-c-resume"};
static const char *const src3[] = {"startup", "compact", "resume"};

/* startup -> compact -> resume, crash; `resume` on another machine runs claude --resume with
 * the newest id, in the stored directory, as run 1, and the session moves there. */
static void TEST_resume_uses_newest_sid(void)
{
	char s[64], log[600], line[1024];
	dw_t w;
	int64_t epoch;

	hwt_unique_name(s, sizeof(s), "rs_new");
	snprintf(log, sizeof(log), "%s/%s-resume.log", env.dir, s);
	CU_ASSERT_FATAL(dw_open(&w, s) == 0);
	CU_ASSERT_FATAL(seed(&w, s, "m1", chain3, src3, 3, 3) == 0);
	CU_ASSERT_STRING_EQUAL(w.doc.claude.sid, "sid-c-resume");
	CU_ASSERT_EQUAL(w.doc.run, 0);
	epoch = w.doc.epoch;
	/* The resumed claude, as the real one does, reports a new id of source resume. */
	fake_reset(0, 0);
	hook_line(line, sizeof(line), "sid-d-resumed", "resume");
	write_file(fake_dir, "hooks.1", line);
	CU_ASSERT_EQUAL(resume(s, "m2", log, NULL), 0);
	CU_ASSERT_EQUAL(fake_calls(), 1);
	CU_ASSERT_STRING_EQUAL(fake_argv(1), "--resume|sid-c-resume|-p|fix the login");
	CU_ASSERT_STRING_EQUAL(fake_line("cwd", 1), work_dir);
	CU_ASSERT_STRING_EQUAL(fake_line("env", 1), "sid-c-resume");
	CU_ASSERT(log_has(log, "resuming Claude session sid-c-resume"));
	CU_ASSERT(log_has(log, "resumed Claude session sid-c-resume; exit status 0"));
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_COMPLETED) && strcmp(w.doc.claude.sid, "sid-d-resumed") == 0, 10000));
	CU_ASSERT_EQUAL(w.doc.run, 1);
	CU_ASSERT_STRING_EQUAL(w.doc.machine, "m2");
	CU_ASSERT(w.doc.epoch > epoch);
	CU_ASSERT_STRING_EQUAL(hw_session_cwd(&w.doc), work_dir);
	CU_ASSERT_STRING_EQUAL(w.doc.project, "proj");
	CU_ASSERT_STRING_EQUAL(hw_session_task(&w.doc), "#7 login");
	CU_ASSERT_EQUAL(w.doc.claude.resume_failures, 0);
	CU_ASSERT_TRUE(w.doc.claude.resumable);
	CU_ASSERT_EQUAL_FATAL(w.doc.claude.chain_len, 4);
	CU_ASSERT_STRING_EQUAL(w.doc.claude.chain[0].sid, "sid-a-startup");
	CU_ASSERT_STRING_EQUAL(w.doc.claude.chain[2].sid, "sid-c-resume");
	CU_ASSERT_EQUAL(w.doc.claude.chain[3].source, HW_SID_RESUME);
	CU_ASSERT(w.doc.argc >= 2 && strcmp(w.doc.argv[1], "--resume") == 0);
	dw_close(&w);
}

/* The resume fails fast: the fresh command runs at once, the failure is counted, the fresh
 * child's exit status is resume's. */
static void TEST_fallback_to_fresh(void)
{
	char s[64], log[600];
	dw_t w;

	hwt_unique_name(s, sizeof(s), "rs_fb");
	snprintf(log, sizeof(log), "%s/%s-resume.log", env.dir, s);
	CU_ASSERT_FATAL(dw_open(&w, s) == 0);
	CU_ASSERT_FATAL(seed(&w, s, "m1", chain3, src3, 3, 2) == 0);
	fake_reset(5, 1);
	CU_ASSERT_EQUAL(resume(s, "m1", log, NULL), 5);
	CU_ASSERT_EQUAL(fake_calls(), 2);
	CU_ASSERT_STRING_EQUAL(fake_argv(1), "--resume|sid-c-resume|-p|fix the login");
	CU_ASSERT_STRING_EQUAL(fake_argv(2), "-p|fix the login");
	CU_ASSERT_STRING_EQUAL(fake_line("env", 2), "");
	CU_ASSERT(log_has(log, "fell back to a fresh Claude session; exit status 5"));
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_CRASHED) && w.doc.run == 2, 10000));
	CU_ASSERT_EQUAL(w.doc.claude.resume_failures, 1);
	CU_ASSERT_TRUE(w.doc.claude.resumable);
	CU_ASSERT(w.doc.has_exit && w.doc.exit.code == 5);
	CU_ASSERT(w.doc.argc == 3 && strcmp(w.doc.argv[1], "-p") == 0);
	/* The audit log has the failure. */
	CU_ASSERT(HWT_WAIT_UNTIL(db_actions(s, HW_ACTION_RESUME_FAILED) == 1, 5000));
	CU_ASSERT_EQUAL(db_actions(s, HW_ACTION_NOT_RESUMABLE), 0);
	dw_close(&w);
}

/* After --max-resume-failures the session is not resumable: the next resume starts fresh
 * at once, without trying. */
static void TEST_failure_limit_marks_not_resumable(void)
{
	const char *opts[] = {"--max-resume-failures", "2", NULL};
	char s[64], log[600];
	dw_t w;

	hwt_unique_name(s, sizeof(s), "rs_lim");
	CU_ASSERT_FATAL(dw_open(&w, s) == 0);
	CU_ASSERT_FATAL(seed(&w, s, "m1", chain3, src3, 3, 2) == 0);
	for(int k = 1; k <= 2; k++){
		snprintf(log, sizeof(log), "%s/%s-resume-%d.log", env.dir, s, k);
		fake_reset(4, 1);
		CU_ASSERT_EQUAL(resume(s, "m1", log, opts), 4);
		CU_ASSERT_EQUAL(fake_calls(), 2);
		CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_CRASHED) && w.doc.claude.resume_failures == k, 10000));
	}
	CU_ASSERT(log_has(log, "marked not resumable"));
	CU_ASSERT_FALSE(w.doc.claude.resumable);
	/* The third: fresh at once. */
	snprintf(log, sizeof(log), "%s/%s-resume-3.log", env.dir, s);
	fake_reset(0, 1);
	CU_ASSERT_EQUAL(resume(s, "m1", log, opts), 0);
	CU_ASSERT_EQUAL(fake_calls(), 1);
	CU_ASSERT_STRING_EQUAL(fake_argv(1), "-p|fix the login");
	CU_ASSERT(log_has(log, "started fresh (the session is marked not resumable)"));
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_COMPLETED), 10000));
	CU_ASSERT_EQUAL(w.doc.claude.resume_failures, 2);
	dw_close(&w);
}

/* A chain older than --stale-ms: fresh at once, and the session is reported not resumable. */
static void TEST_stale_chain_starts_fresh(void)
{
	const char *opts[] = {"--stale-ms", "1", NULL};
	char s[64], log[600];
	dw_t w;

	hwt_unique_name(s, sizeof(s), "rs_stale");
	snprintf(log, sizeof(log), "%s/%s-resume.log", env.dir, s);
	CU_ASSERT_FATAL(dw_open(&w, s) == 0);
	CU_ASSERT_FATAL(seed(&w, s, "m1", chain3, src3, 3, 2) == 0);
	fake_reset(0, 0);
	CU_ASSERT_EQUAL(resume(s, "m1", log, opts), 0);
	CU_ASSERT_EQUAL(fake_calls(), 1);
	CU_ASSERT_STRING_EQUAL(fake_argv(1), "-p|fix the login");
	CU_ASSERT(log_has(log, "Claude session sid-c-resume is"));
	CU_ASSERT(log_has(log, "marking it not resumable"));
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_COMPLETED) && !w.doc.claude.resumable, 10000));
	CU_ASSERT_EQUAL(w.doc.claude.resume_failures, 0);
	dw_close(&w);
}

/* Another restarter holds the claim: resume is refused (conflict, exit 1) and starts nothing;
 * once that claim is released, resume goes ahead. */
static void TEST_conflicting_claim(void)
{
	char s[64], log[600], payload[256], token[HW_ID_MAX + 1] = "";
	hw_reply_t rep;
	dw_t w;

	hwt_unique_name(s, sizeof(s), "rs_conf");
	CU_ASSERT_FATAL(dw_open(&w, s) == 0);
	CU_ASSERT_FATAL(seed(&w, s, "m1", chain3, src3, 3, 2) == 0);
	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"claimant\":\"m9\"}", s);
	CU_ASSERT_FATAL(command("claim", payload, &rep) == 0);
	CU_ASSERT_FATAL(rep.ok);
	CU_ASSERT(hw_reply_string(&rep, "token", token, sizeof(token), NULL) == HW_OK);
	hw_reply_cleanup(&rep);
	fake_reset(0, 0);
	snprintf(log, sizeof(log), "%s/%s-resume-1.log", env.dir, s);
	CU_ASSERT_EQUAL(resume(s, "m1", log, NULL), 1);
	CU_ASSERT(log_has(log, "cannot claim") || log_has(log, "refused by the collector (conflict)"));
	CU_ASSERT(log_has(log, "conflict"));
	CU_ASSERT_EQUAL(fake_calls(), 0);
	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"token\":\"%s\"}", s, token);
	CU_ASSERT_FATAL(command("release", payload, &rep) == 0);
	CU_ASSERT(rep.ok);
	hw_reply_cleanup(&rep);
	snprintf(log, sizeof(log), "%s/%s-resume-2.log", env.dir, s);
	CU_ASSERT_EQUAL(resume(s, "m1", log, NULL), 0);
	CU_ASSERT_STRING_EQUAL(fake_argv(1), "--resume|sid-c-resume|-p|fix the login");
	dw_close(&w);
}

/* Unknown session, a live session, --dry-run, and no collector: refused with exit 1 and a
 * message; nothing started. */
static void TEST_refusals_and_dry_run(void)
{
	const char *dry[] = {"--dry-run", NULL};
	char s[64], live[64], log[600], iv[16], state[600], url[64];
	const char *live_args[] = {"run", "--broker", env.broker.url, "--machine", "m1", "--session", live, "--interval-ms", iv,
			"--state-dir", state, "--", "claude", NULL};
	hwt_broker_t lonely = HWT_BROKER_INIT;
	dw_t w;
	pid_t lp;
	int64_t t0;

	snprintf(iv, sizeof(iv), "%d", INTERVAL);
	snprintf(state, sizeof(state), "%s/state-live", env.dir);
	/* Unknown session. */
	hwt_unique_name(s, sizeof(s), "rs_unknown");
	snprintf(log, sizeof(log), "%s/%s.log", env.dir, s);
	fake_reset(0, 0);
	CU_ASSERT_EQUAL(resume(s, "m1", log, NULL), 1);
	CU_ASSERT(log_has(log, "unknown_session"));
	CU_ASSERT_EQUAL(fake_calls(), 0);
	/* A live session: the claim is refused. */
	hwt_unique_name(live, sizeof(live), "rs_live");
	CU_ASSERT_FATAL(dw_open(&w, live) == 0);
	fake_reset(0, 0);
	write_file(fake_dir, "wait.1", "");
	snprintf(log, sizeof(log), "%s/%s-run.log", env.dir, live);
	lp = agent_spawn(log, live_args);
	CU_ASSERT_FATAL(lp > 0);
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_ACTIVE), 10000));
	snprintf(log, sizeof(log), "%s/%s-resume.log", env.dir, live);
	CU_ASSERT_EQUAL(resume(live, "m2", log, NULL), 1);
	CU_ASSERT(log_has(log, "not_recoverable"));
	CU_ASSERT_EQUAL(fake_calls(), 1);
	write_file(fake_dir, "go.1", "");
	CU_ASSERT_EQUAL(agent_status(lp, log, 10000), 0);
	/* --dry-run on a recoverable one: the plan is printed, nothing is claimed or started. */
	CU_ASSERT(HWT_WAIT_UNTIL(dw_state(&w, HW_STATE_COMPLETED), 10000));
	snprintf(log, sizeof(log), "%s/%s-dry.log", env.dir, live);
	fake_reset(0, 0);
	CU_ASSERT_EQUAL(resume(live, "m2", log, dry), 0);
	CU_ASSERT(log_has(log, "dry run"));
	CU_ASSERT(log_has(log, "command: claude"));
	CU_ASSERT_EQUAL(fake_calls(), 0);
	dw_close(&w);
	/* A broker without a collector: a clear message within the timeout. */
	CU_ASSERT_FATAL(hwt_broker_start(&lonely, NULL) == 0);
	snprintf(url, sizeof(url), "%s", lonely.url);
	{
		const char *args[] = {"resume", "s-nobody", "--broker", url, "--machine", "m1", "--state-dir", state,
				"--request-timeout-ms", "800", NULL};
		snprintf(log, sizeof(log), "%s/nocollector.log", env.dir);
		t0 = hwt_now_ms();
		CU_ASSERT_EQUAL(agent_status(agent_spawn(log, args), log, 10000), 1);
		CU_ASSERT(hwt_now_ms() - t0 < 3000);
		CU_ASSERT(log_has(log, "no reply"));
		CU_ASSERT(log_has(log, "is heartwire-collector running?"));
	}
	hwt_broker_cleanup(&lonely);
}

int main(void)
{
	static const hwtest_case_t cases[] = {HWTEST(TEST_resume_uses_newest_sid), HWTEST(TEST_fallback_to_fresh),
			HWTEST(TEST_failure_limit_marks_not_resumable), HWTEST(TEST_stale_chain_starts_fresh),
			HWTEST(TEST_conflicting_claim), HWTEST(TEST_refusals_and_dry_run), HWTEST_END};

	if(hwtest_init() != 0 || hwtest_suite("agent_resume", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
