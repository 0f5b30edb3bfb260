//! Peer traffic: openraft's network over glommio TCP (frames in `wire.rs`).
//!
//! - **Client side.** openraft makes one [`Peer`] per target and purpose
//!   (replication, heartbeats, votes), so each has its own connection and a
//!   snapshot being streamed never delays a heartbeat or a vote. A call
//!   connects when needed and drops the connection on any error or timeout;
//!   openraft retries after its backoff, so a lost peer is redialled with
//!   backoff.
//! - **Server side** is `peer_server.rs`.

use std::future::Future;
use std::io::{self, Read};
use std::rc::Rc;
use std::time::Duration;

use glommio::net::TcpStream;
use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderError,
    TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse,
};

use super::types::{PeerAddr, TypeConfig, Vote};
use super::wire::{self, read_frame, write_frame, Request, Response, WTransfer};

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, std::fs::File>;

/// How a replication stream's writer stands: still writing, done after
/// its input ended, or stopped by a failed write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writing {
    Open,
    Ended,
    Broken,
}

/// How long a replication stream waits after failing to reach its
/// follower before reporting it (and being retried).
const REDIAL_PAUSE: Duration = Duration::from_millis(100);

/// Bytes per snapshot chunk on the wire.
const CHUNK: usize = 1 << 20;

pub struct Network;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, node: &PeerAddr) -> Peer {
        Peer {
            target,
            addr: node.raft.clone(),
            conn: None,
            stream_conn: None,
        }
    }
}

pub struct Peer {
    target: u64,
    addr: String,
    conn: Option<TcpStream>,
    /// The append-stream connection, between streams.
    stream_conn: Option<Rc<std::cell::RefCell<TcpStream>>>,
}

/// One TCP stream read by one task and written by another (glommio keeps
/// separate wakers for the two directions; polls never overlap on one
/// thread).
struct Shared(Rc<std::cell::RefCell<TcpStream>>);

impl futures_lite::AsyncRead for Shared {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut *self.0.borrow_mut()).poll_read(cx, buf)
    }
}

impl futures_lite::AsyncWrite for Shared {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut *self.0.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut *self.0.borrow_mut()).poll_close(cx)
    }
}

fn unreachable(target: u64, e: impl std::fmt::Display) -> Unreachable<TypeConfig> {
    Unreachable::from_string(format!("node {target}: {e}"))
}

/// `f`, or a timeout error after `ttl`.
async fn within<T>(ttl: Duration, f: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    futures_lite::future::or(f, async {
        glommio::timer::sleep(ttl).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    })
    .await
}

impl Peer {
    async fn stream(&mut self) -> io::Result<&mut TcpStream> {
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr.as_str())
                .await
                .map_err(|e| io::Error::other(e.to_string()))?;
            let _ = s.set_nodelay(true);
            self.conn = Some(s);
        }
        Ok(self.conn.as_mut().expect("connected"))
    }

    async fn exchange(&mut self, req: &Request) -> io::Result<Response> {
        let s = self.stream().await?;
        write_frame(s, req).await?;
        match read_frame::<_, Response>(s).await? {
            Some(Response::Failed(why)) => Err(io::Error::other(why)),
            Some(r) => Ok(r),
            None => Err(io::Error::other("connection closed")),
        }
    }

    /// One request and its response within `ttl`; any failure drops the
    /// connection (the next call redials).
    async fn call(
        &mut self,
        req: &Request,
        ttl: Duration,
    ) -> Result<Response, Unreachable<TypeConfig>> {
        match within(ttl, self.exchange(req)).await {
            Ok(r) => Ok(r),
            Err(e) => {
                self.conn = None;
                Err(unreachable(self.target, e))
            }
        }
    }

    fn unexpected(&mut self, r: Response) -> Unreachable<TypeConfig> {
        self.conn = None;
        unreachable(self.target, format!("unexpected response {r:?}"))
    }

    async fn send_snapshot(
        &mut self,
        vote: &Vote,
        mut file: std::fs::File,
        ttl: Duration,
    ) -> io::Result<Vote> {
        let s = self.stream().await?;
        let begin = Request::SnapshotBegin {
            vote: wire::w_vote(vote),
        };
        let r = within(ttl, async {
            write_frame(s, &begin).await?;
            read_frame::<_, Response>(s).await
        })
        .await?;
        if r != Some(Response::ChunkOk) {
            return Err(io::Error::other(format!("snapshot refused: {r:?}")));
        }
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = Request::SnapshotChunk {
                data: buf[..n].to_vec(),
            };
            let r = within(ttl, async {
                write_frame(s, &chunk).await?;
                read_frame::<_, Response>(s).await
            })
            .await?;
            if r != Some(Response::ChunkOk) {
                return Err(io::Error::other(format!("snapshot chunk refused: {r:?}")));
            }
        }
        let r = within(ttl, async {
            write_frame(s, &Request::SnapshotEnd).await?;
            read_frame::<_, Response>(s).await
        })
        .await?;
        match r {
            Some(Response::Snapshot { vote }) => Ok(wire::vote(&vote)),
            other => Err(io::Error::other(format!("snapshot refused: {other:?}"))),
        }
    }
}

type StreamItem = Result<openraft::raft::StreamAppendResult<TypeConfig>, RPCError<TypeConfig>>;

impl RaftNetworkV2<TypeConfig> for Peer {
    type SnapshotData = std::fs::File;

    /// Pipelined replication on a connection of its own (kept for the next
    /// stream when this one ends cleanly): requests go out as openraft
    /// produces them, responses come back in order.
    fn stream_append<'s, S>(
        &'s mut self,
        input: S,
        option: RPCOption,
    ) -> openraft::base::BoxFuture<
        's,
        Result<openraft::base::BoxStream<'s, StreamItem>, RPCError<TypeConfig>>,
    >
    where
        S: futures_lite::Stream<Item = AppendEntriesRequest<TypeConfig>> + Unpin + 'static,
    {
        Box::pin(async move {
            let target = self.target;
            // A follower's fsync may take longer than openraft's per-RPC
            // budget (the heartbeat interval); waiting a little longer costs
            // less than tearing the stream down.
            let ttl = option.hard_ttl().max(Duration::from_millis(500));
            if crate::faults::dropped(target) {
                self.stream_conn = None;
                glommio::timer::sleep(option.hard_ttl()).await;
                return Err(RPCError::Unreachable(unreachable(
                    target,
                    "peer traffic dropped (fault)",
                )));
            }
            let conn = match self.stream_conn.take() {
                Some(c) => c,
                None => {
                    let opened = within(ttl, async {
                        let mut s = TcpStream::connect(self.addr.as_str())
                            .await
                            .map_err(|e| io::Error::other(e.to_string()))?;
                        let _ = s.set_nodelay(true);
                        write_frame(&mut s, &Request::StreamBegin { from: 0 }).await?;
                        Ok(s)
                    })
                    .await;
                    match opened {
                        Ok(s) => Rc::new(std::cell::RefCell::new(s)),
                        Err(e) => {
                            // openraft backs off only between requests it
                            // hands a stream, and a refused dial consumes
                            // none: without this pause a leader redials a
                            // dead follower as fast as it can.
                            glommio::timer::sleep(REDIAL_PAUSE).await;
                            return Err(RPCError::Unreachable(unreachable(target, e)));
                        }
                    }
                }
            };
            // Requests written so far, and how the writing ended.
            let sent = Rc::new(std::cell::Cell::new((0u64, Writing::Open)));
            let wake = Rc::new(crate::local::WaitList::default());
            let (sent_w, wake_w, mut wr) = (sent.clone(), wake.clone(), Shared(conn.clone()));
            glommio::spawn_local(async move {
                let mut input = input;
                let mut end = Writing::Ended;
                while let Some(rpc) = futures_lite::StreamExt::next(&mut input).await {
                    if crate::faults::dropped(target)
                        || write_frame(&mut wr, &wire::append_request(&rpc))
                            .await
                            .is_err()
                    {
                        // Nothing after a failed write is answered: the
                        // reader ends the stream once it has read the
                        // answers to what went out before.
                        end = Writing::Broken;
                        break;
                    }
                    sent_w.set((sent_w.get().0 + 1, Writing::Open));
                    wake_w.wake_all();
                }
                sent_w.set((sent_w.get().0, end));
                wake_w.wake_all();
            })
            .detach();
            let slot = &mut self.stream_conn;
            // Responses, in order; the stream ends after the first error or
            // refusal (openraft then starts over), after a failed write, or
            // once the input ended and every request was answered (the
            // connection is then kept for the next stream).
            let out =
                futures_lite::stream::unfold(Some((Shared(conn), 0u64, slot)), move |state| {
                    let (sent, wake) = (sent.clone(), wake.clone());
                    async move {
                        let (mut rd, got, slot) = state?;
                        wake.until(|| {
                            let (n, end) = sent.get();
                            n > got || end != Writing::Open
                        })
                        .await;
                        let (n, end) = sent.get();
                        if n <= got {
                            return match end {
                                Writing::Broken => Some((
                                    Err(RPCError::Unreachable(unreachable(
                                        target,
                                        "sending to the peer failed",
                                    ))),
                                    None,
                                )),
                                _ => {
                                    *slot = Some(rd.0);
                                    None
                                }
                            };
                        }
                        match within(ttl, read_frame::<_, Response>(&mut rd)).await {
                            Ok(Some(Response::Streamed(w))) => {
                                let res = wire::streamed(&w);
                                let go_on = res.is_ok();
                                Some((Ok(res), go_on.then_some((rd, got + 1, slot))))
                            }
                            Ok(other) => Some((
                                Err(RPCError::Unreachable(unreachable(
                                    target,
                                    format!("unexpected stream response {other:?}"),
                                ))),
                                None,
                            )),
                            Err(e) => {
                                Some((Err(RPCError::Unreachable(unreachable(target, e))), None))
                            }
                        }
                    }
                });
            Ok(Box::pin(out) as openraft::base::BoxStream<'s, StreamItem>)
        })
    }

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let r = self
            .call(&wire::append_request(&rpc), option.hard_ttl())
            .await?;
        Ok(match r {
            Response::AppendOk => AppendEntriesResponse::Success,
            Response::AppendPartial(l) => {
                AppendEntriesResponse::PartialSuccess(wire::log_id_of(&l))
            }
            Response::AppendConflict => AppendEntriesResponse::Conflict,
            Response::HigherVote(v) => AppendEntriesResponse::HigherVote(wire::vote(&v)),
            other => return Err(RPCError::Unreachable(self.unexpected(other))),
        })
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.vote_call(rpc, option, false).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.vote_call(rpc, option, true).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let ttl = option.hard_ttl().max(Duration::from_secs(5));
        let sent = futures_lite::future::or(
            async { Ok(self.send_snapshot(&vote, snapshot.snapshot, ttl).await) },
            async { Err(cancel.await) },
        )
        .await;
        match sent {
            Ok(Ok(v)) => Ok(SnapshotResponse::new(v)),
            Ok(Err(e)) => {
                self.conn = None;
                Err(StreamingError::Unreachable(unreachable(self.target, e)))
            }
            Err(closed) => {
                self.conn = None;
                Err(StreamingError::Closed(closed))
            }
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        let msg = Request::TransferLeader {
            from: wire::w_vote(req.from_leader()),
            to: *req.to_node_id(),
            last: wire::w_log_id(&req.last_log_id().copied()),
        };
        match self.call(&msg, option.hard_ttl()).await? {
            Response::TransferLeader(t) => Ok(match t {
                WTransfer::Accepted => Ok(()),
                WTransfer::VoteChanged { expected, actual } => {
                    Err(TransferLeaderError::VoteChanged {
                        expected: wire::vote(&expected),
                        actual: wire::vote(&actual),
                    })
                }
                WTransfer::LogNotFlushed { expected, actual } => {
                    Err(TransferLeaderError::LogNotFlushed {
                        expected: wire::log_id_of(&expected),
                        actual: wire::log_id_of(&actual),
                    })
                }
            }),
            other => Err(RPCError::Unreachable(self.unexpected(other))),
        }
    }
}

impl Peer {
    async fn vote_call(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
        pre: bool,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        match self
            .call(&wire::vote_request(&rpc, pre), option.hard_ttl())
            .await?
        {
            Response::Vote {
                vote,
                granted,
                last,
            } => Ok(VoteResponse::new(
                wire::vote(&vote),
                wire::log_id_of(&last),
                granted,
            )),
            other => Err(RPCError::Unreachable(self.unexpected(other))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::types::Vote;

    /// A peer that accepts the append stream and dies before the first
    /// request goes out (a node killed while it is being dialled): the
    /// write fails and the stream must end with an error. It used to wait
    /// for an answer that could never come, so replication to that
    /// follower stopped for good, heartbeats kept it from holding an
    /// election, and it never caught up.
    #[test]
    fn a_stream_whose_first_write_fails_ends_with_an_error() {
        crate::raft::run_local(async {
            let listener = glommio::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = listener.local_addr().expect("addr").to_string();
            glommio::spawn_local(async move {
                // Closing with the stream's opening frame unread sends a
                // reset, so the client's next write fails.
                let conn = listener.accept().await.expect("accept");
                glommio::timer::sleep(Duration::from_millis(20)).await;
                drop(conn);
            })
            .detach();
            let mut peer = Peer {
                target: 2,
                addr,
                conn: None,
                stream_conn: None,
            };
            let request = AppendEntriesRequest::<TypeConfig> {
                vote: Vote::new_committed(1, 1),
                prev_log_id: None,
                entries: Vec::new(),
                leader_commit: None,
            };
            // The first request comes once the peer has gone away.
            let input = Box::pin(futures_lite::stream::unfold(
                Some(request),
                |r| async move {
                    glommio::timer::sleep(Duration::from_millis(200)).await;
                    r.map(|r| (r, None))
                },
            ));
            let option = RPCOption::new(Duration::from_millis(50));
            let mut responses = peer.stream_append(input, option).await.expect("stream");
            let first = futures_lite::future::or(
                async { Some(futures_lite::StreamExt::next(&mut responses).await) },
                async {
                    glommio::timer::sleep(Duration::from_secs(5)).await;
                    None
                },
            )
            .await;
            match first {
                Some(Some(Err(_))) => {}
                Some(other) => panic!("expected an error, got {:?}", other.map(|r| r.is_ok())),
                None => panic!("the stream hung after its first write failed"),
            }
        });
    }
}
