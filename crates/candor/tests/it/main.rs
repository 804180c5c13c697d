//! End-to-end tests of the `candor` binary: real processes, real sockets.

mod campaigns;
mod cli;
mod eval;
mod serve;
mod support;
