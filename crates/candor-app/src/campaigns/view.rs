//! What a segment rule reads about one person, built from the stored interest profile, the
//! person's events and the catalog.

use std::collections::{BTreeMap, HashMap};

use candor_domain::policy::Interaction;
use candor_domain::profile::Profile;
use candor_domain::time::Timestamp;
use candor_segments::rule::{ProfileView, Window, in_window};
use candor_store::{AudienceEvent, CatalogItem};

/// Item categories by item id, loaded once per run.
#[derive(Debug, Default)]
pub struct Catalog {
    pub items: HashMap<String, CatalogItem>,
}

impl Catalog {
    fn categories_of(&self, e: &AudienceEvent) -> Vec<String> {
        if let Some(item) = e.item_id.as_ref().and_then(|id| self.items.get(id)) {
            return item.categories.clone();
        }
        // Without a catalog entry, the category the site sent with the event.
        e.category.iter().cloned().collect()
    }
}

/// One person as the rule language sees them.
#[derive(Debug, Default)]
pub struct SubjectView {
    /// Share of recent interest per item category, from the decayed profile.
    interests: BTreeMap<String, f64>,
    /// Views and purchases, oldest first, with the item's categories.
    views: Vec<(Timestamp, Vec<String>)>,
    purchases: Vec<(Timestamp, Vec<String>)>,
    last_seen: Option<Timestamp>,
    country: Option<String>,
}

impl SubjectView {
    /// Builds the view from what the store holds (events that no personalization purpose
    /// allows have no `AudienceEvent`). Events outside the rule's event window may be left
    /// out: they never change what the rule sees.
    pub fn new(
        profile: Option<&Profile>,
        events: &[AudienceEvent],
        catalog: &Catalog,
        country: Option<String>,
        half_life_days: f64,
        now: Timestamp,
    ) -> SubjectView {
        let mut view = SubjectView {
            country,
            ..SubjectView::default()
        };
        if let Some(p) = profile {
            view.interests = p.interest_shares(now, half_life_days);
            view.last_seen = p.last_seen.map(Timestamp::from_millis);
        }
        for e in events {
            let list = match e.interaction {
                Interaction::View => &mut view.views,
                Interaction::Purchase => &mut view.purchases,
                _ => continue,
            };
            list.push((e.occurred_at, catalog.categories_of(e)));
        }
        view.views.sort_by_key(|v| v.0);
        view.purchases.sort_by_key(|v| v.0);
        view
    }

    /// Item categories by interest, strongest first.
    pub fn top_interests(&self) -> Vec<&str> {
        let mut ranked: Vec<(&str, f64)> = self
            .interests
            .iter()
            .map(|(c, v)| (c.as_str(), *v))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.into_iter().map(|(c, _)| c).collect()
    }
}

fn count_in(list: &[(Timestamp, Vec<String>)], window: Window, now: Timestamp) -> u64 {
    list.iter()
        .filter(|(t, _)| in_window(*t, window, now))
        .count() as u64
}

fn any_in(
    list: &[(Timestamp, Vec<String>)],
    category: &str,
    window: Window,
    now: Timestamp,
) -> bool {
    list.iter()
        .any(|(t, cats)| in_window(*t, window, now) && cats.iter().any(|c| c == category))
}

impl ProfileView for SubjectView {
    fn interest(&self, category: &str) -> f64 {
        self.interests.get(category).copied().unwrap_or(0.0)
    }

    fn views(&self, window: Window, now: Timestamp) -> u64 {
        count_in(&self.views, window, now)
    }

    fn purchases(&self, window: Window, now: Timestamp) -> u64 {
        count_in(&self.purchases, window, now)
    }

    fn viewed_in(&self, category: &str, window: Window, now: Timestamp) -> bool {
        any_in(&self.views, category, window, now)
    }

    fn purchased_in(&self, category: &str, window: Window, now: Timestamp) -> bool {
        any_in(&self.purchases, category, window, now)
    }

    fn last_seen(&self) -> Option<Timestamp> {
        self.last_seen
    }

    fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// Declared attributes are not collected, so every `attribute(...)` is unknown.
    fn attribute(&self, _name: &str) -> Option<&str> {
        None
    }
}
