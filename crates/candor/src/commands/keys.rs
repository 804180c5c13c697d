//! `candor keys create|list|revoke|rotate|rotate-signing|rotate-kek`.

use std::process::ExitCode;

use anyhow::Context;
use candor_app::Clock;
use candor_app::api_key::{NewKey, ROTATION_GRACE_SECONDS_DEFAULT};
use candor_app::audit::Actor;
use candor_app::config::Overrides;
use candor_store::{ApiKeyRecord, Scope};
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; the key is printed alone on the last line and never shown again.
    ///
    /// Server keys (ingest, decide, sessions, admin) belong on a shop's backend. A
    /// publishable key (`--scope publishable`, with at least one `--origin`) goes into web
    /// pages and can only start visitor sessions.
    Create {
        /// ingest, decide, sessions, admin, or publishable alone; repeat for several.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// A browser origin allowed to use the key, such as https://shop.example; repeatable.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// A note on what the key is for.
        #[arg(long, default_value = "")]
        label: String,
        /// Seconds until the key stops working (default: it never expires).
        #[arg(long = "expires-in")]
        expires_in: Option<u64>,
        #[command(flatten)]
        common: Common,
    },
    /// List every key with its kind, scopes and status; never a secret.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a key by its id (the 16 hex digits after `cnd_sk_` or `cnd_pk_`); every
    /// instance refuses it within five seconds.
    Revoke {
        id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Replace a key with a new one of the same scopes and origins; the old key keeps working
    /// for the grace period. The new key is printed alone on the last line.
    Rotate {
        id: String,
        /// Seconds the old key keeps working (0 revokes it now).
        #[arg(long = "grace", default_value_t = ROTATION_GRACE_SECONDS_DEFAULT)]
        grace_seconds: u64,
        #[command(flatten)]
        common: Common,
    },
    /// Rotate the keys that sign visitor and subject tokens; tokens signed before stay valid
    /// until they expire.
    RotateSigning {
        #[command(flatten)]
        common: Common,
    },
    /// Rotate the key-encryption key: a new one wraps every person's data key, and every
    /// stored data key is re-wrapped under it, in batches. If interrupted, the next command
    /// or start finishes the re-wrapping before anything else; `--resume` does only that.
    RotateKek {
        /// Finish an interrupted rotation without making a new key.
        #[arg(long)]
        resume: bool,
        #[command(flatten)]
        common: Common,
    },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| {
        format!("`{s}` is not a scope; expected ingest, decide, sessions, admin or publishable")
    })
}

fn describe(record: &ApiKeyRecord, now: candor_domain::time::Timestamp) -> String {
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    let mut line = format!(
        "{}  {:<11}  {:<8}  {}",
        record.id,
        candor_app::keys::kind(record),
        candor_app::keys::status(record, now),
        scopes.join(",")
    );
    if !record.allowed_origins.is_empty() {
        line.push_str(&format!("  origins={}", record.allowed_origins.join(",")));
    }
    if let Some(e) = record.expires_at {
        line.push_str(&format!("  expires={}", e.to_rfc3339()));
    }
    if let Some(r) = record.revoked_at {
        line.push_str(&format!("  revoked={}", r.to_rfc3339()));
    }
    if !record.label.is_empty() {
        line.push_str(&format!("  label={:?}", record.label));
    }
    line
}

fn seconds_ms(seconds: u64) -> anyhow::Result<i64> {
    i64::try_from(seconds)
        .ok()
        .and_then(|s| s.checked_mul(1_000))
        .context("the number of seconds is too large")
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let now = Clock::System.now();
    match cmd {
        KeysCommand::Create {
            scopes,
            origins,
            label,
            expires_in,
            common,
        } => {
            let loaded = super::load(&common, Overrides::default())?;
            let expires_at = match expires_in {
                None => None,
                Some(s) => Some(now.plus_millis(seconds_ms(s)?)),
            };
            let new = NewKey {
                scopes,
                allowed_origins: origins,
                label,
                expires_at,
            };
            let (record, key) =
                candor_app::keys::create(loaded.store.as_ref(), new, Actor::Cli, now)?;
            let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
            println!(
                "created {} key {} with scope {}; store it now, it is not shown again:",
                candor_app::keys::kind(&record),
                record.id,
                scopes.join(",")
            );
            println!("{key}");
        }
        KeysCommand::List { common } => {
            let loaded = super::load(&common, Overrides::default())?;
            let keys = loaded.store.api_keys()?;
            if keys.is_empty() {
                println!("no keys; create one with `candor keys create --scope SCOPE`");
            }
            for k in &keys {
                println!("{}", describe(k, now));
            }
        }
        KeysCommand::Revoke { id, common } => {
            let loaded = super::load(&common, Overrides::default())?;
            let record = candor_app::keys::revoke(loaded.store.as_ref(), &id, Actor::Cli, now)
                .map_err(|e| match e {
                    candor_store::StoreError::NotFound => anyhow::anyhow!("no key with id {id}"),
                    e => e.into(),
                })?;
            println!("revoked: {}", describe(&record, now));
        }
        KeysCommand::Rotate {
            id,
            grace_seconds,
            common,
        } => {
            let loaded = super::load(&common, Overrides::default())?;
            let (record, key, old) = candor_app::keys::rotate(
                loaded.store.as_ref(),
                &id,
                seconds_ms(grace_seconds)?,
                Actor::Cli,
                now,
            )
            .map_err(|e| match e {
                candor_app::api_key::KeyError::Store(candor_store::StoreError::NotFound) => {
                    anyhow::anyhow!("no key with id {id}")
                }
                e => e.into(),
            })?;
            println!("old key: {}", describe(&old, now));
            println!(
                "new key {}; store it now, it is not shown again:",
                record.id
            );
            println!("{key}");
        }
        KeysCommand::RotateSigning { common } => {
            let loaded = super::load(&common, Overrides::default())?;
            let secret = candor_app::secret::load_or_create(&loaded.config)
                .context("failed to load the server secret")?;
            let id = candor_app::keys::rotate_token_keys(
                loaded.store.as_ref(),
                secret.as_bytes(),
                &loaded.config.subject_rights,
                Actor::Cli,
                now,
            )?;
            println!(
                "token signing key {id} signs from now on; tokens signed before stay valid until they expire"
            );
        }
        KeysCommand::RotateKek { resume, common } => {
            // Opening the store already re-wrapped whatever an interrupted rotation left.
            let loaded = super::load(&common, Overrides::default())?;
            let store = loaded.store.as_ref();
            if !resume {
                let (id, n) = candor_app::keys::rotate_kek(store, Actor::Cli, now)?;
                println!("key-encryption key {id} is new; re-wrapped {n} data keys under it");
            }
            let status = store.kek_status()?;
            let Some(newest) = status.keks.last() else {
                anyhow::bail!("the store has no key-encryption key");
            };
            anyhow::ensure!(
                status.settled(),
                "some data keys are not under key-encryption key {} yet; run this again",
                newest.id
            );
            println!(
                "key-encryption key {} wraps all {} data keys",
                newest.id, newest.n_data_keys
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
