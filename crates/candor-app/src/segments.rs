//! Segments: lint a rule as it is typed, save it, preview its size (k-suppressed, never a
//! member list), and explain to a subject which segments they are in and why.

use candor_domain::SubjectKey;
use candor_domain::policy::Policy;
use candor_segments::kanon::{SuppressedCount, suppress};
use candor_segments::lint::{LintIssue, LintReport, lint};
use candor_segments::rule::{Explanation, Rule, RuleError};
use candor_segments::segment::{Segment, SegmentError};
use candor_store::SegmentRecord;

pub use crate::resource::{RESOURCE_ID_BYTES_MAX, check_id};
use crate::{App, AppError, AppResult, ErrorKind, campaigns};

/// Why a segment cannot be created, with the code of its first finding.
pub fn segment_error(e: SegmentError) -> AppError {
    match e {
        SegmentError::InvalidName => AppError::unprocessable("invalid_segment_name", e.to_string()),
        SegmentError::InvalidPurpose(_) => {
            AppError::unprocessable("unknown_purpose", e.to_string())
        }
        SegmentError::Rule(r) => AppError::unprocessable(r.kind.code(), r.to_string()),
        SegmentError::Lint(report) => {
            let code = report
                .errors
                .first()
                .map_or("segment_refused", |i| i.code.as_str());
            AppError::unprocessable(code, report.to_string().trim_end().to_owned())
        }
    }
}

/// What linting a rule as typed found.
#[derive(Debug)]
pub enum Linted {
    /// The rule does not parse.
    Unparsable(RuleError),
    /// It parses; the report says what the policy refuses or warns about.
    Report(LintReport),
}

/// Lints `rule` for `purpose`. A purpose that is no purpose id is refused.
pub fn lint_rule(policy: &Policy, rule: &str, purpose: &str) -> AppResult<Linted> {
    let rule = match Rule::parse(rule) {
        Ok(r) => r,
        Err(e) => return Ok(Linted::Unparsable(e)),
    };
    let Ok(purpose) = candor_domain::PurposeId::parse(purpose) else {
        return Err(AppError::unprocessable(
            "unknown_purpose",
            format!("`{purpose}` is not a purpose id"),
        ));
    };
    Ok(Linted::Report(lint(rule.ast(), &purpose, policy)))
}

/// The warnings a stored segment carries under the current policy.
pub fn warnings(policy: &Policy, r: &SegmentRecord) -> Vec<LintIssue> {
    Segment::create(&r.name, &r.rule, &r.purpose, policy)
        .map(|s| s.warnings().to_vec())
        .unwrap_or_default()
}

/// Saves a new segment once the policy accepts its rule. Segments cannot be changed.
pub async fn create(
    app: &App,
    id: String,
    name: &str,
    purpose: &str,
    rule: &str,
) -> AppResult<SegmentRecord> {
    check_id("segment", &id)?;
    let segment = Segment::create(name, rule, purpose, &app.policy).map_err(segment_error)?;
    let record = SegmentRecord {
        id,
        name: segment.name().to_owned(),
        purpose: segment.purpose().to_string(),
        rule: segment.rule().source().to_owned(),
        created_at: app.now(),
    };
    let saved = record.clone();
    app.blocking(move |store| store.insert_segment(&saved))
        .await
        .map_err(|e| match e.kind {
            ErrorKind::Conflict => AppError::conflict(
                "segment_exists",
                format!(
                    "a segment `{}` already exists; segments cannot be changed",
                    record.id
                ),
            ),
            _ => e,
        })?;
    Ok(record)
}

/// Every stored segment.
pub async fn list(app: &App) -> AppResult<Vec<SegmentRecord>> {
    app.blocking(|store| store.segments()).await
}

/// One stored segment.
pub async fn load(app: &App, id: String) -> AppResult<SegmentRecord> {
    check_id("segment", &id)?;
    app.blocking(move |store| store.segment(&id))
        .await?
        .ok_or_else(|| AppError::not_found("segment_not_found", "no segment with this id"))
}

/// A segment's size now, suppressed below the policy's k.
#[derive(Debug, Clone)]
pub struct Preview {
    pub segment: SegmentRecord,
    pub size: SuppressedCount,
    pub k: u32,
}

/// Counts the people a segment selects now; only the suppressed count leaves.
pub async fn preview(app: &App, id: String) -> AppResult<Preview> {
    let record = load(app, id).await?;
    let segment = Segment::create(&record.name, &record.rule, &record.purpose, &app.policy)
        .map_err(segment_error)?;
    let st = app.clone();
    let now = app.now();
    let n = app
        .blocking(move |store| {
            let ctx = campaigns::ctx(&st, store, now);
            let catalog = ctx.catalog()?;
            let query = campaigns::audience_query(segment.rule(), now, now);
            let parts = campaigns::fold_audience(
                store,
                &query,
                || 0u64,
                |n, page| {
                    for row in page {
                        let data = ctx.subject_from_row(row, &catalog);
                        *n += u64::from(segment.matches(&data.view, now));
                    }
                    Ok(())
                },
            )?;
            Ok(parts.into_iter().sum::<u64>())
        })
        .await?;
    let k = app.policy.k_anonymity;
    Ok(Preview {
        segment: record,
        size: suppress(n, k),
        k,
    })
}

/// A segment a person is in, and why.
#[derive(Debug, Clone)]
pub struct Membership {
    pub segment: SegmentRecord,
    /// "You are in 'Runners' because ...".
    pub sentence: String,
    pub explanation: Explanation,
}

/// The segments a person is in now, each with its explanation. A segment the current policy
/// no longer allows selects nobody.
pub async fn memberships(app: &App, key: SubjectKey) -> AppResult<Vec<Membership>> {
    let st = app.clone();
    let now = app.now();
    let (segments, data) = app
        .blocking(move |store| {
            let ctx = campaigns::ctx(&st, store, now);
            let catalog = ctx.catalog()?;
            Ok((store.segments()?, ctx.load_subject(&key, &catalog, now)?))
        })
        .await?;
    let mut out = Vec::new();
    for r in segments {
        let Ok(segment) = Segment::create(&r.name, &r.rule, &r.purpose, &app.policy) else {
            continue;
        };
        let explanation = segment.explain(&data.view, now);
        if !explanation.matched {
            continue;
        }
        out.push(Membership {
            sentence: explanation.sentence(segment.name()),
            segment: r,
            explanation,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linting_tells_an_unparsable_rule_from_an_unknown_purpose() {
        let policy = Policy::parse(candor_domain::policy::DEFAULT_POLICY_TOML).unwrap();
        assert!(matches!(
            lint_rule(&policy, "views(30d) >=", "email_marketing").unwrap(),
            Linted::Unparsable(_)
        ));
        let e = lint_rule(&policy, "views(30d) >= 5", "Not A Purpose").unwrap_err();
        assert_eq!(e.code, "unknown_purpose");
    }
}
