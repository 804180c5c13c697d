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
}

/// Reads a split written as two `userId,movieId,rating,timestamp` CSV files (any extra or
/// reordered columns are fine; `userId` and `movieId` are required).
pub fn load_movielens_split(
    train: impl Read,
    test: impl Read,
) -> Result<MovieLensSplit, RecsysError> {
    let train_rows = read_pairs(train)?;
    let test_rows = read_pairs(test)?;
    let all = || train_rows.iter().chain(&test_rows);
    let user_ids: Vec<u32> = all()
        .map(|&(u, _)| u)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let item_ids: Vec<u32> = all()
        .map(|&(_, i)| i)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let user_index: HashMap<u32, u32> = index_of(&user_ids);
    let item_index: HashMap<u32, u32> = index_of(&item_ids);
    let to_interactions = |rows: &[(u32, u32)]| {
        Interactions::from_triples(
            user_ids.len() as u32,
            item_ids.len() as u32,
            rows.iter()
                .map(|(u, i)| (user_index[u], item_index[i], 1.0)),
        )
    };
    Ok(MovieLensSplit {
        train: to_interactions(&train_rows)?,
        test: to_interactions(&test_rows)?,
        user_ids,
        item_ids,
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

fn read_pairs(input: impl Read) -> Result<Vec<(u32, u32)>, RecsysError> {
    let mut reader = csv::Reader::from_reader(input);
    let (user_col, item_col) = {
        let headers = reader.headers().map_err(|e| csv_error(&e))?;
        (column(headers, "userId")?, column(headers, "movieId")?)
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        rows.push((
            parse_field(&record, user_col, line)?,
            parse_field(&record, item_col, line)?,
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
