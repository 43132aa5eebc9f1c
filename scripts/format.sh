#!/usr/bin/env bash
# format.sh: formats heartwire's C sources: clang-format (the committed .clang-format), then one
# pass that clang-format cannot do itself: STYLE.md's braces without a space, `if(x){`,
# `}else{`, `do{`, `}while(` (clang-format always writes `) {`).
#
#   scripts/format.sh           rewrite every tracked .c/.h file in place
#   scripts/format.sh --check   change nothing; list the files that are not formatted, exit 1 if any
#                               (scripts/test.sh runs this first)
#
# Tables whose columns carry meaning (option tables, state tables, test case tables) are fenced
# with /* clang-format off */ ... /* clang-format on */.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v clang-format >/dev/null 2>&1 || { echo "format: clang-format is not installed (scripts/install-deps.sh)"; exit 1; }

# clang-format's output with the brace pass, on stdout
fmt() {
	clang-format --style=file "$1" | sed -E \
		-e 's/\) \{$/){/' \
		-e 's/^(\s*)\} else \{$/\1}else{/' \
		-e 's/^(\s*)\} else if\(/\1}else if(/' \
		-e 's/ else \{$/ else{/' \
		-e 's/^(\s*)do \{$/\1do{/' \
		-e 's/^(\s*)\} while\(/\1}while(/'
}

mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = --check ]; then
	bad=()
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		fmt "$f" | cmp -s - "$f" || bad+=("$f")
	done
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'format: %d file(s) are not formatted; run scripts/format.sh (first differences below):\n' "${#bad[@]}"
		for f in "${bad[@]}"; do
			printf '  %s\n' "$f"
		done
		fmt "${bad[0]}" | diff "${bad[0]}" - | head -20 || true
		exit 1
	fi
	echo "format: ${#files[@]} files formatted"
else
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		fmt "$f" >"$tmp"
		cmp -s "$tmp" "$f" || cat "$tmp" >"$f"
	done
fi
