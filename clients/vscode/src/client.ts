// client.ts: the heartwire client for tools like the VSCode extension: connects to the broker
// with MQTT 5, keeps the session list from the collector's retained state (state/s/+) for all
// projects or one, reports alerts (alert/s/+) and state transitions as events, and asks
// queries and commands with MQTT 5 request/response (response topic + correlation data).
//
//   const c = new HeartwireClient({url: 'mqtt://127.0.0.1:1883', username: 'viewer', password});
//   c.on('alert', (a) => ...);
//   await c.connect();
//   c.sessions();                        // SessionDocument[] (of the project, when one is set)
//   await c.query('sessions', {state: 'lost'});
//   await c.close();
import {EventEmitter} from 'node:events';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import * as mqtt from 'mqtt';

import {
	Alert, Reply, Rollup, STATES, SessionDocument, SessionState, Summary, asAlert, asSessionDocument, isId
} from './types';

export interface HeartwireClientOptions {
	/** mqtt://, mqtts://, ws:// or wss:// */
	url: string;
	/** Topic root, default heartwire/v1. */
	root?: string;
	username?: string;
	password?: string;
	/** CA certificate file (PEM) for a broker with a private CA. */
	cafile?: string;
	/** Default hw-client-{random}. */
	clientId?: string;
	/** Show only this project's sessions and alerts (the topic tree keys sessions by id, so this
	 * filters the documents' project field; setProject() changes it without reconnecting). */
	project?: string;
	/** Request timeout, default 5000 ms. */
	requestTimeoutMs?: number;
	/** How long connect() waits for the broker, default 10000 ms. */
	connectTimeoutMs?: number;
	/** Reconnect period after a lost connection, default 2000 ms (0: never). */
	reconnectMs?: number;
}

/** A session changed: previous is undefined for a new one, retained tells whether it came from
 * the broker's retained state (a snapshot on subscribe) rather than a live update. */
export interface SessionChange {
	session: SessionDocument;
	previous?: SessionDocument;
	retained: boolean;
}

/** A reply with ok false: code and message are the server's. */
export class HeartwireReplyError extends Error {
	constructor(readonly code: string, message: string, readonly reply: Reply) {
		super(`${code}: ${message}`);
		this.name = 'HeartwireReplyError';
	}
}

/** connect() failed, a request was refused by the broker ('auth') or timed out: code is 'auth',
 * 'timeout', 'closed' or 'connect'. */
export class HeartwireClientError extends Error {
	constructor(readonly code: 'auth' | 'timeout' | 'closed' | 'connect', message: string) {
		super(message);
		this.name = 'HeartwireClientError';
	}
}

interface Pending {
	resolve: (r: Reply) => void;
	reject: (e: Error) => void;
	timer: NodeJS.Timeout;
}

export interface HeartwireClientEvents {
	connect: [];
	offline: [];
	error: [Error];
	session: [SessionChange];
	removed: [string, SessionDocument];
	transition: [SessionChange];
	alert: [Alert];
	rollup: ['project' | 'machine', string, Rollup | null];
	summary: [Summary | null];
}

export class HeartwireClient extends EventEmitter<HeartwireClientEvents> {
	readonly root: string;
	readonly clientId: string;
	readonly responseTopic: string;
	private readonly opts: HeartwireClientOptions;
	private mqtt: mqtt.MqttClient | null = null;
	private readonly docs = new Map<string, SessionDocument>();
	private readonly projectRollups = new Map<string, Rollup>();
	private readonly machineRollups = new Map<string, Rollup>();
	private summaryDoc: Summary | null = null;
	private readonly pending = new Map<string, Pending>();
	private project: string | undefined;
	private closed = false;

	constructor(opts: HeartwireClientOptions) {
		super();
		this.opts = opts;
		this.root = (opts.root || 'heartwire/v1').replace(/\/+$/, '');
		if(!this.root || /[+#]/.test(this.root) || this.root.startsWith('$') || this.root.startsWith('/'))
			throw new Error(`topic root '${this.root}' is not valid`);
		this.clientId = opts.clientId || 'hw-client-' + randomBytes(6).toString('hex');
		if(!isId(this.clientId)) throw new Error(`client id '${this.clientId}' is not a heartwire id`);
		if(opts.project !== undefined && opts.project !== '' && !isId(opts.project))
			throw new Error(`project '${opts.project}' is not a heartwire id`);
		this.project = opts.project || undefined;
		// The broker's ACL lets each user read {root}/reply/{user}/#.
		this.responseTopic = `${this.root}/reply/${opts.username || 'anonymous'}/${this.clientId}`;
	}

	/** Connects, subscribes to the state, alert and reply topics, and resolves once the broker
	 * acknowledged the subscriptions (the retained state arrives right after). Rejects with a
	 * HeartwireClientError: 'auth' (bad user name or password, not authorised), 'timeout' or
	 * 'connect'. Reconnects by itself afterwards (reconnectMs). */
	connect(): Promise<void> {
		if(this.mqtt) return Promise.reject(new Error('connect() was already called'));
		const o = this.opts;
		const options: mqtt.IClientOptions = {
			protocolVersion: 5,
			clientId: this.clientId,
			clean: true,
			keepalive: 30,
			connectTimeout: o.connectTimeoutMs ?? 10000,
			reconnectPeriod: o.reconnectMs ?? 2000,
			resubscribe: false,
			username: o.username,
			password: o.password
		};
		if(o.cafile) options.ca = readFileSync(o.cafile);
		return new Promise<void>((resolve, reject) => {
			let settled = false;
			const fail = (e: Error) => {
				if(settled) return;
				settled = true;
				this.mqtt?.end(true);
				this.mqtt = null;
				reject(e);
			};
			const timer = setTimeout(() => fail(new HeartwireClientError('timeout',
				`no connection to ${o.url} within ${options.connectTimeout} ms`)), (options.connectTimeout as number) + 1000);
			const c = mqtt.connect(o.url, options);
			this.mqtt = c;
			c.on('connect', () => {
				// Every (re)connect starts from the broker's retained state again.
				this.resetRetained();
				c.subscribe([`${this.root}/state/#`, `${this.root}/alert/s/+`, this.responseTopic], {qos: 1}, (err, granted) => {
					const refused = (granted || []).filter((g) => g.qos > 2);
					if(err || refused.length){
						const e = err || new HeartwireClientError('auth', `subscription refused: ${refused.map((g) => g.topic).join(', ')}`);
						if(!settled){
							clearTimeout(timer);
							fail(e);
						}else{
							this.emit('error', e);
						}
						return;
					}
					if(!settled){
						settled = true;
						clearTimeout(timer);
						resolve();
					}
					this.emit('connect');
				});
			});
			c.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
			c.on('offline', () => this.emit('offline'));
			c.on('error', (err: Error & {code?: number}) => {
				// MQTT 5: 134 bad user name or password, 135 not authorised; 3.1.1: 4, 5.
				const auth = err.code !== undefined && [4, 5, 134, 135].includes(err.code);
				const e = auth ? new HeartwireClientError('auth', err.message) : err;
				if(!settled){
					clearTimeout(timer);
					fail(auth ? e : new HeartwireClientError('connect', err.message));
				}else{
					this.emit('error', e);
				}
			});
		});
	}

	/** Disconnects cleanly; pending requests are rejected with code 'closed'. */
	async close(): Promise<void> {
		this.closed = true;
		for(const [k, p] of this.pending){
			clearTimeout(p.timer);
			p.reject(new HeartwireClientError('closed', 'the client was closed'));
			this.pending.delete(k);
		}
		const c = this.mqtt;
		this.mqtt = null;
		if(c) await c.endAsync();
	}

	get connected(): boolean {
		return !!this.mqtt && this.mqtt.connected;
	}

	/** Shows only this project's sessions and alerts (undefined: all). */
	setProject(project: string | undefined): void {
		if(project !== undefined && project !== '' && !isId(project)) throw new Error(`project '${project}' is not a heartwire id`);
		this.project = project || undefined;
	}

	getProject(): string | undefined {
		return this.project;
	}

	/** The sessions (of the project, when one is set), sorted by project, machine and id. */
	sessions(): SessionDocument[] {
		return [...this.docs.values()].filter((d) => this.wanted(d.project)).sort((a, b) =>
			(a.project || '').localeCompare(b.project || '') || a.machine.localeCompare(b.machine) ||
			a.session.localeCompare(b.session));
	}

	session(id: string): SessionDocument | undefined {
		const d = this.docs.get(id);
		return d && this.wanted(d.project) ? d : undefined;
	}

	/** Sessions per state (of the project, when one is set). */
	counts(): Record<SessionState, number> {
		const c = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<SessionState, number>;
		for(const d of this.sessions()) c[d.state]++;
		return c;
	}

	/** Every project that has sessions (whatever the filter), sorted. */
	projects(): string[] {
		const s = new Set<string>();
		for(const d of this.docs.values()) s.add(d.project || '');
		for(const p of this.projectRollups.keys()) s.add(p);
		return [...s].sort();
	}

	projectRollup(project: string): Rollup | undefined {
		return this.projectRollups.get(project);
	}

	machineRollup(machine: string): Rollup | undefined {
		return this.machineRollups.get(machine);
	}

	summary(): Summary | null {
		return this.summaryDoc;
	}

	/** Asks {root}/q/{verb} (queries: sessions, session, events, projects, machines, stats). */
	query<T = unknown>(verb: string, body: Record<string, unknown> = {}, timeoutMs?: number): Promise<Reply<T>> {
		return this.request<T>('q', verb, body, timeoutMs);
	}

	/** Sends {root}/cmd/{verb} (commands: fail, clear, claim, release, pause, unpause). */
	command<T = unknown>(verb: string, body: Record<string, unknown> = {}, timeoutMs?: number): Promise<Reply<T>> {
		return this.request<T>('cmd', verb, body, timeoutMs);
	}

	/** One MQTT 5 request: publishes {"v":1,...body} to {root}/{kind}/{verb} with this client's
	 * response topic and a fresh correlation data, and resolves with the reply that carries the
	 * same correlation data. Rejects with HeartwireReplyError when the reply has ok false, with
	 * HeartwireClientError 'timeout' when none comes in time, 'closed' when not connected. */
	request<T = unknown>(kind: 'q' | 'cmd', verb: string, body: Record<string, unknown> = {}, timeoutMs?: number): Promise<Reply<T>> {
		if(!isId(verb)) return Promise.reject(new Error(`verb '${verb}' is not valid`));
		const c = this.mqtt;
		if(!c || this.closed) return Promise.reject(new HeartwireClientError('closed', 'not connected'));
		const corr = randomBytes(16);
		const key = corr.toString('hex');
		const ms = timeoutMs ?? this.opts.requestTimeoutMs ?? 5000;
		return new Promise<Reply<T>>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(key);
				reject(new HeartwireClientError('timeout', `no reply to ${kind}/${verb} within ${ms} ms`));
			}, ms);
			this.pending.set(key, {resolve: resolve as (r: Reply) => void, reject, timer});
			const payload = JSON.stringify({v: 1, ...body});
			c.publish(`${this.root}/${kind}/${verb}`, payload, {qos: 1, properties: {responseTopic: this.responseTopic,
				correlationData: corr}}, (err, packet) => {
				// mqtt.js fails the publish when the PUBACK carries a failure reason (>= 0x80);
				// 0x87 (135) is the broker's ACL saying no.
				const rc = (err as {code?: number} | undefined)?.code ?? (packet as {reasonCode?: number} | undefined)?.reasonCode;
				if(err || (rc !== undefined && rc >= 0x80)){
					clearTimeout(timer);
					this.pending.delete(key);
					reject(rc === 0x87 ? new HeartwireClientError('auth', `the broker's ACL refuses ${kind}/${verb} for this user`)
						: err || new Error(`the broker refused ${kind}/${verb} (reason ${rc})`));
				}
			});
		});
	}

	private wanted(project: string | undefined): boolean {
		return !this.project || project === this.project;
	}

	private resetRetained(): void {
		const old = [...this.docs.entries()];
		this.docs.clear();
		this.projectRollups.clear();
		this.machineRollups.clear();
		this.summaryDoc = null;
		// Sessions that do not come back with the retained state are reported removed once the
		// snapshot had time to arrive.
		setTimeout(() => {
			for(const [id, d] of old){
				if(!this.docs.has(id) && this.wanted(d.project)) this.emit('removed', id, d);
			}
		}, 1000).unref();
	}

	private onMessage(topic: string, payload: Buffer, packet: mqtt.IPublishPacket): void {
		if(topic === this.responseTopic){
			this.onReply(payload, packet);
			return;
		}
		if(!topic.startsWith(this.root + '/')) return;
		const levels = topic.slice(this.root.length + 1).split('/');
		const text = payload.toString('utf8');
		let o: unknown = null;
		if(text.length){
			try{
				o = JSON.parse(text);
			}catch{
				return;
			}
		}
		const retained = !!packet.retain;
		if(levels[0] === 'state' && levels.length === 3 && levels[1] === 's' && isId(levels[2])){
			const id = levels[2];
			const previous = this.docs.get(id);
			if(o === null){
				if(previous){
					this.docs.delete(id);
					if(this.wanted(previous.project)) this.emit('removed', id, previous);
				}
				return;
			}
			const d = asSessionDocument(o);
			if(!d || d.session !== id) return;
			// Never move back to an older version of the same epoch (a retained snapshot crossing a live update).
			if(previous && previous.epoch === d.epoch && d.version < previous.version) return;
			this.docs.set(id, d);
			if(!this.wanted(d.project)) return;
			const change: SessionChange = {session: d, previous, retained};
			this.emit('session', change);
			if(previous && previous.state !== d.state && !retained) this.emit('transition', change);
		}else if(levels[0] === 'state' && levels.length === 3 && (levels[1] === 'p' || levels[1] === 'm') && isId(levels[2])){
			const map = levels[1] === 'p' ? this.projectRollups : this.machineRollups;
			if(o === null) map.delete(levels[2]);
			else if(typeof o === 'object' && (o as Rollup).v === 1) map.set(levels[2], o as Rollup);
			else return;
			this.emit('rollup', levels[1] === 'p' ? 'project' : 'machine', levels[2], map.get(levels[2]) || null);
		}else if(levels[0] === 'state' && levels.length === 2 && levels[1] === 'summary'){
			this.summaryDoc = o && typeof o === 'object' && (o as Summary).v === 1 ? o as Summary : null;
			this.emit('summary', this.summaryDoc);
		}else if(levels[0] === 'alert' && levels.length === 3 && levels[1] === 's' && isId(levels[2])){
			const a = asAlert(o);
			if(a && a.session === levels[2] && this.wanted(a.project || undefined)) this.emit('alert', a);
		}
	}

	private onReply(payload: Buffer, packet: mqtt.IPublishPacket): void {
		const corr = packet.properties?.correlationData;
		if(!corr) return;
		const key = Buffer.from(corr).toString('hex');
		const p = this.pending.get(key);
		if(!p) return;
		this.pending.delete(key);
		clearTimeout(p.timer);
		let r: Reply;
		try{
			r = JSON.parse(payload.toString('utf8')) as Reply;
		}catch(e){
			p.reject(new Error(`reply is not JSON: ${(e as Error).message}`));
			return;
		}
		if(!r || typeof r !== 'object' || typeof r.ok !== 'boolean'){
			p.reject(new Error('reply has no ok'));
		}else if(!r.ok){
			p.reject(new HeartwireReplyError(r.error?.code || 'error', r.error?.message || 'request failed', r));
		}else{
			p.resolve(r);
		}
	}
}
