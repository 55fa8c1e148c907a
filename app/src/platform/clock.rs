//! The current time, injectable so that tests can move it (session expiry, token lifetimes).

use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The real time, to the microsecond (what PostgreSQL stores).
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the system's time is read.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn starting_now() -> Self {
        Self(Arc::new(Mutex::new(SystemClock.now())))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn truncate_to_micros(at: OffsetDateTime) -> OffsetDateTime {
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.replace_nanosecond(micros).unwrap_or(at)
}

/// A time for people, to the minute in UTC: "2026-11-22 14:05 UTC".
pub fn to_minute(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}

/// An instant as documents carry it: RFC 3339 (empty if it cannot be written).
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// An RFC 3339 instant of a document, for people (`to_minute`); empty when it is not one.
pub fn rfc3339_to_minute(text: &str) -> String {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(to_minute)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_now();
        let start = clock.now();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(31));
        assert_eq!(clock.now() - start, Duration::minutes(31));
    }

    #[test]
    fn times_read_to_the_minute() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_980_390).unwrap();
        assert_eq!(to_minute(at), "2026-11-29 19:26 UTC");
    }
}
