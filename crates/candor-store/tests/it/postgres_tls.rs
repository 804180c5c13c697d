//! TLS to PostgreSQL: what each `sslmode` does against a real server.
//!
//! The server comes from `CANDOR_TEST_POSTGRES_URL` and must have TLS on. Checking a
//! certificate needs its CA: `CANDOR_TEST_POSTGRES_CA`, a PEM file whose CA signed the
//! server's certificate for `localhost`. `scripts/test.sh` makes both and sets both.

use candor_store::StoreError;
use candor_store::postgres::{PostgresStore, connect_client};

const URL_VAR: &str = "CANDOR_TEST_POSTGRES_URL";
const CA_VAR: &str = "CANDOR_TEST_POSTGRES_CA";

/// The test server, which must offer TLS.
struct Server {
    /// As configured, without TLS parameters.
    url: String,
    /// The same server as `key=value` settings naming it `host`, reached at the configured
    /// address (so a certificate for `localhost` fits when the address is 127.0.0.1).
    named: Box<dyn Fn(&str) -> String>,
}

fn server() -> Option<Server> {
    let Ok(url) = std::env::var(URL_VAR) else {
        println!("{URL_VAR} is unset; skipping the PostgreSQL TLS tests (scripts/test.sh sets it)");
        return None;
    };
    let mut plain = connect_client(&with(&url, "sslmode=disable"))
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but PostgreSQL cannot be reached there: {e}"));
    let ssl: String = plain.query_one("SHOW ssl", &[]).unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "the test PostgreSQL has TLS off; scripts/test.sh turns it on"
    );
    let config: postgres::Config = url.parse().unwrap();
    let address = match config.get_hosts() {
        [postgres::config::Host::Tcp(h)] if h.parse::<std::net::IpAddr>().is_ok() => {
            format!(" hostaddr={h}")
        }
        _ => String::new(),
    };
    let mut rest = String::new();
    if let Some(port) = config.get_ports().first() {
        rest.push_str(&format!(" port={port}"));
    }
    if let Some(user) = config.get_user() {
        rest.push_str(&format!(" user={user}"));
    }
    if let Some(db) = config.get_dbname() {
        rest.push_str(&format!(" dbname={db}"));
    }
    if let Some(password) = config.get_password() {
        rest.push_str(&format!(
            " password='{}'",
            String::from_utf8_lossy(password)
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
        ));
    }
    Some(Server {
        url,
        named: Box::new(move |host| format!("host={host}{address}{rest}")),
    })
}

/// A storage URL with more parameters, in whichever form it is written.
fn with(url: &str, params: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{}", params.replace(' ', "&"))
    } else {
        format!("{url} {params}")
    }
}

/// The CA that signed the test server's certificate, when the environment names one.
fn ca() -> Option<String> {
    let ca = std::env::var(CA_VAR).ok().filter(|c| !c.is_empty());
    if ca.is_none() {
        println!("{CA_VAR} is unset; skipping checked certificates (scripts/test.sh sets it)");
    }
    ca
}

/// Whether the connection made from `url` is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let mut c = connect_client(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    c.query_one(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .unwrap()
    .get(0)
}

/// The error connecting from `url` fails with.
fn refused(url: &str) -> String {
    match connect_client(url) {
        Ok(_) => panic!("{url}: connected"),
        Err(StoreError::Other(msg)) => msg,
        Err(e) => panic!("{url}: not a configuration error: {e}"),
    }
}

#[test]
fn each_sslmode_encrypts_as_libpq_would() {
    let Some(s) = server() else { return };
    assert!(!encrypted(&with(&s.url, "sslmode=disable")));
    assert!(encrypted(&s.url), "absent means prefer: TLS when offered");
    assert!(encrypted(&with(&s.url, "sslmode=prefer")));
    assert!(encrypted(&with(&s.url, "sslmode=require")));
}

#[test]
fn verify_full_checks_the_chain_and_the_name() {
    let Some(s) = server() else { return };
    // Without the server's CA the certificate leads to no trusted root (neither Mozilla's
    // nor the system's), and the error says what to do.
    let msg = refused(&format!("{} sslmode=verify-full", (s.named)("localhost")));
    assert!(msg.contains("sslmode=verify-full"), "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert!(msg.contains("sslrootcert"), "{msg}");
    let Some(ca) = ca() else { return };
    let checked =
        |host: &str, mode: &str| format!("{} sslmode={mode} sslrootcert={ca}", (s.named)(host));
    assert!(encrypted(&checked("localhost", "verify-full")));
    // The URL form, with the root file's path percent-encoded.
    if s.url.contains("@127.0.0.1:") {
        let url = with(
            &s.url.replacen("@127.0.0.1:", "@localhost:", 1),
            &format!(
                "hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={}",
                ca.replace('/', "%2F")
            ),
        );
        assert!(encrypted(&url), "{url}");
    }
    // A name the certificate does not list: verify-full refuses, verify-ca (chain only)
    // and require with a root file (as libpq: the chain) accept.
    let msg = refused(&checked("candor-test.invalid", "verify-full"));
    assert!(msg.contains("not valid for name"), "{msg}");
    assert!(encrypted(&checked("candor-test.invalid", "verify-ca")));
    assert!(encrypted(&checked("candor-test.invalid", "require")));
}

#[test]
fn the_store_connects_over_tls_and_refuses_an_unchecked_certificate() {
    let Some(s) = server() else { return };
    let schema = format!("candor_test_tls_{}", std::process::id());
    let store = PostgresStore::connect(&with(&s.url, "sslmode=require"), Some(&schema))
        .expect("the store connects with sslmode=require");
    drop(store);
    let mut admin = connect_client(&s.url).unwrap();
    admin
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .unwrap();
    match PostgresStore::connect(
        &format!("{} sslmode=verify-full", (s.named)("localhost")),
        Some(&schema),
    ) {
        Err(StoreError::Other(msg)) => assert!(msg.contains("UnknownIssuer"), "{msg}"),
        Err(e) => panic!("not a configuration error: {e}"),
        Ok(_) => panic!("connected to a server whose certificate has no trusted root"),
    }
}
