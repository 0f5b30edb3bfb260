//! The Raft log's on-disk record format and its recovery scan.
//!
//! A log segment is a sequence of records, each
//!
//! ```text
//!   len   u32   payload length in bytes (0 never occurs: it marks the end)
//!   crc   u32   CRC-32C of index, term and payload
//!   index u64   the entry's log index
//!   term  u64   the entry's term
//!   payload     `len` bytes (the serialized entry)
//! ```
//!
//! all little-endian. Segments are written with O_DIRECT in aligned blocks,
//! so the bytes after the last record are zeros (the padding of the last
//! block) or, after a crash, whatever a torn write left. Recovery reads
//! records from the start and stops at the first one that is incomplete,
//! fails its checksum, or does not continue the index sequence: everything
//! from there on is cut, never applied. A record is only acknowledged after
//! the fdatasync that covers it, so what is cut was never acknowledged.

/// Bytes before a record's payload.
pub const HEADER: usize = 24;

/// Payloads larger than this are refused (and, on recovery, taken for
/// garbage): no entry the server writes comes close.
pub const MAX_PAYLOAD: usize = 1 << 30;

/// CRC-32C (Castagnoli): the SSE 4.2 instruction where the CPU has it,
/// else a table.
pub fn crc32c(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU supports SSE 4.2, checked just above.
            return unsafe { crc32c_sse42(crc, data) };
        }
    }
    crc32c_table(crc, data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn crc32c_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut c = !crc as u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        c = _mm_crc32_u64(c, u64::from_le_bytes(w.try_into().expect("8 bytes")));
    }
    let mut c = c as u32;
    for &b in words.remainder() {
        c = _mm_crc32_u8(c, b);
    }
    !c
}

fn crc32c_table(mut crc: u32, data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0x82F6_3B78
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    crc = !crc;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

fn checksum(index: u64, term: u64, payload: &[u8]) -> u32 {
    let mut c = crc32c(0, &index.to_le_bytes());
    c = crc32c(c, &term.to_le_bytes());
    crc32c(c, payload)
}

/// Append one record to `out`.
pub fn encode(index: u64, term: u64, payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        !payload.is_empty() && payload.len() <= MAX_PAYLOAD,
        "a log record's payload is 1 byte to 1 GiB"
    );
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(index, term, payload).to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(&term.to_le_bytes());
    out.extend_from_slice(payload);
}

/// A record found by [`scan`].
#[derive(Debug, PartialEq, Eq)]
pub struct Found<'a> {
    pub index: u64,
    pub term: u64,
    pub payload: &'a [u8],
    /// Offset of the record in the segment.
    pub offset: usize,
}

/// Why a scan stopped before the end of the bytes.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Stop {
    /// Clean end: zeros (padding) or no bytes left.
    End,
    /// A header or payload runs past the bytes: a torn write.
    Torn,
    /// The checksum does not match: a corrupt or torn record.
    Corrupt,
    /// The index does not follow the previous record's.
    OutOfSequence,
}

/// The valid records of a segment, from its start, and where and why the
/// valid part ends (the offset to cut the segment at).
pub fn scan(bytes: &[u8], first_index: u64) -> (Vec<Found<'_>>, usize, Stop) {
    let mut out = Vec::new();
    let mut at = 0;
    let mut expect = first_index;
    loop {
        let rest = &bytes[at..];
        if rest.len() < 4 || rest[..4] == [0, 0, 0, 0] {
            let stop = if rest.iter().all(|&b| b == 0) {
                Stop::End
            } else {
                Stop::Torn
            };
            return (out, at, stop);
        }
        if rest.len() < HEADER {
            return (out, at, Stop::Torn);
        }
        let word = |i: usize| u64::from_le_bytes(rest[i..i + 8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let (index, term) = (word(8), word(16));
        if len > MAX_PAYLOAD || rest.len() < HEADER + len {
            return (out, at, Stop::Torn);
        }
        let payload = &rest[HEADER..HEADER + len];
        if checksum(index, term, payload) != crc {
            return (out, at, Stop::Corrupt);
        }
        if index != expect {
            return (out, at, Stop::OutOfSequence);
        }
        out.push(Found {
            index,
            term,
            payload,
            offset: at,
        });
        at += HEADER + len;
        expect += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(first: u64, payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            encode(first + i as u64, 3, p, &mut out);
        }
        out
    }

    #[test]
    fn hardware_and_table_crc_agree() {
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for (start, len) in [(0, 0), (0, 1), (3, 7), (1, 8), (5, 9), (0, 1000), (13, 600)] {
            let d = &data[start..start + len];
            assert_eq!(crc32c(0, d), crc32c_table(0, d), "{start}+{len}");
            assert_eq!(crc32c(0x1234, d), crc32c_table(0x1234, d));
        }
    }

    #[test]
    fn crc32c_known_value() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn round_trip_with_padding() {
        let mut seg = segment(10, &[b"a", b"bb", b"ccc"]);
        let valid = seg.len();
        seg.resize(4096, 0);
        let (found, end, stop) = scan(&seg, 10);
        assert_eq!(stop, Stop::End);
        assert_eq!(end, valid);
        let got: Vec<(u64, &[u8])> = found.iter().map(|f| (f.index, f.payload)).collect();
        assert_eq!(got, vec![(10, &b"a"[..]), (11, b"bb"), (12, b"ccc")]);
        assert_eq!(found[2].term, 3);
    }

    #[test]
    fn every_truncation_point_keeps_a_prefix() {
        let seg = segment(1, &[b"first", b"second", b"third"]);
        let ends: Vec<usize> = scan(&seg, 1)
            .0
            .iter()
            .map(|f| f.offset)
            .chain([seg.len()])
            .collect();
        for cut in 0..=seg.len() {
            let (found, end, stop) = scan(&seg[..cut], 1);
            let whole = ends.iter().filter(|&&e| e <= cut).count() - 1;
            assert_eq!(found.len(), whole, "cut at {cut}");
            assert_eq!(end, ends[whole], "cut at {cut}");
            let at_boundary = ends.contains(&cut);
            assert_eq!(stop == Stop::End, at_boundary, "cut at {cut}: {stop:?}");
        }
    }

    #[test]
    fn corruption_and_gaps_stop_the_scan() {
        let mut seg = segment(1, &[b"one", b"two", b"three"]);
        let second = HEADER + 3;
        seg[second + HEADER] ^= 0x40;
        let (found, end, stop) = scan(&seg, 1);
        assert_eq!((found.len(), end, stop), (1, second, Stop::Corrupt));

        let mut gap = segment(1, &[b"one"]);
        encode(3, 3, b"three", &mut gap);
        let (found, _, stop) = scan(&gap, 1);
        assert_eq!((found.len(), stop), (1, Stop::OutOfSequence));

        // Garbage after valid records, and a length that runs off the end.
        let mut torn = segment(5, &[b"x"]);
        torn.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x0F, 1, 2, 3]);
        let (found, _, stop) = scan(&torn, 5);
        assert_eq!((found.len(), stop), (1, Stop::Torn));
    }
}
