//! Reading a stored result back as typed cells, row by row: what the Query Results runner loads
//! into its SQLite tables. Decoding runs on a blocking thread that hands rows through a small
//! bounded channel, so memory stays one row plus buffers whatever the result's size.

use std::pin::Pin;
use std::task::{Context, Poll};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use dashi_core::{Cell, Column, ColumnType};
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::store::ResultsStore;
use crate::stream::{Lines, Value, split_cells, value};
use crate::writer::Storage;

/// Rows decoded ahead of the reader.
const ROWS_AHEAD: usize = 256;

/// The rows of a stored result as typed cells, one `Vec<Cell>` per row in stored order.
pub struct CellRows {
    receiver: mpsc::Receiver<Result<Vec<Cell>>>,
}

impl Stream for CellRows {
    type Item = Result<Vec<Cell>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

/// One stored cell as the cell it was written from, guided by its column's type.
fn to_cell(raw: Value<'_>, column_type: ColumnType) -> Result<Cell> {
    Ok(match raw {
        Value::Null => Cell::Null,
        Value::Bool(flag) => Cell::Bool(flag),
        Value::Number(text) => match text.parse::<i64>() {
            Ok(int) => Cell::Int(int),
            Err(_) => Cell::Float(text.parse::<f64>().map_err(|_| Error::Corrupt { reason: "a number cell is not a number" })?),
        },
        Value::Text(text) => match column_type {
            ColumnType::Date => NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(Cell::Date).unwrap_or(Cell::Text(text.into_owned())),
            ColumnType::Datetime => DateTime::parse_from_rfc3339(&text)
                .map(Cell::DateTime)
                .or_else(|_| NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f").map(Cell::NaiveDateTime))
                .unwrap_or(Cell::Text(text.into_owned())),
            _ => Cell::Text(text.into_owned()),
        },
        Value::Nested(text) => {
            Cell::Json(serde_json::from_str(text).map_err(|_| Error::Corrupt { reason: "a nested cell is not JSON" })?)
        }
    })
}

impl ResultsStore {
    /// The columns and the rows of a stored result as typed cells. Fails before the first row
    /// when the stored bytes are missing.
    pub async fn cells(&self, storage: &Storage) -> Result<(Vec<Column>, CellRows)> {
        let (sender, receiver) = mpsc::channel(ROWS_AHEAD);
        let (header_sender, header) = tokio::sync::oneshot::channel();
        let store = self.clone();
        let storage = storage.clone();
        tokio::task::spawn_blocking(move || {
            let opened = store.open_blocking(&storage).and_then(Lines::open);
            let (columns, mut lines) = match opened {
                Ok(opened) => opened,
                Err(error) => {
                    let _ = header_sender.send(Err(error));
                    return;
                }
            };
            let types: Vec<ColumnType> = columns.iter().map(|column| column.column_type).collect();
            if header_sender.send(Ok(columns)).is_err() {
                return;
            }
            let mut ranges = Vec::new();
            loop {
                let row = match lines.next_line() {
                    Ok(None) => return,
                    Ok(Some(line)) => split_cells(line, types.len(), &mut ranges).and_then(|()| {
                        ranges.iter().zip(&types).map(|(range, column_type)| value(&line[range.clone()]).and_then(|raw| to_cell(raw, *column_type))).collect()
                    }),
                    Err(error) => Err(error),
                };
                let failed = row.is_err();
                // A closed channel means the reader is gone; stop decoding.
                if sender.blocking_send(row).is_err() || failed {
                    return;
                }
            }
        });
        let columns = header.await.map_err(|_| Error::TaskFailed)??;
        Ok((columns, CellRows { receiver }))
    }
}
