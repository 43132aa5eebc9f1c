/* leader.c: leadership of a collector group: the wait for the lease and the renewal thread. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heartwire/clock.h"
#include "heartwire/log.h"

#include "leader.h"
#include "lease.h"

#define LEADER_MARGIN_MS 1000 /* we stop acting this long before our lease could be taken */

struct hw_leader {
	hw_lease_t *lease;
	int64_t lease_ms;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stopping;
	int64_t valid_until; /* monotonic ms */
	bool lost;
	char why[300];
};

static void leader_sleep(hw_leader_t *l, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if(ts.tv_nsec >= 1000000000L){
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->mu);
	if(!l->stopping) pthread_cond_timedwait(&l->cond, &l->mu, &ts);
	pthread_mutex_unlock(&l->mu);
}

/* Renews every lease/5. A renewal counts only when it came back within lease/4: its start plus
 * the lease (less the margin) is then a time before which nobody can have taken over. */
static void *renew_main(void *arg)
{
	hw_leader_t *l = arg;
	bool warned = false;

	for(;;){
		hw_error_t err;
		int64_t t0 = hw_mono_ms(), took;
		int rc;
		pthread_mutex_lock(&l->mu);
		if(l->stopping || l->lost){
			pthread_mutex_unlock(&l->mu);
			break;
		}
		pthread_mutex_unlock(&l->mu);
		rc = hw_lease_renew(l->lease, &err);
		took = hw_mono_ms() - t0;
		pthread_mutex_lock(&l->mu);
		if(rc == HW_OK && took <= l->lease_ms / 4){
			l->valid_until = t0 + l->lease_ms - LEADER_MARGIN_MS;
			warned = false;
		}else if(rc == HW_ERR_STATE){
			l->lost = true;
			snprintf(l->why, sizeof(l->why), "%s", err.msg);
		}else if(!warned){
			warned = true;
			hw_log(HW_LOG_WARN, "cannot renew the leadership lease (%s); leading for %lld ms more at most",
					rc == HW_OK ? "the database answered too slowly" : err.msg,
					(long long)(l->valid_until - hw_mono_ms()));
		}
		pthread_mutex_unlock(&l->mu);
		leader_sleep(l, l->lease_ms / 5);
	}
	return NULL;
}

int hw_leader_acquire(hw_leader_t **out, const char *uri, const char *db, const char *group, const char *id, int64_t lease_ms,
		volatile const int *stop, hw_error_t *err)
{
	hw_leader_t *l = calloc(1, sizeof(*l));
	char leader[128] = "", shown[128] = "";
	int rc, attempt = 0;

	*out = NULL;
	if(!l) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the leadership");
	l->lease_ms = lease_ms;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	rc = hw_lease_new(&l->lease, uri, db, group, id, lease_ms, err);
	if(rc != HW_OK) goto fail;
	for(;;){
		bool won = false;
		hw_error_t e;
		if(stop && *stop){
			rc = hw_error_set(err, HW_ERR_AGAIN, "interrupted while waiting for the leadership");
			goto fail;
		}
		if(hw_lease_try(l->lease, &won, leader, sizeof(leader), &e) != HW_OK){
			if(attempt++ % 20 == 0) hw_log(HW_LOG_WARN, "waiting for the database to take the lease: %s", e.msg);
		}else if(won){
			break;
		}else if(strcmp(leader, shown) != 0){
			hw_log(HW_LOG_INFO, "standing by: collector %s leads group %s", leader[0] ? leader : "(none)", group);
			snprintf(shown, sizeof(shown), "%s", leader);
		}
		poll(NULL, 0, (int)(lease_ms / 5));
	}
	/* A previous leader may have renewed in the same moment we read its lease as expired: it
	 * stops acting within one lease of that renewal, so wait one lease before acting. */
	hw_log(HW_LOG_INFO, "took the lease of group %s (generation %lld); acting in %lld ms", group,
			(long long)hw_lease_gen(l->lease), (long long)lease_ms);
	for(int64_t until = hw_mono_ms() + lease_ms; hw_mono_ms() < until;){
		hw_error_t e;
		if(stop && *stop){
			rc = hw_error_set(err, HW_ERR_AGAIN, "interrupted while waiting for the leadership");
			goto fail;
		}
		if(hw_lease_renew(l->lease, &e) == HW_ERR_STATE){
			rc = hw_error_set(err, HW_ERR_STATE, "lost the lease before acting: %s", e.msg);
			goto fail;
		}
		poll(NULL, 0, (int)(lease_ms / 5));
	}
	{
		int64_t t0 = hw_mono_ms();
		hw_error_t e;
		if(hw_lease_renew(l->lease, &e) != HW_OK){
			rc = hw_error_set(err, HW_ERR_STATE, "lost the lease before acting: %s", e.msg);
			goto fail;
		}
		l->valid_until = t0 + lease_ms - LEADER_MARGIN_MS;
	}
	if(pthread_create(&l->thread, NULL, renew_main, l) != 0){
		rc = hw_error_set(err, HW_ERR_IO, "cannot start the lease thread");
		goto fail;
	}
	l->running = true;
	*out = l;
	return HW_OK;
fail:
	hw_leader_free(l);
	return rc;
}

bool hw_leader_valid(hw_leader_t *l, int64_t now_mono, const char **why)
{
	bool ok;

	pthread_mutex_lock(&l->mu);
	if(!l->lost && now_mono >= l->valid_until){
		l->lost = true;
		snprintf(l->why, sizeof(l->why), "the lease could not be renewed in time");
	}
	ok = !l->lost;
	if(why) *why = l->why;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void hw_leader_free(hw_leader_t *l)
{
	if(!l) return;
	if(l->running){
		pthread_mutex_lock(&l->mu);
		l->stopping = true;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	hw_lease_free(l->lease);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
