// servers.mjs: real servers for the JavaScript tests (the dashboard end-to-end test and the
// VSCode extension client's tests): the compose broker config on free loopback ports
// (tests/compose/prepare-broker.sh: auth, ACL, TLS, WebSockets + http_dir), a MongoDB-compatible
// store (HEARTWIRE_TEST_MONGO_URI, else FerretDB with SQLite), and the real heartwire-collector
// and heartwire-agent from HW_BUILD_DIR. Every process is started here, logged to the run dir,
// and ended by its PID (SIGTERM, then SIGKILL) when the test calls stopAll() or exits.
import {spawn, execFileSync} from 'node:child_process';
import {createWriteStream, existsSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {createRequire} from 'node:module';
import net from 'node:net';
import {homedir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const srcDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const buildDir = resolve(process.env.HW_BUILD_DIR || join(srcDir, 'build'));
export const outRoot = join(buildDir, 'test-output');

/* mqtt.js from web/node_modules (scripts/install-web.sh installs it). */
export function loadMqtt(){
	const req = createRequire(join(srcDir, 'web', 'package.json'));
	try{
		return req('mqtt');
	}catch(e){
		throw new Error(`mqtt.js is not installed in web/node_modules: run scripts/install-web.sh (${e.message})`);
	}
}

/* A fresh run directory under the build's test output. */
export function runDir(name){
	const d = join(outRoot, name);
	rmSync(d, {recursive: true, force: true});
	mkdirSync(d, {recursive: true});
	return d;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls fn (sync or async) every stepMs until it returns a truthy value; throws after ms
 * naming what was awaited. */
export async function waitFor(fn, ms, what, stepMs = 50){
	const deadline = Date.now() + ms;
	let last;
	while(Date.now() < deadline){
		try{
			last = await fn();
			if(last) return last;
		}catch(e){
			last = e;
		}
		await sleep(stepMs);
	}
	throw new Error(`timed out after ${ms} ms waiting for ${what}` + (last instanceof Error ? `: ${last.message}` : ''));
}

export function freePort(){
	return new Promise((res, rej) => {
		const s = net.createServer();
		s.on('error', rej);
		s.listen(0, '127.0.0.1', () => {
			const p = s.address().port;
			s.close(() => res(p));
		});
	});
}

export function waitPort(port, ms){
	return waitFor(() => new Promise((res) => {
		const c = net.connect(port, '127.0.0.1');
		c.on('connect', () => {
			c.destroy();
			res(true);
		});
		c.on('error', () => res(false));
	}), ms, `127.0.0.1:${port} to accept connections`, 100);
}

/* The processes this test started, ended by PID. */
export class Procs {
	constructor(dir){
		this.dir = dir;
		this.list = [];
		const stop = () => this.killAllSync();
		process.on('exit', stop);
		for(const sig of ['SIGINT', 'SIGTERM']){
			process.on(sig, () => {
				stop();
				process.exit(130);
			});
		}
	}

	/* Starts cmd with args; stdout and stderr go to DIR/name.log. */
	spawn(name, cmd, args, opts = {}){
		const log = join(this.dir, name + '.log');
		const out = createWriteStream(log, {flags: 'a'});
		const child = spawn(cmd, args, {env: opts.env || process.env, cwd: opts.cwd || this.dir,
			stdio: ['ignore', 'pipe', 'pipe']});
		child.stdout.pipe(out, {end: false});
		child.stderr.pipe(out, {end: false});
		child.on('close', () => out.end());
		const entry = {name, child, log, exited: null};
		child.exitPromise = new Promise((res) => child.on('exit', (code, signal) => {
			entry.exited = {code, signal};
			res(entry.exited);
		}));
		child.on('error', (e) => out.write(`spawn error: ${e.message}\n`));
		this.list.push(entry);
		return child;
	}

	/* SIGTERM (or sig) to one child by PID, SIGKILL after graceMs; resolves with its exit. */
	async stop(child, sig = 'SIGTERM', graceMs = 3000){
		const e = this.list.find((x) => x.child === child);
		if(!e || e.exited) return e ? e.exited : null;
		try{
			process.kill(child.pid, sig);
		}catch(err){
			return e.exited;
		}
		const t = setTimeout(() => {
			try{
				if(!e.exited) process.kill(child.pid, 'SIGKILL');
			}catch(err){ /* gone */ }
		}, graceMs);
		const r = await child.exitPromise;
		clearTimeout(t);
		return r;
	}

	async stopAll(){
		for(const e of [...this.list].reverse()) await this.stop(e.child);
	}

	killAllSync(){
		for(const e of this.list){
			if(!e.exited){
				try{
					process.kill(e.child.pid, 'SIGKILL');
				}catch(err){ /* gone */ }
			}
		}
	}

	/* The last lines of every log, for a failure report. */
	tails(lines = 15){
		return this.list.map((e) => {
			let text = '';
			try{
				text = readFileSync(e.log, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
			}catch(err){ /* no log */ }
			return `---- ${e.name} (${e.log}) ${e.exited ? JSON.stringify(e.exited) : 'running'}\n${text}`;
		}).join('\n');
	}
}

/* Prepares the compose broker config in dir (see tests/compose/prepare-broker.sh) serving
 * wwwDir, and returns broker.env as an object (MQTT_PORT, WS_PORT, passwords, ...). */
export function prepareBroker(dir, wwwDir){
	const args = [join(srcDir, 'tests', 'compose', 'prepare-broker.sh'), dir];
	if(wwwDir) args.push(wwwDir);
	const envFile = execFileSync('bash', args, {encoding: 'utf8'}).trim();
	const env = {};
	for(const line of readFileSync(envFile, 'utf8').split('\n')){
		const m = /^([A-Z_]+)=(.*)$/.exec(line);
		if(m) env[m[1]] = m[2];
	}
	return env;
}

export async function startBroker(procs, benv){
	const child = procs.spawn('mosquitto', 'mosquitto', ['-c', benv.CONF]);
	await waitPort(Number(benv.MQTT_PORT), 10000);
	await waitPort(Number(benv.WS_PORT), 5000);
	return child;
}

function findFerretdb(){
	const cands = [];
	if(process.env.HEARTWIRE_FERRETDB) cands.push(process.env.HEARTWIRE_FERRETDB);
	for(const d of (process.env.PATH || '').split(':')) if(d) cands.push(join(d, 'ferretdb'));
	if(process.env.GOPATH) cands.push(join(process.env.GOPATH.split(':')[0], 'bin', 'ferretdb'));
	cands.push(join(homedir(), 'go', 'bin', 'ferretdb'), '/root/go/bin/ferretdb');
	return cands.find((c) => existsSync(c)) || null;
}

/* The store's URI: HEARTWIRE_TEST_MONGO_URI, else a FerretDB (SQLite) started in dir. */
export async function startStore(procs, dir){
	if(process.env.HEARTWIRE_TEST_MONGO_URI) return process.env.HEARTWIRE_TEST_MONGO_URI;
	const exe = findFerretdb();
	if(!exe) throw new Error('no MongoDB-compatible store: set HEARTWIRE_TEST_MONGO_URI or build FerretDB (scripts/install-deps.sh)');
	const port = await freePort();
	const data = join(dir, 'store');
	mkdirSync(data, {recursive: true});
	procs.spawn('ferretdb', exe, [`--listen-addr=127.0.0.1:${port}`, '--handler=sqlite', `--sqlite-url=file:${data}/`,
		'--log-level=warn']);
	await waitPort(port, 15000);
	return `mongodb://127.0.0.1:${port}`;
}

export function binary(rel){
	const p = join(buildDir, rel);
	if(!existsSync(p)) throw new Error(`${p} is not built (cmake --build ${buildDir})`);
	return p;
}

/* Starts heartwire-collector as the broker's collector user. */
export function startCollector(procs, benv, mongoUri, {id, db, args = []} = {}){
	const env = {...process.env, HEARTWIRE_BROKER: `mqtt://127.0.0.1:${benv.MQTT_PORT}`, HEARTWIRE_USERNAME: 'collector',
		HEARTWIRE_PASSWORD: benv.COLLECTOR_PASSWORD, HEARTWIRE_MONGO_URI: mongoUri, HEARTWIRE_DB: db,
		HEARTWIRE_ID: id, HEARTWIRE_TOPIC_ROOT: benv.ROOT};
	return procs.spawn(`collector-${id}`, binary('collector/heartwire-collector'), args, {env});
}

/* Starts `heartwire-agent run` for one session as the broker's agent machine. */
export function startAgent(procs, benv, dir, {session, project, slot = '1', intervalMs = 500, task, cmd}){
	const env = {...process.env, HEARTWIRE_BROKER: `mqtt://127.0.0.1:${benv.MQTT_PORT}`, HEARTWIRE_MACHINE: benv.MACHINE,
		HEARTWIRE_USERNAME: benv.MACHINE, HEARTWIRE_PASSWORD: benv.AGENT_PASSWORD, HEARTWIRE_TOPIC_ROOT: benv.ROOT,
		HEARTWIRE_STATE_DIR: join(dir, 'agent-state')};
	const args = ['run', '--session', session, '--project', project, '--slot', slot, '--interval-ms', String(intervalMs),
		'--task', task || `test session ${session}`, '--', ...cmd];
	return procs.spawn(`agent-${session}`, binary('agent/heartwire-agent'), args, {env});
}

/* A command for a session's child that runs until its agent dies (then its parent pid is
 * gone) or maxS seconds pass: a SIGKILLed agent leaves no orphan behind. */
export function childUntilAgentDies(maxS = 120){
	return ['sh', '-c', `i=0; while kill -0 $PPID 2>/dev/null && [ $i -lt ${maxS * 5} ]; do sleep 0.2; i=$((i+1)); done`];
}

/* A unique suffix for ids and database names. */
export function unique(prefix){
	return `${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

/* Resolves once the collector's retained presence ({root}/collector/{id}) says online, read as
 * the viewer: agents started after this are not racing the collector's subscription (a birth
 * published before it would be missed and only recovered by a rebirth request). */
export async function waitCollectorOnline(benv, id, ms = 15000){
	const mqtt = loadMqtt();
	const c = mqtt.connect(`mqtt://127.0.0.1:${benv.MQTT_PORT}`, {protocolVersion: 5, clientId: unique('hw-wait'),
		username: 'viewer', password: benv.VIEWER_PASSWORD, reconnectPeriod: 500});
	let online = false;
	c.on('message', (topic, payload) => {
		online = payload.toString() === 'online';
	});
	c.on('connect', () => c.subscribe(`${benv.ROOT}/collector/${id}`, {qos: 1}));
	try{
		await waitFor(() => online, ms, `collector ${id} online`);
	}finally{
		await c.endAsync(true);
	}
}
