//! k-anonymity for counts shown to operators: a count below k could single people out, so it
//! is shown only as "fewer than k".

use std::fmt;

/// A count as shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuppressedCount {
    /// At least k: shown as is.
    Exact(u64),
    /// Fewer than this k (zero included, since "nobody" is also a statement about people).
    Below(u32),
    /// At least k, but hidden so that a hidden neighbour cannot be worked out by subtracting
    /// from a total.
    Withheld,
}

impl SuppressedCount {
    /// The exact count, if shown.
    pub fn exact(self) -> Option<u64> {
        match self {
            SuppressedCount::Exact(n) => Some(n),
            SuppressedCount::Below(_) | SuppressedCount::Withheld => None,
        }
    }
}

impl fmt::Display for SuppressedCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuppressedCount::Exact(n) => write!(f, "{n}"),
            SuppressedCount::Below(k) => write!(f, "fewer than {k}"),
            SuppressedCount::Withheld => f.write_str("withheld"),
        }
    }
}

/// Suppresses a count below `k`. A `k` of 0 or 1 shows every count.
pub fn suppress(count: u64, k: u32) -> SuppressedCount {
    if count < u64::from(k) {
        SuppressedCount::Below(k)
    } else {
        SuppressedCount::Exact(count)
    }
}

/// Suppresses cells that add up to a total shown exactly, so that no suppressed cell can be
/// recovered by subtraction: when exactly one cell would be hidden, the next smallest is hidden
/// with it.
pub fn suppress_cells(counts: &[u64], k: u32) -> Vec<SuppressedCount> {
    let mut out: Vec<SuppressedCount> = counts.iter().map(|&c| suppress(c, k)).collect();
    let hidden = out.iter().filter(|c| c.exact().is_none()).count();
    if hidden == 1 {
        let smallest = out
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.exact().map(|n| (n, i)))
            .min();
        if let Some((_, i)) = smallest {
            out[i] = SuppressedCount::Withheld;
        }
    }
    out
}
