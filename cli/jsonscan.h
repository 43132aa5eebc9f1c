/* jsonscan.h: reading members of a JSON text without a parser's allocations: the CLI walks the
 * data of a decoded reply (hw_reply_decode has already checked it is strict, valid JSON). */
#ifndef HEARTWIRE_CLI_JSONSCAN_H
#define HEARTWIRE_CLI_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A span of JSON text: one value (borrowed from the text it points into). */
typedef struct hw_js {
	const char *p;
	size_t n;
} hw_js_t;

/* The value of member key (borrowed) of the object in v. Returns true and *out when present
 * (JSON null included), false when absent or v is not an object. */
bool hw_js_member(hw_js_t v, const char *key, hw_js_t *out);

/* As hw_js_member, following a dotted path of object members ("to.state"). */
bool hw_js_path(hw_js_t v, const char *path, hw_js_t *out);

/* Iterates the elements of the array in v: start with *pos = 0; each call stores the next element
 * in *out and returns true, false at the end (or when v is not an array). */
bool hw_js_next(hw_js_t v, size_t *pos, hw_js_t *out);

/* The string in v, unescaped into out (len bytes, NUL-terminated, cut at a UTF-8 boundary).
 * false when v is not a string (out is then ""). */
bool hw_js_string(hw_js_t v, char *out, size_t len);

/* The integer in v. false when v is not an integer. */
bool hw_js_int(hw_js_t v, int64_t *out);

/* True when v is the literal true. */
bool hw_js_true(hw_js_t v);

/* True when v is null (or empty). */
bool hw_js_null(hw_js_t v);

/* A span over a NUL-terminated text. */
hw_js_t hw_js_of(const char *text);

/* Convenience: the string member key of v into out ("" when absent or not a string). */
const char *hw_js_str_member(hw_js_t v, const char *key, char *out, size_t len);

/* Convenience: the integer member key of v, or def when absent or not an integer. */
int64_t hw_js_int_member(hw_js_t v, const char *key, int64_t def);

#endif
