//! Binding parameter values instead of splicing them into the text.
//!
//! Redash renders every value into the query text, so a `text` parameter is SQL injection by
//! design. For data sources whose driver binds typed values ([`Placeholders`]), a value goes to
//! the database as a bound parameter wherever it stands as a whole value of an expression:
//! after a comparison or arithmetic operator, after `LIKE`, `ILIKE`, `BETWEEN … AND`, `LIMIT`,
//! `OFFSET`, `WHEN`, `THEN`, `ELSE`, and as an item of an `IN (…)` or `VALUES (…)` list.
//! Everywhere else it is rendered as Redash renders it: inside a quoted literal or identifier,
//! in a comment, glued to a name (`events_{{suffix}}`), or where a name or a fragment of SQL
//! is expected (`SELECT {{column}}`, `WHERE {{condition}}`). Text with several statements is
//! always rendered, because prepared statements hold one.
//!
//! The decision is made on the text with markers where the values go, read with the same small
//! SQL tokenizer the query hash uses; markers are characters of a private-use plane, and text
//! that already contains one is rendered whole.

use std::fmt::Write as _;

use crate::parameter::BoundValue;
use crate::query_hash::{Kind, Token, split_statements, tokenize};

/// How a data source's driver writes a bind placeholder, declared by its runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholders {
    /// `$1`, `$2`, … (PostgreSQL, Redshift, DuckDB).
    Dollar,
    /// `?` by position (MySQL).
    Question,
    /// `?1`, `?2`, … (SQLite).
    NumberedQuestion,
}

impl Placeholders {
    fn write(self, position: usize, out: &mut String) {
        match self {
            Placeholders::Dollar => write!(out, "${position}"),
            Placeholders::Question => write!(out, "?"),
            Placeholders::NumberedQuestion => write!(out, "?{position}"),
        }
        .expect("writing to a String cannot fail");
    }
}

/// The text a run sends and the values bound to its placeholders, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundText {
    pub text: String,
    pub binds: Vec<BoundValue>,
}

/// One parameter occurrence the template rendered as a marker: how Redash would have rendered
/// it, and its typed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Occurrence {
    pub(crate) rendered: String,
    pub(crate) value: BoundValue,
}

/// First code point of the markers (Supplementary Private Use Area-A).
const MARKER_BASE: u32 = 0xF0000;
const MARKER_COUNT: usize = 0xFFFE;

/// The marker of the `index`th occurrence, if there are markers left.
pub(crate) fn marker(index: usize) -> Option<char> {
    if index >= MARKER_COUNT {
        return None;
    }
    char::from_u32(MARKER_BASE + index as u32)
}

fn marker_index(c: char) -> Option<usize> {
    let code = c as u32;
    (MARKER_BASE..MARKER_BASE + MARKER_COUNT as u32).contains(&code).then(|| (code - MARKER_BASE) as usize)
}

/// Whether `text` (the fully rendered text) is free of marker characters, so markers can be
/// told apart from it.
pub(crate) fn can_mark(text: &str) -> bool {
    !text.chars().any(|c| marker_index(c).is_some())
}

/// Replaces each marker of `marked` by a placeholder where it stands as a whole value, else by
/// its rendered text. `None` when the template holds several statements (a prepared statement
/// holds one): the caller then renders. The statements are counted with the values still
/// markers, so a value cannot add a statement to escape binding.
pub(crate) fn place(marked: &str, occurrences: &[Occurrence], placeholders: Placeholders) -> Option<BoundText> {
    if split_statements(marked).len() > 1 {
        return None;
    }
    let tokens = tokenize(marked);
    let mut text = String::with_capacity(marked.len());
    let mut binds = Vec::new();
    let mut position = Position::default();
    for (at, token) in tokens.iter().enumerate() {
        let Some(index) = single_marker(token) else {
            unmark(token.text, occurrences, &mut text);
            position.step(token);
            continue;
        };
        let occurrence = &occurrences[index];
        let glued = at.checked_sub(1).is_some_and(|before| glued_before(&tokens[before]))
            || tokens.get(at + 1).is_some_and(glued_after);
        if !glued && position.expects_value() {
            binds.push(occurrence.value.clone());
            placeholders.write(binds.len(), &mut text);
        } else {
            text.push_str(&occurrence.rendered);
        }
        position.step_value();
    }
    Some(BoundText { text, binds })
}

fn single_marker(token: &Token<'_>) -> Option<usize> {
    match token.kind {
        Kind::Symbol(c) => marker_index(c),
        _ => None,
    }
}

/// Copies `text` with every marker in it (inside a literal or a comment) rendered.
fn unmark(text: &str, occurrences: &[Occurrence], out: &mut String) {
    for c in text.chars() {
        match marker_index(c) {
            Some(index) => out.push_str(&occurrences[index].rendered),
            None => out.push(c),
        }
    }
}

/// A value right after a name, a literal or a qualifier is part of that token.
fn glued_before(token: &Token<'_>) -> bool {
    match token.kind {
        Kind::Word | Kind::Quoted => true,
        Kind::Symbol(c) => matches!(c, '.' | '$' | '@' | '#' | ':') || marker_index(c).is_some(),
        _ => false,
    }
}

/// A value right before a name, a literal, a qualifier or a call's parenthesis is part of it.
fn glued_after(token: &Token<'_>) -> bool {
    match token.kind {
        Kind::Word | Kind::Quoted => true,
        Kind::Symbol(c) => matches!(c, '.' | '(' | '$' | '@') || marker_index(c).is_some(),
        _ => false,
    }
}

/// Where the tokenizer stands: the last significant token and the open parentheses.
#[derive(Default)]
struct Position {
    last: Last,
    /// One entry per open parenthesis: whether it opened an `IN` or `VALUES` list.
    lists: Vec<bool>,
    /// The parenthesis depth of a `BETWEEN` still waiting for its `AND`.
    between: Option<usize>,
}

#[derive(Default, PartialEq)]
enum Last {
    #[default]
    Start,
    /// An operator after which an operand follows.
    Operator,
    /// A keyword after which a value follows.
    ValueKeyword,
    /// `IN` or `VALUES`: a list may follow.
    ListKeyword,
    /// `(` or `,` inside an `IN`/`VALUES` list.
    ListSeparator,
    /// The `)` that closed such a list: a `,` then may start another `VALUES` row.
    ListEnd,
    Other,
}

impl Position {
    fn expects_value(&self) -> bool {
        matches!(self.last, Last::Operator | Last::ValueKeyword | Last::ListSeparator)
    }

    fn in_list(&self) -> bool {
        self.lists.last().copied().unwrap_or(false)
    }

    fn step_value(&mut self) {
        self.last = Last::Other;
    }

    fn step(&mut self, token: &Token<'_>) {
        if token.is_whitespace() || token.is_comment() {
            return;
        }
        self.last = match token.kind {
            Kind::Symbol('(') => {
                self.lists.push(self.last == Last::ListKeyword);
                if self.in_list() { Last::ListSeparator } else { Last::Other }
            }
            Kind::Symbol(')') => {
                let closed_list = self.lists.pop().unwrap_or(false);
                if self.between.is_some_and(|depth| depth > self.lists.len()) {
                    self.between = None;
                }
                if closed_list { Last::ListEnd } else { Last::Other }
            }
            Kind::Symbol(',') if self.in_list() => Last::ListSeparator,
            Kind::Symbol(',') if self.last == Last::ListEnd => Last::ListKeyword,
            Kind::Symbol('=' | '<' | '>' | '!' | '+' | '-' | '*' | '/' | '%' | '|' | '~') => Last::Operator,
            Kind::Word => self.keyword(token.text),
            _ => Last::Other,
        };
    }

    fn keyword(&mut self, word: &str) -> Last {
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        if is("in") || is("values") {
            Last::ListKeyword
        } else if is("select") {
            // `IN (SELECT …)` is a subquery, not a list of values.
            if let Some(list) = self.lists.last_mut() {
                *list = false;
            }
            Last::Other
        } else if is("between") {
            self.between = Some(self.lists.len());
            Last::ValueKeyword
        } else if is("and") && self.between == Some(self.lists.len()) {
            self.between = None;
            Last::ValueKeyword
        } else if ["like", "ilike", "limit", "offset", "when", "then", "else"].into_iter().any(is) {
            Last::ValueKeyword
        } else {
            Last::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marks every `#` of `template` as an occurrence of the text value `v`.
    fn place_all(template: &str, placeholders: Placeholders) -> BoundText {
        let mut occurrences = Vec::new();
        let mut marked = String::new();
        for c in template.chars() {
            if c == '#' {
                marked.push(marker(occurrences.len()).unwrap());
                occurrences.push(Occurrence { rendered: "v".into(), value: BoundValue::Text("v".into()) });
            } else {
                marked.push(c);
            }
        }
        place(&marked, &occurrences, placeholders).expect("one statement")
    }

    fn check(template: &str, expected: &str) {
        assert_eq!(place_all(template, Placeholders::Dollar).text, expected, "{template}");
    }

    #[test]
    fn whole_values_become_placeholders() {
        check(
            "select * from t where a = # and b <> # and c >= #",
            "select * from t where a = $1 and b <> $2 and c >= $3",
        );
        check("select * from t where a like # or b ilike #", "select * from t where a like $1 or b ilike $2");
        check(
            "select * from t where a between # and # and b = #",
            "select * from t where a between $1 and $2 and b = $3",
        );
        check(
            "select * from t where a in (#, #) limit # offset #",
            "select * from t where a in ($1, $2) limit $3 offset $4",
        );
        check("insert into t values (#, #), (#)", "insert into t values ($1, $2), ($3)");
        check(
            "select * from t where a in (select b from u where c = #)",
            "select * from t where a in (select b from u where c = $1)",
        );
        check("select * from t where a in (select b, # from u)", "select * from t where a in (select b, v from u)");
        check("select case when a = 1 then # else # end from t", "select case when a = 1 then $1 else $2 end from t");
        check("select a + # * (b - #) from t", "select a + $1 * (b - $2) from t");
    }

    #[test]
    fn names_fragments_literals_and_comments_are_rendered() {
        check("select # from t", "select v from t");
        check("select * from # where #", "select * from v where v");
        check("select * from events_# order by #", "select * from events_v order by v");
        check("select * from t where a = '#' and b = \"#\"", "select * from t where a = 'v' and b = \"v\"");
        check("select 1 -- where a = #\n/* = # */", "select 1 -- where a = v\n/* = v */");
        check("select * from t where a = #.b", "select * from t where a = v.b");
        check("select * from t where a = f(#)", "select * from t where a = f(v)");
        check("select * from t where a = #(1)", "select * from t where a = v(1)");
        check("select * from t where a = ##", "select * from t where a = vv");
        check("select * from t where a = $$#$$", "select * from t where a = $$v$$");
    }

    #[test]
    fn between_ends_at_its_and() {
        check(
            "select * from t where a between 1 and # and b = # and #",
            "select * from t where a between 1 and $1 and b = $2 and v",
        );
        check("select * from t where (a between 1 and 2) and #", "select * from t where (a between 1 and 2) and v");
    }

    #[test]
    fn each_driver_gets_its_placeholders() {
        let text = "select * from t where a = # and b = #";
        assert_eq!(place_all(text, Placeholders::Question).text, "select * from t where a = ? and b = ?");
        assert_eq!(place_all(text, Placeholders::NumberedQuestion).text, "select * from t where a = ?1 and b = ?2");
        assert_eq!(place_all(text, Placeholders::Dollar).binds.len(), 2);
    }

    #[test]
    fn text_with_markers_or_several_statements_is_left_to_rendering() {
        assert!(can_mark("select 1; select 2"));
        assert!(!can_mark(&format!("select '{}'", marker(3).unwrap())));
        assert_eq!(marker(MARKER_COUNT), None);
        let occurrence = Occurrence { rendered: "v".into(), value: BoundValue::Int(1) };
        let marked = format!("select 1; select * from t where a = {}", marker(0).unwrap());
        assert_eq!(place(&marked, std::slice::from_ref(&occurrence), Placeholders::Dollar), None);
        let marked = format!("select * from t where a = {};", marker(0).unwrap());
        assert!(place(&marked, &[occurrence], Placeholders::Dollar).is_some());
    }
}
