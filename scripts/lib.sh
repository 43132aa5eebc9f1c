# lib.sh: helpers the heartwire scripts share (sourced, not run).

hw_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# hw_build DIR [cmake args...]: configures (once) and builds heartwire into DIR.
hw_build() {
	local dir=$1
	shift
	if [ ! -f "$dir/CMakeCache.txt" ]; then
		cmake -S "$hw_root" -B "$dir" "$@" >/dev/null
	fi
	cmake --build "$dir" -j"$(nproc)"
}

# hw_ferretdb: prints the path of the FerretDB binary, or nothing.
hw_ferretdb() {
	if [ -n "${HEARTWIRE_FERRETDB:-}" ]; then
		echo "$HEARTWIRE_FERRETDB"
	elif command -v ferretdb >/dev/null 2>&1; then
		command -v ferretdb
	elif command -v go >/dev/null 2>&1 && [ -x "$(go env GOPATH)/bin/ferretdb" ]; then
		echo "$(go env GOPATH)/bin/ferretdb"
	fi
}

# hw_free_port: prints a free TCP port on 127.0.0.1.
hw_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

# hw_wait_port PORT SECONDS: waits until something listens on 127.0.0.1:PORT.
hw_wait_port() {
	local port=$1 deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
