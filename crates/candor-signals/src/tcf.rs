//! IAB TCF v2.2 TC strings.
//!
//! Layout per "IAB Tech Lab – Consent string and vendor list formats v2" (TCF v2.2): a core
//! segment, then optional segments separated by `.`, each starting with a 3-bit segment
//! type: 1 disclosed vendors, 2 allowed vendors (legacy, tolerated), 3 publisher TC.
//!
//! Field names in errors follow the specification's names in lowerCamelCase.

use std::fmt;
use std::ops::RangeInclusive;

use crate::bits::{BitReader, Bits, IdFlags};
use crate::error::{ErrorReason, SignalError, SignalFormat, check_len};

/// The only TC string encoding version decoded (TCF v2.x).
pub const TCF_VERSION: u8 = 2;

/// The oldest TCF policy version accepted: 4 is the first of TCF v2.2. Strings written
/// under older policies were collected with texts that are no longer valid.
pub const TCF_POLICY_VERSION_MIN: u8 = 4;

/// Purposes are a 24-bit field on the wire.
pub const TCF_PURPOSE_SLOTS: u8 = 24;

/// Special feature opt-ins are a 12-bit field on the wire.
pub const TCF_SPECIAL_FEATURE_SLOTS: u8 = 12;

const FORMAT: SignalFormat = SignalFormat::Tcf;

/// A decoded TC string. Every field has been read and checked; the accessors cannot fail.
#[derive(Clone, PartialEq, Eq)]
pub struct TcString {
    created_ms: i64,
    last_updated_ms: i64,
    cmp_id: u16,
    cmp_version: u16,
    consent_screen: u8,
    consent_language: Alpha2,
    vendor_list_version: u16,
    tcf_policy_version: u8,
    is_service_specific: bool,
    use_non_standard_texts: bool,
    special_feature_opt_ins: IdFlags,
    purposes_consent: IdFlags,
    purposes_li_transparency: IdFlags,
    purpose_one_treatment: bool,
    publisher_cc: Alpha2,
    vendor_consents: VendorSet,
    vendor_legitimate_interests: VendorSet,
    publisher_restrictions: Vec<PublisherRestriction>,
    disclosed_vendors: Option<VendorSet>,
    allowed_vendors: Option<VendorSet>,
    publisher_tc: Option<PublisherTc>,
}

impl TcString {
    /// Decodes a TC string (core segment plus optional segments, base64url with or without
    /// padding; `+` and `/` are tolerated).
    ///
    /// Refuses strings longer than [`crate::SIGNAL_LEN_MAX`], a version other than 2, a
    /// policy version below [`TCF_POLICY_VERSION_MIN`], and any layout error (truncated
    /// fields, a range ending before its start, an unknown or repeated segment type).
    pub fn parse(input: &str) -> Result<TcString, SignalError> {
        Self::parse_with_policy_min(input, TCF_POLICY_VERSION_MIN)
    }

    /// [`TcString::parse`] with a different policy floor; only tests reading published
    /// pre-2.2 vectors lower it.
    pub(crate) fn parse_with_policy_min(
        input: &str,
        policy_version_min: u8,
    ) -> Result<TcString, SignalError> {
        check_len(input, FORMAT, "tcString")?;
        let mut segments = input.trim().split('.');
        let core = segments.next().unwrap_or_default();
        let core_bits = Bits::from_base64(core, FORMAT, "core")?;
        let mut tc = decode_core(&mut BitReader::new(&core_bits, FORMAT), policy_version_min)?;
        for segment in segments {
            let bits = Bits::from_base64(segment, FORMAT, "segmentType")?;
            let mut reader = BitReader::new(&bits, FORMAT);
            match reader.read(3, "segmentType")? {
                1 => {
                    let vendors = read_vendor_section(&mut reader, &DISCLOSED_VENDORS)?;
                    set_once(&mut tc.disclosed_vendors, vendors, "disclosedVendors")?;
                }
                2 => {
                    let vendors = read_vendor_section(&mut reader, &ALLOWED_VENDORS)?;
                    set_once(&mut tc.allowed_vendors, vendors, "allowedVendors")?;
                }
                3 => {
                    let publisher = read_publisher_tc(&mut reader)?;
                    set_once(&mut tc.publisher_tc, publisher, "publisherTC")?;
                }
                found => {
                    return Err(
                        reader.error("segmentType", ErrorReason::UnknownSegmentType { found })
                    );
                }
            }
        }
        Ok(tc)
    }

    /// The encoding version; always [`TCF_VERSION`].
    pub fn version(&self) -> u8 {
        TCF_VERSION
    }

    /// When the TC string was created, in Unix milliseconds (the wire unit is deciseconds).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }

    /// When the TC string was last updated, in Unix milliseconds.
    pub fn last_updated_ms(&self) -> i64 {
        self.last_updated_ms
    }

    /// The CMP's registered id.
    pub fn cmp_id(&self) -> u16 {
        self.cmp_id
    }

    /// The CMP's own version number.
    pub fn cmp_version(&self) -> u16 {
        self.cmp_version
    }

    /// The CMP screen on which consent was collected.
    pub fn consent_screen(&self) -> u8 {
        self.consent_screen
    }

    /// The two-letter language of the CMP's texts, upper case (`EN`).
    pub fn consent_language(&self) -> Alpha2 {
        self.consent_language
    }

    /// The Global Vendor List version the CMP used.
    pub fn vendor_list_version(&self) -> u16 {
        self.vendor_list_version
    }

    /// The TCF policy version; at least [`TCF_POLICY_VERSION_MIN`].
    pub fn tcf_policy_version(&self) -> u8 {
        self.tcf_policy_version
    }

    /// Whether the signals apply to this service only rather than globally.
    pub fn is_service_specific(&self) -> bool {
        self.is_service_specific
    }

    /// Whether the publisher customised the standard purpose texts.
    pub fn use_non_standard_texts(&self) -> bool {
        self.use_non_standard_texts
    }

    /// Special feature opt-ins (ids 1..=12).
    pub fn special_feature_opt_ins(&self) -> IdFlags {
        self.special_feature_opt_ins
    }

    /// Purposes the user consented to (ids 1..=24).
    pub fn purposes_consent(&self) -> IdFlags {
        self.purposes_consent
    }

    /// Purposes whose legitimate interest was disclosed and not objected to (ids 1..=24).
    pub fn purposes_li_transparency(&self) -> IdFlags {
        self.purposes_li_transparency
    }

    /// Whether purpose 1 was not disclosed (publisher-country special treatment).
    pub fn purpose_one_treatment(&self) -> bool {
        self.purpose_one_treatment
    }

    /// The publisher's country code (`AA` when unknown), upper case.
    pub fn publisher_cc(&self) -> Alpha2 {
        self.publisher_cc
    }

    /// Vendors with the user's consent.
    pub fn vendor_consents(&self) -> &VendorSet {
        &self.vendor_consents
    }

    /// Vendors whose legitimate interest was established.
    pub fn vendor_legitimate_interests(&self) -> &VendorSet {
        &self.vendor_legitimate_interests
    }

    /// Publisher restrictions, in wire order.
    pub fn publisher_restrictions(&self) -> &[PublisherRestriction] {
        &self.publisher_restrictions
    }

    /// The disclosed vendors segment, when present.
    pub fn disclosed_vendors(&self) -> Option<&VendorSet> {
        self.disclosed_vendors.as_ref()
    }

    /// The legacy allowed vendors segment, when present.
    pub fn allowed_vendors(&self) -> Option<&VendorSet> {
        self.allowed_vendors.as_ref()
    }

    /// The publisher TC segment, when present.
    pub fn publisher_tc(&self) -> Option<&PublisherTc> {
        self.publisher_tc.as_ref()
    }

    /// Whether `vendor_id` has the user's consent.
    pub fn vendor_consent(&self, vendor_id: u16) -> bool {
        self.vendor_consents.contains(vendor_id)
    }

    /// Whether `vendor_id` has an established legitimate interest.
    pub fn vendor_li(&self, vendor_id: u16) -> bool {
        self.vendor_legitimate_interests.contains(vendor_id)
    }

    /// Whether the user consented to purpose `n` (1-based; false out of range).
    pub fn purpose_consent(&self, n: u8) -> bool {
        self.purposes_consent.contains(n)
    }

    /// Whether legitimate interest for purpose `n` stands (1-based; false out of range).
    pub fn purpose_li(&self, n: u8) -> bool {
        self.purposes_li_transparency.contains(n)
    }

    /// Whether the user opted in to special feature `n` (1-based; false out of range).
    pub fn special_feature(&self, n: u8) -> bool {
        self.special_feature_opt_ins.contains(n)
    }

    /// The strictest publisher restriction on `vendor_id` for `purpose_id`, if any
    /// ("not allowed" over "require consent" over "require legitimate interest").
    pub fn restriction_for(&self, vendor_id: u16, purpose_id: u8) -> Option<RestrictionType> {
        self.publisher_restrictions
            .iter()
            .filter(|r| r.purpose_id == purpose_id && r.applies_to(vendor_id))
            .map(|r| r.restriction_type)
            .min()
    }
}

impl fmt::Debug for TcString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcString")
            .field("created_ms", &self.created_ms)
            .field("last_updated_ms", &self.last_updated_ms)
            .field("cmp_id", &self.cmp_id)
            .field("cmp_version", &self.cmp_version)
            .field("consent_screen", &self.consent_screen)
            .field("consent_language", &self.consent_language)
            .field("vendor_list_version", &self.vendor_list_version)
            .field("tcf_policy_version", &self.tcf_policy_version)
            .field("is_service_specific", &self.is_service_specific)
            .field("use_non_standard_texts", &self.use_non_standard_texts)
            .field("special_feature_opt_ins", &self.special_feature_opt_ins)
            .field("purposes_consent", &self.purposes_consent)
            .field("purposes_li_transparency", &self.purposes_li_transparency)
            .field("purpose_one_treatment", &self.purpose_one_treatment)
            .field("publisher_cc", &self.publisher_cc)
            .field("vendor_consents", &self.vendor_consents)
            .field(
                "vendor_legitimate_interests",
                &self.vendor_legitimate_interests,
            )
            .field("publisher_restrictions", &self.publisher_restrictions)
            .field("disclosed_vendors", &self.disclosed_vendors)
            .field("allowed_vendors", &self.allowed_vendors)
            .field("publisher_tc", &self.publisher_tc)
            .finish()
    }
}

/// A two-letter upper-case code (ISO 639-1 language, ISO 3166-1 country), as TCF encodes
/// it: two 6-bit letters where 0 is `A`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Alpha2([u8; 2]);

impl Alpha2 {
    /// The code as a string, for example `"EN"`.
    pub fn as_str(&self) -> &str {
        // Both bytes are in b'A'..=b'Z' by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for Alpha2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Alpha2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a vendor section was encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VendorEncoding {
    /// One bit per vendor id up to `maxVendorId`.
    BitField,
    /// A list of single ids and id ranges.
    Range,
}

/// A set of vendor ids (1..=65535) decoded from a vendor section.
#[derive(Clone, PartialEq, Eq)]
pub struct VendorSet {
    max_vendor_id: u16,
    encoding: VendorEncoding,
    /// Bit `id % 64` of word `id / 64` is set when `id` is in the set.
    words: Vec<u64>,
}

impl VendorSet {
    fn new(max_vendor_id: u16, encoding: VendorEncoding) -> VendorSet {
        VendorSet {
            max_vendor_id,
            encoding,
            words: Vec::new(),
        }
    }

    fn insert_range(&mut self, start: u16, end: u16) {
        let (first, last) = (usize::from(start), usize::from(end));
        let words_len = last / 64 + 1;
        if self.words.len() < words_len {
            self.words.resize(words_len, 0);
        }
        let mut id = first;
        while id <= last {
            let word = id / 64;
            let low = id % 64;
            let high = if last / 64 == word { last % 64 } else { 63 };
            let span = high - low + 1;
            let mask = if span == 64 {
                u64::MAX
            } else {
                ((1u64 << span) - 1) << low
            };
            if let Some(slot) = self.words.get_mut(word) {
                *slot |= mask;
            }
            id = word * 64 + high + 1;
        }
    }

    /// Whether `vendor_id` is in the set (never true for 0).
    pub fn contains(&self, vendor_id: u16) -> bool {
        let id = usize::from(vendor_id);
        self.words
            .get(id / 64)
            .is_some_and(|word| (word >> (id % 64)) & 1 == 1)
    }

    /// The vendor ids in the set, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.words.iter().enumerate().flat_map(|(index, &word)| {
            (0..64usize)
                .filter(move |bit| (word >> bit) & 1 == 1)
                .filter_map(move |bit| u16::try_from(index * 64 + bit).ok())
        })
    }

    /// The number of vendors in the set.
    pub fn len(&self) -> usize {
        self.words
            .iter()
            .map(|word| word.count_ones() as usize)
            .sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|word| *word == 0)
    }

    /// The section's declared `maxVendorId`.
    pub fn max_vendor_id(&self) -> u16 {
        self.max_vendor_id
    }

    /// How the section was encoded.
    pub fn encoding(&self) -> VendorEncoding {
        self.encoding
    }
}

impl fmt::Debug for VendorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}

/// What a publisher restriction requires for a purpose (TCF `RestrictionType`). Ordered
/// from the strictest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RestrictionType {
    /// 0: the purpose is not allowed for these vendors.
    NotAllowed,
    /// 1: the vendors need consent for the purpose.
    RequireConsent,
    /// 2: the vendors need legitimate interest for the purpose.
    RequireLegitimateInterest,
    /// 3: reserved by the specification; carries no restriction.
    Undefined,
}

impl RestrictionType {
    /// The wire value (0..=3).
    pub fn code(self) -> u8 {
        match self {
            RestrictionType::NotAllowed => 0,
            RestrictionType::RequireConsent => 1,
            RestrictionType::RequireLegitimateInterest => 2,
            RestrictionType::Undefined => 3,
        }
    }
}

/// One publisher restriction: a purpose, what it requires, and the vendors it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherRestriction {
    purpose_id: u8,
    restriction_type: RestrictionType,
    vendor_ranges: Vec<RangeInclusive<u16>>,
}

impl PublisherRestriction {
    /// The restricted purpose.
    pub fn purpose_id(&self) -> u8 {
        self.purpose_id
    }

    /// What the restriction requires.
    pub fn restriction_type(&self) -> RestrictionType {
        self.restriction_type
    }

    /// The covered vendors as inclusive ranges, in wire order (a single id is a range of
    /// one).
    pub fn vendor_ranges(&self) -> &[RangeInclusive<u16>] {
        &self.vendor_ranges
    }

    /// Whether the restriction covers `vendor_id`.
    pub fn applies_to(&self, vendor_id: u16) -> bool {
        self.vendor_ranges
            .iter()
            .any(|range| range.contains(&vendor_id))
    }

    /// The covered vendor ids, in wire order (ranges expanded lazily).
    pub fn vendor_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.vendor_ranges.iter().flat_map(|range| range.clone())
    }
}

/// The publisher TC segment: the publisher's own purposes and custom purposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherTc {
    purposes_consent: IdFlags,
    purposes_li_transparency: IdFlags,
    custom_purposes_consent: IdFlags,
    custom_purposes_li_transparency: IdFlags,
}

impl PublisherTc {
    /// Publisher purposes with consent (ids 1..=24).
    pub fn purposes_consent(&self) -> IdFlags {
        self.purposes_consent
    }

    /// Publisher purposes with legitimate interest (ids 1..=24).
    pub fn purposes_li_transparency(&self) -> IdFlags {
        self.purposes_li_transparency
    }

    /// The number of custom purposes the publisher defined (0..=63).
    pub fn num_custom_purposes(&self) -> u8 {
        self.custom_purposes_consent.capacity()
    }

    /// Custom purposes with consent.
    pub fn custom_purposes_consent(&self) -> IdFlags {
        self.custom_purposes_consent
    }

    /// Custom purposes with legitimate interest.
    pub fn custom_purposes_li_transparency(&self) -> IdFlags {
        self.custom_purposes_li_transparency
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, field: &'static str) -> Result<(), SignalError> {
    if slot.is_some() {
        return Err(SignalError::new(
            FORMAT,
            field,
            ErrorReason::DuplicateSegment,
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn decode_core(r: &mut BitReader<'_>, policy_version_min: u8) -> Result<TcString, SignalError> {
    let version = r.read(6, "version")?;
    if version != u64::from(TCF_VERSION) {
        return Err(r.error(
            "version",
            ErrorReason::UnsupportedVersion {
                found: version,
                expected: "2",
            },
        ));
    }
    // 36 bits of deciseconds times 100 stays far below i64::MAX.
    let created_ms = r.read(36, "created")? as i64 * 100;
    let last_updated_ms = r.read(36, "lastUpdated")? as i64 * 100;
    let cmp_id = r.read_u16(12, "cmpId")?;
    let cmp_version = r.read_u16(12, "cmpVersion")?;
    let consent_screen = r.read_u8(6, "consentScreen")?;
    let consent_language = read_alpha2(r, "consentLanguage")?;
    let vendor_list_version = r.read_u16(12, "vendorListVersion")?;
    let tcf_policy_version = r.read_u8(6, "tcfPolicyVersion")?;
    if tcf_policy_version < policy_version_min {
        return Err(r.error(
            "tcfPolicyVersion",
            ErrorReason::PolicyVersionTooOld {
                found: u64::from(tcf_policy_version),
                min: policy_version_min,
            },
        ));
    }
    let is_service_specific = r.read_bool("isServiceSpecific")?;
    let use_non_standard_texts = r.read_bool("useNonStandardTexts")?;
    let special_feature_opt_ins =
        r.read_flags(TCF_SPECIAL_FEATURE_SLOTS, "specialFeatureOptIns")?;
    let purposes_consent = r.read_flags(TCF_PURPOSE_SLOTS, "purposesConsent")?;
    let purposes_li_transparency = r.read_flags(TCF_PURPOSE_SLOTS, "purposesLITransparency")?;
    let purpose_one_treatment = r.read_bool("purposeOneTreatment")?;
    let publisher_cc = read_alpha2(r, "publisherCC")?;
    let vendor_consents = read_vendor_section(r, &VENDOR_CONSENTS)?;
    let vendor_legitimate_interests = read_vendor_section(r, &VENDOR_LEGITIMATE_INTERESTS)?;
    let publisher_restrictions = read_publisher_restrictions(r)?;
    Ok(TcString {
        created_ms,
        last_updated_ms,
        cmp_id,
        cmp_version,
        consent_screen,
        consent_language,
        vendor_list_version,
        tcf_policy_version,
        is_service_specific,
        use_non_standard_texts,
        special_feature_opt_ins,
        purposes_consent,
        purposes_li_transparency,
        purpose_one_treatment,
        publisher_cc,
        vendor_consents,
        vendor_legitimate_interests,
        publisher_restrictions,
        disclosed_vendors: None,
        allowed_vendors: None,
        publisher_tc: None,
    })
}

fn read_alpha2(r: &mut BitReader<'_>, field: &'static str) -> Result<Alpha2, SignalError> {
    let mut letters = [0u8; 2];
    for letter in &mut letters {
        let value = r.read_u8(6, field)?;
        if value > 25 {
            return Err(r.error(
                field,
                ErrorReason::InvalidValue {
                    value: u64::from(value),
                    allowed: "letters A..Z, 0..=25",
                },
            ));
        }
        *letter = b'A' + value;
    }
    Ok(Alpha2(letters))
}

/// Names of the fields of one vendor section, so errors say which section failed.
struct VendorFields {
    max_vendor_id: &'static str,
    is_range_encoding: &'static str,
    bit_field: &'static str,
    num_entries: &'static str,
    is_a_range: &'static str,
    start_or_only_vendor_id: &'static str,
    end_vendor_id: &'static str,
}

macro_rules! vendor_fields {
    ($name:ident, $prefix:literal) => {
        const $name: VendorFields = VendorFields {
            max_vendor_id: concat!($prefix, ".maxVendorId"),
            is_range_encoding: concat!($prefix, ".isRangeEncoding"),
            bit_field: concat!($prefix, ".bitField"),
            num_entries: concat!($prefix, ".numEntries"),
            is_a_range: concat!($prefix, ".isARange"),
            start_or_only_vendor_id: concat!($prefix, ".startOrOnlyVendorId"),
            end_vendor_id: concat!($prefix, ".endVendorId"),
        };
    };
}

vendor_fields!(VENDOR_CONSENTS, "vendorConsents");
vendor_fields!(VENDOR_LEGITIMATE_INTERESTS, "vendorLegitimateInterests");
vendor_fields!(DISCLOSED_VENDORS, "disclosedVendors");
vendor_fields!(ALLOWED_VENDORS, "allowedVendors");

fn read_vendor_section(
    r: &mut BitReader<'_>,
    fields: &VendorFields,
) -> Result<VendorSet, SignalError> {
    let max_vendor_id = r.read_u16(16, fields.max_vendor_id)?;
    let is_range_encoding = r.read_bool(fields.is_range_encoding)?;
    if !is_range_encoding {
        let mut set = VendorSet::new(max_vendor_id, VendorEncoding::BitField);
        if r.remaining() < usize::from(max_vendor_id) {
            return Err(r.error(
                fields.bit_field,
                ErrorReason::Truncated {
                    bits: usize::from(max_vendor_id),
                },
            ));
        }
        for vendor_id in 1..=max_vendor_id {
            if r.read_bool(fields.bit_field)? {
                set.insert_range(vendor_id, vendor_id);
            }
        }
        return Ok(set);
    }
    let mut set = VendorSet::new(max_vendor_id, VendorEncoding::Range);
    let num_entries = r.read(12, fields.num_entries)?;
    for _ in 0..num_entries {
        let range = read_range_entry(
            r,
            fields.is_a_range,
            fields.start_or_only_vendor_id,
            fields.end_vendor_id,
        )?;
        set.insert_range(*range.start(), *range.end());
    }
    Ok(set)
}

fn read_range_entry(
    r: &mut BitReader<'_>,
    is_a_range_field: &'static str,
    start_field: &'static str,
    end_field: &'static str,
) -> Result<RangeInclusive<u16>, SignalError> {
    let is_a_range = r.read_bool(is_a_range_field)?;
    let start = r.read_u16(16, start_field)?;
    if start == 0 {
        return Err(r.error(start_field, ErrorReason::VendorIdZero));
    }
    if !is_a_range {
        return Ok(start..=start);
    }
    let end = r.read_u16(16, end_field)?;
    if end < start {
        return Err(r.error(
            end_field,
            ErrorReason::RangeEndBeforeStart {
                start: u64::from(start),
                end: u64::from(end),
            },
        ));
    }
    Ok(start..=end)
}

fn read_publisher_restrictions(
    r: &mut BitReader<'_>,
) -> Result<Vec<PublisherRestriction>, SignalError> {
    let count = r.read(12, "pubRestrictions.numPubRestrictions")?;
    let mut restrictions = Vec::new();
    for _ in 0..count {
        let purpose_id = r.read_u8(6, "pubRestrictions.purposeId")?;
        let restriction_type = match r.read(2, "pubRestrictions.restrictionType")? {
            0 => RestrictionType::NotAllowed,
            1 => RestrictionType::RequireConsent,
            2 => RestrictionType::RequireLegitimateInterest,
            _ => RestrictionType::Undefined,
        };
        let num_entries = r.read(12, "pubRestrictions.numEntries")?;
        let mut vendor_ranges = Vec::new();
        for _ in 0..num_entries {
            vendor_ranges.push(read_range_entry(
                r,
                "pubRestrictions.isARange",
                "pubRestrictions.startOrOnlyVendorId",
                "pubRestrictions.endVendorId",
            )?);
        }
        restrictions.push(PublisherRestriction {
            purpose_id,
            restriction_type,
            vendor_ranges,
        });
    }
    Ok(restrictions)
}

fn read_publisher_tc(r: &mut BitReader<'_>) -> Result<PublisherTc, SignalError> {
    let purposes_consent = r.read_flags(TCF_PURPOSE_SLOTS, "pubPurposesConsent")?;
    let purposes_li_transparency = r.read_flags(TCF_PURPOSE_SLOTS, "pubPurposesLITransparency")?;
    let num_custom_purposes = r.read_u8(6, "numCustomPurposes")?;
    let custom_purposes_consent = r.read_flags(num_custom_purposes, "customPurposesConsent")?;
    let custom_purposes_li_transparency =
        r.read_flags(num_custom_purposes, "customPurposesLITransparency")?;
    Ok(PublisherTc {
        purposes_consent,
        purposes_li_transparency,
        custom_purposes_consent,
        custom_purposes_li_transparency,
    })
}

#[cfg(test)]
mod tests;
