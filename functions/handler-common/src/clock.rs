//! Time is injected so tests control lease expiry and timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;

    /// Whole seconds since the Unix epoch (0 for a clock set before 1970).
    fn now_epoch_seconds(&self) -> i64 {
        epoch_seconds(self.now())
    }
}

pub fn epoch_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// RFC 3339 UTC timestamp with second precision (`2026-11-22T21:13:03Z`),
/// by the SDK's `DateTime` (which writes no fraction for whole seconds).
pub fn rfc3339(time: SystemTime) -> String {
    aws_smithy_types::DateTime::from_secs(epoch_seconds(time))
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        // Only years outside 0001-9999 fail to format; a SystemTime past
        // 9999 would be a broken clock, and the epoch is what it falls back to.
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock tests move by hand.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<SystemTime>);

#[cfg(any(test, feature = "test-util"))]
impl FixedClock {
    pub fn at_epoch_seconds(seconds: u64) -> Self {
        FixedClock(std::sync::Mutex::new(
            UNIX_EPOCH + std::time::Duration::from_secs(seconds),
        ))
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_381_983)),
            "2026-11-22T21:13:03Z"
        );
        // Leap day.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn fixed_clock_advances() {
        let clock = FixedClock::at_epoch_seconds(100);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now_epoch_seconds(), 105);
    }
}
