/* supervise.c: runs the child in its own process group, gives it the terminal, forwards
 * signals to it through a signalfd, reaps it, and maps its wait status to an exit code. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "supervise.h"

extern char **environ;

/* The signals forwarded to the child's process group. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* Calls fn(fd, arg) for each open descriptor of this process (except the scan's own). */
static void each_fd(void (*fn)(int, void *), void *arg)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if(!d) return;
	while((e = readdir(d)) != NULL){
		char *end;
		long fd;
		if(e->d_name[0] < '0' || e->d_name[0] > '9') continue;
		fd = strtol(e->d_name, &end, 10);
		if(*end || fd < 0 || fd == dirfd(d)) continue;
		fn((int)fd, arg);
	}
	closedir(d);
}

static void mark_inherited(int fd, void *arg)
{
	hw_sup_t *s = arg;

	if(fd < HW_SUP_FD_TRACK) s->inherited[fd / 8] |= (unsigned char)(1u << (fd % 8));
}

/* The descriptors the child must not get: opened by the agent, not close-on-exec. */
typedef struct fd_list {
	const hw_sup_t *s;
	int keep1, keep2;
	int fds[256];
	int n;
} fd_list_t;

static void collect_own(int fd, void *arg)
{
	fd_list_t *l = arg;

	if(fd <= 2 || fd == l->keep1 || fd == l->keep2 || l->n >= (int)(sizeof(l->fds) / sizeof(l->fds[0]))) return;
	if(fd < HW_SUP_FD_TRACK && (l->s->inherited[fd / 8] & (1u << (fd % 8)))) return;
	l->fds[l->n++] = fd;
}

int hw_sup_init(hw_sup_t *s, hw_error_t *err)
{
	sigset_t block, fdset;
	struct sigaction sa;

	memset(s, 0, sizeof(*s));
	s->sigfd = -1;
	each_fd(mark_inherited, s);
	sigemptyset(&fdset);
	sigaddset(&fdset, SIGCHLD);
	for(size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++) sigaddset(&fdset, forwarded[i]);
	block = fdset;
	/* Blocked SIGTTOU lets the agent call tcsetpgrp() from the background to take the
	 * terminal back after the child's group had it. */
	sigaddset(&block, SIGTTOU);
	sigaddset(&block, SIGTTIN);
	if(sigprocmask(SIG_BLOCK, &block, &s->oldmask) != 0)
		return hw_error_set(err, HW_ERR_IO, "cannot block signals: %s", strerror(errno));
	s->sigfd = signalfd(-1, &fdset, SFD_NONBLOCK | SFD_CLOEXEC);
	if(s->sigfd < 0){
		int e = errno;
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
		return hw_error_set(err, HW_ERR_IO, "cannot create a signalfd: %s", strerror(e));
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	s->agent_pgrp = getpgrp();
	s->tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == s->agent_pgrp;
	return HW_OK;
}

/* Resolves cmd like execvp would: as given when it holds a '/', else the first executable
 * regular file in $PATH. Writes the path into out. Returns HW_OK, HW_ERR_NOTFOUND or
 * HW_ERR_INVAL (found but not executable). */
static int resolve(const char *cmd, char *out, size_t len, hw_error_t *err)
{
	const char *path = getenv("PATH");
	struct stat st;
	bool seen = false;

	if(!cmd || !*cmd) return hw_error_set(err, HW_ERR_INVAL, "the command is empty");
	if(strchr(cmd, '/')){
		if((size_t)snprintf(out, len, "%s", cmd) >= len)
			return hw_error_set(err, HW_ERR_INVAL, "command path is too long");
		if(stat(cmd, &st) != 0) return hw_error_set(err, HW_ERR_NOTFOUND, "%s: %s", cmd, strerror(errno));
		if(!S_ISREG(st.st_mode) || access(cmd, X_OK) != 0)
			return hw_error_set(err, HW_ERR_INVAL, "%s: not an executable file", cmd);
		return HW_OK;
	}
	if(!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
	while(*path){
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		int w;

		if(n == 0){
			w = snprintf(out, len, "./%s", cmd);
		}else{
			w = snprintf(out, len, "%.*s/%s", (int)n, path, cmd);
		}
		if(w > 0 && (size_t)w < len && stat(out, &st) == 0 && S_ISREG(st.st_mode)){
			if(access(out, X_OK) == 0) return HW_OK;
			seen = true;
		}
		path += n;
		if(*path == ':') path++;
	}
	if(seen) return hw_error_set(err, HW_ERR_INVAL, "%s: permission denied", cmd);
	return hw_error_set(err, HW_ERR_NOTFOUND, "%s: command not found", cmd);
}

/* True when the NAME= prefix of a and b is the same. */
static bool same_name(const char *a, const char *b)
{
	const char *ea = strchr(a, '='), *eb = strchr(b, '=');
	size_t na = ea ? (size_t)(ea - a) : strlen(a), nb = eb ? (size_t)(eb - b) : strlen(b);

	return na == nb && memcmp(a, b, na) == 0;
}

/* Builds environ without the names in extra, followed by extra. Caller frees the array
 * (not the strings) with free(). */
static char **build_env(char *const extra[])
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while(environ && environ[n]) n++;
	while(extra && extra[m]) m++;
	env = calloc(n + m + 1, sizeof(*env));
	if(!env) return NULL;
	for(size_t i = 0; i < n; i++){
		bool dup = false;
		for(size_t j = 0; j < m && !dup; j++) dup = same_name(environ[i], extra[j]);
		if(!dup) env[k++] = environ[i];
	}
	for(size_t j = 0; j < m; j++) env[k++] = extra[j];
	env[k] = NULL;
	return env;
}

int hw_sup_start(hw_sup_t *s, char *const argv[], char *const env_extra[], hw_error_t *err)
{
	char path[4096];
	char **env = NULL;
	int pfd[2] = {-1, -1}, rc = HW_OK, child_errno = 0;
	ssize_t r;
	pid_t pid;

	s->exited = false;
	s->status = 0;
	rc = resolve(argv[0], path, sizeof(path), err);
	if(rc != HW_OK){
		s->exited = true;
		s->status = (rc == HW_ERR_NOTFOUND ? HW_SUP_EXIT_NOTFOUND : HW_SUP_EXIT_NOEXEC) << 8;
		return rc;
	}
	env = build_env(env_extra);
	if(!env) return hw_error_set(err, HW_ERR_NOMEM, "out of memory building the environment");
	/* Close-on-exec, so a successful exec closes it and the read below sees EOF. (pipe2 is
	 * not POSIX; nothing else forks in the agent, so the gap is harmless.) */
	if(pipe(pfd) != 0 || fcntl(pfd[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(pfd[1], F_SETFD, FD_CLOEXEC) != 0){
		rc = hw_error_set(err, HW_ERR_IO, "pipe: %s", strerror(errno));
		goto cleanup;
	}
	{
		fd_list_t own = {.s = s, .keep1 = pfd[0], .keep2 = pfd[1]};
		each_fd(collect_own, &own);
		pid = fork();
		if(pid == 0){
			for(int i = 0; i < own.n; i++) close(own.fds[i]);
		}
	}
	if(pid < 0){
		rc = hw_error_set(err, HW_ERR_IO, "fork: %s", strerror(errno));
		goto cleanup;
	}
	if(pid == 0){
		/* The child: only async-signal-safe calls from here to exec. */
		struct sigaction sa;
		int e;

		setpgid(0, 0);
		if(s->tty) tcsetpgrp(STDIN_FILENO, getpid());
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
		execve(path, argv, env);
		e = errno;
		r = write(pfd[1], &e, sizeof(e));
		(void)r;
		_exit(e == ENOENT ? HW_SUP_EXIT_NOTFOUND : HW_SUP_EXIT_NOEXEC);
	}
	/* Both sides set the group and the terminal, so neither order of scheduling races. */
	setpgid(pid, pid);
	if(s->tty) tcsetpgrp(STDIN_FILENO, pid);
	close(pfd[1]);
	pfd[1] = -1;
	do{
		r = read(pfd[0], &child_errno, sizeof(child_errno));
	}while(r < 0 && errno == EINTR);
	if(r == (ssize_t)sizeof(child_errno)){
		int st = 0;
		while(waitpid(pid, &st, 0) < 0 && errno == EINTR){
		}
		s->exited = true;
		s->status = st;
		if(s->tty) tcsetpgrp(STDIN_FILENO, s->agent_pgrp);
		rc = hw_error_set(err, child_errno == ENOENT ? HW_ERR_NOTFOUND : HW_ERR_INVAL, "cannot run %s: %s", path,
				strerror(child_errno));
		goto cleanup;
	}
	s->pid = pid;
cleanup:
	if(pfd[0] >= 0) close(pfd[0]);
	if(pfd[1] >= 0) close(pfd[1]);
	free(env);
	return rc;
}

int hw_sup_kill(hw_sup_t *s, int sig)
{
	if(s->pid <= 0) return 0;
	if(killpg(s->pid, sig) == 0) return 0;
	/* The group may be gone while the leader is a zombie: fall back to the pid. */
	return kill(s->pid, sig);
}

/* Stops the agent like the child was stopped (job control on a terminal), then gives the
 * terminal back to the child and continues it once the shell continues the agent. */
static void follow_stop(hw_sup_t *s)
{
	if(tcgetpgrp(STDIN_FILENO) == s->pid) tcsetpgrp(STDIN_FILENO, s->agent_pgrp);
	kill(getpid(), SIGSTOP);
	/* Continued by the shell: foreground (fg) gives us the terminal, background (bg) not. */
	if(tcgetpgrp(STDIN_FILENO) == s->agent_pgrp) tcsetpgrp(STDIN_FILENO, s->pid);
	hw_sup_kill(s, SIGCONT);
}

int hw_sup_handle(hw_sup_t *s)
{
	struct signalfd_siginfo si;
	int ev = HW_SUP_NONE, st;
	pid_t r;

	for(;;){
		ssize_t n = read(s->sigfd, &si, sizeof(si));
		if(n != (ssize_t)sizeof(si)) break;
		if(si.ssi_signo == SIGCHLD) continue;
		s->sigint_count++;
		s->last_signal = (int)si.ssi_signo;
		if(s->pid > 0){
			hw_sup_kill(s, (int)si.ssi_signo);
			ev |= HW_SUP_FORWARDED;
		}else{
			ev |= HW_SUP_SIGNALED;
		}
	}
	while(s->pid > 0){
		r = waitpid(s->pid, &st, WNOHANG | WUNTRACED | WCONTINUED);
		if(r < 0 && errno == EINTR) continue;
		if(r <= 0) break;
		if(WIFEXITED(st) || WIFSIGNALED(st)){
			s->exited = true;
			s->status = st;
			s->pid = 0;
			if(s->tty && tcgetpgrp(STDIN_FILENO) != s->agent_pgrp) tcsetpgrp(STDIN_FILENO, s->agent_pgrp);
			ev |= HW_SUP_EXITED;
			break;
		}
		if(WIFSTOPPED(st)){
			int sig = WSTOPSIG(st);
			if(s->tty && (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)) follow_stop(s);
			ev |= HW_SUP_STOPPED;
		}else if(WIFCONTINUED(st)){
			ev |= HW_SUP_CONTINUED;
		}
	}
	return ev;
}

void hw_sup_cleanup(hw_sup_t *s)
{
	if(s->sigfd >= 0) close(s->sigfd);
	s->sigfd = -1;
	if(s->tty && tcgetpgrp(STDIN_FILENO) != s->agent_pgrp) tcsetpgrp(STDIN_FILENO, s->agent_pgrp);
	pthread_sigmask(SIG_SETMASK, &s->oldmask, NULL);
}

int hw_sup_exit_code(int status)
{
	if(WIFEXITED(status)) return WEXITSTATUS(status);
	if(WIFSIGNALED(status)) return 128 + WTERMSIG(status);
	return HW_SUP_EXIT_SELF;
}

void hw_sup_split(int status, int *code, int *sig)
{
	*code = -1;
	*sig = -1;
	if(WIFEXITED(status)) *code = WEXITSTATUS(status);
	else if(WIFSIGNALED(status)) *sig = WTERMSIG(status);
}
