//! The query hash and the auto limit that changes the text it is taken of, both as Redash does
//! them, so a result cached by Redash is found again by Dashi and the other way round.
//!
//! Redash hashes the text a data source will run: for SQL kinds, the statements re-joined
//! after its auto-limit step (trailing comments and semicolons gone, empty statements dropped,
//! ` LIMIT 1000` added to a final `SELECT` that has no limit when the query asks for it). That
//! step is here rather than in the runners because the server hashes too and never links them.
//!
//! Redash splits statements with a full SQL tokenizer; this module has a small one that knows
//! strings, quoted names, dollar quoting, comments and parentheses. It agrees with Redash on
//! ordinary SQL; on exotic input (procedure bodies with `BEGIN … END` and `;` inside) the two may
//! split differently, which costs a cache miss, never a wrong result.

use std::fmt::Write as _;

use md5::{Digest, Md5};

use crate::parameter::BoundValue;

/// Redash's `gen_query_hash`: lower-case hex MD5 of `text` with every single-line `/* … */`
/// comment and all whitespace removed. Case-sensitive. Always 32 characters.
pub fn query_hash(text: &str) -> String {
    hex::encode(Md5::digest(squeezed(text).as_bytes()))
}

/// The hash of a run: Redash's [`query_hash`] of its text when nothing is bound; with bound
/// values, the same squeezed text followed by each value, tagged with its type, so two runs of
/// one text with different values (even values that differ only in spaces) never share a result.
///
/// Redash compat: Redash renders every value into the text, so its hash of a parameterised query
/// on a data source that binds differs from this one; such results are not shared with Redash.
pub fn run_hash(text: &str, binds: &[BoundValue]) -> String {
    if binds.is_empty() {
        return query_hash(text);
    }
    let mut hashed = squeezed(text);
    for bind in binds {
        // A NUL never occurs in squeezed SQL, and each value carries its own length.
        hashed.push('\0');
        match bind {
            BoundValue::Int(value) => write!(hashed, "i{value}"),
            BoundValue::Number(value) => write!(hashed, "f{value:?}"),
            BoundValue::Text(value) => write!(hashed, "t{}:{value}", value.len()),
            BoundValue::Date(value) => write!(hashed, "d{value}"),
            BoundValue::DateTime(value) => write!(hashed, "s{}", value.format("%Y-%m-%dT%H:%M:%S%.f")),
        }
        .expect("writing to a String cannot fail");
    }
    hex::encode(Md5::digest(hashed.as_bytes()))
}

/// `text` without single-line `/* … */` comments and whitespace, as Redash hashes it.
fn squeezed(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find("/*") {
            Some(start) => {
                kept.push_str(&rest[..start]);
                let after_open = &rest[start + 2..];
                // Redash compat: the comment pattern's `.` does not cross a newline, so a block
                // comment spanning lines stays in the hashed text.
                let line_end = after_open.find('\n').unwrap_or(after_open.len());
                match after_open[..line_end].find("*/") {
                    Some(close) => rest = &after_open[close + 2..],
                    None => {
                        kept.push_str("/*");
                        rest = after_open;
                    }
                }
            }
            None => {
                kept.push_str(rest);
                break;
            }
        }
    }
    kept.chars().filter(|&c| !is_python_whitespace(c)).collect()
}

/// The text a data source runs and Redash hashes. For kinds without auto limit
/// (`supports_auto_limit` false) the text is unchanged. For SQL kinds the statements are
/// normalised as Redash does whether or not `apply_auto_limit` is set, and with it a final
/// `SELECT` whose last keyword is not `LIMIT` or `OFFSET` gets ` LIMIT 1000`.
pub fn apply_auto_limit(text: &str, supports_auto_limit: bool, apply_auto_limit: bool) -> String {
    if !supports_auto_limit {
        return text.to_owned();
    }
    let mut statements = split_statements(text);
    if apply_auto_limit {
        let last = statements
            .last_mut()
            .expect("splitting always yields a statement");
        if is_select_without_limit(last) {
            *last = add_limit(last);
        }
    }
    statements.join(";\n")
}

/// Python's `str.split()` whitespace: Unicode whitespace plus the four separator controls.
fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Whitespace,
    /// `-- …` or `# …` through the end of its line, newline included.
    LineComment,
    BlockComment,
    /// A string literal, quoted name or dollar-quoted body.
    Quoted,
    Word,
    /// Any other single character (`;`, `(`, `,`, operators).
    Symbol(char),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
}

impl Token<'_> {
    pub(crate) fn is_whitespace(&self) -> bool {
        self.kind == Kind::Whitespace
    }

    pub(crate) fn is_comment(&self) -> bool {
        matches!(self.kind, Kind::LineComment | Kind::BlockComment)
    }

    fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }
}

pub(crate) fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let (kind, len) = if is_python_whitespace(first) {
            (Kind::Whitespace, prefix_len(rest, is_python_whitespace))
        } else if rest.starts_with("--") || rest.starts_with("# ") {
            (
                Kind::LineComment,
                rest.find('\n').map_or(rest.len(), |end| end + 1),
            )
        } else if let Some(body) = rest.strip_prefix("/*") {
            (
                Kind::BlockComment,
                body.find("*/").map_or(rest.len(), |end| end + 4),
            )
        } else if matches!(first, '\'' | '"' | '`') {
            (Kind::Quoted, quoted_len(rest, first))
        } else if let Some(len) = dollar_quoted_len(rest) {
            (Kind::Quoted, len)
        } else if is_word_char(first) {
            (Kind::Word, prefix_len(rest, is_word_char))
        } else {
            (Kind::Symbol(first), first.len_utf8())
        };
        tokens.push(Token {
            kind,
            text: &rest[..len],
        });
        rest = &rest[len..];
    }
    tokens
}

fn prefix_len(text: &str, accept: fn(char) -> bool) -> usize {
    text.find(|c: char| !accept(c)).unwrap_or(text.len())
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '@'
}

/// Length of a literal opened by `quote`, where a doubled quote or a backslash escapes one.
/// An unterminated literal runs to the end of the text.
fn quoted_len(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1);
    while let Some((index, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            match text[index + 1..].chars().next() {
                Some(next) if next == quote => {
                    chars.next();
                }
                _ => return index + 1,
            }
        }
    }
    text.len()
}

/// Length of a PostgreSQL dollar-quoted body (`$$…$$`, `$tag$…$tag$`), if `text` opens one.
fn dollar_quoted_len(text: &str) -> Option<usize> {
    let after = text.strip_prefix('$')?;
    let tag_len = after.find('$')?;
    let tag = &after[..tag_len];
    if !tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        || tag.starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let delimiter = &text[..tag_len + 2];
    let body_start = delimiter.len();
    let end = text[body_start..].find(delimiter)?;
    Some(body_start + end + delimiter.len())
}

/// Redash's `split_sql_statements`: split at `;` outside parentheses (whitespace and line
/// comments right after a `;` stay with its statement), blank out trailing comments and then a
/// trailing `;`, drop statements with nothing but comments, trim each. Never empty: all-blank
/// text yields one empty statement.
pub(crate) fn split_statements(text: &str) -> Vec<String> {
    let mut statements: Vec<Vec<Token<'_>>> = Vec::new();
    let mut current: Vec<Token<'_>> = Vec::new();
    let mut depth: i32 = 0;
    let mut after_semicolon = false;
    for token in tokenize(text) {
        if after_semicolon && !matches!(token.kind, Kind::Whitespace | Kind::LineComment) {
            statements.push(std::mem::take(&mut current));
            after_semicolon = false;
        }
        match token.kind {
            Kind::Symbol('(') => depth += 1,
            Kind::Symbol(')') => depth -= 1,
            Kind::Symbol(';') if depth <= 0 => after_semicolon = true,
            _ => {}
        }
        current.push(token);
    }
    statements.push(current);

    let blank = Token {
        kind: Kind::Whitespace,
        text: " ",
    };
    let mut kept = Vec::new();
    for mut tokens in statements {
        for token in tokens.iter_mut().rev() {
            if token.is_whitespace() || token.is_comment() {
                *token = blank;
            } else {
                break;
            }
        }
        if let Some(last) = tokens.iter_mut().rev().find(|token| !token.is_whitespace())
            && last.kind == Kind::Symbol(';')
        {
            *last = blank;
        }
        if tokens
            .iter()
            .all(|token| token.is_whitespace() || token.is_comment())
        {
            continue;
        }
        let joined: String = tokens.iter().map(|token| token.text).collect();
        kept.push(joined.trim_matches(is_python_whitespace).to_owned());
    }
    if kept.is_empty() {
        kept.push(String::new());
    }
    kept
}

/// Whether a statement starts with the word `SELECT` and its last keyword outside parentheses
/// is not `LIMIT` or `OFFSET`. A name right after `LIMIT`/`OFFSET` (`LIMIT n`) is their argument,
/// not a keyword; `ALL`, `ROW` and `ROWS` there are keywords.
fn is_select_without_limit(statement: &str) -> bool {
    let tokens = tokenize(statement);
    if !tokens.first().is_some_and(|token| token.is_word("SELECT")) {
        return false;
    }
    let mut depth: i32 = 0;
    let mut last_keyword: Option<&str> = None;
    let mut previous_significant: Option<Token<'_>> = None;
    for token in &tokens {
        match token.kind {
            Kind::Symbol('(') => depth += 1,
            Kind::Symbol(')') => depth -= 1,
            Kind::Word if depth == 0 => {
                let follows_limit = previous_significant.is_some_and(|previous| {
                    previous.is_word("LIMIT") || previous.is_word("OFFSET")
                });
                let is_argument = follows_limit
                    && !["ALL", "ROW", "ROWS"]
                        .iter()
                        .any(|word| token.is_word(word));
                if !is_argument {
                    last_keyword = Some(token.text);
                }
            }
            _ => {}
        }
        if depth == 0 && !token.is_whitespace() && !token.is_comment() {
            previous_significant = Some(*token);
        }
    }
    !last_keyword.is_some_and(|word| {
        word.eq_ignore_ascii_case("LIMIT") || word.eq_ignore_ascii_case("OFFSET")
    })
}

/// Appends ` LIMIT 1000`, before a trailing punctuation mark if the statement ends with one
/// (as Redash does: `SELECT 1,` becomes `SELECT 1 LIMIT 1000,`).
fn add_limit(statement: &str) -> String {
    const LIMIT: &str = " LIMIT 1000";
    let tokens = tokenize(statement);
    match tokens.last() {
        Some(Token {
            kind: Kind::Symbol(',' | ':' | '.' | ';'),
            text,
        }) => {
            let cut = statement.len() - text.len();
            format!("{}{LIMIT}{}", &statement[..cut], text)
        }
        _ => format!("{statement}{LIMIT}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{apply_auto_limit, query_hash, run_hash};
    use crate::parameter::BoundValue;

    // Expected hashes come from a three-line Python re-statement of Redash's rule, run by hand:
    //   sql = re.sub(r"/\*.*?\*/", "", sql); sql = "".join(sql.split())
    //   hashlib.md5(sql.encode("utf-8")).hexdigest()
    fn check_hash(text: &str, expected: &str) {
        assert_eq!(query_hash(text), expected, "text {text:?}");
    }

    #[test]
    fn hash_ignores_whitespace_and_single_line_block_comments() {
        check_hash("SELECT 1", "2d5127b8139f1f5f1086c4053324733a");
        check_hash("  SELECT\n\t1  ", "2d5127b8139f1f5f1086c4053324733a");
        check_hash(
            "SELECT /* pick one */ 1",
            "2d5127b8139f1f5f1086c4053324733a",
        );
        check_hash(
            "SELECT 1 /* one */ + /* two */ 2\r\n",
            "63a37c16354674943ff8256982d24ee7",
        );
        check_hash("", "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn hash_keeps_case_line_comments_and_multi_line_block_comments() {
        check_hash("select 1", "f6bf37efedbc0a2dfffc1caf5088d86e");
        check_hash("SELECT 1 -- trailing", "83e8ec69d26f45745949fb76e2c3e54a");
        check_hash("SELECT /* a\nb */ 1", "e70749298c67160d381228d571d6276e");
    }

    #[test]
    fn hash_uses_pythons_whitespace_and_utf8() {
        check_hash(
            "SELECT 'é' /* x */ /* y */",
            "d9e840604dcd4bab7598b96239395ee0",
        );
        check_hash(
            "SELECT\u{a0}1\u{2003}FROM\u{3000}t\u{1c}",
            "a71fcd63e6a9cabeeb86191deb26f02a",
        );
    }

    // Expected texts come from Redash's auto-limit steps re-stated in Python over the `sqlparse`
    // package (split with its FilterStack, blank trailing comments then a trailing `;`, drop
    // comment-only statements, strip, and append " LIMIT 1000" when the first token is SELECT
    // and the last top-level keyword is not LIMIT/OFFSET), run by hand on each input.
    fn check_limit(text: &str, normalised: &str, limited: &str) {
        assert_eq!(
            apply_auto_limit(text, true, false),
            normalised,
            "text {text:?}"
        );
        assert_eq!(apply_auto_limit(text, true, true), limited, "text {text:?}");
        assert_eq!(apply_auto_limit(text, false, true), text, "text {text:?}");
    }

    #[test]
    fn auto_limit_appends_to_a_final_select_without_limit() {
        check_limit("SELECT 1", "SELECT 1", "SELECT 1 LIMIT 1000");
        check_limit(
            "select * from t",
            "select * from t",
            "select * from t LIMIT 1000",
        );
        check_limit(
            "SELECT * FROM t;",
            "SELECT * FROM t",
            "SELECT * FROM t LIMIT 1000",
        );
        check_limit(
            "SELECT * FROM t WHERE a IN (SELECT b FROM u LIMIT 1)",
            "SELECT * FROM t WHERE a IN (SELECT b FROM u LIMIT 1)",
            "SELECT * FROM t WHERE a IN (SELECT b FROM u LIMIT 1) LIMIT 1000",
        );
        check_limit(
            "SELECT ';' AS semi, 'it''s' FROM t ORDER BY 1 DESC",
            "SELECT ';' AS semi, 'it''s' FROM t ORDER BY 1 DESC",
            "SELECT ';' AS semi, 'it''s' FROM t ORDER BY 1 DESC LIMIT 1000",
        );
        check_limit(
            "SELECT \"a;b\" FROM t /* trailing */",
            "SELECT \"a;b\" FROM t",
            "SELECT \"a;b\" FROM t LIMIT 1000",
        );
        check_limit(
            "SELECT $$a;b$$",
            "SELECT $$a;b$$",
            "SELECT $$a;b$$ LIMIT 1000",
        );
        check_limit(
            "select count(*) from (select 1) x",
            "select count(*) from (select 1) x",
            "select count(*) from (select 1) x LIMIT 1000",
        );
        check_limit(
            "SELECT * FROM t LIMIT ALL",
            "SELECT * FROM t LIMIT ALL",
            "SELECT * FROM t LIMIT ALL LIMIT 1000",
        );
        check_limit(
            "SELECT * FROM t OFFSET 5 ROWS",
            "SELECT * FROM t OFFSET 5 ROWS",
            "SELECT * FROM t OFFSET 5 ROWS LIMIT 1000",
        );
        check_limit(
            "SELECT 1 # mysql comment\n",
            "SELECT 1",
            "SELECT 1 LIMIT 1000",
        );
        check_limit("SELECT 1,", "SELECT 1,", "SELECT 1 LIMIT 1000,");
    }

    #[test]
    fn auto_limit_leaves_limited_and_non_select_statements() {
        for text in [
            "SELECT * FROM t LIMIT 10",
            "SELECT * FROM t limit 10 offset 5",
            "SELECT * FROM t WHERE x = 1 LIMIT 10",
            "SELECT * FROM t LIMIT n",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "-- leading\nSELECT 1",
            "/* c */ SELECT 1",
        ] {
            check_limit(text, text, text);
        }
    }

    #[test]
    fn auto_limit_splits_and_rejoins_statements() {
        check_limit(
            "SELECT 1; SELECT 2;\n-- done\n",
            "SELECT 1;\nSELECT 2",
            "SELECT 1;\nSELECT 2 LIMIT 1000",
        );
        check_limit(
            "SELECT 1;\n\n;\n  SELECT 2 -- c\n",
            "SELECT 1;\nSELECT 2",
            "SELECT 1;\nSELECT 2 LIMIT 1000",
        );
        check_limit(
            "SELECT 1\r\n;\r\nSELECT 2",
            "SELECT 1;\nSELECT 2",
            "SELECT 1;\nSELECT 2 LIMIT 1000",
        );
        check_limit(
            "CREATE TABLE x (a int); INSERT INTO x VALUES (1)",
            "CREATE TABLE x (a int);\nINSERT INTO x VALUES (1)",
            "CREATE TABLE x (a int);\nINSERT INTO x VALUES (1)",
        );
        for blank in ["", "  ;  ", "-- only a comment"] {
            check_limit(blank, "", "");
        }
    }

    #[test]
    fn run_hashes_cover_bound_values() {
        let text = "select * from t where a = $1";
        assert_eq!(run_hash(text, &[]), query_hash(text));
        let hash = |binds: &[BoundValue]| run_hash(text, binds);
        let distinct = [
            hash(&[BoundValue::Text("a b".into())]),
            hash(&[BoundValue::Text("ab".into())]),
            hash(&[BoundValue::Int(1)]),
            hash(&[BoundValue::Number(1.0)]),
            hash(&[BoundValue::Text("1".into())]),
            hash(&[BoundValue::Text("a".into()), BoundValue::Text("b".into())]),
            hash(&[BoundValue::Text("a\0tb".into())]),
            query_hash(text),
        ];
        for (index, one) in distinct.iter().enumerate() {
            assert_eq!(distinct.iter().filter(|other| *other == one).count(), 1, "value {index} collides");
        }
        assert_eq!(hash(&[BoundValue::Int(7)]), run_hash("select *  from t\nwhere a = $1", &[BoundValue::Int(7)]));
    }

    #[test]
    fn hash_of_limited_text_matches_redash() {
        let hash = |text: &str| query_hash(&apply_auto_limit(text, true, true));
        assert_eq!(hash("SELECT 1"), "a3e54103b621aa249ba2ed7522b9b222");
        assert_eq!(
            hash("SELECT 1; SELECT 2;\n-- done\n"),
            "76e07fe0102e5cc3fea4d3a570924e60"
        );
        assert_eq!(
            hash("SELECT * FROM t LIMIT 10"),
            "663a6660633ceb984f2b13b6bfd39915"
        );
    }
}
