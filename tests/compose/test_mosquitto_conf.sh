#!/usr/bin/env bash
# test_mosquitto_conf.sh: the compose broker config (compose/mosquitto/mosquitto.conf) loads in a
# local mosquitto 2.0 with its paths and ports rewritten (prepare-broker.sh), and does what it
# promises: authentication, the ACL of acl.template, TLS with the gen-certs.sh CA, the WebSockets
# listener serving the dashboard (http_dir), the size limit, and persistence across a restart.
# ctest label integration. Exit 0 when every check passes.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HW_BUILD_DIR:-$src/build}
run=$build/test-output/compose-mosquitto-conf
rm -rf "$run"
mkdir -p "$run"
pass=0
failed=0
broker_pid=

ok() {
	pass=$((pass + 1))
	echo "ok   $*"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $*"
}
check() { # check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@" >>"$run/checks.log" 2>&1; then ok "$d"; else bad "$d (see $run/checks.log)"; fi
}
cleanup() {
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null
		wait "$broker_pid" 2>/dev/null
	fi
}
trap cleanup EXIT

www=$run/www-src
mkdir -p "$www/sub"
printf '<!DOCTYPE html><title>heartwire test page %s</title>\n' "$$" >"$www/index.html"
echo 'body{}' >"$www/sub/a.css"
echo 'not served' >"$run/secret.txt"

"$src/tests/compose/prepare-broker.sh" "$run/broker" "$www" >/dev/null || {
	echo "FAIL prepare-broker.sh"
	exit 1
}
# shellcheck disable=SC1091
source "$run/broker/broker.env"
# shellcheck source=../../scripts/lib.sh
source "$src/scripts/lib.sh"

start_broker() {
	mosquitto -c "$CONF" >>"$run/mosquitto.log" 2>&1 &
	broker_pid=$!
	hw_wait_port "$MQTT_PORT" 10 && hw_wait_port "$MQTTS_PORT" 5 && hw_wait_port "$WS_PORT" 5
}
stop_broker() {
	kill "$broker_pid" 2>/dev/null
	wait "$broker_pid" 2>/dev/null
	broker_pid=
}

if start_broker; then ok "mosquitto loads the compose config and opens 3 listeners"; else
	bad "mosquitto did not start with the compose config:"
	tail -20 "$run/mosquitto.log"
	exit 1
fi
check "no configuration error or warning at start-up (besides running as root)" bash -c \
	"! grep -E '(^|: )(Error|Warning):' '$run/mosquitto.log' | grep -v 'should not be run as root'"

R=$ROOT
sub() { mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -W 5 "$@"; }
pub() { mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -q 1 -d "$@"; }
puback() { pub "$@" 2>&1 | sed -n 's/.*received PUBACK.*RC:\([0-9]*\).*/\1/p'; }
# PUBACK reason 0 (success) or 16 (success, no matching subscribers).
ack_ok() { [ "$1" = 0 ] || [ "$1" = 16 ]; }

# --- authentication
check "anonymous clients are refused" bash -c \
	"out=\$(mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -i anon-$$ -t '$R/state/#' -E 2>&1); [ \$? -ne 0 ] && [[ \$out == *'not authorised'* ]]"
check "a wrong password is refused" bash -c \
	"! mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -i badpw-$$ -u viewer -P wrong -t '$R/state/#' -E"
check "an empty client id is refused (allow_zero_length_clientid false)" bash -c \
	"! mosquitto_sub -h 127.0.0.1 -p $MQTT_PORT -u viewer -P '$VIEWER_PASSWORD' -t '$R/state/#' -E"
check "the viewer authenticates and subscribes" \
	sub -i viewer-$$ -u viewer -P "$VIEWER_PASSWORD" -t "$R/state/#" -E

# --- ACL (acl.template)
rc=$(puback -i coll-$$ -u collector -P "$COLLECTOR_PASSWORD" -t "$R/state/s/conf-test" -r -m '{"v":1}')
ack_ok "$rc" && ok "the collector publishes retained state (PUBACK 0/16)" || bad "collector state publish: PUBACK '$rc'"
got=$(sub -i viewer2-$$ -u viewer -P "$VIEWER_PASSWORD" -t "$R/state/s/conf-test" -C 1 2>&1)
[ "$got" = '{"v":1}' ] && ok "the viewer reads the retained state" || bad "viewer read state: '$got'"
rc=$(puback -i viewer3-$$ -u viewer -P "$VIEWER_PASSWORD" -t "$R/state/s/conf-test" -m forged)
[ "$rc" = 135 ] && ok "the viewer may not write state (PUBACK 135)" || bad "viewer state write: PUBACK '$rc'"
rc=$(puback -i viewer4-$$ -u viewer -P "$VIEWER_PASSWORD" -t "$R/q/sessions" -m '{"v":1}')
ack_ok "$rc" && ok "the viewer may ask queries (PUBACK 0/16)" || bad "viewer query: PUBACK '$rc'"
rc=$(puback -i viewer5-$$ -u viewer -P "$VIEWER_PASSWORD" -t "$R/cmd/fail" -m '{"v":1}')
[ "$rc" = 135 ] && ok "the viewer may not send commands (PUBACK 135)" || bad "viewer command: PUBACK '$rc'"
rc=$(puback -i oper-$$ -u operator -P "$OPERATOR_PASSWORD" -t "$R/cmd/fail" -m '{"v":1}')
ack_ok "$rc" && ok "the operator may send commands (PUBACK 0/16)" || bad "operator command: PUBACK '$rc'"
rc=$(puback -i agent-$$ -u "$MACHINE" -P "$AGENT_PASSWORD" -t "$R/m/$MACHINE/s/conf-s/status" -r \
	-m '{"v":1,"status":"online","epoch":1}')
ack_ok "$rc" && ok "an agent writes under its own machine (PUBACK 0/16)" || bad "agent own subtree: PUBACK '$rc'"
rc=$(puback -i agent2-$$ -u "$MACHINE" -P "$AGENT_PASSWORD" -t "$R/m/other-host/s/conf-s/status" -m x)
[ "$rc" = 135 ] && ok "an agent may not write under another machine (PUBACK 135)" || bad "agent other machine: PUBACK '$rc'"
rc=$(puback -i agent3-$$ -u "$MACHINE" -P "$AGENT_PASSWORD" -t "$R/state/s/conf-s" -m x)
[ "$rc" = 135 ] && ok "an agent may not write collector state (PUBACK 135)" || bad "agent state write: PUBACK '$rc'"
got=$(sub -i coll2-$$ -u collector -P "$COLLECTOR_PASSWORD" -t "$R/m/+/s/+/status" -C 1 2>&1)
[[ $got == *'"online"'* ]] && ok "the collector reads agent status" || bad "collector read status: '$got'"

# --- limits
rc=$(head -c 70000 /dev/zero | tr '\0' x | puback -i coll3-$$ -u collector -P "$COLLECTOR_PASSWORD" -t "$R/state/s/big" -s)
[ "$rc" = 149 ] && ok "a 70000-byte payload is refused (PUBACK 149, message_size_limit)" || bad "size limit: PUBACK '$rc'"

# --- TLS (gen-certs.sh CA; the server certificate names 127.0.0.1 and localhost)
for h in 127.0.0.1 localhost; do
	check "TLS on $h verifies against the CA and authenticates" \
		mosquitto_sub -h "$h" -p "$MQTTS_PORT" --cafile "$CAFILE" -i tls-$h-$$ -u viewer -P "$VIEWER_PASSWORD" \
		-t "$R/state/#" -E
done
check "TLS without the private CA fails verification" bash -c \
	"! mosquitto_sub -h 127.0.0.1 -p $MQTTS_PORT --tls-use-os-certs -i tls-x-$$ -u viewer -P '$VIEWER_PASSWORD' -t '$R/state/#' -E -W 5"

# --- WebSockets listener: the dashboard over http_dir
body=$(curl -s -m 5 "http://127.0.0.1:$WS_PORT/index.html")
[ "$body" = "$(cat "$www/index.html")" ] && ok "http_dir serves index.html" || bad "http_dir index.html: '${body:0:80}'"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/sub/a.css")
[ "$code" = 200 ] && ok "http_dir serves sub-directories" || bad "http_dir sub/a.css: $code"
code=$(curl -s -m 5 --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/../secret.txt")
[ "$code" != 200 ] && ok "http_dir refuses a path outside it ($code)" || bad "http_dir served ../secret.txt"
if [ -d "$src/web/node_modules/mqtt" ]; then
	check "MQTT over WebSockets: the viewer connects and reads retained state" node -e "
		const mqtt = require('$src/web/node_modules/mqtt');
		const c = mqtt.connect('ws://127.0.0.1:$WS_PORT', {protocolVersion: 5, clientId: 'ws-$$',
			username: 'viewer', password: '$VIEWER_PASSWORD', reconnectPeriod: 0, connectTimeout: 5000});
		const t = setTimeout(() => { console.error('timeout'); process.exit(1); }, 8000);
		c.on('error', (e) => { console.error(e.message); process.exit(1); });
		c.on('connect', () => c.subscribe('$R/state/s/conf-test'));
		c.on('message', (topic, p) => { clearTimeout(t); c.end(); process.exit(p.toString() === '{\"v\":1}' ? 0 : 1); });"
else
	bad "MQTT over WebSockets: web/node_modules/mqtt is missing (run scripts/install-web.sh)"
fi

# --- a new machine: broker-init rewrites the password file, SIGHUP makes mosquitto re-read it
printf 'build-99 build-99-secret-key\n' >"$run/more-users"
HW_AUTH_DIR=$run/broker/auth HW_CERTS_DIR=$run/broker/certs HW_COLLECTOR_PASSWORD=$COLLECTOR_PASSWORD \
	HW_VIEWER_PASSWORD=$VIEWER_PASSWORD HW_OPERATOR_PASSWORD=$OPERATOR_PASSWORD HW_AGENT_MACHINE=$MACHINE \
	HW_AGENT_PASSWORD=$AGENT_PASSWORD HW_EXTRA_USERS_FILE=$run/more-users sh "$src/compose/mosquitto/init.sh" >/dev/null
rc=$(puback -i new-$$ -u build-99 -P build-99-secret-key -t "$R/m/build-99/s/x/status" -m x)
[ -z "$rc" ] && ok "a machine added without SIGHUP is not known yet" || bad "build-99 before SIGHUP: PUBACK '$rc'"
kill -HUP "$broker_pid"
deadline=$((SECONDS + 5))
while :; do
	rc=$(puback -i new2-$$ -u build-99 -P build-99-secret-key -t "$R/m/build-99/s/x/status" -m x)
	ack_ok "$rc" || [ $SECONDS -ge $deadline ] && break
	sleep 0.1
done
ack_ok "$rc" && ok "after SIGHUP the new machine connects and writes its subtree" || bad "build-99 after SIGHUP: PUBACK '$rc'"

# --- persistence: retained state survives a broker restart
stop_broker
if start_broker; then
	got=$(sub -i coll4-$$ -u collector -P "$COLLECTOR_PASSWORD" -t "$R/state/s/conf-test" -C 1 2>&1)
	[ "$got" = '{"v":1}' ] && ok "retained state survives a restart (persistence)" || bad "after restart: '$got'"
else
	bad "the broker did not restart"
fi

echo "test_mosquitto_conf: $pass passed, $failed failed"
[ "$failed" = 0 ]
