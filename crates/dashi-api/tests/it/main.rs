//! API tests: the router called without a socket, on both metadata backends.

mod accounts;
mod acl;
mod alerts;
mod dashboards;
mod data_sources;
mod objects;
mod permissions;
mod queries;
mod runs;
mod sharing;
mod snippets;
mod status;
mod support;
mod visualizations;
mod web;
mod widgets;
