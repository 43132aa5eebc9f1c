/* test_collector_command.c: the operator command table (collector/sessions.c) equals the one in
 * docs/state-machine.md cell by cell, and applying each cell does what it says; the request
 * server's pure parts (collector/query.c): paging cursors, which refusals are bad filters,
 * which reply topics the collector answers on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "hwtest.h"
#include "query.h"
#include "sessions.h"

#define T0 1763712000000LL
#define NCIN (HW_CIN__END - HW_IN__COUNT)

static int docs_cmd[HW_ROW__COUNT][NCIN];

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while(n && (s[n - 1] == ' ' || s[n - 1] == '`')) s[--n] = '\0';
	while(s[i] == ' ' || s[i] == '`') i++;
	memmove(s, s + i, n - i + 1);
}

static int cell_of(const char *name)
{
	if(strcmp(name, "—") == 0) return HW_ROW_IGNORE;
	if(strcmp(name, "refused") == 0) return HW_ROW_REFUSE;
	if(strcmp(name, "busy") == 0) return HW_ROW_BUSY;
	for(int r = 0; r < HW_ROW__COUNT; r++){
		if(strcmp(hw_row_name(r), name) == 0) return r;
	}
	return -100;
}

/* Reads the table under "## Operator commands". */
static int load_docs(void)
{
	char path[1024], line[2048];
	int colmap[NCIN + 1], rows = 0;
	bool in = false, header = false;
	FILE *f;

	for(int r = 0; r < HW_ROW__COUNT; r++){
		for(int i = 0; i < NCIN; i++) docs_cmd[r][i] = -99;
	}
	snprintf(path, sizeof(path), "%s/docs/state-machine.md",
			getenv("HW_SOURCE_DIR") ? getenv("HW_SOURCE_DIR") : HW_SOURCE_DIR);
	f = fopen(path, "r");
	if(!f) return -1;
	while(fgets(line, sizeof(line), f)){
		char cells[NCIN + 2][64];
		int n = 0;
		char *p = strchr(line, '|');
		if(strncmp(line, "## ", 3) == 0 || strncmp(line, "### ", 4) == 0){
			in = strstr(line, "Operator commands") != NULL;
			header = in;
			continue;
		}
		if(!in || line[0] != '|') continue;
		while(p && n < NCIN + 2){
			char *q = strchr(p + 1, '|');
			size_t len;
			if(!q) break;
			len = (size_t)(q - p - 1);
			if(len >= 64) len = 63;
			memcpy(cells[n], p + 1, len);
			cells[n][len] = '\0';
			trim(cells[n]);
			n++;
			p = q;
		}
		if(header){
			if(n != NCIN + 1){
				fclose(f);
				return -1;
			}
			for(int c = 1; c < n; c++){
				colmap[c] = -1;
				for(int i = 0; i < NCIN; i++){
					if(strcmp(cells[c], hw_input_name(HW_IN__COUNT + i)) == 0) colmap[c] = i;
				}
				if(colmap[c] < 0){
					fprintf(stderr, "docs: unknown command column '%s'\n", cells[c]);
					fclose(f);
					return -1;
				}
			}
			header = false;
			continue;
		}
		if(strncmp(cells[0], "---", 3) == 0) continue;
		{
			int r = cell_of(cells[0]);
			if(r < 0 || n != NCIN + 1){
				fprintf(stderr, "docs: bad row '%s'\n", cells[0]);
				fclose(f);
				return -1;
			}
			for(int c = 1; c < n; c++) docs_cmd[r][colmap[c]] = cell_of(cells[c]);
			rows++;
		}
	}
	fclose(f);
	return rows == HW_ROW__COUNT ? 0 : -1;
}

static void TEST_docs_table_equals_code_table(void)
{
	CU_ASSERT_FATAL(load_docs() == 0);
	for(int r = 0; r < HW_ROW__COUNT; r++){
		for(int i = 0; i < NCIN; i++){
			int want = docs_cmd[r][i], got = hw_fsm_command(r, HW_IN__COUNT + i);
			if(want != got)
				fprintf(stderr, "cell %s x %s: docs %d, code %d\n", hw_row_name(r),
						hw_input_name(HW_IN__COUNT + i), want, got);
			CU_ASSERT_EQUAL(want, got);
		}
	}
	/* names: the audit events' "input" */
	CU_ASSERT_STRING_EQUAL(hw_input_name(HW_CIN_FAIL), "cmd_fail");
	CU_ASSERT_STRING_EQUAL(hw_input_name(HW_CIN_EXPIRE), "lease_expired");
	CU_ASSERT_STRING_EQUAL(hw_input_name(HW_IN_TIMER), "timer");
	CU_ASSERT_STRING_EQUAL(hw_input_name(HW_CIN__END), "unknown");
	CU_ASSERT_EQUAL(hw_fsm_command(HW_ROW_ACTIVE, HW_IN_TIMER), HW_ROW_REFUSE); /* not a command */
}

static void TEST_table_invariants(void)
{
	for(int r = 0; r < HW_ROW__COUNT; r++){
		int st, ca;
		hw_row_split(r, &st, &ca);
		/* completed is final for every command */
		if(st == HW_STATE_COMPLETED){
			CU_ASSERT_EQUAL(hw_fsm_command(r, HW_CIN_FAIL), HW_ROW_REFUSE);
			CU_ASSERT_EQUAL(hw_fsm_command(r, HW_CIN_CLEAR), HW_ROW_REFUSE);
			CU_ASSERT_EQUAL(hw_fsm_command(r, HW_CIN_CLAIM), HW_ROW_REFUSE);
		}
		/* claim only takes what DESIGN.md calls recoverable */
		CU_ASSERT_EQUAL(hw_fsm_command(r, HW_CIN_CLAIM) == HW_ROW_RECOVERING, hw_state_recoverable(st));
		/* every row a command leads to has a valid (state, cause) */
		for(int c = HW_IN__COUNT; c < HW_CIN__END; c++){
			int to = hw_fsm_command(r, c);
			if(to >= 0){
				int ts, tc;
				hw_row_split(to, &ts, &tc);
				CU_ASSERT(hw_state_cause_ok(ts, tc));
				CU_ASSERT(ts == HW_STATE_FAILED || ts == HW_STATE_CLEARED || ts == HW_STATE_RECOVERING);
			}
		}
	}
}

static void sess_in_row(hw_sess_t *s, int row)
{
	hw_sess_init(s, "s-1", "m-1");
	hw_row_split(row, &s->doc.state, &s->doc.cause);
	s->doc.epoch = 5;
	s->doc.seq = 10;
	s->doc.version = 7;
	s->doc.state_since = T0;
	s->doc.last_hb_at = T0;
	s->doc.interval_ms = 1000;
}

static void TEST_every_cell_applies(void)
{
	for(int r = 1; r < HW_ROW__COUNT; r++){
		for(int c = HW_IN__COUNT; c < HW_CIN__END; c++){
			hw_sess_t s;
			hw_step_t st;
			int want = hw_fsm_command(r, c), from_state, fc, to_state, tc;
			sess_in_row(&s, r);
			hw_sess_command(&s, c, T0 + 50, &st);
			if(want < 0){
				CU_ASSERT_EQUAL(hw_sess_row(&s), r);
				CU_ASSERT_EQUAL(s.doc.version, 7);
				CU_ASSERT(!st.changed && !st.transition && !st.alert);
				CU_ASSERT_EQUAL(st.to_row, want == HW_ROW_IGNORE ? r : want);
				CU_ASSERT_EQUAL(st.stale, want == HW_ROW_IGNORE);
			}else{
				CU_ASSERT_EQUAL(hw_sess_row(&s), want);
				CU_ASSERT(st.changed && st.barrier);
				CU_ASSERT_EQUAL(st.transition, want != r);
				CU_ASSERT(s.doc.version >= T0 + 50);
				CU_ASSERT_EQUAL(s.doc.updated_at, T0 + 50);
				CU_ASSERT_EQUAL(st.trigger_seq, s.doc.version); /* a distinct audit id per command */
				CU_ASSERT_EQUAL(s.doc.deadline_at, 0);
				CU_ASSERT(!st.recovered && !st.false_alarm && !st.flap);
				CU_ASSERT_EQUAL(s.doc.epoch, 5); /* commands carry no epoch */
				hw_row_split(r, &from_state, &fc);
				hw_row_split(want, &to_state, &tc);
				CU_ASSERT_EQUAL(st.alert, to_state == HW_STATE_FAILED && from_state != HW_STATE_FAILED);
				if(to_state == HW_STATE_FAILED && from_state != HW_STATE_FAILED)
					CU_ASSERT_EQUAL(s.doc.ended_at, T0 + 50);
			}
			hw_sess_cleanup(&s);
		}
	}
}

static void TEST_cursors(void)
{
	char buf[HW_CURSOR_MAX + 1], key[HW_EVENT_KEY_MAX];
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_cursor_encode(HW_CURSOR_SESSIONS, "s-42", buf, sizeof(buf)), HW_OK);
	CU_ASSERT_EQUAL(strncmp(buf, "s1.", 3), 0);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_SESSIONS, buf, key, sizeof(key), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(key, "s-42");
	/* every length round-trips (base64url without padding) */
	for(int n = 1; n <= HW_ID_MAX; n++){
		char id[HW_ID_MAX + 1];
		for(int i = 0; i < n; i++) id[i] = "aZ0._:-"[i % 7];
		id[n] = '\0';
		CU_ASSERT_EQUAL(hw_cursor_encode(HW_CURSOR_PROJECTS, id, buf, sizeof(buf)), HW_OK);
		CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_PROJECTS, buf, key, sizeof(key), &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(key, id);
	}
	/* an event position */
	CU_ASSERT_EQUAL(hw_cursor_encode(HW_CURSOR_EVENTS, "1763712000123|s-42:4:17:hb_idle:idle.none", buf, sizeof(buf)), HW_OK);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_EVENTS, buf, key, sizeof(key), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(key, "1763712000123|s-42:4:17:hb_idle:idle.none");
	/* refused: another query's, garbage, a key that is no id */
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_SESSIONS, "e1.bm9wZQ", key, sizeof(key), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_SESSIONS, "s1.!!!", key, sizeof(key), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_SESSIONS, "s1.", key, sizeof(key), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cursor_encode(HW_CURSOR_SESSIONS, "a b", buf, sizeof(buf)), HW_OK);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_SESSIONS, buf, key, sizeof(key), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cursor_decode(HW_CURSOR_EVENTS, "e1.bm9wZQ", key, sizeof(key), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cursor_encode(HW_CURSOR_SESSIONS, "", buf, sizeof(buf)), HW_ERR_INVAL);
}

static int refusal(const char *verb, const char *payload)
{
	hw_request_t req;
	hw_error_t err;
	int kind = strcmp(verb, "fail") == 0 || strcmp(verb, "claim") == 0 ? HW_T_COMMAND : HW_T_QUERY;

	if(hw_request_decode(kind, verb, payload, strlen(payload), &req, &err) == HW_OK) return -1;
	return hw_request_refusal_code(req.verb, &err);
}

static void TEST_refusal_codes(void)
{
	CU_ASSERT_EQUAL(refusal("sessions", "{\"states\":[\"sleeping\"]}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"limit\":0}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"limit\":5000}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"project\":\"a b\"}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"slot\":7}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"updated_since\":-1}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("events", "{\"session\":\"a/b\"}"), HW_REPLY_BAD_FILTER);
	CU_ASSERT_EQUAL(refusal("session", "{\"session\":\"a/b\"}"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("session", "{}"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("sessions", "{\"reason\":7}"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("sessions", "[1]"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("claim", "{\"session\":\"s\"}"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("fail", "{\"session\":\"s\",\"limit\":0}"), HW_REPLY_BAD_REQUEST);
	CU_ASSERT_EQUAL(refusal("reboot", "{}"), HW_REPLY_BAD_REQUEST);
}

static void TEST_reply_topics(void)
{
	hw_error_t err;
	char longt[700];

	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply/alice/cli-1", &err), HW_OK);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply/x", &err), HW_OK);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply/", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/state/s/s-42", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/m/b/s/s/cmd", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v10/reply/a", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply/+/x", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply//x", &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", "heartwire/v1/reply/x/", &err), HW_ERR_FORBIDDEN);
	memset(longt, 'a', sizeof(longt) - 1);
	longt[sizeof(longt) - 1] = '\0';
	memcpy(longt, "heartwire/v1/reply/", 19);
	CU_ASSERT_EQUAL(hw_reply_topic_check("heartwire/v1", longt, &err), HW_ERR_FORBIDDEN);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_docs_table_equals_code_table),
		HWTEST(TEST_table_invariants),
		HWTEST(TEST_every_cell_applies),
		HWTEST(TEST_cursors),
		HWTEST(TEST_refusal_codes),
		HWTEST(TEST_reply_topics),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	hwtest_suite("collector_command", NULL, NULL, cases);
	return hwtest_run();
}
