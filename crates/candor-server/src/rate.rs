//! Token-bucket rate limits, one bucket per credential: a server or publishable key by its
//! id, a visitor or a logged-in person by their token's identity (so for browser tokens the
//! limit is per person). Past the bucket a request is answered 429 with `Retry-After`.
//!
//! Buckets live in this instance's memory: with N instances behind a balancer a credential
//! gets up to N times the rate. They are bounded in number: when full, idle buckets (those
//! that have refilled) are forgotten first, which loses nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Most buckets kept; past it, full ones are dropped.
const BUCKETS_MAX: usize = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets. A std mutex: held for one map lookup and a little arithmetic, never across an
/// await.
#[derive(Default)]
pub struct RateLimiter(Mutex<HashMap<Vec<u8>, Bucket>>);

impl RateLimiter {
    /// Takes one token from `id`'s bucket (`per_second` sustained, `burst` at most), or says
    /// how many seconds until one is there.
    pub fn take(&self, id: &[u8], per_second: u32, burst: u32) -> Result<(), u64> {
        let (rate, burst) = (f64::from(per_second.max(1)), f64::from(burst.max(1)));
        let now = Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= BUCKETS_MAX && !map.contains_key(id) {
            map.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
            if map.len() >= BUCKETS_MAX {
                map.clear();
            }
        }
        let bucket = map.entry(id.to_vec()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil() as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert_eq!(limiter.take(b"k", 1, 3), Ok(()));
        }
        assert_eq!(limiter.take(b"k", 1, 3), Err(1));
        // Another credential has its own bucket.
        assert_eq!(limiter.take(b"other", 1, 3), Ok(()));
    }

    #[test]
    fn a_full_map_forgets_idle_buckets_first() {
        let limiter = RateLimiter::default();
        for i in 0..BUCKETS_MAX {
            limiter
                .take(&(i as u64).to_be_bytes(), 1_000_000, 10)
                .unwrap();
        }
        limiter.take(b"new", 1, 1).unwrap();
        assert!(limiter.0.lock().unwrap().len() < BUCKETS_MAX);
    }
}
