//! Candor's domain core.
//!
//! This crate is where the rules live: the privacy policy, the consent ledger and the state
//! derived from it, the ingestion gate with its data minimization, and interest profiles.
//!
//! **Architecture invariant:** nothing here performs IO, reads a clock or draws randomness.
//! Callers pass `now` as a [`Timestamp`] and any key material or nonce they generated. That is
//! what makes every rule testable with plain values, and why this crate cannot fail for
//! reasons outside its inputs.

pub mod consent;
pub mod crypto;
pub mod events;
pub mod ids;
pub mod policy;
pub mod profile;
pub mod synth;
pub mod time;

pub use ids::{ExternalId, IdError, PurposeId, SubjectKey};
pub use policy::Policy;
pub use time::Timestamp;
