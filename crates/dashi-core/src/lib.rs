//! Dashi's domain core: the words every other crate shares, with no IO and no runtime.
//!
//! Read [`fault`] first (how every crate's error says what kind of failure it is), then
//! [`permission`] (Redash's permission strings and the built-in groups) and [`secret`]
//! (data-source and destination options at rest, byte-compatible with Redash).

mod api_key;
mod bind;
mod fault;
mod id;
mod job_kind;
mod kind;
mod mustache;
mod parameter;
mod password;
mod permission;
mod query_hash;
mod queue;
mod result;
mod schedule;
mod secret;
mod sql_format;
mod user;

pub use api_key::generate_api_key;
pub use bind::{BoundText, Placeholders};
pub use fault::{Classify, Fault};
pub use job_kind::{
    CHECK_ALERTS_JOB, CLEANUP_RESULTS_JOB, CheckAlertsPayload, CleanupResultsPayload, DataSourcePayload, EXECUTE_QUERY_JOB,
    ExecuteQueryPayload, PRUNE_EVENTS_JOB, PruneEventsPayload, REFRESH_SCHEMA_JOB, SEND_NOTIFICATION_JOB,
    SendNotificationPayload, TEST_CONNECTION_JOB,
};
pub use id::{GroupId, OrgId, UserId};
pub use kind::KindInfo;
pub use mustache::{Escape, MustacheError, Node, Template};
pub use parameter::{
    AppliedQuery, ApplyContext, BoundValue, DropdownValues, EnumOptions, MultiValuesOptions,
    ParameterDefinition, ParameterError, ParameterType, Parameters,
};
pub use password::{PasswordCheck, hash_password, verify_password, MIN_PASSWORD_LENGTH};
pub use permission::{
    ADMIN_GROUP_NAME, ADMIN_GROUP_PERMISSIONS, DEFAULT_GROUP_NAME, DEFAULT_GROUP_PERMISSIONS,
    GroupType, Permission,
};
pub use query_hash::{apply_auto_limit, query_hash, run_hash};
pub use queue::{Queue, UnknownQueue};
pub use result::{Cell, Column, ColumnType, RowSink, SinkError, dedupe_column_names};
pub use schedule::{CronRepeat, Repeat, Schedule, ScheduleError, delayed_by_failures};
pub use secret::{OptionsCipher, SecretError};
pub use sql_format::format_sql;
pub use user::{gravatar_url, is_plausible_email, normalize_email};
