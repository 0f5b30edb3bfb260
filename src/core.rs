//! One executor's runtime state and the messages cores exchange.
//!
//! Every core owns one shard of the keyspace (`route(key) % N`). A command on
//! a key owned elsewhere runs there: single-key reads go straight to the
//! owner; writes, multi-shard reads and whole-database commands go to the
//! sequencer (core 0), which gives each its position and time and feeds it to
//! every owning shard's apply queue in order (see `apply.rs`). Messages are
//! owned values on glommio's shared channels; no locks on this path.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cachecat_io::Reply;
use cachecat_shards::cmd::{execute, Cmd, Merge};
use cachecat_shards::op::LogOp;
use cachecat_shards::{Entry, OpCtx, Shard};
use glommio::channels::channel_mesh::Senders;
use glommio::{GlommioError, ResourceType};

use crate::local::{Pending, WaitList};
use crate::sequencer::Sequencer;
use crate::shared::Shared;

/// A sequenced operation: its log position, logical time, the shards it
/// touches and who waits for the reply.
pub struct Seq {
    /// Unique per sequenced operation (reads share their index with the
    /// last write, so gathers are keyed by this).
    pub id: u64,
    pub index: u64,
    pub ts: u64,
    pub op: LogOp,
    /// Bit s set when shard s takes part.
    pub mask: u64,
    /// A whole-database command: every shard replies a part to the origin.
    pub all: bool,
    pub read_only: bool,
    /// (core, request id) of the waiting connection, if any.
    pub origin: Option<(usize, u32)>,
    /// A snapshot step each shard takes at this position instead of an
    /// operation (`snapshot.rs`).
    pub job: Option<crate::snapshot::Job>,
}

impl Seq {
    pub fn coordinator(&self) -> usize {
        self.mask.trailing_zeros() as usize
    }

    pub fn ctx(&self) -> OpCtx {
        OpCtx {
            now: crate::faults::expiry_now(self.ts),
            index: if self.read_only { 0 } else { self.index },
        }
    }
}

/// A key's state shipped between shards for a multi-shard operation.
pub struct Image {
    pub db: u32,
    pub key: Vec<u8>,
    pub entry: Option<Entry>,
}

pub enum Msg {
    /// A single-key read for the owner to evaluate.
    Read {
        from: usize,
        req: u32,
        db: u32,
        cmd: Cmd,
    },
    /// An operation for the sequencer.
    Propose { from: usize, req: u32, op: LogOp },
    /// A sequenced operation for a shard's apply queue.
    Apply(Arc<Seq>),
    /// A participant's keys at the operation's position, for the coordinator.
    Export {
        seq: Arc<Seq>,
        from: usize,
        images: Vec<Image>,
        watch_ok: bool,
    },
    /// The coordinator's results for a participant's keys.
    Install { index: u64, images: Vec<Image> },
    /// (Part of) a reply for a waiting request.
    Done { req: u32, reply: Reply },
    /// A read clock too far behind physical time: the sequencer advances it
    /// and answers (after an idle spell, when it ticks rarely). Any other
    /// core just answers: a round trip (lease revocation).
    Tick { from: usize, req: u32 },
    /// A core's subscriber count of a channel (at its owner) or of a
    /// pattern (at every core) changes; acknowledged when `req` is set.
    Sub {
        key: Vec<u8>,
        pattern: bool,
        from: usize,
        delta: i32,
        req: Option<u32>,
    },
    /// PUBLISH at the channel's owner; the reply is the receiver count.
    Publish {
        channel: bytes::Bytes,
        msg: bytes::Bytes,
        from: usize,
        req: u32,
    },
    /// A published message for this core's subscribers.
    Deliver {
        channel: bytes::Bytes,
        msg: bytes::Bytes,
    },
    /// Snapshot contents for this shard (an installed snapshot being
    /// loaded): entries, deletion windows, and the applied version.
    Load(crate::snapshot::Load),
    /// A RAFT command for the raft core.
    RaftAdmin {
        from: usize,
        req: u32,
        argv: Vec<Vec<u8>>,
    },
    /// PUBSUB CHANNELS / NUMSUB, about the channels this core owns.
    PubsubQuery {
        from: usize,
        req: u32,
        q: crate::pubsub::Query,
    },
}

pub struct Core {
    pub id: usize,
    pub n: usize,
    pub shared: Arc<Shared>,
    pub shard: RefCell<Shard>,
    route: foldhash::fast::FixedState,
    senders: Senders<Msg>,
    outbox: Vec<RefCell<VecDeque<Msg>>>,
    outbox_wake: Vec<WaitList>,
    /// The outbox task holds a message it could not send yet: later ones
    /// must queue behind it, even while the outbox itself is empty.
    outbox_busy: Vec<Cell<bool>>,
    pub pending: Pending,
    /// Sequenced operations waiting to be applied here, in order.
    pub(crate) queue: RefCell<VecDeque<Arc<Seq>>>,
    /// Set while this shard waits for a multi-shard write's results.
    pub(crate) stalled: Cell<Option<u64>>,
    pub(crate) draining: Cell<bool>,
    /// Keys held by an unfinished multi-shard write (reads of them wait).
    pub(crate) locked: RefCell<HashMap<Vec<u8>, u32>>,
    pub(crate) unlocked: WaitList,
    /// Multi-shard operations this core coordinates, by sequence id.
    pub(crate) gathers: RefCell<HashMap<u64, crate::apply::Gather>>,
    pub sequencer: Option<RefCell<Sequencer>>,
    /// The Raft node (raft core only), set once it has started.
    pub raft: std::cell::OnceCell<Rc<crate::raft::node::RaftNode>>,
    /// Wall clock (ms) read by the connection whose batch is running: writes
    /// applied in place take their time from it instead of reading the
    /// clock once more per command.
    pub clock_hint: Cell<u64>,
    /// The monotonic clock (`clock::mono_ns`) read with `clock_hint`: lease
    /// checks of the batch use it.
    pub mono_hint: Cell<u64>,
    pub pubsub: crate::pubsub::PubSub,
    /// Test-only apply lag: operations waiting to be enqueued, in order.
    late: RefCell<VecDeque<(std::time::Instant, Arc<Seq>)>>,
}

impl Core {
    pub fn new(shared: Arc<Shared>, senders: Senders<Msg>, route_seed: u64) -> Core {
        let id = senders.peer_id();
        let n = shared.n;
        Core {
            id,
            n,
            shard: RefCell::new(Shard {
                index: id,
                of: n,
                ..Shard::new(shared.databases)
            }),
            route: foldhash::fast::FixedState::with_seed(route_seed),
            senders,
            outbox: (0..n).map(|_| RefCell::new(VecDeque::new())).collect(),
            outbox_wake: (0..n).map(|_| WaitList::default()).collect(),
            outbox_busy: (0..n).map(|_| Cell::new(false)).collect(),
            pending: Pending::default(),
            queue: RefCell::new(VecDeque::new()),
            stalled: Cell::new(None),
            draining: Cell::new(false),
            locked: RefCell::new(HashMap::new()),
            unlocked: WaitList::default(),
            gathers: RefCell::new(HashMap::new()),
            sequencer: (id == 0).then(|| RefCell::new(Sequencer::default())),
            raft: std::cell::OnceCell::new(),
            late: RefCell::new(VecDeque::new()),
            clock_hint: Cell::new(crate::clock::physical_ms()),
            mono_hint: Cell::new(crate::clock::mono_ns()),
            pubsub: Default::default(),
            shared,
        }
    }

    /// Whether this node serves keyspace commands, as of the running batch.
    pub fn serving(&self) -> bool {
        self.shared.raft.serving_at(self.mono_hint.get())
    }

    /// The shard owning `key`.
    pub fn owner(&self, key: &[u8]) -> usize {
        if self.n == 1 {
            return 0;
        }
        (self.route.hash_one(key) % self.n as u64) as usize
    }

    /// The read clock reads are evaluated at (fetched after the read arrives).
    pub fn read_now(&self) -> u64 {
        self.shared.read_clock.load(Ordering::Acquire)
    }

    /// Send a message to another core without ever blocking this one: when
    /// the channel is full the message waits in an outbox, in order.
    pub fn send(&self, to: usize, msg: Msg) {
        debug_assert_ne!(to, self.id);
        let msg = if self.outbox[to].borrow().is_empty() && !self.outbox_busy[to].get() {
            match self.senders.try_send_to(to, msg) {
                Ok(()) => return,
                Err(GlommioError::WouldBlock(ResourceType::Channel(m))) => m,
                Err(GlommioError::Closed(_)) => return,
                Err(e) => {
                    tracing::error!("cannot send to core {to}: {e}");
                    return;
                }
            }
        } else {
            msg
        };
        self.outbox[to].borrow_mut().push_back(msg);
        self.outbox_wake[to].wake_all();
    }

    /// Task draining the outbox towards core `to` (spawned once per peer).
    pub async fn flush_outbox(self: Rc<Self>, to: usize) {
        loop {
            self.outbox_wake[to]
                .until(|| !self.outbox[to].borrow().is_empty())
                .await;
            let Some(msg) = self.outbox[to].borrow_mut().pop_front() else {
                continue;
            };
            self.outbox_busy[to].set(true);
            let sent = self.senders.send_to(to, msg).await;
            self.outbox_busy[to].set(false);
            if sent.is_err() {
                return;
            }
        }
    }

    /// Deliver (part of) a reply to the request `req` waiting on core `to`.
    pub fn deliver(&self, origin: Option<(usize, u32)>, reply: Reply) {
        match origin {
            Some((core, req)) if core == self.id => self.pending.complete(req, reply),
            Some((core, req)) => self.send(core, Msg::Done { req, reply }),
            None => {}
        }
    }

    /// Handle a message from another core. Never blocks: waiting work is
    /// spawned as its own task.
    pub fn handle(self: &Rc<Self>, msg: Msg) {
        match msg {
            Msg::Read {
                from,
                req,
                db,
                mut cmd,
            } => {
                if self.touches_locked(&cmd) {
                    let core = self.clone();
                    glommio::spawn_local(async move {
                        core.wait_unlocked(&cmd).await;
                        let r = core.eval_read(db, &mut cmd);
                        core.deliver(Some((from, req)), r);
                    })
                    .detach();
                } else {
                    let r = self.eval_read(db, &mut cmd);
                    self.deliver(Some((from, req)), r);
                }
            }
            Msg::Propose { from, req, op } => {
                self.sequence(op, Some((from, req)));
            }
            Msg::Apply(seq) => {
                if self.shared.apply_lag_us() > 0 {
                    self.enqueue_late(seq);
                } else {
                    self.enqueue(seq);
                }
            }
            Msg::Export {
                seq,
                from,
                images,
                watch_ok,
            } => self.on_export(seq, from, images, watch_ok),
            Msg::Install { index, images } => self.on_install(index, images),
            Msg::Done { req, reply } => self.pending.complete(req, reply),
            Msg::Tick { from, req } => {
                self.advance_read_clock();
                self.deliver(Some((from, req)), Reply::Ok);
            }
            Msg::Sub {
                key,
                pattern,
                from,
                delta,
                req,
            } => {
                self.on_sub(&key, pattern, from, delta);
                if let Some(req) = req {
                    self.deliver(Some((from, req)), Reply::Ok);
                }
            }
            Msg::Publish {
                channel,
                msg,
                from,
                req,
            } => {
                let n = self.on_publish(channel, msg);
                self.deliver(Some((from, req)), Reply::Int(n));
            }
            Msg::Deliver { channel, msg } => self.on_deliver(&channel, &msg),
            Msg::Load(load) => self.on_load(load),
            Msg::RaftAdmin { from, req, argv } => {
                crate::raft::admin::spawn(self.clone(), Some((from, req)), argv);
            }
            Msg::PubsubQuery { from, req, q } => {
                let r = self.on_query(&q);
                self.deliver(Some((from, req)), r);
            }
        }
    }

    /// Test-only fault: enqueue `seq` after the configured lag, keeping order.
    fn enqueue_late(self: &Rc<Self>, seq: Arc<Seq>) {
        let lag = std::time::Duration::from_micros(self.shared.apply_lag_us());
        let first = self.late.borrow().is_empty();
        self.late
            .borrow_mut()
            .push_back((crate::clock::monotonic() + lag, seq));
        if first {
            let core = self.clone();
            glommio::spawn_local(async move {
                loop {
                    let Some(due) = core.late.borrow().front().map(|(d, _)| *d) else {
                        return;
                    };
                    let now = crate::clock::monotonic();
                    if due > now {
                        glommio::timer::sleep(due - now).await;
                    }
                    let (_, seq) = core.late.borrow_mut().pop_front().expect("front");
                    core.enqueue(seq);
                }
            })
            .detach();
        }
    }

    pub fn is_locked(&self, key: &[u8]) -> bool {
        let l = self.locked.borrow();
        !l.is_empty() && l.contains_key(key)
    }

    /// Whether any key of a read is held by an unfinished multi-shard write.
    pub fn touches_locked(&self, cmd: &Cmd) -> bool {
        if self.locked.borrow().is_empty() {
            return false;
        }
        match cmd.single_key() {
            Some(k) => self.is_locked(k),
            None => cmd.keys().iter().any(|k| self.is_locked(k)),
        }
    }

    async fn wait_unlocked(&self, cmd: &Cmd) {
        self.unlocked.until(|| !self.touches_locked(cmd)).await;
    }

    /// Evaluate a read on this core's shard at the current read clock, if
    /// this node still holds its read lease.
    pub fn eval_read(&self, db: u32, cmd: &mut Cmd) -> Reply {
        if !self.shared.raft.lease_held() {
            return self
                .shared
                .raft
                .refusal()
                .unwrap_or_else(|| cachecat_io::Reply::err(crate::raft::status::NO_LEADER));
        }
        let ctx = OpCtx {
            now: self.read_now(),
            index: 0,
        };
        let mut shard = self.shard.borrow_mut();
        let reply = execute(cmd, &mut shard, db as usize, ctx);
        if cmd.touches() {
            let db = shard.db_mut(db as usize);
            match cmd.single_key() {
                Some(k) => db.touch(k, ctx.now),
                None => cmd.keys().into_iter().for_each(|k| db.touch(k, ctx.now)),
            }
        }
        reply
    }

    /// Run a single-key read on the shard owning its key.
    pub async fn read(self: &Rc<Self>, owner: usize, db: u32, mut cmd: Cmd) -> Reply {
        if owner == self.id {
            if self.touches_locked(&cmd) {
                self.wait_unlocked(&cmd).await;
            }
            return self.eval_read(db, &mut cmd);
        }
        let req = self.pending.register(1, Merge::Single);
        self.send(
            owner,
            Msg::Read {
                from: self.id,
                req,
                db,
                cmd,
            },
        );
        self.pending.wait(req).await
    }

    /// A round trip to every other core: each has finished whatever it was
    /// evaluating when this started.
    pub async fn ping_all_cores(self: &Rc<Self>) {
        if self.n == 1 {
            return;
        }
        let req = self.pending.register(self.n as u32 - 1, Merge::Ok);
        for to in (0..self.n).filter(|&c| c != self.id) {
            self.send(to, Msg::Tick { from: self.id, req });
        }
        self.pending.wait(req).await;
    }

    /// Make sure the read clock is no more than `slack` ms behind physical
    /// time `now` (as far as unapplied writes allow) before evaluating reads.
    pub async fn fresh_read_clock(self: &Rc<Self>, now: u64, slack: u64) {
        if self.read_now() + slack >= now {
            return;
        }
        if self.sequencer.is_some() {
            self.advance_read_clock();
            return;
        }
        let req = self.pending.register(1, Merge::Single);
        self.send(0, Msg::Tick { from: self.id, req });
        self.pending.wait(req).await;
    }

    /// Submit an operation to the sequencer and wait for its reply (after
    /// every owning shard applied it).
    pub async fn propose(self: &Rc<Self>, op: LogOp) -> Reply {
        let req = self.submit(op);
        self.pending.wait(req).await
    }

    /// A RAFT admin command for the raft core.
    pub fn raft_admin(self: &Rc<Self>, argv: Vec<Vec<u8>>) -> u32 {
        let req = self.pending.register(1, Merge::Single);
        if self.id == 0 {
            crate::raft::admin::spawn(self.clone(), Some((self.id, req)), argv);
        } else {
            self.send(
                0,
                Msg::RaftAdmin {
                    from: self.id,
                    req,
                    argv,
                },
            );
        }
        req
    }

    /// Hand an operation to the sequencer without waiting; the reply arrives
    /// at the returned request id (`pending.wait`).
    pub fn submit(self: &Rc<Self>, op: LogOp) -> u32 {
        let (parts, merge) = match &op {
            LogOp::Cmd { cmd, .. } if cmd.all_shards() => (self.n as u32, cmd.merge()),
            _ => (1, Merge::Single),
        };
        let req = self.pending.register(parts, merge);
        if self.sequencer.is_some() {
            self.sequence(op, Some((self.id, req)));
        } else {
            self.send(
                0,
                Msg::Propose {
                    from: self.id,
                    req,
                    op,
                },
            );
        }
        req
    }
}
