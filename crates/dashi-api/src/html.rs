//! The tiny HTML frame of the server-rendered pages (auth forms, the no-UI notice).

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A complete page around `body` (already HTML). Follows the system's light or dark theme.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · Dashi</title><style>
:root{{color-scheme:light dark;font-family:system-ui,sans-serif}}body{{max-width:28rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0}}input:not([type=checkbox]){{display:block;width:100%;padding:.5rem;margin-top:.25rem;box-sizing:border-box}}
label.inline{{display:flex;gap:.5rem;align-items:center}}button{{padding:.5rem 1.2rem;margin-top:.5rem}}.error{{color:#c62828}}code{{word-break:break-all}}
</style></head><body>{body}</body></html>"#,
        title = escape(title),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
