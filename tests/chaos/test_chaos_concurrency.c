/* test_chaos_concurrency.c: concurrency against one collector and one database.
 *
 * 32 writers on one session: 32 MQTT connections publish heartbeats and events for the same
 * session at once, with their own interleaved seqs. An acknowledged update is a QoS 1 event
 * whose PUBACK its writer received: every one must be in the events log exactly once, and the
 * session document must be whole (it decodes, its seq is the highest sent, its progress is one
 * a heartbeat really carried). The systems heartwire replaces lose 29 % of such updates.
 *
 * 1,000 concurrent registrations: 1,000 agents connect (each with its will) and publish their
 * retained online status and birth at the same moment. Every session must be registered with
 * its own metadata in the retained state (the same document the database gets), the first 100
 * field by field in the database with one transition each (FerretDB's write speed bounds how
 * many a test can wait for); then all 1,000 connections drop at once and every session must
 * turn lost/will. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "chaos.h"
#include "rawmqtt.h"

#define WRITERS 32
#define ROUNDS 40
#define REGS 1000
#define DB_CHECKED 100

static ch_env_t env;
static ch_db_t db;
static ch_coll_t coll;

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(ch_db_open(&db, &env) != 0) return -1;
	return ch_coll_start(&env, &coll, "chaos-conc", NULL, NULL);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(coll.log, 40);
	ch_coll_kill(&coll, SIGTERM);
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static hwt_mq_t *raw_connect(hwt_mqpool_t *p, const char *cid, const char *will_topic, const char *will, void *ud)
{
	hwt_mq_conn_opts_t o = {.host = "127.0.0.1",
			.port = env.broker.port,
			.client_id = cid,
			.keepalive_s = 60,
			.clean = true,
			.will_topic = will_topic,
			.will_payload = will,
			.will_len = will ? strlen(will) : 0,
			.will_qos = 1,
			.will_retain = true,
			.ud = ud};

	return hwt_mq_connect(p, &o);
}

/* The seqs of the agent events of sid in the log: counts[seq]++ for seq < n. */
static void db_event_seqs(const char *sid, int *counts, int n)
{
	mongoc_collection_t *c = mongoc_client_get_collection(db.c, db.db, "events");
	bson_t f = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;

	BSON_APPEND_UTF8(&f, "session", sid);
	BSON_APPEND_UTF8(&f, "kind", "agent");
	cur = mongoc_collection_find_with_opts(c, &f, NULL, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		if(bson_iter_init_find(&it, doc, "seq")){
			int64_t s = bson_iter_as_int64(&it);
			if(s >= 0 && s < n) counts[s]++;
		}
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	mongoc_collection_destroy(c);
}

static void TEST_32_concurrent_writers_on_one_session(void)
{
	const char *sid = "conc-one";
	char topic_hb[HW_TOPIC_MAX], topic_ev[HW_TOPIC_MAX];
	hwt_mqpool_t *pool;
	hwt_mq_t *wr[WRITERS];
	hw_mqtt_t *m;
	int order[WRITERS], *counts, lost = 0, doubled = 0, acked_events = 0;
	const int max_seq = ROUNDS * WRITERS;
	unsigned rnd = 12345;
	ch_watch_t w;
	char st[32] = "";
	int64_t epoch = 0;

	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, 16) == 0);
	m = ch_client(env.broker.url, "chbirth", NULL);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(ch_pub_birth(m, "m-conc", sid, 1, 60000) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(ch_is(&w, sid, HW_STATE_STARTING, -1), 10000));
	hw_mqtt_free(m);
	hw_topic_build(topic_hb, sizeof(topic_hb), CH_ROOT, HW_T_HB, "m-conc", sid, NULL);
	hw_topic_build(topic_ev, sizeof(topic_ev), CH_ROOT, HW_T_EV, "m-conc", sid, NULL);

	CU_ASSERT_FATAL(hwt_mqpool_new(&pool, NULL) == 0);
	for(int i = 0; i < WRITERS; i++){
		char cid[64];
		hwt_unique_name(cid, sizeof(cid), "chw");
		wr[i] = raw_connect(pool, cid, NULL, NULL, NULL);
		CU_ASSERT_FATAL(wr[i] != NULL);
		order[i] = i;
	}
	CU_ASSERT_FATAL(hwt_mqpool_wait_connected(pool, 10000));
	/* round k: every writer sends seq 1 + k*32 + writer, in a shuffled order; even rounds are
	 * heartbeats (progress.tools = seq), odd rounds are QoS 1 action events */
	for(int k = 0; k < ROUNDS; k++){
		for(int i = WRITERS - 1; i > 0; i--){
			int j, t;
			rnd = rnd * 1103515245u + 12345u;
			j = (int)((rnd >> 8) % (unsigned)(i + 1));
			t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for(int i = 0; i < WRITERS; i++){
			int wi = order[i];
			int64_t seq = 1 + (int64_t)k * WRITERS + wi;
			char buf[512];
			int n;
			if(k % 2 == 0){
				n = snprintf(buf, sizeof(buf),
						"{\"v\":1,\"session\":\"%s\",\"epoch\":1,\"seq\":%lld,\"ts\":%lld,"
						"\"interval_ms\":60000,\"state\":\"active\",\"progress\":{\"prompts\":1,"
						"\"tools\":%lld,"
						"\"last_activity_ts\":%lld}}",
						sid, (long long)seq, (long long)hw_time_ms(), (long long)seq,
						(long long)hw_time_ms());
				CU_ASSERT(hwt_mq_publish(wr[wi], topic_hb, buf, (size_t)n, 1, false) == 0);
			}else{
				n = snprintf(buf, sizeof(buf),
						"{\"v\":1,\"session\":\"%s\",\"epoch\":1,\"seq\":%lld,\"ts\":%lld,"
						"\"type\":\"action\",\"text\":\"writer %d round %d\"}",
						sid, (long long)seq, (long long)hw_time_ms(), wi, k);
				CU_ASSERT(hwt_mq_publish(wr[wi], topic_ev, buf, (size_t)n, 1, false) == 0);
				acked_events++;
			}
		}
		hwt_mqpool_run(pool, 0);
	}
	/* every update acknowledged by the broker */
	CU_ASSERT_FATAL(hwt_mqpool_wait_acked(pool, 20000));
	/* the document: whole, at the highest seq, with a progress a heartbeat carried */
	CU_ASSERT(HWT_WAIT_UNTIL(
			(ch_pump(&w), ch_find(&w, sid) && ch_find(&w, sid)->updates > 0 && ch_is(&w, sid, HW_STATE_ACTIVE, -1)),
			10000));
	CU_ASSERT(HWT_WAIT_UNTIL(
			ch_db_session(&db, sid, st, sizeof(st), NULL, 0, &epoch, NULL) == 0 && strcmp(st, "active") == 0, 10000));
	CU_ASSERT_EQUAL(epoch, 1);
	{
		mongoc_collection_t *c = mongoc_client_get_collection(db.c, db.db, "sessions");
		bson_t f = BSON_INITIALIZER;
		mongoc_cursor_t *cur;
		const bson_t *doc;
		int64_t seq = -1, tools = -1;
		BSON_APPEND_UTF8(&f, "_id", sid);
		/* the stored seq reaches the highest one once the last snapshot is written */
		for(int64_t end = hwt_now_ms() + 10000; hwt_now_ms() < end && seq != max_seq; hwt_sleep_ms(50)){
			cur = mongoc_collection_find_with_opts(c, &f, NULL, NULL);
			if(mongoc_cursor_next(cur, &doc)){
				bson_iter_t it;
				if(bson_iter_init_find(&it, doc, "seq")) seq = bson_iter_as_int64(&it);
				if(bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, "progress.tools", &it))
					tools = bson_iter_as_int64(&it);
			}
			mongoc_cursor_destroy(cur);
		}
		CU_ASSERT_EQUAL(seq, max_seq);
		/* progress.tools is a heartbeat's seq: an even round */
		CU_ASSERT(tools >= 1 && tools <= max_seq && ((tools - 1) / WRITERS) % 2 == 0);
		bson_destroy(&f);
		mongoc_collection_destroy(c);
	}
	/* every acknowledged event is in the log, exactly once */
	counts = calloc((size_t)max_seq + 1, sizeof(*counts));
	CU_ASSERT_FATAL(counts != NULL);
	for(int64_t end = hwt_now_ms() + 20000;;){
		int have = 0;
		memset(counts, 0, ((size_t)max_seq + 1) * sizeof(*counts));
		db_event_seqs(sid, counts, max_seq + 1);
		for(int s = 1; s <= max_seq; s++) have += counts[s] > 0;
		if(have >= acked_events || hwt_now_ms() >= end) break;
		hwt_sleep_ms(100);
	}
	for(int s = 1; s <= max_seq; s++){
		bool is_event = ((s - 1) / WRITERS) % 2 == 1;
		if(is_event && counts[s] == 0) lost++;
		if(counts[s] > 1 || (!is_event && counts[s])) doubled++;
	}
	printf("\n    32 writers: %d acknowledged events, %d lost, %d doubled or wrong\n", acked_events, lost, doubled);
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(doubled, 0);
	free(counts);
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	hwt_mqpool_free(pool);
	ch_watch_close(&w);
}

/* The first DB_CHECKED registrations each have one transition, none -> starting. */
static bool chains_ok(bool verbose)
{
	for(int i = 0; i < DB_CHECKED; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "reg-%04d", i);
		if(ch_db_chain(&db, sid, "starting/none", verbose) != 0) return false;
	}
	return true;
}

/* Sessions reg-NNNN retained as starting with their own pid. */
static int count_registered(ch_watch_t *w)
{
	int k = 0;

	ch_pump(w);
	for(int i = 0; i < REGS; i++){
		char sid[32];
		ch_sess_t *s;
		snprintf(sid, sizeof(sid), "reg-%04d", i);
		s = ch_find(w, sid);
		k += s && s->present && s->state == HW_STATE_STARTING && s->pid == 1000 + i;
	}
	return k;
}

/* Sessions reg-NNNN retained as lost/will; *t_last: when the last of them was seen. */
static int count_lost(ch_watch_t *w, int64_t *t_last)
{
	int k = 0;

	ch_pump(w);
	for(int i = 0; i < REGS; i++){
		char sid[32];
		ch_sess_t *s;
		snprintf(sid, sizeof(sid), "reg-%04d", i);
		s = ch_find(w, sid);
		if(s && s->state == HW_STATE_LOST && s->cause == HW_CAUSE_WILL){
			k++;
			if(s->at_ms > *t_last) *t_last = s->at_ms;
		}
	}
	return k;
}

static void TEST_1000_concurrent_registrations(void)
{
	hwt_mqpool_t *pool;
	hwt_mq_t **c = calloc(REGS, sizeof(*c));
	ch_watch_t w;
	int64_t t0, t_last = 0;
	int registered = 0, lost_n = 0;

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, REGS + 16) == 0);
	CU_ASSERT_FATAL(hwt_mqpool_new(&pool, NULL) == 0);
	for(int i = 0; i < REGS; i++){
		char sid[32], cid[64], wt[HW_TOPIC_MAX], will[128];
		snprintf(sid, sizeof(sid), "reg-%04d", i);
		snprintf(cid, sizeof(cid), "hw-m-reg-%s", sid);
		hw_topic_build(wt, sizeof(wt), CH_ROOT, HW_T_STATUS, "m-reg", sid, NULL);
		snprintf(will, sizeof(will), "{\"v\":1,\"session\":\"%s\",\"status\":\"lost\",\"epoch\":1}", sid);
		c[i] = raw_connect(pool, cid, wt, will, NULL);
		CU_ASSERT_FATAL(c[i] != NULL);
	}
	CU_ASSERT_FATAL(hwt_mqpool_wait_connected(pool, 30000));
	/* every registration at the same moment */
	t0 = hwt_now_ms();
	for(int i = 0; i < REGS; i++){
		char sid[32], ts[HW_TOPIC_MAX], tb[HW_TOPIC_MAX], buf[512];
		int n;
		snprintf(sid, sizeof(sid), "reg-%04d", i);
		hw_topic_build(ts, sizeof(ts), CH_ROOT, HW_T_STATUS, "m-reg", sid, NULL);
		hw_topic_build(tb, sizeof(tb), CH_ROOT, HW_T_BIRTH, "m-reg", sid, NULL);
		n = snprintf(buf, sizeof(buf), "{\"v\":1,\"session\":\"%s\",\"status\":\"online\",\"epoch\":1,\"ts\":%lld}", sid,
				(long long)hw_time_ms());
		CU_ASSERT(hwt_mq_publish(c[i], ts, buf, (size_t)n, 1, true) == 0);
		n = snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"%s\",\"machine\":\"m-reg\",\"slot\":\"%d\","
				"\"project\":\"reg-p%d\",\"task\":\"registration "
				"%d\",\"epoch\":1,\"seq\":0,\"ts\":%lld,\"pid\":%d,"
				"\"cwd\":\"/srv/reg/%d\",\"argv\":[\"claude\",\"-p\",\"%d\"],\"interval_ms\":60000,"
				"\"agent\":\"chaos\"}",
				sid, i, i % 10, i, (long long)hw_time_ms(), 1000 + i, i, i);
		CU_ASSERT(hwt_mq_publish(c[i], tb, buf, (size_t)n, 1, false) == 0);
	}
	CU_ASSERT_FATAL(hwt_mqpool_wait_acked(pool, 30000));
	/* all registered, in the retained state... */
	CU_ASSERT(HWT_WAIT_UNTIL((registered = count_registered(&w)) == REGS, 30000));
	printf("\n    1000 registrations: %d in the retained state after %lld ms\n", registered, (long long)(hwt_now_ms() - t0));
	/* ... and in the database, each with its own metadata, registered once. FerretDB 1.24 replaces
	 * ~10 documents/s at this size (every replace scans the collection): the first 100
	 * registrations are checked field by field, the rest through their retained state above. */
	{
		mongoc_collection_t *sc = mongoc_client_get_collection(db.c, db.db, "sessions");
		bson_t f = BSON_INITIALIZER, in, list;
		int good = 0;
		BSON_APPEND_DOCUMENT_BEGIN(&f, "_id", &in);
		BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
		for(int i = 0; i < DB_CHECKED; i++){
			char sid[32], key[16];
			snprintf(sid, sizeof(sid), "reg-%04d", i);
			snprintf(key, sizeof(key), "%d", i);
			BSON_APPEND_UTF8(&list, key, sid);
		}
		bson_append_array_end(&in, &list);
		bson_append_document_end(&f, &in);
		for(int64_t end = hwt_now_ms() + 150000;;){
			mongoc_cursor_t *cur = mongoc_collection_find_with_opts(sc, &f, NULL, NULL);
			const bson_t *doc;
			good = 0;
			while(mongoc_cursor_next(cur, &doc)){
				bson_iter_t it;
				const char *id = NULL, *state = NULL, *slot = NULL, *project = NULL, *cwd = NULL;
				int64_t pid = -1;
				int i;
				if(bson_iter_init_find(&it, doc, "_id")) id = bson_iter_utf8(&it, NULL);
				if(bson_iter_init_find(&it, doc, "state")) state = bson_iter_utf8(&it, NULL);
				if(bson_iter_init_find(&it, doc, "slot")) slot = bson_iter_utf8(&it, NULL);
				if(bson_iter_init_find(&it, doc, "project")) project = bson_iter_utf8(&it, NULL);
				if(bson_iter_init_find(&it, doc, "cwd")) cwd = bson_iter_utf8(&it, NULL);
				if(bson_iter_init_find(&it, doc, "pid")) pid = bson_iter_as_int64(&it);
				if(!id || !state || !slot || !project || !cwd || sscanf(id, "reg-%d", &i) != 1) continue;
				{
					char want_p[32], want_c[64];
					snprintf(want_p, sizeof(want_p), "reg-p%d", i % 10);
					snprintf(want_c, sizeof(want_c), "/srv/reg/%d", i);
					good += !strcmp(state, "starting") && strtol(slot, NULL, 10) == i &&
							!strcmp(project, want_p) && !strcmp(cwd, want_c) && pid == 1000 + i;
				}
			}
			mongoc_cursor_destroy(cur);
			if(good == DB_CHECKED || hwt_now_ms() >= end) break;
			hwt_sleep_ms(2000);
		}
		CU_ASSERT_EQUAL(good, DB_CHECKED);
		if(good != DB_CHECKED) fprintf(stderr, "registrations in the database: %d of %d right\n", good, DB_CHECKED);
		bson_destroy(&f);
		mongoc_collection_destroy(sc);
	}
	/* their transitions: written after the documents of the same batch, so they lag them */
	CU_ASSERT(HWT_WAIT_UNTIL(chains_ok(false), 150000) || chains_ok(true));

	/* all 1,000 connections drop at once: every session is lost, by its will */
	t0 = hwt_now_ms();
	for(int i = 0; i < REGS; i++) hwt_mq_abort(c[i]);
	CU_ASSERT(HWT_WAIT_UNTIL((lost_n = count_lost(&w, &t_last)) == REGS, 20000));
	printf("    1000 connections dropped: %d lost/will, the last %lld ms after the drop\n", lost_n, (long long)(t_last - t0));
	ch_pump(&w);
	CU_ASSERT_EQUAL(w.backwards, 0);
	hwt_mqpool_free(pool);
	ch_watch_close(&w);
	free(c);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_32_concurrent_writers_on_one_session),
		HWTEST(TEST_1000_concurrent_registrations),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_concurrency", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
