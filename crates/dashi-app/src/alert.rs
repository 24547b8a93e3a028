//! Alerts and their subscriptions. Reading an alert takes view access to its query (Redash:
//! the query's data source is one of the caller's); changing, muting, deleting and evaluating
//! one takes its owner or an admin. Evaluation itself runs on a worker (`check_alerts`).

use chrono::Utc;
use dashi_core::{CHECK_ALERTS_JOB, CheckAlertsPayload, Permission, Queue};
use dashi_store::{
    Alert, AlertFields, AlertId, Destination, DestinationId, NewJob, QueryId, Subscription, SubscriptionId, User,
};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::auth::required;
use crate::query::QueryDetails;
use crate::{App, Error, Result};

/// Redash's operators (symbols and the legacy words).
const OPERATORS: &[&str] = &[">", ">=", "<", "<=", "==", "!=", "greater than", "less than", "equals"];
/// Redash's selectors plus Dashi's `row_count` and `query_failed` (Redash #889, #4132).
const SELECTORS: &[&str] = &["first", "min", "max", "row_count", "query_failed"];

/// An alert as Redash returns it: with its query and owner.
#[derive(Debug, Clone)]
pub struct AlertDetails {
    pub alert: Alert,
    pub query: QueryDetails,
    pub owner: Option<User>,
}

/// What a caller sends to create or change an alert; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct AlertInput {
    pub name: Option<String>,
    pub query_id: Option<i64>,
    pub options: Option<Map<String, Value>>,
    /// `Some(None)`: clear the rearm.
    pub rearm: Option<Option<i64>>,
}

/// A subscription with its user and destination.
#[derive(Debug, Clone)]
pub struct SubscriptionDetails {
    pub subscription: Subscription,
    pub user: Option<User>,
    pub destination: Option<Destination>,
}

fn validated_options(options: &Map<String, Value>) -> Result<Map<String, Value>> {
    if let Some(op) = options.get("op").filter(|op| !op.is_null())
        && !op.as_str().is_some_and(|op| OPERATORS.contains(&op))
    {
        return Err(Error::invalid(format!("Unknown alert operator {op}.")));
    }
    if let Some(selector) = options.get("selector").filter(|selector| !selector.is_null())
        && !selector.as_str().is_some_and(|selector| SELECTORS.contains(&selector))
    {
        return Err(Error::invalid(format!("Unknown alert selector {selector}.")));
    }
    Ok(options.clone())
}

fn validated_rearm(rearm: Option<i64>) -> Result<Option<i64>> {
    match rearm {
        Some(seconds) if seconds < 0 => Err(Error::invalid("Rearm must be a number of seconds, 0 or more.")),
        Some(0) => Ok(None),
        other => Ok(other),
    }
}

impl App {
    /// An alert of the actor's organization whose query the actor may read.
    async fn alert_details(&self, actor: &Actor, alert: Alert) -> Result<AlertDetails> {
        let query = self.get_query(actor, alert.query_id).await?;
        let owner = dashi_store::user_by_id(&self.store, actor.org_id(), alert.user_id).await?;
        Ok(AlertDetails { alert, query, owner })
    }

    async fn alert_in_org(&self, actor: &Actor, id: AlertId) -> Result<Alert> {
        dashi_store::alert_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("alert"))
    }

    /// An alert the actor owns (or any, for an admin), after checking they may still read it.
    async fn owned_alert(&self, actor: &Actor, id: AlertId) -> Result<Alert> {
        let alert = self.alert_in_org(actor, id).await?;
        actor.require_admin_or_self(alert.user_id)?;
        Ok(alert)
    }

    /// `GET /api/alerts`: the alerts on queries the actor may read.
    pub async fn list_alerts(&self, actor: &Actor) -> Result<Vec<AlertDetails>> {
        actor.require(Permission::ListAlerts)?;
        let mut visible = Vec::new();
        for alert in dashi_store::list_alerts(&self.store, actor.org_id()).await? {
            match self.alert_details(actor, alert).await {
                Ok(details) => visible.push(details),
                Err(Error::Forbidden(_) | Error::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(visible)
    }

    /// `GET /api/alerts/<id>`.
    pub async fn get_alert(&self, actor: &Actor, id: AlertId) -> Result<AlertDetails> {
        let alert = self.alert_in_org(actor, id).await?;
        self.alert_details(actor, alert).await
    }

    /// `POST /api/alerts`: `name`, `query_id` and `options` are required.
    pub async fn create_alert(&self, actor: &Actor, input: &AlertInput) -> Result<AlertDetails> {
        let name = required(input.name.as_deref().unwrap_or_default(), "Name")?;
        let query_id = input.query_id.ok_or_else(|| Error::invalid("query_id is required."))?;
        let options = validated_options(input.options.as_ref().ok_or_else(|| Error::invalid("options is required."))?)?;
        self.get_query(actor, QueryId(query_id)).await?;
        let fields =
            AlertFields { name, query_id: QueryId(query_id), options, rearm: validated_rearm(input.rearm.flatten())? };
        let alert =
            dashi_store::insert_alert(&self.store, actor.org_id(), actor.user_id(), &fields, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "create", "alert", Some(alert.id.to_string())).await?;
        self.alert_details(actor, alert).await
    }

    /// `POST /api/alerts/<id>`: the owner or an admin changes any of the fields.
    pub async fn update_alert(&self, actor: &Actor, id: AlertId, input: &AlertInput) -> Result<AlertDetails> {
        let alert = self.owned_alert(actor, id).await?;
        let query_id = input.query_id.map(QueryId).unwrap_or(alert.query_id);
        self.get_query(actor, query_id).await?;
        let fields = AlertFields {
            name: match &input.name {
                Some(name) => required(name, "Name")?,
                None => alert.name.clone(),
            },
            query_id,
            options: match &input.options {
                Some(options) => validated_options(options)?,
                None => alert.options.clone(),
            },
            rearm: match input.rearm {
                Some(rearm) => validated_rearm(rearm)?,
                None => alert.rearm,
            },
        };
        dashi_store::update_alert(&self.store, id, &fields, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "alert", Some(id.to_string())).await?;
        self.get_alert(actor, id).await
    }

    /// `DELETE /api/alerts/<id>`: the owner or an admin.
    pub async fn delete_alert(&self, actor: &Actor, id: AlertId) -> Result<()> {
        self.owned_alert(actor, id).await?;
        dashi_store::delete_alert(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "alert", Some(id.to_string())).await?;
        Ok(())
    }

    /// `POST|DELETE /api/alerts/<id>/mute`: a muted alert still changes state but sends nothing.
    pub async fn set_alert_muted(&self, actor: &Actor, id: AlertId, muted: bool) -> Result<()> {
        let alert = self.owned_alert(actor, id).await?;
        let mut options = alert.options.clone();
        options.insert("muted".into(), Value::Bool(muted));
        let fields = AlertFields { name: alert.name.clone(), query_id: alert.query_id, options, rearm: alert.rearm };
        dashi_store::update_alert(&self.store, id, &fields, Utc::now()).await?;
        let action = if muted { "mute" } else { "unmute" };
        self.record_event(actor.org_id(), Some(&actor.user), action, "alert", Some(id.to_string())).await?;
        Ok(())
    }

    /// `POST /api/alerts/<id>/eval`: the owner or an admin asks for an evaluation now; a worker
    /// evaluates the latest result and notifies every subscription whatever the state (Redash's
    /// test button). Redash compat: Redash evaluates inside the request; here a worker of the
    /// `notifications` queue does, and the answer (`null`) comes at once.
    pub async fn evaluate_alert(&self, actor: &Actor, id: AlertId) -> Result<()> {
        self.owned_alert(actor, id).await?;
        let payload = CheckAlertsPayload::Manual { alert_id: id.0 };
        let job = NewJob {
            org_id: Some(actor.org_id()),
            queue: Queue::Notifications.as_str().into(),
            kind: CHECK_ALERTS_JOB.into(),
            payload: serde_json::to_value(&payload).expect("a plain enum always serialises"),
            data_source_id: None,
            query_id: None,
            query_hash: None,
            dedupe_key: Some(format!("check_alerts:manual:{id}")),
            run_key: None,
            max_attempts: 3,
            run_after: Utc::now(),
        };
        self.queue.enqueue(&job).await?;
        Ok(())
    }

    /// `GET /api/alerts/<id>/subscriptions`.
    pub async fn alert_subscriptions(&self, actor: &Actor, id: AlertId) -> Result<Vec<SubscriptionDetails>> {
        self.get_alert(actor, id).await?;
        let mut listed = Vec::new();
        for subscription in dashi_store::subscriptions_of(&self.store, id).await? {
            listed.push(self.subscription_details(actor, subscription).await?);
        }
        Ok(listed)
    }

    async fn subscription_details(&self, actor: &Actor, subscription: Subscription) -> Result<SubscriptionDetails> {
        let user = dashi_store::user_by_id(&self.store, actor.org_id(), subscription.user_id).await?;
        let destination = match subscription.destination_id {
            Some(id) => dashi_store::destination_by_id(&self.store, actor.org_id(), id).await?,
            None => None,
        };
        Ok(SubscriptionDetails { subscription, user, destination })
    }

    /// `POST /api/alerts/<id>/subscriptions`: anyone who may read the alert subscribes, through a
    /// destination or (without one) by e-mail to themselves.
    pub async fn subscribe(
        &self,
        actor: &Actor,
        id: AlertId,
        destination_id: Option<i64>,
    ) -> Result<SubscriptionDetails> {
        self.get_alert(actor, id).await?;
        let destination = match destination_id {
            Some(destination_id) => Some(self.destination_in_org(actor, DestinationId(destination_id)).await?.id),
            None => None,
        };
        let subscription =
            match dashi_store::insert_subscription(&self.store, id, actor.user_id(), destination, Utc::now()).await {
                Err(dashi_store::Error::Duplicate { .. }) => {
                    return Err(Error::invalid("This alert already has this subscription."));
                }
                other => other?,
            };
        self.record_event(actor.org_id(), Some(&actor.user), "subscribe", "alert", Some(id.to_string())).await?;
        self.subscription_details(actor, subscription).await
    }

    /// `DELETE /api/alerts/<id>/subscriptions/<subscription_id>`: the subscriber or an admin.
    pub async fn unsubscribe(&self, actor: &Actor, id: AlertId, subscription_id: SubscriptionId) -> Result<()> {
        self.alert_in_org(actor, id).await?;
        let subscription = dashi_store::subscription_by_id(&self.store, subscription_id)
            .await?
            .filter(|subscription| subscription.alert_id == id)
            .ok_or(Error::NotFound("subscription"))?;
        actor.require_admin_or_self(subscription.user_id)?;
        dashi_store::delete_subscription(&self.store, subscription_id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "unsubscribe", "alert", Some(id.to_string())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_with_unknown_operators_or_selectors_are_refused() {
        let options = |value: Value| value.as_object().expect("object").clone();
        assert!(validated_options(&options(json!({"column": "n", "op": ">", "value": 1}))).is_ok());
        assert!(validated_options(&options(json!({"op": "greater than", "selector": "row_count"}))).is_ok());
        assert!(validated_options(&options(json!({"op": "~"}))).is_err());
        assert!(validated_options(&options(json!({"selector": "median"}))).is_err());
        assert_eq!(validated_rearm(Some(0)).ok(), Some(None));
        assert!(validated_rearm(Some(-1)).is_err());
    }
}
