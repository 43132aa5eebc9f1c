/* store.c: the test harness's MongoDB-compatible server: external URI, mongod, or FerretDB on SQLite. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

#include "servers.h"
#include "servers_int.h"

#define HWT_STORE_START_MS 10000
#define HWT_STORE_STOP_MS 10000

/* Drops the driver's warning that FerretDB lacks endSessions (sent by every client destroy),
 * which would bury real messages; everything else goes to the default handler. */
static void quiet_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	if(level == MONGOC_LOG_LEVEL_WARNING && strstr(message, "endSessions")) return;
	mongoc_log_default_handler(level, domain, message, data);
}

void hwt_mongoc_log_quiet(void)
{
	mongoc_log_set_handler(quiet_log, NULL);
}

static void ensure_mongoc(void)
{
	static bool done;

	if(done) return;
	done = true;
	mongoc_init();
	hwt_mongoc_log_quiet();
}

/* One {ping:1} with a fresh client (a single-threaded client that failed to select a server
 * keeps a cooldown, so retrying on the same client would wait seconds). */
static bool ping_once(const char *uri_str, int timeout_ms, bson_error_t *error)
{
	mongoc_uri_t *uri;
	mongoc_client_t *client = NULL;
	bson_t cmd = BSON_INITIALIZER;
	bson_t reply;
	bool ok = false;

	uri = mongoc_uri_new_with_error(uri_str, error);
	if(!uri) goto cleanup;
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, timeout_ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, timeout_ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, timeout_ms);
	client = mongoc_client_new_from_uri(uri);
	if(!client) goto cleanup;
	mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	BSON_APPEND_INT32(&cmd, "ping", 1);
	ok = mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply, error);
	bson_destroy(&reply);
cleanup:
	bson_destroy(&cmd);
	mongoc_client_destroy(client);
	mongoc_uri_destroy(uri);
	return ok;
}

/* True when the server answers buildInfo with FerretDB's "ferretdbVersion" key. */
static bool is_ferretdb(const char *uri)
{
	mongoc_client_t *client = mongoc_client_new(uri);
	bson_t *cmd = BCON_NEW("buildInfo", BCON_INT32(1));
	bson_t reply;
	bson_iter_t it;
	bool yes = false;

	if(client && mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, NULL))
		yes = bson_iter_init_find(&it, &reply, "ferretdbVersion");
	if(client) bson_destroy(&reply);
	bson_destroy(cmd);
	mongoc_client_destroy(client);
	return yes;
}

int hwt_store_ping(const hwt_store_t *s, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	bson_error_t error = {0};

	if(!s || !s->uri[0]) return -1;
	ensure_mongoc();
	for(;;){
		int left = (int)(deadline - hwt_now_ms());

		if(ping_once(s->uri, left < 200 ? 200 : (left > 1000 ? 1000 : left), &error)) return 0;
		if(hwt_now_ms() >= deadline) break;
		hwt_sleep_ms(10);
	}
	fprintf(stderr, "hwt: store %s did not answer ping: %s\n", s->uri, error.message);
	return -1;
}

int hwt_store_drop_db(const hwt_store_t *s, const char *db)
{
	mongoc_client_t *client;
	mongoc_database_t *d;
	bson_error_t error;
	int rc = 0;

	if(!s || !db) return -1;
	ensure_mongoc();
	client = mongoc_client_new(s->uri);
	if(!client){
		fprintf(stderr, "hwt: bad store uri %s\n", s->uri);
		return -1;
	}
	mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	d = mongoc_client_get_database(client, db);
	if(!mongoc_database_drop(d, &error)){
		fprintf(stderr, "hwt: drop database %s: %s\n", db, error.message);
		rc = -1;
	}
	mongoc_database_destroy(d);
	mongoc_client_destroy(client);
	return rc;
}

/* FerretDB: HEARTWIRE_FERRETDB, PATH, $GOPATH/bin, $(go env GOPATH)/bin, ~/go/bin. */
static int find_ferretdb(char *out, size_t len)
{
	const char *env = getenv("HEARTWIRE_FERRETDB");
	const char *gopath = getenv("GOPATH");
	const char *home = getenv("HOME");
	char cand[512];
	char gobin[512];

	if(env && env[0]){
		if(hwt__find_exe(env, out, len) == 0) return 0;
		fprintf(stderr, "hwt: HEARTWIRE_FERRETDB=%s is not an executable\n", env);
		return -1;
	}
	if(hwt__find_exe("ferretdb", out, len) == 0) return 0;
	if(gopath && gopath[0]){
		snprintf(cand, sizeof(cand), "%.*s/bin/ferretdb", (int)strcspn(gopath, ":"), gopath);
		if(hwt__find_exe(cand, out, len) == 0) return 0;
	}
	if(hwt__find_exe("go", gobin, sizeof(gobin)) == 0){
		FILE *p = popen("go env GOPATH 2>/dev/null", "r");

		if(p){
			char line[400] = "";

			if(fgets(line, sizeof(line), p)){
				line[strcspn(line, "\r\n:")] = '\0';
				snprintf(cand, sizeof(cand), "%s/bin/ferretdb", line);
			}else{
				cand[0] = '\0';
			}
			pclose(p);
			if(cand[0] && hwt__find_exe(cand, out, len) == 0) return 0;
		}
	}
	if(home && home[0]){
		snprintf(cand, sizeof(cand), "%s/go/bin/ferretdb", home);
		if(hwt__find_exe(cand, out, len) == 0) return 0;
	}
	if(hwt__find_exe("/root/go/bin/ferretdb", out, len) == 0) return 0;
	return -1;
}

/* Spawns the server chosen in s->kind on s->port with data in s->dir. */
static int store_spawn(hwt_store_t *s, const char *exe)
{
	char data[300], port[16], listen[64], url[320];

	snprintf(data, sizeof(data), "%s/data", s->dir);
	if(mkdir(data, 0700) != 0 && errno != EEXIST){
		fprintf(stderr, "hwt: mkdir %s: %s\n", data, strerror(errno));
		return -1;
	}
	snprintf(port, sizeof(port), "%d", s->port);
	if(!strcmp(s->kind, "mongod")){
		const char *argv[] = {exe, "--dbpath", data, "--port", port, "--bind_ip", "127.0.0.1", "--quiet",
				"--unixSocketPrefix", s->dir, NULL};

		s->pid = hwt_spawn(argv, s->log);
	}else{
		snprintf(listen, sizeof(listen), "--listen-addr=127.0.0.1:%d", s->port);
		snprintf(url, sizeof(url), "--sqlite-url=file:%s/", data);
		const char *argv[] = {exe, listen, "--handler=sqlite", url, "--log-level=warn", NULL};

		s->pid = hwt_spawn(argv, s->log);
	}
	if(s->pid < 0){
		s->pid = 0;
		return -1;
	}
	return 0;
}

/* Waits for a real ping, failing fast when the server exits. */
static int store_wait_ready(hwt_store_t *s, int64_t deadline, bool *exited)
{
	bson_error_t error = {0};
	int st = 0;

	*exited = false;
	if(hwt__wait_port_alive(s->pid, s->port, deadline, &st, exited) != 0) goto fail;
	for(;;){
		int left = (int)(deadline - hwt_now_ms());

		if(ping_once(s->uri, left < 200 ? 200 : (left > 1000 ? 1000 : left), &error)) return 0;
		if(waitpid(s->pid, &st, WNOHANG) == s->pid){
			hwt__unregister_pid(s->pid);
			*exited = true;
			goto fail;
		}
		if(hwt_now_ms() >= deadline) break;
		hwt_sleep_ms(10);
	}
	fprintf(stderr, "hwt: %s on port %d did not answer ping within %d ms: %s\n", s->kind, s->port, HWT_STORE_START_MS,
			error.message);
fail:
	if(*exited){
		fprintf(stderr, "hwt: %s exited during start-up (status 0x%x)\n", s->kind, st);
		s->pid = 0;
	}
	return -1;
}

int hwt_store_start(hwt_store_t *s)
{
	const char *ext = getenv("HEARTWIRE_TEST_MONGO_URI");
	char exe[512];
	int64_t deadline;
	bool fresh, exited = false;

	if(!s) return -1;
	ensure_mongoc();
	if(s->pid > 0){
		fprintf(stderr, "hwt: store already running (pid %d)\n", (int)s->pid);
		return -1;
	}
	if(ext && ext[0]){
		snprintf(s->uri, sizeof(s->uri), "%s", ext);
		snprintf(s->kind, sizeof(s->kind), "external");
		s->external = true;
		if(hwt_store_ping(s, HWT_STORE_START_MS) != 0) return -1;
		s->ferretdb = is_ferretdb(s->uri);
		return 0;
	}
	if(hwt__find_exe("mongod", exe, sizeof(exe)) == 0){
		snprintf(s->kind, sizeof(s->kind), "mongod");
	}else if(find_ferretdb(exe, sizeof(exe)) == 0){
		snprintf(s->kind, sizeof(s->kind), "ferretdb");
	}else{
		fprintf(stderr,
				"hwt: no MongoDB-compatible server: set HEARTWIRE_TEST_MONGO_URI, put mongod on PATH, "
				"or build ferretdb (tools/ferretdb: go install) into $(go env GOPATH)/bin or "
				"HEARTWIRE_FERRETDB\n");
		return -1;
	}
	fresh = !s->dir[0];
	if(fresh){
		if(hwt_tmpdir(s->dir, sizeof(s->dir), "hwt-store-") != 0) return -1;
		snprintf(s->log, sizeof(s->log), "%s/%s.log", s->dir, s->kind);
		s->port = hwt_free_port();
		if(s->port < 0) return -1;
	}
	snprintf(s->uri, sizeof(s->uri), "mongodb://127.0.0.1:%d/", s->port);
	deadline = hwt_now_ms() + HWT_STORE_START_MS;
	for(int attempt = 0;; attempt++){
		if(store_spawn(s, exe) != 0) break;
		if(store_wait_ready(s, deadline, &exited) == 0){
			s->ferretdb = is_ferretdb(s->uri);
			return 0;
		}
		if(s->pid > 0){
			hwt_kill_wait(s->pid, SIGKILL, 1000);
			s->pid = 0;
			break;
		}
		if(!hwt__file_contains(s->log, "address already in use") && !hwt__file_contains(s->log, "Address already in use"))
			break;
		if(hwt_now_ms() >= deadline) break;
		if(fresh && attempt < 5){
			s->port = hwt_free_port();
			if(s->port < 0) break;
			snprintf(s->uri, sizeof(s->uri), "mongodb://127.0.0.1:%d/", s->port);
		}else{
			hwt_sleep_ms(50);
		}
	}
	fprintf(stderr, "hwt: %s failed to start (dir %s)\n", s->kind, s->dir);
	hwt_print_tail(s->log, 30);
	return -1;
}

int hwt_store_stop(hwt_store_t *s)
{
	int r;

	if(!s) return -1;
	if(s->external){
		fprintf(stderr, "hwt: an external store (HEARTWIRE_TEST_MONGO_URI) cannot be stopped\n");
		return -1;
	}
	if(s->pid <= 0) return 0;
	r = hwt_kill_wait(s->pid, SIGTERM, HWT_STORE_STOP_MS);
	s->pid = 0;
	s->paused = false;
	if(r < 0) return -1;
	if(r == 1) fprintf(stderr, "hwt: %s ignored SIGTERM for %d ms; killed\n", s->kind, HWT_STORE_STOP_MS);
	return 0;
}

int hwt_store_kill(hwt_store_t *s)
{
	int r;

	if(!s || s->external) return -1;
	if(s->pid <= 0) return 0;
	r = hwt_kill_wait(s->pid, SIGKILL, 2000);
	s->pid = 0;
	s->paused = false;
	return r < 0 ? -1 : 0;
}

int hwt_store_restart(hwt_store_t *s)
{
	if(!s || s->external || !s->dir[0]){
		fprintf(stderr, "hwt: hwt_store_restart needs a store the harness started\n");
		return -1;
	}
	if(hwt_store_stop(s) != 0) return -1;
	return hwt_store_start(s);
}

int hwt_store_pause(hwt_store_t *s)
{
	if(!s || s->external || s->pid <= 0 || kill(s->pid, SIGSTOP) != 0) return -1;
	s->paused = true;
	return 0;
}

int hwt_store_resume(hwt_store_t *s)
{
	if(!s || s->external || s->pid <= 0 || kill(s->pid, SIGCONT) != 0) return -1;
	s->paused = false;
	return 0;
}

void hwt_store_cleanup(hwt_store_t *s)
{
	if(!s) return;
	if(!s->external) hwt_store_stop(s);
	if(s->dir[0]) hwt__forget_dir(s->dir);
	memset(s, 0, sizeof(*s));
}
