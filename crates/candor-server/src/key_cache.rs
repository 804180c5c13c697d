//! API key records read recently, so a request does not read its key from the store each time.
//! Trusted for [`KEY_CACHE_TTL`]: the longest a revocation made elsewhere takes to apply here.

use std::sync::Arc;

use candor_app::api_key::KEY_CACHE_TTL;
use candor_store::ApiKeyRecord;

/// Most key records kept; the cache starts over when full (there are few keys in practice).
const KEY_CACHE_MAX: usize = 1024;

/// Recently read API key records, by key id. A std mutex: held only for a map operation,
/// never across an await.
#[derive(Default)]
pub struct KeyCache(std::sync::Mutex<std::collections::HashMap<String, CachedKey>>);

struct CachedKey {
    read_at: std::time::Instant,
    record: Arc<ApiKeyRecord>,
}

impl KeyCache {
    pub fn get(&self, id: &str) -> Option<Arc<ApiKeyRecord>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|c| c.read_at.elapsed() < KEY_CACHE_TTL)
            .map(|c| Arc::clone(&c.record))
    }

    pub fn put(&self, record: Arc<ApiKeyRecord>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= KEY_CACHE_MAX {
            map.clear();
        }
        map.insert(
            record.id.clone(),
            CachedKey {
                read_at: std::time::Instant::now(),
                record,
            },
        );
    }

    /// Forgets a key at once on this instance (after revoking it here).
    pub fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}
