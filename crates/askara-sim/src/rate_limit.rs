//! Askara's per-client token bucket. Refills are discrete (`refill` every `period`), which is
//! what makes `x-ratelimit-reset` a meaningful instant.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::RateLimit;

/// What the `x-ratelimit-*` headers of one response say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Quota {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds of the next refill.
    pub reset: u64,
    /// Whole seconds until the next refill, rounded up; `Retry-After` when the bucket is empty.
    pub retry_after: u64,
}

struct Bucket {
    tokens: u64,
    last_refill: Instant,
}

pub(crate) struct RateLimiter {
    limit: Option<RateLimit>,
    buckets: HashMap<String, Bucket>,
}

pub(crate) fn unix_secs_in(d: Duration) -> u64 {
    let at = SystemTime::now() + d;
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    // Rounded up so a client waiting until `reset` never arrives early.
    since.as_secs() + u64::from(since.subsec_nanos() > 0)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl RateLimiter {
    pub(crate) fn new(limit: Option<RateLimit>) -> RateLimiter {
        RateLimiter {
            limit,
            buckets: HashMap::new(),
        }
    }

    fn bucket(&mut self, client: &str, limit: RateLimit, now: Instant) -> &mut Bucket {
        let bucket = self
            .buckets
            .entry(client.to_string())
            .or_insert_with(|| Bucket {
                tokens: limit.capacity,
                last_refill: now,
            });
        if !limit.period.is_zero() {
            let elapsed = now.saturating_duration_since(bucket.last_refill);
            let periods = elapsed.as_nanos() / limit.period.as_nanos();
            if periods > 0 {
                let periods = u32::try_from(periods).unwrap_or(u32::MAX);
                bucket.tokens = bucket
                    .tokens
                    .saturating_add(limit.refill.saturating_mul(u64::from(periods)))
                    .min(limit.capacity);
                bucket.last_refill += limit.period.saturating_mul(periods);
            }
        }
        bucket
    }

    fn quota(limit: RateLimit, bucket: &Bucket, now: Instant) -> Quota {
        let next = (bucket.last_refill + limit.period).saturating_duration_since(now);
        Quota {
            limit: limit.capacity,
            remaining: bucket.tokens,
            reset: unix_secs_in(next),
            retry_after: ceil_secs(next).max(1),
        }
    }

    /// Takes one token. `Err` carries the quota to report in the 429.
    pub(crate) fn consume(&mut self, client: &str) -> Option<Result<Quota, Quota>> {
        let limit = self.limit?;
        let now = Instant::now();
        let bucket = self.bucket(client, limit, now);
        if bucket.tokens == 0 {
            return Some(Err(Self::quota(limit, bucket, now)));
        }
        bucket.tokens -= 1;
        Some(Ok(Self::quota(limit, bucket, now)))
    }

    /// The quota without spending any, for responses refused before the bucket is reached.
    pub(crate) fn peek(&mut self, client: &str) -> Option<Quota> {
        let limit = self.limit?;
        let now = Instant::now();
        let bucket = self.bucket(client, limit, now);
        Some(Self::quota(limit, bucket, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(capacity: u64, refill: u64, period: Duration) -> RateLimiter {
        RateLimiter::new(Some(RateLimit {
            capacity,
            refill,
            period,
        }))
    }

    #[test]
    fn spends_then_refuses_then_refills_discretely() {
        let mut rl = limiter(2, 1, Duration::from_millis(40));
        assert_eq!(rl.consume("c").unwrap().unwrap().remaining, 1);
        assert_eq!(rl.consume("c").unwrap().unwrap().remaining, 0);
        let refused = rl.consume("c").unwrap().unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!(refused.retry_after >= 1);
        // Buckets are per client.
        assert_eq!(rl.consume("other").unwrap().unwrap().remaining, 1);
        std::thread::sleep(Duration::from_millis(90));
        // Two periods passed but the bucket never exceeds capacity.
        assert_eq!(rl.peek("c").unwrap().remaining, 2);
    }

    #[test]
    fn reset_is_the_next_refill_and_no_limit_means_no_headers() {
        let mut rl = limiter(5000, 500, Duration::from_secs(900));
        let q = rl.consume("c").unwrap().unwrap();
        let now = unix_secs_in(Duration::ZERO);
        assert!(q.reset >= now + 899 && q.reset <= now + 901);
        assert_eq!((q.limit, q.remaining), (5000, 4999));
        assert!(RateLimiter::new(None).consume("c").is_none());
    }
}
