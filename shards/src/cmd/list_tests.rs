//! Tests of the module beside this file.
use crate::cmd::testutil::{arr, b, err, Fixture};
use cachecat_io::Reply;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn push_pop_len_range() {
    let mut f = Fixture::new();
    assert_eq!(f.w("RPUSH l a b c"), Reply::Int(3));
    assert_eq!(f.w("LPUSH l z y"), Reply::Int(5));
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["y", "z", "a", "b", "c"]));
    assert_eq!(f.r("LRANGE l -2 100"), arr(&["b", "c"]));
    assert_eq!(f.r("LRANGE l 3 1"), arr(&[]));
    assert_eq!(f.r("LRANGE nol 0 -1"), arr(&[]));
    assert_eq!(f.r("LLEN l"), Reply::Int(5));
    assert_eq!(f.w("LPOP l"), b("y"));
    assert_eq!(f.w("RPOP l 2"), arr(&["c", "b"]));
    assert_eq!(f.w("LPOP l 0"), arr(&[]));
    assert_eq!(f.w("LPOP nol"), Reply::Nil);
    assert_eq!(f.w("LPOP nol 3"), Reply::NilArray);
    assert_eq!(f.w("LPOP l 10"), arr(&["z", "a"]));
    assert!(!f.exists("l"), "an emptied list is deleted");
    assert_eq!(
        f.w("LPOP l -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(f.w("LPUSHX l a"), Reply::Int(0));
    assert!(!f.exists("l"));
    f.w("RPUSH l a");
    assert_eq!(f.w("RPUSHX l b c"), Reply::Int(3));
    assert_eq!(f.w("LPUSHX l z"), Reply::Int(4));
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["z", "a", "b", "c"]));
}

#[test]
fn index_set_rem_trim_insert() {
    let mut f = Fixture::new();
    f.w("RPUSH l a b a c a");
    assert_eq!(f.r("LINDEX l -1"), b("a"));
    assert_eq!(f.r("LINDEX l 9"), Reply::Nil);
    assert_eq!(f.w("LSET l 1 B"), Reply::Ok);
    assert_eq!(f.w("LSET l 5 x"), err("ERR index out of range"));
    assert_eq!(f.w("LSET nol 0 x"), err("ERR no such key"));
    assert_eq!(f.w("LREM l -2 a"), Reply::Int(2));
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["a", "B", "c"]));
    f.w("RPUSH l a a");
    assert_eq!(f.w("LREM l 1 a"), Reply::Int(1));
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["B", "c", "a", "a"]));
    assert_eq!(f.w("LREM l 0 a"), Reply::Int(2));
    assert_eq!(f.w("LREM l 0 zz"), Reply::Int(0));
    assert_eq!(f.w("LINSERT l BEFORE c x"), Reply::Int(3));
    assert_eq!(f.w("LINSERT l after c y"), Reply::Int(4));
    assert_eq!(f.w("LINSERT l after nope y"), Reply::Int(-1));
    assert_eq!(f.w("LINSERT nol after c y"), Reply::Int(0));
    assert_eq!(f.w("LINSERT l middle c y"), err("ERR syntax error"));
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["B", "x", "c", "y"]));
    assert_eq!(f.w("LTRIM l 1 -2"), Reply::Ok);
    assert_eq!(f.r("LRANGE l 0 -1"), arr(&["x", "c"]));
    assert_eq!(f.w("LTRIM l 5 10"), Reply::Ok);
    assert!(!f.exists("l"));
    assert_eq!(
        f.w("LTRIM l x 1"),
        err("ERR value is not an integer or out of range")
    );
}

#[test]
fn lpos_options() {
    let mut f = Fixture::new();
    f.w("RPUSH l a b c 1 2 3 c c");
    assert_eq!(f.r("LPOS l c"), Reply::Int(2));
    assert_eq!(f.r("LPOS l c RANK 2"), Reply::Int(6));
    assert_eq!(f.r("LPOS l c RANK -1"), Reply::Int(7));
    assert_eq!(
        f.r("LPOS l c COUNT 0"),
        Reply::Array(vec![Reply::Int(2), Reply::Int(6), Reply::Int(7)])
    );
    assert_eq!(
        f.r("LPOS l c RANK -2 COUNT 2"),
        Reply::Array(vec![Reply::Int(6), Reply::Int(2)])
    );
    assert_eq!(f.r("LPOS l c MAXLEN 2"), Reply::Nil);
    assert_eq!(
        f.r("LPOS l c COUNT 1 MAXLEN 3"),
        Reply::Array(vec![Reply::Int(2)])
    );
    assert_eq!(f.r("LPOS l zz"), Reply::Nil);
    assert_eq!(f.r("LPOS nol zz COUNT 1"), arr(&[]));
    assert!(
        matches!(f.r("LPOS l c RANK 0"), Reply::Error(e) if e.starts_with("ERR RANK can't be zero"))
    );
    assert_eq!(f.r("LPOS l c COUNT -1"), err("ERR COUNT can't be negative"));
    assert_eq!(
        f.r("LPOS l c MAXLEN -1"),
        err("ERR MAXLEN can't be negative")
    );
    assert_eq!(f.r("LPOS l c RANK"), err("ERR syntax error"));
}

#[test]
fn move_and_mpop() {
    let mut f = Fixture::new();
    f.w("RPUSH src a b c");
    assert_eq!(f.w("LMOVE src dst LEFT RIGHT"), b("a"));
    assert_eq!(f.w("RPOPLPUSH src dst"), b("c"));
    assert_eq!(f.r("LRANGE dst 0 -1"), arr(&["c", "a"]));
    assert_eq!(f.w("LMOVE src src RIGHT LEFT"), b("b"));
    assert_eq!(f.r("LRANGE src 0 -1"), arr(&["b"]));
    assert_eq!(f.w("LMOVE nope dst LEFT LEFT"), Reply::Nil);
    f.w("SET str v");
    assert_eq!(f.w("LMOVE src str LEFT LEFT"), err(WRONGTYPE));
    assert_eq!(
        f.r("LLEN src"),
        Reply::Int(1),
        "nothing popped on WRONGTYPE"
    );
    assert_eq!(f.w("LMOVE src dst UP LEFT"), err("ERR syntax error"));
    assert_eq!(
        f.w("LMPOP 3 nope src dst LEFT COUNT 5"),
        Reply::Array(vec![b("src"), arr(&["b"])])
    );
    assert!(!f.exists("src"));
    assert_eq!(
        f.w("LMPOP 2 dst nope RIGHT"),
        Reply::Array(vec![b("dst"), arr(&["a"])])
    );
    assert_eq!(f.w("LMPOP 1 nope LEFT"), Reply::NilArray);
    assert_eq!(
        f.w("LMPOP 0 dst LEFT"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(f.w("LMPOP 2 dst LEFT"), err("ERR syntax error"));
    assert_eq!(
        f.w("LMPOP 1 dst LEFT COUNT 0"),
        err("ERR count should be greater than 0")
    );
    assert_eq!(
        f.w("LMPOP 1 dst LEFT COUNT 1 COUNT 1"),
        err("ERR syntax error")
    );
    assert_eq!(f.w("LMPOP 1 str LEFT"), err(WRONGTYPE));
}

#[test]
fn wrongtype_and_versions() {
    let mut f = Fixture::new();
    f.w("SET s v");
    assert_eq!(f.w("LPUSH s a"), err(WRONGTYPE));
    assert_eq!(f.r("LRANGE s 0 1"), err(WRONGTYPE));
    assert_eq!(f.r("LLEN s"), err(WRONGTYPE));
    f.w("RPUSH l a");
    let v = f.shard.db(0).get_raw(b"l").unwrap().version;
    assert_eq!(f.w("LREM l 0 zz"), Reply::Int(0));
    assert_eq!(
        f.shard.db(0).get_raw(b"l").unwrap().version,
        v,
        "a write that changes nothing leaves WATCH alone"
    );
    f.w("LSET l 0 b");
    assert!(f.shard.db(0).get_raw(b"l").unwrap().version > v);
    assert_eq!(f.r("TYPE l"), Reply::Simple("list".into()));
    assert_eq!(f.r("OBJECT ENCODING l"), b("quicklist"));
}
