/* app.js: the dashboard page: connects to the broker with MQTT 5 over WebSockets (the vendored
 * mqtt.js), subscribes to {root}/state/#, {root}/alert/# and {root}/collector/+, and renders the
 * fleet model (model.js) as sessions grouped by project and machine, with heartbeat ages that
 * tick and an alert feed.
 *
 * Query parameters: broker (ws:// or wss:// URL; default: the host that served the page, which
 * is right when mosquitto's http_dir serves it from its WebSockets listener), root (topic root,
 * default heartwire/v1), username (the password is asked for in the page, never in the URL),
 * filter (initial filter text). A classic script like model.js (see there why). */
(function(){
	'use strict';
	const M = window.HeartwireModel;
	const params = new URLSearchParams(window.location.search);
	const $ = (sel) => document.querySelector(sel);

	function defaultBroker(){
		const l = window.location;
		if(l.protocol === 'http:' || l.protocol === 'https:')
			return (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host;
		return 'ws://127.0.0.1:9001';
	}

	const cfg = {
		broker: params.get('broker') || defaultBroker(),
		root: (params.get('root') || 'heartwire/v1').replace(/\/+$/, ''),
		username: params.get('username') || '',
		password: ''
	};
	let fleet = new M.Fleet(cfg.root);
	let client = null;
	let dirty = true;
	let renderPending = false;
	let connState = 'offline';
	const seenAlerts = new WeakSet();

	/* Small DOM builder: el('div', {class: 'x', 'data-a': 'b'}, child, 'text', ...). Text goes
	 * through text nodes only: payload strings (tasks, ids) never become markup. */
	function el(tag, attrs){
		const e = document.createElement(tag);
		for(const k in attrs || {}){
			if(attrs[k] != null && attrs[k] !== false) e.setAttribute(k, String(attrs[k]));
		}
		for(let i = 2; i < arguments.length; i++){
			const c = arguments[i];
			if(c == null || c === false) continue;
			e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
		}
		return e;
	}

	function setConn(state, detail){
		connState = state;
		const c = $('#conn');
		c.className = 'conn conn-' + state;
		c.textContent = state + (detail ? ': ' + detail : '');
		document.body.setAttribute('data-conn', state);
		changed();
	}

	function clock(ms){
		if(!ms) return '-';
		const d = new Date(ms);
		const pad = (n, w) => String(n).padStart(w || 2, '0');
		return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' +
			pad(d.getMilliseconds(), 3);
	}

	function sessionCard(d, now){
		const hbAge = M.heartbeatAge(d, now);
		const meta = [];
		if(d.slot) meta.push('slot ' + d.slot);
		if(d.pid) meta.push('pid ' + d.pid);
		if(d.run) meta.push('run ' + d.run);
		if(d.progress) meta.push(d.progress.prompts + ' prompts · ' + d.progress.tools + ' tools');
		const x = M.exitText(d);
		if(x) meta.push(x);
		if(d.claude && d.claude.sid) meta.push('claude ' + d.claude.sid.slice(0, 12));
		const overdue = M.overdue(d, now);
		return el('article', {class: 'session st-' + d.state + (overdue ? ' overdue' : ''), 'data-session': d.session,
				'data-state': d.state, 'data-cause': d.cause || 'none'},
			el('header', null,
				el('span', {class: 'badge'}, d.state),
				el('span', {class: 'sid', title: d.session}, d.session),
				d.cause && d.cause !== 'none' ? el('span', {class: 'cause'}, d.cause.replace(/_/g, ' ')) : null),
			d.task ? el('div', {class: 'task', title: d.task}, d.task) : null,
			el('div', {class: 'meta'}, meta.join(' · ')),
			el('div', {class: 'times'},
				'heartbeat ', el('b', {'data-age': d.last_hb_at || ''}, M.formatAge(hbAge)), hbAge != null ? ' ago' : '',
				' · ' + d.state + ' for ', el('b', {'data-age': d.state_since || ''},
					M.formatAge(d.state_since ? now - d.state_since : null)),
				overdue ? el('span', {class: 'late'}, ' · heartbeat overdue') : null));
	}

	function renderSessions(now){
		const root = $('#projects');
		const groups = fleet.groups($('#filter').value);
		root.replaceChildren();
		if(groups.length === 0){
			root.appendChild(el('p', {class: 'empty'}, connState === 'connected'
				? 'No sessions under ' + cfg.root + '/state/s/ yet.' : 'Not connected.'));
			return;
		}
		for(const g of groups){
			const head = el('h2', null, g.project || '(no project)',
				el('span', {class: 'pcount'}, g.live + ' live'),
				g.attention ? el('span', {class: 'pattn'}, g.attention + ' need attention') : null);
			const sec = el('section', {class: 'project' + (g.attention ? ' attention' : ''), 'data-project': g.project},
				head);
			for(const m of g.machines){
				const grid = el('div', {class: 'sessions'});
				for(const d of m.sessions) grid.appendChild(sessionCard(d, now));
				sec.appendChild(el('div', {class: 'machine', 'data-machine': m.machine},
					el('h3', null, m.machine, el('span', {class: 'mcount'}, m.sessions.length + ' sessions')), grid));
			}
			root.appendChild(sec);
		}
	}

	function renderSummary(){
		const c = fleet.counts();
		const s = $('#summary');
		s.replaceChildren();
		for(const st of M.STATES){
			if(!c[st] && !M.LIVE.has(st) && !M.ATTENTION.has(st)) continue;
			s.appendChild(el('span', {class: 'chip st-' + st + (c[st] ? '' : ' zero'), 'data-count': st},
				el('b', null, c[st]), ' ' + st));
		}
		const cols = [...fleet.collectors.entries()].map(([id, v]) => id + ' ' + v.status);
		$('#collectors').textContent = cols.length ? 'collectors: ' + cols.join(', ') : 'no collector seen';
		const p = fleet.pause;
		const pb = $('#pause');
		if(p && (p.paused === true || p.paused === undefined)){
			pb.hidden = false;
			pb.textContent = 'Paused' + (p.reason ? ': ' + p.reason : '') +
				(p.until || p.resume_at ? ' until ' + new Date(p.until || p.resume_at).toLocaleString() : '');
		}else{
			pb.hidden = true;
		}
		const attn = c.lost + c.crashed + c.stalled;
		document.title = (attn ? '(' + attn + ') ' : '') + 'heartwire';
	}

	function renderAlerts(){
		const ul = $('#alerts');
		ul.replaceChildren();
		if(fleet.alerts.length === 0){
			ul.appendChild(el('li', {class: 'empty'}, 'No alerts since the page connected.'));
			return;
		}
		for(const a of fleet.alerts){
			const state = a.alert === 'recovered' ? 'recovered' : a.state;
			const li = el('li', {class: 'alert st-' + state, 'data-alert': a.alert, 'data-session': a.session},
				el('time', null, clock(a.at || a.received_at)),
				el('span', {class: 'badge'}, a.alert),
				el('span', {class: 'sid'}, a.session),
				el('span', {class: 'where'}, (a.project ? a.project + ' · ' : '') + (a.machine || '')),
				el('span', {class: 'from'}, (a.from || '?') + ' → ' + a.state + (a.cause && a.cause !== 'none'
					? '/' + a.cause : '') + (a.false_alarm ? ' (false alarm)' : '')));
			if(!seenAlerts.has(a)){
				seenAlerts.add(a);
				li.classList.add('new');
			}
			ul.appendChild(li);
		}
	}

	/* A change renders within a frame (bursts of messages coalesce into one render); the
	 * 250 ms tick only refreshes the ages. */
	function changed(){
		dirty = true;
		if(renderPending) return;
		renderPending = true;
		setTimeout(function(){
			renderPending = false;
			if(dirty) render();
		}, 16);
	}

	function render(){
		const now = Date.now();
		renderSummary();
		renderSessions(now);
		renderAlerts();
		dirty = false;
	}

	/* Between renders only the ages change: update their text in place. */
	function tick(){
		if(dirty){
			render();
			return;
		}
		const now = Date.now();
		for(const b of document.querySelectorAll('b[data-age]')){
			const t = Number(b.getAttribute('data-age'));
			b.textContent = M.formatAge(t ? now - t : null);
		}
		for(const card of document.querySelectorAll('article.session')){
			const d = fleet.sessions.get(card.getAttribute('data-session'));
			if(d && M.overdue(d, now) && !card.classList.contains('overdue')) dirty = true;
		}
	}

	function connect(){
		if(client){
			client.end(true);
			client = null;
		}
		const alerts = fleet.alerts;
		fleet = new M.Fleet(cfg.root);
		fleet.alerts = alerts;
		dirty = true;
		$('#broker-label').textContent = cfg.broker + '  ·  ' + cfg.root;
		setConn('connecting');
		const opts = {
			protocolVersion: 5,
			clientId: 'hw-dash-' + Math.random().toString(16).slice(2, 10),
			clean: true,
			keepalive: 30,
			reconnectPeriod: 2000,
			connectTimeout: 10000,
			resubscribe: false
		};
		if(cfg.username){
			opts.username = cfg.username;
			opts.password = cfg.password;
		}
		const c = window.mqtt.connect(cfg.broker, opts);
		client = c;
		c.on('connect', function(){
			if(c !== client) return;
			/* A fresh view of the retained state after every (re)connect: sessions removed while
			 * we were away must not linger. Alerts are kept. */
			const kept = fleet.alerts;
			fleet = new M.Fleet(cfg.root);
			fleet.alerts = kept;
			setConn('connected');
			c.subscribe([cfg.root + '/state/#', cfg.root + '/alert/#', cfg.root + '/collector/+'], {qos: 1},
				function(err){
					if(err) setConn('error', 'subscribe: ' + err.message);
				});
			dirty = true;
		});
		c.on('message', function(topic, payload){
			if(c !== client) return;
			const r = fleet.apply(topic, payload, Date.now());
			if(r.change !== 'ignored') changed();
		});
		c.on('reconnect', function(){
			if(c === client) setConn('connecting', 'retrying');
		});
		c.on('offline', function(){
			if(c === client) setConn('offline');
		});
		c.on('error', function(err){
			if(c !== client) return;
			/* MQTT 5 reason 134 bad user name or password, 135 not authorized; 3.1.1: 4, 5. */
			if(err && [4, 5, 134, 135].includes(err.code)){
				setConn('refused', err.message);
				c.end(true);
				showLogin(true);
			}else{
				setConn('error', err ? err.message : 'unknown');
			}
		});
	}

	function showLogin(open){
		const f = $('#login');
		f.hidden = !open;
		if(open){
			f.broker.value = cfg.broker;
			f.root.value = cfg.root;
			f.username.value = cfg.username;
		}
	}

	function init(){
		$('#filter').value = params.get('filter') || '';
		$('#filter').addEventListener('input', changed);
		$('#settings').addEventListener('click', function(){
			showLogin($('#login').hidden);
		});
		$('#login').addEventListener('submit', function(ev){
			ev.preventDefault();
			const f = ev.target;
			cfg.broker = f.broker.value.trim();
			cfg.root = f.root.value.trim().replace(/\/+$/, '') || 'heartwire/v1';
			cfg.username = f.username.value.trim();
			cfg.password = f.password.value;
			f.password.value = '';
			showLogin(false);
			connect();
		});
		window.heartwireDashboard = {
			get fleet(){
				return fleet;
			},
			get connection(){
				return connState;
			},
			config: cfg
		};
		setInterval(tick, 250);
		if(!window.mqtt){
			setConn('error', 'mqtt.js did not load (vendor/mqtt.min.js)');
			return;
		}
		connect();
	}

	if(document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
	else init();
})();
