/* hostile.c: the hostile-input corpus (hostile.h): 160+ malformed and hostile payloads and topics with their expected refusal
 * reasons, and the random-payload generator. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

#define ROOT_DEFAULT HW_TOPIC_ROOT_DEFAULT

/* The defect-free bases. Entries splice one defect into them. */
#define S "\"session\":\"hostile-s\""
#define HB_HEAD "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000"
#define BIRTH_HEAD "{\"v\":1," S ",\"machine\":\"hostile-m\",\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000"
#define EV_HEAD "{\"v\":1," S ",\"epoch\":1,\"seq\":2,\"ts\":1"
#define ST_HEAD "{\"v\":1," S ",\"epoch\":1"
#define AGENT_TOPIC "@ROOT@/m/hostile-m/s/hostile-s/"

/* clang-format off */
static const char *const controls[HWT_H__COUNT] = {
	[HWT_H_BIRTH] = BIRTH_HEAD ",\"task\":\"t\",\"argv\":[\"a\",\"b\"]}",
	[HWT_H_HB] = HB_HEAD ",\"state\":\"active\",\"child\":{\"pid\":42,\"proc\":\"S\",\"cpu_ms\":1}}",
	[HWT_H_EV] = EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":0,\"signal\":null}}",
	[HWT_H_STATUS] = ST_HEAD ",\"status\":\"online\",\"ts\":1}",
	[HWT_H_QUERY] = "{\"v\":1,\"states\":[\"stalled\"],\"project\":\"p-1\",\"limit\":10}",
	[HWT_H_COMMAND] = "{\"v\":1,\"session\":\"hostile-s\",\"reason\":\"r\"}",
	[HWT_H_AGENT_CMD] = "{\"v\":1,\"cmd\":\"stop\",\"signal\":15,\"by\":\"ops\"}",
	[HWT_H_PAUSE] = "{\"v\":1,\"paused\":true,\"resume_at\":null,\"by\":\"ops\"}",
	[HWT_H_TOPIC] = NULL,
};
/* clang-format on */

/* clang-format off */
static const char *const target_names[HWT_H__COUNT] = {
	"birth", "hb", "ev", "status", "query", "command", "agent_cmd", "pause", "topic",
};
/* clang-format on */

/* ---- generators: inputs too large or repetitive to write out ---------------------------- */

/* A buffer under construction. */
typedef struct gbuf {
	char *p;
	size_t n, cap;
	bool oom;
} gbuf_t;

static void g_put(gbuf_t *g, const char *s, size_t n)
{
	if(g->oom) return;
	if(g->n + n + 1 > g->cap){
		size_t cap = g->cap ? g->cap : 256;
		char *p;

		while(cap < g->n + n + 1) cap *= 2;
		p = realloc(g->p, cap);
		if(!p){
			g->oom = true;
			return;
		}
		g->p = p;
		g->cap = cap;
	}
	memcpy(g->p + g->n, s, n);
	g->n += n;
	g->p[g->n] = '\0';
}

static void g_str(gbuf_t *g, const char *s)
{
	g_put(g, s, strlen(s));
}

static void g_rep(gbuf_t *g, const char *s, size_t times)
{
	for(size_t i = 0; i < times && !g->oom; i++) g_str(g, s);
}

static char *g_done(gbuf_t *g, size_t *len)
{
	if(g->oom){
		free(g->p);
		return NULL;
	}
	*len = g->n;
	return g->p;
}

/* A valid hb padded with an unknown string member to 64 KiB + 1 byte. */
static char *gen_hb_over_limit(size_t *len)
{
	gbuf_t g = {0};
	const char *head = HB_HEAD ",\"pad\":\"";
	size_t fill = HW_MSG_MAX_BYTES + 1 - strlen(head) - 2;

	g_str(&g, head);
	g_rep(&g, "x", fill);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* 64 KiB + 1 bytes of whitespace: the size limit comes before any parsing. */
static char *gen_whitespace_over_limit(size_t *len)
{
	gbuf_t g = {0};

	g_rep(&g, " ", HW_MSG_MAX_BYTES + 1);
	return g_done(&g, len);
}

/* 1 MiB of pseudo-random bytes (a memory-exhaustion attempt). */
static char *gen_one_mib_random(size_t *len)
{
	size_t n = 1024 * 1024;
	unsigned char *p = malloc(n + 1);
	uint64_t st = 0x9e3779b97f4a7c15ULL;

	if(!p) return NULL;
	for(size_t i = 0; i < n; i++) p[i] = (unsigned char)(hwt_rand_next(&st) >> 56);
	p[n] = '\0';
	*len = n;
	return (char *)p;
}

/* 1000 balanced nested arrays inside a valid hb. */
static char *gen_deep_arrays(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, HB_HEAD ",\"x\":");
	g_rep(&g, "[", 1000);
	g_rep(&g, "]", 1000);
	g_str(&g, "}");
	return g_done(&g, len);
}

/* 50000 opening brackets and nothing else: a parser recursion bomb. */
static char *gen_bracket_bomb(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, HB_HEAD ",\"x\":");
	g_rep(&g, "[", 50000);
	return g_done(&g, len);
}

/* 200 nested objects {"a":{"a":...}} with the members closed. */
static char *gen_deep_objects(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, HB_HEAD ",\"x\":");
	g_rep(&g, "{\"a\":", 200);
	g_str(&g, "1");
	g_rep(&g, "}", 200);
	g_str(&g, "}");
	return g_done(&g, len);
}

/* A valid hb with 300 unknown members (over HW_MSG_MAX_MEMBERS). */
static char *gen_many_members(size_t *len)
{
	gbuf_t g = {0};
	char k[32];

	g_str(&g, HB_HEAD);
	for(int i = 0; i < 300; i++){
		snprintf(k, sizeof(k), ",\"k%d\":0", i);
		g_str(&g, k);
	}
	g_str(&g, "}");
	return g_done(&g, len);
}

/* A birth with 300 argv entries (over HW_ARGV_MAX). */
static char *gen_argv_too_many(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, BIRTH_HEAD ",\"argv\":[\"a\"");
	g_rep(&g, ",\"a\"", 299);
	g_str(&g, "]}");
	return g_done(&g, len);
}

/* A birth with one argv entry of HW_ARG_MAX + 1 bytes. */
static char *gen_argv_entry_long(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, BIRTH_HEAD ",\"argv\":[\"");
	g_rep(&g, "a", HW_ARG_MAX + 1);
	g_str(&g, "\"]}");
	return g_done(&g, len);
}

/* A birth whose cwd is HW_PATH_MAX + 1 bytes. */
static char *gen_cwd_long(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, BIRTH_HEAD ",\"cwd\":\"/");
	g_rep(&g, "d", HW_PATH_MAX);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* An hb whose task is HW_TEXT_MAX + 1 bytes. */
static char *gen_task_long(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, HB_HEAD ",\"task\":\"");
	g_rep(&g, "t", HW_TEXT_MAX + 1);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* An hb whose task is 171 three-byte characters (513 bytes, 171 characters): the limit is bytes. */
static char *gen_task_long_multibyte(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, HB_HEAD ",\"task\":\"");
	g_rep(&g, "\xe2\x82\xac", HW_TEXT_MAX / 3 + 1);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* An ev text of 600 "\u00e9" escapes: 3600 bytes on the wire, 1200 bytes decoded. */
static char *gen_ev_text_escapes(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, EV_HEAD ",\"type\":\"action\",\"text\":\"");
	g_rep(&g, "\\u00e9", 600);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* A query whose reply_to is HW_REPLY_TO_MAX + 1 bytes. */
static char *gen_reply_to_long(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, "{\"reply_to\":\"heartwire/v1/reply/viewer/");
	g_rep(&g, "r", HW_REPLY_TO_MAX);
	g_str(&g, "\"}");
	return g_done(&g, len);
}

/* A sessions query with 5000 states (over the 11 allowed). */
static char *gen_states_many(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, "{\"states\":[\"lost\"");
	g_rep(&g, ",\"lost\"", 4999);
	g_str(&g, "]}");
	return g_done(&g, len);
}

/* A topic of HW_TOPIC_MAX + 1 bytes: a session level of 300 characters. */
static char *gen_topic_long(size_t *len)
{
	gbuf_t g = {0};

	g_str(&g, "@ROOT@/m/hostile-m/s/");
	g_rep(&g, "s", 300);
	g_str(&g, "/hb");
	return g_done(&g, len);
}

/* ---- the corpus --------------------------------------------------------------------------- */

/* clang-format off */
#define E(name, target, reason, text) {name, target, NULL, reason, text, 0, NULL}
#define EB(name, target, reason, text) {name, target, NULL, reason, text, sizeof(text) - 1, NULL}
#define EV_(name, target, verb, reason, text) {name, target, verb, reason, text, 0, NULL}
#define EG(name, target, verb, reason, fn) {name, target, verb, reason, NULL, 0, fn}
/* clang-format on */

/* clang-format off */
static const hwt_hostile_t corpus[] = {
	/* ---- size and framing */
	EB("hb_empty", HWT_H_HB, HW_R_EMPTY, ""),
	E("hb_whitespace_only", HWT_H_HB, HW_R_EMPTY, " \t\r\n  "),
	EG("hb_over_64k", HWT_H_HB, NULL, HW_R_TOO_LARGE, gen_hb_over_limit),
	EG("hb_whitespace_over_64k", HWT_H_HB, NULL, HW_R_TOO_LARGE, gen_whitespace_over_limit),
	EG("birth_one_mib_random", HWT_H_BIRTH, NULL, HW_R_TOO_LARGE, gen_one_mib_random),
	EG("query_one_mib_random", HWT_H_QUERY, "sessions", HW_R_TOO_LARGE, gen_one_mib_random),

	/* ---- encoding */
	EB("hb_lone_continuation_byte", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"a\x80z\"}"),
	EB("hb_overlong_slash", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\xc0\xaf\"}"),
	EB("hb_overlong_nul", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\xc0\x80\"}"),
	EB("hb_utf8_surrogate", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\xed\xa0\x80\"}"),
	EB("hb_above_u10ffff", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\xf4\x90\x80\x80\"}"),
	EB("hb_truncated_sequence", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\xe2\x82\"}"),
	EB("hb_latin1_byte", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"caf\xe9\"}"),
	EB("hb_raw_nul_in_string", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"a\0b\"}"),
	EB("hb_nul_after_object", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD "}\0"),
	E("hb_escaped_nul", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"a\\u0000b\"}"),
	E("hb_lone_high_surrogate_escape", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\\ud800\"}"),
	E("hb_lone_low_surrogate_escape", HWT_H_HB, HW_R_BAD_UTF8, HB_HEAD ",\"task\":\"\\udc00x\"}"),
	EB("birth_invalid_utf8_in_key", HWT_H_BIRTH, HW_R_BAD_UTF8, BIRTH_HEAD ",\"\xff\xfe\":1}"),
	EB("status_0xff_bytes", HWT_H_STATUS, HW_R_BAD_UTF8, "\xff\xff\xff\xff"),

	/* ---- JSON syntax */
	E("hb_trailing_comma", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",}"),
	E("hb_truncated", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD),
	E("hb_truncated_in_string", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"task\":\"abc"),
	E("hb_nan", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"x\":NaN}"),
	E("hb_infinity", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"x\":-Infinity}"),
	E("hb_comment", HWT_H_HB, HW_R_BAD_JSON, "{\"v\":1,/* note */" S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_line_comment", HWT_H_HB, HW_R_BAD_JSON, "// x\n" HB_HEAD "}"),
	E("hb_trailing_garbage", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD "} x"),
	E("hb_two_objects", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD "}" HB_HEAD "}"),
	E("hb_raw_newline_in_string", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"task\":\"a\nb\"}"),
	E("hb_raw_escape_char_in_string", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"task\":\"\x1b[2J\"}"),
	E("hb_single_quotes", HWT_H_HB, HW_R_BAD_JSON, "{'v':1}"),
	EV_("query_single_quotes", HWT_H_QUERY, "sessions", HW_R_BAD_JSON, "{'limit':5}"),
	/* A '"' inside a single-quoted key would put a lexer that knows only '"' strings out of
	 * step, hiding the \u0000 escape after it. */
	E("hb_single_quoted_key_hides_nul", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",'a\"':0,\"task\":\"x\\u0000y\"}"),
	E("hb_single_quoted_value", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"task\":'t'}"),
	E("hb_unquoted_key", HWT_H_HB, HW_R_BAD_JSON, "{v:1," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_hex_number", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"x\":0x10}"),
	E("hb_bad_escape", HWT_H_HB, HW_R_BAD_JSON, HB_HEAD ",\"task\":\"\\q\"}"),
	E("hb_utf8_bom", HWT_H_HB, HW_R_BAD_JSON, "\xef\xbb\xbf" HB_HEAD "}"),
	E("ev_missing_colon", HWT_H_EV, HW_R_BAD_JSON, EV_HEAD ",\"type\" \"idle\"}"),

	/* ---- structure */
	E("hb_top_array", HWT_H_HB, HW_R_NOT_OBJECT, "[" HB_HEAD "}]"),
	E("hb_top_string", HWT_H_HB, HW_R_NOT_OBJECT, "\"hb\""),
	E("hb_top_number", HWT_H_HB, HW_R_NOT_OBJECT, "42"),
	E("hb_top_null", HWT_H_HB, HW_R_NOT_OBJECT, "null"),
	E("status_top_true", HWT_H_STATUS, HW_R_NOT_OBJECT, "true"),
	E("hb_depth_9", HWT_H_HB, HW_R_TOO_DEEP,
			HB_HEAD ",\"x\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{}}}}}}}}}"),
	EG("hb_1000_nested_arrays", HWT_H_HB, NULL, HW_R_TOO_DEEP, gen_deep_arrays),
	EG("hb_bracket_bomb", HWT_H_HB, NULL, HW_R_TOO_DEEP, gen_bracket_bomb),
	EG("hb_200_nested_objects", HWT_H_HB, NULL, HW_R_TOO_DEEP, gen_deep_objects),
	EG("hb_300_members", HWT_H_HB, NULL, HW_R_TOO_MANY, gen_many_members),
	EG("birth_argv_300", HWT_H_BIRTH, NULL, HW_R_TOO_MANY, gen_argv_too_many),
	EG("query_states_5000", HWT_H_QUERY, "sessions", HW_R_TOO_MANY, gen_states_many),

	/* ---- version */
	E("hb_v_missing", HWT_H_HB, HW_R_BAD_VERSION, "{" S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_v_2", HWT_H_HB, HW_R_BAD_VERSION, "{\"v\":2," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_v_string", HWT_H_HB, HW_R_BAD_VERSION, "{\"v\":\"1\"," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_v_double", HWT_H_HB, HW_R_BAD_VERSION, "{\"v\":1.0," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("birth_v_null", HWT_H_BIRTH, HW_R_BAD_VERSION, "{\"v\":null," S ",\"machine\":\"hostile-m\",\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),
	E("status_v_0", HWT_H_STATUS, HW_R_BAD_VERSION, "{\"v\":0," S ",\"epoch\":1,\"status\":\"lost\"}"),

	/* ---- keys that could reach a MongoDB query or path */
	E("hb_dollar_key_top", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"$where\":\"sleep(1000)\"}"),
	E("hb_dollar_key_nested", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"x\":{\"$set\":{\"state\":\"failed\"}}}"),
	E("hb_dollar_alone", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"$\":1}"),
	E("hb_dotted_key", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"claude.sid\":\"x\"}"),
	E("hb_empty_key", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"\":1}"),
	E("hb_escaped_dollar_key", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"\\u0024where\":1}"),
	E("hb_escaped_dot_key", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"a\\u002eb\":1}"),
	E("hb_dollar_key_in_array", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"x\":[1,{\"$inc\":{\"seq\":1}}]}"),
	E("hb_operator_as_session", HWT_H_HB, HW_R_BAD_KEY, "{\"v\":1,\"session\":{\"$ne\":null},\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_operator_in_progress", HWT_H_HB, HW_R_BAD_KEY, HB_HEAD ",\"progress\":{\"prompts\":{\"$gt\":0},\"tools\":0,\"last_activity_ts\":0}}"),
	E("birth_operator_as_machine", HWT_H_BIRTH, HW_R_BAD_KEY, "{\"v\":1," S ",\"machine\":{\"$regex\":\".*\"},\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),
	E("ev_dotted_key_in_exit", HWT_H_EV, HW_R_BAD_KEY, EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":0,\"signal\":null,\"a.b\":1}}"),
	E("status_dollar_key", HWT_H_STATUS, HW_R_BAD_KEY, ST_HEAD ",\"status\":\"online\",\"ts\":1,\"$unset\":{\"machine\":1}}"),
	EV_("query_operator_filter", HWT_H_QUERY, "sessions", HW_R_BAD_KEY, "{\"machine\":{\"$ne\":\"\"}}"),
	EV_("query_where", HWT_H_QUERY, "sessions", HW_R_BAD_KEY, "{\"$where\":\"this.state=='lost'\"}"),
	EV_("command_dollar_key", HWT_H_COMMAND, "clear", HW_R_BAD_KEY, "{\"session\":\"hostile-s\",\"$set\":{\"state\":\"active\"}}"),
	E("pause_dollar_key", HWT_H_PAUSE, HW_R_BAD_KEY, "{\"v\":1,\"paused\":false,\"$rename\":{\"a\":\"b\"}}"),

	/* ---- missing keys and types */
	E("hb_session_missing", HWT_H_HB, HW_R_MISSING_KEY, "{\"v\":1,\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_interval_missing", HWT_H_HB, HW_R_MISSING_KEY, "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":1}"),
	E("birth_machine_missing", HWT_H_BIRTH, HW_R_MISSING_KEY, "{\"v\":1," S ",\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),
	E("ev_type_missing", HWT_H_EV, HW_R_MISSING_KEY, EV_HEAD "}"),
	E("ev_claude_sid_missing", HWT_H_EV, HW_R_MISSING_KEY, EV_HEAD ",\"type\":\"claude_sid\",\"source\":\"resume\"}"),
	E("ev_exit_signal_missing", HWT_H_EV, HW_R_MISSING_KEY, EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":1}}"),
	E("status_missing_status", HWT_H_STATUS, HW_R_MISSING_KEY, ST_HEAD ",\"ts\":1}"),
	E("status_online_missing_ts", HWT_H_STATUS, HW_R_MISSING_KEY, ST_HEAD ",\"status\":\"online\"}"),
	EV_("command_claim_missing_claimant", HWT_H_COMMAND, "claim", HW_R_MISSING_KEY, "{\"session\":\"hostile-s\"}"),
	E("pause_paused_missing", HWT_H_PAUSE, HW_R_MISSING_KEY, "{\"v\":1,\"reason\":\"x\"}"),
	E("hb_epoch_string", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"epoch\":\"1\",\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_seq_double", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"epoch\":1,\"seq\":1.5,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_interval_exponent", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5e3}"),
	E("hb_session_number", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1,\"session\":42,\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_array", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1,\"session\":[\"hostile-s\"],\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_seq_null", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"epoch\":1,\"seq\":null,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_seq_bool", HWT_H_HB, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"epoch\":1,\"seq\":true,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_child_string", HWT_H_HB, HW_R_WRONG_TYPE, HB_HEAD ",\"child\":\"pid 1\"}"),
	E("birth_argv_string", HWT_H_BIRTH, HW_R_WRONG_TYPE, BIRTH_HEAD ",\"argv\":\"rm -rf /\"}"),
	E("birth_argv_number_entry", HWT_H_BIRTH, HW_R_WRONG_TYPE, BIRTH_HEAD ",\"argv\":[\"a\",1]}"),
	E("birth_huge_double", HWT_H_BIRTH, HW_R_WRONG_TYPE, "{\"v\":1," S ",\"machine\":\"hostile-m\",\"epoch\":1e400,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),

	/* ---- ids */
	E("hb_session_slash", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"a/b\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_plus", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"a+\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_hash", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"#\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_dollar", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"$SYS\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_65_chars", HWT_H_HB, HW_R_BAD_ID,
			"{\"v\":1,\"session\":\"s1234567890123456789012345678901234567890123456789012345678901234\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_empty", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_space", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"a b\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_unicode", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"s\xc3\xa9\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_session_escaped_slash", HWT_H_HB, HW_R_BAD_ID, "{\"v\":1,\"session\":\"a\\u002fb\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("birth_machine_dotdot_path", HWT_H_BIRTH, HW_R_BAD_ID, "{\"v\":1," S ",\"machine\":\"../etc\",\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),
	E("birth_project_wildcard", HWT_H_BIRTH, HW_R_BAD_ID, BIRTH_HEAD ",\"project\":\"+\"}"),
	EV_("command_release_token_space", HWT_H_COMMAND, "release", HW_R_BAD_ID, "{\"session\":\"hostile-s\",\"token\":\"a token\"}"),

	/* ---- numbers out of range */
	E("hb_interval_too_small", HWT_H_HB, HW_R_OUT_OF_RANGE, "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":1}"),
	E("hb_interval_too_large", HWT_H_HB, HW_R_OUT_OF_RANGE, "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":3600001}"),
	E("hb_epoch_negative", HWT_H_HB, HW_R_OUT_OF_RANGE, "{\"v\":1," S ",\"epoch\":-1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_seq_2_pow_63", HWT_H_HB, HW_R_OUT_OF_RANGE, "{\"v\":1," S ",\"epoch\":1,\"seq\":9223372036854775808,\"ts\":1,\"interval_ms\":5000}"),
	E("hb_ts_below_int64", HWT_H_HB, HW_R_OUT_OF_RANGE, "{\"v\":1," S ",\"epoch\":1,\"seq\":1,\"ts\":-9223372036854775809,\"interval_ms\":5000}"),
	E("hb_grace_too_large", HWT_H_HB, HW_R_OUT_OF_RANGE, HB_HEAD ",\"grace_ms\":86400001}"),
	E("hb_child_pid_zero", HWT_H_HB, HW_R_OUT_OF_RANGE, HB_HEAD ",\"child\":{\"pid\":0,\"proc\":\"S\",\"cpu_ms\":1}}"),
	E("birth_pid_too_large", HWT_H_BIRTH, HW_R_OUT_OF_RANGE, BIRTH_HEAD ",\"pid\":4194305}"),
	E("ev_exit_code_256", HWT_H_EV, HW_R_OUT_OF_RANGE, EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":256,\"signal\":null}}"),
	E("ev_exit_signal_65", HWT_H_EV, HW_R_OUT_OF_RANGE, EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":null,\"signal\":65}}"),
	EV_("query_limit_zero", HWT_H_QUERY, "sessions", HW_R_OUT_OF_RANGE, "{\"limit\":0}"),
	EV_("query_limit_huge", HWT_H_QUERY, "events", HW_R_OUT_OF_RANGE, "{\"limit\":100000000}"),
	E("agent_cmd_signal_zero", HWT_H_AGENT_CMD, HW_R_OUT_OF_RANGE, "{\"v\":1,\"cmd\":\"stop\",\"signal\":0}"),
	E("pause_resume_negative", HWT_H_PAUSE, HW_R_OUT_OF_RANGE, "{\"v\":1,\"paused\":true,\"resume_at\":-5}"),

	/* ---- values */
	E("hb_state_unknown", HWT_H_HB, HW_R_BAD_VALUE, HB_HEAD ",\"state\":\"running\"}"),
	E("hb_state_collector_only", HWT_H_HB, HW_R_BAD_VALUE, HB_HEAD ",\"state\":\"completed\"}"),
	E("hb_proc_two_letters", HWT_H_HB, HW_R_BAD_VALUE, HB_HEAD ",\"child\":{\"pid\":1,\"proc\":\"RR\",\"cpu_ms\":1}}"),
	E("ev_type_unknown", HWT_H_EV, HW_R_BAD_VALUE, EV_HEAD ",\"type\":\"drop_database\"}"),
	E("ev_exit_both", HWT_H_EV, HW_R_BAD_VALUE, EV_HEAD ",\"type\":\"exit\",\"exit\":{\"code\":1,\"signal\":9}}"),
	E("ev_source_unknown", HWT_H_EV, HW_R_BAD_VALUE, EV_HEAD ",\"type\":\"claude_sid\",\"claude_sid\":\"c-1\",\"source\":\"hack\"}"),
	E("ev_hook_digits", HWT_H_EV, HW_R_BAD_VALUE, EV_HEAD ",\"type\":\"hook\",\"hook\":\"Pre1\"}"),
	E("birth_agent_control_char", HWT_H_BIRTH, HW_R_BAD_VALUE, BIRTH_HEAD ",\"agent\":\"hw\\u0007\"}"),
	E("status_unknown", HWT_H_STATUS, HW_R_BAD_VALUE, ST_HEAD ",\"status\":\"pwned\",\"ts\":1}"),
	E("status_lost_with_exit", HWT_H_STATUS, HW_R_BAD_VALUE, ST_HEAD ",\"status\":\"lost\",\"exit\":{\"code\":0,\"signal\":null}}"),
	EV_("query_unknown_verb", HWT_H_QUERY, "dropDatabase", HW_R_BAD_VALUE, "{}"),
	EV_("query_command_verb", HWT_H_QUERY, "fail", HW_R_BAD_VALUE, "{\"session\":\"hostile-s\"}"),
	EV_("command_query_verb", HWT_H_COMMAND, "sessions", HW_R_BAD_VALUE, "{}"),
	EV_("query_state_operator", HWT_H_QUERY, "sessions", HW_R_BAD_VALUE, "{\"states\":[\"$ne\"]}"),
	EV_("query_cursor_space", HWT_H_QUERY, "events", HW_R_BAD_VALUE, "{\"cursor\":\"a b\"}"),
	E("agent_cmd_unknown", HWT_H_AGENT_CMD, HW_R_BAD_VALUE, "{\"v\":1,\"cmd\":\"exec\",\"reason\":\"rm -rf /\"}"),

	/* ---- strings over their limits */
	EG("hb_task_513", HWT_H_HB, NULL, HW_R_TOO_LARGE, gen_task_long),
	EG("hb_task_513_bytes_multibyte", HWT_H_HB, NULL, HW_R_TOO_LARGE, gen_task_long_multibyte),
	EG("ev_text_escapes_1200_bytes", HWT_H_EV, NULL, HW_R_TOO_LARGE, gen_ev_text_escapes),
	EG("birth_cwd_1025", HWT_H_BIRTH, NULL, HW_R_TOO_LARGE, gen_cwd_long),
	EG("birth_argv_entry_4097", HWT_H_BIRTH, NULL, HW_R_TOO_LARGE, gen_argv_entry_long),
	EG("query_reply_to_257", HWT_H_QUERY, "session", HW_R_TOO_LARGE, gen_reply_to_long),

	/* ---- request routing */
	EV_("query_reply_to_wildcard", HWT_H_QUERY, "session", HW_R_WILDCARD, "{\"session\":\"s-1\",\"reply_to\":\"heartwire/v1/reply/viewer/#\"}"),

	/* ---- payload vs. topic */
	E("hb_session_mismatch", HWT_H_HB, HW_R_MISMATCH, "{\"v\":1,\"session\":\"other-s\",\"epoch\":1,\"seq\":1,\"ts\":1,\"interval_ms\":5000}"),
	E("birth_machine_mismatch", HWT_H_BIRTH, HW_R_MISMATCH, "{\"v\":1," S ",\"machine\":\"other-m\",\"epoch\":1,\"seq\":0,\"ts\":1,\"interval_ms\":5000}"),
	E("status_session_mismatch", HWT_H_STATUS, HW_R_MISMATCH, "{\"v\":1,\"session\":\"other-s\",\"epoch\":1,\"status\":\"lost\"}"),

	/* ---- topics */
	E("topic_plus_machine", HWT_H_TOPIC, HW_R_WILDCARD, "@ROOT@/m/+/s/hostile-s/hb"),
	E("topic_hash_tail", HWT_H_TOPIC, HW_R_WILDCARD, "@ROOT@/m/hostile-m/s/#"),
	E("topic_plus_inside_level", HWT_H_TOPIC, HW_R_WILDCARD, "@ROOT@/m/a+b/s/hostile-s/hb"),
	E("topic_empty_level", HWT_H_TOPIC, HW_R_EMPTY_LEVEL, "@ROOT@/m//s/hostile-s/hb"),
	E("topic_trailing_slash", HWT_H_TOPIC, HW_R_EMPTY_LEVEL, AGENT_TOPIC "hb/"),
	E("topic_leading_slash", HWT_H_TOPIC, HW_R_EMPTY_LEVEL, "/@ROOT@/m/hostile-m/s/hostile-s/hb"),
	E("topic_other_root", HWT_H_TOPIC, HW_R_BAD_ROOT, "heartwire/v0/m/hostile-m/s/hostile-s/hb"),
	E("topic_sys", HWT_H_TOPIC, HW_R_BAD_ROOT, "$SYS/broker/clients"),
	E("topic_unknown_kind", HWT_H_TOPIC, HW_R_BAD_TOPIC, AGENT_TOPIC "drop"),
	E("topic_extra_level", HWT_H_TOPIC, HW_R_BAD_TOPIC, AGENT_TOPIC "hb/x"),
	E("topic_root_only", HWT_H_TOPIC, HW_R_BAD_TOPIC, "@ROOT@"),
	E("topic_machine_space", HWT_H_TOPIC, HW_R_BAD_ID, "@ROOT@/m/a b/s/hostile-s/hb"),
	E("topic_session_dollar", HWT_H_TOPIC, HW_R_BAD_ID, "@ROOT@/m/hostile-m/s/$x/hb"),
	E("topic_dotdot_machine", HWT_H_TOPIC, HW_R_BAD_ID, "@ROOT@/state/m/..\\x"),
	EB("topic_invalid_utf8", HWT_H_TOPIC, HW_R_BAD_UTF8, "@ROOT@/m/\xc0\xaf/s/hostile-s/hb"),
	EB("topic_nul", HWT_H_TOPIC, HW_R_BAD_UTF8, "@ROOT@/m/a\0b/s/hostile-s/hb"),
	EB("topic_empty", HWT_H_TOPIC, HW_R_EMPTY, ""),
	EG("topic_over_288", HWT_H_TOPIC, NULL, HW_R_TOO_LARGE, gen_topic_long),
};
/* clang-format on */

#define CORPUS_N (sizeof(corpus) / sizeof(corpus[0]))

size_t hwt_hostile_count(void)
{
	return CORPUS_N;
}

const hwt_hostile_t *hwt_hostile_at(size_t i)
{
	return i < CORPUS_N ? &corpus[i] : NULL;
}

const char *hwt_hostile_target_name(int target)
{
	return target >= 0 && target < HWT_H__COUNT ? target_names[target] : "unknown";
}

const char *hwt_hostile_control(int target)
{
	return target >= 0 && target < HWT_H__COUNT ? controls[target] : NULL;
}

/* The raw text of h (payload, or topic template for HWT_H_TOPIC): heap copy in *buf. */
static int raw_text(const hwt_hostile_t *h, char **buf, size_t *len)
{
	size_t n;

	if(h->gen){
		*buf = h->gen(len);
		return *buf ? 0 : -1;
	}
	n = h->len ? h->len : strlen(h->text);
	*buf = malloc(n + 1);
	if(!*buf) return -1;
	memcpy(*buf, h->text, n);
	(*buf)[n] = '\0';
	*len = n;
	return 0;
}

int hwt_hostile_payload(const hwt_hostile_t *h, char **buf, size_t *len)
{
	if(h->target == HWT_H_TOPIC){
		const char *c = controls[HWT_H_HB];
		size_t n = strlen(c);

		*buf = malloc(n + 1);
		if(!*buf) return -1;
		memcpy(*buf, c, n + 1);
		*len = n;
		return 0;
	}
	return raw_text(h, buf, len);
}

/* Appends n bytes to buf at *at; false when it does not fit (with a NUL). */
static bool put(char *buf, size_t len, size_t *at, const char *s, size_t n)
{
	if(*at + n + 1 > len) return false;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
	return true;
}

int hwt_hostile_topic(const hwt_hostile_t *h, const char *root, const char *machine, char *buf, size_t len, size_t *topic_len)
{
	/* clang-format off */
	static const char *const kinds[] = {
		[HWT_H_BIRTH] = "birth", [HWT_H_HB] = "hb", [HWT_H_EV] = "ev", [HWT_H_STATUS] = "status",
		[HWT_H_AGENT_CMD] = "cmd",
	};
	/* clang-format on */
	const char *ph = "@ROOT@";
	size_t at = 0, n = 0, phn = strlen(ph);
	char *text = NULL;
	bool ok = true;

	if(!root) root = ROOT_DEFAULT;
	if(!machine) machine = HWT_HOSTILE_MACHINE;
	if(len == 0) return -1;
	buf[0] = '\0';
	switch(h->target){
	case HWT_H_BIRTH:
	case HWT_H_HB:
	case HWT_H_EV:
	case HWT_H_STATUS:
	case HWT_H_AGENT_CMD:
		n = (size_t)snprintf(buf, len, "%s/m/%s/s/%s/%s", root, machine, HWT_HOSTILE_SESSION, kinds[h->target]);
		ok = n < len;
		break;
	case HWT_H_QUERY:
	case HWT_H_COMMAND:
		n = (size_t)snprintf(buf, len, "%s/%s/%s", root, h->target == HWT_H_QUERY ? "q" : "cmd", h->verb);
		ok = n < len;
		break;
	case HWT_H_PAUSE:
		n = (size_t)snprintf(buf, len, "%s/state/pause", root);
		ok = n < len;
		break;
	case HWT_H_TOPIC:
		if(raw_text(h, &text, &n) != 0) return -1;
		for(size_t i = 0; i < n && ok;){
			if(n - i >= phn && memcmp(text + i, ph, phn) == 0){
				ok = put(buf, len, &at, root, strlen(root));
				i += phn;
			}else{
				ok = put(buf, len, &at, text + i, 1);
				i++;
			}
		}
		free(text);
		n = at;
		break;
	default:
		return -1;
	}
	if(!ok){
		buf[0] = '\0';
		return -1;
	}
	if(topic_len) *topic_len = n;
	return 0;
}

bool hwt_hostile_publishable(const hwt_hostile_t *h)
{
	char topic[2048];
	size_t n = 0;

	if(hwt_hostile_topic(h, NULL, NULL, topic, sizeof(topic), &n) != 0) return false;
	if(n == 0 || n > 65535) return false;
	if(memchr(topic, '\0', n) || memchr(topic, '+', n) || memchr(topic, '#', n)) return false;
	/* Invalid UTF-8 in a topic is a protocol error: the broker drops the connection. */
	for(size_t i = 0; i < n; i++){
		if((unsigned char)topic[i] >= 0x80){
			hw_error_t e;

			/* The topic parser checks UTF-8 first among the byte faults; reuse it. */
			if(hw_topic_parse(NULL, topic, n, NULL, &e) != HW_OK && e.reason == HW_R_BAD_UTF8) return false;
			break;
		}
	}
	return true;
}

int hwt_hostile_refusal(const hwt_hostile_t *h, hw_error_t *err)
{
	hw_error_t local;
	char topic[2048];
	size_t tlen = 0, plen = 0;
	char *payload = NULL;
	hw_topic_t t;
	int rc = HW_OK;

	if(!err) err = &local;
	hw_error_clear(err);
	if(hwt_hostile_topic(h, NULL, NULL, topic, sizeof(topic), &tlen) != 0) return -1;
	if(hw_topic_parse(NULL, topic, tlen, &t, err) != HW_OK) return err->reason;
	if(hwt_hostile_payload(h, &payload, &plen) != 0) return -1;
	switch(h->target){
	case HWT_H_BIRTH: {
		hw_birth_t b;

		rc = hw_birth_decode(payload, plen, &b, err);
		if(rc == HW_OK){
			rc = hw_msg_check_topic(&t, b.session, b.machine, err);
			hw_birth_cleanup(&b);
		}
		break;
	}
	case HWT_H_HB:
	case HWT_H_TOPIC: {
		hw_hb_t hb;

		rc = hw_hb_decode(payload, plen, &hb, err);
		if(rc == HW_OK) rc = hw_msg_check_topic(&t, hb.session, NULL, err);
		break;
	}
	case HWT_H_EV: {
		hw_ev_t ev;

		rc = hw_ev_decode(payload, plen, &ev, err);
		if(rc == HW_OK) rc = hw_msg_check_topic(&t, ev.session, NULL, err);
		break;
	}
	case HWT_H_STATUS: {
		hw_status_t st;

		rc = hw_status_decode(payload, plen, &st, err);
		if(rc == HW_OK) rc = hw_msg_check_topic(&t, st.session, NULL, err);
		break;
	}
	case HWT_H_QUERY:
	case HWT_H_COMMAND: {
		hw_request_t r;

		rc = hw_request_decode(t.kind, t.id, payload, plen, &r, err);
		break;
	}
	case HWT_H_AGENT_CMD: {
		hw_cmd_t c;

		rc = hw_cmd_decode(payload, plen, &c, err);
		break;
	}
	case HWT_H_PAUSE: {
		hw_pause_t p;

		rc = hw_pause_decode(payload, plen, &p, err);
		break;
	}
	default:
		rc = hw_error_set(err, HW_ERR_INVAL, "unknown target %d", h->target);
		break;
	}
	free(payload);
	if(rc == HW_ERR_NOMEM) return -1;
	if(rc == HW_OK) return HW_R_NONE;
	/* A refusal without a reason is a codec bug; report it as such (never HW_R_NONE). */
	return err->reason != HW_R_NONE ? err->reason : HW_R__COUNT;
}

/* ---- random payloads ---------------------------------------------------------------------- */

uint64_t hwt_rand_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x2545f4914f6cdd1dULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* clang-format off */
static const char *const tokens[] = {
	"{", "}", "[", "]", ":", ",", "\"", "\"v\"", "1", "0", "-1", "\"session\"", "\"machine\"",
	"\"epoch\"", "\"$set\"", "\"$where\"", "\"a.b\"", "\"\"", "null", "true", "false", "1e999",
	"9223372036854775808", "-0", "1.5", "\"\\u0000\"", "\"\\ud800\"", "\"\\u0024gt\"", "\"hostile-s\"",
	"\"interval_ms\"", "5000", "\"type\"", "\"exit\"", "\"state\"", "\" \"", "\\", "\n", " ",
	"\xc0\xaf", "\xff", "\"\xe2\x82\xac\"", "NaN", "/*", "*/", "\"argv\"", "\"child\"",
};
/* clang-format on */

size_t hwt_random_payload(uint64_t *state, unsigned char *buf, size_t cap)
{
	uint64_t r = hwt_rand_next(state);
	size_t want, n = 0;
	int kind = (int)(r % 3);

	if(cap == 0) return 0;
	/* Mostly short payloads (what a flood sends), sometimes up to the whole buffer. */
	want = (r >> 8) % 8 == 0 ? (size_t)((r >> 16) % cap) : (size_t)((r >> 16) % (cap < 512 ? cap : 512));
	if(kind == 0){
		while(n < want){
			uint64_t x = hwt_rand_next(state);

			for(int i = 0; i < 8 && n < want; i++) buf[n++] = (unsigned char)(x >> (8 * i));
		}
	}else if(kind == 1){
		while(n < want) buf[n++] = (unsigned char)(0x20 + hwt_rand_next(state) % 95);
	}else{
		size_t nt = sizeof(tokens) / sizeof(tokens[0]);

		/* Starts with '{' half the time, so the parser gets past the first byte. */
		if(want > 0 && hwt_rand_next(state) % 2) buf[n++] = '{';
		while(n < want){
			const char *t = tokens[hwt_rand_next(state) % nt];
			size_t tl = strlen(t);

			if(n + tl > want) break;
			memcpy(buf + n, t, tl);
			n += tl;
		}
	}
	return n;
}
