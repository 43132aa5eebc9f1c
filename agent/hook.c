/* hook.c: `heartwire-agent hook`: stdin JSON -> one datagram to the running agent. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/agentmsg.h"
#include "heartwire/clock.h"

#include "hook.h"
#include "hooksock.h"

int hw_hook_read(int fd, size_t max, int64_t deadline_ms, char **out, size_t *len, int *truncated, hw_error_t *err)
{
	size_t cap = max < 65536 ? max : 65536, n = 0;
	char *buf = malloc(cap + 1), scratch[65536];

	*out = NULL;
	*len = 0;
	*truncated = 0;
	if(!buf) return hw_error_set(err, HW_ERR_NOMEM, "out of memory");
	for(;;){
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int64_t left = deadline_ms - hw_mono_ms();
		ssize_t r;
		int pr;

		if(left <= 0){
			*truncated = 1;
			break;
		}
		pr = poll(&p, 1, (int)left);
		if(pr < 0 && errno == EINTR) continue;
		if(pr < 0){
			free(buf);
			return hw_error_set(err, HW_ERR_IO, "poll on stdin: %s", strerror(errno));
		}
		if(pr == 0) continue;
		if(n < max){
			if(n == cap){
				size_t ncap = cap * 2 > max ? max : cap * 2;
				char *nb = realloc(buf, ncap + 1);
				if(!nb){
					free(buf);
					return hw_error_set(err, HW_ERR_NOMEM, "out of memory reading stdin");
				}
				buf = nb;
				cap = ncap;
			}
			r = read(fd, buf + n, cap - n);
		}else{
			r = read(fd, scratch, sizeof(scratch));
			if(r > 0) *truncated = 1;
		}
		if(r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
		if(r < 0){
			free(buf);
			return hw_error_set(err, HW_ERR_IO, "read stdin: %s", strerror(errno));
		}
		if(r == 0) break;
		if(n < max) n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return HW_OK;
}

void hw_agent_hook_usage(FILE *out)
{
	fprintf(out,
			"usage: heartwire-agent hook\n\n"
			"A Claude Code hook command: reads the hook's JSON on stdin and hands hook_event_name,\n"
			"session_id, transcript_path, cwd, tool_name and source to the heartwire-agent that runs\n"
			"this Claude (found through HEARTWIRE_HOOK_SOCKET, which `heartwire-agent run` sets).\n"
			"Returns in a few milliseconds and always exits 0: without an agent it prints one warning\n"
			"on stderr and nothing on stdout (Claude adds a hook's stdout to its context).\n"
			"Configure it in .claude/settings.json for SessionStart, UserPromptSubmit, PreToolUse,\n"
			"PostToolUse, Notification, Stop, SessionEnd and PreCompact (see docs/claude-hooks.md).\n");
}

int hw_agent_hook(int argc, char **argv)
{
	int64_t t0 = hw_mono_us();
	const char *sock = getenv("HEARTWIRE_HOOK_SOCKET");
	hw_hook_t h = HW_HOOK_INIT;
	char *in = NULL, *dgram = NULL;
	size_t n = 0, dn = 0;
	int truncated = 0;
	hw_error_t err;

	for(int i = 1; i < argc; i++){
		if(strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0){
			hw_agent_hook_usage(stdout);
			return 0;
		}
		/* A hook must never fail Claude: an unknown argument is only a warning. */
		fprintf(stderr, "heartwire-agent hook: ignoring unknown argument '%s'\n", argv[i]);
	}
	if(hw_hook_read(STDIN_FILENO, HW_HOOK_STDIN_MAX, t0 / 1000 + HW_HOOK_READ_MS, &in, &n, &truncated, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent hook: %s\n", err.msg);
		goto cleanup;
	}
	if(truncated || hw_hook_parse(in, n, &h, &err) != HW_OK){
		/* Still worth telling the agent: it is activity, even if we cannot say which. */
		fprintf(stderr, "heartwire-agent hook: %s; reporting it as an Unknown hook\n",
				truncated ? "payload too large or stdin not closed in time" : err.msg);
		h = (hw_hook_t)HW_HOOK_INIT;
		memcpy(h.event, "Unknown", sizeof("Unknown"));
	}
	if(!sock || !*sock){
		fprintf(stderr,
				"heartwire-agent hook: HEARTWIRE_HOOK_SOCKET is not set (Claude is not running under "
				"heartwire-agent run); %s ignored\n",
				h.event);
		goto cleanup;
	}
	h.t0_us = t0;
	if(hw_hook_encode(&h, &dgram, &dn, &err) != HW_OK){
		fprintf(stderr, "heartwire-agent hook: %s\n", err.msg);
		goto cleanup;
	}
	if(hw_hooksock_send(sock, dgram, dn, &err) != HW_OK)
		fprintf(stderr, "heartwire-agent hook: %s; %s not recorded\n", err.msg, h.event);
cleanup:
	free(in);
	free(dgram);
	return 0;
}
