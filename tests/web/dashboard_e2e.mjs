// dashboard_e2e.mjs: the web dashboard end to end, in headless Chromium (Debian's chromium driven
// by playwright-core) against real servers: the compose broker config (auth, ACL, TLS, and the
// WebSockets listener that also serves the page via http_dir), FerretDB or MongoDB, the real
// heartwire-collector and heartwire-agent. It logs in as the viewer through the page's form,
// sees a session `active`, SIGKILLs its agent and sees the session become `lost` with a `lost`
// alert, and saves a screenshot as BUILD/test-output/dashboard-lost.png. Exits non-zero (with
// the reason, the page's text and the servers' logs) when any step fails.
//
//   node tests/web/dashboard_e2e.mjs        (HW_BUILD_DIR: the build with the binaries;
//                                            HW_CHROMIUM: the browser, default /usr/bin/chromium)
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {createRequire} from 'node:module';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Procs, childUntilAgentDies, outRoot, prepareBroker, runDir, srcDir, startAgent, startBroker,
	startCollector, startStore, unique, waitFor} from './lib/servers.mjs';

const started = Date.now();
const log = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const dir = runDir('web-dashboard');
const shot = join(outRoot, 'dashboard-lost.png');
const procs = new Procs(dir);
let browser = null;
let page = null;
let profile = null;
const problems = [];

async function main(){
	const req = createRequire(join(srcDir, 'web', 'package.json'));
	let chromium;
	try{
		({chromium} = req('playwright-core'));
	}catch(e){
		throw new Error(`playwright-core is not installed in web/node_modules: run scripts/install-web.sh (${e.message})`);
	}

	// The page, built fresh from web/src with the vendored mqtt.js.
	execFileSync(process.execPath, [join(srcDir, 'web', 'build.mjs'), join(dir, 'www')], {stdio: 'inherit'});
	const benv = prepareBroker(join(dir, 'broker'), join(dir, 'www'));
	await startBroker(procs, benv);
	const mongoUri = await startStore(procs, dir);
	log(`broker mqtt ${benv.MQTT_PORT}, ws ${benv.WS_PORT}; store ${mongoUri}`);
	const collectorId = unique('e2e-coll');
	startCollector(procs, benv, mongoUri, {id: collectorId, db: unique('hw_e2e').replace(/-/g, '_')});

	const exe = process.env.HW_CHROMIUM || '/usr/bin/chromium';
	profile = mkdtempSync(join(tmpdir(), 'hw-chromium-'));
	browser = await chromium.launchPersistentContext(profile, {
		executablePath: exe,
		headless: true,
		viewport: {width: 1360, height: 860},
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		timeout: 60000
	});
	page = browser.pages()[0] || await browser.newPage();
	const consoleErrors = [];
	const requests = [];
	page.on('console', (m) => {
		if(m.type() === 'error') consoleErrors.push(m.text());
	});
	page.on('pageerror', (e) => consoleErrors.push(String(e)));
	page.on('request', (r) => requests.push(r.url()));
	page.on('websocket', (ws) => requests.push(ws.url()));

	// Served by mosquitto's WebSockets listener itself; the broker URL defaults to that listener.
	const url = `http://127.0.0.1:${benv.WS_PORT}/index.html?root=${encodeURIComponent(benv.ROOT)}&username=viewer`;
	await page.goto(url, {waitUntil: 'load', timeout: 20000});
	log(`page loaded from ${url}`);
	// No password yet: the broker refuses, the page asks for one.
	await page.waitForSelector('#login:not([hidden])', {timeout: 15000});
	const refused = await page.getAttribute('body', 'data-conn');
	if(refused !== 'refused') problems.push(`without a password the page says '${refused}', not 'refused'`);
	await page.fill('#login input[name=password]', benv.VIEWER_PASSWORD);
	await page.click('#login button[type=submit]');
	await page.waitForSelector('body[data-conn=connected]', {timeout: 15000});
	log('logged in as viewer: connected');
	// Agents start once the collector listens (a birth published before would wait for a rebirth).
	await waitFor(() => page.evaluate((id) => {
		const c = window.heartwireDashboard.fleet.collectors.get(id);
		return c && c.status === 'online';
	}, collectorId), 15000, `collector ${collectorId} online on the page`);

	// Sessions: the one to kill, one that keeps running in another project, one that crashes,
	// one that completes.
	const victim = unique('e2e-victim');
	const other = unique('e2e-steady');
	const crash = unique('e2e-crash');
	const done = unique('e2e-done');
	const victimAgent = startAgent(procs, benv, dir, {session: victim, project: 'acme-web', slot: '1',
		task: '#118 add login (the agent of this one is killed)', cmd: childUntilAgentDies()});
	startAgent(procs, benv, dir, {session: other, project: 'acme-api', slot: '2', task: '#7 steady work',
		cmd: childUntilAgentDies()});
	startAgent(procs, benv, dir, {session: crash, project: 'acme-web', slot: '3', task: '#121 flaky build',
		cmd: ['sh', '-c', 'sleep 1; exit 3']});
	startAgent(procs, benv, dir, {session: done, project: 'acme-api', slot: '4', task: '#9 quick fix',
		cmd: ['sh', '-c', 'sleep 1; exit 0']});

	const sel = (id, state) => `article.session[data-session="${id}"][data-state="${state}"]`;
	await page.waitForSelector(sel(victim, 'active'), {timeout: 20000});
	log(`${victim} is active on the page`);
	await page.waitForSelector(sel(other, 'active'), {timeout: 20000});
	await page.waitForSelector(sel(crash, 'crashed'), {timeout: 20000});
	await page.waitForSelector(sel(done, 'completed'), {timeout: 20000});
	await page.waitForSelector(`li.alert[data-alert=crashed][data-session="${crash}"]`, {timeout: 10000});
	log('the other sessions: active, crashed (with its alert), completed');

	// Grouping: the victim's card sits under its project and machine.
	await page.waitForSelector(`section.project[data-project="acme-web"] div.machine[data-machine="${benv.MACHINE}"] ` +
		`article[data-session="${victim}"]`, {timeout: 5000}).catch(() => {
		problems.push(`session ${victim} is not under project acme-web / machine ${benv.MACHINE}`);
	});

	// The heartbeat age ticks: it shows seconds since the collector's last heartbeat and changes.
	const ageSel = `article[data-session="${victim}"] .times b[data-age]`;
	const age1 = await page.locator(ageSel).first().textContent();
	if(!/^\d+\.\d s$/.test(age1)) problems.push(`heartbeat age reads '${age1}'`);

	// Kill the agent: the broker publishes its will, the collector marks the session lost.
	const killedAt = Date.now();
	process.kill(victimAgent.pid, 'SIGKILL');
	await page.waitForSelector(sel(victim, 'lost'), {timeout: 15000});
	const lostMs = Date.now() - killedAt;
	log(`${victim} is lost on the page ${lostMs} ms after SIGKILL of its agent`);
	await page.waitForSelector(`li.alert[data-alert=lost][data-session="${victim}"]`, {timeout: 5000});
	const cause = await page.getAttribute(`article[data-session="${victim}"]`, 'data-cause');
	if(cause !== 'will') problems.push(`lost with cause '${cause}', expected 'will'`);
	// The still-running session is unaffected, and the title counts what needs attention.
	if(await page.locator(sel(other, 'active')).count() !== 1) problems.push(`${other} is no longer active`);
	const title = await page.title();
	if(!/^\(2\) heartwire$/.test(title)) problems.push(`title '${title}', expected '(2) heartwire' (lost + crashed)`);

	// Let the ages tick once more, then keep the picture.
	await page.waitForFunction((s) => {
		const b = document.querySelector(s);
		return b && b.textContent !== '' && parseFloat(b.textContent) >= 1;
	}, `article[data-session="${victim}"] .times b[data-age]`, {timeout: 5000});
	const age2 = await page.locator(ageSel).first().textContent();
	if(age2 === age1) problems.push(`heartbeat age did not tick (${age1})`);
	await page.screenshot({path: shot, fullPage: true});
	log(`screenshot: ${shot}`);

	// Everything came from the loopback broker: no CDN, no other host.
	const foreign = requests.filter((u) => !/^(blob:)?(https?|wss?):\/\/127\.0\.0\.1:/.test(u) && !u.startsWith('data:'));
	if(foreign.length) problems.push(`requests to other hosts: ${foreign.join(', ')}`);
	if(!requests.some((u) => u.endsWith('/vendor/mqtt.min.js'))) problems.push('vendor/mqtt.min.js was not loaded');
	if(!requests.some((u) => u.startsWith(`ws://127.0.0.1:${benv.WS_PORT}`))) problems.push('no WebSocket to the broker');
	// The only console error allowed is the refused first connection (no password yet).
	const unexpected = consoleErrors.filter((e) => !/Not authorized|Bad User Name or Password|connack/i.test(e));
	if(unexpected.length) problems.push(`console errors: ${unexpected.join(' | ')}`);

	if(problems.length) throw new Error(problems.join('\n  '));
	console.log(`dashboard e2e: session shown lost ${lostMs} ms after its agent was killed; screenshot ${shot}`);
}

let failed = false;
try{
	await main();
}catch(e){
	failed = true;
	console.error(`FAIL: ${e.message}`);
	if(page){
		try{
			console.error('---- page text\n' + (await page.locator('body').innerText()).slice(0, 3000));
			await page.screenshot({path: join(outRoot, 'dashboard-failure.png'), fullPage: true});
			console.error(`failure screenshot: ${join(outRoot, 'dashboard-failure.png')}`);
		}catch(err){ /* the page is gone */ }
	}
	console.error(procs.tails());
}finally{
	if(browser) await browser.close().catch(() => {});
	if(profile) rmSync(profile, {recursive: true, force: true});
	await procs.stopAll();
}
console.log(failed ? '0 passed, 1 failed' : '1 passed, 0 failed');
process.exit(failed ? 1 : 0);
