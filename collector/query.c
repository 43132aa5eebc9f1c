/* query.c: the collector's request server: takes q/{verb} and cmd/{verb} requests on the ingest
 * thread (reply path, decoding, refusals), runs queries on worker threads against the database
 * (store_query.c) and publishes the replies from there, and hands command results back to the
 * ingest thread through an eventfd. Commands themselves are in command.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "heartwire/clock.h"
#include "heartwire/ids.h"
#include "heartwire/log.h"
#include "heartwire/states.h"
#include "heartwire/topics.h"

#include "query.h"

/* ------------------------------------------------------------------ cursors */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_value(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;

	return p ? (int)(p - b64url) : -1;
}

int hw_cursor_encode(char kind, const char *key, char *buf, size_t len)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t n = strlen(key), o = 0;

	if(n == 0 || len < 4 || 3 + (n + 2) / 3 * 4 + 1 > len || 3 + (n + 2) / 3 * 4 > HW_CURSOR_MAX) return HW_ERR_INVAL;
	buf[o++] = kind;
	buf[o++] = '1';
	buf[o++] = '.';
	for(size_t i = 0; i < n; i += 3){
		uint32_t v = (uint32_t)k[i] << 16;
		size_t left = n - i;
		if(left > 1) v |= (uint32_t)k[i + 1] << 8;
		if(left > 2) v |= k[i + 2];
		buf[o++] = b64url[(v >> 18) & 63];
		buf[o++] = b64url[(v >> 12) & 63];
		if(left > 1) buf[o++] = b64url[(v >> 6) & 63];
		if(left > 2) buf[o++] = b64url[v & 63];
	}
	buf[o] = '\0';
	return HW_OK;
}

static int bad_cursor(hw_error_t *err, const char *why)
{
	hw_error_refuse(err, HW_R_BAD_VALUE, "'cursor' is not a cursor of this query (%s)", why);
	if(err) err->code = HW_ERR_INVAL;
	return HW_ERR_INVAL;
}

int hw_cursor_decode(char kind, const char *cursor, char *key, size_t keylen, hw_error_t *err)
{
	size_t n = strlen(cursor), o = 0;
	uint32_t acc = 0;
	int bits = 0;

	key[0] = '\0';
	if(n < 4 || cursor[0] != kind || cursor[1] != '1' || cursor[2] != '.') return bad_cursor(err, "wrong kind");
	for(size_t i = 3; i < n; i++){
		int v = b64_value(cursor[i]);
		if(v < 0) return bad_cursor(err, "not base64url");
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if(bits >= 8){
			bits -= 8;
			if(o + 1 >= keylen) return bad_cursor(err, "too long");
			key[o++] = (char)((acc >> bits) & 0xff);
			if(key[o - 1] == '\0') return bad_cursor(err, "NUL byte");
		}
	}
	key[o] = '\0';
	if(kind == HW_CURSOR_EVENTS){
		char *end;
		long long at = strtoll(key, &end, 10);
		if(end == key || *end != '|' || at < 0 || end[1] == '\0') return bad_cursor(err, "bad position");
		for(const char *p = end + 1; *p; p++){
			if(*p < 0x21 || *p > 0x7e) return bad_cursor(err, "bad id");
		}
		return HW_OK;
	}
	if(hw_id_check("cursor", key, NULL) != HW_OK) return bad_cursor(err, "bad id");
	return HW_OK;
}

/* ------------------------------------------------------------------ refusals */

/* The key a codec message is about: "sessions: 'limit' is 0; ..." or "sessions: project 'a b'
 * has ..." -> "limit", "project". */
static void refused_key(const char *msg, char *key, size_t len)
{
	const char *p = strstr(msg, ": ");
	size_t n = 0;

	key[0] = '\0';
	p = p ? p + 2 : msg;
	if(*p == '\''){
		p++;
		while(p[n] && p[n] != '\'' && n + 1 < len) n++;
	}else{
		while(((p[n] >= 'a' && p[n] <= 'z') || p[n] == '_') && n + 1 < len) n++;
	}
	memcpy(key, p, n);
	key[n] = '\0';
}

int hw_request_refusal_code(int verb, const hw_error_t *err)
{
	static const char *const filters[] = {"states", "project", "machine", "slot", "updated_since", "limit", "cursor", NULL};
	char key[32];

	if(!err || verb <= HW_VERB_NONE || hw_verb_is_command(verb)) return HW_REPLY_BAD_REQUEST;
	refused_key(err->msg, key, sizeof(key));
	if(verb == HW_VERB_EVENTS && strcmp(key, "session") == 0) return HW_REPLY_BAD_FILTER;
	for(int i = 0; filters[i]; i++){
		if(strcmp(key, filters[i]) == 0) return HW_REPLY_BAD_FILTER;
	}
	return HW_REPLY_BAD_REQUEST;
}

int hw_reply_topic_check(const char *root, const char *topic, hw_error_t *err)
{
	size_t rl = strlen(root), n = strlen(topic);

	if(n > HW_REPLY_TOPIC_MAX)
		return hw_error_set(err, HW_ERR_FORBIDDEN, "reply topic is %zu bytes; at most %d", n, HW_REPLY_TOPIC_MAX);
	if(strncmp(topic, root, rl) != 0 || strncmp(topic + rl, "/reply/", 7) != 0 || n <= rl + 7)
		return hw_error_set(err, HW_ERR_FORBIDDEN, "reply topic '%.80s' is not under %s/reply/", topic, root);
	if(strpbrk(topic, "+#") || strstr(topic, "//") || topic[n - 1] == '/')
		return hw_error_set(err, HW_ERR_FORBIDDEN, "reply topic '%.80s' has a wildcard or an empty level", topic);
	return HW_OK;
}

/* ------------------------------------------------------------------ jobs */

hw_job_t *hw__job_new(int kind)
{
	hw_job_t *j = calloc(1, sizeof(*j));

	if(!j) return NULL;
	j->kind = kind;
	j->req = (hw_request_t)HW_REQUEST_INIT;
	j->doc = (hw_session_t)HW_SESSION_INIT;
	j->birth_epoch = -1;
	return j;
}

void hw__job_free(hw_job_t *j)
{
	if(!j) return;
	if(j->has_doc) hw_session_cleanup(&j->doc);
	free(j->data);
	free(j);
}

static void count_reply(hw_rq_t *rq, const hw_job_t *j, int code)
{
	int64_t us = hw_mono_us() - j->t0_us;

	pthread_mutex_lock(&rq->lock);
	if(code < 0) rq->n.replies_ok++;
	else if(code < HW_REPLY__COUNT) rq->n.replies_error[code]++;
	if(!j->path.topic[0]) rq->n.no_reply++;
	if(j->t0_us && us > rq->n.latency_us_max) rq->n.latency_us_max = us;
	pthread_mutex_unlock(&rq->lock);
}

static void publish_reply(hw_rq_t *rq, const hw_job_t *j, const char *payload, size_t len)
{
	hw_error_t err;
	int rc;

	if(!j->path.topic[0] || !rq->mqtt) return;
	rc = hw_mqtt_publish_req(rq->mqtt, j->path.topic, payload, len, 1, NULL, j->path.v5 ? j->path.corr : NULL,
			j->path.v5 ? j->path.corr_len : 0, &err);
	if(rc != HW_OK){
		unsigned long long sup;
		pthread_mutex_lock(&rq->lock);
		rq->n.reply_failed++;
		pthread_mutex_unlock(&rq->lock);
		if(hw_log_limit_take(&rq->log_limit, &sup))
			hw_logs(HW_LOG_WARN, j->path.topic, "cannot publish a reply: %s", err.msg);
	}
}

static const char *json_corr(const hw_job_t *j)
{
	return j->path.v5 ? NULL : j->path.json_corr;
}

void hw__rq_reply_ok(hw_rq_t *rq, const hw_job_t *j, const char *data_json)
{
	char *out = NULL;
	size_t len = 0;
	hw_error_t err;

	if(hw_reply_encode_ok(data_json, json_corr(j), &out, &len, &err) != HW_OK){
		hw_log(HW_LOG_ERROR, "cannot encode a %s reply: %s", hw_verb_name(j->req.verb), err.msg);
		hw__rq_reply_error(rq, j, HW_REPLY_INTERNAL, "cannot encode the reply: %s", err.msg);
		return;
	}
	count_reply(rq, j, -1);
	publish_reply(rq, j, out, len);
	free(out);
}

static void reply_error_msg(hw_rq_t *rq, const hw_job_t *j, int code, const char *msg)
{
	char *out = NULL;
	size_t len = 0;

	count_reply(rq, j, code);
	if(hw_reply_encode_error(code, msg, json_corr(j), &out, &len, NULL) == HW_OK) publish_reply(rq, j, out, len);
	free(out);
}

void hw__rq_reply_error(hw_rq_t *rq, const hw_job_t *j, int code, const char *fmt, ...)
{
	char msg[HW_TEXT_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error_msg(rq, j, code, msg);
}

void hw__rq_reply_rc(hw_rq_t *rq, const hw_job_t *j, int rc, const hw_error_t *err)
{
	reply_error_msg(rq, j, hw_reply_code_from_rc(rc), err && err->msg[0] ? err->msg : hw_strerror(rc));
}

int hw__rq_submit(hw_rq_t *rq, hw_job_t *j)
{
	bool refused;

	pthread_mutex_lock(&rq->lock);
	refused = rq->stopping || rq->nworkers == 0 || rq->ntodo >= HW_RQ_QUEUE_MAX;
	if(!refused){
		if(rq->todo_tail) rq->todo_tail->next = j;
		else rq->todo = j;
		rq->todo_tail = j;
		rq->ntodo++;
		pthread_cond_signal(&rq->cond);
	}else{
		rq->n.busy++;
	}
	pthread_mutex_unlock(&rq->lock);
	if(!refused) return HW_OK;
	if(j->kind != HW_JOB_UNLEASE)
		hw__rq_reply_error(rq, j, HW_REPLY_UNAVAILABLE, "the collector is busy (%d requests waiting); try again",
				HW_RQ_QUEUE_MAX);
	hw__job_free(j);
	return HW_ERR_AGAIN;
}

/* Hands a worker's result to the ingest thread. */
static void rq_done(hw_rq_t *rq, hw_job_t *j)
{
	uint64_t one = 1;

	j->next = NULL;
	pthread_mutex_lock(&rq->lock);
	if(rq->done_tail) rq->done_tail->next = j;
	else rq->done = j;
	rq->done_tail = j;
	pthread_mutex_unlock(&rq->lock);
	if(write(rq->efd, &one, sizeof(one)) < 0 && errno != EAGAIN){
		/* the eventfd counter cannot overflow in practice; the next poll turn takes it anyway */
	}
}

/* ------------------------------------------------------------------ workers */

static void run_query(hw_rq_t *rq, hw_job_t *j)
{
	size_t budget = HW_RQ_REPLY_MAX - 256; /* room for "ok" and "corr" */
	char *data = NULL;
	hw_error_t err;
	int rc;

	hw_error_clear(&err);
	switch(j->req.verb){
	case HW_VERB_SESSIONS:
		rc = hw_qstore_sessions(rq->qs, &j->req, budget, &data, &err);
		break;
	case HW_VERB_SESSION:
		rc = hw_qstore_session(rq->qs, &j->req, budget, &data, &err);
		break;
	case HW_VERB_EVENTS:
		rc = hw_qstore_events(rq->qs, &j->req, budget, &data, &err);
		break;
	case HW_VERB_PROJECTS:
		rc = hw_qstore_rollups(rq->qs, false, &j->req, budget, &data, &err);
		break;
	case HW_VERB_MACHINES:
		rc = hw_qstore_rollups(rq->qs, true, &j->req, budget, &data, &err);
		break;
	default:
		rc = hw_error_set(&err, HW_ERR_INVAL, "%s is not answered by a worker", hw_verb_name(j->req.verb));
		break;
	}
	if(rc == HW_OK){
		hw__rq_reply_ok(rq, j, data);
	}else if(rc == HW_ERR_INVAL && err.reason == HW_R_BAD_VALUE){
		reply_error_msg(rq, j, HW_REPLY_BAD_FILTER, err.msg);
	}else if(rc == HW_ERR_INVAL){
		reply_error_msg(rq, j, HW_REPLY_INTERNAL, err.msg);
	}else{
		if(rc == HW_ERR_STORE){
			unsigned long long sup;
			if(hw_log_limit_take(&rq->log_limit, &sup))
				hw_log(HW_LOG_WARN, "q/%s: the database failed: %s", hw_verb_name(j->req.verb), err.msg);
		}
		hw__rq_reply_rc(rq, j, rc, &err);
	}
	free(data);
}

static void *worker_main(void *arg)
{
	hw_rq_t *rq = arg;

	for(;;){
		hw_job_t *j;
		pthread_mutex_lock(&rq->lock);
		while(!rq->todo && !rq->stopping) pthread_cond_wait(&rq->cond, &rq->lock);
		if(rq->stopping){
			pthread_mutex_unlock(&rq->lock);
			break;
		}
		j = rq->todo;
		rq->todo = j->next;
		if(!rq->todo) rq->todo_tail = NULL;
		rq->ntodo--;
		j->next = NULL;
		pthread_mutex_unlock(&rq->lock);
		if(j->kind == HW_JOB_QUERY){
			run_query(rq, j);
			hw__job_free(j);
		}else if(hw__cmd_work(rq, j)){
			rq_done(rq, j);
		}else{
			hw__job_free(j);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ lifecycle */

int hw_rq_init(hw_rq_t *rq, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_error_t *err)
{
	int rc;

	memset(rq, 0, sizeof(*rq));
	rq->efd = -1;
	rq->cfg = cfg;
	rq->mqtt = mqtt;
	pthread_mutex_init(&rq->lock, NULL);
	pthread_cond_init(&rq->cond, NULL);
	hw_log_limit_init(&rq->log_limit, 5, 20);
	rq->global_pause = (hw_pause_t)HW_PAUSE_INIT;
	rq->seen_losses = UINT64_MAX;
	rq->started_mono = hw_mono_ms();
	rc = hw_map_init(&rq->leased, err);
	if(rc == HW_OK) rc = hw_qstore_new(&rq->qs, cfg->mongo_uri, cfg->db, err);
	if(rc == HW_OK){
		rq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if(rq->efd < 0) rc = hw_error_set(err, HW_ERR_IO, "eventfd: %s", strerror(errno));
	}
	return rc;
}

typedef struct load_ctx {
	hw_rq_t *rq;
	hw_collector_t *c;
	int n;
} load_ctx_t;

static void pause_loaded(void *ctx, const char *project, const hw_pause_t *p)
{
	load_ctx_t *x = ctx;

	hw__cmd_pause_loaded(x->rq, x->c, project, p);
	x->n++;
}

int hw_rq_start(hw_rq_t *rq, hw_collector_t *c, hw_error_t *err)
{
	load_ctx_t x = {rq, c, 0};
	int rc = HW_ERR_STORE;

	for(int attempt = 0; attempt < 10; attempt++){
		if(attempt){
			struct timespec ts = {1, 0};
			nanosleep(&ts, NULL);
		}
		rc = hw_qstore_pause_load(rq->qs, pause_loaded, &x, err);
		if(rc == HW_OK) break;
	}
	if(rc != HW_OK) return rc;
	if(x.n) hw_log(HW_LOG_INFO, "loaded %d pause%s from the database", x.n, x.n == 1 ? "" : "s");
	for(int i = 0; i < HW_RQ_WORKERS; i++){
		int e = pthread_create(&rq->workers[i], NULL, worker_main, rq);
		if(e != 0) return hw_error_set(err, HW_ERR_IO, "cannot start a request worker: %s", strerror(e));
		pthread_mutex_lock(&rq->lock);
		rq->nworkers++;
		pthread_mutex_unlock(&rq->lock);
	}
	return HW_OK;
}

static void free_list(hw_job_t *j)
{
	while(j){
		hw_job_t *next = j->next;
		hw__job_free(j);
		j = next;
	}
}

void hw_rq_cleanup(hw_rq_t *rq)
{
	if(!rq || !rq->cfg) return;
	pthread_mutex_lock(&rq->lock);
	rq->stopping = true;
	pthread_cond_broadcast(&rq->cond);
	pthread_mutex_unlock(&rq->lock);
	for(int i = 0; i < rq->nworkers; i++) pthread_join(rq->workers[i], NULL);
	rq->nworkers = 0;
	free_list(rq->todo);
	free_list(rq->done);
	rq->todo = rq->done = rq->todo_tail = rq->done_tail = NULL;
	hw_qstore_free(rq->qs);
	rq->qs = NULL;
	if(rq->efd >= 0) close(rq->efd);
	rq->efd = -1;
	if(rq->leased.buckets) hw_map_cleanup(&rq->leased);
	pthread_cond_destroy(&rq->cond);
	pthread_mutex_destroy(&rq->lock);
	rq->cfg = NULL;
}

int hw_rq_fd(const hw_rq_t *rq)
{
	return rq->efd;
}

void hw_rq_get_counts(hw_rq_t *rq, hw_rq_counts_t *out)
{
	pthread_mutex_lock(&rq->lock);
	*out = rq->n;
	pthread_mutex_unlock(&rq->lock);
}

/* ------------------------------------------------------------------ q/stats (from memory) */

static void rates(const hw_rq_t *rq, int64_t window_ms, double *per_s)
{
	int newest, oldest = -1;

	*per_s = 0;
	if(rq->rate_n < 2) return;
	newest = (rq->rate_i + HW_RQ_RATE_SLOTS - 1) % HW_RQ_RATE_SLOTS;
	for(int k = 1; k < rq->rate_n; k++){
		int i = (newest + HW_RQ_RATE_SLOTS - k) % HW_RQ_RATE_SLOTS;
		oldest = i;
		if(rq->rate_mono[newest] - rq->rate_mono[i] >= window_ms) break;
	}
	if(oldest < 0 || rq->rate_mono[newest] <= rq->rate_mono[oldest]) return;
	*per_s = (double)(rq->rate_recv[newest] - rq->rate_recv[oldest]) * 1000.0 /
			(double)(rq->rate_mono[newest] - rq->rate_mono[oldest]);
}

static int stats_json(
		hw_rq_t *rq, hw_collector_t *c, const hw_request_t *req, int64_t now_mono, char *buf, size_t len, hw_error_t *err)
{
	const int64_t *counts = c->summary;
	int64_t total = 0, live = 0, det_state[HW_STATE__COUNT] = {0};
	double r10, r60;
	size_t o = 0;
	int n;
	hw_rq_counts_t rc;

	if(req->project[0] && req->machine[0]){
		hw_error_refuse(err, HW_R_BAD_VALUE,
				"stats: 'project' and 'machine' cannot be combined "
				"(the collector counts by one or the other)");
		return -1;
	}
	if(req->project[0] || req->machine[0]){
		hw_rollup_t *r = hw_map_get(
				req->project[0] ? &c->projects : &c->machines, req->project[0] ? req->project : req->machine);
		if(!r){
			hw_error_set(err, HW_ERR_NOTFOUND, "no %s '%s' among the collector's sessions",
					req->project[0] ? "project" : "machine", req->project[0] ? req->project : req->machine);
			return -1;
		}
		counts = r->counts;
	}
	for(int s = 1; s < HW_STATE__COUNT; s++){
		total += counts[s];
		if(hw_state_live(s)) live += counts[s];
		for(int k = 0; k < HW_CAUSE__COUNT; k++) det_state[s] += (int64_t)c->n.detections[s][k];
	}
	rates(rq, 10000, &r10);
	rates(rq, 60000, &r60);
	hw_rq_get_counts(rq, &rc);
#define PUT(...)                                                                                                                 \
	do {                                                                                                                     \
		n = snprintf(buf + o, len - o, __VA_ARGS__);                                                                     \
		if(n < 0 || (size_t)n >= len - o) goto full;                                                                     \
		o += (size_t)n;                                                                                                  \
	}while(0)
	PUT("{\"collector\":\"%s\",", c->cfg->id);
	if(req->project[0]) PUT("\"project\":\"%s\",", req->project);
	if(req->machine[0]) PUT("\"machine\":\"%s\",", req->machine);
	PUT("\"sessions\":%" PRId64 ",\"live\":%" PRId64 ",\"counts\":{", total, live);
	for(int s = 1; s < HW_STATE__COUNT; s++) PUT("%s\"%s\":%" PRId64, s > 1 ? "," : "", hw_state_name(s), counts[s]);
	PUT("},\"detections\":{");
	{
		bool first = true;
		for(int s = 1; s < HW_STATE__COUNT; s++){
			if(s != HW_STATE_STALLED && s != HW_STATE_LOST && s != HW_STATE_CRASHED && s != HW_STATE_FAILED) continue;
			PUT("%s\"%s\":%" PRId64, first ? "" : ",", hw_state_name(s), det_state[s]);
			first = false;
		}
	}
	PUT("},\"detections_by_cause\":{");
	{
		bool first = true;
		for(int k = 1; k < HW_CAUSE__COUNT; k++){
			uint64_t sum = 0;
			for(int s = 1; s < HW_STATE__COUNT; s++) sum += c->n.detections[s][k];
			if(!sum) continue;
			PUT("%s\"%s\":%" PRIu64, first ? "" : ",", hw_cause_name(k), sum);
			first = false;
		}
	}
	PUT("},\"false_alarms\":%" PRIu64 ",\"flaps\":%" PRIu64 ",\"alerts\":%" PRIu64 ",\"transitions\":%" PRIu64
	    ",\"rebirth_requests\":%" PRIu64 ",\"received\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"stale\":%" PRIu64
	    ",\"unknown\":%" PRIu64 ",\"store_dropped\":%" PRIu64,
			c->n.false_alarms, c->n.flaps, c->n.alerts, c->n.transitions, c->n.rebirth_requests, c->n.received,
			c->n.invalid, c->n.stale, c->n.unknown, c->n.store_dropped);
	PUT(",\"rates\":{\"received_per_s_10s\":%" PRId64 ",\"received_per_s_60s\":%" PRId64 "}", (int64_t)(r10 + 0.5),
			(int64_t)(r60 + 0.5));
	{
		uint64_t q = 0, cmd = 0, refused = 0;
		for(int v = 1; v < HW_VERB__COUNT; v++){
			if(hw_verb_is_command(v)) cmd += rc.requests[v];
			else q += rc.requests[v];
		}
		for(int k = 0; k < HW_REPLY__COUNT; k++) refused += rc.replies_error[k];
		PUT(",\"requests\":{\"queries\":%" PRIu64 ",\"commands\":%" PRIu64 ",\"refused\":%" PRIu64
		    ",\"no_reply\":%" PRIu64 ",\"busy\":%" PRIu64 "}",
				q, cmd, refused, rc.no_reply, rc.busy);
	}
	PUT(",\"paused\":%s,\"uptime_ms\":%" PRId64 "}", hw_pause_active(&rq->global_pause, hw_time_ms()) ? "true" : "false",
			now_mono - rq->started_mono);
#undef PUT
	return (int)o;
full:
	hw_error_set(err, HW_ERR_NOMEM, "stats reply too long");
	return -1;
}

static void answer_stats(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now_mono)
{
	char buf[4096];
	hw_error_t err;
	int n = stats_json(rq, c, &j->req, now_mono, buf, sizeof(buf), &err);

	if(n < 0 && err.code == HW_ERR_DECODE) reply_error_msg(rq, j, HW_REPLY_BAD_FILTER, err.msg);
	else if(n < 0) hw__rq_reply_rc(rq, j, err.code, &err);
	else hw__rq_reply_ok(rq, j, buf);
	hw__job_free(j);
}

/* ------------------------------------------------------------------ taking requests */

/* The index after the JSON value at i (strings, containers, literals), or n when malformed. */
static size_t json_skip(const char *p, size_t i, size_t n)
{
	int depth = 0;

	while(i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
	if(i >= n) return n;
	if(p[i] != '{' && p[i] != '[' && p[i] != '"'){
		while(i < n && !strchr(",}] \t\r\n", p[i])) i++;
		return i;
	}
	do{
		if(p[i] == '"'){
			for(i++; i < n && p[i] != '"'; i++){
				if(p[i] == '\\') i++;
			}
			i++;
		}else{
			if(p[i] == '{' || p[i] == '[') depth++;
			else if(p[i] == '}' || p[i] == ']') depth--;
			i++;
		}
	}while(i < n && depth > 0);
	return i > n ? n : i;
}

/* For a request the decoder refused (it keeps nothing): the top-level "reply_to" and "corr" of
 * an MQTT 3.1.1 requester, when they are plain strings (no escapes) that pass the decoder's own
 * rules, so that the refusal still reaches it. Returns true when a reply_to was found. */
static bool lenient_reply_to(const void *buf, size_t n, hw_request_t *out)
{
	const char *p = buf;
	size_t i = 0;

	out->reply_to[0] = out->corr[0] = '\0';
	while(i < n && p[i] != '{') i++;
	if(i >= n) return false;
	i++;
	while(i < n){
		size_t ks, ke, vs, ve;
		while(i < n && strchr(" \t\r\n,", p[i])) i++;
		if(i >= n || p[i] != '"') break;
		ks = i + 1;
		ke = json_skip(p, i, n) - 1;
		i = ke + 1;
		while(i < n && strchr(" \t\r\n", p[i])) i++;
		if(i >= n || p[i] != ':' || ke < ks || ke >= n) break;
		i++;
		while(i < n && strchr(" \t\r\n", p[i])) i++;
		vs = i;
		ve = json_skip(p, vs, n);
		i = ve;
		if(ve - vs < 2 || p[vs] != '"' || memchr(p + vs, '\\', ve - vs)) continue;
		if(ke - ks == 8 && memcmp(p + ks, "reply_to", 8) == 0 && ve - vs - 2 <= HW_REPLY_TO_MAX){
			memcpy(out->reply_to, p + vs + 1, ve - vs - 2);
			out->reply_to[ve - vs - 2] = '\0';
		}else if(ke - ks == 4 && memcmp(p + ks, "corr", 4) == 0 && ve - vs - 2 <= HW_CORR_MAX){
			memcpy(out->corr, p + vs + 1, ve - vs - 2);
			out->corr[ve - vs - 2] = '\0';
		}
	}
	for(const unsigned char *c = (const unsigned char *)out->corr; *c; c++){
		if(*c < 0x20 || *c >= 0x80){
			out->corr[0] = '\0'; /* only plain ASCII is echoed from a refused request */
			break;
		}
	}
	if(strpbrk(out->reply_to, "+#")) out->reply_to[0] = '\0';
	return out->reply_to[0] != '\0';
}

/* The request's reply path: the MQTT 5 response topic and correlation data when present (they
 * win), else reply_to and corr from the JSON. An unusable topic leaves path->topic empty (the
 * request still runs: it just gets no reply) and is logged. */
static void take_path(hw_rq_t *rq, const hw_mqtt_msg_t *msg, const hw_request_t *req, hw_reply_path_t *path)
{
	const char *topic = NULL;
	hw_error_t err;

	memset(path, 0, sizeof(*path));
	if(msg->response_topic){
		topic = msg->response_topic;
		path->v5 = true;
		if(msg->corr && msg->corr_len){
			path->corr_len = msg->corr_len > sizeof(path->corr) ? sizeof(path->corr) : msg->corr_len;
			memcpy(path->corr, msg->corr, path->corr_len);
		}
	}else if(req && req->reply_to[0]){
		topic = req->reply_to;
		snprintf(path->json_corr, sizeof(path->json_corr), "%s", req->corr);
	}
	if(!topic) return;
	if(hw_reply_topic_check(rq->cfg->topic_root, topic, &err) != HW_OK){
		unsigned long long sup;
		if(hw_log_limit_take(&rq->log_limit, &sup))
			hw_logs(HW_LOG_WARN, msg->topic, "request answered nowhere: %s", err.msg);
		return;
	}
	snprintf(path->topic, sizeof(path->topic), "%s", topic);
}

bool hw_rq_take(hw_rq_t *rq, hw_collector_t *c, const hw_mqtt_msg_t *msg, int64_t now, int64_t now_mono)
{
	const char *root = rq->cfg->topic_root, *rest;
	size_t rl = strlen(root);
	hw_topic_t t;
	hw_error_t err;
	hw_job_t *j;
	int rc;

	if(strncmp(msg->topic, root, rl) != 0 || msg->topic[rl] != '/') return false;
	rest = msg->topic + rl + 1;
	if(strncmp(rest, "q/", 2) != 0 && strncmp(rest, "cmd/", 4) != 0) return false;
	j = hw__job_new(HW_JOB_QUERY);
	if(!j){
		hw_log(HW_LOG_ERROR, "out of memory for a request");
		return true;
	}
	j->now = now;
	j->t0_us = hw_mono_us();
	rc = hw_topic_parse(root, msg->topic, strlen(msg->topic), &t, &err);
	if(rc == HW_OK && t.kind != HW_T_QUERY && t.kind != HW_T_COMMAND)
		rc = hw_error_refuse(&err, HW_R_BAD_TOPIC, "not a request topic");
	if(rc == HW_OK){
		/* An empty payload is the empty request ({}), so `mosquitto_rr -n` works. */
		rc = hw_request_decode(t.kind, t.id, msg->len ? msg->payload : "{}", msg->len ? msg->len : 2, &j->req, &err);
	}
	pthread_mutex_lock(&rq->lock);
	rq->n.requests[rc == HW_OK ? j->req.verb : 0]++;
	pthread_mutex_unlock(&rq->lock);
	if(rc != HW_OK){
		int code = hw_request_refusal_code(j->req.verb, &err);
		hw_request_t lenient;
		if(!msg->response_topic && lenient_reply_to(msg->payload, msg->len, &lenient))
			take_path(rq, msg, &lenient, &j->path);
		else take_path(rq, msg, NULL, &j->path);
		reply_error_msg(rq, j, code, err.msg);
		hw__job_free(j);
		return true;
	}
	take_path(rq, msg, &j->req, &j->path);
	if(hw_verb_is_command(j->req.verb)){
		hw__cmd_begin(rq, c, j, now, now_mono);
	}else if(j->req.verb == HW_VERB_STATS){
		answer_stats(rq, c, j, now_mono);
	}else{
		hw__rq_submit(rq, j);
	}
	return true;
}

/* ------------------------------------------------------------------ the ingest thread's turn */

static void sample_rate(hw_rq_t *rq, const hw_collector_t *c, int64_t now_mono)
{
	if(now_mono < rq->next_sample) return;
	rq->next_sample = now_mono + 1000;
	rq->rate_mono[rq->rate_i] = now_mono;
	rq->rate_recv[rq->rate_i] = c->n.received;
	rq->rate_i = (rq->rate_i + 1) % HW_RQ_RATE_SLOTS;
	if(rq->rate_n < HW_RQ_RATE_SLOTS) rq->rate_n++;
}

void hw_rq_poll(hw_rq_t *rq, hw_collector_t *c, int64_t now, int64_t now_mono)
{
	uint64_t v;
	hw_job_t *list;

	if(rq->efd >= 0 && read(rq->efd, &v, sizeof(v)) < 0 && errno != EAGAIN){
		/* nothing to read: fine */
	}
	pthread_mutex_lock(&rq->lock);
	list = rq->done;
	rq->done = rq->done_tail = NULL;
	pthread_mutex_unlock(&rq->lock);
	while(list){
		hw_job_t *j = list;
		list = j->next;
		j->next = NULL;
		hw__cmd_done(rq, c, j, now, now_mono);
	}
	hw__cmd_tick(rq, c, now, now_mono);
	sample_rate(rq, c, now_mono);
}
