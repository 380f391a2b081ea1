//! Injected misbehaviour. Faults are queued: each resource request takes the next one, so a
//! test can script "two 503s, then a slow answer" exactly.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::state::lock;
use crate::tokens::TokenStore;

/// How a simulated 429 says when to come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <HTTP-date>` this far in the future.
    HttpDate(Duration),
    /// No `Retry-After`; only `x-ratelimit-reset` tells when.
    Absent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Fail(u16),
    RateLimited(RetryAfter),
    Slow(Duration),
    Drop,
}

#[derive(Default)]
struct Queues {
    resource: VecDeque<Fault>,
    token: VecDeque<u16>,
}

/// Shared handle to the simulator's fault queues; cheap to clone.
#[derive(Clone)]
pub struct Faults {
    queues: Arc<Mutex<Queues>>,
    tokens: Arc<Mutex<TokenStore>>,
}

impl Faults {
    pub(crate) fn new(tokens: Arc<Mutex<TokenStore>>) -> Faults {
        Faults {
            queues: Arc::default(),
            tokens,
        }
    }

    fn push(&self, n: usize, fault: Fault) {
        lock(&self.queues)
            .resource
            .extend(std::iter::repeat_n(fault, n));
    }

    /// The next `n` resource requests get `status` (meant for 500/502/503) with a problem body.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.push(n, Fault::Fail(status));
    }

    /// The next `n` resource requests get 429.
    pub fn rate_limit_next(&self, n: usize, retry_after: RetryAfter) {
        self.push(n, Fault::RateLimited(retry_after));
    }

    /// The next `n` resource requests are answered correctly, after `delay`.
    pub fn slow_next(&self, n: usize, delay: Duration) {
        self.push(n, Fault::Slow(delay));
    }

    /// The next `n` resource requests see their connection closed with no response.
    pub fn drop_next(&self, n: usize) {
        self.push(n, Fault::Drop);
    }

    /// Every access and refresh token issued so far stops working at once.
    pub fn revoke_all_tokens(&self) {
        lock(&self.tokens).revoke_all();
    }

    /// Every access token issued so far is expired; refresh tokens keep working.
    pub fn expire_access_tokens(&self) {
        lock(&self.tokens).expire_access_tokens();
    }

    /// The next `n` requests to `/oauth2/token` get `status`.
    pub fn fail_token_next(&self, n: usize, status: u16) {
        lock(&self.queues)
            .token
            .extend(std::iter::repeat_n(status, n));
    }

    /// Forgets queued faults. Revocations and expiries already applied stay.
    pub fn clear(&self) {
        let mut q = lock(&self.queues);
        q.resource.clear();
        q.token.clear();
    }

    pub(crate) fn take_resource(&self) -> Option<Fault> {
        lock(&self.queues).resource.pop_front()
    }

    pub(crate) fn take_token(&self) -> Option<u16> {
        lock(&self.queues).token.pop_front()
    }
}
