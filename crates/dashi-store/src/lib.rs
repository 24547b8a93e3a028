//! The metadata store: every durable object of Dashi, on PostgreSQL or SQLite.
//!
//! Read [`db`](Store) first (pools, dialects, migrations), then one module per table family.
//! Each function takes the [`Store`] and runs portable SQL on the right pool; nothing here
//! knows HTTP or Redash's JSON. Migrations live in `migrations/{postgres,sqlite}` with the same
//! version numbers, checked by a parity test.

mod acl;
mod alert;
mod change;
mod dashboard;
mod data_source;
mod db;
mod destination;
mod error;
mod event;
mod favorite;
mod group;
mod job;
mod lease;
mod org;
mod outbox;
mod page;
mod process;
mod query;
mod query_result;
mod schedule;
mod session;
mod share;
mod snippet;
mod status;
mod tx;
mod user;
mod visualization;
mod widget;

pub use acl::{AccessGrant, AclObject, access_grants, grant_access, has_access_grant, revoke_access};
pub use alert::{
    Alert, AlertFields, AlertId, Subscription, SubscriptionId, alert_by_id, alerts_on_result, alerts_on_text, delete_alert,
    delete_subscription, insert_alert, insert_subscription, list_alerts, subscription_by_id, subscriptions_of, update_alert,
};
pub use change::Change;
pub use dashboard::{
    Dashboard, DashboardFields, DashboardFilter, DashboardId, DashboardListing, DashboardOrder, DashboardScope,
    dashboard_by_id, dashboard_by_slug, dashboard_tag_counts, fork_dashboard, insert_dashboard, list_dashboards, slugify,
    update_dashboard,
};
pub use data_source::{
    DataSource, DataSourceFields, DataSourceId, cached_schema, data_source_by_id, delete_data_source,
    insert_data_source, link_group, list_data_sources, set_paused, store_schema, unlink_group, update_data_source,
};
pub use db::{Dialect, Pool, Store, StoreSettings, redact};
pub use error::{Error, Result};
pub use destination::{
    Destination, DestinationFields, DestinationId, delete_destination, destination_by_id, insert_destination,
    list_destinations, update_destination,
};
pub use event::{Event, NewEvent, events_with_action, list_events, prune_events, record_event};
pub use favorite::{FavoriteKind, add_favorite, is_favorite, remove_favorite};
pub use group::{Group, delete_group, group_by_id, group_by_name, insert_group, list_groups, rename_group};
pub use job::{
    Claim, Enqueued, Job, JobId, JobState, NewJob, Outcome, claim, due_job_ids, enqueue, finish, hand_back,
    is_cancel_requested,
    job_by_id, position_in_queue, reclaim_expired, renew, request_cancel, running_jobs,
};
pub use lease::{Lease, acquire_or_renew_lease, lease_holder, release_lease};
pub use org::{FirstOrg, Org, count_orgs, create_org_with_admin, org_by_id, org_by_slug, update_org_settings};
pub use outbox::{
    AlertTransition, Delivery, NewNotification, OutboxRow, apply_alert_transition, notification_jobs_in_flight, outbox_of_alert,
    outbox_row, pending_outbox_ids, record_delivery,
};
pub use page::{Page, PageRequest};
pub use process::{
    NewProcess, Presence, Process, ProcessHealth, ProcessRole, STORE_CALL_LIMIT, deregister_process, heartbeat_process,
    list_processes, prune_dead_processes, register_process,
};
pub use query_result::{
    NewQueryResult, QueryResult, complete_job_with_result, delete_query_results, latest_query_result,
    query_result_by_id, referenced_locations, unused_query_results,
};
pub use query::{
    NewQuery, Query, QueryFields, QueryFilter, QueryId, QueryListing, QueryOrder, QueryScope, QueryUpdate, archive_query,
    has_query_grant, insert_query, link_latest_result, list_queries, query_by_id, query_fields_at, query_tag_counts, query_versions,
    set_query_api_key, unschedule_query, update_query,
};
pub use schedule::{
    DueQuery, REFRESH_RUN_KEY_PREFIX, advance_schedule, due_scheduled_queries, expired_schedules, prune_finished_jobs,
    refresh_run_key, schema_refresh_sources, stale_queued_jobs,
};
pub use status::{
    Backlog, Backlogs, ObjectCounts, backlogs, data_source_names, database_sizes, object_counts, outdated_query_ids,
};
pub use session::{
    Session, delete_session, delete_sessions_of_user, extend_session, insert_session, live_session, prune_sessions,
};
pub use share::{
    ShareKey, dashboard_shows_query, deactivate_share_keys, insert_share_key, query_by_api_key, share_key_by_token,
    share_key_of,
};
pub use snippet::{
    QuerySnippet, SnippetFields, SnippetId, delete_snippet, insert_snippet, list_snippets, snippet_by_id, update_snippet,
};
pub use user::{
    NewUser, User, UserChanges, UserDetails, UserFilter, UserOrder, add_member, delete_user, insert_user, list_users,
    members_of, remove_member, set_api_key, set_disabled, touch_active_at, update_user, user_by_api_key,
    user_by_email, user_by_id,
};
pub use visualization::{
    NewVisualization, Visualization, VisualizationId, delete_visualization, insert_visualization, update_visualization,
    visualization_by_id, visualizations_of,
};
pub use widget::{NewWidget, Widget, WidgetId, delete_widget, insert_widget, update_widget, widget_by_id, widgets_of};
