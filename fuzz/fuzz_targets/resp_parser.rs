//! Fuzz target: the RESP request parser, fed arbitrary bytes in arbitrary
//! pieces, as a client's socket reads would deliver them.
//!
//! Checked beyond "no panic, no hang, no unbounded allocation":
//! - parsing the same bytes in one piece or split at any point gives the
//!   same commands and the same error;
//! - every command parsed, re-encoded as a multibulk request, parses back
//!   to itself;
//! - the parser never reports success for more bytes than it was given.
#![no_main]

use bytes::BytesMut;
use cachecat_io::{Limits, RequestParser};
use libfuzzer_sys::fuzz_target;

/// Parse everything in `pieces`, fed one after another; the commands and
/// the error that ended the stream, if any.
fn run(pieces: &[&[u8]], limits: &Limits) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match p.parse(&mut buf, limits, true) {
                Ok(Some(argv)) => cmds.push(argv),
                Ok(None) => break,
                Err(e) => return (cmds, Some(format!("{e:?}"))),
            }
        }
    }
    (cmds, None)
}

fn encode(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", argv.len()).into_bytes();
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the split point and a small bulk limit, so the
    // limit paths are reached with small inputs too.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        proto_max_bulk_len: if ctl & 1 == 1 { 16 } else { 512 * 1024 * 1024 },
    };
    let whole = run(&[rest], &limits);
    let cut = (ctl as usize * rest.len()) / 256;
    let split = run(&[&rest[..cut], &rest[cut..]], &limits);
    assert_eq!(whole, split, "splitting the input at {cut} changed the result");
    let total: usize = whole.0.iter().flatten().map(|a| a.len()).sum();
    assert!(total <= rest.len(), "more argument bytes than input bytes");
    for argv in &whole.0 {
        if argv.is_empty() {
            continue;
        }
        let again = run(&[&encode(argv)], &Limits { proto_max_bulk_len: u64::MAX });
        assert_eq!(again, (vec![argv.clone()], None), "re-encoding changed {argv:?}");
    }
});
