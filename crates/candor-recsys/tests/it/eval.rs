use candor_recsys::{
    EvalConfig, ItemCategories, Popularity, evaluate, load_movielens_genres, load_movielens_split,
    write_recs_csv,
};

#[test]
fn metrics_follow_the_public_definitions() {
    // Items 0..6; popularity by training count: 0 (3 users), 1 (2), 2 (1), others 0.
    let train = "userId,movieId,rating,timestamp\n\
        10,100,4.0,1\n10,101,3.0,2\n20,100,5.0,3\n20,101,1.0,4\n30,100,2.0,5\n30,102,2.0,6\n";
    let test = "userId,movieId,rating,timestamp\n\
        10,102,4.0,7\n10,103,4.0,8\n20,104,4.0,9\n30,105,4.0,10\n";
    let split = load_movielens_split(train.as_bytes(), test.as_bytes()).unwrap();
    assert_eq!(split.item_ids, [100, 101, 102, 103, 104, 105]);
    assert_eq!(split.user_ids, [10, 20, 30]);
    let movies = "movieId,title,genres\n100,A,Drama\n101,B,Drama|Comedy\n102,\"C, the\",Comedy\n\
        103,D,Horror\n104,E,(no genres listed)\n999,Z,Drama\n";
    let (genres, names) = load_movielens_genres(movies.as_bytes(), &split.item_ids).unwrap();
    assert_eq!(names, ["Drama", "Comedy", "Horror", "(no genres listed)"]);
    assert_eq!(genres.of(1), [0, 1]);
    assert!(genres.of(5).is_empty());

    let config = EvalConfig {
        k: 2,
        recall_k: 3,
        n_recs: 3,
    };
    let outcome = evaluate(
        &split.train,
        &split.test,
        &genres,
        &config,
        &Popularity::from_interactions(&split.train),
    );
    // Popularity order 0, 1, 2, 3, 4, 5 (ties by index), minus each user's training items.
    assert_eq!(
        outcome.recommendations,
        [(0, vec![2, 3, 4]), (1, vec![2, 3, 4]), (2, vec![1, 3, 4])]
    );
    let r = &outcome.report;
    // User 10 hits 102 at rank 1 and 103 at rank 2; 20 hits 104 at rank 3 only; 30 nothing.
    assert_eq!(r.n_users, 3);
    assert!((r.ndcg - (1.0 + 0.0 + 0.0) / 3.0).abs() < 1e-12);
    assert!((r.recall - (1.0 + 1.0 + 0.0) / 3.0).abs() < 1e-12);
    assert!((r.precision - (1.0 + 0.0 + 0.0) / 3.0).abs() < 1e-12);
    assert!((r.coverage - 3.0 / 6.0).abs() < 1e-12);
    // Pairs (102,103): Comedy vs Horror, distance 1; (101,103) likewise.
    assert!((r.intra_list_diversity - 1.0).abs() < 1e-12);
    // Ascending counts, ties by index: 3, 4, 5 (0 each), 2 (1), 1 (2), 0 (3) → ranks /6.
    let pct = |rank: f64| rank / 6.0;
    let expected = (pct(3.0) + pct(0.0)) * 2.0 + pct(4.0) + pct(0.0);
    assert!((r.popularity_percentile - expected / 6.0).abs() < 1e-12);

    let mut csv = Vec::new();
    write_recs_csv(
        &mut csv,
        &outcome.recommendations[..1],
        &split.user_ids,
        &split.item_ids,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap(),
        "userId,movieId,rank\n10,102,1\n10,103,2\n10,104,3\n"
    );
}

#[test]
fn malformed_rows_are_reported_with_their_line() {
    let bad = "userId,movieId,rating\n1,2,3\n1,x,3\n";
    let error = load_movielens_split(bad.as_bytes(), "userId,movieId\n".as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 3: expected a non-negative integer, found \"x\""
    );
    let missing = load_movielens_split("user,movie\n".as_bytes(), "userId,movieId\n".as_bytes());
    assert_eq!(
        missing.unwrap_err().to_string(),
        "line 1: missing column userId"
    );
    assert_eq!(ItemCategories::default().of(3), [] as [u32; 0]);
}
