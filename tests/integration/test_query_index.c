/* test_query_index.c: q/sessions answered from the collector's session index (collector/sindex.c)
 * with the real heartwire-collector, mosquitto and a MongoDB-compatible store: after births,
 * heartbeats, exits, cmd/fail and new sessions, and after a collector restart, every listing
 * agrees with what the test published and with q/session of each session; paging with a small
 * limit returns every session exactly once; a transition q/session shows is in q/sessions at once;
 * the answers come from the index (a document planted in `sessions` behind the collector's back is
 * not listed), a restarted collector never reads the pages of the one before, and a page that
 * another collector wrote makes the query read `sessions` instead. */
#include "heartwire/agentmsg.h"
#include "test_collector_common.h"
/* the CLI's reader of reply data (pure C, no library), compiled in */
#include "../../cli/jsonscan.c"

#define LONG_IV 3600000 /* no deadline fires during a test */
#define N_FIRST 120     /* sessions seeded first */
#define N_MORE 30       /* sessions born later */
#define N_ALL (N_FIRST + N_MORE + 2)
#define PROBE "zz-probe"

static tc_env_t env;
static tc_pub_t pub;

/* What the test published, per session: the state the collector must show and the last
 * heartbeat seq (0: none). */
typedef struct model {
	char sid[32], mid[16], project[16];
	const char *state;
	int64_t seq;
	bool live;
} model_t;

static model_t model[N_ALL];
static int n_model;

/* ------------------------------------------------------------------ listings */

typedef struct row {
	char sid[32], state[32];
	int64_t seq, version;
} row_t;

/* Pages q/sessions with filter members (JSON without braces, may be "") and limit into rows
 * (up to max); returns the count, -1 on failure. */
static int list(tc_rq_t *q, const char *filter, int limit, row_t *rows, int max)
{
	char cursor[HW_CURSOR_MAX + 1] = "", payload[1024];
	int n = 0;

	for(;;){
		hw_reply_t r;
		hw_js_t data, arr, s;
		size_t pos = 0;
		snprintf(payload, sizeof(payload), "{%s%s\"limit\":%d%s%s%s}", filter, filter[0] ? "," : "", limit,
				cursor[0] ? ",\"cursor\":\"" : "", cursor, cursor[0] ? "\"" : "");
		if(!tc_rq_ok(q, "q/sessions", payload, &r)){
			hw_reply_cleanup(&r);
			return -1;
		}
		data = hw_js_of(r.data);
		if(hw_js_member(data, "sessions", &arr)){
			while(hw_js_next(arr, &pos, &s)){
				if(n < max){
					hw_js_str_member(s, "session", rows[n].sid, sizeof(rows[n].sid));
					hw_js_str_member(s, "state", rows[n].state, sizeof(rows[n].state));
					rows[n].seq = hw_js_int_member(s, "seq", 0);
					rows[n].version = hw_js_int_member(s, "version", 0);
				}
				n++;
			}
		}
		cursor[0] = '\0';
		hw_js_str_member(data, "next_cursor", cursor, sizeof(cursor));
		hw_reply_cleanup(&r);
		if(!cursor[0]) return n;
	}
}

/* q/session of sid into *row; false when it does not answer ok. */
static bool one(tc_rq_t *q, const char *sid, row_t *row)
{
	char payload[128];
	hw_reply_t r;
	hw_js_t doc;
	bool ok;

	memset(row, 0, sizeof(*row));
	snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"limit\":1}", sid);
	ok = tc_rq_ok(q, "q/session", payload, &r) && hw_js_member(hw_js_of(r.data), "session", &doc);
	if(ok){
		hw_js_str_member(doc, "session", row->sid, sizeof(row->sid));
		hw_js_str_member(doc, "state", row->state, sizeof(row->state));
		row->seq = hw_js_int_member(doc, "seq", 0);
		row->version = hw_js_int_member(doc, "version", 0);
	}
	hw_reply_cleanup(&r);
	return ok;
}

static const model_t *model_find(const char *sid)
{
	for(int i = 0; i < n_model; i++){
		if(strcmp(model[i].sid, sid) == 0) return &model[i];
	}
	return NULL;
}

/* The full check: paging through everything with limit 7 returns every live session of the
 * model exactly once, in id order, with the published state and heartbeat seq, and the same
 * state and version as q/session. Prints the first difference when verbose. */
static bool all_agree(tc_rq_t *q, bool verbose)
{
	static row_t rows[N_ALL + 16];
	int n = list(q, "", 7, rows, N_ALL + 16), live = 0;

	for(int i = 0; i < n_model; i++) live += model[i].live;
	if(n != live){
		if(verbose) fprintf(stderr, "q/sessions listed %d sessions, %d expected\n", n, live);
		return false;
	}
	for(int i = 0; i < n; i++){
		const model_t *m = model_find(rows[i].sid);
		row_t o;
		if(i > 0 && strcmp(rows[i - 1].sid, rows[i].sid) >= 0){
			if(verbose) fprintf(stderr, "%s after %s: not in id order, or twice\n", rows[i].sid, rows[i - 1].sid);
			return false;
		}
		if(!m || !m->live || strcmp(m->state, rows[i].state) != 0 || m->seq != rows[i].seq){
			if(verbose)
				fprintf(stderr, "%s: listed %s seq %lld, published %s seq %lld\n", rows[i].sid, rows[i].state,
						(long long)rows[i].seq, m ? m->state : "(nothing)", m ? (long long)m->seq : 0LL);
			return false;
		}
		if(!one(q, rows[i].sid, &o) || strcmp(o.state, rows[i].state) != 0 || o.version != rows[i].version){
			if(verbose)
				fprintf(stderr, "%s: listed %s v%lld, q/session %s v%lld\n", rows[i].sid, rows[i].state,
						(long long)rows[i].version, o.state, (long long)o.version);
			return false;
		}
	}
	return true;
}

/* The number of sessions q/sessions lists for filter (-1 on failure). */
static int count(tc_rq_t *q, const char *filter)
{
	static row_t rows[N_ALL + 16];

	return list(q, filter, 50, rows, N_ALL + 16);
}

/* True when q/sessions with filter lists sid. */
static bool listed(tc_rq_t *q, const char *filter, const char *sid)
{
	static row_t rows[N_ALL + 16];
	int n = list(q, filter, 50, rows, N_ALL + 16);

	for(int i = 0; i < n && i < N_ALL + 16; i++){
		if(strcmp(rows[i].sid, sid) == 0) return true;
	}
	return false;
}

/* Waits until the full check passes (heartbeat-only changes reach the index up to 250 ms
 * later); on a timeout prints why once more and fails. */
static bool wait_agree(tc_rq_t *q, int timeout_ms)
{
	if(HWT_WAIT_UNTIL(all_agree(q, false), timeout_ms)) return true;
	all_agree(q, true);
	return false;
}

/* ------------------------------------------------------------------ publishing */

static model_t *born(const char *sid, const char *mid, const char *project, bool hb)
{
	hw_birth_t b = HW_BIRTH_INIT;
	model_t *m = &model[n_model++];
	char *json;
	size_t len;
	int rc;

	snprintf(m->sid, sizeof(m->sid), "%s", sid);
	snprintf(m->mid, sizeof(m->mid), "%s", mid);
	snprintf(m->project, sizeof(m->project), "%s", project);
	m->live = true;
	m->state = "starting";
	snprintf(b.session, sizeof(b.session), "%s", sid);
	snprintf(b.machine, sizeof(b.machine), "%s", mid);
	snprintf(b.project, sizeof(b.project), "%s", project);
	snprintf(b.slot, sizeof(b.slot), "1");
	b.epoch = 1;
	b.ts = hw_time_ms();
	b.interval_ms = LONG_IV;
	if(hw_birth_encode(&b, &json, &len, NULL) != HW_OK) return NULL;
	rc = tc_pub_raw(&pub, HW_T_BIRTH, mid, sid, json, len, false);
	free(json);
	if(rc != 0) return NULL;
	if(hb){
		if(tc_pub_hb(&pub, mid, sid, 1, 1, LONG_IV) != 0) return NULL;
		m->state = "active";
		m->seq = 1;
	}
	return m;
}

static int beat(model_t *m)
{
	if(tc_pub_hb(&pub, m->mid, m->sid, 1, m->seq + 1, LONG_IV) != 0) return -1;
	m->seq++;
	if(strcmp(m->state, "starting") == 0) m->state = "active";
	return 0;
}

static int exited(model_t *m, int code)
{
	hw_ev_t ev = HW_EV_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(ev.session, sizeof(ev.session), "%s", m->sid);
	ev.epoch = 1;
	ev.seq = m->seq + 1;
	ev.ts = hw_time_ms();
	ev.type = HW_EV_EXIT;
	ev.exit.code = code;
	if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&pub, HW_T_EV, m->mid, m->sid, json, len, false);
	free(json);
	m->seq = ev.seq;
	m->state = code == 0 ? "completed" : "crashed";
	return rc;
}

/* A copy of session from's stored document as PROBE, put straight into `sessions` (the
 * collector never hears of it), or removed again (from NULL). 0 on success. */
static int probe(const char *from)
{
	mongoc_client_t *c = mongoc_client_new(env.store.uri);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, env.db, "sessions");
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(from ? from : PROBE));
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	int rc = -1;

	if(!from){
		rc = mongoc_collection_delete_one(coll, filter, NULL, NULL, &berr) ? 0 : -1;
		goto cleanup;
	}
	cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	if(mongoc_cursor_next(cur, &doc)){
		bson_t copy = BSON_INITIALIZER;
		bson_iter_t it;
		bson_iter_init(&it, doc);
		while(bson_iter_next(&it)){
			const char *k = bson_iter_key(&it);
			if(strcmp(k, "_id") == 0 || strcmp(k, "session") == 0) BSON_APPEND_UTF8(&copy, k, PROBE);
			else bson_append_iter(&copy, k, -1, &it);
		}
		rc = mongoc_collection_insert_one(coll, &copy, NULL, NULL, &berr) ? 0 : -1;
		bson_destroy(&copy);
	}
	mongoc_cursor_destroy(cur);
cleanup:
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return rc;
}

/* Marks the last page of the "all" stream (where PROBE's id would be) as written by another
 * collector, as a late write of a collector that lost the lead would. 0 when a page was marked. */
static int foreign_page(void)
{
	mongoc_client_t *c = mongoc_client_new(env.store.uri);
	mongoc_database_t *d = mongoc_client_get_database(c, env.db);
	bson_t *filter = BCON_NEW("stream", BCON_UTF8("all"), "next", BCON_INT64(0));
	bson_t *upd = BCON_NEW("$set", "{", "w", BCON_UTF8("another-collector"), "}");
	char **names = mongoc_database_get_collection_names_with_opts(d, NULL, NULL);
	int rc = -1;

	for(size_t i = 0; rc != 0 && names && names[i]; i++){
		mongoc_collection_t *coll;
		bson_t reply;
		if(strncmp(names[i], "sindex_", 7) != 0) continue;
		coll = mongoc_client_get_collection(c, env.db, names[i]);
		if(mongoc_collection_update_one(coll, filter, upd, NULL, &reply, NULL)){
			bson_iter_t it;
			if(bson_iter_init_find(&it, &reply, "modifiedCount") && bson_iter_as_int64(&it) == 1) rc = 0;
		}
		bson_destroy(&reply);
		mongoc_collection_destroy(coll);
	}
	bson_strfreev(names);
	bson_destroy(filter);
	bson_destroy(upd);
	mongoc_database_destroy(d);
	mongoc_client_destroy(c);
	return rc;
}

/* True when q/sessions lists PROBE (it read `sessions`, not the index). */
static bool lists_probe(tc_rq_t *q)
{
	return listed(q, "", PROBE);
}

/* ------------------------------------------------------------------ suite */

static int suite_init(void)
{
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	return tc_pub_open(&pub, env.broker.url);
}

static int suite_cleanup(void)
{
	tc_pub_close(&pub);
	tc_env_stop(&env);
	return 0;
}

/* ------------------------------------------------------------------ the test */

static void TEST_sessions_listing_follows_every_change_and_a_restart(void)
{
	static const char *const machines[] = {"xm-1", "xm-2", "xm-3"};
	static const char *const projects[] = {"xp-web", "xp-api", "xp-cli", "xp-doc"};
	tc_rq_t q;
	hw_reply_t r;
	row_t o;
	int crashed = 0;

	CU_ASSERT_FATAL(tc_rq_open(&q, env.broker.url) == 0);
	/* births: two of three get a heartbeat (active), the rest stay starting */
	for(int i = 0; i < N_FIRST; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "x-%03d", i);
		CU_ASSERT_FATAL(born(sid, machines[i % 3], projects[i % 4], i % 3 != 2) != NULL);
	}
	CU_ASSERT_FATAL(wait_agree(&q, 60000));
	/* the answers come from the index: a document planted in `sessions` is not listed */
	CU_ASSERT_FATAL(probe("x-000") == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(!lists_probe(&q), 30000));
	CU_ASSERT(!lists_probe(&q));

	/* heartbeats only: every session's seq moves on; the listing follows within 250 ms */
	for(int round = 0; round < 2; round++){
		for(int i = 0; i < N_FIRST; i++) CU_ASSERT_FATAL(beat(&model[i]) == 0);
	}
	CU_ASSERT(wait_agree(&q, 20000));

	/* transitions: exits (crashed, completed), an operator's fail, new sessions */
	for(int i = 0; i < N_FIRST; i += 7){
		CU_ASSERT_FATAL(exited(&model[i], i % 2 ? 3 : 0) == 0);
		crashed += i % 2;
	}
	for(int i = 1; i < N_FIRST; i += 7){
		char payload[128];
		CU_ASSERT_FATAL(exited(&model[i], 5) == 0); /* crashed, then failed by the operator */
		CU_ASSERT_FATAL(HWT_WAIT_UNTIL(one(&q, model[i].sid, &o) && strcmp(o.state, "crashed") == 0, 10000));
		snprintf(payload, sizeof(payload), "{\"session\":\"%s\",\"reason\":\"test\"}", model[i].sid);
		CU_ASSERT_FATAL(tc_rq_ok(&q, "cmd/fail", payload, &r));
		hw_reply_cleanup(&r);
		model[i].state = "failed";
		/* once q/session shows a transition, q/sessions shows it too: no waiting */
		CU_ASSERT(one(&q, model[i].sid, &o) && strcmp(o.state, "failed") == 0);
		CU_ASSERT(listed(&q, "\"states\":[\"failed\"]", model[i].sid));
		CU_ASSERT(!listed(&q, "\"states\":[\"crashed\"]", model[i].sid));
	}
	for(int i = 0; i < N_MORE; i++){
		char sid[32];
		snprintf(sid, sizeof(sid), "x-n%02d", i);
		CU_ASSERT_FATAL(born(sid, machines[i % 3], projects[i % 4], true) != NULL);
	}
	CU_ASSERT(wait_agree(&q, 30000));
	CU_ASSERT_EQUAL(count(&q, "\"states\":[\"crashed\"]"), crashed);
	CU_ASSERT_EQUAL(count(&q, "\"states\":[\"crashed\",\"failed\",\"completed\"],\"project\":\"xp-web\""),
			count(&q, "\"states\":[\"crashed\"],\"project\":\"xp-web\"") +
					count(&q, "\"states\":[\"failed\"],\"project\":\"xp-web\"") +
					count(&q, "\"states\":[\"completed\"],\"project\":\"xp-web\""));
	{
		int by_machine = 0;
		for(int k = 0; k < 3; k++){
			char f[64];
			snprintf(f, sizeof(f), "\"machine\":\"%s\"", machines[k]);
			by_machine += count(&q, f);
		}
		CU_ASSERT_EQUAL(by_machine, N_FIRST + N_MORE);
	}
	CU_ASSERT_FATAL(probe(NULL) == 0);

	/* a restart: while the collector is down, a session exits (the broker keeps the message for
	 * the collector's persistent session); the new collector writes a fresh index and never reads
	 * the old one's pages */
	tc_collector_kill(&env, SIGTERM);
	CU_ASSERT_FATAL(exited(&model[3], 3) == 0);
	crashed++;
	CU_ASSERT_FATAL(tc_collector_start(&env, NULL) == 0);
	CU_ASSERT_FATAL(HWT_WAIT_UNTIL(one(&q, model[3].sid, &o) && strcmp(o.state, "crashed") == 0, 20000));
	CU_ASSERT_EQUAL(count(&q, "\"states\":[\"crashed\"]"), crashed); /* at once */
	CU_ASSERT(wait_agree(&q, 60000));
	CU_ASSERT_FATAL(probe("x-000") == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(!lists_probe(&q), 30000));
	CU_ASSERT_FATAL(probe(NULL) == 0);
	/* and it keeps following: heartbeats, a new session, an exit */
	for(int i = 0; i < N_FIRST; i += 5){
		if(strcmp(model[i].state, "active") == 0 || strcmp(model[i].state, "starting") == 0)
			CU_ASSERT_FATAL(beat(&model[i]) == 0);
	}
	CU_ASSERT_FATAL(born("x-late", "xm-1", "xp-web", true) != NULL);
	CU_ASSERT_FATAL(exited(&model[10], 0) == 0);
	CU_ASSERT(wait_agree(&q, 30000));
	/* a page another collector wrote is never read: the query that meets it reads `sessions`
	 * instead (and lists the planted document); once the page is written again, the index
	 * answers again */
	CU_ASSERT_FATAL(probe("x-000") == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(!lists_probe(&q), 30000));
	CU_ASSERT_FATAL(foreign_page() == 0);
	CU_ASSERT(lists_probe(&q));
	CU_ASSERT_FATAL(probe(NULL) == 0);
	for(int i = N_FIRST; i < n_model; i++) { /* "x-late", "x-n..": the last ids */
		if(strcmp(model[i].state, "active") == 0 || strcmp(model[i].state, "starting") == 0)
			CU_ASSERT_FATAL(beat(&model[i]) == 0);
	}
	CU_ASSERT(wait_agree(&q, 30000));
	CU_ASSERT_FATAL(probe("x-000") == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(!lists_probe(&q), 30000));
	CU_ASSERT_FATAL(probe(NULL) == 0);
	tc_rq_close(&q);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_sessions_listing_follows_every_change_and_a_restart),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	hwtest_suite("query_index", suite_init, suite_cleanup, cases);
	return hwtest_run();
}
