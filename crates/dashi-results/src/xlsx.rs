//! XLSX downloads through rust_xlsxwriter's constant-memory mode.
//!
//! Rows go to the worksheet one by one (rust_xlsxwriter spools them to a temp file in the store's
//! spool folder) and the finished workbook is zipped straight into the download stream, so memory
//! stays constant. Redash compat (`serialize_query_result_to_xlsx`): one sheet named `result`, a
//! header row of column names, raw values (numbers, booleans, text; dates as their ISO text;
//! objects and arrays as JSON text), nulls as empty cells. Differences, both deliberate: text is
//! always written as text (Redash's xlsxwriter turns text starting with `=` into a formula, which
//! lets a query result inject formulas), and rows past Excel's limit (1,048,575 after the header)
//! or text past 32,767 characters are cut, where Redash drops them.

use std::path::PathBuf;

use rust_xlsxwriter::Workbook;

use crate::error::{Error, Result};
use crate::store::ResultsStore;
use crate::stream::{ChunkWriter, Lines, ResultStream, Value, split_cells, value};
use crate::writer::Storage;

/// Excel's last row index (0-based) and column count.
const LAST_ROW: u32 = 1_048_575;
const MAX_COLUMNS: usize = 16_384;
/// Excel's cell text limit, in UTF-16 units.
const MAX_TEXT: usize = 32_767;

impl ResultsStore {
    /// Streams the result as an XLSX workbook
    /// (`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`).
    pub async fn xlsx(&self, storage: &Storage) -> Result<ResultStream> {
        let temp_dir = self.spool_dir().to_path_buf();
        ResultStream::spawn(self, storage, move |raw, out| write_xlsx(raw, out, temp_dir)).await
    }
}

fn write_xlsx(raw: Box<dyn std::io::Read + Send>, out: &mut ChunkWriter, temp_dir: PathBuf) -> Result<()> {
    let (columns, mut lines) = Lines::open(raw)?;
    let n_columns = columns.len().min(MAX_COLUMNS);
    let mut workbook = Workbook::new();
    workbook.set_tempdir(&temp_dir).map_err(Error::Xlsx)?;
    let sheet = workbook.add_worksheet_with_constant_memory().map_err(Error::Xlsx)?;
    sheet.set_name("result").map_err(Error::Xlsx)?;
    for (column_idx, column) in columns.iter().take(n_columns).enumerate() {
        sheet.write_string(0, column_idx as u16, limit_text(&column.name)).map_err(Error::Xlsx)?;
    }
    let mut cells = Vec::with_capacity(columns.len());
    let mut row_idx: u32 = 0;
    while let Some(line) = lines.next_line()? {
        if row_idx == LAST_ROW {
            break;
        }
        row_idx += 1;
        split_cells(line, columns.len(), &mut cells)?;
        for (column_idx, range) in cells.iter().take(n_columns).enumerate() {
            let column_idx = column_idx as u16;
            match value(&line[range.clone()])? {
                Value::Null => {}
                Value::Bool(flag) => {
                    sheet.write_boolean(row_idx, column_idx, flag).map_err(Error::Xlsx)?;
                }
                Value::Number(raw) => {
                    let number = raw.parse::<f64>().map_err(|_| Error::Corrupt { reason: "a number cell is not a number" })?;
                    sheet.write_number(row_idx, column_idx, number).map_err(Error::Xlsx)?;
                }
                Value::Text(text) => {
                    sheet.write_string(row_idx, column_idx, limit_text(&text)).map_err(Error::Xlsx)?;
                }
                Value::Nested(raw) => {
                    sheet.write_string(row_idx, column_idx, limit_text(raw)).map_err(Error::Xlsx)?;
                }
            }
        }
    }
    workbook.save_to_writer(&mut *out).map_err(Error::Xlsx)?;
    Ok(())
}

/// Cuts `text` to Excel's cell limit on a character boundary.
fn limit_text(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut units = 0;
    for (byte_idx, character) in text.char_indices() {
        units += character.len_utf16();
        if units > MAX_TEXT {
            return &text[..byte_idx];
        }
    }
    text
}
