//! Redash's auto limit: when the user ticks "limit 1000", a plain `SELECT` (the last statement
//! of the text, the one whose rows are shown) gets `LIMIT n` appended.
//!
//! Detection parses the text with `sqlparser`; a parse failure (a vendor's grammar it does not
//! know) sends the text unchanged, as does any statement that already has `LIMIT`, `OFFSET` or
//! `FETCH`, or is not a query. The text is edited, never re-printed from the syntax tree, so
//! what runs is what the user wrote plus the limit. Advisory only: never a security boundary.

use sqlparser::ast::{SetExpr, Statement};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// `sql` with ` LIMIT n` after its last statement when that is a plain `SELECT` without a
/// limit; otherwise `sql` unchanged.
pub(crate) fn apply(sql: &str, n_rows: u64) -> String {
    if !is_select_without_limit(sql) {
        return sql.to_owned();
    }
    match end_of_last_statement(sql) {
        Some(end) => format!("{} LIMIT {n_rows}", &sql[..end]),
        None => sql.to_owned(),
    }
}

fn is_select_without_limit(sql: &str) -> bool {
    let Ok(statements) = Parser::parse_sql(&GenericDialect {}, sql) else {
        return false;
    };
    let Some(Statement::Query(query)) = statements.last() else {
        return false;
    };
    let is_select = matches!(
        *query.body,
        SetExpr::Select(_) | SetExpr::SetOperation { .. }
    );
    is_select && query.limit_clause.is_none() && query.fetch.is_none() && query.locks.is_empty()
}

/// The byte offset just past the last token that is neither whitespace, a comment nor `;`.
fn end_of_last_statement(sql: &str) -> Option<usize> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    // Comments are whitespace tokens to the tokenizer.
    let last = tokens.iter().rev().find(|token| {
        !matches!(
            token.token,
            Token::Whitespace(_) | Token::SemiColon | Token::EOF
        )
    })?;
    byte_offset(sql, last.span.end)
}

/// Converts a 1-based line/column (in characters) into a byte offset into `sql`.
fn byte_offset(sql: &str, location: Location) -> Option<usize> {
    let mut line_start = 0;
    for _ in 1..location.line {
        line_start += sql[line_start..].find('\n')? + 1;
    }
    let n_chars = usize::try_from(location.column.checked_sub(1)?).ok()?;
    let line = &sql[line_start..];
    match line.char_indices().nth(n_chars) {
        Some((offset, _)) => Some(line_start + offset),
        None if line.chars().count() == n_chars => Some(sql.len()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::apply;

    fn check(sql: &str, expected: &str) {
        assert_eq!(apply(sql, 1000), expected, "for {sql:?}");
    }

    #[test]
    fn plain_select_gets_a_limit() {
        check("SELECT * FROM t", "SELECT * FROM t LIMIT 1000");
        check("select 1;", "select 1 LIMIT 1000");
        check("select 1;  \n-- done\n", "select 1 LIMIT 1000");
        check("select 'é' as x -- tail", "select 'é' as x LIMIT 1000");
        check(
            "select 1 union select 2",
            "select 1 union select 2 LIMIT 1000",
        );
        check(
            "with a as (select 1) select * from a",
            "with a as (select 1) select * from a LIMIT 1000",
        );
        check(
            "set x = 1;\nselect\n  2\n;",
            "set x = 1;\nselect\n  2 LIMIT 1000",
        );
        check("select * from t /* c */", "select * from t LIMIT 1000");
    }

    #[test]
    fn other_text_is_unchanged() {
        for sql in [
            "SELECT * FROM t LIMIT 5",
            "SELECT * FROM t LIMIT 5 OFFSET 10",
            "select * from t offset 3",
            "select * from t fetch first 3 rows only",
            "insert into t values (1)",
            "select 1; delete from t",
            "this is not sql at all",
            "select * from t for update",
            "",
        ] {
            check(sql, sql);
        }
    }
}
