#!/usr/bin/env bash
# Paired redis-benchmark comparison of cachecat against redis-server on this
# machine; overwrites bench/RESULTS.md.  Needs 2+ CPUs, redis-server,
# redis-benchmark (redis-tools) and a release build.
#   bash bench/run.sh [path/to/cachecat]           (default target/release/cachecat)
#   N=500000 R=5 bash bench/run.sh                 N requests per run, R paired runs
# The work is in bench/compare.py (see its docstring for the pinning scheme).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server=${1:-target/release/cachecat}

exec python3 "$here/compare.py" --server "$server" --n "${N:-200000}" --r "${R:-3}" --out "$here/RESULTS.md"
