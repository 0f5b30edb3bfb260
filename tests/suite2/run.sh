#!/usr/bin/env bash
# Runs every test script in tests/suite2 against one server binary.
#   bash tests/suite2/run.sh [path/to/cachecat]     (default target/release/cachecat)
# Convention for new scripts: any tests/suite2/*.py not starting with "_" is a
# test; it takes --server PATH, prints 'N passed, N failed' last and exits
# non-zero on failure.  Helper modules go in _name.py so they are not run.
set -uo pipefail  # no -e: one failing script must not stop the others

server=${1:-target/release/cachecat}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$server" ] || { echo "run.sh: no executable server at $server" >&2; exit 2; }

failed=() ok=0
for script in "$here"/[!_]*.py; do
    name=$(basename "$script")
    echo "=== $name"
    start=$(date +%s%N)
    python3 "$script" --server "$server"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    took="$((ms / 1000)).$((ms % 1000 / 100))"
    if [ $rc -eq 0 ]; then ok=$((ok + 1)); verdict=ok; else failed+=("$name"); verdict="FAILED (exit $rc)"; fi
    echo "=== $name: $verdict in ${took}s"
done

[ ${#failed[@]} -eq 0 ] || echo "failed scripts: ${failed[*]}"
echo "suite2: $ok passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
