#!/usr/bin/env python3
"""ioredis (from npm, default settings, `sentinels: [...]`) against a three-node
Cache-Cat cluster: it keeps writing across a kill -9 of the leader and then
across SENTINEL FAILOVER (the leader steps down and closes its clients),
reaches each new leader without any client-side workaround, and every
acknowledged write is there afterwards. Needs node and npm; ioredis is installed under
target/npm on first use.

    python3 tests/suite2/sentinel_ioredis.py --server target/release/cachecat
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import redis

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from _cluster import Cluster  # noqa: E402

NPM_DIR = os.path.join(here, "..", "..", "target", "npm")
RUN_SECONDS = 14
KILL_AT = 3
FAILOVER_AT = 9


def ensure_ioredis():
    if os.path.isdir(os.path.join(NPM_DIR, "node_modules", "ioredis")):
        return
    os.makedirs(NPM_DIR, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", NPM_DIR,
                    "ioredis@5"], check=True, timeout=300)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="target/release/cachecat")
    opts = ap.parse_args()
    if not shutil.which("node") or not shutil.which("npm"):
        print("node and npm are needed (apt-get install nodejs npm)")
        print("0 passed, 1 failed")
        sys.exit(1)
    ensure_ioredis()
    failed = 0
    cl = Cluster(opts.server)
    try:
        old = cl.leader()
        env = dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules"))
        ports = ",".join(str(cl.port(i)) for i in range(3))
        writer = subprocess.Popen(["node", os.path.join(here, "_ioredis_writer.js"), ports, str(RUN_SECONDS)],
                                  stdout=subprocess.PIPE, env=env, text=True)
        timer = threading.Timer(KILL_AT, cl.kill9, args=(old,))
        timer.start()
        moved = {}

        def failover():
            # Sent to a node that is not the leader: passed on to it.
            leader = cl.leader()
            moved["from"] = leader
            other = next(i for i in range(3) if i not in (leader, old))
            moved["reply"] = redis.Redis(port=cl.port(other), protocol=2).execute_command(
                "SENTINEL", "FAILOVER", "mymaster")

        timer2 = threading.Timer(FAILOVER_AT, failover)
        timer2.start()
        out, _ = writer.communicate(timeout=RUN_SECONDS + 60)
        timer.join()
        timer2.join()
        assert writer.returncode == 0, f"the ioredis writer failed ({writer.returncode})"
        assert moved.get("reply") in (b"OK", "OK", True), moved
        result = json.loads(out.strip().splitlines()[-1])
        acked = result["acked"]
        after = [a for a in acked if a[2] > KILL_AT * 1000]
        after_failover = [a for a in acked if a[2] > FAILOVER_AT * 1000 + 500]
        new = cl.leader()
        assert new != old and new != moved["from"], (old, moved, new)
        r = redis.Redis(port=cl.port(new), protocol=2)
        missing = [k for k, v, _ in acked if r.get(k) != v.encode()]
        first = min((t for _, _, t in after), default=None)
        print(f"  {len(acked)} writes acknowledged, {len(after)} after the kill "
              f"(the first {(first - KILL_AT * 1000) / 1000 if first else float('nan'):.3f} s after it), "
              f"errors seen: {result['errors']}")
        assert len(after) > 100, "ioredis did not reach the new leader"
        assert len(after_failover) > 100, "ioredis did not follow SENTINEL FAILOVER"
        assert not missing, f"{len(missing)} acknowledged writes missing, e.g. {missing[:3]}"
        print("ok ioredis follows the leader across kill -9 and SENTINEL FAILOVER")
    except Exception as e:
        failed += 1
        print(f"FAILED ioredis follows the leader across kill -9 and SENTINEL FAILOVER: {e!r}")
    finally:
        cl.stop()
    print(f"{1 - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
