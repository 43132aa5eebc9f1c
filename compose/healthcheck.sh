#!/usr/bin/env bash
# healthcheck.sh: the images' HEALTHCHECK (installed as hw-healthcheck).
#   hw-healthcheck collector   healthy when {root}/collector/{HEARTWIRE_ID} (retained; the
#                              collector's will turns it offline) says online
#   hw-healthcheck agent       healthy when {root}/m/{machine}/s/{session}/status (retained; the
#                              agent's will turns it lost) says online or ended; without
#                              HEARTWIRE_SESSION, when the agent process is alive
# It reads the same HEARTWIRE_* environment as the binaries (broker, user, password or password
# file, CA file, topic root) and asks the broker with mosquitto_sub, so it proves the whole
# path: the process runs, it is connected, the broker has its presence.
# HW_HEALTH_TIMEOUT_S (default 5). Exit status: 0 healthy, 1 not, 2 usage.
set -uo pipefail

role=${1:-}
root=${HEARTWIRE_TOPIC_ROOT:-heartwire/v1}
timeout_s=${HW_HEALTH_TIMEOUT_S:-5}
sub=${HW_MOSQUITTO_SUB:-mosquitto_sub}
fail() {
	echo "unhealthy: $*"
	exit 1
}

case "$role" in
collector)
	if [ -z "${HEARTWIRE_ID:-}" ]; then
		HEARTWIRE_ID=collector-$(printf '%s' "$(hostname)" | tr -c 'A-Za-z0-9._:-' '-' | cut -c1-54)
	fi
	topic=$root/collector/$HEARTWIRE_ID
	want='online'
	;;
agent)
	if [ -z "${HEARTWIRE_SESSION:-}" ] || [ -z "${HEARTWIRE_MACHINE:-}" ]; then
		# No fixed session to look up: the agent (PID 1 under tini, or its child) must be alive.
		alive=0
		for c in /proc/[0-9]*/comm; do
			[ "$(cat "$c" 2>/dev/null)" = heartwire-agent ] && alive=1 && break
		done
		[ $alive = 1 ] || fail "no heartwire-agent process"
		echo "healthy: heartwire-agent runs"
		exit 0
	fi
	topic=$root/m/$HEARTWIRE_MACHINE/s/$HEARTWIRE_SESSION/status
	want='online|ended'
	;;
*)
	echo "usage: hw-healthcheck collector|agent" >&2
	exit 2
	;;
esac

url=${HEARTWIRE_BROKER:-mqtt://127.0.0.1:1883}
args=(-C 1 -W "$timeout_s" -t "$topic" -i "hw-health-$$-$RANDOM" -V mqttv5)
hostport=${url#*://}
hostport=${hostport%%/*}
case "$url" in
mqtts://*)
	port=8883
	if [ -n "${HEARTWIRE_CAFILE:-}" ]; then args+=(--cafile "$HEARTWIRE_CAFILE"); else args+=(--tls-use-os-certs); fi
	;;
mqtt://*) port=1883 ;;
*) fail "HEARTWIRE_BROKER '$url' is not mqtt:// or mqtts://" ;;
esac
if [[ $hostport == \[*\]* ]]; then
	host=${hostport%%]*}
	host=${host#[}
	p=${hostport##*]}
	p=${p#:}
	port=${p:-$port}
elif [[ $hostport == *:* ]]; then
	host=${hostport%:*}
	port=${hostport##*:}
else
	host=$hostport
fi
args+=(-h "$host" -p "$port")
password=${HEARTWIRE_PASSWORD:-}
if [ -z "$password" ] && [ -n "${HEARTWIRE_PASSWORD_FILE:-}" ]; then
	IFS= read -r password <"$HEARTWIRE_PASSWORD_FILE" || [ -n "$password" ] || fail "cannot read $HEARTWIRE_PASSWORD_FILE"
fi
user=${HEARTWIRE_USERNAME:-}
[ "$role" = agent ] && [ -z "$user" ] && [ -n "$password" ] && user=$HEARTWIRE_MACHINE
[ -n "$user" ] && args+=(-u "$user")
[ -n "$password" ] && args+=(-P "$password")

out=$("$sub" "${args[@]}" 2>&1)
rc=$?
[ $rc -eq 0 ] || fail "no retained $topic within ${timeout_s} s (mosquitto_sub exit $rc: ${out:0:200})"
# The payload is JSON ({"v":1,"status":"online",...}) or a bare word.
status=$(printf '%s' "$out" | sed -n 's/.*"status"[[:space:]]*:[[:space:]]*"\([a-z]*\)".*/\1/p')
[ -n "$status" ] || status=$(printf '%s' "$out" | tr -d '[:space:]')
if [[ $status =~ ^($want)$ ]]; then
	echo "healthy: $topic is $status"
	exit 0
fi
fail "$topic is '${status:0:60}'"
