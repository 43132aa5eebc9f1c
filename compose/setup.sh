#!/usr/bin/env bash
# setup.sh: prepares a compose installation once: compose/.env from .env.example with random
# passwords (kept if it exists), and the broker's TLS certificates (gen-certs.sh, kept if they
# exist). Then: docker-compose -f compose/compose.yaml up -d
#
#   compose/setup.sh [--env FILE] [--certs DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
env_file=$here/.env
certs=$here/certs
while [ $# -gt 0 ]; do
	case "$1" in
	--env) env_file=$2; shift ;;
	--certs) certs=$2; shift ;;
	-h | --help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "setup: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
command -v openssl >/dev/null || { echo "setup: openssl is needed (apt-get install openssl)" >&2; exit 1; }

# A password of 24 characters from A-Z a-z 0-9 (no characters a shell or a URL would mangle).
random_password() {
	local p=""
	while [ ${#p} -lt 24 ]; do p+=$(openssl rand -base64 48 | tr -dc 'A-Za-z0-9'); done
	printf '%s' "${p:0:24}"
}

if [ -e "$env_file" ]; then
	echo "setup: $env_file exists, kept"
else
	umask 077
	mkdir -p "$(dirname "$env_file")"
	tmp=$(mktemp "$env_file.XXXXXX")
	while IFS= read -r line || [ -n "$line" ]; do
		if [[ $line =~ ^(HW_[A-Z_]+_PASSWORD)=change-me ]]; then
			line="${BASH_REMATCH[1]}=$(random_password)"
		fi
		printf '%s\n' "$line"
	done <"$here/.env.example" >"$tmp"
	mv "$tmp" "$env_file"
	echo "setup: wrote $env_file with random passwords (the viewer's is HW_VIEWER_PASSWORD)"
fi
"$here/gen-certs.sh" --dir "$certs"
echo "setup: next: docker-compose -f $here/compose.yaml up -d   (add --profile example for the example agent)"
