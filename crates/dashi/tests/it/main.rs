//! Process tests: the real `dashi` binary started with a temporary data folder and a free port,
//! driven over HTTP and signals as an operator or a container platform would.

mod account;
mod drill_scheduler;
mod drill_worker;
mod migrate;
mod role;
mod startup;
mod support;
