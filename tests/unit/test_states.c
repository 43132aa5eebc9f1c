/* test_states.c: unit tests of session states and causes: wire names, parsing, classes,
 * and which causes DESIGN.md allows for which state. */
#include <string.h>

#include "heartwire/states.h"
#include "hwtest.h"

static void TEST_state_names_round_trip(void)
{
	static const char *const want[HW_STATE__COUNT] = {"none", "starting", "active", "idle", "recovering", "stalled", "lost",
			"crashed", "completed", "failed", "cleared"};
	hw_error_t err;
	int s;

	for(int i = 0; i < HW_STATE__COUNT; i++){
		CU_ASSERT_STRING_EQUAL(hw_state_name(i), want[i]);
		for(int j = i + 1; j < HW_STATE__COUNT; j++) CU_ASSERT_STRING_NOT_EQUAL(hw_state_name(i), hw_state_name(j));
		if(i == HW_STATE_NONE) continue;
		s = -1;
		CU_ASSERT_EQUAL(hw_state_parse(hw_state_name(i), &s, &err), HW_OK);
		CU_ASSERT_EQUAL(s, i);
	}
	CU_ASSERT_STRING_EQUAL(hw_state_name(-1), "unknown");
	CU_ASSERT_STRING_EQUAL(hw_state_name(HW_STATE__COUNT), "unknown");
}

static void TEST_cause_names_round_trip(void)
{
	static const char *const want[HW_CAUSE__COUNT] = {"none", "missed_heartbeats", "no_progress", "child_stopped", "will",
			"timeout", "exit_code", "signal", "end", "operator", "not_resumable", "restart_limit"};
	hw_error_t err;
	int c;

	for(int i = 0; i < HW_CAUSE__COUNT; i++){
		CU_ASSERT_STRING_EQUAL(hw_cause_name(i), want[i]);
		for(int j = i + 1; j < HW_CAUSE__COUNT; j++) CU_ASSERT_STRING_NOT_EQUAL(hw_cause_name(i), hw_cause_name(j));
		c = -1;
		CU_ASSERT_EQUAL(hw_cause_parse(hw_cause_name(i), &c, &err), HW_OK);
		CU_ASSERT_EQUAL(c, i);
	}
	CU_ASSERT_STRING_EQUAL(hw_cause_name(-1), "unknown");
	CU_ASSERT_STRING_EQUAL(hw_cause_name(HW_CAUSE__COUNT), "unknown");
}

static void TEST_parse_refuses_unknown_names(void)
{
	static const char *const bad[] = {"", "Active", "ACTIVE", "active ", "unknown", "dead", "none"};
	hw_error_t err;
	int s = 77, c = 77;

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		CU_ASSERT_EQUAL(hw_state_parse(bad[i], &s, &err), HW_ERR_INVAL);
		CU_ASSERT_EQUAL(s, 77);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not one of"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stalled"));
	}
	CU_ASSERT_EQUAL(hw_state_parse("dead", &s, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'dead'"));
	CU_ASSERT_EQUAL(hw_state_parse(NULL, &s, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cause_parse("Will", &c, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(c, 77);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'Will'"));
	CU_ASSERT_EQUAL(hw_cause_parse(NULL, &c, &err), HW_ERR_INVAL);
}

/* Each state is in exactly the classes DESIGN.md puts it in; the three classes and NONE
 * partition the states. */
static void TEST_classes(void)
{
	static const struct {
		int state;
		bool terminal, recoverable, live;
	} t[] = {
			{HW_STATE_NONE, false, false, false},
			{HW_STATE_STARTING, false, false, true},
			{HW_STATE_ACTIVE, false, false, true},
			{HW_STATE_IDLE, false, false, true},
			{HW_STATE_RECOVERING, false, false, true},
			{HW_STATE_STALLED, false, true, false},
			{HW_STATE_LOST, false, true, false},
			{HW_STATE_CRASHED, false, true, false},
			{HW_STATE_COMPLETED, true, false, false},
			{HW_STATE_FAILED, true, false, false},
			{HW_STATE_CLEARED, false, true, false},
	};

	CU_ASSERT_EQUAL(sizeof(t) / sizeof(t[0]), HW_STATE__COUNT);
	for(size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++){
		CU_ASSERT_EQUAL(hw_state_terminal(t[i].state), t[i].terminal);
		CU_ASSERT_EQUAL(hw_state_recoverable(t[i].state), t[i].recoverable);
		CU_ASSERT_EQUAL(hw_state_live(t[i].state), t[i].live);
	}
	CU_ASSERT_FALSE(hw_state_terminal(-1));
	CU_ASSERT_FALSE(hw_state_live(HW_STATE__COUNT));
}

/* The whole state x cause matrix against DESIGN.md's table. */
static void TEST_cause_ok_table(void)
{
	/* clang-format off */
	static const int allowed[HW_STATE__COUNT][HW_CAUSE__COUNT] = {
		/*                    none mh np cs will to ec sig end op nr rl */
		[HW_STATE_NONE] =       {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_STARTING] =   {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_ACTIVE] =     {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_IDLE] =       {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_RECOVERING] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_STALLED] =    {0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		[HW_STATE_LOST] =       {0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0},
		[HW_STATE_CRASHED] =    {0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0},
		[HW_STATE_COMPLETED] =  {0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0},
		[HW_STATE_FAILED] =     {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1},
		[HW_STATE_CLEARED] =    {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
	};
	/* clang-format on */

	for(int s = 0; s < HW_STATE__COUNT; s++){
		for(int c = 0; c < HW_CAUSE__COUNT; c++) CU_ASSERT_EQUAL(hw_state_cause_ok(s, c), allowed[s][c] == 1);
		CU_ASSERT_FALSE(hw_state_cause_ok(s, -1));
		CU_ASSERT_FALSE(hw_state_cause_ok(s, HW_CAUSE__COUNT));
	}
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_state_names_round_trip),
		HWTEST(TEST_cause_names_round_trip),
		HWTEST(TEST_parse_refuses_unknown_names),
		HWTEST(TEST_classes),
		HWTEST(TEST_cause_ok_table),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("states", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
