//! The physical clock, read only by the sequencer (writes' logical time) and
//! by server commands that report time (TIME, INFO). Shard code never reads
//! a clock: it receives `now` in its `OpCtx`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (shifted by the test-only clock
/// offset in `faults` builds).
pub fn physical_ms() -> u64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms.saturating_add_signed(crate::faults::clock_offset_ms())
}

/// Microseconds since the Unix epoch (TIME).
pub fn physical_us() -> u64 {
    let us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    us.saturating_add_signed(crate::faults::clock_offset_ms() * 1000)
}

/// A monotonic instant (idle timeouts, uptime).
pub fn monotonic() -> Instant {
    Instant::now()
}

/// Nanoseconds on the monotonic clock since the first call in this
/// process (leases are published to every core as such a number).
pub fn mono_ns() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    Instant::now().duration_since(epoch).as_nanos() as u64
}

/// `mono_ns` of an instant (it must not precede the first `mono_ns` call).
pub fn mono_ns_of(t: Instant) -> u64 {
    let now = Instant::now();
    let back = now.saturating_duration_since(t).as_nanos() as u64;
    mono_ns().saturating_sub(back)
}
