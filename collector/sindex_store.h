/* sindex_store.h: the database side of the session index (collector/sindex_store.c, with
 * mongo-c-driver): the store thread fills and writes it, the request workers read it. The
 * directory is the document "dir" of collection `sindex` (for tools: this process's workers get
 * it in memory, hw__sx_dir_acquire); page "p{seq}" lives in collection
 * `sindex_{seq % HW_SX_SHARDS, 3 digits}`. Only the collector's own files include this. */
#ifndef HEARTWIRE_COLLECTOR_SINDEX_STORE_H
#define HEARTWIRE_COLLECTOR_SINDEX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

#include "heartwire/error.h"

#include "sindex.h"

/* Puts a session into x from a document: the stored form (`_id`, BSON dates) or the retained
 * JSON parsed to BSON (`session`, ms). json/len is its reply JSON. A document without a string
 * id or a known state is HW_ERR_INVAL (not indexed); HW_ERR_NOMEM. */
int hw__sx_put_doc(hw_sx_t *x, const bson_t *doc, const char *json, size_t len, hw_error_t *err);

/* The same from the retained JSON of a session write (id and version as the write carries
 * them). */
int hw__sx_put_json(hw_sx_t *x, const char *id, int64_t version, const char *json, size_t len, hw_error_t *err);

/* Removes the directory and every page (a fresh index is written next). HW_ERR_STORE. */
int hw__sx_reset(mongoc_client_t *c, const char *db, hw_error_t *err);

/* Writes what changed in x (hw_sx_flush). HW_OK, HW_ERR_STORE, HW_ERR_NOMEM. */
int hw__sx_write(hw_sx_t *x, mongoc_client_t *c, const char *db, hw_error_t *err);

/* This process's writer tag: 16 hex digits, random, the same for every thread. Every page and
 * the directory carry it ("w"), and a reader takes only pages with its own tag: a page left by
 * an earlier run or written late by a collector that lost the lead is never read. Borrowed. */
const char *hw__sx_writer(void);

/* The directory this process wrote last for database db (parsed once, when it was written),
 * shared by the store thread with the request workers: a query reads no directory from the
 * database. NULL when this process has written none since its start or the last reset (then
 * q/sessions reads `sessions`). Release with hw__sx_dir_release (any thread; NULL is a no-op). */
typedef struct hw_sx_snap hw_sx_snap_t;
const hw_sx_dir_t *hw__sx_dir_acquire(const char *db, hw_sx_snap_t **snap);
void hw__sx_dir_release(hw_sx_snap_t *snap);

/* Reads page seq: its lines into *text (caller frees with free(); NUL-terminated, *len bytes)
 * and its next page (0: the end). HW_ERR_NOTFOUND when it is not there or another writer's
 * (hw__sx_writer: the index was rebuilt meanwhile), HW_ERR_STORE, HW_ERR_NOMEM. */
int hw__sx_read_page(mongoc_client_t *c, const char *db, int64_t seq, char **text, size_t *len, int64_t *next, hw_error_t *err);

#endif
