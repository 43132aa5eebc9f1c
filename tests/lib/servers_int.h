/* servers_int.h: helpers shared by the harness's own files (servers.c, store.c); not for tests. */
#ifndef HEARTWIRE_TEST_SERVERS_INT_H
#define HEARTWIRE_TEST_SERVERS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* True when HWT_KEEP asks to keep temp dirs. */
bool hwt__keep(void);

/* Finds an executable: name with a '/' is checked as is, else searched in PATH. Writes the
 * path to out; 0 when found, -1 (out = "") when not. */
int hwt__find_exe(const char *name, char *out, size_t len);

/* Polls until 127.0.0.1:port accepts or deadline (hwt_now_ms) passes, reaping pid if it
 * exits (then *exited = true, *status filled, pid unregistered). 0 when the port accepts. */
int hwt__wait_port_alive(pid_t pid, int port, int64_t deadline, int *status, bool *exited);

/* Drops pid (already reaped) from the exit-time cleanup list. */
void hwt__unregister_pid(pid_t pid);

/* Removes dir (unless HWT_KEEP) and drops it from the exit-time cleanup list. */
void hwt__forget_dir(const char *dir);

/* Reads a whole file into a NUL-terminated heap string (caller frees with free()); NULL on failure. */
char *hwt__read_file(const char *path);

/* True when file path contains needle. */
bool hwt__file_contains(const char *path, const char *needle);

/* As hwt__file_contains, looking only after byte offset (a log appended to across restarts). */
bool hwt__file_contains_from(const char *path, long offset, const char *needle);

/* The size of file path in bytes; 0 when missing. */
long hwt__file_size(const char *path);

#endif
