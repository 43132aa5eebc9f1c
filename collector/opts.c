/* opts.c: heartwire-collector's option table, derived defaults and --help. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "heartwire/config.h"
#include "heartwire/ids.h"
#include "heartwire/log.h"
#include "heartwire/topics.h"

#include "metrics.h"
#include "opts.h"

static const char *const level_values[] = {"debug", "info", "warn", "error", "off", NULL};
static const char *const format_values[] = {"text", "json", NULL};

#define AT(m) HW_OPT_AT(hw_collector_cfg_t, m)

/* clang-format off */
static const hw_opt_t collector_opts[] = {
	{.name = "broker", .short_name = 'b', .type = HW_OPT_URL, .def = "mqtt://127.0.0.1:1883",
	 .help = "MQTT broker (mqtt://host:port or mqtts://host:port)", AT(broker)},
	{.name = "username", .short_name = 'u', .type = HW_OPT_STRING, .metavar = "NAME",
	 .help = "broker user name", AT(username)},
	{.name = "password", .type = HW_OPT_STRING, .flags = HW_OPT_NO_ARGV,
	 .help = "broker password (environment or config file only)", AT(password)},
	{.name = "password-file", .type = HW_OPT_STRING, .metavar = "FILE",
	 .help = "file whose first line is the broker password", AT(password_file)},
	{.name = "cafile", .type = HW_OPT_STRING, .metavar = "FILE", .help = "CA certificates (PEM) for mqtts://",
	 AT(cafile)},
	{.name = "topic-root", .type = HW_OPT_STRING, .def = HW_TOPIC_ROOT_DEFAULT, .metavar = "ROOT",
	 .help = "topic root", AT(topic_root)},
	{.name = "mongo-uri", .type = HW_OPT_STRING, .def = "mongodb://127.0.0.1:27017", .metavar = "URI",
	 .help = "MongoDB URI (replica sets, retryWrites, TLS: any mongo-c-driver URI option)", AT(mongo_uri)},
	{.name = "db", .type = HW_OPT_STRING, .def = "heartwire", .metavar = "NAME", .help = "database name",
	 AT(db)},
	{.name = "id", .type = HW_OPT_ID,
	 .help = "collector id: MQTT client id and collector/{id} (default: collector-HOSTNAME)", AT(id)},
	{.name = "retention-ms", .type = HW_OPT_DURATION_MS, .def = "86400000", .min = 0, .max = 31536000000LL,
	 .help = "remove the retained state of completed and failed sessions after this (0: never)",
	 AT(retention_ms)},
	{.name = "events-retention-days", .type = HW_OPT_INT, .def = "30", .min = 0, .max = 36500,
	 .help = "delete events older than this many days (0: keep)", AT(events_retention_days)},
	{.name = "store-buffer", .type = HW_OPT_INT, .def = "100000", .min = 1, .max = 100000000,
	 .help = "database writes buffered while the database is slow or down", AT(store_buffer)},
	{.name = "startup-grace-ms", .type = HW_OPT_DURATION_MS, .def = "15000", .min = 0, .max = 3600000,
	 .help = "after a (re)connect, declare no stall before this (messages still queued in the broker)",
	 AT(startup_grace_ms)},
	{.name = "flush-ms", .type = HW_OPT_DURATION_MS, .def = "1000", .min = 10, .max = 60000,
	 .help = "publish heartbeat-only changes this often (transitions go at once)", AT(flush_ms)},
	{.name = "store-flush-ms", .type = HW_OPT_DURATION_MS, .def = "5000", .min = 10, .max = 600000,
	 .help = "write heartbeat-only changes to the database this often (transitions go at once)",
	 AT(store_flush_ms)},
	{.name = "rollup-ms", .type = HW_OPT_DURATION_MS, .def = "250", .min = 10, .max = 60000,
	 .help = "publish project, machine and summary rollups at most this often", AT(rollup_ms)},
	{.name = "rebirth-min-ms", .type = HW_OPT_DURATION_MS, .def = "10000", .min = 100, .max = 3600000,
	 .help = "ask one session's agent for a rebirth at most this often", AT(rebirth_min_ms)},
	{.name = "max-inflight", .type = HW_OPT_INT, .def = "1000", .min = 1, .max = 65535,
	 .help = "QoS 1 publishes in flight (retained state throughput)", AT(max_inflight)},
	{.name = "group", .type = HW_OPT_ID, .metavar = "NAME",
	 .help = "run as one of several collectors of group NAME: one leads (a lease in the database), "
	 "the others take over when it dies (docs/scaling.md)", AT(group)},
	{.name = "leader-lease-ms", .type = HW_OPT_DURATION_MS, .def = "10000", .min = 2000, .max = 600000,
	 .help = "with --group: the leadership lease; a dead leader is replaced about two leases later",
	 AT(leader_lease_ms)},
	{.name = "http-listen", .type = HW_OPT_STRING, .def = "", .metavar = "ADDR:PORT",
	 .help = "serve /metrics (Prometheus), /healthz and /readyz over HTTP here, e.g. 127.0.0.1:9464 (0 or empty: off)",
	 AT(http_listen)},
	{.name = "metrics-ms", .type = HW_OPT_DURATION_MS, .def = "10000", .min = 0, .max = 3600000,
	 .help = "publish the counters retained on {root}/collector/{id}/metrics this often (0: never)",
	 AT(metrics_ms)},
	{.name = "health-timeout-ms", .type = HW_OPT_DURATION_MS, .def = "10000", .min = 100, .max = 3600000,
	 .help = "/healthz fails when a database write has been pending this long", AT(health_timeout_ms)},
	{.name = "lease-ms", .type = HW_OPT_DURATION_MS, .def = "600000", .min = 1, .max = 86400000,
	 .help = "cmd/claim: the lease of a claim whose request names none", AT(lease_ms)},
	{.name = "log-level", .type = HW_OPT_ENUM, .values = level_values, .def = "info", .help = "log threshold",
	 AT(log_level)},
	{.name = "log-format", .type = HW_OPT_ENUM, .values = format_values, .def = "text",
	 .help = "log line format", AT(log_format)},
	{.name = "help", .short_name = 'h', .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
	 .help = "show this help", AT(help)},
	{.name = "version", .short_name = 'V', .type = HW_OPT_BOOL, .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY,
	 .help = "show the version", AT(version)},
	HW_OPT_END
};
/* clang-format on */

/* collector-HOSTNAME with every character an id may not hold replaced by '-'. */
static void default_id(char id[HW_ID_MAX + 1])
{
	char host[256] = "";
	size_t n;

	if(gethostname(host, sizeof(host) - 1) != 0 || !host[0]) snprintf(host, sizeof(host), "localhost");
	n = (size_t)snprintf(id, HW_ID_MAX + 1, "collector-%s", host);
	if(n > HW_ID_MAX) n = HW_ID_MAX;
	for(size_t i = 0; i < n; i++){
		if(!hw_id_char_ok((unsigned char)id[i])) id[i] = '-';
	}
}

static int read_password(hw_collector_cfg_t *cfg, hw_error_t *err)
{
	FILE *f = fopen(cfg->password_file, "r");
	size_t n;

	if(!f) return hw_error_set(err, HW_ERR_CONFIG, "--password-file: cannot open %s", cfg->password_file);
	if(!fgets(cfg->password, sizeof(cfg->password), f)) cfg->password[0] = '\0';
	fclose(f);
	n = strcspn(cfg->password, "\r\n");
	cfg->password[n] = '\0';
	if(!cfg->password[0]) return hw_error_set(err, HW_ERR_CONFIG, "--password-file: %s is empty", cfg->password_file);
	return HW_OK;
}

int hw_collector_opts_load(hw_collector_cfg_t *cfg, int argc, char **argv, hw_error_t *err)
{
	hw_config_t c = {.opts = collector_opts,
			.base = cfg,
			.default_file = "/etc/heartwire/collector.conf",
			.positional = HW_POS_NONE};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = hw_config_load(&c, argc, argv, NULL, err);
	if(rc != HW_OK || cfg->help || cfg->version) return rc;
	rc = hw_topic_root_check(cfg->topic_root, err);
	if(rc != HW_OK) return hw_error_set(err, HW_ERR_CONFIG, "--topic-root: %s", err ? err->msg : "invalid");
	if(!cfg->id[0]) default_id(cfg->id);
	{
		struct sockaddr_storage sa;
		socklen_t salen;
		bool on;
		hw_error_t e;
		if(hw_metrics_listen_parse(cfg->http_listen, &on, &sa, &salen, &e) != HW_OK)
			return hw_error_set(err, HW_ERR_CONFIG, "--http-listen: %s", e.msg);
	}
	if(cfg->password_file[0]){
		rc = read_password(cfg, err);
		if(rc != HW_OK) return rc;
	}
	return HW_OK;
}

void hw_collector_opts_usage(FILE *out)
{
	hw_collector_cfg_t cfg;
	hw_config_t c = {.opts = collector_opts, .base = &cfg};

	fprintf(out,
			"usage: heartwire-collector [OPTIONS]\n\n"
			"Subscribes to every heartwire agent topic, runs the session state machine and the stall\n"
			"timers, persists sessions and events to MongoDB and publishes retained state and alerts.\n\n");
	hw_config_usage(&c, out);
}
