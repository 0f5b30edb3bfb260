//! Tests of one log segment: records, torn tails, cuts, preallocation, formats.

use super::*;

use crate::raft::{as_refs, run_local as run, test_entries, test_payload as payload};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cachecat-seg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Append `rec`, sync, close and reopen: the segment ends whole, with
/// `len` records of which `rec` is the last.
async fn append_reopen_ends_with(mut s: Segment, path: &Path, rec: (u64, u64, &[u8]), len: usize) {
    s.append(&[rec]).await.unwrap();
    s.sync().await.unwrap();
    s.close().await.unwrap();
    let (_, entries, stop) = Segment::open(path).await.unwrap();
    assert_eq!(stop, Stop::End);
    assert_eq!(entries.len(), len);
    assert_eq!(entries[len - 1], (rec.0, rec.1, rec.2.to_vec()));
}

#[test]
fn append_sync_reopen() {
    let dir = tempdir("reopen");
    let path = dir.join("seg");
    run(async {
        let mut s = Segment::create(&path, 5, None).await.unwrap();
        for batch in 0..10u64 {
            let es = test_entries(5 + batch * 7, 5 + (batch + 1) * 7, 2);
            s.append(&as_refs(&es)).await.unwrap();
            s.sync().await.unwrap();
        }
        assert_eq!(s.next_index(), 75);
        assert!(s.append(&[(99, 2, b"gap")]).await.is_err());
        s.close().await.unwrap();
        let (s, entries, stop) = Segment::open(&path).await.unwrap();
        assert_eq!(stop, Stop::End);
        assert_eq!(entries.len(), 70);
        for (i, term, p) in &entries {
            assert_eq!((*term, p.clone()), (2, payload(*i)));
        }
        assert_eq!(s.last_index(), Some(74));
    });
    std::fs::remove_dir_all(dir).unwrap();
}

/// A power cut leaves any prefix of what was written since the last
/// fdatasync (and garbage after it): recovery keeps whole records only.
#[test]
fn torn_tails_are_cut_at_any_point() {
    let dir = tempdir("torn");
    let path = dir.join("seg");
    let full = run(async {
        let mut s = Segment::create(&path, 1, None).await.unwrap();
        s.append(&as_refs(&test_entries(1, 21, 1))).await.unwrap();
        s.sync().await.unwrap();
        let end = s.end;
        s.close().await.unwrap();
        end
    });
    let original = std::fs::read(&path).unwrap();
    for cut in (HEADER_BLOCK..=full).step_by(97).chain([full - 1, full]) {
        let mut bytes = original[..cut as usize].to_vec();
        // What a torn write may leave after the cut: garbage.
        bytes.extend_from_slice(&[0xA5; 300]);
        std::fs::write(&path, &bytes).unwrap();
        run(async {
            let (mut s, entries, _) = Segment::open(&path).await.unwrap();
            let n = entries.len() as u64;
            assert!(entries.iter().enumerate().all(|(k, e)| e.0 == k as u64 + 1));
            // New appends continue right after the kept records.
            let p = b"after recovery".to_vec();
            s.append(&[(n + 1, 9, &p)]).await.unwrap();
            s.sync().await.unwrap();
            s.close().await.unwrap();
            let (_, again, stop) = Segment::open(&path).await.unwrap();
            assert_eq!(stop, Stop::End, "cut at {cut}");
            assert_eq!(again.len() as u64, n + 1);
            assert_eq!(again.last().unwrap().2, p);
        });
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn truncate_from_drops_overwritten_entries() {
    let dir = tempdir("trunc");
    let path = dir.join("seg");
    run(async {
        let mut s = Segment::create(&path, 1, None).await.unwrap();
        s.append(&as_refs(&test_entries(1, 31, 1))).await.unwrap();
        s.sync().await.unwrap();
        s.truncate_from(12).await.unwrap();
        assert_eq!(s.next_index(), 12);
        append_reopen_ends_with(s, &path, (12, 2, b"new twelve"), 12).await;
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_preallocated_segment_never_brings_back_cut_records() {
    let dir = tempdir("prealloc");
    let (spare, path) = (dir.join("spare"), dir.join("seg"));
    zero_fill(&spare, 256 << 10).unwrap();
    run(async {
        let mut s = Segment::create(&path, 1, Some(&spare)).await.unwrap();
        assert!(!spare.exists(), "the spare became the segment");
        s.append(&as_refs(&test_entries(1, 41, 1))).await.unwrap();
        s.sync().await.unwrap();
        // A new leader overwrote 10..: shorter records follow, and the
        // old ones past them must stay gone, here and after a reopen.
        s.truncate_from(10).await.unwrap();
        s.append(&[(10, 2, b"ten"), (11, 2, b"eleven")])
            .await
            .unwrap();
        s.sync().await.unwrap();
        s.close().await.unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size >= 256 << 10, "the file keeps its preallocated size");
        let (s, entries, stop) = Segment::open(&path).await.unwrap();
        assert_eq!(stop, Stop::End);
        assert_eq!(entries.len(), 11);
        assert_eq!(entries[10], (11, 2, b"eleven".to_vec()));
        s.close().await.unwrap();
        // Garbage after the end (a torn write) is cut and zeroed on open.
        let mut bytes = std::fs::read(&path).unwrap();
        let end = bytes.iter().rposition(|&b| b != 0).unwrap() + 1;
        let mut junk = Vec::new();
        crate::raft::record::encode(12, 2, b"never acknowledged", &mut junk);
        junk.extend_from_slice(b"torn");
        bytes[end..end + junk.len()].copy_from_slice(&junk);
        bytes[end + 2] ^= 0x55; // the record's length no longer fits
        std::fs::write(&path, &bytes).unwrap();
        let (s, entries, _) = Segment::open(&path).await.unwrap();
        assert_eq!(entries.len(), 11);
        append_reopen_ends_with(s, &path, (12, 3, b"x"), 12).await;
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_segment_of_the_earlier_format_is_refused_by_name() {
    let mut h = header(7);
    assert_eq!(parse_header(&h).unwrap(), 7);
    h[..8].copy_from_slice(MAGIC_V1);
    let crc = record::crc32c(0, &h[..16]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    let e = parse_header(&h).unwrap_err();
    assert_eq!(e.to_string(), crate::raft::OLD_FORMAT);
    h[..8].copy_from_slice(b"XXLOG002");
    assert!(parse_header(&h)
        .unwrap_err()
        .to_string()
        .contains("not a Cache-Cat log segment"));
}
