#!/usr/bin/env python3
"""Paired redis-benchmark comparison: redis-server vs cachecat, same run, same machine.

Three servers run side by side on free loopback ports:
  redis      taskset -c 1 redis-server --appendonly yes --appendfsync no   client: taskset -c 0
  cachecat1  cachecat --threads 1 --cpus 1 --appendfsync no     client: taskset -c 0
  cachecat2  cachecat --threads 2 --cpus 0,1 --appendfsync no   client: unpinned (shares both CPUs)
Both log every write without fsyncing it (like for like: cachecat is a one-node
Raft cluster whose log is written through O_DIRECT; redis appends to its AOF).
cachecat pins itself with --cpus because its executors ignore taskset.

For each (test, -P) the three are benchmarked in rotation R times, so slow
drifts of the machine (thermal, noisy neighbours) hit all of them alike; the
median rps of each is reported with cachecat/redis ratios in a markdown file.
Usually called by bench/run.sh.
"""
import argparse
import csv
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enc(*args):
    """One RESP request (the helper scripts load and disturb servers raw)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def start_server(argv):
    """Start a server whose argv names its --port; return it once it accepts
    connections (exit if it does not within 20 s)."""
    port = int(argv[argv.index("--port") + 1])
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit(f"server did not start: {shlex.join(argv)}")
            time.sleep(0.05)


class Server:
    def __init__(self, key, label, argv_for, client_prefix):
        self.key, self.label, self.argv_for, self.client_prefix = key, label, argv_for, client_prefix
        self.proc = self.port = self.argv = None

    def start(self, workdir):
        self.port = free_port()
        data_dir = tempfile.mkdtemp(prefix=f"{self.key}-", dir=workdir)
        self.argv = self.argv_for(self.port, data_dir)
        self.log = os.path.join(data_dir, "server.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    if s.recv(64):
                        return
            except OSError:
                time.sleep(0.05)
        with open(self.log, errors="replace") as f:
            tail = f.read()[-2000:]
        sys.exit(f"{self.label} did not start: {shlex.join(self.argv)}\n{tail}")

    def cpu_seconds(self):
        """utime+stime of the whole process (all threads): detects busy-polling while idle."""
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            return 0.0

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def bench_argv(server, test, pipeline, opts):
    return server.client_prefix + [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-t", test,
        "-c", str(opts.clients), "-n", str(opts.n), "-P", str(pipeline), "-q", "--csv"]


def run_bench(argv, timeout):
    """Returns (rps or None, error text).  redis-benchmark exits 1 on an error
    reply and hangs forever when it cannot connect, hence the timeout."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s"
    for row in csv.reader(out.stdout.splitlines()):
        if len(row) >= 2 and row[0] != "test":
            try:
                return float(row[1]), ""
            except ValueError:
                pass
    text = " | ".join(l.strip() for l in (out.stderr + out.stdout).splitlines() if l.strip())
    return None, f"exit {out.returncode}: {text[-300:]}"


def fmt_rps(x):
    return "n/a" if x is None else f"{x:,.0f}"


def fmt_ratio(x, base):
    return "n/a" if x is None or not base else f"{x / base:.2f}"


def shown(cmd, opts):
    """A command line as the report shows it: the server binary as given, the
    scratch directory as $WORKDIR (no paths of the machine it ran on)."""
    cmd = cmd.replace(os.path.abspath(opts.server), opts.server)
    return re.sub(r"/\S*cachecat-bench-[^/\s]+", "$WORKDIR", cmd)


def write_results(path, opts, servers, cells, errors, idle_cpu, bench_lines):
    redis_v = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    lines = [
        "# cachecat vs redis-server (redis-benchmark)", "",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- nproc: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()}, "
        f"kernel: {platform.release()}, {' '.join(redis_v[:3])}",
        f"- {opts.clients} clients, -n {opts.n}, {opts.r} paired runs per cell (median shown); "
        "both log every write without fsync (redis appendonly yes appendfsync no, cachecat --appendfsync no); "
        "redis and cachecat(1 thread) on CPU 1 with the client on CPU 0; "
        "cachecat(2 threads) on CPUs 0,1 with the client unpinned, so client and server share both CPUs", "",
        "| test | -P | redis rps | cachecat (1 thread) rps | ratio | cachecat (2 threads) rps | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for (test, pipe), samples in cells.items():
        med = {k: (statistics.median(v) if v else None) for k, v in samples.items()}
        base = med["redis"]
        lines.append(f"| {test.upper()} | {pipe} | {fmt_rps(base)} | {fmt_rps(med['cachecat1'])} | "
                     f"{fmt_ratio(med['cachecat1'], base)} | {fmt_rps(med['cachecat2'])} | "
                     f"{fmt_ratio(med['cachecat2'], base)} |")
    lines += ["", "redis-benchmark without -r sends its placeholders literally: every SADD and ZADD "
              "adds the member that is already there, and SPOP finds the set empty after the first. "
              "Redis appends nothing to its AOF for a command that changed nothing; Cache-Cat logs "
              "every write before its outcome is known (the Raft log carries commands, decided when "
              "applied), and an operation takes more log bytes than its AOF line (an archived SET "
              "about 52 bytes, a one-member ZADD about 131, against 35 to 55 bytes of RESP), so the -P 16 rows of those three measure log "
              "volume as much as command cost."]
    lines += ["", "## Command lines", "", "```"]
    lines += [shown(shlex.join(s.argv), opts) for s in servers]
    lines += bench_lines + ["```", "",
                            "Ports are picked free per run; TEST and PIPELINE vary per cell "
                            "(MSET sets 10 keys per request).", "",
                            "## Raw samples (rps, in run order)", "",
                            "| test | -P | redis | cachecat (1 thread) | cachecat (2 threads) |",
                            "|---|---:|---|---|---|"]
    for (test, pipe), samples in cells.items():
        lines.append(f"| {test.upper()} | {pipe} | " + " | ".join(
            ", ".join(fmt_rps(x) for x in samples[s.key]) or "n/a" for s in servers) + " |")
    lines += ["", "CPU seconds each server used while another one was being benchmarked "
              "(should be ~0; more means it spins when idle and skews the others): "
              + ", ".join(f"{s.label} {idle_cpu[s.key]:.2f}s" for s in servers)]
    if errors:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in errors[:50]]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat")
    p.add_argument("--n", type=int, default=200_000, help="requests per redis-benchmark run")
    p.add_argument("--r", type=int, default=3, help="paired runs per (test, -P)")
    p.add_argument("--tests", default="set,get,incr,hset,mset,lpush,rpop,sadd,spop,zadd")
    p.add_argument("--pipelines", default="1,16")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--out", default="bench/RESULTS.md")
    p.add_argument("--peer-is-redis", action="store_true", help=argparse.SUPPRESS)  # checks this script
    opts = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` kills the servers
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs at least 2 CPUs (server on CPU 1, client on CPU 0)")
    for tool in ("redis-server", "redis-benchmark", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found (apt-get install redis-server redis-tools util-linux)")
    cachecat = os.path.abspath(opts.server)
    if not opts.peer_is_redis and not os.access(cachecat, os.X_OK):
        sys.exit(f"no executable server at {opts.server}")

    def redis_argv(cpus):
        return lambda port, d: ["taskset", "-c", cpus, "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "yes", "--appendfsync", "no", "--daemonize", "no",
                                "--dir", d]

    def cachecat_argv(threads, cpus):
        if opts.peer_is_redis:
            return redis_argv(cpus)
        return lambda port, d: [cachecat, "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
                                "--threads", str(threads), "--cpus", cpus, "--appendfsync", "no"]

    pinned = ["taskset", "-c", "0"]
    servers = [Server("redis", "redis", redis_argv("1"), pinned),
               Server("cachecat1", "cachecat (1 thread)", cachecat_argv(1, "1"), pinned),
               Server("cachecat2", "cachecat (2 threads)", cachecat_argv(2, "0,1"), [])]
    tests = [t for t in opts.tests.split(",") if t]
    pipelines = [int(x) for x in opts.pipelines.split(",")]
    timeout = max(120, opts.n // 1000)
    workdir = tempfile.mkdtemp(prefix="cachecat-bench-")
    cells, errors = {}, []
    idle_cpu = {s.key: 0.0 for s in servers}
    try:
        for s in servers:
            s.start(workdir)
        total = len(tests) * len(pipelines) * opts.r * len(servers)
        done = 0
        for test in tests:
            for pipe in pipelines:
                samples = cells.setdefault((test, pipe), {s.key: [] for s in servers})
                for rep in range(opts.r):
                    for s in servers:  # rotation: redis, cachecat1, cachecat2, redis, ...
                        if s.proc.poll() is not None:
                            continue  # crashed earlier: its cells stay n/a, reported once below
                        before = {o.key: o.cpu_seconds() for o in servers}
                        rps, err = run_bench(bench_argv(s, test, pipe, opts), timeout)
                        for o in servers:
                            if o is not s:
                                idle_cpu[o.key] += o.cpu_seconds() - before[o.key]
                        done += 1
                        if rps is None:
                            errors.append(f"{s.label} {test} -P {pipe}: {err}")
                        else:
                            samples[s.key].append(rps)
                        print(f"[{done}/{total}] {test:5} -P {pipe:<3} {s.label:21} {fmt_rps(rps):>12} rps"
                              + (f"  ERROR {err}" if err else ""), flush=True)
                        if s.proc.poll() is not None:
                            with open(s.log, errors="replace") as f:
                                tail = " | ".join(f.read().splitlines()[-5:])
                            errors.append(f"{s.label} exited with code {s.proc.returncode} during {test} -P {pipe}; "
                                          f"log tail: {tail}")
        bench_lines = [shlex.join(bench_argv(s, "TEST", "PIPELINE", opts)) for s in servers]
        write_results(opts.out, opts, servers, cells, errors, idle_cpu, bench_lines)
    finally:
        for s in servers:
            s.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {opts.out}")
    with open(opts.out) as f:
        print(f.read())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
