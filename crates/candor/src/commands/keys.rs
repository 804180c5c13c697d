//! `candor keys create`.

use std::process::ExitCode;

use candor_server::audit::{self, Actor, AuditAction, AuditEvent, AuditTarget};
use candor_server::auth::{NewKey, create_key};
use candor_server::config::Overrides;
use candor_server::state::Clock;
use candor_store::Scope;
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key; the key is printed alone on the last line and never shown again.
    Create {
        /// ingest, decide or admin; repeat for several.
        #[arg(long = "scope", required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// A browser origin allowed to use the key (ingest keys in web pages); repeatable.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// A note on what the key is for.
        #[arg(long, default_value = "")]
        label: String,
        #[command(flatten)]
        common: Common,
    },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| format!("`{s}` is not a scope; expected ingest, decide or admin"))
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let KeysCommand::Create {
        scopes,
        origins,
        label,
        common,
    } = cmd;
    let loaded = super::load(&common, Overrides::default())?;
    let (record, key) = create_key(
        loaded.store.as_ref(),
        NewKey {
            scopes,
            allowed_origins: origins,
            label,
        },
        Clock::System.now(),
    )?;
    let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
    audit::record(
        loaded.store.as_ref(),
        AuditEvent::new(
            Actor::Cli,
            AuditAction::KeyCreated,
            AuditTarget::ApiKey(record.id.clone()),
        )
        .detail("scopes", scopes.join(",")),
        Clock::System.now(),
    )?;
    println!(
        "created key {} with scope {}; store it now, it is not shown again:",
        record.id,
        scopes.join(",")
    );
    println!("{key}");
    Ok(ExitCode::SUCCESS)
}
