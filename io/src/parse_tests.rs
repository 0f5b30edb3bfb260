//! Tests of the module beside this file.
use super::*;

fn auth() -> Limits {
    Limits::default()
}

/// Parses every complete command in `input` (all given at once).
fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(input);
    let mut out = Vec::new();
    while let Some(argv) = parser.parse(&mut buf, &auth(), true)? {
        out.push(argv.iter().map(|a| a.to_vec()).collect());
    }
    Ok(out)
}

fn one(input: &[u8]) -> Vec<Vec<u8>> {
    let mut all = parse_all(input).expect("parse");
    assert_eq!(all.len(), 1, "{all:?}");
    all.pop().unwrap()
}

fn err_of(input: &[u8], authenticated: bool, limits: &Limits) -> String {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(input);
    loop {
        match parser.parse(&mut buf, limits, authenticated) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(input)),
            Err(e) => return e.to_string(),
        }
    }
}

fn err(input: &[u8]) -> String {
    err_of(input, true, &auth())
}

fn pending(input: &[u8]) -> bool {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(input);
    matches!(parser.parse(&mut buf, &auth(), true), Ok(None))
}

fn v(items: &[&[u8]]) -> Vec<Vec<u8>> {
    items.iter().map(|i| i.to_vec()).collect()
}

#[test]
fn simple_multibulk() {
    assert_eq!(
        one(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"),
        v(&[b"SET", b"key", b"value"])
    );
    assert_eq!(one(b"*1\r\n$0\r\n\r\n"), v(&[b""]));
}

#[test]
fn consumes_exactly_one_command() {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPI"[..]);
    let argv = parser.parse(&mut buf, &auth(), true).unwrap().unwrap();
    assert_eq!(argv, vec![b"PING".to_vec()]);
    assert_eq!(&buf[..], b"*1\r\n$4\r\nPI");
    assert!(parser.parse(&mut buf, &auth(), true).unwrap().is_none());
    assert!(parser.in_progress());
    buf.extend_from_slice(b"NG\r\n");
    let argv = parser.parse(&mut buf, &auth(), true).unwrap().unwrap();
    assert_eq!(argv, vec![b"PING".to_vec()]);
    assert!(buf.is_empty());
    assert!(!parser.in_progress());
}

#[test]
fn pipeline() {
    let input = b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO hi\r\n*0\r\n*-1\r\n\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    assert_eq!(
        parse_all(input).unwrap(),
        vec![
            v(&[b"PING"]),
            v(&[b"GET", b"k"]),
            v(&[b"ECHO", b"hi"]),
            v(&[b"SET", b"k", b"v"]),
        ]
    );
}

#[test]
fn binary_safe_values() {
    let input = b"*2\r\n$4\r\n\r\n\r\n\r\n$5\r\na\0\r\nb\r\n";
    assert_eq!(one(input), v(&[b"\r\n\r\n", b"a\0\r\nb"]));
}

#[test]
fn every_split_point() {
    let input: &[u8] = b"*3\r\n$3\r\nSET\r\n$4\r\nk\r\ny\r\n$10\r\n0123456789\r\n\
        PING\r\n*0\r\n\r\nset \"a b\" 'c'\n*-1\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
    let expected = parse_all(input).unwrap();
    assert_eq!(expected.len(), 4);
    for cut in 0..=input.len() {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in [&input[..cut], &input[cut..]] {
            buf.extend_from_slice(piece);
            while let Some(argv) = parser.parse(&mut buf, &auth(), true).unwrap() {
                got.push(argv.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
            }
        }
        assert_eq!(got, expected, "cut at {cut}");
        assert!(buf.is_empty());
    }
    // And one byte at a time.
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &b in input {
        buf.extend_from_slice(&[b]);
        while let Some(argv) = parser.parse(&mut buf, &auth(), true).unwrap() {
            got.push(argv.iter().map(|a| a.to_vec()).collect::<Vec<_>>());
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn large_bulk_in_small_reads() {
    let value: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut input = Vec::new();
    input.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048576\r\n");
    let header_len = input.len();
    input.extend_from_slice(&value);
    input.extend_from_slice(b"\r\n*1\r\n$4\r\nPING\r\n");
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut chunks = 0;
    for chunk in input.chunks(4096) {
        chunks += 1;
        buf.extend_from_slice(chunk);
        while let Some(argv) = parser.parse(&mut buf, &auth(), true).unwrap() {
            got.push(argv);
        }
        if got.is_empty() {
            // The header lines are consumed; only the value's bytes wait,
            // and the parser knows how many are missing.
            let fed = (chunks * 4096).min(input.len());
            assert_eq!(buf.len(), fed - header_len);
            assert_eq!(
                parser.bulk_bytes_missing(buf.len()),
                value.len() + 2 - buf.len()
            );
        }
    }
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].len(), 3);
    assert_eq!(&got[0][1][..], b"big");
    assert_eq!(&got[0][2][..], &value[..]);
    assert_eq!(got[1], vec![Bytes::from_static(b"PING")]);
    assert_eq!(parser.bulk_bytes_missing(0), 0);
}

#[test]
fn error_reply_bytes() {
    let mut out = Vec::new();
    ProtocolError::new("invalid bulk length").encode(&mut out);
    assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
}

#[test]
fn bulk_bytes_missing_hint() {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$100\r\nabc"[..]);
    assert!(parser.parse(&mut buf, &auth(), true).unwrap().is_none());
    assert_eq!(buf.len(), 3);
    assert_eq!(parser.bulk_bytes_missing(buf.len()), 99);
}

#[test]
fn empty_multibulks_are_skipped() {
    assert_eq!(parse_all(b"*0\r\n").unwrap(), Vec::<Vec<Vec<u8>>>::new());
    assert_eq!(
        parse_all(b"*-1\r\n*-10\r\n*0\r\nPING\r\n").unwrap(),
        vec![v(&[b"PING"])]
    );
}

#[test]
fn multibulk_count_errors() {
    const INVALID: &str = "ERR Protocol error: invalid multibulk length";
    assert_eq!(err(b"*abc\r\n"), INVALID);
    assert_eq!(err(b"*\r\n"), INVALID);
    assert_eq!(err(b"*+1\r\n"), INVALID);
    assert_eq!(err(b"*01\r\n"), INVALID);
    assert_eq!(err(b"*-0\r\n"), INVALID);
    assert_eq!(err(b"*1 \r\n"), INVALID);
    assert_eq!(err(b"*2147483648\r\n"), INVALID);
    assert_eq!(err(b"*3000000000\r\n"), INVALID);
    assert_eq!(err(b"*99999999999999999999\r\n"), INVALID);
    // Up to INT_MAX is accepted (Redis 7.0 dropped the old 1M cap).
    assert!(pending(b"*2147483647\r\n"));
    assert!(pending(b"*20000000\r\n"));
    // The line is only judged once complete.
    assert!(pending(b"*abc"));
    assert!(pending(b"*abc\r"));
}

#[test]
fn too_big_count_strings() {
    let mut line = vec![b'*'];
    line.resize(INLINE_MAX_SIZE, b'1');
    assert!(pending(&line));
    line.push(b'1');
    assert_eq!(err(&line), "ERR Protocol error: too big mbulk count string");

    let mut line = b"*1\r\n$".to_vec();
    line.resize(4 + INLINE_MAX_SIZE, b'1');
    assert!(pending(&line));
    line.push(b'1');
    assert_eq!(err(&line), "ERR Protocol error: too big bulk count string");
}

#[test]
fn too_big_line_found_incrementally() {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut result = Ok(None);
    for _ in 0..100 {
        buf.extend_from_slice(&[b'a'; 1000]);
        result = parser.parse(&mut buf, &auth(), true);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(
        result.unwrap_err().to_string(),
        "ERR Protocol error: too big inline request"
    );
    assert_eq!(buf.len(), 66000);
}

#[test]
fn expected_dollar() {
    assert_eq!(
        err(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"),
        "ERR Protocol error: expected '$', got 'f'"
    );
    assert_eq!(
        err(b"*1\r\n:1\r\n"),
        "ERR Protocol error: expected '$', got ':'"
    );
    assert_eq!(
        err(b"*1\r\n\xff\r\n"),
        "ERR Protocol error: expected '$', got '\u{ff}'"
    );
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n\xff\r\n"[..]);
    let mut out = Vec::new();
    parser
        .parse(&mut buf, &auth(), true)
        .unwrap_err()
        .encode(&mut out);
    assert_eq!(out, b"-ERR Protocol error: expected '$', got '\xff'\r\n");
    // CR and LF are shown as spaces.
    assert_eq!(
        err(b"*1\r\n\r\n"),
        "ERR Protocol error: expected '$', got ' '"
    );
    assert_eq!(
        err(b"*1\r\n\nx\r\n"),
        "ERR Protocol error: expected '$', got ' '"
    );
    // Judged only once the line is complete.
    assert!(pending(b"*1\r\nfoo"));
    assert!(pending(b"*1\r\nfoo\r"));
}

#[test]
fn bulk_length_errors() {
    const INVALID: &str = "ERR Protocol error: invalid bulk length";
    assert_eq!(err(b"*1\r\n$-1\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$abc\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$01\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$+1\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$9223372036854775808\r\n"), INVALID);
    assert_eq!(err(b"*1\r\n$536870913\r\n"), INVALID);
    assert!(pending(b"*1\r\n$536870912\r\n"));
    let small = Limits {
        proto_max_bulk_len: 10,
    };
    assert_eq!(err_of(b"*1\r\n$11\r\n", true, &small), INVALID);
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(&b"*1\r\n$10\r\n0123456789\r\n"[..]);
    let argv = parser.parse(&mut buf, &small, true).unwrap().unwrap();
    assert_eq!(&argv[0][..], b"0123456789");
}

#[test]
fn unauthenticated_limits() {
    let limits = auth();
    assert_eq!(
        err_of(b"*11\r\n", false, &limits),
        "ERR Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(
        err_of(b"*100\r\n", false, &limits),
        "ERR Protocol error: unauthenticated multibulk length"
    );
    assert_eq!(
        err_of(b"*1\r\n$16385\r\n", false, &limits),
        "ERR Protocol error: unauthenticated bulk length"
    );
    assert_eq!(
        err_of(b"*1\r\n$100000000\r\n", false, &limits),
        "ERR Protocol error: unauthenticated bulk length"
    );
    // Validity is checked first.
    assert_eq!(
        err_of(b"*3000000000\r\n", false, &limits),
        "ERR Protocol error: invalid multibulk length"
    );
    assert_eq!(
        err_of(b"*1\r\n$600000000\r\n", false, &limits),
        "ERR Protocol error: invalid bulk length"
    );
    // At the limits is fine.
    let mut parser = RequestParser::new();
    let mut input = b"*10\r\n".to_vec();
    for _ in 0..9 {
        input.extend_from_slice(b"$1\r\na\r\n");
    }
    input.extend_from_slice(b"$16384\r\n");
    input.extend_from_slice(&[b'z'; 16384]);
    input.extend_from_slice(b"\r\n");
    let mut buf = BytesMut::from(&input[..]);
    let argv = parser.parse(&mut buf, &limits, false).unwrap().unwrap();
    assert_eq!(argv.len(), 10);
    assert_eq!(argv[9].len(), 16384);
    // The authenticated flag applies per call.
    let mut buf = BytesMut::from(&b"*11\r\n"[..]);
    assert!(parser.parse(&mut buf, &limits, true).unwrap().is_none());
}

#[test]
fn crlf_after_header_and_data_is_only_skipped() {
    // Redis checks only that two bytes follow the '\r' and the data.
    assert_eq!(one(b"*1\rx$4\r\nPING\r\n"), v(&[b"PING"]));
    assert_eq!(one(b"*1\r\n$4\rxPINGxy"), v(&[b"PING"]));
    assert!(pending(b"*1\r\n$4\r\nPING\r"));
}

#[test]
fn nul_in_a_line_blocks_it_like_strchr() {
    // Redis searches lines with strchr, which stops at a NUL byte.
    assert!(pending(b"PI\0NG\r\n"));
    assert!(pending(b"*1\0\r\n$4\r\nPING\r\n"));
    assert!(pending(b"*1\r\n$4\0\r\nPING\r\n"));
    let mut line = b"*1\0\r\n".to_vec();
    line.resize(INLINE_MAX_SIZE + 1, b'x');
    assert_eq!(err(&line), "ERR Protocol error: too big mbulk count string");
    let mut line = b"a\0\n".to_vec();
    line.resize(INLINE_MAX_SIZE + 1, b'x');
    assert_eq!(err(&line), "ERR Protocol error: too big inline request");
}

#[test]
fn inline_commands() {
    assert_eq!(one(b"PING\r\n"), v(&[b"PING"]));
    assert_eq!(one(b"PING\n"), v(&[b"PING"]));
    assert_eq!(one(b"  set  a\tb  \r\n"), v(&[b"set", b"a", b"b"]));
    assert_eq!(one(b"a\rb\r\n"), v(&[b"a", b"b"]));
    // \v and \f separate arguments only when leading.
    assert_eq!(one(b"\x0ba\x0bb\x0c\n"), v(&[b"a\x0bb\x0c"]));
    assert!(pending(b"PING"));
    assert!(pending(b"PING\r"));
    assert_eq!(
        parse_all(b"\r\n\n   \r\n\t\n").unwrap(),
        Vec::<Vec<Vec<u8>>>::new()
    );
    assert_eq!(parse_all(b"\r\nPING\r\n").unwrap(), vec![v(&[b"PING"])]);
    // A line of exactly 64 KiB plus its newline is fine when complete.
    let mut line = vec![b'a'; INLINE_MAX_SIZE + 10];
    line.push(b'\n');
    assert_eq!(one(&line)[0].len(), INLINE_MAX_SIZE + 10);
    let line = vec![b'a'; INLINE_MAX_SIZE + 1];
    assert_eq!(err(&line), "ERR Protocol error: too big inline request");
    assert!(pending(&line[..INLINE_MAX_SIZE]));
}

#[test]
fn inline_quoting() {
    assert_eq!(one(b"set \"a b\" 'c d'\r\n"), v(&[b"set", b"a b", b"c d"]));
    assert_eq!(
        one(b"x \"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\\xZZ\"\n"),
        v(&[b"x", b"AJ\n\r\t\x08\x07\\\"qxZZ"])
    );
    assert_eq!(one(b"'it\\'s' 'a\\nb'\n"), v(&[b"it's", b"a\\nb"]));
    assert_eq!(one(b"foo\"bar\" x'y z'\n"), v(&[b"foobar", b"xy z"]));
    assert_eq!(one(b"\"\" ''\n"), v(&[b"", b""]));
    assert_eq!(one(b"a\\nb \"x\"\t'y'\x0b\n"), v(&[b"a\\nb", b"x", b"y"]));
    assert_eq!(one(b"\"a\rb\"\r\n"), v(&[b"a\rb"]));
    const UNBALANCED: &str = "ERR Protocol error: unbalanced quotes in request";
    assert_eq!(err(b"set \"a\r\n"), UNBALANCED);
    assert_eq!(err(b"set 'a\n"), UNBALANCED);
    assert_eq!(err(b"set \"a\"b\n"), UNBALANCED);
    assert_eq!(err(b"set 'a'b\n"), UNBALANCED);
    assert_eq!(err(b"set \"a\\\"\n"), UNBALANCED);
    assert_eq!(err(b"\"abc\\\n"), UNBALANCED);
}

#[test]
fn split_args_zero_copy() {
    let line = Bytes::from_static(b"get key");
    let args = split_args(&line).unwrap();
    assert_eq!(
        args,
        vec![Bytes::from_static(b"get"), Bytes::from_static(b"key")]
    );
    assert_eq!(args[1].as_ptr(), line[4..].as_ptr());
    assert_eq!(
        split_args(&Bytes::from_static(b"a\0b")).unwrap(),
        vec![Bytes::from_static(b"a")]
    );
    assert_eq!(split_args(&Bytes::new()).unwrap(), Vec::<Bytes>::new());
}

#[test]
fn string2ll_rules() {
    assert_eq!(string2ll(b"0"), Some(0));
    assert_eq!(string2ll(b"-1"), Some(-1));
    assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(string2ll(b"9223372036854775808"), None);
    assert_eq!(string2ll(b"-9223372036854775809"), None);
    assert_eq!(string2ll(b"18446744073709551616"), None);
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"01",
        b"+1",
        b" 1",
        b"1 ",
        b"1a",
        b"1.0",
    ] {
        assert_eq!(string2ll(bad), None, "{bad:?}");
    }
}

/// Parse `pieces` fed one after another: the commands and the error, if any.
fn parse_pieces(pieces: &[&[u8]], limits: &Limits) -> (Vec<Vec<Vec<u8>>>, Option<String>) {
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

/// The fuzz target's property (fuzz/fuzz_targets/resp_parser.rs) on
/// generated inputs, so CI keeps checking it: splitting a stream anywhere
/// never changes what it parses to.
#[test]
fn splitting_input_never_changes_the_result() {
    const TOKENS: &[&[u8]] = &[
        b"*",
        b"$",
        b"\r\n",
        b"\n",
        b"\r",
        b"1",
        b"2",
        b"3",
        b"-1",
        b"0",
        b"10",
        b"SET",
        b"GET",
        b" ",
        b"\"",
        b"'",
        b"\\x41",
        b"\\",
        b"abc",
        b"\x00",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"PING\r\n",
        b"$99999999999\r\n",
        b"*1048577\r\n",
    ];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..3000 {
        let mut input = Vec::new();
        for _ in 0..(next() % 24) {
            input.extend_from_slice(TOKENS[(next() % TOKENS.len() as u64) as usize]);
        }
        let limits = Limits {
            proto_max_bulk_len: if round % 2 == 0 { 16 } else { 512 << 20 },
        };
        let whole = parse_pieces(&[&input], &limits);
        for cut in 0..=input.len() {
            let split = parse_pieces(&[&input[..cut], &input[cut..]], &limits);
            assert_eq!(whole, split, "input {input:?} split at {cut}");
        }
    }
}
