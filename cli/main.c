/* main.c: `heartwire`, the command-line client: options, --help, and the commands: watch (a live
 * view from the retained state topics, here) and the queries and commands over MQTT 5
 * request/response (commands.c). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/config.h"
#include "heartwire/log.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"
#include "args.h"
#include "cli.h"
#include "table.h"

static const char *const color_values[] = {"auto", "always", "never", NULL};

/* clang-format off */
static const hw_opt_t cli_opts[] = {
	{.name = "broker", .short_name = 'b', .type = HW_OPT_URL, .def = "mqtt://127.0.0.1:1883",
		.help = "MQTT broker URL", HW_OPT_AT(struct cli_cfg, broker)},
	{.name = "username", .short_name = 'u', .type = HW_OPT_ID, .help = "broker user name",
		HW_OPT_AT(struct cli_cfg, username)},
	{.name = "password", .type = HW_OPT_STRING, .flags = HW_OPT_NO_ARGV,
		.help = "broker password (file or environment only)", HW_OPT_AT(struct cli_cfg, password)},
	{.name = "password-file", .type = HW_OPT_STRING, .metavar = "FILE",
		.help = "file whose first line is the broker password", HW_OPT_AT(struct cli_cfg, password_file)},
	{.name = "cafile", .type = HW_OPT_STRING, .metavar = "FILE",
		.help = "CA certificate (PEM) to verify an mqtts:// broker", HW_OPT_AT(struct cli_cfg, cafile)},
	{.name = "topic-root", .type = HW_OPT_STRING, .def = HW_TOPIC_ROOT_DEFAULT,
		.help = "root of heartwire's topic tree", HW_OPT_AT(struct cli_cfg, topic_root)},
	{.name = "timeout-ms", .type = HW_OPT_DURATION_MS, .def = "3000", .min = 100, .max = 600000,
		.help = "how long to wait for the broker, and for the collector's reply", HW_OPT_AT(struct cli_cfg, timeout_ms)},
	{.name = "color", .type = HW_OPT_ENUM, .values = color_values, .def = "auto",
		.help = "colours: auto (only on a terminal), always, never", HW_OPT_AT(struct cli_cfg, color)},
	{.name = "json", .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY,
		.help = "machine-readable output: one JSON document per line", HW_OPT_AT(struct cli_cfg, json)},
	{.name = "once", .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY,
		.help = "watch: print the current retained state once and exit", HW_OPT_AT(struct cli_cfg, once)},
	{.name = "state", .type = HW_OPT_STRING, .flags = HW_OPT_ARGV_ONLY, .metavar = "STATE[,STATE]",
		.help = "ls: only sessions in these states (repeatable)", HW_OPT_AT(struct cli_cfg, states)},
	{.name = "project", .short_name = 'p', .type = HW_OPT_ID, .flags = HW_OPT_ARGV_ONLY,
		.help = "ls: only this project; pause, unpause: this project instead of everything",
		HW_OPT_AT(struct cli_cfg, project)},
	{.name = "machine", .short_name = 'm', .type = HW_OPT_ID, .flags = HW_OPT_ARGV_ONLY,
		.help = "ls: only this machine", HW_OPT_AT(struct cli_cfg, machine)},
	{.name = "slot", .type = HW_OPT_ID, .flags = HW_OPT_ARGV_ONLY, .help = "ls: only this slot",
		HW_OPT_AT(struct cli_cfg, slot)},
	{.name = "since", .type = HW_OPT_STRING, .flags = HW_OPT_ARGV_ONLY, .metavar = "TIME",
		.help = "ls: updated since; events: at or after (10m, 2h, 2026-11-21T09:00:00Z, ms)",
		HW_OPT_AT(struct cli_cfg, since)},
	{.name = "limit", .short_name = 'n', .type = HW_OPT_INT, .flags = HW_OPT_ARGV_ONLY, .min = 1, .max = 1000,
		.help = "ls, events: per page (default: the collector's, 100); show: events shown (10)",
		HW_OPT_AT(struct cli_cfg, limit)},
	{.name = "all", .short_name = 'a', .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY,
		.help = "ls, events: every page, not only the first", HW_OPT_AT(struct cli_cfg, all)},
	{.name = "reason", .short_name = 'r', .type = HW_OPT_STRING, .flags = HW_OPT_ARGV_ONLY, .metavar = "TEXT",
		.help = "fail, clear, pause: why (kept in the audit log)", HW_OPT_AT(struct cli_cfg, reason)},
	{.name = "until", .type = HW_OPT_STRING, .flags = HW_OPT_ARGV_ONLY, .metavar = "TIME",
		.help = "pause: resume by itself then (30m, 2026-11-21T12:00:00Z, ms)", HW_OPT_AT(struct cli_cfg, until)},
	{.name = "claimant", .type = HW_OPT_ID, .flags = HW_OPT_ARGV_ONLY,
		.help = "claim: who restarts the session (default: this host's name)", HW_OPT_AT(struct cli_cfg, claimant)},
	{.name = "lease-ms", .type = HW_OPT_DURATION_MS, .flags = HW_OPT_ARGV_ONLY, .min = 0, .max = 86400000,
		.help = "claim: how long the claim holds (default: the collector's, 10 min)", HW_OPT_AT(struct cli_cfg, lease_ms)},
	{.name = "token", .type = HW_OPT_ID, .flags = HW_OPT_ARGV_ONLY, .help = "release: the token claim printed",
		HW_OPT_AT(struct cli_cfg, token)},
	{.name = "help", .short_name = 'h', .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
		.help = "show this help", HW_OPT_AT(struct cli_cfg, help)},
	{.name = "version", .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
		.help = "print the version and exit", HW_OPT_AT(struct cli_cfg, version)},
	HW_OPT_END,
};
/* clang-format on */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *out, const hw_config_t *cfg)
{
	fprintf(out,
			"usage: heartwire COMMAND [ARGS] [OPTIONS]\n"
			"\n"
			"Shows and acts on heartwire-supervised sessions, through the collector (MQTT 5\n"
			"request/response on {root}/q/ and {root}/cmd/) and its retained topics.\n"
			"\n"
			"commands:\n"
			"  ls                 sessions as a table (--state, --project, --machine, --slot, --since,\n"
			"                     --limit, --all)\n"
			"  show SESSION       one session's document and its latest events\n"
			"  events SESSION     a session's audit log (--since, --limit, --all)\n"
			"  watch              live view of every session: redraws in place on a terminal and\n"
			"                     highlights new alerts; one line per change otherwise; --once prints\n"
			"                     the current state and exits\n"
			"  fail SESSION       mark it failed (terminal) [--reason TEXT]\n"
			"  clear SESSION      reset a stalled, lost, crashed or failed session for a restart [--reason]\n"
			"  claim SESSION      take it for a restart: prints a fencing token [--claimant ID] [--lease-ms]\n"
			"  release SESSION    give a claim back --token TOKEN\n"
			"  pause              hold back session starts [--project P] [--reason TEXT] [--until TIME]\n"
			"  unpause            [--project P]\n"
			"\n"
			"--json prints the collector's reply data (one JSON document per line, per page).\n"
			"\n");
	hw_config_usage(cfg, out);
	fprintf(out,
			"\nexit status: 0 ok; 1 refused by the collector (the error code and message are printed),\n"
			"no reply within --timeout-ms, or the broker unreachable; 2 usage error\n");
}

/* The sessions seen so far, kept sorted by (project, session). */
struct view {
	hw_session_t *s;
	size_t n, cap;
	char alerts[5][200];
	int64_t alert_at[5];
	size_t nalerts;
	bool dirty;
};

static int view_cmp(const hw_session_t *a, const hw_session_t *b)
{
	int c = strcmp(a->project, b->project);

	return c ? c : strcmp(a->session, b->session);
}

/* Replaces or inserts s (takes ownership of its heap members); a NULL s removes id. */
/* The session with this id, or NULL; borrowed until the next view_put. */
static const hw_session_t *view_find(const struct view *v, const char *id)
{
	for(size_t i = 0; i < v->n; i++){
		if(strcmp(v->s[i].session, id) == 0) return &v->s[i];
	}
	return NULL;
}

static int view_put(struct view *v, const char *id, hw_session_t *s)
{
	size_t i;

	for(i = 0; i < v->n; i++){
		if(strcmp(v->s[i].session, id) == 0) break;
	}
	if(i < v->n){
		hw_session_cleanup(&v->s[i]);
		memmove(&v->s[i], &v->s[i + 1], (v->n - i - 1) * sizeof(*v->s));
		v->n--;
	}
	v->dirty = true;
	if(!s) return HW_OK;
	if(v->n == v->cap){
		size_t cap = v->cap ? v->cap * 2 : 64;
		hw_session_t *p = realloc(v->s, cap * sizeof(*p));
		if(!p) return HW_ERR_NOMEM;
		v->s = p;
		v->cap = cap;
	}
	for(i = 0; i < v->n && view_cmp(&v->s[i], s) < 0; i++){
	}
	memmove(&v->s[i + 1], &v->s[i], (v->n - i) * sizeof(*v->s));
	v->s[i] = *s;
	v->n++;
	return HW_OK;
}

static void view_alert(struct view *v, const char *session, const void *payload, size_t len)
{
	size_t slot = v->nalerts % 5;

	snprintf(v->alerts[slot], sizeof(v->alerts[slot]), "%s: %.*s", session, (int)(len > 150 ? 150 : len),
			(const char *)payload);
	v->alert_at[slot] = hw_time_ms();
	v->nalerts++;
	v->dirty = true;
}

static void view_draw(struct view *v, bool tty, bool color, const char *broker)
{
	int64_t now = hw_time_ms();
	size_t counts[HW_STATE__COUNT] = {0};

	if(tty) fputs("\033[H\033[2J", stdout);
	for(size_t i = 0; i < v->n; i++){
		if(v->s[i].state >= 0 && v->s[i].state < HW_STATE__COUNT) counts[v->s[i].state]++;
	}
	printf("heartwire watch  %s  %zu sessions:", broker, v->n);
	for(int st = 1; st < HW_STATE__COUNT; st++){
		if(counts[st])
			printf(" %s%s %zu%s", hw_cli_state_color(st, color), hw_state_name(st), counts[st], hw_cli_reset(color));
	}
	printf("\n\n");
	hw_cli_table_header(stdout, color);
	for(size_t i = 0; i < v->n; i++) hw_cli_table_row(stdout, &v->s[i], now, color);
	if(v->nalerts){
		printf("\nalerts (newest last):\n");
		size_t first = v->nalerts > 5 ? v->nalerts - 5 : 0;
		for(size_t k = first; k < v->nalerts; k++){
			size_t slot = k % 5;
			bool fresh = now - v->alert_at[slot] < 10000;
			printf("  %s%s%s\n", fresh && color ? "\033[7m" : "", v->alerts[slot], fresh && color ? "\033[0m" : "");
		}
	}
	fflush(stdout);
	v->dirty = false;
}

static int read_password_file(struct cli_cfg *c, hw_error_t *err)
{
	FILE *f;

	if(!c->password_file[0] || c->password[0]) return HW_OK;
	f = fopen(c->password_file, "r");
	if(!f) return hw_error_set(err, HW_ERR_CONFIG, "--password-file %s: %s", c->password_file, strerror(errno));
	if(!fgets(c->password, sizeof(c->password), f)) c->password[0] = '\0';
	fclose(f);
	c->password[strcspn(c->password, "\r\n")] = '\0';
	return HW_OK;
}

static int cmd_watch(struct cli_cfg *c)
{
	hw_mqtt_opts_t mo = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err = {0};
	char client_id[HW_ID_MAX + 1], filter[HW_TOPIC_MAX];
	struct view v = {0};
	bool tty = isatty(STDOUT_FILENO) && !c->json && !c->once;
	bool color = c->color == 1 || (c->color == 0 && isatty(STDOUT_FILENO));
	int64_t last_draw = 0, quiet_since;
	int rc = EXIT_OK;
	static const int kinds[] = {HW_T_STATE_SESSION, HW_T_ALERT};

	snprintf(client_id, sizeof(client_id), "hw-cli-%ld-%lld", (long)getpid(), (long long)(hw_mono_us() % 1000000));
	mo.url = c->broker;
	mo.client_id = client_id;
	mo.username = c->username[0] ? c->username : NULL;
	mo.password = c->password[0] ? c->password : NULL;
	mo.cafile = c->cafile[0] ? c->cafile : NULL;
	mo.connect_timeout_ms = c->timeout_ms;
	if(hw_mqtt_new(&m, &mo, &err) != HW_OK || hw_mqtt_connect(m, NULL, &err) != HW_OK){
		fprintf(stderr, "heartwire: cannot connect to the broker at %s: %s\n", c->broker, err.msg);
		hw_mqtt_free(m);
		return EXIT_REFUSED;
	}
	for(size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++){
		if(hw_topic_filter(filter, sizeof(filter), c->topic_root, kinds[k], NULL, NULL, &err) != HW_OK ||
				hw_mqtt_subscribe(m, filter, 1, &err) != HW_OK){
			fprintf(stderr, "heartwire: cannot subscribe to %s: %s\n", filter, err.msg);
			hw_mqtt_free(m);
			return EXIT_REFUSED;
		}
	}
	quiet_since = hw_mono_ms();
	while(!stop_flag){
		hw_mqtt_msg_t *msg;
		hw_topic_t t;
		int64_t now = hw_mono_ms();

		if(c->once && now - quiet_since > 300) break; /* retained messages have settled */
		if(!hw_mqtt_connected(m)){
			fprintf(stderr, "heartwire: lost the connection to the broker at %s\n", c->broker);
			rc = EXIT_REFUSED;
			break;
		}
		if(tty && (v.dirty || now - last_draw >= 1000) && now - last_draw >= 200){
			view_draw(&v, tty, color, c->broker);
			last_draw = now;
		}
		hw_mqtt_wait(m, 200);
		while((msg = hw_mqtt_next(m))){
			quiet_since = hw_mono_ms();
			if(hw_topic_parse(c->topic_root, msg->topic, strlen(msg->topic), &t, NULL) != HW_OK){
				hw_mqtt_msg_free(msg);
				continue;
			}
			if(t.kind == HW_T_STATE_SESSION){
				hw_session_t s = HW_SESSION_INIT;
				const hw_session_t *prev = view_find(&v, t.id);
				/* The collector republishes a session's state on heartbeats (last_hb_at
				 * moves); the line view shows only what a person wants to see: changes. */
				bool changed = !prev || msg->len == 0;
				int prev_state = prev ? prev->state : -1, prev_cause = prev ? prev->cause : -1;
				if(msg->len == 0){
					view_put(&v, t.id, NULL);
				}else if(hw_session_decode(msg->payload, msg->len, &s, &err) == HW_OK){
					view_put(&v, t.id, &s);
				}else{
					fprintf(stderr, "heartwire: ignoring state of %s: %s\n", t.id, err.msg);
				}
				if(!tty && !c->once){
					if(c->json){
						printf("{\"topic\":\"%s\",\"doc\":%.*s}\n", msg->topic, (int)msg->len,
								msg->len ? (const char *)msg->payload : "null");
					}else if(msg->len && (changed || s.state != prev_state || s.cause != prev_cause)){
						char ts[32];
						printf("%s %s %s%s%s %s\n", hw_time_iso(hw_time_ms(), ts, sizeof(ts)), t.id,
								hw_cli_state_color(s.state, color), hw_state_name(s.state),
								hw_cli_reset(color), hw_cause_name(s.cause));
					}
					fflush(stdout);
				}
			}else if(t.kind == HW_T_ALERT){
				view_alert(&v, t.id, msg->payload, msg->len);
				if(!tty && !c->once){
					if(c->json){
						printf("{\"topic\":\"%s\",\"alert\":%.*s}\n", msg->topic, (int)msg->len,
								(const char *)msg->payload);
					}else{
						printf("ALERT %s %.*s\n", t.id, (int)msg->len, (const char *)msg->payload);
					}
					fflush(stdout);
				}
			}
			hw_mqtt_msg_free(msg);
		}
	}
	if(c->once){
		if(c->json){
			for(size_t i = 0; i < v.n; i++){
				char *doc = NULL;
				size_t len = 0;
				if(hw_session_encode(&v.s[i], &doc, &len, NULL) == HW_OK) printf("%s\n", doc);
				free(doc);
			}
		}else{
			view_draw(&v, false, color, c->broker);
		}
	}
	hw_mqtt_disconnect(m, 1000);
	hw_mqtt_free(m);
	for(size_t i = 0; i < v.n; i++) hw_session_cleanup(&v.s[i]);
	free(v.s);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli_cfg c;
	hw_config_t cfg = {.opts = cli_opts, .base = &c, .positional = HW_POS_PERMUTE};
	hw_error_t err = {0};
	int first = argc, rc;
	struct sigaction sa = {0};
	char states[sizeof(c.states)];

	/* --state may be repeated; the loader keeps only one value, so collect them first */
	if(hw_cli_take_repeated(&argc, argv, "state", states, sizeof(states), &err) != HW_OK){
		fprintf(stderr, "heartwire: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if(hw_config_load(&cfg, argc, argv, &first, &err) != HW_OK){
		fprintf(stderr, "heartwire: %s\n", err.msg);
		return EXIT_USAGE;
	}
	snprintf(c.states, sizeof(c.states), "%s", states);
	if(c.version){
		printf("heartwire %s\n", HW_VERSION);
		return EXIT_OK;
	}
	if(c.help || first >= argc){
		usage(c.help ? stdout : stderr, &cfg);
		return c.help ? EXIT_OK : EXIT_USAGE;
	}
	if(hw_topic_root_check(c.topic_root, &err) != HW_OK){
		fprintf(stderr, "heartwire: --topic-root: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if(read_password_file(&c, &err) != HW_OK){
		fprintf(stderr, "heartwire: %s\n", err.msg);
		return EXIT_USAGE;
	}
	hw_log_init("heartwire", HW_LOG_WARN, HW_LOG_TEXT, stderr);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if(strcmp(argv[first], "watch") == 0) return cmd_watch(&c);
	rc = hw_cli_run(&c, argv[first], argc - first, argv + first);
	if(rc >= 0) return rc;
	fprintf(stderr,
			"heartwire: unknown command '%s'; commands: ls, show, events, watch, fail, clear, claim, "
			"release, pause, unpause (see heartwire --help)\n",
			argv[first]);
	return EXIT_USAGE;
}
