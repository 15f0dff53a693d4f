use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub fn now() -> u64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    real.saturating_add_signed(test_offset())
}

/// Debug builds only: `SEALDROP_TEST_CLOCK_OFFSET` seconds added to the
/// clock, so that end-to-end tests can run an operator command days
/// later (a retention purge that is due) without waiting for days. A
/// release build has no such knob.
#[cfg(debug_assertions)]
fn test_offset() -> i64 {
    std::env::var("SEALDROP_TEST_CLOCK_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(not(debug_assertions))]
fn test_offset() -> i64 {
    0
}
