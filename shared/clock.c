/* clock.c: wall-clock and monotonic time in milliseconds. */
#include <stdio.h>
#include <time.h>

#include "heartwire/clock.h"

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hw_time_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int64_t hw_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t hw_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *hw_time_iso(int64_t ms, char *buf, unsigned len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return buf;
}
