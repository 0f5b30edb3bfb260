//! A shard's state as snapshot records: rkyv archives of plain mirror types,
//! so a snapshot holds everything that decides future state (values in
//! their iteration order, encodings that Redis never undoes, deadlines,
//! versions, the deletion window WATCH consults) and nothing else (access
//! times are the leader's own).
//!
//! Loading a record and inserting its entries gives the same state as the
//! log that built it: collections are rebuilt in their stored order, so a
//! replica that loaded a snapshot iterates (and SPOPs) like one that
//! replayed the log.

use std::collections::VecDeque;

use crate::keyspace::{Entry, HashVal, Key, StrVal, Value};
use crate::types::{ListVal, SetVal};
use crate::zset::ZSetVal;

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum DValue {
    Str {
        data: Vec<u8>,
        raw: bool,
        not_int: bool,
    },
    Hash {
        fields: Vec<(Vec<u8>, Vec<u8>)>,
        big: bool,
    },
    List(Vec<Vec<u8>>),
    Set {
        members: Vec<Vec<u8>>,
        intset: bool,
    },
    ZSet {
        members: Vec<(Vec<u8>, f64)>,
        big: bool,
    },
}

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct DEntry {
    pub db: u32,
    pub key: Vec<u8>,
    pub value: DValue,
    pub expire_at: u64,
    pub version: u64,
}

/// One record of a snapshot part.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Record {
    Entries(Vec<DEntry>),
    /// A database's recent deletions (key, version) and the floor below
    /// which deletions are no longer told apart.
    Deletions {
        db: u32,
        floor: u64,
        list: Vec<(Vec<u8>, u64)>,
    },
}

pub fn to_dump(db: u32, key: &[u8], e: &Entry) -> DEntry {
    let value = match &e.value {
        Value::Str(s) => DValue::Str {
            data: s.data.clone(),
            raw: s.raw,
            not_int: s.not_int,
        },
        Value::Hash(h) => DValue::Hash {
            fields: h.map.iter().map(|(k, v)| (k.to_vec(), v.clone())).collect(),
            big: h.big,
        },
        Value::List(l) => DValue::List(l.items.iter().map(|x| x.to_vec()).collect()),
        Value::Set(s) => DValue::Set {
            members: s.members.iter().map(|m| m.to_vec()).collect(),
            intset: s.intset,
        },
        Value::ZSet(z) => DValue::ZSet {
            members: z.dict.iter().map(|(m, s)| (m.to_vec(), *s)).collect(),
            big: z.big,
        },
    };
    DEntry {
        db,
        key: key.to_vec(),
        value,
        expire_at: e.expire_at,
        version: e.version,
    }
}

pub fn from_dump(d: DEntry) -> (u32, Vec<u8>, Entry) {
    let value = match d.value {
        DValue::Str { data, raw, not_int } => Value::Str(StrVal { data, raw, not_int }),
        DValue::Hash { fields, big } => {
            let mut h = HashVal {
                big,
                ..Default::default()
            };
            for (k, v) in fields {
                h.map.insert(Key::from(k), v);
            }
            Value::Hash(Box::new(h))
        }
        DValue::List(items) => Value::List(Box::new(ListVal {
            items: items.into_iter().map(Key::from).collect::<VecDeque<_>>(),
        })),
        DValue::Set { members, intset } => {
            let mut s = SetVal {
                intset,
                ..Default::default()
            };
            for m in members {
                s.members.insert(Key::from(m));
            }
            Value::Set(Box::new(s))
        }
        DValue::ZSet { members, big } => {
            let mut z = ZSetVal::default();
            for (m, score) in members {
                z.set(&m, score);
            }
            // Once converted, Redis never goes back: keep what was stored.
            z.big = big;
            Value::ZSet(Box::new(z))
        }
    };
    let mut e = Entry::new(value, d.version);
    e.expire_at = d.expire_at;
    (d.db, d.key, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testutil::Fixture;

    #[test]
    fn every_type_survives_a_dump_and_keeps_its_order() {
        let mut a = Fixture::new();
        for line in [
            "SET s hello",
            "APPEND s !",
            "INCRBYFLOAT f 1.5",
            "HSET h b 1 a 2 c 3",
            "HDEL h a",
            "RPUSH l x y z",
            "SADD si 5 1 3",
            "SADD ss m n o p",
            "SREM ss n",
            "ZADD z 2 b 1 a 3 c",
            "ZADD zl 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ZREM zl aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "ZADD zl 1 a",
            "SET t v PX 5000",
        ] {
            a.w(line);
        }
        let mut b = Fixture::new();
        b.index = a.index;
        let dumped: Vec<DEntry> = a
            .shard
            .db(0)
            .iter()
            .map(|(k, e)| to_dump(0, k, e))
            .collect();
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Record::Entries(dumped)).unwrap();
        let back = rkyv::from_bytes::<Record, rkyv::rancor::Error>(&bytes).unwrap();
        let Record::Entries(list) = back else {
            panic!("entries")
        };
        for d in list {
            let (db, k, e) = from_dump(d);
            b.shard.db_mut(db as usize).insert(&k, e);
        }
        for (k, e) in a.shard.db(0).iter() {
            let mut got = b.shard.db(0).get_raw(k).unwrap().clone();
            got.atime = e.atime;
            assert_eq!(&got, e, "{}", String::from_utf8_lossy(k));
        }
        assert_eq!(a.shard.db(0).len_raw(), b.shard.db(0).len_raw());
        for cmd in [
            "SMEMBERS ss",
            "SMEMBERS si",
            "HGETALL h",
            "ZRANGE z 0 -1",
            "OBJECT ENCODING zl",
            "OBJECT ENCODING s",
            "OBJECT ENCODING f",
            "PTTL t",
        ] {
            assert_eq!(a.r(cmd), b.r(cmd), "{cmd}");
        }
        // A replica that loaded the dump pops what one that replayed pops.
        assert_eq!(a.w("SPOP ss"), b.w("SPOP ss"));
    }
}
