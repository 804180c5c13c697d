//! Contribution bounding: each person counts in at most C cells of a period, with at most N rows
//! per cell and values clamped to [0, U], so one person's influence on the aggregates — the
//! sensitivity the noise is calibrated to — is known whatever their data.
//!
//! Which cells and rows are kept is decided by a keyed hash (HMAC-SHA-256 under a key the
//! server holds), not by row order or time: a person cannot arrange their activity so that the
//! rows they choose are the ones counted, and a rerun with the same key keeps the same rows.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::AnalyticsError;

/// The most rows per person and cell a report may keep.
pub const ROWS_PER_CELL_MAX: u32 = 1000;
/// The most cells per person a report may keep.
pub const CELLS_PER_PERSON_MAX: u32 = 1000;
/// The largest clamp for summed values (e.g. revenue in cents: 2^32 ≈ 43 million).
pub const VALUE_MAX: u64 = 1 << 32;

/// A pseudonymous person id (the store's subject key). Its `Debug` hides it, so a logged row
/// does not carry it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonKey(String);

impl PersonKey {
    /// Wraps a pseudonymous id.
    pub fn new(id: impl Into<String>) -> Self {
        PersonKey(id.into())
    }
}

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonKey(..)")
    }
}

/// What a report counts by: a slot, a campaign, an item, a category, a purpose and source, a
/// drop reason — possibly joined with a country. Public vocabulary, never a person's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CellKey(String);

impl CellKey {
    /// Wraps a cell name.
    pub fn new(name: impl Into<String>) -> Self {
        CellKey(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One input row: a person did something counted in `cell` on `day`, with a `value` (revenue
/// in minor units, or 0/1 when only counting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Who (pseudonymous).
    pub person: PersonKey,
    /// Days since 1970-01-01 (UTC or the shop's zone, as the caller decides).
    pub day: i32,
    /// Where it is counted.
    pub cell: CellKey,
    /// The value summed by a bounded-sum measure.
    pub value: u64,
}

/// Per-person contribution bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// N: rows kept per person and cell in a period.
    pub rows_per_cell_max: u32,
    /// C: cells kept per person in a period.
    pub cells_per_person_max: u32,
    /// U: each value is clamped to [0, U] before summing.
    pub value_max: u64,
}

/// How much one person can change a vector of per-cell aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sensitivity {
    /// L0: how many cells one person can change.
    pub l0: u64,
    /// L∞: by how much one person can change one cell.
    pub linf: u64,
    /// L1 = L0 · L∞, for the Laplace mechanism.
    pub l1: u64,
    /// L2² = L0 · L∞², for the Gaussian mechanism.
    pub l2_squared: u64,
}

impl Sensitivity {
    fn new(l0: u64, linf: u64) -> Result<Self, AnalyticsError> {
        let too_large =
            || AnalyticsError::invalid("bounds", "the bounds give a sensitivity above 2^64");
        let l1 = l0.checked_mul(linf).ok_or_else(too_large)?;
        let l2_squared = l1.checked_mul(linf).ok_or_else(too_large)?;
        Ok(Sensitivity {
            l0,
            linf,
            l1,
            l2_squared,
        })
    }
}

impl Bounds {
    /// Checks every bound is at least 1 and within its limit.
    pub fn validate(&self) -> Result<(), AnalyticsError> {
        if !(1..=ROWS_PER_CELL_MAX).contains(&self.rows_per_cell_max) {
            return Err(AnalyticsError::invalid(
                "rows_per_cell_max",
                format!("must be between 1 and {ROWS_PER_CELL_MAX}"),
            ));
        }
        if !(1..=CELLS_PER_PERSON_MAX).contains(&self.cells_per_person_max) {
            return Err(AnalyticsError::invalid(
                "cells_per_person_max",
                format!("must be between 1 and {CELLS_PER_PERSON_MAX}"),
            ));
        }
        if !(1..=VALUE_MAX).contains(&self.value_max) {
            return Err(AnalyticsError::invalid(
                "value_max",
                format!("must be between 1 and {VALUE_MAX}"),
            ));
        }
        Ok(())
    }

    /// Counting distinct people per cell: one person adds at most 1 to each of C cells.
    pub fn people(&self) -> Result<Sensitivity, AnalyticsError> {
        Sensitivity::new(self.cells_per_person_max.into(), 1)
    }

    /// Counting events per cell: at most N in each of C cells.
    pub fn events(&self) -> Result<Sensitivity, AnalyticsError> {
        Sensitivity::new(
            self.cells_per_person_max.into(),
            self.rows_per_cell_max.into(),
        )
    }

    /// Summing clamped values per cell: at most N·U in each of C cells.
    pub fn sum(&self) -> Result<Sensitivity, AnalyticsError> {
        let linf = u64::from(self.rows_per_cell_max)
            .checked_mul(self.value_max)
            .ok_or_else(|| AnalyticsError::invalid("value_max", "N · U is above 2^64"))?;
        Sensitivity::new(self.cells_per_person_max.into(), linf)
    }
}

/// The secret that decides which rows are kept: held by the server, never by a person.
#[derive(Clone)]
pub struct BoundingKey([u8; 32]);

impl BoundingKey {
    /// Wraps 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        BoundingKey(bytes)
    }
}

impl std::fmt::Debug for BoundingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoundingKey(..)")
    }
}

/// A cell's exact aggregates after bounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CellTotals {
    /// Distinct people kept in the cell.
    pub people: u64,
    /// Rows kept.
    pub events: u64,
    /// Sum of the kept rows' clamped values.
    pub sum: u64,
}

/// Bounds every person's contribution in each period and adds up what is kept, by period
/// (its first day, from `period_of`; rows it maps to `None` are outside the report) and cell.
pub fn bound_and_aggregate(
    rows: &[Row],
    period_of: impl Fn(i32) -> Option<i32>,
    bounds: &Bounds,
    key: &BoundingKey,
) -> BTreeMap<(i32, CellKey), CellTotals> {
    let mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes a key of any length");
    let rank = |parts: &[&[u8]]| -> [u8; 32] {
        let mut mac = mac.clone();
        for part in parts {
            // Length-prefixed, so no two different part lists hash the same bytes.
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    };

    let mut rows: Vec<(i32, &Row)> = rows
        .iter()
        .filter_map(|row| period_of(row.day).map(|period| (period, row)))
        .collect();
    rows.sort_unstable_by(|(pa, a), (pb, b)| {
        (pa, &a.person, &a.cell).cmp(&(pb, &b.person, &b.cell))
    });

    let mut totals: BTreeMap<(i32, CellKey), CellTotals> = BTreeMap::new();
    let n_max = bounds.rows_per_cell_max as usize;
    let c_max = bounds.cells_per_person_max as usize;
    for person_rows in rows.chunk_by(|(pa, a), (pb, b)| pa == pb && a.person == b.person) {
        let (period, first) = person_rows[0];
        let period_bytes = period.to_le_bytes();
        let person = first.person.0.as_bytes();
        let mut cells: Vec<&[(i32, &Row)]> = person_rows
            .chunk_by(|(_, a), (_, b)| a.cell == b.cell)
            .collect();
        if cells.len() > c_max {
            cells.sort_by_cached_key(|cell_rows| {
                rank(&[
                    b"cell",
                    &period_bytes,
                    person,
                    cell_rows[0].1.cell.0.as_bytes(),
                ])
            });
            cells.truncate(c_max);
        }
        for cell_rows in cells {
            let mut kept: Vec<&Row> = cell_rows.iter().map(|(_, row)| *row).collect();
            if kept.len() > n_max {
                kept.sort_by_cached_key(|row| {
                    rank(&[
                        b"row",
                        &period_bytes,
                        person,
                        row.cell.0.as_bytes(),
                        &row.day.to_le_bytes(),
                        &row.value.to_le_bytes(),
                    ])
                });
                kept.truncate(n_max);
            }
            let cell = totals.entry((period, kept[0].cell.clone())).or_default();
            cell.people += 1;
            cell.events += kept.len() as u64;
            let sum: u64 = kept.iter().map(|row| row.value.min(bounds.value_max)).sum();
            cell.sum = cell.sum.saturating_add(sum);
        }
    }
    totals
}
