use crate::RecsysError;

/// One observed interaction: `user` engaged with `item`, with a positive `weight` (1.0 for
/// implicit feedback such as a view or a rating of any value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Dense user index, below [`Interactions::n_users`].
    pub user: u32,
    /// Dense item index, below [`Interactions::n_items`].
    pub item: u32,
    /// Finite and positive; absent interactions are simply not stored.
    pub weight: f32,
}

/// The training input of every model: interactions between dense user and item indices.
///
/// Once built, every index is in range and every weight is finite and positive, so models
/// never re-check them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interactions {
    n_users: u32,
    n_items: u32,
    entries: Vec<Interaction>,
}

impl Interactions {
    /// An empty set over `n_users` users and `n_items` items. The item count fixes the size of
    /// every model's score vector, so it should cover the whole catalog, not just items seen.
    pub fn new(n_users: u32, n_items: u32) -> Self {
        Self {
            n_users,
            n_items,
            entries: Vec::new(),
        }
    }

    /// Builds the set from `(user, item, weight)` triples.
    pub fn from_triples(
        n_users: u32,
        n_items: u32,
        triples: impl IntoIterator<Item = (u32, u32, f32)>,
    ) -> Result<Self, RecsysError> {
        let mut interactions = Self::new(n_users, n_items);
        for (user, item, weight) in triples {
            interactions.push(user, item, weight)?;
        }
        Ok(interactions)
    }

    /// Adds one interaction after checking its indices and weight.
    pub fn push(&mut self, user: u32, item: u32, weight: f32) -> Result<(), RecsysError> {
        if user >= self.n_users {
            return Err(RecsysError::UserOutOfRange {
                user,
                n_users: self.n_users,
            });
        }
        if item >= self.n_items {
            return Err(RecsysError::ItemOutOfRange {
                item,
                n_items: self.n_items,
            });
        }
        if !(weight.is_finite() && weight > 0.0) {
            return Err(RecsysError::InvalidWeight { weight });
        }
        self.entries.push(Interaction { user, item, weight });
        Ok(())
    }

    /// The number of user indices.
    pub fn n_users(&self) -> u32 {
        self.n_users
    }

    /// The number of item indices (the catalog size).
    pub fn n_items(&self) -> u32 {
        self.n_items
    }

    /// The number of stored interactions, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no interaction is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stored interactions in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Interaction> {
        self.entries.iter()
    }

    /// Every user's distinct items, sorted by index: the "history" the models score from.
    pub fn user_histories(&self) -> Vec<Vec<u32>> {
        let mut histories = vec![Vec::new(); self.n_users as usize];
        for entry in &self.entries {
            histories[entry.user as usize].push(entry.item);
        }
        for history in &mut histories {
            history.sort_unstable();
            history.dedup();
        }
        histories
    }

    /// Every user's distinct items with their summed weights, sorted by item index.
    pub fn weighted_user_histories(&self) -> Vec<Vec<(u32, f32)>> {
        let mut histories = vec![Vec::new(); self.n_users as usize];
        for entry in &self.entries {
            histories[entry.user as usize].push((entry.item, entry.weight));
        }
        for history in &mut histories {
            history.sort_by_key(|&(item, _)| item);
            history.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 += later.1;
                }
                same
            });
        }
        histories
    }

    /// For every item, the number of distinct users who interacted with it.
    pub fn item_user_counts(&self) -> Vec<u32> {
        let mut counts = vec![0; self.n_items as usize];
        for history in self.user_histories() {
            for item in history {
                counts[item as usize] += 1;
            }
        }
        counts
    }

    /// The same interactions without any of `user`'s: what a model must be retrained on to
    /// forget that user. Indices are kept, so the user's index simply becomes empty.
    pub fn without_user(&self, user: u32) -> Self {
        Self {
            n_users: self.n_users,
            n_items: self.n_items,
            entries: self
                .entries
                .iter()
                .copied()
                .filter(|entry| entry.user != user)
                .collect(),
        }
    }
}
