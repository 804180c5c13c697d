//! A small, bounded pool of synchronous PostgreSQL connections that replaces broken ones.
//!
//! Why our own: the trait is synchronous and each call holds one connection for its whole
//! duration, so a `Mutex<Vec<Client>>` plus a `Condvar` is all the pooling Candor needs, with
//! no background threads and no extra dependency.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::Client;

use super::conn::Statements;
use crate::{StoreError, StoreResult};

/// Most connections one Candor instance opens. Each PostgreSQL connection is a server process
/// (several MiB), so N instances cost N × this many backends: keep it well under the server's
/// `max_connections` divided by the number of instances.
pub const POOL_LEN_MAX: usize = 8;
/// How long a caller waits for a free connection before the store reports itself unavailable.
const CHECKOUT_WAIT_MS_MAX: u64 = 5_000;
/// How long opening a connection may take before the database counts as unreachable.
pub(super) const CONNECT_TIMEOUT_MS: u64 = 5_000;

/// A connection and the statements prepared on it, which live and die together.
struct Pooled {
    client: Client,
    statements: Statements,
}

struct State {
    idle: Vec<Pooled>,
    /// Connections that exist: idle ones plus those checked out plus those being opened.
    open: usize,
}

pub(super) struct Pool {
    /// Where and how to connect, TLS included.
    target: super::tls::Target,
    /// Runs on every new connection before it is used (search path, durability settings).
    setup: String,
    // A std Mutex, not an async one: callers are blocking threads, and the lock is held only
    // to push or pop a connection, never across a query or a connect.
    state: Mutex<State>,
    // Wakes one waiter whenever a connection comes back or a slot frees up, so waiting callers
    // neither spin nor miss a returned connection.
    returned: Condvar,
}

/// A checked-out connection; goes back to the pool on drop unless it is broken.
pub(super) struct Conn<'p> {
    pool: &'p Pool,
    client: Option<Pooled>,
    /// Whether the connection came from the idle list (and so may have died while idle).
    pub(super) reused: bool,
}

impl Pool {
    pub(super) fn new(target: super::tls::Target, setup: String) -> Pool {
        Pool {
            target,
            setup,
            state: Mutex::new(State {
                idle: Vec::with_capacity(POOL_LEN_MAX),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Poisoning only means a panic happened while the list was being pushed or popped;
        // the list itself is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes an idle connection, or opens one if fewer than [`POOL_LEN_MAX`] exist, or waits.
    pub(super) fn get(&self) -> StoreResult<Conn<'_>> {
        let deadline = Instant::now() + Duration::from_millis(CHECKOUT_WAIT_MS_MAX);
        let mut state = self.lock();
        loop {
            while let Some(client) = state.idle.pop() {
                // A connection the driver already knows is dead is dropped here; one that died
                // silently is caught by the caller's first round trip (see `Conn::reused`).
                if client.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                    reused: true,
                });
            }
            if state.open < POOL_LEN_MAX {
                state.open += 1;
                // Connect without holding the lock: it takes a network round trip or a
                // timeout, and other callers may meanwhile take connections that come back.
                drop(state);
                return self.fresh();
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "all {POOL_LEN_MAX} database connections stayed busy for {CHECKOUT_WAIT_MS_MAX} ms"
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Opens a connection in a slot already counted in `open`; frees the slot on failure.
    fn fresh(&self) -> StoreResult<Conn<'_>> {
        match self.connect() {
            Ok(client) => Ok(Conn {
                pool: self,
                client: Some(Pooled {
                    client,
                    statements: Statements::default(),
                }),
                reused: false,
            }),
            Err(e) => {
                self.lock().open -= 1;
                self.returned.notify_one();
                Err(e)
            }
        }
    }

    fn connect(&self) -> StoreResult<Client> {
        let mut client = self.target.connect()?;
        client.batch_execute(&self.setup).map_err(super::map_err)?;
        Ok(client)
    }

    /// Replaces a connection that turned out to be dead with a new one, and drops every idle
    /// connection too: when one died the server most likely restarted or terminated them all,
    /// and checking each would cost a failed round trip apiece.
    pub(super) fn replace<'p>(&'p self, mut broken: Conn<'p>) -> StoreResult<Conn<'p>> {
        // Without its client, `broken` returns nothing on drop and keeps its slot in `open`,
        // which the new connection takes over.
        drop(broken.client.take());
        drop(broken);
        let dropped = {
            let mut state = self.lock();
            let idle = std::mem::take(&mut state.idle);
            state.open -= idle.len();
            idle
        };
        // Dropping a client sends a terminate message; do it outside the lock.
        drop(dropped);
        self.fresh()
    }
}

impl Conn<'_> {
    /// Closes a connection that failed in a way that leaves its state unknown, so it never
    /// goes back to the pool.
    pub(super) fn discard(mut self) {
        if self.client.take().is_some() {
            self.pool.lock().open -= 1;
            self.pool.returned.notify_one();
        }
    }

    /// The client and the statements prepared on it.
    pub(super) fn parts(&mut self) -> (&mut Client, &mut Statements) {
        let pooled = self
            .client
            .as_mut()
            .expect("a checked-out connection holds a client until it is dropped");
        (&mut pooled.client, &mut pooled.statements)
    }
}

impl Drop for Pool {
    /// Closing a connection runs the driver's own small runtime, which must not happen on a
    /// thread that is driving async tasks; so the idle connections are closed on a thread of
    /// their own, and dropping the store is safe from anywhere.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        if !idle.is_empty() {
            std::thread::spawn(move || drop(idle));
        }
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if client.client.is_closed() {
            state.open -= 1;
            drop(state);
        } else {
            state.idle.push(client);
            drop(state);
        }
        self.pool.returned.notify_one();
    }
}
