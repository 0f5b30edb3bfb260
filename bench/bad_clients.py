#!/usr/bin/env python3
"""Does a well-behaved client keep its latency while others misbehave?

For cachecat (--threads 1 --cpus 1) and redis-server (taskset -c 1), each in
a fresh process, redis-benchmark (`-t get -c 10 -P 1`, pinned to CPU 0)
measures GET latency and throughput of well-behaved clients:

- baseline: nothing else connected;
- idle: 3000 idle connections, a third of them holding half a request;
- slow subscriber: a subscriber that never reads while another client
  publishes 16 KB messages to it (the subscriber is cut off at the
  pubsub output-buffer limit, set to 8 MB here);
- garbage: clients that connect, send 4 KB of random bytes and leave, in a loop.

The disturbing clients run in this process, so they share CPU 0 with
redis-benchmark, the same way for both servers. Writes bench/BAD_CLIENTS.md.

    python3 bench/bad_clients.py [--server target/release/cachecat]
"""
import argparse
import csv
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import enc, free_port, start_server  # noqa: E402


def bench(port, n):
    out = subprocess.run(["taskset", "-c", "0", "redis-benchmark", "-p", str(port), "-t", "get", "-c", "10",
                          "-n", str(n), "--csv"], capture_output=True, text=True, timeout=300).stdout
    rows = list(csv.reader(out.splitlines()))
    head, row = rows[0], rows[-1]
    d = dict(zip(head, row))
    return float(d["rps"]), float(d["p50_latency_ms"]), float(d["p99_latency_ms"]), float(d["max_latency_ms"])


class Disturb:
    """A background disturbance, started and stopped around a measurement."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.socks = []
        self.threads = []

    def idle(self):
        for i in range(3000):
            s = socket.create_connection(("127.0.0.1", self.port))
            if i % 3 == 1:
                s.sendall(b"*2\r\n$3\r\nGET\r\n")
            self.socks.append(s)

    def slow_subscriber(self):
        c = socket.create_connection(("127.0.0.1", self.port))
        c.sendall(enc("CONFIG", "SET", "client-output-buffer-limit", "pubsub 8mb 0 0"))
        c.recv(100)
        sub = socket.create_connection(("127.0.0.1", self.port))
        sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub.sendall(enc("SUBSCRIBE", "flood"))
        self.socks += [c, sub]
        payload = enc("PUBLISH", "flood", b"z" * 16384)

        def run():
            p = socket.create_connection(("127.0.0.1", self.port))
            while not self.stop.is_set():
                p.sendall(payload)
                p.recv(100)
                time.sleep(0.0005)
            p.close()
        self.threads.append(threading.Thread(target=run, daemon=True))

    def garbage(self):
        rng = random.Random(7)

        def run():
            while not self.stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", self.port))
                    s.sendall(bytes(rng.getrandbits(8) for _ in range(4096)))
                    s.close()
                except OSError:
                    pass
                time.sleep(0.002)
        self.threads.append(threading.Thread(target=run, daemon=True))

    def __enter__(self):
        for t in self.threads:
            t.start()
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        for s in self.socks:
            s.close()
        time.sleep(0.3)


SCENARIOS = ["baseline", "idle", "slow subscriber", "garbage"]


def measure_all(argv_for, n, workdir):
    results = {}
    for sc in SCENARIOS:
        port = free_port()
        d = tempfile.mkdtemp(dir=workdir)
        proc = start_server(argv_for(port, d))
        try:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(enc("SET", "key:__rand_int__", "x" * 100))
            s.recv(100)
            dist = Disturb(port)
            if sc == "idle":
                dist.idle()
            elif sc == "slow subscriber":
                dist.slow_subscriber()
            elif sc == "garbage":
                dist.garbage()
            with dist:
                results[sc] = bench(port, n)
            results[sc] = results[sc] + (proc.poll() is None,)
        finally:
            proc.kill()
            proc.wait()
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat")
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "BAD_CLIENTS.md"))
    opts = p.parse_args()
    server = os.path.abspath(opts.server)
    workdir = tempfile.mkdtemp(prefix="cachecat-bad-")
    try:
        redis = measure_all(lambda port, d: ["taskset", "-c", "1", "redis-server", "--port", str(port), "--bind",
                                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d,
                                             "--maxclients", "10000"], opts.n, workdir)
        cat = measure_all(lambda port, d: [server, "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
                                           "--threads", "1", "--cpus", "1"], opts.n, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = ["# Well-behaved clients while others misbehave", "",
             f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; command: `python3 bench/bad_clients.py`",
             f"- redis-benchmark -t get -c 10 -n {opts.n} pinned to CPU 0; servers on CPU 1 (cachecat "
             "--threads 1 --cpus 1); the disturbing clients share CPU 0 with redis-benchmark",
             "- scenarios: see the script's docstring; latencies in ms", "",
             "| scenario | redis rps | redis p50 | redis p99 | cachecat rps | cachecat p50 | cachecat p99 "
             "| cachecat max | rps ratio | server alive |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for sc in SCENARIOS:
        r, c = redis[sc], cat[sc]
        lines.append(f"| {sc} | {r[0]:,.0f} | {r[1]:.3f} | {r[2]:.3f} | {c[0]:,.0f} | {c[1]:.3f} | {c[2]:.3f} "
                     f"| {c[3]:.3f} | {c[0] / r[0]:.2f} | {'yes' if c[4] and r[4] else 'NO'} |")
    text = "\n".join(lines) + "\n"
    with open(opts.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
