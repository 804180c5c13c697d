//! A report as Markdown (the CLI and the console), JSON (the API) and a small self-contained
//! SVG of the effects with their intervals. Names come from operators, so every one is
//! escaped with the accountability reports' escapers.

use std::fmt::Write as _;

use candor_accountability::render::{escape_markdown, escape_xml};

use crate::report::{Comparison, GuardrailStatus, Report, Role, SrmResult};

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "n/a".to_owned()
    }
}

fn p(x: f64) -> String {
    if x < 0.0001 {
        "< 0.0001".to_owned()
    } else {
        format!("{x:.4}")
    }
}

fn guardrail_text(status: GuardrailStatus) -> &'static str {
    match status {
        GuardrailStatus::NoHarmDetected => "no harm detected",
        GuardrailStatus::Harm => "HARM",
        GuardrailStatus::InsufficientData => "insufficient data",
    }
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let confidence = 100.0 * (1.0 - report.config.alpha);
    let _ = writeln!(out, "# Experiment {}\n", escape_markdown(&report.name));
    let _ = writeln!(
        out,
        "Control: {}. Intervals at {confidence}% confidence; p-values adjusted with {} across \
         all comparisons; always-valid p-values and intervals stay valid under continuous \
         monitoring. Counts under {} are shown as \"fewer than {}\".\n",
        escape_markdown(&report.control),
        report.config.adjustment.as_str(),
        report.config.k_min,
        report.config.k_min,
    );
    match &report.srm {
        SrmResult::Checked(srm) => {
            let verdict = if srm.flagged {
                "**MISMATCH**: the split differs from the allocation; do not trust the effects \
                 until the assignment or exposure logging is fixed"
            } else {
                "ok"
            };
            let _ = writeln!(
                out,
                "Sample ratio: {verdict} (chi-squared {}, df {}, p {}).\n",
                num(srm.chi_squared),
                srm.df,
                p(srm.p_value)
            );
        }
        SrmResult::Suppressed => {
            let _ = writeln!(
                out,
                "Sample ratio: not shown (an arm has fewer than {} people).\n",
                report.config.k_min
            );
        }
        SrmResult::NotComputable { reason } => {
            let _ = writeln!(out, "Sample ratio: not checked ({reason}).\n");
        }
    }
    for metric in &report.metrics {
        let role = match metric.role {
            Role::Primary => "primary",
            Role::Guardrail(_) => "guardrail",
        };
        let per = metric.per.as_ref().map_or(String::new(), |d| {
            format!(
                " per {} of `{}`",
                d.kind.as_str(),
                escape_markdown(&d.event_type)
            )
        });
        let _ = writeln!(
            out,
            "## {} ({role}: {} of `{}`{per})\n",
            escape_markdown(&metric.name),
            metric.kind.as_str(),
            escape_markdown(&metric.event_type),
        );
        if let Some(theta) = metric.cuped_theta {
            let _ = writeln!(out, "CUPED-adjusted, theta {}.\n", num(theta));
        }
        out.push_str("| Arm | People | Mean |\n|---|---|---|\n");
        for arm in &metric.arms {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                escape_markdown(&arm.arm),
                arm.n,
                arm.mean.map_or("suppressed".to_owned(), num)
            );
        }
        out.push_str(
            "\n| Arm vs control | Effect | Interval | p | Adjusted p | Always-valid p | \
             Always-valid interval |\n|---|---|---|---|---|---|---|\n",
        );
        for comparison in &metric.comparisons {
            let arm = escape_markdown(comparison.arm());
            let _ = match comparison {
                Comparison::Estimated { effect: e, .. } => writeln!(
                    out,
                    "| {arm} | {} | {} to {} | {} | {} | {} | {} to {} |",
                    num(e.effect),
                    num(e.ci_low),
                    num(e.ci_high),
                    p(e.p_value),
                    p(e.p_adjusted),
                    p(e.always_valid_p),
                    num(e.always_valid_low),
                    num(e.always_valid_high),
                ),
                Comparison::Suppressed { .. } => writeln!(
                    out,
                    "| {arm} | suppressed: an arm has fewer than {} people | | | | | |",
                    report.config.k_min
                ),
                Comparison::NotComputable { reason, .. } => {
                    writeln!(out, "| {arm} | not computable: {reason} | | | | | |")
                }
            };
        }
        out.push('\n');
    }
    if !report.guardrails.is_empty() {
        out.push_str("## Guardrails\n\n");
        for guardrail in &report.guardrails {
            let _ = writeln!(
                out,
                "- {}: {}",
                escape_markdown(&guardrail.metric),
                guardrail_text(guardrail.status)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Left out: {} seen in more than one arm, {} still inside their window.",
        report.n_mixed, report.n_window_open
    );
    out
}

/// The report as pretty-printed JSON. Counts under k are the string "fewer than k".
pub fn json(report: &Report) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(report).expect("a report serializes")
}

const SVG_WIDTH: f64 = 640.0;
const SVG_LABEL_WIDTH: f64 = 220.0;
const SVG_ROW_HEIGHT: f64 = 36.0;
const SVG_MARGIN: f64 = 24.0;

/// The effects as a self-contained SVG: one row per comparison, each on its own axis centred
/// on zero (metrics have different units), the fixed-horizon interval dark and the
/// always-valid interval light behind it.
pub fn svg(report: &Report) -> String {
    let rows: Vec<(String, &Comparison)> = report
        .metrics
        .iter()
        .flat_map(|m| {
            m.comparisons
                .iter()
                .map(move |c| (format!("{}: {}", m.name, c.arm()), c))
        })
        .collect();
    let height = 2.0 * SVG_MARGIN + SVG_ROW_HEIGHT * rows.len().max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{SVG_WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {SVG_WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\" \
         role=\"img\" aria-label=\"Effects of {} with intervals\">",
        escape_xml(&report.name)
    );
    let plot_left = SVG_LABEL_WIDTH;
    let plot_width = SVG_WIDTH - SVG_LABEL_WIDTH - SVG_MARGIN;
    let zero_x = plot_left + plot_width / 2.0;
    let _ = writeln!(
        out,
        "<line x1=\"{zero_x:.1}\" y1=\"{SVG_MARGIN}\" x2=\"{zero_x:.1}\" y2=\"{:.1}\" \
         stroke=\"#888\" stroke-dasharray=\"3 3\"/>",
        height - SVG_MARGIN
    );
    for (i, (label, comparison)) in rows.iter().enumerate() {
        let y = SVG_MARGIN + SVG_ROW_HEIGHT * (i as f64 + 0.5);
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            plot_left - 8.0,
            y + 4.0,
            escape_xml(label)
        );
        let e = match comparison {
            Comparison::Estimated { effect, .. } => effect,
            Comparison::Suppressed { .. } => {
                svg_note(&mut out, zero_x, y, "suppressed: fewer than k people");
                continue;
            }
            Comparison::NotComputable { .. } => {
                svg_note(&mut out, zero_x, y, "not computable");
                continue;
            }
        };
        let bound = [e.ci_low, e.ci_high, e.always_valid_low, e.always_valid_high]
            .iter()
            .map(|v| v.abs())
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        let scale = if bound > 0.0 {
            plot_width / 2.0 / bound
        } else {
            0.0
        };
        let x = |v: f64| zero_x + v * scale;
        // The always-valid interval wide and light, the fixed-horizon one narrow and dark on it.
        svg_segment(
            &mut out,
            (x(e.always_valid_low), x(e.always_valid_high)),
            y,
            "#9bbbe0",
            8,
        );
        svg_segment(&mut out, (x(e.ci_low), x(e.ci_high)), y, "#1f4e8c", 3);
        let _ = writeln!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"#1f4e8c\"><title>{} \
             (interval {} to {})</title></circle>",
            x(e.effect),
            num(e.effect),
            num(e.ci_low),
            num(e.ci_high)
        );
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\">±{}</text>",
            plot_left + plot_width - 40.0,
            y - 8.0,
            num(bound)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A horizontal bar from `xs.0` to `xs.1` at height `y`.
fn svg_segment(out: &mut String, xs: (f64, f64), y: f64, colour: &str, width: u32) {
    let _ = writeln!(
        out,
        "<line x1=\"{:.1}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" \
         stroke-width=\"{width}\"/>",
        xs.0, xs.1
    );
}

/// A grey note in place of a row's interval.
fn svg_note(out: &mut String, x: f64, y: f64, text: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#666\">{text}</text>",
        y + 4.0
    );
}
