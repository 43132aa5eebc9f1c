/* servers.c: the test harness's plumbing: spawned processes, free ports, temp dirs, exit-time cleanup. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "servers.h"
#include "servers_int.h"

#define HWT_MAX_PIDS 128
#define HWT_MAX_DIRS 128
#define HWT_MAX_PORTS 1024

/* What this process started: killed and removed by the atexit handler. */
static pid_t reg_pids[HWT_MAX_PIDS];
static pid_t reg_pid_owner[HWT_MAX_PIDS];
static char *reg_dirs[HWT_MAX_DIRS];
static pid_t reg_dir_owner[HWT_MAX_DIRS];
static int used_ports[HWT_MAX_PORTS];
static int n_used_ports;
static bool atexit_done;

static void hwt__atexit(void);

static void ensure_atexit(void)
{
	if(atexit_done) return;
	atexit_done = true;
	atexit(hwt__atexit);
}

static void reg_pid_add(pid_t pid)
{
	ensure_atexit();
	for(int i = 0; i < HWT_MAX_PIDS; i++){
		if(reg_pids[i] == 0){
			reg_pids[i] = pid;
			reg_pid_owner[i] = getpid();
			return;
		}
	}
	fprintf(stderr, "hwt: more than %d live children; pid %d is not registered for cleanup\n", HWT_MAX_PIDS, (int)pid);
}

static void reg_pid_del(pid_t pid)
{
	for(int i = 0; i < HWT_MAX_PIDS; i++){
		if(reg_pids[i] == pid) reg_pids[i] = 0;
	}
}

void hwt__unregister_pid(pid_t pid)
{
	reg_pid_del(pid);
}

static void reg_dir_add(const char *dir)
{
	ensure_atexit();
	for(int i = 0; i < HWT_MAX_DIRS; i++){
		if(!reg_dirs[i]){
			reg_dirs[i] = strdup(dir);
			reg_dir_owner[i] = getpid();
			return;
		}
	}
}

static void reg_dir_del(const char *dir)
{
	for(int i = 0; i < HWT_MAX_DIRS; i++){
		if(reg_dirs[i] && !strcmp(reg_dirs[i], dir)){
			free(reg_dirs[i]);
			reg_dirs[i] = NULL;
		}
	}
}

bool hwt__keep(void)
{
	const char *k = getenv("HWT_KEEP");

	return k && k[0] && strcmp(k, "0") != 0;
}

/* Kills every child still registered (and its process group: grandchildren it left), then
 * removes every registered dir. Runs at exit, also after a failed CUnit assertion. A forked
 * test process inherits the registry; it only cleans up what it registered itself. */
static void hwt__atexit(void)
{
	pid_t self = getpid();

	for(int i = 0; i < HWT_MAX_PIDS; i++){
		pid_t pid = reg_pids[i];

		if(pid <= 0 || reg_pid_owner[i] != self) continue;
		kill(pid, SIGTERM);
		kill(pid, SIGCONT);
	}
	for(int i = 0; i < HWT_MAX_PIDS; i++){
		pid_t pid = reg_pids[i];

		if(pid <= 0 || reg_pid_owner[i] != self) continue;
		hwt_kill_wait(pid, 0, 2000);
		kill(-pid, SIGKILL);
	}
	for(int i = 0; i < HWT_MAX_DIRS; i++){
		if(!reg_dirs[i]) continue;
		if(reg_dir_owner[i] == self && !hwt__keep()) hwt_rmtree(reg_dirs[i]);
		free(reg_dirs[i]);
		reg_dirs[i] = NULL;
	}
}

int64_t hwt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hwt_sleep_ms(int ms)
{
	struct timespec ts;

	if(ms <= 0) return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while(nanosleep(&ts, &ts) != 0 && errno == EINTR){
	}
}

const char *hwt_source_dir(void)
{
	const char *e = getenv("HW_SOURCE_DIR");

	if(e && e[0]) return e;
#ifdef HW_SOURCE_DIR
	return HW_SOURCE_DIR;
#else
	return ".";
#endif
}

const char *hwt_build_dir(void)
{
	const char *e = getenv("HW_BUILD_DIR");

	if(e && e[0]) return e;
#ifdef HW_BUILD_DIR
	return HW_BUILD_DIR;
#else
	return ".";
#endif
}

void hwt_unique_name(char *buf, size_t len, const char *prefix)
{
	static unsigned counter;
	char clean[40];
	size_t n = 0;
	struct timespec ts;

	if(!buf || len == 0) return;
	if(!prefix || !prefix[0]) prefix = "t";
	for(const char *p = prefix; *p && n + 1 < sizeof(clean); p++){
		unsigned char c = (unsigned char)*p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';

		clean[n++] = ok ? (char)c : '_';
	}
	clean[n] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	counter++;
	snprintf(buf, len, "%s_%d_%u_%llx", clean, (int)getpid(), counter,
			(unsigned long long)(((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u) & 0xffffffu));
}

static bool port_used(int port)
{
	for(int i = 0; i < n_used_ports; i++){
		if(used_ports[i] == port) return true;
	}
	return false;
}

int hwt_free_port(void)
{
	for(int attempt = 0; attempt < 64; attempt++){
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int port;

		if(fd < 0){
			fprintf(stderr, "hwt: socket: %s\n", strerror(errno));
			return -1;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = 0;
		if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) != 0){
			fprintf(stderr, "hwt: bind 127.0.0.1:0: %s\n", strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
		port = ntohs(sa.sin_port);
		if(port_used(port)) continue;
		if(n_used_ports < HWT_MAX_PORTS) used_ports[n_used_ports++] = port;
		return port;
	}
	fprintf(stderr, "hwt: no fresh free port after 64 attempts\n");
	return -1;
}

static bool port_accepts(int port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	if(fd < 0) return false;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int hwt_wait_port(int port, int timeout_ms)
{
	if(port <= 0 || port > 65535) return -1;
	return HWT_WAIT_UNTIL(port_accepts(port), timeout_ms) ? 0 : -1;
}

int hwt__wait_port_alive(pid_t pid, int port, int64_t deadline, int *status, bool *exited)
{
	*exited = false;
	for(;;){
		pid_t r = waitpid(pid, status, WNOHANG);

		if(r == pid){
			*exited = true;
			reg_pid_del(pid);
			return -1;
		}
		if(port_accepts(port)) return 0;
		if(hwt_now_ms() >= deadline) return -1;
		hwt_sleep_ms(5);
	}
}

int hwt__find_exe(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	const char *p;

	if(strchr(name, '/')){
		if(access(name, X_OK) != 0) return -1;
		snprintf(out, len, "%s", name);
		return 0;
	}
	if(!path || !path[0]) path = "/usr/local/bin:/usr/bin:/bin";
	p = path;
	while(*p){
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct stat st;

		if(n > 0 && (size_t)snprintf(out, len, "%.*s/%s", (int)n, p, name) < len){
			if(stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
		}
		if(!e) break;
		p = e + 1;
	}
	out[0] = '\0';
	return -1;
}

pid_t hwt_spawn(const char *const argv[], const char *log_path)
{
	pid_t parent = getpid();
	pid_t pid;

	if(!argv || !argv[0]){
		fprintf(stderr, "hwt: hwt_spawn without argv\n");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if(pid < 0){
		fprintf(stderr, "hwt: fork: %s\n", strerror(errno));
		return -1;
	}
	if(pid == 0){
		/* Child: only async-signal-safe calls until exec (the test may have threads). */
		struct sigaction sa;
		sigset_t none;
		int fd;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if(getppid() != parent) _exit(127);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		for(int s = 1; s < 32; s++){
			if(s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		fd = open("/dev/null", O_RDONLY);
		if(fd >= 0){
			dup2(fd, 0);
			if(fd > 2) close(fd);
		}
		if(log_path){
			fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if(fd >= 0){
				dup2(fd, 1);
				dup2(fd, 2);
				if(fd > 2) close(fd);
			}
		}
		/* Inherit nothing else: a test's MQTT socket kept open in a server would hide the
		 * disconnect (and the will) the test is waiting for. */
		if(syscall(SYS_close_range, 3u, ~0u, 0u) != 0){
			for(int f = 3; f < 4096; f++) close(f);
		}
		execvp(argv[0], (char *const *)argv);
		{
			static const char msg[] = "hwt: exec failed: ";
			const char *why = strerror(errno);

			(void)!write(2, msg, sizeof(msg) - 1);
			(void)!write(2, argv[0], strlen(argv[0]));
			(void)!write(2, ": ", 2);
			(void)!write(2, why, strlen(why));
			(void)!write(2, "\n", 1);
		}
		_exit(127);
	}
	setpgid(pid, pid);
	reg_pid_add(pid);
	return pid;
}

int hwt_wait_pid(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	int st = 0;

	if(pid <= 0) return -1;
	for(;;){
		pid_t r = waitpid(pid, &st, WNOHANG);

		if(r == pid){
			reg_pid_del(pid);
			if(status) *status = st;
			return 0;
		}
		if(r < 0){
			if(errno == EINTR) continue;
			reg_pid_del(pid);
			return -1;
		}
		if(hwt_now_ms() >= deadline) return -1;
		hwt_sleep_ms(2);
	}
}

int hwt_kill_wait(pid_t pid, int sig, int timeout_ms)
{
	int st;

	if(pid <= 0) return -1;
	if(sig != 0){
		if(kill(pid, sig) != 0 && errno != ESRCH){
			reg_pid_del(pid);
			return -1;
		}
		/* A stopped process only acts on the signal once continued. */
		if(sig != SIGSTOP && sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) kill(pid, SIGCONT);
	}
	if(hwt_wait_pid(pid, timeout_ms, &st) == 0) return 0;
	if(waitpid(pid, &st, WNOHANG) < 0 && errno == ECHILD){
		reg_pid_del(pid);
		return -1;
	}
	kill(pid, SIGKILL);
	while(waitpid(pid, &st, 0) < 0 && errno == EINTR){
	}
	reg_pid_del(pid);
	return 1;
}

/* Removes the hwt-* dirs under base left by test processes that died without running their
 * atexit handler (SIGKILLed by a ctest timeout): each such dir names its owner in
 * .hwt-owner. Dirs of live processes, and dirs kept with HWT_KEEP (no owner file), stay. */
static void sweep_orphans(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;

	if(!d) return;
	while((de = readdir(d)) != NULL){
		char path[1024], owner[1100], text[32] = "";
		FILE *f;
		long pid;

		if(strncmp(de->d_name, "hwt-", 4) != 0) continue;
		if((size_t)snprintf(path, sizeof(path), "%s/%s", base, de->d_name) >= sizeof(path)) continue;
		snprintf(owner, sizeof(owner), "%s/.hwt-owner", path);
		f = fopen(owner, "r");
		if(!f) continue;
		if(!fgets(text, sizeof(text), f)) text[0] = '\0';
		fclose(f);
		pid = strtol(text, NULL, 10);
		if(pid > 1 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) hwt_rmtree(path);
	}
	closedir(d);
}

void hwt_sweep_orphans(void)
{
	const char *base = getenv("TMPDIR");

	sweep_orphans(base && base[0] ? base : "/tmp");
}

int hwt_tmpdir(char *buf, size_t len, const char *prefix)
{
	static bool swept;
	const char *base = getenv("TMPDIR");
	char owner[512];
	FILE *f;

	if(!base || !base[0]) base = "/tmp";
	if(!prefix) prefix = "hwt-";
	if(!swept){
		swept = true;
		sweep_orphans(base);
	}
	if((size_t)snprintf(buf, len, "%s/%sXXXXXX", base, prefix) >= len){
		fprintf(stderr, "hwt: temp dir path too long\n");
		buf[0] = '\0';
		return -1;
	}
	if(!mkdtemp(buf)){
		fprintf(stderr, "hwt: mkdtemp %s: %s\n", buf, strerror(errno));
		buf[0] = '\0';
		return -1;
	}
	if(!hwt__keep() && (size_t)snprintf(owner, sizeof(owner), "%s/.hwt-owner", buf) < sizeof(owner)){
		f = fopen(owner, "w");
		if(f){
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		}
	}
	reg_dir_add(buf);
	return 0;
}

void hwt_rmtree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;

	if(!path || !path[0] || lstat(path, &st) != 0) return;
	if(!S_ISDIR(st.st_mode)){
		unlink(path);
		return;
	}
	d = opendir(path);
	if(d){
		while((de = readdir(d)) != NULL){
			char child[1024];

			if(!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
			if((size_t)snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= sizeof(child)) continue;
			hwt_rmtree(child);
		}
		closedir(d);
	}
	rmdir(path);
}

void hwt__forget_dir(const char *dir)
{
	if(!hwt__keep()) hwt_rmtree(dir);
	reg_dir_del(dir);
}

void hwt_print_tail(const char *path, int nlines)
{
	FILE *f;
	long size, start;
	char *buf;
	size_t n;
	int lines = 0;
	size_t from = 0;

	if(!path || !path[0]) return;
	f = fopen(path, "rb");
	if(!f){
		fprintf(stderr, "hwt: --- %s: %s ---\n", path, strerror(errno));
		return;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	start = size > 16384 ? size - 16384 : 0;
	fseek(f, start, SEEK_SET);
	buf = malloc((size_t)(size - start) + 1);
	if(!buf){
		fclose(f);
		return;
	}
	n = fread(buf, 1, (size_t)(size - start), f);
	buf[n] = '\0';
	fclose(f);
	for(size_t i = n; i > 0; i--){
		if(buf[i - 1] == '\n' && i != n){
			if(++lines >= nlines){
				from = i;
				break;
			}
		}
	}
	fprintf(stderr, "hwt: --- last %d lines of %s ---\n%s%s--- end of %s ---\n", nlines, path, buf + from,
			(n > 0 && buf[n - 1] != '\n') ? "\n" : "", path);
	free(buf);
}

char *hwt__read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if(!f) return NULL;
	if(fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) goto cleanup;
	buf = malloc((size_t)size + 1);
	if(!buf) goto cleanup;
	if(fread(buf, 1, (size_t)size, f) != (size_t)size){
		free(buf);
		buf = NULL;
		goto cleanup;
	}
	buf[size] = '\0';
cleanup:
	fclose(f);
	return buf;
}

bool hwt__file_contains(const char *path, const char *needle)
{
	return hwt__file_contains_from(path, 0, needle);
}

bool hwt__file_contains_from(const char *path, long offset, const char *needle)
{
	char *text = hwt__read_file(path);
	bool found = text && (long)strlen(text) >= offset && strstr(text + offset, needle);

	free(text);
	return found;
}

long hwt__file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : 0;
}
