// model.test.mjs: unit tests of the dashboard's fleet model (web/src/model.js), loaded into a
// vm context exactly as the browser loads it (a classic script defining HeartwireModel).
// Run: node --test tests/web/
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import vm from 'node:vm';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'src', 'model.js');
const ctx = {TextDecoder, console};
ctx.globalThis = ctx;
vm.runInNewContext(readFileSync(src, 'utf8'), ctx, {filename: src});
const M = ctx.HeartwireModel;
const R = 'heartwire/v1';
// Values made in the vm context have its Array and Object: compare their JSON shape.
const plain = (x) => JSON.parse(JSON.stringify(x));

function doc(id, state, extra){
	return JSON.stringify(Object.assign({v: 1, session: id, machine: 'm1', project: 'p1', state: state, cause: 'none',
		epoch: 1, version: 1, updated_at: 1000, last_hb_at: 1000}, extra || {}));
}

test('parseTopic knows every collector-side topic and nothing else', () => {
	assert.deepEqual(plain(M.parseTopic(R, R + '/state/s/s-42')), {kind: 'session', id: 's-42'});
	assert.deepEqual(plain(M.parseTopic(R, R + '/state/p/acme')), {kind: 'project', id: 'acme'});
	assert.deepEqual(plain(M.parseTopic(R, R + '/state/m/build-07')), {kind: 'machine', id: 'build-07'});
	assert.deepEqual(plain(M.parseTopic(R, R + '/state/summary')), {kind: 'summary', id: ''});
	assert.deepEqual(plain(M.parseTopic(R, R + '/state/pause')), {kind: 'pause', id: ''});
	assert.deepEqual(plain(M.parseTopic(R, R + '/alert/s/s-42')), {kind: 'alert', id: 's-42'});
	assert.deepEqual(plain(M.parseTopic(R, R + '/collector/c1')), {kind: 'collector', id: 'c1'});
	for(const t of [R + '/state/s', R + '/state/s/a/b', R + '/state/x/a', 'other/v1/state/s/a', R + '/m/m1/s/a/hb',
		R + '/state/s/bad id', R + '/alert/p/x', R + '/state/s/' + 'x'.repeat(65), R]){
		assert.equal(M.parseTopic(R, t), null, t);
	}
});

test('Fleet keeps sessions from retained state and deletes on an empty payload', () => {
	const f = new M.Fleet(R);
	assert.equal(f.apply(R + '/state/s/a', doc('a', 'active'), 5).change, 'set');
	assert.equal(f.apply(R + '/state/s/b', Buffer.from(doc('b', 'lost', {cause: 'will'})), 5).change, 'set');
	assert.equal(f.sessions.size, 2);
	assert.equal(f.sessions.get('b').cause, 'will');
	assert.equal(f.sessions.get('b').received_at, 5);
	assert.equal(f.apply(R + '/state/s/a', '', 6).change, 'delete');
	assert.deepEqual(plain([...f.sessions.keys()]), ['b']);
	assert.equal(f.counts().lost, 1);
	assert.equal(f.counts().active, 0);
});

test('Fleet refuses invalid payloads and documents for another session', () => {
	const f = new M.Fleet(R);
	assert.equal(f.apply(R + '/state/s/a', '{not json', 1).change, 'ignored');
	assert.equal(f.apply(R + '/state/s/a', '{"v":2,"session":"a","state":"active"}', 1).change, 'ignored');
	assert.equal(f.apply(R + '/state/s/a', '[1]', 1).change, 'ignored');
	assert.equal(f.apply(R + '/state/s/a', doc('b', 'active'), 1).change, 'ignored');
	assert.equal(f.apply('elsewhere/x', doc('a', 'active'), 1).change, 'ignored');
	assert.equal(f.sessions.size, 0);
	assert.equal(f.invalid, 4);
});

test('Fleet never moves a session back to an older version of the same epoch', () => {
	const f = new M.Fleet(R);
	f.apply(R + '/state/s/a', doc('a', 'lost', {version: 7}), 1);
	assert.equal(f.apply(R + '/state/s/a', doc('a', 'active', {version: 6}), 2).change, 'ignored');
	assert.equal(f.sessions.get('a').state, 'lost');
	assert.equal(f.apply(R + '/state/s/a', doc('a', 'active', {version: 1, epoch: 2}), 3).change, 'set');
	assert.equal(f.sessions.get('a').state, 'active');
});

test('Fleet keeps alerts newest first, at most ALERTS_MAX', () => {
	const f = new M.Fleet(R);
	for(let i = 0; i < M.ALERTS_MAX + 5; i++){
		const r = f.apply(R + '/alert/s/a', JSON.stringify({v: 1, alert: 'lost', session: 'a', state: 'lost', at: i}), i);
		assert.equal(r.change, 'alert');
	}
	assert.equal(f.alerts.length, M.ALERTS_MAX);
	assert.equal(f.alerts[0].at, M.ALERTS_MAX + 4);
	assert.equal(f.apply(R + '/alert/s/a', '', 1).change, 'ignored');
});

test('Fleet tracks collectors (plain or JSON presence), summary and pause', () => {
	const f = new M.Fleet(R);
	f.apply(R + '/collector/c1', 'online', 1);
	f.apply(R + '/collector/c2', '{"v":1,"status":"offline"}', 1);
	assert.equal(f.collectors.get('c1').status, 'online');
	assert.equal(f.collectors.get('c2').status, 'offline');
	f.apply(R + '/collector/c1', '', 2);
	assert.equal(f.collectors.has('c1'), false);
	f.apply(R + '/state/summary', '{"v":1,"sessions":3}', 1);
	assert.equal(f.summary.sessions, 3);
	f.apply(R + '/state/pause', '{"v":1,"paused":true,"reason":"rate limit"}', 1);
	assert.equal(f.pause.reason, 'rate limit');
	f.apply(R + '/state/pause', '', 2);
	assert.equal(f.pause, null);
});

test('groups: by project then machine, urgent sessions first, filter', () => {
	const f = new M.Fleet(R);
	f.apply(R + '/state/s/a1', doc('a1', 'active', {project: 'web', machine: 'm2'}), 1);
	f.apply(R + '/state/s/a2', doc('a2', 'lost', {project: 'web', machine: 'm2'}), 1);
	f.apply(R + '/state/s/a3', doc('a3', 'completed', {project: 'web', machine: 'm1'}), 1);
	f.apply(R + '/state/s/b1', doc('b1', 'crashed', {project: 'api', machine: 'm1', task: '#118 add login'}), 1);
	f.apply(R + '/state/s/c1', doc('c1', 'idle', {project: undefined, machine: 'm3'}), 1);
	f.apply(R + '/state/p/web', '{"v":1,"project":"web","state":"attention"}', 1);
	const g = f.groups();
	assert.deepEqual(plain(g.map((x) => x.project)), ['', 'api', 'web']);
	const web = g[2];
	assert.deepEqual(plain(web.machines.map((m) => m.machine)), ['m1', 'm2']);
	assert.deepEqual(plain(web.machines[1].sessions.map((d) => d.session)), ['a2', 'a1']);
	assert.equal(web.attention, 1);
	assert.equal(web.live, 1);
	assert.equal(web.rollup.state, 'attention');
	assert.deepEqual(plain(f.groups('LOGIN').map((x) => x.project)), ['api']);
	assert.deepEqual(plain(f.groups('lost').flatMap((x) => x.machines.flatMap((m) => m.sessions.map((d) => d.session)))), ['a2']);
});

test('formatAge, heartbeatAge, overdue and exitText', () => {
	assert.equal(M.formatAge(null), '-');
	assert.equal(M.formatAge(-5), '0.0 s');
	assert.equal(M.formatAge(420), '0.4 s');
	assert.equal(M.formatAge(12000), '12 s');
	assert.equal(M.formatAge(185000), '3 min 05 s');
	assert.equal(M.formatAge(2 * 3600000 + 7 * 60000), '2 h 07 min');
	assert.equal(M.formatAge(3 * 86400000 + 4 * 3600000), '3 d 04 h');
	const d = {state: 'active', last_hb_at: 1000, deadline_at: 5000};
	assert.equal(M.heartbeatAge(d, 3500), 2500);
	assert.equal(M.heartbeatAge({last_hb_at: 0}, 3500), null);
	assert.equal(M.overdue(d, 4999), false);
	assert.equal(M.overdue(d, 5001), true);
	assert.equal(M.overdue({...d, state: 'lost'}, 9999), false);
	assert.equal(M.exitText({exit: {code: 3, signal: null}}), 'exit 3');
	assert.equal(M.exitText({exit: {code: null, signal: 9}}), 'signal 9');
	assert.equal(M.exitText({}), '');
});
