//! Tests of the module beside this file.
use crate::cmd::testutil::{arr, b, err, Fixture};
use cachecat_io::Reply;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn set(items: &[&str]) -> Reply {
    Reply::Set(items.iter().map(|s| b(s)).collect())
}

/// The members of a Set or Array reply, sorted.
fn sorted(r: Reply) -> Vec<Vec<u8>> {
    let items = match r {
        Reply::Set(v) | Reply::Array(v) => v,
        r => panic!("{r:?}"),
    };
    let mut out: Vec<Vec<u8>> = items
        .into_iter()
        .map(|r| match r {
            Reply::Bulk(b) => b.to_vec(),
            r => panic!("{r:?}"),
        })
        .collect();
    out.sort();
    out
}

fn strs(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

#[test]
fn add_rem_members_card() {
    let mut f = Fixture::new();
    assert_eq!(f.w("SADD s 3 1 2 1"), Reply::Int(3));
    assert_eq!(
        f.r("SMEMBERS s"),
        set(&["1", "2", "3"]),
        "intsets reply sorted"
    );
    assert_eq!(f.r("OBJECT ENCODING s"), b("intset"));
    assert_eq!(f.w("SADD s a"), Reply::Int(1));
    assert_eq!(f.r("OBJECT ENCODING s"), b("hashtable"));
    assert_eq!(f.r("SCARD s"), Reply::Int(4));
    assert_eq!(f.r("SISMEMBER s a"), Reply::Int(1));
    assert_eq!(f.r("SISMEMBER s z"), Reply::Int(0));
    assert_eq!(
        f.r("SMISMEMBER s a z 1"),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)])
    );
    assert_eq!(f.w("SREM s a z"), Reply::Int(1));
    assert_eq!(f.w("SREM s 1 2 3"), Reply::Int(3));
    assert!(!f.exists("s"));
    assert_eq!(f.r("SMEMBERS s"), set(&[]));
    assert_eq!(f.r("SCARD s"), Reply::Int(0));
    f.w("SET str v");
    assert_eq!(f.w("SADD str a"), err(WRONGTYPE));
    assert_eq!(f.r("SISMEMBER str a"), err(WRONGTYPE));
}

#[test]
fn spop_is_deterministic_by_index() {
    let mut a = Fixture::new();
    let mut b2 = Fixture::new();
    for f in [&mut a, &mut b2] {
        f.w("SADD s a b c d e f g");
    }
    let pa = a.w("SPOP s 3");
    let pb = b2.w("SPOP s 3");
    assert_eq!(pa, pb, "same index, same members");
    assert_eq!(sorted(pa).len(), 3);
    assert_eq!(a.r("SCARD s"), Reply::Int(4));
    assert_eq!(a.w("SPOP s 0"), set(&[]));
    assert_eq!(a.w("SPOP nos 2"), set(&[]));
    assert_eq!(a.w("SPOP nos"), Reply::Nil);
    assert!(matches!(a.w("SPOP s"), Reply::Bulk(_)));
    assert_eq!(sorted(a.w("SPOP s 10")).len(), 3);
    assert!(!a.exists("s"));
    assert_eq!(
        a.w("SPOP s -1"),
        err("ERR value is out of range, must be positive")
    );
}

#[test]
fn srandmember_counts() {
    let mut f = Fixture::new();
    f.w("SADD s a b c");
    assert_eq!(sorted(f.r("SRANDMEMBER s 2")).len(), 2);
    let two = sorted(f.r("SRANDMEMBER s 2"));
    assert_ne!(two[0], two[1]);
    assert_eq!(sorted(f.r("SRANDMEMBER s 10")), strs(&["a", "b", "c"]));
    match f.r("SRANDMEMBER s -7") {
        Reply::Array(v) => assert_eq!(v.len(), 7),
        r => panic!("{r:?}"),
    }
    assert_eq!(f.r("SRANDMEMBER s 0"), arr(&[]));
    assert_eq!(f.r("SRANDMEMBER nos"), Reply::Nil);
    assert_eq!(f.r("SRANDMEMBER nos 3"), arr(&[]));
    assert_eq!(
        f.r("SRANDMEMBER s -9223372036854775808"),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(
        f.r("SRANDMEMBER s x"),
        err("ERR value is not an integer or out of range")
    );
    // Repeats are bounded: the reply is built whole.
    assert_eq!(
        f.r("SRANDMEMBER s -100000000"),
        err("ERR value is out of range")
    );
    assert_eq!(
        f.r("ZRANDMEMBER s -100000000"),
        err("ERR value is out of range")
    );
    assert_eq!(
        f.r("HRANDFIELD s -100000000"),
        err("ERR value is out of range")
    );
}

#[test]
fn algebra_and_store() {
    let mut f = Fixture::new();
    f.w("SADD a 1 2 3 x");
    f.w("SADD b 2 3 4 x");
    f.w("SADD c 3 x y");
    assert_eq!(sorted(f.r("SINTER a b c")), strs(&["3", "x"]));
    assert_eq!(sorted(f.r("SUNION a c")), strs(&["1", "2", "3", "x", "y"]));
    assert_eq!(sorted(f.r("SDIFF a b")), strs(&["1"]));
    assert_eq!(sorted(f.r("SDIFF nos a")), strs(&[]));
    assert_eq!(sorted(f.r("SINTER a nos")), strs(&[]));
    assert_eq!(f.w("SINTERSTORE d a b"), Reply::Int(3));
    assert_eq!(sorted(f.r("SMEMBERS d")), strs(&["2", "3", "x"]));
    assert_eq!(f.w("SUNIONSTORE d a"), Reply::Int(4));
    assert_eq!(f.w("SDIFFSTORE d a a"), Reply::Int(0));
    assert!(!f.exists("d"), "an empty result deletes the destination");
    f.w("SET str v");
    assert_eq!(
        f.r("SINTER nos str"),
        err(WRONGTYPE),
        "every key is type-checked"
    );
    assert_eq!(
        f.w("SUNIONSTORE str a"),
        Reply::Int(4),
        "the destination may hold any type"
    );
    assert_eq!(f.r("TYPE str"), Reply::Simple("set".into()));
    f.w("SADD n 1 2");
    f.w("SUNIONSTORE n2 n");
    assert_eq!(f.r("OBJECT ENCODING n2"), b("intset"));
    assert_eq!(f.r("SINTERCARD 2 a b"), Reply::Int(3));
    assert_eq!(f.r("SINTERCARD 2 a b LIMIT 2"), Reply::Int(2));
    assert_eq!(f.r("SINTERCARD 2 a b LIMIT 0"), Reply::Int(3));
    assert_eq!(
        f.r("SINTERCARD 0 a"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        f.r("SINTERCARD 3 a b"),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(
        f.r("SINTERCARD 1 a LIMIT -1"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(f.r("SINTERCARD 1 a FOO 1"), err("ERR syntax error"));
}

#[test]
fn smove_cases() {
    let mut f = Fixture::new();
    f.w("SADD a x y");
    assert_eq!(f.w("SMOVE a b x"), Reply::Int(1));
    assert_eq!(f.w("SMOVE a b zz"), Reply::Int(0));
    assert_eq!(f.w("SMOVE nos b x"), Reply::Int(0));
    assert_eq!(f.w("SMOVE a a y"), Reply::Int(1));
    assert_eq!(f.w("SMOVE a b y"), Reply::Int(1));
    assert!(!f.exists("a"));
    assert_eq!(sorted(f.r("SMEMBERS b")), strs(&["x", "y"]));
    f.w("SET str v");
    assert_eq!(f.w("SMOVE b str x"), err(WRONGTYPE));
    assert_eq!(f.r("SCARD b"), Reply::Int(2));
}
