//! Data-subject rights: the request log with its statutory deadlines, restriction and
//! objection, and the listing of requests. Each request a person makes is logged with its
//! jurisdiction's deadline.

pub mod dsr;
pub mod explain;
pub mod export;
pub mod rectify;
pub mod restrict;

use candor_domain::SubjectKey;
use candor_domain::time::DAY_MS;
use candor_store::NewDsrRequest;

use crate::{App, AppError, AppResult};

/// The jurisdiction a request is made under (`asked`, or the configured default) and its
/// deadline in days.
pub fn jurisdiction_days(app: &App, asked: Option<&str>) -> AppResult<(String, u32)> {
    let rights = &app.config.subject_rights;
    let name = asked.unwrap_or(&rights.default_jurisdiction);
    match rights.deadline_days.get(name) {
        Some(days) => Ok((name.to_owned(), *days)),
        None => Err(AppError::invalid(
            "unknown_jurisdiction",
            format!(
                "jurisdiction `{name}` is not one of {}",
                rights
                    .deadline_days
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A request to log, received now; `completed` for those answered at once.
pub fn request(
    app: &App,
    kind: &str,
    subject: &SubjectKey,
    jurisdiction: Option<&str>,
    completed: bool,
    detail: serde_json::Value,
) -> AppResult<NewDsrRequest> {
    let (jurisdiction, days) = jurisdiction_days(app, jurisdiction)?;
    let now = app.now();
    Ok(NewDsrRequest {
        kind: kind.to_owned(),
        subject_ref: crate::erasure::subject_ref(app.secret.as_bytes(), subject),
        jurisdiction,
        received_at: now,
        deadline_at: now.plus_millis(i64::from(days) * DAY_MS),
        completed_at: completed.then_some(now),
        detail: detail.to_string(),
    })
}

/// Candor holds nothing about the person a request names.
pub fn subject_not_found() -> AppError {
    AppError::not_found(
        "subject_not_found",
        "Candor holds no data about this subject",
    )
}
