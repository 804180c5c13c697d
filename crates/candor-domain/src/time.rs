//! Time as a plain value. The domain never reads a clock: callers pass `now`.

use std::fmt;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Milliseconds in one day, for retention arithmetic.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    pub const fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus `days` whole days, saturating instead of overflowing.
    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(i64::from(days).saturating_mul(DAY_MS)),
        )
    }

    pub fn plus_millis(self, ms: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Parses an RFC 3339 timestamp such as `2026-11-23T10:00:00Z`.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let ts: jiff::Timestamp = s.parse().ok()?;
        Some(Timestamp(ts.as_millisecond()))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-23T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => format!("{ts:.3}"),
            Err(_) => format!("@{}ms", self.0),
        }
    }

    /// The calendar date in UTC, `YYYY-MM-DD`, as used in sentences shown to people.
    pub fn date(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => ts.strftime("%Y-%m-%d").to_string(),
            Err(_) => format!("@{}ms", self.0),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-23T10:00:00.000Z");
        assert_eq!(t.date(), "2026-11-23");
        assert_eq!(t.plus_days(1).date(), "2026-11-24");
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
    }
}
