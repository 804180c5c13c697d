//! A person's controls over their recommendations: not interested in an item or a category,
//! remove an item from their history, pause personalization, exclude themselves from
//! restricted categories. Each takes effect on the next request: preferences are read from
//! the store on every one, never cached.

use candor_domain::SubjectKey;
use candor_store::{EventRewrite, Preferences};

use crate::{App, AppError, AppResult};

/// What a piece of feedback names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Item(String),
    Category(String),
}

/// One piece of feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NotInterested(Target),
    InterestedAgain(Target),
    RemoveFromHistory(String),
    Pause(bool),
    SelfExclude,
}

impl Action {
    /// The item the action names, which must exist in the catalog.
    fn item(&self) -> Option<&str> {
        match self {
            Action::NotInterested(Target::Item(i))
            | Action::InterestedAgain(Target::Item(i))
            | Action::RemoveFromHistory(i) => Some(i),
            _ => None,
        }
    }
}

/// How many mutes and hides one person may keep.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub muted_categories_max: usize,
    pub hidden_items_max: usize,
}

/// The preferences after `action` (history removal leaves them as they are). A person's
/// controls are bounded like everything else that grows: past the limit, a new mute or hide
/// is refused (undoing one frees a place).
pub fn plan(mut p: Preferences, action: &Action, limits: Limits) -> AppResult<Preferences> {
    let full = match action {
        Action::NotInterested(Target::Category(c)) => {
            !p.muted_categories.contains(c)
                && p.muted_categories.len() >= limits.muted_categories_max
        }
        Action::NotInterested(Target::Item(i)) => {
            !p.hidden_items.contains(i) && p.hidden_items.len() >= limits.hidden_items_max
        }
        _ => false,
    };
    if full {
        return Err(AppError::unprocessable(
            "preferences_full",
            format!(
                "a person may mute at most {} categories and hide at most {} items; undo one \
                 first",
                limits.muted_categories_max, limits.hidden_items_max
            ),
        ));
    }
    match action {
        Action::NotInterested(Target::Item(i)) => {
            p.hidden_items.insert(i.clone());
        }
        Action::NotInterested(Target::Category(c)) => {
            p.muted_categories.insert(c.clone());
        }
        Action::InterestedAgain(Target::Item(i)) => {
            p.hidden_items.remove(i);
        }
        Action::InterestedAgain(Target::Category(c)) => {
            p.muted_categories.remove(c);
        }
        Action::Pause(paused) => p.paused = *paused,
        Action::SelfExclude => p.self_excluded = true,
        Action::RemoveFromHistory(_) => {}
    }
    Ok(p)
}

/// What a piece of feedback changed.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub preferences: Preferences,
    /// Events deleted by [`Action::RemoveFromHistory`].
    pub removed_events: u64,
}

/// Records a person's feedback. An item named must exist, so a typo does not silently do
/// nothing; removing an item from history deletes the person's events with it, rebuilds their
/// profile, and tells the shared models to forget them.
pub async fn feedback(app: &App, key: SubjectKey, action: Action) -> AppResult<Feedback> {
    if let Some(item) = action.item().map(str::to_owned)
        && app.blocking(move |s| s.item(&item)).await?.is_none()
    {
        return Err(AppError::not_found(
            "item_not_found",
            "no item with that id",
        ));
    }
    let now = app.now();
    let half_life_days = app.config.profiles.half_life_days;
    let limits = Limits {
        muted_categories_max: app.config.limits.muted_categories_max,
        hidden_items_max: app.config.limits.hidden_items_max,
    };
    let done = app
        .blocking(move |store| {
            let p = match plan(store.preferences(&key)?, &action, limits) {
                Ok(p) => p,
                Err(refused) => return Ok(Err(refused)),
            };
            let mut removed_events = 0;
            if let Action::RemoveFromHistory(item) = &action {
                let delete: Vec<i64> = store
                    .all_events(&key)?
                    .into_iter()
                    .filter(|e| e.item_id.as_deref() == Some(item.as_str()))
                    .map(|e| e.id)
                    .collect();
                removed_events = delete.len() as u64;
                if !delete.is_empty() {
                    let rewrite = EventRewrite {
                        delete,
                        narrow: Vec::new(),
                    };
                    store.rewrite_events(&key, &rewrite, half_life_days, now)?;
                }
            }
            store.put_preferences(&key, &p, now)?;
            Ok(Ok(Feedback {
                preferences: p,
                removed_events,
            }))
        })
        .await??;
    if done.removed_events > 0 {
        // The shared models learnt from these events; every instance rebuilds without them.
        crate::recommend::invalidate(app).await;
    }
    Ok(done)
}

/// A person's recommendation preferences, as stored now.
pub async fn preferences(app: &App, key: SubjectKey) -> AppResult<Preferences> {
    app.blocking(move |s| s.preferences(&key)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        muted_categories_max: 2,
        hidden_items_max: 1,
    };

    fn category(c: &str) -> Target {
        Target::Category(c.to_owned())
    }

    #[test]
    fn mutes_and_hides_are_bounded_and_undoing_frees_a_place() {
        let p = Preferences::default();
        let p = plan(p, &Action::NotInterested(category("a")), LIMITS).unwrap();
        let p = plan(p, &Action::NotInterested(category("b")), LIMITS).unwrap();
        let full = plan(p.clone(), &Action::NotInterested(category("c")), LIMITS).unwrap_err();
        assert_eq!(full.code, "preferences_full");
        // Muting again what is muted is no new place.
        let p = plan(p, &Action::NotInterested(category("a")), LIMITS).unwrap();
        let p = plan(p, &Action::InterestedAgain(category("a")), LIMITS).unwrap();
        let p = plan(p, &Action::NotInterested(category("c")), LIMITS).unwrap();
        assert_eq!(
            p.muted_categories
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["b", "c"]
        );
        let p = plan(p, &Action::NotInterested(Target::Item("i1".into())), LIMITS).unwrap();
        assert!(plan(p, &Action::NotInterested(Target::Item("i2".into())), LIMITS).is_err());
    }

    #[test]
    fn pausing_and_self_exclusion_set_their_flags_only() {
        let p = plan(Preferences::default(), &Action::Pause(true), LIMITS).unwrap();
        assert!(p.paused && !p.self_excluded);
        let p = plan(p, &Action::SelfExclude, LIMITS).unwrap();
        let p = plan(p, &Action::Pause(false), LIMITS).unwrap();
        assert!(!p.paused && p.self_excluded);
        let same = plan(p.clone(), &Action::RemoveFromHistory("i".into()), LIMITS).unwrap();
        assert_eq!(same, p);
    }
}
