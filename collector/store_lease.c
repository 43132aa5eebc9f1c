/* store_lease.c: the leadership lease of a collector group on MongoDB (lease.h): generations
 * inserted with a unique _id, renewed by their owner only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"

#include "lease.h"

/* Clock skew tolerated between collectors: a lease is taken over only this long after its end. */
#define LEASE_MARGIN_MS 1000

struct hw_lease {
	mongoc_client_t *client;
	char db[64];
	char group[128];
	char owner[128];
	int64_t lease_ms;
	int64_t gen; /* ours, 0 before winning */
};

int hw_lease_new(hw_lease_t **out, const char *uri, const char *db, const char *group, const char *owner, int64_t lease_ms,
		hw_error_t *err)
{
	hw_lease_t *l = calloc(1, sizeof(*l));
	mongoc_uri_t *u;
	bson_error_t berr;

	*out = NULL;
	if(!l) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the lease");
	u = mongoc_uri_new_with_error(uri, &berr);
	if(!u){
		free(l);
		return hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
	}
	if(!mongoc_uri_has_option(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, (int32_t)(lease_ms / 4 + 1));
	if(!mongoc_uri_has_option(u, MONGOC_URI_SOCKETTIMEOUTMS))
		mongoc_uri_set_option_as_int32(u, MONGOC_URI_SOCKETTIMEOUTMS, (int32_t)(lease_ms / 4 + 1));
	l->client = mongoc_client_new_from_uri_with_error(u, &berr);
	mongoc_uri_destroy(u);
	if(!l->client){
		free(l);
		return hw_error_set(err, HW_ERR_CONFIG, "--mongo-uri: %s", berr.message);
	}
	mongoc_client_set_error_api(l->client, MONGOC_ERROR_API_VERSION_2);
	mongoc_client_set_appname(l->client, "heartwire-collector-lease");
	snprintf(l->db, sizeof(l->db), "%s", db);
	snprintf(l->group, sizeof(l->group), "%s", group);
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->lease_ms = lease_ms;
	*out = l;
	return HW_OK;
}

void hw_lease_free(hw_lease_t *l)
{
	if(!l) return;
	mongoc_client_destroy(l->client);
	free(l);
}

int64_t hw_lease_gen(const hw_lease_t *l)
{
	return l->gen;
}

/* Reads the newest generation of the group: *gen (0 none), *until (ms), owner. */
static int newest(hw_lease_t *l, int64_t *gen, int64_t *until, char *owner, size_t owner_len, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(l->client, l->db, "leases");
	bson_t f = BSON_INITIALIZER, opts = BSON_INITIALIZER, sort;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_error_t berr;
	int rc = HW_OK;

	*gen = 0;
	*until = 0;
	if(owner_len) owner[0] = '\0';
	BSON_APPEND_UTF8(&f, "group", l->group);
	BSON_APPEND_DOCUMENT_BEGIN(&opts, "sort", &sort);
	BSON_APPEND_INT32(&sort, "gen", -1);
	bson_append_document_end(&opts, &sort);
	BSON_APPEND_INT64(&opts, "limit", 1);
	cur = mongoc_collection_find_with_opts(coll, &f, &opts, NULL);
	if(mongoc_cursor_next(cur, &doc)){
		bson_iter_t it;
		if(bson_iter_init_find(&it, doc, "gen")) *gen = bson_iter_as_int64(&it);
		if(bson_iter_init_find(&it, doc, "until") && BSON_ITER_HOLDS_DATE_TIME(&it)) *until = bson_iter_date_time(&it);
		if(owner_len && bson_iter_init_find(&it, doc, "owner") && BSON_ITER_HOLDS_UTF8(&it))
			snprintf(owner, owner_len, "%s", bson_iter_utf8(&it, NULL));
	}
	if(mongoc_cursor_error(cur, &berr)) rc = hw_error_set(err, HW_ERR_STORE, "reading the lease: %s", berr.message);
	mongoc_cursor_destroy(cur);
	bson_destroy(&f);
	bson_destroy(&opts);
	mongoc_collection_destroy(coll);
	return rc;
}

int hw_lease_try(hw_lease_t *l, bool *won, char *leader, size_t leader_len, hw_error_t *err)
{
	mongoc_collection_t *coll;
	bson_t doc = BSON_INITIALIZER;
	bson_error_t berr;
	int64_t gen, until, now = hw_time_ms();
	char id[200];
	int rc;

	*won = false;
	rc = newest(l, &gen, &until, leader, leader_len, err);
	if(rc != HW_OK) return rc;
	if(gen > 0 && until + LEASE_MARGIN_MS > now) return HW_OK; /* held */
	snprintf(id, sizeof(id), "%s:%lld", l->group, (long long)(gen + 1));
	BSON_APPEND_UTF8(&doc, "_id", id);
	BSON_APPEND_UTF8(&doc, "group", l->group);
	BSON_APPEND_INT64(&doc, "gen", gen + 1);
	BSON_APPEND_UTF8(&doc, "owner", l->owner);
	BSON_APPEND_DATE_TIME(&doc, "until", now + l->lease_ms);
	BSON_APPEND_DATE_TIME(&doc, "since", now);
	coll = mongoc_client_get_collection(l->client, l->db, "leases");
	if(mongoc_collection_insert_one(coll, &doc, NULL, NULL, &berr)){
		l->gen = gen + 1;
		*won = true;
		if(leader_len) snprintf(leader, leader_len, "%s", l->owner);
	}else if(berr.code != 11000){
		rc = hw_error_set(err, HW_ERR_STORE, "taking the lease: %s", berr.message);
	}
	/* 11000: another collector inserted this generation first */
	bson_destroy(&doc);
	mongoc_collection_destroy(coll);
	return rc;
}

int hw_lease_renew(hw_lease_t *l, hw_error_t *err)
{
	mongoc_collection_t *coll = mongoc_client_get_collection(l->client, l->db, "leases");
	bson_t sel = BSON_INITIALIZER, upd = BSON_INITIALIZER, set;
	bson_error_t berr;
	int64_t gen, until;
	char id[200], owner[128];
	int rc = HW_OK;

	snprintf(id, sizeof(id), "%s:%lld", l->group, (long long)l->gen);
	BSON_APPEND_UTF8(&sel, "_id", id);
	BSON_APPEND_UTF8(&sel, "owner", l->owner);
	BSON_APPEND_DOCUMENT_BEGIN(&upd, "$set", &set);
	BSON_APPEND_DATE_TIME(&set, "until", hw_time_ms() + l->lease_ms);
	bson_append_document_end(&upd, &set);
	if(!mongoc_collection_update_one(coll, &sel, &upd, NULL, NULL, &berr))
		rc = hw_error_set(err, HW_ERR_STORE, "renewing the lease: %s", berr.message);
	bson_destroy(&sel);
	bson_destroy(&upd);
	mongoc_collection_destroy(coll);
	if(rc != HW_OK) return rc;
	/* a newer generation means someone took over (our renewals stopped reaching it in time) */
	rc = newest(l, &gen, &until, owner, sizeof(owner), err);
	if(rc != HW_OK) return rc;
	if(gen != l->gen)
		return hw_error_set(err, HW_ERR_STATE, "collector %s holds a newer lease (generation %lld, ours %lld)", owner,
				(long long)gen, (long long)l->gen);
	return HW_OK;
}
