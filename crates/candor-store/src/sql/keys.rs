//! API keys, token signing keys and per-subject token revocations. Times are integer
//! milliseconds, as everywhere in the store.

use candor_domain::SubjectKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbResult, Lock, Row, SqlBackend, bad_row, data_keys, params};
use crate::{ApiKeyRecord, KeyStore, Scope, StoreError, StoreResult, TokenKeyRecord};

/// The columns of an `api_keys` row, in the order [`api_key_from_row`] reads them.
const API_KEY_COLUMNS: &str =
    "id, secret_hash, scopes, allowed_origins, label, created_at, expires_at, revoked_at";

fn api_key_from_row(r: &dyn Row) -> DbResult<ApiKeyRecord> {
    let scopes = r.text(2)?;
    let origins = r.text(3)?;
    Ok(ApiKeyRecord {
        id: r.text(0)?,
        secret_hash: r
            .blob(1)?
            .try_into()
            .map_err(|_| bad_row("key hash", "of wrong length"))?,
        scopes: scopes
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| Scope::parse(s).ok_or_else(|| bad_row("scope", s)))
            .collect::<DbResult<_>>()?,
        allowed_origins: origins
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        label: r.text(4)?,
        created_at: r.time(5)?,
        expires_at: r.opt_time(6)?,
        revoked_at: r.opt_time(7)?,
    })
}

fn token_key_from_row(r: &dyn Row) -> DbResult<TokenKeyRecord> {
    Ok(TokenKeyRecord {
        id: r.i64(0)?,
        sealed: r.blob(1)?,
        created_at: r.time(2)?,
        retired_at: r.opt_time(3)?,
    })
}

/// What an update of one key by id did, for an update that matches its row whatever it
/// changes (revoking, expiring): no row means an unknown id.
fn found(rows_updated: u64) -> StoreResult<()> {
    if rows_updated == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

fn update_one(c: &mut dyn Conn, sql: &str, id: &str, at: Timestamp) -> DbResult<u64> {
    c.execute(sql, params![id, at])
}

impl<B: SqlBackend> KeyStore for B {
    fn unlock_data_keys(&self, root: crate::KekRoot, now: Timestamp) -> StoreResult<u64> {
        data_keys::unlock(self, root, now)
    }

    fn add_kek(&self, now: Timestamp) -> StoreResult<i64> {
        data_keys::add_kek(self, now)
    }

    fn rewrap_data_keys(&self, limit: u32) -> StoreResult<u64> {
        data_keys::rewrap(self, limit)
    }

    fn kek_status(&self) -> StoreResult<crate::KekStatus> {
        data_keys::status(self)
    }

    fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        let (scopes, origins) = (scopes.join(","), key.allowed_origins.join(" "));
        self.write_sql(&mut |c| {
            c.execute(
                &format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    &key.id,
                    &key.secret_hash,
                    &scopes,
                    &origins,
                    &key.label,
                    key.created_at,
                    key.expires_at,
                    key.revoked_at,
                ],
            )
            .map(drop)
        })
    }

    fn api_key(&self, id: &str) -> StoreResult<Option<ApiKeyRecord>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1"),
                params![id],
                api_key_from_row,
            )
        })
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                &format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id COLLATE \"C\""
                ),
                params![],
                api_key_from_row,
            )
        })
    }

    /// A key already revoked keeps its first revocation time. The row matches either way, so
    /// no row updated means an unknown id.
    fn revoke_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        found(self.write_sql(&mut |c| {
            update_one(
                c,
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1",
                id,
                at,
            )
        })?)
    }

    /// `NULL < at` is not true, so a key without an expiry takes `at`.
    fn expire_api_key(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        found(self.write_sql(&mut |c| {
            update_one(
                c,
                "UPDATE api_keys SET expires_at = CASE WHEN expires_at < ?2 THEN expires_at ELSE ?2 END
                 WHERE id = ?1",
                id,
                at,
            )
        })?)
    }

    fn token_keys(&self) -> StoreResult<Vec<TokenKeyRecord>> {
        self.read_sql(&mut |c| {
            c.query(
                "SELECT id, sealed, created_at, retired_at FROM token_keys ORDER BY id",
                params![],
                token_key_from_row,
            )
        })
    }

    /// Inserts with the table locked against other insertions: a rotation racing another
    /// from a second instance waits for it, then retires the key it added too, and ids follow
    /// commit order.
    fn insert_token_key(
        &self,
        sealed: &[u8],
        now: Timestamp,
        retire_others: bool,
    ) -> StoreResult<i64> {
        self.write_sql(&mut |c| {
            c.lock_table("token_keys", Lock::Exclusive)?;
            if retire_others {
                c.execute(
                    "UPDATE token_keys SET retired_at = ?1 WHERE retired_at IS NULL",
                    params![now],
                )?;
            }
            c.query_one(
                "INSERT INTO token_keys (sealed, created_at) VALUES (?1, ?2) RETURNING id",
                params![sealed, now],
                |r| r.i64(0),
            )
        })
    }

    /// A key never retired is never deleted.
    fn delete_token_keys_retired_before(&self, before: Timestamp) -> StoreResult<u64> {
        self.write_sql(&mut |c| {
            c.execute(
                "DELETE FROM token_keys WHERE retired_at < ?1",
                params![before],
            )
        })
    }

    fn tokens_not_before(&self, key: &SubjectKey) -> StoreResult<Option<Timestamp>> {
        self.read_sql(&mut |c| {
            c.query_opt(
                "SELECT not_before FROM token_revocations WHERE subject_key = ?1",
                params![key],
                |r| r.time(0),
            )
        })
    }

    /// A marker that exists keeps the later of both instants and the later of both keep
    /// times, so an earlier or shorter revocation never revives a token a later one voided.
    fn revoke_subject_tokens(
        &self,
        key: &SubjectKey,
        at: Timestamp,
        keep_until: Timestamp,
    ) -> StoreResult<()> {
        self.write_sql(&mut |c| {
            c.execute(
                "INSERT INTO token_revocations (subject_key, not_before, keep_until)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject_key) DO UPDATE SET
                    not_before = CASE WHEN excluded.not_before > token_revocations.not_before
                                      THEN excluded.not_before ELSE token_revocations.not_before END,
                    keep_until = CASE WHEN excluded.keep_until > token_revocations.keep_until
                                      THEN excluded.keep_until ELSE token_revocations.keep_until END",
                params![key, at, keep_until],
            )
            .map(drop)
        })
    }

    /// An expiry at `now` has passed, as for events.
    fn delete_expired_token_revocations(&self, now: Timestamp) -> StoreResult<u64> {
        self.write_sql(&mut |c| {
            c.execute(
                "DELETE FROM token_revocations WHERE keep_until <= ?1",
                params![now],
            )
        })
    }
}
