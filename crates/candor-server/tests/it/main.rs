//! Router tests: the whole API through `tower::ServiceExt::oneshot`, no sockets.

mod campaigns;
mod consent;
mod conventions;
mod events;
mod signals;
mod support;
