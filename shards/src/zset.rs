//! The sorted-set value: a member → score map beside the members in
//! (score, member) order.
//!
//! The order is kept as a vector of sorted chunks of at most a few hundred
//! entries: finding a member's place is two binary searches, and a rank (ZRANK,
//! ZRANGE by index, the ends of a score range) costs a walk over the chunk
//! lengths, about n/128 additions, instead of a walk over the elements. Both
//! structures depend only on the operations applied, never on table capacity,
//! so replicas iterate alike.

use std::cmp::Ordering;

use indexmap::IndexMap;

use std::sync::Arc;

use crate::keyspace::Hasher;

/// A member's bytes, shared by the map and the order (one allocation per
/// member instead of two).
pub type Member = Arc<[u8]>;

/// Redis 7.0 keeps a sorted set as a listpack up to this many members, each
/// at most [`ZSET_MAX_LISTPACK_VALUE`] bytes (`zset-max-listpack-*`); only
/// OBJECT ENCODING shows the difference here.
pub const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
pub const ZSET_MAX_LISTPACK_VALUE: usize = 64;

/// Chunks split when they grow past twice this.
const CHUNK: usize = 128;

/// Total order of (score, member): scores as numbers (never NaN), then the
/// members' bytes.
pub fn cmp(a_score: f64, a: &[u8], b_score: f64, b: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .expect("scores are never NaN")
        .then_with(|| a.cmp(b))
}

/// Members in (score, member) order, in sorted chunks.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Ordered {
    chunks: Vec<Vec<(f64, Member)>>,
    len: usize,
}

impl Ordered {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk where (score, m) is or belongs.
    fn chunk_for(&self, score: f64, m: &[u8]) -> usize {
        let i = self.chunks.partition_point(|c| {
            let (s, k) = c.last().expect("chunks are never empty");
            cmp(*s, k, score, m) == Ordering::Less
        });
        i.min(self.chunks.len().saturating_sub(1))
    }

    pub fn insert(&mut self, score: f64, m: Member) {
        self.len += 1;
        if self.chunks.is_empty() {
            self.chunks.push(vec![(score, m)]);
            return;
        }
        let ci = self.chunk_for(score, &m);
        let c = &mut self.chunks[ci];
        let pos = c.partition_point(|(s, k)| cmp(*s, k, score, &m) == Ordering::Less);
        c.insert(pos, (score, m));
        if c.len() > 2 * CHUNK {
            let tail = c.split_off(CHUNK);
            self.chunks.insert(ci + 1, tail);
        }
    }

    /// Position of (score, m) within its chunk, if present.
    fn find(&self, score: f64, m: &[u8]) -> Option<(usize, usize)> {
        if self.chunks.is_empty() {
            return None;
        }
        let ci = self.chunk_for(score, m);
        let c = &self.chunks[ci];
        let pos = c.partition_point(|(s, k)| cmp(*s, k, score, m) == Ordering::Less);
        (pos < c.len() && cmp(c[pos].0, &c[pos].1, score, m) == Ordering::Equal)
            .then_some((ci, pos))
    }

    pub fn remove(&mut self, score: f64, m: &[u8]) -> Option<Member> {
        let (ci, pos) = self.find(score, m)?;
        Some(self.remove_at(ci, pos))
    }

    fn remove_at(&mut self, ci: usize, pos: usize) -> Member {
        let (_, k) = self.chunks[ci].remove(pos);
        self.len -= 1;
        let n = self.chunks[ci].len();
        if n == 0 {
            self.chunks.remove(ci);
        } else if n < CHUNK / 4
            && ci + 1 < self.chunks.len()
            && n + self.chunks[ci + 1].len() <= 2 * CHUNK
        {
            let next = self.chunks.remove(ci + 1);
            self.chunks[ci].extend(next);
        }
        k
    }

    /// Remove and return the first (lowest) or last entry.
    pub fn pop(&mut self, last: bool) -> Option<(f64, Member)> {
        if self.chunks.is_empty() {
            return None;
        }
        let ci = if last { self.chunks.len() - 1 } else { 0 };
        let pos = if last { self.chunks[ci].len() - 1 } else { 0 };
        let score = self.chunks[ci][pos].0;
        Some((score, self.remove_at(ci, pos)))
    }

    fn before(&self, ci: usize) -> usize {
        self.chunks[..ci].iter().map(Vec::len).sum()
    }

    /// 0-based rank of (score, m).
    pub fn rank(&self, score: f64, m: &[u8]) -> Option<usize> {
        self.find(score, m).map(|(ci, pos)| self.before(ci) + pos)
    }

    /// How many entries satisfy `below` (which must hold for a prefix of the
    /// order: a range's lower bound, or "not above" its upper bound).
    pub fn count_while(&self, below: impl Fn(f64, &[u8]) -> bool) -> usize {
        let ci = self.chunks.partition_point(|c| {
            let (s, k) = c.last().expect("chunks are never empty");
            below(*s, k)
        });
        let prefix = self.before(ci);
        match self.chunks.get(ci) {
            Some(c) => prefix + c.partition_point(|(s, k)| below(*s, k)),
            None => prefix,
        }
    }

    /// (chunk, offset) of rank `r` (< len).
    fn locate(&self, mut r: usize) -> (usize, usize) {
        for (ci, c) in self.chunks.iter().enumerate() {
            if r < c.len() {
                return (ci, r);
            }
            r -= c.len();
        }
        (self.chunks.len(), 0)
    }

    /// Entries from rank `r` upward.
    pub fn iter_from(&self, r: usize) -> impl Iterator<Item = &(f64, Member)> {
        let (ci, off) = self.locate(r);
        let first = self.chunks.get(ci).map_or(&[][..], |c| &c[off..]);
        first
            .iter()
            .chain(self.chunks.iter().skip(ci + 1).flatten())
    }

    /// Entries from rank `r` downward (r < len).
    pub fn iter_down_from(&self, r: usize) -> impl Iterator<Item = &(f64, Member)> {
        let (ci, off) = self.locate(r);
        let first = self.chunks.get(ci).map_or(&[][..], |c| &c[..=off]);
        first.iter().rev().chain(
            self.chunks[..ci.min(self.chunks.len())]
                .iter()
                .rev()
                .flat_map(|c| c.iter().rev()),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &(f64, Member)> {
        self.chunks.iter().flatten()
    }
}

/// A sorted set. `big` records Redis's conversion from listpack to skiplist,
/// which only OBJECT ENCODING reports.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ZSetVal {
    pub dict: IndexMap<Member, f64, Hasher>,
    pub order: Ordered,
    pub big: bool,
}

impl ZSetVal {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.dict.get(m).copied()
    }

    /// Set `m`'s score; true when `m` is new.
    pub fn set(&mut self, m: &[u8], score: f64) -> bool {
        if m.len() > ZSET_MAX_LISTPACK_VALUE {
            self.big = true;
        }
        let new = match self.dict.get_mut(m) {
            Some(old) => {
                if *old == score {
                    return false;
                }
                let key = self.order.remove(*old, m).expect("order mirrors dict");
                *old = score;
                self.order.insert(score, key);
                false
            }
            None => {
                let m: Member = m.into();
                self.dict.insert(m.clone(), score);
                self.order.insert(score, m);
                true
            }
        };
        if self.dict.len() > ZSET_MAX_LISTPACK_ENTRIES {
            self.big = true;
        }
        new
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.dict.swap_remove(m) {
            Some(score) => {
                self.order.remove(score, m);
                true
            }
            None => false,
        }
    }

    /// Remove the lowest (or highest) member.
    pub fn pop(&mut self, max: bool) -> Option<(f64, Member)> {
        let (score, m) = self.order.pop(max)?;
        self.dict.swap_remove(&m);
        Some((score, m))
    }

    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let score = self.score(m)?;
        self.order.rank(score, m)
    }

    /// Members of the rank range `start..=end` (ascending ranks), lowest
    /// first or, with `rev`, counted and listed from the highest.
    pub fn by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<(f64, &Member)> {
        let n = end + 1 - start;
        if rev {
            let top = self.len() - 1 - start;
            self.order
                .iter_down_from(top)
                .take(n)
                .map(|(s, k)| (*s, k))
                .collect()
        } else {
            self.order
                .iter_from(start)
                .take(n)
                .map(|(s, k)| (*s, k))
                .collect()
        }
    }

    /// A copy re-encoded as Redis does for a STORE result: a listpack when
    /// small enough.
    pub fn compacted(mut self) -> ZSetVal {
        self.big = self.len() > ZSET_MAX_LISTPACK_ENTRIES
            || self.dict.keys().any(|k| k.len() > ZSET_MAX_LISTPACK_VALUE);
        self
    }

    pub fn encoding(&self) -> &'static str {
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }

    pub fn mem_usage(&self) -> usize {
        self.dict.keys().map(|k| 2 * k.len() + 72).sum::<usize>() + 96
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(z: &ZSetVal) -> Vec<(f64, String)> {
        z.order
            .iter()
            .map(|(s, k)| (*s, String::from_utf8(k.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn order_by_score_then_member() {
        let mut z = ZSetVal::default();
        assert!(z.set(b"b", 1.0));
        assert!(z.set(b"a", 1.0));
        assert!(z.set(b"c", 0.5));
        assert!(!z.set(b"c", 2.0));
        assert_eq!(
            members(&z),
            vec![(1.0, "a".into()), (1.0, "b".into()), (2.0, "c".into())]
        );
        assert_eq!(z.rank(b"b"), Some(1));
        assert!(z.remove(b"a"));
        assert_eq!(z.rank(b"c"), Some(1));
        assert_eq!(z.pop(true).map(|(s, _)| s), Some(2.0));
        assert_eq!(z.len(), 1);
        assert_eq!(z.order.len(), 1);
    }

    #[test]
    fn many_members_split_and_merge_chunks() {
        let mut z = ZSetVal::default();
        let n = 5000usize;
        for i in 0..n {
            // Scores in a scrambled order.
            let s = ((i * 7919) % n) as f64;
            z.set(format!("m{i}").as_bytes(), s);
        }
        assert!(z.big);
        assert!(z.order.chunks.len() > 10);
        let scores: Vec<f64> = z.order.iter().map(|(s, _)| *s).collect();
        assert!(scores.windows(2).all(|w| w[0] <= w[1]));
        for i in (0..n).step_by(97) {
            let m = format!("m{i}");
            let r = z.rank(m.as_bytes()).unwrap();
            assert_eq!(r, ((i * 7919) % n), "rank equals score here");
            assert_eq!(&z.order.iter_from(r).next().unwrap().1[..], m.as_bytes());
            assert_eq!(
                &z.order.iter_down_from(r).next().unwrap().1[..],
                m.as_bytes()
            );
        }
        assert_eq!(z.order.count_while(|s, _| s < 100.0), 100);
        let top: Vec<f64> = z.by_rank(0, 2, true).iter().map(|(s, _)| *s).collect();
        assert_eq!(top, vec![4999.0, 4998.0, 4997.0]);
        for i in 0..n - 1 {
            assert!(z.remove(format!("m{i}").as_bytes()));
        }
        assert_eq!(z.len(), 1);
        assert_eq!(z.order.len(), 1);
        assert!(z.order.chunks.len() == 1);
    }
}
