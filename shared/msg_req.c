/* msg_req.c: query/command requests (q/{verb}, cmd/{verb}) and their replies. */
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "msg_json.h"

/* clang-format off */
static const char *const verb_names[HW_VERB__COUNT] = {
	[HW_VERB_NONE] = NULL,
	[HW_VERB_SESSIONS] = "sessions", [HW_VERB_SESSION] = "session", [HW_VERB_EVENTS] = "events",
	[HW_VERB_PROJECTS] = "projects", [HW_VERB_MACHINES] = "machines", [HW_VERB_STATS] = "stats",
	[HW_VERB_FAIL] = "fail", [HW_VERB_CLEAR] = "clear", [HW_VERB_CLAIM] = "claim",
	[HW_VERB_RELEASE] = "release", [HW_VERB_PAUSE] = "pause", [HW_VERB_UNPAUSE] = "unpause",
};
/* clang-format on */

/* clang-format off */
static const char *const reply_code_names[HW_REPLY__COUNT] = {
	"bad_request", "unknown_session", "bad_filter", "conflict", "not_recoverable", "forbidden",
	"internal", "unavailable",
};
/* clang-format on */

const char *hw_verb_name(int verb)
{
	if(verb <= HW_VERB_NONE || verb >= HW_VERB__COUNT) return "unknown";
	return verb_names[verb];
}

bool hw_verb_is_command(int verb)
{
	return verb >= HW_VERB_FAIL && verb < HW_VERB__COUNT;
}

int hw_verb_parse(int kind, const char *name, int *verb, hw_error_t *err)
{
	for(int i = HW_VERB_NONE + 1; name && i < HW_VERB__COUNT; i++){
		if(strcmp(verb_names[i], name) != 0) continue;
		if((kind == HW_T_QUERY && hw_verb_is_command(i)) || (kind == HW_T_COMMAND && !hw_verb_is_command(i))) break;
		*verb = i;
		return HW_OK;
	}
	hw_error_set(err, HW_ERR_INVAL, "unknown %s verb '%.64s'; allowed: %s",
			kind == HW_T_COMMAND                 ? "command"
					: kind == HW_T_QUERY ? "query"
							     : "request",
			name ? name : "",
			kind == HW_T_COMMAND                 ? HW_COMMAND_VERBS
					: kind == HW_T_QUERY ? HW_QUERY_VERBS
							     : HW_QUERY_VERBS ", " HW_COMMAND_VERBS);
	if(err) err->reason = HW_R_BAD_VALUE;
	return HW_ERR_INVAL;
}

/* ------------------------------------------------------------------ requests */

static int dec_states(json_object *o, unsigned *mask, hw_error_t *err)
{
	json_object *a;
	int rc = hw__j_arr(o, "states", false, HW_STATE__COUNT, &a, err);

	if(rc != HW_OK || !a) return rc;
	for(size_t i = 0; i < json_object_array_length(a); i++){
		json_object *e = json_object_array_get_idx(a, i);
		int st = 0;

		if(!json_object_is_type(e, json_type_string))
			return hw_error_refuse(err, HW_R_WRONG_TYPE, "'states' entry %zu must be a string", i);
		if(hw_state_parse(json_object_get_string(e), &st, NULL) != HW_OK || st == HW_STATE_NONE)
			return hw_error_refuse(err, HW_R_BAD_VALUE, "'states' entry '%.64s' is not a state name",
					json_object_get_string(e));
		*mask |= 1u << st;
	}
	return HW_OK;
}

/* reply_to: a concrete topic to publish to, 1..HW_REPLY_TO_MAX bytes, no wildcards. */
static int dec_reply_to(json_object *o, char *dst, hw_error_t *err)
{
	int rc = hw__j_text(o, "reply_to", false, HW_REPLY_TO_MAX, dst, err);
	json_object *v;

	if(rc != HW_OK) return rc;
	if(!dst[0]){
		if(json_object_object_get_ex(o, "reply_to", &v))
			return hw_error_refuse(err, HW_R_BAD_VALUE, "'reply_to' is empty");
		return HW_OK;
	}
	if(strpbrk(dst, "+#")) return hw_error_refuse(err, HW_R_WILDCARD, "'reply_to' holds a wildcard");
	return HW_OK;
}

/* cursor: opaque printable ASCII without spaces. */
static int dec_cursor(json_object *o, char *dst, hw_error_t *err)
{
	int rc = hw__j_text(o, "cursor", false, HW_CURSOR_MAX, dst, err);

	if(rc != HW_OK) return rc;
	for(const char *p = dst; *p; p++){
		if(*p <= 0x20 || *p > 0x7e)
			return hw_error_refuse(err, HW_R_BAD_VALUE, "'cursor' must be printable ASCII without spaces");
	}
	return HW_OK;
}

static int required_for_verb(const hw_request_t *r, hw_error_t *err)
{
	switch(r->verb){
	case HW_VERB_SESSION:
	case HW_VERB_FAIL:
	case HW_VERB_CLEAR:
		if(!r->session[0]) return hw_error_refuse(err, HW_R_MISSING_KEY, "'session' is missing");
		break;
	case HW_VERB_CLAIM:
		if(!r->session[0]) return hw_error_refuse(err, HW_R_MISSING_KEY, "'session' is missing");
		if(!r->claimant[0]) return hw_error_refuse(err, HW_R_MISSING_KEY, "'claimant' is missing");
		break;
	case HW_VERB_RELEASE:
		if(!r->session[0]) return hw_error_refuse(err, HW_R_MISSING_KEY, "'session' is missing");
		if(!r->token[0]) return hw_error_refuse(err, HW_R_MISSING_KEY, "'token' is missing");
		break;
	default:
		break;
	}
	return HW_OK;
}

int hw_request_decode(int kind, const char *verb, const void *buf, size_t len, hw_request_t *out, hw_error_t *err)
{
	json_object *o = NULL, *v;
	int rc;

	*out = (hw_request_t)HW_REQUEST_INIT;
	rc = hw_verb_parse(kind, verb, &out->verb, err);
	if(rc != HW_OK){
		if(err) err->code = HW_ERR_DECODE;
		return HW_ERR_DECODE;
	}
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	if(json_object_object_get_ex(o, "v", &v)) rc = hw__msg_check_version(o, err);
	if(rc == HW_OK) rc = dec_states(o, &out->states, err);
	if(rc == HW_OK) rc = hw__j_id(o, "project", false, out->project, err);
	if(rc == HW_OK) rc = hw__j_id(o, "machine", false, out->machine, err);
	if(rc == HW_OK) rc = hw__j_id(o, "slot", false, out->slot, err);
	if(rc == HW_OK) rc = hw__j_id(o, "session", false, out->session, err);
	if(rc == HW_OK) rc = hw__j_int(o, "updated_since", false, 0, INT64_MAX, &out->updated_since, err);
	if(rc == HW_OK) rc = hw__j_int(o, "limit", false, 1, HW_LIMIT_MAX, &out->limit, err);
	if(rc == HW_OK) rc = dec_cursor(o, out->cursor, err);
	if(rc == HW_OK) rc = hw__j_text(o, "reason", false, HW_TEXT_MAX, out->reason, err);
	if(rc == HW_OK) rc = hw__j_int(o, "resume_at", false, 0, INT64_MAX, &out->resume_at, err);
	if(rc == HW_OK) rc = hw__j_int(o, "lease_ms", false, 1, HW_LEASE_MAX_MS, &out->lease_ms, err);
	if(rc == HW_OK) rc = hw__j_id(o, "token", false, out->token, err);
	if(rc == HW_OK) rc = hw__j_id(o, "claimant", false, out->claimant, err);
	if(rc == HW_OK) rc = dec_reply_to(o, out->reply_to, err);
	if(rc == HW_OK) rc = hw__j_text(o, "corr", false, HW_CORR_MAX, out->corr, err);
	if(rc == HW_OK) rc = required_for_verb(out, err);
cleanup:
	json_object_put(o);
	if(rc != HW_OK){
		int v0 = out->verb;
		*out = (hw_request_t)HW_REQUEST_INIT;
		out->verb = v0;
	}
	return hw__err_prefix(err, rc, hw_verb_name(out->verb));
}

int hw_request_encode(const hw_request_t *req, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = json_object_new_object();
	hw_request_t check;
	int rc;

	*out = NULL;
	if(req->verb <= HW_VERB_NONE || req->verb >= HW_VERB__COUNT){
		json_object_put(o);
		hw_error_set(err, HW_ERR_INVAL, "request has no verb");
		if(err) err->reason = HW_R_BAD_VALUE;
		return HW_ERR_INVAL;
	}
	if(!o) fail = true;
	hw__w_int(o, "v", HW_MSG_VERSION, &fail);
	if(req->states){
		json_object *a = hw__w_arr(o, "states", &fail);
		for(int i = 0; i < (int)(sizeof(req->states) * 8) && !fail; i++){
			if(req->states & (1u << i)) hw__w_append(a, json_object_new_string(hw_state_name(i)), &fail);
		}
	}
	hw__w_opt_str(o, "project", req->project, &fail);
	hw__w_opt_str(o, "machine", req->machine, &fail);
	hw__w_opt_str(o, "slot", req->slot, &fail);
	hw__w_opt_str(o, "session", req->session, &fail);
	if(req->updated_since) hw__w_int(o, "updated_since", req->updated_since, &fail);
	if(req->limit != HW_LIMIT_DEFAULT) hw__w_int(o, "limit", req->limit, &fail);
	hw__w_opt_str(o, "cursor", req->cursor, &fail);
	hw__w_opt_str(o, "reason", req->reason, &fail);
	if(req->resume_at) hw__w_int(o, "resume_at", req->resume_at, &fail);
	if(req->lease_ms) hw__w_int(o, "lease_ms", req->lease_ms, &fail);
	hw__w_opt_str(o, "token", req->token, &fail);
	hw__w_opt_str(o, "claimant", req->claimant, &fail);
	hw__w_opt_str(o, "reply_to", req->reply_to, &fail);
	hw__w_opt_str(o, "corr", req->corr, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_request_decode(0, hw_verb_name(req->verb), *out, strlen(*out), &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

/* ------------------------------------------------------------------ replies */

const char *hw_reply_code_name(int code)
{
	if(code < 0 || code >= HW_REPLY__COUNT) return "internal";
	return reply_code_names[code];
}

int hw_reply_code_parse(const char *name, int *code, hw_error_t *err)
{
	for(int i = 0; name && i < HW_REPLY__COUNT; i++){
		if(strcmp(reply_code_names[i], name) == 0){
			*code = i;
			return HW_OK;
		}
	}
	hw_error_set(err, HW_ERR_INVAL,
			"reply code '%.64s' is not one of bad_request, unknown_session, "
			"bad_filter, conflict, not_recoverable, forbidden, internal, unavailable",
			name ? name : "");
	if(err) err->reason = HW_R_BAD_VALUE;
	return HW_ERR_INVAL;
}

int hw_reply_code_from_rc(int rc)
{
	switch(rc){
	case HW_ERR_DECODE:
	case HW_ERR_INVAL:
		return HW_REPLY_BAD_REQUEST;
	case HW_ERR_NOTFOUND:
		return HW_REPLY_UNKNOWN_SESSION;
	case HW_ERR_CONFLICT:
		return HW_REPLY_CONFLICT;
	case HW_ERR_STATE:
		return HW_REPLY_NOT_RECOVERABLE;
	case HW_ERR_FORBIDDEN:
		return HW_REPLY_FORBIDDEN;
	case HW_ERR_STORE:
	case HW_ERR_AGAIN:
	case HW_ERR_TIMEOUT:
	case HW_ERR_MQTT:
		return HW_REPLY_UNAVAILABLE;
	default:
		return HW_REPLY_INTERNAL;
	}
}

static int check_corr(const char *corr, hw_error_t *err)
{
	if(!corr || !corr[0]) return HW_OK;
	if(strlen(corr) > HW_CORR_MAX)
		return hw_error_set(err, HW_ERR_INVAL, "corr is %zu bytes; at most %d", strlen(corr), HW_CORR_MAX);
	if(!hw__utf8_valid((const unsigned char *)corr, strlen(corr)))
		return hw_error_set(err, HW_ERR_INVAL, "corr is not valid UTF-8");
	return HW_OK;
}

int hw_reply_encode_ok(const char *data_json, const char *corr, char **out, size_t *outlen, hw_error_t *err)
{
	json_object *data = NULL;
	json_object *o = NULL;
	bool fail = false;
	int rc;

	*out = NULL;
	if(outlen) *outlen = 0;
	rc = check_corr(corr, err);
	if(rc != HW_OK) return rc;
	if(data_json){
		/* The same strict reader as hw_reply_decode, so that what is encoded decodes. */
		rc = hw__json_parse_ex(data_json, strlen(data_json), HW_REPLY_MAX_BYTES - 1024, HW_REPLY_MAX_DEPTH,
				HW_REPLY_MAX_MEMBERS - 2, &data, err);
		if(rc != HW_OK) return hw__err_encoding(err, rc, "reply data");
		if(json_object_object_get_ex(data, "ok", NULL) || json_object_object_get_ex(data, "error", NULL) ||
				json_object_object_get_ex(data, "corr", NULL)){
			rc = hw_error_set(err, HW_ERR_INVAL, "reply data holds a reserved key (ok, error, corr)");
			goto cleanup;
		}
	}
	o = json_object_new_object();
	if(!o) fail = true;
	hw__w_bool(o, "ok", true, &fail);
	if(data){
		json_object_object_foreach(data, key, val)
		{
			if(val) hw__w_add(o, key, json_object_get(val), &fail);
			else hw__w_null(o, key, &fail);
		}
	}
	hw__w_opt_str(o, "corr", corr, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	o = NULL;
cleanup:
	json_object_put(o);
	json_object_put(data);
	return rc;
}

/* Copies at most max bytes of valid UTF-8 from s into dst (max + 1 bytes), replacing each
 * invalid byte with '?' and cutting at a character boundary. */
static void utf8_sanitize(char *dst, size_t max, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	while(*p && o < max){
		size_t k = 1;

		if(*p >= 0x80){
			k = (*p >= 0xf0) ? 4 : (*p >= 0xe0) ? 3 : 2;
			if(strnlen((const char *)p, k) < k || !hw__utf8_valid(p, k)){
				dst[o++] = '?';
				p++;
				continue;
			}
		}
		if(o + k > max) break;
		memcpy(dst + o, p, k);
		o += k;
		p += k;
	}
	dst[o] = '\0';
}

int hw_reply_encode_error(int code, const char *message, const char *corr, char **out, size_t *outlen, hw_error_t *err)
{
	char msg[HW_TEXT_MAX + 1];
	bool fail = false;
	json_object *o, *e;
	int rc;

	*out = NULL;
	if(outlen) *outlen = 0;
	if(code < 0 || code >= HW_REPLY__COUNT) return hw_error_set(err, HW_ERR_INVAL, "reply code %d is unknown", code);
	rc = check_corr(corr, err);
	if(rc != HW_OK) return rc;
	utf8_sanitize(msg, HW_TEXT_MAX, message ? message : "");
	o = json_object_new_object();
	if(!o) fail = true;
	hw__w_bool(o, "ok", false, &fail);
	e = hw__w_obj(o, "error", &fail);
	hw__w_str(e, "code", reply_code_names[code], &fail);
	hw__w_str(e, "message", msg, &fail);
	hw__w_opt_str(o, "corr", corr, &fail);
	return hw__w_finish(o, fail, out, outlen, err);
}

static int dec_error(json_object *o, hw_reply_t *out, hw_error_t *err)
{
	json_object *e;
	int rc = hw__j_obj(o, "error", true, &e, err);

	if(rc == HW_OK) rc = hw__j_text(e, "code", true, HW_ID_MAX, out->code_name, err);
	if(rc == HW_OK && !out->code_name[0]) rc = hw_error_refuse(err, HW_R_BAD_VALUE, "'code' is empty");
	for(const char *p = out->code_name; rc == HW_OK && *p; p++){
		if(!((*p >= 'a' && *p <= 'z') || *p == '_'))
			rc = hw_error_refuse(err, HW_R_BAD_VALUE, "'code' must be of [a-z_]");
	}
	if(rc == HW_OK) rc = hw__j_text(e, "message", true, HW_TEXT_MAX, out->message, err);
	if(rc == HW_OK && hw_reply_code_parse(out->code_name, &out->code, NULL) != HW_OK) out->code = -1;
	return hw__err_prefix(err, rc, "error");
}

int hw_reply_decode(const void *buf, size_t len, hw_reply_t *out, hw_error_t *err)
{
	json_object *o = NULL;
	int rc;

	*out = (hw_reply_t)HW_REPLY_INIT;
	rc = hw__json_parse_ex(buf, len, HW_REPLY_MAX_BYTES, HW_REPLY_MAX_DEPTH, HW_REPLY_MAX_MEMBERS, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = hw__j_bool(o, "ok", true, &out->ok, err);
	if(rc == HW_OK && !out->ok) rc = dec_error(o, out, err);
	if(rc == HW_OK) rc = hw__j_text(o, "corr", false, HW_CORR_MAX, out->corr, err);
	if(rc != HW_OK) goto cleanup;
	json_object_object_del(o, "ok");
	json_object_object_del(o, "error");
	json_object_object_del(o, "corr");
	rc = hw__w_finish(o, false, &out->data, &out->data_len, err);
	o = NULL;
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_reply_cleanup(out);
	return hw__err_prefix(err, rc, "reply");
}

void hw_reply_cleanup(hw_reply_t *r)
{
	if(!r) return;
	free(r->data);
	*r = (hw_reply_t)HW_REPLY_INIT;
}
