//! The catalog.

use axum::Json;
use axum::extract::State;
use candor_store::CatalogItem;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{PageBody, PageQuery, cursor};
use crate::auth::{Allowed, Server, act, scope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

/// Most items in one upsert.
pub const ITEMS_BATCH_LEN_MAX: usize = 1_000;
#[derive(Debug, Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub categories: Vec<String>,
    /// Free-form attributes.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, Value>,
    /// Restricted categories from the policy (alcohol, gambling...) the item belongs to.
    #[serde(default)]
    pub restricted: Vec<String>,
    /// Provider or brand, for exposure fairness across providers.
    #[serde(default)]
    pub provider: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsUpsert {
    pub items: Vec<ItemBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertResult {
    pub upserted: usize,
}

/// Checks an item against the policy and turns it into the stored form.
pub fn to_catalog_item(policy: &candor_domain::Policy, it: ItemBody) -> ApiResult<CatalogItem> {
    let item = candor_app::catalog::NewItem {
        id: it.id,
        title: it.title,
        categories: it.categories,
        attributes: it.attributes,
        restricted: it.restricted,
        provider: it.provider,
    };
    Ok(candor_app::catalog::check_item(policy, item)?)
}

fn item_body(it: CatalogItem) -> ItemBody {
    ItemBody {
        id: it.id,
        title: it.title,
        categories: it.categories,
        attributes: serde_json::from_str(&it.attributes).unwrap_or_default(),
        restricted: it.restricted,
        provider: it.provider,
    }
}

/// Insert or replace catalog items (all or nothing).
#[utoipa::path(put, path = "/v1/items", tag = "catalog", security(("api_key" = [])), request_body = ItemsUpsert,
    responses((status = 200, body = UpsertResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn put_items(
    State(state): State<AppState>,
    _: Server<scope::Admin>,
    ApiJson(body): ApiJson<ItemsUpsert>,
) -> ApiResult<Json<UpsertResult>> {
    if body.items.len() > ITEMS_BATCH_LEN_MAX {
        return Err(ApiError::PayloadTooLarge(format!(
            "at most {ITEMS_BATCH_LEN_MAX} items per request"
        )));
    }
    let items = body
        .items
        .into_iter()
        .map(|i| to_catalog_item(&state.policy, i))
        .collect::<ApiResult<Vec<_>>>()?;
    let n = items.len();
    let now = state.now();
    state
        .blocking(move |store| store.upsert_items(&items, now))
        .await?;
    Ok(Json(UpsertResult { upserted: n }))
}

/// One catalog item.
#[utoipa::path(get, path = "/v1/items/{id}", tag = "catalog", security(("api_key" = [])),
    params(("id" = String, Path, description = "Item id")),
    responses((status = 200, body = ItemBody), (status = 404, body = ErrorBody)))]
pub async fn get_item(
    State(state): State<AppState>,
    _: Allowed<act::ReadCatalog>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ItemBody>> {
    let found = state.blocking(move |store| store.item(&id)).await?;
    found
        .map(item_body)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("item_not_found", "no item with that id"))
}

/// The catalog, in insertion order.
#[utoipa::path(get, path = "/v1/items", tag = "catalog", security(("api_key" = [])), params(PageQuery),
    responses((status = 200, body = PageBody<ItemBody>), (status = 400, body = ErrorBody)))]
pub async fn list_items(
    State(state): State<AppState>,
    _: Allowed<act::ReadCatalog>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<PageBody<ItemBody>>> {
    let page = q.to_request(&state)?;
    let page = state.blocking(move |store| store.items(page)).await?;
    Ok(Json(PageBody {
        items: page.items.into_iter().map(item_body).collect(),
        next_cursor: cursor(page.next),
    }))
}
