// view.test.ts: unit tests of the extension's view model (src/view.ts) and the wire type guards.
import {test} from 'node:test';
import assert from 'node:assert/strict';

import {Alert, SessionDocument, SessionState, STATES, asAlert, asSessionDocument} from '../src/types';
import {alertNotification, needsAttention, projectTree, resumeCommandLine, sessionDescription, statusText} from '../src/view';

function doc(session: string, state: SessionState, project?: string, extra: Partial<SessionDocument> = {}): SessionDocument {
	return {v: 1, session, machine: 'm1', project, state, cause: 'none', state_since: 0, epoch: 1, seq: 1, run: 1,
		started_at: 0, last_hb_at: 0, interval_ms: 5000, grace_ms: 15000, deadline_at: 0, pid: 1, ended_at: 0, version: 1,
		updated_at: 0, ...extra};
}

function counts(c: Partial<Record<SessionState, number>>): Record<SessionState, number> {
	return Object.assign(Object.fromEntries(STATES.map((s) => [s, 0])), c) as Record<SessionState, number>;
}

test('projectTree groups by project, urgent sessions first, no project last', () => {
	const t = projectTree([doc('b', 'active', 'web'), doc('a', 'lost', 'web'), doc('z', 'idle'), doc('c', 'crashed', 'api'),
		doc('d', 'completed', 'web')]);
	assert.deepEqual(t.map((p) => p.project), ['api', 'web', '']);
	assert.deepEqual(t[1].sessions.map((d) => d.session), ['a', 'b', 'd']);
	assert.equal(t[1].live, 1);
	assert.equal(t[1].attention, 1);
	assert.equal(t[0].attention, 1);
	assert.equal(t[2].live, 1);
});

test('statusText and needsAttention', () => {
	assert.equal(statusText(counts({})), 'no sessions');
	assert.equal(statusText(counts({active: 3, lost: 1, crashed: 1, completed: 9})), '3 active · 1 lost · 1 crashed');
	assert.equal(needsAttention(counts({active: 3, completed: 2})), false);
	assert.equal(needsAttention(counts({stalled: 1})), true);
});

test('alertNotification: lost and crashed by default, resumable when recoverable', () => {
	const a: Alert = {v: 1, alert: 'lost', session: 's-42', machine: 'build-07', project: 'acme', state: 'lost', cause: 'will',
		from: 'active', from_cause: 'none', epoch: 4, at: 1, false_alarm: false, collector: 'c1'};
	assert.deepEqual(alertNotification(a), {text: 'heartwire: session s-42 of acme on build-07 is lost (will)', resumable: true});
	assert.equal(alertNotification({...a, alert: 'recovered', state: 'active'}), null);
	assert.equal(alertNotification({...a, alert: 'stalled', state: 'stalled'}), null);
	assert.ok(alertNotification({...a, alert: 'stalled', state: 'stalled'}, ['stalled']));
	assert.equal(alertNotification({...a, alert: 'failed', state: 'failed', cause: 'operator'}, ['failed'])!.resumable, false);
});

test('resumeCommandLine refuses what a shell would interpret', () => {
	assert.equal(resumeCommandLine('s-42'), 'heartwire-agent resume s-42');
	assert.equal(resumeCommandLine('a.b_c:d-1', '/opt/hw/bin/heartwire-agent'), '/opt/hw/bin/heartwire-agent resume a.b_c:d-1');
	assert.throws(() => resumeCommandLine('x; rm -rf /'), /not a session id/);
	assert.throws(() => resumeCommandLine('$(id)'), /not a session id/);
	assert.throws(() => resumeCommandLine('s', 'agent && evil'), /shell/);
});

test('sessionDescription', () => {
	assert.equal(sessionDescription(doc('s', 'lost', 'p', {cause: 'will', last_hb_at: 1000, task: '#1 x'}), 4400),
		'lost/will · hb 3 s ago · #1 x');
	assert.equal(sessionDescription(doc('s', 'starting'), 10), 'starting');
});

test('type guards refuse what the client must not trust', () => {
	assert.ok(asSessionDocument(JSON.parse(JSON.stringify(doc('s', 'active', 'p')))));
	assert.equal(asSessionDocument({...doc('s', 'active'), state: 'dancing'}), null);
	assert.equal(asSessionDocument({...doc('s', 'active'), session: 'a/b'}), null);
	assert.equal(asSessionDocument({...doc('s', 'active'), v: 2}), null);
	assert.equal(asSessionDocument({...doc('s', 'active'), project: '#'}), null);
	assert.equal(asSessionDocument([1]), null);
	assert.equal(asAlert({v: 1, alert: 'lost', session: 's', state: 'lost'})?.session, 's');
	assert.equal(asAlert({v: 1, alert: 'lost', session: '+', state: 'lost'}), null);
});
