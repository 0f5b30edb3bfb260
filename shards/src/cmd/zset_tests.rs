//! Tests of the sorted-set commands (zset.rs parses, zset_exec.rs runs).
use crate::cmd::testutil::{arr, b, err, Fixture};
use cachecat_io::Reply;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn d(x: f64) -> Reply {
    Reply::Double(x)
}

fn pairs(items: &[(&str, f64)]) -> Reply {
    Reply::Pairs(items.iter().map(|(m, s)| (b(m), d(*s))).collect())
}

fn ints(v: &[i64]) -> Reply {
    Reply::Array(v.iter().map(|&i| Reply::Int(i)).collect())
}

#[test]
fn zadd_flags() {
    let mut f = Fixture::new();
    assert_eq!(f.w("ZADD z 1 a 2 b 3 c"), Reply::Int(3));
    assert_eq!(f.w("ZADD z CH 1 a 5 b 4 d"), Reply::Int(2));
    assert_eq!(f.w("ZADD z NX 9 a 6 e"), Reply::Int(1));
    assert_eq!(f.r("ZSCORE z a"), d(1.0));
    assert_eq!(f.w("ZADD z XX 7 a 8 nope"), Reply::Int(0));
    assert_eq!(f.r("ZSCORE z a"), d(7.0));
    assert_eq!(f.r("ZSCORE z nope"), Reply::Nil);
    assert_eq!(f.w("ZADD z GT CH 1 a 10 b"), Reply::Int(1));
    assert_eq!(f.w("ZADD z LT CH 1 a 10 b"), Reply::Int(1));
    assert_eq!(
        f.r("ZMSCORE z a b zz"),
        Reply::Array(vec![d(1.0), d(10.0), Reply::Nil])
    );
    assert_eq!(f.w("ZADD z INCR 2.5 a"), d(3.5));
    assert_eq!(f.w("ZINCRBY z -1 a"), d(2.5));
    assert_eq!(f.w("ZADD z NX INCR 1 a"), Reply::Nil);
    assert_eq!(f.w("ZADD z XX INCR 1 new"), Reply::Nil);
    assert_eq!(f.w("ZADD nz XX 1 a"), Reply::Int(0));
    assert!(!f.exists("nz"));
    f.w("ZADD inf inf x");
    assert_eq!(
        f.w("ZINCRBY inf -inf x"),
        err("ERR resulting score is not a number (NaN)")
    );
    assert_eq!(
        f.w("ZADD z NX XX 1 a"),
        err("ERR XX and NX options at the same time are not compatible")
    );
    assert_eq!(
        f.w("ZADD z GT LT 1 a"),
        err("ERR GT, LT, and/or NX options at the same time are not compatible")
    );
    assert_eq!(
        f.w("ZADD z INCR 1 a 2 b"),
        err("ERR INCR option supports a single increment-element pair")
    );
    assert_eq!(f.w("ZADD z 1 a 2"), err("ERR syntax error"));
    assert_eq!(f.w("ZADD z NX 1"), err("ERR syntax error"));
    assert_eq!(f.w("ZADD z nan a"), err("ERR value is not a valid float"));
    assert_eq!(f.w("ZADD z 1e400 a"), err("ERR value is not a valid float"));
    f.w("SET s v");
    assert_eq!(f.w("ZADD s 1 a"), err(WRONGTYPE));
    assert_eq!(f.r("OBJECT ENCODING z"), b("listpack"));
    assert_eq!(f.r("TYPE z"), Reply::Simple("zset".into()));
}

#[test]
fn ranges_ranks_counts() {
    let mut f = Fixture::new();
    f.w("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(f.r("ZRANGE z 0 -1"), arr(&["a", "b", "c", "d", "e"]));
    assert_eq!(
        f.r("ZRANGE z 1 2 WITHSCORES"),
        pairs(&[("b", 2.0), ("c", 3.0)])
    );
    assert_eq!(f.r("ZRANGE z 0 1 REV"), arr(&["e", "d"]));
    assert_eq!(f.r("ZREVRANGE z 0 1"), arr(&["e", "d"]));
    assert_eq!(f.r("ZRANGE z (1 3 BYSCORE"), arr(&["b", "c"]));
    assert_eq!(f.r("ZRANGE z 3 (1 BYSCORE REV"), arr(&["c", "b"]));
    assert_eq!(
        f.r("ZRANGE z -inf +inf BYSCORE LIMIT 1 2"),
        arr(&["b", "c"])
    );
    assert_eq!(f.r("ZRANGE z -inf +inf BYSCORE LIMIT -1 2"), arr(&[]));
    assert_eq!(
        f.r("ZRANGE z -inf +inf BYSCORE LIMIT 3 -1"),
        arr(&["d", "e"])
    );
    assert_eq!(
        f.r("ZRANGEBYSCORE z 2 4 WITHSCORES LIMIT 0 1"),
        pairs(&[("b", 2.0)])
    );
    assert_eq!(f.r("ZREVRANGEBYSCORE z 4 2"), arr(&["d", "c", "b"]));
    assert_eq!(f.r("ZRANGEBYSCORE z 3 2"), arr(&[]));
    assert_eq!(f.r("ZRANGEBYSCORE z (3 3"), arr(&[]));
    assert_eq!(f.r("ZCOUNT z (1 +inf"), Reply::Int(4));
    assert_eq!(f.r("ZCOUNT z x 1"), err("ERR min or max is not a float"));
    assert_eq!(f.r("ZRANK z c"), Reply::Int(2));
    assert_eq!(f.r("ZREVRANK z c"), Reply::Int(2));
    assert_eq!(f.r("ZREVRANK z a"), Reply::Int(4));
    assert_eq!(f.r("ZRANK z zz"), Reply::Nil);
    assert_eq!(f.r("ZRANK nz a"), Reply::Nil);
    assert_eq!(f.r("ZCARD z"), Reply::Int(5));
    assert_eq!(
        f.r("ZRANGE z 0 1 LIMIT 0 1"),
        err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
        )
    );
    assert_eq!(f.r("ZRANGEBYSCORE z 0 1 REV"), err("ERR syntax error"));
    assert_eq!(f.r("ZRANGE z 0 1 BYSCORE BYLEX"), err("ERR syntax error"));
    assert_eq!(
        f.r("ZRANGE z x 1"),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(f.r("ZRANGE nz 0 -1"), arr(&[]));

    f.w("ZADD l 0 a 0 b 0 c 0 d");
    assert_eq!(f.r("ZRANGEBYLEX l [b (d"), arr(&["b", "c"]));
    assert_eq!(f.r("ZRANGE l + - BYLEX REV LIMIT 0 2"), arr(&["d", "c"]));
    assert_eq!(f.r("ZREVRANGEBYLEX l (c -"), arr(&["b", "a"]));
    assert_eq!(f.r("ZLEXCOUNT l - +"), Reply::Int(4));
    assert_eq!(f.r("ZLEXCOUNT l [z [a"), Reply::Int(0));
    assert_eq!(
        f.r("ZLEXCOUNT l a b"),
        err("ERR min or max not valid string range item")
    );
    assert_eq!(
        f.r("ZRANGE l - + BYLEX WITHSCORES"),
        err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    );
}

#[test]
fn store_pop_remrange() {
    let mut f = Fixture::new();
    f.w("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(f.w("ZRANGESTORE d z 1 -2"), Reply::Int(3));
    assert_eq!(
        f.r("ZRANGE d 0 -1 WITHSCORES"),
        pairs(&[("b", 2.0), ("c", 3.0), ("d", 4.0)])
    );
    assert_eq!(f.w("ZRANGESTORE d z 10 20"), Reply::Int(0));
    assert!(!f.exists("d"));
    assert_eq!(
        f.w("ZRANGESTORE d z 0 -1 WITHSCORES"),
        err("ERR syntax error")
    );
    assert_eq!(f.w("ZPOPMIN z"), Reply::Array(vec![b("a"), d(1.0)]));
    assert_eq!(f.w("ZPOPMAX z 2"), pairs(&[("e", 5.0), ("d", 4.0)]));
    assert_eq!(f.w("ZPOPMIN z 0"), arr(&[]));
    assert_eq!(f.w("ZPOPMIN nz"), arr(&[]));
    assert_eq!(
        f.w("ZPOPMIN z -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        f.w("ZMPOP 2 nz z MAX COUNT 5"),
        Reply::Array(vec![
            b("z"),
            Reply::Array(vec![
                Reply::Array(vec![b("c"), d(3.0)]),
                Reply::Array(vec![b("b"), d(2.0)])
            ])
        ]),
        "ZMPOP nests its pairs in RESP2 too"
    );
    assert!(!f.exists("z"));
    assert_eq!(f.w("ZMPOP 1 z MIN"), Reply::NilArray);
    assert_eq!(f.w("ZMPOP 1 z MIDDLE"), err("ERR syntax error"));
    f.w("ZADD r 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(f.w("ZREMRANGEBYRANK r 0 1"), Reply::Int(2));
    assert_eq!(f.w("ZREMRANGEBYSCORE r (3 4"), Reply::Int(1));
    assert_eq!(f.w("ZREMRANGEBYLEX r - +"), Reply::Int(2));
    assert!(!f.exists("r"));
    assert_eq!(f.w("ZREM nz a"), Reply::Int(0));
    f.w("ZADD r 1 a 2 b");
    assert_eq!(f.w("ZREM r a zz"), Reply::Int(1));
}

#[test]
fn union_inter_diff() {
    let mut f = Fixture::new();
    f.w("ZADD a 1 x 2 y 3 z");
    f.w("ZADD b 10 y 20 z 30 w");
    f.w("SADD s z w");
    assert_eq!(
        f.r("ZUNION 2 a b WITHSCORES"),
        pairs(&[("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)])
    );
    assert_eq!(
        f.r("ZINTER 2 a b WEIGHTS 2 1 AGGREGATE MAX WITHSCORES"),
        pairs(&[("y", 10.0), ("z", 20.0)])
    );
    assert_eq!(
        f.r("ZINTER 3 a b s AGGREGATE MIN WITHSCORES"),
        pairs(&[("z", 1.0)])
    );
    assert_eq!(f.r("ZDIFF 2 a b"), arr(&["x"]));
    assert_eq!(
        f.r("ZDIFF 2 a nz WITHSCORES"),
        pairs(&[("x", 1.0), ("y", 2.0), ("z", 3.0)])
    );
    assert_eq!(f.w("ZUNIONSTORE d 2 a s"), Reply::Int(4));
    assert_eq!(
        f.r("ZRANGE d 0 -1 WITHSCORES"),
        pairs(&[("w", 1.0), ("x", 1.0), ("y", 2.0), ("z", 4.0)])
    );
    assert_eq!(f.w("ZINTERSTORE d 2 a nz"), Reply::Int(0));
    assert!(!f.exists("d"));
    assert_eq!(f.w("ZDIFFSTORE d 1 a"), Reply::Int(3));
    assert_eq!(
        f.r("ZUNION 0 a"),
        err("ERR at least 1 input key is needed for 'zunion' command")
    );
    assert_eq!(f.r("ZUNION 3 a b"), err("ERR syntax error"));
    assert_eq!(
        f.r("ZUNION 2 a b WEIGHTS 1 x"),
        err("ERR weight value is not a float")
    );
    assert_eq!(f.r("ZUNION 2 a b AGGREGATE AVG"), err("ERR syntax error"));
    assert_eq!(f.r("ZDIFF 2 a b WEIGHTS 1 1"), err("ERR syntax error"));
    assert_eq!(f.w("ZUNIONSTORE d 1 a WITHSCORES"), err("ERR syntax error"));
    f.w("SET str v");
    assert_eq!(
        f.r("ZUNION 2 a str WEIGHTS x x"),
        err(WRONGTYPE),
        "type errors come first"
    );
}

#[test]
fn randmember_and_big_sets() {
    let mut f = Fixture::new();
    f.w("ZADD z 1 a 2 b 3 c");
    match f.r("ZRANDMEMBER z 2 WITHSCORES") {
        Reply::Pairs(v) => assert_eq!(v.len(), 2),
        r => panic!("{r:?}"),
    }
    assert_eq!(f.r("ZRANDMEMBER z 5"), arr(&["a", "b", "c"]));
    match f.r("ZRANDMEMBER z -6") {
        Reply::Array(v) => assert_eq!(v.len(), 6),
        r => panic!("{r:?}"),
    }
    assert_eq!(f.r("ZRANDMEMBER nz"), Reply::Nil);
    assert_eq!(f.r("ZRANDMEMBER nz 2"), arr(&[]));
    assert_eq!(f.r("ZRANDMEMBER z 1 FOO"), err("ERR syntax error"));
    let mut line = String::from("ZADD big");
    for i in 0..300 {
        line += &format!(" {} m{i:03}", 300 - i);
    }
    f.w(&line);
    assert_eq!(f.r("OBJECT ENCODING big"), b("skiplist"));
    assert_eq!(f.r("ZRANK big m299"), Reply::Int(0));
    assert_eq!(f.r("ZRANGE big 0 1"), arr(&["m299", "m298"]));
    assert_eq!(f.r("ZCOUNT big 100 199"), Reply::Int(100));
    assert_eq!(f.w("ZRANGESTORE small big 0 9"), Reply::Int(10));
    assert_eq!(f.r("OBJECT ENCODING small"), b("listpack"));
    assert_eq!(f.r("ZRANGE big 0 2 BYSCORE"), arr(&["m299", "m298"]));
    assert_eq!(f.r("ZREVRANK big m299"), Reply::Int(299));
    assert_eq!(f.r("ZRANGE big 2 0 BYSCORE REV"), arr(&["m298", "m299"]));
    assert_eq!(f.r("ZRANK big m000"), Reply::Int(299));
    assert_eq!(f.w("ZREMRANGEBYRANK big 0 -11"), Reply::Int(290));
    assert_eq!(f.r("ZRANGE big 0 2"), arr(&["m009", "m008", "m007"]));
    assert_eq!(
        Reply::Array(vec![f.r("ZCARD big"), f.r("ZRANK big m000")]),
        ints(&[10, 9])
    );
}
