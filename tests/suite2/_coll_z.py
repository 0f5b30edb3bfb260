"""Sorted sets for the differential tester (diff.py): hand-written cases and
a seeded random generator. ZRANDMEMBER is compared by shape; every other
reply is fully ordered (by score, then member) and compared exactly."""

ZSET_CASES = [
    ("zadd flags and scores", """
        ZADD z 1 a 2 b 3 c
        ZADD z CH 1 a 5 b 4 d
        ZADD z NX 9 a 6 e
        ZADD z XX 7 a 8 nope
        ZADD z GT CH 1 a 10 b
        ZADD z LT CH 1 a 10 b
        ZADD z XX GT CH 20 a
        ZRANGE z 0 -1 WITHSCORES
        ZADD z INCR 2.5 a
        ZINCRBY z -1 a
        ZINCRBY z 0.1 a
        ZADD z NX INCR 1 a
        ZADD z XX INCR 1 new
        ZADD z GT INCR -1 a
        ZADD nz XX 1 a
        EXISTS nz
        ZADD inf inf x
        ZINCRBY inf -inf x
        ZADD inf -inf y +inf z
        ZRANGE inf 0 -1 WITHSCORES
        ZADD z NX XX 1 a
        ZADD z GT LT 1 a
        ZADD z GT NX 1 a
        ZADD z INCR 1 a 2 b
        ZADD z 1 a 2
        ZADD z NX 1
        ZADD z nan a
        ZADD z 1e400 a
        ZADD z 1e-400 a
        ZADD z "" a
        ZADD z " 1" a
        ZADD z 0x10 hex
        ZADD z -0 negzero
        ZADD z 1.5e3 e3 -2.25 neg 0.1 tenth
        ZSCORE z negzero
        ZSCORE z tenth
        ZSCORE z nope
        ZSCORE nz a
        ZMSCORE z a b nope
        ZMSCORE nz a
        ZINCRBY z x a
        ZINCRBY nz 5 m
        ZCARD z
        ZCARD nz
        SET s v
        ZADD s 1 a
        ZSCORE s a
        ZCARD s
        TYPE z
        OBJECT ENCODING z
        ZADD
        ZADD z
        ZADD z 1
    """),
    ("ranges", """
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZRANGE z 0 -1
        ZRANGE z 1 2 WITHSCORES
        ZRANGE z 0 1 REV
        ZRANGE z -2 -1 REV WITHSCORES
        ZREVRANGE z 0 1
        ZREVRANGE z 0 -1 WITHSCORES
        ZRANGE z (1 3 BYSCORE
        ZRANGE z 3 (1 BYSCORE REV
        ZRANGE z -inf +inf BYSCORE LIMIT 1 2
        ZRANGE z -inf +inf BYSCORE LIMIT -1 2
        ZRANGE z -inf +inf BYSCORE LIMIT 3 -1
        ZRANGE z -inf +inf BYSCORE LIMIT 3 0
        ZRANGE z +inf -inf BYSCORE REV LIMIT 1 1 WITHSCORES
        ZRANGEBYSCORE z 2 4 WITHSCORES LIMIT 0 1
        ZRANGEBYSCORE z 2 4 LIMIT 0 1 WITHSCORES
        ZREVRANGEBYSCORE z 4 2
        ZREVRANGEBYSCORE z (4 (2 WITHSCORES
        ZRANGEBYSCORE z 3 2
        ZRANGEBYSCORE z (3 3
        ZRANGEBYSCORE z "" ""
        ZRANGEBYSCORE z x 1
        ZRANGEBYSCORE z 1 ((2
        ZRANGEBYSCORE z 0 1 REV
        ZRANGEBYSCORE z 0 1 LIMIT 0
        ZRANGEBYSCORE z 0 1 LIMIT x 1
        ZRANGE z 0 1 LIMIT 0 1
        ZRANGE z 0 -1 LIMIT 0 -1
        ZRANGE z 0 -1 LIMIT 3 -1
        ZRANGESTORE zd z 0 -1 LIMIT 1 -1
        ZRANGE z 0 1 BYSCORE BYLEX
        ZRANGE z 0 1 REV REV
        ZRANGE z x 1
        ZRANGE z 0 1 FOO
        ZRANGE nz 0 -1
        ZRANGE nz 0 -1 BYSCORE
        ZRANGE z 10 20
        ZRANGE z 3 1
        ZRANGE z -100 100
        ZCOUNT z (1 +inf
        ZCOUNT z -inf (3
        ZCOUNT z 5 1
        ZCOUNT z x 1
        ZCOUNT nz 0 1
        ZRANK z c
        ZREVRANK z c
        ZREVRANK z a
        ZRANK z zz
        ZRANK nz a
        SET s v
        ZRANGE s 0 1
        ZRANK s a
        ZCOUNT s 0 1
        ZRANGEBYSCORE s x 1
    """),
    ("lex", """
        ZADD l 0 a 0 b 0 c 0 d 0 e
        ZRANGEBYLEX l [b (d
        ZRANGEBYLEX l - +
        ZRANGEBYLEX l - + LIMIT 1 2
        ZRANGE l + - BYLEX REV LIMIT 0 2
        ZREVRANGEBYLEX l (c -
        ZREVRANGEBYLEX l + [c LIMIT 1 5
        ZLEXCOUNT l - +
        ZLEXCOUNT l [b [d
        ZLEXCOUNT l [z [a
        ZLEXCOUNT l (a (a
        ZLEXCOUNT l a b
        ZLEXCOUNT l [a c
        ZRANGEBYLEX l + -
        ZRANGEBYLEX l [ +
        ZRANGE l - + BYLEX WITHSCORES
        ZRANGEBYLEX l - + WITHSCORES
        ZREMRANGEBYLEX l (d +
        ZRANGE l 0 -1
        ZREMRANGEBYLEX l x y
        ZLEXCOUNT nz - +
    """),
    ("pop/mpop/remrange/store", """
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZRANGESTORE d z 1 -2
        ZRANGE d 0 -1 WITHSCORES
        ZRANGESTORE d z 10 20
        EXISTS d
        ZRANGESTORE d z 0 -1 WITHSCORES
        ZRANGESTORE d z (1 +inf BYSCORE LIMIT 0 2
        ZRANGE d 0 -1 WITHSCORES
        ZRANGESTORE d nz 0 -1
        EXISTS d
        ZPOPMIN z
        ZPOPMAX z 2
        ZPOPMIN z 0
        ZPOPMIN nz
        ZPOPMIN nz 2
        ZPOPMIN z -1
        ZPOPMIN z x
        ZPOPMIN z 1 2
        ZMPOP 2 nz z MAX COUNT 5
        EXISTS z
        ZMPOP 1 z MIN
        ZMPOP 1 z MIDDLE
        ZMPOP 0 z MIN
        ZMPOP 2 z MIN
        ZMPOP 1 z MIN COUNT 0
        ZMPOP 1 z MIN COUNT 1 COUNT 1
        ZADD r 1 a 2 b 3 c 4 d 5 e
        ZREMRANGEBYRANK r 0 1
        ZREMRANGEBYSCORE r (3 4
        ZREMRANGEBYRANK r 5 10
        ZREMRANGEBYRANK r x 1
        ZREMRANGEBYSCORE r x 1
        ZREMRANGEBYLEX r - +
        EXISTS r
        ZREM nz a
        ZADD r 1 a 2 b
        ZREM r a zz
        ZREM r b
        EXISTS r
        SET s v
        ZPOPMIN s
        ZMPOP 1 s MIN
        ZREMRANGEBYRANK s 0 1
        ZRANGESTORE d s 0 1
    """),
    ("union/inter/diff", """
        ZADD a 1 x 2 y 3 z
        ZADD b 10 y 20 z 30 w
        SADD s z w
        SADD i 1 2
        ZUNION 2 a b WITHSCORES
        ZUNION 2 a b
        ZINTER 2 a b WEIGHTS 2 1 AGGREGATE MAX WITHSCORES
        ZINTER 3 a b s AGGREGATE MIN WITHSCORES
        ZINTER 2 a i
        ZUNION 3 a s i WITHSCORES
        ZDIFF 2 a b
        ZDIFF 2 a nz WITHSCORES
        ZDIFF 1 s WITHSCORES
        ZUNIONSTORE d 2 a s
        ZRANGE d 0 -1 WITHSCORES
        ZINTERSTORE d 2 a nz
        EXISTS d
        ZDIFFSTORE d 1 a
        ZRANGE d 0 -1 WITHSCORES
        ZUNIONSTORE d 2 a b WEIGHTS 1 -1 AGGREGATE SUM
        ZRANGE d 0 -1 WITHSCORES
        ZADD inf inf m
        ZADD ninf -inf m
        ZUNION 2 inf ninf WITHSCORES
        ZUNION 1 inf WEIGHTS 0 WITHSCORES
        ZINTER 2 inf ninf WITHSCORES
        ZUNION 0 a
        ZUNION -1 a
        ZUNION x a
        ZUNION 3 a b
        ZUNION 2 a b WEIGHTS 1 x
        ZUNION 2 a b WEIGHTS 1
        ZUNION 2 a b AGGREGATE AVG
        ZUNION 2 a b AGGREGATE
        ZDIFF 2 a b WEIGHTS 1 1
        ZDIFF 2 a b AGGREGATE SUM
        ZUNIONSTORE d 1 a WITHSCORES
        ZUNIONSTORE d 0 a
        SET str v
        ZUNION 2 a str WEIGHTS x x
        ZINTERSTORE d 2 str a
        ZDIFF 2 nz str
        ZUNIONSTORE str 1 a
        TYPE str
    """),
    ("randmember", """
        ZADD z 1 a 2 b 3 c
        ZRANDMEMBER z 2 WITHSCORES
        ZRANDMEMBER z 5
        ZRANDMEMBER z 5 WITHSCORES
        ZRANDMEMBER z -6
        ZRANDMEMBER z
        ZRANDMEMBER z 0
        ZRANDMEMBER nz
        ZRANDMEMBER nz 2
        ZRANDMEMBER z 1 FOO
        ZRANDMEMBER z x
        ZRANDMEMBER z -9223372036854775808
        ZRANDMEMBER z 9223372036854775807 WITHSCORES
        ZRANDMEMBER z -4611686018427387904 WITHSCORES
    """),
]


def big_zset_steps():
    """300 members: a skiplist in Redis; ranks and ranges over many chunks."""
    add = ["ZADD", "big"]
    for i in range(300):
        add += [str((i * 37) % 300 / 4), f"m{i:03}"]
    return [add, "ZCARD big", "OBJECT ENCODING big", "ZRANK big m150", "ZREVRANK big m150",
            "ZRANGE big 100 110 WITHSCORES", "ZRANGE big 5 0 BYSCORE REV WITHSCORES",
            "ZCOUNT big 10 (20", "ZRANGESTORE small big 0 9", "OBJECT ENCODING small",
            "ZREMRANGEBYRANK big 0 -11", "ZRANGE big 0 -1 WITHSCORES", "ZADD long 1 " + "m" * 65,
            "OBJECT ENCODING long", "ZPOPMAX long", "EXISTS long"]


ZSET_CASES.append(("big", big_zset_steps()))

ZKEYS = ["z0", "z1", "z2", "s0"]
ZMEMBERS = ["a", "b", "c", "d", "1", "", "m" * 70]
ZSCORES = ["0", "1", "-1", "2.5", "1e3", "-inf", "+inf", "0.1", "x", "nan", "(1"]
RANGE_ENDS = ["-inf", "+inf", "0", "1", "(1", "2.5", "(2.5", "x", "10"]
LEX_ENDS = ["-", "+", "[a", "(a", "[c", "(d", "b"]
RANKS = ["0", "1", "-1", "-2", "2", "100", "-100", "x"]
ZSET_CMDS = ["ZADD", "ZINCRBY", "ZREM", "ZSCORE", "ZMSCORE", "ZCARD", "ZCOUNT", "ZLEXCOUNT", "ZRANK",
             "ZREVRANK", "ZRANGE", "ZRANGESTORE", "ZREVRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
             "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZPOPMIN", "ZPOPMAX", "ZMPOP", "ZREMRANGEBYRANK",
             "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZUNION",
             "ZINTER", "ZDIFF"]


def gen_zsets(g):
    k, k2 = g.r.choice(ZKEYS), g.r.choice(ZKEYS)
    m = lambda: g.r.choice(ZMEMBERS)
    sc = lambda: g.r.choice(ZSCORES)
    flags = lambda: g.r.sample(["NX", "XX", "GT", "LT", "CH"], g.r.choice([0, 0, 1, 1, 2]))
    ws = lambda: g.r.choice([["WITHSCORES"], []])
    # Lex ranges are defined for members of equal score: "zl" only holds
    # score 0; on mixed scores Redis's skiplist answers by its random levels.
    lk = lambda: "zl"
    lim = lambda: g.r.choice([[], [], ["LIMIT", g.r.choice(["0", "1", "-1"]), g.r.choice(["1", "2", "-1", "0"])]])
    nk = lambda: (lambda ks: [str(len(ks))] + ks)([g.r.choice(ZKEYS) for _ in range(g.r.randint(1, 3))])
    opts = lambda: g.r.choice([[], ["WEIGHTS"] + g.r.choice([["2"], ["1", "-1"], ["0.5", "3", "1"]]),
                               ["AGGREGATE", g.r.choice(["SUM", "MIN", "MAX", "AVG"])]])
    return g.pick([
        (8, lambda: ["ZADD", k] + flags() + sum(([sc(), m()] for _ in range(g.r.randint(1, 3))), [])),
        (1, lambda: ["ZADD", k, "INCR"] + flags() + [sc(), m()]),
        (2, lambda: ["ZINCRBY", k, sc(), m()]),
        (2, lambda: ["ZREM", k, m(), m()]),
        (2, lambda: ["ZSCORE", k, m()]),
        (1, lambda: ["ZMSCORE", k, m(), m()]),
        (1, lambda: ["ZCARD", k]),
        (2, lambda: ["ZCOUNT", k, g.r.choice(RANGE_ENDS), g.r.choice(RANGE_ENDS)]),
        (1, lambda: ["ZLEXCOUNT", lk(), g.r.choice(LEX_ENDS), g.r.choice(LEX_ENDS)]),
        (2, lambda: [g.r.choice(["ZRANK", "ZREVRANK"]), k, m()]),
        (3, lambda: ["ZRANGE", k, g.r.choice(RANKS), g.r.choice(RANKS)] + g.r.choice([[], ["REV"]]) + ws()),
        (3, lambda: ["ZRANGE", k, g.r.choice(RANGE_ENDS), g.r.choice(RANGE_ENDS), "BYSCORE"]
         + g.r.choice([[], ["REV"]]) + lim() + ws()),
        (1, lambda: ["ZRANGE", lk(), g.r.choice(LEX_ENDS), g.r.choice(LEX_ENDS), "BYLEX"] + lim()),
        (1, lambda: ["ZREVRANGE", k, g.r.choice(RANKS), g.r.choice(RANKS)] + ws()),
        (2, lambda: [g.r.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), k, g.r.choice(RANGE_ENDS),
                     g.r.choice(RANGE_ENDS)] + ws() + lim()),
        (1, lambda: [g.r.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), lk(), g.r.choice(LEX_ENDS),
                     g.r.choice(LEX_ENDS)] + lim()),
        (1, lambda: ["ZRANGESTORE", k2, k, g.r.choice(RANKS), g.r.choice(RANKS)]),
        (2, lambda: [g.r.choice(["ZPOPMIN", "ZPOPMAX"]), k] + g.r.choice([[], ["2"], ["0"], ["-1"]])),
        (1, lambda: ["ZMPOP"] + nk() + [g.r.choice(["MIN", "MAX"])] + g.r.choice([[], ["COUNT", "2"]])),
        (1, lambda: ["ZREMRANGEBYRANK", k, g.r.choice(RANKS), g.r.choice(RANKS)]),
        (1, lambda: ["ZREMRANGEBYSCORE", k, g.r.choice(RANGE_ENDS), g.r.choice(RANGE_ENDS)]),
        (1, lambda: ["ZREMRANGEBYLEX", lk(), g.r.choice(LEX_ENDS), g.r.choice(LEX_ENDS)]),
        (2, lambda: ["ZADD", "zl", "0", m()]),
        (2, lambda: [g.r.choice(["ZUNION", "ZINTER"])] + nk() + opts() + ws()),
        (1, lambda: ["ZDIFF"] + nk() + ws()),
        (2, lambda: [g.r.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), k2] + nk() + opts()),
        (0.5, lambda: ["SADD", "s0", m()]),
        (0.5, lambda: ["SET", "s0", "v"]),
        (1, lambda: ["OBJECT", "ENCODING", k]),
        (0.5, lambda: ["DEL", k]),
        (0.5, lambda: g.bad_arity(ZSET_CMDS)),
    ])

SCAN_CASES = [
    ("scan family", """
        SET a1 v
        SET a2 v
        HSET h f1 v1 f2 v2
        SADD s 3 1 2
        SADD hs x y z
        ZADD z 2 b 1 a
        SCAN 0
        SCAN 0 COUNT 100
        SCAN 0 MATCH a*
        SCAN 0 TYPE hash
        SCAN 0 TYPE string MATCH a1
        SCAN 0 TYPE nosuch
        SCAN 0 COUNT 0
        SCAN 0 COUNT -1
        SCAN 0 COUNT x
        SCAN x
        SCAN 18446744073709551616
        SCAN 0 MATCH
        SCAN 0 FOO bar
        HSCAN h 0
        HSCAN h 0 MATCH f2
        HSCAN h 0 COUNT 0
        HSCAN nokey 0
        HSCAN nokey 0 COUNT 0
        HSCAN a1 0
        HSCAN a1 0 COUNT 0
        HSCAN h x
        SSCAN s 0
        SSCAN s 0 COUNT 1
        SSCAN hs 0
        SSCAN s 0 TYPE set
        ZSCAN z 0
        ZSCAN z 0 MATCH a
        ZSCAN z 0 COUNT 0
        ZSCAN s 0
        SCAN
        HSCAN h
    """),
]

PUBSUB_CASES = [
    ("subscribe, messages and modes", """
        PUBLISH nobody hi
        PUBSUB NUMSUB a b
        PUBSUB NUMPAT
        PUBSUB CHANNELS
        UNSUBSCRIBE
        PUNSUBSCRIBE
        SUBSCRIBE a b
        SUBSCRIBE a
        PSUBSCRIBE n* a?
        @1 PUBSUB NUMSUB a b c
        @1 PUBSUB NUMPAT
        @1 PUBSUB CHANNELS
        @1 PUBSUB CHANNELS b*
        @1 PUBLISH a hello
        !sleep 0.1
        PING
        @1 PUBLISH news extra
        !sleep 0.1
        PING
        PING payload
        GET k
        SET k v
        UNSUBSCRIBE b nope
        PUNSUBSCRIBE
        UNSUBSCRIBE
        GET k
        SUBSCRIBE
        PSUBSCRIBE
        PUBLISH a
        PUBSUB
        PUBSUB NOSUCH
        PUBSUB NUMPAT extra
        PUBSUB CHANNELS a b
        PUBSUB HELP extra
        pubsub numpat extra
    """),
    ("resp3 pushes", """
        HELLO 3
        SUBSCRIBE c
        GET k
        @1 PUBLISH c msg
        !sleep 0.1
        PING
        RESET
        @1 PUBLISH c after
        PING
    """),
]
