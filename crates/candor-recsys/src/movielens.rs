use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};

use crate::{Interactions, ItemCategories, RecsysError};

/// A train/test split in MovieLens' CSV layout, mapped to dense indices.
///
/// Users and items are numbered in ascending order of their external ids, over both files, so
/// the catalog covers every item of the split (the evaluation's coverage denominator) and ties
/// broken by index are ties broken by id.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieLensSplit {
    /// Training interactions, weight 1.0 each: a rating of any value counts as an interaction.
    pub train: Interactions,
    /// Held-out interactions over the same indices.
    pub test: Interactions,
    /// The external `userId` of each user index.
    pub user_ids: Vec<u32>,
    /// The external `movieId` of each item index.
    pub item_ids: Vec<u32>,
    /// When each training interaction happened (Unix seconds), in `train`'s order; `None` when
    /// the training file has no `timestamp` column.
    pub train_at_s: Option<Vec<i64>>,
}

impl MovieLensSplit {
    /// Every user's training interactions as `(item, unix seconds)`, oldest first (ties by
    /// item): what recency weighting and a time-ordered validation read. `None` without times.
    pub fn train_timelines(&self) -> Option<Vec<Vec<(u32, i64)>>> {
        let times = self.train_at_s.as_ref()?;
        let mut timelines = vec![Vec::new(); self.train.n_users() as usize];
        for (entry, &at_s) in self.train.iter().zip(times) {
            timelines[entry.user as usize].push((entry.item, at_s));
        }
        for timeline in &mut timelines {
            timeline.sort_unstable_by_key(|&(item, at_s)| (at_s, item));
        }
        Some(timelines)
    }
}

/// One row of MovieLens' `ratings.csv`: every rating counts as one implicit interaction, so
/// its value is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub user_id: u32,
    pub movie_id: u32,
    /// Unix seconds.
    pub at_s: i64,
}

/// How [`split_ratings`] chooses each user's held-out interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    /// A random share of each user's interactions, drawn from `seed`: the public protocol's
    /// kind of split (the public split itself is the reference script's; this one draws with
    /// Candor's own generator, so its figures differ from it slightly).
    Random { seed: u64 },
    /// Each user's most recent interactions (ties by movie id): what serving faces, predicting
    /// what a person does next from what they did before.
    Time,
}

/// Splits ratings per user into train and test: `max(1, round(n · test_share))` of each
/// user's `n` interactions are held out, as the public protocol does. Both parts are in
/// user order, then in the order the kind implies.
pub fn split_ratings(
    ratings: &[Rating],
    kind: SplitKind,
    test_share: f64,
) -> (Vec<Rating>, Vec<Rating>) {
    let mut by_user: std::collections::BTreeMap<u32, Vec<Rating>> = Default::default();
    for r in ratings {
        by_user.entry(r.user_id).or_default().push(*r);
    }
    let mut rng = crate::rerank::SplitMix64(match kind {
        SplitKind::Random { seed } => seed,
        SplitKind::Time => 0,
    });
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (_, mut rows) in by_user {
        match kind {
            SplitKind::Random { .. } => {
                rows.sort_unstable_by_key(|r| r.movie_id);
                // Fisher–Yates.
                for k in (1..rows.len()).rev() {
                    let j = (rng.next() % (k as u64 + 1)) as usize;
                    rows.swap(k, j);
                }
            }
            SplitKind::Time => rows.sort_unstable_by_key(|r| (r.at_s, r.movie_id)),
        }
        let n_test = ((rows.len() as f64 * test_share).round() as usize).max(1);
        let cut = rows.len().saturating_sub(n_test);
        train.extend_from_slice(&rows[..cut]);
        test.extend_from_slice(&rows[cut..]);
    }
    (train, test)
}

/// Reads `ratings.csv` (`userId`, `movieId` and `timestamp` columns; others are ignored).
pub fn read_ratings(input: impl Read) -> Result<Vec<Rating>, RecsysError> {
    Ok(read_rows(input, true)?
        .into_iter()
        .map(|(user_id, movie_id, at_s)| Rating {
            user_id,
            movie_id,
            at_s: at_s.unwrap_or(0),
        })
        .collect())
}

/// Writes ratings as `userId,movieId,rating,timestamp` (the rating column is 1: the protocol
/// counts interactions, not their values), the layout [`load_movielens_split`] reads back.
pub fn write_ratings_csv(mut out: impl Write, ratings: &[Rating]) -> std::io::Result<()> {
    writeln!(out, "userId,movieId,rating,timestamp")?;
    for r in ratings {
        writeln!(out, "{},{},1,{}", r.user_id, r.movie_id, r.at_s)?;
    }
    out.flush()
}

/// The split of `train` and `test` ratings over dense indices, as [`load_movielens_split`]
/// builds it from files.
pub fn split_from_ratings(
    train: &[Rating],
    test: &[Rating],
) -> Result<MovieLensSplit, RecsysError> {
    let rows = |part: &[Rating]| -> Vec<(u32, u32, Option<i64>)> {
        part.iter()
            .map(|r| (r.user_id, r.movie_id, Some(r.at_s)))
            .collect()
    };
    build_split(&rows(train), &rows(test))
}

/// Reads a split written as two `userId,movieId,rating,timestamp` CSV files (any extra or
/// reordered columns are fine; `userId` and `movieId` are required, `timestamp` is read when
/// present).
pub fn load_movielens_split(
    train: impl Read,
    test: impl Read,
) -> Result<MovieLensSplit, RecsysError> {
    build_split(&read_rows(train, false)?, &read_rows(test, false)?)
}

fn build_split(
    train_rows: &[(u32, u32, Option<i64>)],
    test_rows: &[(u32, u32, Option<i64>)],
) -> Result<MovieLensSplit, RecsysError> {
    let all = || train_rows.iter().chain(test_rows);
    let user_ids: Vec<u32> = all()
        .map(|&(u, _, _)| u)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let item_ids: Vec<u32> = all()
        .map(|&(_, i, _)| i)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let user_index: HashMap<u32, u32> = index_of(&user_ids);
    let item_index: HashMap<u32, u32> = index_of(&item_ids);
    let to_interactions = |rows: &[(u32, u32, Option<i64>)]| {
        Interactions::from_triples(
            user_ids.len() as u32,
            item_ids.len() as u32,
            rows.iter()
                .map(|(u, i, _)| (user_index[u], item_index[i], 1.0)),
        )
    };
    let train_at_s = train_rows.iter().map(|&(_, _, at)| at).collect();
    Ok(MovieLensSplit {
        train: to_interactions(train_rows)?,
        test: to_interactions(test_rows)?,
        user_ids,
        item_ids,
        train_at_s,
    })
}

/// Reads MovieLens' `movies.csv` (`movieId,title,genres` with `|`-separated genres) into the
/// categories of the items in `item_ids` (index order), and the genre names by category id.
/// Movies not in `item_ids` are skipped; items without a row get no category.
pub fn load_movielens_genres(
    movies: impl Read,
    item_ids: &[u32],
) -> Result<(ItemCategories, Vec<String>), RecsysError> {
    let item_index = index_of(item_ids);
    let mut reader = csv::Reader::from_reader(movies);
    let (id_col, genres_col) = {
        let headers = reader.headers().map_err(|e| csv_error(&e))?;
        (column(headers, "movieId")?, column(headers, "genres")?)
    };
    let mut names: Vec<String> = Vec::new();
    let mut category_of_name: HashMap<String, u32> = HashMap::new();
    let mut per_item = vec![Vec::new(); item_ids.len()];
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        let id: u32 = parse_field(&record, id_col, line)?;
        let Some(&item) = item_index.get(&id) else {
            continue;
        };
        for genre in record.get(genres_col).unwrap_or("").split('|') {
            let category = *category_of_name.entry(genre.to_owned()).or_insert_with(|| {
                names.push(genre.to_owned());
                names.len() as u32 - 1
            });
            per_item[item as usize].push(category);
        }
    }
    Ok((ItemCategories::new(per_item), names))
}

/// Writes recommendations as `userId,movieId,rank` (rank from 1), the format the public
/// evaluation script reads. `recommendations` holds, per user index, its items best first.
pub fn write_recs_csv(
    mut out: impl Write,
    recommendations: &[(u32, Vec<u32>)],
    user_ids: &[u32],
    item_ids: &[u32],
) -> std::io::Result<()> {
    writeln!(out, "userId,movieId,rank")?;
    for (user, items) in recommendations {
        for (rank, item) in items.iter().enumerate() {
            writeln!(
                out,
                "{},{},{}",
                user_ids[*user as usize],
                item_ids[*item as usize],
                rank + 1
            )?;
        }
    }
    out.flush()
}

/// `(userId, movieId, timestamp)` rows; the timestamp is `None` when the file has no such
/// column, which is an error only when `times_required`.
fn read_rows(
    input: impl Read,
    times_required: bool,
) -> Result<Vec<(u32, u32, Option<i64>)>, RecsysError> {
    let mut reader = csv::Reader::from_reader(input);
    let (user_col, item_col, time_col) = {
        let headers = reader.headers().map_err(|e| csv_error(&e))?;
        let time_col = if times_required {
            Some(column(headers, "timestamp")?)
        } else {
            headers.iter().position(|h| h == "timestamp")
        };
        (
            column(headers, "userId")?,
            column(headers, "movieId")?,
            time_col,
        )
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        let at_s = match time_col {
            Some(col) => Some(i64::from(parse_field(&record, col, line)?)),
            None => None,
        };
        rows.push((
            parse_field(&record, user_col, line)?,
            parse_field(&record, item_col, line)?,
            at_s,
        ));
    }
    Ok(rows)
}

fn index_of(ids: &[u32]) -> HashMap<u32, u32> {
    ids.iter()
        .enumerate()
        .map(|(index, &id)| (id, index as u32))
        .collect()
}

fn column(headers: &csv::StringRecord, name: &str) -> Result<usize, RecsysError> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| RecsysError::Parse {
            line: 1,
            message: format!("missing column {name}"),
        })
}

fn parse_field(record: &csv::StringRecord, col: usize, line: u64) -> Result<u32, RecsysError> {
    let field = record.get(col).unwrap_or("");
    field.trim().parse().map_err(|_| RecsysError::Parse {
        line,
        message: format!("expected a non-negative integer, found {field:?}"),
    })
}

fn csv_error(error: &csv::Error) -> RecsysError {
    RecsysError::Parse {
        line: error.position().map_or(0, |p| p.line()),
        message: error.to_string(),
    }
}
