//! Schema descriptions as `///` doc comments.
//!
//! The descriptions are Markdown-ish text written for the AWS docs site:
//! indented continuation lines (which rustdoc would compile as doctests),
//! `<placeholders>` (rustdoc's `invalid_html_tags`), `[brackets]` that are not
//! links (`broken_intra_doc_links`), bare URLs (`rustdoc::bare_urls`) and the
//! odd triple backtick. Everything is escaped outside code spans so the
//! generated crate documents cleanly with `cargo doc` and `cargo test --doc`.

/// Doc comment lines (each starting with `///`) for `text`, or nothing for an
/// empty description.
pub fn doc_lines(text: &str, indent: &str) -> String {
    let text = sanitize(text);
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push_str(&format!("{indent}///\n"));
        } else {
            out.push_str(&format!("{indent}/// {line}\n"));
        }
    }
    out
}

/// Sanitized Markdown for one description (also used by unit tests).
pub fn sanitize(text: &str) -> String {
    let text = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace("```", "'''");
    // Leading whitespace would turn a line into an indented code block, which
    // rustdoc runs as a doctest.
    let lines: Vec<String> = text.lines().map(|line| escape_line(line.trim())).collect();
    // The descriptions separate paragraphs with a single newline (the AWS
    // docs render each line as its own paragraph); Markdown would join them,
    // so every line becomes a paragraph. Runs of blank lines collapse.
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push(line);
    }
    while out.last().is_some_and(|last| last.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Escapes one line outside its code spans. A backtick run opens a code span
/// only if a run of the same length closes it on the same line (Markdown's
/// rule, restricted to a line because the schemas never wrap code spans).
fn escape_line(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut plain = String::new();
    let mut index = 0;
    while index < chars.len() {
        if chars[index] == '`' {
            let run = chars[index..].iter().take_while(|c| **c == '`').count();
            let close = find_run(&chars, index + run, run);
            if let Some(close) = close {
                out.push_str(&escape_plain(&plain));
                plain.clear();
                out.extend(&chars[index..close + run]);
                index = close + run;
                continue;
            }
            // An unmatched backtick is literal text; escape it so it does not
            // pair with a later one.
            out.push_str(&escape_plain(&plain));
            plain.clear();
            for _ in 0..run {
                out.push_str("\\`");
            }
            index += run;
            continue;
        }
        plain.push(chars[index]);
        index += 1;
    }
    out.push_str(&escape_plain(&plain));
    out
}

fn find_run(chars: &[char], from: usize, len: usize) -> Option<usize> {
    let mut index = from;
    while index < chars.len() {
        if chars[index] == '`' {
            let run = chars[index..].iter().take_while(|c| **c == '`').count();
            if run == len {
                return Some(index);
            }
            index += run;
        } else {
            index += 1;
        }
    }
    None
}

/// Escapes Markdown/HTML outside code spans, keeping `[text](url)` links and
/// turning bare URLs into `<autolinks>`.
fn escape_plain(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((link_len, link)) = markdown_link(rest) {
            out.push_str(&link);
            rest = &rest[link_len..];
            continue;
        }
        if rest.starts_with("https://") || rest.starts_with("http://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '`' | ')' | ']'))
                .unwrap_or(rest.len());
            // A sentence-ending period or comma is not part of the URL.
            let url = rest[..end].trim_end_matches(['.', ',', ';', ':']);
            out.push('<');
            out.push_str(url);
            out.push('>');
            rest = &rest[url.len()..];
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // `*` and `_` stay: the descriptions use them for emphasis.
            '[' | ']' | '\\' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
        rest = chars.as_str();
    }
    out
}

/// `[text](https://...)` at the start of `text`: its length and its
/// re-emitted form (link text escaped, URL kept).
fn markdown_link(text: &str) -> Option<(usize, String)> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find("](")?;
    let label = &inner[..close];
    if label.contains('[') || label.contains(']') {
        return None;
    }
    let after = &inner[close + 2..];
    let url_end = after.find(')')?;
    let url = &after[..url_end];
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.contains(char::is_whitespace)
    {
        return None;
    }
    let label = escape_line(label);
    let consumed = 1 + close + 2 + url_end + 1;
    Some((consumed, format!("[{label}]({url})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indented_lines_do_not_become_code_blocks() {
        assert_eq!(
            sanitize("A list:\n    +  ``x``: one"),
            "A list:\n\n+  ``x``: one"
        );
    }

    #[test]
    fn html_like_text_brackets_and_urls_are_escaped_outside_code() {
        assert_eq!(
            sanitize(
                "arn:<partition>:iam::<account-id>:root, see [docs](https://a.b/c) or https://x.y/z."
            ),
            "arn:&lt;partition&gt;:iam::&lt;account-id&gt;:root, see [docs](https://a.b/c) or <https://x.y/z>."
        );
        assert_eq!(sanitize("``a<b>[c]`` [d]"), "``a<b>[c]`` \\[d\\]");
        assert_eq!(sanitize("one ` tick"), "one \\` tick");
        assert_eq!(sanitize("```json\n{}\n```"), "'''json\n\n{}\n\n'''");
    }

    #[test]
    fn blank_lines_collapse() {
        assert_eq!(sanitize("\n\na\n\n\n\nb\n\n"), "a\n\nb");
        assert_eq!(sanitize("a\nb"), "a\n\nb", "each line is its own paragraph");
        assert_eq!(
            sanitize("*User Guide* and snake_case"),
            "*User Guide* and snake_case"
        );
        assert_eq!(
            doc_lines("a\n\nb", "    "),
            "    /// a\n    ///\n    /// b\n"
        );
    }
}
