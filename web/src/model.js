/* model.js: the dashboard's fleet model: parses heartwire topics and payloads, keeps the
 * retained state (sessions, projects, machines, summary, pause, collectors) and the alert feed,
 * groups sessions by project and machine, formats ages. Pure logic, no DOM, no MQTT.
 *
 * A classic script, not an ES module, on purpose: mosquitto's http_dir (the page is served by
 * the broker's WebSockets listener) sends no Content-Type header, and browsers refuse a module
 * script without a JavaScript MIME type. It defines globalThis.HeartwireModel; the node tests
 * load this very file into a vm context the same way. */
(function(global){
	'use strict';

	/* Every state, in the order the dashboard lists them (DESIGN.md, shared/states.h). */
	const STATES = ['starting', 'active', 'idle', 'recovering', 'stalled', 'lost', 'crashed', 'completed',
		'failed', 'cleared'];
	const LIVE = new Set(['starting', 'active', 'idle', 'recovering']);
	const ATTENTION = new Set(['stalled', 'lost', 'crashed', 'failed']);
	/* Sessions needing a human first, then live ones, then the rest. */
	const RANK = {lost: 0, crashed: 1, stalled: 2, failed: 3, recovering: 4, starting: 5, active: 6, idle: 7,
		cleared: 8, completed: 9};
	const ALERTS_MAX = 200;
	const ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

	/* Splits topic under root into {kind, id}: kind is session, project, machine (state/s|p|m/{id}),
	 * summary, pause, alert (alert/s/{id}) or collector (collector/{id}); null for anything else. */
	function parseTopic(root, topic){
		if(typeof topic !== 'string' || !topic.startsWith(root + '/')) return null;
		const l = topic.slice(root.length + 1).split('/');
		if(l[0] === 'state'){
			if(l.length === 2 && (l[1] === 'summary' || l[1] === 'pause')) return {kind: l[1], id: ''};
			const kinds = {s: 'session', p: 'project', m: 'machine'};
			if(l.length === 3 && kinds[l[1]] && ID_RE.test(l[2])) return {kind: kinds[l[1]], id: l[2]};
			return null;
		}
		if(l[0] === 'alert' && l.length === 3 && l[1] === 's' && ID_RE.test(l[2])) return {kind: 'alert', id: l[2]};
		if(l[0] === 'collector' && l.length === 2 && ID_RE.test(l[1])) return {kind: 'collector', id: l[1]};
		return null;
	}

	/* Text of a payload (string, Uint8Array or Buffer). */
	function payloadText(p){
		if(p == null) return '';
		if(typeof p === 'string') return p;
		return new TextDecoder('utf-8').decode(p);
	}

	/* A heartwire JSON object of version 1, or null. */
	function decode(text){
		let o;
		try{
			o = JSON.parse(text);
		}catch(e){
			return null;
		}
		if(!o || typeof o !== 'object' || Array.isArray(o) || o.v !== 1) return null;
		return o;
	}

	/* "0.4 s", "12 s", "3 min 05 s", "2 h 07 min", "3 d 04 h"; "-" for null. */
	function formatAge(ms){
		if(ms == null || !isFinite(ms)) return '-';
		if(ms < 0) ms = 0;
		if(ms < 10000) return (ms / 1000).toFixed(1) + ' s';
		const s = Math.floor(ms / 1000);
		if(s < 60) return s + ' s';
		const pad = (n) => String(n).padStart(2, '0');
		if(s < 3600) return Math.floor(s / 60) + ' min ' + pad(s % 60) + ' s';
		if(s < 86400) return Math.floor(s / 3600) + ' h ' + pad(Math.floor(s / 60) % 60) + ' min';
		return Math.floor(s / 86400) + ' d ' + pad(Math.floor(s / 3600) % 24) + ' h';
	}

	/* Milliseconds since the collector last received a heartbeat, or null. */
	function heartbeatAge(doc, now){
		return doc && doc.last_hb_at > 0 ? now - doc.last_hb_at : null;
	}

	/* A live session whose heartbeat deadline has passed: the collector will call it stalled. */
	function overdue(doc, now){
		return !!doc && LIVE.has(doc.state) && doc.deadline_at > 0 && now > doc.deadline_at;
	}

	/* "exit 3", "signal 9" or "". */
	function exitText(doc){
		const x = doc && doc.exit;
		if(!x) return '';
		if(x.signal != null && x.signal >= 0) return 'signal ' + x.signal;
		if(x.code != null && x.code >= 0) return 'exit ' + x.code;
		return '';
	}

	function compareSessions(a, b){
		const r = (RANK[a.state] ?? 99) - (RANK[b.state] ?? 99);
		return r !== 0 ? r : a.session < b.session ? -1 : a.session > b.session ? 1 : 0;
	}

	/* The fleet as the retained topics describe it, plus the alerts seen since connecting. */
	class Fleet {
		constructor(root){
			this.root = root;
			this.sessions = new Map();   /* session id -> session document */
			this.projects = new Map();   /* project id -> rollup */
			this.machines = new Map();   /* machine id -> rollup */
			this.collectors = new Map(); /* collector id -> {status, at} */
			this.summary = null;
			this.pause = null;
			this.alerts = [];            /* newest first, at most ALERTS_MAX */
			this.invalid = 0;            /* messages that were not valid heartwire payloads */
		}

		/* Applies one message (payload: string, Uint8Array or Buffer; an empty retained payload
		 * deletes). Returns {kind, id, change} where change is set, delete, alert or ignored. */
		apply(topic, payload, now){
			const t = parseTopic(this.root, topic);
			const text = payloadText(payload);
			if(!t) return {kind: 'unknown', id: '', change: 'ignored'};
			if(t.kind === 'collector'){
				let status = text.trim();
				const o = decode(text);
				if(o && typeof o.status === 'string') status = o.status;
				if(!status) this.collectors.delete(t.id);
				else this.collectors.set(t.id, {status: status, at: now});
				return {kind: t.kind, id: t.id, change: status ? 'set' : 'delete'};
			}
			const maps = {session: this.sessions, project: this.projects, machine: this.machines};
			if(text.length === 0){
				if(maps[t.kind]) maps[t.kind].delete(t.id);
				else if(t.kind === 'summary') this.summary = null;
				else if(t.kind === 'pause') this.pause = null;
				else return {kind: t.kind, id: t.id, change: 'ignored'};
				return {kind: t.kind, id: t.id, change: 'delete'};
			}
			const o = decode(text);
			if(!o){
				this.invalid++;
				return {kind: t.kind, id: t.id, change: 'ignored'};
			}
			if(t.kind === 'alert'){
				o.received_at = now;
				this.alerts.unshift(o);
				if(this.alerts.length > ALERTS_MAX) this.alerts.length = ALERTS_MAX;
				return {kind: t.kind, id: t.id, change: 'alert'};
			}
			if(t.kind === 'session'){
				if(o.session !== t.id || typeof o.state !== 'string'){
					this.invalid++;
					return {kind: t.kind, id: t.id, change: 'ignored'};
				}
				const old = this.sessions.get(t.id);
				/* Retained state and live updates may cross on a reconnect: keep the newest. */
				if(old && old.epoch === o.epoch && typeof old.version === 'number' && o.version < old.version)
					return {kind: t.kind, id: t.id, change: 'ignored'};
			}
			o.received_at = now;
			if(maps[t.kind]) maps[t.kind].set(t.id, o);
			else if(t.kind === 'summary') this.summary = o;
			else if(t.kind === 'pause') this.pause = o;
			return {kind: t.kind, id: t.id, change: 'set'};
		}

		/* Sessions per state, counted from the session documents. */
		counts(){
			const c = {};
			for(const s of STATES) c[s] = 0;
			for(const d of this.sessions.values()) c[d.state] = (c[d.state] || 0) + 1;
			return c;
		}

		/* [{project, rollup, attention, live, machines: [{machine, sessions: [doc...]}]}], projects
		 * sorted by name (sessions without a project under ""), machines by name, sessions by
		 * urgency then id. filter (optional): a lower-case substring of session, project, machine,
		 * task or state. */
		groups(filter){
			const f = (filter || '').trim().toLowerCase();
			const byProject = new Map();
			for(const d of this.sessions.values()){
				if(f){
					const hay = [d.session, d.project, d.machine, d.task, d.state, d.slot].join(' ').toLowerCase();
					if(!hay.includes(f)) continue;
				}
				const p = d.project || '';
				if(!byProject.has(p)) byProject.set(p, new Map());
				const m = byProject.get(p);
				if(!m.has(d.machine)) m.set(d.machine, []);
				m.get(d.machine).push(d);
			}
			const out = [];
			for(const p of [...byProject.keys()].sort()){
				const machines = [];
				let attention = 0, live = 0;
				for(const m of [...byProject.get(p).keys()].sort()){
					const list = byProject.get(p).get(m).sort(compareSessions);
					for(const d of list){
						if(ATTENTION.has(d.state)) attention++;
						if(LIVE.has(d.state)) live++;
					}
					machines.push({machine: m, sessions: list});
				}
				out.push({project: p, rollup: this.projects.get(p) || null, attention: attention, live: live,
					machines: machines});
			}
			return out;
		}
	}

	const api = {STATES, LIVE, ATTENTION, ALERTS_MAX, parseTopic, payloadText, decode, formatAge, heartbeatAge,
		overdue, exitText, compareSessions, Fleet};
	global.HeartwireModel = api;
	if(typeof module === 'object' && module && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
