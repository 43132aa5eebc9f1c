/* proxy.c: the chaos tests' freezable loopback TCP proxy (one poll thread, non-blocking sockets). */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_MAX_CONN 256
#define PROXY_BUF 65536

/* One direction of a connection: bytes read from `from`, not yet written to `to`. */
typedef struct pipe_buf {
	char data[PROXY_BUF];
	size_t len;
	bool eof; /* `from` closed its side: shut down writing on `to` once the buffer is empty */
} pipe_buf_t;

typedef struct conn {
	int fd[2];         /* [0] the client side, [1] the upstream side */
	pipe_buf_t buf[2]; /* [0] client -> upstream, [1] upstream -> client */
	bool shut[2];      /* SHUT_WR sent on fd[i] */
} conn_t;

enum { CMD_NONE = 0, CMD_FREEZE, CMD_THAW, CMD_RESET, CMD_STOP };

struct hwt_proxy {
	int listen_fd;
	int port, upstream;
	char url[64];
	int wake[2];
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int cmd; /* guarded by mu */
	unsigned long req, done;
	bool frozen; /* written by the thread, read under mu */
	int nconn, accepted;
	conn_t *conns[PROXY_MAX_CONN]; /* owned by the thread */
};

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_reset(int fd)
{
	struct linger l = {1, 0};

	if(fd < 0) return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void conn_free(hwt_proxy_t *p, int i, bool reset)
{
	conn_t *c = p->conns[i];

	for(int k = 0; k < 2; k++){
		if(reset) close_reset(c->fd[k]);
		else close(c->fd[k]);
	}
	free(c);
	p->conns[i] = NULL;
	pthread_mutex_lock(&p->mu);
	p->nconn--;
	pthread_mutex_unlock(&p->mu);
}

static void accept_one(hwt_proxy_t *p)
{
	struct sockaddr_in a;
	int cfd = accept(p->listen_fd, NULL, NULL), ufd, slot = -1;
	conn_t *c;

	if(cfd < 0) return;
	for(int i = 0; i < PROXY_MAX_CONN; i++){
		if(!p->conns[i]){
			slot = i;
			break;
		}
	}
	ufd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)p->upstream);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* a blocking connect on loopback: immediate (accepted or refused) */
	if(slot < 0 || ufd < 0 || connect(ufd, (struct sockaddr *)&a, sizeof(a)) != 0 || !(c = calloc(1, sizeof(*c)))){
		close_reset(cfd);
		if(ufd >= 0) close(ufd);
		return;
	}
	set_nonblock(cfd);
	set_nonblock(ufd);
	c->fd[0] = cfd;
	c->fd[1] = ufd;
	p->conns[slot] = c;
	pthread_mutex_lock(&p->mu);
	p->nconn++;
	p->accepted++;
	pthread_mutex_unlock(&p->mu);
}

/* Moves what it can for connection i; returns false when it is finished (closed). */
static bool conn_pump(conn_t *c, const struct pollfd *pf)
{
	for(int d = 0; d < 2; d++){
		int from = c->fd[d], to = c->fd[1 - d];
		pipe_buf_t *b = &c->buf[d];
		short rev_from = pf[d].revents, rev_to = pf[1 - d].revents;
		if(!b->eof && b->len < PROXY_BUF && (rev_from & (POLLIN | POLLHUP | POLLERR))){
			ssize_t n = read(from, b->data + b->len, PROXY_BUF - b->len);
			if(n > 0) b->len += (size_t)n;
			else if(n == 0) b->eof = true;
			else if(errno != EAGAIN && errno != EINTR) return false;
		}
		if(b->len > 0 && (rev_to & (POLLOUT | POLLERR | POLLHUP))){
			ssize_t n = send(to, b->data, b->len, MSG_NOSIGNAL);
			if(n > 0){
				memmove(b->data, b->data + n, b->len - (size_t)n);
				b->len -= (size_t)n;
			}else if(n < 0 && errno != EAGAIN && errno != EINTR){
				return false;
			}
		}
		if(b->eof && b->len == 0 && !c->shut[1 - d]){
			shutdown(to, SHUT_WR);
			c->shut[1 - d] = true;
		}
	}
	return !(c->shut[0] && c->shut[1]);
}

static void *proxy_main(void *arg)
{
	hwt_proxy_t *p = arg;
	struct pollfd pf[2 + 2 * PROXY_MAX_CONN];
	int idx[PROXY_MAX_CONN];

	for(;;){
		int n = 0, cmd;
		bool frozen;
		pthread_mutex_lock(&p->mu);
		cmd = p->cmd;
		p->cmd = CMD_NONE;
		pthread_mutex_unlock(&p->mu);
		if(cmd == CMD_STOP) break;
		if(cmd == CMD_FREEZE) frozen = true;
		else if(cmd == CMD_THAW) frozen = false;
		else frozen = p->frozen;
		if(cmd == CMD_RESET){
			for(int i = 0; i < PROXY_MAX_CONN; i++){
				if(p->conns[i]) conn_free(p, i, true);
			}
		}
		if(cmd != CMD_NONE){
			pthread_mutex_lock(&p->mu);
			p->frozen = frozen;
			p->done++;
			pthread_cond_broadcast(&p->cond);
			pthread_mutex_unlock(&p->mu);
		}
		pf[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
		if(!frozen){
			pf[n++] = (struct pollfd){.fd = p->listen_fd, .events = POLLIN};
			for(int i = 0; i < PROXY_MAX_CONN; i++){
				conn_t *c = p->conns[i];
				idx[i] = -1;
				if(!c) continue;
				idx[i] = n;
				for(int k = 0; k < 2; k++){
					short ev = 0;
					if(!c->buf[k].eof && c->buf[k].len < PROXY_BUF) ev |= POLLIN;
					if(c->buf[1 - k].len > 0) ev |= POLLOUT;
					pf[n++] = (struct pollfd){.fd = c->fd[k], .events = ev};
				}
			}
		}
		if(poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR) break;
		if(pf[0].revents & POLLIN){
			char junk[64];
			while(read(p->wake[0], junk, sizeof(junk)) > 0){
			}
		}
		if(frozen) continue;
		/* a command may have come in meanwhile: handle it before moving another byte */
		pthread_mutex_lock(&p->mu);
		cmd = p->cmd;
		pthread_mutex_unlock(&p->mu);
		if(cmd != CMD_NONE) continue;
		if(pf[1].revents & POLLIN) accept_one(p);
		for(int i = 0; i < PROXY_MAX_CONN; i++){
			if(!p->conns[i] || idx[i] < 0) continue;
			if(!conn_pump(p->conns[i], &pf[idx[i]])) conn_free(p, i, false);
		}
	}
	for(int i = 0; i < PROXY_MAX_CONN; i++){
		if(p->conns[i]) conn_free(p, i, false);
	}
	return NULL;
}

/* Hands cmd to the thread and waits until it took it. */
static void proxy_cmd(hwt_proxy_t *p, int cmd)
{
	unsigned long ticket;
	ssize_t w;

	pthread_mutex_lock(&p->mu);
	p->cmd = cmd;
	ticket = ++p->req;
	pthread_mutex_unlock(&p->mu);
	w = write(p->wake[1], "x", 1);
	(void)w;
	if(cmd == CMD_STOP) return;
	pthread_mutex_lock(&p->mu);
	while(p->done < ticket) pthread_cond_wait(&p->cond, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

int hwt_proxy_start(hwt_proxy_t **out, int upstream_port)
{
	hwt_proxy_t *p = calloc(1, sizeof(*p));
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int one = 1;

	*out = NULL;
	if(!p){
		fprintf(stderr, "proxy: out of memory\n");
		return -1;
	}
	p->upstream = upstream_port;
	p->wake[0] = p->wake[1] = -1;
	p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(p->listen_fd < 0 || setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
			bind(p->listen_fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(p->listen_fd, 128) != 0 ||
			getsockname(p->listen_fd, (struct sockaddr *)&a, &al) != 0 || set_nonblock(p->listen_fd) != 0 ||
			pipe(p->wake) != 0 || set_nonblock(p->wake[0]) != 0){
		fprintf(stderr, "proxy: cannot listen: %s\n", strerror(errno));
		goto fail;
	}
	p->port = ntohs(a.sin_port);
	snprintf(p->url, sizeof(p->url), "mqtt://127.0.0.1:%d", p->port);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if(pthread_create(&p->thread, NULL, proxy_main, p) != 0){
		fprintf(stderr, "proxy: cannot start its thread\n");
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if(p->listen_fd >= 0) close(p->listen_fd);
	if(p->wake[0] >= 0) close(p->wake[0]);
	if(p->wake[1] >= 0) close(p->wake[1]);
	free(p);
	return -1;
}

int hwt_proxy_port(const hwt_proxy_t *p)
{
	return p->port;
}

const char *hwt_proxy_url(const hwt_proxy_t *p)
{
	return p->url;
}

void hwt_proxy_freeze(hwt_proxy_t *p)
{
	proxy_cmd(p, CMD_FREEZE);
}

void hwt_proxy_thaw(hwt_proxy_t *p)
{
	proxy_cmd(p, CMD_THAW);
}

bool hwt_proxy_frozen(const hwt_proxy_t *p)
{
	bool f;

	pthread_mutex_lock((pthread_mutex_t *)&p->mu);
	f = p->frozen;
	pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
	return f;
}

void hwt_proxy_reset(hwt_proxy_t *p)
{
	proxy_cmd(p, CMD_RESET);
}

int hwt_proxy_connections(const hwt_proxy_t *p)
{
	int n;

	pthread_mutex_lock((pthread_mutex_t *)&p->mu);
	n = p->nconn;
	pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
	return n;
}

int hwt_proxy_accepted(const hwt_proxy_t *p)
{
	int n;

	pthread_mutex_lock((pthread_mutex_t *)&p->mu);
	n = p->accepted;
	pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
	return n;
}

void hwt_proxy_stop(hwt_proxy_t *p)
{
	if(!p) return;
	proxy_cmd(p, CMD_STOP);
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	close(p->wake[0]);
	close(p->wake[1]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
