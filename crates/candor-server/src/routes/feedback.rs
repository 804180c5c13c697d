//! A person's control over their recommendations: not interested in an item or a category,
//! remove an item from their history, pause personalization, exclude themselves from
//! restricted categories. Each takes effect on the next request.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use candor_store::{EventRewrite, Preferences};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Access, Act, act};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Longest category name accepted.
const CATEGORY_BYTES_MAX: usize = 128;

/// One piece of feedback, by `action`:
///
/// - `not_interested` with `item` or `category`: left out of every list from now on;
/// - `interested_again` with `item` or `category`: undoes `not_interested`;
/// - `remove_from_history` with `item`: the person's events with the item are deleted, their
///   profile rebuilt, and the shared models forget them at the next rebuild;
/// - `pause_personalization` / `resume_personalization`: lists are non-personalized while
///   paused; consent is untouched;
/// - `self_exclude`: items of the policy's restricted categories for self-excluded people are
///   never shown again. Lifting a self-exclusion is deliberately not offered here.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// `not_interested`, `interested_again`, `remove_from_history`, `pause_personalization`,
    /// `resume_personalization` or `self_exclude`.
    #[schema(
        pattern = "^(not_interested|interested_again|remove_from_history|pause_personalization|resume_personalization|self_exclude)$"
    )]
    pub action: String,
    /// An item id from the catalog.
    pub item: Option<String>,
    /// A catalog category name.
    pub category: Option<String>,
}

/// A person's recommendation preferences.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreferencesBody {
    pub muted_categories: BTreeSet<String>,
    pub hidden_items: BTreeSet<String>,
    pub paused: bool,
    pub self_excluded: bool,
}

impl From<Preferences> for PreferencesBody {
    fn from(p: Preferences) -> Self {
        PreferencesBody {
            muted_categories: p.muted_categories,
            hidden_items: p.hidden_items,
            paused: p.paused,
            self_excluded: p.self_excluded,
        }
    }
}

/// What the feedback changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackBody {
    pub preferences: PreferencesBody,
    /// Events deleted by `remove_from_history`.
    pub removed_events: u64,
}

enum Target {
    Item(String),
    Category(String),
}

enum Action {
    NotInterested(Target),
    InterestedAgain(Target),
    RemoveFromHistory(String),
    Pause(bool),
    SelfExclude,
}

fn parse(input: FeedbackInput) -> ApiResult<Action> {
    let target = |item: Option<String>, category: Option<String>| match (item, category) {
        (Some(item), None) => Ok(Target::Item(item)),
        (None, Some(category)) => {
            if category.trim().is_empty()
                || category.len() > CATEGORY_BYTES_MAX
                || category.chars().any(char::is_control)
            {
                return Err(ApiError::bad_request(
                    "invalid_feedback",
                    format!("category must be 1 to {CATEGORY_BYTES_MAX} bytes of text"),
                ));
            }
            Ok(Target::Category(category))
        }
        _ => Err(ApiError::bad_request(
            "invalid_feedback",
            "name exactly one of `item` or `category`",
        )),
    };
    let none = |input: &FeedbackInput| {
        if input.item.is_some() || input.category.is_some() {
            return Err(ApiError::bad_request(
                "invalid_feedback",
                format!("`{}` takes neither `item` nor `category`", input.action),
            ));
        }
        Ok(())
    };
    Ok(match input.action.as_str() {
        "not_interested" => Action::NotInterested(target(input.item, input.category)?),
        "interested_again" => Action::InterestedAgain(target(input.item, input.category)?),
        "remove_from_history" => match (input.item, input.category) {
            (Some(item), None) => Action::RemoveFromHistory(item),
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_feedback",
                    "`remove_from_history` takes an `item`",
                ));
            }
        },
        "pause_personalization" => {
            none(&input)?;
            Action::Pause(true)
        }
        "resume_personalization" => {
            none(&input)?;
            Action::Pause(false)
        }
        "self_exclude" => {
            none(&input)?;
            Action::SelfExclude
        }
        other => {
            return Err(ApiError::bad_request(
                "invalid_feedback",
                format!(
                    "unknown action `{}`; expected not_interested, interested_again, remove_from_history, pause_personalization, resume_personalization or self_exclude",
                    other.chars().take(40).collect::<String>()
                ),
            ));
        }
    })
}

/// Record a person's feedback on their recommendations.
#[utoipa::path(post, path = "/v1/subjects/{id}/feedback", tag = "recommendations", security(("api_key" = [])),
    params(("id" = String, Path, description = "External subject id")),
    request_body = FeedbackInput,
    responses((status = 200, body = FeedbackBody), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn post_feedback(
    State(state): State<AppState>,
    access: Access<act::Feedback>,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> ApiResult<Json<FeedbackBody>> {
    let action = parse(input)?;
    // Pausing, resuming and deleting history are the person's own to do: a shop's key could
    // otherwise erase someone's record or switch their personalization back on.
    if matches!(action, Action::RemoveFromHistory(_) | Action::Pause(_)) {
        access.narrow(Act::PersonalControls)?;
    }
    let key = access.key();
    // Items named must exist, so a typo does not silently do nothing.
    let item = match &action {
        Action::NotInterested(Target::Item(i))
        | Action::InterestedAgain(Target::Item(i))
        | Action::RemoveFromHistory(i) => Some(i.clone()),
        _ => None,
    };
    if let Some(item) = item
        && state.blocking(move |s| s.item(&item)).await?.is_none()
    {
        return Err(ApiError::not_found(
            "item_not_found",
            "no item with that id",
        ));
    }
    let now = state.now();
    let half_life_days = state.config.profiles.half_life_days;
    let (muted_max, hidden_max) = (
        state.config.limits.muted_categories_max,
        state.config.limits.hidden_items_max,
    );
    let (preferences, removed) = state
        .blocking(move |store| {
            let mut p = store.preferences(&key)?;
            // A person's controls are bounded like everything else that grows: past the
            // limit, a new mute or hide is refused (undoing one frees a place).
            let full = match &action {
                Action::NotInterested(Target::Category(c)) => {
                    !p.muted_categories.contains(c) && p.muted_categories.len() >= muted_max
                }
                Action::NotInterested(Target::Item(i)) => {
                    !p.hidden_items.contains(i) && p.hidden_items.len() >= hidden_max
                }
                _ => false,
            };
            if full {
                return Ok(Err(ApiError::unprocessable(
                    "preferences_full",
                    format!(
                        "a person may mute at most {muted_max} categories and hide at most \
                         {hidden_max} items; undo one first"
                    ),
                )));
            }
            let mut removed = 0;
            match action {
                Action::NotInterested(Target::Item(i)) => {
                    p.hidden_items.insert(i);
                }
                Action::NotInterested(Target::Category(c)) => {
                    p.muted_categories.insert(c);
                }
                Action::InterestedAgain(Target::Item(i)) => {
                    p.hidden_items.remove(&i);
                }
                Action::InterestedAgain(Target::Category(c)) => {
                    p.muted_categories.remove(&c);
                }
                Action::Pause(paused) => p.paused = paused,
                Action::SelfExclude => p.self_excluded = true,
                Action::RemoveFromHistory(item) => {
                    let delete: Vec<i64> = store
                        .all_events(&key)?
                        .into_iter()
                        .filter(|e| e.item_id.as_deref() == Some(item.as_str()))
                        .map(|e| e.id)
                        .collect();
                    removed = delete.len() as u64;
                    if !delete.is_empty() {
                        let rewrite = EventRewrite {
                            delete,
                            narrow: Vec::new(),
                        };
                        store.rewrite_events(&key, &rewrite, half_life_days, now)?;
                    }
                }
            }
            store.put_preferences(&key, &p, now)?;
            Ok(Ok((p, removed)))
        })
        .await??;
    if removed > 0 {
        // The shared models learnt from these events; every instance rebuilds without them.
        candor_app::recommend::invalidate(&state).await;
    }
    tracing::info!(key = %access.label(), removed, "recommendation feedback recorded");
    Ok(Json(FeedbackBody {
        preferences: preferences.into(),
        removed_events: removed,
    }))
}

/// A person's recommendation preferences.
#[utoipa::path(get, path = "/v1/subjects/{id}/preferences", tag = "recommendations", security(("api_key" = [])),
    params(("id" = String, Path, description = "External subject id")),
    responses((status = 200, body = PreferencesBody), (status = 403, body = ErrorBody)))]
pub async fn get_preferences(
    State(state): State<AppState>,
    access: Access<act::ReadPreferences>,
) -> ApiResult<Json<PreferencesBody>> {
    let key = access.key();
    let p = state.blocking(move |s| s.preferences(&key)).await?;
    Ok(Json(p.into()))
}
