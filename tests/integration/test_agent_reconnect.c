/* test_agent_reconnect.c: the real heartwire-agent against a mosquitto that goes away: a
 * broker down at start does not hold the child back and the session appears when the broker
 * comes up; after a broker restart the agent reconnects with a higher epoch and the events
 * produced meanwhile arrive once, in order, after the new birth; an overflowing buffer drops
 * the oldest and says how many. */
#include "test_agent_common.h"

static char dir[160];
static const char *ROOT = "heartwire/v1";

static int setup(void)
{
	return hwt_tmpdir(dir, sizeof(dir), "hw_agent_rc_");
}

/* Waits for the child to write its hook socket path to file; 0 when it did. */
static int read_sock(const char *file, char *sock, size_t len)
{
	return HWT_WAIT_UNTIL(read_line(file, sock, len) == 0, 5000) ? 0 : -1;
}

static void TEST_broker_down_at_start(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	sub_t *s = calloc(1, sizeof(*s));
	char session[64], marker[300];
	agent_proc_t a;
	hw_birth_t birth;
	hw_ev_t ev;
	int i;

	hwt_unique_name(session, sizeof(session), "down");
	snprintf(marker, sizeof(marker), "%s/%s.started", dir, session);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_stop(&b), 0); /* keeps the port: nobody listens there now */
	{
		char script[1024];
		const char *opts[] = {"--session", session, "--interval-ms", "200", NULL};
		const char *cmd[] = {"sh", "-c", script, NULL};
		snprintf(script, sizeof(script), "touch '%s'; while [ ! -e '%s.end' ]; do sleep 0.02; done; exit 4", marker,
				marker);
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, b.url, opts, cmd), 0);
	}
	/* the child runs although the broker is down */
	CU_ASSERT(HWT_WAIT_UNTIL(access(marker, F_OK) == 0, 3000));
	CU_ASSERT(HWT_WAIT_UNTIL(file_contains(a.log, "unreachable"), 3000));
	/* the broker comes up: the session appears */
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sub_open(s, b.url, ROOT), 0);
	CU_ASSERT(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 0)) >= 0, 10000));
	if(i < 0) i = sub_find(s, HW_T_BIRTH, session, 0);
	CU_ASSERT_FATAL(i >= 0);
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &birth, NULL), HW_OK);
	CU_ASSERT(birth.pid > 0);
	CU_ASSERT(birth.epoch >= 1);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_count(s, HW_T_HB, session) >= 1, 3000));
	{
		char end[420];
		FILE *f;
		snprintf(end, sizeof(end), "%s.end", marker);
		f = fopen(end, "w");
		if(f) fclose(f);
	}
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 4);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_EXIT, 0, &ev) >= 0, 3000));
	CU_ASSERT_EQUAL(ev.exit.code, 4);
	CU_ASSERT_EQUAL(ev.epoch, birth.epoch);
	hw_birth_cleanup(&birth);
	sub_close(s);
	free(s);
	hwt_broker_cleanup(&b);
}

/* Sends n UserPromptSubmit hooks; each becomes a progress event with prompts = 1.. */
static int prompts(const char *sock, int n)
{
	for(int k = 0; k < n; k++){
		if(send_hook(sock, "UserPromptSubmit", NULL, -1) != 0) return -1;
	}
	return 0;
}

/* The index of the first birth of session with an epoch above epoch (decoded into out); -1. */
static int find_newer_birth(sub_t *s, const char *session, int64_t epoch, hw_birth_t *out)
{
	int i;

	for(int k = 0; (i = sub_find(s, HW_T_BIRTH, session, k)) >= 0; k++){
		if(hw_birth_decode(s->recs[i].payload, s->recs[i].len, out, NULL) != HW_OK) continue;
		if(out->epoch > epoch) return i;
		hw_birth_cleanup(out);
	}
	return -1;
}

static void TEST_broker_restart_reconnects_and_delivers_buffered_events_once(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	sub_t *s = calloc(1, sizeof(*s));
	char session[64], sockfile[300], sock[256], filter[HW_TOPIC_MAX];
	agent_proc_t a;
	hw_birth_t b1, b2;
	int i, i2, n_after;

	hwt_unique_name(session, sizeof(session), "rst");
	snprintf(sockfile, sizeof(sockfile), "%s/%s.sock", dir, session);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	/* A durable subscriber: its queue survives the restart, so nothing published while it
	 * reconnects is missed. */
	snprintf(filter, sizeof(filter), "%s/m/+/s/%s/#", ROOT, session);
	CU_ASSERT_EQUAL_FATAL(sub_open_ex(s, b.url, ROOT, filter, true), 0);
	{
		char script[1024];
		const char *opts[] = {"--session", session, "--interval-ms", "200", NULL};
		const char *cmd[] = {"sh", "-c", script, NULL};
		snprintf(script, sizeof(script), "echo \"$HEARTWIRE_HOOK_SOCKET\" > '%s'; exec sleep 60", sockfile);
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, b.url, opts, cmd), 0);
	}
	CU_ASSERT_EQUAL_FATAL(read_sock(sockfile, sock, sizeof(sock)), 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i = sub_find(s, HW_T_BIRTH, session, 0)) >= 0, 5000));
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i].payload, s->recs[i].len, &b1, NULL), HW_OK);

	CU_ASSERT_EQUAL_FATAL(hwt_broker_stop(&b), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(file_contains(a.log, "reconnecting"), 3000));
	CU_ASSERT_EQUAL(prompts(sock, 3), 0); /* produced while the broker is down */
	CU_ASSERT(HWT_WAIT_UNTIL(file_count(a.log, "hook UserPromptSubmit") >= 3, 3000));
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sub_reconnect(s, 5000), 0);

	/* The first birth of a newer epoch. QoS 1 is at least once: a durable subscriber may get
	 * the old birth again after the broker restart (mosquitto redelivers what it had in flight
	 * when it went down), and that copy is not the reconnect's birth. */
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i2 = find_newer_birth(s, session, b1.epoch, &b2)) >= 0, 10000));
	CU_ASSERT(b2.epoch > b1.epoch);
	CU_ASSERT_EQUAL(b2.pid, b1.pid); /* the child ran on */
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_PROGRESS, i2, NULL) >= 0, 3000));
	/* give stragglers (duplicates) a chance to show before counting: wait for a heartbeat of
	 * the new epoch, which the agent publishes after the buffered events */
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find(s, HW_T_HB, session, -1) > i2, 3000));
	{
		int64_t want = 1, last_seq = b2.seq;
		n_after = 0;
		for(int k = 0; k < s->n; k++){
			hw_ev_t ev;
			if(s->recs[k].kind != HW_T_EV) continue;
			if(hw_ev_decode(s->recs[k].payload, s->recs[k].len, &ev, NULL) != HW_OK || ev.type != HW_EV_PROGRESS)
				continue;
			CU_ASSERT(k > i2); /* after the new birth */
			CU_ASSERT_EQUAL(ev.epoch, b2.epoch);
			CU_ASSERT(ev.seq > last_seq);
			last_seq = ev.seq;
			CU_ASSERT_EQUAL(ev.progress.prompts, want); /* in order, once each */
			want++;
			n_after++;
		}
		CU_ASSERT_EQUAL(n_after, 3);
	}
	/* and live events flow on */
	CU_ASSERT_EQUAL(send_hook(sock, "Stop", NULL, -1), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_IDLE, i2, NULL) >= 0, 3000));
	kill(a.pid, SIGTERM);
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 128 + SIGTERM);
	hw_birth_cleanup(&b1);
	hw_birth_cleanup(&b2);
	sub_close(s);
	free(s);
	hwt_broker_cleanup(&b);
}

static void TEST_overflowing_buffer_drops_oldest_and_counts(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	sub_t *s = calloc(1, sizeof(*s));
	char session[64], sockfile[300], sock[256], filter[HW_TOPIC_MAX];
	agent_proc_t a;
	hw_ev_t ev;
	hw_birth_t b1, b2;
	int i1, i2, k;

	hwt_unique_name(session, sizeof(session), "drop");
	snprintf(sockfile, sizeof(sockfile), "%s/%s.sock", dir, session);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	snprintf(filter, sizeof(filter), "%s/m/+/s/%s/#", ROOT, session);
	CU_ASSERT_EQUAL_FATAL(sub_open_ex(s, b.url, ROOT, filter, true), 0);
	{
		char script[1024];
		const char *opts[] = {"--session", session, "--event-buffer", "2", NULL};
		const char *cmd[] = {"sh", "-c", script, NULL};
		snprintf(script, sizeof(script), "echo \"$HEARTWIRE_HOOK_SOCKET\" > '%s'; exec sleep 60", sockfile);
		CU_ASSERT_EQUAL_FATAL(agent_start(&a, dir, b.url, opts, cmd), 0);
	}
	CU_ASSERT_EQUAL_FATAL(read_sock(sockfile, sock, sizeof(sock)), 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i1 = sub_find(s, HW_T_BIRTH, session, 0)) >= 0, 5000));
	CU_ASSERT_EQUAL_FATAL(hw_birth_decode(s->recs[i1].payload, s->recs[i1].len, &b1, NULL), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_stop(&b), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(file_contains(a.log, "reconnecting"), 3000));
	CU_ASSERT_EQUAL(prompts(sock, 5), 0);
	CU_ASSERT(HWT_WAIT_UNTIL(file_count(a.log, "hook UserPromptSubmit") >= 5, 3000));
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(sub_reconnect(s, 5000), 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL((i2 = find_newer_birth(s, session, b1.epoch, &b2)) >= 0, 10000));
	CU_ASSERT(HWT_WAIT_UNTIL(sub_find_ev(s, session, HW_EV_PROGRESS, i2, NULL) >= 0, 3000));
	CU_ASSERT(HWT_WAIT_UNTIL((k = sub_find_ev(s, session, HW_EV_ACTION, i2, &ev)) >= 0, 3000));
	CU_ASSERT_PTR_NOT_NULL(strstr(ev.text, "3 events dropped"));
	k = sub_find_ev(s, session, HW_EV_PROGRESS, i2, &ev);
	CU_ASSERT_EQUAL(ev.progress.prompts, 4); /* the oldest three were dropped */
	CU_ASSERT(sub_find_ev(s, session, HW_EV_PROGRESS, k + 1, &ev) > k);
	CU_ASSERT_EQUAL(ev.progress.prompts, 5);
	kill(a.pid, SIGTERM);
	CU_ASSERT_EQUAL(agent_wait(&a, 5000), 128 + SIGTERM);
	hw_birth_cleanup(&b1);
	hw_birth_cleanup(&b2);
	sub_close(s);
	free(s);
	hwt_broker_cleanup(&b);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_broker_down_at_start),
		HWTEST(TEST_broker_restart_reconnects_and_delivers_buffered_events_once),
		HWTEST(TEST_overflowing_buffer_drops_oldest_and_counts),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("agent_reconnect", setup, NULL, tests) != 0) return 1;
	return hwtest_run();
}
