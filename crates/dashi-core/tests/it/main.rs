//! dashi-core's integration tests, one binary: a module per topic.

mod mustache_spec;
