/* health.c: active / idle / stalled from /proc samples, hook activity and transcript growth. */
#include "heartwire/states.h"

#include "health.h"

void hw_health_init(hw_health_t *h, int64_t no_progress_ms, int64_t mono_ms)
{
	h->no_progress_ms = no_progress_ms;
	h->have_last = false;
	h->progress_mono = mono_ms;
}

void hw_health_eval(hw_health_t *h, const hw_health_sample_t *s, int64_t mono_ms, int *state, int *cause)
{
	bool moved = !h->have_last || s->cpu_ms != h->last.cpu_ms || s->hooks != h->last.hooks ||
			s->transcript_size != h->last.transcript_size || s->transcript_mtime != h->last.transcript_mtime ||
			s->idle != h->last.idle;

	if(moved) h->progress_mono = mono_ms;
	h->last = *s;
	h->have_last = true;
	*state = HW_STATE_ACTIVE;
	*cause = HW_CAUSE_NONE;
	if(s->proc == 'T' || s->proc == 't'){
		*state = HW_STATE_STALLED;
		*cause = HW_CAUSE_CHILD_STOPPED;
	}else if(s->idle){
		*state = HW_STATE_IDLE;
	}else if(h->no_progress_ms > 0 && mono_ms - h->progress_mono >= h->no_progress_ms){
		*state = HW_STATE_STALLED;
		*cause = HW_CAUSE_NO_PROGRESS;
	}
}
