/* store.h: the collector's MongoDB store (collector/store_mongo.c, the only file that uses
 * mongo-c-driver): indexes, the start-up load, and the store thread that drains the store
 * queue with guarded, idempotent bulk writes and survives database outages. */
#ifndef HEARTWIRE_COLLECTOR_STORE_H
#define HEARTWIRE_COLLECTOR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"

#include "histo.h"
#include "storeq.h"

typedef struct hw_store hw_store_t;

typedef struct hw_store_opts {
	const char *uri;             /* mongodb:// URI (replica sets, retryWrites, TLS: all URI options) */
	const char *db;              /* database name */
	const char *appname;         /* shown in the server's logs; NULL: "heartwire-collector" */
	int64_t events_retention_ms; /* events older than this are deleted (periodically); 0 = keep */
	int64_t prune_every_ms;      /* how often the store thread prunes events; 0 = hourly */
	int batch_max;               /* ops per bulk write; 0 = 1000 */
} hw_store_opts_t;

/* Counters, read with hw_store_get_stats (any thread). */
typedef struct hw_store_stats {
	uint64_t sessions_written; /* session upserts acknowledged */
	uint64_t events_written;   /* events inserted */
	uint64_t rollups_written;
	uint64_t stale;           /* guarded writes refused as older (duplicate key / no match): expected */
	uint64_t rejected;        /* writes the server refused for good (logged), dropped */
	uint64_t retries;         /* batches retried after a transient failure */
	uint64_t pruned;          /* events deleted by retention */
	bool down;                /* the last attempt failed and the batch waits for a retry */
	uint64_t pending;         /* ops in the batch waiting for a retry */
	int64_t busy_since;       /* hw_mono_ms() when the batch being written (or retried) was taken; 0: idle */
	hw_histo_t write_latency; /* duration of every bulk write command, failed ones included */
} hw_store_stats_t;

/* Creates the store (a mongoc_client_pool_t on opts->uri; no I/O yet) that will drain q
 * (borrowed; must outlive the store). opts strings are copied. mongoc_init() must have been
 * called. Returns HW_OK and *out (free with hw_store_free), HW_ERR_CONFIG for a bad URI or
 * database name, HW_ERR_NOMEM. */
int hw_store_new(hw_store_t **out, const hw_store_opts_t *opts, hw_storeq_t *q, hw_error_t *err);

/* Pings the server and creates the indexes (idempotent). Blocks up to the server selection
 * timeout. Returns HW_OK or HW_ERR_STORE (transient: try again later). */
int hw_store_prepare(hw_store_t *st, hw_error_t *err);

/* Receives one loaded session: *doc (decoded; the callee takes over its heap members and
 * must leave *doc cleaned) and the epoch its birth metadata is from (-1 unknown). Returns
 * HW_OK, or an error that stops the load. */
typedef int (*hw_store_load_fn)(void *ctx, hw_session_t *doc, int64_t birth_epoch, hw_error_t *err);

/* Loads every session that is not completed or failed, and those that ended at or after
 * ended_since (ms since the Unix epoch; their retained state still needs removing), calling
 * fn for each. A document the codec refuses is skipped and counted in *skipped (may be NULL).
 * Returns HW_OK, HW_ERR_STORE (transient), or fn's error. */
int hw_store_load(hw_store_t *st, int64_t ended_since, hw_store_load_fn fn, void *ctx, uint64_t *skipped, hw_error_t *err);

/* Starts the store thread. Returns HW_OK or HW_ERR_IO. */
int hw_store_start(hw_store_t *st, hw_error_t *err);

/* Closes the queue and lets the thread write what is queued for up to drain_ms more, then
 * stops it. Returns the number of ops that could not be written (0 = everything is stored). */
uint64_t hw_store_stop(hw_store_t *st, int drain_ms);

/* Frees the store (stops the thread first if needed). NULL is a no-op. */
void hw_store_free(hw_store_t *st);

/* A snapshot of the counters. */
void hw_store_get_stats(hw_store_t *st, hw_store_stats_t *out);

/* Routes mongo-c-driver's own log lines into hw_log (warnings and above). Call once, early. */
void hw_store_route_driver_log(void);

/* mongoc_init / mongoc_cleanup, so that main.c needs no driver header. */
void hw_store_global_init(void);
void hw_store_global_cleanup(void);

#endif
