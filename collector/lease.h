/* lease.h: the leadership lease of a group of collectors (collector/store_lease.c, on the
 * `leases` collection): at most one collector of a group is the active one; the others wait
 * to take over. Built on what is atomic on every engine the collector supports: inserting a
 * document with a given _id (FerretDB 1.24 does not make a version-guarded update atomic). */
#ifndef HEARTWIRE_COLLECTOR_LEASE_H
#define HEARTWIRE_COLLECTOR_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "heartwire/error.h"

typedef struct hw_lease hw_lease_t;

/*
 * One document per generation: {_id: "{group}:{gen}", group, gen, owner, until (date)}. The
 * holder of the highest generation whose `until` has not passed is the leader. To take over,
 * a collector inserts generation + 1 (a duplicate key means another one won the race); the
 * leader extends `until` of its own generation (only it writes that document). A leader
 * considers itself one only until (start of its last successful renewal + lease - margin),
 * and a new leader waits a full lease after its insert before it acts, so two never act at
 * once even when a renewal raced the takeover (docs/scaling.md).
 */

/* Creates a lease client for group on uri/db (strings copied) as owner, with lease_ms.
 * Returns HW_OK and *out (free with hw_lease_free), HW_ERR_CONFIG (bad URI), HW_ERR_NOMEM. */
int hw_lease_new(hw_lease_t **out, const char *uri, const char *db, const char *group, const char *owner, int64_t lease_ms,
		hw_error_t *err);

/* Frees the client (the lease itself just expires). NULL is a no-op. */
void hw_lease_free(hw_lease_t *l);

/* One attempt to become the leader: reads the newest generation; when it is free (none, or its
 * `until` passed more than the margin ago) inserts the next one. *won is true when this call
 * made us the leader, and *leader gets the current leader's id ("" when none). Returns HW_OK or
 * HW_ERR_STORE (the database did not answer). */
int hw_lease_try(hw_lease_t *l, bool *won, char *leader, size_t leader_len, hw_error_t *err);

/* Extends our generation's `until` to now + lease and checks that no newer generation exists.
 * Returns HW_OK; HW_ERR_STATE when another collector holds a newer generation (we are not the
 * leader any more); HW_ERR_STORE when the database did not answer (try again; the lease runs
 * out by itself). */
int hw_lease_renew(hw_lease_t *l, hw_error_t *err);

/* Our generation (0 before winning). */
int64_t hw_lease_gen(const hw_lease_t *l);

#endif
