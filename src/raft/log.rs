//! The Raft log: a directory of segments (`segment.rs`), named by the index
//! of their first entry, the last one taking appends.
//!
//! - Appends roll to a new segment once the active one passes
//!   `segment_bytes`; `sync` makes everything appended durable (the segment
//!   just rolled away from included) with one fdatasync per touched file.
//! - Opening recovers every segment in order. Only the last may end torn
//!   (earlier ones were synced before the roll); a segment that ends short
//!   anyway, or does not continue the previous one, ends the log there and
//!   the segments after it are removed: their entries could not be
//!   reached without a gap.
//! - `truncate_from` drops entries a new leader overwrote; `purge_upto`
//!   removes whole segments covered by a snapshot.

use std::io;
use std::path::{Path, PathBuf};

use super::record::Stop;
use super::segment::{Segment, Stored};

pub struct Log {
    dir: PathBuf,
    segments: Vec<Segment>,
    segment_bytes: u64,
    /// Segments rolled away from that still need their fdatasync.
    unsynced: Vec<usize>,
    /// The zero-filled file the next segment will use, once a helper
    /// thread has prepared it (shared with that thread's completion).
    spare: std::rc::Rc<std::cell::Cell<SpareState>>,
    spare_path: PathBuf,
    /// Appends go through the page cache (see `Segment::set_buffered`).
    buffered: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum SpareState {
    #[default]
    None,
    Filling,
    Ready,
}

/// Spare files are named per log instance (`spare-N.tmp`): a fill still
/// running for an instance that was dropped never writes into another's.
static SPARE_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn is_spare(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("spare") && n.ends_with(".tmp"))
}

fn segment_name(first_index: u64) -> String {
    format!("{first_index:020}.seg")
}

impl Log {
    /// Open (or create) the log in `dir`; returns it with every recovered
    /// entry in order.
    pub async fn open(dir: &Path, segment_bytes: u64) -> io::Result<(Log, Vec<Stored>)> {
        std::fs::create_dir_all(dir)?;
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        names.sort();
        let mut segments: Vec<Segment> = Vec::new();
        let mut entries: Vec<Stored> = Vec::new();
        let mut ended = false;
        for path in names {
            if ended {
                std::fs::remove_file(&path)?;
                continue;
            }
            let (seg, found, stop) = Segment::open(&path).await?;
            let continues = segments
                .last()
                .is_none_or(|prev| seg.first_index == prev.next_index());
            if !continues {
                tracing::warn!(path = %path.display(), "log segment does not continue the log: removed with those after it");
                seg.remove().await?;
                ended = true;
                continue;
            }
            if stop != Stop::End {
                tracing::warn!(path = %path.display(), ?stop, "log segment ended torn: cut after its last whole record");
                ended = true;
            }
            entries.extend(found);
            segments.push(seg);
        }
        // A spare left by an interrupted run may be partly filled.
        for p in std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())) {
            if is_spare(&p) {
                let _ = std::fs::remove_file(p);
            }
        }
        let spare_path = dir.join(format!(
            "spare-{}.tmp",
            SPARE_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let mut log = Log {
            dir: dir.to_path_buf(),
            segments,
            segment_bytes,
            unsynced: Vec::new(),
            spare: Default::default(),
            spare_path,
            buffered: false,
        };
        if log.segments.is_empty() {
            // A new log starts in a preallocated segment too.
            let (path, bytes) = (log.spare_path.clone(), log.spare_bytes());
            glommio::executor()
                .spawn_blocking(move || super::segment::zero_fill(&path, bytes))
                .await?;
            log.spare.set(SpareState::Ready);
            log.roll(1).await?;
        }
        log.prepare_spare();
        Ok((log, entries))
    }

    /// Zero-fill the next segment's file on a helper thread, unless one is
    /// ready or on its way. Room for a full segment and a batch past it.
    fn prepare_spare(&self) {
        if self.spare.get() != SpareState::None {
            return;
        }
        self.spare.set(SpareState::Filling);
        let path = self.spare_path.clone();
        let bytes = self.spare_bytes();
        let state = self.spare.clone();
        glommio::spawn_local(async move {
            let r = glommio::executor()
                .spawn_blocking(move || super::segment::zero_fill(&path, bytes))
                .await;
            match r {
                Ok(()) => state.set(SpareState::Ready),
                Err(e) => {
                    tracing::warn!("preparing the next log segment: {e}");
                    state.set(SpareState::None);
                }
            }
        })
        .detach();
    }

    fn spare_bytes(&self) -> u64 {
        super::segment::HEADER_BLOCK + self.segment_bytes + self.segment_bytes / 8
    }

    async fn roll(&mut self, first_index: u64) -> io::Result<()> {
        let path = self.dir.join(segment_name(first_index));
        let spare = self.spare_path.clone();
        let ready = self.spare.get() == SpareState::Ready;
        let mut seg = Segment::create(&path, first_index, ready.then_some(spare.as_path())).await?;
        if self.buffered {
            seg.set_buffered()?;
        }
        if ready {
            self.spare.set(SpareState::None);
        }
        if !self.segments.is_empty() {
            self.unsynced.push(self.segments.len() - 1);
        }
        self.segments.push(seg);
        if self.spare.get() == SpareState::None && !self.segments.is_empty() {
            // Not at open (prepare_spare runs after recovery there).
            self.prepare_spare();
        }
        Ok(())
    }

    fn active(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a log always has a segment")
    }

    /// The first index still in the log.
    pub fn first_index(&self) -> u64 {
        self.segments[0].first_index
    }

    /// The index the next append must have.
    pub fn next_index(&self) -> u64 {
        self.segments.last().expect("a segment").next_index()
    }

    /// Append entries (consecutive indexes, continuing the log); written,
    /// durable only after `sync`.
    pub async fn append(&mut self, entries: &[(u64, u64, &[u8])]) -> io::Result<()> {
        let mut rest = entries;
        while !rest.is_empty() {
            if self.active().size() >= self.segment_bytes {
                let next = self.next_index();
                self.roll(next).await?;
            }
            // Fill the active segment up to its size, then roll.
            let room = self.segment_bytes.saturating_sub(self.active().size());
            let mut take = 0;
            let mut bytes = 0u64;
            while take < rest.len() && (take == 0 || bytes < room) {
                bytes += (super::record::HEADER + rest[take].2.len()) as u64;
                take += 1;
            }
            self.active().append(&rest[..take]).await?;
            rest = &rest[take..];
        }
        Ok(())
    }

    /// Make every appended entry durable.
    pub async fn sync(&mut self) -> io::Result<()> {
        for i in std::mem::take(&mut self.unsynced) {
            if let Some(seg) = self.segments.get_mut(i) {
                seg.sync().await?;
            }
        }
        self.active().sync().await
    }

    fn segment_of(&self, index: u64) -> Option<usize> {
        let i = self.segments.partition_point(|s| s.first_index <= index);
        i.checked_sub(1)
            .filter(|&i| index < self.segments[i].next_index())
    }

    /// The term and payload of entry `index`, if the log holds it.
    pub async fn read(&self, index: u64) -> io::Result<Option<(u64, Vec<u8>)>> {
        match self.segment_of(index) {
            Some(i) => self.segments[i].read(index).await,
            None => Ok(None),
        }
    }

    /// Write appends through the page cache from now on (fsync policies
    /// that do not wait for the device).
    pub fn set_buffered(&mut self) -> io::Result<()> {
        self.buffered = true;
        self.active().set_buffered()
    }

    /// Whether the log holds no entry.
    pub fn is_empty(&self) -> bool {
        self.next_index() == self.first_index()
    }

    /// Drop every entry and continue at `first_index`: the first entry of a
    /// new cluster (index 0), or the one after an installed snapshot.
    pub async fn reset(&mut self, first_index: u64) -> io::Result<()> {
        for seg in std::mem::take(&mut self.segments) {
            seg.remove().await?;
        }
        self.unsynced.clear();
        self.roll(first_index).await
    }

    /// Drop the entries with index >= `index`, durably.
    pub async fn truncate_from(&mut self, index: u64) -> io::Result<()> {
        if index <= self.first_index() {
            return self.reset(index).await;
        }
        while self.segments.len() > 1 && self.segments.last().expect("segment").first_index >= index
        {
            let seg = self.segments.pop().expect("segment");
            seg.remove().await?;
        }
        self.unsynced.retain(|&i| i < self.segments.len());
        self.active().truncate_from(index).await
    }

    /// Remove whole segments whose entries all have index <= `index`
    /// (covered by a snapshot). The active segment stays.
    pub async fn purge_upto(&mut self, index: u64) -> io::Result<()> {
        while self.segments.len() > 1 && self.segments[1].first_index <= index + 1 {
            let seg = self.segments.remove(0);
            seg.remove().await?;
            self.unsynced = self
                .unsynced
                .iter()
                .filter(|&&i| i > 0)
                .map(|i| i - 1)
                .collect();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::raft::run_local as run;

    use crate::raft::{as_refs, test_entries, test_payload as payload};

    async fn append_range(log: &mut Log, from: u64, to: u64, term: u64) {
        log.append(&as_refs(&test_entries(from, to, term)))
            .await
            .unwrap();
        log.sync().await.unwrap();
    }

    #[test]
    fn rolls_reopens_truncates_and_purges() {
        let dir = std::env::temp_dir().join(format!("cachecat-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(async {
            let (mut log, none) = Log::open(&dir, 8 * 1024).await.unwrap();
            assert!(none.is_empty());
            for batch in 0..20 {
                append_range(&mut log, 1 + batch * 25, 1 + (batch + 1) * 25, 1).await;
            }
            assert!(log.segments.len() > 5, "{} segments", log.segments.len());
            assert_eq!(log.read(321).await.unwrap(), Some((1, payload(321))));
            assert_eq!(log.read(999).await.unwrap(), None);
            // A new leader overwrote everything from 300 on.
            log.truncate_from(300).await.unwrap();
            assert_eq!(log.next_index(), 300);
            append_range(&mut log, 300, 310, 2).await;
            // A snapshot covers everything up to 200.
            log.purge_upto(200).await.unwrap();
            assert!(log.first_index() <= 201);
            assert!(log.first_index() > 1);
            let first = log.first_index();
            drop(log);
            let (log, entries) = Log::open(&dir, 8 * 1024).await.unwrap();
            assert_eq!(entries.first().map(|e| e.0), Some(first));
            assert_eq!(entries.last().map(|e| (e.0, e.1)), Some((309, 2)));
            assert!(entries.windows(2).all(|w| w[1].0 == w[0].0 + 1));
            assert_eq!(log.read(305).await.unwrap(), Some((2, payload(305))));
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_middle_segment_ends_the_log_there() {
        let dir = std::env::temp_dir().join(format!("cachecat-log2-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let names = run(async {
            let (mut log, _) = Log::open(&dir, 4 * 1024).await.unwrap();
            append_range(&mut log, 1, 200, 1).await;
            log.segments
                .iter()
                .map(|s| s.path().to_path_buf())
                .collect::<Vec<_>>()
        });
        assert!(names.len() >= 4);
        // Corrupt the second segment's last record.
        let victim = &names[1];
        let mut bytes = std::fs::read(victim).unwrap();
        let last_nonzero = bytes.iter().rposition(|&b| b != 0).unwrap();
        bytes[last_nonzero] ^= 0xFF;
        std::fs::write(victim, &bytes).unwrap();
        run(async {
            let (log, entries) = Log::open(&dir, 4 * 1024).await.unwrap();
            assert_eq!(log.segments.len(), 2, "segments after the break are gone");
            assert!(entries.windows(2).all(|w| w[1].0 == w[0].0 + 1));
            assert_eq!(log.next_index(), entries.last().unwrap().0 + 1);
        });
        for later in &names[2..] {
            assert!(!later.exists(), "{} should be removed", later.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
