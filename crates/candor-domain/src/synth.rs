//! Deterministic synthetic shops for demos, tests and load tests: the same seed always gives
//! the same catalog, people, choices and behaviour. Pure: randomness comes from a small
//! seeded generator, never from the operating system.

use crate::time::{DAY_MS, Timestamp};

/// SplitMix64: tiny, fast and good enough for generating test data (not for secrets).
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> SeededRng {
        SeededRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A generated catalog item.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthItem {
    pub id: String,
    pub title: String,
    pub categories: Vec<String>,
    pub restricted: Vec<String>,
    pub provider: String,
    pub price: f64,
}

/// A generated person and the choices they make in the consent banner.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSubject {
    pub external_id: String,
    pub age_band: &'static str,
    pub country: &'static str,
    /// Purposes the person grants.
    pub grants: Vec<&'static str>,
    /// Sends a Global Privacy Control signal.
    pub gpc: bool,
    /// The categories they like; their behaviour leans towards these.
    pub tastes: Vec<String>,
}

/// A generated behaviour event.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthEvent {
    pub external_id: String,
    pub event: &'static str,
    pub item: usize,
    pub at: Timestamp,
    pub message_id: String,
}

/// A whole generated shop.
#[derive(Debug, Clone)]
pub struct SynthShop {
    pub items: Vec<SynthItem>,
    pub subjects: Vec<SynthSubject>,
    pub events: Vec<SynthEvent>,
}

/// How big a shop to generate.
#[derive(Debug, Clone, Copy)]
pub struct SynthConfig {
    pub seed: u64,
    pub n_items: usize,
    pub n_subjects: usize,
    pub events_per_subject: usize,
    /// Events are spread over the `days` before `now`.
    pub days: u32,
    pub now: Timestamp,
}

pub const CATEGORIES: &[&str] = &[
    "Running",
    "Hiking",
    "Cycling",
    "Yoga",
    "Swimming",
    "Books",
    "Coffee",
    "Kitchen",
    "Garden",
    "Board Games",
    "Music",
    "Photography",
];
const RESTRICTED: &[(&str, &str)] = &[("Wine", "alcohol"), ("Lottery", "gambling")];
const ADJECTIVES: &[&str] = &[
    "Classic", "Light", "Pro", "Everyday", "Trail", "Compact", "Deluxe", "Eco", "Urban", "Wild",
];
const NOUNS: &[&str] = &[
    "Kit",
    "Set",
    "Pack",
    "Edition",
    "Bundle",
    "Box",
    "Series",
    "Collection",
];
const PROVIDERS: &[&str] = &[
    "Northwind",
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
];
const BANDS: &[&str] = &["13-15", "16-17", "18-24", "25-34", "35-44", "45-54", "55+"];
const COUNTRIES: &[&str] = &["DE", "FR", "US", "GB", "NL", "ES", "IT"];

pub fn generate(cfg: SynthConfig) -> SynthShop {
    let mut rng = SeededRng::new(cfg.seed);
    let mut items = Vec::with_capacity(cfg.n_items);
    for i in 0..cfg.n_items {
        // One item in twenty is a restricted product, so the protections have something to do.
        let (category, restricted) = if i % 20 == 19 {
            let (c, r) = *rng.pick(RESTRICTED);
            (c.to_owned(), vec![r.to_owned()])
        } else {
            ((*rng.pick(CATEGORIES)).to_owned(), Vec::new())
        };
        let mut categories = vec![category.clone()];
        if restricted.is_empty() && rng.chance(0.2) {
            let second = (*rng.pick(CATEGORIES)).to_owned();
            if second != category {
                categories.push(second);
            }
        }
        items.push(SynthItem {
            id: format!("sku-{:05}", i + 1),
            title: format!("{} {} {}", rng.pick(ADJECTIVES), category, rng.pick(NOUNS)),
            categories,
            restricted,
            provider: (*rng.pick(PROVIDERS)).to_owned(),
            price: (rng.below(20_000) as f64 / 100.0 + 5.0).round(),
        });
    }
    let mut subjects = Vec::with_capacity(cfg.n_subjects);
    for s in 0..cfg.n_subjects {
        let mut grants = Vec::new();
        // Roughly what banners see: many accept, a sizeable share rejects, some customize.
        let roll = rng.unit();
        if roll < 0.55 {
            grants.extend(["analytics", "personalization", "email_marketing"]);
        } else if roll < 0.75 {
            grants.push("personalization");
        } else if roll < 0.85 {
            grants.push("session_personalization");
        }
        if rng.chance(0.3) {
            grants.push("targeted_advertising");
        }
        let tastes = (0..2).map(|_| (*rng.pick(CATEGORIES)).to_owned()).collect();
        subjects.push(SynthSubject {
            external_id: format!("demo-user-{}", s + 1),
            age_band: rng.pick::<&str>(BANDS),
            country: rng.pick::<&str>(COUNTRIES),
            grants,
            gpc: rng.chance(0.1),
            tastes,
        });
    }
    let mut events = Vec::with_capacity(cfg.n_subjects * cfg.events_per_subject);
    let span_ms = i64::from(cfg.days.max(1)) * DAY_MS;
    for subject in &subjects {
        for e in 0..cfg.events_per_subject {
            // Three events in four follow the person's tastes.
            let item = if rng.chance(0.75) {
                let taste = rng.pick(&subject.tastes).clone();
                let matching: Vec<usize> = (0..items.len())
                    .filter(|&i| items[i].categories.contains(&taste))
                    .collect();
                if matching.is_empty() {
                    rng.below(items.len() as u64) as usize
                } else {
                    *rng.pick(&matching)
                }
            } else {
                rng.below(items.len().max(1) as u64) as usize
            };
            let roll = rng.unit();
            let event = if roll < 0.75 {
                "Product Viewed"
            } else if roll < 0.92 {
                "Product Added"
            } else {
                "Order Completed"
            };
            let at = cfg.now.plus_millis(-(rng.below(span_ms as u64) as i64) - 1);
            events.push(SynthEvent {
                external_id: subject.external_id.clone(),
                event,
                item,
                at,
                message_id: format!("{}-{e}", subject.external_id),
            });
        }
    }
    events.sort_by_key(|e| e.at);
    SynthShop {
        items,
        subjects,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> SynthConfig {
        SynthConfig {
            seed,
            n_items: 100,
            n_subjects: 50,
            events_per_subject: 10,
            days: 30,
            now: Timestamp::from_millis(1_800_000_000_000),
        }
    }

    #[test]
    fn same_seed_same_shop() {
        let (a, b) = (generate(cfg(7)), generate(cfg(7)));
        assert_eq!(a.items, b.items);
        assert_eq!(a.subjects, b.subjects);
        assert_eq!(a.events, b.events);
        assert_ne!(generate(cfg(8)).subjects, a.subjects);
        assert_eq!(a.events.len(), 500);
        assert!(a.items.iter().any(|i| !i.restricted.is_empty()));
        assert!(a.events.iter().all(|e| e.at < cfg(7).now));
    }
}
