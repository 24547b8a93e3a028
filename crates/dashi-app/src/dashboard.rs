//! Dashboards: lists, reading (by id or legacy slug), creating, editing with version checks,
//! archiving, forking, stars, tags and public sharing.
//!
//! Redash's rules (facts §2.5, §8.9): reading needs `list_dashboards` and nothing else (a
//! dashboard has no group ACL), but a widget whose query the reader cannot see is returned
//! `restricted`, without its visualization. Creating needs `create_dashboard`; editing, archiving
//! and forking need `edit_dashboard`, and editing and archiving also `can_modify` (admin, owner
//! or a `modify` grant). Sharing needs admin or owner. Lists show dashboards the caller owns or
//! whose widgets show a query of one of the caller's groups; others' drafts are left out.

use std::collections::HashMap;

use chrono::Utc;
use dashi_core::{Permission, generate_api_key};
use dashi_store::{
    AclObject, Dashboard, DashboardFields, DashboardFilter, DashboardId, DashboardListing, DashboardOrder,
    DashboardScope, FavoriteKind, Page, PageRequest, Query, QueryId, ShareKey, User, Visualization, Widget,
};
use serde_json::Value;

use crate::actor::Actor;
use crate::data_source::access_to;
use crate::{App, Error, Result};

/// Redash's limit on dashboard names.
const MAX_NAME_CHARS: usize = 100;

/// How a caller names a dashboard: by id, or by slug on Redash's legacy route.
#[derive(Debug, Clone)]
pub enum DashboardRef {
    Id(DashboardId),
    Slug(String),
}

/// The filters of a dashboard list, as the caller sent them.
#[derive(Debug, Clone)]
pub struct DashboardListRequest {
    pub search: Option<String>,
    pub tags: Vec<String>,
    pub order: Option<String>,
    pub page: PageRequest,
}

/// What a caller sends to change a dashboard; `None` means "not sent".
#[derive(Debug, Clone, Default)]
pub struct DashboardInput {
    pub name: Option<String>,
    pub layout: Option<Value>,
    pub version: Option<i64>,
    pub tags: Option<Value>,
    pub is_draft: Option<bool>,
    pub is_archived: Option<bool>,
    pub dashboard_filters_enabled: Option<bool>,
    pub options: Option<Value>,
}

/// A dashboard in a list, with its owner.
#[derive(Debug, Clone)]
pub struct ListedDashboard {
    pub listing: DashboardListing,
    pub owner: Option<User>,
}

/// A widget's visualization with the query it draws.
#[derive(Debug, Clone)]
pub struct ShownVisualization {
    pub visualization: Visualization,
    pub query: Query,
}

/// A widget as a reader sees it.
#[derive(Debug, Clone)]
pub struct WidgetView {
    pub widget: Widget,
    pub visualization: Option<ShownVisualization>,
    /// The reader may not see the widget's query: only its place on the grid is shown.
    pub restricted: bool,
}

/// One dashboard with everything its page shows.
#[derive(Debug, Clone)]
pub struct DashboardDetails {
    pub dashboard: Dashboard,
    pub owner: Option<User>,
    pub widgets: Vec<WidgetView>,
    pub can_edit: bool,
    pub is_favorite: bool,
    /// The active share key, shown to those who may share (admin or owner).
    pub share: Option<ShareKey>,
}

/// A shared dashboard as anyone holding its token sees it: no SQL, no data source.
#[derive(Debug, Clone)]
pub struct PublicDashboard {
    pub dashboard: Dashboard,
    pub widgets: Vec<(Widget, Option<ShownVisualization>)>,
}

fn validated_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("Dashboard name is required."));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid(format!("Dashboard name must be at most {MAX_NAME_CHARS} characters long.")));
    }
    Ok(name.to_owned())
}

fn validated_tags(tags: &Value) -> Result<Vec<String>> {
    match tags {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| Error::invalid("tags must be a list of strings."))
            })
            .collect(),
        _ => Err(Error::invalid("tags must be a list of strings.")),
    }
}

fn parse_order(order: Option<&str>) -> (Option<DashboardOrder>, bool) {
    let requested = order.map(str::trim).unwrap_or_default();
    let (field, descending) = match requested.strip_prefix('-') {
        Some(field) => (field, true),
        None => (requested, false),
    };
    match field {
        "name" => (Some(DashboardOrder::Name), descending),
        "created_at" => (Some(DashboardOrder::CreatedAt), descending),
        "starred_at" => (Some(DashboardOrder::StarredAt), descending),
        _ => (None, true),
    }
}

fn conflict() -> Error {
    Error::Conflict("This dashboard was changed by someone else. Reload it and apply your changes again.".into())
}

impl App {
    pub(crate) async fn dashboard_in_org(&self, actor: &Actor, id: DashboardId) -> Result<Dashboard> {
        dashi_store::dashboard_by_id(&self.store, actor.org_id(), id).await?.ok_or(Error::NotFound("dashboard"))
    }

    /// Redash's `can_modify` for a dashboard: admin, owner, or a `modify` grant.
    pub(crate) async fn can_modify_dashboard(&self, actor: &Actor, dashboard: &Dashboard) -> Result<bool> {
        if actor.is_admin() || actor.user_id() == dashboard.user_id {
            return Ok(true);
        }
        Ok(dashi_store::has_access_grant(&self.store, AclObject::Dashboard(dashboard.id.0), actor.user_id(), "modify")
            .await?)
    }

    /// The dashboard, if the actor may change it and its widgets.
    pub(crate) async fn editable_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<Dashboard> {
        actor.require(Permission::EditDashboard)?;
        let dashboard = self.dashboard_in_org(actor, id).await?;
        if self.can_modify_dashboard(actor, &dashboard).await? { Ok(dashboard) } else { Err(Error::forbidden()) }
    }

    /// The visualization a widget shows and its query, if both still exist.
    pub(crate) async fn shown_visualization(
        &self,
        actor_org: dashi_core::OrgId,
        widget: &Widget,
    ) -> Result<Option<ShownVisualization>> {
        let Some(visualization_id) = widget.visualization_id else { return Ok(None) };
        let Some(visualization) = dashi_store::visualization_by_id(&self.store, actor_org, visualization_id).await?
        else {
            return Ok(None);
        };
        let query = dashi_store::query_by_id(&self.store, actor_org, visualization.query_id).await?;
        Ok(query.map(|query| ShownVisualization { visualization, query }))
    }

    /// A widget as the actor sees it: restricted when its query's data source is not theirs.
    pub(crate) async fn widget_view(&self, actor: &Actor, widget: Widget) -> Result<WidgetView> {
        let shown = self.shown_visualization(actor.org_id(), &widget).await?;
        let visible = match &shown {
            None => true,
            Some(shown) => match shown.query.data_source_id {
                Some(data_source_id) => dashi_store::data_source_by_id(&self.store, actor.org_id(), data_source_id)
                    .await?
                    .is_some_and(|data_source| access_to(actor, &data_source).is_some()),
                None => actor.is_admin(),
            },
        };
        if visible {
            Ok(WidgetView { widget, visualization: shown, restricted: false })
        } else {
            Ok(WidgetView { widget, visualization: None, restricted: true })
        }
    }

    async fn dashboard_details(&self, actor: &Actor, dashboard: Dashboard) -> Result<DashboardDetails> {
        let owner = dashi_store::user_by_id(&self.store, actor.org_id(), dashboard.user_id).await?;
        let mut widgets = Vec::new();
        for widget in dashi_store::widgets_of(&self.store, dashboard.id).await? {
            widgets.push(self.widget_view(actor, widget).await?);
        }
        let can_edit = self.can_modify_dashboard(actor, &dashboard).await?;
        let is_favorite =
            dashi_store::is_favorite(&self.store, actor.user_id(), FavoriteKind::Dashboard, dashboard.id.0).await?;
        let may_share = actor.is_admin() || actor.user_id() == dashboard.user_id;
        let share = if may_share { dashi_store::share_key_of(&self.store, dashboard.id).await? } else { None };
        Ok(DashboardDetails { dashboard, owner, widgets, can_edit, is_favorite, share })
    }

    /// `GET /api/dashboards`, `/my` and `/favorites`: one page of the scope's dashboards.
    pub async fn list_dashboards(
        &self,
        actor: &Actor,
        scope: DashboardScope,
        request: &DashboardListRequest,
    ) -> Result<Page<ListedDashboard>> {
        if scope != DashboardScope::Favorites {
            actor.require(Permission::ListDashboards)?;
        }
        let search = request.search.as_deref().map(str::trim).filter(|term| !term.is_empty());
        let (order, descending) = parse_order(request.order.as_deref());
        let filter = DashboardFilter {
            scope,
            user_id: actor.user_id(),
            group_ids: actor.group_ids().to_vec(),
            search: search.map(str::to_owned),
            tags: request.tags.iter().filter(|tag| !tag.is_empty()).cloned().collect(),
            order,
            descending,
        };
        let page = dashi_store::list_dashboards(&self.store, actor.org_id(), &filter, request.page).await?;
        let mut owners: HashMap<dashi_core::UserId, Option<User>> = HashMap::new();
        let mut items = Vec::with_capacity(page.items.len());
        for listing in page.items {
            let user_id = listing.dashboard.user_id;
            let owner = match owners.get(&user_id) {
                Some(owner) => owner.clone(),
                None => {
                    let found = dashi_store::user_by_id(&self.store, actor.org_id(), user_id).await?;
                    owners.insert(user_id, found.clone());
                    found
                }
            };
            items.push(ListedDashboard { listing, owner });
        }
        Ok(Page { count: page.count, page: page.page, page_size: page.page_size, items })
    }

    /// `GET /api/dashboards/tags`: tag usage over the organization's dashboards.
    pub async fn dashboard_tags(&self, actor: &Actor) -> Result<Vec<(String, i64)>> {
        actor.require(Permission::ListDashboards)?;
        Ok(dashi_store::dashboard_tag_counts(&self.store, actor.org_id()).await?)
    }

    /// `GET /api/dashboards/<id>` (or `<slug>` on the legacy route).
    pub async fn get_dashboard(&self, actor: &Actor, reference: &DashboardRef) -> Result<DashboardDetails> {
        actor.require(Permission::ListDashboards)?;
        let dashboard = match reference {
            DashboardRef::Id(id) => self.dashboard_in_org(actor, *id).await?,
            DashboardRef::Slug(slug) => dashi_store::dashboard_by_slug(&self.store, actor.org_id(), slug)
                .await?
                .ok_or(Error::NotFound("dashboard"))?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "view", "dashboard", Some(dashboard.id.to_string()))
            .await?;
        self.dashboard_details(actor, dashboard).await
    }

    /// `POST /api/dashboards`: a new empty draft owned by the actor.
    pub async fn create_dashboard(&self, actor: &Actor, name: Option<&str>) -> Result<DashboardDetails> {
        actor.require(Permission::CreateDashboard)?;
        let name = validated_name(name.ok_or_else(|| Error::invalid("Dashboard name is required."))?)?;
        let fields = DashboardFields::new_draft(&name);
        let dashboard =
            dashi_store::insert_dashboard(&self.store, actor.org_id(), actor.user_id(), &fields, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "create", "dashboard", Some(dashboard.id.to_string()))
            .await?;
        self.dashboard_details(actor, dashboard).await
    }

    /// `POST /api/dashboards/<id>`: changes what the input names, as a new version. A `version`
    /// other than the current one is a conflict (409) and changes nothing.
    pub async fn update_dashboard(
        &self,
        actor: &Actor,
        id: DashboardId,
        input: &DashboardInput,
    ) -> Result<DashboardDetails> {
        let current = self.editable_dashboard(actor, id).await?;
        let mut fields = current.fields.clone();
        if let Some(name) = &input.name {
            fields.name = validated_name(name)?;
        }
        if let Some(layout) = &input.layout {
            fields.layout = layout.clone();
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
        if let Some(enabled) = input.dashboard_filters_enabled {
            fields.dashboard_filters_enabled = enabled;
        }
        match &input.options {
            None => {}
            Some(options @ Value::Object(_)) => fields.options = options.clone(),
            Some(Value::Null) => fields.options = Value::Object(Default::default()),
            Some(_) => return Err(Error::invalid("options must be a JSON object.")),
        }
        if input.version.is_some_and(|version| version != current.version) {
            return Err(conflict());
        }
        let dashboard = match dashi_store::update_dashboard(&self.store, &current, &fields, Utc::now()).await {
            Err(dashi_store::Error::VersionConflict { .. }) => return Err(conflict()),
            other => other?,
        };
        self.record_event(actor.org_id(), Some(&actor.user), "edit", "dashboard", Some(id.to_string())).await?;
        self.dashboard_details(actor, dashboard).await
    }

    /// `DELETE /api/dashboards/<id>`: archives the dashboard.
    pub async fn archive_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<DashboardDetails> {
        // Redash compat: Redash archives with `edit_dashboard` alone; we also require
        // `can_modify`, so a member cannot archive someone else's dashboard they may not edit.
        let current = self.editable_dashboard(actor, id).await?;
        let fields = DashboardFields { is_archived: true, ..current.fields.clone() };
        let dashboard = match dashi_store::update_dashboard(&self.store, &current, &fields, Utc::now()).await {
            Err(dashi_store::Error::VersionConflict { .. }) => return Err(conflict()),
            other => other?,
        };
        dashi_store::deactivate_share_keys(&self.store, id, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "archive", "dashboard", Some(id.to_string())).await?;
        self.dashboard_details(actor, dashboard).await
    }

    /// `POST /api/dashboards/<id>/fork`: a draft copy owned by the actor, named
    /// "Copy of (#<id>) <name>", with copies of every widget.
    pub async fn fork_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<DashboardDetails> {
        actor.require(Permission::EditDashboard)?;
        actor.require(Permission::CreateDashboard)?;
        let original = self.dashboard_in_org(actor, id).await?;
        let name: String =
            format!("Copy of (#{}) {}", original.id, original.fields.name).chars().take(MAX_NAME_CHARS).collect();
        let copy = dashi_store::fork_dashboard(&self.store, &original, actor.user_id(), &name, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "fork", "dashboard", Some(id.to_string())).await?;
        self.dashboard_details(actor, copy).await
    }

    /// `POST|DELETE /api/dashboards/<id>/favorite`.
    pub async fn set_dashboard_favorite(&self, actor: &Actor, id: DashboardId, starred: bool) -> Result<()> {
        self.dashboard_in_org(actor, id).await?;
        if starred {
            dashi_store::add_favorite(
                &self.store,
                actor.org_id(),
                actor.user_id(),
                FavoriteKind::Dashboard,
                id.0,
                Utc::now(),
            )
            .await?;
        } else {
            dashi_store::remove_favorite(&self.store, actor.user_id(), FavoriteKind::Dashboard, id.0).await?;
        }
        self.record_event(actor.org_id(), Some(&actor.user), "favorite", "dashboard", Some(id.to_string())).await?;
        Ok(())
    }

    async fn shareable_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<Dashboard> {
        let dashboard = self.dashboard_in_org(actor, id).await?;
        if actor.is_admin() || actor.user_id() == dashboard.user_id {
            Ok(dashboard)
        } else {
            Err(Error::Forbidden("You don't have permission to edit this resource.".into()))
        }
    }

    /// `POST /api/dashboards/<id>/share`: the dashboard's active share key, made if it has none.
    pub async fn share_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<ShareKey> {
        let dashboard = self.shareable_dashboard(actor, id).await?;
        if dashboard.fields.is_archived {
            return Err(Error::invalid("An archived dashboard cannot be shared."));
        }
        let key = match dashi_store::share_key_of(&self.store, id).await? {
            Some(key) => key,
            None => {
                dashi_store::insert_share_key(
                    &self.store,
                    actor.org_id(),
                    id,
                    actor.user_id(),
                    &generate_api_key(),
                    Utc::now(),
                )
                .await?
            }
        };
        self.record_event(actor.org_id(), Some(&actor.user), "activate_api_key", "dashboard", Some(id.to_string()))
            .await?;
        Ok(key)
    }

    /// `DELETE /api/dashboards/<id>/share`: the public link stops working at once.
    pub async fn unshare_dashboard(&self, actor: &Actor, id: DashboardId) -> Result<()> {
        self.shareable_dashboard(actor, id).await?;
        dashi_store::deactivate_share_keys(&self.store, id, Utc::now()).await?;
        self.record_event(actor.org_id(), Some(&actor.user), "deactivate_api_key", "dashboard", Some(id.to_string()))
            .await?;
        Ok(())
    }

    /// `GET /api/dashboards/public/<token>`: the shared dashboard, for anyone with its active
    /// token. An archived dashboard is not served.
    pub async fn public_dashboard(&self, token: &str) -> Result<PublicDashboard> {
        let key = dashi_store::share_key_by_token(&self.store, token).await?.ok_or(Error::NotFound("dashboard"))?;
        let dashboard = dashi_store::dashboard_by_id(&self.store, key.org_id, key.dashboard_id)
            .await?
            .filter(|dashboard| !dashboard.fields.is_archived)
            .ok_or(Error::NotFound("dashboard"))?;
        let mut widgets = Vec::new();
        for widget in dashi_store::widgets_of(&self.store, dashboard.id).await? {
            let shown = self.shown_visualization(key.org_id, &widget).await?;
            widgets.push((widget, shown));
        }
        let event = dashi_store::NewEvent {
            org_id: key.org_id,
            user_id: None,
            action: "view".into(),
            object_type: "dashboard".into(),
            object_id: Some(dashboard.id.to_string()),
            additional_properties: serde_json::json!({"api_key": key.api_key, "public": true}),
            created_at: Utc::now(),
        };
        dashi_store::record_event(&self.store, &event).await?;
        Ok(PublicDashboard { dashboard, widgets })
    }

    /// Whether the dashboard shows a visualization of the query (what a share token may read).
    pub(crate) async fn dashboard_shows(&self, dashboard_id: DashboardId, query_id: QueryId) -> Result<bool> {
        Ok(dashi_store::dashboard_shows_query(&self.store, dashboard_id, query_id).await?)
    }
}
