//! Tests of the module beside this file.
use super::*;
use crate::cmd::{execute, ParseCtx};
use crate::keyspace::{StrVal, Value};

/// Parse and run one command line at time `now` with log index `index`.
fn run(shard: &mut Shard, line: &str, now: u64, index: u64) -> Reply {
    let mut a: Vec<Vec<u8>> = line.split(' ').map(|p| p.as_bytes().to_vec()).collect();
    let spec = crate::table::lookup(&a[0].to_ascii_lowercase()).expect("command");
    let pc = ParseCtx {
        now,
        ..ParseCtx::test()
    };
    // MEMORY is a server container command; its USAGE parses here.
    let parse = spec.parse.unwrap_or(parse_memory_usage);
    let mut cmd = match parse(&mut a, &pc) {
        Ok(c) => c,
        Err(e) => return e,
    };
    cmd.stamp(now);
    execute(&mut cmd, shard, 0, OpCtx { now, index })
}

fn put(shard: &mut Shard, key: &str, index: u64) {
    shard.db_mut(0).insert(
        key.as_bytes(),
        Entry::new(Value::Str(StrVal::new(b"v".to_vec())), index),
    );
}

fn err(s: Status) -> Reply {
    Reply::Error(s.text("x"))
}

#[test]
fn del_exists_touch_type() {
    let mut s = Shard::new(2);
    put(&mut s, "a", 1);
    put(&mut s, "b", 1);
    assert_eq!(run(&mut s, "EXISTS a a b c", 10, 0), Reply::Int(3));
    assert_eq!(run(&mut s, "TOUCH a c", 10, 0), Reply::Int(1));
    assert_eq!(run(&mut s, "TYPE a", 10, 0), Reply::simple("string"));
    assert_eq!(run(&mut s, "TYPE c", 10, 0), Reply::simple("none"));
    assert_eq!(run(&mut s, "DEL a c a", 10, 2), Reply::Int(1));
    assert_eq!(s.db(0).last_delete(b"a", 3), 2);
    assert_eq!(run(&mut s, "EXISTS a", 10, 0), Reply::Int(0));
}

#[test]
fn rename_and_copy_keep_ttl_and_stamp_versions() {
    let mut s = Shard::new(2);
    put(&mut s, "src", 1);
    s.db_mut(0).get_mut(b"src", 10, 1).unwrap().expire_at = 5000;
    assert_eq!(run(&mut s, "RENAME nope x", 10, 2), err(Status::NoSuchKey));
    assert_eq!(run(&mut s, "RENAME src dst", 10, 3), Reply::Ok);
    let e = s.db(0).get_raw(b"dst").unwrap();
    assert_eq!((e.expire_at, e.version), (5000, 3));
    assert!(s.db(0).get_raw(b"src").is_none());
    put(&mut s, "other", 4);
    assert_eq!(run(&mut s, "RENAMENX dst other", 10, 5), Reply::Int(0));
    assert_eq!(run(&mut s, "RENAMENX dst dst", 10, 5), Reply::Int(0));
    assert_eq!(run(&mut s, "COPY dst other", 10, 6), Reply::Int(0));
    assert_eq!(run(&mut s, "COPY dst other REPLACE", 10, 7), Reply::Int(1));
    assert_eq!(s.db(0).get_raw(b"other").unwrap().expire_at, 5000);
    assert_eq!(run(&mut s, "COPY dst dst", 10, 8), err(Status::SameObject));
    assert_eq!(run(&mut s, "COPY dst dst DB 1", 10, 8), Reply::Int(1));
    assert!(s.db(1).get_raw(b"dst").is_some());
    assert_eq!(
        run(&mut s, "COPY dst x DB 99", 10, 9),
        err(Status::DbIndexOutOfRange)
    );
}

#[test]
fn expire_conditions_follow_redis() {
    let mut s = Shard::new(1);
    put(&mut s, "k", 1);
    assert_eq!(run(&mut s, "EXPIRE k 10 XX", 1000, 2), Reply::Int(0));
    assert_eq!(
        run(&mut s, "EXPIRE k 10 GT", 1000, 2),
        Reply::Int(0),
        "no TTL fails GT"
    );
    assert_eq!(run(&mut s, "EXPIRE k 10 NX", 1000, 2), Reply::Int(1));
    assert_eq!(s.db(0).get_raw(b"k").unwrap().expire_at, 11_000);
    assert_eq!(run(&mut s, "EXPIRE k 5 NX", 1000, 3), Reply::Int(0));
    assert_eq!(run(&mut s, "EXPIRE k 20 LT", 1000, 3), Reply::Int(0));
    assert_eq!(run(&mut s, "EXPIRE k 20 GT", 1000, 3), Reply::Int(1));
    assert_eq!(run(&mut s, "PEXPIRE k 500 XX LT", 1000, 4), Reply::Int(1));
    assert_eq!(
        run(&mut s, "TTL k", 1000, 0),
        Reply::Int(1),
        "500 ms rounds to 1 s"
    );
    assert_eq!(run(&mut s, "PTTL k", 1000, 0), Reply::Int(500));
    assert_eq!(run(&mut s, "PEXPIRETIME k", 1000, 0), Reply::Int(1500));
    assert_eq!(run(&mut s, "EXPIRETIME k", 1000, 0), Reply::Int(2));
    assert_eq!(run(&mut s, "PERSIST k", 1000, 5), Reply::Int(1));
    assert_eq!(run(&mut s, "PERSIST k", 1000, 6), Reply::Int(0));
    assert_eq!(run(&mut s, "TTL k", 1000, 0), Reply::Int(-1));
    assert_eq!(
        run(&mut s, "EXPIREAT k 1", 1000, 7),
        Reply::Int(1),
        "a past deadline deletes"
    );
    assert_eq!(run(&mut s, "TTL k", 1000, 0), Reply::Int(-2));
    assert_eq!(
        run(&mut s, "EXPIRE k 10 NX XX", 1000, 8),
        err(Status::ExpireOptionsConflict)
    );
    assert_eq!(
        run(&mut s, "EXPIRE k 10 GT LT", 1000, 8),
        err(Status::GtLtConflict)
    );
    assert_eq!(
        run(&mut s, "EXPIRE k 10 FOO", 1000, 8),
        Reply::Error("ERR Unsupported option FOO".into())
    );
    assert_eq!(
        run(&mut s, "EXPIRE k 9223372036854775807", 1000, 8),
        Reply::Error("ERR invalid expire time in 'expire' command".into())
    );
}

#[test]
fn conditional_delete_spares_rewritten_keys() {
    let mut s = Shard::new(1);
    put(&mut s, "a", 3);
    put(&mut s, "b", 4);
    for k in [&b"a"[..], b"b"] {
        s.db_mut(0).get_mut(k, 0, 0).unwrap().expire_at = 100;
    }
    // b is rewritten (version 9) after the sweep decided to delete it.
    put(&mut s, "b", 9);
    s.db_mut(0).get_mut(b"b", 0, 0).unwrap().expire_at = 100;
    let mut cmd = Cmd::DelIfVersion {
        keys: vec![(b"a".to_vec(), 3), (b"b".to_vec(), 4)],
    };
    let r = execute(
        &mut cmd,
        &mut s,
        0,
        OpCtx {
            now: 200,
            index: 10,
        },
    );
    assert_eq!(r, Reply::Int(1));
    assert!(s.db(0).get_raw(b"a").is_none());
    assert!(s.db(0).get_raw(b"b").is_some());
    // Not yet expired at the entry's time: kept.
    let mut cmd = Cmd::DelIfVersion {
        keys: vec![(b"b".to_vec(), 9)],
    };
    assert_eq!(
        execute(&mut cmd, &mut s, 0, OpCtx { now: 50, index: 11 }),
        Reply::Int(0)
    );
}

#[test]
fn whole_database_commands() {
    let mut s = Shard::new(2);
    for k in ["user:1", "user:2", "item:1"] {
        put(&mut s, k, 1);
    }
    s.db_mut(0).get_mut(b"item:1", 0, 0).unwrap().expire_at = 50;
    assert_eq!(run(&mut s, "DBSIZE", 10, 0), Reply::Int(3));
    assert_eq!(
        run(&mut s, "DBSIZE", 60, 0),
        Reply::Int(2),
        "expired keys are not counted"
    );
    match run(&mut s, "KEYS user:*", 10, 0) {
        Reply::Array(mut v) => {
            v.sort_by_key(|r| format!("{r:?}"));
            assert_eq!(
                v,
                vec![
                    Reply::bulk(b"user:1".to_vec()),
                    Reply::bulk(b"user:2".to_vec())
                ]
            );
        }
        r => panic!("{r:?}"),
    }
    assert!(matches!(run(&mut s, "RANDOMKEY", 10, 0), Reply::Bulk(_)));
    assert_eq!(run(&mut s, "FLUSHDB", 10, 2), Reply::Ok);
    assert_eq!(run(&mut s, "RANDOMKEY", 10, 0), Reply::Nil);
    put(&mut s, "x", 3);
    assert_eq!(run(&mut s, "FLUSHALL ASYNC", 10, 4), Reply::Ok);
    assert_eq!(run(&mut s, "FLUSHALL NOW", 10, 4), err(Status::Syntax));
    assert_eq!(run(&mut s, "DBSIZE", 10, 0), Reply::Int(0));
}

#[test]
fn object_and_memory_usage() {
    let mut s = Shard::new(1);
    put(&mut s, "k", 1);
    assert_eq!(
        run(&mut s, "OBJECT ENCODING k", 10, 0),
        Reply::bulk(b"embstr".to_vec())
    );
    assert_eq!(run(&mut s, "OBJECT ENCODING nope", 10, 0), Reply::Nil);
    assert_eq!(run(&mut s, "OBJECT REFCOUNT k", 10, 0), Reply::Int(1));
    // Idle time counts from the last access, in seconds.
    s.db_mut(0).touch(b"k", 5_000);
    assert_eq!(run(&mut s, "OBJECT IDLETIME k", 12_500, 0), Reply::Int(7));
    assert_eq!(run(&mut s, "SET k w KEEPTTL", 20_000, 3), Reply::Ok);
    assert_eq!(
        run(&mut s, "OBJECT IDLETIME k", 21_000, 0),
        Reply::Int(1),
        "a write is an access"
    );
    assert!(matches!(
        run(&mut s, "OBJECT FREQ k", 10, 0),
        Reply::Error(_)
    ));
    assert_eq!(
        run(&mut s, "OBJECT NOPE k", 10, 0),
        Reply::Error("ERR unknown subcommand 'NOPE'. Try OBJECT HELP.".into())
    );
    assert!(matches!(run(&mut s, "MEMORY USAGE k", 10, 0), Reply::Int(n) if n > 0));
    assert_eq!(run(&mut s, "MEMORY USAGE nope", 10, 0), Reply::Nil);
}
