//! End-to-end tests of the `candor` binary: real processes, real sockets.

mod cli;
mod serve;
mod support;
