"""Seeded random command sequences for the differential tester (diff.py):
a small key space so commands collide (WRONGTYPE, overwrites, expiry)."""

import time

NOW = int(time.time())  # fixed "now" so EXPIREAT-style arguments are identical for both servers

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


RANDOM = {"strings": gen_strings, "hashes": gen_hashes, "keys": gen_keys, "expire": gen_expire, "tx": gen_tx}
