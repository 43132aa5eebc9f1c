/* msg_agent.c: codecs only the agent needs (and the collector calls): Claude Code hook
 * payloads and hook datagrams, the agent cmd topic, and pause objects. */
#include <stdlib.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "msg_json.h"

size_t hw_text_cut(char *dst, size_t max, const char *src, size_t n)
{
	size_t cut = n;

	for(size_t i = 0; i < n; i++){
		if(src[i] == '\0'){
			cut = i;
			break;
		}
	}
	if(cut > max){
		cut = max;
		/* Step back over continuation bytes so no character is split. */
		while(cut > 0 && ((unsigned char)src[cut] & 0xC0) == 0x80) cut--;
	}
	memcpy(dst, src, cut);
	dst[cut] = '\0';
	return cut;
}

/* ------------------------------------------------------------------ field checks */

static bool hook_name_ok(const char *s, size_t n)
{
	if(n == 0 || n > HW_HOOK_MAX) return false;
	for(size_t i = 0; i < n; i++){
		char c = s[i];
		if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
	}
	return true;
}

/* An absolute path without control characters, at most HW_PATH_MAX bytes, valid UTF-8. */
static bool path_ok(const char *s, size_t n)
{
	if(n == 0 || n > HW_PATH_MAX || s[0] != '/') return false;
	for(size_t i = 0; i < n; i++){
		if((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
	}
	return hw__utf8_valid((const unsigned char *)s, n);
}

/* Printable ASCII without spaces, 1..max bytes. */
static bool token_ok(const char *s, size_t n, size_t max)
{
	if(n == 0 || n > max) return false;
	for(size_t i = 0; i < n; i++){
		if((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) return false;
	}
	return true;
}

/* Borrowed string member of obj with its length, or NULL when absent or not a string. */
static const char *str_member(json_object *obj, const char *key, size_t *n)
{
	json_object *v;

	if(!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
	*n = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* ------------------------------------------------------------------ Claude payload */

static const char *const hook_detail_keys[] = {"message", "reason", "trigger"};

int hw_hook_parse(const void *buf, size_t len, hw_hook_t *out, hw_error_t *err)
{
	hw_hook_t h = HW_HOOK_INIT;
	json_tokener *tok = NULL;
	json_object *root = NULL;
	const char *s;
	size_t n, end;
	int rc = HW_OK;

	*out = h;
	if(!buf || len == 0) return hw_error_refuse(err, HW_R_EMPTY, "hook payload is empty");
	if(len > HW_HOOK_STDIN_MAX)
		return hw_error_refuse(err, HW_R_TOO_LARGE, "hook payload is %zu bytes; at most %d", len, HW_HOOK_STDIN_MAX);
	tok = json_tokener_new_ex(HW_HOOK_DEPTH_MAX);
	if(!tok) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if(!root){
		if(json_tokener_get_error(tok) == json_tokener_error_depth)
			rc = hw_error_refuse(err, HW_R_TOO_DEEP, "hook payload nests deeper than %d", HW_HOOK_DEPTH_MAX);
		else
			rc = hw_error_refuse(err, HW_R_BAD_JSON, "hook payload is not JSON: %s",
					json_tokener_error_desc(json_tokener_get_error(tok)));
		goto cleanup;
	}
	end = json_tokener_get_parse_end(tok);
	for(; end < len; end++){
		char c = ((const char *)buf)[end];
		if(c != ' ' && c != '\n' && c != '\r' && c != '\t'){
			rc = hw_error_refuse(err, HW_R_BAD_JSON, "hook payload has trailing data at byte %zu", end);
			goto cleanup;
		}
	}
	if(!json_object_is_type(root, json_type_object)){
		rc = hw_error_refuse(err, HW_R_NOT_OBJECT, "hook payload is not a JSON object");
		goto cleanup;
	}
	s = str_member(root, "hook_event_name", &n);
	if(!s){
		rc = hw_error_refuse(err, HW_R_MISSING_KEY, "hook payload has no hook_event_name string");
		goto cleanup;
	}
	if(!hook_name_ok(s, n)){
		rc = hw_error_refuse(err, HW_R_BAD_VALUE, "hook_event_name must be 1-%d letters", HW_HOOK_MAX);
		goto cleanup;
	}
	memcpy(h.event, s, n);
	h.event[n] = '\0';
	if((s = str_member(root, "session_id", &n)) && hw_id_check_n(NULL, s, n, NULL) == HW_OK){
		memcpy(h.session_id, s, n);
		h.session_id[n] = '\0';
	}
	if((s = str_member(root, "transcript_path", &n)) && path_ok(s, n)){
		memcpy(h.transcript, s, n);
		h.transcript[n] = '\0';
	}
	if((s = str_member(root, "cwd", &n)) && path_ok(s, n)){
		memcpy(h.cwd, s, n);
		h.cwd[n] = '\0';
	}
	if((s = str_member(root, "tool_name", &n)) && token_ok(s, n < HW_TOOL_MAX ? n : HW_TOOL_MAX, HW_TOOL_MAX)){
		hw_text_cut(h.tool, HW_TOOL_MAX, s, n);
	}
	for(size_t i = 0; i < sizeof(hook_detail_keys) / sizeof(hook_detail_keys[0]); i++){
		if((s = str_member(root, hook_detail_keys[i], &n)) && n > 0 && hw__utf8_valid((const unsigned char *)s, n)){
			hw_text_cut(h.detail, HW_TEXT_MAX, s, n);
			break;
		}
	}
	if((s = str_member(root, "source", &n)) && hw_sid_source_parse(s, &h.source, NULL) != HW_OK) h.source = -1;
	*out = h;
cleanup:
	if(root) json_object_put(root);
	json_tokener_free(tok);
	return rc;
}

/* ------------------------------------------------------------------ hook datagram */

/* Checks "v": present and the integer 1. */
static int check_version(json_object *root, bool required, hw_error_t *err)
{
	json_object *v;

	if(!json_object_object_get_ex(root, "v", &v)){
		if(!required) return HW_OK;
		return hw_error_refuse(err, HW_R_BAD_VERSION, "\"v\" is missing; expected 1");
	}
	if(!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != HW_MSG_VERSION)
		return hw_error_refuse(err, HW_R_BAD_VERSION, "\"v\" must be the integer 1");
	return HW_OK;
}

/* A text member that must pass check (or be absent). */
static int strict_text(
		json_object *root, const char *key, size_t max, bool (*check)(const char *, size_t), char *dst, hw_error_t *err)
{
	int rc = hw__j_text(root, key, false, max, dst, err);

	if(rc != HW_OK) return rc;
	if(dst[0] && check && !check(dst, strlen(dst)))
		return hw_error_refuse(err, HW_R_BAD_VALUE, "\"%s\" is not allowed here", key);
	return HW_OK;
}

static bool tool_ok(const char *s, size_t n)
{
	return token_ok(s, n, HW_TOOL_MAX);
}

int hw_hook_decode(const void *buf, size_t len, hw_hook_t *out, hw_error_t *err)
{
	hw_hook_t h = HW_HOOK_INIT;
	json_object *root = NULL;
	char src[16] = "";
	int64_t t0 = 0;
	int rc;

	*out = h;
	rc = hw__json_parse(buf, len, HW_HOOK_DGRAM_MAX, HW_MSG_MAX_DEPTH, &root, err);
	if(rc != HW_OK) return rc;
	if((rc = check_version(root, true, err)) != HW_OK) goto cleanup;
	if((rc = hw__j_text(root, "hook_event_name", true, HW_HOOK_MAX, h.event, err)) != HW_OK) goto cleanup;
	if(!hook_name_ok(h.event, strlen(h.event))){
		rc = hw_error_refuse(err, HW_R_BAD_VALUE, "hook_event_name must be 1-%d letters", HW_HOOK_MAX);
		goto cleanup;
	}
	if((rc = hw__j_id(root, "session_id", false, h.session_id, err)) != HW_OK) goto cleanup;
	if((rc = strict_text(root, "transcript_path", HW_PATH_MAX, path_ok, h.transcript, err)) != HW_OK) goto cleanup;
	if((rc = strict_text(root, "cwd", HW_PATH_MAX, path_ok, h.cwd, err)) != HW_OK) goto cleanup;
	if((rc = strict_text(root, "tool_name", HW_TOOL_MAX, tool_ok, h.tool, err)) != HW_OK) goto cleanup;
	if((rc = hw__j_text(root, "detail", false, HW_TEXT_MAX, h.detail, err)) != HW_OK) goto cleanup;
	if((rc = hw__j_text(root, "source", false, sizeof(src) - 1, src, err)) != HW_OK) goto cleanup;
	if(src[0] && hw_sid_source_parse(src, &h.source, NULL) != HW_OK){
		rc = hw_error_refuse(err, HW_R_BAD_VALUE, "\"source\" must be startup, resume, compact or clear");
		goto cleanup;
	}
	if((rc = hw__j_int(root, "t0_us", false, 0, INT64_MAX, &t0, err)) != HW_OK) goto cleanup;
	h.t0_us = t0;
	*out = h;
cleanup:
	json_object_put(root);
	return rc;
}

int hw_hook_encode(const hw_hook_t *h, char **out, size_t *outlen, hw_error_t *err)
{
	json_object *root;
	hw_hook_t check;
	bool fail = false;
	size_t n = 0;
	int rc;

	*out = NULL;
	if(!hook_name_ok(h->event, strlen(h->event)))
		return hw_error_set(err, HW_ERR_INVAL, "hook event name must be 1-%d letters", HW_HOOK_MAX);
	root = json_object_new_object();
	if(!root) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	hw__w_int(root, "v", HW_MSG_VERSION, &fail);
	hw__w_str(root, "hook_event_name", h->event, &fail);
	hw__w_opt_str(root, "session_id", h->session_id, &fail);
	hw__w_opt_str(root, "transcript_path", h->transcript, &fail);
	hw__w_opt_str(root, "cwd", h->cwd, &fail);
	hw__w_opt_str(root, "tool_name", h->tool, &fail);
	hw__w_opt_str(root, "detail", h->detail, &fail);
	if(h->source >= 0) hw__w_str(root, "source", hw_sid_source_name(h->source), &fail);
	if(h->t0_us > 0) hw__w_int(root, "t0_us", h->t0_us, &fail);
	rc = hw__w_finish(root, fail, out, &n, err);
	if(rc != HW_OK) return rc;
	rc = hw_hook_decode(*out, n, &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "hook");
	}
	if(outlen) *outlen = n;
	return HW_OK;
}

/* ------------------------------------------------------------------ pause */

static bool by_ok(const char *s, size_t n)
{
	return token_ok(s, n, HW_ID_MAX);
}

/* Decodes the pause members of obj (a pause object or a pause cmd). */
static int pause_members(json_object *obj, hw_pause_t *p, hw_error_t *err)
{
	json_object *v;
	int rc;

	if((rc = hw__j_bool(obj, "paused", true, &p->paused, err)) != HW_OK) return rc;
	if((rc = hw__j_text(obj, "reason", false, HW_TEXT_MAX, p->reason, err)) != HW_OK) return rc;
	if((rc = strict_text(obj, "by", HW_ID_MAX, by_ok, p->by, err)) != HW_OK) return rc;
	p->resume_at = 0;
	if(json_object_object_get_ex(obj, "resume_at", &v) && v != NULL){
		if((rc = hw__j_int_val(v, "resume_at", 0, INT64_MAX, &p->resume_at, err)) != HW_OK) return rc;
	}
	return HW_OK;
}

/* Decodes a pause from an already parsed object. */
static int pause_from_obj(json_object *obj, hw_pause_t *out, hw_error_t *err)
{
	hw_pause_t p = HW_PAUSE_INIT;
	int rc;

	if(!json_object_is_type(obj, json_type_object)) return hw_error_refuse(err, HW_R_NOT_OBJECT, "pause is not an object");
	if((rc = check_version(obj, false, err)) != HW_OK) return rc;
	if((rc = pause_members(obj, &p, err)) != HW_OK) return rc;
	*out = p;
	return HW_OK;
}

int hw_pause_decode(const void *buf, size_t len, hw_pause_t *out, hw_error_t *err)
{
	json_object *root = NULL;
	int rc;

	*out = (hw_pause_t)HW_PAUSE_INIT;
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &root, err);
	if(rc != HW_OK) return rc;
	rc = pause_from_obj(root, out, err);
	json_object_put(root);
	return rc;
}

int hw_pause_from_project(const void *buf, size_t len, hw_pause_t *out, hw_error_t *err)
{
	json_object *root = NULL, *p;
	int rc;

	*out = (hw_pause_t)HW_PAUSE_INIT;
	rc = hw__json_parse(buf, len, HW_DOC_MAX_BYTES, HW_MSG_MAX_DEPTH, &root, err);
	if(rc != HW_OK) return rc;
	if(json_object_object_get_ex(root, "pause", &p) && p != NULL){
		rc = pause_from_obj(p, out, err);
		if(rc != HW_OK) hw__err_prefix(err, rc, "pause");
	}
	json_object_put(root);
	return rc;
}

/* Writes the pause members into o. */
static void pause_write(json_object *o, const hw_pause_t *p, bool *fail)
{
	hw__w_bool(o, "paused", p->paused, fail);
	hw__w_opt_str(o, "reason", p->reason, fail);
	if(p->resume_at > 0) hw__w_int(o, "resume_at", p->resume_at, fail);
	else hw__w_null(o, "resume_at", fail);
	hw__w_opt_str(o, "by", p->by, fail);
}

int hw_pause_encode(const hw_pause_t *p, char **out, size_t *outlen, hw_error_t *err)
{
	json_object *root = json_object_new_object();
	hw_pause_t check;
	bool fail = false;
	size_t n = 0;
	int rc;

	*out = NULL;
	if(!root) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	hw__w_int(root, "v", HW_MSG_VERSION, &fail);
	pause_write(root, p, &fail);
	rc = hw__w_finish(root, fail, out, &n, err);
	if(rc != HW_OK) return rc;
	rc = hw_pause_decode(*out, n, &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "pause");
	}
	if(outlen) *outlen = n;
	return HW_OK;
}

bool hw_pause_active(const hw_pause_t *p, int64_t now_ms)
{
	return p->paused && (p->resume_at <= 0 || p->resume_at > now_ms);
}

/* ------------------------------------------------------------------ agent commands */

static const char *const cmd_names[HW_CMD__COUNT] = {"rebirth", "stop", "pause"};

const char *hw_cmd_name(int cmd)
{
	return cmd >= 0 && cmd < HW_CMD__COUNT ? cmd_names[cmd] : "unknown";
}

int hw_cmd_decode(const void *buf, size_t len, hw_cmd_t *out, hw_error_t *err)
{
	hw_cmd_t c = HW_CMD_INIT;
	json_object *root = NULL;
	int64_t sig = 0;
	int rc;

	*out = c;
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &root, err);
	if(rc != HW_OK) return rc;
	if((rc = check_version(root, true, err)) != HW_OK) goto cleanup;
	if((rc = hw__j_enum(root, "cmd", true, cmd_names, HW_CMD__COUNT, &c.cmd, err)) != HW_OK) goto cleanup;
	if((rc = hw__j_text(root, "reason", false, HW_TEXT_MAX, c.reason, err)) != HW_OK) goto cleanup;
	if((rc = strict_text(root, "by", HW_ID_MAX, by_ok, c.by, err)) != HW_OK) goto cleanup;
	if(c.cmd == HW_CMD_STOP){
		if((rc = hw__j_int(root, "signal", false, 1, 64, &sig, err)) != HW_OK) goto cleanup;
		c.signal = (int)sig;
	}else if(c.cmd == HW_CMD_PAUSE){
		if((rc = pause_members(root, &c.pause, err)) != HW_OK) goto cleanup;
	}
	*out = c;
cleanup:
	json_object_put(root);
	return rc;
}

int hw_cmd_encode(const hw_cmd_t *c, char **out, size_t *outlen, hw_error_t *err)
{
	json_object *root;
	hw_cmd_t check;
	bool fail = false;
	size_t n = 0;
	int rc;

	*out = NULL;
	if(c->cmd < 0 || c->cmd >= HW_CMD__COUNT) return hw_error_set(err, HW_ERR_INVAL, "unknown agent command %d", c->cmd);
	root = json_object_new_object();
	if(!root) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	hw__w_int(root, "v", HW_MSG_VERSION, &fail);
	hw__w_str(root, "cmd", cmd_names[c->cmd], &fail);
	if(c->cmd == HW_CMD_PAUSE){
		pause_write(root, &c->pause, &fail);
		if(!c->pause.reason[0]) hw__w_opt_str(root, "reason", c->reason, &fail);
		if(!c->pause.by[0]) hw__w_opt_str(root, "by", c->by, &fail);
	}else{
		hw__w_opt_str(root, "reason", c->reason, &fail);
		hw__w_opt_str(root, "by", c->by, &fail);
		if(c->cmd == HW_CMD_STOP && c->signal) hw__w_int(root, "signal", c->signal, &fail);
	}
	rc = hw__w_finish(root, fail, out, &n, err);
	if(rc != HW_OK) return rc;
	rc = hw_cmd_decode(*out, n, &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "cmd");
	}
	if(outlen) *outlen = n;
	return HW_OK;
}
