//! Process-wide values (`meta`) and generation counters.

use super::{SqlBackend, params};
use crate::{MetaStore, StoreResult};

impl<B: SqlBackend> MetaStore for B {
    fn ping(&self) -> StoreResult<()> {
        self.read_sql(&mut |c| c.query_one("SELECT 1", params![], |_| Ok(())))
    }

    fn reads_in_place(&self) -> bool {
        SqlBackend::reads_in_place(self)
    }

    fn meta_get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.read_sql(&mut |c| {
            c.query_opt("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.blob(0)
            })
        })
    }

    /// On PostgreSQL at READ COMMITTED a racing insert makes this one wait, then do nothing;
    /// the SELECT (a new statement, so a new snapshot) then sees whichever value won.
    fn meta_put_if_absent(&self, key: &str, value: &[u8]) -> StoreResult<Vec<u8>> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![key, value],
            )?;
            c.query_one("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.blob(0)
            })
        })
    }

    fn generation(&self, name: &str) -> StoreResult<i64> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT value FROM generations WHERE name = ?1",
                params![name],
                |r| r.i64(0),
            )
            .map(|v| v.unwrap_or(0))
        })
    }

    fn bump_generation(&self, name: &str) -> StoreResult<i64> {
        self.write_sql(&mut |c| {
            c.query_one(
                "INSERT INTO generations (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = generations.value + 1 RETURNING value",
                params![name],
                |r| r.i64(0),
            )
        })
    }
}
