/* test_collector_storeq.c: the store queue: heartbeat snapshots coalesce per session (latest
 * wins, in place, also into a queued barrier), barriers are never merged into each other and
 * keep their order, a full buffer refuses and counts, a consumer thread sees every barrier in
 * order; and the string map. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hwtest.h"
#include "map.h"
#include "storeq.h"

static hw_op_t *snap(const char *id, int64_t version, bool barrier)
{
	hw_op_t *op = hw_op_new(HW_OP_SESSION);
	char buf[64];

	snprintf(op->id, sizeof(op->id), "%s", id);
	op->version = version;
	op->barrier = barrier;
	snprintf(buf, sizeof(buf), "{\"v\":%lld}", (long long)version);
	op->json = strdup(buf);
	op->len = strlen(buf);
	return op;
}

static hw_op_t *event(const char *id)
{
	hw_op_t *op = hw_op_new(HW_OP_EVENT);

	op->ev = hw_event_rec_new(id, "s", "m", NULL, NULL);
	return op;
}

static void TEST_heartbeats_coalesce_latest_wins(void)
{
	hw_storeq_t q;
	hw_storeq_stats_t s;
	hw_op_t *list, *op;
	size_t n;

	CU_ASSERT_EQUAL_FATAL(hw_storeq_init(&q, 100, NULL), HW_OK);
	for(int v = 1; v <= 50; v++){
		CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("a", v, false), NULL), HW_OK);
		CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("b", 100 + v, false), NULL), HW_OK);
	}
	CU_ASSERT_EQUAL(hw_storeq_len(&q), 2);
	hw_storeq_get_stats(&q, &s);
	CU_ASSERT_EQUAL(s.pushed, 100);
	CU_ASSERT_EQUAL(s.coalesced, 98);
	list = hw_storeq_take(&q, 10, 0, &n);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(list->id, "a");
	CU_ASSERT_EQUAL(list->version, 50);
	CU_ASSERT_STRING_EQUAL(list->json, "{\"v\":50}");
	CU_ASSERT_EQUAL(list->next->version, 150);
	hw_op_free_list(list);
	/* once taken, a new snapshot queues anew */
	CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("a", 51, false), NULL), HW_OK);
	op = hw_storeq_take(&q, 10, 0, &n);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(op->version, 51);
	hw_op_free_list(op);
	hw_storeq_cleanup(&q);
}

static void TEST_barriers_are_kept_in_order(void)
{
	hw_storeq_t q;
	hw_storeq_stats_t st;
	hw_op_t *list, *op;
	size_t n;
	int64_t want[] = {2, 4, 7, 9};
	int i = 0;

	hw_storeq_init(&q, 100, NULL);
	/* hb 1 is overwritten in place by barrier 2; barrier 3 queues behind it and hb 4 merges
	 * into it (still a barrier); barrier 5 queues behind e1, hbs 6 and 7 merge into it; then
	 * the consumer takes everything and barrier 8 + hb 9 start afresh:
	 * [2B, 4B, e1, 7B] and [9B] */
	hw_storeq_push(&q, snap("a", 1, false), NULL);
	hw_storeq_push(&q, snap("a", 2, true), NULL);
	hw_storeq_push(&q, snap("a", 3, true), NULL);
	hw_storeq_push(&q, snap("a", 4, false), NULL);
	hw_storeq_push(&q, event("e1"), NULL);
	hw_storeq_push(&q, snap("a", 5, true), NULL);
	hw_storeq_push(&q, snap("a", 6, false), NULL);
	hw_storeq_push(&q, snap("a", 7, false), NULL);
	list = hw_storeq_take(&q, 100, 0, &n);
	CU_ASSERT_EQUAL(n, 4);
	/* taken snapshots are out of reach: nothing merges into them any more */
	hw_storeq_push(&q, snap("a", 8, true), NULL);
	hw_storeq_push(&q, snap("a", 9, false), NULL);
	for(op = list; op; op = op->next){
		if(op->kind == HW_OP_EVENT){
			CU_ASSERT_STRING_EQUAL(op->ev->id, "e1");
			CU_ASSERT_EQUAL(i, 2);
			continue;
		}
		CU_ASSERT_FATAL(i < 3);
		CU_ASSERT_EQUAL(op->version, want[i]);
		CU_ASSERT_TRUE(op->barrier);
		i++;
	}
	CU_ASSERT_EQUAL(i, 3);
	hw_op_free_list(list);
	list = hw_storeq_take(&q, 100, 0, &n);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(list->version, want[3]);
	CU_ASSERT_TRUE(list->barrier);
	hw_op_free_list(list);
	hw_storeq_get_stats(&q, &st);
	CU_ASSERT_EQUAL(st.pushed, 10);
	CU_ASSERT_EQUAL(st.coalesced, 5);
	hw_storeq_cleanup(&q);
}

static void TEST_full_buffer_refuses_and_counts(void)
{
	hw_storeq_t q;
	hw_storeq_stats_t s;
	hw_error_t err;
	size_t n;
	hw_op_t *list;

	hw_storeq_init(&q, 3, NULL);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, event("1"), &err), HW_OK);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("a", 1, false), &err), HW_OK);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, event("2"), &err), HW_OK);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, event("3"), &err), HW_ERR_AGAIN);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("b", 1, true), &err), HW_ERR_AGAIN);
	/* a snapshot that coalesces needs no room */
	CU_ASSERT_EQUAL(hw_storeq_push(&q, snap("a", 2, false), &err), HW_OK);
	hw_storeq_get_stats(&q, &s);
	CU_ASSERT_EQUAL(s.dropped, 2);
	CU_ASSERT_EQUAL(s.len, 3);
	CU_ASSERT_EQUAL(s.high_water, 3);
	list = hw_storeq_take(&q, 1, 0, &n);
	CU_ASSERT_EQUAL(n, 1);
	hw_op_free_list(list);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, event("4"), &err), HW_OK);
	hw_storeq_close(&q);
	CU_ASSERT_EQUAL(hw_storeq_push(&q, event("5"), &err), HW_ERR_STATE);
	list = hw_storeq_take(&q, 10, -1, &n);
	CU_ASSERT_EQUAL(n, 3);
	hw_op_free_list(list);
	CU_ASSERT_PTR_NULL(hw_storeq_take(&q, 10, -1, &n));
	hw_storeq_cleanup(&q);
}

/* A consumer thread takes while a producer pushes 20000 snapshots of 10 sessions, every 100th a
 * barrier: the consumer sees, per session, increasing versions and every barrier. */
struct consumer {
	hw_storeq_t *q;
	int64_t last[10];
	int barriers;
	int disorder;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	hw_op_t *list;
	size_t n;

	while((list = hw_storeq_take(c->q, 64, -1, &n))){
		for(hw_op_t *op = list; op; op = op->next){
			int k = op->id[0] - 'a';
			if(op->version <= c->last[k]) c->disorder++;
			c->last[k] = op->version;
			if(op->barrier) c->barriers++;
		}
		hw_op_free_list(list);
	}
	return NULL;
}

static void TEST_threads_keep_order_and_barriers(void)
{
	hw_storeq_t q;
	pthread_t th;
	struct consumer c;
	int pushed_barriers = 0;

	memset(&c, 0, sizeof(c));
	hw_storeq_init(&q, 1000000, NULL);
	c.q = &q;
	pthread_create(&th, NULL, consume, &c);
	for(int v = 1; v <= 20000; v++){
		char id[2] = {(char)('a' + v % 10), 0};
		bool barrier = v % 100 == 0;
		pushed_barriers += barrier;
		CU_ASSERT_EQUAL(hw_storeq_push(&q, snap(id, v, barrier), NULL), HW_OK);
	}
	hw_storeq_close(&q);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(c.disorder, 0);
	CU_ASSERT_EQUAL(c.barriers, pushed_barriers);
	for(int k = 0; k < 10; k++) CU_ASSERT_EQUAL(c.last[k], 19990 + (k == 0 ? 10 : k));
	hw_storeq_cleanup(&q);
}

static void TEST_map_basics(void)
{
	hw_map_t m;
	hw_map_iter_t it = {0};
	int vals[5000], seen = 0;
	char key[32];

	CU_ASSERT_EQUAL_FATAL(hw_map_init(&m, NULL), HW_OK);
	for(int i = 0; i < 5000; i++){
		vals[i] = i;
		snprintf(key, sizeof(key), "k%d", i);
		CU_ASSERT_EQUAL(hw_map_put(&m, key, &vals[i], NULL), HW_OK);
	}
	CU_ASSERT_EQUAL(hw_map_len(&m), 5000);
	CU_ASSERT_PTR_EQUAL(hw_map_get(&m, "k4321"), &vals[4321]);
	CU_ASSERT_PTR_NULL(hw_map_get(&m, "nope"));
	CU_ASSERT_EQUAL(hw_map_put(&m, "k1", &vals[2], NULL), HW_OK);
	CU_ASSERT_EQUAL(hw_map_len(&m), 5000);
	CU_ASSERT_PTR_EQUAL(hw_map_get(&m, "k1"), &vals[2]);
	/* delete every even one while iterating */
	while(hw_map_next(&m, &it)){
		int v = *(int *)it.value;
		seen++;
		if(v % 2 == 0) CU_ASSERT_PTR_NOT_NULL(hw_map_del(&m, it.key));
	}
	CU_ASSERT_EQUAL(seen, 5000);
	CU_ASSERT_EQUAL(hw_map_len(&m), 2499); /* the 2500 even keys and k1, which holds 2 now */
	CU_ASSERT_PTR_NULL(hw_map_get(&m, "k1"));
	CU_ASSERT_PTR_NOT_NULL(hw_map_get(&m, "k3"));
	hw_map_cleanup(&m);
}

/* An event record is one allocation sized to fit: the strings are copies, a transition has no
 * agent event, an agent event is copied, and an over-long id is cut, never overrun. */
static void TEST_event_records_are_sized_to_fit(void)
{
	hw_ev_t ev = HW_EV_INIT;
	char long_id[HW_EVENT_ID_MAX * 2];
	hw_event_rec_t *t, *a, *l;
	char id[16] = "s1:2:3";

	t = hw_event_rec_new(id, "s1", "m1", NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	id[0] = 'X'; /* a copy, not the caller's buffer */
	CU_ASSERT_STRING_EQUAL(t->id, "s1:2:3");
	CU_ASSERT_STRING_EQUAL(t->session, "s1");
	CU_ASSERT_STRING_EQUAL(t->machine, "m1");
	CU_ASSERT_STRING_EQUAL(t->project, "");
	CU_ASSERT_PTR_NULL(t->ev);
	CU_ASSERT_EQUAL(t->kind, 0);
	CU_ASSERT_EQUAL(t->at, 0);

	snprintf(ev.session, sizeof(ev.session), "s1");
	snprintf(ev.text, sizeof(ev.text), "hello");
	ev.seq = 42;
	a = hw_event_rec_new("s1:1:42", "s1", "m1", "p1", &ev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a->ev);
	CU_ASSERT_PTR_NOT_EQUAL(a->ev, &ev);
	CU_ASSERT_STRING_EQUAL(a->ev->text, "hello");
	CU_ASSERT_EQUAL(a->ev->seq, 42);
	CU_ASSERT_STRING_EQUAL(a->project, "p1");

	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	l = hw_event_rec_new(long_id, "s1", "m1", "p1", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_EQUAL(strlen(l->id), HW_EVENT_ID_MAX - 1);
	CU_ASSERT_STRING_EQUAL(l->session, "s1");
	free(t);
	free(a);
	free(l);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_heartbeats_coalesce_latest_wins),
		HWTEST(TEST_barriers_are_kept_in_order),
		HWTEST(TEST_full_buffer_refuses_and_counts),
		HWTEST(TEST_threads_keep_order_and_barriers),
		HWTEST(TEST_map_basics),
		HWTEST(TEST_event_records_are_sized_to_fit),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_storeq", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
