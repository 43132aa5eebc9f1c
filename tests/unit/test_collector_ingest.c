/* test_collector_ingest.c: the collector's ingest logic without a broker or a database: what
 * each message does to the session table, the rollups, the deadlines and the store queue
 * (barriers at once, heartbeats coalesced per flush), invalid input, machine binding,
 * retention; and the pure ingest cost per heartbeat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "heartwire/clock.h"
#include "heartwire/msg.h"
#include "hwtest.h"

#define ROOT "heartwire/v1"
#define NOW 1763712000000LL

static hw_collector_cfg_t cfg;
static hw_collector_t c;
static hw_storeq_t q;
static int64_t mono;

static void cfg_defaults(void)
{
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.topic_root, sizeof(cfg.topic_root), ROOT);
	snprintf(cfg.id, sizeof(cfg.id), "coll-test");
	cfg.retention_ms = 60000;
	cfg.store_buffer = 100000;
	cfg.startup_grace_ms = 0;
	cfg.flush_ms = 1000;
	cfg.store_flush_ms = 5000;
	cfg.rollup_ms = 100;
	cfg.rebirth_min_ms = 10000;
}

static int setup(void)
{
	cfg_defaults();
	mono = hw_mono_ms();
	if(hw_storeq_init(&q, 100000, NULL) != HW_OK) return -1;
	return hw_collector_init(&c, &cfg, NULL, &q, NULL) == HW_OK ? 0 : -1;
}

static void teardown(void)
{
	hw_collector_cleanup(&c);
	hw_storeq_cleanup(&q);
}

static void topic(char *buf, int kind, const char *m, const char *s)
{
	hw_topic_build(buf, HW_TOPIC_MAX, ROOT, kind, m, s, NULL);
}

static void send_birth(const char *m, const char *s, int64_t epoch, const char *project, int64_t now)
{
	hw_birth_t b = HW_BIRTH_INIT;
	char t[HW_TOPIC_MAX], *json;
	size_t len;

	snprintf(b.session, sizeof(b.session), "%s", s);
	snprintf(b.machine, sizeof(b.machine), "%s", m);
	snprintf(b.project, sizeof(b.project), "%s", project);
	b.epoch = epoch;
	b.ts = now;
	b.interval_ms = 100;
	CU_ASSERT_FATAL(hw_birth_encode(&b, &json, &len, NULL) == HW_OK);
	topic(t, HW_T_BIRTH, m, s);
	hw_collector_handle(&c, t, json, len, now, mono);
	free(json);
}

static void send_hb(const char *m, const char *s, int64_t epoch, int64_t seq, int64_t now)
{
	char t[HW_TOPIC_MAX], json[256];
	int len = snprintf(json, sizeof(json),
			"{\"v\":1,\"session\":\"%s\",\"epoch\":%lld,\"seq\":%lld,\"ts\":%lld,\"interval_ms\":100}", s,
			(long long)epoch, (long long)seq, (long long)now);

	topic(t, HW_T_HB, m, s);
	hw_collector_handle(&c, t, json, (size_t)len, now, mono);
}

static void send_exit(const char *m, const char *s, int64_t epoch, int64_t seq, int code, int64_t now)
{
	hw_ev_t ev = HW_EV_INIT;
	char t[HW_TOPIC_MAX], *json;
	size_t len;

	snprintf(ev.session, sizeof(ev.session), "%s", s);
	ev.epoch = epoch;
	ev.seq = seq;
	ev.ts = now;
	ev.type = HW_EV_EXIT;
	ev.exit.code = code;
	CU_ASSERT_FATAL(hw_ev_encode(&ev, &json, &len, NULL) == HW_OK);
	topic(t, HW_T_EV, m, s);
	hw_collector_handle(&c, t, json, len, now, mono);
	free(json);
}

/* Takes every queued op; counts kinds and returns the list (caller frees). */
static hw_op_t *drain(size_t *sessions, size_t *barriers, size_t *events)
{
	size_t n;
	hw_op_t *list = hw_storeq_take(&q, 1000000, 0, &n);

	*sessions = *barriers = *events = 0;
	for(hw_op_t *op = list; op; op = op->next){
		if(op->kind == HW_OP_SESSION){
			(*sessions)++;
			*barriers += op->barrier;
		}
		if(op->kind == HW_OP_EVENT) (*events)++;
	}
	return list;
}

static void TEST_invalid_input_is_counted_and_dropped(void)
{
	char t[HW_TOPIC_MAX];

	CU_ASSERT_FATAL(setup() == 0);
	hw_collector_handle(&c, "other/root/x", "{}", 2, NOW, mono);
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_BAD_ROOT], 1);
	topic(t, HW_T_HB, "m1", "s1");
	hw_collector_handle(&c, t, "{nope", 5, NOW, mono);
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_BAD_JSON], 1);
	{
		const char *p = "{\"v\":1,\"session\":\"s1\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":100,\"$where\":1}";
		hw_collector_handle(&c, t, p, strlen(p), NOW, mono);
	}
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_BAD_KEY], 1);
	/* a payload for another session than its topic */
	topic(t, HW_T_HB, "m1", "s2");
	{
		const char *p = "{\"v\":1,\"session\":\"s1\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":100}";
		hw_collector_handle(&c, t, p, strlen(p), NOW, mono);
	}
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_MISMATCH], 1);
	/* an empty retained status (a clear) is not an error */
	topic(t, HW_T_STATUS, "m1", "s1");
	hw_collector_handle(&c, t, "", 0, NOW, mono);
	CU_ASSERT_EQUAL(c.n.invalid, 4);
	CU_ASSERT_EQUAL(hw_map_len(&c.sessions), 0);
	CU_ASSERT_EQUAL(hw_storeq_len(&q), 0);
	teardown();
}

static void TEST_a_run_writes_barriers_at_once_and_coalesces_heartbeats(void)
{
	size_t sessions, barriers, events;
	hw_op_t *list;
	hw_sess_t *s;
	hw_rollup_t *p;

	CU_ASSERT_FATAL(setup() == 0);
	hw_collector_flush(&c, NOW, mono, true); /* aligns the flush schedule with mono */
	send_birth("m1", "s1", 3, "acme", NOW);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_STARTING);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 1);
	CU_ASSERT_EQUAL(barriers, 1);
	CU_ASSERT_EQUAL(events, 1); /* none -> starting */
	hw_op_free_list(list);
	/* the first heartbeat is a transition; the next 500 only move last_hb_at */
	for(int i = 1; i <= 501; i++) send_hb("m1", "s1", 3, i, NOW + i);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_ACTIVE);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 1); /* starting -> active */
	CU_ASSERT_EQUAL(barriers, 1);
	CU_ASSERT_EQUAL(events, 1);
	hw_op_free_list(list);
	/* the publish flush does not store; the store flush stores the newest snapshot once */
	mono += 1000;
	hw_collector_flush(&c, NOW + 1000, mono, false);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 0); /* (the project and machine rollups were written) */
	hw_op_free_list(list);
	mono += 5000;
	hw_collector_flush(&c, NOW + 6000, mono, false);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 1);
	CU_ASSERT_EQUAL(barriers, 0);
	for(hw_op_t *op = list; op; op = op->next){
		if(op->kind == HW_OP_SESSION) CU_ASSERT_EQUAL(op->version, s->doc.version);
	}
	CU_ASSERT_EQUAL(s->doc.seq, 501);
	CU_ASSERT_EQUAL(s->doc.last_hb_at, NOW + 501);
	hw_op_free_list(list);
	/* rollups follow */
	p = hw_map_get(&c.projects, "acme");
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(p->counts[HW_STATE_ACTIVE], 1);
	CU_ASSERT_EQUAL(p->total, 1);
	CU_ASSERT_EQUAL(c.summary[HW_STATE_ACTIVE], 1);
	/* the exit: a barrier snapshot, a transition event and the agent event */
	send_exit("m1", "s1", 3, 502, 7, NOW + 7000);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_CRASHED);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 1);
	CU_ASSERT_EQUAL(barriers, 1);
	CU_ASSERT_EQUAL(events, 2);
	hw_op_free_list(list);
	CU_ASSERT_EQUAL(p->counts[HW_STATE_ACTIVE], 0);
	CU_ASSERT_EQUAL(p->counts[HW_STATE_CRASHED], 1);
	CU_ASSERT_EQUAL(c.n.alerts, 1);
	/* the same exit again is stale and writes nothing but the (deduplicated) agent event */
	send_exit("m1", "s1", 3, 502, 7, NOW + 7001);
	list = drain(&sessions, &barriers, &events);
	CU_ASSERT_EQUAL(sessions, 0);
	CU_ASSERT_EQUAL(events, 1);
	CU_ASSERT(list && strcmp(list->ev->id, "s1:3:502") == 0);
	hw_op_free_list(list);
	CU_ASSERT_EQUAL(c.n.stale, 1);
	teardown();
}

static void TEST_deadlines_fire_and_respect_the_grace(void)
{
	hw_sess_t *s;

	CU_ASSERT_FATAL(setup() == 0);
	cfg.startup_grace_ms = 2000;
	hw_collector_grace(&c, mono);
	send_birth("m1", "s1", 1, "acme", NOW);
	send_hb("m1", "s1", 1, 1, NOW);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_EQUAL(s->doc.deadline_at, NOW + 300);
	/* within the start-up grace nothing fires, even past the deadline */
	hw_collector_timers(&c, NOW + 1000, mono + 1000);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_ACTIVE);
	hw_collector_flush(&c, NOW + 1000, mono + 1000, true);
	CU_ASSERT_EQUAL(hw_collector_timeout(&c, mono + 1000, 60000), 1000);
	hw_collector_timers(&c, NOW + 2000, mono + 2000);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_STALLED);
	CU_ASSERT_EQUAL(s->doc.cause, HW_CAUSE_MISSED_HEARTBEATS);
	/* the second grace counts from the stall, since last_hb_at + 2 x grace passed during the
	 * start-up grace */
	CU_ASSERT_EQUAL(s->doc.deadline_at, NOW + 2000 + 300);
	hw_collector_timers(&c, NOW + 2299, mono + 2299);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_STALLED);
	hw_collector_timers(&c, NOW + 2300, mono + 2300);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_LOST);
	CU_ASSERT_EQUAL(s->doc.cause, HW_CAUSE_TIMEOUT);
	/* a heartbeat brings it back: a false alarm */
	send_hb("m1", "s1", 1, 2, NOW + 2400);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_ACTIVE);
	CU_ASSERT_EQUAL(c.n.false_alarms, 1);
	CU_ASSERT_EQUAL(c.n.alerts, 3); /* stalled, lost, recovered */
	cfg.startup_grace_ms = 0;
	teardown();
}

static void TEST_ended_sessions_are_forgotten_after_retention(void)
{
	hw_rollup_t *p;

	CU_ASSERT_FATAL(setup() == 0);
	cfg.retention_ms = 500;
	send_birth("m1", "s1", 1, "acme", NOW);
	send_exit("m1", "s1", 1, 1, 0, NOW + 10);
	CU_ASSERT_EQUAL(hw_collector_find(&c, "s1")->doc.state, HW_STATE_COMPLETED);
	hw_collector_timers(&c, NOW + 400, mono + 400);
	CU_ASSERT_PTR_NOT_NULL(hw_collector_find(&c, "s1"));
	hw_collector_timers(&c, NOW + 510, mono + 510);
	CU_ASSERT_PTR_NULL(hw_collector_find(&c, "s1"));
	CU_ASSERT_EQUAL(c.n.forgotten, 1);
	p = hw_map_get(&c.projects, "acme");
	CU_ASSERT(p == NULL || p->total == 0);
	CU_ASSERT_EQUAL(c.summary[HW_STATE_COMPLETED], 0);
	cfg.retention_ms = 60000;
	teardown();
}

static void TEST_sessions_are_bound_to_their_machine(void)
{
	char t[HW_TOPIC_MAX];
	hw_status_t st = HW_STATUS_INIT;
	char *json;
	size_t len;
	hw_sess_t *s;

	CU_ASSERT_FATAL(setup() == 0);
	send_birth("m1", "s1", 1, "acme", NOW);
	send_hb("m1", "s1", 1, 1, NOW);
	/* another machine may not speak for it */
	send_hb("m2", "s1", 1, 2, NOW + 1);
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_MISMATCH], 1);
	s = hw_collector_find(&c, "s1");
	CU_ASSERT_EQUAL(s->doc.seq, 1);
	/* not even a newer birth while it runs */
	send_birth("m2", "s1", 2, "acme", NOW + 2);
	CU_ASSERT_EQUAL(c.n.invalid_by_reason[HW_R_MISMATCH], 2);
	CU_ASSERT_STRING_EQUAL(s->doc.machine, "m1");
	/* once it is lost, a newer birth elsewhere moves it */
	snprintf(st.session, sizeof(st.session), "s1");
	st.status = HW_STATUS_LOST;
	st.epoch = 1;
	CU_ASSERT_FATAL(hw_status_encode(&st, &json, &len, NULL) == HW_OK);
	topic(t, HW_T_STATUS, "m1", "s1");
	hw_collector_handle(&c, t, json, len, NOW + 3, mono);
	free(json);
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_LOST);
	send_birth("m2", "s1", 2, "acme", NOW + 4);
	CU_ASSERT_STRING_EQUAL(s->doc.machine, "m2");
	CU_ASSERT_EQUAL(s->doc.state, HW_STATE_STARTING);
	CU_ASSERT_EQUAL(s->doc.epoch, 2);
	CU_ASSERT_EQUAL(c.summary[HW_STATE_STARTING], 1);
	CU_ASSERT_EQUAL(((hw_rollup_t *)hw_map_get(&c.machines, "m2"))->total, 1);
	CU_ASSERT_EQUAL(((hw_rollup_t *)hw_map_get(&c.machines, "m1"))->total, 0);
	teardown();
}

static void TEST_summary_json(void)
{
	char *json;
	size_t len;

	CU_ASSERT_FATAL(setup() == 0);
	send_birth("m1", "s1", 1, "acme", NOW);
	send_birth("m1", "s2", 1, "acme", NOW);
	send_exit("m1", "s2", 1, 1, 3, NOW);
	CU_ASSERT_EQUAL(hw_collector_summary_json(&c, NOW, &json, &len, NULL), HW_OK);
	CU_ASSERT_EQUAL(strlen(json), len);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"sessions\":2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"starting\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"crashed\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"state\":\"attention\""));
	free(json);
	teardown();
}

/* The pure ingest cost: topic parse, decode, state machine, deadline, rollup, per heartbeat. */
static void TEST_ingest_throughput(void)
{
	enum { SESSIONS = 1000, ROUNDS = 200 };
	char ids[SESSIONS][16];
	int64_t t0, us;
	double rate;

	CU_ASSERT_FATAL(setup() == 0);
	for(int i = 0; i < SESSIONS; i++){
		snprintf(ids[i], sizeof(ids[i]), "b%d", i);
		send_birth("mb", ids[i], 1, "bench", NOW);
	}
	t0 = hw_mono_us();
	for(int r = 1; r <= ROUNDS; r++){
		for(int i = 0; i < SESSIONS; i++) send_hb("mb", ids[i], 1, r, NOW + r);
		if(r % 20 == 0){
			mono += 1000;
			hw_collector_flush(&c, NOW + r, mono, false);
		}
	}
	us = hw_mono_us() - t0;
	rate = (double)SESSIONS * ROUNDS * 1e6 / (double)us;
	printf("\n    pure ingest: %.0f heartbeats/s (%d sessions, %.2f us each)\n", rate, SESSIONS,
			(double)us / (SESSIONS * ROUNDS));
	CU_ASSERT_EQUAL(c.n.invalid, 0);
	CU_ASSERT_EQUAL(c.summary[HW_STATE_ACTIVE], SESSIONS);
	CU_ASSERT(rate > 10000);
	{
		size_t s, b, e;
		hw_op_free_list(drain(&s, &b, &e));
	}
	teardown();
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_invalid_input_is_counted_and_dropped),
		HWTEST(TEST_a_run_writes_barriers_at_once_and_coalesces_heartbeats),
		HWTEST(TEST_deadlines_fire_and_respect_the_grace),
		HWTEST(TEST_ended_sessions_are_forgotten_after_retention),
		HWTEST(TEST_sessions_are_bound_to_their_machine),
		HWTEST(TEST_summary_json),
		HWTEST(TEST_ingest_throughput),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_ingest", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
