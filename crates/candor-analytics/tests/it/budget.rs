//! The budget ledger: charges add up (basic composition), overspending is refused with a clear
//! error and changes nothing, and the ledger survives serialization (the store keeps it).

use candor_analytics::{AnalyticsError, BudgetLedger, Delta, Epsilon, PrivacyCost, ReportFamily};
use proptest::prelude::*;

fn cost(epsilon: f64, delta: f64) -> PrivacyCost {
    PrivacyCost::new(
        Epsilon::parse(epsilon).unwrap(),
        Delta::parse(delta).unwrap(),
    )
}

fn weekly() -> (BudgetLedger, ReportFamily) {
    let family = ReportFamily::parse("top-items").unwrap();
    let mut ledger = BudgetLedger::new();
    ledger.set_limit(family.clone(), cost(1.0, 1e-6));
    (ledger, family)
}

#[test]
fn charges_compose_until_the_budget_is_spent() {
    let (mut ledger, family) = weekly();
    let remaining = ledger.charge(&family, 20_000, cost(0.3, 1e-7)).unwrap();
    assert_eq!(remaining, cost(0.7, 9e-7));
    ledger.charge(&family, 20_000, cost(0.7, 9e-7)).unwrap();
    assert_eq!(ledger.remaining(&family, 20_000).unwrap(), cost(0.0, 0.0));
    let refused = ledger
        .charge(&family, 20_000, cost(0.000_001, 0.0))
        .unwrap_err();
    assert_eq!(refused.code(), "analytics_budget_exhausted");
    // Another period has its own budget.
    ledger.charge(&family, 20_007, cost(1.0, 0.0)).unwrap();
}

#[test]
fn an_overspending_charge_is_refused_with_what_remains_and_changes_nothing() {
    let (mut ledger, family) = weekly();
    ledger.charge(&family, 20_000, cost(0.75, 0.0)).unwrap();
    let before = ledger.clone();
    let refused = ledger.charge(&family, 20_000, cost(0.5, 0.0)).unwrap_err();
    assert_eq!(
        refused,
        AnalyticsError::BudgetExhausted {
            family: "top-items".into(),
            period: 20_000,
            requested_epsilon: 0.5,
            requested_delta: 0.0,
            remaining_epsilon: 0.25,
            remaining_delta: 1e-6,
        }
    );
    assert!(refused.to_string().contains("only ε = 0.25"), "{refused}");
    assert_eq!(ledger, before);
    // δ is enforced as well as ε.
    assert_eq!(
        ledger
            .charge(&family, 20_000, cost(0.1, 2e-6))
            .unwrap_err()
            .code(),
        "analytics_budget_exhausted"
    );
}

#[test]
fn a_multi_period_charge_is_all_or_nothing() {
    let (mut ledger, family) = weekly();
    ledger.charge(&family, 20_014, cost(0.9, 0.0)).unwrap();
    let before = ledger.clone();
    let refused = ledger
        .charge_periods(&family, &[20_000, 20_007, 20_014], cost(0.2, 0.0))
        .unwrap_err();
    assert!(matches!(
        refused,
        AnalyticsError::BudgetExhausted { period: 20_014, .. }
    ));
    assert_eq!(ledger, before, "no period was charged");
    // A period named twice is charged once.
    ledger
        .charge_periods(&family, &[20_000, 20_000], cost(0.6, 0.0))
        .unwrap();
    assert_eq!(ledger.remaining(&family, 20_000).unwrap(), cost(0.4, 1e-6));
}

#[test]
fn a_family_without_a_budget_is_refused() {
    let (mut ledger, _) = weekly();
    let other = ReportFamily::parse("consent-rates").unwrap();
    let refused = ledger.charge(&other, 20_000, cost(0.1, 0.0)).unwrap_err();
    assert_eq!(refused.code(), "analytics_unknown_report_family");
    assert!(refused.to_string().contains("set one before"), "{refused}");
}

#[test]
fn lowering_a_limit_below_spending_blocks_the_period() {
    let (mut ledger, family) = weekly();
    ledger.charge(&family, 20_000, cost(0.8, 0.0)).unwrap();
    ledger.set_limit(family.clone(), cost(0.5, 1e-6));
    assert_eq!(
        ledger.remaining(&family, 20_000).unwrap().epsilon,
        Epsilon::from_micros(0)
    );
    assert!(
        ledger
            .charge(&family, 20_000, cost(0.000_001, 0.0))
            .is_err()
    );
    assert!(ledger.charge(&family, 20_007, cost(0.5, 0.0)).is_ok());
}

#[test]
fn the_ledger_round_trips_through_json_and_validates_on_the_way_in() {
    let (mut ledger, family) = weekly();
    ledger.charge(&family, 20_000, cost(0.25, 5e-7)).unwrap();
    let json = serde_json::to_string(&ledger).unwrap();
    assert_eq!(
        json,
        r#"{"families":{"top-items":{"limit":{"epsilon":1000000,"delta":1000000000},"spent":{"20000":{"epsilon":250000,"delta":500000000}}}}}"#
    );
    let back: BudgetLedger = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ledger);
    // A stored family name is checked like a new one.
    assert!(serde_json::from_str::<BudgetLedger>(&json.replace("top-items", "Top Items")).is_err());
}

#[test]
fn parameters_are_checked_at_the_edge() {
    assert_eq!(
        Epsilon::parse(-0.1).unwrap_err().code(),
        "analytics_invalid_parameter"
    );
    assert!(Epsilon::parse(f64::NAN).is_err());
    assert!(Epsilon::parse(21.0).is_err());
    assert_eq!(Epsilon::parse(0.5).unwrap().micros(), 500_000);
    assert!(Delta::parse(0.01).is_err(), "δ above 1e-3 protects nobody");
    assert_eq!(Delta::parse(1e-9).unwrap().units(), 1_000_000);
    for bad in ["", "Top", "a b", &"x".repeat(65)] {
        assert!(ReportFamily::parse(bad).is_err(), "{bad:?}");
    }
}

proptest! {
    /// Any sequence of charges: a charge succeeds exactly when it fits what remains, the
    /// ledger never spends beyond its limit, and a refused charge changes nothing.
    #[test]
    fn no_sequence_of_charges_overspends(
        charges in prop::collection::vec((0..3i32, 0..400_000u64, 0..400_000_000u64), 1..40),
    ) {
        let (mut ledger, family) = weekly();
        let limit = cost(1.0, 1e-6);
        for (period, epsilon, delta) in charges {
            let charge = PrivacyCost::new(Epsilon::from_micros(epsilon), Delta::from_units(delta));
            let remaining = ledger.remaining(&family, period).unwrap();
            let before = ledger.clone();
            let fits = charge.fits(remaining);
            prop_assert_eq!(ledger.charge(&family, period, charge).is_ok(), fits);
            if !fits {
                prop_assert_eq!(&ledger, &before);
            }
            for p in 0..3 {
                let spent = ledger.account(&family).unwrap().spent.get(&p).copied().unwrap_or_default();
                prop_assert!(spent.fits(limit));
            }
        }
    }
}
