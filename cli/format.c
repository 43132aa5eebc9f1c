/* format.c: human output of the heartwire CLI: events, session details, command outcomes. */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "heartwire/clock.h"
#include "heartwire/states.h"

#include "format.h"
#include "table.h"

/* Appends printf output to buf at *o, never past len. */
static void put(char *buf, size_t len, size_t *o, const char *fmt, ...) HW_PRINTF(4, 5);

static void put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if(*o >= len) return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if(n > 0) *o += (size_t)n < len - *o ? (size_t)n : len - *o - 1;
}

static void state_pair(hw_js_t ev, const char *key, char *out, size_t len)
{
	char st[32], ca[32];
	hw_js_t v;

	if(!hw_js_member(ev, key, &v)){
		snprintf(out, len, "?");
		return;
	}
	hw_js_str_member(v, "state", st, sizeof(st));
	hw_js_str_member(v, "cause", ca, sizeof(ca));
	snprintf(out, len, "%s/%s", st, ca);
}

char *hw_cli_event_text(hw_js_t ev, char *buf, size_t len)
{
	char kind[32], type[32], s1[80], s2[80], text[HW_TEXT_MAX + 1], tmp[HW_PATH_MAX + 1];
	size_t o = 0;
	hw_js_t v;

	buf[0] = '\0';
	hw_js_str_member(ev, "kind", kind, sizeof(kind));
	if(strcmp(kind, "transition") == 0){
		state_pair(ev, "from", s1, sizeof(s1));
		state_pair(ev, "to", s2, sizeof(s2));
		put(buf, len, &o, "%s -> %s (%s)", s1, s2, hw_js_str_member(ev, "input", tmp, sizeof(tmp)));
	}else if(strcmp(kind, "command") == 0){
		put(buf, len, &o, "%s", hw_js_str_member(ev, "cmd", tmp, sizeof(tmp)));
		if(hw_js_str_member(ev, "claimant", tmp, sizeof(tmp))[0]) put(buf, len, &o, " by %s", tmp);
		if(hw_js_int_member(ev, "generation", -1) >= 0)
			put(buf, len, &o, " (generation %" PRId64 ")", hw_js_int_member(ev, "generation", 0));
		if(hw_js_member(ev, "from", &v)){
			state_pair(ev, "from", s1, sizeof(s1));
			state_pair(ev, "to", s2, sizeof(s2));
			put(buf, len, &o, ": %s -> %s", s1, s2);
		}
		if(hw_js_member(ev, "paused", &v)){
			put(buf, len, &o, " %s", hw_js_str_member(ev, "project", tmp, sizeof(tmp))[0] ? tmp : "everything");
			if(hw_js_int_member(ev, "resume_at", 0) > 0){
				char iso[32];
				put(buf, len, &o, " until %s",
						hw_time_iso(hw_js_int_member(ev, "resume_at", 0), iso, sizeof(iso)));
			}
		}
		if(hw_js_str_member(ev, "reason", text, sizeof(text))[0]) put(buf, len, &o, ": %s", text);
	}else{
		hw_js_str_member(ev, "type", type, sizeof(type));
		put(buf, len, &o, "%s", type);
		if(strcmp(type, "exit") == 0 && hw_js_member(ev, "exit", &v)){
			int64_t code = hw_js_int_member(v, "code", -1), sig = hw_js_int_member(v, "signal", -1);
			if(code >= 0) put(buf, len, &o, " code %" PRId64, code);
			if(sig >= 0) put(buf, len, &o, " signal %" PRId64, sig);
		}else if(strcmp(type, "claude_sid") == 0){
			put(buf, len, &o, " %s", hw_js_str_member(ev, "claude_sid", tmp, sizeof(tmp)));
			put(buf, len, &o, " (%s)", hw_js_str_member(ev, "source", tmp, sizeof(tmp)));
		}else if(strcmp(type, "hook") == 0){
			put(buf, len, &o, " %s", hw_js_str_member(ev, "hook", tmp, sizeof(tmp)));
		}else if(strcmp(type, "progress") == 0 && hw_js_member(ev, "progress", &v)){
			put(buf, len, &o, " %" PRId64 " prompts, %" PRId64 " tools", hw_js_int_member(v, "prompts", 0),
					hw_js_int_member(v, "tools", 0));
		}
		if(hw_js_str_member(ev, "text", text, sizeof(text))[0]) put(buf, len, &o, ": %s", text);
	}
	return buf;
}

void hw_cli_events_header(FILE *out, bool color)
{
	fprintf(out, "%s%-24s %-10s %s%s\n", color ? "\033[1m" : "", "AT", "KIND", "WHAT", hw_cli_reset(color));
}

void hw_cli_event_row(FILE *out, hw_js_t ev, bool color)
{
	char iso[32], kind[32], text[1024], st[32] = "";
	hw_js_t to;
	int state = 0;

	hw_cli_event_text(ev, text, sizeof(text));
	hw_js_str_member(ev, "kind", kind, sizeof(kind));
	if(hw_js_member(ev, "to", &to)) hw_js_str_member(to, "state", st, sizeof(st));
	if(st[0] && hw_state_parse(st, &state, NULL) != HW_OK) state = 0;
	fprintf(out, "%-24s %-10s %s%s%s\n", hw_time_iso(hw_js_int_member(ev, "at", 0), iso, sizeof(iso)), kind,
			state ? hw_cli_state_color(state, color) : "", text, state ? hw_cli_reset(color) : "");
}

void hw_cli_session_details(FILE *out, const hw_session_t *s, int64_t now_ms, bool color)
{
	char iso[32], d1[32];

	fprintf(out, "session:     %s\n", s->session);
	fprintf(out, "state:       %s%s%s (%s) for %s\n", hw_cli_state_color(s->state, color), hw_state_name(s->state),
			hw_cli_reset(color), hw_cause_name(s->cause),
			hw_cli_duration(s->state_since ? now_ms - s->state_since : -1, d1, sizeof(d1)));
	fprintf(out, "project:     %s\n", s->project[0] ? s->project : "-");
	fprintf(out, "machine:     %s%s%s\n", s->machine, s->slot[0] ? " slot " : "", s->slot);
	if(hw_session_task(s)[0]) fprintf(out, "task:        %s\n", hw_session_task(s));
	fprintf(out, "epoch, run:  %" PRId64 ", %" PRId64 "\n", s->epoch, s->run);
	fprintf(out, "last beat:   %s ago\n", hw_cli_duration(s->last_hb_at ? now_ms - s->last_hb_at : -1, d1, sizeof(d1)));
	if(s->started_at) fprintf(out, "started:     %s\n", hw_time_iso(s->started_at, iso, sizeof(iso)));
	if(hw_session_cwd(s)[0]) fprintf(out, "cwd:         %s\n", hw_session_cwd(s));
	if(s->argc){
		fprintf(out, "command:    ");
		for(size_t i = 0; i < s->argc; i++) fprintf(out, " %s", s->argv[i]);
		fprintf(out, "\n");
	}
	if(s->claude.sid[0])
		fprintf(out, "claude:      %s (%zu in the chain, %sresumable, %" PRId64 " failed resumes)\n", s->claude.sid,
				s->claude.chain_len, s->claude.resumable ? "" : "not ", s->claude.resume_failures);
	if(s->has_exit){
		if(s->exit.signal >= 0) fprintf(out, "exit:        signal %d\n", s->exit.signal);
		else fprintf(out, "exit:        code %d\n", s->exit.code);
	}
	if(s->recovery.token[0] || s->recovery.attempts)
		fprintf(out, "claim:       %s%s%s (%" PRId64 " claims)\n",
				s->recovery.claimed_by[0] ? s->recovery.claimed_by : "none",
				s->recovery.lease_until > now_ms ? " until " : "",
				s->recovery.lease_until > now_ms ? hw_time_iso(s->recovery.lease_until, iso, sizeof(iso)) : "",
				s->recovery.attempts);
	fprintf(out, "updated:     %s (version %" PRId64 ")\n", hw_time_iso(s->updated_at, iso, sizeof(iso)), s->version);
}

char *hw_cli_command_text(int verb, hw_js_t data, char *buf, size_t len)
{
	char session[HW_ID_MAX + 1], session2[HW_ID_MAX + 1], st[32], ca[32], fst[32], fca[32], tmp[HW_TEXT_MAX + 1];
	char iso[32];
	size_t o = 0;
	hw_js_t v, p;

	buf[0] = '\0';
	hw_js_str_member(data, "session", session, sizeof(session));
	hw_js_str_member(data, "state", st, sizeof(st));
	hw_js_str_member(data, "cause", ca, sizeof(ca));
	hw_js_str_member(data, "from", fst, sizeof(fst));
	hw_js_str_member(data, "from_cause", fca, sizeof(fca));
	switch(verb){
	case HW_VERB_FAIL:
	case HW_VERB_CLEAR:
		if(hw_js_member(data, "changed", &v) && hw_js_true(v))
			put(buf, len, &o, "%s: %s/%s -> %s/%s", session, fst, fca, st, ca);
		else put(buf, len, &o, "%s: already %s/%s (nothing changed)", session, st, ca);
		break;
	case HW_VERB_CLAIM:
		put(buf, len, &o, "%s: claimed by %s until %s (generation %" PRId64 "), token %s", session,
				hw_js_str_member(data, "claimed_by", tmp, sizeof(tmp)),
				hw_time_iso(hw_js_int_member(data, "lease_until", 0), iso, sizeof(iso)),
				hw_js_int_member(data, "generation", 0),
				hw_js_str_member(data, "token", session2, sizeof(session2)));
		break;
	case HW_VERB_RELEASE:
		put(buf, len, &o, "%s: released (generation %" PRId64 ")", session, hw_js_int_member(data, "generation", 0));
		if(st[0]) put(buf, len, &o, "; now %s/%s", st, ca);
		break;
	case HW_VERB_PAUSE:
	case HW_VERB_UNPAUSE:
		hw_js_str_member(data, "project", tmp, sizeof(tmp));
		put(buf, len, &o, "%s %s%s", verb == HW_VERB_PAUSE ? "paused" : "unpaused", tmp[0] ? "project " : "everything",
				tmp);
		if(hw_js_member(data, "pause", &p)){
			if(hw_js_int_member(p, "resume_at", 0) > 0)
				put(buf, len, &o, " until %s",
						hw_time_iso(hw_js_int_member(p, "resume_at", 0), iso, sizeof(iso)));
			if(hw_js_str_member(p, "reason", tmp, sizeof(tmp))[0] && verb == HW_VERB_PAUSE)
				put(buf, len, &o, ": %s", tmp);
		}
		break;
	default:
		put(buf, len, &o, "ok");
		break;
	}
	return buf;
}
