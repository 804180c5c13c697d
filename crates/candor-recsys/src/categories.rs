/// The categories (genres) of every item, as dense `u32` category ids chosen by the caller.
///
/// Re-ranking and the diversity metric only need to know which items share categories, so
/// names stay with the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemCategories {
    per_item: Vec<Vec<u32>>,
}

impl ItemCategories {
    /// Builds the table from one category list per item index; each list is sorted and
    /// deduplicated so set operations are merges.
    pub fn new(per_item: Vec<Vec<u32>>) -> Self {
        let per_item = per_item
            .into_iter()
            .map(|mut categories| {
                categories.sort_unstable();
                categories.dedup();
                categories
            })
            .collect();
        Self { per_item }
    }

    /// The sorted categories of `item`; empty for an item the table does not know.
    pub fn of(&self, item: u32) -> &[u32] {
        self.per_item.get(item as usize).map_or(&[], Vec::as_slice)
    }

    /// The number of items the table describes.
    pub fn n_items(&self) -> usize {
        self.per_item.len()
    }

    /// Whether two items share at least one category.
    pub fn overlap(&self, a: u32, b: u32) -> bool {
        intersection_len(self.of(a), self.of(b)) > 0
    }
}

/// The Jaccard distance `1 - |a ∩ b| / max(1, |a ∪ b|)` of two sorted, deduplicated category
/// sets; two uncategorized items are at distance 1, as in the public evaluation script.
pub fn jaccard_distance(a: &[u32], b: &[u32]) -> f64 {
    let common = intersection_len(a, b);
    let union = a.len() + b.len() - common;
    1.0 - common as f64 / union.max(1) as f64
}

fn intersection_len(a: &[u32], b: &[u32]) -> usize {
    let (mut x, mut y, mut common) = (0, 0, 0);
    while x < a.len() && y < b.len() {
        match a[x].cmp(&b[y]) {
            std::cmp::Ordering::Less => x += 1,
            std::cmp::Ordering::Greater => y += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                x += 1;
                y += 1;
            }
        }
    }
    common
}
