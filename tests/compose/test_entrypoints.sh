#!/usr/bin/env bash
# test_entrypoints.sh: the images' entrypoint and health check scripts, run outside Docker with
# the real binaries (HW_BUILD_DIR) against the compose broker config (prepare-broker.sh: auth,
# ACL, TLS) and a real MongoDB-compatible store: collector-entrypoint.sh starts the collector
# and hw-healthcheck sees it online, then offline after it stops; agent-entrypoint.sh runs a
# session whose exit status becomes the entrypoint's and the session's state; bad environments
# are refused with their exit codes. ctest label integration. Exit 0 when every check passes.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HW_BUILD_DIR:-$src/build}
run=$build/test-output/compose-entrypoints
rm -rf "$run"
mkdir -p "$run"
# shellcheck source=../../scripts/lib.sh
source "$src/scripts/lib.sh"
pass=0
failed=0
pids=()
ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $*"
}
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
# until_ok SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds or the time is up.
until_ok() {
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

collector_bin=$build/collector/heartwire-collector
agent_bin=$build/agent/heartwire-agent
for b in "$collector_bin" "$agent_bin"; do
	[ -x "$b" ] || { echo "FAIL $b is not built"; echo "test_entrypoints: 0 passed, 1 failed"; exit 1; }
done
ce=$src/compose/collector-entrypoint.sh
ae=$src/compose/agent-entrypoint.sh
hc=$src/compose/healthcheck.sh

# ---------------------------------------------------------------- refusals (no servers needed)
expect() { # expect DESCRIPTION CODE MESSAGE COMMAND...: exit status CODE and MESSAGE on stderr
	local d=$1 code=$2 msg=$3 out rc
	shift 3
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ $rc = "$code" ] && [[ $out == *"$msg"* ]]; then ok "$d (exit $rc)"; else bad "$d: exit $rc, '$out'"; fi
}
clean_env=(env -u HEARTWIRE_BROKER -u HEARTWIRE_MONGO_URI -u HEARTWIRE_USERNAME -u HEARTWIRE_PASSWORD
	-u HEARTWIRE_PASSWORD_FILE -u HEARTWIRE_ID -u HEARTWIRE_MACHINE -u HEARTWIRE_SESSION)
expect "collector: HEARTWIRE_BROKER is required" 64 "HEARTWIRE_BROKER is not set" \
	"${clean_env[@]}" HW_COLLECTOR_BIN=/bin/false bash "$ce"
expect "collector: HEARTWIRE_MONGO_URI is required" 64 "HEARTWIRE_MONGO_URI is not set" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HW_COLLECTOR_BIN=/bin/false bash "$ce"
expect "collector: a user name needs a password" 64 "neither HEARTWIRE_PASSWORD" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HEARTWIRE_MONGO_URI=mongodb://127.0.0.1:1 \
	HEARTWIRE_USERNAME=collector HW_COLLECTOR_BIN=/bin/false bash "$ce"
expect "collector: an unreadable password file" 64 "is not readable" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HEARTWIRE_MONGO_URI=mongodb://127.0.0.1:1 \
	HEARTWIRE_PASSWORD_FILE=$run/nonexistent HW_COLLECTOR_BIN=/bin/false bash "$ce"
dead_port=$(hw_free_port)
expect "collector: an unreachable broker ends the wait" 69 "did not accept connections within 1 s" \
	"${clean_env[@]}" HEARTWIRE_BROKER="mqtt://[::1]:$dead_port" HEARTWIRE_MONGO_URI=mongodb://127.0.0.1:1 \
	HW_WAIT_S=1 HW_COLLECTOR_BIN=/bin/false bash "$ce"
expect "collector: a command instead of options is run as is" 0 "hello from the image" \
	"${clean_env[@]}" bash "$ce" echo "hello from the image"
expect "agent: HEARTWIRE_MACHINE is required" 64 "HEARTWIRE_MACHINE is not set" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HW_AGENT_BIN=/bin/false bash "$ae" true
expect "agent: a bad machine id" 64 "1-64 characters" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HEARTWIRE_MACHINE='bad/machine' HW_AGENT_BIN=/bin/false \
	bash "$ae" true
expect "agent: a bad session id" 64 "HEARTWIRE_SESSION" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HEARTWIRE_MACHINE=m1 HEARTWIRE_SESSION='a b' \
	HW_AGENT_BIN=/bin/false bash "$ae" true
expect "agent: no command" 64 "no command" \
	"${clean_env[@]}" HEARTWIRE_BROKER=mqtt://127.0.0.1:1 HEARTWIRE_MACHINE=m1 HW_AGENT_BIN=/bin/false bash "$ae"
expect "agent: --help reaches heartwire-agent" 0 "usage: heartwire-agent" \
	"${clean_env[@]}" HW_AGENT_BIN="$agent_bin" bash "$ae" --help
expect "hw-healthcheck: a role is required" 2 "usage" bash "$hc"

# ---------------------------------------------------------------- servers
"$src/tests/compose/prepare-broker.sh" "$run/broker" >/dev/null || { echo "FAIL prepare-broker.sh"; exit 1; }
# shellcheck disable=SC1091
source "$run/broker/broker.env"
mosquitto -c "$CONF" >"$run/mosquitto.log" 2>&1 &
pids+=($!)
hw_wait_port "$MQTT_PORT" 10 || { echo "FAIL mosquitto did not start"; tail "$run/mosquitto.log"; exit 1; }
if [ -n "${HEARTWIRE_TEST_MONGO_URI:-}" ]; then
	mongo_uri=$HEARTWIRE_TEST_MONGO_URI
else
	ferret=$(hw_ferretdb)
	[ -z "$ferret" ] && [ -x /root/go/bin/ferretdb ] && ferret=/root/go/bin/ferretdb
	[ -n "$ferret" ] || { echo "FAIL no store: set HEARTWIRE_TEST_MONGO_URI or install FerretDB (scripts/install-deps.sh)"; exit 1; }
	sport=$(hw_free_port)
	mkdir -p "$run/store"
	"$ferret" --listen-addr=127.0.0.1:"$sport" --handler=sqlite --sqlite-url="file:$run/store/" --log-level=warn \
		>"$run/store.log" 2>&1 &
	pids+=($!)
	hw_wait_port "$sport" 15 || { echo "FAIL the store did not start"; tail "$run/store.log"; exit 1; }
	mongo_uri=mongodb://127.0.0.1:$sport
fi
broker=mqtt://127.0.0.1:$MQTT_PORT

# ---------------------------------------------------------------- collector through its entrypoint
export HEARTWIRE_TOPIC_ROOT=$ROOT
cenv=("${clean_env[@]}" HEARTWIRE_BROKER="$broker" HEARTWIRE_USERNAME=collector HEARTWIRE_PASSWORD="$COLLECTOR_PASSWORD"
	HEARTWIRE_MONGO_URI="$mongo_uri" HEARTWIRE_DB="hw_ep_$$" HW_HEALTH_TIMEOUT_S=2)
"${cenv[@]}" HW_COLLECTOR_BIN="$collector_bin" HW_WAIT_S=10 bash "$ce" --flush-ms 100 >"$run/collector.log" 2>&1 &
collector_pid=$!
pids+=($collector_pid)
id=collector-$(printf '%s' "$(hostname)" | tr -c 'A-Za-z0-9._:-' '-' | cut -c1-54)
if until_ok 20 "${cenv[@]}" bash "$hc" collector; then
	ok "hw-healthcheck collector: healthy once the collector runs (id $id, from the host name)"
else
	bad "hw-healthcheck collector never healthy: $("${cenv[@]}" bash "$hc" collector)"
	tail -5 "$run/collector.log"
fi
grep -q "starting $collector_bin as $id" "$run/collector.log" && ok "the entrypoint derived HEARTWIRE_ID=$id" ||
	bad "entrypoint log: $(head -3 "$run/collector.log")"
out=$("${cenv[@]}" HEARTWIRE_ID=no-such-collector bash "$hc" collector)
[ $? = 1 ] && ok "hw-healthcheck collector: unhealthy for a collector that never ran" || bad "unknown collector: $out"
out=$("${cenv[@]}" HEARTWIRE_PASSWORD=wrong-password bash "$hc" collector)
[ $? = 1 ] && ok "hw-healthcheck collector: unhealthy with a wrong password" || bad "wrong password: $out"

# ---------------------------------------------------------------- agent through its entrypoint
printf '%s\n' "$AGENT_PASSWORD" >"$run/agent.pw"
session=ep-session-$$
aenv=("${clean_env[@]}" HEARTWIRE_BROKER="$broker" HEARTWIRE_MACHINE="$MACHINE" HEARTWIRE_PASSWORD_FILE="$run/agent.pw"
	HEARTWIRE_SESSION="$session" HEARTWIRE_PROJECT=ep-project HEARTWIRE_SLOT=1 HEARTWIRE_INTERVAL_MS=500
	HEARTWIRE_STATE_DIR="$run/agent-state" HW_HEALTH_TIMEOUT_S=2)
stop=$run/stop-child
# The session: works until told to stop (bounded to 60 s), then exits 7.
"${aenv[@]}" HW_AGENT_BIN="$agent_bin" bash "$ae" sh -c \
	"i=0; while [ ! -e '$stop' ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done; exit 7" >"$run/agent.log" 2>&1 &
agent_pid=$!
pids+=($agent_pid)
if until_ok 20 "${aenv[@]}" bash "$hc" agent; then
	ok "hw-healthcheck agent: healthy while the session runs (status online, user = machine, password file)"
else
	bad "hw-healthcheck agent never healthy: $("${aenv[@]}" bash "$hc" agent)"
	tail -5 "$run/agent.log"
fi
viewer_state() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -i "ep-viewer-$$-$RANDOM" -u viewer -P "$VIEWER_PASSWORD" \
		-t "$ROOT/state/s/$session" -C 1 -W 3 2>/dev/null
}
state_is() { viewer_state | grep -q "\"state\":\"$1\""; }
until_ok 15 state_is active && ok "the collector shows the session active" || bad "session state: $(viewer_state)"
touch "$stop"
wait "$agent_pid"
rc=$?
[ $rc = 7 ] && ok "the entrypoint exits with the child's status (7)" || bad "agent entrypoint exit status $rc"
until_ok 15 state_is crashed && ok "the collector shows the session crashed (exit code 7)" || bad "after exit: $(viewer_state)"
grep -q "supervising: sh -c" "$run/agent.log" && ok "agent-entrypoint wrapped the command in 'heartwire-agent run --'" ||
	bad "agent log: $(head -3 "$run/agent.log")"

# ---------------------------------------------------------------- the collector stops: unhealthy
kill -TERM "$collector_pid"
wait "$collector_pid" 2>/dev/null
out=$("${cenv[@]}" bash "$hc" collector)
[ $? = 1 ] && [[ $out == *offline* ]] && ok "hw-healthcheck collector: unhealthy (offline) after the collector stopped" ||
	bad "after stop: $out"

echo "test_entrypoints: $pass passed, $failed failed"
[ "$failed" = 0 ]
