//! [`App`]: what every use case runs over — the store, the policy, the configuration, the
//! server secret, the clock — and the caches that may be kept between requests (models,
//! experiment definitions and token signing keys; never consent, restriction, preferences or
//! experiment assignments, which are read from the store on every use).

use std::sync::Arc;

use candor_domain::policy::Policy;
use candor_domain::time::Timestamp;
use candor_domain::{ExternalId, SubjectKey};
use candor_store::{Store, StoreResult};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::secret::ServerSecret;

/// The application's context; cheap to clone.
#[derive(Clone)]
pub struct App(Arc<Inner>);

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
    pub token_keys: crate::token_keys::TokenKeyring,
    /// The active experiment definitions (never anyone's consent or assignment).
    pub experiments: crate::experiments::DefinitionCache,
}

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        policy: Policy,
        secret: ServerSecret,
        config: Config,
        clock: Clock,
    ) -> App {
        App(Arc::new(Inner {
            store,
            policy: Arc::new(policy),
            secret,
            config,
            clock,
            models: crate::recommend::ModelCell::default(),
            exposures: std::sync::Mutex::new(Vec::new()),
            exposure_flush: std::sync::Mutex::new(()),
            erased: crate::recommend::Erased::default(),
            token_keys: crate::token_keys::TokenKeyring::default(),
            experiments: crate::experiments::DefinitionCache::default(),
        }))
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Pseudonymizes an external id.
    pub fn subject_key(&self, raw: &str) -> AppResult<SubjectKey> {
        let id = ExternalId::parse(raw)
            .map_err(|e| AppError::invalid("invalid_subject_id", e.to_string()))?;
        Ok(SubjectKey::derive(self.secret.as_bytes(), &id))
    }

    /// A short store read on the caller's own thread when the store says it would not wait
    /// ([`Store::reads_in_place`]: SQLite with a reader connection free), otherwise on the
    /// blocking pool like [`App::blocking`]. For point reads on the serving path, where the
    /// hop to another thread and back costs more than the read; a read that misses the page
    /// cache holds the worker for one disk read.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        if self.store.reads_in_place() {
            f(self.store.as_ref()).map_err(AppError::from)
        } else {
            self.blocking(f).await
        }
    }

    /// Runs store work on the blocking pool so the async runtime never waits on disk.
    pub async fn blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| AppError::internal(format!("storage task failed: {e}")))?
            .map_err(AppError::from)
    }
}
