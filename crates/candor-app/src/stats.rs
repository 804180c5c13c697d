//! Operator statistics over the consent ledger: how often each purpose is granted, denied and
//! withdrawn per day or week, and the share of people who currently allow it. Every count
//! about people is k-suppressed (`candor_segments::kanon`, the policy's k) before it leaves.

use std::collections::BTreeMap;

use candor_domain::policy::Policy;
use candor_domain::time::{DAY_MS, Timestamp};
use candor_segments::kanon::{SuppressedCount, suppress, suppress_cells};
use candor_store::ConsentStats;

use crate::{App, AppError, AppResult};

/// Most buckets one answer holds (400 days, or 400 weeks).
pub const CONSENT_BUCKETS_MAX: i64 = 400;
/// Buckets shown when `since` is not given: 30 days, or 12 weeks.
const DAYS_DEFAULT: i64 = 30;
const WEEKS_DEFAULT: i64 = 12;
const WEEK_MS: i64 = 7 * DAY_MS;
/// The Unix epoch was a Thursday; weeks start on Monday, four days later.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// The length of a time bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    /// UTC days.
    #[default]
    Day,
    /// Weeks from Monday 00:00 UTC.
    Week,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
        }
    }

    pub fn len_ms(self) -> i64 {
        match self {
            Bucket::Day => DAY_MS,
            Bucket::Week => WEEK_MS,
        }
    }

    /// The start of the bucket holding `t`. Buckets are fixed in time, whatever `since` is
    /// asked for, so two answers never split one bucket differently (which would let
    /// suppressed counts be worked out by subtraction).
    pub fn floor(self, t: i64) -> i64 {
        match self {
            Bucket::Day => t.div_euclid(DAY_MS) * DAY_MS,
            Bucket::Week => (t - FIRST_MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + FIRST_MONDAY_MS,
        }
    }
}

/// One bucket's decisions of one purpose.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketCounts {
    pub start: Timestamp,
    pub granted: SuppressedCount,
    pub denied: SuppressedCount,
    pub withdrawn: SuppressedCount,
}

/// One purpose's decisions over time and its standing now.
#[derive(Debug, Clone, PartialEq)]
pub struct PurposeConsent {
    pub purpose: String,
    pub title: String,
    pub buckets: Vec<BucketCounts>,
    /// People with a decision about the purpose.
    pub subjects: SuppressedCount,
    /// People whose latest decision grants the purpose's current version.
    pub granted: SuppressedCount,
    /// `granted / subjects`, only when neither side of the split is suppressed.
    pub granted_share: Option<f64>,
}

/// The consent statistics an operator sees.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentReport {
    pub k: u32,
    pub bucket: Bucket,
    pub since: Timestamp,
    pub purposes: Vec<PurposeConsent>,
}

fn parse_since(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s).or_else(|| Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")))
}

/// The first bucket's start and the number of buckets up to `now`'s: from `since` (a date or
/// an RFC 3339 time) or a default span, at most [`CONSENT_BUCKETS_MAX`].
pub fn window(bucket: Bucket, since: Option<&str>, now: Timestamp) -> AppResult<(i64, i64)> {
    let current = bucket.floor(now.as_millis());
    let since = match since {
        None => {
            let n = match bucket {
                Bucket::Day => DAYS_DEFAULT,
                Bucket::Week => WEEKS_DEFAULT,
            };
            current - (n - 1) * bucket.len_ms()
        }
        Some(s) => bucket.floor(
            parse_since(s)
                .ok_or_else(|| {
                    AppError::invalid(
                        "invalid_since",
                        "since must be a date such as 2026-11-01 or an RFC 3339 time",
                    )
                })?
                .as_millis(),
        ),
    };
    let n_buckets = (current - since) / bucket.len_ms() + 1;
    if !(1..=CONSENT_BUCKETS_MAX).contains(&n_buckets) {
        return Err(AppError::invalid(
            "invalid_since",
            format!(
                "since must be in the past, at most {CONSENT_BUCKETS_MAX} {}s back",
                bucket.as_str()
            ),
        ));
    }
    Ok((since, n_buckets))
}

/// Consent statistics per purpose that needs consent, from `since` (see [`window`]).
pub async fn consent(app: &App, bucket: Bucket, since: Option<&str>) -> AppResult<ConsentReport> {
    let (since, n_buckets) = window(bucket, since, app.now())?;
    let len_ms = bucket.len_ms();
    let stats = app
        .blocking(move |store| store.consent_stats(Timestamp::from_millis(since), len_ms))
        .await?;
    let k = app.policy.k_anonymity;
    Ok(ConsentReport {
        k,
        bucket,
        since: Timestamp::from_millis(since),
        purposes: per_purpose(&app.policy, &stats, since, len_ms, n_buckets, k),
    })
}

/// The counts per purpose and bucket, every one suppressed below `k`.
pub fn per_purpose(
    policy: &Policy,
    stats: &ConsentStats,
    since: i64,
    len_ms: i64,
    n_buckets: i64,
    k: u32,
) -> Vec<PurposeConsent> {
    // (purpose, bucket) -> [granted, denied, withdrawn]
    let mut cells: BTreeMap<(&str, i64), [u64; 3]> = BTreeMap::new();
    for c in &stats.buckets {
        let slot = match c.decision.as_str() {
            "granted" => 0,
            "denied" => 1,
            "withdrawn" => 2,
            _ => continue,
        };
        cells.entry((c.purpose.as_str(), c.bucket)).or_default()[slot] += c.n;
    }
    policy
        .purposes
        .iter()
        .filter(|p| p.needs_consent())
        .map(|p| {
            let id = p.id.as_str();
            let buckets = (0..n_buckets)
                .map(|b| {
                    let [g, d, w] = cells.get(&(id, b)).copied().unwrap_or_default();
                    BucketCounts {
                        start: Timestamp::from_millis(since + b * len_ms),
                        granted: suppress(g, k),
                        denied: suppress(d, k),
                        withdrawn: suppress(w, k),
                    }
                })
                .collect();
            let (mut subjects, mut granted) = (0u64, 0u64);
            for l in stats.latest.iter().filter(|l| l.purpose == id) {
                subjects += l.n;
                // A grant of an older version of the purpose needs re-consent: not a grant now.
                if l.decision == "granted" && l.purpose_version == p.version.as_str() {
                    granted += l.n;
                }
            }
            let split = suppress_cells(&[granted, subjects - granted], k);
            let granted_share = match (split[0].exact(), split[1].exact()) {
                (Some(g), Some(_)) if subjects > 0 => Some(g as f64 / subjects as f64),
                _ => None,
            };
            PurposeConsent {
                purpose: id.to_owned(),
                title: p.title.clone(),
                buckets,
                subjects: suppress(subjects, k),
                granted: split[0],
                granted_share,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_windows_are_bounded() {
        // 2026-12-07 is a Monday.
        let monday = Timestamp::parse_rfc3339("2026-12-07T00:00:00Z").unwrap();
        let thursday = Timestamp::parse_rfc3339("2026-12-10T15:00:00Z").unwrap();
        assert_eq!(Bucket::Week.floor(thursday.as_millis()), monday.as_millis());
        assert_eq!(
            window(Bucket::Week, None, thursday).unwrap().1,
            WEEKS_DEFAULT
        );
        let (since, n) = window(Bucket::Day, Some("2026-12-01"), thursday).unwrap();
        assert_eq!(
            (Timestamp::from_millis(since).date(), n),
            ("2026-12-01".to_owned(), 10)
        );
        for bad in ["yesterday", "2027-01-01", "2020-01-01"] {
            let e = window(Bucket::Day, Some(bad), thursday).unwrap_err();
            assert_eq!(e.code, "invalid_since", "{bad}");
        }
    }
}
