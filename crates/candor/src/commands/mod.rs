//! Subcommands. Each is a plain function from parsed arguments to an exit code.

mod analytics_report;
mod audit;
mod campaigns;
mod demo;
mod eval;
mod experiments;
mod fairness;
mod import;
mod keys;
mod policy;
mod report;
mod retention;
mod rights;
mod serve;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use candor_app::config::{Config, Overrides};
use candor_domain::policy::{DEFAULT_POLICY_TOML, Policy};
use candor_store::Store;
use candor_store::sqlite::SqliteStore;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "candor",
    version,
    about = "A personalization engine whose privacy rules hold by construction"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API.
    Serve(serve::ServeArgs),
    /// Run a generated demo shop on 127.0.0.1:8080 with embedded storage.
    Demo(demo::DemoArgs),
    /// Work with the privacy policy.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Bulk imports through the consent gate.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Data retention.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Evaluate a model offline on a train/test split (MovieLens CSV layout).
    Eval(eval::EvalArgs),
    /// Subject tokens for the data-subject rights endpoints.
    #[command(subcommand)]
    SubjectToken(rights::SubjectTokenCommand),
    /// Data-subject requests.
    #[command(subcommand)]
    Dsr(rights::DsrCommand),
    /// The tamper-evident audit log: verify it, print its head.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Fairness audits of recommendation slots and campaigns.
    #[command(subcommand)]
    Fairness(fairness::FairnessCommand),
    /// Write a self-contained HTML report: consent, drops, fairness, audit chain.
    Report(report::ReportArgs),
    /// Segments and campaigns: audience runs.
    #[command(subcommand)]
    Campaigns(campaigns::CampaignsCommand),
    /// Experiments: list them, print a report.
    #[command(subcommand)]
    Experiments(experiments::ExperimentsCommand),
}

/// Where the policy and the data live; shared by every command that opens the store.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The data directory of the embedded store.
    #[arg(long, env = "CANDOR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The policy and configuration file (`candor.toml`); the built-in default when absent.
    #[arg(long, env = "CANDOR_POLICY")]
    pub policy: Option<PathBuf>,
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CANDOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Import(cmd) => import::run(cmd),
        Command::Retention(cmd) => retention::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::SubjectToken(cmd) => rights::run_token(cmd),
        Command::Dsr(cmd) => rights::run_dsr(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Fairness(cmd) => fairness::run(cmd),
        Command::Report(args) => report::run(args),
        Command::Campaigns(cmd) => campaigns::run(cmd),
        Command::Experiments(cmd) => experiments::run(cmd),
    }
}

/// The policy file's text: the given file, or the built-in default.
pub fn policy_text(path: Option<&Path>) -> anyhow::Result<String> {
    match path {
        None => Ok(DEFAULT_POLICY_TOML.to_owned()),
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("failed to read the policy file {}", p.display())),
    }
}

/// Everything a command needs to work on a deployment.
pub struct Loaded {
    pub policy: Policy,
    pub config: Config,
    pub store: Arc<dyn Store>,
}

/// Reads the policy and settings and opens the store. A malformed policy stops here with its
/// file, line and reason.
pub fn load(common: &Common, overrides: Overrides) -> anyhow::Result<Loaded> {
    let text = policy_text(common.policy.as_deref())?;
    let name = common
        .policy
        .as_deref()
        .map_or_else(|| "built-in policy".to_owned(), |p| p.display().to_string());
    let policy = Policy::parse(&text).map_err(|errors| {
        let lines: Vec<String> = errors.0.iter().map(|i| format!("{name}:{i}")).collect();
        anyhow::anyhow!("the policy is invalid:\n{}", lines.join("\n"))
    })?;
    // The environment's storage URL and secret apply to every command, not only `serve`:
    // keys, imports and retention runs must open the same store the servers use.
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    let config = Config::resolve(
        &text,
        Overrides {
            data_dir: common.data_dir.clone(),
            storage_url: overrides.storage_url.or_else(|| env("CANDOR_STORAGE_URL")),
            secret: overrides.secret.or_else(|| env("CANDOR_SECRET")),
            ..overrides
        },
    )
    .map_err(|e| anyhow::anyhow!("{name}: invalid settings: {e}"))?;
    let store = open_store(&config)?;
    Ok(Loaded {
        policy,
        config,
        store,
    })
}

/// Opens the store the settings name and unlocks its data keys with the server secret.
pub fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = open_backend(config)?;
    unlock_data_keys(store.as_ref(), config)?;
    Ok(store)
}

/// Hands the store the root its data keys are wrapped under (derived from the server secret,
/// which the store never holds). A store some earlier Candor wrote keys into in the clear has
/// them wrapped now; a rotation a crash interrupted is finished now.
fn unlock_data_keys(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let secret =
        candor_app::secret::load_or_create(config).context("failed to load the server secret")?;
    let root = candor_store::KekRoot::from_server_secret(secret.as_bytes());
    let n = store
        .unlock_data_keys(root, candor_app::Clock::System.now())
        .context("failed to unlock the data keys")?;
    if n > 0 {
        tracing::info!(n, "wrapped data keys under the current key-encryption key");
    }
    Ok(())
}

fn open_backend(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &config.storage_url {
        // Only the part after the credentials is ever shown: the URL may hold a password.
        let shown = url.split('@').next_back().unwrap_or("");
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = candor_store::postgres::PostgresStore::connect(url, None)
                .with_context(|| format!("failed to open the PostgreSQL store at {shown}"))?;
            return Ok(Arc::new(store));
        }
        anyhow::bail!(
            "storage url `{shown}` is not supported; use a postgres:// url, or leave it unset to use the embedded store"
        );
    }
    let store = SqliteStore::open(&config.data_dir).with_context(|| {
        format!(
            "failed to open the data directory {}",
            config.data_dir.display()
        )
    })?;
    Ok(Arc::new(store))
}
