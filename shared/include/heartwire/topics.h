/* topics.h: the heartwire topic tree: build every topic, parse any, build subscription
 * filters. Topic strings are built in exactly this module (shared/topics.c). */
#ifndef HEARTWIRE_TOPICS_H
#define HEARTWIRE_TOPICS_H

#include <stddef.h>

#include "heartwire/error.h"
#include "heartwire/ids.h"

#define HW_TOPIC_ROOT_DEFAULT "heartwire/v1"
#define HW_TOPIC_ROOT_MAX 128
/* Longest topic heartwire builds: root + "/m/" + id + "/s/" + id + "/status". */
#define HW_TOPIC_MAX (HW_TOPIC_ROOT_MAX + 2 * HW_ID_MAX + 32)

typedef enum hw_topic_kind {
	HW_T_UNKNOWN = 0,
	/* agent side: {root}/m/{machine}/s/{session}/{birth|hb|ev|status|cmd} */
	HW_T_BIRTH,
	HW_T_HB,
	HW_T_EV,
	HW_T_STATUS,
	HW_T_CMD,
	/* collector side */
	HW_T_STATE_SESSION, /* {root}/state/s/{session}   (id = session) */
	HW_T_STATE_PROJECT, /* {root}/state/p/{project}   (id = project) */
	HW_T_STATE_MACHINE, /* {root}/state/m/{machine}   (id = machine) */
	HW_T_STATE_SUMMARY, /* {root}/state/summary */
	HW_T_STATE_PAUSE,   /* {root}/state/pause */
	HW_T_ALERT,         /* {root}/alert/s/{session}   (id = session) */
	HW_T_COLLECTOR,     /* {root}/collector/{id}      (id = collector id) */
	HW_T_QUERY,         /* {root}/q/{verb}            (id = verb) */
	HW_T_COMMAND,       /* {root}/cmd/{verb}          (id = verb) */
	HW_T__COUNT
} hw_topic_kind;

/* A parsed topic. Fields a kind does not have are empty strings. */
typedef struct hw_topic {
	int kind;                      /* hw_topic_kind */
	char machine[HW_ID_MAX + 1];   /* agent-side kinds */
	char id[HW_ID_MAX + 1];        /* session, project, machine, collector id or verb */
} hw_topic_t;

/* Checks a topic root: 1-128 bytes, levels of printable ASCII without '+', '#', or empty
 * levels, no leading or trailing '/'. */
int hw_topic_root_check(const char *root, hw_error_t *err);

/* Builds the topic of `kind` under root into buf (len bytes; HW_TOPIC_MAX is enough).
 * machine is used by the agent-side kinds, id by the kinds that have one; both borrowed,
 * both validated as ids (reason HW_R_BAD_ID on error); unused ones may be NULL.
 * Returns HW_OK, HW_ERR_INVAL (bad id, root or kind) or HW_ERR_INVAL with reason
 * HW_R_TOO_LARGE when buf is too small. */
int hw_topic_build(char *buf, size_t len, const char *root, int kind, const char *machine,
		const char *id, hw_error_t *err);

/* Builds a subscription filter for `kind` with '+' for every id level that is NULL
 * ("{root}/m/+/s/+/hb" for HW_T_HB with machine and id NULL). A non-NULL id is validated. */
int hw_topic_filter(char *buf, size_t len, const char *root, int kind, const char *machine,
		const char *id, hw_error_t *err);

/* Parses topic (n bytes, not necessarily NUL-terminated) under root into *out. Refuses,
 * with HW_ERR_DECODE and a reason: HW_R_EMPTY, HW_R_TOO_LARGE, HW_R_BAD_ROOT,
 * HW_R_EMPTY_LEVEL, HW_R_WILDCARD, HW_R_BAD_ID, HW_R_BAD_TOPIC, HW_R_BAD_UTF8 (NUL). */
int hw_topic_parse(const char *root, const char *topic, size_t n, hw_topic_t *out, hw_error_t *err);

/* The last level's name for a kind ("birth", "hb", "state/s", ...), for logs. */
const char *hw_topic_kind_name(int kind);

/* Query and command verbs (the {verb} of q/ and cmd/). */
#define HW_QUERY_VERBS "sessions, session, events, projects, machines, stats"
#define HW_COMMAND_VERBS "fail, clear, claim, release, pause, unpause"

#endif
