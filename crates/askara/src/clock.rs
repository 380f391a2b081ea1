//! Time, injected so that retry and polling logic is tested without sleeping.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub type SleepFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, d: Duration) -> SleepFuture;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock for tests: `sleep` returns at once, advances `now` and records the duration.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<(DateTime<Utc>, Vec<Duration>)>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new((start, Vec::new()))),
        }
    }
    pub fn advance(&self, d: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.0 += chrono::Duration::from_std(d).unwrap_or_default();
    }
    /// Every sleep requested so far.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).0
    }
    fn sleep(&self, d: Duration) -> SleepFuture {
        {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.0 += chrono::Duration::from_std(d).unwrap_or_default();
            g.1.push(d);
        }
        Box::pin(async {})
    }
}

pub type SharedClock = Arc<dyn Clock>;
