//! IAB Global Privacy Platform (GPP) strings.
//!
//! Layout per the IAB "Consent String Specification" of GPP v1: a header, then one section
//! per listed id, all separated by `~`. The header is: Type (6 bits, always 3), Version
//! (6 bits, 1), and the section ids as a Fibonacci-coded range (12-bit entry count, then per
//! entry a range bit and Fibonacci-coded offsets from the previous id).
//!
//! Decoded sections: TCF EU v2 (id 2), US Privacy (id 6) and US National (id 7). Other ids
//! are kept raw and reported. A known section that fails to decode is kept with its error
//! rather than failing the whole string, so a broken TCF section cannot hide a US opt-out
//! carried next to it.

use crate::bits::{BitReader, Bits};
use crate::error::{ErrorReason, SignalError, SignalFormat, check_len};
use crate::tcf::TcString;
use crate::usnat::UsNational;
use crate::usp::UsPrivacy;

/// The GPP header's type field.
pub const GPP_HEADER_TYPE: u8 = 3;

/// The GPP version decoded.
pub const GPP_VERSION: u8 = 1;

/// Section id of TCF EU v2 (`tcfeuv2`).
pub const GPP_SECTION_TCF_EU_V2: u16 = 2;

/// Section id of US Privacy (`uspv1`).
pub const GPP_SECTION_US_PRIVACY: u16 = 6;

/// Section id of US National (`usnat`).
pub const GPP_SECTION_US_NATIONAL: u16 = 7;

const FORMAT: SignalFormat = SignalFormat::Gpp;

/// One section of a GPP string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GppSection {
    /// Section 2, TCF EU v2.
    TcfEuV2(Box<TcString>),
    /// Section 6, US Privacy.
    UsPrivacy(UsPrivacy),
    /// Section 7, US National.
    UsNational(UsNational),
    /// A section this crate does not decode, kept as it came.
    Unknown {
        /// The section id.
        id: u16,
        /// The section's encoded text.
        raw: String,
    },
    /// A known section that failed to decode.
    Invalid {
        /// The section id.
        id: u16,
        /// The section's encoded text.
        raw: String,
        /// Why it failed.
        error: SignalError,
    },
}

impl GppSection {
    /// The section id.
    pub fn id(&self) -> u16 {
        match self {
            GppSection::TcfEuV2(_) => GPP_SECTION_TCF_EU_V2,
            GppSection::UsPrivacy(_) => GPP_SECTION_US_PRIVACY,
            GppSection::UsNational(_) => GPP_SECTION_US_NATIONAL,
            GppSection::Unknown { id, .. } | GppSection::Invalid { id, .. } => *id,
        }
    }
}

/// A decoded GPP string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GppString {
    version: u8,
    sections: Vec<GppSection>,
}

impl GppString {
    /// Decodes a GPP string. The header must be valid and list exactly as many ids as
    /// there are sections; sections themselves never fail the string (see
    /// [`GppSection::Unknown`] and [`GppSection::Invalid`]).
    pub fn parse(input: &str) -> Result<GppString, SignalError> {
        check_len(input, FORMAT, "gppString")?;
        let mut parts = input.trim().split('~');
        let header = parts.next().unwrap_or_default();
        let encoded_sections: Vec<&str> = parts.collect();

        let bits = Bits::from_base64(header, FORMAT, "header")?;
        let mut r = BitReader::new(&bits, FORMAT);
        let header_type = r.read(6, "Type")?;
        if header_type != u64::from(GPP_HEADER_TYPE) {
            return Err(r.error(
                "Type",
                ErrorReason::UnknownSegmentType { found: header_type },
            ));
        }
        let version = r.read(6, "Version")?;
        if version != u64::from(GPP_VERSION) {
            return Err(r.error(
                "Version",
                ErrorReason::UnsupportedVersion {
                    found: version,
                    expected: "1",
                },
            ));
        }
        let section_ids = read_section_ids(&mut r, encoded_sections.len())?;
        if section_ids.len() != encoded_sections.len() {
            return Err(r.error(
                "SectionIds",
                ErrorReason::SectionCountMismatch {
                    listed: section_ids.len(),
                    present: encoded_sections.len(),
                },
            ));
        }
        let sections = section_ids
            .iter()
            .zip(encoded_sections)
            .map(|(&id, raw)| decode_section(id, raw))
            .collect();
        Ok(GppString {
            version: GPP_VERSION,
            sections,
        })
    }

    /// The GPP version; always [`GPP_VERSION`].
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The section ids listed in the header, ascending.
    pub fn section_ids(&self) -> Vec<u16> {
        self.sections.iter().map(GppSection::id).collect()
    }

    /// All sections, in header order.
    pub fn sections(&self) -> &[GppSection] {
        &self.sections
    }

    /// The TCF EU v2 section, when present and valid.
    pub fn tcf_eu_v2(&self) -> Option<&TcString> {
        self.sections.iter().find_map(|section| match section {
            GppSection::TcfEuV2(tc) => Some(tc.as_ref()),
            _ => None,
        })
    }

    /// The US Privacy section, when present and valid.
    pub fn us_privacy(&self) -> Option<&UsPrivacy> {
        self.sections.iter().find_map(|section| match section {
            GppSection::UsPrivacy(usp) => Some(usp),
            _ => None,
        })
    }

    /// The US National section, when present and valid.
    pub fn us_national(&self) -> Option<&UsNational> {
        self.sections.iter().find_map(|section| match section {
            GppSection::UsNational(usnat) => Some(usnat),
            _ => None,
        })
    }

    /// Sections this crate does not decode, as `(id, raw)`.
    pub fn unknown_sections(&self) -> impl Iterator<Item = (u16, &str)> + '_ {
        self.sections.iter().filter_map(|section| match section {
            GppSection::Unknown { id, raw } => Some((*id, raw.as_str())),
            _ => None,
        })
    }

    /// Known sections that failed to decode, as `(id, error)`.
    pub fn invalid_sections(&self) -> impl Iterator<Item = (u16, &SignalError)> + '_ {
        self.sections.iter().filter_map(|section| match section {
            GppSection::Invalid { id, error, .. } => Some((*id, error)),
            _ => None,
        })
    }
}

/// Reads the Fibonacci-coded section id range. Ids grow strictly (offsets are at least 1),
/// and expansion stops as soon as it passes `sections_present`, so a forged range cannot
/// make us allocate more ids than the string has sections.
fn read_section_ids(
    r: &mut BitReader<'_>,
    sections_present: usize,
) -> Result<Vec<u16>, SignalError> {
    const FIELD: &str = "SectionIds";
    let count = r.read(12, FIELD)?;
    let mut ids: Vec<u16> = Vec::new();
    let mut last = 0u64;
    let too_many = |listed: usize| ErrorReason::SectionCountMismatch {
        listed,
        present: sections_present,
    };
    for _ in 0..count {
        let is_range = r.read_bool(FIELD)?;
        let start = last + r.read_fibonacci(FIELD)?;
        let end = if is_range {
            start + r.read_fibonacci(FIELD)?
        } else {
            start
        };
        let span = usize::try_from(end - start + 1).unwrap_or(usize::MAX);
        let listed = ids.len().saturating_add(span);
        if listed > sections_present {
            return Err(r.error(FIELD, too_many(listed)));
        }
        for id in start..=end {
            ids.push(u16::try_from(id).map_err(|_| r.error(FIELD, ErrorReason::Overflow))?);
        }
        last = end;
    }
    Ok(ids)
}

fn decode_section(id: u16, raw: &str) -> GppSection {
    let decoded = match id {
        GPP_SECTION_TCF_EU_V2 => TcString::parse(raw).map(|tc| GppSection::TcfEuV2(Box::new(tc))),
        GPP_SECTION_US_PRIVACY => UsPrivacy::parse(raw).map(GppSection::UsPrivacy),
        GPP_SECTION_US_NATIONAL => UsNational::parse(raw).map(GppSection::UsNational),
        _ => {
            return GppSection::Unknown {
                id,
                raw: raw.to_owned(),
            };
        }
    };
    decoded.unwrap_or_else(|error| GppSection::Invalid {
        id,
        raw: raw.to_owned(),
        error,
    })
}
