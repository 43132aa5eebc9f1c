/* hwtest.h: the CUnit runner every heartwire test executable uses. */
#ifndef HEARTWIRE_HWTEST_H
#define HEARTWIRE_HWTEST_H

#include <CUnit/CUnit.h>

typedef struct hwtest_case {
	const char *name;
	void (*fn)(void);
} hwtest_case_t;

/* clang-format off */
#define HWTEST(fn) {#fn, fn}
#define HWTEST_END {NULL, NULL}
/* clang-format on */

/* Registers a suite with optional init/cleanup and a table of cases ending in HWTEST_END.
 * Call after hwtest_init. Returns 0, or -1 when CUnit refused it. */
int hwtest_suite(const char *name, int (*init)(void), int (*cleanup)(void), const hwtest_case_t *cases);

/* Initialises the registry; returns 0 or -1. */
int hwtest_init(void);

/* Runs every suite in CUnit's basic mode (verbose) and returns the exit status: 0 only when
 * every suite set up and every assertion passed. CUnit's failure count alone misses failed
 * suite set-ups and wraps, so this also checks the suite and test failure counters. */
int hwtest_run(void);

#endif
