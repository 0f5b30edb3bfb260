#!/usr/bin/env python3
"""Failover time through redis-py's Sentinel client: from kill -9 of the master
to the first write the client gets acknowledged afterwards, over R runs, for a
three-node Cache-Cat cluster (every node is a sentinel) and for Redis Sentinel
(redis-server, one replica and three sentinels from Debian's package, run as
`redis-server --sentinel`). Also counts acknowledged writes missing after each
failover. Rewrites the "## Failover" section of bench/RESULTS.md.

    python3 bench/failover.py --server target/release/cachecat --r 20

Every server process runs on CPU 1, the client on CPU 0.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

SOCKET_TIMEOUT = 0.5
# No hidden retries with backoff: the loop below retries at once. redis-py's
# default waits a second and more between attempts, on the sentinel
# connections too.
CLIENT = dict(socket_timeout=SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 0))
DOWN_AFTER_MS = 100
# Cache-Cat's Raft timings measured: (heartbeat ms, minimum election timeout
# ms). The first is the default.
TIMINGS = [(100, 500), (50, 150), (25, 75)]
FAILOVER_TIMEOUT_MS = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ping(port, secs=15):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            redis.Redis(port=port, socket_timeout=1, protocol=2).ping()
            return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on {port}")


class Procs:
    """Processes by name, started on CPU 1, killed by pid."""

    def __init__(self, workdir):
        self.workdir, self.argv, self.procs = workdir, {}, {}

    def start(self, name, argv, port):
        self.argv[name] = argv
        log = open(os.path.join(self.workdir, f"{name}.log"), "ab")
        self.procs[name] = subprocess.Popen(["taskset", "-c", "1", *argv], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        wait_ping(port)

    def kill9(self, name):
        p = self.procs[name]
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def stop(self):
        for name in self.procs:
            self.kill9(name)


class CacheCat:
    def __init__(self, server, workdir, heartbeat, election):
        self.label = f"Cache-Cat, 3 nodes, heartbeat {heartbeat} ms, election timeout {election}-{2 * election} ms"
        self.p = Procs(workdir)
        self.ports = [(free_port(), free_port()) for _ in range(3)]
        peers = []
        for i, (cp, rp) in enumerate(self.ports):
            peers += ["--peer", f"{i + 1}=127.0.0.1:{cp}:{rp}"]
        self.args = {}
        for i, (cp, rp) in enumerate(self.ports):
            d = os.path.join(workdir, f"n{i + 1}")
            os.makedirs(d)
            self.args[f"n{i}"] = ([server, "--port", str(cp), "--raft-port", str(rp), "--node-id",
                                   str(i + 1), "--dir", d, "--threads", "1",
                                   "--raft-heartbeat-ms", str(heartbeat),
                                   "--raft-election-timeout-ms", str(election), *peers], cp)
            self.p.start(f"n{i}", *self.args[f"n{i}"])
        self.sentinels = [("127.0.0.1", cp) for cp, _ in self.ports]

    def port(self, name):
        return self.args[name][1]

    def master(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for i, (cp, _) in enumerate(self.ports):
                try:
                    if redis.Redis(port=cp, socket_timeout=1).execute_command("ROLE")[0] == b"master":
                        return f"n{i}"
                except redis.RedisError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("no leader")

    def restore(self, name):
        self.p.start(name, *self.args[name])
        port = self.args[name][1]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # back as a follower that hears the leader
            try:
                m = redis.Redis(port=port, socket_timeout=1).sentinel_master("mymaster")
                if m["is_master"] and not m["is_sdown"]:
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not rejoin")


class RedisSentinel:
    def __init__(self, workdir):
        self.label = (f"Redis Sentinel: master, 1 replica, 3 sentinels (quorum 2), "
                      f"down-after-milliseconds {DOWN_AFTER_MS}, failover-timeout {FAILOVER_TIMEOUT_MS}")
        self.p = Procs(workdir)
        self.workdir = workdir
        self.data = {name: free_port() for name in ("a", "b")}
        self.args = {}
        for name, port in self.data.items():
            d = os.path.join(workdir, name)
            os.makedirs(d)
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--dir", d]
            self.args[name] = (argv, port)
            if name == "b":
                argv = argv + ["--replicaof", "127.0.0.1", str(self.data["a"])]
            self.p.start(name, argv, port)
        self.sentinel_ports = [free_port() for _ in range(3)]
        for i, sp in enumerate(self.sentinel_ports):
            conf = os.path.join(workdir, f"sentinel{i}.conf")
            with open(conf, "w") as f:
                f.write(f"port {sp}\nbind 127.0.0.1\n"
                        f"sentinel monitor mymaster 127.0.0.1 {self.data['a']} 2\n"
                        f"sentinel down-after-milliseconds mymaster {DOWN_AFTER_MS}\n"
                        f"sentinel failover-timeout mymaster {FAILOVER_TIMEOUT_MS}\n")
            self.p.start(f"s{i}", ["redis-server", conf, "--sentinel"], sp)
        self.sentinels = [("127.0.0.1", sp) for sp in self.sentinel_ports]
        self.wait_healthy(None)

    def addr(self):
        host, port = redis.Redis(port=self.sentinel_ports[0], socket_timeout=1).execute_command(
            "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
        return int(port)

    def port(self, name):
        return self.data[name]

    def master(self):
        port = self.addr()
        return next(n for n, p in self.data.items() if p == port)

    def wait_healthy(self, name, secs=60):
        """Every sentinel agrees on the master and sees one replica with a working link."""
        deadline = time.monotonic() + secs
        while time.monotonic() < deadline:
            try:
                ok = True
                for sp in self.sentinel_ports:
                    s = redis.Redis(port=sp, socket_timeout=1, decode_responses=True)
                    m = s.sentinel_master("mymaster")
                    good = [r for r in s.sentinel_slaves("mymaster")
                            if r["is_slave"] and not r["is_sdown"] and not r["is_odown"]
                            and r.get("master-link-status") == "ok"]
                    ok &= m["is_master"] and not m["is_sdown"] and len(good) == 1
                if ok:
                    return
            except (redis.RedisError, KeyError):
                pass
            time.sleep(0.2)
        raise RuntimeError("Redis Sentinel did not settle")

    def restore(self, name):
        argv, port = self.args[name]
        # Only once every sentinel names the new master: a master without
        # persistence that restarts before the sentinels notice would hand
        # its empty data set to the replica (Redis's documentation warns of
        # it). Back with no data, the sentinels make it a replica.
        deadline = time.monotonic() + 30
        while True:
            try:
                ports = {redis.Redis(port=sp, socket_timeout=1).sentinel_get_master_addr_by_name(
                    "mymaster")[1] for sp in self.sentinel_ports}
                if ports and port not in ports and len(ports) == 1:
                    break
            except (redis.RedisError, TypeError):
                pass
            assert time.monotonic() < deadline, "the sentinels did not move on"
            time.sleep(0.1)
        self.p.start(name, argv, port)
        self.wait_healthy(name)


def one_failover(system, run):
    s = Sentinel(system.sentinels, sentinel_kwargs=dict(CLIENT), **CLIENT)
    master = s.master_for("mymaster", **CLIENT)
    acked, i = {}, 0
    victim = system.master()
    killed_at = first_after = None
    deadline = time.monotonic() + 60
    after = 0
    while after < 50:
        assert time.monotonic() < deadline, "no write got through within 60 s"
        if killed_at is None and i >= 200:
            system.p.kill9(victim)
            killed_at = time.monotonic()
        key = f"fo:{run}:{i}"
        i += 1
        try:
            master.set(key, i)
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.ResponseError):
            continue
        acked[key] = i
        if killed_at is not None:
            after += 1
            if first_after is None:
                first_after = time.monotonic() - killed_at
    system.restore(victim)
    # Read back on the master the system names now, all keys at once.
    r = redis.Redis(port=system.port(system.master()), socket_timeout=5)
    keys = list(acked)
    got = []
    for i in range(0, len(keys), 100):
        got += r.mget(keys[i:i + 100])
    lost = sum(g != str(acked[k]).encode() for k, g in zip(keys, got))
    if lost:
        first = next(k for k, g in zip(keys, got) if g != str(acked[k]).encode())
        print(f"    lost, e.g. {first}; master now {system.master()}", flush=True)
    return first_after, lost, len(acked)


def measure(system, runs):
    times, lost, acked = [], 0, 0
    for run in range(runs):
        t, l, a = one_failover(system, run)
        times.append(t)
        lost += l
        acked += a
        print(f"  {run + 1}/{runs}: first write {t:.3f} s after kill -9, {l} of {a} acknowledged writes lost",
              flush=True)
    return times, lost, acked


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="target/release/cachecat")
    ap.add_argument("--r", type=int, default=20)
    ap.add_argument("--out", default="bench/RESULTS.md")
    ap.add_argument("--only-redis", action="store_true", help="measure Redis Sentinel alone (no report)")
    opts = ap.parse_args()
    os.sched_setaffinity(0, {0})
    server = os.path.abspath(opts.server)
    results = []
    configs = [] if opts.only_redis else [
        lambda w, hb=hb, el=el: CacheCat(server, w, hb, el) for hb, el in TIMINGS]
    configs.append(lambda w: RedisSentinel(w))
    for make in configs:
        workdir = tempfile.mkdtemp(prefix="failover-")
        system = make(workdir)
        try:
            print(system.label, flush=True)
            results.append((system.label, *measure(system, opts.r)))
        finally:
            system.p.stop()
            if os.environ.get("FAILOVER_KEEP"):
                print(f"logs kept in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    if not opts.only_redis:
        write(opts, results)


def write(opts, results):
    redis_median = statistics.median(results[-1][1])
    lines = ["## Failover", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: "
             f"`python3 bench/failover.py --r {opts.r}`",
             "- time from `kill -9` of the master to the first write acknowledged through redis-py's "
             f"Sentinel client, {opts.r} runs each; the client writes in a loop and retries at once, "
             f"socket timeouts {SOCKET_TIMEOUT} s on the master and sentinel connections, redis-py's "
             "retries off (`Retry(NoBackoff(), 0)`); servers on CPU 1, client on CPU 0",
             "- lost: acknowledged writes missing after the failover (read back once the killed "
             "process is back)", "",
             "| system | median s | worst s | median / Redis Sentinel's | lost / acknowledged |",
             "|---|---:|---:|---:|---:|"]
    for label, times, lost, acked in results:
        med = statistics.median(times)
        lines.append(f"| {label} | {med:.3f} | {max(times):.3f} | {med / redis_median:.2f} | "
                     f"{lost} / {acked} |")
    if results[-1][2]:
        lines += ["", "Redis Sentinel's losses: the killed master is restarted, without data, once every "
                  "sentinel names the new master. In the runs that lost writes the sentinels flagged the "
                  f"just-promoted replica down (down-after-milliseconds {DOWN_AFTER_MS}) and failed back to "
                  "the restarted old master, whose empty data set the other server then copied: every "
                  "write of the run was gone. Asynchronous replication alone loses only the last writes "
                  "before the kill."]
    section = "\n".join(lines) + "\n"
    text = open(opts.out).read() if os.path.exists(opts.out) else ""
    text = re.sub(r"\n## Failover\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n"
    with open(opts.out, "w") as f:
        f.write(text + section)
    print(section)


if __name__ == "__main__":
    main()
