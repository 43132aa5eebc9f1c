/* httpc.c: a tiny blocking HTTP/1.1 client over a plain socket (tests only, loopback). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads everything until EOF or the deadline into *buf (grown as needed). */
static int read_all(int fd, int64_t deadline, char **buf, size_t *len)
{
	size_t cap = 8192;
	char *b = malloc(cap);

	*len = 0;
	if(!b) return -1;
	for(;;){
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;
		if(left <= 0 || poll(&pfd, 1, (int)left) <= 0){
			fprintf(stderr, "http: no complete response in time\n");
			free(b);
			return -1;
		}
		if(*len + 4096 + 1 > cap){
			char *nb = realloc(b, cap * 2);
			if(!nb){
				free(b);
				return -1;
			}
			b = nb;
			cap *= 2;
		}
		n = read(fd, b + *len, cap - *len - 1);
		if(n < 0 && errno == EINTR) continue;
		if(n < 0){
			fprintf(stderr, "http: read: %s\n", strerror(errno));
			free(b);
			return -1;
		}
		if(n == 0) break;
		*len += (size_t)n;
	}
	b[*len] = '\0';
	*buf = b;
	return 0;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long dechunk(char *p, size_t n)
{
	size_t in = 0, out = 0;

	for(;;){
		char *end;
		unsigned long sz;
		char *crlf = in < n ? strstr(p + in, "\r\n") : NULL;
		if(!crlf) return -1;
		sz = strtoul(p + in, &end, 16);
		if(end == p + in) return -1;
		in = (size_t)(crlf - p) + 2;
		if(sz == 0) break;
		if(in + sz + 2 > n) return -1;
		memmove(p + out, p + in, sz);
		out += sz;
		in += sz + 2;
	}
	p[out] = '\0';
	return (long)out;
}

int hwt_http(int port, const char *method, const char *path, int timeout_ms, hwt_http_resp_t *r)
{
	struct sockaddr_in a;
	char req[512], *raw = NULL, *body, cl[32];
	size_t rawlen, hlen;
	int fd, n;
	int64_t deadline = now_ms() + timeout_ms;

	memset(r, 0, sizeof(*r));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if(fd < 0) return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0){
		fprintf(stderr, "http: connect to 127.0.0.1:%d: %s\n", port, strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(req, sizeof(req),
			"%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: hwtest\r\nAccept: */*\r\n"
			"Connection: close\r\n\r\n",
			method, path, port);
	if(n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n){
		fprintf(stderr, "http: cannot send the request\n");
		close(fd);
		return -1;
	}
	if(read_all(fd, deadline, &raw, &rawlen) != 0){
		close(fd);
		return -1;
	}
	close(fd);
	body = strstr(raw, "\r\n\r\n");
	if(!body || sscanf(raw, "HTTP/1.%*d %d", &r->status) != 1){
		fprintf(stderr, "http: not an HTTP response: %.80s\n", raw);
		free(raw);
		return -1;
	}
	hlen = (size_t)(body - raw);
	snprintf(r->headers, sizeof(r->headers), "%.*s", (int)hlen, raw);
	body += 4;
	r->len = rawlen - (size_t)(body - raw);
	memmove(raw, body, r->len + 1);
	r->body = raw;
	if(strcasecmp(hwt_http_header(r, "Transfer-Encoding", cl, sizeof(cl)), "chunked") == 0){
		long m = dechunk(r->body, r->len);
		if(m < 0){
			fprintf(stderr, "http: bad chunked body\n");
			hwt_http_free(r);
			return -1;
		}
		r->len = (size_t)m;
	}else if(strcmp(method, "HEAD") != 0 && *hwt_http_header(r, "Content-Length", cl, sizeof(cl)) &&
			strtoul(cl, NULL, 10) != r->len){
		fprintf(stderr, "http: body is %zu bytes, Content-Length says %s\n", r->len, cl);
		hwt_http_free(r);
		return -1;
	}
	return 0;
}

const char *hwt_http_header(const hwt_http_resp_t *r, const char *name, char *buf, size_t len)
{
	size_t nn = strlen(name);
	const char *p = strstr(r->headers, "\r\n");

	buf[0] = '\0';
	while(p){
		p += 2;
		if(strncasecmp(p, name, nn) == 0 && p[nn] == ':'){
			const char *v = p + nn + 1, *e = strstr(v, "\r\n");
			size_t vn;
			while(*v == ' ') v++;
			vn = e ? (size_t)(e - v) : strlen(v);
			snprintf(buf, len, "%.*s", (int)vn, v);
			return buf;
		}
		p = strstr(p, "\r\n");
	}
	return buf;
}

void hwt_http_free(hwt_http_resp_t *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
