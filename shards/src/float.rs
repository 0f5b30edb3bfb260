//! Float increments with Redis's exact arithmetic and formatting.
//!
//! Redis computes INCRBYFLOAT/HINCRBYFLOAT in C `long double` and prints the
//! result with `%.17Lf`; the computation lives in a tiny C file (csrc/) so the
//! stored value and the reply are identical to Redis's. All replicas run the
//! same build, so the result is deterministic across them.

use std::os::raw::{c_char, c_int};

use crate::Status;

extern "C" {
    fn cachecat_incrbyfloat(
        cur: *const c_char,
        curlen: usize,
        incr: *const c_char,
        incrlen: usize,
        out: *mut c_char,
        outcap: usize,
        outlen: *mut usize,
    ) -> c_int;
    fn cachecat_ld_class(s: *const c_char, len: usize) -> c_int;
    fn cachecat_parse_double(s: *const c_char, len: usize, strict: c_int, out: *mut f64) -> c_int;
}

fn parse_double(s: &[u8], strict: bool) -> Option<f64> {
    let mut v = 0.0;
    // SAFETY: pointer and length describe the slice; `v` is writable.
    let ok = unsafe {
        cachecat_parse_double(
            s.as_ptr() as *const c_char,
            s.len(),
            strict as c_int,
            &mut v,
        )
    };
    // -0 is stored and shown as 0, as Redis replies it.
    (ok == 1).then_some(v + 0.0)
}

/// A score, increment or weight as Redis's getDoubleFromObject accepts it.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    parse_double(s, true)
}

/// A score-range bound's number as zslParseRange reads it (plain strtod:
/// leading spaces and the empty string pass, NaN does not).
pub fn parse_range_double(s: &[u8]) -> Option<f64> {
    parse_double(s, false)
}

/// Which side of the sum failed to parse.
#[derive(Debug, PartialEq, Eq)]
pub enum IncrFloatError {
    CurrentNotFloat,
    IncrementNotFloat,
    NanOrInfinity,
}

/// `cur + incr` formatted as Redis stores it. `cur` None means 0.
pub fn incr_by_float(cur: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    let mut out = vec![0u8; 5 * 1024 + 64];
    let mut len = 0usize;
    let (cp, cl) = match cur {
        Some(c) => (c.as_ptr() as *const c_char, c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: every pointer is valid for the length passed beside it, `out`
    // is writable for `outcap` bytes and the C code writes at most that many.
    let rc = unsafe {
        cachecat_incrbyfloat(
            cp,
            cl,
            incr.as_ptr() as *const c_char,
            incr.len(),
            out.as_mut_ptr() as *mut c_char,
            out.len(),
            &mut len,
        )
    };
    match rc {
        0 => {
            out.truncate(len);
            Ok(out)
        }
        1 => Err(IncrFloatError::CurrentNotFloat),
        2 => Err(IncrFloatError::IncrementNotFloat),
        _ => Err(IncrFloatError::NanOrInfinity),
    }
}

/// Whether Redis would accept `s` as a long double (`value is not a valid float`
/// otherwise); Ok(true) when it is infinite.
pub fn check_float(s: &[u8]) -> Result<bool, Status> {
    // SAFETY: pointer and length describe the slice.
    match unsafe { cachecat_ld_class(s.as_ptr() as *const c_char, s.len()) } {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Status::NotFloat),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(a: Option<&str>, b: &str) -> Result<String, IncrFloatError> {
        incr_by_float(a.map(str::as_bytes), b.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn score_parsing_rules() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"-0").map(f64::is_sign_negative), Some(false));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"abc",
            b"1\x00",
        ] {
            assert_eq!(parse_score(bad), None, "{:?}", bad);
        }
        assert_eq!(parse_range_double(b""), Some(0.0));
        assert_eq!(parse_range_double(b" 2"), Some(2.0));
        assert_eq!(parse_range_double(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_range_double(b"nan"), None);
        assert_eq!(parse_range_double(b"2x"), None);
        let long = format!("{}1", "0".repeat(600));
        assert_eq!(parse_score(long.as_bytes()), Some(1.0));
    }

    #[test]
    fn matches_redis_formatting() {
        assert_eq!(add(Some("10.50"), "0.1").unwrap(), "10.6");
        assert_eq!(add(None, "0.1").unwrap(), "0.1");
        assert_eq!(add(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(add(Some("3"), "-3").unwrap(), "0");
        assert_eq!(add(Some("-0.5"), "0.5").unwrap(), "0");
        assert_eq!(add(None, "1e-5").unwrap(), "0.00001");
    }

    #[test]
    fn rejects_what_redis_rejects() {
        assert_eq!(add(Some("abc"), "1"), Err(IncrFloatError::CurrentNotFloat));
        assert_eq!(add(Some("1"), " 1"), Err(IncrFloatError::IncrementNotFloat));
        assert_eq!(add(Some("1"), "1 "), Err(IncrFloatError::IncrementNotFloat));
        assert_eq!(
            add(Some("1"), "nan"),
            Err(IncrFloatError::IncrementNotFloat)
        );
        assert_eq!(add(Some("1"), ""), Err(IncrFloatError::IncrementNotFloat));
        assert_eq!(add(Some("1"), "inf"), Err(IncrFloatError::NanOrInfinity));
        assert_eq!(
            add(Some("1e4932"), "1e4932"),
            Err(IncrFloatError::NanOrInfinity)
        );
        assert_eq!(check_float(b"1.5"), Ok(false));
        assert_eq!(check_float(b"-inf"), Ok(true));
        assert_eq!(check_float(b"x"), Err(Status::NotFloat));
    }
}
