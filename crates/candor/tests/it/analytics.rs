//! `candor report analytics`: the private report the API gives, from the command line, charged
//! to the same budget and answered from its release when repeated.

use std::path::Path;
use std::process::Output;

use crate::support::candor;

fn analytics(dir: &Path, args: &[&str]) -> Output {
    candor()
        .args(["report", "analytics"])
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_report_is_released_once_and_repeated_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "conversions",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-15",
        "--by",
        "week",
    ];
    let first: serde_json::Value = serde_json::from_str(&stdout(&analytics(
        dir.path(),
        &[&args[..], &["--format", "json"]].concat(),
    )))
    .unwrap();
    assert_eq!(first["repeated"], false);
    assert_eq!(first["report"]["family"], "conversions");
    assert_eq!(first["report"]["from"], "2026-11-02");
    assert_eq!(first["report"]["to"], "2026-11-15");
    assert_eq!(first["report"]["periods"].as_array().unwrap().len(), 2);
    assert_eq!(first["budget"]["remaining"]["epsilon"], 2.0);

    // The same request again, in Markdown: the same release, nothing charged.
    let md = stdout(&analytics(dir.path(), &args));
    assert!(
        md.starts_with("# conversions (2026-11-02 to 2026-11-15, by Week)"),
        "{md}"
    );
    assert!(
        md.contains("Consent basis: Orders and product views whose purposes include `analytics`")
    );
    assert!(md.contains("nothing charged now"), "{md}");
    assert!(
        md.contains("the family has ε = 2 left of 3 per day"),
        "{md}"
    );
    assert!(md.contains("## 2026-11-09"));
}

#[test]
fn bad_requests_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    for (args, reason) in [
        (&["everything"][..], "no report `everything`"),
        (&["drops", "--to", "2026-13-01"][..], "`to` must be a date"),
        (
            &["drops", "--country", "DE"][..],
            "drop counters hold no country",
        ),
    ] {
        let out = analytics(dir.path(), args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    // The HTML overview still needs its directory.
    let out = candor()
        .arg("report")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out"));
}
