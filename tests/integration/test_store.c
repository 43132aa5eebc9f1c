/* test_store.c: the MongoDB-compatible store the harness starts does what the collector relies on. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "hwtest.h"
#include "servers.h"

static hwt_store_t store = HWT_STORE_INIT;

/* Per test: a fresh database on its own client, dropped at the end. */
typedef struct fixture {
	char db[64];
	mongoc_client_t *client;
	mongoc_collection_t *coll;
} fixture_t;

static int suite_init(void)
{
	int64_t t0 = hwt_now_ms();

	if(hwt_store_start(&store) != 0) return -1;
	printf("\nstore: %s%s at %s, started in %lld ms\n", store.kind, store.ferretdb ? " (FerretDB)" : "", store.uri,
			(long long)(hwt_now_ms() - t0));
	return 0;
}

static int suite_cleanup(void)
{
	hwt_store_cleanup(&store);
	return 0;
}

static mongoc_client_t *client_new(void)
{
	mongoc_client_t *c = mongoc_client_new(store.uri);

	if(c) mongoc_client_set_error_api(c, MONGOC_ERROR_API_VERSION_2);
	return c;
}

static void fixture_open(fixture_t *f, const char *prefix)
{
	memset(f, 0, sizeof(*f));
	hwt_unique_name(f->db, sizeof(f->db), prefix);
	f->client = client_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->client);
	f->coll = mongoc_client_get_collection(f->client, f->db, "sessions");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->coll);
}

static void fixture_close(fixture_t *f)
{
	mongoc_collection_destroy(f->coll);
	mongoc_client_destroy(f->client);
	CU_ASSERT_EQUAL(hwt_store_drop_db(&store, f->db), 0);
}

/* The int64/int32/double value of key in doc, or -1 when absent. */
static int64_t doc_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if(!doc || !bson_iter_init_find(&it, doc, key)) return -1;
	if(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_DOUBLE(&it))
		return bson_iter_as_int64(&it);
	return -1;
}

/* A copy of the UTF-8 value of key in doc into buf ("" when absent). */
static const char *doc_str(const bson_t *doc, const char *key, char *buf, size_t len)
{
	bson_iter_t it;

	buf[0] = '\0';
	if(doc && bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(buf, len, "%s", bson_iter_utf8(&it, NULL));
	return buf;
}

static int64_t count(mongoc_collection_t *coll, const bson_t *filter)
{
	bson_error_t error;
	bson_t empty = BSON_INITIALIZER;
	int64_t n = mongoc_collection_count_documents(coll, filter ? filter : &empty, NULL, NULL, NULL, &error);

	if(n < 0) fprintf(stderr, "count_documents: %s\n", error.message);
	bson_destroy(&empty);
	return n;
}

/* Finds the document with _id id; caller destroys the result with bson_destroy (NULL when none). */
static bson_t *find_by_id(mongoc_collection_t *coll, const char *id)
{
	bson_t *filter = BCON_NEW("_id", BCON_UTF8(id));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	const bson_t *doc;
	bson_t *copy = NULL;
	bson_error_t error;

	if(mongoc_cursor_next(cur, &doc)) copy = bson_copy(doc);
	if(mongoc_cursor_error(cur, &error)) fprintf(stderr, "find %s: %s\n", id, error.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	return copy;
}

static void TEST_upsert_inserts_then_updates_and_find_by_id(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t reply;
	bson_t *sel, *upd, *opts, *doc;
	char buf[64];

	fixture_open(&f, "t_upsert");
	sel = BCON_NEW("_id", BCON_UTF8("s-42"));
	upd = BCON_NEW("$set", "{", "state", BCON_UTF8("active"), "epoch", BCON_INT64(4), "}", "$setOnInsert", "{", "started_at",
			BCON_INT64(1763712000123), "}");
	opts = BCON_NEW("upsert", BCON_BOOL(true));

	CU_ASSERT_TRUE(mongoc_collection_update_one(f.coll, sel, upd, opts, &reply, &error));
	CU_ASSERT_EQUAL(doc_int(&reply, "matchedCount"), 0);
	CU_ASSERT_EQUAL(doc_int(&reply, "upsertedCount"), 1);
	bson_destroy(&reply);
	bson_destroy(upd);

	/* The second upsert matches and changes the state; $setOnInsert must not apply again. */
	upd = BCON_NEW("$set", "{", "state", BCON_UTF8("stalled"), "epoch", BCON_INT64(5), "}", "$setOnInsert", "{", "started_at",
			BCON_INT64(1), "}");
	CU_ASSERT_TRUE(mongoc_collection_update_one(f.coll, sel, upd, opts, &reply, &error));
	CU_ASSERT_EQUAL(doc_int(&reply, "matchedCount"), 1);
	CU_ASSERT_EQUAL(doc_int(&reply, "modifiedCount"), 1);
	CU_ASSERT_EQUAL(doc_int(&reply, "upsertedCount"), 0);
	bson_destroy(&reply);

	doc = find_by_id(f.coll, "s-42");
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_STRING_EQUAL(doc_str(doc, "state", buf, sizeof(buf)), "stalled");
	CU_ASSERT_EQUAL(doc_int(doc, "epoch"), 5);
	CU_ASSERT_EQUAL(doc_int(doc, "started_at"), 1763712000123);
	CU_ASSERT_EQUAL(count(f.coll, NULL), 1);
	CU_ASSERT_PTR_NULL(find_by_id(f.coll, "s-43"));

	bson_destroy(doc);
	bson_destroy(sel);
	bson_destroy(upd);
	bson_destroy(opts);
	fixture_close(&f);
}

static void TEST_compound_index_and_filtered_sorted_find(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t reply;
	bson_t *cmd, *filter, *opts;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bool found_index = false;
	int64_t last = -1;
	int n = 0;

	fixture_open(&f, "t_index");
	cmd = BCON_NEW("createIndexes", BCON_UTF8("sessions"), "indexes", "[", "{", "key", "{", "state", BCON_INT32(1),
			"deadline_at", BCON_INT32(1), "}", "name", BCON_UTF8("state_deadline"), "}", "]");
	CU_ASSERT_TRUE_FATAL(mongoc_client_write_command_with_opts(f.client, f.db, cmd, NULL, &reply, &error));
	bson_destroy(&reply);
	bson_destroy(cmd);

	cur = mongoc_collection_find_indexes_with_opts(f.coll, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		char name[64];

		if(!strcmp(doc_str(doc, "name", name, sizeof(name)), "state_deadline")) found_index = true;
	}
	CU_ASSERT_FALSE(mongoc_cursor_error(cur, &error));
	mongoc_cursor_destroy(cur);
	CU_ASSERT_TRUE(found_index);

	/* 60 sessions: every third stalled, deadlines descending so the sort has work to do. */
	for(int i = 0; i < 60; i++){
		char id[32];
		bson_t *d;

		snprintf(id, sizeof(id), "s-%02d", i);
		d = BCON_NEW("_id", BCON_UTF8(id), "state", BCON_UTF8(i % 3 == 0 ? "stalled" : "active"), "deadline_at",
				BCON_INT64(10000 - i * 10));
		CU_ASSERT_TRUE(mongoc_collection_insert_one(f.coll, d, NULL, NULL, &error));
		bson_destroy(d);
	}

	/* Stalled sessions whose deadline passed before 9800 (i > 20 and i % 3 == 0: 21..57 -> 13). */
	filter = BCON_NEW("state", BCON_UTF8("stalled"), "deadline_at", "{", "$lt", BCON_INT64(9800), "}");
	opts = BCON_NEW("sort", "{", "deadline_at", BCON_INT32(1), "}");
	cur = mongoc_collection_find_with_opts(f.coll, filter, opts, NULL);
	while(mongoc_cursor_next(cur, &doc)){
		int64_t dl = doc_int(doc, "deadline_at");
		char st[32];

		CU_ASSERT_STRING_EQUAL(doc_str(doc, "state", st, sizeof(st)), "stalled");
		CU_ASSERT_TRUE(dl < 9800);
		CU_ASSERT_TRUE(dl > last);
		last = dl;
		n++;
	}
	CU_ASSERT_FALSE(mongoc_cursor_error(cur, &error));
	CU_ASSERT_EQUAL(n, 13);
	mongoc_cursor_destroy(cur);

	bson_destroy(filter);
	bson_destroy(opts);
	fixture_close(&f);
}

static void TEST_bulk_write_1000_mixed_unordered_counts(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t reply;
	bson_t *opts;
	mongoc_bulk_operation_t *bulk;
	bson_iter_t it;
	int64_t t0;
	bool ok;

	fixture_open(&f, "t_bulk");
	/* 300 existing sessions: d000..d299. */
	bulk = mongoc_collection_create_bulk_operation_with_opts(f.coll, NULL);
	for(int i = 0; i < 300; i++){
		char id[16];
		bson_t *d;

		snprintf(id, sizeof(id), "d%03d", i);
		d = BCON_NEW("_id", BCON_UTF8(id), "seq", BCON_INT64(0));
		mongoc_bulk_operation_insert(bulk, d);
		bson_destroy(d);
	}
	CU_ASSERT_TRUE_FATAL(mongoc_bulk_operation_execute(bulk, &reply, &error));
	CU_ASSERT_EQUAL(doc_int(&reply, "nInserted"), 300);
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);

	/* 1000 interleaved ops on disjoint documents: 400 inserts (n000..n399), 200 updates
	 * (d000..d199), 100 deletes (d200..d299), 300 upserting replaces (u000..u299). */
	opts = BCON_NEW("ordered", BCON_BOOL(false));
	bulk = mongoc_collection_create_bulk_operation_with_opts(f.coll, opts);
	for(int i = 0, ins = 0, upd = 0, del = 0, ups = 0; i < 1000; i++){
		char id[16];
		int kind = i % 10; /* 0-3 insert, 4-5 update, 6 delete, 7-9 upsert */

		if(kind <= 3){
			bson_t *d;

			snprintf(id, sizeof(id), "n%03d", ins++);
			d = BCON_NEW("_id", BCON_UTF8(id), "seq", BCON_INT64(1));
			CU_ASSERT_TRUE(mongoc_bulk_operation_insert_with_opts(bulk, d, NULL, &error));
			bson_destroy(d);
		}else if(kind <= 5){
			bson_t *sel, *u;

			snprintf(id, sizeof(id), "d%03d", upd++);
			sel = BCON_NEW("_id", BCON_UTF8(id));
			u = BCON_NEW("$inc", "{", "seq", BCON_INT64(1), "}");
			CU_ASSERT_TRUE(mongoc_bulk_operation_update_one_with_opts(bulk, sel, u, NULL, &error));
			bson_destroy(sel);
			bson_destroy(u);
		}else if(kind == 6){
			bson_t *sel;

			snprintf(id, sizeof(id), "d%03d", 200 + del++);
			sel = BCON_NEW("_id", BCON_UTF8(id));
			CU_ASSERT_TRUE(mongoc_bulk_operation_remove_one_with_opts(bulk, sel, NULL, &error));
			bson_destroy(sel);
		}else{
			bson_t *sel, *doc, *o;

			snprintf(id, sizeof(id), "u%03d", ups++);
			sel = BCON_NEW("_id", BCON_UTF8(id));
			doc = BCON_NEW("seq", BCON_INT64(7), "state", BCON_UTF8("active"));
			o = BCON_NEW("upsert", BCON_BOOL(true));
			CU_ASSERT_TRUE(mongoc_bulk_operation_replace_one_with_opts(bulk, sel, doc, o, &error));
			bson_destroy(sel);
			bson_destroy(doc);
			bson_destroy(o);
		}
	}
	t0 = hwt_now_ms();
	ok = mongoc_bulk_operation_execute(bulk, &reply, &error);
	printf("\n  bulk of 1000 mixed ops: %lld ms\n", (long long)(hwt_now_ms() - t0));
	if(!ok) fprintf(stderr, "bulk: %s\n", error.message);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(doc_int(&reply, "nInserted"), 400);
	CU_ASSERT_EQUAL(doc_int(&reply, "nMatched"), 200);
	CU_ASSERT_EQUAL(doc_int(&reply, "nModified"), 200);
	CU_ASSERT_EQUAL(doc_int(&reply, "nRemoved"), 100);
	CU_ASSERT_EQUAL(doc_int(&reply, "nUpserted"), 300);
	CU_ASSERT_TRUE(bson_iter_init_find(&it, &reply, "writeErrors"));
	if(bson_iter_init_find(&it, &reply, "writeErrors")){
		bson_t arr;
		uint32_t alen;
		const uint8_t *adata;

		bson_iter_array(&it, &alen, &adata);
		CU_ASSERT_TRUE(bson_init_static(&arr, adata, alen));
		CU_ASSERT_EQUAL(bson_count_keys(&arr), 0);
	}
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(opts);

	CU_ASSERT_EQUAL(count(f.coll, NULL), 300 - 100 + 400 + 300);
	{
		bson_t *d = find_by_id(f.coll, "d150");
		bson_t *gone = find_by_id(f.coll, "d250");
		bson_t *u = find_by_id(f.coll, "u299");

		CU_ASSERT_EQUAL(doc_int(d, "seq"), 1);
		CU_ASSERT_PTR_NULL(gone);
		CU_ASSERT_EQUAL(doc_int(u, "seq"), 7);
		if(d) bson_destroy(d);
		if(gone) bson_destroy(gone);
		if(u) bson_destroy(u);
	}
	fixture_close(&f);
}

static void TEST_bulk_unordered_continues_past_a_duplicate_key(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t reply;
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(false));
	mongoc_bulk_operation_t *bulk;
	bson_iter_t it, ai;
	int errors = 0;
	int64_t bad_index = -1, bad_code = -1;

	fixture_open(&f, "t_bulkerr");
	bulk = mongoc_collection_create_bulk_operation_with_opts(f.coll, opts);
	for(int i = 0; i < 10; i++){
		char id[16];
		bson_t *d;

		/* Op 3 repeats op 2's _id. */
		snprintf(id, sizeof(id), "k%d", i == 3 ? 2 : i);
		d = BCON_NEW("_id", BCON_UTF8(id));
		mongoc_bulk_operation_insert(bulk, d);
		bson_destroy(d);
	}
	CU_ASSERT_FALSE(mongoc_bulk_operation_execute(bulk, &reply, &error));
	CU_ASSERT_EQUAL(error.code, 11000);
	CU_ASSERT_EQUAL(doc_int(&reply, "nInserted"), 9);
	if(bson_iter_init_find(&it, &reply, "writeErrors") && bson_iter_recurse(&it, &ai)){
		while(bson_iter_next(&ai)){
			bson_t e;
			uint32_t len;
			const uint8_t *data;

			bson_iter_document(&ai, &len, &data);
			if(bson_init_static(&e, data, len)){
				bad_index = doc_int(&e, "index");
				bad_code = doc_int(&e, "code");
			}
			errors++;
		}
	}
	CU_ASSERT_EQUAL(errors, 1);
	CU_ASSERT_EQUAL(bad_index, 3);
	CU_ASSERT_EQUAL(bad_code, 11000);
	CU_ASSERT_EQUAL(count(f.coll, NULL), 9);
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(bulk);
	bson_destroy(opts);
	fixture_close(&f);
}

/* One compare-and-set: moves _id "s-1" from version `expect` to expect+1 with a new owner;
 * returns true when this call won (the document matched). */
static bool cas_claim(mongoc_collection_t *coll, int64_t expect, const char *owner)
{
	mongoc_find_and_modify_opts_t *fam = mongoc_find_and_modify_opts_new();
	bson_t *query = BCON_NEW("_id", BCON_UTF8("s-1"), "version", BCON_INT64(expect));
	bson_t *update = BCON_NEW(
			"$set", "{", "recovery.claimed_by", BCON_UTF8(owner), "}", "$inc", "{", "version", BCON_INT64(1), "}");
	bson_t reply;
	bson_error_t error;
	bson_iter_t it;
	bool won = false;

	mongoc_find_and_modify_opts_set_update(fam, update);
	mongoc_find_and_modify_opts_set_flags(fam, MONGOC_FIND_AND_MODIFY_RETURN_NEW);
	if(!mongoc_collection_find_and_modify_with_opts(coll, query, fam, &reply, &error)){
		fprintf(stderr, "findAndModify: %s\n", error.message);
	}else if(bson_iter_init_find(&it, &reply, "value") && BSON_ITER_HOLDS_DOCUMENT(&it)){
		bson_t v;
		uint32_t len;
		const uint8_t *data;
		char who[64] = "";
		bson_iter_t w;

		bson_iter_document(&it, &len, &data);
		if(bson_init_static(&v, data, len)){
			won = doc_int(&v, "version") == expect + 1;
			if(bson_iter_init(&w, &v) && bson_iter_find_descendant(&w, "recovery.claimed_by", &w) &&
					BSON_ITER_HOLDS_UTF8(&w))
				snprintf(who, sizeof(who), "%s", bson_iter_utf8(&w, NULL));
			CU_ASSERT_STRING_EQUAL(who, owner);
		}
	}
	bson_destroy(&reply);
	bson_destroy(query);
	bson_destroy(update);
	mongoc_find_and_modify_opts_destroy(fam);
	return won;
}

static void insert_claimable(mongoc_collection_t *coll, int64_t version)
{
	bson_t *d = BCON_NEW("_id", BCON_UTF8("s-1"), "state", BCON_UTF8("lost"), "version", BCON_INT64(version));
	bson_t *sel = BCON_NEW("_id", BCON_UTF8("s-1"));
	bson_t *opts = BCON_NEW("upsert", BCON_BOOL(true));
	bson_error_t error;

	CU_ASSERT_TRUE(mongoc_collection_replace_one(coll, sel, d, opts, NULL, &error));
	bson_destroy(d);
	bson_destroy(sel);
	bson_destroy(opts);
}

static void TEST_find_and_modify_version_guard_one_winner(void)
{
	fixture_t f;
	bson_t *doc;
	char who[64];
	bson_iter_t it;

	fixture_open(&f, "t_cas");
	insert_claimable(f.coll, 1);
	CU_ASSERT_TRUE(cas_claim(f.coll, 1, "build-07"));
	/* The same expected version again: the guard no longer matches. */
	CU_ASSERT_FALSE(cas_claim(f.coll, 1, "build-09"));
	CU_ASSERT_TRUE(cas_claim(f.coll, 2, "build-09"));

	doc = find_by_id(f.coll, "s-1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(doc_int(doc, "version"), 3);
	who[0] = '\0';
	if(bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, "recovery.claimed_by", &it))
		snprintf(who, sizeof(who), "%s", bson_iter_utf8(&it, NULL));
	CU_ASSERT_STRING_EQUAL(who, "build-09");
	bson_destroy(doc);
	fixture_close(&f);
}

/* Two threads, each with its own client (mongoc_client_t is not thread-safe), race the same
 * write from a barrier. */
typedef struct racer {
	const char *db;
	const char *owner;
	pthread_barrier_t *start;
	int64_t expect;
	bool fence; /* insert-fence instead of findAndModify */
	bool won;
} racer_t;

/* The insert fence: inserting _id "s-1:<expect>" into leases succeeds for exactly one caller,
 * because _id is unique. */
static bool fence_claim(mongoc_collection_t *leases, int64_t expect, const char *owner)
{
	char id[64];
	bson_t *d;
	bson_error_t error;
	bool ok;

	snprintf(id, sizeof(id), "s-1:%lld", (long long)expect);
	d = BCON_NEW("_id", BCON_UTF8(id), "owner", BCON_UTF8(owner));
	ok = mongoc_collection_insert_one(leases, d, NULL, NULL, &error);
	if(!ok && error.code != 11000) fprintf(stderr, "fence insert: %s\n", error.message);
	bson_destroy(d);
	return ok;
}

static void *race(void *arg)
{
	racer_t *r = arg;
	mongoc_client_t *c = client_new();
	mongoc_collection_t *coll = mongoc_client_get_collection(c, r->db, r->fence ? "leases" : "sessions");
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));

	/* Connect before the barrier so both requests leave together. */
	mongoc_client_command_simple(c, "admin", ping, NULL, NULL, NULL);
	pthread_barrier_wait(r->start);
	r->won = r->fence ? fence_claim(coll, r->expect, r->owner) : cas_claim(coll, r->expect, r->owner);
	bson_destroy(ping);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return NULL;
}

/* Runs `rounds` two-thread races; returns how many rounds had exactly one winner and counts
 * rounds with two winners in *doubles (and with none in *nones). */
static int run_races(const char *db, bool fence, int rounds, int *doubles, int *nones)
{
	int single = 0;

	*doubles = *nones = 0;
	for(int round = 0; round < rounds; round++){
		pthread_barrier_t start;
		racer_t a = {db, "build-07", &start, round + 1, fence, false};
		racer_t b = {db, "build-09", &start, round + 1, fence, false};
		pthread_t ta, tb;

		pthread_barrier_init(&start, NULL, 2);
		pthread_create(&ta, NULL, race, &a);
		pthread_create(&tb, NULL, race, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&start);
		if(a.won != b.won) single++;
		else if(a.won) (*doubles)++;
		else (*nones)++;
	}
	return single;
}

/* The lease primitive that is atomic on every store: a unique _id insert. */
static void TEST_insert_fence_concurrent_race_exactly_one_wins(void)
{
	fixture_t f;
	int rounds = 25, doubles, nones;

	fixture_open(&f, "t_fence");
	CU_ASSERT_EQUAL(run_races(f.db, true, rounds, &doubles, &nones), rounds);
	CU_ASSERT_EQUAL(doubles, 0);
	CU_ASSERT_EQUAL(nones, 0);
	{
		mongoc_collection_t *leases = mongoc_client_get_collection(f.client, f.db, "leases");

		CU_ASSERT_EQUAL(count(leases, NULL), rounds);
		mongoc_collection_destroy(leases);
	}
	fixture_close(&f);
}

/* A version-guarded findAndModify raced by two clients. MongoDB makes single-document writes
 * atomic, so exactly one wins every round. FerretDB 1.24 on SQLite does not: it reads,
 * applies the update in Go and writes back, so both racers "win" and one update is lost.
 * Against FerretDB (started or external) this test asserts what does hold (no errors, no round without a winner, the
 * version moves exactly once per round) and prints the double wins; the collector must not
 * rely on findAndModify alone for claims there (see the insert-fence test). */
static void TEST_find_and_modify_concurrent_race(void)
{
	fixture_t f;
	int rounds = 25, single, doubles, nones;

	fixture_open(&f, "t_race");
	insert_claimable(f.coll, 1);
	single = run_races(f.db, false, rounds, &doubles, &nones);
	CU_ASSERT_EQUAL(nones, 0);
	if(store.ferretdb){
		if(doubles > 0)
			printf("\n  KNOWN FERRETDB 1.24 DEVIATION: findAndModify version guard had two winners in %d of %d "
			       "rounds "
			       "(not atomic); use an insert fence\n",
					doubles, rounds);
	}else{
		CU_ASSERT_EQUAL(single, rounds);
		CU_ASSERT_EQUAL(doubles, 0);
	}
	{
		bson_t *doc = find_by_id(f.coll, "s-1");

		CU_ASSERT_EQUAL(doc_int(doc, "version"), rounds + 1);
		if(doc) bson_destroy(doc);
	}
	fixture_close(&f);
}

static void TEST_delete_many_by_filter(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t reply;
	bson_t *filter;

	fixture_open(&f, "t_delete");
	for(int i = 0; i < 100; i++){
		char id[16];
		bson_t *d;

		snprintf(id, sizeof(id), "e%03d", i);
		d = BCON_NEW("_id", BCON_UTF8(id), "project", BCON_UTF8(i % 2 ? "acme-web" : "acme-api"), "ts", BCON_INT64(i));
		CU_ASSERT_TRUE(mongoc_collection_insert_one(f.coll, d, NULL, NULL, &error));
		bson_destroy(d);
	}
	/* Retention-style delete: one project's events older than ts 60 (30 of them). */
	filter = BCON_NEW("project", BCON_UTF8("acme-web"), "ts", "{", "$lt", BCON_INT64(60), "}");
	CU_ASSERT_TRUE(mongoc_collection_delete_many(f.coll, filter, NULL, &reply, &error));
	CU_ASSERT_EQUAL(doc_int(&reply, "deletedCount"), 30);
	bson_destroy(&reply);
	CU_ASSERT_EQUAL(count(f.coll, filter), 0);
	CU_ASSERT_EQUAL(count(f.coll, NULL), 70);
	bson_destroy(filter);
	fixture_close(&f);
}

static void TEST_store_restart_keeps_data(void)
{
	fixture_t f;
	bson_error_t error;
	bson_t *d, *got;
	int64_t t0;
	int port;

	if(store.external){
		/* A server the harness did not start cannot be stopped: that refusal is the contract. */
		CU_ASSERT_EQUAL(hwt_store_stop(&store), -1);
		return;
	}
	fixture_open(&f, "t_restart");
	d = BCON_NEW("_id", BCON_UTF8("s-keep"), "state", BCON_UTF8("lost"));
	CU_ASSERT_TRUE_FATAL(mongoc_collection_insert_one(f.coll, d, NULL, NULL, &error));
	bson_destroy(d);
	mongoc_collection_destroy(f.coll);
	mongoc_client_destroy(f.client);

	port = store.port;
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL_FATAL(hwt_store_stop(&store), 0);
	printf("\n  store stop: %lld ms", (long long)(hwt_now_ms() - t0));
	CU_ASSERT_EQUAL(store.pid, 0);
	CU_ASSERT_FALSE(HWT_WAIT_UNTIL(hwt_wait_port(port, 0) == 0, 100));
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL_FATAL(hwt_store_start(&store), 0);
	printf(", start on the same dir: %lld ms\n", (long long)(hwt_now_ms() - t0));
	CU_ASSERT_EQUAL(store.port, port);

	f.client = client_new();
	f.coll = mongoc_client_get_collection(f.client, f.db, "sessions");
	got = find_by_id(f.coll, "s-keep");
	CU_ASSERT_PTR_NOT_NULL(got);
	if(got){
		char st[16];

		CU_ASSERT_STRING_EQUAL(doc_str(got, "state", st, sizeof(st)), "lost");
		bson_destroy(got);
	}
	fixture_close(&f);
}

static void TEST_store_pause_blocks_and_resume_serves(void)
{
	if(store.external){
		CU_ASSERT_EQUAL(hwt_store_pause(&store), -1);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(hwt_store_pause(&store), 0);
	/* A frozen server accepts TCP (the kernel does) but answers nothing. */
	CU_ASSERT_EQUAL(hwt_store_ping(&store, 300), -1);
	CU_ASSERT_EQUAL_FATAL(hwt_store_resume(&store), 0);
	CU_ASSERT_EQUAL(hwt_store_ping(&store, 5000), 0);
}

static void TEST_unique_names_differ_and_are_valid(void)
{
	char a[64], b[64];

	hwt_unique_name(a, sizeof(a), "t/db.x");
	hwt_unique_name(b, sizeof(b), "t/db.x");
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), strlen(a));
	CU_ASSERT_TRUE(strncmp(a, "t_db_x_", 7) == 0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_unique_names_differ_and_are_valid),
		HWTEST(TEST_upsert_inserts_then_updates_and_find_by_id),
		HWTEST(TEST_compound_index_and_filtered_sorted_find),
		HWTEST(TEST_bulk_write_1000_mixed_unordered_counts),
		HWTEST(TEST_bulk_unordered_continues_past_a_duplicate_key),
		HWTEST(TEST_find_and_modify_version_guard_one_winner),
		HWTEST(TEST_insert_fence_concurrent_race_exactly_one_wins),
		HWTEST(TEST_find_and_modify_concurrent_race),
		HWTEST(TEST_delete_many_by_filter),
		HWTEST(TEST_store_pause_blocks_and_resume_serves),
		HWTEST(TEST_store_restart_keeps_data),
		HWTEST_END,
	};
	/* clang-format on */

	mongoc_init();
	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("store", suite_init, suite_cleanup, cases) != 0) return 1;
	int rc = hwtest_run();
	mongoc_cleanup();
	return rc;
}
