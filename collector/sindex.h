/* sindex.h: the session index that q/sessions reads (collector/sindex.c, pure logic; the
 * database side is collector/sindex_store.c). FerretDB 1.24 serves every filter but a single
 * `_id` equality by decoding the whole collection, and even an `_id` lookup scans the table, so
 * the collector keeps its own index in the database: per stream (one of all sessions, "all",
 * and one per state, project and machine: "s.active", "p.acme-web", "m.build-07") a chain of pages in `_id` order, each page a
 * document holding one line per session: its filter fields and its reply JSON. A query reads
 * the directory, then only the pages of the streams that can hold its matches. The store thread
 * owns the writer (hw_sx_t); the request workers parse what they read (hw_sx_dir_t, lines). */
#ifndef HEARTWIRE_COLLECTOR_SINDEX_H
#define HEARTWIRE_COLLECTOR_SINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heartwire/error.h"
#include "heartwire/msg.h"

/* Page documents are spread over this many collections (sindex_000 ...): FerretDB scans a
 * collection for every lookup, its cost in proportion to the collection's bytes (~3-10 ms a MB),
 * so each must stay small: 10 000 sessions make ~40 MB of pages, ~160 KB a collection. */
#define HW_SX_SHARDS 256
/* A page splits in two when its lines pass this many bytes. */
#define HW_SX_PAGE_MAX 24576
#define HW_SX_STREAM_MAX (HW_ID_MAX + 3)
/* The stream that holds every session. */
#define HW_SX_ALL "all"

/* ------------------------------------------------------------------ the writer */

typedef struct hw_sx hw_sx_t;

/* One session as the index keeps it. Strings borrowed for the call; empty when absent. */
typedef struct hw_sx_fields {
	const char *id;
	int state; /* hw_state */
	const char *project, *machine, *slot;
	int64_t updated_at; /* ms since the Unix epoch */
	int64_t version;
} hw_sx_fields_t;

/* Creates an empty index (every page it will write is new). HW_OK, HW_ERR_NOMEM. Free with
 * hw_sx_free. Not thread-safe: one thread (the store thread) uses it. */
int hw_sx_new(hw_sx_t **out, hw_error_t *err);

/* Frees the index. NULL is a no-op. */
void hw_sx_free(hw_sx_t *x);

/* Puts a session and its reply JSON (copied; raw newlines become spaces). A version not newer
 * than the one held is ignored (*changed false), as the database's guard ignores it. Returns
 * HW_OK, HW_ERR_INVAL (an id or field that breaks the id rule, a bad state), HW_ERR_NOMEM. */
int hw_sx_put(hw_sx_t *x, const hw_sx_fields_t *f, const char *json, size_t len, bool *changed, hw_error_t *err);

/* True when a page or the directory changed since the last successful flush. */
bool hw_sx_dirty(const hw_sx_t *x);

/* Number of sessions and pages held. */
size_t hw_sx_sessions(const hw_sx_t *x);
size_t hw_sx_pages(const hw_sx_t *x);

/* One page to write: document "p{seq}" of collection sindex_{seq % HW_SX_SHARDS, 3 digits}. */
typedef struct hw_sx_page_out {
	const char *stream;
	int64_t seq;
	int64_t next;   /* the next page of the stream, 0 at the end */
	const char *lo; /* the page holds ids >= lo ("" for a stream's first page) */
	size_t count;
	const char *text; /* the lines, '\n'-separated (borrowed for the call) */
	size_t len;
} hw_sx_page_out_t;

typedef int (*hw_sx_page_fn)(void *ctx, const hw_sx_page_out_t *p, hw_error_t *err);
typedef int (*hw_sx_dir_fn)(void *ctx, const char *text, size_t len, hw_error_t *err);

/* Writes what changed: every new page (split off since the last flush) first, then the other
 * changed pages, then the directory; so a reader that follows a page's `next` never meets a
 * page that does not exist yet. The first error stops the flush and leaves everything dirty
 * (the writes are idempotent: the next flush writes them again). */
int hw_sx_flush(hw_sx_t *x, hw_sx_page_fn page_fn, hw_sx_dir_fn dir_fn, void *ctx, hw_error_t *err);

/* ------------------------------------------------------------------ the reader */

typedef struct hw_sx_dir_page {
	int64_t seq;
	const char *lo;
	size_t count;
} hw_sx_dir_page_t;

typedef struct hw_sx_dir_stream {
	const char *name;
	hw_sx_dir_page_t *pages; /* in chain order */
	size_t n;
	size_t total; /* sessions in the stream */
} hw_sx_dir_stream_t;

typedef struct hw_sx_dir {
	char *text; /* owned copy the members point into */
	hw_sx_dir_stream_t *streams;
	size_t n;
} hw_sx_dir_t;

/* Parses directory text (copied). HW_OK, HW_ERR_DECODE, HW_ERR_NOMEM; cleanup in every case
 * with hw_sx_dir_cleanup. */
int hw_sx_dir_parse(hw_sx_dir_t *d, const char *text, size_t len, hw_error_t *err);
void hw_sx_dir_cleanup(hw_sx_dir_t *d);

/* The stream called name, or NULL. */
const hw_sx_dir_stream_t *hw_sx_dir_find(const hw_sx_dir_t *d, const char *name);

/* The index in s->pages of the page where ids greater than after start ("" = the first). */
size_t hw_sx_dir_start(const hw_sx_dir_stream_t *s, const char *after);

/* Chooses the streams whose union holds every session req can match, with the fewest
 * sessions: the project's, the machine's, the requested states', or "all" when no state is
 * requested (and the directory has it; else every state's).
 * Writes up to max stream pointers (borrowed from d) into out; returns how many (0: nothing
 * can match). */
size_t hw_sx_plan(const hw_sx_dir_t *d, const hw_request_t *req, const hw_sx_dir_stream_t **out, size_t max);

/* One line of a page, parsed in place (the tabs become NULs; members point into the line). */
typedef struct hw_sx_line {
	const char *id;
	int state;
	int64_t version, updated_at;
	const char *project, *machine, *slot;
	const char *json;
	size_t json_len;
} hw_sx_line_t;

/* Parses the line [p, p + len) in place. HW_OK or HW_ERR_DECODE. */
int hw_sx_line_parse(char *p, size_t len, hw_sx_line_t *l);

/* True when the line matches req's states, project, machine, slot and updated_since. */
bool hw_sx_match(const hw_sx_line_t *l, const hw_request_t *req);

#endif
