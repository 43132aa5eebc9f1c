/* opts.c: `heartwire-agent run` options: table, derived defaults and cross-checks. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/config.h"
#include "heartwire/log.h"

#include "epoch.h"
#include "opts.h"

static const char *const restart_values[] = {"no", "on-failure", NULL};
static const char *const paused_values[] = {"wait", "fail", NULL};
static const char *const level_values[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const format_values[] = {"text", "json", NULL};

#define AT(m) HW_OPT_AT(hw_agent_cfg_t, m)

static const hw_opt_t run_opts[] = {{.name = "broker",
						    .short_name = 'b',
						    .type = HW_OPT_URL,
						    .def = "mqtt://127.0.0.1:1883",
						    .help = "MQTT broker (mqtt://host:port or mqtts://host:port)",
						    AT(broker)},
		{.name = "username",
				.short_name = 'u',
				.type = HW_OPT_STRING,
				.metavar = "NAME",
				.help = "broker user name (usually the machine)",
				AT(username)},
		{.name = "password",
				.type = HW_OPT_STRING,
				.flags = HW_OPT_NO_ARGV,
				.help = "broker password (environment or config file only)",
				AT(password)},
		{.name = "password-file",
				.type = HW_OPT_STRING,
				.metavar = "FILE",
				.help = "file whose first line is the broker password",
				AT(password_file)},
		{.name = "cafile",
				.type = HW_OPT_STRING,
				.metavar = "FILE",
				.help = "CA certificates (PEM) for mqtts://",
				AT(cafile)},
		{.name = "topic-root",
				.type = HW_OPT_STRING,
				.def = HW_TOPIC_ROOT_DEFAULT,
				.metavar = "ROOT",
				.help = "topic root",
				AT(topic_root)},
		{.name = "machine",
				.short_name = 'm',
				.type = HW_OPT_ID,
				.help = "machine id (default: the host name, sanitised)",
				AT(machine)},
		{.name = "slot", .type = HW_OPT_ID, .help = "docker slot id on this machine", AT(slot)},
		{.name = "session",
				.short_name = 's',
				.type = HW_OPT_ID,
				.help = "session id, stable across restarts of the same work (default: generated)",
				AT(session)},
		{.name = "project", .short_name = 'p', .type = HW_OPT_ID, .help = "project id", AT(project)},
		{.name = "task",
				.short_name = 't',
				.type = HW_OPT_STRING,
				.metavar = "TEXT",
				.help = "current task (e.g. an issue number and title)",
				AT(task)},
		{.name = "interval-ms",
				.type = HW_OPT_DURATION_MS,
				.def = "5000",
				.min = HW_INTERVAL_MIN_MS,
				.max = HW_INTERVAL_MAX_MS,
				.help = "heartbeat interval",
				AT(interval_ms)},
		{.name = "grace-ms",
				.type = HW_OPT_DURATION_MS,
				.def = "0",
				.min = 0,
				.max = HW_GRACE_MAX_MS,
				.help = "missed-heartbeat grace before stalled (0: 3 intervals)",
				AT(grace_ms)},
		{.name = "hb-qos",
				.type = HW_OPT_INT,
				.def = "0",
				.min = 0,
				.max = 1,
				.help = "MQTT QoS of heartbeats (0: not acknowledged; a lost one is replaced one interval later)",
				AT(hb_qos)},
		{.name = "keepalive-s",
				.type = HW_OPT_INT,
				.def = "10",
				.min = 1,
				.max = 65535,
				.help = "MQTT keepalive in seconds (the broker's backstop)",
				AT(keepalive_s)},
		{.name = "no-progress-ms",
				.type = HW_OPT_DURATION_MS,
				.def = "600000",
				.min = 0,
				.max = 604800000,
				.help = "stalled (no_progress) after this long without CPU, hook or transcript activity (0: "
					"never)",
				AT(no_progress_ms)},
		{.name = "restart",
				.type = HW_OPT_ENUM,
				.values = restart_values,
				.def = "no",
				.help = "restart the child when it fails",
				AT(restart)},
		{.name = "max-restarts",
				.type = HW_OPT_INT,
				.def = "3",
				.min = 0,
				.max = 1000,
				.help = "restarts allowed with --restart on-failure",
				AT(max_restarts)},
		{.name = "when-paused",
				.type = HW_OPT_ENUM,
				.values = paused_values,
				.def = "wait",
				.help = "if a global or project pause is set at start: wait for it to end, or fail (exit 3)",
				AT(when_paused)},
		{.name = "state-dir",
				.type = HW_OPT_STRING,
				.metavar = "DIR",
				.help = "where epochs are kept (default: $XDG_STATE_HOME/heartwire or ~/.local/state/heartwire)",
				AT(state_dir)},
		{.name = "event-buffer",
				.type = HW_OPT_INT,
				.def = "512",
				.min = 1,
				.max = 100000,
				.help = "events kept while the broker is unreachable (oldest dropped, counted)",
				AT(event_buffer)},
		{.name = "log-level",
				.type = HW_OPT_ENUM,
				.values = level_values,
				.def = "warn",
				.help = "log threshold (logs go to stderr, shared with the child)",
				AT(log_level)},
		{.name = "log-format",
				.type = HW_OPT_ENUM,
				.values = format_values,
				.def = "text",
				.help = "log line format",
				AT(log_format)},
		{.name = "help",
				.short_name = 'h',
				.type = HW_OPT_BOOL,
				.flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
				.help = "show this help",
				AT(help)},
		HW_OPT_END};

void hw_machine_from_host(char *dst, const char *name)
{
	size_t o = 0;

	for(size_t i = 0; name && name[i] && o < HW_ID_MAX; i++){
		unsigned char c = (unsigned char)name[i];
		dst[o++] = hw_id_char_ok(c) ? (char)c : '-';
	}
	dst[o] = '\0';
	if(o == 0) memcpy(dst, "localhost", sizeof("localhost"));
}

void hw_session_generate(char *dst)
{
	unsigned char rnd[4] = {0};
	uint32_t r;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if(fd >= 0){
		if(read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) memset(rnd, 0, sizeof(rnd));
		close(fd);
	}
	r = ((uint32_t)rnd[0] << 24 | (uint32_t)rnd[1] << 16 | (uint32_t)rnd[2] << 8 | rnd[3]) ^ (uint32_t)hw_mono_us() ^
			(uint32_t)getpid();
	snprintf(dst, HW_ID_MAX + 1, "s-%08llx%08x", (unsigned long long)(hw_time_ms() / 1000) & 0xffffffffULL, r);
}

int hw_password_read(const char *path, char *buf, size_t len, hw_error_t *err)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if(!f) return hw_error_set(err, HW_ERR_CONFIG, "--password-file: cannot read %s: %s", path, strerror(errno));
	if(!fgets(buf, (int)len, f)) buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	while(n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
	if(n == 0) return hw_error_set(err, HW_ERR_CONFIG, "--password-file: %s is empty", path);
	if(n == len - 1) return hw_error_set(err, HW_ERR_CONFIG, "--password-file: the password in %s is too long", path);
	return HW_OK;
}

const hw_opt_t *hw_agent_run_opts(void)
{
	return run_opts;
}

int hw_agent_opts_load(hw_agent_cfg_t *cfg, int argc, char **argv, int *cmd_index, hw_error_t *err)
{
	hw_config_t c = {.opts = run_opts, .base = cfg, .default_file = "/etc/heartwire/agent.conf", .positional = HW_POS_STOP};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = hw_config_load(&c, argc, argv, cmd_index, err);
	if(rc != HW_OK || cfg->help) return rc;
	return hw_agent_opts_derive(cfg, err);
}

int hw_agent_opts_derive(hw_agent_cfg_t *cfg, hw_error_t *err)
{
	char host[256];
	hw_error_t e;
	int rc;

	if(hw_topic_root_check(cfg->topic_root, &e) != HW_OK) return hw_error_set(err, HW_ERR_CONFIG, "--topic-root: %s", e.msg);
	if(!cfg->machine[0]){
		if(gethostname(host, sizeof(host)) != 0) host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		hw_machine_from_host(cfg->machine, host);
	}
	if(!cfg->session[0]) hw_session_generate(cfg->session);
	if(cfg->grace_ms == 0){
		cfg->grace_ms = 3 * cfg->interval_ms;
		if(cfg->grace_ms > HW_GRACE_MAX_MS) cfg->grace_ms = HW_GRACE_MAX_MS;
	}else if(cfg->grace_ms < cfg->interval_ms){
		return hw_error_set(err, HW_ERR_CONFIG,
				"--grace-ms: %lld is shorter than --interval-ms %lld; allowed: "
				"0 (3 intervals) or at least one interval, up to %d",
				(long long)cfg->grace_ms, (long long)cfg->interval_ms, HW_GRACE_MAX_MS);
	}
	if(cfg->no_progress_ms > 0 && cfg->no_progress_ms < cfg->interval_ms)
		return hw_error_set(err, HW_ERR_CONFIG,
				"--no-progress-ms: %lld is shorter than --interval-ms %lld; "
				"allowed: 0 (never) or at least one interval",
				(long long)cfg->no_progress_ms, (long long)cfg->interval_ms);
	if(cfg->password_file[0]){
		if((rc = hw_password_read(cfg->password_file, cfg->password, sizeof(cfg->password), err)) != HW_OK) return rc;
	}
	if(cfg->password[0] && !cfg->username[0])
		return hw_error_set(err, HW_ERR_CONFIG,
				"--username: a password is set but no user name; allowed: "
				"a user name with --username or HEARTWIRE_USERNAME");
	if(cfg->cafile[0] && access(cfg->cafile, R_OK) != 0)
		return hw_error_set(err, HW_ERR_CONFIG, "--cafile: cannot read %s: %s", cfg->cafile, strerror(errno));
	if(cfg->cafile[0] && strncmp(cfg->broker, "mqtts://", 8) != 0)
		return hw_error_set(err, HW_ERR_CONFIG, "--cafile: only used with an mqtts:// broker, not %s", cfg->broker);
	if(!cfg->state_dir[0]){
		if((rc = hw_state_dir_default(cfg->state_dir, sizeof(cfg->state_dir), err)) != HW_OK) return rc;
	}else if(cfg->state_dir[0] != '/'){
		return hw_error_set(err, HW_ERR_CONFIG, "--state-dir: '%s' must be an absolute path", cfg->state_dir);
	}
	return HW_OK;
}

void hw_agent_opts_usage(FILE *out)
{
	hw_agent_cfg_t tmp;
	hw_config_t c = {.opts = run_opts, .base = &tmp, .positional = HW_POS_STOP};

	hw_config_usage(&c, out);
}
