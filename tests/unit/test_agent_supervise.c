/* test_agent_supervise.c: unit tests of the child supervisor: exit status and signal
 * passthrough, signal forwarding to the process group, environment, stdin/stdout pass-through,
 * stop reporting and exec failures. Real processes, no broker. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "hwtest.h"
#include "procstat.h"
#include "supervise.h"

/* Handles signalfd events until one of the bits in want shows up or 5 s pass; returns the bits seen. */
static int wait_event(hw_sup_t *s, int want)
{
	int64_t deadline = hw_mono_ms() + 5000;
	int seen = 0;

	while(!(seen & want) && hw_mono_ms() < deadline){
		struct pollfd p = {.fd = s->sigfd, .events = POLLIN};
		poll(&p, 1, 100);
		seen |= hw_sup_handle(s);
	}
	return seen;
}

/* Runs argv to the end and returns the shell exit code (or -1). */
static int run_to_end(char *const argv[], char *const env[])
{
	hw_sup_t s;
	hw_error_t err;
	int code = -1;

	if(hw_sup_init(&s, &err) != HW_OK) return -1;
	if(hw_sup_start(&s, argv, env, &err) == HW_OK && (wait_event(&s, HW_SUP_EXITED) & HW_SUP_EXITED))
		code = hw_sup_exit_code(s.status);
	hw_sup_cleanup(&s);
	return code;
}

static void TEST_exit_code_passes_through(void)
{
	char *ok[] = {"sh", "-c", "exit 0", NULL};
	char *three[] = {"sh", "-c", "exit 3", NULL};
	char *big[] = {"sh", "-c", "exit 255", NULL};

	CU_ASSERT_EQUAL(run_to_end(ok, NULL), 0);
	CU_ASSERT_EQUAL(run_to_end(three, NULL), 3);
	CU_ASSERT_EQUAL(run_to_end(big, NULL), 255);
}

static void TEST_signal_death_is_128_plus_n(void)
{
	char *kill9[] = {"sh", "-c", "kill -9 $$", NULL};
	char *segv[] = {"sh", "-c", "kill -SEGV $$", NULL};
	int code, sig;

	CU_ASSERT_EQUAL(run_to_end(kill9, NULL), 128 + 9);
	CU_ASSERT_EQUAL(run_to_end(segv, NULL), 128 + SIGSEGV);
	hw_sup_split(9, &code, &sig); /* raw wait status of a SIGKILL death */
	CU_ASSERT_EQUAL(code, -1);
	CU_ASSERT_EQUAL(sig, 9);
	hw_sup_split(3 << 8, &code, &sig);
	CU_ASSERT_EQUAL(code, 3);
	CU_ASSERT_EQUAL(sig, -1);
}

static void TEST_child_has_its_own_process_group(void)
{
	char *argv[] = {"sleep", "30", NULL};
	hw_sup_t s;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_sup_start(&s, argv, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(getpgid(s.pid), s.pid);
	CU_ASSERT_NOT_EQUAL(getpgid(s.pid), getpgrp());
	hw_sup_kill(&s, SIGKILL);
	CU_ASSERT(wait_event(&s, HW_SUP_EXITED) & HW_SUP_EXITED);
	hw_sup_cleanup(&s);
}

/* SIGTERM to the agent reaches the child's whole group: a grandchild dies too. */
static void TEST_signals_are_forwarded_to_the_group(void)
{
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

	for(size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++){
		/* The shell waits on a background sleep; both are in the child's group. The shell
		 * resets SIGINT/SIGQUIT for an async child, so use a foreground sleep. */
		char *argv[] = {"sleep", "30", NULL};
		hw_sup_t s;
		hw_error_t err;
		int ev;

		CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
		CU_ASSERT_EQUAL_FATAL(hw_sup_start(&s, argv, NULL, &err), HW_OK);
		kill(getpid(), sigs[i]); /* blocked: lands in the signalfd */
		ev = wait_event(&s, HW_SUP_EXITED);
		CU_ASSERT(ev & HW_SUP_FORWARDED);
		CU_ASSERT(ev & HW_SUP_EXITED);
		CU_ASSERT_EQUAL(s.last_signal, sigs[i]);
		CU_ASSERT_EQUAL(hw_sup_exit_code(s.status), 128 + sigs[i]);
		hw_sup_cleanup(&s);
	}
}

static void TEST_grandchildren_get_the_signal(void)
{
	char *argv[] = {"sh", "-c", "sleep 30 & echo $! > \"$PIDFILE\"; wait", NULL};
	char pidfile[] = "/tmp/hw_sup_pid_XXXXXX";
	char env_pf[128], *env[] = {env_pf, NULL};
	char buf[32] = "";
	hw_sup_t s;
	hw_error_t err;
	pid_t grandchild = 0;
	int fd = mkstemp(pidfile);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	snprintf(env_pf, sizeof(env_pf), "PIDFILE=%s", pidfile);
	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_sup_start(&s, argv, env, &err), HW_OK);
	for(int64_t end = hw_mono_ms() + 5000; hw_mono_ms() < end && grandchild <= 0;){
		FILE *f = fopen(pidfile, "r");
		if(f){
			if(fgets(buf, sizeof(buf), f)) grandchild = (pid_t)strtol(buf, NULL, 10);
			fclose(f);
		}
		usleep(2000);
	}
	CU_ASSERT_FATAL(grandchild > 0);
	CU_ASSERT_EQUAL(getpgid(grandchild), s.pid);
	kill(getpid(), SIGTERM);
	CU_ASSERT(wait_event(&s, HW_SUP_EXITED) & HW_SUP_EXITED);
	/* The grandchild got SIGTERM too: it is gone (reaped by init) within a moment. */
	for(int64_t end = hw_mono_ms() + 3000; hw_mono_ms() < end && kill(grandchild, 0) == 0;) usleep(2000);
	CU_ASSERT_NOT_EQUAL(kill(grandchild, 0), 0);
	hw_sup_cleanup(&s);
	unlink(pidfile);
}

static void TEST_environment_reaches_the_child(void)
{
	char *argv[] = {"sh", "-c", "test \"$HEARTWIRE_SESSION\" = s-1 && test \"$HEARTWIRE_MACHINE\" = m.2 && test -n \"$PATH\"",
			NULL};
	char *env[] = {"HEARTWIRE_SESSION=s-1", "HEARTWIRE_MACHINE=m.2", NULL};
	char *argv2[] = {"sh", "-c", "test \"$HW_TEST_OVERRIDE\" = new", NULL};
	char *env2[] = {"HW_TEST_OVERRIDE=new", NULL};

	CU_ASSERT_EQUAL(run_to_end(argv, env), 0);
	setenv("HW_TEST_OVERRIDE", "old", 1);
	CU_ASSERT_EQUAL(run_to_end(argv2, env2), 0); /* extra entries replace inherited ones */
	unsetenv("HW_TEST_OVERRIDE");
}

/* stdin and stdout are the agent's own: data flows through untouched. */
static void TEST_stdio_is_inherited(void)
{
	char *argv[] = {"sh", "-c", "read line; printf 'got:%s\\n' \"$line\"", NULL};
	int in[2], out[2], save_in = dup(0), save_out = dup(1), code;
	char buf[64] = "";
	ssize_t n;

	CU_ASSERT_FATAL(pipe(in) == 0 && pipe(out) == 0);
	CU_ASSERT(write(in[1], "hello world\n", 12) == 12);
	close(in[1]);
	dup2(in[0], 0);
	dup2(out[1], 1);
	code = run_to_end(argv, NULL);
	dup2(save_in, 0);
	dup2(save_out, 1);
	close(in[0]);
	close(out[1]);
	n = read(out[0], buf, sizeof(buf) - 1);
	CU_ASSERT_EQUAL(code, 0);
	CU_ASSERT(n > 0);
	if(n > 0) buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, "got:hello world\n");
	close(out[0]);
	close(save_in);
	close(save_out);
}

static void TEST_stop_and_continue_are_reported(void)
{
	char *argv[] = {"sleep", "30", NULL};
	hw_procstat_t ps;
	hw_sup_t s;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	CU_ASSERT_EQUAL_FATAL(hw_sup_start(&s, argv, NULL, &err), HW_OK);
	kill(s.pid, SIGSTOP);
	CU_ASSERT(wait_event(&s, HW_SUP_STOPPED) & HW_SUP_STOPPED);
	CU_ASSERT_EQUAL(hw_procstat_read(s.pid, &ps, &err), HW_OK);
	CU_ASSERT(ps.state == 'T' || ps.state == 't');
	kill(s.pid, SIGCONT);
	CU_ASSERT(wait_event(&s, HW_SUP_CONTINUED) & HW_SUP_CONTINUED);
	CU_ASSERT_EQUAL(s.pid > 0, 1);
	hw_sup_kill(&s, SIGKILL);
	CU_ASSERT(wait_event(&s, HW_SUP_EXITED) & HW_SUP_EXITED);
	CU_ASSERT_EQUAL(hw_sup_exit_code(s.status), 137);
	hw_sup_cleanup(&s);
}

static void TEST_exec_failures(void)
{
	char *missing[] = {"hw-no-such-command-xyz", NULL};
	char *notexec[] = {"/etc/hostname", NULL};
	hw_sup_t s;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_sup_start(&s, missing, NULL, &err), HW_ERR_NOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "hw-no-such-command-xyz"));
	CU_ASSERT(s.exited);
	CU_ASSERT_EQUAL(hw_sup_exit_code(s.status), 127);
	CU_ASSERT_EQUAL(s.pid, 0);
	if(access("/etc/hostname", F_OK) == 0){
		CU_ASSERT_EQUAL(hw_sup_start(&s, notexec, NULL, &err), HW_ERR_INVAL);
		CU_ASSERT_EQUAL(hw_sup_exit_code(s.status), 126);
	}
	hw_sup_cleanup(&s);
}

/* The child inherits what the agent inherited, but nothing the agent opened itself (the
 * MQTT socket would keep a killed agent's connection alive and hold back its will). */
static void TEST_agent_descriptors_do_not_leak(void)
{
	int before[2], after[2], code;
	char script[256];
	char *argv[] = {"sh", "-c", script, NULL};
	hw_sup_t s;
	hw_error_t err;

	CU_ASSERT_FATAL(pipe(before) == 0);
	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	CU_ASSERT_FATAL(pipe(after) == 0);
	snprintf(script, sizeof(script),
			"test -e /proc/self/fd/%d && test -e /proc/self/fd/%d && "
			"! test -e /proc/self/fd/%d && ! test -e /proc/self/fd/%d",
			before[0], before[1], after[0], after[1]);
	CU_ASSERT_EQUAL_FATAL(hw_sup_start(&s, argv, NULL, &err), HW_OK);
	CU_ASSERT(wait_event(&s, HW_SUP_EXITED) & HW_SUP_EXITED);
	code = hw_sup_exit_code(s.status);
	CU_ASSERT_EQUAL(code, 0);
	hw_sup_cleanup(&s);
	close(before[0]);
	close(before[1]);
	close(after[0]);
	close(after[1]);
}

/* A signal with no child is reported, not lost. */
static void TEST_signal_without_child(void)
{
	hw_sup_t s;
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(hw_sup_init(&s, &err), HW_OK);
	kill(getpid(), SIGINT);
	CU_ASSERT(wait_event(&s, HW_SUP_SIGNALED) & HW_SUP_SIGNALED);
	CU_ASSERT_EQUAL(s.last_signal, SIGINT);
	hw_sup_cleanup(&s);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t tests[] = {
		HWTEST(TEST_exit_code_passes_through),
		HWTEST(TEST_signal_death_is_128_plus_n),
		HWTEST(TEST_child_has_its_own_process_group),
		HWTEST(TEST_signals_are_forwarded_to_the_group),
		HWTEST(TEST_grandchildren_get_the_signal),
		HWTEST(TEST_environment_reaches_the_child),
		HWTEST(TEST_stdio_is_inherited),
		HWTEST(TEST_stop_and_continue_are_reported),
		HWTEST(TEST_exec_failures),
		HWTEST(TEST_signal_without_child),
		HWTEST(TEST_agent_descriptors_do_not_leak),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("agent_supervise", NULL, NULL, tests) != 0) return 1;
	return hwtest_run();
}
