#!/usr/bin/env bash
# Paired comparisons of cachecat against redis-server (and etcd) on this
# machine; rewrites bench/RESULTS.md.  Needs 2+ CPUs, redis-server,
# redis-benchmark (redis-tools), optionally etcd (etcd-server), and a release
# build of the workspace (cargo build --release --workspace).
#   bash bench/run.sh [path/to/cachecat]           (default target/release/cachecat)
#   N=500000 R=5 bash bench/run.sh                 N requests per run, R paired runs
# bench/compare.py writes the per-command table (both sides log writes without
# fsync); bench/raft.py then adds the replicated-writes section.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
server=${1:-target/release/cachecat}

python3 "$here/compare.py" --server "$server" --n "${N:-200000}" --r "${R:-3}" --out "$here/RESULTS.md"
python3 "$here/raft.py" --server "$server" --n "${RAFT_N:-100000}" --r "${R:-3}" --out "$here/RESULTS.md"
