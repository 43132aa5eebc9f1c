/* procstat.h: child health from /proc/PID/stat: the state letter and CPU time. */
#ifndef HEARTWIRE_AGENT_PROCSTAT_H
#define HEARTWIRE_AGENT_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heartwire/error.h"

/* One reading of /proc/PID/stat. */
typedef struct hw_procstat {
	char state;     /* R S D T t Z X I ... ('?' when unknown) */
	int64_t cpu_ms; /* utime + stime + cutime + cstime (the waited-for children), in ms */
} hw_procstat_t;

/* Parses the text of /proc/PID/stat (len bytes, need not be NUL-terminated). The command
 * name may hold spaces and parentheses: fields are counted after the last ')'. ticks is
 * sysconf(_SC_CLK_TCK). Returns HW_OK or HW_ERR_DECODE with a reason naming the field. */
int hw_procstat_parse(const char *buf, size_t len, long ticks, hw_procstat_t *out, hw_error_t *err);

/* Reads and parses /proc/PID/stat. Returns HW_OK, HW_ERR_NOTFOUND when the process is gone,
 * HW_ERR_IO or HW_ERR_DECODE. */
int hw_procstat_read(pid_t pid, hw_procstat_t *out, hw_error_t *err);

#endif
