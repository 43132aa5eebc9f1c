/* map.h: a string-keyed hash map (chained, FNV-1a) of borrowed values: the collector's
 * session table, its project and machine rollups and the store queue's coalescing index. */
#ifndef HEARTWIRE_COLLECTOR_MAP_H
#define HEARTWIRE_COLLECTOR_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "heartwire/error.h"

typedef struct hw_map_entry {
	struct hw_map_entry *next;
	void *value; /* borrowed: the map never frees values */
	char key[];  /* NUL-terminated copy of the key */
} hw_map_entry_t;

/* Caller-owned: hw_map_init() ... hw_map_cleanup(). Not thread-safe. */
typedef struct hw_map {
	hw_map_entry_t **buckets;
	size_t nbuckets; /* a power of two */
	size_t len;
} hw_map_t;

/* Initialises an empty map. Returns HW_OK or HW_ERR_NOMEM. */
int hw_map_init(hw_map_t *m, hw_error_t *err);

/* Frees the entries and buckets (not the values) and resets *m. NULL is a no-op. */
void hw_map_cleanup(hw_map_t *m);

/* The value stored under key (borrowed), or NULL. */
void *hw_map_get(const hw_map_t *m, const char *key);

/* Stores value under key (the key is copied; the value is borrowed), replacing any value
 * there. Returns HW_OK or HW_ERR_NOMEM (the map is unchanged then). */
int hw_map_put(hw_map_t *m, const char *key, void *value, hw_error_t *err);

/* Removes key; returns its value, or NULL when absent. */
void *hw_map_del(hw_map_t *m, const char *key);

/* Number of entries. */
size_t hw_map_len(const hw_map_t *m);

/* Iteration that tolerates deleting the current entry (and no other): start with it = {0}, then
 * `while(hw_map_next(m, &it))` and read it.key / it.value. Do not insert while iterating. */
typedef struct hw_map_iter {
	bool started;
	size_t bucket;
	hw_map_entry_t *next;
	const char *key;
	void *value;
} hw_map_iter_t;

/* Advances it; returns false at the end. */
bool hw_map_next(const hw_map_t *m, hw_map_iter_t *it);

#endif
