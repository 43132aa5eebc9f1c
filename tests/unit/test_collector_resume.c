/* test_collector_resume.c: what the collector does with `heartwire-agent resume`'s messages,
 * without a broker or a database: the birth's Claude chain fills a document that has none; the
 * "resume_failed:" and "not_resumable:" action events count failures and mark the session,
 * once each even when replayed; a claimed session moves to another machine only with its
 * claim token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/msg.h"
#include "hwtest.h"

#define ROOT "heartwire/v1"
#define NOW 1763712000000LL

static hw_collector_cfg_t cfg;
static hw_collector_t c;
static int64_t mono;

static int setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.topic_root, sizeof(cfg.topic_root), ROOT);
	snprintf(cfg.id, sizeof(cfg.id), "coll-test");
	cfg.retention_ms = 60000;
	cfg.store_buffer = 1000;
	cfg.flush_ms = 1000;
	cfg.store_flush_ms = 5000;
	cfg.rollup_ms = 100;
	cfg.rebirth_min_ms = 10000;
	mono = hw_mono_ms();
	hw_log_init("collector", HW_LOG_OFF, HW_LOG_TEXT, stderr);
	return hw_collector_init(&c, &cfg, NULL, NULL, NULL) == HW_OK ? 0 : -1;
}

static void handle(int kind, const char *m, const char *s, const char *json, size_t len, int64_t now)
{
	char t[HW_TOPIC_MAX];

	CU_ASSERT_FATAL(hw_topic_build(t, sizeof(t), ROOT, kind, m, s, NULL) == HW_OK);
	hw_collector_handle(&c, t, json, len, now, mono);
}

static void birth(const char *m, const char *s, int64_t epoch, const char *token, const hw_sid_entry_t *chain, size_t n,
		int64_t now)
{
	hw_birth_t b = HW_BIRTH_INIT;
	char *json;
	size_t len;

	snprintf(b.session, sizeof(b.session), "%s", s);
	snprintf(b.machine, sizeof(b.machine), "%s", m);
	if(token) snprintf(b.claim_token, sizeof(b.claim_token), "%s", token);
	if(n) snprintf(b.claude_sid, sizeof(b.claude_sid), "%s", chain[n - 1].sid);
	b.epoch = epoch;
	b.ts = now;
	b.interval_ms = 100;
	b.chain = (hw_sid_entry_t *)chain;
	b.chain_len = n;
	CU_ASSERT_FATAL(hw_birth_encode(&b, &json, &len, NULL) == HW_OK);
	handle(HW_T_BIRTH, m, s, json, len, now);
	free(json);
}

static void ev(const char *m, const char *s, int64_t epoch, int64_t seq, int type, const char *text, int code, int64_t now)
{
	hw_ev_t e = HW_EV_INIT;
	char *json;
	size_t len;

	snprintf(e.session, sizeof(e.session), "%s", s);
	e.epoch = epoch;
	e.seq = seq;
	e.ts = now;
	e.type = type;
	if(text) snprintf(e.text, sizeof(e.text), "%s", text);
	if(type == HW_EV_EXIT) e.exit.code = code;
	CU_ASSERT_FATAL(hw_ev_encode(&e, &json, &len, NULL) == HW_OK);
	handle(HW_T_EV, m, s, json, len, now);
	free(json);
}

/* clang-format off */
static const hw_sid_entry_t chain3[3] = {
	{.sid = "a-startup", .at = NOW - 3000, .source = HW_SID_STARTUP},
	{.sid = "b-compact", .at = NOW - 2000, .source = HW_SID_COMPACT},
	{.sid = "c-resume", .at = NOW - 1000, .source = HW_SID_RESUME},
};
/* clang-format on */

static void TEST_birth_chain_fills_an_empty_document(void)
{
	hw_sess_t *s;

	CU_ASSERT_FATAL(setup() == 0);
	birth("m1", "s1", 1, NULL, chain3, 3, NOW);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL_FATAL(s->doc.claude.chain_len, 3);
	for(int i = 0; i < 3; i++){
		CU_ASSERT_STRING_EQUAL(s->doc.claude.chain[i].sid, chain3[i].sid);
		CU_ASSERT_EQUAL(s->doc.claude.chain[i].source, chain3[i].source);
		CU_ASSERT_EQUAL(s->doc.claude.chain[i].at, chain3[i].at); /* the agent's times, in the past */
	}
	CU_ASSERT_STRING_EQUAL(s->doc.claude.sid, "c-resume");
	/* A chain the document has stays as it is (the events keep it). */
	{
		hw_sid_entry_t other[2] = {{.sid = "x-1", .at = NOW, .source = HW_SID_STARTUP},
				{.sid = "c-resume", .at = NOW, .source = HW_SID_RESUME}};
		birth("m1", "s1", 2, NULL, other, 2, NOW + 10);
		CU_ASSERT_EQUAL(s->doc.claude.chain_len, 3);
		CU_ASSERT_STRING_EQUAL(s->doc.claude.chain[0].sid, "a-startup");
	}
	/* An entry "from the future" (agent clock ahead) is stamped with the collector's time. */
	{
		hw_sid_entry_t ahead[1] = {{.sid = "z-1", .at = NOW + 999999, .source = HW_SID_STARTUP}};
		birth("m1", "s2", 1, NULL, ahead, 1, NOW);
		s = hw_collector_find(&c, "s2");
		CU_ASSERT_FATAL(s != NULL && s->doc.claude.chain_len == 1);
		CU_ASSERT_EQUAL(s->doc.claude.chain[0].at, NOW);
	}
	hw_collector_cleanup(&c);
}

static void TEST_resume_actions_count_once(void)
{
	hw_sess_t *s;

	CU_ASSERT_FATAL(setup() == 0);
	birth("m1", "s1", 1, NULL, chain3, 3, NOW);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_TRUE(s->doc.claude.resumable);
	ev("m1", "s1", 1, 1, HW_EV_EXIT, NULL, 1, NOW + 1);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_CRASHED);
	/* After the exit of the same epoch, as the agent sends it. */
	ev("m1", "s1", 1, 2, HW_EV_ACTION, "resume_failed: Claude session c-resume: exited with 1", 0, NOW + 2);
	CU_ASSERT_EQUAL(s->doc.claude.resume_failures, 1);
	CU_ASSERT_TRUE(s->doc.claude.resumable);
	/* A replay changes nothing. */
	ev("m1", "s1", 1, 2, HW_EV_ACTION, "resume_failed: Claude session c-resume: exited with 1", 0, NOW + 3);
	CU_ASSERT_EQUAL(s->doc.claude.resume_failures, 1);
	/* Other actions count nothing. */
	ev("m1", "s1", 1, 3, HW_EV_ACTION, "heartwire: 3 events dropped; resume_failed: no", 0, NOW + 4);
	CU_ASSERT_EQUAL(s->doc.claude.resume_failures, 1);
	ev("m1", "s1", 1, 4, HW_EV_ACTION, "not_resumable: 3 resume failures (limit 3)", 0, NOW + 5);
	CU_ASSERT_FALSE(s->doc.claude.resumable);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_CRASHED);
	hw_collector_cleanup(&c);
}

static void TEST_claimed_session_moves_only_with_its_token(void)
{
	hw_sess_t *s;

	CU_ASSERT_FATAL(setup() == 0);
	birth("m1", "s1", 1, NULL, chain3, 3, NOW);
	ev("m1", "s1", 1, 1, HW_EV_EXIT, NULL, 1, NOW + 1);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_FATAL(s != NULL && s->doc.state == HW_STATE_CRASHED);
	/* As cmd/claim leaves it. */
	s->doc.state = HW_STATE_RECOVERING;
	s->doc.cause = HW_CAUSE_NONE;
	snprintf(s->doc.recovery.token, sizeof(s->doc.recovery.token), "g1-tok");
	snprintf(s->doc.recovery.claimed_by, sizeof(s->doc.recovery.claimed_by), "m2");
	/* No token, or a wrong one: refused (another machine's subtree). */
	birth("m3", "s1", 2, NULL, NULL, 0, NOW + 2);
	birth("m2", "s1", 2, "g0-old", NULL, 0, NOW + 3);
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_MISMATCH], 2);
	CU_ASSERT_STRING_EQUAL(s->doc.machine, "m1");
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_RECOVERING);
	/* The claim's token: it moves, as a new run. */
	birth("m2", "s1", 2, "g1-tok", NULL, 0, NOW + 4);
	CU_ASSERT_STRING_EQUAL(s->doc.machine, "m2");
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_STARTING);
	CU_ASSERT_EQUAL(s->doc.epoch, 2);
	/* An older epoch never moves it, token or not. */
	birth("m1", "s1", 1, "g1-tok", NULL, 0, NOW + 5);
	CU_ASSERT_STRING_EQUAL(s->doc.machine, "m2");
	hw_collector_cleanup(&c);
}

int main(void)
{
	static const hwtest_case_t cases[] = {HWTEST(TEST_birth_chain_fills_an_empty_document),
			HWTEST(TEST_resume_actions_count_once), HWTEST(TEST_claimed_session_moves_only_with_its_token),
			HWTEST_END};

	if(hwtest_init() != 0 || hwtest_suite("collector_resume", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
