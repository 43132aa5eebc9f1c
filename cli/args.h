/* args.h: the heartwire CLI's argument parsing that the option loader does not do: times
 * ("10m", "2026-11-21T09:20:00Z", ms), state lists, repeatable options. Pure functions. */
#ifndef HEARTWIRE_CLI_ARGS_H
#define HEARTWIRE_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

/* Parses a point in time into ms since the Unix epoch: a duration with a unit ("90s", "10m",
 * "2h", "1d", "500ms") counted back from now_ms (future false: --since) or forward (future true:
 * --until); an ISO 8601 UTC time "YYYY-MM-DDTHH:MM[:SS[.mmm]]Z" (or with +HH:MM / -HH:MM); or a
 * bare integer of ms since the epoch. s is borrowed. HW_ERR_INVAL saying what is allowed. */
int hw_cli_parse_time(const char *s, int64_t now_ms, bool future, int64_t *out, hw_error_t *err);

/* Parses a comma-separated list of state names ("stalled,lost") into a bitmask of 1u << state,
 * OR-ed into *mask. HW_ERR_INVAL naming the unknown state and listing the known ones. */
int hw_cli_parse_states(const char *list, unsigned *mask, hw_error_t *err);

/* Removes every "--NAME VALUE" and "--NAME=VALUE" from argv[1..*argc-1] (up to a "--"), joining
 * the values with commas into joined (len bytes; "" when none). *argc shrinks; argv keeps its
 * order otherwise. HW_ERR_INVAL when a --NAME has no value or the values do not fit. */
int hw_cli_take_repeated(int *argc, char **argv, const char *name, char *joined, size_t len, hw_error_t *err);

#endif
