/* config.h: the one option loader of every heartwire binary: defaults < config file <
 * HEARTWIRE_* environment < command-line flags, from a table each binary declares. */
#ifndef HEARTWIRE_CONFIG_H
#define HEARTWIRE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "heartwire/error.h"

/* The kind of value an option holds, and so how it is parsed and stored.
 *   STRING       char[size] (the value must fit, NUL included)
 *   INT          int or int64_t (size 4 or 8): a whole decimal number in [min, max]
 *   BOOL         bool: true|false|yes|no|on|off|1|0; on argv --name and --no-name
 *   ENUM         int: the index of the value in `values` ("debug" -> 0, ...)
 *   ID           char[size >= HW_ID_MAX + 1]: empty (unset) or a valid id (ids.h)
 *   URL          char[size]: empty (unset) or mqtt://host:port / mqtts://host:port
 *   DURATION_MS  int or int64_t: milliseconds; "1500", "1500ms", "2s", "5m", "1h", in [min, max] ms */
typedef enum hw_opt_type {
	HW_OPT_NONE = 0,
	HW_OPT_STRING,
	HW_OPT_INT,
	HW_OPT_BOOL,
	HW_OPT_ENUM,
	HW_OPT_ID,
	HW_OPT_URL,
	HW_OPT_DURATION_MS
} hw_opt_type;

/* Option flags (hw_opt_t.flags). */
#define HW_OPT_NO_ARGV 0x1u   /* never from the command line: secrets ("password"), which ps would show */
#define HW_OPT_ARGV_ONLY 0x2u /* only from the command line (--help, --version) */
/* HW_OPT_EARLY: when set on the command line, errors in the config file and the environment are
 * ignored, so --help and --version always work */
#define HW_OPT_EARLY 0x4u

/* Where an option's value came from (hw_config_t.sources). */
typedef enum hw_opt_source { HW_SRC_DEFAULT = 0, HW_SRC_FILE, HW_SRC_ENV, HW_SRC_ARGV } hw_opt_source;

/* One option of a binary. Declare a table of these, ending with HW_OPT_END, with designated
 * initializers and HW_OPT_AT to place the value in the binary's config struct:
 *
 *   static const char *const levels[] = {"debug", "info", "warn", "error", "off", NULL};
 *   static const hw_opt_t agent_opts[] = {
 *       {.name = "broker", .short_name = 'b', .type = HW_OPT_URL, .def = "mqtt://127.0.0.1:1883",
 *        .help = "MQTT broker", HW_OPT_AT(struct agent_cfg, broker)},
 *       {.name = "interval-ms", .type = HW_OPT_DURATION_MS, .def = "5000", .min = 100, .max = 3600000,
 *        .help = "heartbeat interval", HW_OPT_AT(struct agent_cfg, interval_ms)},
 *       {.name = "password", .type = HW_OPT_STRING, .flags = HW_OPT_NO_ARGV,
 *        .help = "broker password", HW_OPT_AT(struct agent_cfg, password)},
 *       {.name = "log-level", .type = HW_OPT_ENUM, .values = levels, .def = "info",
 *        .help = "log threshold", HW_OPT_AT(struct agent_cfg, log_level)},
 *       {.name = "help", .short_name = 'h', .type = HW_OPT_BOOL,
 *        .flags = HW_OPT_ARGV_ONLY | HW_OPT_EARLY, .help = "show this help",
 *        HW_OPT_AT(struct agent_cfg, help)},
 *       HW_OPT_END
 *   };
 *
 * Names are lower case [a-z0-9-]; the environment variable is HEARTWIRE_ + the name in upper
 * case with '-' -> '_' (interval-ms -> HEARTWIRE_INTERVAL_MS); the config file key is the name.
 * "config" is reserved: the loader itself handles --config FILE. */
typedef struct hw_opt {
	const char *name;          /* long name, e.g. "interval-ms"; NULL ends the table */
	char short_name;           /* optional one-letter flag ('b' for -b), 0 for none */
	int type;                  /* hw_opt_type */
	unsigned flags;            /* HW_OPT_NO_ARGV, HW_OPT_ARGV_ONLY, HW_OPT_EARLY */
	const char *def;           /* default, written as in the config file; NULL: empty, 0, false or values[0] */
	long long min, max;        /* INT, DURATION_MS: inclusive range; both 0: whatever the member holds */
	const char *const *values; /* ENUM: allowed values, NULL-terminated */
	const char *metavar;       /* value placeholder in --help ("URL", "FILE"); NULL: from the type */
	const char *help;          /* one line for --help */
	size_t offset;             /* where the value lives in the config struct (HW_OPT_AT) */
	size_t size;               /* size of that member (HW_OPT_AT) */
} hw_opt_t;

/* Places an option's value at `member` of struct type `type` (inside a hw_opt_t initializer). */
#define HW_OPT_AT(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/* Ends an option table. */
/* clang-format off */
#define HW_OPT_END {.name = NULL}
/* clang-format on */

/* What to do with positional (non-option) arguments. "--" always ends the options; the
 * arguments after it are positional. */
typedef enum hw_config_positional {
	HW_POS_NONE = 0, /* a positional argument is an error ("unexpected argument 'x'") */
	HW_POS_STOP,     /* options end at the first positional argument (subcommands, `run CMD ...`) */
	HW_POS_PERMUTE   /* positionals may stand between options; they are moved, in order, to the end */
} hw_config_positional;

/* A binary's option set and where its values go. Fill the inputs; hw_config_load fills the
 * outputs. */
typedef struct hw_config {
	const hw_opt_t *opts;     /* in, borrowed: the table, ending with HW_OPT_END */
	void *base;               /* in, borrowed: the config struct the offsets point into */
	const char *default_file; /* in, borrowed, optional: read when neither --config nor
				   * HEARTWIRE_CONFIG names a file; a missing default file is fine */
	int positional;           /* in: hw_config_positional */
	unsigned char *sources;   /* in, optional: one entry per option, filled with hw_opt_source */
	const char *file;         /* out: the config file that was read, or NULL; borrowed from
				   * argv, the environment or default_file */
} hw_config_t;

/* Loads every option of cfg->opts into cfg->base: first the defaults, then the config file
 * (--config FILE or --config=FILE on argv, else $HEARTWIRE_CONFIG, else cfg->default_file),
 * then HEARTWIRE_<NAME> environment variables (empty ones count as unset; unknown ones are
 * ignored, since the binaries share the namespace), then argv (--name VALUE, --name=VALUE,
 * -x VALUE, -xVALUE, bool --name / --no-name, "--" ends options). Parsing starts at argv[1];
 * argv[0] is the program or subcommand name. argv may be reordered (HW_POS_PERMUTE, and
 * "--" is moved to just before the positionals). File format: "key value" lines, '#' starts
 * a comment line (not mid-line), the value is the rest of the line trimmed, optionally in
 * double quotes; a bool key alone means true; a text key (STRING, ID, URL) alone sets it
 * empty (unset), which on argv is an error for ID and URL.
 * *first_positional (optional) gets the index of the first positional argument (argc when
 * none). Returns HW_OK or HW_ERR_CONFIG with a message naming the source and the key:
 *   "config file /etc/heartwire.conf line 3: unknown key 'brokr'"
 *   "--interval-ms: 'abc' is not a whole number of milliseconds from 100 to 3600000"
 *   "HEARTWIRE_BROKER: URL must be mqtt://host:port or mqtts://host:port ..."
 * On error the config struct holds the values loaded so far. Not thread-safe (getenv). */
int hw_config_load(hw_config_t *cfg, int argc, char **argv, int *first_positional, hw_error_t *err);

/* Sets the option `name` from text as if it came from source (for tests and for binaries
 * that derive values); `where` prefixes the error message (NULL: "--name"). Honours the
 * option's flags for HW_SRC_ARGV and HW_SRC_FILE. Returns HW_OK, HW_ERR_NOTFOUND (no such
 * option) or HW_ERR_CONFIG. */
int hw_config_set(hw_config_t *cfg, const char *name, const char *value, int source, const char *where, hw_error_t *err);

/* Applies every option's default into cfg->base (the first step of hw_config_load).
 * Returns HW_OK, or HW_ERR_CONFIG when a default in the table is itself invalid. */
int hw_config_defaults(hw_config_t *cfg, hw_error_t *err);

/* Prints the options part of --help: one line per option with its flags, value kind,
 * help, allowed values or range, default and environment variable name; then a line on
 * --config and the precedence. */
void hw_config_usage(const hw_config_t *cfg, FILE *out);

/* Writes the environment variable name of option `name` ("mongo-uri" -> "HEARTWIRE_MONGO_URI")
 * into buf. Returns HW_OK or HW_ERR_INVAL when it does not fit. */
int hw_config_env_name(const char *name, char *buf, size_t len, hw_error_t *err);

#define HW_URL_HOST_MAX 255

/* A parsed broker URL. */
typedef struct hw_url {
	char scheme[8];                 /* "mqtt" or "mqtts" */
	char host[HW_URL_HOST_MAX + 1]; /* host name or IP; an IPv6 literal without brackets */
	int port;                       /* 1-65535 */
	bool tls;                       /* true for mqtts */
} hw_url_t;

/* Parses a broker URL: mqtt://host:port or mqtts://host:port (IPv6 as mqtt://[::1]:1883).
 * No user info, path, query or default port. out may be NULL to validate only. Returns HW_OK
 * or HW_ERR_INVAL with "URL must be mqtt://host:port or mqtts://host:port; ..." saying what
 * is wrong. */
int hw_url_parse(const char *url, hw_url_t *out, hw_error_t *err);

#endif
