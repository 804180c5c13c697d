//! `candor serve`.

use std::process::ExitCode;

use anyhow::Context;
use candor_server::config::Overrides;
use candor_server::state::{AppState, Clock};
use clap::Args;

use super::{Common, Loaded};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CANDOR_BIND")]
    pub bind: Option<String>,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.common, overrides(args.bind))?;
    runtime()?.block_on(serve(loaded, None))?;
    Ok(ExitCode::SUCCESS)
}

pub fn overrides(bind: Option<String>) -> Overrides {
    Overrides {
        bind,
        storage_url: std::env::var("CANDOR_STORAGE_URL")
            .ok()
            .filter(|s| !s.is_empty()),
        secret: std::env::var("CANDOR_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
        ..Overrides::default()
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the async runtime")
}

/// Binds and serves until Ctrl-C or SIGTERM. `banner` is printed once listening.
pub async fn serve(loaded: Loaded, banner: Option<String>) -> anyhow::Result<()> {
    let Loaded {
        policy,
        config,
        store,
    } = loaded;
    let secret = candor_server::secret::load_or_create(&config)
        .context("failed to load the server secret")?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("failed to listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, policy_version = %policy.version, "candor listening");
    println!("candor listening on http://{addr}");
    if let Some(b) = banner {
        println!("{b}");
    }
    let state = AppState::new(store, policy, secret, config, Clock::System);
    tokio::spawn(retention_loop(state.clone()));
    tokio::spawn(candor_server::campaigns::outbox::outbox_loop(state.clone()));
    candor_server::serve(listener, state, shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("candor stopped");
    Ok(())
}

/// Runs the retention job on a timer for as long as the server runs. A failed pass is logged
/// and retried on the next tick; it never stops the server.
async fn retention_loop(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(
        state.config.retention_interval_seconds,
    ));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        let pass = tokio::task::spawn_blocking(move || {
            candor_server::jobs::retention_run_once(
                s.store.as_ref(),
                &s.policy,
                s.config.profiles.half_life_days,
                s.now(),
            )
        })
        .await;
        match pass {
            Ok(Ok(r)) if r.expired_deleted + r.unconsented_deleted + r.narrowed > 0 => {
                tracing::info!(
                    expired = r.expired_deleted,
                    unconsented = r.unconsented_deleted,
                    narrowed = r.narrowed,
                    "retention pass"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "retention pass failed"),
            Err(e) => tracing::error!(error = %e, "retention task panicked"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
