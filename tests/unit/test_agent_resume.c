/* test_agent_resume.c: the pure parts of `heartwire-agent resume`: the command substitution in
 * every mode (Claude's own resume flags, earlier substitutions, commands that are not claude),
 * the resume-or-fresh decision (staleness, failure limit, not resumable), the template check,
 * the options, and the epoch floor. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/msg.h"
#include "hwtest.h"

#include "epoch.h"
#include "resume.h"

#define SID "0f6e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
#define OLD "9b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"

/* ------------------------------------------------------------------ helpers */

/* Joins an argv with '|' for compact comparisons. */
static const char *join(const hw_argv_t *a)
{
	static char buf[4096];
	size_t o = 0;

	buf[0] = '\0';
	for(size_t i = 0; i < a->n && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? "|" : "", a->v[i]);
	return buf;
}

/* Builds the commands of a NULL-terminated argv; returns the rc. */
static int cmds(int mode, const char *tmpl, bool tmpl_set, const char *sid, hw_argv_t *resume, hw_argv_t *fresh,
		const char *first, ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;
	hw_resume_spec_t spec = {
			.mode = mode, .tmpl = tmpl ? tmpl : HW_RESUME_ARGS_DEFAULT, .tmpl_set = tmpl_set, .session = "s-42"};
	hw_error_t err;

	va_start(ap, first);
	for(const char *a = first; a && n < 63; a = va_arg(ap, const char *)) argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return hw_resume_commands(argv, n, &spec, sid, resume, fresh, &err);
}

/* ------------------------------------------------------------------ substitution */

static void TEST_insert_claude_plain(void)
{
	hw_argv_t r, f;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "claude", "-p", "fix the login", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|-p|fix the login");
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|-p|fix the login");
	/* NULL-terminated, as exec wants it */
	CU_ASSERT_PTR_NULL(r.v[r.n]);
	CU_ASSERT_PTR_NULL(f.v[f.n]);
	hw_argv_free(&r);
	hw_argv_free(&f);
	CU_ASSERT_PTR_NULL(r.v);
	CU_ASSERT_EQUAL(r.n, 0);
	/* A path to claude is claude too. */
	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "/usr/local/bin/claude", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "/usr/local/bin/claude|--resume|" SID);
	CU_ASSERT_STRING_EQUAL(join(&f), "/usr/local/bin/claude");
	hw_argv_free(&r);
	hw_argv_free(&f);
}

/* Claude's own resume flags are dropped, with their values, wherever they stand. */
static void TEST_insert_drops_claude_resume_flags(void)
{
	hw_argv_t r, f;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "claude", "--resume", OLD, "-p", "go", "-c",
					      "--continue", "-r", OLD, "--resume=" OLD, "--session-id", "abcd",
					      "--session-id=efgh", "--model", "opus", NULL),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|-p|go|--model|opus");
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|-p|go|--model|opus");
	hw_argv_free(&r);
	hw_argv_free(&f);
	/* -r without a value (followed by another option, or last) takes nothing with it. */
	CU_ASSERT_EQUAL_FATAL(
			cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "claude", "-r", "--verbose", "--resume", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|--verbose");
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|--verbose");
	hw_argv_free(&r);
	hw_argv_free(&f);
	/* After "--" nothing is touched. */
	CU_ASSERT_EQUAL_FATAL(
			cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "claude", "-c", "--", "-c", "--resume", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|--|-c|--resume");
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|--|-c|--resume");
	hw_argv_free(&r);
	hw_argv_free(&f);
}

/* Resuming a resumed command does not pile up substitutions (the stored argv is the one that
 * ran, with the old id in it). */
static void TEST_insert_is_idempotent(void)
{
	hw_argv_t r, f, r2, f2;
	char *argv[8];
	hw_resume_spec_t spec = {.mode = HW_RESUME_INSERT,
			.tmpl = "--resume {claude_sid} --tag {session}",
			.tmpl_set = true,
			.session = "s-42"};
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, spec.tmpl, true, OLD, &r, &f, "claude", "-p", "x", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" OLD "|--tag|s-42|-p|x");
	CU_ASSERT_EQUAL_FATAL(hw_resume_commands(r.v, r.n, &spec, SID, &r2, &f2, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r2), "claude|--resume|" SID "|--tag|s-42|-p|x");
	CU_ASSERT_STRING_EQUAL(join(&f2), "claude|-p|x");
	hw_argv_free(&r2);
	hw_argv_free(&f2);
	/* A non-claude command with a given template: the earlier words go, by pattern. */
	argv[0] = "agent-wrapper";
	argv[1] = "--from=" OLD ".jsonl";
	argv[2] = "work";
	spec.tmpl = "--from={claude_sid}.jsonl";
	CU_ASSERT_EQUAL_FATAL(hw_resume_commands(argv, 3, &spec, SID, &r2, &f2, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r2), "agent-wrapper|--from=" SID ".jsonl|work");
	CU_ASSERT_STRING_EQUAL(join(&f2), "agent-wrapper|work");
	hw_argv_free(&r2);
	hw_argv_free(&f2);
	/* Words that only look alike stay: another session, or not an id. */
	argv[1] = "--from=a b.jsonl";
	CU_ASSERT_EQUAL_FATAL(hw_resume_commands(argv, 3, &spec, SID, &r2, &f2, &err), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&f2), "agent-wrapper|--from=a b.jsonl|work");
	hw_argv_free(&r2);
	hw_argv_free(&f2);
	hw_argv_free(&r);
	hw_argv_free(&f);
}

static void TEST_replace_mode(void)
{
	hw_argv_t r, f;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_REPLACE, "--resume {claude_sid} -p continue", true, SID, &r, &f, "claude", "-p",
					      "fix the login", "--resume", OLD, NULL),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|-p|continue");
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|-p|fix the login");
	hw_argv_free(&r);
	hw_argv_free(&f);
	/* Stored after an earlier replace: the fresh command drops the earlier words. */
	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_REPLACE, "--resume {claude_sid} -p continue", true, SID, &r, &f, "claude",
					      "--resume", OLD, "-p", "continue", NULL),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude");
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" SID "|-p|continue");
	hw_argv_free(&r);
	hw_argv_free(&f);
}

static void TEST_none_mode(void)
{
	hw_argv_t r, f;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_NONE, NULL, false, SID, &r, &f, "claude", "--resume", OLD, NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "claude|--resume|" OLD);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude|--resume|" OLD);
	hw_argv_free(&r);
	hw_argv_free(&f);
}

/* A command that is not claude is run as stored, unless a template was given. */
static void TEST_non_claude_commands(void)
{
	hw_argv_t r, f;

	CU_ASSERT_EQUAL_FATAL(
			cmds(HW_RESUME_INSERT, NULL, false, SID, &r, &f, "python3", "agent.py", "--resume", OLD, NULL), HW_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	CU_ASSERT_STRING_EQUAL(join(&f), "python3|agent.py|--resume|" OLD);
	hw_argv_free(&f);
	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_REPLACE, NULL, false, SID, &r, &f, "claude-wrapper", NULL), HW_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude-wrapper");
	hw_argv_free(&f);
	/* Given a template, it is inserted; the non-claude flags are left alone. */
	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, "--continue-from {claude_sid}", true, SID, &r, &f, "python3", "agent.py",
					      "-c", NULL),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(join(&r), "python3|--continue-from|" SID "|agent.py|-c");
	CU_ASSERT_STRING_EQUAL(join(&f), "python3|agent.py|-c");
	hw_argv_free(&r);
	hw_argv_free(&f);
}

static void TEST_without_sid_and_limits(void)
{
	hw_argv_t r, f;
	char *big[HW_ARGV_MAX];
	hw_resume_spec_t spec = {.mode = HW_RESUME_INSERT, .tmpl = HW_RESUME_ARGS_DEFAULT, .session = "s"};
	hw_error_t err;

	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, NULL, false, NULL, &r, &f, "claude", "-c", NULL), HW_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	CU_ASSERT_STRING_EQUAL(join(&f), "claude");
	hw_argv_free(&f);
	CU_ASSERT_EQUAL_FATAL(cmds(HW_RESUME_INSERT, NULL, false, "", &r, &f, "claude", NULL), HW_OK);
	CU_ASSERT_EQUAL(r.n, 0);
	hw_argv_free(&f);
	/* 256 words already: two more do not fit, and nothing is left to free. */
	big[0] = "claude";
	for(int i = 1; i < HW_ARGV_MAX; i++) big[i] = "x";
	CU_ASSERT_EQUAL(hw_resume_commands(big, HW_ARGV_MAX, &spec, SID, &r, &f, &err), HW_ERR_INVAL);
	CU_ASSERT_PTR_NULL(r.v);
	CU_ASSERT_PTR_NULL(f.v);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "256"));
	CU_ASSERT_EQUAL(hw_resume_commands(big, 0, &spec, SID, &r, &f, &err), HW_ERR_INVAL);
}

static void TEST_template_check(void)
{
	hw_error_t err;

	CU_ASSERT_EQUAL(hw_resume_template_check(HW_RESUME_ARGS_DEFAULT, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_resume_template_check("--continue", &err), HW_OK);
	CU_ASSERT_EQUAL(hw_resume_template_check("  --resume={claude_sid}\t--tag {session} ", &err), HW_OK);
	CU_ASSERT_EQUAL(hw_resume_template_check("--resume {sid}", &err), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "{sid}"));
	CU_ASSERT_EQUAL(hw_resume_template_check("--resume {claude_sid", &err), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(hw_resume_template_check("", &err), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(hw_resume_template_check(" \t ", &err), HW_ERR_CONFIG);
	CU_ASSERT_TRUE(hw_resume_is_claude("claude"));
	CU_ASSERT_TRUE(hw_resume_is_claude("/opt/bin/claude"));
	CU_ASSERT_FALSE(hw_resume_is_claude("claude-code"));
	CU_ASSERT_FALSE(hw_resume_is_claude("/claude/bin/node"));
	CU_ASSERT_FALSE(hw_resume_is_claude(NULL));
}

/* ------------------------------------------------------------------ the decision */

#define NOW 1763800000000LL
#define HOUR 3600000LL

/* A document with a chain startup -> compact -> resume, the newest `age` ms old. */
static void doc_with_chain(hw_session_t *d, hw_sid_entry_t *chain, int64_t age)
{
	*d = (hw_session_t)HW_SESSION_INIT;
	snprintf(chain[0].sid, sizeof(chain[0].sid), "a-startup");
	chain[0].at = NOW - age - 2 * HOUR;
	chain[0].source = HW_SID_STARTUP;
	snprintf(chain[1].sid, sizeof(chain[1].sid), "b-compact");
	chain[1].at = NOW - age - HOUR;
	chain[1].source = HW_SID_COMPACT;
	snprintf(chain[2].sid, sizeof(chain[2].sid), "c-resume");
	chain[2].at = NOW - age;
	chain[2].source = HW_SID_RESUME;
	d->claude.chain = chain;
	d->claude.chain_len = 3;
	snprintf(d->claude.sid, sizeof(d->claude.sid), "c-resume");
	d->claude.resumable = true;
}

static void TEST_decide_resumes_newest(void)
{
	hw_sid_entry_t chain[3];
	hw_session_t d;
	hw_resume_decision_t out;
	hw_resume_policy_t p = {.max_failures = 3, .stale_ms = 24 * HOUR};

	doc_with_chain(&d, chain, 5 * 60000);
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	CU_ASSERT_STRING_EQUAL(out.sid, "c-resume");
	CU_ASSERT_EQUAL(out.sid_age_ms, 5 * 60000);
	CU_ASSERT_FALSE(out.mark_not_resumable);
	CU_ASSERT_STRING_EQUAL(out.why, "");
	/* Two failures of three: still resumed. */
	d.claude.resume_failures = 2;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	/* Only the chain, no sid member: its last entry. */
	d.claude.sid[0] = '\0';
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	CU_ASSERT_STRING_EQUAL(out.sid, "c-resume");
}

static void TEST_decide_failure_limit(void)
{
	hw_sid_entry_t chain[3];
	hw_session_t d;
	hw_resume_decision_t out;
	hw_resume_policy_t p = {.max_failures = 3, .stale_ms = 24 * HOUR};

	doc_with_chain(&d, chain, 1000);
	d.claude.resume_failures = 3;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_TRUE(out.mark_not_resumable);
	CU_ASSERT_STRING_EQUAL(out.why, "3 resume failures (limit 3)");
	p.max_failures = 1;
	d.claude.resume_failures = 1;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_TRUE(out.mark_not_resumable);
}

static void TEST_decide_staleness(void)
{
	hw_sid_entry_t chain[3];
	hw_session_t d;
	hw_resume_decision_t out;
	hw_resume_policy_t p = {.max_failures = 3, .stale_ms = 24 * HOUR};

	/* Exactly at the limit: still resumed; one ms over: fresh, not resumable. */
	doc_with_chain(&d, chain, 24 * HOUR);
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	doc_with_chain(&d, chain, 24 * HOUR + 1);
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_TRUE(out.mark_not_resumable);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.why, "c-resume is 24h 0m old (limit 24h 0m)"));
	/* Staleness is of the newest id, not the chain's start. */
	doc_with_chain(&d, chain, 0);
	chain[0].at = NOW - 30 * 24 * HOUR;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	/* 0: no limit. */
	p.stale_ms = 0;
	doc_with_chain(&d, chain, 400 * 24 * HOUR);
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	/* A clock ahead of ours: age 0, not negative. */
	p.stale_ms = 24 * HOUR;
	doc_with_chain(&d, chain, -5000);
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.sid_age_ms, 0);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_RESUME);
	/* The failure limit is reported before staleness. */
	doc_with_chain(&d, chain, 48 * HOUR);
	d.claude.resume_failures = 5;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.why, "resume failures"));
}

static void TEST_decide_fresh_without_marking(void)
{
	hw_sid_entry_t chain[3];
	hw_session_t d;
	hw_resume_decision_t out;
	hw_resume_policy_t p = {.max_failures = 3, .stale_ms = 24 * HOUR};

	/* Already not resumable: fresh, nothing more to report. */
	doc_with_chain(&d, chain, 0);
	d.claude.resumable = false;
	d.claude.resume_failures = 9;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_FALSE(out.mark_not_resumable);
	CU_ASSERT_STRING_EQUAL(out.why, "the session is marked not resumable");
	/* No command to resume with (not claude): fresh, the session stays resumable. */
	doc_with_chain(&d, chain, 48 * HOUR);
	hw_resume_decide(&d, false, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_FALSE(out.mark_not_resumable);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.why, "not claude"));
	/* No Claude session id at all. */
	d = (hw_session_t)HW_SESSION_INIT;
	d.claude.resumable = true;
	hw_resume_decide(&d, true, &p, NOW, &out);
	CU_ASSERT_EQUAL(out.action, HW_RESUME_ACT_FRESH);
	CU_ASSERT_FALSE(out.mark_not_resumable);
	CU_ASSERT_EQUAL(out.sid_age_ms, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.why, "no Claude session id"));
}

/* ------------------------------------------------------------------ options and epochs */

static int load(hw_resume_cfg_t *c, hw_error_t *err, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = "resume";
	va_start(ap, err);
	for(char *a = va_arg(ap, char *); a && n < 31; a = va_arg(ap, char *)) argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return hw_resume_opts_load(c, n, argv, err);
}

static void TEST_options(void)
{
	static hw_resume_cfg_t c;
	hw_error_t err;

	unsetenv("HEARTWIRE_SESSION");
	unsetenv("HEARTWIRE_PROJECT");
	setenv("HEARTWIRE_CONFIG", "/dev/null", 1);
	CU_ASSERT_EQUAL_FATAL(load(&c, &err, "s-42", "--state-dir", "/tmp/hw-unit", "--machine", "m-9", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(c.session, "s-42");
	CU_ASSERT_STRING_EQUAL(c.run.session, "s-42");
	CU_ASSERT_STRING_EQUAL(c.run.machine, "m-9");
	CU_ASSERT_STRING_EQUAL(c.resume_args, HW_RESUME_ARGS_DEFAULT);
	CU_ASSERT_FALSE(c.resume_args_set);
	CU_ASSERT_EQUAL(c.mode, HW_RESUME_INSERT);
	CU_ASSERT_EQUAL(c.probe_ms, 20000);
	CU_ASSERT_EQUAL(c.max_failures, 3);
	CU_ASSERT_EQUAL(c.stale_ms, 86400000);
	CU_ASSERT_FALSE(c.interval_set);
	/* Options may come after or before SESSION. */
	CU_ASSERT_EQUAL_FATAL(
			load(&c, &err, "--resume-mode", "replace", "s-43", "--resume-args", "-r {claude_sid}", "--stale-ms", "2h",
					"--max-resume-failures", "5", "--interval-ms", "1s", "--state-dir", "/tmp/hw-unit", NULL),
			HW_OK);
	CU_ASSERT_STRING_EQUAL(c.session, "s-43");
	CU_ASSERT_EQUAL(c.mode, HW_RESUME_REPLACE);
	CU_ASSERT_TRUE(c.resume_args_set);
	CU_ASSERT_EQUAL(c.stale_ms, 2 * HOUR);
	CU_ASSERT_EQUAL(c.max_failures, 5);
	CU_ASSERT_TRUE(c.interval_set);
	/* Usage errors name the problem. */
	CU_ASSERT_EQUAL(load(&c, &err, "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "missing the SESSION"));
	CU_ASSERT_EQUAL(load(&c, &err, "a", "b", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, &err, "s/1", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "SESSION"));
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--project", "p", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--project"));
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--session", "s-2", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--resume-args", "--resume {id}", "--state-dir", "/tmp/hw-unit", NULL),
			HW_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--resume-args"));
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--resume-mode", "merge", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--max-resume-failures", "0", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--cwd", "relative/dir", "--state-dir", "/tmp/hw-unit", NULL), HW_ERR_CONFIG);
	/* The session's own options from the environment are ignored (run shares the namespace). */
	setenv("HEARTWIRE_PROJECT", "other", 1);
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--state-dir", "/tmp/hw-unit", NULL), HW_OK);
	CU_ASSERT_STRING_EQUAL(c.run.project, "");
	unsetenv("HEARTWIRE_PROJECT");
	setenv("HEARTWIRE_RESUME_MODE", "none", 1);
	CU_ASSERT_EQUAL(load(&c, &err, "s-1", "--state-dir", "/tmp/hw-unit", NULL), HW_OK);
	CU_ASSERT_EQUAL(c.mode, HW_RESUME_NONE);
	unsetenv("HEARTWIRE_RESUME_MODE");
	unsetenv("HEARTWIRE_CONFIG");
}

static void TEST_epoch_raise(void)
{
	char dir[] = "/tmp/hw-unit-epochXXXXXX";
	int64_t e = 0;
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	/* A machine that never ran the session continues above the collector's epoch. */
	CU_ASSERT_EQUAL(hw_epoch_raise(dir, "s-1", 41, &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 41);
	CU_ASSERT_EQUAL(hw_epoch_next(dir, "s-1", &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 42);
	/* Never lowered. */
	CU_ASSERT_EQUAL(hw_epoch_raise(dir, "s-1", 7, &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 42);
	CU_ASSERT_EQUAL(hw_epoch_next(dir, "s-1", &e, &err), HW_OK);
	CU_ASSERT_EQUAL(e, 43);
	CU_ASSERT_EQUAL(hw_epoch_raise(dir, "s-1", -1, NULL, &err), HW_ERR_INVAL);
	CU_ASSERT_EQUAL(hw_epoch_raise(dir, "bad/id", 3, NULL, &err), HW_ERR_INVAL);
	{
		char path[512];
		snprintf(path, sizeof(path), "%s/s-1.epoch", dir);
		unlink(path);
		rmdir(dir);
	}
}

int main(void)
{
	static const hwtest_case_t cases[] = {HWTEST(TEST_insert_claude_plain), HWTEST(TEST_insert_drops_claude_resume_flags),
			HWTEST(TEST_insert_is_idempotent), HWTEST(TEST_replace_mode), HWTEST(TEST_none_mode),
			HWTEST(TEST_non_claude_commands), HWTEST(TEST_without_sid_and_limits), HWTEST(TEST_template_check),
			HWTEST(TEST_decide_resumes_newest), HWTEST(TEST_decide_failure_limit), HWTEST(TEST_decide_staleness),
			HWTEST(TEST_decide_fresh_without_marking), HWTEST(TEST_options), HWTEST(TEST_epoch_raise), HWTEST_END};

	if(hwtest_init() != 0 || hwtest_suite("agent_resume", NULL, NULL, cases) != 0) return 1;
	return hwtest_run();
}
