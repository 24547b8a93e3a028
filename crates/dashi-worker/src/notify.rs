//! The `send_notification` job: delivers one outbox row through its subscription's
//! destination (or by e-mail to the subscriber), and records the attempt with the job's end
//! under the fence. A failure a retry can fix puts the same job back in the queue with
//! exponential backoff until its attempts run out.

use std::time::Duration;

use chrono::Utc;
use dashi_core::{OrgId, SendNotificationPayload};
use dashi_destinations::{Notification, Outbound};
use dashi_store::{Delivery, Job, Store, SubscriptionId};
use serde_json::{Map, Value};
use tracing::{info, warn};

use crate::execution::Execution;
use crate::job::Finish;

/// How notifications are rendered and delivered; built by the binary from the settings.
#[derive(Clone, Debug)]
pub struct Notifications {
    pub outbound: Outbound,
    /// The public base URL of links in notifications (Redash's `host`); may be empty.
    pub base_url: String,
    /// Deliveries per outbox row before giving up (the ledger's `max_attempts`).
    pub max_attempts: i64,
    /// The wait before the first retry; each further retry waits twice as long, up to an hour.
    pub first_retry: Duration,
}

impl Default for Notifications {
    /// No mail, services at their public addresses, 6 attempts starting 30 s apart.
    fn default() -> Notifications {
        Notifications {
            outbound: Outbound::new(None, dashi_destinations::Endpoints::default())
                .expect("a rustls client with the ring provider and bundled roots always builds"),
            base_url: String::new(),
            max_attempts: 6,
            first_retry: Duration::from_secs(30),
        }
    }
}

impl Notifications {
    /// The wait before retrying after `attempts` deliveries.
    fn backoff(&self, attempts: i64) -> Duration {
        let doublings = attempts.clamp(1, 20) as u32 - 1;
        self.first_retry.saturating_mul(2u32.saturating_pow(doublings)).min(Duration::from_secs(3600))
    }
}

/// Where a subscription sends: a destination's type and options, or e-mail to its user.
async fn target(
    store: &Store,
    execution: &Execution,
    org: OrgId,
    subscription: SubscriptionId,
) -> Result<Option<(String, Map<String, Value>)>, String> {
    let Some(subscription) =
        dashi_store::subscription_by_id(store, subscription).await.map_err(|error| error.to_string())?
    else {
        return Ok(None);
    };
    match subscription.destination_id {
        Some(destination_id) => {
            let Some(destination) =
                dashi_store::destination_by_id(store, org, destination_id).await.map_err(|error| error.to_string())?
            else {
                return Ok(None);
            };
            let options = execution.cipher.decrypt(&destination.encrypted_options).map_err(|_| {
                "The destination's options cannot be decrypted with this worker's secret key.".to_owned()
            })?;
            Ok(Some((destination.type_name, options)))
        }
        None => {
            let Some(user) =
                dashi_store::user_by_id(store, org, subscription.user_id).await.map_err(|error| error.to_string())?
            else {
                return Ok(None);
            };
            let mut options = Map::new();
            options.insert("addresses".into(), Value::String(user.email));
            Ok(Some(("email".into(), options)))
        }
    }
}

pub(crate) async fn send_notification(
    store: &Store,
    execution: &Execution,
    job: &Job,
    payload: &SendNotificationPayload,
) -> Finish {
    let failed = |error: String| Finish::Outcome(dashi_store::Outcome::Failed { error });
    let Some(org) = job.org_id else { return failed("This job belongs to no organization.".into()) };
    let row = match dashi_store::outbox_row(store, payload.outbox_id).await {
        Ok(Some(row)) => row,
        // The alert or subscription was deleted since: nothing left to send.
        Ok(None) => return Finish::Outcome(dashi_store::Outcome::Succeeded { result_id: None }),
        Err(error) => return failed(format!("Could not read the notification: {error}")),
    };
    if row.sent_at.is_some() || row.next_attempt_at.is_none() {
        return Finish::Outcome(dashi_store::Outcome::Succeeded { result_id: None });
    }
    let note: Notification = match serde_json::from_value(row.payload.clone()) {
        Ok(note) => note,
        Err(error) => return failed(format!("The notification is not readable: {error}")),
    };
    let sent = match target(store, execution, org, row.subscription_id).await {
        Ok(None) => Err(("The subscription or its destination no longer exists.".to_owned(), false)),
        Err(error) => Err((error, true)),
        Ok(Some((type_name, options))) => {
            dashi_destinations::send(&execution.notifications.outbound, &type_name, &options, &note)
                .await
                .map_err(|error| (error.to_string(), error.is_retryable()))
        }
    };
    let delivery = match sent {
        Ok(()) => Delivery::Sent,
        Err((error, true)) if job.attempts < job.max_attempts => {
            let wait = execution.notifications.backoff(job.attempts);
            let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
            Delivery::Retry { error, retry_at }
        }
        Err((error, _)) => Delivery::GaveUp { error },
    };
    match &delivery {
        Delivery::Sent => info!(outbox.id = row.id, alert.id = row.alert_id.0, "notification sent"),
        Delivery::Retry { error, retry_at } => {
            warn!(outbox.id = row.id, %error, %retry_at, "notification failed; will retry")
        }
        Delivery::GaveUp { error } => warn!(outbox.id = row.id, %error, "notification failed for good"),
    }
    match dashi_store::record_delivery(store, row.id, &job.id, job.fence, &delivery, Utc::now()).await {
        Ok(true) => Finish::Recorded,
        Ok(false) => Finish::Lost,
        Err(error) => failed(format!("Could not record the delivery: {error}")),
    }
}
