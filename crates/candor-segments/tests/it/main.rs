//! Candor segments: one integration-test binary, one module per area.

mod campaign;
mod caps;
mod eval;
mod lint;
mod parse;
mod props;
mod quiet;
mod signing;
mod template;

use candor_domain::Policy;
use candor_domain::policy::DEFAULT_POLICY_TOML;
use candor_domain::time::Timestamp;

/// The built-in policy, which every test reads the same way the server would.
pub fn policy() -> Policy {
    Policy::parse(DEFAULT_POLICY_TOML).expect("the default policy is valid")
}

/// An instant given as RFC 3339.
pub fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).expect("a valid timestamp")
}
