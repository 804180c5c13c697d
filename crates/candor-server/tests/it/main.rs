//! Router tests: the whole API through `tower::ServiceExt::oneshot`, no sockets.

mod access;
mod audit;
mod campaign_fairness;
mod campaigns;
mod consent;
mod conventions;
mod events;
mod fairness;
mod recommend;
mod rights;
mod signals;
mod stats;
mod subject_access;
mod support;
