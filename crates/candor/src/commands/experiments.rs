//! `candor experiments list` and `candor experiments report ID`: the same k-suppressed report
//! as `GET /v1/experiments/{id}/report`, as Markdown, JSON or SVG on standard output.

use std::process::ExitCode;

use candor_app::Clock;
use candor_app::config::Overrides;
use candor_app::experiments as use_case;
use candor_experiments::render;
use clap::{Subcommand, ValueEnum};

use super::Common;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
    Svg,
}

#[derive(Debug, Subcommand)]
pub enum ExperimentsCommand {
    /// List the experiments with their status.
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Print an experiment's report: effects with their intervals, the sample-ratio check and
    /// the guardrails. Counts of people below the policy's k are suppressed.
    Report {
        /// The experiment id.
        id: String,
        #[arg(long, value_enum, default_value = "markdown")]
        format: Format,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(cmd: ExperimentsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExperimentsCommand::List { common } => {
            let loaded = super::load(&common, Overrides::default())?;
            for (record, experiment) in use_case::all(loaded.store.as_ref())? {
                println!(
                    "{}\t{}\t{}",
                    record.id,
                    record.status.as_str(),
                    experiment.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ExperimentsCommand::Report { id, format, common } => {
            let loaded = super::load(&common, Overrides::default())?;
            let store = loaded.store.as_ref();
            let record = store.experiment(&id)?.ok_or_else(|| {
                anyhow::anyhow!("no experiment `{id}`; see `candor experiments list`")
            })?;
            let experiment = use_case::definition(&record)?;
            let config = use_case::report_config(&loaded.policy);
            let report = use_case::report(store, &experiment, Clock::System.now(), config)?;
            let text = match format {
                Format::Markdown => render::markdown(&report),
                Format::Json => render::json(&report),
                Format::Svg => render::svg(&report),
            };
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
