//! Fairness audits in the running product: the only server code that reads audit attributes.
//!
//! Attributes are declared under the `fairness_audit` purpose, sealed with the subject's data
//! key ([`store_attributes`]) and opened only here, into [`AuditAttributes`] values that no
//! caller can read: they go straight into a [`GroupTally`], and only the suppressed,
//! aggregated report comes out. Segments, models and campaigns never see them.
//!
//! Reports:
//! - [`slot_report`]: for a recommendation slot, the exposure rate per group (exposed subjects
//!   among everyone who declared attributes and still grants `fairness_audit`), parity
//!   difference and ratio, the four-fifths flag, and the item side (exposure share by provider
//!   and popularity decile, catalog coverage).
//! - [`campaign_report`]: the same group metrics over campaign outcomes
//!   (`subject, selected, converted`), with equalized odds where conversions are known;
//!   [`campaign_fairness`] applies it to a stored run, conversions being purchases within
//!   [`CONVERSION_WINDOW_DAYS`] of the run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use candor_accountability::exposure::{CatalogItem as ExposureItem, ExposureCounts};
use candor_accountability::{
    AttributeKind, AuditAttributes, FairnessReport, GroupTally, ItemExposureReport,
    PARITY_ALERT_THRESHOLD_DEFAULT, fairness_report, item_exposure_report,
};
use candor_domain::SubjectKey;
use candor_domain::consent::{self, ConsentRecord};
use candor_domain::crypto::{DataKey, NONCE_LEN};
use candor_domain::policy::{Interaction, Policy};
use candor_domain::time::Timestamp;
use candor_store::{
    FairnessFlag, PAGE_LEN_MAX, PageRequest, RunRecord, Store, StoreError, StoreResult,
};
use rand::RngCore;

/// The purpose audit attributes are declared and used under.
pub const FAIRNESS_PURPOSE: &str = "fairness_audit";

/// Parity ratios below this are flagged (the four-fifths rule).
pub const PARITY_FLAG_THRESHOLD: f64 = PARITY_ALERT_THRESHOLD_DEFAULT;

fn context(subject: &SubjectKey) -> Vec<u8> {
    let mut c = b"audit_attributes:".to_vec();
    c.extend_from_slice(subject.as_bytes());
    c
}

fn fresh_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

/// Whether the subject grants the fairness audit purpose now.
pub fn grants_fairness_audit(
    policy: &Policy,
    facts: &consent::SubjectFacts,
    records: &[ConsentRecord],
) -> bool {
    let Some(purpose) = policy.purpose_by_name(FAIRNESS_PURPOSE) else {
        return false;
    };
    consent::derive(policy, facts, records).allows(&purpose.id)
}

/// Seals and stores a subject's attributes with their data key (created if they have none).
pub fn store_attributes(
    store: &dyn Store,
    subject: &SubjectKey,
    attributes: &AuditAttributes,
    now: Timestamp,
) -> StoreResult<()> {
    let key = DataKey::from_bytes(store.data_key(subject, fresh_bytes(), now)?);
    let sealed = attributes.seal(&key, fresh_bytes::<NONCE_LEN>(), &context(subject));
    store.put_audit_attributes(subject, &sealed, now)
}

/// Everyone whose attributes may be used now: declared, still openable (not erased), and
/// `fairness_audit` still granted.
fn audited_population(
    store: &dyn Store,
    policy: &Policy,
) -> StoreResult<Vec<(SubjectKey, AuditAttributes)>> {
    let mut out = Vec::new();
    let mut after: Option<SubjectKey> = None;
    loop {
        let page = store.audit_attributes_after(after.as_ref(), PAGE_LEN_MAX)?;
        let Some(last) = page.last() else { break };
        after = Some(last.0);
        for (subject, sealed) in page {
            let facts = store
                .subject(&subject)?
                .map(|s| s.facts)
                .unwrap_or_default();
            if !grants_fairness_audit(policy, &facts, &store.consent_records(&subject)?) {
                continue;
            }
            // Read, never created: sealed attributes always have their key, and a campaign
            // run measures while it holds the writer.
            let Some(key) = store.existing_data_key(&subject)? else {
                continue;
            };
            let key = DataKey::from_bytes(key);
            if let Ok(attributes) = AuditAttributes::open(&key, &context(&subject), &sealed) {
                out.push((subject, attributes));
            }
        }
    }
    Ok(out)
}

/// One group report per attribute kind anyone declared.
fn reports_by_kind(
    title: &str,
    rows: &[(&AuditAttributes, bool, Option<bool>)],
    k_min: u64,
) -> StoreResult<Vec<(AttributeKind, FairnessReport, u64)>> {
    let mut out = Vec::new();
    for kind in AttributeKind::ALL {
        let mut tally = GroupTally::new();
        let mut declared = 0u64;
        for (attributes, selected, outcome) in rows {
            if tally
                .add_declared(attributes, kind, *selected, *outcome)
                .map_err(|e| StoreError::Other(e.to_string()))?
            {
                declared += 1;
            }
        }
        if declared > 0 {
            let report = fairness_report(&format!("{title} by {kind}"), &tally, k_min);
            out.push((kind, report, tally.n_undeclared()));
        }
    }
    Ok(out)
}

/// Fairness of one audited decision (a slot or a campaign), per attribute kind.
#[derive(Debug, Clone)]
pub struct GroupFairness {
    pub title: String,
    /// Subjects with usable attributes that were counted.
    pub n_audited: u64,
    /// Per attribute kind: the report and how many audited subjects left that kind undeclared.
    pub by_kind: Vec<(AttributeKind, FairnessReport, u64)>,
}

impl GroupFairness {
    /// Whether any attribute's parity ratio is below [`PARITY_FLAG_THRESHOLD`].
    pub fn flagged(&self) -> bool {
        self.parity_ratio_min()
            .is_some_and(|ratio| ratio < PARITY_FLAG_THRESHOLD)
    }

    /// The lowest demographic parity ratio (between groups) over the attributes measured;
    /// `None` when no attribute has two groups large enough to compare.
    pub fn parity_ratio_min(&self) -> Option<f64> {
        self.by_kind
            .iter()
            .filter_map(|(_, r, _)| r.between_groups.dp_ratio)
            .min_by(f64::total_cmp)
    }
}

/// A recommendation slot's fairness: people side and item side.
#[derive(Debug, Clone)]
pub struct SlotFairness {
    pub slot: String,
    pub since: Timestamp,
    pub n_exposures: u64,
    pub n_exposed_subjects: u64,
    pub groups: GroupFairness,
    pub items: ItemExposureReport,
}

/// Exposures of `slot` at or after `since`: everyone exposed, per-item counts and each
/// shown item's provider, and the number of exposures.
struct SlotExposures {
    exposed: BTreeSet<SubjectKey>,
    counts: ExposureCounts,
    providers: HashMap<String, String>,
    n_exposures: u64,
}

fn slot_exposures(store: &dyn Store, slot: &str, since: Timestamp) -> StoreResult<SlotExposures> {
    let mut out = SlotExposures {
        exposed: BTreeSet::new(),
        counts: ExposureCounts::new(),
        providers: HashMap::new(),
        n_exposures: 0,
    };
    let mut page = PageRequest::first(PAGE_LEN_MAX);
    loop {
        let got = store.exposures_for_slot(slot, since, page)?;
        for e in got.items {
            out.n_exposures += 1;
            out.exposed.insert(e.subject);
            out.counts.add(&e.item_id, 1);
            out.providers.entry(e.item_id).or_insert(e.provider);
        }
        match got.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    Ok(out)
}

fn slot_groups(
    population: &[(SubjectKey, AuditAttributes)],
    exposed: &BTreeSet<SubjectKey>,
    slot: &str,
    k_min: u64,
) -> StoreResult<GroupFairness> {
    let rows: Vec<(&AuditAttributes, bool, Option<bool>)> = population
        .iter()
        .map(|(s, a)| (a, exposed.contains(s), None))
        .collect();
    let title = format!("Exposure in slot {slot}");
    Ok(GroupFairness {
        by_kind: reports_by_kind(&title, &rows, k_min)?,
        n_audited: rows.len() as u64,
        title,
    })
}

/// Computes the fairness report of `slot` over exposures at or after `since`.
pub fn slot_report(
    store: &dyn Store,
    policy: &Policy,
    slot: &str,
    since: Timestamp,
    k_min: u64,
) -> StoreResult<SlotFairness> {
    let exposures = slot_exposures(store, slot, since)?;
    let population = audited_population(store, policy)?;
    let groups = slot_groups(&population, &exposures.exposed, slot, k_min)?;
    let catalog = catalog_with_popularity(store, &exposures.providers)?;
    let items: Vec<ExposureItem<'_>> = catalog
        .iter()
        .map(|(id, (provider, popularity))| ExposureItem {
            id,
            provider,
            popularity: *popularity,
        })
        .collect();
    Ok(SlotFairness {
        slot: slot.to_owned(),
        since,
        n_exposures: exposures.n_exposures,
        n_exposed_subjects: exposures.exposed.len() as u64,
        groups,
        items: item_exposure_report(&items, &exposures.counts),
    })
}

/// Most slots measured for the list of flags.
pub const FLAGGED_SLOTS_LEN_MAX: u32 = 100;

/// The people side of every slot shown since `since` (at most [`FLAGGED_SLOTS_LEN_MAX`]),
/// computed now: one read of the audited population for all of them, and no item side.
pub fn slot_group_reports(
    store: &dyn Store,
    policy: &Policy,
    since: Timestamp,
    k_min: u64,
) -> StoreResult<Vec<(String, GroupFairness)>> {
    let slots = store.exposure_slots(since, FLAGGED_SLOTS_LEN_MAX)?;
    if slots.is_empty() {
        return Ok(Vec::new());
    }
    let population = audited_population(store, policy)?;
    slots
        .into_iter()
        .map(|slot| {
            let exposures = slot_exposures(store, &slot, since)?;
            let groups = slot_groups(&population, &exposures.exposed, &slot, k_min)?;
            Ok((slot, groups))
        })
        .collect()
}

/// The catalog with each item's provider and popularity (stored interactions with it).
/// Items shown but no longer in the catalog keep the provider recorded with the exposure.
fn catalog_with_popularity(
    store: &dyn Store,
    exposed_providers: &HashMap<String, String>,
) -> StoreResult<BTreeMap<String, (String, u64)>> {
    let mut catalog: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut page = PageRequest::first(PAGE_LEN_MAX);
    loop {
        let got = store.items(page)?;
        for item in got.items {
            catalog.insert(item.id, (item.provider, 0));
        }
        match got.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    for (id, provider) in exposed_providers {
        catalog
            .entry(id.clone())
            .or_insert_with(|| (provider.clone(), 0));
    }
    let mut after: Option<SubjectKey> = None;
    loop {
        let subjects = store.subjects_with_events(after.as_ref(), PAGE_LEN_MAX)?;
        let Some(last) = subjects.last() else { break };
        after = Some(*last);
        for s in &subjects {
            for e in store.all_events(s)? {
                if let Some(entry) = e.item_id.and_then(|id| catalog.get_mut(&id)) {
                    entry.1 += 1;
                }
            }
        }
    }
    Ok(catalog)
}

/// One subject's part in a campaign run, as the campaign feature records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CampaignOutcome {
    pub subject: SubjectKey,
    /// Whether the campaign selected (sent to) them.
    pub selected: bool,
    /// Whether they converted, where known.
    pub converted: Option<bool>,
}

/// Group fairness of a campaign run: selection rate per group among audited subjects in
/// `outcomes`, and equalized odds where conversions are known. Subjects without usable
/// attributes are left out.
pub fn campaign_report(
    store: &dyn Store,
    policy: &Policy,
    campaign: &str,
    outcomes: &[CampaignOutcome],
    k_min: u64,
) -> StoreResult<GroupFairness> {
    let population: HashMap<SubjectKey, AuditAttributes> =
        audited_population(store, policy)?.into_iter().collect();
    campaign_groups(&population, campaign, outcomes, k_min)
}

fn campaign_groups(
    population: &HashMap<SubjectKey, AuditAttributes>,
    campaign: &str,
    outcomes: &[CampaignOutcome],
    k_min: u64,
) -> StoreResult<GroupFairness> {
    let rows: Vec<(&AuditAttributes, bool, Option<bool>)> = outcomes
        .iter()
        .filter_map(|o| Some((population.get(&o.subject)?, o.selected, o.converted)))
        .collect();
    let title = format!("Selection in campaign {campaign}");
    Ok(GroupFairness {
        by_kind: reports_by_kind(&title, &rows, k_min)?,
        n_audited: rows.len() as u64,
        title,
    })
}

/// A person converted after a campaign run when they purchased (an event the policy maps to
/// the `purchase` interaction) within this many days after the run. Everyone decided — sent
/// the message or not — is measured over the same window, so equalized odds compare like
/// with like.
pub const CONVERSION_WINDOW_DAYS: i64 = 7;

/// Whether the subject purchased in the conversion window after `at`; `None` until the
/// window has closed, so a half-observed window is never reported as "did not convert".
fn converted_after(
    store: &dyn Store,
    subject: &SubjectKey,
    at: Timestamp,
    now: Timestamp,
) -> StoreResult<Option<bool>> {
    let end = at.plus_millis(CONVERSION_WINDOW_DAYS * candor_domain::time::DAY_MS);
    if now < end {
        return Ok(None);
    }
    Ok(Some(store.all_events(subject)?.iter().any(|e| {
        e.interaction == Some(Interaction::Purchase) && e.occurred_at > at && e.occurred_at <= end
    })))
}

/// A stored campaign run's fairness, with its flag as recorded when it committed.
#[derive(Debug, Clone)]
pub struct CampaignFairness {
    pub campaign: String,
    pub run: RunRecord,
    /// The flag stored when the run committed, if it was flagged then.
    pub flag: Option<FairnessFlag>,
    /// Some of the run's deliveries are held behind a fairness flag.
    pub held: bool,
    /// Measured now, from the stored outcomes and the attributes usable now.
    pub groups: GroupFairness,
}

impl CampaignFairness {
    /// Flagged when it committed, or by the measurement now.
    pub fn flagged(&self) -> bool {
        self.flag.is_some() || self.groups.flagged()
    }

    /// The lowest parity ratio: as measured now, else as stored with the flag.
    pub fn parity_ratio(&self) -> Option<f64> {
        self.groups
            .parity_ratio_min()
            .or(self.flag.as_ref().map(|f| f.parity_ratio))
    }
}

/// Why a stored campaign run cannot be measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignFairnessMissing {
    CampaignNotFound,
    /// The campaign was never run for real.
    NoRuns,
    /// No run with that id belongs to the campaign.
    RunNotFound,
}

/// Most flags listed or read per request.
pub const FLAGS_LEN_MAX: u32 = 500;

/// The group fairness of a stored run of `campaign` (its latest by default): selected
/// (delivered) against everyone the run decided, with equalized odds once the conversion
/// window of [`CONVERSION_WINDOW_DAYS`] has closed.
pub fn campaign_fairness(
    store: &dyn Store,
    policy: &Policy,
    campaign: &str,
    run: Option<&str>,
    k_min: u64,
    now: Timestamp,
) -> StoreResult<Result<CampaignFairness, CampaignFairnessMissing>> {
    if store.campaign(campaign)?.is_none() {
        return Ok(Err(CampaignFairnessMissing::CampaignNotFound));
    }
    let run = match run {
        Some(id) => match store.run(id)? {
            Some(r) if r.campaign_id == campaign => r,
            _ => return Ok(Err(CampaignFairnessMissing::RunNotFound)),
        },
        None => match store.latest_run(campaign)? {
            Some(r) => r,
            None => return Ok(Err(CampaignFairnessMissing::NoRuns)),
        },
    };
    let population: HashMap<SubjectKey, AuditAttributes> =
        audited_population(store, policy)?.into_iter().collect();
    let mut outcomes = Vec::new();
    for o in store.run_outcomes(&run.id)? {
        // Conversions are read only for people whose attributes count.
        if !population.contains_key(&o.subject) {
            continue;
        }
        outcomes.push(CampaignOutcome {
            converted: converted_after(store, &o.subject, run.at, now)?,
            subject: o.subject,
            selected: o.selected,
        });
    }
    let groups = campaign_groups(&population, campaign, &outcomes, k_min)?;
    let flag = store
        .fairness_flags(Some(campaign), FLAGS_LEN_MAX)?
        .into_iter()
        .find(|f| f.run_id == run.id);
    let held = store.held_deliveries(Some(&run.id))? > 0;
    Ok(Ok(CampaignFairness {
        campaign: campaign.to_owned(),
        run,
        flag,
        held,
        groups,
    }))
}

/// A campaign run's report as Markdown.
pub fn campaign_markdown(c: &CampaignFairness) -> String {
    use candor_accountability::render::escape_markdown;
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Fairness of campaign {}\n\nRun {} at {}: {} audited people decided.\n",
        escape_markdown(&c.campaign),
        escape_markdown(&c.run.id),
        c.run.at.to_rfc3339(),
        c.groups.n_audited
    );
    if let Some(f) = &c.flag {
        let _ = writeln!(
            md,
            "**Flagged when it ran** (parity ratio {:.3}).{}\n",
            f.parity_ratio,
            match (&f.acknowledged_at, &f.acknowledgement_note) {
                (Some(at), note) => format!(
                    " Acknowledged at {}: {}",
                    at.to_rfc3339(),
                    escape_markdown(note.as_deref().unwrap_or(""))
                ),
                (None, _) => " Not acknowledged.".to_owned(),
            }
        );
    }
    if c.held {
        let _ = writeln!(
            md,
            "Deliveries of this run are held until the flag is acknowledged.\n"
        );
    }
    let _ = writeln!(
        md,
        "Conversions: a purchase within {CONVERSION_WINDOW_DAYS} days of the run; equalized \
         odds appear once that window has closed.\n"
    );
    group_markdown(&mut md, &c.groups);
    md
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

/// A slot's report as Markdown: each attribute's group table, then the item side.
pub fn slot_markdown(s: &SlotFairness) -> String {
    use candor_accountability::render::escape_markdown;
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Fairness of slot {}\n\nSince {}: {} exposures to {} people.\n",
        escape_markdown(&s.slot),
        s.since.to_rfc3339(),
        s.n_exposures,
        s.n_exposed_subjects
    );
    if s.n_exposures == 0 {
        let _ = writeln!(
            md,
            "Nothing was shown in this slot in this period, so there is nothing to measure.\n"
        );
    }
    group_markdown(&mut md, &s.groups);
    let i = &s.items;
    let _ = writeln!(
        md,
        "## Item side\n\nCatalog coverage: {} of {} items shown at least once. Share of \
         exposure to the most popular tenth: {}.\n",
        pct(i.coverage),
        i.n_catalog_items,
        pct(i.popularity.head_share)
    );
    let _ = writeln!(
        md,
        "| Provider | Items | Exposures | Share |\n|---|---:|---:|---:|"
    );
    for p in &i.providers {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            escape_markdown(&p.provider),
            p.n_items,
            p.n_exposures,
            pct(p.share)
        );
    }
    let _ = writeln!(
        md,
        "\n| Popularity decile | Items | Exposures | Share |\n|---|---:|---:|---:|"
    );
    for d in &i.popularity.deciles {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            d.decile,
            d.n_items,
            d.n_exposures,
            pct(d.share)
        );
    }
    md
}

/// The people side as Markdown, one section per attribute, flagged ones called out.
pub fn group_markdown(md: &mut String, g: &GroupFairness) {
    use candor_accountability::render::fairness_report_markdown;
    use std::fmt::Write as _;
    if g.by_kind.is_empty() {
        let _ = writeln!(
            md,
            "No one counted has declared audit attributes under `{FAIRNESS_PURPOSE}`, so group \
             fairness cannot be measured.\n"
        );
        return;
    }
    if g.flagged() {
        let _ = writeln!(
            md,
            "**Flagged:** a demographic parity ratio is below {PARITY_FLAG_THRESHOLD} (the \
             four-fifths rule).\n"
        );
    }
    for (_, report, undeclared) in &g.by_kind {
        md.push_str(&fairness_report_markdown(report));
        let _ = writeln!(
            md,
            "\n{undeclared} audited people did not declare this attribute.\n"
        );
    }
}
