/* test_agent_run.c: the real heartwire-agent binary against a real mosquitto: birth,
 * heartbeats, events and status decode with the shared codec; exit status passthrough; a
 * killed child's exit event; the will after SIGKILL of the agent; hooks turning into events
 * and the claude_sid chain; a second agent taking the session over; pause wait and fail. */
#include "test_agent_common.h"

static hwt_broker_t broker = HWT_BROKER_INIT;
static char dir[160];
static const char *ROOT = "heartwire/v1";

static int setup(void)
{
	if(hwt_tmpdir(dir, sizeof(dir), "hw_agent_run_") != 0) return -1;
	return hwt_broker_start(&broker, NULL);
}

static int teardown(void)
{
	hwt_broker_cleanup(&broker);
	return 0;
}

static void new_session(char *buf, size_t len, const char *prefix)
{
	hwt_unique_name(buf, len, prefix);
}

/* ------------------------------------------------------------------ the life of a session */

static void TEST_birth_heartbeats_exit_and_status_decode(void)
{
	char session[64];
	sub_t *s = calloc(1, sizeof(*s));
	agent_proc_t a;
	hw_birth_t b;
	hw_hb_t hb;
	hw_ev_t ev;
	hw_status_t st;
	int i, prev_seq = -1;

	new_session(session, sizeof(session), "life");
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	{
		const char *opts[] = {"--session", session, "--machine", "m-life", "--project", "acme", "--slot", "3", "--task",
				"#118 add login", "--interval-ms", "100", NULL};
		const char *cmd[] = {"sh", "-c", "sleep 0.7; exit 3", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
	}
	CU_ASSERT_EQUAL(agent_wait(&a, 10000), 3);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s, session, HW_STATUS_ENDED, &st) >= 0, 3000));

	i = sub_find(s, HW_T_BIRTH, session, 0);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(b.session, session);
	CU_ASSERT_STRING_EQUAL(b.machine, "m-life");
	CU_ASSERT_STRING_EQUAL(b.project, "acme");
	CU_ASSERT_STRING_EQUAL(b.slot, "3");
	CU_ASSERT_STRING_EQUAL(b.task, "#118 add login");
	CU_ASSERT(b.pid > 0);
	CU_ASSERT_EQUAL(b.interval_ms, 100);
	CU_ASSERT_EQUAL(b.grace_ms, 300);
	CU_ASSERT_EQUAL(b.epoch, 1);
	CU_ASSERT_EQUAL(b.seq, 0);
	CU_ASSERT_EQUAL(b.run, 0);
	CU_ASSERT_EQUAL_FATAL(b.argc, 3);
	CU_ASSERT_STRING_EQUAL(b.argv[0], "sh");
	CU_ASSERT_STRING_EQUAL(b.argv[2], "sleep 0.7; exit 3");
	CU_ASSERT_PTR_NOT_NULL(strstr(b.agent, "heartwire-agent"));
	CU_ASSERT(b.cwd[0] == '/');
	/* status online came before the birth */
	{
		hw_status_t on;
		int j = sub_find_status(s, session, HW_STATUS_ONLINE, &on);
		CU_ASSERT(j >= 0 && j < i);
		CU_ASSERT_EQUAL(on.epoch, 1);
	}
	/* heartbeats: several, decodable, with child health, seq growing */
	CU_ASSERT(sub_count(s, HW_T_HB, session) >= 4);
	for(int k = 0; k < s->n; k++){
		if(s->recs[k].kind != HW_T_HB || strcmp(s->recs[k].id, session) != 0) continue;
		CU_ASSERT_EQUAL_FATAL(hw_hb_decode(s->recs[k].payload, s->recs[k].len, &hb, NULL), HW_OK);
		CU_ASSERT_EQUAL(hb.epoch, 1);
		CU_ASSERT(hb.seq > prev_seq);
		prev_seq = (int)hb.seq;
		CU_ASSERT(hb.has_child);
		CU_ASSERT_EQUAL(hb.child.pid, b.pid);
		CU_ASSERT(hb.child.proc == 'S' || hb.child.proc == 'R');
		CU_ASSERT_EQUAL(hb.state, HW_STATE_ACTIVE);
		CU_ASSERT_EQUAL(hb.interval_ms, 100);
		CU_ASSERT_STRING_EQUAL(hb.task, "#118 add login");
		CU_ASSERT(hb.has_progress);
	}
	/* the exit event, then the ended status */
	i = sub_find_ev(s, session, HW_EV_EXIT, 0, &ev);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL(ev.exit.code, 3);
	CU_ASSERT_EQUAL(ev.exit.signal, -1);
	CU_ASSERT(ev.seq > prev_seq);
	CU_ASSERT_EQUAL(st.epoch, 1);
	CU_ASSERT(st.has_exit);
	CU_ASSERT_EQUAL(st.exit.code, 3);
	/* a clean DISCONNECT: no will follows */
	CU_ASSERT_EQUAL(sub_find_status(s, session, HW_STATUS_LOST, NULL), -1);
	hw_birth_cleanup(&b);
	sub_close(s);
	free(s);
}

static int run_exit(const char *script, sub_t *s, const char *session, hw_ev_t *ev)
{
	agent_proc_t a;
	const char *opts[] = {"--session", session, "--machine", "m-exit", NULL};
	const char *cmd[] = {"sh", "-c", script, NULL};
	int code;

	if(agent_start(&a, dir, broker.url, opts, cmd) != 0) return -1;
	code = agent_wait(&a, 10000);
	if(!HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_EXIT, 0, ev) >= 0, 3000)) return -2;
	return code;
}

static void TEST_exit_status_passes_through(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char s0[64], s3[64], s9[64];
	hw_ev_t ev;

	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	new_session(s0, sizeof(s0), "x0");
	new_session(s3, sizeof(s3), "x3");
	new_session(s9, sizeof(s9), "x9");
	CU_ASSERT_EQUAL(run_exit("exit 0", s, s0, &ev), 0);
	CU_ASSERT_EQUAL(ev.exit.code, 0);
	CU_ASSERT_EQUAL(run_exit("exit 3", s, s3, &ev), 3);
	CU_ASSERT_EQUAL(ev.exit.code, 3);
	CU_ASSERT_EQUAL(run_exit("kill -9 $$", s, s9, &ev), 128 + 9);
	CU_ASSERT_EQUAL(ev.exit.signal, 9);
	CU_ASSERT_EQUAL(ev.exit.code, -1);
	sub_close(s);
	free(s);
}

/* A child killed from outside: the exit event names the signal, within milliseconds. */
static void TEST_killed_child_gives_exit_event_with_signal(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64];
	agent_proc_t a;
	hw_birth_t b;
	hw_ev_t ev;
	hw_status_t st;
	int i;
	int64_t t_kill;

	new_session(session, sizeof(session), "kc");
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	{
		const char *opts[] = {"--session", session, NULL};
		const char *cmd[] = {"sleep", "30", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
	}
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 0)) >= 0, 5000));
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
	t_kill = hwt_now_ms();
	kill((pid_t)b.pid, SIGKILL);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_EXIT, 0, &ev) >= 0, 3000));
	i = sub_find_ev(s, session, HW_EV_EXIT, 0, &ev);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT(s->recs[i].at_ms - t_kill < 500);
	CU_ASSERT_EQUAL(ev.exit.signal, 9);
	CU_ASSERT_PTR_NOT_NULL(strstr(ev.text, "signal 9"));
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 137);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s, session, HW_STATUS_ENDED, &st) >= 0, 3000));
	CU_ASSERT_EQUAL(st.exit.signal, 9);
	hw_birth_cleanup(&b);
	sub_close(s);
	free(s);
}

/* SIGKILL of the agent: the broker publishes the will, retained, with the connection's epoch. */
static void TEST_sigkill_agent_gives_will_with_epoch(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64];
	agent_proc_t a;
	hw_birth_t b;
	hw_status_t st;
	int i;

	new_session(session, sizeof(session), "will");
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	for(int round = 1; round <= 2; round++){
		const char *opts[] = {"--session", session, NULL};
		const char *cmd[] = {"sleep", "30", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, round - 1)) >= 0, 5000));
		CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
		CU_ASSERT_EQUAL(b.epoch, round); /* a restarted agent never reuses an epoch */
		CU_ASSERT_EQUAL(hwt_kill_wait(a.pid, SIGKILL, 3000), 0);
		CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s, session, HW_STATUS_LOST, &st) >= 0 && st.epoch == round, 3000));
		CU_ASSERT_EQUAL(st.epoch, b.epoch);
		kill((pid_t)b.pid, SIGKILL); /* the orphaned child */
		hw_birth_cleanup(&b);
	}
	/* the will is retained: a new subscriber sees it */
	{
		sub_t *s2 = calloc(1, sizeof(*s2));
		char filter[HW_TOPIC_MAX];
		snprintf(filter, sizeof(filter), "%s/m/+/s/%s/status", ROOT, session);
		CU_ASSERT_EQUAL_FATAL(sub_open_ex(s2, broker.url, ROOT, filter, false), 0);
		CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s2, session, HW_STATUS_LOST, &st) >= 0, 3000));
		CU_ASSERT_EQUAL(st.epoch, 2);
		CU_ASSERT(s2->recs[0].retained);
		sub_close(s2);
		free(s2);
	}
	sub_close(s);
	free(s);
}

/* ------------------------------------------------------------------ hooks */

static void TEST_hooks_become_events_and_claude_sid_chain(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64], script[4096], marker[400];
	agent_proc_t a;
	hw_ev_t ev;
	hw_birth_t b;
	int i, from;
	const char *hook = agent_bin();

	new_session(session, sizeof(session), "hook");
	snprintf(marker, sizeof(marker), "%s/%s.go", dir, session);
	/* The child is a stand-in for Claude: it calls the real hook command like Claude would. */
	snprintf(script, sizeof(script),
			"H='%s hook'; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"SessionStart\",\"source\":\"startup\","
			"\"transcript_path\":\"/tmp/hw-transcript-a.jsonl\",\"cwd\":\"/srv\"}' | $H || exit 90; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"hi\"}' | $H; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\"}' | $H; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Bash\","
			"\"tool_response\":{\"$weird.key\":[1,2,3]}}' | $H; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"PostToolUse\",\"tool_name\":\"Read\"}' | $H; "
			"echo '{\"session_id\":\"sid-a\",\"hook_event_name\":\"PreCompact\",\"trigger\":\"auto\"}' | $H; "
			"echo '{\"session_id\":\"sid-b\",\"hook_event_name\":\"SessionStart\",\"source\":\"compact\"}' | $H; "
			"echo '{\"session_id\":\"sid-c\",\"hook_event_name\":\"SessionStart\",\"source\":\"resume\"}' | $H; "
			"echo '{\"session_id\":\"sid-c\",\"hook_event_name\":\"Stop\"}' | $H; "
			"test -n \"$HEARTWIRE_HOOK_SOCKET\" || exit 91; "
			"touch '%s'; while [ ! -e '%s.end' ]; do sleep 0.02; done; exit 0",
			hook, marker, marker);
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	{
		const char *opts[] = {"--session", session, "--interval-ms", "100", NULL};
		const char *cmd[] = {"sh", "-c", script, NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
	}
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_IDLE, 0, NULL) >= 0, 8000));

	from = sub_find_ev(s, session, HW_EV_CLAUDE_SID, 0, &ev);
	CU_ASSERT_FATAL(from >= 0);
	CU_ASSERT_STRING_EQUAL(ev.claude_sid, "sid-a");
	CU_ASSERT_EQUAL(ev.sid_source, HW_SID_STARTUP);
	CU_ASSERT_STRING_EQUAL(ev.transcript, "/tmp/hw-transcript-a.jsonl");
	i = sub_find_ev(s, session, HW_EV_PROGRESS, from, &ev);
	CU_ASSERT_FATAL(i > from);
	CU_ASSERT_EQUAL(ev.progress.prompts, 1);
	from = i;
	i = sub_find_ev(s, session, HW_EV_HOOK, from, &ev);
	CU_ASSERT_FATAL(i > from);
	CU_ASSERT_STRING_EQUAL(ev.hook, "PreToolUse");
	CU_ASSERT_STRING_EQUAL(ev.text, "Bash");
	i = sub_find_ev(s, session, HW_EV_HOOK, i + 1, &ev);
	CU_ASSERT_FATAL(i > from);
	CU_ASSERT_STRING_EQUAL(ev.hook, "PreCompact");
	CU_ASSERT_STRING_EQUAL(ev.text, "auto");
	from = i;
	i = sub_find_ev(s, session, HW_EV_CLAUDE_SID, from, &ev);
	CU_ASSERT_FATAL(i > from);
	CU_ASSERT_STRING_EQUAL(ev.claude_sid, "sid-b");
	CU_ASSERT_EQUAL(ev.sid_source, HW_SID_COMPACT);
	i = sub_find_ev(s, session, HW_EV_CLAUDE_SID, i + 1, &ev);
	CU_ASSERT_FATAL(i > from);
	CU_ASSERT_STRING_EQUAL(ev.claude_sid, "sid-c");
	CU_ASSERT_EQUAL(ev.sid_source, HW_SID_RESUME);
	CU_ASSERT(sub_find_ev(s, session, HW_EV_IDLE, i, NULL) > i);

	/* a heartbeat after the hooks carries the counters and the idle state */
	{
		int k0 = s->n;
		hw_hb_t hb = HW_HB_INIT;
		CU_ASSERT(HWT_WAIT_UNTIL(sub_find(s, HW_T_HB, session, -1) >= k0, 3000));
		i = sub_find(s, HW_T_HB, session, -1);
		CU_ASSERT_EQUAL_FATAL(hw_hb_decode(s->recs[i].payload, s->recs[i].len, &hb, NULL), HW_OK);
		CU_ASSERT_EQUAL(hb.progress.prompts, 1);
		CU_ASSERT_EQUAL(hb.progress.tools, 2);
		CU_ASSERT(hb.progress.last_activity_ts > 0);
		CU_ASSERT_EQUAL(hb.state, HW_STATE_IDLE);
	}
	/* a rebirth command brings the newest claude_sid in a new birth */
	{
		char topic[HW_TOPIC_MAX], machine[HW_ID_MAX + 1];
		i = sub_find(s, HW_T_BIRTH, session, 0);
		CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
		snprintf(machine, sizeof(machine), "%s", b.machine);
		CU_ASSERT_STRING_EQUAL(b.claude_sid, ""); /* born before any hook */
		hw_birth_cleanup(&b);
		CU_ASSERT_EQUAL(hw_topic_build(topic, sizeof(topic), ROOT, HW_T_CMD, machine, session, NULL), HW_OK);
		CU_ASSERT_EQUAL(sub_publish(s, topic, "{\"v\":1,\"cmd\":\"rebirth\",\"by\":\"test\"}", false), 0);
		CU_ASSERT(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 1)) >= 0, 3000));
		CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
		CU_ASSERT_STRING_EQUAL(b.claude_sid, "sid-c");
		hw_birth_cleanup(&b);
	}
	{
		char end[420];
		FILE *f;
		snprintf(end, sizeof(end), "%s.end", marker);
		f = fopen(end, "w");
		if(f) fclose(f);
	}
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 0);
	sub_close(s);
	free(s);
}

/* The hook command without an agent: one line on stderr, nothing on stdout, exit 0, fast. */
static void TEST_hook_without_agent_exits_zero(void)
{
	char cmd[4096], out[256], errf[256];
	int64_t t0;
	int rc;
	struct stat st;

	snprintf(out, sizeof(out), "%s/hook.out", dir);
	snprintf(errf, sizeof(errf), "%s/hook.err", dir);
	snprintf(cmd, sizeof(cmd), "echo '{\"hook_event_name\":\"Stop\"}' | env -u HEARTWIRE_HOOK_SOCKET %s hook >%s 2>%s",
			agent_bin(), out, errf);
	t0 = hwt_now_ms();
	rc = system(cmd);
	CU_ASSERT(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	CU_ASSERT(hwt_now_ms() - t0 < 1000);
	CU_ASSERT_EQUAL(stat(out, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);
	CU_ASSERT_EQUAL(file_count(errf, "\n"), 1);
	CU_ASSERT(file_contains(errf, "HEARTWIRE_HOOK_SOCKET"));
	/* a socket path nobody listens on, and garbage input: still 0 */
	snprintf(cmd, sizeof(cmd), "echo 'not json' | HEARTWIRE_HOOK_SOCKET=%s/none.sock %s hook >%s 2>%s", dir, agent_bin(), out,
			errf);
	rc = system(cmd);
	CU_ASSERT(WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
	CU_ASSERT(file_contains(errf, "no agent"));
	CU_ASSERT_EQUAL(stat(out, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);
}

/* ------------------------------------------------------------------ takeover */

static void TEST_second_agent_takes_over_cleanly(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64];
	agent_proc_t a1, a2;
	hw_birth_t b1, b2;
	hw_status_t st;
	int i, births;

	new_session(session, sizeof(session), "take");
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	{
		const char *opts[] = {"--session", session, "--machine", "m-take", "--interval-ms", "200", NULL};
		const char *cmd[] = {"sleep", "30", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a1, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 0)) >= 0, 5000));
		CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b1, NULL), HW_OK);
		CU_ASSERT_EQUAL_FATAL(agent_start(&a2, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 1)) >= 0, 5000));
		CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b2, NULL), HW_OK);
	}
	CU_ASSERT(b2.epoch > b1.epoch);
	CU_ASSERT(HWT_WAIT_UNTIL(file_contains(a1.log, "took this session over"), 3000));
	/* no ping-pong: over ten heartbeat intervals, no new birth, and only the new agent beats */
	births = sub_count(s, HW_T_BIRTH, session);
	{
		int64_t end = hwt_now_ms() + 2000;
		while(hwt_now_ms() < end){
			sub_pump(s);
			hwt_sleep_ms(20);
		}
	}
	CU_ASSERT_EQUAL(sub_count(s, HW_T_BIRTH, session), births);
	CU_ASSERT_EQUAL(file_count(a1.log, "took this session over"), 1);
	{
		int last_hb = sub_find(s, HW_T_HB, session, -1);
		hw_hb_t hb;
		CU_ASSERT_FATAL(last_hb >= 0);
		CU_ASSERT_EQUAL(hw_hb_decode(s->recs[last_hb].payload, s->recs[last_hb].len, &hb, NULL), HW_OK);
		CU_ASSERT_EQUAL(hb.epoch, b2.epoch);
	}
	/* the retained status belongs to the new connection */
	{
		sub_t *s2 = calloc(1, sizeof(*s2));
		char filter[HW_TOPIC_MAX];
		snprintf(filter, sizeof(filter), "%s/m/+/s/%s/status", ROOT, session);
		CU_ASSERT_EQUAL_FATAL(sub_open_ex(s2, broker.url, ROOT, filter, false), 0);
		CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s2, session, HW_STATUS_ONLINE, &st) >= 0, 3000));
		CU_ASSERT_EQUAL(st.epoch, b2.epoch);
		sub_close(s2);
		free(s2);
	}
	/* the first agent still supervises its child: SIGTERM passes through */
	kill(a1.pid, SIGTERM);
	CU_ASSERT_EQUAL(agent_wait(&a1, 5000), 128 + SIGTERM);
	kill(a2.pid, SIGTERM);
	CU_ASSERT_EQUAL(agent_wait(&a2, 5000), 128 + SIGTERM);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s, session, HW_STATUS_ENDED, &st) >= 0, 3000));
	CU_ASSERT_EQUAL(st.epoch, b2.epoch);
	CU_ASSERT_EQUAL(st.exit.signal, SIGTERM);
	hw_birth_cleanup(&b1);
	hw_birth_cleanup(&b2);
	sub_close(s);
	free(s);
}

/* ------------------------------------------------------------------ pause */

static void TEST_pause_fail_and_wait(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64], project[64], topic[HW_TOPIC_MAX], ptopic[HW_TOPIC_MAX], marker[400], payload[256];
	agent_proc_t a;
	int64_t t0;

	new_session(session, sizeof(session), "pz");
	new_session(project, sizeof(project), "proj");
	snprintf(marker, sizeof(marker), "%s/%s.started", dir, session);
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	CU_ASSERT_EQUAL(hw_topic_build(topic, sizeof(topic), ROOT, HW_T_STATE_PAUSE, NULL, NULL, NULL), HW_OK);
	CU_ASSERT_EQUAL(hw_topic_build(ptopic, sizeof(ptopic), ROOT, HW_T_STATE_PROJECT, NULL, project, NULL), HW_OK);

	/* a project pause with --when-paused fail: exit 3, a clear message, nothing started */
	snprintf(payload, sizeof(payload),
			"{\"v\":1,\"project\":\"%s\",\"pause\":{\"paused\":true,\"reason\":\"quota spent\","
			"\"resume_at\":%lld,\"by\":\"ops\"}}",
			project, (long long)(hw_time_ms() + 3600000));
	CU_ASSERT_EQUAL_FATAL(sub_publish(s, ptopic, payload, true), 0);
	{
		const char *opts[] = {"--session", session, "--project", project, "--when-paused", "fail", NULL};
		const char *cmd[] = {"touch", marker, NULL};
		t0 = hwt_now_ms();
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_EQUAL(agent_wait(&a, 5000), 3);
		CU_ASSERT(hwt_now_ms() - t0 < 2000);
	}
	CU_ASSERT(file_contains(a.log, "quota spent"));
	CU_ASSERT(file_contains(a.log, "resumes at"));
	CU_ASSERT_NOT_EQUAL(access(marker, F_OK), 0);
	CU_ASSERT_EQUAL(sub_count(s, HW_T_BIRTH, session), 0);
	CU_ASSERT_EQUAL(sub_publish(s, ptopic, "", true), 0);

	/* a global pause with the default (wait): the child starts when it is lifted */
	CU_ASSERT_EQUAL_FATAL(
			sub_publish(s, topic, "{\"v\":1,\"paused\":true,\"reason\":\"rate limit\",\"resume_at\":null}", true), 0);
	{
		const char *opts[] = {"--session", session, "--project", project, NULL};
		const char *cmd[] = {"touch", marker, NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
	}
	CU_ASSERT(HWT_WAIT_UNTIL(file_contains(a.log, "rate limit"), 3000));
	CU_ASSERT(file_contains(a.log, "until unpaused"));
	CU_ASSERT_NOT_EQUAL(access(marker, F_OK), 0);
	CU_ASSERT_EQUAL(sub_count(s, HW_T_BIRTH, session), 0);
	CU_ASSERT_EQUAL(sub_publish(s, topic, "{\"v\":1,\"paused\":false}", true), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(access(marker, F_OK) == 0, 3000));
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_count(s, HW_T_BIRTH, session) == 1, 3000));

	/* a pause whose resume time is near: the wait ends by itself */
	unlink(marker);
	snprintf(payload, sizeof(payload), "{\"v\":1,\"paused\":true,\"reason\":\"short\",\"resume_at\":%lld}",
			(long long)(hw_time_ms() + 700));
	CU_ASSERT_EQUAL(sub_publish(s, topic, payload, true), 0);
	{
		const char *opts[] = {"--session", session, NULL};
		const char *cmd[] = {"touch", marker, NULL};
		t0 = hwt_now_ms();
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_EQUAL(agent_wait(&a, 5000), 0);
		CU_ASSERT(hwt_now_ms() - t0 >= 500);
	}
	CU_ASSERT_EQUAL(access(marker, F_OK), 0);
	CU_ASSERT_EQUAL(sub_publish(s, topic, "", true), 0);
	sub_close(s);
	free(s);
}

/* ------------------------------------------------------------------ restarts and bad input */

static void TEST_restart_on_failure(void)
{
	sub_t *s = calloc(1, sizeof(*s));
	char session[64];
	agent_proc_t a;
	hw_birth_t b;
	int i;

	new_session(session, sizeof(session), "rs");
	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	{
		const char *opts[] = {"--session", session, "--restart", "on-failure", "--max-restarts", "2", NULL};
		const char *cmd[] = {"sh", "-c", "exit 5", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
	}
	CU_ASSERT_EQUAL(agent_wait(&a, 20000), 5);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_status(s, session, HW_STATUS_ENDED, NULL) >= 0, 3000));
	CU_ASSERT_EQUAL(sub_count(s, HW_T_BIRTH, session), 3);
	i = sub_find(s, HW_T_BIRTH, session, 2);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b, NULL), HW_OK);
	CU_ASSERT_EQUAL(b.run, 2);
	hw_birth_cleanup(&b);
	{
		int exits = 0;
		for(int k = 0; k >= 0;){
			k = sub_find_ev(s, session, HW_EV_EXIT, k, NULL);
			if(k >= 0){
				exits++;
				k++;
			}
		}
		CU_ASSERT_EQUAL(exits, 3);
	}
	sub_close(s);
	free(s);
}

static void TEST_bad_options_exit_2_before_publishing(void)
{
	/* clang-format off */
	static const char *const bad[][3] = {
		{"--interval-ms", "50", "--interval-ms"},
		{"--session", "has/slash", "--session"},
		{"--machine", "a+b", "--machine"},
		{"--broker", "tcp//nope", "--broker"},
		{"--restart", "always", "--restart"},
		{"--when-paused", "later", "--when-paused"},
		{"--topic-root", "x/#", "--topic-root"},
	};
	/* clang-format on */
	sub_t *s = calloc(1, sizeof(*s));

	CU_ASSERT_EQUAL_FATAL(sub_open(s, broker.url, ROOT), 0);
	for(size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++){
		agent_proc_t a;
		const char *opts[] = {bad[k][0], bad[k][1], NULL};
		const char *cmd[] = {"true", NULL};
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, opts, cmd), 0);
		CU_ASSERT_EQUAL(agent_wait(&a, 5000), 2);
		if(!file_contains(a.log, bad[k][2])) hwt_print_tail(a.log, 5);
		CU_ASSERT(file_contains(a.log, bad[k][2]));
	}
	{
		agent_proc_t a;
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, broker.url, NULL, NULL), 0); /* no CMD */
		CU_ASSERT_EQUAL(agent_wait(&a, 5000), 2);
	}
	hwt_sleep_ms(100); /* a window in which nothing may arrive, after the agents are gone */
	sub_pump(s);
	for(int k = 0; k < s->n; k++) CU_ASSERT(s->recs[k].retained); /* only old retained state */
	sub_close(s);
	free(s);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_birth_heartbeats_exit_and_status_decode),
		HWTEST(TEST_exit_status_passes_through),
		HWTEST(TEST_killed_child_gives_exit_event_with_signal),
		HWTEST(TEST_sigkill_agent_gives_will_with_epoch),
		HWTEST(TEST_hooks_become_events_and_claude_sid_chain),
		HWTEST(TEST_hook_without_agent_exits_zero),
		HWTEST(TEST_second_agent_takes_over_cleanly),
		HWTEST(TEST_pause_fail_and_wait),
		HWTEST(TEST_restart_on_failure),
		HWTEST(TEST_bad_options_exit_2_before_publishing),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("agent_run", setup, teardown, tests) != 0) return 1;
	return hwtest_run();
}
