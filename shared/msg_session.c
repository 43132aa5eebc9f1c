/* msg_session.c: the session document (retained state/s/{session}, read by the CLI and the
 * extension): strict decoder and compact encoder. */
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "msg_json.h"

/* State names without "none": a stored session always has a state. */
static void state_names(const char *names[HW_STATE__COUNT])
{
	names[0] = NULL;
	for(int i = 1; i < HW_STATE__COUNT; i++) names[i] = hw_state_name(i);
}

static void cause_names(const char *names[HW_CAUSE__COUNT])
{
	for(int i = 0; i < HW_CAUSE__COUNT; i++) names[i] = hw_cause_name(i);
}

static const char *const source_names[HW_SID__COUNT] = {"startup", "resume", "compact", "clear"};

static int dec_chain(json_object *c, hw_session_t *s, hw_error_t *err)
{
	json_object *a;
	size_t n;
	int rc = hw__j_arr(c, "chain", false, HW_CHAIN_MAX, &a, err);

	if(rc != HW_OK || !a) return rc;
	n = json_object_array_length(a);
	if(n == 0) return HW_OK;
	s->claude.chain = calloc(n, sizeof(*s->claude.chain));
	if(!s->claude.chain) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	s->claude.chain_len = n;
	for(size_t i = 0; i < n; i++){
		json_object *e = json_object_array_get_idx(a, i);
		hw_sid_entry_t *ent = &s->claude.chain[i];

		if(!json_object_is_type(e, json_type_object))
			return hw_error_refuse(err, HW_R_WRONG_TYPE, "'chain' entry %zu must be an object", i);
		rc = hw__j_id(e, "sid", true, ent->sid, err);
		if(rc == HW_OK) rc = hw__j_int(e, "at", true, 0, INT64_MAX, &ent->at, err);
		if(rc == HW_OK) rc = hw__j_enum(e, "source", true, source_names, HW_SID__COUNT, &ent->source, err);
		if(rc != HW_OK) return hw__err_prefix(err, rc, "chain");
	}
	return HW_OK;
}

static int dec_claude(json_object *o, hw_session_t *s, hw_error_t *err)
{
	json_object *c;
	int rc = hw__j_obj(o, "claude", false, &c, err);

	if(rc != HW_OK || !c) return rc;
	rc = hw__j_id(c, "sid", false, s->claude.sid, err);
	if(rc == HW_OK) rc = dec_chain(c, s, err);
	if(rc == HW_OK) rc = hw__j_bool(c, "resumable", false, &s->claude.resumable, err);
	if(rc == HW_OK) rc = hw__j_int(c, "resume_failures", false, 0, INT64_MAX, &s->claude.resume_failures, err);
	return hw__err_prefix(err, rc, "claude");
}

static int dec_progress(json_object *o, hw_session_t *s, hw_error_t *err)
{
	json_object *p;
	int rc = hw__j_obj(o, "progress", false, &p, err);

	if(rc != HW_OK || !p) return rc;
	rc = hw__j_int(p, "prompts", true, 0, INT64_MAX, &s->progress.prompts, err);
	if(rc == HW_OK) rc = hw__j_int(p, "tools", true, 0, INT64_MAX, &s->progress.tools, err);
	if(rc == HW_OK) rc = hw__j_int(p, "last_activity_at", true, 0, INT64_MAX, &s->progress.last_activity_ts, err);
	return hw__err_prefix(err, rc, "progress");
}

static int dec_exit(json_object *o, hw_session_t *s, hw_error_t *err)
{
	json_object *x;
	int rc = hw__j_obj(o, "exit", false, &x, err);

	if(rc != HW_OK || !x) return rc;
	rc = hw__msg_dec_exit_obj(x, &s->exit, err);
	if(rc == HW_OK) rc = hw__j_int(x, "at", false, 0, INT64_MAX, &s->exit_at, err);
	s->has_exit = rc == HW_OK;
	return hw__err_prefix(err, rc, "exit");
}

static int dec_recovery(json_object *o, hw_session_t *s, hw_error_t *err)
{
	json_object *r;
	int rc = hw__j_obj(o, "recovery", false, &r, err);

	if(rc != HW_OK || !r) return rc;
	rc = hw__j_id(r, "claimed_by", false, s->recovery.claimed_by, err);
	if(rc == HW_OK) rc = hw__j_int(r, "lease_until", false, 0, INT64_MAX, &s->recovery.lease_until, err);
	if(rc == HW_OK) rc = hw__j_id(r, "token", false, s->recovery.token, err);
	if(rc == HW_OK) rc = hw__j_int(r, "attempts", false, 0, INT64_MAX, &s->recovery.attempts, err);
	return hw__err_prefix(err, rc, "recovery");
}

int hw_session_decode(const void *buf, size_t len, hw_session_t *out, hw_error_t *err)
{
	const char *snames[HW_STATE__COUNT];
	const char *cnames[HW_CAUSE__COUNT];
	json_object *o = NULL;
	int rc;

	*out = (hw_session_t)HW_SESSION_INIT;
	state_names(snames);
	cause_names(cnames);
	rc = hw__json_parse(buf, len, HW_DOC_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = hw__msg_check_version(o, err);
	if(rc == HW_OK) rc = hw__j_id(o, "session", true, out->session, err);
	if(rc == HW_OK) rc = hw__j_id(o, "machine", true, out->machine, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "state", true, snames, HW_STATE__COUNT, &out->state, err);
	if(rc == HW_OK) rc = hw__j_int(o, "epoch", true, 0, INT64_MAX, &out->epoch, err);
	if(rc == HW_OK) rc = hw__j_int(o, "version", true, 0, INT64_MAX, &out->version, err);
	if(rc == HW_OK) rc = hw__j_int(o, "updated_at", true, 0, INT64_MAX, &out->updated_at, err);
	if(rc == HW_OK) rc = hw__j_id(o, "slot", false, out->slot, err);
	if(rc == HW_OK) rc = hw__j_id(o, "project", false, out->project, err);
	if(rc == HW_OK) rc = hw__j_text_dup(o, "task", false, HW_TEXT_MAX, &out->task, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "cause", false, cnames, HW_CAUSE__COUNT, &out->cause, err);
	if(rc == HW_OK) rc = hw__j_int(o, "state_since", false, 0, INT64_MAX, &out->state_since, err);
	if(rc == HW_OK) rc = hw__j_int(o, "seq", false, 0, INT64_MAX, &out->seq, err);
	if(rc == HW_OK) rc = hw__j_int(o, "run", false, 0, INT64_MAX, &out->run, err);
	if(rc == HW_OK) rc = hw__j_int(o, "started_at", false, 0, INT64_MAX, &out->started_at, err);
	if(rc == HW_OK) rc = hw__j_int(o, "last_hb_at", false, 0, INT64_MAX, &out->last_hb_at, err);
	if(rc == HW_OK) rc = hw__j_int(o, "interval_ms", false, 0, HW_INTERVAL_MAX_MS, &out->interval_ms, err);
	if(rc == HW_OK && out->interval_ms != 0 && out->interval_ms < HW_INTERVAL_MIN_MS)
		rc = hw_error_refuse(err, HW_R_OUT_OF_RANGE, "'interval_ms' is %lld; allowed 0 or %d..%d",
				(long long)out->interval_ms, HW_INTERVAL_MIN_MS, HW_INTERVAL_MAX_MS);
	if(rc == HW_OK) rc = hw__j_int(o, "grace_ms", false, 0, HW_GRACE_MAX_MS, &out->grace_ms, err);
	if(rc == HW_OK) rc = hw__j_int(o, "deadline_at", false, 0, INT64_MAX, &out->deadline_at, err);
	if(rc == HW_OK) rc = hw__j_int(o, "pid", false, 0, HW_PID_MAX, &out->pid, err);
	if(rc == HW_OK) rc = hw__j_text_dup(o, "cwd", false, HW_PATH_MAX, &out->cwd, err);
	if(rc == HW_OK) rc = hw__msg_dec_agent(o, out->agent, err);
	if(rc == HW_OK) rc = hw__msg_dec_argv(o, &out->argv, &out->argc, err);
	if(rc == HW_OK) rc = dec_claude(o, out, err);
	if(rc == HW_OK) rc = dec_progress(o, out, err);
	if(rc == HW_OK) rc = dec_exit(o, out, err);
	if(rc == HW_OK) rc = hw__j_int(o, "ended_at", false, 0, INT64_MAX, &out->ended_at, err);
	if(rc == HW_OK) rc = dec_recovery(o, out, err);
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_session_cleanup(out);
	return hw__err_prefix(err, rc, "session document");
}

int hw_session_encode(const hw_session_t *s, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = json_object_new_object();
	json_object *c, *a, *p, *r;
	hw_session_t check;
	int rc;

	if((s->argc && !s->argv) || (s->claude.chain_len && !s->claude.chain)){
		json_object_put(o);
		*out = NULL;
		return hw_error_set(err, HW_ERR_INVAL, "session document: a count is set but its array is NULL");
	}
	if(!o) fail = true;
	hw__w_int(o, "v", HW_MSG_VERSION, &fail);
	hw__w_str(o, "session", s->session, &fail);
	hw__w_str(o, "machine", s->machine, &fail);
	hw__w_opt_str(o, "slot", s->slot, &fail);
	hw__w_opt_str(o, "project", s->project, &fail);
	hw__w_opt_str(o, "task", s->task, &fail);
	hw__w_str(o, "state", hw_state_name(s->state), &fail);
	hw__w_str(o, "cause", hw_cause_name(s->cause), &fail);
	hw__w_int(o, "state_since", s->state_since, &fail);
	hw__w_int(o, "epoch", s->epoch, &fail);
	hw__w_int(o, "seq", s->seq, &fail);
	hw__w_int(o, "run", s->run, &fail);
	hw__w_int(o, "started_at", s->started_at, &fail);
	hw__w_int(o, "last_hb_at", s->last_hb_at, &fail);
	hw__w_int(o, "interval_ms", s->interval_ms, &fail);
	hw__w_int(o, "grace_ms", s->grace_ms, &fail);
	hw__w_int(o, "deadline_at", s->deadline_at, &fail);
	hw__w_int(o, "pid", s->pid, &fail);
	hw__w_opt_str(o, "cwd", s->cwd, &fail);
	hw__msg_enc_argv(o, s->argv, s->argc, &fail);
	hw__w_opt_str(o, "agent", s->agent, &fail);
	c = hw__w_obj(o, "claude", &fail);
	hw__w_opt_str(c, "sid", s->claude.sid, &fail);
	a = hw__w_arr(c, "chain", &fail);
	for(size_t i = 0; i < s->claude.chain_len && !fail; i++){
		json_object *e = json_object_new_object();

		hw__w_str(e, "sid", s->claude.chain[i].sid, &fail);
		hw__w_int(e, "at", s->claude.chain[i].at, &fail);
		hw__w_str(e, "source", hw_sid_source_name(s->claude.chain[i].source), &fail);
		hw__w_append(a, e, &fail);
	}
	hw__w_bool(c, "resumable", s->claude.resumable, &fail);
	hw__w_int(c, "resume_failures", s->claude.resume_failures, &fail);
	p = hw__w_obj(o, "progress", &fail);
	hw__w_int(p, "prompts", s->progress.prompts, &fail);
	hw__w_int(p, "tools", s->progress.tools, &fail);
	hw__w_int(p, "last_activity_at", s->progress.last_activity_ts, &fail);
	if(s->has_exit){
		json_object *x = hw__msg_enc_exit(o, &s->exit, &fail);
		hw__w_int(x, "at", s->exit_at, &fail);
	}
	hw__w_int(o, "ended_at", s->ended_at, &fail);
	r = hw__w_obj(o, "recovery", &fail);
	hw__w_opt_str(r, "claimed_by", s->recovery.claimed_by, &fail);
	hw__w_int(r, "lease_until", s->recovery.lease_until, &fail);
	hw__w_opt_str(r, "token", s->recovery.token, &fail);
	hw__w_int(r, "attempts", s->recovery.attempts, &fail);
	hw__w_int(o, "version", s->version, &fail);
	hw__w_int(o, "updated_at", s->updated_at, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_session_decode(*out, strlen(*out), &check, err);
	hw_session_cleanup(&check);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

void hw_session_cleanup(hw_session_t *s)
{
	if(!s) return;
	free(s->task);
	free(s->cwd);
	hw__msg_free_argv(s->argv, s->argc);
	free(s->claude.chain);
	*s = (hw_session_t)HW_SESSION_INIT;
}

/* Replaces the heap string *dst (NULL = empty) with a copy of text, reallocating only when the
 * length changes: a session's task is re-sent with every heartbeat and rarely changes. */
static int set_text(char **dst, const char *text, size_t max, const char *what, hw_error_t *err)
{
	size_t n = text ? strlen(text) : 0;
	char *p;

	if(n > max) return hw_error_set(err, HW_ERR_INVAL, "%s is %zu bytes; at most %zu", what, n, max);
	if(n == 0){
		free(*dst);
		*dst = NULL;
		return HW_OK;
	}
	if(*dst && strcmp(*dst, text) == 0) return HW_OK;
	if(!*dst || strlen(*dst) != n){
		p = realloc(*dst, n + 1);
		if(!p) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the %s", what);
		*dst = p;
	}
	memcpy(*dst, text, n + 1);
	return HW_OK;
}

int hw_session_set_task(hw_session_t *s, const char *text, hw_error_t *err)
{
	return set_text(&s->task, text, HW_TEXT_MAX, "task", err);
}

int hw_session_set_cwd(hw_session_t *s, const char *path, hw_error_t *err)
{
	return set_text(&s->cwd, path, HW_PATH_MAX, "cwd", err);
}
