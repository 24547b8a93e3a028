//! A small SQL pretty-printer for the editor's "Format Query" button (`POST /api/queries/format`).
//!
//! Redash runs `sqlparse.format(text, reindent=True, keyword_case="upper")`. This does the same
//! kind of thing with a tokenizer of its own: keywords upper-cased, each clause on its own line,
//! select and grouping lists one item per line aligned after the keyword, `AND`/`OR` of `WHERE`
//! and `HAVING` on their own indented lines. Text inside parentheses stays on one line. Unlike
//! a parser-based formatter it never fails and never drops anything: comments, strings, quoted
//! names and Mustache `{{ parameters }}` come out as they went in, so any query text (SQL of any
//! dialect, or a non-SQL query) can be formatted safely.

/// Words upper-cased wherever they appear outside strings, comments and qualified names.
const KEYWORDS: &[&str] = &[
    "ALL", "ALTER", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "COLLATE", "CREATE", "CROSS", "DEFAULT",
    "DELETE", "DESC", "DISTINCT", "DROP", "ELSE", "END", "ESCAPE", "EXCEPT", "EXISTS", "FALSE", "FETCH", "FILTER",
    "FIRST", "FROM", "FULL", "GROUP", "HAVING", "ILIKE", "IN", "INDEX", "INNER", "INSERT", "INTERSECT", "INTERVAL",
    "INTO", "IS", "JOIN", "LAST", "LATERAL", "LEFT", "LIKE", "LIMIT", "NATURAL", "NEXT", "NOT", "NULL", "NULLS",
    "OFFSET", "ON", "ONLY", "OR", "ORDER", "OUTER", "OVER", "PARTITION", "RECURSIVE", "RETURNING", "RIGHT", "ROW",
    "ROWS", "SELECT", "SET", "TABLE", "THEN", "TOP", "TRUE", "UNION", "UPDATE", "USING", "VALUES", "VIEW", "WHEN",
    "WHERE", "WINDOW", "WITH", "WITHIN",
];

/// Clauses that start a new line when they appear outside parentheses.
const CLAUSES: &[&str] =
    &["SELECT", "FROM", "WHERE", "HAVING", "LIMIT", "OFFSET", "UNION", "EXCEPT", "INTERSECT", "VALUES", "SET", "RETURNING", "WINDOW"];

/// Words that begin a join phrase (`LEFT OUTER JOIN`, `CROSS JOIN`, …).
const JOIN_QUALIFIERS: &[&str] = &["LEFT", "RIGHT", "INNER", "FULL", "CROSS", "NATURAL", "OUTER"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Whitespace,
    LineComment,
    /// Block comments, string literals, quoted names and Mustache tags: copied verbatim.
    Opaque,
    Word,
    Symbol,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
}

/// Length of the run at the start of `text` whose characters satisfy `keep`.
fn run_length(text: &str, keep: impl Fn(char) -> bool) -> usize {
    text.char_indices().find(|(_, c)| !keep(*c)).map_or(text.len(), |(index, _)| index)
}

/// Length of a quoted run starting with `quote`, where a doubled quote stands for itself.
fn quoted_length(text: &str, quote: char) -> usize {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((index, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|(_, next)| *next == quote) {
                chars.next();
                continue;
            }
            return index + c.len_utf8();
        }
    }
    text.len()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '$' | '@')
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(first) = rest.chars().next() {
        let (kind, length) = if first.is_whitespace() {
            (Kind::Whitespace, run_length(rest, char::is_whitespace))
        } else if rest.starts_with("--") {
            (Kind::LineComment, rest.find('\n').unwrap_or(rest.len()))
        } else if let Some(body) = rest.strip_prefix("/*") {
            (Kind::Opaque, body.find("*/").map_or(rest.len(), |end| end + 4))
        } else if let Some(body) = rest.strip_prefix("{{") {
            (Kind::Opaque, body.find("}}").map_or(rest.len(), |end| end + 4))
        } else if matches!(first, '\'' | '"' | '`') {
            (Kind::Opaque, quoted_length(rest, first))
        } else if is_word_char(first) {
            (Kind::Word, run_length(rest, is_word_char))
        } else {
            (Kind::Symbol, first.len_utf8())
        };
        tokens.push(Token { kind, text: &rest[..length] });
        rest = &rest[length..];
    }
    tokens
}

/// Builds the formatted text line by line.
struct Writer {
    out: String,
    /// Whitespace was seen since the last token written.
    space: bool,
}

impl Writer {
    /// Nothing but indentation has been written on the current line.
    fn at_line_start(&self) -> bool {
        let before_indent = self.out.trim_end_matches(' ');
        before_indent.is_empty() || before_indent.ends_with('\n')
    }

    fn newline(&mut self, indent: usize) {
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out.push_str(&" ".repeat(indent));
        self.space = false;
    }

    fn push(&mut self, text: &str) {
        if self.space && !self.at_line_start() {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.space = false;
    }
}

/// Redash's "Format Query": `text` re-laid out with upper-case keywords. Only whitespace and
/// the case of keywords change.
pub fn format_sql(text: &str) -> String {
    let tokens = tokenize(text);
    let significant: Vec<usize> = (0..tokens.len()).filter(|index| tokens[*index].kind != Kind::Whitespace).collect();
    let upper = |index: usize| -> Option<String> {
        let token = tokens.get(index)?;
        (token.kind == Kind::Word).then(|| token.text.to_ascii_uppercase())
    };
    let mut writer = Writer { out: String::new(), space: false };
    let mut depth = 0_usize;
    // The clause being written outside parentheses and the column its list items align to.
    let mut list_indent: Option<usize> = None;
    let mut in_condition = false;
    let mut pending_between = false;
    let mut case_depth = 0_usize;
    let mut previous: Option<&str> = None;
    for (position, &index) in significant.iter().enumerate() {
        let token = tokens[index];
        if index > 0 && tokens[index - 1].kind == Kind::Whitespace {
            writer.space = true;
        }
        let next_word = |offset: usize| significant.get(position + offset).and_then(|next| upper(*next));
        match token.kind {
            Kind::LineComment => {
                writer.push(token.text);
                writer.newline(list_indent.unwrap_or(0));
            }
            Kind::Opaque => writer.push(token.text),
            Kind::Word => {
                let word = token.text.to_ascii_uppercase();
                let qualified = previous == Some(".");
                let is_keyword = !qualified && KEYWORDS.contains(&word.as_str());
                let text = if is_keyword { word.as_str() } else { token.text };
                if !is_keyword || depth > 0 {
                    writer.push(text);
                } else {
                    let starts_join = JOIN_QUALIFIERS.contains(&word.as_str())
                        && (next_word(1).as_deref() == Some("JOIN") || next_word(2).as_deref() == Some("JOIN"))
                        && !previous.is_some_and(|previous| JOIN_QUALIFIERS.contains(&previous.to_ascii_uppercase().as_str()));
                    let bare_join = word == "JOIN"
                        && !previous.is_some_and(|previous| JOIN_QUALIFIERS.contains(&previous.to_ascii_uppercase().as_str()));
                    let grouping = matches!(word.as_str(), "GROUP" | "ORDER") && next_word(1).as_deref() == Some("BY");
                    if CLAUSES.contains(&word.as_str()) || starts_join || bare_join || grouping {
                        writer.newline(0);
                        writer.push(text);
                        list_indent = match word.as_str() {
                            "SELECT" => Some(7),
                            "FROM" => Some(5),
                            "GROUP" | "ORDER" => Some(9),
                            _ => None,
                        };
                        in_condition = matches!(word.as_str(), "WHERE" | "HAVING");
                        pending_between = false;
                    } else if matches!(word.as_str(), "AND" | "OR") && in_condition && case_depth == 0 && !pending_between {
                        writer.newline(2);
                        writer.push(text);
                    } else {
                        if word == "AND" {
                            pending_between = false;
                        }
                        writer.push(text);
                    }
                }
                if is_keyword {
                    match word.as_str() {
                        "BETWEEN" => pending_between = true,
                        "CASE" => case_depth += 1,
                        "END" => case_depth = case_depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            Kind::Symbol => match token.text {
                "(" => {
                    writer.push("(");
                    depth += 1;
                }
                ")" => {
                    writer.push(")");
                    depth = depth.saturating_sub(1);
                }
                "," if depth == 0 && list_indent.is_some() => {
                    writer.push(",");
                    writer.newline(list_indent.unwrap_or(0));
                }
                ";" if depth == 0 => {
                    writer.push(";");
                    if position + 1 < significant.len() {
                        writer.newline(0);
                        writer.out.push('\n');
                    }
                    list_indent = None;
                    in_condition = false;
                    pending_between = false;
                    case_depth = 0;
                }
                other => writer.push(other),
            },
            Kind::Whitespace => {}
        }
        previous = Some(token.text);
    }
    writer.out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(format_sql(input), expected, "formatting {input:?}");
    }

    #[test]
    fn clauses_and_lists_are_laid_out_like_sqlparse() {
        check(
            "select a, b from t where x = 1 and y = 2",
            "SELECT a,\n       b\nFROM t\nWHERE x = 1\n  AND y = 2",
        );
        check(
            "select count(*) c from orders o left join users u on u.id = o.user_id group by 1, 2 order by c desc limit 5",
            "SELECT count(*) c\nFROM orders o\nLEFT JOIN users u ON u.id = o.user_id\nGROUP BY 1,\n         2\nORDER BY c DESC\nLIMIT 5",
        );
    }

    #[test]
    fn between_case_and_parentheses_stay_on_their_line() {
        check(
            "select case when a and b then 1 end from t where d between 1 and 2 and e in (1, 2)",
            "SELECT CASE WHEN a AND b THEN 1 END\nFROM t\nWHERE d BETWEEN 1 AND 2\n  AND e IN (1, 2)",
        );
        check("select x from (select a, b from t) s", "SELECT x\nFROM (SELECT a, b FROM t) s");
    }

    #[test]
    fn strings_comments_names_and_parameters_are_kept_verbatim() {
        check(
            "select 'from a, b' as \"Select\", t.from -- where, and\nfrom t where y = {{ from }}",
            "SELECT 'from a, b' AS \"Select\",\n       t.from -- where, and\nFROM t\nWHERE y = {{ from }}",
        );
        check("/* keep */ select 1", "/* keep */\nSELECT 1");
    }

    #[test]
    fn statements_are_separated_and_odd_input_survives() {
        check("select 1; select 2;", "SELECT 1;\n\nSELECT 2;");
        check("", "");
        check("db.orders.find({})", "db.orders.find({})");
        check("select 'unterminated", "SELECT 'unterminated");
    }
}
