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
    // keys create does not need the secret; serve creates it. Start and stop a server.
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
