//! Peer traffic on the wire: length-prefixed frames holding rkyv archives
//! of [`Request`] and [`Response`], and their conversion from and to
//! openraft's messages.
//!
//! A frame is `len u32 LE | archive`, the length's top bit set to mark
//! format 2 (unaligned archives): a node of format 1 reads such a length as
//! too long, and a format-1 frame, top bit clear, is refused here, so nodes
//! of the two formats drop each other's connections instead of misreading a
//! vote or an append. A frame longer than [`MAX_FRAME`],
//! or an archive that fails rkyv's validation, is garbage: the connection is
//! dropped and nothing else is touched. Entries travel as their log record
//! payloads (`types::encode_payload`), so the wire and the disk share one
//! codec.

use std::io;

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, VoteRequest, VoteResponse};

use super::types::{decode_entry, encode_payload, log_id, term_of, LogId, TypeConfig, Vote};

/// Largest frame accepted: an entry holds at most a batch of commands with
/// values of up to 512 MB each, which Redis allows too.
pub const MAX_FRAME: usize = 1 << 30;

/// The length's top bit: this frame is format 2 (see the module notes).
const FORMAT_2: u32 = 1 << 31;

#[derive(Debug, Clone, Copy, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct WVote {
    pub term: u64,
    pub node: u64,
    pub committed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct WLogId {
    pub term: u64,
    pub index: u64,
}

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct WEntry {
    pub index: u64,
    pub term: u64,
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Request {
    /// From here on this connection carries only `Append` requests, sent
    /// without waiting, each answered in order with a `Streamed`.
    StreamBegin {
        from: u64,
    },
    Append {
        vote: WVote,
        prev: Option<WLogId>,
        entries: Vec<WEntry>,
        commit: Option<WLogId>,
    },
    Vote {
        vote: WVote,
        last: Option<WLogId>,
        transfer: bool,
        pre: bool,
    },
    TransferLeader {
        from: WVote,
        to: u64,
        last: Option<WLogId>,
    },
    /// A snapshot file follows in chunks (its metadata is in its head).
    SnapshotBegin {
        vote: WVote,
    },
    SnapshotChunk {
        data: Vec<u8>,
    },
    SnapshotEnd,
}

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Response {
    AppendOk,
    AppendPartial(Option<WLogId>),
    AppendConflict,
    HigherVote(WVote),
    Vote {
        vote: WVote,
        granted: bool,
        last: Option<WLogId>,
    },
    TransferLeader(WTransfer),
    /// A snapshot chunk was stored.
    ChunkOk,
    Snapshot {
        vote: WVote,
    },
    /// The peer could not handle the request (its Raft stopped...).
    Failed(String),
    /// The outcome of one pipelined append: entries accepted up to this log
    /// id, or why the stream stops.
    Streamed(WStreamed),
}

#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum WStreamed {
    Ok(Option<WLogId>),
    Conflict(WLogId),
    HigherVote(WVote),
}

pub fn w_streamed(r: &openraft::raft::StreamAppendResult<TypeConfig>) -> WStreamed {
    use openraft::raft::StreamAppendError;
    match r {
        Ok(l) => WStreamed::Ok(w_log_id(l)),
        Err(StreamAppendError::Conflict(l)) => {
            WStreamed::Conflict(w_log_id(&Some(*l)).expect("some"))
        }
        Err(StreamAppendError::HigherVote(v)) => WStreamed::HigherVote(w_vote(v)),
    }
}

pub fn streamed(r: &WStreamed) -> openraft::raft::StreamAppendResult<TypeConfig> {
    use openraft::raft::StreamAppendError;
    match r {
        WStreamed::Ok(l) => Ok(log_id_of(l)),
        WStreamed::Conflict(l) => Err(StreamAppendError::Conflict(log_id(l.term, l.index))),
        WStreamed::HigherVote(v) => Err(StreamAppendError::HigherVote(vote(v))),
    }
}

/// The answer to a leadership transfer.
#[derive(Debug, Clone, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum WTransfer {
    Accepted,
    VoteChanged {
        expected: WVote,
        actual: WVote,
    },
    LogNotFlushed {
        expected: Option<WLogId>,
        actual: Option<WLogId>,
    },
}

pub fn w_vote(v: &Vote) -> WVote {
    WVote {
        term: v.leader_id.term,
        node: v.leader_id.voted_for,
        committed: v.committed,
    }
}

pub fn vote(v: &WVote) -> Vote {
    if v.committed {
        Vote::new_committed(v.term, v.node)
    } else {
        Vote::new(v.term, v.node)
    }
}

pub fn w_log_id(id: &Option<LogId>) -> Option<WLogId> {
    id.as_ref().map(|l| WLogId {
        term: term_of(l),
        index: l.index,
    })
}

pub fn log_id_of(id: &Option<WLogId>) -> Option<LogId> {
    id.as_ref().map(|l| log_id(l.term, l.index))
}

pub fn append_request(rpc: &AppendEntriesRequest<TypeConfig>) -> Request {
    Request::Append {
        vote: w_vote(&rpc.vote),
        prev: w_log_id(&rpc.prev_log_id),
        entries: rpc
            .entries
            .iter()
            .map(|e| WEntry {
                index: e.log_id.index,
                term: term_of(&e.log_id),
                payload: encode_payload(&e.payload),
            })
            .collect(),
        commit: w_log_id(&rpc.leader_commit),
    }
}

pub fn append_rpc(
    vote_: &WVote,
    prev: &Option<WLogId>,
    entries: Vec<WEntry>,
    commit: &Option<WLogId>,
) -> io::Result<AppendEntriesRequest<TypeConfig>> {
    Ok(AppendEntriesRequest {
        vote: vote(vote_),
        prev_log_id: log_id_of(prev),
        entries: entries
            .into_iter()
            .map(|e| decode_entry(e.index, e.term, &e.payload))
            .collect::<io::Result<_>>()?,
        leader_commit: log_id_of(commit),
    })
}

pub fn append_response(r: AppendEntriesResponse<TypeConfig>) -> Response {
    match r {
        AppendEntriesResponse::Success => Response::AppendOk,
        AppendEntriesResponse::PartialSuccess(l) => Response::AppendPartial(w_log_id(&l)),
        AppendEntriesResponse::Conflict => Response::AppendConflict,
        AppendEntriesResponse::HigherVote(v) => Response::HigherVote(w_vote(&v)),
    }
}

pub fn vote_request(rpc: &VoteRequest<TypeConfig>, pre: bool) -> Request {
    Request::Vote {
        vote: w_vote(&rpc.vote),
        last: w_log_id(&rpc.last_log_id),
        transfer: rpc.leadership_transfer,
        pre,
    }
}

pub fn vote_rpc(v: &WVote, last: &Option<WLogId>, transfer: bool) -> VoteRequest<TypeConfig> {
    let mut rpc = VoteRequest::new(vote(v), log_id_of(last));
    rpc.leadership_transfer = transfer;
    rpc
}

pub fn vote_response(r: &VoteResponse<TypeConfig>) -> Response {
    Response::Vote {
        vote: w_vote(&r.vote),
        granted: r.vote_granted,
        last: w_log_id(&r.last_log_id),
    }
}

fn bad_frame(why: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad peer frame: {why}"))
}

/// Write one frame.
pub async fn write_frame<W, T>(w: &mut W, msg: &T) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
    T: for<'a> rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            rkyv::util::AlignedVec,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    let body = rkyv::to_bytes::<rkyv::rancor::Error>(msg).map_err(io::Error::other)?;
    if body.len() > MAX_FRAME {
        return Err(io::Error::other("peer message too large"));
    }
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32 | FORMAT_2).to_le_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame).await?;
    w.flush().await
}

/// Read one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R, T>(r: &mut R) -> io::Result<Option<T>>
where
    R: AsyncRead + Unpin,
    T: rkyv::Archive,
    T::Archived: for<'a> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'a, rkyv::rancor::Error>>
        + rkyv::Deserialize<T, rkyv::api::high::HighDeserializer<rkyv::rancor::Error>>,
{
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(bad_frame("truncated length"))
            };
        }
        got += n;
    }
    let raw = u32::from_le_bytes(len);
    if raw & FORMAT_2 == 0 {
        return Err(bad_frame("from a peer of the earlier format 1"));
    }
    let len = (raw & !FORMAT_2) as usize;
    if len > MAX_FRAME || len == 0 {
        return Err(bad_frame(format!("length {len}")));
    }
    // Grow with what arrives rather than trusting the length up front.
    // Unaligned archives: any buffer will do.
    let mut body = Vec::with_capacity(len.min(1 << 20));
    let mut buf = vec![0u8; len.min(64 << 10)];
    while body.len() < len {
        let want = (len - body.len()).min(buf.len());
        let n = r.read(&mut buf[..want]).await?;
        if n == 0 {
            return Err(bad_frame("truncated body"));
        }
        body.extend_from_slice(&buf[..n]);
    }
    rkyv::from_bytes::<T, rkyv::rancor::Error>(&body)
        .map(Some)
        .map_err(bad_frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        crate::raft::run_local(async {
            let req = Request::Append {
                vote: WVote {
                    term: 3,
                    node: 1,
                    committed: true,
                },
                prev: Some(WLogId { term: 2, index: 9 }),
                entries: vec![WEntry {
                    index: 10,
                    term: 3,
                    payload: vec![0, 1, 2],
                }],
                commit: None,
            };
            let mut buf = Vec::new();
            write_frame(&mut buf, &req).await.unwrap();
            write_frame(&mut buf, &Request::SnapshotEnd).await.unwrap();
            let mut r = &buf[..];
            assert_eq!(read_frame::<_, Request>(&mut r).await.unwrap(), Some(req));
            assert_eq!(
                read_frame::<_, Request>(&mut r).await.unwrap(),
                Some(Request::SnapshotEnd)
            );
            assert_eq!(read_frame::<_, Request>(&mut r).await.unwrap(), None);
            // Garbage: a huge length, a truncated frame, bytes that are no
            // archive, and a whole frame of format 1 (top bit of the length clear).
            let mut old = buf.clone();
            old[3] &= 0x7f;
            for bad in [
                vec![0xff, 0xff, 0xff, 0xff, 1, 2],
                buf[..buf.len() - 3].to_vec(),
                vec![8, 0, 0, 0x80, 9, 9, 9, 9, 9, 9, 9, 9],
                old,
            ] {
                let mut r = &bad[..];
                let mut res = Ok(Some(Request::SnapshotEnd));
                while let Ok(Some(_)) = res {
                    res = read_frame::<_, Request>(&mut r).await;
                }
                assert!(res.is_err(), "{bad:?}");
            }
        });
    }
}
