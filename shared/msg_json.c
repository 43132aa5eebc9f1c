/* msg_json.c: the codec's strict JSON reader (UTF-8 and lexical pre-checks, json-c parse with
 * a depth limit, key walk) and compact writer helpers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/ids.h"
#include "heartwire/msg.h"
#include "msg_json.h"

bool hw__utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while(i < n){
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t more;

		if(c == 0) return false;
		if(c < 0x80){
			i++;
			continue;
		}
		if(c >= 0xc2 && c <= 0xdf){
			more = 1;
		}else if(c >= 0xe0 && c <= 0xef){
			more = 2;
			if(c == 0xe0) lo = 0xa0; /* overlong */
			if(c == 0xed) hi = 0x9f; /* surrogates */
		}else if(c >= 0xf0 && c <= 0xf4){
			more = 3;
			if(c == 0xf0) lo = 0x90; /* overlong */
			if(c == 0xf4) hi = 0x8f; /* > U+10FFFF */
		}else{
			return false; /* continuation, C0/C1 overlong, F5..FF */
		}
		if(n - i - 1 < more) return false;
		if(s[i + 1] < lo || s[i + 1] > hi) return false;
		for(size_t k = 2; k <= more; k++){
			if(s[i + k] < 0x80 || s[i + k] > 0xbf) return false;
		}
		i += more + 1;
	}
	return true;
}

static int hex4(const unsigned char *p, size_t avail, unsigned *out)
{
	unsigned v = 0;

	if(avail < 4) return -1;
	for(int k = 0; k < 4; k++){
		unsigned char c = p[k];
		v <<= 4;
		if(c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if(c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if(c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

/* True when the integer literal of n bytes at p (optional '-', digits) fits int64. */
static bool int_literal_fits(const unsigned char *p, size_t n)
{
	char tmp[32];
	long long v;
	char *end;

	if(n >= sizeof(tmp)) return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	errno = 0;
	v = strtoll(tmp, &end, 10);
	(void)v;
	return errno != ERANGE;
}

/* Lexical checks json-c does not make (it accepts raw control characters in strings, NaN and
 * Infinity, turns lone surrogate escapes into U+FFFD, truncates keys at \u0000 and saturates
 * integers that overflow). Sets *overflow when an integer literal does not fit int64. */
static int lex_check(const unsigned char *s, size_t n, bool *overflow, hw_error_t *err)
{
	size_t i = 0;

	*overflow = false;
	while(i < n){
		unsigned char c = s[i];

		if(c == '"'){
			i++;
			while(i < n && s[i] != '"'){
				unsigned u, u2;

				if(s[i] < 0x20)
					return hw_error_refuse(err, HW_R_BAD_JSON,
							"raw control character 0x%02x in a string at byte %zu", s[i], i);
				if(s[i] != '\\'){
					i++;
					continue;
				}
				if(i + 1 >= n) break; /* truncated: json-c reports it */
				if(s[i + 1] != 'u'){
					i += 2;
					continue;
				}
				if(hex4(s + i + 2, n - i - 2, &u) != 0){
					i += 2; /* bad escape: json-c reports it */
					continue;
				}
				if(u == 0) return hw_error_refuse(err, HW_R_BAD_UTF8, "\\u0000 escape at byte %zu", i);
				if(u >= 0xdc00 && u <= 0xdfff)
					return hw_error_refuse(err, HW_R_BAD_UTF8, "lone low surrogate escape at byte %zu", i);
				if(u >= 0xd800 && u <= 0xdbff){
					if(i + 11 >= n || s[i + 6] != '\\' || s[i + 7] != 'u' ||
							hex4(s + i + 8, n - i - 8, &u2) != 0 || u2 < 0xdc00 || u2 > 0xdfff)
						return hw_error_refuse(
								err, HW_R_BAD_UTF8, "lone high surrogate escape at byte %zu", i);
					i += 12;
					continue;
				}
				i += 6;
			}
			i++;
			continue;
		}
		if(c == '-' || (c >= '0' && c <= '9')){
			size_t start = i;
			bool integer = true;

			i++;
			while(i < n &&
					((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
							s[i] == '+' || s[i] == '-')){
				if(s[i] == '.' || s[i] == 'e' || s[i] == 'E') integer = false;
				i++;
			}
			if(integer && !int_literal_fits(s + start, i - start)) *overflow = true;
			continue;
		}
		/* json-c takes single-quoted keys even in strict mode; a '"' inside one would put this
		 * lexer out of step and hide the escapes after it. */
		if(c == '\'') return hw_error_refuse(err, HW_R_BAD_JSON, "single quote at byte %zu: JSON strings use '\"'", i);
		if(c >= 'A' && c <= 'Z') return hw_error_refuse(err, HW_R_BAD_JSON, "unexpected '%c' at byte %zu", c, i);
		i++;
	}
	return HW_OK;
}

/* Checks depth, keys and member counts of every container under o (at depth `depth`). */
static int walk(json_object *o, int depth, int max_depth, int max_members, hw_error_t *err)
{
	enum json_type t = json_object_get_type(o);

	if(t != json_type_object && t != json_type_array) return HW_OK;
	if(depth > max_depth) return hw_error_refuse(err, HW_R_TOO_DEEP, "nesting deeper than %d levels", max_depth);
	if(t == json_type_array){
		size_t n = json_object_array_length(o);
		for(size_t i = 0; i < n; i++){
			int rc = walk(json_object_array_get_idx(o, i), depth + 1, max_depth, max_members, err);
			if(rc != HW_OK) return rc;
		}
		return HW_OK;
	}
	if(json_object_object_length(o) > max_members)
		return hw_error_refuse(err, HW_R_TOO_MANY, "an object has %d members; at most %d", json_object_object_length(o),
				max_members);
	json_object_object_foreach(o, key, val)
	{
		int rc;

		if(key[0] == '\0') return hw_error_refuse(err, HW_R_BAD_KEY, "empty key");
		if(key[0] == '$') return hw_error_refuse(err, HW_R_BAD_KEY, "key '%.64s' starts with '$'", key);
		if(strchr(key, '.')) return hw_error_refuse(err, HW_R_BAD_KEY, "key '%.64s' contains '.'", key);
		rc = walk(val, depth + 1, max_depth, max_members, err);
		if(rc != HW_OK) return rc;
	}
	return HW_OK;
}

int hw__json_parse(const void *buf, size_t len, size_t max_bytes, int max_depth, json_object **out, hw_error_t *err)
{
	return hw__json_parse_ex(buf, len, max_bytes, max_depth, HW_MSG_MAX_MEMBERS, out, err);
}

int hw__json_parse_ex(
		const void *buf, size_t len, size_t max_bytes, int max_depth, int max_members, json_object **out, hw_error_t *err)
{
	const unsigned char *s = buf;
	struct json_tokener *tok = NULL;
	json_object *obj = NULL;
	enum json_tokener_error jerr;
	bool overflow;
	size_t i = 0;
	int rc;

	*out = NULL;
	if(len == 0) return hw_error_refuse(err, HW_R_EMPTY, "empty payload");
	if(!buf) return hw_error_set(err, HW_ERR_INVAL, "payload is NULL");
	if(len > max_bytes) return hw_error_refuse(err, HW_R_TOO_LARGE, "payload is %zu bytes; at most %zu", len, max_bytes);
	if(len > INT32_MAX) return hw_error_refuse(err, HW_R_TOO_LARGE, "payload is %zu bytes", len);
	if(!hw__utf8_valid(s, len)) return hw_error_refuse(err, HW_R_BAD_UTF8, "payload is not valid UTF-8");
	rc = lex_check(s, len, &overflow, err);
	if(rc != HW_OK) return rc;
	while(i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
	if(i == len) return hw_error_refuse(err, HW_R_EMPTY, "payload is only whitespace");
	if(s[i] != '{'){
		if(strchr("[\"-0123456789tfn", s[i]))
			return hw_error_refuse(err, HW_R_NOT_OBJECT, "top level is not a JSON object");
		return hw_error_refuse(
				err, HW_R_BAD_JSON, "unexpected '%c' at byte %zu", s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?', i);
	}
	/* json-c counts scalars as a level too: max_depth + 1 lets max_depth containers hold
	 * scalars; walk() then enforces the container limit exactly. */
	tok = json_tokener_new_ex(max_depth + 1);
	if(!tok) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	if(!obj){
		if(jerr == json_tokener_error_depth)
			rc = hw_error_refuse(err, HW_R_TOO_DEEP, "nesting deeper than %d levels", max_depth);
		else if(jerr == json_tokener_continue) rc = hw_error_refuse(err, HW_R_BAD_JSON, "truncated JSON");
		else
			rc = hw_error_refuse(err, HW_R_BAD_JSON, "%s at byte %zu", json_tokener_error_desc(jerr),
					json_tokener_get_parse_end(tok));
		goto cleanup;
	}
	if(json_tokener_get_parse_end(tok) != len){
		rc = hw_error_refuse(err, HW_R_BAD_JSON, "trailing data at byte %zu", json_tokener_get_parse_end(tok));
		goto cleanup;
	}
	if(!json_object_is_type(obj, json_type_object)){
		rc = hw_error_refuse(err, HW_R_NOT_OBJECT, "top level is not a JSON object");
		goto cleanup;
	}
	rc = walk(obj, 1, max_depth, max_members, err);
	if(rc != HW_OK) goto cleanup;
	if(overflow){
		rc = hw_error_refuse(err, HW_R_OUT_OF_RANGE, "an integer is outside the 64-bit range");
		goto cleanup;
	}
	*out = obj;
	obj = NULL;
	rc = HW_OK;
cleanup:
	json_object_put(obj);
	if(tok) json_tokener_free(tok);
	return rc;
}

int hw__err_prefix(hw_error_t *err, int rc, const char *what)
{
	size_t wl, ml;

	if(!err || !what || rc == HW_OK) return rc;
	wl = strlen(what);
	if(wl + 2 >= sizeof(err->msg)) return rc;
	ml = strnlen(err->msg, sizeof(err->msg) - 1);
	if(ml > sizeof(err->msg) - 1 - wl - 2) ml = sizeof(err->msg) - 1 - wl - 2;
	memmove(err->msg + wl + 2, err->msg, ml);
	memcpy(err->msg, what, wl);
	err->msg[wl] = ':';
	err->msg[wl + 1] = ' ';
	err->msg[wl + 2 + ml] = '\0';
	return rc;
}

int hw__err_encoding(hw_error_t *err, int rc, const char *what)
{
	if(rc == HW_OK || rc == HW_ERR_NOMEM) return rc;
	if(err) err->code = HW_ERR_INVAL;
	hw__err_prefix(err, rc, what);
	return HW_ERR_INVAL;
}

/* ------------------------------------------------------------------ getters */

static const char *type_name(json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

int hw__j_get(json_object *obj, const char *key, bool required, json_object **val, hw_error_t *err)
{
	*val = NULL;
	if(json_object_object_get_ex(obj, key, val)){
		/* json-c stores JSON null as a NULL member. */
		if(!*val) return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must not be null", key);
		return HW_OK;
	}
	*val = NULL;
	if(required) return hw_error_refuse(err, HW_R_MISSING_KEY, "'%s' is missing", key);
	return HW_OK;
}

int hw__j_int_val(json_object *v, const char *key, int64_t min, int64_t max, int64_t *out, hw_error_t *err)
{
	int64_t x;

	if(!json_object_is_type(v, json_type_int))
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must be an integer, not %s", key, type_name(v));
	x = json_object_get_int64(v);
	if(x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return hw_error_refuse(err, HW_R_OUT_OF_RANGE, "'%s' is outside the 64-bit range", key);
	if(x < min || x > max)
		return hw_error_refuse(
				err, HW_R_OUT_OF_RANGE, "'%s' is %" PRId64 "; allowed %" PRId64 "..%" PRId64, key, x, min, max);
	*out = x;
	return HW_OK;
}

int hw__j_int(json_object *obj, const char *key, bool required, int64_t min, int64_t max, int64_t *out, hw_error_t *err)
{
	json_object *v;
	int rc = hw__j_get(obj, key, required, &v, err);

	if(rc != HW_OK || !v) return rc;
	return hw__j_int_val(v, key, min, max, out, err);
}

int hw__j_bool(json_object *obj, const char *key, bool required, bool *out, hw_error_t *err)
{
	json_object *v;
	int rc = hw__j_get(obj, key, required, &v, err);

	if(rc != HW_OK || !v) return rc;
	if(!json_object_is_type(v, json_type_boolean))
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must be a boolean, not %s", key, type_name(v));
	*out = json_object_get_boolean(v) != 0;
	return HW_OK;
}

/* The string value of key, or NULL when absent and optional. */
static int get_string(json_object *obj, const char *key, bool required, const char **s, size_t *n, hw_error_t *err)
{
	json_object *v;
	int rc = hw__j_get(obj, key, required, &v, err);

	*s = NULL;
	*n = 0;
	if(rc != HW_OK || !v) return rc;
	if(!json_object_is_type(v, json_type_string))
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must be a string, not %s", key, type_name(v));
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return HW_OK;
}

int hw__j_id(json_object *obj, const char *key, bool required, char *dst, hw_error_t *err)
{
	const char *s;
	size_t n;
	int rc = get_string(obj, key, required, &s, &n, err);

	if(rc != HW_OK || !s) return rc;
	rc = hw_id_check_n(key, s, n, err);
	if(rc != HW_OK){
		if(err){
			err->code = HW_ERR_DECODE;
			err->reason = HW_R_BAD_ID;
		}
		return HW_ERR_DECODE;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return HW_OK;
}

int hw__j_text(json_object *obj, const char *key, bool required, size_t max, char *dst, hw_error_t *err)
{
	const char *s;
	size_t n;
	int rc = get_string(obj, key, required, &s, &n, err);

	if(rc != HW_OK || !s) return rc;
	if(n > max) return hw_error_refuse(err, HW_R_TOO_LARGE, "'%s' is %zu bytes; at most %zu", key, n, max);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return HW_OK;
}

int hw__j_text_dup(json_object *obj, const char *key, bool required, size_t max, char **dst, hw_error_t *err)
{
	const char *s;
	size_t n;
	int rc = get_string(obj, key, required, &s, &n, err);

	if(rc != HW_OK || !s || n == 0) return rc;
	if(n > max) return hw_error_refuse(err, HW_R_TOO_LARGE, "'%s' is %zu bytes; at most %zu", key, n, max);
	*dst = malloc(n + 1);
	if(!*dst) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for '%s'", key);
	memcpy(*dst, s, n);
	(*dst)[n] = '\0';
	return HW_OK;
}

int hw__j_enum(json_object *obj, const char *key, bool required, const char *const *names, int count, int *out, hw_error_t *err)
{
	const char *s;
	size_t n;
	char allowed[200];
	size_t o = 0;
	int rc = get_string(obj, key, required, &s, &n, err);

	if(rc != HW_OK || !s) return rc;
	for(int i = 0; i < count; i++){
		if(names[i] && strcmp(names[i], s) == 0){
			*out = i;
			return HW_OK;
		}
	}
	allowed[0] = '\0';
	for(int i = 0; i < count && o < sizeof(allowed); i++){
		if(!names[i]) continue;
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s", o ? "|" : "", names[i]);
	}
	return hw_error_refuse(err, HW_R_BAD_VALUE, "'%s' is '%.64s'; allowed: %s", key, s, allowed);
}

int hw__j_obj(json_object *obj, const char *key, bool required, json_object **out, hw_error_t *err)
{
	int rc = hw__j_get(obj, key, required, out, err);

	if(rc != HW_OK || !*out) return rc;
	if(!json_object_is_type(*out, json_type_object))
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must be an object, not %s", key, type_name(*out));
	return HW_OK;
}

int hw__j_arr(json_object *obj, const char *key, bool required, size_t max, json_object **out, hw_error_t *err)
{
	int rc = hw__j_get(obj, key, required, out, err);

	if(rc != HW_OK || !*out) return rc;
	if(!json_object_is_type(*out, json_type_array))
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "'%s' must be an array, not %s", key, type_name(*out));
	if(json_object_array_length(*out) > max)
		return hw_error_refuse(err, HW_R_TOO_MANY, "'%s' has %zu entries; at most %zu", key,
				json_object_array_length(*out), max);
	return HW_OK;
}

/* ------------------------------------------------------------------ writers */

void hw__w_add(json_object *o, const char *key, json_object *v, bool *fail)
{
	if(*fail || !o || !v){
		*fail = true;
		json_object_put(v);
		return;
	}
	if(json_object_object_add(o, key, v) != 0){
		json_object_put(v);
		*fail = true;
	}
}

void hw__w_int(json_object *o, const char *key, int64_t v, bool *fail)
{
	if(*fail) return;
	hw__w_add(o, key, json_object_new_int64(v), fail);
}

void hw__w_bool(json_object *o, const char *key, bool v, bool *fail)
{
	if(*fail) return;
	hw__w_add(o, key, json_object_new_boolean(v), fail);
}

void hw__w_null(json_object *o, const char *key, bool *fail)
{
	if(*fail || !o){
		*fail = true;
		return;
	}
	if(json_object_object_add(o, key, NULL) != 0) *fail = true;
}

void hw__w_str(json_object *o, const char *key, const char *s, bool *fail)
{
	if(*fail) return;
	hw__w_add(o, key, json_object_new_string(s ? s : ""), fail);
}

void hw__w_opt_str(json_object *o, const char *key, const char *s, bool *fail)
{
	if(!s || !s[0]) return;
	hw__w_str(o, key, s, fail);
}

json_object *hw__w_obj(json_object *o, const char *key, bool *fail)
{
	json_object *v;

	if(*fail) return NULL;
	v = json_object_new_object();
	hw__w_add(o, key, v, fail);
	return *fail ? NULL : v;
}

json_object *hw__w_arr(json_object *o, const char *key, bool *fail)
{
	json_object *v;

	if(*fail) return NULL;
	v = json_object_new_array();
	hw__w_add(o, key, v, fail);
	return *fail ? NULL : v;
}

void hw__w_append(json_object *arr, json_object *v, bool *fail)
{
	if(*fail || !arr || !v){
		*fail = true;
		json_object_put(v);
		return;
	}
	if(json_object_array_add(arr, v) != 0){
		json_object_put(v);
		*fail = true;
	}
}

int hw__w_finish(json_object *root, bool fail, char **out, size_t *outlen, hw_error_t *err)
{
	const char *s;
	size_t n;
	char *copy;

	*out = NULL;
	if(outlen) *outlen = 0;
	if(fail || !root){
		json_object_put(root);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	}
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if(!s){
		json_object_put(root);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	}
	copy = malloc(n + 1);
	if(!copy){
		json_object_put(root);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	}
	memcpy(copy, s, n + 1);
	json_object_put(root);
	*out = copy;
	if(outlen) *outlen = n;
	return HW_OK;
}
