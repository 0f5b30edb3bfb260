//! Peer traffic: openraft's network over glommio TCP.
//!
//! (This first version connects to no one: it serves one-node clusters,
//! whose leader never sends an RPC. The framed TCP transport replaces it.)

use std::future::Future;

use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};

use super::types::{PeerAddr, TypeConfig, Vote};

type Snapshot = openraft::alias::SnapshotOf<TypeConfig, std::fs::File>;

pub struct Network {
    _me: u64,
}

impl Network {
    pub fn new(me: u64) -> Network {
        Network { _me: me }
    }
}

pub struct Peer {
    target: u64,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: u64, _node: &PeerAddr) -> Peer {
        Peer { target }
    }
}

impl Peer {
    fn unreachable(&self) -> Unreachable<TypeConfig> {
        Unreachable::from_string(format!("no transport to node {}", self.target))
    }
}

impl RaftNetworkV2<TypeConfig> for Peer {
    type SnapshotData = std::fs::File;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn full_snapshot(
        &mut self,
        _vote: Vote,
        _snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        Err(StreamingError::Unreachable(self.unreachable()))
    }
}
