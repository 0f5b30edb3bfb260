//! openraft's log storage over our segment log (`log.rs`) and vote file
//! (`vote.rs`).
//!
//! - `append` writes a batch of entries, then, with `appendfsync always`,
//!   makes them durable with one fdatasync before telling openraft they are
//!   flushed (group commit: a batch is whatever openraft handed over at once).
//!   With `everysec` a timer syncs once a second and with `no` the system
//!   decides; in both, entries count as flushed once written, so an
//!   acknowledged write then rests on replication alone.
//! - The vote is fsynced before `save_vote` returns, in every mode: openraft
//!   replies to a vote request only after that.
//! - Recent entries are kept decoded in memory (bounded by bytes), so
//!   replication reads them without waiting for a write or fsync in
//!   progress; older ones are read back from disk.
//! - `purge` records the purged log id in the vote file before removing
//!   segments, so entries it covers are never served again even if a crash
//!   keeps their segment.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::rc::Rc;

use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use openraft::RaftLogReader;

use super::log::Log;
use super::types::{decode_entry, encode_payload, term_of, Entry, LogId, Meta, TypeConfig, Vote};
use super::vote::VoteFile;

/// Redis's `appendfsync` policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fsync {
    /// fdatasync every batch before it counts as flushed.
    #[default]
    Always,
    /// fdatasync once a second; entries count as flushed once written.
    EverySec,
    /// Never fdatasync; entries count as flushed once written.
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// Appends (batches written) and fdatasyncs of the log, for INFO.
pub static APPENDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub static FSYNCS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count(c: &std::sync::atomic::AtomicU64) {
    c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Bytes of recent entries kept decoded for replication.
const CACHE_BYTES: usize = 64 << 20;
/// Bytes per segment file before rolling to the next. Each segment file is
/// zero-filled ahead of use (see `segment.rs`), so this is also the disk a
/// node claims up front.
pub const SEGMENT_BYTES: u64 = 16 << 20;

/// Recent entries: a contiguous run ending at the last entry of the log.
#[derive(Default)]
struct Cache {
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
}

impl Cache {
    fn first(&self) -> Option<u64> {
        self.entries.front().map(|(e, _)| e.log_id.index)
    }

    fn get(&self, index: u64) -> Option<&Entry> {
        let first = self.first()?;
        let at = index.checked_sub(first)?;
        self.entries.get(at as usize).map(|(e, _)| e)
    }

    fn push(&mut self, e: Entry, size: usize) {
        self.bytes += size;
        self.entries.push_back((e, size));
        while self.bytes > CACHE_BYTES && self.entries.len() > 1 {
            let (_, s) = self.entries.pop_front().expect("non-empty");
            self.bytes -= s;
        }
    }

    /// Forget entries with index >= `index`.
    fn truncate_from(&mut self, index: u64) {
        while self
            .entries
            .back()
            .is_some_and(|(e, _)| e.log_id.index >= index)
        {
            let (_, s) = self.entries.pop_back().expect("non-empty");
            self.bytes -= s;
        }
    }

    /// Forget entries with index <= `index`.
    fn purge_upto(&mut self, index: u64) {
        while self
            .entries
            .front()
            .is_some_and(|(e, _)| e.log_id.index <= index)
        {
            let (_, s) = self.entries.pop_front().expect("non-empty");
            self.bytes -= s;
        }
    }
}

struct Disk {
    log: Log,
    vote: VoteFile,
    /// Written since the last fdatasync (everysec).
    dirty: bool,
}

struct State {
    meta: RefCell<Meta>,
    last: RefCell<Option<LogId>>,
    cache: RefCell<Cache>,
    disk: tokio::sync::Mutex<Disk>,
    fsync: Fsync,
    /// The greatest logical time of any entry appended (a new leader's
    /// first Tick goes past it).
    max_ts: std::cell::Cell<u64>,
}

fn ts_of(e: &Entry) -> u64 {
    match &e.payload {
        openraft::EntryPayload::Normal(p) => p.ts,
        _ => 0,
    }
}

/// The log store handed to openraft; clones share one log.
#[derive(Clone)]
pub struct LogStore {
    state: Rc<State>,
}

/// Reads from the same log, for openraft's replication tasks.
pub type LogReader = LogStore;

impl LogStore {
    /// Open (or create) the log in `dir`: recover the segments and the vote.
    pub async fn open(dir: &Path, fsync: Fsync) -> io::Result<LogStore> {
        Self::open_with(dir, fsync, SEGMENT_BYTES).await
    }

    pub async fn open_with(dir: &Path, fsync: Fsync, segment_bytes: u64) -> io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let (vote, saved) = VoteFile::open(&dir.join("vote")).await?;
        let meta = match saved {
            Some(b) => Meta::decode(&b)?,
            None => Meta::default(),
        };
        let (mut log, stored) = Log::open(&dir.join("log"), segment_bytes).await?;
        if fsync != Fsync::Always {
            // Nothing waits for the device: write through the page cache,
            // as Redis's AOF does.
            log.set_buffered()?;
        }
        let purged = meta.purged.as_ref().map(|p| p.index);
        let mut cache = Cache::default();
        let mut last = meta.purged;
        let mut max_ts = 0;
        for (index, term, payload) in stored {
            if purged.is_some_and(|p| index <= p) {
                continue;
            }
            let e = decode_entry(index, term, &payload)?;
            max_ts = max_ts.max(ts_of(&e));
            last = Some(e.log_id);
            cache.push(e, payload.len());
        }
        let state = State {
            meta: RefCell::new(meta),
            last: RefCell::new(last),
            cache: RefCell::new(cache),
            disk: tokio::sync::Mutex::new(Disk {
                log,
                vote,
                dirty: false,
            }),
            fsync,
            max_ts: std::cell::Cell::new(max_ts),
        };
        let store = LogStore {
            state: Rc::new(state),
        };
        if fsync == Fsync::EverySec {
            glommio::spawn_local(sync_every_second(Rc::downgrade(&store.state))).detach();
        }
        Ok(store)
    }

    async fn save_meta(&self) -> io::Result<()> {
        let bytes = self.state.meta.borrow().encode();
        self.state.disk.lock().await.vote.save(&bytes).await
    }

    fn first_readable(&self) -> u64 {
        self.state
            .meta
            .borrow()
            .purged
            .as_ref()
            .map_or(0, |p| p.index + 1)
    }

    /// The entries in `[from, to)` the log holds.
    async fn read_range(&self, from: u64, to: u64) -> io::Result<Vec<Entry>> {
        self.read_present(from.max(self.first_readable()), to).await
    }

    /// The entries in `[from, to)` the cache or the disk still holds, purged
    /// or not (the loop starts disk reads at the disk's first entry).
    async fn read_present(&self, from: u64, to: u64) -> io::Result<Vec<Entry>> {
        let to = to.min(self.state.last.borrow().as_ref().map_or(0, |l| l.index + 1));
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        let mut i = from;
        while i < to {
            if let Some(e) = self.state.cache.borrow().get(i) {
                out.push(e.clone());
                i += 1;
                continue;
            }
            let disk = self.state.disk.lock().await;
            // Entries below the cache come from disk, one lock for the run.
            let cached_from = self.state.cache.borrow().first().unwrap_or(to);
            i = i.max(disk.log.first_index());
            while i < to.min(cached_from) {
                match disk.log.read(i).await? {
                    Some((term, payload)) => out.push(decode_entry(i, term, &payload)?),
                    None => return Ok(out),
                }
                i += 1;
            }
        }
        Ok(out)
    }
}

/// `everysec`: fdatasync what was written, once a second, while the store
/// lives.
async fn sync_every_second(state: std::rc::Weak<State>) {
    loop {
        glommio::timer::sleep(std::time::Duration::from_secs(1)).await;
        let Some(state) = state.upgrade() else { return };
        let mut disk = state.disk.lock().await;
        if disk.dirty {
            disk.dirty = false;
            count(&FSYNCS);
            if let Err(e) = disk.log.sync().await {
                tracing::error!("log fdatasync failed: {e}");
            }
        }
    }
}

fn range_to(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let from = match range.start_bound() {
        Bound::Included(&i) => i,
        Bound::Excluded(&i) => i + 1,
        Bound::Unbounded => 0,
    };
    let to = match range.end_bound() {
        Bound::Included(&i) => i.saturating_add(1),
        Bound::Excluded(&i) => i,
        Bound::Unbounded => u64::MAX,
    };
    (from, to)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        let (from, to) = range_to(&range);
        self.read_range(from, to).await
    }

    /// What replication sends. openraft may purge entries after a stream
    /// decided to send them (seen under partitions: the leader snapshotted
    /// and purged while a lagging follower's range was being read); an
    /// empty answer would then stall that stream for good. Entries at or
    /// below the purge point are still served while they are here (purging
    /// drops whole segments), as the contract asks: never empty for a
    /// non-empty range.
    async fn limited_get_log_entries(&mut self, start: u64, end: u64) -> io::Result<Vec<Entry>> {
        self.read_present(start, end).await
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(self.state.meta.borrow().vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        Ok(LogState {
            last_purged_log_id: self.state.meta.borrow().purged,
            last_log_id: *self.state.last.borrow(),
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        let old = self.state.meta.borrow_mut().vote.replace(*vote);
        if let Err(e) = self.save_meta().await {
            self.state.meta.borrow_mut().vote = old;
            return Err(e);
        }
        Ok(())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry>,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let Some(first) = entries.first().map(|e| e.log_id.index) else {
            callback.io_completed(Ok(()));
            return Ok(());
        };
        let encoded: Vec<(u64, u64, Vec<u8>)> = entries
            .iter()
            .map(|e| {
                (
                    e.log_id.index,
                    term_of(&e.log_id),
                    encode_payload(&e.payload),
                )
            })
            .collect();
        let mut disk = self.state.disk.lock().await;
        // Visible to replication as soon as they are in order here; they
        // count as flushed only after the write (and fsync) below.
        {
            let mut cache = self.state.cache.borrow_mut();
            let mut last = self.state.last.borrow_mut();
            for (e, (_, _, bytes)) in entries.into_iter().zip(&encoded) {
                *last = Some(e.log_id);
                self.state
                    .max_ts
                    .set(self.state.max_ts.get().max(ts_of(&e)));
                cache.push(e, bytes.len());
            }
        }
        if disk.log.is_empty() && disk.log.next_index() != first {
            disk.log.reset(first).await?;
        }
        if disk.log.next_index() != first {
            return Err(io::Error::other(format!(
                "log append at {first} does not continue the log at {}",
                disk.log.next_index()
            )));
        }
        let refs: Vec<(u64, u64, &[u8])> =
            encoded.iter().map(|(i, t, p)| (*i, *t, &p[..])).collect();
        disk.log.append(&refs).await?;
        count(&APPENDS);
        match self.state.fsync {
            Fsync::Always => {
                disk.log.sync().await?;
                count(&FSYNCS);
            }
            Fsync::EverySec => disk.dirty = true,
            Fsync::No => {}
        }
        drop(disk);
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last: Option<LogId>) -> io::Result<()> {
        let from = last.as_ref().map_or(0, |l| l.index + 1);
        let mut disk = self.state.disk.lock().await;
        self.state.cache.borrow_mut().truncate_from(from);
        {
            let mut l = self.state.last.borrow_mut();
            if l.as_ref().is_some_and(|l| l.index >= from) {
                *l = last.or(self.state.meta.borrow().purged);
            }
        }
        disk.log.truncate_from(from).await?;
        disk.log.sync().await
    }

    async fn purge(&mut self, upto: LogId) -> io::Result<()> {
        {
            let mut meta = self.state.meta.borrow_mut();
            if meta.purged.as_ref().is_some_and(|p| p.index >= upto.index) {
                return Ok(());
            }
            meta.purged = Some(upto);
        }
        self.save_meta().await?;
        self.state.cache.borrow_mut().purge_upto(upto.index);
        {
            let mut last = self.state.last.borrow_mut();
            if last.as_ref().is_none_or(|l| l.index < upto.index) {
                *last = Some(upto);
            }
        }
        let mut disk = self.state.disk.lock().await;
        if disk.log.next_index() <= upto.index + 1 {
            // Everything is covered: the next entry follows the purged one.
            disk.log.reset(upto.index + 1).await
        } else {
            disk.log.purge_upto(upto.index).await
        }
    }
}

impl LogStore {
    /// The greatest logical time in the log.
    pub fn max_ts(&self) -> u64 {
        self.state.max_ts.get()
    }

    /// A snapshot's entries count as part of the log's history.
    pub fn raise_max_ts(&self, ts: u64) {
        self.state.max_ts.set(self.state.max_ts.get().max(ts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::{log_id, Proposal};
    use openraft::EntryPayload;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: log_id(term, index),
            payload: EntryPayload::Normal(Proposal {
                instance: 1,
                seq: index,
                ts: index * 10,
                ops: bytes::Bytes::from(format!("ops of {index}").into_bytes()),
            }),
        }
    }

    async fn append(store: &mut LogStore, from: u64, to: u64, term: u64) {
        use openraft::type_config::TypeConfigExt;
        let (tx, rx) = TypeConfig::oneshot();
        let cb = IOFlushed::signal(tx);
        store
            .append((from..to).map(|i| entry(term, i)), cb)
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
    }

    /// Replication may still ask for entries openraft has just purged:
    /// they are served while present, and never an empty answer.
    #[test]
    fn replication_reads_purged_entries_still_present() {
        let dir =
            std::env::temp_dir().join(format!("cachecat-store-purged-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::raft::run_local(async {
            let mut s = LogStore::open_with(&dir, Fsync::No, 1 << 20).await.unwrap();
            append(&mut s, 0, 100, 1).await;
            s.purge(log_id(1, 80)).await.unwrap();
            let strict = s.try_get_log_entries(70..90).await.unwrap();
            let idx: Vec<u64> = strict.iter().map(|e| e.log_id.index).collect();
            assert_eq!(idx, (81..90).collect::<Vec<_>>());
            let sent = s.limited_get_log_entries(70, 90).await.unwrap();
            assert_eq!(sent.first(), Some(&entry(1, 70)));
            assert_eq!(sent.len(), 20);
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reopening_recovers_entries_vote_and_purge() {
        let dir = std::env::temp_dir().join(format!("cachecat-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::raft::run_local(async {
            for fsync in [Fsync::Always, Fsync::EverySec, Fsync::No] {
                let _ = std::fs::remove_dir_all(&dir);
                let mut s = LogStore::open_with(&dir, fsync, 4096 + 512).await.unwrap();
                append(&mut s, 0, 50, 1).await;
                append(&mut s, 50, 120, 2).await;
                s.truncate_after(Some(log_id(2, 99))).await.unwrap();
                append(&mut s, 100, 130, 3).await;
                s.save_vote(&Vote::new_committed(3, 2)).await.unwrap();
                s.purge(log_id(1, 30)).await.unwrap();
                drop(s);
                let mut s = LogStore::open_with(&dir, fsync, 4096 + 512).await.unwrap();
                let st = s.get_log_state().await.unwrap();
                assert_eq!(st.last_purged_log_id, Some(log_id(1, 30)), "{fsync:?}");
                assert_eq!(st.last_log_id, Some(log_id(3, 129)));
                assert_eq!(
                    s.read_vote().await.unwrap(),
                    Some(Vote::new_committed(3, 2))
                );
                let all = s.try_get_log_entries(..).await.unwrap();
                let idx: Vec<u64> = all.iter().map(|e| e.log_id.index).collect();
                assert_eq!(idx, (31..130).collect::<Vec<_>>());
                assert_eq!(all[98], entry(3, 129));
                assert_eq!(all[68], entry(2, 99));
                // Everything purged: the log continues after the purged id.
                s.purge(log_id(3, 129)).await.unwrap();
                append(&mut s, 130, 131, 3).await;
                drop(s);
                let mut s = LogStore::open_with(&dir, fsync, 4096 + 512).await.unwrap();
                let all = s.try_get_log_entries(0..1000).await.unwrap();
                assert_eq!(all, vec![entry(3, 130)]);
            }
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
