//! A test-only TC string encoder, written from the TCF v2.2 layout, so property tests can
//! round-trip arbitrary models through the decoder.

use std::collections::BTreeSet;

/// Appends fixed-width integers to a bit string and spells it as base64url.
#[derive(Default)]
pub struct BitWriter {
    bits: Vec<bool>,
}

impl BitWriter {
    pub fn int(&mut self, value: u64, width: usize) -> &mut Self {
        for shift in (0..width).rev() {
            self.bits.push((value >> shift) & 1 == 1);
        }
        self
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.bits.push(value);
        self
    }

    pub fn base64url(&self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.bits
            .chunks(6)
            .map(|chunk| {
                let value = (0..6).fold(0usize, |acc, i| {
                    acc * 2 + usize::from(chunk.get(i).copied().unwrap_or(false))
                });
                char::from(ALPHABET[value])
            })
            .collect()
    }
}

/// A set of vendor ids and the encoding to write it with.
#[derive(Debug, Clone)]
pub struct Vendors {
    pub ids: BTreeSet<u16>,
    pub as_ranges: bool,
}

#[derive(Debug, Clone)]
pub struct Restriction {
    pub purpose_id: u8,
    pub restriction_type: u8,
    pub ranges: Vec<(u16, u16)>,
}

#[derive(Debug, Clone)]
pub struct Publisher {
    pub consents: u32,
    pub legitimate_interests: u32,
    pub num_custom: u8,
    pub custom_consents: u64,
    pub custom_legitimate_interests: u64,
}

/// Everything a TC string carries, with wire-width values.
#[derive(Debug, Clone)]
pub struct TcModel {
    pub created_ds: u64,
    pub last_updated_ds: u64,
    pub cmp_id: u16,
    pub cmp_version: u16,
    pub consent_screen: u8,
    pub language: [u8; 2],
    pub vendor_list_version: u16,
    pub policy_version: u8,
    pub is_service_specific: bool,
    pub use_non_standard_texts: bool,
    pub special_features: u16,
    pub purposes_consent: u32,
    pub purposes_li: u32,
    pub purpose_one_treatment: bool,
    pub country: [u8; 2],
    pub vendor_consents: Vendors,
    pub vendor_li: Vendors,
    pub restrictions: Vec<Restriction>,
    pub disclosed: Option<Vendors>,
    pub allowed: Option<Vendors>,
    pub publisher: Option<Publisher>,
}

fn ranges_of(ids: &BTreeSet<u16>) -> Vec<(u16, u16)> {
    let mut ranges: Vec<(u16, u16)> = Vec::new();
    for &id in ids {
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(id) => *end = id,
            _ => ranges.push((id, id)),
        }
    }
    ranges
}

fn write_range_entries(w: &mut BitWriter, ranges: &[(u16, u16)]) {
    w.int(ranges.len() as u64, 12);
    for &(start, end) in ranges {
        w.bool(start != end).int(u64::from(start), 16);
        if start != end {
            w.int(u64::from(end), 16);
        }
    }
}

fn write_vendors(w: &mut BitWriter, vendors: &Vendors) {
    let max = vendors.ids.iter().next_back().copied().unwrap_or(0);
    w.int(u64::from(max), 16).bool(vendors.as_ranges);
    if vendors.as_ranges {
        write_range_entries(w, &ranges_of(&vendors.ids));
    } else {
        for id in 1..=max {
            w.bool(vendors.ids.contains(&id));
        }
    }
}

pub fn encode(model: &TcModel) -> String {
    let mut core = BitWriter::default();
    core.int(2, 6)
        .int(model.created_ds, 36)
        .int(model.last_updated_ds, 36)
        .int(u64::from(model.cmp_id), 12)
        .int(u64::from(model.cmp_version), 12)
        .int(u64::from(model.consent_screen), 6)
        .int(u64::from(model.language[0]), 6)
        .int(u64::from(model.language[1]), 6)
        .int(u64::from(model.vendor_list_version), 12)
        .int(u64::from(model.policy_version), 6)
        .bool(model.is_service_specific)
        .bool(model.use_non_standard_texts)
        .int(u64::from(model.special_features), 12)
        .int(u64::from(model.purposes_consent), 24)
        .int(u64::from(model.purposes_li), 24)
        .bool(model.purpose_one_treatment)
        .int(u64::from(model.country[0]), 6)
        .int(u64::from(model.country[1]), 6);
    write_vendors(&mut core, &model.vendor_consents);
    write_vendors(&mut core, &model.vendor_li);
    core.int(model.restrictions.len() as u64, 12);
    for r in &model.restrictions {
        core.int(u64::from(r.purpose_id), 6)
            .int(u64::from(r.restriction_type), 2);
        write_range_entries(&mut core, &r.ranges);
    }
    let mut out = core.base64url();
    if let Some(disclosed) = &model.disclosed {
        let mut w = BitWriter::default();
        w.int(1, 3);
        write_vendors(&mut w, disclosed);
        out = format!("{out}.{}", w.base64url());
    }
    if let Some(allowed) = &model.allowed {
        let mut w = BitWriter::default();
        w.int(2, 3);
        write_vendors(&mut w, allowed);
        out = format!("{out}.{}", w.base64url());
    }
    if let Some(p) = &model.publisher {
        let mut w = BitWriter::default();
        w.int(3, 3)
            .int(u64::from(p.consents), 24)
            .int(u64::from(p.legitimate_interests), 24)
            .int(u64::from(p.num_custom), 6)
            .int(p.custom_consents, usize::from(p.num_custom))
            .int(p.custom_legitimate_interests, usize::from(p.num_custom));
        out = format!("{out}.{}", w.base64url());
    }
    out
}

/// The ids set in a `width`-bit field whose first bit is id 1.
pub fn field_ids(bits: u64, width: u8) -> Vec<u8> {
    (1..=width)
        .filter(|id| (bits >> (width - id)) & 1 == 1)
        .collect()
}
