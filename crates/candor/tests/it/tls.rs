//! `candor serve --tls-cert --tls-key`: HTTPS with a certificate made at test time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Server, candor};

/// A self-signed certificate for 127.0.0.1 and its key, written as PEM files into `dir`.
fn self_signed(dir: &Path) -> (String, PathBuf, PathBuf) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_pem = made.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert_pem, cert, key)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_speaks_https_with_a_certificate() {
    let (data, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cert_pem, cert, key) = self_signed(certs.path());
    let server = Server::start_with(
        data.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = https.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health: serde_json::Value = r.json().await.unwrap();
    assert_eq!(health["status"], "ok");

    // Plain HTTP to the TLS port fails at once; it does not wait for a timeout.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let url = server.url("/healthz").replacen("https://", "http://", 1);
    let err = plain.get(url).send().await.unwrap_err();
    assert!(!err.is_timeout(), "{err}");

    // A client that does not trust the certificate is refused by its own TLS.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(server.url("/healthz")).send().await.is_err());
}

#[test]
fn the_tls_settings_come_from_the_environment_too() {
    let (data, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_, cert, key) = self_signed(certs.path());
    let server = Server::start(
        data.path(),
        &[
            ("CANDOR_TLS_CERT", cert.to_str().unwrap()),
            ("CANDOR_TLS_KEY", key.to_str().unwrap()),
        ],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
}

#[test]
fn a_bad_certificate_or_key_stops_serve_at_start() {
    let (data, certs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_, cert, key) = self_signed(certs.path());
    let garbage = certs.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = certs.path().join("missing.pem");
    let other = certs.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (_, _, other_key) = self_signed(&other);
    let serve = |args: &[&Path]| {
        let mut cmd = candor();
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data.path());
        for (flag, path) in ["--tls-cert", "--tls-key"].iter().zip(args) {
            cmd.arg(flag).arg(path);
        }
        let out = cmd.output().unwrap();
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    for (args, says) in [
        (vec![&*garbage, &*key], "holds no PEM certificate"),
        (vec![&*cert, &*garbage], "holds no usable PEM private key"),
        (vec![&*missing, &*key], "cannot read"),
        (vec![&*cert, &*cert], "holds no usable PEM private key"),
        // A key that is not the certificate's.
        (vec![&*cert, &*other_key], "cannot be served together"),
        (vec![&*cert], "TLS needs both"),
    ] {
        let stderr = serve(&args);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        if args.len() == 2 {
            assert!(
                stderr.contains("failed to load the TLS certificate and key"),
                "{stderr}"
            );
        }
    }
}
