//! Simulations, seeded so they are reproducible: an A/A test watched after every batch shows
//! why the always-valid test is needed, and an experiment with a known effect run through
//! assignment, outcomes and the report recovers it.

use std::collections::BTreeMap;

use candor_experiments::report::{Comparison, Effect, SrmResult};
use candor_experiments::{
    Arm, Decision, Event, Exposure, MetricKind, Observations, ReportConfig, SequentialState,
    Subject, Summary, Withdrawn, assign, msprt, report, welch,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{DAY_MS, START_MS, experiment};

/// A standard normal draw (Box–Muller; one of the pair is enough here).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.r#gen::<f64>(); // (0, 1]: the log stays finite
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Running sums of one arm.
#[derive(Default, Clone, Copy)]
struct Running {
    n: u64,
    sum: f64,
    sum_sq: f64,
}

impl Running {
    fn push(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    fn summary(&self) -> Summary {
        let n = self.n as f64;
        let mean = self.sum / n;
        Summary {
            n: self.n,
            mean,
            variance: (self.sum_sq - n * mean * mean) / (n - 1.0),
        }
    }
}

const N_RUNS: u32 = 2_000;
const BATCH_LEN: u32 = 50;
const N_LOOKS: u32 = 20;
const ALPHA: f64 = 0.05;
/// The mixture's standard deviation, in units of the outcome's: effects of about a tenth of
/// a standard deviation are what such tests are sized for.
const MIXTURE_SD_SHARE: f64 = 0.1;

#[test]
fn peeking_after_every_batch_breaks_welch_but_not_the_msprt() {
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let mut naive_rejections = 0u32;
    let mut sequential_rejections = 0u32;
    for _ in 0..N_RUNS {
        let mut arms = [Running::default(); 2];
        let mut state = SequentialState::default();
        let mut naive_rejected = false;
        for _ in 0..N_LOOKS {
            for i in 0..BATCH_LEN {
                arms[(i % 2) as usize].push(normal(&mut rng));
            }
            let (control, treatment) = (arms[0].summary(), arms[1].summary());
            let fixed = welch(&control, &treatment, ALPHA).unwrap();
            naive_rejected |= fixed.p_value < ALPHA;
            let tau = MIXTURE_SD_SHARE * control.variance.sqrt();
            let look = msprt(fixed.effect, fixed.std_error.powi(2), tau * tau, ALPHA).unwrap();
            state = state.update(look);
        }
        naive_rejections += u32::from(naive_rejected);
        sequential_rejections += u32::from(state.p_value < ALPHA);
    }
    let naive_rate = f64::from(naive_rejections) / f64::from(N_RUNS);
    let sequential_rate = f64::from(sequential_rejections) / f64::from(N_RUNS);
    // Monte-Carlo standard error at 5 % over 2,000 runs is about 0.5 %: three of them as slack.
    let slack = 3.0 * (ALPHA * (1.0 - ALPHA) / f64::from(N_RUNS)).sqrt();
    assert!(
        sequential_rate <= ALPHA + slack,
        "mSPRT false-positive rate {sequential_rate} under peeking"
    );
    // Twenty looks at a fixed-horizon test reject a true null far more often than 5 %.
    assert!(
        naive_rate > 2.0 * ALPHA,
        "naive peeking false-positive rate only {naive_rate}"
    );
}

const N_PEOPLE: u32 = 8_000;
const BASE_RATE: f64 = 0.10;
const LIFT: f64 = 0.04;
const N_EXPERIMENTS: u64 = 5;

/// Each simulated experiment's 95 % interval misses the true lift one time in twenty, so
/// five are run: the always-valid intervals must all cover it, the fixed ones at least four.
#[test]
fn a_known_effect_is_recovered_inside_its_intervals() {
    let mut n_fixed_covering = 0;
    for seed in 1..=N_EXPERIMENTS {
        let diverse = simulated_experiment(seed);
        assert!(
            diverse.always_valid_low < LIFT && LIFT < diverse.always_valid_high,
            "seed {seed}: true lift {LIFT} outside {diverse:?}"
        );
        assert!(
            diverse.always_valid_low <= diverse.ci_low
                && diverse.ci_high <= diverse.always_valid_high,
            "the always-valid interval is the wider one"
        );
        assert!(diverse.p_adjusted < 0.05, "seed {seed}: {diverse:?}");
        n_fixed_covering += u32::from(diverse.ci_low < LIFT && LIFT < diverse.ci_high);
    }
    assert!(
        n_fixed_covering >= 4,
        "{n_fixed_covering} of {N_EXPERIMENTS}"
    );
}

/// Runs people through assignment, exposure, events and the report; returns the diverse
/// variant's effect on conversion (true lift [`LIFT`]) after checking the rest.
fn simulated_experiment(seed: u64) -> Effect {
    const HOLDOUT_SALT: &str = "holdout-2026";
    let mut e = experiment();
    e.primary.pre_window_ms = 28 * DAY_MS;
    e.guardrails[0].metric.kind = MetricKind::Revenue;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut exposures = Vec::new();
    let mut events = Vec::new();
    let mut withdrawals = BTreeMap::new();
    let mut n_without_consent = 0;
    for i in 0..N_PEOPLE {
        let subject = format!("{:064x}", u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let consent = rng.r#gen::<f64>() < 0.9;
        let first_ms = START_MS + i64::from(i % 14) * DAY_MS + i64::from(i);
        let decision = assign(
            &e,
            HOLDOUT_SALT,
            Subject {
                key: subject.as_bytes(),
                existing: None,
                consent_covers_purpose: consent,
            },
            first_ms,
        );
        let Decision::Enroll(assignment) = decision else {
            assert!(!consent, "everyone with consent is enrolled while running");
            n_without_consent += 1;
            continue;
        };
        let rate = match &assignment.arm {
            Arm::Variant(name) if name == "diverse" => BASE_RATE + LIFT,
            Arm::Variant(_) => BASE_RATE,
            Arm::Holdout => BASE_RATE - LIFT,
        };
        exposures.push(Exposure {
            subject: subject.clone(),
            arm: assignment.arm.name().to_owned(),
            list_id: Some(format!("list-{i}")),
            at_ms: first_ms,
        });
        // A person's propensity to buy shows in the pre-period too: what CUPED uses. Its mean
        // is 1, so the arm's rate is the expected conversion.
        let propensity = 0.25 + 1.5 * rng.r#gen::<f64>();
        let order = |at_ms: i64, revenue: f64| Event {
            subject: subject.clone(),
            event_type: "Order Completed".into(),
            at_ms,
            item: None,
            list_id: None,
            revenue: Some(revenue),
        };
        if rng.r#gen::<f64>() < 0.3 * propensity {
            events.push(order(first_ms - 3 * DAY_MS, 40.0));
        }
        if rng.r#gen::<f64>() < rate * propensity {
            events.push(order(first_ms + DAY_MS, 20.0 + 60.0 * rng.r#gen::<f64>()));
        }
        // A few withdraw before they could convert: they must not count as non-converters'
        // orders after the withdrawal.
        if i % 200 == 0 {
            withdrawals.insert(
                subject.clone(),
                vec![Withdrawn {
                    from_ms: first_ms + 1,
                    until_ms: None,
                }],
            );
        }
    }
    assert!(n_without_consent > 600, "the refusals were exercised");
    let now_ms = START_MS + 40 * DAY_MS;
    let r = report(
        &e,
        Observations {
            exposures: &exposures,
            events: &events,
            withdrawals: &withdrawals,
        },
        now_ms,
        ReportConfig::default(),
    );
    let primary = &r.metrics[0];
    let theta = primary
        .cuped_theta
        .expect("the primary metric is CUPED-adjusted");
    assert!(theta > 0.0, "the pre-period predicts the outcome");
    let effect = |arm: &str| match primary.comparisons.iter().find(|c| c.arm() == arm) {
        Some(Comparison::Estimated { effect, .. }) => *effect,
        other => panic!("{arm}: {other:?}"),
    };
    let holdout = effect("holdout");
    assert!(
        holdout.always_valid_low < -LIFT && -LIFT < holdout.always_valid_high,
        "{holdout:?}"
    );
    let SrmResult::Checked(check) = r.srm else {
        panic!("{:?}", r.srm)
    };
    assert!(
        !check.flagged,
        "the assignment keeps the promised split: {check:?}"
    );
    effect("diverse")
}
