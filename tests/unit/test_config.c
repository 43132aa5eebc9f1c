/* test_config.c: unit tests of the option loader: precedence, every value type, the file
 * format, argv forms, positionals, secrets kept off argv, --help output, broker URLs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/config.h"
#include "heartwire/ids.h"
#include "hwtest.h"

struct tcfg {
	char broker[256];
	char username[65];
	char password[128];
	char machine[HW_ID_MAX + 1];
	char task[32];
	int interval_ms;
	int64_t grace_ms;
	int max_restarts;
	int64_t big;
	bool verbose;
	bool help;
	int log_level;
};

static const char *const levels[] = {"debug", "info", "warn", "error", "off", NULL};

/* clang-format off */
static const hw_opt_t topts[] = {
	{.name = "broker", .short_name = 'b', .type = HW_OPT_URL, .def = "mqtt://127.0.0.1:1883", .help = "MQTT broker",
	 HW_OPT_AT(struct tcfg, broker)},
	{.name = "username", .type = HW_OPT_STRING, .help = "broker user", HW_OPT_AT(struct tcfg, username)},
	{.name = "password", .type = HW_OPT_STRING, .flags = HW_OPT_NO_ARGV, .help = "broker password",
	 HW_OPT_AT(struct tcfg, password)},
	{.name = "machine", .short_name = 'm', .type = HW_OPT_ID, .help = "this machine", HW_OPT_AT(struct tcfg, machine)},
	{.name = "task", .type = HW_OPT_STRING, .metavar = "TEXT", .help = "current task", HW_OPT_AT(struct tcfg, task)},
	{.name = "interval-ms", .type = HW_OPT_DURATION_MS, .def = "5000", .min = 100, .max = 3600000,
	 .help = "heartbeat interval", HW_OPT_AT(struct tcfg, interval_ms)},
	{.name = "grace-ms", .type = HW_OPT_DURATION_MS, .help = "grace", HW_OPT_AT(struct tcfg, grace_ms)},
	{.name = "max-restarts", .type = HW_OPT_INT, .def = "3", .min = 0, .max = 1000, .help = "restart limit",
	 HW_OPT_AT(struct tcfg, max_restarts)},
	{.name = "big", .type = HW_OPT_INT, .help = "any int64", HW_OPT_AT(struct tcfg, big)},
	{.name = "verbose", .short_name = 'v', .type = HW_OPT_BOOL, .def = "true", .help = "talk",
	 HW_OPT_AT(struct tcfg, verbose)},
	{.name = "help", .short_name = 'h', .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
	 .help = "show this help", HW_OPT_AT(struct tcfg, help)},
	{.name = "log-level", .type = HW_OPT_ENUM, .values = levels, .def = "info", .help = "log threshold",
	 HW_OPT_AT(struct tcfg, log_level)},
	HW_OPT_END,
};
/* clang-format on */

enum {
	O_BROKER,
	O_USERNAME,
	O_PASSWORD,
	O_MACHINE,
	O_TASK,
	O_INTERVAL,
	O_GRACE,
	O_MAXR,
	O_BIG,
	O_VERBOSE,
	O_HELP,
	O_LEVEL,
	O__COUNT
};

static const char *const env_names[] = {"HEARTWIRE_BROKER", "HEARTWIRE_USERNAME", "HEARTWIRE_PASSWORD", "HEARTWIRE_MACHINE",
		"HEARTWIRE_TASK", "HEARTWIRE_INTERVAL_MS", "HEARTWIRE_GRACE_MS", "HEARTWIRE_MAX_RESTARTS", "HEARTWIRE_BIG",
		"HEARTWIRE_VERBOSE", "HEARTWIRE_HELP", "HEARTWIRE_LOG_LEVEL", "HEARTWIRE_CONFIG", "HEARTWIRE_NOT_AN_OPTION"};

static struct tcfg C;
static unsigned char src[O__COUNT];
static hw_config_t cfg;
static char files[4][64];
static int nfiles;

static void reset(int positional)
{
	memset(&C, 0x5a, sizeof(C));
	memset(src, 0xff, sizeof(src));
	memset(&cfg, 0, sizeof(cfg));
	cfg.opts = topts;
	cfg.base = &C;
	cfg.sources = src;
	cfg.positional = positional;
	for(size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++) unsetenv(env_names[i]);
}

/* Writes text into a fresh temporary file; returns its path (removed in cleanup). */
static const char *write_file(const char *text)
{
	char *path = files[nfiles++ % 4];
	int fd;

	if(path[0]) unlink(path);

	snprintf(path, 64, "/tmp/hw-test-config-XXXXXX");
	fd = mkstemp(path);
	if(fd < 0) return NULL;
	if(write(fd, text, strlen(text)) != (ssize_t)strlen(text)){
		close(fd);
		return NULL;
	}
	close(fd);
	return path;
}

static int load(int argc, const char **argv, int *first, hw_error_t *err)
{
	return hw_config_load(&cfg, argc, (char **)argv, first, err);
}

static int cleanup_files(void)
{
	for(int i = 0; i < 4; i++){
		if(files[i][0]) unlink(files[i]);
	}
	return 0;
}

static void TEST_defaults(void)
{
	const char *argv[] = {"prog"};
	hw_error_t err;
	int first = -1;

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(1, argv, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 1);
	CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://127.0.0.1:1883");
	CU_ASSERT_STRING_EQUAL(C.username, "");
	CU_ASSERT_STRING_EQUAL(C.machine, "");
	CU_ASSERT_EQUAL(C.interval_ms, 5000);
	CU_ASSERT_EQUAL(C.grace_ms, 0);
	CU_ASSERT_EQUAL(C.max_restarts, 3);
	CU_ASSERT_EQUAL(C.big, 0);
	CU_ASSERT_EQUAL(C.verbose, true);
	CU_ASSERT_EQUAL(C.help, false);
	CU_ASSERT_EQUAL(C.log_level, 1);
	for(int i = 0; i < O__COUNT; i++) CU_ASSERT_EQUAL(src[i], HW_SRC_DEFAULT);
	CU_ASSERT_PTR_NULL(cfg.file);
}

/* One key (interval-ms) at every level: each level overrides the one before. */
static void TEST_precedence_defaults_file_env_flags(void)
{
	const char *path = write_file("interval-ms 6000\nmax-restarts 7\n");
	const char *argv_plain[] = {"prog", "--config", path};
	const char *argv_flag[] = {"prog", "--config", path, "--interval-ms", "8000"};
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(1, argv_plain, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.interval_ms, 5000);
	CU_ASSERT_EQUAL(src[O_INTERVAL], HW_SRC_DEFAULT);

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(3, argv_plain, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.interval_ms, 6000);
	CU_ASSERT_EQUAL(src[O_INTERVAL], HW_SRC_FILE);
	CU_ASSERT_STRING_EQUAL(cfg.file, path);

	reset(HW_POS_NONE);
	setenv("HEARTWIRE_INTERVAL_MS", "7000", 1);
	CU_ASSERT_EQUAL_FATAL(load(3, argv_plain, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.interval_ms, 7000);
	CU_ASSERT_EQUAL(src[O_INTERVAL], HW_SRC_ENV);
	CU_ASSERT_EQUAL(C.max_restarts, 7); /* the file still counts for the others */
	CU_ASSERT_EQUAL(src[O_MAXR], HW_SRC_FILE);

	reset(HW_POS_NONE);
	setenv("HEARTWIRE_INTERVAL_MS", "7000", 1);
	CU_ASSERT_EQUAL_FATAL(load(5, argv_flag, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.interval_ms, 8000);
	CU_ASSERT_EQUAL(src[O_INTERVAL], HW_SRC_ARGV);
	reset(HW_POS_NONE);
}

static void TEST_config_file_sources(void)
{
	const char *a = write_file("task from-env-file\n");
	const char *b = write_file("task from-flag-file\n");
	const char *argv[] = {"prog", "--config=", NULL};
	char arg[128];
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* HEARTWIRE_CONFIG names the file */
	reset(HW_POS_NONE);
	setenv("HEARTWIRE_CONFIG", a, 1);
	CU_ASSERT_EQUAL_FATAL(load(1, argv, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.task, "from-env-file");
	/* --config=FILE wins over HEARTWIRE_CONFIG */
	snprintf(arg, sizeof(arg), "--config=%s", b);
	argv[1] = arg;
	CU_ASSERT_EQUAL_FATAL(load(2, argv, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.task, "from-flag-file");
	/* the binary's default file, when nothing names one; a missing default is fine */
	reset(HW_POS_NONE);
	cfg.default_file = a;
	CU_ASSERT_EQUAL_FATAL(load(1, argv, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.task, "from-env-file");
	cfg.default_file = "/nonexistent/heartwire.conf";
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_OK);
	CU_ASSERT_PTR_NULL(cfg.file);
	/* a named file that is missing is an error naming it */
	argv[1] = "--config=/nonexistent/heartwire.conf";
	CU_ASSERT_EQUAL(load(2, argv, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "config file /nonexistent/heartwire.conf: "));
	argv[1] = "--config";
	CU_ASSERT_EQUAL(load(2, argv, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_STRING_EQUAL(err.msg, "--config needs a value");
	reset(HW_POS_NONE);
}

static void TEST_file_format(void)
{
	const char *path = write_file("# a comment\n"
				      "\n"
				      "   # an indented comment\n"
				      "broker   mqtt://broker.example:8883  \r\n"
				      "task #118 add login\n"
				      "\tusername \"  spaced  \"\n"
				      "verbose\n"
				      "log-level error\n"
				      "interval-ms 2s\n"
				      "grace-ms 1m\n");
	const char *argv[] = {"prog", "--config", path};
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	reset(HW_POS_NONE);
	C.verbose = false;
	CU_ASSERT_EQUAL_FATAL(load(3, argv, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://broker.example:8883");
	CU_ASSERT_STRING_EQUAL(C.task, "#118 add login");
	CU_ASSERT_STRING_EQUAL(C.username, "  spaced  ");
	CU_ASSERT_EQUAL(C.verbose, true);
	CU_ASSERT_EQUAL(C.log_level, 3);
	CU_ASSERT_EQUAL(C.interval_ms, 2000);
	CU_ASSERT_EQUAL(C.grace_ms, 60000);
}

typedef struct file_err_case {
	const char *text;
	const char *want; /* the message after "config file PATH " */
} file_err_case_t;

static void TEST_file_errors_name_file_line_and_key(void)
{
	/* clang-format off */
	static const file_err_case_t cases[] = {
		{"# c\nbroker mqtt://h:1\nbrokr mqtt://h:1\n", "line 3: unknown key 'brokr'; did you mean 'broker'?"},
		{"zzzzzzzz 1\n", "line 1: unknown key 'zzzzzzzz'"},
		{"interval-ms abc\n", "line 1: interval-ms: 'abc' is not a whole number of milliseconds from 100 to 3600000 (units ms, s, m, h allowed)"},
		{"broker=mqtt://h:1\n", "line 1: write 'key value', not 'broker=mqtt://h:1'"},
		{"\n\nhelp\n", "line 3: help: only allowed on the command line"},
		{"config /etc/x\n", "line 1: 'config' cannot be set in a config file"},
		{"max-restarts\n", "line 1: max-restarts: needs a value"},
		{"machine a/b\n", "line 1: machine: id 'a/b' has '/' at position 1; allowed: " HW_ID_ALLOWED},
		{"log-level loud\n", "line 1: log-level: 'loud' is not one of debug, info, warn, error, off"},
	};
	/* clang-format on */
	char want[512];
	hw_error_t err;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		const char *path = write_file(cases[i].text);
		const char *argv[] = {"prog", "--config", path};
		CU_ASSERT_PTR_NOT_NULL_FATAL(path);
		reset(HW_POS_NONE);
		CU_ASSERT_EQUAL(load(3, argv, NULL, &err), HW_ERR_CONFIG);
		snprintf(want, sizeof(want), "config file %s %s", path, cases[i].want);
		CU_ASSERT_STRING_EQUAL(err.msg, want);
	}
}

static void TEST_argv_forms(void)
{
	const char *argv[] = {"prog", "--broker", "mqtt://a:1", "--task=x y", "-m", "m1", "--no-verbose", "--max-restarts=0",
			"--log-level", "debug", "--interval-ms=1h", "--big", "-9223372036854775808"};
	const char *argv2[] = {"prog", "-bmqtt://b:2", "-mm2", "--verbose=no", "--verbose", "-h"};
	const char *argv3[] = {"prog", "--verbose=off", "--task", "--not-a-flag-but-a-value"};
	hw_error_t err;

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(13, argv, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://a:1");
	CU_ASSERT_STRING_EQUAL(C.task, "x y");
	CU_ASSERT_STRING_EQUAL(C.machine, "m1");
	CU_ASSERT_EQUAL(C.verbose, false);
	CU_ASSERT_EQUAL(C.max_restarts, 0);
	CU_ASSERT_EQUAL(C.log_level, 0);
	CU_ASSERT_EQUAL(C.interval_ms, 3600000);
	CU_ASSERT_EQUAL(C.big, INT64_MIN);
	CU_ASSERT_EQUAL(src[O_BROKER], HW_SRC_ARGV);

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(6, argv2, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://b:2");
	CU_ASSERT_STRING_EQUAL(C.machine, "m2");
	CU_ASSERT_EQUAL(C.verbose, true); /* the last one wins */
	CU_ASSERT_EQUAL(C.help, true);

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(4, argv3, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.verbose, false);
	CU_ASSERT_STRING_EQUAL(C.task, "--not-a-flag-but-a-value");
}

typedef struct argv_err_case {
	const char *args[4];
	const char *want;
} argv_err_case_t;

static void TEST_argv_errors(void)
{
	/* clang-format off */
	static const argv_err_case_t cases[] = {
		{{"--brokr", "mqtt://h:1"}, "unknown option '--brokr'; did you mean '--broker'?"},
		{{"--frobnicate"}, "unknown option '--frobnicate'"},
		{{"-x"}, "unknown option '-x'"},
		{{"--broker"}, "--broker needs a value"},
		{{"-b"}, "-b needs a value"},
		{{"--interval-ms", "abc"}, "--interval-ms: 'abc' is not a whole number of milliseconds from 100 to 3600000 (units ms, s, m, h allowed)"},
		{{"--interval-ms=99"}, "--interval-ms: '99' is not a whole number of milliseconds from 100 to 3600000 (units ms, s, m, h allowed)"},
		{{"--interval-ms=2d"}, "--interval-ms: '2d' is not a whole number of milliseconds from 100 to 3600000 (units ms, s, m, h allowed)"},
		{{"--max-restarts", "1001"}, "--max-restarts: '1001' is not a whole number from 0 to 1000"},
		{{"--max-restarts", "-1"}, "--max-restarts: '-1' is not a whole number from 0 to 1000"},
		{{"--max-restarts", " 5"}, "--max-restarts: ' 5' is not a whole number from 0 to 1000"},
		{{"--max-restarts", "5x"}, "--max-restarts: '5x' is not a whole number from 0 to 1000"},
		{{"--big", "9223372036854775808"}, "--big: '9223372036854775808' is not a whole number from -9223372036854775808 to 9223372036854775807"},
		{{"--verbose=maybe"}, "--verbose: 'maybe' is not one of true, false, yes, no, on, off, 1, 0"},
		{{"--no-verbose=1"}, "--no-verbose takes no value"},
		{{"-vx"}, "-v takes no value (in '-vx')"},
		{{"--no-help"}, "unknown option '--no-help'"},
		{{"--log-level", "loud"}, "--log-level: 'loud' is not one of debug, info, warn, error, off"},
		{{"--machine", "build 07"}, "--machine: id 'build 07' has ' ' at position 5; allowed: " HW_ID_ALLOWED},
		{{"-m", ""}, "-m: id '' is 0 characters long; allowed: " HW_ID_ALLOWED},
		{{"--broker", "tcp://h:1883"}, "--broker: URL must be mqtt://host:port or mqtts://host:port; 'tcp://h:1883' has another scheme"},
		{{"--task", "0123456789012345678901234567890123"}, "--task: value is 34 bytes; at most 31"},
		{{"stray"}, "unexpected argument 'stray'"},
		{{"--", "stray"}, "unexpected argument 'stray'"},
	};
	/* clang-format on */
	hw_error_t err;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		const char *argv[5] = {"prog"};
		int argc = 1;
		for(int k = 0; k < 4 && cases[i].args[k]; k++) argv[argc++] = cases[i].args[k];
		reset(HW_POS_NONE);
		hw_error_clear(&err);
		CU_ASSERT_EQUAL(load(argc, argv, NULL, &err), HW_ERR_CONFIG);
		CU_ASSERT_EQUAL(err.code, HW_ERR_CONFIG);
		if(strcmp(err.msg, cases[i].want) != 0) fprintf(stderr, "\n  case %zu: got \"%s\"\n", i, err.msg);
		CU_ASSERT_STRING_EQUAL(err.msg, cases[i].want);
	}
}

typedef struct env_case {
	const char *name;
	const char *value;
	const char *want; /* NULL: accepted */
} env_case_t;

static void TEST_environment(void)
{
	/* clang-format off */
	static const env_case_t cases[] = {
		{"HEARTWIRE_BROKER", "mqtts://h.example:8883", NULL},
		{"HEARTWIRE_BROKER", "localhost:1883", "HEARTWIRE_BROKER: URL must be mqtt://host:port or mqtts://host:port; 'localhost:1883' has no scheme"},
		{"HEARTWIRE_BROKER", "mqtt://localhost", "HEARTWIRE_BROKER: URL must be mqtt://host:port or mqtts://host:port; 'mqtt://localhost' has no port"},
		{"HEARTWIRE_MAX_RESTARTS", "many", "HEARTWIRE_MAX_RESTARTS: 'many' is not a whole number from 0 to 1000"},
		{"HEARTWIRE_VERBOSE", "nope", "HEARTWIRE_VERBOSE: 'nope' is not one of true, false, yes, no, on, off, 1, 0"},
		{"HEARTWIRE_LOG_LEVEL", "WARN", "HEARTWIRE_LOG_LEVEL: 'WARN' is not one of debug, info, warn, error, off"},
		{"HEARTWIRE_MACHINE", "a#b", "HEARTWIRE_MACHINE: id 'a#b' has '#' at position 1; allowed: " HW_ID_ALLOWED},
		{"HEARTWIRE_PASSWORD", "s3cret", NULL},
		{"HEARTWIRE_HELP", "1", NULL},             /* argv-only: ignored */
		{"HEARTWIRE_NOT_AN_OPTION", "x", NULL},    /* other binaries' options share the namespace */
		{"HEARTWIRE_INTERVAL_MS", "", NULL},       /* empty counts as unset */
	};
	/* clang-format on */
	const char *argv[] = {"prog"};
	hw_error_t err;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++){
		reset(HW_POS_NONE);
		setenv(cases[i].name, cases[i].value, 1);
		if(!cases[i].want){
			CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_OK);
		}else{
			CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_ERR_CONFIG);
			CU_ASSERT_STRING_EQUAL(err.msg, cases[i].want);
		}
	}
	reset(HW_POS_NONE);
	setenv("HEARTWIRE_HELP", "1", 1);
	setenv("HEARTWIRE_INTERVAL_MS", "", 1);
	setenv("HEARTWIRE_PASSWORD", "s3cret", 1);
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.help, false);
	CU_ASSERT_EQUAL(C.interval_ms, 5000);
	CU_ASSERT_STRING_EQUAL(C.password, "s3cret");
	CU_ASSERT_EQUAL(src[O_PASSWORD], HW_SRC_ENV);
	reset(HW_POS_NONE);
}

static void TEST_password_never_from_argv(void)
{
	const char *path = write_file("password from-file\n");
	const char *a1[] = {"prog", "--password", "hunter2"};
	const char *a2[] = {"prog", "--password=hunter2"};
	const char *a3[] = {"prog", "--config", path};
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL(load(3, a1, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--password: not allowed on the command line"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "HEARTWIRE_PASSWORD"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "hunter2"));
	CU_ASSERT_STRING_NOT_EQUAL(C.password, "hunter2");
	CU_ASSERT_EQUAL(load(2, a2, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--password: not allowed on the command line"));
	CU_ASSERT_PTR_NULL(strstr(err.msg, "hunter2"));
	CU_ASSERT_EQUAL(load(3, a3, NULL, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(C.password, "from-file");
	CU_ASSERT_EQUAL(src[O_PASSWORD], HW_SRC_FILE);
	/* and hw_config_set refuses it as argv too */
	CU_ASSERT_EQUAL(hw_config_set(&cfg, "password", "x", HW_SRC_ARGV, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(hw_config_set(&cfg, "password", "x", HW_SRC_ENV, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_config_set(&cfg, "nope", "x", HW_SRC_ENV, NULL, &err), HW_ERR_NOTFOUND);
}

static void TEST_help_survives_broken_config(void)
{
	const char *path = write_file("brokr x\n");
	const char *a1[] = {"prog", "--config", path, "--help"};
	const char *a2[] = {"prog", "--config", path};
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(path);
	reset(HW_POS_NONE);
	setenv("HEARTWIRE_MAX_RESTARTS", "lots", 1);
	CU_ASSERT_EQUAL(load(4, a1, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(C.help, true);
	CU_ASSERT_EQUAL(err.code, HW_OK);
	CU_ASSERT_EQUAL(load(3, a2, NULL, &err), HW_ERR_CONFIG);
	reset(HW_POS_NONE);
}

static void TEST_double_dash_and_positionals(void)
{
	const char *run[] = {"run", "--broker", "mqtt://h:1", "--", "claude", "-p", "--broker", "x"};
	const char *stop[] = {"run", "-v", "claude", "--resume", "--", "z"};
	const char *perm[] = {"show", "s1", "--task", "t", "s2", "-", "--no-verbose"};
	const char *perm2[] = {"events", "s1", "--task=t", "--", "--weird", "s3"};
	const char *none[] = {"prog", "--task", "t", "--"};
	hw_error_t err;
	int first = -1;

	reset(HW_POS_STOP);
	CU_ASSERT_EQUAL_FATAL(load(8, run, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 4);
	CU_ASSERT_STRING_EQUAL(run[3], "--");
	CU_ASSERT_STRING_EQUAL(run[4], "claude");
	CU_ASSERT_STRING_EQUAL(run[5], "-p");
	CU_ASSERT_STRING_EQUAL(run[6], "--broker");
	CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://h:1"); /* what follows "--" is not an option */

	reset(HW_POS_STOP);
	CU_ASSERT_EQUAL_FATAL(load(6, stop, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 2);
	CU_ASSERT_STRING_EQUAL(stop[2], "claude");
	CU_ASSERT_STRING_EQUAL(stop[3], "--resume");
	CU_ASSERT_STRING_EQUAL(stop[4], "--");
	CU_ASSERT_STRING_EQUAL(stop[5], "z");

	reset(HW_POS_PERMUTE);
	CU_ASSERT_EQUAL_FATAL(load(7, perm, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 4);
	CU_ASSERT_STRING_EQUAL(perm[0], "show");
	CU_ASSERT_STRING_EQUAL(perm[1], "--task");
	CU_ASSERT_STRING_EQUAL(perm[2], "t");
	CU_ASSERT_STRING_EQUAL(perm[3], "--no-verbose");
	CU_ASSERT_STRING_EQUAL(perm[4], "s1");
	CU_ASSERT_STRING_EQUAL(perm[5], "s2");
	CU_ASSERT_STRING_EQUAL(perm[6], "-");
	CU_ASSERT_STRING_EQUAL(C.task, "t");
	CU_ASSERT_EQUAL(C.verbose, false);

	reset(HW_POS_PERMUTE);
	CU_ASSERT_EQUAL_FATAL(load(6, perm2, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 3);
	CU_ASSERT_STRING_EQUAL(perm2[1], "--task=t");
	CU_ASSERT_STRING_EQUAL(perm2[2], "--");
	CU_ASSERT_STRING_EQUAL(perm2[3], "s1");
	CU_ASSERT_STRING_EQUAL(perm2[4], "--weird");
	CU_ASSERT_STRING_EQUAL(perm2[5], "s3");

	reset(HW_POS_NONE);
	CU_ASSERT_EQUAL_FATAL(load(4, none, &first, &err), HW_OK);
	CU_ASSERT_EQUAL(first, 4);
}

static void TEST_url_parse(void)
{
	static const struct {
		const char *url;
		const char *host;
		int port;
		bool tls;
	} good[] = {
			{"mqtt://localhost:1883", "localhost", 1883, false},
			{"mqtts://broker.example.com:8883", "broker.example.com", 8883, true},
			{"mqtt://127.0.0.1:1", "127.0.0.1", 1, false},
			{"mqtt://[::1]:65535", "::1", 65535, false},
			{"mqtt://my_host-2:1883", "my_host-2", 1883, false},
	};
	static const struct {
		const char *url;
		const char *detail;
	} bad[] = {
			{"", "it is empty"},
			{"tcp://h:1883", "another scheme"},
			{"ssl://h:8883", "another scheme"},
			{"h:1883", "no scheme"},
			{"MQTT://h:1883", "another scheme"},
			{"mqtt://h", "no port"},
			{"mqtt://h:", "no port from 1 to 65535"},
			{"mqtt://h:0", "no port from 1 to 65535"},
			{"mqtt://h:65536", "no port from 1 to 65535"},
			{"mqtt://h:-1", "no port from 1 to 65535"},
			{"mqtt://h:18a3", "no port from 1 to 65535"},
			{"mqtt://h:1883/x", "no port from 1 to 65535"},
			{"mqtt://h/x", "has a path or query"},
			{"mqtt://:1883", "no host"},
			{"mqtt://user:pw@h:1883", "has user info"},
			{"mqtt://h st:1883", "' ' in the host name"},
			{"mqtt://[::1:1883", "no ']'"},
			{"mqtt://[::g]:1883", "'g' in the IPv6 address"},
	};
	hw_url_t u;
	hw_error_t err;

	for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++){
		memset(&u, 0, sizeof(u));
		CU_ASSERT_EQUAL_FATAL(hw_url_parse(good[i].url, &u, &err), HW_OK);
		CU_ASSERT_STRING_EQUAL(u.host, good[i].host);
		CU_ASSERT_EQUAL(u.port, good[i].port);
		CU_ASSERT_EQUAL(u.tls, good[i].tls);
		CU_ASSERT_STRING_EQUAL(u.scheme, good[i].tls ? "mqtts" : "mqtt");
	}
	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++){
		CU_ASSERT_EQUAL(hw_url_parse(bad[i].url, &u, &err), HW_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "URL must be mqtt://host:port or mqtts://host:port"));
		if(!strstr(err.msg, bad[i].detail)) fprintf(stderr, "\n  '%s': %s\n", bad[i].url, err.msg);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].detail));
	}
	CU_ASSERT_EQUAL(hw_url_parse(NULL, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_url_parse("mqtt://h:1", NULL, NULL), HW_OK);
}

static void TEST_usage(void)
{
	FILE *f = tmpfile();
	char text[8192];
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	reset(HW_POS_NONE);
	hw_config_usage(&cfg, f);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-b, --broker URL"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "MQTT broker [default: mqtt://127.0.0.1:1883]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--interval-ms MS"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "heartbeat interval (100-3600000 ms) [default: 5000]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--log-level WORD"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "(debug|info|warn|error|off) [default: info]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--task TEXT"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-v, --[no-]verbose"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "-h, --help "));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "[only from the config file or HEARTWIRE_PASSWORD]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--config FILE"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "HEARTWIRE_NAME"));
	/* one line per option, plus the header, --config and the four closing lines */
	n = 0;
	for(char *p = text; *p; p++) n += *p == '\n';
	CU_ASSERT_EQUAL(n, (size_t)O__COUNT + 1 + 1 + 4);
}

static void TEST_env_name_and_table_errors(void)
{
	/* clang-format off */
	static const hw_opt_t reserved[] = {
		{.name = "config", .type = HW_OPT_STRING, HW_OPT_AT(struct tcfg, task)},
		HW_OPT_END,
	};
	/* clang-format on */
	/* clang-format off */
	static const hw_opt_t bad_default[] = {
		{.name = "n", .type = HW_OPT_INT, .def = "x", HW_OPT_AT(struct tcfg, big)},
		HW_OPT_END,
	};
	/* clang-format on */
	/* clang-format off */
	static const hw_opt_t bad_size[] = {
		{.name = "n", .type = HW_OPT_BOOL, HW_OPT_AT(struct tcfg, big)},
		HW_OPT_END,
	};
	/* clang-format on */
	const char *argv[] = {"prog"};
	char buf[64];
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_config_env_name("mongo-uri", buf, sizeof(buf), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(buf, "HEARTWIRE_MONGO_URI");
	CU_ASSERT_EQUAL(hw_config_env_name("interval-ms", buf, sizeof(buf), &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(buf, "HEARTWIRE_INTERVAL_MS");
	CU_ASSERT_EQUAL(hw_config_env_name("topic-root", buf, 21, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(buf, "HEARTWIRE_TOPIC_ROOT");
	CU_ASSERT_EQUAL(hw_config_env_name("topic-root", buf, 20, &err), HW_ERR_INVAL);

	reset(HW_POS_NONE);
	cfg.opts = reserved;
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "reserved"));
	cfg.opts = bad_default;
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "default of --n"));
	cfg.opts = bad_size;
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "option table error"));
	cfg.opts = NULL;
	CU_ASSERT_EQUAL(load(1, argv, NULL, &err), HW_ERR_CONFIG);
}

/* The shipped example config loads into a table with every option it names. */
static void TEST_example_config_parses(void)
{
	FILE *f = fopen(HW_SOURCE_DIR "/conf/heartwire.conf.example", "r");
	char line[1024], text[16384];
	size_t o = 0;
	int keys = 0;
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* uncomment every "#key value" line whose key is one of ours; drop the others */
	while(fgets(line, sizeof(line), f)){
		char key[64];
		if(line[0] != '#' || line[1] == ' ' || line[1] == '#' || line[1] == '\n') continue;
		if(sscanf(line + 1, "%63s", key) != 1) continue;
		keys++;
		for(const hw_opt_t *opt = topts; opt->name; opt++){
			if(strcmp(opt->name, key) == 0 && o + strlen(line) < sizeof(text)){
				memcpy(text + o, line + 1, strlen(line + 1));
				o += strlen(line + 1);
			}
		}
	}
	fclose(f);
	text[o] = '\0';
	CU_ASSERT(keys >= 21);
	{
		static const char *const design[] = {"broker", "username", "password-file", "cafile", "topic-root", "machine",
				"slot", "session", "project", "task", "interval-ms", "grace-ms", "keepalive-s", "restart",
				"max-restarts", "when-paused", "mongo-uri", "db", "id", "log-level", "log-format"};
		FILE *g = fopen(HW_SOURCE_DIR "/conf/heartwire.conf.example", "r");
		char all[32768], want[80];
		size_t n;
		CU_ASSERT_PTR_NOT_NULL_FATAL(g);
		n = fread(all, 1, sizeof(all) - 1, g);
		all[n] = '\0';
		fclose(g);
		for(size_t i = 0; i < sizeof(design) / sizeof(design[0]); i++){
			snprintf(want, sizeof(want), "\n#%s", design[i]);
			if(!strstr(all, want)) fprintf(stderr, "\n  example lacks %s\n", design[i]);
			CU_ASSERT_PTR_NOT_NULL(strstr(all, want));
		}
	}
	{
		const char *path = write_file(text);
		const char *argv[] = {"prog", "--config", path};
		reset(HW_POS_NONE);
		CU_ASSERT_EQUAL(load(3, argv, NULL, &err), HW_OK);
		if(err.code) fprintf(stderr, "\n  %s\n", err.msg);
		CU_ASSERT_STRING_EQUAL(C.broker, "mqtt://127.0.0.1:1883");
		CU_ASSERT_EQUAL(C.interval_ms, 5000);
		CU_ASSERT_EQUAL(C.max_restarts, 3);
		CU_ASSERT_EQUAL(C.log_level, 1);
		CU_ASSERT_EQUAL(src[O_INTERVAL], HW_SRC_FILE);
	}
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_defaults),
		HWTEST(TEST_precedence_defaults_file_env_flags),
		HWTEST(TEST_config_file_sources),
		HWTEST(TEST_file_format),
		HWTEST(TEST_file_errors_name_file_line_and_key),
		HWTEST(TEST_argv_forms),
		HWTEST(TEST_argv_errors),
		HWTEST(TEST_environment),
		HWTEST(TEST_password_never_from_argv),
		HWTEST(TEST_help_survives_broken_config),
		HWTEST(TEST_double_dash_and_positionals),
		HWTEST(TEST_url_parse),
		HWTEST(TEST_usage),
		HWTEST(TEST_env_name_and_table_errors),
		HWTEST(TEST_example_config_parses),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("config", NULL, cleanup_files, cases) != 0) return 1;
	return hwtest_run();
}
