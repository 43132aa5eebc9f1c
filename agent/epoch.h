/* epoch.h: the per-session connection epoch, persisted in the state directory and
 * incremented under flock, so no two connections of a session ever share one. */
#ifndef HEARTWIRE_AGENT_EPOCH_H
#define HEARTWIRE_AGENT_EPOCH_H

#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"

/* Writes the default state directory into buf: $XDG_STATE_HOME/heartwire, else
 * $HOME/.local/state/heartwire. Returns HW_OK or HW_ERR_CONFIG (no HOME, too long). */
int hw_state_dir_default(char *buf, size_t len, hw_error_t *err);

/* Creates dir and its missing parents (mode 0700 for the ones it creates). Returns HW_OK
 * or HW_ERR_IO naming the directory. */
int hw_state_dir_make(const char *dir, hw_error_t *err);

/* Writes "{dir}/{session}.epoch" into buf. session must be a valid id (checked). */
int hw_epoch_path(char *buf, size_t len, const char *dir, const char *session, hw_error_t *err);

/* Reads the last epoch used by session (0 when the file does not exist yet) without
 * changing it. Creates the state directory. Returns HW_OK, HW_ERR_IO, or HW_ERR_CONFIG when
 * the file does not hold a number (it is never silently reset). */
int hw_epoch_peek(const char *dir, const char *session, int64_t *epoch, hw_error_t *err);

/* Takes the next epoch for session: locks the file (flock, exclusive), reads the last value
 * (0 when new), writes value + 1, fsyncs, unlocks; *epoch = value + 1. Two agents racing for
 * the same session get different epochs. Returns HW_OK, HW_ERR_IO or HW_ERR_CONFIG. */
int hw_epoch_next(const char *dir, const char *session, int64_t *epoch, hw_error_t *err);

/* Makes sure the next epoch of session is above floor: under the same lock, the last value
 * becomes max(last, floor) (never lowered), so the next hw_epoch_next() gives at least
 * floor + 1. `resume` calls it with the epoch the collector holds for the session, which this
 * machine's file may not know (the session ran elsewhere, or the file was lost): without it the
 * new run's messages would be older than the session's and ignored. *epoch (may be NULL) gets
 * the value now in the file. Returns HW_OK, HW_ERR_INVAL (negative floor), HW_ERR_IO or
 * HW_ERR_CONFIG. */
int hw_epoch_raise(const char *dir, const char *session, int64_t floor, int64_t *epoch, hw_error_t *err);

#endif
