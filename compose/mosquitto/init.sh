#!/bin/sh
# init.sh: the broker-init service (eclipse-mosquitto:2 image, busybox sh, runs once before the
# broker): writes the hashed password file and the ACL from compose/.env, and copies the TLS
# certificates into the broker's auth volume with the ownership and modes mosquitto needs.
#
# Environment (compose/.env.example explains each):
#   HW_TOPIC_ROOT          topic root (default heartwire/v1)
#   HW_COLLECTOR_PASSWORD  HW_VIEWER_PASSWORD  HW_OPERATOR_PASSWORD   service users
#   HW_AGENT_MACHINE       HW_AGENT_PASSWORD   the example agent slot's machine and its key
#   HW_EXTRA_USERS_FILE    optional file of more "user password" lines (one per agent machine)
# Paths, overridable so tests run this script outside Docker:
#   HW_AUTH_DIR (/mosquitto/auth), HW_CERTS_DIR (/certs), HW_ACL_TEMPLATE (dir of this
#   script/acl.template), HW_BROKER_UID / HW_BROKER_GID (1883, the image's mosquitto user),
#   HW_MOSQUITTO_PASSWD (mosquitto_passwd).
# Exit status: 0 done, 1 a setting is missing or invalid (the message names it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
auth=${HW_AUTH_DIR:-/mosquitto/auth}
certs=${HW_CERTS_DIR:-/certs}
template=${HW_ACL_TEMPLATE:-$here/acl.template}
root=${HW_TOPIC_ROOT:-heartwire/v1}
uid=${HW_BROKER_UID:-1883}
gid=${HW_BROKER_GID:-1883}
passwd_cmd=${HW_MOSQUITTO_PASSWD:-mosquitto_passwd}

say() { echo "broker-init: $*"; }
die() {
	echo "broker-init: error: $*" >&2
	exit 1
}

# A topic root as heartwire accepts it, restricted to characters that are safe in sed and ACLs.
case "$root" in
'' | /* | */ | *//* | '$'*) die "HW_TOPIC_ROOT '$root': no leading '\$' or '/', no trailing '/', no empty levels" ;;
esac
if printf '%s' "$root" | grep -q '[^A-Za-z0-9._/-]'; then
	die "HW_TOPIC_ROOT '$root': use only A-Z a-z 0-9 . _ - and '/' between levels"
fi

# check_user NAME: a heartwire id that mosquitto_passwd accepts (ids may hold ':', user names not).
check_user() {
	case "$1" in
	'') die "an empty user name" ;;
	*:*) die "user '$1': ':' cannot be used in a broker user name" ;;
	esac
	if [ ${#1} -gt 64 ] || printf '%s' "$1" | grep -q '[^A-Za-z0-9._-]'; then
		die "user '$1': 1-64 characters of A-Z a-z 0-9 . _ -"
	fi
}

# check_password VAR VALUE: set, not the example's placeholder, at least 12 characters.
check_password() {
	case "$2" in
	'') die "$1 is not set: copy compose/.env.example to compose/.env and set it (or run compose/setup.sh)" ;;
	change-me*) die "$1 still has the example's placeholder value: set a real password in compose/.env" ;;
	esac
	[ ${#2} -ge 12 ] || die "$1 is shorter than 12 characters"
}

[ -r "$template" ] || die "ACL template $template is missing"
mkdir -p "$auth" "$auth/tls"
tmp=$auth/.passwd.tmp
rm -f "$tmp"
: >"$tmp"
users=' '

# add_user NAME PASSWORD VAR: one line of the password file (hashed with mosquitto_passwd).
add_user() {
	check_user "$1"
	check_password "$3" "$2"
	case "$users" in *" $1 "*) die "user '$1' is defined twice" ;; esac
	"$passwd_cmd" -b "$tmp" "$1" "$2" || die "mosquitto_passwd failed for user '$1'"
	users="$users$1 "
}

add_user collector "${HW_COLLECTOR_PASSWORD:-}" HW_COLLECTOR_PASSWORD
add_user viewer "${HW_VIEWER_PASSWORD:-}" HW_VIEWER_PASSWORD
add_user operator "${HW_OPERATOR_PASSWORD:-}" HW_OPERATOR_PASSWORD
machine=${HW_AGENT_MACHINE:-example-host}
add_user "$machine" "${HW_AGENT_PASSWORD:-}" HW_AGENT_PASSWORD
if [ -n "${HW_EXTRA_USERS_FILE:-}" ]; then
	[ -r "$HW_EXTRA_USERS_FILE" ] || die "HW_EXTRA_USERS_FILE $HW_EXTRA_USERS_FILE is not readable"
	n=0
	while read -r user pw rest || [ -n "$user" ]; do
		n=$((n + 1))
		case "$user" in '' | '#'*) continue ;; esac
		[ -z "$rest" ] || die "$HW_EXTRA_USERS_FILE line $n: expected 'user password'"
		add_user "$user" "$pw" "$HW_EXTRA_USERS_FILE line $n"
	done <"$HW_EXTRA_USERS_FILE"
fi

sed "s|@ROOT@|$root|g" "$template" >"$auth/.acl.tmp"

# TLS: the broker's TLS listener needs all three files.
for f in ca.crt server.crt server.key; do
	[ -s "$certs/$f" ] || die "TLS file $certs/$f is missing: run compose/gen-certs.sh (or put your own there)"
done
cp "$certs/ca.crt" "$certs/server.crt" "$certs/server.key" "$auth/tls/"

mv "$tmp" "$auth/passwd"
mv "$auth/.acl.tmp" "$auth/acl"
chmod 0700 "$auth/tls"
chmod 0600 "$auth/passwd" "$auth/acl" "$auth/tls/server.key"
chmod 0644 "$auth/tls/ca.crt" "$auth/tls/server.crt"
if [ "$(id -u)" = 0 ]; then
	chown -R "$uid:$gid" "$auth"
fi
say "wrote $auth/passwd ($(wc -l <"$auth/passwd") users:${users% }), $auth/acl (root $root), $auth/tls/"
