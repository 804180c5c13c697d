//! Rectification: correcting contact data, removing (and muting) an interest.

use std::collections::BTreeMap;

use candor_domain::SubjectKey;
use candor_domain::crypto::{self, DataKey};

use super::export::{gather, random_key};
use crate::ingest::contact_context;
use crate::{App, AppError, AppResult};

/// Longest contact value accepted on rectification, in bytes.
pub const CONTACT_VALUE_BYTES_MAX: usize = 320;
/// Longest interest category name accepted, in bytes.
pub const CATEGORY_CHARS_MAX: usize = 128;

/// Checks corrected contact values: some, each 1 to [`CONTACT_VALUE_BYTES_MAX`] bytes of text
/// without control characters, an `email` with an `@`.
pub fn check_contact(fields: &BTreeMap<String, String>) -> AppResult<()> {
    if fields.is_empty() {
        return Err(AppError::invalid(
            "empty_update",
            "send at least one contact field to correct",
        ));
    }
    for (field, value) in fields {
        if value.trim().is_empty()
            || value.len() > CONTACT_VALUE_BYTES_MAX
            || value.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                "invalid_contact_value",
                format!(
                    "`{field}` must be 1 to {CONTACT_VALUE_BYTES_MAX} bytes of text without control characters"
                ),
            ));
        }
        if field == "email" && !value.contains('@') {
            return Err(AppError::invalid(
                "invalid_contact_value",
                "`email` must be an email address",
            ));
        }
    }
    Ok(())
}

/// A rectification for the request log, answered at once: who asked and what `field` of the
/// detail says was corrected.
fn logged(
    app: &App,
    subject: &SubjectKey,
    jurisdiction: Option<&str>,
    by: &str,
    field: &str,
    what: serde_json::Value,
) -> AppResult<candor_store::NewDsrRequest> {
    let mut detail = serde_json::Map::new();
    detail.insert("by".to_owned(), by.into());
    detail.insert(field.to_owned(), what);
    super::request(
        app,
        "rectification",
        subject,
        jurisdiction,
        true,
        detail.into(),
    )
}

/// Corrects contact data the person gave; only fields Candor holds can be corrected, and each
/// is sealed with the subject's data key as on ingestion. Returns the contact data now held.
pub async fn correct_contact(
    app: &App,
    subject: SubjectKey,
    by: &str,
    jurisdiction: Option<&str>,
    fields: BTreeMap<String, String>,
) -> AppResult<BTreeMap<String, String>> {
    check_contact(&fields)?;
    let names: Vec<String> = fields.keys().cloned().collect();
    let request = logged(
        app,
        &subject,
        jurisdiction,
        by,
        "contact_fields",
        names.into(),
    )?;
    let now = app.now();
    app.blocking(move |store| {
        let held = store.contact(&subject)?;
        if let Some(f) = fields.keys().find(|f| !held.iter().any(|(h, _)| h == *f)) {
            return Ok(Err(AppError::unprocessable(
                "contact_field_not_held",
                format!("Candor holds no `{f}` for this subject, so there is nothing to correct"),
            )));
        }
        let key = DataKey::from_bytes(store.data_key(&subject, random_key(), now)?);
        for (field, value) in &fields {
            let mut nonce = [0u8; crypto::NONCE_LEN];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
            let sealed = crypto::seal(
                &key,
                nonce,
                &contact_context(&subject, field),
                value.as_bytes(),
            );
            store.put_contact(&subject, field, &sealed)?;
        }
        store.insert_dsr(&request)?;
        Ok(Ok(gather(store, &subject, now)?.map(|h| h.contact)))
    })
    .await??
    .ok_or_else(super::subject_not_found)
}

/// What removing an interest did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterestRemoved {
    /// Whether the profile held the interest.
    pub removed: bool,
    /// Every interest the person asked Candor to forget.
    pub muted: Vec<String>,
}

/// Removes an inferred interest and keeps it out of the profile from now on, within the
/// configured number of muted interests.
pub async fn remove_interest(
    app: &App,
    subject: SubjectKey,
    by: &str,
    jurisdiction: Option<&str>,
    category: String,
) -> AppResult<InterestRemoved> {
    if category.is_empty()
        || category.chars().count() > CATEGORY_CHARS_MAX
        || category.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "invalid_category",
            format!("a category is 1 to {CATEGORY_CHARS_MAX} characters, none a control character"),
        ));
    }
    let request = logged(
        app,
        &subject,
        jurisdiction,
        by,
        "interest_removed",
        category.as_str().into(),
    )?;
    let now = app.now();
    let muted_max = app.config.limits.muted_categories_max;
    app.blocking(move |store| {
        if store.subject_footprint(&subject)?.is_empty() {
            return Ok(Err(super::subject_not_found()));
        }
        let muted = store.muted_interests(&subject)?;
        if !muted.contains(&category) && muted.len() >= muted_max {
            return Ok(Err(AppError::unprocessable(
                "preferences_full",
                format!("a person may mute at most {muted_max} interests"),
            )));
        }
        let removed = store.mute_interest(&subject, &category, now)?;
        store.insert_dsr(&request)?;
        Ok(Ok(InterestRemoved {
            removed,
            muted: store.muted_interests(&subject)?,
        }))
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_corrections_must_be_text_and_emails_addresses() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert_eq!(
            check_contact(&BTreeMap::new()).unwrap_err().code,
            "empty_update"
        );
        for bad in [
            one("email", "no-at-sign"),
            one("phone", " "),
            one("phone", "a\u{7}b"),
        ] {
            assert_eq!(
                check_contact(&bad).unwrap_err().code,
                "invalid_contact_value"
            );
        }
        let long = "x".repeat(CONTACT_VALUE_BYTES_MAX + 1);
        assert!(check_contact(&one("phone", &long)).is_err());
        assert!(check_contact(&one("email", "a@example.com")).is_ok());
    }
}
