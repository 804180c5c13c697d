//! `candor fairness report`.

use std::process::ExitCode;

use anyhow::Context;
use candor_accountability::K_MIN_DEFAULT;
use candor_accountability::render::{bar_chart_svg, fairness_report_svg};
use candor_app::Clock;
use candor_app::config::Overrides;
use candor_app::fairness::{CampaignFairnessMissing, campaign_fairness, slot_report};
use candor_app::fairness_body::{REPORT_DAYS_DEFAULT, campaign_fairness_body, slot_body};
use candor_domain::time::{DAY_MS, Timestamp};
use clap::{Subcommand, ValueEnum};

use super::Common;

#[derive(Debug, Subcommand)]
pub enum FairnessCommand {
    /// Group and item-side fairness of a recommendation slot (or a campaign run).
    Report {
        /// The recommendation slot.
        #[arg(long, required_unless_present = "campaign")]
        slot: Option<String>,
        /// A campaign (its latest real run unless `--run` names one).
        #[arg(long, conflicts_with = "slot")]
        campaign: Option<String>,
        /// A run of the campaign, by id.
        #[arg(long, requires = "campaign")]
        run: Option<String>,
        /// Start of the period, RFC 3339 (default: 30 days back).
        #[arg(long)]
        since: Option<String>,
        /// Smallest group shown.
        #[arg(long, default_value_t = K_MIN_DEFAULT)]
        k_min: u64,
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Json,
    Markdown,
    Svg,
}

pub fn run(cmd: FairnessCommand) -> anyhow::Result<ExitCode> {
    let FairnessCommand::Report {
        slot,
        campaign,
        run,
        since,
        k_min,
        format,
        common,
    } = cmd;
    if k_min < 2 {
        anyhow::bail!("--k-min must be at least 2: smaller groups would expose individuals");
    }
    let now = Clock::System.now();
    let Some(slot) = slot else {
        let id = campaign.unwrap_or_default();
        return campaign_report(&common, &id, run.as_deref(), k_min, format, now);
    };
    let since = match since {
        None => Timestamp::from_millis(now.as_millis() - REPORT_DAYS_DEFAULT * DAY_MS),
        Some(s) => Timestamp::parse_rfc3339(&s).with_context(|| {
            format!("--since `{s}` is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
        })?,
    };
    let loaded = super::load(&common, Overrides::default())?;
    let report = slot_report(loaded.store.as_ref(), &loaded.policy, &slot, since, k_min)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&slot_body(&report))?),
        Format::Markdown => print!("{}", candor_app::fairness::slot_markdown(&report)),
        Format::Svg => match report.groups.by_kind.first() {
            Some((_, r, _)) => println!("{}", fairness_report_svg(r)),
            None => {
                let bars: Vec<(&str, f64)> = report
                    .items
                    .providers
                    .iter()
                    .map(|p| (p.provider.as_str(), p.share.unwrap_or(0.0)))
                    .collect();
                println!(
                    "{}",
                    bar_chart_svg(&format!("Exposure share by provider, slot {slot}"), &bars)
                );
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn campaign_report(
    common: &Common,
    id: &str,
    run: Option<&str>,
    k_min: u64,
    format: Format,
    now: candor_domain::time::Timestamp,
) -> anyhow::Result<ExitCode> {
    let loaded = super::load(common, Overrides::default())?;
    let report = match campaign_fairness(
        loaded.store.as_ref(),
        &loaded.policy,
        id,
        run,
        k_min,
        now,
    )? {
        Ok(r) => r,
        Err(CampaignFairnessMissing::CampaignNotFound) => anyhow::bail!("no campaign `{id}`"),
        Err(CampaignFairnessMissing::NoRuns) => anyhow::bail!(
            "campaign `{id}` has never been run: run it (POST /v1/campaigns/{id}/run) first; dry runs are not kept"
        ),
        Err(CampaignFairnessMissing::RunNotFound) => {
            anyhow::bail!("campaign `{id}` has no run `{}`", run.unwrap_or_default())
        }
    };
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&campaign_fairness_body(&report))?
        ),
        Format::Markdown => print!("{}", candor_app::fairness::campaign_markdown(&report)),
        Format::Svg => match report.groups.by_kind.first() {
            Some((_, r, _)) => println!("{}", fairness_report_svg(r)),
            None => println!(
                "{}",
                bar_chart_svg(
                    &format!("Selection in campaign {id}: no audited people to compare"),
                    &[]
                )
            ),
        },
    }
    Ok(ExitCode::SUCCESS)
}
