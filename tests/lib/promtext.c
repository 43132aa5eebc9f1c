/* promtext.c: a strict checker and reader of the Prometheus text exposition format 0.0.4. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

#define MAX_METRICS 256
#define MAX_SERIES 4096
#define NAME_MAX_LEN 200
#define SERIES_MAX_LEN 600

typedef struct metric {
	char name[NAME_MAX_LEN];
	char type[16];
	bool help, typed, closed, had_samples;
	/* histograms: the running bucket check */
	double last_bucket;
	bool inf_seen;
	double inf_value;
	double count;
	bool count_seen;
} metric_t;

typedef struct checker {
	metric_t m[MAX_METRICS];
	int nm;
	int current;                    /* index of the metric whose lines come now, -1 none */
	char (*series)[SERIES_MAX_LEN]; /* every series seen */
	int nseries;
	int line;
	char *why;
	size_t why_len;
} checker_t;

static int fault(checker_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fault(checker_t *c, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->why, c->why_len, "line %d: ", c->line);

	va_start(ap, fmt);
	if(n >= 0 && (size_t)n < c->why_len) vsnprintf(c->why + n, c->why_len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == ':';
}

static bool name_char(char ch)
{
	return name_start(ch) || (ch >= '0' && ch <= '9');
}

/* Length of the metric name at p (0 when none). Label names may not hold ':'. */
static size_t name_len(const char *p, size_t n, bool label)
{
	size_t i = 0;

	if(n == 0 || !name_start(p[0]) || (label && p[0] == ':')) return 0;
	while(i < n && name_char(p[i]) && !(label && p[i] == ':')) i++;
	return i;
}

/* A number as Go's ParseFloat (and so Prometheus) reads it; the whole token. */
static bool number(const char *p, size_t n, double *v)
{
	char buf[64], *end;

	if(n == 0 || n >= sizeof(buf)) return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if(strcmp(buf, "NaN") == 0){
		*v = NAN;
		return true;
	}
	if(strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0){
		*v = INFINITY;
		return true;
	}
	if(strcmp(buf, "-Inf") == 0){
		*v = -INFINITY;
		return true;
	}
	for(size_t i = 0; i < n; i++){
		if(!strchr("0123456789+-.eE", buf[i])) return false;
	}
	errno = 0;
	*v = strtod(buf, &end);
	return *end == '\0' && errno != EINVAL;
}

static metric_t *find(checker_t *c, const char *name, size_t n)
{
	for(int i = 0; i < c->nm; i++){
		if(strlen(c->m[i].name) == n && memcmp(c->m[i].name, name, n) == 0) return &c->m[i];
	}
	return NULL;
}

static metric_t *declare(checker_t *c, const char *name, size_t n)
{
	metric_t *m = find(c, name, n);

	if(m) return m;
	if(c->nm == MAX_METRICS || n >= NAME_MAX_LEN) return NULL;
	m = &c->m[c->nm++];
	memset(m, 0, sizeof(*m));
	memcpy(m->name, name, n);
	m->last_bucket = -1;
	return m;
}

/* Makes m the metric whose lines come now; its lines must be contiguous. */
static int enter(checker_t *c, metric_t *m)
{
	int idx = (int)(m - c->m);

	if(c->current == idx) return 0;
	if(m->closed) return fault(c, "lines of metric %s are not contiguous", m->name);
	if(c->current >= 0) c->m[c->current].closed = true;
	c->current = idx;
	return 0;
}

static int comment(checker_t *c, const char *p, size_t n)
{
	const char *kw = p + 2, *name;
	size_t nl, rest;
	metric_t *m;
	bool help;

	if(n < 2 || p[1] != ' ') return 0; /* a plain comment */
	if(n >= 7 && memcmp(kw, "HELP ", 5) == 0) help = true;
	else if(n >= 7 && memcmp(kw, "TYPE ", 5) == 0) help = false;
	else return 0;
	name = p + 7;
	rest = n - 7;
	nl = name_len(name, rest, false);
	if(nl == 0) return fault(c, "# %s without a valid metric name", help ? "HELP" : "TYPE");
	if(nl < rest && name[nl] != ' ') return fault(c, "bad character after the metric name in # %s", help ? "HELP" : "TYPE");
	m = declare(c, name, nl);
	if(!m) return fault(c, "too many metrics");
	if(enter(c, m) != 0) return -1;
	if(m->had_samples) return fault(c, "# %s of %s after its samples", help ? "HELP" : "TYPE", m->name);
	if(help){
		if(m->help) return fault(c, "second # HELP for %s", m->name);
		m->help = true;
		for(size_t i = nl; i < rest; i++){
			if(name[i] == '\\' && (i + 1 >= rest || (name[i + 1] != '\\' && name[i + 1] != 'n')))
				return fault(c, "bad escape in # HELP of %s", m->name);
			if(name[i] == '\\') i++;
		}
		return 0;
	}
	if(m->typed) return fault(c, "second # TYPE for %s", m->name);
	if(nl + 1 >= rest) return fault(c, "# TYPE %s without a type", m->name);
	{
		const char *t = name + nl + 1;
		size_t tn = rest - nl - 1;
		static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
		bool ok = false;
		for(size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++){
			if(strlen(types[i]) == tn && memcmp(types[i], t, tn) == 0) ok = true;
		}
		if(!ok) return fault(c, "# TYPE %s has unknown type '%.*s'", m->name, (int)tn, t);
		memcpy(m->type, t, tn);
		m->type[tn] = '\0';
	}
	m->typed = true;
	return 0;
}

/* Ends with name; the suffix (e.g. "_bucket") follows base. */
static bool has_suffix(const char *name, size_t n, const char *suffix, size_t *base)
{
	size_t sn = strlen(suffix);

	if(n <= sn || memcmp(name + n - sn, suffix, sn) != 0) return false;
	*base = n - sn;
	return true;
}

static int sample(checker_t *c, const char *p, size_t n)
{
	size_t nl = name_len(p, n, false), i, base;
	const char *suffix = "";
	metric_t *m;
	char le[64] = "";
	bool has_le = false, has_quantile = false;
	double v;
	size_t series_end;

	if(nl == 0) return fault(c, "a sample without a valid metric name");
	/* which declared metric it belongs to */
	m = find(c, p, nl);
	if(m && (strcmp(m->type, "histogram") == 0)) m = NULL; /* a histogram has no sample of its own name */
	if(!m){
		static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
		for(size_t k = 0; k < 3 && !m; k++){
			if(has_suffix(p, nl, suffixes[k], &base)){
				metric_t *b = find(c, p, base);
				if(b && (strcmp(b->type, "histogram") == 0 || (k > 0 && strcmp(b->type, "summary") == 0))){
					m = b;
					suffix = suffixes[k];
				}
			}
		}
	}
	if(!m) return fault(c, "sample %.*s belongs to no metric declared with # TYPE", (int)nl, p);
	if(!m->typed) return fault(c, "sample of %s before its # TYPE", m->name);
	if(enter(c, m) != 0) return -1;
	m->had_samples = true;
	i = nl;
	if(i < n && p[i] == '{'){
		i++;
		while(i < n && p[i] != '}'){
			size_t ln = name_len(p + i, n - i, true), vstart;
			const char *lname = p + i;
			if(ln == 0) return fault(c, "bad label name in %s", m->name);
			i += ln;
			if(i >= n || p[i] != '=') return fault(c, "label %.*s without '='", (int)ln, lname);
			i++;
			if(i >= n || p[i] != '"') return fault(c, "label %.*s value is not quoted", (int)ln, lname);
			i++;
			vstart = i;
			while(i < n && p[i] != '"'){
				if(p[i] == '\\'){
					if(i + 1 >= n || (p[i + 1] != '\\' && p[i + 1] != '"' && p[i + 1] != 'n'))
						return fault(c, "bad escape in label %.*s", (int)ln, lname);
					i++;
				}else if(p[i] == '\n'){
					return fault(c, "raw newline in label %.*s", (int)ln, lname);
				}
				i++;
			}
			if(i >= n) return fault(c, "label %.*s value is not closed", (int)ln, lname);
			if(ln == 2 && memcmp(lname, "le", 2) == 0){
				has_le = true;
				snprintf(le, sizeof(le), "%.*s", (int)(i - vstart), p + vstart);
			}
			if(ln == 8 && memcmp(lname, "quantile", 8) == 0) has_quantile = true;
			i++; /* the closing quote */
			if(i < n && p[i] == ',') i++;
			else if(i < n && p[i] != '}') return fault(c, "expected ',' or '}' after label %.*s", (int)ln, lname);
		}
		if(i >= n) return fault(c, "label set of %s is not closed", m->name);
		i++;
	}
	series_end = i;
	if(i >= n || p[i] != ' ') return fault(c, "sample %s: expected a space before the value", m->name);
	while(i < n && p[i] == ' ') i++;
	{
		size_t vs = i, ve;
		while(i < n && p[i] != ' ') i++;
		ve = i;
		if(!number(p + vs, ve - vs, &v))
			return fault(c, "sample %s: '%.*s' is not a number", m->name, (int)(ve - vs), p + vs);
		while(i < n && p[i] == ' ') i++;
		/* an optional timestamp: an integer, the last token */
		for(size_t k = i; k < n; k++){
			if((p[k] < '0' || p[k] > '9') && !(k == i && p[k] == '-'))
				return fault(c, "sample %s: junk after the value (a timestamp is an integer)", m->name);
		}
	}
	/* the series must be new */
	if(series_end >= SERIES_MAX_LEN) return fault(c, "series too long");
	for(int k = 0; k < c->nseries; k++){
		if(strlen(c->series[k]) == series_end && memcmp(c->series[k], p, series_end) == 0)
			return fault(c, "series %.*s appears twice", (int)series_end, p);
	}
	if(c->nseries == MAX_SERIES) return fault(c, "too many series");
	memcpy(c->series[c->nseries], p, series_end);
	c->series[c->nseries][series_end] = '\0';
	c->nseries++;
	/* type rules */
	if(strcmp(m->type, "counter") == 0 && !(v >= 0)) return fault(c, "counter %s is negative or NaN", m->name);
	if(strcmp(m->type, "histogram") == 0){
		if(strcmp(suffix, "_bucket") == 0){
			double bound;
			if(!has_le || !number(le, strlen(le), &bound))
				return fault(c, "bucket of %s without a numeric le label", m->name);
			if(m->inf_seen) return fault(c, "bucket of %s after le=\"+Inf\"", m->name);
			if(v < m->last_bucket) return fault(c, "buckets of %s decrease", m->name);
			m->last_bucket = v;
			if(isinf(bound)){
				m->inf_seen = true;
				m->inf_value = v;
			}
		}else if(strcmp(suffix, "_count") == 0){
			m->count = v;
			m->count_seen = true;
		}
	}
	if(strcmp(m->type, "summary") == 0 && !*suffix && !has_quantile)
		return fault(c, "summary sample %s without a quantile label", m->name);
	return 0;
}

int hwt_prom_check(const char *text, size_t len, char *why, size_t why_len)
{
	checker_t *c = calloc(1, sizeof(*c));
	size_t i = 0;
	int rc = 0, samples = 0;

	if(why_len) why[0] = '\0';
	if(!c) return -1;
	c->series = calloc(MAX_SERIES, sizeof(*c->series));
	if(!c->series){
		free(c);
		return -1;
	}
	c->current = -1;
	c->why = why;
	c->why_len = why_len;
	if(len == 0 || text[len - 1] != '\n'){
		c->line = 0;
		rc = fault(c, "the text is empty or does not end with a newline");
	}
	while(rc == 0 && i < len){
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
		const char *p = text + i;
		c->line++;
		if(memchr(p, '\0', n)) rc = fault(c, "a NUL byte");
		else if(n > 0 && p[n - 1] == '\r') rc = fault(c, "a CR before the newline");
		else if(n == 0) rc = 0;
		else if(p[0] == '#') rc = comment(c, p, n);
		else if((rc = sample(c, p, n)) == 0) samples++;
		i = end + 1;
	}
	for(int k = 0; rc == 0 && k < c->nm; k++){
		metric_t *m = &c->m[k];
		if(!m->typed){
			c->line = 0;
			rc = fault(c, "metric %s has # HELP but no # TYPE", m->name);
		}else if(strcmp(m->type, "histogram") == 0 && m->had_samples){
			c->line = 0;
			if(!m->inf_seen) rc = fault(c, "histogram %s has no le=\"+Inf\" bucket", m->name);
			else if(!m->count_seen || m->count != m->inf_value)
				rc = fault(c, "histogram %s: _count differs from the +Inf bucket", m->name);
		}
	}
	free(c->series);
	free(c);
	return rc == 0 ? samples : -1;
}

bool hwt_prom_value(const char *text, const char *series, double *value)
{
	size_t sn = strlen(series);
	const char *p = text;

	while(p && *p){
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if(n > sn && p[0] != '#' && memcmp(p, series, sn) == 0 && p[sn] == ' '){
			char buf[64];
			size_t vn = n - sn - 1;
			const char *sp;
			sp = memchr(p + sn + 1, ' ', vn);
			if(sp) vn = (size_t)(sp - (p + sn + 1));
			if(vn < sizeof(buf)){
				memcpy(buf, p + sn + 1, vn);
				buf[vn] = '\0';
				return number(buf, vn, value);
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

bool hwt_prom_has_metric(const char *text, const char *name)
{
	char pat[NAME_MAX_LEN + 16];

	snprintf(pat, sizeof(pat), "# TYPE %s ", name);
	if(strncmp(text, pat + 0, strlen(pat)) == 0) return true;
	snprintf(pat, sizeof(pat), "\n# TYPE %s ", name);
	return strstr(text, pat) != NULL;
}
