//! Reading Askara's rate-limit signals: `Retry-After` (seconds or HTTP date) and the
//! `x-ratelimit-*` headers (token bucket; reset is Unix time).

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use std::time::Duration;

pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at: DateTime<Utc> = httpdate::parse_http_date(value).ok()?.into();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The bucket as the last response described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RateLimitStatus {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_at: Option<DateTime<Utc>>,
}

impl RateLimitStatus {
    pub fn from_headers(h: &reqwest::header::HeaderMap) -> Option<Self> {
        let num = |k: &str| {
            h.get(k)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let status = RateLimitStatus {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset_at: num("x-ratelimit-reset")
                .and_then(|s| i64::try_from(s).ok())
                .and_then(|s| Utc.timestamp_opt(s, 0).single()),
        };
        (status.limit.is_some() || status.remaining.is_some() || status.reset_at.is_some())
            .then_some(status)
    }

    /// Below a tenth of the bucket, pollers should stretch their interval.
    pub fn running_low(&self) -> bool {
        matches!((self.remaining, self.limit), (Some(r), Some(l)) if r * 10 < l)
    }
}

/// How long a 429 asks us to wait: `Retry-After` first, else until the bucket resets.
pub fn rate_limit_wait(h: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Duration {
    h.get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| {
            RateLimitStatus::from_headers(h)
                .and_then(|s| s.reset_at)
                .map(|r| (r - now).to_std().unwrap_or(Duration::ZERO))
        })
        .unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now = Utc.with_ymd_and_hms(2026, 2, 24, 10, 30, 0).unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Tue, 24 Feb 2026 10:30:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Tue, 24 Feb 2026 10:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn wait_falls_back_to_the_reset_header() {
        let now = Utc.with_ymd_and_hms(2026, 2, 24, 10, 30, 0).unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = (now.timestamp() + 90).to_string();
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        assert_eq!(rate_limit_wait(&h, now), Duration::from_secs(90));
        assert!(RateLimitStatus::from_headers(&h).unwrap().running_low());
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(rate_limit_wait(&h, now), Duration::from_secs(3));
    }
}
