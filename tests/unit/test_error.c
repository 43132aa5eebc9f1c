/* test_error.c: unit tests of the error model: every return code and refusal reason has a
 * distinct name, and hw_error_t is filled as documented. */
#include <string.h>

#include "heartwire/error.h"
#include "hwtest.h"

static void TEST_every_rc_has_a_distinct_sentence(void)
{
	for(int a = 0; a < HW_ERR__COUNT; a++){
		CU_ASSERT_PTR_NOT_NULL_FATAL(hw_strerror(a));
		CU_ASSERT_STRING_NOT_EQUAL(hw_strerror(a), "unknown error");
		CU_ASSERT(strlen(hw_strerror(a)) > 0);
		for(int b = a + 1; b < HW_ERR__COUNT; b++) CU_ASSERT_STRING_NOT_EQUAL(hw_strerror(a), hw_strerror(b));
	}
	CU_ASSERT_STRING_EQUAL(hw_strerror(HW_OK), "success");
	CU_ASSERT_STRING_EQUAL(hw_strerror(-1), "unknown error");
	CU_ASSERT_STRING_EQUAL(hw_strerror(HW_ERR__COUNT), "unknown error");
}

/* Reason names are stable snake_case words used in counters and replies. */
static void TEST_every_reason_has_a_distinct_name(void)
{
	static const char *const want[HW_R__COUNT] = {"none", "empty", "too_large", "bad_utf8", "bad_json", "too_deep",
			"not_object", "bad_version", "missing_key", "wrong_type", "bad_key", "bad_id", "out_of_range",
			"bad_value", "too_many", "bad_root", "bad_topic", "wildcard", "empty_level", "mismatch"};

	for(int a = 0; a < HW_R__COUNT; a++){
		const char *n = hw_reason_name(a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(n);
		CU_ASSERT_STRING_EQUAL(n, want[a]);
		for(const char *p = n; *p; p++) CU_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_');
		for(int b = a + 1; b < HW_R__COUNT; b++) CU_ASSERT_STRING_NOT_EQUAL(n, hw_reason_name(b));
	}
	CU_ASSERT_STRING_EQUAL(hw_reason_name(-1), "unknown");
	CU_ASSERT_STRING_EQUAL(hw_reason_name(HW_R__COUNT), "unknown");
}

static void TEST_set_refuse_clear(void)
{
	hw_error_t err;
	char big[600];

	CU_ASSERT_EQUAL(hw_error_set(&err, HW_ERR_TIMEOUT, "waited %d ms for %s", 250, "CONNACK"), HW_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(err.code, HW_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(err.reason, HW_R_NONE);
	CU_ASSERT_STRING_EQUAL(err.msg, "waited 250 ms for CONNACK");

	CU_ASSERT_EQUAL(hw_error_refuse(&err, HW_R_TOO_DEEP, "depth %d", 9), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.code, HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_DEEP);
	CU_ASSERT_STRING_EQUAL(err.msg, "depth 9");

	/* a later plain error resets the reason */
	hw_error_set(&err, HW_ERR_IO, "x");
	CU_ASSERT_EQUAL(err.reason, HW_R_NONE);

	hw_error_clear(&err);
	CU_ASSERT_EQUAL(err.code, HW_OK);
	CU_ASSERT_EQUAL(err.reason, HW_R_NONE);
	CU_ASSERT_STRING_EQUAL(err.msg, "");

	/* NULL is allowed everywhere and the code still comes back */
	CU_ASSERT_EQUAL(hw_error_set(NULL, HW_ERR_NOMEM, "x"), HW_ERR_NOMEM);
	CU_ASSERT_EQUAL(hw_error_refuse(NULL, HW_R_EMPTY, "x"), HW_ERR_DECODE);
	hw_error_clear(NULL);

	/* long messages are cut, NUL-terminated, never overflow */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hw_error_set(&err, HW_ERR_INVAL, "%s", big);
	CU_ASSERT_EQUAL(strlen(err.msg), HW_ERROR_MSG_MAX - 1);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_every_rc_has_a_distinct_sentence),
		HWTEST(TEST_every_reason_has_a_distinct_name),
		HWTEST(TEST_set_refuse_clear),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("error", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
