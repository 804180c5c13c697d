//! Quiet hours in the person's time zone, across daylight-saving changes.

use candor_domain::policy::Channel;
use candor_segments::campaign::QuietHours;
use jiff::tz::TimeZone;

use crate::at;

fn quiet(tz: &str, instant: &str, channel: Channel) -> Option<String> {
    let tz = TimeZone::get(tz).expect("bundled time zone");
    QuietHours::default()
        .quiet_at(channel, &tz, at(instant))
        .map(|t| t.strftime("%H:%M").to_string())
}

#[test]
fn default_quiet_hours_are_local() {
    // 20:30 UTC: 22:30 in Berlin (summer), 16:30 in New York, 05:30 next day in Tokyo.
    let t = "2026-06-15T20:30:00Z";
    assert_eq!(
        quiet("Europe/Berlin", t, Channel::Email),
        Some("22:30".into())
    );
    assert_eq!(quiet("America/New_York", t, Channel::Email), None);
    assert_eq!(quiet("Asia/Tokyo", t, Channel::Push), Some("05:30".into()));
    assert_eq!(quiet("UTC", t, Channel::Sms), None);
    // Start is inclusive, end exclusive.
    assert_eq!(
        quiet("UTC", "2026-06-15T21:00:00Z", Channel::Sms),
        Some("21:00".into())
    );
    assert_eq!(
        quiet("UTC", "2026-06-15T07:59:59Z", Channel::Sms),
        Some("07:59".into())
    );
    assert_eq!(quiet("UTC", "2026-06-15T08:00:00Z", Channel::Sms), None);
    // On-site messages are not interruptions.
    assert_eq!(quiet("Europe/Berlin", t, Channel::Web), None);
}

#[test]
fn daylight_saving_moves_quiet_hours_with_the_clock() {
    // Berlin springs forward on 2026-03-29 at 01:00 UTC. 06:30 UTC is 07:30 CET the day before
    // (quiet) and 08:30 CEST that morning (not quiet).
    assert_eq!(
        quiet("Europe/Berlin", "2026-03-28T06:30:00Z", Channel::Email),
        Some("07:30".into())
    );
    assert_eq!(
        quiet("Europe/Berlin", "2026-03-29T06:30:00Z", Channel::Email),
        None
    );
    // New York falls back on 2026-11-01 at 06:00 UTC. 01:30 UTC is 21:30 EDT on Oct 31
    // (quiet); 01:30 UTC on Nov 2 is 20:30 EST (not quiet).
    assert_eq!(
        quiet("America/New_York", "2026-11-01T01:30:00Z", Channel::Email),
        Some("21:30".into())
    );
    assert_eq!(
        quiet("America/New_York", "2026-11-02T01:30:00Z", Channel::Email),
        None
    );
    // Lord Howe Island shifts by half an hour: 10:00 UTC is 21:00 in January (+11), 20:30 in
    // July (+10:30).
    assert_eq!(
        quiet("Australia/Lord_Howe", "2026-01-15T10:00:00Z", Channel::Push),
        Some("21:00".into())
    );
    assert_eq!(
        quiet("Australia/Lord_Howe", "2026-07-15T10:00:00Z", Channel::Push),
        None
    );
}

#[test]
fn custom_and_empty_quiet_hours() {
    let tz = TimeZone::UTC;
    let day = QuietHours {
        start: jiff::civil::time(12, 0, 0, 0),
        end: jiff::civil::time(14, 0, 0, 0),
        ..QuietHours::default()
    };
    assert!(
        day.quiet_at(Channel::Email, &tz, at("2026-06-15T13:00:00Z"))
            .is_some()
    );
    assert!(
        day.quiet_at(Channel::Email, &tz, at("2026-06-15T23:00:00Z"))
            .is_none()
    );
    assert!(
        QuietHours::none()
            .quiet_at(Channel::Email, &tz, at("2026-06-15T23:00:00Z"))
            .is_none()
    );
}
