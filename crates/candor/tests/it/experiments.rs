//! `candor experiments`: the k-suppressed report from the command line.

use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use candor_store::sqlite::SqliteStore;
use candor_store::{ExperimentExposure, ExperimentStore};

use crate::support::candor;

fn seed(dir: &std::path::Path) {
    let store = SqliteStore::open(dir).unwrap();
    let experiment = serde_json::from_value(serde_json::json!({
        "id": "home", "name": "Home list", "policy_version": "", "salt": "home",
        "purpose": "personalization", "target": {"kind": "slot", "id": "home"},
        "variants": [{"name": "A", "allocation_bp": 5000}, {"name": "B", "allocation_bp": 5000}],
        "start_ms": 0,
        "primary": {"name": "orders", "kind": "conversion", "event_type": "Order Completed",
                    "window_ms": 1000}
    }))
    .unwrap();
    let policy = Policy::default_policy();
    candor_app::experiments::create(&store, &policy, experiment, Timestamp::from_millis(0))
        .unwrap();
    // Three people exposed: far fewer than k.
    let exposures: Vec<ExperimentExposure> = (0..3)
        .map(|i| ExperimentExposure {
            experiment_id: "home".into(),
            subject: SubjectKey::derive(b"s", &ExternalId::parse(&format!("p{i}")).unwrap()),
            arm: if i % 2 == 0 { "A" } else { "B" }.into(),
            list_id: Some(format!("l{i}")),
            at: Timestamp::from_millis(10),
        })
        .collect();
    store.record_experiment_exposures(&exposures).unwrap();
}

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    candor()
        .args(["experiments"])
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn experiments_list_and_report_with_suppressed_counts() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let out = run(dir.path(), &["list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "home\tactive\tHome list\n"
    );

    let out = run(dir.path(), &["report", "home", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["experiment_id"], "home");
    for arm in report["metrics"][0]["arms"].as_array().unwrap() {
        assert_eq!(arm["n"], "fewer than 10", "{report}");
        assert!(arm["mean"].is_null());
    }

    let out = run(dir.path(), &["report", "home"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Home list"), "Markdown by default: {text}");
    let out = run(dir.path(), &["report", "home", "--format", "svg"]);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("<svg"));

    let out = run(dir.path(), &["report", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no experiment `nope`"));
}
