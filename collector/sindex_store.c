/* sindex_store.c: the database side of the session index (mongo-c-driver): fills the writer
 * from stored or retained session documents, writes its pages and directory with `_id`-only
 * upserts, and reads them back for q/sessions with `_id` point lookups: the only reads that
 * FerretDB 1.24 pushes down to SQL (docs/collector.md, "The session index"). */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/clock.h"
#include "heartwire/states.h"

#include "sindex_store.h"

#define SX_DIR_COLL "sindex"
#define SX_DIR_ID "dir"

static int store_err(hw_error_t *err, const char *what, const bson_error_t *e)
{
	return hw_error_set(err, HW_ERR_STORE, "%s: %s", what, e->message);
}

static void page_coll(int64_t seq, char *name, size_t n)
{
	snprintf(name, n, "sindex_%03d", (int)(seq % HW_SX_SHARDS));
}

/* ------------------------------------------------------------------ this process's index */

static pthread_once_t writer_once = PTHREAD_ONCE_INIT;
static char writer_tag[25];

static void writer_init(void)
{
	bson_oid_t oid;

	/* an ObjectId: the time, 5 random bytes per process and a counter: unique among collectors */
	bson_oid_init(&oid, NULL);
	bson_oid_to_string(&oid, writer_tag);
}

const char *hw__sx_writer(void)
{
	pthread_once(&writer_once, writer_init);
	return writer_tag;
}

/* The directory the store thread wrote last, parsed, shared with the request workers. */
struct hw_sx_snap {
	hw_sx_dir_t d;
	char db[64];
	int refs; /* under pub_lock */
};

static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static hw_sx_snap_t *pub;

static void snap_drop(hw_sx_snap_t *s)
{
	if(s && --s->refs == 0){
		hw_sx_dir_cleanup(&s->d);
		free(s);
	}
}

/* Makes s (NULL: none) the directory of its database that readers get. */
static void publish(hw_sx_snap_t *s)
{
	hw_sx_snap_t *old;

	pthread_mutex_lock(&pub_lock);
	old = pub;
	pub = s;
	snap_drop(old);
	pthread_mutex_unlock(&pub_lock);
}

const hw_sx_dir_t *hw__sx_dir_acquire(const char *db, hw_sx_snap_t **snap)
{
	hw_sx_snap_t *s;

	pthread_mutex_lock(&pub_lock);
	s = pub && strcmp(pub->db, db) == 0 ? pub : NULL;
	if(s) s->refs++;
	pthread_mutex_unlock(&pub_lock);
	*snap = s;
	return s ? &s->d : NULL;
}

void hw__sx_dir_release(hw_sx_snap_t *snap)
{
	if(!snap) return;
	pthread_mutex_lock(&pub_lock);
	snap_drop(snap);
	pthread_mutex_unlock(&pub_lock);
}

/* ------------------------------------------------------------------ filling */

static const char *str_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if(bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it)) return bson_iter_utf8(&it, NULL);
	return "";
}

static int64_t int_of(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if(!bson_iter_init_find(&it, doc, key)) return 0;
	if(BSON_ITER_HOLDS_DATE_TIME(&it)) return bson_iter_date_time(&it);
	if(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_DOUBLE(&it))
		return bson_iter_as_int64(&it);
	return 0;
}

/* hw_sx_put; after an allocation failure the index misses a write, so this process's queries
 * stop reading it at once (the store thread then removes it: store_mongo.c, index_broken). */
static int put_checked(hw_sx_t *x, const hw_sx_fields_t *f, const char *json, size_t len, hw_error_t *err)
{
	bool changed;
	int rc = hw_sx_put(x, f, json, len, &changed, err);

	if(rc == HW_ERR_NOMEM) publish(NULL);
	return rc;
}

int hw__sx_put_doc(hw_sx_t *x, const bson_t *doc, const char *json, size_t len, hw_error_t *err)
{
	hw_sx_fields_t f;
	const char *state;

	f.id = str_of(doc, "_id");
	if(!f.id[0]) f.id = str_of(doc, "session");
	state = str_of(doc, "state");
	if(!f.id[0] || hw_state_parse(state, &f.state, NULL) != HW_OK)
		return hw_error_set(err, HW_ERR_INVAL, "session document %s: no id or state to index", f.id);
	f.project = str_of(doc, "project");
	f.machine = str_of(doc, "machine");
	f.slot = str_of(doc, "slot");
	f.updated_at = int_of(doc, "updated_at");
	f.version = int_of(doc, "version");
	return put_checked(x, &f, json, len, err);
}

int hw__sx_put_json(hw_sx_t *x, const char *id, int64_t version, const char *json, size_t len, hw_error_t *err)
{
	bson_t doc;
	bson_error_t berr;
	hw_sx_fields_t f;
	int rc;

	if(!bson_init_from_json(&doc, json, (ssize_t)len, &berr))
		return hw_error_set(err, HW_ERR_INVAL, "session %s: document is not JSON: %s", id, berr.message);
	f.id = id;
	if(hw_state_parse(str_of(&doc, "state"), &f.state, NULL) != HW_OK){
		bson_destroy(&doc);
		return hw_error_set(err, HW_ERR_INVAL, "session %s: no state to index", id);
	}
	f.project = str_of(&doc, "project");
	f.machine = str_of(&doc, "machine");
	f.slot = str_of(&doc, "slot");
	f.updated_at = int_of(&doc, "updated_at");
	f.version = version;
	rc = put_checked(x, &f, json, len, err);
	bson_destroy(&doc);
	return rc;
}

/* ------------------------------------------------------------------ writing */

/* Empties collection name of db. */
static int empty_coll(mongoc_client_t *c, const char *db, const char *name, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, name);
	bson_t all = BSON_INITIALIZER;
	bson_error_t berr;
	int rc = HW_OK;

	if(!mongoc_collection_delete_many(coll, &all, NULL, NULL, &berr)) rc = store_err(err, name, &berr);
	bson_destroy(&all);
	mongoc_collection_destroy(coll);
	return rc;
}

int hw__sx_reset(mongoc_client_t *c, const char *db, hw_error_t *err)
{
	mongoc_database_t *d;
	bson_error_t berr;
	char **names;
	int rc;

	publish(NULL);                            /* this process's readers fall back from here on */
	rc = empty_coll(c, db, SX_DIR_COLL, err); /* the directory first */
	if(rc != HW_OK) return rc;
	/* only the page collections that exist (an index's pages use a few of them; a delete in each
	 * of HW_SX_SHARDS would cost a round trip each at every start) */
	d = mongoc_client_get_database(c, db);
	names = mongoc_database_get_collection_names_with_opts(d, NULL, &berr);
	mongoc_database_destroy(d);
	if(!names) return store_err(err, "listing the index collections", &berr);
	for(size_t i = 0; rc == HW_OK && names[i]; i++){
		if(strncmp(names[i], SX_DIR_COLL "_", sizeof(SX_DIR_COLL)) == 0) rc = empty_coll(c, db, names[i], err);
	}
	bson_strfreev(names);
	return rc;
}

typedef struct wctx {
	mongoc_client_t *c;
	const char *db;
	size_t pages, sessions;
} wctx_t;

static int upsert(mongoc_client_t *c, const char *db, const char *cname, const char *id, const bson_t *doc, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, cname);
	bson_t sel = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply;
	bson_error_t berr;
	int rc = HW_OK;

	/* `_id` alone: the one filter FerretDB 1.24 pushes down (WHERE _id = ?) */
	BSON_APPEND_UTF8(&sel, "_id", id);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	if(!mongoc_collection_replace_one(coll, &sel, doc, &opts, &reply, &berr)) rc = store_err(err, cname, &berr);
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

static int write_page(void *ctx, const hw_sx_page_out_t *p, hw_error_t *err)
{
	wctx_t *w = ctx;
	bson_t doc = BSON_INITIALIZER;
	char id[32], cname[32];
	int rc;

	snprintf(id, sizeof(id), "p%" PRId64, p->seq);
	page_coll(p->seq, cname, sizeof(cname));
	BSON_APPEND_UTF8(&doc, "_id", id);
	BSON_APPEND_UTF8(&doc, "w", hw__sx_writer());
	BSON_APPEND_UTF8(&doc, "stream", p->stream);
	BSON_APPEND_UTF8(&doc, "lo", p->lo);
	BSON_APPEND_INT64(&doc, "n", (int64_t)p->count);
	BSON_APPEND_INT64(&doc, "next", p->next);
	/* one string for all lines: FerretDB decodes a string far faster than sub-documents */
	bson_append_utf8(&doc, "e", 1, p->text, (int)p->len);
	rc = upsert(w->c, w->db, cname, id, &doc, err);
	bson_destroy(&doc);
	return rc;
}

static int write_dir(void *ctx, const char *text, size_t len, hw_error_t *err)
{
	wctx_t *w = ctx;
	bson_t doc = BSON_INITIALIZER;
	hw_sx_snap_t *s;
	int rc;

	/* parsed before the write: a directory that cannot be shared is not written either */
	s = calloc(1, sizeof(*s));
	if(!s) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the index directory");
	s->refs = 1;
	snprintf(s->db, sizeof(s->db), "%s", w->db);
	rc = hw_sx_dir_parse(&s->d, text, len, err);
	if(rc != HW_OK){
		snap_drop(s);
		return rc;
	}
	/* The document is for operators and tools (bench/bench_query.c waits for it); this
	 * process's queries take the parsed copy, published once the write succeeded. */
	BSON_APPEND_UTF8(&doc, "_id", SX_DIR_ID);
	BSON_APPEND_UTF8(&doc, "w", hw__sx_writer());
	bson_append_utf8(&doc, "d", 1, text, (int)len);
	BSON_APPEND_INT64(&doc, "sessions", (int64_t)w->sessions);
	BSON_APPEND_INT64(&doc, "pages", (int64_t)w->pages);
	BSON_APPEND_DATE_TIME(&doc, "at", hw_time_ms());
	rc = upsert(w->c, w->db, SX_DIR_COLL, SX_DIR_ID, &doc, err);
	bson_destroy(&doc);
	if(rc == HW_OK) publish(s);
	else snap_drop(s);
	return rc;
}

int hw__sx_write(hw_sx_t *x, mongoc_client_t *c, const char *db, hw_error_t *err)
{
	wctx_t w = {c, db, hw_sx_pages(x), hw_sx_sessions(x)};

	return hw_sx_flush(x, write_page, write_dir, &w, err);
}

/* ------------------------------------------------------------------ reading */

/* Reads document id of cname into a copy (*doc NULL when absent). */
static int read_one(mongoc_client_t *c, const char *db, const char *cname, const char *id, bson_t **doc, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, db, cname);
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *d;
	bson_error_t berr;
	int rc = HW_OK;

	*doc = NULL;
	BSON_APPEND_UTF8(&filter, "_id", id);
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while(mongoc_cursor_next(cur, &d)){
		if(!*doc) *doc = bson_copy(d);
	}
	if(mongoc_cursor_error(cur, &berr)){
		rc = store_err(err, cname, &berr);
		if(*doc) bson_destroy(*doc);
		*doc = NULL;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	return rc;
}

int hw__sx_read_page(mongoc_client_t *c, const char *db, int64_t seq, char **text, size_t *len, int64_t *next, hw_error_t *err)
{
	char id[32], cname[32];
	bson_t *doc;
	bson_iter_t it;
	int rc;

	*text = NULL;
	*len = 0;
	*next = 0;
	snprintf(id, sizeof(id), "p%" PRId64, seq);
	page_coll(seq, cname, sizeof(cname));
	rc = read_one(c, db, cname, id, &doc, err);
	if(rc != HW_OK) return rc;
	if(!doc) return hw_error_set(err, HW_ERR_NOTFOUND, "index page %s is gone", id);
	if(strcmp(str_of(doc, "w"), hw__sx_writer()) != 0){
		bson_destroy(doc);
		return hw_error_set(err, HW_ERR_NOTFOUND, "index page %s is another collector's", id);
	}
	if(bson_iter_init_find(&it, doc, "next")) *next = bson_iter_as_int64(&it);
	if(bson_iter_init_find(&it, doc, "e") && BSON_ITER_HOLDS_UTF8(&it)){
		uint32_t n;
		const char *t = bson_iter_utf8(&it, &n);
		*text = malloc((size_t)n + 1);
		if(!*text){
			rc = hw_error_set(err, HW_ERR_NOMEM, "out of memory for an index page");
		}else{
			memcpy(*text, t, n);
			(*text)[n] = '\0';
			*len = n;
		}
	}else{
		rc = hw_error_set(err, HW_ERR_DECODE, "index page %s without its lines", id);
	}
	bson_destroy(doc);
	return rc;
}
