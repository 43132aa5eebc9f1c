// types.ts: heartwire's public wire types as the collector publishes them (DESIGN.md, the
// retained session document of shared/msg_session.c, the alert and rollup payloads of
// collector/publish.c) and the request/reply envelope of the q/ and cmd/ verbs.

/** Every session state, in the order heartwire lists them. */
export const STATES = ['starting', 'active', 'idle', 'recovering', 'stalled', 'lost', 'crashed', 'completed', 'failed',
	'cleared'] as const;
export type SessionState = typeof STATES[number];

/** Every cause ("none" when the state has none). */
export const CAUSES = ['none', 'missed_heartbeats', 'no_progress', 'child_stopped', 'will', 'timeout', 'exit_code',
	'signal', 'end', 'operator', 'not_resumable', 'restart_limit'] as const;
export type SessionCause = typeof CAUSES[number];

/** The agent is believed to run the session. */
export const LIVE_STATES: ReadonlySet<SessionState> = new Set<SessionState>(['starting', 'active', 'idle', 'recovering']);
/** The session may be restarted or resumed. */
export const RECOVERABLE_STATES: ReadonlySet<SessionState> = new Set<SessionState>(['stalled', 'lost', 'crashed', 'cleared']);
/** Nothing moves the session out of these but an operator's clear. */
export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set<SessionState>(['completed', 'failed']);

export type ClaudeSidSource = 'startup' | 'resume' | 'compact' | 'clear';

/** Times are milliseconds since the Unix epoch; 0 when unknown. */
export interface SessionDocument {
	v: 1;
	session: string;
	machine: string;
	slot?: string;
	project?: string;
	task?: string;
	state: SessionState;
	cause: SessionCause;
	state_since: number;
	epoch: number;
	seq: number;
	run: number;
	started_at: number;
	/** Collector receive time of the last heartbeat. */
	last_hb_at: number;
	interval_ms: number;
	grace_ms: number;
	/** When the collector declares the session stalled without another heartbeat. */
	deadline_at: number;
	pid: number;
	cwd?: string;
	argv?: string[];
	agent?: string;
	claude?: {
		sid?: string;
		chain: {sid: string; at: number; source: ClaudeSidSource}[];
		resumable: boolean;
		resume_failures: number;
	};
	progress?: {prompts: number; tools: number; last_activity_at: number};
	exit?: {code: number | null; signal: number | null; at?: number};
	ended_at: number;
	recovery?: {claimed_by?: string; lease_until: number; token?: string; attempts: number};
	version: number;
	updated_at: number;
}

/** alert/s/{session}: a transition that needs a human or a restarter. */
export type AlertKind = 'lost' | 'crashed' | 'stalled' | 'failed' | 'recovered';
export interface Alert {
	v: 1;
	alert: AlertKind;
	session: string;
	machine: string;
	project: string;
	state: SessionState;
	cause: SessionCause;
	from: SessionState | 'none';
	from_cause: SessionCause;
	epoch: number;
	at: number;
	/** A recovered session that was wrongly declared stalled or lost. */
	false_alarm: boolean;
	collector: string;
}

/** state/p/{project} and state/m/{machine}. */
export interface Rollup {
	v: 1;
	project?: string;
	machine?: string;
	/** attention: something stalled, lost or crashed; active: something live; else quiet. */
	state: 'attention' | 'active' | 'quiet';
	sessions: number;
	live: number;
	counts: Record<SessionState, number>;
	version: number;
	updated_at: number;
}

/** state/summary: fleet counts and collector counters. */
export interface Summary {
	v: 1;
	collector: string;
	state: 'attention' | 'active' | 'quiet';
	sessions: number;
	live: number;
	projects: number;
	machines: number;
	counts: Record<SessionState, number>;
	false_alarms: number;
	flaps: number;
	alerts: number;
	updated_at: number;
	[counter: string]: unknown;
}

/** Every reply to a q/ or cmd/ request has ok; a failure has an error with a stable code. */
export interface Reply<T = unknown> {
	ok: boolean;
	error?: {code: string; message: string};
	result?: T;
	[key: string]: unknown;
}

const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** A heartwire id: 1-64 characters of A-Z a-z 0-9 . _ : - (never a topic wildcard or a shell metacharacter). */
export function isId(s: unknown): s is string {
	return typeof s === 'string' && ID_RE.test(s);
}

export function isState(s: unknown): s is SessionState {
	return typeof s === 'string' && (STATES as readonly string[]).includes(s);
}

/** Checks the parts of a session document the client relies on; anything else is refused. */
export function asSessionDocument(o: unknown): SessionDocument | null {
	if(!o || typeof o !== 'object' || Array.isArray(o)) return null;
	const d = o as Record<string, unknown>;
	if(d.v !== 1 || !isId(d.session) || !isId(d.machine) || !isState(d.state)) return null;
	if(typeof d.epoch !== 'number' || typeof d.version !== 'number') return null;
	if(d.project !== undefined && !isId(d.project)) return null;
	return d as unknown as SessionDocument;
}

export function asAlert(o: unknown): Alert | null {
	if(!o || typeof o !== 'object' || Array.isArray(o)) return null;
	const a = o as Record<string, unknown>;
	if(a.v !== 1 || typeof a.alert !== 'string' || !isId(a.session) || !isState(a.state)) return null;
	return a as unknown as Alert;
}
