/* tracker.c: turns Claude Code hook calls into session events and counters. */
#include <string.h>

#include "tracker.h"

void hw_tracker_init(hw_tracker_t *t)
{
	memset(t, 0, sizeof(*t));
}

const char *hw_tracker_sid(const hw_tracker_t *t)
{
	return t->chain_len ? t->chain[t->chain_len - 1].sid : "";
}

/* Appends sid to the chain, dropping the oldest entry when full. */
static void chain_push(hw_tracker_t *t, const char *sid, int source, int64_t now_ms)
{
	hw_sid_entry_t *e;

	if(t->chain_len == HW_TRACK_CHAIN_MAX){
		memmove(&t->chain[0], &t->chain[1], sizeof(t->chain[0]) * (HW_TRACK_CHAIN_MAX - 1));
		t->chain_len--;
	}
	e = &t->chain[t->chain_len++];
	memset(e, 0, sizeof(*e));
	memcpy(e->sid, sid, strlen(sid) + 1);
	e->at = now_ms;
	e->source = source;
}

/* Starts a new event of type in evs[*n]. */
static hw_ev_t *ev_new(hw_ev_t *evs, size_t *n, int type, int64_t now_ms)
{
	hw_ev_t *ev = &evs[(*n)++];

	*ev = (hw_ev_t)HW_EV_INIT;
	ev->type = type;
	ev->ts = now_ms;
	return ev;
}

size_t hw_tracker_apply(hw_tracker_t *t, const hw_hook_t *h, int64_t now_ms, int64_t mono_ms, hw_ev_t *evs)
{
	bool start = strcmp(h->event, "SessionStart") == 0;
	bool new_transcript = false;
	size_t n = 0;
	hw_ev_t *ev;

	t->hooks++;
	t->activity_mono = mono_ms;
	t->progress.last_activity_ts = now_ms;
	if(h->transcript[0] && strcmp(h->transcript, t->transcript) != 0){
		memcpy(t->transcript, h->transcript, strlen(h->transcript) + 1);
		new_transcript = true;
	}
	if(h->cwd[0]) memcpy(t->cwd, h->cwd, strlen(h->cwd) + 1);

	if(h->session_id[0] && (start || strcmp(h->session_id, hw_tracker_sid(t)) != 0)){
		int source = h->source;
		if(source < 0) source = t->chain_len ? HW_SID_RESUME : HW_SID_STARTUP;
		if(strcmp(h->session_id, hw_tracker_sid(t)) != 0){
			chain_push(t, h->session_id, source, now_ms);
		}else{
			t->chain[t->chain_len - 1].source = source;
		}
		ev = ev_new(evs, &n, HW_EV_CLAUDE_SID, now_ms);
		memcpy(ev->claude_sid, h->session_id, strlen(h->session_id) + 1);
		ev->sid_source = source;
		memcpy(ev->transcript, t->transcript, strlen(t->transcript) + 1);
		new_transcript = false;
	}
	if(start) return n;

	if(strcmp(h->event, "UserPromptSubmit") == 0){
		t->progress.prompts++;
		t->idle = false;
		ev = ev_new(evs, &n, HW_EV_PROGRESS, now_ms);
		ev->progress = t->progress;
	}else if(strcmp(h->event, "PostToolUse") == 0){
		t->progress.tools++;
		t->idle = false;
	}else if(strcmp(h->event, "Stop") == 0){
		t->idle = true;
		ev = ev_new(evs, &n, HW_EV_IDLE, now_ms);
	}else{
		if(strcmp(h->event, "PreToolUse") == 0) t->idle = false;
		ev = ev_new(evs, &n, HW_EV_HOOK, now_ms);
		memcpy(ev->hook, h->event, strlen(h->event) + 1);
		if(h->detail[0]) memcpy(ev->text, h->detail, strlen(h->detail) + 1);
		else if(h->tool[0]) memcpy(ev->text, h->tool, strlen(h->tool) + 1);
	}
	if(n > 0 && new_transcript){
		ev = &evs[n - 1];
		memcpy(ev->transcript, t->transcript, strlen(t->transcript) + 1);
	}
	return n;
}
