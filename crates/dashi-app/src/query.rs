//! Saved queries: who may see, create, edit, archive and fork them; their lists, stars, tags
//! and version history.
//!
//! Redash's rules (facts §2.2, §8.9): reading needs `view_query` and access to the query's data
//! source through one of the caller's groups (view-only suffices); creating needs `create_query`
//! and full access to the data source; editing needs `edit_query` and `can_modify` (admin, owner
//! or a `modify` grant); archiving needs admin or owner. Lists show only queries whose data
//! source one of the caller's groups may use, for admins too. Input is checked here, before
//! anything is written, so a refused request leaves nothing behind.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use dashi_core::{AppliedQuery, ApplyContext, BoundText, ParameterType, Parameters, Permission, Schedule, UserId, generate_api_key};
use dashi_store::{
    Change, DataSource, FavoriteKind, NewQuery, NewVisualization, Page, PageRequest, Query, QueryFields, QueryFilter,
    QueryId, QueryListing, QueryOrder, QueryScope, QueryUpdate, User, Visualization,
};
use serde_json::{Map, Value};

use crate::actor::Actor;
use crate::data_source::{Access, access_to};
use crate::{App, Error, Result};

/// Redash's column limits.
const MAX_NAME_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 4096;
/// Redash's UI names a query this until the user does.
const DEFAULT_NAME: &str = "New Query";

/// What a caller sends to create or change a query. `None` means "not sent": on create the
/// default, on update the current value. JSON-typed fields are checked here.
#[derive(Debug, Clone, Default)]
pub struct QueryInput {
    pub data_source_id: Option<i64>,
    pub name: Option<String>,
    /// `Some(None)`: clear it.
    pub description: Option<Option<String>>,
    pub query_text: Option<String>,
    /// `Some(Value::Null)`: unschedule.
    pub schedule: Option<Value>,
    pub options: Option<Value>,
    pub tags: Option<Value>,
    pub is_draft: Option<bool>,
    pub is_archived: Option<bool>,
    /// The version the caller read; a different current version is a conflict.
    pub version: Option<i64>,
    /// A result the caller just ran this text for.
    pub latest_query_data_id: Option<i64>,
}

/// The filters of a query list, as the caller sent them.
#[derive(Debug, Clone)]
pub struct QueryListRequest {
    pub search: Option<String>,
    pub tags: Vec<String>,
    /// Redash's `order`: a field name, `-` in front for descending.
    pub order: Option<String>,
    pub page: PageRequest,
}

/// A query in a list with its owner.
#[derive(Debug, Clone)]
pub struct ListedQuery {
    pub listing: QueryListing,
    pub owner: Option<User>,
}

/// One query with everything its page shows.
#[derive(Debug, Clone)]
pub struct QueryDetails {
    pub query: Query,
    pub owner: Option<User>,
    pub last_modified_by: Option<User>,
    pub visualizations: Vec<Visualization>,
    pub is_favorite: bool,
    /// Redash's `can_modify` for the caller.
    pub can_edit: bool,
}

/// A query the caller may at least read, with its data source and the caller's access to it.
#[derive(Debug, Clone)]
pub struct VisibleQuery {
    pub query: Query,
    /// `None` once the data source was deleted (only admins can see such a query).
    pub data_source: Option<DataSource>,
    pub access: Access,
}

/// One version of a query with its author.
#[derive(Debug, Clone)]
pub struct QueryVersion {
    pub change: Change,
    pub user: Option<User>,
}

/// Redash's `is_safe`: a query without `text` parameters may run with any values, so it can be
/// embedded and shared. Unreadable parameter definitions count as unsafe.
pub fn is_safe_query(query: &Query) -> bool {
    Parameters::from_query_options(&Value::Object(query.options.clone())).is_ok_and(|parameters| parameters.is_safe())
}

fn parse_order(order: Option<&str>, searching: bool) -> (Option<QueryOrder>, bool) {
    let requested = order.map(str::trim).unwrap_or_default();
    let (field, descending) = match requested.strip_prefix('-') {
        Some(field) => (field, true),
        None => (requested, false),
    };
    let known = match field {
        "name" => Some(QueryOrder::Name),
        "created_at" => Some(QueryOrder::CreatedAt),
        "schedule" => Some(QueryOrder::Schedule),
        "runtime" => Some(QueryOrder::Runtime),
        "executed_at" => Some(QueryOrder::ExecutedAt),
        "created_by" => Some(QueryOrder::CreatedBy),
        "starred_at" => Some(QueryOrder::StarredAt),
        _ => None,
    };
    match known {
        Some(order) => (Some(order), descending),
        // Redash compat: a search keeps its relevance order; otherwise newest first.
        None if searching => (None, false),
        None => (Some(QueryOrder::CreatedAt), true),
    }
}

fn validated_name(name: &str) -> Result<String> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!("Query name must be at most {MAX_NAME_CHARS} characters long.")));
    }
    Ok(name.to_owned())
}

fn validated_description(description: Option<&str>) -> Result<Option<String>> {
    if description.is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS) {
        return Err(Error::invalid(format!("Query description must be at most {MAX_DESCRIPTION_CHARS} characters long.")));
    }
    Ok(description.map(str::to_owned))
}

fn validated_options(options: &Value) -> Result<Map<String, Value>> {
    let Value::Object(map) = options else {
        return Err(Error::invalid("options must be a JSON object."));
    };
    Parameters::from_query_options(options).map_err(|error| Error::invalid(format!("{error}.")))?;
    Ok(map.clone())
}

/// Tags as Redash keeps them: strings, empty ones dropped.
fn validated_tags(tags: &Value) -> Result<Vec<String>> {
    match tags {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .filter(|item| item.as_str() != Some(""))
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(|| Error::invalid("tags must be a list of strings.")))
            .collect(),
        _ => Err(Error::invalid("tags must be a list of strings.")),
    }
}

/// A schedule as `dashi_core::Schedule` reads it (Redash's `{interval, time, day_of_week,
/// until}` plus our cron form), stored in its normalised shape; `None` when unscheduled.
fn validated_schedule(schedule: &Value) -> Result<Option<Value>> {
    match Schedule::from_json(schedule) {
        Ok(parsed) => Ok(parsed.map(|schedule| schedule.to_json())),
        Err(error) if error.field.is_empty() => Err(Error::invalid(format!("schedule {}.", error.reason))),
        Err(error) => Err(Error::invalid(format!("{error}."))),
    }
}

/// The ids of the queries whose results feed this query's dropdown parameters.
fn dropdown_query_ids(options: &Map<String, Value>) -> Vec<i64> {
    let Ok(parameters) = Parameters::from_query_options(&Value::Object(options.clone())) else {
        return Vec::new();
    };
    parameters
        .definitions()
        .iter()
        .filter(|definition| definition.kind == ParameterType::Query)
        .filter_map(|definition| definition.dropdown_query_id())
        .collect()
}

/// The text Redash hashes for a saved query: the parameters' default values applied when they
/// all pass their checks (`None`: the raw text), as `Query.update_query_hash` does.
fn with_defaults(text: &str, parameters: &Parameters, dropdowns: &BTreeMap<String, dashi_core::DropdownValues>) -> Option<AppliedQuery> {
    let defaults: Map<String, Value> =
        parameters.definitions().iter().map(|definition| (definition.name.clone(), definition.value.clone())).collect();
    if defaults.is_empty() {
        return None;
    }
    let context = ApplyContext { now: Utc::now().naive_utc(), dropdowns, fill_defaults: false };
    parameters.apply(text, &defaults, &context).ok()
}

fn not_owner() -> Error {
    Error::Forbidden("You don't have permission to edit this resource.".into())
}

fn conflict() -> Error {
    Error::Conflict("This query was changed by someone else. Reload it and apply your changes again.".into())
}

impl App {
    /// A query of the actor's organization the actor may read: 404 if there is none, 403 if its
    /// data source is not one of theirs (Redash). Checks no permission string, so execution
    /// paths can add their own (`view_query` or `execute_query`) and read `access` for running.
    pub async fn visible_query(&self, actor: &Actor, id: QueryId) -> Result<VisibleQuery> {
        let query = self.query_in_org(actor, id).await?;
        let data_source = match query.data_source_id {
            Some(data_source_id) => dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id).await?,
            None => None,
        };
        let access = match &data_source {
            Some(data_source) => access_to(actor, data_source),
            // Redash compat: a query without a data source has no groups; only admins pass.
            None if actor.is_admin() => Some(Access::Full),
            None => None,
        };
        let access = access.ok_or_else(Error::forbidden)?;
        Ok(VisibleQuery { query, data_source, access })
    }

    pub(crate) async fn query_in_org(&self, actor: &Actor, id: QueryId) -> Result<Query> {
        dashi_store::query_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("query"))
    }

    /// Redash's `can_modify`: admin, owner, or a `modify` grant.
    pub(crate) async fn can_modify(&self, actor: &Actor, query: &Query) -> Result<bool> {
        if actor.is_admin() || actor.user_id() == query.user_id {
            return Ok(true);
        }
        Ok(dashi_store::has_query_grant(&self.store, query.id, actor.user_id(), "modify").await?)
    }

    /// A data source a query may be bound to: one of the organization's, with full access.
    async fn bindable_data_source(&self, actor: &Actor, id: i64) -> Result<DataSource> {
        let data_source = dashi_store::data_source_by_id(&self.store, actor.org_id(), dashi_store::DataSourceId(id))
            .await?
            .ok_or_else(|| Error::invalid(format!("Data source {id} does not exist.")))?;
        match access_to(actor, &data_source) {
            Some(Access::Full) => Ok(data_source),
            Some(Access::ViewOnly) => Err(Error::Forbidden("You have view-only access to this data source.".into())),
            None => Err(Error::forbidden()),
        }
    }

    /// Redash's `require_access_to_dropdown_queries`: every query feeding a dropdown parameter
    /// must exist with a data source the actor may read.
    async fn check_dropdown_queries(&self, actor: &Actor, options: &Map<String, Value>) -> Result<()> {
        for id in dropdown_query_ids(options) {
            let query = dashi_store::query_by_id(&self.store, actor.org_id(), QueryId(id)).await?;
            let data_source = match query.and_then(|query| query.data_source_id) {
                Some(data_source_id) => dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id).await?,
                None => None,
            };
            let Some(data_source) = data_source else {
                return Err(Error::invalid(
                    "You are trying to associate a dropdown query that does not have a matching group. \
                     Please verify the dropdown query id you are trying to associate with this query.",
                ));
            };
            access_to(actor, &data_source).ok_or_else(Error::forbidden)?;
        }
        Ok(())
    }

    /// Redash's query hash of a saved query: the text its data source would run with the
    /// default parameter values (bound where the source binds, auto limit applied when asked for
    /// and supported), hashed as a run with those values hashes, so results find their query.
    pub async fn saved_query_hash(
        &self,
        actor: &Actor,
        text: &str,
        options: &Map<String, Value>,
        data_source: Option<&DataSource>,
    ) -> Result<String> {
        let apply_auto_limit = options.get("apply_auto_limit").and_then(Value::as_bool).unwrap_or(false);
        let applied = match Parameters::from_query_options(&Value::Object(options.clone())) {
            Ok(parameters) => {
                // Dropdown defaults are checked against their query's values, as a run checks them.
                let dropdowns = self.dropdowns_for(actor.org_id(), &parameters).await?;
                with_defaults(text, &parameters, &dropdowns)
            }
            Err(_) => None,
        };
        let bound = match applied {
            Some(applied) => self.bind_for(data_source, &applied),
            None => BoundText { text: text.to_owned(), binds: Vec::new() },
        };
        Ok(self.finish_text(data_source, bound, apply_auto_limit).hash)
    }

    async fn users_by_id(&self, actor: &Actor, ids: Vec<UserId>) -> Result<HashMap<UserId, User>> {
        let mut users = HashMap::new();
        for id in ids {
            if users.contains_key(&id) {
                continue;
            }
            if let Some(user) = dashi_store::user_by_id(&self.store, actor.org_id(), id).await? {
                users.insert(id, user);
            }
        }
        Ok(users)
    }

    async fn details(&self, actor: &Actor, query: Query) -> Result<QueryDetails> {
        let mut users = self.users_by_id(actor, [query.user_id].into_iter().chain(query.last_modified_by_id).collect()).await?;
        let owner = users.get(&query.user_id).cloned();
        let last_modified_by = query.last_modified_by_id.and_then(|id| users.remove(&id));
        let visualizations = dashi_store::visualizations_of(&self.store, query.id).await?;
        let is_favorite = dashi_store::is_favorite(&self.store, actor.user_id(), FavoriteKind::Query, query.id.0).await?;
        let can_edit = self.can_modify(actor, &query).await?;
        Ok(QueryDetails { query, owner, last_modified_by, visualizations, is_favorite, can_edit })
    }

    async fn with_owners(&self, actor: &Actor, page: Page<QueryListing>) -> Result<Page<ListedQuery>> {
        let users = self.users_by_id(actor, page.items.iter().map(|listing| listing.query.user_id).collect()).await?;
        let items = page
            .items
            .into_iter()
            .map(|listing| {
                let owner = users.get(&listing.query.user_id).cloned();
                ListedQuery { listing, owner }
            })
            .collect();
        Ok(Page { count: page.count, page: page.page, page_size: page.page_size, items })
    }

    /// `GET /api/queries`, `/my`, `/archive` and `/favorites`: one page of the scope's queries.
    pub async fn list_queries(&self, actor: &Actor, scope: QueryScope, request: &QueryListRequest) -> Result<Page<ListedQuery>> {
        if scope != QueryScope::Favorites {
            actor.require(Permission::ViewQuery)?;
        }
        let search = request.search.as_deref().map(str::trim).filter(|term| !term.is_empty());
        let (order, descending) = parse_order(request.order.as_deref(), search.is_some());
        let filter = QueryFilter {
            scope,
            user_id: actor.user_id(),
            group_ids: actor.group_ids().to_vec(),
            search: search.map(str::to_owned),
            tags: request.tags.iter().filter(|tag| !tag.is_empty()).cloned().collect(),
            order,
            descending,
        };
        let page = dashi_store::list_queries(&self.store, actor.org_id(), &filter, request.page).await?;
        self.with_owners(actor, page).await
    }

    /// `GET /api/queries/recent`: up to 10 of the actor's own queries, last changed first.
    pub async fn recent_queries(&self, actor: &Actor) -> Result<Vec<ListedQuery>> {
        actor.require(Permission::ViewQuery)?;
        let filter = QueryFilter {
            scope: QueryScope::Mine,
            user_id: actor.user_id(),
            group_ids: actor.group_ids().to_vec(),
            search: None,
            tags: Vec::new(),
            order: Some(QueryOrder::UpdatedAt),
            descending: true,
        };
        let page = PageRequest { page: 1, page_size: 10 };
        let page = dashi_store::list_queries(&self.store, actor.org_id(), &filter, page).await?;
        Ok(self.with_owners(actor, page).await?.items)
    }

    /// `GET /api/queries/tags`: tag usage over the queries the actor's groups can see.
    pub async fn query_tags(&self, actor: &Actor) -> Result<Vec<(String, i64)>> {
        Ok(dashi_store::query_tag_counts(&self.store, actor.org_id(), actor.group_ids()).await?)
    }

    /// `POST /api/queries/format`: the text pretty-printed (any signed-in member).
    pub fn format_query(&self, _actor: &Actor, text: &str) -> String {
        dashi_core::format_sql(text)
    }

    /// `GET /api/queries/<id>`.
    pub async fn get_query(&self, actor: &Actor, id: QueryId) -> Result<QueryDetails> {
        actor.require(Permission::ViewQuery)?;
        let visible = self.visible_query(actor, id).await?;
        self.details(actor, visible.query).await
    }

    /// `POST /api/queries`: a new draft with a default table visualization, pointing at the
    /// newest result of the same text on the same data source if there is one.
    pub async fn create_query(&self, actor: &Actor, input: &QueryInput) -> Result<QueryDetails> {
        actor.require(Permission::CreateQuery)?;
        let data_source_id = input.data_source_id.ok_or_else(|| Error::invalid("data_source_id is required."))?;
        let name = validated_name(input.name.as_deref().unwrap_or(DEFAULT_NAME))?;
        let description = validated_description(input.description.clone().flatten().as_deref())?;
        let options = match &input.options {
            Some(options) if !options.is_null() => validated_options(options)?,
            _ => Map::new(),
        };
        let schedule = match &input.schedule {
            Some(schedule) => validated_schedule(schedule)?,
            None => None,
        };
        let tags = match &input.tags {
            Some(tags) => validated_tags(tags)?,
            None => Vec::new(),
        };
        let data_source = self.bindable_data_source(actor, data_source_id).await?;
        self.check_dropdown_queries(actor, &options).await?;
        let query_text = input.query_text.clone().unwrap_or_default();
        let fields = QueryFields {
            query_hash: self.saved_query_hash(actor, &query_text, &options, Some(&data_source)).await?,
            name,
            description,
            query_text,
            data_source_id: Some(data_source.id),
            schedule,
            options,
            tags,
            // Redash compat: every new query is a draft until the user publishes it.
            is_draft: true,
            is_archived: false,
        };
        let new = NewQuery {
            org_id: actor.org_id(),
            user_id: actor.user_id(),
            api_key: generate_api_key(),
            fields,
            latest_query_data_id: input.latest_query_data_id,
            link_latest_result: true,
        };
        let query = dashi_store::insert_query(&self.store, &new, &[NewVisualization::default_table()], Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "create", "query", Some(query.id.to_string())).await?;
        self.details(actor, query).await
    }

    /// `POST /api/queries/<id>`: changes what the input names, as a new version. A `version`
    /// other than the current one is a conflict (409) and changes nothing.
    pub async fn update_query(&self, actor: &Actor, id: QueryId, input: &QueryInput) -> Result<QueryDetails> {
        actor.require(Permission::EditQuery)?;
        let current = self.query_in_org(actor, id).await?;
        if !self.can_modify(actor, &current).await? {
            return Err(Error::forbidden());
        }
        let mut fields = current.fields();
        if let Some(name) = &input.name {
            fields.name = validated_name(name)?;
        }
        if let Some(description) = &input.description {
            fields.description = validated_description(description.as_deref())?;
        }
        if let Some(text) = &input.query_text {
            fields.query_text = text.clone();
        }
        if let Some(options) = &input.options {
            fields.options = if options.is_null() { Map::new() } else { validated_options(options)? };
        }
        if let Some(schedule) = &input.schedule {
            fields.schedule = validated_schedule(schedule)?;
        }
        if let Some(tags) = &input.tags {
            fields.tags = validated_tags(tags)?;
        }
        if let Some(is_draft) = input.is_draft {
            fields.is_draft = is_draft;
        }
        if let Some(is_archived) = input.is_archived {
            fields.is_archived = is_archived;
        }
        let data_source = match input.data_source_id {
            Some(data_source_id) => Some(self.bindable_data_source(actor, data_source_id).await?),
            None => match current.data_source_id {
                Some(data_source_id) => dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id).await?,
                None => None,
            },
        };
        fields.data_source_id = data_source.as_ref().map(|data_source| data_source.id);
        if input.options.is_some() {
            self.check_dropdown_queries(actor, &fields.options).await?;
        }
        if input.version.is_some_and(|version| version != current.version) {
            return Err(conflict());
        }
        fields.query_hash = self.saved_query_hash(actor, &fields.query_text, &fields.options, data_source.as_ref()).await?;
        let update = QueryUpdate { fields, latest_query_data_id: input.latest_query_data_id, modified_by: actor.user_id() };
        let query = self.write_update(&current, &update).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "query", Some(id.to_string())).await?;
        self.details(actor, query).await
    }

    async fn write_update(&self, current: &Query, update: &QueryUpdate) -> Result<Query> {
        match dashi_store::update_query(&self.store, current, update, Utc::now()).await {
            Err(dashi_store::Error::VersionConflict { .. }) => Err(conflict()),
            other => Ok(other?),
        }
    }

    /// `DELETE /api/queries/<id>`: admins and the owner archive a query; it is unscheduled and
    /// its widgets and alerts are deleted.
    pub async fn archive_query(&self, actor: &Actor, id: QueryId) -> Result<()> {
        let current = self.query_in_org(actor, id).await?;
        if !actor.is_admin() && actor.user_id() != current.user_id {
            return Err(not_owner());
        }
        match dashi_store::archive_query(&self.store, &current, actor.user_id(), Utc::now()).await {
            Err(dashi_store::Error::VersionConflict { .. }) => return Err(conflict()),
            other => other?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "archive", "query", Some(id.to_string())).await?;
        Ok(())
    }

    /// `POST /api/queries/<id>/fork`: a draft copy owned by the actor, named
    /// "Copy of (#<id>) <name>", with copies of every visualization and the same latest result.
    pub async fn fork_query(&self, actor: &Actor, id: QueryId) -> Result<QueryDetails> {
        actor.require(Permission::EditQuery)?;
        let original = self.query_in_org(actor, id).await?;
        let Some(data_source_id) = original.data_source_id else {
            return Err(Error::invalid("This query has no data source, so it cannot be forked."));
        };
        self.bindable_data_source(actor, data_source_id.0).await?;
        let visualizations: Vec<NewVisualization> =
            dashi_store::visualizations_of(&self.store, original.id).await?.iter().map(NewVisualization::from).collect();
        let name: String = format!("Copy of (#{}) {}", original.id, original.name).chars().take(MAX_NAME_CHARS).collect();
        let fields = QueryFields { name, schedule: None, is_draft: true, is_archived: false, ..original.fields() };
        let new = NewQuery {
            org_id: actor.org_id(),
            user_id: actor.user_id(),
            api_key: generate_api_key(),
            fields,
            latest_query_data_id: original.latest_query_data_id,
            link_latest_result: false,
        };
        let query = dashi_store::insert_query(&self.store, &new, &visualizations, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "fork", "query", Some(id.to_string())).await?;
        self.details(actor, query).await
    }

    /// `POST /api/queries/<id>/regenerate_api_key`: admins and the owner; the old key stops
    /// working at once.
    pub async fn regenerate_query_api_key(&self, actor: &Actor, id: QueryId) -> Result<QueryDetails> {
        actor.require(Permission::EditQuery)?;
        let query = self.query_in_org(actor, id).await?;
        if !actor.is_admin() && actor.user_id() != query.user_id {
            return Err(not_owner());
        }
        dashi_store::set_query_api_key(&self.store, id, &generate_api_key(), Utc::now()).await?;
        // Redash compat: Redash records this action with this spelling; event readers match it.
        self.record_event(actor.org_id(), Some(&actor.user), "regnerate_api_key", "query", Some(id.to_string())).await?;
        let query = self.query_in_org(actor, id).await?;
        self.details(actor, query).await
    }

    /// `POST|DELETE /api/queries/<id>/favorite`: anyone who can read the query stars or
    /// unstars it; starring twice is not an error.
    pub async fn set_query_favorite(&self, actor: &Actor, id: QueryId, starred: bool) -> Result<()> {
        self.visible_query(actor, id).await?;
        if starred {
            dashi_store::add_favorite(&self.store, actor.org_id(), actor.user_id(), FavoriteKind::Query, id.0, Utc::now())
                .await?;
        } else {
            dashi_store::remove_favorite(&self.store, actor.user_id(), FavoriteKind::Query, id.0).await?;
        }
        self.record_event(actor.org_id(), Some(&actor.user), "favorite", "query", Some(id.to_string())).await?;
        Ok(())
    }

    /// `GET /api/queries/<id>/versions`: the history, newest first, for anyone who can read it.
    pub async fn query_versions(&self, actor: &Actor, id: QueryId) -> Result<Vec<QueryVersion>> {
        actor.require(Permission::ViewQuery)?;
        self.visible_query(actor, id).await?;
        let changes = dashi_store::query_versions(&self.store, id).await?;
        let users = self.users_by_id(actor, changes.iter().map(|change| change.user_id).collect()).await?;
        Ok(changes
            .into_iter()
            .map(|change| {
                let user = users.get(&change.user_id).cloned();
                QueryVersion { change, user }
            })
            .collect())
    }

    /// `POST /api/queries/<id>/versions/<version>/restore`: puts back the name, description,
    /// text, data source, schedule, options and tags of an earlier version, as a new version.
    /// Draft and archive state stay as they are. Needs what an edit needs.
    pub async fn restore_query_version(&self, actor: &Actor, id: QueryId, version: i64) -> Result<QueryDetails> {
        actor.require(Permission::EditQuery)?;
        let current = self.query_in_org(actor, id).await?;
        if !self.can_modify(actor, &current).await? {
            return Err(Error::forbidden());
        }
        let old = dashi_store::query_fields_at(&self.store, &current, version).await?.ok_or(Error::NotFound("query version"))?;
        let data_source = match old.data_source_id {
            Some(data_source_id) if Some(data_source_id) != current.data_source_id => {
                let found = dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id).await?;
                if found.is_none() {
                    return Err(Error::invalid("The data source of that version no longer exists."));
                }
                Some(self.bindable_data_source(actor, data_source_id.0).await?)
            }
            Some(data_source_id) => dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id).await?,
            None => None,
        };
        let mut fields = QueryFields { is_draft: current.is_draft, is_archived: current.is_archived, ..old };
        fields.data_source_id = data_source.as_ref().map(|data_source| data_source.id).or(current.data_source_id);
        fields.query_hash = self.saved_query_hash(actor, &fields.query_text, &fields.options, data_source.as_ref()).await?;
        let update = QueryUpdate { fields, latest_query_data_id: None, modified_by: actor.user_id() };
        let query = self.write_update(&current, &update).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "restore", "query", Some(id.to_string())).await?;
        self.details(actor, query).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_schedule(schedule: Value, expected: std::result::Result<(), &str>) {
        match (validated_schedule(&schedule), expected) {
            (Ok(_), Ok(())) => {}
            (Err(error), Err(message)) => assert!(error.to_string().contains(message), "{schedule}: {error}"),
            (got, want) => panic!("{schedule}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn schedules_are_null_or_well_formed() {
        check_schedule(json!(null), Ok(()));
        check_schedule(json!({"interval": 3600, "time": null, "day_of_week": null, "until": null}), Ok(()));
        check_schedule(json!({"interval": 604800, "time": "23:05", "day_of_week": "Monday", "until": "2030-01-31"}), Ok(()));
        check_schedule(json!("3600x"), Err("schedule must be an object or null."));
        check_schedule(json!({"interval": 0}), Err("schedule.interval"));
        check_schedule(json!({"interval": 86400, "time": "25:00"}), Err("schedule.time"));
        check_schedule(json!({"interval": 604800, "time": "01:00", "day_of_week": "Funday"}), Err("schedule.day_of_week"));
        check_schedule(json!({"interval": 60, "until": "2030-02-30"}), Err("schedule.until"));
        assert_eq!(validated_schedule(&json!({"interval": null, "time": null})).unwrap(), None, "all null is no schedule");
    }

    #[test]
    fn orders_follow_redash() {
        assert_eq!(parse_order(None, false), (Some(QueryOrder::CreatedAt), true));
        assert_eq!(parse_order(Some("-name"), false), (Some(QueryOrder::Name), true));
        assert_eq!(parse_order(Some("executed_at"), true), (Some(QueryOrder::ExecutedAt), false));
        assert_eq!(parse_order(Some("bogus"), false), (Some(QueryOrder::CreatedAt), true));
        assert_eq!(parse_order(None, true), (None, false));
    }

    #[test]
    fn tags_and_options_are_checked() {
        assert_eq!(validated_tags(&json!(["a", "", "b"])).unwrap(), vec!["a".to_string(), "b".to_string()]);
        assert!(validated_tags(&json!([1])).is_err());
        assert!(validated_tags(&json!("a")).is_err());
        assert!(validated_options(&json!([])).is_err());
        assert!(validated_options(&json!({"parameters": {}})).is_err());
        assert!(validated_options(&json!({"parameters": [{"name": "x", "type": "text"}]})).is_ok());
        let options = json!({"parameters": [{"name": "a", "type": "query", "queryId": 7}, {"name": "b", "type": "query", "queryId": "8"}]});
        assert_eq!(dropdown_query_ids(options.as_object().unwrap()), vec![7, 8]);
    }

    #[test]
    fn the_hashed_text_has_the_default_values_applied() {
        let defaults = json!({"parameters": [{"name": "n", "type": "number", "value": 5}]});
        let parameters = |options: &Value| Parameters::from_query_options(options).unwrap();
        let none = BTreeMap::new();
        let text = |text: &str, options: &Value| with_defaults(text, &parameters(options), &none).map(|applied| applied.text);
        assert_eq!(text("select {{ n }}", &defaults).as_deref(), Some("select 5"));
        // A default that fails its check (an unset text) leaves the raw text to be hashed.
        let unset = json!({"parameters": [{"name": "n", "type": "number", "value": 5}, {"name": "t", "type": "text"}]});
        assert_eq!(text("select {{ n }}, '{{ t }}'", &unset), None);
        assert_eq!(text("select {{ n }}", &json!({})), None);
    }
}
