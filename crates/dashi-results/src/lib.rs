//! Dashi's results store: query results written while rows stream in, kept compressed, and served
//! back in every shape the API needs without ever holding a result whole.
//!
//! A stored result is one zstd frame of NDJSON: line 1 is `{"columns":[{"name","friendly_name",
//! "type"}…]}`, then one compact JSON array per row, cells in Redash's JSON encoding. Small results
//! (64 KiB compressed by default) are returned inline for the metadata row; the rest live in a
//! folder (the embedded default) or an S3-compatible bucket.
//!
//! Read [`ResultsStore`] first (`store.rs`: backends, blob names, cleanup), then [`ResultWriter`]
//! (`writer.rs`: the [`dashi_core::RowSink`] runners stream into), then `stream.rs` (how every
//! reader decodes on a blocking thread into a [`ResultStream`]). The readers, one module each, are
//! methods on [`ResultsStore`]: `redash.rs` (Redash's `query_result` JSON), `dsv.rs` (CSV/TSV),
//! `xlsx.rs`, `ndjson.rs` (the compact form and the raw zstd bytes) and `page.rs` (a sorted page
//! for the grid).
//!
//! **Invariant:** no code here builds a `serde_json::Value` for more than one page of rows; memory
//! per write or read is one row plus fixed buffers.

mod cells;
mod dsv;
mod error;
mod json;
mod ndjson;
mod page;
mod redash;
mod store;
mod stream;
mod writer;
mod xlsx;

pub use cells::CellRows;
pub use dsv::DateFormats;
pub use error::{Error, Result};
pub use page::{Page, PageRequest, Sort};
pub use redash::QueryResultEnvelope;
pub use store::{ResultsStore, S3Settings, StoreSettings, StoredObject, SweepReport};
pub use stream::ResultStream;
pub use writer::{ResultWriter, Storage, StoredResult, WriterOptions};
