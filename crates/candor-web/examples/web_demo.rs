//! Serves the web front end together with the API on `127.0.0.1:0`, with a fresh data
//! directory and fresh keys, for trying the pages and for the browser tests
//! (`tests/browser/run.sh`).
//!
//! Prints `listening on http://ADDR`, then one `KIND KEY` line per key (admin, ingest,
//! decide), then serves until interrupted or stopped.
//!
//!     cargo run -p candor-web --example web_demo

use std::io::Write;
use std::sync::Arc;

use candor_domain::policy::Policy;
use candor_server::auth::{NewKey, create_key};
use candor_server::config::{Config, Overrides};
use candor_server::{AppState, Clock};
use candor_store::Scope;
use candor_store::sqlite::SqliteStore;
use candor_web::{DemoKeys, WebConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path())?);
    let mut config = Config::resolve("", Overrides::default())?;
    config.data_dir = dir.path().to_owned();
    let now = Clock::System.now();
    let key = |scope| -> Result<String, Box<dyn std::error::Error>> {
        let new = NewKey {
            scopes: vec![scope],
            allowed_origins: vec![],
            label: format!("web demo {}", scope.as_str()),
        };
        Ok(create_key(store.as_ref(), new, now)?.1)
    };
    let keys = DemoKeys {
        admin: key(Scope::Admin)?,
        ingest: key(Scope::Ingest)?,
        decide: key(Scope::Decide)?,
    };
    // Created in the throwaway data directory, so each run pseudonymizes ids afresh.
    let secret = candor_server::secret::load_or_create(&config)?;
    let state = AppState::new(
        store,
        Policy::default_policy(),
        secret,
        config,
        Clock::System,
    );
    let printed = format!(
        "admin {}\ningest {}\ndecide {}",
        keys.admin, keys.ingest, keys.decide
    );
    let app =
        candor_server::router(state).merge(candor_web::router(WebConfig { demo: Some(keys) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{addr}")?;
        writeln!(out, "{printed}")?;
        out.flush()?;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // The test runner stops the demo by signal; Ctrl-C does the same by hand.
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    drop(dir);
    Ok(())
}
