//! The catalog: checking an item against the policy before it is stored.

use candor_domain::Policy;
use candor_store::CatalogItem;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Longest item id, title, category or provider.
const ITEM_TEXT_BYTES_MAX: usize = 512;

/// An item as a shop sends it (and as `candor import` reads it, one JSON object a line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub attributes: serde_json::Map<String, Value>,
    #[serde(default)]
    pub restricted: Vec<String>,
    #[serde(default)]
    pub provider: String,
}

fn check_text(what: &str, s: &str) -> AppResult<()> {
    if s.trim().is_empty() || s.len() > ITEM_TEXT_BYTES_MAX || s.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "invalid_item",
            format!(
                "{what} must be 1 to {ITEM_TEXT_BYTES_MAX} bytes of text without control characters"
            ),
        ));
    }
    Ok(())
}

/// Checks an item against the policy and turns it into the stored form.
pub fn check_item(state_policy: &Policy, it: NewItem) -> AppResult<CatalogItem> {
    check_text("id", &it.id)?;
    check_text("title", &it.title)?;
    for c in &it.categories {
        check_text("a category", c)?;
    }
    if !it.provider.is_empty() {
        check_text("provider", &it.provider)?;
    }
    for r in &it.restricted {
        if !state_policy
            .restricted_categories
            .iter()
            .any(|x| &x.id == r)
        {
            return Err(AppError::invalid(
                "unknown_restricted_category",
                format!(
                    "item `{}`: restricted category `{r}` is not declared in the policy",
                    it.id
                ),
            ));
        }
    }
    Ok(CatalogItem {
        id: it.id,
        title: it.title,
        categories: it.categories,
        attributes: Value::Object(it.attributes).to_string(),
        restricted: it.restricted,
        provider: it.provider,
    })
}
