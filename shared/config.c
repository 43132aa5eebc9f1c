/* config.c: the option loader: defaults < config file < HEARTWIRE_* environment < flags,
 * driven by each binary's hw_opt_t table; also broker URL parsing and --help output. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "heartwire/config.h"
#include "heartwire/ids.h"

#define CONFIG_LINE_MAX 4096
#define CONFIG_WHERE_MAX 512
#define CONFIG_ENV_PREFIX "HEARTWIRE_"

/* A flag found on argv, applied after the file and the environment. */
typedef struct pending {
	const hw_opt_t *opt;
	const char *value; /* NULL for a bare bool flag */
	bool negate;       /* --no-name */
	char flag[80];     /* how it was written, for messages ("--broker", "-b") */
} pending_t;

static const hw_opt_t *opt_find(const hw_config_t *cfg, const char *name, size_t len)
{
	for(const hw_opt_t *o = cfg->opts; o && o->name; o++){
		if(strlen(o->name) == len && memcmp(o->name, name, len) == 0) return o;
	}
	return NULL;
}

static const hw_opt_t *opt_find_short(const hw_config_t *cfg, char c)
{
	for(const hw_opt_t *o = cfg->opts; o && o->name; o++){
		if(o->short_name && o->short_name == c) return o;
	}
	return NULL;
}

/* Edit distance between a (an bytes) and b, capped: small names only. */
static size_t edit_distance(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b), prev[65], cur[65];

	if(an > 64 || bn > 64) return SIZE_MAX;
	for(size_t j = 0; j <= bn; j++) prev[j] = j;
	for(size_t i = 1; i <= an; i++){
		cur[0] = i;
		for(size_t j = 1; j <= bn; j++){
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1, sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			cur[j] = del < ins ? del : ins;
			if(sub < cur[j]) cur[j] = sub;
		}
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[bn];
}

/* The option whose name is closest to name (within 2 edits), for "did you mean". */
static const hw_opt_t *opt_suggest(const hw_config_t *cfg, const char *name, size_t len)
{
	const hw_opt_t *best = NULL;
	size_t best_d = 3;

	for(const hw_opt_t *o = cfg->opts; o && o->name; o++){
		size_t d = edit_distance(name, len, o->name);
		if(d < best_d){
			best_d = d;
			best = o;
		}
	}
	return best;
}

int hw_config_env_name(const char *name, char *buf, size_t len, hw_error_t *err)
{
	size_t pn = strlen(CONFIG_ENV_PREFIX), n;

	if(!name || !buf) return hw_error_set(err, HW_ERR_INVAL, "option name is missing");
	n = strlen(name);
	if(pn + n + 1 > len) return hw_error_set(err, HW_ERR_INVAL, "option name '%s' is too long", name);
	memcpy(buf, CONFIG_ENV_PREFIX, pn);
	for(size_t i = 0; i < n; i++){
		char c = name[i];
		buf[pn + i] = c == '-' ? '_' : (char)toupper((unsigned char)c);
	}
	buf[pn + n] = '\0';
	return HW_OK;
}

/* Parses a whole decimal number; false unless all of s is one and it fits. */
static bool parse_ll(const char *s, long long *out)
{
	char *end;
	long long v;

	if(!s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1])))) return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if(errno != 0 || *end != '\0') return false;
	*out = v;
	return true;
}

/* Parses "1500", "1500ms", "2s", "5m", "1h" into milliseconds. */
static bool parse_duration(const char *s, long long *out)
{
	char *end;
	long long v, mul = 1;

	if(!s || !isdigit((unsigned char)s[0])) return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if(errno != 0) return false;
	if(*end == '\0' || strcmp(end, "ms") == 0) mul = 1;
	else if(strcmp(end, "s") == 0) mul = 1000;
	else if(strcmp(end, "m") == 0) mul = 60000;
	else if(strcmp(end, "h") == 0) mul = 3600000;
	else return false;
	if(v > LLONG_MAX / mul) return false;
	*out = v * mul;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for(size_t i = 0; s && i < 4; i++){
		if(strcmp(s, yes[i]) == 0){
			*out = true;
			return true;
		}
		if(strcmp(s, no[i]) == 0){
			*out = false;
			return true;
		}
	}
	return false;
}

/* The range an INT or DURATION_MS option accepts. */
static void opt_range(const hw_opt_t *o, long long *min, long long *max)
{
	if(o->min != 0 || o->max != 0){
		*min = o->min;
		*max = o->max;
		return;
	}
	*max = o->size == sizeof(int) ? INT_MAX : LLONG_MAX;
	*min = o->type == HW_OPT_DURATION_MS ? 0 : (o->size == sizeof(int) ? INT_MIN : LLONG_MIN);
}

/* Writes "a, b, c" of an enum's values into buf. */
static void enum_list(const hw_opt_t *o, char *buf, size_t len, const char *sep)
{
	size_t w = 0;

	buf[0] = '\0';
	for(size_t i = 0; o->values && o->values[i] && w < len; i++){
		int r = snprintf(buf + w, len - w, "%s%s", i ? sep : "", o->values[i]);
		if(r < 0) break;
		w += (size_t)r;
	}
}

/* Stores an integer of an INT or DURATION_MS option. */
static int store_int(const hw_opt_t *o, void *p, long long v, const char *where, hw_error_t *err)
{
	if(o->size == sizeof(int)){
		if(v < INT_MIN || v > INT_MAX) return hw_error_set(err, HW_ERR_CONFIG, "%s: %lld does not fit", where, v);
		*(int *)p = (int)v;
	}else if(o->size == sizeof(int64_t)){
		*(int64_t *)p = (int64_t)v;
	}else{
		return hw_error_set(err, HW_ERR_CONFIG, "%s: option table error: integer member of %zu bytes", where, o->size);
	}
	return HW_OK;
}

/* Parses value for option o and stores it in cfg->base; where names the source in messages. */
static int opt_store(hw_config_t *cfg, const hw_opt_t *o, const char *value, int source, const char *where, hw_error_t *err)
{
	void *p = (char *)cfg->base + o->offset;
	/* Empty means unset everywhere but on argv, where "--machine ''" is a mistake. */
	bool unset = source != HW_SRC_ARGV && (!value || !*value);
	long long v, min, max;
	char list[512];
	hw_error_t e;
	bool b;
	int rc;

	if(!cfg->base) return hw_error_set(err, HW_ERR_CONFIG, "%s: no config struct to store into", where);
	switch(o->type){
	case HW_OPT_STRING:
	case HW_OPT_ID:
	case HW_OPT_URL:
		if(!value) value = "";
		if(o->size == 0) return hw_error_set(err, HW_ERR_CONFIG, "%s: option table error: no buffer", where);
		if(strlen(value) >= o->size)
			return hw_error_set(err, HW_ERR_CONFIG, "%s: value is %zu bytes; at most %zu", where, strlen(value),
					o->size - 1);
		if(!unset && o->type == HW_OPT_ID && hw_id_check("id", value, &e) != HW_OK)
			return hw_error_set(err, HW_ERR_CONFIG, "%s: %s", where, e.msg);
		if(!unset && o->type == HW_OPT_URL && hw_url_parse(value, NULL, &e) != HW_OK)
			return hw_error_set(err, HW_ERR_CONFIG, "%s: %s", where, e.msg);
		memcpy(p, value, strlen(value) + 1);
		break;
	case HW_OPT_INT:
	case HW_OPT_DURATION_MS:
		if(unset){
			v = 0;
		}else{
			opt_range(o, &min, &max);
			if(o->type == HW_OPT_INT && (!parse_ll(value, &v) || v < min || v > max))
				return hw_error_set(err, HW_ERR_CONFIG, "%s: '%s' is not a whole number from %lld to %lld", where,
						value ? value : "", min, max);
			if(o->type == HW_OPT_DURATION_MS && (!parse_duration(value, &v) || v < min || v > max))
				return hw_error_set(err, HW_ERR_CONFIG,
						"%s: '%s' is not a whole number of milliseconds from %lld to "
						"%lld (units ms, s, m, h allowed)",
						where, value ? value : "", min, max);
		}
		if((rc = store_int(o, p, v, where, err)) != HW_OK) return rc;
		break;
	case HW_OPT_BOOL:
		if(o->size != sizeof(bool))
			return hw_error_set(
					err, HW_ERR_CONFIG, "%s: option table error: bool member of %zu bytes", where, o->size);
		if(unset){
			b = false;
		}else if(!parse_bool(value, &b)){
			return hw_error_set(err, HW_ERR_CONFIG, "%s: '%s' is not one of true, false, yes, no, on, off, 1, 0",
					where, value ? value : "");
		}
		*(bool *)p = b;
		break;
	case HW_OPT_ENUM:
		if(o->size != sizeof(int) || !o->values || !o->values[0])
			return hw_error_set(
					err, HW_ERR_CONFIG, "%s: option table error: enum needs an int member and values", where);
		if(unset){
			*(int *)p = 0;
			break;
		}
		for(int i = 0; o->values[i]; i++){
			if(strcmp(value, o->values[i]) == 0){
				*(int *)p = i;
				goto stored;
			}
		}
		enum_list(o, list, sizeof(list), ", ");
		return hw_error_set(err, HW_ERR_CONFIG, "%s: '%s' is not one of %s", where, value, list);
	default:
		return hw_error_set(err, HW_ERR_CONFIG, "%s: option table error: unknown type %d", where, o->type);
	}
stored:
	if(cfg->sources) cfg->sources[o - cfg->opts] = (unsigned char)source;
	return HW_OK;
}

int hw_config_defaults(hw_config_t *cfg, hw_error_t *err)
{
	char where[CONFIG_WHERE_MAX];
	int rc;

	if(!cfg || !cfg->opts) return hw_error_set(err, HW_ERR_CONFIG, "no option table");
	for(const hw_opt_t *o = cfg->opts; o->name; o++){
		if(strcmp(o->name, "config") == 0)
			return hw_error_set(err, HW_ERR_CONFIG, "option table error: 'config' is reserved for the loader");
		snprintf(where, sizeof(where), "default of --%s", o->name);
		if((rc = opt_store(cfg, o, o->def, HW_SRC_DEFAULT, where, err)) != HW_OK) return rc;
	}
	return HW_OK;
}

int hw_config_set(hw_config_t *cfg, const char *name, const char *value, int source, const char *where, hw_error_t *err)
{
	const hw_opt_t *o;
	char buf[CONFIG_WHERE_MAX];

	if(!cfg || !name) return hw_error_set(err, HW_ERR_INVAL, "option name is missing");
	o = opt_find(cfg, name, strlen(name));
	if(!o) return hw_error_set(err, HW_ERR_NOTFOUND, "unknown option '%s'", name);
	if(!where){
		snprintf(buf, sizeof(buf), "--%s", name);
		where = buf;
	}
	if(source == HW_SRC_ARGV && (o->flags & HW_OPT_NO_ARGV))
		return hw_error_set(err, HW_ERR_CONFIG, "%s: not allowed on the command line", where);
	if((source == HW_SRC_FILE || source == HW_SRC_ENV) && (o->flags & HW_OPT_ARGV_ONLY))
		return hw_error_set(err, HW_ERR_CONFIG, "%s: only allowed on the command line", where);
	return opt_store(cfg, o, value, source, where, err);
}

/* Cuts leading and trailing blanks (and the line end) from s in place; returns the start. */
static char *trim(char *s)
{
	size_t n;

	while(*s == ' ' || *s == '\t') s++;
	n = strlen(s);
	while(n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
	return s;
}

/* Reads "key value" lines from path into cfg. missing_ok: a file that does not exist is fine. */
static int config_file(hw_config_t *cfg, const char *path, bool missing_ok, hw_error_t *err)
{
	FILE *f;
	char *line = NULL, *key, *value, where[CONFIG_WHERE_MAX];
	size_t cap = 0, klen;
	ssize_t got;
	int lineno = 0, rc = HW_OK;
	const hw_opt_t *o, *hint;

	f = fopen(path, "r");
	if(!f){
		if(missing_ok && errno == ENOENT) return HW_OK;
		return hw_error_set(err, HW_ERR_CONFIG, "config file %s: %s", path, strerror(errno));
	}
	cfg->file = path;
	for(;;){
		errno = 0;
		got = getline(&line, &cap, f);
		if(got < 0){
			if(ferror(f))
				rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s: %s", path, strerror(errno ? errno : EIO));
			goto cleanup;
		}
		lineno++;
		if(got > CONFIG_LINE_MAX){
			rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s line %d: line is longer than %d bytes", path,
					lineno, CONFIG_LINE_MAX);
			goto cleanup;
		}
		if((size_t)got != strlen(line)){
			rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s line %d: has a NUL byte", path, lineno);
			goto cleanup;
		}
		key = trim(line);
		if(*key == '\0' || *key == '#') continue;
		klen = strcspn(key, " \t");
		value = key + klen;
		if(*value) *value++ = '\0';
		value = trim(value);
		klen = strlen(key);
		if(strlen(value) >= 2 && value[0] == '"' && value[strlen(value) - 1] == '"'){
			value[strlen(value) - 1] = '\0';
			value++;
		}
		if(strchr(key, '=')){
			rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s line %d: write 'key value', not '%s'", path, lineno,
					key);
			goto cleanup;
		}
		if(strcmp(key, "config") == 0){
			rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s line %d: 'config' cannot be set in a config file",
					path, lineno);
			goto cleanup;
		}
		o = opt_find(cfg, key, klen);
		if(!o){
			hint = opt_suggest(cfg, key, klen);
			rc = hw_error_set(err, HW_ERR_CONFIG, "config file %s line %d: unknown key '%s'%s%s%s", path, lineno, key,
					hint ? "; did you mean '" : "", hint ? hint->name : "", hint ? "'?" : "");
			goto cleanup;
		}
		snprintf(where, sizeof(where), "config file %s line %d: %s", path, lineno, o->name);
		if(o->flags & HW_OPT_ARGV_ONLY){
			rc = hw_error_set(err, HW_ERR_CONFIG, "%s: only allowed on the command line", where);
			goto cleanup;
		}
		if(*value == '\0' && o->type == HW_OPT_BOOL) value = "true";
		if(*value == '\0' && o->type != HW_OPT_STRING && o->type != HW_OPT_ID && o->type != HW_OPT_URL){
			rc = hw_error_set(err, HW_ERR_CONFIG, "%s: needs a value", where);
			goto cleanup;
		}
		if((rc = opt_store(cfg, o, value, HW_SRC_FILE, where, err)) != HW_OK) goto cleanup;
	}
cleanup:
	free(line);
	fclose(f);
	return rc;
}

/* Applies HEARTWIRE_<NAME> for every option that may come from the environment. */
static int config_env(hw_config_t *cfg, bool keep_going, hw_error_t *err)
{
	char name[128];
	const char *v;
	int rc;

	for(const hw_opt_t *o = cfg->opts; o->name; o++){
		if(o->flags & HW_OPT_ARGV_ONLY) continue;
		if((rc = hw_config_env_name(o->name, name, sizeof(name), err)) != HW_OK) return rc;
		v = getenv(name);
		if(!v || !*v) continue;
		rc = opt_store(cfg, o, v, HW_SRC_ENV, name, err);
		if(rc != HW_OK && !keep_going) return rc;
	}
	return HW_OK;
}

static int not_on_argv(const hw_opt_t *o, const char *flag, hw_error_t *err)
{
	char env[128];

	if(hw_config_env_name(o->name, env, sizeof(env), NULL) != HW_OK) env[0] = '\0';
	return hw_error_set(err, HW_ERR_CONFIG,
			"%s: not allowed on the command line, where other users can read it; set %s or '%s' "
			"in the config file",
			flag, env, o->name);
}

/* Parses one option at argv[*i] into *pd (or *config_path); advances *i past a consumed value. */
static int argv_option(
		const hw_config_t *cfg, int argc, char **argv, int *i, pending_t *pd, const char **config_path, hw_error_t *err)
{
	const char *arg = argv[*i], *eq, *name, *value = NULL;
	const hw_opt_t *o, *hint;
	size_t nlen;
	bool negate = false;

	memset(pd, 0, sizeof(*pd));
	if(arg[1] != '-'){
		/* -x, -x VALUE, -xVALUE */
		o = opt_find_short(cfg, arg[1]);
		if(!o) return hw_error_set(err, HW_ERR_CONFIG, "unknown option '%s'", arg);
		snprintf(pd->flag, sizeof(pd->flag), "-%c", arg[1]);
		if(o->flags & HW_OPT_NO_ARGV) return not_on_argv(o, pd->flag, err);
		if(o->type == HW_OPT_BOOL){
			if(arg[2]) return hw_error_set(err, HW_ERR_CONFIG, "%s takes no value (in '%s')", pd->flag, arg);
		}else if(arg[2]){
			value = arg + 2;
		}else{
			if(*i + 1 >= argc) return hw_error_set(err, HW_ERR_CONFIG, "%s needs a value", pd->flag);
			value = argv[++*i];
		}
		pd->opt = o;
		pd->value = value;
		return HW_OK;
	}

	name = arg + 2;
	eq = strchr(name, '=');
	nlen = eq ? (size_t)(eq - name) : strlen(name);
	if(eq) value = eq + 1;
	if(nlen == 6 && memcmp(name, "config", 6) == 0){
		if(!value){
			if(*i + 1 >= argc) return hw_error_set(err, HW_ERR_CONFIG, "--config needs a value");
			value = argv[++*i];
		}
		if(!*value) return hw_error_set(err, HW_ERR_CONFIG, "--config needs a file name");
		*config_path = value;
		return HW_OK;
	}
	o = opt_find(cfg, name, nlen);
	if(!o && nlen > 3 && memcmp(name, "no-", 3) == 0){
		o = opt_find(cfg, name + 3, nlen - 3);
		if(o && o->type == HW_OPT_BOOL && !(o->flags & HW_OPT_ARGV_ONLY)) negate = true;
		else o = NULL;
	}
	if(!o){
		hint = opt_suggest(cfg, name, nlen);
		return hw_error_set(err, HW_ERR_CONFIG, "unknown option '--%.*s'%s%s%s", (int)nlen, name,
				hint ? "; did you mean '--" : "", hint ? hint->name : "", hint ? "'?" : "");
	}
	snprintf(pd->flag, sizeof(pd->flag), "--%.*s", (int)(nlen < 70 ? nlen : 70), name);
	if(o->flags & HW_OPT_NO_ARGV) return not_on_argv(o, pd->flag, err);
	if(negate && value) return hw_error_set(err, HW_ERR_CONFIG, "%s takes no value", pd->flag);
	if(!value && o->type != HW_OPT_BOOL){
		if(*i + 1 >= argc) return hw_error_set(err, HW_ERR_CONFIG, "%s needs a value", pd->flag);
		value = argv[++*i];
	}
	pd->opt = o;
	pd->value = value;
	pd->negate = negate;
	return HW_OK;
}

int hw_config_load(hw_config_t *cfg, int argc, char **argv, int *first_positional, hw_error_t *err)
{
	pending_t *pend = NULL;
	char **opts_out = NULL, **pos_out = NULL;
	size_t npend = 0, nopt_out = 0, npos_out = 0;
	const char *config_path = NULL, *env_path, *val;
	bool early = false, dashdash = false;
	int rc, i, first = argc;

	if(first_positional) *first_positional = argc;
	if(!cfg || !cfg->opts) return hw_error_set(err, HW_ERR_CONFIG, "no option table");
	cfg->file = NULL;
	if(argc < 1 || !argv) argc = 1;
	first = argc;
	if((rc = hw_config_defaults(cfg, err)) != HW_OK) return rc;

	pend = calloc((size_t)argc, sizeof(*pend));
	opts_out = calloc((size_t)argc, sizeof(*opts_out));
	pos_out = calloc((size_t)argc, sizeof(*pos_out));
	if(!pend || !opts_out || !pos_out){
		rc = hw_error_set(err, HW_ERR_NOMEM, "out of memory reading options");
		goto cleanup;
	}

	/* Pass over argv: find every flag and --config, sort out positionals; apply nothing yet. */
	for(i = 1; i < argc; i++){
		const char *a = argv[i];
		int start = i;
		if(strcmp(a, "--") == 0){
			dashdash = true;
			for(int j = i + 1; j < argc; j++) pos_out[npos_out++] = argv[j];
			break;
		}
		if(a[0] != '-' || a[1] == '\0'){
			if(cfg->positional == HW_POS_NONE){
				rc = hw_error_set(err, HW_ERR_CONFIG, "unexpected argument '%s'", a);
				goto cleanup;
			}
			if(cfg->positional == HW_POS_STOP){
				for(int j = i; j < argc; j++) pos_out[npos_out++] = argv[j];
				break;
			}
			pos_out[npos_out++] = argv[i];
			continue;
		}
		if((rc = argv_option(cfg, argc, argv, &i, &pend[npend], &config_path, err)) != HW_OK) goto cleanup;
		for(int j = start; j <= i; j++) opts_out[nopt_out++] = argv[j];
		if(pend[npend].opt){
			if(pend[npend].opt->flags & HW_OPT_EARLY) early = true;
			npend++;
		}
	}
	if(cfg->positional == HW_POS_NONE && npos_out > 0){
		rc = hw_error_set(err, HW_ERR_CONFIG, "unexpected argument '%s'", pos_out[0]);
		goto cleanup;
	}

	/* The config file, then the environment; --help and the like survive their errors. */
	env_path = getenv(CONFIG_ENV_PREFIX "CONFIG");
	if(config_path){
		rc = config_file(cfg, config_path, false, err);
	}else if(env_path && *env_path){
		rc = config_file(cfg, env_path, false, err);
	}else if(cfg->default_file){
		rc = config_file(cfg, cfg->default_file, true, err);
	}
	if(rc != HW_OK && !early) goto cleanup;
	rc = config_env(cfg, early, err);
	if(rc != HW_OK) goto cleanup;

	/* The flags, last, in the order given. */
	for(size_t k = 0; k < npend; k++){
		const pending_t *pd = &pend[k];
		val = pd->value;
		if(pd->opt->type == HW_OPT_BOOL && !val) val = pd->negate ? "false" : "true";
		if((rc = opt_store(cfg, pd->opt, val, HW_SRC_ARGV, pd->flag, err)) != HW_OK) goto cleanup;
	}
	if(early) hw_error_clear(err);

	/* argv becomes: name, options, ["--"], positionals (a permutation of what it was). */
	i = 1;
	for(size_t k = 0; k < nopt_out; k++) argv[i++] = opts_out[k];
	first = i;
	if(dashdash){
		/* "--" stays just before the positionals: a command after it is passed on intact. */
		argv[i++] = (char *)"--";
		first = i;
	}
	for(size_t k = 0; k < npos_out; k++) argv[i++] = pos_out[k];
	if(first_positional) *first_positional = first;
	rc = HW_OK;
cleanup:
	free(pend);
	free(opts_out);
	free(pos_out);
	return rc;
}

int hw_url_parse(const char *url, hw_url_t *out, hw_error_t *err)
{
	static const char *const must = "URL must be mqtt://host:port or mqtts://host:port";
	const char *p, *host, *host_end, *port;
	size_t hn;
	long long v;
	bool tls;

	if(!url || !*url) return hw_error_set(err, HW_ERR_INVAL, "%s; it is empty", must);
	if(strncmp(url, "mqtt://", 7) == 0){
		tls = false;
		p = url + 7;
	}else if(strncmp(url, "mqtts://", 8) == 0){
		tls = true;
		p = url + 8;
	}else{
		return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has %s", must, url,
				strstr(url, "://") ? "another scheme" : "no scheme");
	}
	if(strchr(p, '@'))
		return hw_error_set(
				err, HW_ERR_INVAL, "%s; '%.200s' has user info (use --username and --password-file)", must, url);
	if(*p == '['){
		host = p + 1;
		host_end = strchr(host, ']');
		if(!host_end) return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has no ']' after the IPv6 address", must, url);
		for(const char *c = host; c < host_end; c++){
			if(!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				return hw_error_set(
						err, HW_ERR_INVAL, "%s; '%.200s' has '%c' in the IPv6 address", must, url, *c);
		}
		port = host_end + 1;
	}else{
		host = p;
		host_end = host + strcspn(host, ":/?#");
		for(const char *c = host; c < host_end; c++){
			if(!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
				return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has '%c' in the host name", must, url, *c);
		}
		port = host_end;
	}
	hn = (size_t)(host_end - host);
	if(hn == 0) return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has no host", must, url);
	if(hn > HW_URL_HOST_MAX)
		return hw_error_set(err, HW_ERR_INVAL, "%s; the host is longer than %d bytes", must, HW_URL_HOST_MAX);
	if(*port == '/' || *port == '?' || *port == '#')
		return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has a path or query", must, url);
	if(*port != ':') return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has no port", must, url);
	port++;
	if(strlen(port) > 5 || !parse_ll(port, &v) || port[0] == '-' || v < 1 || v > 65535)
		return hw_error_set(err, HW_ERR_INVAL, "%s; '%.200s' has no port from 1 to 65535", must, url);
	if(out){
		snprintf(out->scheme, sizeof(out->scheme), "%s", tls ? "mqtts" : "mqtt");
		memcpy(out->host, host, hn);
		out->host[hn] = '\0';
		out->port = (int)v;
		out->tls = tls;
	}
	return HW_OK;
}

/* The placeholder of an option's value in --help. */
static const char *opt_metavar(const hw_opt_t *o)
{
	if(o->metavar) return o->metavar;
	switch(o->type){
	case HW_OPT_INT:
		return "N";
	case HW_OPT_ENUM:
		return "WORD";
	case HW_OPT_ID:
		return "ID";
	case HW_OPT_URL:
		return "URL";
	case HW_OPT_DURATION_MS:
		return "MS";
	case HW_OPT_BOOL:
		return "";
	default:
		return "TEXT";
	}
}

void hw_config_usage(const hw_config_t *cfg, FILE *out)
{
	char left[128], list[512], env[128];
	int w;

	if(!cfg || !cfg->opts || !out) return;
	fprintf(out, "Options:\n");
	for(const hw_opt_t *o = cfg->opts; o->name; o++){
		char flag[8] = "    ";
		if(o->short_name) snprintf(flag, sizeof(flag), "-%c, ", o->short_name);
		if(o->type == HW_OPT_BOOL){
			snprintf(left, sizeof(left), "%s--%s%s", flag, (o->flags & HW_OPT_ARGV_ONLY) ? "" : "[no-]", o->name);
		}else{
			snprintf(left, sizeof(left), "%s--%s %s", flag, o->name, opt_metavar(o));
		}
		w = fprintf(out, "  %-30s", left);
		if(w > 32) fprintf(out, "\n  %-30s", "");
		fprintf(out, " %s", o->help ? o->help : "");
		if(o->type == HW_OPT_ENUM){
			enum_list(o, list, sizeof(list), "|");
			fprintf(out, " (%s)", list);
		}else if((o->type == HW_OPT_INT || o->type == HW_OPT_DURATION_MS) && (o->min || o->max)){
			fprintf(out, " (%lld-%lld%s)", o->min, o->max, o->type == HW_OPT_DURATION_MS ? " ms" : "");
		}
		if(o->def && *o->def) fprintf(out, " [default: %s]", o->def);
		if(o->flags & HW_OPT_NO_ARGV){
			hw_config_env_name(o->name, env, sizeof(env), NULL);
			fprintf(out, " [only from the config file or %s]", env);
		}
		fputc('\n', out);
	}
	fprintf(out, "  %-30s %s\n", "    --config FILE", "read options from FILE (also HEARTWIRE_CONFIG)");
	fprintf(out,
			"\nEach option NAME can also be set as \"NAME value\" in the config file and as the "
			"environment\n"
			"variable HEARTWIRE_NAME (upper case, '-' as '_'); flags override the environment, "
			"which\n"
			"overrides the file, which overrides the defaults.\n");
}
