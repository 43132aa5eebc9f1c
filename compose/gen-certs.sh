#!/usr/bin/env bash
# gen-certs.sh: makes a private CA and a server certificate for the broker's TLS listener (8883)
# in compose/certs/: ca.key ca.crt server.key server.crt. Idempotent: an existing set is kept
# unless --force. Agents on other machines trust ca.crt (heartwire-agent --cafile ca.crt).
#
#   compose/gen-certs.sh [--force] [--dir DIR] [--days N]
#   HW_TLS_NAMES="broker.example.org,10.0.0.5" compose/gen-certs.sh   extra DNS names / IPs
#
# The certificate names mosquitto (the compose service), localhost, 127.0.0.1, this host's
# name and HW_TLS_NAMES. Needs openssl. Bring your own certificates instead by putting the
# three files ca.crt, server.crt, server.key into the same directory.
set -euo pipefail

dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/certs
force=0
days=825
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--dir) dir=$2; shift ;;
	--days) days=$2; shift ;;
	-h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "gen-certs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
command -v openssl >/dev/null || { echo "gen-certs: openssl is needed (apt-get install openssl)" >&2; exit 1; }
case "$days" in '' | *[!0-9]*) echo "gen-certs: --days wants a number" >&2; exit 2 ;; esac

if [ $force = 0 ] && [ -s "$dir/ca.crt" ] && [ -s "$dir/server.crt" ] && [ -s "$dir/server.key" ]; then
	echo "gen-certs: $dir already has ca.crt, server.crt, server.key (--force to replace)"
	exit 0
fi
mkdir -p "$dir"
chmod 0700 "$dir"

# Subject alternative names: DNS entries and IP addresses.
san="DNS:mosquitto,DNS:localhost,IP:127.0.0.1,IP:::1"
host=$(hostname 2>/dev/null || true)
[ -n "$host" ] && san="$san,DNS:$host"
IFS=',' read -r -a extra <<<"${HW_TLS_NAMES:-}"
for n in "${extra[@]}"; do
	n=${n// /}
	[ -n "$n" ] || continue
	if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then san="$san,IP:$n"; else san="$san,DNS:$n"; fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077
openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 -subj "/CN=heartwire private CA" \
	-keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:3072 -sha256 -nodes -subj "/CN=mosquitto" -keyout "$tmp/server.key" \
	-out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' \
	"$san" >"$tmp/ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days "$days" -sha256 -extfile "$tmp/ext" -out "$tmp/server.crt" 2>/dev/null
openssl verify -CAfile "$tmp/ca.crt" "$tmp/server.crt" >/dev/null
for f in ca.key ca.crt server.key server.crt; do mv -f "$tmp/$f" "$dir/$f"; done
chmod 0600 "$dir/ca.key" "$dir/server.key"
chmod 0644 "$dir/ca.crt" "$dir/server.crt"
echo "gen-certs: wrote $dir/{ca.crt,ca.key,server.crt,server.key} for $san"
