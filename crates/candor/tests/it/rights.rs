//! Data-subject rights against a real `candor serve`: erasure leaves no byte of the subject in
//! the data directory, and the CLI issues tokens and verifies receipts.

use std::path::Path;
use std::process::Command;

use candor_domain::{ExternalId, SubjectKey};
use serde_json::json;

use crate::support::{Server, candor, create_key};

const SUBJECT: &str = "erase-me-7f3a9c";
const EMAIL: &str = "erase-me-7f3a9c@example.org";

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The files under `dir` that contain `needle` anywhere.
fn holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    files(dir)
        .into_iter()
        .filter(|f| {
            let bytes = std::fs::read(f).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
        .map(|f| f.display().to_string())
        .collect()
}

/// Ends the server as an operator would (SIGTERM) and waits for it.
fn stop(mut server: Server) {
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    server.child.wait().unwrap();
}

fn subject_token(dir: &Path, subject: &str) -> String {
    let out = candor()
        .args([
            "subject-token",
            "create",
            "--subject",
            subject,
            "--ttl",
            "600",
            "--data-dir",
        ])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(subject));
    text.lines().last().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_leaves_no_byte_of_the_subject_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let admin = create_key(data, "admin");
    let ingest = create_key(data, "ingest");
    let server = Server::start(data, &[]);
    let http = reqwest::Client::new();

    let items =
        json!({"items": [{"id": "sku-1", "title": "Trail shoe", "categories": ["Running"]}]});
    let r = http
        .put(server.url("/v1/items"))
        .bearer_auth(&admin)
        .json(&items)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for user in [SUBJECT, "someone-else"] {
        let grant = json!({"source": "banner", "decisions": [
            {"purpose": "personalization", "decision": "granted"},
            {"purpose": "email_marketing", "decision": "granted"}]});
        let r = http
            .put(server.url(&format!("/v1/subjects/{user}/consents")))
            .bearer_auth(&ingest)
            .json(&grant)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let email = if user == SUBJECT {
            EMAIL.to_owned()
        } else {
            format!("{user}@example.org")
        };
        let batch = json!({"batch": [
            {"type": "identify", "userId": user, "messageId": format!("{user}-i"), "traits": {"email": email}},
            {"type": "track", "event": "Product Viewed", "userId": user, "messageId": format!("{user}-1"),
             "properties": {"product_id": "sku-1"}},
            {"type": "track", "event": "Product Added", "userId": user, "messageId": format!("{user}-2"),
             "properties": {"product_id": "sku-1"}}]});
        let r = http
            .post(server.url("/v1/batch"))
            .bearer_auth(&ingest)
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    // The person reaches their data with a token made offline from the same secret.
    let token = subject_token(data, SUBJECT);
    let export: serde_json::Value = http
        .get(server.url(&format!("/v1/subjects/{SUBJECT}/export")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(export["provided"]["contact"]["email"], EMAIL);
    assert_eq!(export["provided"]["events"].as_array().unwrap().len(), 2);
    assert!(
        !export["inferred"]["interests"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let secret = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let key = SubjectKey::derive(
        secret.trim().as_bytes(),
        &ExternalId::parse(SUBJECT).unwrap(),
    );
    // The scan sees the subject before erasure, so finding nothing afterwards means something.
    assert!(
        !holding(data, key.as_bytes()).is_empty(),
        "the scan must see the stored key"
    );

    let r = http
        .delete(server.url(&format!("/v1/subjects/{SUBJECT}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let receipt: serde_json::Value = r.json().await.unwrap();
    assert_eq!(receipt["receipt"]["deleted"]["events"], 2);
    assert_eq!(receipt["receipt"]["data_key_destroyed"], true);
    stop(server);

    let key_hex = key.to_hex();
    let key_hex_upper = key_hex.to_uppercase();
    for (what, needle) in [
        ("external id", SUBJECT.as_bytes()),
        ("email", EMAIL.as_bytes()),
        ("subject key (raw)", key.as_bytes().as_slice()),
        ("subject key (hex)", key_hex.as_bytes()),
        ("subject key (HEX)", key_hex_upper.as_bytes()),
    ] {
        let found = holding(data, needle);
        assert!(found.is_empty(), "{what} found in {found:?}");
    }
    // The other person's data is all still there.
    let other = SubjectKey::derive(
        secret.trim().as_bytes(),
        &ExternalId::parse("someone-else").unwrap(),
    );
    assert!(!holding(data, other.as_bytes()).is_empty());

    // The receipt verifies offline; a changed one does not.
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, receipt.to_string()).unwrap();
    let out = candor()
        .args(["dsr", "verify-receipt"])
        .arg(&file)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid"));
    let mut changed = receipt.clone();
    changed["receipt"]["deleted"]["events"] = json!(0);
    std::fs::write(&file, changed.to_string()).unwrap();
    let out = candor()
        .args(["dsr", "verify-receipt"])
        .arg(&file)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(&file, "not json").unwrap();
    let out = candor()
        .args(["dsr", "verify-receipt"])
        .arg(&file)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an erasure receipt"));

    // Restarting finds nothing to resume and erasing again returns the original receipt.
    let server = Server::start(data, &[]);
    let again: serde_json::Value = http
        .delete(server.url(&format!("/v1/subjects/{SUBJECT}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, receipt);
    stop(server);
}

#[test]
fn subject_token_create_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = candor()
        .args(["subject-token", "create", "--subject", "", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = candor()
        .args([
            "subject-token",
            "create",
            "--subject",
            "x",
            "--ttl",
            "0",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ttl"));
}

/// A crash between "erasure begun" and "erasure done" is finished by the next `serve`.
#[tokio::test(flavor = "multi_thread")]
async fn serve_finishes_an_erasure_interrupted_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let admin = create_key(data, "admin");
    let ingest = create_key(data, "ingest");
    let server = Server::start(data, &[]);
    let http = reqwest::Client::new();
    let grant = json!({"decisions": [{"purpose": "personalization", "decision": "granted"}]});
    let r = http
        .put(server.url("/v1/subjects/crashy/consents"))
        .bearer_auth(&ingest)
        .json(&grant)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    stop(server);

    // What `begin_erasure` leaves behind when the process dies right after it: the request,
    // in progress, and the intent.
    let secret = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let key = SubjectKey::derive(
        secret.trim().as_bytes(),
        &ExternalId::parse("crashy").unwrap(),
    );
    {
        let db = rusqlite::Connection::open(data.join("candor.db")).unwrap();
        db.execute(
            "INSERT INTO dsr_requests (kind, subject_ref, jurisdiction, received_at, deadline_at, status, detail)
             VALUES ('erasure', ?1, 'gdpr', 1, 2, 'in_progress', '{}')",
            [[5u8; 32].as_slice()],
        )
        .unwrap();
        let id = db.last_insert_rowid();
        db.execute(
            "INSERT INTO erasure_intents (subject_key, request_id, started_at) VALUES (?1, ?2, 1)",
            rusqlite::params![key.as_bytes().as_slice(), id],
        )
        .unwrap();
    }

    let server = Server::start(data, &[]);
    let r = http
        .get(server.url("/v1/subjects/crashy/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "erased on start");
    let log: serde_json::Value = http
        .get(server.url("/v1/dsr"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = &log["items"][0];
    assert_eq!(item["status"], "completed", "{log}");
    assert_eq!(item["detail"]["receipt"]["deleted"]["consents"], 1);
    stop(server);
    assert!(holding(data, key.as_bytes()).is_empty());
}
