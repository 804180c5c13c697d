//! The one error type of the crate: every refusal a report request can meet, each with a stable
//! code the server maps to a 4xx response.

/// Why an analytics computation or a budget charge was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticsError {
    /// A parameter (ε, δ, a bound, a scale) is outside what the mechanisms accept.
    #[error("{name} is invalid: {reason}")]
    InvalidParameter {
        /// The parameter's name as the caller spells it.
        name: &'static str,
        /// What is wrong and what would be accepted.
        reason: String,
    },
    /// The report family has no budget configured, so nothing may be charged to it.
    #[error("report family `{family}` has no privacy budget; set one before running its reports")]
    UnknownFamily {
        /// The family asked for.
        family: String,
    },
    /// Charging this report would spend more than the family's budget for the period.
    #[error(
        "the privacy budget of `{family}` for the period starting on day {period} is spent: \
         this report needs ε = {requested_epsilon}, δ = {requested_delta:e} but only \
         ε = {remaining_epsilon}, δ = {remaining_delta:e} remain; wait for the next period \
         or ask for fewer measures"
    )]
    BudgetExhausted {
        /// The report family.
        family: String,
        /// The period's first day (days since 1970-01-01).
        period: i32,
        /// ε the report would spend.
        requested_epsilon: f64,
        /// δ the report would spend.
        requested_delta: f64,
        /// ε left in the period.
        remaining_epsilon: f64,
        /// δ left in the period.
        remaining_delta: f64,
    },
}

impl AnalyticsError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            AnalyticsError::InvalidParameter { .. } => "analytics_invalid_parameter",
            AnalyticsError::UnknownFamily { .. } => "analytics_unknown_report_family",
            AnalyticsError::BudgetExhausted { .. } => "analytics_budget_exhausted",
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        AnalyticsError::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}
