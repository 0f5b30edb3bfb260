//! Wire protocol of Cache-Cat: parsing client requests (RESP multibulk and
//! inline commands, as Redis 7.0 accepts them) and encoding replies in RESP2
//! or RESP3.

pub mod parse;
pub mod reply;

pub use parse::{Limits, ProtocolError, RequestParser};
pub use reply::{encode, Proto, Reply};
