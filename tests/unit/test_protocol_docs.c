/* test_protocol_docs.c: keeps docs/protocol.md true to the code. Decodes every ```json KIND
 * example with the decoder KIND names, parses every line of the ```text topics blocks under
 * heartwire/v1, checks every line of the ```text topics-refused and ```text refusals blocks is
 * refused with the reason it names, requires an example of every payload kind, event type,
 * status, agent command, verb and topic kind, and checks that every refusal reason, reply code,
 * state, cause and limit of the code appears in the doc's tables. A self-test feeds the
 * checker a broken page and expects each fault to be found. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "heartwire/error.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"
#include "hwtest.h"

#define DOC_PATH HW_SOURCE_DIR "/docs/protocol.md"
#define DOC_ROOT "heartwire/v1"

/* The decoder kinds a ```json block may name; K_REQUEST stands for every request:VERB. */
enum {
	K_BIRTH,
	K_HB,
	K_EV,
	K_STATUS,
	K_SESSION,
	K_REQUEST,
	K_REPLY,
	K_PAUSE,
	K_CMD,
	K_HOOK,
	K_ALERT,
	K_ROLLUP,
	K_SUMMARY,
	K_METRICS,
	K__COUNT
};

/* clang-format off */
static const char *const kind_names[K__COUNT] = {
	"birth", "hb", "ev", "status", "session", "request", "reply", "pause", "cmd", "hook", "alert",
	"rollup", "summary", "metrics",
};
/* clang-format on */

/* What one pass over a page found. */
typedef struct doc_check {
	const char *name; /* for messages */
	int failures;
	int blocks[K__COUNT]; /* decoded json examples per kind */
	unsigned ev_types;    /* bit per hw_ev_type */
	unsigned statuses;    /* bit per hw_status_kind */
	unsigned cmds;        /* bit per hw_agent_cmd */
	unsigned verbs;       /* bit per hw_verb */
	bool topic_kinds[HW_T__COUNT];
	int topics, topics_refused, refusals;
} doc_check_t;

static void fail(doc_check_t *c, int line, const char *fmt, ...) HW_PRINTF(3, 4);

static void fail(doc_check_t *c, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", c->name, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->failures++;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if(!f) return NULL;
	do{
		if(n + 4096 + 1 > cap){
			char *nb;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if(!nb){
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	}while(got > 0);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Library readers without a decoder of their own (alert, rollup, summary, metrics): the strict JSON
 * reader behind hw_pause_from_project (an absent "pause" is fine), and "v" 1 up front. */
static int decode_plain(const char *buf, size_t len, hw_error_t *err)
{
	hw_pause_t p;
	int rc = hw_pause_from_project(buf, len, &p, err);

	if(rc != HW_OK) return rc;
	if(len < 7 || memcmp(buf, "{\"v\":1,", 7) != 0)
		return hw_error_refuse(err, HW_R_BAD_VERSION, "does not start with {\"v\":1,");
	return HW_OK;
}

/* Decodes len bytes at buf as the named kind ("birth", "request:claim", ...). Records what was
 * covered in c when c is not NULL. Returns the decoder's code, or -1 for an unknown kind. */
static int decode(const char *kind, size_t kind_len, const char *buf, size_t len, hw_error_t *err, doc_check_t *c)
{
	char k[48];
	int rc, which = -1;

	hw_error_clear(err);
	if(kind_len >= sizeof(k)) return -1;
	memcpy(k, kind, kind_len);
	k[kind_len] = '\0';
	if(strncmp(k, "request:", 8) == 0){
		hw_request_t r;
		rc = hw_request_decode(0, k + 8, buf, len, &r, err);
		if(rc == HW_OK && c){
			c->verbs |= 1u << r.verb;
			c->blocks[K_REQUEST]++;
		}
		return rc;
	}
	for(int i = 0; i < K__COUNT; i++){
		if(i != K_REQUEST && strcmp(k, kind_names[i]) == 0) which = i;
	}
	switch(which){
	case K_BIRTH: {
		hw_birth_t b;
		rc = hw_birth_decode(buf, len, &b, err);
		hw_birth_cleanup(&b);
		break;
	}
	case K_HB: {
		hw_hb_t hb;
		rc = hw_hb_decode(buf, len, &hb, err);
		break;
	}
	case K_EV: {
		hw_ev_t ev;
		rc = hw_ev_decode(buf, len, &ev, err);
		if(rc == HW_OK && c) c->ev_types |= 1u << ev.type;
		break;
	}
	case K_STATUS: {
		hw_status_t st;
		rc = hw_status_decode(buf, len, &st, err);
		if(rc == HW_OK && c) c->statuses |= 1u << st.status;
		break;
	}
	case K_SESSION: {
		hw_session_t s;
		rc = hw_session_decode(buf, len, &s, err);
		hw_session_cleanup(&s);
		break;
	}
	case K_REPLY: {
		hw_reply_t r;
		rc = hw_reply_decode(buf, len, &r, err);
		hw_reply_cleanup(&r);
		break;
	}
	case K_PAUSE: {
		hw_pause_t p;
		rc = hw_pause_decode(buf, len, &p, err);
		break;
	}
	case K_CMD: {
		hw_cmd_t cmd;
		rc = hw_cmd_decode(buf, len, &cmd, err);
		if(rc == HW_OK && c) c->cmds |= 1u << cmd.cmd;
		break;
	}
	case K_HOOK: {
		hw_hook_t h;
		rc = hw_hook_decode(buf, len, &h, err);
		break;
	}
	case K_ALERT:
	case K_ROLLUP:
	case K_SUMMARY:
	case K_METRICS:
		rc = decode_plain(buf, len, err);
		break;
	default:
		return -1;
	}
	if(rc == HW_OK && c) c->blocks[which]++;
	return rc;
}

/* Trims spaces and tabs (and a CR) from both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n)
{
	while(*n > 0 && (**p == ' ' || **p == '\t')){
		(*p)++;
		(*n)--;
	}
	while(*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r')) (*n)--;
}

/* The index of the first (or last) space in [p, p + n), or n when there is none. */
static size_t find_space(const char *p, size_t n, bool last)
{
	size_t at = n;

	for(size_t i = 0; i < n; i++){
		if(p[i] != ' ') continue;
		at = i;
		if(!last) break;
	}
	return at;
}

static bool is(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* One line of a ```text topics block: a concrete topic that must parse. */
static void check_topic(doc_check_t *c, int line, const char *p, size_t n)
{
	hw_topic_t t;
	hw_error_t err;

	c->topics++;
	if(memchr(p, '{', n)){
		fail(c, line, "topic example '%.*s' is not concrete", (int)n, p);
		return;
	}
	if(hw_topic_parse(DOC_ROOT, p, n, &t, &err) != HW_OK){
		fail(c, line, "topic '%.*s' does not parse: %s (%s)", (int)n, p, err.msg, hw_reason_name(err.reason));
		return;
	}
	c->topic_kinds[t.kind] = true;
}

/* One line of a ```text topics-refused block: "TOPIC REASON". */
static void check_topic_refused(doc_check_t *c, int line, const char *p, size_t n)
{
	size_t sp = find_space(p, n, true);
	hw_error_t err;
	int rc;

	c->topics_refused++;
	if(sp == n){
		fail(c, line, "expected 'TOPIC REASON', got '%.*s'", (int)n, p);
		return;
	}
	rc = hw_topic_parse(DOC_ROOT, p, sp, NULL, &err);
	if(rc != HW_ERR_DECODE || !is(p + sp + 1, n - sp - 1, hw_reason_name(err.reason)))
		fail(c, line, "topic '%.*s': expected refusal '%.*s', got %s%s%s", (int)sp, p, (int)(n - sp - 1), p + sp + 1,
				rc == HW_OK ? "it accepted" : hw_reason_name(err.reason), rc == HW_OK ? "" : ": ",
				rc == HW_OK ? "" : err.msg);
}

/* One line of a ```text refusals block: "KIND REASON PAYLOAD". */
static void check_refusal(doc_check_t *c, int line, const char *p, size_t n)
{
	size_t s1 = find_space(p, n, false), s2;
	const char *reason, *payload;
	size_t reason_len;
	hw_error_t err;
	int rc;

	c->refusals++;
	s2 = s1 < n ? s1 + 1 + find_space(p + s1 + 1, n - s1 - 1, false) : n;
	if(s1 == n || s2 >= n){
		fail(c, line, "expected 'KIND REASON PAYLOAD', got '%.*s'", (int)n, p);
		return;
	}
	reason = p + s1 + 1;
	reason_len = s2 - s1 - 1;
	payload = p + s2 + 1;
	rc = decode(p, s1, payload, n - s2 - 1, &err, NULL);
	if(rc == -1) fail(c, line, "unknown decoder kind '%.*s'", (int)s1, p);
	else if(rc != HW_ERR_DECODE || !is(reason, reason_len, hw_reason_name(err.reason)))
		fail(c, line, "%.*s payload: expected refusal '%.*s', got %s%s%s", (int)s1, p, (int)reason_len, reason,
				rc == HW_OK ? "it accepted" : hw_reason_name(err.reason), rc == HW_OK ? "" : ": ",
				rc == HW_OK ? "" : err.msg);
}

/* Runs fn on every non-empty line of [body, body + len); first_line is the body's line number. */
static void each_line(doc_check_t *c, const char *body, size_t len, int first_line,
		void (*fn)(doc_check_t *, int, const char *, size_t))
{
	size_t i = 0;
	int line = first_line;

	while(i < len){
		const char *nl = memchr(body + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - body) : len;
		const char *p = body + i;
		size_t n = end - i;

		trim(&p, &n);
		if(n > 0) fn(c, line, p, n);
		i = end + 1;
		line++;
	}
}

/* A whole fenced block: info string [info, info + info_len), body [body, body + len). */
static void check_block(doc_check_t *c, int line, const char *info, size_t info_len, const char *body, size_t len)
{
	size_t sp = find_space(info, info_len, false);
	const char *kind = info + sp + 1;
	size_t kind_len = sp < info_len ? info_len - sp - 1 : 0;
	hw_error_t err;
	int rc;

	if(is(info, sp, "json")){
		trim(&kind, &kind_len);
		if(kind_len == 0){
			fail(c, line, "```json block without a decoder kind: every JSON example must be tested");
			return;
		}
		rc = decode(kind, kind_len, body, len, &err, c);
		if(rc == -1) fail(c, line, "unknown decoder kind '%.*s'", (int)kind_len, kind);
		else if(rc != HW_OK)
			fail(c, line, "```json %.*s example refused: %s (%s)", (int)kind_len, kind, err.msg,
					hw_reason_name(err.reason));
	}else if(is(info, info_len, "text topics")){
		each_line(c, body, len, line + 1, check_topic);
	}else if(is(info, info_len, "text topics-refused")){
		each_line(c, body, len, line + 1, check_topic_refused);
	}else if(is(info, info_len, "text refusals")){
		each_line(c, body, len, line + 1, check_refusal);
	}
}

/* Walks the fenced blocks of a Markdown page (fences start a line with ```). */
static void check_doc(doc_check_t *c, const char *text, size_t len)
{
	size_t i = 0, body = 0;
	const char *info = NULL;
	size_t info_len = 0;
	int line = 1, open_line = 0;

	while(i < len){
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		const char *p = text + i;
		size_t n = end - i;

		if(n >= 3 && memcmp(p, "```", 3) == 0){
			if(!info){
				info = p + 3;
				info_len = n - 3;
				trim(&info, &info_len);
				open_line = line;
				body = end + 1 < len ? end + 1 : len;
			}else{
				trim(&p, &n);
				if(n == 3){
					check_block(c, open_line, info, info_len, text + body, i - body);
					info = NULL;
				}
			}
		}
		i = end + 1;
		line++;
	}
	if(info) fail(c, open_line, "fenced block is never closed");
}

static char *doc;
static size_t doc_len;
static doc_check_t found = {.name = "docs/protocol.md"};

static int suite_init(void)
{
	doc = read_all(DOC_PATH, &doc_len);
	if(!doc){
		fprintf(stderr, "cannot read %s\n", DOC_PATH);
		return -1;
	}
	check_doc(&found, doc, doc_len);
	return 0;
}

static int suite_cleanup(void)
{
	free(doc);
	doc = NULL;
	return 0;
}

static void test_examples_decode(void)
{
	CU_ASSERT_EQUAL(found.failures, 0);
}

static void test_every_kind_has_an_example(void)
{
	for(int k = 0; k < K__COUNT; k++){
		if(found.blocks[k] == 0) fprintf(stderr, "no ```json %s example\n", kind_names[k]);
		CU_ASSERT(found.blocks[k] > 0);
	}
	for(int t = 0; t < HW_EV__COUNT; t++){
		if(!(found.ev_types & (1u << t))) fprintf(stderr, "no ev example of type %s\n", hw_ev_type_name(t));
		CU_ASSERT(found.ev_types & (1u << t));
	}
	for(int s = 0; s < HW_STATUS__COUNT; s++){
		if(!(found.statuses & (1u << s))) fprintf(stderr, "no status example '%s'\n", hw_status_name(s));
		CU_ASSERT(found.statuses & (1u << s));
	}
	for(int m = 0; m < HW_CMD__COUNT; m++){
		if(!(found.cmds & (1u << m))) fprintf(stderr, "no cmd example '%s'\n", hw_cmd_name(m));
		CU_ASSERT(found.cmds & (1u << m));
	}
	for(int v = HW_VERB_NONE + 1; v < HW_VERB__COUNT; v++){
		if(!(found.verbs & (1u << v))) fprintf(stderr, "no ```json request:%s example\n", hw_verb_name(v));
		CU_ASSERT(found.verbs & (1u << v));
	}
}

static void test_every_topic_kind_has_an_example(void)
{
	CU_ASSERT(found.topics > 0);
	for(int k = HW_T_UNKNOWN + 1; k < HW_T__COUNT; k++){
		if(!found.topic_kinds[k]) fprintf(stderr, "no ```text topics example of %s\n", hw_topic_kind_name(k));
		CU_ASSERT(found.topic_kinds[k]);
	}
	CU_ASSERT(found.topics_refused > 0);
	CU_ASSERT(found.refusals > 0);
}

/* True when the doc has a table row starting with the backticked name: "| `name` |". */
static bool has_row(const char *name)
{
	char pat[96];

	snprintf(pat, sizeof(pat), "| `%s` |", name);
	return strstr(doc, pat) != NULL;
}

static void test_reason_table(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for(int r = HW_R_NONE + 1; r < HW_R__COUNT; r++){
		const char *name = hw_reason_name(r);
		CU_ASSERT_STRING_NOT_EQUAL(name, "unknown");
		if(!has_row(name)) fprintf(stderr, "refusal reason '%s' has no row in the doc\n", name);
		CU_ASSERT(has_row(name));
	}
}

static void test_reply_codes_states_causes(void)
{
	char pat[96];

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for(int i = 0; i < HW_REPLY__COUNT; i++){
		if(!has_row(hw_reply_code_name(i))) fprintf(stderr, "reply code '%s' has no row\n", hw_reply_code_name(i));
		CU_ASSERT(has_row(hw_reply_code_name(i)));
	}
	for(int s = HW_STATE_NONE + 1; s < HW_STATE__COUNT; s++){
		if(!has_row(hw_state_name(s))) fprintf(stderr, "state '%s' has no row\n", hw_state_name(s));
		CU_ASSERT(has_row(hw_state_name(s)));
	}
	for(int k = 0; k < HW_CAUSE__COUNT; k++){
		snprintf(pat, sizeof(pat), "`%s`", hw_cause_name(k));
		if(!strstr(doc, pat)) fprintf(stderr, "cause '%s' is not in the doc\n", hw_cause_name(k));
		CU_ASSERT_PTR_NOT_NULL(strstr(doc, pat));
	}
}

static void test_limits_table(void)
{
	static const struct {
		const char *name;
		long long value;
	} limits[] = {
			{"HW_MSG_MAX_BYTES", HW_MSG_MAX_BYTES},
			{"HW_MSG_MAX_DEPTH", HW_MSG_MAX_DEPTH},
			{"HW_MSG_MAX_MEMBERS", HW_MSG_MAX_MEMBERS},
			{"HW_DOC_MAX_BYTES", HW_DOC_MAX_BYTES},
			{"HW_REPLY_MAX_BYTES", HW_REPLY_MAX_BYTES},
			{"HW_REPLY_MAX_DEPTH", HW_REPLY_MAX_DEPTH},
			{"HW_REPLY_MAX_MEMBERS", HW_REPLY_MAX_MEMBERS},
			{"HW_ID_MAX", HW_ID_MAX},
			{"HW_TEXT_MAX", HW_TEXT_MAX},
			{"HW_PATH_MAX", HW_PATH_MAX},
			{"HW_ARGV_MAX", HW_ARGV_MAX},
			{"HW_ARG_MAX", HW_ARG_MAX},
			{"HW_AGENT_MAX", HW_AGENT_MAX},
			{"HW_HOOK_MAX", HW_HOOK_MAX},
			{"HW_CHAIN_MAX", HW_CHAIN_MAX},
			{"HW_CURSOR_MAX", HW_CURSOR_MAX},
			{"HW_REPLY_TO_MAX", HW_REPLY_TO_MAX},
			{"HW_CORR_MAX", HW_CORR_MAX},
			{"HW_INTERVAL_MIN_MS", HW_INTERVAL_MIN_MS},
			{"HW_INTERVAL_MAX_MS", HW_INTERVAL_MAX_MS},
			{"HW_GRACE_MAX_MS", HW_GRACE_MAX_MS},
			{"HW_PID_MAX", HW_PID_MAX},
			{"HW_LIMIT_DEFAULT", HW_LIMIT_DEFAULT},
			{"HW_LIMIT_MAX", HW_LIMIT_MAX},
			{"HW_LEASE_MAX_MS", HW_LEASE_MAX_MS},
			{"HW_TOPIC_ROOT_MAX", HW_TOPIC_ROOT_MAX},
			{"HW_TOPIC_MAX", HW_TOPIC_MAX},
			{"HW_HOOK_DGRAM_MAX", HW_HOOK_DGRAM_MAX},
	};
	char pat[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for(size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++){
		snprintf(pat, sizeof(pat), "| `%s` | %lld |", limits[i].name, limits[i].value);
		if(!strstr(doc, pat)) fprintf(stderr, "limit row '%s' is missing or wrong\n", pat);
		CU_ASSERT_PTR_NOT_NULL(strstr(doc, pat));
	}
}

/* The checker itself must find faults: a page with six of them. */
static void test_checker_finds_faults(void)
{
	static const char bad[] = "# page\n"
				  "```json birth\n{\"v\":1,\"session\":\"s-42\"}\n```\n" /* missing keys */
				  "```json nosuchkind\n{}\n```\n"                        /* unknown kind */
				  "```json\n{}\n```\n"                                   /* no kind */
				  "```text topics\nheartwire/v1/m/+/s/s-42/hb\nheartwire/v1/state/s/s-42\n```\n" /* wildcard */
				  "```text refusals\n"
				  "hb bad_id {\"v\":1,\"session\":\"s-42\",\"epoch\":4,\"seq\":1,\"ts\":1,\"interval_ms\":5000}\n"
				  "```\n"                    /* accepted */
				  "```json hb\n{\"v\":1}\n"; /* never closed */
	static const char good[] = "```json status\n{\"v\":1,\"session\":\"s-42\",\"status\":\"lost\",\"epoch\":4}\n```\n"
				   "```sh\nmosquitto_sub -t 'heartwire/v1/#'\n```\n"
				   "```text topics-refused\nheartwire/v1/m/a/s/+/hb wildcard\n```\n";
	doc_check_t c = {.name = "self-test page, 6 faults expected"};
	doc_check_t g = {.name = "self-test page, no fault expected"};

	check_doc(&c, bad, sizeof(bad) - 1);
	CU_ASSERT_EQUAL(c.failures, 6);
	CU_ASSERT_EQUAL(c.topics, 2);
	CU_ASSERT(c.topic_kinds[HW_T_STATE_SESSION]);
	CU_ASSERT_EQUAL(c.blocks[K_BIRTH], 0);
	check_doc(&g, good, sizeof(good) - 1);
	CU_ASSERT_EQUAL(g.failures, 0);
	CU_ASSERT_EQUAL(g.blocks[K_STATUS], 1);
	CU_ASSERT_EQUAL(g.statuses, 1u << HW_STATUS_LOST);
	CU_ASSERT_EQUAL(g.topics_refused, 1);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(test_checker_finds_faults),
		HWTEST(test_examples_decode),
		HWTEST(test_every_kind_has_an_example),
		HWTEST(test_every_topic_kind_has_an_example),
		HWTEST(test_reason_table),
		HWTEST(test_reply_codes_states_causes),
		HWTEST(test_limits_table),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("protocol_docs", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
