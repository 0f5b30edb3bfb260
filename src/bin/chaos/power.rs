//! Power loss on one node: what a crash of the machine may leave of its
//! log. The node records the last fdatasync'd offset of its current
//! segment (`--faults-sync-file`); everything after it may be lost, so the
//! segment is cut at a random point at or after that offset and later
//! segments (never synced) are removed.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cluster::Node;

/// Cut node `n`'s log (the node must be dead) `extra` bytes past its last
/// fdatasync'd offset, or at the end of the written data if that is
/// sooner. Describes what was cut.
pub fn cut_log(n: &Node, extra: u64) -> Result<String> {
    let Ok(text) = fs::read_to_string(n.sync_file()) else {
        return Ok("nothing synced yet: log left whole".into());
    };
    let (seg, offset) = text
        .trim()
        .rsplit_once(' ')
        .context("sync file: segment and offset")?;
    let offset: u64 = offset.parse().context("sync file offset")?;
    let seg = PathBuf::from(seg);
    let dir = seg.parent().context("segment directory")?;
    let name = seg.file_name().context("segment name")?.to_owned();
    let mut removed = 0;
    for e in fs::read_dir(dir)? {
        let p = e?.path();
        let later = p.extension().is_some_and(|x| x == "seg")
            && p.file_name().is_some_and(|f| f > name.as_os_str());
        if later {
            fs::remove_file(&p)?;
            removed += 1;
        }
    }
    let f = fs::OpenOptions::new().write(true).open(&seg)?;
    let len = f.metadata()?.len();
    let cut = (offset + extra).min(len);
    f.set_len(cut)?;
    f.sync_all()?;
    Ok(format!(
        "cut {} at {cut} (synced to {offset}), {removed} later segments removed",
        name.to_string_lossy()
    ))
}
