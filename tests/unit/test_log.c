/* test_log.c: unit tests of logging: the text and JSON line formats (written to a temporary
 * file and read back), escaping, level filtering, thread safety and the rate limiter. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "heartwire/log.h"
#include "hwtest.h"

static FILE *out;

/* Reads what was logged since the last call into buf; returns the number of lines. */
static int drain(char *buf, size_t len)
{
	size_t n;
	int lines = 0;

	fflush(out);
	rewind(out);
	n = fread(buf, 1, len - 1, out);
	buf[n] = '\0';
	rewind(out);
	if(ftruncate(fileno(out), 0) != 0) return -1;
	for(size_t i = 0; i < n; i++) lines += buf[i] == '\n';
	return lines;
}

/* True when s starts with an ISO 8601 UTC time with milliseconds: 2026-11-21T09:20:00.123Z */
static int is_iso(const char *s)
{
	static const char *const shape = "dddd-dd-ddTdd:dd:dd.dddZ";

	for(size_t i = 0; shape[i]; i++){
		if(shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i]) return 0;
	}
	return 1;
}

static void TEST_text_format(void)
{
	char buf[8192];

	hw_log_init("collector", HW_LOG_DEBUG, HW_LOG_TEXT, out);
	hw_logs(HW_LOG_WARN, "s-42", "stalled after %d ms", 15000);
	hw_log(HW_LOG_INFO, "started");
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 2);
	CU_ASSERT(is_iso(buf));
	CU_ASSERT_EQUAL(strncmp(buf + 24, " collector warn [s-42] stalled after 15000 ms\n", 46), 0);
	{
		char *second = strchr(buf, '\n') + 1;
		CU_ASSERT(is_iso(second));
		CU_ASSERT_STRING_EQUAL(second + 24, " collector info started\n");
	}
}

static void TEST_json_format(void)
{
	char buf[8192];
	json_object *o, *v;

	hw_log_init("agent", HW_LOG_DEBUG, HW_LOG_JSON, out);
	hw_logs(HW_LOG_ERROR, "heartwire/v1/m/b/s/s-1/hb", "refused: %s", "bad_id");
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 1);
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "ts", &v) && is_iso(json_object_get_string(v)));
	CU_ASSERT(json_object_object_get_ex(o, "component", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "agent");
	CU_ASSERT(json_object_object_get_ex(o, "level", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "error");
	CU_ASSERT(json_object_object_get_ex(o, "subject", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "heartwire/v1/m/b/s/s-1/hb");
	CU_ASSERT(json_object_object_get_ex(o, "msg", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "refused: bad_id");
	CU_ASSERT_EQUAL(json_object_object_length(o), 5);
	json_object_put(o);

	hw_log(HW_LOG_INFO, "no subject");
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 1);
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_FALSE(json_object_object_get_ex(o, "subject", NULL));
	CU_ASSERT_EQUAL(json_object_object_length(o), 4);
	json_object_put(o);
}

/* Whatever a message holds, a call writes exactly one line, and JSON stays valid. */
static void TEST_escaping_keeps_one_line(void)
{
	const char *nasty = "a\"b\\c\nd\re\tf\001g";
	char buf[8192], big[3000];
	json_object *o, *v;

	hw_log_init("x", HW_LOG_DEBUG, HW_LOG_JSON, out);
	hw_logs(HW_LOG_INFO, "s\"1\n", "%s", nasty);
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 1);
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_object_get_ex(o, "msg", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), nasty);
	CU_ASSERT(json_object_object_get_ex(o, "subject", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "s\"1\n");
	json_object_put(o);

	hw_log_init("x", HW_LOG_DEBUG, HW_LOG_TEXT, out);
	hw_logs(HW_LOG_INFO, "s\n1", "%s", nasty);
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 1);
	CU_ASSERT_STRING_EQUAL(buf + 24, " x info [s\\n1] a\"b\\c\\nd\\re\\tf\\x01g\n");

	/* a huge subject and message: cut, still one line, still valid JSON */
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hw_log_init("x", HW_LOG_DEBUG, HW_LOG_JSON, out);
	hw_logs(HW_LOG_INFO, big, "%s", big);
	CU_ASSERT_EQUAL_FATAL(drain(buf, sizeof(buf)), 1);
	CU_ASSERT(strlen(buf) < 2048);
	o = json_tokener_parse(buf);
	CU_ASSERT_PTR_NOT_NULL(o);
	json_object_put(o);
	hw_log_init("x", HW_LOG_DEBUG, HW_LOG_TEXT, out);
	hw_logs(HW_LOG_INFO, big, "%s", big);
	CU_ASSERT_EQUAL(drain(buf, sizeof(buf)), 1);
	CU_ASSERT_EQUAL(buf[strlen(buf) - 1], '\n');
}

static void TEST_level_filtering(void)
{
	char buf[8192];

	hw_log_init("x", HW_LOG_WARN, HW_LOG_TEXT, out);
	CU_ASSERT_FALSE(hw_log_enabled(HW_LOG_DEBUG));
	CU_ASSERT_FALSE(hw_log_enabled(HW_LOG_INFO));
	CU_ASSERT_TRUE(hw_log_enabled(HW_LOG_WARN));
	CU_ASSERT_TRUE(hw_log_enabled(HW_LOG_ERROR));
	CU_ASSERT_FALSE(hw_log_enabled(HW_LOG_OFF));
	hw_log(HW_LOG_DEBUG, "d");
	hw_log(HW_LOG_INFO, "i");
	hw_log(HW_LOG_WARN, "w");
	hw_log(HW_LOG_ERROR, "e");
	CU_ASSERT_EQUAL(drain(buf, sizeof(buf)), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " x warn w\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, " x error e\n"));
	CU_ASSERT_PTR_NULL(strstr(buf, " i\n"));

	hw_log_init("x", HW_LOG_OFF, HW_LOG_TEXT, out);
	hw_log(HW_LOG_ERROR, "e");
	CU_ASSERT_EQUAL(drain(buf, sizeof(buf)), 0);
	hw_log_init("x", HW_LOG_DEBUG, HW_LOG_TEXT, out);
	hw_log(HW_LOG_OFF, "never a level to write at");
	hw_log(99, "out of range");
	hw_log(-1, "out of range");
	CU_ASSERT_EQUAL(drain(buf, sizeof(buf)), 0);
	hw_log(HW_LOG_DEBUG, "d");
	CU_ASSERT_EQUAL(drain(buf, sizeof(buf)), 1);
}

static void TEST_parse_level_and_format(void)
{
	static const char *const names[] = {"debug", "info", "warn", "error", "off"};
	hw_error_t err;
	int v;

	for(int i = 0; i < 5; i++){
		v = -1;
		CU_ASSERT_EQUAL(hw_log_level_parse(names[i], &v, &err), HW_OK);
		CU_ASSERT_EQUAL(v, i);
	}
	CU_ASSERT_EQUAL(hw_log_level_parse("verbose", &v, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'verbose'"));
	CU_ASSERT_EQUAL(hw_log_level_parse(NULL, &v, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_log_format_parse("text", &v, &err), HW_OK);
	CU_ASSERT_EQUAL(v, HW_LOG_TEXT);
	CU_ASSERT_EQUAL(hw_log_format_parse("json", &v, &err), HW_OK);
	CU_ASSERT_EQUAL(v, HW_LOG_JSON);
	CU_ASSERT_EQUAL(hw_log_format_parse("JSON", &v, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "text, json"));
}

#define THREADS 4
#define PER_THREAD 2000

static void *writer(void *arg)
{
	for(int i = 0; i < PER_THREAD; i++) hw_logs(HW_LOG_INFO, (const char *)arg, "line %d of a concurrent writer", i);
	return NULL;
}

/* Lines from several threads never interleave inside a line. */
static void TEST_threads_write_whole_lines(void)
{
	static char buf[THREADS * PER_THREAD * 128];
	static const char *const subj[THREADS] = {"t0", "t1", "t2", "t3"};
	pthread_t th[THREADS];
	int lines, good = 0;
	char *p;

	hw_log_init("x", HW_LOG_INFO, HW_LOG_JSON, out);
	for(int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, writer, (void *)subj[i]);
	for(int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
	lines = drain(buf, sizeof(buf));
	CU_ASSERT_EQUAL(lines, THREADS * PER_THREAD);
	p = buf;
	for(int i = 0; i < lines; i++){
		char *nl = strchr(p, '\n');
		json_object *o;
		if(!nl) break;
		*nl = '\0';
		o = json_tokener_parse(p);
		good += o != NULL;
		json_object_put(o);
		p = nl + 1;
	}
	CU_ASSERT_EQUAL(good, THREADS * PER_THREAD);
}

/* The limiter's clock is moved by hand (last_ms), so no test waits on real time. */
static void TEST_rate_limiter(void)
{
	hw_log_limit_t lim;
	unsigned long long sup = 99;

	hw_log_limit_init(&lim, 10.0, 3.0);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 1);
	CU_ASSERT_EQUAL(sup, 0);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 1);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 1);
	/* the burst is spent: the next ones are dropped and counted */
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 0);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 0);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, NULL), 0);
	CU_ASSERT_EQUAL(lim.suppressed, 3);
	/* 100 ms at 10 lines/s refills one token: one line, which reports the 3 dropped */
	lim.last_ms -= 100;
	sup = 0;
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 1);
	CU_ASSERT_EQUAL(sup, 3);
	CU_ASSERT_EQUAL(lim.suppressed, 0);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 0);
	/* a long quiet time refills only up to the burst */
	lim.last_ms -= 60000;
	for(int i = 0; i < 3; i++) CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 1);
	CU_ASSERT_EQUAL(hw_log_limit_take(&lim, &sup), 0);
}

static int setup(void)
{
	out = tmpfile();
	return out ? 0 : -1;
}

static int teardown(void)
{
	hw_log_init("heartwire", HW_LOG_INFO, HW_LOG_TEXT, NULL);
	if(out) fclose(out);
	return 0;
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_text_format),
		HWTEST(TEST_json_format),
		HWTEST(TEST_escaping_keeps_one_line),
		HWTEST(TEST_level_filtering),
		HWTEST(TEST_parse_level_and_format),
		HWTEST(TEST_threads_write_whole_lines),
		HWTEST(TEST_rate_limiter),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("log", setup, teardown, cases) != 0) return 1;
	return hwtest_run();
}
