//! Redash's JSON shape for a stored result, produced while streaming: each stored row array is
//! rewritten into an object keyed by column name, one line at a time.
//!
//! Redash compat: `GET /api/query_results/<id>` answers
//! `{"query_result": {"id", "query_hash", "query", "data": {"columns", "rows"}, "data_source_id",
//! "runtime", "retrieved_at"}}` in that key order, with `retrieved_at` in Redash's timestamp form.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::json;
use crate::store::ResultsStore;
use crate::stream::{ChunkWriter, Lines, ResultStream, split_cells};
use crate::writer::Storage;

/// The metadata fields around `data` in Redash's `query_result` object; the caller reads them
/// from the `query_results` row.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResultEnvelope {
    pub id: i64,
    pub query_hash: String,
    /// The executed text.
    pub query: String,
    pub data_source_id: i64,
    /// Seconds.
    pub runtime: f64,
    pub retrieved_at: DateTime<Utc>,
}

impl ResultsStore {
    /// Streams `{"query_result": {…, "data": {"columns": […], "rows": [{…}…]}, …}}`.
    ///
    /// Errors before the first byte: [`crate::Error::NotFound`] when the blob is gone. A failure
    /// later ends the stream with an error item.
    pub async fn redash_query_result(&self, storage: &Storage, envelope: &QueryResultEnvelope) -> Result<ResultStream> {
        let (prefix, suffix) = envelope_text(envelope);
        ResultStream::spawn(self, storage, move |raw, out| {
            out.write_all(&prefix)?;
            write_data(raw, out)?;
            out.write_all(&suffix)?;
            Ok(())
        })
        .await
    }

    /// Streams only `{"columns": […], "rows": [{…}…]}`, for callers that build the envelope
    /// themselves (Redash sends API-key users only `data` and `retrieved_at`).
    pub async fn redash_data(&self, storage: &Storage) -> Result<ResultStream> {
        ResultStream::spawn(self, storage, write_data).await
    }
}

/// The JSON text before and after `data`.
fn envelope_text(envelope: &QueryResultEnvelope) -> (Vec<u8>, Vec<u8>) {
    let mut prefix = Vec::with_capacity(128 + envelope.query.len());
    prefix.extend_from_slice(b"{\"query_result\":{\"id\":");
    prefix.extend_from_slice(envelope.id.to_string().as_bytes());
    prefix.extend_from_slice(b",\"query_hash\":");
    json::push_str(&mut prefix, &envelope.query_hash);
    prefix.extend_from_slice(b",\"query\":");
    json::push_str(&mut prefix, &envelope.query);
    prefix.extend_from_slice(b",\"data\":");

    let mut suffix = Vec::with_capacity(128);
    suffix.extend_from_slice(b",\"data_source_id\":");
    suffix.extend_from_slice(envelope.data_source_id.to_string().as_bytes());
    suffix.extend_from_slice(b",\"runtime\":");
    serde_json::to_writer(&mut suffix, &envelope.runtime).expect("writing JSON into a Vec cannot fail");
    suffix.extend_from_slice(b",\"retrieved_at\":\"");
    json::push_datetime(&mut suffix, &envelope.retrieved_at.fixed_offset());
    suffix.extend_from_slice(b"\"}}");
    (prefix, suffix)
}

fn write_data(raw: Box<dyn std::io::Read + Send>, out: &mut ChunkWriter) -> Result<()> {
    let (columns, mut lines) = Lines::open(raw)?;
    let mut head = b"{\"columns\":".to_vec();
    json::push_columns(&mut head, &columns);
    head.extend_from_slice(b",\"rows\":[");
    out.write_all(&head)?;

    // `"name":` for each column, escaped once.
    let keys: Vec<Vec<u8>> = columns
        .iter()
        .map(|column| {
            let mut key = Vec::with_capacity(column.name.len() + 3);
            json::push_str(&mut key, &column.name);
            key.push(b':');
            key
        })
        .collect();
    let mut cells = Vec::with_capacity(columns.len());
    let mut row = Vec::with_capacity(1024);
    let mut is_first_row = true;
    while let Some(line) = lines.next_line()? {
        split_cells(line, columns.len(), &mut cells)?;
        row.clear();
        if !is_first_row {
            row.push(b',');
        }
        is_first_row = false;
        row.push(b'{');
        for (cell_idx, range) in cells.iter().enumerate() {
            if cell_idx > 0 {
                row.push(b',');
            }
            row.extend_from_slice(&keys[cell_idx]);
            row.extend_from_slice(&line[range.clone()]);
        }
        row.push(b'}');
        out.write_all(&row)?;
    }
    out.write_all(b"]}")?;
    Ok(())
}
