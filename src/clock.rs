//! The physical clock, read only by the sequencer (writes' logical time) and
//! by server commands that report time (TIME, INFO). Shard code never reads
//! a clock: it receives `now` in its `OpCtx`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn physical_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Microseconds since the Unix epoch (TIME).
pub fn physical_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A monotonic instant (idle timeouts, uptime).
pub fn monotonic() -> Instant {
    Instant::now()
}
