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
#[path = "parse_tests.rs"]
mod tests;
