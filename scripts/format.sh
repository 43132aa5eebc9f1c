#!/usr/bin/env bash
# format.sh: formats heartwire's C sources with clang-format (the committed .clang-format).
#
#   scripts/format.sh           rewrite every tracked .c/.h file in place
#   scripts/format.sh --check   change nothing; list the files clang-format would change, exit 1 if any
#
# Tables whose columns carry meaning (option tables, test case tables) are fenced with
# /* clang-format off */ ... /* clang-format on */.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v clang-format >/dev/null 2>&1 || { echo "format: clang-format is not installed (scripts/install-deps.sh)"; exit 1; }
mapfile -t files < <(git ls-files '*.c' '*.h')
if [ "${1:-}" = --check ]; then
	bad=()
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	if [ ${#bad[@]} -gt 0 ]; then
		printf 'format: clang-format would change %d file(s); run scripts/format.sh:\n' "${#bad[@]}"
		printf '  %s\n' "${bad[@]}"
		exit 1
	fi
	echo "format: ${#files[@]} files clean"
else
	clang-format -i "${files[@]}"
fi
