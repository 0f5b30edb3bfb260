//! etcd's native protocol: gRPC unary `etcdserverpb.KV/Put` calls over one
//! HTTP/2 connection per client, `--pipeline` calls in flight on it as
//! concurrent streams. This is what etcd's own clients and benchmark tool
//! speak. The JSON gateway (`--proto etcd`) costs etcd an internal gRPC hop
//! per request and answers a connection's pipelined HTTP/1.1 requests one
//! at a time, so it never had more than one write in flight per connection.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::{take, Opts, Rng, Tally};

/// A protobuf length-delimited field.
fn field(out: &mut Vec<u8>, tag: u8, data: &[u8]) {
    out.push(tag);
    let mut n = data.len() as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(data);
}

/// One gRPC message: PutRequest { key = 1, value = 2 } behind the 5-byte
/// gRPC prefix (not compressed, big-endian length).
pub fn put_message(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(key.len() + value.len() + 8);
    field(&mut msg, 0x0a, key);
    field(&mut msg, 0x12, value);
    let mut out = Vec::with_capacity(msg.len() + 5);
    out.push(0);
    out.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    out.extend_from_slice(&msg);
    out
}

fn grpc_ok(h: Option<&http::HeaderMap>) -> bool {
    h.and_then(|h| h.get("grpc-status"))
        .is_some_and(|v| v.as_bytes() == b"0")
}

/// Wait for one call's response, its body and trailers; true on success.
async fn finish(call: h2::client::ResponseFuture) -> Result<bool, h2::Error> {
    let resp = call.await?;
    let (parts, mut body) = resp.into_parts();
    // A trailers-only response carries grpc-status in its headers.
    let in_headers = grpc_ok(Some(&parts.headers));
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await?;
    Ok(parts.status == 200 && (in_headers || grpc_ok(trailers.as_ref())))
}

async fn run(o: Arc<Opts>, left: Arc<AtomicU64>, seed: u64) -> Tally {
    let mut tally = Tally::new();
    let tcp = tokio::net::TcpStream::connect((o.host.as_str(), o.port))
        .await
        .expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let (mut send, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let uri = format!("http://{}:{}/etcdserverpb.KV/Put", o.host, o.port);
    let mut rng = Rng(seed | 1);
    let value = vec![b'x'; o.value_size];
    let mut calls = Vec::with_capacity(o.pipeline);
    loop {
        let got = take(&left, o.pipeline as u64);
        if got == 0 {
            break;
        }
        let start = Instant::now();
        for _ in 0..got {
            send = send.ready().await.expect("connection failed");
            let req = http::Request::post(uri.as_str())
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(())
                .expect("request");
            let (resp, mut stream) = send.send_request(req, false).expect("send");
            let key = format!("key:{:012}", rng.next() % o.keyspace);
            stream
                .send_data(Bytes::from(put_message(key.as_bytes(), &value)), true)
                .expect("send");
            calls.push(resp);
        }
        for call in calls.drain(..) {
            tally.reply(finish(call).await, start);
        }
    }
    tally
}

/// One client thread's work: a single-threaded runtime driving one connection.
pub fn client(o: Arc<Opts>, left: Arc<AtomicU64>, seed: u64) -> Tally {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime")
        .block_on(run(o, left, seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_message_is_a_prefixed_put_request() {
        let m = put_message(b"k1", b"xyz");
        // prefix: uncompressed, 9 bytes; then key (field 1) and value (field 2)
        assert_eq!(
            m,
            [0, 0, 0, 0, 9, 0x0a, 2, b'k', b'1', 0x12, 3, b'x', b'y', b'z']
        );
        let long = put_message(b"k", &[b'v'; 200]);
        // a 200-byte value needs a two-byte varint length (0xc8 0x01)
        assert_eq!(&long[5..10], &[0x0a, 1, b'k', 0x12, 0xc8]);
        assert_eq!(long[10], 0x01);
        assert_eq!(long.len(), 5 + 3 + 3 + 200);
    }
}
