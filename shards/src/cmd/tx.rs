//! MULTI/EXEC: a transaction is one log operation. WATCH records each key's
//! version (or its absence) and EXEC aborts at apply time if any changed.

use cachecat_io::Reply;

use super::{execute, Cmd, Key};
use crate::{OpCtx, Shard};

/// A watched key as WATCH saw it: its version, or 0 when it was absent, and
/// the shard's applied index at that moment.
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Watch {
    pub db: u32,
    pub key: Key,
    pub version: u64,
    pub seen_at: u64,
}

/// Whether a watched key is unchanged at `now` on the shard that owns it. A
/// key that was live and has since expired counts as changed (Redis 7); a key
/// that was absent is unchanged unless it was written or deleted after the
/// WATCH (deletions are remembered in a bounded window, beyond which the check
/// errs on the side of aborting).
pub fn watch_holds(shard: &Shard, w: &Watch, now: u64, at: u64) -> bool {
    let db = shard.db(w.db as usize);
    match db.get_raw(&w.key) {
        Some(e) if !e.is_expired(now) => w.version != 0 && e.version == w.version,
        Some(e) => {
            w.version == 0 && e.version <= w.seen_at && db.last_delete(&w.key, at) <= w.seen_at
        }
        None => {
            let gone_since = db.last_delete(&w.key, at);
            if w.version == 0 {
                gone_since <= w.seen_at
            } else {
                false
            }
        }
    }
}

/// What WATCH reads on the owning shard: [version, applied index].
pub fn version_reply(shard: &Shard, db: usize, key: &[u8], now: u64) -> Reply {
    let v = shard.db(db).get(key, now).map_or(0, |e| e.version);
    Reply::Array(vec![Reply::Int(v as i64), Reply::Int(shard.applied as i64)])
}

/// Run a transaction's commands in order; `watches_ok` was decided by the
/// shards owning the watched keys. An aborted EXEC replies with a nil array.
pub fn exec(items: &mut [(u32, Cmd)], watches_ok: bool, shard: &mut Shard, ctx: OpCtx) -> Reply {
    if !watches_ok {
        return Reply::NilArray;
    }
    Reply::Array(
        items
            .iter_mut()
            .map(|(db, cmd)| execute(cmd, shard, *db as usize, ctx))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Entry, StrVal, Value};

    fn put(shard: &mut Shard, key: &[u8], version: u64) {
        shard.db_mut(0).insert(
            key,
            Entry::new(Value::Str(StrVal::new(b"v".to_vec())), version),
        );
    }

    fn w(key: &[u8], version: u64, seen_at: u64) -> Watch {
        Watch {
            db: 0,
            key: key.to_vec(),
            version,
            seen_at,
        }
    }

    #[test]
    fn watch_detects_writes_deletes_and_creation() {
        let mut s = Shard::new(1);
        put(&mut s, b"k", 3);
        assert!(watch_holds(&s, &w(b"k", 3, 5), 0, 50));
        put(&mut s, b"k", 6);
        assert!(!watch_holds(&s, &w(b"k", 3, 5), 0, 50));
        // absent at watch, still absent, never touched
        assert!(watch_holds(&s, &w(b"a", 0, 5), 0, 50));
        // absent at watch, created and deleted since
        put(&mut s, b"a", 7);
        s.db_mut(0).remove(b"a", 8);
        assert!(!watch_holds(&s, &w(b"a", 0, 5), 0, 50));
        // absent at watch, created since
        put(&mut s, b"b", 9);
        assert!(!watch_holds(&s, &w(b"b", 0, 5), 0, 50));
        // live at watch, expired since
        let mut e = Entry::new(Value::Str(StrVal::new(b"v".to_vec())), 2);
        e.expire_at = 100;
        s.db_mut(0).insert(b"t", e);
        assert!(watch_holds(&s, &w(b"t", 2, 5), 99, 50));
        assert!(!watch_holds(&s, &w(b"t", 2, 5), 100, 50));
    }
}
