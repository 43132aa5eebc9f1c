/* leader.h: leadership of a collector group (--group): wait for the lease, keep renewing it on
 * a thread of its own, and tell the ingest loop, at any moment, whether it may still act. */
#ifndef HEARTWIRE_COLLECTOR_LEADER_H
#define HEARTWIRE_COLLECTOR_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/error.h"

typedef struct hw_leader hw_leader_t;

/* Blocks until this collector holds the group's lease (uri, db, group, id and lease_ms are
 * copied), then waits one more lease so that a previous leader whose last renewal raced the
 * takeover has certainly stopped, and starts the renewal thread. stop (may be NULL) is polled:
 * when it becomes non-zero the wait ends with HW_ERR_AGAIN. Returns HW_OK and *out (free with
 * hw_leader_free), HW_ERR_AGAIN, or a configuration error. */
int hw_leader_acquire(hw_leader_t **out, const char *uri, const char *db, const char *group, const char *id, int64_t lease_ms,
		volatile const int *stop, hw_error_t *err);

/* True while this collector may act as the leader at monotonic time now_mono: the last renewal
 * succeeded recently enough and no newer leader was seen. Once false, it stays false. Any
 * thread. *why (may be NULL) gets a reason when false. */
bool hw_leader_valid(hw_leader_t *l, int64_t now_mono, const char **why);

/* Stops the renewal thread and frees. The lease is left to expire. NULL is a no-op. */
void hw_leader_free(hw_leader_t *l);

#endif
