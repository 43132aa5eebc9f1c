/* servers.h: real servers for tests (mosquitto, a MongoDB-compatible store), on free loopback ports, torn down by PID. */
#ifndef HEARTWIRE_TEST_SERVERS_H
#define HEARTWIRE_TEST_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Every function here that can fail returns 0 on success and -1 on failure, after printing
 * one line saying why (and, for a server that did not start, the tail of its log) to stderr,
 * so a test only has to assert `== 0`.
 *
 * Lifetime. A server struct must be zeroed (HWT_BROKER_INIT / HWT_STORE_INIT) before its
 * first start. start creates a fresh temp dir and picks a free port; stop ends the process
 * but keeps dir and port, so a later start (or restart) runs on the same port with the same
 * persisted data; cleanup stops and removes the dir and zeroes the struct. Every process
 * the harness spawns and every dir it creates is registered: an atexit handler kills what is
 * still running and removes the dirs (set HWT_KEEP=1 to keep dirs for a post-mortem), and
 * every child gets PR_SET_PDEATHSIG(SIGKILL), so even a killed test leaves no server behind.
 *
 * Not thread-safe: call from the test's main thread (PR_SET_PDEATHSIG fires when the thread
 * that spawned a child exits, so a child spawned from a short-lived thread would die with it).
 */

#define HWT_BROKER_PORTS_MAX 4

/* A private mosquitto. Fields are read-only for tests. */
typedef struct hwt_broker {
	pid_t pid;                       /* 0 when not running */
	int port;                        /* first listener's port (== ports[0]) */
	int ports[HWT_BROKER_PORTS_MAX]; /* one per `listener` line of the config, in order */
	int nports;
	char url[64];   /* "mqtt://127.0.0.1:PORT" for the first listener */
	char dir[256];  /* temp dir: generated config, persistence, log */
	char conf[320]; /* the generated config file */
	char log[320];  /* mosquitto's stdout+stderr */
	char src[512];  /* the config it was generated from ("" for text) */
	char *text;     /* the config text it was generated from (owned) */
	bool paused;    /* SIGSTOPped by hwt_broker_pause */
} hwt_broker_t;

/* clang-format off */
#define HWT_BROKER_INIT {0}
/* clang-format on */

/* Starts mosquitto from conf_path (absolute, or relative to the source dir), or from the
 * project's conf/mosquitto/test.conf when NULL. The config is copied into b->dir with:
 * each `listener N [addr]` line rewritten to `listener PORT 127.0.0.1` on its own free port
 * (a config without a listener line gets one at the top, or right after per_listener_settings),
 * `port`, `bind_address`, `persistence_location`, `pid_file`, `log_dest` and `user` lines
 * dropped, `persistence_location DIR/`, `log_dest stderr` and log_type error, warning, notice
 * and information appended, and the placeholders @DIR@ (b->dir) and @SRC@ (source dir) replaced anywhere
 * (use them for password_file, acl_file, certificates); as root, `user root` is added so the
 * broker keeps access to its 0700 dir. Returns once mosquitto logged "running" and every
 * listener accepts connections (deadline 5 s); a port taken meanwhile gets a fresh one. When
 * b->dir is already set (after a stop), reuses dir and ports, and conf_path NULL reuses the
 * config the broker was first started with. */
int hwt_broker_start(hwt_broker_t *b, const char *conf_path);

/* As hwt_broker_start, with the config given as text (same rewriting and placeholders);
 * the text is copied. */
int hwt_broker_start_text(hwt_broker_t *b, const char *conf_text);

/* Stops the broker: SIGTERM, wait up to 5 s, then SIGKILL. Keeps dir and ports. A stopped
 * or never-started broker is a no-op (0). A paused broker is resumed first. */
int hwt_broker_stop(hwt_broker_t *b);

/* Kills the broker with SIGKILL (a crash: nothing is saved), keeps dir and ports. */
int hwt_broker_kill(hwt_broker_t *b);

/* Stops and starts again on the same ports and persistence dir (retries while the port is
 * still in TIME_WAIT). */
int hwt_broker_restart(hwt_broker_t *b);

/* Freezes (SIGSTOP) / thaws (SIGCONT) the broker: its sockets stay open but nothing is served. */
int hwt_broker_pause(hwt_broker_t *b);
int hwt_broker_resume(hwt_broker_t *b);

/* Stops the broker if running, removes its dir (unless HWT_KEEP=1), frees the text and zeroes
 * the struct. NULL or a zeroed struct is a no-op. */
void hwt_broker_cleanup(hwt_broker_t *b);

/* A MongoDB-compatible server. Fields are read-only for tests. */
typedef struct hwt_store {
	pid_t pid;     /* 0 when not running (always 0 for an external server) */
	int port;      /* 0 for an external server */
	char uri[256]; /* mongodb://127.0.0.1:PORT/ (or the external URI) */
	char dir[256]; /* temp dir: data files and log ("" for an external server) */
	char log[320];
	char kind[16]; /* "external", "mongod" or "ferretdb" */
	bool external; /* HEARTWIRE_TEST_MONGO_URI: nothing started, stop/pause refuse */
	bool ferretdb; /* the server is FerretDB (buildInfo has ferretdbVersion), started or external */
	bool paused;
} hwt_store_t;

/* clang-format off */
#define HWT_STORE_INIT {0}
/* clang-format on */

/* Starts a store: HEARTWIRE_TEST_MONGO_URI when set (external, nothing started); else
 * `mongod` from PATH; else FerretDB (SQLite backend) from HEARTWIRE_FERRETDB, PATH or
 * $(go env GOPATH)/bin (default /root/go/bin). Returns once a real {ping:1} through
 * mongo-c-driver succeeds (deadline 10 s). No server at all is a failure (-1), never a skip.
 * When s->dir is already set (after a stop), reuses dir and port, so the data is kept. */
int hwt_store_start(hwt_store_t *s);

/* Stops the store: SIGTERM, wait up to 10 s, then SIGKILL. Keeps dir and port. No-op (0) when
 * not running; -1 for an external store (it cannot be stopped). */
int hwt_store_stop(hwt_store_t *s);

/* Kills the store with SIGKILL; keeps dir and port. -1 for an external store. */
int hwt_store_kill(hwt_store_t *s);

/* Stops and starts again on the same port and dir. -1 for an external store. */
int hwt_store_restart(hwt_store_t *s);

/* SIGSTOP / SIGCONT the store process. -1 for an external store. */
int hwt_store_pause(hwt_store_t *s);
int hwt_store_resume(hwt_store_t *s);

/* Sends {ping:1} to the store until it answers or timeout_ms passes; 0 when it answered. */
int hwt_store_ping(const hwt_store_t *s, int timeout_ms);

/* Drops database db on the store (for the end of a test); 0 on success. */
int hwt_store_drop_db(const hwt_store_t *s, const char *db);

/* Installs a mongo-c-driver log handler that drops the "Couldn't send endSessions" warning
 * (FerretDB lacks the command; the driver warns on every client destroy) and passes the rest
 * to mongoc_log_default_handler. hwt_store_start installs it once; a test that sets its own
 * handler afterwards replaces it. */
void hwt_mongoc_log_quiet(void);

/* Stops the store if running, removes its dir (unless HWT_KEEP=1) and zeroes the struct. */
void hwt_store_cleanup(hwt_store_t *s);

/* Writes prefix + pid + counter + time into buf, e.g. "t_store_4711_3_1a2b3c"; the result
 * uses only [A-Za-z0-9_] (a valid database name, client id and heartwire id) and is
 * truncated to fit len (keep prefix short: databases allow 63 bytes). */
void hwt_unique_name(char *buf, size_t len, const char *prefix);

/* A free TCP port on 127.0.0.1 (bound to port 0, read back, closed); never the same port
 * twice in one process. -1 on failure. */
int hwt_free_port(void);

/* Waits until 127.0.0.1:port accepts a TCP connection; 0 when it did within timeout_ms. */
int hwt_wait_port(int port, int timeout_ms);

/* Starts argv[0] (searched in PATH when it has no '/') with stdin from /dev/null and stdout and
 * stderr appended to log_path (NULL: inherit), in its own process group, with
 * PR_SET_PDEATHSIG(SIGKILL). The child is registered so the atexit handler kills it. argv is
 * borrowed. Returns the pid, or -1 (exec failures show as exit status 127). */
pid_t hwt_spawn(const char *const argv[], const char *log_path);

/* Sends sig to pid (0: none, just wait) and waits up to timeout_ms for it to end, then
 * SIGKILLs it and reaps it. Returns 0 when it ended within the timeout, 1 when it had to be
 * SIGKILLed, -1 when pid is not a child we can wait for. Unregisters the pid. */
int hwt_kill_wait(pid_t pid, int sig, int timeout_ms);

/* Waits up to timeout_ms for child pid to end, without signalling it. Returns 0 and fills
 * *status (waitpid status, may be NULL) when it ended; -1 on timeout or error (the child is
 * left running and registered). */
int hwt_wait_pid(pid_t pid, int timeout_ms, int *status);

/* Creates a fresh dir "<TMPDIR or /tmp>/<prefix>XXXXXX" into buf, registered for removal at
 * exit (unless HWT_KEEP=1). 0 on success. The dir records its owner's pid; the first call in a
 * process removes hwt-* dirs whose owner died without cleaning up (a SIGKILLed test). Start
 * prefix with "hwt-" to get that sweep. */
int hwt_tmpdir(char *buf, size_t len, const char *prefix);

/* Removes the hwt-* dirs in TMPDIR (or /tmp) whose recorded owner process is gone; runs once
 * by itself at a process's first hwt_tmpdir. */
void hwt_sweep_orphans(void);

/* Removes path recursively (files, then dirs); missing is fine. */
void hwt_rmtree(const char *path);

/* Prints the last nlines of file path to stderr, under a header naming it. */
void hwt_print_tail(const char *path, int nlines);

/* The source and build trees: $HW_SOURCE_DIR / $HW_BUILD_DIR when set, else the paths
 * compiled in. Borrowed, never NULL. */
const char *hwt_source_dir(void);
const char *hwt_build_dir(void);

/* Monotonic milliseconds, for deadlines. */
int64_t hwt_now_ms(void);

/* Sleeps ms milliseconds (for pacing polls, never as synchronisation). */
void hwt_sleep_ms(int ms);

/* Evaluates cond every 2 ms until it is true or timeout_ms passes; evaluates to true when cond
 * became true (cond is evaluated once more at the deadline). A GNU statement expression,
 * which gcc and clang accept in C11 mode; __extension__ keeps -pedantic quiet. */
#define HWT_WAIT_UNTIL(cond, timeout_ms)                                                                                         \
	__extension__({                                                                                                          \
		int64_t hwt__deadline = hwt_now_ms() + (int64_t)(timeout_ms);                                                    \
		bool hwt__ok = false;                                                                                            \
		for(;;) {                                                                                                        \
			if(cond) {                                                                                               \
				hwt__ok = true;                                                                                  \
				break;                                                                                           \
			}                                                                                                        \
			if(hwt_now_ms() >= hwt__deadline) {                                                                      \
				hwt__ok = (cond) ? true : false;                                                                 \
				break;                                                                                           \
			}                                                                                                        \
			hwt_sleep_ms(2);                                                                                         \
		}                                                                                                                \
		hwt__ok;                                                                                                         \
	})

#endif
