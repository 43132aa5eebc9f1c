#!/usr/bin/env bash
# test_compose_config.sh: the compose deployment without Docker: `docker-compose config` accepts
# compose.yaml and resolves what the deployment promises; the Dockerfiles have the promised shape
# and their runtime stages install every shared library the built binaries link; setup.sh,
# gen-certs.sh and the broker-init script (init.sh) work and refuse bad settings; the mongo
# health check script initiates the replica set once and reports health only on a primary.
# ctest label integration. Exit 0 when every check passes.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${HW_BUILD_DIR:-$src/build}
run=$build/test-output/compose-config
rm -rf "$run"
mkdir -p "$run"
cd "$src/compose" || exit 1
pass=0
failed=0
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
has() { grep -qE -- "$1" "$2"; }

# ---------------------------------------------------------------- docker-compose config
dc=(docker-compose -f "$src/compose/compose.yaml")
if ! command -v docker-compose >/dev/null; then
	bad "docker-compose is not installed (apt-get install docker-compose)"
else
	# Without compose/.env (a fresh clone) and with the example's values.
	env_backup=
	if [ -e .env ]; then env_backup=$run/env.backup && cp .env "$env_backup"; fi
	check "docker-compose config passes without compose/.env" bash -c \
		"cd '$run' && mv -f '$src/compose/.env' '$run/.env.moved' 2>/dev/null; ${dc[*]} config >'$run/config-noenv.yaml'; rc=\$?; [ -e '$run/.env.moved' ] && mv '$run/.env.moved' '$src/compose/.env'; exit \$rc"
	check "docker-compose config passes with .env.example" bash -c \
		"${dc[*]} --env-file '$src/compose/.env.example' config >'$run/config.yaml'"
	check "docker-compose --profile example config passes" bash -c \
		"${dc[*]} --env-file '$src/compose/.env.example' --profile example config >'$run/config-example.yaml'"
	services=$("${dc[@]}" --env-file .env.example --profile example config --services 2>/dev/null | sort | tr '\n' ' ')
	[ "$services" = "agent-example broker-init collector mongo mosquitto web-build " ] &&
		ok "services: $services" || bad "services: '$services'"
	check "the example agent is only in the example profile; everything else starts by default" python3 -c "
import yaml
d = yaml.safe_load(open('$run/config.yaml'))['services']
assert d['agent-example'].get('profiles') == ['example'], d['agent-example'].get('profiles')
assert all(not v.get('profiles') for k, v in d.items() if k != 'agent-example')
"
	c=$run/config.yaml
	ce=$run/config-example.yaml
	check "broker: official eclipse-mosquitto:2" has 'image: eclipse-mosquitto:2$' "$c"
	check "store: mongo:7 started as replica set rs0" bash -c "grep -q 'image: mongo:7' '$c' && grep -A3 'command:' '$c' | grep -q 'rs0'"
	check "mongo health check runs rs-health.js" has '/hw/rs-health.js' "$c"
	check "collector built from compose/Dockerfile.collector" has 'dockerfile: compose/Dockerfile.collector' "$c"
	check "example agent built from compose/Dockerfile.agent" has 'dockerfile: compose/Dockerfile.agent' "$ce"
	check "collector health check uses hw-healthcheck" has 'hw-healthcheck' "$c"
	check "broker health check authenticates as viewer" has 'mosquitto_sub .*-u viewer' "$c"
	check "collector waits for a healthy broker and store" bash -c \
		"python3 -c \"
import sys, yaml
d = yaml.safe_load(open('$c'))['services']
dep = d['collector']['depends_on']
assert dep['mosquitto']['condition'] == 'service_healthy', dep
assert dep['mongo']['condition'] == 'service_healthy', dep
m = d['mosquitto']['depends_on']
assert m['broker-init']['condition'] == 'service_completed_successfully', m
assert m['web-build']['condition'] == 'service_completed_successfully', m
ports = sorted(p['target'] for p in d['mosquitto']['ports']) if isinstance(d['mosquitto']['ports'][0], dict) else d['mosquitto']['ports']
print(ports)
env = d['collector']['environment']
assert 'replicaSet=rs0' in env['HEARTWIRE_MONGO_URI'], env
assert env['HEARTWIRE_BROKER'] == 'mqtt://mosquitto:1883', env
assert d['collector'].get('read_only') is True
assert 'ALL' in d['collector']['cap_drop']
\""
	check "the mosquitto service publishes 1883, 8883 and 9001" bash -c \
		"grep -A12 '^  mosquitto:' '$c' >/dev/null; for p in 1883 8883 9001; do grep -qE \"(target: \$p|:\$p/tcp|:\$p\\\$)\" '$c' || exit 1; done"
	check "the broker mounts the compose mosquitto.conf" has 'compose/mosquitto/mosquitto.conf' "$c"
	[ -n "$env_backup" ] && cp "$env_backup" .env
fi

# ---------------------------------------------------------------- Dockerfiles
for df in Dockerfile.collector Dockerfile.agent; do
	froms=$(grep -cE '^FROM ' "$df")
	[ "$froms" = 2 ] && ok "$df: two stages" || bad "$df: $froms FROM lines"
	check "$df: Debian bookworm build stage with the -dev packages" bash -c \
		"grep -q '^FROM debian:bookworm AS build' '$df' && grep -q 'libpaho-mqtt-dev' '$df' && grep -q 'libjson-c-dev' '$df'"
	check "$df: bookworm-slim runtime stage without -dev packages" bash -c \
		"sed -n '/^FROM debian:bookworm-slim/,\$p' '$df' | grep -q . && ! sed -n '/^FROM debian:bookworm-slim/,\$p' '$df' | grep -q -- '-dev'"
	check "$df: runs as a non-root user" bash -c "grep -qE '^USER heartwire' '$df'"
	check "$df: has a HEALTHCHECK" has '^HEALTHCHECK ' "$df"
	# Every file the Dockerfile copies from the context exists.
	while read -r f; do
		[ -e "$src/$f" ] || bad "$df copies $f, which does not exist"
	done < <(sed -n 's/^COPY \([^-][^ ]*\) .*/\1/p' "$df")
done

# The runtime stages must install, directly or as a dependency (apt-cache depends --recurse), the
# Debian package of every shared library the binaries link.
runtime_pkgs() { sed -n '/^FROM debian:bookworm-slim/,$p' "$1" | tr ' \t\\' '\n\n\n' | grep -E '^lib[a-z0-9.+-]+$'; }
pkg_of() { dpkg -S "$1" 2>/dev/null || dpkg -S "/usr$1" 2>/dev/null; }
check_libs() { # check_libs DOCKERFILE BINARY...
	local df=$1 missing=() lib pkg bin closure
	shift
	closure=" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
		--no-enhances $(runtime_pkgs "$df") 2>/dev/null | grep -E '^[a-z0-9]' | tr '\n' ' ') "
	for bin in "$@"; do
		if [ ! -x "$bin" ]; then
			bad "$df: $bin is not built, cannot check its libraries"
			return
		fi
		while read -r lib; do
			pkg=$(pkg_of "$lib" | head -1 | cut -d: -f1)
			[ -n "$pkg" ] || { missing+=("(no package for $lib)"); continue; }
			[[ $closure == *" $pkg "* ]] || missing+=("$pkg ($lib)")
		done < <(ldd "$bin" | awk '/=> \// {print $3}')
	done
	[ ${#missing[@]} = 0 ] && ok "$df: runtime stage brings every library of $(for b in "$@"; do basename "$b"; done | tr '\n' ' ')" ||
		bad "$df: runtime stage misses ${missing[*]}"
}
check_libs Dockerfile.collector "$build/collector/heartwire-collector" "$build/cli/heartwire"
check_libs Dockerfile.agent "$build/agent/heartwire-agent" "$build/agent/heartwire-agent-tls"

# ---------------------------------------------------------------- setup.sh and gen-certs.sh
check "setup.sh writes an env file with random passwords and the certificates" \
	./setup.sh --env "$run/setup/.env" --certs "$run/setup/certs"
if [ -s "$run/setup/.env" ]; then
	n=$(grep -cE '^HW_(COLLECTOR|VIEWER|OPERATOR|AGENT)_PASSWORD=[A-Za-z0-9]{24}$' "$run/setup/.env")
	[ "$n" = 4 ] && ok "setup.sh: 4 random 24-character passwords" || bad "setup.sh: $n random passwords"
	check "setup.sh: no placeholder left" bash -c "! grep -q change-me '$run/setup/.env'"
	[ "$(stat -c %a "$run/setup/.env")" = 600 ] && ok "setup.sh: .env is private (0600)" || bad "setup.sh: .env mode $(stat -c %a "$run/setup/.env")"
	cp "$run/setup/.env" "$run/env.first"
	./setup.sh --env "$run/setup/.env" --certs "$run/setup/certs" >/dev/null 2>&1
	check "setup.sh keeps an existing .env" cmp -s "$run/setup/.env" "$run/env.first"
	check "docker-compose config accepts the env file setup.sh wrote" bash -c \
		"docker-compose -f '$src/compose/compose.yaml' --env-file '$run/setup/.env' config -q"
fi
certs=$run/setup/certs
check "gen-certs.sh: the server certificate verifies against the CA" openssl verify -CAfile "$certs/ca.crt" "$certs/server.crt"
check "gen-certs.sh: the certificate names mosquitto, localhost and 127.0.0.1" bash -c \
	"openssl x509 -in '$certs/server.crt' -noout -ext subjectAltName | grep -q 'DNS:mosquitto, DNS:localhost, IP Address:127.0.0.1'"
check "gen-certs.sh: keys are private (0600)" bash -c "[ \$(stat -c %a '$certs/server.key') = 600 ] && [ \$(stat -c %a '$certs/ca.key') = 600 ]"
before=$(md5sum "$certs/server.crt")
./gen-certs.sh --dir "$certs" >/dev/null
[ "$(md5sum "$certs/server.crt")" = "$before" ] && ok "gen-certs.sh keeps an existing set" || bad "gen-certs.sh replaced the set without --force"
HW_TLS_NAMES="broker.example.org, 10.1.2.3" ./gen-certs.sh --dir "$certs" --force >/dev/null
check "gen-certs.sh --force with HW_TLS_NAMES adds names and addresses" bash -c \
	"openssl x509 -in '$certs/server.crt' -noout -ext subjectAltName | grep -q 'DNS:broker.example.org, IP Address:10.1.2.3'"

# ---------------------------------------------------------------- broker-init (init.sh)
init() { # init OUTDIR [VAR=VALUE...]: runs init.sh with good defaults, overridden by the arguments
	local out=$1
	shift
	env HW_AUTH_DIR="$out" HW_CERTS_DIR="$certs" HW_COLLECTOR_PASSWORD=collector-secret-1 \
		HW_VIEWER_PASSWORD=viewer-secret-12 HW_OPERATOR_PASSWORD=operator-secret-1 HW_AGENT_MACHINE=build-07 \
		HW_AGENT_PASSWORD=agent-secret-123 "$@" sh "$src/compose/mosquitto/init.sh"
}
printf '# more machines\nbuild-08 build-08-secret-key\n\nbuild-09 build-09-secret-key\n' >"$run/extra-users"
check "init.sh writes passwd, acl and tls with extra users" init "$run/auth" HW_EXTRA_USERS_FILE="$run/extra-users" \
	HW_TOPIC_ROOT=acme/hw
users=$(cut -d: -f1 "$run/auth/passwd" 2>/dev/null | tr '\n' ' ')
[ "$users" = "collector viewer operator build-07 build-08 build-09 " ] && ok "init.sh: users $users" || bad "init.sh users: '$users'"
check "init.sh: passwords are hashed (\$7\$, PBKDF2-SHA512)" bash -c "! grep -q secret '$run/auth/passwd' && [ \$(grep -c ':\\\$7\\\$' '$run/auth/passwd') = 6 ]"
check "init.sh: the ACL has the topic root" bash -c "grep -qx 'pattern readwrite acme/hw/m/%u/#' '$run/auth/acl' && ! grep -q '@ROOT@' '$run/auth/acl'"
check "init.sh: passwd, acl and the key are 0600" bash -c \
	"[ \$(stat -c %a '$run/auth/passwd') = 600 ] && [ \$(stat -c %a '$run/auth/acl') = 600 ] && [ \$(stat -c %a '$run/auth/tls/server.key') = 600 ]"
check "init.sh: the TLS files are copied" cmp -s "$certs/server.crt" "$run/auth/tls/server.crt"
refuse() { # refuse DESCRIPTION EXPECTED-MESSAGE VAR=VALUE...
	local d=$1 want=$2 out
	shift 2
	rm -rf "$run/refuse"
	out=$(init "$run/refuse" "$@" 2>&1)
	if [ $? -ne 0 ] && [[ $out == *"$want"* ]] && [ ! -e "$run/refuse/passwd" ]; then ok "init.sh refuses $d"; else
		bad "init.sh $d: '$out'"
	fi
}
refuse "a missing password" "HW_VIEWER_PASSWORD is not set" HW_VIEWER_PASSWORD=
refuse "the example's placeholder" "placeholder" HW_COLLECTOR_PASSWORD=change-me-collector
refuse "a short password" "shorter than 12" HW_OPERATOR_PASSWORD=short
refuse "a topic root with a wildcard" "HW_TOPIC_ROOT" HW_TOPIC_ROOT='a/+/b'
refuse "a topic root starting with \$" "HW_TOPIC_ROOT" HW_TOPIC_ROOT='$SYS/x'
refuse "a machine named like a service user" "defined twice" HW_AGENT_MACHINE=viewer
refuse "a machine id with ':'" "cannot be used" HW_AGENT_MACHINE=a:b
refuse "missing TLS files" "run compose/gen-certs.sh" HW_CERTS_DIR="$run/no-certs"
printf 'build-08 pw with spaces\n' >"$run/bad-users"
refuse "a malformed extra users line" "expected 'user password'" HW_EXTRA_USERS_FILE="$run/bad-users"

# ---------------------------------------------------------------- mongo/rs-health.js
# mongosh is not installed here; the script's logic runs under node with rs, db, quit and print
# standing in for mongosh's globals, in the three states a node goes through.
rs_health() { # rs_health STATE: uninit | secondary | primary; prints "exit=N initiated=JSON"
	node -e "
		const vm = require('vm'), fs = require('fs');
		const state = process.argv[1];
		let initiated = null;
		class Quit extends Error { constructor(c){ super('quit'); this.code = c; } }
		const ctx = {
			process: {env: {HW_MONGO_HOST: 'mongo:27017', HW_MONGO_RS: 'rs0'}},
			print: () => {},
			quit: (c) => { throw new Quit(c); },
			rs: {
				status(){ if(state === 'uninit'){ const e = new Error('no replset config has been received'); e.code = 94; e.codeName = 'NotYetInitialized'; throw e; } return {set: 'rs0', myState: state === 'primary' ? 1 : 2}; },
				initiate(cfg){ initiated = cfg; return {ok: 1}; }
			},
			db: {hello(){ return {isWritablePrimary: state === 'primary'}; }}
		};
		try { vm.runInNewContext(fs.readFileSync('$src/compose/mongo/rs-health.js', 'utf8'), ctx); }
		catch(e){ if(!(e instanceof Quit)) throw e; console.log('exit=' + e.code + ' initiated=' + JSON.stringify(initiated)); }
	" "$1"
}
out=$(rs_health uninit 2>&1)
[ "$out" = 'exit=1 initiated={"_id":"rs0","members":[{"_id":0,"host":"mongo:27017"}]}' ] &&
	ok "rs-health.js: an uninitialised node is initiated as rs0 with mongo:27017, not yet healthy" || bad "rs-health uninit: $out"
out=$(rs_health secondary 2>&1)
[ "$out" = 'exit=1 initiated=null' ] && ok "rs-health.js: a node that is not primary is unhealthy" || bad "rs-health secondary: $out"
out=$(rs_health primary 2>&1)
[ "$out" = 'exit=0 initiated=null' ] && ok "rs-health.js: the primary is healthy" || bad "rs-health primary: $out"

# ---------------------------------------------------------------- docs/systemd units
# systemd-analyze verify with ExecStart pointed at the built binaries (it checks they exist), the
# agent template as an instance; the collector's offline security exposure must stay low.
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$run/systemd"
	sed "s|/usr/local/bin/|$build/collector/|" "$src/docs/systemd/heartwire-collector.service" \
		>"$run/systemd/heartwire-collector.service"
	sed "s|/usr/local/bin/|$build/agent/|" "$src/docs/systemd/heartwire-agent@.service" >"$run/systemd/heartwire-agent@s-42.service"
	for u in heartwire-collector.service heartwire-agent@s-42.service; do
		out=$(systemd-analyze verify --man=no "$run/systemd/$u" 2>&1)
		[ -z "$out" ] && ok "systemd-analyze verify $u: clean" || bad "systemd-analyze verify $u: $out"
	done
	score=$(systemd-analyze security --offline=true "$run/systemd/heartwire-collector.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ] && awk "BEGIN{exit !($score <= 2.0)}"; then ok "heartwire-collector.service exposure $score (<= 2.0)"; else
		bad "heartwire-collector.service exposure '$score'"
	fi
else
	bad "systemd-analyze is not installed: the units are not checked"
fi

echo "test_compose_config: $pass passed, $failed failed"
[ "$failed" = 0 ]
