/* store_mongo.c: the collector's MongoDB persistence (the only file that includes
 * mongo-c-driver): document mapping, indexes, the start-up load and the store thread. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/states.h"

#include "sindex_store.h"
#include "store.h"
#include "store_bson.h"

#define STORE_BATCH_DEFAULT 1000
#define STORE_BACKOFF_MIN_MS 100
#define STORE_BACKOFF_MAX_MS 5000
#define STORE_PRUNE_DEFAULT_MS (3600 * 1000)
/* Statements per write command. FerretDB 1.24 (SQLite backend) holds one pooled SQLite
 * connection per upsert statement until the whole command ends, and an `update` command of
 * 100 or more upserts exhausts its pool and deadlocks the server (seen here: 100 open Rows in
 * one MsgUpdate, BeginTx waiting forever). 50 keeps well clear of that and still batches. */
#define STORE_BULK_CHUNK 50
/* Heartbeat-only changes reach the session index at most this late (transitions at once). */
#define STORE_INDEX_FLUSH_MS 250

struct hw_store {
	mongoc_uri_t *uri;
	mongoc_client_pool_t *pool;
	char db[64];
	int64_t events_retention_ms;
	int64_t prune_every_ms;
	int batch_max;
	hw_storeq_t *q;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock; /* guards stats, stopping, drain_until */
	pthread_cond_t wake;  /* interrupts the retry back-off on stop */
	bool stopping;
	int64_t drain_until; /* monotonic ms: give up on unwritten ops after this */
	uint64_t unwritten;
	hw_store_stats_t stats;
	hw_log_limit_t reject_limit;
	/* The session index (collector/sindex.c): filled by the load, then only by the store thread. */
	hw_sx_t *sx;
	bool sx_reset;      /* the previous index was cleared (once, before the first write) */
	bool sx_broken;     /* out of memory once: the index is removed and queries read `sessions` */
	bool sx_removed;    /* ... and it has been removed */
	int64_t sx_flushed; /* hw_mono_ms() of the last index write */
};

/* ------------------------------------------------------------------ driver glue */

static void driver_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	int lvl;

	(void)data;
	switch(level){
	case MONGOC_LOG_LEVEL_ERROR:
	case MONGOC_LOG_LEVEL_CRITICAL:
		lvl = HW_LOG_ERROR;
		break;
	case MONGOC_LOG_LEVEL_WARNING:
		lvl = HW_LOG_WARN;
		break;
	default:
		return; /* the driver's info/debug/trace lines are too chatty for operators */
	}
	hw_logs(lvl, domain, "mongoc: %s", message);
}

void hw_store_route_driver_log(void)
{
	mongoc_log_set_handler(driver_log, NULL);
}

void hw_store_global_init(void)
{
	mongoc_init();
}

void hw_store_global_cleanup(void)
{
	mongoc_cleanup();
}

/* ------------------------------------------------------------------ document mapping */

/* Times travel as ms since the Unix epoch in JSON and are BSON dates in MongoDB (so they
 * sort, index and read as dates in any tool); 0 ("never") is stored as null. */
static bool is_time_key(const char *key)
{
	size_t n = strlen(key);

	if(strcmp(key, "at") == 0) return true;
	if(n > 3 && strcmp(key + n - 3, "_at") == 0) return true;
	if(n > 6 && strcmp(key + n - 6, "_since") == 0) return true;
	if(n > 6 && strcmp(key + n - 6, "_until") == 0) return true;
	return false;
}

/* Copies the members of it's container into dst, turning integer times into dates. */
static void copy_to_bson(bson_iter_t *it, bson_t *dst)
{
	while(bson_iter_next(it)){
		const char *key = bson_iter_key(it);
		bson_iter_t child;
		bson_t sub;
		switch(bson_iter_type(it)){
		case BSON_TYPE_DOCUMENT:
			bson_iter_recurse(it, &child);
			bson_append_document_begin(dst, key, -1, &sub);
			copy_to_bson(&child, &sub);
			bson_append_document_end(dst, &sub);
			break;
		case BSON_TYPE_ARRAY:
			bson_iter_recurse(it, &child);
			bson_append_array_begin(dst, key, -1, &sub);
			copy_to_bson(&child, &sub);
			bson_append_array_end(dst, &sub);
			break;
		case BSON_TYPE_INT32:
		case BSON_TYPE_INT64:
			if(is_time_key(key)){
				int64_t v = bson_iter_as_int64(it);
				if(v > 0) bson_append_date_time(dst, key, -1, v);
				else bson_append_null(dst, key, -1);
				break;
			}
			bson_append_iter(dst, key, -1, it);
			break;
		default:
			bson_append_iter(dst, key, -1, it);
			break;
		}
	}
}

/* The reverse: dates (and null times) back to integer ms. */
static void copy_from_bson(bson_iter_t *it, bson_t *dst)
{
	while(bson_iter_next(it)){
		const char *key = bson_iter_key(it);
		bson_iter_t child;
		bson_t sub;
		switch(bson_iter_type(it)){
		case BSON_TYPE_DOCUMENT:
			bson_iter_recurse(it, &child);
			bson_append_document_begin(dst, key, -1, &sub);
			copy_from_bson(&child, &sub);
			bson_append_document_end(dst, &sub);
			break;
		case BSON_TYPE_ARRAY:
			bson_iter_recurse(it, &child);
			bson_append_array_begin(dst, key, -1, &sub);
			copy_from_bson(&child, &sub);
			bson_append_array_end(dst, &sub);
			break;
		case BSON_TYPE_DATE_TIME:
			bson_append_int64(dst, key, -1, bson_iter_date_time(it));
			break;
		case BSON_TYPE_NULL:
			if(is_time_key(key)) bson_append_int64(dst, key, -1, 0);
			else bson_append_null(dst, key, -1);
			break;
		default:
			bson_append_iter(dst, key, -1, it);
			break;
		}
	}
}

/* Builds the stored form of a JSON document: _id first, the members without `skip_key` and
 * "v", times as dates. Returns HW_OK or HW_ERR_INVAL (the JSON did not parse: a bug). */
static int doc_from_json(const char *json, size_t len, const char *id, const char *skip_key, bson_t *out, hw_error_t *err)
{
	bson_t src;
	bson_iter_t it;
	bson_error_t berr;
	bson_t body = BSON_INITIALIZER;
	bson_iter_t bit;

	if(!bson_init_from_json(&src, json, (ssize_t)len, &berr))
		return hw_error_set(err, HW_ERR_INVAL, "document for %s is not JSON: %s", id, berr.message);
	bson_init(out);
	BSON_APPEND_UTF8(out, "_id", id);
	bson_iter_init(&it, &src);
	copy_to_bson(&it, &body);
	bson_iter_init(&bit, &body);
	while(bson_iter_next(&bit)){
		const char *k = bson_iter_key(&bit);
		if(strcmp(k, "v") == 0 || strcmp(k, "_id") == 0 || (skip_key && strcmp(k, skip_key) == 0)) continue;
		bson_append_iter(out, k, -1, &bit);
	}
	bson_destroy(&body);
	bson_destroy(&src);
	return HW_OK;
}

/* The session document as hw_session_decode reads it, from a stored one. Caller frees the
 * result with bson_free(). *birth_epoch gets the stored birth_epoch (-1 when absent). */
static char *session_json_from_doc(const bson_t *doc, int64_t *birth_epoch, size_t *len)
{
	bson_t out = BSON_INITIALIZER;
	bson_t body = BSON_INITIALIZER;
	bson_iter_t it;
	char *json;

	*birth_epoch = -1;
	BSON_APPEND_INT32(&out, "v", 1);
	bson_iter_init(&it, doc);
	copy_from_bson(&it, &body);
	bson_iter_init(&it, &body);
	while(bson_iter_next(&it)){
		const char *k = bson_iter_key(&it);
		if(strcmp(k, "_id") == 0){
			if(BSON_ITER_HOLDS_UTF8(&it)) BSON_APPEND_UTF8(&out, "session", bson_iter_utf8(&it, NULL));
		}else if(strcmp(k, "birth_epoch") == 0){
			*birth_epoch = bson_iter_as_int64(&it);
		}else if(strcmp(k, "v") != 0 && strcmp(k, "pending_transitions") != 0){
			bson_append_iter(&out, k, -1, &it);
		}
	}
	json = bson_as_relaxed_extended_json(&out, len);
	bson_destroy(&body);
	bson_destroy(&out);
	return json;
}

static void event_to_bson(const hw_event_rec_t *e, bson_t *out)
{
	bson_t sub;

	bson_init(out);
	BSON_APPEND_UTF8(out, "_id", e->id);
	BSON_APPEND_UTF8(out, "session", e->session);
	BSON_APPEND_UTF8(out, "machine", e->machine);
	if(e->project[0]) BSON_APPEND_UTF8(out, "project", e->project);
	BSON_APPEND_DATE_TIME(out, "at", e->at);
	BSON_APPEND_INT64(out, "epoch", e->epoch);
	if(e->seq >= 0) BSON_APPEND_INT64(out, "seq", e->seq);
	if(e->kind == HW_EVK_TRANSITION){
		BSON_APPEND_UTF8(out, "kind", "transition");
		BSON_APPEND_DOCUMENT_BEGIN(out, "from", &sub);
		BSON_APPEND_UTF8(&sub, "state", hw_state_name(e->from_state));
		BSON_APPEND_UTF8(&sub, "cause", hw_cause_name(e->from_cause));
		bson_append_document_end(out, &sub);
		BSON_APPEND_DOCUMENT_BEGIN(out, "to", &sub);
		BSON_APPEND_UTF8(&sub, "state", hw_state_name(e->to_state));
		BSON_APPEND_UTF8(&sub, "cause", hw_cause_name(e->to_cause));
		bson_append_document_end(out, &sub);
		if(e->input) BSON_APPEND_UTF8(out, "input", e->input);
		return;
	}
	BSON_APPEND_UTF8(out, "kind", "agent");
	if(!e->ev) return;
	BSON_APPEND_UTF8(out, "type", hw_ev_type_name(e->ev->type));
	BSON_APPEND_DATE_TIME(out, "agent_ts", e->ev->ts);
	if(e->ev->text[0]) BSON_APPEND_UTF8(out, "text", e->ev->text);
	if(e->ev->transcript[0]) BSON_APPEND_UTF8(out, "transcript", e->ev->transcript);
	switch(e->ev->type){
	case HW_EV_CLAUDE_SID:
		BSON_APPEND_UTF8(out, "claude_sid", e->ev->claude_sid);
		BSON_APPEND_UTF8(out, "source", hw_sid_source_name(e->ev->sid_source));
		break;
	case HW_EV_HOOK:
		BSON_APPEND_UTF8(out, "hook", e->ev->hook);
		break;
	case HW_EV_PROGRESS:
		BSON_APPEND_DOCUMENT_BEGIN(out, "progress", &sub);
		BSON_APPEND_INT64(&sub, "prompts", e->ev->progress.prompts);
		BSON_APPEND_INT64(&sub, "tools", e->ev->progress.tools);
		if(e->ev->progress.last_activity_ts > 0)
			BSON_APPEND_DATE_TIME(&sub, "last_activity_at", e->ev->progress.last_activity_ts);
		bson_append_document_end(out, &sub);
		break;
	case HW_EV_EXIT:
		BSON_APPEND_DOCUMENT_BEGIN(out, "exit", &sub);
		if(e->ev->exit.code >= 0) BSON_APPEND_INT32(&sub, "code", e->ev->exit.code);
		else BSON_APPEND_NULL(&sub, "code");
		if(e->ev->exit.signal >= 0) BSON_APPEND_INT32(&sub, "signal", e->ev->exit.signal);
		else BSON_APPEND_NULL(&sub, "signal");
		bson_append_document_end(out, &sub);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ lifecycle */

int hw_store_new(hw_store_t **out, const hw_store_opts_t *opts, hw_storeq_t *q, hw_error_t *err)
{
	hw_store_t *st;
	bson_error_t berr;
	int rc = HW_OK;

	*out = NULL;
	if(!opts->db || !opts->db[0] || strlen(opts->db) >= sizeof(st->db) || strpbrk(opts->db, "/\\. \"$"))
		return hw_error_set(err, HW_ERR_CONFIG,
				"--db: '%s' is not a database name (1-63 characters, no / \\ . space \" $)",
				opts->db ? opts->db : "");
	st = calloc(1, sizeof(*st));
	if(!st) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the store");
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->wake, NULL);
	hw_log_limit_init(&st->reject_limit, 1, 10);
	snprintf(st->db, sizeof(st->db), "%s", opts->db);
	st->events_retention_ms = opts->events_retention_ms;
	st->prune_every_ms = opts->prune_every_ms > 0 ? opts->prune_every_ms : STORE_PRUNE_DEFAULT_MS;
	st->batch_max = opts->batch_max > 0 ? opts->batch_max : STORE_BATCH_DEFAULT;
	st->q = q;
	if(hw_sx_new(&st->sx, err) != HW_OK){
		rc = HW_ERR_NOMEM;
		goto cleanup;
	}
	st->uri = mongoc_uri_new_with_error(opts->uri, &berr);
	if(!st->uri){
		rc = hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
		goto cleanup;
	}
	/* Fail fast enough to keep retrying visible, unless the URI says otherwise. */
	if(!mongoc_uri_has_option(st->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(st->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
	if(!mongoc_uri_has_option(st->uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(st->uri, MONGOC_URI_CONNECTTIMEOUTMS, 3000);
	/* A server that stops answering must turn into a retry, not a five-minute hang. */
	if(!mongoc_uri_has_option(st->uri, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(st->uri, MONGOC_URI_SOCKETTIMEOUTMS, 30000);
	st->pool = mongoc_client_pool_new_with_error(st->uri, &berr);
	if(!st->pool){
		rc = hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
		goto cleanup;
	}
	mongoc_client_pool_set_error_api(st->pool, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_pool_set_appname(st->pool, opts->appname ? opts->appname : "heartwire-collector");
	*out = st;
	return HW_OK;
cleanup:
	hw_store_free(st);
	return rc;
}

void hw_store_free(hw_store_t *st)
{
	if(!st) return;
	if(st->running) hw_store_stop(st, 0);
	if(st->pool) mongoc_client_pool_destroy(st->pool);
	if(st->uri) mongoc_uri_destroy(st->uri);
	hw_sx_free(st->sx);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void hw_store_get_stats(hw_store_t *st, hw_store_stats_t *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}

/* ------------------------------------------------------------------ indexes and load */

static int run_command(mongoc_client_t *c, const char *db, const bson_t *cmd, hw_error_t *err)
{
	mongoc_database_t *d = mongoc_client_get_database(c, db);
	bson_t reply;
	bson_error_t berr;
	bool ok = mongoc_database_write_command_with_opts(d, cmd, NULL, &reply, &berr);

	bson_destroy(&reply);
	mongoc_database_destroy(d);
	if(!ok) return hw_error_set(err, HW_ERR_STORE, "%s", berr.message);
	return HW_OK;
}

typedef struct index_def {
	const char *name, *k1, *k2;
} index_def_t;

/* True when coll already has an index called name. */
static bool index_exists(mongoc_collection_t *coll, const char *name)
{
	mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *doc;
	bool found = false;

	while(!found && mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		if(bson_iter_init_find(&it, doc, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
				strcmp(bson_iter_utf8(&it, NULL), name) == 0)
			found = true;
	}
	mongoc_cursor_destroy(cur);
	return found;
}

/* Creates the indexes of cname that do not exist yet. Only the missing ones are sent:
 * FerretDB 1.24 panics on a createIndexes that names existing indexes (and a MongoDB
 * server would only answer "already exists" anyway). */
static int ensure_indexes(
		hw_store_t *st, mongoc_client_t *c, const char *cname, const index_def_t *defs, size_t n, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, st->db, cname);
	bson_t cmd = BSON_INITIALIZER, arr;
	size_t missing = 0;
	int rc = HW_OK;

	BSON_APPEND_UTF8(&cmd, "createIndexes", cname);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &arr);
	for(size_t i = 0; i < n; i++){
		bson_t spec, key;
		char idx[16];
		if(index_exists(coll, defs[i].name)) continue;
		snprintf(idx, sizeof(idx), "%zu", missing++);
		bson_append_document_begin(&arr, idx, -1, &spec);
		BSON_APPEND_DOCUMENT_BEGIN(&spec, "key", &key);
		BSON_APPEND_INT32(&key, defs[i].k1, 1);
		if(defs[i].k2) BSON_APPEND_INT32(&key, defs[i].k2, 1);
		bson_append_document_end(&spec, &key);
		BSON_APPEND_UTF8(&spec, "name", defs[i].name);
		bson_append_document_end(&arr, &spec);
	}
	bson_append_array_end(&cmd, &arr);
	if(missing) rc = run_command(c, st->db, &cmd, err);
	bson_destroy(&cmd);
	mongoc_collection_destroy(coll);
	return rc;
}

int hw_store_prepare(hw_store_t *st, hw_error_t *err)
{
	/* sessions: the queries of issue 5 filter by state (+ deadline), project, machine, updated_at */
	/* clang-format off */
	static const index_def_t session_idx[] = {
		{"state_deadline", "state", "deadline_at"},
		{"project", "project", NULL},
		{"machine", "machine", NULL},
		{"updated_at", "updated_at", NULL},
	};
	/* clang-format on */
	/* events: a session's history in time order; `at` alone for the retention delete */
	/* clang-format off */
	static const index_def_t event_idx[] = {
		{"session_at", "session", "at"},
		{"at", "at", NULL},
	};
	/* clang-format on */
	mongoc_client_t *c = mongoc_client_pool_pop(st->pool);
	bson_t ping = BSON_INITIALIZER, reply;
	bson_error_t berr;
	int rc = HW_OK;

	BSON_APPEND_INT32(&ping, "ping", 1);
	if(!mongoc_client_command_simple(c, "admin", &ping, NULL, &reply, &berr)){
		rc = hw_error_set(err, HW_ERR_STORE, "database unreachable: %s", berr.message);
		bson_destroy(&reply);
		goto cleanup;
	}
	bson_destroy(&reply);
	rc = ensure_indexes(st, c, "sessions", session_idx, sizeof(session_idx) / sizeof(session_idx[0]), err);
	if(rc == HW_OK) rc = ensure_indexes(st, c, "events", event_idx, sizeof(event_idx) / sizeof(event_idx[0]), err);
cleanup:
	bson_destroy(&ping);
	mongoc_client_pool_push(st->pool, c);
	return rc;
}

static int bulk_run(hw_store_t *st, mongoc_bulk_operation_t *bulk, const char *what, uint64_t nops, uint64_t *written,
		int64_t *resend, hw_error_t *err);

/* Re-inserting the `pending_transitions` of loaded documents (see trans_list_t). */
typedef struct repair {
	mongoc_collection_t *coll;
	mongoc_bulk_operation_t *bulk;
	uint64_t n, n_total;
} repair_t;

static int repair_flush(hw_store_t *st, repair_t *r, hw_error_t *err)
{
	uint64_t written = 0;
	int rc;

	if(!r->bulk || !r->n) return HW_OK;
	/* duplicates (already written) count as stale, which is what they are */
	rc = bulk_run(st, r->bulk, "events", r->n, &written, NULL, err);
	mongoc_bulk_operation_destroy(r->bulk);
	r->bulk = NULL;
	r->n = 0;
	pthread_mutex_lock(&st->lock);
	st->stats.events_written += written;
	pthread_mutex_unlock(&st->lock);
	r->n_total += written;
	return rc;
}

static int repair_pending(hw_store_t *st, mongoc_client_t *c, repair_t *r, const bson_t *doc, hw_error_t *err)
{
	bson_iter_t it, arr;

	if(!bson_iter_init_find(&it, doc, "pending_transitions") || !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return HW_OK;
	while(bson_iter_next(&arr)){
		const uint8_t *data;
		uint32_t len;
		bson_t e;
		bson_error_t berr;
		if(!BSON_ITER_HOLDS_DOCUMENT(&arr)) continue;
		bson_iter_document(&arr, &len, &data);
		if(!bson_init_static(&e, data, len)) continue;
		if(!r->coll) r->coll = mongoc_client_get_collection(c, st->db, "events");
		if(!r->bulk){
			bson_t opts = BSON_INITIALIZER;
			BSON_APPEND_BOOL(&opts, "ordered", false);
			r->bulk = mongoc_collection_create_bulk_operation_with_opts(r->coll, &opts);
			bson_destroy(&opts);
		}
		if(mongoc_bulk_operation_insert_with_opts(r->bulk, &e, NULL, &berr)) r->n++;
		if(r->n == STORE_BULK_CHUNK && repair_flush(st, r, err) != HW_OK) return HW_ERR_STORE;
	}
	return HW_OK;
}

/* A stored session the collector adopts at start: not completed or failed, or ended at or after
 * ended_since (its retained state still has to be removed). */
static bool load_wanted(const bson_t *doc, int64_t ended_since)
{
	bson_iter_t it;
	const char *state = "";

	if(bson_iter_init_find(&it, doc, "state") && BSON_ITER_HOLDS_UTF8(&it)) state = bson_iter_utf8(&it, NULL);
	if(strcmp(state, "completed") != 0 && strcmp(state, "failed") != 0) return true;
	if(!bson_iter_init_find(&it, doc, "ended_at")) return false;
	if(BSON_ITER_HOLDS_DATE_TIME(&it)) return bson_iter_date_time(&it) >= ended_since;
	if(BSON_ITER_HOLDS_INT64(&it) || BSON_ITER_HOLDS_INT32(&it)) return bson_iter_as_int64(&it) >= ended_since;
	return false;
}

/* ------------------------------------------------------------------ the session index */

/* Gives up on the index after an allocation failure: the next flush removes it from the
 * database, and q/sessions reads `sessions` again (correct, only slower). */
static void index_broken(hw_store_t *st, const hw_error_t *e)
{
	if(st->sx_broken) return;
	hw_log(HW_LOG_ERROR, "the session index is off until restart (q/sessions reads the sessions collection): %s", e->msg);
	st->sx_broken = true;
}

static void index_put_doc(hw_store_t *st, const bson_t *doc, const char *json, size_t len)
{
	hw_error_t e;

	if(st->sx_broken) return;
	if(hw__sx_put_doc(st->sx, doc, json, len, &e) == HW_ERR_NOMEM) index_broken(st, &e);
}

static void index_put_ops(hw_store_t *st, hw_op_t *batch)
{
	hw_error_t e;

	for(hw_op_t *op = batch; op && !st->sx_broken; op = op->next){
		if(op->kind == HW_OP_SESSION && op->json &&
				hw__sx_put_json(st->sx, op->id, op->version, op->json, op->len, &e) == HW_ERR_NOMEM)
			index_broken(st, &e);
	}
}

/* Writes the index's changes; the first time, after clearing the previous collector's. */
static int index_flush(hw_store_t *st, mongoc_client_t *c, hw_error_t *err)
{
	int rc;

	if(st->sx_broken){
		if(st->sx_removed) return HW_OK;
		rc = hw__sx_reset(c, st->db, err);
		if(rc == HW_OK) st->sx_removed = true;
		return rc;
	}
	if(!st->sx_reset){
		rc = hw__sx_reset(c, st->db, err);
		if(rc != HW_OK) return rc;
		st->sx_reset = true;
	}
	if(!hw_sx_dirty(st->sx)) return HW_OK;
	rc = hw__sx_write(st->sx, c, st->db, err);
	if(rc == HW_OK) st->sx_flushed = hw_mono_ms();
	return rc;
}

int hw_store_load(hw_store_t *st, int64_t ended_since, hw_store_load_fn fn, void *ctx, uint64_t *skipped, hw_error_t *err)
{
	mongoc_client_t *c = mongoc_client_pool_pop(st->pool);
	mongoc_collection_t *coll = mongoc_client_get_collection(c, st->db, "sessions");
	bson_t filter = BSON_INITIALIZER;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	repair_t repair = {0};
	int rc = HW_OK;

	if(skipped) *skipped = 0;
	/* Every session: the session index (collector/sindex.c) needs them all; the ones to adopt
	 * are filtered here: not completed or failed, or ended at or after ended_since. (No server
	 * filter: FerretDB 1.24 reads the whole collection for this one anyway.) */
	cur = mongoc_collection_find_with_opts(coll, &filter, NULL, NULL);
	while(rc == HW_OK && mongoc_cursor_next(cur, &doc)){
		int64_t birth_epoch;
		size_t len;
		char *json;
		if(repair_pending(st, c, &repair, doc, err) != HW_OK){
			rc = HW_ERR_STORE;
			break;
		}
		json = session_json_from_doc(doc, &birth_epoch, &len);
		if(json) index_put_doc(st, doc, json, len);
		if(!load_wanted(doc, ended_since)){
			bson_free(json);
			continue;
		}
		hw_session_t s = HW_SESSION_INIT;
		hw_error_t derr;
		if(!json || hw_session_decode(json, len, &s, &derr) != HW_OK){
			hw_log(HW_LOG_WARN, "skipping a stored session the codec refuses: %s", json ? derr.msg : "unreadable");
			if(skipped) (*skipped)++;
			bson_free(json);
			continue;
		}
		bson_free(json);
		rc = fn(ctx, &s, birth_epoch, err);
		hw_session_cleanup(&s);
	}
	if(rc == HW_OK && mongoc_cursor_error(cur, &berr))
		rc = hw_error_set(err, HW_ERR_STORE, "loading sessions: %s", berr.message);
	if(rc == HW_OK) rc = repair_flush(st, &repair, err);
	if(repair.bulk) mongoc_bulk_operation_destroy(repair.bulk);
	if(repair.coll) mongoc_collection_destroy(repair.coll);
	if(repair.n_total)
		hw_log(HW_LOG_INFO, "re-inserted %llu transition events whose documents were written before a crash",
				(unsigned long long)repair.n_total);
	mongoc_cursor_destroy(cur);
	bson_destroy(&filter);
	mongoc_collection_destroy(coll);
	mongoc_client_pool_push(st->pool, c);
	return rc;
}

/* ------------------------------------------------------------------ writing */

static bool transient_error(const bson_error_t *e)
{
	return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_SERVER_SELECTION ||
			e->domain == MONGOC_ERROR_CLIENT || e->domain == MONGOC_ERROR_PROTOCOL;
}

/* The statements of a bulk that the reply accounts for: inserted, matched, upserted, removed. */
static uint64_t reply_done(const bson_t *reply)
{
	static const char *const keys[] = {"nInserted", "nMatched", "nUpserted", "nRemoved"};
	uint64_t n = 0;
	bson_iter_t it;

	for(size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++){
		if(bson_iter_init_find(&it, reply, keys[i])) n += (uint64_t)bson_iter_as_int64(&it);
	}
	return n;
}

/* Executes a bulk and classifies the outcome: duplicate keys (code 11000) on guarded upserts
 * and inserts are "stale" (an equal or newer write is already there: fine); other write
 * errors are rejections (logged, dropped: retrying cannot help); anything else (network,
 * server selection, a command error such as a primary stepping down, write concern) is
 * transient: HW_ERR_STORE, and the caller retries the whole batch (it is idempotent).
 * *resend: -1, or the index of the first statement the server left undone. FerretDB 1.24 stops
 * an `update` command at its first write error although the bulk is unordered, and reports
 * only that error: every later statement of the command is silently not applied (seen as a
 * session that ended during a store outage never reaching the database, issue 7). When the
 * reply accounts for fewer statements than were sent, the caller sends again those after the
 * last reported error (idempotent: one applied after all is stale). MongoDB runs them all. */
static int bulk_run(hw_store_t *st, mongoc_bulk_operation_t *bulk, const char *what, uint64_t nops, uint64_t *written,
		int64_t *resend, hw_error_t *err)
{
	int64_t last_err = -1;
	bson_t reply;
	bson_error_t berr;
	bson_iter_t it, arr;
	uint64_t stale = 0, rejected = 0, nerr = 0;
	int rc = HW_OK;
	int64_t t0 = hw_mono_us();
	bool ok = mongoc_bulk_operation_execute(bulk, &reply, &berr);

	if(resend) *resend = -1;

	pthread_mutex_lock(&st->lock);
	hw_histo_observe(&st->stats.write_latency, hw_mono_us() - t0);
	if(ok) *written += nops;
	pthread_mutex_unlock(&st->lock);
	if(ok) goto cleanup;
	if(bson_iter_init_find(&it, &reply, "writeErrors") && BSON_ITER_HOLDS_ARRAY(&it) && bson_iter_recurse(&it, &arr)){
		while(bson_iter_next(&arr)){
			bson_iter_t e, f;
			int32_t code = 0;
			nerr++;
			if(bson_iter_recurse(&arr, &e) && bson_iter_find(&e, "index") && bson_iter_as_int64(&e) > last_err)
				last_err = bson_iter_as_int64(&e);
			if(bson_iter_recurse(&arr, &e) && bson_iter_find(&e, "code")) code = bson_iter_as_int64(&e) & 0x7fffffff;
			if(code == 11000){
				stale++;
				continue;
			}
			rejected++;
			if(bson_iter_recurse(&arr, &f) && bson_iter_find(&f, "errmsg")){
				unsigned long long sup;
				if(hw_log_limit_take(&st->reject_limit, &sup))
					hw_logs(HW_LOG_ERROR, what, "the database rejected a write (code %d): %s%s", code,
							bson_iter_utf8(&f, NULL), sup ? " (and more)" : "");
			}
		}
	}
	if(nerr == 0 || transient_error(&berr) || bson_has_field(&reply, "writeConcernErrors")){
		rc = hw_error_set(err, HW_ERR_STORE, "%s: %s", what, berr.message);
		goto cleanup;
	}
	if(resend && reply_done(&reply) + nerr < nops && last_err >= 0 && (uint64_t)last_err + 1 < nops){
		*resend = last_err + 1;
		nops = (uint64_t)*resend; /* the rest is counted when it is sent again */
	}
	pthread_mutex_lock(&st->lock);
	*written += nops - nerr;
	st->stats.stale += stale;
	st->stats.rejected += rejected;
	pthread_mutex_unlock(&st->lock);
cleanup:
	bson_destroy(&reply);
	return rc;
}

/* The transition events of a batch, sorted by session. Every session document the batch
 * writes carries its session's transitions of the same batch as `pending_transitions`. The
 * documents are written before the events, so a crash (or a SIGKILL) between the two leaves
 * documents whose transitions are not in `events` yet: the next load re-inserts them
 * (hw_store_load; the ids are deterministic, so one already written is not doubled) and the
 * audit log keeps every transition exactly once. A later batch that writes the document again
 * replaces the list: by then the earlier batch's events are written. */
typedef struct trans_list {
	const hw_event_rec_t **ev;
	size_t n;
} trans_list_t;

static int cmp_trans(const void *a, const void *b)
{
	const hw_event_rec_t *x = *(const hw_event_rec_t *const *)a, *y = *(const hw_event_rec_t *const *)b;
	int c = strcmp(x->session, y->session);

	if(c) return c;
	if(x->at != y->at) return x->at < y->at ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void trans_list_build(hw_op_t *batch, trans_list_t *tl)
{
	size_t n = 0;

	tl->ev = NULL;
	tl->n = 0;
	for(hw_op_t *op = batch; op; op = op->next){
		if(op->kind == HW_OP_EVENT && op->ev->kind == HW_EVK_TRANSITION) n++;
	}
	if(!n || !(tl->ev = malloc(n * sizeof(*tl->ev)))) return;
	for(hw_op_t *op = batch; op; op = op->next){
		if(op->kind == HW_OP_EVENT && op->ev->kind == HW_EVK_TRANSITION) tl->ev[tl->n++] = op->ev;
	}
	qsort(tl->ev, tl->n, sizeof(*tl->ev), cmp_trans);
}

/* Appends `pending_transitions` (session's transitions in the batch) to doc, when there are any. */
static void append_pending(bson_t *doc, const trans_list_t *tl, const char *session)
{
	size_t lo = 0, hi = tl->n, k = 0;
	bson_t arr;

	while(lo < hi){
		size_t mid = (lo + hi) / 2;
		if(strcmp(tl->ev[mid]->session, session) < 0) lo = mid + 1;
		else hi = mid;
	}
	if(lo >= tl->n || strcmp(tl->ev[lo]->session, session) != 0) return;
	BSON_APPEND_ARRAY_BEGIN(doc, "pending_transitions", &arr);
	for(size_t i = lo; i < tl->n && strcmp(tl->ev[i]->session, session) == 0; i++){
		bson_t e;
		char key[24];
		event_to_bson(tl->ev[i], &e);
		snprintf(key, sizeof(key), "%zu", k++);
		BSON_APPEND_DOCUMENT(&arr, key, &e);
		bson_destroy(&e);
	}
	bson_append_array_end(doc, &arr);
}

/* One write command's worth of ops of one kind, and how to turn each into a statement. */
typedef struct chunk {
	hw_store_t *st;
	mongoc_collection_t *coll;
	const bson_t *opts, *upsert;
	int kind, coll_kind;
	const char *cname;
	const trans_list_t *tl;
	uint64_t *counter;
	const hw_op_t *op[STORE_BULK_CHUNK];
	size_t n;
} chunk_t;

/* Adds op to bulk as an insert (event) or a version-guarded upsert; false when it cannot be. */
static bool stmt_add(const chunk_t *ck, mongoc_bulk_operation_t *bulk, const hw_op_t *op)
{
	bson_t doc, sel, lt;
	bson_error_t berr;
	hw_error_t e;
	bool ok;

	if(ck->kind == HW_OP_EVENT){
		event_to_bson(op->ev, &doc);
		ok = mongoc_bulk_operation_insert_with_opts(bulk, &doc, NULL, &berr);
		if(!ok) hw_logs(HW_LOG_ERROR, op->ev->id, "cannot queue an event insert: %s", berr.message);
		bson_destroy(&doc);
		return ok;
	}
	if(doc_from_json(op->json, op->len, op->id,
			   ck->kind == HW_OP_SESSION                           ? "session"
					   : ck->coll_kind == HW_COLL_PROJECTS ? "project"
									       : "machine",
			   &doc, &e) != HW_OK){
		hw_logs(HW_LOG_ERROR, op->id, "dropping a write: %s", e.msg);
		return false;
	}
	if(ck->kind == HW_OP_SESSION){
		BSON_APPEND_INT64(&doc, "birth_epoch", op->birth_epoch);
		if(ck->tl->n) append_pending(&doc, ck->tl, op->id);
	}
	/* The guard: only a strictly older version may be replaced; when the stored one is equal or
	 * newer the filter matches nothing and the upsert's insert hits the _id: duplicate key,
	 * counted as stale. */
	bson_init(&sel);
	BSON_APPEND_UTF8(&sel, "_id", op->id);
	BSON_APPEND_DOCUMENT_BEGIN(&sel, "version", &lt);
	BSON_APPEND_INT64(&lt, "$lt", op->version);
	bson_append_document_end(&sel, &lt);
	ok = mongoc_bulk_operation_replace_one_with_opts(bulk, &sel, &doc, ck->upsert, &berr);
	if(!ok) hw_logs(HW_LOG_ERROR, op->id, "cannot queue a %s write: %s", ck->cname, berr.message);
	bson_destroy(&sel);
	bson_destroy(&doc);
	return ok;
}

/* Sends the chunk as one unordered bulk, and again from the first statement the server left
 * undone until every statement was answered (bulk_run). Empties the chunk. */
static int chunk_run(chunk_t *ck, hw_error_t *err)
{
	size_t from = 0;
	int rc = HW_OK;

	while(rc == HW_OK && from < ck->n){
		mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(ck->coll, ck->opts);
		const hw_op_t *sent[STORE_BULK_CHUNK];
		uint64_t n = 0;
		int64_t resend = -1;
		for(size_t i = from; i < ck->n; i++){
			if(stmt_add(ck, bulk, ck->op[i])) sent[n++] = ck->op[i];
		}
		if(n) rc = bulk_run(ck->st, bulk, ck->cname, n, ck->counter, &resend, err);
		mongoc_bulk_operation_destroy(bulk);
		if(resend < 0) break;
		/* sent[resend..] were not applied: they go again, in a command of their own */
		memmove(ck->op, sent + resend, (n - (size_t)resend) * sizeof(*ck->op));
		ck->n = n - (size_t)resend;
		from = 0;
		hw_logs(HW_LOG_DEBUG, ck->cname, "the server left %zu statements of a write undone: sending them again", ck->n);
	}
	ck->n = 0;
	return rc;
}

/* Writes one kind of op from the batch as unordered bulks of up to STORE_BULK_CHUNK ops. */
static int write_kind(hw_store_t *st, mongoc_client_t *c, hw_op_t *batch, int kind, int coll_kind, hw_error_t *err)
{
	bson_t opts = BSON_INITIALIZER, upsert = BSON_INITIALIZER;
	int rc = HW_OK;
	trans_list_t tl = {NULL, 0};
	hw_map_t last = {0};
	chunk_t ck = {.st = st, .opts = &opts, .upsert = &upsert, .kind = kind, .coll_kind = coll_kind, .tl = &tl};

	ck.cname = kind == HW_OP_SESSION                ? "sessions"
			: kind == HW_OP_EVENT           ? "events"
			: coll_kind == HW_COLL_PROJECTS ? "projects"
							: "machines";
	ck.counter = kind == HW_OP_SESSION    ? &st->stats.sessions_written
			: kind == HW_OP_EVENT ? &st->stats.events_written
					      : &st->stats.rollups_written;
	BSON_APPEND_BOOL(&opts, "ordered", false);
	BSON_APPEND_BOOL(&upsert, "upsert", true);
	if(kind == HW_OP_SESSION) trans_list_build(batch, &tl);
	/* Only the newest document of each id in the batch is written: the earlier ones would be
	 * replaced within the same moment anyway, their transitions are in `events` (and in the
	 * newest document's pending_transitions), and every replace costs a collection scan on
	 * FerretDB 1.24 (measured: ~100 guarded replaces/s at 3,000 documents, while inserts run
	 * at 40,000/s), so a backlog drains in far fewer writes. */
	if(kind != HW_OP_EVENT && hw_map_init(&last, NULL) == HW_OK){
		for(hw_op_t *op = batch; op; op = op->next){
			if(op->kind == kind && (kind != HW_OP_ROLLUP || op->coll == coll_kind))
				hw_map_put(&last, op->id, op, NULL);
		}
	}
	for(hw_op_t *op = batch; op && rc == HW_OK; op = op->next){
		if(op->kind != kind || (kind == HW_OP_ROLLUP && op->coll != coll_kind)) continue;
		if(last.buckets){
			const hw_op_t *newest = hw_map_get(&last, op->id);
			if(newest && newest != op) continue;
		}
		if(!ck.coll) ck.coll = mongoc_client_get_collection(c, st->db, ck.cname);
		ck.op[ck.n++] = op;
		if(ck.n == STORE_BULK_CHUNK) rc = chunk_run(&ck, err);
	}
	if(rc == HW_OK && ck.n) rc = chunk_run(&ck, err);
	if(ck.coll) mongoc_collection_destroy(ck.coll);
	bson_destroy(&opts);
	bson_destroy(&upsert);
	free(tl.ev);
	hw_map_cleanup(&last);
	return rc;
}

static int prune_events(hw_store_t *st, mongoc_client_t *c, int64_t before, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(c, st->db, "events");
	bson_t sel = BSON_INITIALIZER, lt, reply;
	bson_error_t berr;
	bson_iter_t it;
	int rc = HW_OK;

	BSON_APPEND_DOCUMENT_BEGIN(&sel, "at", &lt);
	BSON_APPEND_DATE_TIME(&lt, "$lt", before);
	bson_append_document_end(&sel, &lt);
	if(!mongoc_collection_delete_many(coll, &sel, NULL, &reply, &berr)){
		rc = hw_error_set(err, HW_ERR_STORE, "pruning events: %s", berr.message);
	}else if(bson_iter_init_find(&it, &reply, "deletedCount")){
		pthread_mutex_lock(&st->lock);
		st->stats.pruned += (uint64_t)bson_iter_as_int64(&it);
		pthread_mutex_unlock(&st->lock);
	}
	bson_destroy(&reply);
	bson_destroy(&sel);
	mongoc_collection_destroy(coll);
	return rc;
}

static int write_batch(hw_store_t *st, hw_op_t *batch, hw_error_t *err)
{
	mongoc_client_t *c = mongoc_client_pool_pop(st->pool);
	int rc;

	bool barrier = false;

	/* The session index before the documents: once q/session shows a new document, q/sessions
	 * finds it too. Transitions are written to it at once, heartbeat-only snapshots at most
	 * STORE_INDEX_FLUSH_MS later (a batch retried after a failure re-puts its ops: no-ops). */
	index_put_ops(st, batch);
	for(hw_op_t *op = batch; op && !barrier; op = op->next) barrier = op->kind == HW_OP_SESSION && op->barrier;
	rc = barrier || hw_mono_ms() - st->sx_flushed >= STORE_INDEX_FLUSH_MS ? index_flush(st, c, err) : HW_OK;
	/* Sessions first: they are what a restarted collector and the queries read. */
	if(rc == HW_OK) rc = write_kind(st, c, batch, HW_OP_SESSION, 0, err);
	if(rc == HW_OK) rc = write_kind(st, c, batch, HW_OP_EVENT, 0, err);
	if(rc == HW_OK) rc = write_kind(st, c, batch, HW_OP_ROLLUP, HW_COLL_PROJECTS, err);
	if(rc == HW_OK) rc = write_kind(st, c, batch, HW_OP_ROLLUP, HW_COLL_MACHINES, err);
	for(hw_op_t *op = batch; rc == HW_OK && op; op = op->next){
		if(op->kind == HW_OP_PRUNE) rc = prune_events(st, c, op->before, err);
	}
	mongoc_client_pool_push(st->pool, c);
	return rc;
}

/* ------------------------------------------------------------------ the thread */

/* An idle moment: the index's pending changes go out (a failure is retried at the next one). */
static void index_idle(hw_store_t *st)
{
	mongoc_client_t *c;
	hw_error_t err;

	if(st->sx_broken ? st->sx_removed : st->sx_reset && !hw_sx_dirty(st->sx)) return;
	c = mongoc_client_pool_pop(st->pool);
	if(index_flush(st, c, &err) != HW_OK) hw_log(HW_LOG_DEBUG, "session index not written yet: %s", err.msg);
	mongoc_client_pool_push(st->pool, c);
}

static bool store_stopping(hw_store_t *st, int64_t *drain_until)
{
	bool s;

	pthread_mutex_lock(&st->lock);
	s = st->stopping;
	*drain_until = st->drain_until;
	pthread_mutex_unlock(&st->lock);
	return s;
}

/* Sleeps ms unless the store is told to stop. */
static void store_backoff(hw_store_t *st, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if(ts.tv_nsec >= 1000000000L){
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&st->lock);
	if(!st->stopping) pthread_cond_timedwait(&st->wake, &st->lock, &ts);
	pthread_mutex_unlock(&st->lock);
}

static void *store_main(void *arg)
{
	hw_store_t *st = arg;
	hw_op_t *batch = NULL;
	size_t n = 0;
	int backoff = STORE_BACKOFF_MIN_MS;
	int64_t down_since = 0, next_prune = hw_mono_ms(); /* once at start, then every prune_every_ms */
	int64_t busy_since = 0;

	for(;;){
		hw_error_t err;
		int64_t drain_until;
		bool stopping = store_stopping(st, &drain_until);
		if(!batch){
			batch = hw_storeq_take(st->q, (size_t)st->batch_max, stopping ? 0 : STORE_INDEX_FLUSH_MS, &n);
			if(!batch){
				if(stopping) break;
				index_idle(st);
				/* retention: an idle moment is a good time to prune */
				if(st->events_retention_ms > 0 && hw_mono_ms() >= next_prune){
					hw_op_t *op = hw_op_new(HW_OP_PRUNE);
					next_prune = hw_mono_ms() + st->prune_every_ms;
					if(op){
						op->before = hw_time_ms() - st->events_retention_ms;
						batch = op;
						n = 1;
					}
				}
				if(!batch) continue;
			}
		}
		if(!busy_since){
			busy_since = hw_mono_ms();
			pthread_mutex_lock(&st->lock);
			st->stats.busy_since = busy_since;
			pthread_mutex_unlock(&st->lock);
		}
		if(write_batch(st, batch, &err) == HW_OK){
			if(down_since){
				hw_log(HW_LOG_INFO, "database back after %lld ms; buffered writes are being flushed",
						(long long)(hw_mono_ms() - down_since));
				down_since = 0;
			}
			hw_op_free_list(batch);
			batch = NULL;
			backoff = STORE_BACKOFF_MIN_MS;
			busy_since = 0;
			pthread_mutex_lock(&st->lock);
			st->stats.down = false;
			st->stats.pending = 0;
			st->stats.busy_since = 0;
			pthread_mutex_unlock(&st->lock);
			continue;
		}
		if(stopping && hw_mono_ms() >= drain_until) break;
		if(!down_since){
			down_since = hw_mono_ms();
			hw_log(HW_LOG_WARN, "database write failed, retrying with back-off (writes are buffered): %s", err.msg);
		}
		pthread_mutex_lock(&st->lock);
		st->stats.down = true;
		st->stats.pending = n;
		st->stats.retries++;
		pthread_mutex_unlock(&st->lock);
		store_backoff(st, backoff);
		backoff = backoff * 2 > STORE_BACKOFF_MAX_MS ? STORE_BACKOFF_MAX_MS : backoff * 2;
	}
	if(batch){
		pthread_mutex_lock(&st->lock);
		st->unwritten += n;
		pthread_mutex_unlock(&st->lock);
		hw_op_free_list(batch);
	}
	return NULL;
}

int hw_store_start(hw_store_t *st, hw_error_t *err)
{
	int e = pthread_create(&st->thread, NULL, store_main, st);

	if(e != 0) return hw_error_set(err, HW_ERR_IO, "cannot start the store thread: %s", strerror(e));
	st->running = true;
	return HW_OK;
}

uint64_t hw_store_stop(hw_store_t *st, int drain_ms)
{
	uint64_t left;

	if(!st->running) return 0;
	pthread_mutex_lock(&st->lock);
	st->stopping = true;
	st->drain_until = hw_mono_ms() + drain_ms;
	pthread_cond_broadcast(&st->wake);
	pthread_mutex_unlock(&st->lock);
	hw_storeq_close(st->q);
	pthread_join(st->thread, NULL);
	st->running = false;
	left = st->unwritten + hw_storeq_len(st->q);
	return left;
}

/* ------------------------------------------------------------------ shared with store_query.c */

char *hw__store_session_json(const bson_t *doc, int64_t *birth_epoch, size_t *len)
{
	int64_t be;

	return session_json_from_doc(doc, birth_epoch ? birth_epoch : &be, len);
}

void hw__store_dates_to_ms(bson_iter_t *it, bson_t *dst)
{
	copy_from_bson(it, dst);
}
