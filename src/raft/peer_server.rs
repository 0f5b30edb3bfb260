//! The raft port: peers' requests answered (the client side is
//! `network.rs`). Each connection is a task answering one request at a time,
//! except an append stream (after `StreamBegin`), whose requests are handed
//! to openraft as they arrive and answered in order. A frame that is not a
//! valid message ends that connection only.

use std::io::{self, Write};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use glommio::net::{TcpListener, TcpStream};
use openraft::raft::{TransferLeaderError, TransferLeaderRequest};

use super::node::RaftNode;
use super::types::{TypeConfig, Vote};
use super::wire::{self, read_frame, write_frame, Request, Response, WTransfer};

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, std::fs::File>;

/// Accept peers on the raft port until the node stops.
pub async fn serve(node: Rc<RaftNode>, listener: TcpListener, snapshot_dir: PathBuf) {
    loop {
        match listener.accept().await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                glommio::spawn_local(handle(node.clone(), s, snapshot_dir.clone())).detach();
            }
            Err(e) => {
                tracing::warn!("raft port accept failed: {e}");
                glommio::timer::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A snapshot being received: where it goes and the vote it came with.
struct Receiving {
    vote: Vote,
    path: PathBuf,
    file: std::fs::File,
}

async fn handle(node: Rc<RaftNode>, mut s: TcpStream, snapshot_dir: PathBuf) {
    let peer = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut receiving: Option<Receiving> = None;
    loop {
        let req = match read_frame::<_, Request>(&mut s).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(peer, "dropping peer connection: {e}");
                return;
            }
        };
        if sender(&req).is_some_and(crate::faults::dropped) {
            // Test-only: traffic from a cut-off peer is lost.
            return;
        }
        if let Request::StreamBegin { .. } = req {
            return serve_stream(node, s, peer).await;
        }
        let resp = match answer(&node, req, &mut receiving, &snapshot_dir).await {
            Ok(r) => r,
            Err(e) => Response::Failed(e.to_string()),
        };
        if write_frame(&mut s, &resp).await.is_err() {
            return;
        }
    }
}

/// A pipelined append stream: requests are read and handed to openraft as
/// they arrive, responses written back in order as openraft produces them.
async fn serve_stream(node: Rc<RaftNode>, s: TcpStream, peer: String) {
    let (mut rd, mut wr) = futures_lite::io::split(s);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    glommio::spawn_local(async move {
        loop {
            let rpc = match read_frame::<_, Request>(&mut rd).await {
                Ok(Some(Request::Append {
                    vote,
                    prev,
                    entries,
                    commit,
                })) if !crate::faults::dropped(vote.node) => {
                    match wire::append_rpc(&vote, &prev, entries, &commit) {
                        Ok(rpc) => rpc,
                        Err(e) => {
                            tracing::warn!(peer, "dropping append stream: {e}");
                            return;
                        }
                    }
                }
                Ok(None) | Ok(Some(Request::Append { .. })) => return,
                Ok(Some(other)) => {
                    tracing::warn!(peer, "dropping append stream: unexpected {other:?}");
                    return;
                }
                Err(e) => {
                    tracing::warn!(peer, "dropping append stream: {e}");
                    return;
                }
            };
            if tx.send(rpc).is_err() {
                return;
            }
        }
    })
    .detach();
    let input = futures_lite::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let results = node.raft.stream_append(input);
    futures_lite::pin!(results);
    while let Some(r) = futures_lite::StreamExt::next(&mut results).await {
        let resp = match r {
            Ok(r) => {
                if r.is_ok() {
                    node.note_leader_contact();
                }
                Response::Streamed(wire::w_streamed(&r))
            }
            Err(fatal) => Response::Failed(fatal.to_string()),
        };
        if write_frame(&mut wr, &resp).await.is_err() {
            return;
        }
    }
}

/// The node a request comes from, where it says (its vote's node).
fn sender(req: &Request) -> Option<u64> {
    match req {
        Request::Append { vote, .. }
        | Request::Vote { vote, .. }
        | Request::SnapshotBegin { vote } => Some(vote.node),
        Request::TransferLeader { from, .. } => Some(from.node),
        Request::SnapshotChunk { .. } | Request::SnapshotEnd | Request::StreamBegin { .. } => None,
    }
}

async fn answer(
    node: &Rc<RaftNode>,
    req: Request,
    receiving: &mut Option<Receiving>,
    snapshot_dir: &std::path::Path,
) -> io::Result<Response> {
    let raft = &node.raft;
    Ok(match req {
        Request::Append {
            vote,
            prev,
            entries,
            commit,
        } => {
            let rpc = wire::append_rpc(&vote, &prev, entries, &commit)?;
            let r = raft.append_entries(rpc).await.map_err(io::Error::other)?;
            if !matches!(r, openraft::raft::AppendEntriesResponse::HigherVote(_)) {
                node.note_leader_contact();
            }
            wire::append_response(r)
        }
        Request::Vote {
            vote,
            last,
            transfer,
            pre,
        } => {
            let rpc = wire::vote_rpc(&vote, &last, transfer);
            let r = if pre {
                raft.pre_vote(rpc).await
            } else {
                raft.vote(rpc).await
            };
            wire::vote_response(&r.map_err(io::Error::other)?)
        }
        Request::TransferLeader { from, to, last } => {
            let req = TransferLeaderRequest::new(wire::vote(&from), to, wire::log_id_of(&last));
            let r = raft
                .handle_transfer_leader(req)
                .await
                .map_err(io::Error::other)?;
            Response::TransferLeader(match r {
                Ok(()) => WTransfer::Accepted,
                Err(TransferLeaderError::VoteChanged { expected, actual }) => {
                    WTransfer::VoteChanged {
                        expected: wire::w_vote(&expected),
                        actual: wire::w_vote(&actual),
                    }
                }
                Err(TransferLeaderError::LogNotFlushed { expected, actual }) => {
                    WTransfer::LogNotFlushed {
                        expected: wire::w_log_id(&expected),
                        actual: wire::w_log_id(&actual),
                    }
                }
            })
        }
        Request::StreamBegin { .. } => {
            return Err(io::Error::other("an append stream starts a connection"))
        }
        Request::SnapshotBegin { vote } => {
            std::fs::create_dir_all(snapshot_dir)?;
            let path = snapshot_dir.join("snapshot.recv");
            let file = std::fs::File::create(&path)?;
            *receiving = Some(Receiving {
                vote: wire::vote(&vote),
                path,
                file,
            });
            return Ok(Response::ChunkOk);
        }
        Request::SnapshotChunk { data } => {
            let r = receiving
                .as_mut()
                .ok_or_else(|| io::Error::other("snapshot chunk without a beginning"))?;
            r.file.write_all(&data)?;
            Response::ChunkOk
        }
        Request::SnapshotEnd => {
            let r = receiving
                .take()
                .ok_or_else(|| io::Error::other("snapshot end without a beginning"))?;
            drop(r.file);
            let mut file = std::fs::File::open(&r.path)?;
            let meta = super::sm::read_meta(&mut file)?;
            std::fs::remove_file(&r.path)?;
            let snapshot = Snapshot {
                meta,
                snapshot: file,
            };
            let resp = raft
                .install_full_snapshot(r.vote, snapshot)
                .await
                .map_err(io::Error::other)?;
            Response::Snapshot {
                vote: wire::w_vote(&resp.vote),
            }
        }
    })
}
