/* procstat.c: parses /proc/PID/stat into the state letter and CPU milliseconds. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

/* Reads an unsigned decimal at *p (up to end), advancing *p. Returns 0 or -1. */
static int read_u64(const char **p, const char *end, unsigned long long *v)
{
	unsigned long long x = 0;
	const char *q = *p;

	if(q >= end || *q < '0' || *q > '9') return -1;
	while(q < end && *q >= '0' && *q <= '9'){
		unsigned d = (unsigned)(*q - '0');
		if(x > (~0ULL - d) / 10) return -1;
		x = x * 10 + d;
		q++;
	}
	*p = q;
	*v = x;
	return 0;
}

int hw_procstat_parse(const char *buf, size_t len, long ticks, hw_procstat_t *out, hw_error_t *err)
{
	const char *end = buf + len, *p = NULL;
	unsigned long long t[4];
	int field;

	out->state = '?';
	out->cpu_ms = 0;
	if(ticks <= 0) return hw_error_set(err, HW_ERR_INVAL, "clock ticks must be positive");
	for(const char *q = buf; q < end; q++){
		if(*q == ')') p = q;
	}
	if(!p) return hw_error_refuse(err, HW_R_BAD_VALUE, "/proc stat has no ')' after the command name");
	p++;
	/* After ") ": field 3 is the state; utime, stime, cutime, cstime are fields 14-17. */
	if(p + 2 >= end || p[0] != ' ') return hw_error_refuse(err, HW_R_BAD_VALUE, "/proc stat ends after the command");
	out->state = p[1];
	p += 2;
	field = 3;
	while(field < 14){
		while(p < end && *p != ' ') p++;
		if(p >= end) return hw_error_refuse(err, HW_R_MISSING_KEY, "/proc stat has only %d fields", field);
		p++;
		field++;
	}
	/* p is at field 14. */
	for(int i = 0; i < 4; i++){
		if(read_u64(&p, end, &t[i]) != 0)
			return hw_error_refuse(err, HW_R_WRONG_TYPE, "/proc stat field %d is not a number", 14 + i);
		if(i < 3){
			if(p >= end || *p != ' ')
				return hw_error_refuse(err, HW_R_MISSING_KEY, "/proc stat ends at field %d", 14 + i);
			p++;
		}
	}
	{
		unsigned long long sum = t[0] + t[1] + t[2] + t[3];
		out->cpu_ms = (int64_t)(sum / (unsigned long long)ticks * 1000ULL +
				sum % (unsigned long long)ticks * 1000ULL / (unsigned long long)ticks);
	}
	return HW_OK;
}

int hw_procstat_read(pid_t pid, hw_procstat_t *out, hw_error_t *err)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0){
		if(errno == ENOENT || errno == ESRCH) return hw_error_set(err, HW_ERR_NOTFOUND, "process %ld is gone", (long)pid);
		return hw_error_set(err, HW_ERR_IO, "%s: %s", path, strerror(errno));
	}
	do{
		n = read(fd, buf, sizeof(buf));
	}while(n < 0 && errno == EINTR);
	close(fd);
	if(n < 0){
		if(errno == ESRCH) return hw_error_set(err, HW_ERR_NOTFOUND, "process %ld is gone", (long)pid);
		return hw_error_set(err, HW_ERR_IO, "%s: %s", path, strerror(errno));
	}
	return hw_procstat_parse(buf, (size_t)n, sysconf(_SC_CLK_TCK), out, err);
}
