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

NOW = int(time.time())  # fixed "now" so EXPIREAT-style arguments are identical for both servers


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
    # EXEC: element-wise with the comparators of the queued commands (Runner._check)
}
SUBCOMMAND_CMDS = {"CLIENT", "OBJECT", "CONFIG"}


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

class Trouble(Exception):
    """A side stopped answering sensibly (timeout, closed, bad framing): the
    rest of the sequence would only report noise."""


class Runner:
    def __init__(self, ref, cand, opts):
        self.ref, self.cand, self.opts = ref, cand, opts
        self.passed = self.failed = 0
        self.reported = 0
        self.conns = {}  # (side name, cid) -> Conn

    # -- connections --
    def _close_all(self):
        for c in self.conns.values():
            c.close()
        self.conns.clear()

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

    def _exchange(self, step, proto):
        sides = (self.ref, self.cand)
        conns = [self._conn(s, step.cid, proto) for s in sides]
        replies = []
        # send to both before reading either, so both see the command at nearly the same time
        for s, c in zip(sides, conns):
            try:
                c.send(step.args)
            except OSError as e:
                raise Trouble(f"{s.name}: send failed: {e}") from None
        for s, c in zip(sides, conns):
            try:
                replies.append(c.read())
            except socket.timeout:
                raise Trouble(f"{s.name}: no reply within {self.opts.timeout}s") from None
            except (OSError, ProtocolError) as e:
                raise Trouble(f"{s.name}: {type(e).__name__}: {e}") from None
        return replies

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
            try:
                a, b = self._exchange(step, proto)
            except Trouble as e:
                self._fail_trouble(label, step, done, str(e))
                troubled = True
                break
            ok = self._check(step, a, b, multi.get(step.cid))
            self._track_multi(step, a, multi)
            if ok:
                self.passed += 1
            else:
                self.failed += 1
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

def big_hash_steps():
    """200 fields -> a hashtable in Redis, so order is free (hash_order sorts)."""
    pairs = []
    for i in range(200):
        pairs += [f"field:{i}", f"value:{i * 7}"]
    return [["HSET", "big"] + pairs, "HLEN big", "HGETALL big", "HKEYS big", "HVALS big",
            "OBJECT ENCODING big", "HGET big field:150", "HMGET big field:1 nope field:199",
            "HRANDFIELD big 5", "HRANDFIELD big -3 WITHVALUES", "HSTRLEN big field:42", "HINCRBY big n 5",
            # a value over 64 bytes converts a small hash too; HGETALL/HVALS can see the long value
            "HSET long a 1 b 2 c 3", "HSET long d " + "x" * 65, "OBJECT ENCODING long", "HGETALL long",
            "HVALS long", "HLEN long"]


CASES = {
    "server": [
        ("ping/echo", """
            PING
            PING hello
            PING a b
            ECHO hi
            ECHO ""
            ECHO
            ECHO a b
            NOSUCHCOMMAND a b
            nosuchcommand
        """),
        ("select/dbsize/flush", """
            SET k v
            SELECT 1
            EXISTS k
            SET k1 v
            SET k2 v
            DBSIZE
            SELECT 0
            DBSIZE
            FLUSHDB
            DBSIZE
            SELECT 1
            DBSIZE
            FLUSHALL
            DBSIZE
            SELECT 15
            SELECT 16
            SELECT -1
            SELECT abc
            SELECT
            SELECT 1 2
            DBSIZE x
            FLUSHDB ASYNC
            FLUSHDB SYNC
            FLUSHDB bogus
            FLUSHALL SYNC
            FLUSHALL ASYNC
            FLUSHALL bogus
        """),
        ("nondeterministic server replies", """
            TIME
            TIME x
            RANDOMKEY
            SET only v
            RANDOMKEY
            SET second v
            RANDOMKEY
            RANDOMKEY x
            INFO
            INFO server
            CLIENT ID
            CLIENT LIST
            CLIENT SETNAME tester
            CLIENT GETNAME
            CLIENT SETNAME "has space"
            CLIENT SETNAME ""
            CLIENT GETNAME
            CLIENT NOSUCH
        """),
        ("hello switches protocol", """
            HELLO 3
            HSET h a 1
            HGETALL h
            GET nokey
            HELLO 2
            HGETALL h
            GET nokey
            HELLO 4
            HELLO abc
        """),
    ],
    "keys": [
        ("type/exists/del", """
            SET s v
            HSET h f v
            TYPE s
            TYPE h
            TYPE nokey
            TYPE
            EXISTS s h nokey s
            EXISTS nokey
            EXISTS
            DEL s nokey
            DEL s
            UNLINK h nokey
            UNLINK
            DEL
            MSET a 1 b 2 c 3
            DEL a b c a
            EXISTS a b c
        """),
        ("keys patterns", """
            MSET one 1 two 2 three 3 four 4 k1 x k2 x kk x "k*" x "k?" x
            HSET hash f v
            KEYS *
            KEYS t*
            KEYS *o*
            KEYS ?o*
            KEYS k?
            KEYS k[12]
            KEYS k[^1]
            KEYS k[a-z]
            KEYS "k\\*"
            KEYS "k\\?"
            KEYS nomatch*
            KEYS *[
            KEYS
            KEYS a b
        """),
        ("rename", """
            SET a 1
            RENAME a b
            GET a
            GET b
            RENAME nokey x
            RENAME b b
            RENAME nokey nokey
            SET c 3
            RENAME b c
            GET c
            HSET h f v
            RENAME h c
            TYPE c
            HGETALL c
            SET t v EX 1000
            RENAME t t2
            TTL t2
            RENAME a
            RENAMENX c d
            SET e 5
            RENAMENX d e
            RENAMENX d d
            RENAMENX nokey z
            GET d
            RENAMENX d
        """),
        ("copy", """
            SET a hello
            COPY a b
            GET b
            COPY a b
            SET a world
            COPY a b REPLACE
            GET b
            COPY a a
            COPY nokey x
            COPY a c DB 1
            SELECT 1
            GET c
            SELECT 0
            COPY a c DB 16
            COPY a c DB abc
            COPY a c BOGUS
            COPY a c DB
            COPY a
            HSET h f1 v1 f2 v2
            COPY h h2
            HGETALL h2
            HSET h2 f3 v3
            HLEN h
            SET t v EX 1000
            COPY t t2
            TTL t2
            COPY h t2
            COPY h t2 REPLACE
            TYPE t2
            TTL t2
        """),
        ("touch/object encoding", """
            SET a 1
            SET b 2
            TOUCH a b nokey
            TOUCH nokey
            TOUCH
            SET int 12345
            SET small 123
            SET neg -17
            SET str hello
            SET str44 "{x44}"
            SET str45 "{x45}"
            SET huge 12345678901234567890
            SET lead 0123
            SET space " 1"
            SET float 1.5
            OBJECT ENCODING int
            OBJECT ENCODING small
            OBJECT ENCODING neg
            OBJECT ENCODING str
            OBJECT ENCODING str44
            OBJECT ENCODING str45
            OBJECT ENCODING huge
            OBJECT ENCODING lead
            OBJECT ENCODING space
            OBJECT ENCODING float
            APPEND str x
            OBJECT ENCODING str
            APPEND int 6
            OBJECT ENCODING int
            GET int
            INCR small
            OBJECT ENCODING small
            SETRANGE neg 0 x
            OBJECT ENCODING neg
            INCRBYFLOAT float 1
            OBJECT ENCODING float
            HSET h f v
            OBJECT ENCODING h
            OBJECT ENCODING nokey
            OBJECT ENCODING
            OBJECT ENCODING a b
            OBJECT NOSUCH a
        """),
    ],
    "expire": [
        ("ttl basics", """
            SET k v
            TTL k
            PTTL k
            EXPIRETIME k
            PEXPIRETIME k
            TTL nokey
            PTTL nokey
            EXPIRETIME nokey
            PEXPIRETIME nokey
            EXPIRE k 100
            TTL k
            PTTL k
            EXPIRETIME k
            PEXPIRETIME k
            PERSIST k
            PERSIST k
            PERSIST nokey
            TTL k
            EXPIRE nokey 100
            PEXPIRE k 100000
            PTTL k
            TTL
            TTL a b
            PERSIST
            EXPIRE k
            EXPIRE
        """),
        ("expire argument errors", """
            SET k v
            EXPIRE k abc
            EXPIRE k 1.5
            EXPIRE k ""
            EXPIRE k 9223372036854775807
            EXPIRE k 9223372036854775806
            EXPIRE k -9223372036854775808
            PEXPIRE k 9223372036854775807
            PEXPIRE k abc
            EXPIREAT k abc
            EXPIREAT k 9223372036854775807
            PEXPIREAT k 9223372036854775807
            EXPIRE k 100 NX XX
            EXPIRE k 100 GT LT
            EXPIRE k 100 NX GT
            EXPIRE k 100 NX LT
            EXPIRE k 100 FOO
            EXPIRE k 100 nx
            TTL k
        """),
        ("nx xx gt lt", """
            SET k v
            EXPIRE k 100 XX
            EXPIRE k 100 GT
            EXPIRE k 100 LT
            TTL k
            PERSIST k
            EXPIRE k 100 NX
            EXPIRE k 200 NX
            TTL k
            EXPIRE k 300 XX
            TTL k
            EXPIRE k 50 GT
            EXPIRE k 500 GT
            TTL k
            EXPIRE k 900 LT
            EXPIRE k 40 LT
            TTL k
            PEXPIRE k 1000000 GT
            PTTL k
            EXPIREAT k {now+5000} LT
            EXPIREAT k {now+2000} GT XX
            EXPIRETIME k
            PEXPIREAT k {nowms+3000000} GT
            PEXPIRETIME k
            PEXPIREAT k {nowms+3000000} GT
            PEXPIREAT k {nowms+3000000} LT
            EXPIRE nokey 100 XX
            EXPIRE nokey 100 NX
        """),
        ("absolute times and deletion by past times", """
            SET k v
            EXPIREAT k {now+1000}
            EXPIRETIME k
            PEXPIRETIME k
            PEXPIREAT k {nowms+1000500}
            PEXPIRETIME k
            EXPIRETIME k
            EXPIREAT k 1
            EXISTS k
            SET k v
            PEXPIREAT k 1
            GET k
            SET k v
            EXPIRE k 0
            EXISTS k
            SET k v
            EXPIRE k -10
            GET k
            SET k v
            PEXPIRE k -1
            TTL k
            SET k v
            EXPIREAT k 0
            EXISTS k
            HSET h f v
            EXPIRE h 0
            EXISTS h
        """),
        ("keys really expire", """
            SET k v PX 50
            HSET h f v
            PEXPIRE h 50
            SET stay v
            EXPIRE stay 1000
            !sleep 0.15
            GET k
            EXISTS k
            TTL k
            HGET h f
            HLEN h
            TYPE h
            KEYS *
            SET k again
            TTL k
            SETEX s 1 v
            !sleep 1.2
            GET s
        """),
        ("ttl kept or cleared by writes", """
            SET k v EX 1000
            SET k v2
            TTL k
            SET k v EX 1000
            SET k v3 KEEPTTL
            TTL k
            APPEND k more
            TTL k
            SETRANGE k 0 X
            TTL k
            GET k
            SET n 1 EX 1000
            INCR n
            INCRBYFLOAT n 1.5
            TTL n
            GETSET n 5
            TTL n
            HSET h a 1
            EXPIRE h 1000
            HSET h b 2
            HDEL h a
            TTL h
            HDEL h b
            TTL h
            SET g v EX 1000
            GETEX g
            TTL g
            GETEX g PERSIST
            TTL g
            GETEX g EX 500
            TTL g
            GETEX g PX 400000
            PTTL g
            GETEX g EXAT {now+300}
            EXPIRETIME g
            GETEX g PXAT {nowms+200000}
            PEXPIRETIME g
            GETDEL g
            TTL g
            SET m v EX 1000
            MSET m v2
            TTL m
        """),
    ],
    "strings": [
        ("get/set and options", """
            GET nokey
            SET k v
            GET k
            SET k
            GET
            GET a b
            SET k v1 NX
            SET k v2 XX
            GET k
            SET new v XX
            GET new
            SET k v3 GET
            SET fresh v GET
            SET k v4 NX GET
            SET k2 v NX GET
            SET k v5 XX GET
            SET k v EX 100 PX 100
            SET k v EX 100 EX 100
            SET k v NX XX
            SET k v EX 100 KEEPTTL
            SET k v FOO
            SET k v EX
            SET k v EX 0
            SET k v EX -1
            SET k v PX 0
            SET k v EX abc
            SET k v EX 1.5
            SET k v EX 9223372036854775807
            SET k v PX 9223372036854775807
            SET k v EXAT 0
            SET k v PXAT -5
            SET k v EXAT {now+1000}
            TTL k
            SET k v PXAT {nowms+1000000}
            PTTL k
            SET k v ex 100 nx
            SET k v px 100000 xx get
            SET k v KEEPTTL GET
            TTL k
            SET k v EXAT 1
            EXISTS k
            SET "" empty-key
            GET ""
            SET e ""
            GET e
            STRLEN e
        """),
        ("binary and large values", [
            ["SET", "bin", b"\x00\xff\r\n$3\r\n"], ["GET", "bin"], ["STRLEN", "bin"],
            ["APPEND", "bin", b"\x00"], ["GETRANGE", "bin", "0", "2"],
            ["SET", b"\xff\xfekey", "v"], ["GET", b"\xff\xfekey"], ["EXISTS", b"\xff\xfekey"],
            ["SET", "large", "z" * 100_000], ["GET", "large"], ["STRLEN", "large"],
            ["APPEND", "large", "!"], ["GETRANGE", "large", "-3", "-1"],
            ["SET", "utf", "héllo wörld ✓"], ["GET", "utf"], ["STRLEN", "utf"],
        ]),
        ("setnx/setex/psetex/getset/getdel", """
            SETNX a 1
            SETNX a 2
            GET a
            SETNX a
            SETEX b 100 v
            TTL b
            SETEX b 0 v
            SETEX b -5 v
            SETEX b abc v
            SETEX b 100
            PSETEX c 100000 v
            PTTL c
            PSETEX c 0 v
            PSETEX c abc v
            GETSET a 10
            GETSET nokey v
            GET nokey
            GETSET a
            GETDEL a
            GETDEL a
            GETDEL
            HSET h f v
            GETSET h v
            GETDEL h
            SETNX h v
            SETEX h 100 v
            TYPE h
        """),
        ("getex", """
            SET k v
            GETEX k
            GETEX k EX 100
            TTL k
            GETEX k PX 100000
            GETEX k EXAT {now+100}
            GETEX k PXAT {nowms+100000}
            GETEX k PERSIST
            TTL k
            GETEX k EX 100 PX 100
            GETEX k PERSIST EX 10
            GETEX k EX 0
            GETEX k EX -1
            GETEX k EX abc
            GETEX k EX
            GETEX k FOO
            GETEX k KEEPTTL
            GETEX nokey EX 10
            GETEX nokey
            GETEX
            HSET h f v
            GETEX h
            GETEX k EXAT 1
            EXISTS k
        """),
        ("mget/mset/msetnx", """
            MSET a 1 b 2 c 3
            MGET a b c nokey
            HSET h f v
            MGET a h b
            MSET a
            MSET a 1 b
            MSET
            MGET
            MSET a x a y
            GET a
            MSETNX a 1 z 26
            EXISTS z
            MSETNX x 1 y 2
            MGET x y
            MSETNX p 1 p 2
            GET p
            MSETNX q
            MSET h now-a-string
            TYPE h
        """),
        ("incr/decr", """
            INCR n
            INCR n
            DECR n
            INCRBY n 10
            DECRBY n 3
            INCRBY n -20
            DECRBY n -5
            GET n
            INCRBY n abc
            INCRBY n 1.5
            INCRBY n ""
            INCRBY n 9223372036854775808
            INCRBY n
            INCR
            INCR a b
            SET n 9223372036854775807
            INCR n
            INCRBY n 1
            GET n
            SET n -9223372036854775808
            DECR n
            DECRBY n 1
            INCRBY n -1
            SET n 0
            DECRBY n -9223372036854775808
            DECRBY n 9223372036854775807
            DECR n
            SET s hello
            INCR s
            SET s " 1"
            INCR s
            SET s "1 "
            INCR s
            SET s 01
            INCR s
            SET s +1
            INCR s
            SET s -0
            INCR s
            SET s 12345678901234567890
            INCR s
            SET s 1.0
            INCR s
            SET s ""
            INCR s
            HSET h f 1
            INCR h
            DECRBY h 1
        """),
        ("incrbyfloat", """
            INCRBYFLOAT f 1.5
            INCRBYFLOAT f 0.1
            INCRBYFLOAT f -5
            INCRBYFLOAT f 1e3
            INCRBYFLOAT f 2.0e-3
            INCRBYFLOAT f 0
            GET f
            SET f 10.50
            INCRBYFLOAT f 0.1
            SET f 5.0e3
            INCRBYFLOAT f 200
            SET f 3
            INCRBYFLOAT f 1.5
            INCRBYFLOAT f -4.5
            INCRBYFLOAT g 0.1
            INCRBYFLOAT g 0.2
            INCRBYFLOAT g 1e-20
            INCRBYFLOAT g 1e20
            INCRBYFLOAT g -1e20
            INCRBYFLOAT f abc
            INCRBYFLOAT f ""
            INCRBYFLOAT f "1.5 "
            INCRBYFLOAT f " 1.5"
            INCRBYFLOAT f inf
            INCRBYFLOAT f -inf
            INCRBYFLOAT f nan
            INCRBYFLOAT f 0x10
            INCRBYFLOAT f 5.
            INCRBYFLOAT f .5
            INCRBYFLOAT f
            SET big 1.7976931348623157e308
            INCRBYFLOAT big 1.7976931348623157e308
            GET big
            SET s hello
            INCRBYFLOAT s 1
            SET s inf
            INCRBYFLOAT s 1
            HSET h f 1
            INCRBYFLOAT h 1
        """),
        ("append/strlen", """
            APPEND a hello
            APPEND a " world"
            GET a
            STRLEN a
            APPEND a ""
            STRLEN nokey
            SET n 12345
            STRLEN n
            APPEND n 6
            GET n
            APPEND a
            STRLEN
            STRLEN a b
            HSET h f v
            APPEND h x
            STRLEN h
        """),
        ("getrange/setrange", """
            SET s "Hello World"
            GETRANGE s 0 -1
            GETRANGE s 0 4
            GETRANGE s -5 -1
            GETRANGE s -100 100
            GETRANGE s 5 1
            GETRANGE s 100 200
            GETRANGE s -1 -5
            GETRANGE s 3 3
            GETRANGE s 0 9223372036854775807
            GETRANGE s -9223372036854775808 2
            GETRANGE s a b
            GETRANGE s 1
            GETRANGE nokey 0 -1
            SET n 1234567
            GETRANGE n 2 4
            SETRANGE s 6 Redis
            GET s
            SETRANGE s 0 ""
            SETRANGE s 15 X
            GET s
            STRLEN s
            SETRANGE nokey 0 ""
            EXISTS nokey
            SETRANGE nokey 3 abc
            GET nokey
            SETRANGE n 0 9
            GET n
            SETRANGE s -1 x
            SETRANGE s abc x
            SETRANGE s 536870912 x
            SETRANGE s 536870911 xx
            SETRANGE nokey2 536870912 ""
            SETRANGE s 1
            HSET h f v
            SETRANGE h 0 x
            GETRANGE h 0 -1
        """),
    ],
    "hashes": [
        ("hset/hget/hmget/hmset/hsetnx", """
            HSET h f1 v1 f2 v2
            HSET h f1 x
            HSET h f3 v3 f1 y
            HGET h f1
            HGET h nofield
            HGET nokey f
            HSET h
            HSET h f1
            HSET h f1 v1 f2
            HGET h
            HMGET h f1 nofield f2
            HMGET nokey a b
            HMGET h
            HMSET h a 1 b 2
            HMSET h a
            HMSET h
            HSETNX h f1 z
            HSETNX h new z
            HSETNX h
            HSETNX h f
            HGET h new
            HSET h "" empty-field
            HGET h ""
            HSET h e ""
            HGET h e
            HGETALL h
            HKEYS h
            HVALS h
            HLEN h
        """),
        ("hdel/hexists/hlen/hstrlen", """
            HSET h a 1 b 22 c 333
            HEXISTS h a
            HEXISTS h z
            HEXISTS nokey a
            HEXISTS h
            HLEN h
            HLEN nokey
            HLEN
            HSTRLEN h c
            HSTRLEN h z
            HSTRLEN nokey z
            HSTRLEN h
            HDEL h a z
            HDEL h a
            HDEL h
            HDEL nokey a
            HKEYS h
            HDEL h b c
            EXISTS h
            HLEN h
            HGETALL h
            HKEYS h
            HVALS h
            HGETALL nokey
            HKEYS nokey
            HVALS nokey
            HGETALL
            HKEYS a b
        """),
        ("hincrby/hincrbyfloat", """
            HINCRBY h n 5
            HINCRBY h n -10
            HINCRBY h n 0
            HGET h n
            HINCRBY h n abc
            HINCRBY h n 1.5
            HINCRBY h n 9223372036854775808
            HINCRBY h n
            HSET h s hello big 9223372036854775807 small -9223372036854775808 sp " 1"
            HINCRBY h s 1
            HINCRBY h sp 1
            HINCRBY h big 1
            HINCRBY h small -1
            HINCRBY h big -1
            HGET h big
            HINCRBYFLOAT h f 1.5
            HINCRBYFLOAT h f 0.1
            HINCRBYFLOAT h f -2e2
            HINCRBYFLOAT h n 0.5
            HGET h n
            HINCRBYFLOAT h f abc
            HINCRBYFLOAT h s 1
            HINCRBYFLOAT h f inf
            HINCRBYFLOAT h f nan
            HINCRBYFLOAT h f
            HSET h huge 1.7976931348623157e308
            HINCRBYFLOAT h huge 1.7976931348623157e308
            HINCRBYFLOAT nokey f 2.5
            HGETALL h
        """),
        ("wrong type both ways", """
            SET s v
            HSET s f v
            HGET s f
            HMGET s f
            HMSET s f v
            HSETNX s f v
            HDEL s f
            HEXISTS s f
            HLEN s
            HKEYS s
            HVALS s
            HGETALL s
            HINCRBY s f 1
            HINCRBYFLOAT s f 1
            HSTRLEN s f
            HRANDFIELD s
            HSET h f 1
            GET h
            INCR h
            APPEND h x
            STRLEN h
            GETRANGE h 0 1
            SETRANGE h 0 x
            MGET h s
            TYPE h
            SET h overwritten
            TYPE h
        """),
        ("hrandfield", """
            HRANDFIELD nokey
            HRANDFIELD nokey 3
            HSET one only 1
            HRANDFIELD one
            HRANDFIELD one 1 WITHVALUES
            HSET h a 1 b 2 c 3
            HRANDFIELD h
            HRANDFIELD h 2
            HRANDFIELD h 10
            HRANDFIELD h -5
            HRANDFIELD h -5 WITHVALUES
            HRANDFIELD h 0
            HRANDFIELD h abc
            HRANDFIELD h 1 FOO
            HRANDFIELD
        """),
        ("big hashes", big_hash_steps()),
    ],
    "tx": [
        ("multi/exec basics", """
            MULTI
            SET a 1
            INCR a
            GET a
            HSET h f v
            HGETALL h
            TTL a
            EXEC
            MULTI
            EXEC
            MULTI
            MULTI
            EXEC
            MULTI
            PING
            DISCARD
            DISCARD
            EXEC
            MULTI x
            MULTI
            SET b 1
            DISCARD
            GET b
        """),
        ("errors while queueing abort the transaction", """
            MULTI
            SET a 1
            NOSUCHCOMMAND x
            GET a
            EXEC
            GET a
            MULTI
            SET a
            EXEC
            MULTI
            GET a b
            PING
            EXEC
            MULTI
            WATCH a
            SET a 2
            EXEC
            GET a
        """),
        ("errors at exec are elements of the reply", """
            SET s v
            HSET h f v
            MULTI
            SET s2 v
            HSET s f v
            INCR s
            GET s
            INCRBYFLOAT s 1
            GET h
            HINCRBY h f 1
            SETRANGE s -1 x
            EXPIRE s abc
            SELECT 99
            EXEC
            GET s2
        """),
        ("watch", """
            SET a 1
            WATCH a
            @1 SET a 2
            MULTI
            GET a
            EXEC
            WATCH a
            MULTI
            SET a 3
            EXEC
            GET a
            WATCH a
            UNWATCH
            @1 SET a 4
            MULTI
            GET a
            EXEC
            WATCH nokey
            @1 SET nokey 1
            MULTI
            PING
            EXEC
            WATCH a b
            @1 DEL b
            MULTI
            PING
            EXEC
            WATCH a
            @1 SET a 4
            MULTI
            PING
            EXEC
            WATCH a
            @1 EXPIRE a 1000
            MULTI
            PING
            EXEC
            WATCH a
            SET a own-write
            MULTI
            PING
            EXEC
            WATCH a
            MULTI
            DISCARD
            @1 SET a 5
            MULTI
            GET a
            EXEC
            WATCH
            UNWATCH x
            UNWATCH
        """),
        ("watch across dbs and flush", """
            SET a 1
            WATCH a
            @1 SELECT 1
            @1 SET a 1
            MULTI
            PING
            EXEC
            WATCH a
            @1 FLUSHALL
            MULTI
            PING
            EXEC
            SET x 1
            WATCH x
            @1 SELECT 0
            @1 HSET h f v
            @1 GET x
            MULTI
            GET x
            EXEC
            WATCH x
            @1 RENAME x y
            MULTI
            PING
            EXEC
            WATCH y
            @1 SET y 2 NX
            MULTI
            GET y
            EXEC
        """),
        ("transaction with select and expired watch", """
            MULTI
            SELECT 1
            SET in1 v
            SELECT 0
            EXEC
            SELECT 1
            GET in1
            SELECT 0
            SET t v PX 50
            WATCH t
            !sleep 0.15
            MULTI
            PING
            EXEC
        """),
    ],
}

X44, X45 = "x" * 44, "x" * 45  # embstr/raw boundary in Redis


def hand_steps(body):
    if isinstance(body, str):
        body = body.replace("{x44}", X44).replace("{x45}", X45)
    return parse_steps(body)


# --------------------------------------------------------------------------
# Random sequences: a small key space so commands collide (WRONGTYPE, overwrite)
# --------------------------------------------------------------------------

KEYSPACE = ["k0", "k1", "k2", "k3", "k4"]
FIELDS = ["f0", "f1", "f2", "n", "x"]
VALUES = ["", "v", "hello", "0", "1", "-1", "10", "007", "+5", " 3", "3 ", "1.5", "-2.25", "1e3",
          "5.0e3", "0x1f", "inf", "nan", "9223372036854775807", "-9223372036854775808",
          "9223372036854775808", "12345678901234567890", "x" * 44, "y" * 45, "w" * 64, "héllo",
          b"a\x00b"]
HASH_VALUES = [v for v in VALUES if len(v) <= 64]  # keeps hashes listpack-ordered (see hash_order)
INTS = ["0", "1", "-1", "5", "100", "-100", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "abc", "1.5", "", " 1"]
FLOATS = ["0", "1", "-1", "0.1", "1.5", "-2.5", "1e3", "1e-3", "3.0e3", "abc", "inf", "nan", "",
          "1.7976931348623157e308", "0x10", "5."]
# HINCRBYFLOAT by ~1e308 stores a 309-digit value (no exponent): the hash turns
# into a hashtable and loses its order, so random hash commands avoid it
HASH_FLOATS = [f for f in FLOATS if "e308" not in f]
BAD_TIMES = ["0", "-1", "abc", "1.5", "", "9223372036854775807"]
FILLER = KEYSPACE + ["v", "abc", "x"]  # for arity fuzzing: never a small number (no tiny TTLs)


class Gen:
    """Random command builder.  Positive TTLs are always >= 1000 s (or ms >= 1e6)
    so nothing expires on one server and not on the other mid-sequence."""

    def __init__(self, rng):
        self.r = rng

    def pick(self, table):
        weights, makers = zip(*table)
        return self.r.choices(makers, weights)[0]()

    def key(self):
        return self.r.choice(KEYSPACE)

    def keys(self, lo=1, hi=3):
        return [self.key() for _ in range(self.r.randint(lo, hi))]

    def val(self):
        return self.r.choice(VALUES)

    def hval(self):
        return self.r.choice(HASH_VALUES)

    def fld(self):
        return self.r.choice(FIELDS)

    def pairs(self, vals=None):
        vals = vals or self.val
        out = []
        for _ in range(self.r.randint(1, 3)):
            out += [self.key(), vals()]
        return out if self.r.random() > 0.05 else out[:-1]  # sometimes odd: arity error

    def ttl_s(self):
        return str(self.r.randint(1000, 100000)) if self.r.random() > 0.15 else self.r.choice(BAD_TIMES)

    def ttl_ms(self):
        return str(self.r.randint(10**6, 10**8)) if self.r.random() > 0.15 else self.r.choice(BAD_TIMES)

    def at_s(self):
        return self.r.choice([str(NOW + self.r.randint(1000, 100000))] * 4 + ["1"] + BAD_TIMES)

    def at_ms(self):
        return self.r.choice([str((NOW + self.r.randint(1000, 100000)) * 1000)] * 4 + ["1"] + BAD_TIMES)

    def expiry_opt(self, keepttl=True, persist=False):
        opts = [["EX", self.ttl_s()], ["PX", self.ttl_ms()], ["EXAT", self.at_s()], ["PXAT", self.at_ms()]]
        if keepttl:
            opts.append(["KEEPTTL"])
        if persist:
            opts.append(["PERSIST"])
        return self.r.choice(opts)

    def set_opts(self):
        opts = []
        if self.r.random() < 0.4:
            opts += self.expiry_opt()
        if self.r.random() < 0.3:
            opts.append(self.r.choice(["NX", "XX"]))
        if self.r.random() < 0.2:
            opts.append("GET")
        if self.r.random() < 0.05:
            opts += self.r.choice([["NX", "XX"], ["EX", "100", "PX", "100000"], ["BOGUS"], ["EX"]])
        if self.r.random() < 0.3:
            self.r.shuffle(opts)  # may split an "EX n" pair: a syntax error both must agree on
        return opts

    def expire_opts(self):
        x = self.r.random()
        if x < 0.5:
            return []
        if x < 0.9:
            return [self.r.choice(["NX", "XX", "GT", "LT"])]
        return self.r.choice([["NX", "XX"], ["GT", "LT"], ["NX", "GT"], ["FOO"]])

    def bad_arity(self, names):
        return [self.r.choice(names)] + [self.r.choice(FILLER) for _ in range(self.r.randint(0, 4))]


STRING_CMDS = ["GET", "SET", "SETNX", "GETSET", "GETDEL", "GETEX", "MGET", "MSET", "MSETNX", "INCR",
               "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT", "APPEND", "STRLEN", "GETRANGE", "SETRANGE"]
HASH_CMDS = ["HSET", "HSETNX", "HGET", "HMGET", "HMSET", "HDEL", "HEXISTS", "HLEN", "HKEYS", "HVALS",
             "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HSTRLEN"]
KEY_CMDS = ["DEL", "UNLINK", "EXISTS", "TYPE", "RENAME", "RENAMENX", "COPY", "TOUCH", "KEYS"]
EXPIRE_CMDS = ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "EXPIRETIME",
               "PEXPIRETIME", "PERSIST"]


def gen_strings(g):
    k = g.key()
    return g.pick([
        (6, lambda: ["SET", k, g.val()] + g.set_opts()),
        (5, lambda: ["GET", k]),
        (1, lambda: ["SETNX", k, g.val()]),
        (1, lambda: ["SETEX", k, g.ttl_s(), g.val()]),
        (1, lambda: ["PSETEX", k, g.ttl_ms(), g.val()]),
        (1, lambda: ["GETSET", k, g.val()]),
        (1, lambda: ["GETDEL", k]),
        (2, lambda: ["GETEX", k] + (g.expiry_opt(keepttl=False, persist=True) if g.r.random() < 0.7 else [])),
        (2, lambda: ["MGET"] + g.keys()),
        (1, lambda: ["MSET"] + g.pairs()),
        (1, lambda: ["MSETNX"] + g.pairs()),
        (3, lambda: [g.r.choice(["INCR", "DECR"]), k]),
        (3, lambda: [g.r.choice(["INCRBY", "DECRBY"]), k, g.r.choice(INTS)]),
        (3, lambda: ["INCRBYFLOAT", k, g.r.choice(FLOATS)]),
        (2, lambda: ["APPEND", k, g.val()]),
        (1, lambda: ["STRLEN", k]),
        (2, lambda: ["GETRANGE", k, g.r.choice([-100, -10, -3, -1, 0, 1, 2, 5, 100, "x"]),
                     g.r.choice([-100, -3, -1, 0, 1, 4, 100, "9223372036854775807"])]),
        (2, lambda: ["SETRANGE", k, g.r.choice([0, 1, 3, 10, 50, -1, "x", 536870912]), g.val()]),
        (0.5, lambda: ["OBJECT", "ENCODING", k]),
        (1, lambda: ["HSET", k, g.fld(), g.hval()]),
        (1, lambda: ["DEL", k]),
        (0.5, lambda: g.bad_arity(STRING_CMDS)),
    ])


def gen_hashes(g):
    k, f = g.key(), g.fld()
    return g.pick([
        (6, lambda: ["HSET", k] + sum(([g.fld(), g.hval()] for _ in range(g.r.randint(1, 3))), [])),
        (4, lambda: ["HGET", k, f]),
        (2, lambda: ["HMGET", k] + [g.fld() for _ in range(g.r.randint(1, 3))]),
        (1, lambda: ["HMSET", k, f, g.hval()]),
        (1, lambda: ["HSETNX", k, f, g.hval()]),
        (2, lambda: ["HDEL", k] + [g.fld() for _ in range(g.r.randint(1, 3))]),
        (1, lambda: ["HEXISTS", k, f]),
        (1, lambda: ["HLEN", k]),
        (1, lambda: ["HKEYS", k]),
        (1, lambda: ["HVALS", k]),
        (2, lambda: ["HGETALL", k]),
        (3, lambda: ["HINCRBY", k, f, g.r.choice(INTS)]),
        (2, lambda: ["HINCRBYFLOAT", k, f, g.r.choice(HASH_FLOATS)]),
        (1, lambda: ["HSTRLEN", k, f]),
        (0.5, lambda: ["HRANDFIELD", k] + g.r.choice([[], ["2"], ["-3", "WITHVALUES"]])),
        (1, lambda: ["TYPE", k]),
        (0.5, lambda: ["OBJECT", "ENCODING", k]),
        (1, lambda: ["SET", k, g.val()]),
        (1, lambda: ["GET", k]),
        (0.5, lambda: ["DEL", k]),
        (0.5, lambda: g.bad_arity(HASH_CMDS)),
    ])


def creator(g):
    k = g.key()
    return g.r.choice([["SET", k, g.val()], ["HSET", k, g.fld(), g.hval()], ["SET", k, g.val(), "EX", g.ttl_s()]])


def gen_keys(g):
    k, k2 = g.key(), g.key()
    return g.pick([
        (5, lambda: creator(g)),
        (2, lambda: [g.r.choice(["DEL", "UNLINK"])] + g.keys()),
        (2, lambda: ["EXISTS"] + g.keys()),
        (2, lambda: ["TYPE", k]),
        (1, lambda: ["KEYS", g.r.choice(["*", "k*", "k[0-2]", "?1", "*4", "x*"])]),
        (2, lambda: ["RENAME", k, k2]),
        (1, lambda: ["RENAMENX", k, k2]),
        (2, lambda: ["COPY", k, k2] + g.r.choice([[], ["REPLACE"], ["DB", "1"], ["DB", "1", "REPLACE"],
                                                  ["DB", "16"], ["BOGUS"]])),
        (1, lambda: ["TOUCH"] + g.keys()),
        (1, lambda: ["DBSIZE"]),
        (1, lambda: ["OBJECT", "ENCODING", k]),
        (1, lambda: ["SELECT", g.r.choice(["0", "0", "1"])]),
        (0.2, lambda: ["FLUSHDB"]),
        (0.5, lambda: ["RANDOMKEY"]),
        (1, lambda: ["GET", k]),
        (1, lambda: ["HGETALL", k]),
        (0.5, lambda: g.bad_arity(KEY_CMDS)),
    ])


def gen_expire(g):
    k = g.key()
    return g.pick([
        (4, lambda: creator(g)),
        (3, lambda: ["EXPIRE", k, g.ttl_s()] + g.expire_opts()),
        (2, lambda: ["PEXPIRE", k, g.ttl_ms()] + g.expire_opts()),
        (2, lambda: ["EXPIREAT", k, g.at_s()] + g.expire_opts()),
        (2, lambda: ["PEXPIREAT", k, g.at_ms()] + g.expire_opts()),
        (3, lambda: [g.r.choice(["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]), k]),
        (2, lambda: ["PERSIST", k]),
        (1, lambda: ["GETEX", k] + g.expiry_opt(keepttl=False, persist=True)),
        (1, lambda: ["SET", k, g.val()] + g.r.choice([["KEEPTTL"], ["EX", g.ttl_s()], []])),
        (1, lambda: ["APPEND", k, "x"]),
        (1, lambda: ["RENAME", k, g.key()]),
        (1, lambda: ["EXISTS", k]),
        (1, lambda: ["GET", k]),
        (0.5, lambda: g.bad_arity(EXPIRE_CMDS)),
    ])


def gen_tx(g):
    """Returns (connection, args): connection 1 plays the concurrent writer for WATCH."""
    return g.pick([
        (3, lambda: (0, ["MULTI"])),
        (3, lambda: (0, ["EXEC"])),
        (1, lambda: (0, ["DISCARD"])),
        (2, lambda: (0, ["WATCH"] + g.keys(1, 2))),
        (1, lambda: (0, ["UNWATCH"])),
        (2, lambda: (1, creator(g))),
        (0.5, lambda: (1, g.r.choice([["DEL", g.key()], ["PERSIST", g.key()], ["EXPIRE", g.key(), "5000"]]))),
        (4, lambda: (0, gen_strings(g))),
        (3, lambda: (0, gen_hashes(g))),
        (0.3, lambda: (0, ["NOSUCHCOMMAND", g.key()])),
    ])


def as_step(x):
    return Step(cid=x[0], args=x[1]) if isinstance(x, tuple) else Step(args=x)


RANDOM = {"strings": gen_strings, "hashes": gen_hashes, "keys": gen_keys, "expire": gen_expire, "tx": gen_tx}
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
