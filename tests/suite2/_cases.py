"""Hand-written command sequences for the differential tester (diff.py).

Each case is one command per line; `@1 CMD` sends on a second connection and
{now}/{nowms} placeholders are filled in by diff.py.
"""

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
            INCRBYFLOAT fl 3.0e3
            OBJECT ENCODING fl
            INCR fl
            OBJECT ENCODING fl
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
