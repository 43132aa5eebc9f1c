/* fuzz_decode.c: libFuzzer target feeding each input to every libheartwire decoder and to the
 * topic parser, and checking that whatever a decoder accepts re-encodes and decodes back to
 * the same bytes (a crash, a sanitizer report, a leak or a broken round trip is a finding). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "heartwire/topics.h"
#if defined(__has_include)
#if __has_include("heartwire/agentmsg.h")
#include "heartwire/agentmsg.h"
#define FUZZ_AGENTMSG 1
#endif
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message: libFuzzer saves the input as a crash artifact. */
static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_decode: %s: %s\n", what, detail ? detail : "");
	abort();
}

/* Encoding what a decoder accepted must succeed, and decoding that must give the same bytes
 * again. `first` is the first encoding (owned, freed here). */
#define ROUND_TRIP(type, decode, encode, cleanup, decoded)                                                                       \
	do {                                                                                                                     \
		char *first_ = NULL, *second_ = NULL;                                                                            \
		hw_error_t e_ = {0};                                                                                             \
		type again_;                                                                                                     \
		if(encode(&(decoded), &first_, NULL, &e_) != HW_OK) fail(#encode " refused a decoded value", e_.msg);            \
		if(decode(first_, strlen(first_), &again_, &e_) != HW_OK) fail(#decode " refused its encoding", e_.msg);         \
		if(encode(&again_, &second_, NULL, &e_) != HW_OK) fail(#encode " refused a re-decoded value", e_.msg);           \
		if(strcmp(first_, second_) != 0) fail(#type " round trip differs", first_);                                      \
		cleanup(&again_);                                                                                                \
		free(first_);                                                                                                    \
		free(second_);                                                                                                   \
	}while(0)

static void fuzz_agent_messages(const uint8_t *data, size_t size)
{
	hw_birth_t b;
	hw_hb_t hb;
	hw_ev_t ev;
	hw_status_t st;
	hw_session_t s;

	if(hw_birth_decode(data, size, &b, NULL) == HW_OK){
		ROUND_TRIP(hw_birth_t, hw_birth_decode, hw_birth_encode, hw_birth_cleanup, b);
		hw_birth_cleanup(&b);
	}
	if(hw_hb_decode(data, size, &hb, NULL) == HW_OK) ROUND_TRIP(hw_hb_t, hw_hb_decode, hw_hb_encode, hw_hb_cleanup, hb);
	if(hw_ev_decode(data, size, &ev, NULL) == HW_OK) ROUND_TRIP(hw_ev_t, hw_ev_decode, hw_ev_encode, hw_ev_cleanup, ev);
	if(hw_status_decode(data, size, &st, NULL) == HW_OK)
		ROUND_TRIP(hw_status_t, hw_status_decode, hw_status_encode, hw_status_cleanup, st);
	if(hw_session_decode(data, size, &s, NULL) == HW_OK){
		ROUND_TRIP(hw_session_t, hw_session_decode, hw_session_encode, hw_session_cleanup, s);
		hw_session_cleanup(&s);
	}
}

static void fuzz_requests(const uint8_t *data, size_t size)
{
	/* The verb comes from the size so that one input reaches different verbs as it grows. */
	int verb = 1 + (int)(size % (HW_VERB__COUNT - 1));
	int kind = hw_verb_is_command(verb) ? HW_T_COMMAND : HW_T_QUERY;
	hw_request_t r;
	hw_error_t e = {0};

	if(hw_request_decode(kind, hw_verb_name(verb), data, size, &r, &e) == HW_OK){
		char *first = NULL, *second = NULL;
		hw_request_t again;

		if(r.verb != verb) fail("request verb", hw_verb_name(r.verb));
		if(hw_request_encode(&r, &first, NULL, &e) != HW_OK) fail("hw_request_encode refused a decoded value", e.msg);
		if(hw_request_decode(kind, hw_verb_name(verb), first, strlen(first), &again, &e) != HW_OK)
			fail("hw_request_decode refused its encoding", e.msg);
		if(hw_request_encode(&again, &second, NULL, &e) != HW_OK) fail("hw_request_encode (2)", e.msg);
		if(strcmp(first, second) != 0) fail("request round trip differs", first);
		free(first);
		free(second);
	}
	/* Unknown verbs taken from the input itself are refused without reading past it. */
	if(size > 0 && size < 64){
		char name[64];
		memcpy(name, data, size);
		name[size] = '\0';
		(void)hw_request_decode(0, name, "{}", 2, &r, NULL);
	}
}

static void fuzz_replies(const uint8_t *data, size_t size)
{
	hw_reply_t rp;
	char *copy, *out = NULL;
	hw_error_t e = {0};

	if(hw_reply_decode(data, size, &rp, NULL) == HW_OK){
		/* The data part of a decoded reply is a valid reply payload again. */
		if(rp.ok && rp.data){
			if(hw_reply_encode_ok(rp.data, rp.corr, &out, NULL, &e) != HW_OK) fail("reply re-encode", e.msg);
			free(out);
			out = NULL;
		}
		hw_reply_cleanup(&rp);
	}
	/* The input as reply data (NUL-terminated) and as an error message. */
	copy = malloc(size + 1);
	if(!copy) return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if(hw_reply_encode_ok(copy, NULL, &out, NULL, &e) == HW_OK){
		if(hw_reply_decode(out, strlen(out), &rp, &e) != HW_OK) fail("an encoded ok reply does not decode", e.msg);
		hw_reply_cleanup(&rp);
		free(out);
		out = NULL;
	}
	if(hw_reply_encode_error((int)(size % HW_REPLY__COUNT), copy, NULL, &out, NULL, &e) != HW_OK)
		fail("hw_reply_encode_error", e.msg);
	if(hw_reply_decode(out, strlen(out), &rp, &e) != HW_OK) fail("an encoded error reply does not decode", e.msg);
	hw_reply_cleanup(&rp);
	free(out);
	free(copy);
}

static void fuzz_topics(const uint8_t *data, size_t size)
{
	hw_topic_t t;
	char built[HW_TOPIC_MAX + 1];
	hw_error_t e = {0};

	if(hw_topic_parse(HW_TOPIC_ROOT_DEFAULT, (const char *)data, size, &t, NULL) != HW_OK) return;
	/* A parsed topic builds back to exactly the same string. */
	if(hw_topic_build(built, sizeof(built), HW_TOPIC_ROOT_DEFAULT, t.kind, t.machine, t.id, &e) != HW_OK)
		fail("hw_topic_build refused a parsed topic", e.msg);
	if(strlen(built) != size || memcmp(built, data, size) != 0) fail("topic round trip differs", built);
}

#ifdef FUZZ_AGENTMSG
static void fuzz_agentmsg(const uint8_t *data, size_t size)
{
	hw_hook_t h;
	hw_pause_t p;
	hw_cmd_t c;

	(void)hw_hook_parse(data, size, &h, NULL);
	(void)hw_hook_decode(data, size, &h, NULL);
	(void)hw_pause_decode(data, size, &p, NULL);
	(void)hw_pause_from_project(data, size, &p, NULL);
	(void)hw_cmd_decode(data, size, &c, NULL);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_agent_messages(data, size);
	fuzz_requests(data, size);
	fuzz_replies(data, size);
	fuzz_topics(data, size);
#ifdef FUZZ_AGENTMSG
	fuzz_agentmsg(data, size);
#endif
	return 0;
}
