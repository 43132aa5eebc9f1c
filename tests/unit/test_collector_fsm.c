/* test_collector_fsm.c: the session state machine: the table in collector/sessions.c equals
 * the one in docs/state-machine.md cell by cell; applying every (row, input, epoch relation)
 * to a real session gives that cell; duplicates, stale wills and deadlines; and a property
 * test: 100k random interleavings with duplicates end where the sequential model ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "hwtest.h"
#include "sessions.h"

#define T0 1763712000000LL

/* ------------------------------------------------------------------ the docs table */

/* docs_same / docs_newer: the cells read from docs/state-machine.md; -2 = not found. */
static int docs_same[HW_ROW__COUNT][HW_IN__COUNT];
static int docs_newer[HW_ROW__COUNT][HW_IN__COUNT];
static int docs_loaded;

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while(n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '`')) s[--n] = '\0';
	while(s[i] == ' ' || s[i] == '\t' || s[i] == '`') i++;
	memmove(s, s + i, n - i + 1);
}

static int row_by_name(const char *name)
{
	if(strcmp(name, "—") == 0 || strcmp(name, "-") == 0 || strcmp(name, "ignore") == 0) return HW_ROW_IGNORE;
	for(int r = 0; r < HW_ROW__COUNT; r++){
		if(strcmp(hw_row_name(r), name) == 0) return r;
	}
	return -3;
}

/* Splits a markdown table line "| a | b |" into at most max trimmed cells; returns the count. */
static int split_cells(char *line, char cells[][64], int max)
{
	int n = 0;
	char *p = strchr(line, '|');

	while(p && n < max){
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
	return n;
}

/* Reads the two tables under "### Same epoch" and "### Newer epoch". */
static int load_docs(void)
{
	char path[1024], line[4096];
	int(*cur)[HW_IN__COUNT] = NULL;
	int colmap[HW_IN__COUNT + 1];
	bool header = false;
	FILE *f;

	for(int r = 0; r < HW_ROW__COUNT; r++){
		for(int i = 0; i < HW_IN__COUNT; i++) docs_same[r][i] = docs_newer[r][i] = -2;
	}
	snprintf(path, sizeof(path), "%s/docs/state-machine.md",
			getenv("HW_SOURCE_DIR") ? getenv("HW_SOURCE_DIR") : HW_SOURCE_DIR);
	f = fopen(path, "r");
	if(!f){
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	while(fgets(line, sizeof(line), f)){
		char cells[HW_IN__COUNT + 2][64];
		int n;
		if(strncmp(line, "### ", 4) == 0){
			cur = strstr(line, "Same epoch") ? docs_same : strstr(line, "Newer epoch") ? docs_newer : NULL;
			header = true;
			continue;
		}
		if(!cur || line[0] != '|') continue;
		n = split_cells(line, cells, HW_IN__COUNT + 2);
		if(header){
			/* the header: "row \ input", then input names in any order */
			for(int c = 1; c < n && c <= HW_IN__COUNT; c++){
				colmap[c] = -1;
				for(int i = 0; i < HW_IN__COUNT; i++){
					if(strcmp(cells[c], hw_input_name(i)) == 0) colmap[c] = i;
				}
				if(colmap[c] < 0){
					fprintf(stderr, "docs: unknown input column '%s'\n", cells[c]);
					fclose(f);
					return -1;
				}
			}
			if(n != HW_IN__COUNT + 1){
				fprintf(stderr, "docs: header has %d columns, want %d\n", n, HW_IN__COUNT + 1);
				fclose(f);
				return -1;
			}
			header = false;
			continue;
		}
		if(strncmp(cells[0], "---", 3) == 0 || strncmp(cells[0], ":--", 3) == 0) continue;
		{
			int r = row_by_name(cells[0]);
			if(r < 0 || n != HW_IN__COUNT + 1){
				fprintf(stderr, "docs: bad row '%s' (%d cells)\n", cells[0], n);
				fclose(f);
				return -1;
			}
			for(int c = 1; c < n; c++){
				int to = row_by_name(cells[c]);
				if(to == -3){
					fprintf(stderr, "docs: row %s: unknown cell '%s'\n", cells[0], cells[c]);
					fclose(f);
					return -1;
				}
				cur[r][colmap[c]] = to;
			}
		}
	}
	fclose(f);
	docs_loaded = 1;
	return 0;
}

static int docs_next(int row, int input, int rel)
{
	if(rel == HW_REL_OLDER) return HW_ROW_IGNORE; /* the docs state it in one sentence */
	return rel == HW_REL_SAME ? docs_same[row][input] : docs_newer[row][input];
}

static void TEST_docs_table_equals_code_table(void)
{
	CU_ASSERT_FATAL(load_docs() == 0);
	for(int r = 0; r < HW_ROW__COUNT; r++){
		for(int i = 0; i < HW_IN__COUNT; i++){
			for(int rel = 0; rel < HW_REL__COUNT; rel++){
				int want = docs_next(r, i, rel), got = hw_fsm_next(r, i, rel);
				if(want != got){
					fprintf(stderr, "cell %s x %s x %s: docs %s, code %s\n", hw_row_name(r), hw_input_name(i),
							hw_rel_name(rel), hw_row_name(want), hw_row_name(got));
				}
				CU_ASSERT_EQUAL(want, got);
			}
		}
	}
}

/* ------------------------------------------------------------------ table invariants */

static void TEST_table_invariants(void)
{
	for(int r = 0; r < HW_ROW__COUNT; r++){
		int st, ca;
		hw_row_split(r, &st, &ca);
		if(r != HW_ROW_NONE) CU_ASSERT(hw_state_cause_ok(st, ca));
		CU_ASSERT_EQUAL(hw_row_of(st, ca), r);
		for(int i = 0; i < HW_IN__COUNT; i++){
			/* older epochs never change anything */
			CU_ASSERT_EQUAL(hw_fsm_next(r, i, HW_REL_OLDER), HW_ROW_IGNORE);
			for(int rel = 0; rel < HW_REL__COUNT; rel++){
				int to = hw_fsm_next(r, i, rel);
				CU_ASSERT(to == HW_ROW_IGNORE || (to > HW_ROW_NONE && to < HW_ROW__COUNT));
				/* failed is terminal: only an operator's clear (not a message) leaves it */
				if(st == HW_STATE_FAILED) CU_ASSERT_EQUAL(to, HW_ROW_IGNORE);
				/* the timer has no epoch */
				if(i == HW_IN_TIMER && rel != HW_REL_SAME) CU_ASSERT_EQUAL(to, HW_ROW_IGNORE);
				/* nothing the agent sends makes a session failed, cleared or recovering */
				if(to != HW_ROW_IGNORE){
					int ts, tc;
					hw_row_split(to, &ts, &tc);
					CU_ASSERT(ts != HW_STATE_FAILED && ts != HW_STATE_CLEARED && ts != HW_STATE_RECOVERING);
				}
			}
			/* an exit or a completed exit is final for its epoch */
			if(r == HW_ROW_CRASHED_EXIT || r == HW_ROW_CRASHED_SIGNAL || r == HW_ROW_COMPLETED_EXIT)
				CU_ASSERT_EQUAL(hw_fsm_next(r, i, HW_REL_SAME), HW_ROW_IGNORE);
			/* a newer epoch is a new run: its target does not depend on the old row (failed aside) */
			if(st != HW_STATE_FAILED && i != HW_IN_TIMER)
				CU_ASSERT_EQUAL(hw_fsm_next(r, i, HW_REL_NEWER), hw_fsm_next(HW_ROW_NONE, i, HW_REL_NEWER));
		}
	}
	/* a will is final for its epoch, except against the run's own ending */
	for(int i = 0; i < HW_IN__COUNT; i++){
		int to = hw_fsm_next(HW_ROW_LOST_WILL, i, HW_REL_SAME);
		bool ending = i == HW_IN_EV_END || i == HW_IN_EXIT_OK || i == HW_IN_EXIT_CODE || i == HW_IN_EXIT_SIGNAL;
		CU_ASSERT_EQUAL(to != HW_ROW_IGNORE, ending);
	}
	/* the timer: live -> stalled, stalled(missed) -> lost(timeout) */
	CU_ASSERT_EQUAL(hw_fsm_next(HW_ROW_ACTIVE, HW_IN_TIMER, HW_REL_SAME), HW_ROW_STALLED_MISSED);
	CU_ASSERT_EQUAL(hw_fsm_next(HW_ROW_STALLED_MISSED, HW_IN_TIMER, HW_REL_SAME), HW_ROW_LOST_TIMEOUT);
}

/* ------------------------------------------------------------------ applying every cell */

/* A session in `row` at epoch 5 with seqs at 10, last heartbeat at T0. */
static void sess_in_row(hw_sess_t *s, int row)
{
	hw_sess_init(s, "s-1", "m-1");
	if(row == HW_ROW_NONE) return;
	hw_row_split(row, &s->doc.state, &s->doc.cause);
	s->doc.epoch = 5;
	s->doc.seq = 10;
	s->state_seq = 10;
	s->data_seq = 10;
	s->birth_epoch = 5;
	s->doc.interval_ms = 1000;
	s->doc.last_hb_at = T0;
	s->doc.state_since = T0;
	s->doc.version = 7;
	snprintf(s->doc.project, sizeof(s->doc.project), "p-1");
}

/* Applies input with the given epoch (seq 11 at the same epoch, 1 at another) at time now. */
static int apply_input(hw_sess_t *s, int input, int64_t epoch, int64_t now, hw_step_t *st)
{
	int64_t seq = epoch == s->doc.epoch ? s->state_seq + 1 : 1;
	hw_error_t err;

	switch(input){
	case HW_IN_BIRTH: {
		hw_birth_t b = HW_BIRTH_INIT;
		snprintf(b.session, sizeof(b.session), "s-1");
		snprintf(b.machine, sizeof(b.machine), "m-1");
		snprintf(b.project, sizeof(b.project), "p-2");
		b.epoch = epoch;
		b.seq = seq;
		b.interval_ms = 2000;
		return hw_sess_birth(s, &b, now, st, &err);
	}
	case HW_IN_HB_ACTIVE:
	case HW_IN_HB_IDLE:
	case HW_IN_HB_NO_PROGRESS:
	case HW_IN_HB_CHILD_STOPPED: {
		hw_hb_t hb = HW_HB_INIT;
		snprintf(hb.session, sizeof(hb.session), "s-1");
		hb.epoch = epoch;
		hb.seq = seq;
		hb.interval_ms = 1000;
		hb.state = input == HW_IN_HB_ACTIVE ? HW_STATE_ACTIVE : input == HW_IN_HB_IDLE ? HW_STATE_IDLE : HW_STATE_STALLED;
		hb.cause = input == HW_IN_HB_NO_PROGRESS          ? HW_CAUSE_NO_PROGRESS
				: input == HW_IN_HB_CHILD_STOPPED ? HW_CAUSE_CHILD_STOPPED
								  : HW_CAUSE_NONE;
		CU_ASSERT_EQUAL(hw_input_of_hb(&hb), input);
		hw_sess_hb(s, &hb, now, st);
		return HW_OK;
	}
	case HW_IN_EV_IDLE:
	case HW_IN_EV_END:
	case HW_IN_EXIT_OK:
	case HW_IN_EXIT_CODE:
	case HW_IN_EXIT_SIGNAL: {
		hw_ev_t ev = HW_EV_INIT;
		snprintf(ev.session, sizeof(ev.session), "s-1");
		ev.epoch = epoch;
		ev.seq = seq;
		ev.type = input == HW_IN_EV_IDLE ? HW_EV_IDLE : input == HW_IN_EV_END ? HW_EV_END : HW_EV_EXIT;
		if(input == HW_IN_EXIT_OK) ev.exit.code = 0;
		if(input == HW_IN_EXIT_CODE) ev.exit.code = 3;
		if(input == HW_IN_EXIT_SIGNAL) ev.exit.signal = 9;
		CU_ASSERT_EQUAL(hw_input_of_ev(&ev), input);
		return hw_sess_ev(s, &ev, now, st, &err);
	}
	case HW_IN_ONLINE:
	case HW_IN_WILL: {
		hw_status_t stt = HW_STATUS_INIT;
		snprintf(stt.session, sizeof(stt.session), "s-1");
		stt.status = input == HW_IN_ONLINE ? HW_STATUS_ONLINE : HW_STATUS_LOST;
		stt.epoch = epoch;
		CU_ASSERT_EQUAL(hw_input_of_status(&stt), input);
		hw_sess_status(s, &stt, now, st);
		return HW_OK;
	}
	default:
		hw_sess_timer(s, now, st);
		return HW_OK;
	}
}

static bool is_alert_state(int st)
{
	return st == HW_STATE_STALLED || st == HW_STATE_LOST || st == HW_STATE_CRASHED || st == HW_STATE_FAILED;
}

static void TEST_every_cell_applies_as_documented(void)
{
	int cells = 0;

	if(!docs_loaded) CU_ASSERT_FATAL(load_docs() == 0);
	for(int r = 0; r < HW_ROW__COUNT; r++){
		for(int i = 0; i < HW_IN__COUNT; i++){
			for(int rel = 0; rel < HW_REL__COUNT; rel++){
				hw_sess_t s;
				hw_step_t st;
				int64_t epoch = rel == HW_REL_OLDER ? 4 : rel == HW_REL_SAME ? 5 : 6;
				int want = docs_next(r, i, rel), got, from_state, to_state, c;
				int64_t now = T0 + 100;
				/* an unknown session has no epoch to compare with: every message is newer */
				if(r == HW_ROW_NONE && rel != HW_REL_NEWER) continue;
				if(i == HW_IN_TIMER && rel != HW_REL_SAME) continue;
				sess_in_row(&s, r);
				CU_ASSERT_EQUAL(apply_input(&s, i, epoch, now, &st), HW_OK);
				got = hw_sess_row(&s);
				cells++;
				if(want == HW_ROW_IGNORE){
					if(got != r || !st.stale || s.doc.version != 7){
						fprintf(stderr, "%s x %s x %s: want ignore, got %s stale=%d\n", hw_row_name(r),
								hw_input_name(i), hw_rel_name(rel), hw_row_name(got), st.stale);
						CU_FAIL("ignored cell changed the session");
					}
					CU_ASSERT_EQUAL(s.doc.epoch, r == HW_ROW_NONE ? 0 : 5);
					CU_ASSERT(!st.transition && !st.alert && !st.recovered);
				}else{
					if(got != want){
						fprintf(stderr, "%s x %s x %s: want %s, got %s\n", hw_row_name(r),
								hw_input_name(i), hw_rel_name(rel), hw_row_name(want),
								hw_row_name(got));
					}
					CU_ASSERT_EQUAL(got, want);
					CU_ASSERT(!st.stale);
					CU_ASSERT(st.changed);
					CU_ASSERT(s.doc.version > 7 || r == HW_ROW_NONE);
					CU_ASSERT_EQUAL(s.doc.updated_at, now);
					CU_ASSERT_EQUAL(s.doc.epoch, epoch);
					CU_ASSERT_EQUAL(st.transition, want != r);
					hw_row_split(r, &from_state, &c);
					hw_row_split(want, &to_state, &c);
					CU_ASSERT(hw_state_cause_ok(s.doc.state, s.doc.cause));
					/* alerts: a change of state into stalled, lost, crashed or failed */
					CU_ASSERT_EQUAL(st.alert, from_state != to_state && is_alert_state(to_state));
					/* recovered: from stalled or lost back to a live state */
					CU_ASSERT_EQUAL(st.recovered,
							(from_state == HW_STATE_STALLED || from_state == HW_STATE_LOST) &&
									hw_state_live(to_state));
					CU_ASSERT_EQUAL(st.false_alarm,
							st.recovered && rel == HW_REL_SAME &&
									(r == HW_ROW_STALLED_MISSED || r == HW_ROW_LOST_TIMEOUT));
					CU_ASSERT_EQUAL(st.flap, st.recovered && rel == HW_REL_NEWER);
					if(from_state != to_state) CU_ASSERT_EQUAL(s.doc.state_since, now);
					if(to_state == HW_STATE_CRASHED || to_state == HW_STATE_COMPLETED){
						CU_ASSERT_EQUAL(s.doc.has_exit, i != HW_IN_EV_END);
						if(from_state != to_state) CU_ASSERT_EQUAL(s.doc.ended_at, now);
					}
					if(hw_state_live(to_state) || to_state == HW_STATE_STALLED){
						CU_ASSERT(s.doc.deadline_at > 0);
					}else{
						CU_ASSERT_EQUAL(s.doc.deadline_at, 0);
					}
				}
				hw_sess_cleanup(&s);
			}
		}
	}
	/* 18 rows x 12 inputs x 3 relations minus the unreachable, plus the timer column */
	CU_ASSERT(cells > 500);
}

/* ------------------------------------------------------------------ focused behaviours */

static void TEST_duplicates_and_reorders_are_ignored(void)
{
	hw_sess_t s;
	hw_step_t st;
	hw_hb_t hb = HW_HB_INIT;

	sess_in_row(&s, HW_ROW_ACTIVE);
	snprintf(hb.session, sizeof(hb.session), "s-1");
	hb.epoch = 5;
	hb.interval_ms = 1000;
	hb.state = HW_STATE_IDLE;
	for(int64_t seq = 0; seq <= 10; seq++){
		hb.seq = seq;
		hw_sess_hb(&s, &hb, T0 + 1, &st);
		CU_ASSERT(st.stale);
		CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
		CU_ASSERT_EQUAL(s.doc.last_hb_at, T0);
	}
	hb.seq = 11;
	hw_sess_hb(&s, &hb, T0 + 2, &st);
	CU_ASSERT(!st.stale);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_IDLE);
	CU_ASSERT_EQUAL(s.doc.last_hb_at, T0 + 2);
	/* the same heartbeat again is a duplicate */
	hb.state = HW_STATE_ACTIVE;
	hw_sess_hb(&s, &hb, T0 + 3, &st);
	CU_ASSERT(st.stale);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_IDLE);
	hw_sess_cleanup(&s);
}

static void TEST_stale_will_leaves_live_session_alone(void)
{
	hw_sess_t s;
	hw_step_t st;
	hw_status_t will = HW_STATUS_INIT;

	sess_in_row(&s, HW_ROW_ACTIVE);
	snprintf(will.session, sizeof(will.session), "s-1");
	will.status = HW_STATUS_LOST;
	will.epoch = 4;
	hw_sess_status(&s, &will, T0 + 1, &st);
	CU_ASSERT(st.stale);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
	CU_ASSERT_EQUAL(s.doc.version, 7);
	will.epoch = 5;
	hw_sess_status(&s, &will, T0 + 2, &st);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_LOST_WILL);
	CU_ASSERT(st.alert);
	CU_ASSERT(st.barrier);
	CU_ASSERT_EQUAL(s.doc.state_since, T0 + 2);
	hw_sess_cleanup(&s);
}

static void TEST_deadlines_follow_grace(void)
{
	hw_sess_t s;
	hw_step_t st;
	hw_hb_t hb = HW_HB_INIT;

	sess_in_row(&s, HW_ROW_ACTIVE);
	snprintf(hb.session, sizeof(hb.session), "s-1");
	hb.epoch = 5;
	hb.seq = 11;
	hb.interval_ms = 200;
	hw_sess_hb(&s, &hb, T0 + 50, &st);
	CU_ASSERT_EQUAL(hw_sess_grace(&s), 600);
	CU_ASSERT_EQUAL(s.doc.deadline_at, T0 + 50 + 600);
	hb.seq = 12;
	hb.grace_ms = 1000;
	hw_sess_hb(&s, &hb, T0 + 100, &st);
	CU_ASSERT_EQUAL(s.doc.deadline_at, T0 + 1100);
	hw_sess_timer(&s, T0 + 1100, &st);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_STALLED_MISSED);
	CU_ASSERT(st.alert);
	CU_ASSERT_EQUAL(s.doc.deadline_at, T0 + 2100);
	hw_sess_timer(&s, T0 + 2100, &st);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_LOST_TIMEOUT);
	CU_ASSERT(st.alert);
	CU_ASSERT_EQUAL(s.doc.deadline_at, 0);
	/* a heartbeat of the same epoch brings it back: a false alarm */
	hb.seq = 13;
	hw_sess_hb(&s, &hb, T0 + 2200, &st);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
	CU_ASSERT(st.recovered && st.false_alarm && !st.flap);
	CU_ASSERT_EQUAL(s.doc.deadline_at, T0 + 3200);
	hw_sess_cleanup(&s);
}

static void TEST_birth_after_heartbeat_merges_metadata(void)
{
	hw_sess_t s;
	hw_step_t st;
	hw_hb_t hb = HW_HB_INIT;
	hw_birth_t b = HW_BIRTH_INIT;
	char *argv[] = {"claude", "-p", "go"};
	hw_error_t err;

	hw_sess_init(&s, "s-1", "m-1");
	snprintf(hb.session, sizeof(hb.session), "s-1");
	hb.epoch = 9;
	hb.seq = 3;
	hb.interval_ms = 1000;
	snprintf(hb.task, sizeof(hb.task), "newer task");
	hw_sess_hb(&s, &hb, T0, &st);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
	CU_ASSERT(st.need_birth);
	snprintf(b.session, sizeof(b.session), "s-1");
	snprintf(b.machine, sizeof(b.machine), "m-1");
	snprintf(b.project, sizeof(b.project), "acme");
	snprintf(b.task, sizeof(b.task), "older task");
	snprintf(b.claude_sid, sizeof(b.claude_sid), "sid-1");
	b.epoch = 9;
	b.seq = 0;
	b.interval_ms = 5000;
	b.pid = 42;
	b.run = 2;
	b.argv = argv;
	b.argc = 3;
	CU_ASSERT_EQUAL(hw_sess_birth(&s, &b, T0 + 5, &st, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
	CU_ASSERT(!st.need_birth);
	CU_ASSERT_STRING_EQUAL(s.doc.project, "acme");
	CU_ASSERT_STRING_EQUAL(hw_session_task(&s.doc), "newer task");
	CU_ASSERT_EQUAL(s.doc.interval_ms, 1000);
	CU_ASSERT_EQUAL(s.doc.pid, 42);
	CU_ASSERT_EQUAL(s.doc.run, 2);
	CU_ASSERT_EQUAL(s.doc.argc, 3);
	CU_ASSERT_STRING_EQUAL(s.doc.argv[2], "go");
	CU_ASSERT_STRING_EQUAL(s.doc.claude.sid, "sid-1");
	CU_ASSERT_EQUAL(s.doc.claude.chain_len, 1);
	/* the same birth again merges nothing more */
	CU_ASSERT_EQUAL(hw_sess_birth(&s, &b, T0 + 6, &st, &err), HW_OK);
	CU_ASSERT(st.stale);
	hw_sess_cleanup(&s);
}

static void TEST_claude_sid_chain(void)
{
	hw_sess_t s;
	hw_step_t st;
	hw_ev_t ev = HW_EV_INIT;
	hw_error_t err;

	sess_in_row(&s, HW_ROW_ACTIVE);
	snprintf(ev.session, sizeof(ev.session), "s-1");
	ev.epoch = 5;
	ev.type = HW_EV_CLAUDE_SID;
	for(int i = 0; i < HW_CHAIN_MAX + 10; i++){
		ev.seq = 11 + i;
		ev.sid_source = HW_SID_COMPACT;
		snprintf(ev.claude_sid, sizeof(ev.claude_sid), "sid-%d", i);
		CU_ASSERT_EQUAL(hw_sess_ev(&s, &ev, T0 + i, &st, &err), HW_OK);
		CU_ASSERT(st.changed);
		CU_ASSERT_EQUAL(hw_sess_row(&s), HW_ROW_ACTIVE);
	}
	CU_ASSERT_EQUAL(s.doc.claude.chain_len, HW_CHAIN_MAX);
	CU_ASSERT_STRING_EQUAL(s.doc.claude.sid, "sid-265");
	CU_ASSERT_STRING_EQUAL(s.doc.claude.chain[HW_CHAIN_MAX - 1].sid, "sid-265");
	CU_ASSERT_STRING_EQUAL(s.doc.claude.chain[0].sid, "sid-10");
	/* an older event does not rewrite it */
	ev.seq = 12;
	snprintf(ev.claude_sid, sizeof(ev.claude_sid), "old");
	CU_ASSERT_EQUAL(hw_sess_ev(&s, &ev, T0, &st, &err), HW_OK);
	CU_ASSERT(st.stale);
	CU_ASSERT_STRING_EQUAL(s.doc.claude.sid, "sid-265");
	hw_sess_cleanup(&s);
}

/* ------------------------------------------------------------------ property test */

typedef struct pmsg {
	int kind; /* 0 birth, 1 hb, 2 ev, 3 status */
	int64_t epoch, seq;
	int state, cause; /* hb */
	int ev_type;      /* ev */
	hw_exit_t exit;   /* ev exit / status ended */
	int status;       /* status */
	bool has_exit;
} pmsg_t;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void papply(hw_sess_t *s, const pmsg_t *m, int64_t now)
{
	hw_step_t st;
	hw_error_t err;

	switch(m->kind){
	case 0: {
		hw_birth_t b = HW_BIRTH_INIT;
		snprintf(b.session, sizeof(b.session), "s-1");
		snprintf(b.machine, sizeof(b.machine), "m-1");
		b.epoch = m->epoch;
		b.seq = m->seq;
		b.interval_ms = 1000;
		hw_sess_birth(s, &b, now, &st, &err);
		break;
	}
	case 1: {
		hw_hb_t hb = HW_HB_INIT;
		hb.epoch = m->epoch;
		hb.seq = m->seq;
		hb.interval_ms = 1000;
		hb.state = m->state;
		hb.cause = m->cause;
		hw_sess_hb(s, &hb, now, &st);
		break;
	}
	case 2: {
		hw_ev_t ev = HW_EV_INIT;
		ev.epoch = m->epoch;
		ev.seq = m->seq;
		ev.type = m->ev_type;
		ev.exit = m->exit;
		if(ev.type == HW_EV_TASK) snprintf(ev.text, sizeof(ev.text), "t%lld", (long long)m->seq);
		hw_sess_ev(s, &ev, now, &st, &err);
		break;
	}
	default: {
		hw_status_t stt = HW_STATUS_INIT;
		stt.status = m->status;
		stt.epoch = m->epoch;
		stt.has_exit = m->has_exit;
		stt.exit = m->exit;
		hw_sess_status(s, &stt, now, &st);
		break;
	}
	}
}

/* Generates one session's messages in protocol order: 1-3 epochs, each an optional online
 * status, a birth, heartbeats and events, and an ending (none, exit [+ ended], will, end
 * [+ exit] [+ ended], exit + will, end + will). Returns the count. */
static int pgen(pmsg_t *out, int max)
{
	int n = 0, epochs = 1 + (int)rnd(3);
	int64_t epoch = (int64_t)rnd(4);

	for(int e = 0; e < epochs; e++){
		int64_t seq = 0;
		int k = (int)rnd(9), ending = (int)rnd(7);
		hw_exit_t ex = HW_EXIT_INIT;
		epoch += 1 + (int64_t)rnd(3);
		if(rnd(2)) out[n++] = (pmsg_t){.kind = 3, .epoch = epoch, .status = HW_STATUS_ONLINE};
		out[n++] = (pmsg_t){.kind = 0, .epoch = epoch, .seq = seq++};
		for(int i = 0; i < k && n < max - 6; i++){
			uint32_t what = rnd(6);
			if(what <= 2){
				static const int states[][2] = {{HW_STATE_ACTIVE, HW_CAUSE_NONE}, {HW_STATE_IDLE, HW_CAUSE_NONE},
						{HW_STATE_STALLED, HW_CAUSE_NO_PROGRESS},
						{HW_STATE_STALLED, HW_CAUSE_CHILD_STOPPED}};
				uint32_t j = rnd(4);
				out[n++] = (pmsg_t){.kind = 1,
						.epoch = epoch,
						.seq = seq++,
						.state = states[j][0],
						.cause = states[j][1]};
			}else if(what == 3){
				out[n++] = (pmsg_t){.kind = 2,
						.epoch = epoch,
						.seq = seq++,
						.ev_type = HW_EV_IDLE,
						.exit = HW_EXIT_INIT};
			}else{
				out[n++] = (pmsg_t){.kind = 2,
						.epoch = epoch,
						.seq = seq++,
						.ev_type = what == 4 ? HW_EV_TASK : HW_EV_HOOK,
						.exit = HW_EXIT_INIT};
			}
		}
		switch(rnd(3)){
		case 0:
			ex.code = 0;
			break;
		case 1:
			ex.code = 1 + (int)rnd(200);
			break;
		default:
			ex.signal = 1 + (int)rnd(30);
			break;
		}
		switch(ending){
		case 0:
			break;
		case 1: /* exit, ended */
			out[n++] = (pmsg_t){.kind = 2, .epoch = epoch, .seq = seq++, .ev_type = HW_EV_EXIT, .exit = ex};
			if(rnd(2))
				out[n++] = (pmsg_t){.kind = 3,
						.epoch = epoch,
						.status = HW_STATUS_ENDED,
						.has_exit = true,
						.exit = ex};
			break;
		case 2: /* will */
			out[n++] = (pmsg_t){.kind = 3, .epoch = epoch, .status = HW_STATUS_LOST, .exit = HW_EXIT_INIT};
			break;
		case 3: /* end, exit, ended */
			out[n++] = (pmsg_t){.kind = 2, .epoch = epoch, .seq = seq++, .ev_type = HW_EV_END, .exit = HW_EXIT_INIT};
			if(rnd(2))
				out[n++] = (pmsg_t){.kind = 2, .epoch = epoch, .seq = seq++, .ev_type = HW_EV_EXIT, .exit = ex};
			if(rnd(2))
				out[n++] = (pmsg_t){.kind = 3,
						.epoch = epoch,
						.status = HW_STATUS_ENDED,
						.has_exit = true,
						.exit = ex};
			break;
		case 4: /* exit, then the agent is killed: will */
			out[n++] = (pmsg_t){.kind = 2, .epoch = epoch, .seq = seq++, .ev_type = HW_EV_EXIT, .exit = ex};
			out[n++] = (pmsg_t){.kind = 3, .epoch = epoch, .status = HW_STATUS_LOST, .exit = HW_EXIT_INIT};
			break;
		case 5: /* end, will */
			out[n++] = (pmsg_t){.kind = 2, .epoch = epoch, .seq = seq++, .ev_type = HW_EV_END, .exit = HW_EXIT_INIT};
			out[n++] = (pmsg_t){.kind = 3, .epoch = epoch, .status = HW_STATUS_LOST, .exit = HW_EXIT_INIT};
			break;
		default: /* ended status without an exit event */
			out[n++] = (pmsg_t){.kind = 3, .epoch = epoch, .status = HW_STATUS_ENDED, .has_exit = true, .exit = ex};
			break;
		}
	}
	return n;
}

static void TEST_property_random_interleavings(void)
{
	enum { RUNS = 100000, MAXM = 64 };
	int mismatches = 0;

	for(int run = 0; run < RUNS; run++){
		pmsg_t seqd[MAXM], mixed[MAXM * 2];
		int n = pgen(seqd, MAXM), m = 0;
		hw_sess_t a, b;

		/* the sequential model: protocol order */
		hw_sess_init(&a, "s-1", "m-1");
		for(int i = 0; i < n; i++) papply(&a, &seqd[i], T0 + i);
		/* a random interleaving with duplicates */
		for(int i = 0; i < n; i++) mixed[m++] = seqd[i];
		for(int d = (int)rnd(5); d > 0; d--) mixed[m++] = seqd[rnd((uint32_t)n)];
		for(int i = m - 1; i > 0; i--){
			int j = (int)rnd((uint32_t)i + 1);
			pmsg_t t = mixed[i];
			mixed[i] = mixed[j];
			mixed[j] = t;
		}
		hw_sess_init(&b, "s-1", "m-1");
		for(int i = 0; i < m; i++) papply(&b, &mixed[i], T0 + i);
		if(a.doc.state != b.doc.state || a.doc.cause != b.doc.cause || a.doc.epoch != b.doc.epoch ||
				a.doc.has_exit != b.doc.has_exit || a.doc.exit.code != b.doc.exit.code ||
				a.doc.exit.signal != b.doc.exit.signal){
			if(mismatches++ < 5){
				fprintf(stderr, "run %d: sequential %s/%s epoch %lld, interleaved %s/%s epoch %lld\n", run,
						hw_state_name(a.doc.state), hw_cause_name(a.doc.cause), (long long)a.doc.epoch,
						hw_state_name(b.doc.state), hw_cause_name(b.doc.cause), (long long)b.doc.epoch);
				for(int i = 0; i < m; i++){
					fprintf(stderr, "  kind %d epoch %lld seq %lld ev %d status %d\n", mixed[i].kind,
							(long long)mixed[i].epoch, (long long)mixed[i].seq, mixed[i].ev_type,
							mixed[i].status);
				}
			}
		}
		hw_sess_cleanup(&a);
		hw_sess_cleanup(&b);
	}
	CU_ASSERT_EQUAL(mismatches, 0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_docs_table_equals_code_table),
		HWTEST(TEST_table_invariants),
		HWTEST(TEST_every_cell_applies_as_documented),
		HWTEST(TEST_duplicates_and_reorders_are_ignored),
		HWTEST(TEST_stale_will_leaves_live_session_alone),
		HWTEST(TEST_deadlines_follow_grace),
		HWTEST(TEST_birth_after_heartbeat_merges_metadata),
		HWTEST(TEST_claude_sid_chain),
		HWTEST(TEST_property_random_interleavings),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("collector_fsm", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
