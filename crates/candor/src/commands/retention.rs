//! `candor retention run`.

use std::process::ExitCode;

use candor_app::Clock;
use candor_app::config::Overrides;
use candor_app::jobs::retention_run_once;
use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete expired data and data no granted purpose needs any more; print the counts.
    Run {
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(cmd: RetentionCommand) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run { common } = cmd;
    let loaded = super::load(&common, Overrides::default())?;
    let report = retention_run_once(
        loaded.store.as_ref(),
        &loaded.policy,
        loaded.config.profiles.half_life_days,
        Clock::System.now(),
    )?;
    println!(
        "expired events deleted:            {}",
        report.expired_deleted
    );
    println!(
        "profiles rebuilt after a drop:     {}",
        report.profiles_rebuilt
    );
    println!(
        "events without a granted purpose:  {} deleted",
        report.unconsented_deleted
    );
    println!(
        "events that lost some purposes:    {} narrowed",
        report.narrowed
    );
    println!(
        "exposures past their retention:    {} deleted",
        report.exposures_deleted
    );
    println!(
        "analytics releases past grace:     {} deleted",
        report.releases_pruned
    );
    println!(
        "subjects checked:                  {}",
        report.subjects_checked
    );
    Ok(ExitCode::SUCCESS)
}
