//! Experiments' use cases, apart from HTTP: create (validated against the policy and the
//! experiments already stored), stop, report, and what serving needs — the experiments running
//! on a slot (one per layer, their variants composed) or a campaign, a person's sticky,
//! consent-gated enrollment, the exposure of a list or message shown, and the carry-over of a
//! visitor's assignments on identify. Functions over the store, the policy and `now`; the
//! rules are `candor_experiments`'.
//!
//! Definitions are cached ([`DefinitionCache`]); consent and assignments never are.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use candor_domain::SubjectKey;
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_experiments::{
    Arm, Assignment, Decision, DefinitionError, Experiment, Observations, Report, ReportConfig,
    Sequential, SequentialState, Subject, Target, VariantSettings, Withdrawn, assign, carry_over,
    withdrawn_periods,
};
use candor_store::{
    AssignmentRecord, ExperimentExposure, ExperimentRecord, ExperimentStatus, SequentialRecord,
    Store, StoreError, StoreResult,
};

/// The salt of the global holdout, the same for every experiment so that experiments with the
/// same holdout share hold out the same people. Subject keys are already keyed hashes, so the
/// salt need not be secret.
pub const HOLDOUT_SALT: &str = "candor-global-holdout";

/// The models a variant may name.
pub const MODELS: [&str; 3] = ["ease", "knn", "popularity"];

/// The store's generation counter for experiment definitions: bumped by every create and
/// stop, so every instance's [`DefinitionCache`] reloads.
pub const EXPERIMENTS_GENERATION: &str = "experiments";

/// How long a [`DefinitionCache`] serves its definitions before it reads the generation
/// counter again: a create or stop on another instance reaches this one within this time
/// (on the instance that made it, at once).
pub const DEFINITIONS_RECHECK: Duration = Duration::from_secs(1);

/// The active (not stopped) experiment definitions, cached between requests: serving reads
/// them on every request naming a slot and every campaign decision, and reading and parsing
/// every definition each time cost more than the rest of the experiment work. At most once
/// per [`DEFINITIONS_RECHECK`] the cache reads the store's [`EXPERIMENTS_GENERATION`] and
/// reloads when it moved. Consent and assignments are never cached: they are read on every
/// request.
#[derive(Default)]
pub struct DefinitionCache(RwLock<Option<Cached>>);

struct Cached {
    generation: i64,
    checked: Instant,
    active: Arc<Vec<Experiment>>,
}

impl DefinitionCache {
    /// The active definitions, oldest first.
    pub fn active(&self, store: &dyn Store) -> StoreResult<Arc<Vec<Experiment>>> {
        if let Some(c) = self.0.read().unwrap_or_else(|e| e.into_inner()).as_ref()
            && c.checked.elapsed() < DEFINITIONS_RECHECK
        {
            return Ok(Arc::clone(&c.active));
        }
        // The counter is read before the definitions, so a change made while they load moves
        // it past what is cached, and the next check reloads.
        let generation = store.generation(EXPERIMENTS_GENERATION)?;
        {
            let mut cached = self.0.write().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cached.as_mut()
                && c.generation == generation
            {
                c.checked = Instant::now();
                return Ok(Arc::clone(&c.active));
            }
        }
        let active: Arc<Vec<Experiment>> = Arc::new(
            all(store)?
                .into_iter()
                .filter(|(r, _)| r.status == ExperimentStatus::Active)
                .map(|(_, d)| d)
                .collect(),
        );
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            generation,
            checked: Instant::now(),
            active: Arc::clone(&active),
        });
        Ok(active)
    }

    /// Forgets the definitions: the next use reloads them (after a create or stop here).
    pub fn invalidate(&self) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Why an experiment was not created.
#[derive(Debug)]
pub enum CreateError {
    /// The definition is refused; every problem, each with its stable code.
    Invalid(Vec<Problem>),
    /// The id is taken.
    Taken,
    Store(StoreError),
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> CreateError {
        CreateError::Store(e)
    }
}

/// One problem with a definition: the pure validation's, or the server's own checks against
/// the policy and the models it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

impl From<&DefinitionError> for Problem {
    fn from(e: &DefinitionError) -> Problem {
        Problem {
            code: e.code(),
            message: e.to_string(),
        }
    }
}

/// The event type names `policy` declares.
pub fn declared_event_types(policy: &Policy) -> BTreeSet<String> {
    policy.event_types.keys().cloned().collect()
}

/// The definition a record holds.
pub fn definition(record: &ExperimentRecord) -> StoreResult<Experiment> {
    serde_json::from_str(&record.definition)
        .map_err(|e| StoreError::Other(format!("experiment `{}` is unreadable: {e}", record.id)))
}

/// Every stored experiment with its definition, oldest first.
pub fn all(store: &dyn Store) -> StoreResult<Vec<(ExperimentRecord, Experiment)>> {
    store
        .experiments()?
        .into_iter()
        .map(|r| definition(&r).map(|d| (r, d)))
        .collect()
}

/// Checks what the pure validation cannot know: the purpose is one the policy declares, and
/// every model named is one the server serves.
fn check_against_server(experiment: &Experiment, policy: &Policy) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !policy
        .purposes
        .iter()
        .any(|p| p.id.as_str() == experiment.purpose)
    {
        problems.push(Problem {
            code: "experiment_purpose_unknown",
            message: format!(
                "purpose `{}` is not declared by the policy; name one of its purposes",
                experiment.purpose
            ),
        });
    }
    for variant in &experiment.variants {
        if let Some(model) = &variant.settings.model
            && !MODELS.contains(&model.as_str())
        {
            problems.push(Problem {
                code: "experiment_variant_model",
                message: format!(
                    "variant `{}`: model `{model}` is not one of {}",
                    variant.name,
                    MODELS.join(", ")
                ),
            });
        }
    }
    problems
}

/// Validates `experiment` against `policy` and every stored experiment, then saves it.
/// The definition is pinned to the policy version it was checked against.
pub fn create(
    store: &dyn Store,
    policy: &Policy,
    mut experiment: Experiment,
    now: Timestamp,
) -> Result<ExperimentRecord, CreateError> {
    experiment.policy_version = policy.version.to_string();
    let existing: Vec<Experiment> = all(store)?.into_iter().map(|(_, d)| d).collect();
    let declared = declared_event_types(policy);
    let context = candor_experiments::Context {
        declared_event_types: &declared,
        existing: &existing,
    };
    let mut problems: Vec<Problem> = match candor_experiments::validate(&experiment, context) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(Problem::from).collect(),
    };
    problems.extend(check_against_server(&experiment, policy));
    if let Target::Campaign(campaign) = &experiment.target {
        match store.campaign(campaign)? {
            None => problems.push(Problem {
                code: "experiment_campaign_unknown",
                message: format!("no campaign `{campaign}`; create the campaign first"),
            }),
            Some(record) => problems.extend(check_campaign(&experiment, &record.spec)),
        }
    }
    if existing.iter().any(|e| e.id == experiment.id) {
        return Err(CreateError::Taken);
    }
    if !problems.is_empty() {
        return Err(CreateError::Invalid(problems));
    }
    let record = ExperimentRecord {
        id: experiment.id.clone(),
        definition: serde_json::to_string(&experiment)
            .map_err(|e| StoreError::Other(e.to_string()))?,
        policy_version: experiment.policy_version.clone(),
        status: ExperimentStatus::Active,
        created_at: now,
        stopped_at: None,
    };
    match store.insert_experiment(&record) {
        Ok(()) => {
            store.bump_generation(EXPERIMENTS_GENERATION)?;
            Ok(record)
        }
        Err(StoreError::Conflict(_)) => Err(CreateError::Taken),
        Err(e) => Err(e.into()),
    }
}

/// Stops an experiment at `now`: it assigns nobody from then on, and its definition's stop
/// time becomes `now` unless it was earlier. Stopping a stopped experiment changes nothing.
pub fn stop(store: &dyn Store, id: &str, now: Timestamp) -> StoreResult<ExperimentRecord> {
    let record = store.experiment(id)?.ok_or(StoreError::NotFound)?;
    if record.status == ExperimentStatus::Stopped {
        return Ok(record);
    }
    let mut experiment = definition(&record)?;
    let now_ms = now.as_millis();
    experiment.stop_ms = Some(experiment.stop_ms.map_or(now_ms, |stop| stop.min(now_ms)));
    let text = serde_json::to_string(&experiment).map_err(|e| StoreError::Other(e.to_string()))?;
    store.stop_experiment(id, &text, now)?;
    store.bump_generation(EXPERIMENTS_GENERATION)?;
    store.experiment(id)?.ok_or(StoreError::NotFound)
}

/// The fields of a stored campaign (`campaigns::StoredCampaign`, which writes them) that a
/// test of it is checked against. Read here rather than through `campaigns`, which builds on
/// this module: the campaign's runs and decisions apply the tests' arms.
#[derive(serde::Deserialize)]
struct CampaignFacts {
    id: String,
    purpose: String,
    channel: String,
}

impl CampaignFacts {
    fn channel(&self) -> Option<candor_domain::policy::Channel> {
        candor_domain::policy::Channel::parse(&self.channel)
    }
}

/// Checks a campaign experiment against its campaign: the purpose is the campaign's (the
/// consent that lets the message be sent is the consent that enrolls), and every variant's
/// message is a template the campaign's channel accepts.
fn check_campaign(experiment: &Experiment, spec: &str) -> Vec<Problem> {
    let Ok(campaign) = serde_json::from_str::<CampaignFacts>(spec) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if campaign.purpose != experiment.purpose {
        problems.push(Problem {
            code: "experiment_purpose_mismatch",
            message: format!(
                "campaign `{}` is sent for purpose `{}`; a test of it must name the same \
                 purpose, so that only people whose consent lets the message reach them are \
                 enrolled",
                campaign.id, campaign.purpose
            ),
        });
    }
    let Some(channel) = campaign.channel() else {
        return problems;
    };
    for variant in &experiment.variants {
        if let Some(message) = &variant.settings.campaign_message
            && let Err(e) = candor_segments::template::Template::parse(message, channel)
        {
            problems.push(Problem {
                code: "experiment_campaign_message",
                message: format!(
                    "variant `{}`: the message is not a {} template: {e}",
                    variant.name,
                    channel.as_str()
                ),
            });
        }
    }
    problems
}

/// The experiments in `definitions` running on `target` at `now`, oldest first.
pub fn running_on<'a>(
    definitions: &'a [Experiment],
    target: &'a Target,
    now: Timestamp,
) -> impl Iterator<Item = &'a Experiment> {
    definitions
        .iter()
        .filter(move |d| &d.target == target && d.is_running(now.as_millis()))
}

/// The arm a stored name stands for.
pub fn arm_of(name: &str) -> Arm {
    if name == candor_experiments::HOLDOUT_ARM {
        Arm::Holdout
    } else {
        Arm::Variant(name.to_owned())
    }
}

fn assignment_of(record: &AssignmentRecord) -> Assignment {
    Assignment {
        experiment_id: record.experiment_id.clone(),
        arm: arm_of(&record.arm),
        assigned_at_ms: record.assigned_at.as_millis(),
    }
}

fn record_of(subject: &SubjectKey, a: &Assignment) -> AssignmentRecord {
    AssignmentRecord {
        experiment_id: a.experiment_id.clone(),
        subject: *subject,
        arm: a.arm.name().to_owned(),
        assigned_at: Timestamp::from_millis(a.assigned_at_ms),
    }
}

/// A person's arm in `experiment` at `now`, from their stored assignment or, if none, the
/// hash: only while `consent_covers_purpose` (derived from the ledger on this request) says
/// their consent covers the experiment's purpose — while withdrawn nobody is assigned, and a
/// grant given again finds the stored arm. Returns the arm and, for a first enrollment, the
/// assignment to store with the exposure.
pub fn arm_of_person(
    experiment: &Experiment,
    subject: &SubjectKey,
    existing: Option<&AssignmentRecord>,
    consent_covers_purpose: bool,
    now: Timestamp,
) -> Option<(Arm, Option<AssignmentRecord>)> {
    let existing = existing.map(assignment_of);
    let decision = assign(
        experiment,
        HOLDOUT_SALT,
        Subject {
            key: subject.as_bytes(),
            existing: existing.as_ref(),
            consent_covers_purpose,
        },
        now.as_millis(),
    );
    match decision {
        Decision::Keep(a) => Some((a.arm, None)),
        Decision::Enroll(a) => {
            let record = record_of(subject, &a);
            Some((a.arm, Some(record)))
        }
        Decision::NotEnrolled { .. } => None,
    }
}

/// What an arm changes: its variant's settings (nothing for the holdout, which gets no
/// personalization at all).
fn settings_of(experiment: &Experiment, arm: &Arm) -> VariantSettings {
    match arm {
        Arm::Variant(name) => experiment
            .variants
            .iter()
            .find(|v| &v.name == name)
            .map(|v| v.settings.clone())
            .unwrap_or_default(),
        Arm::Holdout => VariantSettings::default(),
    }
}

/// A person's place in one experiment running on what they are served.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub experiment_id: String,
    pub arm: Arm,
    /// What the arm changes (nothing for the holdout, which gets no personalization).
    pub settings: VariantSettings,
}

/// A person's places in the experiments running on a slot — one per layer — and what they
/// change together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlotServing {
    /// Oldest experiment first.
    pub served: Vec<Served>,
    /// The variants' settings composed: each layer sets its own parameters.
    pub settings: VariantSettings,
    /// Some experiment holds the person out: no personalization at all.
    pub holdout: bool,
    /// First enrollments, stored with the exposure when the list is shown.
    enrollments: Vec<AssignmentRecord>,
}

/// The experiments on `slot` the person is in at `now` (of `definitions`, the cached active
/// ones), deciding new enrollments without storing them. `allowed` are the purposes their
/// consent allows on this request (none while processing is restricted or personalization
/// paused): only an experiment whose purpose is among them enrolls them. Reads the store only
/// when some experiment on the slot could enroll them, and then once: their assignments.
pub fn serve_slot(
    store: &dyn Store,
    definitions: &[Experiment],
    slot: &str,
    subject: &SubjectKey,
    allowed: &[String],
    now: Timestamp,
) -> StoreResult<SlotServing> {
    let target = Target::Slot(slot.to_owned());
    let candidates: Vec<&Experiment> = running_on(definitions, &target, now)
        .filter(|e| allowed.contains(&e.purpose))
        .collect();
    let mut serving = SlotServing::default();
    if candidates.is_empty() {
        return Ok(serving);
    }
    let existing: BTreeMap<String, AssignmentRecord> = store
        .assignments_for_subject(subject)?
        .into_iter()
        .map(|a| (a.experiment_id.clone(), a))
        .collect();
    for experiment in candidates {
        let Some((arm, enrolled)) =
            arm_of_person(experiment, subject, existing.get(&experiment.id), true, now)
        else {
            continue;
        };
        serving.holdout |= arm == Arm::Holdout;
        let settings = settings_of(experiment, &arm);
        serving.settings = std::mem::take(&mut serving.settings).compose(&settings);
        serving.enrollments.extend(enrolled);
        serving.served.push(Served {
            experiment_id: experiment.id.clone(),
            arm,
            settings,
        });
    }
    Ok(serving)
}

/// A list shown under one or more experiments, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// Clicks on the list's items name it (`list_id` property) to be attributed to it.
    pub list_id: String,
    /// Each experiment the list was shown under, with the person's arm.
    pub experiments: Vec<(String, String)>,
}

fn new_list_id() -> String {
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("l_{hex}")
}

/// Records that a list was shown to `subject` under `serving`'s arms, with one fresh list id
/// for all of them: the first enrollments and every exposure in one transaction.
pub fn record_shown(
    store: &dyn Store,
    subject: &SubjectKey,
    serving: SlotServing,
    now: Timestamp,
) -> StoreResult<Option<Shown>> {
    if serving.served.is_empty() {
        return Ok(None);
    }
    let list_id = new_list_id();
    let exposures: Vec<ExperimentExposure> = serving
        .served
        .iter()
        .map(|s| ExperimentExposure {
            experiment_id: s.experiment_id.clone(),
            subject: *subject,
            arm: s.arm.name().to_owned(),
            list_id: Some(list_id.clone()),
            at: now,
        })
        .collect();
    store.record_served(&serving.enrollments, &exposures)?;
    Ok(Some(Shown {
        list_id,
        experiments: serving
            .served
            .into_iter()
            .map(|s| (s.experiment_id, s.arm.name().to_owned()))
            .collect(),
    }))
}

/// A person's place in the experiment running on a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignArm {
    pub experiment_id: String,
    pub arm: Arm,
    /// The variant's message template, if it sets one (the campaign's own otherwise).
    pub message: Option<String>,
    /// First enrollment, stored with the exposure when the message is shown or sent.
    pub enrollment: Option<AssignmentRecord>,
}

impl CampaignArm {
    /// The holdout gets the campaign's own message without personalization.
    pub fn personalized(&self) -> bool {
        self.arm != Arm::Holdout
    }

    /// The exposure of the message shown or sent at `at`.
    pub fn exposure(&self, subject: &SubjectKey, at: Timestamp) -> ExperimentExposure {
        ExperimentExposure {
            experiment_id: self.experiment_id.clone(),
            subject: *subject,
            arm: self.arm.name().to_owned(),
            list_id: None,
            at,
        }
    }
}

/// The person's arm in the experiment running on `campaign` at `now`, if any: called only for
/// someone the campaign selected, whose consent to the campaign's purpose — the experiment's
/// (checked at creation) — the decision has just checked. `existing` is the person's stored
/// assignment to that experiment, if `existing_of` finds one.
pub fn campaign_arm(
    definitions: &[Experiment],
    campaign: &str,
    subject: &SubjectKey,
    consent_covers_purpose: bool,
    existing_of: &mut dyn FnMut(&str) -> StoreResult<Option<AssignmentRecord>>,
    now: Timestamp,
) -> StoreResult<Option<CampaignArm>> {
    let target = Target::Campaign(campaign.to_owned());
    let Some(experiment) = running_on(definitions, &target, now).next() else {
        return Ok(None);
    };
    let existing = existing_of(&experiment.id)?;
    let arm = arm_of_person(
        experiment,
        subject,
        existing.as_ref(),
        consent_covers_purpose,
        now,
    );
    Ok(arm.map(|(arm, enrollment)| CampaignArm {
        experiment_id: experiment.id.clone(),
        message: settings_of(experiment, &arm).campaign_message,
        arm,
        enrollment,
    }))
}

/// Records that a campaign message was shown or sent to `subject` under `arm`: its first
/// enrollment and the exposure, in one transaction.
pub fn record_message(
    store: &dyn Store,
    subject: &SubjectKey,
    arm: &CampaignArm,
    now: Timestamp,
) -> StoreResult<()> {
    let enrollments: Vec<AssignmentRecord> = arm.enrollment.iter().cloned().collect();
    store.record_served(&enrollments, &[arm.exposure(subject, now)])
}

/// Identify: the visitor's assignments become the person's. Where both were in the same
/// experiment, the earlier assignment wins (`carry_over`), so outcomes stay with the arm seen
/// first; the visitor's exposures move with their events.
pub fn carry_over_on_identify(
    store: &dyn Store,
    visitor: &SubjectKey,
    person: &SubjectKey,
) -> StoreResult<()> {
    let theirs = store.assignments_for_subject(visitor)?;
    if theirs.is_empty() {
        // Exposures exist only under an assignment: there is nothing to move.
        return Ok(());
    }
    let mine: BTreeMap<String, Assignment> = store
        .assignments_for_subject(person)?
        .iter()
        .map(|r| (r.experiment_id.clone(), assignment_of(r)))
        .collect();
    let carried: Vec<AssignmentRecord> = theirs
        .iter()
        .filter_map(|r| {
            let visitor_assignment = assignment_of(r);
            carry_over(
                Some(&visitor_assignment),
                mine.get(&visitor_assignment.experiment_id),
            )
        })
        .map(|a| record_of(person, &a))
        .collect();
    store.carry_over_assignments(visitor, person, &carried)
}

/// The report of `experiment` at `now`: exposures, the exposed people's events of the
/// metrics' types since the earliest pre-period, and the periods their consent to the
/// experiment's purpose was withdrawn — aggregated and k-suppressed by
/// `candor_experiments::report_after`. Every report is a look: the always-valid p-values and
/// intervals continue the running state stored by earlier looks, and this look's is folded
/// into it.
pub fn report(
    store: &dyn Store,
    experiment: &Experiment,
    now: Timestamp,
    config: ReportConfig,
) -> StoreResult<Report> {
    let exposures: Vec<candor_experiments::Exposure> = store
        .experiment_exposures(&experiment.id)?
        .into_iter()
        .map(|e| candor_experiments::Exposure {
            subject: e.subject.to_hex(),
            arm: e.arm,
            list_id: e.list_id,
            at_ms: e.at.as_millis(),
        })
        .collect();
    let pre_window_ms = experiment
        .metrics()
        .map(|m| m.pre_window_ms)
        .max()
        .unwrap_or(0);
    let since = Timestamp::from_millis(experiment.start_ms.saturating_sub(pre_window_ms));
    let counted: BTreeSet<&str> = experiment
        .metrics()
        .flat_map(|m| std::iter::once(&m.event_type).chain(m.per.iter().map(|d| &d.event_type)))
        .map(String::as_str)
        .collect();
    let events: Vec<candor_experiments::Event> = store
        .experiment_events(&experiment.id, since)?
        .into_iter()
        .filter(|e| counted.contains(e.event_type.as_str()))
        .map(|e| candor_experiments::Event {
            subject: e.subject.to_hex(),
            event_type: e.event_type,
            at_ms: e.at.as_millis(),
            item: e.item_id,
            list_id: e.list_id,
            revenue: e.revenue,
        })
        .collect();
    let mut decisions: BTreeMap<SubjectKey, Vec<(i64, bool)>> = BTreeMap::new();
    for d in store.experiment_consent_decisions(&experiment.id, &experiment.purpose)? {
        decisions
            .entry(d.subject)
            .or_default()
            .push((d.at.as_millis(), d.allowed));
    }
    let withdrawals: BTreeMap<String, Vec<Withdrawn>> = decisions
        .into_iter()
        .map(|(subject, d)| (subject.to_hex(), withdrawn_periods(&d)))
        .filter(|(_, periods)| !periods.is_empty())
        .collect();
    let observations = Observations {
        exposures: &exposures,
        events: &events,
        withdrawals: &withdrawals,
    };
    let prior: Sequential = store
        .sequential_states(&experiment.id)?
        .into_iter()
        .map(|r| {
            let state = SequentialState {
                n_looks: r.n_looks,
                p_value: r.p_value,
                ci_low: r.ci_low,
                ci_high: r.ci_high,
            };
            ((r.metric, r.arm), state)
        })
        .collect();
    let report =
        candor_experiments::report_after(experiment, observations, now.as_millis(), config, &prior);
    let states: Vec<SequentialRecord> = report
        .sequential
        .iter()
        .map(|((metric, arm), state)| SequentialRecord {
            metric: metric.clone(),
            arm: arm.clone(),
            n_looks: state.n_looks,
            p_value: state.p_value,
            ci_low: state.ci_low,
            ci_high: state.ci_high,
        })
        .collect();
    store.fold_sequential_states(&experiment.id, &states)?;
    Ok(report)
}

/// The report settings for `policy`: its k for suppression, the rest the defaults.
pub fn report_config(policy: &Policy) -> ReportConfig {
    ReportConfig {
        k_min: policy.k_anonymity,
        ..ReportConfig::default()
    }
}

/// One experiment a person is in, for the person's own view of their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonAssignment {
    pub experiment_id: String,
    /// The experiment's name (its id if the experiment is gone).
    pub name: String,
    pub arm: String,
    pub assigned_at: Timestamp,
    pub n_lists_shown: u64,
}

/// Every experiment `subject` is in, oldest assignment first: shown only to the person
/// (through the person-scoped export), never in an operator's view.
pub fn assignments_of_person(
    store: &dyn Store,
    subject: &SubjectKey,
) -> StoreResult<Vec<PersonAssignment>> {
    let exposures = store.experiment_exposures_for_subject(subject)?;
    store
        .assignments_for_subject(subject)?
        .into_iter()
        .map(|a| {
            let name = match store.experiment(&a.experiment_id)? {
                Some(record) => definition(&record)?.name,
                None => a.experiment_id.clone(),
            };
            let n_lists_shown = exposures
                .iter()
                .filter(|e| e.experiment_id == a.experiment_id)
                .count() as u64;
            Ok(PersonAssignment {
                experiment_id: a.experiment_id,
                name,
                arm: a.arm,
                assigned_at: a.assigned_at,
                n_lists_shown,
            })
        })
        .collect()
}
