//! Data keys on SQLite, stored wrapped under key-encryption keys (`crate::wrap`).
//!
//! Creating a key and re-wrapping a batch each run in one `BEGIN IMMEDIATE` transaction that
//! reads the newest KEK and writes under it; adding a KEK takes the same write lock, so a
//! key is never written under a KEK that a rotation has already replaced. Existing keys are
//! read through a reader connection: a streamed campaign run holds the writer and still
//! opens contact data.

use candor_domain::SubjectKey;
use candor_domain::crypto::DataKey;
use candor_domain::time::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::campaigns::key_from;
use super::{SqliteStore, map_err};
use crate::wrap::{self, KekRecord, KekRoot, KekRow, KekStatus, NewKek, StoredKey};
use crate::{StoreError, StoreResult};

fn kek_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<KekRow> {
    Ok(KekRow {
        id: r.get(0)?,
        salt: r.get(1)?,
        check: r.get(2)?,
    })
}

fn newest_kek(c: &Connection) -> rusqlite::Result<Option<KekRow>> {
    c.prepare_cached(wrap::NEWEST_KEK_SQL)?
        .query_row([], kek_from_row)
        .optional()
}

fn stored_key(c: &Connection, key: &SubjectKey) -> rusqlite::Result<Option<StoredKey>> {
    c.prepare_cached(&wrap::stored_key_sql("?1"))?
        .query_row([key.as_bytes().as_slice()], |r| {
            Ok(StoredKey {
                bytes: r.get(0)?,
                kek_id: r.get(1)?,
            })
        })
        .optional()
}

fn no_kek() -> StoreError {
    StoreError::Other("no key-encryption key yet: the store must be unlocked first".into())
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteStore {
    /// KEK `id`: derived once, then cached; its row is read on a reader connection.
    fn kek_by_id(&self, id: i64) -> StoreResult<DataKey> {
        if let Some(kek) = self.keyring.cached(id) {
            return Ok(kek);
        }
        let row = self
            .read(|c| {
                c.prepare_cached(&wrap::kek_sql("?1"))?
                    .query_row([id], kek_from_row)
                    .optional()
            })?
            .ok_or_else(|| {
                StoreError::Other(format!(
                    "a data key names key-encryption key {id}, which does not exist"
                ))
            })?;
        self.keyring.kek(&row)
    }

    fn open_stored(&self, key: &SubjectKey, stored: &StoredKey) -> StoreResult<[u8; 32]> {
        let kek = stored.kek_id.map(|id| self.kek_by_id(id)).transpose()?;
        self.keyring.unwrap(key, stored, kek.as_ref())
    }

    pub(super) fn existing_data_key_impl(&self, key: &SubjectKey) -> StoreResult<Option<[u8; 32]>> {
        match self.read(|c| stored_key(c, key))? {
            None => Ok(None),
            Some(stored) => self.open_stored(key, &stored).map(Some),
        }
    }

    pub(super) fn data_key_impl(
        &self,
        key: &SubjectKey,
        fresh: [u8; 32],
        now: Timestamp,
    ) -> StoreResult<[u8; 32]> {
        if let Some(existing) = self.existing_data_key_impl(key)? {
            return Ok(existing);
        }
        let mut conn = self.writer_connection();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        // Another process may have created it since the read.
        if let Some(stored) = stored_key(&tx, key).map_err(map_err)? {
            drop(tx);
            drop(conn);
            return self.open_stored(key, &stored);
        }
        let newest = newest_kek(&tx).map_err(map_err)?.ok_or_else(no_kek)?;
        let kek = self.keyring.kek(&newest)?;
        let wrapped = self.keyring.wrap(&kek, key, &fresh);
        tx.execute(
            &wrap::insert_key_sql("?1", "?2", "?3", "?4"),
            params![
                key.as_bytes().as_slice(),
                wrapped,
                newest.id,
                now.as_millis()
            ],
        )
        .map_err(map_err)?;
        tx.commit().map_err(map_err)?;
        Ok(fresh)
    }

    pub(super) fn unlock_data_keys_impl(&self, root: KekRoot, now: Timestamp) -> StoreResult<u64> {
        let first = NewKek::generate(&root);
        let newest = self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let newest = match newest_kek(&tx)? {
                Some(row) => row,
                None => KekRow {
                    id: tx.query_row(
                        &wrap::insert_kek_sql("?1", "?2", "?3"),
                        params![
                            first.salt.as_slice(),
                            first.check.as_slice(),
                            now.as_millis()
                        ],
                        |r| r.get(0),
                    )?,
                    salt: first.salt.to_vec(),
                    check: first.check.to_vec(),
                },
            };
            tx.commit()?;
            Ok(newest)
        })?;
        self.keyring.unlock(root, &newest)?;
        wrap::rewrap_all(self)
    }

    pub(super) fn add_kek_impl(&self, now: Timestamp) -> StoreResult<i64> {
        let new = self.keyring.new_kek()?;
        self.write(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(&wrap::retire_keks_sql("?1"), [now.as_millis()])?;
            let id = tx.query_row(
                &wrap::insert_kek_sql("?1", "?2", "?3"),
                params![new.salt.as_slice(), new.check.as_slice(), now.as_millis()],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub(super) fn rewrap_data_keys_impl(&self, limit: u32) -> StoreResult<u64> {
        let mut conn = self.writer_connection();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let newest = newest_kek(&tx).map_err(map_err)?.ok_or_else(no_kek)?;
        let rows = tx
            .prepare_cached(&wrap::pending_keys_sql("?1", "?2"))
            .and_then(|mut stmt| {
                stmt.query_map(params![newest.id, limit], |r| {
                    Ok((
                        key_from(r.get(0)?)?,
                        StoredKey {
                            bytes: r.get(1)?,
                            kek_id: r.get(2)?,
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(map_err)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let kek = self.keyring.kek(&newest)?;
        let plan = self
            .keyring
            .rewrap(rows, (newest.id, &kek), |id| self.kek_by_id(id))?;
        {
            let mut stmt = tx
                .prepare_cached(&wrap::rewrap_key_sql("?1", "?2", "?3", "?4"))
                .map_err(map_err)?;
            for r in &plan {
                stmt.execute(params![
                    r.subject.as_bytes().as_slice(),
                    r.bytes,
                    newest.id,
                    r.old_kek_id
                ])
                .map_err(map_err)?;
            }
        }
        tx.commit().map_err(map_err)?;
        Ok(plan.len() as u64)
    }

    pub(super) fn kek_status_impl(&self) -> StoreResult<KekStatus> {
        self.read(|c| {
            let keks = c
                .prepare_cached(wrap::KEK_USE_SQL)?
                .query_map([], |r| {
                    Ok(KekRecord {
                        id: r.get(0)?,
                        created_at: Timestamp::from_millis(r.get(1)?),
                        retired_at: r.get::<_, Option<i64>>(2)?.map(Timestamp::from_millis),
                        n_data_keys: count(r.get(3)?),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let n_unwrapped = count(c.query_row(wrap::UNWRAPPED_KEYS_SQL, [], |r| r.get(0))?);
            Ok(KekStatus { keks, n_unwrapped })
        })
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, params};

    use super::super::migrations::MIGRATIONS;
    use super::super::{DATABASE_FILE, SqliteStore};
    use crate::{KekRoot, Store};
    use candor_domain::SubjectKey;
    use candor_domain::time::Timestamp;

    /// A database as the Candor before wrapping left it: schema 12, keys in the clear.
    fn database_before_wrapping(dir: &std::path::Path) {
        let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
        for sql in &MIGRATIONS[..12] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 12).unwrap();
        for n in 1..=3u8 {
            conn.execute(
                "INSERT INTO subject_keys (subject_key, data_key, created_at) VALUES (?1, ?2, 0)",
                params![[n; 32].as_slice(), [n + 10; 32].as_slice()],
            )
            .unwrap();
        }
    }

    #[test]
    fn keys_stored_in_the_clear_are_wrapped_at_the_first_start_that_knows_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        database_before_wrapping(dir.path());
        let root = || KekRoot::from_server_secret(b"a server secret of 32 bytes or more");
        let now = Timestamp::from_millis(5);
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            let status = store.kek_status().unwrap();
            assert_eq!((status.keks.len(), status.n_unwrapped), (0, 3));
            assert!(
                store
                    .existing_data_key(&SubjectKey::from_bytes([1; 32]))
                    .is_err(),
                "locked"
            );
            assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 3);
            let status = store.kek_status().unwrap();
            assert!(status.settled(), "{status:?}");
            assert_eq!(status.keks[0].n_data_keys, 3);
        }
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        let rows: Vec<(Vec<u8>, Vec<u8>, Option<i64>)> = conn
            .prepare("SELECT subject_key, data_key, kek_id FROM subject_keys ORDER BY subject_key")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 3);
        for (key, stored, kek_id) in &rows {
            let plain = [key[0] + 10; 32];
            assert_eq!(*kek_id, Some(1));
            assert!(
                !stored.windows(32).any(|w| w == plain),
                "still in the clear"
            );
        }
        drop(conn);
        // Later starts find nothing to do, and every key opens as it was.
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.unlock_data_keys(root(), now).unwrap(), 0);
        for n in 1..=3u8 {
            assert_eq!(
                store
                    .existing_data_key(&SubjectKey::from_bytes([n; 32]))
                    .unwrap(),
                Some([n + 10; 32])
            );
        }
    }
}
