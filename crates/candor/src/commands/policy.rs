//! `candor policy check`.

use std::path::PathBuf;
use std::process::ExitCode;

use candor_domain::policy::Policy;
use clap::{Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policy and print its record of processing (data map).
    Check {
        /// The policy file; the built-in default when absent.
        #[arg(long, env = "CANDOR_POLICY")]
        policy: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    let PolicyCommand::Check { policy, format } = cmd;
    let text = super::policy_text(policy.as_deref())?;
    let name = policy
        .as_deref()
        .map_or_else(|| "built-in policy".to_owned(), |p| p.display().to_string());
    match Policy::parse(&text) {
        Err(errors) => {
            for issue in &errors.0 {
                eprintln!("{name}:{issue}");
            }
            eprintln!("{} problem(s) found", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
        Ok(p) => {
            let map = p.data_map();
            match format {
                Format::Text => print!("{}", map.to_text()),
                Format::Markdown => print!("{}", map.to_markdown()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&map)?),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
