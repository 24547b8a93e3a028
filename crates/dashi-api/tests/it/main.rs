//! API tests: the router called without a socket, on both metadata backends.

mod accounts;
mod data_sources;
mod permissions;
mod queries;
mod runs;
mod snippets;
mod status;
mod support;
