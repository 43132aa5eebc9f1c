// build.mjs: builds the dashboard into web/dist/: the page, its stylesheet and scripts from
// src/, and mqtt.js vendored from node_modules (no CDN at run time). Run `npm install` first
// (scripts/install-web.sh does both). Usage: node build.mjs [OUTDIR]
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
const mqttDir = join(here, 'node_modules', 'mqtt');
const mqttMin = join(mqttDir, 'dist', 'mqtt.min.js');

if(!existsSync(mqttMin)){
	console.error(`build: ${mqttMin} is missing: run "npm install" in ${here} (or scripts/install-web.sh)`);
	process.exit(1);
}
const mqttVersion = JSON.parse(readFileSync(join(mqttDir, 'package.json'), 'utf8')).version;

rmSync(out, {recursive: true, force: true});
mkdirSync(join(out, 'vendor'), {recursive: true});
const files = readdirSync(join(here, 'src')).filter((f) => /\.(html|css|js)$/.test(f));
for(const f of files) copyFileSync(join(here, 'src', f), join(out, f));
copyFileSync(mqttMin, join(out, 'vendor', 'mqtt.min.js'));
copyFileSync(join(mqttDir, 'LICENSE.md'), join(out, 'vendor', 'mqtt.LICENSE.md'));
writeFileSync(join(out, 'BUILD.json'), JSON.stringify({mqtt: mqttVersion, files: files.sort()}, null, 1) + '\n');
console.log(`build: ${out} (${files.length} files + vendor/mqtt.min.js ${mqttVersion})`);
