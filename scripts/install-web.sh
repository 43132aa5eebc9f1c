#!/usr/bin/env bash
# install-web.sh: installs what the web dashboard, the VSCode extension client and their tests
# need, idempotently: Debian's chromium (the dashboard's end-to-end test drives it with
# playwright-core), docker-compose (the compose tests run `docker-compose config`), the npm
# packages of web/ and clients/vscode/ (npm ci from their package-lock.json, only when
# node_modules is missing or older than the lock file), then builds web/dist and
# clients/vscode/out.
#
# jq runs the tested docs/recipes.md. Needs node >= 20 and npm on PATH. HW_SKIP_APT=1 skips the
# Debian step.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'install-web: %s\n' "$*"; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi

if [ "${HW_SKIP_APT:-0}" != 1 ]; then
	missing=()
	[ -x /usr/bin/chromium ] || missing+=(chromium)
	command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v curl >/dev/null 2>&1 || missing+=(curl)
	command -v jq >/dev/null 2>&1 || missing+=(jq)
	python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
	else
		say "Debian packages: chromium, docker-compose, openssl, curl, jq, python3-yaml present"
	fi
fi

command -v node >/dev/null 2>&1 || { say "node is not on PATH (node >= 20 is needed)"; exit 1; }
command -v npm >/dev/null 2>&1 || { say "npm is not on PATH"; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { say "node $(node --version) is too old: playwright-core and the tests need node >= 20"; exit 1; }

# npm_install DIR: npm ci when node_modules is missing or older than package-lock.json.
npm_install() {
	local dir=$1 stamp=$1/node_modules/.package-lock.json
	if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ]; then
		say "${dir#"$here"/}: node_modules up to date"
		return
	fi
	say "${dir#"$here"/}: npm ci"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	touch "$stamp"
}
npm_install "$here/web"
npm_install "$here/clients/vscode"

(cd "$here/web" && node build.mjs >/dev/null)
say "web/dist built (serve it with mosquitto's http_dir, see docs/quickstart.md)"
(cd "$here/clients/vscode" && npm run --silent build)
say "clients/vscode/out built"
say "done"
