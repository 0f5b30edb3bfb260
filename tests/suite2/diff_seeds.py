#!/usr/bin/env python3
"""More differential runs: other seeds, longer generated sequences, and both
one thread (everything on one shard) and two (keys spread over shards).

    python3 tests/suite2/diff_seeds.py --server target/release/cachecat
"""
import argparse
import os
import subprocess
import sys

RUNS = [
    ["--threads", "1", "--seed", "7", "--count", "1000"],
    ["--threads", "2", "--seed", "11", "--count", "1500"],
    ["--threads", "2", "--seed", "13", "--count", "1500"],
]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--server", default="target/release/cachecat")
    args = p.parse_args()
    diff = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diff.py")
    passed = failed = 0
    for extra in RUNS:
        print("--- diff.py", " ".join(extra), flush=True)
        rc = subprocess.call([sys.executable, diff, "--server", args.server] + extra)
        if rc == 0:
            passed += 1
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
