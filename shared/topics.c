/* topics.c: the heartwire topic tree: the one place topic strings are built, parsed and
 * turned into subscription filters. Parsing is a single pass with no allocation. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "heartwire/topics.h"

/* Levels after the root in the longest shape: m/{machine}/s/{session}/{kind}. */
#define TOPIC_LEVELS_MAX 5

typedef struct level {
	const char *p;
	size_t n;
} level_t;

/* The shape of each kind after the root: fixed levels, with '\1' for the machine level
 * and '\2' for the id level. Agent kinds: m/{machine}/s/{session}/{name}. */
/* clang-format off */
static const char *const kind_names[HW_T__COUNT] = {
                [HW_T_UNKNOWN] = "unknown",
                [HW_T_BIRTH] = "birth",
                [HW_T_HB] = "hb",
                [HW_T_EV] = "ev",
                [HW_T_STATUS] = "status",
                [HW_T_CMD] = "cmd",
                [HW_T_STATE_SESSION] = "state/s",
                [HW_T_STATE_PROJECT] = "state/p",
                [HW_T_STATE_MACHINE] = "state/m",
                [HW_T_STATE_SUMMARY] = "state/summary",
                [HW_T_STATE_PAUSE] = "state/pause",
                [HW_T_ALERT] = "alert/s",
                [HW_T_COLLECTOR] = "collector",
                [HW_T_QUERY] = "query",
                [HW_T_COMMAND] = "command",
                [HW_T_COLLECTOR_METRICS] = "collector/metrics",
};
/* clang-format on */

/* What the id of each kind is called in error messages. */
/* clang-format off */
static const char *const id_what[HW_T__COUNT] = {
                [HW_T_BIRTH] = "session id",
                [HW_T_HB] = "session id",
                [HW_T_EV] = "session id",
                [HW_T_STATUS] = "session id",
                [HW_T_CMD] = "session id",
                [HW_T_STATE_SESSION] = "session id",
                [HW_T_STATE_PROJECT] = "project id",
                [HW_T_STATE_MACHINE] = "machine id",
                [HW_T_ALERT] = "session id",
                [HW_T_COLLECTOR] = "collector id",
                [HW_T_QUERY] = "query verb",
                [HW_T_COMMAND] = "command verb",
                [HW_T_COLLECTOR_METRICS] = "collector id",
};
/* clang-format on */

const char *hw_topic_kind_name(int kind)
{
	if(kind < 0 || kind >= HW_T__COUNT) return "unknown";
	return kind_names[kind];
}

static bool kind_is_agent(int kind)
{
	return kind >= HW_T_BIRTH && kind <= HW_T_CMD;
}

static bool kind_has_id(int kind)
{
	return kind > HW_T_UNKNOWN && kind < HW_T__COUNT && kind != HW_T_STATE_SUMMARY && kind != HW_T_STATE_PAUSE;
}

int hw_topic_root_check(const char *root, hw_error_t *err)
{
	size_t n, level_len = 0;

	if(!root) return hw_error_set(err, HW_ERR_INVAL, "topic root is missing");
	n = strlen(root);
	if(n == 0 || n > HW_TOPIC_ROOT_MAX)
		return hw_error_set(err, HW_ERR_INVAL, "topic root must be 1-%d characters, not %zu", HW_TOPIC_ROOT_MAX, n);
	if(root[0] == '$')
		return hw_error_set(err, HW_ERR_INVAL, "topic root '%s' starts with '$' (reserved by the broker)", root);
	for(size_t i = 0; i < n; i++){
		unsigned char c = (unsigned char)root[i];
		if(c == '/'){
			if(level_len == 0)
				return hw_error_set(
						err, HW_ERR_INVAL, "topic root '%s' has an empty level at position %zu", root, i);
			level_len = 0;
			continue;
		}
		if(c <= 0x20 || c >= 0x7f)
			return hw_error_set(err, HW_ERR_INVAL,
					"topic root has byte 0x%02x at position %zu; allowed: printable "
					"ASCII without spaces",
					c, i);
		if(c == '+' || c == '#')
			return hw_error_set(err, HW_ERR_INVAL, "topic root '%s' has wildcard '%c' at position %zu", root, c, i);
		level_len++;
	}
	if(level_len == 0) return hw_error_set(err, HW_ERR_INVAL, "topic root '%s' ends with '/'", root);
	return HW_OK;
}

/* Appends n bytes of s to buf at *o (len bytes in all); false when it does not fit with the NUL. */
static bool put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if(*o + n + 1 > len) return false;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
	return true;
}

static bool puts0(char *buf, size_t len, size_t *o, const char *s)
{
	return put(buf, len, o, s, strlen(s));
}

/* Builds a topic or, when wild is true, a filter with '+' for NULL ids. */
static int topic_make(char *buf, size_t len, const char *root, int kind, const char *machine, const char *id, bool wild,
		hw_error_t *err)
{
	size_t o = 0;
	bool ok = true;
	int rc;
	bool agent_all = wild && kind == HW_T_UNKNOWN;

	if(!buf || len == 0) return hw_error_set(err, HW_ERR_INVAL, "topic buffer is missing");
	buf[0] = '\0';
	if(!root) root = HW_TOPIC_ROOT_DEFAULT;
	if((rc = hw_topic_root_check(root, err)) != HW_OK) return rc;
	if(!agent_all && (kind <= HW_T_UNKNOWN || kind >= HW_T__COUNT))
		return hw_error_set(err, HW_ERR_INVAL, "topic kind %d is not a kind of the tree", kind);
	if(kind_is_agent(kind) || agent_all){
		if(machine || !wild){
			if((rc = hw_id_check("machine id", machine, err)) != HW_OK) return rc;
		}
		if(id || !wild){
			if((rc = hw_id_check("session id", id, err)) != HW_OK) return rc;
		}
	}else if(kind_has_id(kind) && (id || !wild)){
		if((rc = hw_id_check(id_what[kind], id, err)) != HW_OK) return rc;
	}

	ok = puts0(buf, len, &o, root);
	if(kind_is_agent(kind) || agent_all){
		ok = ok && puts0(buf, len, &o, "/m/") && puts0(buf, len, &o, machine ? machine : "+") &&
				puts0(buf, len, &o, "/s/") && puts0(buf, len, &o, id ? id : "+") && puts0(buf, len, &o, "/") &&
				puts0(buf, len, &o, agent_all ? "+" : kind_names[kind]);
	}else if(kind == HW_T_QUERY || kind == HW_T_COMMAND){
		ok = ok && puts0(buf, len, &o, kind == HW_T_QUERY ? "/q/" : "/cmd/") && puts0(buf, len, &o, id ? id : "+");
	}else if(kind == HW_T_COLLECTOR_METRICS){
		ok = ok && puts0(buf, len, &o, "/collector/") && puts0(buf, len, &o, id ? id : "+") &&
				puts0(buf, len, &o, "/metrics");
	}else{
		ok = ok && puts0(buf, len, &o, "/") && puts0(buf, len, &o, kind_names[kind]);
		if(kind_has_id(kind)) ok = ok && puts0(buf, len, &o, "/") && puts0(buf, len, &o, id ? id : "+");
	}
	if(!ok){
		buf[0] = '\0';
		hw_error_set(err, HW_ERR_INVAL, "topic %s does not fit in %zu bytes", hw_topic_kind_name(kind), len);
		if(err) err->reason = HW_R_TOO_LARGE;
		return HW_ERR_INVAL;
	}
	return HW_OK;
}

int hw_topic_build(char *buf, size_t len, const char *root, int kind, const char *machine, const char *id, hw_error_t *err)
{
	return topic_make(buf, len, root, kind, machine, id, false, err);
}

int hw_topic_filter(char *buf, size_t len, const char *root, int kind, const char *machine, const char *id, hw_error_t *err)
{
	return topic_make(buf, len, root, kind, machine, id, true, err);
}

static bool level_is(const level_t *l, const char *s)
{
	size_t n = strlen(s);
	return l->n == n && memcmp(l->p, s, n) == 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned cp;

	if(s[0] < 0x80) return 1;
	if(s[0] >= 0xc2 && s[0] <= 0xdf){
		need = 2;
		cp = s[0] & 0x1fu;
	}else if(s[0] >= 0xe0 && s[0] <= 0xef){
		need = 3;
		cp = s[0] & 0x0fu;
	}else if(s[0] >= 0xf0 && s[0] <= 0xf4){
		need = 4;
		cp = s[0] & 0x07u;
	}else{
		return 0;
	}
	if(n < need) return 0;
	for(size_t i = 1; i < need; i++){
		if((s[i] & 0xc0) != 0x80) return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
	if(cp >= 0xd800 && cp <= 0xdfff) return 0;
	return need;
}

/* Checks the id level l (what names it) and copies it to dst. */
static int level_id(char dst[HW_ID_MAX + 1], const char *what, const level_t *l, hw_error_t *err)
{
	hw_error_t e;

	if(hw_id_check_n(what, l->p, l->n, &e) != HW_OK) return hw_error_refuse(err, HW_R_BAD_ID, "%s", e.msg);
	memcpy(dst, l->p, l->n);
	dst[l->n] = '\0';
	return HW_OK;
}

static int agent_kind(const level_t *l)
{
	for(int k = HW_T_BIRTH; k <= HW_T_CMD; k++){
		if(level_is(l, kind_names[k])) return k;
	}
	return HW_T_UNKNOWN;
}

/* Matches the levels after the root against the tree's shapes; fills out. */
static int topic_match(const level_t *lv, size_t nlv, hw_topic_t *out, hw_error_t *err)
{
	int kind = HW_T_UNKNOWN;
	const level_t *idl = NULL;
	int rc;

	if(nlv == 5 && level_is(&lv[0], "m") && level_is(&lv[2], "s") && (kind = agent_kind(&lv[4])) != HW_T_UNKNOWN){
		if((rc = level_id(out->machine, "machine id", &lv[1], err)) != HW_OK) return rc;
		idl = &lv[3];
	}else if(nlv == 3 && level_is(&lv[0], "state") && lv[1].n == 1 &&
			(lv[1].p[0] == 's' || lv[1].p[0] == 'p' || lv[1].p[0] == 'm')){
		kind = lv[1].p[0] == 's' ? HW_T_STATE_SESSION : lv[1].p[0] == 'p' ? HW_T_STATE_PROJECT : HW_T_STATE_MACHINE;
		idl = &lv[2];
	}else if(nlv == 2 && level_is(&lv[0], "state") && level_is(&lv[1], "summary")){
		kind = HW_T_STATE_SUMMARY;
	}else if(nlv == 2 && level_is(&lv[0], "state") && level_is(&lv[1], "pause")){
		kind = HW_T_STATE_PAUSE;
	}else if(nlv == 3 && level_is(&lv[0], "alert") && level_is(&lv[1], "s")){
		kind = HW_T_ALERT;
		idl = &lv[2];
	}else if(nlv == 2 && level_is(&lv[0], "collector")){
		kind = HW_T_COLLECTOR;
		idl = &lv[1];
	}else if(nlv == 3 && level_is(&lv[0], "collector") && level_is(&lv[2], "metrics")){
		kind = HW_T_COLLECTOR_METRICS;
		idl = &lv[1];
	}else if(nlv == 2 && level_is(&lv[0], "q")){
		kind = HW_T_QUERY;
		idl = &lv[1];
	}else if(nlv == 2 && level_is(&lv[0], "cmd")){
		kind = HW_T_COMMAND;
		idl = &lv[1];
	}else{
		return hw_error_refuse(err, HW_R_BAD_TOPIC, "topic does not match any shape of the heartwire tree");
	}
	if(idl && (rc = level_id(out->id, id_what[kind], idl, err)) != HW_OK){
		out->machine[0] = '\0';
		return rc;
	}
	out->kind = kind;
	return HW_OK;
}

int hw_topic_parse(const char *root, const char *topic, size_t n, hw_topic_t *out, hw_error_t *err)
{
	level_t lv[TOPIC_LEVELS_MAX];
	size_t nlv = 0, rn, start, i, k;
	hw_topic_t scratch;
	int rc;

	if(!out) out = &scratch;
	out->kind = HW_T_UNKNOWN;
	out->machine[0] = '\0';
	out->id[0] = '\0';
	if(!root) root = HW_TOPIC_ROOT_DEFAULT;
	if((rc = hw_topic_root_check(root, err)) != HW_OK) return rc;
	if(!topic || n == 0) return hw_error_refuse(err, HW_R_EMPTY, "topic is empty");
	if(n > HW_TOPIC_MAX) return hw_error_refuse(err, HW_R_TOO_LARGE, "topic is %zu bytes; at most %d", n, HW_TOPIC_MAX);

	/* Bytes: no NUL, valid UTF-8. Levels: none empty, no wildcard, anywhere (the root too). */
	start = 0;
	for(i = 0; i < n; i += k){
		unsigned char c = (unsigned char)topic[i];
		k = 1;
		if(c == '\0') return hw_error_refuse(err, HW_R_BAD_UTF8, "topic has a NUL byte at position %zu", i);
		if(c >= 0x80 && (k = utf8_seq((const unsigned char *)topic + i, n - i)) == 0)
			return hw_error_refuse(err, HW_R_BAD_UTF8, "topic has invalid UTF-8 at position %zu", i);
		if(c == '+' || c == '#')
			return hw_error_refuse(err, HW_R_WILDCARD, "topic has wildcard '%c' at position %zu", c, i);
		if(c == '/'){
			if(i == start)
				return hw_error_refuse(err, HW_R_EMPTY_LEVEL, "topic has an empty level at position %zu", i);
			start = i + 1;
		}
	}
	if(start == n) return hw_error_refuse(err, HW_R_EMPTY_LEVEL, "topic ends with '/' (an empty level)");

	rn = strlen(root);
	if(n <= rn || memcmp(topic, root, rn) != 0 || topic[rn] != '/'){
		if(n == rn && memcmp(topic, root, rn) == 0)
			return hw_error_refuse(err, HW_R_BAD_TOPIC, "topic is the root '%s' alone", root);
		return hw_error_refuse(err, HW_R_BAD_ROOT, "topic does not start with the root '%s/'", root);
	}

	/* Split what follows the root into levels (none is empty, checked above). */
	start = rn + 1;
	for(i = start; i <= n; i++){
		if(i < n && topic[i] != '/') continue;
		if(nlv == TOPIC_LEVELS_MAX)
			return hw_error_refuse(
					err, HW_R_BAD_TOPIC, "topic has more than %d levels after the root", TOPIC_LEVELS_MAX);
		lv[nlv].p = topic + start;
		lv[nlv].n = i - start;
		nlv++;
		start = i + 1;
	}
	return topic_match(lv, nlv, out, err);
}
