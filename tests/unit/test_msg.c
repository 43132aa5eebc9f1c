/* test_msg.c: the codec's refusals: a table of malformed inputs, each asserting the exact
 * hw_reason, and the boundary values (64 KiB, depth 8, 64-character ids, argv and member
 * counts). Round trips and encodings are in test_msg_codec.c.
 *
 * In the table, a backtick stands for a double quote so that the JSON stays readable:
 * {`v`:1} is {"v":1}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/msg.h"
#include "hwtest.h"

enum { K_BIRTH, K_HB, K_EV, K_STATUS, K_SESSION, K_QUERY, K_COMMAND, K_REPLY };

typedef struct bad_case {
	const char *name;
	int kind;
	const char *verb; /* K_QUERY / K_COMMAND */
	const char *json; /* backticks become double quotes */
	size_t len;       /* 0: strlen(json) */
	int reason;
} bad_case_t;

/* Valid heads of each message, to which a case adds one fault. */
#define BIRTH "`v`:1,`session`:`s-42`,`machine`:`build-07`,`epoch`:4,`seq`:0,`ts`:1,`interval_ms`:5000"
#define HB "`v`:1,`session`:`s-42`,`epoch`:4,`seq`:17,`ts`:1,`interval_ms`:5000"
#define EVH "`v`:1,`session`:`s-42`,`epoch`:4,`seq`:18,`ts`:1"
#define ST "`v`:1,`session`:`s-42`,`epoch`:4"
#define DOC "`v`:1,`session`:`s-42`,`machine`:`m1`,`state`:`active`,`epoch`:1,`version`:3,`updated_at`:9"

/* clang-format off */
static const bad_case_t bad_cases[] = {
	/* empty */
	{"empty payload", K_BIRTH, NULL, "", 0, HW_R_EMPTY},
	{"only whitespace", K_HB, NULL, "  \n\t ", 0, HW_R_EMPTY},
	{"empty request", K_QUERY, "sessions", "", 0, HW_R_EMPTY},
	/* UTF-8 */
	{"invalid byte 0xff", K_BIRTH, NULL, "{" BIRTH ",`task`:`a\xff`}", 0, HW_R_BAD_UTF8},
	{"overlong 2-byte '/'", K_BIRTH, NULL, "{" BIRTH ",`task`:`\xc0\xaf`}", 0, HW_R_BAD_UTF8},
	{"overlong 3-byte", K_HB, NULL, "{" HB ",`task`:`\xe0\x80\xaf`}", 0, HW_R_BAD_UTF8},
	{"overlong 4-byte", K_HB, NULL, "{" HB ",`task`:`\xf0\x80\x80\xaf`}", 0, HW_R_BAD_UTF8},
	{"UTF-8 surrogate D800", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\xed\xa0\x80`}", 0, HW_R_BAD_UTF8},
	{"code point over U+10FFFF", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\xf4\x90\x80\x80`}", 0,
			HW_R_BAD_UTF8},
	{"truncated sequence at end", K_STATUS, NULL, "{" ST ",`status`:`lost`}\xe2\x82", 0, HW_R_BAD_UTF8},
	{"lone continuation byte", K_STATUS, NULL, "{" ST ",`status`:`lost`,`x`:`\x80`}", 0, HW_R_BAD_UTF8},
	{"NUL byte", K_BIRTH, NULL, "{" BIRTH ",`task`:`a\0b`}", sizeof("{" BIRTH ",`task`:`a\0b`}") - 1,
			HW_R_BAD_UTF8},
	{"\\u0000 in a value", K_BIRTH, NULL, "{" BIRTH ",`task`:`a\\u0000b`}", 0, HW_R_BAD_UTF8},
	{"\\u0000 in a key", K_HB, NULL, "{" HB ",`a\\u0000b`:1}", 0, HW_R_BAD_UTF8},
	{"lone high surrogate escape", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\\ud800`}", 0, HW_R_BAD_UTF8},
	{"lone low surrogate escape", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\\udc00x`}", 0, HW_R_BAD_UTF8},
	{"high surrogate then non-surrogate", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\\ud83d\\u0041`}", 0,
			HW_R_BAD_UTF8},
	/* JSON syntax */
	{"not JSON", K_BIRTH, NULL, "hello", 0, HW_R_BAD_JSON},
	{"truncated object", K_BIRTH, NULL, "{" BIRTH, 0, HW_R_BAD_JSON},
	{"trailing garbage", K_HB, NULL, "{" HB "} x", 0, HW_R_BAD_JSON},
	{"two objects", K_HB, NULL, "{" HB "}{}", 0, HW_R_BAD_JSON},
	{"trailing comma", K_EV, NULL, "{" EVH ",`type`:`idle`,}", 0, HW_R_BAD_JSON},
	{"single quotes", K_EV, NULL, "{" EVH ",`type`:'idle'}", 0, HW_R_BAD_JSON},
	{"unquoted key", K_STATUS, NULL, "{" ST ",status:`lost`}", 0, HW_R_BAD_JSON},
	{"NaN", K_HB, NULL, "{" HB ",`x`:NaN}", 0, HW_R_BAD_JSON},
	{"Infinity", K_HB, NULL, "{" HB ",`x`:Infinity}", 0, HW_R_BAD_JSON},
	{"raw tab in a string", K_BIRTH, NULL, "{" BIRTH ",`task`:`a\tb`}", 0, HW_R_BAD_JSON},
	{"comment", K_STATUS, NULL, "{" ST ",`status`:`lost`}/* c */", 0, HW_R_BAD_JSON},
	{"leading zero", K_HB, NULL, "{" HB ",`x`:01}", 0, HW_R_BAD_JSON},
	{"bad escape", K_EV, NULL, "{" EVH ",`type`:`idle`,`text`:`\\x`}", 0, HW_R_BAD_JSON},
	{"byte order mark", K_STATUS, NULL, "\xef\xbb\xbf{" ST ",`status`:`lost`}", 0, HW_R_BAD_JSON},
	/* not an object */
	{"array", K_BIRTH, NULL, "[1,2]", 0, HW_R_NOT_OBJECT},
	{"string", K_HB, NULL, "`hb`", 0, HW_R_NOT_OBJECT},
	{"number", K_EV, NULL, "42", 0, HW_R_NOT_OBJECT},
	{"null", K_STATUS, NULL, "null", 0, HW_R_NOT_OBJECT},
	{"true", K_REPLY, NULL, " true", 0, HW_R_NOT_OBJECT},
	/* version */
	{"v missing", K_BIRTH, NULL, "{`session`:`s-42`,`machine`:`m`,`epoch`:4,`seq`:0,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_BAD_VERSION},
	{"v 2", K_HB, NULL, "{`v`:2,`session`:`s-42`,`epoch`:4,`seq`:17,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_BAD_VERSION},
	{"v as a string", K_STATUS, NULL, "{`v`:`1`,`session`:`s-42`,`epoch`:4,`status`:`lost`}", 0, HW_R_BAD_VERSION},
	{"v as a double", K_EV, NULL, "{`v`:1.0,`session`:`s`,`epoch`:4,`seq`:1,`ts`:1,`type`:`end`}", 0,
			HW_R_BAD_VERSION},
	{"request v 2", K_QUERY, "stats", "{`v`:2}", 0, HW_R_BAD_VERSION},
	{"session document without v", K_SESSION, NULL,
			"{`session`:`s`,`machine`:`m`,`state`:`active`,`epoch`:1,`version`:1,`updated_at`:1}", 0,
			HW_R_BAD_VERSION},
	/* missing keys */
	{"session missing", K_STATUS, NULL, "{`v`:1,`epoch`:4,`status`:`lost`}", 0, HW_R_MISSING_KEY},
	{"epoch missing", K_STATUS, NULL, "{`v`:1,`session`:`s`,`status`:`lost`}", 0, HW_R_MISSING_KEY},
	{"birth machine missing", K_BIRTH, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`seq`:0,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_MISSING_KEY},
	{"birth interval missing", K_BIRTH, NULL, "{`v`:1,`session`:`s`,`machine`:`m`,`epoch`:4,`seq`:0,`ts`:1}", 0,
			HW_R_MISSING_KEY},
	{"hb seq missing", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`ts`:1,`interval_ms`:5000}", 0, HW_R_MISSING_KEY},
	{"hb ts missing", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`seq`:1,`interval_ms`:5000}", 0, HW_R_MISSING_KEY},
	{"hb child without cpu_ms", K_HB, NULL, "{" HB ",`child`:{`pid`:5,`proc`:`S`}}", 0, HW_R_MISSING_KEY},
	{"ev type missing", K_EV, NULL, "{" EVH "}", 0, HW_R_MISSING_KEY},
	{"ev task without task", K_EV, NULL, "{" EVH ",`type`:`task`,`text`:`x`}", 0, HW_R_MISSING_KEY},
	{"ev claude_sid without source", K_EV, NULL, "{" EVH ",`type`:`claude_sid`,`claude_sid`:`abc`}", 0,
			HW_R_MISSING_KEY},
	{"ev claude_sid without sid", K_EV, NULL, "{" EVH ",`type`:`claude_sid`,`source`:`resume`}", 0,
			HW_R_MISSING_KEY},
	{"ev hook without hook", K_EV, NULL, "{" EVH ",`type`:`hook`}", 0, HW_R_MISSING_KEY},
	{"ev progress without progress", K_EV, NULL, "{" EVH ",`type`:`progress`}", 0, HW_R_MISSING_KEY},
	{"ev progress without tools", K_EV, NULL,
			"{" EVH ",`type`:`progress`,`progress`:{`prompts`:1,`last_activity_ts`:2}}", 0, HW_R_MISSING_KEY},
	{"ev exit without exit", K_EV, NULL, "{" EVH ",`type`:`exit`}", 0, HW_R_MISSING_KEY},
	{"exit without signal key", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:0}}", 0, HW_R_MISSING_KEY},
	{"status ended without exit", K_STATUS, NULL, "{" ST ",`status`:`ended`,`ts`:5}", 0, HW_R_MISSING_KEY},
	{"status online without ts", K_STATUS, NULL, "{" ST ",`status`:`online`}", 0, HW_R_MISSING_KEY},
	{"status missing", K_STATUS, NULL, "{" ST ",`ts`:5}", 0, HW_R_MISSING_KEY},
	{"document without updated_at", K_SESSION, NULL,
			"{`v`:1,`session`:`s`,`machine`:`m`,`state`:`active`,`epoch`:1,`version`:1}", 0, HW_R_MISSING_KEY},
	{"query session without session", K_QUERY, "session", "{}", 0, HW_R_MISSING_KEY},
	{"claim without claimant", K_COMMAND, "claim", "{`session`:`s-1`}", 0, HW_R_MISSING_KEY},
	{"release without token", K_COMMAND, "release", "{`session`:`s-1`}", 0, HW_R_MISSING_KEY},
	{"fail without session", K_COMMAND, "fail", "{`reason`:`x`}", 0, HW_R_MISSING_KEY},
	{"reply without ok", K_REPLY, NULL, "{`sessions`:[]}", 0, HW_R_MISSING_KEY},
	{"failed reply without error", K_REPLY, NULL, "{`ok`:false}", 0, HW_R_MISSING_KEY},
	{"reply error without message", K_REPLY, NULL, "{`ok`:false,`error`:{`code`:`conflict`}}", 0, HW_R_MISSING_KEY},
	/* wrong types */
	{"epoch as a string", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:`4`,`seq`:1,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_WRONG_TYPE},
	{"epoch as a double", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:4.0,`seq`:1,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_WRONG_TYPE},
	{"seq in exponent form", K_EV, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`seq`:1e3,`ts`:1,`type`:`end`}", 0,
			HW_R_WRONG_TYPE},
	{"ts as a boolean", K_STATUS, NULL, "{" ST ",`status`:`online`,`ts`:true}", 0, HW_R_WRONG_TYPE},
	{"session as a number", K_STATUS, NULL, "{`v`:1,`session`:42,`epoch`:4,`status`:`lost`}", 0, HW_R_WRONG_TYPE},
	{"task null", K_BIRTH, NULL, "{" BIRTH ",`task`:null}", 0, HW_R_WRONG_TYPE},
	{"argv not an array", K_BIRTH, NULL, "{" BIRTH ",`argv`:`claude -p`}", 0, HW_R_WRONG_TYPE},
	{"argv entry a number", K_BIRTH, NULL, "{" BIRTH ",`argv`:[`claude`,5]}", 0, HW_R_WRONG_TYPE},
	{"child an array", K_HB, NULL, "{" HB ",`child`:[1]}", 0, HW_R_WRONG_TYPE},
	{"progress a string", K_HB, NULL, "{" HB ",`progress`:`x`}", 0, HW_R_WRONG_TYPE},
	{"exit code a string", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:`3`,`signal`:null}}", 0,
			HW_R_WRONG_TYPE},
	{"type a number", K_EV, NULL, "{" EVH ",`type`:3}", 0, HW_R_WRONG_TYPE},
	{"document resumable as 1", K_SESSION, NULL, "{" DOC ",`claude`:{`resumable`:1}}", 0, HW_R_WRONG_TYPE},
	{"document chain entry a string", K_SESSION, NULL, "{" DOC ",`claude`:{`chain`:[`abc`]}}", 0, HW_R_WRONG_TYPE},
	{"states a string", K_QUERY, "sessions", "{`states`:`stalled`}", 0, HW_R_WRONG_TYPE},
	{"limit a string", K_QUERY, "sessions", "{`limit`:`10`}", 0, HW_R_WRONG_TYPE},
	{"reply ok a string", K_REPLY, NULL, "{`ok`:`true`}", 0, HW_R_WRONG_TYPE},
	/* keys */
	{"key $where", K_BIRTH, NULL, "{" BIRTH ",`$where`:1}", 0, HW_R_BAD_KEY},
	{"nested key $gt", K_HB, NULL, "{" HB ",`child`:{`$gt`:1,`pid`:5,`proc`:`S`,`cpu_ms`:1}}", 0, HW_R_BAD_KEY},
	{"dotted key", K_EV, NULL, "{" EVH ",`type`:`end`,`a.b`:1}", 0, HW_R_BAD_KEY},
	{"empty key", K_STATUS, NULL, "{" ST ",`status`:`lost`,``:1}", 0, HW_R_BAD_KEY},
	{"key in an object in an array", K_STATUS, NULL, "{" ST ",`status`:`lost`,`x`:[{`$y`:1}]}", 0, HW_R_BAD_KEY},
	{"dotted key in a request", K_QUERY, "sessions", "{`project.name`:`x`}", 0, HW_R_BAD_KEY},
	{"$ key in a reply", K_REPLY, NULL, "{`ok`:true,`$set`:{}}", 0, HW_R_BAD_KEY},
	/* ids */
	{"session with '/'", K_HB, NULL, "{`v`:1,`session`:`a/b`,`epoch`:4,`seq`:1,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_BAD_ID},
	{"session with '+'", K_STATUS, NULL, "{`v`:1,`session`:`a+`,`epoch`:4,`status`:`lost`}", 0, HW_R_BAD_ID},
	{"session empty", K_STATUS, NULL, "{`v`:1,`session`:``,`epoch`:4,`status`:`lost`}", 0, HW_R_BAD_ID},
	{"session with '$'", K_EV, NULL, "{`v`:1,`session`:`$s`,`epoch`:4,`seq`:1,`ts`:1,`type`:`end`}", 0,
			HW_R_BAD_ID},
	{"machine with a space", K_BIRTH, NULL,
			"{`v`:1,`session`:`s`,`machine`:`build 07`,`epoch`:4,`seq`:0,`ts`:1,`interval_ms`:5000}", 0, HW_R_BAD_ID},
	{"claude_sid with '#'", K_EV, NULL, "{" EVH ",`type`:`claude_sid`,`claude_sid`:`a#b`,`source`:`resume`}", 0,
			HW_R_BAD_ID},
	{"project with non-ASCII", K_BIRTH, NULL, "{" BIRTH ",`project`:`caf\xc3\xa9`}", 0, HW_R_BAD_ID},
	{"request project with '$'", K_QUERY, "sessions", "{`project`:`$x`}", 0, HW_R_BAD_ID},
	{"release token with '*'", K_COMMAND, "release", "{`session`:`s`,`token`:`a*b`}", 0, HW_R_BAD_ID},
	{"chain sid with '/'", K_SESSION, NULL, "{" DOC ",`claude`:{`chain`:[{`sid`:`a/b`,`at`:1,`source`:`resume`}]}}",
			0, HW_R_BAD_ID},
	/* ranges */
	{"epoch -1", K_STATUS, NULL, "{`v`:1,`session`:`s`,`epoch`:-1,`status`:`lost`}", 0, HW_R_OUT_OF_RANGE},
	{"interval_ms 99", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`seq`:1,`ts`:1,`interval_ms`:99}", 0,
			HW_R_OUT_OF_RANGE},
	{"interval_ms 3600001", K_BIRTH, NULL,
			"{`v`:1,`session`:`s`,`machine`:`m`,`epoch`:4,`seq`:0,`ts`:1,`interval_ms`:3600001}", 0,
			HW_R_OUT_OF_RANGE},
	{"pid 0", K_BIRTH, NULL, "{" BIRTH ",`pid`:0}", 0, HW_R_OUT_OF_RANGE},
	{"pid 2^22+1", K_BIRTH, NULL, "{" BIRTH ",`pid`:4194305}", 0, HW_R_OUT_OF_RANGE},
	{"grace_ms over a day", K_HB, NULL, "{" HB ",`grace_ms`:86400001}", 0, HW_R_OUT_OF_RANGE},
	{"run -1", K_BIRTH, NULL, "{" BIRTH ",`run`:-1}", 0, HW_R_OUT_OF_RANGE},
	{"exit code 256", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:256,`signal`:null}}", 0, HW_R_OUT_OF_RANGE},
	{"exit code -1", K_STATUS, NULL, "{" ST ",`status`:`ended`,`ts`:1,`exit`:{`code`:-1,`signal`:null}}", 0,
			HW_R_OUT_OF_RANGE},
	{"exit signal 0", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:null,`signal`:0}}", 0, HW_R_OUT_OF_RANGE},
	{"exit signal 65", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:null,`signal`:65}}", 0, HW_R_OUT_OF_RANGE},
	{"child pid 0", K_HB, NULL, "{" HB ",`child`:{`pid`:0,`proc`:`S`,`cpu_ms`:1}}", 0, HW_R_OUT_OF_RANGE},
	{"seq 2^63", K_HB, NULL, "{`v`:1,`session`:`s`,`epoch`:4,`seq`:9223372036854775808,`ts`:1,`interval_ms`:5000}", 0,
			HW_R_OUT_OF_RANGE},
	{"epoch below -2^63", K_STATUS, NULL, "{`v`:1,`session`:`s`,`epoch`:-9223372036854775809,`status`:`lost`}", 0,
			HW_R_OUT_OF_RANGE},
	{"int64 overflow in an unknown key", K_STATUS, NULL, "{" ST ",`status`:`lost`,`x`:99999999999999999999}", 0,
			HW_R_OUT_OF_RANGE},
	{"limit 0", K_QUERY, "sessions", "{`limit`:0}", 0, HW_R_OUT_OF_RANGE},
	{"limit 1001", K_QUERY, "events", "{`limit`:1001}", 0, HW_R_OUT_OF_RANGE},
	{"lease_ms 0", K_COMMAND, "claim", "{`session`:`s`,`claimant`:`m`,`lease_ms`:0}", 0, HW_R_OUT_OF_RANGE},
	{"document interval_ms 50", K_SESSION, NULL, "{" DOC ",`interval_ms`:50}", 0, HW_R_OUT_OF_RANGE},
	/* values */
	{"hb state running", K_HB, NULL, "{" HB ",`state`:`running`}", 0, HW_R_BAD_VALUE},
	{"hb state lost (not the agent's)", K_HB, NULL, "{" HB ",`state`:`lost`}", 0, HW_R_BAD_VALUE},
	{"hb cause missed_heartbeats", K_HB, NULL, "{" HB ",`state`:`stalled`,`cause`:`missed_heartbeats`}", 0,
			HW_R_BAD_VALUE},
	{"hb proc two letters", K_HB, NULL, "{" HB ",`child`:{`pid`:5,`proc`:`RS`,`cpu_ms`:1}}", 0, HW_R_BAD_VALUE},
	{"hb proc a digit", K_HB, NULL, "{" HB ",`child`:{`pid`:5,`proc`:`1`,`cpu_ms`:1}}", 0, HW_R_BAD_VALUE},
	{"ev type crash", K_EV, NULL, "{" EVH ",`type`:`crash`}", 0, HW_R_BAD_VALUE},
	{"ev source reboot", K_EV, NULL, "{" EVH ",`type`:`claude_sid`,`claude_sid`:`a`,`source`:`reboot`}", 0,
			HW_R_BAD_VALUE},
	{"exit with code and signal", K_EV, NULL, "{" EVH ",`type`:`exit`,`exit`:{`code`:1,`signal`:9}}", 0,
			HW_R_BAD_VALUE},
	{"exit with neither", K_STATUS, NULL, "{" ST ",`status`:`ended`,`ts`:1,`exit`:{`code`:null,`signal`:null}}", 0,
			HW_R_BAD_VALUE},
	{"hook with a digit", K_EV, NULL, "{" EVH ",`type`:`hook`,`hook`:`Pre1`}", 0, HW_R_BAD_VALUE},
	{"hook empty", K_EV, NULL, "{" EVH ",`type`:`hook`,`hook`:``}", 0, HW_R_BAD_VALUE},
	{"status dead", K_STATUS, NULL, "{" ST ",`status`:`dead`}", 0, HW_R_BAD_VALUE},
	{"status online with exit", K_STATUS, NULL, "{" ST ",`status`:`online`,`ts`:1,`exit`:{`code`:0,`signal`:null}}",
			0, HW_R_BAD_VALUE},
	{"agent with a control character", K_BIRTH, NULL, "{" BIRTH ",`agent`:`a\\u0001`}", 0, HW_R_BAD_VALUE},
	{"document state none", K_SESSION, NULL,
			"{`v`:1,`session`:`s`,`machine`:`m`,`state`:`none`,`epoch`:1,`version`:1,`updated_at`:1}", 0,
			HW_R_BAD_VALUE},
	{"document cause bogus", K_SESSION, NULL, "{" DOC ",`cause`:`bogus`}", 0, HW_R_BAD_VALUE},
	{"document chain source bogus", K_SESSION, NULL,
			"{" DOC ",`claude`:{`chain`:[{`sid`:`a`,`at`:1,`source`:`bogus`}]}}", 0, HW_R_BAD_VALUE},
	{"unknown verb", K_QUERY, "drop", "{}", 0, HW_R_BAD_VALUE},
	{"query verb on cmd/", K_COMMAND, "sessions", "{}", 0, HW_R_BAD_VALUE},
	{"command verb on q/", K_QUERY, "claim", "{`session`:`s`,`claimant`:`m`}", 0, HW_R_BAD_VALUE},
	{"states with zombie", K_QUERY, "sessions", "{`states`:[`stalled`,`zombie`]}", 0, HW_R_BAD_VALUE},
	{"cursor with a space", K_QUERY, "sessions", "{`cursor`:`a b`}", 0, HW_R_BAD_VALUE},
	{"reply_to empty", K_QUERY, "stats", "{`reply_to`:``}", 0, HW_R_BAD_VALUE},
	{"reply error code with '-'", K_REPLY, NULL, "{`ok`:false,`error`:{`code`:`bad-code`,`message`:`x`}}", 0,
			HW_R_BAD_VALUE},
	/* lengths and counts */
	{"hook of 33 letters", K_EV, NULL, "{" EVH ",`type`:`hook`,`hook`:`ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg`}", 0,
			HW_R_TOO_LARGE},
	{"states with 12 entries", K_QUERY, "sessions",
			"{`states`:[`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`,`lost`]}", 0,
			HW_R_TOO_MANY},
	/* wildcard */
	{"reply_to with '#'", K_QUERY, "sessions", "{`reply_to`:`me/replies/#`}", 0, HW_R_WILDCARD},
	{"reply_to with '+'", K_COMMAND, "pause", "{`reply_to`:`me/+/x`}", 0, HW_R_WILDCARD},
	/* depth */
	{"nesting of 40 arrays", K_HB, NULL, "{" HB ",`x`:[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
			0, HW_R_TOO_DEEP},
};
/* clang-format on */

/* Copies src (len bytes, or strlen when 0) with backticks turned into double quotes. */
static char *unquote(const char *src, size_t len, size_t *outlen)
{
	char *out;

	if(len == 0) len = strlen(src);
	out = malloc(len + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	for(size_t i = 0; i < len; i++) out[i] = src[i] == '`' ? '"' : src[i];
	out[len] = '\0';
	*outlen = len;
	return out;
}

/* Runs the decoder of `kind` and frees whatever it returned. */
static int decode_kind(int kind, const char *verb, const void *buf, size_t len, hw_error_t *err)
{
	int rc = HW_ERR_INVAL;

	switch(kind){
	case K_BIRTH: {
		hw_birth_t m;
		rc = hw_birth_decode(buf, len, &m, err);
		hw_birth_cleanup(&m);
		break;
	}
	case K_HB: {
		hw_hb_t m;
		rc = hw_hb_decode(buf, len, &m, err);
		break;
	}
	case K_EV: {
		hw_ev_t m;
		rc = hw_ev_decode(buf, len, &m, err);
		break;
	}
	case K_STATUS: {
		hw_status_t m;
		rc = hw_status_decode(buf, len, &m, err);
		break;
	}
	case K_SESSION: {
		hw_session_t m;
		rc = hw_session_decode(buf, len, &m, err);
		hw_session_cleanup(&m);
		break;
	}
	case K_QUERY:
	case K_COMMAND: {
		hw_request_t m;
		rc = hw_request_decode(kind == K_QUERY ? HW_T_QUERY : HW_T_COMMAND, verb, buf, len, &m, err);
		break;
	}
	case K_REPLY: {
		hw_reply_t m;
		rc = hw_reply_decode(buf, len, &m, err);
		hw_reply_cleanup(&m);
		break;
	}
	default:
		break;
	}
	return rc;
}

static void TEST_malformed_table(void)
{
	size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);
	bool seen[HW_R__COUNT] = {false};
	int wrong = 0;

	CU_ASSERT(n >= 45);
	for(size_t i = 0; i < n; i++){
		const bad_case_t *c = &bad_cases[i];
		hw_error_t err = {0};
		size_t len;
		char *buf = unquote(c->json, c->len, &len);
		int rc = decode_kind(c->kind, c->verb, buf, len, &err);

		if(rc != HW_ERR_DECODE || err.code != HW_ERR_DECODE || err.reason != c->reason || !err.msg[0]){
			fprintf(stderr, "case '%s': rc %d reason %s (want %s): %s\n", c->name, rc, hw_reason_name(err.reason),
					hw_reason_name(c->reason), err.msg);
			wrong++;
		}
		seen[c->reason] = true;
		free(buf);
	}
	CU_ASSERT_EQUAL(wrong, 0);
	printf("\n  %zu malformed cases\n", n);
	/* Every reason the codec itself gives appears in the table (MISMATCH: test_topic_mismatch). */
	for(int r = HW_R_EMPTY; r < HW_R__COUNT; r++){
		if(r == HW_R_BAD_ROOT || r == HW_R_BAD_TOPIC || r == HW_R_EMPTY_LEVEL || r == HW_R_MISMATCH) continue;
		if(!seen[r]) fprintf(stderr, "reason %s has no case\n", hw_reason_name(r));
		CU_ASSERT(seen[r]);
	}
}

/* The same faults must be refused the same way by every agent decoder that shares them. */
static void TEST_common_faults_every_decoder(void)
{
	static const char *const faults[] = {"", "[]", "{\"v\":1", "{\"v\":1}x", "{\"$a\":1}", "\xff"};
	static const int reasons[] = {HW_R_EMPTY, HW_R_NOT_OBJECT, HW_R_BAD_JSON, HW_R_BAD_JSON, HW_R_BAD_KEY, HW_R_BAD_UTF8};

	for(size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++){
		for(int k = K_BIRTH; k <= K_REPLY; k++){
			hw_error_t err = {0};
			int rc = decode_kind(k, k == K_COMMAND ? "pause" : "stats", faults[f], strlen(faults[f]), &err);

			CU_ASSERT_EQUAL(rc, HW_ERR_DECODE);
			CU_ASSERT_EQUAL(err.reason, reasons[f]);
		}
	}
}

/* ------------------------------------------------------------------ boundaries */

/* A valid hb padded with an unknown string member to exactly `total` bytes. */
static char *padded_hb(size_t total)
{
	const char *head = "{\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":17,\"ts\":1,\"interval_ms\":5000,\"pad\":\"";
	size_t hl = strlen(head);
	char *buf = malloc(total + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_FATAL(total > hl + 2);
	memcpy(buf, head, hl);
	memset(buf + hl, 'x', total - hl - 2);
	buf[total - 2] = '"';
	buf[total - 1] = '}';
	buf[total] = '\0';
	return buf;
}

static void TEST_size_limit_exact(void)
{
	hw_error_t err = {0};
	hw_hb_t hb;
	char *ok = padded_hb(HW_MSG_MAX_BYTES);
	char *big = padded_hb(HW_MSG_MAX_BYTES + 1);

	CU_ASSERT_EQUAL(hw_hb_decode(ok, HW_MSG_MAX_BYTES, &hb, &err), HW_OK);
	CU_ASSERT_EQUAL(hb.seq, 17);
	CU_ASSERT_EQUAL(hw_hb_decode(big, HW_MSG_MAX_BYTES + 1, &hb, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	/* The length given is what counts, not a NUL: the first 64 KiB of the bigger buffer is
	 * not valid JSON. */
	CU_ASSERT_EQUAL(hw_hb_decode(big, HW_MSG_MAX_BYTES, &hb, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_JSON);
	free(ok);
	free(big);
}

/* {"v":1,...,"x":...} with `depth` (>= 2) levels of containers in all, the top-level object
 * being level 1: "x" holds depth - 1 nested objects ({"x":{"x":{}}}) or arrays ([[1]]). */
static char *nested(int depth, bool arrays)
{
	static char buf[512];
	size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"lost\",\"x\":");

	for(int i = 0; i < depth - 2; i++) o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", arrays ? "[" : "{\"x\":");
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", arrays ? "[1]" : "{}");
	for(int i = 0; i < depth - 2; i++) o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", arrays ? "]" : "}");
	snprintf(buf + o, sizeof(buf) - o, "}");
	return buf;
}

static void TEST_depth_limit(void)
{
	hw_error_t err = {0};
	hw_status_t st;
	char *s;

	for(int arrays = 0; arrays <= 1; arrays++){
		s = nested(HW_MSG_MAX_DEPTH, arrays);
		CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, &err), HW_OK);
		if(err.code) fprintf(stderr, "depth 8 (%s): %s: %s\n", arrays ? "arrays" : "objects", s, err.msg);
		s = nested(HW_MSG_MAX_DEPTH + 1, arrays);
		CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, &err), HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.reason, HW_R_TOO_DEEP);
		hw_error_clear(&err);
	}
	/* An empty innermost container counts too. */
	s = "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"lost\",\"x\":[[[[[[[[]]]]]]]]}";
	CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_DEEP);
	s = "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"lost\",\"x\":[[[[[[[]]]]]]]}";
	CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, &err), HW_OK);
}

static void TEST_id_length_limit(void)
{
	char id64[65], id65[66], buf[256];
	hw_error_t err = {0};
	hw_status_t st;

	memset(id64, 'a', 64);
	id64[64] = '\0';
	memset(id65, 'b', 65);
	id65[65] = '\0';
	snprintf(buf, sizeof(buf), "{\"v\":1,\"session\":\"%s\",\"epoch\":1,\"status\":\"lost\"}", id64);
	CU_ASSERT_EQUAL(hw_status_decode(buf, strlen(buf), &st, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(st.session, id64);
	snprintf(buf, sizeof(buf), "{\"v\":1,\"session\":\"%s\",\"epoch\":1,\"status\":\"lost\"}", id65);
	CU_ASSERT_EQUAL(hw_status_decode(buf, strlen(buf), &st, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_ID);
}

static void TEST_text_length_limit(void)
{
	char buf[2048];
	char text[HW_TEXT_MAX + 2];
	hw_error_t err = {0};
	hw_ev_t ev;

	memset(text, 't', HW_TEXT_MAX);
	text[HW_TEXT_MAX] = '\0';
	snprintf(buf, sizeof(buf),
			"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"seq\":1,\"ts\":1,\"type\":\"task\","
			"\"task\":\"%s\"}",
			text);
	CU_ASSERT_EQUAL(hw_ev_decode(buf, strlen(buf), &ev, &err), HW_OK);
	CU_ASSERT_EQUAL(strlen(ev.text), HW_TEXT_MAX);
	text[HW_TEXT_MAX] = 't';
	text[HW_TEXT_MAX + 1] = '\0';
	snprintf(buf, sizeof(buf),
			"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"seq\":1,\"ts\":1,\"type\":\"task\","
			"\"task\":\"%s\"}",
			text);
	CU_ASSERT_EQUAL(hw_ev_decode(buf, strlen(buf), &ev, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	/* Multi-byte characters count in bytes: 171 x 3 bytes = 513. */
	{
		size_t o = 0;
		o += (size_t)snprintf(buf, sizeof(buf),
				"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"seq\":1,\"ts\":1,"
				"\"type\":\"goal\",\"text\":\"");
		for(int i = 0; i < 171; i++){
			memcpy(buf + o, "\xe2\x82\xac", 3);
			o += 3;
		}
		memcpy(buf + o, "\"}", 3);
		CU_ASSERT_EQUAL(hw_ev_decode(buf, strlen(buf), &ev, &err), HW_ERR_DECODE);
		CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	}
}

/* A birth with n argv entries of len bytes each. */
static char *birth_argv(size_t n, size_t len)
{
	size_t cap = 256 + n * (len + 3);
	char *buf = malloc(cap);
	size_t o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	o = (size_t)snprintf(buf, cap,
			"{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"epoch\":1,\"seq\":0,\"ts\":1,"
			"\"interval_ms\":5000,\"argv\":[");
	for(size_t i = 0; i < n; i++){
		buf[o++] = '"';
		memset(buf + o, 'a', len);
		o += len;
		buf[o++] = '"';
		if(i + 1 < n) buf[o++] = ',';
	}
	memcpy(buf + o, "]}", 3);
	return buf;
}

static void TEST_argv_limits(void)
{
	hw_error_t err = {0};
	hw_birth_t b;
	char *s;

	s = birth_argv(HW_ARGV_MAX, 1);
	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &err), HW_OK);
	CU_ASSERT_EQUAL(b.argc, HW_ARGV_MAX);
	hw_birth_cleanup(&b);
	CU_ASSERT_PTR_NULL(b.argv);
	free(s);
	s = birth_argv(HW_ARGV_MAX + 1, 1);
	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_MANY);
	CU_ASSERT_PTR_NULL(b.argv);
	free(s);
	s = birth_argv(2, HW_ARG_MAX);
	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &err), HW_OK);
	CU_ASSERT_EQUAL(strlen(b.argv[1]), HW_ARG_MAX);
	hw_birth_cleanup(&b);
	free(s);
	s = birth_argv(2, HW_ARG_MAX + 1);
	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
	free(s);
}

static void TEST_member_limit(void)
{
	char *buf = malloc(16384);
	hw_error_t err = {0};
	hw_status_t st;
	size_t o;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for(int extra = HW_MSG_MAX_MEMBERS - 4; extra <= HW_MSG_MAX_MEMBERS - 3; extra++){
		o = (size_t)snprintf(buf, 16384, "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"lost\"");
		for(int i = 0; i < extra; i++) o += (size_t)snprintf(buf + o, 16384 - o, ",\"k%d\":%d", i, i);
		memcpy(buf + o, "}", 2);
		if(extra + 4 <= HW_MSG_MAX_MEMBERS){
			CU_ASSERT_EQUAL(hw_status_decode(buf, strlen(buf), &st, &err), HW_OK);
		}else{
			CU_ASSERT_EQUAL(hw_status_decode(buf, strlen(buf), &st, &err), HW_ERR_DECODE);
			CU_ASSERT_EQUAL(err.reason, HW_R_TOO_MANY);
		}
	}
	free(buf);
}

static void TEST_int_boundaries(void)
{
	static const struct {
		const char *json;
		int rc;
	} cases[] = {
			{"{\"v\":1,\"session\":\"s\",\"epoch\":9223372036854775807,\"status\":\"lost\"}", HW_OK},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":0,\"status\":\"lost\"}", HW_OK},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":-0,\"status\":\"lost\"}", HW_OK},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":18446744073709551615,\"status\":\"lost\"}", HW_ERR_DECODE},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"ended\",\"ts\":1,\"exit\":{\"code\":255,\"signal\":"
			 "null}}",
					HW_OK},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"ended\",\"ts\":1,\"exit\":{\"code\":null,"
			 "\"signal\":64}}",
					HW_OK},
			{"{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"ended\",\"ts\":1,\"exit\":{\"code\":0,\"signal\":"
			 "null}}",
					HW_OK},
	};
	hw_status_t st;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		hw_error_t err = {0};
		int rc = hw_status_decode(cases[i].json, strlen(cases[i].json), &st, &err);
		if(rc != cases[i].rc) fprintf(stderr, "int case %zu: %s\n", i, err.msg);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if(rc == HW_ERR_DECODE) CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
	}
	{
		const char *s = "{\"v\":1,\"session\":\"s\",\"epoch\":9223372036854775807,\"status\":\"lost\"}";
		CU_ASSERT_EQUAL(hw_status_decode(s, strlen(s), &st, NULL), HW_OK);
		CU_ASSERT_EQUAL(st.epoch, INT64_MAX);
	}
	/* pid 1 and 2^22, interval 100 and 3600000 are allowed. */
	{
		const char *s = "{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"epoch\":1,\"seq\":0,\"ts\":1,"
				"\"interval_ms\":100,\"pid\":4194304}";
		hw_birth_t b;
		CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, NULL), HW_OK);
		CU_ASSERT_EQUAL(b.pid, HW_PID_MAX);
		CU_ASSERT_EQUAL(b.interval_ms, 100);
		hw_birth_cleanup(&b);
	}
}

static void TEST_valid_utf8_and_escapes(void)
{
	/* Two-, three- and four-byte characters, an escaped surrogate pair and escapes decode. */
	const char *s = "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"seq\":1,\"ts\":1,\"type\":\"goal\","
			"\"text\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ \\n\"}";
	hw_error_t err = {0};
	hw_ev_t ev;

	CU_ASSERT_EQUAL_FATAL(hw_ev_decode(s, strlen(s), &ev, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(ev.text, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf0\x9f\x98\x80 \"q\" \\ / \n");
	CU_ASSERT_EQUAL(ev.type, HW_EV_GOAL);
}

static void TEST_topic_mismatch(void)
{
	hw_topic_t t = {.kind = HW_T_BIRTH};
	hw_error_t err = {0};

	memcpy(t.machine, "build-07", 9);
	memcpy(t.id, "s-42", 5);
	CU_ASSERT_EQUAL(hw_msg_check_topic(&t, "s-42", "build-07", &err), HW_OK);
	CU_ASSERT_EQUAL(hw_msg_check_topic(&t, "s-42", NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_msg_check_topic(&t, "s-43", NULL, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISMATCH);
	hw_error_clear(&err);
	CU_ASSERT_EQUAL(hw_msg_check_topic(&t, "s-42", "build-08", &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISMATCH);
}

/* Decoders must not read past len: a buffer without a NUL, ending at a page edge under ASan. */
static void TEST_not_nul_terminated(void)
{
	const char *src = "{\"v\":1,\"session\":\"s\",\"epoch\":1,\"status\":\"lost\"}";
	size_t n = strlen(src);
	char *buf = malloc(n);
	hw_status_t st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, src, n);
	CU_ASSERT_EQUAL(hw_status_decode(buf, n, &st, NULL), HW_OK);
	CU_ASSERT_EQUAL(st.status, HW_STATUS_LOST);
	CU_ASSERT_EQUAL(hw_status_decode(buf, n - 1, &st, NULL), HW_ERR_DECODE);
	free(buf);
}

/* A refused decode leaves the output cleaned (nothing to free, no stale fields). */
static void TEST_failed_decode_leaves_clean_output(void)
{
	const char *s = "{\"v\":1,\"session\":\"s\",\"machine\":\"m\",\"epoch\":1,\"seq\":0,\"ts\":1,"
			"\"interval_ms\":5000,\"argv\":[\"a\",\"b\"],\"run\":-5}";
	hw_birth_t b;
	hw_error_t err = {0};

	CU_ASSERT_EQUAL(hw_birth_decode(s, strlen(s), &b, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
	CU_ASSERT_PTR_NULL(b.argv);
	CU_ASSERT_EQUAL(b.argc, 0);
	CU_ASSERT_STRING_EQUAL(b.session, "");
	CU_ASSERT(strstr(err.msg, "run") != NULL);
	CU_ASSERT(strncmp(err.msg, "birth: ", 7) == 0);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_malformed_table),
		HWTEST(TEST_common_faults_every_decoder),
		HWTEST(TEST_size_limit_exact),
		HWTEST(TEST_depth_limit),
		HWTEST(TEST_id_length_limit),
		HWTEST(TEST_text_length_limit),
		HWTEST(TEST_argv_limits),
		HWTEST(TEST_member_limit),
		HWTEST(TEST_int_boundaries),
		HWTEST(TEST_valid_utf8_and_escapes),
		HWTEST(TEST_topic_mismatch),
		HWTEST(TEST_not_nul_terminated),
		HWTEST(TEST_failed_decode_leaves_clean_output),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("msg_refusals", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
