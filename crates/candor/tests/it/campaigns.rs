//! `candor campaigns`: audience runs from the command line.

use candor_app::campaigns::StoredCampaign;
use candor_domain::time::Timestamp;
use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;
use candor_store::{CampaignRecord, SegmentRecord};

use crate::support::candor;

pub(crate) fn seed(dir: &std::path::Path) {
    let store = SqliteStore::open(dir).unwrap();
    let now = Timestamp::from_millis(0);
    store
        .insert_segment(&SegmentRecord {
            id: "active".into(),
            name: "Active".into(),
            purpose: "email_marketing".into(),
            rule: "views(30d) >= 2".into(),
            created_at: now,
        })
        .unwrap();
    let spec = StoredCampaign {
        id: "spring".into(),
        segment: "active".into(),
        channel: "email".into(),
        purpose: "email_marketing".into(),
        template: "Hi {{first_name}} {{unsubscribe_url}}".into(),
        send_at: None,
        cap: None,
        restricted_categories: vec![],
        holdout_percent: 0,
        seed: 1,
    };
    store
        .insert_campaign(&CampaignRecord {
            id: "spring".into(),
            segment_id: "active".into(),
            spec: serde_json::to_string(&spec).unwrap(),
            created_at: now,
        })
        .unwrap();
}

#[test]
fn campaigns_list_and_run_with_suppressed_counts() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let out = candor()
        .args(["campaigns", "list", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "spring\tsegment active\n"
    );

    let out = candor()
        .args(["campaigns", "run", "spring", "--dry-run", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("dry run: nothing recorded or sent\n"),
        "{text}"
    );
    assert!(text.contains("total: fewer than 10\n"), "{text}");
    assert!(text.contains("control_group: fewer than 10\n"), "{text}");

    let out = candor()
        .args(["campaigns", "run", "spring", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("run "));

    let out = candor()
        .args(["campaigns", "run", "autumn", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("no campaign `autumn`")
    );
}
