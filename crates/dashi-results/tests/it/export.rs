//! CSV, TSV and XLSX downloads: Redash's value rules and escaping.

use calamine::{Data, Reader, Xlsx};
use dashi_core::{Cell, ColumnType};
use dashi_results::{DateFormats, WriterOptions};

use crate::{collect, column, local_store, sample, write};

const CSV: &str = concat!(
    "id,price,name,day,local_time,at,flag,doc,nothing\r\n",
    "1,1.5,plain,02/01/24,02/01/24 03:04,02/01/24 03:04,true,\"{\"\"a\"\":[1,2]}\",\r\n",
    "-2,,\"comma, \"\"quote\"\"\nnew\tline ünïcødé 🙂\",31/12/99,31/12/99 23:59,30/06/24 12:00,false,\"[1,\"\"x\"\"]\",\r\n",
    ",,,,,,,,\r\n",
);

const TSV: &str = concat!(
    "id\tprice\tname\tday\tlocal_time\tat\tflag\tdoc\tnothing\r\n",
    "1\t1.5\tplain\t2024-01-02\t2024-01-02 03:04:05.678000\t2024-01-02 03:04:05.000000\ttrue\t\"{\"\"a\"\":[1,2]}\"\t\r\n",
    "-2\t\t\"comma, \"\"quote\"\"\nnew\tline ünïcødé 🙂\"\t1999-12-31\t1999-12-31 23:59:00.000000\t2024-06-30 12:00:00.250000\tfalse\t\"[1,\"\"x\"\"]\"\t\r\n",
    "\t\t\t\t\t\t\t\t\r\n",
);

#[tokio::test]
async fn csv_follows_redash_rules_and_escapes() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let body = collect(store.csv(&stored.storage, &DateFormats::default()).await.expect("readable")).await;
    assert_eq!(String::from_utf8(body).expect("utf-8"), CSV);
}

#[tokio::test]
async fn tsv_uses_tabs_and_the_org_date_format() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let formats = DateFormats { date_format: "YYYY-MM-DD".into(), time_format: "HH:mm:ss.SSS".into() };
    let body = collect(store.tsv(&stored.storage, &formats).await.expect("readable")).await;
    assert_eq!(String::from_utf8(body).expect("utf-8"), TSV);
}

#[tokio::test]
async fn csv_prints_values_as_python_does() {
    let (_folder, store) = local_store();
    let columns = vec![column("x", ColumnType::Float), column("b", ColumnType::String), column("d", ColumnType::Date)];
    let rows = vec![
        vec![Cell::Float(1e16), Cell::Bool(true), Cell::Text("2024-02-30".into())],
        vec![Cell::Float(1.5e-7), Cell::Text(String::new()), Cell::Int(20240101)],
        vec![Cell::Float(3.0), Cell::Text("=1+1".into()), Cell::Text(String::new())],
    ];
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let body = collect(store.csv(&stored.storage, &DateFormats::default()).await.expect("readable")).await;
    let expected = "x,b,d\r\n1e+16,True,2024-02-30\r\n1.5e-07,,20240101\r\n3.0,=1+1,\r\n";
    assert_eq!(String::from_utf8(body).expect("utf-8"), expected);
}

#[tokio::test]
async fn xlsx_opens_with_one_result_sheet_and_raw_values() {
    let (_folder, store) = local_store();
    let (columns, rows) = sample();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let body = collect(store.xlsx(&stored.storage).await.expect("readable")).await;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(body)).expect("a valid xlsx");
    assert_eq!(workbook.sheet_names(), ["result"]);
    let range = workbook.worksheet_range("result").expect("the result sheet");
    let cells: Vec<Vec<Data>> = range.rows().map(|row| row.to_vec()).collect();
    assert_eq!(cells.len(), 3, "header and the two rows with values; the all-null row has no cells");
    let header: Vec<String> = cells[0].iter().map(|cell| cell.to_string()).collect();
    assert_eq!(header, ["id", "price", "name", "day", "local_time", "at", "flag", "doc", "nothing"]);
    assert_eq!(
        cells[1][..8],
        [
            Data::Float(1.0),
            Data::Float(1.5),
            Data::String("plain".into()),
            Data::String("2024-01-02".into()),
            Data::String("2024-01-02T03:04:05.678".into()),
            Data::String("2024-01-02T03:04:05Z".into()),
            Data::Bool(true),
            Data::String(r#"{"a":[1,2]}"#.into()),
        ]
    );
    assert_eq!(cells[2][1], Data::Empty);
    assert_eq!(cells[2][2], Data::String("comma, \"quote\"\nnew\tline ünïcødé 🙂".into()));
    assert_eq!(cells[2][6], Data::Bool(false));
}

#[tokio::test]
async fn xlsx_keeps_the_row_count_of_a_larger_result() {
    let (_folder, store) = local_store();
    let columns = vec![column("n", ColumnType::Integer), column("label", ColumnType::String)];
    let rows: Vec<Vec<Cell>> = (0..5000).map(|n| vec![Cell::Int(n), Cell::Text(format!("row {n}"))]).collect();
    let stored = write(&store, &columns, &rows, WriterOptions::default()).await;
    let body = collect(store.xlsx(&stored.storage).await.expect("readable")).await;
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(body)).expect("a valid xlsx");
    let range = workbook.worksheet_range("result").expect("the result sheet");
    assert_eq!(range.height(), 5001);
    assert_eq!(range.get((5000, 0)), Some(&Data::Float(4999.0)));
    assert_eq!(range.get((5000, 1)), Some(&Data::String("row 4999".into())));
}
