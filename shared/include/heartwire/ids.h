/* ids.h: identifier validation: machine, slot, session, project and collector ids. */
#ifndef HEARTWIRE_IDS_H
#define HEARTWIRE_IDS_H

#include <stdbool.h>
#include <stddef.h>

#include "heartwire/error.h"

/* Longest id, in bytes; buffers for an id are HW_ID_MAX + 1. */
#define HW_ID_MAX 64

/* The characters an id may hold, for messages. */
#define HW_ID_ALLOWED "1-64 characters of A-Z a-z 0-9 . _ : -"

/* True when c may appear in an id. */
bool hw_id_char_ok(unsigned char c);

/* Checks that the n bytes at id form a valid id. `what` names the id in the message
 * ("session id", "--machine"); it is borrowed. Returns HW_OK, or HW_ERR_INVAL with reason
 * HW_R_BAD_ID and a message naming the id, the bad character and its position, and what
 * is allowed. id may be NULL (reported as missing). */
int hw_id_check_n(const char *what, const char *id, size_t n, hw_error_t *err);

/* hw_id_check_n for a NUL-terminated id. */
int hw_id_check(const char *what, const char *id, hw_error_t *err);

/* Copies a valid id into dst (HW_ID_MAX + 1 bytes); checks it first. */
int hw_id_copy(char dst[HW_ID_MAX + 1], const char *what, const char *id, hw_error_t *err);

#endif
