#!/usr/bin/env python3
"""redis-py 8 smoke test against cachecat: what a real client library sees.

Each test runs twice: with redis-py's default protocol (RESP3 in 8.x, which
also means HELLO 3 and CLIENT SETINFO on connect) and with protocol=2.  Plain
asserts; every test starts from FLUSHALL.

    python3 tests/suite2/smoke_redispy.py --server target/release/cachecat
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
import warnings

import redis

warnings.simplefilter("ignore", DeprecationWarning)  # SETEX/PSETEX are deprecated in redis-py, still tested

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diff import Server  # noqa: E402  (same process management as the differential tester)

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def raises(exc, fn, *args, match=None, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc as e:
        assert match is None or match in str(e), f"{exc.__name__} {e!r} lacks {match!r}"
        return e
    raise AssertionError(f"{fn.__name__}{args} did not raise {exc.__name__}")


@test
def connection_basics(r, ctx):
    assert r.ping() is True
    assert r.echo("hi") == "hi"
    secs, micros = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= micros < 1_000_000
    conn = r.connection_pool.get_connection()
    try:  # RESP3 connections keep HELLO's map; redis-py checks 'proto' in it
        if ctx["proto"] == 3:
            assert conn.handshake_metadata.get("proto") == 3, conn.handshake_metadata
    finally:
        r.connection_pool.release(conn)
    raises(redis.ResponseError, r.execute_command, "NOSUCHCOMMAND", "x", match="unknown command")


@test
def strings(r, ctx):
    assert r.get("nokey") is None
    assert r.set("s", "v") is True
    assert r.get("s") == "v"
    assert r.set("s", "w", nx=True) is None
    assert r.set("s", "w", xx=True, get=True) == "v"
    assert r.setnx("s", "x") is False
    assert r.append("s", "!") == 2 and r.strlen("s") == 2
    assert r.setrange("s", 1, "xyz") == 4 and r.getrange("s", 0, 1) == "wx"
    assert r.incr("n") == 1 and r.incrby("n", 10) == 11
    assert r.decr("n") == 10 and r.decrby("n", 4) == 6
    assert r.incrbyfloat("f", 1.5) == 1.5 and r.incrbyfloat("f", "0.25") == 1.75
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget("a", "b", "nokey") == ["1", "2", None]
    assert r.msetnx({"a": "x", "c": "3"}) is False and r.get("c") is None
    assert r.getset("a", "9") == "1"
    assert r.getdel("a") == "9" and r.get("a") is None
    assert r.getex("b", ex=100) == "2" and 0 < r.ttl("b") <= 100
    assert r.getex("b", persist=True) == "2" and r.ttl("b") == -1
    raises(redis.ResponseError, r.incr, "s", match="not an integer")
    raises(redis.ResponseError, r.incrbyfloat, "s", 1, match="not a valid float")
    r.set("big", 9223372036854775807)
    raises(redis.ResponseError, r.incr, "big", match="overflow")
    raw = ctx["raw"]  # bytes in, bytes out: values are binary safe
    assert raw.set(b"\x00\xffkey", b"\r\n\x00") is True
    assert raw.get(b"\x00\xffkey") == b"\r\n\x00"
    big = b"z" * 200_000
    assert raw.set("large", big) and raw.get("large") == big


@test
def keys(r, ctx):
    r.set("a", "1")
    r.hset("h", "f", "v")
    assert r.exists("a", "h", "nokey") == 2
    assert (r.type("a"), r.type("h"), r.type("nokey")) == ("string", "hash", "none")
    assert sorted(r.keys("*")) == ["a", "h"] and r.keys("h*") == ["h"]
    assert r.dbsize() == 2
    assert r.rename("a", "b") is True and r.get("b") == "1"
    raises(redis.ResponseError, r.rename, "nokey", "x", match="no such key")
    assert r.renamenx("b", "h") is False
    assert r.copy("b", "c") is True and r.get("c") == "1"
    assert r.touch("b", "c", "nokey") == 2
    assert r.delete("b", "nokey") == 1 and r.unlink("c") == 1
    assert r.object("encoding", "h") in ("listpack", "ziplist", "hashtable")
    other_db = redis.Redis(**{**ctx["kwargs"], "db": 1})  # SELECT on connect
    try:
        other_db.set("only-in-1", "x")
        assert r.exists("only-in-1") == 0 and other_db.dbsize() == 1
    finally:
        other_db.close()
    assert r.flushdb() is True and r.dbsize() == 0


@test
def ttls(r, ctx):
    assert r.set("k", "v", ex=100) is True
    assert 98 <= r.ttl("k") <= 100 and 97_000 <= r.pttl("k") <= 100_000
    assert r.expire("k", 200, gt=True) is True and r.expire("k", 50, gt=True) is False
    assert r.expire("k", 300, nx=True) is False and r.expire("k", 150, xx=True) is True
    assert r.persist("k") is True and r.persist("k") is False
    assert r.ttl("k") == -1 and r.ttl("nokey") == -2
    at = int(time.time()) + 1000
    assert r.expireat("k", at) is True and r.expiretime("k") == at
    assert r.pexpireat("k", at * 1000 + 5) is True and r.pexpiretime("k") == at * 1000 + 5
    r.set("short", "v", px=100)
    r.hset("hshort", "f", "v")
    r.pexpire("hshort", 100)
    time.sleep(0.3)
    assert r.get("short") is None and r.exists("short", "hshort") == 0
    assert r.set("k2", "v", exat=at) and r.expiretime("k2") == at
    assert r.set("k2", "w", keepttl=True) and r.expiretime("k2") == at
    assert r.set("k2", "w") and r.ttl("k2") == -1
    assert r.setex("k3", 100, "v") and r.psetex("k4", 100_000, "v") and r.pttl("k4") > 90_000
    raises(redis.ResponseError, r.expire, "k3", "abc", match="not an integer")


@test
def hashes(r, ctx):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hset("h", "c", "3") == 1 and r.hset("h", "c", "33") == 0
    assert r.hgetall("h") == {"a": "1", "b": "2", "c": "33"}
    assert r.hget("h", "a") == "1" and r.hget("h", "nofield") is None
    assert r.hmget("h", ["a", "nofield", "b"]) == ["1", None, "2"]
    assert r.hkeys("h") == ["a", "b", "c"] and r.hvals("h") == ["1", "2", "33"]  # small hash: insertion order
    assert r.hlen("h") == 3 and r.hexists("h", "a") is True and r.hexists("h", "z") is False
    assert r.hstrlen("h", "c") == 2
    assert r.hsetnx("h", "a", "x") == 0 and r.hsetnx("h", "new", "x") == 1
    assert r.hdel("h", "a", "nofield") == 1
    assert r.hincrby("h", "n", 5) == 5 and r.hincrby("h", "n", -7) == -2
    assert r.hincrbyfloat("h", "fl", 2.5) == 2.5
    assert r.hrandfield("h") in r.hkeys("h")
    assert r.hgetall("nokey") == {} and r.hkeys("nokey") == [] and r.hlen("nokey") == 0
    raises(redis.ResponseError, r.hincrby, "h", "b", "x", match="not an integer")
    r.set("s", "v")
    raises(redis.ResponseError, r.hget, "s", "f", match="WRONGTYPE")
    raises(redis.ResponseError, r.get, "h", match="WRONGTYPE")
    fields = {f"f{i}": str(i) for i in range(300)}  # past the listpack limit
    assert r.hset("big", mapping=fields) == 300 and r.hgetall("big") == fields
    names = r.hkeys("h")
    assert r.hdel("h", *names) == len(names) and r.exists("h") == 0  # last field gone: key gone


@test
def pipelines(r, ctx):
    p = r.pipeline(transaction=False)
    p.set("a", "1").incr("a").get("a").hset("h", "f", "v").hgetall("h").incr("h")
    res = p.execute(raise_on_error=False)
    assert res[:5] == [True, 2, "2", 1, {"f": "v"}], res
    assert isinstance(res[5], redis.ResponseError) and "WRONGTYPE" in str(res[5])
    p = r.pipeline(transaction=False)
    for i in range(2000):  # one large write: exercises the server's partial reads
        p.set(f"key:{i}", "x" * (i % 50))
    assert p.execute() == [True] * 2000
    assert r.mget([f"key:{i}" for i in range(0, 2000, 400)]) == ["x" * (i % 50) for i in range(0, 2000, 400)]


@test
def transactions(r, ctx):
    p = r.pipeline(transaction=True)
    p.set("a", "1").incr("a").hset("h", "f", "v")
    assert p.execute() == [True, 2, 1]
    # errors at EXEC are per-command: the rest still applies
    p = r.pipeline(transaction=True)
    p.set("b", "x").incr("h").set("c", "y")
    raises(redis.ResponseError, p.execute, match="WRONGTYPE")
    assert r.mget("b", "c") == ["x", "y"]
    # an unknown command while queueing aborts the whole transaction
    p = r.pipeline(transaction=True)
    p.set("d", "1").execute_command("NOSUCHCOMMAND")
    raises(redis.ResponseError, p.execute)
    assert r.get("d") is None


@test
def watch(r, ctx):
    other = ctx["other"]
    r.set("w", "0")
    with r.pipeline() as p:  # a concurrent write to a watched key aborts EXEC
        p.watch("w")
        assert p.get("w") == "0"  # immediate mode after WATCH
        other.set("w", "changed")
        p.multi()
        p.set("w", "mine")
        raises(redis.WatchError, p.execute)
    assert r.get("w") == "changed"
    with r.pipeline() as p:  # no interference: EXEC runs
        p.watch("w")
        p.multi()
        p.set("w", "mine")
        assert p.execute() == [True]
    assert r.get("w") == "mine"
    attempts = []

    def bump(pipe):  # redis-py's retry helper: first attempt loses the race
        value = int(pipe.get("ctr") or 0)
        if not attempts:
            other.incr("ctr")
        attempts.append(value)
        pipe.multi()
        pipe.set("ctr", value + 10)
    r.transaction(bump, "ctr")
    assert attempts == [0, 1] and r.get("ctr") == "11"
    # and at the protocol level EXEC's null reply (RESP2 *-1, RESP3 _) reads as None
    conn = r.connection_pool.get_connection()
    try:
        for cmd in (("WATCH", "w"), ("MULTI",)):
            conn.send_command(*cmd)
            assert conn.read_response() in ("OK", b"OK")
        other.set("w", "again")
        conn.send_command("GET", "w")
        assert conn.read_response() in ("QUEUED", b"QUEUED")
        conn.send_command("EXEC")
        assert conn.read_response() is None
    finally:
        r.connection_pool.release(conn)


@test
def client_name(r, ctx):
    assert r.client_getname() is None
    assert r.client_setname("smoke") is True and r.client_getname() == "smoke"
    named = redis.Redis(**{**ctx["kwargs"], "client_name": "from-connect"})  # CLIENT SETNAME on connect
    try:
        assert named.client_getname() == "from-connect"
    finally:
        named.close()


@test
def info_and_config(r, ctx):
    info = r.info()
    assert isinstance(info, dict) and "redis_version" in info and "role" in info, sorted(info)[:20]
    assert info["role"] == "master"
    assert "redis_version" in r.info("server")
    for name in ("save", "appendonly"):  # redis-benchmark asks for these two at startup
        cfg = r.config_get(name)
        assert isinstance(cfg, dict) and name in cfg, cfg


@test
def lists(r, ctx):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == ["z", "a", "b", "c"]
    assert r.lpop("l") == "z"
    assert r.rpop("l", 2) == ["c", "b"]
    assert r.lpop("nol") is None and r.lpop("nol", 2) is None
    assert r.rpushx("nol", "x") == 0
    r.rpush("l", "b", "a", "c", "a")
    assert r.lpos("l", "a") == 0 and r.lpos("l", "a", rank=2) == 2
    assert r.lpos("l", "a", count=0) == [0, 2, 4]
    assert r.linsert("l", "BEFORE", "c", "x") == 6
    assert r.lset("l", 0, "A") is True
    assert r.lindex("l", -1) == "a" and r.llen("l") == 6
    assert r.lrem("l", 0, "a") == 2
    assert r.ltrim("l", 0, 1) is True and r.lrange("l", 0, -1) == ["A", "b"]
    assert r.lmove("l", "m", "LEFT", "RIGHT") == "A"
    assert r.rpoplpush("l", "m") == "b" and r.exists("l") == 0
    assert r.lmpop(2, "l", "m", direction="RIGHT", count=5) == ["m", ["A", "b"]]
    r.set("s", "v")
    raises(redis.ResponseError, r.lpush, "s", "x", match="WRONGTYPE")
    raises(redis.ResponseError, r.lset, "nol", 0, "x", match="no such key")


@test
def sets(r, ctx):
    assert r.sadd("s", "3", "1", "2") == 3
    assert r.smembers("s") == {"1", "2", "3"}
    assert r.sismember("s", "1") and not r.sismember("s", "9")
    assert r.smismember("s", ["1", "9"]) == [1, 0]
    assert r.scard("s") == 3 and r.srem("s", "3", "9") == 1
    r.sadd("t", "2", "x")
    assert r.sinter("s", "t") == {"2"} and r.sunion("s", "t") == {"1", "2", "x"}
    assert r.sdiff("s", "t") == {"1"}
    assert r.sinterstore("d", ["s", "t"]) == 1 and r.smembers("d") == {"2"}
    assert r.sunionstore("d", ["s", "t"]) == 3 and r.sdiffstore("d", ["s", "t"]) == 1
    assert r.sintercard(2, ["s", "t"]) == 1
    assert r.smove("s", "t", "1") is True and r.smembers("t") == {"1", "2", "x"}
    assert r.srandmember("t") in {"1", "2", "x"}
    assert len(r.srandmember("t", -5)) == 5
    popped = r.spop("t", 10)
    assert set(popped) == {"1", "2", "x"} and r.exists("t") == 0
    assert r.spop("t") is None


@test
def sorted_sets(r, ctx):
    assert r.zadd("z", {"a": 1, "b": 2, "c": 3.5}) == 3
    assert r.zadd("z", {"a": 5}, xx=True, ch=True) == 1
    assert r.zincrby("z", 0.5, "b") == 2.5
    assert r.zscore("z", "c") == 3.5 and r.zscore("z", "nope") is None
    assert r.zmscore("z", ["a", "nope"]) == [5.0, None]
    assert r.zrange("z", 0, -1) == ["b", "c", "a"]
    assert r.zrange("z", 0, -1, withscores=True) == [("b", 2.5), ("c", 3.5), ("a", 5.0)]
    assert r.zrange("z", "(2.5", "+inf", byscore=True) == ["c", "a"]
    assert r.zrevrange("z", 0, 0) == ["a"]
    assert r.zrangebyscore("z", 3, 10, start=1, num=1) == ["a"]
    assert r.zcount("z", "-inf", 3) == 1 and r.zcard("z") == 3
    assert r.zrank("z", "c") == 1 and r.zrevrank("z", "c") == 1
    r.zadd("lex", {"a": 0, "b": 0, "c": 0})
    assert r.zrangebylex("lex", "[b", "+") == ["b", "c"] and r.zlexcount("lex", "-", "(c") == 2
    assert r.zpopmin("z") == [("b", 2.5)]
    assert r.zpopmax("z", 1) == [("a", 5.0)]
    key, popped = r.zmpop(2, ["nz", "lex"], min=True, count=2)
    # redis-py leaves RESP2 scores here unparsed
    assert key == "lex" and [(m, float(sc)) for m, sc in popped] == [("a", 0.0), ("b", 0.0)]
    r.zadd("u1", {"x": 1, "y": 2})
    r.zadd("u2", {"y": 10})
    assert r.zunion(["u1", "u2"], withscores=True) == [("x", 1.0), ("y", 12.0)]
    assert r.zinter({"u1": 2, "u2": 1}, aggregate="MAX") == ["y"]
    assert r.zdiff(["u1", "u2"]) == ["x"]
    assert r.zunionstore("d", ["u1", "u2"]) == 2 and r.zinterstore("d", ["u1", "u2"]) == 1
    assert r.zrangestore("d", "u1", 0, 0) == 1
    assert r.zremrangebyscore("u1", 2, 2) == 1 and r.zremrangebyrank("u1", 0, -1) == 1
    assert r.zrandmember("u2") == "y"
    raises(redis.ResponseError, r.execute_command, "ZADD", "z", "GT", "LT", "1", "a", match="not compatible")


@test
def scans(r, ctx):
    r.mset({f"k{i}": i for i in range(300)})
    assert {k for k in r.scan_iter(match="k*", count=20)} == {f"k{i}" for i in range(300)}
    r.hset("h", mapping={f"f{i}": i for i in range(600)})
    assert len(dict(r.hscan_iter("h", count=50))) == 600
    r.sadd("s", *[f"m{i}" for i in range(700)])
    assert len(set(r.sscan_iter("s", count=50))) == 700
    r.zadd("z", {f"m{i}": i for i in range(200)})
    assert dict(r.zscan_iter("z", count=30)) == {f"m{i}": float(i) for i in range(200)}
    cursor, keys = r.scan(0, _type="hash")
    while cursor:
        cursor, more = r.scan(cursor, _type="hash")
        keys += more
    assert keys == ["h"]


@test
def pubsub(r, ctx):
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("n*")
    for _ in range(2):  # the two confirmations
        assert p.get_message(timeout=2)["type"] in ("subscribe", "psubscribe")
    assert r.publish("news", "hello") == 2
    got = [p.get_message(timeout=2) for _ in range(2)]
    kinds = sorted((m["type"], m["channel"], m["data"]) for m in got)
    assert kinds == [("message", "news", "hello"), ("pmessage", "news", "hello")], kinds
    assert r.pubsub_numsub("news") == [("news", 1)]
    assert r.pubsub_numpat() == 1 and r.pubsub_channels() == ["news"]
    p.unsubscribe("news")
    p.punsubscribe("n*")
    p.close()
    deadline = time.time() + 2
    while r.pubsub_numsub("news") != [("news", 0)] and time.time() < deadline:
        time.sleep(0.05)
    assert r.pubsub_numsub("news") == [("news", 0)]


def run_all(port, only):
    passed = failed = 0
    for label, proto_kw in (("resp3 (default)", {}), ("resp2", {"protocol": 2})):
        kwargs = dict(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True, **proto_kw)
        r = redis.Redis(**kwargs)
        ctx = {"proto": proto_kw.get("protocol", 3), "kwargs": kwargs,
               "other": redis.Redis(**kwargs),  # a second client for WATCH races
               "raw": redis.Redis(**{**kwargs, "decode_responses": False})}
        for fn in TESTS:
            if only and fn.__name__ not in only:
                continue
            try:
                r.flushall()
                fn(r, ctx)
                passed += 1
                print(f"ok    {label:16} {fn.__name__}")
            except Exception:
                failed += 1
                print(f"FAIL  {label:16} {fn.__name__}\n" + traceback.format_exc())
                r.connection_pool.disconnect()  # a half-read reply must not leak into the next test
        for c in (r, ctx["other"], ctx["raw"]):
            c.close()
    return passed, failed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", default="target/release/cachecat", help="cachecat binary")
    p.add_argument("--threads", type=int, default=2, help="cachecat --threads")
    p.add_argument("--only", default="", help="comma-separated test names")
    p.add_argument("--against-redis", action="store_true", help=argparse.SUPPRESS)  # checks the test itself
    opts = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` kills the server
    if opts.against_redis:
        name, argv = "redis", lambda port, d: ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                               "--save", "", "--appendonly", "no", "--dir", d]
    else:
        if not os.access(opts.server, os.X_OK):
            sys.exit(f"no executable server at {opts.server} (use --server)")
        name, argv = "cachecat", lambda port, d: [os.path.abspath(opts.server), "--bind", "127.0.0.1",
                                                  "--port", str(port), "--dir", d, "--threads", str(opts.threads)]
    workdir = tempfile.mkdtemp(prefix="cachecat-smoke-")
    server = Server(name, argv, workdir)
    try:
        server.start()
        print(f"redis-py {redis.__version__} against {name} on :{server.port}")
        passed, failed = run_all(server.port, {t for t in opts.only.split(",") if t})
        if not server.alive():
            failed += 1
            print(f"FAIL  {name} exited (code {server.proc.returncode}); log tail:\n{server.log_tail()}")
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
