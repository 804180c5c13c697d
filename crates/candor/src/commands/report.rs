//! `candor report`: one self-contained HTML file (inline SVG, no scripts, no external
//! resources) on consent, drops, data-subject requests and their deadlines, fairness per
//! campaign and slot, and the audit chain.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candor_accountability::K_MIN_DEFAULT;
use candor_accountability::render::{
    Series, bar_chart_svg, escape_xml, fairness_report_svg, line_chart_svg,
};
use candor_app::Clock;
use candor_app::audit::{AuditAction, ChainStatus, verify_chain};
use candor_app::config::Overrides;
use candor_app::fairness::{campaign_fairness, slot_report};
use candor_domain::time::{DAY_MS, Timestamp};
use candor_store::{PAGE_LEN_MAX, PageRequest, Store};
use clap::Args;

use super::Common;

/// Days covered when no `--since` is given.
const REPORT_DAYS_DEFAULT: i64 = 30;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    /// A private analytics report instead of the HTML overview.
    #[command(subcommand)]
    pub kind: Option<ReportKind>,
    /// Start of the period: a date (2026-11-01) or an RFC 3339 time; default 30 days back.
    #[arg(long)]
    pub since: Option<String>,
    /// Directory to write `index.html` into (created if missing).
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// A recommendation slot to include a fairness section for; repeatable.
    #[arg(long = "slot")]
    pub slots: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

#[derive(Debug, clap::Subcommand)]
pub enum ReportKind {
    /// Conversions, top items and categories, interest shares, consent rates or drops, with
    /// differential privacy: every number noisy with its 95 % interval, charged to the
    /// family's privacy budget.
    Analytics(super::analytics_report::AnalyticsArgs),
}

fn parse_since(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s).or_else(|| Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")))
}

/// Per purpose, per day (days since the epoch): (granted, all decisions).
type ConsentByDay = BTreeMap<String, BTreeMap<i64, (u64, u64)>>;

/// Consent decisions per day and purpose, from the audit log.
fn consent_by_day(store: &dyn Store, since: Timestamp) -> anyhow::Result<ConsentByDay> {
    let mut out = ConsentByDay::new();
    let mut page = PageRequest::first(PAGE_LEN_MAX);
    loop {
        let got = store.audit_entries(page)?;
        for e in got.items {
            if e.action != AuditAction::ConsentChanged || e.at_ms < since.as_millis() {
                continue;
            }
            let Some(purpose) = &e.purpose else { continue };
            let day = e.at_ms.div_euclid(DAY_MS);
            let cell = out
                .entry(purpose.as_str().to_owned())
                .or_default()
                .entry(day)
                .or_default();
            cell.0 += u64::from(e.details.get("decision") == Some("granted"));
            cell.1 += 1;
        }
        match got.next {
            Some(n) => page.after = Some(n),
            None => return Ok(out),
        }
    }
}

/// "Requests and deadlines": requests received in the period and every request still open,
/// per kind.
fn requests_section(
    html: &mut String,
    store: &dyn Store,
    since: Timestamp,
    now: Timestamp,
) -> anyhow::Result<()> {
    html.push_str("<h2>Requests and deadlines</h2>\n");
    let kinds = store.dsr_summary(since, now)?;
    if kinds.is_empty() {
        html.push_str(
            "<p>No data-subject request was received in this period, and none is open.</p>\n",
        );
        return Ok(());
    }
    let overdue: u64 = kinds.iter().map(|k| k.n_overdue).sum();
    if overdue > 0 {
        let _ = writeln!(
            html,
            "<p class=\"flag\">{overdue} open request(s) are past their statutory deadline.</p>"
        );
    }
    let labels: Vec<(String, f64)> = kinds
        .iter()
        .flat_map(|k| {
            [
                (format!("{} open", k.kind), k.n_open as f64),
                (format!("{} closed", k.kind), k.n_closed as f64),
            ]
        })
        .collect();
    let bars: Vec<(&str, f64)> = labels.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    html.push_str(&bar_chart_svg("Data-subject requests by kind", &bars));
    html.push_str(
        "<table><tr><th>Kind</th><th>Open</th><th>Closed</th><th>Overdue</th>\
         <th>Closed late</th><th>Oldest open (days)</th></tr>\n",
    );
    for k in &kinds {
        let oldest = k.oldest_open_received_at.map_or_else(
            || "none open".to_owned(),
            |at| {
                format!(
                    "{:.1}",
                    (now.as_millis() - at.as_millis()) as f64 / DAY_MS as f64
                )
            },
        );
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{oldest}</td></tr>",
            escape_xml(&k.kind),
            k.n_open,
            k.n_closed,
            k.n_overdue,
            k.n_closed_late
        );
    }
    html.push_str("</table>\n");
    Ok(())
}

/// "Fairness per campaign": the latest real run of each campaign.
fn campaigns_section(
    html: &mut String,
    store: &dyn Store,
    policy: &candor_domain::policy::Policy,
    now: Timestamp,
) -> anyhow::Result<()> {
    html.push_str("<h2>Fairness per campaign</h2>\n");
    let campaigns = store.campaigns()?;
    if campaigns.is_empty() {
        html.push_str("<p>No campaign has been created.</p>\n");
        return Ok(());
    }
    let mut rows = String::new();
    let mut ratios: Vec<(String, f64)> = Vec::new();
    for c in &campaigns {
        let id = escape_xml(&c.id);
        match campaign_fairness(store, policy, &c.id, None, K_MIN_DEFAULT, now)? {
            Err(_) => {
                let _ = writeln!(
                    rows,
                    "<tr><td>{id}</td><td colspan=\"4\">never run</td></tr>"
                );
            }
            Ok(f) => {
                let ratio = f.parity_ratio();
                if let Some(r) = ratio {
                    ratios.push((c.id.clone(), r));
                }
                let status = match (&f.flag, f.held) {
                    (_, true) => "held until acknowledged".to_owned(),
                    (Some(flag), false) => match flag.acknowledged_at {
                        Some(at) => format!(
                            "acknowledged {}: {}",
                            at.to_rfc3339(),
                            escape_xml(flag.acknowledgement_note.as_deref().unwrap_or(""))
                        ),
                        None => "sent, not acknowledged".to_owned(),
                    },
                    (None, false) => "sent".to_owned(),
                };
                let _ = writeln!(
                    rows,
                    "<tr><td>{id}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{status}</td></tr>",
                    f.run.at.to_rfc3339(),
                    ratio.map_or_else(
                        || "n/a (fewer than two groups to compare)".to_owned(),
                        |r| format!("{r:.3}")
                    ),
                    if f.flagged() { " class=\"flag\"" } else { "" },
                    if f.flagged() { "flagged" } else { "no" },
                );
            }
        }
    }
    if !ratios.is_empty() {
        let bars: Vec<(&str, f64)> = ratios.iter().map(|(c, r)| (c.as_str(), *r)).collect();
        html.push_str(&bar_chart_svg(
            "Lowest demographic parity ratio of each campaign's latest run (flagged below 0.8)",
            &bars,
        ));
    }
    html.push_str(
        "<table><tr><th>Campaign</th><th>Latest run</th><th>Parity ratio</th><th>Flag</th>\
         <th>Deliveries</th></tr>\n",
    );
    html.push_str(&rows);
    html.push_str("</table>\n");
    Ok(())
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if let Some(ReportKind::Analytics(analytics)) = args.kind {
        return super::analytics_report::run(analytics);
    }
    let out = args.out.context("--out is required")?;
    let now = Clock::System.now();
    let since = match &args.since {
        None => Timestamp::from_millis(now.as_millis() - REPORT_DAYS_DEFAULT * DAY_MS),
        Some(s) => parse_since(s).with_context(|| {
            format!("--since `{s}` is not a date such as 2026-11-01 or an RFC 3339 time")
        })?,
    };
    if since > now {
        anyhow::bail!("--since is in the future: the report would be empty by construction");
    }
    let loaded = super::load(&args.common, Overrides::default())?;
    let store = loaded.store.as_ref();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Candor report</title>\
         <style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         .flag{{color:#a00;font-weight:bold}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2rem .5rem}}</style>\
         </head><body>\n<h1>Candor report</h1>\n<p>From {} to {}.</p>\n",
        since.to_rfc3339(),
        now.to_rfc3339()
    );

    // Audit chain.
    html.push_str("<h2>Audit chain</h2>\n");
    match verify_chain(store, None)? {
        ChainStatus::Intact(head) => {
            let _ = writeln!(
                html,
                "<p>Intact: {} entries; head {}:{}.</p>",
                head.count,
                head.head_seq,
                head.head_hash_hex()
            );
        }
        ChainStatus::Broken(b) => {
            let _ = writeln!(
                html,
                "<p class=\"flag\">Broken: the first bad entry is seq {} (position {}): {}.</p>",
                b.seq,
                b.position,
                escape_xml(&b.kind.to_string())
            );
        }
        ChainStatus::Unreadable(m) => {
            let _ = writeln!(html, "<p class=\"flag\">Broken: {}.</p>", escape_xml(&m));
        }
    }

    // Consent.
    html.push_str("<h2>Consent rates</h2>\n");
    let consent = consent_by_day(store, since)?;
    if consent.is_empty() {
        html.push_str("<p>No consent decisions were recorded in this period.</p>\n");
    } else {
        let first_day = since.as_millis().div_euclid(DAY_MS);
        let points: Vec<(String, Vec<(f64, f64)>)> = consent
            .iter()
            .map(|(purpose, days)| {
                let pts = days
                    .iter()
                    .map(|(day, (granted, all))| {
                        ((day - first_day) as f64, *granted as f64 / *all as f64)
                    })
                    .collect();
                (purpose.clone(), pts)
            })
            .collect();
        let series: Vec<Series<'_>> = points
            .iter()
            .map(|(name, pts)| Series { name, points: pts })
            .collect();
        html.push_str(&line_chart_svg(
            "Share of decisions that granted, by day since the start of the period",
            &series,
        ));
        html.push_str("<table><tr><th>Purpose</th><th>Decisions</th><th>Granted</th></tr>\n");
        for (purpose, days) in &consent {
            let (granted, all) = days
                .values()
                .fold((0, 0), |(g, a), (dg, da)| (g + dg, a + da));
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{all}</td><td>{granted}</td></tr>",
                escape_xml(purpose)
            );
        }
        html.push_str("</table>\n");
    }

    // Drops.
    html.push_str("<h2>Events not stored</h2>\n");
    let drops = store.drop_counts(since.as_millis().div_euclid(DAY_MS))?;
    if drops.is_empty() {
        html.push_str("<p>No event was dropped in this period.</p>\n");
    } else {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for d in &drops {
            *by_reason.entry(d.reason.as_str()).or_default() += d.n;
        }
        let bars: Vec<(&str, f64)> = by_reason.iter().map(|(r, n)| (*r, *n as f64)).collect();
        html.push_str(&bar_chart_svg("Dropped events by reason", &bars));
    }

    requests_section(&mut html, store, since, now)?;
    campaigns_section(&mut html, store, &loaded.policy, now)?;

    // Fairness.
    html.push_str("<h2>Fairness per slot</h2>\n");
    if args.slots.is_empty() {
        html.push_str("<p>No slot was asked for (use <code>--slot NAME</code>).</p>\n");
    }
    for slot in &args.slots {
        let report = slot_report(store, &loaded.policy, slot, since, K_MIN_DEFAULT)?;
        let _ = writeln!(html, "<h3>Slot {}</h3>", escape_xml(slot));
        if report.n_exposures == 0 {
            html.push_str("<p>Nothing was shown in this slot in this period.</p>\n");
            continue;
        }
        if report.groups.flagged() {
            html.push_str(
                "<p class=\"flag\">Flagged: a demographic parity ratio is below 0.8.</p>\n",
            );
        }
        if report.groups.by_kind.is_empty() {
            html.push_str("<p>No one exposed or audited has declared audit attributes.</p>\n");
        }
        for (_, r, _) in &report.groups.by_kind {
            html.push_str(&fairness_report_svg(r));
        }
        let bars: Vec<(&str, f64)> = report
            .items
            .providers
            .iter()
            .map(|p| (p.provider.as_str(), p.share.unwrap_or(0.0)))
            .collect();
        html.push_str(&bar_chart_svg("Exposure share by provider", &bars));
    }
    html.push_str("</body></html>\n");

    std::fs::create_dir_all(&out).with_context(|| format!("failed to create {}", out.display()))?;
    let file = out.join("index.html");
    std::fs::write(&file, html).with_context(|| format!("failed to write {}", file.display()))?;
    println!("wrote {}", file.display());
    Ok(ExitCode::SUCCESS)
}
