//! Each shard's apply queue: sequenced operations applied strictly in order.
//!
//! A single-shard operation is applied at once and answered. A multi-shard
//! operation uses a barrier: every participant, on reaching it, holds the
//! touched keys (reads of them wait), ships their state to the coordinator
//! (the lowest participant) and stops applying further entries; the
//! coordinator runs the operation on those images and sends each participant
//! its keys' results, which it installs before unholding the keys and going
//! on. So a multi-shard write becomes visible everywhere at once, and a
//! multi-shard read (shipped at its position, without holding) sees one cut.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachecat_shards::op::{apply, watches_hold, LogOp};
use cachecat_shards::{OpCtx, Shard};

use crate::core::{Core, Image, Msg, Seq};

/// A key and the database it lives in.
type DbKey = (u32, Vec<u8>);

/// A multi-shard operation being gathered by its coordinator.
pub struct Gather {
    seq: Arc<Seq>,
    /// Which keys came from which shard, to send results back.
    parts: Vec<(usize, Vec<DbKey>)>,
    images: Vec<Image>,
    watch_ok: bool,
}

impl Core {
    /// Queue a sequenced operation and apply whatever is ready.
    pub fn enqueue(self: &Rc<Self>, seq: Arc<Seq>) {
        self.queue.borrow_mut().push_back(seq);
        self.drain();
    }

    /// Apply queued operations in order until the queue is empty or a
    /// multi-shard write holds it. Re-entrant calls return at once; the
    /// outer loop continues.
    pub fn drain(self: &Rc<Self>) {
        if self.draining.get() {
            return;
        }
        self.draining.set(true);
        loop {
            if self.stalled.get().is_some() {
                break;
            }
            let Some(seq) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            self.apply_entry(seq);
        }
        self.draining.set(false);
    }

    /// Apply an operation that involves this shard alone (its watches
    /// included) and, for a write, record its version as applied.
    pub fn apply_alone(&self, op: &mut LogOp, ctx: OpCtx, read_only: bool) -> cachecat_io::Reply {
        let reply = {
            let mut shard = self.shard.borrow_mut();
            let ok = watches_hold(op, &shard, ctx, |_| true);
            apply(op, &mut shard, ctx, ok)
        };
        if !read_only {
            self.mark_applied(ctx.index);
        }
        reply
    }

    fn mark_applied(&self, index: u64) {
        self.shared.applied[self.id].fetch_max(index, Ordering::AcqRel);
    }

    /// A read evaluated here needs the read lease (INFO keyspace, which
    /// every node answers about itself, excepted).
    fn read_refused(&self, seq: &Seq) -> Option<cachecat_io::Reply> {
        let info = matches!(
            &seq.op,
            LogOp::Cmd {
                cmd: cachecat_shards::cmd::Cmd::KeyspaceInfo,
                ..
            }
        );
        if !seq.read_only
            || info
            || self.shared.raft.lease_held()
            || crate::faults::follower_reads()
        {
            return None;
        }
        Some(
            self.shared
                .raft
                .refusal()
                .unwrap_or_else(|| cachecat_io::Reply::err(crate::raft::status::NO_LEADER)),
        )
    }

    fn apply_entry(self: &Rc<Self>, mut seq: Arc<Seq>) {
        if seq.job.is_some() {
            self.run_job(seq);
            return;
        }
        let ctx = seq.ctx();
        if seq.all || seq.mask.count_ones() == 1 {
            if let Some(refused) = self.read_refused(&seq) {
                self.deliver(seq.origin, refused);
                return;
            }
            let read_only = seq.read_only;
            let reply = with_op(&mut seq, |op| self.apply_alone(op, ctx, read_only));
            self.deliver(seq.origin, reply);
            return;
        }
        // Multi-shard: ship this shard's keys to the coordinator.
        let mut mine: Vec<(u32, Vec<u8>)> = seq
            .op
            .db_keys()
            .into_iter()
            .filter(|(_, k)| self.owner(k) == self.id)
            .map(|(db, k)| (db as u32, k.to_vec()))
            .collect();
        if let Some(dbs) = seq.op.whole_dbs(self.shared.databases) {
            // A transaction with KEYS, DBSIZE, FLUSHDB...: every key of those
            // databases on this shard goes through the barrier.
            let shard = self.shard.borrow();
            for db in dbs {
                mine.extend(shard.db(db).iter().map(|(k, _)| (db as u32, k.to_vec())));
            }
        }
        mine.sort();
        mine.dedup();
        let (images, watch_ok) = {
            let shard = self.shard.borrow();
            let ok = watches_hold(&seq.op, &shard, ctx, |k| self.owner(k) == self.id);
            let images = mine
                .iter()
                .map(|(db, k)| Image {
                    db: *db,
                    key: k.clone(),
                    entry: shard.db(*db as usize).get_raw(k).cloned(),
                })
                .collect::<Vec<_>>();
            (images, ok)
        };
        if !seq.read_only {
            if self.shared.no_barrier() {
                // Test-only fault: apply this shard's part alone, at once.
                let post =
                    run_on_images(&seq, clone_images(&images), watch_ok, self.shared.databases);
                self.install(seq.index, post);
            } else {
                let mut locked = self.locked.borrow_mut();
                for (_, k) in &mine {
                    *locked.entry(k.clone()).or_insert(0) += 1;
                }
                self.stalled.set(Some(seq.index));
            }
        }
        let coordinator = seq.coordinator();
        if coordinator == self.id {
            self.on_export(seq, self.id, images, watch_ok);
        } else {
            self.send(
                coordinator,
                Msg::Export {
                    seq,
                    from: self.id,
                    images,
                    watch_ok,
                },
            );
        }
    }

    /// Coordinator: collect a participant's images; once all arrived, run
    /// the operation, answer the client and send back the results.
    pub fn on_export(
        self: &Rc<Self>,
        seq: Arc<Seq>,
        from: usize,
        images: Vec<Image>,
        watch_ok: bool,
    ) {
        let id = seq.id;
        let done = {
            let mut gathers = self.gathers.borrow_mut();
            let g = gathers.entry(id).or_insert_with(|| Gather {
                seq: seq.clone(),
                parts: Vec::new(),
                images: Vec::new(),
                watch_ok: true,
            });
            g.parts
                .push((from, images.iter().map(|i| (i.db, i.key.clone())).collect()));
            g.images.extend(images);
            g.watch_ok &= watch_ok;
            if g.parts.len() == seq.mask.count_ones() as usize {
                gathers.remove(&id)
            } else {
                None
            }
        };
        let Some(g) = done else { return };
        let mut seq = g.seq;
        let mut temp = Shard::new(self.shared.databases);
        for img in g.images {
            if let Some(e) = img.entry {
                temp.db_mut(img.db as usize).insert(&img.key, e);
            }
        }
        let ctx = seq.ctx();
        let reply = match self.read_refused(&seq) {
            Some(refused) => refused,
            None => with_op(&mut seq, |op| apply(op, &mut temp, ctx, g.watch_ok)),
        };
        self.deliver(seq.origin, reply);
        if seq.read_only || self.shared.no_barrier() {
            return;
        }
        for (shard, keys) in g.parts {
            let images: Vec<Image> = keys
                .into_iter()
                .map(|(db, key)| Image {
                    entry: temp.db(db as usize).get_raw(&key).cloned(),
                    db,
                    key,
                })
                .collect();
            if shard == self.id {
                self.on_install(seq.index, images);
            } else {
                self.send(
                    shard,
                    Msg::Install {
                        index: seq.index,
                        images,
                    },
                );
            }
        }
    }

    /// Participant: install the results of a multi-shard write, release its
    /// keys and resume applying.
    pub fn on_install(self: &Rc<Self>, index: u64, images: Vec<Image>) {
        {
            let mut locked = self.locked.borrow_mut();
            for img in &images {
                if let Some(c) = locked.get_mut(&img.key) {
                    *c -= 1;
                    if *c == 0 {
                        locked.remove(&img.key);
                    }
                }
            }
        }
        self.install(index, images);
        if self.stalled.get() == Some(index) {
            self.stalled.set(None);
        }
        self.unlocked.wake_all();
        self.drain();
    }

    fn install(&self, index: u64, images: Vec<Image>) {
        let mut shard = self.shard.borrow_mut();
        for img in images {
            let db = shard.db_mut(img.db as usize);
            match img.entry {
                Some(e) => db.insert(&img.key, e),
                None => {
                    db.remove(&img.key, index);
                }
            }
        }
        if index > shard.applied {
            shard.applied = index;
        }
        drop(shard);
        self.mark_applied(index);
    }
}

/// Run `f` on the operation, which applying spends (values move into the
/// keyspace): in place when this is its only holder, else on a copy.
fn with_op<R>(seq: &mut Arc<Seq>, f: impl FnOnce(&mut LogOp) -> R) -> R {
    match Arc::get_mut(seq) {
        Some(s) => f(&mut s.op),
        None => f(&mut seq.op.clone()),
    }
}

fn clone_images(images: &[Image]) -> Vec<Image> {
    images
        .iter()
        .map(|i| Image {
            db: i.db,
            key: i.key.clone(),
            entry: i.entry.clone(),
        })
        .collect()
}

/// Run an operation on a set of key images alone and return their results.
fn run_on_images(seq: &Seq, images: Vec<Image>, watch_ok: bool, databases: usize) -> Vec<Image> {
    let mut temp = Shard::new(databases);
    let keys: Vec<(u32, Vec<u8>)> = images.iter().map(|i| (i.db, i.key.clone())).collect();
    for img in images {
        if let Some(e) = img.entry {
            temp.db_mut(img.db as usize).insert(&img.key, e);
        }
    }
    apply(&mut seq.op.clone(), &mut temp, seq.ctx(), watch_ok);
    keys.into_iter()
        .map(|(db, key)| Image {
            entry: temp.db(db as usize).get_raw(&key).cloned(),
            db,
            key,
        })
        .collect()
}
