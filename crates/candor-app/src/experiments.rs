//! Experiments' use cases, apart from HTTP: create (validated against the policy and the
//! experiments already stored), stop, report, and what serving needs — the experiment running
//! on a slot, a person's sticky, consent-gated enrollment, the exposure of a list shown, and
//! the carry-over of a visitor's assignments on identify. Functions over the store, the policy
//! and `now`; the rules are `candor_experiments`'.

use std::collections::{BTreeMap, BTreeSet};

use candor_domain::SubjectKey;
use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_experiments::{
    Arm, Assignment, Decision, DefinitionError, Experiment, Observations, Report, ReportConfig,
    Subject, Target, VariantSettings, assign, carry_over,
};
use candor_store::{
    AssignmentRecord, ExperimentExposure, ExperimentRecord, ExperimentStatus, Store, StoreError,
    StoreResult,
};

/// The salt of the global holdout, the same for every experiment so that experiments with the
/// same holdout share hold out the same people. Subject keys are already keyed hashes, so the
/// salt need not be secret.
pub const HOLDOUT_SALT: &str = "candor-global-holdout";

/// The models a variant may name.
pub const MODELS: [&str; 3] = ["ease", "knn", "popularity"];

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
    if let Target::Campaign(campaign) = &experiment.target
        && store.campaign(campaign)?.is_none()
    {
        problems.push(Problem {
            code: "experiment_campaign_unknown",
            message: format!("no campaign `{campaign}`; create the campaign first"),
        });
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
        Ok(()) => Ok(record),
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
    store.experiment(id)?.ok_or(StoreError::NotFound)
}

/// Whether a stored experiment assigns people at `now`.
fn is_running(record: &ExperimentRecord, experiment: &Experiment, now: Timestamp) -> bool {
    record.status == ExperimentStatus::Active && experiment.is_running(now.as_millis())
}

/// The experiments running on recommendation slot `slot` at `now`, oldest first. Read on
/// every request, like consent, so a stop takes effect at once on every instance.
pub fn running_on_slot(
    store: &dyn Store,
    slot: &str,
    now: Timestamp,
) -> StoreResult<Vec<Experiment>> {
    Ok(all(store)?
        .into_iter()
        .filter(|(r, d)| is_running(r, d, now) && d.target == Target::Slot(slot.to_owned()))
        .map(|(_, d)| d)
        .collect())
}

fn arm_of(name: &str) -> Arm {
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

/// The person's arm in `experiment` at `now`, enrolling them if they have none: only while
/// `consent_covers_purpose` (derived from the ledger on this request) says their consent
/// covers the experiment's purpose. The first enrollment stored wins, so two instances never
/// give one person two arms.
pub fn enroll(
    store: &dyn Store,
    experiment: &Experiment,
    subject: &SubjectKey,
    consent_covers_purpose: bool,
    now: Timestamp,
) -> StoreResult<Option<Arm>> {
    if !consent_covers_purpose {
        // Nothing to read: a withdrawal takes the person out at once, whatever is stored.
        return Ok(None);
    }
    let existing = store
        .assignment(&experiment.id, subject)?
        .map(|r| assignment_of(&r));
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
        Decision::Keep(a) => Ok(Some(a.arm)),
        Decision::Enroll(a) => {
            let stored = store.put_assignment(&record_of(subject, &a))?;
            Ok(Some(arm_of(&stored.arm)))
        }
        Decision::NotEnrolled { .. } => Ok(None),
    }
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

/// A person's place in the experiment running on the slot they are served.
#[derive(Debug, Clone, PartialEq)]
pub struct Served {
    pub experiment_id: String,
    pub arm: Arm,
    /// What the arm changes (nothing for the holdout, which gets no personalization).
    pub settings: VariantSettings,
}

/// The experiment on `slot` the person is in at `now`, enrolling them if needed. `allowed`
/// are the purposes their consent allows on this request (none while processing is
/// restricted or personalization paused): only an experiment whose purpose is among them
/// enrolls them. With several experiments in different layers, the oldest that enrolls them
/// is served.
pub fn serve_slot(
    store: &dyn Store,
    slot: &str,
    subject: &SubjectKey,
    allowed: &[String],
    now: Timestamp,
) -> StoreResult<Option<Served>> {
    for experiment in running_on_slot(store, slot, now)? {
        let covers = allowed.contains(&experiment.purpose);
        if let Some(arm) = enroll(store, &experiment, subject, covers, now)? {
            let settings = match &arm {
                Arm::Variant(name) => experiment
                    .variants
                    .iter()
                    .find(|v| &v.name == name)
                    .map(|v| v.settings.clone())
                    .unwrap_or_default(),
                Arm::Holdout => VariantSettings::default(),
            };
            return Ok(Some(Served {
                experiment_id: experiment.id,
                arm,
                settings,
            }));
        }
    }
    Ok(None)
}

/// A list shown under an experiment, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub experiment_id: String,
    pub arm: String,
    /// Clicks on the list's items name it (`list_id` property) to be attributed to it.
    pub list_id: String,
}

/// Records that a list was shown to `subject` under `served`'s arm, with a fresh list id.
pub fn record_shown(
    store: &dyn Store,
    subject: &SubjectKey,
    served: Served,
    now: Timestamp,
) -> StoreResult<Shown> {
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let list_id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let shown = Shown {
        experiment_id: served.experiment_id,
        arm: served.arm.name().to_owned(),
        list_id: format!("l_{list_id}"),
    };
    store.record_experiment_exposures(&[ExperimentExposure {
        experiment_id: shown.experiment_id.clone(),
        subject: *subject,
        arm: shown.arm.clone(),
        list_id: Some(shown.list_id.clone()),
        at: now,
    }])?;
    Ok(shown)
}

/// The report of `experiment` at `now`: exposures, the exposed people's events of the
/// metrics' types since the earliest pre-period, and their withdrawals of the experiment's
/// purpose — aggregated and k-suppressed by `candor_experiments::report`.
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
    let withdrawals: BTreeMap<String, i64> = store
        .experiment_withdrawals(
            &experiment.id,
            &experiment.purpose,
            Timestamp::from_millis(experiment.start_ms),
        )?
        .into_iter()
        .map(|w| (w.subject.to_hex(), w.at.as_millis()))
        .collect();
    let observations = Observations {
        exposures: &exposures,
        events: &events,
        withdrawals: &withdrawals,
    };
    Ok(candor_experiments::report(
        experiment,
        observations,
        now.as_millis(),
        config,
    ))
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
