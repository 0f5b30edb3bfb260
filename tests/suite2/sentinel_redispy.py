#!/usr/bin/env python3
"""redis-py 8's Sentinel client against a three-node Cache-Cat cluster, every
node given as a sentinel: it finds the leader, keeps writing across a kill -9
of the leader and across SENTINEL FAILOVER, and every acknowledged write is
there afterwards. A raw SUBSCRIBE +switch-master listener (as Jedis keeps one
per sentinel) learns the new address. Each client test runs with RESP3
(redis-py's default) and RESP2.

    python3 tests/suite2/sentinel_redispy.py --server target/release/cachecat
"""
import argparse
import os
import sys
import time
import traceback

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _cluster import Cluster  # noqa: E402

# The client settings the docs recommend: short timeouts, no hidden retries
# with backoff (redis-py's default waits up to a second and more between
# them); the application's loop retries, and the pool asks the sentinels
# again after a connection error.
TIMEOUT = 0.5


def client(cl, proto):
    quick = dict(socket_timeout=TIMEOUT, retry=Retry(NoBackoff(), 0), protocol=proto)
    s = Sentinel(cl.sentinels(), sentinel_kwargs=quick, **quick)
    return s, s.master_for("mymaster", **quick)


def write_through(master, disrupt, tag, before=100, after=100, limit=30):
    """SET unique keys through `master`; after `before` acknowledged writes
    call `disrupt`, then go on until `after` more are acknowledged. Returns
    the acknowledged writes and the seconds from the disruption to the first
    write acknowledged after it."""
    acked, i, n_after = {}, 0, 0
    disrupted_at = first_after = None
    deadline = time.monotonic() + limit
    while n_after < after:
        assert time.monotonic() < deadline, f"{tag}: only {n_after} writes after the disruption"
        if disrupted_at is None and len(acked) >= before:
            disrupt()
            disrupted_at = time.monotonic()
        key = f"{tag}:{i}"
        i += 1
        try:
            master.set(key, i)
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            time.sleep(0.01)  # outcome unknown or refused: the next write asks again
            continue
        except redis.ResponseError as e:
            assert "outcome unknown" in str(e) or str(e).startswith("MASTERDOWN"), e
            continue
        acked[key] = i
        if disrupted_at is not None:
            n_after += 1
            if first_after is None:
                first_after = time.monotonic() - disrupted_at
    return acked, first_after


def check_acked(master, acked):
    missing = [k for k, v in acked.items() if master.get(k) not in (str(v), str(v).encode())]
    assert not missing, f"{len(missing)} acknowledged writes missing, e.g. {missing[:3]}"


def survives_kill_of_the_leader(cl, proto):
    s, master = client(cl, proto)
    assert master.ping()
    old = cl.leader()
    acked, took = write_through(master, lambda: cl.kill9(old), f"kill{proto}")
    new = cl.leader()
    assert new != old
    host, port = s.discover_master("mymaster")
    assert (host, port) == ("127.0.0.1", cl.port(new)), (host, port)
    assert s.discover_slaves("mymaster") == []
    check_acked(master, acked)
    cl.start(old)
    print(f"  RESP{proto}: kill -9 of the leader: first write {took:.3f} s after, {len(acked)} acknowledged writes all present")


def survives_sentinel_failover(cl, proto):
    s, master = client(cl, proto)
    old = cl.leader()
    # Any node takes it; a follower passes it to the leader.
    follower = next(i for i in range(3) if i != old)
    sent = s.sentinels[follower]
    acked, took = write_through(master, lambda: sent.sentinel_failover("mymaster"), f"fo{proto}")
    new = cl.leader()
    assert new != old
    check_acked(master, acked)
    print(f"  RESP{proto}: SENTINEL FAILOVER: first write {took:.3f} s after, {len(acked)} acknowledged writes all present")


def master_state_as_sentinel_reports_it(cl, proto):
    s, _ = client(cl, proto)
    leader = cl.leader()
    for sent in s.sentinels:
        masters = sent.sentinel_masters()
        state = masters["mymaster"]
        assert state["is_master"] and not state["is_sdown"] and not state["is_odown"], state
        assert state["port"] == cl.port(leader), state
        assert state["num-other-sentinels"] == 2, state
        assert sent.sentinel_slaves("mymaster") == []
        assert len(sent.sentinel_sentinels("mymaster")) == 2
        host, port = sent.sentinel_get_master_addr_by_name("mymaster")
        assert (host, port) in ((b"127.0.0.1", cl.port(leader)), ("127.0.0.1", cl.port(leader))), (host, port)
        # redis-py reads only a bare OK as true; redis-sentinel says more.
        ok = sent.execute_command("SENTINEL", "CKQUORUM", "mymaster")
        # A follower counts itself and the leader it hears; the leader
        # counts the followers that acknowledged it lately.
        ok = ok.decode() if isinstance(ok, bytes) else ok
        assert ok is True or ok.startswith(("OK 2 usable", "OK 3 usable")), ok


def switch_master_listener(cl, proto):
    """As Jedis does: subscribe to +switch-master on every sentinel and move
    to the address the message names."""
    old = cl.leader()
    listeners = []
    for i in range(3):
        if i == old:
            continue
        p = redis.Redis(port=cl.port(i), protocol=proto, socket_timeout=5).pubsub()
        p.subscribe("+switch-master")
        assert p.get_message(timeout=2)["type"] == "subscribe"
        listeners.append(p)
    redis.Redis(port=cl.port(listeners and [i for i in range(3) if i != old][0]),
                protocol=proto).execute_command("SENTINEL", "FAILOVER", "mymaster")
    new = cl.leader()
    for p in listeners:
        deadline = time.monotonic() + 10
        msg = None
        while msg is None or msg["type"] != "message":
            assert time.monotonic() < deadline, "no +switch-master"
            msg = p.get_message(timeout=1)
        data = msg["data"].decode() if isinstance(msg["data"], bytes) else msg["data"]
        name, oip, oport, nip, nport = data.split()
        assert (name, int(oport), int(nport)) == ("mymaster", cl.port(old), cl.port(new)), data
        r = redis.Redis(host=nip, port=int(nport), protocol=proto)
        assert r.set("switched", "yes")
        p.close()


TESTS = [master_state_as_sentinel_reports_it, survives_kill_of_the_leader,
         survives_sentinel_failover, switch_master_listener]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="target/release/cachecat")
    opts = ap.parse_args()
    passed = failed = 0
    cl = Cluster(opts.server)
    try:
        cl.leader()
        for proto in (3, 2):
            for t in TESTS:
                name = f"{t.__name__} (RESP{proto})"
                try:
                    t(cl, proto)
                    passed += 1
                    print(f"ok {name}")
                except Exception:
                    failed += 1
                    print(f"FAILED {name}")
                    traceback.print_exc()
                # Every node up again before the next test.
                for i in range(3):
                    if cl.procs[i].poll() is not None:
                        cl.start(i)
    finally:
        cl.stop()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
