//! Redash's visualization-with-query, widget, dashboard, public dashboard and ACL dicts, and the
//! bodies clients send for them.

use dashi_app::{
    DashboardDetails, DashboardInput, DashboardParameter, ExecuteOutcome, GrantDetails, ListedDashboard,
    PublicDashboard, ShownVisualization, VisualizationInput, WidgetInput, WidgetRun, WidgetView,
};
use dashi_store::{Dashboard, User, Widget, slugify};
use serde_json::{Map, Value, json};

use super::query::{base_json, visualization_json};
use super::{optional_time, time, user_json};
use crate::error::ApiError;

fn object(body: Value) -> Result<Map<String, Value>, ApiError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("The request body must be a JSON object.")),
    }
}

fn string(body: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be a string."))),
    }
}

fn integer(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            value.as_i64().map(Some).ok_or_else(|| ApiError::bad_request(format!("{field} must be an integer.")))
        }
    }
}

fn boolean(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(_) => Err(ApiError::bad_request(format!("{field} must be true or false."))),
    }
}

/// The body of `POST /api/visualizations[/<id>]` and the `query_id` it names (create only).
/// `id` and `query_id` are ignored on update, as Redash does.
pub(crate) fn visualization_input(body: Value) -> Result<(Option<i64>, VisualizationInput), ApiError> {
    let body = object(body)?;
    let description = match body.get("description") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(_) => return Err(ApiError::bad_request("description must be a string.")),
    };
    let input = VisualizationInput {
        type_name: string(&body, "type")?,
        name: string(&body, "name")?,
        description,
        options: body.get("options").cloned(),
    };
    Ok((integer(&body, "query_id")?, input))
}

/// A visualization with its query, as nested in a widget. The query is Redash's dict without
/// visualizations; owners are given by id.
pub(crate) fn visualization_with_query_json(shown: &ShownVisualization) -> Value {
    let mut query = base_json(&shown.query);
    // Redash compat: Redash nests the owner's user dict here; the UI reads only the ids.
    query.insert("user_id".into(), json!(shown.query.user_id.0));
    query.insert("last_modified_by_id".into(), json!(shown.query.last_modified_by_id.map(|id| id.0)));
    let mut dict = visualization_json(&shown.visualization);
    dict["query"] = Value::Object(query);
    dict
}

/// Redash's widget dict; a widget whose query the reader cannot see keeps only its place.
pub(crate) fn widget_json(view: &WidgetView) -> Value {
    let widget = &view.widget;
    if view.restricted {
        return json!({
            "id": widget.id.0,
            "width": widget.width,
            "dashboard_id": widget.dashboard_id.0,
            "options": widget.options,
            "created_at": time(widget.created_at),
            "updated_at": time(widget.updated_at),
            "restricted": true,
        });
    }
    let mut dict = json!({
        "id": widget.id.0,
        "width": widget.width,
        "options": widget.options,
        "dashboard_id": widget.dashboard_id.0,
        "text": widget.text.clone().unwrap_or_default(),
        "updated_at": time(widget.updated_at),
        "created_at": time(widget.created_at),
    });
    if let Some(shown) = &view.visualization {
        dict["visualization"] = visualization_with_query_json(shown);
    }
    dict
}

/// The owner as Redash nests it in a dashboard dict.
fn owner_json(owner: Option<&User>) -> Value {
    match owner {
        Some(user) => {
            let full = user_json(user, None, false);
            json!({"id": full["id"], "name": full["name"], "email": full["email"], "profile_image_url": full["profile_image_url"]})
        }
        None => Value::Null,
    }
}

fn base_dashboard_json(dashboard: &Dashboard, owner: Option<&User>) -> Map<String, Value> {
    let fields = &dashboard.fields;
    let dict = json!({
        "id": dashboard.id.0,
        // Redash compat: the slug is computed from the current name, not the stored one.
        "slug": slugify(&fields.name),
        "name": fields.name,
        "user_id": dashboard.user_id.0,
        "user": owner_json(owner),
        "layout": fields.layout,
        "dashboard_filters_enabled": fields.dashboard_filters_enabled,
        "widgets": null,
        "options": fields.options,
        "is_archived": fields.is_archived,
        "is_draft": fields.is_draft,
        "tags": fields.tags,
        "updated_at": time(dashboard.updated_at),
        "created_at": time(dashboard.created_at),
        "version": dashboard.version,
    });
    match dict {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The public link of a share token.
pub(crate) fn public_url(base_url: Option<&str>, api_key: &str) -> String {
    format!("{}/public/dashboards/{api_key}", base_url.unwrap_or_default().trim_end_matches('/'))
}

/// `GET /api/dashboards/<id>` and the other single-dashboard answers: with `widgets`,
/// `can_edit`, `is_favorite`, and `public_url`/`api_key` while it is shared (owner and admins).
pub(crate) fn dashboard_json(details: &DashboardDetails, base_url: Option<&str>) -> Value {
    let mut dict = base_dashboard_json(&details.dashboard, details.owner.as_ref());
    dict.insert("widgets".into(), details.widgets.iter().map(widget_json).collect());
    dict.insert("can_edit".into(), json!(details.can_edit));
    dict.insert("is_favorite".into(), json!(details.is_favorite));
    if let Some(share) = &details.share {
        dict.insert("public_url".into(), json!(public_url(base_url, &share.api_key)));
        dict.insert("api_key".into(), json!(share.api_key));
    }
    Value::Object(dict)
}

/// A dashboard in a list: `widgets: null`, with `is_favorite` and `starred_at`.
pub(crate) fn listed_dashboard_json(item: &ListedDashboard) -> Value {
    let mut dict = base_dashboard_json(&item.listing.dashboard, item.owner.as_ref());
    dict.insert("is_favorite".into(), json!(item.listing.starred_at.is_some()));
    dict.insert("starred_at".into(), optional_time(item.listing.starred_at));
    Value::Object(dict)
}

fn public_widget_json(widget: &Widget, shown: Option<&ShownVisualization>) -> Value {
    let mut dict = json!({
        "id": widget.id.0,
        "width": widget.width,
        "options": widget.options,
        "text": widget.text.clone().unwrap_or_default(),
        "updated_at": time(widget.updated_at),
        "created_at": time(widget.created_at),
    });
    if let Some(shown) = shown {
        let visualization = &shown.visualization;
        let query = &shown.query;
        // Only what the public page draws: never the SQL text, the data source or the keys.
        dict["visualization"] = json!({
            "id": visualization.id.0,
            "type": visualization.type_name,
            "name": visualization.name,
            "description": visualization.description,
            "options": visualization.options,
            "updated_at": time(visualization.updated_at),
            "created_at": time(visualization.created_at),
            "query": {
                "id": query.id.0,
                "name": query.name,
                "description": query.description,
                "options": query.options,
            },
        });
    }
    dict
}

/// `GET /api/dashboards/public/<token>`.
pub(crate) fn public_dashboard_json(public: &PublicDashboard) -> Value {
    let fields = &public.dashboard.fields;
    json!({
        "name": fields.name,
        "layout": fields.layout,
        "dashboard_filters_enabled": fields.dashboard_filters_enabled,
        "updated_at": time(public.dashboard.updated_at),
        "created_at": time(public.dashboard.created_at),
        "options": fields.options,
        "widgets": public.widgets.iter().map(|(widget, shown)| public_widget_json(widget, shown.as_ref())).collect::<Vec<_>>(),
    })
}

/// Our embed answer: one visualization with its query's name, description and options.
pub(crate) fn embedded_visualization_json(shown: &ShownVisualization) -> Value {
    let mut dict = visualization_json(&shown.visualization);
    dict["query"] = json!({
        "id": shown.query.id.0,
        "name": shown.query.name,
        "description": shown.query.description,
        "options": shown.query.options,
    });
    dict
}

/// One dashboard-level parameter: Redash's parameter definition under the dashboard's name for
/// it, plus the widget parameters it feeds.
pub(crate) fn dashboard_parameter_json(parameter: &DashboardParameter) -> Value {
    let mut dict = serde_json::to_value(&parameter.definition).unwrap_or_else(|_| json!({}));
    dict["name"] = json!(parameter.name);
    dict["mappings"] = parameter
        .mapped
        .iter()
        .map(|mapped| json!({"widget_id": mapped.widget_id.0, "query_id": mapped.query_id.0, "parameter": mapped.parameter}))
        .collect();
    dict
}

/// What refreshing one widget did: `{"job": …}`, a cached `query_result_id`, or an `error`.
pub(crate) fn widget_run_json(run: &WidgetRun) -> Value {
    let mut dict = json!({"widget_id": run.widget_id.0, "query_id": run.query_id.0});
    match &run.outcome {
        Ok(ExecuteOutcome::Cached(result)) => dict["query_result_id"] = json!(result.id),
        // `job_json` is the whole `{"job": …}` envelope; keep its inside.
        Ok(ExecuteOutcome::Job(status)) => dict["job"] = super::job_json(status)["job"].take(),
        Err(message) => dict["error"] = json!(message),
    }
    dict
}

/// The body of `POST /api/dashboards/<id>`: only the fields Redash lets a client change.
pub(crate) fn dashboard_input(body: Value) -> Result<DashboardInput, ApiError> {
    let body = object(body)?;
    Ok(DashboardInput {
        name: string(&body, "name")?,
        layout: body.get("layout").cloned(),
        version: integer(&body, "version")?,
        tags: body.get("tags").cloned(),
        is_draft: boolean(&body, "is_draft")?,
        is_archived: boolean(&body, "is_archived")?,
        dashboard_filters_enabled: boolean(&body, "dashboard_filters_enabled")?,
        options: body.get("options").cloned(),
    })
}

/// The name in `POST /api/dashboards`.
pub(crate) fn dashboard_name(body: Value) -> Result<Option<String>, ApiError> {
    string(&object(body)?, "name")
}

/// The body of `POST /api/widgets`.
pub(crate) fn widget_input(body: Value) -> Result<WidgetInput, ApiError> {
    let body = object(body)?;
    Ok(WidgetInput {
        dashboard_id: integer(&body, "dashboard_id")?
            .ok_or_else(|| ApiError::bad_request("dashboard_id is required."))?,
        visualization_id: integer(&body, "visualization_id")?,
        text: string(&body, "text")?,
        width: integer(&body, "width")?,
        options: body.get("options").cloned(),
    })
}

/// The body of `POST /api/widgets/<id>`: Redash requires both `text` and `options`.
pub(crate) fn widget_update(body: Value) -> Result<(Option<String>, Value), ApiError> {
    let body = object(body)?;
    let options = body.get("options").cloned().ok_or_else(|| ApiError::bad_request("options is required."))?;
    if !body.contains_key("text") {
        return Err(ApiError::bad_request("text is required."));
    }
    Ok((string(&body, "text")?, options))
}

/// The body of the ACL routes: `{access_type, user_id}`.
pub(crate) fn acl_input(body: Value) -> Result<(String, i64), ApiError> {
    let body = object(body)?;
    let access_type = string(&body, "access_type")?.ok_or_else(|| ApiError::bad_request("Unknown access type."))?;
    let user_id = integer(&body, "user_id")?.ok_or_else(|| ApiError::bad_request("User not found."))?;
    Ok((access_type, user_id))
}

/// Redash's answer to a grant.
pub(crate) fn grant_json(details: &GrantDetails) -> Value {
    let grant = &details.grant;
    json!({
        "id": grant.id,
        "object_id": grant.object_id,
        "object_type": grant.object_type,
        "access_type": grant.access_type,
        "grantor": grant.grantor_id.0,
        "grantee": grant.grantee_id.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_typed_with_clear_messages() {
        let message =
            |result: Result<(Option<i64>, VisualizationInput), ApiError>| result.unwrap_err().message().to_owned();
        assert_eq!(message(visualization_input(json!([]))), "The request body must be a JSON object.");
        assert_eq!(message(visualization_input(json!({"query_id": "x"}))), "query_id must be an integer.");
        let (query_id, input) =
            visualization_input(json!({"query_id": 4, "type": "CHART", "options": {"a": [1]}})).unwrap();
        assert_eq!(query_id, Some(4));
        assert_eq!(input.options, Some(json!({"a": [1]})));
        assert_eq!(widget_input(json!({"text": "x"})).unwrap_err().message(), "dashboard_id is required.");
        assert_eq!(widget_update(json!({"text": "x"})).unwrap_err().message(), "options is required.");
        assert_eq!(acl_input(json!({"user_id": 3})).unwrap_err().message(), "Unknown access type.");
        assert_eq!(public_url(Some("https://d.example/"), "k"), "https://d.example/public/dashboards/k");
    }
}
