/* test_msg_codec.c: codec round trips (struct -> JSON -> struct -> the same JSON) for every
 * message type and every event type, exact encodings, encoder refusals, requests and
 * replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "hwtest.h"

/* ------------------------------------------------------------------ helpers */

static void fill_id(char *dst, const char *s)
{
	snprintf(dst, HW_ID_MAX + 1, "%s", s);
}

/* ------------------------------------------------------------------ birth */

static void TEST_birth_round_trip(void)
{
	char *argv[] = {"claude", "-p", "fix \"the\" bug\n\xc3\xa9", ""};
	hw_birth_t b = HW_BIRTH_INIT, d;
	hw_error_t err = {0};
	char *js = NULL, *js2 = NULL;
	size_t n = 0, n2 = 0;

	fill_id(b.session, "s-42");
	fill_id(b.machine, "build-07");
	fill_id(b.slot, "3");
	fill_id(b.project, "acme-web");
	snprintf(b.task, sizeof(b.task), "#118 add login \xe2\x82\xac");
	snprintf(b.cwd, sizeof(b.cwd), "/srv/acme");
	fill_id(b.claude_sid, "9b1c0e6e-3c1d-4f7a-9d2e-0a1b2c3d4e5f");
	snprintf(b.agent, sizeof(b.agent), "heartwire-agent 0.1.0");
	fill_id(b.resumed_from, "s-41");
	b.epoch = 4;
	b.seq = 0;
	b.ts = 1763712000123;
	b.pid = 48211;
	b.interval_ms = 5000;
	b.grace_ms = 15000;
	b.run = 2;
	b.argv = argv;
	b.argc = 4;
	CU_ASSERT_EQUAL_FATAL(hw_birth_encode(&b, &js, &n, &err), HW_OK);
	CU_ASSERT_EQUAL(n, strlen(js));
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(js, n, &d, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(d.session, b.session);
	CU_ASSERT_STRING_EQUAL(d.machine, b.machine);
	CU_ASSERT_STRING_EQUAL(d.slot, b.slot);
	CU_ASSERT_STRING_EQUAL(d.project, b.project);
	CU_ASSERT_STRING_EQUAL(d.task, b.task);
	CU_ASSERT_STRING_EQUAL(d.cwd, b.cwd);
	CU_ASSERT_STRING_EQUAL(d.claude_sid, b.claude_sid);
	CU_ASSERT_STRING_EQUAL(d.agent, b.agent);
	CU_ASSERT_STRING_EQUAL(d.resumed_from, b.resumed_from);
	CU_ASSERT_EQUAL(d.epoch, b.epoch);
	CU_ASSERT_EQUAL(d.seq, b.seq);
	CU_ASSERT_EQUAL(d.ts, b.ts);
	CU_ASSERT_EQUAL(d.pid, b.pid);
	CU_ASSERT_EQUAL(d.interval_ms, b.interval_ms);
	CU_ASSERT_EQUAL(d.grace_ms, b.grace_ms);
	CU_ASSERT_EQUAL(d.run, b.run);
	CU_ASSERT_EQUAL_FATAL(d.argc, 4);
	for(size_t i = 0; i < 4; i++) CU_ASSERT_STRING_EQUAL(d.argv[i], argv[i]);
	CU_ASSERT_EQUAL(hw_birth_encode(&d, &js2, &n2, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js, js2);
	hw_birth_cleanup(&d);
	CU_ASSERT_PTR_NULL(d.argv);
	free(js);
	free(js2);
}

static void TEST_birth_minimal_exact(void)
{
	hw_birth_t b = HW_BIRTH_INIT, d;
	char *js = NULL;

	fill_id(b.session, "s-1");
	fill_id(b.machine, "m1");
	b.epoch = 1;
	b.ts = 7;
	b.interval_ms = 5000;
	CU_ASSERT_EQUAL_FATAL(hw_birth_encode(&b, &js, NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-1\",\"epoch\":1,\"seq\":0,\"ts\":7,\"machine\":\"m1\","
			"\"interval_ms\":5000}");
	CU_ASSERT_EQUAL(hw_birth_decode(js, strlen(js), &d, NULL), HW_OK);
	CU_ASSERT_EQUAL(d.argc, 0);
	CU_ASSERT_EQUAL(d.pid, 0);
	CU_ASSERT_STRING_EQUAL(d.slot, "");
	hw_birth_cleanup(&d);
	free(js);
}

/* The DESIGN.md example decodes, and unknown keys are ignored. */
static void TEST_birth_design_example_and_unknown_keys(void)
{
	const char *s = "{\"v\":1,\"session\":\"s-42\",\"machine\":\"build-07\",\"slot\":\"3\",\"project\":\"acme-web\","
			"\"task\":\"#118 add login\",\"epoch\":4,\"seq\":0,\"ts\":1763712000123,\"pid\":48211,"
			"\"cwd\":\"/srv/acme\",\"argv\":[\"claude\",\"-p\",\"...\"],\"interval_ms\":5000,"
			"\"grace_ms\":15000,\"claude_sid\":\"9b1c\",\"agent\":\"heartwire-agent 0.1.0\","
			"\"future\":{\"nested\":[1,2.5,\"x\",null,true]}}";
	hw_error_t err = {0};
	hw_birth_t d;

	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s, strlen(s), &d, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(d.task, "#118 add login");
	CU_ASSERT_EQUAL(d.argc, 3);
	CU_ASSERT_STRING_EQUAL(d.argv[2], "...");
	CU_ASSERT_EQUAL(d.ts, 1763712000123);
	hw_birth_cleanup(&d);
}

static void TEST_birth_encoder_refuses(void)
{
	hw_birth_t b = HW_BIRTH_INIT;
	hw_error_t err = {0};
	char *js = (char *)"untouched";
	char **argv;

	fill_id(b.session, "s-1");
	fill_id(b.machine, "m1");
	b.interval_ms = 50; /* below 100 */
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
	CU_ASSERT_PTR_NULL(js);
	b.interval_ms = 5000;
	fill_id(b.slot, "a/b");
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	b.slot[0] = '\0';
	b.machine[0] = '\0';
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	fill_id(b.machine, "m1");
	b.argc = 1; /* without an argv */
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NULL(js);
	/* 20 arguments of 4000 bytes: over 64 KiB in all. */
	argv = calloc(20, sizeof(*argv));
	CU_ASSERT_PTR_NOT_NULL_FATAL(argv);
	for(int i = 0; i < 20; i++){
		argv[i] = malloc(4001);
		CU_ASSERT_PTR_NOT_NULL_FATAL(argv[i]);
		memset(argv[i], 'a', 4000);
		argv[i][4000] = '\0';
	}
	b.argv = argv;
	b.argc = 20;
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	b.argc = 10;
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_OK);
	free(js);
	for(int i = 0; i < 20; i++) free(argv[i]);
	free(argv);
}

/* ------------------------------------------------------------------ hb */

static void check_hb_equal(const hw_hb_t *a, const hw_hb_t *b)
{
	CU_ASSERT_STRING_EQUAL(a->session, b->session);
	CU_ASSERT_STRING_EQUAL(a->task, b->task);
	CU_ASSERT_EQUAL(a->epoch, b->epoch);
	CU_ASSERT_EQUAL(a->seq, b->seq);
	CU_ASSERT_EQUAL(a->ts, b->ts);
	CU_ASSERT_EQUAL(a->interval_ms, b->interval_ms);
	CU_ASSERT_EQUAL(a->grace_ms, b->grace_ms);
	CU_ASSERT_EQUAL(a->state, b->state);
	CU_ASSERT_EQUAL(a->cause, b->cause);
	CU_ASSERT_EQUAL(a->has_child, b->has_child);
	if(a->has_child && b->has_child){
		CU_ASSERT_EQUAL(a->child.pid, b->child.pid);
		CU_ASSERT_EQUAL(a->child.proc, b->child.proc);
		CU_ASSERT_EQUAL(a->child.cpu_ms, b->child.cpu_ms);
	}
	CU_ASSERT_EQUAL(a->has_progress, b->has_progress);
	if(a->has_progress && b->has_progress){
		CU_ASSERT_EQUAL(a->progress.prompts, b->progress.prompts);
		CU_ASSERT_EQUAL(a->progress.tools, b->progress.tools);
		CU_ASSERT_EQUAL(a->progress.last_activity_ts, b->progress.last_activity_ts);
	}
}

static void TEST_hb_round_trip(void)
{
	static const int states[] = {HW_STATE_ACTIVE, HW_STATE_IDLE, HW_STATE_STALLED};
	static const int causes[] = {HW_CAUSE_NONE, HW_CAUSE_NO_PROGRESS, HW_CAUSE_CHILD_STOPPED};

	for(int i = 0; i < 3; i++){
		hw_hb_t h = HW_HB_INIT, d;
		hw_error_t err = {0};
		char *js = NULL, *js2 = NULL;

		fill_id(h.session, "s-42");
		h.epoch = 4;
		h.seq = 17 + i;
		h.ts = 1763712000123;
		h.interval_ms = 5000;
		h.grace_ms = i * 1000;
		h.state = states[i];
		h.cause = causes[i];
		if(i > 0) snprintf(h.task, sizeof(h.task), "task %d", i);
		h.has_child = i != 1;
		h.child = (hw_child_t){.pid = 48211, .proc = i == 2 ? 'T' : 'S', .cpu_ms = 81234};
		h.has_progress = i != 0;
		h.progress = (hw_progress_t){.prompts = 15, .tools = 87, .last_activity_ts = 1763712000000};
		CU_ASSERT_EQUAL_FATAL(hw_hb_encode(&h, &js, NULL, &err), HW_OK);
		CU_ASSERT_EQUAL_FATAL(hw_hb_decode(js, strlen(js), &d, &err), HW_OK);
		check_hb_equal(&h, &d);
		CU_ASSERT_EQUAL(hw_hb_encode(&d, &js2, NULL, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(js, js2);
		free(js);
		free(js2);
	}
}

static void TEST_hb_exact_and_defaults(void)
{
	hw_hb_t h = HW_HB_INIT, d;
	char *js = NULL;
	const char *min = "{\"v\":1,\"session\":\"s\",\"epoch\":0,\"seq\":0,\"ts\":0,\"interval_ms\":100}";

	fill_id(h.session, "s-42");
	h.epoch = 4;
	h.seq = 17;
	h.ts = 99;
	h.interval_ms = 5000;
	h.has_child = true;
	h.child = (hw_child_t){.pid = 48211, .proc = 'S', .cpu_ms = 81234};
	CU_ASSERT_EQUAL_FATAL(hw_hb_encode(&h, &js, NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":17,\"ts\":99,\"state\":\"active\","
			"\"interval_ms\":5000,\"child\":{\"pid\":48211,\"proc\":\"S\",\"cpu_ms\":81234}}");
	free(js);
	/* Absent state is active, absent cause is none. */
	CU_ASSERT_EQUAL_FATAL(hw_hb_decode(min, strlen(min), &d, NULL), HW_OK);
	CU_ASSERT_EQUAL(d.state, HW_STATE_ACTIVE);
	CU_ASSERT_EQUAL(d.cause, HW_CAUSE_NONE);
	CU_ASSERT_FALSE(d.has_child);
	CU_ASSERT_FALSE(d.has_progress);
	/* The encoder refuses what the agent may not say. */
	h.state = HW_STATE_LOST;
	CU_ASSERT_EQUAL(hw_hb_encode(&h, &js, NULL, NULL), HW_ERR_INVAL);
	h.state = HW_STATE_ACTIVE;
	h.child.proc = '\0';
	CU_ASSERT_EQUAL(hw_hb_encode(&h, &js, NULL, NULL), HW_ERR_INVAL);
}

/* ------------------------------------------------------------------ ev */

static void check_ev_equal(const hw_ev_t *a, const hw_ev_t *b)
{
	CU_ASSERT_STRING_EQUAL(a->session, b->session);
	CU_ASSERT_EQUAL(a->epoch, b->epoch);
	CU_ASSERT_EQUAL(a->seq, b->seq);
	CU_ASSERT_EQUAL(a->ts, b->ts);
	CU_ASSERT_EQUAL(a->type, b->type);
	CU_ASSERT_STRING_EQUAL(a->text, b->text);
	CU_ASSERT_STRING_EQUAL(a->claude_sid, b->claude_sid);
	CU_ASSERT_EQUAL(a->sid_source, b->sid_source);
	CU_ASSERT_STRING_EQUAL(a->hook, b->hook);
	CU_ASSERT_STRING_EQUAL(a->transcript, b->transcript);
	CU_ASSERT_EQUAL(a->progress.prompts, b->progress.prompts);
	CU_ASSERT_EQUAL(a->progress.tools, b->progress.tools);
	CU_ASSERT_EQUAL(a->progress.last_activity_ts, b->progress.last_activity_ts);
	CU_ASSERT_EQUAL(a->exit.code, b->exit.code);
	CU_ASSERT_EQUAL(a->exit.signal, b->exit.signal);
}

static void TEST_ev_round_trip_every_type(void)
{
	int types_done = 0;

	for(int t = 0; t < HW_EV__COUNT; t++){
		for(int variant = 0; variant < 2; variant++){
			hw_ev_t e = HW_EV_INIT, d;
			hw_error_t err = {0};
			char *js = NULL, *js2 = NULL;

			fill_id(e.session, "s-42");
			e.epoch = 4;
			e.seq = 18 + t;
			e.ts = 1763712000500;
			e.type = t;
			if(variant) snprintf(e.transcript, sizeof(e.transcript), "/home/u/.claude/projects/x/%d.jsonl", t);
			switch(t){
			case HW_EV_TASK:
				snprintf(e.text, sizeof(e.text), "#119 \"quoted\" task");
				break;
			case HW_EV_CLAUDE_SID:
				fill_id(e.claude_sid, "0d5e2c1a-aaaa-bbbb-cccc-0123456789ab");
				e.sid_source = variant ? HW_SID_COMPACT : HW_SID_RESUME;
				break;
			case HW_EV_HOOK:
				snprintf(e.hook, sizeof(e.hook), "%s", variant ? "UserPromptSubmit" : "PreToolUse");
				if(variant) snprintf(e.text, sizeof(e.text), "Bash");
				break;
			case HW_EV_PROGRESS:
				e.progress = (hw_progress_t){.prompts = 3, .tools = variant ? 0 : 44, .last_activity_ts = 17};
				break;
			case HW_EV_EXIT:
				if(variant) e.exit.signal = 9;
				else e.exit.code = 3;
				break;
			default:
				if(variant) snprintf(e.text, sizeof(e.text), "detail for %s", hw_ev_type_name(t));
				break;
			}
			if(hw_ev_encode(&e, &js, NULL, &err) != HW_OK){
				fprintf(stderr, "ev %s: %s\n", hw_ev_type_name(t), err.msg);
				CU_FAIL("encode");
				continue;
			}
			CU_ASSERT_EQUAL_FATAL(hw_ev_decode(js, strlen(js), &d, &err), HW_OK);
			check_ev_equal(&e, &d);
			CU_ASSERT_EQUAL(hw_ev_encode(&d, &js2, NULL, &err), HW_OK);
			CU_ASSERT_STRING_EQUAL(js, js2);
			free(js);
			free(js2);
		}
		types_done++;
	}
	CU_ASSERT_EQUAL(types_done, 9);
}

static void TEST_ev_exact(void)
{
	hw_ev_t e = HW_EV_INIT;
	char *js = NULL;

	fill_id(e.session, "s-42");
	e.epoch = 4;
	e.seq = 18;
	e.ts = 5;
	e.type = HW_EV_EXIT;
	e.exit.code = 3;
	CU_ASSERT_EQUAL_FATAL(hw_ev_encode(&e, &js, NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":18,\"ts\":5,\"type\":\"exit\","
			"\"exit\":{\"code\":3,\"signal\":null}}");
	free(js);
	e.type = HW_EV_CLAUDE_SID;
	fill_id(e.claude_sid, "abc");
	e.sid_source = HW_SID_CLEAR;
	CU_ASSERT_EQUAL_FATAL(hw_ev_encode(&e, &js, NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":18,\"ts\":5,\"type\":\"claude_sid\","
			"\"claude_sid\":\"abc\",\"source\":\"clear\"}");
	free(js);
	/* Paths are not escaped: '/' stays '/'. */
	e.type = HW_EV_END;
	snprintf(e.transcript, sizeof(e.transcript), "/a/b.jsonl");
	CU_ASSERT_EQUAL_FATAL(hw_ev_encode(&e, &js, NULL, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":18,\"ts\":5,\"type\":\"end\","
			"\"transcript\":\"/a/b.jsonl\"}");
	free(js);
	/* Exit with both, or neither, is refused by the encoder. */
	e.type = HW_EV_EXIT;
	e.exit.signal = 9;
	CU_ASSERT_EQUAL(hw_ev_encode(&e, &js, NULL, NULL), HW_ERR_INVAL);
	e.exit = (hw_exit_t)HW_EXIT_INIT;
	CU_ASSERT_EQUAL(hw_ev_encode(&e, &js, NULL, NULL), HW_ERR_INVAL);
}

/* ------------------------------------------------------------------ status */

static void TEST_status_round_trip_and_exact(void)
{
	/* clang-format off */
	static const char *const want[] = {
		"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"status\":\"online\",\"ts\":10}",
		"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"status\":\"lost\"}",
		"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"status\":\"ended\",\"ts\":10,"
		"\"exit\":{\"code\":null,\"signal\":15}}",
	};
	/* clang-format on */

	for(int k = 0; k < HW_STATUS__COUNT; k++){
		hw_status_t s = HW_STATUS_INIT, d;
		hw_error_t err = {0};
		char *js = NULL, *js2 = NULL;

		fill_id(s.session, "s-42");
		s.status = k;
		s.epoch = 4;
		s.ts = k == HW_STATUS_LOST ? 0 : 10;
		if(k == HW_STATUS_ENDED){
			s.has_exit = true;
			s.exit.signal = 15;
		}
		CU_ASSERT_EQUAL_FATAL(hw_status_encode(&s, &js, NULL, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(js, want[k]);
		CU_ASSERT_EQUAL_FATAL(hw_status_decode(js, strlen(js), &d, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(d.session, s.session);
		CU_ASSERT_EQUAL(d.status, s.status);
		CU_ASSERT_EQUAL(d.epoch, s.epoch);
		CU_ASSERT_EQUAL(d.ts, s.ts);
		CU_ASSERT_EQUAL(d.has_exit, s.has_exit);
		CU_ASSERT_EQUAL(d.exit.code, s.exit.code);
		CU_ASSERT_EQUAL(d.exit.signal, s.exit.signal);
		CU_ASSERT_EQUAL(hw_status_encode(&d, &js2, NULL, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(js, js2);
		free(js);
		free(js2);
	}
	/* The will may carry ts, and then it is kept. */
	{
		const char *w = "{\"v\":1,\"session\":\"s\",\"epoch\":4,\"status\":\"lost\",\"ts\":77}";
		hw_status_t d;
		CU_ASSERT_EQUAL(hw_status_decode(w, strlen(w), &d, NULL), HW_OK);
		CU_ASSERT_EQUAL(d.ts, 77);
	}
	{
		hw_status_t s = HW_STATUS_INIT;
		char *js = NULL;
		fill_id(s.session, "s");
		s.status = HW_STATUS_ENDED; /* without an exit */
		CU_ASSERT_EQUAL(hw_status_encode(&s, &js, NULL, NULL), HW_ERR_INVAL);
	}
}

/* ------------------------------------------------------------------ session document */

static void TEST_session_round_trip(void)
{
	char *argv[] = {"claude", "--resume", "abc"};
	char task[] = "#118 add login", cwd[] = "/srv/acme";
	/* clang-format off */
	hw_sid_entry_t chain[] = {
		{"sid-1", 1000, HW_SID_STARTUP}, {"sid-2", 2000, HW_SID_COMPACT}, {"sid-3", 3000, HW_SID_RESUME},
	};
	/* clang-format on */
	hw_session_t s = HW_SESSION_INIT, d;
	hw_error_t err = {0};
	char *js = NULL, *js2 = NULL;

	fill_id(s.session, "s-42");
	fill_id(s.machine, "build-07");
	fill_id(s.slot, "3");
	fill_id(s.project, "acme-web");
	s.task = task; /* borrowed, as argv and the chain */
	s.cwd = cwd;
	snprintf(s.agent, sizeof(s.agent), "heartwire-agent 0.1.0");
	s.state = HW_STATE_CRASHED;
	s.cause = HW_CAUSE_SIGNAL;
	s.state_since = 1763712005000;
	s.epoch = 4;
	s.seq = 19;
	s.run = 2;
	s.started_at = 1763712000000;
	s.last_hb_at = 1763712004000;
	s.interval_ms = 5000;
	s.grace_ms = 15000;
	s.deadline_at = 1763712019000;
	s.pid = 48211;
	s.argv = argv;
	s.argc = 3;
	fill_id(s.claude.sid, "sid-3");
	s.claude.chain = chain;
	s.claude.chain_len = 3;
	s.claude.resumable = true;
	s.claude.resume_failures = 1;
	s.progress = (hw_progress_t){.prompts = 15, .tools = 87, .last_activity_ts = 1763712003000};
	s.has_exit = true;
	s.exit.signal = 9;
	s.exit_at = 1763712005000;
	s.ended_at = 1763712005000;
	fill_id(s.recovery.claimed_by, "build-08");
	s.recovery.lease_until = 1763712065000;
	fill_id(s.recovery.token, "tok-7f3a");
	s.recovery.attempts = 1;
	s.version = 12;
	s.updated_at = 1763712005001;
	CU_ASSERT_EQUAL_FATAL(hw_session_encode(&s, &js, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_session_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(d.session, s.session);
	CU_ASSERT_STRING_EQUAL(d.machine, s.machine);
	CU_ASSERT_STRING_EQUAL(d.slot, s.slot);
	CU_ASSERT_STRING_EQUAL(d.project, s.project);
	CU_ASSERT_STRING_EQUAL(hw_session_task(&d), "#118 add login");
	CU_ASSERT_STRING_EQUAL(hw_session_cwd(&d), "/srv/acme");
	CU_ASSERT_STRING_EQUAL(d.agent, s.agent);
	CU_ASSERT_EQUAL(d.state, s.state);
	CU_ASSERT_EQUAL(d.cause, s.cause);
	CU_ASSERT_EQUAL(d.state_since, s.state_since);
	CU_ASSERT_EQUAL(d.epoch, s.epoch);
	CU_ASSERT_EQUAL(d.seq, s.seq);
	CU_ASSERT_EQUAL(d.run, s.run);
	CU_ASSERT_EQUAL(d.started_at, s.started_at);
	CU_ASSERT_EQUAL(d.last_hb_at, s.last_hb_at);
	CU_ASSERT_EQUAL(d.interval_ms, s.interval_ms);
	CU_ASSERT_EQUAL(d.grace_ms, s.grace_ms);
	CU_ASSERT_EQUAL(d.deadline_at, s.deadline_at);
	CU_ASSERT_EQUAL(d.pid, s.pid);
	CU_ASSERT_EQUAL_FATAL(d.argc, 3);
	for(size_t i = 0; i < 3; i++) CU_ASSERT_STRING_EQUAL(d.argv[i], argv[i]);
	CU_ASSERT_STRING_EQUAL(d.claude.sid, "sid-3");
	CU_ASSERT_EQUAL_FATAL(d.claude.chain_len, 3);
	for(size_t i = 0; i < 3; i++){
		CU_ASSERT_STRING_EQUAL(d.claude.chain[i].sid, chain[i].sid);
		CU_ASSERT_EQUAL(d.claude.chain[i].at, chain[i].at);
		CU_ASSERT_EQUAL(d.claude.chain[i].source, chain[i].source);
	}
	CU_ASSERT_TRUE(d.claude.resumable);
	CU_ASSERT_EQUAL(d.claude.resume_failures, 1);
	CU_ASSERT_EQUAL(d.progress.prompts, 15);
	CU_ASSERT_EQUAL(d.progress.tools, 87);
	CU_ASSERT_EQUAL(d.progress.last_activity_ts, 1763712003000);
	CU_ASSERT_TRUE(d.has_exit);
	CU_ASSERT_EQUAL(d.exit.code, -1);
	CU_ASSERT_EQUAL(d.exit.signal, 9);
	CU_ASSERT_EQUAL(d.exit_at, s.exit_at);
	CU_ASSERT_EQUAL(d.ended_at, s.ended_at);
	CU_ASSERT_STRING_EQUAL(d.recovery.claimed_by, "build-08");
	CU_ASSERT_EQUAL(d.recovery.lease_until, s.recovery.lease_until);
	CU_ASSERT_STRING_EQUAL(d.recovery.token, "tok-7f3a");
	CU_ASSERT_EQUAL(d.recovery.attempts, 1);
	CU_ASSERT_EQUAL(d.version, 12);
	CU_ASSERT_EQUAL(d.updated_at, s.updated_at);
	CU_ASSERT_EQUAL(hw_session_encode(&d, &js2, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js, js2);
	/* The retained document names the id "session", times in ms, state and cause by name. */
	CU_ASSERT(strstr(js, "\"session\":\"s-42\"") != NULL);
	CU_ASSERT(strstr(js, "\"state\":\"crashed\",\"cause\":\"signal\"") != NULL);
	CU_ASSERT(strstr(js, "\"exit\":{\"code\":null,\"signal\":9,\"at\":1763712005000}") != NULL);
	CU_ASSERT(strstr(js, "\"chain\":[{\"sid\":\"sid-1\",\"at\":1000,\"source\":\"startup\"},") != NULL);
	CU_ASSERT(strstr(js, "_id") == NULL);
	hw_session_cleanup(&d);
	CU_ASSERT_PTR_NULL(d.claude.chain);
	CU_ASSERT_PTR_NULL(d.argv);
	CU_ASSERT_PTR_NULL(d.task);
	CU_ASSERT_PTR_NULL(d.cwd);
	free(js);
	free(js2);
}

/* task and cwd are sized to fit: NULL reads as "", the setters keep the limits, reuse the
 * buffer for an equal length and free it for "", and the decoder allocates nothing for an
 * absent or empty one. */
static void TEST_session_task_and_cwd_heap_strings(void)
{
	hw_session_t s = HW_SESSION_INIT, d;
	hw_error_t err = {0};
	char big[HW_PATH_MAX + 2];
	char *js = NULL, *p;
	const char *doc = "{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"state\":\"active\",\"epoch\":1,"
			  "\"version\":1,\"updated_at\":1,\"task\":\"\"}";

	CU_ASSERT_STRING_EQUAL(hw_session_task(&s), "");
	CU_ASSERT_STRING_EQUAL(hw_session_cwd(&s), "");
	CU_ASSERT_EQUAL(hw_session_set_task(&s, "#1 a", &err), HW_OK);
	p = s.task;
	CU_ASSERT_EQUAL(hw_session_set_task(&s, "#1 a", &err), HW_OK);
	CU_ASSERT_PTR_EQUAL(s.task, p);
	CU_ASSERT_EQUAL(hw_session_set_task(&s, "#2 b", &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(hw_session_task(&s), "#2 b");
	CU_ASSERT_EQUAL(hw_session_set_task(&s, "#3 a longer task", &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(hw_session_task(&s), "#3 a longer task");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[HW_TEXT_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(hw_session_set_task(&s, big, &err), HW_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(hw_session_task(&s), "#3 a longer task");
	big[HW_TEXT_MAX] = '\0';
	CU_ASSERT_EQUAL(hw_session_set_task(&s, big, &err), HW_OK);
	CU_ASSERT_EQUAL(strlen(hw_session_task(&s)), HW_TEXT_MAX);
	CU_ASSERT_EQUAL(hw_session_set_task(&s, "", &err), HW_OK);
	CU_ASSERT_PTR_NULL(s.task);
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	CU_ASSERT_EQUAL(hw_session_set_cwd(&s, big, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NULL(s.cwd);
	big[HW_PATH_MAX] = '\0';
	CU_ASSERT_EQUAL(hw_session_set_cwd(&s, big, &err), HW_OK);
	CU_ASSERT_EQUAL(strlen(hw_session_cwd(&s)), HW_PATH_MAX);
	CU_ASSERT_EQUAL(hw_session_set_cwd(&s, NULL, &err), HW_OK);
	CU_ASSERT_PTR_NULL(s.cwd);
	CU_ASSERT_EQUAL(hw_session_set_cwd(&s, "/srv", &err), HW_OK);
	/* an owned document round-trips and cleans up like a decoded one */
	fill_id(s.session, "s");
	fill_id(s.machine, "m");
	s.state = HW_STATE_ACTIVE;
	CU_ASSERT_EQUAL_FATAL(hw_session_encode(&s, &js, NULL, &err), HW_OK);
	CU_ASSERT_PTR_NULL(strstr(js, "\"task\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(js, "\"cwd\":\"/srv\""));
	hw_session_cleanup(&s);
	CU_ASSERT_PTR_NULL(s.cwd);
	free(js);
	CU_ASSERT_EQUAL_FATAL(hw_session_decode(doc, strlen(doc), &d, &err), HW_OK);
	CU_ASSERT_PTR_NULL(d.task);
	CU_ASSERT_PTR_NULL(d.cwd);
	hw_session_cleanup(&d);
}

static void TEST_session_minimal_and_every_state(void)
{
	for(int st = HW_STATE_STARTING; st < HW_STATE__COUNT; st++){
		hw_session_t s = HW_SESSION_INIT, d;
		hw_error_t err = {0};
		char *js = NULL;

		fill_id(s.session, "s");
		fill_id(s.machine, "m");
		s.state = st;
		CU_ASSERT_EQUAL_FATAL(hw_session_encode(&s, &js, NULL, &err), HW_OK);
		CU_ASSERT_EQUAL_FATAL(hw_session_decode(js, strlen(js), &d, &err), HW_OK);
		CU_ASSERT_EQUAL(d.state, st);
		CU_ASSERT_FALSE(d.has_exit);
		CU_ASSERT_EQUAL(d.exit.code, -1);
		CU_ASSERT_EQUAL(d.claude.chain_len, 0);
		CU_ASSERT_PTR_NULL(d.claude.chain);
		hw_session_cleanup(&d);
		free(js);
	}
	{
		hw_session_t s = HW_SESSION_INIT;
		char *js = NULL;
		hw_error_t err = {0};
		fill_id(s.session, "s");
		fill_id(s.machine, "m");
		/* state none is not a stored state */
		CU_ASSERT_EQUAL(hw_session_encode(&s, &js, NULL, &err), HW_ERR_INVAL);
		CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
	}
}

/* ------------------------------------------------------------------ names */

static void TEST_names_round_trip(void)
{
	int v;

	for(int i = 0; i < HW_EV__COUNT; i++){
		CU_ASSERT_EQUAL(hw_ev_type_parse(hw_ev_type_name(i), &v, NULL), HW_OK);
		CU_ASSERT_EQUAL(v, i);
	}
	for(int i = 0; i < HW_SID__COUNT; i++){
		CU_ASSERT_EQUAL(hw_sid_source_parse(hw_sid_source_name(i), &v, NULL), HW_OK);
		CU_ASSERT_EQUAL(v, i);
	}
	for(int i = 0; i < HW_STATUS__COUNT; i++){
		CU_ASSERT_EQUAL(hw_status_parse(hw_status_name(i), &v, NULL), HW_OK);
		CU_ASSERT_EQUAL(v, i);
	}
	for(int i = 0; i < HW_REPLY__COUNT; i++){
		CU_ASSERT_EQUAL(hw_reply_code_parse(hw_reply_code_name(i), &v, NULL), HW_OK);
		CU_ASSERT_EQUAL(v, i);
	}
	for(int i = HW_VERB_NONE + 1; i < HW_VERB__COUNT; i++){
		CU_ASSERT_EQUAL(hw_verb_parse(0, hw_verb_name(i), &v, NULL), HW_OK);
		CU_ASSERT_EQUAL(v, i);
		CU_ASSERT_EQUAL(hw_verb_parse(hw_verb_is_command(i) ? HW_T_COMMAND : HW_T_QUERY, hw_verb_name(i), &v, NULL),
				HW_OK);
		CU_ASSERT_EQUAL(hw_verb_parse(hw_verb_is_command(i) ? HW_T_QUERY : HW_T_COMMAND, hw_verb_name(i), &v, NULL),
				HW_ERR_INVAL);
	}
	{
		hw_error_t err = {0};
		CU_ASSERT_EQUAL(hw_ev_type_parse("crash", &v, &err), HW_ERR_INVAL);
		CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
		CU_ASSERT(strstr(err.msg, "claude_sid") != NULL);
	}
	CU_ASSERT_STRING_EQUAL(hw_ev_type_name(HW_EV_CLAUDE_SID), "claude_sid");
	CU_ASSERT_STRING_EQUAL(hw_ev_type_name(99), "unknown");
	CU_ASSERT_STRING_EQUAL(hw_sid_source_name(HW_SID_COMPACT), "compact");
	CU_ASSERT_STRING_EQUAL(hw_status_name(HW_STATUS_ENDED), "ended");
	CU_ASSERT_STRING_EQUAL(hw_reply_code_name(HW_REPLY_UNKNOWN_SESSION), "unknown_session");
	CU_ASSERT_STRING_EQUAL(hw_reply_code_name(HW_REPLY_NOT_RECOVERABLE), "not_recoverable");
	CU_ASSERT_EQUAL(hw_reply_code_from_rc(HW_ERR_NOTFOUND), HW_REPLY_UNKNOWN_SESSION);
	CU_ASSERT_EQUAL(hw_reply_code_from_rc(HW_ERR_DECODE), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(hw_reply_code_from_rc(HW_ERR_STATE), HW_REPLY_NOT_RECOVERABLE);
	CU_ASSERT_EQUAL(hw_reply_code_from_rc(HW_ERR_STORE), HW_REPLY_UNAVAILABLE);
	CU_ASSERT_EQUAL(hw_reply_code_from_rc(HW_ERR_NOMEM), HW_REPLY_INTERNAL);
}

/* ------------------------------------------------------------------ requests */

static void TEST_request_round_trip(void)
{
	hw_request_t r = HW_REQUEST_INIT, d;
	hw_error_t err = {0};
	char *js = NULL, *js2 = NULL;

	r.verb = HW_VERB_SESSIONS;
	r.states = (1u << HW_STATE_STALLED) | (1u << HW_STATE_LOST) | (1u << HW_STATE_CLEARED);
	fill_id(r.project, "acme-web");
	fill_id(r.machine, "build-07");
	fill_id(r.slot, "3");
	r.updated_since = 1763712000000;
	r.limit = 1000;
	snprintf(r.cursor, sizeof(r.cursor), "eyJ1IjoxfQ==");
	snprintf(r.reply_to, sizeof(r.reply_to), "clients/cli-77/reply");
	snprintf(r.corr, sizeof(r.corr), "req-1 \xc3\xa9");
	CU_ASSERT_EQUAL_FATAL(hw_request_encode(&r, &js, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"states\":[\"stalled\",\"lost\",\"cleared\"],\"project\":\"acme-web\","
			"\"machine\":\"build-07\",\"slot\":\"3\",\"updated_since\":1763712000000,\"limit\":1000,"
			"\"cursor\":\"eyJ1IjoxfQ==\",\"reply_to\":\"clients/cli-77/reply\",\"corr\":\"req-1 \xc3\xa9\"}");
	CU_ASSERT_EQUAL_FATAL(hw_request_decode(HW_T_QUERY, "sessions", js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_EQUAL(d.verb, HW_VERB_SESSIONS);
	CU_ASSERT_EQUAL(d.states, r.states);
	CU_ASSERT_STRING_EQUAL(d.project, r.project);
	CU_ASSERT_STRING_EQUAL(d.machine, r.machine);
	CU_ASSERT_STRING_EQUAL(d.slot, r.slot);
	CU_ASSERT_EQUAL(d.updated_since, r.updated_since);
	CU_ASSERT_EQUAL(d.limit, 1000);
	CU_ASSERT_STRING_EQUAL(d.cursor, r.cursor);
	CU_ASSERT_STRING_EQUAL(d.reply_to, r.reply_to);
	CU_ASSERT_STRING_EQUAL(d.corr, r.corr);
	CU_ASSERT_EQUAL(hw_request_encode(&d, &js2, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js, js2);
	free(js);
	free(js2);
}

static void TEST_request_every_verb(void)
{
	for(int v = HW_VERB_NONE + 1; v < HW_VERB__COUNT; v++){
		hw_request_t r = HW_REQUEST_INIT, d;
		hw_error_t err = {0};
		char *js = NULL, *js2 = NULL;

		r.verb = v;
		switch(v){
		case HW_VERB_SESSION:
		case HW_VERB_EVENTS:
		case HW_VERB_FAIL:
		case HW_VERB_CLEAR:
			fill_id(r.session, "s-42");
			snprintf(r.reason, sizeof(r.reason), "operator: stuck on review");
			break;
		case HW_VERB_CLAIM:
			fill_id(r.session, "s-42");
			fill_id(r.claimant, "build-08");
			r.lease_ms = 60000;
			break;
		case HW_VERB_RELEASE:
			fill_id(r.session, "s-42");
			fill_id(r.token, "tok-1");
			break;
		case HW_VERB_PAUSE:
			fill_id(r.project, "acme-web");
			snprintf(r.reason, sizeof(r.reason), "rate limit");
			r.resume_at = 1763715600000;
			break;
		default:
			r.limit = 5;
			break;
		}
		CU_ASSERT_EQUAL_FATAL(hw_request_encode(&r, &js, NULL, &err), HW_OK);
		CU_ASSERT_EQUAL_FATAL(hw_request_decode(hw_verb_is_command(v) ? HW_T_COMMAND : HW_T_QUERY, hw_verb_name(v), js,
						      strlen(js), &d, &err),
				HW_OK);
		CU_ASSERT_EQUAL(d.verb, v);
		CU_ASSERT_STRING_EQUAL(d.session, r.session);
		CU_ASSERT_STRING_EQUAL(d.claimant, r.claimant);
		CU_ASSERT_STRING_EQUAL(d.token, r.token);
		CU_ASSERT_STRING_EQUAL(d.reason, r.reason);
		CU_ASSERT_EQUAL(d.lease_ms, r.lease_ms);
		CU_ASSERT_EQUAL(d.resume_at, r.resume_at);
		CU_ASSERT_EQUAL(d.limit, r.limit);
		CU_ASSERT_EQUAL(hw_request_encode(&d, &js2, NULL, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(js, js2);
		free(js);
		free(js2);
	}
}

static void TEST_request_defaults_and_refusals(void)
{
	hw_request_t d, r = HW_REQUEST_INIT;
	hw_error_t err = {0};
	char *js = NULL;

	/* mosquitto_rr -t heartwire/v1/q/stats -m '{}' */
	CU_ASSERT_EQUAL(hw_request_decode(HW_T_QUERY, "stats", "{}", 2, &d, &err), HW_OK);
	CU_ASSERT_EQUAL(d.verb, HW_VERB_STATS);
	CU_ASSERT_EQUAL(d.limit, HW_LIMIT_DEFAULT);
	CU_ASSERT_EQUAL(d.states, 0);
	CU_ASSERT_EQUAL(d.lease_ms, 0);
	/* Unknown verb: bad_value, and the verb is named. */
	CU_ASSERT_EQUAL(hw_request_decode(HW_T_QUERY, "drop", "{}", 2, &d, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
	CU_ASSERT(strstr(err.msg, "drop") != NULL);
	CU_ASSERT_EQUAL(hw_request_decode(HW_T_QUERY, NULL, "{}", 2, &d, &err), HW_ERR_DECODE);
	/* The encoder refuses a request its decoder would refuse. */
	r.verb = HW_VERB_CLAIM;
	fill_id(r.session, "s");
	CU_ASSERT_EQUAL(hw_request_encode(&r, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISSING_KEY);
	r.verb = HW_VERB_NONE;
	CU_ASSERT_EQUAL(hw_request_encode(&r, &js, NULL, &err), HW_ERR_INVAL);
	r.verb = HW_VERB_SESSIONS;
	r.limit = 0;
	CU_ASSERT_EQUAL(hw_request_encode(&r, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
	r.limit = 100;
	r.states = 1u << HW_STATE_NONE;
	CU_ASSERT_EQUAL(hw_request_encode(&r, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
}

/* ------------------------------------------------------------------ replies */

static void TEST_reply_ok(void)
{
	hw_error_t err = {0};
	hw_reply_t d;
	char *js = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(hw_reply_encode_ok("{\"sessions\":[{\"session\":\"s-1\",\"state\":\"lost\"}],"
						 "\"cursor\":null, \"count\" : 1}",
					      "c-9", &js, &n, &err),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"ok\":true,\"sessions\":[{\"session\":\"s-1\",\"state\":\"lost\"}],\"cursor\":null,"
			"\"count\":1,\"corr\":\"c-9\"}");
	CU_ASSERT_EQUAL(n, strlen(js));
	CU_ASSERT_EQUAL_FATAL(hw_reply_decode(js, n, &d, &err), HW_OK);
	CU_ASSERT_TRUE(d.ok);
	CU_ASSERT_STRING_EQUAL(d.corr, "c-9");
	CU_ASSERT_STRING_EQUAL(d.data, "{\"sessions\":[{\"session\":\"s-1\",\"state\":\"lost\"}],\"cursor\":null,\"count\":1}");
	CU_ASSERT_EQUAL(d.data_len, strlen(d.data));
	hw_reply_cleanup(&d);
	CU_ASSERT_PTR_NULL(d.data);
	free(js);
	CU_ASSERT_EQUAL_FATAL(hw_reply_encode_ok(NULL, NULL, &js, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js, "{\"ok\":true}");
	CU_ASSERT_EQUAL_FATAL(hw_reply_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(d.data, "{}");
	hw_reply_cleanup(&d);
	free(js);
	/* Data must be one object without the reserved members. */
	CU_ASSERT_EQUAL(hw_reply_encode_ok("[1]", NULL, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_reply_encode_ok("{\"ok\":false}", NULL, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_reply_encode_ok("{\"a\":1} {", NULL, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_reply_encode_ok("{\"a\":", NULL, &js, NULL, &err), HW_ERR_INVAL);
}

static void TEST_reply_error(void)
{
	hw_error_t err = {0};
	hw_reply_t d;
	char *js = NULL;
	char longmsg[700];

	CU_ASSERT_EQUAL_FATAL(
			hw_reply_encode_error(HW_REPLY_UNKNOWN_SESSION, "no session \"s-9\"", NULL, &js, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"ok\":false,\"error\":{\"code\":\"unknown_session\",\"message\":\"no session "
			"\\\"s-9\\\"\"}}");
	CU_ASSERT_EQUAL_FATAL(hw_reply_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_FALSE(d.ok);
	CU_ASSERT_EQUAL(d.code, HW_REPLY_UNKNOWN_SESSION);
	CU_ASSERT_STRING_EQUAL(d.code_name, "unknown_session");
	CU_ASSERT_STRING_EQUAL(d.message, "no session \"s-9\"");
	CU_ASSERT_STRING_EQUAL(d.data, "{}");
	hw_reply_cleanup(&d);
	free(js);
	/* Every code, with a correlation string. */
	for(int c = 0; c < HW_REPLY__COUNT; c++){
		CU_ASSERT_EQUAL_FATAL(hw_reply_encode_error(c, "m", "corr-1", &js, NULL, &err), HW_OK);
		CU_ASSERT_EQUAL_FATAL(hw_reply_decode(js, strlen(js), &d, &err), HW_OK);
		CU_ASSERT_EQUAL(d.code, c);
		CU_ASSERT_STRING_EQUAL(d.corr, "corr-1");
		hw_reply_cleanup(&d);
		free(js);
	}
	/* A long message with invalid UTF-8 is cut and repaired, so the reply stays decodable. */
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	longmsg[3] = '\xff';
	longmsg[510] = '\xe2';
	longmsg[511] = '\x82';
	longmsg[512] = '\xac';
	CU_ASSERT_EQUAL_FATAL(hw_reply_encode_error(HW_REPLY_INTERNAL, longmsg, NULL, &js, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_reply_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT(strlen(d.message) <= HW_TEXT_MAX);
	CU_ASSERT_EQUAL(d.message[3], '?');
	CU_ASSERT_EQUAL(strlen(d.message), 510);
	hw_reply_cleanup(&d);
	free(js);
	/* An error code from a newer collector decodes with code -1 and its name. */
	{
		const char *s = "{\"ok\":false,\"error\":{\"code\":\"quota_exceeded\",\"message\":\"x\"}}";
		CU_ASSERT_EQUAL(hw_reply_decode(s, strlen(s), &d, &err), HW_OK);
		CU_ASSERT_EQUAL(d.code, -1);
		CU_ASSERT_STRING_EQUAL(d.code_name, "quota_exceeded");
		hw_reply_cleanup(&d);
	}
	CU_ASSERT_EQUAL(hw_reply_encode_error(HW_REPLY__COUNT, "x", NULL, &js, NULL, &err), HW_ERR_INVAL);
}

/* ------------------------------------------------------------------ resume additions */

/* The birth's claim token and Claude session chain survive a round trip, exactly. */
static void TEST_birth_chain_and_claim_token(void)
{
	/* clang-format off */
	hw_sid_entry_t chain[3] = {
		{.sid = "9b1c2d3e", .at = 1763712001002, .source = HW_SID_STARTUP},
		{.sid = "0f6e1a2b", .at = 1763712031010, .source = HW_SID_COMPACT},
		{.sid = "77aa88bb", .at = 1763712099000, .source = HW_SID_RESUME},
	};
	/* clang-format on */
	hw_birth_t b = HW_BIRTH_INIT, d;
	hw_error_t err = {0};
	char *js = NULL, *js2 = NULL;

	fill_id(b.session, "s-42");
	fill_id(b.machine, "build-09");
	fill_id(b.claude_sid, "77aa88bb");
	fill_id(b.resumed_from, "77aa88bb");
	fill_id(b.claim_token, "c5f2a9e0-17");
	b.epoch = 9;
	b.ts = 5;
	b.interval_ms = 5000;
	b.run = 3;
	b.chain = chain;
	b.chain_len = 3;
	CU_ASSERT_EQUAL_FATAL(hw_birth_encode(&b, &js, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":9,\"seq\":0,\"ts\":5,\"machine\":\"build-09\","
			"\"interval_ms\":5000,\"claude_sid\":\"77aa88bb\",\"resumed_from\":\"77aa88bb\",\"run\":3,"
			"\"claim_token\":\"c5f2a9e0-17\",\"chain\":[{\"sid\":\"9b1c2d3e\",\"at\":1763712001002,\"source\":"
			"\"startup\"},"
			"{\"sid\":\"0f6e1a2b\",\"at\":1763712031010,\"source\":\"compact\"},"
			"{\"sid\":\"77aa88bb\",\"at\":1763712099000,\"source\":\"resume\"}]}");
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(d.claim_token, "c5f2a9e0-17");
	CU_ASSERT_EQUAL_FATAL(d.chain_len, 3);
	for(size_t i = 0; i < 3; i++){
		CU_ASSERT_STRING_EQUAL(d.chain[i].sid, chain[i].sid);
		CU_ASSERT_EQUAL(d.chain[i].at, chain[i].at);
		CU_ASSERT_EQUAL(d.chain[i].source, chain[i].source);
	}
	CU_ASSERT_EQUAL(hw_birth_encode(&d, &js2, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js, js2);
	hw_birth_cleanup(&d);
	CU_ASSERT_PTR_NULL(d.chain);
	CU_ASSERT_EQUAL(d.chain_len, 0);
	free(js);
	free(js2);
	/* The encoder refuses what the decoder would. */
	b.chain_len = 1;
	b.chain = NULL;
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	b.chain = chain;
	fill_id(chain[0].sid, "bad sid");
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	fill_id(chain[0].sid, "9b1c2d3e");
	fill_id(b.claim_token, "a token");
	CU_ASSERT_EQUAL(hw_birth_encode(&b, &js, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
}

static void TEST_birth_chain_refusals(void)
{
	static const struct {
		const char *chain;
		int reason;
	} bad[] = {
			{"[{\"sid\":\"a\",\"at\":1}]", HW_R_MISSING_KEY},
			{"[{\"sid\":\"a\",\"at\":1,\"source\":\"fork\"}]", HW_R_BAD_VALUE},
			{"[{\"sid\":\"a\",\"at\":-1,\"source\":\"resume\"}]", HW_R_OUT_OF_RANGE},
			{"[\"a\"]", HW_R_WRONG_TYPE},
			{"{\"sid\":\"a\"}", HW_R_WRONG_TYPE},
			{"[{\"sid\":\"a b\",\"at\":1,\"source\":\"resume\"}]", HW_R_BAD_ID},
	};
	char buf[512];
	hw_birth_t d;
	hw_error_t err;

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"epoch\":1,\"seq\":0,\"ts\":1,"
				"\"interval_ms\":5000,\"chain\":%s}",
				bad[i].chain);
		CU_ASSERT_EQUAL(hw_birth_decode(buf, strlen(buf), &d, &err), HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.reason, bad[i].reason);
		CU_ASSERT_PTR_NULL(d.chain);
	}
	/* 257 entries are too many. */
	{
		size_t cap = 300 * 64 + 256, off;
		char *big = malloc(cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		off = (size_t)snprintf(big, cap,
				"{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"epoch\":1,\"seq\":0,"
				"\"ts\":1,\"interval_ms\":5000,\"chain\":[");
		for(int i = 0; i <= HW_CHAIN_MAX; i++)
			off += (size_t)snprintf(big + off, cap - off, "%s{\"sid\":\"x%d\",\"at\":1,\"source\":\"resume\"}",
					i ? "," : "", i);
		off += (size_t)snprintf(big + off, cap - off, "]}");
		CU_ASSERT_EQUAL(hw_birth_decode(big, off, &d, &err), HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.reason, HW_R_TOO_MANY);
		free(big);
	}
}

static void TEST_hb_dropped(void)
{
	hw_hb_t h = HW_HB_INIT, d;
	hw_error_t err = {0};
	char *js = NULL;
	const char *neg = "{\"v\":1,\"session\":\"s\",\"epoch\":0,\"seq\":0,\"ts\":0,\"interval_ms\":100,\"dropped\":-1}";

	fill_id(h.session, "s-42");
	h.epoch = 4;
	h.seq = 17;
	h.ts = 99;
	h.interval_ms = 5000;
	h.dropped = 12;
	CU_ASSERT_EQUAL_FATAL(hw_hb_encode(&h, &js, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(js,
			"{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":17,\"ts\":99,\"state\":\"active\","
			"\"interval_ms\":5000,\"dropped\":12}");
	CU_ASSERT_EQUAL_FATAL(hw_hb_decode(js, strlen(js), &d, &err), HW_OK);
	CU_ASSERT_EQUAL(d.dropped, 12);
	free(js);
	h.dropped = 0; /* not written */
	CU_ASSERT_EQUAL_FATAL(hw_hb_encode(&h, &js, NULL, &err), HW_OK);
	CU_ASSERT_PTR_NULL(strstr(js, "dropped"));
	free(js);
	CU_ASSERT_EQUAL(hw_hb_decode(neg, strlen(neg), &d, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
}

static void TEST_reply_members(void)
{
	const char *s = "{\"ok\":true,\"session\":{\"session\":\"s-1\",\"argv\":[\"claude\",\"-p\"]},\"token\":\"tok-1\","
			"\"lease_until\":1763712800000,\"n\":null,\"d\":1.5}";
	hw_error_t err = {0};
	hw_reply_t r;
	char *m = NULL, small[4], tok[HW_ID_MAX + 1];
	size_t n = 0;
	int64_t v = 0;

	CU_ASSERT_EQUAL_FATAL(hw_reply_decode(s, strlen(s), &r, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_reply_member(&r, "session", &m, &n, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(m, "{\"session\":\"s-1\",\"argv\":[\"claude\",\"-p\"]}");
	CU_ASSERT_EQUAL(n, strlen(m));
	free(m);
	CU_ASSERT_EQUAL(hw_reply_string(&r, "token", tok, sizeof(tok), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(tok, "tok-1");
	CU_ASSERT_EQUAL(hw_reply_string(&r, "token", small, sizeof(small), &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	CU_ASSERT_EQUAL(hw_reply_int(&r, "lease_until", &v, &err), HW_OK);
	CU_ASSERT_EQUAL(v, 1763712800000);
	CU_ASSERT_EQUAL(hw_reply_int(&r, "d", &v, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_WRONG_TYPE);
	CU_ASSERT_EQUAL(hw_reply_int(&r, "token", &v, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(hw_reply_string(&r, "session", tok, sizeof(tok), &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(hw_reply_member(&r, "missing", &m, NULL, &err), HW_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(hw_reply_int(&r, "n", &v, &err), HW_ERR_NOTFOUND);
	hw_reply_cleanup(&r);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_birth_round_trip),
		HWTEST(TEST_birth_minimal_exact),
		HWTEST(TEST_birth_design_example_and_unknown_keys),
		HWTEST(TEST_birth_encoder_refuses),
		HWTEST(TEST_hb_round_trip),
		HWTEST(TEST_hb_exact_and_defaults),
		HWTEST(TEST_ev_round_trip_every_type),
		HWTEST(TEST_ev_exact),
		HWTEST(TEST_status_round_trip_and_exact),
		HWTEST(TEST_session_round_trip),
		HWTEST(TEST_session_minimal_and_every_state),
		HWTEST(TEST_session_task_and_cwd_heap_strings),
		HWTEST(TEST_names_round_trip),
		HWTEST(TEST_request_round_trip),
		HWTEST(TEST_request_every_verb),
		HWTEST(TEST_request_defaults_and_refusals),
		HWTEST(TEST_reply_ok),
		HWTEST(TEST_reply_error),
		HWTEST(TEST_birth_chain_and_claim_token),
		HWTEST(TEST_birth_chain_refusals),
		HWTEST(TEST_hb_dropped),
		HWTEST(TEST_reply_members),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("msg_codec", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
