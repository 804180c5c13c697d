//! Training cost of the default EASE model on MovieLens-small, the size a small shop or media
//! site reaches. The data is read from `../shared/datasets/movielens-small/` beside the
//! workspace root; without it the bench says so and measures nothing.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use candor_recsys::{EaseConfig, EaseModel, Interactions, load_movielens_split};
use criterion::{Criterion, criterion_group, criterion_main};

fn ratings() -> Option<Interactions> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/movielens-small/ratings.csv");
    let Ok(file) = File::open(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return None;
    };
    // All ratings as training data; the empty test part only has to parse.
    let split = load_movielens_split(file, "userId,movieId\n".as_bytes()).expect("ratings parse");
    Some(split.train)
}

fn train(c: &mut Criterion) {
    let Some(interactions) = ratings() else {
        return;
    };
    let mut group = c.benchmark_group("ease_train_movielens_small");
    // One fit takes seconds: a handful of samples is enough to see a regression.
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    for threads in [1, 2] {
        let config = EaseConfig {
            threads,
            ..EaseConfig::default()
        };
        group.bench_function(format!("default_threads_{threads}"), |b| {
            b.iter(|| EaseModel::train(&interactions, &config).expect("trains"))
        });
    }
    group.finish();
}

criterion_group!(benches, train);
criterion_main!(benches);
