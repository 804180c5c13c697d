//! The outbox worker: posts queued deliveries to the webhook, signed, with an idempotency key,
//! and retries failures with exponential backoff. At least once: a delivery leaves the queue
//! only when the webhook answered 2xx; a failure, a timeout or a crash of this process leaves
//! it queued (a crash leaves it leased until the lease ends), so a failed webhook never loses
//! a delivery. Receivers drop repeats by the idempotency key.

use std::time::Duration;

use candor_domain::policy::Channel;
use candor_domain::time::Timestamp;
use candor_segments::sign_webhook;
use candor_store::{DeliveryRecord, Store, StoreResult};

use crate::config::CampaignSettings;

/// Deliveries taken per pass.
pub const OUTBOX_BATCH_LEN: u32 = 100;
/// How long a taken delivery is hidden from other workers; longer than a request can take.
pub const LEASE_MS: i64 = 5 * 60 * 1000;
/// How long one webhook request may take.
pub const WEBHOOK_TIMEOUT_MS: u64 = 10_000;
/// Webhook requests in flight at once within a pass.
pub const OUTBOX_CONCURRENCY: usize = 16;
/// How long a pass may post before it gives back what it has not posted: well inside the
/// lease, so no delivery is still being posted here when another instance may take it.
pub const PASS_DEADLINE_MS: i64 = LEASE_MS / 2;
const _: () = assert!(
    (OUTBOX_BATCH_LEN as u64).div_ceil(OUTBOX_CONCURRENCY as u64) * WEBHOOK_TIMEOUT_MS
        < PASS_DEADLINE_MS as u64
);
/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "t.body">`.
pub const SIGNATURE_HEADER: &str = "candor-signature";
/// Header carrying the delivery's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest error text kept with a failed delivery, in characters.
const ERROR_CHARS_MAX: usize = 200;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxReport {
    pub claimed: u32,
    pub delivered: u32,
    pub failed: u32,
}

/// The HTTP client the worker posts with. HTTPS is rustls: the certificate must lead to one
/// of Mozilla's roots (bundled), the system's, or those of `webhook_ca_file`.
pub fn client(settings: &CampaignSettings) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(WEBHOOK_TIMEOUT_MS))
        // A webhook that redirects is misconfigured; following it would post personal data
        // somewhere nobody configured.
        .redirect(reqwest::redirect::Policy::none());
    for cert in &settings.webhook_ca {
        let cert = reqwest::Certificate::from_der(cert.as_ref())
            .map_err(|e| format!("campaigns.webhook_ca_file: {e}"))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("the webhook client cannot be set up: {e}"))
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), at most the maximum.
pub fn backoff_ms(settings: &CampaignSettings, attempts: u32) -> u64 {
    let doublings = attempts.saturating_sub(1).min(32);
    settings
        .retry_ms_base
        .saturating_mul(1u64 << doublings)
        .min(settings.retry_ms_max)
}

/// One pass: takes the deliveries due at `now` and posts each once. Does nothing when no
/// webhook is configured (deliveries wait in the outbox).
pub async fn run_once(
    store: std::sync::Arc<dyn Store>,
    settings: &CampaignSettings,
    client: &reqwest::Client,
    now: Timestamp,
) -> StoreResult<OutboxReport> {
    let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
        return Ok(OutboxReport::default());
    };
    let claimed = blocking(&store, move |s| {
        s.claim_deliveries(now, LEASE_MS, OUTBOX_BATCH_LEN)
    })
    .await?;
    let mut report = OutboxReport {
        claimed: claimed.len() as u32,
        ..OutboxReport::default()
    };
    // Posts run concurrently, each bounded by the client's timeout and all by the pass
    // deadline, which lies well inside the lease: by the time another instance may take a
    // delivery again, this one has stopped posting it.
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(PASS_DEADLINE_MS).unwrap_or(0));
    let mut posts = tokio::task::JoinSet::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(OUTBOX_CONCURRENCY));
    for d in claimed {
        let (store, client, limit) = (
            std::sync::Arc::clone(&store),
            client.clone(),
            std::sync::Arc::clone(&limit),
        );
        let (url, secret) = (url.clone(), secret.clone());
        posts.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let body = match with_address(&store, &d).await {
                Ok(body) => body,
                Err(e) => {
                    // The delivery stays leased and is taken again when the lease ends.
                    tracing::warn!(delivery = d.id, error = %e, "cannot prepare delivery");
                    return Ok((d, Err(None)));
                }
            };
            let posted = tokio::time::timeout_at(
                deadline,
                post(&client, &url, secret.as_bytes(), &d, body, now),
            )
            .await
            .unwrap_or_else(|_| Err("not posted within the pass deadline".to_owned()));
            Ok::<_, candor_store::StoreError>((d, posted.map_err(Some)))
        });
    }
    while let Some(joined) = posts.join_next().await {
        let (d, posted) = joined
            .map_err(|e| candor_store::StoreError::Other(format!("outbox post failed: {e}")))??;
        match posted {
            Ok(()) => {
                // A message rendered for an experiment's arm is exposed now that it is sent:
                // its first enrollment and its exposure are recorded with the delivery's
                // success.
                let arm = super::queued_arm(&d);
                blocking(&store, move |s| {
                    s.delivery_succeeded(d.id, now)?;
                    match arm {
                        Some(arm) => crate::experiments::record_message(
                            s,
                            &d.subject,
                            &arm.campaign_arm(&d.subject, now),
                            now,
                        ),
                        None => Ok(()),
                    }
                })
                .await?;
                report.delivered += 1;
            }
            Err(None) => report.failed += 1,
            Err(Some(error)) => {
                let delay = i64::try_from(backoff_ms(settings, d.attempts)).unwrap_or(i64::MAX);
                let next = now.plus_millis(delay);
                tracing::warn!(delivery = d.id, attempts = d.attempts, %error, "delivery failed; will retry");
                blocking(&store, move |s| s.delivery_failed(d.id, next, &error)).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// The webhook URL as it may be logged and stored: scheme, host, port and path, without
/// credentials in its user part or its query.
pub fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}{}",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                u.path()
            )
        }
        Err(_) => "<webhook url>".to_owned(),
    }
}

async fn blocking<T: Send + 'static>(
    store: &std::sync::Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = std::sync::Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| candor_store::StoreError::Other(format!("outbox task failed: {e}")))?
}

/// The webhook body with the person's address on the channel, unsealed now: the outbox
/// itself never holds it.
async fn with_address(
    store: &std::sync::Arc<dyn Store>,
    d: &DeliveryRecord,
) -> StoreResult<String> {
    let mut payload = super::webhook_payload(d)?;
    if let Some(field) = Channel::parse(&d.channel).and_then(super::address_field) {
        let subject = d.subject;
        let contact = blocking(store, move |s| super::contact_fields(s, &subject)).await?;
        payload.to = contact.get(field).cloned();
    }
    serde_json::to_string(&payload)
        .map_err(|e| candor_store::StoreError::Other(format!("delivery body: {e}")))
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    secret: &[u8],
    d: &DeliveryRecord,
    body: String,
    now: Timestamp,
) -> Result<(), String> {
    let t = now.as_millis().div_euclid(1000);
    let signature = sign_webhook(secret, t, body.as_bytes());
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, format!("t={t},v1={signature}"))
        .header(IDEMPOTENCY_HEADER, &d.idempotency_key)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            // The error names the URL without its credentials or query, never the payload.
            // Every cause: a refused certificate is several layers down.
            let mut cause = String::new();
            let mut next = std::error::Error::source(&e);
            while let Some(s) = next {
                cause.push_str(&format!(": {s}"));
                next = s.source();
            }
            format!(
                "posting to {} failed: {}{cause}",
                redacted_url(url),
                e.without_url()
            )
            .chars()
            .take(ERROR_CHARS_MAX)
            .collect::<String>()
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered HTTP {}", status.as_u16()))
    }
}

/// How often the worker looks for due deliveries when the last pass found none to spare.
pub const OUTBOX_POLL_MS: u64 = 1_000;

/// Runs the worker for as long as the server runs (`candor serve` spawns it). A failed pass
/// is logged and retried on the next tick; it never stops the server. Does nothing when no
/// webhook is configured.
pub async fn outbox_loop(state: crate::App) {
    if state.config.campaigns.webhook_url.is_none() {
        return;
    }
    let client = match client(&state.config.campaigns) {
        Ok(client) => client,
        Err(e) => {
            // The CA file was checked when the settings resolved; this is the TLS stack
            // itself failing (a system root store with no usable certificate).
            tracing::error!(error = %e, "the outbox cannot start; deliveries wait in the outbox");
            return;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(OUTBOX_POLL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Keep going without waiting while passes come back full: a big run drains quickly.
        loop {
            let store = std::sync::Arc::clone(&state.store);
            match run_once(store, &state.config.campaigns, &client, state.now()).await {
                Ok(r) if r.claimed == OUTBOX_BATCH_LEN => continue,
                Ok(r) if r.claimed > 0 => {
                    tracing::info!(delivered = r.delivered, failed = r.failed, "outbox pass");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox pass failed"),
            }
            break;
        }
    }
}
