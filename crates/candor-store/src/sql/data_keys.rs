//! Data keys, stored wrapped under key-encryption keys (`crate::wrap`).
//!
//! Creating a key and re-wrapping a batch each lock `keks` in SHARE mode from before they
//! read the newest KEK until they commit; adding a KEK takes the exclusive lock, which waits
//! for those to commit and holds new ones back until it has. So no row is ever written under a
//! KEK that was already replaced, and a rotation whose last batch finds nothing left is
//! complete. (SQLite's single writer gives the same order without table locks.) Existing
//! keys are read on a read connection: a streamed campaign run holds SQLite's writer and
//! still opens contact data.
//!
//! KEKs derived from the root are cached by id in the process (`wrap::Keyring`): a KEK row
//! never changes after it is inserted, so another instance cannot make the cache stale.

use candor_domain::SubjectKey;
use candor_domain::crypto::DataKey;
use candor_domain::time::Timestamp;

use super::{Conn, DbError, DbResult, Lock, Row, SqlBackend, params};
use crate::wrap::{self, KekRecord, KekRoot, KekRow, KekStatus, NewKek, StoredKey};
use crate::{StoreError, StoreResult};

fn kek_from_row(r: &dyn Row) -> DbResult<KekRow> {
    Ok(KekRow {
        id: r.i64(0)?,
        salt: r.blob(1)?,
        check: r.blob(2)?,
    })
}

fn newest_kek(c: &mut dyn Conn) -> DbResult<Option<KekRow>> {
    c.query_opt(wrap::NEWEST_KEK_SQL, params![], kek_from_row)
}

fn kek_row(c: &mut dyn Conn, id: i64) -> DbResult<Option<KekRow>> {
    c.query_opt(&wrap::kek_sql("?1"), params![id], kek_from_row)
}

fn stored_key(c: &mut dyn Conn, key: &SubjectKey) -> DbResult<Option<StoredKey>> {
    c.query_opt(&wrap::stored_key_sql("?1"), params![key], |r| {
        Ok(StoredKey {
            bytes: r.blob(0)?,
            kek_id: r.opt_i64(1)?,
        })
    })
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

/// KEK `id`: derived once, then cached.
fn kek_by_id<B: SqlBackend>(store: &B, id: i64) -> StoreResult<DataKey> {
    if let Some(kek) = store.keyring().cached(id) {
        return Ok(kek);
    }
    let row = store
        .read_sql(&mut |c| kek_row(c, id))?
        .ok_or_else(|| missing_kek(id))?;
    store.keyring().kek(&row)
}

fn open_stored<B: SqlBackend>(
    store: &B,
    key: &SubjectKey,
    stored: &StoredKey,
) -> StoreResult<[u8; 32]> {
    let kek = stored.kek_id.map(|id| kek_by_id(store, id)).transpose()?;
    store.keyring().unwrap(key, stored, kek.as_ref())
}

pub(crate) fn existing_data_key<B: SqlBackend>(
    store: &B,
    key: &SubjectKey,
) -> StoreResult<Option<[u8; 32]>> {
    match store.read_sql(&mut |c| stored_key(c, key))? {
        None => Ok(None),
        Some(stored) => open_stored(store, key, &stored).map(Some),
    }
}

pub(crate) fn data_key<B: SqlBackend>(
    store: &B,
    key: &SubjectKey,
    fresh: [u8; 32],
    now: Timestamp,
) -> StoreResult<[u8; 32]> {
    if let Some(existing) = existing_data_key(store, key)? {
        return Ok(existing);
    }
    let keyring = store.keyring();
    let stored = store.write_sql(&mut |c| {
        c.lock_table("keks", Lock::Share)?;
        let newest = newest_kek(c)?.ok_or_else(no_kek)?;
        let kek = keyring.kek(&newest).map_err(keyring_err)?;
        let wrapped = keyring.wrap(&kek, key, &fresh);
        c.execute(
            &wrap::insert_key_sql("?1", "?2", "?3", "?4"),
            params![key, &wrapped, newest.id, now],
        )?;
        // Another writer's key when it created one first.
        stored_key(c, key)?.ok_or_else(|| DbError::BadRow("a data key vanished".into()))
    })?;
    open_stored(store, key, &stored)
}

pub(crate) fn unlock<B: SqlBackend>(store: &B, root: KekRoot, now: Timestamp) -> StoreResult<u64> {
    let first = NewKek::generate(&root);
    let newest = store.write_sql(&mut |c| {
        c.lock_table("keks", Lock::Exclusive)?;
        if let Some(row) = newest_kek(c)? {
            return Ok(row);
        }
        let id = c.query_one(
            &wrap::insert_kek_sql("?1", "?2", "?3"),
            params![&first.salt, &first.check, now],
            |r| r.i64(0),
        )?;
        Ok(KekRow {
            id,
            salt: first.salt.to_vec(),
            check: first.check.to_vec(),
        })
    })?;
    store.keyring().unlock(root, &newest)?;
    wrap::rewrap_batches(|limit| rewrap(store, limit))
}

pub(crate) fn add_kek<B: SqlBackend>(store: &B, now: Timestamp) -> StoreResult<i64> {
    let new = store.keyring().new_kek()?;
    store.write_sql(&mut |c| {
        c.lock_table("keks", Lock::Exclusive)?;
        c.execute(&wrap::retire_keks_sql("?1"), params![now])?;
        c.query_one(
            &wrap::insert_kek_sql("?1", "?2", "?3"),
            params![&new.salt, &new.check, now],
            |r| r.i64(0),
        )
    })
}

pub(crate) fn rewrap<B: SqlBackend>(store: &B, limit: u32) -> StoreResult<u64> {
    let keyring = store.keyring();
    store.write_sql(&mut |c| {
        c.lock_table("keks", Lock::Share)?;
        let newest = newest_kek(c)?.ok_or_else(no_kek)?;
        let rows = c.query(
            &wrap::pending_keys_sql("?1", "?2"),
            params![newest.id, limit],
            |r| {
                Ok((
                    r.key(0)?,
                    StoredKey {
                        bytes: r.blob(1)?,
                        kek_id: r.opt_i64(2)?,
                    },
                ))
            },
        )?;
        if rows.is_empty() {
            return Ok(0);
        }
        let kek = keyring.kek(&newest).map_err(keyring_err)?;
        // Older KEKs are read on this transaction's connection: taking a second one from a
        // pool while holding this one could wait forever on an exhausted pool.
        let plan = keyring
            .rewrap(rows, (newest.id, &kek), |id| {
                if let Some(kek) = keyring.cached(id) {
                    return Ok(kek);
                }
                let row = kek_row(c, id)
                    .map_err(|e| StoreError::Other(e.to_string()))?
                    .ok_or_else(|| missing_kek(id))?;
                keyring.kek(&row)
            })
            .map_err(keyring_err)?;
        // Another writer re-wrapping the same row first makes this update match nothing,
        // which is as good: the row is under the newest KEK either way.
        for r in &plan {
            c.execute(
                &wrap::rewrap_key_sql("?1", "?2", "?3", "?4"),
                params![&r.subject, &r.bytes, newest.id, r.old_kek_id],
            )?;
        }
        Ok(plan.len() as u64)
    })
}

pub(crate) fn status<B: SqlBackend>(store: &B) -> StoreResult<KekStatus> {
    store.read_sql(&mut |c| {
        let keks = c.query(wrap::KEK_USE_SQL, params![], |r| {
            Ok(KekRecord {
                id: r.i64(0)?,
                created_at: r.time(1)?,
                retired_at: r.opt_time(2)?,
                n_data_keys: count(r.i64(3)?),
            })
        })?;
        let n_unwrapped = count(c.query_one(wrap::UNWRAPPED_KEYS_SQL, params![], |r| r.i64(0))?);
        Ok(KekStatus { keks, n_unwrapped })
    })
}
