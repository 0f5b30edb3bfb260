//! Pub/sub across cores.
//!
//! A channel has an owner core (the same routing as keys). The owner keeps,
//! for each channel, how many subscribers every core has; every core keeps
//! the same counts for every pattern (pattern subscriptions are broadcast).
//! PUBLISH goes to the channel's owner, which counts the receivers (its
//! reply) and sends the message to each core that has a subscriber of the
//! channel or of a matching pattern; that core hands it to its local
//! subscribers' mailboxes. All messages of one channel pass through one
//! core, so every subscriber sees them in the same order. (Messages of
//! different channels reach a pattern subscriber in the order the owners
//! send them, which two subscribers on different cores may see interleaved
//! differently; Redis, with one thread, has a single order.)
//!
//! SUBSCRIBE and PSUBSCRIBE reply only once the owner (or every core) has
//! counted the subscription, so a message published after the reply
//! reaches the new subscriber.
//!
//! A subscriber's mailbox is its output buffer while it is not read: it is
//! held to `client-output-buffer-limit pubsub`, and a client over the hard
//! limit, or over the soft limit for longer than allowed, is disconnected.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cachecat_io::Reply;
use cachecat_shards::cmd::glob;
use cachecat_shards::cmd::Merge;
use indexmap::IndexSet;

use crate::core::{Core, Msg};
use crate::local::WaitList;
use crate::shared::{ClientMeta, PUBSUB_CLASS};

/// What a core is asked about the channels it owns.
pub enum Query {
    /// PUBSUB CHANNELS [pattern]
    Channels(Option<Vec<u8>>),
    /// PUBSUB NUMSUB channel...
    NumSub(Vec<Vec<u8>>),
}

/// One subscribed connection's queue of messages not yet written.
pub struct Mailbox {
    queue: RefCell<VecDeque<Reply>>,
    bytes: Cell<usize>,
    soft_since: Cell<Option<Instant>>,
    pub wake: WaitList,
    meta: Arc<ClientMeta>,
}

impl Mailbox {
    pub fn new(meta: Arc<ClientMeta>) -> Mailbox {
        Mailbox {
            queue: RefCell::new(VecDeque::new()),
            bytes: Cell::new(0),
            soft_since: Cell::new(None),
            wake: WaitList::default(),
            meta,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.borrow().is_empty()
    }

    /// Queue a message; disconnect the client when that breaks its limits.
    fn push(&self, core: &Core, msg: Reply) {
        if self.meta.killed.load(Relaxed) {
            return;
        }
        let size = size_of_push(&msg);
        self.queue.borrow_mut().push_back(msg);
        self.bytes.set(self.bytes.get() + size);
        let (hard, soft, secs) = core.shared.obuf_limit(PUBSUB_CLASS);
        let used = self.bytes.get() as u64;
        let over_soft = soft > 0 && used > soft;
        if !over_soft {
            self.soft_since.set(None);
        }
        let since = over_soft.then(|| {
            *self
                .soft_since
                .get()
                .get_or_insert_with(crate::clock::monotonic)
        });
        if let Some(s) = since {
            self.soft_since.set(Some(s));
        }
        let soft_expired = since.is_some_and(|s| s.elapsed().as_secs() >= secs);
        if (hard > 0 && used > hard) || soft_expired {
            tracing::warn!(
                client = self.meta.id,
                bytes = used,
                "client-output-buffer-limit pubsub reached: disconnecting the subscriber"
            );
            self.meta.kill();
            self.queue.borrow_mut().clear();
            self.bytes.set(0);
        }
        self.wake.wake_all();
    }

    /// Take up to about `max` bytes of queued messages.
    pub fn take(&self, max: usize) -> Vec<Reply> {
        let mut q = self.queue.borrow_mut();
        let mut out = Vec::new();
        let mut taken = 0;
        while taken < max {
            let Some(m) = q.pop_front() else { break };
            taken += size_of_push(&m);
            out.push(m);
        }
        self.bytes.set(self.bytes.get() - taken);
        out
    }

    /// Everything queued (published before the command now running).
    pub fn take_all(&self) -> Vec<Reply> {
        self.take(usize::MAX)
    }
}

/// What a queued message counts against the output-buffer limit: its
/// bytes plus the queue's per-message and per-part overhead. Used both when
/// queueing and when taking, so the count is exact.
fn size_of_push(m: &Reply) -> usize {
    match m {
        Reply::Push(items) => {
            64 + items
                .iter()
                .map(|i| match i {
                    Reply::Bulk(b) => b.len() + 48,
                    _ => 48,
                })
                .sum::<usize>()
        }
        _ => 64,
    }
}

fn bulk(b: &[u8]) -> Reply {
    Reply::bulk(b.to_vec())
}

/// Local subscribers by channel or pattern: (connection id, mailbox).
type Registry = HashMap<Vec<u8>, Vec<(u64, Rc<Mailbox>)>>;

/// Per-core pub/sub state.
#[derive(Default)]
pub struct PubSub {
    /// This core's subscribers, by channel and by pattern (connection id).
    channels: RefCell<Registry>,
    patterns: RefCell<Registry>,
    /// Channels this core owns: subscribers per core.
    owned: RefCell<HashMap<Vec<u8>, Vec<u32>>>,
    /// Every pattern subscribed anywhere: subscribers per core.
    all_patterns: RefCell<HashMap<Vec<u8>, Vec<u32>>>,
}

impl PubSub {
    fn registry(&self, pattern: bool) -> &RefCell<Registry> {
        if pattern {
            &self.patterns
        } else {
            &self.channels
        }
    }
}

fn bump(counts: &mut HashMap<Vec<u8>, Vec<u32>>, key: &[u8], core: usize, n: usize, delta: i32) {
    let c = counts.entry(key.to_vec()).or_insert_with(|| vec![0; n]);
    c[core] = c[core].saturating_add_signed(delta);
    if c.iter().all(|&x| x == 0) {
        counts.remove(key);
    }
}

impl Core {
    /// A subscription count change at this core (the channel's owner, or
    /// every core for a pattern).
    pub fn on_sub(&self, key: &[u8], pattern: bool, from: usize, delta: i32) {
        let ps = &self.pubsub;
        let mut counts = if pattern {
            ps.all_patterns.borrow_mut()
        } else {
            ps.owned.borrow_mut()
        };
        bump(&mut counts, key, from, self.n, delta);
    }

    /// PUBLISH at the channel's owner: deliver and count the receivers.
    pub fn on_publish(&self, channel: Bytes, msg: Bytes) -> i64 {
        let ps = &self.pubsub;
        let mut total = 0i64;
        let mut cores = vec![false; self.n];
        if let Some(c) = ps.owned.borrow().get(&channel[..]) {
            for (core, &k) in c.iter().enumerate() {
                total += k as i64;
                cores[core] |= k > 0;
            }
        }
        for (pat, c) in ps.all_patterns.borrow().iter() {
            if glob::matches(pat, &channel, false) {
                for (core, &k) in c.iter().enumerate() {
                    total += k as i64;
                    cores[core] |= k > 0;
                }
            }
        }
        for (core, go) in cores.into_iter().enumerate() {
            if !go {
                continue;
            }
            if core == self.id {
                self.on_deliver(&channel, &msg);
            } else {
                self.send(
                    core,
                    Msg::Deliver {
                        channel: channel.clone(),
                        msg: msg.clone(),
                    },
                );
            }
        }
        total
    }

    /// Hand a message to this core's subscribers of the channel and of the
    /// patterns it matches.
    pub fn on_deliver(&self, channel: &Bytes, msg: &Bytes) {
        let ps = &self.pubsub;
        if let Some(subs) = ps.channels.borrow().get(&channel[..]) {
            for (_, mb) in subs {
                let m = Reply::Push(vec![
                    Reply::bulk(&b"message"[..]),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(msg.clone()),
                ]);
                mb.push(self, m);
            }
        }
        for (pat, subs) in ps.patterns.borrow().iter() {
            if !glob::matches(pat, channel, false) {
                continue;
            }
            for (_, mb) in subs {
                let m = Reply::Push(vec![
                    Reply::bulk(&b"pmessage"[..]),
                    bulk(pat),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(msg.clone()),
                ]);
                mb.push(self, m);
            }
        }
    }

    /// Answer a PUBSUB query for the channels this core owns.
    pub fn on_query(&self, q: &Query) -> Reply {
        let owned = self.pubsub.owned.borrow();
        match q {
            Query::Channels(pattern) => Reply::Array(
                owned
                    .keys()
                    .filter(|c| pattern.as_ref().is_none_or(|p| glob::matches(p, c, false)))
                    .map(|c| bulk(c))
                    .collect(),
            ),
            Query::NumSub(chans) => Reply::Array(
                chans
                    .iter()
                    .map(|c| Reply::Int(owned.get(c).map_or(0, |v| v.iter().sum::<u32>()) as i64))
                    .collect(),
            ),
        }
    }

    /// Ask every core (this one included) and merge their answers.
    async fn query_all(self: &Rc<Self>, q: Query, merge: Merge) -> Reply {
        let req = self.pending.register(self.n as u32, merge);
        let q = Rc::new(q);
        for core in 0..self.n {
            if core == self.id {
                self.pending.complete(req, self.on_query(&q));
            } else {
                let q = match &*q {
                    Query::Channels(p) => Query::Channels(p.clone()),
                    Query::NumSub(c) => Query::NumSub(c.clone()),
                };
                self.send(
                    core,
                    Msg::PubsubQuery {
                        from: self.id,
                        req,
                        q,
                    },
                );
            }
        }
        self.pending.wait(req).await
    }

    /// Change this core's subscription count at the channel's owner (or at
    /// every core for a pattern) and wait until it is counted.
    async fn count_sub(self: &Rc<Self>, key: &[u8], pattern: bool, delta: i32) {
        if let Some(req) = self.send_count(key, pattern, delta, true) {
            self.pending.wait(req).await;
        }
    }

    /// Send a subscription count change; with `ack`, the request to wait
    /// on (None when every count involved lives on this core).
    fn send_count(
        self: &Rc<Self>,
        key: &[u8],
        pattern: bool,
        delta: i32,
        ack: bool,
    ) -> Option<u32> {
        let targets: Vec<usize> = if pattern {
            (0..self.n).collect()
        } else {
            vec![self.owner(key)]
        };
        let remote = targets.iter().filter(|&&t| t != self.id).count();
        let req = (ack && remote > 0).then(|| self.pending.register(remote as u32, Merge::Ok));
        for t in targets {
            if t == self.id {
                self.on_sub(key, pattern, self.id, delta);
            } else {
                self.send(
                    t,
                    Msg::Sub {
                        key: key.to_vec(),
                        pattern,
                        from: self.id,
                        delta,
                        req,
                    },
                );
            }
        }
        req
    }
}

/// A connection's subscriptions.
pub struct Subs {
    pub mailbox: Rc<Mailbox>,
    pub channels: IndexSet<Vec<u8>>,
    pub patterns: IndexSet<Vec<u8>>,
}

impl Subs {
    pub fn new(meta: Arc<ClientMeta>) -> Subs {
        Subs {
            mailbox: Rc::new(Mailbox::new(meta)),
            channels: IndexSet::new(),
            patterns: IndexSet::new(),
        }
    }

    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// The patterns or the channels held.
    fn names(&mut self, pattern: bool) -> &mut IndexSet<Vec<u8>> {
        if pattern {
            &mut self.patterns
        } else {
            &mut self.channels
        }
    }

    /// Show the counts to CLIENT LIST and the idle-timeout cron.
    fn publish_counts(&self) {
        let m = &self.mailbox.meta;
        m.sub_channels.store(self.channels.len(), Relaxed);
        m.sub_patterns.store(self.patterns.len(), Relaxed);
    }
}

fn confirm(kind: &'static [u8], name: Option<&[u8]>, count: usize) -> Reply {
    Reply::Push(vec![
        Reply::bulk(kind),
        name.map_or(Reply::Nil, bulk),
        Reply::Int(count as i64),
    ])
}

/// SUBSCRIBE / PSUBSCRIBE: one confirmation per name.
pub async fn subscribe(
    core: &Rc<Core>,
    subs: &mut Subs,
    id: u64,
    names: &[Vec<u8>],
    pattern: bool,
) -> Reply {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if subs.names(pattern).insert(name.clone()) {
            core.pubsub
                .registry(pattern)
                .borrow_mut()
                .entry(name.clone())
                .or_default()
                .push((id, subs.mailbox.clone()));
            core.count_sub(name, pattern, 1).await;
        }
        let kind: &'static [u8] = if pattern { b"psubscribe" } else { b"subscribe" };
        out.push(confirm(kind, Some(name), subs.count()));
    }
    subs.publish_counts();
    Reply::Seq(out)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or every one held.
pub async fn unsubscribe(
    core: &Rc<Core>,
    subs: &mut Subs,
    id: u64,
    names: &[Vec<u8>],
    pattern: bool,
) -> Reply {
    let kind: &'static [u8] = if pattern {
        b"punsubscribe"
    } else {
        b"unsubscribe"
    };
    let names: Vec<Vec<u8>> = if names.is_empty() {
        subs.names(pattern).iter().cloned().collect()
    } else {
        names.to_vec()
    };
    // Messages published before this command go out before its replies.
    let mut out = subs.mailbox.take_all();
    if names.is_empty() {
        out.push(confirm(kind, None, subs.count()));
        return Reply::Seq(out);
    }
    for name in &names {
        if subs.names(pattern).shift_remove(name) {
            drop_local(core, name, pattern, id);
            core.count_sub(name, pattern, -1).await;
        }
        out.push(confirm(kind, Some(name), subs.count()));
    }
    subs.publish_counts();
    Reply::Seq(out)
}

fn drop_local(core: &Core, name: &[u8], pattern: bool, id: u64) {
    let mut reg = core.pubsub.registry(pattern).borrow_mut();
    if let Some(v) = reg.get_mut(name) {
        v.retain(|(c, _)| *c != id);
        if v.is_empty() {
            reg.remove(name);
        }
    }
}

/// UNSUBSCRIBE / PUNSUBSCRIBE from a connection that never subscribed.
pub fn unsubscribe_none(pattern: bool) -> Reply {
    let kind: &'static [u8] = if pattern {
        b"punsubscribe"
    } else {
        b"unsubscribe"
    };
    Reply::Seq(vec![confirm(kind, None, 0)])
}

/// Drop every subscription of a connection that is closing (the
/// counts are corrected without waiting). Returns the messages still
/// queued, published before.
pub fn leave(core: &Rc<Core>, subs: &mut Subs, id: u64) -> Vec<Reply> {
    depart(core, subs, id, false);
    subs.mailbox.take_all()
}

/// `leave`, waiting until every owner has counted the departures (RESET:
/// a PUBLISH sent after its reply no longer counts this client).
pub async fn leave_counted(core: &Rc<Core>, subs: &mut Subs, id: u64) -> Vec<Reply> {
    for req in depart(core, subs, id, true) {
        core.pending.wait(req).await;
    }
    subs.mailbox.take_all()
}

/// Drop every subscription of this client and tell the owners; with `ack`,
/// returns the requests their acknowledgements complete.
fn depart(core: &Rc<Core>, subs: &mut Subs, id: u64, ack: bool) -> Vec<u32> {
    let mut acks = Vec::new();
    for (pattern, names) in [
        (false, std::mem::take(&mut subs.channels)),
        (true, std::mem::take(&mut subs.patterns)),
    ] {
        for name in names {
            drop_local(core, &name, pattern, id);
            acks.extend(core.send_count(&name, pattern, -1, ack));
        }
    }
    subs.publish_counts();
    acks
}

/// INFO's pubsub_channels and pubsub_patterns: channels with a subscriber
/// (every core counts those it owns) and patterns (every core knows them).
pub async fn info_counts(core: &Rc<Core>) -> (usize, usize) {
    let chans = match core.query_all(Query::Channels(None), Merge::Concat).await {
        Reply::Array(v) => v.len(),
        _ => 0,
    };
    (chans, core.pubsub.all_patterns.borrow().len())
}

/// PUBLISH channel message.
pub async fn publish(core: &Rc<Core>, channel: &[u8], msg: &[u8]) -> Reply {
    let channel = Bytes::copy_from_slice(channel);
    let msg = Bytes::copy_from_slice(msg);
    let owner = core.owner(&channel);
    if owner == core.id {
        return Reply::Int(core.on_publish(channel, msg));
    }
    let req = core.pending.register(1, Merge::Single);
    core.send(
        owner,
        Msg::Publish {
            channel,
            msg,
            from: core.id,
            req,
        },
    );
    core.pending.wait(req).await
}

/// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | HELP.
pub async fn pubsub_cmd(core: &Rc<Core>, argv: &[Vec<u8>]) -> Reply {
    let sub = argv[1].to_ascii_lowercase();
    match (sub.as_slice(), argv.len()) {
        (b"channels", 2 | 3) => {
            core.query_all(Query::Channels(argv.get(2).cloned()), Merge::Concat)
                .await
        }
        (b"numsub", _) => {
            let chans: Vec<Vec<u8>> = argv[2..].to_vec();
            let counts = core
                .query_all(Query::NumSub(chans.clone()), Merge::SumEach)
                .await;
            let Reply::Array(counts) = counts else {
                return counts;
            };
            Reply::Array(
                chans
                    .iter()
                    .zip(counts)
                    .flat_map(|(c, n)| [bulk(c), n])
                    .collect(),
            )
        }
        (b"numpat", 2) => Reply::Int(core.pubsub.all_patterns.borrow().len() as i64),
        (b"help", 2) => Reply::Array(
            [
                "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CHANNELS [<pattern>]",
                "    Return the currently active channels matching a <pattern> (default: '*').",
                "NUMPAT",
                "    Return number of subscriptions to patterns.",
                "NUMSUB [<channel> ...]",
                "    Return the number of subscribers for the specified channels, excluding",
                "    pattern subscriptions(default: no channels).",
                "HELP",
                "    Print this help.",
            ]
            .iter()
            .map(|l| Reply::Simple((*l).into()))
            .collect(),
        ),
        // Fixed arity in Redis's command table, so its arity check answers
        // before the subcommand runs; CHANNELS takes an optional pattern and
        // its own handler refuses the rest.
        (b"numpat" | b"help", _) => {
            crate::commands::wrong_arity(&format!("pubsub|{}", String::from_utf8_lossy(&sub)))
        }
        (b"channels", _) => Reply::Error(
            format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&argv[1])
            )
            .into(),
        ),
        _ => cachecat_shards::cmd::keys::unknown_subcommand(&argv[1], "PUBSUB"),
    }
}
