//! Pub/sub on a running node with two cores: subscribers and publishers on
//! different connections (so, with SO_REUSEPORT, on different cores), the
//! RESP2 and RESP3 message forms, and the output-buffer limit that protects
//! the server from a subscriber that does not read.

mod common;

use std::io::Read;
use std::time::Duration;

use common::{Client, Server};

fn msg(kind: &str, channel: &str, payload: &str) -> String {
    format!(
        "*3\r\n${}\r\n{kind}\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
        kind.len(),
        channel.len(),
        payload.len()
    )
}

#[test]
fn messages_cross_cores_in_order() {
    let s = Server::start(&["--threads", "2"]);
    // Several subscribers and publishers: SO_REUSEPORT spreads them over
    // both cores.
    let mut subs: Vec<Client> = (0..4).map(|_| s.client()).collect();
    for c in subs.iter_mut() {
        assert_eq!(
            c.cmd("SUBSCRIBE news other"),
            "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
        );
        assert_eq!(
            c.read_reply(),
            "*3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:2\r\n"
        );
    }
    let mut psub = s.client();
    assert_eq!(
        psub.cmd("PSUBSCRIBE n*"),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n"
    );
    let mut pubs: Vec<Client> = (0..4).map(|_| s.client()).collect();
    for i in 0..50 {
        let p = &mut pubs[i % 4];
        assert_eq!(
            p.cmd(&format!("PUBLISH news m{i}")),
            ":5\r\n",
            "4 subscribers + 1 pattern"
        );
    }
    for c in subs.iter_mut() {
        for i in 0..50 {
            assert_eq!(c.read_reply(), msg("message", "news", &format!("m{i}")));
        }
    }
    for i in 0..50 {
        let want = format!(
            "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n${}\r\nm{i}\r\n",
            format!("m{i}").len()
        );
        assert_eq!(psub.read_reply(), want);
    }
    let p = &mut pubs[0];
    assert_eq!(
        p.cmd("PUBSUB NUMSUB news other none"),
        "*6\r\n$4\r\nnews\r\n:4\r\n$5\r\nother\r\n:4\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(p.cmd("PUBSUB NUMPAT"), ":1\r\n");
    let chans = p.cmd("PUBSUB CHANNELS");
    assert!(
        chans.starts_with("*2\r\n") && chans.contains("news") && chans.contains("other"),
        "{chans}"
    );
    assert_eq!(p.cmd("PUBSUB CHANNELS o*"), "*1\r\n$5\r\nother\r\n");

    // A RESP2 subscriber may only (un)subscribe, PING, QUIT or RESET.
    let c = &mut subs[0];
    assert_eq!(c.cmd("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert!(c.cmd("GET k").starts_with("-ERR Can't execute 'get'"));
    assert_eq!(
        c.cmd("UNSUBSCRIBE news"),
        "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(p.cmd("PUBLISH news x"), ":4\r\n");
    assert_eq!(
        c.cmd("UNSUBSCRIBE"),
        "*3\r\n$11\r\nunsubscribe\r\n$5\r\nother\r\n:0\r\n"
    );
    assert_eq!(c.cmd("GET k"), "$-1\r\n", "out of subscribed mode");
    // Closing a subscriber removes its subscriptions.
    drop(subs);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(p.cmd("PUBSUB NUMSUB news"), "*2\r\n$4\r\nnews\r\n:0\r\n");
    assert_eq!(
        p.cmd("PUBLISH news y"),
        ":1\r\n",
        "the pattern subscriber remains"
    );
}

#[test]
fn resp3_subscribers_get_pushes_and_may_run_commands() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.client();
    assert!(c.cmd("HELLO 3").starts_with('%'));
    assert_eq!(
        c.cmd("SUBSCRIBE ch"),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(c.cmd("SET k v"), "+OK\r\n");
    assert_eq!(c.cmd("PING"), "+PONG\r\n");
    let mut p = s.client();
    assert_eq!(p.cmd("PUBLISH ch hi"), ":1\r\n");
    assert_eq!(
        c.read_reply(),
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
    assert_eq!(c.cmd("RESET"), "+RESET\r\n");
    assert_eq!(p.cmd("PUBLISH ch hi"), ":0\r\n");
}

/// A subscriber that stops reading is cut off at its output-buffer limit;
/// everyone else goes on, data intact.
#[test]
fn slow_subscriber_is_disconnected_at_its_limit() {
    let s = Server::start(&["--threads", "2"]);
    let mut admin = s.client();
    assert_eq!(
        admin.cmd_args(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"pubsub 256kb 0 0"
        ]),
        "+OK\r\n"
    );
    assert_eq!(admin.cmd("SET keep me"), "+OK\r\n");
    let mut slow = s.client();
    assert!(slow.cmd("SUBSCRIBE firehose").contains("subscribe"));
    let payload = "x".repeat(16 * 1024);
    let mut p = s.client();
    let mut delivered_to_slow = 0;
    for _ in 0..2000 {
        // The subscriber never reads: its socket buffers fill, then its
        // mailbox, until the limit closes it.
        let r = p.cmd_args(&[b"PUBLISH", b"firehose", payload.as_bytes()]);
        if r == ":1\r\n" {
            delivered_to_slow += 1;
        } else {
            assert_eq!(r, ":0\r\n");
            break;
        }
    }
    assert!(
        delivered_to_slow < 2000,
        "the slow subscriber was never cut off"
    );
    // Its connection ends: drain what was sent, then EOF.
    slow.w
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = Vec::new();
    let _ = slow.r.read_to_end(&mut sink);
    assert_eq!(admin.cmd("GET keep"), "$2\r\nme\r\n");
    assert_eq!(
        admin.cmd("PUBSUB NUMSUB firehose"),
        "*2\r\n$8\r\nfirehose\r\n:0\r\n"
    );
}

/// Over the soft limit for longer than its seconds, a subscriber is cut off
/// even though it never reaches the hard limit.
#[test]
fn soft_limit_cuts_off_a_subscriber_that_stays_behind() {
    let s = Server::start(&[]);
    let mut admin = s.client();
    assert_eq!(
        admin.cmd_args(&[
            b"CONFIG",
            b"SET",
            b"client-output-buffer-limit",
            b"pubsub 0 64kb 1"
        ]),
        "+OK\r\n"
    );
    let mut slow = s.client();
    assert!(slow.cmd("SUBSCRIBE drip").contains("subscribe"));
    let payload = "y".repeat(64 * 1024);
    let mut p = s.client();
    let start = std::time::Instant::now();
    let mut cut = false;
    // Bounded: at most 10 s of publishing, one message every 10 ms (more
    // than the sockets' buffers hold, so the mailbox fills).
    while start.elapsed() < Duration::from_secs(10) {
        if p.cmd_args(&[b"PUBLISH", b"drip", payload.as_bytes()]) == ":0\r\n" {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        cut,
        "the subscriber over its soft limit was never disconnected"
    );
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "not before the soft seconds"
    );
    assert_eq!(admin.cmd("PING"), "+PONG\r\n");
}
