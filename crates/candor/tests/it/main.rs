//! End-to-end tests of the `candor` binary: real processes, real sockets.

mod analytics;
mod at_rest;
mod audit;
mod campaigns;
mod cli;
mod eval;
mod experiments;
mod postgres;
mod rights;
mod serve;
mod support;
mod tls;
