//! Dashboards: named boards of widgets, their tags, lists and forks.
//!
//! `version` starts at 1 and grows with every update; an update applies only at the version it
//! was read at ([`Error::VersionConflict`] otherwise), so two editors cannot silently overwrite
//! each other. `slug` is Redash's stored slug (the name made URL-safe, `_1`, `_2`… added while it
//! is taken in the organization); legacy links address dashboards by it.

use chrono::{DateTime, Utc};
use dashi_core::{GroupId, OrgId, UserId};
use sqlx::types::Json;

use crate::page::{ListSql, Page, PageRequest, Value as Bound, bind_values};
use crate::user::like_pattern;
use crate::{Error, Result, Store, in_transaction, on_pool};

/// Typed id of a dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DashboardId(pub i64);

impl std::fmt::Display for DashboardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A dashboard row with its tags.
#[derive(Debug, Clone)]
pub struct Dashboard {
    pub id: DashboardId,
    pub version: i64,
    pub org_id: OrgId,
    pub slug: String,
    pub user_id: UserId,
    pub fields: DashboardFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an editor may change on a dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardFields {
    pub name: String,
    /// Redash's legacy rows of widget ids, kept as given.
    pub layout: serde_json::Value,
    pub dashboard_filters_enabled: bool,
    pub is_archived: bool,
    pub is_draft: bool,
    pub options: serde_json::Value,
    pub tags: Vec<String>,
}

impl DashboardFields {
    /// Redash's new dashboard: a draft with an empty layout and options.
    pub fn new_draft(name: &str) -> DashboardFields {
        DashboardFields {
            name: name.to_owned(),
            layout: serde_json::json!([]),
            dashboard_filters_enabled: false,
            is_archived: false,
            is_draft: true,
            options: serde_json::json!({}),
            tags: Vec::new(),
        }
    }
}

/// Which dashboards a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardScope {
    /// Owned by the caller, or showing a query of one of the caller's groups; others' drafts
    /// left out.
    All,
    /// Owned by the caller.
    Mine,
    /// Starred by the caller.
    Favorites,
}

/// Sort keys Redash accepts for dashboard lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DashboardOrder {
    Name,
    CreatedAt,
    StarredAt,
}

/// The filters of a dashboard list.
#[derive(Debug, Clone)]
pub struct DashboardFilter {
    pub scope: DashboardScope,
    pub user_id: UserId,
    pub group_ids: Vec<GroupId>,
    pub search: Option<String>,
    pub tags: Vec<String>,
    /// `None`: newest first.
    pub order: Option<DashboardOrder>,
    pub descending: bool,
}

/// A dashboard in a list, with when the caller starred it.
#[derive(Debug, Clone)]
pub struct DashboardListing {
    pub dashboard: Dashboard,
    pub starred_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct DashboardRow {
    id: i64,
    version: i64,
    org_id: i64,
    slug: String,
    name: String,
    user_id: i64,
    layout: Json<serde_json::Value>,
    dashboard_filters_enabled: bool,
    is_archived: bool,
    is_draft: bool,
    options: Json<serde_json::Value>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ListRow {
    #[sqlx(flatten)]
    dashboard: DashboardRow,
    starred_at: Option<DateTime<Utc>>,
}

impl DashboardRow {
    fn into_dashboard(self, tags: Vec<String>) -> Dashboard {
        Dashboard {
            id: DashboardId(self.id),
            version: self.version,
            org_id: OrgId(self.org_id),
            slug: self.slug,
            user_id: UserId(self.user_id),
            fields: DashboardFields {
                name: self.name,
                layout: self.layout.0,
                dashboard_filters_enabled: self.dashboard_filters_enabled,
                is_archived: self.is_archived,
                is_draft: self.is_draft,
                options: self.options.0,
                tags,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const COLUMNS: &str = "d.id, d.version, d.org_id, d.slug, d.name, d.user_id, d.layout, d.dashboard_filters_enabled, \
                       d.is_archived, d.is_draft, d.options, d.created_at, d.updated_at";

/// Redash's slugify: lower case, every run of characters outside `[a-z0-9_-]` becomes `-`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    let mut in_run = false;
    for character in name.to_lowercase().chars() {
        if character.is_ascii_alphanumeric() || character == '_' || character == '-' {
            slug.push(character);
            in_run = false;
        } else if !in_run {
            slug.push('-');
            in_run = true;
        }
    }
    slug
}

/// Tags without empty strings or repeats, in the order given.
fn distinct_tags(tags: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for tag in tags {
        if !tag.is_empty() && !seen.contains(tag) {
            seen.push(tag.clone());
        }
    }
    seen
}

async fn tags_of(store: &Store, dashboard_ids: &[i64]) -> Result<Vec<(i64, String)>> {
    if dashboard_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut list = ListSql::default();
    let placeholders: Vec<String> = dashboard_ids.iter().map(|id| list.bind(Bound::Int(*id))).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT dashboard_id, tag FROM dashboard_tags WHERE dashboard_id IN ({}) ORDER BY tag",
        placeholders.join(", ")
    ));
    Ok(on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, (i64, String)>(sql), &list.values).fetch_all(pool).await
    })?)
}

fn tags_for(pairs: &[(i64, String)], dashboard_id: i64) -> Vec<String> {
    pairs.iter().filter(|(id, _)| *id == dashboard_id).map(|(_, tag)| tag.clone()).collect()
}

/// Creates a dashboard owned by `user_id` with a slug free in the organization, version 1.
pub async fn insert_dashboard(
    store: &Store,
    org_id: OrgId,
    user_id: UserId,
    fields: &DashboardFields,
    now: DateTime<Utc>,
) -> Result<Dashboard> {
    let base = slugify(&fields.name);
    let tags = distinct_tags(&fields.tags);
    let id = in_transaction!(store, |conn| {
        let taken: Vec<String> = sqlx::query_scalar(
            "SELECT slug FROM dashboards WHERE org_id = $1 AND (slug = $2 OR slug LIKE $3 ESCAPE '\\')",
        )
        .bind(org_id.0)
        .bind(&base)
        .bind(format!("{}\\_%", base.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
        .fetch_all(&mut *conn)
        .await?;
        let slug = (0..)
            .map(|n| if n == 0 { base.clone() } else { format!("{base}_{n}") })
            .find(|slug| !taken.contains(slug))
            .expect("an unbounded range has a free slug");
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO dashboards (version, org_id, slug, name, user_id, layout, dashboard_filters_enabled, is_archived, \
             is_draft, options, search_text, created_at, updated_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(org_id.0)
        .bind(&slug)
        .bind(&fields.name)
        .bind(user_id.0)
        .bind(Json(&fields.layout))
        .bind(fields.dashboard_filters_enabled)
        .bind(fields.is_archived)
        .bind(fields.is_draft)
        .bind(Json(&fields.options))
        .bind(fields.name.to_lowercase())
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        for tag in &tags {
            sqlx::query("INSERT INTO dashboard_tags (dashboard_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag)
                .execute(&mut *conn)
                .await?;
        }
        Ok::<i64, Error>(id)
    })?;
    dashboard_by_id(store, org_id, DashboardId(id))
        .await?
        .ok_or(Error::NotFound { entity: "dashboard", id: id.to_string() })
}

/// The dashboard with this id in this organization (archived ones too).
pub async fn dashboard_by_id(store: &Store, org_id: OrgId, id: DashboardId) -> Result<Option<Dashboard>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM dashboards d WHERE d.id = $1 AND d.org_id = $2"));
    let row = on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, DashboardRow>(sql).bind(id.0).bind(org_id.0).fetch_optional(pool).await
    })?;
    match row {
        Some(row) => {
            let tags = tags_for(&tags_of(store, &[row.id]).await?, row.id);
            Ok(Some(row.into_dashboard(tags)))
        }
        None => Ok(None),
    }
}

/// The oldest dashboard of the organization with this stored slug (slugs are not unique).
pub async fn dashboard_by_slug(store: &Store, org_id: OrgId, slug: &str) -> Result<Option<Dashboard>> {
    let id = on_pool!(store.reader(), |pool| {
        sqlx::query_scalar::<_, i64>("SELECT id FROM dashboards WHERE org_id = $1 AND slug = $2 ORDER BY id LIMIT 1")
            .bind(org_id.0)
            .bind(slug)
            .fetch_optional(pool)
            .await
    })?;
    match id {
        Some(id) => dashboard_by_id(store, org_id, DashboardId(id)).await,
        None => Ok(None),
    }
}

/// Writes `fields` over `current` as version `current.version + 1`. Fails with
/// [`Error::VersionConflict`] when someone else wrote first.
pub async fn update_dashboard(
    store: &Store,
    current: &Dashboard,
    fields: &DashboardFields,
    now: DateTime<Utc>,
) -> Result<Dashboard> {
    let tags = distinct_tags(&fields.tags);
    in_transaction!(store, |conn| {
        let updated = sqlx::query(
            "UPDATE dashboards SET version = version + 1, name = $1, layout = $2, dashboard_filters_enabled = $3, \
             is_archived = $4, is_draft = $5, options = $6, search_text = $7, updated_at = $8 \
             WHERE id = $9 AND version = $10",
        )
        .bind(&fields.name)
        .bind(Json(&fields.layout))
        .bind(fields.dashboard_filters_enabled)
        .bind(fields.is_archived)
        .bind(fields.is_draft)
        .bind(Json(&fields.options))
        .bind(fields.name.to_lowercase())
        .bind(now)
        .bind(current.id.0)
        .bind(current.version)
        .execute(&mut *conn)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(Error::VersionConflict { entity: "dashboard" });
        }
        if tags != current.fields.tags {
            sqlx::query("DELETE FROM dashboard_tags WHERE dashboard_id = $1")
                .bind(current.id.0)
                .execute(&mut *conn)
                .await?;
            for tag in &tags {
                sqlx::query("INSERT INTO dashboard_tags (dashboard_id, tag) VALUES ($1, $2)")
                    .bind(current.id.0)
                    .bind(tag)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok::<(), Error>(())
    })?;
    dashboard_by_id(store, current.org_id, current.id)
        .await?
        .ok_or(Error::NotFound { entity: "dashboard", id: current.id.to_string() })
}

/// A copy of `original` owned by `user_id` under `name` (a draft, not archived, same layout,
/// options and tags) with copies of every widget, in one transaction.
pub async fn fork_dashboard(
    store: &Store,
    original: &Dashboard,
    user_id: UserId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Dashboard> {
    let fields =
        DashboardFields { name: name.to_owned(), is_draft: true, is_archived: false, ..original.fields.clone() };
    let copy = insert_dashboard(store, original.org_id, user_id, &fields, now).await?;
    let copied = in_transaction!(store, |conn| {
        sqlx::query(
            "INSERT INTO widgets (dashboard_id, visualization_id, text, width, options, created_at, updated_at) \
             SELECT $1, visualization_id, text, width, options, $2, $2 FROM widgets WHERE dashboard_id = $3 ORDER BY id",
        )
        .bind(copy.id.0)
        .bind(now)
        .bind(original.id.0)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected())
        .map_err(Error::from)
    });
    if let Err(error) = copied {
        // The copy without its widgets would be a wrong fork; take it back.
        crate::db::execute!(store, "DELETE FROM dashboards WHERE id = $1", copy.id.0)?;
        return Err(error);
    }
    Ok(copy)
}

fn order_expression(order: DashboardOrder) -> &'static str {
    match order {
        DashboardOrder::Name => "lower(d.name)",
        DashboardOrder::CreatedAt => "d.created_at",
        DashboardOrder::StarredAt => "f.created_at",
    }
}

/// One page of the organization's non-archived dashboards in `filter`'s scope. `search` matches
/// the name (case-insensitive, every word); tags must all be present.
pub async fn list_dashboards(
    store: &Store,
    org_id: OrgId,
    filter: &DashboardFilter,
    page: PageRequest,
) -> Result<Page<DashboardListing>> {
    let mut list = ListSql::default();
    let me = list.bind(Bound::Int(filter.user_id.0));
    let org = list.bind(Bound::Int(org_id.0));
    list.and(format!("d.org_id = {org}"));
    list.and("NOT d.is_archived".into());
    match filter.scope {
        DashboardScope::All => {
            let visible = if filter.group_ids.is_empty() {
                "1 = 0".to_owned()
            } else {
                let groups: Vec<String> = filter.group_ids.iter().map(|group| list.bind(Bound::Int(group.0))).collect();
                format!(
                    "EXISTS (SELECT 1 FROM widgets w JOIN visualizations v ON v.id = w.visualization_id \
                     JOIN queries q ON q.id = v.query_id WHERE w.dashboard_id = d.id AND q.data_source_id IN \
                     (SELECT data_source_id FROM data_source_groups WHERE group_id IN ({})))",
                    groups.join(", ")
                )
            };
            list.and(format!("(d.user_id = {me} OR ({visible} AND NOT d.is_draft))"));
        }
        DashboardScope::Mine => list.and(format!("d.user_id = {me}")),
        DashboardScope::Favorites => {}
    }
    for word in filter.search.as_deref().unwrap_or_default().split_whitespace() {
        let pattern = list.bind(Bound::Text(like_pattern(word)));
        list.and(format!("d.search_text LIKE {pattern} ESCAPE '\\'"));
    }
    for tag in &filter.tags {
        let tag = list.bind(Bound::Text(tag.clone()));
        list.and(format!("EXISTS (SELECT 1 FROM dashboard_tags t WHERE t.dashboard_id = d.id AND t.tag = {tag})"));
    }
    let star_join = if filter.scope == DashboardScope::Favorites { "JOIN" } else { "LEFT JOIN" };
    let from = format!(
        "FROM dashboards d {star_join} favorites f ON f.object_type = 'Dashboard' AND f.object_id = d.id AND f.user_id = {me}{}",
        list.where_clause()
    );
    let order_by = match filter.order {
        Some(order) => {
            let direction = if filter.descending { "DESC" } else { "ASC" };
            let expression = order_expression(order);
            format!(
                "CASE WHEN {expression} IS NULL THEN 1 ELSE 0 END {direction}, {expression} {direction}, d.id {direction}"
            )
        }
        None => "d.created_at DESC, d.id DESC".into(),
    };
    let count_sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}"));
    let count = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_scalar::<_, i64>(count_sql), &list.values).fetch_one(pool).await
    })?;
    let limit = list.bind(Bound::Int(page.page_size));
    let offset = list.bind(Bound::Int(page.offset()));
    let rows_sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, f.created_at AS starred_at {from} ORDER BY {order_by} LIMIT {limit} OFFSET {offset}"
    ));
    let rows = on_pool!(store.reader(), |pool| {
        bind_values!(sqlx::query_as::<_, ListRow>(rows_sql), &list.values).fetch_all(pool).await
    })?;
    let ids: Vec<i64> = rows.iter().map(|row| row.dashboard.id).collect();
    let tags = tags_of(store, &ids).await?;
    let items = rows
        .into_iter()
        .map(|row| {
            let dashboard_tags = tags_for(&tags, row.dashboard.id);
            DashboardListing { dashboard: row.dashboard.into_dashboard(dashboard_tags), starred_at: row.starred_at }
        })
        .collect();
    Ok(Page { count, page: page.page, page_size: page.page_size, items })
}

/// How many of the organization's non-archived dashboards carry each tag, by tag.
pub async fn dashboard_tag_counts(store: &Store, org_id: OrgId) -> Result<Vec<(String, i64)>> {
    Ok(on_pool!(store.reader(), |pool| {
        sqlx::query_as::<_, (String, i64)>(
            "SELECT t.tag, COUNT(*) FROM dashboard_tags t JOIN dashboards d ON d.id = t.dashboard_id \
             WHERE d.org_id = $1 AND NOT d.is_archived GROUP BY t.tag ORDER BY t.tag",
        )
        .bind(org_id.0)
        .fetch_all(pool)
        .await
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_safe_characters_and_dash_the_rest() {
        assert_eq!(slugify("Sales & Ops: 2026"), "sales-ops-2026");
        assert_eq!(slugify("a_b-c"), "a_b-c");
        assert_eq!(slugify("Zürich"), "z-rich");
    }
}
