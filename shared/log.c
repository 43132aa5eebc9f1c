/* log.c: one-line text or JSON logging with a global threshold, and a rate limiter. */
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#include "heartwire/clock.h"
#include "heartwire/log.h"

static const char *log_component = "heartwire";
static int log_level = HW_LOG_INFO;
static int log_format = HW_LOG_TEXT;
static FILE *log_out;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void hw_log_init(const char *component, int level, int format, FILE *out)
{
	if(component) log_component = component;
	log_level = level;
	log_format = format;
	log_out = out;
}

int hw_log_enabled(int level)
{
	return level >= log_level && level < HW_LOG_OFF;
}

/* Room kept at the end of a line for its closing characters ("\"}\n" and the NUL). */
#define LOG_TAIL 8

/* Appends formatted text to buf at *o; clamps *o so a cut never runs past the buffer. */
static void log_append(char *buf, size_t len, size_t *o, const char *fmt, ...) HW_PRINTF(4, 5);
static void log_append(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if(*o + LOG_TAIL >= len) return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *o, len - LOG_TAIL - *o, fmt, ap);
	va_end(ap);
	if(r < 0) return;
	*o += (size_t)r;
	if(*o > len - LOG_TAIL - 1) *o = len - LOG_TAIL - 1;
}

/* Appends s to buf at *o, escaping what would break the line: for JSON, quotes, backslashes
 * and control characters as JSON escapes; for text, control characters as \n, \r, \t or
 * \xNN, so one call is always exactly one line whatever the message holds. Writes at most
 * max bytes (cut between escapes), so the fields after it always fit. */
static void log_escape(char *buf, size_t len, size_t *o, const char *s, int json, size_t max)
{
	size_t stop = *o + max;

	if(stop > len - LOG_TAIL - 1) stop = len - LOG_TAIL - 1;
	for(; *s && *o + 6 <= stop; s++){
		unsigned char c = (unsigned char)*s;
		if(json && (c == '"' || c == '\\')){
			buf[(*o)++] = '\\';
			buf[(*o)++] = (char)c;
		}else if(c < 0x20 || c == 0x7f){
			const char *e = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
			if(e){
				memcpy(buf + *o, e, 2);
				*o += 2;
			}else{
				*o += (size_t)snprintf(buf + *o, len - *o, json ? "\\u%04x" : "\\x%02x", c);
			}
		}else{
			buf[(*o)++] = (char)c;
		}
	}
	buf[*o] = '\0';
}

void hw_logs(int level, const char *subject, const char *fmt, ...)
{
	char msg[1024], line[2048], ts[32];
	size_t o = 0;
	int json = log_format == HW_LOG_JSON;
	va_list ap;

	if(!hw_log_enabled(level)) return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hw_time_iso(hw_time_ms(), ts, sizeof(ts));

	line[0] = '\0';
	if(json){
		log_append(line, sizeof(line), &o, "{\"ts\":\"%s\",\"component\":\"", ts);
		log_escape(line, sizeof(line), &o, log_component, 1, 128);
		log_append(line, sizeof(line), &o, "\",\"level\":\"%s\"", level_names[level]);
		if(subject){
			log_append(line, sizeof(line), &o, ",\"subject\":\"");
			log_escape(line, sizeof(line), &o, subject, 1, 512);
			log_append(line, sizeof(line), &o, "\"");
		}
		log_append(line, sizeof(line), &o, ",\"msg\":\"");
		log_escape(line, sizeof(line), &o, msg, 1, sizeof(line));
		memcpy(line + o, "\"}\n", 4);
	}else{
		log_append(line, sizeof(line), &o, "%s ", ts);
		log_escape(line, sizeof(line), &o, log_component, 0, 128);
		log_append(line, sizeof(line), &o, " %s ", level_names[level]);
		if(subject){
			log_append(line, sizeof(line), &o, "[");
			log_escape(line, sizeof(line), &o, subject, 0, 512);
			log_append(line, sizeof(line), &o, "] ");
		}
		log_escape(line, sizeof(line), &o, msg, 0, sizeof(line));
		memcpy(line + o, "\n", 2);
	}
	pthread_mutex_lock(&log_lock);
	fputs(line, log_out ? log_out : stderr);
	fflush(log_out ? log_out : stderr);
	pthread_mutex_unlock(&log_lock);
}

int hw_log_level_parse(const char *s, int *level, hw_error_t *err)
{
	for(int i = 0; s && i <= HW_LOG_OFF; i++){
		if(strcmp(s, level_names[i]) == 0){
			*level = i;
			return HW_OK;
		}
	}
	return hw_error_set(err, HW_ERR_INVAL, "log level '%s' is not one of debug, info, warn, error, off", s ? s : "");
}

int hw_log_format_parse(const char *s, int *format, hw_error_t *err)
{
	if(s && strcmp(s, "text") == 0){
		*format = HW_LOG_TEXT;
		return HW_OK;
	}
	if(s && strcmp(s, "json") == 0){
		*format = HW_LOG_JSON;
		return HW_OK;
	}
	return hw_error_set(err, HW_ERR_INVAL, "log format '%s' is not one of text, json", s ? s : "");
}

void hw_log_limit_init(hw_log_limit_t *lim, double per_sec, double burst)
{
	lim->tokens = burst;
	lim->per_sec = per_sec;
	lim->burst = burst;
	lim->last_ms = (long long)hw_mono_ms();
	lim->suppressed = 0;
}

int hw_log_limit_take(hw_log_limit_t *lim, unsigned long long *suppressed)
{
	long long now = (long long)hw_mono_ms();

	lim->tokens += (double)(now - lim->last_ms) * lim->per_sec / 1000.0;
	if(lim->tokens > lim->burst) lim->tokens = lim->burst;
	lim->last_ms = now;
	if(lim->tokens < 1.0){
		lim->suppressed++;
		return 0;
	}
	lim->tokens -= 1.0;
	if(suppressed) *suppressed = lim->suppressed;
	lim->suppressed = 0;
	return 1;
}
