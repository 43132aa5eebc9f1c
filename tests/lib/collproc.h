/* collproc.h: a heartwire-collector process for the tests: started from the build tree with
 * the test timings, and its retained presence (collector/{id}) awaited. Shared by the chaos and
 * the collector integration suites. */
#ifndef HEARTWIRE_TEST_COLLPROC_H
#define HEARTWIRE_TEST_COLLPROC_H

#include <sys/types.h>

/* How to start one collector; every string borrowed. */
typedef struct hwt_collproc {
	const char *broker; /* URL */
	const char *mongo_uri;
	const char *db;
	const char *id;
	int startup_grace_ms;
	int flush_ms, store_flush_ms, rollup_ms;
	const char *const *extra; /* more arguments, NULL-terminated; may be NULL */
	const char *log;          /* stdout and stderr go here */
} hwt_collproc_t;

/* Spawns $HW_BUILD_DIR/collector/heartwire-collector with --log-level debug and p's settings.
 * Returns its pid, or -1. */
pid_t hwt_collproc_spawn(const hwt_collproc_t *p);

/* Waits up to timeout_ms for {root}/collector/{id} to be retained as want ("online" or
 * "offline"). Returns 0 when seen, -1 otherwise (printed when the watch could not start). */
int hwt_collproc_presence_wait(const char *url, const char *root, const char *id, const char *want, int timeout_ms);

#endif
