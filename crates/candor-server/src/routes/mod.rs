//! Request handlers, one module per resource.

pub mod consent;
pub mod events;
pub mod feedback;
pub mod items;
pub mod meta;
pub mod recommend;
pub mod signals;
pub mod stats;
// Private analytics.
pub mod analytics;
// Data-subject rights.
pub mod rights;
// Credentials: visitor sessions, subject tokens, API keys.
pub mod keys;
pub mod sessions;
// Accountability: the audit log, audit attributes, fairness reports, metrics.
pub mod audit;
pub mod fairness;
// Segments and campaigns.
pub mod campaigns;
pub mod decide;
// Experiments.
pub mod experiments;
pub mod segments;
pub mod time_zone;
pub mod unsubscribe;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A count about people as it is sent: a number, or, where the number could single someone
/// out, a phrase ("fewer than 10", "withheld"). See `segments::count_json`.
pub struct ShownCount;

impl utoipa::PartialSchema for ShownCount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(0)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .examples(["fewer than 10"]),
            )
            .description(Some(
                "A number, or a phrase where the number could single someone out",
            ))
            .into()
    }
}

impl utoipa::ToSchema for ShownCount {}

/// `?limit=&cursor=` on every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Items per page (default 50, at most the server's `page_len_max`).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = r"^c[+-]?[0-9]+$")]
    pub cursor: Option<String>,
}

/// Default page length when none is asked for.
const PAGE_LEN_DEFAULT: u32 = 50;

impl PageQuery {
    pub fn to_request(&self, state: &AppState) -> ApiResult<candor_store::PageRequest> {
        let max = state.config.limits.page_len_max;
        let limit = self.limit.unwrap_or(PAGE_LEN_DEFAULT.min(max));
        if limit == 0 || limit > max {
            return Err(ApiError::bad_request(
                "invalid_limit",
                format!("limit must be between 1 and {max}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(
                c.strip_prefix('c')
                    .and_then(|n| n.parse::<i64>().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_cursor",
                            "cursor is not one this server issued",
                        )
                    })?,
            ),
        };
        Ok(candor_store::PageRequest { after, limit })
    }
}

pub fn cursor(next: Option<i64>) -> Option<String> {
    next.map(|n| format!("c{n}"))
}

/// The common shape of list responses.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
