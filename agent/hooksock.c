/* hooksock.c: the hook datagram socket: path choice, bind, receive, and the client's send. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "heartwire/ids.h"

#include "hooksock.h"

int hw_hooksock_path(char *buf, size_t len, const char *session, pid_t pid, hw_error_t *err)
{
	struct sockaddr_un sa;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n = -1, rc = hw_id_check("session", session, err);

	if(rc != HW_OK) return rc;
	if(xdg && xdg[0] == '/') n = snprintf(buf, len, "%s/heartwire/%s.%ld.sock", xdg, session, (long)pid);
	if(n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sa.sun_path))
		n = snprintf(buf, len, "/tmp/heartwire-%ld/%s.%ld.sock", (long)getuid(), session, (long)pid);
	if(n < 0 || (size_t)n >= len || (size_t)n >= sizeof(sa.sun_path))
		return hw_error_set(err, HW_ERR_INVAL, "hook socket path for session %s is too long", session);
	return HW_OK;
}

/* Fills sa with path; returns -1 when it does not fit. */
static int make_addr(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if(n == 0 || n >= sizeof(sa->sun_path)) return -1;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/* Creates the private directory holding the socket, or checks an existing one. */
static int make_dir(const char *path, hw_error_t *err)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if(!slash || slash == path) return HW_OK;
	n = (size_t)(slash - path);
	if(n >= sizeof(dir)) return hw_error_set(err, HW_ERR_INVAL, "hook socket path is too long");
	memcpy(dir, path, n);
	dir[n] = '\0';
	if(mkdir(dir, 0700) != 0 && errno != EEXIST)
		return hw_error_set(err, HW_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
	if(lstat(dir, &st) != 0) return hw_error_set(err, HW_ERR_IO, "%s: %s", dir, strerror(errno));
	if(!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0022))
		return hw_error_set(err, HW_ERR_IO, "%s must be a directory owned by uid %ld and not writable by others", dir,
				(long)getuid());
	return HW_OK;
}

int hw_hooksock_open(const char *path, int *fd_out, hw_error_t *err)
{
	struct sockaddr_un sa;
	int fd, rc, sz = 256 * 1024;

	*fd_out = -1;
	if(make_addr(&sa, path) != 0) return hw_error_set(err, HW_ERR_INVAL, "hook socket path is empty or too long");
	rc = make_dir(path, err);
	if(rc != HW_OK) return rc;
	unlink(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if(fd < 0) return hw_error_set(err, HW_ERR_IO, "socket: %s", strerror(errno));
	/* A burst of hooks (parallel tool calls) must not find the queue full. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0){
		rc = hw_error_set(err, HW_ERR_IO, "cannot bind the hook socket %s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	chmod(path, 0600);
	*fd_out = fd;
	return HW_OK;
}

ssize_t hw_hooksock_recv(int fd, void *buf, size_t len)
{
	ssize_t n;

	do{
		n = recv(fd, buf, len, MSG_TRUNC);
	}while(n < 0 && errno == EINTR);
	if(n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	if((size_t)n > len) return -1;
	return n;
}

void hw_hooksock_close(int fd, const char *path)
{
	if(fd >= 0) close(fd);
	if(path && *path) unlink(path);
}

int hw_hooksock_send(const char *path, const void *buf, size_t len, hw_error_t *err)
{
	struct sockaddr_un sa;
	ssize_t n;
	int fd, rc = HW_OK;

	if(!path || make_addr(&sa, path) != 0) return hw_error_set(err, HW_ERR_INVAL, "hook socket path is empty or too long");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if(fd < 0) return hw_error_set(err, HW_ERR_IO, "socket: %s", strerror(errno));
	do{
		n = sendto(fd, buf, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
	}while(n < 0 && errno == EINTR);
	if(n < 0){
		int e = errno;
		if(e == ENOENT || e == ECONNREFUSED || e == ENOTDIR)
			rc = hw_error_set(err, HW_ERR_NOTFOUND, "no agent listens on %s", path);
		else if(e == EAGAIN || e == EWOULDBLOCK)
			rc = hw_error_set(err, HW_ERR_AGAIN, "the agent's hook queue at %s is full", path);
		else rc = hw_error_set(err, HW_ERR_IO, "cannot send to %s: %s", path, strerror(e));
	}
	close(fd);
	return rc;
}
