/* command.c: the cmd/{verb} commands: fail, clear, claim, release (through the session state
 * machine's command table, on the ingest thread) and pause, unpause; their database parts on
 * the request workers (the claim fence, pauses, the audit); lease expiry. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/states.h"

#include "query.h"

#define LEASE_CHECK_MS 250

static int cin_of(int verb)
{
	switch(verb){
	case HW_VERB_FAIL:
		return HW_CIN_FAIL;
	case HW_VERB_CLEAR:
		return HW_CIN_CLEAR;
	case HW_VERB_CLAIM:
		return HW_CIN_CLAIM;
	default:
		return HW_CIN_RELEASE;
	}
}

/* ------------------------------------------------------------------ replies */

/* Answers a command the table refuses (not_recoverable) or that waits for a claim (conflict). */
static void reply_refused(hw_rq_t *rq, const hw_job_t *j, int cell, const hw_session_t *d, int64_t now)
{
	const char *verb = hw_verb_name(j->req.verb);

	if(cell == HW_ROW_BUSY){
		hw__rq_reply_error(rq, j, HW_REPLY_CONFLICT,
				"%s: session %s is claimed by %s for %" PRId64 " ms more; release "
				"it with its token or wait for the lease to end",
				verb, d->session, d->recovery.claimed_by[0] ? d->recovery.claimed_by : "a restarter",
				d->recovery.lease_until > now ? d->recovery.lease_until - now : 0);
		return;
	}
	hw__rq_reply_error(rq, j, HW_REPLY_NOT_RECOVERABLE, "%s: session %s is %s/%s; %s", verb, d->session,
			hw_state_name(d->state), hw_cause_name(d->cause),
			j->req.verb == HW_VERB_CLAIM ? "only stalled, lost, crashed or cleared sessions can be claimed"
					: j->req.verb == HW_VERB_CLEAR
					? "only stalled, lost, crashed or failed sessions can be cleared"
					: "a completed session is final");
}

/* The reply data of a session command: the session's (state, cause) now and before. */
static void session_data(char *buf, size_t len, const hw_session_t *d, int from_state, int from_cause, bool changed)
{
	snprintf(buf, len,
			"{\"session\":\"%s\",\"machine\":\"%s\",\"state\":\"%s\",\"cause\":\"%s\",\"from\":\"%s\","
			"\"from_cause\":\"%s\",\"changed\":%s,\"version\":%" PRId64 "}",
			d->session, d->machine, hw_state_name(d->state), hw_cause_name(d->cause), hw_state_name(from_state),
			hw_cause_name(from_cause), changed ? "true" : "false", d->version);
}

/* Sends j on as a FINISH job: the worker writes the audit, waits until the store holds the
 * session's new version, then answers with data (copied). */
static void finish(hw_rq_t *rq, hw_job_t *j, const char *data, int64_t wait_version)
{
	j->kind = HW_JOB_FINISH;
	j->wait_version = wait_version;
	free(j->data);
	j->data = data ? strdup(data) : NULL;
	if(data && !j->data){
		hw__rq_reply_error(rq, j, HW_REPLY_INTERNAL, "out of memory");
		hw__job_free(j);
		return;
	}
	hw__rq_submit(rq, j);
}

static void audit_session(hw_job_t *j, const hw_session_t *d, int from_state, int from_cause, const char *cmd, int64_t now)
{
	hw_audit_init(&j->audit, cmd, now);
	snprintf(j->audit.session, sizeof(j->audit.session), "%s", d->session);
	snprintf(j->audit.machine, sizeof(j->audit.machine), "%s", d->machine);
	snprintf(j->audit.project, sizeof(j->audit.project), "%s", d->project);
	snprintf(j->audit.reason, sizeof(j->audit.reason), "%s", j->req.reason);
	j->audit.from_state = from_state;
	j->audit.from_cause = from_cause;
	j->audit.to_state = d->state;
	j->audit.to_cause = d->cause;
	j->has_audit = true;
}

/* Releases a lease in the database that the ingest thread gave up (no reply). */
static void unlease(hw_rq_t *rq, const char *session, const char *token)
{
	hw_job_t *u;

	if(!token[0]) return;
	u = hw__job_new(HW_JOB_UNLEASE);
	if(!u) return;
	snprintf(u->req.session, sizeof(u->req.session), "%s", session);
	snprintf(u->lease.token, sizeof(u->lease.token), "%s", token);
	u->now = hw_time_ms();
	hw__rq_submit(rq, u);
}

/* A change of the document that is no transition (a claim's fields): new version, published
 * and stored at once. */
static void doc_touched(hw_collector_t *c, hw_sess_t *s, int64_t now, int64_t now_mono)
{
	hw_step_t st;
	int64_t v = s->doc.version + 1;

	memset(&st, 0, sizeof(st));
	st.input = -1;
	st.from_row = st.to_row = hw_sess_row(s);
	st.trigger_seq = -1;
	st.changed = true;
	st.barrier = true;
	s->doc.version = v > now ? v : now;
	s->doc.updated_at = now;
	hw_collector_after(c, s, &st, now, now_mono);
}

static void clear_claim(hw_session_t *d)
{
	d->recovery.claimed_by[0] = '\0';
	d->recovery.token[0] = '\0';
	d->recovery.lease_until = 0;
}

/* ------------------------------------------------------------------ lease expiry */

/* A claimed (recovering) session whose lease ran out goes back to cleared, ready for the next
 * claim. Returns true when it did. */
static bool expire(hw_rq_t *rq, hw_collector_t *c, hw_sess_t *s, int64_t now, int64_t now_mono)
{
	hw_step_t st;
	hw_job_t *j;
	int from_state = s->doc.state, from_cause = s->doc.cause;

	if(s->doc.state != HW_STATE_RECOVERING || s->doc.recovery.lease_until > now) return false;
	clear_claim(&s->doc);
	hw_sess_command(s, HW_CIN_EXPIRE, now, &st);
	if(!st.changed) return false;
	hw_collector_after(c, s, &st, now, now_mono);
	pthread_mutex_lock(&rq->lock);
	rq->n.lease_expiries++;
	pthread_mutex_unlock(&rq->lock);
	hw_logs(HW_LOG_INFO, s->doc.session, "the claim's lease ran out: recovering -> cleared");
	j = hw__job_new(HW_JOB_FINISH);
	if(j){
		snprintf(j->req.session, sizeof(j->req.session), "%s", s->doc.session);
		audit_session(j, &s->doc, from_state, from_cause, hw_input_name(HW_CIN_EXPIRE), now);
		j->audit.reason[0] = '\0';
		hw__rq_submit(rq, j);
	}
	return true;
}

static void watch_lease(hw_rq_t *rq, const char *session)
{
	if(!hw_map_get(&rq->leased, session)) hw_map_put(&rq->leased, session, rq, NULL);
}

void hw__cmd_tick(hw_rq_t *rq, hw_collector_t *c, int64_t now, int64_t now_mono)
{
	hw_map_iter_t it = {0};

	if(rq->mqtt && hw_mqtt_connected(rq->mqtt)){
		uint64_t losses = hw_mqtt_losses(rq->mqtt);
		/* After every (re)connect the broker may have lost retained messages. */
		if(losses != rq->seen_losses || !rq->pause_published){
			char *json = NULL;
			size_t len;
			rq->seen_losses = losses;
			rq->pause_published = true;
			if(rq->has_global_pause && hw_pause_encode(&rq->global_pause, &json, &len, NULL) == HW_OK){
				if(hw_collector_publish(c, HW_T_STATE_PAUSE, NULL, NULL, json, len, 1, true) != HW_OK)
					rq->pause_published = false;
			}
			free(json);
		}
	}
	if(now_mono < rq->next_lease_check) return;
	rq->next_lease_check = now_mono + LEASE_CHECK_MS;
	if(!rq->leases_scanned){
		hw_map_iter_t si = {0};
		rq->leases_scanned = true;
		while(hw_map_next(&c->sessions, &si)){
			hw_sess_t *s = si.value;
			if(s->doc.state == HW_STATE_RECOVERING) watch_lease(rq, s->doc.session);
		}
	}
	while(hw_map_next(&rq->leased, &it)){
		hw_sess_t *s = hw_collector_find(c, it.key);
		if(!s || s->doc.state != HW_STATE_RECOVERING || expire(rq, c, s, now, now_mono)) hw_map_del(&rq->leased, it.key);
	}
}

/* ------------------------------------------------------------------ session commands */

/* Runs a session command against s (in memory), on the ingest thread. Takes j. */
static void cmd_apply(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, hw_sess_t *s, int64_t now, int64_t now_mono)
{
	char data[1024], token[HW_ID_MAX + 1];
	int from_state, from_cause, cell;
	hw_step_t st;

	expire(rq, c, s, now, now_mono);
	from_state = s->doc.state;
	from_cause = s->doc.cause;
	cell = hw_fsm_command(hw_sess_row(s), cin_of(j->req.verb));
	if(cell == HW_ROW_REFUSE || cell == HW_ROW_BUSY){
		reply_refused(rq, j, cell, &s->doc, now);
		hw__job_free(j);
		return;
	}
	switch(j->req.verb){
	case HW_VERB_CLAIM:
		j->kind = HW_JOB_CLAIM;
		if(j->req.lease_ms <= 0) j->req.lease_ms = c->cfg->lease_ms > 0 ? c->cfg->lease_ms : HW_RQ_LEASE_DEFAULT_MS;
		hw__rq_submit(rq, j);
		return;
	case HW_VERB_RELEASE:
		j->kind = HW_JOB_RELEASE;
		hw__rq_submit(rq, j);
		return;
	default:
		break;
	}
	/* fail, clear */
	if(cell == HW_ROW_IGNORE){
		session_data(data, sizeof(data), &s->doc, from_state, from_cause, false);
		hw__rq_reply_ok(rq, j, data);
		hw__job_free(j);
		return;
	}
	token[0] = '\0';
	if(s->doc.state == HW_STATE_RECOVERING){
		/* failing a claimed session gives its lease back */
		snprintf(token, sizeof(token), "%s", s->doc.recovery.token);
		clear_claim(&s->doc);
	}
	hw_sess_command(s, cin_of(j->req.verb), now, &st);
	hw_collector_after(c, s, &st, now, now_mono);
	hw_logs(HW_LOG_INFO, s->doc.session, "%s: %s/%s -> %s/%s%s%s", hw_verb_name(j->req.verb), hw_state_name(from_state),
			hw_cause_name(from_cause), hw_state_name(s->doc.state), hw_cause_name(s->doc.cause),
			j->req.reason[0] ? ": " : "", j->req.reason);
	unlease(rq, s->doc.session, token);
	session_data(data, sizeof(data), &s->doc, from_state, from_cause, true);
	audit_session(j, &s->doc, from_state, from_cause, hw_verb_name(j->req.verb), now);
	finish(rq, j, data, s->doc.version);
}

/* The command's session was not in memory: the worker read it from the database. */
static void cmd_on_doc(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	int cell = hw_fsm_command(hw_row_of(j->doc.state, j->doc.cause) < 0 ? HW_ROW_NONE : hw_row_of(j->doc.state, j->doc.cause),
			cin_of(j->req.verb));
	hw_sess_t *s;
	hw_error_t err;

	if(j->req.verb == HW_VERB_RELEASE){
		/* nothing in memory to change: the lease itself is in the database */
		j->kind = HW_JOB_RELEASE;
		hw__rq_submit(rq, j);
		return;
	}
	if(cell == HW_ROW_REFUSE || cell == HW_ROW_BUSY){
		reply_refused(rq, j, cell, &j->doc, now);
		hw__job_free(j);
		return;
	}
	if(cell == HW_ROW_IGNORE){
		char data[1024];
		session_data(data, sizeof(data), &j->doc, j->doc.state, j->doc.cause, false);
		hw__rq_reply_ok(rq, j, data);
		hw__job_free(j);
		return;
	}
	/* The command changes it: the collector takes the session back into memory. */
	if(hw_collector_adopt(c, &j->doc, j->birth_epoch, &err) != HW_OK){
		j->has_doc = false;
		hw__rq_reply_rc(rq, j, err.code, &err);
		hw__job_free(j);
		return;
	}
	j->has_doc = false;
	s = hw_collector_find(c, j->req.session);
	if(!s){
		hw__rq_reply_error(rq, j, HW_REPLY_INTERNAL, "session %s could not be loaded", j->req.session);
		hw__job_free(j);
		return;
	}
	cmd_apply(rq, c, j, s, now, now_mono);
}

/* The fence gave this claimer the lease. */
static void claim_won(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	hw_sess_t *s = hw_collector_find(c, j->req.session);
	char data[1536];
	int from_state, from_cause, cell;
	hw_step_t st;
	int n;

	cell = s ? hw_fsm_command(hw_sess_row(s), HW_CIN_CLAIM) : HW_ROW_REFUSE;
	if(!s || cell < 0){
		/* the session moved on while the fence ran: give the lease back */
		unlease(rq, j->req.session, j->lease.token);
		if(s) reply_refused(rq, j, cell == HW_ROW_IGNORE ? HW_ROW_REFUSE : cell, &s->doc, now);
		else hw__rq_reply_error(rq, j, HW_REPLY_UNKNOWN_SESSION, "no session '%s'", j->req.session);
		hw__job_free(j);
		return;
	}
	from_state = s->doc.state;
	from_cause = s->doc.cause;
	snprintf(s->doc.recovery.claimed_by, sizeof(s->doc.recovery.claimed_by), "%s", j->req.claimant);
	snprintf(s->doc.recovery.token, sizeof(s->doc.recovery.token), "%s", j->lease.token);
	s->doc.recovery.lease_until = j->lease.lease_until;
	s->doc.recovery.attempts++;
	hw_sess_command(s, HW_CIN_CLAIM, now, &st);
	hw_collector_after(c, s, &st, now, now_mono);
	watch_lease(rq, s->doc.session);
	hw_logs(HW_LOG_INFO, s->doc.session, "claimed by %s (generation %" PRId64 ", lease %" PRId64 " ms)", j->req.claimant,
			j->lease.generation, j->lease.lease_until - j->lease.at);
	session_data(data, sizeof(data), &s->doc, from_state, from_cause, true);
	n = (int)strlen(data);
	snprintf(data + n - 1, sizeof(data) - (size_t)n + 1,
			",\"token\":\"%s\",\"generation\":%" PRId64 ",\"lease_until\":%" PRId64
			",\"claimed_by\":\"%s\",\"attempts\":%" PRId64 "}",
			j->lease.token, j->lease.generation, j->lease.lease_until, j->req.claimant, s->doc.recovery.attempts);
	audit_session(j, &s->doc, from_state, from_cause, "claim", now);
	snprintf(j->audit.claimant, sizeof(j->audit.claimant), "%s", j->req.claimant);
	j->audit.generation = j->lease.generation;
	finish(rq, j, data, s->doc.version);
}

/* The database released the lease for this token. */
static void released(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	hw_sess_t *s = hw_collector_find(c, j->req.session);
	char data[1024];
	int from_state, from_cause;
	int64_t wait = 0;
	bool changed = false;

	if(!s){
		snprintf(data, sizeof(data),
				"{\"session\":\"%s\",\"released\":true,\"generation\":%" PRId64 ",\"changed\":false}",
				j->req.session, j->lease.generation);
		hw__rq_reply_ok(rq, j, data);
		hw__job_free(j);
		return;
	}
	from_state = s->doc.state;
	from_cause = s->doc.cause;
	if(strcmp(s->doc.recovery.token, j->req.token) == 0){
		hw_step_t st;
		clear_claim(&s->doc);
		hw_sess_command(s, HW_CIN_RELEASE, now, &st);
		if(st.changed) hw_collector_after(c, s, &st, now, now_mono);
		else doc_touched(c, s, now, now_mono);
		changed = true;
		wait = s->doc.version;
	}
	session_data(data, sizeof(data), &s->doc, from_state, from_cause, changed);
	{
		int n = (int)strlen(data);
		snprintf(data + n - 1, sizeof(data) - (size_t)n + 1, ",\"released\":true,\"generation\":%" PRId64 "}",
				j->lease.generation);
	}
	audit_session(j, &s->doc, from_state, from_cause, "release", now);
	j->audit.generation = j->lease.generation;
	finish(rq, j, data, wait);
}

/* ------------------------------------------------------------------ pauses */

static void pause_apply(hw_rq_t *rq, hw_collector_t *c, const char *project, const hw_pause_t *p)
{
	if(!project){
		rq->global_pause = *p;
		rq->has_global_pause = true;
		rq->pause_published = false; /* published by the next tick */
		return;
	}
	hw_collector_project_pause(c, project, p->paused ? p : NULL);
}

void hw__cmd_pause_loaded(hw_rq_t *rq, hw_collector_t *c, const char *project, const hw_pause_t *p)
{
	pause_apply(rq, c, project, p);
}

static void paused(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	char *pj = NULL, data[2048];
	size_t len;
	const char *project = j->req.project[0] ? j->req.project : NULL;

	pause_apply(rq, c, project, &j->pause);
	hw__cmd_tick(rq, c, now, now_mono); /* the global pause goes out now */
	hw_log(HW_LOG_INFO, "%s %s%s%s", j->pause.paused ? "paused" : "unpaused", project ? "project " : "everything",
			project ? project : "", j->pause.reason[0] ? "" : "");
	if(hw_pause_encode(&j->pause, &pj, &len, NULL) != HW_OK){
		hw__rq_reply_error(rq, j, HW_REPLY_INTERNAL, "cannot encode the pause");
	}else{
		if(project) snprintf(data, sizeof(data), "{\"scope\":\"project\",\"project\":\"%s\",\"pause\":%s}", project, pj);
		else snprintf(data, sizeof(data), "{\"scope\":\"global\",\"pause\":%s}", pj);
		hw__rq_reply_ok(rq, j, data);
	}
	free(pj);
	hw__job_free(j);
}

/* ------------------------------------------------------------------ the ingest thread */

void hw__cmd_begin(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	hw_sess_t *s;

	if(j->req.verb == HW_VERB_PAUSE || j->req.verb == HW_VERB_UNPAUSE){
		j->kind = HW_JOB_PAUSE;
		j->pause = (hw_pause_t)HW_PAUSE_INIT;
		j->pause.paused = j->req.verb == HW_VERB_PAUSE;
		if(j->pause.paused){
			snprintf(j->pause.reason, sizeof(j->pause.reason), "%s", j->req.reason);
			j->pause.resume_at = j->req.resume_at;
		}
		snprintf(j->pause.by, sizeof(j->pause.by), "%s", c->cfg->id);
		hw_audit_init(&j->audit, hw_verb_name(j->req.verb), now);
		snprintf(j->audit.project, sizeof(j->audit.project), "%s", j->req.project);
		snprintf(j->audit.reason, sizeof(j->audit.reason), "%s", j->req.reason);
		j->audit.paused = j->pause.paused;
		j->audit.resume_at = j->pause.resume_at;
		j->has_audit = true;
		hw__rq_submit(rq, j);
		return;
	}
	s = hw_collector_find(c, j->req.session);
	if(!s){
		j->kind = HW_JOB_LOOKUP;
		hw__rq_submit(rq, j);
		return;
	}
	cmd_apply(rq, c, j, s, now, now_mono);
}

void hw__cmd_done(hw_rq_t *rq, hw_collector_t *c, hw_job_t *j, int64_t now, int64_t now_mono)
{
	switch(j->kind){
	case HW_JOB_LOOKUP: {
		hw_sess_t *s = hw_collector_find(c, j->req.session);
		if(s) cmd_apply(rq, c, j, s, now, now_mono); /* it arrived meanwhile */
		else cmd_on_doc(rq, c, j, now, now_mono);
		return;
	}
	case HW_JOB_CLAIM:
		claim_won(rq, c, j, now, now_mono);
		return;
	case HW_JOB_RELEASE:
		released(rq, c, j, now, now_mono);
		return;
	case HW_JOB_PAUSE:
		paused(rq, c, j, now, now_mono);
		return;
	default:
		hw__job_free(j);
		return;
	}
}

/* ------------------------------------------------------------------ the workers */

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Waits until the store holds version (or newer) of the session; false after the deadline. */
static bool wait_durable(hw_rq_t *rq, const char *session, int64_t version)
{
	int64_t end = hw_mono_ms() + HW_RQ_DURABLE_WAIT_MS;
	int wait = 2;

	for(;;){
		int64_t v = 0;
		if(hw_qstore_session_version(rq->qs, session, &v, NULL) == HW_OK && v >= version) return true;
		if(hw_mono_ms() >= end) return false;
		nap_ms(wait);
		if(wait < 50) wait *= 2;
	}
}

bool hw__cmd_work(hw_rq_t *rq, hw_job_t *j)
{
	hw_error_t err;
	int rc;

	hw_error_clear(&err);
	switch(j->kind){
	case HW_JOB_LOOKUP:
		rc = hw_qstore_get_session(rq->qs, j->req.session, &j->doc, &j->birth_epoch, &err);
		if(rc == HW_OK){
			j->has_doc = true;
			return true;
		}
		if(rc == HW_ERR_DECODE) rc = HW_ERR_STORE;
		hw__rq_reply_rc(rq, j, rc, &err);
		return false;
	case HW_JOB_CLAIM:
		rc = hw_qstore_lease_claim(rq->qs, j->req.session, j->req.claimant, j->req.lease_ms, j->now, &j->lease, &err);
		if(rc == HW_OK) return true;
		hw__rq_reply_rc(rq, j, rc, &err);
		return false;
	case HW_JOB_RELEASE:
		rc = hw_qstore_lease_release(rq->qs, j->req.session, j->req.token, j->now, &j->lease, &err);
		if(rc == HW_OK) return true;
		hw__rq_reply_rc(rq, j, rc, &err);
		return false;
	case HW_JOB_PAUSE:
		rc = hw_qstore_pause_put(rq->qs, j->req.project[0] ? j->req.project : NULL, &j->pause, j->now, &err);
		if(rc != HW_OK){
			hw__rq_reply_rc(rq, j, rc, &err);
			return false;
		}
		if(hw_qstore_audit(rq->qs, &j->audit, &err) != HW_OK)
			hw_log(HW_LOG_WARN, "cannot write the audit of %s: %s", j->audit.cmd, err.msg);
		return true;
	case HW_JOB_UNLEASE:
		if(hw_qstore_lease_release(rq->qs, j->req.session, j->lease.token, j->now, NULL, &err) != HW_OK)
			hw_logs(HW_LOG_WARN, j->req.session, "could not give a lease back: %s", err.msg);
		return false;
	case HW_JOB_FINISH: {
		bool stored = true;
		if(j->has_audit && hw_qstore_audit(rq->qs, &j->audit, &err) != HW_OK)
			hw_logs(HW_LOG_WARN, j->audit.session, "cannot write the audit of %s: %s", j->audit.cmd, err.msg);
		if(j->wait_version > 0) stored = wait_durable(rq, j->req.session, j->wait_version);
		if(j->data){
			size_t n = strlen(j->data);
			char *d = malloc(n + 32);
			if(d && n > 1){
				memcpy(d, j->data, n - 1);
				snprintf(d + n - 1, 32, ",\"stored\":%s}", stored ? "true" : "false");
				hw__rq_reply_ok(rq, j, d);
			}else{
				hw__rq_reply_error(rq, j, HW_REPLY_INTERNAL, "out of memory");
			}
			free(d);
		}
		return false;
	}
	default:
		return false;
	}
}
