//! Pages for the grid: offsets, sorting both ways, nulls and mixed values.

use dashi_core::{Cell, ColumnType};
use dashi_results::{Error, Page, PageRequest, Sort, WriterOptions};
use serde_json::{Value, json};

use crate::{column, local_store, write};

/// Rows `(id, score, name)`; scores include nulls, ties and a float among integers.
fn rows() -> Vec<Vec<Cell>> {
    let scores = [Cell::Int(5), Cell::Null, Cell::Int(2), Cell::Float(2.5), Cell::Int(9), Cell::Null, Cell::Int(2)];
    let names = ["e", "a", "c", "b", "g", "d", "f"];
    scores
        .into_iter()
        .zip(names)
        .enumerate()
        .map(|(id, (score, name))| vec![Cell::Int(id as i64), score, Cell::Text(name.into())])
        .collect()
}

async fn page(request: PageRequest) -> Result<Page, Error> {
    let (_folder, store) = local_store();
    let columns = vec![column("id", ColumnType::Integer), column("score", ColumnType::Float), column("name", ColumnType::String)];
    let stored = write(&store, &columns, &rows(), WriterOptions::default()).await;
    store.page(&stored.storage, &request).await
}

fn sorted(column: &str, is_descending: bool, offset: u64, limit: u64) -> PageRequest {
    PageRequest { offset, limit, sort: Some(Sort { column: column.into(), is_descending }) }
}

fn ids(page: &Page) -> Vec<i64> {
    page.rows.iter().map(|row| row[0].as_i64().expect("id")).collect()
}

#[tokio::test]
async fn unsorted_pages_slice_the_stored_order() {
    let first = page(PageRequest { offset: 0, limit: 3, sort: None }).await.expect("page");
    assert_eq!(first.columns.len(), 3);
    assert_eq!(first.rows[0], vec![json!(0), json!(5), json!("e")]);
    assert_eq!(ids(&first), [0, 1, 2]);
    let last = page(PageRequest { offset: 5, limit: 10, sort: None }).await.expect("page");
    assert_eq!(ids(&last), [5, 6]);
    let beyond = page(PageRequest { offset: 50, limit: 10, sort: None }).await.expect("page");
    assert!(beyond.rows.is_empty());
}

#[tokio::test]
async fn ascending_sort_puts_nulls_last_and_keeps_ties_in_order() {
    let all = page(sorted("score", false, 0, 100)).await.expect("page");
    assert_eq!(ids(&all), [2, 6, 3, 0, 4, 1, 5]);
    let scores: Vec<Value> = all.rows.iter().map(|row| row[1].clone()).collect();
    assert_eq!(scores, [json!(2), json!(2), json!(2.5), json!(5), json!(9), Value::Null, Value::Null]);
    let middle = page(sorted("score", false, 2, 3)).await.expect("page");
    assert_eq!(ids(&middle), [3, 0, 4]);
}

#[tokio::test]
async fn descending_sort_still_puts_nulls_last() {
    let all = page(sorted("score", true, 0, 100)).await.expect("page");
    assert_eq!(ids(&all), [4, 0, 3, 2, 6, 1, 5]);
    let tail = page(sorted("score", true, 5, 2)).await.expect("page");
    assert_eq!(ids(&tail), [1, 5]);
}

#[tokio::test]
async fn text_sorts_by_code_point() {
    let by_name = page(sorted("name", false, 0, 3)).await.expect("page");
    let names: Vec<&str> = by_name.rows.iter().map(|row| row[2].as_str().expect("name")).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let by_name_desc = page(sorted("name", true, 0, 2)).await.expect("page");
    assert_eq!(ids(&by_name_desc), [4, 6]);
}

#[tokio::test]
async fn sorting_by_an_unknown_column_is_an_error() {
    let error = page(sorted("nope", false, 0, 10)).await.expect_err("unknown column");
    assert!(matches!(error, Error::UnknownColumn { ref name } if name == "nope"), "{error:?}");
    let empty = page(sorted("score", false, 0, 0)).await.expect("page");
    assert!(empty.rows.is_empty());
}
