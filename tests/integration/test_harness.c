/* test_harness.c: the test harness itself (tests/lib/servers.h) and the project's mosquitto configs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hwtest.h"
#include "servers.h"

static char tmp[256];

static int suite_init(void)
{
	return hwt_tmpdir(tmp, sizeof(tmp), "hwt-selftest-");
}

/* Reads a whole file into buf (truncated, NUL-terminated); "" when missing. */
static const char *slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	buf[0] = '\0';
	if(!f) return buf;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool file_has(const char *path, const char *needle)
{
	static char buf[1 << 17];

	return strstr(slurp(path, buf, sizeof(buf)), needle) != NULL;
}

/* Runs argv to completion (timeout_ms) with output into out; returns the exit code, or -1. */
static int run(const char *const argv[], const char *out, int timeout_ms)
{
	int st = 0;
	pid_t pid = hwt_spawn(argv, out);

	if(pid < 0) return -1;
	if(hwt_wait_pid(pid, timeout_ms, &st) != 0){
		hwt_kill_wait(pid, SIGKILL, 1000);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
	char u[64];

	hwt_unique_name(u, sizeof(u), name);
	CU_ASSERT_FATAL((size_t)snprintf(buf, len, "%s/%s", tmp, u) < len);
}

static void TEST_free_ports_are_distinct_and_bindable(void)
{
	int ports[200];

	for(int i = 0; i < 200; i++){
		ports[i] = hwt_free_port();
		CU_ASSERT_TRUE_FATAL(ports[i] > 0 && ports[i] < 65536);
		for(int j = 0; j < i; j++) CU_ASSERT_NOT_EQUAL(ports[i], ports[j]);
	}
	/* Nothing listens on a port it handed out. */
	CU_ASSERT_EQUAL(hwt_wait_port(ports[0], 0), -1);
}

static void TEST_wait_until_is_true_in_time_and_false_after_deadline(void)
{
	int64_t t0 = hwt_now_ms();
	int64_t until = t0 + 30;
	int evals = 0;

	CU_ASSERT_TRUE(HWT_WAIT_UNTIL(hwt_now_ms() >= until, 1000));
	CU_ASSERT_TRUE(hwt_now_ms() - t0 < 200);
	t0 = hwt_now_ms();
	CU_ASSERT_FALSE(HWT_WAIT_UNTIL((evals++, false), 50));
	CU_ASSERT_TRUE(hwt_now_ms() - t0 >= 50);
	CU_ASSERT_TRUE(evals >= 5);
}

static void TEST_spawn_kill_wait_terminates_and_escalates(void)
{
	const char *sleeper[] = {"sleep", "30", NULL};
	const char *stubborn[] = {"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done", NULL};
	const char *missing[] = {"hwt-no-such-binary", NULL};
	char log[300];
	int st = 0;
	pid_t pid;

	pid = hwt_spawn(sleeper, NULL);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	CU_ASSERT_EQUAL(kill(pid, 0), 0);
	CU_ASSERT_EQUAL(hwt_kill_wait(pid, SIGTERM, 2000), 0);
	CU_ASSERT_EQUAL(kill(pid, 0), -1);

	path_in_tmp(log, sizeof(log), "stubborn");
	pid = hwt_spawn(stubborn, log);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	CU_ASSERT_TRUE(HWT_WAIT_UNTIL(file_has(log, "ready"), 3000));
	CU_ASSERT_EQUAL(hwt_kill_wait(pid, SIGTERM, 200), 1);
	CU_ASSERT_EQUAL(hwt_kill_wait(pid, 0, 0), -1);

	/* Only stdin, stdout and stderr reach the child: not the test's other descriptors. */
	{
		int fds[2];
		char needle[32];
		const char *lsfd[] = {"sh", "-c", "echo fds: $(ls /proc/$$/fd) end", NULL};

		CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
		path_in_tmp(log, sizeof(log), "fds");
		pid = hwt_spawn(lsfd, log);
		CU_ASSERT_EQUAL(hwt_wait_pid(pid, 3000, &st), 0);
		CU_ASSERT_TRUE(file_has(log, "fds: 0 1 2"));
		snprintf(needle, sizeof(needle), " %d ", fds[1]);
		CU_ASSERT_FALSE(file_has(log, needle));
		close(fds[0]);
		close(fds[1]);
	}

	path_in_tmp(log, sizeof(log), "missing");
	pid = hwt_spawn(missing, log);
	CU_ASSERT_TRUE_FATAL(pid > 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(pid, 3000, &st), 0);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 127);
	CU_ASSERT_TRUE(file_has(log, "hwt-no-such-binary"));
}

/* True when pid is gone or a zombie (killed, waiting for init to reap it). */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[512];
	const char *p;

	if(kill(pid, 0) != 0 && errno == ESRCH) return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	slurp(path, buf, sizeof(buf));
	p = strrchr(buf, ')');
	return !buf[0] || (p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* A child process starts a broker and a sleeper, reports pids and dir, then exits: via exit()
 * (atexit cleanup) or _exit() (no cleanup: PR_SET_PDEATHSIG must do it). */
static void leave_behind(bool clean_exit, pid_t *broker, pid_t *sleeper, char *dir, size_t dirlen)
{
	int fds[2];
	pid_t child;
	struct {
		pid_t broker, sleeper;
		char dir[256];
	} msg;

	memset(&msg, 0, sizeof(msg));
	CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
	child = fork();
	CU_ASSERT_TRUE_FATAL(child >= 0);
	if(child == 0){
		hwt_broker_t b = HWT_BROKER_INIT;
		const char *argv[] = {"sleep", "60", NULL};

		close(fds[0]);
		if(hwt_broker_start(&b, NULL) == 0){
			msg.broker = b.pid;
			snprintf(msg.dir, sizeof(msg.dir), "%s", b.dir);
		}
		msg.sleeper = hwt_spawn(argv, NULL);
		if(write(fds[1], &msg, sizeof(msg)) != (ssize_t)sizeof(msg)) _exit(3);
		if(clean_exit) exit(0);
		_exit(0);
	}
	close(fds[1]);
	CU_ASSERT_EQUAL(read(fds[0], &msg, sizeof(msg)), (ssize_t)sizeof(msg));
	close(fds[0]);
	CU_ASSERT_EQUAL(hwt_kill_wait(child, 0, 10000), 0);
	*broker = msg.broker;
	*sleeper = msg.sleeper;
	snprintf(dir, dirlen, "%s", msg.dir);
}

static void TEST_exit_leaves_no_server_and_no_dir(void)
{
	pid_t broker = 0, sleeper = 0;
	char dir[256];
	struct stat st;

	leave_behind(true, &broker, &sleeper, dir, sizeof(dir));
	CU_ASSERT_TRUE_FATAL(broker > 0 && sleeper > 0);
	CU_ASSERT_TRUE(HWT_WAIT_UNTIL(pid_gone(broker) && pid_gone(sleeper), 3000));
	if(!getenv("HWT_KEEP")) CU_ASSERT_NOT_EQUAL(stat(dir, &st), 0);
}

/* True once orphan pid (re-parented to us, the subreaper) has ended and been reaped. */
static bool reaped(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == pid || (kill(pid, 0) != 0 && errno == ESRCH);
}

static void TEST_killed_test_leaves_no_server(void)
{
	pid_t broker = 0, sleeper = 0;
	char dir[256];

	/* As subreaper this process inherits the orphans and can reap them (PID 1 in a container
	 * may not), so the check is "ended and reaped", not "a zombie". */
	CU_ASSERT_EQUAL_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	leave_behind(false, &broker, &sleeper, dir, sizeof(dir));
	CU_ASSERT_TRUE_FATAL(broker > 0 && sleeper > 0);
	CU_ASSERT_TRUE(HWT_WAIT_UNTIL(reaped(broker) && reaped(sleeper), 3000));
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	/* An _exit skips atexit: the dir stays; remove it here. */
	hwt_rmtree(dir);
}

static void TEST_sweep_removes_dirs_of_dead_owners_only(void)
{
	char dead[300], alive[300], kept[300], owner[320];
	const char *base = getenv("TMPDIR");
	pid_t child = fork();
	FILE *f;
	struct stat st;

	CU_ASSERT_TRUE_FATAL(child >= 0);
	if(child == 0) _exit(0);
	CU_ASSERT_EQUAL(hwt_kill_wait(child, 0, 5000), 0);
	/* Made by hand (not hwt_tmpdir) so the harness does not clean them at exit itself. */
	if(!base || !base[0]) base = "/tmp";
	snprintf(dead, sizeof(dead), "%s/hwt-sweep-dead-XXXXXX", base);
	snprintf(alive, sizeof(alive), "%s/hwt-sweep-alive-XXXXXX", base);
	snprintf(kept, sizeof(kept), "%s/hwt-sweep-kept-XXXXXX", base);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dead));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(alive));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(kept));
	snprintf(owner, sizeof(owner), "%s/.hwt-owner", dead);
	f = fopen(owner, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%d\n", (int)child);
	fclose(f);
	snprintf(owner, sizeof(owner), "%s/.hwt-owner", alive);
	f = fopen(owner, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);

	hwt_sweep_orphans();
	CU_ASSERT_NOT_EQUAL(stat(dead, &st), 0);
	CU_ASSERT_EQUAL(stat(alive, &st), 0);
	CU_ASSERT_EQUAL(stat(kept, &st), 0);
	hwt_rmtree(alive);
	hwt_rmtree(kept);
	hwt_rmtree(dead);
}

static void TEST_broker_starts_from_test_conf_and_serves(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	char out[300], url[64];
	int64_t t0 = hwt_now_ms();

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	printf("\n  mosquitto (test.conf) started in %lld ms on %s\n", (long long)(hwt_now_ms() - t0), b.url);
	snprintf(url, sizeof(url), "mqtt://127.0.0.1:%d", b.port);
	CU_ASSERT_STRING_EQUAL(b.url, url);
	CU_ASSERT_EQUAL(b.nports, 1);
	CU_ASSERT_EQUAL(hwt_wait_port(b.port, 0), 0);
	CU_ASSERT_TRUE(file_has(b.conf, "listener "));
	CU_ASSERT_TRUE(file_has(b.conf, "message_size_limit 65536"));
	{
		char port[16];
		const char *pub[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-q", "1", "-r", "-t",
				"hwt/hello", "-m", "hello-harness", NULL};
		const char *sub[] = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-C", "1", "-W", "5", "-t",
				"hwt/hello", NULL};

		snprintf(port, sizeof(port), "%d", b.port);
		path_in_tmp(out, sizeof(out), "pub");
		CU_ASSERT_EQUAL(run(pub, out, 5000), 0);
		path_in_tmp(out, sizeof(out), "sub");
		CU_ASSERT_EQUAL(run(sub, out, 8000), 0);
		CU_ASSERT_TRUE(file_has(out, "hello-harness"));
	}
	CU_ASSERT_EQUAL(hwt_broker_stop(&b), 0);
	CU_ASSERT_EQUAL(b.pid, 0);
	CU_ASSERT_EQUAL(hwt_wait_port(b.port, 0), -1);
	hwt_broker_cleanup(&b);
	CU_ASSERT_EQUAL(b.dir[0], '\0');
}

static void TEST_broker_restart_keeps_port_and_retained(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	char port[16], out[300];
	int old_port;
	int64_t t0;
	const char *pub[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-r", "-t", "hwt/state", "-m",
			"survives-restart", NULL};
	const char *sub[] = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-C", "1", "-W", "5", "-t", "hwt/state", NULL};

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	snprintf(port, sizeof(port), "%d", b.port);
	path_in_tmp(out, sizeof(out), "pub");
	CU_ASSERT_EQUAL(run(pub, out, 5000), 0);
	old_port = b.port;
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL_FATAL(hwt_broker_restart(&b), 0);
	printf("\n  mosquitto restart: %lld ms\n", (long long)(hwt_now_ms() - t0));
	CU_ASSERT_EQUAL(b.port, old_port);
	path_in_tmp(out, sizeof(out), "sub");
	CU_ASSERT_EQUAL(run(sub, out, 8000), 0);
	CU_ASSERT_TRUE(file_has(out, "survives-restart"));

	/* A crash (SIGKILL) and a start on the same dir also come back on the same port. */
	CU_ASSERT_EQUAL(hwt_broker_kill(&b), 0);
	CU_ASSERT_EQUAL(hwt_broker_start(&b, NULL), 0);
	CU_ASSERT_EQUAL(b.port, old_port);
	hwt_broker_cleanup(&b);
}

static void TEST_broker_pause_freezes_and_resume_thaws(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	char port[16], out[300];
	const char *pub[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-q", "1", "-t", "hwt/p", "-m", "x", NULL};
	int64_t t0;

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	snprintf(port, sizeof(port), "%d", b.port);
	CU_ASSERT_EQUAL_FATAL(hwt_broker_pause(&b), 0);
	CU_ASSERT_TRUE(b.paused);
	path_in_tmp(out, sizeof(out), "paused");
	/* Frozen: the client cannot complete CONNECT; the harness gives up on it after 1.5 s. */
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL(run(pub, out, 1500), -1);
	CU_ASSERT_TRUE(hwt_now_ms() - t0 >= 1500);
	CU_ASSERT_EQUAL(hwt_broker_resume(&b), 0);
	CU_ASSERT_EQUAL(run(pub, out, 5000), 0);
	/* stop also works on a paused broker. */
	CU_ASSERT_EQUAL(hwt_broker_pause(&b), 0);
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL(hwt_broker_stop(&b), 0);
	CU_ASSERT_TRUE(hwt_now_ms() - t0 < 4000);
	hwt_broker_cleanup(&b);
}

static int write_payload(const char *path, size_t n)
{
	FILE *f = fopen(path, "wb");

	if(!f) return -1;
	for(size_t i = 0; i < n; i++) fputc('a' + (int)(i % 26), f);
	return fclose(f);
}

static void TEST_test_conf_refuses_payloads_over_64k(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	char port[16], out[300], big[300], ok[300];
	const char *sub[] = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-C", "1", "-W", "5", "-t", "hwt/size",
			"-F", "len=%l", NULL};
	const char *pub_ok[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-q", "1", "-r", "-t", "hwt/size",
			"-f", ok, NULL};
	const char *pub_big[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "5", "-q", "1", "-r", "-t", "hwt/size",
			"-f", big, NULL};

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start(&b, NULL), 0);
	snprintf(port, sizeof(port), "%d", b.port);
	path_in_tmp(big, sizeof(big), "big");
	path_in_tmp(ok, sizeof(ok), "ok");
	CU_ASSERT_EQUAL_FATAL(write_payload(big, 65537), 0);
	CU_ASSERT_EQUAL_FATAL(write_payload(ok, 65536), 0);
	/* 64 KiB is retained; the 64 KiB + 1 publish after it must not replace it. */
	path_in_tmp(out, sizeof(out), "pubok");
	CU_ASSERT_EQUAL(run(pub_ok, out, 5000), 0);
	path_in_tmp(out, sizeof(out), "pubbig");
	run(pub_big, out, 5000);
	path_in_tmp(out, sizeof(out), "sizesub");
	CU_ASSERT_EQUAL(run(sub, out, 8000), 0);
	CU_ASSERT_TRUE(file_has(out, "len=65536"));
	CU_ASSERT_FALSE(file_has(out, "len=65537"));
	hwt_broker_cleanup(&b);
}

static void TEST_heartwire_conf_loads_and_enforces_auth_and_acl(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	char src[512], port[16], out[300];
	char *text, *conf;
	size_t n = 0, cap;
	const char *from = "/etc/mosquitto/heartwire/", *to = "@SRC@/tests/fixtures/mosquitto/";
	const char *anon[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-i", "hwt-anon", "-t",
			"heartwire/v1/m/build-07/s/s1/hb", "-m", "x", NULL};
	const char *own[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-i", "hwt-own", "-u", "build-07", "-P",
			"build-07-test-pw", "-q", "1", "-r", "-t", "heartwire/v1/m/build-07/s/s1/status", "-m", "own-subtree",
			NULL};
	const char *other[] = {"mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-i", "hwt-other", "-u", "build-07", "-P",
			"build-07-test-pw", "-q", "1", "-r", "-t", "heartwire/v1/m/build-08/s/s1/status", "-m", "foreign-subtree",
			NULL};
	const char *sub[] = {"mosquitto_sub", "-h", "127.0.0.1", "-p", port, "-i", "hwt-collector", "-u", "collector", "-P",
			"collector-test-pw", "-v", "-C", "2", "-W", "2", "-t", "heartwire/v1/m/+/s/s1/status", NULL};
	int64_t t0;

	snprintf(src, sizeof(src), "%s/conf/mosquitto/heartwire.conf", hwt_source_dir());
	{
		FILE *f = fopen(src, "rb");

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		fseek(f, 0, SEEK_END);
		cap = (size_t)ftell(f) + 1;
		fseek(f, 0, SEEK_SET);
		text = calloc(1, cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text);
		CU_ASSERT_EQUAL(fread(text, 1, cap - 1, f), cap - 1);
		fclose(f);
	}
	/* Point the deployment paths at the fixtures. */
	conf = calloc(1, cap * 2 + 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	for(const char *p = text; *p;){
		if(!strncmp(p, from, strlen(from))){
			memcpy(conf + n, to, strlen(to));
			n += strlen(to);
			p += strlen(from);
		}else{
			conf[n++] = *p++;
		}
	}
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL_FATAL(hwt_broker_start_text(&b, conf), 0);
	printf("\n  mosquitto (heartwire.conf) started in %lld ms\n", (long long)(hwt_now_ms() - t0));
	free(text);
	free(conf);
	CU_ASSERT_TRUE(file_has(b.conf, "tests/fixtures/mosquitto/passwd"));
	snprintf(port, sizeof(port), "%d", b.port);

	path_in_tmp(out, sizeof(out), "anon");
	CU_ASSERT_NOT_EQUAL(run(anon, out, 5000), 0);
	CU_ASSERT_TRUE(file_has(out, "not authorised") || file_has(out, "Not authorized"));
	path_in_tmp(out, sizeof(out), "other");
	run(other, out, 5000);
	path_in_tmp(out, sizeof(out), "own");
	CU_ASSERT_EQUAL(run(own, out, 5000), 0);
	/* The collector sees the agent's own retained status, never the one outside its subtree. */
	path_in_tmp(out, sizeof(out), "collector");
	run(sub, out, 6000);
	CU_ASSERT_TRUE(file_has(out, "heartwire/v1/m/build-07/s/s1/status own-subtree"));
	CU_ASSERT_FALSE(file_has(out, "foreign-subtree"));
	CU_ASSERT_EQUAL(hwt_broker_restart(&b), 0);
	hwt_broker_cleanup(&b);
}

static void TEST_broker_config_rewrite_handles_several_listeners_and_placeholders(void)
{
	hwt_broker_t b = HWT_BROKER_INIT;
	const char *conf = "allow_anonymous true\n"
			   "listener 1883\n"
			   "listener 1884 0.0.0.0\n"
			   "persistence true\n"
			   "persistence_location /var/lib/mosquitto/\n"
			   "log_dest file /var/log/mosquitto/mosquitto.log\n"
			   "acl_file @SRC@/tests/fixtures/mosquitto/acl\n"
			   "# the private dir: @DIR@\n";

	CU_ASSERT_EQUAL_FATAL(hwt_broker_start_text(&b, conf), 0);
	CU_ASSERT_EQUAL(b.nports, 2);
	CU_ASSERT_NOT_EQUAL(b.ports[0], b.ports[1]);
	CU_ASSERT_EQUAL(hwt_wait_port(b.ports[0], 0), 0);
	CU_ASSERT_EQUAL(hwt_wait_port(b.ports[1], 0), 0);
	CU_ASSERT_TRUE(file_has(b.conf, "# the private dir: /"));
	CU_ASSERT_TRUE(file_has(b.conf, "/tests/fixtures/mosquitto/acl"));
	CU_ASSERT_FALSE(file_has(b.conf, "@SRC@"));
	CU_ASSERT_FALSE(file_has(b.conf, "\npersistence_location /var/lib"));
	CU_ASSERT_FALSE(file_has(b.conf, "\nlog_dest file"));
	hwt_broker_cleanup(&b);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_free_ports_are_distinct_and_bindable),
		HWTEST(TEST_wait_until_is_true_in_time_and_false_after_deadline),
		HWTEST(TEST_spawn_kill_wait_terminates_and_escalates),
		HWTEST(TEST_exit_leaves_no_server_and_no_dir),
		HWTEST(TEST_killed_test_leaves_no_server),
		HWTEST(TEST_sweep_removes_dirs_of_dead_owners_only),
		HWTEST(TEST_broker_starts_from_test_conf_and_serves),
		HWTEST(TEST_broker_restart_keeps_port_and_retained),
		HWTEST(TEST_broker_pause_freezes_and_resume_thaws),
		HWTEST(TEST_test_conf_refuses_payloads_over_64k),
		HWTEST(TEST_heartwire_conf_loads_and_enforces_auth_and_acl),
		HWTEST(TEST_broker_config_rewrite_handles_several_listeners_and_placeholders),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("harness", suite_init, NULL, cases) != 0) return 1;
	return hwtest_run();
}
