/* test_collector_sindex.c: the session index's pure logic (collector/sindex.c): puts, version
 * guard, moves between streams, page splits and their write order, the directory and page text
 * as a reader parses them, the plan and the filter; checked against a brute-force model. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "heartwire/states.h"

#include "sindex.h"

/* ------------------------------------------------------------------ a fake database */

#define MAXP 4096

typedef struct fake {
	char *page[MAXP]; /* by seq */
	int64_t next[MAXP];
	char *dir;
	int writes, fresh_after_old; /* page writes; a new page written after an existing one in a flush */
	bool seen_old;
	bool fail;
} fake_t;

static int put_page(void *ctx, const hw_sx_page_out_t *p, hw_error_t *err)
{
	fake_t *f = ctx;

	(void)err;
	if(f->fail) return HW_ERR_STORE;
	CU_ASSERT_FATAL(p->seq > 0 && p->seq < MAXP);
	if(f->page[p->seq] == NULL && f->seen_old) f->fresh_after_old++;
	if(f->page[p->seq]) f->seen_old = true;
	free(f->page[p->seq]);
	f->page[p->seq] = strndup(p->text, p->len);
	f->next[p->seq] = p->next;
	f->writes++;
	return HW_OK;
}

static int put_dir(void *ctx, const char *text, size_t len, hw_error_t *err)
{
	fake_t *f = ctx;

	(void)err;
	if(f->fail) return HW_ERR_STORE;
	free(f->dir);
	f->dir = strndup(text, len);
	return HW_OK;
}

static void fake_cleanup(fake_t *f)
{
	for(int i = 0; i < MAXP; i++) free(f->page[i]);
	free(f->dir);
	memset(f, 0, sizeof(*f));
}

static int flush(hw_sx_t *x, fake_t *f)
{
	f->seen_old = false;
	return hw_sx_flush(x, put_page, put_dir, f, NULL);
}

/* Runs req against the fake database as store_query.c does (without the page budget): returns
 * the ids, comma-separated, into out. */
static void query(fake_t *f, const hw_request_t *req, const char *after, char *out, size_t outlen)
{
	hw_sx_dir_t d;
	const hw_sx_dir_stream_t *plan[HW_STATE__COUNT];
	struct {
		int64_t next;
		char *text, *pos;
		hw_sx_line_t cur;
		bool have;
	} it[HW_STATE__COUNT];
	size_t n;
	int got = 0;

	out[0] = '\0';
	CU_ASSERT_FATAL(hw_sx_dir_parse(&d, f->dir, strlen(f->dir), NULL) == HW_OK);
	n = hw_sx_plan(&d, req, plan, HW_STATE__COUNT);
	memset(it, 0, sizeof(it));
	for(size_t i = 0; i < n; i++) it[i].next = plan[i]->pages[hw_sx_dir_start(plan[i], after)].seq;
	for(;;){
		int best = -1;
		char id[HW_ID_MAX + 1];
		for(size_t i = 0; i < n; i++){
			while(!it[i].have){
				if(it[i].pos && *it[i].pos){
					char *line = it[i].pos, *nl = strchr(line, '\n');
					size_t len = nl ? (size_t)(nl - line) : strlen(line);
					it[i].pos = nl ? (*nl = '\0', nl + 1) : NULL;
					CU_ASSERT_FATAL(hw_sx_line_parse(line, len, &it[i].cur) == HW_OK);
					it[i].have = !after[0] || strcmp(it[i].cur.id, after) > 0;
					continue;
				}
				free(it[i].text);
				it[i].text = it[i].pos = NULL;
				if(!it[i].next) break;
				CU_ASSERT_FATAL(f->page[it[i].next] != NULL);
				it[i].text = it[i].pos = strdup(f->page[it[i].next]);
				it[i].next = f->next[it[i].next];
			}
			if(it[i].have && (best < 0 || strcmp(it[i].cur.id, it[best].cur.id) < 0)) best = (int)i;
		}
		if(best < 0) break;
		snprintf(id, sizeof(id), "%s", it[best].cur.id);
		if(hw_sx_match(&it[best].cur, req) && got++ < req->limit)
			snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? "," : "", id);
		for(size_t i = 0; i < n; i++){
			if(it[i].have && strcmp(it[i].cur.id, id) == 0) it[i].have = false;
		}
	}
	for(size_t i = 0; i < n; i++) free(it[i].text);
	hw_sx_dir_cleanup(&d);
}

/* ------------------------------------------------------------------ a model */

#define NS 600

typedef struct msess {
	bool live;
	int state;
	char project[16], machine[16], slot[8];
	int64_t updated_at, version;
} msess_t;

static msess_t model[NS];

static void model_query(const hw_request_t *req, const char *after, char *out, size_t outlen)
{
	int got = 0;

	out[0] = '\0';
	for(int i = 0; i < NS; i++) { /* ids "s-%04d" sort like i */
		char id[16];
		msess_t *m = &model[i];
		snprintf(id, sizeof(id), "s-%04d", i);
		if(!m->live || (after[0] && strcmp(id, after) <= 0)) continue;
		if(req->states && !(req->states & (1u << m->state))) continue;
		if(req->project[0] && strcmp(req->project, m->project) != 0) continue;
		if(req->machine[0] && strcmp(req->machine, m->machine) != 0) continue;
		if(req->slot[0] && strcmp(req->slot, m->slot) != 0) continue;
		if(req->updated_since && m->updated_at < req->updated_since) continue;
		if(got++ < req->limit) snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? "," : "", id);
	}
}

static int put(hw_sx_t *x, int i, int state, int project, int machine, int64_t version, bool *changed)
{
	char id[16], p[16] = "", m[16], slot[8], json[800];
	hw_sx_fields_t f;

	snprintf(id, sizeof(id), "s-%04d", i);
	if(project >= 0) snprintf(p, sizeof(p), "proj-%d", project);
	snprintf(m, sizeof(m), "host-%d", machine);
	snprintf(slot, sizeof(slot), "%d", i % 4);
	/* padding makes pages split */
	snprintf(json, sizeof(json), "{\"session\":\"%s\",\"state\":\"%s\",\"version\":%" PRId64 ",\"pad\":\"%0600d\"}", id,
			hw_state_name(state), version, 0);
	f.id = id;
	f.state = state;
	f.project = p;
	f.machine = m;
	f.slot = slot;
	f.updated_at = version;
	f.version = version;
	return hw_sx_put(x, &f, json, strlen(json), changed, NULL);
}

/* ------------------------------------------------------------------ tests */

static void TEST_put_version_guard_and_line(void)
{
	hw_sx_t *x;
	fake_t f = {0};
	bool changed;
	hw_sx_line_t l;
	char *line;

	CU_ASSERT_FATAL(hw_sx_new(&x, NULL) == HW_OK);
	CU_ASSERT(hw_sx_dirty(x));
	CU_ASSERT_EQUAL(put(x, 1, HW_STATE_ACTIVE, 2, 3, 100, &changed), HW_OK);
	CU_ASSERT(changed);
	CU_ASSERT_EQUAL(put(x, 1, HW_STATE_CRASHED, 2, 3, 100, &changed), HW_OK); /* same version: ignored */
	CU_ASSERT(!changed);
	CU_ASSERT_EQUAL(put(x, 1, HW_STATE_CRASHED, 2, 3, 99, &changed), HW_OK); /* older: ignored */
	CU_ASSERT(!changed);
	CU_ASSERT_EQUAL(flush(x, &f), HW_OK);
	CU_ASSERT(!hw_sx_dirty(x));
	CU_ASSERT_EQUAL(flush(x, &f), HW_OK); /* nothing to write */
	CU_ASSERT_EQUAL(f.writes, 4);         /* all, s.active, p.proj-2, m.host-3 */
	CU_ASSERT_PTR_NOT_NULL(strstr(f.dir, "all\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.dir, "s.active\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.dir, "p.proj-2\t"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.dir, "m.host-3\t"));
	line = strdup(f.page[1]);
	CU_ASSERT_EQUAL(hw_sx_line_parse(line, strlen(line), &l), HW_OK);
	CU_ASSERT_STRING_EQUAL(l.id, "s-0001");
	CU_ASSERT_EQUAL(l.state, HW_STATE_ACTIVE);
	CU_ASSERT_EQUAL(l.version, 100);
	CU_ASSERT_STRING_EQUAL(l.project, "proj-2");
	CU_ASSERT_STRING_EQUAL(l.slot, "1");
	CU_ASSERT_EQUAL(strncmp(l.json, "{\"session\":\"s-0001\"", 19), 0);
	free(line);
	/* ids and fields that break the id rule are refused; so is "none" */
	{
		hw_sx_fields_t bad = {"a/b", HW_STATE_ACTIVE, "", "m", "", 0, 1};
		CU_ASSERT_EQUAL(hw_sx_put(x, &bad, "{}", 2, &changed, NULL), HW_ERR_INVAL);
		bad.id = "ok";
		bad.project = "p q";
		CU_ASSERT_EQUAL(hw_sx_put(x, &bad, "{}", 2, &changed, NULL), HW_ERR_INVAL);
		bad.project = "";
		bad.state = 0;
		CU_ASSERT_EQUAL(hw_sx_put(x, &bad, "{}", 2, &changed, NULL), HW_ERR_INVAL);
	}
	/* a failed flush leaves everything to write again */
	CU_ASSERT_EQUAL(put(x, 1, HW_STATE_CRASHED, 2, 3, 101, &changed), HW_OK);
	f.fail = true;
	CU_ASSERT_NOT_EQUAL(flush(x, &f), HW_OK);
	CU_ASSERT(hw_sx_dirty(x));
	f.fail = false;
	CU_ASSERT_EQUAL(flush(x, &f), HW_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.dir, "s.crashed\t"));
	hw_sx_free(x);
	fake_cleanup(&f);
}

static void TEST_random_updates_match_the_model(void)
{
	hw_sx_t *x;
	fake_t f = {0};
	unsigned seed = 12345;
	int64_t version = 1000;
	static const int states[] = {HW_STATE_STARTING, HW_STATE_ACTIVE, HW_STATE_IDLE, HW_STATE_STALLED, HW_STATE_LOST,
			HW_STATE_CRASHED, HW_STATE_COMPLETED, HW_STATE_FAILED};
	char a[8192], b[8192];

	memset(model, 0, sizeof(model));
	CU_ASSERT_FATAL(hw_sx_new(&x, NULL) == HW_OK);
	for(int round = 0; round < 12; round++){
		for(int k = 0; k < 400; k++){
			int i = (int)(rand_r(&seed) % NS);
			msess_t *m = &model[i];
			bool changed;
			m->live = true;
			m->state = states[rand_r(&seed) % 8];
			if(rand_r(&seed) % 4 == 0 || !m->machine[0]){
				int p = (int)(rand_r(&seed) % 6) - 1;
				snprintf(m->project, sizeof(m->project), p < 0 ? "" : "proj-%d", p);
				snprintf(m->machine, sizeof(m->machine), "host-%d", (int)(rand_r(&seed) % 9));
			}
			snprintf(m->slot, sizeof(m->slot), "%d", i % 4);
			m->version = m->updated_at = ++version;
			CU_ASSERT_EQUAL_FATAL(put(x, i, m->state, m->project[0] ? atoi(m->project + 5) : -1, atoi(m->machine + 5),
							      m->version, &changed),
					HW_OK);
			CU_ASSERT(changed);
		}
		CU_ASSERT_EQUAL_FATAL(flush(x, &f), HW_OK);
		CU_ASSERT_EQUAL(f.fresh_after_old, 0); /* split-off pages are written before the others */
		/* queries: every filter kind, limits, cursors */
		for(int q = 0; q < 40; q++){
			hw_request_t req;
			char after[16] = "";
			memset(&req, 0, sizeof(req));
			req.limit = 1 + (int)(rand_r(&seed) % 120);
			if(rand_r(&seed) % 2)
				req.states = (1u << states[rand_r(&seed) % 8]) | (rand_r(&seed) % 2 ? 1u << HW_STATE_ACTIVE : 0);
			if(rand_r(&seed) % 3 == 0)
				snprintf(req.project, sizeof(req.project), "proj-%d", (int)(rand_r(&seed) % 6));
			if(rand_r(&seed) % 3 == 0)
				snprintf(req.machine, sizeof(req.machine), "host-%d", (int)(rand_r(&seed) % 9));
			if(rand_r(&seed) % 5 == 0) snprintf(req.slot, sizeof(req.slot), "%d", (int)(rand_r(&seed) % 4));
			if(rand_r(&seed) % 5 == 0) req.updated_since = version - 600;
			if(rand_r(&seed) % 3 == 0) snprintf(after, sizeof(after), "s-%04d", (int)(rand_r(&seed) % NS));
			query(&f, &req, after, a, sizeof(a));
			model_query(&req, after, b, sizeof(b));
			CU_ASSERT_STRING_EQUAL(a, b);
		}
	}
	CU_ASSERT(hw_sx_pages(x) > 30); /* the pages did split */
	{
		size_t live = 0;
		for(int i = 0; i < NS; i++) live += model[i].live;
		CU_ASSERT_EQUAL(hw_sx_sessions(x), live);
	}
	hw_sx_free(x);
	fake_cleanup(&f);
}

static void TEST_plan_picks_the_smallest_streams(void)
{
	const char *text = "s.active\t1\t\t500\ns.crashed\t2\t\t10\ns.lost\t3\t\t0\np.web\t4\t\t40\nm.h1\t5\t\t5\n"
			   "s.active\t6\ts-5\t7\n";
	hw_sx_dir_t d;
	const hw_sx_dir_stream_t *out[HW_STATE__COUNT];
	hw_request_t req;

	/* a stream's pages must be contiguous; the last line starts a second "s.active" run here,
	 * which the parser keeps as its own entry: find() returns the first */
	CU_ASSERT_FATAL(hw_sx_dir_parse(&d, text, strlen(text), NULL) == HW_OK);
	memset(&req, 0, sizeof(req));
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 2); /* every non-empty state stream */
	req.states = 1u << HW_STATE_CRASHED;
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
	CU_ASSERT_STRING_EQUAL(out[0]->name, "s.crashed");
	snprintf(req.project, sizeof(req.project), "web"); /* 40 > 10: the state stream */
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
	CU_ASSERT_STRING_EQUAL(out[0]->name, "s.crashed");
	req.states = 0; /* 40 < 517: the project stream */
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
	CU_ASSERT_STRING_EQUAL(out[0]->name, "p.web");
	snprintf(req.machine, sizeof(req.machine), "h1"); /* 5: the machine stream */
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
	CU_ASSERT_STRING_EQUAL(out[0]->name, "m.h1");
	snprintf(req.machine, sizeof(req.machine), "nobody"); /* no such machine: nothing matches */
	CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 0);
	hw_sx_dir_cleanup(&d);
	/* with the "all" stream, a query without a state reads it alone; with states, the states' */
	{
		const char *all = "all\t7\t\t515\ns.active\t1\t\t500\ns.crashed\t2\t\t10\nm.h1\t5\t\t5\n";
		CU_ASSERT_FATAL(hw_sx_dir_parse(&d, all, strlen(all), NULL) == HW_OK);
		memset(&req, 0, sizeof(req));
		CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
		CU_ASSERT_STRING_EQUAL(out[0]->name, "all");
		req.states = 1u << HW_STATE_CRASHED | 1u << HW_STATE_ACTIVE;
		CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 2);
		req.states = 0;
		snprintf(req.machine, sizeof(req.machine), "h1");
		CU_ASSERT_EQUAL(hw_sx_plan(&d, &req, out, HW_STATE__COUNT), 1);
		CU_ASSERT_STRING_EQUAL(out[0]->name, "m.h1");
		hw_sx_dir_cleanup(&d);
	}
	/* bad directories */
	CU_ASSERT_EQUAL(hw_sx_dir_parse(&d, "s.active\tx\t\t1\n", 14, NULL), HW_ERR_DECODE);
	hw_sx_dir_cleanup(&d);
	CU_ASSERT_EQUAL(hw_sx_dir_parse(&d, "s.active\t1\n", 11, NULL), HW_ERR_DECODE);
	hw_sx_dir_cleanup(&d);
	{
		char bad[] = "s-1\tsleeping\t1\t1\t\tm\t\t{}";
		hw_sx_line_t l;
		CU_ASSERT_EQUAL(hw_sx_line_parse(bad, strlen(bad), &l), HW_ERR_DECODE);
	}
}

int main(void)
{
	CU_pSuite s;
	unsigned fails;

	if(CU_initialize_registry() != CUE_SUCCESS) return 1;
	s = CU_add_suite("collector_sindex", NULL, NULL);
	CU_add_test(s, "put_version_guard_and_line", TEST_put_version_guard_and_line);
	CU_add_test(s, "random_updates_match_the_model", TEST_random_updates_match_the_model);
	CU_add_test(s, "plan_picks_the_smallest_streams", TEST_plan_picks_the_smallest_streams);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failure_records() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails ? 1 : 0;
}
