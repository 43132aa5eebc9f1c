#!/usr/bin/env bash
# demo.sh: installs what is missing, builds, and runs heartwire locally: a mosquitto broker,
# the store (FerretDB, or HEARTWIRE_TEST_MONGO_URI), the collector, and four demo sessions
# (one completes, one crashes, one's agent is killed, one hangs), then shows live state.
#
#   scripts/demo.sh                  runs until Ctrl-C
#   HW_DEMO_SECONDS=60 scripts/demo.sh   stops by itself after 60 s
#
# Everything lives under .hw/demo/ (logs, data); every process it starts is ended by PID on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$hw_root"

scripts/install-deps.sh
echo "== building (build)"
hw_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

run=$hw_root/.hw/demo
rm -rf "$run" && mkdir -p "$run/mosquitto" "$run/store" "$run/state"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	echo "demo: stopped (logs in $run)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Broker: the project's tuned config with a free port and the demo's own persistence dir, plus
# a WebSockets listener that serves the dashboard (web/dist) with mosquitto's http_dir.
mport=$(hw_free_port)
wport=$(hw_free_port)
{
	sed -e "s|^listener .*|listener $mport 127.0.0.1|" -e "/^persistence_location/d" conf/mosquitto/test.conf
	printf 'persistence_location %s/mosquitto/\n' "$run"
	printf 'listener %s 127.0.0.1\nprotocol websockets\nhttp_dir %s/web/dist\n' "$wport" "$hw_root"
} >"$run/mosquitto.conf"
mosquitto -c "$run/mosquitto.conf" >"$run/mosquitto.log" 2>&1 &
pids+=($!)
hw_wait_port "$mport" 5 || { echo "demo: mosquitto did not start:"; tail "$run/mosquitto.log"; exit 1; }
broker=mqtt://127.0.0.1:$mport
echo "demo: broker   $broker"
echo "demo: dashboard http://127.0.0.1:$wport/  (open it in a browser)"

# Store.
if [ -n "${HEARTWIRE_TEST_MONGO_URI:-}" ]; then
	mongo_uri=$HEARTWIRE_TEST_MONGO_URI
else
	sport=$(hw_free_port)
	"$(hw_ferretdb)" --listen-addr=127.0.0.1:"$sport" --handler=sqlite --sqlite-url="file:$run/store/" \
		--log-level=warn >"$run/store.log" 2>&1 &
	pids+=($!)
	hw_wait_port "$sport" 10 || { echo "demo: store did not start:"; tail "$run/store.log"; exit 1; }
	mongo_uri=mongodb://127.0.0.1:$sport
fi
echo "demo: store    $mongo_uri"

export HEARTWIRE_BROKER=$broker HEARTWIRE_STATE_DIR=$run/state HEARTWIRE_MACHINE=demo-host
build/collector/heartwire-collector --mongo-uri "$mongo_uri" --db heartwire_demo --id demo \
	>"$run/collector.log" 2>&1 &
pids+=($!)
echo "demo: collector (log $run/collector.log)"
sleep 0.5

agent=build/agent/heartwire-agent
start_session() { # name project interval_ms cmd...
	local name=$1 project=$2 ival=$3
	shift 3
	"$agent" run --session "$name" --project "$project" --slot "${#pids[@]}" --interval-ms "$ival" \
		--task "demo: $name" -- "$@" >"$run/$name.log" 2>&1 &
	pids+=($!)
	echo $!
}
start_session demo-completes acme-web 1000 bash -c 'sleep 8; exit 0' >/dev/null
start_session demo-crashes acme-web 1000 bash -c 'sleep 12; exit 3' >/dev/null
killed=$(start_session demo-killed acme-api 1000 sleep 3600)
hung=$(start_session demo-hangs acme-api 1000 sleep 3600)
start_session demo-runs acme-api 1000 sleep 3600 >/dev/null
( sleep 16; kill -KILL "$killed" 2>/dev/null ) &
pids+=($!)
( sleep 20; kill -STOP "$hung" 2>/dev/null ) &
pids+=($!)
echo "demo: sessions started: demo-completes (exits 0 at 8 s), demo-crashes (exits 3 at 12 s),"
echo "      demo-killed (agent SIGKILLed at 16 s), demo-hangs (agent frozen at 20 s), demo-runs"

secs=${HW_DEMO_SECONDS:-0}
if [ -x build/cli/heartwire ] && build/cli/heartwire watch --help >/dev/null 2>&1; then
	if [ "$secs" -gt 0 ]; then
		timeout "$secs" build/cli/heartwire watch || true
	else
		build/cli/heartwire watch
	fi
else
	# Until the CLI's live view exists, show the retained state topics themselves.
	args=(-h 127.0.0.1 -p "$mport" -v -t 'heartwire/v1/state/s/#' -t 'heartwire/v1/alert/#')
	if [ "$secs" -gt 0 ]; then args+=(-W "$secs"); fi
	mosquitto_sub "${args[@]}" || true
fi
