/* httpc.h: a tiny blocking HTTP/1.1 client over a plain socket, for tests of the collector's
 * /metrics, /healthz and /readyz (loopback only). */
#ifndef HEARTWIRE_TEST_HTTPC_H
#define HEARTWIRE_TEST_HTTPC_H

#include <stddef.h>

/* One response. body is NUL-terminated (len bytes without the NUL); caller frees it with
 * hwt_http_free. headers holds the raw header block (status line included). */
typedef struct hwt_http_resp {
	int status;
	char headers[2048];
	char *body;
	size_t len;
} hwt_http_resp_t;

/* Sends "METHOD path HTTP/1.1" (Connection: close) to 127.0.0.1:port and reads the whole
 * response within timeout_ms. Handles Content-Length and chunked bodies. Returns 0 and fills
 * *r, or -1 after printing why to stderr. */
int hwt_http(int port, const char *method, const char *path, int timeout_ms, hwt_http_resp_t *r);

/* The value of header name (case-insensitive) in r->headers copied into buf, or "" when
 * absent. Returns buf. */
const char *hwt_http_header(const hwt_http_resp_t *r, const char *name, char *buf, size_t len);

/* Frees the body; the struct may be reused. */
void hwt_http_free(hwt_http_resp_t *r);

#endif
