//! Incremental parser of client requests.
//!
//! Accepts what Redis 7.0 accepts (`processMultibulkBuffer` and
//! `processInlineBuffer` in its `networking.c`): RESP multibulk commands
//! (`*<count>\r\n` followed by `$<len>\r\n<data>\r\n` arguments) and inline
//! commands (one line split with the rules of Redis's `sdssplitargs`).
//! Protocol errors carry the exact text Redis replies with.
//!
//! The parser keeps the state of a command in progress: arguments already
//! received are taken out of the buffer as zero-copy [`Bytes`], and the
//! length of a bulk whose data is still arriving is remembered, so a large
//! argument arriving in many reads is never scanned again.

use bytes::{Buf, Bytes, BytesMut};

/// Longest line (inline command, multibulk count or bulk length) Redis
/// buffers without finding its terminator (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Largest multibulk count Redis 7.0 accepts (`INT_MAX`).
pub const MAX_MULTIBULK_LEN: i64 = i32::MAX as i64;

/// Largest multibulk count accepted from a client that must authenticate
/// and has not yet done so.
pub const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;

/// Largest bulk length accepted from a client that must authenticate and has
/// not yet done so.
pub const UNAUTH_MAX_BULK_LEN: i64 = 16 * 1024;

/// Default of `proto-max-bulk-len`: 512 MiB.
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// Configurable limits applied while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk argument accepted (`proto-max-bulk-len`).
    pub proto_max_bulk_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            proto_max_bulk_len: DEFAULT_PROTO_MAX_BULK_LEN,
        }
    }
}

/// A malformed request. The server replies `-<Display text>\r\n` and closes
/// the connection.
///
/// The text is Redis's full error line without the leading `-`, error code
/// included: for example `ERR Protocol error: invalid bulk length`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// Redis's error text for the condition.
    #[error("{0}")]
    Protocol(String),
}

impl ProtocolError {
    fn new(condition: &str) -> Self {
        let mut text = String::with_capacity(20 + condition.len());
        text.push_str("ERR Protocol error: ");
        text.push_str(condition);
        ProtocolError::Protocol(text)
    }

    /// The error text (what `Display` prints).
    pub fn text(&self) -> &str {
        match self {
            ProtocolError::Protocol(text) => text,
        }
    }

    /// Appends the reply Redis sends for this error, `-<text>\r\n`, byte
    /// for byte. Every character of the text is below U+0100 and is written
    /// as that one byte, so a non-ASCII byte echoed in
    /// `expected '$', got 'X'` goes out raw, as from Redis (`Display` shows
    /// it as the Unicode character of the same number).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let text = self.text();
        out.reserve(text.len() + 3);
        out.push(b'-');
        out.extend(text.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
        out.extend_from_slice(b"\r\n");
    }
}

/// Outcome of reading a multibulk count line.
enum Header {
    /// The line is not complete yet.
    Pending,
    /// A count of zero or less: nothing to run.
    Empty,
    /// The number of arguments that follow.
    Args(usize),
}

/// Incremental request parser; one per connection.
///
/// The same buffer must be passed to every call, with newly read bytes
/// appended at its end: bytes of a command in progress may already have been
/// taken from its front.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the current multibulk still to read; 0 between commands.
    remaining: usize,
    /// Length of the bulk whose header has been read and whose data has not
    /// fully arrived.
    bulk_len: Option<usize>,
    /// Arguments of the current multibulk read so far.
    argv: Vec<Vec<u8>>,
    /// How many bytes at the front of the buffer were already searched for
    /// the terminator of the line that starts there.
    scanned: usize,
}

impl RequestParser {
    /// A parser at the start of a connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets any command in progress.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// Whether part of a command has been read (and taken from the buffer)
    /// but the command is not complete.
    pub fn in_progress(&self) -> bool {
        self.remaining > 0
    }

    /// While the data of a bulk argument is arriving: how many more bytes
    /// (its trailing CRLF included) are needed beyond the `buffered` ones to
    /// complete it. 0 when no bulk data is awaited or it is all buffered.
    /// Lets the caller reserve buffer space for a large argument at once.
    pub fn bulk_bytes_missing(&self, buffered: usize) -> usize {
        match self.bulk_len {
            Some(len) => len.saturating_add(2).saturating_sub(buffered),
            None => 0,
        }
    }

    /// Try to take one complete command from the front of `buf` (consuming
    /// its bytes).
    ///
    /// `Ok(Some(argv))` is a command (argv is never empty); `Ok(None)` means
    /// more bytes are needed. Empty inline lines and `*0` / negative-count
    /// multibulks are skipped. `authenticated == false` applies Redis's
    /// limits for clients that must still authenticate (10 arguments of
    /// 16 KiB at most); pass `true` when no password is required.
    ///
    /// `Err` is a protocol error: reply with its text and close the
    /// connection; the parser and buffer are then in an unspecified state.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        loop {
            if self.remaining == 0 {
                let Some(&first) = buf.first() else {
                    return Ok(None);
                };
                if first != b'*' {
                    match self.inline(buf)? {
                        None => return Ok(None),
                        Some(argv) if argv.is_empty() => continue,
                        Some(argv) => return Ok(Some(argv)),
                    }
                }
                match self.multibulk_header(buf, authenticated)? {
                    Header::Pending => return Ok(None),
                    Header::Empty => continue,
                    Header::Args(count) => {
                        self.remaining = count;
                        self.argv = Vec::with_capacity(count.min(1024));
                    }
                }
            }

            while self.remaining > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => match self.bulk_header(buf, limits, authenticated)? {
                        Some(len) => {
                            self.bulk_len = Some(len);
                            len
                        }
                        None => return Ok(None),
                    },
                };
                // Like Redis, the two bytes after the data are skipped
                // without checking that they are CRLF.
                if buf.len() < len.saturating_add(2) {
                    return Ok(None);
                }
                // Copied out (one allocation, as Redis makes one string per
                // argument): commands take ownership of their arguments, and
                // nothing keeps the read buffer alive.
                let arg = buf[..len].to_vec();
                buf.advance(len + 2);
                self.argv.push(arg);
                self.bulk_len = None;
                self.remaining -= 1;
            }
            return Ok(Some(std::mem::take(&mut self.argv)));
        }
    }

    /// Searches the line at the front of `buf` for `term` the way C's
    /// `strchr` searches Redis's NUL-terminated query buffer: a NUL byte ends
    /// the search, so a line containing one is never complete. Resumes where
    /// the previous search of the same line stopped.
    fn find_terminator(&mut self, buf: &[u8], term: u8) -> Option<usize> {
        let from = self.scanned.min(buf.len());
        match buf[from..].iter().position(|&b| b == term || b == 0) {
            Some(offset) => {
                let at = from + offset;
                self.scanned = at;
                (buf[at] == term).then_some(at)
            }
            None => {
                self.scanned = buf.len();
                None
            }
        }
    }

    /// Takes `n` bytes of header line from the front of `buf`.
    fn consume_line(&mut self, buf: &mut BytesMut, n: usize) {
        buf.advance(n);
        self.scanned = 0;
    }

    /// Reads the `*<count>\r\n` line at the front of `buf`.
    fn multibulk_header(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Header, ProtocolError> {
        let Some(cr) = self.find_terminator(buf, b'\r') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big mbulk count string"));
            }
            return Ok(Header::Pending);
        };
        if cr + 2 > buf.len() {
            return Ok(Header::Pending);
        }
        let count = match string2ll(&buf[1..cr]) {
            Some(count) if count <= MAX_MULTIBULK_LEN => count,
            _ => return Err(ProtocolError::new("invalid multibulk length")),
        };
        if count > UNAUTH_MAX_MULTIBULK_LEN && !authenticated {
            return Err(ProtocolError::new("unauthenticated multibulk length"));
        }
        self.consume_line(buf, cr + 2);
        if count <= 0 {
            Ok(Header::Empty)
        } else {
            // At most i32::MAX, which fits a usize.
            Ok(Header::Args(count as usize))
        }
    }

    /// Reads the `$<len>\r\n` line at the front of `buf`; `None` if it is
    /// not complete yet.
    fn bulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        authenticated: bool,
    ) -> Result<Option<usize>, ProtocolError> {
        let Some(cr) = self.find_terminator(buf, b'\r') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(None);
        };
        if cr + 2 > buf.len() {
            return Ok(None);
        }
        if buf[0] != b'$' {
            return Err(expected_dollar(buf[0]));
        }
        let len = match string2ll(&buf[1..cr]) {
            Some(len) if len >= 0 && len as u64 <= limits.proto_max_bulk_len => len,
            _ => return Err(ProtocolError::new("invalid bulk length")),
        };
        if len > UNAUTH_MAX_BULK_LEN && !authenticated {
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let Ok(len) = usize::try_from(len) else {
            return Err(ProtocolError::new("invalid bulk length"));
        };
        self.consume_line(buf, cr + 2);
        Ok(Some(len))
    }

    /// Reads an inline command line at the front of `buf`. `Some(vec![])`
    /// for an empty line.
    fn inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let Some(newline) = self.find_terminator(buf, b'\n') else {
            if buf.len() > INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(None);
        };
        let end = if newline > 0 && buf[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let mut line = buf.split_to(newline + 1).freeze();
        self.scanned = 0;
        line.truncate(end);
        match split_args(&line) {
            Some(argv) => Ok(Some(argv.iter().map(|a| a.to_vec()).collect())),
            None => Err(ProtocolError::new("unbalanced quotes in request")),
        }
    }
}

/// The error for a bulk header not starting with `$`. Redis prints the byte
/// with `%c` and then turns CR and LF into spaces.
fn expected_dollar(got: u8) -> ProtocolError {
    let shown = match got {
        b'\r' | b'\n' => ' ',
        // Bytes above 0x7f cannot be carried raw in a String: they become
        // the Unicode character of the same number.
        other => char::from(other),
    };
    ProtocolError::new(&format!("expected '$', got '{shown}'"))
}

/// Parses a decimal integer with the rules of Redis's `string2ll`: an
/// optional `-`, no `+`, no leading zeros (and so no `-0`), no spaces, at
/// most 20 characters, within `i64`.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        // value == 2^63 wraps to i64::MIN, which is the right answer.
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a line into arguments with the rules of Redis's `sdssplitargs`.
///
/// Arguments are separated by whitespace. Inside double quotes, `\n` `\r`
/// `\t` `\b` `\a` and `\xHH` are decoded and any other escaped character
/// stands for itself; inside single quotes only `\'` is an escape. A quote
/// may open in the middle of an argument, but a closing quote must be
/// followed by whitespace or the end of the line. Returns `None` for
/// unbalanced quotes or a closing quote followed by something else. As the
/// line is a C string to Redis, a NUL byte ends it.
///
/// Unquoted arguments are zero-copy slices of `line`.
pub fn split_args(line: &Bytes) -> Option<Vec<Bytes>> {
    let s: &[u8] = line;
    // The byte at `i`, 0 past the end, as when reading a C string.
    let at = |i: usize| -> u8 { s.get(i).copied().unwrap_or(0) };
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_c_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(args);
        }
        let start = p;
        // Decoded text, once the argument has a quoted part.
        let mut text: Option<Vec<u8>> = None;
        let mut in_double = false;
        let mut in_single = false;
        loop {
            let c = at(p);
            let mut done = false;
            if in_double {
                let out = text.as_mut()?;
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3))) {
                        out.push(hi * 16 + lo);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    out.push(c);
                }
            } else if in_single {
                let out = text.as_mut()?;
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_c_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        args.push(line.slice(start..p));
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' | b'\'' => {
                        in_double = c == b'"';
                        in_single = c == b'\'';
                        text = Some(s[start..p].to_vec());
                    }
                    _ => {}
                }
            }
            if at(p) != 0 {
                p += 1;
            }
            if done {
                args.push(Bytes::from(text.take().unwrap_or_default()));
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
}
