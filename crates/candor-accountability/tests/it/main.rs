//! Integration tests for candor-accountability, one binary with a module per area.

mod audit;
mod audit_props;
mod exposure;
mod fairness;
mod render;
