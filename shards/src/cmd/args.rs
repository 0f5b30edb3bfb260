//! Argument parsing with Redis's exact rules (string2ll, option keywords,
//! the numkeys tails shared by several families).

use cachecat_io::Reply;

use super::{fail, Key};
use crate::Status;

/// Redis's `string2ll` (the io crate's parser of the same rule): optional
/// '-', no '+', no leading zeros, no spaces, at most 20 characters, within i64.
pub fn parse_i64(s: &[u8]) -> Result<i64, Status> {
    cachecat_io::parse::string2ll(s).ok_or(Status::NotInteger)
}

/// Case-insensitive keyword comparison (`b"EX"` etc.).
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

pub fn int(arg: &[u8]) -> Result<i64, Status> {
    parse_i64(arg)
}

/// Take an argument out of argv (commands own their arguments).
pub fn take(arg: &mut Vec<u8>) -> Vec<u8> {
    std::mem::take(arg)
}

/// The `numkeys key... WHERE [COUNT n]` tail of LMPOP and ZMPOP, starting at
/// argv[1]: the keys, the keyword at `where`, and the count (1 by default).
pub fn parse_mpop<T>(
    a: &mut [Vec<u8>],
    name: &str,
    where_: impl Fn(&[u8]) -> Result<T, Reply>,
) -> Result<(Vec<Key>, T, usize), Reply> {
    let numkeys = match int(&a[1]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(fail(Status::NumkeysZero, name)),
    };
    let w = numkeys.checked_add(2).filter(|&w| w < a.len());
    let Some(w) = w else {
        return Err(fail(Status::Syntax, name));
    };
    let side = where_(&a[w])?;
    let mut count = None;
    let mut i = w + 1;
    while i < a.len() {
        if count.is_none() && is(&a[i], "COUNT") && i + 1 < a.len() {
            count = Some(match int(&a[i + 1]) {
                Ok(n) if n > 0 => n as usize,
                _ => return Err(fail(Status::CountZero, name)),
            });
            i += 2;
        } else {
            return Err(fail(Status::Syntax, name));
        }
    }
    let keys = a[2..w].iter_mut().map(take).collect();
    Ok((keys, side, count.unwrap_or(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Ok(0));
        assert_eq!(parse_i64(b"-1"), Ok(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            &b""[..],
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"-",
            b"abc",
        ] {
            assert_eq!(parse_i64(bad), Err(Status::NotInteger), "{:?}", bad);
        }
    }
}
