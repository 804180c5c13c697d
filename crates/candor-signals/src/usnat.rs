//! The GPP US National Privacy section (`usnat`, section id 7).
//!
//! Layout per the IAB "GPP Extension: IAB Privacy's US National Privacy Technical
//! Specification": a core segment of 2-bit fields, then optionally `.` and a GPC
//! sub-section (SubsectionType 2 bits = 1, Gpc 1 bit).
//!
//! Two core layouts exist. The first release had 12 SensitiveDataProcessing entries and 2
//! KnownChildSensitiveDataConsents (60 bits); the revision added categories, giving 16 and
//! 3 (70 bits). Version 2 always uses the longer layout. Version 1 strings were written
//! with both, so, as the reference GPP libraries do, a version 1 core too short for the
//! longer layout is read with the shorter one.

use crate::bits::{BitReader, Bits};
use crate::error::{ErrorReason, SignalError, SignalFormat, check_len};

const FORMAT: SignalFormat = SignalFormat::UsNational;

/// Bits in a core segment with the revised (16/3) layout.
const CORE_BITS_REVISED: usize = 70;

/// Which core layout a `usnat` section used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsNatLayout {
    /// 12 sensitive data categories, 2 known-child consents.
    Original,
    /// 16 sensitive data categories, 3 known-child consents.
    Revised,
}

/// A notice field: whether the consumer was given a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// 0.
    NotApplicable,
    /// 1: notice was provided.
    Provided,
    /// 2: notice was not provided.
    NotProvided,
}

/// An opt-out field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptOut {
    /// 0.
    NotApplicable,
    /// 1: the consumer opted out.
    OptedOut,
    /// 2: the consumer did not opt out.
    DidNotOptOut,
}

/// A consent field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consent {
    /// 0.
    NotApplicable,
    /// 1: no consent.
    NoConsent,
    /// 2: consent.
    Consent,
}

/// An MSPA mode field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MspaMode {
    /// 0.
    NotApplicable,
    /// 1: yes.
    Yes,
    /// 2: no.
    No,
}

/// A decoded `usnat` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsNational {
    version: u8,
    layout: UsNatLayout,
    sharing_notice: Notice,
    sale_opt_out_notice: Notice,
    sharing_opt_out_notice: Notice,
    targeted_advertising_opt_out_notice: Notice,
    sensitive_data_processing_opt_out_notice: Notice,
    sensitive_data_limit_use_notice: Notice,
    sale_opt_out: OptOut,
    sharing_opt_out: OptOut,
    targeted_advertising_opt_out: OptOut,
    sensitive_data_processing: Vec<OptOut>,
    known_child_sensitive_data_consents: Vec<Consent>,
    personal_data_consents: Consent,
    mspa_covered_transaction: MspaMode,
    mspa_opt_out_option_mode: MspaMode,
    mspa_service_provider_mode: MspaMode,
    gpc: Option<bool>,
}

impl UsNational {
    /// Decodes a `usnat` section (core segment, optionally `.` and sub-sections).
    ///
    /// Refuses versions other than 1 and 2, truncated fields and the reserved 2-bit value
    /// 3. Sub-sections of unknown type are skipped, so a future
    /// sub-section cannot hide the opt-outs of the core.
    pub fn parse(input: &str) -> Result<UsNational, SignalError> {
        check_len(input, FORMAT, "usnat")?;
        let mut segments = input.trim().split('.');
        let core = segments.next().unwrap_or_default();
        let bits = Bits::from_base64(core, FORMAT, "core")?;
        let mut r = BitReader::new(&bits, FORMAT);
        let version = r.read(6, "Version")?;
        let layout = match version {
            1 if bits.len() < CORE_BITS_REVISED => UsNatLayout::Original,
            1 | 2 => UsNatLayout::Revised,
            found => {
                return Err(r.error(
                    "Version",
                    ErrorReason::UnsupportedVersion {
                        found,
                        expected: "1 or 2",
                    },
                ));
            }
        };
        let (sensitive_len, child_len) = match layout {
            UsNatLayout::Original => (12, 2),
            UsNatLayout::Revised => (16, 3),
        };
        let sharing_notice = notice(&mut r, "SharingNotice")?;
        let sale_opt_out_notice = notice(&mut r, "SaleOptOutNotice")?;
        let sharing_opt_out_notice = notice(&mut r, "SharingOptOutNotice")?;
        let targeted_advertising_opt_out_notice =
            notice(&mut r, "TargetedAdvertisingOptOutNotice")?;
        let sensitive_data_processing_opt_out_notice =
            notice(&mut r, "SensitiveDataProcessingOptOutNotice")?;
        let sensitive_data_limit_use_notice = notice(&mut r, "SensitiveDataLimitUseNotice")?;
        let sale_opt_out = opt_out(&mut r, "SaleOptOut")?;
        let sharing_opt_out = opt_out(&mut r, "SharingOptOut")?;
        let targeted_advertising_opt_out = opt_out(&mut r, "TargetedAdvertisingOptOut")?;
        let sensitive_data_processing = (0..sensitive_len)
            .map(|_| opt_out(&mut r, "SensitiveDataProcessing"))
            .collect::<Result<Vec<_>, _>>()?;
        let known_child_sensitive_data_consents = (0..child_len)
            .map(|_| consent(&mut r, "KnownChildSensitiveDataConsents"))
            .collect::<Result<Vec<_>, _>>()?;
        let personal_data_consents = consent(&mut r, "PersonalDataConsents")?;
        let mspa_covered_transaction = mspa_mode(&mut r, "MspaCoveredTransaction")?;
        let mspa_opt_out_option_mode = mspa_mode(&mut r, "MspaOptOutOptionMode")?;
        let mspa_service_provider_mode = mspa_mode(&mut r, "MspaServiceProviderMode")?;

        let mut gpc = None;
        for segment in segments {
            let bits = Bits::from_base64(segment, FORMAT, "SubsectionType")?;
            let mut r = BitReader::new(&bits, FORMAT);
            if r.read(2, "SubsectionType")? != 1 {
                continue;
            }
            if gpc.is_some() {
                return Err(r.error("SubsectionType", ErrorReason::DuplicateSegment));
            }
            gpc = Some(r.read_bool("Gpc")?);
        }

        Ok(UsNational {
            version: version as u8,
            layout,
            sharing_notice,
            sale_opt_out_notice,
            sharing_opt_out_notice,
            targeted_advertising_opt_out_notice,
            sensitive_data_processing_opt_out_notice,
            sensitive_data_limit_use_notice,
            sale_opt_out,
            sharing_opt_out,
            targeted_advertising_opt_out,
            sensitive_data_processing,
            known_child_sensitive_data_consents,
            personal_data_consents,
            mspa_covered_transaction,
            mspa_opt_out_option_mode,
            mspa_service_provider_mode,
            gpc,
        })
    }

    /// The section version (1 or 2).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Which core layout was read.
    pub fn layout(&self) -> UsNatLayout {
        self.layout
    }

    /// SharingNotice.
    pub fn sharing_notice(&self) -> Notice {
        self.sharing_notice
    }

    /// SaleOptOutNotice.
    pub fn sale_opt_out_notice(&self) -> Notice {
        self.sale_opt_out_notice
    }

    /// SharingOptOutNotice.
    pub fn sharing_opt_out_notice(&self) -> Notice {
        self.sharing_opt_out_notice
    }

    /// TargetedAdvertisingOptOutNotice.
    pub fn targeted_advertising_opt_out_notice(&self) -> Notice {
        self.targeted_advertising_opt_out_notice
    }

    /// SensitiveDataProcessingOptOutNotice.
    pub fn sensitive_data_processing_opt_out_notice(&self) -> Notice {
        self.sensitive_data_processing_opt_out_notice
    }

    /// SensitiveDataLimitUseNotice.
    pub fn sensitive_data_limit_use_notice(&self) -> Notice {
        self.sensitive_data_limit_use_notice
    }

    /// SaleOptOut.
    pub fn sale_opt_out(&self) -> OptOut {
        self.sale_opt_out
    }

    /// SharingOptOut.
    pub fn sharing_opt_out(&self) -> OptOut {
        self.sharing_opt_out
    }

    /// TargetedAdvertisingOptOut.
    pub fn targeted_advertising_opt_out(&self) -> OptOut {
        self.targeted_advertising_opt_out
    }

    /// SensitiveDataProcessing, one entry per sensitive data category (12 or 16, see
    /// [`UsNational::layout`]).
    pub fn sensitive_data_processing(&self) -> &[OptOut] {
        &self.sensitive_data_processing
    }

    /// KnownChildSensitiveDataConsents (2 or 3 entries).
    pub fn known_child_sensitive_data_consents(&self) -> &[Consent] {
        &self.known_child_sensitive_data_consents
    }

    /// PersonalDataConsents.
    pub fn personal_data_consents(&self) -> Consent {
        self.personal_data_consents
    }

    /// MspaCoveredTransaction. The specification allows only yes or no, but strings in
    /// the wild carry 0, so it is read like the other MSPA fields rather than refused.
    pub fn mspa_covered_transaction(&self) -> MspaMode {
        self.mspa_covered_transaction
    }

    /// MspaOptOutOptionMode.
    pub fn mspa_opt_out_option_mode(&self) -> MspaMode {
        self.mspa_opt_out_option_mode
    }

    /// MspaServiceProviderMode.
    pub fn mspa_service_provider_mode(&self) -> MspaMode {
        self.mspa_service_provider_mode
    }

    /// Gpc from the GPC sub-section; `None` when the sub-section is absent.
    pub fn gpc(&self) -> Option<bool> {
        self.gpc
    }
}

fn two_bits(r: &mut BitReader<'_>, field: &'static str) -> Result<u64, SignalError> {
    let value = r.read(2, field)?;
    if value == 3 {
        return Err(r.error(
            field,
            ErrorReason::InvalidValue {
                value,
                allowed: "0, 1 or 2",
            },
        ));
    }
    Ok(value)
}

fn notice(r: &mut BitReader<'_>, field: &'static str) -> Result<Notice, SignalError> {
    Ok(match two_bits(r, field)? {
        0 => Notice::NotApplicable,
        1 => Notice::Provided,
        _ => Notice::NotProvided,
    })
}

fn opt_out(r: &mut BitReader<'_>, field: &'static str) -> Result<OptOut, SignalError> {
    Ok(match two_bits(r, field)? {
        0 => OptOut::NotApplicable,
        1 => OptOut::OptedOut,
        _ => OptOut::DidNotOptOut,
    })
}

fn consent(r: &mut BitReader<'_>, field: &'static str) -> Result<Consent, SignalError> {
    Ok(match two_bits(r, field)? {
        0 => Consent::NotApplicable,
        1 => Consent::NoConsent,
        _ => Consent::Consent,
    })
}

fn mspa_mode(r: &mut BitReader<'_>, field: &'static str) -> Result<MspaMode, SignalError> {
    Ok(match two_bits(r, field)? {
        0 => MspaMode::NotApplicable,
        1 => MspaMode::Yes,
        _ => MspaMode::No,
    })
}
