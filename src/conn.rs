//! Client connections: read, parse, run each command in order, write the
//! replies of a whole pipeline with one write. Generic over the stream type so
//! TLS streams slot in later.

use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::net::{Listener, Stream};
use bytes::BytesMut;
use cachecat_io::{encode, Limits, Proto, Reply, RequestParser};
use cachecat_shards::cmd::tx::Watch;
use cachecat_shards::cmd::Cmd;
use cachecat_shards::op::LogOp;
use std::collections::VecDeque;

use crate::commands::{self, Step};
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::core::Core;
use crate::shared::{ClientMeta, NORMAL_CLASS, PUBSUB_CLASS};

/// Size of one socket read, as Redis's PROTO_IOBUF_LEN.
const READ_CHUNK: usize = 16 * 1024;

/// What a queued MULTI item is.
pub enum Queued {
    /// A keyspace command parsed in the database selected at queue time.
    Key { db: u32, cmd: Cmd },
    /// A command whose arguments failed to parse: its error is EXEC's reply
    /// element, as Redis reports such errors at EXEC time.
    Failed(Reply),
    /// Any other command, run when EXEC runs.
    Server(Vec<Vec<u8>>),
}

pub struct Multi {
    pub items: Vec<Queued>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub failed: bool,
    /// The database the queued commands will run in (SELECT inside MULTI).
    pub queue_db: usize,
}

/// Per-connection state.
pub struct Conn {
    pub id: u64,
    pub db: usize,
    pub proto: Proto,
    pub authed: bool,
    pub meta: Arc<ClientMeta>,
    pub multi: Option<Multi>,
    pub watches: Vec<Watch>,
    /// Close once the replies so far are written (QUIT, protocol errors).
    pub close: bool,
    /// Channels and patterns subscribed to, with the mailbox of messages.
    pub subs: Option<crate::pubsub::Subs>,
}

/// Close clients idle for longer than `timeout` seconds (Redis's
/// `timeout`), checked once a second; runs on one core for all of them.
pub async fn close_idle_clients(core: Rc<Core>) {
    loop {
        glommio::timer::sleep(Duration::from_secs(1)).await;
        let timeout = core.shared.timeout.load(Relaxed);
        if timeout == 0 {
            continue;
        }
        let now = core.shared.uptime_ms();
        for m in core.shared.all_clients() {
            // Subscribers only listen: Redis exempts them too.
            if !m.is_subscriber() && now.saturating_sub(m.last_ms.load(Relaxed)) > timeout * 1000 {
                m.kill();
            }
        }
    }
}

/// Accept clients on this core's SO_REUSEPORT listener forever.
pub async fn accept_loop(core: Rc<Core>, listener: Listener) {
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let shared = &core.shared;
        shared.stats.connections_received.fetch_add(1, Relaxed);
        let max = shared.maxclients.load(Relaxed);
        if shared.stats.connected_clients.load(Relaxed) >= max {
            shared.stats.rejected_connections.fetch_add(1, Relaxed);
            let mut s = stream;
            let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
            let _ = s.close().await;
            continue;
        }
        let _ = stream.set_nodelay(true);
        let core = core.clone();
        glommio::spawn_local(async move {
            let meta = register(&core, &stream);
            core.shared.stats.connected_clients.fetch_add(1, Relaxed);
            serve(core.clone(), stream, meta.clone()).await;
            core.shared.stats.connected_clients.fetch_sub(1, Relaxed);
            core.shared
                .clients
                .lock()
                .expect("clients")
                .remove(&meta.id);
        })
        .detach();
    }
}

fn register(core: &Core, stream: &Stream) -> Arc<ClientMeta> {
    use std::os::fd::AsRawFd;
    let shared = &core.shared;
    let id = shared.next_client_id.fetch_add(1, Relaxed);
    let meta = Arc::new(ClientMeta {
        id,
        addr: stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        laddr: stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default(),
        fd: std::sync::atomic::AtomicI32::new(stream.as_raw_fd()),
        created: crate::clock::monotonic(),
        name: Mutex::new(String::new()),
        lib_name: Mutex::new(String::new()),
        lib_ver: Mutex::new(String::new()),
        db: Default::default(),
        resp: std::sync::atomic::AtomicU64::new(2),
        last_ms: std::sync::atomic::AtomicU64::new(shared.uptime_ms()),
        last_cmd: std::sync::atomic::AtomicU32::new(u32::MAX),
        multi: std::sync::atomic::AtomicI32::new(-1),
        killed: Default::default(),
        sub_channels: Default::default(),
        sub_patterns: Default::default(),
    });
    shared
        .clients
        .lock()
        .expect("clients")
        .insert(id, meta.clone());
    meta
}

/// (hard, soft, soft seconds) of the client's output-buffer class.
fn output_limits(core: &Core, conn: &Conn) -> (u64, u64, u64) {
    let subscriber = conn.subs.as_ref().is_some_and(|s| s.count() > 0);
    let class = if subscriber {
        PUBSUB_CLASS
    } else {
        NORMAL_CLASS
    };
    core.shared.obuf_limit(class)
}

/// Whether `len` bytes of replies pass the client's hard limit.
fn over_hard_limit(core: &Core, conn: &Conn, len: usize) -> bool {
    let (hard, _, _) = output_limits(core, conn);
    hard > 0 && len as u64 > hard
}

/// Write a batch of replies under `client-output-buffer-limit` for the
/// client's class: a batch over the hard limit closes the connection, and
/// one over the soft limit must be taken by the client within the soft
/// seconds. False when the connection must close.
async fn write_limited<S: AsyncWrite + Unpin>(
    stream: &mut S,
    out: &[u8],
    conn: &Conn,
    core: &Core,
) -> bool {
    let (_, soft, secs) = output_limits(core, conn);
    let len = out.len() as u64;
    if over_hard_limit(core, conn, out.len()) {
        tracing::warn!(
            client = conn.id,
            bytes = len,
            "client-output-buffer-limit reached: disconnecting"
        );
        return false;
    }
    if soft > 0 && len > soft {
        let write = async { stream.write_all(out).await.is_ok() };
        let expire = async {
            glommio::timer::sleep(Duration::from_secs(secs)).await;
            tracing::warn!(
                client = conn.id,
                bytes = len,
                "client-output-buffer-limit (soft) reached: disconnecting"
            );
            false
        };
        return futures_lite::future::or(write, expire).await;
    }
    stream.write_all(out).await.is_ok()
}

/// Bytes of subscriber messages written per batch.
const MESSAGE_BATCH: usize = 64 * 1024;

/// Write a subscriber's queued messages; false when the connection is gone.
async fn flush_messages<S: AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut Conn,
    out: &mut Vec<u8>,
    core: &Core,
) -> bool {
    let Some(subs) = &conn.subs else { return true };
    // One batch per wake-up: the connection then looks at its socket again,
    // so a busy channel cannot keep its commands from being read.
    let batch = subs.mailbox.take(MESSAGE_BATCH);
    if conn.meta.killed.load(Relaxed) {
        return false;
    }
    if batch.is_empty() {
        return true;
    }
    for m in &batch {
        encode(m, conn.proto, out);
    }
    crate::shared::bump(
        &core.shared.stats.per_core[core.id].net_out,
        out.len() as u64,
    );
    let ok = write_limited(stream, out, conn, core).await;
    out.clear();
    ok
}

/// A reply of a pipeline not yet encoded: ready, or awaited from another core.
enum Pend {
    Ready(Reply),
    Wait { req: u32, get: bool },
}

/// Whether a command (by name) is a keyspace command; others wait for the
/// commands in flight before them (they may change the connection's state,
/// e.g. HELLO the protocol its replies are encoded in).
fn is_keyspace(argv: &[Vec<u8>]) -> bool {
    cachecat_shards::table::lookup_any_case(&argv[0]).is_some_and(|s| s.parse.is_some())
}

/// Encode the pending replies in order, waiting for those still in flight.
async fn drain(core: &Rc<Core>, pend: &mut VecDeque<Pend>, proto: Proto, out: &mut Vec<u8>) {
    while let Some(p) = pend.pop_front() {
        let r = match p {
            Pend::Ready(r) => r,
            Pend::Wait { req, get } => {
                let r = core.pending.wait(req).await;
                if get {
                    commands::keyspace::count_hit(core, true, &r);
                }
                r
            }
        };
        encode(&r, proto, out);
    }
}

/// Serve one client until it quits, errs or is killed.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    core: Rc<Core>,
    mut stream: S,
    meta: Arc<ClientMeta>,
) {
    let shared = core.shared.clone();
    let mut conn = Conn {
        id: meta.id,
        db: 0,
        proto: Proto::Resp2,
        authed: !shared.requirepass_set.load(Relaxed),
        meta,
        multi: None,
        watches: Vec::new(),
        close: false,
        subs: None,
    };
    let mut parser = RequestParser::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut pend: VecDeque<Pend> = VecDeque::new();
    // The last batch ran keyspace commands through other cores or the log:
    // the next batch's reads must not be evaluated at an older time than
    // those writes were stamped with.
    let mut went_out = false;
    loop {
        // Idle clients are closed by `close_idle_clients`, as Redis's cron
        // does. A subscriber also wakes for messages in its mailbox.
        let mailbox = conn.subs.as_ref().map(|s| s.mailbox.clone());
        let read = match &mailbox {
            None => Some(stream.read(&mut chunk).await),
            Some(mb) => {
                futures_lite::future::or(async { Some(stream.read(&mut chunk).await) }, async {
                    mb.wake.until(|| !mb.is_empty()).await;
                    None
                })
                .await
            }
        };
        let Some(read) = read else {
            // Messages only: write them and wait again.
            if !flush_messages(&mut stream, &mut conn, &mut out, &core).await {
                break;
            }
            continue;
        };
        let n = match read {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        crate::shared::bump(&shared.stats.per_core[core.id].net_in, n as u64);
        rbuf.extend_from_slice(&chunk[..n]);
        let limits = Limits {
            proto_max_bulk_len: shared.proto_max_bulk_len.load(Relaxed),
        };
        conn.meta.last_ms.store(shared.uptime_ms(), Relaxed);
        let now = crate::clock::physical_ms();
        core.clock_hint.set(now);
        core.mono_hint.set(crate::clock::mono_ns());
        core.fresh_read_clock(now, if went_out { 0 } else { 2 })
            .await;
        went_out = false;
        loop {
            match parser.parse(&mut rbuf, &limits, conn.authed) {
                Ok(Some(argv)) => {
                    if !pend.is_empty() && !is_keyspace(&argv) {
                        drain(&core, &mut pend, conn.proto, &mut out).await;
                    }
                    let step = commands::begin(&core, &mut conn, argv, !pend.is_empty());
                    went_out |= !matches!(step, Step::Reply(_));
                    match step {
                        Step::Reply(r) if pend.is_empty() => encode(&r, conn.proto, &mut out),
                        Step::Reply(r) => pend.push_back(Pend::Ready(r)),
                        // SCAN may walk several shards in turn: it never
                        // goes through the sequencer, so it runs in order.
                        Step::Keyspace(db, cmd) if cmd.shard_hint().is_some() => {
                            drain(&core, &mut pend, conn.proto, &mut out).await;
                            let r = commands::keyspace::run(&core, db, cmd).await;
                            encode(&r, conn.proto, &mut out);
                        }
                        Step::Keyspace(db, cmd)
                            if (pend.is_empty() && rbuf.is_empty()) || !core.serving() =>
                        {
                            // Alone, or this node cannot answer at once
                            // (not leader yet, or no lease): wait here,
                            // in order.
                            drain(&core, &mut pend, conn.proto, &mut out).await;
                            let r = commands::keyspace::run(&core, db, cmd).await;
                            encode(&r, conn.proto, &mut out);
                        }
                        Step::Keyspace(db, cmd) => {
                            // More commands follow: send this one on and go
                            // on parsing. Everything after it goes through
                            // the sequencer too, so the order holds.
                            let get = matches!(cmd, Cmd::Get { .. });
                            let req = core.submit(LogOp::Cmd { db, cmd });
                            pend.push_back(Pend::Wait { req, get });
                        }
                        other => {
                            drain(&core, &mut pend, conn.proto, &mut out).await;
                            let r = commands::finish(&core, &mut conn, other).await;
                            encode(&r, conn.proto, &mut out);
                        }
                    }
                    if conn.close {
                        break;
                    }
                    // Stop building replies once they exceed the hard
                    // limit, as Redis stops adding to a flagged client.
                    if over_hard_limit(&core, &conn, out.len()) {
                        tracing::warn!(
                            client = conn.id,
                            bytes = out.len(),
                            "client-output-buffer-limit reached: disconnecting"
                        );
                        out.clear();
                        for p in pend.drain(..) {
                            if let Pend::Wait { req, .. } = p {
                                core.pending.abandon(req);
                            }
                        }
                        conn.close = true;
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    drain(&core, &mut pend, conn.proto, &mut out).await;
                    e.encode(&mut out);
                    conn.close = true;
                    break;
                }
            }
        }
        drain(&core, &mut pend, conn.proto, &mut out).await;
        if let Some(subs) = &conn.subs {
            for m in subs.mailbox.take(MESSAGE_BATCH) {
                encode(&m, conn.proto, &mut out);
            }
        }
        if !out.is_empty() {
            crate::shared::bump(&shared.stats.per_core[core.id].net_out, out.len() as u64);
            if !write_limited(&mut stream, &out, &conn, &core).await {
                break;
            }
            out.clear();
            if out.capacity() > 4 * READ_CHUNK {
                out.shrink_to(READ_CHUNK);
            }
        }
        if conn.close || conn.meta.killed.load(Relaxed) {
            break;
        }
    }
    if let Some(subs) = conn.subs.as_mut() {
        let _ = crate::pubsub::leave(&core, subs, conn.id);
    }
    // Replies still in flight for a client that left: free their slots when
    // they arrive.
    for p in pend {
        if let Pend::Wait { req, .. } = p {
            core.pending.abandon(req);
        }
    }
    let _ = stream.close().await;
}
