//! The data directory at rest, after a real `candor serve`: readable by Candor's user only,
//! data keys stored wrapped, and `candor keys rotate-kek` re-wrapping them while contact data
//! stays readable.

use std::path::Path;

use candor_store::prelude::*;
use candor_store::sqlite::SqliteStore;
use serde_json::json;

use crate::support::{Server, candor, create_key};

const SUBJECT: &str = "at-rest-5c1e";
const EMAIL: &str = "at-rest-5c1e@example.org";

fn run(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = candor();
    cmd.args(args).arg("--data-dir").arg(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let out = run(args, dir, &[]);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The email the person's export shows, read through a fresh server.
async fn exported_email(data: &Path) -> serde_json::Value {
    let server = Server::start(data, &[]);
    let token = run_ok(
        &[
            "subject-token",
            "create",
            "--subject",
            SUBJECT,
            "--ttl",
            "600",
        ],
        data,
    );
    let export: serde_json::Value = reqwest::Client::new()
        .get(server.url(&format!("/v1/subjects/{SUBJECT}/export")))
        .bearer_auth(token.lines().last().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(server);
    export["provided"]["contact"]["email"].clone()
}

/// The key-encryption keys of the store in `data`, as (id, data keys wrapped), and how many
/// data keys are in the clear. Read without the secret: the status names no key material.
fn keks(data: &Path) -> (Vec<(i64, u64)>, u64) {
    let status = SqliteStore::open(data).unwrap().kek_status().unwrap();
    let keks = status.keks.iter().map(|k| (k.id, k.n_data_keys)).collect();
    (keks, status.n_unwrapped)
}

#[tokio::test(flavor = "multi_thread")]
async fn data_at_rest_is_private_wrapped_and_its_kek_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let data = &dir.path().join("data");
    let ingest = create_key(data, "ingest");
    let server = Server::start(data, &[]);
    let batch = json!({"batch": [{"type": "identify", "userId": SUBJECT, "messageId": "m-1",
        "traits": {"email": EMAIL}}]});
    let r = reqwest::Client::new()
        .post(server.url("/v1/batch"))
        .bearer_auth(&ingest)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // While the server runs: the directory and every file in it, the database's log and
    // shared memory included, are its user's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(data), 0o700);
        let names: Vec<String> = std::fs::read_dir(data)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for name in ["candor.db", "candor.db-wal", "candor.db-shm", "secret.key"] {
            assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
        }
        for name in &names {
            assert_eq!(mode(&data.join(name)), 0o600, "{name}");
        }
    }
    drop(server);
    assert_eq!(keks(data), (vec![(1, 1)], 0), "one key, wrapped");
    assert_eq!(exported_email(data).await, EMAIL);

    let out = run_ok(&["keys", "rotate-kek"], data);
    assert!(
        out.contains("key-encryption key 2 is new; re-wrapped 1 data keys"),
        "{out}"
    );
    assert!(out.contains("wraps all 1 data keys"), "{out}");
    assert_eq!(keks(data), (vec![(1, 0), (2, 1)], 0));
    assert_eq!(exported_email(data).await, EMAIL, "still readable");
    let out = run_ok(&["keys", "rotate-kek", "--resume"], data);
    assert!(
        out.contains("key-encryption key 2 wraps all 1 data keys"),
        "{out}"
    );
    assert_eq!(keks(data).0.len(), 2, "resuming makes no key");
    let rotated = SqliteStore::open(data)
        .unwrap()
        .audit_last("kek_rotated")
        .unwrap()
        .expect("the rotation is in the audit log");
    assert_eq!(rotated.target.as_str(), "api_key:kek-2");
    run_ok(&["audit", "verify"], data);

    // Another server secret opens nothing: every command refuses to start on it.
    let out = run(
        &["keys", "list"],
        data,
        &[("CANDOR_SECRET", "a different secret of at least 32 bytes")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("does not unwrap"), "{err}");
}
