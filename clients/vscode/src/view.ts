// view.ts: what the extension shows, as plain data (no vscode import, so it is unit-tested
// under node): the project tree, the status bar text, which alerts notify, and the resume
// command line.
import {Alert, LIVE_STATES, RECOVERABLE_STATES, STATES, SessionDocument, SessionState, isId} from './types';

export interface ProjectNode {
	kind: 'project';
	project: string;
	sessions: SessionDocument[];
	live: number;
	attention: number;
}

const URGENCY: Record<SessionState, number> = {lost: 0, crashed: 1, stalled: 2, failed: 3, recovering: 4, starting: 5,
	active: 6, idle: 7, cleared: 8, completed: 9};
const ATTENTION = new Set<SessionState>(['stalled', 'lost', 'crashed', 'failed']);

/** Projects sorted by name ("" for sessions without one, last), sessions by urgency then id. */
export function projectTree(sessions: SessionDocument[]): ProjectNode[] {
	const by = new Map<string, SessionDocument[]>();
	for(const d of sessions){
		const p = d.project || '';
		if(!by.has(p)) by.set(p, []);
		by.get(p)!.push(d);
	}
	return [...by.keys()].sort((a, b) => (a === '') !== (b === '') ? (a === '' ? 1 : -1) : a.localeCompare(b)).map((p) => {
		const list = by.get(p)!.sort((a, b) => URGENCY[a.state] - URGENCY[b.state] || a.session.localeCompare(b.session));
		return {kind: 'project', project: p, sessions: list, live: list.filter((d) => LIVE_STATES.has(d.state)).length,
			attention: list.filter((d) => ATTENTION.has(d.state)).length};
	});
}

/** "3 active · 1 lost · 1 crashed": the non-zero live and attention counts; "no sessions". */
export function statusText(counts: Record<SessionState, number>): string {
	const parts = STATES.filter((s) => counts[s] > 0 && s !== 'completed' && s !== 'cleared').map((s) => `${counts[s]} ${s}`);
	return parts.length ? parts.join(' · ') : 'no sessions';
}

/** True when a session needs attention (the status bar turns to its warning colour). */
export function needsAttention(counts: Record<SessionState, number>): boolean {
	return counts.lost + counts.crashed + counts.stalled + counts.failed > 0;
}

/** The notification for an alert, or null when its kind is not in notify (default lost, crashed). */
export function alertNotification(a: Alert, notify: readonly string[] = ['lost', 'crashed']): {text: string; resumable: boolean} | null {
	if(!notify.includes(a.alert)) return null;
	const where = [a.project, a.machine].filter(Boolean).join(' on ');
	const cause = a.cause && a.cause !== 'none' ? ` (${a.cause.replace(/_/g, ' ')})` : '';
	return {text: `heartwire: session ${a.session}${where ? ' of ' + where : ''} is ${a.state}${cause}`,
		resumable: RECOVERABLE_STATES.has(a.state)};
}

/** One line for a session in the tree: its state and what it works on. */
export function sessionDescription(d: SessionDocument, now: number): string {
	const cause = d.cause && d.cause !== 'none' ? `/${d.cause}` : '';
	const age = d.last_hb_at > 0 ? ` · hb ${Math.max(0, Math.round((now - d.last_hb_at) / 1000))} s ago` : '';
	return `${d.state}${cause}${age}${d.task ? ' · ' + d.task : ''}`;
}

/** The terminal command that resumes a session. Refuses ids that are not heartwire ids (they
 * come from the wire and go to a shell) and agent paths with shell metacharacters. */
export function resumeCommandLine(session: string, agentPath = 'heartwire-agent'): string {
	if(!isId(session)) throw new Error(`'${session}' is not a session id`);
	if(!/^[A-Za-z0-9_./~+-]+$/.test(agentPath)) throw new Error(`agent path '${agentPath}' has characters a shell would interpret`);
	return `${agentPath} resume ${session}`;
}
