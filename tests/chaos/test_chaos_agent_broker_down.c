/* test_chaos_agent_broker_down.c: agents start while the broker is down. The child must start at
 * once (the broker never holds the work back), the session must appear as soon as the broker
 * does, and a session whose child already ended meanwhile must still be reported with its true
 * end. Also checks that every MQTT connection the shared wrapper makes has Nagle turned off. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>

#include "chaos.h"

#define INTERVAL 1000

static ch_env_t env;
static ch_watch_t w;
static ch_db_t db;
static ch_coll_t coll;

static int suite_init(void)
{
	mongoc_init();
	if(ch_env_start(&env, NULL) != 0) return -1;
	if(ch_db_open(&db, &env) != 0) return -1;
	return ch_coll_start(&env, &coll, "chaos-down", NULL, NULL);
}

static int suite_cleanup(void)
{
	if(CU_get_number_of_failures() > 0) hwt_print_tail(coll.log, 40);
	ch_coll_kill(&coll, SIGTERM);
	ch_db_close(&db);
	ch_env_stop(&env);
	mongoc_cleanup();
	return 0;
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void TEST_agent_started_with_the_broker_down(void)
{
	char mark_run[300], mark_end[300], mark_crash[300], run_sh[400], end_sh[400], crash_sh[400];
	const char *run_cmd[] = {"sh", "-c", run_sh, NULL};
	const char *end_cmd[] = {"sh", "-c", end_sh, NULL};
	const char *crash_cmd[] = {"sh", "-c", crash_sh, NULL};
	pid_t a_run, a_end, a_crash;
	int status;

	snprintf(mark_run, sizeof(mark_run), "%s/started-run", env.dir);
	snprintf(mark_end, sizeof(mark_end), "%s/started-end", env.dir);
	snprintf(mark_crash, sizeof(mark_crash), "%s/started-crash", env.dir);
	snprintf(run_sh, sizeof(run_sh), "touch %s; exec sleep 600", mark_run);
	snprintf(end_sh, sizeof(end_sh), "touch %s; sleep 1; exit 0", mark_end);
	snprintf(crash_sh, sizeof(crash_sh), "touch %s; sleep 1; exit 7", mark_crash);
	CU_ASSERT_FATAL(hwt_broker_stop(&env.broker) == 0);
	a_run = ch_agent(&env, NULL, "m-down", "down-run", INTERVAL, NULL, run_cmd);
	a_end = ch_agent(&env, NULL, "m-down", "down-end", INTERVAL, NULL, end_cmd);
	a_crash = ch_agent(&env, NULL, "m-down", "down-crash", INTERVAL, NULL, crash_cmd);
	CU_ASSERT_FATAL(a_run > 0 && a_end > 0 && a_crash > 0);
	/* the children start without the broker */
	CU_ASSERT(HWT_WAIT_UNTIL(exists(mark_run) && exists(mark_end) && exists(mark_crash), 5000));
	/* two of them end while the broker is still away; their agents wait to report it */
	hwt_sleep_ms(3000);
	CU_ASSERT(hwt_wait_pid(a_end, 0, NULL) != 0);

	CU_ASSERT_FATAL(hwt_broker_start(&env.broker, NULL) == 0);
	CU_ASSERT_FATAL(ch_watch_open(&w, env.broker.url, 16) == 0);
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "down-run", HW_STATE_ACTIVE, -1), 20000));
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "down-end", HW_STATE_COMPLETED, HW_CAUSE_EXIT_CODE), 40000));
	CU_ASSERT(HWT_WAIT_UNTIL(ch_is(&w, "down-crash", HW_STATE_CRASHED, HW_CAUSE_EXIT_CODE), 40000));
	CU_ASSERT_EQUAL(hwt_wait_pid(a_end, 20000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(hwt_wait_pid(a_crash, 20000, &status), 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, "down-run", "active", NULL), 20000));
	CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, "down-end", "completed", "exit_code"), 20000));
	CU_ASSERT(HWT_WAIT_UNTIL(ch_db_is(&db, "down-crash", "crashed", "exit_code"), 20000));
	CU_ASSERT(ch_db_chain_wait(&db, "down-run", "active/none", 10000) == 0);
	CU_ASSERT(ch_db_chain_wait(&db, "down-end", "completed/exit_code", 10000) == 0);
	CU_ASSERT(ch_db_chain_wait(&db, "down-crash", "crashed/exit_code", 10000) == 0);
	CU_ASSERT_EQUAL(ch_alerts(&w, "down-run", "stalled"), 0);
	CU_ASSERT_EQUAL(ch_alerts(&w, "down-run", "lost"), 0);
	hwt_kill_wait(a_run, SIGTERM, 5000);
	ch_watch_close(&w);
}

/* Number of this process's TCP sockets to port with TCP_NODELAY on (*on) and off (*off). */
static void nodelay_census(int port, int *on, int *off)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	*on = *off = 0;
	while(d && (e = readdir(d))){
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		int v = 0;
		socklen_t vl = sizeof(v);
		if(*end || end == e->d_name || fd == dirfd(d)) continue;
		if(getpeername((int)fd, (struct sockaddr *)&a, &al) != 0 || a.sin_family != AF_INET || ntohs(a.sin_port) != port)
			continue;
		if(getsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl) != 0) continue;
		if(v) (*on)++;
		else (*off)++;
	}
	if(d) closedir(d);
}

static void TEST_every_wrapper_connection_has_nagle_off(void)
{
	hw_mqtt_t *m[3];
	int on, off;

	for(int i = 0; i < 3; i++){
		m[i] = ch_client(env.broker.url, "chnd", NULL);
		CU_ASSERT_FATAL(m[i] != NULL);
	}
	nodelay_census(env.broker.port, &on, &off);
	CU_ASSERT(on >= 3);
	CU_ASSERT_EQUAL(off, 0);
	/* a reconnect makes a new socket, which must get it too */
	CU_ASSERT(hw_mqtt_disconnect(m[0], 1000) == HW_OK);
	CU_ASSERT_FATAL(hw_mqtt_connect(m[0], NULL, NULL) == HW_OK);
	nodelay_census(env.broker.port, &on, &off);
	CU_ASSERT(on >= 3);
	CU_ASSERT_EQUAL(off, 0);
	for(int i = 0; i < 3; i++) hw_mqtt_free(m[i]);
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_agent_started_with_the_broker_down),
		HWTEST(TEST_every_wrapper_connection_has_nagle_off),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	if(hwtest_suite("chaos_agent_broker_down", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
