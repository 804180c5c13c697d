//! Deciding a campaign for a million generated people, with caps and quiet hours.
//!
//! The whole server run aims at a million people in under 10 s on 2 cores, loading included,
//! so the pure decision has to cost a small fraction of that. Subjects are generated from a
//! fixed seed before timing; only `decide` is measured.

// `criterion_group!` defines a public function it cannot document.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use candor_domain::Policy;
use candor_domain::SubjectKey;
use candor_domain::consent::Reason;
use candor_domain::policy::{Channel, DEFAULT_POLICY_TOML, LegalBasis};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::campaign::{
    Campaign, CampaignSpec, ChannelSet, ConsentCheck, ContactRules, Decision, DeliveryHistory,
    SubjectSnapshot, audience_summary, decide,
};
use candor_segments::rule::TestProfile;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use jiff::tz::TimeZone;

const N_SUBJECTS: usize = 1_000_000;
const SEED: u64 = 0x00c0_ffee;
const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
];
const CATEGORIES: [&str; 5] = ["Running", "Comedy", "Drama", "Garden", "Books"];

/// xorshift64*: enough randomness for test data, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Subject {
    key: SubjectKey,
    consent: ConsentCheck,
    unsubscribed: ChannelSet,
    minor: bool,
    self_excluded: bool,
    zone: usize,
    email_sent: Vec<Timestamp>,
    profile: TestProfile,
}

fn generate(now: Timestamp) -> Vec<Subject> {
    let mut rng = Rng(SEED);
    let allowed = ConsentCheck {
        allowed: true,
        reason: Reason::LegalBasis(LegalBasis::Contract),
    };
    let denied = ConsentCheck {
        allowed: false,
        reason: Reason::NoChoiceYet,
    };
    (0..N_SUBJECTS)
        .map(|_| {
            let mut key = [0u8; 32];
            for chunk in key.chunks_exact_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes());
            }
            let mut profile = TestProfile::new();
            for c in CATEGORIES {
                if rng.chance(40) {
                    profile = profile.interest(c, rng.below(100) as f64 / 100.0);
                }
            }
            for _ in 0..rng.below(6) {
                let at = now.plus_millis(-(rng.below(40 * DAY_MS as u64) as i64));
                profile = profile.view(at, CATEGORIES[rng.below(5) as usize]);
            }
            if rng.chance(20) {
                let at = now.plus_millis(-(rng.below(30 * DAY_MS as u64) as i64));
                profile = profile.purchase(at, CATEGORIES[rng.below(5) as usize]);
            }
            let mut email_sent: Vec<Timestamp> = (0..rng.below(3))
                .map(|_| now.plus_millis(-(rng.below(10 * DAY_MS as u64) as i64)))
                .collect();
            email_sent.sort();
            Subject {
                key: SubjectKey::from_bytes(key),
                consent: if rng.chance(85) {
                    allowed.clone()
                } else {
                    denied.clone()
                },
                unsubscribed: if rng.chance(5) {
                    ChannelSet::of(&[Channel::Email])
                } else {
                    ChannelSet::EMPTY
                },
                minor: rng.chance(3),
                self_excluded: rng.chance(2),
                zone: rng.below(ZONES.len() as u64) as usize,
                email_sent,
                profile,
            }
        })
        .collect()
}

fn decide_all(
    subjects: &[Subject],
    zones: &[TimeZone],
    campaign: &Campaign,
    rules: &ContactRules,
    now: Timestamp,
    out: &mut Vec<Decision>,
) {
    out.clear();
    for s in subjects {
        let snapshot = SubjectSnapshot {
            key: &s.key,
            consent: &s.consent,
            unsubscribed: s.unsubscribed,
            minor: s.minor,
            self_excluded: s.self_excluded,
            restricted: false,
            time_zone: &zones[s.zone],
            history: DeliveryHistory {
                by_channel: [&s.email_sent, &[], &[], &[]],
                this_campaign: &[],
            },
            profile: &s.profile,
        };
        out.push(decide(&snapshot, campaign, rules, now, SEED));
    }
}

fn audience(c: &mut Criterion) {
    let policy = Policy::parse(DEFAULT_POLICY_TOML).expect("the default policy is valid");
    let campaign = Campaign::create(
        &CampaignSpec {
            id: "bench".into(),
            segment: r#"(interest("Running") >= 0.3 or views(30d) >= 3) and not purchased_in("Running", 7d)"#.into(),
            channel: Channel::Email,
            purpose: "email_marketing".into(),
            template: "Hi {{first_name}}, {{recommendations}} {{unsubscribe_url}}".into(),
            cap: None,
            promotes: vec!["alcohol".into()],
            holdout_percent: 10,
        },
        &policy,
    )
    .expect("valid campaign");
    // 19:30 UTC is night in Berlin, Tokyo and Sydney, evening in London, day in America.
    let now = Timestamp::parse_rfc3339("2026-06-15T19:30:00Z").expect("valid");
    let zones: Vec<TimeZone> = ZONES
        .iter()
        .map(|z| TimeZone::get(z).expect("bundled time zone"))
        .collect();
    let rules = ContactRules::default();
    let subjects = generate(now);
    let mut decisions = Vec::with_capacity(N_SUBJECTS);

    // One plain timed pass, so the figure is printed even in a short run.
    let start = Instant::now();
    decide_all(&subjects, &zones, &campaign, &rules, now, &mut decisions);
    let elapsed = start.elapsed();
    println!(
        "decided {N_SUBJECTS} subjects in {:.0} ms: {:.0} subjects/s",
        elapsed.as_secs_f64() * 1e3,
        N_SUBJECTS as f64 / elapsed.as_secs_f64()
    );
    print!("{}", audience_summary(&decisions, policy.k_anonymity));

    let mut group = c.benchmark_group("audience");
    group.throughput(Throughput::Elements(N_SUBJECTS as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("decide_1m", |b| {
        b.iter(|| {
            decide_all(
                black_box(&subjects),
                &zones,
                &campaign,
                &rules,
                now,
                &mut decisions,
            );
            black_box(decisions.len())
        })
    });
    group.finish();
}

criterion_group!(benches, audience);
criterion_main!(benches);
