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
    MovieLensSplit, Popularity, Recency, RecencyChoice, RerankConfig, Scorer, SplitKind,
    ValidationSlice, candidate_pool, candidates, choose_recency, discount_popularity,
    evaluate_lists, load_movielens_genres, load_movielens_split, read_ratings, rerank,
    split_from_ratings, split_ratings, top_n, write_ratings_csv, write_recs_csv,
};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Training interactions: CSV with `userId` and `movieId` columns (MovieLens layout), and
    /// `timestamp` for recency. Use with `--test`, or give `--ratings` instead.
    #[arg(long, requires = "test", conflicts_with = "ratings")]
    train: Option<PathBuf>,
    /// Held-out interactions in the same layout.
    #[arg(long, requires = "train")]
    test: Option<PathBuf>,
    /// All interactions (`userId,movieId,…,timestamp`, MovieLens' `ratings.csv`), split here
    /// as `--split` says.
    #[arg(long, required_unless_present = "train")]
    ratings: Option<PathBuf>,
    /// How the test set is drawn: `random` holds out a random 20% of each user's interactions
    /// (seed 42, Candor's generator), `time` each user's most recent 20%. Splits `--ratings`;
    /// with `--train`/`--test`, says how they were split. The recency is validated on a slice
    /// of the training data drawn the same way.
    #[arg(long, value_enum, default_value_t = Split::Random)]
    split: Split,
    /// Write the split used as `train.csv` and `test.csv` in this directory.
    #[arg(long, requires = "ratings")]
    write_split: Option<PathBuf>,
    /// Recency weighting of each person's history: `auto` chooses the decay on a time-ordered
    /// validation slice of the training data (needs timestamps), `none` weighs every item 1.
    #[arg(long, value_enum, default_value_t = RecencyArg::Auto)]
    recency: RecencyArg,
    /// A fixed decay instead: `exp(−age/DAYS)` with no floor (to compare with the choice).
    #[arg(long, conflicts_with = "recency")]
    recency_days: Option<f32>,
    /// Re-rank every list as serving does at this diversity (0 = relevance only, 1 = broadest);
    /// without it lists are the model's ranking. Needs `--movies` for categories.
    #[arg(long, conflicts_with = "sweep", requires = "movies")]
    diversity: Option<f32>,
    /// Evaluate the re-ranked lists at diversity 0, 0.1, …, 1 and print one row per setting.
    #[arg(long, requires = "movies")]
    sweep: bool,

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
    /// EASE only: keep this many weights per history item, the largest in magnitude, instead
    /// of the model's default.
    #[arg(long)]
    row_weights_max: Option<u32>,
    /// Cut-off of NDCG, precision, coverage, diversity and popularity bias.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    k: u16,
    /// Write every evaluated user's list as `userId,movieId,rank` (rank from 1).
    #[arg(long)]
    export_recs: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Split {
    Random,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RecencyArg {
    Auto,
    None,
}

/// The seed of `--split random`, the public protocol's.
const SPLIT_SEED: u64 = 42;
/// Share of each user's interactions held out by `--ratings`.
const TEST_SHARE: f64 = 0.2;

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
    let split = read_split(&args)?;
    let genres = match &args.movies {
        Some(path) => Some(
            load_movielens_genres(open(path)?, &split.item_ids)
                .with_context(|| format!("failed to read {}", path.display()))?
                .0,
        ),
        None => None,
    };
    if let Some(d) = args.diversity
        && !(0.0..=1.0).contains(&d)
    {
        anyhow::bail!("--diversity must be between 0 and 1");
    }
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
    // Offline evaluation owns the machine, unlike the server's background training.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ease_config = EaseConfig {
        threads,
        min_item_count: args.min_item_count,
        row_weights_max: args
            .row_weights_max
            .or(EaseConfig::default().row_weights_max),
        ..EaseConfig::default()
    };
    let timelines = split.train_timelines();
    let n_items = split.train.n_items();
    // Validate as the test set was drawn: the same question, asked of the training data.
    let slice = match args.split {
        Split::Random => ValidationSlice::Random { seed: SPLIT_SEED },
        Split::Time => ValidationSlice::Recent,
    };
    let recency = match (args.recency, &timelines, args.algorithm) {
        (RecencyArg::Auto, Some(timelines), Algorithm::Ease) => Some(choose_recency(
            n_items,
            timelines,
            &Recency::grid(),
            slice,
            |fit| EaseModel::train(fit, &ease_config).expect("λ is positive"),
        )),
        (RecencyArg::Auto, Some(timelines), Algorithm::Knn) => Some(choose_recency(
            n_items,
            timelines,
            &Recency::grid(),
            slice,
            |fit| ItemKnn::train(fit, KnnConfig::default()),
        )),
        _ => None,
    };
    let recency = recency.filter(|_| args.recency_days.is_none());
    let chosen = match args.recency_days {
        Some(days) => Recency {
            tau_days: Some(days),
            by_position: false,
            floor: 0.0,
        },
        None => recency.as_ref().map_or(Recency::NONE, |c| c.chosen),
    };
    let choose_s = started.elapsed().as_secs_f64();
    let fitted = Instant::now();
    let model: Box<dyn DynScorer> = match args.algorithm {
        Algorithm::Ease => {
            Box::new(EaseModel::train(&split.train, &ease_config).context("failed to train EASE")?)
        }
        Algorithm::Knn => Box::new(ItemKnn::train(&split.train, KnnConfig::default())),
        Algorithm::Popularity => Box::new(Popularity::from_interactions(&split.train)),
    };
    // Seconds spent fitting, apart from choosing the recency and ranking every test user, for
    // comparison with other libraries' fit times.
    let train_s = fitted.elapsed().as_secs_f64();
    let popularity = Popularity::from_interactions(&split.train);
    let lists = Lists {
        model: model.as_ref(),
        popularity: &popularity,
        categories: &categories,
        timelines: timelines.as_deref(),
        recency: chosen,
        n_recs: config.n_recs.max(config.recall_k),
    };

    if args.sweep {
        print_header(&args, &split, recency.as_ref());
        println!();
        println!(
            "diversity  NDCG@{k}  Recall@{}  Coverage@{k}  Diversity@{k}  Popularity@{k}",
            config.recall_k
        );
        for step in 0..=10 {
            let d = step as f32 / 10.0;
            let outcome = lists.evaluate(&split, &config, Some(d));
            let r = &outcome.report;
            println!(
                "{d:<9.1}  {:<7.4}  {:<9.4}  {:<11.4}  {:<12.4}  {:.4}",
                r.ndcg, r.recall, r.coverage, r.intra_list_diversity, r.popularity_percentile
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    let outcome = lists.evaluate(&split, &config, args.diversity);
    let elapsed_s = started.elapsed().as_secs_f64();

    let r = &outcome.report;
    print_header(&args, &split, recency.as_ref());
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
    if recency.is_some() {
        println!("recency choice time:      {choose_s:.2}s (validation fit and grid)");
    }
    println!("training time:            {train_s:.2}s");
    println!("time:                     {elapsed_s:.2}s (everything, ranking every test user)");

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

/// The split from `--train`/`--test`, or made from `--ratings` (and written when asked).
fn read_split(args: &EvalArgs) -> anyhow::Result<MovieLensSplit> {
    if let (Some(train), Some(test)) = (&args.train, &args.test) {
        return load_movielens_split(open(train)?, open(test)?)
            .context("failed to read the train/test split");
    }
    let path = args
        .ratings
        .as_ref()
        .context("--ratings or --train/--test is required")?;
    let ratings =
        read_ratings(open(path)?).with_context(|| format!("failed to read {}", path.display()))?;
    let kind = match args.split {
        Split::Random => SplitKind::Random { seed: SPLIT_SEED },
        Split::Time => SplitKind::Time,
    };
    let (train, test) = split_ratings(&ratings, kind, TEST_SHARE);
    if let Some(dir) = &args.write_split {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        for (name, part) in [("train.csv", &train), ("test.csv", &test)] {
            let path = dir.join(name);
            let file = File::create(&path)
                .with_context(|| format!("failed to create {}", path.display()))?;
            write_ratings_csv(BufWriter::new(file), part)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
    }
    split_from_ratings(&train, &test).context("failed to index the split")
}

fn print_header(args: &EvalArgs, split: &MovieLensSplit, recency: Option<&RecencyChoice>) {
    println!(
        "algorithm:                {}",
        algorithm_name(args.algorithm)
    );
    match (&args.ratings, &args.write_split) {
        (Some(_), Some(dir)) => println!(
            "split:                    {} (written to {})",
            split_name(args.split),
            dir.display()
        ),
        (Some(_), None) => println!("split:                    {}", split_name(args.split)),
        _ => println!("split:                    as given (--train, --test)"),
    }
    match recency {
        Some(choice) => {
            let best = choice
                .curve
                .iter()
                .find(|(r, _)| *r == choice.chosen)
                .map_or(0.0, |(_, v)| *v);
            let none = choice.curve.first().map_or(0.0, |(_, v)| *v);
            println!(
                "recency:                  {} (validation NDCG@10 {best:.4}, {none:.4} without; \
                 {} 20% of each user's training interactions, {} users)",
                choice.chosen.describe(),
                match choice.slice {
                    ValidationSlice::Recent => "most recent",
                    ValidationSlice::Random { .. } => "a random",
                },
                choice.n_users
            );
            if std::env::var_os("CANDOR_EVAL_CURVE").is_some() {
                for (r, v) in &choice.curve {
                    println!("  validation {v:.4}  {}", r.describe());
                }
            }
        }
        None if args.recency_days.is_some() => println!(
            "recency:                  exp(-age/{}d) (fixed by --recency-days)",
            args.recency_days.unwrap_or_default()
        ),
        None if split.train_at_s.is_none() => {
            println!("recency:                  none (the training file has no timestamps)")
        }
        None => println!("recency:                  none"),
    }
    match args.diversity {
        Some(d) => println!("diversity:                {d} (re-ranked as served)"),
        None if !args.sweep => println!("diversity:                none (the model's ranking)"),
        None => {}
    }
}

/// [`Scorer`] as a trait object, so one code path serves every algorithm.
trait DynScorer {
    fn n_items(&self) -> u32;
    fn score_weighted_into(&self, history: &[(u32, f32)], scores: &mut [f32]);
}

impl<S: Scorer> DynScorer for S {
    fn n_items(&self) -> u32 {
        Scorer::n_items(self)
    }
    fn score_weighted_into(&self, history: &[(u32, f32)], scores: &mut [f32]) {
        Scorer::score_weighted_into(self, history, scores)
    }
}

/// How every user's list is made: the model over the recency-weighted history, then, with a
/// diversity, the same candidates and re-ranking as serving.
struct Lists<'a> {
    model: &'a dyn DynScorer,
    popularity: &'a Popularity,
    categories: &'a ItemCategories,
    timelines: Option<&'a [Vec<(u32, i64)>]>,
    recency: Recency,
    n_recs: usize,
}

impl Lists<'_> {
    fn evaluate(
        &self,
        split: &MovieLensSplit,
        config: &EvalConfig,
        diversity: Option<f32>,
    ) -> EvalOutcome {
        let mut scores = vec![0.0; self.model.n_items() as usize];
        evaluate_lists(
            &split.train,
            &split.test,
            self.categories,
            config,
            |user, history| {
                let weighted: Vec<(u32, f32)> = match self.timelines {
                    Some(timelines) => self.recency.weigh(&timelines[user as usize]),
                    None => history.iter().map(|&item| (item, 1.0)).collect(),
                };
                self.model.score_weighted_into(&weighted, &mut scores);
                let Some(d) = diversity else {
                    return top_n(&scores, history, self.n_recs)
                        .into_iter()
                        .map(|(item, _)| item)
                        .collect();
                };
                let rerank_config = RerankConfig::for_diversity(config.k, d);
                discount_popularity(
                    &mut scores,
                    self.popularity.scores(),
                    rerank_config.popularity_exponent,
                );
                let pool = candidate_pool(config.k);
                let scored = top_n(&scores, history, pool);
                let popular = self.popularity.top_n(pool, history);
                let offered = candidates(&scored, &popular, self.categories);
                let seed = u64::from(user).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let picked = rerank(&offered, history, self.categories, &rerank_config, seed);
                // The re-ranked top k, then the model's ranking for the deeper cut-offs.
                let mut list: Vec<u32> = picked.iter().map(|p| p.item).collect();
                for (item, _) in top_n(&scores, history, self.n_recs + list.len()) {
                    if list.len() >= self.n_recs {
                        break;
                    }
                    if !list.contains(&item) {
                        list.push(item);
                    }
                }
                list
            },
        )
    }
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("failed to open {}", path.display()))?;
    Ok(BufReader::new(file))
}

fn split_name(split: Split) -> &'static str {
    match split {
        Split::Random => "random (20% of each user held out, seed 42)",
        Split::Time => "time (each user's most recent 20% held out)",
    }
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
