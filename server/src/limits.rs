//! Protocol and connection limits, and the per-device rate limiter that enforces one of them.
//!
//! Each exceeded limit has its own refusal code (`frame.too_large`, `round.too_many_docs`,
//! `conn.too_many`, `rate.limited`, `conn.idle_timeout`) so a device can tell a user what happened,
//! and none of them takes the server down.
//!
//! Leaves out: where the limits are checked (the sync driver and the HTTP layer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kefu_core::ids::DeviceId;

/// The limits a server runs under. Defaults come from `kefu serve` flags (`config.rs`).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest sync frame or request body, in bytes (default 8 MiB).
    pub max_message_bytes: usize,
    /// Most documents in one push (default 500).
    pub max_docs_per_round: usize,
    /// Most documents in one reply (default 200).
    pub max_updates_per_reply: usize,
    /// Most live WebSocket sessions per device token (default 4).
    pub max_connections_per_device: usize,
    /// A WebSocket with no frame from the device for this long is closed (default 120 s).
    pub idle_timeout: Duration,
    /// Sustained rounds per second per device (default 20).
    pub rate_per_sec: f64,
    /// Burst of rounds above the sustained rate (default 40).
    pub rate_burst: u32,
    /// A `POST /v1/sync` body must arrive within this (default 30 s), so a slow sender cannot
    /// hold a connection and a buffer indefinitely.
    pub body_read_timeout: Duration,
    /// A round's database work is waited for this long (default 30 s); past it the device is
    /// refused `server.internal` and resends, which is safe because rounds are idempotent.
    pub round_timeout: Duration,
}

/// A token bucket per device. In memory only: it is a guard against a runaway client, not an
/// account of usage, so losing it on restart or keeping one per server process is fine.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<DeviceId, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A limiter allowing `rate_per_sec` rounds per second with bursts of `burst`.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        RateLimiter { rate_per_sec, burst: f64::from(burst), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one round from the device's bucket at `now`; `false` means refuse with `rate.limited`.
    pub fn try_acquire(&self, device: DeviceId, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry(device).or_insert(Bucket { tokens: self.burst, refilled_at: now });
        let elapsed = now.saturating_duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_sec).min(self.burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_the_bucket_refills() {
        let limiter = RateLimiter::new(2.0, 3);
        let device = DeviceId::from_u128(1);
        let other = DeviceId::from_u128(2);
        let start = Instant::now();
        let granted: Vec<bool> = (0..4).map(|_| limiter.try_acquire(device, start)).collect();
        assert_eq!(granted, [true, true, true, false]);
        assert!(limiter.try_acquire(other, start), "buckets are per device");
        assert!(!limiter.try_acquire(device, start + Duration::from_millis(400)));
        assert!(limiter.try_acquire(device, start + Duration::from_millis(600)));
    }
}
