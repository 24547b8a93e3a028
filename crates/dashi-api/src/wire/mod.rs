//! Redash's JSON shapes, built from domain types by explicit conversions.
//!
//! Domain types never derive `Serialize` for the API's sake; every field name and format a
//! Redash client reads is spelled out here.

mod alert;
mod dashboard;
mod data_source;
mod page;
mod query;
mod status;
mod user;

pub(crate) use alert::{
    alert_input, alert_json, destination_input, destination_json, destination_kind_json, event_json, full_destination_json,
    subscription_json,
};
pub(crate) use dashboard::{
    acl_input, dashboard_input, dashboard_json, dashboard_name, dashboard_parameter_json, embedded_visualization_json, grant_json,
    listed_dashboard_json, public_dashboard_json, public_url, visualization_input, widget_input, widget_json, widget_run_json,
    widget_update,
};
pub(crate) use data_source::{data_source_json, full_data_source_json, group_data_source_json, job_json, kind_json};
pub(crate) use page::{PageParams, paginated};
pub(crate) use query::{
    base_json, listed_query_json, query_details_json, query_input, query_version_json, recent_query_json, snippet_input,
    snippet_json, visualization_json,
};
pub(crate) use status::{rq_status_json, status_json};
pub(crate) use user::{group_json, user_json};

use chrono::{DateTime, SecondsFormat, Utc};

/// Redash compat: times are ISO 8601 with microseconds and a `+00:00` offset, as Python's
/// `isoformat()` writes them.
pub(crate) fn time(value: DateTime<Utc>) -> String {
    value.to_rfc3339_opts(SecondsFormat::Micros, false)
}

pub(crate) fn optional_time(value: Option<DateTime<Utc>>) -> serde_json::Value {
    value.map(time).map(serde_json::Value::String).unwrap_or(serde_json::Value::Null)
}
