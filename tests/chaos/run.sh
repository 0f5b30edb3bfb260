#!/usr/bin/env bash
# The fault harness in CI: a short run with every nemesis and workload that
# must pass, then one run per planted bug (the `faults` build's switches)
# that must fail with the anomaly that bug causes. (Acknowledging before
# fdatasync loses acknowledged writes: a lost INCR shows as its value handed
# out twice.)
#   bash tests/chaos/run.sh short|switches [target/release]
# Needs root, iproute2 and nftables, and a release build with
# `--features faults` (it holds both cachecat and chaos).
set -uo pipefail

mode=${1:?usage: run.sh short|switches [bindir]}
bin=${2:-target/release}
out=${CHAOS_OUT:-target/chaos-ci}
mkdir -p "$out"

chaos() {  # chaos NAME ARGS... : one run into $out/NAME; its exit status
    local name=$1
    shift
    rm -rf "${out:?}/$name"
    "$bin/chaos" --server "$bin/cachecat" --out "$out/$name" "$@"
}

case $mode in
short)
    # About three minutes with every nemesis.
    chaos short --time 150 --fault-ms 3000 --quiet-ms 2000 \
        --nemesis kill,pause,partition,clock,member,power \
        --workload register,counter,list-append,set,txn,ttl
    ;;
switches)
    failed=0
    expect() {  # expect NAME PATTERN ARGS... : the run must exit 1 and report PATTERN
        local name=$1 pattern=$2 rc
        shift 2
        chaos "$name" "$@" > "$out/$name.log" 2>&1
        rc=$?
        if [ $rc -eq 1 ] && grep -Eq "$pattern" "$out/$name/anomalies.txt"; then
            echo "ok: $name caught ($(grep -Ec "$pattern" "$out/$name/anomalies.txt") anomalies matching '$pattern')"
        else
            echo "FAILED: $name: exit $rc, no anomaly matching '$pattern'"
            tail -5 "$out/$name.log"
            failed=$((failed + 1))
        fi
    }
    # A power loss on followers that acknowledged unsynced entries can also
    # leave their logs behind what the leader counted on: an `always` node
    # must never do that, so the leader does not refill them and the
    # cluster stops converging (a correct build never fails so).
    expect ack-before-fsync 'lost write|two INCRs returned|replicas did not converge' --time 40 --nemesis power \
        --workload counter,list-append,set --server-args "--faults-ack-before-fsync yes"
    expect follower-reads 'not linearizable|stale read' --time 15 --nemesis partition,pause \
        --workload register,list-append --server-args "--faults-follower-reads yes"
    # Stale reads happen only in the moments after a leader change (a node
    # elected before it applied its log serves what it has): many short
    # faults, many clients: about one leader change in seven shows one, so
    # 120 s (about 48 faults) leaves a miss very unlikely.
    expect reads-before-tick 'not linearizable|stale read|after an operation' --time 120 \
        --fault-ms 1500 --quiet-ms 1000 --nemesis kill,pause \
        --workload register,list-append,counter --workers-per-workload 4 \
        --server-args "--faults-reads-before-tick yes"
    expect local-expiry 'replica digests differ' --time 20 --nemesis clock \
        --workload ttl --server-args "--faults-local-expiry yes"
    echo "switch tests: $((4 - failed)) caught, $failed missed"
    [ $failed -eq 0 ]
    ;;
*)
    echo "usage: run.sh short|switches [bindir]" >&2
    exit 2
    ;;
esac
