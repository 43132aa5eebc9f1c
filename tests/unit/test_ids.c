/* test_ids.c: unit tests of identifier validation: the alphabet, the length limit, and
 * error messages that name the id, the bad character, its position and the rule. */
#include <stdio.h>
#include <string.h>

#include "heartwire/ids.h"
#include "hwtest.h"

#define ID64 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._"
#define ID65 ID64 "-"

typedef struct id_case {
	const char *id;
	int ok;
} id_case_t;

/* clang-format off */
static const id_case_t cases[] = {
	{"s-42", 1},
	{"build-07", 1},
	{"a", 1},
	{"A.b_c:d-e", 1},
	{"9b1c2d3e-0000-4000-8000-123456789abc", 1},
	{"...", 1},
	{"::", 1},
	{ID64, 1},
	{ID65, 0},
	{"", 0},
	{"a/b", 0},
	{"a+b", 0},
	{"a#b", 0},
	{"$set", 0},
	{"a b", 0},
	{"a\tb", 0},
	{"a\nb", 0},
	{"caf\xc3\xa9", 0},
	{"a,b", 0},
	{"a@b", 0},
	{"a\"b", 0},
	{"a'b", 0},
	{"a\\b", 0},
	{"a*b", 0},
	{"{x}", 0},
};
/* clang-format on */

static void TEST_valid_and_invalid_ids(void)
{
	hw_error_t err;

	CU_ASSERT_EQUAL(strlen(ID64), 64);
	CU_ASSERT_EQUAL(strlen(ID65), 65);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		int rc;
		hw_error_clear(&err);
		rc = hw_id_check("session id", cases[i].id, &err);
		if((rc == HW_OK) != cases[i].ok) fprintf(stderr, "\n  case %zu '%s': rc %d\n", i, cases[i].id, rc);
		CU_ASSERT_EQUAL(rc == HW_OK, cases[i].ok);
		if(!cases[i].ok){
			CU_ASSERT_EQUAL(rc, HW_ERR_INVAL);
			CU_ASSERT_EQUAL(err.code, HW_ERR_INVAL);
			CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "session id"));
			CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "A-Z a-z 0-9"));
		}
	}
}

/* Only A-Z a-z 0-9 . _ : - are allowed: checked for every byte value. */
static void TEST_char_table(void)
{
	for(int c = 0; c < 256; c++){
		int want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
				c == ':' || c == '-';
		CU_ASSERT_EQUAL(hw_id_char_ok((unsigned char)c), want);
	}
}

static void TEST_length_64_vs_65(void)
{
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_id_check("machine id", ID64, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_id_check("machine id", ID65, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "machine id"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "65 characters"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1-64"));
	CU_ASSERT_EQUAL(hw_id_check("machine id", "", &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "0 characters"));
	/* hw_id_check_n takes the length, not the NUL */
	CU_ASSERT_EQUAL(hw_id_check_n("id", ID65, 64, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_id_check_n("id", "ab/cd", 2, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_id_check_n("id", "ab\0cd", 5, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "byte 0x00 at position 2"));
}

typedef struct msg_case {
	const char *what;
	const char *id;
	const char *want;
} msg_case_t;

static void TEST_messages_name_id_char_and_position(void)
{
	/* clang-format off */
	static const msg_case_t m[] = {
		{"session id", "s/42", "session id 's/42' has '/' at position 1; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{"--machine", "build 07", "--machine 'build 07' has ' ' at position 5; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{"project id", "#acme", "project id '#acme' has '#' at position 0; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{"slot", "a\tb", "slot 'a\\x09b' has byte 0x09 at position 1; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{"slot", "it's", "slot 'it\\x27s' has ''' at position 2; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{NULL, "x y", "id 'x y' has ' ' at position 1; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
		{"session id", NULL, "session id is missing; allowed: 1-64 characters of A-Z a-z 0-9 . _ : -"},
	};
	/* clang-format on */
	hw_error_t err;

	for(size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++){
		CU_ASSERT_EQUAL(hw_id_check(m[i].what, m[i].id, &err), HW_ERR_INVAL);
		if(strcmp(err.msg, m[i].want) != 0) fprintf(stderr, "\n  got \"%s\"\n", err.msg);
		CU_ASSERT_STRING_EQUAL(err.msg, m[i].want);
		CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	}
	/* a very long bad id is cut in the message, which still says where the fault is */
	{
		char big[300];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CU_ASSERT_EQUAL(hw_id_check("session id", big, &err), HW_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "299 characters"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "..."));
	}
	/* a NULL err is fine */
	CU_ASSERT_EQUAL(hw_id_check("id", "a/b", NULL), HW_ERR_INVAL);
}

static void TEST_copy(void)
{
	char dst[HW_ID_MAX + 1];
	hw_error_t err;

	memset(dst, 'z', sizeof(dst));
	CU_ASSERT_EQUAL(hw_id_copy(dst, "id", ID64, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(dst, ID64);
	memcpy(dst, "keep", 5);
	CU_ASSERT_EQUAL(hw_id_copy(dst, "id", ID65, &err), HW_ERR_INVAL);
	CU_ASSERT_STRING_EQUAL(dst, "keep");
	CU_ASSERT_EQUAL(hw_id_copy(dst, "id", NULL, &err), HW_ERR_INVAL);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_valid_and_invalid_ids),
		HWTEST(TEST_char_table),
		HWTEST(TEST_length_64_vs_65),
		HWTEST(TEST_messages_name_id_char_and_position),
		HWTEST(TEST_copy),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("ids", NULL, NULL, tests) != 0) return 1;
	return hwtest_run();
}
