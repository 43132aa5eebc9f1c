/* store_query.c: the database side of queries and commands (mongo-c-driver; with store_mongo.c
 * the only files that include it): paged reads as reply JSON, the claim fence in `leases`,
 * pauses and the command audit. Runs on the request workers, never on the ingest thread. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"
#include "heartwire/states.h"

#include "buf.h"
#include "query.h"
#include "sindex_store.h"
#include "store_bson.h"
#include "store_query.h"

/* Room kept at the end of a page for "count", "next_cursor" and the reply's own members. */
#define PAGE_TAIL_RESERVE 600

struct hw_qstore {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	char db[64];
};

/* ------------------------------------------------------------------ lifecycle */

int hw_qstore_new(hw_qstore_t **out, const char *uri, const char *db, hw_error_t *err)
{
	hw_qstore_t *qs;
	bson_error_t berr;
	int rc = HW_OK;

	*out = NULL;
	if(!db || !db[0] || strlen(db) >= sizeof(qs->db))
		return hw_error_set(err, HW_ERR_CONFIG, "--db: '%s' is not a database name", db ? db : "");
	qs = calloc(1, sizeof(*qs));
	if(!qs) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the query store");
	snprintf(qs->db, sizeof(qs->db), "%s", db);
	qs->uri = mongoc_uri_new_with_error(uri, &berr);
	if(!qs->uri){
		rc = hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
		goto fail;
	}
	/* A query must fail within a reply's patience, not hang on an unreachable server. */
	if(!mongoc_uri_has_option(qs->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(qs->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 2000);
	if(!mongoc_uri_has_option(qs->uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(qs->uri, MONGOC_URI_CONNECTTIMEOUTMS, 2000);
	if(!mongoc_uri_has_option(qs->uri, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(qs->uri, MONGOC_URI_SOCKETTIMEOUTMS, 10000);
	qs->pool = mongoc_client_pool_new_with_error(qs->uri, &berr);
	if(!qs->pool){
		rc = hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
		goto fail;
	}
	mongoc_client_pool_set_error_api(qs->pool, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_pool_set_appname(qs->pool, "heartwire-collector-queries");
	*out = qs;
	return HW_OK;
fail:
	hw_qstore_free(qs);
	return rc;
}

void hw_qstore_free(hw_qstore_t *qs)
{
	if(!qs) return;
	if(qs->pool) mongoc_client_pool_destroy(qs->pool);
	if(qs->uri) mongoc_uri_destroy(qs->uri);
	free(qs);
}

/* ------------------------------------------------------------------ a growing JSON buffer */

typedef hw_buf_t jbuf_t;

static void jb_add(jbuf_t *b, const char *s, size_t n)
{
	hw__buf_add(b, s, n);
}

static void jb_puts(jbuf_t *b, const char *s)
{
	jb_add(b, s, strlen(s));
}

static void jb_fmt(jbuf_t *b, const char *fmt, ...) HW_PRINTF(2, 3);

static void jb_fmt(jbuf_t *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if(n < 0 || (size_t)n >= sizeof(tmp)){
		b->fail = true;
		return;
	}
	jb_add(b, tmp, (size_t)n);
}

/* Hands the buffer over as the query's output. */
static int jb_finish(jbuf_t *b, char **out, hw_error_t *err)
{
	if(b->fail || !b->p){
		free(b->p);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a reply");
	}
	*out = b->p;
	return HW_OK;
}

/* ------------------------------------------------------------------ documents as JSON */

static int store_error(hw_error_t *err, const char *what, const bson_error_t *berr)
{
	return hw_error_set(err, HW_ERR_STORE, "%s: %s", what, berr->message);
}

/* A stored document as reply JSON: {id_key: _id, the other members...}, times as ms. Caller
 * frees with bson_free(). *id gets the _id (NULL when it is not a string). */
static char *doc_json(const bson_t *doc, const char *id_key, size_t *len, const char **id)
{
	bson_t conv = BSON_INITIALIZER, out = BSON_INITIALIZER;
	bson_iter_t it;
	char *json;

	*id = NULL;
	if(bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)) *id = bson_iter_utf8(&it, NULL);
	bson_iter_init(&it, doc);
	hw__store_dates_to_ms(&it, &conv);
	if(*id) BSON_APPEND_UTF8(&out, id_key, *id);
	bson_iter_init(&it, &conv);
	while(bson_iter_next(&it)){
		const char *k = bson_iter_key(&it);
		if(strcmp(k, "_id") == 0 || strcmp(k, id_key) == 0) continue;
		bson_append_iter(&out, k, -1, &it);
	}
	json = bson_as_relaxed_extended_json(&out, len);
	bson_destroy(&conv);
	bson_destroy(&out);
	return json;
}

/* The string _id of a stored document, or NULL. */
static const char *doc_id(const bson_t *doc)
{
	bson_iter_t it;

	if(bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_UTF8(&it)) return bson_iter_utf8(&it, NULL);
	return NULL;
}

static int64_t doc_time(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if(!bson_iter_init_find(&it, doc, key)) return 0;
	if(BSON_ITER_HOLDS_DATE_TIME(&it)) return bson_iter_date_time(&it);
	if(BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)) return bson_iter_as_int64(&it);
	return 0;
}

/* ------------------------------------------------------------------ paging */

typedef struct page {
	jbuf_t b;
	size_t budget;
	int64_t limit;
	int64_t n;
	bool more;
	bool too_big; /* one document alone is over the budget: big_id */
	char big_id[HW_EVENT_KEY_MAX];
	char last[HW_CURSOR_MAX + 1]; /* cursor key of the last document included */
} page_t;

/* Starts an empty page of at most limit documents and budget bytes, opened with head
 * ("{\"sessions\":["). */
static void page_init(page_t *pg, size_t budget, int64_t limit, const char *head)
{
	memset(pg, 0, sizeof(*pg));
	pg->budget = budget;
	pg->limit = limit;
	jb_puts(&pg->b, head);
}

/* True (and more is set) when the page holds its limit: the next document is not read. */
static bool page_full(page_t *pg)
{
	if(pg->n < pg->limit) return false;
	pg->more = true;
	return true;
}

/* Adds one document's JSON to the page. Returns 1 when added, 0 when the page is full (more),
 * -1 when this first document alone is over the budget. */
static int page_add(page_t *pg, const char *json, size_t len)
{
	if(pg->b.len + len + 1 + PAGE_TAIL_RESERVE > pg->budget){
		if(pg->n == 0) return -1;
		pg->more = true;
		return 0;
	}
	if(pg->n) jb_add(&pg->b, ",", 1);
	jb_add(&pg->b, json, len);
	pg->n++;
	return 1;
}

/* Offers one document (id names it in the error when it alone is too big; key is its cursor
 * key). True to go on reading; false when the page is full or the document is too big. */
static bool page_take(page_t *pg, const char *json, size_t len, const char *id, const char *key)
{
	int r = page_add(pg, json, len);

	if(r < 0){
		pg->too_big = true;
		snprintf(pg->big_id, sizeof(pg->big_id), "%s", id);
	}
	if(r <= 0) return false;
	snprintf(pg->last, sizeof(pg->last), "%s", key);
	return true;
}

/* Closes the array and adds "count" and, when there is more, "next_cursor". */
static void page_end(page_t *pg, char kind)
{
	char cur[HW_CURSOR_MAX + 1];

	jb_fmt(&pg->b, "],\"count\":%" PRId64, pg->n);
	if(pg->more && hw_cursor_encode(kind, pg->last, cur, sizeof(cur)) == HW_OK)
		jb_fmt(&pg->b, ",\"next_cursor\":\"%s\"", cur);
	jb_puts(&pg->b, "}");
}

static int too_large(hw_error_t *err, const char *what, const char *id)
{
	return hw_error_set(err, HW_ERR_INVAL, "%s %s is larger than a reply may be (the broker's message size limit)", what,
			id ? id : "?");
}

/* Ends a page read with rc: the reply JSON into *out (a cursor of kind when there is more), or
 * the error (what names the kind of document that was too big). Frees the page on failure. */
static int page_finish(page_t *pg, int rc, const char *what, char kind, char **out, hw_error_t *err)
{
	if(rc == HW_OK && pg->too_big) rc = too_large(err, what, pg->big_id);
	if(rc != HW_OK){
		free(pg->b.p);
		return rc;
	}
	page_end(pg, kind);
	return jb_finish(&pg->b, out, err);
}

static void append_date_gte(bson_t *filter, const char *key, int64_t since)
{
	bson_t d;

	BSON_APPEND_DOCUMENT_BEGIN(filter, key, &d);
	BSON_APPEND_DATE_TIME(&d, "$gte", since);
	bson_append_document_end(filter, &d);
}

/* Runs find(filter, opts) on coll and feeds each document to fn until it returns false. */
typedef bool (*doc_fn)(void *ctx, const bson_t *doc);

static int run_find(hw_qstore_t *qs, const char *coll_name, const bson_t *filter, const bson_t *opts, doc_fn fn, void *ctx,
		hw_error_t *err)
{
	mongoc_client_t *c = mongoc_client_pool_pop(qs->pool);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, qs->db, coll_name);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t berr;
	int rc = HW_OK;

	bool more = true;

	/* The cursor is always read to its end (a page asks for at most limit + 1 documents), so no
	 * server-side cursor is left behind for the server to time out. */
	while(mongoc_cursor_next(cur, &doc)){
		if(more) more = fn(ctx, doc);
	}
	if(mongoc_cursor_error(cur, &berr)) rc = store_error(err, coll_name, &berr);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(qs->pool, c);
	return rc;
}

/* ------------------------------------------------------------------ q/sessions */

static bool sessions_doc(void *ctx, const bson_t *doc)
{
	page_t *pg = ctx;
	const char *id = doc_id(doc);
	size_t len;
	char *json;
	bool more;

	if(!id) return true;
	if(page_full(pg)) return false;
	json = hw__store_session_json(doc, NULL, &len);
	if(!json){
		pg->b.fail = true;
		return false;
	}
	more = page_take(pg, json, len, id, id);
	bson_free(json);
	return more;
}

/* One stream of the session index being read: its current page and line. */
typedef struct sx_it {
	int64_t next;     /* the page to read when this one is done; 0: the end */
	char *text;       /* the current page's lines (owned) */
	char *pos;        /* the next line in text; NULL: the page is done */
	hw_sx_line_t cur; /* the current line (points into text) when have */
	bool have;
} sx_it_t;

/* Moves it to its next line with an id greater than after, reading pages as needed. */
static int sx_it_advance(hw_qstore_t *qs, mongoc_client_t *c, sx_it_t *it, const char *after, hw_error_t *err)
{
	for(;;){
		while(it->pos && *it->pos){
			char *line = it->pos, *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			if(nl){
				*nl = '\0';
				it->pos = nl + 1;
			}else{
				it->pos = NULL;
			}
			if(hw_sx_line_parse(line, len, &it->cur) != HW_OK)
				return hw_error_set(err, HW_ERR_DECODE, "session index: a page line does not parse");
			if(after[0] && strcmp(it->cur.id, after) <= 0) continue;
			it->have = true;
			return HW_OK;
		}
		free(it->text);
		it->text = it->pos = NULL;
		it->have = false;
		if(!it->next) return HW_OK;
		{
			size_t len;
			int64_t next;
			int rc = hw__sx_read_page(c, qs->db, it->next, &it->text, &len, &next, err);
			if(rc != HW_OK) return rc;
			it->next = next;
			it->pos = it->text;
		}
	}
}

/* q/sessions from the session index (collector/sindex.c): the directory, then the pages of the
 * planned streams merged in _id order (a session seen in two streams while it moves between
 * them counts once, at its newest version). *fallback is set when there is no usable index (not
 * built yet, or rebuilt under this reader): the caller then reads `sessions` itself. */
static int sessions_from_index(hw_qstore_t *qs, const hw_request_t *req, const char *after, size_t budget, char **out,
		bool *fallback, hw_error_t *err)
{
	mongoc_client_t *c = mongoc_client_pool_pop(qs->pool);
	const hw_sx_dir_stream_t *plan[HW_STATE__COUNT];
	sx_it_t its[HW_STATE__COUNT];
	const hw_sx_dir_t *d;
	hw_sx_snap_t *snap;
	page_t pg;
	size_t n = 0;
	int rc = HW_OK;

	*fallback = false;
	memset(its, 0, sizeof(its));
	page_init(&pg, budget, req->limit, "{\"sessions\":[");
	/* the directory this process's store thread wrote last: no database read */
	d = hw__sx_dir_acquire(qs->db, &snap);
	if(!d) goto cleanup;
	n = hw_sx_plan(d, req, plan, HW_STATE__COUNT);
	for(size_t i = 0; rc == HW_OK && i < n; i++){
		its[i].next = plan[i]->pages[hw_sx_dir_start(plan[i], after)].seq;
		rc = sx_it_advance(qs, c, &its[i], after, err);
	}
	while(rc == HW_OK){
		sx_it_t *best = NULL;
		char id[HW_ID_MAX + 1];
		for(size_t i = 0; i < n; i++){
			int cmp;
			if(!its[i].have) continue;
			cmp = best ? strcmp(its[i].cur.id, best->cur.id) : -1;
			if(cmp < 0 || (cmp == 0 && its[i].cur.version > best->cur.version)) best = &its[i];
		}
		if(!best) break;
		if(hw_sx_match(&best->cur, req) &&
				(page_full(&pg) ||
						!page_take(&pg, best->cur.json, best->cur.json_len, best->cur.id, best->cur.id)))
			break;
		snprintf(id, sizeof(id), "%s", best->cur.id);
		for(size_t i = 0; rc == HW_OK && i < n; i++){
			if(its[i].have && strcmp(its[i].cur.id, id) == 0) rc = sx_it_advance(qs, c, &its[i], id, err);
		}
	}
cleanup:
	if(rc == HW_ERR_NOTFOUND || rc == HW_ERR_DECODE || (rc == HW_OK && !d)) *fallback = true;
	for(size_t i = 0; i < n; i++) free(its[i].text);
	hw__sx_dir_release(snap);
	mongoc_client_pool_push(qs->pool, c);
	if(*fallback){
		free(pg.b.p);
		return HW_OK;
	}
	return page_finish(&pg, rc, "session", HW_CURSOR_SESSIONS, out, err);
}

int hw_qstore_sessions(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, d, a;
	char after[HW_ID_MAX + 1] = "";
	page_t pg;
	int nstates = 0, only = 0, rc;

	bool fallback;

	*out = NULL;
	if(req->cursor[0]){
		rc = hw_cursor_decode(HW_CURSOR_SESSIONS, req->cursor, after, sizeof(after), err);
		if(rc != HW_OK) return rc;
	}
	rc = sessions_from_index(qs, req, after, budget, out, &fallback, err);
	if(rc != HW_OK || !fallback) return rc;
	/* No index yet (the collector is building it): the sessions collection itself. */
	for(int s = 1; s < HW_STATE__COUNT; s++){
		if(req->states & (1u << s)){
			nstates++;
			only = s;
		}
	}
	/* One state is an equality (which FerretDB pushes down to SQL); several are $in. */
	if(nstates == 1){
		BSON_APPEND_UTF8(&filter, "state", hw_state_name(only));
	}else if(nstates > 1){
		int i = 0;
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "state", &d);
		BSON_APPEND_ARRAY_BEGIN(&d, "$in", &a);
		for(int s = 1; s < HW_STATE__COUNT; s++){
			char idx[12];
			if(!(req->states & (1u << s))) continue;
			snprintf(idx, sizeof(idx), "%d", i++);
			BSON_APPEND_UTF8(&a, idx, hw_state_name(s));
		}
		bson_append_array_end(&d, &a);
		bson_append_document_end(&filter, &d);
	}
	if(req->project[0]) BSON_APPEND_UTF8(&filter, "project", req->project);
	if(req->machine[0]) BSON_APPEND_UTF8(&filter, "machine", req->machine);
	if(req->slot[0]) BSON_APPEND_UTF8(&filter, "slot", req->slot);
	if(req->updated_since > 0) append_date_gte(&filter, "updated_at", req->updated_since);
	if(after[0]){
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &d);
		BSON_APPEND_UTF8(&d, "$gt", after);
		bson_append_document_end(&filter, &d);
	}
	/* _id order: stable while sessions change, so a cursor (the last _id) pages every
	 * matching session exactly once. */
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &d);
	BSON_APPEND_INT32(&d, "_id", 1);
	bson_append_document_end(&opts, &d);
	BSON_APPEND_INT64(&opts, "limit", req->limit + 1);
	page_init(&pg, budget, req->limit, "{\"sessions\":[");
	rc = run_find(qs, "sessions", &filter, &opts, sessions_doc, &pg, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return page_finish(&pg, rc, "session", HW_CURSOR_SESSIONS, out, err);
}

/* ------------------------------------------------------------------ q/events */

typedef struct ev_ctx {
	page_t pg;
	/* q/session: newest first, kept to be written oldest first */
	char **keep;
	size_t *keep_len;
	size_t nkeep, cap;
	size_t kept_bytes;
} ev_ctx_t;

static bool events_doc(void *ctx, const bson_t *doc)
{
	ev_ctx_t *x = ctx;
	char key[HW_CURSOR_MAX + 1];
	const char *id;
	size_t len;
	char *json;
	bool more;

	if(page_full(&x->pg)) return false;
	json = doc_json(doc, "id", &len, &id);
	if(!json){
		x->pg.b.fail = true;
		return false;
	}
	if(!id){
		bson_free(json);
		return true;
	}
	snprintf(key, sizeof(key), "%" PRId64 "|%s", doc_time(doc, "at"), id);
	more = page_take(&x->pg, json, len, id, key);
	bson_free(json);
	return more;
}

int hw_qstore_events(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, d;
	char key[HW_CURSOR_MAX + 1] = "";
	ev_ctx_t x;
	int rc;

	*out = NULL;
	if(req->cursor[0]){
		rc = hw_cursor_decode(HW_CURSOR_EVENTS, req->cursor, key, sizeof(key), err);
		if(rc != HW_OK) return rc;
	}
	if(req->session[0]) BSON_APPEND_UTF8(&filter, "session", req->session);
	if(req->updated_since > 0) append_date_gte(&filter, "at", req->updated_since);
	if(key[0]){
		/* after (at, id): at > A, or at == A and _id > I */
		char *bar = strchr(key, '|');
		int64_t at = strtoll(key, NULL, 10);
		bson_t or, o0, o1, gt;
		BSON_APPEND_ARRAY_BEGIN(&filter, "$or", & or);
		BSON_APPEND_DOCUMENT_BEGIN(& or, "0", &o0);
		BSON_APPEND_DOCUMENT_BEGIN(&o0, "at", &gt);
		BSON_APPEND_DATE_TIME(&gt, "$gt", at);
		bson_append_document_end(&o0, &gt);
		bson_append_document_end(& or, &o0);
		BSON_APPEND_DOCUMENT_BEGIN(& or, "1", &o1);
		BSON_APPEND_DATE_TIME(&o1, "at", at);
		BSON_APPEND_DOCUMENT_BEGIN(&o1, "_id", &gt);
		BSON_APPEND_UTF8(&gt, "$gt", bar ? bar + 1 : "");
		bson_append_document_end(&o1, &gt);
		bson_append_document_end(& or, &o1);
		bson_append_array_end(&filter, & or);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &d);
	BSON_APPEND_INT32(&d, "at", 1);
	BSON_APPEND_INT32(&d, "_id", 1);
	bson_append_document_end(&opts, &d);
	BSON_APPEND_INT64(&opts, "limit", req->limit + 1);
	memset(&x, 0, sizeof(x));
	page_init(&x.pg, budget, req->limit, "{\"events\":[");
	rc = run_find(qs, "events", &filter, &opts, events_doc, &x, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return page_finish(&x.pg, rc, "event", HW_CURSOR_EVENTS, out, err);
}

/* ------------------------------------------------------------------ q/session */

static bool session_events_doc(void *ctx, const bson_t *doc)
{
	ev_ctx_t *x = ctx;
	const char *id;
	size_t len;
	char *json;

	if((int64_t)x->nkeep == x->pg.limit) return false;
	json = doc_json(doc, "id", &len, &id);
	if(!json){
		x->pg.b.fail = true;
		return false;
	}
	if(x->kept_bytes + len + 1 > x->pg.budget){
		bson_free(json);
		return false;
	}
	if(x->nkeep == x->cap){
		size_t cap = x->cap ? x->cap * 2 : 32;
		char **k = realloc(x->keep, cap * sizeof(*k));
		size_t *l = k ? realloc(x->keep_len, cap * sizeof(*l)) : NULL;
		if(k) x->keep = k;
		if(!k || !l){
			bson_free(json);
			x->pg.b.fail = true;
			return false;
		}
		x->keep_len = l;
		x->cap = cap;
	}
	x->keep[x->nkeep] = json;
	x->keep_len[x->nkeep++] = len;
	x->kept_bytes += len + 1;
	return true;
}

typedef struct one_ctx {
	bson_t *copy;
} one_ctx_t;

static bool one_doc(void *ctx, const bson_t *doc)
{
	one_ctx_t *x = ctx;

	x->copy = bson_copy(doc);
	return false;
}

/* Reads sessions/{id} into a copy (caller destroys); NULL when absent. */
static int find_session(hw_qstore_t *qs, const char *id, bson_t **doc, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	one_ctx_t x = {0};
	int rc;

	BSON_APPEND_UTF8(&filter, "_id", id);
	rc = run_find(qs, "sessions", &filter, NULL, one_doc, &x, err);
	bson_destroy(&filter);
	*doc = x.copy;
	if(rc != HW_OK && x.copy){
		bson_destroy(x.copy);
		*doc = NULL;
	}
	return rc;
}

int hw_qstore_session(hw_qstore_t *qs, const hw_request_t *req, size_t budget, char **out, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, d, *doc = NULL;
	char *json = NULL;
	size_t len;
	ev_ctx_t x;
	jbuf_t b = {0};
	int rc;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	rc = find_session(qs, req->session, &doc, err);
	if(rc != HW_OK) goto cleanup;
	if(!doc){
		rc = hw_error_set(err, HW_ERR_NOTFOUND, "no session '%s'", req->session);
		goto cleanup;
	}
	json = hw__store_session_json(doc, NULL, &len);
	if(!json){
		rc = hw_error_set(err, HW_ERR_NOMEM, "out of memory for a reply");
		goto cleanup;
	}
	if(len + PAGE_TAIL_RESERVE > budget){
		rc = too_large(err, "session", req->session);
		goto cleanup;
	}
	BSON_APPEND_UTF8(&filter, "session", req->session);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &d);
	BSON_APPEND_INT32(&d, "at", -1);
	BSON_APPEND_INT32(&d, "_id", -1);
	bson_append_document_end(&opts, &d);
	BSON_APPEND_INT64(&opts, "limit", req->limit);
	x.pg.limit = req->limit;
	x.pg.budget = budget - len - PAGE_TAIL_RESERVE;
	rc = run_find(qs, "events", &filter, &opts, session_events_doc, &x, err);
	if(rc != HW_OK) goto cleanup;
	jb_puts(&b, "{\"session\":");
	jb_add(&b, json, len);
	jb_puts(&b, ",\"events\":[");
	for(size_t i = x.nkeep; i-- > 0;){
		jb_add(&b, x.keep[i], x.keep_len[i]);
		if(i) jb_add(&b, ",", 1);
	}
	jb_puts(&b, "]}");
	if(x.pg.b.fail) b.fail = true;
	rc = jb_finish(&b, out, err);
	b.p = NULL;
cleanup:
	free(b.p);
	for(size_t i = 0; i < x.nkeep; i++) bson_free(x.keep[i]);
	free(x.keep);
	free(x.keep_len);
	bson_free(json);
	if(doc) bson_destroy(doc);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

int hw_qstore_get_session(hw_qstore_t *qs, const char *id, hw_session_t *out, int64_t *birth_epoch, hw_error_t *err)
{
	bson_t *doc = NULL;
	char *json;
	size_t len;
	int rc = find_session(qs, id, &doc, err);

	*out = (hw_session_t)HW_SESSION_INIT;
	if(rc != HW_OK) return rc;
	if(!doc) return hw_error_set(err, HW_ERR_NOTFOUND, "no session '%s'", id);
	json = hw__store_session_json(doc, birth_epoch, &len);
	bson_destroy(doc);
	if(!json) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a session");
	rc = hw_session_decode(json, len, out, err);
	bson_free(json);
	return rc;
}

int hw_qstore_session_version(hw_qstore_t *qs, const char *id, int64_t *version, hw_error_t *err)
{
	bson_t *doc = NULL;
	bson_iter_t it;
	int rc = find_session(qs, id, &doc, err);

	*version = 0;
	if(rc != HW_OK || !doc) return rc;
	if(bson_iter_init_find(&it, doc, "version")) *version = bson_iter_as_int64(&it);
	bson_destroy(doc);
	return HW_OK;
}

/* ------------------------------------------------------------------ q/projects, q/machines */

typedef struct roll_ctx {
	page_t pg;
	const char *key;
} roll_ctx_t;

static bool rollups_doc(void *ctx, const bson_t *doc)
{
	roll_ctx_t *x = ctx;
	const char *id;
	size_t len;
	char *json;
	bool more;

	if(page_full(&x->pg)) return false;
	json = doc_json(doc, x->key, &len, &id);
	if(!json){
		x->pg.b.fail = true;
		return false;
	}
	if(!id){
		bson_free(json);
		return true;
	}
	more = page_take(&x->pg, json, len, id, id);
	bson_free(json);
	return more;
}

int hw_qstore_rollups(hw_qstore_t *qs, bool machines, const hw_request_t *req, size_t budget, char **out, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, d;
	const char *one = machines ? req->machine : req->project;
	char kind = machines ? HW_CURSOR_MACHINES : HW_CURSOR_PROJECTS;
	char after[HW_ID_MAX + 1] = "";
	roll_ctx_t x;
	int rc;

	*out = NULL;
	if(req->cursor[0]){
		rc = hw_cursor_decode(kind, req->cursor, after, sizeof(after), err);
		if(rc != HW_OK) return rc;
	}
	if(one[0]){
		BSON_APPEND_UTF8(&filter, "_id", one);
	}else if(after[0]){
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &d);
		BSON_APPEND_UTF8(&d, "$gt", after);
		bson_append_document_end(&filter, &d);
	}
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &d);
	BSON_APPEND_INT32(&d, "_id", 1);
	bson_append_document_end(&opts, &d);
	BSON_APPEND_INT64(&opts, "limit", req->limit + 1);
	page_init(&x.pg, budget, req->limit, machines ? "{\"machines\":[" : "{\"projects\":[");
	x.key = machines ? "machine" : "project";
	rc = run_find(qs, machines ? "machines" : "projects", &filter, &opts, rollups_doc, &x, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	if(rc == HW_OK && !x.pg.too_big && one[0] && x.pg.n == 0)
		rc = hw_error_set(err, HW_ERR_NOTFOUND, "no %s '%s'", x.key, one);
	return page_finish(&x.pg, rc, x.key, kind, out, err);
}

/* ------------------------------------------------------------------ the claim fence */

static void lease_read(const bson_t *doc, hw_lease_t *l)
{
	bson_iter_t it;

	memset(l, 0, sizeof(*l));
	if(bson_iter_init_find(&it, doc, "generation")) l->generation = bson_iter_as_int64(&it);
	if(bson_iter_init_find(&it, doc, "token") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(l->token, sizeof(l->token), "%s", bson_iter_utf8(&it, NULL));
	if(bson_iter_init_find(&it, doc, "claimant") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(l->claimant, sizeof(l->claimant), "%s", bson_iter_utf8(&it, NULL));
	if(bson_iter_init_find(&it, doc, "released")) l->released = bson_iter_as_bool(&it);
	l->at = doc_time(doc, "at");
	l->lease_until = doc_time(doc, "lease_until");
}

static bool lease_doc(void *ctx, const bson_t *doc)
{
	hw_lease_t *l = ctx;

	lease_read(doc, l);
	return false;
}

/* The newest lease of session into *l; l->generation 0 when there is none. */
static int lease_newest(hw_qstore_t *qs, const char *session, hw_lease_t *l, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER, d;
	char lo[HW_ID_MAX + 2], hi[HW_ID_MAX + 2];
	int rc;

	memset(l, 0, sizeof(*l));
	/* _ids "{session}:{generation, 12 digits}" sort by generation within a session; the range
	 * keeps the lookup on the _id index, the session member keeps "a" from matching "a:b". */
	snprintf(lo, sizeof(lo), "%s:", session);
	snprintf(hi, sizeof(hi), "%s;", session);
	BSON_APPEND_DOCUMENT_BEGIN(&filter, "_id", &d);
	BSON_APPEND_UTF8(&d, "$gte", lo);
	BSON_APPEND_UTF8(&d, "$lt", hi);
	bson_append_document_end(&filter, &d);
	BSON_APPEND_UTF8(&filter, "session", session);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &d);
	BSON_APPEND_INT32(&d, "_id", -1);
	bson_append_document_end(&opts, &d);
	BSON_APPEND_INT64(&opts, "limit", 1);
	rc = run_find(qs, "leases", &filter, &opts, lease_doc, l, err);
	bson_destroy(&filter);
	bson_destroy(&opts);
	return rc;
}

/* 64 random bits as 16 hex digits. */
static void random_hex(char out[17])
{
	uint64_t v = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if(fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = (uint64_t)hw_mono_us() * 6364136223846793005ULL ^ (uint64_t)getpid() ^ (uint64_t)hw_time_ms();
	if(fd >= 0) close(fd);
	snprintf(out, 17, "%016" PRIx64, v);
}

int hw_qstore_lease_claim(hw_qstore_t *qs, const char *session, const char *claimant, int64_t lease_ms, int64_t now,
		hw_lease_t *out, hw_error_t *err)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t doc = BSON_INITIALIZER, reply;
	bson_error_t berr;
	hw_lease_t cur;
	char id[HW_ID_MAX + 32], hex[17];
	bool ok;
	int rc;

	rc = lease_newest(qs, session, &cur, err);
	if(rc != HW_OK) return rc;
	if(cur.generation > 0 && !cur.released && cur.lease_until > now){
		*out = cur;
		return hw_error_set(err, HW_ERR_CONFLICT,
				"session %s is claimed by %s until %" PRId64 " (generation %" PRId64 ")", session, cur.claimant,
				cur.lease_until, cur.generation);
	}
	memset(out, 0, sizeof(*out));
	out->generation = cur.generation + 1;
	random_hex(hex);
	snprintf(out->token, sizeof(out->token), "g%" PRId64 "-%s", out->generation, hex);
	snprintf(out->claimant, sizeof(out->claimant), "%s", claimant);
	out->at = now;
	out->lease_until = now + lease_ms;
	snprintf(id, sizeof(id), "%s:%012" PRId64, session, out->generation);
	BSON_APPEND_UTF8(&doc, "_id", id);
	BSON_APPEND_UTF8(&doc, "session", session);
	BSON_APPEND_INT64(&doc, "generation", out->generation);
	BSON_APPEND_UTF8(&doc, "token", out->token);
	BSON_APPEND_UTF8(&doc, "claimant", claimant);
	BSON_APPEND_DATE_TIME(&doc, "at", now);
	BSON_APPEND_DATE_TIME(&doc, "lease_until", out->lease_until);
	BSON_APPEND_BOOL(&doc, "released", false);
	c = mongoc_client_pool_pop(qs->pool);
	coll = mongoc_client_get_collection(c, qs->db, "leases");
	ok = mongoc_collection_insert_one(coll, &doc, NULL, &reply, &berr);
	if(!ok){
		if(berr.code == 11000){
			rc = hw_error_set(err, HW_ERR_CONFLICT, "session %s: another claimer took generation %" PRId64 " first",
					session, out->generation);
		}else{
			rc = store_error(err, "leases", &berr);
		}
	}
	bson_destroy(&reply);
	bson_destroy(&doc);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(qs->pool, c);
	return rc;
}

int hw_qstore_lease_release(
		hw_qstore_t *qs, const char *session, const char *token, int64_t now, hw_lease_t *out, hw_error_t *err)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set, reply;
	bson_error_t berr;
	hw_lease_t cur;
	char id[HW_ID_MAX + 32];
	int rc = lease_newest(qs, session, &cur, err);

	if(out) *out = cur;
	if(rc != HW_OK) return rc;
	if(cur.generation == 0) return hw_error_set(err, HW_ERR_CONFLICT, "session %s has never been claimed", session);
	if(strcmp(cur.token, token) != 0)
		return hw_error_set(err, HW_ERR_CONFLICT, "token %s does not hold the claim of %s (generation %" PRId64 " does)",
				token, session, cur.generation);
	if(cur.released) return HW_OK;
	snprintf(id, sizeof(id), "%s:%012" PRId64, session, cur.generation);
	BSON_APPEND_UTF8(&sel, "_id", id);
	BSON_APPEND_UTF8(&sel, "token", token);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_BOOL(&set, "released", true);
	BSON_APPEND_DATE_TIME(&set, "released_at", now);
	bson_append_document_end(&upd, &set);
	c = mongoc_client_pool_pop(qs->pool);
	coll = mongoc_client_get_collection(c, qs->db, "leases");
	if(!mongoc_collection_update_one(coll, &sel, &upd, NULL, &reply, &berr)) rc = store_error(err, "leases", &berr);
	else if(out) out->released = true;
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&upd);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(qs->pool, c);
	return rc;
}

/* ------------------------------------------------------------------ pauses */

int hw_qstore_pause_put(hw_qstore_t *qs, const char *project, const hw_pause_t *p, int64_t now, hw_error_t *err)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t sel = BSON_INITIALIZER, doc = BSON_INITIALIZER, opts = BSON_INITIALIZER, reply;
	bson_error_t berr;
	char id[HW_ID_MAX + 16];
	int rc = HW_OK;

	snprintf(id, sizeof(id), "%s%s", project ? "project:" : "global", project ? project : "");
	BSON_APPEND_UTF8(&sel, "_id", id);
	if(project) BSON_APPEND_UTF8(&doc, "project", project);
	BSON_APPEND_BOOL(&doc, "paused", p->paused);
	if(p->reason[0]) BSON_APPEND_UTF8(&doc, "reason", p->reason);
	if(p->resume_at > 0) BSON_APPEND_DATE_TIME(&doc, "resume_at", p->resume_at);
	else BSON_APPEND_NULL(&doc, "resume_at");
	if(p->by[0]) BSON_APPEND_UTF8(&doc, "by", p->by);
	BSON_APPEND_DATE_TIME(&doc, "at", now);
	BSON_APPEND_BOOL(&opts, "upsert", true);
	c = mongoc_client_pool_pop(qs->pool);
	coll = mongoc_client_get_collection(c, qs->db, "pauses");
	if(!mongoc_collection_replace_one(coll, &sel, &doc, &opts, &reply, &berr)) rc = store_error(err, "pauses", &berr);
	bson_destroy(&reply);
	bson_destroy(&sel);
	bson_destroy(&doc);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(qs->pool, c);
	return rc;
}

typedef struct pause_ctx {
	hw_qstore_pause_fn fn;
	void *ctx;
} pause_ctx_t;

static bool pause_doc(void *ctx, const bson_t *doc)
{
	pause_ctx_t *x = ctx;
	hw_pause_t p = HW_PAUSE_INIT;
	bson_iter_t it;
	const char *project = NULL;

	if(bson_iter_init_find(&it, doc, "project") && BSON_ITER_HOLDS_UTF8(&it)){
		project = bson_iter_utf8(&it, NULL);
		if(hw_id_check("project", project, NULL) != HW_OK) return true;
	}
	if(bson_iter_init_find(&it, doc, "paused")) p.paused = bson_iter_as_bool(&it);
	if(bson_iter_init_find(&it, doc, "reason") && BSON_ITER_HOLDS_UTF8(&it)){
		uint32_t n;
		const char *r = bson_iter_utf8(&it, &n);
		hw_text_cut(p.reason, HW_TEXT_MAX, r, n);
	}
	if(bson_iter_init_find(&it, doc, "by") && BSON_ITER_HOLDS_UTF8(&it))
		snprintf(p.by, sizeof(p.by), "%s", bson_iter_utf8(&it, NULL));
	p.resume_at = doc_time(doc, "resume_at");
	x->fn(x->ctx, project, &p);
	return true;
}

int hw_qstore_pause_load(hw_qstore_t *qs, hw_qstore_pause_fn fn, void *ctx, hw_error_t *err)
{
	bson_t filter = BSON_INITIALIZER;
	pause_ctx_t x = {fn, ctx};
	int rc = run_find(qs, "pauses", &filter, NULL, pause_doc, &x, err);

	bson_destroy(&filter);
	return rc;
}

/* ------------------------------------------------------------------ the audit */

void hw_audit_init(hw_audit_t *a, const char *cmd, int64_t at)
{
	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->at = at;
	a->generation = -1;
	a->from_state = a->from_cause = a->to_state = a->to_cause = -1;
	a->paused = -1;
}

int hw_qstore_audit(hw_qstore_t *qs, const hw_audit_t *a, hw_error_t *err)
{
	mongoc_client_t *c;
	mongoc_collection_t *coll;
	bson_t doc = BSON_INITIALIZER, sub, reply;
	bson_error_t berr;
	char id[HW_EVENT_KEY_MAX], hex[17];
	int rc = HW_OK;

	random_hex(hex);
	snprintf(id, sizeof(id), "%s:cmd:%" PRId64 ":%s:%s",
			a->session[0]                   ? a->session
					: a->project[0] ? a->project
							: "global",
			a->at, a->cmd, hex);
	BSON_APPEND_UTF8(&doc, "_id", id);
	if(a->session[0]) BSON_APPEND_UTF8(&doc, "session", a->session);
	if(a->machine[0]) BSON_APPEND_UTF8(&doc, "machine", a->machine);
	if(a->project[0]) BSON_APPEND_UTF8(&doc, "project", a->project);
	BSON_APPEND_DATE_TIME(&doc, "at", a->at);
	BSON_APPEND_UTF8(&doc, "kind", "command");
	BSON_APPEND_UTF8(&doc, "cmd", a->cmd);
	if(a->reason[0]) BSON_APPEND_UTF8(&doc, "reason", a->reason);
	if(a->claimant[0]) BSON_APPEND_UTF8(&doc, "claimant", a->claimant);
	if(a->generation >= 0) BSON_APPEND_INT64(&doc, "generation", a->generation);
	if(a->from_state >= 0){
		BSON_APPEND_DOCUMENT_BEGIN(&doc, "from", &sub);
		BSON_APPEND_UTF8(&sub, "state", hw_state_name(a->from_state));
		BSON_APPEND_UTF8(&sub, "cause", hw_cause_name(a->from_cause));
		bson_append_document_end(&doc, &sub);
		BSON_APPEND_DOCUMENT_BEGIN(&doc, "to", &sub);
		BSON_APPEND_UTF8(&sub, "state", hw_state_name(a->to_state));
		BSON_APPEND_UTF8(&sub, "cause", hw_cause_name(a->to_cause));
		bson_append_document_end(&doc, &sub);
	}
	if(a->paused >= 0){
		BSON_APPEND_BOOL(&doc, "paused", a->paused != 0);
		if(a->resume_at > 0) BSON_APPEND_DATE_TIME(&doc, "resume_at", a->resume_at);
	}
	c = mongoc_client_pool_pop(qs->pool);
	coll = mongoc_client_get_collection(c, qs->db, "events");
	if(!mongoc_collection_insert_one(coll, &doc, NULL, &reply, &berr)) rc = store_error(err, "events", &berr);
	bson_destroy(&reply);
	bson_destroy(&doc);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(qs->pool, c);
	return rc;
}
