//! Ids of the resources an operator names: segments and campaigns.

use crate::{AppError, AppResult};

/// Longest segment or campaign id, in bytes.
pub const RESOURCE_ID_BYTES_MAX: usize = 64;

/// Checks the id of a `what` (segment, campaign): 1 to [`RESOURCE_ID_BYTES_MAX`] lowercase
/// letters, digits, `_` or `-`.
pub fn check_id(what: &'static str, id: &str) -> AppResult<()> {
    let ok = !id.is_empty()
        && id.len() <= RESOURCE_ID_BYTES_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "invalid_id",
            format!(
                "{what} ids are 1 to {RESOURCE_ID_BYTES_MAX} lowercase letters, digits, `_` or `-`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_lowercase_words() {
        for ok in ["runners", "spring-2026", "a_b"] {
            assert!(check_id("segment", ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(RESOURCE_ID_BYTES_MAX + 1);
        for bad in ["", "Runners", "a b", "ü", long.as_str()] {
            assert_eq!(
                check_id("segment", bad).unwrap_err().code,
                "invalid_id",
                "{bad}"
            );
        }
    }
}
