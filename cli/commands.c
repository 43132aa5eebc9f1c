/* commands.c: the heartwire CLI's request commands: ls, show, events (queries) and fail, clear,
 * claim, release, pause, unpause (commands), over MQTT 5 request/response (request.c). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/ids.h"
#include "heartwire/states.h"

#include "args.h"
#include "cli.h"
#include "format.h"
#include "jsonscan.h"
#include "request.h"
#include "table.h"

bool hw_cli_color(const struct cli_cfg *c)
{
	return c->color == 1 || (c->color == 0 && isatty(STDOUT_FILENO));
}

static int usage_error(const char *fmt, ...) HW_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "heartwire: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see heartwire --help)\n");
	return EXIT_USAGE;
}

static int conn_open(const struct cli_cfg *c, hw_cli_conn_t *cc)
{
	hw_cli_conn_opts_t o = {c->broker, c->username, c->password, c->cafile, c->topic_root, c->timeout_ms};
	hw_error_t err = {0};

	if(hw_cli_connect(cc, &o, &err) != HW_OK){
		fprintf(stderr, "heartwire: cannot connect to the broker at %s: %s\n", c->broker, err.msg);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* Sends req and takes the reply. EXIT_OK with *r ok; EXIT_REFUSED after printing why. */
static int ask(hw_cli_conn_t *cc, const hw_request_t *req, hw_reply_t *r)
{
	hw_error_t err = {0};

	if(hw_cli_request(cc, req, r, &err) != HW_OK){
		fprintf(stderr, "heartwire: %s\n", err.msg);
		return EXIT_REFUSED;
	}
	if(!r->ok){
		fprintf(stderr, "heartwire: %s: %s\n", r->code_name, r->message);
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}

/* One session id positional argument. */
static int one_session(const char *cmd, int argc, char **argv, char *out)
{
	hw_error_t err;

	if(argc < 2) return usage_error("%s needs a SESSION", cmd);
	if(argc > 2) return usage_error("unexpected argument '%s'", argv[2]);
	if(hw_id_copy(out, "SESSION", argv[1], &err) != HW_OK) return usage_error("%s", err.msg);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ queries */

static int cmd_ls(struct cli_cfg *c, int argc, char **argv)
{
	hw_request_t req = HW_REQUEST_INIT;
	hw_cli_conn_t cc;
	hw_error_t err;
	bool color = hw_cli_color(c), header = false;
	int rc, pages = 0;
	int64_t total = 0;

	if(argc > 1) return usage_error("ls takes no arguments; unexpected '%s'", argv[1]);
	req.verb = HW_VERB_SESSIONS;
	if(c->states[0] && hw_cli_parse_states(c->states, &req.states, &err) != HW_OK) return usage_error("%s", err.msg);
	if(c->since[0] && hw_cli_parse_time(c->since, hw_time_ms(), false, &req.updated_since, &err) != HW_OK){
		fprintf(stderr, "heartwire: --since: %s\n", err.msg);
		return EXIT_USAGE;
	}
	snprintf(req.project, sizeof(req.project), "%s", c->project);
	snprintf(req.machine, sizeof(req.machine), "%s", c->machine);
	snprintf(req.slot, sizeof(req.slot), "%s", c->slot);
	if(c->limit > 0) req.limit = c->limit;
	rc = conn_open(c, &cc);
	if(rc != EXIT_OK) return rc;
	for(;;){
		hw_reply_t r;
		hw_js_t data, list, s;
		char next[HW_CURSOR_MAX + 1] = "";
		size_t pos = 0;
		rc = ask(&cc, &req, &r);
		if(rc != EXIT_OK) break;
		pages++;
		data = hw_js_of(r.data);
		hw_js_str_member(data, "next_cursor", next, sizeof(next));
		if(c->json){
			printf("%s\n", r.data);
		}else{
			int64_t now = hw_time_ms();
			if(!header){
				hw_cli_table_header(stdout, color);
				header = true;
			}
			if(hw_js_member(data, "sessions", &list)){
				while(hw_js_next(list, &pos, &s)){
					hw_session_t doc = HW_SESSION_INIT;
					if(hw_session_decode(s.p, s.n, &doc, &err) == HW_OK){
						hw_cli_table_row(stdout, &doc, now, color);
						hw_session_cleanup(&doc);
						total++;
					}else{
						fprintf(stderr, "heartwire: skipping an unreadable session: %s\n", err.msg);
					}
				}
			}
		}
		fflush(stdout);
		hw_reply_cleanup(&r);
		if(!next[0]) break;
		if(!c->all){
			if(!c->json) fprintf(stderr, "(more sessions: heartwire ls --all, or a narrower filter)\n");
			break;
		}
		snprintf(req.cursor, sizeof(req.cursor), "%s", next);
	}
	if(rc == EXIT_OK && !c->json && total == 0) fprintf(stderr, "(no sessions)\n");
	hw_cli_close(&cc);
	(void)pages;
	return rc;
}

static int cmd_show(struct cli_cfg *c, int argc, char **argv)
{
	hw_request_t req = HW_REQUEST_INIT;
	hw_cli_conn_t cc;
	hw_reply_t r;
	hw_error_t err;
	int rc;

	req.verb = HW_VERB_SESSION;
	rc = one_session("show", argc, argv, req.session);
	if(rc != EXIT_OK) return rc;
	req.limit = c->limit > 0 ? c->limit : 10;
	rc = conn_open(c, &cc);
	if(rc != EXIT_OK) return rc;
	rc = ask(&cc, &req, &r);
	if(rc == EXIT_OK){
		hw_js_t data = hw_js_of(r.data), doc, evs, ev;
		hw_session_t s = HW_SESSION_INIT;
		size_t pos = 0;
		bool color = hw_cli_color(c);
		if(c->json){
			printf("%s\n", r.data);
		}else if(hw_js_member(data, "session", &doc) && hw_session_decode(doc.p, doc.n, &s, &err) == HW_OK){
			hw_cli_session_details(stdout, &s, hw_time_ms(), color);
			hw_session_cleanup(&s);
			if(hw_js_member(data, "events", &evs)){
				printf("\nlatest events:\n");
				hw_cli_events_header(stdout, color);
				while(hw_js_next(evs, &pos, &ev)) hw_cli_event_row(stdout, ev, color);
			}
		}else{
			fprintf(stderr, "heartwire: the collector's session document is unreadable\n");
			rc = EXIT_REFUSED;
		}
		hw_reply_cleanup(&r);
	}
	hw_cli_close(&cc);
	return rc;
}

static int cmd_events(struct cli_cfg *c, int argc, char **argv)
{
	hw_request_t req = HW_REQUEST_INIT;
	hw_cli_conn_t cc;
	hw_error_t err;
	bool color = hw_cli_color(c), header = false;
	int rc;

	req.verb = HW_VERB_EVENTS;
	rc = one_session("events", argc, argv, req.session);
	if(rc != EXIT_OK) return rc;
	if(c->since[0] && hw_cli_parse_time(c->since, hw_time_ms(), false, &req.updated_since, &err) != HW_OK){
		fprintf(stderr, "heartwire: --since: %s\n", err.msg);
		return EXIT_USAGE;
	}
	if(c->limit > 0) req.limit = c->limit;
	rc = conn_open(c, &cc);
	if(rc != EXIT_OK) return rc;
	for(;;){
		hw_reply_t r;
		hw_js_t data, list, ev;
		char next[HW_CURSOR_MAX + 1] = "";
		size_t pos = 0;
		rc = ask(&cc, &req, &r);
		if(rc != EXIT_OK) break;
		data = hw_js_of(r.data);
		hw_js_str_member(data, "next_cursor", next, sizeof(next));
		if(c->json){
			printf("%s\n", r.data);
		}else{
			if(!header){
				hw_cli_events_header(stdout, color);
				header = true;
			}
			if(hw_js_member(data, "events", &list)){
				while(hw_js_next(list, &pos, &ev)) hw_cli_event_row(stdout, ev, color);
			}
		}
		fflush(stdout);
		hw_reply_cleanup(&r);
		if(!next[0]) break;
		if(!c->all){
			if(!c->json) fprintf(stderr, "(more events: heartwire events %s --all)\n", req.session);
			break;
		}
		snprintf(req.cursor, sizeof(req.cursor), "%s", next);
	}
	hw_cli_close(&cc);
	return rc;
}

/* ------------------------------------------------------------------ commands */

/* The machine id this CLI claims for when --claimant is not given: the host name, sanitised. */
static void default_claimant(char out[HW_ID_MAX + 1])
{
	char host[256] = "";
	size_t n;

	if(gethostname(host, sizeof(host) - 1) != 0 || !host[0]) snprintf(host, sizeof(host), "cli");
	n = (size_t)snprintf(out, HW_ID_MAX + 1, "%s", host);
	if(n > HW_ID_MAX) n = HW_ID_MAX;
	for(size_t i = 0; i < n; i++){
		if(!hw_id_char_ok((unsigned char)out[i])) out[i] = '-';
	}
}

static int cmd_command(struct cli_cfg *c, int verb, int argc, char **argv)
{
	hw_request_t req = HW_REQUEST_INIT;
	hw_cli_conn_t cc;
	hw_reply_t r;
	hw_error_t err;
	const char *name = hw_verb_name(verb);
	int rc;

	req.verb = verb;
	if(verb == HW_VERB_PAUSE || verb == HW_VERB_UNPAUSE){
		if(argc > 1) return usage_error("unexpected argument '%s' (use --project P for one project)", argv[1]);
		snprintf(req.project, sizeof(req.project), "%s", c->project);
		if(verb == HW_VERB_PAUSE && c->until[0] &&
				hw_cli_parse_time(c->until, hw_time_ms(), true, &req.resume_at, &err) != HW_OK){
			fprintf(stderr, "heartwire: --until: %s\n", err.msg);
			return EXIT_USAGE;
		}
	}else{
		rc = one_session(name, argc, argv, req.session);
		if(rc != EXIT_OK) return rc;
	}
	if(verb == HW_VERB_FAIL || verb == HW_VERB_CLEAR || verb == HW_VERB_PAUSE)
		snprintf(req.reason, sizeof(req.reason), "%s", c->reason);
	if(verb == HW_VERB_CLAIM){
		if(c->claimant[0]) snprintf(req.claimant, sizeof(req.claimant), "%s", c->claimant);
		else default_claimant(req.claimant);
		req.lease_ms = c->lease_ms;
	}
	if(verb == HW_VERB_RELEASE){
		if(!c->token[0]) return usage_error("%s needs --token TOKEN (the token claim printed)", name);
		snprintf(req.token, sizeof(req.token), "%s", c->token);
	}
	rc = conn_open(c, &cc);
	if(rc != EXIT_OK) return rc;
	rc = ask(&cc, &req, &r);
	if(rc == EXIT_OK){
		char line[1024];
		if(c->json) printf("%s\n", r.data);
		else printf("%s\n", hw_cli_command_text(verb, hw_js_of(r.data), line, sizeof(line)));
		hw_reply_cleanup(&r);
	}
	hw_cli_close(&cc);
	return rc;
}

int hw_cli_run(struct cli_cfg *c, const char *cmd, int argc, char **argv)
{
	static const struct {
		const char *name;
		int verb;
	} cmds[] = {{"fail", HW_VERB_FAIL}, {"clear", HW_VERB_CLEAR}, {"claim", HW_VERB_CLAIM}, {"release", HW_VERB_RELEASE},
			{"pause", HW_VERB_PAUSE}, {"unpause", HW_VERB_UNPAUSE}};

	if(strcmp(cmd, "ls") == 0) return cmd_ls(c, argc, argv);
	if(strcmp(cmd, "show") == 0) return cmd_show(c, argc, argv);
	if(strcmp(cmd, "events") == 0) return cmd_events(c, argc, argv);
	for(size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++){
		if(strcmp(cmd, cmds[i].name) == 0) return cmd_command(c, cmds[i].verb, argc, argv);
	}
	return -1;
}
