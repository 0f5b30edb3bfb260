//! Tests of the module beside this file.
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
