//! Failure outcomes of shard operations, mapped to Redis's exact error text in
//! one place.

use std::borrow::Cow;

/// Why a shard operation did not succeed. `Copy`, so ops return it cheaply; the
/// text a client sees comes from [`Status::text`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub enum Status {
    WrongType,
    NotInteger,
    NotFloat,
    Overflow,
    NanOrInfinity,
    HashNotInteger,
    HashNotFloat,
    Syntax,
    NoSuchKey,
    StringTooLong,
    OffsetOutOfRange,
    /// Invalid expire time; the text names the command.
    InvalidExpire,
    /// NX and XX, GT and LT... given together.
    ExpireOptionsConflict,
    GtLtConflict,
    HashIncrNanOrInfinity,
    DecrementOverflow,
    OutOfRange,
    DbIndexOutOfRange,
    SameObject,
    /// Wrong number of arguments found by the command's own parser.
    Arity,
    MustBePositive,
    RankZero,
    CountNegative,
    MaxlenNegative,
    NumkeysZero,
    NumkeysTooMany,
    CountZero,
    LimitNegative,
    IndexOutOfRange,
    /// A count that would overflow when negated (SRANDMEMBER, ZRANDMEMBER).
    CountRange,
    /// ZINCRBY / ZADD INCR made a NaN (inf + -inf).
    ScoreNaN,
}

impl Status {
    /// The error text a client sees (without the leading `-`). `cmd` is the
    /// command's name as the client sent it in lower case, for the texts that
    /// name it.
    pub fn text(self, cmd: &str) -> Cow<'static, str> {
        use Status::*;
        Cow::Borrowed(match self {
            WrongType => "WRONGTYPE Operation against a key holding the wrong kind of value",
            NotInteger => "ERR value is not an integer or out of range",
            NotFloat => "ERR value is not a valid float",
            Overflow => "ERR increment or decrement would overflow",
            NanOrInfinity => "ERR increment would produce NaN or Infinity",
            HashNotInteger => "ERR hash value is not an integer",
            HashNotFloat => "ERR hash value is not a float",
            Syntax => "ERR syntax error",
            NoSuchKey => "ERR no such key",
            StringTooLong => "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
            OffsetOutOfRange => "ERR offset is out of range",
            InvalidExpire => {
                return Cow::Owned(format!("ERR invalid expire time in '{cmd}' command"))
            }
            ExpireOptionsConflict => {
                "ERR NX and XX, GT or LT options at the same time are not compatible"
            }
            GtLtConflict => "ERR GT and LT options at the same time are not compatible",
            HashIncrNanOrInfinity => "ERR value is NaN or Infinity",
            DecrementOverflow => "ERR decrement would overflow",
            OutOfRange => "ERR value is out of range",
            DbIndexOutOfRange => "ERR DB index is out of range",
            SameObject => "ERR source and destination objects are the same",
            Arity => {
                return Cow::Owned(format!("ERR wrong number of arguments for '{cmd}' command"))
            }
            MustBePositive => "ERR value is out of range, must be positive",
            RankZero => "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
            CountNegative => "ERR COUNT can't be negative",
            MaxlenNegative => "ERR MAXLEN can't be negative",
            NumkeysZero => "ERR numkeys should be greater than 0",
            NumkeysTooMany => "ERR Number of keys can't be greater than number of args",
            CountZero => "ERR count should be greater than 0",
            LimitNegative => "ERR LIMIT can't be negative",
            IndexOutOfRange => "ERR index out of range",
            ScoreNaN => "ERR resulting score is not a number (NaN)",
            CountRange => "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        })
    }
}
