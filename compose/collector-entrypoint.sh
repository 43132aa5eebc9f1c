#!/usr/bin/env bash
# collector-entrypoint.sh: entrypoint of the collector image (installed as hw-collector-entrypoint).
# Checks the environment, waits (bounded) until the broker and the database accept TCP
# connections, then execs heartwire-collector with the arguments given (options only; any other
# first argument is run as a command instead, e.g. `docker-compose run collector bash`).
#
# Environment: HEARTWIRE_BROKER and HEARTWIRE_MONGO_URI (required), HEARTWIRE_USERNAME with
# HEARTWIRE_PASSWORD or HEARTWIRE_PASSWORD_FILE, HEARTWIRE_ID (default collector-HOSTNAME, so
# every replica of `--scale collector=N` has its own), every other HEARTWIRE_* option the
# collector reads itself. HW_WAIT_S (default 60): how long to wait for the servers; 0: no wait.
# HW_COLLECTOR_BIN: the binary (default: heartwire-collector on PATH), for tests.
# Exit status: 64 the environment is incomplete, 69 a server stayed unreachable; else the
# collector's own.
set -euo pipefail

bin=${HW_COLLECTOR_BIN:-heartwire-collector}
say() { printf 'collector-entrypoint: %s\n' "$*" >&2; }
die() {
	say "error: $2"
	exit "$1"
}

if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	exec "$@"
fi

[ -n "${HEARTWIRE_BROKER:-}" ] || die 64 "HEARTWIRE_BROKER is not set (mqtt://host:1883 or mqtts://host:8883)"
[ -n "${HEARTWIRE_MONGO_URI:-}" ] || die 64 "HEARTWIRE_MONGO_URI is not set (mongodb://host:27017/?replicaSet=rs0)"
if [ -n "${HEARTWIRE_PASSWORD_FILE:-}" ] && [ ! -r "$HEARTWIRE_PASSWORD_FILE" ]; then
	die 64 "HEARTWIRE_PASSWORD_FILE $HEARTWIRE_PASSWORD_FILE is not readable"
fi
if [ -n "${HEARTWIRE_USERNAME:-}" ] && [ -z "${HEARTWIRE_PASSWORD:-}" ] && [ -z "${HEARTWIRE_PASSWORD_FILE:-}" ]; then
	die 64 "HEARTWIRE_USERNAME is set but neither HEARTWIRE_PASSWORD nor HEARTWIRE_PASSWORD_FILE"
fi
if [ -z "${HEARTWIRE_ID:-}" ]; then
	host=$(hostname 2>/dev/null || echo unknown)
	HEARTWIRE_ID=collector-$(printf '%s' "$host" | tr -c 'A-Za-z0-9._:-' '-' | cut -c1-54)
	export HEARTWIRE_ID
fi

# hostport URL DEFAULT_PORT: "host port" of the first host in a mqtt(s):// or mongodb:// URL.
hostport() {
	local rest=${1#*://} port
	rest=${rest#*@}
	rest=${rest%%[/?]*}
	rest=${rest%%,*}
	if [[ $rest == \[*\]* ]]; then
		local h=${rest%%]*}
		h=${h#[}
		port=${rest##*]}
		port=${port#:}
		printf '%s %s\n' "$h" "${port:-$2}"
	elif [[ $rest == *:* ]]; then
		printf '%s %s\n' "${rest%:*}" "${rest##*:}"
	else
		printf '%s %s\n' "$rest" "$2"
	fi
}

# wait_tcp NAME HOST PORT: until HOST:PORT accepts a connection, at most HW_WAIT_S seconds.
wait_tcp() {
	local deadline=$((SECONDS + ${HW_WAIT_S:-60}))
	while ! (exec 3<>"/dev/tcp/$2/$3") 2>/dev/null; do
		[ $SECONDS -lt $deadline ] || die 69 "$1 at $2:$3 did not accept connections within ${HW_WAIT_S:-60} s"
		sleep 0.5
	done
}

if [ "${HW_WAIT_S:-60}" != 0 ]; then
	default_mqtt=1883
	[[ $HEARTWIRE_BROKER == mqtts://* ]] && default_mqtt=8883
	read -r bh bp < <(hostport "$HEARTWIRE_BROKER" "$default_mqtt")
	wait_tcp broker "$bh" "$bp"
	if [[ $HEARTWIRE_MONGO_URI == mongodb://* ]]; then
		read -r mh mp < <(hostport "$HEARTWIRE_MONGO_URI" 27017)
		wait_tcp database "$mh" "$mp"
	fi
fi
say "starting $bin as $HEARTWIRE_ID (broker $HEARTWIRE_BROKER)"
exec "$bin" "$@"
