//! Shared state of the HTTP server: the application's context and what only HTTP needs (the
//! API key cache, rate limits).

use std::sync::Arc;

use candor_app::config::Config;
use candor_app::{App, Clock, ServerSecret};
use candor_domain::SubjectKey;
use candor_domain::policy::Policy;
use candor_store::{Store, StoreResult};

use crate::error::ApiResult;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// The application: store, policy, configuration, secret, clock and its caches. Its
    /// fields read through this state (`state.store`, `state.policy`...).
    pub app: App,
    /// API key records read recently (see [`crate::key_cache::KeyCache`]).
    pub api_keys: crate::key_cache::KeyCache,
    pub rate: crate::rate::RateLimiter,
}

impl std::ops::Deref for Inner {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
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
            app: App::new(store, policy, secret, config, clock),
            api_keys: crate::key_cache::KeyCache::default(),
            rate: crate::rate::RateLimiter::default(),
        }))
    }

    /// Pseudonymizes an external id from a request path or body.
    pub fn subject_key(&self, raw: &str) -> ApiResult<SubjectKey> {
        Ok(self.app.subject_key(raw)?)
    }

    /// A short store read, in place when the store would not wait ([`App::read`]).
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        Ok(self.app.read(f).await?)
    }

    /// Store work on the blocking pool ([`App::blocking`]).
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        Ok(self.app.blocking(f).await?)
    }
}
