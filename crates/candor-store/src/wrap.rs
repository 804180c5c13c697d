//! Envelope encryption of the per-subject data keys, the same on both backends.
//!
//! A subject's data key seals their contact data and audit attributes; erasing the key's row
//! shreds both. The store keeps each data key only wrapped — `crypto::seal`ed
//! (XChaCha20-Poly1305, random nonce) with `"candor data key\0"` and the subject key as
//! associated data, so a wrapped key opens in its own subject's row only — under a
//! key-encryption key (KEK), and unwraps it in memory when a caller asks for it. KEK number
//! `n` is `keyed_hash(root, "kek", salt_n)`, where the root is `keyed_hash(server secret,
//! "data-key-wrap", "")` ([`KekRoot`]): the root derives KEKs and nothing else (not
//! pseudonyms, not token keys), and the store is handed only the root.
//!
//! The `keks` table holds each KEK's id, random salt, a check tag (a keyed hash of a constant
//! under the KEK, to tell a wrong server secret at start) and its creation and retirement
//! times. None of it derives a KEK without the root, so a copy of the database alone unwraps
//! nothing. `subject_keys.kek_id` names the KEK that wraps each row; `NULL` marks a key stored
//! in the clear by a Candor from before wrapping, which the first start that knows the root
//! wraps ([`crate::KeyStore::unlock_data_keys`]). Such a key still opens until then: during a
//! rolling upgrade on PostgreSQL, instances of the older version keep writing them.
//!
//! This protects the keys from whoever can read the database, not from whoever can write to
//! it: they could put a key of their own in the clear into a row, or change any other row.
//!
//! The newest KEK wraps new keys; older ones only unwrap what they still wrap. Rotation
//! ([`rotate_kek`]) adds a KEK, then re-wraps every row under an older one, a batch per
//! transaction: the rows themselves record progress, so an interrupted rotation resumes
//! where it stopped, at the next start or the next rotation.
//!
//! Concurrency: creating a data key and re-wrapping a batch read the newest KEK in the same
//! transaction that writes under it, and adding a KEK excludes both (SQLite: the single
//! writer; PostgreSQL: a lock on `keks`), so once a rotation's last batch finds nothing left,
//! no row is under an older KEK.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use candor_domain::SubjectKey;
use candor_domain::crypto::{self, DATA_KEY_LEN, DataKey, NONCE_LEN};
use candor_domain::ids::keyed_hash;
use candor_domain::time::Timestamp;
use rand::RngCore;

use crate::{Store, StoreError, StoreResult};

/// Data keys re-wrapped per transaction: large enough that a rotation of millions of keys
/// takes thousands of commits, not millions; small enough that each holds the writer (or its
/// rows' locks) for milliseconds.
pub const REWRAP_BATCH_LEN: u32 = 1_000;
/// Bytes of a KEK's random salt.
const SALT_LEN: usize = 32;
/// Associated data of a wrapped key, before the subject key it is bound to.
const WRAP_CONTEXT: &[u8] = b"candor data key\0";

/// The root that key-encryption keys derive from. Its `Debug` never shows the bytes.
pub struct KekRoot([u8; 32]);

impl KekRoot {
    /// The root of the deployment whose server secret is `secret`, under a tag of its own:
    /// whoever holds the root can unwrap data keys, and derive nothing else from it.
    pub fn from_server_secret(secret: &[u8]) -> KekRoot {
        KekRoot(keyed_hash(secret, "data-key-wrap", b""))
    }

    fn kek(&self, salt: &[u8]) -> DataKey {
        DataKey::from_bytes(keyed_hash(&self.0, "kek", salt))
    }
}

impl std::fmt::Debug for KekRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KekRoot(<secret>)")
    }
}

/// One key-encryption key: when it was made and retired, and how many data keys it wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekRecord {
    pub id: i64,
    pub created_at: Timestamp,
    /// When a newer KEK replaced it; it still unwraps the keys it wraps.
    pub retired_at: Option<Timestamp>,
    pub n_data_keys: u64,
}

/// Which KEKs wrap the stored data keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekStatus {
    /// Oldest first; the last wraps new keys.
    pub keks: Vec<KekRecord>,
    /// Data keys still stored in the clear (from before wrapping, until the next start).
    pub n_unwrapped: u64,
}

impl KekStatus {
    /// Whether every data key is wrapped by the newest KEK.
    pub fn settled(&self) -> bool {
        let newest = self.keks.last().map(|k| k.id);
        self.n_unwrapped == 0
            && self
                .keks
                .iter()
                .all(|k| Some(k.id) == newest || k.n_data_keys == 0)
    }
}

/// Adds a KEK and re-wraps every data key under it, a batch per transaction. Returns the new
/// KEK's id and how many keys were re-wrapped. If interrupted, the rows still under an older
/// KEK are re-wrapped at the next start ([`KeyStore::unlock_data_keys`]) or the next rotation;
/// until then each row opens with the KEK it names.
pub fn rotate_kek(store: &dyn Store, now: Timestamp) -> StoreResult<(i64, u64)> {
    let id = store.add_kek(now)?;
    Ok((id, rewrap_all(store)?))
}

/// Re-wraps batches until no data key is left under an older KEK or in the clear; returns
/// how many were re-wrapped.
pub fn rewrap_all(store: &dyn Store) -> StoreResult<u64> {
    rewrap_batches(|limit| store.rewrap_data_keys(limit))
}

/// Runs `rewrap` (re-wrapping at most its argument's number of keys, returning how many) until
/// it finds none left; returns how many it re-wrapped.
pub(crate) fn rewrap_batches(mut rewrap: impl FnMut(u32) -> StoreResult<u64>) -> StoreResult<u64> {
    let mut n_total = 0;
    loop {
        let n = rewrap(REWRAP_BATCH_LEN)?;
        if n == 0 {
            return Ok(n_total);
        }
        n_total += n;
        tracing::info!(n_total, "re-wrapped data keys");
    }
}

/// A `keks` row as both backends read it ([`NEWEST_KEK_SQL`], [`kek_sql`]).
pub(crate) struct KekRow {
    pub id: i64,
    pub salt: Vec<u8>,
    pub check: Vec<u8>,
}

/// A KEK about to be inserted.
pub(crate) struct NewKek {
    pub salt: [u8; SALT_LEN],
    pub check: [u8; 32],
}

impl NewKek {
    pub fn generate(root: &KekRoot) -> NewKek {
        let mut salt = [0; SALT_LEN];
        rand::thread_rng().fill_bytes(&mut salt);
        NewKek {
            salt,
            check: check_tag(&root.kek(&salt)),
        }
    }
}

fn check_tag(kek: &DataKey) -> [u8; 32] {
    keyed_hash(kek.as_bytes(), "kek-check", b"")
}

/// A data key as stored: wrapped under KEK `kek_id`, or in the clear when that is `None`.
pub(crate) struct StoredKey {
    pub bytes: Vec<u8>,
    pub kek_id: Option<i64>,
}

/// A row to re-wrap: the new bytes, and the KEK the row must still name for the update to
/// apply (0 for a key in the clear), so a row that changed meanwhile is left alone.
pub(crate) struct Rewrapped {
    pub subject: SubjectKey,
    pub bytes: Vec<u8>,
    pub old_kek_id: i64,
}

/// The root a store was handed and the KEKs derived from it so far. Each store owns one.
///
/// A KEK's salt never changes once its row exists, so a derived KEK is cached by id for the
/// life of the process. A std mutex: held only to look up or insert, never across IO.
#[derive(Default)]
pub(crate) struct Keyring {
    root: OnceLock<KekRoot>,
    keks: Mutex<HashMap<i64, DataKey>>,
}

fn locked() -> StoreError {
    StoreError::Other(
        "data keys are locked: the store was not given its key-encryption root".into(),
    )
}

impl Keyring {
    fn root(&self) -> StoreResult<&KekRoot> {
        self.root.get().ok_or_else(locked)
    }

    /// Takes `root` if it derives `newest` (the store's newest KEK). A store keeps the first
    /// root it accepts; handing it the same root again is harmless, another one is refused.
    pub fn unlock(&self, root: KekRoot, newest: &KekRow) -> StoreResult<()> {
        if check_tag(&root.kek(&newest.salt)).as_slice() != newest.check.as_slice() {
            return Err(StoreError::Other(format!(
                "the server secret does not unwrap this store's data keys (key-encryption key {}): \
                 it is not the secret they were wrapped under",
                newest.id
            )));
        }
        let kept = self.root.get_or_init(|| root);
        if check_tag(&kept.kek(&newest.salt)).as_slice() != newest.check.as_slice() {
            return Err(StoreError::Other(
                "the store already holds another key-encryption root".into(),
            ));
        }
        Ok(())
    }

    /// A new KEK for [`crate::KeyStore::add_kek`].
    pub fn new_kek(&self) -> StoreResult<NewKek> {
        Ok(NewKek::generate(self.root()?))
    }

    /// The KEK `row` describes, checked against its tag.
    pub fn kek(&self, row: &KekRow) -> StoreResult<DataKey> {
        if let Some(kek) = self.cached(row.id) {
            return Ok(kek);
        }
        let kek = self.root()?.kek(&row.salt);
        if check_tag(&kek).as_slice() != row.check.as_slice() {
            return Err(StoreError::Other(format!(
                "key-encryption key {} does not derive from this server secret",
                row.id
            )));
        }
        self.keks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.id, kek.clone());
        Ok(kek)
    }

    /// KEK `id` if it was derived before; otherwise the caller reads its row.
    pub fn cached(&self, id: i64) -> Option<DataKey> {
        self.root.get()?;
        let keks = self.keks.lock().unwrap_or_else(|p| p.into_inner());
        keks.get(&id).cloned()
    }

    /// Wraps a subject's data key under `kek`.
    pub fn wrap(&self, kek: &DataKey, subject: &SubjectKey, key: &[u8; DATA_KEY_LEN]) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        crypto::seal(kek, nonce, &context(subject), key)
    }

    /// The data key a stored row holds; `kek` is the KEK the row names (none for a key in
    /// the clear).
    pub fn unwrap(
        &self,
        subject: &SubjectKey,
        stored: &StoredKey,
        kek: Option<&DataKey>,
    ) -> StoreResult<[u8; DATA_KEY_LEN]> {
        self.root()?;
        let plain = match kek {
            None => stored.bytes.clone(),
            Some(kek) => crypto::open(kek, &context(subject), &stored.bytes).map_err(|_| {
                StoreError::Other("a stored data key does not unwrap under its KEK".into())
            })?,
        };
        plain
            .try_into()
            .map_err(|_| StoreError::Other("stored data key has the wrong length".into()))
    }

    /// Plans the re-wrapping of `rows` under `newest`; `kek_of` gives the KEK each row names.
    pub fn rewrap(
        &self,
        rows: Vec<(SubjectKey, StoredKey)>,
        newest: (i64, &DataKey),
        mut kek_of: impl FnMut(i64) -> StoreResult<DataKey>,
    ) -> StoreResult<Vec<Rewrapped>> {
        rows.into_iter()
            .map(|(subject, stored)| {
                let old = stored.kek_id.map(&mut kek_of).transpose()?;
                let key = self.unwrap(&subject, &stored, old.as_ref())?;
                Ok(Rewrapped {
                    bytes: self.wrap(newest.1, &subject, &key),
                    old_kek_id: stored.kek_id.unwrap_or(0),
                    subject,
                })
            })
            .collect()
    }
}

/// A wrapped key's associated data: it opens only in its own subject's row.
fn context(subject: &SubjectKey) -> Vec<u8> {
    [WRAP_CONTEXT, subject.as_bytes().as_slice()].concat()
}

// --- SQL, the same text on both backends (`crate::sql` passes `?1` placeholders) ---

/// The newest KEK: the one that wraps new data keys.
pub(crate) const NEWEST_KEK_SQL: &str =
    "SELECT id, salt, check_tag FROM keks ORDER BY id DESC LIMIT 1";

/// KEK `id`.
pub(crate) fn kek_sql(id: &str) -> String {
    format!("SELECT id, salt, check_tag FROM keks WHERE id = {id}")
}

/// Retires every KEK not retired yet.
pub(crate) fn retire_keks_sql(now: &str) -> String {
    format!("UPDATE keks SET retired_at = {now} WHERE retired_at IS NULL")
}

/// Adds a KEK, returning its id (ids only increase, so it is the newest).
pub(crate) fn insert_kek_sql(salt: &str, check: &str, now: &str) -> String {
    format!(
        "INSERT INTO keks (salt, check_tag, created_at) VALUES ({salt}, {check}, {now}) RETURNING id"
    )
}

/// A subject's stored key and the KEK that wraps it.
pub(crate) fn stored_key_sql(key: &str) -> String {
    format!("SELECT data_key, kek_id FROM subject_keys WHERE subject_key = {key}")
}

/// Stores a subject's wrapped key unless they have one.
pub(crate) fn insert_key_sql(key: &str, wrapped: &str, kek: &str, now: &str) -> String {
    format!(
        "INSERT INTO subject_keys (subject_key, data_key, kek_id, created_at)
         VALUES ({key}, {wrapped}, {kek}, {now}) ON CONFLICT DO NOTHING"
    )
}

/// Up to `limit` keys not under KEK `newest`: in the clear, or under an older KEK.
pub(crate) fn pending_keys_sql(newest: &str, limit: &str) -> String {
    format!(
        "SELECT subject_key, data_key, kek_id FROM subject_keys
         WHERE kek_id IS NULL OR kek_id < {newest} LIMIT {limit}"
    )
}

/// Replaces a key's wrapping, only if the row still names the KEK it was read under (0: in
/// the clear; KEK ids start at 1).
pub(crate) fn rewrap_key_sql(key: &str, wrapped: &str, kek: &str, old: &str) -> String {
    format!(
        "UPDATE subject_keys SET data_key = {wrapped}, kek_id = {kek}
         WHERE subject_key = {key} AND coalesce(kek_id, 0) = {old}"
    )
}

/// Every KEK with how many data keys it wraps, oldest first.
pub(crate) const KEK_USE_SQL: &str = "SELECT k.id, k.created_at, k.retired_at,
        (SELECT count(*) FROM subject_keys s WHERE s.kek_id = k.id)
     FROM keks k ORDER BY k.id";

/// How many data keys are still in the clear.
pub(crate) const UNWRAPPED_KEYS_SQL: &str =
    "SELECT count(*) FROM subject_keys WHERE kek_id IS NULL";

#[cfg(test)]
mod tests {
    use super::*;

    fn unlocked(secret: &[u8]) -> (Keyring, KekRow) {
        let root = KekRoot::from_server_secret(secret);
        let new = NewKek::generate(&root);
        let row = KekRow {
            id: 1,
            salt: new.salt.to_vec(),
            check: new.check.to_vec(),
        };
        let ring = Keyring::default();
        ring.unlock(root, &row).unwrap();
        (ring, row)
    }

    #[test]
    fn a_wrapped_key_opens_only_under_its_kek_and_subject() {
        let (ring, row) = unlocked(&[7; 32]);
        let kek = ring.kek(&row).unwrap();
        let (a, b) = (
            SubjectKey::from_bytes([1; 32]),
            SubjectKey::from_bytes([2; 32]),
        );
        let stored = StoredKey {
            bytes: ring.wrap(&kek, &a, &[9; 32]),
            kek_id: Some(1),
        };
        assert!(!stored.bytes.windows(32).any(|w| w == [9; 32]));
        assert_eq!(ring.unwrap(&a, &stored, Some(&kek)).unwrap(), [9; 32]);
        assert!(ring.unwrap(&b, &stored, Some(&kek)).is_err(), "moved row");
        let (other, other_row) = unlocked(&[8; 32]);
        let other_kek = other.kek(&other_row).unwrap();
        assert!(ring.unwrap(&a, &stored, Some(&other_kek)).is_err());
    }

    #[test]
    fn another_secret_is_refused_and_a_locked_ring_opens_nothing() {
        let (_, row) = unlocked(&[7; 32]);
        let ring = Keyring::default();
        let clear = StoredKey {
            bytes: vec![3; 32],
            kek_id: None,
        };
        let s = SubjectKey::from_bytes([1; 32]);
        assert!(ring.unwrap(&s, &clear, None).is_err(), "locked");
        let err = ring
            .unlock(KekRoot::from_server_secret(&[8; 32]), &row)
            .unwrap_err();
        assert!(err.to_string().contains("does not unwrap"), "{err}");
        assert!(ring.kek(&row).is_err(), "still locked");
        ring.unlock(KekRoot::from_server_secret(&[7; 32]), &row)
            .unwrap();
        assert_eq!(ring.unwrap(&s, &clear, None).unwrap(), [3; 32]);
    }
}
