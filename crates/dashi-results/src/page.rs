//! One page of a result for the UI's grid: rows `offset..offset + limit`, optionally sorted by
//! one column.
//!
//! Unsorted, the reader decompresses up to the page's end and parses only the page's rows. Sorted,
//! it reads the result twice: first it keeps the sort keys of the best `offset + limit` rows in a
//! bounded heap (one key per row: a number, a flag, or the text itself, about 40 bytes plus the
//! text's length), then it parses just the page's rows on a second pass. So memory is bounded by
//! `(offset + limit) × key size` plus one page, never by the whole result; a deep page of a long
//! text column costs the most, and callers should cap `limit`.
//!
//! Order: values of one kind compare naturally (numbers by value, text by code point, which also
//! orders ISO dates), kinds rank `false`/`true` < numbers < text < objects/arrays, nulls come last
//! in both directions, and ties keep the stored order.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use dashi_core::Column;

use crate::error::{Error, Result};
use crate::store::ResultsStore;
use crate::stream::{Lines, Value, split_cells, value};
use crate::writer::Storage;

/// Which rows to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
    pub sort: Option<Sort>,
}

/// Sort by one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// A column name from the result.
    pub column: String,
    pub is_descending: bool,
}

/// One page of rows, each cell as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl ResultsStore {
    /// Reads one page. Errors: [`Error::NotFound`] when the blob is gone,
    /// [`Error::UnknownColumn`] when `sort` names a column the result lacks.
    pub async fn page(&self, storage: &Storage, request: &PageRequest) -> Result<Page> {
        let store = self.clone();
        let storage = storage.clone();
        let request = request.clone();
        tokio::task::spawn_blocking(move || read_page(&store, &storage, &request))
            .await
            .map_err(|_| Error::TaskFailed)?
    }
}

fn read_page(store: &ResultsStore, storage: &Storage, request: &PageRequest) -> Result<Page> {
    let (columns, mut lines) = Lines::open(store.open_blocking(storage)?)?;
    let Some(sort) = &request.sort else {
        let mut rows = Vec::new();
        let mut row_idx = 0u64;
        let end = request.offset.saturating_add(request.limit);
        while row_idx < end {
            let Some(line) = lines.next_line()? else { break };
            if row_idx >= request.offset {
                rows.push(parse_row(line, columns.len())?);
            }
            row_idx += 1;
        }
        return Ok(Page { columns, rows });
    };

    let sort_idx = columns
        .iter()
        .position(|column| column.name == sort.column)
        .ok_or_else(|| Error::UnknownColumn { name: sort.column.clone() })?;
    let n_kept = usize::try_from(request.offset.saturating_add(request.limit)).unwrap_or(usize::MAX);
    if request.limit == 0 {
        return Ok(Page { columns, rows: Vec::new() });
    }

    // Pass 1: the best `n_kept` rows by key; the heap's top is the worst of them.
    let mut best: BinaryHeap<Entry> = BinaryHeap::new();
    let mut cells = Vec::with_capacity(columns.len());
    let mut row_idx = 0u64;
    while let Some(line) = lines.next_line()? {
        split_cells(line, columns.len(), &mut cells)?;
        let entry = Entry { key: SortKey::read(&line[cells[sort_idx].clone()])?, row_idx, is_descending: sort.is_descending };
        row_idx += 1;
        if best.len() < n_kept {
            best.push(entry);
        } else if best.peek().is_some_and(|worst| entry < *worst) {
            best.pop();
            best.push(entry);
        }
    }
    let wanted: HashMap<u64, usize> = best
        .into_sorted_vec()
        .into_iter()
        .skip(usize::try_from(request.offset).unwrap_or(usize::MAX))
        .enumerate()
        .map(|(position, entry)| (entry.row_idx, position))
        .collect();
    if wanted.is_empty() {
        return Ok(Page { columns, rows: Vec::new() });
    }

    // Pass 2: parse the wanted rows into their places.
    let (_, mut lines) = Lines::open(store.open_blocking(storage)?)?;
    let mut rows: Vec<Option<Vec<serde_json::Value>>> = vec![None; wanted.len()];
    let mut n_found = 0;
    let mut row_idx = 0u64;
    while n_found < wanted.len() {
        let Some(line) = lines.next_line()? else { break };
        if let Some(&position) = wanted.get(&row_idx) {
            rows[position] = Some(parse_row(line, columns.len())?);
            n_found += 1;
        }
        row_idx += 1;
    }
    let rows = rows.into_iter().collect::<Option<Vec<_>>>().ok_or(Error::Corrupt { reason: "the result changed between reads" })?;
    Ok(Page { columns, rows })
}

fn parse_row(line: &[u8], n_columns: usize) -> Result<Vec<serde_json::Value>> {
    let row: Vec<serde_json::Value> =
        serde_json::from_slice(line).map_err(|_| Error::Corrupt { reason: "a row is not a JSON array" })?;
    if row.len() != n_columns {
        return Err(Error::Corrupt { reason: "a row's length differs from the column list" });
    }
    Ok(row)
}

/// The part of a cell the sort needs.
enum SortKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(Box<str>),
    /// Objects and arrays, compared by their JSON text.
    Nested(Box<str>),
}

impl SortKey {
    fn read(raw: &[u8]) -> Result<SortKey> {
        Ok(match value(raw)? {
            Value::Null => SortKey::Null,
            Value::Bool(flag) => SortKey::Bool(flag),
            Value::Number(text) => match text.parse::<i64>() {
                Ok(integer) => SortKey::Int(integer),
                Err(_) => SortKey::Float(text.parse().map_err(|_| Error::Corrupt { reason: "a number cell is not a number" })?),
            },
            Value::Text(text) => SortKey::Text(text.into()),
            Value::Nested(text) => SortKey::Nested(text.into()),
        })
    }

    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Int(_) | SortKey::Float(_) => 1,
            SortKey::Text(_) => 2,
            SortKey::Nested(_) => 3,
            SortKey::Null => 4,
        }
    }

    /// Ascending order of two non-null keys.
    fn compare(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Int(a), SortKey::Int(b)) => a.cmp(b),
            (SortKey::Int(a), SortKey::Float(b)) => (*a as f64).total_cmp(b),
            (SortKey::Float(a), SortKey::Int(b)) => a.total_cmp(&(*b as f64)),
            (SortKey::Float(a), SortKey::Float(b)) => a.total_cmp(b),
            (SortKey::Text(a), SortKey::Text(b)) | (SortKey::Nested(a), SortKey::Nested(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A row's place in the sorted order: smaller is earlier on the pages.
struct Entry {
    key: SortKey,
    row_idx: u64,
    is_descending: bool,
}

impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        let by_key = match (&self.key, &other.key) {
            (SortKey::Null, SortKey::Null) => Ordering::Equal,
            (SortKey::Null, _) => Ordering::Greater,
            (_, SortKey::Null) => Ordering::Less,
            (a, b) if self.is_descending => a.compare(b).reverse(),
            (a, b) => a.compare(b),
        };
        by_key.then(self.row_idx.cmp(&other.row_idx))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}
