/* bench_query.c: q/sessions latency against the real heartwire-collector with N sessions in the
 * store: seeds N session documents (as the collector stores them) into a fresh database, starts
 * mosquitto and the collector, then times request -> reply for a mix of q/sessions queries (no
 * filter, one state, three states, project, machine, the next pages of a cursor) and writes a
 * TSV of the latencies.
 *
 *   hwbench_bench_query [--sessions N] [--queries Q] [--out FILE]
 *
 * The store is HEARTWIRE_TEST_MONGO_URI, else mongod, else FerretDB (tests/lib/servers.h). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "heartwire/clock.h"
#include "heartwire/mqtt.h"
#include "heartwire/msg.h"
#include "heartwire/topics.h"
#include "servers.h"

#define ROOT HW_TOPIC_ROOT_DEFAULT

static const char *const state_mix[] = {"active", "active", "active", "active", "active", "active", "active", "idle", "stalled",
		"crashed", "lost", "completed"};
static const char *const cause_mix[] = {"none", "none", "none", "none", "none", "none", "none", "none", "missed_heartbeats",
		"exit_code", "will", "exit_code"};

static int seed(const hwt_store_t *st, const char *db, int n)
{
	mongoc_client_t *c = mongoc_client_new(st->uri);
	mongoc_collection_t *coll;
	mongoc_bulk_operation_t *bulk = NULL;
	bson_error_t berr;
	int64_t now = hw_time_ms();
	int rc = 0;

	if(!c) return -1;
	coll = mongoc_client_get_collection(c, db, "sessions");
	for(int i = 0; i < n && rc == 0; i++){
		char id[32], machine[32], project[32], slot[8], task[64];
		int k = i % (int)(sizeof(state_mix) / sizeof(state_mix[0]));
		bool live = strcmp(state_mix[k], "active") == 0 || strcmp(state_mix[k], "idle") == 0;
		bson_t *d;
		snprintf(id, sizeof(id), "bq-%06d", i);
		snprintf(machine, sizeof(machine), "host-%02d", i % 40);
		snprintf(project, sizeof(project), "proj-%02d", i % 25);
		snprintf(slot, sizeof(slot), "%d", i % 8);
		snprintf(task, sizeof(task), "#%d implement the thing number %d", i % 500, i);
		d = BCON_NEW("_id", BCON_UTF8(id), "machine", BCON_UTF8(machine), "slot", BCON_UTF8(slot), "project",
				BCON_UTF8(project), "task", BCON_UTF8(task), "state", BCON_UTF8(state_mix[k]), "cause",
				BCON_UTF8(cause_mix[k]), "state_since", BCON_DATE_TIME(now - i), "epoch", BCON_INT64(3), "seq",
				BCON_INT64(17), "run", BCON_INT64(0), "started_at", BCON_DATE_TIME(now - 3600000), "last_hb_at",
				BCON_DATE_TIME(now), "interval_ms", BCON_INT64(3600000), "grace_ms", BCON_INT64(0), "pid",
				BCON_INT64(1000 + i % 30000), "cwd", BCON_UTF8("/srv/work/project/checkout"), "argv", "[",
				BCON_UTF8("claude"), BCON_UTF8("-p"), BCON_UTF8("continue the task"), "]", "agent",
				BCON_UTF8("heartwire-agent 0.1.0"), "claude", "{", "sid",
				BCON_UTF8("0f6e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), "chain", "[", "{", "sid",
				BCON_UTF8("0f6e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), "at", BCON_DATE_TIME(now - 3600000), "source",
				BCON_UTF8("startup"), "}", "]", "resumable", BCON_BOOL(true), "resume_failures", BCON_INT64(0),
				"}", "progress", "{", "prompts", BCON_INT64(15), "tools", BCON_INT64(87), "last_activity_at",
				BCON_DATE_TIME(now), "}", "ended_at", BCON_NULL, "recovery", "{", "lease_until", BCON_NULL,
				"attempts", BCON_INT64(0), "}", "version", BCON_INT64(now + i), "updated_at",
				BCON_DATE_TIME(now - (n - i)), "birth_epoch", BCON_INT64(3));
		if(live) BSON_APPEND_DATE_TIME(d, "deadline_at", now + 3 * 3600000LL);
		else BSON_APPEND_NULL(d, "deadline_at");
		if(!bulk) bulk = mongoc_collection_create_bulk_operation_with_opts(coll, NULL);
		mongoc_bulk_operation_insert(bulk, d);
		bson_destroy(d);
		if(i % 50 == 49 || i == n - 1){
			if(!mongoc_bulk_operation_execute(bulk, NULL, &berr)){
				fprintf(stderr, "seed: %s\n", berr.message);
				rc = -1;
			}
			mongoc_bulk_operation_destroy(bulk);
			bulk = NULL;
		}
	}
	if(bulk) mongoc_bulk_operation_destroy(bulk);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(c);
	return rc;
}

typedef struct rq {
	hw_mqtt_t *m;
	char reply[128];
	unsigned seq;
} rq_t;

/* Sends one q/sessions request and waits for its reply; returns the latency in us (-1: none
 * within 30 s), the reply's next_cursor in next (may be NULL) and its session count. */
static int64_t ask(rq_t *q, const char *payload, char *next, size_t nlen, int *count)
{
	char corr[32];
	int64_t t0, end;

	snprintf(corr, sizeof(corr), "b%u", ++q->seq);
	t0 = hw_mono_us();
	if(hw_mqtt_publish_req(q->m, ROOT "/q/sessions", payload, strlen(payload), 1, q->reply, corr, strlen(corr), NULL) !=
			HW_OK)
		return -1;
	end = hw_mono_ms() + 30000;
	while(hw_mono_ms() < end){
		hw_mqtt_msg_t *msg;
		hw_mqtt_wait(q->m, 100);
		while((msg = hw_mqtt_next(q->m))){
			if(msg->corr_len == strlen(corr) && memcmp(msg->corr, corr, msg->corr_len) == 0){
				int64_t us = hw_mono_us() - t0;
				hw_reply_t r;
				if(hw_reply_decode(msg->payload, msg->len, &r, NULL) != HW_OK || !r.ok){
					fprintf(stderr, "refused: %.*s\n", (int)(msg->len > 300 ? 300 : msg->len),
							(const char *)msg->payload);
					hw_mqtt_msg_free(msg);
					return -1;
				}
				if(next){
					const char *p = strstr(r.data, "\"next_cursor\":\"");
					next[0] = '\0';
					if(p) sscanf(p + 15, "%255[^\"]", next);
					(void)nlen;
				}
				if(count){
					const char *p = strstr(r.data, "\"count\":");
					*count = p ? (int)strtol(p + 8, NULL, 10) : 0;
				}
				hw_reply_cleanup(&r);
				hw_mqtt_msg_free(msg);
				return us;
			}
			hw_mqtt_msg_free(msg);
		}
	}
	return -1;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n ? v[i < 0 ? 0 : i >= n ? n - 1 : i] : -1;
}

int main(int argc, char **argv)
{
	int nsess = 10000, nq = 60, n = 0, failed = 0;
	const char *outpath = NULL;
	hwt_broker_t b = HWT_BROKER_INIT;
	hwt_store_t st = HWT_STORE_INIT;
	char db[64], cid[64], bin[512], log[512], dir[256], nbuf[32];
	int64_t *lat, t0, direct[10];
	int ndirect = 0;
	rq_t q = {0};
	hw_mqtt_opts_t o = HW_MQTT_OPTS_INIT;
	pid_t coll;
	FILE *out = stdout;
	/* clang-format off */
	static const char *const mix[] = {
		"{}", "{\"states\":[\"crashed\"]}", "{\"states\":[\"stalled\",\"lost\",\"crashed\"]}", "{\"project\":\"proj-07\"}",
		"{\"machine\":\"host-13\",\"states\":[\"active\"]}", "{\"limit\":20}",
	};
	/* clang-format on */

	for(int i = 1; i < argc; i++){
		if(strcmp(argv[i], "--sessions") == 0 && i + 1 < argc) nsess = (int)strtol(argv[++i], NULL, 10);
		else if(strcmp(argv[i], "--queries") == 0 && i + 1 < argc) nq = (int)strtol(argv[++i], NULL, 10);
		else if(strcmp(argv[i], "--out") == 0 && i + 1 < argc) outpath = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--sessions N] [--queries Q] [--out FILE]\n", argv[0]);
			return 2;
		}
	}
	lat = calloc((size_t)nq, sizeof(*lat));
	if(!lat || hwt_tmpdir(dir, sizeof(dir), "hwt-bq") != 0 || hwt_broker_start(&b, NULL) != 0 || hwt_store_start(&st) != 0)
		return 1;
	mongoc_init();
	hwt_unique_name(db, sizeof(db), "bq");
	t0 = hw_mono_ms();
	fprintf(stderr, "seeding %d sessions into %s (%s)...\n", nsess, st.kind, db);
	if(seed(&st, db, nsess) != 0) return 1;
	fprintf(stderr, "seeded in %" PRId64 " ms; starting the collector\n", hw_mono_ms() - t0);
	hwt_unique_name(cid, sizeof(cid), "bqc");
	snprintf(bin, sizeof(bin), "%s/collector/heartwire-collector", hwt_build_dir());
	snprintf(log, sizeof(log), "%s/collector.log", dir);
	{
		const char *cargv[] = {bin, "--broker", b.url, "--mongo-uri", st.uri, "--db", db, "--id", cid,
				"--startup-grace-ms", "1000", NULL};
		coll = hwt_spawn(cargv, log);
	}
	hwt_unique_name(nbuf, sizeof(nbuf), "bqr");
	snprintf(q.reply, sizeof(q.reply), ROOT "/reply/bench/%s", nbuf);
	o.url = b.url;
	o.client_id = nbuf;
	if(coll <= 0 || hw_mqtt_new(&q.m, &o, NULL) != HW_OK || hw_mqtt_connect(q.m, NULL, NULL) != HW_OK ||
			hw_mqtt_subscribe(q.m, q.reply, 1, NULL) != HW_OK)
		return 1;
	/* the collector answers once it loaded the sessions and subscribed */
	{
		int64_t end = hw_mono_ms() + 120000;
		while(ask(&q, "{\"limit\":1}", NULL, 0, NULL) < 0){
			if(hw_mono_ms() > end){
				fprintf(stderr, "the collector never answered\n");
				hwt_print_tail(log, 20);
				return 1;
			}
		}
	}
	/* The collector answers from the sessions collection until its session index is written
	 * (docs/collector.md): wait for the index's directory, then time. */
	{
		mongoc_client_t *mc = mongoc_client_new(st.uri);
		mongoc_collection_t *dcoll = mc ? mongoc_client_get_collection(mc, db, "sindex") : NULL;
		int64_t end = hw_mono_ms() + 300000, t1 = hw_mono_ms();
		bool ready = false;
		while(dcoll && !ready && hw_mono_ms() < end){
			bson_t *fl = BCON_NEW("_id", BCON_UTF8("dir"));
			mongoc_cursor_t *cur = mongoc_collection_find_with_opts(dcoll, fl, NULL, NULL);
			const bson_t *d;
			while(mongoc_cursor_next(cur, &d)) ready = true;
			mongoc_cursor_destroy(cur);
			bson_destroy(fl);
			if(!ready) hwt_sleep_ms(200);
		}
		fprintf(stderr, "session index %s after %" PRId64 " ms\n", ready ? "written" : "NOT written", hw_mono_ms() - t1);
		if(dcoll) mongoc_collection_destroy(dcoll);
		if(mc) mongoc_client_destroy(mc);
	}
	for(int i = 0; i < 3; i++) ask(&q, "{}", NULL, 0, NULL); /* warm up */
	{
		char cursor[300] = "";
		const char *filter = "{}";
		size_t next_mix = 0;
		for(int i = 0; i < nq; i++){
			char payload[512];
			int count = 0;
			int64_t us;
			/* every third query is the next page of the one before the previous (same filter) */
			if(i % 3 == 2 && cursor[0]){
				size_t fl = strlen(filter);
				snprintf(payload, sizeof(payload), "%.*s%s\"cursor\":\"%s\"}", (int)(fl - 1), filter,
						fl > 2 ? "," : "", cursor);
			}else{
				if(i % 3 == 0) filter = mix[next_mix % (sizeof(mix) / sizeof(mix[0]))];
				snprintf(payload, sizeof(payload), "%s", mix[next_mix++ % (sizeof(mix) / sizeof(mix[0]))]);
			}
			us = ask(&q, payload, i % 3 == 0 || i % 3 == 2 ? cursor : NULL, sizeof(cursor), &count);
			if(us < 0){
				failed++;
				continue;
			}
			if(getenv("HW_BENCH_VERBOSE"))
				fprintf(stderr, "%8.1f ms  %3d sessions  %s\n", us / 1000.0, count, payload);
			lat[n++] = us;
		}
	}
	qsort(lat, (size_t)n, sizeof(*lat), cmp64);
	/* The store alone: the same unfiltered page through the driver, without MQTT or collector. */
	{
		mongoc_client_t *mc = mongoc_client_new(st.uri);
		mongoc_collection_t *mcoll = mc ? mongoc_client_get_collection(mc, db, "sessions") : NULL;
		for(int k = 0; mcoll && k < 10; k++){
			bson_t *fl = bson_new(),
			       *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(101));
			int64_t u0 = hw_mono_us();
			mongoc_cursor_t *cur = mongoc_collection_find_with_opts(mcoll, fl, opts, NULL);
			const bson_t *d;
			while(mongoc_cursor_next(cur, &d)){
			}
			mongoc_cursor_destroy(cur);
			direct[ndirect++] = hw_mono_us() - u0;
			bson_destroy(fl);
			bson_destroy(opts);
		}
		if(mcoll) mongoc_collection_destroy(mcoll);
		if(mc) mongoc_client_destroy(mc);
		qsort(direct, (size_t)ndirect, sizeof(*direct), cmp64);
	}
	if(outpath && !(out = fopen(outpath, "w"))) return 1;
	fprintf(out, "metric\tvalue\n");
	fprintf(out, "store\t%s\n", st.kind);
	fprintf(out, "sessions\t%d\n", nsess);
	fprintf(out, "queries\t%d\n", n);
	fprintf(out, "failed\t%d\n", failed);
	fprintf(out, "q_sessions_p50_ms\t%.1f\n", pct(lat, n, 0.50) / 1000.0);
	fprintf(out, "q_sessions_p90_ms\t%.1f\n", pct(lat, n, 0.90) / 1000.0);
	fprintf(out, "q_sessions_p99_ms\t%.1f\n", pct(lat, n, 0.99) / 1000.0);
	fprintf(out, "q_sessions_max_ms\t%.1f\n", n ? lat[n - 1] / 1000.0 : -1.0);
	fprintf(out, "q_sessions_min_ms\t%.1f\n", n ? lat[0] / 1000.0 : -1.0);
	fprintf(out, "store_alone_sorted_page_p50_ms\t%.1f\n", pct(direct, ndirect, 0.50) / 1000.0);
	if(out != stdout) fclose(out);
	hw_mqtt_free(q.m);
	hwt_kill_wait(coll, SIGTERM, 10000);
	hwt_store_drop_db(&st, db);
	hwt_store_cleanup(&st);
	hwt_broker_cleanup(&b);
	mongoc_cleanup();
	free(lat);
	return failed ? 1 : 0;
}
