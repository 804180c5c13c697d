//! The store's integration tests: the contract suite against SQLite, plus SQLite specifics.

mod postgres;
mod sqlite;
