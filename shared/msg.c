/* msg.c: the agent messages (birth, hb, ev, status): wire names, strict decoders, compact
 * encoders that check their output with the decoders. */
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "msg_json.h"

/* clang-format off */
static const char *const ev_type_names[HW_EV__COUNT] = {
	"task", "claude_sid", "hook", "idle", "progress", "action", "goal", "end", "exit",
};
/* clang-format on */
static const char *const sid_source_names[HW_SID__COUNT] = {"startup", "resume", "compact", "clear"};
static const char *const status_names[HW_STATUS__COUNT] = {"online", "lost", "ended"};
/* The states and causes an agent may report in a heartbeat (its own view). */
/* clang-format off */
static const char *const hb_state_names[HW_STATE__COUNT] = {
	[HW_STATE_ACTIVE] = "active", [HW_STATE_IDLE] = "idle", [HW_STATE_STALLED] = "stalled",
};
/* clang-format on */
/* clang-format off */
static const char *const hb_cause_names[HW_CAUSE__COUNT] = {
	[HW_CAUSE_NONE] = "none", [HW_CAUSE_NO_PROGRESS] = "no_progress",
	[HW_CAUSE_CHILD_STOPPED] = "child_stopped",
};
/* clang-format on */

const char *hw_ev_type_name(int type)
{
	if(type < 0 || type >= HW_EV__COUNT) return "unknown";
	return ev_type_names[type];
}

const char *hw_sid_source_name(int source)
{
	if(source < 0 || source >= HW_SID__COUNT) return "unknown";
	return sid_source_names[source];
}

const char *hw_status_name(int status)
{
	if(status < 0 || status >= HW_STATUS__COUNT) return "unknown";
	return status_names[status];
}

static int name_parse(const char *what, const char *const *names, int count, const char *allowed, const char *s, int *out,
		hw_error_t *err)
{
	for(int i = 0; s && i < count; i++){
		if(names[i] && strcmp(names[i], s) == 0){
			*out = i;
			return HW_OK;
		}
	}
	hw_error_set(err, HW_ERR_INVAL, "%s '%.64s' is not one of %s", what, s ? s : "", allowed);
	if(err) err->reason = HW_R_BAD_VALUE;
	return HW_ERR_INVAL;
}

int hw_ev_type_parse(const char *s, int *type, hw_error_t *err)
{
	return name_parse("event type", ev_type_names, HW_EV__COUNT,
			"task, claude_sid, hook, idle, progress, action, goal, end, exit", s, type, err);
}

int hw_sid_source_parse(const char *s, int *source, hw_error_t *err)
{
	return name_parse("source", sid_source_names, HW_SID__COUNT, "startup, resume, compact, clear", s, source, err);
}

int hw_status_parse(const char *s, int *status, hw_error_t *err)
{
	return name_parse("status", status_names, HW_STATUS__COUNT, "online, lost, ended", s, status, err);
}

/* ------------------------------------------------------------------ shared parts */

int hw__msg_check_version(json_object *o, hw_error_t *err)
{
	json_object *v;

	if(!json_object_object_get_ex(o, "v", &v)) return hw_error_refuse(err, HW_R_BAD_VERSION, "'v' is missing");
	if(!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != HW_MSG_VERSION)
		return hw_error_refuse(err, HW_R_BAD_VERSION, "'v' must be %d", HW_MSG_VERSION);
	return HW_OK;
}

/* v, session, epoch, and seq and ts when their pointers are given (all required). */
static int dec_common(json_object *o, char *session, int64_t *epoch, int64_t *seq, int64_t *ts, hw_error_t *err)
{
	int rc = hw__msg_check_version(o, err);

	if(rc == HW_OK) rc = hw__j_id(o, "session", true, session, err);
	if(rc == HW_OK) rc = hw__j_int(o, "epoch", true, 0, INT64_MAX, epoch, err);
	if(rc == HW_OK && seq) rc = hw__j_int(o, "seq", true, 0, INT64_MAX, seq, err);
	if(rc == HW_OK && ts) rc = hw__j_int(o, "ts", true, 0, INT64_MAX, ts, err);
	return rc;
}

static json_object *enc_common(const char *session, int64_t epoch, bool *fail)
{
	json_object *o = json_object_new_object();

	if(!o){
		*fail = true;
		return NULL;
	}
	hw__w_int(o, "v", HW_MSG_VERSION, fail);
	hw__w_str(o, "session", session, fail);
	hw__w_int(o, "epoch", epoch, fail);
	return o;
}

/* {"code": int|null, "signal": int|null}, exactly one non-null. */
int hw__msg_dec_exit_obj(json_object *e, hw_exit_t *out, hw_error_t *err)
{
	json_object *c, *s;
	int64_t v;
	int rc;

	out->code = -1;
	out->signal = -1;
	/* Both keys must be present; null (a NULL member in json-c) means "not this one". */
	if(!json_object_object_get_ex(e, "code", &c)) return hw_error_refuse(err, HW_R_MISSING_KEY, "'code' is missing");
	if(!json_object_object_get_ex(e, "signal", &s)) return hw_error_refuse(err, HW_R_MISSING_KEY, "'signal' is missing");
	if(c){
		rc = hw__j_int_val(c, "code", 0, 255, &v, err);
		if(rc != HW_OK) return rc;
		out->code = (int)v;
	}
	if(s){
		rc = hw__j_int_val(s, "signal", 1, 64, &v, err);
		if(rc != HW_OK) return rc;
		out->signal = (int)v;
	}
	if((out->code >= 0) == (out->signal >= 0))
		return hw_error_refuse(err, HW_R_BAD_VALUE, "exactly one of 'code' and 'signal' must be non-null");
	return HW_OK;
}

static int dec_exit(json_object *o, hw_exit_t *out, hw_error_t *err)
{
	json_object *e;
	int rc = hw__j_obj(o, "exit", true, &e, err);

	if(rc == HW_OK) rc = hw__err_prefix(err, hw__msg_dec_exit_obj(e, out, err), "exit");
	return rc;
}

json_object *hw__msg_enc_exit(json_object *o, const hw_exit_t *x, bool *fail)
{
	json_object *e = hw__w_obj(o, "exit", fail);

	if(x->code >= 0) hw__w_int(e, "code", x->code, fail);
	else hw__w_null(e, "code", fail);
	if(x->signal >= 0) hw__w_int(e, "signal", x->signal, fail);
	else hw__w_null(e, "signal", fail);
	return e;
}

int hw__msg_dec_progress_obj(json_object *p, hw_progress_t *out, hw_error_t *err)
{
	int rc = hw__j_int(p, "prompts", true, 0, INT64_MAX, &out->prompts, err);

	if(rc == HW_OK) rc = hw__j_int(p, "tools", true, 0, INT64_MAX, &out->tools, err);
	if(rc == HW_OK) rc = hw__j_int(p, "last_activity_ts", true, 0, INT64_MAX, &out->last_activity_ts, err);
	return rc;
}

static int dec_progress(json_object *o, bool required, bool *has, hw_progress_t *out, hw_error_t *err)
{
	json_object *p;
	int rc = hw__j_obj(o, "progress", required, &p, err);

	if(rc != HW_OK || !p) return rc;
	if(has) *has = true;
	return hw__err_prefix(err, hw__msg_dec_progress_obj(p, out, err), "progress");
}

static void enc_progress(json_object *o, const hw_progress_t *p, bool *fail)
{
	json_object *g = hw__w_obj(o, "progress", fail);

	hw__w_int(g, "prompts", p->prompts, fail);
	hw__w_int(g, "tools", p->tools, fail);
	hw__w_int(g, "last_activity_ts", p->last_activity_ts, fail);
}

static int dec_child_obj(json_object *c, hw_child_t *out, hw_error_t *err)
{
	char proc[17];
	int64_t pid = 0;
	int rc = hw__j_int(c, "pid", true, 1, HW_PID_MAX, &pid, err);

	if(rc == HW_OK) rc = hw__j_text(c, "proc", true, 16, proc, err);
	if(rc == HW_OK && (strlen(proc) != 1 || !((proc[0] >= 'A' && proc[0] <= 'Z') || (proc[0] >= 'a' && proc[0] <= 'z'))))
		rc = hw_error_refuse(err, HW_R_BAD_VALUE, "'proc' must be one /proc state letter, not '%s'", proc);
	if(rc == HW_OK) rc = hw__j_int(c, "cpu_ms", true, 0, INT64_MAX, &out->cpu_ms, err);
	if(rc != HW_OK) return rc;
	out->pid = (int)pid;
	out->proc = proc[0];
	return HW_OK;
}

/* agent: at most HW_AGENT_MAX printable ASCII characters. */
int hw__msg_dec_agent(json_object *o, char *dst, hw_error_t *err)
{
	int rc = hw__j_text(o, "agent", false, HW_AGENT_MAX, dst, err);

	if(rc != HW_OK) return rc;
	for(const char *p = dst; *p; p++){
		if(*p < 0x20 || *p > 0x7e) return hw_error_refuse(err, HW_R_BAD_VALUE, "'agent' must be printable ASCII");
	}
	return HW_OK;
}

/* hook: 1..HW_HOOK_MAX letters. */
static int dec_hook(json_object *o, char *dst, hw_error_t *err)
{
	int rc = hw__j_text(o, "hook", true, HW_HOOK_MAX, dst, err);

	if(rc != HW_OK) return rc;
	if(!dst[0]) return hw_error_refuse(err, HW_R_BAD_VALUE, "'hook' is empty");
	for(const char *p = dst; *p; p++){
		if(!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
			return hw_error_refuse(err, HW_R_BAD_VALUE, "'hook' must be letters only, not '%s'", dst);
	}
	return HW_OK;
}

/* argv: an array of at most HW_ARGV_MAX strings of at most HW_ARG_MAX bytes; heap copy. */
int hw__msg_dec_argv(json_object *o, char ***argv, size_t *argc, hw_error_t *err)
{
	json_object *a;
	size_t n;
	char **v;
	int rc = hw__j_arr(o, "argv", false, HW_ARGV_MAX, &a, err);

	*argv = NULL;
	*argc = 0;
	if(rc != HW_OK || !a) return rc;
	n = json_object_array_length(a);
	if(n == 0) return HW_OK;
	v = calloc(n, sizeof(*v));
	if(!v) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	for(size_t i = 0; i < n; i++){
		json_object *e = json_object_array_get_idx(a, i);
		size_t len;

		if(!json_object_is_type(e, json_type_string)){
			rc = hw_error_refuse(err, HW_R_WRONG_TYPE, "'argv' entry %zu must be a string", i);
			goto fail;
		}
		len = (size_t)json_object_get_string_len(e);
		if(len > HW_ARG_MAX){
			rc = hw_error_refuse(
					err, HW_R_TOO_LARGE, "'argv' entry %zu is %zu bytes; at most %d", i, len, HW_ARG_MAX);
			goto fail;
		}
		v[i] = malloc(len + 1);
		if(!v[i]){
			rc = hw_error_set(err, HW_ERR_NOMEM, "out of memory");
			goto fail;
		}
		memcpy(v[i], json_object_get_string(e), len + 1);
	}
	*argv = v;
	*argc = n;
	return HW_OK;
fail:
	for(size_t i = 0; i < n; i++) free(v[i]);
	free(v);
	return rc;
}

void hw__msg_enc_argv(json_object *o, char *const *argv, size_t argc, bool *fail)
{
	json_object *a;

	if(argc == 0) return;
	a = hw__w_arr(o, "argv", fail);
	for(size_t i = 0; i < argc && !*fail; i++) hw__w_append(a, json_object_new_string(argv[i] ? argv[i] : ""), fail);
}

/* Frees a decoder-allocated argv. */
void hw__msg_free_argv(char **argv, size_t argc)
{
	for(size_t i = 0; argv && i < argc; i++) free(argv[i]);
	free(argv);
}

/* chain: an array of at most HW_CHAIN_MAX {sid, at, source} objects; heap copy. */
static int dec_chain(json_object *o, hw_sid_entry_t **chain, size_t *len, hw_error_t *err)
{
	json_object *a;
	hw_sid_entry_t *c;
	size_t n;
	int rc = hw__j_arr(o, "chain", false, HW_CHAIN_MAX, &a, err);

	*chain = NULL;
	*len = 0;
	if(rc != HW_OK || !a) return rc;
	n = json_object_array_length(a);
	if(n == 0) return HW_OK;
	c = calloc(n, sizeof(*c));
	if(!c) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	for(size_t i = 0; i < n; i++){
		json_object *e = json_object_array_get_idx(a, i);

		if(!json_object_is_type(e, json_type_object)){
			rc = hw_error_refuse(err, HW_R_WRONG_TYPE, "'chain' entry %zu must be an object", i);
			break;
		}
		rc = hw__j_id(e, "sid", true, c[i].sid, err);
		if(rc == HW_OK) rc = hw__j_int(e, "at", true, 0, INT64_MAX, &c[i].at, err);
		if(rc == HW_OK) rc = hw__j_enum(e, "source", true, sid_source_names, HW_SID__COUNT, &c[i].source, err);
		if(rc != HW_OK){
			rc = hw__err_prefix(err, rc, "chain");
			break;
		}
	}
	if(rc != HW_OK){
		free(c);
		return rc;
	}
	*chain = c;
	*len = n;
	return HW_OK;
}

static void enc_chain(json_object *o, const hw_sid_entry_t *chain, size_t len, bool *fail)
{
	json_object *a;

	if(len == 0) return;
	a = hw__w_arr(o, "chain", fail);
	for(size_t i = 0; i < len && !*fail; i++){
		json_object *e = json_object_new_object();

		hw__w_str(e, "sid", chain[i].sid, fail);
		hw__w_int(e, "at", chain[i].at, fail);
		hw__w_str(e, "source", hw_sid_source_name(chain[i].source), fail);
		hw__w_append(a, e, fail);
	}
}

/* ------------------------------------------------------------------ birth */

int hw_birth_decode(const void *buf, size_t len, hw_birth_t *out, hw_error_t *err)
{
	json_object *o = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = dec_common(o, out->session, &out->epoch, &out->seq, &out->ts, err);
	if(rc == HW_OK) rc = hw__j_id(o, "machine", true, out->machine, err);
	if(rc == HW_OK) rc = hw__j_int(o, "interval_ms", true, HW_INTERVAL_MIN_MS, HW_INTERVAL_MAX_MS, &out->interval_ms, err);
	if(rc == HW_OK) rc = hw__j_id(o, "slot", false, out->slot, err);
	if(rc == HW_OK) rc = hw__j_id(o, "project", false, out->project, err);
	if(rc == HW_OK) rc = hw__j_text(o, "task", false, HW_TEXT_MAX, out->task, err);
	if(rc == HW_OK) rc = hw__j_int(o, "pid", false, 1, HW_PID_MAX, &out->pid, err);
	if(rc == HW_OK) rc = hw__j_text(o, "cwd", false, HW_PATH_MAX, out->cwd, err);
	if(rc == HW_OK) rc = hw__j_int(o, "grace_ms", false, 0, HW_GRACE_MAX_MS, &out->grace_ms, err);
	if(rc == HW_OK) rc = hw__j_id(o, "claude_sid", false, out->claude_sid, err);
	if(rc == HW_OK) rc = hw__msg_dec_agent(o, out->agent, err);
	if(rc == HW_OK) rc = hw__j_id(o, "resumed_from", false, out->resumed_from, err);
	if(rc == HW_OK) rc = hw__j_int(o, "run", false, 0, INT64_MAX, &out->run, err);
	if(rc == HW_OK) rc = hw__msg_dec_argv(o, &out->argv, &out->argc, err);
	if(rc == HW_OK) rc = hw__j_id(o, "claim_token", false, out->claim_token, err);
	if(rc == HW_OK) rc = dec_chain(o, &out->chain, &out->chain_len, err);
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_birth_cleanup(out);
	return hw__err_prefix(err, rc, "birth");
}

int hw_birth_encode(const hw_birth_t *b, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = enc_common(b->session, b->epoch, &fail);
	hw_birth_t check;
	int rc;

	if(b->argc && !b->argv){
		json_object_put(o);
		*out = NULL;
		return hw_error_set(err, HW_ERR_INVAL, "birth: argc is %zu but argv is NULL", b->argc);
	}
	if(b->chain_len && !b->chain){
		json_object_put(o);
		*out = NULL;
		return hw_error_set(err, HW_ERR_INVAL, "birth: chain_len is %zu but chain is NULL", b->chain_len);
	}
	hw__w_int(o, "seq", b->seq, &fail);
	hw__w_int(o, "ts", b->ts, &fail);
	hw__w_str(o, "machine", b->machine, &fail);
	hw__w_opt_str(o, "slot", b->slot, &fail);
	hw__w_opt_str(o, "project", b->project, &fail);
	hw__w_opt_str(o, "task", b->task, &fail);
	if(b->pid) hw__w_int(o, "pid", b->pid, &fail);
	hw__w_opt_str(o, "cwd", b->cwd, &fail);
	hw__msg_enc_argv(o, b->argv, b->argc, &fail);
	hw__w_int(o, "interval_ms", b->interval_ms, &fail);
	if(b->grace_ms) hw__w_int(o, "grace_ms", b->grace_ms, &fail);
	hw__w_opt_str(o, "claude_sid", b->claude_sid, &fail);
	hw__w_opt_str(o, "agent", b->agent, &fail);
	hw__w_opt_str(o, "resumed_from", b->resumed_from, &fail);
	if(b->run) hw__w_int(o, "run", b->run, &fail);
	hw__w_opt_str(o, "claim_token", b->claim_token, &fail);
	enc_chain(o, b->chain, b->chain_len, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_birth_decode(*out, strlen(*out), &check, err);
	hw_birth_cleanup(&check);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

void hw_birth_cleanup(hw_birth_t *b)
{
	if(!b) return;
	hw__msg_free_argv(b->argv, b->argc);
	free(b->chain);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------------------ hb */

int hw_hb_decode(const void *buf, size_t len, hw_hb_t *out, hw_error_t *err)
{
	json_object *o = NULL, *c = NULL;
	int rc;

	*out = (hw_hb_t)HW_HB_INIT;
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = dec_common(o, out->session, &out->epoch, &out->seq, &out->ts, err);
	if(rc == HW_OK) rc = hw__j_int(o, "interval_ms", true, HW_INTERVAL_MIN_MS, HW_INTERVAL_MAX_MS, &out->interval_ms, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "state", false, hb_state_names, HW_STATE__COUNT, &out->state, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "cause", false, hb_cause_names, HW_CAUSE__COUNT, &out->cause, err);
	if(rc == HW_OK) rc = hw__j_text(o, "task", false, HW_TEXT_MAX, out->task, err);
	if(rc == HW_OK) rc = hw__j_int(o, "grace_ms", false, 0, HW_GRACE_MAX_MS, &out->grace_ms, err);
	if(rc == HW_OK) rc = hw__j_obj(o, "child", false, &c, err);
	if(rc == HW_OK && c){
		out->has_child = true;
		rc = hw__err_prefix(err, dec_child_obj(c, &out->child, err), "child");
	}
	if(rc == HW_OK) rc = dec_progress(o, false, &out->has_progress, &out->progress, err);
	if(rc == HW_OK) rc = hw__j_int(o, "dropped", false, 0, INT64_MAX, &out->dropped, err);
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_hb_cleanup(out);
	return hw__err_prefix(err, rc, "hb");
}

int hw_hb_encode(const hw_hb_t *hb, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = enc_common(hb->session, hb->epoch, &fail);
	hw_hb_t check;
	int rc;

	hw__w_int(o, "seq", hb->seq, &fail);
	hw__w_int(o, "ts", hb->ts, &fail);
	hw__w_str(o, "state", hw_state_name(hb->state), &fail);
	if(hb->cause != HW_CAUSE_NONE) hw__w_str(o, "cause", hw_cause_name(hb->cause), &fail);
	hw__w_opt_str(o, "task", hb->task, &fail);
	hw__w_int(o, "interval_ms", hb->interval_ms, &fail);
	if(hb->grace_ms) hw__w_int(o, "grace_ms", hb->grace_ms, &fail);
	if(hb->has_child){
		json_object *c = hw__w_obj(o, "child", &fail);
		char proc[2] = {hb->child.proc, '\0'};

		hw__w_int(c, "pid", hb->child.pid, &fail);
		hw__w_str(c, "proc", proc, &fail);
		hw__w_int(c, "cpu_ms", hb->child.cpu_ms, &fail);
	}
	if(hb->has_progress) enc_progress(o, &hb->progress, &fail);
	if(hb->dropped) hw__w_int(o, "dropped", hb->dropped, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_hb_decode(*out, strlen(*out), &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

void hw_hb_cleanup(hw_hb_t *hb)
{
	if(!hb) return;
	*hb = (hw_hb_t)HW_HB_INIT;
}

/* ------------------------------------------------------------------ ev */

int hw_ev_decode(const void *buf, size_t len, hw_ev_t *out, hw_error_t *err)
{
	json_object *o = NULL;
	int rc;

	*out = (hw_ev_t)HW_EV_INIT;
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = dec_common(o, out->session, &out->epoch, &out->seq, &out->ts, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "type", true, ev_type_names, HW_EV__COUNT, &out->type, err);
	if(rc == HW_OK) rc = hw__j_text(o, "transcript", false, HW_PATH_MAX, out->transcript, err);
	if(rc != HW_OK) goto cleanup;
	switch(out->type){
	case HW_EV_TASK:
		rc = hw__j_text(o, "task", true, HW_TEXT_MAX, out->text, err);
		break;
	case HW_EV_CLAUDE_SID:
		rc = hw__j_id(o, "claude_sid", true, out->claude_sid, err);
		if(rc == HW_OK) rc = hw__j_enum(o, "source", true, sid_source_names, HW_SID__COUNT, &out->sid_source, err);
		break;
	case HW_EV_HOOK:
		rc = dec_hook(o, out->hook, err);
		break;
	case HW_EV_PROGRESS:
		rc = dec_progress(o, true, NULL, &out->progress, err);
		break;
	case HW_EV_EXIT:
		rc = dec_exit(o, &out->exit, err);
		break;
	default:
		break;
	}
	if(rc == HW_OK && out->type != HW_EV_TASK) rc = hw__j_text(o, "text", false, HW_TEXT_MAX, out->text, err);
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_ev_cleanup(out);
	return hw__err_prefix(err, rc, "ev");
}

int hw_ev_encode(const hw_ev_t *ev, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = enc_common(ev->session, ev->epoch, &fail);
	hw_ev_t check;
	int rc;

	hw__w_int(o, "seq", ev->seq, &fail);
	hw__w_int(o, "ts", ev->ts, &fail);
	hw__w_str(o, "type", hw_ev_type_name(ev->type), &fail);
	switch(ev->type){
	case HW_EV_TASK:
		hw__w_str(o, "task", ev->text, &fail);
		break;
	case HW_EV_CLAUDE_SID:
		hw__w_str(o, "claude_sid", ev->claude_sid, &fail);
		hw__w_str(o, "source", hw_sid_source_name(ev->sid_source), &fail);
		break;
	case HW_EV_HOOK:
		hw__w_str(o, "hook", ev->hook, &fail);
		break;
	case HW_EV_PROGRESS:
		enc_progress(o, &ev->progress, &fail);
		break;
	case HW_EV_EXIT:
		hw__msg_enc_exit(o, &ev->exit, &fail);
		break;
	default:
		break;
	}
	if(ev->type != HW_EV_TASK) hw__w_opt_str(o, "text", ev->text, &fail);
	hw__w_opt_str(o, "transcript", ev->transcript, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_ev_decode(*out, strlen(*out), &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

void hw_ev_cleanup(hw_ev_t *ev)
{
	if(!ev) return;
	*ev = (hw_ev_t)HW_EV_INIT;
}

/* ------------------------------------------------------------------ status */

int hw_status_decode(const void *buf, size_t len, hw_status_t *out, hw_error_t *err)
{
	json_object *o = NULL, *x = NULL;
	int rc;

	*out = (hw_status_t)HW_STATUS_INIT;
	rc = hw__json_parse(buf, len, HW_MSG_MAX_BYTES, HW_MSG_MAX_DEPTH, &o, err);
	if(rc != HW_OK) goto cleanup;
	rc = dec_common(o, out->session, &out->epoch, NULL, NULL, err);
	if(rc == HW_OK) rc = hw__j_enum(o, "status", true, status_names, HW_STATUS__COUNT, &out->status, err);
	if(rc == HW_OK) rc = hw__j_int(o, "ts", out->status != HW_STATUS_LOST, 0, INT64_MAX, &out->ts, err);
	if(rc == HW_OK) rc = hw__j_get(o, "exit", false, &x, err);
	if(rc != HW_OK) goto cleanup;
	if(out->status == HW_STATUS_ENDED){
		rc = dec_exit(o, &out->exit, err);
		out->has_exit = rc == HW_OK;
	}else if(x){
		rc = hw_error_refuse(err, HW_R_BAD_VALUE, "'exit' is only allowed with status 'ended'");
	}
cleanup:
	json_object_put(o);
	if(rc != HW_OK) hw_status_cleanup(out);
	return hw__err_prefix(err, rc, "status");
}

int hw_status_encode(const hw_status_t *st, char **out, size_t *outlen, hw_error_t *err)
{
	bool fail = false;
	json_object *o = enc_common(st->session, st->epoch, &fail);
	hw_status_t check;
	int rc;

	hw__w_str(o, "status", hw_status_name(st->status), &fail);
	if(st->status != HW_STATUS_LOST || st->ts) hw__w_int(o, "ts", st->ts, &fail);
	if(st->has_exit || st->status == HW_STATUS_ENDED) hw__msg_enc_exit(o, &st->exit, &fail);
	rc = hw__w_finish(o, fail, out, outlen, err);
	if(rc != HW_OK) return rc;
	rc = hw_status_decode(*out, strlen(*out), &check, err);
	if(rc != HW_OK){
		free(*out);
		*out = NULL;
		return hw__err_encoding(err, rc, "encoding");
	}
	return HW_OK;
}

void hw_status_cleanup(hw_status_t *st)
{
	if(!st) return;
	*st = (hw_status_t)HW_STATUS_INIT;
}

int hw_msg_check_topic(const hw_topic_t *topic, const char *session, const char *machine, hw_error_t *err)
{
	if(!topic || !session) return hw_error_set(err, HW_ERR_INVAL, "topic or session is NULL");
	if(strcmp(topic->id, session) != 0)
		return hw_error_refuse(
				err, HW_R_MISMATCH, "payload session '%s' differs from the topic's '%s'", session, topic->id);
	if(machine && strcmp(topic->machine, machine) != 0)
		return hw_error_refuse(err, HW_R_MISMATCH, "payload machine '%s' differs from the topic's '%s'", machine,
				topic->machine);
	return HW_OK;
}

/* ------------------------------------------------------------------ reply members */

/* Parses r->data and looks up key: *root is the parsed data (caller puts it), *val the member
 * (borrowed from *root). */
static int reply_get(const hw_reply_t *r, const char *key, json_object **root, json_object **val, hw_error_t *err)
{
	int rc;

	*root = NULL;
	*val = NULL;
	if(!r->data || r->data_len == 0) return hw_error_set(err, HW_ERR_NOTFOUND, "the reply has no '%s'", key);
	rc = hw__json_parse_ex(r->data, r->data_len, HW_REPLY_MAX_BYTES, HW_REPLY_MAX_DEPTH, HW_REPLY_MAX_MEMBERS, root, err);
	if(rc != HW_OK) return hw__err_prefix(err, rc, "reply");
	if(!json_object_object_get_ex(*root, key, val) || !*val){
		json_object_put(*root);
		*root = NULL;
		return hw_error_set(err, HW_ERR_NOTFOUND, "the reply has no '%s'", key);
	}
	return HW_OK;
}

int hw_reply_member(const hw_reply_t *r, const char *key, char **out, size_t *outlen, hw_error_t *err)
{
	json_object *root, *v;
	const char *s;
	size_t n = 0;
	int rc = reply_get(r, key, &root, &v, err);

	*out = NULL;
	if(outlen) *outlen = 0;
	if(rc != HW_OK) return rc;
	s = json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if(s) *out = malloc(n + 1);
	if(!*out){
		json_object_put(root);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	}
	memcpy(*out, s, n + 1);
	if(outlen) *outlen = n;
	json_object_put(root);
	return HW_OK;
}

int hw_reply_string(const hw_reply_t *r, const char *key, char *dst, size_t size, hw_error_t *err)
{
	json_object *root, *v;
	size_t n;
	int rc = reply_get(r, key, &root, &v, err);

	if(rc != HW_OK) return rc;
	if(!json_object_is_type(v, json_type_string)){
		json_object_put(root);
		return hw_error_refuse(err, HW_R_WRONG_TYPE, "reply: '%s' must be a string", key);
	}
	n = (size_t)json_object_get_string_len(v);
	if(n + 1 > size){
		json_object_put(root);
		return hw_error_refuse(err, HW_R_TOO_LARGE, "reply: '%s' is %zu bytes; at most %zu", key, n, size ? size - 1 : 0);
	}
	memcpy(dst, json_object_get_string(v), n + 1);
	json_object_put(root);
	return HW_OK;
}

int hw_reply_int(const hw_reply_t *r, const char *key, int64_t *out, hw_error_t *err)
{
	json_object *root, *v;
	int rc = reply_get(r, key, &root, &v, err);

	if(rc != HW_OK) return rc;
	rc = hw__j_int_val(v, key, INT64_MIN, INT64_MAX, out, err);
	json_object_put(root);
	return hw__err_prefix(err, rc, "reply");
}
