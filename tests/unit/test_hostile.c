/* test_hostile.c: every entry of the hostile corpus (tests/lib/hostile.c) is refused by the codec with its expected reason, and
 * random payloads are refused by every decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"
#include "hostile.h"
#include "hwtest.h"

#define RANDOM_PAYLOADS 100000

static void TEST_corpus_has_60_plus_kinds_with_unique_names(void)
{
	size_t n = hwt_hostile_count();

	printf("\n  corpus: %zu entries\n", n);
	CU_ASSERT_TRUE(n >= 60);
	CU_ASSERT_PTR_NULL(hwt_hostile_at(n));
	for(size_t i = 0; i < n; i++){
		const hwt_hostile_t *a = hwt_hostile_at(i);

		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT_TRUE(a->name && a->name[0]);
		CU_ASSERT_TRUE((a->text != NULL) != (a->gen != NULL));
		CU_ASSERT_TRUE(a->reason > HW_R_NONE && a->reason < HW_R__COUNT);
		CU_ASSERT_TRUE(a->target >= 0 && a->target < HWT_H__COUNT);
		if(a->target == HWT_H_QUERY || a->target == HWT_H_COMMAND) CU_ASSERT_PTR_NOT_NULL(a->verb);
		for(size_t j = 0; j < i; j++){
			if(strcmp(a->name, hwt_hostile_at(j)->name) == 0){
				fprintf(stderr, "duplicate corpus name %s\n", a->name);
				CU_FAIL("duplicate corpus name");
			}
		}
	}
}

/* The bases the entries are made from are accepted: each entry's refusal is its own defect. */
static void TEST_controls_are_accepted(void)
{
	hw_error_t e;
	hw_birth_t b;
	hw_hb_t hb;
	hw_ev_t ev;
	hw_status_t st;
	hw_request_t r;
	hw_cmd_t c;
	hw_pause_t p;
	const char *s;

	s = hwt_hostile_control(HWT_H_BIRTH);
	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &e), HW_OK);
	hw_birth_cleanup(&b);
	s = hwt_hostile_control(HWT_H_HB);
	CU_ASSERT_EQUAL(hw_hb_decode(s, strlen(s), &hb, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_EV);
	CU_ASSERT_EQUAL(hw_ev_decode(s, strlen(s), &ev, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_STATUS);
	CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_QUERY);
	CU_ASSERT_EQUAL(hw_request_decode(HW_T_QUERY, "sessions", s, strlen(s), &r, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_COMMAND);
	CU_ASSERT_EQUAL(hw_request_decode(HW_T_COMMAND, "fail", s, strlen(s), &r, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_AGENT_CMD);
	CU_ASSERT_EQUAL(hw_cmd_decode(s, strlen(s), &c, &e), HW_OK);
	s = hwt_hostile_control(HWT_H_PAUSE);
	CU_ASSERT_EQUAL(hw_pause_decode(s, strlen(s), &p, &e), HW_OK);
	CU_ASSERT_PTR_NULL(hwt_hostile_control(HWT_H_TOPIC));

	/* The topics the entries travel on parse, and the topic entries' payload is the hb control
	 * on its own topic. */
	for(int t = 0; t < HWT_H__COUNT; t++){
		hwt_hostile_t probe = {"probe", t, t == HWT_H_QUERY ? "sessions" : "fail", HW_R_NONE,
				"@ROOT@/m/hostile-m/s/hostile-s/hb", 0, NULL};
		char topic[512];
		size_t n = 0;

		CU_ASSERT_EQUAL_FATAL(hwt_hostile_topic(&probe, NULL, NULL, topic, sizeof(topic), &n), 0);
		CU_ASSERT_EQUAL(strlen(topic), n);
		CU_ASSERT_EQUAL(hw_topic_parse(NULL, topic, n, NULL, &e), HW_OK);
		if(t == HWT_H_TOPIC || t == HWT_H_HB){
			probe.text = t == HWT_H_HB ? hwt_hostile_control(HWT_H_HB) : probe.text;
			CU_ASSERT_EQUAL(hwt_hostile_refusal(&probe, &e), HW_R_NONE);
		}
	}
	/* Another root and machine land in the topic. */
	{
		const hwt_hostile_t *h = hwt_hostile_at(0);
		char topic[512];

		CU_ASSERT_EQUAL(hwt_hostile_topic(h, "acme/hw", "m-7", topic, sizeof(topic), NULL), 0);
		CU_ASSERT_STRING_EQUAL(topic, "acme/hw/m/m-7/s/hostile-s/hb");
		CU_ASSERT_EQUAL(hwt_hostile_topic(h, "acme/hw", "m-7", topic, 10, NULL), -1);
	}
}

static void TEST_every_entry_is_refused_with_its_reason(void)
{
	size_t n = hwt_hostile_count(), bad = 0;
	int per_reason[HW_R__COUNT] = {0};
	int per_target[HWT_H__COUNT] = {0};

	for(size_t i = 0; i < n; i++){
		const hwt_hostile_t *h = hwt_hostile_at(i);
		hw_error_t e;
		int got = hwt_hostile_refusal(h, &e);

		CU_ASSERT_NOT_EQUAL_FATAL(got, -1);
		if(got != h->reason){
			fprintf(stderr, "  %s (%s): expected %s, got %s: %s\n", h->name, hwt_hostile_target_name(h->target),
					hw_reason_name(h->reason), got == HW_R_NONE ? "accepted" : hw_reason_name(got), e.msg);
			bad++;
		}else{
			CU_ASSERT_EQUAL(e.code, HW_ERR_DECODE);
			CU_ASSERT_TRUE(e.msg[0] != '\0');
		}
		per_reason[h->reason]++;
		per_target[h->target]++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* Every refusal reason and every target is exercised. */
	for(int r = HW_R_NONE + 1; r < HW_R__COUNT; r++){
		if(per_reason[r] == 0) fprintf(stderr, "  no corpus entry for reason %s\n", hw_reason_name(r));
		CU_ASSERT_TRUE(per_reason[r] > 0);
	}
	for(int t = 0; t < HWT_H__COUNT; t++) CU_ASSERT_TRUE(per_target[t] > 0);
}

/* Entries whose payload is refused by its own decoder are refused by every other agent-message
 * decoder too (a flood cannot slip through on another topic kind), except those whose defect
 * is specific to one kind. */
static void TEST_size_encoding_and_key_defects_are_refused_by_every_decoder(void)
{
	size_t n = hwt_hostile_count();

	for(size_t i = 0; i < n; i++){
		const hwt_hostile_t *h = hwt_hostile_at(i);
		char *buf = NULL;
		size_t len = 0;
		hw_birth_t b;
		hw_hb_t hb;
		hw_ev_t ev;
		hw_status_t st;
		hw_request_t r;
		hw_cmd_t c;
		hw_pause_t p;
		hw_session_t s;
		hw_error_t e;
		int rc;

		if(h->target == HWT_H_TOPIC) continue;
		if(h->reason != HW_R_EMPTY && h->reason != HW_R_BAD_UTF8 && h->reason != HW_R_BAD_JSON &&
				h->reason != HW_R_NOT_OBJECT && h->reason != HW_R_TOO_DEEP && h->reason != HW_R_BAD_KEY)
			continue;
		CU_ASSERT_EQUAL_FATAL(hwt_hostile_payload(h, &buf, &len), 0);
#define REFUSED(call, same)                                                                                                      \
	do {                                                                                                                     \
		rc = (call);                                                                                                     \
		if(rc != HW_ERR_DECODE || e.reason != (same)) {                                                                  \
			fprintf(stderr, "  %s: %s gave %s (%s), expected %s\n", h->name, #call, hw_strerror(rc),                 \
					hw_reason_name(e.reason), hw_reason_name(same));                                         \
			CU_FAIL(#call " did not refuse a hostile payload with its reason");                                      \
		}                                                                                                                \
	}while(0)
		REFUSED(hw_birth_decode(buf, len, &b, &e), h->reason);
		REFUSED(hw_hb_decode(buf, len, &hb, &e), h->reason);
		REFUSED(hw_ev_decode(buf, len, &ev, &e), h->reason);
		REFUSED(hw_status_decode(buf, len, &st, &e), h->reason);
		REFUSED(hw_cmd_decode(buf, len, &c, &e), h->reason);
		REFUSED(hw_pause_decode(buf, len, &p, &e), h->reason);
		REFUSED(hw_session_decode(buf, len, &s, &e), h->reason);
		REFUSED(hw_request_decode(HW_T_QUERY, "sessions", buf, len, &r, &e), h->reason);
#undef REFUSED
		free(buf);
	}
}

/* Decodes with every decoder; the number that accepted. */
static int accepted_by_any(const unsigned char *buf, size_t len)
{
	hw_birth_t b;
	hw_hb_t hb;
	hw_ev_t ev;
	hw_status_t st;
	hw_request_t r;
	hw_cmd_t c;
	hw_pause_t p;
	int ok = 0;

	if(hw_birth_decode(buf, len, &b, NULL) == HW_OK){
		hw_birth_cleanup(&b);
		ok++;
	}
	ok += hw_hb_decode(buf, len, &hb, NULL) == HW_OK;
	ok += hw_ev_decode(buf, len, &ev, NULL) == HW_OK;
	ok += hw_status_decode(buf, len, &st, NULL) == HW_OK;
	ok += hw_cmd_decode(buf, len, &c, NULL) == HW_OK;
	ok += hw_pause_decode(buf, len, &p, NULL) == HW_OK;
	ok += hw_request_decode(HW_T_COMMAND, "clear", buf, len, &r, NULL) == HW_OK;
	return ok;
}

static void TEST_random_payloads_are_refused_by_every_decoder(void)
{
	static unsigned char buf[HW_MSG_MAX_BYTES + 64];
	uint64_t st = 20261121;
	size_t kinds[3] = {0}, total = 0, accepted = 0, topics_ok = 0;

	for(int i = 0; i < RANDOM_PAYLOADS; i++){
		size_t n = hwt_random_payload(&st, buf, sizeof(buf));

		CU_ASSERT_TRUE_FATAL(n <= sizeof(buf));
		total += n;
		if(n > 0 && buf[0] == '{') kinds[2]++;
		else if(n > 0 && buf[0] >= 0x80) kinds[0]++;
		else kinds[1]++;
		if(accepted_by_any(buf, n)){
			fprintf(stderr, "  random payload %d accepted: %.*s\n", i, (int)(n < 200 ? n : 200), (const char *)buf);
			accepted++;
		}
		/* As a topic, random bytes never parse as a tree topic either. */
		if(hw_topic_parse(NULL, (const char *)buf, n, NULL, NULL) == HW_OK) topics_ok++;
	}
	printf("\n  %d random payloads, %zu bytes, starting with '{': %zu, high byte: %zu\n", RANDOM_PAYLOADS, total, kinds[2],
			kinds[0]);
	CU_ASSERT_EQUAL(accepted, 0);
	CU_ASSERT_EQUAL(topics_ok, 0);
	/* The mix reaches the parser's insides, not just its first byte. */
	CU_ASSERT_TRUE(kinds[2] > RANDOM_PAYLOADS / 10);
	CU_ASSERT_TRUE(kinds[0] > RANDOM_PAYLOADS / 100);
}

static void TEST_random_generator_is_deterministic(void)
{
	unsigned char a[4096], b[4096];
	uint64_t s1 = 7, s2 = 7, s3 = 8;
	size_t na, nb, same = 0;

	for(int i = 0; i < 100; i++){
		na = hwt_random_payload(&s1, a, sizeof(a));
		nb = hwt_random_payload(&s2, b, sizeof(b));
		CU_ASSERT_EQUAL_FATAL(na, nb);
		CU_ASSERT_EQUAL(memcmp(a, b, na), 0);
	}
	for(int i = 0; i < 100; i++){
		na = hwt_random_payload(&s2, a, sizeof(a));
		nb = hwt_random_payload(&s3, b, sizeof(b));
		same += na == nb && memcmp(a, b, na) == 0;
	}
	CU_ASSERT_TRUE(same < 10);
	/* A zero state is replaced, not stuck at zero. */
	s1 = 0;
	CU_ASSERT_NOT_EQUAL(hwt_rand_next(&s1), 0);
	CU_ASSERT_NOT_EQUAL(s1, 0);
	CU_ASSERT_EQUAL(hwt_random_payload(&s1, a, 0), 0);
}

static void TEST_publishable_excludes_what_a_broker_would_disconnect_for(void)
{
	size_t n = hwt_hostile_count(), publishable = 0;

	for(size_t i = 0; i < n; i++){
		const hwt_hostile_t *h = hwt_hostile_at(i);
		bool pub = hwt_hostile_publishable(h);

		publishable += pub;
		if(strcmp(h->name, "topic_plus_machine") == 0 || strcmp(h->name, "topic_hash_tail") == 0 ||
				strcmp(h->name, "topic_nul") == 0 || strcmp(h->name, "topic_empty") == 0 ||
				strcmp(h->name, "topic_invalid_utf8") == 0)
			CU_ASSERT_FALSE(pub);
		if(h->target != HWT_H_TOPIC) CU_ASSERT_TRUE(pub);
	}
	printf("\n  publishable: %zu of %zu\n", publishable, n);
	CU_ASSERT_TRUE(publishable >= 60);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_corpus_has_60_plus_kinds_with_unique_names),
		HWTEST(TEST_controls_are_accepted),
		HWTEST(TEST_every_entry_is_refused_with_its_reason),
		HWTEST(TEST_size_encoding_and_key_defects_are_refused_by_every_decoder),
		HWTEST(TEST_random_payloads_are_refused_by_every_decoder),
		HWTEST(TEST_random_generator_is_deterministic),
		HWTEST(TEST_publishable_excludes_what_a_broker_would_disconnect_for),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("hostile", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
