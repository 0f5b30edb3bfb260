//! Snapshots of the keyspace across cores.
//!
//! **Cut.** The raft core routes a `Dump` job to every shard at the
//! current apply position. Each shard, on reaching it, stops applying (its
//! queue holds later entries; reads go on), writes its keys to a part file
//! in chunks, yielding between chunks so its core keeps serving and the
//! raft core keeps sending heartbeats, then resumes. The parts are then
//! joined after the snapshot's header on a blocking-I/O thread and the
//! file fsynced there. So a snapshot is exactly the state at the last
//! applied entry; writes wait while it is cut (the fork-free, pause-free
//! version comes later).
//!
//! **Load.** A `Clear` job empties every shard behind whatever it still
//! had queued, then the raft core reads the records, routes each key to
//! its owner under this node's thread count (`Msg::Load`) and raises every
//! shard's applied version to the snapshot's.
//!
//! **Part format.** Records `len u32 | crc32c u32 | rkyv(dump::Record)`;
//! the body of a snapshot file starts with the logical time of its last
//! entry (u64), then the records of every part, then a zero length.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachecat_io::Reply;
use cachecat_shards::cmd::Merge;
use cachecat_shards::dump::{from_dump, to_dump, DEntry, Record};
use cachecat_shards::keyspace::Key;
use cachecat_shards::Entry;

use crate::core::{Core, Msg, Seq};
use crate::raft::record::crc32c;

/// Entries per record: small enough to yield often, big enough to keep the
/// per-record cost low.
const CHUNK_KEYS: usize = 512;

/// What a shard does at a snapshot position.
#[derive(Clone, Debug)]
pub enum Job {
    /// Write this shard's keys to `dir/part-{id}-{shard}`.
    Dump { dir: PathBuf, id: u64 },
    /// Empty this shard (a snapshot is about to be loaded).
    Clear,
    /// Reply this shard's part of the replica digest: the wrapping sum of
    /// a hash of every entry (db, key, value in its order, deadline,
    /// version), so the total depends neither on order nor on sharding.
    Digest,
}

fn entry_digest(db: usize, key: &[u8], e: &Entry) -> u64 {
    use std::hash::BuildHasher;
    let d = to_dump(db as u32, key, e);
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&d).expect("in memory");
    foldhash::fast::FixedState::with_seed(0x6361_6368_6563_6174).hash_one(&bytes[..])
}

/// A database's deletion window: (db, floor, (key, version)...).
pub type Deletions = (u32, u64, Vec<(Key, u64)>);

/// Part of an installed snapshot for one shard.
pub struct Load {
    pub entries: Vec<(u32, Vec<u8>, Entry)>,
    pub deletions: Vec<Deletions>,
    /// The version everything loaded counts as applied at.
    pub applied: u64,
}

fn part_path(dir: &std::path::Path, id: u64, shard: usize) -> PathBuf {
    dir.join(format!("part-{id}-{shard}"))
}

fn write_record(w: &mut impl Write, r: &Record) -> io::Result<()> {
    let body = rkyv::to_bytes::<rkyv::rancor::Error>(r).map_err(io::Error::other)?;
    w.write_all(&(body.len() as u32).to_le_bytes())?;
    w.write_all(&crc32c(0, &body).to_le_bytes())?;
    w.write_all(&body)
}

/// The next record, None at the end marker.
fn read_record(r: &mut impl Read) -> io::Result<Option<Record>> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head[..4])?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    if len == 0 {
        return Ok(None);
    }
    r.read_exact(&mut head[4..])?;
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    // Unaligned archives: any buffer will do.
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    if crc32c(0, &body) != crc {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "snapshot record fails its checksum",
        ));
    }
    rkyv::from_bytes::<Record, rkyv::rancor::Error>(&body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

impl Core {
    /// A shard reached a snapshot job in its queue.
    pub fn run_job(self: &Rc<Self>, seq: Arc<Seq>) {
        match seq.job.clone().expect("a job") {
            Job::Clear => {
                let mut shard = self.shard.borrow_mut();
                for db in shard.dbs.iter_mut() {
                    *db = Default::default();
                }
                shard.applied = 0;
                drop(shard);
                self.deliver(seq.origin, Reply::Ok);
            }
            Job::Digest => {
                self.stalled.set(Some(u64::MAX));
                let core = self.clone();
                glommio::spawn_local(async move {
                    let sum = core.digest_shard().await;
                    core.stalled.set(None);
                    core.drain();
                    core.deliver(seq.origin, Reply::Int(sum as i64));
                })
                .detach();
            }
            Job::Dump { dir, id } => {
                // Hold later entries until the walk is done.
                self.stalled.set(Some(u64::MAX));
                let core = self.clone();
                glommio::spawn_local(async move {
                    let r = core.dump_shard(&part_path(&dir, id, core.id)).await;
                    core.stalled.set(None);
                    core.drain();
                    let reply = match r {
                        Ok(()) => Reply::Ok,
                        Err(e) => Reply::Error(format!("ERR snapshot part: {e}").into()),
                    };
                    core.deliver(seq.origin, reply);
                })
                .detach();
            }
        }
    }

    async fn digest_shard(&self) -> u64 {
        let mut sum = 0u64;
        for db in 0..self.shared.databases {
            let mut cursor = Some(0u64);
            while let Some(at) = cursor {
                {
                    let shard = self.shard.borrow();
                    cursor = shard.db(db).scan(at, CHUNK_KEYS, |k, e| {
                        sum = sum.wrapping_add(entry_digest(db, k, e));
                    });
                }
                futures_lite::future::yield_now().await;
            }
        }
        sum
    }

    /// The replica digest at the current apply position (raft core).
    pub async fn digest(self: &Rc<Self>) -> u64 {
        let req = self.start_digest();
        self.finish_digest(req).await
    }

    /// Route a digest job behind everything routed so far.
    pub fn start_digest(self: &Rc<Self>) -> u32 {
        let req = self.pending.register(self.n as u32, Merge::Sum);
        self.route_job(Job::Digest, req);
        req
    }

    /// The digest a `start_digest` asked for.
    pub async fn finish_digest(&self, req: u32) -> u64 {
        match self.pending.wait(req).await {
            Reply::Int(n) => n as u64,
            _ => 0,
        }
    }

    async fn dump_shard(&self, path: &std::path::Path) -> io::Result<()> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let databases = self.shared.databases;
        for db in 0..databases {
            let mut cursor = Some(0u64);
            while let Some(at) = cursor {
                let mut chunk: Vec<DEntry> = Vec::new();
                {
                    let shard = self.shard.borrow();
                    cursor = shard.db(db).scan(at, CHUNK_KEYS, |k, e| {
                        chunk.push(to_dump(db as u32, k, e));
                    });
                }
                if !chunk.is_empty() {
                    write_record(&mut w, &Record::Entries(chunk))?;
                }
                futures_lite::future::yield_now().await;
            }
            let (floor, list) = {
                let shard = self.shard.borrow();
                let (floor, list) = shard.db(db).deletions();
                (
                    floor,
                    list.map(|(k, i)| (k.to_vec(), i)).collect::<Vec<_>>(),
                )
            };
            if floor != 0 || !list.is_empty() {
                write_record(
                    &mut w,
                    &Record::Deletions {
                        db: db as u32,
                        floor,
                        list,
                    },
                )?;
            }
        }
        w.flush()
    }

    /// Snapshot contents for this shard.
    pub fn on_load(&self, load: Load) {
        let mut shard = self.shard.borrow_mut();
        for (db, key, e) in load.entries {
            shard.db_mut(db as usize).insert(&key, e);
        }
        for (db, floor, list) in load.deletions {
            shard.db_mut(db as usize).restore_deletions(floor, list);
        }
        shard.applied = shard.applied.max(load.applied);
        drop(shard);
        self.shared.applied[self.id].fetch_max(load.applied, Ordering::AcqRel);
    }

    fn send_load(self: &Rc<Self>, to: usize, load: Load) {
        if to == self.id {
            self.on_load(load);
        } else {
            self.send(to, Msg::Load(load));
        }
    }

    /// Run `job` on every shard at the current apply position and wait.
    async fn on_every_shard(self: &Rc<Self>, job: Job) -> io::Result<()> {
        let req = self.pending.register(self.n as u32, Merge::Ok);
        self.route_job(job, req);
        match self.pending.wait(req).await {
            Reply::Error(e) => Err(io::Error::other(e.to_string())),
            _ => Ok(()),
        }
    }

    /// Write the keyspace as a snapshot body at the end of `out` (raft core):
    /// the applied logical time, every shard's records, the end marker.
    /// Parts are written under `dir`.
    pub async fn dump_keyspace(
        self: &Rc<Self>,
        mut out: File,
        applied_ts: u64,
        dir: PathBuf,
        id: u64,
    ) -> io::Result<File> {
        let dir = dir.join(format!("parts-{id}"));
        std::fs::create_dir_all(&dir)?;
        let r = self
            .on_every_shard(Job::Dump {
                dir: dir.clone(),
                id,
            })
            .await;
        let parts: Vec<PathBuf> = (0..self.n).map(|s| part_path(&dir, id, s)).collect();
        let joined = match r {
            Ok(()) => {
                glommio::executor()
                    .spawn_blocking(move || -> io::Result<File> {
                        out.write_all(&applied_ts.to_le_bytes())?;
                        for p in &parts {
                            io::copy(&mut File::open(p)?, &mut out)?;
                        }
                        out.write_all(&0u32.to_le_bytes())?;
                        out.sync_all()?;
                        Ok(out)
                    })
                    .await
            }
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_dir_all(&dir);
        joined
    }

    /// Replace the keyspace with a snapshot body read from `input` (raft
    /// core); returns the snapshot's applied logical time.
    pub async fn load_keyspace(self: &Rc<Self>, input: File, applied: u64) -> io::Result<u64> {
        self.on_every_shard(Job::Clear).await?;
        let mut r = BufReader::with_capacity(1 << 20, input);
        let mut ts = [0u8; 8];
        r.read_exact(&mut ts)?;
        let ts = u64::from_le_bytes(ts);
        let mut reader = Some(r);
        loop {
            // Read a batch of records off the executor, route them here.
            let mut rd = reader.take().expect("reader");
            let (rd, batch) = glommio::executor()
                .spawn_blocking(move || {
                    let mut batch = Vec::new();
                    let res = (|| -> io::Result<bool> {
                        while batch.len() < 16 {
                            match read_record(&mut rd)? {
                                Some(rec) => batch.push(rec),
                                None => return Ok(true),
                            }
                        }
                        Ok(false)
                    })();
                    (rd, res.map(|end| (end, batch)))
                })
                .await;
            let (end, batch) = batch?;
            reader = Some(rd);
            let mut per: Vec<Load> = (0..self.n)
                .map(|_| Load {
                    entries: Vec::new(),
                    deletions: Vec::new(),
                    applied,
                })
                .collect();
            for rec in batch {
                match rec {
                    Record::Entries(list) => {
                        for d in list {
                            let (db, key, e) = from_dump(d);
                            per[self.owner(&key)].entries.push((db, key, e));
                        }
                    }
                    Record::Deletions { db, floor, list } => {
                        let mut split: Vec<Vec<(Key, u64)>> = vec![Vec::new(); self.n];
                        for (k, i) in list {
                            split[self.owner(&k)].push((Key::from(k), i));
                        }
                        for (s, l) in split.into_iter().enumerate() {
                            per[s].deletions.push((db, floor, l));
                        }
                    }
                }
            }
            for (s, load) in per.into_iter().enumerate() {
                self.send_load(s, load);
            }
            futures_lite::future::yield_now().await;
            if end {
                break;
            }
        }
        // Every core has taken its part when this returns.
        self.ping_all_cores().await;
        Ok(ts)
    }
}
