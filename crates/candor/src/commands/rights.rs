//! `candor subject-token create` and `candor dsr verify-receipt`: the offline side of the
//! data-subject rights, using the server secret directly.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candor_app::config::Config;
use candor_app::erasure::SignedReceipt;
use candor_app::{Clock, ServerSecret};
use candor_domain::ExternalId;
use candor_domain::SubjectKey;
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum SubjectTokenCommand {
    /// Issue a token that lets one person reach only their own data; printed alone on the
    /// last line.
    Create {
        /// The shop's id for the person.
        #[arg(long)]
        subject: String,
        /// Lifetime in seconds (default `[subject_rights] token_ttl_seconds`).
        #[arg(long)]
        ttl: Option<u64>,
        /// What the token may do: recommendations, consent, events, privacy (default all);
        /// repeatable.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum DsrCommand {
    /// Check an erasure receipt's signature; exits 0 if this deployment signed it unchanged,
    /// 1 if not.
    VerifyReceipt {
        /// The receipt as returned by `DELETE /v1/subjects/{id}` (`-` for standard input).
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

/// The settings and the server secret, without opening the store.
fn settings(common: &Common) -> anyhow::Result<(Config, ServerSecret)> {
    let text = super::policy_text(common.policy.as_deref())?;
    let config = Config::resolve(
        &text,
        candor_app::config::Overrides {
            data_dir: common.data_dir.clone(),
            ..super::serve::overrides(None)
        },
    )
    .map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
    let secret =
        candor_app::secret::load_or_create(&config).context("failed to load the server secret")?;
    Ok((config, secret))
}

pub fn run_token(cmd: SubjectTokenCommand) -> anyhow::Result<ExitCode> {
    let SubjectTokenCommand::Create {
        subject,
        ttl,
        scopes,
        common,
    } = cmd;
    let loaded = super::load(&common, candor_app::config::Overrides::default())?;
    let secret = candor_app::secret::load_or_create(&loaded.config)
        .context("failed to load the server secret")?;
    let id = ExternalId::parse(&subject).map_err(|e| anyhow::anyhow!("--subject: {e}"))?;
    let key = SubjectKey::derive(secret.as_bytes(), &id);
    let scopes =
        candor_app::subject_token::parse_scopes((!scopes.is_empty()).then_some(scopes.as_slice()))
            .map_err(|e| anyhow::anyhow!("--scope: {e}"))?;
    let now = Clock::System.now();
    let rights = &loaded.config.subject_rights;
    let expires_at = candor_app::subject_token::token_expiry(rights, ttl, now)
        .map_err(|e| anyhow::anyhow!("--ttl: {e}"))?;
    let signing = candor_app::token_keys::signing_key_from_store(
        loaded.store.as_ref(),
        secret.as_bytes(),
        rights,
        now,
    )?;
    let token = candor_app::subject_token::issue(
        &signing,
        secret.as_bytes(),
        &key,
        scopes,
        now,
        expires_at,
    );
    println!("subject token valid until {}:", expires_at.to_rfc3339());
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub fn run_dsr(cmd: DsrCommand) -> anyhow::Result<ExitCode> {
    let DsrCommand::VerifyReceipt { file, common } = cmd;
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("failed to read the receipt from standard input")?;
    } else {
        text = std::fs::read_to_string(&file)
            .with_context(|| format!("failed to read the receipt {}", file.display()))?;
    }
    let receipt: SignedReceipt = serde_json::from_str(&text).context(
        "the file is not an erasure receipt (expected {\"receipt\": ..., \"signature\": ...})",
    )?;
    let (_, secret) = settings(&common)?;
    if candor_app::erasure::verify(secret.as_bytes(), &receipt) {
        println!(
            "valid: erasure request {} completed {}",
            receipt.receipt.request_id, receipt.receipt.completed_at
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("invalid: this deployment did not sign this receipt, or it was changed");
        Ok(ExitCode::FAILURE)
    }
}
