//! Prometheus counters, written out by hand: a handful of atomics needs no
//! metrics framework. Labels carry error codes and routes only, never IDs,
//! tokens or addresses.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use sealdrop_api::ErrorCode;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0];

pub struct Metrics {
    submissions: AtomicU64,
    duplicates: AtomicU64,
    releases: AtomicU64,
    enrolments: AtomicU64,
    refusals: [AtomicU64; ErrorCode::ALL.len()],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);

pub static METRICS: Metrics = Metrics {
    submissions: ZERO,
    duplicates: ZERO,
    releases: ZERO,
    enrolments: ZERO,
    refusals: [ZERO; ErrorCode::ALL.len()],
    latency_buckets: [ZERO; BUCKETS.len()],
    latency_count: ZERO,
    latency_micros: ZERO,
};

impl Metrics {
    pub fn submission(&self, duplicate: bool) {
        if duplicate {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            self.submissions.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn release(&self) {
        self.releases.fetch_add(1, Ordering::Relaxed);
    }

    pub fn enrolment(&self) {
        self.enrolments.fetch_add(1, Ordering::Relaxed);
    }

    pub fn refusal(&self, code: ErrorCode) {
        let index = ErrorCode::ALL.iter().position(|c| *c == code);
        if let Some(counter) = index.and_then(|i| self.refusals.get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn observe(&self, seconds: f64) {
        for (bound, counter) in BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP sealdrop_submissions_total Reports stored.\n# TYPE sealdrop_submissions_total counter\nsealdrop_submissions_total {}",
            get(&self.submissions)
        );
        let _ = writeln!(
            out,
            "# HELP sealdrop_duplicate_submissions_total Reports sent again and answered with their first acknowledgement.\n# TYPE sealdrop_duplicate_submissions_total counter\nsealdrop_duplicate_submissions_total {}",
            get(&self.duplicates)
        );
        let _ = writeln!(
            out,
            "# HELP sealdrop_releases_total Envelopes released to recipients.\n# TYPE sealdrop_releases_total counter\nsealdrop_releases_total {}",
            get(&self.releases)
        );
        let _ = writeln!(
            out,
            "# HELP sealdrop_enrolments_total People enrolled.\n# TYPE sealdrop_enrolments_total counter\nsealdrop_enrolments_total {}",
            get(&self.enrolments)
        );
        let _ = writeln!(
            out,
            "# HELP sealdrop_refusals_total Requests refused, by error code.\n# TYPE sealdrop_refusals_total counter"
        );
        for (code, counter) in ErrorCode::ALL.iter().zip(&self.refusals) {
            let _ = writeln!(
                out,
                "sealdrop_refusals_total{{code=\"{code}\"}} {}",
                get(counter)
            );
        }
        let _ = writeln!(
            out,
            "# HELP sealdrop_request_seconds Request latency.\n# TYPE sealdrop_request_seconds histogram"
        );
        for (bound, counter) in BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(
                out,
                "sealdrop_request_seconds_bucket{{le=\"{bound}\"}} {}",
                get(counter)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "sealdrop_request_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "sealdrop_request_seconds_sum {}",
            get(&self.latency_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "sealdrop_request_seconds_count {count}");
        out
    }
}
