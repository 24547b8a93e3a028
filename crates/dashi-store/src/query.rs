//! Saved queries: their rows and tags, lists with Redash's filters, versions and archive.
//!
//! The content a user edits is a [`QueryFields`]; every write that changes it bumps `version`
//! and records a `changes` row in the same transaction, so the history can rebuild any version.
//! Writes are optimistic: they apply only if `version` is still the one the caller read, else
//! [`Error::VersionConflict`]. `latest_query_data_id` moves without a new version (executions
//! re-point it), and so does the query's API key.

use chrono::{DateTime, Utc};
use dashi_core::{GroupId, OrgId, UserId};
use serde_json::{Map, Value, json};
use sqlx::types::Json;

use crate::change::{Change, QUERIES, changes_of, diff};
use crate::data_source::DataSourceId;
use crate::error::is_unique_violation;
use crate::page::{ListSql, Page, PageRequest, Value as Bound, bind_values};
use crate::user::like_pattern;
use crate::visualization::NewVisualization;
use crate::{Dialect, Error, Result, Store, in_transaction, on_pool};

/// Typed id of a saved query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueryId(pub i64);

impl std::fmt::Display for QueryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a user edits in a query. Each column is tracked in the version history under Redash's
/// column name (`query` for the text).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryFields {
    pub name: String,
    pub description: Option<String>,
    pub query_text: String,
    /// Redash's hash of the text the query runs (see `dashi_core::query_hash`).
    pub query_hash: String,
    /// `None` once the data source was deleted.
    pub data_source_id: Option<DataSourceId>,
    /// Redash's `{interval, time, day_of_week, until}` document; `None` when not scheduled.
    pub schedule: Option<Value>,
    pub options: Map<String, Value>,
    /// Distinct, in the order given.
    pub tags: Vec<String>,
    pub is_draft: bool,
    pub is_archived: bool,
}

impl QueryFields {
    /// The tracked columns as JSON, as the `changes` document names them.
    fn columns(&self) -> Map<String, Value> {
        let mut tags = self.tags.clone();
        tags.sort();
        let mut columns = Map::new();
        columns.insert("name".into(), json!(self.name));
        columns.insert("description".into(), json!(self.description));
        columns.insert("query".into(), json!(self.query_text));
        columns.insert("query_hash".into(), json!(self.query_hash));
        columns.insert("data_source_id".into(), json!(self.data_source_id.map(|id| id.0)));
        columns.insert("schedule".into(), json!(self.schedule));
        columns.insert("options".into(), Value::Object(self.options.clone()));
        columns.insert("tags".into(), json!(tags));
        columns.insert("is_draft".into(), json!(self.is_draft));
        columns.insert("is_archived".into(), json!(self.is_archived));
        columns
    }

    /// These fields with the columns of a history document applied; values of an unexpected
    /// shape (hand-edited or imported history) leave the field as it is.
    fn with_columns(&self, columns: &Map<String, Value>) -> QueryFields {
        let mut fields = self.clone();
        for (column, value) in columns {
            match (column.as_str(), value) {
                ("name", Value::String(name)) => fields.name = name.clone(),
                ("description", Value::String(text)) => fields.description = Some(text.clone()),
                ("description", Value::Null) => fields.description = None,
                ("query", Value::String(text)) => fields.query_text = text.clone(),
                ("query_hash", Value::String(hash)) => fields.query_hash = hash.clone(),
                ("data_source_id", Value::Number(id)) => fields.data_source_id = id.as_i64().map(DataSourceId),
                ("data_source_id", Value::Null) => fields.data_source_id = None,
                ("schedule", Value::Null) => fields.schedule = None,
                ("schedule", schedule @ Value::Object(_)) => fields.schedule = Some(schedule.clone()),
                ("options", Value::Object(options)) => fields.options = options.clone(),
                ("tags", Value::Array(tags)) => {
                    fields.tags = tags.iter().filter_map(|tag| tag.as_str().map(str::to_owned)).collect();
                }
                ("is_draft", Value::Bool(flag)) => fields.is_draft = *flag,
                ("is_archived", Value::Bool(flag)) => fields.is_archived = *flag,
                _ => {}
            }
        }
        fields
    }
}

/// A saved query row with its tags.
#[derive(Debug, Clone)]
pub struct Query {
    pub id: QueryId,
    pub org_id: OrgId,
    /// Grows by one with every change to the fields; clients send it back to detect conflicts.
    pub version: i64,
    pub name: String,
    pub description: Option<String>,
    pub query_text: String,
    pub query_hash: String,
    pub data_source_id: Option<DataSourceId>,
    /// The newest result of this text on this data source, if any.
    pub latest_query_data_id: Option<i64>,
    pub schedule: Option<Value>,
    pub schedule_failures: i64,
    pub options: Map<String, Value>,
    pub tags: Vec<String>,
    pub is_draft: bool,
    pub is_archived: bool,
    /// The query's own read-only API key (40 characters).
    pub api_key: String,
    /// The owner.
    pub user_id: UserId,
    pub last_modified_by_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Query {
    /// The editable content, to change and hand back to [`update_query`].
    pub fn fields(&self) -> QueryFields {
        QueryFields {
            name: self.name.clone(),
            description: self.description.clone(),
            query_text: self.query_text.clone(),
            query_hash: self.query_hash.clone(),
            data_source_id: self.data_source_id,
            schedule: self.schedule.clone(),
            options: self.options.clone(),
            tags: self.tags.clone(),
            is_draft: self.is_draft,
            is_archived: self.is_archived,
        }
    }
}

/// A query in a list, with its latest result's stats and the caller's star.
#[derive(Debug, Clone)]
pub struct QueryListing {
    pub query: Query,
    pub retrieved_at: Option<DateTime<Utc>>,
    /// Seconds.
    pub runtime: Option<f64>,
    /// When the listing user starred it; `None` if they did not.
    pub starred_at: Option<DateTime<Utc>>,
}

/// A query to create.
#[derive(Debug, Clone)]
pub struct NewQuery {
    pub org_id: OrgId,
    /// The owner, also recorded as the last modifier and the author of version 1.
    pub user_id: UserId,
    pub api_key: String,
    pub fields: QueryFields,
    pub latest_query_data_id: Option<i64>,
    /// Point `latest_query_data_id` at the newest result of the same hash on the same data
    /// source when one exists (Redash does on create and update; a fork keeps its original's).
    pub link_latest_result: bool,
}

/// A change to a query through the API.
#[derive(Debug, Clone)]
pub struct QueryUpdate {
    pub fields: QueryFields,
    /// `Some`: point at this result (a client saving what it just ran); `None`: keep. Either
    /// way the newest result of the new hash on the data source wins when there is one.
    pub latest_query_data_id: Option<i64>,
    pub modified_by: UserId,
}

/// Which queries a list shows, as Redash's list endpoints do. Every scope shows only queries
/// whose data source one of the caller's groups may use (admins too: Redash's lists are
/// purely group-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryScope {
    /// `GET /api/queries`: not archived; others' drafts hidden.
    All,
    /// `GET /api/queries/my`: not archived, owned by the caller (drafts included).
    Mine,
    /// `GET /api/queries/archive`: archived; others' drafts hidden.
    Archived,
    /// `GET /api/queries/favorites`: not archived, starred by the caller (drafts included).
    Favorites,
}

/// Sort orders of the query lists (`?order=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOrder {
    Name,
    CreatedAt,
    UpdatedAt,
    /// The schedule's interval.
    Schedule,
    /// The latest result's runtime.
    Runtime,
    /// When the latest result was retrieved.
    ExecutedAt,
    /// The owner's name.
    CreatedBy,
    /// When the caller starred it.
    StarredAt,
}

/// The filters of a query list.
#[derive(Debug, Clone)]
pub struct QueryFilter {
    pub scope: QueryScope,
    /// The caller: owner of "my" queries and drafts, and whose stars count.
    pub user_id: UserId,
    pub group_ids: Vec<GroupId>,
    /// Words that must all appear in the name, description or text (any case); a number or
    /// `#<number>` also matches the query with that id.
    pub search: Option<String>,
    /// Tags that must all be present.
    pub tags: Vec<String>,
    /// `None`: by search relevance when searching, else newest first.
    pub order: Option<QueryOrder>,
    pub descending: bool,
}

#[derive(sqlx::FromRow)]
struct QueryRow {
    id: i64,
    version: i64,
    org_id: i64,
    data_source_id: Option<i64>,
    latest_query_data_id: Option<i64>,
    name: String,
    description: Option<String>,
    query: String,
    query_hash: String,
    api_key: String,
    user_id: i64,
    last_modified_by_id: Option<i64>,
    is_archived: bool,
    is_draft: bool,
    schedule: Option<Json<Value>>,
    schedule_failures: i64,
    options: Json<Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl QueryRow {
    fn into_query(self, tags: Vec<String>) -> Query {
        Query {
            id: QueryId(self.id),
            org_id: OrgId(self.org_id),
            version: self.version,
            name: self.name,
            description: self.description,
            query_text: self.query,
            query_hash: self.query_hash,
            data_source_id: self.data_source_id.map(DataSourceId),
            latest_query_data_id: self.latest_query_data_id,
            schedule: self.schedule.map(|schedule| schedule.0).filter(|schedule| !schedule.is_null()),
            schedule_failures: self.schedule_failures,
            // Imported rows may hold something else; Redash treats that as no options.
            options: match self.options.0 {
                Value::Object(options) => options,
                _ => Map::new(),
            },
            tags,
            is_draft: self.is_draft,
            is_archived: self.is_archived,
            api_key: self.api_key,
            user_id: UserId(self.user_id),
            last_modified_by_id: self.last_modified_by_id.map(UserId),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    query: QueryRow,
    retrieved_at: Option<DateTime<Utc>>,
    runtime: Option<f64>,
    starred_at: Option<DateTime<Utc>>,
}

/// Every column, qualified by the `q` alias and named plainly for `FromRow`.
const COLUMNS: &str = "q.id AS id, q.version AS version, q.org_id AS org_id, q.data_source_id AS data_source_id, \
    q.latest_query_data_id AS latest_query_data_id, q.name AS name, q.description AS description, q.query AS query, \
    q.query_hash AS query_hash, q.api_key AS api_key, q.user_id AS user_id, \
    q.last_modified_by_id AS last_modified_by_id, q.is_archived AS is_archived, q.is_draft AS is_draft, \
    q.schedule AS schedule, q.schedule_failures AS schedule_failures, q.options AS options, \
    q.created_at AS created_at, q.updated_at AS updated_at";

/// The newest result of the row's own hash on its own data source, for use inside a statement
/// on `queries` whose data source and hash are the placeholders given.
fn newest_result(data_source: &str, hash: &str) -> String {
    format!(
        "(SELECT id FROM query_results WHERE data_source_id = {data_source} AND query_hash = {hash} \
         ORDER BY retrieved_at DESC, id DESC LIMIT 1)"
    )
}

/// The lower-cased text that search matches (Unicode-aware, unlike SQLite's lower()).
fn search_text(fields: &QueryFields) -> String {
    format!("{}\n{}\n{}", fields.name, fields.description.as_deref().unwrap_or(""), fields.query_text).to_lowercase()
}

/// Tags without empty strings or repeats, in the order given.
fn distinct_tags(tags: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for tag in tags {
        if !tag.is_empty() && !seen.contains(tag) {
            seen.push(tag.clone());
        }
    }
    seen
}

async fn tags_of(store: &Store, query_ids: &[i64]) -> Result<Vec<(i64, String)>> {
    if query_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let placeholders: Vec<String> = query_ids.iter().map(|id| list.bind(Bound::Int(*id))).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT query_id, tag FROM query_tags WHERE query_id IN ({}) ORDER BY tag",
        placeholders.join(", ")
    ));
    let pairs = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, (i64, String)>(sql), &list.values).fetch_all(pool).await
    })?;
    Ok(pairs)
}

fn tags_for(pairs: &[(i64, String)], query_id: i64) -> Vec<String> {
    pairs.iter().filter(|(id, _)| *id == query_id).map(|(_, tag)| tag.clone()).collect()
}

/// Creates a query with its visualizations, tags and version 1 in one transaction.
pub async fn insert_query(
    store: &Store,
    new: &NewQuery,
    visualizations: &[NewVisualization],
    now: DateTime<Utc>,
) -> Result<Query> {
    let fields = QueryFields { tags: distinct_tags(&new.fields.tags), ..new.fields.clone() };
    // A result id from the client counts only if it is one of this organization's results.
    let given = "(SELECT id FROM query_results WHERE id = $3 AND org_id = $1)";
    let latest =
        if new.link_latest_result { format!("COALESCE({}, {given})", newest_result("$2", "$7")) } else { given.to_owned() };
    let insert = sqlx::AssertSqlSafe(format!(
        "INSERT INTO queries (version, org_id, data_source_id, latest_query_data_id, name, description, query, \
         query_hash, api_key, user_id, last_modified_by_id, is_archived, is_draft, schedule, schedule_failures, options, \
         search_text, created_at, updated_at, schedule_due_at) \
         VALUES ($13, $1, $2, {latest}, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $14, $15, $16, $17, $17, $18) RETURNING id"
    ));
    let schedule_due_at = crate::schedule::first_due(fields.schedule.as_ref(), now);
    let change = diff(&Map::new(), &fields.columns());
    let id = in_transaction!(store, |conn| {
        let inserted = sqlx::query_scalar::<_, i64>(insert)
            .bind(new.org_id.0)
            .bind(fields.data_source_id.map(|id| id.0))
            .bind(new.latest_query_data_id)
            .bind(&fields.name)
            .bind(&fields.description)
            .bind(&fields.query_text)
            .bind(&fields.query_hash)
            .bind(&new.api_key)
            .bind(new.user_id.0)
            .bind(fields.is_archived)
            .bind(fields.is_draft)
            .bind(fields.schedule.as_ref().map(Json))
            .bind(1_i64)
            .bind(0_i64)
            .bind(Json(&fields.options))
            .bind(search_text(&fields))
            .bind(now)
            .bind(schedule_due_at)
            .fetch_one(&mut *conn)
            .await;
        let id = match inserted {
            Err(error) if is_unique_violation(&error) => return Err(Error::Duplicate { what: "a query with this API key" }),
            other => other?,
        };
        for tag in &fields.tags {
            sqlx::query("INSERT INTO query_tags (query_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag)
                .execute(&mut *conn)
                .await?;
        }
        for visualization in visualizations {
            sqlx::query(
                "INSERT INTO visualizations (type, query_id, name, description, options, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(&visualization.type_name)
            .bind(id)
            .bind(&visualization.name)
            .bind(&visualization.description)
            .bind(Json(&visualization.options))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "INSERT INTO changes (object_type, object_id, object_version, user_id, change, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(QUERIES)
        .bind(id)
        .bind(1_i64)
        .bind(new.user_id.0)
        .bind(Json(&change))
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok::<i64, Error>(id)
    })?;
    query_by_id(store, new.org_id, QueryId(id)).await?.ok_or(Error::NotFound { entity: "query", id: id.to_string() })
}

/// The query with this id in this organization, archived or not.
pub async fn query_by_id(store: &Store, org_id: OrgId, id: QueryId) -> Result<Option<Query>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM queries q WHERE q.id = $1 AND q.org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, QueryRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    let Some(row) = row else { return Ok(None) };
    let tags = tags_of(store, &[row.id]).await?;
    Ok(Some(row.into_query(tags_for(&tags, id.0))))
}

/// Applies `update` if the query is still at `current.version`. A change to the fields makes a
/// new version with its history row; an update that changes none keeps the version.
/// Fails with [`Error::VersionConflict`] when someone else wrote first.
pub async fn update_query(store: &Store, current: &Query, update: &QueryUpdate, now: DateTime<Utc>) -> Result<Query> {
    write_query(store, current, &update.fields, update.latest_query_data_id, Some(update.modified_by), update.modified_by, false, now)
        .await
}

/// Archives a query (Redash's `archive`): archived, unscheduled, its widgets and alerts deleted,
/// as a new version by `user`. Fails with [`Error::VersionConflict`] like [`update_query`].
pub async fn archive_query(store: &Store, current: &Query, user: UserId, now: DateTime<Utc>) -> Result<Query> {
    let fields = QueryFields { is_archived: true, schedule: None, ..current.fields() };
    write_query(store, current, &fields, None, None, user, true, now).await
}

/// Clears the schedule of a query whose `until` date passed (Redash's `empty_schedules`), as a
/// new version by its owner without changing `last_modified_by`. Fails with
/// [`Error::VersionConflict`] like [`update_query`].
pub async fn unschedule_query(store: &Store, current: &Query, now: DateTime<Utc>) -> Result<Query> {
    let fields = QueryFields { schedule: None, ..current.fields() };
    write_query(store, current, &fields, None, None, current.user_id, false, now).await
}

#[allow(clippy::too_many_arguments)]
async fn write_query(
    store: &Store,
    current: &Query,
    fields: &QueryFields,
    latest_query_data_id: Option<i64>,
    modified_by: Option<UserId>,
    author: UserId,
    archive: bool,
    now: DateTime<Utc>,
) -> Result<Query> {
    let fields = QueryFields { tags: distinct_tags(&fields.tags), ..fields.clone() };
    let change = diff(&current.fields().columns(), &fields.columns());
    let version = if change.is_empty() { current.version } else { current.version + 1 };
    let tags_changed = change.contains_key("tags");
    let update = sqlx::AssertSqlSafe(format!(
        "UPDATE queries SET version = $1, data_source_id = $2, \
         latest_query_data_id = COALESCE({}, (SELECT id FROM query_results WHERE id = $3 AND org_id = $17), latest_query_data_id), \
         name = $4, description = $5, query = $6, query_hash = $7, last_modified_by_id = COALESCE($8, last_modified_by_id), \
         is_archived = $9, is_draft = $10, schedule = $11, options = $12, search_text = $13, updated_at = $14, \
         schedule_due_at = CASE WHEN $18 THEN $19 ELSE schedule_due_at END \
         WHERE id = $15 AND version = $16",
        newest_result("$2", "$7")
    ));
    // A new or changed schedule is due afresh; an unchanged one keeps its place.
    let schedule_changed = fields.schedule != current.schedule || fields.is_archived != current.is_archived;
    let schedule_due_at =
        if fields.is_archived { None } else { crate::schedule::first_due(fields.schedule.as_ref(), now) };
    in_transaction!(store, |conn| {
        let updated = sqlx::query(update)
            .bind(version)
            .bind(fields.data_source_id.map(|id| id.0))
            .bind(latest_query_data_id)
            .bind(&fields.name)
            .bind(&fields.description)
            .bind(&fields.query_text)
            .bind(&fields.query_hash)
            .bind(modified_by.map(|user| user.0))
            .bind(fields.is_archived)
            .bind(fields.is_draft)
            .bind(fields.schedule.as_ref().map(Json))
            .bind(Json(&fields.options))
            .bind(search_text(&fields))
            .bind(now)
            .bind(current.id.0)
            .bind(current.version)
            .bind(current.org_id.0)
            .bind(schedule_changed)
            .bind(schedule_due_at)
            .execute(&mut *conn)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::VersionConflict { entity: "query" });
        }
        if tags_changed {
            sqlx::query("DELETE FROM query_tags WHERE query_id = $1").bind(current.id.0).execute(&mut *conn).await?;
            for tag in &fields.tags {
                sqlx::query("INSERT INTO query_tags (query_id, tag) VALUES ($1, $2)")
                    .bind(current.id.0)
                    .bind(tag)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        if archive {
            // Widgets and alerts of an archived query would show or check nothing.
            sqlx::query("DELETE FROM widgets WHERE visualization_id IN (SELECT id FROM visualizations WHERE query_id = $1)")
                .bind(current.id.0)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM alerts WHERE query_id = $1").bind(current.id.0).execute(&mut *conn).await?;
        }
        if !change.is_empty() {
            sqlx::query(
                "INSERT INTO changes (object_type, object_id, object_version, user_id, change, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(QUERIES)
            .bind(current.id.0)
            .bind(version)
            .bind(author.0)
            .bind(Json(&change))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        Ok::<(), Error>(())
    })?;
    query_by_id(store, current.org_id, current.id)
        .await?
        .ok_or(Error::NotFound { entity: "query", id: current.id.to_string() })
}

/// Replaces a query's own API key. Not a new version: the key is not part of the history.
pub async fn set_query_api_key(store: &Store, id: QueryId, api_key: &str, now: DateTime<Utc>) -> Result<()> {
    let updated = on_pool!(store.writer(), |pool| {
        sqlx::query("UPDATE queries SET api_key = $1, updated_at = $2 WHERE id = $3")
            .bind(api_key)
            .bind(now)
            .bind(id.0)
            .execute(pool)
            .await
            .map(drop)
    });
    match updated {
        Err(error) if is_unique_violation(&error) => Err(Error::Duplicate { what: "a query with this API key" }),
        Err(error) => Err(Error::from(error)),
        Ok(_) => Ok(()),
    }
}

/// Points every non-archived query with this hash on this data source at `result_id` (Redash's
/// `update_latest_result`), without touching `version` or `updated_at`. Returns their ids.
pub async fn link_latest_result(
    store: &Store,
    data_source_id: DataSourceId,
    query_hash: &str,
    result_id: i64,
) -> Result<Vec<QueryId>> {
    let ids = on_pool!(store.writer(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "UPDATE queries SET latest_query_data_id = $1 WHERE data_source_id = $2 AND query_hash = $3 AND NOT is_archived \
             RETURNING id",
        )
        .bind(result_id)
        .bind(data_source_id.0)
        .bind(query_hash)
        .fetch_all(pool)
        .await
    })?;
    Ok(ids.into_iter().map(QueryId).collect())
}

/// Whether the user holds an ACL grant of `access_type` (`view`, `modify`, `delete`) on the query.
pub async fn has_query_grant(store: &Store, id: QueryId, user_id: UserId, access_type: &str) -> Result<bool> {
    let found = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>(
            "SELECT id FROM access_permissions WHERE object_type = $1 AND object_id = $2 AND access_type = $3 \
             AND grantee_id = $4",
        )
        .bind(QUERIES)
        .bind(id.0)
        .bind(access_type)
        .bind(user_id.0)
        .fetch_optional(pool)
        .await
    })?;
    Ok(found.is_some())
}

/// Every version of a query, newest first.
pub async fn query_versions(store: &Store, id: QueryId) -> Result<Vec<Change>> {
    changes_of(store, QUERIES, id.0).await
}

/// The fields of `query` as they were at `version`, or `None` if it never had that version.
/// A column no version up to `version` touched takes the `previous` value of the first later
/// version that did (or its current value), so imported histories rebuild too.
pub async fn query_fields_at(store: &Store, query: &Query, version: i64) -> Result<Option<QueryFields>> {
    let mut changes = query_versions(store, query.id).await?;
    if !changes.iter().any(|change| change.object_version == version) {
        return Ok(None);
    }
    changes.reverse();
    let mut columns = Map::new();
    for change in changes.iter().filter(|change| change.object_version <= version) {
        for (column, values) in &change.change {
            columns.insert(column.clone(), values.get("current").cloned().unwrap_or(Value::Null));
        }
    }
    for change in changes.iter().filter(|change| change.object_version > version) {
        for (column, values) in &change.change {
            if !columns.contains_key(column) {
                columns.insert(column.clone(), values.get("previous").cloned().unwrap_or(Value::Null));
            }
        }
    }
    Ok(Some(query.fields().with_columns(&columns)))
}

/// One page of the queries `filter` selects in this organization.
pub async fn list_queries(store: &Store, org_id: OrgId, filter: &QueryFilter, page: PageRequest) -> Result<Page<QueryListing>> {
    let mut list = ListSql::default();
    let me = list.bind(Bound::Int(filter.user_id.0));
    let org = list.bind(Bound::Int(org_id.0));
    list.and(format!("q.org_id = {org}"));
    list.and(if filter.scope == QueryScope::Archived { "q.is_archived".into() } else { "NOT q.is_archived".into() });
    if filter.group_ids.is_empty() {
        list.and("1 = 0".into());
    } else {
        let groups: Vec<String> = filter.group_ids.iter().map(|group| list.bind(Bound::Int(group.0))).collect();
        list.and(format!(
            "q.data_source_id IN (SELECT data_source_id FROM data_source_groups WHERE group_id IN ({}))",
            groups.join(", ")
        ));
    }
    match filter.scope {
        QueryScope::All | QueryScope::Archived => list.and(format!("(NOT q.is_draft OR q.user_id = {me})")),
        QueryScope::Mine => list.and(format!("q.user_id = {me}")),
        QueryScope::Favorites => {}
    }
    let words: Vec<&str> = filter.search.as_deref().map(|term| term.split_whitespace().collect()).unwrap_or_default();
    let mut name_matches = Vec::new();
    let mut id_matches = Vec::new();
    for word in &words {
        let pattern = list.bind(Bound::Text(like_pattern(word)));
        name_matches.push(format!("lower(q.name) LIKE {pattern} ESCAPE '\\'"));
        match word.trim_start_matches('#').parse::<i64>() {
            Ok(number) => {
                let id = list.bind(Bound::Int(number));
                id_matches.push(format!("q.id = {id}"));
                list.and(format!("(q.id = {id} OR q.search_text LIKE {pattern} ESCAPE '\\')"));
            }
            Err(_) => list.and(format!("q.search_text LIKE {pattern} ESCAPE '\\'")),
        }
    }
    for tag in &filter.tags {
        let tag = list.bind(Bound::Text(tag.clone()));
        list.and(format!("EXISTS (SELECT 1 FROM query_tags t WHERE t.query_id = q.id AND t.tag = {tag})"));
    }
    let star_join = if filter.scope == QueryScope::Favorites { "JOIN" } else { "LEFT JOIN" };
    let from = format!(
        "FROM queries q LEFT JOIN query_results r ON r.id = q.latest_query_data_id LEFT JOIN users u ON u.id = q.user_id \
         {star_join} favorites f ON f.object_type = 'Query' AND f.object_id = q.id AND f.user_id = {me}{}",
        list.where_clause()
    );
    let order_by = match filter.order {
        Some(order) => {
            let direction = if filter.descending { "DESC" } else { "ASC" };
            let expression = order_expression(order, store.dialect());
            // NULLs sort as the largest value on both dialects, as PostgreSQL does by default.
            format!("CASE WHEN {expression} IS NULL THEN 1 ELSE 0 END {direction}, {expression} {direction}, q.id {direction}")
        }
        None if !words.is_empty() => {
            let by_id = if id_matches.is_empty() { "1 = 0".to_owned() } else { id_matches.join(" OR ") };
            format!(
                "CASE WHEN {by_id} THEN 0 WHEN {} THEN 1 ELSE 2 END, q.created_at DESC, q.id DESC",
                name_matches.join(" AND ")
            )
        }
        None => "q.created_at DESC, q.id DESC".into(),
    };
    let count_sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}"));
    let count = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_scalar::<_, i64>(count_sql), &list.values).fetch_one(pool).await
    })?;
    let limit = list.bind(Bound::Int(page.page_size));
    let offset = list.bind(Bound::Int(page.offset()));
    let rows_sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, r.retrieved_at AS retrieved_at, r.runtime AS runtime, f.created_at AS starred_at {from} \
         ORDER BY {order_by} LIMIT {limit} OFFSET {offset}"
    ));
    let rows = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, ListRow>(rows_sql), &list.values).fetch_all(pool).await
    })?;
    let ids: Vec<i64> = rows.iter().map(|row| row.query.id).collect();
    let tags = tags_of(store, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let query_tags = tags_for(&tags, row.query.id);
            QueryListing {
                query: row.query.into_query(query_tags),
                retrieved_at: row.retrieved_at,
                runtime: row.runtime,
                starred_at: row.starred_at,
            }
        })
        .collect();
    Ok(Page { count, page: page.page, page_size: page.page_size, items })
}

fn order_expression(order: QueryOrder, dialect: Dialect) -> &'static str {
    match order {
        QueryOrder::Name => "lower(q.name)",
        QueryOrder::CreatedAt => "q.created_at",
        QueryOrder::UpdatedAt => "q.updated_at",
        QueryOrder::Schedule => match dialect {
            Dialect::Postgres => {
                "CASE WHEN jsonb_typeof(q.schedule -> 'interval') = 'number' THEN (q.schedule ->> 'interval')::numeric END"
            }
            Dialect::Sqlite => {
                "CASE WHEN json_type(q.schedule, '$.interval') IN ('integer', 'real') THEN json_extract(q.schedule, '$.interval') END"
            }
        },
        QueryOrder::Runtime => "r.runtime",
        QueryOrder::ExecutedAt => "r.retrieved_at",
        QueryOrder::CreatedBy => "lower(u.name)",
        QueryOrder::StarredAt => "f.created_at",
    }
}

/// How many visible, non-archived queries carry each tag (drafts included, as Redash counts
/// them), by tag.
pub async fn query_tag_counts(store: &Store, org_id: OrgId, group_ids: &[GroupId]) -> Result<Vec<(String, i64)>> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let org = list.bind(Bound::Int(org_id.0));
    let groups: Vec<String> = group_ids.iter().map(|group| list.bind(Bound::Int(group.0))).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT t.tag, COUNT(*) FROM query_tags t JOIN queries q ON q.id = t.query_id \
         WHERE q.org_id = {org} AND NOT q.is_archived \
         AND q.data_source_id IN (SELECT data_source_id FROM data_source_groups WHERE group_id IN ({})) \
         GROUP BY t.tag ORDER BY t.tag",
        groups.join(", ")
    ));
    let counts = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, (String, i64)>(sql), &list.values).fetch_all(pool).await
    })?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> QueryFields {
        QueryFields {
            name: "Orders".into(),
            description: None,
            query_text: "select 1".into(),
            query_hash: "h1".into(),
            data_source_id: Some(DataSourceId(1)),
            schedule: None,
            options: Map::new(),
            tags: vec!["a".into()],
            is_draft: true,
            is_archived: false,
        }
    }

    #[test]
    fn history_columns_round_trip() {
        let original = fields();
        let edited = QueryFields {
            name: "Sales".into(),
            description: Some("d".into()),
            data_source_id: None,
            schedule: Some(json!({"interval": 60})),
            tags: vec!["b".into(), "c".into()],
            is_draft: false,
            ..original.clone()
        };
        assert_eq!(original.with_columns(&edited.columns()), QueryFields { tags: vec!["b".into(), "c".into()], ..edited });
    }

    #[test]
    fn unexpected_history_values_are_ignored() {
        let columns = json!({"name": 5, "tags": "x", "data_source_id": "one"});
        assert_eq!(fields().with_columns(columns.as_object().unwrap()), fields());
    }

    #[test]
    fn tags_drop_empties_and_repeats() {
        let tags: Vec<String> = ["b", "", "a", "b"].iter().map(|tag| tag.to_string()).collect();
        assert_eq!(distinct_tags(&tags), vec!["b".to_string(), "a".to_string()]);
    }
}
