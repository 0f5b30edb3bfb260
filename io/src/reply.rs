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
mod tests {
    use super::*;

    fn enc(r: &Reply, p: Proto) -> String {
        let mut out = Vec::new();
        encode(r, p, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn both(r: &Reply) -> (String, String) {
        (enc(r, Proto::Resp2), enc(r, Proto::Resp3))
    }

    fn same(r: &Reply, expected: &str) {
        assert_eq!(
            both(r),
            (expected.to_string(), expected.to_string()),
            "{r:?}"
        );
    }

    fn g17(d: f64) -> String {
        let mut out = Vec::new();
        format_double_g17(d, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn scalar_variants() {
        same(&Reply::Ok, "+OK\r\n");
        same(&Reply::simple("PONG"), "+PONG\r\n");
        same(&Reply::Simple(Cow::Owned("QUEUED".into())), "+QUEUED\r\n");
        same(&Reply::err("ERR syntax error"), "-ERR syntax error\r\n");
        same(
            &Reply::err("WRONGTYPE Operation against a key holding the wrong kind of value"),
            "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        );
        same(&Reply::Int(0), ":0\r\n");
        same(&Reply::Int(-42), ":-42\r\n");
        same(&Reply::Int(i64::MIN), ":-9223372036854775808\r\n");
        same(&Reply::Int(i64::MAX), ":9223372036854775807\r\n");
        same(&Reply::bulk("hello"), "$5\r\nhello\r\n");
        same(&Reply::bulk(""), "$0\r\n\r\n");
        same(&Reply::bulk(&b"a\r\nb"[..]), "$4\r\na\r\nb\r\n");
        same(&Reply::bulk(vec![b'x'; 3]), "$3\r\nxxx\r\n");
    }

    #[test]
    fn null_variants() {
        assert_eq!(both(&Reply::Nil), ("$-1\r\n".into(), "_\r\n".into()));
        assert_eq!(both(&Reply::NilArray), ("*-1\r\n".into(), "_\r\n".into()));
    }

    #[test]
    fn line_texts_never_break_framing() {
        same(&Reply::err("ERR bad\r\nthing\n"), "-ERR bad  thing \r\n");
        same(&Reply::Simple(Cow::Owned("a\rb\nc".into())), "+a b c\r\n");
        same(
            &Reply::err("-ERR already prefixed"),
            "-ERR already prefixed\r\n",
        );
        let mut out = Vec::new();
        encode_error("ERR x\ny", &mut out);
        assert_eq!(out, b"-ERR x y\r\n");
    }

    #[test]
    fn aggregates() {
        let array = Reply::Array(vec![
            Reply::bulk("a"),
            Reply::Int(1),
            Reply::Nil,
            Reply::Array(vec![]),
        ]);
        assert_eq!(
            both(&array),
            (
                "*4\r\n$1\r\na\r\n:1\r\n$-1\r\n*0\r\n".into(),
                "*4\r\n$1\r\na\r\n:1\r\n_\r\n*0\r\n".into()
            )
        );
        let map = Reply::Map(vec![
            (Reply::bulk("k1"), Reply::Int(1)),
            (Reply::bulk("k2"), Reply::Bool(true)),
        ]);
        assert_eq!(
            both(&map),
            (
                "*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n:1\r\n".into(),
                "%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n#t\r\n".into()
            )
        );
        assert_eq!(
            both(&Reply::Map(vec![])),
            ("*0\r\n".into(), "%0\r\n".into())
        );
        let set = Reply::Set(vec![Reply::bulk("x"), Reply::bulk("y")]);
        assert_eq!(
            both(&set),
            (
                "*2\r\n$1\r\nx\r\n$1\r\ny\r\n".into(),
                "~2\r\n$1\r\nx\r\n$1\r\ny\r\n".into()
            )
        );
        let push = Reply::Push(vec![
            Reply::bulk("message"),
            Reply::bulk("ch"),
            Reply::bulk("hi"),
        ]);
        assert_eq!(
            both(&push),
            (
                "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".into(),
                ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n".into()
            )
        );
        let pairs = Reply::Pairs(vec![(Reply::bulk("a"), Reply::Int(1))]);
        let mut out = Vec::new();
        encode(&pairs, Proto::Resp2, &mut out);
        assert_eq!(out, b"*2\r\n$1\r\na\r\n:1\r\n");
        out.clear();
        encode(&pairs, Proto::Resp3, &mut out);
        assert_eq!(out, b"*1\r\n*2\r\n$1\r\na\r\n:1\r\n");
        let nested = Reply::Array(vec![Reply::Map(vec![(
            Reply::simple("f"),
            Reply::Set(vec![Reply::Double(1.5)]),
        )])]);
        assert_eq!(
            both(&nested),
            (
                "*1\r\n*2\r\n+f\r\n*1\r\n$3\r\n1.5\r\n".into(),
                "*1\r\n%1\r\n+f\r\n~1\r\n,1.5\r\n".into()
            )
        );
    }

    #[test]
    fn resp3_only_scalars() {
        assert_eq!(both(&Reply::Bool(true)), (":1\r\n".into(), "#t\r\n".into()));
        assert_eq!(
            both(&Reply::Bool(false)),
            (":0\r\n".into(), "#f\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(0.1)),
            (
                "$19\r\n0.10000000000000001\r\n".into(),
                ",0.10000000000000001\r\n".into()
            )
        );
        assert_eq!(
            both(&Reply::Double(3.0)),
            ("$1\r\n3\r\n".into(), ",3\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(f64::INFINITY)),
            ("$3\r\ninf\r\n".into(), ",inf\r\n".into())
        );
        assert_eq!(
            both(&Reply::Double(f64::NEG_INFINITY)),
            ("$4\r\n-inf\r\n".into(), ",-inf\r\n".into())
        );
        assert_eq!(
            both(&Reply::Verbatim("txt", Bytes::from_static(b"Some string"))),
            (
                "$11\r\nSome string\r\n".into(),
                "=15\r\ntxt:Some string\r\n".into()
            )
        );
        assert_eq!(
            both(&Reply::Verbatim("mkd", Bytes::new())),
            ("$0\r\n\r\n".into(), "=4\r\nmkd:\r\n".into())
        );
    }

    #[test]
    fn fast_helpers() {
        let mut out = Vec::new();
        encode_bulk(b"v", &mut out);
        encode_nil(Proto::Resp2, &mut out);
        encode_nil(Proto::Resp3, &mut out);
        encode_int(-7, &mut out);
        encode_error("ERR x", &mut out);
        encode_ok(&mut out);
        encode_simple("PONG", &mut out);
        encode_array_len(2, &mut out);
        encode_map_len(2, Proto::Resp2, &mut out);
        encode_map_len(2, Proto::Resp3, &mut out);
        encode_set_len(1, Proto::Resp3, &mut out);
        encode_push_len(3, Proto::Resp3, &mut out);
        encode_nil_array(Proto::Resp2, &mut out);
        encode_bool(true, Proto::Resp2, &mut out);
        encode_double(-2.5, Proto::Resp2, &mut out);
        encode_double(-2.5, Proto::Resp3, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "$1\r\nv\r\n$-1\r\n_\r\n:-7\r\n-ERR x\r\n+OK\r\n+PONG\r\n*2\r\n*4\r\n%2\r\n~1\r\n>3\r\n*-1\r\n:1\r\n$4\r\n-2.5\r\n,-2.5\r\n"
        );
    }

    #[test]
    fn encode_appends() {
        let mut out = b"prefix".to_vec();
        encode(&Reply::Int(1), Proto::Resp2, &mut out);
        assert_eq!(out, b"prefix:1\r\n");
    }

    #[test]
    fn reply_helpers() {
        assert!(Reply::err("ERR x").is_error());
        assert!(Reply::Error(Cow::Owned("ERR y".into())).is_error());
        assert!(!Reply::Ok.is_error());
        assert!(!Reply::simple("ERR").is_error());
        assert_eq!(
            Reply::bulk(Bytes::from_static(b"z")),
            Reply::Bulk(Bytes::from_static(b"z"))
        );
        assert_eq!(Reply::err("ERR x"), Reply::Error(Cow::Borrowed("ERR x")));
    }

    #[test]
    fn g17_table() {
        // Expected strings are what C's printf("%.17g") prints.
        let table: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (123456789.0, "123456789"),
            (-987654321.0, "-987654321"),
            (0.5, "0.5"),
            (0.1, "0.10000000000000001"),
            (0.2, "0.20000000000000001"),
            (0.3, "0.29999999999999999"),
            (1.0 / 3.0, "0.33333333333333331"),
            (2.0 / 3.0, "0.66666666666666663"),
            (-1.0 / 3.0, "-0.33333333333333331"),
            (3.25, "3.25"),
            (2.675, "2.6749999999999998"),
            (std::f64::consts::PI, "3.1415926535897931"),
            (std::f64::consts::E, "2.7182818284590451"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1e20, "1e+20"),
            (-1e20, "-1e+20"),
            (1e21, "1e+21"),
            (1e22, "1e+22"),
            (1e23, "9.9999999999999992e+22"),
            (1e100, "1e+100"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (12345678901234567.0, "12345678901234568"),
            (9007199254740993.0, "9007199254740992"),
            (9007199254740991.0, "9007199254740991"),
            // Exact ties at the 17th digit round half to even.
            (9007199254740985.0 / 4.0, "2251799813685246.2"),
            (9007199254740991.0 / 4.0, "2251799813685247.8"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012344999999999999"),
            (0.00001, "1.0000000000000001e-05"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e-7, "1.4999999999999999e-07"),
            (1e-10, "1e-10"),
            (1e-300, "1e-300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (-f64::MAX, "-1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (-5e-324, "-4.9406564584124654e-324"),
            (f64::EPSILON, "2.2204460492503131e-16"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.1, "1.1000000000000001"),
            (10.5, "10.5"),
            (99999999999999999.0, "1e+17"),
            (4.35, "4.3499999999999996"),
            (18.0, "18"),
            (1234.5678, "1234.5678"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-f64::NAN, "-nan"),
        ];
        for &(d, expected) in table {
            assert_eq!(g17(d), expected, "{d:e}");
        }
    }

    #[test]
    fn g17_appends() {
        let mut out = b"x=".to_vec();
        format_double_g17(0.25, &mut out);
        assert_eq!(out, b"x=0.25");
    }
}
