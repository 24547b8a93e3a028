//! One module per area; each exposes `routes()` with its paths at the top.

pub(crate) mod acl;
pub(crate) mod admin;
pub(crate) mod alerts;
pub(crate) mod dashboards;
pub(crate) mod data_sources;
pub(crate) mod destinations;
pub(crate) mod embeds;
pub(crate) mod events;
pub(crate) mod groups;
pub(crate) mod jobs;
pub(crate) mod pages;
pub(crate) mod queries;
pub(crate) mod query_results;
pub(crate) mod query_runs;
pub(crate) mod session;
pub(crate) mod snippets;
pub(crate) mod status;
pub(crate) mod ui;
pub(crate) mod users;
pub(crate) mod visualizations;
pub(crate) mod web;
pub(crate) mod widgets;
