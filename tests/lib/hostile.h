/* hostile.h: a corpus of malformed and hostile payloads and topics, each tagged with the refusal reason the codec must give, plus
 * a random-payload generator (hardening and flood tests). */
#ifndef HEARTWIRE_TEST_HOSTILE_H
#define HEARTWIRE_TEST_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

/*
 * Every entry is a well-formed message of its target with exactly one defect (or a defect
 * that the codec must find first), so the reason it must be refused with is unambiguous.
 * tests/unit/test_hostile.c proves each entry is refused with its reason and that the
 * defect-free controls (hwt_hostile_control) are accepted; the collector's flood test
 * publishes them at a running collector. Nothing here needs a broker.
 *
 * Agent-message entries use session HWT_HOSTILE_SESSION and (births) machine
 * HWT_HOSTILE_MACHINE, except where the defect is that id.
 */

#define HWT_HOSTILE_SESSION "hostile-s"
#define HWT_HOSTILE_MACHINE "hostile-m"

/* What an entry is aimed at: the decoder that must refuse it, and the topic it travels on. */
typedef enum hwt_hostile_target {
	HWT_H_BIRTH = 0, /* {root}/m/{machine}/s/{session}/birth, hw_birth_decode */
	HWT_H_HB,        /* .../hb, hw_hb_decode */
	HWT_H_EV,        /* .../ev, hw_ev_decode */
	HWT_H_STATUS,    /* .../status, hw_status_decode */
	HWT_H_QUERY,     /* {root}/q/{verb}, hw_request_decode(HW_T_QUERY) */
	HWT_H_COMMAND,   /* {root}/cmd/{verb}, hw_request_decode(HW_T_COMMAND) */
	HWT_H_AGENT_CMD, /* .../cmd (collector or operator to an agent), hw_cmd_decode */
	HWT_H_PAUSE,     /* {root}/state/pause, hw_pause_decode */
	HWT_H_TOPIC,     /* the topic itself is hostile (hw_topic_parse); the payload is a valid hb */
	HWT_H__COUNT
} hwt_hostile_target;

/* One corpus entry; all strings are static. */
typedef struct hwt_hostile {
	const char *name;          /* unique tag, e.g. "hb_dollar_key_nested" */
	int target;                /* hwt_hostile_target */
	const char *verb;          /* HWT_H_QUERY / HWT_H_COMMAND: the {verb} topic level */
	int reason;                /* the hw_reason the codec (or topic parser) must refuse it with */
	const char *text;          /* the payload (the topic for HWT_H_TOPIC, with "@ROOT@" for the
				    * root), or NULL when gen builds it */
	size_t len;                /* bytes of text (it may hold NULs); 0 = strlen(text) */
	char *(*gen)(size_t *len); /* builds large, deep or repetitive inputs; result from malloc */
} hwt_hostile_t;

/* Number of entries (well over 60). */
size_t hwt_hostile_count(void);

/* Entry i (0 <= i < count), borrowed; NULL when out of range. */
const hwt_hostile_t *hwt_hostile_at(size_t i);

/* The name of a target ("birth", "hb", ..., "topic"). Never NULL. */
const char *hwt_hostile_target_name(int target);

/* Builds the payload of h into *buf (caller frees with free(); NUL-terminated, *len bytes
 * without the NUL). For HWT_H_TOPIC it is the valid hb control. Returns 0, or -1 when out
 * of memory. */
int hwt_hostile_payload(const hwt_hostile_t *h, char **buf, size_t *len);

/* Builds the topic h travels on under root (NULL: "heartwire/v1") into buf: agent targets
 * use machine (NULL: HWT_HOSTILE_MACHINE) and session HWT_HOSTILE_SESSION; HWT_H_TOPIC
 * entries give their own text (or gen output) with "@ROOT@" replaced. Topics may hold any
 * byte (a NUL included), so the length goes to *topic_len. Returns 0, or -1 when buf is too
 * small or out of memory. */
int hwt_hostile_topic(const hwt_hostile_t *h, const char *root, const char *machine, char *buf, size_t len, size_t *topic_len);

/* True when a client can publish on h's topic at all: not empty, valid UTF-8 without NUL,
 * no '+' or '#', at most 65535 bytes (a broker disconnects a client that publishes
 * otherwise, so a flood sends only these). Uses the default root. */
bool hwt_hostile_publishable(const hwt_hostile_t *h);

/* Runs h through the codec exactly as a receiver would: parse the topic (under the default
 * root), decode the payload with the target's decoder, and for agent messages check the
 * payload against the topic (hw_msg_check_topic). Returns the refusal reason (HW_R_NONE
 * when everything accepted it, -1 when out of memory) and fills err (may be NULL) with the
 * refusal. */
int hwt_hostile_refusal(const hwt_hostile_t *h, hw_error_t *err);

/* A valid payload of target (NUL-terminated, static): the defect-free base the entries
 * start from. NULL for HWT_H_TOPIC (its payload is the hb control). For HWT_H_QUERY and
 * HWT_H_COMMAND the verb is "sessions" and "fail". */
const char *hwt_hostile_control(int target);

/* ---- random payloads */

/* xorshift64*: the next value of the generator; *state must not be 0 (0 is replaced by a
 * fixed seed). */
uint64_t hwt_rand_next(uint64_t *state);

/* Fills buf (cap bytes) with one random payload, never a valid message, and returns its
 * length (0..cap; 0 only rarely: an empty payload is one of the cases). Three kinds, chosen
 * by the generator: raw random bytes, random printable ASCII, and a soup of JSON tokens
 * (braces, quotes, "$" and dotted keys, escapes, huge numbers) that reaches deeper into the
 * parser. Deterministic for a given *state. */
size_t hwt_random_payload(uint64_t *state, unsigned char *buf, size_t cap);

#endif
