/* msg_json.h: internal strict JSON reading and compact writing for the codec (shared/msg*.c
 * only: json-c is confined to these files). */
#ifndef HEARTWIRE_MSG_JSON_H
#define HEARTWIRE_MSG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"

/* True when the n bytes at s are valid UTF-8 without NUL, overlongs, surrogates or code points
 * over U+10FFFF. */
bool hw__utf8_valid(const unsigned char *s, size_t n);

/* Parses len bytes at buf (borrowed) into a new json-c object, strictly: refuses EMPTY,
 * TOO_LARGE (len > max_bytes), BAD_UTF8, BAD_JSON (including raw control characters in
 * strings, NaN/Infinity and trailing garbage), NOT_OBJECT, TOO_DEEP (more than max_depth
 * nested containers), BAD_KEY, TOO_MANY (an object over HW_MSG_MAX_MEMBERS members) and
 * OUT_OF_RANGE (an integer outside int64). On success the caller owns *out (json_object_put). */
int hw__json_parse(const void *buf, size_t len, size_t max_bytes, int max_depth, json_object **out, hw_error_t *err);

/* hw__json_parse with a limit of max_members members per object instead of HW_MSG_MAX_MEMBERS. */
int hw__json_parse_ex(const void *buf, size_t len, size_t max_bytes, int max_depth, int max_members, json_object **out,
		hw_error_t *err);

/* Prefixes err->msg with "what: " (for nested objects and message names). Returns rc. */
int hw__err_prefix(hw_error_t *err, int rc, const char *what);

/* Turns a decoder's refusal into an encoder's error: code HW_ERR_INVAL (keeps reason and
 * message), unless it was HW_ERR_NOMEM. Returns the new code. */
int hw__err_encoding(hw_error_t *err, int rc, const char *what);

/* ---- strict getters. Each looks up key in obj (an object, borrowed). An absent key is
 * HW_R_MISSING_KEY when required, otherwise HW_OK with the output untouched (the caller sets
 * the default). A JSON null counts as the wrong type. */

/* Any value, borrowed (NULL when absent and optional). */
int hw__j_get(json_object *obj, const char *key, bool required, json_object **val, hw_error_t *err);
/* An integer (json int, not double/string) in min..max. */
int hw__j_int(json_object *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out, hw_error_t *err);
/* The value of an integer json object in min..max; key names it in messages. */
int hw__j_int_val(json_object *v, const char *key, int64_t min, int64_t max, int64_t *out, hw_error_t *err);
/* A boolean. */
int hw__j_bool(json_object *obj, const char *key, bool required, bool *out, hw_error_t *err);
/* An id (1-64 of [A-Za-z0-9._:-]) into dst (HW_ID_MAX + 1 bytes); HW_R_BAD_ID otherwise. */
int hw__j_id(json_object *obj, const char *key, bool required, char *dst, hw_error_t *err);
/* A string of at most max bytes into dst (max + 1 bytes); HW_R_TOO_LARGE when longer. */
int hw__j_text(json_object *obj, const char *key, bool required, size_t max, char *dst, hw_error_t *err);
/* As hw__j_text, into a heap copy sized to fit: *dst (NULL on entry) becomes a string the
 * caller frees with free(), or stays NULL when the key is absent or the string empty. */
int hw__j_text_dup(json_object *obj, const char *key, bool required, size_t max, char **dst, hw_error_t *err);
/* A string that is one of names[0..count-1] (NULL entries skipped); *out = its index. */
int hw__j_enum(json_object *obj, const char *key, bool required, const char *const *names, int count, int *out, hw_error_t *err);
/* An object (borrowed). */
int hw__j_obj(json_object *obj, const char *key, bool required, json_object **out, hw_error_t *err);
/* An array (borrowed) of at most max entries (HW_R_TOO_MANY). */
int hw__j_arr(json_object *obj, const char *key, bool required, size_t max, json_object **out, hw_error_t *err);

/* ---- writers. Each adds key to o; on allocation failure it sets *fail, and every writer is
 * a no-op once *fail is set or o is NULL, so an encoder checks once at the end. */
void hw__w_int(json_object *o, const char *key, int64_t v, bool *fail);
void hw__w_bool(json_object *o, const char *key, bool v, bool *fail);
void hw__w_null(json_object *o, const char *key, bool *fail);
/* Adds s (borrowed, copied); hw__w_opt_str adds it only when non-empty. */
void hw__w_str(json_object *o, const char *key, const char *s, bool *fail);
void hw__w_opt_str(json_object *o, const char *key, const char *s, bool *fail);
/* Adds v (takes ownership, also on failure). */
void hw__w_add(json_object *o, const char *key, json_object *v, bool *fail);
/* Adds a new empty object or array and returns it (borrowed from o), or NULL on failure. */
json_object *hw__w_obj(json_object *o, const char *key, bool *fail);
json_object *hw__w_arr(json_object *o, const char *key, bool *fail);
/* Appends to an array (takes ownership of v, also on failure). */
void hw__w_append(json_object *arr, json_object *v, bool *fail);

/* Serialises root compactly into a new NUL-terminated string *out (caller frees with free())
 * and puts root (takes ownership, also on failure). HW_ERR_NOMEM when fail is set or memory
 * runs out. */
int hw__w_finish(json_object *root, bool fail, char **out, size_t *outlen, hw_error_t *err);

/* ---- pieces shared by msg.c, msg_session.c and msg_req.c (defined in msg.c) */

/* "v" present and the integer HW_MSG_VERSION; HW_R_BAD_VERSION otherwise. */
int hw__msg_check_version(json_object *o, hw_error_t *err);
/* An exit object {"code": int|null, "signal": int|null}, exactly one non-null. */
int hw__msg_dec_exit_obj(json_object *e, hw_exit_t *out, hw_error_t *err);
/* Adds "exit" to o and returns it (borrowed), NULL on failure. */
json_object *hw__msg_enc_exit(json_object *o, const hw_exit_t *x, bool *fail);
/* prompts, tools, last_activity_ts of a progress object. */
int hw__msg_dec_progress_obj(json_object *p, hw_progress_t *out, hw_error_t *err);
/* Optional "agent": at most HW_AGENT_MAX printable ASCII characters. */
int hw__msg_dec_agent(json_object *o, char *dst, hw_error_t *err);
/* Optional "argv" into a heap array the caller frees with hw__msg_free_argv. */
int hw__msg_dec_argv(json_object *o, char ***argv, size_t *argc, hw_error_t *err);
/* Adds "argv" (borrowed strings) when argc > 0. */
void hw__msg_enc_argv(json_object *o, char *const *argv, size_t argc, bool *fail);
/* Frees a decoder-allocated argv; NULL is a no-op. */
void hw__msg_free_argv(char **argv, size_t argc);

#endif
