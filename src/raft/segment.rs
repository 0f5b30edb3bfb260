//! One segment file of the Raft log, written with glommio's `DmaFile`
//! (O_DIRECT through io_uring).
//!
//! The first block holds a header (magic, first index, checksum); records
//! (`record.rs`) follow from the second block on. O_DIRECT writes whole
//! aligned blocks, so the last, partial block is kept in memory and written
//! again, zero-padded, with the next batch. `sync` is one fdatasync for
//! everything appended since the last one: the caller acknowledges entries
//! only after it (group commit).
//!
//! The file is created and its header written with ordinary I/O before the
//! executor opens it with `DmaFile`: glommio probes polled I/O on the first
//! `DmaFile` an executor opens, and that probe misfires on an empty file
//! (later reads then fail with EOPNOTSUPP).

use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use glommio::io::DmaFile;

use super::record::{self, Stop};

/// Format 2: operations archived unaligned. Format 1 (aligned) is refused
/// by name rather than misread.
const MAGIC: &[u8; 8] = b"CCLOG002";
const MAGIC_V1: &[u8; 8] = b"CCLOG001";
/// Size of the header block; records start here. A multiple of every
/// O_DIRECT alignment in use (512 or 4096).
pub const HEADER_BLOCK: u64 = 4096;

/// An entry as stored: index, term, serialized payload.
pub type Stored = (u64, u64, Vec<u8>);

pub struct Segment {
    file: DmaFile,
    path: PathBuf,
    pub first_index: u64,
    /// Offset of each record, by index - first_index.
    offsets: Vec<u64>,
    /// Logical end: the byte after the last record.
    end: u64,
    /// Logical end covered by the last fdatasync.
    synced: u64,
    /// The records' bytes in the partial last block (from the block's start
    /// to `end`), written again with the next append.
    tail: Vec<u8>,
    align: u64,
    /// Everything from here to the end of the file is zeros (a
    /// preallocated segment's unused part, or past the file's end).
    clean_from: u64,
    /// Appends go through the page cache with this file (`appendfsync
    /// everysec|no`: nothing waits for the device on the write path).
    /// Reads, cuts and fdatasync stay on the DmaFile: the kernel writes
    /// dirty pages back before an O_DIRECT access to them, and fdatasync
    /// covers the file whichever descriptor wrote it.
    buffered: Option<std::fs::File>,
}

fn header(first_index: u64) -> Vec<u8> {
    let mut h = vec![0u8; HEADER_BLOCK as usize];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&first_index.to_le_bytes());
    let crc = record::crc32c(0, &h[..16]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

fn parse_header(h: &[u8]) -> io::Result<u64> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "not a Cache-Cat log segment");
    if h.len() >= 8 && &h[..8] == MAGIC_V1 {
        return Err(super::old_format());
    }
    if h.len() < 20 || &h[..8] != MAGIC {
        return Err(bad());
    }
    let crc = u32::from_le_bytes(h[16..20].try_into().expect("4 bytes"));
    if record::crc32c(0, &h[..16]) != crc {
        return Err(bad());
    }
    Ok(u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")))
}

fn sync_dir(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Fill a new file at `path` with `bytes` zeros (rounded up to whole 4 KiB
/// blocks) and make it durable, so that later O_DIRECT writes into it
/// overwrite allocated blocks: they complete without a kernel worker thread,
/// and an fdatasync after them has no file size or extent change to commit.
/// Blocking: run off the executor.
///
/// The zeros go around the page cache (O_DIRECT, where the file system
/// allows it) and are made durable a chunk at a time. Written through the
/// page cache, the fill cost a memory copy of the whole file on the
/// executor's core, left pages that every later O_DIRECT append had to
/// drop, and ended in one flush of the whole file that the log's own next
/// fdatasync then waited behind (about 10 ms at each roll under load). A
/// flush per chunk keeps what a concurrent fdatasync can find queued ahead
/// of it to one chunk.
pub fn zero_fill(path: &Path, bytes: u64) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    const CHUNK: usize = 1 << 20;
    let bytes = bytes.next_multiple_of(PAGE);
    let open = |flags| {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(flags)
            .open(path)
    };
    let mut f = match open(libc::O_DIRECT) {
        Ok(f) => f,
        // A file system without O_DIRECT (tmpfs): through the page cache.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => open(0)?,
        Err(e) => return Err(e),
    };
    // O_DIRECT reads the buffer from an aligned address: take the aligned
    // chunk inside a slightly larger one.
    let buf = vec![0u8; CHUNK + PAGE as usize];
    let at = buf.as_ptr().align_offset(PAGE as usize);
    let zeros = &buf[at..at + CHUNK];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(&zeros[..n])?;
        // Each chunk's fdatasync also commits the size it added.
        f.sync_data()?;
        left -= n as u64;
    }
    sync_dir(path)
}

/// The least unit a segment writes, and what zero fills round to: a page,
/// so that neither the page cache (buffered appends) nor a disk with 4 KiB
/// physical blocks behind 512-byte logical ones has to read before it can
/// write, and a multiple of every O_DIRECT alignment.
const PAGE: u64 = 4096;

/// Write and sync a new segment's header block at `path`, in `spare`
/// (then renamed to `path`) when given, and sync the directory. Blocking.
fn write_header(path: &Path, first_index: u64, spare: Option<&Path>) -> io::Result<()> {
    let mut f = match spare {
        Some(spare) => {
            let mut f = std::fs::OpenOptions::new().write(true).open(spare)?;
            f.seek(std::io::SeekFrom::Start(0))?;
            f
        }
        None => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?,
    };
    f.write_all(&header(first_index))?;
    f.sync_all()?;
    if let Some(spare) = spare {
        std::fs::rename(spare, path)?;
    }
    sync_dir(path)
}

impl Segment {
    /// Create a segment whose first record will have index `first_index`,
    /// in the zero-filled file `spare` when one is given (renamed to
    /// `path`), else in a new file that grows with its records.
    pub async fn create(
        path: &Path,
        first_index: u64,
        spare: Option<&Path>,
    ) -> io::Result<Segment> {
        // The header's write, its fsync and the directory's are blocking
        // calls: a helper thread makes them, so the executor (heartbeats,
        // clients) does not stop for the disk at each roll.
        let (owned, spare_owned) = (path.to_path_buf(), spare.map(Path::to_path_buf));
        glommio::executor()
            .spawn_blocking(move || write_header(&owned, first_index, spare_owned.as_deref()))
            .await?;
        let file = glommio::io::OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(path)
            .await?;
        let align = file.alignment().max(PAGE);
        Ok(Segment {
            file,
            path: path.to_path_buf(),
            first_index,
            offsets: Vec::new(),
            end: HEADER_BLOCK,
            synced: HEADER_BLOCK,
            tail: Vec::new(),
            align,
            clean_from: HEADER_BLOCK,
            buffered: None,
        })
    }

    /// Open an existing segment and recover it: the valid records, and the
    /// segment cut after them (a torn or corrupt tail is zeroed, never
    /// applied). Returns the records and why the scan stopped.
    pub async fn open(path: &Path) -> io::Result<(Segment, Vec<Stored>, Stop)> {
        let file = glommio::io::OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(path)
            .await?;
        let align = file.alignment().max(PAGE);
        let size = file.file_size().await?;
        let data = if size > 0 {
            file.read_at(0, size as usize).await?.to_vec()
        } else {
            Vec::new()
        };
        let first_index = parse_header(&data)?;
        let body = data.get(HEADER_BLOCK as usize..).unwrap_or(&[]);
        let (found, end, stop) = record::scan(body, first_index);
        let offsets = found
            .iter()
            .map(|f| HEADER_BLOCK + f.offset as u64)
            .collect();
        let entries: Vec<Stored> = found
            .iter()
            .map(|f| (f.index, f.term, f.payload.to_vec()))
            .collect();
        // Past the last non-zero byte the file is clean (a preallocated
        // segment's unused part).
        let dirty_end = data
            .iter()
            .rposition(|&b| b != 0)
            .map_or(0, |p| p as u64 + 1);
        let mut seg = Segment {
            file,
            path: path.to_path_buf(),
            first_index,
            offsets,
            end: HEADER_BLOCK + end as u64,
            synced: HEADER_BLOCK + end as u64,
            tail: Vec::new(),
            align,
            clean_from: 0,
            buffered: None,
        };
        seg.clean_from = seg.align_up(dirty_end.max(HEADER_BLOCK));
        let end = seg.end;
        let tail = &data[seg.align_down(end) as usize..end as usize];
        if stop != Stop::End || seg.clean_from > seg.align_up(end) {
            seg.cut_to(end, tail.to_vec()).await?;
        } else {
            seg.tail = tail.to_vec();
        }
        Ok((seg, entries, stop))
    }

    fn align_down(&self, v: u64) -> u64 {
        v / self.align * self.align
    }

    fn align_up(&self, v: u64) -> u64 {
        v.div_ceil(self.align) * self.align
    }

    /// End the segment at `end`: rewrite the block holding it with `tail`
    /// (its bytes up to `end`) and zeros after, zero every block past it
    /// that held anything (so no old record can ever be read past the new
    /// end), and make that durable. The file keeps its size.
    async fn cut_to(&mut self, end: u64, tail: Vec<u8>) -> io::Result<()> {
        if !tail.is_empty() {
            self.write_blocks(self.align_down(end), &tail).await?;
        }
        let mut at = self.align_up(end);
        while at < self.clean_from {
            let n = (self.clean_from - at).min(1 << 20);
            self.write_blocks(at, &vec![0u8; n as usize]).await?;
            at += n;
        }
        self.clean_from = self.align_up(end);
        self.file.fdatasync().await?;
        self.end = end;
        self.synced = end;
        self.tail = tail;
        Ok(())
    }

    /// Write `bytes` at aligned offset `pos`, zero-padded to whole blocks.
    async fn write_blocks(&self, pos: u64, bytes: &[u8]) -> io::Result<()> {
        let len = self.align_up(bytes.len() as u64) as usize;
        let mut buf = self.file.alloc_dma_buffer(len);
        let b = buf.as_bytes_mut();
        b[..bytes.len()].copy_from_slice(bytes);
        b[bytes.len()..].fill(0);
        let written = self.file.write_at(buf, pos).await?;
        if written != len {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short O_DIRECT write",
            ));
        }
        Ok(())
    }

    /// Send appends through the page cache from now on.
    pub fn set_buffered(&mut self) -> io::Result<()> {
        self.buffered = Some(std::fs::OpenOptions::new().write(true).open(&self.path)?);
        Ok(())
    }

    /// The next index this segment expects.
    pub fn next_index(&self) -> u64 {
        self.first_index + self.offsets.len() as u64
    }

    pub fn last_index(&self) -> Option<u64> {
        self.next_index()
            .checked_sub(1)
            .filter(|&i| i >= self.first_index)
    }

    /// Bytes of records (the header block excluded).
    pub fn size(&self) -> u64 {
        self.end - HEADER_BLOCK
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append records, which must continue the index sequence. Written, not
    /// yet durable: call `sync`.
    pub async fn append(&mut self, entries: &[(u64, u64, &[u8])]) -> io::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let base = self.next_index();
        if let Some((i, (index, ..))) = entries
            .iter()
            .enumerate()
            .find(|(i, e)| e.0 != base + *i as u64)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("index {index} where {} was due", base + i as u64),
            ));
        }
        let start = self.align_down(self.end);
        // The partial last block is written again, with the new records.
        let mut bytes = std::mem::take(&mut self.tail);
        let mut at = self.end;
        for (index, term, payload) in entries {
            let before = bytes.len();
            record::encode(*index, *term, payload, &mut bytes);
            self.offsets.push(at);
            at += (bytes.len() - before) as u64;
        }
        match &self.buffered {
            // Through the page cache: whole pages, as the O_DIRECT path
            // writes them, so the kernel never reads a page from disk to
            // merge a partial write into it (the file was zero-filled
            // around the page cache).
            Some(f) => {
                use std::os::unix::fs::FileExt;
                let len = bytes.len();
                bytes.resize(self.align_up(len as u64) as usize, 0);
                f.write_all_at(&bytes, start)?;
                bytes.truncate(len);
            }
            None => self.write_blocks(start, &bytes).await?,
        }
        self.end = at;
        self.clean_from = self.clean_from.max(self.align_up(at));
        bytes.drain(..(self.align_down(at) - start) as usize);
        self.tail = bytes;
        Ok(())
    }

    /// Make everything appended so far durable (one fdatasync).
    pub async fn sync(&mut self) -> io::Result<()> {
        if self.synced < self.end {
            self.file.fdatasync().await?;
            self.synced = self.end;
            crate::faults::synced(&self.path, self.synced);
        }
        Ok(())
    }

    /// Logical end covered by the last fdatasync (what a power loss keeps
    /// at least; the fault harness truncates to a point at or after it).
    pub fn synced_end(&self) -> u64 {
        self.synced
    }

    /// Remove the records with index >= `index` (a leader overwrote them),
    /// durably.
    pub async fn truncate_from(&mut self, index: u64) -> io::Result<()> {
        if index >= self.next_index() {
            return Ok(());
        }
        let keep = index.saturating_sub(self.first_index) as usize;
        let end = self.offsets[keep];
        let start = self.align_down(end);
        let tail = if end > start {
            self.file
                .read_at(start, (end - start) as usize)
                .await?
                .to_vec()
        } else {
            Vec::new()
        };
        self.offsets.truncate(keep);
        self.cut_to(end, tail).await
    }

    /// The term and payload of the record with `index`, read back from the
    /// file (and checked again).
    pub async fn read(&self, index: u64) -> io::Result<Option<(u64, Vec<u8>)>> {
        let Some(i) = index.checked_sub(self.first_index).map(|i| i as usize) else {
            return Ok(None);
        };
        let Some(&start) = self.offsets.get(i) else {
            return Ok(None);
        };
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.end);
        let bytes = self.file.read_at(start, (end - start) as usize).await?;
        match record::scan(&bytes, index).0.first() {
            Some(f) => Ok(Some((f.term, f.payload.to_vec()))),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("log record {index} no longer reads back whole"),
            )),
        }
    }

    /// Delete the segment's file.
    pub async fn remove(self) -> io::Result<()> {
        let path = self.path.clone();
        self.close().await?;
        std::fs::remove_file(&path)?;
        sync_dir(&path)
    }

    pub async fn close(self) -> io::Result<()> {
        self.file
            .close()
            .await
            .map_err(|e| io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
#[path = "segment_tests.rs"]
mod tests;
