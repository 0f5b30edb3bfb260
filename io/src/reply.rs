//! The RESP value model and its encoder.
//!
//! [`Reply`] is what a command answers; [`encode`] writes it in RESP2 or
//! RESP3 the way Redis 7.0 does, including the RESP2 downgrades of RESP3-only
//! types (maps become flat arrays, doubles become bulk strings, booleans
//! become integers). The `encode_*` helpers write single values straight
//! into the output buffer for hot paths that do not build a `Reply`.
//! Encoding never allocates apart from growing the output `Vec`.

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::Bytes;

/// The protocol version a connection speaks (`HELLO 2` / `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Resp2,
    Resp3,
}

/// A reply value.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// `+text`
    Simple(Cow<'static, str>),
    /// `-text`; the text includes the error code, e.g. `ERR syntax error`.
    Error(Cow<'static, str>),
    /// `:n`
    Int(i64),
    /// `$len` followed by the data.
    Bulk(Bytes),
    /// RESP2 `$-1`, RESP3 `_`.
    Nil,
    /// RESP2 `*-1`, RESP3 `_`.
    NilArray,
    /// `*n` followed by the items.
    Array(Vec<Reply>),
    /// RESP3 `%n`; RESP2 a flat array of `2n` items.
    Map(Vec<(Reply, Reply)>),
    /// RESP3 an array of 2-element arrays (HRANDFIELD ... WITHVALUES,
    /// ZRANGE ... WITHSCORES); RESP2 a flat array of `2n` items.
    Pairs(Vec<(Reply, Reply)>),
    /// RESP3 `~n`; RESP2 `*n`.
    Set(Vec<Reply>),
    /// RESP3 `,<%.17g>`; RESP2 a bulk string of the same text.
    Double(f64),
    /// RESP3 `#t` / `#f`; RESP2 `:1` / `:0`.
    Bool(bool),
    /// RESP3 `=len` with `fmt:data` (fmt is three characters, e.g. `txt`);
    /// RESP2 a bulk string of the data.
    Verbatim(&'static str, Bytes),
    /// RESP3 `>n`; RESP2 `*n`.
    Push(Vec<Reply>),
    /// Several replies one after another for one command (SUBSCRIBE a b
    /// confirms each channel with its own message).
    Seq(Vec<Reply>),
}

impl Reply {
    /// A bulk string.
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    /// An error from static text (error code included).
    pub fn err(text: &'static str) -> Reply {
        Reply::Error(Cow::Borrowed(text))
    }

    /// A simple string from static text.
    pub fn simple(text: &'static str) -> Reply {
        Reply::Simple(Cow::Borrowed(text))
    }

    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Append the encoding of `r` for protocol `p` to `out`.
pub fn encode(r: &Reply, p: Proto, out: &mut Vec<u8>) {
    match r {
        Reply::Ok => encode_ok(out),
        Reply::Simple(text) => encode_simple(text, out),
        Reply::Error(text) => encode_error(text, out),
        Reply::Int(n) => encode_int(*n, out),
        Reply::Bulk(data) => encode_bulk(data, out),
        Reply::Nil => encode_nil(p, out),
        Reply::NilArray => encode_nil_array(p, out),
        Reply::Array(items) => {
            encode_array_len(items.len(), out);
            for item in items {
                encode(item, p, out);
            }
        }
        Reply::Map(pairs) => {
            encode_map_len(pairs.len(), p, out);
            for (key, value) in pairs {
                encode(key, p, out);
                encode(value, p, out);
            }
        }
        Reply::Pairs(pairs) => {
            match p {
                Proto::Resp2 => encode_array_len(pairs.len() * 2, out),
                Proto::Resp3 => encode_array_len(pairs.len(), out),
            }
            for (a, b) in pairs {
                if p == Proto::Resp3 {
                    encode_array_len(2, out);
                }
                encode(a, p, out);
                encode(b, p, out);
            }
        }
        Reply::Set(items) => {
            encode_set_len(items.len(), p, out);
            for item in items {
                encode(item, p, out);
            }
        }
        Reply::Double(d) => encode_double(*d, p, out),
        Reply::Bool(b) => encode_bool(*b, p, out),
        Reply::Verbatim(format, data) => match p {
            Proto::Resp2 => encode_bulk(data, out),
            Proto::Resp3 => {
                header(b'=', format.len() + 1 + data.len(), out);
                out.reserve(format.len() + data.len() + 3);
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
        },
        Reply::Push(items) => {
            encode_push_len(items.len(), p, out);
            for item in items {
                encode(item, p, out);
            }
        }
        Reply::Seq(items) => {
            for item in items {
                encode(item, p, out);
            }
        }
    }
}

/// `<prefix><n>\r\n`
fn header(prefix: u8, n: usize, out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    out.reserve(digits.len() + 3);
    out.push(prefix);
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `text` to `out` with CR and LF turned into spaces, so it cannot
/// break the framing of a line reply.
fn push_line_text(text: &str, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(text.as_bytes());
    for b in &mut out[start..] {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
}

/// `+OK\r\n`
pub fn encode_ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// `+text\r\n`, with any CR or LF in the text turned into a space.
pub fn encode_simple(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 3);
    out.push(b'+');
    push_line_text(text, out);
    out.extend_from_slice(b"\r\n");
}

/// `-text\r\n`; `text` carries the error code (`ERR ...`). A leading `-` in
/// the text is not doubled. Any CR or LF is turned into a space.
pub fn encode_error(text: &str, out: &mut Vec<u8>) {
    let text = text.strip_prefix('-').unwrap_or(text);
    out.reserve(text.len() + 3);
    out.push(b'-');
    push_line_text(text, out);
    out.extend_from_slice(b"\r\n");
}

/// `:n\r\n`
pub fn encode_int(n: i64, out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    out.reserve(digits.len() + 3);
    out.push(b':');
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\ndata\r\n`
pub fn encode_bulk(data: &[u8], out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(data.len());
    out.reserve(digits.len() + data.len() + 5);
    out.push(b'$');
    out.extend_from_slice(digits.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The null bulk string: RESP2 `$-1\r\n`, RESP3 `_\r\n`.
pub fn encode_nil(p: Proto, out: &mut Vec<u8>) {
    out.extend_from_slice(match p {
        Proto::Resp2 => b"$-1\r\n",
        Proto::Resp3 => b"_\r\n",
    });
}

/// The null array: RESP2 `*-1\r\n`, RESP3 `_\r\n`.
pub fn encode_nil_array(p: Proto, out: &mut Vec<u8>) {
    out.extend_from_slice(match p {
        Proto::Resp2 => b"*-1\r\n",
        Proto::Resp3 => b"_\r\n",
    });
}

/// The header of an array of `n` items: `*n\r\n`.
pub fn encode_array_len(n: usize, out: &mut Vec<u8>) {
    header(b'*', n, out);
}

/// The header of a map of `n` pairs: RESP3 `%n\r\n`, RESP2 `*2n\r\n`. The
/// caller then encodes each key followed by its value.
pub fn encode_map_len(n: usize, p: Proto, out: &mut Vec<u8>) {
    match p {
        Proto::Resp2 => header(b'*', n * 2, out),
        Proto::Resp3 => header(b'%', n, out),
    }
}

/// The header of a set of `n` items: RESP3 `~n\r\n`, RESP2 `*n\r\n`.
pub fn encode_set_len(n: usize, p: Proto, out: &mut Vec<u8>) {
    match p {
        Proto::Resp2 => header(b'*', n, out),
        Proto::Resp3 => header(b'~', n, out),
    }
}

/// The header of a push message of `n` items: RESP3 `>n\r\n`, RESP2 `*n\r\n`.
pub fn encode_push_len(n: usize, p: Proto, out: &mut Vec<u8>) {
    match p {
        Proto::Resp2 => header(b'*', n, out),
        Proto::Resp3 => header(b'>', n, out),
    }
}

/// A boolean: RESP3 `#t\r\n` / `#f\r\n`, RESP2 `:1\r\n` / `:0\r\n`.
pub fn encode_bool(b: bool, p: Proto, out: &mut Vec<u8>) {
    out.extend_from_slice(match (p, b) {
        (Proto::Resp2, true) => b":1\r\n",
        (Proto::Resp2, false) => b":0\r\n",
        (Proto::Resp3, true) => b"#t\r\n",
        (Proto::Resp3, false) => b"#f\r\n",
    });
}

/// A double as Redis 7.0's `addReplyDouble`: RESP3 `,<text>\r\n`, RESP2 a
/// bulk string of the text, the text being [`format_double_g17`]'s.
pub fn encode_double(d: f64, p: Proto, out: &mut Vec<u8>) {
    let mut text = G17::new();
    text.format(d);
    let text = text.as_bytes();
    match p {
        Proto::Resp2 => encode_bulk(text, out),
        Proto::Resp3 => {
            out.reserve(text.len() + 3);
            out.push(b',');
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Redis 7.0's formatting of a double reply: C's `printf("%.17g")` (17
/// significant digits, rounded half to even, trailing zeros dropped,
/// exponent form below 1e-4 and from 1e17), with infinities as `inf` /
/// `-inf` and NaN as glibc prints it (`nan`, or `-nan` when its sign bit is
/// set).
pub fn format_double_g17(d: f64, out: &mut Vec<u8>) {
    let mut text = G17::new();
    text.format(d);
    out.extend_from_slice(text.as_bytes());
}

/// Significant digits of `%.17g`.
const G17_DIGITS: usize = 17;

/// A stack buffer holding the `%.17g` text of one double (at most 24 bytes).
struct G17 {
    buf: [u8; 32],
    len: usize,
}

impl std::fmt::Write for G17 {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl G17 {
    fn new() -> Self {
        G17 {
            buf: [0; 32],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn extend(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn format(&mut self, d: f64) {
        self.len = 0;
        if d.is_sign_negative() {
            self.push(b'-');
        }
        if d.is_nan() {
            self.extend(b"nan");
            return;
        }
        if d.is_infinite() {
            self.extend(b"inf");
            return;
        }
        let (digits, exp) = decimal_digits(d.abs());
        // Significant digits left once trailing zeros are dropped (%g
        // without the '#' flag); at least one.
        let kept = digits.iter().rposition(|&c| c != b'0').map_or(1, |i| i + 1);
        if exp < -4 || exp >= G17_DIGITS as i32 {
            // d.ddde±XX
            self.push(digits[0]);
            if kept > 1 {
                self.push(b'.');
                self.extend(&digits[1..kept]);
            }
            self.push(b'e');
            self.push(if exp < 0 { b'-' } else { b'+' });
            let magnitude = exp.unsigned_abs();
            if magnitude < 10 {
                self.push(b'0');
            }
            let mut num = itoa::Buffer::new();
            self.extend(num.format(magnitude).as_bytes());
        } else if exp >= 0 {
            // ddd.ddd
            let int_len = exp as usize + 1;
            self.extend(&digits[..int_len]);
            if kept > int_len {
                self.push(b'.');
                self.extend(&digits[int_len..kept]);
            }
        } else {
            // 0.000ddd
            self.extend(b"0.");
            for _ in 0..(-exp - 1) {
                self.push(b'0');
            }
            self.extend(&digits[..kept]);
        }
    }
}

/// The first 17 significant decimal digits of `d` (finite, non-negative),
/// correctly rounded half to even as glibc's printf does, and the decimal
/// exponent of the first one. Zero gives all zeros and exponent 0.
fn decimal_digits(d: f64) -> ([u8; G17_DIGITS], i32) {
    // Rust's `{:.16e}` is exact (correctly rounded, ties to even), giving
    // "D.DDDDDDDDDDDDDDDDe<exp>".
    let mut sci = G17::new();
    // 23 bytes at most: the buffer is large enough, so this cannot fail.
    let _ = write!(sci, "{:.16e}", d);
    let text = sci.as_bytes();
    let mut digits = [b'0'; G17_DIGITS];
    digits[0] = text[0];
    digits[1..].copy_from_slice(&text[2..G17_DIGITS + 1]);
    let exp_text = &text[G17_DIGITS + 2..];
    let (negative, magnitude) = match exp_text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exp_text),
    };
    let magnitude = magnitude
        .iter()
        .fold(0i32, |acc, &c| acc * 10 + i32::from(c - b'0'));
    (digits, if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
#[path = "reply_tests.rs"]
mod tests;
