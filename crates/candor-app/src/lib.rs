//! Candor's use cases, between the transports (the HTTP API, the command line) and the store.
//!
//! Each use case is a function over the store trait (`&dyn Store`), the policy and `now`, or
//! over an [`App`] that holds them with the caches that may be kept. Failures are
//! [`AppError`]s with stable codes; the server alone decides which HTTP status each gets.
//!
//! **Architecture invariant:** no HTTP here — no request, response, status, header or route.
//! What a transport parses and renders stays in the transport.

pub mod analytics;
pub mod api_key;
pub mod audit;
pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod consent;
pub mod context;
pub mod counters;
pub mod decide;
pub mod erasure;
pub mod error;
pub mod events;
pub mod experiments;
pub mod fairness;
pub mod fairness_body;
pub mod ingest;
pub mod jobs;
pub mod keys;
pub mod models;
pub mod preferences;
pub mod recommend;
pub mod resource;
pub mod rights;
pub mod secret;
pub mod segments;
pub mod serving;
pub mod signals;
pub mod signing;
pub mod stats;
pub mod subject_token;
#[cfg(test)]
mod test_support;
pub mod token_keys;

pub use crate::clock::Clock;
pub use crate::context::App;
pub use crate::error::{AppError, AppResult, ErrorKind};
pub use crate::secret::ServerSecret;
