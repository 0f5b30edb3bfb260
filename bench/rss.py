#!/usr/bin/env python3
"""Peak memory of cachecat against redis-server holding the same data.

For each dataset a fresh server of each kind (cachecat with --threads 1) is
started, loaded over a pipelined connection, and its peak resident set
(VmHWM) and current one (VmRSS) are read from /proc. Datasets:

- strings: 1M keys, 100-byte values (SET key:N <100 bytes>)
- list:    one list of 1M 100-byte elements (RPUSH in batches)
- set:     one set of 1M 100-byte members (SADD in batches)
- zset:    one sorted set of 1M 100-byte members with distinct scores

    python3 bench/rss.py [--server target/release/cachecat] [--n 1000000] [--out bench/RSS.md]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import enc, free_port, start_server  # noqa: E402


def value(i, width=100):
    s = b"%d:" % i
    return s + b"x" * (width - len(s))


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def pipeline(self, cmds):
        """Send the commands, read as many replies; fail on any error."""
        self.s.sendall(b"".join(cmds))
        replies = 0
        while replies < len(cmds):
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise SystemExit("server closed the connection while loading")
            self.buf += chunk
            # Every reply of these commands is one line (+OK, :n).
            *lines, self.buf = self.buf.split(b"\r\n")
            for line in lines:
                if line.startswith(b"-"):
                    raise SystemExit(f"error while loading: {line!r}")
                replies += 1


def load(port, dataset, n):
    c = Conn(port)
    batch = 1000
    for start in range(0, n, batch):
        idx = range(start, min(n, start + batch))
        if dataset == "strings":
            cmds = [enc(b"SET", b"key:%d" % i, value(i)) for i in idx]
        elif dataset == "list":
            cmds = [enc(b"RPUSH", b"biglist", *[value(i) for i in idx])]
        elif dataset == "set":
            cmds = [enc(b"SADD", b"bigset", *[value(i) for i in idx])]
        else:
            flat = []
            for i in idx:
                flat += [str(i).encode(), value(i)]
            cmds = [enc(b"ZADD", b"bigzset", *flat)]
        c.pipeline(cmds)


def mem_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0])
    return out


def measure(argv_for, dataset, n, workdir):
    port = free_port()
    d = tempfile.mkdtemp(dir=workdir)
    proc = start_server(argv_for(port, d))
    try:
        base = mem_kib(proc.pid)["VmRSS"]
        t0 = time.time()
        load(port, dataset, n)
        took = time.time() - t0
        time.sleep(0.5)
        m = mem_kib(proc.pid)
        return m["VmHWM"], m["VmRSS"], base, took
    finally:
        proc.kill()
        proc.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--datasets", default="strings,list,set,zset")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "RSS.md"))
    opts = p.parse_args()
    server = os.path.abspath(opts.server)

    def redis(port, d):
        return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", d]

    def cachecat(port, d):
        return [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", d, "--threads", "1"]

    workdir = tempfile.mkdtemp(prefix="cachecat-rss-")
    rows = []
    try:
        for ds in opts.datasets.split(","):
            r = measure(redis, ds, opts.n, workdir)
            c = measure(cachecat, ds, opts.n, workdir)
            rows.append((ds, r, c))
            print(f"{ds:8} redis peak {r[0] / 1024:8.1f} MiB  cachecat peak {c[0] / 1024:8.1f} MiB  "
                  f"ratio {c[0] / r[0]:.2f}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ver = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    lines = ["# Memory: cachecat vs redis-server", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {ver}",
             f"- {opts.n:,} elements of 100 bytes per dataset, loaded over one pipelined connection into a "
             "fresh server; cachecat with --threads 1; redis-server with no persistence",
             "- peak = VmHWM, after = VmRSS half a second after loading; empty = VmRSS before loading",
             "- command: `python3 bench/rss.py`", "",
             "| dataset | redis peak MiB | cachecat peak MiB | ratio (peak) | redis after MiB | cachecat after MiB "
             "| redis empty MiB | cachecat empty MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for ds, r, c in rows:
        lines.append(f"| {ds} | {r[0] / 1024:.1f} | {c[0] / 1024:.1f} | {c[0] / r[0]:.2f} | {r[1] / 1024:.1f} "
                     f"| {c[1] / 1024:.1f} | {r[2] / 1024:.1f} | {c[2] / 1024:.1f} |")
    with open(opts.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
