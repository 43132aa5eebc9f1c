/* sindex.c: the session index that q/sessions reads (pure logic): the writer's streams of
 * pages in `_id` order with page splits and dirty tracking, the page and directory text, and the
 * reader's parsing, planning and filtering. No I/O: collector/sindex_store.c moves the text. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartwire/ids.h"
#include "heartwire/states.h"

#include "buf.h"
#include "map.h"
#include "sindex.h"

/* The most streams a session is in (sess_streams). */
#define SX_STREAMS 4

typedef struct sx_sess {
	char id[HW_ID_MAX + 1];
	int state;
	char project[HW_ID_MAX + 1], machine[HW_ID_MAX + 1], slot[HW_ID_MAX + 1];
	int64_t updated_at, version;
	char *line; /* "id\tstate\tversion\tupdated_at\tproject\tmachine\tslot\tjson" */
	size_t len;
} sx_sess_t;

typedef struct sx_page {
	int64_t seq;
	char lo[HW_ID_MAX + 1];
	sx_sess_t **e; /* sorted by id */
	size_t n, cap;
	size_t bytes; /* sum of line lengths + separators */
	bool dirty, fresh;
} sx_page_t;

typedef struct sx_stream {
	char name[HW_SX_STREAM_MAX + 1];
	sx_page_t **pages; /* in id order: pages[i]->lo ascending, pages[0]->lo = "" */
	size_t n, cap;
} sx_stream_t;

struct hw_sx {
	hw_map_t sessions; /* id -> sx_sess_t */
	hw_map_t streams;  /* name -> sx_stream_t */
	int64_t next_seq;
	size_t npages;
	bool dir_dirty;
	bool dirty;
};

/* ------------------------------------------------------------------ writer */

int hw_sx_new(hw_sx_t **out, hw_error_t *err)
{
	hw_sx_t *x = calloc(1, sizeof(*x));

	*out = NULL;
	if(!x) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the session index");
	if(hw_map_init(&x->sessions, err) != HW_OK || hw_map_init(&x->streams, err) != HW_OK){
		hw_map_cleanup(&x->sessions);
		free(x);
		return HW_ERR_NOMEM;
	}
	x->next_seq = 1;
	x->dir_dirty = true; /* an empty index still writes its (empty) directory */
	x->dirty = true;
	*out = x;
	return HW_OK;
}

void hw_sx_free(hw_sx_t *x)
{
	hw_map_iter_t it = {0};

	if(!x) return;
	while(hw_map_next(&x->streams, &it)){
		sx_stream_t *s = it.value;
		for(size_t i = 0; i < s->n; i++){
			free(s->pages[i]->e);
			free(s->pages[i]);
		}
		free(s->pages);
		free(s);
	}
	memset(&it, 0, sizeof(it));
	while(hw_map_next(&x->sessions, &it)){
		sx_sess_t *e = it.value;
		free(e->line);
		free(e);
	}
	hw_map_cleanup(&x->streams);
	hw_map_cleanup(&x->sessions);
	free(x);
}

bool hw_sx_dirty(const hw_sx_t *x)
{
	return x->dirty;
}

size_t hw_sx_sessions(const hw_sx_t *x)
{
	return hw_map_len(&x->sessions);
}

size_t hw_sx_pages(const hw_sx_t *x)
{
	return x->npages;
}

static sx_page_t *page_new(hw_sx_t *x, const char *lo)
{
	sx_page_t *p = calloc(1, sizeof(*p));

	if(!p) return NULL;
	p->seq = x->next_seq++;
	snprintf(p->lo, sizeof(p->lo), "%s", lo);
	p->dirty = p->fresh = true;
	x->npages++;
	x->dir_dirty = x->dirty = true;
	return p;
}

/* Inserts page p at position i of s. */
static int stream_insert_page(sx_stream_t *s, size_t i, sx_page_t *p)
{
	if(s->n == s->cap){
		size_t cap = s->cap ? s->cap * 2 : 4;
		sx_page_t **np = realloc(s->pages, cap * sizeof(*np));
		if(!np) return HW_ERR_NOMEM;
		s->pages = np;
		s->cap = cap;
	}
	memmove(s->pages + i + 1, s->pages + i, (s->n - i) * sizeof(*s->pages));
	s->pages[i] = p;
	s->n++;
	return HW_OK;
}

static sx_stream_t *stream_get(hw_sx_t *x, const char *name, bool create)
{
	sx_stream_t *s = hw_map_get(&x->streams, name);
	sx_page_t *p;
	size_t n;

	if(s || !create) return s;
	n = strlen(name);
	if(n >= sizeof(s->name)) return NULL; /* cannot happen: ids are at most HW_ID_MAX */
	s = calloc(1, sizeof(*s));
	if(!s) return NULL;
	memcpy(s->name, name, n + 1);
	p = page_new(x, "");
	if(!p){
		free(s);
		return NULL;
	}
	if(stream_insert_page(s, 0, p) != HW_OK || hw_map_put(&x->streams, s->name, s, NULL) != HW_OK){
		x->npages--;
		free(p);
		free(s->pages);
		free(s);
		return NULL;
	}
	return s;
}

/* The index of the page of s that holds id: the last one whose lo <= id. */
static size_t page_for(const sx_stream_t *s, const char *id)
{
	size_t lo = 0, hi = s->n;

	while(hi - lo > 1){
		size_t mid = (lo + hi) / 2;
		if(strcmp(s->pages[mid]->lo, id) <= 0) lo = mid;
		else hi = mid;
	}
	return lo;
}

/* Position of id in p (or where it would go); *found when it is there. */
static size_t entry_pos(const sx_page_t *p, const char *id, bool *found)
{
	size_t lo = 0, hi = p->n;

	*found = false;
	while(lo < hi){
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->e[mid]->id, id);
		if(c == 0){
			*found = true;
			return mid;
		}
		if(c < 0) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

static void stream_remove(hw_sx_t *x, const char *name, sx_sess_t *e)
{
	sx_stream_t *s = hw_map_get(&x->streams, name);
	sx_page_t *p;
	size_t i;
	bool found;

	if(!s) return;
	p = s->pages[page_for(s, e->id)];
	i = entry_pos(p, e->id, &found);
	if(!found) return;
	memmove(p->e + i, p->e + i + 1, (p->n - i - 1) * sizeof(*p->e));
	p->n--;
	p->bytes -= e->len + 1;
	p->dirty = true;
	x->dir_dirty = x->dirty = true;
}

/* Splits p (at index pi of s) in two halves; the upper half goes to a new page after it. */
static int page_split(hw_sx_t *x, sx_stream_t *s, size_t pi)
{
	sx_page_t *p = s->pages[pi], *q;
	size_t half = p->n / 2;

	q = page_new(x, p->e[half]->id);
	if(!q) return HW_ERR_NOMEM;
	q->cap = p->n - half;
	q->e = malloc(q->cap * sizeof(*q->e));
	if(!q->e || stream_insert_page(s, pi + 1, q) != HW_OK){
		free(q->e);
		free(q);
		x->npages--;
		return HW_ERR_NOMEM;
	}
	for(size_t i = half; i < p->n; i++){
		q->e[q->n++] = p->e[i];
		q->bytes += p->e[i]->len + 1;
		p->bytes -= p->e[i]->len + 1;
	}
	p->n = half;
	p->dirty = true;
	return HW_OK;
}

static int stream_add(hw_sx_t *x, const char *name, sx_sess_t *e)
{
	sx_stream_t *s = stream_get(x, name, true);
	sx_page_t *p;
	size_t pi, i;
	bool found;

	if(!s) return HW_ERR_NOMEM;
	pi = page_for(s, e->id);
	p = s->pages[pi];
	i = entry_pos(p, e->id, &found);
	if(!found){
		if(p->n == p->cap){
			size_t cap = p->cap ? p->cap * 2 : 16;
			sx_sess_t **ne = realloc(p->e, cap * sizeof(*ne));
			if(!ne) return HW_ERR_NOMEM;
			p->e = ne;
			p->cap = cap;
		}
		memmove(p->e + i + 1, p->e + i, (p->n - i) * sizeof(*p->e));
		p->e[i] = e;
		p->n++;
		p->bytes += e->len + 1;
	}
	p->dirty = true;
	x->dir_dirty = x->dirty = true;
	if(p->bytes > HW_SX_PAGE_MAX && p->n >= 2) return page_split(x, s, pi);
	return HW_OK;
}

/* The streams of a session: "all" (a query without a state, project or machine reads one
 * chain instead of merging every state's), its state's, its project's (when it has one), its
 * machine's. */
static size_t sess_streams(const sx_sess_t *e, char names[SX_STREAMS][HW_SX_STREAM_MAX + 1])
{
	size_t n = 0;

	snprintf(names[n++], HW_SX_STREAM_MAX + 1, "%s", HW_SX_ALL);
	snprintf(names[n++], HW_SX_STREAM_MAX + 1, "s.%s", hw_state_name(e->state));
	if(e->project[0]) snprintf(names[n++], HW_SX_STREAM_MAX + 1, "p.%s", e->project);
	if(e->machine[0]) snprintf(names[n++], HW_SX_STREAM_MAX + 1, "m.%s", e->machine);
	return n;
}

static int opt_id(const char *what, const char *v, hw_error_t *err)
{
	if(!v || !v[0]) return HW_OK;
	return hw_id_check(what, v, err);
}

int hw_sx_put(hw_sx_t *x, const hw_sx_fields_t *f, const char *json, size_t len, bool *changed, hw_error_t *err)
{
	sx_sess_t *e;
	char names[SX_STREAMS][HW_SX_STREAM_MAX + 1], *line;
	size_t n, head;
	int rc;
	bool fresh = false;

	*changed = false;
	rc = hw_id_check("session", f->id, err);
	if(rc == HW_OK) rc = opt_id("project", f->project, err);
	if(rc == HW_OK) rc = opt_id("machine", f->machine, err);
	if(rc == HW_OK) rc = opt_id("slot", f->slot, err);
	if(rc != HW_OK) return rc;
	if(f->state <= 0 || f->state >= HW_STATE__COUNT)
		return hw_error_set(err, HW_ERR_INVAL, "session %s: no state to index", f->id);
	e = hw_map_get(&x->sessions, f->id);
	if(e && f->version <= e->version) return HW_OK;
	line = malloc(len + 5 * HW_ID_MAX + 80);
	if(!line) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the session index");
	head = (size_t)snprintf(line, 5 * HW_ID_MAX + 80, "%s\t%s\t%" PRId64 "\t%" PRId64 "\t%s\t%s\t%s\t", f->id,
			hw_state_name(f->state), f->version, f->updated_at, f->project ? f->project : "",
			f->machine ? f->machine : "", f->slot ? f->slot : "");
	for(size_t i = 0; i < len; i++) line[head + i] = json[i] == '\n' || json[i] == '\r' ? ' ' : json[i];
	line[head + len] = '\0';
	if(!e){
		e = calloc(1, sizeof(*e));
		if(!e || hw_map_put(&x->sessions, f->id, e, NULL) != HW_OK){
			free(e);
			free(line);
			return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the session index");
		}
		snprintf(e->id, sizeof(e->id), "%s", f->id);
		fresh = true;
	}
	if(!fresh){
		n = sess_streams(e, names);
		for(size_t i = 0; i < n; i++) stream_remove(x, names[i], e);
	}
	free(e->line);
	e->line = line;
	e->len = head + len;
	e->state = f->state;
	snprintf(e->project, sizeof(e->project), "%s", f->project ? f->project : "");
	snprintf(e->machine, sizeof(e->machine), "%s", f->machine ? f->machine : "");
	snprintf(e->slot, sizeof(e->slot), "%s", f->slot ? f->slot : "");
	e->updated_at = f->updated_at;
	e->version = f->version;
	*changed = true;
	n = sess_streams(e, names);
	for(size_t i = 0; i < n; i++){
		rc = stream_add(x, names[i], e);
		if(rc != HW_OK) return hw_error_set(err, rc, "out of memory for the session index");
	}
	return HW_OK;
}

static int write_page(sx_stream_t *s, size_t i, hw_buf_t *b, hw_sx_page_fn fn, void *ctx, hw_error_t *err)
{
	sx_page_t *p = s->pages[i];
	hw_sx_page_out_t o;

	b->len = 0;
	hw__buf_add(b, "", 0);
	for(size_t k = 0; k < p->n; k++){
		if(k) hw__buf_add(b, "\n", 1);
		hw__buf_add(b, p->e[k]->line, p->e[k]->len);
	}
	if(b->fail) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for an index page");
	o.stream = s->name;
	o.seq = p->seq;
	o.next = i + 1 < s->n ? s->pages[i + 1]->seq : 0;
	o.lo = p->lo;
	o.count = p->n;
	o.text = b->p;
	o.len = b->len;
	return fn(ctx, &o, err);
}

int hw_sx_flush(hw_sx_t *x, hw_sx_page_fn page_fn, hw_sx_dir_fn dir_fn, void *ctx, hw_error_t *err)
{
	hw_buf_t b = {0};
	hw_map_iter_t it;
	int rc = HW_OK;

	if(!x->dirty) return HW_OK;
	/* pass 0: pages split off since the last flush; pass 1: the other changed pages */
	for(int pass = 0; pass < 2 && rc == HW_OK; pass++){
		memset(&it, 0, sizeof(it));
		while(rc == HW_OK && hw_map_next(&x->streams, &it)){
			sx_stream_t *s = it.value;
			for(size_t i = 0; rc == HW_OK && i < s->n; i++){
				sx_page_t *p = s->pages[i];
				if(p->dirty && p->fresh == (pass == 0)) rc = write_page(s, i, &b, page_fn, ctx, err);
			}
		}
	}
	if(rc == HW_OK && x->dir_dirty){
		char line[HW_SX_STREAM_MAX + HW_ID_MAX + 64];
		b.len = 0;
		hw__buf_add(&b, "", 0);
		memset(&it, 0, sizeof(it));
		while(hw_map_next(&x->streams, &it)){
			sx_stream_t *s = it.value;
			for(size_t i = 0; i < s->n; i++){
				int n = snprintf(line, sizeof(line), "%s\t%" PRId64 "\t%s\t%zu\n", s->name, s->pages[i]->seq,
						s->pages[i]->lo, s->pages[i]->n);
				hw__buf_add(&b, line, (size_t)n);
			}
		}
		rc = b.fail ? hw_error_set(err, HW_ERR_NOMEM, "out of memory for the index directory")
			    : dir_fn(ctx, b.p, b.len, err);
	}
	free(b.p);
	if(rc != HW_OK) return rc;
	memset(&it, 0, sizeof(it));
	while(hw_map_next(&x->streams, &it)){
		sx_stream_t *s = it.value;
		for(size_t i = 0; i < s->n; i++) s->pages[i]->dirty = s->pages[i]->fresh = false;
	}
	x->dir_dirty = x->dirty = false;
	return HW_OK;
}

/* ------------------------------------------------------------------ reader */

void hw_sx_dir_cleanup(hw_sx_dir_t *d)
{
	for(size_t i = 0; i < d->n; i++) free(d->streams[i].pages);
	free(d->streams);
	free(d->text);
	memset(d, 0, sizeof(*d));
}

/* Splits s at the next tab (or the end); returns the field, advances *s. */
static char *field(char **s)
{
	char *f = *s, *t;

	if(!f) return NULL;
	t = strchr(f, '\t');
	if(t){
		*t = '\0';
		*s = t + 1;
	}else{
		*s = NULL;
	}
	return f;
}

static bool parse_i64(const char *s, int64_t *v)
{
	char *end;

	if(!s || !*s) return false;
	*v = strtoll(s, &end, 10);
	return *end == '\0';
}

int hw_sx_dir_parse(hw_sx_dir_t *d, const char *text, size_t len, hw_error_t *err)
{
	char *line, *next;
	size_t cap = 0;

	memset(d, 0, sizeof(*d));
	d->text = malloc(len + 1);
	if(!d->text) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the index directory");
	memcpy(d->text, text, len);
	d->text[len] = '\0';
	for(line = d->text; line && *line; line = next){
		char *rest = line, *name, *seq, *lo, *count;
		int64_t sq, cnt;
		hw_sx_dir_stream_t *s;
		next = strchr(line, '\n');
		if(next) *next++ = '\0';
		name = field(&rest);
		seq = field(&rest);
		lo = field(&rest);
		count = field(&rest);
		if(!name || !name[0] || !lo || !parse_i64(seq, &sq) || !parse_i64(count, &cnt) || sq <= 0 || cnt < 0)
			return hw_error_set(err, HW_ERR_DECODE, "index directory: bad line");
		s = d->n ? &d->streams[d->n - 1] : NULL;
		if(!s || strcmp(s->name, name) != 0){
			if(d->n == cap){
				size_t nc = cap ? cap * 2 : 32;
				hw_sx_dir_stream_t *ns = realloc(d->streams, nc * sizeof(*ns));
				if(!ns) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the index directory");
				d->streams = ns;
				cap = nc;
			}
			s = &d->streams[d->n++];
			memset(s, 0, sizeof(*s));
			s->name = name;
		}
		if((s->n & (s->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow to the next power of two */
			hw_sx_dir_page_t *np = realloc(s->pages, (s->n ? s->n * 2 : 1) * sizeof(*np));
			if(!np) return hw_error_set(err, HW_ERR_NOMEM, "out of memory for the index directory");
			s->pages = np;
		}
		s->pages[s->n].seq = sq;
		s->pages[s->n].lo = lo;
		s->pages[s->n].count = (size_t)cnt;
		s->n++;
		s->total += (size_t)cnt;
	}
	return HW_OK;
}

const hw_sx_dir_stream_t *hw_sx_dir_find(const hw_sx_dir_t *d, const char *name)
{
	for(size_t i = 0; i < d->n; i++){
		if(strcmp(d->streams[i].name, name) == 0) return &d->streams[i];
	}
	return NULL;
}

size_t hw_sx_dir_start(const hw_sx_dir_stream_t *s, const char *after)
{
	size_t lo = 0, hi = s->n;

	if(!after || !after[0] || s->n == 0) return 0;
	/* the last page whose lo <= after: ids > after are there or later */
	while(hi - lo > 1){
		size_t mid = (lo + hi) / 2;
		if(strcmp(s->pages[mid].lo, after) <= 0) lo = mid;
		else hi = mid;
	}
	return lo;
}

size_t hw_sx_plan(const hw_sx_dir_t *d, const hw_request_t *req, const hw_sx_dir_stream_t **out, size_t max)
{
	char name[HW_SX_STREAM_MAX + 1];
	const hw_sx_dir_stream_t *best = NULL, *s;
	size_t n = 0, states_total = 0;

	if(req->project[0]){
		snprintf(name, sizeof(name), "p.%s", req->project);
		if(!(best = hw_sx_dir_find(d, name))) return 0;
	}
	if(req->machine[0]){
		snprintf(name, sizeof(name), "m.%s", req->machine);
		if(!(s = hw_sx_dir_find(d, name))) return 0;
		if(!best || s->total < best->total) best = s;
	}
	for(int st = 1; st < HW_STATE__COUNT; st++){
		if(req->states && !(req->states & (1u << st))) continue;
		snprintf(name, sizeof(name), "s.%s", hw_state_name(st));
		if((s = hw_sx_dir_find(d, name)) && s->total) states_total += s->total;
	}
	if(best && best->total <= states_total){
		if(max < 1) return 0;
		out[0] = best;
		return 1;
	}
	if(!req->states){
		/* every state: the one chain that holds them all, when the writer keeps it */
		s = hw_sx_dir_find(d, HW_SX_ALL);
		if(s && max >= 1 && s->total){
			out[0] = s;
			return 1;
		}
	}
	for(int st = 1; st < HW_STATE__COUNT && n < max; st++){
		if(req->states && !(req->states & (1u << st))) continue;
		snprintf(name, sizeof(name), "s.%s", hw_state_name(st));
		if((s = hw_sx_dir_find(d, name)) && s->total) out[n++] = s;
	}
	return n;
}

int hw_sx_line_parse(char *p, size_t len, hw_sx_line_t *l)
{
	char *rest = p, *state, *version, *updated;

	(void)len;
	memset(l, 0, sizeof(*l));
	l->id = field(&rest);
	state = field(&rest);
	version = field(&rest);
	updated = field(&rest);
	l->project = field(&rest);
	l->machine = field(&rest);
	l->slot = field(&rest);
	if(!rest || !l->id || !l->id[0] || !l->slot || !parse_i64(version, &l->version) || !parse_i64(updated, &l->updated_at) ||
			hw_state_parse(state, &l->state, NULL) != HW_OK)
		return HW_ERR_DECODE;
	l->json = rest;
	l->json_len = len - (size_t)(rest - p);
	return HW_OK;
}

bool hw_sx_match(const hw_sx_line_t *l, const hw_request_t *req)
{
	if(req->states && !(req->states & (1u << l->state))) return false;
	if(req->project[0] && strcmp(req->project, l->project) != 0) return false;
	if(req->machine[0] && strcmp(req->machine, l->machine) != 0) return false;
	if(req->slot[0] && strcmp(req->slot, l->slot) != 0) return false;
	if(req->updated_since > 0 && l->updated_at < req->updated_since) return false;
	return true;
}
