/* test_topics.c: unit tests of the topic tree: every kind built and parsed back, filters,
 * roots, and malformed topics refused with their exact reason. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "heartwire/topics.h"
#include "hwtest.h"

typedef struct built_case {
	int kind;
	const char *machine;
	const char *id;
	const char *want;
} built_case_t;

/* Every kind of the tree, with the exact string it must build to under the default root. */
/* clang-format off */
static const built_case_t every_kind[] = {
	{HW_T_BIRTH, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/birth"},
	{HW_T_HB, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/hb"},
	{HW_T_EV, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/ev"},
	{HW_T_STATUS, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/status"},
	{HW_T_CMD, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/cmd"},
	{HW_T_STATE_SESSION, NULL, "s-42", "heartwire/v1/state/s/s-42"},
	{HW_T_STATE_PROJECT, NULL, "acme-web", "heartwire/v1/state/p/acme-web"},
	{HW_T_STATE_MACHINE, NULL, "build-07", "heartwire/v1/state/m/build-07"},
	{HW_T_STATE_SUMMARY, NULL, NULL, "heartwire/v1/state/summary"},
	{HW_T_STATE_PAUSE, NULL, NULL, "heartwire/v1/state/pause"},
	{HW_T_ALERT, NULL, "s-42", "heartwire/v1/alert/s/s-42"},
	{HW_T_COLLECTOR, NULL, "collector-a", "heartwire/v1/collector/collector-a"},
	{HW_T_QUERY, NULL, "sessions", "heartwire/v1/q/sessions"},
	{HW_T_COMMAND, NULL, "claim", "heartwire/v1/cmd/claim"},
	{HW_T_COLLECTOR_METRICS, NULL, "collector-a", "heartwire/v1/collector/collector-a/metrics"},
};
/* clang-format on */

static int kind_is_agent(int kind)
{
	return kind >= HW_T_BIRTH && kind <= HW_T_CMD;
}

static void TEST_every_kind_builds_its_exact_topic(void)
{
	char buf[HW_TOPIC_MAX];
	hw_error_t err;

	CU_ASSERT_EQUAL(sizeof(every_kind) / sizeof(every_kind[0]), HW_T__COUNT - 1);
	for(size_t i = 0; i < sizeof(every_kind) / sizeof(every_kind[0]); i++){
		const built_case_t *c = &every_kind[i];
		CU_ASSERT_EQUAL_FATAL(hw_topic_build(buf, sizeof(buf), NULL, c->kind, c->machine, c->id, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(buf, c->want);
	}
}

static void TEST_every_kind_parses_back(void)
{
	static const char *const roots[] = {"heartwire/v1", "acme/hw/v2", "x", NULL};
	char buf[HW_TOPIC_MAX];
	hw_topic_t t;
	hw_error_t err;

	for(size_t r = 0; r < sizeof(roots) / sizeof(roots[0]); r++){
		for(size_t i = 0; i < sizeof(every_kind) / sizeof(every_kind[0]); i++){
			const built_case_t *c = &every_kind[i];
			CU_ASSERT_EQUAL_FATAL(
					hw_topic_build(buf, sizeof(buf), roots[r], c->kind, c->machine, c->id, &err), HW_OK);
			CU_ASSERT_EQUAL_FATAL(hw_topic_parse(roots[r], buf, strlen(buf), &t, &err), HW_OK);
			CU_ASSERT_EQUAL(t.kind, c->kind);
			CU_ASSERT_STRING_EQUAL(t.machine, kind_is_agent(c->kind) ? c->machine : "");
			CU_ASSERT_STRING_EQUAL(t.id, c->id ? c->id : "");
		}
	}
}

static void TEST_parse_uses_length_not_nul(void)
{
	const char *s = "heartwire/v1/m/b1/s/s1/hbXXXX";
	hw_topic_t t;
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_topic_parse(NULL, s, strlen(s) - 4, &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t.kind, HW_T_HB);
	CU_ASSERT_STRING_EQUAL(t.machine, "b1");
	CU_ASSERT_STRING_EQUAL(t.id, "s1");
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, s, strlen(s), &t, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_TOPIC);
}

static void TEST_longest_ids_and_root(void)
{
	char root[HW_TOPIC_ROOT_MAX + 1], id[HW_ID_MAX + 1], buf[HW_TOPIC_MAX];
	hw_topic_t t;
	hw_error_t err;

	memset(root, 'r', HW_TOPIC_ROOT_MAX);
	root[HW_TOPIC_ROOT_MAX] = '\0';
	memset(id, 'i', HW_ID_MAX);
	id[HW_ID_MAX] = '\0';
	CU_ASSERT_EQUAL_FATAL(hw_topic_build(buf, sizeof(buf), root, HW_T_STATUS, id, id, &err), HW_OK);
	CU_ASSERT(strlen(buf) < HW_TOPIC_MAX);
	CU_ASSERT_EQUAL_FATAL(hw_topic_parse(root, buf, strlen(buf), &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t.kind, HW_T_STATUS);
	CU_ASSERT_STRING_EQUAL(t.machine, id);
	CU_ASSERT_STRING_EQUAL(t.id, id);
}

typedef struct bad_case {
	const char *topic;
	size_t n; /* 0: strlen(topic) */
	int reason;
} bad_case_t;

#define ID65 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* clang-format off */
static const bad_case_t malformed[] = {
	/* bytes */
	{"heartwire/v1/m/b\0x/s/s1/hb", sizeof("heartwire/v1/m/b\0x/s/s1/hb") - 1, HW_R_BAD_UTF8},
	{"heartwire/v1/m/b1/s/s1/hb\0", sizeof("heartwire/v1/m/b1/s/s1/hb\0") - 1, HW_R_BAD_UTF8},
	{"heartwire/v1/m/b\xff/s/s1/hb", 0, HW_R_BAD_UTF8},
	{"heartwire/v1/m/b\xc3/s/s1/hb", 0, HW_R_BAD_UTF8},          /* truncated sequence */
	{"heartwire/v1/m/b\xc0\xaf/s/s1/hb", 0, HW_R_BAD_UTF8},      /* overlong '/' */
	{"heartwire/v1/m/b\xed\xa0\x80/s/s1/hb", 0, HW_R_BAD_UTF8},  /* surrogate */
	{"heartwire/v1/m/b1/s/s1/\xe2\x82", 0, HW_R_BAD_UTF8},       /* cut at the end */
	/* wildcards, in any level */
	{"heartwire/v1/m/+/s/s1/hb", 0, HW_R_WILDCARD},
	{"heartwire/v1/m/b1/s/s1/#", 0, HW_R_WILDCARD},
	{"heartwire/+/m/b1/s/s1/hb", 0, HW_R_WILDCARD},
	{"#", 0, HW_R_WILDCARD},
	{"heartwire/v1/m/b+1/s/s1/hb", 0, HW_R_WILDCARD},
	{"heartwire/v1/state/s/#", 0, HW_R_WILDCARD},
	{"heartwire/v1/q/+", 0, HW_R_WILDCARD},
	/* empty levels */
	{"heartwire/v1//m/b1/s/s1/hb", 0, HW_R_EMPTY_LEVEL},
	{"heartwire/v1/m/b1/s/s1/hb/", 0, HW_R_EMPTY_LEVEL},
	{"/heartwire/v1/m/b1/s/s1/hb", 0, HW_R_EMPTY_LEVEL},
	{"heartwire/v1/m//s/s1/hb", 0, HW_R_EMPTY_LEVEL},
	{"heartwire/v1/", 0, HW_R_EMPTY_LEVEL},
	{"/", 0, HW_R_EMPTY_LEVEL},
	/* root */
	{"heartwire/v2/m/b1/s/s1/hb", 0, HW_R_BAD_ROOT},
	{"heartwire/v10/m/b1/s/s1/hb", 0, HW_R_BAD_ROOT},
	{"heartwire", 0, HW_R_BAD_ROOT},
	{"$SYS/broker/uptime", 0, HW_R_BAD_ROOT},
	{"Heartwire/v1/m/b1/s/s1/hb", 0, HW_R_BAD_ROOT},
	{"m/b1/s/s1/hb", 0, HW_R_BAD_ROOT},
	/* shape */
	{"heartwire/v1", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/m/b1/s/s1", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/m/b1/s/s1/hb/x", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/m/b1/s/s1/heartbeat", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/m/b1/s/s1/HB", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/m/b1/x/s1/hb", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/M/b1/s/s1/hb", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/state/x/s1", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/state/s", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/state/s/s1/extra", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/state/summary/x", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/state", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/alert/p/acme", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/collector", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/collector/c1/stats", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/collector/c1/metrics/x", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/q", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/cmd/claim/x", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/unknown/x", 0, HW_R_BAD_TOPIC},
	{"heartwire/v1/a/b/c/d/e/f/g", 0, HW_R_BAD_TOPIC},
	/* ids */
	{"heartwire/v1/m/build 07/s/s1/hb", 0, HW_R_BAD_ID},
	{"heartwire/v1/m/b1/s/" ID65 "/hb", 0, HW_R_BAD_ID},
	{"heartwire/v1/m/" ID65 "/s/s1/hb", 0, HW_R_BAD_ID},
	{"heartwire/v1/m/b1/s/s$1/hb", 0, HW_R_BAD_ID},
	{"heartwire/v1/state/p/acm\xc3\xa9", 0, HW_R_BAD_ID},       /* valid UTF-8, not an id */
	{"heartwire/v1/q/ses sions", 0, HW_R_BAD_ID},
	{"heartwire/v1/collector/c@1", 0, HW_R_BAD_ID},
	{"heartwire/v1/collector/c@1/metrics", 0, HW_R_BAD_ID},
	{"heartwire/v1/alert/s/a\tb", 0, HW_R_BAD_ID},
	{"heartwire/v1/state/m/x\"y", 0, HW_R_BAD_ID},
	{"heartwire/v1/cmd/fail!", 0, HW_R_BAD_ID},
};
/* clang-format on */

static void TEST_malformed_topics_refused_with_exact_reason(void)
{
	hw_topic_t t;
	hw_error_t err;
	size_t count = sizeof(malformed) / sizeof(malformed[0]);

	CU_ASSERT(count >= 25);
	for(size_t i = 0; i < count; i++){
		const bad_case_t *c = &malformed[i];
		size_t n = c->n ? c->n : strlen(c->topic);
		int rc;

		memset(&t, 'x', sizeof(t));
		hw_error_clear(&err);
		rc = hw_topic_parse(NULL, c->topic, n, &t, &err);
		if(rc != HW_ERR_DECODE || err.reason != c->reason){
			fprintf(stderr, "\n  case %zu '%s': rc %d reason %s, want %s (%s)\n", i, c->topic, rc,
					hw_reason_name(err.reason), hw_reason_name(c->reason), err.msg);
		}
		CU_ASSERT_EQUAL(rc, HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.code, HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.reason, c->reason);
		CU_ASSERT(err.msg[0] != '\0');
		CU_ASSERT_EQUAL(t.kind, HW_T_UNKNOWN);
		CU_ASSERT_STRING_EQUAL(t.machine, "");
		CU_ASSERT_STRING_EQUAL(t.id, "");
	}
}

static void TEST_empty_and_too_long(void)
{
	char big[HW_TOPIC_MAX + 2];
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_topic_parse(NULL, "heartwire/v1/state/summary", 0, NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_EMPTY);
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, NULL, 10, NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_EMPTY);

	/* HW_TOPIC_MAX bytes is judged on its shape; one more is too large. */
	memcpy(big, "heartwire/v1/state/s/", 21);
	memset(big + 21, 'a', sizeof(big) - 21);
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, big, HW_TOPIC_MAX, NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, big, HW_TOPIC_MAX + 1, NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
}

static void TEST_bad_id_message_names_the_level(void)
{
	const char *s = "heartwire/v1/m/b1/s/s$1/hb";
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_topic_parse(NULL, s, strlen(s), NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "session id 's$1'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "position 1"));
	s = "heartwire/v1/state/p/a b";
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, s, strlen(s), NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "project id"));
}

static void TEST_custom_root_is_strict(void)
{
	const char *ok = "acme/hw/m/b1/s/s1/ev";
	const char *other = "heartwire/v1/m/b1/s/s1/ev";
	hw_topic_t t;
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_topic_parse("acme/hw", ok, strlen(ok), &t, &err), HW_OK);
	CU_ASSERT_EQUAL(t.kind, HW_T_EV);
	CU_ASSERT_EQUAL(hw_topic_parse("acme/hw", other, strlen(other), &t, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ROOT);
	/* a root that is a prefix of a level is not the root */
	CU_ASSERT_EQUAL(hw_topic_parse("acme/h", ok, strlen(ok), &t, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ROOT);
	/* an invalid root is the caller's error, not the topic's */
	CU_ASSERT_EQUAL(hw_topic_parse("acme/+", ok, strlen(ok), &t, &err), HW_ERR_INVAL);
}

typedef struct root_case {
	const char *root;
	int rc;
} root_case_t;

static void TEST_root_check(void)
{
	/* clang-format off */
	static const root_case_t cases[] = {
		{"heartwire/v1", HW_OK},
		{"a", HW_OK},
		{"acme.corp/hw-2/v_1", HW_OK},
		{"", HW_ERR_INVAL},
		{"/heartwire", HW_ERR_INVAL},
		{"heartwire/", HW_ERR_INVAL},
		{"heart//wire", HW_ERR_INVAL},
		{"heart wire", HW_ERR_INVAL},
		{"heart+wire", HW_ERR_INVAL},
		{"heartwire/#", HW_ERR_INVAL},
		{"$SYS", HW_ERR_INVAL},
		{"heart\twire", HW_ERR_INVAL},
		{"caf\xc3\xa9", HW_ERR_INVAL},
		{NULL, HW_ERR_INVAL},
	};
	/* clang-format on */
	char longest[HW_TOPIC_ROOT_MAX + 2];
	hw_error_t err;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		CU_ASSERT_EQUAL(hw_topic_root_check(cases[i].root, &err), cases[i].rc);
		if(cases[i].rc != HW_OK) CU_ASSERT(err.msg[0] != '\0');
	}
	memset(longest, 'r', sizeof(longest));
	longest[HW_TOPIC_ROOT_MAX] = '\0';
	CU_ASSERT_EQUAL(hw_topic_root_check(longest, &err), HW_OK);
	longest[HW_TOPIC_ROOT_MAX] = 'r';
	longest[HW_TOPIC_ROOT_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(hw_topic_root_check(longest, &err), HW_ERR_INVAL);
}

static void TEST_build_refuses_bad_input(void)
{
	char buf[HW_TOPIC_MAX], small[20];
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_HB, "b1", "s/1", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_HB, "b+", "s1", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "machine id"));
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_HB, NULL, "s1", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_STATE_SESSION, NULL, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_QUERY, NULL, "#", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T_UNKNOWN, "b1", "s1", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), NULL, HW_T__COUNT, "b1", "s1", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_topic_build(buf, sizeof(buf), "bad/+", HW_T_STATE_SUMMARY, NULL, NULL, &err), HW_ERR_INVAL);
	/* too small: the exact fit works, one byte less does not */
	CU_ASSERT_EQUAL(hw_topic_build(small, sizeof(small), "r", HW_T_STATE_SESSION, NULL, "abcdefghi", &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(small, "r/state/s/abcdefghi");
	CU_ASSERT_EQUAL(hw_topic_build(small, sizeof(small), "r", HW_T_STATE_SESSION, NULL, "abcdefghij", &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	CU_ASSERT_STRING_EQUAL(small, "");
}

static void TEST_filters(void)
{
	/* clang-format off */
	static const built_case_t cases[] = {
		{HW_T_HB, NULL, NULL, "heartwire/v1/m/+/s/+/hb"},
		{HW_T_BIRTH, NULL, NULL, "heartwire/v1/m/+/s/+/birth"},
		{HW_T_STATUS, "build-07", NULL, "heartwire/v1/m/build-07/s/+/status"},
		{HW_T_CMD, "build-07", "s-42", "heartwire/v1/m/build-07/s/s-42/cmd"},
		{HW_T_AGENT_ALL, NULL, NULL, "heartwire/v1/m/+/s/+/+"},
		{HW_T_AGENT_ALL, "build-07", NULL, "heartwire/v1/m/build-07/s/+/+"},
		{HW_T_STATE_SESSION, NULL, NULL, "heartwire/v1/state/s/+"},
		{HW_T_STATE_PROJECT, NULL, "acme", "heartwire/v1/state/p/acme"},
		{HW_T_STATE_SUMMARY, NULL, NULL, "heartwire/v1/state/summary"},
		{HW_T_ALERT, NULL, NULL, "heartwire/v1/alert/s/+"},
		{HW_T_COLLECTOR, NULL, NULL, "heartwire/v1/collector/+"},
		{HW_T_COLLECTOR_METRICS, NULL, NULL, "heartwire/v1/collector/+/metrics"},
		{HW_T_QUERY, NULL, NULL, "heartwire/v1/q/+"},
		{HW_T_COMMAND, NULL, NULL, "heartwire/v1/cmd/+"},
	};
	/* clang-format on */
	char buf[HW_TOPIC_MAX];
	hw_error_t err;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		CU_ASSERT_EQUAL_FATAL(hw_topic_filter(buf, sizeof(buf), NULL, cases[i].kind, cases[i].machine, cases[i].id, &err),
				HW_OK);
		CU_ASSERT_STRING_EQUAL(buf, cases[i].want);
	}
	CU_ASSERT_EQUAL(hw_topic_filter(buf, sizeof(buf), NULL, HW_T_HB, "a b", NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
	/* a filter is never a topic */
	CU_ASSERT_EQUAL(hw_topic_filter(buf, sizeof(buf), NULL, HW_T_HB, NULL, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_topic_parse(NULL, buf, strlen(buf), NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_WILDCARD);
}

static void TEST_kind_names_distinct(void)
{
	for(int a = 0; a < HW_T__COUNT; a++){
		CU_ASSERT_PTR_NOT_NULL_FATAL(hw_topic_kind_name(a));
		for(int b = a + 1; b < HW_T__COUNT; b++) CU_ASSERT_STRING_NOT_EQUAL(hw_topic_kind_name(a), hw_topic_kind_name(b));
	}
	CU_ASSERT_STRING_EQUAL(hw_topic_kind_name(HW_T_HB), "hb");
	CU_ASSERT_STRING_EQUAL(hw_topic_kind_name(HW_T_STATE_SESSION), "state/s");
	CU_ASSERT_STRING_EQUAL(hw_topic_kind_name(-1), "unknown");
	CU_ASSERT_STRING_EQUAL(hw_topic_kind_name(HW_T__COUNT), "unknown");
}

/* Parsing is on the collector's hot path: a million parses must take well under a second
 * even in a Debug or sanitizer build (about 0.1 us each when optimised). */
static void TEST_parse_is_fast(void)
{
	const char *s = "heartwire/v1/m/build-07/s/session-000042/hb";
	size_t n = strlen(s);
	struct timespec a, b;
	hw_topic_t t;
	int ok = 0;
	double secs;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for(int i = 0; i < 1000000; i++) ok += hw_topic_parse(NULL, s, n, &t, NULL) == HW_OK;
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	fprintf(stderr, "\n  1e6 parses: %.3f s (%.0f ns each)\n", secs, secs * 1e3);
	CU_ASSERT_EQUAL(ok, 1000000);
	CU_ASSERT(secs < 3.0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_every_kind_builds_its_exact_topic),
		HWTEST(TEST_every_kind_parses_back),
		HWTEST(TEST_parse_uses_length_not_nul),
		HWTEST(TEST_longest_ids_and_root),
		HWTEST(TEST_malformed_topics_refused_with_exact_reason),
		HWTEST(TEST_empty_and_too_long),
		HWTEST(TEST_bad_id_message_names_the_level),
		HWTEST(TEST_custom_root_is_strict),
		HWTEST(TEST_root_check),
		HWTEST(TEST_build_refuses_bad_input),
		HWTEST(TEST_filters),
		HWTEST(TEST_kind_names_distinct),
		HWTEST(TEST_parse_is_fast),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("topics", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
