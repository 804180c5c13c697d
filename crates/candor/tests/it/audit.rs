//! `candor audit verify` against a database tampered with directly: every kind of change is
//! found, and the first bad entry is the one named.

use std::path::Path;

use crate::support::{candor, create_key};

/// A data directory whose audit log holds `n` entries (one per key created).
fn log_with(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..n {
        create_key(dir.path(), "decide");
    }
    dir
}

fn db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("candor.db")).unwrap()
}

/// Runs `candor audit verify` and returns (success, stdout).
fn verify(dir: &Path, extra: &[&str]) -> (bool, String) {
    let out = candor()
        .args(["audit", "verify", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), stdout)
}

fn head(dir: &Path) -> String {
    let out = candor()
        .args(["audit", "head", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    Vec<u8>,
    Vec<u8>,
);

/// Every row in storage order, without its position.
fn rows(conn: &rusqlite::Connection) -> Vec<Row> {
    let mut stmt = conn
        .prepare("SELECT seq, at, actor, action, target, purpose, details, prev_hash, hash FROM audit_log ORDER BY pos")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Rewrites the table with `rows` in this storage order.
fn rewrite(conn: &rusqlite::Connection, rows: &[Row]) {
    conn.execute("DELETE FROM audit_log", []).unwrap();
    for r in rows {
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, target, purpose, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            rusqlite::params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8],
        )
        .unwrap();
    }
}

#[test]
fn an_intact_log_verifies_and_prints_its_head() {
    let dir = log_with(3);
    let (ok, out) = verify(dir.path(), &[]);
    assert!(ok, "{out}");
    let head = head(dir.path());
    assert!(head.starts_with("3:"), "{head}");
    assert!(out.contains("3 entries"), "{out}");
    assert!(out.contains(&head), "{out} / {head}");
    // And against its own anchor.
    let (ok, out) = verify(dir.path(), &["--anchor", &head]);
    assert!(ok, "{out}");
    // An empty log is intact too.
    let empty = tempfile::tempdir().unwrap();
    let (ok, out) = verify(empty.path(), &[]);
    assert!(ok, "{out}");
    assert!(out.contains("0 entries"), "{out}");
}

#[test]
fn a_modified_field_is_found() {
    let dir = log_with(5);
    db(dir.path())
        .execute("UPDATE audit_log SET at = at + 1 WHERE seq = 3", [])
        .unwrap();
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(
        out.contains("seq 3 ") && out.contains("hash mismatch"),
        "{out}"
    );

    // A field changed to something that is not even a valid value names the entry as well.
    let dir = log_with(5);
    db(dir.path())
        .execute(
            "UPDATE audit_log SET actor = 'somebody else' WHERE seq = 2",
            [],
        )
        .unwrap();
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(out.contains("seq 2 is unreadable"), "{out}");

    // Changing a detail the hash covers.
    let dir = log_with(5);
    db(dir.path())
        .execute(
            "UPDATE audit_log SET details = '{\"scopes\":\"admin\"}' WHERE seq = 4",
            [],
        )
        .unwrap();
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(
        out.contains("seq 4 ") && out.contains("hash mismatch"),
        "{out}"
    );
}

#[test]
fn a_deleted_row_is_found() {
    let dir = log_with(5);
    db(dir.path())
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap();
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(
        out.contains("seq 4 ") && out.contains("sequence gap (expected 3)"),
        "{out}"
    );
}

#[test]
fn an_inserted_row_is_found() {
    let dir = log_with(5);
    let conn = db(dir.path());
    let mut all = rows(&conn);
    // A forged entry between seq 2 and 3, copied from seq 2 under a new number.
    let mut forged = all[1].clone();
    forged.0 = 100;
    all.insert(2, forged);
    rewrite(&conn, &all);
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(out.contains("seq 100 "), "{out}");
}

#[test]
fn swapped_rows_are_found() {
    let dir = log_with(5);
    let conn = db(dir.path());
    let mut all = rows(&conn);
    all.swap(2, 3);
    rewrite(&conn, &all);
    let (ok, out) = verify(dir.path(), &[]);
    assert!(!ok);
    assert!(
        out.contains("seq 4 ") && out.contains("out of order (expected 3)"),
        "{out}"
    );
}

#[test]
fn a_cut_tail_is_found_against_an_anchor() {
    let dir = log_with(4);
    let anchor = head(dir.path());
    db(dir.path())
        .execute("DELETE FROM audit_log WHERE seq = 4", [])
        .unwrap();
    // Without the anchor a shorter chain is still a valid chain...
    assert!(verify(dir.path(), &[]).0);
    // ...with it, the cut is found.
    let (ok, out) = verify(dir.path(), &["--anchor", &anchor]);
    assert!(!ok);
    assert!(out.contains("truncated"), "{out}");
    // A malformed anchor is refused with a usage error.
    let out = candor()
        .args(["audit", "verify", "--anchor", "nope", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SEQ:HASH"));
}

/// Runs `candor fairness report` over `dir` with `args`.
fn fairness_report(dir: &Path, args: &[&str]) -> std::process::Output {
    candor()
        .args(["fairness", "report", "--data-dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn fairness_report_of_an_empty_period_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| fairness_report(dir.path(), args);
    let out = run(&["--slot", "home_top"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Fairness of slot home\\_top"), "{md}");
    assert!(md.contains("nothing to measure"), "{md}");
    let out = run(&["--slot", "home_top", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["empty"], true);
    let out = run(&["--slot", "home_top", "--format", "svg"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("<svg"));
    // Refusals.
    assert!(
        !run(&["--slot", "home_top", "--k-min", "1"])
            .status
            .success()
    );
    assert!(
        !run(&["--slot", "home_top", "--since", "last week"])
            .status
            .success()
    );
    // No such campaign.
    let out = run(&["--campaign", "spring"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no campaign `spring`"));
}

/// A data directory with campaign `spring`, one flagged run of it (`run-1`, held) over two
/// people without audit attributes, and three data-subject requests.
fn campaign_with_a_flagged_run() -> tempfile::TempDir {
    use candor_domain::time::Timestamp;
    use candor_store::prelude::*;
    use candor_store::sqlite::SqliteStore;
    use candor_store::{NewDelivery, NewDsrRequest, NewFlag, NewOutcome, NewRun};
    let dir = tempfile::tempdir().unwrap();
    crate::campaigns::seed(dir.path());
    let store = SqliteStore::open(dir.path()).unwrap();
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let subject = |n: u8| candor_domain::SubjectKey::from_bytes([n; 32]);
    store
        .commit_run(&NewRun {
            run_id: "run-1".into(),
            campaign_id: "spring".into(),
            channel: "email".into(),
            now,
            channel_cap: candor_store::CapLimit {
                max: 5,
                window_ms: 1,
            },
            campaign_cap: None,
            record_outcomes: true,
            outcomes: vec![
                NewOutcome {
                    subject: subject(1),
                    reason: None,
                    delivery: Some(NewDelivery {
                        idempotency_key: "k1".into(),
                        payload: Some("{}".into()),
                    }),
                },
                NewOutcome {
                    subject: subject(2),
                    reason: Some("not_in_segment".into()),
                    delivery: None,
                },
            ],
            flag: Some(NewFlag { parity_ratio: 0.5 }),
            hold_if_flagged: true,
        })
        .unwrap();
    let day = 86_400_000;
    for (kind, age_days, done) in [
        ("access", 40, false),
        ("access", 1, true),
        ("erasure", 2, false),
    ] {
        let received = now.as_millis() - age_days * day;
        store
            .insert_dsr(&NewDsrRequest {
                kind: kind.into(),
                subject_ref: [age_days as u8; 32],
                jurisdiction: "gdpr".into(),
                received_at: Timestamp::from_millis(received),
                deadline_at: Timestamp::from_millis(received + 30 * day),
                completed_at: done.then_some(now),
                detail: "{}".into(),
            })
            .unwrap();
    }
    dir
}

#[test]
fn fairness_report_of_a_campaign_reads_its_stored_runs() {
    let dir = campaign_with_a_flagged_run();
    let run = |args: &[&str]| fairness_report(dir.path(), args);
    let out = run(&["--campaign", "spring", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["campaign"], "spring");
    assert_eq!(json["run"], "run-1");
    assert_eq!(json["flagged"], true);
    assert_eq!(json["held"], true);
    assert!(json["acknowledged"].is_null());
    assert_eq!(json["report"]["n_audited"], 0);
    let out = run(&["--campaign", "spring", "--run", "run-1"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with("# Fairness of campaign spring"), "{md}");
    assert!(md.contains("Flagged when it ran"), "{md}");
    assert!(md.contains("held until the flag is acknowledged"), "{md}");
    let out = run(&["--campaign", "spring", "--format", "svg"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("<svg"));
    // Refusals.
    let out = run(&["--campaign", "spring", "--run", "run-2"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run `run-2`"));
    assert!(
        !run(&["--run", "run-1"]).status.success(),
        "--run needs --campaign"
    );
    let never = tempfile::tempdir().unwrap();
    crate::campaigns::seed(never.path());
    let out = fairness_report(never.path(), &["--campaign", "spring"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("never been run"));
}

/// Runs `candor report` over `dir` (with `extra` arguments) and returns the HTML it wrote.
fn html_report(dir: &Path, extra: &[&str]) -> String {
    let out_dir = dir.join("report");
    let out = candor()
        .arg("report")
        .args(extra)
        .arg("--data-dir")
        .arg(dir)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(out_dir.join("index.html")).unwrap()
}

#[test]
fn the_html_report_says_what_is_empty_and_shows_the_chain() {
    let dir = log_with(2);
    let out_dir = dir.path().join("report");
    let html = html_report(dir.path(), &["--slot", "home_top"]);
    assert!(html.contains("Intact: 2 entries"), "{html}");
    assert!(html.contains("No consent decisions were recorded in this period."));
    assert!(html.contains("No event was dropped in this period."));
    assert!(html.contains("Nothing was shown in this slot in this period."));
    assert!(
        html.contains("No data-subject request was received in this period, and none is open.")
    );
    assert!(html.contains("No campaign has been created."));
    assert!(!html.contains("NaN"), "no division by zero");
    assert!(!html.contains("<script"), "self-contained, no scripts");

    // A broken chain is reported, not hidden.
    db(dir.path())
        .execute("UPDATE audit_log SET at = at + 1 WHERE seq = 1", [])
        .unwrap();
    let html = html_report(dir.path(), &[]);
    assert!(
        html.contains("Broken: the first bad entry is seq 1"),
        "{html}"
    );

    // Bad input.
    let out = candor()
        .args(["report", "--since", "someday", "--data-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_html_report_shows_requests_deadlines_and_campaign_fairness() {
    let dir = campaign_with_a_flagged_run();
    let html = html_report(dir.path(), &[]);
    assert!(html.contains("<h2>Requests and deadlines</h2>"), "{html}");
    assert!(
        html.contains("1 open request(s) are past their statutory deadline."),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr><td>access</td><td>1</td><td>1</td><td>1</td><td>0</td><td>40.0</td></tr>"
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "<tr><td>erasure</td><td>1</td><td>0</td><td>0</td><td>0</td><td>2.0</td></tr>"
        ),
        "{html}"
    );
    assert!(html.contains("Data-subject requests by kind"), "{html}");
    assert!(html.contains("<h2>Fairness per campaign</h2>"), "{html}");
    assert!(
        html.contains(
            "<td>0.500</td><td class=\"flag\">flagged</td><td>held until acknowledged</td>"
        ),
        "{html}"
    );
}

#[test]
fn serve_records_the_policy_once_per_version() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let server = crate::support::Server::start(dir.path(), &[]);
        drop(server);
    }
    let policy_changes: i64 = db(dir.path())
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'policy_changed' AND actor = 'system'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(policy_changes, 1, "the same policy twice is one change");
    assert!(verify(dir.path(), &[]).0);
}
