#!/usr/bin/env python3
"""Differential tester: cachecat versus a real redis-server, byte for byte.

Both servers get the same command sequences over raw sockets; every reply is
read with a small RESP2/RESP3 reader that keeps the exact bytes, and the bytes
are compared.  Stdlib only on purpose: a client library would hide exactly the
differences (framing, null kinds, map vs array) we want to see.

Replies that are legitimately different between two servers go through an
explicit per-command normaliser (see COMPARATORS).

    python3 tests/suite2/diff.py --server target/release/cachecat
    python3 tests/suite2/diff.py --only strings,hashes --seed 7 --count 2000
"""
import argparse
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _cases import CASES, X44, X45
from _gen import NOW, RANDOM, Gen  # NOW: one fixed "now" shared with the generators
from _coll import LIST_CASES, SET_CASES, gen_lists, gen_sets
from _coll_z import PUBSUB_CASES, SCAN_CASES, ZSET_CASES, gen_zsets

CASES.update({"lists": LIST_CASES, "sets": SET_CASES, "zsets": ZSET_CASES, "scan": SCAN_CASES,
              "pubsub": PUBSUB_CASES})
RANDOM.update({"lists": gen_lists, "sets": gen_sets, "zsets": gen_zsets})



# --------------------------------------------------------------------------
# RESP client side: encoder and a reader that keeps each reply's raw bytes
# --------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


@dataclass
class Reply:
    kind: str     # RESP type byte: + - : $ * _ , # ( = ! % ~ > (attributes are folded in)
    raw: bytes    # exact bytes on the wire, including nested replies
    value: object  # bytes for scalars, list[Reply] for aggregates (maps flattened k,v,...), None for nulls

    @property
    def is_error(self):
        return self.kind in "-!"


class Conn:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def close(self):
        self.sock.close()

    def send(self, args):
        self.sock.sendall(encode(args))

    def read(self):
        reply = self._parse()
        del self.buf[:self.pos]  # only compact between top-level replies: nested raw slices use offsets
        self.pos = 0
        return reply

    def call(self, args):
        self.send(args)
        return self.read()

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _line(self):
        while (end := self.buf.find(b"\r\n", self.pos)) < 0:
            self._fill()
        line = bytes(self.buf[self.pos:end])
        self.pos = end + 2
        return line

    def _exact(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return data

    def _parse(self):
        start = self.pos
        line = self._line()
        if not line:
            raise ProtocolError("empty line where a reply was expected")
        kind, body = chr(line[0]), line[1:]
        try:
            if kind in "+-:,#(":
                value = body
            elif kind == "_":
                value = None
            elif kind in "$=!":
                n = int(body)
                if n < 0:
                    value = None
                else:
                    data = self._exact(n + 2)
                    if data[-2:] != b"\r\n":
                        raise ProtocolError(f"bulk of {n} bytes not followed by CRLF")
                    value = data[:-2]
            elif kind in "*~>%|":
                n = int(body)
                count = 2 * n if kind in "%|" else n
                value = None if n < 0 else [self._parse() for _ in range(count)]
                if kind == "|":  # attribute: metadata that precedes the real reply
                    real = self._parse()
                    return Reply(real.kind, bytes(self.buf[start:self.pos]), real.value)
            else:
                raise ProtocolError(f"unknown RESP type byte in {line[:40]!r}")
        except ValueError:
            raise ProtocolError(f"bad length/number in {line[:40]!r}") from None
        return Reply(kind, bytes(self.buf[start:self.pos]), value)


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name, argv_for, workdir):
        self.name, self.argv_for, self.workdir = name, argv_for, workdir
        self.proc = None
        self.port = None
        self.log_path = None

    def start(self):
        for attempt in range(3):  # a free port can be taken again before the server binds it
            self.port = free_port()
            data_dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.workdir)
            self.log_path = Path(data_dir) / "server.log"
            self.argv = self.argv_for(self.port, data_dir)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    self.argv, cwd=data_dir, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)  # ctrl-c reaches us only; we kill it by pid
            if self._wait_ready():
                return
            self.kill()
        code = self.proc.returncode
        why = f"exited with code {code}" if code is not None else "no reply to PING within 15s"
        sys.exit(f"{self.name} did not start ({why}): {shlex.join(self.argv)}\n{self.log_tail()}")

    def _wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                c = Conn(self.port, 2)
                c.call(["PING"])  # any well-formed reply means it's serving
                c.close()
                return True
            except (OSError, ProtocolError):
                time.sleep(0.05)
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, n=20):
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
            return "\n".join("    | " + l for l in lines[-n:]) or "    | (empty log)"
        except OSError:
            return "    | (no log)"


# --------------------------------------------------------------------------
# Comparators: which differences are legitimate, per command
# --------------------------------------------------------------------------

def exact(a, b):
    return a.raw == b.raw


def same_shape(a, b):
    """Values legitimately differ (ids, clocks, random picks); type and arity must not."""
    if a.is_error or b.is_error:
        return exact(a, b)
    if a.kind != b.kind or (a.value is None) != (b.value is None):  # RESP2 nil is a `$` too
        return False
    if isinstance(a.value, list) or isinstance(b.value, list):
        return isinstance(a.value, list) and isinstance(b.value, list) and len(a.value) == len(b.value)
    return True


def approx(tolerance):
    """TTL-like integers: the two servers set and read the clock a few ms apart.
    Negative sentinels (-1 no TTL, -2 no key) must match exactly."""
    def cmp(a, b):
        if a.kind != ":" or b.kind != ":":
            return exact(a, b)
        x, y = int(a.value), int(b.value)
        if x < 0 or y < 0:
            return x == y
        return abs(x - y) <= tolerance
    return cmp


def sorted_elements(a, b):
    """Order is unspecified (KEYS walks a hash table)."""
    if exact(a, b):
        return True
    if a.kind != b.kind or not isinstance(a.value, list) or not isinstance(b.value, list):
        return False
    return sorted(x.raw for x in a.value) == sorted(x.raw for x in b.value)


def hash_order(paired):
    """Redis keeps small hashes (<=128 fields, every field/value <=64 bytes) as a
    listpack, which preserves insertion order: compare those exactly.  Bigger
    ones are hash tables with arbitrary order: compare as multisets (HGETALL's
    field/value pairs stay paired).  Only the reference reply decides which
    case applies, so HKEYS can't see a long *value*: tests avoid that case."""
    def cmp(a, b):
        if exact(a, b):
            return True
        if a.kind != b.kind or not isinstance(a.value, list) or not isinstance(b.value, list):
            return False
        n_fields = len(a.value) // 2 if paired else len(a.value)
        if n_fields <= 128 and all(len(x.value or b"") <= 64 for x in a.value):
            return False  # small hash: order is part of the contract
        if paired:
            def pairs(r):
                return sorted(zip((x.raw for x in r.value[0::2]), (x.raw for x in r.value[1::2])))
            return pairs(a) == pairs(b)
        return sorted(x.raw for x in a.value) == sorted(x.raw for x in b.value)
    return cmp


def set_order(a, b):
    """Sets: compared as multisets. An intset replies in ascending order, but
    a hash-table set of integers may happen to as well, and only the server
    knows the encoding; the unit tests pin the intset order."""
    if exact(a, b):
        return True
    if a.kind != b.kind or not isinstance(a.value, list) or not isinstance(b.value, list):
        return False
    return sorted(x.raw for x in a.value) == sorted(x.raw for x in b.value)


def scan_reply(a, b):
    """SCAN family: cursors are server specific and element order is free,
    but a finished walk ("0") and the elements of a one-call walk must match
    (HSCAN/ZSCAN pairs compared as a multiset of their flat items)."""
    if exact(a, b) or a.is_error or b.is_error:
        return exact(a, b)
    if not (isinstance(a.value, list) and isinstance(b.value, list) and len(a.value) == len(b.value) == 2):
        return False
    (ca, ia), (cb, ib) = a.value, b.value
    if (ca.value == b"0") != (cb.value == b"0"):
        return False
    return sorted(x.raw for x in ia.value) == sorted(x.raw for x in ib.value)


def hello(a, b):
    """HELLO's map (server name, version, id) is server specific; only the kind
    (map for 3, array for 2) and errors are compared."""
    if a.is_error or b.is_error:
        return exact(a, b)
    return a.kind == b.kind


# Per-command normalisers; every command not listed is compared byte for byte.
COMPARATORS = {
    "TTL": approx(1), "PTTL": approx(1000),
    "EXPIRETIME": approx(1), "PEXPIRETIME": approx(1000),
    "TIME": same_shape, "RANDOMKEY": same_shape, "HRANDFIELD": same_shape, "INFO": same_shape,
    "CLIENT ID": same_shape, "CLIENT LIST": same_shape, "CLIENT INFO": same_shape,
    "KEYS": sorted_elements,
    "HGETALL": hash_order(paired=True), "HKEYS": hash_order(paired=False),
    "HVALS": hash_order(paired=False),
    "HELLO": hello,
    "SMEMBERS": set_order, "SINTER": set_order, "SUNION": set_order, "SDIFF": set_order,
    "SPOP": set_order, "SRANDMEMBER": same_shape, "ZRANDMEMBER": same_shape,
    "PUBSUB CHANNELS": sorted_elements,
    "SCAN": scan_reply, "HSCAN": scan_reply, "SSCAN": scan_reply, "ZSCAN": scan_reply,
    # EXEC: element-wise with the comparators of the queued commands (Runner._check)
}
SUBCOMMAND_CMDS = {"CLIENT", "OBJECT", "CONFIG", "PUBSUB"}


def cmd_name(args):
    def s(x):
        return (x.decode(errors="replace") if isinstance(x, bytes) else str(x)).upper()
    name = s(args[0])
    if name in SUBCOMMAND_CMDS and len(args) > 1:
        name += " " + s(args[1])
    return name


def compare(args, a, b):
    return COMPARATORS.get(cmd_name(args), exact)(a, b)


# --------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------

@dataclass
class Step:
    cid: int = 0              # which client connection (for WATCH races etc.)
    args: list = None
    sleep: float = 0.0


PLACEHOLDER = re.compile(r"\{(now|nowms)([+-]\d+)?\}")


def substitute(arg):
    def repl(m):
        base = NOW if m.group(1) == "now" else NOW * 1000
        return str(base + int(m.group(2) or 0))
    return PLACEHOLDER.sub(repl, arg)


def parse_steps(body):
    """Hand-written case syntax, one command per line:
         SET k "a b" EX 100      shell-style quoting
         @1 SET k v              send on client connection 1 (default 0)
         !sleep 0.1
         {now+100} {nowms-5}     unix time (s / ms) fixed at startup
       A body may also be a list mixing such lines and raw arg lists (for binary data)."""
    items = body if isinstance(body, list) else body.splitlines()
    steps = []
    for item in items:
        if isinstance(item, (list, tuple)):
            steps.append(Step(args=list(item)))
            continue
        line = item.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!sleep"):
            steps.append(Step(sleep=float(line.split()[1])))
            continue
        cid = 0
        if line.startswith("@"):
            head, line = line.split(None, 1)
            cid = int(head[1:])
        steps.append(Step(cid=cid, args=[substitute(a) for a in shlex.split(line)]))
    return steps


def fmt_step(step):
    if step.sleep:
        return f"!sleep {step.sleep}"
    parts = []
    for a in step.args:
        if isinstance(a, bytes):
            try:
                a = a.decode()
            except UnicodeDecodeError:
                parts.append(repr(a))
                continue
        a = str(a)
        if not a.isprintable():  # NUL, CR/LF...: show escaped, like the replies
            parts.append(repr(a.encode()))
            continue
        parts.append(shlex.quote(a) if len(a) <= 80 else shlex.quote(a[:60]) + f"...({len(a)} chars)")
    prefix = f"@{step.cid} " if step.cid else ""
    return prefix + " ".join(parts)


# --------------------------------------------------------------------------
# Runner: drives both servers and counts
# --------------------------------------------------------------------------

class SubModel:
    """What the tester knows of one connection's pub/sub state, from the
    commands it sent: the protocol and the subscriptions, enough to tell how
    many replies a command produces and which arrivals are messages."""

    SUB = {"SUBSCRIBE": 0, "PSUBSCRIBE": 1, "SSUBSCRIBE": 2}
    UNSUB = {"UNSUBSCRIBE": 0, "PUNSUBSCRIBE": 1, "SUNSUBSCRIBE": 2}
    MESSAGES = {b"message": 3, b"pmessage": 4, b"smessage": 3}

    def __init__(self, proto):
        self.proto = proto
        self.sets = (set(), set(), set())  # channels, patterns, shard channels

    def replies(self, args, in_multi):
        name = cmd_name(args)
        if in_multi:
            return 1  # +QUEUED or a queueing error
        if name in self.SUB:
            return max(1, len(args) - 1)
        if name in self.UNSUB:
            if len(args) > 1:
                return len(args) - 1
            return max(1, len(self.sets[self.UNSUB[name]]))
        return 1

    def is_message(self, r, args):
        """A published message (not a reply): a RESP3 push, or in RESP2 an
        array of that shape on a connection in subscribed mode (where no
        command's reply can look like one)."""
        if not isinstance(r.value, list) or not r.value:
            return False
        head = r.value[0].value
        if not isinstance(head, bytes) or self.MESSAGES.get(head) != len(r.value):
            return False
        if r.kind == ">":
            return True
        subscribing = cmd_name(args) in self.SUB or cmd_name(args) in self.UNSUB
        return r.kind == "*" and self.proto == 2 and (any(self.sets) or subscribing)

    def update(self, args):
        name = cmd_name(args)
        names = {a if isinstance(a, bytes) else str(a).encode() for a in args[1:]}
        if name in self.SUB:
            self.sets[self.SUB[name]].update(names)
        elif name in self.UNSUB:
            kind = self.sets[self.UNSUB[name]]
            if names:
                kind.difference_update(names)
            else:
                kind.clear()
        elif name == "RESET":
            self.proto = 2
            for kind in self.sets:
                kind.clear()
        elif name == "HELLO" and len(args) > 1:
            v = args[1].decode(errors="replace") if isinstance(args[1], bytes) else str(args[1])
            if v in ("2", "3"):
                self.proto = int(v)


class Trouble(Exception):
    """A side stopped answering sensibly (timeout, closed, bad framing): the
    rest of the sequence would only report noise."""


class Runner:
    def __init__(self, ref, cand, opts):
        self.ref, self.cand, self.opts = ref, cand, opts
        self.passed = self.failed = 0
        self.reported = 0
        self.conns = {}  # (side name, cid) -> Conn
        self.models = {}  # cid -> SubModel (both sides get the same commands)

    # -- connections --
    def _close_all(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()
        self.models.clear()

    def _conn(self, server, cid, proto):
        key = (server.name, cid)
        if key not in self.conns:
            try:
                c = Conn(server.port, self.opts.timeout)
            except OSError as e:
                raise Trouble(f"{server.name}: cannot open connection {cid}: {e}") from None
            if proto == 3:
                try:
                    r = c.call(["HELLO", "3"])
                except (OSError, ProtocolError) as e:
                    r = e
                if not isinstance(r, Reply) or r.is_error or r.kind != "%":
                    c.close()
                    shown = r.raw[:200] if isinstance(r, Reply) else f"{type(r).__name__}: {r}"
                    raise Trouble(f"{server.name}: HELLO 3 answered {shown!r}")
            self.conns[key] = c
        return self.conns[key]

    def _exchange(self, step, proto, in_multi):
        """Send the step to both sides and read, from each, every reply the
        command produces (a SUBSCRIBE of three channels answers three times)
        and the message pushes that arrived before them. Reading exactly
        what each command produces keeps every later reply on its own
        command, so a command on another connection never overtakes one whose
        reply is still unread."""
        sides = (self.ref, self.cand)
        conns = [self._conn(s, step.cid, proto) for s in sides]
        model = self.models.setdefault(step.cid, SubModel(proto))
        n = model.replies(step.args, in_multi)
        # send to both before reading either, so both see the command at nearly the same time
        for s, c in zip(sides, conns):
            try:
                c.send(step.args)
            except OSError as e:
                raise Trouble(f"{s.name}: send failed: {e}") from None
        out = []
        for s, c in zip(sides, conns):
            replies, pushes = [], []
            try:
                while len(replies) < n:
                    r = c.read()
                    if model.is_message(r, step.args):
                        pushes.append(r)
                        continue
                    replies.append(r)
                    if r.is_error:
                        break  # a refused command answers once
            except socket.timeout:
                raise Trouble(f"{s.name}: no reply within {self.opts.timeout}s") from None
            except (OSError, ProtocolError) as e:
                raise Trouble(f"{s.name}: {type(e).__name__}: {e}") from None
            out.append((replies, pushes))
        if not in_multi and not out[0][0][0].is_error:
            model.update(step.args)
        return out

    # -- sequences --
    def run_seq(self, label, steps, proto, stop_on_mismatch):
        """Fresh connections and an empty dataset, then every step compared."""
        self._close_all()
        try:
            for s in (self.ref, self.cand):
                self._conn(s, 0, proto).call(["FLUSHALL"])
        except (Trouble, OSError, ProtocolError) as e:
            self._fail_trouble(label, None, [], str(e))
            return self._after_seq(label, troubled=True)
        multi = {}  # cid -> list of queued commands while inside MULTI
        done = []
        troubled = False
        for step in steps:
            done.append(step)
            if step.sleep:
                time.sleep(step.sleep)
                continue
            queued = multi.get(step.cid)
            in_multi = queued is not None and cmd_name(step.args) not in ("EXEC", "DISCARD")
            try:
                (ra, pa), (rb, pb) = self._exchange(step, proto, in_multi)
            except Trouble as e:
                self._fail_trouble(label, step, done, str(e))
                troubled = True
                break
            a, b = ra[0], rb[0]
            ok = self._check(step, a, b, queued) \
                and [r.raw for r in ra[1:]] == [r.raw for r in rb[1:]] \
                and [p.raw for p in pa] == [p.raw for p in pb]
            self._track_multi(step, a, multi)
            if ok:
                self.passed += 1
            else:
                self.failed += 1
                # show everything read for the step, message pushes first
                a, b = (Reply(rx[0].kind, b"".join(x.raw for x in px + rx), rx[0].value)
                        for rx, px in ((ra, pa), (rb, pb)))
                self._report(label, step, a, b, done)
                if stop_on_mismatch:
                    skipped = len(steps) - len(done)
                    if skipped:
                        print(f"    (rest of this sequence skipped: {skipped} commands; state has diverged)")
                    break
        self._after_seq(label, troubled)

    def _check(self, step, a, b, queued):
        name = cmd_name(step.args)
        if queued is not None and name not in ("EXEC", "DISCARD"):
            return exact(a, b)  # inside MULTI the reply is +QUEUED or a queueing error
        if name == "EXEC" and queued is not None and isinstance(a.value, list) \
                and isinstance(b.value, list) and a.kind == b.kind and len(a.value) == len(b.value) == len(queued):
            return all(compare(q, x, y) for q, x, y in zip(queued, a.value, b.value))
        return compare(step.args, a, b)

    @staticmethod
    def _track_multi(step, ref_reply, multi):
        name = cmd_name(step.args)
        queued = multi.get(step.cid)
        if queued is None:
            if name == "MULTI" and ref_reply.raw == b"+OK\r\n":
                multi[step.cid] = []
        elif name in ("EXEC", "DISCARD"):
            multi[step.cid] = None
        elif ref_reply.raw == b"+QUEUED\r\n":
            queued.append(step.args)

    def _after_seq(self, label, troubled=False):
        self._close_all()
        if troubled:  # a closed connection may be a crash still in progress: let it finish
            try:
                self.cand.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
        if not self.cand.alive():
            self.failed += 1
            print(f"\n!! {self.cand.name} died during {label} (exit code {self.cand.proc.returncode}); log tail:")
            print(self.cand.log_tail())
            print(f"   restarting {self.cand.name}")
            self.cand.start()

    # -- reporting --
    def _seq_lines(self, done):
        lines = [fmt_step(s) for s in done]
        limit = self.opts.context
        if limit and len(lines) > limit:
            lines = [f"... ({len(lines) - limit} earlier commands)"] + lines[-limit:]
        return "\n".join("      " + l for l in lines)

    def _report(self, label, step, a, b, done):
        self.reported += 1
        if self.reported > self.opts.max_report:
            print(f"MISMATCH [{label}] {fmt_step(step)}")
            return
        print(f"\nMISMATCH [{label}] step {len(done)}")
        print(f"  command:  {fmt_step(step)}")
        print(f"  {self.ref.name + ':':9} {a.raw[:2000]!r}")
        print(f"  {self.cand.name + ':':9} {b.raw[:2000]!r}")
        print("  seq so far:\n" + self._seq_lines(done))

    def _fail_trouble(self, label, step, done, msg):
        self.failed += 1
        self.reported += 1
        print(f"\nFAILURE [{label}] {msg}")
        if step is not None:
            print(f"  command:  {fmt_step(step)}\n  seq so far:\n" + self._seq_lines(done))
        self._close_all()


# --------------------------------------------------------------------------
# Hand-written cases: family -> [(title, body)]
# --------------------------------------------------------------------------



def hand_steps(body):
    if isinstance(body, str):
        body = body.replace("{x44}", X44).replace("{x45}", X45)
    return parse_steps(body)
def as_step(x):
    return Step(cid=x[0], args=x[1]) if isinstance(x, tuple) else Step(args=x)


FAMILIES = list(CASES)  # server keys expire strings hashes tx


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat", help="cachecat binary")
    p.add_argument("--threads", type=int, default=2, help="cachecat --threads")
    p.add_argument("--redis-server", default="redis-server", help="reference redis-server binary")
    p.add_argument("--only", default="", help=f"comma-separated families from: {','.join(FAMILIES)}")
    p.add_argument("--seed", default="1", help="seed for the random sequences")
    p.add_argument("--count", type=int, default=400, help="random commands per family (0: none)")
    p.add_argument("--chunk", type=int, default=50, help="random commands between FLUSHALLs")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for one reply")
    p.add_argument("--max-report", type=int, default=40, help="full mismatch reports before one-liners")
    p.add_argument("--context", type=int, default=60, help="commands of 'seq so far' to print (0: all)")
    # hidden: check the tester itself (redis against redis must give 0 mismatches)
    p.add_argument("--peer-is-redis", action="store_true", help=argparse.SUPPRESS)
    opts = p.parse_args()
    opts.families = [f for f in opts.only.split(",") if f] or FAMILIES
    bad = set(opts.families) - set(FAMILIES)
    if bad:
        p.error(f"unknown families {sorted(bad)}; choose from {FAMILIES}")
    return opts


def main():
    opts = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` kills the servers
    workdir = tempfile.mkdtemp(prefix="cachecat-diff-")

    def redis_argv(port, d):
        return [opts.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", d]

    def cachecat_argv(port, d):
        return [os.path.abspath(opts.server), "--bind", "127.0.0.1", "--port", str(port), "--dir", d,
                "--threads", str(opts.threads)]

    ref = Server("redis", redis_argv, workdir)
    cand = Server("peer" if opts.peer_is_redis else "cachecat",
                  redis_argv if opts.peer_is_redis else cachecat_argv, workdir)
    if not opts.peer_is_redis and not os.access(opts.server, os.X_OK):
        sys.exit(f"no executable server at {opts.server} (use --server)")
    try:
        ref.start()
        cand.start()
        print(f"redis on :{ref.port}, {cand.name} on :{cand.port}; families {','.join(opts.families)}; "
              f"seed {opts.seed}, {opts.count} random commands per family")
        run = Runner(ref, cand, opts)
        for fam in opts.families:
            before = (run.passed, run.failed)
            for proto in (2, 3):
                for title, body in CASES[fam]:
                    run.run_seq(f"{fam}/resp{proto}/{title}", hand_steps(body), proto, stop_on_mismatch=False)
            if fam in RANDOM and opts.count > 0:
                rng = random.Random(f"{opts.seed}:{fam}")  # per family: --only doesn't change sequences
                g = Gen(rng)
                n_chunks = -(-opts.count // opts.chunk)
                for i in range(n_chunks):
                    proto = 2 if i % 2 == 0 else 3
                    steps = [as_step(RANDOM[fam](g)) for _ in range(min(opts.chunk, opts.count - i * opts.chunk))]
                    run.run_seq(f"{fam}/random/seed={opts.seed}/chunk={i}/resp{proto}", steps, proto,
                                stop_on_mismatch=True)
            print(f"[{fam}] {run.passed - before[0]} passed, {run.failed - before[1]} failed")
    finally:
        ref.kill()
        cand.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
