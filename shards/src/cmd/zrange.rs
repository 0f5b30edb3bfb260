//! Range arguments of the sorted-set commands: score ranges, lex ranges and
//! ranks, and every ZRANGE form's option rules (Redis's zrangeGenericCommand).

use cachecat_io::Reply;

use super::args::{int, is, take};
use super::zset::{err, z, ZCmd};
use super::{fail, Cmd, ParseCtx};
use crate::float::parse_range_double;
use crate::Status;

/// A score range (ZRANGEBYSCORE, ZCOUNT...): `(` makes a bound exclusive.
#[derive(Clone, Copy, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ScoreRange {
    pub min: f64,
    pub minex: bool,
    pub max: f64,
    pub maxex: bool,
}

impl ScoreRange {
    pub fn above_min(&self, s: f64) -> bool {
        if self.minex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    pub fn below_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }

    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[x` or `(x`.
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Lex {
    Min,
    Max,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct LexRange {
    pub min: Lex,
    pub max: Lex,
}

impl LexRange {
    pub fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            Lex::Min => true,
            Lex::Max => false,
            Lex::Incl(x) => m >= &x[..],
            Lex::Excl(x) => m > &x[..],
        }
    }

    pub fn below_max(&self, m: &[u8]) -> bool {
        match &self.max {
            Lex::Min => false,
            Lex::Max => true,
            Lex::Incl(x) => m <= &x[..],
            Lex::Excl(x) => m < &x[..],
        }
    }

    pub fn is_empty(&self) -> bool {
        use Lex::*;
        match (&self.min, &self.max) {
            (Max, _) | (_, Min) => true,
            (Min, _) | (_, Max) => false,
            (Incl(a), Incl(b)) => a > b,
            (Incl(a), Excl(b)) | (Excl(a), Incl(b)) | (Excl(a), Excl(b)) => a >= b,
        }
    }
}

/// What a range selects.
#[derive(Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum By {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// zslParseRange: `(x` exclusive, else inclusive, numbers as strtod reads.
pub fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    fn bound(b: &[u8]) -> Option<(f64, bool)> {
        match b.strip_prefix(b"(") {
            Some(rest) => parse_range_double(rest).map(|v| (v, true)),
            None => parse_range_double(b).map(|v| (v, false)),
        }
    }
    match (bound(min), bound(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        }),
        _ => Err(err(NOT_FLOAT_RANGE)),
    }
}

/// zslParseLexRange: `-`, `+`, `[x`, `(x`.
pub fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, Reply> {
    fn item(b: &[u8]) -> Option<Lex> {
        match b.first() {
            Some(b'+') if b.len() == 1 => Some(Lex::Max),
            Some(b'-') if b.len() == 1 => Some(Lex::Min),
            Some(b'(') => Some(Lex::Excl(b[1..].to_vec())),
            Some(b'[') => Some(Lex::Incl(b[1..].to_vec())),
            _ => None,
        }
    }
    match (item(min), item(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(err(NOT_LEX_RANGE)),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis's zrangeGenericCommand argument rules, for every range command.
/// `first` is the index of the source key; `kind`/`rev` are preset by the
/// legacy commands (ZRANGEBYSCORE...), which then reject BYxxx and REV.
fn range_cmd(
    a: &mut [Vec<u8>],
    name: &str,
    first: usize,
    mut kind: Kind,
    rev: Option<bool>,
    store: bool,
) -> Result<Cmd, Reply> {
    let mut withscores = false;
    let mut limit = None;
    let mut dir = rev;
    let mut j = first + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        if !store && is(&a[j], "WITHSCORES") {
            withscores = true;
        } else if is(&a[j], "LIMIT") && left >= 2 {
            let off = int(&a[j + 1]).map_err(|s| fail(s, name))?;
            let cnt = int(&a[j + 2]).map_err(|s| fail(s, name))?;
            limit = Some((off, cnt));
            j += 2;
        } else if dir.is_none() && is(&a[j], "REV") {
            dir = Some(true);
        } else if kind == Kind::Auto && is(&a[j], "BYLEX") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && is(&a[j], "BYSCORE") {
            kind = Kind::Score;
        } else {
            return Err(fail(Status::Syntax, name));
        }
        j += 1;
    }
    let rev = dir.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    // Redis only rejects a LIMIT with a count on a rank range; `LIMIT x -1`
    // (no count) is accepted there and ignored.
    if kind == Kind::Rank {
        if limit.is_some_and(|(_, count)| count != -1) {
            return Err(err(
                "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ));
        }
        limit = None;
    }
    if withscores && kind == Kind::Lex {
        return Err(err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (lo, hi) = if rev && kind != Kind::Rank {
        (first + 2, first + 1)
    } else {
        (first + 1, first + 2)
    };
    let by = match kind {
        Kind::Score => By::Score(score_range(&a[lo], &a[hi])?),
        Kind::Lex => By::Lex(lex_range(&a[lo], &a[hi])?),
        _ => By::Rank(
            int(&a[lo]).map_err(|s| fail(s, name))?,
            int(&a[hi]).map_err(|s| fail(s, name))?,
        ),
    };
    z(ZCmd::Range {
        dst: store.then(|| take(&mut a[1])),
        key: take(&mut a[first]),
        by,
        rev,
        limit,
        withscores,
    })
}

pub fn parse_zrange(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrange", 1, Kind::Auto, None, false)
}
pub fn parse_zrangestore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrangestore", 2, Kind::Auto, None, true)
}
pub fn parse_zrevrange(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrevrange", 1, Kind::Rank, Some(true), false)
}
pub fn parse_zrangebyscore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrangebyscore", 1, Kind::Score, Some(false), false)
}
pub fn parse_zrevrangebyscore(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrevrangebyscore", 1, Kind::Score, Some(true), false)
}
pub fn parse_zrangebylex(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrangebylex", 1, Kind::Lex, Some(false), false)
}
pub fn parse_zrevrangebylex(a: &mut [Vec<u8>], _: &ParseCtx) -> Result<Cmd, Reply> {
    range_cmd(a, "zrevrangebylex", 1, Kind::Lex, Some(true), false)
}
