//! Desktop notifications for notes that arrived in the background. They say how many, never
//! whose: a notification shows on a screen the patient or the waiting room may see.

use std::time::{Duration, Instant};

/// Notifications come at most this often; what arrives in between is added to the next one.
pub const MIN_GAP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: String,
    pub body: String,
}

/// Turns sync results into notifications: none for the catch-up when the app starts (the
/// window shows those), then at most one per [`MIN_GAP`], counting everything since the last.
#[derive(Debug)]
pub struct NewNotesNotifier {
    min_gap: Duration,
    started: bool,
    last: Option<Instant>,
    pending_new: u64,
    pending_revised: u64,
}

impl NewNotesNotifier {
    pub fn new(min_gap: Duration) -> Self {
        NewNotesNotifier {
            min_gap,
            started: false,
            last: None,
            pending_new: 0,
            pending_revised: 0,
        }
    }

    /// A successful sync brought `new` and `revised` notes; returns what to show, if anything.
    pub fn on_sync(&mut self, new: u64, revised: u64, now: Instant) -> Option<Notification> {
        if !std::mem::replace(&mut self.started, true) {
            return None;
        }
        self.pending_new += new;
        self.pending_revised += revised;
        if self.pending_new + self.pending_revised == 0 {
            return None;
        }
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < self.min_gap)
        {
            return None;
        }
        self.last = Some(now);
        let n = std::mem::take(&mut self.pending_new);
        let r = std::mem::take(&mut self.pending_revised);
        Some(message(n, r))
    }

    /// Signed out or switched account: the next sync is a catch-up again.
    pub fn reset(&mut self) {
        *self = NewNotesNotifier::new(self.min_gap);
    }
}

fn message(new: u64, revised: u64) -> Notification {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let title = match (new, revised) {
        (0, r) => plural(r, "note revised by Askara", "notes revised by Askara"),
        (n, 0) => plural(n, "new note", "new notes"),
        (n, r) => format!("{}, {r} revised", plural(n, "new note", "new notes")),
    };
    Notification {
        title,
        body: "Open Askara Inbox to review them.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_up_catch_up_is_silent_then_counts_are_coalesced() {
        let t0 = Instant::now();
        let mut n = NewNotesNotifier::new(MIN_GAP);
        assert_eq!(n.on_sync(60, 0, t0), None, "catch-up at start");
        assert_eq!(n.on_sync(0, 0, t0), None, "nothing new");
        let first = n
            .on_sync(1, 0, t0 + Duration::from_secs(5))
            .expect("a note arrived");
        assert_eq!(first.title, "1 new note");
        // Within the gap: held back, then counted in the next one.
        assert_eq!(n.on_sync(2, 0, t0 + Duration::from_secs(20)), None);
        assert_eq!(n.on_sync(1, 1, t0 + Duration::from_secs(40)), None);
        let next = n
            .on_sync(0, 0, t0 + Duration::from_secs(66))
            .expect("the held-back ones");
        assert_eq!(next.title, "3 new notes, 1 revised");
        assert_eq!(n.on_sync(0, 0, t0 + Duration::from_secs(200)), None);
        assert_eq!(
            n.on_sync(0, 2, t0 + Duration::from_secs(201))
                .map(|m| m.title),
            Some("2 notes revised by Askara".into())
        );
        n.reset();
        assert_eq!(
            n.on_sync(5, 0, t0 + Duration::from_secs(400)),
            None,
            "catch-up after sign-in"
        );
    }
}
