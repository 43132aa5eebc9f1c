/* ingest.c: the collector's ingest logic, run by its one ingest thread: validate each message,
 * drive its session through the state machine, then publish (retained state, alerts), queue
 * the writes (never waiting for the database), keep the rollups and the deadlines. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/agentmsg.h"
#include "heartwire/clock.h"
#include "heartwire/log.h"
#include "heartwire/msg.h"
#include "heartwire/states.h"

#include "collector.h"

#define REBIRTH_BUCKET 100.0   /* global rebirth requests: burst */
#define REBIRTH_PER_SEC 100.0  /* and rate */
#define SUMMARY_EVERY_MS 10000 /* counters-only summary refresh */

static hw_sess_t *sess_of_timer(hw_timer_t *t)
{
	return (hw_sess_t *)(void *)((char *)t - offsetof(hw_sess_t, timer));
}

int hw_collector_init(hw_collector_t *c, const hw_collector_cfg_t *cfg, hw_mqtt_t *mqtt, hw_storeq_t *q, hw_error_t *err)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->mqtt = mqtt;
	c->q = q;
	rc = hw_map_init(&c->sessions, err);
	if(rc == HW_OK) rc = hw_map_init(&c->projects, err);
	if(rc == HW_OK) rc = hw_map_init(&c->machines, err);
	if(rc == HW_OK) rc = hw_timers_init(&c->timers, err);
	if(rc != HW_OK){
		hw_collector_cleanup(c);
		return rc;
	}
	hw_log_limit_init(&c->bad_limit, 5, 20);
	c->rebirth_tokens = REBIRTH_BUCKET;
	c->rebirth_refill = hw_mono_ms();
	c->next_flush = c->next_store = c->next_rollup = hw_mono_ms();
	return HW_OK;
}

static void free_values(hw_map_t *m, bool sessions)
{
	hw_map_iter_t it = {0};

	if(!m->buckets) return;
	while(hw_map_next(m, &it)){
		if(sessions){
			free(((hw_sess_t *)it.value)->hb_pending);
			hw_sess_cleanup(it.value);
		}
		free(it.value);
	}
	hw_map_cleanup(m);
}

void hw_collector_cleanup(hw_collector_t *c)
{
	if(!c) return;
	hw_timers_cleanup(&c->timers);
	free_values(&c->sessions, true);
	free_values(&c->projects, false);
	free_values(&c->machines, false);
	c->dirty[0] = c->dirty[1] = NULL;
	c->hb_pending = NULL;
}

hw_sess_t *hw_collector_find(const hw_collector_t *c, const char *id)
{
	return hw_map_get(&c->sessions, id);
}

/* ------------------------------------------------------------------ bad input */

static void bad_input(hw_collector_t *c, const char *topic, const hw_error_t *err)
{
	unsigned long long suppressed;
	int reason = err->reason > 0 && err->reason < HW_R__COUNT ? err->reason : HW_R_NONE;

	c->n.invalid++;
	c->n.invalid_by_reason[reason]++;
	if(hw_log_limit_take(&c->bad_limit, &suppressed)){
		if(suppressed){
			hw_logs(HW_LOG_WARN, topic,
					"dropped an invalid message (%s): %s (%llu similar lines suppressed before this)",
					hw_reason_name(reason), err->msg, suppressed);
		}else{
			hw_logs(HW_LOG_WARN, topic, "dropped an invalid message (%s): %s", hw_reason_name(reason), err->msg);
		}
	}
}

/* After a flood of bad input ends, says how many lines about it were suppressed (once the
 * limiter has a token again), so the count is never lost with the last suppressed line. */
static void bad_input_summary(hw_collector_t *c)
{
	unsigned long long suppressed;

	if(c->bad_limit.suppressed == 0) return;
	if(hw_log_limit_take(&c->bad_limit, &suppressed)){
		hw_log(HW_LOG_WARN, "suppressed %llu log lines about invalid or refused messages (rate limit)", suppressed);
	}else{
		c->bad_limit.suppressed--; /* this summary itself is not a suppressed line */
	}
}

/* ------------------------------------------------------------------ rollups */

static hw_rollup_t *rollup_get(hw_map_t *m, const char *id)
{
	hw_rollup_t *r = hw_map_get(m, id);

	if(r) return r;
	r = calloc(1, sizeof(*r));
	if(!r) return NULL;
	snprintf(r->id, sizeof(r->id), "%s", id);
	if(hw_map_put(m, id, r, NULL) != HW_OK){
		free(r);
		return NULL;
	}
	return r;
}

int hw_collector_project_pause(hw_collector_t *c, const char *project, const hw_pause_t *p)
{
	hw_rollup_t *r = p ? rollup_get(&c->projects, project) : hw_map_get(&c->projects, project);

	if(!r) return p ? HW_ERR_NOMEM : HW_OK;
	r->has_pause = p != NULL;
	if(p) r->pause = *p;
	r->dirty = true;
	c->rollups_dirty = true;
	return HW_OK;
}

static void rollup_add(hw_collector_t *c, hw_map_t *m, const char *id, int state, int delta)
{
	hw_rollup_t *r;

	if(!id[0]) return;
	r = rollup_get(m, id);
	if(!r) return;
	r->counts[state] += delta;
	r->total += delta;
	r->dirty = true;
	c->rollups_dirty = true;
}

/* Moves the session's contribution to the project, machine and summary counts to what its
 * document says now (or removes it). */
static void sess_rollup(hw_collector_t *c, hw_sess_t *s, bool remove)
{
	const hw_session_t *d = &s->doc;
	bool counted = s->rollup_state != HW_STATE_NONE;

	if(!remove && counted && s->rollup_state == d->state && strcmp(s->rollup_project, d->project) == 0 &&
			strcmp(s->rollup_machine, d->machine) == 0)
		return;
	if(counted){
		rollup_add(c, &c->projects, s->rollup_project, s->rollup_state, -1);
		rollup_add(c, &c->machines, s->rollup_machine, s->rollup_state, -1);
		c->summary[s->rollup_state]--;
	}
	if(remove || d->state == HW_STATE_NONE){
		s->rollup_state = HW_STATE_NONE;
	}else{
		rollup_add(c, &c->projects, d->project, d->state, 1);
		rollup_add(c, &c->machines, d->machine, d->state, 1);
		c->summary[d->state]++;
		s->rollup_state = d->state;
		snprintf(s->rollup_project, sizeof(s->rollup_project), "%s", d->project);
		snprintf(s->rollup_machine, sizeof(s->rollup_machine), "%s", d->machine);
	}
	c->summary_dirty = true;
}

/* ------------------------------------------------------------------ deadlines */

static bool ended_state(int state)
{
	return state == HW_STATE_COMPLETED || state == HW_STATE_FAILED;
}

/* Arms the session's one timer: its stall/lost deadline (never before the grace period ends),
 * or for an ended session the removal of its retained state; else disarms it. */
static void sess_arm(hw_collector_t *c, hw_sess_t *s, int64_t now, int64_t now_mono)
{
	int64_t due;
	hw_error_t err;

	if(s->doc.deadline_at > 0){
		due = now_mono + (s->doc.deadline_at - now);
		if(due < c->grace_until) due = c->grace_until;
	}else if(ended_state(s->doc.state) && c->cfg->retention_ms > 0){
		int64_t ended = s->doc.ended_at > 0 ? s->doc.ended_at : s->doc.state_since;
		due = now_mono + (ended + c->cfg->retention_ms - now);
	}else{
		hw_timers_cancel(&c->timers, &s->timer);
		return;
	}
	if(hw_timers_set(&c->timers, &s->timer, due, &err) != HW_OK)
		hw_logs(HW_LOG_ERROR, s->doc.session, "cannot arm its deadline: %s", err.msg);
}

void hw_collector_grace(hw_collector_t *c, int64_t now_mono)
{
	hw_map_iter_t it = {0};

	c->grace_until = now_mono + c->cfg->startup_grace_ms;
	while(hw_map_next(&c->sessions, &it)){
		hw_sess_t *s = it.value;
		if(s->doc.deadline_at > 0 && hw_timer_armed(&s->timer) && s->timer.at < c->grace_until)
			hw_timers_set(&c->timers, &s->timer, c->grace_until, NULL);
	}
}

/* ------------------------------------------------------------------ publish and store */

static void dirty_add(hw_collector_t *c, hw_sess_t *s, int k)
{
	if(s->in_dirty[k]) return;
	s->in_dirty[k] = true;
	s->dirty_next[k] = c->dirty[k];
	c->dirty[k] = s;
}

static void dirty_remove(hw_collector_t *c, hw_sess_t *s, int k)
{
	if(!s->in_dirty[k]) return;
	for(hw_sess_t **pp = &c->dirty[k]; *pp; pp = &(*pp)->dirty_next[k]){
		if(*pp == s){
			*pp = s->dirty_next[k];
			break;
		}
	}
	s->in_dirty[k] = false;
	s->dirty_next[k] = NULL;
}

/* Detaches dirty list k; the caller walks it with dirty_pop. */
static hw_sess_t *dirty_take(hw_collector_t *c, int k)
{
	hw_sess_t *s = c->dirty[k];

	c->dirty[k] = NULL;
	return s;
}

static hw_sess_t *dirty_pop(hw_sess_t **list, int k)
{
	hw_sess_t *s = *list;

	if(!s) return NULL;
	*list = s->dirty_next[k];
	s->in_dirty[k] = false;
	s->dirty_next[k] = NULL;
	return s;
}

/* Queues op (taking it); false when the buffer was full (op dropped, counted; s, when given,
 * is marked for the re-write from memory). */
static bool store_push(hw_collector_t *c, hw_op_t *op, hw_sess_t *s)
{
	hw_error_t err;
	int rc;

	if(!c->q){
		hw_op_free(op);
		return false;
	}
	rc = hw_storeq_push(c->q, op, &err);
	if(rc == HW_OK) return true;
	c->n.store_dropped++;
	if(s){
		s->store_lost = true;
		c->store_resync = true;
	}
	if(!c->store_full_logged){
		c->store_full_logged = true;
		hw_log(HW_LOG_ERROR,
				"store buffer full (%lld writes waiting for the database): dropping new writes; "
				"sessions will be re-written from memory when it drains, events in between are lost",
				(long long)c->cfg->store_buffer);
	}
	return false;
}

static bool can_publish(const hw_collector_t *c)
{
	return c->mqtt && hw_mqtt_connected(c->mqtt);
}

/* Publishes the session's retained state and/or queues its snapshot, from one encoding.
 * barrier: a transition (never coalesced away by the store queue). */
static void sess_emit(hw_collector_t *c, hw_sess_t *s, bool barrier, bool publish, bool store)
{
	hw_session_t *d = &s->doc;
	char *json = NULL;
	size_t len = 0;
	hw_error_t err;
	bool need_store = store && c->q && (barrier || s->stored_version < d->version);
	bool need_pub = publish && c->mqtt && s->published_version < d->version;

	if(!need_store && !need_pub) return;
	if(hw_session_encode(d, &json, &len, &err) != HW_OK){
		unsigned long long sup;
		if(hw_log_limit_take(&c->bad_limit, &sup))
			hw_logs(HW_LOG_ERROR, d->session, "cannot encode the session document: %s", err.msg);
		return;
	}
	if(need_pub){
		if(!can_publish(c) ||
				hw_collector_publish(c, HW_T_STATE_SESSION, NULL, d->session, json, len, 1, true) != HW_OK){
			/* retried by the next flush (or the reconnect's republish) */
			dirty_add(c, s, HW_DIRTY_PUB);
		}else{
			s->published_version = d->version;
		}
	}
	if(need_store){
		hw_op_t *op = hw_op_new(HW_OP_SESSION);
		if(!op){
			free(json);
			return;
		}
		snprintf(op->id, sizeof(op->id), "%s", d->session);
		op->barrier = barrier;
		op->version = d->version;
		op->birth_epoch = s->birth_epoch;
		op->json = json;
		op->len = len;
		json = NULL;
		/* only a version the queue took counts as stored: the re-write after an overflow
		 * then queues exactly the sessions whose newest version is not on its way */
		if(store_push(c, op, s)) s->stored_version = d->version;
	}
	free(json);
}

static void publish_alert(hw_collector_t *c, hw_sess_t *s, const char *alert, int from_row, bool false_alarm, int64_t now)
{
	char buf[1024];
	int from_state, from_cause, n;

	hw_row_split(from_row, &from_state, &from_cause);
	n = hw_alert_json(buf, sizeof(buf), alert, s, from_state, from_cause, false_alarm, now, c->cfg->id);
	c->n.alerts++;
	hw_logs(HW_LOG_INFO, s->doc.session, "alert %s: %s -> %s/%s (epoch %lld)%s", alert, hw_row_name(from_row),
			hw_state_name(s->doc.state), hw_cause_name(s->doc.cause), (long long)s->doc.epoch,
			false_alarm ? " (false alarm)" : "");
	if(n > 0 && c->mqtt) hw_collector_publish(c, HW_T_ALERT, NULL, s->doc.session, buf, (size_t)n, 1, false);
}

/* Queues the transition of s from from_row to to_row as an event with id `id`. */
static void transition_push(hw_collector_t *c, const hw_sess_t *s, const char *id, int from_row, int to_row, const char *input,
		int64_t seq, int64_t now)
{
	hw_op_t *op = hw_op_new(HW_OP_EVENT);
	hw_event_rec_t *e = hw_event_rec_new(id, s->doc.session, s->doc.machine, s->doc.project, NULL);

	if(!op || !e){
		hw_op_free(op);
		free(e);
		return;
	}
	op->ev = e;
	hw_row_split(from_row, &e->from_state, &e->from_cause);
	hw_row_split(to_row, &e->to_state, &e->to_cause);
	e->kind = HW_EVK_TRANSITION;
	e->at = now;
	e->epoch = s->doc.epoch;
	e->seq = seq;
	e->input = input;
	store_push(c, op, NULL);
}

static void transition_event(hw_collector_t *c, hw_sess_t *s, const hw_step_t *st, int64_t now)
{
	char seq[24], id[HW_EVENT_ID_MAX];
	int to_state, to_cause;

	if(!c->q) return;
	if(st->trigger_seq >= 0) snprintf(seq, sizeof(seq), "%lld", (long long)st->trigger_seq);
	else snprintf(seq, sizeof(seq), "-");
	hw_row_split(st->to_row, &to_state, &to_cause);
	/* deterministic: a replay of the same message makes the same id */
	snprintf(id, sizeof(id), "%s:%lld:%s:%s:%s.%s", s->doc.session, (long long)s->doc.epoch, seq, hw_input_name(st->input),
			hw_state_name(to_state), hw_cause_name(to_cause));
	transition_push(c, s, id, st->from_row, st->to_row, hw_input_name(st->input), st->trigger_seq, now);
}

static void agent_event(hw_collector_t *c, const hw_topic_t *t, const hw_sess_t *s, const hw_ev_t *ev, int64_t now)
{
	hw_op_t *op;
	hw_event_rec_t *e;
	char id[HW_EVENT_ID_MAX];

	if(!c->q) return;
	snprintf(id, sizeof(id), "%s:%lld:%lld", ev->session, (long long)ev->epoch, (long long)ev->seq);
	op = hw_op_new(HW_OP_EVENT);
	e = hw_event_rec_new(id, ev->session, t->machine, s ? s->doc.project : "", ev);
	if(!op || !e){
		hw_op_free(op);
		free(e);
		return;
	}
	op->ev = e;
	e->kind = HW_EVK_AGENT;
	e->at = now;
	e->epoch = ev->epoch;
	e->seq = ev->seq;
	store_push(c, op, NULL);
}

static void request_rebirth(hw_collector_t *c, hw_sess_t *s, int64_t now_mono)
{
	hw_cmd_t cmd = HW_CMD_INIT;
	char *json = NULL;
	size_t len;
	hw_error_t err;

	if(!c->mqtt || !can_publish(c)) return;
	if(s->rebirth_at && now_mono - s->rebirth_at < c->cfg->rebirth_min_ms) return;
	c->rebirth_tokens += (double)(now_mono - c->rebirth_refill) * REBIRTH_PER_SEC / 1000.0;
	if(c->rebirth_tokens > REBIRTH_BUCKET) c->rebirth_tokens = REBIRTH_BUCKET;
	c->rebirth_refill = now_mono;
	if(c->rebirth_tokens < 1.0) return;
	c->rebirth_tokens -= 1.0;
	s->rebirth_at = now_mono;
	cmd.cmd = HW_CMD_REBIRTH;
	snprintf(cmd.by, sizeof(cmd.by), "%s", c->cfg->id);
	snprintf(cmd.reason, sizeof(cmd.reason), "the collector has no birth for epoch %lld", (long long)s->doc.epoch);
	if(hw_cmd_encode(&cmd, &json, &len, &err) != HW_OK){
		hw_logs(HW_LOG_ERROR, s->doc.session, "cannot encode a rebirth request: %s", err.msg);
		return;
	}
	if(hw_collector_publish(c, HW_T_CMD, s->doc.machine, s->doc.session, json, len, 1, false) == HW_OK){
		c->n.rebirth_requests++;
		hw_logs(HW_LOG_INFO, s->doc.session, "asked the agent for a rebirth (no birth for epoch %lld)",
				(long long)s->doc.epoch);
	}
	free(json);
}

/* Everything that follows one applied input: counters, rollups, deadline, publication,
 * writes, alerts. */
static void sess_after(hw_collector_t *c, hw_sess_t *s, const hw_step_t *st, int64_t now, int64_t now_mono)
{
	if(st->stale) c->n.stale++;
	if(!st->changed) return;
	sess_rollup(c, s, false);
	sess_arm(c, s, now, now_mono);
	if(st->transition || st->barrier){
		sess_emit(c, s, true, true, true);
		if(st->transition){
			c->n.transitions++;
			transition_event(c, s, st, now);
			if(!st->alert && !st->recovered){
				hw_logs(HW_LOG_DEBUG, s->doc.session, "%s -> %s (%s, epoch %lld)", hw_row_name(st->from_row),
						hw_row_name(st->to_row), hw_input_name(st->input), (long long)s->doc.epoch);
			}
		}
	}else{
		dirty_add(c, s, HW_DIRTY_PUB);
		dirty_add(c, s, HW_DIRTY_STORE);
	}
	if(st->alert){
		if(s->doc.state > 0 && s->doc.state < HW_STATE__COUNT && s->doc.cause >= 0 && s->doc.cause < HW_CAUSE__COUNT)
			c->n.detections[s->doc.state][s->doc.cause]++;
		publish_alert(c, s, hw_state_name(s->doc.state), st->from_row, false, now);
	}
	if(st->recovered) publish_alert(c, s, "recovered", st->from_row, st->false_alarm, now);
	if(st->false_alarm || st->flap){
		c->n.false_alarms += st->false_alarm;
		c->n.flaps += st->flap;
		c->summary_dirty = true;
	}
}

void hw_collector_after(hw_collector_t *c, hw_sess_t *s, const hw_step_t *st, int64_t now, int64_t now_mono)
{
	sess_after(c, s, st, now, now_mono);
}

/* Removes an ended session after the retention period: its retained state goes (a zero-length
 * retained publish), its document stays in the database. */
static void sess_forget(hw_collector_t *c, hw_sess_t *s)
{
	if(c->mqtt && hw_collector_publish(c, HW_T_STATE_SESSION, NULL, s->doc.session, "", 0, 1, true) != HW_OK){
		/* not connected: try again in a while */
		hw_timers_set(&c->timers, &s->timer, hw_mono_ms() + 1000, NULL);
		return;
	}
	hw_logs(HW_LOG_DEBUG, s->doc.session, "retention passed: retained state removed");
	c->n.forgotten++;
	sess_rollup(c, s, true);
	dirty_remove(c, s, HW_DIRTY_PUB);
	dirty_remove(c, s, HW_DIRTY_STORE);
	hw_timers_cancel(&c->timers, &s->timer);
	if(s->hb_linked){
		for(hw_sess_t **pp = &c->hb_pending; *pp; pp = &(*pp)->hb_next){
			if(*pp == s){
				*pp = s->hb_next;
				break;
			}
		}
	}
	free(s->hb_pending);
	hw_map_del(&c->sessions, s->doc.session);
	hw_sess_cleanup(s);
	free(s);
}

/* ------------------------------------------------------------------ messages */

/* The session a message on topic t is for. A new one is created (not yet in the table: the
 * caller adds it with sess_keep) when create. A session is bound to the machine that
 * registered it: a message from another machine's subtree is refused, except a birth of a
 * newer epoch that carries the session's claim token (heartwire-agent resume moved it there
 * under its claim), or, for a session that is neither running nor claimed, any newer birth. */
static hw_sess_t *sess_for(hw_collector_t *c, const hw_topic_t *t, const char *topic, bool create, bool birth, int64_t epoch,
		const char *claim_token, bool *fresh, bool *moved)
{
	hw_sess_t *s = hw_map_get(&c->sessions, t->id);

	*fresh = false;
	*moved = false;
	if(s){
		if(strcmp(s->doc.machine, t->machine) != 0){
			bool running = hw_state_live(s->doc.state) || s->doc.state == HW_STATE_STALLED;
			bool claimed = s->doc.recovery.token[0] != '\0';
			bool token_ok = claimed && claim_token && strcmp(claim_token, s->doc.recovery.token) == 0;
			if(birth && epoch > s->doc.epoch && (token_ok || (!running && !claimed))){
				*moved = true;
				return s;
			}
			hw_error_t err;
			hw_error_refuse(&err, HW_R_MISMATCH, "session %s belongs to machine %s, not %s", t->id, s->doc.machine,
					t->machine);
			c->n.refused_wrong_machine++;
			bad_input(c, topic, &err);
			return NULL;
		}
		return s;
	}
	if(!create) return NULL;
	s = malloc(sizeof(*s));
	if(!s){
		hw_log(HW_LOG_ERROR, "out of memory for a session");
		return NULL;
	}
	hw_sess_init(s, t->id, t->machine);
	*fresh = true;
	return s;
}

/* Keeps a fresh session in the table when the input created it, frees it otherwise. */
static bool sess_keep(hw_collector_t *c, hw_sess_t *s, bool fresh, const hw_step_t *st)
{
	if(!fresh) return true;
	if(st->changed && hw_map_put(&c->sessions, s->doc.session, s, NULL) == HW_OK) return true;
	hw_sess_cleanup(s);
	free(s);
	return false;
}

static void hb_release(hw_collector_t *c, hw_sess_t *s, int64_t now_mono);

static void handle_birth(hw_collector_t *c, const hw_topic_t *t, const char *topic, const void *p, size_t len, int64_t now,
		int64_t now_mono)
{
	hw_birth_t b = HW_BIRTH_INIT;
	hw_error_t err;
	hw_step_t st;
	hw_sess_t *s;
	bool fresh, moved;

	if(hw_birth_decode(p, len, &b, &err) != HW_OK || hw_msg_check_topic(t, b.session, b.machine, &err) != HW_OK){
		bad_input(c, topic, &err);
		goto cleanup;
	}
	s = sess_for(c, t, topic, true, true, b.epoch, b.claim_token, &fresh, &moved);
	if(!s) goto cleanup;
	/* A held heartbeat is older than any later message of its session: it goes first, or the
	 * (epoch, seq) guard would refuse it afterwards and its progress would never be stored. */
	hb_release(c, s, now_mono);
	if(hw_sess_birth(s, &b, now, &st, &err) != HW_OK) hw_logs(HW_LOG_ERROR, b.session, "%s", err.msg);
	if(moved && !st.stale){
		hw_logs(HW_LOG_INFO, b.session, "moved from machine %s to %s (epoch %lld)", s->doc.machine, t->machine,
				(long long)b.epoch);
		snprintf(s->doc.machine, sizeof(s->doc.machine), "%s", t->machine);
	}
	if(!sess_keep(c, s, fresh, &st)) goto cleanup;
	sess_after(c, s, &st, now, now_mono);
cleanup:
	hw_birth_cleanup(&b);
}

/* ------------------------------------------------------------------ heartbeat rate limit */

/* Holds hb back (the rate limit): the newest held heartbeat of s is applied once
 * HW_HB_MIN_GAP_MS have passed since the last one applied (hb_flush), or just before the next
 * heartbeat that is applied at once. Counted in hb_coalesced. */
static void hb_hold(hw_collector_t *c, hw_sess_t *s, const hw_hb_t *hb, int64_t now)
{
	c->n.hb_coalesced++;
	if(s->hb_pending && hb->seq < s->hb_pending->seq) return; /* reordered: the held one is newer */
	if(!s->hb_pending){
		s->hb_pending = malloc(sizeof(*s->hb_pending));
		if(!s->hb_pending) return; /* out of memory: this one is dropped */
	}
	*s->hb_pending = *hb;
	s->hb_pending_now = now;
	if(!s->hb_linked){
		s->hb_linked = true;
		s->hb_next = c->hb_pending;
		c->hb_pending = s;
	}
}

/* Applies a heartbeat to a session in the table, at wall time now. */
static void hb_apply(hw_collector_t *c, hw_sess_t *s, const hw_hb_t *hb, int64_t now, int64_t now_mono)
{
	hw_step_t st;

	hw_sess_hb(s, hb, now, &st);
	if(!st.stale){
		s->hb_applied_at = now_mono;
		s->hb_input = hw_input_of_hb(hb);
	}
	sess_after(c, s, &st, now, now_mono);
	if(st.need_birth && !st.stale) request_rebirth(c, s, now_mono);
}

/* Applies s's held heartbeat (at the wall time it arrived), if any. s stays linked: hb_flush
 * unlinks it. */
static void hb_release(hw_collector_t *c, hw_sess_t *s, int64_t now_mono)
{
	hw_hb_t *hb = s->hb_pending;

	if(!hb) return;
	s->hb_pending = NULL;
	hb_apply(c, s, hb, s->hb_pending_now, now_mono);
	free(hb);
}

/* Applies every held heartbeat whose gap has passed (all when force). */
static void hb_flush(hw_collector_t *c, int64_t now_mono, bool force)
{
	hw_sess_t *list = c->hb_pending, *s;

	c->hb_pending = NULL;
	while((s = list)){
		list = s->hb_next;
		s->hb_next = NULL;
		s->hb_linked = false;
		if(!s->hb_pending) continue;
		if(!force && now_mono - s->hb_applied_at < HW_HB_MIN_GAP_MS){
			s->hb_linked = true;
			s->hb_next = c->hb_pending;
			c->hb_pending = s;
			continue;
		}
		hb_release(c, s, now_mono);
	}
}

static void handle_hb(hw_collector_t *c, const hw_topic_t *t, const char *topic, const void *p, size_t len, int64_t now,
		int64_t now_mono)
{
	hw_hb_t hb = HW_HB_INIT;
	hw_error_t err;
	hw_step_t st;
	hw_sess_t *s;
	bool fresh, moved;
	int input;

	if(hw_hb_decode(p, len, &hb, &err) != HW_OK || hw_msg_check_topic(t, hb.session, NULL, &err) != HW_OK){
		bad_input(c, topic, &err);
		return;
	}
	s = sess_for(c, t, topic, true, false, hb.epoch, NULL, &fresh, &moved);
	if(!s) return;
	input = hw_input_of_hb(&hb);
	/* Rate limit: a repeat of the last heartbeat's epoch and kind, too soon after it, while
	 * the session is live, cannot move the state: hold it back (the newest held one wins). */
	if(!fresh && s->hb_applied_at > 0 && now_mono - s->hb_applied_at < HW_HB_MIN_GAP_MS && hb.epoch == s->doc.epoch &&
			input == s->hb_input && hw_state_live(s->doc.state)){
		hb_hold(c, s, &hb, now);
		return;
	}
	hb_release(c, s, now_mono); /* an older held heartbeat goes first */
	hw_sess_hb(s, &hb, now, &st);
	if(!sess_keep(c, s, fresh, &st)) return;
	if(!st.stale){
		s->hb_applied_at = now_mono;
		s->hb_input = input;
	}
	sess_after(c, s, &st, now, now_mono);
	if(st.need_birth && !st.stale) request_rebirth(c, s, now_mono);
}

static void handle_ev(hw_collector_t *c, const hw_topic_t *t, const char *topic, const void *p, size_t len, int64_t now,
		int64_t now_mono)
{
	hw_ev_t ev = HW_EV_INIT;
	hw_error_t err;
	hw_step_t st;
	hw_sess_t *s;
	bool fresh, moved, creates;

	if(hw_ev_decode(p, len, &ev, &err) != HW_OK || hw_msg_check_topic(t, ev.session, NULL, &err) != HW_OK){
		bad_input(c, topic, &err);
		return;
	}
	/* Only events that move the state create a session; the rest need one. */
	creates = hw_input_of_ev(&ev) >= 0;
	s = sess_for(c, t, topic, creates, false, ev.epoch, NULL, &fresh, &moved);
	if(!s){
		if(!hw_map_get(&c->sessions, t->id)){
			c->n.unknown++;
			agent_event(c, t, NULL, &ev, now);
		}
		return;
	}
	hb_release(c, s, now_mono); /* the held heartbeat is older: first (handle_birth) */
	if(hw_sess_ev(s, &ev, now, &st, &err) != HW_OK) hw_logs(HW_LOG_ERROR, ev.session, "%s", err.msg);
	if(!sess_keep(c, s, fresh, &st)){
		agent_event(c, t, NULL, &ev, now);
		return;
	}
	agent_event(c, t, s, &ev, now);
	sess_after(c, s, &st, now, now_mono);
	if(st.need_birth && !st.stale) request_rebirth(c, s, now_mono);
}

static void handle_status(hw_collector_t *c, const hw_topic_t *t, const char *topic, const void *p, size_t len, int64_t now,
		int64_t now_mono)
{
	hw_status_t stt = HW_STATUS_INIT;
	hw_error_t err;
	hw_step_t st;
	hw_sess_t *s;
	bool fresh, moved;

	if(len == 0) return; /* a retained status being cleared: nothing to learn */
	if(hw_status_decode(p, len, &stt, &err) != HW_OK || hw_msg_check_topic(t, stt.session, NULL, &err) != HW_OK){
		bad_input(c, topic, &err);
		return;
	}
	s = sess_for(c, t, topic, true, false, stt.epoch, NULL, &fresh, &moved);
	if(!s) return;
	hb_release(c, s, now_mono); /* the held heartbeat is older: first (handle_birth) */
	hw_sess_status(s, &stt, now, &st);
	if(!sess_keep(c, s, fresh, &st)) return;
	sess_after(c, s, &st, now, now_mono);
}

void hw_collector_handle(hw_collector_t *c, const char *topic, const void *payload, size_t len, int64_t now, int64_t now_mono)
{
	hw_topic_t t;
	hw_error_t err;

	c->n.received++;
	if(hw_topic_parse(c->cfg->topic_root, topic, strlen(topic), &t, &err) != HW_OK){
		bad_input(c, topic, &err);
		return;
	}
	switch(t.kind){
	case HW_T_BIRTH:
		handle_birth(c, &t, topic, payload, len, now, now_mono);
		break;
	case HW_T_HB:
		handle_hb(c, &t, topic, payload, len, now, now_mono);
		break;
	case HW_T_EV:
		handle_ev(c, &t, topic, payload, len, now, now_mono);
		break;
	case HW_T_STATUS:
		handle_status(c, &t, topic, payload, len, now, now_mono);
		break;
	default:
		hw_error_refuse(&err, HW_R_BAD_TOPIC, "not an agent topic the collector reads (%s)", hw_topic_kind_name(t.kind));
		bad_input(c, topic, &err);
		break;
	}
}

/* ------------------------------------------------------------------ timers, load */

void hw_collector_timers(hw_collector_t *c, int64_t now, int64_t now_mono)
{
	hw_timer_t *t;

	/* Without the broker the collector sees no heartbeats: it must not call anyone stalled. */
	if(c->mqtt && !hw_mqtt_connected(c->mqtt)) return;
	while((t = hw_timers_pop_due(&c->timers, now_mono))){
		hw_sess_t *s = sess_of_timer(t);
		hw_step_t st;
		if(s->hb_pending){
			/* a held heartbeat moves the deadline: apply it first */
			hb_release(c, s, now_mono);
			if(hw_timer_armed(&s->timer)) continue;
		}
		if(s->doc.deadline_at == 0){
			if(ended_state(s->doc.state)) sess_forget(c, s);
			continue;
		}
		hw_sess_timer(s, now, &st);
		sess_after(c, s, &st, now, now_mono);
	}
}

int hw_collector_adopt(void *ctx, hw_session_t *doc, int64_t birth_epoch, hw_error_t *err)
{
	hw_collector_t *c = ctx;
	hw_sess_t *s, *old;
	int rc;

	s = malloc(sizeof(*s));
	if(!s){
		hw_session_cleanup(doc);
		return hw_error_set(err, HW_ERR_NOMEM, "out of memory for a session");
	}
	hw_sess_init(s, doc->session, doc->machine);
	hw_sess_adopt(s, doc, birth_epoch);
	s->stored_version = s->doc.version;
	old = hw_map_get(&c->sessions, s->doc.session);
	if(old){
		hw_sess_cleanup(s);
		free(s);
		return HW_OK;
	}
	rc = hw_map_put(&c->sessions, s->doc.session, s, err);
	if(rc != HW_OK){
		hw_sess_cleanup(s);
		free(s);
		return rc;
	}
	sess_rollup(c, s, false);
	sess_arm(c, s, hw_time_ms(), hw_mono_ms());
	return HW_OK;
}

/* Records in the audit log that the session moved from from_row to its current row by adopting
 * its retained state: the messages that took it there reached a collector that died before
 * their transitions were written, so the log gets one transition that closes the gap. */
static void retained_event(hw_collector_t *c, const hw_sess_t *s, int from_row, int64_t now)
{
	char id[HW_EVENT_ID_MAX];

	if(!c->q || from_row == hw_sess_row(s)) return;
	snprintf(id, sizeof(id), "%s:%lld:v%lld:retained:%s.%s", s->doc.session, (long long)s->doc.epoch,
			(long long)s->doc.version, hw_state_name(s->doc.state), hw_cause_name(s->doc.cause));
	transition_push(c, s, id, from_row, hw_sess_row(s), "retained", -1, now);
}

int hw_collector_retained(hw_collector_t *c, const char *id, const void *payload, size_t len, hw_error_t *err)
{
	int from_row = HW_ROW_NONE;
	hw_session_t d = HW_SESSION_INIT;
	hw_sess_t *s;
	int rc;

	if(len == 0) return HW_OK; /* removed after its retention */
	rc = hw_session_decode(payload, len, &d, err);
	if(rc != HW_OK) return rc;
	if(strcmp(d.session, id) != 0){
		hw_session_cleanup(&d);
		return hw_error_set(err, HW_ERR_DECODE, "retained state of %s names session %s", id, d.session);
	}
	s = hw_map_get(&c->sessions, d.session);
	if(s && s->doc.version >= d.version){
		hw_session_cleanup(&d); /* the database is as new */
		return HW_OK;
	}
	if(!s){
		rc = hw_collector_adopt(c, &d, -1, err);
		hw_session_cleanup(&d);
		if(rc != HW_OK) return rc;
		s = hw_map_get(&c->sessions, id);
		if(!s) return HW_OK;
	}else{
		int64_t birth_epoch = s->birth_epoch == d.epoch ? s->birth_epoch : -1;
		from_row = hw_sess_row(s);
		hw_sess_adopt(s, &d, birth_epoch);
		sess_rollup(c, s, false);
		sess_arm(c, s, hw_time_ms(), hw_mono_ms());
	}
	/* the broker holds this version already; the database has to catch up with it */
	s->published_version = s->doc.version;
	s->stored_version = 0;
	dirty_add(c, s, HW_DIRTY_STORE);
	retained_event(c, s, from_row, hw_time_ms());
	return HW_OK;
}

/* ------------------------------------------------------------------ flushing */

static void flush_rollups(hw_collector_t *c, hw_map_t *m, int kind, int coll, const char *key, int64_t now)
{
	hw_map_iter_t it = {0};
	char buf[8192]; /* a pause's reason may need escaping */

	while(hw_map_next(m, &it)){
		hw_rollup_t *r = it.value;
		int n;
		if(!r->dirty) continue;
		if(c->mqtt && !can_publish(c)) continue;
		r->dirty = false;
		r->version = r->version + 1 > now ? r->version + 1 : now;
		n = hw_rollup_json(buf, sizeof(buf), key, r, now);
		if(n < 0) continue;
		if(r->total == 0 && !r->has_pause){
			/* nothing left here: remove the retained rollup */
			hw_collector_publish(c, kind, NULL, r->id, "", 0, 1, true);
		}else if(hw_collector_publish(c, kind, NULL, r->id, buf, (size_t)n, 1, true) != HW_OK){
			r->dirty = true;
		}
		if(c->q){
			hw_op_t *op = hw_op_new(HW_OP_ROLLUP);
			if(op){
				op->coll = coll;
				snprintf(op->id, sizeof(op->id), "%s", r->id);
				op->version = r->version;
				op->json = strdup(buf);
				op->len = (size_t)n;
				if(op->json) store_push(c, op, NULL);
				else hw_op_free(op);
			}
		}
		if(r->total == 0 && !r->dirty && !r->has_pause){
			hw_map_del(m, it.key);
			free(r);
		}
	}
}

int hw_collector_summary_json(const hw_collector_t *c, int64_t now, char **out, size_t *len, hw_error_t *err)
{
	size_t cap = 4096, off = 0;
	char *buf = malloc(cap);
	int64_t total = 0, live = 0;
	int n;

	if(!buf) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the summary");
	for(int s = 1; s < HW_STATE__COUNT; s++){
		total += c->summary[s];
		if(hw_state_live(s)) live += c->summary[s];
	}
	n = snprintf(buf, cap,
			"{\"v\":1,\"collector\":\"%s\",\"state\":\"%s\",\"sessions\":%lld,\"live\":%lld,"
			"\"projects\":%zu,\"machines\":%zu,\"counts\":{",
			c->cfg->id, hw_rollup_state(c->summary), (long long)total, (long long)live, hw_map_len(&c->projects),
			hw_map_len(&c->machines));
	off = (size_t)n;
	for(int s = 1; s < HW_STATE__COUNT; s++){
		n = snprintf(buf + off, cap - off, "%s\"%s\":%lld", s > 1 ? "," : "", hw_state_name(s), (long long)c->summary[s]);
		off += (size_t)n;
	}
	n = snprintf(buf + off, cap - off,
			"},\"false_alarms\":%llu,\"flaps\":%llu,\"alerts\":%llu,\"received\":%llu,\"invalid\":%llu,"
			"\"stale\":%llu,\"store_dropped\":%llu,\"invalid_by_reason\":{",
			(unsigned long long)c->n.false_alarms, (unsigned long long)c->n.flaps, (unsigned long long)c->n.alerts,
			(unsigned long long)c->n.received, (unsigned long long)c->n.invalid, (unsigned long long)c->n.stale,
			(unsigned long long)c->n.store_dropped);
	off += (size_t)n;
	{
		bool first = true;
		for(int r = 1; r < HW_R__COUNT; r++){
			if(!c->n.invalid_by_reason[r]) continue;
			n = snprintf(buf + off, cap - off, "%s\"%s\":%llu", first ? "" : ",", hw_reason_name(r),
					(unsigned long long)c->n.invalid_by_reason[r]);
			off += (size_t)n;
			first = false;
		}
	}
	n = snprintf(buf + off, cap - off, "},\"updated_at\":%lld}", (long long)now);
	off += (size_t)n;
	if(off >= cap){
		free(buf);
		return hw_error_set(err, HW_ERR_INVAL, "summary too long");
	}
	*out = buf;
	*len = off;
	return HW_OK;
}

static void resync_store(hw_collector_t *c)
{
	hw_map_iter_t it = {0};
	size_t requeued = 0;

	if(!c->store_resync || !c->q || hw_storeq_len(c->q) > (size_t)c->cfg->store_buffer / 2) return;
	c->store_resync = false;
	while(hw_map_next(&c->sessions, &it)){
		hw_sess_t *s = it.value;
		if(!s->store_lost) continue;
		s->store_lost = false;
		/* Not a forced write: when a later snapshot of the session was queued after the drop
		 * (stored_version is the newest version the queue took), writing that version again
		 * would only be a stale duplicate. */
		if(s->stored_version >= s->doc.version) continue;
		sess_emit(c, s, false, false, true);
		requeued++;
		if(c->store_resync) break; /* full again: the rest waits for the next round */
	}
	if(!c->store_resync){
		c->store_full_logged = false;
		hw_log(HW_LOG_INFO, "store buffer has room again: re-queued %zu session snapshots", requeued);
	}
}

void hw_collector_flush(hw_collector_t *c, int64_t now, int64_t now_mono, bool force)
{
	hb_flush(c, now_mono, force);
	if(force || now_mono >= c->next_flush){
		hw_sess_t *list = dirty_take(c, HW_DIRTY_PUB), *s;
		bool pub = c->mqtt && can_publish(c);
		c->next_flush = now_mono + c->cfg->flush_ms;
		/* Not connected: nothing to do; the reconnect republishes everything. */
		while((s = dirty_pop(&list, HW_DIRTY_PUB))){
			if(pub) sess_emit(c, s, false, true, false);
		}
	}
	if(force || now_mono >= c->next_store){
		hw_sess_t *list = dirty_take(c, HW_DIRTY_STORE), *s;
		c->next_store = now_mono + c->cfg->store_flush_ms;
		while((s = dirty_pop(&list, HW_DIRTY_STORE))) sess_emit(c, s, false, false, true);
		resync_store(c);
	}
	if(force || now_mono >= c->next_rollup){
		c->next_rollup = now_mono + c->cfg->rollup_ms;
		bad_input_summary(c);
		c->rollups_dirty = false;
		flush_rollups(c, &c->projects, HW_T_STATE_PROJECT, HW_COLL_PROJECTS, "project", now);
		flush_rollups(c, &c->machines, HW_T_STATE_MACHINE, HW_COLL_MACHINES, "machine", now);
		if(now_mono >= c->next_summary){
			c->summary_dirty = true;
			c->next_summary = now_mono + SUMMARY_EVERY_MS;
		}
		if(c->summary_dirty && (!c->mqtt || can_publish(c))){
			char *json;
			size_t len;
			c->summary_dirty = false;
			if(hw_collector_summary_json(c, now, &json, &len, NULL) == HW_OK){
				if(hw_collector_publish(c, HW_T_STATE_SUMMARY, NULL, NULL, json, len, 1, true) != HW_OK)
					c->summary_dirty = true;
				free(json);
			}
		}
	}
}

void hw_collector_republish_all(hw_collector_t *c)
{
	hw_map_iter_t it = {0};

	while(hw_map_next(&c->sessions, &it)){
		hw_sess_t *s = it.value;
		s->published_version = 0;
		dirty_add(c, s, HW_DIRTY_PUB);
	}
	for(int k = 0; k < 2; k++){
		hw_map_iter_t r = {0};
		hw_map_t *m = k ? &c->machines : &c->projects;
		while(hw_map_next(m, &r)) ((hw_rollup_t *)r.value)->dirty = true;
	}
	c->rollups_dirty = true;
	c->summary_dirty = true;
}

int hw_collector_timeout(const hw_collector_t *c, int64_t now_mono, int max_ms)
{
	int64_t t = max_ms;
	int d;

	if(!c->mqtt || hw_mqtt_connected(c->mqtt)){
		d = hw_timers_timeout(&c->timers, now_mono, max_ms);
		if(d >= 0 && d < t) t = d;
	}
	if(c->dirty[HW_DIRTY_PUB] && c->next_flush - now_mono < t) t = c->next_flush - now_mono;
	if((c->dirty[HW_DIRTY_STORE] || c->store_resync) && c->next_store - now_mono < t) t = c->next_store - now_mono;
	if(c->rollups_dirty || c->summary_dirty){
		int64_t r = c->next_rollup - now_mono;
		if(r < t) t = r;
	}
	if(c->next_summary - now_mono < t) t = c->next_summary - now_mono;
	if(c->hb_pending && HW_HB_MIN_GAP_MS < t) t = HW_HB_MIN_GAP_MS;
	return t < 0 ? 0 : (int)t;
}
