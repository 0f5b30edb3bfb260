//! The durable home of Raft's vote (term, candidate voted for, whether it
//! is committed) and other small metadata that must survive a crash whole.
//!
//! The file has two 4 KiB slots. A save writes the slot the previous save
//! did not use, with a sequence number and a checksum, then fdatasyncs:
//! a write torn by a power cut damages only the slot being written, and
//! loading takes the valid slot with the highest sequence number, so the
//! previous value survives. The caller replies to a vote request only after
//! `save` returns (never acknowledge before fsync, in every fsync policy).

use std::io::{self, Write};
use std::path::Path;

use glommio::io::DmaFile;

use super::record::crc32c;

const SLOT: u64 = 4096;
const MAGIC: &[u8; 8] = b"CCVOTE01";
/// Bytes of a slot before its payload: magic, sequence, length.
const HEAD: usize = 20;
/// Largest payload a slot holds (the checksum takes the last 4 bytes).
pub const MAX_PAYLOAD: usize = SLOT as usize - HEAD - 4;

pub struct VoteFile {
    file: DmaFile,
    seq: u64,
}

fn slot_bytes(seq: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; SLOT as usize];
    b[..8].copy_from_slice(MAGIC);
    b[8..16].copy_from_slice(&seq.to_le_bytes());
    b[16..20].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    b[HEAD..HEAD + payload.len()].copy_from_slice(payload);
    let crc = crc32c(0, &b[..SLOT as usize - 4]);
    b[SLOT as usize - 4..].copy_from_slice(&crc.to_le_bytes());
    b
}

/// (sequence, payload) of a slot, if it is whole.
fn parse_slot(b: &[u8]) -> Option<(u64, Vec<u8>)> {
    if b.len() < SLOT as usize || &b[..8] != MAGIC {
        return None;
    }
    let crc = u32::from_le_bytes(b[SLOT as usize - 4..SLOT as usize].try_into().ok()?);
    if crc32c(0, &b[..SLOT as usize - 4]) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(b[8..16].try_into().ok()?);
    let len = u32::from_le_bytes(b[16..20].try_into().ok()?) as usize;
    (len <= MAX_PAYLOAD).then(|| (seq, b[HEAD..HEAD + len].to_vec()))
}

impl VoteFile {
    /// Open (creating when missing) and load the latest saved payload.
    pub async fn open(path: &Path) -> io::Result<(VoteFile, Option<Vec<u8>>)> {
        if !path.exists() {
            // Created with ordinary I/O: glommio's first DmaFile on an
            // executor must not be an empty file (see segment.rs).
            let mut f = std::fs::File::create(path)?;
            f.write_all(&vec![0u8; 2 * SLOT as usize])?;
            f.sync_all()?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
        }
        let file = glommio::io::OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(path)
            .await?;
        let data = file.read_at(0, 2 * SLOT as usize).await?;
        let best = [0, 1]
            .iter()
            .filter_map(|&i| {
                let start = i * SLOT as usize;
                parse_slot(data.get(start..start + SLOT as usize)?)
            })
            .max_by_key(|(seq, _)| *seq);
        let (seq, payload) = match best {
            Some((seq, p)) => (seq, Some(p)),
            None => (0, None),
        };
        Ok((VoteFile { file, seq }, payload))
    }

    /// Save `payload` durably (written and fdatasynced) before returning.
    pub async fn save(&mut self, payload: &[u8]) -> io::Result<()> {
        if payload.len() > MAX_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "vote record too large",
            ));
        }
        let seq = self.seq + 1;
        let bytes = slot_bytes(seq, payload);
        let mut buf = self.file.alloc_dma_buffer(SLOT as usize);
        buf.as_bytes_mut().copy_from_slice(&bytes);
        let at = (seq % 2) * SLOT;
        let n = self.file.write_at(buf, at).await?;
        if n != SLOT as usize {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short vote write"));
        }
        self.file.fdatasync().await?;
        self.seq = seq;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::raft::run_local as run;

    #[test]
    fn saves_survive_reopen_and_a_torn_slot() {
        let dir = std::env::temp_dir().join(format!("cachecat-vote-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vote");
        run(async {
            let (mut v, none) = VoteFile::open(&path).await.unwrap();
            assert_eq!(none, None);
            v.save(b"term 1").await.unwrap();
            v.save(b"term 2, voted 3").await.unwrap();
            let (_, got) = VoteFile::open(&path).await.unwrap();
            assert_eq!(got.as_deref(), Some(&b"term 2, voted 3"[..]));
        });
        // A power cut tears the next save: the slot it was writing is
        // garbage, the other still holds the previous vote.
        let mut bytes = std::fs::read(&path).unwrap();
        // The third save would go to slot 3 % 2 = 1.
        let torn = SLOT as usize;
        bytes[torn..torn + 100].fill(0xEE);
        std::fs::write(&path, &bytes).unwrap();
        run(async {
            let (mut v, got) = VoteFile::open(&path).await.unwrap();
            assert_eq!(got.as_deref(), Some(&b"term 2, voted 3"[..]));
            v.save(b"term 4").await.unwrap();
            let (_, got) = VoteFile::open(&path).await.unwrap();
            assert_eq!(got.as_deref(), Some(&b"term 4"[..]));
        });
        std::fs::remove_dir_all(dir).unwrap();
    }
}
