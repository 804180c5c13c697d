//! Interest profiles: per catalog category an affinity that decays exponentially, plus counts.
//!
//! Only events allowed for a personalization purpose feed a profile. Because the profile is a
//! fold over those events, it can always be rebuilt from what remains after a withdrawal or
//! retention run; nothing in it outlives the data it came from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::policy::Interaction;
use crate::time::{DAY_MS, Timestamp};

/// Affinities below this are dropped from a profile: they no longer say anything.
const AFFINITY_MIN: f64 = 1e-3;
/// Categories kept per profile, strongest first.
pub const PROFILE_CATEGORIES_MAX: usize = 64;

/// How strongly each interaction signals interest.
pub fn interaction_weight(i: Interaction) -> f64 {
    match i {
        Interaction::View => 1.0,
        Interaction::Add => 3.0,
        Interaction::Purchase => 5.0,
        Interaction::Rating => 2.0,
        Interaction::Page | Interaction::Search => 0.0,
    }
}

/// A decayed sum, valid as of `as_of`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Affinity {
    pub value: f64,
    pub as_of: i64,
}

/// A subject's interest profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub affinities: BTreeMap<String, Affinity>,
    pub n_views: u64,
    pub n_adds: u64,
    pub n_purchases: u64,
    pub last_seen: Option<i64>,
}

fn decay(value: f64, from: i64, to: i64, half_life_days: f64) -> f64 {
    if to <= from {
        return value;
    }
    let days = (to - from) as f64 / DAY_MS as f64;
    value * (0.5f64).powf(days / half_life_days)
}

impl Profile {
    /// Adds one interaction with items of `categories` at `at`.
    pub fn apply(
        &mut self,
        interaction: Interaction,
        categories: &[String],
        at: Timestamp,
        half_life_days: f64,
    ) {
        match interaction {
            Interaction::View | Interaction::Rating => self.n_views += 1,
            Interaction::Add => self.n_adds += 1,
            Interaction::Purchase => self.n_purchases += 1,
            Interaction::Page | Interaction::Search => {}
        }
        let at_ms = at.as_millis();
        self.last_seen = Some(self.last_seen.map_or(at_ms, |l| l.max(at_ms)));
        let w = interaction_weight(interaction);
        if w == 0.0 || categories.is_empty() {
            return;
        }
        // Split the weight across the item's categories so multi-category items count once.
        let share = w / categories.len() as f64;
        for c in categories {
            let entry = self.affinities.entry(c.clone()).or_insert(Affinity {
                value: 0.0,
                as_of: at_ms,
            });
            // Events can arrive out of order: decay whichever side is older to the newer time.
            if at_ms >= entry.as_of {
                entry.value = decay(entry.value, entry.as_of, at_ms, half_life_days) + share;
                entry.as_of = at_ms;
            } else {
                entry.value += decay(share, at_ms, entry.as_of, half_life_days);
            }
        }
        if self.affinities.len() > PROFILE_CATEGORIES_MAX {
            self.prune(at, half_life_days);
        }
    }

    fn prune(&mut self, now: Timestamp, half_life_days: f64) {
        let mut ranked: Vec<(String, f64)> = self
            .affinities_at(now, half_life_days)
            .into_iter()
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let keep: std::collections::BTreeSet<String> = ranked
            .into_iter()
            .take(PROFILE_CATEGORIES_MAX)
            .map(|(c, _)| c)
            .collect();
        self.affinities.retain(|c, _| keep.contains(c));
    }

    /// Raw decayed affinity per category at `now`.
    pub fn affinities_at(&self, now: Timestamp, half_life_days: f64) -> BTreeMap<String, f64> {
        self.affinities
            .iter()
            .map(|(c, a)| {
                (
                    c.clone(),
                    decay(a.value, a.as_of, now.as_millis(), half_life_days),
                )
            })
            .filter(|(_, v)| *v >= AFFINITY_MIN)
            .collect()
    }

    /// Affinities normalised to shares in `[0, 1]` summing to 1: "how much of this person's
    /// recent interest goes to each category".
    pub fn interest_shares(&self, now: Timestamp, half_life_days: f64) -> BTreeMap<String, f64> {
        let raw = self.affinities_at(now, half_life_days);
        let total: f64 = raw.values().sum();
        if total <= 0.0 {
            return BTreeMap::new();
        }
        raw.into_iter().map(|(c, v)| (c, v / total)).collect()
    }

    /// Removes an inferred interest (the person asked us to forget it).
    pub fn remove_interest(&mut self, category: &str) -> bool {
        self.affinities.remove(category).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.affinities.is_empty() && self.n_views == 0 && self.n_adds == 0 && self.n_purchases == 0
    }

    /// Folds one event into the profile.
    pub fn fold(&mut self, event: &ProfileEvent<'_>, half_life_days: f64) {
        let categories = event_categories(event.catalog, event.category);
        self.apply(event.interaction, &categories, event.at, half_life_days);
    }

    /// The profile `events` make from nothing: what a profile is rebuilt to after events are
    /// deleted, narrowed or moved. Order does not matter to the affinities.
    pub fn rebuild<'a>(
        events: impl IntoIterator<Item = ProfileEvent<'a>>,
        half_life_days: f64,
    ) -> Profile {
        let mut profile = Profile::default();
        for e in events {
            profile.fold(&e, half_life_days);
        }
        profile
    }

    /// This profile without the categories in `muted`, or `None` when it holds none of them
    /// (nothing to change). Interests a person muted never come back, whatever later events
    /// say, so every profile is filtered this way before it is kept.
    pub fn without_muted(&self, muted: &[String]) -> Option<Profile> {
        if !muted.iter().any(|c| self.affinities.contains_key(c)) {
            return None;
        }
        let mut p = self.clone();
        p.affinities.retain(|c, _| !muted.contains(c));
        Some(p)
    }
}

/// One profile-feeding event, as a profile reads it.
#[derive(Debug, Clone, Copy)]
pub struct ProfileEvent<'a> {
    pub interaction: Interaction,
    /// The catalog categories of the event's item: empty when it names no item or one the
    /// catalog does not list (or lists without categories).
    pub catalog: &'a [String],
    /// The event's own `category` property, if it has one.
    pub category: Option<&'a str>,
    pub at: Timestamp,
}

/// The categories an event is about: its item's catalog categories, or failing that its own
/// `category` property.
pub fn event_categories(catalog: &[String], category: Option<&str>) -> Vec<String> {
    if catalog.is_empty() {
        category.map(|c| vec![c.to_owned()]).unwrap_or_default()
    } else {
        catalog.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_435_200_000;

    #[test]
    fn affinity_halves_every_half_life() {
        let mut p = Profile::default();
        p.apply(
            Interaction::View,
            &["Running".into()],
            Timestamp::from_millis(T),
            14.0,
        );
        let later = Timestamp::from_millis(T + 14 * DAY_MS);
        let a = p.affinities_at(later, 14.0)["Running"];
        assert!((a - 0.5).abs() < 1e-9, "{a}");
        assert_eq!(p.n_views, 1);
        assert_eq!(p.last_seen, Some(T));
    }

    #[test]
    fn order_of_events_does_not_matter() {
        let (mut a, mut b) = (Profile::default(), Profile::default());
        let e1 = (Interaction::View, Timestamp::from_millis(T));
        let e2 = (
            Interaction::Purchase,
            Timestamp::from_millis(T + 3 * DAY_MS),
        );
        let cats = vec!["Yoga".to_owned()];
        for (i, at) in [e1, e2] {
            a.apply(i, &cats, at, 7.0);
        }
        for (i, at) in [e2, e1] {
            b.apply(i, &cats, at, 7.0);
        }
        let now = Timestamp::from_millis(T + 10 * DAY_MS);
        assert!(
            (a.affinities_at(now, 7.0)["Yoga"] - b.affinities_at(now, 7.0)["Yoga"]).abs() < 1e-9
        );
        assert_eq!(a.n_purchases, 1);
    }

    #[test]
    fn shares_sum_to_one_and_interests_can_be_removed() {
        let mut p = Profile::default();
        let now = Timestamp::from_millis(T);
        p.apply(Interaction::View, &["A".into(), "B".into()], now, 14.0);
        p.apply(Interaction::Add, &["A".into()], now, 14.0);
        let s = p.interest_shares(now, 14.0);
        assert!((s.values().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(s["A"] > s["B"]);
        assert!(p.remove_interest("A"));
        assert_eq!(p.interest_shares(now, 14.0).len(), 1);
    }

    #[test]
    fn page_views_count_as_presence_not_interest() {
        let mut p = Profile::default();
        p.apply(
            Interaction::Page,
            &["A".into()],
            Timestamp::from_millis(T),
            14.0,
        );
        assert!(p.affinities.is_empty());
        assert_eq!(p.last_seen, Some(T));
    }

    fn event(interaction: Interaction, catalog: &[String], at: i64) -> ProfileEvent<'_> {
        ProfileEvent {
            interaction,
            catalog,
            category: None,
            at: Timestamp::from_millis(at),
        }
    }

    #[test]
    fn catalog_categories_win_over_the_event_property() {
        let catalog = vec!["Shoes".to_owned()];
        assert_eq!(event_categories(&catalog, Some("Hats")), catalog);
        assert_eq!(event_categories(&[], Some("Hats")), vec!["Hats".to_owned()]);
        assert!(event_categories(&[], None).is_empty());
    }

    #[test]
    fn a_rebuild_equals_folding_the_same_events_one_by_one() {
        let running = vec!["Running".to_owned()];
        let yoga = vec!["Yoga".to_owned()];
        let events = [
            event(Interaction::View, &running, T),
            event(Interaction::Purchase, &yoga, T + DAY_MS),
            ProfileEvent {
                category: Some("Hats"),
                ..event(Interaction::Add, &[], T + 2 * DAY_MS)
            },
        ];
        let rebuilt = Profile::rebuild(events, 14.0);
        let mut folded = Profile::default();
        folded.apply(Interaction::View, &running, Timestamp::from_millis(T), 14.0);
        folded.apply(
            Interaction::Purchase,
            &yoga,
            Timestamp::from_millis(T + DAY_MS),
            14.0,
        );
        folded.apply(
            Interaction::Add,
            &["Hats".to_owned()],
            Timestamp::from_millis(T + 2 * DAY_MS),
            14.0,
        );
        assert_eq!(rebuilt, folded);
        assert_eq!(
            (rebuilt.n_views, rebuilt.n_adds, rebuilt.n_purchases),
            (1, 1, 1)
        );
        assert!(Profile::rebuild([], 14.0).is_empty());
    }

    #[test]
    fn muted_interests_are_left_out_and_nothing_muted_changes_nothing() {
        let cats = vec!["A".to_owned(), "B".to_owned()];
        let p = Profile::rebuild([event(Interaction::View, &cats, T)], 14.0);
        assert_eq!(p.without_muted(&[]), None);
        assert_eq!(p.without_muted(&["C".to_owned()]), None);
        let q = p.without_muted(&["A".to_owned()]).unwrap();
        assert_eq!(q.affinities.keys().collect::<Vec<_>>(), ["B"]);
        assert_eq!(q.n_views, p.n_views);
    }
}
