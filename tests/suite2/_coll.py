"""Lists and sets for the differential tester (diff.py): hand-written cases
and seeded random generators, in the same shapes as _cases.py and _gen.py.

Random picks (SPOP, SRANDMEMBER) legitimately differ between servers: the
generators only pop whole sets (SPOP with a count above the set's size) so
both servers keep the same state, and SRANDMEMBER is compared by shape."""

LIST_CASES = [
    ("push/pop/len/range", """
        RPUSH l a b c
        LPUSH l z y
        LRANGE l 0 -1
        LRANGE l -2 100
        LRANGE l 3 1
        LRANGE l -100 -4
        LRANGE nol 0 -1
        LRANGE l x 1
        LRANGE l 0
        LLEN l
        LLEN nol
        LPOP l
        RPOP l 2
        LPOP l 0
        LPOP nol
        LPOP nol 3
        LPOP nol 0
        LPOP l -1
        LPOP l x
        LPOP l 1 2
        RPOP l 10
        EXISTS l
        LPUSHX l a
        RPUSHX l a
        EXISTS l
        RPUSH l a
        RPUSHX l b c
        LPUSHX l z
        LRANGE l 0 -1
        LPUSH l
        RPUSH
        TYPE l
        OBJECT ENCODING l
    """),
    ("index/set/rem/trim/insert", """
        RPUSH l a b a c a
        LINDEX l -1
        LINDEX l 9
        LINDEX l x
        LINDEX nol 0
        LSET l 1 B
        LSET l 5 x
        LSET l -6 x
        LSET nol 0 x
        LSET l x v
        LREM l -2 a
        LRANGE l 0 -1
        RPUSH l a a
        LREM l 1 a
        LREM l 0 a
        LREM l 0 zz
        LREM nol 0 a
        LREM l x a
        LINSERT l BEFORE c x
        LINSERT l after c y
        LINSERT l after nope y
        LINSERT nol after c y
        LINSERT l middle c y
        LRANGE l 0 -1
        LTRIM l 1 -2
        LRANGE l 0 -1
        LTRIM l 5 10
        EXISTS l
        LTRIM l x 1
        LTRIM nol 0 1
    """),
    ("lpos", """
        RPUSH l a b c 1 2 3 c c
        LPOS l c
        LPOS l c RANK 2
        LPOS l c RANK -1
        LPOS l c COUNT 0
        LPOS l c RANK -2 COUNT 2
        LPOS l c MAXLEN 2
        LPOS l c COUNT 1 MAXLEN 3
        LPOS l c RANK -1 MAXLEN 2
        LPOS l zz
        LPOS nol zz
        LPOS nol zz COUNT 1
        LPOS l c RANK 0
        LPOS l c COUNT -1
        LPOS l c MAXLEN -1
        LPOS l c RANK
        LPOS l c RANK x
        LPOS l c FOO 1
        LPOS l c RANK 1 RANK 3
        LPOS l c RANK 100
    """),
    ("lmove/rpoplpush/lmpop", """
        RPUSH src a b c
        LMOVE src dst LEFT RIGHT
        RPOPLPUSH src dst
        LRANGE dst 0 -1
        LMOVE src src RIGHT LEFT
        RPOPLPUSH src src
        LRANGE src 0 -1
        LMOVE nope dst LEFT LEFT
        RPOPLPUSH nope dst
        SET str v
        LMOVE src str LEFT LEFT
        LMOVE str src LEFT LEFT
        LLEN src
        LMOVE src dst UP LEFT
        LMOVE src dst left
        LMPOP 3 nope src dst LEFT COUNT 5
        EXISTS src
        LMPOP 2 dst nope RIGHT
        LMPOP 1 nope LEFT
        LMPOP 0 dst LEFT
        LMPOP -1 dst LEFT
        LMPOP x dst LEFT
        LMPOP 2 dst LEFT
        LMPOP 1 dst
        LMPOP 1 dst LEFT COUNT
        LMPOP 1 dst LEFT COUNT 0
        LMPOP 1 dst LEFT COUNT x
        LMPOP 1 dst LEFT COUNT 1 COUNT 1
        LMPOP 1 dst MIDDLE
        LMPOP 1 str LEFT
        RPUSH big 1 2 3 4 5 6 7 8 9 10
        LMPOP 1 big RIGHT COUNT 3
        LMPOP 1 big LEFT COUNT 100
        EXISTS big
    """),
    ("wrongtype", """
        SET s v
        LPUSH s a
        RPUSHX s a
        LRANGE s 0 1
        LLEN s
        LPOP s
        LINDEX s 0
        LSET s 0 v
        LREM s 0 v
        LTRIM s 0 1
        LINSERT s BEFORE a b
        LPOS s a
        HSET h f v
        LPUSH h a
        RPUSH l a
        GET l
        HGET l f
        SADD l a
    """),
]

SET_CASES = [
    ("sadd/srem/members/card", """
        SADD s 3 1 2 1
        SMEMBERS s
        OBJECT ENCODING s
        SADD s a
        OBJECT ENCODING s
        SCARD s
        SISMEMBER s a
        SISMEMBER s z
        SISMEMBER nos a
        SMISMEMBER s a z 1
        SMISMEMBER nos a
        SMISMEMBER s
        SREM s a z
        SREM s 1 2 3
        EXISTS s
        SMEMBERS s
        SCARD s
        SADD s
        SREM s
        SADD n 10 -5 007 5
        SMEMBERS n
        OBJECT ENCODING n
        SADD m 9223372036854775807 -9223372036854775808 0
        SMEMBERS m
        SADD m 9223372036854775808
        OBJECT ENCODING m
    """),
    ("spop/srandmember", """
        SADD one x
        SPOP one
        EXISTS one
        SADD s a b c
        SPOP s 0
        SPOP nos 2
        SPOP nos
        SPOP nos 0
        SPOP s -1
        SPOP s x
        SPOP s 1 2
        SRANDMEMBER s 0
        SRANDMEMBER nos
        SRANDMEMBER nos 3
        SRANDMEMBER nos -3
        SRANDMEMBER s -9223372036854775808
        SRANDMEMBER s x
        SRANDMEMBER s 1 2
        SRANDMEMBER s 10
        SRANDMEMBER s 2
        SRANDMEMBER s -7
        SRANDMEMBER s
        SPOP s 10
        EXISTS s
    """),
    ("sinter/sunion/sdiff/store", """
        SADD a 1 2 3 x
        SADD b 2 3 4 x
        SADD c 3 x y
        SINTER a b c
        SUNION a c
        SDIFF a b
        SDIFF a b c
        SDIFF nos a
        SINTER a nos
        SUNION nos
        SINTER a
        SADD i1 5 1 3
        SADD i2 3 4 5
        SINTER i1 i2
        SUNION i1 i2
        SDIFF i1 i2
        SINTERSTORE d a b
        SMEMBERS d
        SUNIONSTORE d a
        SDIFFSTORE d a a
        EXISTS d
        SET str v
        SINTER nos str
        SUNION nos str
        SDIFF a str
        SUNIONSTORE str a
        TYPE str
        SINTERSTORE str nos
        TYPE str
        SUNIONSTORE n2 i1
        OBJECT ENCODING n2
        SMEMBERS n2
        SINTERCARD 2 a b
        SINTERCARD 2 a b LIMIT 2
        SINTERCARD 2 a b LIMIT 0
        SINTERCARD 1 nos
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD 3 a b
        SINTERCARD 1 a LIMIT -1
        SINTERCARD 1 a LIMIT x
        SINTERCARD 1 a FOO 1
        SINTERCARD 1 a LIMIT
        SINTERSTORE d
        SINTER
    """),
    ("smove", """
        SADD a x y
        SMOVE a b x
        SMOVE a b zz
        SMOVE nos b x
        SMOVE a a y
        SMOVE a a zz
        SMOVE a b y
        EXISTS a
        SMEMBERS b
        SET str v
        SMOVE b str x
        SMOVE str b x
        SMOVE nos str x
        SCARD b
    """),
]


def big_set_steps():
    """600 integers: past the intset limit, so Redis's order is free."""
    return [["SADD", "big"] + [str(i) for i in range(600)], "SCARD big", "OBJECT ENCODING big",
            "SMEMBERS big", "SISMEMBER big 599", ["SREM", "big"] + [str(i) for i in range(0, 600, 2)],
            "SCARD big", "SMEMBERS big", "SINTER big big", "SPOP big 1000", "EXISTS big"]


SET_CASES.append(("big set", big_set_steps()))

# --------------------------------------------------------------------------
# Random sequences
# --------------------------------------------------------------------------

LIST_KEYS = ["l0", "l1", "l2", "s0"]
ELEMS = ["a", "b", "c", "", "1", "-1", "10", "x" * 70]
MEMBERS = ["a", "b", "c", "1", "2", "-3", "10", "007", "9223372036854775807", ""]
LIST_CMDS = ["LPUSH", "RPUSH", "LPOP", "RPOP", "LLEN", "LRANGE", "LINDEX", "LSET", "LREM", "LTRIM",
             "LINSERT", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP"]
SET_CMDS = ["SADD", "SREM", "SMEMBERS", "SISMEMBER", "SMISMEMBER", "SCARD", "SINTER", "SUNION",
            "SDIFF", "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "SINTERCARD", "SMOVE"]
IDX = ["0", "1", "2", "-1", "-2", "5", "-100", "100", "x"]


def gen_lists(g):
    k, k2 = g.r.choice(LIST_KEYS), g.r.choice(LIST_KEYS)
    e = lambda: g.r.choice(ELEMS)
    side = lambda: g.r.choice(["LEFT", "RIGHT", "left", "BOTH"]) if g.r.random() < 0.05 else g.r.choice(["LEFT", "RIGHT"])
    return g.pick([
        (6, lambda: [g.r.choice(["LPUSH", "RPUSH"]), k] + [e() for _ in range(g.r.randint(1, 3))]),
        (1, lambda: [g.r.choice(["LPUSHX", "RPUSHX"]), k, e()]),
        (3, lambda: [g.r.choice(["LPOP", "RPOP"]), k] + g.r.choice([[], [], ["0"], ["2"], ["-1"], ["x"]])),
        (2, lambda: ["LLEN", k]),
        (4, lambda: ["LRANGE", k, g.r.choice(IDX), g.r.choice(IDX)]),
        (2, lambda: ["LINDEX", k, g.r.choice(IDX)]),
        (2, lambda: ["LSET", k, g.r.choice(IDX), e()]),
        (2, lambda: ["LREM", k, g.r.choice(["0", "1", "-1", "2", "x"]), e()]),
        (1, lambda: ["LTRIM", k, g.r.choice(IDX), g.r.choice(IDX)]),
        (2, lambda: ["LINSERT", k, g.r.choice(["BEFORE", "AFTER", "before", "NEAR"]), e(), e()]),
        (2, lambda: ["LPOS", k, e()] + g.r.choice([[], ["RANK", g.r.choice(["1", "-1", "2", "0"])],
                                                   ["COUNT", g.r.choice(["0", "1", "-1"])], ["MAXLEN", "2"],
                                                   ["RANK", "-2", "COUNT", "0", "MAXLEN", "0"]])),
        (2, lambda: ["LMOVE", k, k2, side(), side()]),
        (1, lambda: ["RPOPLPUSH", k, k2]),
        (1, lambda: ["LMPOP", "2", k, k2, side()] + g.r.choice([[], ["COUNT", "2"], ["COUNT", "0"]])),
        (1, lambda: ["SET", "s0", "v"]),
        (1, lambda: ["TYPE", k]),
        (0.5, lambda: ["DEL", k]),
        (0.5, lambda: g.bad_arity(LIST_CMDS)),
    ])


def gen_sets(g):
    keys = ["s0", "s1", "s2", "str"]
    k, k2 = g.r.choice(keys), g.r.choice(keys)
    m = lambda: g.r.choice(MEMBERS)
    ks = lambda: [g.r.choice(keys) for _ in range(g.r.randint(1, 3))]
    return g.pick([
        (6, lambda: ["SADD", k] + [m() for _ in range(g.r.randint(1, 4))]),
        (3, lambda: ["SREM", k] + [m() for _ in range(g.r.randint(1, 3))]),
        (3, lambda: ["SMEMBERS", k]),
        (2, lambda: ["SISMEMBER", k, m()]),
        (1, lambda: ["SMISMEMBER", k, m(), m()]),
        (2, lambda: ["SCARD", k]),
        (3, lambda: [g.r.choice(["SINTER", "SUNION", "SDIFF"])] + ks()),
        (2, lambda: [g.r.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), g.r.choice(keys)] + ks()),
        (1, lambda: ["SINTERCARD", "2", k, k2] + g.r.choice([[], ["LIMIT", "1"], ["LIMIT", "-1"]])),
        (2, lambda: ["SMOVE", k, k2, m()]),
        (0.5, lambda: ["SPOP", k, "1000"]),
        (0.5, lambda: ["SRANDMEMBER", k] + g.r.choice([[], ["2"], ["-3"]])),
        (1, lambda: ["OBJECT", "ENCODING", k]),
        (1, lambda: ["SET", "str", "v"]),
        (0.5, lambda: ["DEL", k]),
        (0.5, lambda: g.bad_arity(SET_CMDS)),
    ])
