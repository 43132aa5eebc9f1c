/* test_cli_format.c: the heartwire CLI's pure parts: reading reply data (cli/jsonscan.c), times,
 * state lists and repeatable options (cli/args.c), event and command lines (cli/format.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "format.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "hwtest.h"
#include "jsonscan.h"

static void TEST_jsonscan_members_paths_arrays(void)
{
	const char *text = "{\"a\":1,\"s\":\"x\\\"y\",\"o\":{\"b\":[1,{\"c\":\"}\"},3],\"n\":null},\"arr\":[],\"t\":true,"
			   "\"neg\":-42,\"d\":1.5}";
	hw_js_t v = hw_js_of(text), m, e;
	char buf[64];
	int64_t x;
	size_t pos = 0;
	int n = 0;

	CU_ASSERT(hw_js_member(v, "a", &m) && hw_js_int(m, &x) && x == 1);
	CU_ASSERT(hw_js_member(v, "s", &m) && hw_js_string(m, buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "x\"y");
	CU_ASSERT(hw_js_path(v, "o.b", &m));
	while(hw_js_next(m, &pos, &e)) n++;
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT(hw_js_path(v, "o.n", &m) && hw_js_null(m));
	CU_ASSERT(!hw_js_member(v, "missing", &m));
	CU_ASSERT(!hw_js_path(v, "o.b.c", &m)); /* an array is not an object */
	pos = 0;
	CU_ASSERT(hw_js_member(v, "arr", &m) && !hw_js_next(m, &pos, &e));
	CU_ASSERT(hw_js_member(v, "t", &m) && hw_js_true(m));
	CU_ASSERT_EQUAL(hw_js_int_member(v, "neg", 0), -42);
	CU_ASSERT_EQUAL(hw_js_int_member(v, "d", 7), 7); /* a double is not an integer */
	CU_ASSERT_EQUAL(hw_js_int_member(v, "s", 7), 7);
	CU_ASSERT_STRING_EQUAL(hw_js_str_member(v, "a", buf, sizeof(buf)), "");
	/* a key inside a string value is not a member */
	CU_ASSERT(!hw_js_member(hw_js_of("{\"x\":\"\\\"a\\\":1\"}"), "a", &m));
	CU_ASSERT(!hw_js_member(hw_js_of("[1,2]"), "a", &m));
}

static void TEST_jsonscan_string_escapes(void)
{
	char buf[64];

	CU_ASSERT(hw_js_string(hw_js_of("\"tab\\there\\nnl \\/ \\\\\""), buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "tab\there\nnl / \\");
	CU_ASSERT(hw_js_string(hw_js_of("\"\\u00e9\\u20ac\\ud83d\\ude00\""), buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	CU_ASSERT(hw_js_string(hw_js_of("\"h\xc3\xa9llo\""), buf, 4)); /* cut at a character boundary */
	CU_ASSERT_STRING_EQUAL(buf, "h\xc3\xa9");
	CU_ASSERT(!hw_js_string(hw_js_of("12"), buf, sizeof(buf)));
	CU_ASSERT_STRING_EQUAL(buf, "");
}

static void TEST_times(void)
{
	int64_t t, now = 1763712000000LL;
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_cli_parse_time("2025-11-21T08:00:00Z", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, 1763712000000LL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("2025-11-21T08:00:00.123Z", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, 1763712000123LL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("2025-11-21T10:00+02:00", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, 1763712000000LL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("1970-01-01T00:00:00Z", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, 0);
	CU_ASSERT_EQUAL(hw_cli_parse_time("10m", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, now - 600000);
	CU_ASSERT_EQUAL(hw_cli_parse_time("2h", now, true, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, now + 7200000);
	CU_ASSERT_EQUAL(hw_cli_parse_time("1d", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, now - 86400000);
	CU_ASSERT_EQUAL(hw_cli_parse_time("500ms", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, now - 500);
	CU_ASSERT_EQUAL(hw_cli_parse_time("1763712000123", now, false, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t, 1763712000123LL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("yesterday", now, false, &t, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ISO 8601"));
	CU_ASSERT_EQUAL(hw_cli_parse_time("10 m", now, false, &t, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("-5m", now, false, &t, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("2025-13-01T00:00Z", now, false, &t, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cli_parse_time("2025-11-21T08:00:00", now, false, &t, &err), HW_ERR_INVAL); /* no zone */
	CU_ASSERT_EQUAL(hw_cli_parse_time("", now, false, &t, &err), HW_ERR_INVAL);
}

static void TEST_states_and_repeated_options(void)
{
	unsigned mask = 0;
	hw_error_t err;
	char joined[128];
	char a0[] = "heartwire", a1[] = "ls", a2[] = "--state", a3[] = "lost", a4[] = "--json", a5[] = "--state=crashed,stalled",
	     a6[] = "--", a7[] = "--state";
	char *argv[] = {a0, a1, a2, a3, a4, a5, a6, a7, NULL};
	int argc = 8;

	CU_ASSERT_EQUAL(hw_cli_parse_states("stalled,lost", &mask, &err), HW_OK);
	CU_ASSERT_EQUAL(mask, (1u << HW_STATE_STALLED) | (1u << HW_STATE_LOST));
	CU_ASSERT_EQUAL(hw_cli_parse_states("crashed", &mask, &err), HW_OK);
	CU_ASSERT(mask & (1u << HW_STATE_CRASHED));
	CU_ASSERT_EQUAL(hw_cli_parse_states("active,sleeping", &mask, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "sleeping"));
	CU_ASSERT_EQUAL(hw_cli_parse_states("none", &mask, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_cli_parse_states("a,,b", &mask, &err), HW_ERR_INVAL);

	CU_ASSERT_EQUAL(hw_cli_take_repeated(&argc, argv, "state", joined, sizeof(joined), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(joined, "lost,crashed,stalled");
	CU_ASSERT_EQUAL(argc, 5); /* heartwire ls --json -- --state (after "--" nothing is taken) */
	CU_ASSERT_STRING_EQUAL(argv[2], "--json");
	CU_ASSERT_STRING_EQUAL(argv[3], "--");
	CU_ASSERT_STRING_EQUAL(argv[4], "--state");
	CU_ASSERT_PTR_NULL(argv[5]);
	{
		char b0[] = "heartwire", b1[] = "--state";
		char *bv[] = {b0, b1, NULL};
		int bc = 2;
		CU_ASSERT_EQUAL(hw_cli_take_repeated(&bc, bv, "state", joined, sizeof(joined), &err), HW_ERR_INVAL);
	}
}

static void TEST_event_lines(void)
{
	char buf[512];

	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"id\":\"x\",\"kind\":\"transition\",\"from\":{\"state\":\"active\","
							  "\"cause\":\"none\"},\"to\":{\"state\":\"stalled\",\"cause\":\"missed_"
							  "heartbeats\"},\"input\":\"timer\",\"at\":1}"),
					       buf, sizeof(buf)),
			"active/none -> stalled/missed_heartbeats (timer)");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"agent\",\"type\":\"exit\",\"exit\":{\"code\":3,"
							  "\"signal\":null}}"),
					       buf, sizeof(buf)),
			"exit code 3");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"agent\",\"type\":\"exit\",\"exit\":{\"code\":null,"
							  "\"signal\":9}}"),
					       buf, sizeof(buf)),
			"exit signal 9");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"agent\",\"type\":\"claude_sid\",\"claude_sid\":\"abc\","
							  "\"source\":\"compact\"}"),
					       buf, sizeof(buf)),
			"claude_sid abc (compact)");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"agent\",\"type\":\"task\",\"text\":\"#118 login\"}"), buf,
					       sizeof(buf)),
			"task: #118 login");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"command\",\"cmd\":\"fail\",\"reason\":\"gave up\","
							  "\"from\":{\"state\":\"crashed\",\"cause\":\"exit_code\"},\"to\":{"
							  "\"state\":\"failed\",\"cause\":\"operator\"}}"),
					       buf, sizeof(buf)),
			"fail: crashed/exit_code -> failed/operator: gave up");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"command\",\"cmd\":\"claim\",\"claimant\":\"b-9\","
							  "\"generation\":2}"),
					       buf, sizeof(buf)),
			"claim by b-9 (generation 2)");
	CU_ASSERT_STRING_EQUAL(hw_cli_event_text(hw_js_of("{\"kind\":\"command\",\"cmd\":\"pause\",\"project\":\"web\","
							  "\"paused\":true,\"reason\":\"rate\"}"),
					       buf, sizeof(buf)),
			"pause web: rate");
}

static void TEST_command_lines(void)
{
	char buf[512];

	CU_ASSERT_STRING_EQUAL(hw_cli_command_text(HW_VERB_FAIL,
					       hw_js_of("{\"session\":\"s-43\",\"state\":\"failed\","
							"\"cause\":\"operator\",\"from\":\"crashed\",\"from_cause\":\"exit_"
							"code\",\"changed\":true}"),
					       buf, sizeof(buf)),
			"s-43: crashed/exit_code -> failed/operator");
	CU_ASSERT_STRING_EQUAL(hw_cli_command_text(HW_VERB_CLEAR,
					       hw_js_of("{\"session\":\"s-43\",\"state\":\"cleared\","
							"\"cause\":\"operator\",\"changed\":false}"),
					       buf, sizeof(buf)),
			"s-43: already cleared/operator (nothing changed)");
	CU_ASSERT_STRING_EQUAL(hw_cli_command_text(HW_VERB_CLAIM,
					       hw_js_of("{\"session\":\"s-43\",\"token\":\"g2-ab\","
							"\"generation\":2,\"lease_until\":1763712000000,\"claimed_by\":\"b-9\"}"),
					       buf, sizeof(buf)),
			"s-43: claimed by b-9 until 2025-11-21T08:00:00.000Z (generation 2), token g2-ab");
	CU_ASSERT_STRING_EQUAL(hw_cli_command_text(HW_VERB_RELEASE,
					       hw_js_of("{\"session\":\"s-43\",\"generation\":2,"
							"\"state\":\"cleared\",\"cause\":\"operator\"}"),
					       buf, sizeof(buf)),
			"s-43: released (generation 2); now cleared/operator");
	CU_ASSERT_STRING_EQUAL(
			hw_cli_command_text(HW_VERB_PAUSE,
					hw_js_of("{\"scope\":\"global\",\"pause\":{\"v\":1,"
						 "\"paused\":true,\"reason\":\"rate limit\",\"resume_at\":1763712000000}}"),
					buf, sizeof(buf)),
			"paused everything until 2025-11-21T08:00:00.000Z: rate limit");
	CU_ASSERT_STRING_EQUAL(hw_cli_command_text(HW_VERB_UNPAUSE,
					       hw_js_of("{\"scope\":\"project\",\"project\":\"web\","
							"\"pause\":{\"v\":1,\"paused\":false,\"resume_at\":null}}"),
					       buf, sizeof(buf)),
			"unpaused project web");
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_jsonscan_members_paths_arrays),
		HWTEST(TEST_jsonscan_string_escapes),
		HWTEST(TEST_times),
		HWTEST(TEST_states_and_repeated_options),
		HWTEST(TEST_event_lines),
		HWTEST(TEST_command_lines),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	hwtest_suite("cli_format", NULL, NULL, cases);
	return hwtest_run();
}
