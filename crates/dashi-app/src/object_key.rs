//! Object API keys: the pseudo-users Redash makes of a query's own key (embeds) and of a
//! dashboard's share token (public dashboards).
//!
//! Neither is a user. A [`KeyHolder`] may only read results: a query key those of its own query,
//! a share token those of the queries its dashboard's widgets show. It never sees SQL text or a
//! data source, runs nothing, and has no other permission; every other route refuses it like an
//! anonymous caller.

use chrono::Utc;
use dashi_core::OrgId;
use dashi_store::{Query, QueryId, QueryResult, ShareKey, VisualizationId};

use crate::dashboard::ShownVisualization;
use crate::{App, Error, Result};

/// Who holds a non-user API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHolder {
    /// A query's own `api_key`.
    Query { org_id: OrgId, query_id: QueryId, api_key: String },
    /// A dashboard's active share token.
    Dashboard(ShareKey),
}

impl KeyHolder {
    fn org_id(&self) -> OrgId {
        match self {
            KeyHolder::Query { org_id, .. } => *org_id,
            KeyHolder::Dashboard(key) => key.org_id,
        }
    }

    fn api_key(&self) -> &str {
        match self {
            KeyHolder::Query { api_key, .. } => api_key,
            KeyHolder::Dashboard(key) => &key.api_key,
        }
    }
}

fn no_result() -> Error {
    Error::NotFoundMessage("No cached result found for this query.".into())
}

fn same_key(stored: &str, given: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), given.as_bytes()))
}

impl App {
    /// The holder of a key that is not a user's: an active dashboard share token first, then
    /// a query's own key (Redash's order). `None` when it is neither.
    pub async fn object_key_holder(&self, api_key: &str) -> Result<Option<KeyHolder>> {
        if api_key.is_empty() {
            return Ok(None);
        }
        if let Some(key) = dashi_store::share_key_by_token(&self.store, api_key).await? {
            return Ok(same_key(&key.api_key, api_key).then_some(KeyHolder::Dashboard(key)));
        }
        Ok(dashi_store::query_by_api_key(&self.store, api_key).await?.map(|(org_id, query_id)| KeyHolder::Query {
            org_id,
            query_id,
            api_key: api_key.to_owned(),
        }))
    }

    /// The query, if the holder may read its results: its own query for a query key (re-read,
    /// so a regenerated key stops working at once), a query shown on the dashboard for a share
    /// token. Anything else is a 403. Archived queries are not served.
    async fn query_for_key(&self, holder: &KeyHolder, query_id: QueryId) -> Result<Query> {
        let query = dashi_store::query_by_id(&self.store, holder.org_id(), query_id)
            .await?
            .filter(|query| !query.is_archived)
            .ok_or(Error::NotFound("query"))?;
        let allowed = match holder {
            KeyHolder::Query { query_id: own, api_key, .. } => *own == query_id && same_key(&query.api_key, api_key),
            KeyHolder::Dashboard(key) => self.dashboard_shows(key.dashboard_id, query_id).await?,
        };
        if allowed { Ok(query) } else { Err(Error::forbidden()) }
    }

    async fn record_key_read(&self, holder: &KeyHolder, object_type: &str, object_id: String) -> Result<()> {
        let event = dashi_store::NewEvent {
            org_id: holder.org_id(),
            user_id: None,
            action: "api_get".into(),
            object_type: object_type.into(),
            object_id: Some(object_id),
            additional_properties: serde_json::json!({"api_key": holder.api_key()}),
            created_at: Utc::now(),
        };
        Ok(dashi_store::record_event(&self.store, &event).await?)
    }

    /// `GET /api/queries/<id>/results[.<ext>]` or `…/results/<result_id>.<ext>` with an object
    /// key. Redash compat: the latest result is served only while its hash is the query's
    /// current hash (a key holder must not see results of an older text).
    pub async fn key_query_result(
        &self,
        holder: &KeyHolder,
        query_id: QueryId,
        result_id: Option<i64>,
    ) -> Result<(Query, QueryResult)> {
        let query = self.query_for_key(holder, query_id).await?;
        let wanted = result_id.or(query.latest_query_data_id).ok_or_else(no_result)?;
        let result =
            dashi_store::query_result_by_id(&self.store, holder.org_id(), wanted).await?.ok_or_else(no_result)?;
        if Some(result.data_source_id) != query.data_source_id || result.query_hash != query.query_hash {
            return Err(no_result());
        }
        self.record_key_read(holder, "query_result", result.id.to_string()).await?;
        Ok((query, result))
    }

    /// `GET /api/query_results/<id>[.<ext>]` with a query's own key: only results of that
    /// query's current text on its data source (a share token cannot read results by id, as in
    /// Redash).
    pub async fn key_result(&self, holder: &KeyHolder, result_id: i64) -> Result<(Query, QueryResult)> {
        let KeyHolder::Query { query_id, .. } = holder else {
            return Err(Error::forbidden());
        };
        let query = self.query_for_key(holder, *query_id).await?;
        let result = dashi_store::query_result_by_id(&self.store, holder.org_id(), result_id)
            .await?
            .ok_or(Error::NotFound("query result"))?;
        if Some(result.data_source_id) != query.data_source_id || result.query_hash != query.query_hash {
            return Err(Error::forbidden());
        }
        self.record_key_read(holder, "query_result", result.id.to_string()).await?;
        Ok((query, result))
    }

    /// Our embed endpoint: one visualization of a query with the query's name, description
    /// and options (never its text), for a holder of the query's key or a signed-in reader.
    pub async fn key_visualization(
        &self,
        holder: &KeyHolder,
        query_id: QueryId,
        id: VisualizationId,
    ) -> Result<ShownVisualization> {
        let query = self.query_for_key(holder, query_id).await?;
        let visualization = dashi_store::visualization_by_id(&self.store, holder.org_id(), id)
            .await?
            .filter(|visualization| visualization.query_id == query.id)
            .ok_or(Error::NotFound("visualization"))?;
        Ok(ShownVisualization { visualization, query })
    }

    /// The same for a signed-in member who may read the query.
    pub async fn embedded_visualization(
        &self,
        actor: &crate::Actor,
        query_id: QueryId,
        id: VisualizationId,
    ) -> Result<ShownVisualization> {
        actor.require(dashi_core::Permission::ViewQuery)?;
        let query = self.visible_query(actor, query_id).await?.query;
        let visualization = dashi_store::visualization_by_id(&self.store, actor.org_id(), id)
            .await?
            .filter(|visualization| visualization.query_id == query.id)
            .ok_or(Error::NotFound("visualization"))?;
        Ok(ShownVisualization { visualization, query })
    }
}
