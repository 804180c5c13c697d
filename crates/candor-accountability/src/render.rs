//! Reports as plain strings: Markdown for the CLI and the console, self-contained SVG charts
//! that an HTML report embeds inline. No fonts, scripts or external references, so a report
//! file stays readable offline and safe to open.
//!
//! All caller text (titles, group labels, series names) is escaped, since labels are
//! self-declared by data subjects and therefore untrusted.

use std::fmt::Write as _;

use crate::fairness::{FOUR_FIFTHS_THRESHOLD, FairnessReport, GroupResult, Rates};

/// Escapes text for XML character data and attribute values.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newline are not allowed in XML 1.0 at all.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a Markdown table cell: Markdown punctuation gets a backslash, HTML
/// specials become entities, line breaks become spaces (a newline would end the table row).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn fmt_opt(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:.3}"),
        _ => "n/a".to_owned(),
    }
}

fn rates_cells(rates: &Rates) -> String {
    format!(
        "{} | {} | {:.3} | {:.3}–{:.3} | {} | {}",
        rates.n,
        rates.n_selected,
        rates.selection_rate,
        rates.selection_rate_ci.low,
        rates.selection_rate_ci.high,
        fmt_opt(rates.true_positive_rate),
        fmt_opt(rates.false_positive_rate),
    )
}

/// The report as a Markdown section.
pub fn fairness_report_markdown(report: &FairnessReport) -> String {
    let frame = &report.frame;
    let mut md = String::new();
    let _ = writeln!(md, "## Fairness: {}\n", escape_markdown(&report.title));
    let _ = writeln!(
        md,
        "Groups with fewer than {} members are suppressed: not shown and left out of the \
         overall figures and the comparisons.\n",
        frame.k_min
    );
    md.push_str("| Group | Members | Selected | Selection rate | 95% interval | TPR | FPR |\n");
    md.push_str("|---|---:|---:|---:|---|---:|---:|\n");
    for row in &frame.by_group {
        let label = escape_markdown(&row.label);
        match &row.result {
            GroupResult::Reported(rates) => {
                let _ = writeln!(md, "| {label} | {} |", rates_cells(rates));
            }
            GroupResult::Suppressed => {
                let _ = writeln!(md, "| {label} | suppressed | | | | | |");
            }
        }
    }
    if let Some(overall) = &frame.overall {
        let _ = writeln!(md, "| **Overall** | {} |", rates_cells(overall));
    }
    md.push_str("\n| Measure | Between groups | To overall |\n|---|---:|---:|\n");
    let (b, o) = (&report.between_groups, &report.to_overall);
    for (name, between, to_overall) in [
        (
            "Demographic parity difference",
            b.dp_difference,
            o.dp_difference,
        ),
        ("Demographic parity ratio", b.dp_ratio, o.dp_ratio),
        (
            "Equalized odds difference",
            b.eo_difference,
            o.eo_difference,
        ),
        ("Equalized odds ratio", b.eo_ratio, o.eo_ratio),
    ] {
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            fmt_opt(between),
            fmt_opt(to_overall)
        );
    }
    md.push('\n');
    md.push_str(match report.four_fifths_flag {
        Some(true) => {
            "**Four-fifths rule: flagged.** The lowest selection rate is below 0.8 of the \
             highest. This asks for a closer look at the campaign; it is not a finding of \
             discrimination.\n"
        }
        Some(false) => {
            "Four-fifths rule: not flagged (every reported group's selection rate is at least \
             0.8 of the highest).\n"
        }
        None => {
            "Four-fifths rule: insufficient data (fewer than two reported groups, or nobody \
                 selected).\n"
        }
    });
    md
}

const WIDTH: f64 = 640.0;
const MARGIN_LEFT: f64 = 56.0;
const MARGIN_RIGHT: f64 = 16.0;
const MARGIN_TOP: f64 = 40.0;
const PLOT_HEIGHT: f64 = 200.0;
const MARGIN_BOTTOM: f64 = 48.0;
const HEIGHT: f64 = MARGIN_TOP + PLOT_HEIGHT + MARGIN_BOTTOM;
const PLOT_WIDTH: f64 = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
/// Colour-blind-safe palette (Okabe and Ito), first colour for single-series charts.
const PALETTE: [&str; 7] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000",
];

fn svg_open(title: &str) -> String {
    let title = escape_xml(title);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<title>{title}</title>\n\
         <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"14\" \
         font-weight=\"bold\">{title}</text>\n",
        WIDTH / 2.0
    );
    svg
}

/// Y axis from 0 with ticks at 0, max/2 and max.
fn y_axis(svg: &mut String, y_max: f64) {
    y_axis_range(svg, 0.0, y_max);
}

/// Shortest readable form: integers without decimals, others with up to three.
fn fmt_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn finite_or_zero(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Selection rate per group as bars on a 0–1 scale, with 95% interval whiskers and a dashed
/// reference line at 0.8 × the highest rate: a bar ending below the line is what the
/// four-fifths flag is about. Suppressed groups keep their slot, marked as suppressed.
pub fn fairness_report_svg(report: &FairnessReport) -> String {
    let mut svg = svg_open(&format!("Selection rate by group: {}", report.title));
    y_axis(&mut svg, 1.0);
    let rows = &report.frame.by_group;
    let slot = PLOT_WIDTH / rows.len().max(1) as f64;
    let bottom = MARGIN_TOP + PLOT_HEIGHT;
    let y_of = |v: f64| bottom - PLOT_HEIGHT * finite_or_zero(v).clamp(0.0, 1.0);
    for (i, row) in rows.iter().enumerate() {
        let center = MARGIN_LEFT + slot * (i as f64 + 0.5);
        let label = escape_xml(&row.label);
        let _ = writeln!(
            svg,
            "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            bottom + 16.0
        );
        match &row.result {
            GroupResult::Reported(rates) => {
                let bar_width = slot * 0.6;
                let top = y_of(rates.selection_rate);
                let (lo, hi) = (
                    y_of(rates.selection_rate_ci.low),
                    y_of(rates.selection_rate_ci.high),
                );
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{bar_width:.1}\" \
                     height=\"{:.1}\" fill=\"{}\"><title>{label}: {:.3} (n = {})</title></rect>\n\
                     <line x1=\"{center:.1}\" y1=\"{lo:.1}\" x2=\"{center:.1}\" y2=\"{hi:.1}\" \
                     stroke=\"#333333\"/>\n\
                     <line x1=\"{:.1}\" y1=\"{lo:.1}\" x2=\"{:.1}\" y2=\"{lo:.1}\" stroke=\"#333333\"/>\n\
                     <line x1=\"{:.1}\" y1=\"{hi:.1}\" x2=\"{:.1}\" y2=\"{hi:.1}\" stroke=\"#333333\"/>",
                    center - bar_width / 2.0,
                    bottom - top,
                    PALETTE[0],
                    rates.selection_rate,
                    rates.n,
                    center - 5.0,
                    center + 5.0,
                    center - 5.0,
                    center + 5.0,
                );
            }
            GroupResult::Suppressed => {
                let _ = writeln!(
                    svg,
                    "<text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\" \
                     fill=\"#666666\">suppressed</text>",
                    bottom - 8.0
                );
            }
        }
    }
    if let Some((_, (_, max_rate))) = report.frame.selection_extremes() {
        let y = y_of(FOUR_FIFTHS_THRESHOLD * max_rate);
        let _ = writeln!(
            svg,
            "<line x1=\"{MARGIN_LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" \
             stroke=\"#d55e00\" stroke-dasharray=\"6 4\"/>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#d55e00\">0.8 × max</text>",
            WIDTH - MARGIN_RIGHT,
            WIDTH - MARGIN_RIGHT,
            y - 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A bar chart of labelled values on a scale from 0 to the largest value. Meant for counts and
/// rates; negative and non-finite values are drawn as 0 (their label still shows).
pub fn bar_chart_svg(title: &str, bars: &[(&str, f64)]) -> String {
    let values: Vec<f64> = bars
        .iter()
        .map(|&(_, v)| finite_or_zero(v).max(0.0))
        .collect();
    let y_max = match values.iter().copied().fold(0.0, f64::max) {
        m if m > 0.0 => m,
        _ => 1.0,
    };
    let mut svg = svg_open(title);
    y_axis(&mut svg, y_max);
    let slot = PLOT_WIDTH / bars.len().max(1) as f64;
    let bottom = MARGIN_TOP + PLOT_HEIGHT;
    for (i, (&(label, _), &value)) in bars.iter().zip(&values).enumerate() {
        let center = MARGIN_LEFT + slot * (i as f64 + 0.5);
        let bar_width = slot * 0.6;
        let height = PLOT_HEIGHT * value / y_max;
        let label = escape_xml(label);
        let shown = fmt_number(value);
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar_width:.1}\" height=\"{height:.1}\" \
             fill=\"{}\"><title>{label}: {shown}</title></rect>\n\
             <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{shown}</text>\n\
             <text x=\"{center:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>",
            center - bar_width / 2.0,
            bottom - height,
            PALETTE[0],
            bottom - height - 4.0,
            bottom + 16.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// One line of a [`line_chart_svg`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// `(x, y)` points in drawing order; non-finite points are skipped.
    pub points: &'a [(f64, f64)],
}

/// A line chart of one or more series sharing axes. The y axis starts at 0 (or the lowest
/// value, if negative) so that small changes do not look dramatic.
pub fn line_chart_svg(title: &str, series: &[Series<'_>]) -> String {
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    let all = series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| finite(p)));
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, 0.0f64, f64::MIN);
    for &(x, y) in all {
        x_min = x_min.min(x);
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if x_min > x_max {
        (x_min, x_max) = (0.0, 1.0);
    }
    if x_max == x_min {
        x_max = x_min + 1.0;
    }
    if y_max <= y_min {
        y_max = y_min + 1.0;
    }
    let mut svg = svg_open(title);
    y_axis_range(&mut svg, y_min, y_max);
    let bottom = MARGIN_TOP + PLOT_HEIGHT;
    let _ = writeln!(
        svg,
        "<text x=\"{MARGIN_LEFT}\" y=\"{:.1}\" text-anchor=\"start\">{}</text>\n\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
        bottom + 16.0,
        fmt_number(x_min),
        WIDTH - MARGIN_RIGHT,
        bottom + 16.0,
        fmt_number(x_max),
    );
    let px = |x: f64| MARGIN_LEFT + PLOT_WIDTH * (x - x_min) / (x_max - x_min);
    let py = |y: f64| bottom - PLOT_HEIGHT * (y - y_min) / (y_max - y_min);
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = s
            .points
            .iter()
            .filter(|p| finite(p))
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let name = escape_xml(s.name);
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\">\
             <title>{name}</title></polyline>",
            points.join(" ")
        );
        let legend_y = bottom + 36.0;
        let legend_x = MARGIN_LEFT + 120.0 * i as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{legend_x:.1}\" y=\"{:.1}\" width=\"12\" height=\"4\" fill=\"{colour}\"/>\n\
             <text x=\"{:.1}\" y=\"{legend_y:.1}\">{name}</text>",
            legend_y - 6.0,
            legend_x + 16.0,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Axes with y ticks at the bottom, middle and top of `y_min..=y_max`.
fn y_axis_range(svg: &mut String, y_min: f64, y_max: f64) {
    let bottom = MARGIN_TOP + PLOT_HEIGHT;
    let _ = writeln!(
        svg,
        "<line x1=\"{MARGIN_LEFT}\" y1=\"{MARGIN_TOP}\" x2=\"{MARGIN_LEFT}\" y2=\"{bottom}\" \
         stroke=\"#333333\"/>\n<line x1=\"{MARGIN_LEFT}\" y1=\"{bottom}\" x2=\"{}\" \
         y2=\"{bottom}\" stroke=\"#333333\"/>",
        WIDTH - MARGIN_RIGHT
    );
    for fraction in [0.0, 0.5, 1.0] {
        let y = bottom - PLOT_HEIGHT * fraction;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            MARGIN_LEFT - 6.0,
            y + 4.0,
            fmt_number(y_min + (y_max - y_min) * fraction)
        );
    }
}
