use candor_accountability::exposure::{
    CatalogItem, ExposureCounts, catalog_coverage, exposure_by_popularity, exposure_by_provider,
    exposure_gini, gini, item_exposure_report,
};

fn item(id: &'static str, provider: &'static str, popularity: u64) -> CatalogItem<'static> {
    CatalogItem {
        id,
        provider,
        popularity,
    }
}

/// Twenty items, i00 the most popular; even ones from "big", odd ones from "small".
fn catalog() -> Vec<CatalogItem<'static>> {
    const IDS: [&str; 20] = [
        "i00", "i01", "i02", "i03", "i04", "i05", "i06", "i07", "i08", "i09", "i10", "i11", "i12",
        "i13", "i14", "i15", "i16", "i17", "i18", "i19",
    ];
    IDS.iter()
        .enumerate()
        .map(|(i, id)| item(id, if i % 2 == 0 { "big" } else { "small" }, 100 - i as u64))
        .collect()
}

fn close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a defined value");
    assert!(
        (actual - expected).abs() < 1e-12,
        "expected {expected}, got {actual}"
    );
}

#[test]
fn provider_shares_include_providers_that_got_nothing() {
    let exposures = ExposureCounts::from_counts([("i00", 6), ("i02", 2), ("i01", 2)]);
    let shares = exposure_by_provider(&catalog(), &exposures);
    assert_eq!(shares.len(), 2);
    assert_eq!(shares[0].provider, "big");
    assert_eq!((shares[0].n_items, shares[0].n_exposures), (10, 8));
    close(shares[0].share, 0.8);
    close(shares[1].share, 0.2);

    let mut catalog = catalog();
    catalog.push(item("z", "newcomer", 0));
    let shares = exposure_by_provider(&catalog, &exposures);
    let newcomer = shares.iter().find(|s| s.provider == "newcomer").unwrap();
    assert_eq!((newcomer.n_exposures, newcomer.share), (0, Some(0.0)));
}

#[test]
fn popularity_deciles_show_a_head_heavy_slate() {
    // Items i00 and i01 form the top decile of twenty.
    let exposures = ExposureCounts::from_items(["i00", "i00", "i01", "i19", "i00", "i01"]);
    let popularity = exposure_by_popularity(&catalog(), &exposures);
    assert_eq!(popularity.deciles.len(), 10);
    assert!(popularity.deciles.iter().all(|d| d.n_items == 2));
    assert_eq!(popularity.deciles[0].n_exposures, 5);
    assert_eq!(popularity.deciles[9].n_exposures, 1);
    close(popularity.head_share, 5.0 / 6.0);
    close(popularity.deciles[4].share, 0.0);
    // Exposed: 3×100 + 2×99 + 1×81 over 6; catalog mean (100 + 81) / 2.
    close(popularity.mean_exposed_popularity, 579.0 / 6.0);
    close(popularity.mean_catalog_popularity, 90.5);
    close(popularity.popularity_lift, 579.0 / 6.0 / 90.5);
}

#[test]
fn small_catalogs_leave_some_deciles_empty() {
    let catalog = [item("a", "p", 3), item("b", "p", 2), item("c", "p", 1)];
    let popularity = exposure_by_popularity(&catalog, &ExposureCounts::from_items(["c"]));
    let sizes: Vec<u64> = popularity.deciles.iter().map(|d| d.n_items).collect();
    assert_eq!(sizes, [1, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    close(popularity.deciles[6].share, 1.0);
    close(popularity.head_share, 0.0);
}

#[test]
fn coverage_counts_distinct_exposed_catalog_items() {
    let exposures = ExposureCounts::from_items(["i00", "i00", "i05", "gone"]);
    close(catalog_coverage(&catalog(), &exposures), 2.0 / 20.0);
    assert_eq!(catalog_coverage(&[], &exposures), None);
}

#[test]
fn gini_is_zero_for_equal_exposure_and_near_one_for_a_single_item() {
    assert_eq!(gini(&mut []), None);
    assert_eq!(gini(&mut [0, 0, 0]), None);
    close(gini(&mut [5, 5, 5, 5]), 0.0);
    close(gini(&mut [0, 0, 0, 12]), 0.75);
    // Hand-computed: sorted 1, 2, 3, 4 → Σ(2i−n−1)x = −3 −2 +3 +12 = 10; 10 / (4·10).
    close(gini(&mut [4, 1, 3, 2]), 0.25);
    let everything_to_one = ExposureCounts::from_counts([("i07", 100)]);
    close(exposure_gini(&catalog(), &everything_to_one), 19.0 / 20.0);
    assert_eq!(exposure_gini(&catalog(), &ExposureCounts::new()), None);
}

#[test]
fn the_report_separates_exposures_outside_the_catalog() {
    let mut catalog = catalog();
    catalog.push(item("i00", "duplicate row", 1));
    let exposures = ExposureCounts::from_counts([("i00", 3), ("retired", 2), ("i03", 1)]);
    let report = item_exposure_report(&catalog, &exposures);
    assert_eq!(report.n_catalog_items, 20);
    assert_eq!(report.n_exposures, 4);
    assert_eq!(report.n_exposures_outside_catalog, 2);
    close(report.coverage, 0.1);
    let total_share: f64 = report.providers.iter().filter_map(|p| p.share).sum();
    close(Some(total_share), 1.0);
    assert!(
        report
            .providers
            .iter()
            .all(|p| p.provider != "duplicate row")
    );
}

#[test]
fn an_empty_catalog_is_all_none() {
    let report = item_exposure_report(&[], &ExposureCounts::from_items(["x"]));
    assert_eq!(report.coverage, None);
    assert_eq!(report.gini, None);
    assert!(report.providers.is_empty());
    assert_eq!(report.popularity.head_share, None);
    assert_eq!(report.popularity.popularity_lift, None);
    assert_eq!(report.n_exposures_outside_catalog, 1);
}
