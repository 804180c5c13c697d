//! `candor report analytics FAMILY`: a private analytics report, as the API gives it, in
//! Markdown or JSON. It charges the family's privacy budget exactly as a request to
//! `GET /v1/analytics/{family}` does (the same request twice is answered from the first).

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use candor_app::Clock;
use candor_app::analytics::{AnalyticsBody, ReportOutcome, day_of, parse_request, run_report};
use candor_app::config::Overrides;
use clap::{Args, ValueEnum};

use super::Common;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    Day,
    Week,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct AnalyticsArgs {
    /// conversions, top-items, top-categories, interest-share, consent-rates or drops.
    pub family: String,
    /// First day, `YYYY-MM-DD`; default 29 days before `--to`.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD`, at most today; default today.
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value = "day")]
    pub by: By,
    /// Only people whose declared country is this (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: Format,
    #[command(flatten)]
    pub common: Common,
}

pub fn run(args: AnalyticsArgs) -> anyhow::Result<ExitCode> {
    let now = Clock::System.now();
    let by = match args.by {
        By::Day => candor_analytics::Granularity::Day,
        By::Week => candor_analytics::Granularity::Week,
    };
    let request = parse_request(
        &args.family,
        args.from.as_deref(),
        args.to.as_deref(),
        by,
        args.country.as_deref(),
        day_of(now),
    )?;
    let loaded = super::load(&args.common, Overrides::default())?;
    let secret = candor_app::secret::load_or_create(&loaded.config)
        .context("failed to load the server secret")?;
    let outcome = run_report(
        loaded.store.as_ref(),
        &loaded.policy,
        &loaded.config.analytics,
        secret.as_bytes(),
        &request,
        now,
    )?;
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&AnalyticsBody::from(outcome))?
        ),
        Format::Markdown => print!("{}", markdown(&outcome)),
    }
    Ok(ExitCode::SUCCESS)
}

/// `value (low – high)`.
fn shown(r: &candor_analytics::Released) -> String {
    format!("{} ({} – {})", r.value, r.ci95_low, r.ci95_high)
}

fn markdown(outcome: &ReportOutcome) -> String {
    let r = &outcome.report;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# {} ({} to {}, by {:?})\n",
        r.family, r.from, r.to, r.by
    );
    if let Some(c) = &r.country {
        let _ = writeln!(md, "Country: {c}\n");
    }
    let _ = writeln!(md, "Consent basis: {}\n", r.consent_basis);
    let _ = writeln!(
        md,
        "Every number is noisy, shown with its 95 % interval. Charged ε = {} and δ = {:e} per day \
         covered{}; the family has ε = {} left of {} per day. A cell is shown only when its noisy \
         count of {} reaches {}.\n",
        r.charged_per_day.epsilon,
        r.charged_per_day.delta,
        if outcome.repeated {
            " (earlier, by the same request: nothing charged now)"
        } else {
            ""
        },
        outcome.remaining.epsilon.as_f64(),
        outcome.budget.epsilon.as_f64(),
        r.unit,
        r.selection_threshold
    );
    for n in &r.noise {
        let _ = writeln!(
            md,
            "- {}: ε = {}, noise standard deviation {:.2}, 95 % half width {}",
            n.measure, n.epsilon, n.noise.std_dev, n.noise.ci95_half_width
        );
    }
    for p in &r.periods {
        let _ = writeln!(md, "\n## {}\n", p.start);
        if p.cells.is_empty() {
            md.push_str("No cell reached the threshold.\n");
            continue;
        }
        let _ = writeln!(
            md,
            "| cell | {} | events | revenue (minor units) | share |\n|---|---:|---:|---:|---:|",
            r.unit
        );
        for c in &p.cells {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                c.cell.replace('|', "\\|"),
                shown(&c.people),
                c.events.as_ref().map_or_else(String::new, shown),
                c.revenue_minor.as_ref().map_or_else(String::new, shown),
                c.share
                    .map_or_else(String::new, |s| format!("{:.1} %", s * 100.0)),
            );
        }
    }
    md
}
