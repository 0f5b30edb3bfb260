"""A three-node Cache-Cat cluster on loopback for the client tests: each node
its own process (killed and restarted by pid), ports and data directory."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import redis

from diff import free_port


class Cluster:
    def __init__(self, server, n=3, extra=()):
        self.server = os.path.abspath(server)
        self.workdir = tempfile.mkdtemp(prefix="cachecat-cluster-")
        self.ports = [(free_port(), free_port()) for _ in range(n)]
        peers = []
        for i, (cp, rp) in enumerate(self.ports):
            peers += ["--peer", f"{i + 1}=127.0.0.1:{cp}:{rp}"]
        self.argv = []
        for i, (cp, rp) in enumerate(self.ports):
            d = os.path.join(self.workdir, f"n{i + 1}")
            os.makedirs(d)
            self.argv.append([self.server, "--port", str(cp), "--raft-port", str(rp),
                              "--node-id", str(i + 1), "--dir", d, "--threads", "1",
                              *peers, *extra])
        self.procs = [None] * n
        for i in range(n):
            self.start(i)

    def start(self, i):
        log = open(os.path.join(self.workdir, f"n{i + 1}.log"), "ab")
        self.procs[i] = subprocess.Popen(self.argv[i], stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port(i), protocol=2, socket_timeout=1).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"node {i + 1} did not start")

    def port(self, i):
        return self.ports[i][0]

    def kill9(self, i):
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()

    def leader(self, timeout=15):
        """The index of the node whose ROLE says master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(len(self.ports)):
                if self.procs[i].poll() is not None:
                    continue
                try:
                    role = redis.Redis(port=self.port(i), protocol=2, socket_timeout=1).execute_command("ROLE")
                    if role[0] in (b"master", "master"):
                        return i
                except redis.RedisError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("no leader")

    def sentinels(self):
        return [("127.0.0.1", self.port(i)) for i in range(len(self.ports))]

    def stop(self):
        for i in range(len(self.procs)):
            self.kill9(i)
        shutil.rmtree(self.workdir, ignore_errors=True)
