//! Frequency caps over rolling windows, and k-anonymous counts.

use candor_domain::policy::Channel;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::campaign::{Cap, CapScope, DeliveryHistory, FrequencyCaps, cap_allows};
use candor_segments::kanon::{SuppressedCount, suppress, suppress_cells};
use candor_segments::rule::Window;

use crate::at;

fn now() -> Timestamp {
    at("2026-06-15T12:00:00Z")
}

fn history<'a>(email: &'a [Timestamp], this: &'a [Timestamp]) -> DeliveryHistory<'a> {
    DeliveryHistory {
        by_channel: [email, &[], &[], &[]],
        this_campaign: this,
    }
}

#[test]
fn email_two_per_rolling_seven_days() {
    let caps = FrequencyCaps::default();
    let one = [now().plus_millis(-3 * DAY_MS)];
    assert_eq!(
        cap_allows(&history(&one, &[]), Channel::Email, &caps, None, now()),
        Ok(())
    );

    let two = [now().plus_millis(-6 * DAY_MS), now().plus_millis(-DAY_MS)];
    let hit = cap_allows(&history(&two, &[]), Channel::Email, &caps, None, now()).unwrap_err();
    assert_eq!(hit.scope, CapScope::Channel(Channel::Email));
    assert_eq!(hit.count, 2);
    // The older one leaves the window seven days after it was sent.
    assert_eq!(hit.next_allowed_at, Some(now().plus_millis(DAY_MS)));
    assert_eq!(
        cap_allows(
            &history(&two, &[]),
            Channel::Email,
            &caps,
            None,
            now().plus_millis(DAY_MS)
        ),
        Ok(())
    );
    assert!(
        cap_allows(
            &history(&two, &[]),
            Channel::Email,
            &caps,
            None,
            now().plus_millis(DAY_MS - 1)
        )
        .is_err()
    );
    // Other channels have their own caps.
    assert_eq!(
        cap_allows(&history(&two, &[]), Channel::Push, &caps, None, now()),
        Ok(())
    );
}

#[test]
fn old_and_future_deliveries_do_not_count() {
    let caps = FrequencyCaps::default();
    let sent = [
        now().plus_millis(-30 * DAY_MS),
        now().plus_millis(-7 * DAY_MS),
        now().plus_millis(-DAY_MS),
        now().plus_millis(DAY_MS),
    ];
    assert_eq!(
        cap_allows(&history(&sent, &[]), Channel::Email, &caps, None, now()),
        Ok(())
    );
}

#[test]
fn campaign_cap_and_zero_caps() {
    let caps = FrequencyCaps::default();
    let mine = [now().plus_millis(-2 * DAY_MS)];
    let cap = Some(Cap::new(1, Window::days(30)));
    let hit = cap_allows(&history(&[], &mine), Channel::Email, &caps, cap, now()).unwrap_err();
    assert_eq!(hit.scope, CapScope::Campaign);
    assert_eq!(hit.next_allowed_at, Some(now().plus_millis(28 * DAY_MS)));

    let never = FrequencyCaps {
        sms: Cap::new(0, Window::days(1)),
        ..FrequencyCaps::default()
    };
    let hit = cap_allows(&history(&[], &[]), Channel::Sms, &never, None, now()).unwrap_err();
    assert_eq!(hit.next_allowed_at, None);
}

#[test]
fn counts_below_k_are_suppressed() {
    assert_eq!(suppress(9, 10), SuppressedCount::Below(10));
    assert_eq!(suppress(0, 10), SuppressedCount::Below(10));
    assert_eq!(suppress(10, 10), SuppressedCount::Exact(10));
    assert_eq!(suppress(3, 0), SuppressedCount::Exact(3));
    // One small cell would be recoverable from the total, so its smallest neighbour goes too.
    assert_eq!(
        suppress_cells(&[100, 4, 30, 50], 10),
        vec![
            SuppressedCount::Exact(100),
            SuppressedCount::Below(10),
            SuppressedCount::Withheld,
            SuppressedCount::Exact(50)
        ]
    );
    assert_eq!(
        suppress_cells(&[100, 4, 3], 10)[0],
        SuppressedCount::Exact(100),
        "two hidden cells already hide each other"
    );
}
