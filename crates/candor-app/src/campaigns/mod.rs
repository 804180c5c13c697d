//! Segments and campaigns in the running server: loading what the pure rules of
//! `candor-segments` need about each person, audience runs, real-time decisions, and the
//! outbox worker. Handlers in `routes::{segments, campaigns, decide, unsubscribe}` call these.
//!
//! Everything here runs on blocking threads (it calls the synchronous store), and takes `now`
//! from the caller, so tests drive it with a fixed clock.

pub mod admin;
pub mod outbox;
pub mod view;

use std::collections::HashMap;

use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord, SubjectFacts};
use candor_domain::crypto::{self, DataKey};
use candor_domain::ids::keyed_hash;
use candor_domain::policy::{Audience, Channel, Policy};
use candor_domain::time::Timestamp;
use candor_segments::campaign::{
    Campaign, CampaignError, CampaignSpec, Cap, ConsentCheck, ContactRules, Decision,
    DeliveryHistory, ExclusionCode, SubjectSnapshot, channel_index, decide,
};
use candor_segments::kanon::{SuppressedCount, suppress, suppress_cells};
use candor_segments::rule::Window;
use candor_segments::template::{Placeholder, Template, TemplateValues};
use candor_segments::{delivery_idempotency_key, unsubscribe_token};
use candor_store::{
    AudienceEvent, AudienceQuery, CampaignRecord, CapLimit, MarketingState, NewDelivery,
    NewOutcome, NewRun, PageRequest, RunOutcome, RunSink, Store, StoreResult,
};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::config::CampaignSettings;
use view::{Catalog, SubjectView};

/// Subjects loaded per store round trip during a run.
const SUBJECTS_PAGE_LEN: u32 = 1_000;
/// Catalog items read for the `{{recommendations}}` placeholder.
const CATALOG_LEN_MAX: u32 = 1_000;
/// Items listed in `{{recommendations}}`.
const RECOMMENDATIONS_LEN: usize = 3;

/// A campaign's cap as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCap {
    pub max: u32,
    pub window_days: u32,
}

/// A campaign as stored in `CampaignRecord::spec`: what the operator asked for, checked
/// against the policy when created and again before every run (the policy may have changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCampaign {
    pub id: String,
    pub segment: String,
    pub channel: String,
    pub purpose: String,
    pub template: String,
    /// Not sent before this instant (Unix milliseconds).
    pub send_at: Option<i64>,
    pub cap: Option<StoredCap>,
    pub restricted_categories: Vec<String>,
    pub holdout_percent: u8,
    /// Draws the holdout, so the same people stay in the control group across runs.
    pub seed: u64,
}

impl StoredCampaign {
    pub fn channel(&self) -> Option<Channel> {
        Channel::parse(&self.channel)
    }

    /// Validates against the policy with the segment's rule.
    pub fn compile(&self, rule: &str, policy: &Policy) -> Result<Campaign, CampaignError> {
        let channel = self.channel().ok_or(CampaignError::UnknownPurpose(format!(
            "{} (channel `{}`)",
            self.purpose, self.channel
        )))?;
        Campaign::create(
            &CampaignSpec {
                id: self.id.clone(),
                segment: rule.to_owned(),
                channel,
                purpose: self.purpose.clone(),
                template: self.template.clone(),
                cap: self
                    .cap
                    .map(|c| Cap::new(c.max, Window::days(c.window_days))),
                promotes: self.restricted_categories.clone(),
                holdout_percent: self.holdout_percent,
            },
            policy,
        )
    }
}

/// What a run or a decision needs besides the store.
pub struct Ctx<'a> {
    pub store: &'a dyn Store,
    /// The cached experiment definitions.
    pub experiments: &'a crate::experiments::DefinitionCache,
    pub policy: &'a Policy,
    pub settings: &'a CampaignSettings,
    pub server_secret: &'a [u8],
    pub half_life_days: f64,
    pub now: Timestamp,
}

impl Ctx<'_> {
    /// The key unsubscribe tokens are signed with, separate from every other use of the
    /// server secret.
    pub fn unsubscribe_secret(&self) -> [u8; 32] {
        unsubscribe_secret(self.server_secret)
    }

    pub fn unsubscribe_url(&self, key: &SubjectKey, channel: Channel) -> String {
        let token = unsubscribe_token(&self.unsubscribe_secret(), key, channel);
        format!("{}/v1/unsubscribe/{token}", self.settings.public_url)
    }

    /// The catalog, for item categories and recommendations.
    pub fn catalog(&self) -> StoreResult<Catalog> {
        let page = self.store.items(PageRequest::first(CATALOG_LEN_MAX))?;
        Ok(Catalog {
            items: page.items.into_iter().map(|i| (i.id.clone(), i)).collect(),
        })
    }

    /// A subject from a page of the audience.
    pub fn subject_from_row(
        &self,
        row: candor_store::AudienceRow,
        catalog: &Catalog,
    ) -> SubjectData {
        let view = SubjectView::new(
            row.profile.as_ref(),
            &row.events,
            catalog,
            row.facts.country.clone(),
            self.half_life_days,
            self.now,
        );
        SubjectData {
            key: row.key,
            restricted: row.restriction.is_some(),
            self_excluded: row.preferences.self_excluded,
            facts: row.facts,
            records: row.consents,
            marketing: row.marketing,
            view,
        }
    }

    /// Everything the rules need about one subject.
    pub fn load_subject(
        &self,
        key: &SubjectKey,
        catalog: &Catalog,
        history_since: Timestamp,
    ) -> StoreResult<SubjectData> {
        // The ledger, restriction and preferences in one store call (as a recommendations
        // request reads them), then the events — the rules also read events without an item
        // and their `category` property — the profile and the contact history.
        let inputs = self.store.serving_inputs(key, &|_, _| false)?;
        let profile = self.store.profile(key)?;
        let events: Vec<AudienceEvent> = self
            .store
            .all_events(key)?
            .iter()
            .filter_map(AudienceEvent::of)
            .collect();
        let facts = inputs.ledger.facts;
        let view = SubjectView::new(
            profile.as_ref(),
            &events,
            catalog,
            facts.country.clone(),
            self.half_life_days,
            self.now,
        );
        Ok(SubjectData {
            key: *key,
            restricted: inputs.ledger.restricted,
            self_excluded: inputs.preferences.self_excluded,
            records: inputs.ledger.records,
            marketing: self.store.marketing_state(key, history_since)?,
            facts,
            view,
        })
    }
}

/// The context for store work on a blocking thread.
pub fn ctx<'a>(state: &'a crate::App, store: &'a dyn Store, now: Timestamp) -> Ctx<'a> {
    Ctx {
        store,
        experiments: &state.experiments,
        policy: &state.policy,
        settings: &state.config.campaigns,
        server_secret: state.secret.as_bytes(),
        half_life_days: state.config.profiles.half_life_days,
        now,
    }
}

pub fn unsubscribe_secret(server_secret: &[u8]) -> [u8; 32] {
    keyed_hash(server_secret, "unsubscribe", b"")
}

/// Parts of the key space an audience is split into, each read and decided by a thread of its
/// own: reading from the store is most of a run's work, and two threads keep both cores busy.
pub const AUDIENCE_PARTS: usize = 2;

/// What a run (or a segment preview) reads of each person for `rule`: deliveries since
/// `deliveries_since`, and only the events inside the rule's longest window — none at all when
/// the rule reads no event.
pub fn audience_query(
    rule: &candor_segments::rule::Rule,
    deliveries_since: Timestamp,
    now: Timestamp,
) -> AudienceQuery {
    AudienceQuery {
        deliveries_since,
        events_since: rule
            .event_window()
            .map(|w| Timestamp::from_millis(now.as_millis().saturating_sub(w.as_millis()))),
        up_to: None,
    }
}

/// The `i`-th of `n` parts of the key space, as (exclusive start, inclusive end) keys. Subject
/// keys are keyed hashes, spread evenly over the space, so equal slices of the first two bytes
/// hold about as many people each.
fn key_part(i: usize, n: usize) -> (Option<SubjectKey>, Option<SubjectKey>) {
    // The last key of part `i`: every key whose first two bytes are below the next part's.
    let last = |i: usize| {
        let next = (i + 1) * 0x1_0000 / n;
        let mut key = [u8::MAX; 32];
        key[..2].copy_from_slice(&((next - 1) as u16).to_be_bytes());
        SubjectKey::from_bytes(key)
    };
    let start = (i > 0).then(|| last(i - 1));
    let end = (i + 1 < n).then(|| last(i));
    (start, end)
}

/// Folds every page of the audience into one accumulator per part of the key space
/// ([`AUDIENCE_PARTS`]), returned in key order: part `i` holds subjects with lower keys than
/// part `i + 1`, and each part sees its pages in key order. Every part runs on a scoped thread
/// of its own that reads a page and then hands it to `each`, so the parts read and decide side
/// by side. A part that fails stops the others at their next page.
pub fn fold_audience<A: Send>(
    store: &dyn Store,
    query: &AudienceQuery,
    init: impl Fn() -> A + Sync,
    each: impl Fn(&mut A, Vec<candor_store::AudienceRow>) -> StoreResult<()> + Sync,
) -> StoreResult<Vec<A>> {
    let failed = std::sync::atomic::AtomicBool::new(false);
    let part = |i: usize| -> StoreResult<A> {
        let (mut after, up_to) = key_part(i, AUDIENCE_PARTS);
        let query = AudienceQuery { up_to, ..*query };
        let mut acc = init();
        // Relaxed: the flag only cuts short work whose result is discarded anyway.
        while !failed.load(std::sync::atomic::Ordering::Relaxed) {
            let page = store.audience_page(after.as_ref(), SUBJECTS_PAGE_LEN, &query)?;
            let Some(last) = page.last() else { break };
            after = Some(last.key);
            each(&mut acc, page)?;
        }
        Ok(acc)
    };
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..AUDIENCE_PARTS)
            .map(|i| {
                let (part, failed) = (&part, &failed);
                scope.spawn(move || {
                    let result = part(i);
                    if result.is_err() {
                        failed.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    result
                })
            })
            .collect();
        parts
            .into_iter()
            .map(|p| {
                p.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// One person, loaded.
pub struct SubjectData {
    pub key: SubjectKey,
    /// Processing restricted at the person's request.
    pub restricted: bool,
    /// The person excluded themselves from restricted categories (recommendation feedback).
    pub self_excluded: bool,
    pub facts: SubjectFacts,
    pub records: Vec<ConsentRecord>,
    pub marketing: MarketingState,
    pub view: SubjectView,
}

/// Time zones by name, so a run parses each zone once.
#[derive(Default)]
pub struct Zones(HashMap<String, Option<TimeZone>>);

impl Zones {
    fn get<'z>(&'z mut self, name: Option<&str>, default: &'z TimeZone) -> &'z TimeZone {
        let Some(name) = name else { return default };
        // Looked up before inserting, so the common case (a zone already seen) allocates
        // nothing.
        if !self.0.contains_key(name) {
            self.0.insert(name.to_owned(), TimeZone::get(name).ok());
        }
        self.0.get(name).and_then(Option::as_ref).unwrap_or(default)
    }
}

/// The oldest delivery any cap of this campaign can still count.
pub fn history_since(rules: &ContactRules, campaign: &Campaign, now: Timestamp) -> Timestamp {
    let longest = Channel::ALL
        .into_iter()
        .map(|c| rules.caps.for_channel(c).window.as_millis())
        .chain(campaign.cap().map(|c| c.window.as_millis()))
        .max()
        .unwrap_or(0);
    Timestamp::from_millis(now.as_millis().saturating_sub(longest))
}

/// Decides one loaded person for one campaign.
pub fn decide_subject(
    ctx: &Ctx<'_>,
    data: &SubjectData,
    campaign: &Campaign,
    seed: u64,
    zones: &mut Zones,
) -> Decision {
    let state = consent::derive_one(ctx.policy, &data.facts, &data.records, campaign.purpose());
    let consent = match state {
        Some(s) => ConsentCheck {
            allowed: s.allowed,
            reason: s.reason,
        },
        None => ConsentCheck {
            allowed: false,
            reason: consent::Reason::NoChoiceYet,
        },
    };
    let mut by_channel: [Vec<Timestamp>; 4] = Default::default();
    let mut this_campaign = Vec::new();
    for (campaign_id, channel, at) in &data.marketing.deliveries {
        if let Some(c) = Channel::parse(channel) {
            by_channel[channel_index(c)].push(*at);
        }
        if campaign_id == campaign.id() {
            this_campaign.push(*at);
        }
    }
    let unsubscribed = candor_segments::campaign::ChannelSet::of(
        &data
            .marketing
            .unsubscribed
            .iter()
            .filter_map(|c| Channel::parse(c))
            .collect::<Vec<_>>(),
    );
    let zone = zones.get(
        data.marketing.time_zone.as_deref(),
        &ctx.settings.default_time_zone,
    );
    let snapshot = SubjectSnapshot {
        key: &data.key,
        consent: &consent,
        unsubscribed,
        minor: data.facts.minor_below(ctx.policy).is_some(),
        self_excluded: data.self_excluded,
        restricted: data.restricted,
        time_zone: zone,
        history: DeliveryHistory {
            by_channel: [
                &by_channel[0],
                &by_channel[1],
                &by_channel[2],
                &by_channel[3],
            ],
            this_campaign: &this_campaign,
        },
        profile: &data.view,
    };
    decide(&snapshot, campaign, &ctx.settings.rules, ctx.now, seed)
}

/// The message for one person.
pub struct Message {
    pub text: String,
    pub unsubscribe_url: String,
}

/// The subject's contact fields, unsealed with their data key. Empty when none are held. Never
/// writes (the key is read, not created), so a campaign run can call it while it holds the
/// writer.
pub fn contact_fields(store: &dyn Store, key: &SubjectKey) -> StoreResult<HashMap<String, String>> {
    let sealed = store.contact(key)?;
    if sealed.is_empty() {
        return Ok(HashMap::new());
    }
    // Sealed contact data always has its key; none means the subject was erased meanwhile.
    let Some(data_key) = store.existing_data_key(key)? else {
        return Ok(HashMap::new());
    };
    let data_key = DataKey::from_bytes(data_key);
    Ok(sealed
        .into_iter()
        .filter_map(|(field, bytes)| {
            let context = crate::ingest::contact_context(key, &field);
            let plain = crypto::open(&data_key, &context, &bytes).ok()?;
            Some((field, String::from_utf8(plain).ok()?))
        })
        .collect())
}

/// The contact field a channel's messages are addressed to.
pub fn address_field(channel: Channel) -> Option<&'static str> {
    match channel {
        Channel::Email => Some("email"),
        Channel::Sms => Some("phone"),
        Channel::Push | Channel::Web => None,
    }
}

/// Renders the campaign's template for one person by plain substitution.
pub fn render(
    ctx: &Ctx<'_>,
    data: &SubjectData,
    campaign: &Campaign,
    catalog: &Catalog,
) -> StoreResult<Message> {
    render_arm(ctx, data, campaign, catalog, None)
}

/// The message for one person under an experiment's arm: the variant's message template if it
/// sets one, the campaign's otherwise; the holdout's without personalization (no name, no
/// recommendations from the person's interests).
pub fn render_arm(
    ctx: &Ctx<'_>,
    data: &SubjectData,
    campaign: &Campaign,
    catalog: &Catalog,
    arm: Option<&crate::experiments::CampaignArm>,
) -> StoreResult<Message> {
    let variant_template = match arm.and_then(|a| a.message.as_deref()) {
        // Checked against the channel when the experiment was created.
        Some(message) => Template::parse(message, campaign.channel()).ok(),
        None => None,
    };
    let template = variant_template.as_ref().unwrap_or(campaign.template());
    let personalized = arm.is_none_or(crate::experiments::CampaignArm::personalized);
    let contact = if personalized && template.uses(Placeholder::FirstName) {
        contact_fields(ctx.store, &data.key)?
    } else {
        HashMap::new()
    };
    let first_name = contact
        .get("first_name")
        .or_else(|| contact.get("firstName"))
        .map_or("", String::as_str);
    let mut titles: Vec<&str> = Vec::new();
    if personalized && template.uses(Placeholder::Recommendations) {
        let minor = data.facts.minor_below(ctx.policy).is_some();
        let restricted_for_minors: Vec<&str> =
            ctx.policy.restricted_for(Audience::Minors).collect();
        for category in data.view.top_interests() {
            let mut items: Vec<_> = catalog
                .items
                .values()
                .filter(|i| i.categories.iter().any(|c| c == category))
                // Restricted items appear only in a campaign that declares them, and never
                // for minors.
                .filter(|i| {
                    i.restricted.iter().all(|r| {
                        campaign.promotes().iter().any(|p| p.as_ref() == r)
                            && !(minor && restricted_for_minors.contains(&r.as_str()))
                    })
                })
                .collect();
            items.sort_by(|a, b| a.id.cmp(&b.id));
            for item in items {
                if titles.len() < RECOMMENDATIONS_LEN && !titles.contains(&item.title.as_str()) {
                    titles.push(&item.title);
                }
            }
            if titles.len() >= RECOMMENDATIONS_LEN {
                break;
            }
        }
    }
    let unsubscribe_url = ctx.unsubscribe_url(&data.key, campaign.channel());
    let text = template.render(&TemplateValues {
        first_name,
        recommendations: &titles,
        unsubscribe_url: &unsubscribe_url,
    });
    Ok(Message {
        text,
        unsubscribe_url,
    })
}

/// What a queued delivery keeps of its message: only what was rendered for the person. The
/// rest of the webhook body comes from the delivery's own record when it is posted
/// ([`webhook_payload`]), so a large run writes each id once, not again inside every payload.
#[derive(Debug, Serialize, Deserialize)]
pub struct QueuedMessage {
    pub message: String,
    pub unsubscribe_url: String,
    /// The experiment arm the message was rendered for: its exposure (and a first
    /// enrollment) is recorded when the delivery is posted, not when it is queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<QueuedArm>,
}

/// An experiment arm a queued message was rendered for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedArm {
    pub experiment: String,
    pub arm: String,
    /// Whether the person had no stored assignment when the run decided: the first
    /// enrollment is stored when the message is sent.
    #[serde(default)]
    pub enroll: bool,
}

impl QueuedArm {
    fn of(arm: &crate::experiments::CampaignArm) -> QueuedArm {
        QueuedArm {
            experiment: arm.experiment_id.clone(),
            arm: arm.arm.name().to_owned(),
            enroll: arm.enrollment.is_some(),
        }
    }

    /// The arm as it was decided, for recording its exposure when sent at `at`.
    pub fn campaign_arm(
        &self,
        subject: &SubjectKey,
        at: Timestamp,
    ) -> crate::experiments::CampaignArm {
        let arm = crate::experiments::arm_of(&self.arm);
        crate::experiments::CampaignArm {
            experiment_id: self.experiment.clone(),
            enrollment: self.enroll.then(|| candor_store::AssignmentRecord {
                experiment_id: self.experiment.clone(),
                subject: *subject,
                arm: self.arm.clone(),
                assigned_at: at,
            }),
            arm,
            message: None,
        }
    }
}

/// The body posted to the webhook for a queued delivery (without the address, which the
/// outbox adds when it posts). A whole body queued by an earlier version also carries
/// `message` and `unsubscribe_url`, and its other fields are the delivery's own columns, so
/// it reads the same way.
pub fn webhook_payload(d: &candor_store::DeliveryRecord) -> StoreResult<DeliveryPayload> {
    let stored = d.payload.as_deref().unwrap_or_default();
    let queued: QueuedMessage = serde_json::from_str(stored)
        .map_err(|e| candor_store::StoreError::Other(format!("unreadable delivery: {e}")))?;
    Ok(DeliveryPayload {
        idempotency_key: d.idempotency_key.clone(),
        campaign: d.campaign_id.clone(),
        run: d.run_id.clone(),
        channel: d.channel.clone(),
        subject: d.subject.to_hex(),
        to: None,
        message: queued.message,
        headers: DeliveryHeaders {
            list_unsubscribe: format!("<{}>", queued.unsubscribe_url),
            list_unsubscribe_post: "List-Unsubscribe=One-Click".to_owned(),
        },
        unsubscribe_url: queued.unsubscribe_url,
    })
}

/// The experiment arm a queued delivery's message was rendered for, if any.
pub fn queued_arm(d: &candor_store::DeliveryRecord) -> Option<QueuedArm> {
    let stored = d.payload.as_deref()?;
    serde_json::from_str::<QueuedMessage>(stored)
        .ok()?
        .experiment
}

/// The JSON a delivery posts to the webhook.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryPayload {
    pub idempotency_key: String,
    pub campaign: String,
    pub run: String,
    pub channel: String,
    /// The pseudonymous subject key (hex); the shop's own id never leaves its system.
    pub subject: String,
    /// The person's address on the channel, added when the delivery is posted (never kept in
    /// the outbox, so erasing the subject's data key shreds it), if Candor holds one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub message: String,
    pub unsubscribe_url: String,
    /// Headers an email sender should set (RFC 2369 and RFC 8058).
    pub headers: DeliveryHeaders,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryHeaders {
    #[serde(rename = "List-Unsubscribe")]
    pub list_unsubscribe: String,
    #[serde(rename = "List-Unsubscribe-Post")]
    pub list_unsubscribe_post: String,
}

/// Counts per outcome, in the order selected, then every exclusion code.
pub type Counts = [u64; 1 + ExclusionCode::ALL.len()];

fn slot(reason: Option<&str>) -> usize {
    match reason {
        None => 0,
        Some(r) => {
            1 + ExclusionCode::ALL
                .iter()
                .position(|c| c.as_str() == r)
                .unwrap_or(ExclusionCode::FrequencyCap as usize)
        }
    }
}

/// The k-suppressed summary of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub total: SuppressedCount,
    pub selected: SuppressedCount,
    pub excluded: Vec<(ExclusionCode, SuppressedCount)>,
}

pub fn summarize(counts: &Counts, k: u32) -> RunSummary {
    let cells = suppress_cells(counts, k);
    RunSummary {
        total: suppress(counts.iter().sum(), k),
        selected: cells[0],
        excluded: ExclusionCode::ALL
            .into_iter()
            .zip(cells[1..].iter().copied())
            .collect(),
    }
}

/// Why a run could not happen.
#[derive(Debug)]
pub enum RunRefusal {
    /// The segment the campaign names is gone.
    SegmentMissing(String),
    /// The campaign no longer passes the policy (it changed since the campaign was created).
    NoLongerValid(CampaignError),
    /// A real run before the campaign's scheduled time.
    NotDue(Timestamp),
}

/// What a run did.
#[derive(Debug)]
pub struct RunResult {
    pub run_id: Option<String>,
    pub counts: Counts,
    /// A real run whose parity ratio fell below four-fifths when it committed.
    pub flagged: bool,
    /// Its deliveries are held behind a fairness flag (the policy's hold switch).
    pub held: bool,
}

/// The flag to store with a real run, measured on its decisions before they are committed,
/// so a hold is decided before any delivery can reach the outbox. The decisions are those
/// made from the snapshot; a slot a racing run takes first (excluded at commit with
/// `frequency_cap`) is not reflected, which moves rates by at most those few people.
fn measure_run(
    ctx: &Ctx<'_>,
    campaign: &str,
    outcomes: &[RunOutcome],
) -> StoreResult<Option<candor_store::NewFlag>> {
    let decided: Vec<crate::fairness::CampaignOutcome> = outcomes
        .iter()
        .map(|o| crate::fairness::CampaignOutcome {
            subject: o.subject,
            selected: o.selected,
            converted: None,
        })
        .collect();
    let report = crate::fairness::campaign_report(
        ctx.store,
        ctx.policy,
        campaign,
        &decided,
        candor_accountability::K_MIN_DEFAULT,
    )?;
    Ok(report.flagged().then(|| candor_store::NewFlag {
        parity_ratio: report.parity_ratio_min().unwrap_or(0.0),
    }))
}

/// The delivery to queue for one selected person: the rendered message and its webhook
/// payload.
fn new_delivery(
    ctx: &Ctx<'_>,
    data: &SubjectData,
    campaign: &Campaign,
    catalog: &Catalog,
    stored: &StoredCampaign,
    run_id: &str,
    arm: Option<&crate::experiments::CampaignArm>,
) -> StoreResult<NewDelivery> {
    let message = render_arm(ctx, data, campaign, catalog, arm)?;
    let queued = QueuedMessage {
        message: message.text,
        unsubscribe_url: message.unsubscribe_url,
        experiment: arm.map(QueuedArm::of),
    };
    Ok(NewDelivery {
        idempotency_key: delivery_idempotency_key(&stored.id, run_id, &data.key),
        payload: Some(
            serde_json::to_string(&queued)
                .map_err(|e| candor_store::StoreError::Other(format!("payload: {e}")))?,
        ),
    })
}

fn random_id() -> String {
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

/// Runs a campaign over every known subject. A dry run writes nothing; a real run stores
/// each subject's outcome and queues a delivery for each selected subject, reserving cap
/// slots in the same transaction so racing runs never over-deliver.
pub fn run_campaign(
    ctx: &Ctx<'_>,
    record: &CampaignRecord,
    dry_run: bool,
) -> StoreResult<Result<RunResult, RunRefusal>> {
    let stored: StoredCampaign = serde_json::from_str(&record.spec)
        .map_err(|e| candor_store::StoreError::Other(format!("unreadable campaign: {e}")))?;
    let Some(segment) = ctx.store.segment(&stored.segment)? else {
        return Ok(Err(RunRefusal::SegmentMissing(stored.segment)));
    };
    let campaign = match stored.compile(&segment.rule, ctx.policy) {
        Ok(c) => c,
        Err(e) => return Ok(Err(RunRefusal::NoLongerValid(e))),
    };
    if !dry_run
        && let Some(at) = stored.send_at
        && ctx.now.as_millis() < at
    {
        return Ok(Err(RunRefusal::NotDue(Timestamp::from_millis(at))));
    }
    let run_id = (!dry_run).then(random_id);
    let catalog = ctx.catalog()?;
    // The experiment on this campaign, if one runs, with everyone's stored arm read once (a
    // SQLite run holds the writer, so nothing is stored while deciding: enrollments and
    // exposures are recorded when each message is sent).
    let definitions = ctx.experiments.active(ctx.store)?;
    let experiment = crate::experiments::running_on(
        &definitions,
        &candor_experiments::Target::Campaign(stored.id.clone()),
        ctx.now,
    )
    .next()
    .cloned();
    let assignments: HashMap<SubjectKey, candor_store::AssignmentRecord> = match &experiment {
        Some(e) if !dry_run => ctx
            .store
            .experiment_assignments(&e.id)?
            .into_iter()
            .map(|a| (a.subject, a))
            .collect(),
        _ => HashMap::new(),
    };
    let experiment = experiment.map(|e| vec![e]).unwrap_or_default();
    let since = history_since(&ctx.settings.rules, &campaign, ctx.now);
    let query = audience_query(campaign.segment(), since, ctx.now);
    /// One part of the audience, decided: the time zones it met and, in a dry run, its counts.
    #[derive(Default)]
    struct Part {
        zones: Zones,
        counts: Counts,
    }
    // Decides one page of the audience into `part`; a real run's outcomes go to `sink`.
    let decide_page = |part: &mut Part,
                       page: Vec<candor_store::AudienceRow>,
                       sink: Option<&dyn RunSink>|
     -> StoreResult<()> {
        let mut outcomes = Vec::new();
        for row in page {
            let data = ctx.subject_from_row(row, &catalog);
            let key = &data.key;
            let decision = decide_subject(ctx, &data, &campaign, stored.seed, &mut part.zones);
            let reason = decision.code().map(|c| c.as_str().to_owned());
            let Some(run_id) = &run_id else {
                part.counts[slot(reason.as_deref())] += 1;
                continue;
            };
            let delivery = match decision {
                Decision::Selected => {
                    // Selected means the person's consent to the campaign's purpose — the
                    // experiment's — allows the message.
                    let arm = crate::experiments::campaign_arm(
                        &experiment,
                        &stored.id,
                        key,
                        true,
                        &mut |_| Ok(assignments.get(key).cloned()),
                        ctx.now,
                    )?;
                    Some(new_delivery(
                        ctx,
                        &data,
                        &campaign,
                        &catalog,
                        &stored,
                        run_id,
                        arm.as_ref(),
                    )?)
                }
                Decision::Excluded(_) => None,
            };
            outcomes.push(NewOutcome {
                subject: *key,
                reason,
                delivery,
            });
        }
        match sink {
            Some(sink) if !outcomes.is_empty() => sink.write(outcomes),
            _ => Ok(()),
        }
    };
    let mut counts: Counts = [0; 1 + ExclusionCode::ALL.len()];
    let Some(run_id) = &run_id else {
        let parts = fold_audience(ctx.store, &query, Part::default, |part, page| {
            decide_page(part, page, None)
        })?;
        for part in parts {
            for (total, n) in counts.iter_mut().zip(part.counts) {
                *total += n;
            }
        }
        return Ok(Ok(RunResult {
            run_id: None,
            counts,
            flagged: false,
            held: false,
        }));
    };
    let mut flagged = false;
    let committed = ctx.store.stream_run(
        &NewRun {
            run_id: run_id.clone(),
            campaign_id: stored.id.clone(),
            channel: stored.channel.clone(),
            now: ctx.now,
            channel_cap: cap_limit(ctx.settings.rules.caps.for_channel(campaign.channel())),
            campaign_cap: campaign.cap().map(cap_limit),
            record_outcomes: true,
            outcomes: Vec::new(),
            flag: None,
            hold_if_flagged: ctx.policy.fairness.hold_flagged_campaigns,
        },
        &mut |sink| {
            fold_audience(ctx.store, &query, Part::default, |part, page| {
                decide_page(part, page, Some(sink))
            })
            .map(drop)
        },
        &mut |outcomes| {
            let flag = measure_run(ctx, &stored.id, outcomes)?;
            flagged = flag.is_some();
            Ok(flag)
        },
    )?;
    for o in &committed.outcomes {
        counts[slot(o.reason.as_deref())] += 1;
    }
    let held = committed.held;
    Ok(Ok(RunResult {
        run_id: Some(run_id.clone()),
        counts,
        flagged,
        held,
    }))
}

/// Writes a real run to the audit log (`campaign_run`: run id, flagged, held). A dry run
/// records nothing, so it leaves no entry.
pub fn audit_run(
    store: &dyn Store,
    actor: crate::audit::Actor,
    campaign: &str,
    result: &RunResult,
    now: Timestamp,
) -> StoreResult<()> {
    use crate::audit::{AuditAction, AuditEvent, AuditTarget};
    let Some(run_id) = &result.run_id else {
        return Ok(());
    };
    let event = AuditEvent::new(
        actor,
        AuditAction::CampaignRun,
        AuditTarget::Campaign(campaign.to_owned()),
    )
    .detail("run", run_id.clone())
    .detail("flagged", result.flagged.to_string())
    .detail("held", result.held.to_string());
    crate::audit::record(store, event, now).map(|_| ())
}

pub fn cap_limit(cap: Cap) -> CapLimit {
    CapLimit {
        max: cap.max,
        window_ms: cap.window.as_millis(),
    }
}
