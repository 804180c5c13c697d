//! Webhooks over HTTPS: a receiver on a local port with a certificate from a CA made here,
//! trusted through `[campaigns] webhook_ca_file` — and refused without it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use candor_app::campaigns::outbox;
use candor_domain::time::Timestamp;
use candor_segments::verify_webhook;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::{Value, json};

use crate::campaigns::{
    Seen, WEBHOOK_SECRET, campaign, k1, run, runner, segment, store, webhook_router,
};
use crate::support::{NOW, TestApp, off_runtime};

/// A test CA and a certificate it signed for `localhost` and 127.0.0.1.
struct Pki {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "Candor webhook test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().clone(),
        server_chain: vec![server.der().clone()],
        server_key: PrivatePkcs8KeyDer::from(server_key.serialize_der()).into(),
    }
}

/// Accepts TCP connections and completes each TLS handshake before handing it to axum. A
/// client that refuses the certificate fails its handshake, and the next one is awaited.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// An HTTPS webhook on a local port that accepts every delivery: its URL (by the name
/// `localhost`, which its certificate lists) and what it saw.
async fn https_webhook(pki: &Pki) -> (String, Arc<Mutex<Seen>>) {
    // rustls deprecates *ring* for lacking post-quantum key exchange; Candor uses it to
    // avoid a cmake build (see the workspace's Cargo.toml).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    };
    let (app, seen) = webhook_router(0);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("https://localhost:{port}/hook"), seen)
}

/// An app whose webhook is `url`, trusting `ca_file` when given, with one queued delivery to
/// ann's address; returns the run's id too.
async fn app_with_delivery(url: &str, ca_file: Option<&std::path::Path>) -> (TestApp, String) {
    let ca = ca_file
        .map(|p| format!("webhook_ca_file = \"{}\"\n", p.display()))
        .unwrap_or_default();
    let app = TestApp::with_config_text(
        k1(),
        &format!(
            "[campaigns]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"\nretry_ms_base = 1000\n{ca}"
        ),
    );
    runner(&app, "ann", 3).await;
    let r = app
        .call(
            "POST",
            "/v1/identify",
            Some(&app.ingest),
            Some(json!({"userId": "ann", "messageId": "id-1", "traits": {"email": "ann@example.com"}})),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.body);
    segment(&app, "active", "views(30d) >= 2").await;
    campaign(&app, json!({"id": "c", "segment": "active"})).await;
    let r = run(&app, "c", false).await;
    let run_id = r.body["run_id"].as_str().unwrap().to_owned();
    (app, run_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_webhook_behind_a_private_ca_gets_signed_deliveries() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("webhook-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let (url, seen) = https_webhook(&pki).await;
    let (app, run_id) = app_with_delivery(&url, Some(&ca_file)).await;
    let settings = &app.state.config.campaigns;
    assert_eq!(settings.webhook_ca, vec![pki.ca_der.clone()]);
    let client = outbox::client(settings).unwrap();

    let at = Timestamp::from_millis(NOW);
    let pass = outbox::run_once(store(&app), settings, &client, at)
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.delivered), (1, 1), "{pass:?}");

    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    assert_eq!(d.delivered_at, Some(at));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests.len(), 1);
    let (headers, body) = &seen.requests[0];
    assert_eq!(headers["idempotency-key"], d.idempotency_key.as_str());
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        sent["to"], "ann@example.com",
        "the address travels encrypted"
    );
    let sig = headers["candor-signature"].to_str().unwrap();
    let (t, v1) = sig.split_once(",v1=").unwrap();
    let t: i64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    assert_eq!(t, NOW / 1000);
    verify_webhook(WEBHOOK_SECRET.as_bytes(), t, body.as_bytes(), v1, t, 300).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_the_delivery_and_it_is_retried() {
    let pki = pki();
    let (url, seen) = https_webhook(&pki).await;
    let (app, run_id) = app_with_delivery(&url, None).await;
    let settings = &app.state.config.campaigns;
    assert!(settings.webhook_ca.is_empty());
    let client = outbox::client(settings).unwrap();
    let at = |ms: i64| Timestamp::from_millis(NOW + ms);

    let pass = outbox::run_once(store(&app), settings, &client, at(0))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.failed), (1, 1), "{pass:?}");
    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    let error = d.last_error.as_deref().unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(error.contains("https://localhost:"), "{error}");
    assert!(!error.contains("ann@example.com"), "{error}");
    assert_eq!((d.delivered_at, d.attempts), (None, 1));
    assert!(seen.lock().unwrap().requests.is_empty(), "nothing was sent");

    // Backing off, then retried, and refused again.
    let pass = outbox::run_once(store(&app), settings, &client, at(999))
        .await
        .unwrap();
    assert_eq!(pass.claimed, 0);
    let pass = outbox::run_once(store(&app), settings, &client, at(1_000))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.failed), (1, 1), "{pass:?}");

    // Once the receiver's CA is trusted, the queued delivery goes out whole.
    let mut trusting = settings.clone();
    trusting.webhook_ca = vec![pki.ca_der.clone()];
    let client = outbox::client(&trusting).unwrap();
    let pass = outbox::run_once(store(&app), &trusting, &client, at(3_000))
        .await
        .unwrap();
    assert_eq!((pass.claimed, pass.delivered), (1, 1), "{pass:?}");
    let d = &off_runtime(|| store(&app).run_deliveries(&run_id).unwrap())[0];
    assert_eq!((d.delivered_at, d.attempts), (Some(at(3_000)), 3));
    assert_eq!(seen.lock().unwrap().requests.len(), 1);
}
