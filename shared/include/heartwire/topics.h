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
	HW_T_STATE_SESSION,     /* {root}/state/s/{session}   (id = session) */
	HW_T_STATE_PROJECT,     /* {root}/state/p/{project}   (id = project) */
	HW_T_STATE_MACHINE,     /* {root}/state/m/{machine}   (id = machine) */
	HW_T_STATE_SUMMARY,     /* {root}/state/summary */
	HW_T_STATE_PAUSE,       /* {root}/state/pause */
	HW_T_ALERT,             /* {root}/alert/s/{session}   (id = session) */
	HW_T_COLLECTOR,         /* {root}/collector/{id}      (id = collector id) */
	HW_T_QUERY,             /* {root}/q/{verb}            (id = verb) */
	HW_T_COMMAND,           /* {root}/cmd/{verb}          (id = verb) */
	HW_T_COLLECTOR_METRICS, /* {root}/collector/{id}/metrics (id = collector id) */
	HW_T__COUNT
} hw_topic_kind;

/* For hw_topic_filter only: every agent-side kind (the last level is '+'). */
#define HW_T_AGENT_ALL HW_T_UNKNOWN

/* A parsed topic. Fields a kind does not have are empty strings. */
typedef struct hw_topic {
	int kind;                    /* hw_topic_kind */
	char machine[HW_ID_MAX + 1]; /* agent-side kinds */
	char id[HW_ID_MAX + 1];      /* session, project, machine, collector id or verb */
} hw_topic_t;

/* Checks a topic root: 1-128 bytes of printable ASCII without spaces, '+' or '#', not
 * starting with '$' (broker-reserved), no empty levels, no leading or trailing '/'.
 * Returns HW_OK or HW_ERR_INVAL saying what is wrong. */
int hw_topic_root_check(const char *root, hw_error_t *err);

/* Builds the topic of `kind` under root (NULL: HW_TOPIC_ROOT_DEFAULT) into buf (len bytes;
 * HW_TOPIC_MAX is enough). machine is used by the agent-side kinds, id by the kinds
 * that have one; both borrowed, both validated as ids (reason HW_R_BAD_ID on error); unused
 * ones are ignored and may be NULL. buf holds "" on any error.
 * Returns HW_OK, HW_ERR_INVAL (bad id, root or kind) or HW_ERR_INVAL with reason
 * HW_R_TOO_LARGE when buf is too small. */
int hw_topic_build(char *buf, size_t len, const char *root, int kind, const char *machine, const char *id, hw_error_t *err);

/* Builds a subscription filter for `kind` with '+' for every id level that is NULL
 * ("{root}/m/+/s/+/hb" for HW_T_HB with machine and id NULL; "{root}/q/+" for HW_T_QUERY).
 * kind HW_T_AGENT_ALL (= HW_T_UNKNOWN) gives every agent-side kind at once:
 * "{root}/m/{machine|+}/s/{session|+}/+". A non-NULL id is validated. Returns as
 * hw_topic_build. */
int hw_topic_filter(char *buf, size_t len, const char *root, int kind, const char *machine, const char *id, hw_error_t *err);

/* Parses topic (n bytes, not necessarily NUL-terminated) under root (NULL: the default)
 * into *out, without allocating. Refuses, with HW_ERR_DECODE and a reason, checked in this
 * order: HW_R_EMPTY (n == 0), HW_R_TOO_LARGE (n > HW_TOPIC_MAX), then one pass over the bytes
 * where the first fault wins: HW_R_BAD_UTF8 (a NUL byte or invalid UTF-8), HW_R_WILDCARD ('+'
 * or '#' in any level, the root's too), HW_R_EMPTY_LEVEL (leading, trailing or double '/');
 * then HW_R_BAD_ROOT (not "{root}/..."), HW_R_BAD_TOPIC (no shape of the tree matches: wrong
 * level names or count, or the root alone), HW_R_BAD_ID (an id level is not a valid id).
 * An invalid root is HW_ERR_INVAL. On failure out->kind is HW_T_UNKNOWN and its strings are
 * empty. out may be NULL to validate only. */
int hw_topic_parse(const char *root, const char *topic, size_t n, hw_topic_t *out, hw_error_t *err);

/* The name of a kind for logs: the agent kinds' last level ("birth", "hb", "cmd"), the
 * collector kinds' fixed levels ("state/s", "alert/s", "collector", "collector/metrics"), "query" and "command"
 * for q/{verb} and cmd/{verb}; "unknown" otherwise. Never NULL; all distinct. */
const char *hw_topic_kind_name(int kind);

/* Query and command verbs (the {verb} of q/ and cmd/). */
#define HW_QUERY_VERBS "sessions, session, events, projects, machines, stats"
#define HW_COMMAND_VERBS "fail, clear, claim, release, pause, unpause"

#endif
