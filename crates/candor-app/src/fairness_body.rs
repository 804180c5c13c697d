//! Fairness reports as they are shown: the JSON bodies the API answers with and the command
//! line prints, so both show the same figures under the same names.

use candor_accountability::fairness::{Disparities, GroupResult};
use candor_accountability::{AttributeKind, FairnessReport};
use candor_domain::time::Timestamp;
use serde::Serialize;

use crate::fairness::{CampaignFairness, GroupFairness, SlotFairness};

/// Days a report covers when no period is given.
pub const REPORT_DAYS_DEFAULT: i64 = 30;

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupBody {
    pub label: String,
    /// Fewer than `k_min` people: no figures are shown.
    pub suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_selected: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_rate: Option<f64>,
    /// 95% Wilson interval of the selection rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection_rate_ci: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_positive_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub false_positive_rate: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisparitiesBody {
    pub demographic_parity_difference: Option<f64>,
    pub demographic_parity_ratio: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    pub equalized_odds_ratio: Option<f64>,
}

fn disparities(d: &Disparities) -> DisparitiesBody {
    DisparitiesBody {
        demographic_parity_difference: d.dp_difference,
        demographic_parity_ratio: d.dp_ratio,
        equalized_odds_difference: d.eo_difference,
        equalized_odds_ratio: d.eo_ratio,
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeReportBody {
    pub attribute: String,
    pub title: String,
    pub k_min: u64,
    pub groups: Vec<GroupBody>,
    pub n_suppressed: usize,
    /// Audited people who did not declare this attribute.
    pub n_undeclared: u64,
    pub overall_selection_rate: Option<f64>,
    pub between_groups: DisparitiesBody,
    pub to_overall: DisparitiesBody,
    /// Parity ratio below 0.8 (the four-fifths rule); absent with fewer than two groups shown.
    pub four_fifths_flag: Option<bool>,
}

pub fn attribute_report_body(
    kind: AttributeKind,
    r: &FairnessReport,
    n_undeclared: u64,
) -> AttributeReportBody {
    AttributeReportBody {
        attribute: kind.as_str().to_owned(),
        title: r.title.clone(),
        k_min: r.frame.k_min,
        groups: r
            .frame
            .by_group
            .iter()
            .map(|g| match &g.result {
                GroupResult::Reported(rates) => GroupBody {
                    label: g.label.clone(),
                    suppressed: false,
                    n: Some(rates.n),
                    n_selected: Some(rates.n_selected),
                    selection_rate: Some(rates.selection_rate),
                    selection_rate_ci: Some([
                        rates.selection_rate_ci.low,
                        rates.selection_rate_ci.high,
                    ]),
                    true_positive_rate: rates.true_positive_rate,
                    false_positive_rate: rates.false_positive_rate,
                },
                GroupResult::Suppressed => GroupBody {
                    label: g.label.clone(),
                    suppressed: true,
                    n: None,
                    n_selected: None,
                    selection_rate: None,
                    selection_rate_ci: None,
                    true_positive_rate: None,
                    false_positive_rate: None,
                },
            })
            .collect(),
        n_suppressed: r.frame.n_suppressed(),
        n_undeclared,
        overall_selection_rate: r.frame.overall.map(|o| o.selection_rate),
        between_groups: disparities(&r.between_groups),
        to_overall: disparities(&r.to_overall),
        four_fifths_flag: r.four_fifths_flag,
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupFairnessBody {
    pub title: String,
    /// People with usable attributes (declared, `fairness_audit` granted) who were counted.
    pub n_audited: u64,
    /// Any attribute's parity ratio is below 0.8.
    pub flagged: bool,
    pub by_attribute: Vec<AttributeReportBody>,
}

pub fn group_fairness_body(g: &GroupFairness) -> GroupFairnessBody {
    GroupFairnessBody {
        title: g.title.clone(),
        n_audited: g.n_audited,
        flagged: g.flagged(),
        by_attribute: g
            .by_kind
            .iter()
            .map(|(k, r, u)| attribute_report_body(*k, r, *u))
            .collect(),
    }
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProviderShareBody {
    pub provider: String,
    pub n_items: u64,
    pub n_exposures: u64,
    pub share: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecileBody {
    /// 1 is the most popular tenth of the catalog.
    pub decile: u8,
    pub n_items: u64,
    pub n_exposures: u64,
    pub share: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemSideBody {
    pub n_catalog_items: u64,
    pub n_exposures: u64,
    pub n_exposures_outside_catalog: u64,
    /// Share of the catalog shown at least once.
    pub coverage: Option<f64>,
    pub gini: Option<f64>,
    pub providers: Vec<ProviderShareBody>,
    pub popularity_deciles: Vec<DecileBody>,
    pub head_share: Option<f64>,
    pub popularity_lift: Option<f64>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlotFairnessBody {
    pub slot: String,
    pub since: String,
    pub n_exposures: u64,
    pub n_exposed_subjects: u64,
    /// Nothing was shown in this slot in the period: there is nothing to measure.
    pub empty: bool,
    pub people: GroupFairnessBody,
    pub items: ItemSideBody,
}

pub fn slot_body(s: &SlotFairness) -> SlotFairnessBody {
    let i = &s.items;
    SlotFairnessBody {
        slot: s.slot.clone(),
        since: s.since.to_rfc3339(),
        n_exposures: s.n_exposures,
        n_exposed_subjects: s.n_exposed_subjects,
        empty: s.n_exposures == 0,
        people: group_fairness_body(&s.groups),
        items: ItemSideBody {
            n_catalog_items: i.n_catalog_items,
            n_exposures: i.n_exposures,
            n_exposures_outside_catalog: i.n_exposures_outside_catalog,
            coverage: i.coverage,
            gini: i.gini,
            providers: i
                .providers
                .iter()
                .map(|p| ProviderShareBody {
                    provider: p.provider.clone(),
                    n_items: p.n_items,
                    n_exposures: p.n_exposures,
                    share: p.share,
                })
                .collect(),
            popularity_deciles: i
                .popularity
                .deciles
                .iter()
                .map(|d| DecileBody {
                    decile: d.decile,
                    n_items: d.n_items,
                    n_exposures: d.n_exposures,
                    share: d.share,
                })
                .collect(),
            head_share: i.popularity.head_share,
            popularity_lift: i.popularity.popularity_lift,
        },
    }
}

/// An operator's acknowledgement of a fairness flag.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcknowledgementBody {
    pub at: String,
    pub note: String,
}

/// A stored campaign run's group fairness and its flag.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignFairnessBody {
    pub campaign: String,
    pub run: String,
    /// Flagged when the run committed (parity ratio below 0.8), or by the report now.
    pub flagged: bool,
    /// Some of the run's deliveries are held until the flag is acknowledged.
    pub held: bool,
    pub acknowledged: Option<AcknowledgementBody>,
    /// Selection (delivered) among everyone the run decided, per audit attribute; equalized
    /// odds once the conversion window (a purchase within 7 days) has closed.
    pub report: GroupFairnessBody,
}

pub fn acknowledgement(
    at: Option<Timestamp>,
    note: Option<&String>,
) -> Option<AcknowledgementBody> {
    at.map(|at| AcknowledgementBody {
        at: at.to_rfc3339(),
        note: note.cloned().unwrap_or_default(),
    })
}

pub fn campaign_fairness_body(c: &CampaignFairness) -> CampaignFairnessBody {
    CampaignFairnessBody {
        campaign: c.campaign.clone(),
        run: c.run.id.clone(),
        flagged: c.flagged(),
        held: c.held,
        acknowledged: c
            .flag
            .as_ref()
            .and_then(|f| acknowledgement(f.acknowledged_at, f.acknowledgement_note.as_ref())),
        report: group_fairness_body(&c.groups),
    }
}
