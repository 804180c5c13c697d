//! `candor eval`: the offline evaluation protocol on a MovieLens-layout split, so an operator
//! can check a model choice on their own data before serving it, and compare Candor's lists
//! with other systems through the exported `userId,movieId,rank` file.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use candor_recsys::{
    EaseConfig, EaseModel, EvalConfig, EvalOutcome, ItemCategories, ItemKnn, KnnConfig,
    MovieLensSplit, Popularity, Scorer, evaluate, load_movielens_genres, load_movielens_split,
    write_recs_csv,
};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Training interactions: CSV with `userId` and `movieId` columns (MovieLens layout).
    #[arg(long)]
    train: PathBuf,
    /// Held-out interactions in the same layout.
    #[arg(long)]
    test: PathBuf,
    /// `movieId,title,genres` for the genre diversity metric; without it diversity is not
    /// reported.
    #[arg(long)]
    movies: Option<PathBuf>,
    /// The model to evaluate.
    #[arg(long, value_enum, default_value_t = Algorithm::Ease)]
    algorithm: Algorithm,
    /// EASE only: items with fewer training users are left out of the model (the default suits
    /// MovieLens-sized data; lower it for small catalogs).
    #[arg(long, default_value_t = EaseConfig::default().min_item_count)]
    min_item_count: u32,
    /// Cut-off of NDCG, precision, coverage, diversity and popularity bias.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    k: u16,
    /// Write every evaluated user's list as `userId,movieId,rank` (rank from 1).
    #[arg(long)]
    export_recs: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Algorithm {
    /// The closed-form linear item-item model served for personalized lists.
    Ease,
    /// Item neighbourhoods from co-occurrence counts.
    Knn,
    /// The same list for everyone: the baseline every model must beat.
    Popularity,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let split = load_movielens_split(open(&args.train)?, open(&args.test)?)
        .context("failed to read the train/test split")?;
    let genres = match &args.movies {
        Some(path) => Some(
            load_movielens_genres(open(path)?, &split.item_ids)
                .with_context(|| format!("failed to read {}", path.display()))?
                .0,
        ),
        None => None,
    };
    let k = usize::from(args.k);
    let config = EvalConfig {
        k,
        // The protocol's recall cut-off, widened when a larger k is asked for so that recall
        // never looks at a shorter list than the other metrics.
        recall_k: EvalConfig::default().recall_k.max(k),
        // Exported lists are at least the protocol's 50 long, whatever k is.
        n_recs: EvalConfig::default().n_recs.max(k),
    };
    let categories = genres.clone().unwrap_or_default();

    let started = Instant::now();
    // Seconds spent fitting, apart from ranking every test user, for comparison with other
    // libraries' fit times.
    let train_s;
    let outcome = match args.algorithm {
        Algorithm::Ease => {
            // Offline evaluation owns the machine, unlike the server's background training.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let model = EaseModel::train(
                &split.train,
                &EaseConfig {
                    threads,
                    min_item_count: args.min_item_count,
                    ..EaseConfig::default()
                },
            )
            .context("failed to train EASE")?;
            train_s = started.elapsed().as_secs_f64();
            eval(&split, &categories, &config, &model)
        }
        Algorithm::Knn => {
            let model = ItemKnn::train(&split.train, KnnConfig::default());
            train_s = started.elapsed().as_secs_f64();
            eval(&split, &categories, &config, &model)
        }
        Algorithm::Popularity => {
            let model = Popularity::from_interactions(&split.train);
            train_s = started.elapsed().as_secs_f64();
            eval(&split, &categories, &config, &model)
        }
    };
    let elapsed_s = started.elapsed().as_secs_f64();

    let r = &outcome.report;
    println!(
        "algorithm:                {}",
        algorithm_name(args.algorithm)
    );
    println!(
        "users evaluated:          {} (of {} users, {} items)",
        r.n_users,
        split.user_ids.len(),
        split.item_ids.len()
    );
    println!("NDCG@{k}:{:pad$}{:.4}", "", r.ndcg, pad = pad(5, k));
    println!(
        "Recall@{}:{:pad$}{:.4}",
        config.recall_k,
        "",
        r.recall,
        pad = pad(7, config.recall_k)
    );
    println!(
        "Precision@{k}:{:pad$}{:.4}",
        "",
        r.precision,
        pad = pad(10, k)
    );
    println!("Coverage@{k}:{:pad$}{:.4}", "", r.coverage, pad = pad(9, k));
    match genres {
        Some(_) => println!(
            "Diversity@{k}:{:pad$}{:.4} (intra-list genre distance)",
            "",
            r.intra_list_diversity,
            pad = pad(10, k)
        ),
        None => println!(
            "Diversity@{k}:{:pad$}n/a (pass --movies for genres)",
            "",
            pad = pad(10, k)
        ),
    }
    println!(
        "Popularity@{k}:{:pad$}{:.4} (mean popularity percentile, 1 = most popular)",
        "",
        r.popularity_percentile,
        pad = pad(11, k)
    );
    println!("training time:            {train_s:.2}s");
    println!("time:                     {elapsed_s:.2}s (training and ranking every test user)");

    if let Some(path) = &args.export_recs {
        let file =
            File::create(path).with_context(|| format!("failed to create {}", path.display()))?;
        write_recs_csv(
            BufWriter::new(file),
            &outcome.recommendations,
            &split.user_ids,
            &split.item_ids,
        )
        .with_context(|| format!("failed to write {}", path.display()))?;
        println!("recommendations written:  {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn eval(
    split: &MovieLensSplit,
    categories: &ItemCategories,
    config: &EvalConfig,
    model: &impl Scorer,
) -> EvalOutcome {
    evaluate(&split.train, &split.test, categories, config, model)
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    Ok(BufReader::new(file))
}

fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::Ease => "ease",
        Algorithm::Knn => "knn",
        Algorithm::Popularity => "popularity",
    }
}

/// Spaces after a `Label@k:` of `label_len` characters (`@` included) so values line up in one
/// column.
fn pad(label_len: usize, k: usize) -> usize {
    let used = label_len + 1 + k.to_string().len();
    26usize.saturating_sub(used).max(1)
}
