//! Base64url segments read as bit strings, most significant bit first.
//!
//! TCF and GPP both define their fields on the bit string that base64url characters spell,
//! six bits per character, not on the bytes a base64 decoder would produce: a 5-character
//! GPP header carries 30 meaningful bits, which a byte decoder would cut to 24. So the
//! decoding here is per character.

use crate::error::{ErrorReason, SignalError, SignalFormat};

/// The bits of one base64url segment.
pub(crate) struct Bits {
    /// One 6-bit value per input character.
    sextets: Vec<u8>,
}

impl Bits {
    /// Decodes a segment. Accepts the URL-safe alphabet and, leniently, the standard one
    /// (`+`, `/`), with or without trailing `=` padding.
    pub(crate) fn from_base64(
        segment: &str,
        format: SignalFormat,
        field: &'static str,
    ) -> Result<Bits, SignalError> {
        let unpadded = segment.trim_end_matches('=');
        // Padding is at most two characters in base64; more is not padding but garbage.
        if segment.len() - unpadded.len() > 2 {
            let position = unpadded.len() + 2;
            return Err(SignalError::new(
                format,
                field,
                ErrorReason::InvalidCharacter {
                    character: '=',
                    position,
                },
            ));
        }
        if unpadded.is_empty() {
            return Err(SignalError::new(format, field, ErrorReason::Empty));
        }
        let mut sextets = Vec::with_capacity(unpadded.len());
        for (position, character) in unpadded.char_indices() {
            let value = match character {
                'A'..='Z' => character as u8 - b'A',
                'a'..='z' => character as u8 - b'a' + 26,
                '0'..='9' => character as u8 - b'0' + 52,
                '-' | '+' => 62,
                '_' | '/' => 63,
                _ => {
                    return Err(SignalError::new(
                        format,
                        field,
                        ErrorReason::InvalidCharacter {
                            character,
                            position,
                        },
                    ));
                }
            };
            sextets.push(value);
        }
        Ok(Bits { sextets })
    }

    pub(crate) fn len(&self) -> usize {
        self.sextets.len() * 6
    }

    fn bit(&self, index: usize) -> Option<bool> {
        let sextet = self.sextets.get(index / 6)?;
        Some((sextet >> (5 - index % 6)) & 1 == 1)
    }
}

/// A cursor over [`Bits`] whose reads fail with the field being read.
pub(crate) struct BitReader<'a> {
    bits: &'a Bits,
    position: usize,
    format: SignalFormat,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bits: &'a Bits, format: SignalFormat) -> Self {
        BitReader {
            bits,
            position: 0,
            format,
        }
    }

    pub(crate) fn error(&self, field: &'static str, reason: ErrorReason) -> SignalError {
        SignalError::new(self.format, field, reason)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bits.len().saturating_sub(self.position)
    }

    /// Reads an unsigned integer of `width` bits (at most 64).
    pub(crate) fn read(&mut self, width: usize, field: &'static str) -> Result<u64, SignalError> {
        debug_assert!(width <= 64, "fields are at most 64 bits wide");
        if self.remaining() < width {
            return Err(self.error(field, ErrorReason::Truncated { bits: width }));
        }
        let mut value = 0u64;
        for _ in 0..width {
            let bit = self
                .bits
                .bit(self.position)
                .ok_or_else(|| self.error(field, ErrorReason::Truncated { bits: width }))?;
            value = (value << 1) | u64::from(bit);
            self.position += 1;
        }
        Ok(value)
    }

    pub(crate) fn read_u8(&mut self, width: usize, field: &'static str) -> Result<u8, SignalError> {
        debug_assert!(width <= 8);
        let value = self.read(width, field)?;
        u8::try_from(value).map_err(|_| self.error(field, ErrorReason::Overflow))
    }

    pub(crate) fn read_u16(
        &mut self,
        width: usize,
        field: &'static str,
    ) -> Result<u16, SignalError> {
        debug_assert!(width <= 16);
        let value = self.read(width, field)?;
        u16::try_from(value).map_err(|_| self.error(field, ErrorReason::Overflow))
    }

    pub(crate) fn read_bool(&mut self, field: &'static str) -> Result<bool, SignalError> {
        Ok(self.read(1, field)? == 1)
    }

    /// Reads `width` flags where the first bit is id 1 (TCF and GPP "bitfield" fields).
    pub(crate) fn read_flags(
        &mut self,
        width: u8,
        field: &'static str,
    ) -> Result<IdFlags, SignalError> {
        let bits = self.read(usize::from(width), field)?;
        Ok(IdFlags::from_msb_first(bits, width))
    }

    /// Reads a Fibonacci-coded positive integer (Zeckendorf bits, least significant first,
    /// closed by an extra `1`), as GPP uses for section id offsets.
    pub(crate) fn read_fibonacci(&mut self, field: &'static str) -> Result<u64, SignalError> {
        // Offsets are section ids; anything past this would not fit and is refused rather
        // than read for ever.
        const FIBONACCI_VALUE_MAX: u64 = u16::MAX as u64;
        let (mut weight, mut next) = (1u64, 2u64);
        let mut value = 0u64;
        let mut previous = false;
        // Every pass consumes one bit, so the loop ends at the latest with the input.
        loop {
            let bit = self.read_bool(field)?;
            if bit && previous {
                return Ok(value);
            }
            if bit {
                value = value.saturating_add(weight);
                if value > FIBONACCI_VALUE_MAX {
                    return Err(self.error(field, ErrorReason::Overflow));
                }
            }
            previous = bit;
            (weight, next) = (next, weight.saturating_add(next));
        }
    }
}

/// A small set of ids `1..=capacity` (purposes, special features, custom purposes), stored
/// as a bit mask.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IdFlags {
    /// Bit `id - 1` is set when `id` is in the set.
    mask: u64,
    capacity: u8,
}

impl IdFlags {
    fn from_msb_first(bits: u64, width: u8) -> IdFlags {
        let mut mask = 0u64;
        for index in 0..width {
            if (bits >> (width - 1 - index)) & 1 == 1 {
                mask |= 1 << index;
            }
        }
        IdFlags {
            mask,
            capacity: width,
        }
    }

    /// Builds a set of capacity `capacity` (at most 64) from ids; ids outside
    /// `1..=capacity` are ignored.
    pub fn from_ids(capacity: u8, ids: impl IntoIterator<Item = u8>) -> IdFlags {
        let capacity = capacity.min(64);
        let mut mask = 0u64;
        for id in ids {
            if (1..=capacity).contains(&id) {
                mask |= 1 << (id - 1);
            }
        }
        IdFlags { mask, capacity }
    }

    /// Whether `id` is in the set; `false` for 0 and for ids past the capacity.
    pub fn contains(&self, id: u8) -> bool {
        (1..=self.capacity).contains(&id) && (self.mask >> (id - 1)) & 1 == 1
    }

    /// How many ids the field can hold (its width on the wire).
    pub fn capacity(&self) -> u8 {
        self.capacity
    }

    /// The ids in the set, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u8> + '_ {
        (1..=self.capacity).filter(|id| self.contains(*id))
    }

    /// The number of ids in the set.
    pub fn len(&self) -> usize {
        self.mask.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.mask == 0
    }

    /// The same set cut to ids `1..=capacity`.
    pub fn truncated(&self, capacity: u8) -> IdFlags {
        IdFlags::from_ids(capacity, self.ids())
    }
}

impl std::fmt::Debug for IdFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.ids()).finish()
    }
}
