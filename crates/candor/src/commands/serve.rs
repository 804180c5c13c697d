//! `candor serve`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candor_app::Clock;
use candor_app::config::Overrides;
use candor_server::AppState;
use clap::Args;

use super::{Common, Loaded};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CANDOR_BIND")]
    pub bind: Option<String>,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub common: Common,
}

/// HTTPS: `serve` and `demo` answer TLS themselves when given a certificate and its key.
#[derive(Debug, Clone, Default, Args)]
pub struct TlsArgs {
    /// PEM certificate chain to serve HTTPS with (with --tls-key).
    #[arg(long, env = "CANDOR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of that certificate.
    #[arg(long, env = "CANDOR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// `overrides` with these files.
    pub fn apply(self, overrides: Overrides) -> Overrides {
        Overrides {
            tls_cert: self.tls_cert,
            tls_key: self.tls_key,
            ..overrides
        }
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let loaded = super::load(&args.common, args.tls.apply(overrides(args.bind)))?;
    runtime()?.block_on(serve(loaded, None, |_| candor_web::WebConfig::default()))?;
    Ok(ExitCode::SUCCESS)
}

/// Settings from the command line; the environment's are applied by `load` for every command.
pub fn overrides(bind: Option<String>) -> Overrides {
    Overrides {
        bind,
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
pub async fn serve(
    loaded: Loaded,
    banner: Option<String>,
    web: impl FnOnce(&AppState) -> candor_web::WebConfig,
) -> anyhow::Result<()> {
    let Loaded {
        policy,
        config,
        store,
    } = loaded;
    // Limits and TLS files are read before anything else: a bad certificate stops here.
    let options = candor_server::listen::Options::from_config(&config)
        .context("failed to load the TLS certificate and key")?;
    let secret =
        candor_app::secret::load_or_create(&config).context("failed to load the server secret")?;
    // Erasures a crash interrupted are finished before anything else is served.
    // On a blocking thread: store calls never run on the async runtime.
    let resumed = {
        let (store, secret) = (store.clone(), secret.clone());
        tokio::task::spawn_blocking(move || {
            candor_app::erasure::resume_pending(
                store.as_ref(),
                secret.as_bytes(),
                Clock::System.now(),
            )
        })
        .await
        .context("the erasure task failed")?
        .context("failed to finish interrupted erasures")?
    };
    if resumed > 0 {
        tracing::info!(resumed, "finished interrupted erasures");
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("failed to listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(store, policy, secret, config, Clock::System);
    // Before announcing readiness: a policy that differs from the last one in the audit log
    // is recorded as a change.
    let s = state.clone();
    let recorded = tokio::task::spawn_blocking(move || {
        candor_app::audit::record_policy_if_changed(
            s.store.as_ref(),
            &s.policy,
            candor_app::audit::Actor::System,
            s.now(),
        )
    })
    .await
    .context("the policy audit task failed")?
    .context("failed to record the policy in the audit log")?;
    if recorded {
        tracing::info!(policy_version = %state.policy.version, "policy change recorded in the audit log");
    }
    tracing::info!(%addr, policy_version = %state.policy.version, "candor listening");
    println!("candor listening on {}://{addr}", options.scheme());
    if let Some(b) = banner {
        println!("{b}");
    }
    tokio::spawn(retention_loop(state.clone()));
    tokio::spawn(candor_app::recommend::model_loop(state.app.clone()));
    tokio::spawn(candor_app::recommend::exposure_loop(state.app.clone()));
    tokio::spawn(candor_app::campaigns::outbox::outbox_loop(
        state.app.clone(),
    ));
    let app = candor_server::router(state.clone()).merge(candor_web::router(web(&state)));
    candor_server::serve_app(listener, app, options, shutdown_signal())
        .await
        .context("server failed")?;
    // What was shown in the last second before the stop is still written.
    let last = state.app.clone();
    if let Ok(Err(e)) =
        tokio::task::spawn_blocking(move || candor_app::recommend::flush_exposures(&last)).await
    {
        tracing::warn!(error = %e, "exposures lost at shutdown");
    }
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
            candor_app::jobs::retention_run_once(
                s.store.as_ref(),
                &s.policy,
                s.config.profiles.half_life_days,
                s.now(),
            )
        })
        .await;
        match pass {
            Ok(Ok(r))
                if r.expired_deleted
                    + r.profiles_rebuilt
                    + r.unconsented_deleted
                    + r.narrowed
                    + r.exposures_deleted
                    + r.releases_pruned
                    > 0 =>
            {
                tracing::info!(
                    expired = r.expired_deleted,
                    profiles_rebuilt = r.profiles_rebuilt,
                    unconsented = r.unconsented_deleted,
                    narrowed = r.narrowed,
                    exposures = r.exposures_deleted,
                    releases = r.releases_pruned,
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
