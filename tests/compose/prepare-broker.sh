#!/usr/bin/env bash
# prepare-broker.sh: turns the compose deployment's broker config into one that runs on this
# machine, for the tests: compose/mosquitto/mosquitto.conf with its /mosquitto/ paths pointed
# into RUNDIR and its three listeners (1883, 8883 TLS, 9001 WebSockets + http_dir) moved to free
# loopback ports; the password file, ACL and TLS files made by the real compose/mosquitto/init.sh
# from test passwords and certificates made by the real compose/gen-certs.sh.
#
#   tests/compose/prepare-broker.sh RUNDIR [WWWDIR]
#
# Writes RUNDIR/mosquitto.conf, RUNDIR/auth/, RUNDIR/certs/, RUNDIR/data/, RUNDIR/www (a link
# to WWWDIR, or an empty dir) and RUNDIR/broker.env (shell and node readable KEY=VALUE lines):
# MQTT_PORT MQTTS_PORT WS_PORT ROOT MACHINE COLLECTOR_PASSWORD VIEWER_PASSWORD
# OPERATOR_PASSWORD AGENT_PASSWORD CAFILE CONF. Fails (exit 1) when the config no longer has
# the shape this rewriting expects, so a drift in compose/ is caught here.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
run=${1:?usage: prepare-broker.sh RUNDIR [WWWDIR]}
www=${2:-}
conf_in=$src/compose/mosquitto/mosquitto.conf
# shellcheck source=../../scripts/lib.sh
source "$src/scripts/lib.sh"

die() {
	echo "prepare-broker: $*" >&2
	exit 1
}

mkdir -p "$run"
run=$(cd "$run" && pwd)
rm -rf "$run/auth" "$run/data" "$run/www"
mkdir -p "$run/data"
if [ -n "$www" ]; then ln -s "$(cd "$www" && pwd)" "$run/www"; else mkdir -p "$run/www"; fi

# Test passwords: long enough for init.sh, unique per run.
pw() { printf '%s-%s-%s' "$1" "$$" "$RANDOM$RANDOM"; }
collector_pw=$(pw collector)
viewer_pw=$(pw viewer)
operator_pw=$(pw operator)
agent_pw=$(pw agent)
machine=${HW_TEST_MACHINE:-e2e-host}

"$src/compose/gen-certs.sh" --dir "$run/certs" >/dev/null
HW_AUTH_DIR=$run/auth HW_CERTS_DIR=$run/certs HW_TOPIC_ROOT=heartwire/v1 \
	HW_COLLECTOR_PASSWORD=$collector_pw HW_VIEWER_PASSWORD=$viewer_pw HW_OPERATOR_PASSWORD=$operator_pw \
	HW_AGENT_MACHINE=$machine HW_AGENT_PASSWORD=$agent_pw \
	HW_EXTRA_USERS_FILE=$src/compose/mosquitto/no-extra-users \
	sh "$src/compose/mosquitto/init.sh" >/dev/null

mqtt_port=$(hw_free_port)
mqtts_port=$(hw_free_port)
ws_port=$(hw_free_port)
while [ "$mqtts_port" = "$mqtt_port" ]; do mqtts_port=$(hw_free_port); done
while [ "$ws_port" = "$mqtt_port" ] || [ "$ws_port" = "$mqtts_port" ]; do ws_port=$(hw_free_port); done

# Every rewritten line must exist exactly once in the compose config.
for line in 'listener 1883' 'listener 8883' 'listener 9001' 'password_file /mosquitto/auth/passwd' \
	'acl_file /mosquitto/auth/acl' 'persistence_location /mosquitto/data/' 'http_dir /mosquitto/www' \
	'certfile /mosquitto/auth/tls/server.crt' 'keyfile /mosquitto/auth/tls/server.key' \
	'cafile /mosquitto/auth/tls/ca.crt'; do
	n=$(grep -cx "$line" "$conf_in" || true)
	[ "$n" = 1 ] || die "$conf_in: expected the line '$line' once, found it $n times"
done

sed -e "s|^listener 1883\$|listener $mqtt_port 127.0.0.1|" \
	-e "s|^listener 8883\$|listener $mqtts_port 127.0.0.1|" \
	-e "s|^listener 9001\$|listener $ws_port 127.0.0.1|" \
	-e "s|^\([a-z_]*\) /mosquitto/|\1 $run/|" \
	"$conf_in" >"$run/mosquitto.conf"
# As root, mosquitto would switch to the mosquitto user and lose access to RUNDIR.
if [ "$(id -u)" = 0 ]; then echo "user root" >>"$run/mosquitto.conf"; fi
if grep -v '^#' "$run/mosquitto.conf" | grep -q '/mosquitto/'; then
	die "a /mosquitto/ path was left in $run/mosquitto.conf: $(grep -v '^#' "$run/mosquitto.conf" | grep '/mosquitto/' | head -3)"
fi

cat >"$run/broker.env" <<EOF
MQTT_PORT=$mqtt_port
MQTTS_PORT=$mqtts_port
WS_PORT=$ws_port
ROOT=heartwire/v1
MACHINE=$machine
COLLECTOR_PASSWORD=$collector_pw
VIEWER_PASSWORD=$viewer_pw
OPERATOR_PASSWORD=$operator_pw
AGENT_PASSWORD=$agent_pw
CAFILE=$run/certs/ca.crt
CONF=$run/mosquitto.conf
EOF
echo "$run/broker.env"
