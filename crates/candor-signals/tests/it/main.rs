//! Integration tests for candor-signals: one binary, one module per area.

mod encoder;
mod errors;
mod gpp;
mod oracle;
mod props;
mod simple_signals;
