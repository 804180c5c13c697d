//! Router tests: the whole API through `tower::ServiceExt::oneshot`, no sockets — except
//! `listen`, which tests connections on a real socket.

mod access;
mod analytics;
mod audit;
mod campaign_fairness;
mod campaigns;
mod consent;
mod conventions;
mod events;
mod experiments;
mod fairness;
mod hardening;
mod listen;
mod recommend;
mod rights;
mod sdk_bodies;
mod shapes;
mod signals;
mod stats;
mod subject_access;
mod support;
mod webhook_tls;
