/* test_cli.c: the `heartwire` CLI binary against a real broker, store and collector: ls, show,
 * events, fail, clear, claim, release, pause, unpause; --json output; colours only when asked
 * for off a terminal; exit codes 0 (ok), 1 (refused by the collector, no reply, no broker) and 2
 * (usage); a missing collector is a clear message within --timeout-ms, not a hang. */
#include <sys/wait.h>

#include "test_collector_common.h"

static tc_env_t env;
static tc_pub_t pub;
static char out[65536], err_text[8192];
static int64_t took_ms;

/* Runs `heartwire --broker URL ARGS` with stdout and stderr captured into out and err_text;
 * returns its exit status (-1 when it did not exit normally). */
static int cli(const char *args)
{
	char cmd[2048], fo[400], fe[400];
	int64_t t0 = hwt_now_ms();
	FILE *f;
	size_t n;
	int st;

	snprintf(fo, sizeof(fo), "%s/cli.out", env.dir);
	snprintf(fe, sizeof(fe), "%s/cli.err", env.dir);
	snprintf(cmd, sizeof(cmd), "%s/cli/heartwire --broker %s %s >%s 2>%s </dev/null", hwt_build_dir(), env.broker.url, args,
			fo, fe);
	st = system(cmd);
	took_ms = hwt_now_ms() - t0;
	out[0] = err_text[0] = '\0';
	if((f = fopen(fo, "r"))){
		n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	if((f = fopen(fe, "r"))){
		n = fread(err_text, 1, sizeof(err_text) - 1, f);
		err_text[n] = '\0';
		fclose(f);
	}
	if(getenv("TC_DEBUG"))
		fprintf(stderr, "$ heartwire %s -> %d\n%s%s", args, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out, err_text);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int seed_birth(const char *sid, const char *project, int exit_code)
{
	hw_birth_t b = HW_BIRTH_INIT;
	char *json;
	size_t len;
	int rc;

	snprintf(b.session, sizeof(b.session), "%s", sid);
	snprintf(b.machine, sizeof(b.machine), "cli-m");
	snprintf(b.project, sizeof(b.project), "%s", project);
	snprintf(b.task, sizeof(b.task), "#7 task of %s", sid);
	b.epoch = 1;
	b.ts = hw_time_ms();
	b.interval_ms = 3600000;
	if(hw_birth_encode(&b, &json, &len, NULL) != HW_OK) return -1;
	rc = tc_pub_raw(&pub, HW_T_BIRTH, "cli-m", sid, json, len, false);
	free(json);
	if(rc == 0 && exit_code >= 0){
		hw_ev_t ev = HW_EV_INIT;
		snprintf(ev.session, sizeof(ev.session), "%s", sid);
		ev.epoch = 1;
		ev.seq = 1;
		ev.ts = hw_time_ms();
		ev.type = HW_EV_EXIT;
		ev.exit.code = exit_code;
		if(hw_ev_encode(&ev, &json, &len, NULL) != HW_OK) return -1;
		rc = tc_pub_raw(&pub, HW_T_EV, "cli-m", sid, json, len, false);
		free(json);
	}
	return rc;
}

static bool stored_state(const char *sid, const char *state)
{
	return tc_db_is(&env, sid, state, NULL);
}

static int suite_init(void)
{
	if(tc_env_start(&env) != 0) return -1;
	if(tc_collector_start(&env, NULL) != 0) return -1;
	if(tc_pub_open(&pub, env.broker.url) != 0) return -1;
	if(seed_birth("cli-a", "cli-p", -1) != 0 || seed_birth("cli-b", "cli-p", 3) != 0 || seed_birth("cli-c", "cli-q", 2) != 0)
		return -1;
	if(!HWT_WAIT_UNTIL(stored_state("cli-a", "starting") && stored_state("cli-b", "crashed") &&
					   stored_state("cli-c", "crashed"),
			   20000))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	tc_pub_close(&pub);
	tc_env_stop(&env);
	return 0;
}

static void TEST_ls_show_events(void)
{
	CU_ASSERT_EQUAL(cli("ls"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "SESSION"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-a"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-b"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "crashed (exit_code)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "#7 task of cli-a"));
	CU_ASSERT_PTR_NULL(strstr(out, "\033[")); /* not a terminal: no colours */
	/* filters: repeated and comma lists */
	CU_ASSERT_EQUAL(cli("ls --state crashed --project cli-p"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-b"));
	CU_ASSERT_PTR_NULL(strstr(out, "cli-a"));
	CU_ASSERT_PTR_NULL(strstr(out, "cli-c"));
	CU_ASSERT_EQUAL(cli("ls --state starting --state crashed --machine cli-m"), 0);
	CU_ASSERT(strstr(out, "cli-a") && strstr(out, "cli-b") && strstr(out, "cli-c"));
	CU_ASSERT_EQUAL(cli("ls --state=completed,failed --project cli-p"), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "cli-"));
	CU_ASSERT_EQUAL(cli("ls --since 1h --limit 1 --all --project cli-p"), 0); /* two pages */
	CU_ASSERT(strstr(out, "cli-a") && strstr(out, "cli-b"));
	/* --json: the reply data, one document per page */
	CU_ASSERT_EQUAL(cli("ls --json --project cli-p --limit 1"), 0);
	CU_ASSERT_EQUAL(strncmp(out, "{\"sessions\":[{", 14), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"next_cursor\":"));
	CU_ASSERT_EQUAL(cli("ls --json --project cli-p --limit 1 --all"), 0);
	{
		int lines = 0;
		for(const char *p = out; *p; p++) lines += *p == '\n';
		CU_ASSERT_EQUAL(lines, 2);
	}
	/* colours when asked for */
	CU_ASSERT_EQUAL(cli("ls --color always"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\033["));
	/* show, events */
	CU_ASSERT_EQUAL(cli("show cli-b"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state:       crashed (exit_code)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit:        code 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "starting/none -> crashed/exit_code (exit_code)"));
	CU_ASSERT_EQUAL(cli("show cli-b --json"), 0);
	CU_ASSERT_EQUAL(strncmp(out, "{\"session\":{", 12), 0);
	CU_ASSERT_EQUAL(cli("events cli-b"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "none/none -> starting/none (birth)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exit code 3"));
	CU_ASSERT_EQUAL(cli("events cli-b --json"), 0);
	CU_ASSERT_EQUAL(strncmp(out, "{\"events\":[", 11), 0);
	/* refused by the collector: exit 1 with the code and message */
	CU_ASSERT_EQUAL(cli("show no-such-session"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "unknown_session"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "no-such-session"));
	/* usage errors: exit 2 */
	CU_ASSERT_EQUAL(cli("show"), 2);
	CU_ASSERT_EQUAL(cli("show 'a b'"), 2);
	CU_ASSERT_EQUAL(cli("ls extra"), 2);
	CU_ASSERT_EQUAL(cli("ls --limit 0"), 2);
	CU_ASSERT_EQUAL(cli("ls --limit 5000"), 2);
	CU_ASSERT_EQUAL(cli("ls --state sleeping"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "sleeping"));
	CU_ASSERT_EQUAL(cli("ls --since yesterday"), 2);
	CU_ASSERT_EQUAL(cli("frobnicate"), 2);
	CU_ASSERT_EQUAL(cli("release cli-b"), 2); /* no --token */
	CU_ASSERT_EQUAL(cli("--no-such-option ls"), 2);
}

static void TEST_commands(void)
{
	char token[HW_ID_MAX + 1] = "", args[256];
	const char *p;

	/* fail, clear: exit 0, the transition printed */
	CU_ASSERT_EQUAL(cli("fail cli-c --reason 'gave up'"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-c: crashed/exit_code -> failed/operator"));
	CU_ASSERT_EQUAL(cli("clear cli-c --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"state\":\"cleared\""));
	CU_ASSERT_EQUAL(cli("clear cli-a"), 1); /* starting: not recoverable */
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "not_recoverable"));
	/* claim: a token; a second claim is a conflict */
	CU_ASSERT_EQUAL(cli("claim cli-b --claimant build-9 --lease-ms 60000 --json"), 0);
	p = strstr(out, "\"token\":\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sscanf(p + 9, "%64[A-Za-z0-9._:-]", token);
	CU_ASSERT(token[0] != '\0');
	CU_ASSERT_EQUAL(cli("claim cli-b --claimant build-8"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "conflict"));
	CU_ASSERT_EQUAL(cli("release cli-b --token not-the-token"), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "conflict"));
	snprintf(args, sizeof(args), "release cli-b --token %s", token);
	CU_ASSERT_EQUAL(cli(args), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-b: released"));
	CU_ASSERT_EQUAL(cli("claim cli-b"), 0); /* free again; the claimant defaults to the host */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cli-b: claimed by "));
	/* pause, unpause */
	CU_ASSERT_EQUAL(cli("pause --reason 'rate limit' --until 30m"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "paused everything until "));
	CU_ASSERT_EQUAL(cli("pause --project cli-p --json"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"scope\":\"project\""));
	CU_ASSERT_EQUAL(cli("unpause --project cli-p"), 0);
	CU_ASSERT_EQUAL(cli("unpause"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unpaused everything"));
	CU_ASSERT_EQUAL(cli("pause --until someday"), 2);
}

static void TEST_missing_collector_and_broker(void)
{
	tc_collector_kill(&env, SIGTERM); /* it says "offline" on the way out */
	CU_ASSERT_EQUAL(cli("ls --timeout-ms 1000"), 1);
	CU_ASSERT(took_ms < 3000);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "no collector is online"));
	CU_ASSERT_EQUAL(cli("fail cli-a --timeout-ms 800"), 1);
	CU_ASSERT(took_ms < 3000);
	CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "no reply within 800 ms"));
	/* no broker at all */
	{
		char args[128];
		snprintf(args, sizeof(args), "ls --broker mqtt://127.0.0.1:%d --timeout-ms 1000", hwt_free_port());
		CU_ASSERT_EQUAL(cli(args), 1);
		CU_ASSERT(took_ms < 5000);
		CU_ASSERT_PTR_NOT_NULL(strstr(err_text, "cannot connect to the broker"));
	}
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_ls_show_events),
		HWTEST(TEST_commands),
		HWTEST(TEST_missing_collector_and_broker),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0) return 1;
	hwtest_suite("cli", suite_init, suite_cleanup, cases);
	return hwtest_run();
}
