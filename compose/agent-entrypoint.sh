#!/usr/bin/env bash
# agent-entrypoint.sh: entrypoint of the agent slot image (installed as hw-agent-entrypoint).
# Checks the environment, then:
#   run|hook|resume|help|--help|-h|--version|-V ...   heartwire-agent with these arguments
#   anything else (the image's CMD or `docker run IMAGE CMD...`)
#                                          heartwire-agent run -- CMD...
# so the container's command is the supervised session and its exit status the container's.
#
# Environment: HEARTWIRE_BROKER and HEARTWIRE_MACHINE (required: a container's host name
# changes with every container, a machine id must not), HEARTWIRE_USERNAME (default: the
# machine, as the broker's ACL expects) with HEARTWIRE_PASSWORD or HEARTWIRE_PASSWORD_FILE,
# HEARTWIRE_SESSION / _SLOT / _PROJECT / _TASK / _INTERVAL_MS and every other HEARTWIRE_*
# option the agent reads itself. HW_AGENT_BIN: the binary (default heartwire-agent on PATH).
# Exit status: 64 the environment is incomplete; else the agent's (the child's exit status).
set -euo pipefail

bin=${HW_AGENT_BIN:-heartwire-agent}
say() { printf 'agent-entrypoint: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 64
}

id_ok() { [[ $1 =~ ^[A-Za-z0-9._:-]{1,64}$ ]]; }

case "${1:-}" in
help | --help | -h | --version | -V) exec "$bin" "$@" ;;
esac

[ -n "${HEARTWIRE_BROKER:-}" ] || die "HEARTWIRE_BROKER is not set (mqtt://host:1883 or mqtts://host:8883)"
[ -n "${HEARTWIRE_MACHINE:-}" ] || die "HEARTWIRE_MACHINE is not set: name the machine this slot runs on"
id_ok "$HEARTWIRE_MACHINE" || die "HEARTWIRE_MACHINE '$HEARTWIRE_MACHINE': 1-64 characters of A-Z a-z 0-9 . _ : -"
for v in HEARTWIRE_SESSION HEARTWIRE_SLOT HEARTWIRE_PROJECT; do
	if [ -n "${!v:-}" ] && ! id_ok "${!v}"; then
		die "$v '${!v}': 1-64 characters of A-Z a-z 0-9 . _ : -"
	fi
done
if [ -n "${HEARTWIRE_PASSWORD:-}" ] || [ -n "${HEARTWIRE_PASSWORD_FILE:-}" ]; then
	export HEARTWIRE_USERNAME=${HEARTWIRE_USERNAME:-$HEARTWIRE_MACHINE}
fi
if [ -n "${HEARTWIRE_PASSWORD_FILE:-}" ] && [ ! -r "$HEARTWIRE_PASSWORD_FILE" ]; then
	die "HEARTWIRE_PASSWORD_FILE $HEARTWIRE_PASSWORD_FILE is not readable"
fi
if [ -n "${HEARTWIRE_USERNAME:-}" ] && [ -z "${HEARTWIRE_PASSWORD:-}" ] && [ -z "${HEARTWIRE_PASSWORD_FILE:-}" ]; then
	die "HEARTWIRE_USERNAME is set but neither HEARTWIRE_PASSWORD nor HEARTWIRE_PASSWORD_FILE"
fi
if [ -n "${HEARTWIRE_STATE_DIR:-}" ]; then
	mkdir -p "$HEARTWIRE_STATE_DIR" 2>/dev/null || true
	[ -w "$HEARTWIRE_STATE_DIR" ] || die "HEARTWIRE_STATE_DIR $HEARTWIRE_STATE_DIR is not writable"
fi

case "${1:-}" in
run | hook | resume) exec "$bin" "$@" ;;
'') die "no command: give the command to supervise (docker run IMAGE CMD...)" ;;
esac
say "supervising: $* (machine $HEARTWIRE_MACHINE, session ${HEARTWIRE_SESSION:-generated})"
exec "$bin" run -- "$@"
