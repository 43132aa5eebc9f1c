/* storeq.c: the bounded, coalescing FIFO of database writes between ingest and store threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storeq.h"

hw_op_t *hw_op_new(int kind)
{
	hw_op_t *op = calloc(1, sizeof(*op));

	if(op) op->kind = kind;
	return op;
}

/* Copies n bytes of src and a NUL to *pos and returns the copy; moves *pos past it. */
static const char *rec_str(char **pos, const char *src, size_t n)
{
	char *dst = *pos;

	memcpy(dst, src, n);
	dst[n] = '\0';
	*pos += n + 1;
	return dst;
}

hw_event_rec_t *hw_event_rec_new(const char *id, const char *session, const char *machine, const char *project, const hw_ev_t *ev)
{
	const char *src[4] = {id ? id : "", session ? session : "", machine ? machine : "", project ? project : ""};
	size_t len[4], size = sizeof(hw_event_rec_t);
	hw_event_rec_t *e;
	char *pos;

	if(ev) size += sizeof(hw_ev_t); /* right after the struct: aligned like it */
	for(int i = 0; i < 4; i++){
		len[i] = strlen(src[i]);
		if(len[i] > HW_EVENT_ID_MAX - 1) len[i] = HW_EVENT_ID_MAX - 1;
		size += len[i] + 1;
	}
	e = calloc(1, size);
	if(!e) return NULL;
	pos = (char *)(e + 1);
	if(ev){
		hw_ev_t *copy = (hw_ev_t *)(void *)pos;
		*copy = *ev;
		e->ev = copy;
		pos += sizeof(hw_ev_t);
	}
	e->id = rec_str(&pos, src[0], len[0]);
	e->session = rec_str(&pos, src[1], len[1]);
	e->machine = rec_str(&pos, src[2], len[2]);
	e->project = rec_str(&pos, src[3], len[3]);
	return e;
}

void hw_op_free(hw_op_t *op)
{
	if(!op) return;
	free(op->json);
	free(op->ev);
	free(op);
}

void hw_op_free_list(hw_op_t *head)
{
	while(head){
		hw_op_t *next = head->next;
		hw_op_free(head);
		head = next;
	}
}

int hw_storeq_init(hw_storeq_t *q, size_t cap, hw_error_t *err)
{
	pthread_condattr_t ca;
	int rc;

	if(cap < 1) return hw_error_set(err, HW_ERR_INVAL, "store buffer must hold at least one write");
	memset(q, 0, sizeof(*q));
	q->cap = cap;
	rc = hw_map_init(&q->pending, err);
	if(rc != HW_OK) return rc;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	return HW_OK;
}

void hw_storeq_cleanup(hw_storeq_t *q)
{
	if(!q) return;
	hw_op_free_list(q->head);
	q->head = q->tail = NULL;
	hw_map_cleanup(&q->pending);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

/* Moves the new snapshot's content into the pending one; frees the shell of the new one. */
static void op_merge(hw_op_t *into, hw_op_t *from)
{
	free(into->json);
	into->json = from->json;
	into->len = from->len;
	into->version = from->version;
	into->birth_epoch = from->birth_epoch;
	into->barrier = into->barrier || from->barrier;
	from->json = NULL;
	hw_op_free(from);
}

int hw_storeq_push(hw_storeq_t *q, hw_op_t *op, hw_error_t *err)
{
	int rc = HW_OK;

	op->next = NULL;
	pthread_mutex_lock(&q->lock);
	if(q->closed){
		hw_op_free(op);
		rc = hw_error_set(err, HW_ERR_STATE, "the store queue is closed");
		goto cleanup;
	}
	if(op->kind == HW_OP_SESSION){
		hw_op_t *p = hw_map_get(&q->pending, op->id);
		/* Into the session's newest queued snapshot: a heartbeat's into anything (a barrier
		 * then carries newer heartbeat fields, which is harmless: no transition came between),
		 * a barrier's only into a heartbeat's. Two barriers stay two writes, in order. */
		if(p && !(p->barrier && op->barrier)){
			op_merge(p, op);
			q->stats.pushed++;
			q->stats.coalesced++;
			goto cleanup;
		}
	}
	if(q->stats.len >= q->cap){
		q->stats.dropped++;
		hw_op_free(op);
		rc = hw_error_set(err, HW_ERR_AGAIN, "the store buffer is full (%zu writes)", q->cap);
		goto cleanup;
	}
	if(op->kind == HW_OP_SESSION){
		rc = hw_map_put(&q->pending, op->id, op, err);
		if(rc != HW_OK){
			q->stats.dropped++;
			hw_op_free(op);
			goto cleanup;
		}
	}
	if(q->tail) q->tail->next = op;
	else q->head = op;
	q->tail = op;
	q->stats.len++;
	q->stats.pushed++;
	if(q->stats.len > q->stats.high_water) q->stats.high_water = q->stats.len;
	pthread_cond_signal(&q->cond);
cleanup:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if(ts->tv_nsec >= 1000000000L){
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

hw_op_t *hw_storeq_take(hw_storeq_t *q, size_t max, int timeout_ms, size_t *n)
{
	hw_op_t *head = NULL, *tail = NULL;
	struct timespec ts;
	size_t k = 0;

	if(timeout_ms >= 0) deadline_after(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while(!q->head && !q->closed){
		if(timeout_ms < 0){
			pthread_cond_wait(&q->cond, &q->lock);
		}else if(pthread_cond_timedwait(&q->cond, &q->lock, &ts) == ETIMEDOUT){
			break;
		}
	}
	while(q->head && k < max){
		hw_op_t *op = q->head;
		q->head = op->next;
		if(!q->head) q->tail = NULL;
		op->next = NULL;
		if(op->kind == HW_OP_SESSION && hw_map_get(&q->pending, op->id) == op) hw_map_del(&q->pending, op->id);
		if(tail) tail->next = op;
		else head = op;
		tail = op;
		k++;
	}
	q->stats.len -= k;
	q->stats.taken += k;
	pthread_mutex_unlock(&q->lock);
	if(n) *n = k;
	return head;
}

void hw_storeq_close(hw_storeq_t *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t hw_storeq_len(hw_storeq_t *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->stats.len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void hw_storeq_get_stats(hw_storeq_t *q, hw_storeq_stats_t *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->stats;
	pthread_mutex_unlock(&q->lock);
}
