/* rawmqtt.c: the minimal epoll-driven MQTT 3.1.1 client of rawmqtt.h. */
#include "rawmqtt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_CONNECTING = 0, ST_WAIT_CONNACK, ST_CONNECTED, ST_CLOSED };

typedef struct buf {
	unsigned char *data;
	size_t off, len, cap; /* bytes [off, len) are pending */
} buf_t;

struct hwt_mq {
	hwt_mqpool_t *pool;
	int fd;
	int state;
	bool want_out; /* EPOLLOUT registered */
	buf_t out, in;
	uint16_t next_id;
	int keepalive_s;
	int64_t last_write_ms;
	int subs_pending;
	hwt_mq_stats_t st;
	void *ud;
};

struct hwt_mqpool {
	int ep;
	hwt_mq_msg_fn fn;
	hwt_mq_t **conns;
	size_t n, cap;
	size_t connected;
	int64_t next_ping_scan;
	uint64_t qos1_sent, acked; /* over every connection */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ buffers */

static int buf_reserve(buf_t *b, size_t more)
{
	if(b->off > 0 && (b->off == b->len || b->off > b->cap / 2)){
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if(b->len + more > b->cap){
		size_t cap = b->cap ? b->cap : 512;
		unsigned char *d;
		while(cap < b->len + more) cap *= 2;
		d = realloc(b->data, cap);
		if(!d) return -1;
		b->data = d;
		b->cap = cap;
	}
	return 0;
}

static void put_u8(buf_t *b, unsigned v)
{
	b->data[b->len++] = (unsigned char)v;
}

static void put_u16(buf_t *b, unsigned v)
{
	b->data[b->len++] = (unsigned char)(v >> 8);
	b->data[b->len++] = (unsigned char)v;
}

static void put_bytes(buf_t *b, const void *p, size_t n)
{
	if(n) memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void put_str(buf_t *b, const char *s, size_t n)
{
	put_u16(b, (unsigned)n);
	put_bytes(b, s, n);
}

/* Writes the fixed header of a packet of type byte `first` and remaining length rl. */
static void put_header(buf_t *b, unsigned first, size_t rl)
{
	put_u8(b, first);
	do{
		unsigned char d = rl % 128;
		rl /= 128;
		if(rl) d |= 0x80;
		put_u8(b, d);
	}while(rl);
}

/* ------------------------------------------------------------------ connection I/O */

static void conn_close(hwt_mq_t *c, bool reset)
{
	if(c->state == ST_CLOSED) return;
	if(c->state == ST_CONNECTED) c->pool->connected--;
	if(reset){
		struct linger l = {1, 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	epoll_ctl(c->pool->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = ST_CLOSED;
	c->out.off = c->out.len = 0;
}

static void want_out(hwt_mq_t *c, bool on)
{
	struct epoll_event ev;

	if(c->want_out == on || c->state == ST_CLOSED) return;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if(epoll_ctl(c->pool->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0) c->want_out = on;
}

/* Writes what the socket takes; returns -1 when the connection broke. */
static int conn_flush(hwt_mq_t *c)
{
	if(c->state == ST_CONNECTING || c->state == ST_CLOSED) return 0;
	while(c->out.off < c->out.len){
		ssize_t n = send(c->fd, c->out.data + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
		if(n > 0){
			c->out.off += (size_t)n;
			c->last_write_ms = now_ms();
			continue;
		}
		if(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)){
			want_out(c, true);
			return 0;
		}
		if(n < 0 && errno == EINTR) continue;
		return -1;
	}
	c->out.off = c->out.len = 0;
	want_out(c, false);
	return 0;
}

/* Handles one complete packet; returns -1 to close. */
static int conn_packet(hwt_mq_t *c, unsigned first, const unsigned char *p, size_t rl)
{
	switch(first >> 4){
	case 2: /* CONNACK */
		if(rl < 2 || p[1] != 0) return -1;
		if(c->state == ST_WAIT_CONNACK){
			c->state = ST_CONNECTED;
			c->pool->connected++;
		}
		return 0;
	case 3: { /* PUBLISH */
		int qos = (first >> 1) & 3;
		size_t tl, off;
		uint16_t id = 0;
		if(rl < 2) return -1;
		tl = (size_t)p[0] << 8 | p[1];
		off = 2 + tl;
		if(off > rl) return -1;
		if(qos > 0){
			if(off + 2 > rl) return -1;
			id = (uint16_t)(p[off] << 8 | p[off + 1]);
			off += 2;
		}
		c->st.received++;
		if(c->pool->fn) c->pool->fn(c, (const char *)p + 2, tl, p + off, rl - off, (first & 1) != 0, c->ud);
		if(qos == 1 && c->state != ST_CLOSED){
			if(buf_reserve(&c->out, 4) != 0) return -1;
			put_u8(&c->out, 0x40);
			put_u8(&c->out, 2);
			put_u16(&c->out, id);
		}
		return 0;
	}
	case 4: /* PUBACK */
		c->st.acked++;
		c->pool->acked++;
		return 0;
	case 9: /* SUBACK */
		if(rl >= 3 && p[2] == 0x80) return -1;
		if(c->subs_pending > 0) c->subs_pending--;
		return 0;
	default: /* PINGRESP, UNSUBACK, ... */
		return 0;
	}
}

/* Reads and handles what is there; returns -1 when the connection ended. */
static int conn_read(hwt_mq_t *c)
{
	for(;;){
		ssize_t n;
		if(buf_reserve(&c->in, 65536) != 0) return -1;
		n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
		if(n == 0) return -1;
		if(n < 0){
			if(errno == EAGAIN || errno == EWOULDBLOCK) break;
			if(errno == EINTR) continue;
			return -1;
		}
		c->in.len += (size_t)n;
		/* complete packets */
		for(;;){
			size_t avail = c->in.len - c->in.off, rl = 0, hl = 1;
			unsigned char *p = c->in.data + c->in.off;
			int mult = 1;
			bool complete = false;
			if(avail < 2) break;
			while(hl < avail && hl <= 4){
				rl += (size_t)(p[hl] & 0x7f) * (size_t)mult;
				mult *= 128;
				if(!(p[hl++] & 0x80)){
					complete = true;
					break;
				}
			}
			if(!complete){
				if(hl > 4) return -1;
				break;
			}
			if(avail < hl + rl) break;
			if(conn_packet(c, p[0], p + hl, rl) != 0) return -1;
			if(c->state == ST_CLOSED) return -1;
			c->in.off += hl + rl;
		}
		if((size_t)n < 65536) break;
	}
	return 0;
}

/* ------------------------------------------------------------------ the pool */

int hwt_mqpool_new(hwt_mqpool_t **out, hwt_mq_msg_fn fn)
{
	hwt_mqpool_t *p = calloc(1, sizeof(*p));

	*out = NULL;
	if(!p) return -1;
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if(p->ep < 0){
		free(p);
		return -1;
	}
	p->fn = fn;
	*out = p;
	return 0;
}

void hwt_mqpool_free(hwt_mqpool_t *p)
{
	if(!p) return;
	for(size_t i = 0; i < p->n; i++){
		hwt_mq_t *c = p->conns[i];
		conn_close(c, true);
		free(c->out.data);
		free(c->in.data);
		free(c);
	}
	free(p->conns);
	close(p->ep);
	free(p);
}

hwt_mq_t *hwt_mq_connect(hwt_mqpool_t *p, const hwt_mq_conn_opts_t *o)
{
	hwt_mq_t *c;
	struct sockaddr_in a;
	struct epoll_event ev;
	size_t idl = strlen(o->client_id), rl;
	unsigned flags = 0x02 * (o->clean ? 1 : 0);
	int one = 1;

	if(p->n == p->cap){
		size_t cap = p->cap ? p->cap * 2 : 64;
		hwt_mq_t **v = realloc(p->conns, cap * sizeof(*v));
		if(!v) return NULL;
		p->conns = v;
		p->cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if(!c) return NULL;
	c->pool = p;
	c->ud = o->ud;
	c->keepalive_s = o->keepalive_s;
	c->next_id = 1;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if(c->fd < 0){
		free(c);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)o->port);
	inet_pton(AF_INET, o->host, &a.sin_addr);
	if(connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS){
		close(c->fd);
		free(c);
		return NULL;
	}
	/* CONNECT */
	rl = 10 + 2 + idl;
	if(o->will_topic){
		flags |= 0x04 | (unsigned)(o->will_qos & 3) << 3 | (o->will_retain ? 0x20 : 0);
		rl += 2 + strlen(o->will_topic) + 2 + o->will_len;
	}
	if(buf_reserve(&c->out, rl + 5) != 0){
		close(c->fd);
		free(c);
		return NULL;
	}
	put_header(&c->out, 0x10, rl);
	put_str(&c->out, "MQTT", 4);
	put_u8(&c->out, 4);
	put_u8(&c->out, flags);
	put_u16(&c->out, (unsigned)o->keepalive_s);
	put_str(&c->out, o->client_id, idl);
	if(o->will_topic){
		put_str(&c->out, o->will_topic, strlen(o->will_topic));
		put_str(&c->out, o->will_payload, o->will_len);
	}
	c->state = ST_CONNECTING;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if(epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0){
		close(c->fd);
		free(c->out.data);
		free(c);
		return NULL;
	}
	c->want_out = true;
	c->last_write_ms = now_ms();
	p->conns[p->n++] = c;
	return c;
}

static void ping_scan(hwt_mqpool_t *p)
{
	int64_t now = now_ms();

	if(now < p->next_ping_scan) return;
	p->next_ping_scan = now + 500;
	for(size_t i = 0; i < p->n; i++){
		hwt_mq_t *c = p->conns[i];
		if(c->state != ST_CONNECTED || c->keepalive_s <= 0) continue;
		if(now - c->last_write_ms < (int64_t)c->keepalive_s * 500) continue;
		if(buf_reserve(&c->out, 2) != 0) continue;
		put_u8(&c->out, 0xc0);
		put_u8(&c->out, 0);
		if(conn_flush(c) != 0) conn_close(c, false);
	}
}

int hwt_mqpool_run(hwt_mqpool_t *p, int timeout_ms)
{
	struct epoll_event evs[256];
	int n, closed = 0;

	ping_scan(p);
	n = epoll_wait(p->ep, evs, 256, timeout_ms);
	if(n < 0) return errno == EINTR ? 0 : -1;
	for(int i = 0; i < n; i++){
		hwt_mq_t *c = evs[i].data.ptr;
		bool bad = false;
		if(c->state == ST_CLOSED) continue;
		if(c->state == ST_CONNECTING && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))){
			int e = 0;
			socklen_t el = sizeof(e);
			if(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e != 0) bad = true;
			else c->state = ST_WAIT_CONNACK;
		}
		if(!bad && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->state != ST_CONNECTING)
			bad = conn_read(c) != 0;
		if(!bad) bad = conn_flush(c) != 0;
		if(bad){
			conn_close(c, false);
			closed++;
		}
	}
	return closed;
}

bool hwt_mqpool_wait_connected(hwt_mqpool_t *p, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	for(;;){
		size_t open = 0;
		for(size_t i = 0; i < p->n; i++) open += p->conns[i]->state != ST_CLOSED;
		if(p->connected == open) return open == p->n;
		if(now_ms() >= end) return false;
		if(hwt_mqpool_run(p, 10) < 0) return false;
	}
}

bool hwt_mqpool_wait_acked(hwt_mqpool_t *p, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	for(;;){
		bool all = true;
		for(size_t i = 0; i < p->n && all; i++){
			hwt_mq_t *c = p->conns[i];
			if(c->state == ST_CLOSED) return false;
			all = c->st.acked >= c->st.qos1_sent && c->subs_pending == 0;
		}
		if(all) return true;
		if(now_ms() >= end) return false;
		if(hwt_mqpool_run(p, 10) < 0) return false;
	}
}

size_t hwt_mqpool_count(const hwt_mqpool_t *p)
{
	return p->n;
}

size_t hwt_mqpool_connected(const hwt_mqpool_t *p)
{
	return p->connected;
}

size_t hwt_mqpool_pending(const hwt_mqpool_t *p)
{
	size_t n = 0;

	for(size_t i = 0; i < p->n; i++) n += p->conns[i]->out.len - p->conns[i]->out.off;
	return n;
}

uint64_t hwt_mqpool_unacked(const hwt_mqpool_t *p)
{
	return p->qos1_sent - p->acked;
}

/* ------------------------------------------------------------------ packets */

int hwt_mq_publish(hwt_mq_t *c, const char *topic, const void *payload, size_t len, int qos, bool retain)
{
	size_t tl = strlen(topic), rl = 2 + tl + len + (qos ? 2 : 0);

	if(c->state == ST_CLOSED || qos < 0 || qos > 1 || tl > 65535) return -1;
	if(buf_reserve(&c->out, rl + 5) != 0) return -1;
	put_header(&c->out, 0x30 | (unsigned)(qos << 1) | (retain ? 1 : 0), rl);
	put_str(&c->out, topic, tl);
	if(qos){
		put_u16(&c->out, c->next_id);
		c->next_id = (uint16_t)(c->next_id == 65535 ? 1 : c->next_id + 1);
		c->st.qos1_sent++;
		c->pool->qos1_sent++;
	}
	put_bytes(&c->out, payload, len);
	c->st.published++;
	if(!c->want_out && conn_flush(c) != 0){
		conn_close(c, false);
		return -1;
	}
	return 0;
}

int hwt_mq_subscribe(hwt_mq_t *c, const char *filter, int qos)
{
	size_t fl = strlen(filter), rl = 2 + 2 + fl + 1;

	if(c->state == ST_CLOSED || fl > 65535) return -1;
	if(buf_reserve(&c->out, rl + 5) != 0) return -1;
	put_header(&c->out, 0x82, rl);
	put_u16(&c->out, c->next_id);
	c->next_id = (uint16_t)(c->next_id == 65535 ? 1 : c->next_id + 1);
	put_str(&c->out, filter, fl);
	put_u8(&c->out, (unsigned)qos);
	c->subs_pending++;
	if(!c->want_out && conn_flush(c) != 0){
		conn_close(c, false);
		return -1;
	}
	return 0;
}

bool hwt_mq_subscribed(const hwt_mq_t *c)
{
	return c->subs_pending == 0 && c->state == ST_CONNECTED;
}

bool hwt_mq_connected(const hwt_mq_t *c)
{
	return c->state == ST_CONNECTED;
}

bool hwt_mq_closed(const hwt_mq_t *c)
{
	return c->state == ST_CLOSED;
}

void *hwt_mq_ud(const hwt_mq_t *c)
{
	return c->ud;
}

void hwt_mq_stats(const hwt_mq_t *c, hwt_mq_stats_t *out)
{
	*out = c->st;
}

void hwt_mq_disconnect(hwt_mq_t *c)
{
	if(c->state == ST_CLOSED) return;
	if(buf_reserve(&c->out, 2) == 0){
		put_u8(&c->out, 0xe0);
		put_u8(&c->out, 0);
		/* best effort: a blocking moment is fine for a clean goodbye */
		for(int tries = 0; tries < 100 && c->out.off < c->out.len; tries++){
			if(conn_flush(c) != 0) break;
			if(c->out.off < c->out.len) usleep(1000);
		}
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c, false);
}

void hwt_mq_abort(hwt_mq_t *c)
{
	conn_close(c, true);
}
