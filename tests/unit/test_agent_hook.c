/* test_agent_hook.c: unit tests of the hook path: Claude Code payload parsing (lenient),
 * the hook datagram codec (strict), bounded stdin reading, the unix datagram socket, and the
 * pause and cmd codecs the agent reads. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/agentmsg.h"
#include "heartwire/clock.h"
#include "hook.h"
#include "hooksock.h"
#include "hwtest.h"

#define PARSE(s, h, e) hw_hook_parse((s), strlen(s), (h), (e))

static void TEST_parse_claude_session_start(void)
{
	const char *p = "{\"session_id\":\"9b1c2d3e-0000-4000-8000-123456789abc\","
			"\"transcript_path\":\"/home/u/.claude/projects/-srv-acme/9b1c.jsonl\",\"cwd\":\"/srv/acme\","
			"\"hook_event_name\":\"SessionStart\",\"source\":\"compact\"}";
	hw_hook_t h;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(PARSE(p, &h, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(h.event, "SessionStart");
	CU_ASSERT_STRING_EQUAL(h.session_id, "9b1c2d3e-0000-4000-8000-123456789abc");
	CU_ASSERT_STRING_EQUAL(h.transcript, "/home/u/.claude/projects/-srv-acme/9b1c.jsonl");
	CU_ASSERT_STRING_EQUAL(h.cwd, "/srv/acme");
	CU_ASSERT_EQUAL(h.source, HW_SID_COMPACT);
	CU_ASSERT_STRING_EQUAL(h.tool, "");
}

/* PostToolUse carries arbitrary tool JSON: keys with '$' and '.', deep nesting, many members,
 * large strings. None of it matters to the agent and none of it may make the parse fail. */
static void TEST_parse_large_arbitrary_tool_payload(void)
{
	size_t cap = 3 * 1024 * 1024, o = 0;
	char *p = malloc(cap);
	hw_hook_t h;
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	o += (size_t)snprintf(p + o, cap - o,
			"{\"session_id\":\"sid-1\",\"hook_event_name\":\"PostToolUse\","
			"\"tool_name\":\"mcp__github__create_pull_request\",\"tool_input\":{\"$schema\":1,\"a.b\":2,\"deep\":");
	for(int i = 0; i < 40; i++) p[o++] = '[';
	for(int i = 0; i < 40; i++) p[o++] = ']';
	o += (size_t)snprintf(p + o, cap - o, "},\"tool_response\":{");
	for(int i = 0; i < 1000; i++) o += (size_t)snprintf(p + o, cap - o, "\"k%d\":%d,", i, i);
	o += (size_t)snprintf(p + o, cap - o, "\"big\":\"");
	while(o < 2 * 1024 * 1024) p[o++] = 'x';
	o += (size_t)snprintf(p + o, cap - o, "\"}}\n");
	CU_ASSERT_EQUAL_FATAL(hw_hook_parse(p, o, &h, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(h.event, "PostToolUse");
	CU_ASSERT_STRING_EQUAL(h.tool, "mcp__github__create_pull_request");
	CU_ASSERT_EQUAL(h.source, -1);
	free(p);
}

static void TEST_parse_keeps_only_safe_fields(void)
{
	hw_hook_t h;
	hw_error_t err;
	char longtool[200];
	char buf[512];

	/* wrong types, invalid ids and relative paths are dropped, the hook is kept */
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"Stop\",\"session_id\":\"a/b\",\"transcript_path\":\"rel/x\","
			      "\"cwd\":42,\"source\":\"weird\",\"tool_name\":\"has space\"}",
					&h, &err),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(h.event, "Stop");
	CU_ASSERT_STRING_EQUAL(h.session_id, "");
	CU_ASSERT_STRING_EQUAL(h.transcript, "");
	CU_ASSERT_STRING_EQUAL(h.cwd, "");
	CU_ASSERT_EQUAL(h.source, -1);
	CU_ASSERT_STRING_EQUAL(h.tool, "");
	/* long tool names are cut; notification messages become the detail */
	memset(longtool, 'T', sizeof(longtool) - 1);
	longtool[sizeof(longtool) - 1] = '\0';
	snprintf(buf, sizeof(buf),
			"{\"hook_event_name\":\"Notification\",\"tool_name\":\"%s\","
			"\"message\":\"Claude needs your permission to use Bash\"}",
			longtool);
	CU_ASSERT_EQUAL(PARSE(buf, &h, &err), HW_OK);
	CU_ASSERT_EQUAL(strlen(h.tool), HW_TOOL_MAX);
	CU_ASSERT_STRING_EQUAL(h.detail, "Claude needs your permission to use Bash");
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"SessionEnd\",\"reason\":\"logout\"}", &h, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(h.detail, "logout");
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"PreCompact\",\"trigger\":\"auto\"}", &h, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(h.detail, "auto");
}

static void TEST_parse_refusals(void)
{
	hw_hook_t h;
	hw_error_t err;
	char deep[300];
	size_t o = 0;

	CU_ASSERT_EQUAL(hw_hook_parse("", 0, &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_EMPTY);
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_JSON);
	CU_ASSERT_EQUAL(PARSE("[1,2]", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_NOT_OBJECT);
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"Stop\"} x", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_JSON);
	CU_ASSERT_EQUAL(PARSE("{\"session_id\":\"x\"}", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISSING_KEY);
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"Pre Tool\"}", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"\"}", &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(PARSE("{\"hook_event_name\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", &h, &err), HW_ERR_DECODE);
	o += (size_t)snprintf(deep, sizeof(deep), "{\"hook_event_name\":\"Stop\",\"x\":");
	for(int i = 0; i < 100; i++) deep[o++] = '[';
	for(int i = 0; i < 100; i++) deep[o++] = ']';
	deep[o++] = '}';
	CU_ASSERT_EQUAL(hw_hook_parse(deep, o, &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_DEEP);
	CU_ASSERT_EQUAL(hw_hook_parse("{}", HW_HOOK_STDIN_MAX + 1, &h, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_TOO_LARGE);
}

static void TEST_datagram_round_trip(void)
{
	hw_hook_t h = HW_HOOK_INIT, back;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;

	snprintf(h.event, sizeof(h.event), "SessionStart");
	snprintf(h.session_id, sizeof(h.session_id), "sid-42");
	snprintf(h.transcript, sizeof(h.transcript), "/t/x \"quoted\" \xc3\xa9.jsonl");
	snprintf(h.cwd, sizeof(h.cwd), "/srv");
	snprintf(h.tool, sizeof(h.tool), "Bash");
	snprintf(h.detail, sizeof(h.detail), "line1\nline2");
	h.source = HW_SID_RESUME;
	h.t0_us = 123456789;
	CU_ASSERT_EQUAL_FATAL(hw_hook_encode(&h, &buf, &n, &err), HW_OK);
	CU_ASSERT(n < 1024);
	CU_ASSERT_EQUAL_FATAL(hw_hook_decode(buf, n, &back, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(back.event, h.event);
	CU_ASSERT_STRING_EQUAL(back.session_id, h.session_id);
	CU_ASSERT_STRING_EQUAL(back.transcript, h.transcript);
	CU_ASSERT_STRING_EQUAL(back.cwd, h.cwd);
	CU_ASSERT_STRING_EQUAL(back.tool, h.tool);
	CU_ASSERT_STRING_EQUAL(back.detail, h.detail);
	CU_ASSERT_EQUAL(back.source, HW_SID_RESUME);
	CU_ASSERT_EQUAL(back.t0_us, 123456789);
	free(buf);
	/* the minimal one */
	h = (hw_hook_t)HW_HOOK_INIT;
	snprintf(h.event, sizeof(h.event), "Stop");
	CU_ASSERT_EQUAL_FATAL(hw_hook_encode(&h, &buf, &n, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(buf, "{\"v\":1,\"hook_event_name\":\"Stop\"}");
	free(buf);
	h.event[0] = '\0';
	CU_ASSERT_EQUAL(hw_hook_encode(&h, &buf, &n, &err), HW_ERR_INVAL);
}

static void TEST_datagram_decode_is_strict(void)
{
	/* clang-format off */
	static const struct { const char *p; int reason; } bad[] = {
		{"{\"hook_event_name\":\"Stop\"}", HW_R_BAD_VERSION},
		{"{\"v\":2,\"hook_event_name\":\"Stop\"}", HW_R_BAD_VERSION},
		{"{\"v\":1}", HW_R_MISSING_KEY},
		{"{\"v\":1,\"hook_event_name\":\"Stop\",\"session_id\":\"a b\"}", HW_R_BAD_ID},
		{"{\"v\":1,\"hook_event_name\":\"Stop\",\"source\":\"boot\"}", HW_R_BAD_VALUE},
		{"{\"v\":1,\"hook_event_name\":\"Stop\",\"transcript_path\":\"rel\"}", HW_R_BAD_VALUE},
		{"{\"v\":1,\"hook_event_name\":\"Stop\",\"t0_us\":-1}", HW_R_OUT_OF_RANGE},
		{"{\"v\":1,\"hook_event_name\":\"Stop\",\"$x\":1}", HW_R_BAD_KEY},
		{"{\"v\":1,\"hook_event_name\":\"St\\u0000op\"}", HW_R_BAD_UTF8},
	};
	/* clang-format on */
	hw_hook_t h;
	hw_error_t err;

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		int rc = hw_hook_decode(bad[i].p, strlen(bad[i].p), &h, &err);
		CU_ASSERT_EQUAL(rc, HW_ERR_DECODE);
		if(rc == HW_ERR_DECODE && err.reason != bad[i].reason)
			fprintf(stderr, "case %zu: reason %s (%s)\n", i, hw_reason_name(err.reason), err.msg);
		CU_ASSERT_EQUAL(err.reason, bad[i].reason);
	}
}

static void TEST_text_cut_keeps_utf8_whole(void)
{
	char dst[8];

	CU_ASSERT_EQUAL(hw_text_cut(dst, 4, "ab\xc3\xa9z", 5), 4);
	CU_ASSERT_STRING_EQUAL(dst, "ab\xc3\xa9");
	CU_ASSERT_EQUAL(hw_text_cut(dst, 3, "ab\xc3\xa9z", 5), 2);
	CU_ASSERT_STRING_EQUAL(dst, "ab");
	CU_ASSERT_EQUAL(hw_text_cut(dst, 7, "a\0b", 3), 1);
	CU_ASSERT_STRING_EQUAL(dst, "a");
}

/* ------------------------------------------------------------------ stdin */

static void TEST_read_is_bounded(void)
{
	int fds[2];
	char *out = NULL, chunk[1000];
	size_t n = 0;
	int trunc = 0;
	hw_error_t err;
	pid_t pid;

	memset(chunk, 'a', sizeof(chunk));
	/* all of a small payload */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT(write(fds[1], "{\"a\":1}", 7) == 7);
	close(fds[1]);
	CU_ASSERT_EQUAL(hw_hook_read(fds[0], 100, hw_mono_ms() + 1000, &out, &n, &trunc, &err), HW_OK);
	CU_ASSERT_EQUAL(n, 7);
	CU_ASSERT_EQUAL(trunc, 0);
	CU_ASSERT_STRING_EQUAL(out, "{\"a\":1}");
	free(out);
	close(fds[0]);
	/* more than max: the rest is drained and the result marked truncated */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	if(pid == 0){
		close(fds[0]);
		for(int i = 0; i < 300; i++){
			if(write(fds[1], chunk, sizeof(chunk)) < 0) _exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	CU_ASSERT_EQUAL(hw_hook_read(fds[0], 10000, hw_mono_ms() + 3000, &out, &n, &trunc, &err), HW_OK);
	CU_ASSERT_EQUAL(n, 10000);
	CU_ASSERT_EQUAL(trunc, 1);
	free(out);
	close(fds[0]);
	{
		int st;
		waitpid(pid, &st, 0);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* the writer was never blocked or cut off */
	}
	/* a writer that never closes: the deadline ends the wait */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	{
		int64_t t0 = hw_mono_ms();
		CU_ASSERT_EQUAL(hw_hook_read(fds[0], 100, t0 + 150, &out, &n, &trunc, &err), HW_OK);
		CU_ASSERT(hw_mono_ms() - t0 < 1000);
		CU_ASSERT_EQUAL(trunc, 1);
		free(out);
	}
	close(fds[0]);
	close(fds[1]);
}

/* ------------------------------------------------------------------ socket */

static void TEST_socket_send_and_receive(void)
{
	char path[128], buf[HW_HOOKSOCK_DGRAM_MAX];
	int fd = -1;
	struct stat st;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hw_hooksock_path(path, sizeof(path), "s-sock", getpid(), &err), HW_OK);
	CU_ASSERT(strlen(path) < 108);
	CU_ASSERT_EQUAL(hw_hooksock_path(path, sizeof(path), "bad/id", getpid(), &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL_FATAL(hw_hooksock_path(path, sizeof(path), "s-sock", getpid(), &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_hooksock_open(path, &fd, &err), HW_OK);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(hw_hooksock_recv(fd, buf, sizeof(buf)), 0); /* nothing yet, no blocking */
	CU_ASSERT_EQUAL(hw_hooksock_send(path, "one", 3, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_hooksock_send(path, "two!", 4, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_hooksock_recv(fd, buf, sizeof(buf)), 3);
	CU_ASSERT_NSTRING_EQUAL(buf, "one", 3);
	CU_ASSERT_EQUAL(hw_hooksock_recv(fd, buf, sizeof(buf)), 4);
	CU_ASSERT_NSTRING_EQUAL(buf, "two!", 4);
	/* an oversized datagram is reported, not silently cut */
	{
		static char big[HW_HOOKSOCK_DGRAM_MAX + 10];
		memset(big, 'x', sizeof(big));
		CU_ASSERT_EQUAL(hw_hooksock_send(path, big, sizeof(big), &err), HW_OK);
		CU_ASSERT_EQUAL(hw_hooksock_recv(fd, buf, sizeof(buf)), -1);
	}
	hw_hooksock_close(fd, path);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	CU_ASSERT_EQUAL(hw_hooksock_send(path, "x", 1, &err), HW_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(hw_hooksock_send("/nonexistent-dir/x.sock", "x", 1, &err), HW_ERR_NOTFOUND);
}

/* ------------------------------------------------------------------ pause and cmd */

static void TEST_pause_codec(void)
{
	hw_pause_t p = HW_PAUSE_INIT, back;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;
	const char *proj;

	p.paused = true;
	snprintf(p.reason, sizeof(p.reason), "rate limit");
	p.resume_at = 1763712000000;
	snprintf(p.by, sizeof(p.by), "ops");
	CU_ASSERT_EQUAL_FATAL(hw_pause_encode(&p, &buf, &n, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(
			buf, "{\"v\":1,\"paused\":true,\"reason\":\"rate limit\",\"resume_at\":1763712000000,\"by\":\"ops\"}");
	CU_ASSERT_EQUAL_FATAL(hw_pause_decode(buf, n, &back, &err), HW_OK);
	CU_ASSERT(back.paused);
	CU_ASSERT_STRING_EQUAL(back.reason, "rate limit");
	CU_ASSERT_EQUAL(back.resume_at, 1763712000000);
	CU_ASSERT_STRING_EQUAL(back.by, "ops");
	CU_ASSERT(hw_pause_active(&back, 1763711999999));
	CU_ASSERT_FALSE(hw_pause_active(&back, 1763712000000));
	free(buf);
	CU_ASSERT_EQUAL(hw_pause_decode("{\"paused\":false,\"resume_at\":null}", 33, &back, &err), HW_OK);
	CU_ASSERT_FALSE(back.paused);
	CU_ASSERT_EQUAL(back.resume_at, 0);
	CU_ASSERT_EQUAL(hw_pause_decode("{\"v\":1}", 7, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISSING_KEY);
	CU_ASSERT_EQUAL(hw_pause_decode("{\"paused\":\"yes\"}", 16, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_WRONG_TYPE);
	CU_ASSERT_EQUAL(hw_pause_decode("{\"paused\":true,\"resume_at\":-5}", 30, &back, &err), HW_ERR_DECODE);
	p.paused = true;
	p.resume_at = 0;
	CU_ASSERT(hw_pause_active(&p, 1));
	/* inside a project rollup */
	proj = "{\"v\":1,\"project\":\"acme\",\"counts\":{\"active\":3},\"pause\":{\"paused\":true,\"reason\":\"quota\"}}";
	CU_ASSERT_EQUAL(hw_pause_from_project(proj, strlen(proj), &back, &err), HW_OK);
	CU_ASSERT(back.paused);
	CU_ASSERT_STRING_EQUAL(back.reason, "quota");
	proj = "{\"v\":1,\"project\":\"acme\"}";
	CU_ASSERT_EQUAL(hw_pause_from_project(proj, strlen(proj), &back, &err), HW_OK);
	CU_ASSERT_FALSE(back.paused);
	proj = "{\"v\":1,\"pause\":null}";
	CU_ASSERT_EQUAL(hw_pause_from_project(proj, strlen(proj), &back, &err), HW_OK);
	CU_ASSERT_FALSE(back.paused);
	proj = "{\"v\":1,\"pause\":{\"paused\":1}}";
	CU_ASSERT_EQUAL(hw_pause_from_project(proj, strlen(proj), &back, &err), HW_ERR_DECODE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "pause"));
}

static void TEST_cmd_codec(void)
{
	hw_cmd_t c = HW_CMD_INIT, back;
	hw_error_t err;
	char *buf = NULL;
	size_t n = 0;

	c.cmd = HW_CMD_STOP;
	c.signal = 2;
	snprintf(c.reason, sizeof(c.reason), "operator stop");
	snprintf(c.by, sizeof(c.by), "alice");
	CU_ASSERT_EQUAL_FATAL(hw_cmd_encode(&c, &buf, &n, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_cmd_decode(buf, n, &back, &err), HW_OK);
	CU_ASSERT_EQUAL(back.cmd, HW_CMD_STOP);
	CU_ASSERT_EQUAL(back.signal, 2);
	CU_ASSERT_STRING_EQUAL(back.reason, "operator stop");
	CU_ASSERT_STRING_EQUAL(back.by, "alice");
	free(buf);
	c = (hw_cmd_t)HW_CMD_INIT;
	c.cmd = HW_CMD_PAUSE;
	c.pause.paused = true;
	c.pause.resume_at = 99;
	CU_ASSERT_EQUAL_FATAL(hw_cmd_encode(&c, &buf, &n, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_cmd_decode(buf, n, &back, &err), HW_OK);
	CU_ASSERT_EQUAL(back.cmd, HW_CMD_PAUSE);
	CU_ASSERT(back.pause.paused);
	CU_ASSERT_EQUAL(back.pause.resume_at, 99);
	free(buf);
	CU_ASSERT_EQUAL(hw_cmd_decode("{\"v\":1,\"cmd\":\"rebirth\"}", 23, &back, &err), HW_OK);
	CU_ASSERT_EQUAL(back.cmd, HW_CMD_REBIRTH);
	CU_ASSERT_STRING_EQUAL(hw_cmd_name(HW_CMD_REBIRTH), "rebirth");
	CU_ASSERT_EQUAL(hw_cmd_decode("{\"v\":1,\"cmd\":\"reboot\"}", 22, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VALUE);
	CU_ASSERT_EQUAL(hw_cmd_decode("{\"cmd\":\"stop\"}", 14, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_BAD_VERSION);
	CU_ASSERT_EQUAL(hw_cmd_decode("{\"v\":1,\"cmd\":\"stop\",\"signal\":99}", 32, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_OUT_OF_RANGE);
	CU_ASSERT_EQUAL(hw_cmd_decode("{\"v\":1,\"cmd\":\"pause\"}", 21, &back, &err), HW_ERR_DECODE);
	CU_ASSERT_EQUAL(err.reason, HW_R_MISSING_KEY);
	c.cmd = 7;
	CU_ASSERT_EQUAL(hw_cmd_encode(&c, &buf, &n, &err), HW_ERR_INVAL);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_parse_claude_session_start),
		HWTEST(TEST_parse_large_arbitrary_tool_payload),
		HWTEST(TEST_parse_keeps_only_safe_fields),
		HWTEST(TEST_parse_refusals),
		HWTEST(TEST_datagram_round_trip),
		HWTEST(TEST_datagram_decode_is_strict),
		HWTEST(TEST_text_cut_keeps_utf8_whole),
		HWTEST(TEST_read_is_bounded),
		HWTEST(TEST_socket_send_and_receive),
		HWTEST(TEST_pause_codec),
		HWTEST(TEST_cmd_codec),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("agent_hook", NULL, NULL, tests) != 0) return 1;
	return hwtest_run();
}
