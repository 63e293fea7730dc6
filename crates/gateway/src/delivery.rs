//! The delivery worker: sends the outbox's due deliveries to their subscribers, signed,
//! and records each attempt's outcome in the store, so a restart (or another replica)
//! carries on where this one stopped.
//!
//! Every `poll` it turns new record versions into change events (see
//! `Store::derive_changes`), claims a batch of due deliveries (replicas claim disjoint
//! ones) and sends them a few at a time, each attempt bounded by a timeout. A 2xx is
//! delivered; anything else (an error status, a timeout, a refused connection, a
//! redirect, which is never followed) is tried again on the [`RetrySchedule`], and the
//! last failure makes a dead letter. On shutdown the worker stops claiming, finishes
//! the attempts in flight and records them. Outcomes are counted in
//! `webhook_deliveries_total{outcome}` (`delivered`, `retried`, `dead`).

use std::time::Duration;

use futures_util::StreamExt;
use store::{AttemptOutcome, ClaimedDelivery, Store};
use tokio_util::sync::CancellationToken;

use crate::push::{Destinations, RetrySchedule, sign};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub destinations: Destinations,
    pub schedule: RetrySchedule,
    /// Longest one attempt may take, connection included.
    pub attempt_timeout: Duration,
    /// How often to look for due deliveries and new record versions.
    pub poll: Duration,
    /// Deliveries claimed at a time (and sent at once).
    pub batch_size: usize,
    /// Delivered deliveries are forgotten this long after.
    pub keep_delivered: Duration,
}

/// The running worker; [`DeliveryWorker::shutdown`] stops it.
#[derive(Debug)]
pub struct DeliveryWorker {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl DeliveryWorker {
    /// Starts the worker on the current runtime, with `store` (a pool of its own: its
    /// connections then live on this runtime).
    pub fn start(store: Store, settings: Settings) -> Result<Self, crate::Error> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.attempt_timeout)
            .timeout(settings.attempt_timeout)
            .user_agent(concat!(
                "interop-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| crate::Error::Config(format!("push HTTP client: {e}")))?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(store, settings, http, stop.clone()));
        Ok(Self { stop, task })
    }

    /// Stops claiming, lets the attempts in flight end and be recorded, and waits.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn run(store: Store, settings: Settings, http: reqwest::Client, stop: CancellationToken) {
    // An attempt out longer than this is taken for lost (its worker died), and its
    // delivery may be claimed again.
    let lease = settings.attempt_timeout * 2 + Duration::from_secs(5);
    let mut last_purge: Option<tokio::time::Instant> = None;
    // The store failing (unmigrated, unreachable) is said once, not every poll.
    let mut failing = false;
    let batch = settings.batch_size.max(1);
    loop {
        let polled = async {
            store.derive_changes(1000).await?;
            let claimed = store.claim_deliveries(batch, lease).await?;
            let busy = claimed.len() >= batch;
            // Sent together, recorded as each ends; a shutdown waits for them.
            futures_util::stream::iter(claimed)
                .for_each_concurrent(None, |d| attempt(&store, &settings, &http, d))
                .await;
            if last_purge
                .is_none_or(|t: tokio::time::Instant| t.elapsed() > Duration::from_secs(3600))
            {
                last_purge = Some(tokio::time::Instant::now());
                store.purge_delivered(settings.keep_delivered).await?;
            }
            Ok::<bool, store::StoreError>(busy)
        };
        let busy = match polled.await {
            Ok(busy) => {
                if failing {
                    tracing::info!("push: the outbox is reachable again");
                    failing = false;
                }
                busy
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "push: the outbox cannot be read; deliveries wait");
                    failing = true;
                }
                false
            }
        };
        if stop.is_cancelled() {
            return;
        }
        if !busy {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(settings.poll) => {}
            }
        }
    }
}

/// One attempt: send, then record what came of it.
async fn attempt(store: &Store, settings: &Settings, http: &reqwest::Client, d: ClaimedDelivery) {
    let outcome = match send(settings, http, &d).await {
        Ok(status) => AttemptOutcome::Delivered { status },
        Err((status, error)) => {
            let made = u32::try_from(d.attempts).unwrap_or(u32::MAX);
            let retry_at = settings
                .schedule
                .after(made)
                .and_then(|wait| chrono::Duration::from_std(wait).ok())
                .map(|wait| chrono::Utc::now() + wait);
            AttemptOutcome::Failed {
                status,
                error,
                retry_at,
            }
        }
    };
    let label = match &outcome {
        AttemptOutcome::Delivered { .. } => "delivered",
        AttemptOutcome::Failed { retry_at: None, .. } => {
            tracing::warn!(delivery = %d.id, subscription = %d.subscription_id, attempts = d.attempts,
                           "push: delivery failed its last try; it is a dead letter");
            "dead"
        }
        AttemptOutcome::Failed { error, .. } => {
            tracing::debug!(delivery = %d.id, attempts = d.attempts, %error, "push: attempt failed");
            "retried"
        }
    };
    metrics::counter!("webhook_deliveries_total", "outcome" => label).increment(1);
    // A failed record leaves the claim's lease to run out: the attempt is made again.
    if let Err(e) = store.record_attempt(d.id, &outcome).await {
        tracing::warn!(error = %e, delivery = %d.id, "push: could not record an attempt");
    }
}

/// Sends one delivery: the status of a 2xx answer, else the status (if any) and why.
async fn send(
    settings: &Settings,
    http: &reqwest::Client,
    d: &ClaimedDelivery,
) -> Result<u16, (Option<u16>, String)> {
    // The allow-list may have narrowed since the subscription was made.
    let url = settings
        .destinations
        .check(&d.url)
        .map_err(|why| (None, format!("destination refused: the URL {why}")))?;
    let id = d.event_id.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(&d.secret, &id, timestamp, &d.body).map_err(|e| (None, e.to_string()))?;
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.body.clone())
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                format!(
                    "no answer within {} ms",
                    settings.attempt_timeout.as_millis()
                )
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            };
            (None, why)
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else if status.is_redirection() {
        Err((
            Some(status.as_u16()),
            format!("answered {status}: redirects are not followed"),
        ))
    } else {
        Err((Some(status.as_u16()), format!("answered {status}")))
    }
}
