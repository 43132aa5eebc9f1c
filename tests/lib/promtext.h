/* promtext.h: a strict checker and reader of the Prometheus text exposition format 0.0.4, for
 * the collector's /metrics tests. */
#ifndef HEARTWIRE_TEST_PROMTEXT_H
#define HEARTWIRE_TEST_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Checks text (len bytes) line by line: every line is "# HELP name text", "# TYPE name type"
 * (counter, gauge, histogram, summary or untyped), another comment, or a sample
 * "name{label="value",...} value [timestamp]" with a valid metric and label names, valid
 * escapes and a number (Go ParseFloat syntax, NaN and +/-Inf included). Every sample belongs
 * to the metric whose TYPE came before it (counter and gauge: the name itself; histogram:
 * _bucket with an le label, _sum, _count; summary: the name with a quantile label, _sum,
 * _count), each metric's lines are contiguous, HELP and TYPE appear at most once and before its
 * samples, no series repeats, histogram buckets never decrease and end with le="+Inf" equal to
 * _count, and the text ends with a newline. Returns the number of samples (>= 0) when the text
 * is valid, else -1 with the first fault and its line number in why (len bytes). */
int hwt_prom_check(const char *text, size_t len, char *why, size_t why_len);

/* The value of the sample whose series is exactly `series` (e.g.
 * "heartwire_sessions{state=\"lost\"}" or "heartwire_mqtt_connected"), written as the text
 * writes it. Returns true and *value when found. */
bool hwt_prom_value(const char *text, const char *series, double *value);

/* True when text declares metric name with a # TYPE line. */
bool hwt_prom_has_metric(const char *text, const char *name);

#endif
