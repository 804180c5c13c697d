//! The log of every request a person made, for the operator.

use candor_store::{DSR_STATUS_COMPLETED, DSR_STATUS_IN_PROGRESS, DsrRequest, Page, PageRequest};

use crate::{App, AppError, AppResult};

/// A status to list by: `in_progress` or `completed`.
pub fn parse_status(status: Option<&str>) -> AppResult<Option<&'static str>> {
    match status {
        None => Ok(None),
        Some(DSR_STATUS_IN_PROGRESS) => Ok(Some(DSR_STATUS_IN_PROGRESS)),
        Some(DSR_STATUS_COMPLETED) => Ok(Some(DSR_STATUS_COMPLETED)),
        Some(other) => Err(AppError::invalid(
            "invalid_status",
            format!("status `{other}` is not one of in_progress, completed"),
        )),
    }
}

/// Logged requests, newest first, only those with `status` if given.
pub async fn list(
    app: &App,
    status: Option<&'static str>,
    page: PageRequest,
) -> AppResult<Page<DsrRequest>> {
    app.blocking(move |store| store.dsr_requests(status, page))
        .await
}
