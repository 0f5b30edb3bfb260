#!/usr/bin/env python3
"""Write throughput and latency of replicated configurations, same run, same machine.

Servers, each started fresh, all on CPU 1 (cachecat with --cpus 1, the others with
taskset), the load generator (bench/loadgen, one thread per connection, N requests
in flight per connection) on CPU 0:

  redis-always    redis-server --appendonly yes --appendfsync always
  cachecat-1      one cachecat node (--appendfsync always, the default)
  cachecat-3      three cachecat nodes on loopback, load on the leader
  etcd-3          three etcd nodes (Debian's etcd-server), load on the leader as gRPC
                  KV/Put calls (etcd's native protocol), the same connections, each
                  with -P calls in flight as concurrent HTTP/2 streams
  redis-no        redis-server --appendonly yes --appendfsync no
  cachecat-1-no   one cachecat node --appendfsync no

Each (server, -P) is run R times in rotation; the median rps is shown with the
p50/p99 latency of that median run (HDR histogram) and, for cachecat, fdatasyncs
per second on the node taking the load (INFO raft). The result replaces the
"## Replicated writes" section of bench/RESULTS.md.

    python3 bench/raft.py [--server target/release/cachecat] [--n 100000] [--r 3]
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import enc, free_port  # noqa: E402

LOADGEN = "target/release/loadgen"


def wait_port(port, proc, secs=20):
    deadline = time.time() + secs
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _parse(data, i=0):
    """End offset of the RESP value starting at data[i], or None if incomplete."""
    j = data.find(b"\r\n", i)
    if j < 0:
        return None
    kind, head = data[i:i + 1], data[i + 1:j]
    if kind in b"+-:_,#":
        return j + 2
    n = int(head)
    if kind in b"$=!":
        end = j + 2 + max(n, 0) + (2 if n >= 0 else 0)
        return end if len(data) >= end else None
    count = n * 2 if kind == b"%" else n
    k = j + 2
    for _ in range(max(count, 0)):
        k = _parse(data, k)
        if k is None:
            return None
    return k


def resp(port, *args):
    """One command, its whole reply as text."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(enc(*args))
        data = b""
        while _parse(data) is None if data else True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


class Group:
    """One configuration: its processes and the port the load goes to."""

    def __init__(self, key, label, procs, port, info_port=None):
        self.key, self.label, self.procs, self.port = key, label, procs, port
        self.info_port = info_port

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    def fsyncs(self):
        if self.info_port is None:
            return None
        m = re.search(r"raft_log_fsyncs:(\d+)", resp(self.info_port, "INFO", "raft"))
        return int(m.group(1)) if m else None


def spawn(argv, log):
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "w"))


def start_redis(workdir, fsync):
    port = free_port()
    d = os.path.join(workdir, f"redis-{fsync}")
    os.makedirs(d)
    p = spawn(["taskset", "-c", "1", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "yes", "--appendfsync", fsync, "--dir", d],
              os.path.join(d, "log"))
    assert wait_port(port, p), "redis did not start"
    return Group(f"redis-{fsync}", f"redis-server appendfsync {fsync}", [p], port)


def start_cachecat(server, workdir, nodes, fsync):
    ports = [(free_port(), free_port()) for _ in range(nodes)]
    peers = []
    if nodes > 1:
        for i, (cp, rp) in enumerate(ports):
            peers += ["--peer", f"{i + 1}=127.0.0.1:{cp}:{rp}"]
    procs = []
    for i, (cp, rp) in enumerate(ports):
        d = os.path.join(workdir, f"cachecat-{nodes}-{fsync}-{i}")
        os.makedirs(d)
        procs.append(spawn([server, "--port", str(cp), "--raft-port", str(rp), "--node-id", str(i + 1),
                            "--dir", d, "--threads", "1", "--cpus", "1", "--appendfsync", fsync] + peers,
                           os.path.join(d, "log")))
    for (cp, _), p in zip(ports, procs):
        assert wait_port(cp, p), "cachecat did not start"
    deadline = time.time() + 20
    while True:
        for cp, _ in ports:
            if resp(cp, "ROLE").startswith("*3\r\n$6\r\nmaster"):
                key = f"cachecat-{nodes}" + ("" if fsync == "always" else f"-{fsync}")
                label = f"cachecat {nodes} node{'s' if nodes > 1 else ''}, appendfsync {fsync}"
                return Group(key, label, procs, cp, info_port=cp)
        if time.time() > deadline:
            raise SystemExit("no cachecat leader")
        time.sleep(0.1)


def start_etcd(workdir):
    ports = [(free_port(), free_port()) for _ in range(3)]
    cluster = ",".join(f"e{i}=http://127.0.0.1:{pp}" for i, (_, pp) in enumerate(ports))
    procs = []
    for i, (cp, pp) in enumerate(ports):
        d = os.path.join(workdir, f"etcd-{i}")
        procs.append(spawn(["taskset", "-c", "1", "etcd", "--name", f"e{i}", "--data-dir", d,
                            "--listen-client-urls", f"http://127.0.0.1:{cp}",
                            "--advertise-client-urls", f"http://127.0.0.1:{cp}",
                            "--listen-peer-urls", f"http://127.0.0.1:{pp}",
                            "--initial-advertise-peer-urls", f"http://127.0.0.1:{pp}",
                            "--initial-cluster", cluster, "--initial-cluster-state", "new"],
                           os.path.join(workdir, f"etcd-{i}.log")))
    deadline = time.time() + 30
    while time.time() < deadline:
        for cp, _ in ports:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{cp}/v3/maintenance/status", data=b"{}")
                st = json.load(urllib.request.urlopen(req, timeout=2))
                if st.get("leader") and st["leader"] == st["header"]["member_id"]:
                    return Group("etcd-3", "etcd 3 nodes", procs, cp)
            except OSError:
                pass
        time.sleep(0.2)
    raise SystemExit("no etcd leader")


def load(group, proto, pipeline, opts):
    argv = ["taskset", "-c", "0", os.path.abspath(opts.loadgen), "--proto", proto, "--port", str(group.port),
            "--clients", str(opts.clients), "--pipeline", str(pipeline), "--requests", str(opts.n)]
    f0, t0 = group.fsyncs(), time.time()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    secs = time.time() - t0
    f1 = group.fsyncs()
    if out.returncode != 0:
        raise SystemExit(f"loadgen failed on {group.label}: {out.stderr[-500:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    r["fsyncs_per_s"] = None if f0 is None else (f1 - f0) / secs
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat")
    p.add_argument("--loadgen", default=LOADGEN)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--etcd-n", type=int, default=20_000, help="requests per etcd run (it is slower)")
    p.add_argument("--r", type=int, default=3)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--out", default="bench/RESULTS.md")
    p.add_argument("--only", default="", help="comma-separated configurations to run (e.g. redis-always,cachecat-1); "
                   "the default runs all of them")
    opts = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for tool in ("redis-server", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found")
    for path in (opts.server, opts.loadgen):
        if not os.access(path, os.X_OK):
            sys.exit(f"{path} missing: cargo build --release --workspace")
    server = os.path.abspath(opts.server)
    workdir = tempfile.mkdtemp(prefix="cachecat-raft-bench-")
    pipelines = [int(x) for x in opts.pipelines.split(",")]
    groups = []
    results = {}
    try:
        only = set(filter(None, opts.only.split(",")))
        starts = [
            ("redis-always", lambda: start_redis(workdir, "always")),
            ("cachecat-1", lambda: start_cachecat(server, workdir, 1, "always")),
            ("cachecat-3", lambda: start_cachecat(server, workdir, 3, "always")),
            ("etcd-3", lambda: start_etcd(workdir) if shutil.which("etcd") else None),
            ("redis-no", lambda: start_redis(workdir, "no")),
            ("cachecat-1-no", lambda: start_cachecat(server, workdir, 1, "no")),
        ]
        for key, start in starts:
            if not only or key in only:
                g = start()
                if g is not None:
                    groups.append(g)
        for pipe in pipelines:
            for rep in range(opts.r):
                for g in groups:
                    o = argparse.Namespace(**vars(opts))
                    proto = "resp"
                    if g.key == "etcd-3":
                        proto, o.n = "etcd-grpc", opts.etcd_n
                    r = load(g, proto, pipe, o)
                    results.setdefault((g.key, pipe), []).append(r)
                    print(f"{g.label} -P {pipe} run {rep + 1}: {r}", file=sys.stderr)
    finally:
        for g in groups:
            g.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    write(opts, groups, pipelines, results)


def write(opts, groups, pipelines, results):
    def med(key, pipe):
        runs = results.get((key, pipe))
        if not runs:
            return None
        runs = sorted(runs, key=lambda r: r["rps"])
        return runs[len(runs) // 2]

    def ratio(a, b):
        return "n/a" if not a or not b else f"{a['rps'] / b['rps']:.2f}"

    lines = ["## Replicated writes", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: "
             f"`python3 bench/raft.py --n {opts.n} --r {opts.r}`",
             f"- SET of 3-byte values over 100000 keys, {opts.clients} connections, -P requests in "
             "flight per connection, generator bench/loadgen on CPU 0; every server process on CPU 1 "
             "(three-node clusters share it); median of "
             f"{opts.r} runs, latency of that run (HDR histogram)",
             "- etcd takes the same puts as gRPC `KV/Put` calls, -P concurrent HTTP/2 streams per "
             "connection (until 2026-11-27 they went through its JSON gateway, which answers an "
             "HTTP/1.1 connection's requests one at a time: etcd ran at -P 1 in the -P 16 rows)", "",
             "| configuration | -P | writes/s | p50 ms | p99 ms | fdatasyncs/s |",
             "|---|---:|---:|---:|---:|---:|"]
    for g in groups:
        for pipe in pipelines:
            m = med(g.key, pipe)
            if not m:
                continue
            fs = "" if m["fsyncs_per_s"] is None else f"{m['fsyncs_per_s']:,.0f}"
            lines.append(f"| {g.label} | {pipe} | {m['rps']:,.0f} | {m['p50_us'] / 1000:.2f} | "
                         f"{m['p99_us'] / 1000:.2f} | {fs} |")
    lines += ["", "| ratio | -P 1 | -P 16 |", "|---|---:|---:|"]
    pairs = [("(a) cachecat 1 node / redis always", "cachecat-1", "redis-always"),
             ("(b) cachecat 3 nodes / redis always", "cachecat-3", "redis-always"),
             ("(b) cachecat 3 nodes / etcd 3 nodes", "cachecat-3", "etcd-3"),
             ("cachecat 1 node no-fsync / redis appendfsync no", "cachecat-1-no", "redis-no")]
    for label, a, b in pairs:
        lines.append(f"| {label} | " + " | ".join(ratio(med(a, p), med(b, p)) for p in pipelines) + " |")
    section = "\n".join(lines) + "\n"
    text = open(opts.out).read() if os.path.exists(opts.out) else ""
    text = re.sub(r"\n## Replicated writes\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n\n"
    with open(opts.out, "w") as f:
        f.write(text + section)
    print(section)


if __name__ == "__main__":
    main()
