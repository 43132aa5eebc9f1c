/* store_bson.h: the stored-document mapping of collector/store_mongo.c, shared with the query
 * side (collector/store_query.c): the two files that include mongo-c-driver. Not for others. */
#ifndef HEARTWIRE_COLLECTOR_STORE_BSON_H
#define HEARTWIRE_COLLECTOR_STORE_BSON_H

#include <stddef.h>
#include <stdint.h>

#include <mongoc/mongoc.h>

/* The session document as hw_session_decode reads it (and as state/s/{id} carries it), from a
 * stored one: "v":1, "session" from _id, times as ms, without birth_epoch. *birth_epoch (may
 * be NULL) gets the stored birth_epoch (-1 when absent). Caller frees with bson_free(); NULL
 * when out of memory. */
char *hw__store_session_json(const bson_t *doc, int64_t *birth_epoch, size_t *len);

/* Copies the members under it into dst with BSON dates (and null times) turned into int64 ms
 * since the Unix epoch: the reverse of how the store writes times. */
void hw__store_dates_to_ms(bson_iter_t *it, bson_t *dst);

#endif
