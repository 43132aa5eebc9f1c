// client.test.ts: HeartwireClient against real servers: the compose broker config (auth and ACL
// of the viewer and operator users), FerretDB or MongoDB, the real heartwire-collector and
// heartwire-agent (tests/web/lib/servers.mjs starts them and ends them by PID). Until the
// collector answers q/ and cmd/, the request/response round trips go to a responder this test
// runs on the broker itself. Run: npm test (HW_BUILD_DIR: the build with the binaries).
import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {join, resolve} from 'node:path';
import {pathToFileURL} from 'node:url';
import * as mqtt from 'mqtt';

import {HeartwireClient, HeartwireClientError, HeartwireReplyError, SessionChange} from '../src/client';
import {Alert} from '../src/types';

const srcDir = resolve(__dirname, '..', '..', '..', '..');
/* eslint-disable @typescript-eslint/no-explicit-any */
let S: any;
let procs: any;
let benv: Record<string, string>;
let dir: string;
let collector: any;
let url: string;
const clients: HeartwireClient[] = [];
const agents: Record<string, any> = {};
const tag = `${process.pid}-${Date.now().toString(36)}`;
const A = `vsc-a-${tag}`;
const B = `vsc-b-${tag}`;
const C = `vsc-c-${tag}`;

function client(extra: Partial<ConstructorParameters<typeof HeartwireClient>[0]> = {}): HeartwireClient {
	const c = new HeartwireClient({url, username: 'viewer', password: benv.VIEWER_PASSWORD, root: benv.ROOT,
		requestTimeoutMs: 3000, ...extra});
	clients.push(c);
	return c;
}

function waitEvent<T>(c: HeartwireClient, event: 'alert' | 'transition' | 'session', pred: (x: T) => boolean, ms: number,
	what: string): Promise<T> {
	return new Promise((res, rej) => {
		const t = setTimeout(() => {
			c.off(event, on as never);
			rej(new Error(`timed out after ${ms} ms waiting for ${what}`));
		}, ms);
		const on = (x: T) => {
			if(!pred(x)) return;
			clearTimeout(t);
			c.off(event, on as never);
			res(x);
		};
		c.on(event, on as never);
	});
}

before(async () => {
	S = await import(pathToFileURL(join(srcDir, 'tests', 'web', 'lib', 'servers.mjs')).href);
	dir = S.runDir('vscode-client');
	procs = new S.Procs(dir);
	benv = S.prepareBroker(join(dir, 'broker'));
	await S.startBroker(procs, benv);
	const mongoUri = await S.startStore(procs, dir);
	url = `mqtt://127.0.0.1:${benv.MQTT_PORT}`;
	collector = S.startCollector(procs, benv, mongoUri, {id: `vsc-coll-${tag}`, db: `hw_vsc_${tag}`.replace(/-/g, '_')});
	await S.waitCollectorOnline(benv, `vsc-coll-${tag}`);
	// Two sessions in two projects, running before any client connects.
	agents[A] = S.startAgent(procs, benv, dir, {session: A, project: 'proj-a', slot: '1', task: '#1 first',
		cmd: S.childUntilAgentDies()});
	agents[B] = S.startAgent(procs, benv, dir, {session: B, project: 'proj-b', slot: '2', task: '#2 second',
		cmd: S.childUntilAgentDies()});
	const probe = client();
	await probe.connect();
	const ready = (id: string, project: string) => probe.session(id)?.state === 'active' && probe.session(id)?.project === project;
	await S.waitFor(() => ready(A, 'proj-a') && ready(B, 'proj-b'), 20000, 'both sessions active, with their birth data');
	await probe.close();
});

after(async () => {
	for(const c of clients) await c.close().catch(() => undefined);
	if(procs) await procs.stopAll();
});

test('connect: the viewer connects; a wrong password and a dead broker are refused', {timeout: 30000}, async () => {
	const c = client();
	await c.connect();
	assert.equal(c.connected, true);
	assert.match(c.responseTopic, new RegExp(`^${benv.ROOT}/reply/viewer/hw-client-[0-9a-f]{12}$`));

	const bad = client({password: 'wrong-password'});
	await assert.rejects(bad.connect(), (e: unknown) => e instanceof HeartwireClientError && e.code === 'auth');
	assert.equal(bad.connected, false);

	const port = await S.freePort();
	const dead = client({url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 1000, reconnectMs: 0});
	await assert.rejects(dead.connect(), (e: unknown) => e instanceof HeartwireClientError &&
		(e.code === 'connect' || e.code === 'timeout'));
	assert.throws(() => client({root: 'bad/+/root'}), /topic root/);
	assert.throws(() => client({project: 'no spaces'}), /heartwire id/);
});

test('the session list comes from the retained state', {timeout: 30000}, async () => {
	const c = client();
	const seen: SessionChange[] = [];
	c.on('session', (s) => seen.push(s));
	await c.connect();
	await S.waitFor(() => c.session(A) && c.session(B), 5000, 'the retained sessions');
	const a = c.session(A)!;
	assert.equal(a.state, 'active');
	assert.equal(a.project, 'proj-a');
	assert.equal(a.machine, benv.MACHINE);
	assert.equal(a.slot, '1');
	assert.equal(a.task, '#1 first');
	assert.ok(a.last_hb_at > 0 && a.deadline_at > a.last_hb_at, 'heartbeat times');
	const first = seen.find((s) => s.session.session === A)!;
	assert.equal(first.retained, true, 'the first copy came from the retained message');
	assert.equal(first.previous, undefined);
	const ids = c.sessions().map((d) => d.session);
	assert.ok(ids.indexOf(A) < ids.indexOf(B), 'sorted by project');
	assert.ok(c.counts().active >= 2);
	assert.ok(c.projects().includes('proj-a') && c.projects().includes('proj-b'));
	await S.waitFor(() => c.projectRollup('proj-a'), 5000, 'the proj-a rollup');
	assert.equal(c.projectRollup('proj-a')!.state, 'active');
	await S.waitFor(() => c.summary(), 5000, 'the summary');
	assert.ok(c.summary()!.sessions >= 2);
});

test('a project filter shows only that project', {timeout: 30000}, async () => {
	const c = client({project: 'proj-b'});
	await c.connect();
	await S.waitFor(() => c.session(B), 5000, 'session B');
	assert.deepEqual(c.sessions().map((d) => d.session), [B]);
	assert.equal(c.session(A), undefined);
	assert.equal(c.counts().active, 1);
	c.setProject(undefined);
	await S.waitFor(() => c.session(A), 5000, 'session A once the filter is off (the client keeps every project)');
	c.setProject('proj-a');
	assert.deepEqual(c.sessions().map((d) => d.session), [A]);
});

test('alerts and transitions: a crash, then an agent killed (lost by its will)', {timeout: 60000}, async () => {
	const all = client();
	const onlyB = client({project: 'proj-b'});
	await all.connect();
	await onlyB.connect();
	const foreign: Alert[] = [];
	onlyB.on('alert', (a) => foreign.push(a));

	const crashed = waitEvent<Alert>(all, 'alert', (a) => a.session === C && a.alert === 'crashed', 20000, 'the crashed alert');
	const crashMove = waitEvent<SessionChange>(all, 'transition', (t) => t.session.session === C && t.session.state === 'crashed',
		20000, 'the crashed transition');
	agents[C] = S.startAgent(procs, benv, dir, {session: C, project: 'proj-a', slot: '3', task: '#3 crashes',
		cmd: ['sh', '-c', 'sleep 1; exit 3']});
	const ca = await crashed;
	assert.equal(ca.state, 'crashed');
	assert.equal(ca.cause, 'exit_code');
	assert.equal(ca.project, 'proj-a');
	const ct = await crashMove;
	assert.equal(ct.retained, false);
	assert.equal(ct.session.exit?.code, 3);
	assert.ok(ct.previous && ct.previous.state !== 'crashed');

	const lost = waitEvent<Alert>(all, 'alert', (a) => a.session === A && a.alert === 'lost', 15000, 'the lost alert');
	const killedAt = Date.now();
	process.kill(agents[A].pid, 'SIGKILL');
	const la = await lost;
	const ms = Date.now() - killedAt;
	assert.equal(la.cause, 'will');
	assert.equal(la.from, 'active');
	await S.waitFor(() => all.session(A)?.state === 'lost', 5000, 'session A lost in the list');
	assert.equal(all.counts().lost, 1);
	console.log(`# lost alert reached the client ${ms} ms after SIGKILL of the agent`);
	assert.deepEqual(foreign, [], 'a proj-b client gets no proj-a alerts');
	assert.equal(onlyB.session(A), undefined);
});

test('request/response with MQTT 5 response topic and correlation data', {timeout: 60000}, async () => {
	// Only this test's responder may answer: stop the collector (it will answer q/ and cmd/).
	await procs.stop(collector);
	const responder = mqtt.connect(url, {protocolVersion: 5, clientId: `vsc-responder-${process.pid}`, username: 'collector',
		password: benv.COLLECTOR_PASSWORD, reconnectPeriod: 0});
	await new Promise<void>((res, rej) => {
		responder.on('connect', () => res());
		responder.on('error', rej);
	});
	const held: {topic: string; corr: Buffer; body: any}[] = [];
	const reply = (topic: string, corr: Buffer, r: object) => responder.publish(topic, JSON.stringify(r),
		{qos: 1, properties: {correlationData: corr}});
	responder.on('message', (topic, payload, packet) => {
		const rt = packet.properties?.responseTopic;
		const corr = packet.properties?.correlationData as Buffer | undefined;
		if(!rt || !corr) return;
		const verb = topic.split('/').pop();
		const body = JSON.parse(payload.toString());
		if(verb === 'echo') reply(rt, corr, {ok: true, result: {verb, body}});
		else if(verb === 'refuse') reply(rt, corr, {ok: false, error: {code: 'bad_request', message: 'no such session'}});
		else if(verb === 'batch'){
			// Answer the five in reverse order: correlation data, not order, pairs them.
			held.push({topic: rt, corr, body});
			if(held.length === 5) for(const h of held.reverse()) reply(h.topic, h.corr, {ok: true, result: h.body.n});
		}else if(verb === 'pause') reply(rt, corr, {ok: true, result: {paused: true, by: rt.split('/').slice(-2)[0]}});
		// 'silent': never answered
	});
	await responder.subscribeAsync([`${benv.ROOT}/q/+`, `${benv.ROOT}/cmd/+`], {qos: 1});

	const c = client();
	await c.connect();
	const r = await c.query<{verb: string; body: any}>('echo', {state: 'lost', project: 'proj-a'});
	assert.equal(r.ok, true);
	assert.deepEqual(r.result, {verb: 'echo', body: {v: 1, state: 'lost', project: 'proj-a'}});

	await assert.rejects(c.query('refuse', {session: 'x'}), (e: unknown) => e instanceof HeartwireReplyError &&
		e.code === 'bad_request' && /no such session/.test(e.message));

	const t0 = Date.now();
	await assert.rejects(c.query('silent', {}, 300), (e: unknown) => e instanceof HeartwireClientError && e.code === 'timeout');
	assert.ok(Date.now() - t0 < 2000);

	const results = await Promise.all([0, 1, 2, 3, 4].map((n) => c.query<number>('batch', {n})));
	assert.deepEqual(results.map((x) => x.result), [0, 1, 2, 3, 4]);

	// The viewer may not send commands (the broker's ACL refuses the publish); the operator may.
	await assert.rejects(c.command('pause', {reason: 'test'}), (e: unknown) => e instanceof HeartwireClientError && e.code === 'auth');
	const op = client({username: 'operator', password: benv.OPERATOR_PASSWORD});
	await op.connect();
	const pr = await op.command<{paused: boolean; by: string}>('pause', {reason: 'test'});
	assert.deepEqual(pr.result, {paused: true, by: 'operator'});

	await assert.rejects(c.query('bad verb'), /not valid/);
	await c.close();
	await assert.rejects(c.query('echo'), (e: unknown) => e instanceof HeartwireClientError && e.code === 'closed');
	await responder.endAsync();
});
