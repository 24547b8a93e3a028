//! Reading a stored result back: the chunk stream every download returns, the blocking thread
//! that fills it, and the line-by-line decoder of the stored format.
//!
//! Every reader runs on a `spawn_blocking` thread: it decompresses, rewrites one line at a time
//! into a 64 KiB output buffer and hands full buffers to the async side through a channel of a few
//! slots. When the client goes away the channel closes and the thread stops at its next send. So
//! memory per download is one line, one output buffer, the channel's slots and zstd's window,
//! whatever the result's size, and no async worker thread does the CPU work.

use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use dashi_core::{Column, ColumnType};
use futures_core::Stream;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::store::ResultsStore;
use crate::writer::Storage;

/// Size of one chunk handed to the client.
const CHUNK_SIZE: usize = 64 * 1024;
/// Chunks produced ahead of the client.
const CHANNEL_DEPTH: usize = 4;

/// A download in progress: chunks of the output, ready for `axum::body::Body::from_stream`.
/// An error item ends the stream (the reader stopped); dropping the stream stops the reader.
pub struct ResultStream {
    inner: Inner,
}

enum Inner {
    Thread { receiver: mpsc::Receiver<Result<Bytes>>, task: Option<JoinHandle<()>> },
    Boxed(futures_util::stream::BoxStream<'static, Result<Bytes>>),
}

impl ResultStream {
    pub(crate) fn from_boxed(stream: futures_util::stream::BoxStream<'static, Result<Bytes>>) -> ResultStream {
        ResultStream { inner: Inner::Boxed(stream) }
    }

    /// Runs `job` on a blocking thread with the stored (compressed) bytes and an output sink.
    /// Returns once the stored bytes are open, so a missing blob is an error here (a 404 for the
    /// API), not a broken download.
    pub(crate) async fn spawn<F>(store: &ResultsStore, storage: &Storage, job: F) -> Result<ResultStream>
    where
        F: FnOnce(Box<dyn Read + Send>, &mut ChunkWriter) -> Result<()> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let (opened_sender, opened) = tokio::sync::oneshot::channel();
        let store = store.clone();
        let storage = storage.clone();
        let task = tokio::task::spawn_blocking(move || {
            let raw = match store.open_blocking(&storage) {
                Ok(raw) => raw,
                Err(error) => {
                    let _ = opened_sender.send(Err(error));
                    return;
                }
            };
            if opened_sender.send(Ok(())).is_err() {
                return;
            }
            let mut out = ChunkWriter { buffer: Vec::with_capacity(CHUNK_SIZE), sender };
            if let Err(error) = job(raw, &mut out).and_then(|()| out.send()) {
                // Fails only when the client is gone, and then nobody needs the error.
                let _ = out.sender.blocking_send(Err(error));
            }
        });
        match opened.await {
            Ok(Ok(())) => Ok(ResultStream { inner: Inner::Thread { receiver, task: Some(task) } }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(Error::TaskFailed),
        }
    }
}

impl Stream for ResultStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.inner {
            Inner::Boxed(stream) => stream.as_mut().poll_next(cx),
            Inner::Thread { receiver, task } => match receiver.poll_recv(cx) {
                Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
                Poll::Pending => Poll::Pending,
                // The sender is gone: the thread returned or panicked. A panic must not look like
                // the end of a complete download.
                Poll::Ready(None) => {
                    let Some(handle) = task else { return Poll::Ready(None) };
                    match Pin::new(handle).poll(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(joined) => {
                            *task = None;
                            match joined {
                                Ok(()) => Poll::Ready(None),
                                Err(_) => Poll::Ready(Some(Err(Error::TaskFailed))),
                            }
                        }
                    }
                }
            },
        }
    }
}

/// The output side of a reader thread: buffers writes and sends them in chunks.
pub(crate) struct ChunkWriter {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Result<Bytes>>,
}

impl ChunkWriter {
    /// Sends what is buffered; fails with `BrokenPipe` once the client has gone.
    fn send(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_SIZE)));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| Error::Io(std::io::Error::from(std::io::ErrorKind::BrokenPipe)))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK_SIZE {
            self.send().map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decompresses a stored result and yields its lines (without the newline).
pub(crate) struct Lines {
    reader: BufReader<zstd::stream::read::Decoder<'static, BufReader<Box<dyn Read + Send>>>>,
    line: Vec<u8>,
}

#[derive(Deserialize)]
struct StoredHeader {
    columns: Vec<StoredColumn>,
}

#[derive(Deserialize)]
struct StoredColumn {
    name: String,
    #[serde(default)]
    friendly_name: Option<String>,
    #[serde(default, rename = "type")]
    column_type: Option<String>,
}

impl Lines {
    /// Opens `raw` and reads the header line; returns the column list and the row lines after it.
    pub(crate) fn open(raw: Box<dyn Read + Send>) -> Result<(Vec<Column>, Lines)> {
        let decoder = zstd::stream::read::Decoder::new(raw)?;
        let mut lines = Lines { reader: BufReader::with_capacity(CHUNK_SIZE, decoder), line: Vec::with_capacity(1024) };
        let header = lines.next_line()?.ok_or(Error::Corrupt { reason: "no header line" })?;
        let header: StoredHeader =
            serde_json::from_slice(header).map_err(|_| Error::Corrupt { reason: "the header line is not a column list" })?;
        let columns = header
            .columns
            .into_iter()
            .map(|column| Column {
                friendly_name: column.friendly_name.unwrap_or_else(|| column.name.clone()),
                name: column.name,
                column_type: column.column_type.as_deref().map_or(ColumnType::Null, ColumnType::parse),
            })
            .collect();
        Ok((columns, lines))
    }

    /// The next row line, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>> {
        self.line.clear();
        let n_read = self.reader.read_until(b'\n', &mut self.line)?;
        if n_read == 0 {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
        }
        Ok(Some(&self.line))
    }
}

/// Splits a stored row (a compact JSON array written by this crate) into its cells' byte ranges,
/// without parsing the values. Checks the cell count against `n_columns`.
pub(crate) fn split_cells(line: &[u8], n_columns: usize, cells: &mut Vec<Range<usize>>) -> Result<()> {
    const MALFORMED: Error = Error::Corrupt { reason: "a row is not a JSON array" };
    cells.clear();
    if line.len() < 2 || line[0] != b'[' || line[line.len() - 1] != b']' {
        return Err(MALFORMED);
    }
    let end = line.len() - 1;
    if end > 1 {
        let mut depth = 0usize;
        let mut is_in_string = false;
        let mut is_escaped = false;
        let mut start = 1;
        for (offset, &byte) in line[1..end].iter().enumerate() {
            let position = offset + 1;
            if is_in_string {
                if is_escaped {
                    is_escaped = false;
                } else if byte == b'\\' {
                    is_escaped = true;
                } else if byte == b'"' {
                    is_in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => is_in_string = true,
                b'[' | b'{' => depth += 1,
                b']' | b'}' => depth = depth.checked_sub(1).ok_or(MALFORMED)?,
                b',' if depth == 0 => {
                    cells.push(start..position);
                    start = position + 1;
                }
                _ => {}
            }
        }
        if is_in_string || depth != 0 {
            return Err(MALFORMED);
        }
        cells.push(start..end);
    }
    if cells.len() != n_columns {
        return Err(Error::Corrupt { reason: "a row's length differs from the column list" });
    }
    Ok(())
}

/// One stored cell, read just enough for an export.
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    /// The JSON number's text.
    Number(&'a str),
    Text(std::borrow::Cow<'a, str>),
    /// An object or array, as JSON text.
    Nested(&'a str),
}

/// Reads one cell from its raw JSON text.
pub(crate) fn value(raw: &[u8]) -> Result<Value<'_>> {
    const MALFORMED: Error = Error::Corrupt { reason: "a cell is not valid JSON" };
    let text = std::str::from_utf8(raw).map_err(|_| MALFORMED)?;
    Ok(match raw.first() {
        Some(b'n') => Value::Null,
        Some(b't') => Value::Bool(true),
        Some(b'f') => Value::Bool(false),
        Some(b'"') if !raw.contains(&b'\\') => Value::Text(text[1..text.len() - 1].into()),
        Some(b'"') => Value::Text(serde_json::from_str::<String>(text).map_err(|_| MALFORMED)?.into()),
        Some(b'[' | b'{') => Value::Nested(text),
        Some(_) => Value::Number(text),
        None => return Err(MALFORMED),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str, n_columns: usize) -> Result<Vec<String>> {
        let mut cells = Vec::new();
        split_cells(line.as_bytes(), n_columns, &mut cells)?;
        Ok(cells.into_iter().map(|range| line[range].to_owned()).collect())
    }

    #[test]
    fn rows_split_at_top_level_commas_only() {
        assert_eq!(split("[]", 0).unwrap(), Vec::<String>::new());
        assert_eq!(split("[1]", 1).unwrap(), ["1"]);
        assert_eq!(
            split(r#"[1,"a,\"]b",null,{"x":[1,2],"y":"}"},[3,[4]]]"#, 5).unwrap(),
            ["1", r#""a,\"]b""#, "null", r#"{"x":[1,2],"y":"}"}"#, "[3,[4]]"]
        );
        assert!(matches!(split("[1,2]", 3), Err(Error::Corrupt { .. })));
        assert!(matches!(split("[\"open]", 1), Err(Error::Corrupt { .. })));
        assert!(matches!(split("{}", 0), Err(Error::Corrupt { .. })));
    }
}
