#!/usr/bin/env bash
# install-deps.sh: installs what heartwire needs to build, test and run locally, idempotently.
#
# Debian bookworm, as root (or with sudo). Installs only what is missing:
#   - Debian packages: compilers and build tools, Paho MQTT C, mongo-c-driver, json-c, CUnit,
#     mosquitto and its clients, clang + libFuzzer runtime, clang-format, libmicrohttpd;
#   - a MongoDB-compatible server for tests and the demo, unless HEARTWIRE_TEST_MONGO_URI is
#     set or a real `mongod` is on PATH: FerretDB v1.24.2 (SQLite backend), built with Go from
#     the Go module proxy (tools/ferretdb explains why it embeds FerretDB rather than running
#     `go install .../cmd/ferretdb@v1.24.2`);
#   - scripts/install-web.sh: Chromium, docker-compose, and the npm packages of web/ and
#     clients/vscode/ (the dashboard, the extension client, and their tests).
# Set HW_SKIP_APT=1 to skip the Debian step (e.g. on a machine without apt).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'install-deps: %s\n' "$*"; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { say "not root and no sudo: run as root"; exit 1; }
	sudo_cmd=(sudo)
fi

apt_packages=(
	build-essential cmake pkg-config git ca-certificates
	libpaho-mqtt-dev libssl-dev libmongoc-dev libbson-dev libjson-c-dev libcunit1-dev
	mosquitto mosquitto-clients
	clang libclang-rt-14-dev clang-format
	libmicrohttpd-dev
)

if [ "${HW_SKIP_APT:-0}" != 1 ]; then
	missing=()
	for p in "${apt_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			"${missing[@]}" >/dev/null
	else
		say "Debian packages: all present"
	fi
	# The Debian package starts a system-wide mosquitto on port 1883; heartwire's tests and demo
	# start their own brokers on free ports and do not need it.
fi

# The MongoDB-compatible server.
if [ -n "${HEARTWIRE_TEST_MONGO_URI:-}" ]; then
	say "store: using HEARTWIRE_TEST_MONGO_URI"
elif command -v mongod >/dev/null 2>&1; then
	say "store: using mongod at $(command -v mongod)"
else
	command -v go >/dev/null 2>&1 || { say "Go is needed to build FerretDB and is not on PATH"; exit 1; }
	gobin=$(go env GOPATH)/bin
	want="ferretdb v1.24.2 (embedded launcher)"
	if [ -x "$gobin/ferretdb" ] && [ "$("$gobin/ferretdb" --version 2>/dev/null)" = "$want" ] &&
		[ "$gobin/ferretdb" -nt "$here/tools/ferretdb/main.go" ]; then
		say "store: FerretDB present at $gobin/ferretdb"
	else
		say "store: building FerretDB v1.24.2 into $gobin/ferretdb (first time: about a minute)"
		mkdir -p "$gobin"
		(cd "$here/tools/ferretdb" && go build -trimpath -o "$gobin/ferretdb" .)
		say "store: $("$gobin/ferretdb" --version)"
	fi
fi
# The dashboard (web/), the VSCode extension client (clients/vscode/) and their tests:
# Chromium, docker-compose, npm packages.
"$here/scripts/install-web.sh"
say "done"
