//! Tests of the module beside this file.
use super::*;

fn ctx(now: u64, index: u64) -> OpCtx {
    OpCtx { now, index }
}

fn argv(s: &str) -> Vec<Vec<u8>> {
    s.split(' ').map(|p| p.as_bytes().to_vec()).collect()
}

fn run(db: &mut Db, line: &str, c: OpCtx) -> Reply {
    let mut a = argv(line);
    let name = a[0].to_ascii_lowercase();
    let spec = crate::table::lookup(&name).expect("command");
    let mut cmd = (spec.parse.expect("keyspace"))(&mut a, &ParseCtx::test())
        .unwrap_or_else(|e| panic!("{e:?}"));
    cmd.stamp(c.now);
    let mut shard = crate::Shard::new(1);
    std::mem::swap(shard.db_mut(0), db);
    let r = super::super::execute(&mut cmd, &mut shard, 0, c);
    std::mem::swap(shard.db_mut(0), db);
    r
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s.as_bytes().to_vec())
}

#[test]
fn set_get_with_options() {
    let mut db = Db::default();
    assert_eq!(run(&mut db, "SET k v", ctx(1000, 1)), Reply::Ok);
    assert_eq!(run(&mut db, "GET k", ctx(1000, 0)), bulk("v"));
    assert_eq!(run(&mut db, "SET k w NX", ctx(1000, 2)), Reply::Nil);
    assert_eq!(run(&mut db, "SET k w XX GET", ctx(1000, 3)), bulk("v"));
    assert_eq!(run(&mut db, "SET n w XX", ctx(1000, 4)), Reply::Nil);
    assert_eq!(run(&mut db, "SET k x PX 100", ctx(1000, 5)), Reply::Ok);
    assert_eq!(db.get_raw(b"k").unwrap().expire_at, 1100);
    assert_eq!(run(&mut db, "SET k y KEEPTTL", ctx(1050, 6)), Reply::Ok);
    assert_eq!(db.get_raw(b"k").unwrap().expire_at, 1100);
    assert_eq!(run(&mut db, "GET k", ctx(1100, 0)), Reply::Nil);
    assert_eq!(db.get_raw(b"k").unwrap().version, 6);
}

#[test]
fn set_syntax_and_expire_errors() {
    let mut a = argv("SET k v EX 10 EX 20");
    assert!(
        parse_set(&mut a, &ParseCtx::test()).is_ok(),
        "an option may repeat"
    );
    let mut a = argv("SET k v EX 10 PX 10");
    assert_eq!(
        parse_set(&mut a, &ParseCtx::test()),
        Err(fail(Status::Syntax, "set"))
    );
    let mut a = argv("SET k v NX XX");
    assert_eq!(
        parse_set(&mut a, &ParseCtx::test()),
        Err(fail(Status::Syntax, "set"))
    );
    let mut a = argv("SET k v EX 0");
    assert_eq!(
        parse_set(&mut a, &ParseCtx::test()),
        Err(Reply::Error(
            "ERR invalid expire time in 'set' command".into()
        ))
    );
    let mut a = argv("SET k v EX x");
    assert_eq!(
        parse_set(&mut a, &ParseCtx::test()),
        Err(fail(Status::NotInteger, "set"))
    );
    let mut a = argv("SET k v EX");
    assert_eq!(
        parse_set(&mut a, &ParseCtx::test()),
        Err(fail(Status::Syntax, "set"))
    );
}

#[test]
fn incr_family() {
    let mut db = Db::default();
    assert_eq!(run(&mut db, "INCR c", ctx(1, 1)), Reply::Int(1));
    assert_eq!(run(&mut db, "INCRBY c 10", ctx(1, 2)), Reply::Int(11));
    assert_eq!(run(&mut db, "DECR c", ctx(1, 3)), Reply::Int(10));
    run(&mut db, "SET c 9223372036854775807", ctx(1, 4));
    assert_eq!(
        run(&mut db, "INCR c", ctx(1, 5)),
        fail(Status::Overflow, "incr")
    );
    run(&mut db, "SET s abc", ctx(1, 6));
    assert_eq!(
        run(&mut db, "INCR s", ctx(1, 7)),
        fail(Status::NotInteger, "incr")
    );
    assert_eq!(run(&mut db, "INCRBYFLOAT f 1.5", ctx(1, 8)), bulk("1.5"));
    assert_eq!(run(&mut db, "INCRBYFLOAT f 0.1", ctx(1, 9)), bulk("1.6"));
    assert_eq!(
        run(&mut db, "INCRBYFLOAT s 1", ctx(1, 10)),
        fail(Status::NotFloat, "x")
    );
    run(&mut db, "SET t 5 PX 100", ctx(1, 11));
    run(&mut db, "INCR t", ctx(2, 12));
    assert_eq!(db.get_raw(b"t").unwrap().expire_at, 101);
}

#[test]
fn append_setrange_getrange() {
    let mut db = Db::default();
    assert_eq!(run(&mut db, "APPEND k Hello", ctx(1, 1)), Reply::Int(5));
    assert_eq!(run(&mut db, "APPEND k World", ctx(1, 2)), Reply::Int(10));
    assert_eq!(run(&mut db, "GETRANGE k 0 4", ctx(1, 0)), bulk("Hello"));
    assert_eq!(run(&mut db, "GETRANGE k -3 -1", ctx(1, 0)), bulk("rld"));
    assert_eq!(run(&mut db, "GETRANGE k 5 3", ctx(1, 0)), bulk(""));
    assert_eq!(
        run(&mut db, "GETRANGE k 0 100", ctx(1, 0)),
        bulk("HelloWorld")
    );
    assert_eq!(
        run(&mut db, "SETRANGE k 5 Redis", ctx(1, 3)),
        Reply::Int(10)
    );
    assert_eq!(run(&mut db, "GET k", ctx(1, 0)), bulk("HelloRedis"));
    assert_eq!(run(&mut db, "SETRANGE z 3 ab", ctx(1, 4)), Reply::Int(5));
    assert_eq!(
        run(&mut db, "GET z", ctx(1, 0)),
        Reply::bulk(b"\0\0\0ab".to_vec())
    );
    assert_eq!(run(&mut db, "SETRANGE e 3 ", ctx(1, 5)), Reply::Int(0));
    assert!(db.get(b"e", 1).is_none());
    assert_eq!(
        run(&mut db, "SETRANGE k -1 x", ctx(1, 6)),
        fail(Status::OffsetOutOfRange, "x")
    );
    assert_eq!(run(&mut db, "STRLEN k", ctx(1, 0)), Reply::Int(10));
}

#[test]
fn getex_getdel_msetnx() {
    let mut db = Db::default();
    run(&mut db, "SET k v", ctx(1000, 1));
    assert_eq!(run(&mut db, "GETEX k PX 50", ctx(1000, 2)), bulk("v"));
    assert_eq!(db.get_raw(b"k").unwrap().expire_at, 1050);
    assert_eq!(run(&mut db, "GETEX k PERSIST", ctx(1000, 3)), bulk("v"));
    assert_eq!(db.get_raw(b"k").unwrap().expire_at, 0);
    assert_eq!(run(&mut db, "GETEX k PXAT 10", ctx(1000, 4)), bulk("v"));
    assert!(db.get_raw(b"k").is_none());
    run(&mut db, "SET k v", ctx(1000, 5));
    assert_eq!(run(&mut db, "GETDEL k", ctx(1000, 6)), bulk("v"));
    assert_eq!(run(&mut db, "GETDEL k", ctx(1000, 7)), Reply::Nil);
    assert_eq!(run(&mut db, "MSETNX a 1 b 2", ctx(1000, 8)), Reply::Int(1));
    assert_eq!(run(&mut db, "MSETNX b 3 c 4", ctx(1000, 9)), Reply::Int(0));
    assert_eq!(
        run(&mut db, "MGET a b c", ctx(1000, 0)),
        Reply::Array(vec![bulk("1"), bulk("2"), Reply::Nil])
    );
}
