//! IAB US Privacy strings (`uspv1`, the CCPA-era four characters such as `1YNN`), both as
//! the `usprivacy` cookie value and as GPP section 6.
//!
//! Layout per the IAB "US Privacy String" specification: version (`1`), then Notice,
//! OptOutSale and LspaCovered, each `Y`, `N` or `-` (not applicable).

use crate::error::{ErrorReason, SignalError, SignalFormat, check_len, excerpt};

const FORMAT: SignalFormat = SignalFormat::UsPrivacy;

/// One US Privacy flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UspFlag {
    /// `Y`.
    Yes,
    /// `N`.
    No,
    /// `-`: the field does not apply.
    NotApplicable,
}

/// A decoded US Privacy string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsPrivacy {
    notice: UspFlag,
    opt_out_sale: UspFlag,
    lspa_covered: UspFlag,
}

impl UsPrivacy {
    /// Decodes a four-character US Privacy string (version `1`). Letters may be lower
    /// case; surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<UsPrivacy, SignalError> {
        check_len(input, FORMAT, "uspString")?;
        let trimmed = input.trim();
        let chars: Vec<char> = trimmed.chars().take(5).collect();
        let [version, notice, opt_out_sale, lspa_covered] = chars[..] else {
            return Err(SignalError::new(
                FORMAT,
                "uspString",
                ErrorReason::InvalidText {
                    value: excerpt(trimmed),
                    allowed: "exactly four characters, such as 1YNN",
                },
            ));
        };
        if version != '1' {
            return Err(SignalError::new(
                FORMAT,
                "Version",
                ErrorReason::InvalidText {
                    value: version.to_string(),
                    allowed: "1",
                },
            ));
        }
        Ok(UsPrivacy {
            notice: flag(notice, "Notice")?,
            opt_out_sale: flag(opt_out_sale, "OptOutSale")?,
            lspa_covered: flag(lspa_covered, "LspaCovered")?,
        })
    }

    /// The specification version; always 1.
    pub fn version(&self) -> u8 {
        1
    }

    /// Whether explicit notice of the right to opt out was given.
    pub fn notice(&self) -> UspFlag {
        self.notice
    }

    /// Whether the user opted out of the sale of personal information.
    pub fn opt_out_sale(&self) -> UspFlag {
        self.opt_out_sale
    }

    /// Whether the publisher is a signatory of the IAB LSPA.
    pub fn lspa_covered(&self) -> UspFlag {
        self.lspa_covered
    }
}

fn flag(character: char, field: &'static str) -> Result<UspFlag, SignalError> {
    match character {
        'Y' | 'y' => Ok(UspFlag::Yes),
        'N' | 'n' => Ok(UspFlag::No),
        '-' => Ok(UspFlag::NotApplicable),
        _ => Err(SignalError::new(
            FORMAT,
            field,
            ErrorReason::InvalidText {
                value: character.to_string(),
                allowed: "Y, N or -",
            },
        )),
    }
}
