/* log.h: one-line logging for the heartwire binaries (text or JSON lines). The library
 * itself never logs: only the binaries call these, where they decide what to do. */
#ifndef HEARTWIRE_LOG_H
#define HEARTWIRE_LOG_H

#include <stdio.h>

#include "heartwire/error.h"

typedef enum hw_log_level { HW_LOG_DEBUG = 0, HW_LOG_INFO, HW_LOG_WARN, HW_LOG_ERROR, HW_LOG_OFF } hw_log_level;

typedef enum hw_log_format {
	HW_LOG_TEXT = 0, /* 2026-11-21T09:20:00.123Z collector warn [s-42] message */
	HW_LOG_JSON      /* {"ts":"...","component":"collector","level":"warn","subject":"s-42","msg":"..."} */
} hw_log_format;

/* Sets the component name (borrowed: keep it alive), threshold, format and stream
 * (NULL means stderr). Safe to call again; not thread-safe against concurrent hw_log. */
void hw_log_init(const char *component, int level, int format, FILE *out);

/* True when a message at level would be written. */
int hw_log_enabled(int level);

/* Writes one line at level with an optional subject (session, topic; NULL for none).
 * Thread-safe: each line is written with one call under a lock. */
void hw_logs(int level, const char *subject, const char *fmt, ...) HW_PRINTF(3, 4);

/* hw_logs without a subject. */
#define hw_log(level, ...) hw_logs((level), NULL, __VA_ARGS__)

/* Parses "debug|info|warn|error|off" into *level. */
int hw_log_level_parse(const char *s, int *level, hw_error_t *err);

/* Parses "text|json" into *format. */
int hw_log_format_parse(const char *s, int *format, hw_error_t *err);

/* A token bucket for log lines about bad input, so a flood cannot fill a disk. */
typedef struct hw_log_limit {
	double tokens;                 /* lines that may still be written now */
	double per_sec;                /* refill rate */
	double burst;                  /* bucket size */
	long long last_ms;             /* monotonic time of the last refill */
	unsigned long long suppressed; /* lines dropped since the last one written */
} hw_log_limit_t;

/* Initialises a limiter allowing per_sec lines a second with bursts of burst lines. */
void hw_log_limit_init(hw_log_limit_t *lim, double per_sec, double burst);

/* Returns 1 and the number of lines suppressed before this one (in *suppressed) when a line
 * may be written now; 0 when it must be dropped (and counts it). Not thread-safe. */
int hw_log_limit_take(hw_log_limit_t *lim, unsigned long long *suppressed);

#endif
