//! API tests: the router called without a socket, on both metadata backends.

mod accounts;
mod alerts;
mod acl;
mod dashboards;
mod data_sources;
mod objects;
mod permissions;
mod queries;
mod sharing;
mod runs;
mod snippets;
mod status;
mod support;
mod visualizations;
mod widgets;
