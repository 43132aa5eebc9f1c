/* table.h: formatting for the heartwire CLI: durations, ages, state colours, session rows. */
#ifndef HEARTWIRE_CLI_TABLE_H
#define HEARTWIRE_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/msg.h"

/* Writes a short human duration ("850ms", "42s", "3m12s", "5h07m", "2d03h") into buf. A
 * negative duration is written as "-". Returns buf. */
char *hw_cli_duration(int64_t ms, char *buf, size_t len);

/* The ANSI colour sequence for a state ("" when colour is off). */
const char *hw_cli_state_color(int state, bool color);

/* The ANSI reset sequence ("" when colour is off). */
const char *hw_cli_reset(bool color);

/* Prints the header line of the session table. */
void hw_cli_table_header(FILE *out, bool color);

/* Prints one session as a table row, with ages relative to now_ms (wall clock): SESSION,
 * PROJECT, MACHINE/SLOT, STATE (cause) and for how long, last heartbeat age, TASK (cut to fit). */
void hw_cli_table_row(FILE *out, const hw_session_t *s, int64_t now_ms, bool color);

#endif
