//! The tamper-evident audit chain.
//!
//! Every entry commits to its predecessor: `hash = SHA-256(prev_hash || canonical_bytes)`,
//! where the canonical bytes cover every field except `hash` itself. Changing, removing,
//! inserting or reordering any stored entry therefore breaks either the entry's own hash, the
//! link to its successor, or the sequence numbering, and [`verify`] names the first entry where
//! that happens.
//!
//! The hash is unkeyed on purpose: anyone holding the log (an auditor, a regulator) can check
//! it without a secret. The price is that someone who can write the store can rewrite the
//! *tail* of the chain consistently, or cut it short. Publishing a [`ChainHead`] elsewhere (a
//! report, an email to the privacy officer, another system) and checking with
//! [`verify_against_anchor`] closes that gap.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};

/// Version of the canonical byte layout. A new layout gets a new number so that entries hashed
/// under the old one stay verifiable.
pub const CANONICAL_FORMAT_V1: u8 = 1;

/// The `prev_hash` of the first entry of every chain.
pub const GENESIS_PREV_HASH: [u8; 32] = [0; 32];

/// Longest API key id accepted in an [`Actor`].
pub const ACTOR_KEY_ID_BYTES_MAX: usize = 64;
/// Longest [`TargetRef`].
pub const TARGET_BYTES_MAX: usize = 128;
/// Longest custom action name, purpose id, details key.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest details value. Details describe *what happened*, they are not a place for data.
pub const DETAIL_VALUE_BYTES_MAX: usize = 512;
/// Most details per entry.
pub const DETAILS_LEN_MAX: usize = 16;

/// Why a value was refused as part of an audit entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// The actor string is not one of `api_key:<id>`, `subject`, `system`, `cli`.
    #[error("unknown actor `{0}`")]
    UnknownActor(String),
    /// An identifier is empty, too long, or holds characters outside its alphabet.
    #[error("invalid {what}: must be 1..={max} bytes of {alphabet}")]
    InvalidName {
        /// Which field was refused.
        what: &'static str,
        /// Its length limit in bytes.
        max: usize,
        /// The characters it may contain.
        alphabet: &'static str,
    },
    /// A target looks like a raw external identifier (it contains `@`, for instance an email).
    #[error("the target must be a pseudonymous reference, not a raw identifier")]
    RawIdentifierTarget,
    /// A details value is longer than [`DETAIL_VALUE_BYTES_MAX`].
    #[error("a details value is longer than {DETAIL_VALUE_BYTES_MAX} bytes")]
    DetailTooLong,
    /// More than [`DETAILS_LEN_MAX`] details.
    #[error("more than {DETAILS_LEN_MAX} details")]
    TooManyDetails,
}

fn check_name(
    s: &str,
    what: &'static str,
    max: usize,
    alphabet: &'static str,
    allowed: fn(u8) -> bool,
) -> Result<(), AuditError> {
    if s.is_empty() || s.len() > max || !s.bytes().all(allowed) {
        return Err(AuditError::InvalidName {
            what,
            max,
            alphabet,
        });
    }
    Ok(())
}

fn is_snake(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// Who caused an audited action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A caller authenticated by an API key; holds the key *id*, never the secret.
    ApiKey(String),
    /// The data subject acting on their own data (privacy center, SDK).
    Subject,
    /// Candor itself: background jobs such as retention.
    System,
    /// An operator at the command line.
    Cli,
}

impl Actor {
    /// An API key actor; the id is checked so that the stored string parses back.
    pub fn api_key(key_id: &str) -> Result<Self, AuditError> {
        check_name(
            key_id,
            "API key id",
            ACTOR_KEY_ID_BYTES_MAX,
            "ASCII letters, digits, `_-.:`",
            is_token,
        )?;
        Ok(Actor::ApiKey(key_id.to_owned()))
    }

    /// Parses the stored form produced by [`fmt::Display`].
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        match s {
            "subject" => Ok(Actor::Subject),
            "system" => Ok(Actor::System),
            "cli" => Ok(Actor::Cli),
            _ => match s.strip_prefix("api_key:") {
                Some(id) => Actor::api_key(id),
                None => Err(AuditError::UnknownActor(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::ApiKey(id) => write!(f, "api_key:{id}"),
            Actor::Subject => f.write_str("subject"),
            Actor::System => f.write_str("system"),
            Actor::Cli => f.write_str("cli"),
        }
    }
}

/// The name of an action kind that has no variant of its own in [`AuditAction`].
///
/// Only [`AuditAction::parse`] makes one, and it refuses the names of the built-in kinds, so
/// every action has exactly one representation and therefore exactly one hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomAction(String);

impl CustomAction {
    /// The snake_case name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// What kind of thing happened. Stored and hashed by its stable snake_case code.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$doc])* $variant,)*
            /// A kind not (yet) listed above, by its snake_case name.
            Other(CustomAction),
        }

        impl AuditAction {
            /// The stable code stored and hashed for this action.
            pub fn code(&self) -> &str {
                match self {
                    $(AuditAction::$variant => $code,)*
                    AuditAction::Other(custom) => custom.as_str(),
                }
            }

            /// Parses a code; known codes map to their variant, other snake_case names to
            /// [`AuditAction::Other`].
            pub fn parse(code: &str) -> Result<Self, AuditError> {
                match code {
                    $($code => Ok(AuditAction::$variant),)*
                    _ => {
                        check_name(code, "action", NAME_BYTES_MAX, "`a-z0-9_`", is_snake)?;
                        Ok(AuditAction::Other(CustomAction(code.to_owned())))
                    }
                }
            }
        }
    };
}

actions! {
    /// A subject granted or withdrew consent for a purpose.
    ConsentChanged => "consent_changed",
    /// A data-subject request (access, erasure, ...) arrived.
    DsrReceived => "dsr_received",
    /// A data-subject request was completed.
    DsrCompleted => "dsr_completed",
    /// The policy file (purposes, retention, ...) changed.
    PolicyChanged => "policy_changed",
    /// An API key was created.
    KeyCreated => "key_created",
    /// An API key was revoked.
    KeyRevoked => "key_revoked",
    /// An API key was rotated: a successor made, the old key set to expire.
    KeyRotated => "key_rotated",
    /// The keys that sign visitor and subject tokens were rotated.
    TokenKeysRotated => "token_keys_rotated",
    /// A new key-encryption key was made to wrap every person's data key.
    KekRotated => "kek_rotated",
    /// Every token of one person was revoked (sign out everywhere, erasure).
    SubjectTokensRevoked => "subject_tokens_revoked",
    /// A protection of a possible minor was lifted (an older age band, another country,
    /// a parental grant), by a shop's backend, with its evidence.
    MinorProtectionLifted => "minor_protection_lifted",
    /// A campaign was run (or dry-run) against an audience.
    CampaignRun => "campaign_run",
    /// An operator or integration read a subject's personal data.
    PersonalDataRead => "personal_data_read",
    /// A subject's data was erased.
    Erasure => "erasure",
    /// A subject's data was exported.
    DataExported => "data_exported",
    /// The retention job deleted expired data.
    RetentionRun => "retention_run",
    /// A fairness report was produced.
    FairnessReported => "fairness_reported",
    /// An operator acknowledged a campaign's fairness flag, releasing held deliveries.
    FairnessAcknowledged => "fairness_acknowledged",
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What an action was about: an opaque, pseudonymous reference such as `subject:3f9a…` (a keyed
/// hash) or `policy:v7`. Never a raw external id: the audit log outlives erasure, so it must
/// not hold anything that identifies a person without the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetRef(String);

impl TargetRef {
    /// Checks the reference: 1..=[`TARGET_BYTES_MAX`] bytes of ASCII letters, digits and
    /// `_-.:`, which rules out emails, phone numbers with spaces or `+`, and free text.
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        if s.contains('@') {
            return Err(AuditError::RawIdentifierTarget);
        }
        check_name(
            s,
            "target",
            TARGET_BYTES_MAX,
            "ASCII letters, digits, `_-.:`",
            is_token,
        )?;
        Ok(TargetRef(s.to_owned()))
    }

    /// The reference as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Small ordered key/value details of an entry (`"purpose_version" => "3"`). Ordered by key so
/// that the canonical bytes do not depend on insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AuditDetails(BTreeMap<String, String>);

impl AuditDetails {
    /// No details.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a detail. Keys are snake_case names; values are bounded so the log
    /// stays a log and not a second copy of the data.
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), AuditError> {
        check_name(key, "details key", NAME_BYTES_MAX, "`a-z0-9_`", is_snake)?;
        if value.len() > DETAIL_VALUE_BYTES_MAX {
            return Err(AuditError::DetailTooLong);
        }
        if !self.0.contains_key(key) && self.0.len() >= DETAILS_LEN_MAX {
            return Err(AuditError::TooManyDetails);
        }
        self.0.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Builder form of [`AuditDetails::insert`].
    pub fn with(mut self, key: &str, value: &str) -> Result<Self, AuditError> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// The details in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value for a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Number of details.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no details.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A purpose id as named in the policy file (`marketing_email`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PurposeRef(String);

impl PurposeRef {
    /// Checks the id: 1..=[`NAME_BYTES_MAX`] bytes of `a-z0-9_`.
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        check_name(s, "purpose", NAME_BYTES_MAX, "`a-z0-9_`", is_snake)?;
        Ok(PurposeRef(s.to_owned()))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the caller knows about an action; [`next_entry`] adds the sequence number and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// When it happened, Unix milliseconds (passed in: this crate reads no clock).
    pub at_ms: i64,
    /// Who did it.
    pub actor: Actor,
    /// What kind of thing happened.
    pub action: AuditAction,
    /// What it was about.
    pub target: TargetRef,
    /// The purpose it served, where one applies.
    pub purpose: Option<PurposeRef>,
    /// Further particulars.
    pub details: AuditDetails,
}

/// One link of the audit chain.
///
/// Fields are public because entries are rebuilt from storage and because an auditor should be
/// able to read them; integrity comes from [`verify`], not from encapsulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// Who did it.
    pub actor: Actor,
    /// What kind of thing happened.
    pub action: AuditAction,
    /// What it was about.
    pub target: TargetRef,
    /// The purpose it served, where one applies.
    pub purpose: Option<PurposeRef>,
    /// Further particulars.
    pub details: AuditDetails,
    /// The `hash` of the previous entry; [`GENESIS_PREV_HASH`] for the first.
    pub prev_hash: [u8; 32],
    /// `SHA-256(prev_hash || canonical_bytes())`.
    pub hash: [u8; 32],
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Every field is bounded far below 4 GiB by the parsers above, so u32 always fits.
    let len = u32::try_from(bytes.len()).expect("audit fields are bounded");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

impl AuditEntry {
    /// The unambiguous encoding of every field except `hash`: a format byte, then the fields in
    /// a fixed order, fixed-width integers big-endian, strings and the details map
    /// length-prefixed, the optional purpose behind a presence byte. Length prefixes are what
    /// make `("ab", "c")` and `("a", "bc")` encode differently.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(CANONICAL_FORMAT_V1);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at_ms.to_be_bytes());
        put_bytes(&mut out, self.actor.to_string().as_bytes());
        put_bytes(&mut out, self.action.code().as_bytes());
        put_bytes(&mut out, self.target.as_str().as_bytes());
        match &self.purpose {
            None => out.push(0),
            Some(purpose) => {
                out.push(1);
                put_bytes(&mut out, purpose.as_str().as_bytes());
            }
        }
        let n_details = u32::try_from(self.details.len()).expect("details are bounded");
        out.extend_from_slice(&n_details.to_be_bytes());
        for (key, value) in self.details.iter() {
            put_bytes(&mut out, key.as_bytes());
            put_bytes(&mut out, value.as_bytes());
        }
        out.extend_from_slice(&self.prev_hash);
        out
    }

    /// The hash this entry should carry given its other fields.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash);
        hasher.update(self.canonical_bytes());
        hasher.finalize().into()
    }

    /// The hash as lowercase hex, for storage and display.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }
}

/// Appends a draft to the chain whose last entry is `prev` (`None` for an empty chain).
///
/// # Panics
///
/// When `prev.seq` is `u64::MAX`: a chain cannot grow that long, so reaching it is a bug.
pub fn next_entry(prev: Option<&AuditEntry>, draft: AuditDraft) -> AuditEntry {
    let (seq, prev_hash) = match prev {
        None => (1, GENESIS_PREV_HASH),
        Some(prev) => (
            prev.seq.checked_add(1).expect("audit sequence exhausted"),
            prev.hash,
        ),
    };
    let mut entry = AuditEntry {
        seq,
        at_ms: draft.at_ms,
        actor: draft.actor,
        action: draft.action,
        target: draft.target,
        purpose: draft.purpose,
        details: draft.details,
        prev_hash,
        hash: [0; 32],
    };
    entry.hash = entry.compute_hash();
    entry
}

/// A summary of a verified chain, small enough to publish elsewhere and check against later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// Number of entries.
    pub count: u64,
    /// Sequence number of the last entry; 0 for an empty chain.
    pub head_seq: u64,
    /// Hash of the last entry; [`GENESIS_PREV_HASH`] for an empty chain.
    pub head_hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty chain.
    pub const EMPTY: ChainHead = ChainHead {
        count: 0,
        head_seq: 0,
        head_hash: GENESIS_PREV_HASH,
    };

    /// The head hash as lowercase hex.
    pub fn head_hash_hex(&self) -> String {
        hex::encode(self.head_hash)
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "count={} head_seq={} head_hash={}",
            self.count,
            self.head_seq,
            self.head_hash_hex()
        )
    }
}

/// How a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's stored hash does not match its contents: the entry was modified.
    HashMismatch,
    /// The entry's `prev_hash` is not the previous entry's hash: something before it was
    /// modified and re-hashed, removed, or inserted.
    BrokenLink,
    /// The sequence jumps forward: entries are missing before this one.
    SequenceGap {
        /// The sequence number that should have come here.
        expected: u64,
    },
    /// The sequence goes backwards, or this entry and the next one are each other's
    /// successor and predecessor: entries were reordered.
    OutOfOrder {
        /// The sequence number that should have come here.
        expected: u64,
    },
    /// An entry that does not belong sits where the expected one should be, and the expected
    /// one follows right after it: an entry was inserted.
    Inserted {
        /// The sequence number that should have come here.
        expected: u64,
    },
    /// The entry repeats the previous sequence number.
    Duplicate,
    /// The chain ends before the anchored head: entries were cut off the end.
    Truncated {
        /// The anchored head sequence number.
        anchor_seq: u64,
    },
    /// The entry at the anchored sequence number has a different hash than was anchored: the
    /// tail was rewritten (rolled back and regrown, or modified and re-hashed).
    AnchorMismatch,
}

impl fmt::Display for BreakKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakKind::HashMismatch => f.write_str("hash mismatch"),
            BreakKind::BrokenLink => f.write_str("broken link"),
            BreakKind::SequenceGap { expected } => write!(f, "sequence gap (expected {expected})"),
            BreakKind::OutOfOrder { expected } => write!(f, "out of order (expected {expected})"),
            BreakKind::Inserted { expected } => write!(f, "inserted (expected {expected})"),
            BreakKind::Duplicate => f.write_str("duplicate"),
            BreakKind::Truncated { anchor_seq } => {
                write!(f, "truncated (anchored head is {anchor_seq})")
            }
            BreakKind::AnchorMismatch => f.write_str("does not match the anchored head"),
        }
    }
}

/// The first problem found in a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBreak {
    /// Zero-based position of the bad entry in the stream as given.
    pub position: u64,
    /// Sequence number carried by the bad entry (for [`BreakKind::Truncated`], the last one
    /// seen, 0 if none).
    pub seq: u64,
    /// What is wrong.
    pub kind: BreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry seq {} at position {}: {}",
            self.seq, self.position, self.kind
        )
    }
}

/// The result of checking a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Every entry hashes correctly and links to its predecessor, numbered 1, 2, 3, ...
    Intact(ChainHead),
    /// The first problem found.
    Broken(ChainBreak),
}

impl VerifyOutcome {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        matches!(self, VerifyOutcome::Intact(_))
    }
}

/// Checks a chain given in storage order, from the first entry.
///
/// Detects any modification, deletion, insertion, reordering or duplication of entries. It
/// cannot detect that entries were cut off the end, nor a consistently re-hashed tail: use
/// [`verify_against_anchor`] for that. Runs in one pass with constant memory.
pub fn verify(entries: impl IntoIterator<Item = AuditEntry>) -> VerifyOutcome {
    verify_inner(entries, None)
}

/// Like [`verify`], and also checks that the chain reaches `anchor.head_seq` and that the entry
/// there has `anchor.head_hash`. A chain that has grown since the anchor was taken is fine.
pub fn verify_against_anchor(
    entries: impl IntoIterator<Item = AuditEntry>,
    anchor: &ChainHead,
) -> VerifyOutcome {
    verify_inner(entries, Some(anchor))
}

fn verify_inner(
    entries: impl IntoIterator<Item = AuditEntry>,
    anchor: Option<&ChainHead>,
) -> VerifyOutcome {
    let mut entries = entries.into_iter().peekable();
    let mut head = ChainHead::EMPTY;
    let mut position = 0u64;
    while let Some(entry) = entries.next() {
        let expected = head.head_seq + 1;
        let broken = |kind| {
            VerifyOutcome::Broken(ChainBreak {
                position,
                seq: entry.seq,
                kind,
            })
        };
        // The entry's own integrity first: a modified entry is reported as modified even if
        // the modification was to its sequence number or link.
        if entry.compute_hash() != entry.hash {
            return broken(BreakKind::HashMismatch);
        }
        if entry.seq != expected {
            // One entry of look-ahead tells a gap from a swap or an insertion.
            let next = entries.peek().filter(|next| next.seq == expected);
            let kind = if head.count > 0 && entry.seq == head.head_seq {
                BreakKind::Duplicate
            } else if entry.seq < expected {
                BreakKind::OutOfOrder { expected }
            } else if let Some(next) = next {
                if entry.seq == expected + 1 && entry.prev_hash == next.hash {
                    BreakKind::OutOfOrder { expected }
                } else {
                    BreakKind::Inserted { expected }
                }
            } else {
                BreakKind::SequenceGap { expected }
            };
            return broken(kind);
        }
        if entry.prev_hash != head.head_hash {
            return broken(BreakKind::BrokenLink);
        }
        if let Some(anchor) = anchor
            && entry.seq == anchor.head_seq
            && entry.hash != anchor.head_hash
        {
            return broken(BreakKind::AnchorMismatch);
        }
        head = ChainHead {
            count: head.count + 1,
            head_seq: entry.seq,
            head_hash: entry.hash,
        };
        position += 1;
    }
    if let Some(anchor) = anchor
        && head.head_seq < anchor.head_seq
    {
        return VerifyOutcome::Broken(ChainBreak {
            position,
            seq: head.head_seq,
            kind: BreakKind::Truncated {
                anchor_seq: anchor.head_seq,
            },
        });
    }
    VerifyOutcome::Intact(head)
}

/// Builds a chain from drafts, for callers that append several entries at once and for tests.
pub fn chain_from_drafts(drafts: impl IntoIterator<Item = AuditDraft>) -> Vec<AuditEntry> {
    let mut chain: Vec<AuditEntry> = Vec::new();
    for draft in drafts {
        let entry = next_entry(chain.last(), draft);
        chain.push(entry);
    }
    chain
}
