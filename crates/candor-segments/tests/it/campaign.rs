//! Campaign creation and decisions: every exclusion reason, their precedence, the holdout and
//! the summary operators see.

use candor_domain::SubjectKey;
use candor_domain::consent::Reason;
use candor_domain::policy::{Channel, LegalBasis};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::campaign::{
    Campaign, CampaignError, CampaignSpec, ChannelSet, ConsentCheck, ContactRules, Decision,
    DeliveryHistory, Exclusion, ExclusionCode, MinorRule, SubjectSnapshot, audience_summary,
    decide, in_control_group,
};
use candor_segments::kanon::SuppressedCount;
use candor_segments::rule::TestProfile;
use expect_test::expect;
use jiff::tz::TimeZone;

use crate::{at, policy};

const TEMPLATE: &str =
    "<p>Hi {{first_name}}</p>{{recommendations}} <a href=\"{{unsubscribe_url}}\">unsubscribe</a>";

fn spec() -> CampaignSpec {
    CampaignSpec {
        id: "summer-runners".into(),
        segment: r#"viewed_in("Running", 30d)"#.into(),
        channel: Channel::Email,
        purpose: "email_marketing".into(),
        template: TEMPLATE.into(),
        cap: None,
        promotes: vec![],
        holdout_percent: 0,
    }
}

fn campaign(f: impl FnOnce(&mut CampaignSpec)) -> Campaign {
    let mut s = spec();
    f(&mut s);
    Campaign::create(&s, &policy()).expect("valid campaign")
}

/// Noon in Berlin: outside quiet hours.
fn now() -> Timestamp {
    at("2026-06-15T10:00:00Z")
}

/// Everything a snapshot borrows, owned in one place.
struct Subject {
    key: SubjectKey,
    consent: ConsentCheck,
    unsubscribed: ChannelSet,
    minor: bool,
    self_excluded: bool,
    tz: TimeZone,
    email_sent: Vec<Timestamp>,
    profile: TestProfile,
}

impl Subject {
    fn eligible() -> Subject {
        Subject {
            key: SubjectKey::from_bytes([42; 32]),
            consent: ConsentCheck {
                allowed: true,
                reason: Reason::LegalBasis(LegalBasis::Contract),
            },
            unsubscribed: ChannelSet::EMPTY,
            minor: false,
            self_excluded: false,
            tz: TimeZone::get("Europe/Berlin").unwrap(),
            email_sent: vec![],
            profile: TestProfile::new().view(now().plus_millis(-DAY_MS), "Running"),
        }
    }

    fn decide(&self, c: &Campaign, now: Timestamp) -> Decision {
        let snapshot = SubjectSnapshot {
            key: &self.key,
            consent: &self.consent,
            unsubscribed: self.unsubscribed,
            minor: self.minor,
            self_excluded: self.self_excluded,
            restricted: false,
            time_zone: &self.tz,
            history: DeliveryHistory {
                by_channel: [&self.email_sent, &[], &[], &[]],
                this_campaign: &[],
            },
            profile: &self.profile,
        };
        decide(&snapshot, c, &ContactRules::default(), now, 7)
    }
}

fn code(s: &Subject, c: &Campaign) -> Option<ExclusionCode> {
    s.decide(c, now()).code()
}

#[test]
fn an_eligible_person_is_selected() {
    let c = campaign(|_| {});
    assert_eq!(Subject::eligible().decide(&c, now()), Decision::Selected);
}

#[test]
fn each_reason_in_precedence_order() {
    let c = campaign(|s| s.promotes = vec!["alcohol".into()]);
    let mut s = Subject::eligible();
    s.consent = ConsentCheck {
        allowed: false,
        reason: Reason::NoChoiceYet,
    };
    s.unsubscribed = ChannelSet::of(&[Channel::Email]);
    s.minor = true;
    s.self_excluded = true;
    s.email_sent = vec![now().plus_millis(-2 * DAY_MS), now().plus_millis(-DAY_MS)];
    let night = at("2026-06-15T22:00:00Z");

    let mut seen = Vec::new();
    // Lift one reason at a time, from the top: each time the next one shows.
    let mut record = |s: &Subject, t: Timestamp| {
        let d = s.decide(&c, t);
        seen.push(format!("{:?}: {d}", d.code().map(|c| c.as_str())));
    };
    s.profile = TestProfile::new();
    record(&s, night);
    s.profile = Subject::eligible().profile;
    record(&s, night);
    s.consent = Subject::eligible().consent;
    record(&s, night);
    s.unsubscribed = ChannelSet::EMPTY;
    record(&s, night);
    s.minor = false;
    record(&s, night);
    s.self_excluded = false;
    record(&s, night);
    s.email_sent.clear();
    record(&s, night);
    record(&s, now());
    expect![[r#"
        [
            "Some(\"not_in_segment\"): not sent: you are not in the campaign's audience",
            "Some(\"no_consent\"): not sent: you have not agreed to this (denied: no choice yet)",
            "Some(\"unsubscribed\"): not sent: you unsubscribed from email messages",
            "Some(\"minor\"): not sent: the campaign promotes alcohol, which is never marketed to people under the age of digital consent",
            "Some(\"restricted_content\"): not sent: the campaign promotes alcohol, and you asked never to be shown it",
            "Some(\"frequency_cap\"): not sent: you already had 2 email message(s) in the last 7d, and we send at most 2",
            "Some(\"quiet_hours\"): not sent: it was 00:00 where you are, inside the quiet hours 21:00–08:00",
            "None: you are in the campaign's audience and were sent it",
        ]
    "#]].assert_debug_eq(&seen);
}

#[test]
fn minors_never_get_targeted_ads_or_restricted_categories() {
    let mut minor = Subject::eligible();
    minor.minor = true;
    let ads = campaign(|s| {
        s.channel = Channel::Web;
        s.purpose = "targeted_advertising".into();
        s.segment = r#"viewed_in("Running", 30d)"#.into();
    });
    assert_eq!(
        minor.decide(&ads, now()),
        Decision::Excluded(Exclusion::Minor(MinorRule::TargetedAdvertising))
    );
    let gambling = campaign(|s| s.promotes = vec!["gambling".into()]);
    assert_eq!(code(&minor, &gambling), Some(ExclusionCode::Minor));
    // Ordinary marketing with consent (a parent's, for a minor) is not refused for age.
    assert_eq!(code(&minor, &campaign(|_| {})), None);
}

#[test]
fn self_excluded_people_never_get_restricted_categories() {
    let mut s = Subject::eligible();
    s.self_excluded = true;
    assert_eq!(
        code(&s, &campaign(|s| s.promotes = vec!["gambling".into()])),
        Some(ExclusionCode::RestrictedContent)
    );
    assert_eq!(code(&s, &campaign(|_| {})), None);
}

#[test]
fn creation_refuses_what_the_rules_forbid() {
    let p = policy();
    let err = |f: fn(&mut CampaignSpec)| {
        let mut s = spec();
        f(&mut s);
        Campaign::create(&s, &p).unwrap_err().to_string()
    };
    let errors = [
        err(|s| s.id = "Bad Id".into()),
        err(|s| s.segment = "views(7d) >".into()),
        err(|s| s.segment = r#"attribute("gender") == "f""#.into()),
        err(|s| s.purpose = "analytics".into()),
        err(|s| s.purpose = "nope".into()),
        err(|s| s.template = "Hi {{first_name}}".into()),
        err(|s| s.template = "Hi {{last_name}} {{unsubscribe_url}}".into()),
        err(|s| s.holdout_percent = 51),
        err(|s| s.promotes = vec!["fireworks".into()]),
    ];
    expect![[r#"
        [
            "campaign ids are 1 to 64 lowercase letters, digits, `_` or `-`",
            "segment rule: 1:12: expected a feature, a literal, `not` or `(`, found the end of the rule",
            "segment rule refused:\nerror: 1:1: `attribute(\"gender\")` reads `gender`, a protected characteristic; segments may never select people by it, whatever the purpose\n",
            "purpose `analytics` is not a marketing purpose for email",
            "the policy declares no purpose `nope`",
            "template: email templates must contain {{unsubscribe_url}}, so every message offers a one-click way out",
            "template: 1:4: unknown placeholder `last_name`; known placeholders are first_name, recommendations, unsubscribe_url",
            "the holdout is 51%; the limit is 50%",
            "`fireworks` is not a restricted category of the policy",
        ]
    "#]].assert_debug_eq(&errors);
    assert!(matches!(
        Campaign::create(
            &CampaignSpec {
                segment: "views(7d)".into(),
                ..spec()
            },
            &p
        ),
        Err(CampaignError::Rule(_))
    ));
    // Proxies do not refuse the campaign; they travel with it as warnings.
    let c = campaign(|s| s.segment = r#"attribute("first_name") == "Anna""#.into());
    assert_eq!(c.warnings().len(), 1);
}

#[test]
fn holdout_is_deterministic_and_near_its_share() {
    let keys: Vec<SubjectKey> = (0..20_000u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_le_bytes());
            // Keys are HMAC outputs in production; spreading the counter mimics that.
            b[8..16]
                .copy_from_slice(&(u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
            SubjectKey::from_bytes(b)
        })
        .collect();
    for percent in [0u8, 10, 25, 50] {
        let held = keys
            .iter()
            .filter(|k| in_control_group(99, k, percent))
            .count();
        let share = held as f64 / keys.len() as f64 * 100.0;
        assert!(
            (share - f64::from(percent)).abs() < 1.0,
            "{percent}% gave {share}%"
        );
    }
    // Same seed, same answer; another seed, a different group of the same size.
    let a: Vec<bool> = keys.iter().map(|k| in_control_group(1, k, 20)).collect();
    let b: Vec<bool> = keys.iter().map(|k| in_control_group(1, k, 20)).collect();
    let c: Vec<bool> = keys.iter().map(|k| in_control_group(2, k, 20)).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // A larger share keeps everyone a smaller share held out.
    assert!(
        keys.iter()
            .all(|k| !in_control_group(1, k, 10) || in_control_group(1, k, 20))
    );

    // Through decide: a 50% holdout excludes about half, and the same people every run.
    let camp = campaign(|s| s.holdout_percent = 50);
    let mut s = Subject::eligible();
    let mut held = 0;
    for k in &keys[..2000] {
        s.key = *k;
        let first = s.decide(&camp, now());
        assert_eq!(first, s.decide(&camp, now()));
        held += usize::from(first == Decision::Excluded(Exclusion::ControlGroup));
    }
    assert!((900..1100).contains(&held), "{held}");
}

#[test]
fn summary_counts_are_k_suppressed() {
    let mut decisions = vec![Decision::Selected; 120];
    decisions.extend(vec![Decision::Excluded(Exclusion::NotInSegment); 40]);
    decisions.extend(vec![Decision::Excluded(Exclusion::ControlGroup); 15]);
    decisions.push(Decision::Excluded(Exclusion::Unsubscribed(Channel::Email)));
    let summary = audience_summary(&decisions, 10);
    assert_eq!(summary.total, SuppressedCount::Exact(176));
    assert_eq!(summary.selected, SuppressedCount::Exact(120));
    expect![[r#"
        total: 176
        selected: 120
        not_in_segment: 40
        restricted: fewer than 10
        no_consent: fewer than 10
        unsubscribed: fewer than 10
        minor: fewer than 10
        restricted_content: fewer than 10
        frequency_cap: fewer than 10
        quiet_hours: fewer than 10
        control_group: 15
    "#]]
    .assert_eq(&summary.to_string());
}
