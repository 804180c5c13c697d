//! Access and portability: everything held about a person, read at once.

use std::collections::BTreeMap;

use candor_domain::SubjectKey;
use candor_domain::consent::ConsentRecord;
use candor_domain::crypto::{self, DataKey};
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use candor_store::{StoreResult, StoredEvent, SubjectRecord};

use crate::audit::{Actor, AuditAction, AuditEvent, AuditTarget};
use crate::ingest::contact_context;
use crate::{App, AppResult};

/// What the store holds about one subject, read in one blocking task.
#[derive(Debug)]
pub struct Held {
    pub subject: Option<SubjectRecord>,
    pub records: Vec<ConsentRecord>,
    pub events: Vec<StoredEvent>,
    /// Contact data, opened with the subject's data key.
    pub contact: BTreeMap<String, String>,
    pub profile: Option<Profile>,
    pub muted: Vec<String>,
    pub restricted: Option<Timestamp>,
    pub exposures: Vec<candor_store::Exposure>,
    pub preferences: candor_store::Preferences,
    pub campaigns: Vec<candor_store::SubjectOutcome>,
    /// The experiments the person is in, with their arm.
    pub experiments: Vec<crate::experiments::PersonAssignment>,
}

/// Most campaign outcomes an export lists.
const EXPORT_CAMPAIGN_OUTCOMES_MAX: u32 = 10_000;

/// Everything held about `subject`, or `None` if Candor holds nothing.
pub fn gather(
    store: &dyn candor_store::Store,
    subject: &SubjectKey,
    now: Timestamp,
) -> StoreResult<Option<Held>> {
    if store.subject_footprint(subject)?.is_empty() {
        return Ok(None);
    }
    let sealed = store.contact(subject)?;
    let mut contact = BTreeMap::new();
    if !sealed.is_empty() {
        // The key exists whenever contact data does; `fresh` is never used then.
        let key = DataKey::from_bytes(store.data_key(subject, random_key(), now)?);
        for (field, bytes) in sealed {
            match crypto::open(&key, &contact_context(subject, &field), &bytes) {
                Ok(plain) => {
                    contact.insert(field, String::from_utf8_lossy(&plain).into_owned());
                }
                Err(e) => tracing::warn!(error = %e, "contact field does not open"),
            }
        }
    }
    Ok(Some(Held {
        subject: store.subject(subject)?,
        records: store.consent_records(subject)?,
        events: store.all_events(subject)?,
        contact,
        profile: store.profile(subject)?,
        muted: store.muted_interests(subject)?,
        restricted: store.restriction(subject)?,
        exposures: store.exposures_for_subject(subject)?,
        campaigns: store.subject_outcomes(subject, EXPORT_CAMPAIGN_OUTCOMES_MAX)?,
        experiments: crate::experiments::assignments_of_person(store, subject)?,
        preferences: store.preferences(subject)?,
    }))
}

/// A fresh data key, used only if the subject has none yet.
pub fn random_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut k);
    k
}

/// An access request: reads everything held, logs the request and audits who read the data
/// and in which `format`, before the data leaves. `by` says who asked (`operator` or
/// `subject`).
pub async fn export(
    app: &App,
    subject: SubjectKey,
    actor: Actor,
    by: &str,
    format: &'static str,
    jurisdiction: Option<&str>,
) -> AppResult<Held> {
    let request = super::request(
        app,
        "access",
        &subject,
        jurisdiction,
        true,
        serde_json::json!({"by": by, "format": format}),
    )?;
    let now = app.now();
    let audit = AuditEvent::new(
        actor,
        AuditAction::DataExported,
        AuditTarget::Subject(subject),
    )
    .detail("format", format);
    app.blocking(move |store| {
        let held = gather(store, &subject, now)?;
        if held.is_some() {
            store.insert_dsr(&request)?;
            // Recorded before the data leaves: who read a person's data, and how.
            crate::audit::record(store, audit, now)?;
        }
        Ok(held)
    })
    .await?
    .ok_or_else(super::subject_not_found)
}
