//! Test-only fault hooks (`--features faults`; absent from default builds,
//! where every hook is a constant no-op). They are set by command-line
//! flags and by a file the node watches, never by a client command.
//!
//! `--faults-file PATH`: the node re-reads PATH every 50 ms; lines
//!
//! ```text
//! drop-peers 1 3         # drop peer traffic to and from these node ids
//! clock-offset-ms -250   # shift this node's wall clock (not its monotonic clock)
//! ```
//!
//! A missing file means no faults. `--faults-sync-file PATH`: after every
//! fdatasync of the log, the node writes `segment-path offset` there (the
//! bytes of that segment known durable), so a power-loss test can cut the
//! log anywhere after it.
//!
//! Planted bugs, each a yes/no flag, so the fault harness can show that it
//! catches them: `--faults-ack-before-fsync` (with `appendfsync always`,
//! entries count as flushed once written, fdatasync follows each second),
//! `--faults-follower-reads` (followers answer reads from their own state),
//! `--faults-reads-before-tick` (a new leader serves reads before its first
//! Tick is applied), `--faults-local-expiry` (TTLs are judged by this node's
//! wall clock instead of the entry's logical time).

#[cfg(feature = "faults")]
mod imp {
    use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
    use std::sync::Mutex;

    static DROPPED: AtomicU64 = AtomicU64::new(0);
    /// Planted bugs, set once at start (see the module notes).
    pub static BUGS: Bugs = Bugs::new();

    pub struct Bugs {
        pub ack_before_fsync: AtomicBool,
        pub follower_reads: AtomicBool,
        pub reads_before_tick: AtomicBool,
        pub local_expiry: AtomicBool,
    }

    impl Bugs {
        const fn new() -> Bugs {
            Bugs {
                ack_before_fsync: AtomicBool::new(false),
                follower_reads: AtomicBool::new(false),
                reads_before_tick: AtomicBool::new(false),
                local_expiry: AtomicBool::new(false),
            }
        }
    }

    pub fn ack_before_fsync() -> bool {
        BUGS.ack_before_fsync.load(Relaxed)
    }
    pub fn follower_reads() -> bool {
        BUGS.follower_reads.load(Relaxed)
    }
    pub fn reads_before_tick() -> bool {
        BUGS.reads_before_tick.load(Relaxed)
    }

    /// The time TTLs are judged by: the operation's logical time, or with
    /// the local-expiry bug this node's wall clock.
    pub fn expiry_now(logical_ms: u64) -> u64 {
        if BUGS.local_expiry.load(Relaxed) {
            crate::clock::physical_ms()
        } else {
            logical_ms
        }
    }
    static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);
    static SYNC_FILE: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);

    pub fn dropped(node: u64) -> bool {
        node < 64 && DROPPED.load(Relaxed) & (1 << node) != 0
    }

    pub fn clock_offset_ms() -> i64 {
        CLOCK_OFFSET_MS.load(Relaxed)
    }

    fn apply(text: &str) {
        let mut dropped = 0u64;
        let mut offset = 0i64;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some("drop-peers") => {
                    for w in words {
                        if let Ok(id) = w.parse::<u64>() {
                            if id < 64 {
                                dropped |= 1 << id;
                            }
                        }
                    }
                }
                Some("clock-offset-ms") => {
                    offset = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
                }
                _ => {}
            }
        }
        DROPPED.store(dropped, Relaxed);
        CLOCK_OFFSET_MS.store(offset, Relaxed);
    }

    /// Follow the faults file from a helper thread.
    pub fn watch(path: std::path::PathBuf) {
        std::thread::Builder::new()
            .name("cachecat-faults".into())
            .spawn(move || loop {
                apply(&std::fs::read_to_string(&path).unwrap_or_default());
                std::thread::sleep(std::time::Duration::from_millis(50));
            })
            .expect("faults thread");
    }

    pub fn set_sync_file(path: std::path::PathBuf) {
        *SYNC_FILE.lock().expect("sync file") = Some(path);
    }

    pub fn synced(segment: &std::path::Path, offset: u64) {
        let Some(path) = SYNC_FILE.lock().expect("sync file").clone() else {
            return;
        };
        let tmp = path.with_extension("tmp");
        let line = format!("{} {offset}\n", segment.display());
        if std::fs::write(&tmp, line).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

#[cfg(feature = "faults")]
pub use imp::*;

#[cfg(not(feature = "faults"))]
mod imp {
    pub fn dropped(_node: u64) -> bool {
        false
    }
    pub fn clock_offset_ms() -> i64 {
        0
    }
    pub fn synced(_segment: &std::path::Path, _offset: u64) {}
    pub fn ack_before_fsync() -> bool {
        false
    }
    pub fn follower_reads() -> bool {
        false
    }
    pub fn reads_before_tick() -> bool {
        false
    }
    pub fn expiry_now(logical_ms: u64) -> u64 {
        logical_ms
    }
}

#[cfg(not(feature = "faults"))]
pub use imp::*;
