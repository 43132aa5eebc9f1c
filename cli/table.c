/* table.c: formatting for the heartwire CLI: durations, ages, state colours, session rows. */
#include <inttypes.h>
#include <string.h>

#include "heartwire/states.h"
#include "table.h"

char *hw_cli_duration(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms / 1000;

	if(ms < 0){
		snprintf(buf, len, "-");
	}else if(ms < 1000){
		snprintf(buf, len, "%" PRId64 "ms", ms);
	}else if(s < 60){
		snprintf(buf, len, "%" PRId64 "s", s);
	}else if(s < 3600){
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	}else if(s < 86400){
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
	}else{
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, (s % 86400) / 3600);
	}
	return buf;
}

const char *hw_cli_state_color(int state, bool color)
{
	if(!color) return "";
	switch(state){
	case HW_STATE_ACTIVE:
	case HW_STATE_STARTING:
		return "\033[32m"; /* green */
	case HW_STATE_IDLE:
	case HW_STATE_RECOVERING:
		return "\033[36m"; /* cyan */
	case HW_STATE_STALLED:
		return "\033[33m"; /* yellow */
	case HW_STATE_LOST:
	case HW_STATE_CRASHED:
	case HW_STATE_FAILED:
		return "\033[1;31m"; /* bold red */
	case HW_STATE_COMPLETED:
		return "\033[2m"; /* dim */
	default:
		return "\033[35m"; /* magenta: cleared and unknown */
	}
}

const char *hw_cli_reset(bool color)
{
	return color ? "\033[0m" : "";
}

void hw_cli_table_header(FILE *out, bool color)
{
	fprintf(out, "%s%-24s %-14s %-18s %-28s %-8s %s%s\n", color ? "\033[1m" : "", "SESSION", "PROJECT", "MACHINE/SLOT",
			"STATE", "LAST HB", "TASK", hw_cli_reset(color));
}

void hw_cli_table_row(FILE *out, const hw_session_t *s, int64_t now_ms, bool color)
{
	char where[2 * HW_ID_MAX + 2], state[64], since[32], hb[32], task[41];

	snprintf(where, sizeof(where), "%s%s%s", s->machine, s->slot[0] ? "/" : "", s->slot);
	hw_cli_duration(s->state_since ? now_ms - s->state_since : -1, since, sizeof(since));
	if(s->cause != HW_CAUSE_NONE){
		snprintf(state, sizeof(state), "%s (%s) %s", hw_state_name(s->state), hw_cause_name(s->cause), since);
	}else{
		snprintf(state, sizeof(state), "%s %s", hw_state_name(s->state), since);
	}
	hw_cli_duration(s->last_hb_at ? now_ms - s->last_hb_at : -1, hb, sizeof(hb));
	snprintf(task, sizeof(task), "%.40s", hw_session_task(s));
	if(strlen(hw_session_task(s)) >= sizeof(task)) memcpy(task + sizeof(task) - 4, "...", 4);
	fprintf(out, "%-24.24s %-14.14s %-18.18s %s%-28.28s%s %-8s %s\n", s->session, s->project, where,
			hw_cli_state_color(s->state, color), state, hw_cli_reset(color), hb, task);
}
