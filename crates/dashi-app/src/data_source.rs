//! Data sources: who may see and use them, their options (encrypted, secrets masked), pause,
//! and the two things only a worker can do for them (test the connection, fetch the schema).

use chrono::Utc;
use dashi_core::{
    DEFAULT_GROUP_NAME, DataSourcePayload, GroupId, KindInfo, Permission, Queue, REFRESH_SCHEMA_JOB, TEST_CONNECTION_JOB,
};
use dashi_store::{DataSource, DataSourceFields, DataSourceId, Job, NewJob};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::auth::required;
use crate::{App, Error, Result};

/// Redash compat: secret option values are replaced by this in responses, and sending it back
/// keeps the stored value.
pub const SECRET_MASK: &str = "--------";

/// How a caller may use a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// May run any text and edit queries' data source binding.
    Full,
    /// May only read results (and run safe saved queries).
    ViewOnly,
}

/// A data source as one caller sees it.
#[derive(Debug, Clone)]
pub struct VisibleDataSource {
    pub data_source: DataSource,
    pub access: Access,
    pub kind: Option<KindInfo>,
}

/// What a caller sends to create or update a data source.
#[derive(Debug, Clone)]
pub struct DataSourceInput {
    pub name: String,
    pub type_name: String,
    pub options: Map<String, Value>,
    pub queue_name: Option<String>,
    pub scheduled_queue_name: Option<String>,
    pub concurrency_limit: Option<i64>,
    pub timeout_secs: Option<i64>,
}

/// The answer to a schema request: a cached schema, or a job fetching it.
#[derive(Debug, Clone)]
pub enum SchemaAnswer {
    Cached(Value),
    Fetching(Box<Job>),
}

/// The access an actor has to a data source: admins always have full access; others take the
/// links of their groups, and are view-only if every matching link is (Redash's rule).
pub fn access_to(actor: &Actor, data_source: &DataSource) -> Option<Access> {
    if actor.is_admin() {
        return Some(Access::Full);
    }
    let matching: Vec<bool> = data_source
        .groups
        .iter()
        .filter(|(group, _)| actor.group_ids().contains(group))
        .map(|(_, view_only)| *view_only)
        .collect();
    if matching.is_empty() {
        None
    } else if matching.iter().all(|view_only| *view_only) {
        Some(Access::ViewOnly)
    } else {
        Some(Access::Full)
    }
}

impl App {
    fn kind(&self, type_name: &str) -> Option<&KindInfo> {
        self.catalog.iter().find(|kind| kind.type_name == type_name)
    }

    /// `GET /api/data_sources/types`: admins only, sorted by display name.
    pub fn data_source_kinds(&self, actor: &Actor) -> Result<Vec<KindInfo>> {
        actor.require_admin()?;
        let mut kinds = self.catalog.as_ref().clone();
        kinds.sort_by_key(|kind| kind.display_name.to_lowercase());
        Ok(kinds)
    }

    /// `GET /api/data_sources`: admins see all; others the ones their groups may use.
    pub async fn list_data_sources(&self, actor: &Actor) -> Result<Vec<VisibleDataSource>> {
        actor.require(Permission::ListDataSources)?;
        let all = dashi_store::list_data_sources(&self.store, actor.org_id()).await?;
        Ok(all
            .into_iter()
            .filter_map(|data_source| {
                let access = access_to(actor, &data_source)?;
                let kind = self.kind(&data_source.type_name).cloned();
                Some(VisibleDataSource { data_source, access, kind })
            })
            .collect())
    }

    /// A data source the actor may at least view; 403 for one they may not (Redash), 404 if absent.
    pub async fn visible_data_source(&self, actor: &Actor, id: DataSourceId) -> Result<VisibleDataSource> {
        let data_source = dashi_store::data_source_by_id(&self.store, actor.org_id(), id)
            .await?
            .ok_or(Error::NotFound("data source"))?;
        let access = access_to(actor, &data_source).ok_or_else(Error::forbidden)?;
        let kind = self.kind(&data_source.type_name).cloned();
        Ok(VisibleDataSource { data_source, access, kind })
    }

    /// The options with secret fields masked, as every response shows them.
    pub fn masked_options(&self, data_source: &DataSource) -> Result<Map<String, Value>> {
        let mut options = self.cipher.decrypt(&data_source.encrypted_options).map_err(|error| {
            tracing::error!(data_source.id = data_source.id.0, error = &error as &dyn std::error::Error, "cannot decrypt options");
            Error::Invalid("The options of this data source cannot be decrypted with the configured secret key.".into())
        })?;
        if let Some(kind) = self.kind(&data_source.type_name) {
            for secret in kind.secret_fields() {
                if options.contains_key(&secret) {
                    options.insert(secret, Value::String(SECRET_MASK.into()));
                }
            }
        }
        Ok(options)
    }

    /// Checks the options against the kind's schema: an object, required fields present, values
    /// of the declared JSON types, no unknown fields. Null values are dropped as in Redash.
    fn validated_options(&self, kind: &KindInfo, options: &Map<String, Value>) -> Result<Map<String, Value>> {
        let properties = kind.configuration_schema.get("properties").and_then(Value::as_object);
        let mut clean = Map::new();
        for (key, value) in options {
            if value.is_null() {
                continue;
            }
            let Some(declared) = properties.and_then(|properties| properties.get(key)) else {
                return Err(Error::invalid(format!("Unknown option \"{key}\" for {}.", kind.display_name)));
            };
            let expected = declared.get("type").and_then(Value::as_str).unwrap_or("string");
            let fits = match expected {
                "number" => value.is_number(),
                "integer" => value.is_i64() || value.is_u64(),
                "boolean" => value.is_boolean(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                _ => value.is_string(),
            };
            if !fits {
                return Err(Error::invalid(format!("Option \"{key}\" must be of type {expected}.")));
            }
            clean.insert(key.clone(), value.clone());
        }
        for field in kind.required_fields() {
            let present = clean.get(&field).is_some_and(|value| value.as_str() != Some(""));
            if !present {
                return Err(Error::invalid(format!("Option \"{field}\" is required.")));
            }
        }
        Ok(clean)
    }

    fn fields(&self, input: &DataSourceInput, options: &Map<String, Value>) -> Result<DataSourceFields> {
        let queue = |name: &Option<String>, default: Queue| -> Result<String> {
            match name.as_deref() {
                None | Some("") => Ok(default.as_str().to_owned()),
                Some(name) => name
                    .parse::<Queue>()
                    .map(|queue| queue.as_str().to_owned())
                    .map_err(|error| Error::invalid(error.to_string())),
            }
        };
        if input.concurrency_limit.is_some_and(|limit| limit < 1) {
            return Err(Error::invalid("Concurrency limit must be at least 1."));
        }
        if input.timeout_secs.is_some_and(|timeout| timeout < 1) {
            return Err(Error::invalid("Timeout must be at least 1 second."));
        }
        Ok(DataSourceFields {
            name: required(&input.name, "Name")?,
            type_name: input.type_name.clone(),
            encrypted_options: self.cipher.encrypt(options),
            queue_name: queue(&input.queue_name, Queue::Adhoc)?,
            scheduled_queue_name: queue(&input.scheduled_queue_name, Queue::Scheduled)?,
            concurrency_limit: input.concurrency_limit,
            timeout_secs: input.timeout_secs,
        })
    }

    fn duplicate_name(name: &str) -> Error {
        Error::invalid(format!("Data source with the name {name} already exists."))
    }

    /// `POST /api/data_sources`: admins create a data source; the default group may use it.
    pub async fn create_data_source(&self, actor: &Actor, input: &DataSourceInput) -> Result<VisibleDataSource> {
        actor.require_admin()?;
        let kind = self.kind(&input.type_name).ok_or_else(|| Error::invalid(format!("Unknown data source type \"{}\".", input.type_name)))?;
        let options = self.validated_options(kind, &input.options)?;
        let fields = self.fields(input, &options)?;
        let group = dashi_store::group_by_name(&self.store, actor.org_id(), DEFAULT_GROUP_NAME)
            .await?
            .ok_or(Error::NotFound("default group"))?;
        let data_source = match dashi_store::insert_data_source(&self.store, actor.org_id(), &fields, group.id, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Self::duplicate_name(&fields.name)),
            other => other?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "create", "datasource", Some(data_source.id.to_string())).await?;
        self.visible_data_source(actor, data_source.id).await
    }

    /// `POST /api/data_sources/<id>`: admins update; masked secrets keep their stored values.
    pub async fn update_data_source(&self, actor: &Actor, id: DataSourceId, input: &DataSourceInput) -> Result<VisibleDataSource> {
        actor.require_admin()?;
        let current = self.visible_data_source(actor, id).await?.data_source;
        let kind = self.kind(&input.type_name).ok_or_else(|| Error::invalid(format!("Unknown data source type \"{}\".", input.type_name)))?;
        let stored = self.cipher.decrypt(&current.encrypted_options).unwrap_or_default();
        let mut options = input.options.clone();
        for secret in kind.secret_fields() {
            if options.get(&secret).and_then(Value::as_str) == Some(SECRET_MASK) {
                match stored.get(&secret) {
                    Some(value) => options.insert(secret, value.clone()),
                    None => options.remove(&secret),
                };
            }
        }
        let options = self.validated_options(kind, &options)?;
        let fields = self.fields(input, &options)?;
        match dashi_store::update_data_source(&self.store, id, &fields, Utc::now()).await {
            Err(dashi_store::Error::Duplicate { .. }) => return Err(Self::duplicate_name(&fields.name)),
            other => other?,
        }
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "datasource", Some(id.to_string())).await?;
        self.visible_data_source(actor, id).await
    }

    /// `DELETE /api/data_sources/<id>`: admins delete; queries stay, detached.
    pub async fn delete_data_source(&self, actor: &Actor, id: DataSourceId) -> Result<()> {
        actor.require_admin()?;
        self.visible_data_source(actor, id).await?;
        dashi_store::delete_data_source(&self.store, id).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "delete", "datasource", Some(id.to_string())).await?;
        Ok(())
    }

    /// `POST|DELETE /api/data_sources/<id>/pause`.
    pub async fn set_data_source_paused(&self, actor: &Actor, id: DataSourceId, paused: bool, reason: Option<&str>) -> Result<VisibleDataSource> {
        actor.require_admin()?;
        self.visible_data_source(actor, id).await?;
        let reason = if paused { reason.filter(|reason| !reason.trim().is_empty()) } else { None };
        dashi_store::set_paused(&self.store, id, paused, reason, Utc::now()).await?;
        let action = if paused { "pause" } else { "resume" };
        self.record_event(actor.org_id(), Some(&actor.user), action, "datasource", Some(id.to_string())).await?;
        self.visible_data_source(actor, id).await
    }

    fn data_source_job(&self, actor: &Actor, data_source: &DataSource, kind: &str, dedupe: Option<String>) -> NewJob {
        NewJob {
            org_id: Some(actor.org_id()),
            queue: Queue::Schemas.as_str().into(),
            kind: kind.into(),
            payload: serde_json::to_value(DataSourcePayload { data_source_id: data_source.id.0 })
                .expect("a plain struct always serialises"),
            data_source_id: Some(data_source.id),
            query_id: None,
            query_hash: None,
            dedupe_key: dedupe,
            run_key: None,
            max_attempts: 1,
            run_after: Utc::now(),
        }
    }

    /// `POST /api/data_sources/<id>/test`: admins; a worker tries to connect, the caller waits.
    pub async fn test_data_source(&self, actor: &Actor, id: DataSourceId, wait: std::time::Duration) -> Result<std::result::Result<(), String>> {
        actor.require_admin()?;
        let data_source = self.visible_data_source(actor, id).await?.data_source;
        let job = self.queue.enqueue(&self.data_source_job(actor, &data_source, TEST_CONNECTION_JOB, None)).await?.job;
        let finished = self.wait_for_job(&job.id, wait).await?;
        Ok(match finished.state {
            dashi_store::JobState::Succeeded => Ok(()),
            dashi_store::JobState::Queued | dashi_store::JobState::Running => {
                Err("No worker answered in time: check that a worker serves the schemas queue.".into())
            }
            _ => Err(finished.error.unwrap_or_else(|| "Connection test failed.".into())),
        })
    }

    /// `GET /api/data_sources/<id>/schema`: the cached schema, or a job fetching it (always a
    /// job when `refresh`). One refresh per data source runs at a time.
    pub async fn data_source_schema(&self, actor: &Actor, id: DataSourceId, refresh: bool) -> Result<SchemaAnswer> {
        let data_source = self.visible_data_source(actor, id).await?.data_source;
        if !refresh && let Some((schema, _)) = dashi_store::cached_schema(&self.store, id).await? {
            return Ok(SchemaAnswer::Cached(schema));
        }
        let dedupe = Some(format!("schema:{}", id.0));
        let job = self.queue.enqueue(&self.data_source_job(actor, &data_source, REFRESH_SCHEMA_JOB, dedupe)).await?.job;
        Ok(SchemaAnswer::Fetching(Box::new(job)))
    }

    /// `GET /api/groups/<id>/data_sources`: admins; each with the group's `view_only`.
    pub async fn group_data_sources(&self, actor: &Actor, group: GroupId) -> Result<Vec<(DataSource, bool)>> {
        actor.require_admin()?;
        dashi_store::group_by_id(&self.store, actor.org_id(), group).await?.ok_or(Error::NotFound("group"))?;
        let all = dashi_store::list_data_sources(&self.store, actor.org_id()).await?;
        Ok(all
            .into_iter()
            .filter_map(|data_source| {
                let view_only = data_source.groups.iter().find(|(linked, _)| *linked == group).map(|(_, view_only)| *view_only)?;
                Some((data_source, view_only))
            })
            .collect())
    }

    /// `POST /api/groups/<id>/data_sources` (add, full access) and
    /// `POST /api/groups/<id>/data_sources/<ds>` (set `view_only`).
    pub async fn link_group_data_source(&self, actor: &Actor, group: GroupId, id: DataSourceId, view_only: bool) -> Result<(DataSource, bool)> {
        actor.require_admin()?;
        dashi_store::group_by_id(&self.store, actor.org_id(), group).await?.ok_or(Error::NotFound("group"))?;
        self.visible_data_source(actor, id).await?;
        dashi_store::link_group(&self.store, id, group, view_only).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "add_data_source", "group", Some(group.to_string())).await?;
        let data_source = self.visible_data_source(actor, id).await?.data_source;
        Ok((data_source, view_only))
    }

    /// `DELETE /api/groups/<id>/data_sources/<ds>`.
    pub async fn unlink_group_data_source(&self, actor: &Actor, group: GroupId, id: DataSourceId) -> Result<()> {
        actor.require_admin()?;
        dashi_store::group_by_id(&self.store, actor.org_id(), group).await?.ok_or(Error::NotFound("group"))?;
        self.visible_data_source(actor, id).await?;
        dashi_store::unlink_group(&self.store, id, group).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "remove_data_source", "group", Some(group.to_string())).await?;
        Ok(())
    }
}
