/* format.h: what the heartwire CLI prints for people: event lines, a session's details, the
 * one-line outcome of a command. Pure functions over the reply data (jsonscan.h). */
#ifndef HEARTWIRE_CLI_FORMAT_H
#define HEARTWIRE_CLI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heartwire/msg.h"
#include "jsonscan.h"

/* Describes one event of q/events or q/session (ev borrowed) into buf:
 *   transition  "active/none -> stalled/missed_heartbeats (timer)"
 *   agent       "exit code 3", "claude_sid 9b1c... (compact)", "task: #118 add login", "hook PreToolUse", "idle"
 *   command     "fail: crashed/exit_code -> failed/operator: gave up", "claim by build-09 (generation 2): ..."
 * Returns buf. */
char *hw_cli_event_text(hw_js_t ev, char *buf, size_t len);

/* The events table: a header, and one row per event: time (ISO 8601 UTC), kind, text. */
void hw_cli_events_header(FILE *out, bool color);
void hw_cli_event_row(FILE *out, hw_js_t ev, bool color);

/* A session's details, one "key: value" per line, with ages relative to now_ms. */
void hw_cli_session_details(FILE *out, const hw_session_t *s, int64_t now_ms, bool color);

/* The line a successful command prints (data: the reply's data), e.g.
 *   fail     "s-43: crashed/exit_code -> failed/operator"
 *   claim    "s-43: claimed by build-09 until 2026-11-21T10:00:00.000Z (generation 2), token g2-..."
 *   release  "s-43: released (generation 2); now cleared/operator"
 *   pause    "paused everything: rate limit (until 2026-...)"
 * Returns buf. */
char *hw_cli_command_text(int verb, hw_js_t data, char *buf, size_t len);

#endif
