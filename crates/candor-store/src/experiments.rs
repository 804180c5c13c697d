//! Experiments as stored: their definitions (the server's validated JSON, kept byte for byte),
//! each person's sticky assignment, the exposures of lists actually shown under an experiment,
//! and the reads an experiment report needs. The store never interprets a definition: the
//! rules live in `candor-experiments`.
//!
//! Assignments and experiment exposures are data about a person: both are in
//! [`crate::rights`]' subject tables, so they are counted in the footprint, exported, erased
//! with the person, and carried over to the known person on identify.
//!
//! The SQL, shared by both backends, is in `sql::experiments`.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use crate::StoreResult;

/// Whether an experiment still assigns people. A stopped experiment keeps its data for its
/// report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentStatus {
    /// Created and not stopped: it assigns people between its start and stop times.
    Active,
    /// Stopped by an operator: it assigns nobody any more.
    Stopped,
}

impl ExperimentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Active => "active",
            ExperimentStatus::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<ExperimentStatus> {
        match s {
            "active" => Some(ExperimentStatus::Active),
            "stopped" => Some(ExperimentStatus::Stopped),
            _ => None,
        }
    }
}

/// A saved experiment. `definition` is the JSON of the validated definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRecord {
    pub id: String,
    pub definition: String,
    /// The policy version the definition was validated against.
    pub policy_version: String,
    pub status: ExperimentStatus,
    pub created_at: Timestamp,
    pub stopped_at: Option<Timestamp>,
}

/// A person's arm in one experiment, kept so it never changes (across identify too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub experiment_id: String,
    pub subject: SubjectKey,
    /// The arm's name (`holdout` for the global holdout).
    pub arm: String,
    pub assigned_at: Timestamp,
}

/// A list (or campaign message) actually shown to a person under an experiment's arm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentExposure {
    pub experiment_id: String,
    pub subject: SubjectKey,
    pub arm: String,
    /// The id of the list shown, which clicks on its items name to be attributed to it.
    pub list_id: Option<String>,
    pub at: Timestamp,
}

/// An event of an exposed person, as far as experiment metrics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentEvent {
    pub subject: SubjectKey,
    pub event_type: String,
    pub item_id: Option<String>,
    /// The `list_id` property: the recommendation list the item was chosen from.
    pub list_id: Option<String>,
    /// The `revenue` property, or else `total`.
    pub revenue: Option<f64>,
    pub at: Timestamp,
}

impl ExperimentEvent {
    /// The metric fields of a stored event; properties that are absent or of another type
    /// read as absent.
    pub(crate) fn from_stored(
        subject: SubjectKey,
        event_type: String,
        item_id: Option<String>,
        properties: &str,
        at: Timestamp,
    ) -> ExperimentEvent {
        let properties: serde_json::Value =
            serde_json::from_str(properties).unwrap_or(serde_json::Value::Null);
        let revenue = ["revenue", "total"]
            .iter()
            .find_map(|name| properties.get(name).and_then(serde_json::Value::as_f64));
        ExperimentEvent {
            subject,
            event_type,
            item_id,
            list_id: properties
                .get("list_id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            revenue,
            at,
        }
    }
}

/// One decision of an exposed person about the purpose an experiment needs: a grant
/// (`allowed`), or a refusal or withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentDecision {
    pub subject: SubjectKey,
    pub allowed: bool,
    pub at: Timestamp,
}

/// The running always-valid state of one comparison (a metric, an arm against the control)
/// across the looks taken at an experiment's report. An aggregate: nothing in it is about
/// one person.
#[derive(Debug, Clone, PartialEq)]
pub struct SequentialRecord {
    pub metric: String,
    pub arm: String,
    pub n_looks: u64,
    /// The smallest always-valid p-value so far.
    pub p_value: f64,
    /// The intersection of the always-valid intervals so far.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The experiments aggregate of the storage contract.
pub trait ExperimentStore {
    /// Saves a new experiment; `Conflict` if the id is taken.
    fn insert_experiment(&self, experiment: &ExperimentRecord) -> StoreResult<()>;
    fn experiment(&self, id: &str) -> StoreResult<Option<ExperimentRecord>>;
    /// Every experiment, oldest first.
    fn experiments(&self) -> StoreResult<Vec<ExperimentRecord>>;
    /// Marks the experiment stopped at `at` and saves its definition as it is now (with its
    /// stop time). `NotFound` for an unknown id.
    fn stop_experiment(&self, id: &str, definition: &str, at: Timestamp) -> StoreResult<()>;

    /// A person's assignment to one experiment.
    fn assignment(
        &self,
        experiment_id: &str,
        subject: &SubjectKey,
    ) -> StoreResult<Option<AssignmentRecord>>;
    /// Stores an assignment unless the person already has one for that experiment, and
    /// returns the one stored now: two instances enrolling one person at once agree on one arm.
    fn put_assignment(&self, assignment: &AssignmentRecord) -> StoreResult<AssignmentRecord>;
    /// Every assignment of a person, oldest first: what the person is shown about themselves.
    fn assignments_for_subject(&self, subject: &SubjectKey) -> StoreResult<Vec<AssignmentRecord>>;
    /// Identify: in one transaction, drops `from`'s assignments, stores `carried` (already
    /// decided by the caller, one per experiment) as `to`'s, and moves `from`'s experiment
    /// exposures to `to`, whose events they now are.
    fn carry_over_assignments(
        &self,
        from: &SubjectKey,
        to: &SubjectKey,
        carried: &[AssignmentRecord],
    ) -> StoreResult<()>;

    /// Every assignment to one experiment (a campaign run reads them once, not per person).
    fn experiment_assignments(&self, experiment_id: &str) -> StoreResult<Vec<AssignmentRecord>>;

    /// Records exposures in one statement.
    fn record_experiment_exposures(&self, exposures: &[ExperimentExposure]) -> StoreResult<()>;
    /// What serving one list writes, in one transaction: the people's new assignments (an
    /// assignment already stored is kept) and the exposures.
    fn record_served(
        &self,
        assignments: &[AssignmentRecord],
        exposures: &[ExperimentExposure],
    ) -> StoreResult<()>;
    /// Every exposure of an experiment, in the order recorded.
    fn experiment_exposures(&self, experiment_id: &str) -> StoreResult<Vec<ExperimentExposure>>;
    /// Every experiment exposure of a person, oldest first (access requests).
    fn experiment_exposures_for_subject(
        &self,
        subject: &SubjectKey,
    ) -> StoreResult<Vec<ExperimentExposure>>;
    /// The events since `since` of the people the experiment exposed, in the order stored.
    fn experiment_events(
        &self,
        experiment_id: &str,
        since: Timestamp,
    ) -> StoreResult<Vec<ExperimentEvent>>;
    /// Every decision of the exposed people about `purpose`, by subject and then time.
    fn experiment_consent_decisions(
        &self,
        experiment_id: &str,
        purpose: &str,
    ) -> StoreResult<Vec<ConsentDecision>>;

    /// The running always-valid state of each of the experiment's comparisons.
    fn sequential_states(&self, experiment_id: &str) -> StoreResult<Vec<SequentialRecord>>;
    /// Folds one look into the stored states, in one statement per comparison and one
    /// transaction: the stored p-value becomes the smaller of the two, the interval the
    /// intersection (unless it would be empty: the stored one stands), the look count the
    /// larger. Two reports at once thus never widen what either stored.
    fn fold_sequential_states(
        &self,
        experiment_id: &str,
        states: &[SequentialRecord],
    ) -> StoreResult<()>;
}
