//! Trains a model on a MovieLens split, prints Candor's metrics and writes the lists in the
//! `userId,movieId,rank` format of the public evaluation script, to check that both agree.
//!
//! ```text
//! python3 ../shared/tools/recsys_reference.py --data ../shared/datasets/movielens-small \
//!     --write-split /tmp/split --no-implicit
//! cargo run --release -p candor-recsys --example movielens -- /tmp/split \
//!     ../shared/datasets/movielens-small/movies.csv /tmp/candor-recs.csv [ease|knn|popularity] [lambda] [min_item_count]
//! python3 ../shared/tools/recsys_reference.py --data ../shared/datasets/movielens-small \
//!     --no-implicit --recs candor=/tmp/candor-recs.csv
//! ```

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;

use candor_recsys::{
    EaseConfig, EaseModel, EvalConfig, EvalOutcome, ItemKnn, KnnConfig, Popularity, Scorer,
    evaluate, load_movielens_genres, load_movielens_split, write_recs_csv,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [split_dir, movies, out, rest @ ..] = args.as_slice() else {
        return Err("usage: movielens SPLIT_DIR MOVIES_CSV OUT_CSV [ease|knn|popularity] [lambda|alpha] [min_item_count|shrink]".into());
    };
    let split_dir = Path::new(split_dir);
    let split = load_movielens_split(
        File::open(split_dir.join("train.csv"))?,
        File::open(split_dir.join("test.csv"))?,
    )?;
    let (genres, _) = load_movielens_genres(File::open(movies)?, &split.item_ids)?;
    let kind = rest.first().map_or("ease", String::as_str);
    let mut ease = EaseConfig::default();
    if let Some(lambda) = rest.get(1) {
        ease.lambda = lambda.parse()?;
    }
    if let Some(min) = rest.get(2) {
        ease.min_item_count = min.parse()?;
    }
    ease.threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let started = Instant::now();
    let run = |model: &dyn Fn() -> EvalOutcome| model();
    let outcome = match kind {
        "ease" => {
            let model = EaseModel::train(&split.train, &ease)?;
            println!(
                "fit {:.2}s over {} items (lambda {}, min_item_count {})",
                started.elapsed().as_secs_f64(),
                model.n_modelled_items(),
                ease.lambda,
                ease.min_item_count
            );
            run(&|| eval(&split, &genres, &model))
        }
        "knn" => {
            let mut knn = KnnConfig::default();
            if let Some(alpha) = rest.get(1) {
                knn.alpha = alpha.parse()?;
            }
            if let Some(shrink) = rest.get(2) {
                knn.shrink = shrink.parse()?;
            }
            let model = ItemKnn::train(&split.train, knn);
            println!("fit {:.2}s", started.elapsed().as_secs_f64());
            run(&|| eval(&split, &genres, &model))
        }
        _ => run(&|| {
            eval(
                &split,
                &genres,
                &Popularity::from_interactions(&split.train),
            )
        }),
    };
    let r = &outcome.report;
    println!(
        "ndcg10 {:.4} recall20 {:.4} prec10 {:.4} coverage10 {:.4} ild10 {:.4} pop10 {:.4} ({:.2}s total)",
        r.ndcg,
        r.recall,
        r.precision,
        r.coverage,
        r.intra_list_diversity,
        r.popularity_percentile,
        started.elapsed().as_secs_f64()
    );
    write_recs_csv(
        BufWriter::new(File::create(out)?),
        &outcome.recommendations,
        &split.user_ids,
        &split.item_ids,
    )?;
    Ok(())
}

fn eval(
    split: &candor_recsys::MovieLensSplit,
    genres: &candor_recsys::ItemCategories,
    model: &impl Scorer,
) -> EvalOutcome {
    evaluate(
        &split.train,
        &split.test,
        genres,
        &EvalConfig::default(),
        model,
    )
}
