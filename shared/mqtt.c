/* mqtt.c: the MQTT 5 client wrapper over Paho MQTTAsync: connect with a will, publish, subscribe, a queue of received messages.
 */
#include "heartwire/mqtt.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

/*
 * How it works. Paho runs a send thread and a receive thread shared by every client in the
 * process; our callbacks run on them while Paho holds its own global mutex. So the
 * callbacks only copy, lock our mutex for a moment, signal and return. Two rules keep that
 * free of deadlocks: we never call into Paho while holding m->mu, and no callback waits.
 *
 * A blocking call (connect, subscribe, publish_wait, disconnect) registers an op, passes it
 * to Paho as the callback context and waits on m->cond until the op is done or its deadline
 * passes. A waiter that gives up marks the op abandoned and the callback frees it later;
 * ops Paho never answers are freed by hw_mqtt_free after MQTTAsync_destroy, when no
 * callback can run any more.
 */

#define MQTT_CLIENT_ID_MAX 256
#define MQTT_PAYLOAD_MAX 268435455u /* the MQTT maximum remaining length */
#define PAHO_TICK_MS 3500           /* Paho checks connect/disconnect timers every 3 s */

typedef struct mqtt_op {
	struct mqtt_op *prev, *next; /* in m->ops while registered */
	hw_mqtt_t *m;
	bool done;      /* a Paho callback answered */
	bool abandoned; /* the waiter gave up: the callback frees the op */
	bool ok;        /* onSuccess5 (true) or onFailure5 (false) */
	bool session_present;
	int reason;    /* MQTT 5 reason code from the broker (0 when none) */
	int code;      /* Paho's return code on failure (0 when none) */
	char text[96]; /* Paho's failure message, "" when none */
} mqtt_op_t;

/* One queued message: the public part first, so hw_mqtt_msg_free(msg) frees the entry; the
 * strings and bytes live in the same allocation, after the struct. */
typedef struct mqtt_entry {
	hw_mqtt_msg_t msg;
	struct mqtt_entry *next;
} mqtt_entry_t;

struct hw_mqtt {
	MQTTAsync cli;
	bool ssl;
	char *url; /* Paho's form: tcp://host:port or ssl://host:port */
	char *client_id;
	char *username;
	char *password;
	char *cafile;
	int keepalive_s;
	bool clean_start;
	uint32_t session_expiry_s;
	int max_inflight;
	int connect_timeout_ms;

	int efd;             /* eventfd: readable while queued > 0 || state_pending */
	pthread_mutex_t mu;  /* guards everything below */
	pthread_cond_t cond; /* broadcast on any change: queue, state, op completion */
	mqtt_entry_t *head, *tail;
	size_t queued;
	bool fd_ready;      /* the eventfd holds a count */
	bool state_pending; /* connection state changed and hw_mqtt_next has not returned NULL since */
	uint64_t state_gen; /* bumped on every connection state change */
	bool connected;
	bool session_present;
	uint64_t losses;
	hw_error_t last_err; /* why the last connection ended */
	int disc_reason;     /* reason code of a DISCONNECT sent by the broker, -1 when none */
	mqtt_op_t *conn_op;  /* the connect attempt Paho has not answered yet, or NULL */
	mqtt_op_t *ops;      /* every registered op */
};

/* ---- time ---------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits on m->cond until deadline_ms (monotonic; < 0 forever). Returns false once the
 * deadline has passed. Called with m->mu held. */
static bool cond_wait_until(hw_mqtt_t *m, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t now;

	if(deadline_ms < 0){
		pthread_cond_wait(&m->cond, &m->mu);
		return true;
	}
	now = mono_ms();
	if(now >= deadline_ms) return false;
	ts.tv_sec = (time_t)(deadline_ms / 1000);
	ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
	pthread_cond_timedwait(&m->cond, &m->mu, &ts);
	return true;
}

/* ---- notification fd ------------------------------------------------------------------- */

/* Makes the eventfd readable exactly while there is something for the owner to look at.
 * Called with m->mu held; eventfd reads and writes never block (EFD_NONBLOCK). */
static void fd_sync(hw_mqtt_t *m)
{
	bool want = m->queued > 0 || m->state_pending;
	uint64_t v = 1;
	ssize_t n;

	if(want && !m->fd_ready){
		n = write(m->efd, &v, sizeof(v));
		m->fd_ready = (n == (ssize_t)sizeof(v));
	}else if(!want && m->fd_ready){
		n = read(m->efd, &v, sizeof(v));
		(void)n; /* EAGAIN only means it was already clear */
		m->fd_ready = false;
	}
}

/* Records a connection state change. Called with m->mu held. */
static void state_changed(hw_mqtt_t *m)
{
	m->state_gen++;
	m->state_pending = true;
	fd_sync(m);
	pthread_cond_broadcast(&m->cond);
}

/* ---- ops ------------------------------------------------------------------------------- */

static mqtt_op_t *op_new(hw_mqtt_t *m)
{
	mqtt_op_t *op = calloc(1, sizeof(*op));

	if(!op) return NULL;
	op->m = m;
	pthread_mutex_lock(&m->mu);
	op->next = m->ops;
	if(m->ops) m->ops->prev = op;
	m->ops = op;
	pthread_mutex_unlock(&m->mu);
	return op;
}

/* Unlinks and frees op. Called with m->mu held. */
static void op_unlink_free(hw_mqtt_t *m, mqtt_op_t *op)
{
	if(op->prev) op->prev->next = op->next;
	else m->ops = op->next;
	if(op->next) op->next->prev = op->prev;
	if(m->conn_op == op) m->conn_op = NULL;
	free(op);
}

/* Frees an op that Paho never accepted (the call failed synchronously, so no callback). */
static void op_drop(hw_mqtt_t *m, mqtt_op_t *op)
{
	pthread_mutex_lock(&m->mu);
	op_unlink_free(m, op);
	pthread_mutex_unlock(&m->mu);
}

/* Waits until op is answered or deadline_ms passes. On an answer copies it into *res, frees
 * the op and returns true; on timeout marks the op abandoned (its callback frees it) and
 * returns false. */
static bool op_wait(hw_mqtt_t *m, mqtt_op_t *op, int64_t deadline_ms, mqtt_op_t *res)
{
	bool answered;

	pthread_mutex_lock(&m->mu);
	while(!op->done && cond_wait_until(m, deadline_ms)){
	}
	answered = op->done;
	if(answered){
		*res = *op;
		op_unlink_free(m, op);
	}else{
		op->abandoned = true;
	}
	pthread_mutex_unlock(&m->mu);
	return answered;
}

/* Completes op from a Paho callback. */
static void op_finish(mqtt_op_t *op, bool ok, int reason, int code, const char *text, bool session_present)
{
	hw_mqtt_t *m = op->m;

	pthread_mutex_lock(&m->mu);
	if(op->abandoned){
		op_unlink_free(m, op);
		pthread_cond_broadcast(&m->cond); /* a connect may wait for this attempt to end */
		pthread_mutex_unlock(&m->mu);
		return;
	}
	op->done = true;
	op->ok = ok;
	op->reason = reason;
	op->code = code;
	op->session_present = session_present;
	if(text) snprintf(op->text, sizeof(op->text), "%s", text);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
}

static void on_op_success(void *context, MQTTAsync_successData5 *resp)
{
	op_finish(context, true, resp ? (int)resp->reasonCode : 0, 0, NULL, false);
}

static void on_op_failure(void *context, MQTTAsync_failureData5 *resp)
{
	if(!resp){
		op_finish(context, false, 0, MQTTASYNC_FAILURE, NULL, false);
		return;
	}
	op_finish(context, false, (int)resp->reasonCode, resp->code, resp->message, false);
}

/* ---- error translation ----------------------------------------------------------------- */

static const char *reason_text(int reason)
{
	const char *s = MQTTReasonCode_toString((enum MQTTReasonCodes)reason);

	return s ? s : "unknown reason";
}

/* Turns a refused CONNECT (an MQTT 5 CONNACK reason code) into a heartwire error. */
static int connack_error(hw_mqtt_t *m, int reason, hw_error_t *err)
{
	switch(reason){
	case MQTTREASONCODE_NOT_AUTHORIZED:
		return hw_error_set(err, HW_ERR_FORBIDDEN, "broker %s refused the connection: not authorized (0x87)", m->url);
	case MQTTREASONCODE_BAD_USER_NAME_OR_PASSWORD:
		return hw_error_set(err, HW_ERR_FORBIDDEN, "broker %s refused the connection: bad user name or password (0x86)",
				m->url);
	case MQTTREASONCODE_BANNED:
		return hw_error_set(err, HW_ERR_FORBIDDEN, "broker %s refused the connection: banned (0x8a)", m->url);
	case MQTTREASONCODE_CLIENT_IDENTIFIER_NOT_VALID:
		return hw_error_set(err, HW_ERR_MQTT, "broker %s refused the connection: client identifier '%s' not valid (0x85)",
				m->url, m->client_id);
	default:
		return hw_error_set(err, HW_ERR_MQTT, "broker %s refused the connection: %s (0x%02x)", m->url,
				reason_text(reason), (unsigned)reason);
	}
}

/* Turns a failed operation (publish, subscribe, unsubscribe) into a heartwire error. */
static int op_error(const mqtt_op_t *res, const char *what, const char *topic, hw_error_t *err)
{
	if(res->reason == MQTTREASONCODE_NOT_AUTHORIZED)
		return hw_error_set(err, HW_ERR_FORBIDDEN, "%s '%s': not authorized (0x87)", what, topic);
	if(res->reason >= 0x80)
		return hw_error_set(err, HW_ERR_MQTT, "%s '%s' refused by the broker: %s (0x%02x)", what, topic,
				reason_text(res->reason), (unsigned)res->reason);
	if(res->code == MQTTASYNC_OPERATION_INCOMPLETE || res->code == MQTTASYNC_DISCONNECTED)
		return hw_error_set(err, HW_ERR_MQTT, "%s '%s': the connection ended before the broker answered", what, topic);
	return hw_error_set(err, HW_ERR_MQTT, "%s '%s' failed: %s", what, topic,
			res->text[0] ? res->text : MQTTAsync_strerror(res->code));
}

/* Turns a synchronous Paho refusal into a heartwire error. */
static int paho_error(int rc, const char *what, const char *topic, hw_error_t *err)
{
	switch(rc){
	case MQTTASYNC_DISCONNECTED:
		return hw_error_set(err, HW_ERR_AGAIN, "%s '%s': not connected", what, topic);
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
	case MQTTASYNC_MAX_MESSAGES_INFLIGHT:
	case MQTTASYNC_NO_MORE_MSGIDS:
		return hw_error_set(err, HW_ERR_AGAIN, "%s '%s': too many messages waiting to be sent", what, topic);
	case MQTTASYNC_BAD_UTF8_STRING:
	case MQTTASYNC_BAD_QOS:
	case MQTTASYNC_NULL_PARAMETER:
		return hw_error_set(err, HW_ERR_INVAL, "%s '%s': %s", what, topic, MQTTAsync_strerror(rc));
	default:
		return hw_error_set(err, HW_ERR_MQTT, "%s '%s': %s", what, topic, MQTTAsync_strerror(rc));
	}
}

/* ---- Paho's client callbacks ------------------------------------------------------------ */

/* Marks the connection lost (once). Called with m->mu held. */
static void mark_lost(hw_mqtt_t *m, const char *cause)
{
	if(!m->connected) return;
	m->connected = false;
	m->losses++;
	if(m->disc_reason >= 0){
		hw_error_set(&m->last_err, HW_ERR_MQTT, "the broker closed the connection: %s (0x%02x)",
				reason_text(m->disc_reason), (unsigned)m->disc_reason);
	}else{
		hw_error_set(&m->last_err, HW_ERR_MQTT, "connection to %s lost%s%s", m->url, cause ? ": " : "",
				cause ? cause : "");
	}
	state_changed(m);
}

static void on_connection_lost(void *context, char *cause)
{
	hw_mqtt_t *m = context;

	pthread_mutex_lock(&m->mu);
	mark_lost(m, cause);
	pthread_mutex_unlock(&m->mu);
	/* cause belongs to Paho in 1.3.12 (a literal or NULL); nothing to free */
}

/* The broker sent DISCONNECT (session taken over, server shutting down...). Paho marks the
 * client disconnected before calling us and does not call connectionLost in that case. */
static void on_disconnected(void *context, MQTTProperties *props, enum MQTTReasonCodes reason)
{
	hw_mqtt_t *m = context;

	(void)props;
	pthread_mutex_lock(&m->mu);
	m->disc_reason = (int)reason;
	mark_lost(m, NULL);
	pthread_mutex_unlock(&m->mu);
}

/* Copies a Paho message into one allocation; NULL when out of memory. */
static mqtt_entry_t *entry_new(const char *topic, size_t topic_len, MQTTAsync_message *pm)
{
	MQTTProperty *rt = MQTTProperties_getProperty(&pm->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC);
	MQTTProperty *cd = MQTTProperties_getProperty(&pm->properties, MQTTPROPERTY_CODE_CORRELATION_DATA);
	size_t plen = pm->payloadlen > 0 ? (size_t)pm->payloadlen : 0;
	size_t rt_len = (rt && rt->value.data.len > 0) ? (size_t)rt->value.data.len : 0;
	size_t cd_len = (cd && cd->value.data.len > 0) ? (size_t)cd->value.data.len : 0;
	size_t total = sizeof(mqtt_entry_t) + topic_len + 1 + plen + 1 + (rt ? rt_len + 1 : 0) + cd_len;
	mqtt_entry_t *e = malloc(total);
	char *p;

	if(!e) return NULL;
	memset(e, 0, sizeof(*e));
	p = (char *)(e + 1);
	e->msg.topic = p;
	memcpy(p, topic, topic_len);
	p[topic_len] = '\0';
	p += topic_len + 1;
	e->msg.payload = p;
	if(plen) memcpy(p, pm->payload, plen);
	p[plen] = '\0';
	e->msg.len = plen;
	p += plen + 1;
	if(rt){
		e->msg.response_topic = p;
		if(rt_len) memcpy(p, rt->value.data.data, rt_len);
		p[rt_len] = '\0';
		p += rt_len + 1;
	}
	if(cd){
		e->msg.corr = p;
		if(cd_len) memcpy(p, cd->value.data.data, cd_len);
		e->msg.corr_len = cd_len;
	}
	e->msg.qos = pm->qos;
	e->msg.retained = pm->retained != 0;
	return e;
}

/* Paho's messageArrived: copy, queue, signal, free Paho's message, return 1. On out of
 * memory we return 0 without freeing, which makes Paho keep the message and offer it again
 * on its next cycle: better than dropping a death notice. */
static int on_message(void *context, char *topic, int topic_len, MQTTAsync_message *pm)
{
	hw_mqtt_t *m = context;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	mqtt_entry_t *e = entry_new(topic, tlen, pm);

	if(!e) return 0;
	MQTTAsync_freeMessage(&pm);
	MQTTAsync_free(topic);

	pthread_mutex_lock(&m->mu);
	if(m->tail) m->tail->next = e;
	else m->head = e;
	m->tail = e;
	m->queued++;
	fd_sync(m);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->mu);
	return 1;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static char *dup_opt(const char *s, bool *oom)
{
	char *d;

	if(!s) return NULL;
	d = strdup(s);
	if(!d) *oom = true;
	return d;
}

/* Checks the options and translates the URL to Paho's scheme. */
static int check_opts(const hw_mqtt_opts_t *o, const char **host, bool *ssl, hw_error_t *err)
{
	size_t n;

	if(!o) return hw_error_set(err, HW_ERR_INVAL, "MQTT options are missing");
	if(!o->url || !o->url[0]) return hw_error_set(err, HW_ERR_INVAL, "broker URL is missing");
	if(strncmp(o->url, "mqtt://", 7) == 0){
		*host = o->url + 7;
		*ssl = false;
	}else if(strncmp(o->url, "tcp://", 6) == 0){
		*host = o->url + 6;
		*ssl = false;
	}else if(strncmp(o->url, "mqtts://", 8) == 0){
		*host = o->url + 8;
		*ssl = true;
	}else if(strncmp(o->url, "ssl://", 6) == 0){
		*host = o->url + 6;
		*ssl = true;
	}else{
		return hw_error_set(err, HW_ERR_INVAL, "broker URL '%s' must start with mqtt:// or mqtts://", o->url);
	}
	if(!**host || **host == ':' || strchr(*host, '/'))
		return hw_error_set(err, HW_ERR_INVAL, "broker URL '%s' must be mqtt://host:port or mqtts://host:port", o->url);
	if(!o->client_id) return hw_error_set(err, HW_ERR_INVAL, "MQTT client id is missing");
	n = strlen(o->client_id);
	if(n == 0 || n > MQTT_CLIENT_ID_MAX)
		return hw_error_set(err, HW_ERR_INVAL, "MQTT client id must be 1-%d bytes", MQTT_CLIENT_ID_MAX);
	if(o->keepalive_s < 0 || o->keepalive_s > 65535)
		return hw_error_set(err, HW_ERR_INVAL, "keepalive must be 0-65535 s, not %d", o->keepalive_s);
	if(o->max_inflight < 1 || o->max_inflight > 65535)
		return hw_error_set(err, HW_ERR_INVAL, "max_inflight must be 1-65535, not %d", o->max_inflight);
	if(o->max_buffered < 1)
		return hw_error_set(err, HW_ERR_INVAL, "max_buffered must be at least 1, not %d", o->max_buffered);
	if(o->connect_timeout_ms < 1)
		return hw_error_set(err, HW_ERR_INVAL, "connect timeout must be at least 1 ms, not %d", o->connect_timeout_ms);
	if(o->password && !o->username) return hw_error_set(err, HW_ERR_INVAL, "an MQTT password needs a user name");
	return HW_OK;
}

int hw_mqtt_new(hw_mqtt_t **out, const hw_mqtt_opts_t *opts, hw_error_t *err)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	pthread_condattr_t ca;
	const char *host = NULL;
	bool ssl = false, oom = false, mu_ok = false, cond_ok = false;
	hw_mqtt_t *m = NULL;
	size_t ulen;
	int rc;

	if(!out) return hw_error_set(err, HW_ERR_INVAL, "hw_mqtt_new: out is NULL");
	*out = NULL;
	rc = check_opts(opts, &host, &ssl, err);
	if(rc) return rc;

	m = calloc(1, sizeof(*m));
	if(!m) return hw_error_set(err, HW_ERR_NOMEM, "out of memory creating the MQTT client");
	m->efd = -1;
	m->disc_reason = -1;
	m->ssl = ssl;
	ulen = strlen(host) + 7;
	m->url = malloc(ulen);
	if(!m->url) oom = true;
	else snprintf(m->url, ulen, "%s%s", ssl ? "ssl://" : "tcp://", host);
	m->client_id = dup_opt(opts->client_id, &oom);
	m->username = dup_opt(opts->username, &oom);
	m->password = dup_opt(opts->password, &oom);
	m->cafile = dup_opt(opts->cafile, &oom);
	if(oom){
		rc = hw_error_set(err, HW_ERR_NOMEM, "out of memory creating the MQTT client");
		goto cleanup;
	}
	m->keepalive_s = opts->keepalive_s;
	m->clean_start = opts->clean_start;
	m->session_expiry_s = opts->session_expiry_s;
	m->max_inflight = opts->max_inflight;
	m->connect_timeout_ms = opts->connect_timeout_ms;

	if(pthread_mutex_init(&m->mu, NULL) != 0){
		rc = hw_error_set(err, HW_ERR_IO, "cannot create a mutex");
		goto cleanup;
	}
	mu_ok = true;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	cond_ok = pthread_cond_init(&m->cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if(!cond_ok){
		rc = hw_error_set(err, HW_ERR_IO, "cannot create a condition variable");
		goto cleanup;
	}
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if(m->efd < 0){
		rc = hw_error_set(err, HW_ERR_IO, "eventfd: %s", strerror(errno));
		goto cleanup;
	}

	co.maxBufferedMessages = opts->max_buffered;
	co.sendWhileDisconnected = 0;
	rc = MQTTAsync_createWithOptions(&m->cli, m->url, m->client_id, MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if(rc != MQTTASYNC_SUCCESS){
		m->cli = NULL;
		rc = hw_error_set(err,
				rc == MQTTASYNC_BAD_UTF8_STRING || rc == MQTTASYNC_BAD_PROTOCOL ? HW_ERR_INVAL : HW_ERR_MQTT,
				"cannot create the MQTT client for %s: %s", opts->url, MQTTAsync_strerror(rc));
		goto cleanup;
	}
	rc = MQTTAsync_setCallbacks(m->cli, m, on_connection_lost, on_message, NULL);
	if(rc == MQTTASYNC_SUCCESS) rc = MQTTAsync_setDisconnected(m->cli, m, on_disconnected);
	if(rc != MQTTASYNC_SUCCESS){
		rc = hw_error_set(err, HW_ERR_MQTT, "cannot set the MQTT callbacks: %s", MQTTAsync_strerror(rc));
		goto cleanup;
	}
	*out = m;
	return HW_OK;

cleanup:
	if(m->cli) MQTTAsync_destroy(&m->cli);
	if(m->efd >= 0) close(m->efd);
	if(cond_ok) pthread_cond_destroy(&m->cond);
	if(mu_ok) pthread_mutex_destroy(&m->mu);
	free(m->url);
	free(m->client_id);
	free(m->username);
	free(m->password);
	free(m->cafile);
	free(m);
	return rc;
}

void hw_mqtt_free(hw_mqtt_t *m)
{
	mqtt_entry_t *e;

	if(!m) return;
	if(hw_mqtt_connected(m)) hw_mqtt_disconnect(m, 500);
	/* After destroy no callback can run, so whatever ops Paho never answered are ours. */
	MQTTAsync_destroy(&m->cli);
	while(m->ops) op_unlink_free(m, m->ops);
	while((e = m->head)){
		m->head = e->next;
		free(e);
	}
	close(m->efd);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->mu);
	free(m->url);
	free(m->client_id);
	free(m->username);
	if(m->password){
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->cafile);
	free(m);
}

/* ---- TCP_NODELAY ------------------------------------------------------------------------ */

/* True when the socket's peer is the broker of url ("tcp://host:port" / "ssl://host:port"):
 * the port always, the address too when host is a numeric IPv4 or IPv6 address (a host name
 * is not resolved here: that could block; the port alone is then the match). */
static bool peer_is_broker(int fd, const char *url)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *host = strstr(url, "://"), *colon;
	char h[256];
	long port;
	char *end;
	size_t hl;

	if(!host) return false;
	host += 3;
	colon = strrchr(host, ':');
	if(!colon) return false;
	port = strtol(colon + 1, &end, 10);
	if(end == colon + 1 || port <= 0 || port > 65535) return false;
	hl = (size_t)(colon - host);
	if(hl >= 2 && host[0] == '[' && host[hl - 1] == ']'){
		host++;
		hl -= 2;
	}
	if(hl >= sizeof(h)) return false;
	memcpy(h, host, hl);
	h[hl] = '\0';
	if(getpeername(fd, (struct sockaddr *)&ss, &len) != 0) return false;
	if(ss.ss_family == AF_INET){
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
		struct in_addr want;
		if(ntohs(a->sin_port) != port) return false;
		return inet_pton(AF_INET, h, &want) != 1 || want.s_addr == a->sin_addr.s_addr;
	}
	if(ss.ss_family == AF_INET6){
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
		struct in6_addr want;
		if(ntohs(a->sin6_port) != port) return false;
		return inet_pton(AF_INET6, h, &want) != 1 || memcmp(&want, &a->sin6_addr, sizeof(want)) == 0;
	}
	return false;
}

/* Turns Nagle's algorithm off on the connection just made. Paho never sets TCP_NODELAY and
 * does not expose its socket, and with Nagle on a small publish (an exit event, a retained
 * state, a CLI request) waits behind the delayed ACK of the previous packet: ~40 ms on Linux.
 * So after each connect: every TCP socket of the process whose peer is this client's broker
 * and that still has Nagle on gets TCP_NODELAY. The sockets of the process's other clients
 * were handled at their own connect, so in practice this finds the new one; a socket to the
 * same broker that is not Paho's gets it too, which is harmless. One getsockopt per open fd. */
static void nodelay_broker_socket(hw_mqtt_t *m)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if(!d) return;
	while((e = readdir(d))){
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		int on = 0, one = 1;
		socklen_t ol = sizeof(on);
		if(end == e->d_name || *end || fd < 0 || fd > INT_MAX || fd == dirfd(d)) continue;
		/* fails for anything that is not a TCP socket; already on: done before */
		if(getsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &on, &ol) != 0 || on) continue;
		if(!peer_is_broker((int)fd, m->url)) continue;
		setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	closedir(d);
}

/* ---- connect / disconnect --------------------------------------------------------------- */

static void on_connect_success(void *context, MQTTAsync_successData5 *resp)
{
	mqtt_op_t *op = context, *dop = NULL;
	hw_mqtt_t *m = op->m;
	bool orphan;

	pthread_mutex_lock(&m->mu);
	orphan = op->abandoned;
	if(orphan){
		op_unlink_free(m, op);
		/* The disconnect below is tracked like a connect attempt (m->conn_op), so the next
		 * hw_mqtt_connect waits for it instead of having Paho ignore its CONNECT. */
		dop = calloc(1, sizeof(*dop));
		if(dop){
			dop->m = m;
			dop->abandoned = true; /* no waiter: the callback frees it */
			dop->next = m->ops;
			if(m->ops) m->ops->prev = dop;
			m->ops = dop;
			m->conn_op = dop;
		}
		pthread_cond_broadcast(&m->cond);
	}else{
		op->done = true;
		op->ok = true;
		op->session_present = resp && resp->alt.connect.sessionPresent;
		m->conn_op = NULL;
		m->connected = true;
		m->session_present = op->session_present;
		m->disc_reason = -1;
		hw_error_clear(&m->last_err);
		state_changed(m);
	}
	pthread_mutex_unlock(&m->mu);
	if(orphan){
		/* Nobody waits for this connection any more (hw_mqtt_connect timed out): close it
		 * cleanly (no will) so the wrapper's state, not connected, stays true. Paho allows
		 * API calls other than create/destroy from its callbacks; this only queues a command. */
		MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;

		if(dop){
			d.onSuccess5 = on_op_success;
			d.onFailure5 = on_op_failure;
			d.context = dop;
		}
		if(MQTTAsync_disconnect(m->cli, &d) != MQTTASYNC_SUCCESS && dop){
			pthread_mutex_lock(&m->mu);
			op_unlink_free(m, dop);
			pthread_cond_broadcast(&m->cond);
			pthread_mutex_unlock(&m->mu);
		}
	}
}

static void on_connect_failure(void *context, MQTTAsync_failureData5 *resp)
{
	mqtt_op_t *op = context;
	hw_mqtt_t *m = op->m;

	pthread_mutex_lock(&m->mu);
	if(m->conn_op == op) m->conn_op = NULL;
	pthread_mutex_unlock(&m->mu);
	if(!resp){
		op_finish(op, false, 0, MQTTASYNC_FAILURE, NULL, false);
		return;
	}
	/* Paho 1.3.12 reports a refused CONNACK as code = the reason code (> 0, reasonCode
	 * unset) and network failures as code -1 with a message. Accept either field. */
	op_finish(op, false, resp->reasonCode >= 0x80 ? (int)resp->reasonCode : (resp->code > 0 ? resp->code : 0), resp->code,
			resp->message, false);
}

static int check_will(const hw_mqtt_will_t *w, hw_error_t *err)
{
	if(!w) return HW_OK;
	if(!w->topic || !w->topic[0]) return hw_error_set(err, HW_ERR_INVAL, "will topic is missing");
	if(strpbrk(w->topic, "+#")) return hw_error_set(err, HW_ERR_INVAL, "will topic '%s' has a wildcard", w->topic);
	if(w->qos < 0 || w->qos > 2) return hw_error_set(err, HW_ERR_INVAL, "will QoS must be 0-2, not %d", w->qos);
	if(w->len > 0 && !w->payload) return hw_error_set(err, HW_ERR_INVAL, "will payload is NULL with length %zu", w->len);
	if(w->len > 65535) return hw_error_set(err, HW_ERR_INVAL, "will payload is %zu bytes; at most 65535", w->len);
	return HW_OK;
}

/* Waits for an earlier connect attempt that timed out to be answered by Paho, so two connect
 * commands are never in flight on one handle. Called with m->mu held. */
static bool wait_previous_connect(hw_mqtt_t *m, int64_t deadline)
{
	while(m->conn_op && cond_wait_until(m, deadline)){
	}
	return m->conn_op == NULL;
}

int hw_mqtt_connect(hw_mqtt_t *m, const hw_mqtt_will_t *will, hw_error_t *err)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions wo = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions so = MQTTAsync_SSLOptions_initializer;
	MQTTProperties cprops = MQTTProperties_initializer;
	MQTTProperties wprops = MQTTProperties_initializer;
	MQTTProperty prop;
	mqtt_op_t *op = NULL, res;
	int64_t deadline;
	int rc;

	if(!m) return hw_error_set(err, HW_ERR_INVAL, "hw_mqtt_connect: client is NULL");
	rc = check_will(will, err);
	if(rc) return rc;
	deadline = mono_ms() + m->connect_timeout_ms;

	pthread_mutex_lock(&m->mu);
	if(m->connected){
		pthread_mutex_unlock(&m->mu);
		return hw_error_set(err, HW_ERR_STATE, "already connected to %s", m->url);
	}
	if(m->conn_op){
		if(!wait_previous_connect(m, deadline)){
			pthread_mutex_unlock(&m->mu);
			return hw_error_set(err, HW_ERR_TIMEOUT, "an earlier connect to %s is still in progress", m->url);
		}
		deadline = mono_ms() + m->connect_timeout_ms; /* the new attempt gets its full time */
	}
	pthread_mutex_unlock(&m->mu);

	op = op_new(m);
	if(!op) return hw_error_set(err, HW_ERR_NOMEM, "out of memory connecting");
	pthread_mutex_lock(&m->mu);
	m->conn_op = op;
	pthread_mutex_unlock(&m->mu);

	co.keepAliveInterval = m->keepalive_s;
	co.cleansession = 0;
	co.cleanstart = m->clean_start ? 1 : 0;
	co.maxInflight = m->max_inflight;
	co.connectTimeout = (m->connect_timeout_ms + 999) / 1000;
	co.automaticReconnect = 0;
	co.username = m->username;
	co.password = m->password;
	co.onSuccess5 = on_connect_success;
	co.onFailure5 = on_connect_failure;
	co.context = op;

	memset(&prop, 0, sizeof(prop));
	prop.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
	prop.value.integer4 = m->session_expiry_s;
	if(MQTTProperties_add(&cprops, &prop) != 0){
		rc = hw_error_set(err, HW_ERR_NOMEM, "cannot build the CONNECT properties");
		goto fail;
	}
	co.connectProperties = &cprops;

	if(will){
		wo.topicName = will->topic;
		wo.message = NULL;
		wo.payload.data = will->len ? will->payload : NULL;
		wo.payload.len = (int)will->len;
		wo.qos = will->qos;
		wo.retained = will->retain ? 1 : 0;
		co.will = &wo;
		if(will->will_delay_s > 0){
			memset(&prop, 0, sizeof(prop));
			prop.identifier = MQTTPROPERTY_CODE_WILL_DELAY_INTERVAL;
			prop.value.integer4 = will->will_delay_s;
			if(MQTTProperties_add(&wprops, &prop) != 0){
				rc = hw_error_set(err, HW_ERR_NOMEM, "cannot build the will properties");
				goto fail;
			}
			co.willProperties = &wprops;
		}
	}
	if(m->ssl){
		so.trustStore = m->cafile;
		so.enableServerCertAuth = 1;
		so.verify = 1;
		co.ssl = &so;
	}

	rc = MQTTAsync_connect(m->cli, &co);
	MQTTProperties_free(&cprops);
	MQTTProperties_free(&wprops);
	if(rc != MQTTASYNC_SUCCESS){
		op_drop(m, op);
		if(rc == MQTTASYNC_COMMAND_IGNORED)
			return hw_error_set(
					err, HW_ERR_AGAIN, "cannot connect to %s yet: a disconnect is still in progress", m->url);
		return hw_error_set(err, rc == MQTTASYNC_SSL_NOT_SUPPORTED ? HW_ERR_CONFIG : HW_ERR_MQTT,
				"cannot start connecting to %s: %s", m->url, MQTTAsync_strerror(rc));
	}

	if(!op_wait(m, op, deadline, &res))
		return hw_error_set(err, HW_ERR_TIMEOUT, "no CONNACK from %s within %d ms", m->url, m->connect_timeout_ms);
	if(res.ok){
		nodelay_broker_socket(m);
		return HW_OK;
	}
	if(res.reason > 0) return connack_error(m, res.reason, err);
	if(res.text[0] && strstr(res.text, "timeout"))
		return hw_error_set(err, HW_ERR_TIMEOUT, "cannot connect to %s: %s", m->url, res.text);
	return hw_error_set(err, HW_ERR_MQTT, "cannot connect to %s: %s", m->url,
			res.text[0] ? res.text : MQTTAsync_strerror(res.code));

fail:
	MQTTProperties_free(&cprops);
	MQTTProperties_free(&wprops);
	op_drop(m, op);
	return rc;
}

int hw_mqtt_set_password(hw_mqtt_t *m, const char *password, hw_error_t *err)
{
	char *p = NULL;

	if(!m) return hw_error_set(err, HW_ERR_INVAL, "hw_mqtt_set_password: client is NULL");
	if(password && !m->username) return hw_error_set(err, HW_ERR_INVAL, "an MQTT password needs a user name");
	if(password && !(p = strdup(password))) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the password");
	pthread_mutex_lock(&m->mu);
	if(m->password){
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	m->password = p;
	pthread_mutex_unlock(&m->mu);
	return HW_OK;
}

bool hw_mqtt_connected(hw_mqtt_t *m)
{
	bool c;

	if(!m) return false;
	pthread_mutex_lock(&m->mu);
	c = m->connected;
	pthread_mutex_unlock(&m->mu);
	return c;
}

bool hw_mqtt_session_present(hw_mqtt_t *m)
{
	bool p;

	if(!m) return false;
	pthread_mutex_lock(&m->mu);
	p = m->session_present;
	pthread_mutex_unlock(&m->mu);
	return p;
}

void hw_mqtt_last_error(hw_mqtt_t *m, hw_error_t *err)
{
	if(!err) return;
	if(!m){
		hw_error_clear(err);
		return;
	}
	pthread_mutex_lock(&m->mu);
	*err = m->last_err;
	pthread_mutex_unlock(&m->mu);
}

int hw_mqtt_disconnect(hw_mqtt_t *m, int timeout_ms)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
	mqtt_op_t *op, res;
	int rc;

	if(!m) return HW_ERR_INVAL;
	if(timeout_ms < 0) timeout_ms = 0;
	op = op_new(m);
	if(!op) return HW_ERR_NOMEM;
	d.timeout = timeout_ms;
	d.reasonCode = MQTTREASONCODE_NORMAL_DISCONNECTION; /* 0: the broker discards the will */
	d.onSuccess5 = on_op_success;
	d.onFailure5 = on_op_failure;
	d.context = op;
	rc = MQTTAsync_disconnect(m->cli, &d);
	if(rc != MQTTASYNC_SUCCESS){
		op_drop(m, op);
		pthread_mutex_lock(&m->mu);
		if(m->connected){
			m->connected = false;
			state_changed(m);
		}
		pthread_mutex_unlock(&m->mu);
		return rc == MQTTASYNC_DISCONNECTED ? HW_OK : HW_ERR_MQTT;
	}
	/* Paho waits up to timeout_ms for in-flight messages, checking its timer every ~3 s. */
	if(!op_wait(m, op, mono_ms() + timeout_ms + PAHO_TICK_MS, &res)) return HW_ERR_TIMEOUT;
	pthread_mutex_lock(&m->mu);
	if(m->connected){
		m->connected = false;
		hw_error_clear(&m->last_err);
		state_changed(m);
	}
	pthread_mutex_unlock(&m->mu);
	return res.ok ? HW_OK : HW_ERR_MQTT;
}

/* ---- subscribe ----------------------------------------------------------------------- */

static int sub_common(hw_mqtt_t *m, const char *filter, int qos, bool sub, hw_error_t *err)
{
	MQTTAsync_callOptions ro = MQTTAsync_callOptions_initializer;
	const char *what = sub ? "subscribe to" : "unsubscribe from";
	mqtt_op_t *op, res;
	int rc;

	if(!m) return hw_error_set(err, HW_ERR_INVAL, "%s: client is NULL", what);
	if(!filter || !filter[0]) return hw_error_set(err, HW_ERR_INVAL, "%s: topic filter is empty", what);
	if(sub && (qos < 0 || qos > 2)) return hw_error_set(err, HW_ERR_INVAL, "subscribe QoS must be 0-2, not %d", qos);
	op = op_new(m);
	if(!op) return hw_error_set(err, HW_ERR_NOMEM, "out of memory (%s '%s')", what, filter);
	ro.onSuccess5 = on_op_success;
	ro.onFailure5 = on_op_failure;
	ro.context = op;
	rc = sub ? MQTTAsync_subscribe(m->cli, filter, qos, &ro) : MQTTAsync_unsubscribe(m->cli, filter, &ro);
	if(rc != MQTTASYNC_SUCCESS){
		op_drop(m, op);
		return paho_error(rc, what, filter, err);
	}
	if(!op_wait(m, op, mono_ms() + m->connect_timeout_ms, &res))
		return hw_error_set(err, HW_ERR_TIMEOUT, "%s '%s': no answer within %d ms", what, filter, m->connect_timeout_ms);
	if(!res.ok) return op_error(&res, what, filter, err);
	return HW_OK;
}

int hw_mqtt_subscribe(hw_mqtt_t *m, const char *filter, int qos, hw_error_t *err)
{
	return sub_common(m, filter, qos, true, err);
}

int hw_mqtt_unsubscribe(hw_mqtt_t *m, const char *filter, hw_error_t *err)
{
	return sub_common(m, filter, 0, false, err);
}

/* ---- publish ----------------------------------------------------------------------------- */

static int check_pub(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, hw_error_t *err)
{
	if(!m) return hw_error_set(err, HW_ERR_INVAL, "publish: client is NULL");
	if(!topic || !topic[0]) return hw_error_set(err, HW_ERR_INVAL, "publish: topic is empty");
	if(strpbrk(topic, "+#")) return hw_error_set(err, HW_ERR_INVAL, "publish: topic '%s' has a wildcard", topic);
	if(qos < 0 || qos > 2) return hw_error_set(err, HW_ERR_INVAL, "publish: QoS must be 0-2, not %d", qos);
	if(len > 0 && !payload) return hw_error_set(err, HW_ERR_INVAL, "publish: payload is NULL with length %zu", len);
	if(len > MQTT_PAYLOAD_MAX) return hw_error_set(err, HW_ERR_INVAL, "publish: payload of %zu bytes is too large", len);
	return HW_OK;
}

/* The one publish path: builds the message (with properties when asked) and hands it to
 * Paho, which copies topic, payload and properties. op may be NULL (fire and forget). */
static int send_msg(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain,
		const char *response_topic, const void *corr, size_t corr_len, mqtt_op_t *op, hw_error_t *err)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_callOptions ro = MQTTAsync_callOptions_initializer;
	MQTTProperty prop;
	int rc;

	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = qos;
	msg.retained = retain ? 1 : 0;
	if(response_topic){
		size_t n = strlen(response_topic);
		if(n == 0 || n > 65535 || strpbrk(response_topic, "+#"))
			return hw_error_set(
					err, HW_ERR_INVAL, "publish: response topic '%s' is not a topic name", response_topic);
		memset(&prop, 0, sizeof(prop));
		prop.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
		prop.value.data.data = (char *)response_topic;
		prop.value.data.len = (int)n;
		if(MQTTProperties_add(&msg.properties, &prop) != 0){
			MQTTProperties_free(&msg.properties);
			return hw_error_set(err, HW_ERR_NOMEM, "publish: cannot add the response topic");
		}
	}
	if(corr && corr_len > 0){
		if(corr_len > 65535){
			MQTTProperties_free(&msg.properties);
			return hw_error_set(err, HW_ERR_INVAL, "publish: correlation data of %zu bytes is too large", corr_len);
		}
		memset(&prop, 0, sizeof(prop));
		prop.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
		prop.value.data.data = (char *)corr;
		prop.value.data.len = (int)corr_len;
		if(MQTTProperties_add(&msg.properties, &prop) != 0){
			MQTTProperties_free(&msg.properties);
			return hw_error_set(err, HW_ERR_NOMEM, "publish: cannot add the correlation data");
		}
	}
	if(op){
		ro.onSuccess5 = on_op_success;
		ro.onFailure5 = on_op_failure;
		ro.context = op;
	}
	rc = MQTTAsync_sendMessage(m->cli, topic, &msg, &ro);
	MQTTProperties_free(&msg.properties);
	if(rc != MQTTASYNC_SUCCESS) return paho_error(rc, "publish to", topic, err);
	return HW_OK;
}

int hw_mqtt_publish(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain, hw_error_t *err)
{
	int rc = check_pub(m, topic, payload, len, qos, err);

	if(rc) return rc;
	return send_msg(m, topic, payload, len, qos, retain, NULL, NULL, 0, NULL, err);
}

int hw_mqtt_publish_req(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, const char *response_topic,
		const void *corr, size_t corr_len, hw_error_t *err)
{
	int rc = check_pub(m, topic, payload, len, qos, err);

	if(rc) return rc;
	return send_msg(m, topic, payload, len, qos, false, response_topic, corr, corr_len, NULL, err);
}

int hw_mqtt_publish_wait(hw_mqtt_t *m, const char *topic, const void *payload, size_t len, int qos, bool retain, int timeout_ms,
		hw_error_t *err)
{
	mqtt_op_t *op, res;
	int64_t deadline;
	int rc = check_pub(m, topic, payload, len, qos, err);

	if(rc) return rc;
	if(timeout_ms < 0) return hw_error_set(err, HW_ERR_INVAL, "publish: timeout must be >= 0 ms");
	deadline = mono_ms() + timeout_ms;
	op = op_new(m);
	if(!op) return hw_error_set(err, HW_ERR_NOMEM, "out of memory publishing to '%s'", topic);
	rc = send_msg(m, topic, payload, len, qos, retain, NULL, NULL, 0, op, err);
	if(rc){
		op_drop(m, op);
		return rc;
	}
	if(!op_wait(m, op, deadline, &res))
		return hw_error_set(err, HW_ERR_TIMEOUT, "publish to '%s': no acknowledgement within %d ms", topic, timeout_ms);
	if(!res.ok) return op_error(&res, "publish to", topic, err);
	return HW_OK;
}

/* ---- the receive queue ------------------------------------------------------------------ */

int hw_mqtt_fd(hw_mqtt_t *m)
{
	return m ? m->efd : -1;
}

hw_mqtt_msg_t *hw_mqtt_next(hw_mqtt_t *m)
{
	mqtt_entry_t *e;

	if(!m) return NULL;
	pthread_mutex_lock(&m->mu);
	e = m->head;
	if(e){
		m->head = e->next;
		if(!m->head) m->tail = NULL;
		e->next = NULL;
		m->queued--;
	}else{
		m->state_pending = false;
	}
	fd_sync(m);
	pthread_mutex_unlock(&m->mu);
	return e ? &e->msg : NULL;
}

int hw_mqtt_wait(hw_mqtt_t *m, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
	uint64_t gen;
	int got;

	if(!m) return 0;
	pthread_mutex_lock(&m->mu);
	gen = m->state_gen;
	while(m->queued == 0 && m->state_gen == gen && cond_wait_until(m, deadline)){
	}
	got = (m->queued > 0 || m->state_gen != gen) ? 1 : 0;
	pthread_mutex_unlock(&m->mu);
	return got;
}

size_t hw_mqtt_queued(hw_mqtt_t *m)
{
	size_t n;

	if(!m) return 0;
	pthread_mutex_lock(&m->mu);
	n = m->queued;
	pthread_mutex_unlock(&m->mu);
	return n;
}

uint64_t hw_mqtt_losses(hw_mqtt_t *m)
{
	uint64_t n;

	if(!m) return 0;
	pthread_mutex_lock(&m->mu);
	n = m->losses;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void hw_mqtt_msg_free(hw_mqtt_msg_t *msg)
{
	/* msg is the first member of its mqtt_entry_t, which holds every string and byte. */
	free(msg);
}

/* ---- trace ------------------------------------------------------------------------------ */

/* Set by any thread, read on Paho's threads: atomic. */
static _Atomic(hw_mqtt_trace_fn) trace_fn;

static int trace_level_from_paho(enum MQTTASYNC_TRACE_LEVELS l)
{
	if(l >= MQTTASYNC_TRACE_SEVERE) return HW_MQTT_TRACE_ERROR;
	if(l == MQTTASYNC_TRACE_ERROR) return HW_MQTT_TRACE_WARN;
	if(l == MQTTASYNC_TRACE_PROTOCOL) return HW_MQTT_TRACE_INFO;
	return HW_MQTT_TRACE_DEBUG;
}

static void trace_hook(enum MQTTASYNC_TRACE_LEVELS level, char *line)
{
	hw_mqtt_trace_fn fn = atomic_load(&trace_fn);

	if(fn && line) fn(trace_level_from_paho(level), line);
}

void hw_mqtt_trace(hw_mqtt_trace_fn fn, int min_level)
{
	enum MQTTASYNC_TRACE_LEVELS l;

	switch(min_level){
	case HW_MQTT_TRACE_DEBUG:
		l = MQTTASYNC_TRACE_MINIMUM;
		break;
	case HW_MQTT_TRACE_INFO:
		l = MQTTASYNC_TRACE_PROTOCOL;
		break;
	case HW_MQTT_TRACE_WARN:
		l = MQTTASYNC_TRACE_ERROR;
		break;
	default:
		l = MQTTASYNC_TRACE_SEVERE;
		break;
	}
	atomic_store(&trace_fn, fn);
	if(fn){
		MQTTAsync_setTraceLevel(l);
		MQTTAsync_setTraceCallback(trace_hook);
	}else{
		MQTTAsync_setTraceCallback(NULL);
	}
}
