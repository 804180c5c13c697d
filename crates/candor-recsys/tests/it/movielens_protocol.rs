//! Candor's public evaluation protocol on MovieLens-small: the reference script writes the
//! split, the default model is trained on it, and its figures are compared with the
//! references and with the script's own scoring of the same lists.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candor_recsys::{
    EaseConfig, EaseModel, EvalConfig, EvalReport, ItemCategories, MovieLensSplit, Recency, Scorer,
    SplitKind, ValidationSlice, choose_recency, evaluate, evaluate_lists, load_movielens_genres,
    load_movielens_split, read_ratings, split_from_ratings, split_ratings, top_n, write_recs_csv,
};

/// NDCG@10 of implicit ALS in the reference script, the figure to beat.
const ALS_NDCG_AT_10: f64 = 0.299;
/// NDCG@10 of EASE with λ = 300 in the reference script, the figure to come close to.
const EASE_NDCG_AT_10: f64 = 0.351;

fn shared() -> PathBuf {
    // The shared folder sits beside the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn script(args: &[&str]) -> String {
    let output = Command::new("python3")
        .arg(shared().join("tools/recsys_reference.py"))
        .arg("--data")
        .arg(shared().join("datasets/movielens-small"))
        .arg("--no-implicit")
        .args(args)
        .output()
        .expect("python3 runs (with numpy and scipy installed)");
    assert!(
        output.status.success(),
        "the reference script failed (pip install numpy scipy?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn default_model_beats_als_on_movielens_small() {
    let dir = tempfile::tempdir().unwrap();
    let split_dir = dir.path().join("split");
    script(&["--write-split", split_dir.to_str().unwrap()]);
    let split = load_movielens_split(
        File::open(split_dir.join("train.csv")).unwrap(),
        File::open(split_dir.join("test.csv")).unwrap(),
    )
    .unwrap();
    let movies = File::open(shared().join("datasets/movielens-small/movies.csv")).unwrap();
    let (genres, _) = load_movielens_genres(movies, &split.item_ids).unwrap();

    // The recency is validated on a random slice of train, as the test set was drawn: on this
    // split no decay beats none, so the default model stays plain EASE.
    let chosen = learned_recency(&split, ValidationSlice::Random { seed: 42 });
    println!("recency chosen on the random split: {}", chosen.describe());
    assert_eq!(chosen, Recency::NONE);

    let started = Instant::now();
    let config = EaseConfig {
        threads: 2,
        ..EaseConfig::default()
    };
    let model = EaseModel::train(&split.train, &config).unwrap();
    let fit_s = started.elapsed().as_secs_f64();
    let outcome = evaluate(
        &split.train,
        &split.test,
        &genres,
        &EvalConfig::default(),
        &model,
    );
    let r = &outcome.report;
    println!(
        "candor EASE (lambda {}, min_item_count {}, {} items, fit {fit_s:.1}s): ndcg10 {:.4} \
         recall20 {:.4} prec10 {:.4} coverage10 {:.4} ild10 {:.4} pop10 {:.4}",
        config.lambda,
        config.min_item_count,
        model.n_modelled_items(),
        r.ndcg,
        r.recall,
        r.precision,
        r.coverage,
        r.intra_list_diversity,
        r.popularity_percentile
    );
    println!("references: popularity 0.171, item-item cosine 0.260, ALS 0.299, EASE λ=300 0.351");
    assert_eq!(r.n_users, 671);
    assert!(
        r.ndcg > ALS_NDCG_AT_10,
        "NDCG@10 {} does not beat ALS",
        r.ndcg
    );
    assert!(
        r.ndcg >= EASE_NDCG_AT_10,
        "NDCG@10 {} is below EASE's {EASE_NDCG_AT_10}",
        r.ndcg
    );

    // The script scores the same lists and must print the same figures.
    let recs = dir.path().join("candor-recs.csv");
    write_recs_csv(
        BufWriter::new(File::create(&recs).unwrap()),
        &outcome.recommendations,
        &split.user_ids,
        &split.item_ids,
    )
    .unwrap();
    let printed = script(&["--recs", &format!("candor={}", recs.display())]);
    let line = printed
        .lines()
        .find(|l| l.starts_with("candor,"))
        .expect("the script prints a line for candor");
    let theirs: Vec<f64> = line
        .split(',')
        .skip(1)
        .filter(|f| !f.is_empty())
        .map(|f| f.parse().unwrap())
        .collect();
    let ours = [
        r.ndcg,
        r.recall,
        r.precision,
        r.coverage,
        r.intra_list_diversity,
        r.popularity_percentile,
    ];
    for (name, (a, b)) in [
        "ndcg10",
        "recall20",
        "prec10",
        "coverage10",
        "ild10",
        "pop10",
    ]
    .iter()
    .zip(ours.iter().zip(&theirs))
    {
        assert!(
            (a - b).abs() <= 0.00005 + 1e-9,
            "{name}: ours {a:.6}, script {b}"
        );
    }
}

fn ease_config() -> EaseConfig {
    EaseConfig {
        threads: 2,
        ..EaseConfig::default()
    }
}

/// The recency `choose_recency` picks for EASE from the split's training data alone.
fn learned_recency(split: &MovieLensSplit, slice: ValidationSlice) -> Recency {
    let timelines = split.train_timelines().expect("the split has timestamps");
    choose_recency(
        split.train.n_items(),
        &timelines,
        &Recency::grid(),
        slice,
        |fit| EaseModel::train(fit, &ease_config()).unwrap(),
    )
    .chosen
}

/// EASE's figures over each user's history weighted by `recency`.
fn weighted_report(
    split: &MovieLensSplit,
    genres: &ItemCategories,
    model: &EaseModel,
    recency: Recency,
) -> EvalReport {
    let timelines = split.train_timelines().unwrap();
    let mut scores = vec![0.0; model.n_items() as usize];
    evaluate_lists(
        &split.train,
        &split.test,
        genres,
        &EvalConfig::default(),
        |user, history| {
            model.score_weighted_into(&recency.weigh(&timelines[user as usize]), &mut scores);
            top_n(&scores, history, 50)
                .into_iter()
                .map(|(item, _)| item)
                .collect()
        },
    )
    .report
}

/// On a split holding out each user's most recent 20%, the recency learned on a time-ordered
/// slice of train lifts EASE's NDCG@10 by at least 5%.
#[test]
fn learned_recency_beats_ease_on_a_time_ordered_split() {
    let data = shared().join("datasets/movielens-small");
    let ratings = read_ratings(File::open(data.join("ratings.csv")).unwrap()).unwrap();
    let (train, test) = split_ratings(&ratings, SplitKind::Time, 0.2);
    let split = split_from_ratings(&train, &test).unwrap();
    let (genres, _) = load_movielens_genres(
        File::open(data.join("movies.csv")).unwrap(),
        &split.item_ids,
    )
    .unwrap();
    let chosen = learned_recency(&split, ValidationSlice::Recent);
    let model = EaseModel::train(&split.train, &ease_config()).unwrap();
    let plain = weighted_report(&split, &genres, &model, Recency::NONE);
    let learned = weighted_report(&split, &genres, &model, chosen);
    println!(
        "time split: EASE ndcg10 {:.4}; with recency {} ndcg10 {:.4} ({:.3}x)",
        plain.ndcg,
        chosen.describe(),
        learned.ndcg,
        learned.ndcg / plain.ndcg
    );
    assert_eq!(plain.n_users, 671);
    assert!(
        learned.ndcg >= 1.05 * plain.ndcg,
        "recency {} gives NDCG@10 {} against EASE's {}",
        chosen.describe(),
        learned.ndcg,
        plain.ndcg
    );
}
