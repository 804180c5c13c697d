//! The store's integration tests: the contract suite against SQLite, plus SQLite specifics.

mod postgres;
mod postgres_tls;
mod sqlite;
