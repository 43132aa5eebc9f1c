/* clock.h: wall-clock and monotonic milliseconds. */
#ifndef HEARTWIRE_CLOCK_H
#define HEARTWIRE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): timestamps on the wire and in the
 * database. Never use it to measure intervals. */
int64_t hw_time_ms(void);

/* Milliseconds from an arbitrary origin (CLOCK_MONOTONIC): deadlines and intervals. */
int64_t hw_mono_ms(void);

/* Microseconds on CLOCK_MONOTONIC, for latency measurements. */
int64_t hw_mono_us(void);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds ("2026-11-21T09:20:00.123Z")
 * into buf (at least 25 bytes). Returns buf. */
char *hw_time_iso(int64_t ms, char *buf, unsigned len);

#endif
