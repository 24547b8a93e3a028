//! Mustache: our own renderer for query text and alert templates, with its parse tree exposed.
//!
//! Redash renders query text with Mustache and escaping off, renders alert subjects and bodies
//! with HTML escaping on, and finds a query's parameters by walking the parse tree. This module
//! does all three over `serde_json::Value` contexts. It follows the Mustache spec for
//! interpolation, sections, inverted sections, comments and set delimiters (tested against the
//! spec's own files in `tests/mustache-spec/`). Partials are not supported: `{{> name}}` parses and
//! renders as nothing, since neither query text nor alert templates have anywhere to load one from.
//! Lambdas, dynamic names and inheritance (the spec's optional modules) are not supported either.
//!
//! Where the spec leaves a choice open, Redash's renderer (a Python one) decides: `0`, `""`, `[]`
//! and `{}` are falsey, booleans print as `True`/`False`, and HTML escaping also escapes `'`.

use serde_json::Value;

/// Whether interpolated values are HTML-escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Values go in verbatim: how Redash renders query text.
    None,
    /// `&`, `<`, `>`, `"` and `'` become entities in `{{name}}` (never in `{{{name}}}` or
    /// `{{&name}}`): how Redash renders alert templates.
    Html,
}

/// One node of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text, copied to the output.
    Text(String),
    /// `{{name}}` (`escaped: true`), or `{{{name}}}` / `{{&name}}` (`escaped: false`). The name is
    /// as written, trimmed: dotted (`range.start`) or `.` for the implicit iterator.
    Variable { name: String, escaped: bool },
    /// `{{#name}}…{{/name}}`, or `{{^name}}…{{/name}}` when `inverted`.
    Section {
        name: String,
        inverted: bool,
        children: Vec<Node>,
    },
    /// `{{> name}}`; renders as nothing.
    Partial { name: String },
}

/// A template that could not be parsed. Positions are byte offsets into the template text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MustacheError {
    #[error("unclosed tag at position {position}")]
    UnclosedTag { position: usize },
    #[error("empty tag at position {position}")]
    EmptyTag { position: usize },
    #[error("invalid delimiter change at position {position}")]
    InvalidDelimiters { position: usize },
    #[error("section {name:?} is never closed")]
    UnclosedSection { name: String },
    #[error(
        "closing tag {found:?} at position {position} does not match the open section {expected:?}"
    )]
    MismatchedClose {
        expected: Option<String>,
        found: String,
        position: usize,
    },
}

impl crate::Classify for MustacheError {
    fn fault(&self) -> crate::Fault {
        crate::Fault::Invalid
    }
}

/// A parsed Mustache template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses `text`. Fails on unclosed tags, mismatched or unclosed sections, empty tags and
    /// malformed delimiter changes.
    pub fn parse(text: &str) -> Result<Template, MustacheError> {
        let tokens = strip_standalone_lines(tokenize(text)?);
        Ok(Template {
            nodes: build_tree(tokens)?,
        })
    }

    /// The parse tree, in template order. Comments and delimiter changes are not in it.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Renders the template against `context` (usually an object). Missing names render as
    /// nothing; rendering never fails.
    pub fn render(&self, context: &Value, escape: Escape) -> String {
        self.render_with(context, escape, &mut |_, _| None)
    }

    /// Renders like [`Template::render`], but first offers every variable to `interpolate` with
    /// its name as written and the value it resolved to (`None` when missing). When it returns
    /// `Some(text)`, that text goes into the output verbatim instead of the value. Runners that
    /// bind parameters use this to put placeholders where values would go.
    pub fn render_with(
        &self,
        context: &Value,
        escape: Escape,
        interpolate: &mut dyn FnMut(&str, Option<&Value>) -> Option<String>,
    ) -> String {
        let mut output = String::new();
        let mut renderer = Renderer {
            escape,
            interpolate,
            stack: vec![context],
        };
        renderer.render_nodes(&self.nodes, &mut output);
        output
    }

    /// The top-level names (the part before the first `.`) of the template's variables and
    /// sections, including those inside sections, in order of first appearance, without
    /// duplicates. The implicit iterator and inverted sections (with what they contain) are left
    /// out. This is how a query's parameters are found: `{{ from.start }}` names `from`.
    pub fn variable_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect_names(&self.nodes, &mut names);
        names
    }
}

fn collect_names(nodes: &[Node], names: &mut Vec<String>) {
    for node in nodes {
        match node {
            Node::Variable { name, .. } => push_top_level(name, names),
            Node::Section {
                name,
                inverted: false,
                children,
            } => {
                push_top_level(name, names);
                collect_names(children, names);
            }
            Node::Text(_) | Node::Partial { .. } | Node::Section { inverted: true, .. } => {}
        }
    }
}

fn push_top_level(name: &str, names: &mut Vec<String>) {
    if name == "." {
        return;
    }
    let top = name.split('.').next().unwrap_or(name);
    if !names.iter().any(|seen| seen == top) {
        names.push(top.to_owned());
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Escaped,
    Raw,
    Section,
    Inverted,
    Close,
    Comment,
    Delimiters,
    Partial,
}

impl TagKind {
    /// Tags that vanish with their line when alone on it (spec: "standalone").
    fn may_stand_alone(self) -> bool {
        !matches!(self, TagKind::Escaped | TagKind::Raw)
    }
}

#[derive(Debug)]
enum Token {
    /// Text without a newline, or ending in exactly one `\n`.
    Text(String),
    Tag {
        kind: TagKind,
        name: String,
        position: usize,
    },
}

fn tokenize(text: &str) -> Result<Vec<Token>, MustacheError> {
    let mut tokens = Vec::new();
    let mut open = String::from("{{");
    let mut close = String::from("}}");
    let mut pos = 0;
    while pos < text.len() {
        let Some(found) = text[pos..].find(open.as_str()) else {
            push_text(&text[pos..], &mut tokens);
            break;
        };
        let tag_start = pos + found;
        push_text(&text[pos..tag_start], &mut tokens);
        let inner_start = tag_start + open.len();
        let rest = &text[inner_start..];
        let unclosed = MustacheError::UnclosedTag {
            position: tag_start,
        };
        let (kind, content, tag_end) = match rest.chars().next() {
            Some('{') => {
                let end_marker = format!("}}{close}");
                let end = rest.find(end_marker.as_str()).ok_or(unclosed)?;
                (
                    TagKind::Raw,
                    &rest[1..end],
                    inner_start + end + end_marker.len(),
                )
            }
            Some('=') => {
                let end_marker = format!("={close}");
                let end = rest[1..].find(end_marker.as_str()).ok_or(unclosed)? + 1;
                (
                    TagKind::Delimiters,
                    &rest[1..end],
                    inner_start + end + end_marker.len(),
                )
            }
            first => {
                let end = rest.find(close.as_str()).ok_or(unclosed)?;
                let (kind, skip) = match first {
                    Some('&') => (TagKind::Raw, 1),
                    Some('#') => (TagKind::Section, 1),
                    Some('^') => (TagKind::Inverted, 1),
                    Some('/') => (TagKind::Close, 1),
                    Some('!') => (TagKind::Comment, 1),
                    Some('>') => (TagKind::Partial, 1),
                    _ => (TagKind::Escaped, 0),
                };
                (kind, &rest[skip..end], inner_start + end + close.len())
            }
        };
        match kind {
            TagKind::Comment => {}
            TagKind::Delimiters => {
                let invalid = MustacheError::InvalidDelimiters {
                    position: tag_start,
                };
                let mut parts = content.split_whitespace();
                let (Some(new_open), Some(new_close), None) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(invalid);
                };
                if new_open.contains('=') || new_close.contains('=') {
                    return Err(invalid);
                }
                open = new_open.to_owned();
                close = new_close.to_owned();
            }
            _ => {
                if content.trim().is_empty() {
                    return Err(MustacheError::EmptyTag {
                        position: tag_start,
                    });
                }
            }
        }
        tokens.push(Token::Tag {
            kind,
            name: content.trim().to_owned(),
            position: tag_start,
        });
        pos = tag_end;
    }
    Ok(tokens)
}

/// Splits text after each `\n`, so every newline ends a token and lines can be found.
fn push_text(text: &str, tokens: &mut Vec<Token>) {
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.find('\n').map_or(rest.len(), |index| index + 1);
        tokens.push(Token::Text(rest[..cut].to_owned()));
        rest = &rest[cut..];
    }
}

/// Removes the line around a tag that stands alone on it (only spaces and tabs besides it):
/// its indentation and its line ending go, per the spec's "standalone" rule.
fn strip_standalone_lines(tokens: Vec<Token>) -> Vec<Token> {
    let mut kept = Vec::with_capacity(tokens.len());
    let mut line: Vec<Token> = Vec::new();
    for token in tokens {
        let ends_line = matches!(&token, Token::Text(text) if text.ends_with('\n'));
        line.push(token);
        if ends_line {
            flush_line(&mut line, &mut kept);
        }
    }
    flush_line(&mut line, &mut kept);
    kept
}

fn flush_line(line: &mut Vec<Token>, kept: &mut Vec<Token>) {
    let mut n_tags = 0;
    let mut standalone = true;
    for token in line.iter() {
        match token {
            Token::Tag { kind, .. } => {
                n_tags += 1;
                standalone &= kind.may_stand_alone();
            }
            Token::Text(text) => {
                let body = text.strip_suffix('\n').map_or(text.as_str(), |body| {
                    body.strip_suffix('\r').unwrap_or(body)
                });
                standalone &= body.chars().all(|c| c == ' ' || c == '\t');
                // A lone `\r` before a newline is only a line ending when it is the last byte.
                standalone &= !body.contains('\r');
            }
        }
    }
    if n_tags == 1 && standalone {
        kept.extend(
            line.drain(..)
                .filter(|token| matches!(token, Token::Tag { .. })),
        );
    } else {
        kept.append(line);
    }
}

// ---------------------------------------------------------------------------------------------
// Tree

fn build_tree(tokens: Vec<Token>) -> Result<Vec<Node>, MustacheError> {
    // Each open section: its name, whether inverted, and the nodes before it at the outer level.
    let mut open: Vec<(String, bool, Vec<Node>)> = Vec::new();
    let mut current: Vec<Node> = Vec::new();
    for token in tokens {
        match token {
            Token::Text(text) => match current.last_mut() {
                Some(Node::Text(previous)) => previous.push_str(&text),
                _ => current.push(Node::Text(text)),
            },
            Token::Tag {
                kind,
                name,
                position,
            } => match kind {
                TagKind::Escaped | TagKind::Raw => {
                    current.push(Node::Variable {
                        name,
                        escaped: kind == TagKind::Escaped,
                    });
                }
                TagKind::Partial => current.push(Node::Partial { name }),
                TagKind::Section | TagKind::Inverted => {
                    let outer = std::mem::take(&mut current);
                    open.push((name, kind == TagKind::Inverted, outer));
                }
                TagKind::Close => match open.pop() {
                    Some((open_name, inverted, outer)) if open_name == name => {
                        let children = std::mem::replace(&mut current, outer);
                        current.push(Node::Section {
                            name,
                            inverted,
                            children,
                        });
                    }
                    other => {
                        return Err(MustacheError::MismatchedClose {
                            expected: other.map(|(open_name, _, _)| open_name),
                            found: name,
                            position,
                        });
                    }
                },
                TagKind::Comment | TagKind::Delimiters => {}
            },
        }
    }
    if let Some((name, _, _)) = open.pop() {
        return Err(MustacheError::UnclosedSection { name });
    }
    Ok(current)
}

// ---------------------------------------------------------------------------------------------
// Rendering

struct Renderer<'ctx, 'f> {
    escape: Escape,
    interpolate: &'f mut dyn FnMut(&str, Option<&Value>) -> Option<String>,
    stack: Vec<&'ctx Value>,
}

impl<'ctx> Renderer<'ctx, '_> {
    fn render_nodes(&mut self, nodes: &'ctx [Node], output: &mut String) {
        for node in nodes {
            match node {
                Node::Text(text) => output.push_str(text),
                Node::Variable { name, escaped } => {
                    let value = self.lookup(name);
                    if let Some(text) = (self.interpolate)(name, value) {
                        output.push_str(&text);
                    } else if let Some(value) = value {
                        let text = display(value);
                        if *escaped && self.escape == Escape::Html {
                            escape_html(&text, output);
                        } else {
                            output.push_str(&text);
                        }
                    }
                }
                Node::Section {
                    name,
                    inverted,
                    children,
                } => {
                    let value = self.lookup(name).filter(|value| is_truthy(value));
                    match (value, inverted) {
                        (None, true) => self.render_nodes(children, output),
                        (Some(Value::Array(items)), false) => {
                            for item in items {
                                self.stack.push(item);
                                self.render_nodes(children, output);
                                self.stack.pop();
                            }
                        }
                        (Some(value), false) => {
                            self.stack.push(value);
                            self.render_nodes(children, output);
                            self.stack.pop();
                        }
                        _ => {}
                    }
                }
                Node::Partial { .. } => {}
            }
        }
    }

    /// Resolves a name: `.` is the top of the stack; otherwise the first part is looked up from
    /// the innermost context outwards and the rest only inside what it found (spec: dotted names
    /// never fall back to outer contexts part-way).
    fn lookup(&self, name: &str) -> Option<&'ctx Value> {
        if name == "." {
            return self.stack.last().copied();
        }
        let mut parts = name.split('.');
        let first = parts.next()?;
        let mut value = self
            .stack
            .iter()
            .rev()
            .find_map(|context| context.as_object()?.get(first))?;
        for part in parts {
            value = value.as_object()?.get(part)?;
        }
        Some(value)
    }
}

/// Python's truthiness, as Redash's renderer uses it.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|number| number != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// How a value prints when interpolated. Numbers print as JSON writes them; lists and objects
/// print as their JSON text.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        // Redash compat: Python prints booleans capitalised.
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

fn escape_html(text: &str, output: &mut String) {
    for c in text.chars() {
        match c {
            '&' => output.push_str("&amp;"),
            '<' => output.push_str("&lt;"),
            '>' => output.push_str("&gt;"),
            '"' => output.push_str("&quot;"),
            '\'' => output.push_str("&#x27;"),
            _ => output.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Escape, MustacheError, Node, Template};
    use serde_json::json;

    fn check(template: &str, context: serde_json::Value, escape: Escape, expected: &str) {
        let parsed = Template::parse(template).expect("template parses");
        assert_eq!(
            parsed.render(&context, escape),
            expected,
            "template {template:?}"
        );
    }

    #[test]
    fn query_text_is_rendered_without_escaping() {
        let context = json!({"name": "O'Brien & <co>", "n": 5});
        check(
            "select {{ name }}, {{n}}",
            context.clone(),
            Escape::None,
            "select O'Brien & <co>, 5",
        );
        check(
            "{{name}}|{{{name}}}|{{& name}}",
            context,
            Escape::Html,
            "O&#x27;Brien &amp; &lt;co&gt;|O'Brien & <co>|O'Brien & <co>",
        );
    }

    #[test]
    fn values_print_as_redash_prints_them() {
        let context =
            json!({"t": true, "f": false, "x": 1.5, "big": 12345678901234_i64, "l": [1, "a"]});
        check(
            "{{t}} {{f}} {{x}} {{big}} {{l}}",
            context,
            Escape::None,
            "True False 1.5 12345678901234 [1,\"a\"]",
        );
    }

    #[test]
    fn python_falsey_values_skip_sections() {
        for falsey in [
            json!(0),
            json!(""),
            json!([]),
            json!({}),
            json!(null),
            json!(false),
        ] {
            check(
                "[{{#v}}x{{/v}}|{{^v}}y{{/v}}]",
                json!({"v": falsey}),
                Escape::None,
                "[|y]",
            );
        }
        check("[{{#v}}x{{/v}}]", json!({"v": 0.5}), Escape::None, "[x]");
    }

    #[test]
    fn alert_rows_iterate_with_the_implicit_iterator() {
        let context = json!({"QUERY_RESULT_TABLE": [[1, "a<b"], [2, "c"]]});
        check(
            "{{#QUERY_RESULT_TABLE}}<tr>{{#.}}<td>{{.}}</td>{{/.}}</tr>{{/QUERY_RESULT_TABLE}}",
            context,
            Escape::Html,
            "<tr><td>1</td><td>a&lt;b</td></tr><tr><td>2</td><td>c</td></tr>",
        );
    }

    #[test]
    fn variable_names_are_top_level_in_order_without_duplicates() {
        let template = Template::parse(
            "select * from t where d between '{{ range.start }}' and '{{range.end}}' \
             and x = {{{raw}}} {{#flag}} and y = {{ inner }} {{/flag}} {{^off}}{{hidden}}{{/off}} \
             {{! note }} {{#list}}{{.}}{{/list}} {{range.start}}",
        )
        .expect("parses");
        assert_eq!(
            template.variable_names(),
            ["range", "raw", "flag", "inner", "list"]
        );
    }

    #[test]
    fn parse_tree_is_exposed_without_comments() {
        let template = Template::parse("a{{! c }}{{#s}}{{x}}{{/s}}{{> p}}").expect("parses");
        assert_eq!(
            template.nodes(),
            [
                Node::Text("a".into()),
                Node::Section {
                    name: "s".into(),
                    inverted: false,
                    children: vec![Node::Variable {
                        name: "x".into(),
                        escaped: true
                    }],
                },
                Node::Partial { name: "p".into() },
            ]
        );
    }

    #[test]
    fn malformed_templates_are_errors() {
        assert_eq!(
            Template::parse("a {{b"),
            Err(MustacheError::UnclosedTag { position: 2 })
        );
        assert_eq!(
            Template::parse("{{ }}"),
            Err(MustacheError::EmptyTag { position: 0 })
        );
        assert_eq!(
            Template::parse("{{#a}}"),
            Err(MustacheError::UnclosedSection { name: "a".into() })
        );
        assert!(matches!(
            Template::parse("{{#a}}{{/b}}"),
            Err(MustacheError::MismatchedClose { .. })
        ));
        assert!(matches!(
            Template::parse("{{/b}}"),
            Err(MustacheError::MismatchedClose { expected: None, .. })
        ));
        assert!(matches!(
            Template::parse("{{=<%>=}}"),
            Err(MustacheError::InvalidDelimiters { .. })
        ));
    }

    #[test]
    fn render_with_replaces_chosen_variables() {
        let template =
            Template::parse("a = {{a}} and b = '{{b}}' {{#a}}{{a}}{{/a}}").expect("parses");
        let mut n_placeholders = 0;
        let text = template.render_with(
            &json!({"a": 1, "b": "x"}),
            Escape::None,
            &mut |name, value| {
                assert!(value.is_some());
                (name == "a").then(|| {
                    n_placeholders += 1;
                    format!("${n_placeholders}")
                })
            },
        );
        assert_eq!(text, "a = $1 and b = 'x' $2");
    }
}
