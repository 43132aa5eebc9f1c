/* resume.c: `heartwire-agent resume SESSION`: asks the collector for the stored session
 * (q/session), decides between resuming its newest Claude session and a fresh one, claims it
 * (cmd/claim), starts the stored command in the stored working directory under `run`'s
 * supervision (same session id, run + 1, the claim token in every birth), falls back to a
 * fresh Claude session when the resume fails fast, and releases the claim at the end. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/config.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"

#include "epoch.h"
#include "resume.h"
#include "run.h"
#include "supervise.h"

#define EXIT_REFUSED 1
#define RELEASE_TIMEOUT_MS 3000
#define PH_SID "{claude_sid}"
#define PH_SESSION "{session}"

/* ------------------------------------------------------------------ options */

static const char *const mode_values[] = {"insert", "replace", "none", NULL};

#define RAT(m) HW_OPT_AT(hw_resume_cfg_t, m)

/* clang-format off */
static const hw_opt_t resume_own_opts[] = {
	{.name = "resume-args", .type = HW_OPT_STRING, .def = HW_RESUME_ARGS_DEFAULT, .metavar = "TEMPLATE",
	 .help = "words that resume Claude; {claude_sid} and {session} are replaced", RAT(resume_args)},
	{.name = "resume-mode", .type = HW_OPT_ENUM, .values = mode_values, .def = "insert",
	 .help = "insert: drop claude's resume flags, insert --resume-args after the program; replace: the "
		 "program and --resume-args only; none: the stored command unchanged", RAT(mode)},
	{.name = "resume-probe-ms", .type = HW_OPT_DURATION_MS, .def = "20000", .min = 0, .max = 3600000,
	 .help = "a resumed child that fails within this long falls back to a fresh Claude session (0: never)",
	 RAT(probe_ms)},
	{.name = "max-resume-failures", .type = HW_OPT_INT, .def = "3", .min = 1, .max = 1000,
	 .help = "resume failures after which the session is not resumed again (not resumable)", RAT(max_failures)},
	{.name = "stale-ms", .type = HW_OPT_DURATION_MS, .def = "86400000", .min = 0, .max = 31622400000LL,
	 .help = "a newest Claude session id older than this is not resumed (not resumable; 0: no limit)",
	 RAT(stale_ms)},
	{.name = "lease-ms", .type = HW_OPT_DURATION_MS, .def = "0", .min = 0, .max = HW_LEASE_MAX_MS,
	 .help = "the claim's lease (0: the collector's default)", RAT(lease_ms)},
	{.name = "request-timeout-ms", .type = HW_OPT_DURATION_MS, .def = "5000", .min = 100, .max = 120000,
	 .help = "how long to wait for the broker and for each reply of the collector", RAT(timeout_ms)},
	{.name = "request-username", .type = HW_OPT_STRING, .metavar = "NAME",
	 .help = "broker user for the q/ and cmd/ requests: an operator under the shipped ACL (a viewer: "
	 "--dry-run only) (default: --username, which the shipped ACL refuses)",
	 RAT(request_username)},
	{.name = "request-password", .type = HW_OPT_STRING, .flags = HW_OPT_NO_ARGV,
	 .help = "the request user's password (environment or config file only)", RAT(request_password)},
	{.name = "request-password-file", .type = HW_OPT_STRING, .metavar = "FILE",
	 .help = "file whose first line is the request user's password", RAT(request_password_file)},
	{.name = "cwd", .type = HW_OPT_STRING, .metavar = "DIR", .help = "working directory instead of the stored one",
	 RAT(cwd)},
	{.name = "dry-run", .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY,
	 .help = "ask and print what would be done; claim and start nothing", RAT(dry_run)},
	HW_OPT_END};

/* run's options that the stored session fixes: an error on the command line, ignored from the
 * config file and the environment (which `run` shares). */
static const char *const fixed_opts[] = {"session", "project", "slot", "task", NULL};
/* clang-format on */

#define TABLE_MAX 96

static hw_opt_t table[TABLE_MAX];
static size_t table_len;

/* The combined table: run's options (offsets into hw_agent_cfg_t, the first member of
 * hw_resume_cfg_t), then resume's own. */
static const hw_opt_t *resume_table(void)
{
	const hw_opt_t *run = hw_agent_run_opts();
	size_t n = 0;

	if(table_len) return table;
	for(size_t i = 0; run[i].name && n < TABLE_MAX - 1; i++) table[n++] = run[i];
	for(size_t i = 0; resume_own_opts[i].name && n < TABLE_MAX - 1; i++) table[n++] = resume_own_opts[i];
	table[n] = (hw_opt_t)HW_OPT_END;
	table_len = n;
	return table;
}

static int opt_index(const char *name)
{
	const hw_opt_t *t = resume_table();

	for(size_t i = 0; t[i].name; i++){
		if(strcmp(t[i].name, name) == 0) return (int)i;
	}
	return -1;
}

int hw_resume_opts_load(hw_resume_cfg_t *cfg, int argc, char **argv, hw_error_t *err)
{
	unsigned char sources[TABLE_MAX] = {0};
	hw_config_t c = {.opts = resume_table(),
			.base = cfg,
			.default_file = "/etc/heartwire/agent.conf",
			.positional = HW_POS_PERMUTE,
			.sources = sources};
	int first = argc, rc, i;

	memset(cfg, 0, sizeof(*cfg));
	rc = hw_config_load(&c, argc, argv, &first, err);
	if(rc != HW_OK || cfg->run.help) return rc;
	for(int k = 0; fixed_opts[k]; k++){
		i = opt_index(fixed_opts[k]);
		if(i >= 0 && sources[i] == HW_SRC_ARGV)
			return hw_error_set(err, HW_ERR_CONFIG, "--%s: not an option of resume: the stored session's is used",
					fixed_opts[k]);
	}
	/* From the config file or the environment (shared with run) they are ignored. */
	cfg->run.project[0] = cfg->run.slot[0] = cfg->run.task[0] = '\0';
	if(argc - first != 1)
		return hw_error_set(err, HW_ERR_CONFIG, "%s; usage: heartwire-agent resume SESSION [options]",
				argc - first == 0 ? "missing the SESSION" : "only one SESSION is allowed");
	if(hw_id_copy(cfg->session, "SESSION", argv[first], err) != HW_OK) return HW_ERR_CONFIG;
	memcpy(cfg->run.session, cfg->session, sizeof(cfg->session));
	i = opt_index("resume-args");
	cfg->resume_args_set = i >= 0 && sources[i] != HW_SRC_DEFAULT;
	i = opt_index("interval-ms");
	cfg->interval_set = i >= 0 && sources[i] != HW_SRC_DEFAULT;
	i = opt_index("grace-ms");
	cfg->grace_set = i >= 0 && sources[i] != HW_SRC_DEFAULT;
	if(cfg->mode != HW_RESUME_NONE && (rc = hw_resume_template_check(cfg->resume_args, err)) != HW_OK) return rc;
	if(cfg->cwd[0] && cfg->cwd[0] != '/')
		return hw_error_set(err, HW_ERR_CONFIG, "--cwd: '%s' must be an absolute path", cfg->cwd);
	if(cfg->request_password_file[0]){
		hw_error_t e;
		rc = hw_password_read(cfg->request_password_file, cfg->request_password, sizeof(cfg->request_password), &e);
		if(rc != HW_OK) return hw_error_set(err, HW_ERR_CONFIG, "--request-%s", e.msg + 2);
	}
	if(cfg->request_password[0] && !cfg->request_username[0])
		return hw_error_set(err, HW_ERR_CONFIG, "--request-username: a request password is set but no user name");
	return hw_agent_opts_derive(&cfg->run, err);
}

void hw_resume_usage(FILE *out)
{
	static hw_opt_t shown[TABLE_MAX];
	const hw_opt_t *t = resume_table();
	hw_resume_cfg_t tmp;
	hw_config_t c = {.opts = shown, .base = &tmp, .positional = HW_POS_PERMUTE};
	size_t n = 0;

	/* The options the stored session fixes are not shown. */
	for(size_t i = 0; t[i].name; i++){
		bool fixed = false;
		for(int k = 0; fixed_opts[k]; k++) fixed = fixed || strcmp(t[i].name, fixed_opts[k]) == 0;
		if(!fixed) shown[n++] = t[i];
	}
	shown[n] = (hw_opt_t)HW_OPT_END;

	fprintf(out,
			"usage: heartwire-agent resume SESSION [options]\n\n"
			"Restarts a recoverable session (stalled, lost, crashed, cleared) from what the collector stored:\n"
			"asks q/session, claims it with cmd/claim (claimant: this machine), and runs the stored command in\n"
			"the stored working directory as `run` does (same session id, run + 1), resuming the newest Claude\n"
			"session: for claude, --resume/-r/--continue/-c/--session-id are dropped and \"--resume SID\" is\n"
			"inserted after the program (--resume-args, --resume-mode). When the resumed child fails within\n"
			"--resume-probe-ms, the failure is counted and a fresh Claude session is started instead. After\n"
			"--max-resume-failures, or when the newest Claude session id is older than --stale-ms, the session\n"
			"is started fresh and reported not resumable. The claim is released at the end.\n\n"
			"Credentials: the resumed session connects as its machine (--username, --password-file); the\n"
			"requests go on a connection of their own as --request-username (--request-password-file or\n"
			"HEARTWIRE_REQUEST_PASSWORD). The shipped broker ACL refuses q/ and cmd/ from a machine's user, so\n"
			"give an operator (hw-keys add NAME --role operator); a viewer can do only --dry-run.\n\n"
			"Exit status: the child's, as for run; 1 the collector refused or cannot be reached; 2 usage error;\n"
			"3 paused with --when-paused fail; 125 agent failure before the child ran; 126/127 not executable /\n"
			"not found. The session's project, slot and task are the stored ones.\n\n");
	hw_config_usage(&c, out);
}

/* ------------------------------------------------------------------ the commands */

bool hw_resume_is_claude(const char *argv0)
{
	const char *base;

	if(!argv0) return false;
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	return strcmp(base, "claude") == 0;
}

int hw_resume_template_check(const char *tmpl, hw_error_t *err)
{
	bool word = false;

	for(const char *p = tmpl; *p; p++){
		if(*p == ' ' || *p == '\t') continue;
		word = true;
		if(*p != '{') continue;
		if(strncmp(p, PH_SID, strlen(PH_SID)) == 0) p += strlen(PH_SID) - 1;
		else if(strncmp(p, PH_SESSION, strlen(PH_SESSION)) == 0) p += strlen(PH_SESSION) - 1;
		else
			return hw_error_set(err, HW_ERR_CONFIG,
					"--resume-args: unknown placeholder at '%.20s'; allowed: " PH_SID " and " PH_SESSION, p);
	}
	if(!word) return hw_error_set(err, HW_ERR_CONFIG, "--resume-args: the template is empty");
	return HW_OK;
}

void hw_argv_free(hw_argv_t *a)
{
	if(!a) return;
	for(size_t i = 0; i < a->n; i++) free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* Appends a copy of the n bytes at s. */
static int argv_push_n(hw_argv_t *a, const char *s, size_t n, hw_error_t *err)
{
	char **v, *copy;

	if(a->n >= HW_ARGV_MAX)
		return hw_error_set(err, HW_ERR_INVAL, "the command would have more than %d arguments", HW_ARGV_MAX);
	if(n > HW_ARG_MAX) return hw_error_set(err, HW_ERR_INVAL, "a command argument would be longer than %d bytes", HW_ARG_MAX);
	/* one more slot: the array stays NULL-terminated, as execvp wants it */
	v = realloc(a->v, (a->n + 2) * sizeof(*v));
	if(!v) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	a->v = v;
	a->v[a->n] = NULL;
	copy = malloc(n + 1);
	if(!copy) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	a->v[a->n++] = copy;
	a->v[a->n] = NULL;
	return HW_OK;
}

static int argv_push(hw_argv_t *a, const char *s, hw_error_t *err)
{
	return argv_push_n(a, s, strlen(s), err);
}

/* The next word of a template at *p (advanced past it): its start and length, 0 at the end. */
static size_t next_word(const char **p, const char **start)
{
	const char *s = *p;
	size_t n = 0;

	while(*s == ' ' || *s == '\t') s++;
	*start = s;
	while(s[n] && s[n] != ' ' && s[n] != '\t') n++;
	*p = s + n;
	return n;
}

/* Appends one template word (n bytes at w) with its placeholders replaced. */
static int push_word(hw_argv_t *a, const char *w, size_t n, const char *sid, const char *session, hw_error_t *err)
{
	char buf[HW_ARG_MAX + 1];
	size_t o = 0;

	for(size_t i = 0; i < n;){
		const char *rep = NULL;
		size_t skip = 1, rl;
		if(w[i] == '{' && n - i >= strlen(PH_SID) && strncmp(w + i, PH_SID, strlen(PH_SID)) == 0){
			rep = sid;
			skip = strlen(PH_SID);
		}else if(w[i] == '{' && n - i >= strlen(PH_SESSION) && strncmp(w + i, PH_SESSION, strlen(PH_SESSION)) == 0){
			rep = session;
			skip = strlen(PH_SESSION);
		}
		rl = rep ? strlen(rep) : 1;
		if(o + rl > HW_ARG_MAX)
			return hw_error_set(err, HW_ERR_INVAL, "a resume argument would be longer than %d bytes", HW_ARG_MAX);
		memcpy(buf + o, rep ? rep : w + i, rl);
		o += rl;
		i += skip;
	}
	return argv_push_n(a, buf, o, err);
}

/* True when s matches the template word w (n bytes): literal bytes, {session} as session,
 * {claude_sid} as any 1-64 id characters. */
static bool word_match(const char *w, size_t n, const char *s, const char *session)
{
	if(n == 0) return *s == '\0';
	if(w[0] == '{' && n >= strlen(PH_SID) && strncmp(w, PH_SID, strlen(PH_SID)) == 0){
		size_t k = strlen(PH_SID);
		for(size_t len = 1; len <= HW_ID_MAX && s[len - 1] && hw_id_char_ok((unsigned char)s[len - 1]); len++){
			if(word_match(w + k, n - k, s + len, session)) return true;
		}
		return false;
	}
	if(w[0] == '{' && n >= strlen(PH_SESSION) && strncmp(w, PH_SESSION, strlen(PH_SESSION)) == 0){
		size_t sl = strlen(session), k = strlen(PH_SESSION);
		return strncmp(s, session, sl) == 0 && word_match(w + k, n - k, s + sl, session);
	}
	return *s == w[0] && word_match(w + 1, n - 1, s + 1, session);
}

/* How many words of argv after argv[0] are an earlier substitution of tmpl (0 or its word count). */
static size_t earlier_substitution(char *const *argv, size_t argc, const char *tmpl, const char *session)
{
	const char *p = tmpl, *w;
	size_t n, k = 0;

	while((n = next_word(&p, &w)) > 0){
		if(1 + k >= argc || !word_match(w, n, argv[1 + k], session)) return 0;
		k++;
	}
	return k;
}

static bool is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static bool starts(const char *a, const char *prefix)
{
	return strncmp(a, prefix, strlen(prefix)) == 0;
}

/* The fresh command of a substitutable command (see hw_resume_commands). */
static int build_fresh(char *const *argv, size_t argc, const hw_resume_spec_t *spec, hw_argv_t *out, hw_error_t *err)
{
	bool claude = hw_resume_is_claude(argv[0]), opts = true;
	size_t i = 1 + earlier_substitution(argv, argc, spec->tmpl, spec->session ? spec->session : "");
	int rc = argv_push(out, argv[0], err);

	for(; rc == HW_OK && i < argc; i++){
		const char *a = argv[i];
		if(claude && opts){
			if(is(a, "--")){
				opts = false;
			}else if(is(a, "--resume") || is(a, "-r")){
				if(i + 1 < argc && argv[i + 1][0] != '-') i++;
				continue;
			}else if(is(a, "--session-id")){
				if(i + 1 < argc) i++;
				continue;
			}else if(starts(a, "--resume=") || starts(a, "--session-id=") || is(a, "--continue") || is(a, "-c")){
				continue;
			}
		}
		rc = argv_push(out, a, err);
	}
	return rc;
}

static int copy_argv(char *const *argv, size_t argc, hw_argv_t *out, hw_error_t *err)
{
	int rc = HW_OK;

	for(size_t i = 0; rc == HW_OK && i < argc; i++) rc = argv_push(out, argv[i], err);
	return rc;
}

int hw_resume_commands(char *const *argv, size_t argc, const hw_resume_spec_t *spec, const char *sid, hw_argv_t *resume,
		hw_argv_t *fresh, hw_error_t *err)
{
	const char *session = spec->session ? spec->session : "";
	bool have_sid = sid && sid[0];
	bool subst = spec->mode != HW_RESUME_NONE && argc > 0 && (hw_resume_is_claude(argv[0]) || spec->tmpl_set);
	int rc;

	*resume = (hw_argv_t){0};
	*fresh = (hw_argv_t){0};
	if(argc == 0 || !argv || !argv[0]) return hw_error_set(err, HW_ERR_INVAL, "the stored command is empty");
	if(!subst){
		rc = copy_argv(argv, argc, fresh, err);
		if(rc == HW_OK && spec->mode == HW_RESUME_NONE && have_sid) rc = copy_argv(argv, argc, resume, err);
		goto done;
	}
	rc = build_fresh(argv, argc, spec, fresh, err);
	if(rc != HW_OK || !have_sid) goto done;
	rc = argv_push(resume, argv[0], err);
	{
		const char *p = spec->tmpl, *w;
		size_t n;
		while(rc == HW_OK && (n = next_word(&p, &w)) > 0) rc = push_word(resume, w, n, sid, session, err);
	}
	if(spec->mode == HW_RESUME_INSERT){
		for(size_t i = 1; rc == HW_OK && i < fresh->n; i++) rc = argv_push(resume, fresh->v[i], err);
	}
done:
	if(rc != HW_OK){
		hw_argv_free(resume);
		hw_argv_free(fresh);
	}
	return rc;
}

/* ------------------------------------------------------------------ the decision */

/* A duration for people: "26h 3m", "4m 10s", "800 ms". */
static void human_ms(int64_t ms, char *buf, size_t len)
{
	if(ms < 1000) snprintf(buf, len, "%lld ms", (long long)ms);
	else if(ms < 3600000) snprintf(buf, len, "%lldm %llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else snprintf(buf, len, "%lldh %lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

void hw_resume_decide(const hw_session_t *doc, bool can_resume, const hw_resume_policy_t *policy, int64_t now_ms,
		hw_resume_decision_t *out)
{
	const hw_sid_entry_t *newest = NULL;
	char age[32], limit[32];

	memset(out, 0, sizeof(*out));
	out->action = HW_RESUME_ACT_FRESH;
	out->sid_age_ms = -1;
	snprintf(out->sid, sizeof(out->sid), "%s", doc->claude.sid);
	if(!out->sid[0] && doc->claude.chain_len > 0)
		snprintf(out->sid, sizeof(out->sid), "%s", doc->claude.chain[doc->claude.chain_len - 1].sid);
	for(size_t i = doc->claude.chain_len; i > 0 && out->sid[0]; i--){
		if(strcmp(doc->claude.chain[i - 1].sid, out->sid) == 0){
			newest = &doc->claude.chain[i - 1];
			break;
		}
	}
	if(newest) out->sid_age_ms = now_ms - newest->at < 0 ? 0 : now_ms - newest->at;
	if(!out->sid[0]){
		snprintf(out->why, sizeof(out->why), "no Claude session id is known for the session");
		return;
	}
	if(!can_resume){
		snprintf(out->why, sizeof(out->why), "the command is not claude and no --resume-args was given");
		return;
	}
	if(!doc->claude.resumable){
		snprintf(out->why, sizeof(out->why), "the session is marked not resumable");
		return;
	}
	if(doc->claude.resume_failures >= policy->max_failures){
		out->mark_not_resumable = true;
		snprintf(out->why, sizeof(out->why), "%lld resume failures (limit %lld)", (long long)doc->claude.resume_failures,
				(long long)policy->max_failures);
		return;
	}
	if(policy->stale_ms > 0 && out->sid_age_ms > policy->stale_ms){
		human_ms(out->sid_age_ms, age, sizeof(age));
		human_ms(policy->stale_ms, limit, sizeof(limit));
		out->mark_not_resumable = true;
		snprintf(out->why, sizeof(out->why), "Claude session %s is %s old (limit %s)", out->sid, age, limit);
		return;
	}
	out->action = HW_RESUME_ACT_RESUME;
}

/* ------------------------------------------------------------------ requests */

/* A short-lived requester: its own connection (no will) and reply topic. */
typedef struct rq {
	hw_mqtt_t *m;
	char reply_topic[HW_REPLY_TO_MAX + 1];
	char client_id[200];
	const hw_resume_cfg_t *cfg;
	unsigned n;
} rq_t;

static void rq_close(rq_t *r)
{
	if(r->m){
		if(hw_mqtt_connected(r->m)) hw_mqtt_disconnect(r->m, 500);
		hw_mqtt_free(r->m);
	}
	r->m = NULL;
}

/* Connects and subscribes to the reply topic {root}/reply/{user}/{client id}: the shipped ACL
 * lets each user read {root}/reply/{its user name}/# (docs/protocol.md); without a user name
 * the machine stands in. */
static int rq_open(rq_t *r, const hw_resume_cfg_t *c, hw_error_t *err)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	const char *user = c->request_username[0] ? c->request_username : c->run.username;
	const char *pass = c->request_username[0] ? c->request_password : c->run.password;
	int rc, n;

	memset(r, 0, sizeof(*r));
	r->cfg = c;
	snprintf(r->client_id, sizeof(r->client_id), "hw-%s-%s-rq-%ld", c->run.machine, c->session, (long)getpid());
	n = snprintf(r->reply_topic, sizeof(r->reply_topic), "%s/reply/%s/resume-%ld-%llx", c->run.topic_root,
			user[0] ? user : c->run.machine, (long)getpid(), (unsigned long long)hw_mono_us());
	if(n < 0 || (size_t)n >= sizeof(r->reply_topic) || strpbrk(user, "+#/"))
		return hw_error_set(err, HW_ERR_INVAL, "cannot make a reply topic for user '%s'", user);
	o.url = c->run.broker;
	o.client_id = r->client_id;
	o.username = user[0] ? user : NULL;
	o.password = pass[0] ? pass : NULL;
	o.cafile = c->run.cafile[0] ? c->run.cafile : NULL;
	o.keepalive_s = 30;
	o.connect_timeout_ms = (int)c->timeout_ms;
	if((rc = hw_mqtt_new(&r->m, &o, err)) != HW_OK) return rc;
	if((rc = hw_mqtt_connect(r->m, NULL, err)) != HW_OK){
		rq_close(r);
		return rc;
	}
	if((rc = hw_mqtt_subscribe(r->m, r->reply_topic, 1, err)) != HW_OK){
		rq_close(r);
		return rc;
	}
	return HW_OK;
}

/* Sends req on q/{verb} or cmd/{verb} with reply_to and corr in the payload (so the PUBACK tells
 * an ACL refusal) and waits for the reply with the same corr. *rep is the caller's to clean. */
static int rq_call(rq_t *r, int verb, hw_request_t *req, hw_reply_t *rep, hw_error_t *err)
{
	char topic[HW_TOPIC_MAX], *json = NULL;
	size_t len = 0;
	int64_t deadline;
	int rc;

	*rep = (hw_reply_t)HW_REPLY_INIT;
	req->verb = verb;
	snprintf(req->reply_to, sizeof(req->reply_to), "%s", r->reply_topic);
	snprintf(req->corr, sizeof(req->corr), "resume-%ld-%u", (long)getpid(), ++r->n);
	rc = hw_topic_build(topic, sizeof(topic), r->cfg->run.topic_root, hw_verb_is_command(verb) ? HW_T_COMMAND : HW_T_QUERY,
			NULL, hw_verb_name(verb), err);
	if(rc == HW_OK) rc = hw_request_encode(req, &json, &len, err);
	if(rc != HW_OK) return rc;
	rc = hw_mqtt_publish_wait(r->m, topic, json, len, 1, false, (int)r->cfg->timeout_ms, err);
	free(json);
	if(rc == HW_ERR_FORBIDDEN)
		return hw_error_set(err, HW_ERR_FORBIDDEN,
				"the broker refused %s for this user (ACL): give resume an "
				"operator's credentials with --request-username and --request-password-file",
				topic);
	if(rc != HW_OK) return rc;
	deadline = hw_mono_ms() + r->cfg->timeout_ms;
	for(;;){
		hw_mqtt_msg_t *msg;
		int64_t left = deadline - hw_mono_ms();

		while((msg = hw_mqtt_next(r->m)) != NULL){
			hw_error_t e;
			if(strcmp(msg->topic, r->reply_topic) != 0){
				hw_mqtt_msg_free(msg);
				continue;
			}
			rc = hw_reply_decode(msg->payload, msg->len, rep, &e);
			hw_mqtt_msg_free(msg);
			if(rc != HW_OK) return hw_error_set(err, rc, "the collector's reply is unreadable: %s", e.msg);
			if(!rep->corr[0] || strcmp(rep->corr, req->corr) == 0) return HW_OK;
			hw_reply_cleanup(rep); /* a late reply to an earlier request */
		}
		if(left <= 0) break;
		if(!hw_mqtt_connected(r->m))
			return hw_error_set(err, HW_ERR_MQTT, "lost the broker connection waiting for the reply");
		hw_mqtt_wait(r->m, (int)(left < 200 ? left : 200));
	}
	return hw_error_set(err, HW_ERR_TIMEOUT, "no reply to %s within %lld ms: is heartwire-collector running?", topic,
			(long long)r->cfg->timeout_ms);
}

/* One request on a fresh connection. Returns HW_OK with a reply (ok or not) in *rep. */
static int request_once(const hw_resume_cfg_t *c, int verb, hw_request_t *req, hw_reply_t *rep, hw_error_t *err)
{
	rq_t r;
	hw_error_t e;
	int rc = rq_open(&r, c, &e);

	*rep = (hw_reply_t)HW_REPLY_INIT;
	if(rc != HW_OK) return hw_error_set(err, rc, "cannot reach the broker %s: %s", c->run.broker, e.msg);
	rc = rq_call(&r, verb, req, rep, err);
	rq_close(&r);
	return rc;
}

/* The session document of a q/session reply: its "session" member when that is an object,
 * else the reply's data itself. */
static int reply_doc(const hw_reply_t *rep, hw_session_t *doc, hw_error_t *err)
{
	char *m = NULL;
	size_t n = 0;
	int rc = hw_reply_member(rep, "session", &m, &n, NULL);

	if(rc == HW_OK && n > 0 && m[0] == '{'){
		rc = hw_session_decode(m, n, doc, err);
		free(m);
		return rc;
	}
	free(m);
	return hw_session_decode(rep->data, rep->data_len, doc, err);
}

/* ------------------------------------------------------------------ resume */

static void print_argv(FILE *out, const hw_argv_t *a)
{
	for(size_t i = 0; i < a->n; i++){
		bool plain = a->v[i][0] && !strpbrk(a->v[i], " \t\n'\"\\$`*?[]{}()<>|&;#~");
		fprintf(out, "%s", i ? " " : "");
		if(plain){
			fputs(a->v[i], out);
		}else{
			fputc('\'', out);
			for(const char *p = a->v[i]; *p; p++){
				if(*p == '\'') fputs("'\\''", out);
				else fputc(*p, out);
			}
			fputc('\'', out);
		}
	}
}

/* Prints a refusal or an unreachable collector and gives exit status 1. */
static int refused(const char *session, const char *what, int rc, const hw_reply_t *rep, const hw_error_t *err)
{
	if(rc != HW_OK) fprintf(stderr, "heartwire-agent resume: %s: %s: %s\n", session, what, err->msg);
	else
		fprintf(stderr, "heartwire-agent resume: %s: refused by the collector (%s): %s\n", session, rep->code_name,
				rep->message);
	return EXIT_REFUSED;
}

static void release_claim(const hw_resume_cfg_t *c, const char *token)
{
	hw_request_t req = HW_REQUEST_INIT;
	hw_reply_t rep;
	hw_error_t err;
	hw_resume_cfg_t quick = *c;
	int rc;

	quick.timeout_ms = c->timeout_ms < RELEASE_TIMEOUT_MS ? c->timeout_ms : RELEASE_TIMEOUT_MS;
	snprintf(req.session, sizeof(req.session), "%s", c->session);
	snprintf(req.token, sizeof(req.token), "%s", token);
	rc = request_once(&quick, HW_VERB_RELEASE, &req, &rep, &err);
	if(rc != HW_OK) hw_logs(HW_LOG_WARN, c->session, "the claim was not released (it expires with its lease): %s", err.msg);
	else if(!rep.ok) hw_logs(HW_LOG_WARN, c->session, "the claim was not released (%s): %s", rep.code_name, rep.message);
	else hw_logs(HW_LOG_INFO, c->session, "claim released");
	hw_reply_cleanup(&rep);
}

/* Takes what the stored session fixes: project, slot, task, and the interval and grace unless
 * given. */
static void adopt_doc(hw_resume_cfg_t *c, const hw_session_t *doc)
{
	snprintf(c->run.project, sizeof(c->run.project), "%s", doc->project);
	snprintf(c->run.slot, sizeof(c->run.slot), "%s", doc->slot);
	snprintf(c->run.task, sizeof(c->run.task), "%s", hw_session_task(doc));
	if(!c->interval_set && doc->interval_ms >= HW_INTERVAL_MIN_MS && doc->interval_ms <= HW_INTERVAL_MAX_MS){
		c->run.interval_ms = doc->interval_ms;
		if(!c->grace_set){
			c->run.grace_ms = doc->grace_ms >= doc->interval_ms ? doc->grace_ms : 3 * doc->interval_ms;
			if(c->run.grace_ms > HW_GRACE_MAX_MS) c->run.grace_ms = HW_GRACE_MAX_MS;
		}
	}
	if(c->run.grace_ms < c->run.interval_ms) c->run.grace_ms = c->run.interval_ms;
}

/* Everything after the options: ask, decide, claim, run, release. Takes over *sup. */
static int resume_session(hw_resume_cfg_t *c, hw_sup_t *sup)
{
	hw_session_t doc = HW_SESSION_INIT;
	hw_request_t req = HW_REQUEST_INIT;
	hw_reply_t rep = HW_REPLY_INIT;
	hw_resume_decision_t d;
	hw_resume_policy_t policy = {.max_failures = c->max_failures, .stale_ms = c->stale_ms};
	hw_resume_spec_t spec = {.mode = c->mode, .tmpl = c->resume_args, .tmpl_set = c->resume_args_set, .session = c->session};
	hw_argv_t resume = {0}, fresh = {0};
	hw_run_plan_t plan = {0};
	hw_argv_t *cmd;
	char token[HW_ID_MAX + 1] = "", note[HW_TEXT_MAX + 1] = "", cwd[HW_PATH_MAX + 1];
	hw_error_t err;
	struct stat st;
	bool sup_taken = false;
	int status = EXIT_REFUSED, rc;
	int64_t lease_until = 0;

	/* 1. The stored session. */
	snprintf(req.session, sizeof(req.session), "%s", c->session);
	rc = request_once(c, HW_VERB_SESSION, &req, &rep, &err);
	if(rc != HW_OK || !rep.ok){
		status = refused(c->session, "cannot read the session", rc, &rep, &err);
		goto cleanup;
	}
	if(reply_doc(&rep, &doc, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent resume: %s: the collector's session document is unreadable: %s\n", c->session,
				err.msg);
		goto cleanup;
	}
	hw_reply_cleanup(&rep);
	if(doc.argc == 0){
		fprintf(stderr, "heartwire-agent resume: %s: the session has no stored command (no birth was recorded)\n",
				c->session);
		goto cleanup;
	}
	/* 2. The commands and the decision. */
	rc = hw_resume_commands(doc.argv, doc.argc, &spec, doc.claude.sid[0] ? doc.claude.sid : NULL, &resume, &fresh, &err);
	if(rc == HW_OK && resume.n == 0 && doc.claude.chain_len > 0 && !doc.claude.sid[0])
		rc = hw_resume_commands(
				doc.argv, doc.argc, &spec, doc.claude.chain[doc.claude.chain_len - 1].sid, &resume, &fresh, &err);
	if(rc != HW_OK){
		fprintf(stderr, "heartwire-agent resume: %s: %s\n", c->session, err.msg);
		status = HW_EXIT_USAGE;
		goto cleanup;
	}
	hw_resume_decide(&doc, resume.n > 0, &policy, hw_time_ms(), &d);
	if(d.mark_not_resumable)
		snprintf(note, sizeof(note), "%s %.*s", HW_ACTION_NOT_RESUMABLE,
				(int)(HW_TEXT_MAX - sizeof(HW_ACTION_NOT_RESUMABLE)), d.why);
	cmd = d.action == HW_RESUME_ACT_RESUME ? &resume : &fresh;
	snprintf(cwd, sizeof(cwd), "%s", c->cwd[0] ? c->cwd : hw_session_cwd(&doc));
	adopt_doc(c, &doc);
	fprintf(stderr, "heartwire-agent resume: %s (%s/%s on %s, run %lld, %s): ", c->session,
			doc.project[0] ? doc.project : "-", hw_state_name(doc.state), doc.machine, (long long)doc.run,
			c->dry_run ? "dry run" : "claiming");
	if(d.action == HW_RESUME_ACT_RESUME) fprintf(stderr, "resuming Claude session %s", d.sid);
	else fprintf(stderr, "starting a fresh session: %s%s", d.why, d.mark_not_resumable ? " (marking it not resumable)" : "");
	fprintf(stderr, "\n  command: ");
	print_argv(stderr, cmd);
	fprintf(stderr, "\n  in: %s\n", cwd[0] ? cwd : "(no stored directory: the current one)");
	if(strcmp(doc.machine, c->run.machine) != 0)
		fprintf(stderr, "  moving from machine %s to %s (under the claim token)\n", doc.machine, c->run.machine);
	if(c->dry_run){
		status = 0;
		goto cleanup;
	}
	if(cwd[0] && (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode))){
		fprintf(stderr, "heartwire-agent resume: %s: the working directory %s is not a directory here (use --cwd)\n",
				c->session, cwd);
		status = HW_SUP_EXIT_SELF;
		goto cleanup;
	}
	/* This machine's epochs must continue above the session's, wherever it ran before. */
	if(hw_epoch_raise(c->run.state_dir, c->session, doc.epoch, NULL, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent resume: --state-dir: %s\n", err.msg);
		status = HW_SUP_EXIT_SELF;
		goto cleanup;
	}
	/* 3. The claim. */
	req = (hw_request_t)HW_REQUEST_INIT;
	snprintf(req.session, sizeof(req.session), "%s", c->session);
	snprintf(req.claimant, sizeof(req.claimant), "%s", c->run.machine);
	req.lease_ms = c->lease_ms;
	rc = request_once(c, HW_VERB_CLAIM, &req, &rep, &err);
	if(rc != HW_OK || !rep.ok){
		status = refused(c->session, "cannot claim the session", rc, &rep, &err);
		goto cleanup;
	}
	if(hw_reply_string(&rep, "token", token, sizeof(token), &err) != HW_OK || hw_id_check("token", token, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent resume: %s: the claim reply has no valid token: %s\n", c->session, err.msg);
		token[0] = '\0';
		goto cleanup;
	}
	hw_reply_int(&rep, "lease_until", &lease_until, NULL);
	hw_reply_cleanup(&rep);
	hw_logs(HW_LOG_INFO, c->session, "claimed by %s, token %s, lease until %lld", c->run.machine, token,
			(long long)lease_until);
	if(cwd[0] && chdir(cwd) != 0){
		fprintf(stderr, "heartwire-agent resume: %s: cannot enter %s: %s\n", c->session, cwd, strerror(errno));
		status = HW_SUP_EXIT_SELF;
		goto cleanup;
	}
	/* 4. The run. */
	plan.run = doc.run + 1;
	plan.claim_token = token;
	plan.resume_sid = d.action == HW_RESUME_ACT_RESUME ? d.sid : "";
	plan.chain = doc.claude.chain;
	plan.chain_len = doc.claude.chain_len;
	plan.fresh = d.action == HW_RESUME_ACT_RESUME ? fresh.v : NULL;
	plan.fresh_argc = (int)fresh.n;
	plan.probe_ms = c->probe_ms;
	plan.failures = doc.claude.resume_failures;
	plan.max_failures = c->max_failures;
	plan.note = note[0] ? note : NULL;
	sup_taken = true;
	status = hw_agent_run_session(&c->run, sup, cmd->v, (int)cmd->n, &plan);
	/* 5. What happened. */
	if(d.action != HW_RESUME_ACT_RESUME)
		fprintf(stderr, "heartwire-agent resume: %s: started fresh (%s); exit status %d\n", c->session, d.why, status);
	else if(plan.fell_back)
		fprintf(stderr,
				"heartwire-agent resume: %s: resuming Claude session %s failed (exit status %d after %lld ms), "
				"fell back to a fresh Claude session; exit status %d\n",
				c->session, d.sid, plan.resume_exit, (long long)plan.resume_ms, status);
	else
		fprintf(stderr, "heartwire-agent resume: %s: resumed Claude session %s; exit status %d\n", c->session, d.sid,
				status);
cleanup:
	if(token[0]) release_claim(c, token);
	if(!sup_taken) hw_sup_cleanup(sup);
	hw_reply_cleanup(&rep);
	hw_session_cleanup(&doc);
	hw_argv_free(&resume);
	hw_argv_free(&fresh);
	return status;
}

int hw_agent_resume(int argc, char **argv, bool tls)
{
	hw_resume_cfg_t *c = calloc(1, sizeof(*c));
	char **orig = calloc((size_t)argc + 1, sizeof(*orig));
	hw_sup_t sup;
	hw_error_t err;
	int status = HW_SUP_EXIT_SELF;

	if(!c || !orig){
		fprintf(stderr, "heartwire-agent: out of memory\n");
		goto cleanup;
	}
	memcpy(orig, argv, sizeof(*orig) * (size_t)argc);
	/* Signals are blocked before any thread exists (the requests start Paho's threads). */
	if(hw_sup_init(&sup, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent: %s\n", err.msg);
		goto cleanup;
	}
	if(hw_resume_opts_load(c, argc, argv, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent resume: %s\n(see heartwire-agent resume --help)\n", err.msg);
		hw_sup_cleanup(&sup);
		status = HW_EXIT_USAGE;
		goto cleanup;
	}
	if(c->run.help){
		hw_resume_usage(stdout);
		hw_sup_cleanup(&sup);
		status = 0;
		goto cleanup;
	}
	if(!tls && strncmp(c->run.broker, "mqtts://", 8) == 0){
		hw_sup_cleanup(&sup);
		hw_agent_exec_tls(argc, orig);
		goto cleanup;
	}
	hw_log_init("agent", c->run.log_level, c->run.log_format, stderr);
	status = resume_session(c, &sup);
cleanup:
	if(c) explicit_bzero(c, sizeof(*c));
	free(c);
	free(orig);
	return status;
}
