//! Candor's public evaluation protocol on MovieLens-small: the reference script writes the
//! split, the default model is trained on it, and its figures are compared with the
//! references and with the script's own scoring of the same lists.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candor_recsys::{
    EaseConfig, EaseModel, EvalConfig, evaluate, load_movielens_genres, load_movielens_split,
    write_recs_csv,
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
        r.ndcg > EASE_NDCG_AT_10 - 0.01,
        "NDCG@10 {} is far from EASE's",
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
