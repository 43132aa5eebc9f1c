#!/usr/bin/env bash
# test_recipes.sh: runs every recipe of docs/recipes.md (the ```sh block after each
# "<!-- recipe: NAME -->" line) verbatim against real servers: the compose broker config
# (prepare-broker.sh: auth and ACL), a MongoDB-compatible store, the real collector and agents
# with sessions in known states, and checks what each prints. A recipe added to the doc without
# a check here fails the test, so the doc and the test stay together. ctest label integration.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HW_BUILD_DIR:-$src/build}
run=$build/test-output/compose-recipes
doc=$src/docs/recipes.md
rm -rf "$run"
mkdir -p "$run/out"
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
until_ok() {
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
for t in jq mosquitto_sub mosquitto_rr curl; do command -v $t >/dev/null || { echo "FAIL $t is not installed"; exit 1; }; done
collector_bin=$build/collector/heartwire-collector
agent_bin=$build/agent/heartwire-agent
for b in "$collector_bin" "$agent_bin"; do
	[ -x "$b" ] || { echo "FAIL $b is not built"; echo "test_recipes: 0 passed, 1 failed"; exit 1; }
done

# ---------------------------------------------------------------- the recipes
declare -A recipe
names=()
name=
in_block=0
while IFS= read -r line; do
	if [[ $line =~ ^\<!--\ recipe:\ ([a-z0-9-]+)\ --\>$ ]]; then
		name=${BASH_REMATCH[1]}
		names+=("$name")
		recipe[$name]=
	elif [ -n "$name" ] && [ $in_block = 0 ] && [[ $line == '```sh' ]]; then
		in_block=1
	elif [ $in_block = 1 ] && [[ $line == '```' ]]; then
		in_block=0
		name=
	elif [ $in_block = 1 ]; then
		recipe[$name]+="$line"$'\n'
	fi
done <"$doc"
[ ${#names[@]} -ge 8 ] && ok "docs/recipes.md has ${#names[@]} recipes: ${names[*]}" || bad "only ${#names[@]} recipes found"
checked=(states-snapshot attention watch-states watch-transitions alerts wait-alert summary projects collectors agent-status
	metrics-scrape health metrics-topic q-sessions q-session q-stats cmd-claim cmd-pause cmd-unpause)
for n in "${names[@]}"; do
	[[ " ${checked[*]} " == *" $n "* ]] || bad "recipe '$n' has no check in $0"
done

# ---------------------------------------------------------------- servers and sessions
"$src/tests/compose/prepare-broker.sh" "$run/broker" >/dev/null || { echo "FAIL prepare-broker.sh"; exit 1; }
# shellcheck disable=SC1091
source "$run/broker/broker.env"
# The broker logs subscriptions, so the live recipes are known to listen before the kill.
echo "log_type subscribe" >>"$CONF"
mosquitto -c "$CONF" >"$run/mosquitto.log" 2>&1 &
pids+=($!)
hw_wait_port "$MQTT_PORT" 10 || { echo "FAIL mosquitto did not start"; exit 1; }
if [ -n "${HEARTWIRE_TEST_MONGO_URI:-}" ]; then
	mongo_uri=$HEARTWIRE_TEST_MONGO_URI
else
	ferret=$(hw_ferretdb)
	[ -z "$ferret" ] && [ -x /root/go/bin/ferretdb ] && ferret=/root/go/bin/ferretdb
	[ -n "$ferret" ] || { echo "FAIL no store (HEARTWIRE_TEST_MONGO_URI or FerretDB)"; exit 1; }
	sport=$(hw_free_port)
	mkdir -p "$run/store"
	"$ferret" --listen-addr=127.0.0.1:"$sport" --handler=sqlite --sqlite-url="file:$run/store/" --log-level=warn \
		>"$run/store.log" 2>&1 &
	pids+=($!)
	hw_wait_port "$sport" 15 || { echo "FAIL the store did not start"; exit 1; }
	mongo_uri=mongodb://127.0.0.1:$sport
fi
broker=mqtt://127.0.0.1:$MQTT_PORT
export HEARTWIRE_TOPIC_ROOT=$ROOT
coll_id=recipes-$$
http_port=$(hw_free_port)
HEARTWIRE_BROKER=$broker HEARTWIRE_USERNAME=collector HEARTWIRE_PASSWORD=$COLLECTOR_PASSWORD \
	"$collector_bin" --mongo-uri "$mongo_uri" --db "hw_recipes_$$" --id "$coll_id" --rollup-ms 100 \
	--http-listen "127.0.0.1:$http_port" --metrics-ms 500 >"$run/collector.log" 2>&1 &
pids+=($!)
viewer=(-h 127.0.0.1 -p "$MQTT_PORT" -u viewer -P "$VIEWER_PASSWORD" -V mqttv5)
collector_online() { mosquitto_sub "${viewer[@]}" -i "rc-wait-$$" -t "$ROOT/collector/$coll_id" -C 1 -W 2 | grep -qx online; }
until_ok 15 collector_online || { echo "FAIL the collector did not come online"; tail "$run/collector.log"; exit 1; }

agent() { # agent SESSION PROJECT CMD...
	local s=$1 p=$2
	shift 2
	HEARTWIRE_BROKER=$broker HEARTWIRE_MACHINE=$MACHINE HEARTWIRE_USERNAME=$MACHINE HEARTWIRE_PASSWORD=$AGENT_PASSWORD \
		HEARTWIRE_STATE_DIR=$run/agent-state "$agent_bin" run --session "$s" --project "$p" --interval-ms 500 \
		--task "recipe $s" -- "$@" >"$run/agent-$s.log" 2>&1 &
	pids+=($!)
}
until_agent_dies='i=0; while kill -0 $PPID 2>/dev/null && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done'
steady=rc-steady-$$
crash=rc-crash-$$
victim=rc-victim-$$
agent "$steady" rc-api sh -c "$until_agent_dies"
agent "$crash" rc-web sh -c 'sleep 1; exit 3'
agent "$victim" rc-web sh -c "$until_agent_dies"
victim_pid=${pids[-1]}
until_ok 20 bash -c "[ \"\$(mosquitto_sub ${viewer[*]} -i rc-a-$$ -t '$ROOT/state/s/$steady' -C 1 -W 2 | jq -r .state)\" = active ]" ||
	bad "session $steady never active"
until_ok 20 bash -c "[ \"\$(mosquitto_sub ${viewer[*]} -i rc-b-$$ -t '$ROOT/state/s/$crash' -C 1 -W 2 | jq -r .state)\" = crashed ]" ||
	bad "session $crash never crashed"
until_ok 20 bash -c "[ \"\$(mosquitto_sub ${viewer[*]} -i rc-c-$$ -t '$ROOT/state/s/$victim' -C 1 -W 2 | jq -r .state)\" = active ]" ||
	bad "session $victim never active"

# run_recipe NAME [SECONDS]: runs the recipe verbatim after the connection prelude the doc
# describes (HW, HW_ROOT, S, passwords), bounded by SECONDS; output in out/NAME.
prelude="export HW_ROOT=$ROOT
HW=(-h 127.0.0.1 -p $MQTT_PORT -u viewer -P '$VIEWER_PASSWORD' -I hw-sh- -V mqttv5)
HW_COLLECTOR_PASSWORD='$COLLECTOR_PASSWORD'
HW_OPERATOR_PASSWORD='$OPERATOR_PASSWORD'
"
run_recipe() {
	local n=$1 secs=${2:-15} body=${recipe[$1]:-}
	[ -n "$body" ] || { bad "recipe $n is missing from docs/recipes.md"; return 1; }
	body=${body//S=s-42/S=$victim}
	# shellcheck disable=SC2016
	body=${body//'-p 1883'/"-p $MQTT_PORT"}
	body=${body//'127.0.0.1:9464'/"127.0.0.1:$http_port"}
	timeout "$secs" bash -c "set -o pipefail; $prelude$body" >"$run/out/$n" 2>"$run/out/$n.err"
}
has_line() { grep -qE "$2" "$run/out/$1"; }
check_out() { # check_out NAME DESCRIPTION REGEX...
	local n=$1 d=$2
	shift 2
	for re in "$@"; do
		if ! has_line "$n" "$re"; then
			bad "$n: $d: no line matching '$re' in: $(head -c 600 "$run/out/$n") $(head -c 300 "$run/out/$n.err")"
			return
		fi
	done
	ok "$n: $d"
}

# ---------------------------------------------------------------- snapshots
run_recipe states-snapshot
check_out states-snapshot "one line per session" "^$steady	active	none	$MACHINE	rc-api	recipe $steady\$" \
	"^$crash	crashed	exit_code	$MACHINE	rc-web	" "^$victim	active	"
run_recipe attention
check_out attention "the crashed session with its heartbeat age" "^$crash	crashed/exit_code	$MACHINE	last heartbeat [0-9]+ s ago\$"
if has_line attention "$steady"; then bad "attention lists the active session"; fi
run_recipe summary
check_out summary "fleet counts" '"sessions": 3' '"crashed": 1' '"active": 2'
run_recipe projects
check_out projects "project and machine rollups" "^rc-web	project	attention	1 live of 2\$" "^rc-api	project	active	1 live of 1\$" \
	"^$MACHINE	machine	attention	2 live of 3\$"
run_recipe collectors
check_out collectors "the collector is online" "^$ROOT/collector/$coll_id online\$"
run_recipe metrics-scrape
check_out metrics-scrape "sessions by state and detections, zeros left out" '^heartwire_sessions\{state="active"\} 2$' \
	'^heartwire_sessions\{state="crashed"\} 1$' '^heartwire_detections_total\{state="crashed",cause="exit_code"\} 1$'
if has_line metrics-scrape ' 0$'; then bad "metrics-scrape printed a zero"; fi
run_recipe health
check_out health "healthy" '^200$' '^\{"status":"ok","reasons":\[\]\}$'
run_recipe metrics-topic
check_out metrics-topic "the retained metrics of this collector" \
	"^\\{\"collector\":\"$coll_id\",\"healthy\":true,\"active\":2,\"lost\":\\{\"will\":0,\"timeout\":0\\},\"per_s\":[0-9.]+\\}\$"
run_recipe agent-status
check_out agent-status "agent status, read with the collector's user" \
	"^$ROOT/m/$MACHINE/s/$steady/status \\{.*\"status\":\"online\"" "^$ROOT/m/$MACHINE/s/$crash/status \\{.*\"status\":\"ended\""

# ---------------------------------------------------------------- live: kill the victim's agent
log_lines=$(wc -l <"$run/mosquitto.log")
run_recipe watch-states 12 &
w1=$!
run_recipe watch-transitions 12 &
w2=$!
run_recipe alerts 12 &
w3=$!
run_recipe wait-alert 12 &
w4=$!
pids+=($w1 $w2 $w3 $w4)
# The four live recipes have subscribed (the broker logs each subscription of a hw-sh- client).
subscribed() {
	[ "$(tail -n +$((log_lines + 1)) "$run/mosquitto.log" |
		grep -cE 'hw-sh-[^ ]* [0-9] '"$ROOT"'/(state/s/\+|alert/#|alert/s/'"$victim"')$')" -ge 4 ]
}
until_ok 10 subscribed || bad "the live recipes did not subscribe: $(grep hw-sh- "$run/mosquitto.log" | tail -4)"
{
	kill -KILL "$victim_pid"
	wait "$victim_pid"
} 2>/dev/null
until_ok 10 grep -q "^$victim	lost	will" "$run/out/watch-states"
wait "$w4"
rc=$?
[ $rc = 0 ] && ok "wait-alert returned when the session needed attention" || bad "wait-alert exit $rc"
check_out wait-alert "prints the new state" "^lost/will\$"
until_ok 5 grep -q "^$victim: active -> lost" "$run/out/watch-transitions"
until_ok 5 grep -q " lost	$victim	" "$run/out/alerts"
for p in $w1 $w2 $w3; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
check_out watch-states "the snapshot, then the change" "^$steady	active	none\$" "^$victim	active	none\$" "^$victim	lost	will\$"
check_out watch-transitions "only transitions" "^$victim: new -> active/none\$" "^$victim: active -> lost/will\$"
n=$(grep -c "^$victim: " "$run/out/watch-transitions")
[ "$n" = 2 ] && ok "watch-transitions: heartbeat-only updates are not printed" || bad "watch-transitions printed $n lines for $victim"
check_out alerts "the lost alert with its receive time" \
	"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]+[+-][0-9]{4} lost	$victim	rc-web/$MACHINE	active -> lost/will\$"

# ---------------------------------------------------------------- queries and commands (mosquitto_rr)
# The victim is lost now: a recoverable session to query and claim.
run_recipe q-sessions
check_out q-sessions "the sessions that need attention, from the database" "^$crash	crashed/exit_code	$MACHINE\$" \
	"^$victim	lost/will	$MACHINE\$"
if has_line q-sessions "^$steady	"; then bad "q-sessions lists the active session"; fi
run_recipe q-session
check_out q-session "the state, then the events" "^lost\$" "^transition (birth|online|hb_active)\$" "^transition will\$"
run_recipe q-stats
check_out q-stats "the collector's counters" '"sessions":3' '"lost":1' '"crashed":1' '"received_per_s_10s":'
run_recipe cmd-claim
check_out cmd-claim "a fencing token" '^g1-[0-9a-f]{16}$'
run_recipe cmd-claim
check_out cmd-claim "a second claim is refused while the lease holds" '^conflict: '
pause_now() { mosquitto_sub "${viewer[@]}" -i "rc-p-$$" -t "$ROOT/state/pause" -C 1 -W 2 | jq -r .paused; }
run_recipe cmd-pause
check_out cmd-pause "paused, with the reason" '^\[true,"API rate limit"\]$'
until_ok 5 bash -c "[ \"\$(mosquitto_sub ${viewer[*]} -i rc-p1-$$ -t '$ROOT/state/pause' -C 1 -W 2 | jq -r .paused)\" = true ]" &&
	ok "cmd-pause: the retained state/pause says paused" || bad "cmd-pause: state/pause is $(pause_now)"
run_recipe cmd-unpause
check_out cmd-unpause "unpaused" '^\[true,false\]$'
until_ok 5 bash -c "[ \"\$(mosquitto_sub ${viewer[*]} -i rc-p2-$$ -t '$ROOT/state/pause' -C 1 -W 2 | jq -r .paused)\" = false ]" &&
	ok "cmd-unpause: the retained state/pause says not paused" || bad "cmd-unpause: state/pause is $(pause_now)"

echo "test_recipes: $pass passed, $failed failed"
[ "$failed" = 0 ]
