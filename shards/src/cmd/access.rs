//! Typed access to the value at a key, for the command families: the value as
//! one kind, WRONGTYPE for any other, and for writes the version bump (WATCH)
//! and the removal of a collection left empty, as Redis never keeps one.

use crate::keyspace::{Db, Entry, HashVal, Value};
use crate::types::{ListVal, SetVal};
use crate::zset::ZSetVal;
use crate::{OpCtx, Status};

/// A value kind a command family works on.
pub trait Kind: Default {
    fn of(v: &Value) -> Option<&Self>;
    fn of_mut(v: &mut Value) -> Option<&mut Self>;
    fn wrap(self) -> Value;
    fn is_empty(&self) -> bool;
}

macro_rules! kind {
    ($t:ty, $var:ident) => {
        impl Kind for $t {
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$var(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$var(x) => Some(x),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$var(Box::new(self))
            }
            fn is_empty(&self) -> bool {
                <$t>::is_empty(self)
            }
        }
    };
}
kind!(ListVal, List);
kind!(SetVal, Set);
kind!(HashVal, Hash);
kind!(ZSetVal, ZSet);

/// The value at `key` for a read: None when absent or expired.
pub fn read<'a, T: Kind>(db: &'a Db, key: &[u8], now: u64) -> Result<Option<&'a T>, Status> {
    match db.get(key, now) {
        None => Ok(None),
        Some(e) => T::of(&e.value).map(Some).ok_or(Status::WrongType),
    }
}

/// Check that `key` holds a `T` or nothing, without borrowing it.
pub fn check<T: Kind>(db: &Db, key: &[u8], now: u64) -> Result<bool, Status> {
    read::<T>(db, key, now).map(|v| v.is_some())
}

/// The value at `key` for a write, created empty when absent; its version
/// becomes the entry's index.
pub fn write<'a, T: Kind>(db: &'a mut Db, key: &[u8], ctx: OpCtx) -> Result<&'a mut T, Status> {
    let e = db.get_or_insert_with(key, ctx.now, ctx.index, || {
        Entry::new(T::default().wrap(), ctx.index)
    });
    if T::of(&e.value).is_none() {
        return Err(Status::WrongType);
    }
    e.version = ctx.index;
    Ok(T::of_mut(&mut e.value).expect("checked"))
}

/// The value at an existing `key` for a write (None when absent); its
/// version becomes the entry's index. Call only when the write changes it.
pub fn modify<'a, T: Kind>(
    db: &'a mut Db,
    key: &[u8],
    ctx: OpCtx,
) -> Result<Option<&'a mut T>, Status> {
    let Some(e) = db.get_mut(key, ctx.now, ctx.index) else {
        return Ok(None);
    };
    if T::of(&e.value).is_none() {
        return Err(Status::WrongType);
    }
    e.version = ctx.index;
    Ok(T::of_mut(&mut e.value))
}

/// Remove `key` if it holds an empty `T` (after a pop or a removal).
pub fn drop_if_empty<T: Kind>(db: &mut Db, key: &[u8], index: u64) {
    let empty = db
        .get_raw(key)
        .and_then(|e| T::of(&e.value))
        .is_some_and(|v| v.is_empty());
    if empty {
        db.remove(key, index);
    }
}

/// Replace whatever `key` holds with `v` (a STORE command's destination),
/// or delete it when `v` is empty. The TTL goes, as Redis's setKey does.
pub fn store<T: Kind>(db: &mut Db, key: &[u8], v: T, index: u64) {
    if v.is_empty() {
        db.remove(key, index);
    } else {
        db.insert(key, Entry::new(v.wrap(), index));
    }
}
