//! Commands that print and exit.

use crate::support::{candor, create_key};

#[test]
fn policy_check_prints_the_data_map() {
    let out = candor().args(["policy", "check"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Record of processing"));
    assert!(text.contains("personalization — Personal recommendations"));
    let out = candor()
        .args(["policy", "check", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["purposes"].as_array().unwrap().len() >= 5);
    let out = candor()
        .args(["policy", "check", "--format", "markdown"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("# Record of processing")
    );
}

#[test]
fn policy_check_reports_file_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[purposes]]\nid = \"ads\"\ntext = \"Ads.\"\nlegal_basis = \"contract\"\ncategories = [\"health\", \"shoe_size\"]\n",
    )
    .unwrap();
    let out = candor()
        .args(["policy", "check", "--policy"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let name = file.display().to_string();
    assert!(
        err.contains(&format!(
            "{name}:5:15: purpose `ads` uses the sensitive category `health`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{name}:5:25: purpose `ads` uses unknown data category `shoe_size`"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{name}:1:1: purpose `ads` has no `retention_days`"
        )),
        "{err}"
    );
}

#[test]
fn a_malformed_policy_stops_serve_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[purposes]]\nid = \"a\"\nretention_days = \"soon\"\n",
    )
    .unwrap();
    let out = candor()
        .args(["serve", "--bind", "127.0.0.1:0", "--policy"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.toml:3:"), "{err}");
}

#[test]
fn keys_create_prints_the_key_alone_on_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = create_key(dir.path(), "admin");
    assert!(key.starts_with("cnd_") && !key.contains(' '), "{key}");
    let out = candor()
        .args(["keys", "create", "--scope", "root", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("not a scope")
    );
}

#[test]
fn the_secret_is_generated_private() {
    let dir = tempfile::tempdir().unwrap();
    create_key(dir.path(), "admin");
    // Opening the store makes it (its data keys are unlocked with it); a server keeps it.
    let server = crate::support::Server::start(dir.path(), &[]);
    drop(server);
    let meta = std::fs::metadata(dir.path().join("secret.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    assert!(meta.len() >= 32);
}

#[test]
fn import_events_through_the_gate_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.jsonl");
    std::fs::write(
        &catalog,
        "{\"id\": \"sku-1\", \"title\": \"Shoe\", \"categories\": [\"Running\"]}\n{\"id\": \"sku-2\", \"title\": \"Mat\", \"categories\": [\"Yoga\"]}\n",
    )
    .unwrap();
    let out = candor()
        .args(["import", "catalog"])
        .arg(&catalog)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("imported 2 catalog items")
    );

    let events = dir.path().join("events.csv");
    std::fs::write(
        &events,
        "type,event,userId,messageId,timestamp,product_id,price\n\
         track,Product Viewed,u1,m1,2026-11-20T10:00:00Z,sku-1,10.5\n\
         track,Product Viewed,u2,m2,2026-11-20T10:00:00Z,sku-2,\n\
         track,Teleported,u1,m3,2026-11-20T10:00:00Z,,\n\
         track,Product Viewed,,m4,2026-11-20T10:00:00Z,sku-1,\n",
    )
    .unwrap();
    let run = || {
        let out = candor()
            .args(["import", "events", "--format", "csv"])
            .arg(&events)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // Nobody consented: nothing is stored, every event is accounted for.
    let first = run();
    assert!(first.contains("accepted: 0"), "{first}");
    assert!(first.contains("dropped (no_consent): 2"), "{first}");
    assert!(first.contains("dropped (unknown_event_type): 1"), "{first}");
    assert!(first.contains("invalid (missing_subject_id): 1"), "{first}");
}

#[test]
fn import_movielens_grants_and_is_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let movies = dir.path().join("movies.csv");
    let ratings = dir.path().join("ratings.csv");
    std::fs::write(&movies, "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n2,Heat (1995),Action|Crime\n").unwrap();
    std::fs::write(&ratings, "userId,movieId,rating,timestamp\n1,1,4.0,1000000000\n1,2,3.5,1000000100\n2,1,5.0,1000000200\n").unwrap();
    let run = || {
        let out = candor()
            .args([
                "import",
                "movielens",
                "--grant",
                "personalization",
                "--shift-to-now",
                "--ratings",
            ])
            .arg(&ratings)
            .arg("--movies")
            .arg(&movies)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("catalog: 2 movies"), "{first}");
    assert!(first.contains("accepted: 3"), "{first}");
    // Re-running (as after a failure) stores nothing twice.
    let second = run();
    assert!(second.contains("dropped (duplicate): 3"), "{second}");
    let out = candor()
        .args(["retention", "run", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("subjects checked:                  2"),
        "{text}"
    );
    assert!(
        text.contains("exposures past their retention:    0 deleted"),
        "{text}"
    );
}

fn run_ok(args: &[&str], dir: &std::path::Path) -> String {
    let out = candor()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn key_id(key: &str) -> &str {
    key.split('_').nth(2).unwrap()
}

/// `candor keys revoke` while a server runs: the server refuses the key within five seconds
/// (its key cache lives four), and the list, the rotation and the audit log agree.
#[tokio::test(flavor = "multi_thread")]
async fn keys_are_listed_revoked_and_rotated_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let decide = create_key(dir.path(), "decide");
    assert!(decide.starts_with("cnd_sk_"), "{decide}");
    let server = crate::support::Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    let status = |key: String| {
        let (http, url) = (http.clone(), server.url("/v1/subjects/cli-user/consents"));
        async move {
            http.get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(decide.clone()).await, 200);
    let revoked = std::time::Instant::now();
    let out = run_ok(&["keys", "revoke", key_id(&decide)], dir.path());
    assert!(out.contains("revoked"), "{out}");
    let deadline = std::time::Duration::from_secs(5);
    loop {
        if status(decide.clone()).await == 401 {
            break;
        }
        assert!(
            revoked.elapsed() < deadline,
            "the server still accepts a key revoked {:?} ago",
            revoked.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let list = run_ok(&["keys", "list"], dir.path());
    let line = list
        .lines()
        .find(|l| l.starts_with(key_id(&decide)))
        .unwrap();
    assert!(
        line.contains("revoked") && line.contains("server"),
        "{line}"
    );
    assert!(
        !list.contains(decide.rsplit('_').next().unwrap()),
        "no secret is listed"
    );

    // Rotation: a new key with the same scope, printed alone on the last line.
    let old = create_key(dir.path(), "decide");
    let out = run_ok(
        &["keys", "rotate", key_id(&old), "--grace", "0"],
        dir.path(),
    );
    let new = out.lines().last().unwrap().to_owned();
    assert!(new.starts_with("cnd_sk_") && new != old, "{out}");
    let mut refused = false;
    for _ in 0..30 {
        if status(old.clone()).await == 401 {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(refused, "a key rotated with no grace stops working");
    assert_eq!(status(new).await, 200);

    // A publishable key needs an origin, and goes into pages with its own prefix.
    let out = candor()
        .args(["keys", "create", "--scope", "publishable", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("origin"));
    let out = run_ok(
        &[
            "keys",
            "create",
            "--scope",
            "publishable",
            "--origin",
            "https://shop.example",
        ],
        dir.path(),
    );
    assert!(out.lines().last().unwrap().starts_with("cnd_pk_"), "{out}");
    let out = run_ok(&["keys", "rotate-signing"], dir.path());
    assert!(out.contains("signs from now on"), "{out}");
    drop(server);
    let out = run_ok(&["audit", "verify"], dir.path());
    assert!(!out.is_empty());
}
