/* test_security.c: the shipped broker security on a real mosquitto: heartwire.conf with an ACL and password file made by
 * scripts/hw-keys, TLS certificates by scripts/hw-certs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heartwire/mqtt.h"
#include "hwtest.h"
#include "servers.h"

/*
 * One broker for the suite, started from conf/mosquitto/heartwire.conf exactly as shipped,
 * except that /etc/mosquitto/heartwire/ points at this test's temp dir and the optional TLS
 * and WebSockets listeners are uncommented (the harness moves every listener to a free
 * loopback port). Users are made by the real scripts/hw-keys before the start:
 *   sec-a, sec-b          agents (machines)
 *   sec-viewer            viewer
 *   sec-operator          operator
 *   sec-collector         collector
 * Clients speak MQTT 5 through the wrapper, so refusals show as PUBACK/CONNACK reason codes.
 *
 * "Nothing arrives" is proven with a marker: a refused publish is settled when
 * hw_mqtt_publish_wait returns HW_ERR_FORBIDDEN, so a message published after it that does
 * arrive shows the broker got past the refused one; the observer must then have seen the
 * marker and nothing else.
 */

#define ROOT "heartwire/v1"
#define WAIT_MS 5000

enum { U_A, U_B, U_VIEWER, U_OPERATOR, U_COLLECTOR, U__COUNT };

static const char *const user_names[U__COUNT] = {"sec-a", "sec-b", "sec-viewer", "sec-operator", "sec-collector"};
static const char *const user_roles[U__COUNT] = {"agent", "agent", "viewer", "operator", "collector"};

static hwt_broker_t broker = HWT_BROKER_INIT;
static char tmp[256];
static char keys[U__COUNT][128];
static char passwd_path[320], acl_path[320], certs[320], certs_other[320];
static char tls_url[64], ws_port_s[16];
static int run_seq;

/* ---- helpers ------------------------------------------------------------------------------ */

/* Reads a whole file into buf (NUL-terminated, truncated to len - 1); "" when missing. */
static const char *slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	buf[0] = '\0';
	if(!f) return buf;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool file_has(const char *path, const char *needle)
{
	static char buf[1 << 16];

	return strstr(slurp(path, buf, sizeof(buf)), needle) != NULL;
}

/* Runs argv to completion (up to 20 s) with stdout+stderr into a fresh log under tmp (its
 * path into log, when given); returns the exit code, or -1. A non-zero code prints the log. */
static int run(const char *const argv[], char *log, size_t loglen, bool quiet_fail)
{
	char path[320];
	int st = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/run-%d.log", tmp, ++run_seq);
	if(log) snprintf(log, loglen, "%s", path);
	pid = hwt_spawn(argv, path);
	if(pid < 0) return -1;
	if(hwt_wait_pid(pid, 20000, &st) != 0){
		hwt_kill_wait(pid, SIGKILL, 1000);
		fprintf(stderr, "%s did not finish in 20 s\n", argv[0]);
		return -1;
	}
	if(!WIFEXITED(st)) return -1;
	if(WEXITSTATUS(st) != 0 && !quiet_fail) hwt_print_tail(path, 20);
	return WEXITSTATUS(st);
}

static void script(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/scripts/%s", hwt_source_dir(), name);
}

/* hw-keys with the suite's files and any extra arguments (NULL-terminated, at most 8). */
static int hw_keys(char *log, size_t loglen, bool quiet_fail, ...)
{
	const char *argv[24];
	char prog[512];
	int n = 0;
	va_list ap;

	script(prog, sizeof(prog), "hw-keys");
	argv[n++] = prog;
	argv[n++] = "--passwd";
	argv[n++] = passwd_path;
	argv[n++] = "--acl";
	argv[n++] = acl_path;
	va_start(ap, quiet_fail);
	for(const char *a; n < 23 && (a = va_arg(ap, const char *));) argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run(argv, log, loglen, quiet_fail);
}

/* Reads the key hw-keys wrote into path (one line) into dst. */
static bool read_key(const char *path, char *dst, size_t len)
{
	char buf[256];
	size_t n;

	slurp(path, buf, sizeof(buf));
	n = strcspn(buf, "\n");
	buf[n] = '\0';
	if(n != 43) return false;
	snprintf(dst, len, "%s", buf);
	return true;
}

/* A client for url as username/password (either NULL for none) with a fresh id; NULL on
 * failure (printed). cafile for mqtts://. */
static hw_mqtt_t *client_new(const char *url, const char *user, const char *pw, const char *cafile, char *id, size_t idlen)
{
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	hw_mqtt_t *m = NULL;
	hw_error_t err;
	char buf[96];

	if(!id){
		id = buf;
		idlen = sizeof(buf);
	}
	hwt_unique_name(id, idlen, "sec");
	o.url = url;
	o.client_id = id;
	o.username = user;
	o.password = pw;
	o.cafile = cafile;
	o.connect_timeout_ms = WAIT_MS;
	if(hw_mqtt_new(&m, &o, &err) != HW_OK){
		fprintf(stderr, "hw_mqtt_new: %s\n", err.msg);
		return NULL;
	}
	return m;
}

/* Connects user u on the plain listener; NULL (printed) when refused. */
static hw_mqtt_t *login(int u)
{
	hw_mqtt_t *m = client_new(broker.url, user_names[u], keys[u], NULL, NULL, 0);
	hw_error_t err;

	if(!m) return NULL;
	if(hw_mqtt_connect(m, NULL, &err) != HW_OK){
		fprintf(stderr, "connect as %s: %s\n", user_names[u], err.msg);
		hw_mqtt_free(m);
		return NULL;
	}
	return m;
}

/* Tries one connection with these credentials; returns hw_mqtt_connect's code. */
static int try_login(const char *url, const char *user, const char *pw, const char *cafile, hw_error_t *err)
{
	hw_mqtt_t *m = client_new(url, user, pw, cafile, NULL, 0);
	int rc;

	if(!m) return HW_ERR_INVAL;
	rc = hw_mqtt_connect(m, NULL, err);
	hw_mqtt_free(m);
	return rc;
}

static int sub(hw_mqtt_t *m, const char *filter)
{
	hw_error_t err;
	int rc = hw_mqtt_subscribe(m, filter, 1, &err);

	if(rc) fprintf(stderr, "subscribe %s: %s\n", filter, err.msg);
	return rc;
}

/* Publishes at QoS 1 and waits for the PUBACK; returns the wrapper's code. */
static int pubw(hw_mqtt_t *m, const char *topic, const char *payload, bool retain)
{
	hw_error_t err;

	return hw_mqtt_publish_wait(m, topic, payload, strlen(payload), 1, retain, WAIT_MS, &err);
}

/* Collects the messages m receives until one arrives on marker (included), into got (a
 * "topic payload" line each, at most max); returns their number, or -1 on timeout. */
static int collect_until(hw_mqtt_t *m, const char *marker, char got[][256], int max)
{
	int64_t deadline = hwt_now_ms() + WAIT_MS;
	int n = 0;

	for(;;){
		hw_mqtt_msg_t *msg;

		while((msg = hw_mqtt_next(m))){
			bool done = strcmp(msg->topic, marker) == 0;

			if(n < max){
				snprintf(got[n], 256, "%s %.*s", msg->topic, (int)(msg->len < 100 ? msg->len : 100),
						(const char *)msg->payload);
				n++;
			}
			hw_mqtt_msg_free(msg);
			if(done) return n;
		}
		int64_t left = deadline - hwt_now_ms();
		if(left <= 0) return -1;
		hw_mqtt_wait(m, (int)left);
	}
}

/* Asserts that got[0..n) is exactly want[] (NULL-terminated), printing both on a difference. */
static void expect_seen(char got[][256], int n, const char *const want[], const char *who)
{
	int w = 0;
	bool same;

	while(want[w]) w++;
	same = n == w;
	for(int i = 0; same && i < n; i++) same = strcmp(got[i], want[i]) == 0;
	if(!same){
		fprintf(stderr, "%s saw %d message(s):\n", who, n);
		for(int i = 0; i < n; i++) fprintf(stderr, "  %s\n", got[i]);
		fprintf(stderr, "expected %d:\n", w);
		for(int i = 0; i < w; i++) fprintf(stderr, "  %s\n", want[i]);
	}
	CU_ASSERT_TRUE(same);
}

/* Waits until the client notices its connection is gone. */
static bool wait_lost(hw_mqtt_t *m, int timeout_ms)
{
	int64_t deadline = hwt_now_ms() + timeout_ms;
	hw_mqtt_msg_t *msg;

	while(hw_mqtt_connected(m)){
		int64_t left = deadline - hwt_now_ms();

		if(left <= 0) return false;
		hw_mqtt_wait(m, (int)left);
		while((msg = hw_mqtt_next(m))) hw_mqtt_msg_free(msg);
	}
	return true;
}

/* The shipped heartwire.conf with the deployment paths moved to tmp and the optional
 * listeners (the directive lines of the Listeners section written as "#word") turned on.
 * Caller frees. */
static char *shipped_conf(void)
{
	char src[512], *text, *out;
	const char *from = "/etc/mosquitto/heartwire/";
	size_t cap, n = 0, flen = strlen(from), tlen = strlen(tmp);
	bool in_listeners = false;
	FILE *f;

	snprintf(src, sizeof(src), "%s/conf/mosquitto/heartwire.conf", hwt_source_dir());
	f = fopen(src, "rb");
	if(!f) return NULL;
	fseek(f, 0, SEEK_END);
	cap = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, cap + 1);
	out = calloc(1, cap * 2 + 4096);
	if(!text || !out || fread(text, 1, cap, f) != cap){
		fclose(f);
		free(text);
		free(out);
		return NULL;
	}
	fclose(f);
	for(char *line = text; *line;){
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
		const char *p = line;

		if(!strncmp(line, "# ----", 6)) in_listeners = strstr(line, "Listeners") != NULL;
		if(in_listeners && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') p++;
		for(; p < line + len;){
			if((size_t)(line + len - p) >= flen && !strncmp(p, from, flen)){
				memcpy(out + n, tmp, tlen);
				n += tlen;
				out[n++] = '/';
				p += flen;
			}else{
				out[n++] = *p++;
			}
		}
		line += len;
	}
	free(text);
	return out;
}

/* ---- suite -------------------------------------------------------------------------------- */

static int suite_init(void)
{
	char prog[512], log[320], keyfile[320];
	char *conf;
	int64_t t0;

	if(hwt_tmpdir(tmp, sizeof(tmp), "hwt-security-") != 0) return -1;
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", tmp);
	snprintf(acl_path, sizeof(acl_path), "%s/acl", tmp);
	snprintf(certs, sizeof(certs), "%s/certs", tmp);
	snprintf(certs_other, sizeof(certs_other), "%s/certs-other", tmp);

	/* Users, by the real script (no broker yet: --no-reload). */
	for(int u = 0; u < U__COUNT; u++){
		snprintf(keyfile, sizeof(keyfile), "%s/%s.key", tmp, user_names[u]);
		if(hw_keys(log, sizeof(log), false, "--no-reload", "--key-file", keyfile, "add", user_names[u], "--role",
				   user_roles[u], (const char *)NULL) != 0)
			return -1;
		if(!read_key(keyfile, keys[u], sizeof(keys[u]))){
			fprintf(stderr, "hw-keys wrote no 43-character key to %s\n", keyfile);
			return -1;
		}
	}
	/* The broker's certificates, and a second, unrelated CA. */
	script(prog, sizeof(prog), "hw-certs");
	{
		const char *a1[] = {prog, "--dir", certs, NULL};
		const char *a2[] = {prog, "--dir", certs_other, NULL};

		if(run(a1, NULL, 0, false) != 0 || run(a2, NULL, 0, false) != 0) return -1;
	}

	conf = shipped_conf();
	if(!conf) return -1;
	t0 = hwt_now_ms();
	if(hwt_broker_start_text(&broker, conf) != 0){
		free(conf);
		return -1;
	}
	free(conf);
	printf("\n  heartwire.conf (auth, ACL, TLS, WebSockets) started in %lld ms on ports", (long long)(hwt_now_ms() - t0));
	for(int i = 0; i < broker.nports; i++) printf(" %d", broker.ports[i]);
	printf("\n");
	if(broker.nports != 3){
		fprintf(stderr, "expected 3 listeners (plain, TLS, WebSockets), got %d\n", broker.nports);
		return -1;
	}
	snprintf(tls_url, sizeof(tls_url), "mqtts://127.0.0.1:%d", broker.ports[1]);
	snprintf(ws_port_s, sizeof(ws_port_s), "%d", broker.ports[2]);
	return 0;
}

static int suite_cleanup(void)
{
	hwt_broker_cleanup(&broker);
	return 0;
}

static const char *certs_ca_path(void);

/* ---- tests -------------------------------------------------------------------------------- */

static void TEST_shipped_config_loads_with_its_three_listeners(void)
{
	CU_ASSERT_TRUE(file_has(broker.conf, "\nallow_anonymous false"));
	CU_ASSERT_TRUE(file_has(broker.conf, "/passwd\n"));
	CU_ASSERT_TRUE(file_has(broker.conf, "/certs/server.crt\n"));
	CU_ASSERT_TRUE(file_has(broker.conf, "\nprotocol websockets"));
	CU_ASSERT_FALSE(file_has(broker.conf, "/etc/mosquitto/heartwire"));
	for(int i = 0; i < broker.nports; i++) CU_ASSERT_EQUAL(hwt_wait_port(broker.ports[i], 0), 0);
	CU_ASSERT_TRUE(file_has(broker.log, "Opening websockets listen socket"));
	/* The ACL hw-keys made is the shipped one plus its user blocks. */
	CU_ASSERT_TRUE(file_has(acl_path, "pattern write " ROOT "/m/%u/#\n"));
	CU_ASSERT_TRUE(file_has(acl_path, "pattern read " ROOT "/reply/%u/#\n"));
	CU_ASSERT_TRUE(file_has(acl_path, "# hw-keys: begin viewer sec-viewer\nuser sec-viewer\ntopic deny " ROOT "/m/#\n"));
	CU_ASSERT_TRUE(file_has(acl_path, "user sec-operator\n"));
	CU_ASSERT_TRUE(file_has(acl_path, "user sec-collector\ntopic readwrite " ROOT "/#\n"));
	CU_ASSERT_FALSE(file_has(acl_path, "user sec-a\n"));
	/* Only hashes are stored. */
	for(int u = 0; u < U__COUNT; u++) CU_ASSERT_FALSE(file_has(passwd_path, keys[u]));
	CU_ASSERT_TRUE(file_has(passwd_path, "sec-a:$7$"));
}

static void TEST_anonymous_is_refused_on_every_listener(void)
{
	hw_error_t err;
	int fd;
	struct sockaddr_in sa = {0};
	unsigned char buf[512];
	ssize_t got = 0;

	CU_ASSERT_EQUAL(try_login(broker.url, NULL, NULL, NULL, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(try_login(tls_url, NULL, NULL, certs_ca_path(), &err), HW_ERR_FORBIDDEN);
	/* A user name without a password is anonymous too. */
	CU_ASSERT_EQUAL(try_login(broker.url, user_names[U_A], NULL, NULL, &err), HW_ERR_FORBIDDEN);

	/* WebSockets: an MQTT 3.1.1 CONNECT without credentials in a masked binary frame, after
	 * the HTTP upgrade; the broker must answer CONNACK 5 (not authorised). */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)broker.ports[2]);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0){
		static const char upgrade[] = "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
					      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
					      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n";
		static const unsigned char connect_pkt[] = {0x10, 0x12, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x0a,
				0x00, 0x06, 's', 'e', 'c', '-', 'w', 's'};
		unsigned char frame[2 + 4 + sizeof(connect_pkt)];
		const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
		struct pollfd pfd = {fd, POLLIN, 0};
		int64_t deadline = hwt_now_ms() + WAIT_MS;
		char *body;

		CU_ASSERT_EQUAL(write(fd, upgrade, sizeof(upgrade) - 1), (ssize_t)sizeof(upgrade) - 1);
		/* Read the HTTP response up to its blank line. */
		while(got < (ssize_t)sizeof(buf) - 1 && hwt_now_ms() < deadline){
			ssize_t r;

			if(poll(&pfd, 1, 200) <= 0) continue;
			r = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got);
			if(r <= 0) break;
			got += r;
			buf[got] = '\0';
			if(strstr((char *)buf, "\r\n\r\n")) break;
		}
		buf[got > 0 ? got : 0] = '\0';
		CU_ASSERT_TRUE(strncmp((char *)buf, "HTTP/1.1 101", 12) == 0);
		body = strstr((char *)buf, "\r\n\r\n");
		CU_ASSERT_PTR_NOT_NULL_FATAL(body);
		frame[0] = 0x82;
		frame[1] = 0x80 | (unsigned char)sizeof(connect_pkt);
		memcpy(frame + 2, mask, 4);
		for(size_t i = 0; i < sizeof(connect_pkt); i++) frame[6 + i] = connect_pkt[i] ^ mask[i % 4];
		CU_ASSERT_EQUAL(write(fd, frame, sizeof(frame)), (ssize_t)sizeof(frame));
		/* The answer: one unmasked binary frame holding CONNACK 20 02 00 05. */
		got = 0;
		while(got < 6 && hwt_now_ms() < deadline){
			ssize_t r;

			if(poll(&pfd, 1, 200) <= 0) continue;
			r = read(fd, buf + got, sizeof(buf) - (size_t)got);
			if(r <= 0) break;
			got += r;
		}
		CU_ASSERT_TRUE(got >= 6);
		if(got >= 6){
			CU_ASSERT_EQUAL(buf[0], 0x82);
			CU_ASSERT_EQUAL(buf[1], 4);
			CU_ASSERT_EQUAL(buf[2], 0x20);
			CU_ASSERT_EQUAL(buf[5], 0x05);
		}
	}else{
		CU_FAIL("cannot connect to the WebSockets listener");
	}
	close(fd);
}

static void TEST_wrong_key_is_refused(void)
{
	hw_error_t err;
	char wrong[128];

	snprintf(wrong, sizeof(wrong), "%s", keys[U_A]);
	wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(try_login(broker.url, user_names[U_A], wrong, NULL, &err), HW_ERR_FORBIDDEN);
	/* Another user's key, and an unknown user. */
	CU_ASSERT_EQUAL(try_login(broker.url, user_names[U_A], keys[U_B], NULL, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(try_login(broker.url, "sec-nobody", keys[U_A], NULL, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(try_login(broker.url, user_names[U_A], "", NULL, &err), HW_ERR_FORBIDDEN);
	/* And the right one works. */
	CU_ASSERT_EQUAL(try_login(broker.url, user_names[U_A], keys[U_A], NULL, &err), HW_OK);
}

static void TEST_agent_cannot_publish_under_another_machine(void)
{
	hw_mqtt_t *a = login(U_A), *coll = login(U_COLLECTOR);
	char got[16][256];
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	CU_ASSERT_EQUAL_FATAL(sub(coll, "#"), HW_OK);

	/* Every kind of topic outside its own subtree: another machine's messages (retained status
	 * included), the collector's state, alerts, queries, commands, replies, outside the root. */
	CU_ASSERT_EQUAL(pubw(a, ROOT "/m/sec-b/s/s1/birth", "{}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/m/sec-b/s/s1/hb", "forged-hb", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/m/sec-b/s/s1/status", "forged-status", true), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/state/s/s1", "forged-state", true), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/state/pause", "forged-pause", true), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/alert/s/s1", "forged-alert", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/collector/c1", "offline", true), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/q/sessions", "{}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/cmd/fail", "{\"session\":\"s1\"}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, ROOT "/reply/sec-viewer/1", "{\"ok\":true}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(a, "elsewhere/x", "x", false), HW_ERR_FORBIDDEN);
	/* The connection survives every refusal. */
	CU_ASSERT_TRUE(hw_mqtt_connected(a));

	/* Its own subtree works, and is all the collector saw. */
	CU_ASSERT_EQUAL(pubw(a, ROOT "/m/sec-a/s/s1/hb", "own-hb", false), HW_OK);
	n = collect_until(coll, ROOT "/m/sec-a/s/s1/hb", got, 16);
	{
		const char *const want[] = {ROOT "/m/sec-a/s/s1/hb own-hb", NULL};

		expect_seen(got, n, want, "the collector");
	}
	hw_mqtt_free(a);
	hw_mqtt_free(coll);
}

/* A will is a publish too: one on another machine's topic never reaches anyone, while one on
 * the agent's own status does (so the check is not vacuous). Wills fire here by session
 * takeover: a second connection with the same client id ends the first without DISCONNECT. */
static void TEST_agent_will_outside_its_subtree_goes_nowhere(void)
{
	hw_mqtt_t *coll = login(U_COLLECTOR), *w1, *w2;
	hw_mqtt_will_t will = HW_MQTT_WILL_INIT;
	char id[96], got[16][256];
	hw_error_t err;
	int rc, n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	CU_ASSERT_EQUAL_FATAL(sub(coll, ROOT "/#"), HW_OK);

	/* Foreign will. */
	w1 = client_new(broker.url, user_names[U_A], keys[U_A], NULL, id, sizeof(id));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w1);
	will.topic = ROOT "/m/sec-b/s/s9/status";
	will.payload = "forged-lost";
	will.len = strlen("forged-lost");
	will.retain = false;
	rc = hw_mqtt_connect(w1, &will, &err);
	printf("\n  connect with a will on another machine's topic: %s\n", rc == HW_OK ? "accepted" : err.msg);
	CU_ASSERT_TRUE(rc == HW_OK || rc == HW_ERR_FORBIDDEN);
	if(rc == HW_OK){
		hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;

		o.url = broker.url;
		o.client_id = id;
		o.username = user_names[U_A];
		o.password = keys[U_A];
		CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&w2, &o, &err), HW_OK);
		CU_ASSERT_EQUAL(hw_mqtt_connect(w2, NULL, &err), HW_OK);
		CU_ASSERT_TRUE(wait_lost(w1, WAIT_MS));
		hw_mqtt_free(w2);
	}
	hw_mqtt_free(w1);

	/* Own will, same way: it must arrive. */
	w1 = client_new(broker.url, user_names[U_A], keys[U_A], NULL, id, sizeof(id));
	CU_ASSERT_PTR_NOT_NULL_FATAL(w1);
	will.topic = ROOT "/m/sec-a/s/s9/status";
	will.payload = "own-lost";
	will.len = strlen("own-lost");
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(w1, &will, &err), HW_OK);
	{
		hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;

		o.url = broker.url;
		o.client_id = id;
		o.username = user_names[U_A];
		o.password = keys[U_A];
		CU_ASSERT_EQUAL_FATAL(hw_mqtt_new(&w2, &o, &err), HW_OK);
		CU_ASSERT_EQUAL(hw_mqtt_connect(w2, NULL, &err), HW_OK);
		CU_ASSERT_TRUE(wait_lost(w1, WAIT_MS));
		hw_mqtt_free(w2);
	}
	hw_mqtt_free(w1);
	n = collect_until(coll, ROOT "/m/sec-a/s/s9/status", got, 16);
	{
		const char *const want[] = {ROOT "/m/sec-a/s/s9/status own-lost", NULL};

		expect_seen(got, n, want, "the collector");
	}
	hw_mqtt_free(coll);
}

static void TEST_agent_reads_only_its_commands_and_the_pause_state(void)
{
	hw_mqtt_t *a = login(U_A), *coll = login(U_COLLECTOR);
	char got[16][256];
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	/* It may ask for everything: with acl_file, mosquitto grants every SUBSCRIBE and checks
	 * read access per delivered message. */
	CU_ASSERT_EQUAL_FATAL(sub(a, "#"), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/state/s/s1", "state-doc", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/m/sec-a/s/s1/cmd", "cmd-for-a", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/m/sec-b/s/s1/cmd", "cmd-for-b", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/alert/s/s1", "alert", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/m/sec-a/s/s1/hb", "own-hb-echo", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/state/p/proj-1", "project-rollup", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/reply/sec-a/1", "reply", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/state/pause", "pause", false), HW_OK);
	n = collect_until(a, ROOT "/state/pause", got, 16);
	{
		const char *const want[] = {ROOT "/m/sec-a/s/s1/cmd cmd-for-a", ROOT "/state/p/proj-1 project-rollup",
				ROOT "/reply/sec-a/1 reply", ROOT "/state/pause pause", NULL};

		expect_seen(got, n, want, "agent sec-a");
	}
	hw_mqtt_free(a);
	hw_mqtt_free(coll);
}

static void TEST_viewer_reads_state_and_queries_but_cannot_command(void)
{
	hw_mqtt_t *v = login(U_VIEWER), *coll = login(U_COLLECTOR);
	char got[16][256];
	hw_error_t err;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	CU_ASSERT_EQUAL_FATAL(sub(coll, ROOT "/#"), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(v, "#"), HW_OK);

	CU_ASSERT_EQUAL(pubw(v, ROOT "/cmd/fail", "{\"session\":\"s1\"}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(v, ROOT "/cmd/pause", "{}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(v, ROOT "/state/s/s1", "forged", true), HW_ERR_FORBIDDEN);
	/* The deny line: the agents' pattern would otherwise give it m/sec-viewer/#. */
	CU_ASSERT_EQUAL(pubw(v, ROOT "/m/sec-viewer/s/s1/birth", "{}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(v, ROOT "/m/sec-a/s/s1/cmd", "{\"v\":1,\"cmd\":\"stop\"}", false), HW_ERR_FORBIDDEN);
	/* A query with an MQTT 5 response topic under its own reply prefix. */
	CU_ASSERT_EQUAL(hw_mqtt_publish_req(v, ROOT "/q/sessions", "{}", 2, 1, ROOT "/reply/sec-viewer/r1", "c1", 2, &err),
			HW_OK);
	n = collect_until(coll, ROOT "/q/sessions", got, 16);
	{
		const char *const want[] = {ROOT "/q/sessions {}", NULL};

		expect_seen(got, n, want, "the collector");
	}

	/* What it reads: state, alerts, collector presence and its own replies; not agents'
	 * traffic, commands or another user's replies. */
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/m/sec-a/s/s1/cmd", "agent-cmd", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/state/s/s1", "state-doc", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/cmd/fail", "cmd", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/alert/s/s1", "alert", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/reply/sec-operator/r1", "not-yours", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/q/sessions", "someone-elses-query", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/collector/c1", "online", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/reply/sec-viewer/r1", "yours", false), HW_OK);
	n = collect_until(v, ROOT "/reply/sec-viewer/r1", got, 16);
	{
		const char *const want[] = {ROOT "/state/s/s1 state-doc", ROOT "/alert/s/s1 alert", ROOT "/collector/c1 online",
				ROOT "/reply/sec-viewer/r1 yours", NULL};

		expect_seen(got, n, want, "the viewer");
	}
	hw_mqtt_free(v);
	hw_mqtt_free(coll);
}

static void TEST_operator_can_command(void)
{
	hw_mqtt_t *op = login(U_OPERATOR), *coll = login(U_COLLECTOR);
	char got[16][256];
	hw_error_t err;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(op);
	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	CU_ASSERT_EQUAL_FATAL(sub(coll, ROOT "/#"), HW_OK);
	CU_ASSERT_EQUAL_FATAL(sub(op, ROOT "/reply/#"), HW_OK);

	CU_ASSERT_EQUAL(pubw(op, ROOT "/cmd/fail", "{\"session\":\"s1\"}", false), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_publish_req(op, ROOT "/cmd/pause", "{}", 2, 1, ROOT "/reply/sec-operator/r2", "c2", 2, &err),
			HW_OK);
	CU_ASSERT_EQUAL(pubw(op, ROOT "/q/stats", "{}", false), HW_OK);
	/* Still no agent's subtree, and no collector state. */
	CU_ASSERT_EQUAL(pubw(op, ROOT "/m/sec-a/s/s1/cmd", "{\"v\":1,\"cmd\":\"stop\"}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(op, ROOT "/m/sec-operator/s/s1/hb", "{}", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(op, ROOT "/state/pause", "forged", true), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(op, ROOT "/q/marker", "marker", false), HW_OK);
	n = collect_until(coll, ROOT "/q/marker", got, 16);
	{
		const char *const want[] = {ROOT "/cmd/fail {\"session\":\"s1\"}", ROOT "/cmd/pause {}", ROOT "/q/stats {}",
				ROOT "/q/marker marker", NULL};

		expect_seen(got, n, want, "the collector");
	}
	/* Its replies reach it; a viewer's do not. */
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/reply/sec-viewer/r2", "not-yours", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/reply/sec-operator/r2", "yours", false), HW_OK);
	n = collect_until(op, ROOT "/reply/sec-operator/r2", got, 16);
	{
		const char *const want[] = {ROOT "/reply/sec-operator/r2 yours", NULL};

		expect_seen(got, n, want, "the operator");
	}
	hw_mqtt_free(op);
	hw_mqtt_free(coll);
}

static void TEST_collector_may_do_everything_under_the_root_only(void)
{
	hw_mqtt_t *coll = login(U_COLLECTOR);

	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/m/sec-b/s/s1/cmd", "{}", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, ROOT "/state/summary", "{}", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(coll, "elsewhere/x", "x", false), HW_ERR_FORBIDDEN);
	CU_ASSERT_EQUAL(pubw(coll, "$SYS/broker/x", "x", false), HW_ERR_FORBIDDEN);
	hw_mqtt_free(coll);
}

static void TEST_payload_over_64k_is_refused_and_connection_stays(void)
{
	hw_mqtt_t *a = login(U_A);
	char *big = malloc(65537);
	hw_error_t err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', 65537);
	CU_ASSERT_NOT_EQUAL(hw_mqtt_publish_wait(a, ROOT "/m/sec-a/s/s1/ev", big, 65537, 1, false, WAIT_MS, &err), HW_OK);
	CU_ASSERT_EQUAL(hw_mqtt_publish_wait(a, ROOT "/m/sec-a/s/s1/ev", big, 65536, 1, false, WAIT_MS, &err), HW_OK);
	CU_ASSERT_TRUE(hw_mqtt_connected(a));
	free(big);
	hw_mqtt_free(a);
}

/* Polls new connections until one with user/pw gets `want` (HW_OK or HW_ERR_FORBIDDEN). */
static bool wait_login(const char *user, const char *pw, int want, int timeout_ms)
{
	hw_error_t err;

	return HWT_WAIT_UNTIL(try_login(broker.url, user, pw, NULL, &err) == want, timeout_ms);
}

static void TEST_rotated_key_works_and_the_old_one_stops_after_reload(void)
{
	char pid[16], keyfile[320], log[320], newkey[128], oldkey[128];
	hw_mqtt_t *live = login(U_A);
	hw_error_t err;
	int64_t t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(live);
	snprintf(pid, sizeof(pid), "%d", (int)broker.pid);
	snprintf(keyfile, sizeof(keyfile), "%s/sec-a.rotated.key", tmp);
	snprintf(oldkey, sizeof(oldkey), "%s", keys[U_A]);
	t0 = hwt_now_ms();
	CU_ASSERT_EQUAL_FATAL(hw_keys(log, sizeof(log), false, "--pid", pid, "--key-file", keyfile, "rotate", "sec-a",
					      (const char *)NULL),
			0);
	CU_ASSERT_TRUE(file_has(log, "reloaded"));
	CU_ASSERT_TRUE_FATAL(read_key(keyfile, newkey, sizeof(newkey)));
	CU_ASSERT_STRING_NOT_EQUAL(newkey, oldkey);
	CU_ASSERT_TRUE(wait_login("sec-a", newkey, HW_OK, WAIT_MS));
	printf("\n  rotate + SIGHUP -> new key accepted in %lld ms\n", (long long)(hwt_now_ms() - t0));
	snprintf(keys[U_A], sizeof(keys[U_A]), "%s", newkey);
	CU_ASSERT_EQUAL(try_login(broker.url, "sec-a", oldkey, NULL, &err), HW_ERR_FORBIDDEN);
	/* The reload also drops the connection that logged in with the old key. */
	CU_ASSERT_TRUE(wait_lost(live, WAIT_MS));
	hw_mqtt_free(live);
	/* Other users are untouched. */
	CU_ASSERT_EQUAL(try_login(broker.url, "sec-b", keys[U_B], NULL, &err), HW_OK);
}

static void TEST_removed_key_is_refused(void)
{
	char pid[16], keyfile[320], log[320], key[128];
	hw_mqtt_t *live;
	hw_error_t err;

	snprintf(pid, sizeof(pid), "%d", (int)broker.pid);
	snprintf(keyfile, sizeof(keyfile), "%s/sec-tmp.key", tmp);
	/* A new agent works after add + reload, without a broker restart. */
	CU_ASSERT_EQUAL_FATAL(hw_keys(log, sizeof(log), false, "--pid", pid, "--key-file", keyfile, "add", "sec-tmp",
					      (const char *)NULL),
			0);
	CU_ASSERT_TRUE_FATAL(read_key(keyfile, key, sizeof(key)));
	CU_ASSERT_TRUE_FATAL(wait_login("sec-tmp", key, HW_OK, WAIT_MS));
	live = client_new(broker.url, "sec-tmp", key, NULL, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(live);
	CU_ASSERT_EQUAL_FATAL(hw_mqtt_connect(live, NULL, &err), HW_OK);
	CU_ASSERT_EQUAL(pubw(live, ROOT "/m/sec-tmp/s/s1/hb", "x", false), HW_OK);

	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), false, "--pid", pid, "remove", "sec-tmp", (const char *)NULL), 0);
	CU_ASSERT_TRUE(wait_login("sec-tmp", key, HW_ERR_FORBIDDEN, WAIT_MS));
	CU_ASSERT_TRUE(wait_lost(live, WAIT_MS));
	hw_mqtt_free(live);
	CU_ASSERT_FALSE(file_has(passwd_path, "sec-tmp:"));

	/* A removed viewer loses its ACL block as well. */
	snprintf(keyfile, sizeof(keyfile), "%s/sec-v2.key", tmp);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), false, "--no-reload", "--key-file", keyfile, "add", "sec-v2", "--role",
					"viewer", (const char *)NULL),
			0);
	CU_ASSERT_TRUE(file_has(acl_path, "\nuser sec-v2\n"));
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), false, "--no-reload", "remove", "sec-v2", (const char *)NULL), 0);
	CU_ASSERT_FALSE(file_has(acl_path, "sec-v2"));
	CU_ASSERT_TRUE(file_has(acl_path, "user sec-viewer\n"));
	CU_ASSERT_TRUE(file_has(acl_path, "user sec-collector\n"));
}

static void TEST_hw_keys_lists_roles_and_refuses_bad_requests(void)
{
	char log[320], self[16];

	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), false, "list", (const char *)NULL), 0);
	CU_ASSERT_TRUE(file_has(log, "sec-a\tagent\n"));
	CU_ASSERT_TRUE(file_has(log, "sec-viewer\tviewer\n"));
	CU_ASSERT_TRUE(file_has(log, "sec-operator\toperator\n"));
	CU_ASSERT_TRUE(file_has(log, "sec-collector\tcollector\n"));
	CU_ASSERT_FALSE(file_has(log, "$7$"));

	/* ':' cannot be in a password-file user name; '/', '+', '#' would break %u. */
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "a:b", (const char *)NULL), 1);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "a/b", (const char *)NULL), 1);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "a+", (const char *)NULL), 1);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "", (const char *)NULL), 1);
	/* Existing user, unknown user, unknown role, unknown command. */
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "sec-b", (const char *)NULL), 1);
	CU_ASSERT_TRUE(file_has(log, "use rotate"));
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "rotate", "sec-nobody", (const char *)NULL), 1);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--no-reload", "add", "x", "--role", "root", (const char *)NULL), 2);
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "frobnicate", (const char *)NULL), 2);
	/* A pid that is not mosquitto is never signalled: the change is made, the reload refused. */
	snprintf(self, sizeof(self), "%d", (int)getpid());
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), true, "--pid", self, "add", "sec-c", (const char *)NULL), 3);
	CU_ASSERT_TRUE(file_has(log, "is not mosquitto"));
	CU_ASSERT_EQUAL(hw_keys(log, sizeof(log), false, "--no-reload", "remove", "sec-c", (const char *)NULL), 0);
}

static void TEST_tls_verifies_the_server_and_refuses_a_wrong_ca(void)
{
	char ca[400], other_ca[400], plain_to_tls[64];
	hw_mqtt_t *m;
	hw_error_t err;
	int rc;

	snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
	snprintf(other_ca, sizeof(other_ca), "%s/ca.crt", certs_other);

	/* The right CA: the agent connects and publishes over TLS with its key. */
	m = client_new(tls_url, user_names[U_A], keys[U_A], ca, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	rc = hw_mqtt_connect(m, NULL, &err);
	if(rc != HW_OK) fprintf(stderr, "TLS connect: %s\n", err.msg);
	CU_ASSERT_EQUAL(rc, HW_OK);
	CU_ASSERT_EQUAL(pubw(m, ROOT "/m/sec-a/s/tls/hb", "over-tls", false), HW_OK);
	CU_ASSERT_EQUAL(pubw(m, ROOT "/m/sec-b/s/tls/hb", "over-tls", false), HW_ERR_FORBIDDEN);
	hw_mqtt_free(m);

	/* Another CA (made by the same script): the handshake fails, no credentials are sent. */
	rc = try_login(tls_url, user_names[U_A], keys[U_A], other_ca, &err);
	printf("\n  wrong CA: %s: %s\n", hw_strerror(rc), err.msg);
	CU_ASSERT_NOT_EQUAL(rc, HW_OK);
	CU_ASSERT_NOT_EQUAL(rc, HW_ERR_FORBIDDEN);
	/* No cafile: the system's CAs do not know ours either. */
	CU_ASSERT_NOT_EQUAL(try_login(tls_url, user_names[U_A], keys[U_A], NULL, &err), HW_OK);
	/* Plain MQTT on the TLS port is not served. */
	snprintf(plain_to_tls, sizeof(plain_to_tls), "mqtt://127.0.0.1:%d", broker.ports[1]);
	CU_ASSERT_NOT_EQUAL(try_login(plain_to_tls, user_names[U_A], keys[U_A], NULL, &err), HW_OK);
	/* Authentication still applies behind TLS. */
	CU_ASSERT_EQUAL(try_login(tls_url, user_names[U_A], "wrong-key", ca, &err), HW_ERR_FORBIDDEN);
	CU_ASSERT_TRUE(hwt_wait_port(broker.ports[1], 0) == 0);
}

/* The real heartwire-agent with an mqtts:// broker: the plain build hands the session over to
 * heartwire-agent-tls (execv, same arguments), which connects with the CA and the machine's key
 * file, publishes online, birth and the end report, and exits with the child's status. */
static void TEST_agent_over_tls_hands_over_to_the_tls_build(void)
{
	char agent[512], ca[400], keyfile[320], log[320], marker[128];
	char got[16][256];
	hw_mqtt_t *coll = login(U_COLLECTOR);
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(coll);
	snprintf(agent, sizeof(agent), "%s/agent/heartwire-agent", hwt_build_dir());
	snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
	snprintf(keyfile, sizeof(keyfile), "%s/%s.key", tmp, user_names[U_A]);
	CU_ASSERT_EQUAL_FATAL(sub(coll, ROOT "/m/sec-a/s/tls-agent/#"), HW_OK);
	{
		const char *const argv[] = {agent, "run", "--broker", tls_url, "--cafile", ca, "--machine", "sec-a", "--username",
				"sec-a", "--password-file", keyfile, "--session", "tls-agent", "--interval-ms", "200", "--", "sh",
				"-c", "sleep 0.6; exit 7", NULL};
		CU_ASSERT_EQUAL(run(argv, log, sizeof(log), true), 7);
	}
	CU_ASSERT_FALSE(file_has(log, "heartwire-agent-tls:"));
	/* what the agent published over TLS reached the collector's plain listener */
	snprintf(marker, sizeof(marker), "%s", ROOT "/m/sec-a/s/tls-agent/birth");
	n = collect_until(coll, marker, got, 16);
	CU_ASSERT(n > 0);
	if(n <= 0) hwt_print_tail(log, 20);
	hw_mqtt_free(coll);
}

static void TEST_hw_certs_is_idempotent_and_reissues_on_new_hosts(void)
{
	char prog[512], dir[320], p[400], a[4096], b[4096], ca1[4096], log[320];
	int rc;

	script(prog, sizeof(prog), "hw-certs");
	snprintf(dir, sizeof(dir), "%s/certs-idem", tmp);
	{
		const char *argv[] = {prog, "--dir", dir, NULL};

		CU_ASSERT_EQUAL_FATAL(run(argv, NULL, 0, false), 0);
		snprintf(p, sizeof(p), "%s/ca.crt", dir);
		slurp(p, ca1, sizeof(ca1));
		snprintf(p, sizeof(p), "%s/server.crt", dir);
		slurp(p, a, sizeof(a));
		CU_ASSERT_TRUE(strstr(ca1, "BEGIN CERTIFICATE") != NULL);
		CU_ASSERT_TRUE(strstr(a, "BEGIN CERTIFICATE") != NULL);
		CU_ASSERT_EQUAL(run(argv, log, sizeof(log), false), 0);
		CU_ASSERT_TRUE(file_has(log, "kept the server certificate"));
		slurp(p, b, sizeof(b));
		CU_ASSERT_STRING_EQUAL(a, b);
	}
	{
		const char *argv[] = {prog, "--dir", dir, "--host", "broker.example", "--client", "sec-a", NULL};

		CU_ASSERT_EQUAL(run(argv, log, sizeof(log), false), 0);
		CU_ASSERT_TRUE(file_has(log, "kept the CA"));
		CU_ASSERT_TRUE(file_has(log, "made the server certificate"));
		slurp(p, b, sizeof(b));
		CU_ASSERT_STRING_NOT_EQUAL(a, b);
		snprintf(p, sizeof(p), "%s/ca.crt", dir);
		slurp(p, b, sizeof(b));
		CU_ASSERT_STRING_EQUAL(ca1, b);
	}
	/* openssl agrees: the new server and client certificates chain to the same CA, and the
	 * server's names are there. */
	{
		char cafile[400], srv[400], cli[400];
		const char *verify[] = {"openssl", "verify", "-CAfile", cafile, srv, cli, NULL};
		const char *text[] = {"openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", srv, NULL};

		snprintf(cafile, sizeof(cafile), "%s/ca.crt", dir);
		snprintf(srv, sizeof(srv), "%s/server.crt", dir);
		snprintf(cli, sizeof(cli), "%s/clients/sec-a.crt", dir);
		CU_ASSERT_EQUAL(run(verify, log, sizeof(log), false), 0);
		rc = run(text, log, sizeof(log), false);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_TRUE(file_has(log, "DNS:localhost"));
		CU_ASSERT_TRUE(file_has(log, "IP Address:127.0.0.1"));
		CU_ASSERT_TRUE(file_has(log, "DNS:broker.example"));
		/* The other suite CA does not vouch for it. */
		snprintf(cafile, sizeof(cafile), "%s/ca.crt", certs_other);
		CU_ASSERT_NOT_EQUAL(run(verify, log, sizeof(log), true), 0);
	}
	/* Keys are private. */
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	{
		const char *stat_argv[] = {"stat", "-c", "%a", p, NULL};

		CU_ASSERT_EQUAL(run(stat_argv, log, sizeof(log), false), 0);
		CU_ASSERT_TRUE(file_has(log, "600"));
	}
}

static const char *certs_ca_path(void)
{
	static char p[400];

	snprintf(p, sizeof(p), "%s/ca.crt", certs);
	return p;
}

int main(void)
{
	/* clang-format off */
	static const hwtest_case_t cases[] = {
		HWTEST(TEST_shipped_config_loads_with_its_three_listeners),
		HWTEST(TEST_anonymous_is_refused_on_every_listener),
		HWTEST(TEST_wrong_key_is_refused),
		HWTEST(TEST_agent_cannot_publish_under_another_machine),
		HWTEST(TEST_agent_will_outside_its_subtree_goes_nowhere),
		HWTEST(TEST_agent_reads_only_its_commands_and_the_pause_state),
		HWTEST(TEST_viewer_reads_state_and_queries_but_cannot_command),
		HWTEST(TEST_operator_can_command),
		HWTEST(TEST_collector_may_do_everything_under_the_root_only),
		HWTEST(TEST_payload_over_64k_is_refused_and_connection_stays),
		HWTEST(TEST_tls_verifies_the_server_and_refuses_a_wrong_ca),
		HWTEST(TEST_agent_over_tls_hands_over_to_the_tls_build),
		HWTEST(TEST_hw_certs_is_idempotent_and_reissues_on_new_hosts),
		HWTEST(TEST_hw_keys_lists_roles_and_refuses_bad_requests),
		HWTEST(TEST_rotated_key_works_and_the_old_one_stops_after_reload),
		HWTEST(TEST_removed_key_is_refused),
		HWTEST_END,
	};
	/* clang-format on */

	if(hwtest_init() != 0 || hwtest_suite("security", suite_init, suite_cleanup, cases) != 0) return 1;
	return hwtest_run();
}
