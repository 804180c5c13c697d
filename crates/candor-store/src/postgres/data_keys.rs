//! Data keys on PostgreSQL, stored wrapped under key-encryption keys (`crate::wrap`).
//!
//! Many instances create keys while one of them (or the CLI) rotates. Creating a key and
//! re-wrapping a batch each hold `keks` in SHARE mode from before they read the newest KEK
//! until they commit; adding a KEK takes SHARE ROW EXCLUSIVE, which waits for those to commit
//! and holds new ones back until it has. So no row is ever written under a KEK that was
//! already replaced, and a rotation whose last batch finds nothing left is complete. SHARE
//! does not conflict with itself: creations never wait for each other.
//!
//! KEKs derived from the root are cached by id in the process (`wrap::Keyring`): a KEK row
//! never changes after it is inserted, so another instance cannot make the cache stale.

use candor_domain::SubjectKey;
use candor_domain::crypto::DataKey;
use candor_domain::time::Timestamp;
use postgres::{GenericClient, Row};

use super::campaigns::key_from;
use super::{DbError, DbResult, PostgresStore};
use crate::wrap::{self, KekRecord, KekRoot, KekRow, KekStatus, NewKek, StoredKey};
use crate::{StoreError, StoreResult};

/// Held by whatever writes under the newest KEK; conflicts only with adding one.
const WRITE_UNDER_KEK: &str = "LOCK TABLE keks IN SHARE MODE";
/// Held to add a KEK: waits for every write under the current one to commit.
const ADD_KEK: &str = "LOCK TABLE keks IN SHARE ROW EXCLUSIVE MODE";

fn kek_from_row(r: &Row) -> DbResult<KekRow> {
    Ok(KekRow {
        id: r.try_get(0)?,
        salt: r.try_get(1)?,
        check: r.try_get(2)?,
    })
}

fn newest_kek(c: &mut impl GenericClient) -> DbResult<Option<KekRow>> {
    c.query_opt(wrap::NEWEST_KEK_SQL, &[])?
        .map(|r| kek_from_row(&r))
        .transpose()
}

fn stored_key(c: &mut impl GenericClient, key: &SubjectKey) -> DbResult<Option<StoredKey>> {
    c.query_opt(&wrap::stored_key_sql("$1"), &[&key.as_bytes().as_slice()])?
        .map(|r| {
            Ok(StoredKey {
                bytes: r.try_get(0)?,
                kek_id: r.try_get(1)?,
            })
        })
        .transpose()
}

/// A keyring failure inside a transaction (its message is already the whole story).
fn keyring_err(e: StoreError) -> DbError {
    DbError::BadRow(match e {
        StoreError::Other(msg) => msg,
        e => e.to_string(),
    })
}

fn no_kek() -> DbError {
    DbError::BadRow("no key-encryption key yet: the store must be unlocked first".into())
}

fn missing_kek(id: i64) -> StoreError {
    StoreError::Other(format!(
        "a data key names key-encryption key {id}, which does not exist"
    ))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl PostgresStore {
    /// KEK `id`: derived once, then cached.
    fn kek_by_id(&self, id: i64) -> StoreResult<DataKey> {
        if let Some(kek) = self.keyring.cached(id) {
            return Ok(kek);
        }
        let row = self
            .read(|c| {
                c.query_opt(&wrap::kek_sql("$1"), &[&id])?
                    .map(|r| kek_from_row(&r))
                    .transpose()
            })?
            .ok_or_else(|| missing_kek(id))?;
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
        let stored = self.write(|tx| {
            tx.batch_execute(WRITE_UNDER_KEK)?;
            let newest = newest_kek(tx)?.ok_or_else(no_kek)?;
            let kek = self.keyring.kek(&newest).map_err(keyring_err)?;
            let wrapped = self.keyring.wrap(&kek, key, &fresh);
            tx.execute(
                &wrap::insert_key_sql("$1", "$2", "$3", "$4"),
                &[
                    &key.as_bytes().as_slice(),
                    &wrapped,
                    &newest.id,
                    &now.as_millis(),
                ],
            )?;
            // Another instance's key when it created one first.
            stored_key(tx, key)?.ok_or_else(|| DbError::BadRow("a data key vanished".into()))
        })?;
        self.open_stored(key, &stored)
    }

    pub(super) fn unlock_data_keys_impl(&self, root: KekRoot, now: Timestamp) -> StoreResult<u64> {
        let first = NewKek::generate(&root);
        let newest = self.write(|tx| {
            tx.batch_execute(ADD_KEK)?;
            if let Some(row) = newest_kek(tx)? {
                return Ok(row);
            }
            let id: i64 = tx
                .query_one(
                    &wrap::insert_kek_sql("$1", "$2", "$3"),
                    &[
                        &first.salt.as_slice(),
                        &first.check.as_slice(),
                        &now.as_millis(),
                    ],
                )?
                .try_get(0)?;
            Ok(KekRow {
                id,
                salt: first.salt.to_vec(),
                check: first.check.to_vec(),
            })
        })?;
        self.keyring.unlock(root, &newest)?;
        wrap::rewrap_all(self)
    }

    pub(super) fn add_kek_impl(&self, now: Timestamp) -> StoreResult<i64> {
        let new = self.keyring.new_kek()?;
        self.write(|tx| {
            tx.batch_execute(ADD_KEK)?;
            tx.execute(&wrap::retire_keks_sql("$1"), &[&now.as_millis()])?;
            Ok(tx
                .query_one(
                    &wrap::insert_kek_sql("$1", "$2", "$3"),
                    &[
                        &new.salt.as_slice(),
                        &new.check.as_slice(),
                        &now.as_millis(),
                    ],
                )?
                .try_get(0)?)
        })
    }

    pub(super) fn rewrap_data_keys_impl(&self, limit: u32) -> StoreResult<u64> {
        self.write(|tx| {
            tx.batch_execute(WRITE_UNDER_KEK)?;
            let newest = newest_kek(tx)?.ok_or_else(no_kek)?;
            let rows = tx
                .query(
                    &wrap::pending_keys_sql("$1", "$2"),
                    &[&newest.id, &i64::from(limit)],
                )?
                .iter()
                .map(|r| {
                    Ok((
                        key_from(r.try_get(0)?)?,
                        StoredKey {
                            bytes: r.try_get(1)?,
                            kek_id: r.try_get(2)?,
                        },
                    ))
                })
                .collect::<DbResult<Vec<_>>>()?;
            if rows.is_empty() {
                return Ok(0);
            }
            let kek = self.keyring.kek(&newest).map_err(keyring_err)?;
            // Older KEKs are read on this transaction's connection: taking a second one from
            // the pool while holding this one could wait forever on an exhausted pool.
            let plan = self
                .keyring
                .rewrap(rows, (newest.id, &kek), |id| {
                    if let Some(kek) = self.keyring.cached(id) {
                        return Ok(kek);
                    }
                    let row = tx
                        .query_opt(&wrap::kek_sql("$1"), &[&id])
                        .map_err(super::map_err)?
                        .map(|r| kek_from_row(&r))
                        .transpose()
                        .map_err(super::map_db_err)?
                        .ok_or_else(|| missing_kek(id))?;
                    self.keyring.kek(&row)
                })
                .map_err(keyring_err)?;
            let update = tx.prepare(&wrap::rewrap_key_sql("$1", "$2", "$3", "$4"))?;
            // Another instance re-wrapping the same row first makes this update match
            // nothing, which is as good: the row is under the newest KEK either way.
            for r in &plan {
                tx.execute(
                    &update,
                    &[
                        &r.subject.as_bytes().as_slice(),
                        &r.bytes,
                        &newest.id,
                        &r.old_kek_id,
                    ],
                )?;
            }
            Ok(plan.len() as u64)
        })
    }

    pub(super) fn kek_status_impl(&self) -> StoreResult<KekStatus> {
        self.read(|c| {
            let keks = c
                .query(wrap::KEK_USE_SQL, &[])?
                .iter()
                .map(|r| {
                    Ok(KekRecord {
                        id: r.try_get(0)?,
                        created_at: Timestamp::from_millis(r.try_get(1)?),
                        retired_at: r.try_get::<_, Option<i64>>(2)?.map(Timestamp::from_millis),
                        n_data_keys: count(r.try_get(3)?),
                    })
                })
                .collect::<DbResult<Vec<_>>>()?;
            let n_unwrapped = count(c.query_one(wrap::UNWRAPPED_KEYS_SQL, &[])?.try_get(0)?);
            Ok(KekStatus { keks, n_unwrapped })
        })
    }
}
