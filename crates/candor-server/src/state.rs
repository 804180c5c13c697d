//! Shared state of the HTTP server.

use std::sync::Arc;

use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use candor_store::{Store, StoreResult};

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

/// The server secret: the HMAC key that turns external ids into subject keys.
#[derive(Clone)]
pub struct ServerSecret(Arc<Vec<u8>>);

impl ServerSecret {
    pub fn new(bytes: Vec<u8>) -> ServerSecret {
        ServerSecret(Arc::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerSecret(<secret>)")
    }
}

/// Where `now` comes from: the system clock, or a fixed instant in tests.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(Timestamp),
}

impl Clock {
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                Timestamp::from_millis(ms)
            }
            Clock::Fixed(t) => t,
        }
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub policy: Arc<Policy>,
    pub secret: ServerSecret,
    pub config: Config,
    pub clock: Clock,
    /// The recommendation models currently served; rebuilt in the background.
    pub models: crate::recommend::ModelCell,
    /// Exposures served but not yet written; flushed in batches by `recommend::exposure_loop`.
    pub exposures: std::sync::Mutex<Vec<candor_store::Exposure>>,
    /// Held while exposures are written and while a person is erased (never both at once).
    pub exposure_flush: std::sync::Mutex<()>,
    /// People erased here lately, whose exposures the buffer drops.
    pub erased: crate::recommend::Erased,
    /// API key records read recently (see [`crate::auth::KeyCache`]).
    pub api_keys: crate::auth::KeyCache,
    pub token_keys: crate::token_keys::TokenKeyring,
    pub rate: crate::rate::RateLimiter,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        policy: Policy,
        secret: ServerSecret,
        config: Config,
        clock: Clock,
    ) -> AppState {
        AppState(Arc::new(Inner {
            store,
            policy: Arc::new(policy),
            secret,
            config,
            clock,
            models: crate::recommend::ModelCell::default(),
            exposures: std::sync::Mutex::new(Vec::new()),
            exposure_flush: std::sync::Mutex::new(()),
            erased: crate::recommend::Erased::default(),
            api_keys: crate::auth::KeyCache::default(),
            token_keys: crate::token_keys::TokenKeyring::default(),
            rate: crate::rate::RateLimiter::default(),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Pseudonymizes an external id from a request path or body.
    pub fn subject_key(&self, raw: &str) -> ApiResult<SubjectKey> {
        let id = ExternalId::parse(raw)
            .map_err(|e| ApiError::bad_request("invalid_subject_id", e.to_string()))?;
        Ok(SubjectKey::derive(self.secret.as_bytes(), &id))
    }

    /// A short store read on the request's own thread when the store says it would not wait
    /// ([`Store::reads_in_place`]: SQLite with a reader connection free), otherwise on the
    /// blocking pool like [`AppState::blocking`]. For point reads on the serving path, where
    /// the hop to another thread and back costs more than the read; a read that misses the
    /// page cache holds the worker for one disk read.
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        if self.store.reads_in_place() {
            f(self.store.as_ref()).map_err(ApiError::from)
        } else {
            self.blocking(f).await
        }
    }

    /// Runs store work on the blocking pool so the async runtime never waits on disk.
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| ApiError::Internal(format!("storage task failed: {e}")))?
            .map_err(ApiError::from)
    }
}
