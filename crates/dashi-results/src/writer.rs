//! The result writer: the [`RowSink`] runners stream into, producing the stored blob.
//!
//! Format (see the crate docs): line 1 is `{"columns":[…]}`, then one compact JSON array per row,
//! the whole compressed as one zstd frame while rows arrive. Cells are encoded straight from
//! [`Cell`]s into one reused line buffer; no JSON tree is built.
//!
//! Why a spool file and not a channel to a writer thread: [`RowSink`] is synchronous and called
//! from a runner's task, and zstd at level 1 compresses far faster than databases send rows, so a
//! second thread would buy little and add a hand-off per row. The compressed bytes go first to
//! memory; past the inline limit (64 KiB by default) they move to a temp file in the store's spool
//! folder. [`ResultWriter::finish`] then keeps a small result inline (bytes for the metadata row) or
//! publishes the file whole (a rename in a folder, an upload to a bucket). Memory stays at one row
//! plus zstd's buffers plus the inline limit; a dropped or failed writer leaves nothing stored.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use dashi_core::{Cell, Column, RowSink, SinkError};
use tempfile::NamedTempFile;
use tracing::debug;

use crate::error::{Error, Result};
use crate::json;
use crate::store::{ResultsStore, SPOOL_PREFIX, SPOOL_SUFFIX};

/// Limits and tuning for one result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// More rows than this make the row that crosses it fail with [`SinkError::TooLarge`].
    pub max_rows: Option<u64>,
    /// More compressed bytes than this fail the row that crosses it with [`SinkError::TooLarge`].
    /// Checked as compressed output appears, so the stored size can exceed it by up to one zstd
    /// block (128 KiB of rows before compression).
    pub max_bytes: Option<u64>,
    /// Results whose compressed size is at most this stay inline in the metadata row.
    pub inline_limit: u64,
    /// zstd level; 1 is fastest and, on typical results, barely larger than 3.
    pub compression_level: i32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { max_rows: None, max_bytes: None, inline_limit: 64 * 1024, compression_level: 1 }
    }
}

/// Where a finished result's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// The whole compressed blob, for the `query_results.inline_data` column.
    Inline(Vec<u8>),
    /// A blob in the results store.
    Object { location: String },
}

impl Storage {
    /// The storage a metadata row describes: its inline bytes, else its object location.
    pub fn from_parts(inline: Option<&[u8]>, location: Option<&str>) -> Option<Storage> {
        match (inline, location) {
            (Some(bytes), _) => Some(Storage::Inline(bytes.to_vec())),
            (None, Some(location)) => Some(Storage::Object { location: location.to_owned() }),
            (None, None) => None,
        }
    }
}

/// A finished result: what the metadata row records.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub storage: Storage,
    pub row_count: u64,
    /// Compressed size in bytes (what the store holds).
    pub byte_size: u64,
    pub columns: Vec<Column>,
}

/// Streams one result into the store. Call [`RowSink::columns`] once, [`RowSink::row`] per row,
/// then [`ResultWriter::finish`]. Dropping it unfinished stores nothing.
pub struct ResultWriter {
    store: ResultsStore,
    location: String,
    options: WriterOptions,
    encoder: Option<zstd::stream::write::Encoder<'static, Spool>>,
    line: Vec<u8>,
    columns: Option<Vec<Column>>,
    row_count: u64,
    has_failed: bool,
}

impl ResultWriter {
    pub(crate) fn new(store: ResultsStore, location: String, options: WriterOptions) -> ResultWriter {
        let spool = Spool::new(store.spool_dir().to_path_buf(), options.inline_limit);
        ResultWriter {
            store,
            location,
            options,
            encoder: Some(Spool::encoder(spool, options.compression_level)),
            line: Vec::with_capacity(1024),
            columns: None,
            row_count: 0,
            has_failed: false,
        }
    }

    /// Rows written so far.
    pub fn row_count(&self) -> u64 {
        self.row_count
    }

    /// Completes the blob and stores it: inline when small, else in the store. A result with no
    /// column list (a statement that returns nothing) is stored with zero columns.
    ///
    /// Errors: [`Error::WriterFailed`] after a refused row; [`Error::Io`] or [`Error::Store`] when
    /// the bytes cannot be written, in which case nothing is stored.
    pub async fn finish(mut self) -> Result<StoredResult> {
        if self.has_failed {
            return Err(Error::WriterFailed);
        }
        if self.columns.is_none() {
            self.write_header(&[])?;
        }
        let encoder = self.encoder.take().ok_or(Error::WriterFailed)?;
        let spool = encoder.finish()?;
        let byte_size = spool.written;
        let columns = self.columns.take().unwrap_or_default();
        let storage = match spool.into_target()? {
            SpoolTarget::Memory(bytes) => Storage::Inline(bytes),
            SpoolTarget::File(file) => {
                self.store.persist(&self.location, file).await?;
                Storage::Object { location: self.location.clone() }
            }
        };
        let is_inline = matches!(storage, Storage::Inline(_));
        debug!(row_count = self.row_count, byte_size, is_inline, "result stored");
        Ok(StoredResult { storage, row_count: self.row_count, byte_size, columns })
    }

    fn write_header(&mut self, columns: &[Column]) -> Result<()> {
        self.line.clear();
        self.line.extend_from_slice(b"{\"columns\":");
        json::push_columns(&mut self.line, columns);
        self.line.extend_from_slice(b"}\n");
        self.columns = Some(columns.to_vec());
        self.write_line()
    }

    fn write_line(&mut self) -> Result<()> {
        let encoder = self.encoder.as_mut().ok_or(Error::WriterFailed)?;
        encoder.write_all(&self.line)?;
        Ok(())
    }

    fn check_bytes(&self) -> Result<(), SinkError> {
        let written = self.encoder.as_ref().map_or(0, |encoder| encoder.get_ref().written);
        match self.options.max_bytes {
            Some(max_bytes) if written > max_bytes => Err(SinkError::TooLarge { limit: format!("{max_bytes} bytes") }),
            _ => Ok(()),
        }
    }

    /// Marks the writer failed so later calls and `finish` refuse, and drops the spool.
    fn fail(&mut self, error: SinkError) -> SinkError {
        self.has_failed = true;
        self.encoder = None;
        error
    }
}

fn write_error(error: Error) -> SinkError {
    SinkError::Write(Box::new(error))
}

impl RowSink for ResultWriter {
    fn columns(&mut self, columns: &[Column]) -> Result<(), SinkError> {
        if self.has_failed {
            return Err(write_error(Error::WriterFailed));
        }
        if self.columns.is_some() {
            return Err(self.fail(write_error(Error::ColumnsOutOfOrder)));
        }
        self.write_header(columns).map_err(|error| self.fail(write_error(error)))
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), SinkError> {
        if self.has_failed {
            return Err(write_error(Error::WriterFailed));
        }
        let Some(columns) = &self.columns else {
            return Err(self.fail(write_error(Error::ColumnsOutOfOrder)));
        };
        if cells.len() != columns.len() {
            let shape = Error::RowShape { expected: columns.len(), got: cells.len() };
            return Err(self.fail(write_error(shape)));
        }
        if let Some(max_rows) = self.options.max_rows
            && self.row_count >= max_rows
        {
            return Err(self.fail(SinkError::TooLarge { limit: format!("{max_rows} rows") }));
        }
        self.line.clear();
        self.line.push(b'[');
        for (cell_idx, cell) in cells.iter().enumerate() {
            if cell_idx > 0 {
                self.line.push(b',');
            }
            json::push_cell(&mut self.line, cell);
        }
        self.line.extend_from_slice(b"]\n");
        self.write_line().map_err(|error| self.fail(write_error(error)))?;
        self.row_count += 1;
        self.check_bytes().map_err(|error| self.fail(error))
    }
}

/// Where compressed bytes go: memory up to the inline limit, then a spool file.
struct Spool {
    memory: Vec<u8>,
    file: Option<BufWriter<NamedTempFile>>,
    written: u64,
    inline_limit: u64,
    dir: PathBuf,
}

enum SpoolTarget {
    Memory(Vec<u8>),
    File(NamedTempFile),
}

impl Spool {
    fn new(dir: PathBuf, inline_limit: u64) -> Spool {
        Spool { memory: Vec::new(), file: None, written: 0, inline_limit, dir }
    }

    fn encoder(spool: Spool, level: i32) -> zstd::stream::write::Encoder<'static, Spool> {
        let mut encoder =
            zstd::stream::write::Encoder::new(spool, level).expect("a zstd context is only refused for lack of memory");
        // A checksum lets readers tell a damaged blob from a short result.
        encoder.include_checksum(true).expect("the checksum flag is a valid zstd parameter");
        encoder
    }

    fn into_target(self) -> std::io::Result<SpoolTarget> {
        match self.file {
            None => Ok(SpoolTarget::Memory(self.memory)),
            Some(file) => Ok(SpoolTarget::File(file.into_inner().map_err(|error| error.into_error())?)),
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.file.is_none() && (self.memory.len() + buf.len()) as u64 > self.inline_limit {
            let file = tempfile::Builder::new().prefix(SPOOL_PREFIX).suffix(SPOOL_SUFFIX).tempfile_in(&self.dir)?;
            let mut file = BufWriter::with_capacity(128 * 1024, file);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}
