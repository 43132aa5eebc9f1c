/* buf.h: a growing text buffer (collector/buf.c) for the replies and index pages the collector
 * builds: appends never fail on the spot; an allocation failure sets `fail` and turns every
 * later append into a no-op, so a builder checks once at the end. */
#ifndef HEARTWIRE_COLLECTOR_BUF_H
#define HEARTWIRE_COLLECTOR_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* Zero-initialise ({0}); p is NUL-terminated once anything was added; the owner frees p with
 * free(). */
typedef struct hw_buf {
	char *p;
	size_t len, cap;
	bool fail;
} hw_buf_t;

/* Appends n bytes of s (grows by doubling from 4 KB). */
void hw__buf_add(hw_buf_t *b, const char *s, size_t n);

#endif
