//! openraft's state machine: committed entries, in log order, handed to the
//! server's apply path, plus what openraft itself must know (last applied
//! log id, last membership) and the snapshot files.
//!
//! The keyspace lives in the shards, one per core; this side only routes.
//! A normal entry's proposal goes to an [`Applier`] (the server feeds it to
//! every owning shard's queue, and the proposer's clients get their replies
//! from the shards), so "applied" here means "queued, in order, on every
//! shard": readers wait for the shards themselves (`shared.applied`).
//!
//! Snapshot file: `CCSNAP01`, the metadata (last log id, membership), then
//! the applier's dump of the state. A snapshot is built into a temporary
//! file and renamed into place, so a crash leaves the previous one whole.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use futures_lite::StreamExt;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder};

use super::types::{
    decode_membership, encode_membership, log_id, term_of, LogId, Proposal, SnapshotMeta,
    StoredMembership, TypeConfig,
};

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, File>;

pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// Where committed proposals go, and where snapshot contents come from.
pub trait Applier {
    /// A committed proposal at log `index`, in log order.
    fn apply(&self, index: u64, term: u64, proposal: Proposal);
    /// Append the state as of everything applied so far to `out` (after
    /// the header); `dir` may hold temporary files.
    fn dump<'a>(&'a self, out: File, dir: &'a Path) -> LocalFuture<'a, io::Result<File>>;
    /// Replace the state with the body of a snapshot whose last entry is
    /// `last` (`input` is positioned after the header).
    fn load<'a>(&'a self, input: File, last: Option<LogId>) -> LocalFuture<'a, io::Result<()>>;
}

/// An applier with no state (openraft's storage conformance tests).
#[cfg(test)]
pub struct NoState;

#[cfg(test)]
impl Applier for NoState {
    fn apply(&self, _: u64, _: u64, _: Proposal) {}
    fn dump<'a>(&'a self, out: File, _: &'a Path) -> LocalFuture<'a, io::Result<File>> {
        Box::pin(async move { Ok(out) })
    }
    fn load<'a>(&'a self, _: File, _: Option<LogId>) -> LocalFuture<'a, io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Format 2: records archived unaligned; format 1 is refused by name.
const MAGIC: &[u8; 8] = b"CCSNAP02";
const MAGIC_V1: &[u8; 8] = b"CCSNAP01";

struct State {
    dir: PathBuf,
    applied: Option<LogId>,
    membership: StoredMembership,
    applier: Rc<dyn Applier>,
}

/// The state machine handed to openraft (and its snapshot builder: clones
/// share one state).
#[derive(Clone)]
pub struct StateMachine {
    state: Rc<RefCell<State>>,
}

fn put_log_id(out: &mut Vec<u8>, id: &Option<LogId>) {
    match id {
        Some(id) => {
            out.push(1);
            out.extend_from_slice(&term_of(id).to_le_bytes());
            out.extend_from_slice(&id.index.to_le_bytes());
        }
        None => out.extend_from_slice(&[0; 17]),
    }
}

fn get_log_id(b: &[u8]) -> io::Result<Option<LogId>> {
    let u = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    match b[0] {
        0 => Ok(None),
        1 => Ok(Some(log_id(u(1), u(9)))),
        _ => Err(bad("log id flag")),
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("snapshot: bad {what}"))
}

fn encode_meta(meta: &SnapshotMeta) -> Vec<u8> {
    let mut out = Vec::new();
    put_log_id(&mut out, &meta.last_log_id);
    put_log_id(&mut out, meta.last_membership.log_id());
    out.extend_from_slice(&encode_membership(meta.last_membership.membership()));
    out
}

fn decode_meta(b: &[u8]) -> io::Result<SnapshotMeta> {
    if b.len() < 34 {
        return Err(bad("metadata"));
    }
    Ok(SnapshotMeta {
        last_log_id: get_log_id(&b[..17])?,
        last_membership: StoredMembership::new(
            get_log_id(&b[17..34])?,
            decode_membership(&b[34..])?,
        ),
    })
}

/// Read a snapshot file's metadata; the file is left at the start of the
/// state dump.
pub fn read_meta(f: &mut File) -> io::Result<SnapshotMeta> {
    f.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; 12];
    f.read_exact(&mut head)?;
    if &head[..8] == MAGIC_V1 {
        return Err(super::old_format());
    }
    if &head[..8] != MAGIC {
        return Err(bad("magic"));
    }
    let len = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")) as usize;
    let mut meta = vec![0u8; len];
    f.read_exact(&mut meta)?;
    decode_meta(&meta)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl StateMachine {
    pub fn new(dir: &Path, applier: Rc<dyn Applier>) -> io::Result<StateMachine> {
        std::fs::create_dir_all(dir)?;
        Ok(StateMachine {
            state: Rc::new(RefCell::new(State {
                dir: dir.to_path_buf(),
                applied: None,
                membership: StoredMembership::default(),
                applier,
            })),
        })
    }

    fn snapshot_path(&self) -> PathBuf {
        self.state.borrow().dir.join("snapshot")
    }

    /// Load the last snapshot, if any, into the applier (at startup; the log
    /// after it is then replayed by openraft).
    pub async fn restore(&self) -> io::Result<()> {
        let mut f = match File::open(self.snapshot_path()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let meta = read_meta(&mut f)?;
        let applier = self.state.borrow().applier.clone();
        applier.load(f, meta.last_log_id).await?;
        let mut s = self.state.borrow_mut();
        s.applied = meta.last_log_id;
        s.membership = meta.last_membership;
        Ok(())
    }

    /// The log id of the last applied entry.
    pub fn applied(&self) -> Option<LogId> {
        self.state.borrow().applied
    }

    /// Write `snapshot.tmp` (header, then what `body` appends and fsyncs)
    /// and rename it into place.
    async fn write_snapshot<'a>(
        &self,
        meta: &SnapshotMeta,
        body: impl FnOnce(File, PathBuf) -> LocalFuture<'a, io::Result<File>>,
    ) -> io::Result<File> {
        let dir = self.state.borrow().dir.clone();
        let tmp = dir.join("snapshot.tmp");
        let mut f = File::create(&tmp)?;
        let m = encode_meta(meta);
        let mut head = Vec::with_capacity(12 + m.len());
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&(m.len() as u32).to_le_bytes());
        head.extend_from_slice(&m);
        f.write_all(&head)?;
        // The body is written and fsynced off the executor.
        drop(body(f, dir.clone()).await?);
        std::fs::rename(&tmp, dir.join("snapshot"))?;
        sync_dir(&dir)?;
        File::open(dir.join("snapshot"))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = File;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let (meta, applier) = {
            let s = self.state.borrow();
            (
                SnapshotMeta {
                    last_log_id: s.applied,
                    last_membership: s.membership.clone(),
                },
                s.applier.clone(),
            )
        };
        let file = self
            .write_snapshot(&meta, |f, dir| {
                Box::pin(async move { applier.dump(f, &dir).await })
            })
            .await?;
        Ok(Snapshot {
            meta,
            snapshot: file,
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = File;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let s = self.state.borrow();
        Ok((s.applied, s.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> io::Result<()>
    where
        S: futures_lite::Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin,
    {
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let index = entry.log_id.index;
            let applier = {
                let mut s = self.state.borrow_mut();
                s.applied = Some(entry.log_id);
                if let EntryPayload::Membership(m) = &entry.payload {
                    s.membership = StoredMembership::new(Some(entry.log_id), m.clone());
                }
                s.applier.clone()
            };
            if let EntryPayload::Normal(p) = entry.payload {
                applier.apply(index, super::types::term_of(&entry.log_id), p);
            }
            if let Some(r) = responder {
                r.send(());
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> StateMachine {
        self.clone()
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, mut data: File) -> io::Result<()> {
        // Keep a copy as our current snapshot, then load it.
        let got = read_meta(&mut data)?;
        if got != *meta {
            return Err(bad("metadata (does not match the one sent)"));
        }
        let mut file = self
            .write_snapshot(meta, |mut f, _| {
                Box::pin(async move {
                    glommio::executor()
                        .spawn_blocking(move || {
                            io::copy(&mut data, &mut f)?;
                            f.sync_all()?;
                            Ok(f)
                        })
                        .await
                })
            })
            .await?;
        read_meta(&mut file)?;
        let applier = self.state.borrow().applier.clone();
        applier.load(file, meta.last_log_id).await?;
        let mut s = self.state.borrow_mut();
        s.applied = meta.last_log_id;
        s.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        let mut f = match File::open(self.snapshot_path()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = read_meta(&mut f)?;
        f.seek(SeekFrom::Start(0))?;
        Ok(Some(Snapshot { meta, snapshot: f }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_of_the_earlier_format_is_refused_by_name() {
        let path = std::env::temp_dir().join(format!("cachecat-snap-v1-{}", std::process::id()));
        let mut bytes = MAGIC_V1.to_vec();
        bytes.extend_from_slice(&0u32.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let e = read_meta(&mut File::open(&path).unwrap()).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(e.to_string(), crate::raft::OLD_FORMAT);
    }
}
