/* test_agent_logic.c: unit tests of the agent's pure logic: /proc/PID/stat parsing, the
 * bounded event buffer, backoff, epoch files (including two processes racing), the hook
 * tracker (claude_sid chain, counters, idle), child health, and option derivation. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "epoch.h"
#include "health.h"
#include "heartwire/states.h"
#include "hwtest.h"
#include "opts.h"
#include "procstat.h"
#include "queue.h"
#include "tracker.h"

/* ------------------------------------------------------------------ /proc */

static void TEST_procstat_parses_state_and_cpu(void)
{
	/* fields: pid comm state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
	 * utime stime cutime cstime ... */
	const char *line = "4711 (claude) S 1 4711 4711 0 -1 4194304 100 0 0 0 250 50 100 0 20 0 1 0\n";
	hw_procstat_t ps;
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_procstat_parse(line, strlen(line), 100, &ps, &err), HW_OK);
	CU_ASSERT_EQUAL(ps.state, 'S');
	CU_ASSERT_EQUAL(ps.cpu_ms, 4000); /* (250 + 50 + 100 + 0) ticks at 100 Hz */
	CU_ASSERT_EQUAL(hw_procstat_parse(line, strlen(line), 1000, &ps, &err), HW_OK);
	CU_ASSERT_EQUAL(ps.cpu_ms, 400);
}

static void TEST_procstat_odd_command_names(void)
{
	const char *line = "9 (a) b) (c ) T 1 9 9 0 -1 0 0 0 0 0 7 3 0 0 20 0\n";
	const char *space = "10 (node server.js) R 1 9 9 0 -1 0 0 0 0 0 1 1 1 1\n";
	hw_procstat_t ps;
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_procstat_parse(line, strlen(line), 100, &ps, &err), HW_OK);
	CU_ASSERT_EQUAL(ps.state, 'T');
	CU_ASSERT_EQUAL(ps.cpu_ms, 100);
	CU_ASSERT_EQUAL(hw_procstat_parse(space, strlen(space), 100, &ps, &err), HW_OK);
	CU_ASSERT_EQUAL(ps.state, 'R');
	CU_ASSERT_EQUAL(ps.cpu_ms, 40);
}

static void TEST_procstat_refuses_garbage(void)
{
	const char *bad[] = {"", "123 claude S 1 2 3", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b c d", "1 (x)",
			"1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 2 3"};
	hw_procstat_t ps;
	hw_error_t err;

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		CU_ASSERT_EQUAL(hw_procstat_parse(bad[i], strlen(bad[i]), 100, &ps, &err), HW_ERR_DECODE);
	}
	CU_ASSERT_EQUAL(hw_procstat_parse("1 (x) S", 7, 0, &ps, &err), HW_ERR_INVAL);
}

static void TEST_procstat_reads_real_processes(void)
{
	hw_procstat_t ps;
	hw_error_t err;
	volatile unsigned long x = 0;
	pid_t pid;
	int st;

	for(unsigned long i = 0; i < 50000000UL; i++) x += i; /* burn some CPU */
	CU_ASSERT(x > 0);
	CU_ASSERT_EQUAL(hw_procstat_read(getpid(), &ps, &err), HW_OK);
	CU_ASSERT_EQUAL(ps.state, 'R');
	CU_ASSERT(ps.cpu_ms > 0);
	pid = fork();
	if(pid == 0) _exit(0);
	waitpid(pid, &st, 0);
	CU_ASSERT_EQUAL(hw_procstat_read(pid, &ps, &err), HW_ERR_NOTFOUND);
}

/* ------------------------------------------------------------------ queue */

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static int *num(int v)
{
	int *p = malloc(sizeof(*p));
	*p = v;
	return p;
}

static void TEST_queue_keeps_order_and_drops_oldest(void)
{
	hw_queue_t q;
	hw_error_t err;
	int *p;

	freed = 0;
	CU_ASSERT_EQUAL_FATAL(hw_queue_init(&q, 3, count_free, &err), HW_OK);
	CU_ASSERT_PTR_NULL(hw_queue_pop(&q));
	for(int i = 1; i <= 5; i++) hw_queue_push(&q, num(i));
	CU_ASSERT_EQUAL(hw_queue_len(&q), 3);
	CU_ASSERT_EQUAL(freed, 2);
	CU_ASSERT_EQUAL(hw_queue_take_dropped(&q), 2);
	CU_ASSERT_EQUAL(hw_queue_take_dropped(&q), 0);
	CU_ASSERT_EQUAL(q.dropped_total, 2);
	CU_ASSERT_EQUAL(*(int *)hw_queue_peek(&q), 3);
	for(int want = 3; want <= 5; want++){
		p = hw_queue_pop(&q);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(*p, want);
		free(p);
	}
	CU_ASSERT_EQUAL(hw_queue_len(&q), 0);
	/* wrap around many times */
	for(int i = 0; i < 100; i++){
		hw_queue_push(&q, num(i));
		p = hw_queue_pop(&q);
		CU_ASSERT_EQUAL(*p, i);
		free(p);
	}
	hw_queue_push(&q, num(7));
	hw_queue_push(&q, num(8));
	freed = 0;
	hw_queue_cleanup(&q);
	CU_ASSERT_EQUAL(freed, 2);
	CU_ASSERT_EQUAL(hw_queue_init(&q, 0, NULL, &err), HW_ERR_INVAL);
}

/* ------------------------------------------------------------------ backoff */

static void TEST_backoff_grows_with_jitter_and_caps(void)
{
	hw_backoff_t b;
	int64_t d, lo_seen = 1 << 30, hi_seen = 0;

	hw_backoff_init(&b, 100, 1000, 42);
	d = hw_backoff_next(&b);
	CU_ASSERT(d >= 50 && d <= 100);
	d = hw_backoff_next(&b);
	CU_ASSERT(d >= 100 && d <= 200);
	d = hw_backoff_next(&b);
	CU_ASSERT(d >= 200 && d <= 400);
	d = hw_backoff_next(&b);
	CU_ASSERT(d >= 400 && d <= 800);
	for(int i = 0; i < 200; i++){
		d = hw_backoff_next(&b);
		CU_ASSERT(d >= 500 && d <= 1000);
		if(d < lo_seen) lo_seen = d;
		if(d > hi_seen) hi_seen = d;
	}
	CU_ASSERT(hi_seen - lo_seen > 100); /* jitter actually spreads */
	hw_backoff_reset(&b);
	d = hw_backoff_next(&b);
	CU_ASSERT(d >= 50 && d <= 100);
}

static void TEST_backoff_seeds_differ(void)
{
	hw_backoff_t a, b;
	int same = 0;

	hw_backoff_init(&a, 1000, 100000, 1);
	hw_backoff_init(&b, 1000, 100000, 2);
	for(int i = 0; i < 10; i++) same += hw_backoff_next(&a) == hw_backoff_next(&b);
	CU_ASSERT(same < 10);
}

/* ------------------------------------------------------------------ epoch */

static char tmpdir[64];

static void TEST_epoch_grows_and_persists(void)
{
	char dir[128], path[256];
	int64_t e = -1;
	hw_error_t err;

	snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
	CU_ASSERT_EQUAL(hw_epoch_peek(dir, "s-1", &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 0);
	for(int64_t want = 1; want <= 5; want++){
		CU_ASSERT_EQUAL(hw_epoch_next(dir, "s-1", &e, &err), HW_OK);
		CU_ASSERT_EQUAL(e, want);
	}
	CU_ASSERT_EQUAL(hw_epoch_peek(dir, "s-1", &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 5);
	CU_ASSERT_EQUAL(hw_epoch_next(dir, "s-2", &e, &err), HW_OK); /* per session */
	CU_ASSERT_EQUAL(e, 1);
	CU_ASSERT_EQUAL(hw_epoch_path(path, sizeof(path), dir, "s-1", &err), HW_OK);
	{
		FILE *f = fopen(path, "r");
		char buf[32] = "";
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
		fclose(f);
		CU_ASSERT_STRING_EQUAL(buf, "5\n");
	}
	CU_ASSERT_EQUAL(hw_epoch_next(dir, "bad/id", &e, &err), HW_ERR_INVAL);
}

static void TEST_epoch_refuses_a_corrupt_file(void)
{
	char dir[128], path[256];
	int64_t e = 0;
	hw_error_t err;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/corrupt", tmpdir);
	CU_ASSERT_EQUAL_FATAL(hw_state_dir_make(dir, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_epoch_path(path, sizeof(path), dir, "s-x", &err), HW_OK);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("12abc\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(hw_epoch_next(dir, "s-x", &e, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
	CU_ASSERT_EQUAL(hw_epoch_peek(dir, "s-x", &e, &err), HW_ERR_CONFIG);
}

/* Two processes taking 100 epochs each from the same file never get the same one. */
static void TEST_epoch_is_unique_across_processes(void)
{
	enum { PER = 100, PROCS = 3 };
	char dir[128];
	int fds[PROCS][2];
	pid_t pids[PROCS];
	unsigned char seen[PER * PROCS + 1] = {0};
	int total = 0, dup = 0;
	hw_error_t err;

	snprintf(dir, sizeof(dir), "%s/race", tmpdir);
	for(int p = 0; p < PROCS; p++){
		CU_ASSERT_FATAL(pipe(fds[p]) == 0);
		pids[p] = fork();
		if(pids[p] == 0){
			close(fds[p][0]);
			for(int i = 0; i < PER; i++){
				int64_t e = 0;
				if(hw_epoch_next(dir, "race", &e, NULL) != HW_OK) _exit(1);
				if(write(fds[p][1], &e, sizeof(e)) != (ssize_t)sizeof(e)) _exit(1);
			}
			_exit(0);
		}
		close(fds[p][1]);
	}
	for(int p = 0; p < PROCS; p++){
		int64_t e;
		int st = 0;
		while(read(fds[p][0], &e, sizeof(e)) == (ssize_t)sizeof(e)){
			total++;
			if(e < 1 || e > PER * PROCS || seen[e]) dup++;
			else seen[e] = 1;
		}
		close(fds[p][0]);
		waitpid(pids[p], &st, 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CU_ASSERT_EQUAL(total, PER * PROCS);
	CU_ASSERT_EQUAL(dup, 0);
	{
		int64_t last = 0;
		CU_ASSERT_EQUAL(hw_epoch_peek(dir, "race", &last, &err), HW_OK);
		CU_ASSERT_EQUAL(last, PER * PROCS);
	}
}

/* ------------------------------------------------------------------ tracker */

static hw_hook_t hook(const char *event, const char *sid, int source)
{
	hw_hook_t h = HW_HOOK_INIT;

	snprintf(h.event, sizeof(h.event), "%s", event);
	if(sid) snprintf(h.session_id, sizeof(h.session_id), "%s", sid);
	h.source = source;
	return h;
}

static void TEST_tracker_claude_sid_chain(void)
{
	hw_tracker_t t;
	hw_ev_t evs[HW_TRACK_EV_MAX];
	hw_hook_t h;
	size_t n;

	hw_tracker_init(&t);
	CU_ASSERT_STRING_EQUAL(hw_tracker_sid(&t), "");
	h = hook("SessionStart", "sid-a", HW_SID_STARTUP);
	snprintf(h.transcript, sizeof(h.transcript), "/tmp/a.jsonl");
	n = hw_tracker_apply(&t, &h, 1000, 1, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].type, HW_EV_CLAUDE_SID);
	CU_ASSERT_STRING_EQUAL(evs[0].claude_sid, "sid-a");
	CU_ASSERT_EQUAL(evs[0].sid_source, HW_SID_STARTUP);
	CU_ASSERT_STRING_EQUAL(evs[0].transcript, "/tmp/a.jsonl");
	CU_ASSERT_EQUAL(evs[0].ts, 1000);

	h = hook("SessionStart", "sid-b", HW_SID_COMPACT);
	n = hw_tracker_apply(&t, &h, 2000, 2, evs);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].sid_source, HW_SID_COMPACT);
	h = hook("SessionStart", "sid-c", HW_SID_RESUME);
	n = hw_tracker_apply(&t, &h, 3000, 3, evs);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(t.chain_len, 3);
	CU_ASSERT_STRING_EQUAL(t.chain[0].sid, "sid-a");
	CU_ASSERT_STRING_EQUAL(t.chain[1].sid, "sid-b");
	CU_ASSERT_EQUAL(t.chain[1].source, HW_SID_COMPACT);
	CU_ASSERT_STRING_EQUAL(t.chain[2].sid, "sid-c");
	CU_ASSERT_EQUAL(t.chain[2].at, 3000);
	CU_ASSERT_STRING_EQUAL(hw_tracker_sid(&t), "sid-c");

	/* the same id again on another hook: no new event, no new entry */
	h = hook("PostToolUse", "sid-c", -1);
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 4000, 4, evs), 0);
	CU_ASSERT_EQUAL(t.chain_len, 3);
	/* a new id seen without SessionStart counts as a resume */
	h = hook("PostToolUse", "sid-d", -1);
	n = hw_tracker_apply(&t, &h, 5000, 5, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].sid_source, HW_SID_RESUME);
	CU_ASSERT_EQUAL(t.chain_len, 4);
	/* the chain keeps the newest HW_TRACK_CHAIN_MAX */
	for(int i = 0; i < HW_TRACK_CHAIN_MAX + 5; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "x-%d", i);
		h = hook("SessionStart", sid, HW_SID_CLEAR);
		hw_tracker_apply(&t, &h, 6000 + i, 6, evs);
	}
	CU_ASSERT_EQUAL(t.chain_len, HW_TRACK_CHAIN_MAX);
	CU_ASSERT_STRING_EQUAL(hw_tracker_sid(&t), "x-36");
	CU_ASSERT_STRING_EQUAL(t.chain[0].sid, "x-5");
}

static void TEST_tracker_counters_idle_and_hooks(void)
{
	hw_tracker_t t;
	hw_ev_t evs[HW_TRACK_EV_MAX];
	hw_hook_t h;
	size_t n;

	hw_tracker_init(&t);
	h = hook("UserPromptSubmit", NULL, -1);
	n = hw_tracker_apply(&t, &h, 100, 10, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].type, HW_EV_PROGRESS);
	CU_ASSERT_EQUAL(evs[0].progress.prompts, 1);
	h = hook("PreToolUse", NULL, -1);
	snprintf(h.tool, sizeof(h.tool), "Bash");
	n = hw_tracker_apply(&t, &h, 110, 11, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].type, HW_EV_HOOK);
	CU_ASSERT_STRING_EQUAL(evs[0].hook, "PreToolUse");
	CU_ASSERT_STRING_EQUAL(evs[0].text, "Bash");
	h = hook("PostToolUse", NULL, -1);
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 120, 12, evs), 0);
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 130, 13, evs), 0);
	CU_ASSERT_EQUAL(t.progress.tools, 2);
	CU_ASSERT_EQUAL(t.progress.prompts, 1);
	CU_ASSERT_EQUAL(t.progress.last_activity_ts, 130);
	CU_ASSERT_EQUAL(t.activity_mono, 13);
	CU_ASSERT_FALSE(t.idle);
	h = hook("Stop", NULL, -1);
	n = hw_tracker_apply(&t, &h, 140, 14, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(evs[0].type, HW_EV_IDLE);
	CU_ASSERT(t.idle);
	h = hook("Notification", NULL, -1);
	snprintf(h.detail, sizeof(h.detail), "Claude needs your permission to use Bash");
	n = hw_tracker_apply(&t, &h, 150, 15, evs);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(evs[0].hook, "Notification");
	CU_ASSERT_STRING_EQUAL(evs[0].text, "Claude needs your permission to use Bash");
	CU_ASSERT(t.idle); /* a notification is not work */
	h = hook("UserPromptSubmit", NULL, -1);
	hw_tracker_apply(&t, &h, 160, 16, evs);
	CU_ASSERT_FALSE(t.idle);
	CU_ASSERT_EQUAL(t.hooks, 7);
}

static void TEST_tracker_transcript_rides_on_the_next_event(void)
{
	hw_tracker_t t;
	hw_ev_t evs[HW_TRACK_EV_MAX];
	hw_hook_t h;

	hw_tracker_init(&t);
	h = hook("PostToolUse", NULL, -1);
	snprintf(h.transcript, sizeof(h.transcript), "/home/u/.claude/p/x.jsonl");
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 1, 1, evs), 0);
	CU_ASSERT_STRING_EQUAL(t.transcript, "/home/u/.claude/p/x.jsonl");
	h = hook("SessionStart", "sid-1", -1);
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 2, 2, evs), 1);
	CU_ASSERT_EQUAL(evs[0].sid_source, HW_SID_STARTUP); /* first id without a source */
	CU_ASSERT_STRING_EQUAL(evs[0].transcript, "/home/u/.claude/p/x.jsonl");
	h = hook("Stop", NULL, -1);
	snprintf(h.transcript, sizeof(h.transcript), "/home/u/.claude/p/y.jsonl");
	CU_ASSERT_EQUAL(hw_tracker_apply(&t, &h, 3, 3, evs), 1);
	CU_ASSERT_STRING_EQUAL(evs[0].transcript, "/home/u/.claude/p/y.jsonl");
}

/* ------------------------------------------------------------------ health */

static void TEST_health_states(void)
{
	hw_health_t h;
	hw_health_sample_t s = {.proc = 'S', .cpu_ms = 10, .hooks = 0, .transcript_size = -1, .transcript_mtime = -1};
	int state, cause;

	hw_health_init(&h, 1000, 0);
	hw_health_eval(&h, &s, 0, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	hw_health_eval(&h, &s, 999, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	hw_health_eval(&h, &s, 1000, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_STALLED);
	CU_ASSERT_EQUAL(cause, HW_CAUSE_NO_PROGRESS);
	s.cpu_ms = 11; /* CPU moved */
	hw_health_eval(&h, &s, 1500, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	hw_health_eval(&h, &s, 2400, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	s.hooks = 1; /* a hook */
	hw_health_eval(&h, &s, 2600, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	hw_health_eval(&h, &s, 3600, &state, &cause);
	CU_ASSERT_EQUAL(cause, HW_CAUSE_NO_PROGRESS);
	s.transcript_size = 100; /* the transcript grew */
	hw_health_eval(&h, &s, 3700, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
	s.idle = true; /* waiting for a prompt is not a stall */
	hw_health_eval(&h, &s, 9000, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_IDLE);
	CU_ASSERT_EQUAL(cause, HW_CAUSE_NONE);
	s.proc = 'T';
	hw_health_eval(&h, &s, 9100, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_STALLED);
	CU_ASSERT_EQUAL(cause, HW_CAUSE_CHILD_STOPPED);
	/* disabled check */
	hw_health_init(&h, 0, 0);
	s.proc = 'S';
	s.idle = false;
	hw_health_eval(&h, &s, 0, &state, &cause);
	hw_health_eval(&h, &s, 100000000, &state, &cause);
	CU_ASSERT_EQUAL(state, HW_STATE_ACTIVE);
}

/* ------------------------------------------------------------------ options */

static void TEST_machine_from_host(void)
{
	char m[HW_ID_MAX + 1], longname[200];

	hw_machine_from_host(m, "build-07.example.com");
	CU_ASSERT_STRING_EQUAL(m, "build-07.example.com");
	hw_machine_from_host(m, "my host/1");
	CU_ASSERT_STRING_EQUAL(m, "my-host-1");
	hw_machine_from_host(m, "");
	CU_ASSERT_STRING_EQUAL(m, "localhost");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	hw_machine_from_host(m, longname);
	CU_ASSERT_EQUAL(strlen(m), HW_ID_MAX);
	CU_ASSERT_EQUAL(hw_id_check("m", m, NULL), HW_OK);
}

static void TEST_session_generate(void)
{
	char a[HW_ID_MAX + 1], b[HW_ID_MAX + 1];

	hw_session_generate(a);
	hw_session_generate(b);
	CU_ASSERT_EQUAL(hw_id_check("s", a, NULL), HW_OK);
	CU_ASSERT_NSTRING_EQUAL(a, "s-", 2);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

/* Loads `run` options from argv only (the environment is cleared of HEARTWIRE_*). */
static int load(hw_agent_cfg_t *cfg, hw_error_t *err, const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[8] = {"run"};
	int argc = 1, idx;

	if(a1) argv[argc++] = (char *)a1;
	if(a2) argv[argc++] = (char *)a2;
	if(a3) argv[argc++] = (char *)a3;
	if(a4) argv[argc++] = (char *)a4;
	argv[argc++] = "--";
	argv[argc++] = "true";
	return hw_agent_opts_load(cfg, argc, argv, &idx, err);
}

static void TEST_options_are_checked_and_named(void)
{
	hw_agent_cfg_t cfg;
	hw_error_t err;

	unsetenv("HEARTWIRE_MACHINE");
	unsetenv("HEARTWIRE_SESSION");
	unsetenv("HEARTWIRE_CONFIG");
	setenv("HEARTWIRE_STATE_DIR", tmpdir, 1);
	CU_ASSERT_EQUAL_FATAL(load(&cfg, &err, "--session", "s-1", NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(cfg.session, "s-1");
	CU_ASSERT_EQUAL(cfg.interval_ms, 5000);
	CU_ASSERT_EQUAL(cfg.grace_ms, 15000);
	CU_ASSERT_EQUAL(cfg.keepalive_s, 10);
	CU_ASSERT_EQUAL(cfg.hb_qos, 0);
	CU_ASSERT_EQUAL(cfg.max_restarts, 3);
	CU_ASSERT_EQUAL(cfg.when_paused, HW_WHEN_PAUSED_WAIT);
	CU_ASSERT(cfg.machine[0] != '\0');
	CU_ASSERT_STRING_EQUAL(cfg.state_dir, tmpdir);

	CU_ASSERT_EQUAL(load(&cfg, &err, "--interval-ms", "99", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--interval-ms"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--session", "a/b", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--session"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--broker", "http://x:1", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--broker"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--restart", "always", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "on-failure"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--when-paused", "maybe", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--interval-ms", "5000", "--grace-ms", "1000"), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--grace-ms"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--topic-root", "a/+/b", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--topic-root"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--password", "x", NULL, NULL), HW_ERR_CONFIG); /* never on argv */
	CU_ASSERT_EQUAL(load(&cfg, &err, "--password-file", "/nonexistent/pw", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--password-file"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--state-dir", "relative/dir", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--no-progress-ms", "50", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--max-restarts", "-1", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--hb-qos", "2", NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--hb-qos"));
	CU_ASSERT_EQUAL(load(&cfg, &err, "--hb-qos", "1", NULL, NULL), HW_OK);
	CU_ASSERT_EQUAL(cfg.hb_qos, 1);

	setenv("HEARTWIRE_INTERVAL_MS", "2s", 1);
	CU_ASSERT_EQUAL(load(&cfg, &err, NULL, NULL, NULL, NULL), HW_OK);
	CU_ASSERT_EQUAL(cfg.interval_ms, 2000);
	CU_ASSERT_EQUAL(cfg.grace_ms, 6000);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--interval-ms", "1000", NULL, NULL), HW_OK); /* flags win */
	CU_ASSERT_EQUAL(cfg.interval_ms, 1000);
	unsetenv("HEARTWIRE_INTERVAL_MS");
	unsetenv("HEARTWIRE_STATE_DIR");
}

static void TEST_password_file(void)
{
	char path[128];
	hw_agent_cfg_t cfg;
	hw_error_t err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pw", tmpdir);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("s3cret\n", f);
	fclose(f);
	setenv("HEARTWIRE_STATE_DIR", tmpdir, 1);
	CU_ASSERT_EQUAL(load(&cfg, &err, "--password-file", path, "--username", "m1"), HW_OK);
	CU_ASSERT_STRING_EQUAL(cfg.password, "s3cret");
	CU_ASSERT_EQUAL(load(&cfg, &err, "--password-file", path, NULL, NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--username"));
	unsetenv("HEARTWIRE_STATE_DIR");
}

static int setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hw_agent_logic_XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_procstat_parses_state_and_cpu),
		HWTEST(TEST_procstat_odd_command_names),
		HWTEST(TEST_procstat_refuses_garbage),
		HWTEST(TEST_procstat_reads_real_processes),
		HWTEST(TEST_queue_keeps_order_and_drops_oldest),
		HWTEST(TEST_backoff_grows_with_jitter_and_caps),
		HWTEST(TEST_backoff_seeds_differ),
		HWTEST(TEST_epoch_grows_and_persists),
		HWTEST(TEST_epoch_refuses_a_corrupt_file),
		HWTEST(TEST_epoch_is_unique_across_processes),
		HWTEST(TEST_tracker_claude_sid_chain),
		HWTEST(TEST_tracker_counters_idle_and_hooks),
		HWTEST(TEST_tracker_transcript_rides_on_the_next_event),
		HWTEST(TEST_health_states),
		HWTEST(TEST_machine_from_host),
		HWTEST(TEST_session_generate),
		HWTEST(TEST_options_are_checked_and_named),
		HWTEST(TEST_password_file),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("agent_logic", setup, teardown, tests) != 0) return 1;
	return hwtest_run();
}
