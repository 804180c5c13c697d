//! The listener: accepts connections up to a cap, bounds every client in time, and speaks HTTPS
//! when given a certificate.
//!
//! `axum::serve` has neither timeouts nor a cap: under it, a client that sends half its headers
//! holds its connection forever. This loop drives hyper's HTTP/1.1 connections itself, under
//! the `[limits]` of `candor.toml`:
//!
//! - `header_read_timeout_ms`: a new connection must have sent a whole request head (and
//!   finished its TLS handshake) this long after it was accepted; on a kept-alive connection,
//!   this long after the next request's first byte. Otherwise it is closed.
//! - `keep_alive_idle_timeout_ms`: a kept-alive connection that sends nothing for this long after
//!   a response is closed.
//! - `request_timeout_ms`: a request not answered this long after its head arrived — a body
//!   trickled in, or a slow handler — is answered 408 `request_timeout`.
//! - `connections_max`: at the cap, the loop stops accepting; new connections wait in the
//!   kernel's accept queue until one closes (`accept_loop` says why, rather than a 503).
//!
//! hyper's own `header_read_timeout` is not used: its timer starts when a connection begins
//! waiting for a request, so on a kept-alive connection it would count the idle wait as header
//! time and close every idle connection after the (short) header timeout. Instead `Bounded`,
//! under TLS and hyper, sees the bytes and enforces both deadlines from `Activity`, which the
//! service updates as requests start and their responses end.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::error::ApiError;
use candor_app::config::{Config, Limits, TlsFiles};

/// How [`crate::serve_app`] listens: its time limits, its connection cap, and TLS if any.
#[derive(Clone)]
pub struct Options {
    timeouts: Timeouts,
    connections_max: usize,
    tls: Option<TlsAcceptor>,
}

impl Options {
    /// The limits of `config`, and its certificate and key read now: a bad file fails here,
    /// before anything is served.
    pub fn from_config(config: &Config) -> Result<Options, TlsError> {
        Ok(Options {
            timeouts: Timeouts::from_limits(&config.limits),
            connections_max: config.limits.connections_max,
            tls: config.tls.as_ref().map(tls_acceptor).transpose()?,
        })
    }

    /// `https` with TLS, `http` without: how clients address the server.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_read: Duration,
    request: Duration,
    keep_alive_idle: Duration,
}

impl Timeouts {
    fn from_limits(limits: &Limits) -> Timeouts {
        Timeouts {
            header_read: Duration::from_millis(limits.header_read_timeout_ms),
            request: Duration::from_millis(limits.request_timeout_ms),
            keep_alive_idle: Duration::from_millis(limits.keep_alive_idle_timeout_ms),
        }
    }
}

/// Why the certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{} is not a PEM certificate chain: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    #[error("{} holds no usable PEM private key: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("the certificate and key cannot be served together: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS acceptor for the PEM certificate chain and private key in `files`, on rustls with the
/// ring provider (named here, so no process-wide default is needed).
pub fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read(&files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate {
            path: files.cert.clone(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?).map_err(|e| TlsError::BadKey {
        path: files.key.clone(),
        reason: e.to_string(),
    })?;
    // rustls deprecates ring's provider for lacking post-quantum key exchange; the provider
    // that has it (aws-lc-rs) needs a C and cmake build, which this project avoids.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // Only HTTP/1.1 is served; saying so lets clients that offer h2 fall back at once.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, closes idle
/// connections and waits for the requests in flight (each bounded by the request timeout).
///
/// **The connection cap.** A permit is taken *before* `accept`, so at `connections_max` the
/// loop simply stops accepting and new connections wait in the kernel's accept queue (the
/// listen backlog) until a connection closes. The alternative, accepting to answer 503, spends
/// work on exactly the connections that cannot be served — a TLS handshake and a request read
/// for each, under the same timeouts — and so is itself a way to load a full server. Waiting
/// costs nothing, every held connection is bounded by the timeouts above so a slot always comes
/// free, and a client that cannot wait has its own connect timeout.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    app: Router,
    options: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(
        options.timeouts.request,
        answer_in_time,
    ));
    let permits = Arc::new(Semaphore::new(options.connections_max));
    // Tells every connection to finish: `true` once shutdown begins.
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => {
                p.expect("the connection semaphore is never closed")
            }
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        tokio::spawn(connection(
            stream,
            app.clone(),
            options.clone(),
            stop_rx.clone(),
            permit,
        ));
    }
    // No new connections from here: the kernel refuses them once the socket is closed.
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it ends, so holding them all means every
    // connection, and every request in flight on it, has finished.
    let all = u32::try_from(options.connections_max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// A failed `accept` is the client's problem (it reset or gave up) or the process's (out of
/// file descriptors); the latter is retried after a pause rather than in a busy loop.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Answers 408 `request_timeout` when `app` has not answered within the request timeout, which
/// covers reading the body: extractors read it inside the handler's future.
async fn answer_in_time(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Completes once shutdown has begun (or the loop that would announce it is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here: it may not be held across an await.
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// One connection, from the TLS handshake (if any) to its close. `_permit` is its slot under
/// the cap, given back when this returns.
async fn connection(
    stream: TcpStream,
    app: Router,
    options: Options,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Mutex::new(Activity::new(Instant::now())));
    let io = Bounded::new(stream, Arc::clone(&activity), options.timeouts);
    match &options.tls {
        None => http(io, app, activity, stop).await,
        Some(acceptor) => {
            let tls = tokio::select! {
                handshake = acceptor.accept(io) => match handshake {
                    Ok(tls) => tls,
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                },
                // A handshake is not a request in flight: shutdown does not wait for it.
                () = stopping(&mut stop) => return,
            };
            http(tls, app, activity, stop).await
        }
    }
}

/// Serves HTTP/1.1 requests on `io` until the client or a timeout closes it, or shutdown.
async fn http<I>(
    io: I,
    app: Router,
    activity: Arc<Mutex<Activity>>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let busy = Busy::start(&activity);
        let app = app.clone();
        async move {
            let response = app.oneshot(req.map(axum::body::Body::new)).await?;
            // The request counts as in flight until hyper drops its response body, which is
            // after the body's last byte was handed to the connection.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                body.map_frame(move |frame| {
                    let _in_flight = &busy;
                    frame
                })
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // `Bounded` enforces the header deadline (see the module's comment); hyper's would need a
    // timer and count idle time as header time.
    builder.header_read_timeout(None);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let done = tokio::select! {
        done = conn.as_mut() => done,
        () = stopping(&mut stop) => {
            // Closes the connection if idle, or after the response in flight.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = done {
        // Clients that go away, and the timeouts, end connections this way; not a server fault.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Where a connection is in its life, as far as its read deadline goes. Shared by its IO,
/// which sees bytes arrive, and its service, which sees requests start and responses end.
#[derive(Debug)]
struct Activity {
    /// Requests whose response has not been written yet.
    busy: usize,
    /// When the connection began waiting for its next request: accepted, or a response ended.
    waiting_since: Instant,
    /// Whether a response was written: until then the whole head is due within the header
    /// timeout of the accept; after, a client may idle before its next request.
    served: bool,
    /// When the first byte after `waiting_since` arrived: the next request's head has begun.
    head_started: Option<Instant>,
    /// The connection's task, as its IO last saw it: woken when a response ends, so the IO
    /// arms the idle deadline even if hyper would not read again on its own.
    reader: Option<Waker>,
}

impl Activity {
    fn new(accepted: Instant) -> Activity {
        Activity {
            busy: 0,
            waiting_since: accepted,
            served: false,
            head_started: None,
            reader: None,
        }
    }

    /// When a connection still waiting for bytes is closed; none while a request is in
    /// flight, which the request timeout bounds instead.
    fn read_deadline(&self, t: &Timeouts) -> Option<Instant> {
        if self.busy > 0 {
            return None;
        }
        Some(match (self.served, self.head_started) {
            (false, _) => self.waiting_since + t.header_read,
            (true, Some(started)) => started + t.header_read,
            (true, None) => self.waiting_since + t.keep_alive_idle,
        })
    }

    fn bytes_arrived(&mut self, now: Instant) {
        if self.busy == 0 && self.head_started.is_none() {
            self.head_started = Some(now);
        }
    }
}

/// Locks a connection's activity. A std mutex, not Tokio's: it is held for a few
/// instructions and never across an await, and IO polling cannot await a lock.
fn lock(activity: &Mutex<Activity>) -> std::sync::MutexGuard<'_, Activity> {
    activity.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request in flight on a connection, from its head to the end of its response.
struct Busy(Arc<Mutex<Activity>>);

impl Busy {
    fn start(activity: &Arc<Mutex<Activity>>) -> Busy {
        let mut a = lock(activity);
        a.busy += 1;
        a.head_started = None;
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let reader = {
            let mut a = lock(&self.0);
            a.busy -= 1;
            if a.busy > 0 {
                return;
            }
            a.waiting_since = Instant::now();
            a.served = true;
            a.head_started = None;
            a.reader.take()
        };
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// A TCP stream whose reads fail with `TimedOut` past the connection's read deadline. Each
/// read leaves the task's waker in `Activity`, so a response's end can wake it to arm the
/// idle deadline.
struct Bounded {
    stream: TcpStream,
    activity: Arc<Mutex<Activity>>,
    timeouts: Timeouts,
    timer: Pin<Box<Sleep>>,
    /// The deadline `timer` is set to.
    armed: Option<Instant>,
}

impl Bounded {
    fn new(stream: TcpStream, activity: Arc<Mutex<Activity>>, timeouts: Timeouts) -> Bounded {
        Bounded {
            stream,
            activity,
            timeouts,
            timer: Box::pin(tokio::time::sleep_until(Instant::now())),
            armed: None,
        }
    }
}

impl AsyncRead for Bounded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        {
            let mut a = lock(&this.activity);
            if !a.reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                a.reader = Some(cx.waker().clone());
            }
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    lock(&this.activity).bytes_arrived(Instant::now());
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // Nothing to read: wait no longer than the deadline, re-read each time because
                // a request's start or end moves it.
                let Some(deadline) = lock(&this.activity).read_deadline(&this.timeouts) else {
                    return Poll::Pending;
                };
                if this.armed != Some(deadline) {
                    this.timer.as_mut().reset(deadline);
                    this.armed = Some(deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent no complete request in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Bounded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_deadlines_follow_the_connection() {
        let t = Timeouts {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            keep_alive_idle: Duration::from_secs(60),
        };
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut a = Activity::new(start);
        // A new connection owes its whole head within the header timeout of the accept,
        // however early its first byte came.
        assert_eq!(a.read_deadline(&t), Some(at(10)));
        a.bytes_arrived(at(3));
        assert_eq!(a.read_deadline(&t), Some(at(10)));
        // In flight: the request timeout bounds it, not the read deadline.
        a.busy = 1;
        a.bytes_arrived(at(5));
        assert_eq!(a.read_deadline(&t), None);
        // Served and idle: the idle timeout from the end of the response...
        a = Activity {
            busy: 0,
            waiting_since: at(20),
            served: true,
            head_started: None,
            reader: None,
        };
        assert_eq!(a.read_deadline(&t), Some(at(80)));
        // ...until the next request begins; then its head is due within the header timeout.
        a.bytes_arrived(at(50));
        a.bytes_arrived(at(55));
        assert_eq!(a.read_deadline(&t), Some(at(60)));
    }
}
